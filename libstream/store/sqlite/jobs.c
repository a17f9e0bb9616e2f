/*
 * SQLite backend: the durable job queue and the asset registry
 * (store_jobs.h). Every transition runs in one BEGIN IMMEDIATE transaction
 * and names the job's expected state and lease holder in its WHERE clause, so
 * the outcome is decided by the database even with several processes: a
 * claim picks and leases one row while holding the write lock, and a worker
 * whose lease was taken over gets STREAM_ECONFLICT.
 */
#include <stdlib.h>
#include <string.h>

#include "../store_jobs.h"
#include "sqlite_internal.h"

#define JOB_COLS                                                                                   \
  "id, kind, dedup_key, status, payload, result, error, attempts, max_attempts, progress, "        \
  "cancel_requested, worker, lease_until, run_after, created_at, updated_at, finished_at"

static int read_job(stream_job *j, sqlite3_stmt *st)
{
  memset(j, 0, sizeof *j);
  store__sq_col_copy(j->id, sizeof j->id, st, 0);
  store__sq_col_copy(j->kind, sizeof j->kind, st, 1);
  store__sq_col_copy(j->dedup_key, sizeof j->dedup_key, st, 2);
  j->status = sqlite3_column_int(st, 3);
  int rc = store__sq_col_dup(&j->payload, st, 4);
  if (rc == STREAM_OK)
    rc = store__sq_col_dup(&j->result, st, 5);
  if (rc == STREAM_OK)
    rc = store__sq_col_dup(&j->error, st, 6);
  j->attempts = sqlite3_column_int(st, 7);
  j->max_attempts = sqlite3_column_int(st, 8);
  j->progress = sqlite3_column_double(st, 9);
  j->cancel_requested = sqlite3_column_int(st, 10);
  store__sq_col_copy(j->worker, sizeof j->worker, st, 11);
  j->lease_until = store__sq_col_i64(st, 12);
  j->run_after = store__sq_col_i64(st, 13);
  j->created_at = store__sq_col_i64(st, 14);
  j->updated_at = store__sq_col_i64(st, 15);
  j->finished_at = store__sq_col_i64(st, 16);
  if (rc != STREAM_OK) {
    stream_job_clear(j);
    return stream__err(STREAM_ENOMEM, "read job: out of memory");
  }
  return STREAM_OK;
}

static int job_by_id(sq_conn *db, stream_job *out, const char *id, const char *what)
{
  sqlite3_stmt *st;
  SQ_TRY(store__sq_prepare(db, &st, what, "SELECT " JOB_COLS " FROM jobs WHERE id = ?", "t", id));
  int r = store__sq_step(db, st, what);
  int rc = r == 1 ? read_job(out, st)
                  : (r < 0 ? r : stream__err(STREAM_ENOTFOUND, "no job with id %s", id));
  store__sq_release(db, st);
  return rc;
}

static int jb_enqueue(void *impl, char *out_id, int *out_created, const stream_job *in, int64_t now)
{
  const char *what = "enqueue job";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int rc = STREAM_OK;
  bool found = false;
  if (in->dedup_key[0]) {
    sqlite3_stmt *st;
    rc = store__sq_prepare(db, &st, what, "SELECT id FROM jobs WHERE kind = ? AND dedup_key = ?",
                           "tt", in->kind, in->dedup_key);
    if (rc == STREAM_OK) {
      int r = store__sq_step(db, st, what);
      if (r == 1) {
        store__sq_col_copy(out_id, STREAM_JOBS_ID_SIZE, st, 0);
        found = true;
      } else if (r < 0) {
        rc = r;
      }
      store__sq_release(db, st);
    }
  }
  if (rc == STREAM_OK && !found) {
    rc = store__sq_exec(db, what, NULL,
                        "INSERT INTO jobs (id, kind, dedup_key, status, payload, max_attempts, "
                        "run_after, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?)",
                        "tTTtiIII", in->id, in->kind, in->dedup_key, in->payload, in->max_attempts,
                        now, now, now);
    if (rc == STREAM_OK)
      memcpy(out_id, in->id, sizeof in->id);
  }
  *out_created = found ? 0 : 1;
  return store__sq_wend(impl, db, rc);
}

