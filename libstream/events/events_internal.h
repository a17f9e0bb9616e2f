/*
 * Internal state of the events module. Not installed.
 *   events.c    handle, ingest (all-or-nothing), log reads, consumer checkpoints
 *   decode.c    gzip under a cap, protobuf and JSON batches into stream_event rows,
 *               validation of every field
 * Storage goes through libstream/store/store_events.h, never SQL here.
 */
#ifndef STREAM_EVENTS_INTERNAL_H
#define STREAM_EVENTS_INTERNAL_H

#include <stdbool.h>

#include "stream/events.h"

struct stream_events {
  stream_store *store;
  size_t max_body;
  size_t max_events;
  stream_events_clock_fn now_ms;
  void *now_userdata;
};

/* Inflate a gzip member of `len` bytes into *out (malloc'd, *out_len bytes).
 * STREAM_ERANGE when the output would exceed `cap`; STREAM_EPROTO for a
 * truncated or corrupt stream, or bytes after the member. */
int events__gunzip(unsigned char **out, size_t *out_len, const void *in, size_t len, size_t cap);

/* Decode a batch into *out (malloc'd array of *out_n rows; free()), every
 * row validated and normalised (lowercase id). At most `max_events` rows
 * (STREAM_ERANGE beyond). STREAM_EPROTO names the failing event and field. */
int events__decode_protobuf(stream_event **out, size_t *out_n, const void *body, size_t len,
                            size_t max_events);
int events__decode_json(stream_event **out, size_t *out_n, const void *body, size_t len,
                        size_t max_events);

#endif
