/* Unit tests of the publish order of assets (public API through the shared
 * library, over a real SQLite store in a temporary directory, injected clock):
 * the conditional publish stream_jobs_asset_ready_if() (compare-and-swap on
 * the title's current asset), publishes in the same second, concurrent
 * publishers built on the same asset, and the migration of a database made
 * before the publish order existed (raw SQLite only to recreate that schema).
 * Under tests/pg/pg_run.sh the same cases run on PostgreSQL, except the
 * migration case (a PostgreSQL store starts at the schema with the order). */
#include <check.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../store_path.h"
#include "stream/jobs.h"

#define T0 1700000000

static char tmpdir[256];
static char dbpath[300];
static stream_store *store;
static stream_jobs *jobs;
static int64_t clock_now;

static int64_t fake_clock(void *ud)
{
  return *(int64_t *)ud;
}

static void open_all(void)
{
  char uri[512];
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  so.path = test_store_path(uri, sizeof uri, dbpath);
  ck_assert_int_eq(stream_store_open(&store, &so), STREAM_OK);
  stream_jobs_options o = STREAM_JOBS_OPTIONS_INIT;
  o.store = store;
  o.now = fake_clock;
  o.now_userdata = &clock_now;
  ck_assert_int_eq(stream_jobs_new(&jobs, &o), STREAM_OK);
}

static void close_all(void)
{
  stream_jobs_free(jobs);
  jobs = NULL;
  stream_store_close(store);
  store = NULL;
}

static void setup(void)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/stream-publish-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  snprintf(dbpath, sizeof dbpath, "%s/db.sqlite", tmpdir);
  clock_now = T0;
  open_all();
}

static void teardown(void)
{
  close_all();
  const char *files[] = {"db.sqlite", "db.sqlite-wal", "db.sqlite-shm", "db.sqlite-journal"};
  char path[300];
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
    remove(path);
  }
  rmdir(tmpdir);
}

static void make_title(char *id)
{
  stream_store_title t;
  memset(&t, 0, sizeof t);
  t.kind = STREAM_STORE_TITLE_MOVIE;
  t.name = "Big Buck";
  ck_assert_int_eq(stream_store_title_create(id, store, &t, T0), STREAM_OK);
}

/* The id of the current asset of the title (movie level), "" when none. */
static void current(char *out, const char *title, const char *episode)
{
  stream_asset a;
  int rc = stream_jobs_asset_for_title(&a, jobs, title, episode);
  ck_assert(rc == STREAM_OK || rc == STREAM_ENOTFOUND);
  snprintf(out, STREAM_JOBS_ID_SIZE, "%s", rc == STREAM_OK ? a.id : "");
  stream_asset_clear(&a);
}

static int status_of(const char *id)
{
  stream_asset a;
  ck_assert_int_eq(stream_jobs_asset_get(&a, jobs, id), STREAM_OK);
  int s = a.status;
  stream_asset_clear(&a);
  return s;
}