static int jb_claim(void *impl, stream_job *out, const char *worker, const char *kind, int64_t now,
                    int lease_seconds)
{
  const char *what = "claim job";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  /* A job whose worker died during its last attempt ends here, keeping why. */
  int rc =
      store__sq_exec(db, what, NULL,
                     "UPDATE jobs SET status = CASE WHEN cancel_requested THEN 5 ELSE 4 END, "
                     "error = coalesce(error || '; ', '') || 'worker ' || worker || "
                     "' lost its lease during attempt ' || attempts || ' of ' || max_attempts, "
                     "lease_until = 0, finished_at = ?, updated_at = ? "
                     "WHERE status = 2 AND lease_until < ? AND "
                     "(attempts >= max_attempts OR cancel_requested = 1)",
                     "III", now, now, now);
  char id[STREAM_JOBS_ID_SIZE] = "";
  if (rc == STREAM_OK) {
    sqlite3_stmt *st;
    rc = store__sq_prepare(db, &st, what,
                           "SELECT id FROM jobs WHERE ((status = 1 AND run_after <= ?) OR "
                           "(status = 2 AND lease_until < ?)) AND (? IS NULL OR kind = ?) "
                           "ORDER BY created_at, rowid LIMIT 1",
                           "IItt", now, now, kind, kind);
    if (rc == STREAM_OK) {
      int r = store__sq_step(db, st, what);
      if (r == 1)
        store__sq_col_copy(id, sizeof id, st, 0);
      else
        rc = r < 0 ? r : STREAM_ENOTFOUND;
      store__sq_release(db, st);
    }
  }
  if (rc == STREAM_OK)
    rc = store__sq_exec(db, what, NULL,
                        "UPDATE jobs SET status = 2, worker = ?, lease_until = ?, "
                        "attempts = attempts + 1, progress = 0, updated_at = ? WHERE id = ?",
                        "tIIt", worker, now + lease_seconds, now, id);
  if (rc == STREAM_OK)
    rc = job_by_id(db, out, id, what);
  if (rc == STREAM_ENOTFOUND && !id[0]) {
    /* Nothing runnable is not a failure of the transaction: keep the
     * lease-expiry updates above. */
    store__sq_wend(impl, db, STREAM_OK);
    return stream__err(STREAM_ENOTFOUND, "no runnable job%s%s", kind ? " of kind " : "",
                       kind ? kind : "");
  }
  return store__sq_wend(impl, db, rc);
}

/* The job's status and worker inside a write transaction, for the owner check. */
static int owner_check(sq_conn *db, const char *id, const char *worker, int *cancel,
                       const char *what)
{
  sqlite3_stmt *st;
  SQ_TRY(store__sq_prepare(
      db, &st, what, "SELECT status, worker, cancel_requested FROM jobs WHERE id = ?", "t", id));
  int r = store__sq_step(db, st, what);
  int rc = STREAM_OK;
  if (r == 1) {
    char w[STREAM_JOBS_ID_SIZE];
    store__sq_col_copy(w, sizeof w, st, 1);
    if (sqlite3_column_int(st, 0) != 2 || strcmp(w, worker) != 0)
      rc = stream__err(STREAM_ECONFLICT, "%s: job %s is not running under worker %s", what, id,
                       worker);
    if (cancel)
      *cancel = sqlite3_column_int(st, 2);
  } else {
    rc = r < 0 ? r : stream__err(STREAM_ENOTFOUND, "no job with id %s", id);
  }
  store__sq_release(db, st);
  return rc;
}

static int jb_heartbeat(void *impl, const char *id, const char *worker, double progress,
                        int64_t lease_until, int64_t now)
{
  const char *what = "job heartbeat";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int cancel = 0;
  int rc = owner_check(db, id, worker, &cancel, what);
  if (rc == STREAM_OK) {
    sqlite3_stmt *st;
    rc = store__sq_prepare(db, &st, what,
                           "UPDATE jobs SET lease_until = ?, updated_at = ?, progress = CASE "
                           "WHEN ?4 < 0 THEN progress ELSE ?4 END WHERE id = ?5",
                           "II", lease_until, now);
    if (rc == STREAM_OK) {
      sqlite3_bind_double(st, 4, progress);
      sqlite3_bind_text(st, 5, id, -1, SQLITE_TRANSIENT);
      int r = store__sq_step(db, st, what);
      store__sq_release(db, st);
      rc = r < 0 ? r : STREAM_OK;
    }
  }
  rc = store__sq_wend(impl, db, rc);
  if (rc == STREAM_OK && cancel)
    rc = stream__err(STREAM_ECANCELED, "job %s was canceled", id);
  return rc;
}

