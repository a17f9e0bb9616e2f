/*
 * PostgreSQL backend: profiles, resume positions, My List and ratings
 * (sqlite/profiles.c in the PostgreSQL dialect, same control flow and
 * messages). The per-account profile limit is a count inside the write
 * transaction that then inserts: the writers' advisory lock is held from the
 * count to the commit, so concurrent creates (from any process) serialize and
 * can never exceed the limit. The account is read in the same transaction
 * (store__pg_account_live), so a create racing the account's close fails
 * instead of leaving a profile on the tombstone; the profile-keyed rows
 * (progress, My List, ratings) need their profile row (foreign key), which
 * the close deletes. Recency ties within a second are broken by `seq`, an
 * identity every progress upsert and My List insert takes anew
 * (schema_catalog.c).
 *
 * The viewing writes (progress upsert, My List add and remove, rating put and
 * delete) take no writers' lock (store__pg_wbegin_unlocked, whose comment in
 * pg_internal.h says why they may): each is one statement on its own row,
 * kept right by its primary key and its foreign keys; the episode check of a
 * progress upsert locks what it read (FOR KEY SHARE) so that it holds until
 * the commit.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

#define PROFILE_COLS "id, account_id, name, avatar, kids, maturity_ceiling, pin_hash, created_at"

static void read_profile(stream_store_profile *p, const pg_stmt *st)
{
  memset(p, 0, sizeof *p);
  store__pg_col_copy(p->id, sizeof p->id, st, 0);
  store__pg_col_copy(p->account_id, sizeof p->account_id, st, 1);
  store__pg_col_copy(p->name, sizeof p->name, st, 2);
  store__pg_col_copy(p->avatar, sizeof p->avatar, st, 3);
  p->kids = store__pg_col_int(st, 4);
  p->maturity_ceiling = store__pg_col_int(st, 5);
  store__pg_col_copy(p->pin_hash, sizeof p->pin_hash, st, 6);
  p->created_at = store__pg_col_i64(st, 7);
}

static int pr_create(void *impl, const stream_store_profile *in, int max_per_account)
{
  const char *what = "create profile";
  pg_conn *db;
  PG_TRY(store__pg_wbegin(impl, &db));
  pg_stmt *st;
  int rc = store__pg_account_live(db, what, in->account_id);
  if (rc == STREAM_OK)
    rc = store__pg_prepare(db, &st, what, "SELECT count(*) FROM profiles WHERE account_id = ?", "t",
                           in->account_id);
  if (rc == STREAM_OK) {
    int have = store__pg_step(db, st, what) == 1 ? store__pg_col_int(st, 0) : 0;
    store__pg_release(db, st);
    if (have >= max_per_account)
      rc = stream__err(STREAM_ERANGE, "account %s already has %d profiles; the limit is %d",
                       in->account_id, have, max_per_account);
  }
  if (rc == STREAM_OK)
    rc = store__pg_exec(db, what, NULL,
                        "INSERT INTO profiles (" PROFILE_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        "ttttiiTI", in->id, in->account_id, in->name, in->avatar, in->kids,
                        in->maturity_ceiling, in->pin_hash, in->created_at);
  return store__pg_wend(impl, db, rc);
}

static int pr_get(void *impl, stream_store_profile *out, const char *id)
{
  const char *what = "get profile";
  pg_conn *db = store__pg_racquire(impl);
  pg_stmt *st;
  int rc = store__pg_prepare(db, &st, what, "SELECT " PROFILE_COLS " FROM profiles WHERE id = ?",
                             "t", id);
  if (rc == STREAM_OK) {
    if (store__pg_step(db, st, what) == 1)
      read_profile(out, st);
    else
      rc = stream__err(STREAM_ENOTFOUND, "no profile with id %s", id);
    store__pg_release(db, st);
  }
  store__pg_rrelease(impl, db);
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

/* profiles.seq: the insertion order, SQLite's rowid. */
static int pr_list(void *impl, stream_store_profile **out, size_t *out_count,
                   const char *account_id)
{
  const char *what = "list profiles";
  pg_conn *db = store__pg_racquire(impl);
  pg_stmt *st;
  stream_store_profile *arr = NULL;
  size_t n = 0, cap = 0;
  int rc = store__pg_prepare(db, &st, what,
                             "SELECT " PROFILE_COLS
                             " FROM profiles WHERE account_id = ? ORDER BY created_at, seq",
                             "t", account_id);
  if (rc == STREAM_OK) {
    while (rc == STREAM_OK && store__pg_step(db, st, what) == 1) {
      rc = grow((void **)&arr, &cap, n, sizeof *arr);
      if (rc == STREAM_OK)
        read_profile(&arr[n++], st);
    }
    store__pg_release(db, st);
  }
  store__pg_rrelease(impl, db);
  if (rc != STREAM_OK) {
    free(arr);
    return rc;
  }
  *out = arr;
  *out_count = n;
  return STREAM_OK;
}

