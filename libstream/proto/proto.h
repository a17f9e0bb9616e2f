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

/* Copy a decoded message into `e` (strings truncated to the field sizes; not validated). */
void proto__event_from_pb(stream_event *e, const Libstream__Events__V1__Event *m);

/* Check that every string of `m` (account_id included) fits its stream_event field, so
 * proto__event_from_pb() truncates nothing: STREAM_EPROTO naming event `idx` and the field. */
int proto__event_pb_check_sizes(const Libstream__Events__V1__Event *m, size_t idx);

#endif
