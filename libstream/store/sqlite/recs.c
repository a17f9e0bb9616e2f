/*
 * SQLite backend: what the recommendations service reads (store_recs.h).
 * Signals come from one aggregate statement: the four sources (QoE views,
 * resume positions, My List, ratings) are brought to one column layout,
 * concatenated with UNION ALL and grouped per (profile, title), so the pairs
 * arrive sorted and a pair appears once whatever mix of sources it has.
 * Timestamps are normalised to Unix seconds: QoE views keep the player's
 * client_ts in milliseconds, the other tables store seconds.
 */
#include <stdlib.h>
#include <string.h>

#include "../store_recs.h"
#include "sqlite_internal.h"

/* ?1 the profile id, NULL = every profile. Progress fractions are clamped to
 * 0..1 (a player may report a position past the duration). Rows of deleted
 * profiles or titles are dropped (QoE views have no foreign keys; anonymous
 * views have profile_id ''). A QoE view counts for its profile only when the
 * view's account (its owner, from the sender's credential) is the profile's
 * account: another account's view naming the profile is no signal of it. */
static const char sql_signals[] =
    "SELECT s.profile_id, s.title_id, sum(s.watch_ms), sum(s.views), sum(s.ended),"
    " max(s.pmax), sum(s.psum), sum(s.prows), max(s.in_list), sum(s.rating), max(s.ts)"
    " FROM ("
    "  SELECT profile_id, title_id, watch_ms, 1 AS views, ended, 0.0 AS pmax, 0.0 AS psum,"
    "   0 AS prows, 0 AS in_list, 0 AS rating, last_ts / 1000 AS ts"
    "   FROM qoe_views v WHERE (?1 IS NULL OR v.profile_id = ?1)"
    "    AND EXISTS (SELECT 1 FROM profiles p"
    "     WHERE p.id = v.profile_id AND p.account_id = v.account_id)"
    "  UNION ALL"
    "  SELECT profile_id, title_id, 0, 0, 0,"
    "   min(1.0, max(0.0, CAST(position_ms AS REAL) / duration_ms)),"
    "   min(1.0, max(0.0, CAST(position_ms AS REAL) / duration_ms)), 1, 0, 0, updated_at"
    "   FROM progress WHERE ?1 IS NULL OR profile_id = ?1"
    "  UNION ALL"
    "  SELECT profile_id, title_id, 0, 0, 0, 0.0, 0.0, 0, 1, 0, added_at"
    "   FROM my_list WHERE ?1 IS NULL OR profile_id = ?1"
    "  UNION ALL"
    "  SELECT profile_id, title_id, 0, 0, 0, 0.0, 0.0, 0, 0, value, updated_at"
    "   FROM ratings WHERE ?1 IS NULL OR profile_id = ?1"
    " ) s"
    " WHERE EXISTS (SELECT 1 FROM profiles p WHERE p.id = s.profile_id)"
    "  AND EXISTS (SELECT 1 FROM titles t WHERE t.id = s.title_id)"
    " GROUP BY s.profile_id, s.title_id ORDER BY s.profile_id, s.title_id";

/* One row per (title, region), a title without regions once with NULL:
 * a title's rows are consecutive. */
static const char sql_titles[] =
    "SELECT t.id, t.kind, t.runtime, t.maturity_rating, t.available_from, t.available_until,"
    " r.region FROM titles t LEFT JOIN title_regions r ON r.title_id = t.id"
    " ORDER BY t.id, r.region";

static int grow(void **arr, size_t *cap, size_t n, size_t size, const char *what)
{
  if (n < *cap)
    return STREAM_OK;
  size_t ncap = *cap ? *cap * 2 : 64;
  void *p = realloc(*arr, ncap * size);
  if (!p)
    return stream__err(STREAM_ENOMEM, "%s: out of memory", what);
  *arr = p;
  *cap = ncap;
  return STREAM_OK;
}