/* With `expect`, a compare-and-set: an empty PIN hash is stored as NULL, hence the
 * coalesce. */
static int pr_update(void *impl, const stream_store_profile *p, const stream_store_profile *expect)
{
  pg_conn *db;
  PG_TRY(store__pg_wbegin(impl, &db));
  int n = 0;
  int rc =
      expect ? store__pg_exec(db, "update profile", &n,
                              "UPDATE profiles SET name = ?, avatar = ?, kids = ?, "
                              "maturity_ceiling = ?, pin_hash = ? WHERE id = ? AND name = ? AND "
                              "coalesce(avatar, '') = ? AND kids = ? AND maturity_ceiling = ? AND "
                              "coalesce(pin_hash, '') = ?",
                              "ttiiTtttiit", p->name, p->avatar, p->kids, p->maturity_ceiling,
                              p->pin_hash, p->id, expect->name, expect->avatar, expect->kids,
                              expect->maturity_ceiling, expect->pin_hash)
             : store__pg_exec(db, "update profile", &n,
                              "UPDATE profiles SET name = ?, avatar = ?, kids = ?, "
                              "maturity_ceiling = ?, pin_hash = ? WHERE id = ?",
                              "ttiiTt", p->name, p->avatar, p->kids, p->maturity_ceiling,
                              p->pin_hash, p->id);
  if (rc == STREAM_OK && n == 0 && !expect)
    rc = stream__err(STREAM_ENOTFOUND, "update profile: no profile with id %s", p->id);
  rc = store__pg_wend(impl, db, rc);
  /* A compare that found the row changed wrote nothing, so the empty transaction commits
   * rather than counting as failed; the caller reads the row again. */
  if (rc == STREAM_OK && n == 0 && expect)
    rc = stream__err(STREAM_ECONFLICT,
                     "update profile: profile %s changed since it was read, or is gone", p->id);
  return rc;
}

/* With `expect_pin_hash`, only while the row still has that PIN hash (stored NULL when
 * empty, hence the coalesce). */
static int pr_remove(void *impl, const char *id, const char *expect_pin_hash)
{
  pg_conn *db;
  PG_TRY(store__pg_wbegin(impl, &db));
  int n = 0;
  int rc =
      expect_pin_hash
          ? store__pg_exec(db, "delete profile", &n,
                           "DELETE FROM profiles WHERE id = ? AND coalesce(pin_hash, '') = ?", "tt",
                           id, expect_pin_hash)
          : store__pg_exec(db, "delete profile", &n, "DELETE FROM profiles WHERE id = ?", "t", id);
  if (rc == STREAM_OK && n == 0 && !expect_pin_hash)
    rc = stream__err(STREAM_ENOTFOUND, "delete profile: no profile with id %s", id);
  rc = store__pg_wend(impl, db, rc);
  if (rc == STREAM_OK && n == 0 && expect_pin_hash)
    rc = stream__err(STREAM_ECONFLICT,
                     "delete profile: the PIN of profile %s changed since it was read, or the "
                     "profile is gone",
                     id);
  return rc;
}

const struct stream_store_profiles_ops store__pg_profiles_ops = {
    .create = pr_create,
    .get = pr_get,
    .list = pr_list,
    .update = pr_update,
    .remove = pr_remove,
};

/* ---- progress -------------------------------------------------------------- */

#define PROGRESS_COLS "profile_id, title_id, episode_id, position_ms, duration_ms, updated_at"

static void read_progress(stream_store_progress *p, const pg_stmt *st)
{
  memset(p, 0, sizeof *p);
  store__pg_col_copy(p->profile_id, sizeof p->profile_id, st, 0);
  store__pg_col_copy(p->title_id, sizeof p->title_id, st, 1);
  store__pg_col_copy(p->episode_id, sizeof p->episode_id, st, 2);
  p->position_ms = store__pg_col_i64(st, 3);
  p->duration_ms = store__pg_col_i64(st, 4);
  p->updated_at = store__pg_col_i64(st, 5);
}

