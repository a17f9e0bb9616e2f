/*
 * PostgreSQL backend: rate-limit buckets (sqlite/rate_buckets.c in the
 * PostgreSQL dialect; the model is in store_rate.h). A take needs no
 * cross-row invariant, only its own buckets' rows, so it runs without the
 * writers' lock (pg_internal.h, store__pg_wbegin_unlocked) and locks those
 * rows instead: each bucket's row is made to exist (a new one full, as an
 * absent bucket is: ON CONFLICT DO NOTHING) and read FOR UPDATE, in (scope,
 * key) order so that two takes never wait on each other in a cycle. Takes of
 * one bucket from every daemon therefore run one at a time and each sees the
 * tokens the previous one left (N daemons share one burst), while sign-in
 * attempts, refused ones included, never queue behind or hold up the locked
 * writes. A refused take rolls back: nothing is written, not even the rows
 * it made.
 */
#include <string.h>

#include "../store_rate.h"
#include "pg_internal.h"

/* The row of `k`, made to exist (full, as an absent bucket) and locked until the commit. */
static int bucket_lock(pg_conn *db, double *tokens, int64_t *updated,
                       const stream_store_rate_key *k, int64_t now, const char *what)
{
  PG_TRY(store__pg_exec(db, what, NULL,
                        "INSERT INTO rate_buckets (scope, key, tokens, updated, burst, interval_s, "
                        "full_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope, key) DO NOTHING",
                        "ttdIIII", k->scope, k->key, (double)k->burst, now, (int64_t)k->burst,
                        (int64_t)k->interval, now));
  pg_stmt *st;
  PG_TRY(store__pg_prepare(
      db, &st, what,
      "SELECT tokens, updated FROM rate_buckets WHERE scope = ? AND key = ? FOR UPDATE", "tt",
      k->scope, k->key));
  int r = store__pg_step(db, st, what);
  if (r == 1) {
    *tokens = store__pg_col_double(st, 0);
    *updated = store__pg_col_i64(st, 1);
  }
  store__pg_release(db, st);
  if (r < 0)
    return r;
  if (r == 0) /* deleted between the two statements (a purge): fail closed, retryable */
    return stream__err(STREAM_EBUSY, "%s: the bucket changed under the take; retry", what);
  return STREAM_OK;
}

/* Bucket order: scope, then key (byte order, as C strcmp). */
static int before(const stream_store_rate_key *a, const stream_store_rate_key *b)
{
  int c = strcmp(a->scope, b->scope);
  return c ? c < 0 : strcmp(a->key, b->key) < 0;
}

static int rate_take(void *impl, int64_t *out_wait, const stream_store_rate_key *keys, size_t n,
                     int64_t now)
{
  const char *what = "take rate-limit tokens";
  double tokens[STREAM_STORE_RATE_KEYS_MAX];
  int64_t updated[STREAM_STORE_RATE_KEYS_MAX];
  size_t order[STREAM_STORE_RATE_KEYS_MAX];
  for (size_t i = 0; i < n; i++) { /* insertion sort of at most 4 */
    size_t j = i;
    for (; j > 0 && before(&keys[i], &keys[order[j - 1]]); j--)
      order[j] = order[j - 1];
    order[j] = i;
  }
  pg_conn *db;
  PG_TRY(store__pg_wbegin_unlocked(impl, &db));
  int rc = STREAM_OK;
  int64_t wait = 0;
  for (size_t o = 0; rc == STREAM_OK && o < n; o++) {
    size_t i = order[o];
    tokens[i] = 0;
    updated[i] = 0;
    rc = bucket_lock(db, &tokens[i], &updated[i], &keys[i], now, what);
    if (rc != STREAM_OK)
      break;
    store__rate_refill(&tokens[i], &updated[i], true, &keys[i], now);
    int64_t w = store__rate_wait(tokens[i], &keys[i]);
    if (w > wait)
      wait = w;
  }
  if (rc == STREAM_OK && wait > 0) {
    /* All or none: refused, so nothing is written (the rows made above go too). */
    store__pg_wend(impl, db, STREAM_ECANCELED);
    *out_wait = wait;
    return STREAM_OK;
  }
  for (size_t i = 0; rc == STREAM_OK && i < n; i++) {
    double left = tokens[i] - 1.0;
    rc = store__pg_exec(db, what, NULL,
                        "UPDATE rate_buckets SET tokens = ?, updated = ?, burst = ?, "
                        "interval_s = ?, full_at = ? WHERE scope = ? AND key = ?",
                        "dIIIItt", left, updated[i], (int64_t)keys[i].burst,
                        (int64_t)keys[i].interval, store__rate_full_at(left, updated[i], &keys[i]),
                        keys[i].scope, keys[i].key);
  }
  rc = store__pg_wend(impl, db, rc);
  if (rc == STREAM_OK)
    *out_wait = wait;
  return rc;
}

static int rate_reset(void *impl, const char *scope, const char *key)
{
  const char *what = "reset rate-limit bucket";
  pg_conn *db;
  PG_TRY(store__pg_wbegin_unlocked(impl, &db)); /* one row's DELETE: no lock needed */
  int rc = store__pg_exec(db, what, NULL, "DELETE FROM rate_buckets WHERE scope = ? AND key = ?",
                          "tt", scope, key);
  return store__pg_wend(impl, db, rc);
}

const struct stream_store_rate_ops store__pg_rate_ops = {
    .take = rate_take,
    .reset = rate_reset,
};