static int jb_complete(void *impl, const char *id, const char *worker, const char *result,
                       int64_t now)
{
  const char *what = "complete job";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int rc = owner_check(db, id, worker, NULL, what);
  if (rc == STREAM_OK)
    rc = store__sq_exec(db, what, NULL,
                        "UPDATE jobs SET status = 3, result = ?, progress = 1, lease_until = 0, "
                        "finished_at = ?, updated_at = ? WHERE id = ?",
                        "tIIt", result, now, now, id);
  return store__sq_wend(impl, db, rc);
}

static int jb_fail(void *impl, int *out_status, const char *id, const char *worker,
                   const char *error, const store__retry *retry, int64_t now)
{
  const char *what = "fail job";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int cancel = 0;
  int rc = owner_check(db, id, worker, &cancel, what);
  int attempts = 0, max_attempts = 0;
  if (rc == STREAM_OK) {
    sqlite3_stmt *st;
    rc = store__sq_prepare(db, &st, what, "SELECT attempts, max_attempts FROM jobs WHERE id = ?",
                           "t", id);
    if (rc == STREAM_OK) {
      int r = store__sq_step(db, st, what);
      if (r == 1) {
        attempts = sqlite3_column_int(st, 0);
        max_attempts = sqlite3_column_int(st, 1);
      }
      store__sq_release(db, st);
      rc = r < 0 ? r : STREAM_OK;
    }
  }
  int status = STREAM_JOB_FAILED;
  if (cancel)
    status = STREAM_JOB_CANCELED;
  else if (retry && attempts < max_attempts)
    status = STREAM_JOB_QUEUED;
  if (rc == STREAM_OK && status == STREAM_JOB_QUEUED) {
    int64_t delay = retry->base;
    for (int i = 1; i < attempts && delay < retry->cap; i++)
      delay *= 2;
    if (delay > retry->cap)
      delay = retry->cap;
    rc = store__sq_exec(db, what, NULL,
                        "UPDATE jobs SET status = 1, error = ?, lease_until = 0, run_after = ?, "
                        "updated_at = ? WHERE id = ?",
                        "tIIt", error, now + delay, now, id);
  } else if (rc == STREAM_OK) {
    rc = store__sq_exec(db, what, NULL,
                        "UPDATE jobs SET status = ?, error = ?, lease_until = 0, finished_at = ?, "
                        "updated_at = ? WHERE id = ?",
                        "itIIt", status, error, now, now, id);
  }
  rc = store__sq_wend(impl, db, rc);
  if (rc == STREAM_OK && out_status)
    *out_status = status;
  return rc;
}

static int jb_release(void *impl, const char *id, const char *worker, int64_t now)
{
  const char *what = "release job";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int rc = owner_check(db, id, worker, NULL, what);
  if (rc == STREAM_OK)
    rc = store__sq_exec(db, what, NULL,
                        "UPDATE jobs SET status = CASE WHEN cancel_requested THEN 5 ELSE 1 END, "
                        "finished_at = CASE WHEN cancel_requested THEN ?1 ELSE 0 END, "
                        "attempts = max(attempts - 1, 0), lease_until = 0, run_after = ?1, "
                        "updated_at = ?1 WHERE id = ?2",
                        "It", now, id);
  return store__sq_wend(impl, db, rc);
}

static int jb_cancel(void *impl, const char *id, int64_t now)
{
  const char *what = "cancel job";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  sqlite3_stmt *st;
  int rc = store__sq_prepare(db, &st, what, "SELECT status FROM jobs WHERE id = ?", "t", id);
  int status = 0;
  if (rc == STREAM_OK) {
    int r = store__sq_step(db, st, what);
    if (r == 1)
      status = sqlite3_column_int(st, 0);
    else
      rc = r < 0 ? r : stream__err(STREAM_ENOTFOUND, "no job with id %s", id);
    store__sq_release(db, st);
  }
  if (rc == STREAM_OK && status == STREAM_JOB_QUEUED)
    rc = store__sq_exec(db, what, NULL,
                        "UPDATE jobs SET status = 5, cancel_requested = 1, finished_at = ?1, "
                        "updated_at = ?1 WHERE id = ?2",
                        "It", now, id);
  else if (rc == STREAM_OK && status == STREAM_JOB_RUNNING)
    rc = store__sq_exec(db, what, NULL,
                        "UPDATE jobs SET cancel_requested = 1, updated_at = ? WHERE id = ?", "It",
                        now, id);
  else if (rc == STREAM_OK)
    rc = stream__err(STREAM_ECONFLICT, "job %s has already finished", id);
  return store__sq_wend(impl, db, rc);
}

