/* Unit tests of stream_jobs_counts() (public API only, through the shared
 * library) over a real SQLite store in a temporary directory, with an
 * injected clock: exact counts per kind and status as jobs move through the
 * queue, the status filter, argument checks and the row cap. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../store_path.h"
#include "stream/jobs.h"

#define T0 1700000000

static char tmpdir[256];
static stream_store *store;
static stream_jobs *jobs;
static int64_t clock_now;

static int64_t fake_clock(void *ud)
{
  return *(int64_t *)ud;
}

static void setup(void)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/stream-jobs-counts-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  char path[300], uri[512];
  snprintf(path, sizeof path, "%s/db.sqlite", tmpdir);
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  so.path = test_store_path(uri, sizeof uri, path);
  ck_assert_int_eq(stream_store_open(&store, &so), STREAM_OK);
  clock_now = T0;
  stream_jobs_options o = STREAM_JOBS_OPTIONS_INIT;
  o.store = store;
  o.max_attempts = 1; /* a failure is final */
  o.now = fake_clock;
  o.now_userdata = &clock_now;
  ck_assert_int_eq(stream_jobs_new(&jobs, &o), STREAM_OK);
}

static void teardown(void)
{
  stream_jobs_free(jobs);
  jobs = NULL;
  stream_store_close(store);
  store = NULL;
  const char *files[] = {"db.sqlite", "db.sqlite-wal", "db.sqlite-shm", "db.sqlite-journal"};
  char path[300];
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
    remove(path);
  }
  rmdir(tmpdir);
}

static void enqueue(char *id, const char *kind)
{
  int created = 0;
  ck_assert_int_eq(stream_jobs_enqueue(id, &created, jobs, kind, "{}", NULL, 0), STREAM_OK);
  ck_assert_int_eq(created, 1);
}

/* Claim the oldest runnable job of `kind` (its id must be `want`). */
static void claim(const char *kind, const char *want)
{
  stream_job j;
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w1", kind), STREAM_OK);
  ck_assert_str_eq(j.id, want);
  stream_job_clear(&j);
}

/* The rows of stream_jobs_counts() as "kind:status=count;..." (ordered as returned). */
static void counts_text(char *buf, size_t cap, const int *statuses, size_t n)
{
  stream_jobs_count *rows = (stream_jobs_count *)1; /* must be overwritten */
  size_t count = 99;
  ck_assert_int_eq(stream_jobs_counts(&rows, &count, jobs, statuses, n), STREAM_OK);
  buf[0] = '\0';
  for (size_t i = 0; i < count; i++) {
    size_t used = strlen(buf);
    snprintf(buf + used, cap - used, "%s:%s=%lld;", rows[i].kind,
             stream_job_status_name(rows[i].status), (long long)rows[i].count);
  }
  if (count == 0)
    ck_assert_ptr_null(rows);
  stream_free(rows);
}

START_TEST(test_counts_follow_the_queue)
{
  char buf[512];
  counts_text(buf, sizeof buf, NULL, 0);
  ck_assert_str_eq(buf, "");

  char t1[STREAM_JOBS_ID_SIZE], t2[STREAM_JOBS_ID_SIZE], t3[STREAM_JOBS_ID_SIZE];
  char s1[STREAM_JOBS_ID_SIZE], s2[STREAM_JOBS_ID_SIZE];
  enqueue(t1, "transcode");
  clock_now++;
  enqueue(t2, "transcode");
  clock_now++;
  enqueue(t3, "transcode");
  enqueue(s1, "subtitles");
  clock_now++;
  enqueue(s2, "subtitles");
  counts_text(buf, sizeof buf, NULL, 0);
  ck_assert_str_eq(buf, "subtitles:queued=2;transcode:queued=3;");

  claim("transcode", t1);
  ck_assert_int_eq(stream_jobs_complete(jobs, t1, "w1", NULL), STREAM_OK);
  claim("transcode", t2);
  int st = 0;
  ck_assert_int_eq(stream_jobs_fail(&st, jobs, t2, "w1", "bad input", 1), STREAM_OK);
  ck_assert_int_eq(st, STREAM_JOB_FAILED);
  claim("transcode", t3);
  ck_assert_int_eq(stream_jobs_cancel(jobs, s2), STREAM_OK);
  counts_text(buf, sizeof buf, NULL, 0);
  ck_assert_str_eq(buf, "subtitles:queued=1;subtitles:canceled=1;"
                        "transcode:running=1;transcode:succeeded=1;transcode:failed=1;");

  /* Only the statuses asked for; repeats count once. */
  const int live[] = {STREAM_JOB_QUEUED, STREAM_JOB_RUNNING, STREAM_JOB_FAILED,
                      STREAM_JOB_CANCELED};
  counts_text(buf, sizeof buf, live, 4);
  ck_assert_str_eq(buf, "subtitles:queued=1;subtitles:canceled=1;"
                        "transcode:running=1;transcode:failed=1;");
  const int succeeded[] = {STREAM_JOB_SUCCEEDED, STREAM_JOB_SUCCEEDED};
  counts_text(buf, sizeof buf, succeeded, 2);
  ck_assert_str_eq(buf, "transcode:succeeded=1;");
  const int running[] = {STREAM_JOB_RUNNING};
  counts_text(buf, sizeof buf, running, 1);
  ck_assert_str_eq(buf, "transcode:running=1;");
  /* Every status listed is the same as none. */
  const int all[] = {1, 2, 3, 4, 5};
  char every[512];
  counts_text(every, sizeof every, NULL, 0);
  counts_text(buf, sizeof buf, all, 5);
  ck_assert_str_eq(buf, every);

  /* A job that ends moves from one count to another. */
  ck_assert_int_eq(stream_jobs_complete(jobs, t3, "w1", NULL), STREAM_OK);
  counts_text(buf, sizeof buf, running, 1);
  ck_assert_str_eq(buf, "");
  counts_text(buf, sizeof buf, succeeded, 1);
  ck_assert_str_eq(buf, "transcode:succeeded=2;");
}
END_TEST