/* seq = excluded.seq: the identity's next value, taken by the proposed row
 * whether it inserts or updates. Without the writers' lock: the episode check
 * keeps the title, season and episode it read until the commit (FOR KEY SHARE,
 * in the order a title delete cascades), so a concurrent delete of any of
 * them waits and then removes this row (ON DELETE CASCADE, the episode's
 * trigger), or ran first and the check finds nothing. */
static int prog_upsert(void *impl, const stream_store_progress *p, int64_t now)
{
  const char *what = "save progress";
  pg_conn *db;
  PG_TRY(store__pg_wbegin_unlocked(impl, &db));
  int rc = STREAM_OK;
  if (p->episode_id[0]) {
    pg_stmt *st;
    rc = store__pg_prepare(db, &st, what,
                           "SELECT 1 FROM titles t JOIN seasons s ON s.title_id = t.id "
                           "JOIN episodes e ON e.season_id = s.id WHERE e.id = ? AND t.id = ? "
                           "FOR KEY SHARE OF t, s, e",
                           "tt", p->episode_id, p->title_id);
    if (rc == STREAM_OK) {
      int r = store__pg_step(db, st, what);
      store__pg_release(db, st);
      if (r == 0)
        rc = stream__err(STREAM_ENOTFOUND, "%s: episode %s is not an episode of title %s", what,
                         p->episode_id, p->title_id);
    }
  }
  if (rc == STREAM_OK)
    rc = store__pg_exec(db, what, NULL,
                        "INSERT INTO progress (" PROGRESS_COLS ") VALUES (?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (profile_id, title_id, episode_id) DO UPDATE SET "
                        "position_ms = excluded.position_ms, duration_ms = excluded.duration_ms, "
                        "updated_at = excluded.updated_at, seq = excluded.seq",
                        "tttIII", p->profile_id, p->title_id, p->episode_id, p->position_ms,
                        p->duration_ms, now);
  return store__pg_wend(impl, db, rc);
}

static int prog_get(void *impl, stream_store_progress *out, const char *profile_id,
                    const char *title_id, const char *episode_id)
{
  const char *what = "get progress";
  pg_conn *db = store__pg_racquire(impl);
  pg_stmt *st;
  int rc = store__pg_prepare(db, &st, what,
                             "SELECT " PROGRESS_COLS " FROM progress "
                             "WHERE profile_id = ? AND title_id = ? AND episode_id = ?",
                             "ttt", profile_id, title_id, episode_id);
  if (rc == STREAM_OK) {
    if (store__pg_step(db, st, what) == 1)
      read_progress(out, st);
    else
      rc = stream__err(STREAM_ENOTFOUND, "no progress saved for this title");
    store__pg_release(db, st);
  }
  store__pg_rrelease(impl, db);
  return rc;
}

static int prog_continue(void *impl, stream_store_progress **out, size_t *out_count,
                         const char *profile_id, unsigned int limit)
{
  const char *what = "continue watching";
  pg_conn *db = store__pg_racquire(impl);
  pg_stmt *st;
  stream_store_progress *arr = NULL;
  size_t n = 0, cap = 0;
  /* Latest row per title, then drop the (nearly) finished ones: integer
   * arithmetic, position/duration < 0.95 <=> position*100 < duration*95.
   * "Latest" is (updated_at, seq): seq orders writes within one second. */
  int rc = store__pg_prepare(db, &st, what,
                             "SELECT " PROGRESS_COLS " FROM ("
                             " SELECT " PROGRESS_COLS ", seq, row_number() OVER ("
                             "  PARTITION BY title_id ORDER BY updated_at DESC, seq DESC) AS rn"
                             " FROM progress WHERE profile_id = ?) AS latest "
                             "WHERE rn = 1 AND position_ms * 100 < duration_ms * 95 "
                             "ORDER BY updated_at DESC, seq DESC LIMIT ?",
                             "ti", profile_id, (int)limit);
  if (rc == STREAM_OK) {
    while (rc == STREAM_OK && store__pg_step(db, st, what) == 1) {
      rc = grow((void **)&arr, &cap, n, sizeof *arr);
      if (rc == STREAM_OK)
        read_progress(&arr[n++], st);
    }
    store__pg_release(db, st);
  }
  store__pg_rrelease(impl, db);
  if (rc != STREAM_OK) {
    free(arr);
    return rc;
  }
  *out = arr;
  *out_count = n;
  return STREAM_OK;
}