static int jb_get(void *impl, stream_job *out, const char *id)
{
  sq_conn *db = store__sq_racquire(impl);
  int rc = job_by_id(db, out, id, "get job");
  store__sq_rrelease(impl, db);
  return rc;
}

/* Collect rows of fixed-size structs into a growing array. */
static int grow(void **arr, size_t *cap, size_t count, size_t elem)
{
  if (count < *cap)
    return STREAM_OK;
  size_t ncap = *cap ? *cap * 2 : 8;
  void *p = realloc(*arr, ncap * elem);
  if (!p)
    return stream__err(STREAM_ENOMEM, "out of memory collecting rows");
  *arr = p;
  *cap = ncap;
  return STREAM_OK;
}

static int jb_list(void *impl, stream_job **out, size_t *out_count, int status, unsigned int limit)
{
  const char *what = "list jobs";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  stream_job *arr = NULL;
  size_t n = 0, cap = 0;
  int rc = store__sq_prepare(db, &st, what,
                             "SELECT " JOB_COLS " FROM jobs WHERE (?1 = 0 OR status = ?1) "
                             "ORDER BY created_at DESC, rowid DESC LIMIT ?2",
                             "ii", status, (int)limit);
  if (rc == STREAM_OK) {
    int r = 0;
    while (rc == STREAM_OK && (r = store__sq_step(db, st, what)) == 1) {
      rc = grow((void **)&arr, &cap, n, sizeof *arr);
      if (rc == STREAM_OK)
        rc = read_job(&arr[n], st);
      if (rc == STREAM_OK)
        n++;
    }
    if (rc == STREAM_OK && r < 0)
      rc = r;
    store__sq_release(db, st);
  }
  store__sq_rrelease(impl, db);
  if (rc != STREAM_OK) {
    stream_job_list_free(arr, n);
    return rc;
  }
  *out = arr;
  *out_count = n;
  return STREAM_OK;
}

/* The IN list has five slots; the caller's statuses fill the first n and the rest repeat the
 * first, so one cached statement serves every subset. The WHERE on status is what lets SQLite
 * search jobs_runnable (status, created_at) instead of scanning the table: a scrape that leaves
 * out the succeeded jobs reads only the live and failed ones. */
static int jb_counts(void *impl, stream_jobs_count **out, size_t *out_count, const int *statuses,
                     size_t n, unsigned int limit)
{
  const char *what = "count jobs";
  int s[5];
  for (size_t i = 0; i < 5; i++)
    s[i] = statuses[i < n ? i : 0];
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  stream_jobs_count *arr = NULL;
  size_t k = 0, cap = 0;
  int rc = store__sq_prepare(db, &st, what,
                             "SELECT kind, status, count(*) FROM jobs "
                             "WHERE status IN (?1, ?2, ?3, ?4, ?5) "
                             "GROUP BY kind, status ORDER BY kind, status LIMIT ?6",
                             "iiiiii", s[0], s[1], s[2], s[3], s[4], (int)limit + 1);
  if (rc == STREAM_OK) {
    int r = 0;
    while (rc == STREAM_OK && (r = store__sq_step(db, st, what)) == 1) {
      if (k == limit) {
        rc = stream__err(STREAM_ERANGE, "count jobs: more than %u kind and status pairs", limit);
        break;
      }
      rc = grow((void **)&arr, &cap, k, sizeof *arr);
      if (rc == STREAM_OK) {
        memset(&arr[k], 0, sizeof arr[k]);
        store__sq_col_copy(arr[k].kind, sizeof arr[k].kind, st, 0);
        arr[k].status = sqlite3_column_int(st, 1);
        arr[k].count = store__sq_col_i64(st, 2);
        k++;
      }
    }
    if (rc == STREAM_OK && r < 0)
      rc = r;
    store__sq_release(db, st);
  }
  store__sq_rrelease(impl, db);
  if (rc != STREAM_OK) {
    free(arr);
    return rc;
  }
  *out = arr;
  *out_count = k;
  return STREAM_OK;
}

