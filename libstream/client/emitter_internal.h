/*
 * Internal to the emitter (libstream/client/emitter.c, emitter_wire.c, spool.c).
 */
#ifndef STREAM_CLIENT_EMITTER_INTERNAL_H
#define STREAM_CLIENT_EMITTER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "stream/event.h"

/* gzip `len` bytes of `in` into *out (malloc'd, *out_len bytes). */
int emitter__gzip(uint8_t **out, size_t *out_len, const uint8_t *in, size_t len);

/* `n` events as a protobuf Batch in *out (malloc'd, *out_len bytes). */
int emitter__pack(uint8_t **out, size_t *out_len, const stream_event *ev, size_t n);

/* The bytes one event adds to a protobuf Batch. */
size_t emitter__packed_size(const stream_event *e);

#endif