START_TEST(test_ready_if_compare_and_swap)
{
  char title[STREAM_STORE_ID_SIZE], a1[STREAM_JOBS_ID_SIZE], a2[STREAM_JOBS_ID_SIZE],
      a3[STREAM_JOBS_ID_SIZE], e1[STREAM_JOBS_ID_SIZE], cur[STREAM_JOBS_ID_SIZE];
  make_title(title);
  ck_assert_int_eq(stream_jobs_asset_create(a1, jobs, title, NULL, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(stream_jobs_asset_create(a2, jobs, title, NULL, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(stream_jobs_asset_create(a3, jobs, title, NULL, NULL, NULL), STREAM_OK);

  /* the first asset of a title: expected "none" (NULL or "") */
  ck_assert_int_eq(stream_jobs_asset_ready_if(jobs, a1, "{\"v\":1}", NULL), STREAM_OK);
  current(cur, title, NULL);
  ck_assert_str_eq(cur, a1);

  /* built on "no asset", but a1 was published meanwhile: refused, nothing changed */
  clock_now += 3;
  ck_assert_int_eq(stream_jobs_asset_ready_if(jobs, a2, "{\"v\":2}", ""), STREAM_ECONFLICT);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, a1));
  ck_assert_int_eq(status_of(a2), STREAM_ASSET_PROCESSING);
  current(cur, title, NULL);
  ck_assert_str_eq(cur, a1);

  /* built on the current asset: published, and now current */
  ck_assert_int_eq(stream_jobs_asset_ready_if(jobs, a2, "{\"v\":2}", a1), STREAM_OK);
  current(cur, title, NULL);
  ck_assert_str_eq(cur, a2);
  stream_asset a;
  ck_assert_int_eq(stream_jobs_asset_get(&a, jobs, a2), STREAM_OK);
  ck_assert_str_eq(a.summary, "{\"v\":2}");
  ck_assert_int_eq(a.ready_at, T0 + 3);
  stream_asset_clear(&a);

  /* a3 was built on a1, a2 was published in between: the reverse race is refused and
   * the message names the current asset */
  ck_assert_int_eq(stream_jobs_asset_ready_if(jobs, a3, "{\"v\":3}", a1), STREAM_ECONFLICT);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, a2));
  ck_assert_int_eq(status_of(a3), STREAM_ASSET_PROCESSING);
  current(cur, title, NULL);
  ck_assert_str_eq(cur, a2);

  /* a retried publish of an asset already ready succeeds and does not move it on top */
  ck_assert_int_eq(stream_jobs_asset_ready_if(jobs, a1, "{\"v\":9}", NULL), STREAM_OK);
  current(cur, title, NULL);
  ck_assert_str_eq(cur, a2);
  ck_assert_int_eq(stream_jobs_asset_get(&a, jobs, a1), STREAM_OK);
  ck_assert_str_eq(a.summary, "{\"v\":1}");
  stream_asset_clear(&a);

  /* an episode has its own current asset */
  ck_assert_int_eq(stream_jobs_asset_create(e1, jobs, title, "ep1", NULL, NULL), STREAM_OK);
  ck_assert_int_eq(stream_jobs_asset_ready_if(jobs, e1, NULL, a2), STREAM_ECONFLICT);
  ck_assert_int_eq(stream_jobs_asset_ready_if(jobs, e1, NULL, NULL), STREAM_OK);
  current(cur, title, "ep1");
  ck_assert_str_eq(cur, e1);
  current(cur, title, NULL);
  ck_assert_str_eq(cur, a2);

  /* arguments */
  ck_assert_int_eq(stream_jobs_asset_ready_if(NULL, a3, NULL, a2), STREAM_EINVAL);
  ck_assert_int_eq(stream_jobs_asset_ready_if(jobs, NULL, NULL, a2), STREAM_EINVAL);
  ck_assert_int_eq(stream_jobs_asset_ready_if(jobs, a3, NULL, "bad id"), STREAM_EINVAL);
  ck_assert_int_eq(stream_jobs_asset_ready_if(jobs, a3, "{bad", a2), STREAM_EINVAL);
  ck_assert_int_eq(stream_jobs_asset_ready_if(jobs, "nope", NULL, a2), STREAM_ENOTFOUND);
  ck_assert_int_eq(status_of(a3), STREAM_ASSET_PROCESSING);
}
END_TEST

