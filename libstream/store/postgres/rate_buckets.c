/*
 * PostgreSQL backend: rate-limit buckets (sqlite/rate_buckets.c in the
 * PostgreSQL dialect; the model is in store_rate.h). A take reads and writes
 * every bucket it charges in one write transaction under the writers'
 * advisory lock (or inside the caller's write batch), so the takes of every
 * daemon on the database run one at a time and each sees the tokens the
 * previous one left: N daemons share one burst.
 */
#include <string.h>

#include "../store_rate.h"
#include "pg_internal.h"

static int bucket_read(pg_conn *db, bool *found, double *tokens, int64_t *updated,
                       const stream_store_rate_key *k, const char *what)
{
  pg_stmt *st;
  PG_TRY(store__pg_prepare(db, &st, what,
                           "SELECT tokens, updated FROM rate_buckets WHERE scope = ? AND key = ?",
                           "tt", k->scope, k->key));
  *found = store__pg_step(db, st, what) == 1;
  if (*found) {
    *tokens = store__pg_col_double(st, 0);
    *updated = store__pg_col_i64(st, 1);
  }
  store__pg_release(db, st);
  return STREAM_OK;
}

static int rate_take(void *impl, int64_t *out_wait, const stream_store_rate_key *keys, size_t n,
                     int64_t now)
{
  const char *what = "take rate-limit tokens";
  double tokens[STREAM_STORE_RATE_KEYS_MAX];
  int64_t updated[STREAM_STORE_RATE_KEYS_MAX];
  pg_conn *db;
  PG_TRY(store__pg_wbegin(impl, &db));
  int rc = STREAM_OK;
  int64_t wait = 0;
  for (size_t i = 0; rc == STREAM_OK && i < n; i++) {
    bool found = false;
    tokens[i] = 0;
    updated[i] = 0;
    rc = bucket_read(db, &found, &tokens[i], &updated[i], &keys[i], what);
    if (rc != STREAM_OK)
      break;
    store__rate_refill(&tokens[i], &updated[i], found, &keys[i], now);
    int64_t w = store__rate_wait(tokens[i], &keys[i]);
    if (w > wait)
      wait = w;
  }
  /* All or none: an empty bucket leaves every bucket as it was. */
  for (size_t i = 0; rc == STREAM_OK && wait == 0 && i < n; i++) {
    double left = tokens[i] - 1.0;
    rc = store__pg_exec(db, what, NULL,
                        "INSERT INTO rate_buckets (scope, key, tokens, updated, burst, interval_s, "
                        "full_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (scope, key) DO UPDATE "
                        "SET tokens = excluded.tokens, updated = excluded.updated, burst = "
                        "excluded.burst, interval_s = excluded.interval_s, full_at = "
                        "excluded.full_at",
                        "ttdIIII", keys[i].scope, keys[i].key, left, updated[i],
                        (int64_t)keys[i].burst, (int64_t)keys[i].interval,
                        store__rate_full_at(left, updated[i], &keys[i]));
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
  PG_TRY(store__pg_wbegin(impl, &db));
  int rc = store__pg_exec(db, what, NULL, "DELETE FROM rate_buckets WHERE scope = ? AND key = ?",
                          "tt", scope, key);
  return store__pg_wend(impl, db, rc);
}

const struct stream_store_rate_ops store__pg_rate_ops = {
    .take = rate_take,
    .reset = rate_reset,
};