/* ---- My List --------------------------------------------------------------- */

static int ml_add(void *impl, const char *profile_id, const char *title_id, int64_t now)
{
  pg_conn *db;
  PG_TRY(store__pg_wbegin_unlocked(impl, &db));
  int rc = store__pg_exec(db, "add to My List", NULL,
                          "INSERT INTO my_list (profile_id, title_id, added_at) VALUES (?, ?, ?) "
                          "ON CONFLICT (profile_id, title_id) DO NOTHING",
                          "ttI", profile_id, title_id, now);
  return store__pg_wend(impl, db, rc);
}

static int ml_remove(void *impl, const char *profile_id, const char *title_id)
{
  pg_conn *db;
  PG_TRY(store__pg_wbegin_unlocked(impl, &db));
  int rc = store__pg_exec(db, "remove from My List", NULL,
                          "DELETE FROM my_list WHERE profile_id = ? AND title_id = ?", "tt",
                          profile_id, title_id);
  return store__pg_wend(impl, db, rc);
}

static int ml_list(void *impl, stream_store_mylist_item **out, size_t *out_count,
                   const char *profile_id)
{
  const char *what = "list My List";
  pg_conn *db = store__pg_racquire(impl);
  pg_stmt *st;
  stream_store_mylist_item *arr = NULL;
  size_t n = 0, cap = 0;
  int rc = store__pg_prepare(db, &st, what,
                             "SELECT title_id, added_at FROM my_list WHERE profile_id = ? "
                             "ORDER BY added_at DESC, seq DESC",
                             "t", profile_id);
  if (rc == STREAM_OK) {
    while (rc == STREAM_OK && store__pg_step(db, st, what) == 1) {
      rc = grow((void **)&arr, &cap, n, sizeof *arr);
      if (rc == STREAM_OK) {
        memset(&arr[n], 0, sizeof arr[n]);
        store__pg_col_copy(arr[n].title_id, sizeof arr[n].title_id, st, 0);
        arr[n].added_at = store__pg_col_i64(st, 1);
        n++;
      }
    }
    store__pg_release(db, st);
  }
  store__pg_rrelease(impl, db);
  if (rc != STREAM_OK) {
    free(arr);
    return rc;
  }
  *out = arr;
  *out_count = n;
  return STREAM_OK;
}

/* ---- ratings ---------------------------------------------------------------- */

static int rt_put(void *impl, const char *profile_id, const char *title_id, int value, int64_t now)
{
  pg_conn *db;
  PG_TRY(store__pg_wbegin_unlocked(impl, &db));
  int rc = store__pg_exec(db, "rate title", NULL,
                          "INSERT INTO ratings (profile_id, title_id, value, updated_at) "
                          "VALUES (?, ?, ?, ?) ON CONFLICT (profile_id, title_id) DO UPDATE SET "
                          "value = excluded.value, updated_at = excluded.updated_at",
                          "ttiI", profile_id, title_id, value, now);
  return store__pg_wend(impl, db, rc);
}

static int rt_delete(void *impl, const char *profile_id, const char *title_id)
{
  pg_conn *db;
  PG_TRY(store__pg_wbegin_unlocked(impl, &db));
  int rc = store__pg_exec(db, "clear rating", NULL,
                          "DELETE FROM ratings WHERE profile_id = ? AND title_id = ?", "tt",
                          profile_id, title_id);
  return store__pg_wend(impl, db, rc);
}

static int rt_get(void *impl, int *out_value, const char *profile_id, const char *title_id)
{
  const char *what = "get rating";
  pg_conn *db = store__pg_racquire(impl);
  pg_stmt *st;
  int rc = store__pg_prepare(db, &st, what,
                             "SELECT value FROM ratings WHERE profile_id = ? AND title_id = ?",
                             "tt", profile_id, title_id);
  if (rc == STREAM_OK) {
    *out_value = store__pg_step(db, st, what) == 1 ? store__pg_col_int(st, 0) : 0;
    store__pg_release(db, st);
  }
  store__pg_rrelease(impl, db);
  return rc;
}

const struct stream_store_viewing_ops store__pg_viewing_ops = {
    .progress_upsert = prog_upsert,
    .progress_get = prog_get,
    .continue_watching = prog_continue,
    .mylist_add = ml_add,
    .mylist_remove = ml_remove,
    .mylist_list = ml_list,
    .rating_put = rt_put,
    .rating_delete = rt_delete,
    .rating_get = rt_get,
};