/* ---- assets ---------------------------------------------------------------- */

#define ASSET_COLS                                                                                 \
  "id, title_id, episode_id, status, dir, job_id, summary, error, created_at, ready_at"

static int read_asset(stream_asset *a, sqlite3_stmt *st)
{
  memset(a, 0, sizeof *a);
  store__sq_col_copy(a->id, sizeof a->id, st, 0);
  store__sq_col_copy(a->title_id, sizeof a->title_id, st, 1);
  store__sq_col_copy(a->episode_id, sizeof a->episode_id, st, 2);
  a->status = sqlite3_column_int(st, 3);
  store__sq_col_copy(a->dir, sizeof a->dir, st, 4);
  store__sq_col_copy(a->job_id, sizeof a->job_id, st, 5);
  int rc = store__sq_col_dup(&a->summary, st, 6);
  if (rc == STREAM_OK)
    rc = store__sq_col_dup(&a->error, st, 7);
  a->created_at = store__sq_col_i64(st, 8);
  a->ready_at = store__sq_col_i64(st, 9);
  if (rc != STREAM_OK) {
    stream_asset_clear(a);
    return stream__err(STREAM_ENOMEM, "read asset: out of memory");
  }
  return STREAM_OK;
}

static int as_insert(void *impl, const stream_asset *in)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int rc = store__sq_exec(db, "create asset", NULL,
                          "INSERT INTO assets (id, title_id, episode_id, status, dir, job_id, "
                          "created_at) VALUES (?, ?, ?, 1, ?, ?, ?)",
                          "ttttTI", in->id, in->title_id, in->episode_id, in->dir, in->job_id,
                          in->created_at);
  return store__sq_wend(impl, db, rc);
}

/* The next publish order: publishes are serialized on the writer (BEGIN IMMEDIATE, also across
 * processes), so the value is unique and increasing. */
#define NEXT_SEQ "(SELECT coalesce(max(publish_seq), 0) + 1 FROM assets)"

static int as_set_status(void *impl, const char *id, int status, const char *text, int64_t now)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int n = 0;
  int rc;
  if (status == STREAM_ASSET_READY)
    rc = store__sq_exec(db, "publish asset", &n,
                        "UPDATE assets SET status = 2, summary = ?, error = NULL, ready_at = ?, "
                        "publish_seq = " NEXT_SEQ " WHERE id = ?",
                        "tIt", text, now, id);
  else
    rc =
        store__sq_exec(db, "fail asset", &n, "UPDATE assets SET status = ?, error = ? WHERE id = ?",
                       "itt", status, text, id);
  if (rc == STREAM_OK && n == 0)
    rc = stream__err(STREAM_ENOTFOUND, "no asset with id %s", id);
  return store__sq_wend(impl, db, rc);
}

/* Publish only while the title's current asset is `expected`: the read and the write share
 * the write transaction, so no publish of another writer can fall between them. */
