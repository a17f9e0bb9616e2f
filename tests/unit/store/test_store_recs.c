/*
 * The recommendations reads of the store (store_recs.h): signals aggregated
 * per (profile, title) from QoE views, resume positions, My List and
 * ratings, and the titles' filter attributes. Progress and My List go
 * through the public store API; QoE view rows and ratings are inserted with
 * raw SQL on a second connection (store_raw.h: QoE rows are the consumer's
 * output and have no public writer), so every expected number is known
 * exactly. The SQLite store in a temporary directory, or, run by
 * tests/pg/pg_run.sh, a PostgreSQL database (store_path.h).
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../store_path.h"
#include "../store_raw.h"
#include "store/store_recs.h"

static char tmpdir[256];
static char dbpath[300];
static stream_store *store;

#define OK(expr) ck_assert_msg((expr) == STREAM_OK, "%s: %s", #expr, stream_error_last()->message)

static void setup(void)
{
  const char *base = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/stream-recs-XXXXXX", base && *base ? base : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  snprintf(dbpath, sizeof dbpath, "%s/store.db", tmpdir);
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  char uri[512];
  o.path = test_store_path(uri, sizeof uri, dbpath);
  OK(stream_store_open(&store, &o));
}

static void teardown(void)
{
  stream_store_close(store);
  const char *suffix[] = {"", "-wal", "-shm", "-journal"};
  char p[320];
  for (int i = 0; i < 4; i++) {
    snprintf(p, sizeof p, "%s%s", dbpath, suffix[i]);
    unlink(p);
  }
  rmdir(tmpdir);
}

static void sql(const char *text)
{
  ck_assert_int_eq(test_store_raw_exec(dbpath, text), 1);
}

static void profile(const char *account_id, const char *id, const char *name)
{
  stream_store_profile p = {0};
  snprintf(p.id, sizeof p.id, "%s", id);
  snprintf(p.account_id, sizeof p.account_id, "%s", account_id);
  snprintf(p.name, sizeof p.name, "%s", name);
  p.maturity_ceiling = 18;
  OK(stream_store_profile_create(NULL, store, &p, 1000));
}

static void title(const char *id, int kind, int runtime, int maturity, int64_t from, int64_t until,
                  const char **regions, size_t nregions)
{
  stream_store_title t = {0};
  snprintf(t.id, sizeof t.id, "%s", id);
  t.kind = kind;
  t.name = (char *)id;
  t.runtime = runtime;
  t.maturity_rating = maturity;
  t.available_from = from;
  t.available_until = until;
  t.regions = (char **)regions;
  t.region_count = nregions;
  char out[STREAM_STORE_ID_SIZE];
  OK(stream_store_title_create(out, store, &t, 1000));
}

static void progress(const char *pid, const char *tid, const char *eid, int64_t pos, int64_t dur,
                     int64_t now)
{
  stream_store_progress p = {0};
  snprintf(p.profile_id, sizeof p.profile_id, "%s", pid);
  snprintf(p.title_id, sizeof p.title_id, "%s", tid);
  snprintf(p.episode_id, sizeof p.episode_id, "%s", eid);
  p.position_ms = pos;
  p.duration_ms = dur;
  OK(stream_store_progress_upsert(store, &p, now));
}

/* A QoE view row as the consumer writes it, owned by account `aid` (its sender's); last_ts in
 * milliseconds. */
static void qoe_view_of(const char *view_id, const char *aid, const char *pid, const char *tid,
                        int64_t watch_ms, int ended, int64_t last_ts_ms)
{
  char *q = sqlite3_mprintf(
      "INSERT INTO qoe_views (view_id, account_id, profile_id, title_id, day, start_ts, last_ts,"
      " last_seq, events, requested, started, failed, start_failed, ended, startup_ms, watch_ms,"
      " playing_ms, rebuffer_count, rebuffer_ms, peak_br, br_ms, br_sum, updated_at)"
      " VALUES (%Q, %Q, %Q, %Q, '2001-09-09', %lld, %lld, 1, 3, 1, 1, 0, 0, %d, 500, %lld, %lld,"
      " 0, 0, 0, 0, 0, 1)",
      view_id, aid, pid, tid, (long long)(last_ts_ms - watch_ms), (long long)last_ts_ms, ended,
      (long long)watch_ms, (long long)watch_ms);
  sql(q);
  sqlite3_free(q);
}