/* ready_at has whole seconds: the publish order, not the creation order, decides. */
START_TEST(test_same_second_later_publish_wins)
{
  char title[STREAM_STORE_ID_SIZE], a1[STREAM_JOBS_ID_SIZE], a2[STREAM_JOBS_ID_SIZE],
      a3[STREAM_JOBS_ID_SIZE], cur[STREAM_JOBS_ID_SIZE];
  make_title(title);
  ck_assert_int_eq(stream_jobs_asset_create(a1, jobs, title, NULL, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(stream_jobs_asset_create(a2, jobs, title, NULL, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(stream_jobs_asset_create(a3, jobs, title, NULL, NULL, NULL), STREAM_OK);
  clock_now = T0 + 10; /* every publish below in the same second */
  ck_assert_int_eq(stream_jobs_asset_ready(jobs, a2, NULL), STREAM_OK);
  ck_assert_int_eq(stream_jobs_asset_ready(jobs, a1, NULL), STREAM_OK);
  current(cur, title, NULL);
  ck_assert_str_eq(cur, a1); /* created first, published last */
  /* the conditional publish sees the same order */
  ck_assert_int_eq(stream_jobs_asset_ready_if(jobs, a3, NULL, a2), STREAM_ECONFLICT);
  ck_assert_int_eq(stream_jobs_asset_ready_if(jobs, a3, NULL, a1), STREAM_OK);
  current(cur, title, NULL);
  ck_assert_str_eq(cur, a3);
  /* an unconditional publish of an older asset puts it back on top */
  ck_assert_int_eq(stream_jobs_asset_ready(jobs, a2, NULL), STREAM_OK);
  current(cur, title, NULL);
  ck_assert_str_eq(cur, a2);
}
END_TEST

#define RACERS 6

typedef struct racer {
  char id[STREAM_JOBS_ID_SIZE];
  const char *base;
  int rc;
} racer;

static void *race(void *arg)
{
  racer *r = arg;
  r->rc = stream_jobs_asset_ready_if(jobs, r->id, NULL, r->base);
  return NULL;
}

/* Publishers that all built on the same asset: exactly one wins, whatever the timing. */
START_TEST(test_concurrent_publishers_one_wins)
{
  char title[STREAM_STORE_ID_SIZE], base[STREAM_JOBS_ID_SIZE], cur[STREAM_JOBS_ID_SIZE];
  make_title(title);
  ck_assert_int_eq(stream_jobs_asset_create(base, jobs, title, NULL, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(stream_jobs_asset_ready(jobs, base, NULL), STREAM_OK);
  racer r[RACERS];
  pthread_t th[RACERS];
  for (int i = 0; i < RACERS; i++) {
    ck_assert_int_eq(stream_jobs_asset_create(r[i].id, jobs, title, NULL, NULL, NULL), STREAM_OK);
    r[i].base = base;
    r[i].rc = 1;
  }
  for (int i = 0; i < RACERS; i++)
    ck_assert_int_eq(pthread_create(&th[i], NULL, race, &r[i]), 0);
  int won = -1, lost = 0;
  for (int i = 0; i < RACERS; i++) {
    pthread_join(th[i], NULL);
    if (r[i].rc == STREAM_OK) {
      ck_assert_int_eq(won, -1);
      won = i;
    } else {
      ck_assert_int_eq(r[i].rc, STREAM_ECONFLICT);
      ck_assert_int_eq(status_of(r[i].id), STREAM_ASSET_PROCESSING);
      lost++;
    }
  }
  ck_assert_int_ge(won, 0);
  ck_assert_int_eq(lost, RACERS - 1);
  current(cur, title, NULL);
  ck_assert_str_eq(cur, r[won].id);
}
END_TEST

static void exec_raw(const char *sql)
{
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
  char *err = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK)
    ck_abort_msg("%s: %s", sql, err ? err : "?");
  sqlite3_close(db);
}

static int64_t int_raw(const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
  ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

/* A database of the schema version before the publish order, with ready assets written then,
 * migrates: each ready asset gets its rank in the old order (ready_at, created_at, rowid), so
 * the current asset of every title is unchanged, and new publishes go on top. */
START_TEST(test_migrates_old_database)
{
  if (test_store_is_pg()) {
    /* The old schema is SQLite's past: a PostgreSQL store begins with publish_seq. */
    printf("test_migrates_old_database: skipped on PostgreSQL (SQLite migration)\n");
    return;
  }
  char title[STREAM_STORE_ID_SIZE], other[STREAM_STORE_ID_SIZE], cur[STREAM_JOBS_ID_SIZE];
  make_title(title);
  make_title(other);
  int version = 0;
  ck_assert_int_eq(stream_store_schema_version(&version, store), STREAM_OK);
  close_all();
  /* Back to schema version 12, the one before the publish order: without the column and its
   * indexes (migration 13), and without what later migrations added (14: the pending password
   * reset requests; 15: the rate-limit buckets; 16: the QoE rebuild marks and the index of ended
   * views). */
  char sql[2048];
  snprintf(sql, sizeof sql,
           "DROP INDEX assets_current; DROP INDEX assets_publish_seq;"
           "ALTER TABLE assets DROP COLUMN publish_seq;"
           "DROP TABLE password_reset_requests;"
           "DROP TABLE rate_buckets;"
           "DROP TABLE qoe_rebuild; DROP INDEX event_log_view_end;"
           "DELETE FROM schema_version WHERE version >= 13;"
           /* ready_at ties broken by creation, creation ties by rowid; p is processing */
           "INSERT INTO assets (id, title_id, status, dir, created_at, ready_at) VALUES"
           " ('old-a', '%s', 2, 'old-a', 10, 100),"
           " ('old-c', '%s', 2, 'old-c', 7, 200),"
           " ('old-b', '%s', 2, 'old-b', 5, 200),"
           " ('old-p', '%s', 1, 'old-p', 50, 0),"
           " ('oth-1', '%s', 2, 'oth-1', 1, 300),"
           " ('oth-2', '%s', 2, 'oth-2', 1, 300);",
           title, title, title, title, other, other);
  exec_raw(sql);
  ck_assert_int_eq(int_raw("SELECT count(*) FROM pragma_table_info('assets') "
                           "WHERE name = 'publish_seq'"),
                   0);
  open_all();
  int v2 = 0;
  ck_assert_int_eq(stream_store_schema_version(&v2, store), STREAM_OK);
  ck_assert_int_eq(v2, version);
  /* the old current assets are still current */
  current(cur, title, NULL);
  ck_assert_str_eq(cur, "old-c");
  current(cur, other, NULL);
  ck_assert_str_eq(cur, "oth-2");
  /* ranks in the old order; the processing asset has none */
  ck_assert_int_lt(int_raw("SELECT publish_seq FROM assets WHERE id = 'old-a'"),
                   int_raw("SELECT publish_seq FROM assets WHERE id = 'old-b'"));
  ck_assert_int_lt(int_raw("SELECT publish_seq FROM assets WHERE id = 'old-b'"),
                   int_raw("SELECT publish_seq FROM assets WHERE id = 'old-c'"));
  ck_assert_int_lt(int_raw("SELECT publish_seq FROM assets WHERE id = 'oth-1'"),
                   int_raw("SELECT publish_seq FROM assets WHERE id = 'oth-2'"));
  ck_assert_int_eq(int_raw("SELECT publish_seq FROM assets WHERE id = 'old-p'"), 0);
  /* a publish after the migration, at an older clock than every ready_at, goes on top */
  clock_now = 50;
  ck_assert_int_eq(stream_jobs_asset_ready_if(jobs, "old-p", NULL, "old-b"), STREAM_ECONFLICT);
  ck_assert_int_eq(stream_jobs_asset_ready_if(jobs, "old-p", NULL, "old-c"), STREAM_OK);
  current(cur, title, NULL);
  ck_assert_str_eq(cur, "old-p");
  current(cur, other, NULL);
  ck_assert_str_eq(cur, "oth-2");
}
END_TEST

static Suite *publish_suite(void)
{
  Suite *s = suite_create("jobs-publish");
  TCase *tc = tcase_create("publish");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_ready_if_compare_and_swap);
  tcase_add_test(tc, test_same_second_later_publish_wins);
  tcase_add_test(tc, test_concurrent_publishers_one_wins);
  tcase_add_test(tc, test_migrates_old_database);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(publish_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
