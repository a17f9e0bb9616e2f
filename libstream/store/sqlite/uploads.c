/*
 * SQLite backend: tus upload sessions (store_uploads.h). The offset moves
 * only through a compare-and-set on the committed value, so a stale writer
 * (another process, a replayed request) can never move it backwards or skip
 * bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "../store_uploads.h"
#include "sqlite_internal.h"

#define UPLOAD_COLS                                                                                \
  "id, owner, length, upload_offset, metadata, created_at, expires_at, completed_at"

static int read_upload(stream_upload_info *u, sqlite3_stmt *st)
{
  memset(u, 0, sizeof *u);
  store__sq_col_copy(u->id, sizeof u->id, st, 0);
  store__sq_col_copy(u->owner, sizeof u->owner, st, 1);
  u->length = store__sq_col_i64(st, 2);
  u->offset = store__sq_col_i64(st, 3);
  int rc = store__sq_col_dup(&u->metadata, st, 4);
  u->created_at = store__sq_col_i64(st, 5);
  u->expires_at = store__sq_col_i64(st, 6);
  u->completed_at = store__sq_col_i64(st, 7);
  return rc == STREAM_OK ? rc : stream__err(rc, "read upload: out of memory");
}

static int up_insert(void *impl, const stream_upload_info *in)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int rc = store__sq_exec(db, "create upload", NULL,
                          "INSERT INTO uploads (" UPLOAD_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                          "tTIItIIZ", in->id, in->owner, in->length, in->offset,
                          in->metadata ? in->metadata : "{}", in->created_at, in->expires_at,
                          in->completed_at);
  return store__sq_wend(impl, db, rc);
}

static int up_get(void *impl, stream_upload_info *out, const char *id)
{
  const char *what = "get upload";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  int rc =
      store__sq_prepare(db, &st, what, "SELECT " UPLOAD_COLS " FROM uploads WHERE id = ?", "t", id);
  if (rc == STREAM_OK) {
    int r = store__sq_step(db, st, what);
    if (r == 1)
      rc = read_upload(out, st);
    else
      rc = r < 0 ? r : stream__err(STREAM_ENOTFOUND, "no upload with id %s", id);
    store__sq_release(db, st);
  }
  store__sq_rrelease(impl, db);
  return rc;
}

static int up_set_offset(void *impl, const char *id, int64_t old_offset, int64_t new_offset,
                         int64_t completed_at)
{
  const char *what = "commit upload offset";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int n = 0;
  int rc = store__sq_exec(db, what, &n,
                          "UPDATE uploads SET upload_offset = ?, completed_at = ? "
                          "WHERE id = ? AND upload_offset = ?",
                          "IZtI", new_offset, completed_at, id, old_offset);
  if (rc == STREAM_OK && n == 0) {
    sqlite3_stmt *st;
    rc =
        store__sq_prepare(db, &st, what, "SELECT upload_offset FROM uploads WHERE id = ?", "t", id);
    if (rc == STREAM_OK) {
      int r = store__sq_step(db, st, what);
      if (r == 1)
        rc = stream__err(STREAM_ECONFLICT,
                         "upload %s is at offset %lld, not %lld (another writer moved it)", id,
                         (long long)store__sq_col_i64(st, 0), (long long)old_offset);
      else
        rc = r < 0 ? r : stream__err(STREAM_ENOTFOUND, "no upload with id %s", id);
      store__sq_release(db, st);
    }
  }
  return store__sq_wend(impl, db, rc);
}

static int up_remove(void *impl, const char *id)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int n = 0;
  int rc = store__sq_exec(db, "delete upload", &n, "DELETE FROM uploads WHERE id = ?", "t", id);
  if (rc == STREAM_OK && n == 0)
    rc = stream__err(STREAM_ENOTFOUND, "no upload with id %s", id);
  return store__sq_wend(impl, db, rc);
}

static int up_list_expired(void *impl, char (**out)[STREAM_UPLOAD_ID_SIZE], size_t *out_count,
                           int64_t now, unsigned int limit)
{
  const char *what = "list expired uploads";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  char(*ids)[STREAM_UPLOAD_ID_SIZE] = NULL;
  size_t n = 0;
  int rc = store__sq_prepare(db, &st, what,
                             "SELECT id FROM uploads WHERE completed_at IS NULL AND expires_at > 0 "
                             "AND expires_at <= ? ORDER BY expires_at LIMIT ?",
                             "Ii", now, (int)limit);
  if (rc == STREAM_OK) {
    ids = calloc(limit ? limit : 1, sizeof *ids);
    if (!ids)
      rc = stream__err(STREAM_ENOMEM, "%s: out of memory", what);
    int r = 0;
    while (rc == STREAM_OK && n < limit && (r = store__sq_step(db, st, what)) == 1)
      store__sq_col_copy(ids[n++], sizeof ids[0], st, 0);
    if (rc == STREAM_OK && r < 0)
      rc = r;
    store__sq_release(db, st);
  }
  store__sq_rrelease(impl, db);
  if (rc != STREAM_OK) {
    free(ids);
    return rc;
  }
  *out = ids;
  *out_count = n;
  return STREAM_OK;
}

/* Reads only the partial index uploads_expiry (incomplete sessions). */
static int up_count_active(void *impl, int64_t *out, int64_t now)
{
  const char *what = "count uploads in progress";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  int rc = store__sq_prepare(db, &st, what,
                             "SELECT count(*) FROM uploads WHERE completed_at IS NULL AND "
                             "(expires_at = 0 OR expires_at > ?)",
                             "I", now);
  if (rc == STREAM_OK) {
    int r = store__sq_step(db, st, what);
    if (r == 1)
      *out = store__sq_col_i64(st, 0);
    else
      rc = r < 0 ? r : stream__err(STREAM_EINTERNAL, "%s: no row", what);
    store__sq_release(db, st);
  }
  store__sq_rrelease(impl, db);
  return rc;
}

const struct stream_store_upload_ops store__sq_upload_ops = {
    .insert = up_insert,
    .get = up_get,
    .set_offset = up_set_offset,
    .remove = up_remove,
    .list_expired = up_list_expired,
    .count_active = up_count_active,
};