/* A QoE view of account acct1, whose profiles pA, pB and pC are. */
static void qoe_view(const char *view_id, const char *pid, const char *tid, int64_t watch_ms,
                     int ended, int64_t last_ts_ms)
{
  qoe_view_of(view_id, "acct1", pid, tid, watch_ms, ended, last_ts_ms);
}

static void rating(const char *pid, const char *tid, int value, int64_t at)
{
  char *q = sqlite3_mprintf("INSERT INTO ratings (profile_id, title_id, value, updated_at)"
                            " VALUES (%Q, %Q, %d, %lld)",
                            pid, tid, value, (long long)at);
  sql(q);
  sqlite3_free(q);
}

/*
 * pA: tMovie  two QoE views (1000 ms, 2000 ms ended; last at 1000050000 and
 *             1000400500 ms), progress 30/60 s at 1000100, thumbs down at 1000300
 *     tSeries two episodes' progress (60/60 at 1000150, 15/60 at 1000160),
 *             in My List since 1000200
 * pB: tSeries thumbs up at 2000000
 * Left out: an anonymous view (profile ''), a view of a title that never
 * existed, a view and a rating of deleted profile pC, a view of deleted title
 * tGone, whose progress, list entry and rating go with it; views of account
 * acct2 naming pA and pB (an hour of tMovie each: what an account-level
 * token could once send for another account's profiles) and an unknown
 * account's view naming pA.
 */
static void fill(void)
{
  stream_store_account a = {0};
  snprintf(a.id, sizeof a.id, "acct1");
  snprintf(a.email, sizeof a.email, "a@example.com");
  OK(stream_store_account_create(NULL, store, &a, 1000));
  profile("acct1", "pA", "A");
  profile("acct1", "pB", "B");
  profile("acct1", "pC", "C");
  const char *movie_regions[] = {"US", "FR"};
  title("tMovie", STREAM_STORE_TITLE_MOVIE, 100, 7, 500, 0, movie_regions, 2);
  title("tSeries", STREAM_STORE_TITLE_SERIES, 45, 12, 0, 9000, NULL, 0);
  const char *gone_regions[] = {"DE"};
  title("tGone", STREAM_STORE_TITLE_MOVIE, 90, 0, 0, 0, gone_regions, 1);
  char season[STREAM_STORE_ID_SIZE], ep1[STREAM_STORE_ID_SIZE], ep2[STREAM_STORE_ID_SIZE];
  OK(stream_store_season_create(season, store, "tSeries", 1));
  stream_store_episode e = {0};
  snprintf(e.season_id, sizeof e.season_id, "%s", season);
  e.name = "one";
  e.number = 1;
  OK(stream_store_episode_create(ep1, store, &e));
  e.name = "two";
  e.number = 2;
  OK(stream_store_episode_create(ep2, store, &e));

  qoe_view("v1", "pA", "tMovie", 1000, 0, INT64_C(1000050000));
  qoe_view("v2", "pA", "tMovie", 2000, 1, INT64_C(1000400500));
  progress("pA", "tMovie", "", 30000, 60000, 1000100);
  rating("pA", "tMovie", -1, 1000300);
  progress("pA", "tSeries", ep1, 60000, 60000, 1000150);
  progress("pA", "tSeries", ep2, 15000, 60000, 1000160);
  OK(stream_store_mylist_add(store, "pA", "tSeries", 1000200));
  rating("pB", "tSeries", 1, 2000000);

  qoe_view("v3", "", "tMovie", 5000, 1, INT64_C(3000000000));
  qoe_view("v4", "pB", "tNever", 5000, 1, INT64_C(3000000000));
  qoe_view("v5", "pC", "tMovie", 5000, 1, INT64_C(3000000000));
  rating("pC", "tMovie", 1, 3000000);
  qoe_view("v6", "pA", "tGone", 5000, 1, INT64_C(3000000000));
  progress("pA", "tGone", "", 1000, 2000, 3000000);
  OK(stream_store_mylist_add(store, "pA", "tGone", 3000000));
  rating("pA", "tGone", 1, 3000000);
  OK(stream_store_profile_delete(store, "pC"));
  OK(stream_store_title_delete(store, "tGone"));

  stream_store_account m = {0};
  snprintf(m.id, sizeof m.id, "acct2");
  snprintf(m.email, sizeof m.email, "m@example.com");
  OK(stream_store_account_create(NULL, store, &m, 1000));
  profile("acct2", "pM", "M");
  qoe_view_of("v7", "acct2", "pA", "tMovie", 3600000, 1, INT64_C(3000000000));
  qoe_view_of("v8", "acct2", "pB", "tMovie", 3600000, 1, INT64_C(3000000000));
  qoe_view_of("v9", "nosuch", "pA", "tSeries", 3600000, 1, INT64_C(3000000000));
}

