/*
 * Internal to the emitter (libstream/client/emitter.c, emitter_wire.c,
 * emitter_http.c, spool.c).
 */
#ifndef STREAM_CLIENT_EMITTER_INTERNAL_H
#define STREAM_CLIENT_EMITTER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "stream/event.h"

/* gzip `len` bytes of `in` into *out (malloc'd, *out_len bytes). STREAM_ENOMEM (only for a lack
 * of memory) or STREAM_EINTERNAL. */
int emitter__gzip(uint8_t **out, size_t *out_len, const uint8_t *in, size_t len);

/* `n` events as a protobuf Batch in *out (malloc'd, *out_len bytes). */
int emitter__pack(uint8_t **out, size_t *out_len, const stream_event *ev, size_t n);

/* The bytes one event adds to a protobuf Batch. */
size_t emitter__packed_size(const stream_event *e);

/* The verdict on one POST of a batch (emitter_http.c). */
enum { EMITTER__ACKED = 1, EMITTER__REFUSED = 2, EMITTER__RETRY = 3 };

typedef struct emitter__post {
  /* in */
  const char *url;
  const char *auth; /* "Authorization: Bearer ..." or NULL */
  bool gzip;
  long timeout_ms;
  const uint8_t *body;
  size_t body_len;
  bool (*should_abort)(void *userdata); /* polled during the transfer */
  void *userdata;
  /* out */
  long status;            /* 0 = no answer */
  uint64_t duplicates;    /* from the ingest's answer */
  int64_t retry_after_ms; /* the answer's Retry-After (emitter__retry_after_ms), -1 = none */
  char why[160];          /* for RETRY (and some REFUSED): what went wrong, for the log */
} emitter__post;

/* POST p->body with the easy handle `curl`. EMITTER__ACKED only for a 2xx whose body is the
 * ingest's JSON answer (an object with a numeric "accepted"); EMITTER__REFUSED for a
 * problem+json 4xx other than 401, 403, 408 and 429, and for a 403 of problem type
 * event-profile-forbidden (the batch, not the token, is refused); EMITTER__RETRY for anything
 * else (no answer, 3xx, which is not followed, 5xx, 401/403 about the token, or a 2xx with
 * another body: a captive portal). */
int emitter__post_batch(CURL *curl, emitter__post *p);

/* The longest wait a Retry-After imposes: a larger value, or a date further ahead, waits this. */
#define EMITTER__RETRY_AFTER_MAX_MS INT64_C(3600000)

/* The value of a Retry-After header (`len` bytes after the colon, spaces and CRLF included) in
 * ms from `now_wall_ms` (ms since the epoch): delay-seconds of any length (leading zeros too), or
 * an HTTP-date in any of RFC 9110's three forms (0 for one in the past); capped at
 * EMITTER__RETRY_AFTER_MAX_MS. -1 when the whole value is neither ("0.5", "-3", "", a date with
 * anything after it): such a header counts as absent, never as 0. */
int64_t emitter__retry_after_ms(const char *v, size_t len, int64_t now_wall_ms);

#endif