static int as_ready_if(void *impl, const char *id, const char *summary, const char *expected,
                       int64_t now)
{
  const char *what = "publish asset";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  char title[STREAM_JOBS_ID_SIZE] = "", episode[STREAM_JOBS_ID_SIZE] = "",
       current[STREAM_JOBS_ID_SIZE] = "";
  int status = 0;
  sqlite3_stmt *st;
  int rc = store__sq_prepare(
      db, &st, what, "SELECT title_id, episode_id, status FROM assets WHERE id = ?", "t", id);
  if (rc == STREAM_OK) {
    int r = store__sq_step(db, st, what);
    if (r == 1) {
      store__sq_col_copy(title, sizeof title, st, 0);
      store__sq_col_copy(episode, sizeof episode, st, 1);
      status = sqlite3_column_int(st, 2);
    } else {
      rc = r < 0 ? r : stream__err(STREAM_ENOTFOUND, "no asset with id %s", id);
    }
    store__sq_release(db, st);
  }
  if (rc != STREAM_OK || status == STREAM_ASSET_READY)
    return store__sq_wend(impl, db, rc); /* a retried publish: already done, order kept */
  rc = store__sq_prepare(db, &st, what,
                         "SELECT id FROM assets WHERE title_id = ? AND episode_id = ? AND "
                         "status = 2 ORDER BY publish_seq DESC, rowid DESC LIMIT 1",
                         "tt", title, episode);
  if (rc == STREAM_OK) {
    int r = store__sq_step(db, st, what);
    if (r == 1)
      store__sq_col_copy(current, sizeof current, st, 0);
    else if (r < 0)
      rc = r;
    store__sq_release(db, st);
  }
  if (rc == STREAM_OK && strcmp(current, expected) != 0)
    rc = stream__err(STREAM_ECONFLICT,
                     "publish asset %s: the current asset of title %s%s%s is %s, not %s", id, title,
                     episode[0] ? " episode " : "", episode, current[0] ? current : "none",
                     expected[0] ? expected : "none");
  if (rc == STREAM_OK)
    rc = store__sq_exec(db, what, NULL,
                        "UPDATE assets SET status = 2, summary = ?, error = NULL, ready_at = ?, "
                        "publish_seq = " NEXT_SEQ " WHERE id = ?",
                        "tIt", summary, now, id);
  return store__sq_wend(impl, db, rc);
}

static int asset_one(void *impl, stream_asset *out, const char *what, const char *sql,
                     const char *types, const char *a, const char *b, const char *missing)
{
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  int rc = store__sq_prepare(db, &st, what, sql, types, a, b);
  if (rc == STREAM_OK) {
    int r = store__sq_step(db, st, what);
    if (r == 1)
      rc = read_asset(out, st);
    else
      rc = r < 0 ? r : stream__err(STREAM_ENOTFOUND, "%s %s", missing, a);
    store__sq_release(db, st);
  }
  store__sq_rrelease(impl, db);
  return rc;
}

static int as_get(void *impl, stream_asset *out, const char *id)
{
  return asset_one(impl, out, "get asset", "SELECT " ASSET_COLS " FROM assets WHERE id = ?", "t",
                   id, NULL, "no asset with id");
}

static int as_for_title(void *impl, stream_asset *out, const char *title_id, const char *episode_id)
{
  return asset_one(impl, out, "asset for title",
                   "SELECT " ASSET_COLS " FROM assets WHERE title_id = ? AND episode_id = ? "
                   "AND status = 2 ORDER BY publish_seq DESC, rowid DESC LIMIT 1",
                   "tt", title_id, episode_id, "no ready asset for title");
}

static int as_list(void *impl, stream_asset **out, size_t *out_count, const char *title_id,
                   unsigned int limit)
{
  const char *what = "list assets";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  stream_asset *arr = NULL;
  size_t n = 0, cap = 0;
  int rc =
      store__sq_prepare(db, &st, what,
                        "SELECT " ASSET_COLS " FROM assets WHERE (?1 IS NULL OR title_id = ?1) "
                        "ORDER BY created_at DESC, rowid DESC LIMIT ?2",
                        "ti", title_id, (int)limit);
  if (rc == STREAM_OK) {
    int r = 0;
    while (rc == STREAM_OK && (r = store__sq_step(db, st, what)) == 1) {
      rc = grow((void **)&arr, &cap, n, sizeof *arr);
      if (rc == STREAM_OK)
        rc = read_asset(&arr[n], st);
      if (rc == STREAM_OK)
        n++;
    }
    if (rc == STREAM_OK && r < 0)
      rc = r;
    store__sq_release(db, st);
  }
  store__sq_rrelease(impl, db);
  if (rc != STREAM_OK) {
    stream_asset_list_free(arr, n);
    return rc;
  }
  *out = arr;
  *out_count = n;
  return STREAM_OK;
}

const struct stream_store_job_ops store__sq_job_ops = {
    .enqueue = jb_enqueue,
    .claim = jb_claim,
    .heartbeat = jb_heartbeat,
    .complete = jb_complete,
    .fail = jb_fail,
    .release = jb_release,
    .cancel = jb_cancel,
    .get = jb_get,
    .list = jb_list,
    .counts = jb_counts,
    .asset_insert = as_insert,
    .asset_set_status = as_set_status,
    .asset_ready_if = as_ready_if,
    .asset_get = as_get,
    .asset_for_title = as_for_title,
    .asset_list = as_list,
};