static void check_pa_movie(const store__recs_signal *s)
{
  ck_assert_str_eq(s->profile_id, "pA");
  ck_assert_str_eq(s->title_id, "tMovie");
  ck_assert_int_eq(s->watch_ms, 3000);
  ck_assert_int_eq(s->views, 2);
  ck_assert_int_eq(s->ended_views, 1);
  ck_assert_double_eq_tol(s->progress_max, 0.5, 1e-12);
  ck_assert_double_eq_tol(s->progress_sum, 0.5, 1e-12);
  ck_assert_int_eq(s->progress_rows, 1);
  ck_assert_int_eq(s->in_list, 0);
  ck_assert_int_eq(s->rating, -1);
  ck_assert_int_eq(s->last_ts, 1000400); /* the second view, ms -> s */
}

static void check_pb_series(const store__recs_signal *s)
{
  ck_assert_str_eq(s->profile_id, "pB");
  ck_assert_str_eq(s->title_id, "tSeries");
  ck_assert_int_eq(s->watch_ms, 0);
  ck_assert_int_eq(s->views, 0);
  ck_assert_int_eq(s->ended_views, 0);
  ck_assert_double_eq_tol(s->progress_max, 0.0, 1e-12);
  ck_assert_int_eq(s->progress_rows, 0);
  ck_assert_int_eq(s->in_list, 0);
  ck_assert_int_eq(s->rating, 1);
  ck_assert_int_eq(s->last_ts, 2000000);
}

START_TEST(test_signals_all_profiles)
{
  fill();
  store__recs_signal *sig = NULL;
  size_t n = 0;
  OK(store->backend->recs->signals(store->impl, &sig, &n, ""));
  ck_assert_uint_eq(n, 3);
  check_pa_movie(&sig[0]);
  const store__recs_signal *s = &sig[1];
  ck_assert_str_eq(s->profile_id, "pA");
  ck_assert_str_eq(s->title_id, "tSeries");
  ck_assert_int_eq(s->watch_ms, 0);
  ck_assert_int_eq(s->views, 0);
  ck_assert_double_eq_tol(s->progress_max, 1.0, 1e-12);
  ck_assert_double_eq_tol(s->progress_sum, 1.25, 1e-12);
  ck_assert_int_eq(s->progress_rows, 2);
  ck_assert_int_eq(s->in_list, 1);
  ck_assert_int_eq(s->rating, 0);
  ck_assert_int_eq(s->last_ts, 1000200);
  check_pb_series(&sig[2]);
  free(sig);
}
END_TEST

START_TEST(test_signals_one_profile)
{
  fill();
  store__recs_signal *sig = NULL;
  size_t n = 0;
  OK(store->backend->recs->signals(store->impl, &sig, &n, "pB"));
  ck_assert_uint_eq(n, 1);
  check_pb_series(&sig[0]);
  free(sig);

  /* A deleted profile's QoE rows stay in the table but give no signal. */
  OK(store->backend->recs->signals(store->impl, &sig, &n, "pC"));
  ck_assert_ptr_null(sig);
  ck_assert_uint_eq(n, 0);
  OK(store->backend->recs->signals(store->impl, &sig, &n, "nosuch"));
  ck_assert_ptr_null(sig);
  ck_assert_uint_eq(n, 0);
}
END_TEST

/* Another account's views naming a profile are no signal of that profile (nor of the sender's
 * own profiles): the home screen of pA reads what pA's account watched only. */
