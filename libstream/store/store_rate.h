/*
 * store: rate-limit buckets (stream_store_rate_take / _reset, the auth
 * service's sign-in and password-reset limits when they are shared by every
 * process on the store). The public entry points and the bucket arithmetic
 * both backends share are in rate_buckets.c; the rows in
 * sqlite/rate_buckets.c and postgres/rate_buckets.c (migration 15).
 *
 * A row is (scope, key) -> tokens, updated, burst, interval, full_at, where
 * full_at is the first whole second at which the bucket has refilled to
 * `burst` (what the purge looks at, through an index). A bucket without a row
 * is full.
 */
#ifndef STREAM_STORE_RATE_H
#define STREAM_STORE_RATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_internal.h"

struct stream_store_rate_ops {
  /* In ONE write transaction: read the buckets of keys[0..n) (validated: 1..4
   * distinct keys, fields in range), refill each with store__rate_refill and,
   * when store__rate_wait gives 0 for every one, take a token from each and
   * write them back (tokens, updated, burst, interval, full_at from
   * store__rate_full_at); else write nothing. *out_wait: the largest wait. */
  int (*take)(void *impl, int64_t *out_wait, const stream_store_rate_key *keys, size_t n,
              int64_t now);
  /* Delete the row of (scope, key), if any. */
  int (*reset)(void *impl, const char *scope, const char *key);
};

/* A bucket read from its row (`found`) or absent (full), refilled to `now`:
 * *tokens and *updated are the row's values on entry, the refilled ones on
 * return. A `now` before `updated` refills nothing and keeps `updated`. */
void store__rate_refill(double *tokens, int64_t *updated, bool found,
                        const stream_store_rate_key *k, int64_t now);
/* 0 when `tokens` >= 1, else the whole seconds (rounded up, >= 1) until it is. */
int64_t store__rate_wait(double tokens, const stream_store_rate_key *k);
/* The first second at which a bucket of `tokens` at `updated` is full again. */
int64_t store__rate_full_at(double tokens, int64_t updated, const stream_store_rate_key *k);

#endif