START_TEST(test_counts_arguments)
{
  stream_jobs_count *rows = NULL;
  size_t n = 7;
  const int ok[] = {STREAM_JOB_QUEUED};
  ck_assert_int_eq(stream_jobs_counts(NULL, &n, jobs, ok, 1), STREAM_EINVAL);
  ck_assert_uint_eq(n, 0);
  ck_assert_int_eq(stream_jobs_counts(&rows, NULL, jobs, ok, 1), STREAM_EINVAL);
  rows = (stream_jobs_count *)1;
  ck_assert_int_eq(stream_jobs_counts(&rows, &n, NULL, ok, 1), STREAM_EINVAL);
  ck_assert_ptr_null(rows);
  ck_assert_str_ne(stream_error_last()->message, "");
  ck_assert_int_eq(stream_jobs_counts(&rows, &n, jobs, NULL, 1), STREAM_EINVAL);
  const int six[] = {1, 2, 3, 4, 5, 1};
  ck_assert_int_eq(stream_jobs_counts(&rows, &n, jobs, six, 6), STREAM_EINVAL);
  const int bad[] = {STREAM_JOB_QUEUED, 0};
  ck_assert_int_eq(stream_jobs_counts(&rows, &n, jobs, bad, 2), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "status 0"));
  const int big[] = {6};
  ck_assert_int_eq(stream_jobs_counts(&rows, &n, jobs, big, 1), STREAM_EINVAL);
  ck_assert_int_eq(stream_jobs_counts(&rows, &n, jobs, NULL, 0), STREAM_OK);
  ck_assert_uint_eq(n, 0);
  ck_assert_ptr_null(rows);
}
END_TEST

START_TEST(test_counts_cap)
{
  /* STREAM_JOBS_LIST_MAX + 1 kinds: more pairs than one call returns. */
  char id[STREAM_JOBS_ID_SIZE], kind[STREAM_JOBS_KIND_SIZE];
  for (int i = 0; i <= STREAM_JOBS_LIST_MAX; i++) {
    snprintf(kind, sizeof kind, "k%04d", i);
    enqueue(id, kind);
  }
  stream_jobs_count *rows = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_jobs_counts(&rows, &n, jobs, NULL, 0), STREAM_ERANGE);
  ck_assert_ptr_null(rows);
  ck_assert_uint_eq(n, 0);
  /* Exactly the cap is fine. */
  stream_job j;
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w1", "k0000"), STREAM_OK);
  stream_job_clear(&j);
  const int queued[] = {STREAM_JOB_QUEUED};
  ck_assert_int_eq(stream_jobs_counts(&rows, &n, jobs, queued, 1), STREAM_OK);
  ck_assert_uint_eq(n, STREAM_JOBS_LIST_MAX);
  ck_assert_str_eq(rows[0].kind, "k0001");
  ck_assert_int_eq(rows[0].count, 1);
  stream_free(rows);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("jobs_counts");
  TCase *tc = tcase_create("counts");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_counts_follow_the_queue);
  tcase_add_test(tc, test_counts_arguments);
  tcase_add_test(tc, test_counts_cap);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
