/*
 * PostgreSQL backend: password reset tokens (sqlite/password_resets.c in the
 * PostgreSQL dialect). Using a token is one write transaction: a conditional
 * UPDATE marks it used (so of concurrent users exactly one changes the row),
 * then the account's password, refresh tokens and other reset tokens change
 * with it; when no row was marked, a read in the same transaction tells the
 * caller why.
 */
#include <inttypes.h>
#include <string.h>

#include "pg_internal.h"

#define RESET_COLS "token_hash, account_id, created_at, expires_at, used_at"

static int reset_read(pg_conn *db, stream_store_password_reset *out, const char *hash,
                      const char *what)
{
  pg_stmt *st;
  PG_TRY(store__pg_prepare(
      db, &st, what, "SELECT " RESET_COLS " FROM password_resets WHERE token_hash = ?", "t", hash));
  int rc = STREAM_OK;
  if (store__pg_step(db, st, what) == 1) {
    memset(out, 0, sizeof *out);
    store__pg_col_copy(out->token_hash, sizeof out->token_hash, st, 0);
    store__pg_col_copy(out->account_id, sizeof out->account_id, st, 1);
    out->created_at = store__pg_col_i64(st, 2);
    out->expires_at = store__pg_col_i64(st, 3);
    out->used_at = store__pg_col_i64(st, 4);
  } else {
    rc = stream__err(STREAM_ENOTFOUND, "%s: no such password reset token", what);
  }
  store__pg_release(db, st);
  return rc;
}

static int reset_insert(void *impl, size_t *out_invalidated, const stream_store_password_reset *r)
{
  const char *what = "insert password reset";
  pg_conn *db;
  PG_TRY(store__pg_wbegin(impl, &db));
  int n = 0;
  int rc = store__pg_exec(db, what, &n,
                          "DELETE FROM password_resets WHERE account_id = ? AND used_at = 0", "t",
                          r->account_id);
  *out_invalidated = (size_t)n;
  if (rc == STREAM_OK) {
    /* Only for a live account: a closed one keeps its tombstone row. The
     * token is cast: a bare parameter in a SELECT list has no type to infer. */
    rc = store__pg_exec(db, what, &n,
                        "INSERT INTO password_resets (" RESET_COLS ") SELECT ?::text, id, ?, ?, 0 "
                        "FROM accounts WHERE id = ? AND deleted_at = 0",
                        "tIIt", r->token_hash, r->created_at, r->expires_at, r->account_id);
    if (rc == STREAM_OK && n == 0)
      rc = stream__err(STREAM_ENOTFOUND, "%s: no account with id %s", what, r->account_id);
  }
  return store__pg_wend(impl, db, rc);
}

static int reset_get(void *impl, stream_store_password_reset *out, const char *hash)
{
  pg_conn *db = store__pg_racquire(impl);
  int rc = reset_read(db, out, hash, "get password reset");
  store__pg_rrelease(impl, db);
  return rc;
}

static int reset_consume(void *impl, stream_store_password_reset *out, size_t *out_revoked,
                         const char *hash, const char *password_hash, int64_t now)
{
  const char *what = "use password reset";
  pg_conn *db;
  PG_TRY(store__pg_wbegin(impl, &db));
  int n = 0;
  int rc = store__pg_exec(db, what, &n,
                          "UPDATE password_resets SET used_at = ?1 WHERE token_hash = ?2 AND "
                          "used_at = 0 AND expires_at > ?1",
                          "It", now, hash);
  stream_store_password_reset row;
  memset(&row, 0, sizeof row);
  if (rc == STREAM_OK)
    rc = reset_read(db, &row, hash, what);
  if (rc == STREAM_OK && n == 0) {
    if (row.used_at != 0)
      rc = stream__err(STREAM_ECONFLICT, "%s: the token was already used at %" PRId64, what,
                       row.used_at);
    else
      rc = stream__err(STREAM_EEXPIRED, "%s: the token expired at %" PRId64 ", now %" PRId64, what,
                       row.expires_at, now);
  }
  if (rc == STREAM_OK) {
    rc = store__pg_exec(db, what, &n,
                        "UPDATE accounts SET password_hash = ? WHERE id = ? AND deleted_at = 0",
                        "tt", password_hash, row.account_id);
    if (rc == STREAM_OK && n == 0)
      rc = stream__err(STREAM_ENOTFOUND, "%s: the account of the token is closed", what);
  }
  if (rc == STREAM_OK) {
    rc = store__pg_exec(db, what, &n,
                        "UPDATE refresh_tokens SET revoked_at = ? WHERE account_id = ? AND "
                        "revoked_at IS NULL",
                        "It", now, row.account_id);
    *out_revoked = (size_t)n;
  }
  if (rc == STREAM_OK)
    rc = store__pg_exec(db, what, NULL,
                        "DELETE FROM password_resets WHERE account_id = ? AND used_at = 0", "t",
                        row.account_id);
  rc = store__pg_wend(impl, db, rc);
  if (rc == STREAM_OK)
    *out = row;
  return rc;
}

const struct stream_store_reset_ops store__pg_reset_ops = {
    .insert = reset_insert,
    .get = reset_get,
    .consume = reset_consume,
};
