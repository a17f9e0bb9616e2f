/*
 * Internal helpers of libstream's core (floor 0). Not installed; every module
 * may include it. Nothing here is exported from the shared library.
 */
#ifndef STREAM_CORE_INTERNAL_H
#define STREAM_CORE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream/common.h"

#if defined(__GNUC__)
#define STREAM__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define STREAM__PRINTF(a, b)
#endif

/* Record `code` and a printf-style message as the calling thread's last error;
 * returns `code` so that callers can write `return stream__err(...)`. */
int stream__err(int code, const char *fmt, ...) STREAM__PRINTF(2, 3);

/* Log through the installed sink, if any and if `level` passes its filter. */
void stream__log(int level, const char *module, const char *fmt, ...) STREAM__PRINTF(3, 4);
bool stream__log_enabled(int level);

/* Allocation that sets STREAM_ENOMEM on failure. */
void *stream__calloc(size_t n, size_t size);
char *stream__strdup(const char *s);
char *stream__strndup(const char *s, size_t n);
/* Wipe memory in a way the compiler cannot drop. */
void stream__wipe(void *p, size_t n);

/* base64 into a caller buffer. stream__b64_len gives the exact encoded length
 * (without NUL). Encode writes that many bytes plus a NUL; `dst` must hold
 * stream__b64_len()+1 bytes. */
size_t stream__b64_len(size_t n, unsigned int flags);
size_t stream__b64_encode_into(char *dst, const void *src, size_t n, unsigned int flags);
/* Decode into `dst` (capacity `cap`); returns STREAM_OK and sets *written, or
 * STREAM_EINVAL / STREAM_ERANGE without touching the error state when `quiet`. */
int stream__b64_decode_into(unsigned char *dst, size_t cap, size_t *written, const char *src,
                            size_t n, unsigned int flags, bool quiet);
/* Upper bound on the decoded size of n base64 characters. */
size_t stream__b64_decoded_max(size_t n);

/* Strict UTF-8 (RFC 3629; utf8.c): no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing past U+10FFFF, no sequence cut by the end.
 * stream__utf8_seq: length (1..4) of the well-formed sequence at s, n bytes
 * left; 0 when the bytes there are none (or n is 0).
 * stream__utf8_check: offset of the first byte of the n at s that starts no
 * well-formed sequence; n when all are valid UTF-8.
 * stream__utf8_valid: stream__utf8_check(s, n) == n.
 * stream__utf8_scrub: make the NUL-terminated s valid UTF-8 in place, each
 * byte that starts no well-formed sequence becoming '?' (same length); returns
 * how many were replaced. For diagnostics (error text), never for data. */
size_t stream__utf8_seq(const void *s, size_t n);
size_t stream__utf8_check(const void *s, size_t n);
bool stream__utf8_valid(const void *s, size_t n);
size_t stream__utf8_scrub(char *s);

/* Token buckets (bucket.c), shared by auth's in-memory limiter and the store's
 * buckets. stream__bucket_refill adds (now - *updated) / interval tokens when
 * now is past *updated and moves *updated to now (a clock behind it refills
 * nothing and never moves it back), then clamps *tokens to 0..burst (also a
 * burst lowered since). stream__bucket_wait: whole seconds, rounded up and at
 * least 1, until the bucket holds one token again; 0 when it holds one now.
 * stream__ceil_seconds: need (>= 0) seconds rounded up to whole seconds. */
void stream__bucket_refill(double *tokens, int64_t *updated, unsigned int burst,
                           unsigned int interval, int64_t now);
int64_t stream__bucket_wait(double tokens, unsigned int interval);
int64_t stream__ceil_seconds(double need);

/* Lowercase hex into dst (2n+1 bytes, NUL-terminated). */
void stream__hex_into(char *dst, const void *src, size_t n);
/* The value of one hex digit (either case), or -1. */
int stream__hex_val(int c);

/* Bounded string builder used when assembling URLs and tokens. */
typedef struct stream__buf {
  char *data;
  size_t len;
  size_t cap;
  bool failed; /* an allocation failed; data is unusable */
} stream__buf;
void stream__buf_init(stream__buf *b);
void stream__buf_free(stream__buf *b);
void stream__buf_append(stream__buf *b, const char *s, size_t n);
void stream__buf_puts(stream__buf *b, const char *s);
void stream__buf_printf(stream__buf *b, const char *fmt, ...) STREAM__PRINTF(2, 3);
/* Hand the NUL-terminated contents to the caller (frees with stream_free) or
 * fail with STREAM_ENOMEM. */
int stream__buf_detach(stream__buf *b, char **out);

/* Seconds since the Unix epoch. */
int64_t stream__now(void);
/* Milliseconds since the Unix epoch (CLOCK_REALTIME). */
int64_t stream__wall_ms(void);
/* Milliseconds of CLOCK_MONOTONIC: for durations and deadlines. */
int64_t stream__mono_ms(void);

#endif
