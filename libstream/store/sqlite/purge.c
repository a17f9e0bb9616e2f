/*
 * SQLite backend: the retention purge (stream_store_purge). Each table is
 * emptied of its outlived rows in batches: one DELETE of at most `batch_size`
 * rows picked through an index range (migration 10), each batch its own
 * BEGIN IMMEDIATE transaction, so readers and other writers get the writer
 * between batches however many rows go. A batch that deletes fewer rows than
 * its limit was the last one. The rules (what is outlived) are documented at
 * stream_store_purge() in include/stream/store.h.
 */
#include <string.h>

#include "sqlite_internal.h"

/* One table's purge: `sql` deletes at most ?2 rows older than the cutoff ?1. */
static int purge_table(sq_store *st, size_t *count, const char *what, const char *sql,
                       int64_t cutoff, unsigned int batch)
{
  for (;;) {
    sq_conn *db;
    SQ_TRY(store__sq_wbegin(st, &db));
    int n = 0;
    int rc = store__sq_exec(db, what, &n, sql, "Ii", cutoff, (int)batch);
    rc = store__sq_wend(st, db, rc);
    if (rc != STREAM_OK)
      return rc;
    *count += (size_t)n;
    if ((unsigned int)n < batch)
      return STREAM_OK;
  }
}

int store__sq_purge(void *impl, stream_store_purge_counts *out, int64_t now,
                    const stream_store_purge_policy *p)
{
  sq_store *st = impl;
  unsigned int b = p->batch_size;
  /* Used or revoked tokens stay until they expire: reuse detection needs them. */
  SQ_TRY(purge_table(st, &out->refresh_tokens, "purge refresh tokens",
                     "DELETE FROM refresh_tokens WHERE rowid IN (SELECT rowid FROM refresh_tokens "
                     "WHERE expires_at < ?1 LIMIT ?2)",
                     now - p->refresh_grace, b));
  SQ_TRY(purge_table(st, &out->device_authorizations, "purge device authorizations",
                     "DELETE FROM device_authorizations WHERE rowid IN (SELECT rowid FROM "
                     "device_authorizations WHERE expires_at < ?1 LIMIT ?2)",
                     now - p->device_grace, b));
  /* An in-progress key (response NULL) whose pending payment or refund will
   * record the outcome on it stays until that settles. */
  SQ_TRY(purge_table(st, &out->idempotency_keys, "purge idempotency keys",
                     "DELETE FROM idempotency_keys WHERE rowid IN (SELECT k.rowid FROM "
                     "idempotency_keys k WHERE k.created_at < ?1 AND (k.response IS NOT NULL OR "
                     "(NOT EXISTS (SELECT 1 FROM payments p WHERE p.status = 0 AND "
                     "p.idem_scope = k.scope AND p.idem_key = k.key) AND NOT EXISTS (SELECT 1 "
                     "FROM refunds r WHERE r.status = 0 AND r.idem_scope = k.scope AND "
                     "r.idem_key = k.key))) LIMIT ?2)",
                     now - p->idempotency_retention, b));
  SQ_TRY(purge_table(st, &out->screen_leases, "purge screen leases",
                     "DELETE FROM screen_leases WHERE rowid IN (SELECT rowid FROM screen_leases "
                     "WHERE expires_at < ?1 LIMIT ?2)",
                     now - p->lease_grace, b));
  SQ_TRY(purge_table(st, &out->password_resets, "purge password reset tokens",
                     "DELETE FROM password_resets WHERE rowid IN (SELECT rowid FROM "
                     "password_resets WHERE expires_at < ?1 LIMIT ?2)",
                     now - p->reset_grace, b));
  /* A bucket that has refilled is the same as no row (migration 15's index). */
  SQ_TRY(purge_table(st, &out->rate_buckets, "purge rate-limit buckets",
                     "DELETE FROM rate_buckets WHERE rowid IN (SELECT rowid FROM rate_buckets "
                     "WHERE full_at <= ?1 LIMIT ?2)",
                     now, b));
  return STREAM_OK;
}
