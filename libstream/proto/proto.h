/*
 * proto: helpers shared by the two sides of the player-event pipeline, the
 * events module (server ingest) and the client's emitter. Internal.
 */
#ifndef STREAM_PROTO_H
#define STREAM_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/events.pb-c.h"
#include "stream/event.h"

/* The allocator to unpack with (`&a.pc` to a generated *__unpack() and its *__free_unpacked()).
 * protobuf-c's unpack answers NULL both for bytes that are no message and when an allocation
 * failed: `failed` tells them apart (true: out of memory, STREAM_ENOMEM; the bytes may be good).
 * pc points back at the struct: initialise it where it stays for the unpack and the free. */
typedef struct proto__alloc {
  ProtobufCAllocator pc;
  bool failed; /* an allocation failed (it stays set) */
} proto__alloc;

/* Ready `a` for an unpack (malloc and free; `failed` false). */
void proto__alloc_init(proto__alloc *a);

/* Kinds of string field: an id is [A-Za-z0-9._:-]*, text is UTF-8 without controls. */
enum { PROTO_F_ID, PROTO_F_TEXT };

/* 1 when `s` is a UUID in text form (either case). */
bool proto__is_uuid(const char *s);

/* Check `n` bytes of `s` as a field of `kind`; STREAM_EPROTO naming event `idx` and `field`. */
int proto__check_str(const char *s, size_t n, int kind, size_t idx, const char *field);

/* Validate a whole event (every field; `has_error`: the error part was sent) and lowercase its
 * id. STREAM_EPROTO with a message naming event `idx` and the field. */
int proto__event_validate(stream_event *e, size_t idx, bool has_error);

/* Fill `m` (and `err`) to point into `e`: the pb message lives as long as `e`. */
void proto__event_to_pb(Libstream__Events__V1__Event *m, Libstream__Events__V1__PlaybackError *err,
                        const stream_event *e);

/* Copy a decoded message's player fields into `e` (account_id and server_ts are left empty;
 * strings truncated to the field sizes; not validated: proto__event_pb_check() first). */
void proto__event_from_pb(stream_event *e, const Libstream__Events__V1__Event *m);

/* Where a message checked by proto__event_pb_check() comes from, which decides the rules of its
 * ids. PROTO_FROM_PLAYER: a player's event (the ingest); its profile_id is an event field (an id,
 * [A-Za-z0-9._:-]*) and its account_id is not read (the ingest takes it from the credential).
 * PROTO_FROM_LOG: an event of a log, relayed; its account_id and profile_id are a credential's,
 * whose rules are wider than an event field's and are stream_events_validate()'s, so only their
 * sizes are checked here. */
enum { PROTO_FROM_PLAYER, PROTO_FROM_LOG };

/* Check every string of `m` that a stream_event keeps: it fits its field (so
 * proto__event_from_pb() truncates nothing) and holds what its kind allows (proto__check_str;
 * the ids `from` says, by size only). Fields in the order of the event, the first bad one gives
 * STREAM_EPROTO naming event `idx` and the field ("event 0: field 'titleId' is longer than 64
 * bytes"). Not the checks of the whole event: proto__event_validate(). */
int proto__event_pb_check(const Libstream__Events__V1__Event *m, size_t idx, int from);

#endif
