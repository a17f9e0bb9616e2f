/*
 * PostgreSQL backend: the retention purge (stream_store_purge; sqlite/purge.c
 * in the PostgreSQL dialect, same batches and rules). Each table is emptied
 * of its outlived rows in batches: one DELETE of at most `batch_size` rows
 * picked through an index range (the retention indexes of the schema), each
 * batch its own write transaction, so other writers get the writers' lock
 * between batches however many rows go. A batch that deletes fewer rows than
 * its limit was the last one. The rules (what is outlived) are documented at
 * stream_store_purge() in include/stream/store.h.
 *
 * PostgreSQL has no rowid: a batch picks the rows by their primary key
 * (refresh_tokens.token_hash, device_authorizations.device_code_hash,
 * idempotency_keys (scope, key), screen_leases.id, password_resets.token_hash).
 */
#include <string.h>

#include "pg_internal.h"

/* One table's purge: `sql` deletes at most ?2 rows older than the cutoff ?1. */
static int purge_table(pg_store *st, size_t *count, const char *what, const char *sql,
                       int64_t cutoff, unsigned int batch)
{
  for (;;) {
    pg_conn *db;
    PG_TRY(store__pg_wbegin(st, &db));
    int n = 0;
    int rc = store__pg_exec(db, what, &n, sql, "Ii", cutoff, (int)batch);
    rc = store__pg_wend(st, db, rc);
    if (rc != STREAM_OK)
      return rc;
    *count += (size_t)n;
    if ((unsigned int)n < batch)
      return STREAM_OK;
  }
}

int store__pg_purge(void *impl, stream_store_purge_counts *out, int64_t now,
                    const stream_store_purge_policy *p)
{
  pg_store *st = impl;
  unsigned int b = p->batch_size;
  /* Used or revoked tokens stay until they expire: reuse detection needs them. */
  PG_TRY(purge_table(st, &out->refresh_tokens, "purge refresh tokens",
                     "DELETE FROM refresh_tokens WHERE token_hash IN (SELECT token_hash FROM "
                     "refresh_tokens WHERE expires_at < ?1 LIMIT ?2)",
                     now - p->refresh_grace, b));
  PG_TRY(purge_table(st, &out->device_authorizations, "purge device authorizations",
                     "DELETE FROM device_authorizations WHERE device_code_hash IN (SELECT "
                     "device_code_hash FROM device_authorizations WHERE expires_at < ?1 LIMIT ?2)",
                     now - p->device_grace, b));
  /* An in-progress key (response NULL) whose pending payment or refund will
   * record the outcome on it stays until that settles. */
  PG_TRY(purge_table(st, &out->idempotency_keys, "purge idempotency keys",
                     "DELETE FROM idempotency_keys WHERE (scope, key) IN (SELECT k.scope, k.key "
                     "FROM idempotency_keys k WHERE k.created_at < ?1 AND (k.response IS NOT NULL "
                     "OR (NOT EXISTS (SELECT 1 FROM payments p WHERE p.status = 0 AND "
                     "p.idem_scope = k.scope AND p.idem_key = k.key) AND NOT EXISTS (SELECT 1 "
                     "FROM refunds r WHERE r.status = 0 AND r.idem_scope = k.scope AND "
                     "r.idem_key = k.key))) LIMIT ?2)",
                     now - p->idempotency_retention, b));
  PG_TRY(purge_table(st, &out->screen_leases, "purge screen leases",
                     "DELETE FROM screen_leases WHERE id IN (SELECT id FROM screen_leases "
                     "WHERE expires_at < ?1 LIMIT ?2)",
                     now - p->lease_grace, b));
  PG_TRY(purge_table(st, &out->password_resets, "purge password reset tokens",
                     "DELETE FROM password_resets WHERE token_hash IN (SELECT token_hash FROM "
                     "password_resets WHERE expires_at < ?1 LIMIT ?2)",
                     now - p->reset_grace, b));
  /* A bucket that has refilled is the same as no row (migration 15's index). */
  PG_TRY(purge_table(st, &out->rate_buckets, "purge rate-limit buckets",
                     "DELETE FROM rate_buckets WHERE (scope, key) IN (SELECT scope, key FROM "
                     "rate_buckets WHERE full_at <= ?1 LIMIT ?2)",
                     now, b));
  return STREAM_OK;
}