START_TEST(test_signals_other_accounts_views)
{
  fill();
  store__recs_signal *sig = NULL;
  size_t n = 0;
  OK(store->backend->recs->signals(store->impl, &sig, &n, "pA"));
  ck_assert_uint_eq(n, 2);
  check_pa_movie(&sig[0]);
  ck_assert_str_eq(sig[1].title_id, "tSeries");
  ck_assert_int_eq(sig[1].watch_ms, 0);
  ck_assert_int_eq(sig[1].views, 0);
  ck_assert_int_eq(sig[1].last_ts, 1000200);
  free(sig);
  OK(store->backend->recs->signals(store->impl, &sig, &n, "pM"));
  ck_assert_ptr_null(sig);
  ck_assert_uint_eq(n, 0);

  /* The same account's view of pA counts. */
  qoe_view_of("v10", "acct1", "pA", "tSeries", 7000, 0, INT64_C(3000000000));
  OK(store->backend->recs->signals(store->impl, &sig, &n, "pA"));
  ck_assert_uint_eq(n, 2);
  ck_assert_int_eq(sig[1].watch_ms, 7000);
  ck_assert_int_eq(sig[1].views, 1);
  free(sig);
}
END_TEST

START_TEST(test_signals_progress_clamped)
{
  fill();
  /* A position reported past the duration counts as 1. */
  progress("pB", "tMovie", "", 90000, 60000, 2500000);
  store__recs_signal *sig = NULL;
  size_t n = 0;
  OK(store->backend->recs->signals(store->impl, &sig, &n, "pB"));
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(sig[0].title_id, "tMovie");
  ck_assert_double_eq_tol(sig[0].progress_max, 1.0, 1e-12);
  ck_assert_double_eq_tol(sig[0].progress_sum, 1.0, 1e-12);
  ck_assert_int_eq(sig[0].last_ts, 2500000);
  ck_assert_str_eq(sig[1].title_id, "tSeries");
  free(sig);
}
END_TEST

START_TEST(test_signals_empty)
{
  store__recs_signal *sig = (store__recs_signal *)&sig;
  size_t n = 7;
  OK(store->backend->recs->signals(store->impl, &sig, &n, ""));
  ck_assert_ptr_null(sig);
  ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_titles)
{
  fill();
  const char *one[] = {"GB"};
  title("tKids", STREAM_STORE_TITLE_MOVIE, 0, 0, 0, 0, one, 1);
  store__recs_title *t = NULL;
  size_t n = 0;
  OK(store->backend->recs->titles(store->impl, &t, &n));
  ck_assert_uint_eq(n, 3); /* tGone was deleted */
  ck_assert_str_eq(t[0].id, "tKids");
  ck_assert_str_eq(t[0].regions, "GB");
  ck_assert_str_eq(t[1].id, "tMovie");
  ck_assert_int_eq(t[1].kind, STREAM_STORE_TITLE_MOVIE);
  ck_assert_int_eq(t[1].runtime, 100);
  ck_assert_int_eq(t[1].maturity_rating, 7);
  ck_assert_int_eq(t[1].available_from, 500);
  ck_assert_int_eq(t[1].available_until, 0);
  ck_assert_str_eq(t[1].regions, "FR,US");
  ck_assert_str_eq(t[2].id, "tSeries");
  ck_assert_int_eq(t[2].kind, STREAM_STORE_TITLE_SERIES);
  ck_assert_int_eq(t[2].runtime, 45);
  ck_assert_int_eq(t[2].maturity_rating, 12);
  ck_assert_int_eq(t[2].available_from, 0);
  ck_assert_int_eq(t[2].available_until, 9000);
  ck_assert_str_eq(t[2].regions, "");
  store__recs_titles_free(t, n);
  store__recs_titles_free(NULL, 0);
}
END_TEST

START_TEST(test_titles_empty)
{
  store__recs_title *t = (store__recs_title *)&t;
  size_t n = 7;
  OK(store->backend->recs->titles(store->impl, &t, &n));
  ck_assert_ptr_null(t);
  ck_assert_uint_eq(n, 0);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("store-recs");
  TCase *tc = tcase_create(test_store_is_pg() ? "postgres" : "sqlite");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_signals_all_profiles);
  tcase_add_test(tc, test_signals_one_profile);
  tcase_add_test(tc, test_signals_other_accounts_views);
  tcase_add_test(tc, test_signals_progress_clamped);
  tcase_add_test(tc, test_signals_empty);
  tcase_add_test(tc, test_titles);
  tcase_add_test(tc, test_titles_empty);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
