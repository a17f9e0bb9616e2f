/*
 * SQLite backend: pending password reset requests (migration 14; the model is
 * in store_reset_requests.h). A claim is one write transaction (the oldest
 * claimable row read and updated under BEGIN IMMEDIATE, or inside the
 * caller's write batch), so two processors, threads or processes, never hold
 * the same claim.
 */
#include <string.h>

#include "../store_reset_requests.h"
#include "sqlite_internal.h"

static int request_insert(void *impl, const char *email, int64_t requested_at)
{
  const char *what = "insert password reset request";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int rc = store__sq_exec(db, what, NULL,
                          "INSERT INTO password_reset_requests (email, requested_at) VALUES (?, ?)",
                          "tI", email, requested_at);
  return store__sq_wend(impl, db, rc);
}

static int request_claim(void *impl, store__reset_request *out, int64_t now, int64_t until)
{
  const char *what = "claim password reset request";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  sqlite3_stmt *st;
  int rc = store__sq_prepare(db, &st, what,
                             "SELECT id, email, requested_at, attempts FROM "
                             "password_reset_requests WHERE claimed_until <= ? ORDER BY id LIMIT 1",
                             "I", now);
  if (rc == STREAM_OK) {
    int r = store__sq_step(db, st, what);
    if (r == 1) {
      memset(out, 0, sizeof *out);
      out->id = store__sq_col_i64(st, 0);
      store__sq_col_copy(out->email, sizeof out->email, st, 1);
      out->requested_at = store__sq_col_i64(st, 2);
      out->attempts = store__sq_col_i64(st, 3) + 1;
    } else if (r == 0) {
      rc = stream__err(STREAM_ENOTFOUND, "%s: no password reset request to process", what);
    } else {
      rc = r;
    }
    store__sq_release(db, st);
  }
  if (rc == STREAM_OK)
    rc = store__sq_exec(db, what, NULL,
                        "UPDATE password_reset_requests SET attempts = ?, claimed_until = ? "
                        "WHERE id = ?",
                        "III", out->attempts, until, out->id);
  return store__sq_wend(impl, db, rc);
}

static int request_remove(void *impl, int *out_deleted, int64_t id, int64_t attempts)
{
  const char *what = "delete password reset request";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int n = 0;
  int rc = store__sq_exec(db, what, &n,
                          "DELETE FROM password_reset_requests WHERE id = ? AND attempts = ?", "II",
                          id, attempts);
  rc = store__sq_wend(impl, db, rc);
  if (rc == STREAM_OK)
    *out_deleted = n > 0;
  return rc;
}

static int request_release_all(void *impl, size_t *out_count)
{
  const char *what = "release password reset requests";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int n = 0;
  int rc = store__sq_exec(db, what, &n,
                          "UPDATE password_reset_requests SET claimed_until = 0 "
                          "WHERE claimed_until <> 0",
                          "");
  rc = store__sq_wend(impl, db, rc);
  if (rc == STREAM_OK)
    *out_count = (size_t)n;
  return rc;
}

static int request_count(void *impl, size_t *out_count)
{
  const char *what = "count password reset requests";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  int rc = store__sq_prepare(db, &st, what, "SELECT count(*) FROM password_reset_requests", "");
  if (rc == STREAM_OK) {
    int r = store__sq_step(db, st, what);
    if (r == 1)
      *out_count = (size_t)store__sq_col_i64(st, 0);
    else
      rc = r < 0 ? r : stream__err(STREAM_EIO, "%s: no row", what);
    store__sq_release(db, st);
  }
  store__sq_rrelease(impl, db);
  return rc;
}

const struct stream_store_reset_request_ops store__sq_reset_request_ops = {
    .insert = request_insert,
    .claim = request_claim,
    .remove = request_remove,
    .release_all = request_release_all,
    .count = request_count,
};