static int rc_signals(void *impl, store__recs_signal **out, size_t *out_count,
                      const char *profile_id)
{
  const char *what = "read recommendation signals";
  *out = NULL;
  *out_count = 0;
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  store__recs_signal *arr = NULL;
  size_t n = 0, cap = 0;
  int rc = store__sq_prepare(db, &st, what, sql_signals, "T", profile_id);
  if (rc == STREAM_OK) {
    int r = 0;
    while (rc == STREAM_OK && (r = store__sq_step(db, st, what)) == 1) {
      rc = grow((void **)&arr, &cap, n, sizeof *arr, what);
      if (rc != STREAM_OK)
        break;
      store__recs_signal *s = &arr[n++];
      memset(s, 0, sizeof *s);
      store__sq_col_copy(s->profile_id, sizeof s->profile_id, st, 0);
      store__sq_col_copy(s->title_id, sizeof s->title_id, st, 1);
      s->watch_ms = store__sq_col_i64(st, 2);
      s->views = store__sq_col_i64(st, 3);
      s->ended_views = store__sq_col_i64(st, 4);
      s->progress_max = sqlite3_column_double(st, 5);
      s->progress_sum = sqlite3_column_double(st, 6);
      s->progress_rows = store__sq_col_i64(st, 7);
      s->in_list = sqlite3_column_int(st, 8) ? 1 : 0;
      int v = sqlite3_column_int(st, 9);
      s->rating = v > 0 ? 1 : v < 0 ? -1 : 0;
      s->last_ts = store__sq_col_i64(st, 10);
    }
    if (rc == STREAM_OK && r < 0)
      rc = r;
    store__sq_release(db, st);
  }
  store__sq_rrelease(impl, db);
  if (rc != STREAM_OK || n == 0) {
    free(arr);
    return rc;
  }
  *out = arr;
  *out_count = n;
  return STREAM_OK;
}

/* Append `region` to the title's comma-joined list. */
static int add_region(store__recs_title *t, const char *region, const char *what)
{
  size_t have = t->regions ? strlen(t->regions) : 0, add = strlen(region);
  char *p = realloc(t->regions, have + (have ? 1 : 0) + add + 1);
  if (!p)
    return stream__err(STREAM_ENOMEM, "%s: out of memory", what);
  if (have)
    p[have++] = ',';
  memcpy(p + have, region, add + 1);
  t->regions = p;
  return STREAM_OK;
}

static int rc_titles(void *impl, store__recs_title **out, size_t *out_count)
{
  const char *what = "read recommendation titles";
  *out = NULL;
  *out_count = 0;
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  store__recs_title *arr = NULL;
  size_t n = 0, cap = 0;
  int rc = store__sq_prepare(db, &st, what, sql_titles, "");
  if (rc == STREAM_OK) {
    int r = 0;
    while (rc == STREAM_OK && (r = store__sq_step(db, st, what)) == 1) {
      const char *id = (const char *)sqlite3_column_text(st, 0);
      if (!n || !id || strcmp(arr[n - 1].id, id) != 0) {
        rc = grow((void **)&arr, &cap, n, sizeof *arr, what);
        if (rc != STREAM_OK)
          break;
        store__recs_title *t = &arr[n++];
        memset(t, 0, sizeof *t);
        store__sq_col_copy(t->id, sizeof t->id, st, 0);
        t->kind = sqlite3_column_int(st, 1);
        t->runtime = sqlite3_column_int(st, 2);
        t->maturity_rating = sqlite3_column_int(st, 3);
        t->available_from = store__sq_col_i64(st, 4);
        t->available_until = store__sq_col_i64(st, 5);
        t->regions = calloc(1, 1);
        if (!t->regions) {
          rc = stream__err(STREAM_ENOMEM, "%s: out of memory", what);
          break;
        }
      }
      const char *region = (const char *)sqlite3_column_text(st, 6);
      if (region)
        rc = add_region(&arr[n - 1], region, what);
    }
    if (rc == STREAM_OK && r < 0)
      rc = r;
    store__sq_release(db, st);
  }
  store__sq_rrelease(impl, db);
  if (rc != STREAM_OK || n == 0) {
    store__recs_titles_free(arr, n);
    return rc;
  }
  *out = arr;
  *out_count = n;
  return STREAM_OK;
}

const struct stream_store_recs_ops store__sq_recs_ops = {
    .signals = rc_signals,
    .titles = rc_titles,
};
