/* Unit tests for the jobs module (public API only, through the shared
 * library) over a real SQLite store in a temporary directory, with an
 * injected clock: queue order, leases and reclaim, retries with backoff,
 * de-duplication, cancel, concurrent claimers, the worker pool and assets. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../store_path.h"
#include "../store_raw.h"
#include "stream/jobs.h"

#define T0 1700000000

static char tmpdir[256];
static stream_store *store;
static stream_jobs *jobs;
static int64_t clock_now;
static pthread_mutex_t clock_lock = PTHREAD_MUTEX_INITIALIZER;

static int64_t fake_clock(void *ud)
{
  pthread_mutex_lock(&clock_lock);
  int64_t v = *(int64_t *)ud;
  pthread_mutex_unlock(&clock_lock);
  return v;
}

static void advance(int64_t s)
{
  pthread_mutex_lock(&clock_lock);
  clock_now += s;
  pthread_mutex_unlock(&clock_lock);
}

static void open_jobs(int lease, int attempts, int backoff, int cap)
{
  stream_jobs_options o = STREAM_JOBS_OPTIONS_INIT;
  o.store = store;
  o.lease_seconds = lease;
  o.max_attempts = attempts;
  o.backoff_seconds = backoff;
  o.backoff_max_seconds = cap;
  o.now = fake_clock;
  o.now_userdata = &clock_now;
  ck_assert_int_eq(stream_jobs_new(&jobs, &o), STREAM_OK);
}

static void setup(void)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/stream-jobs-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  char path[300], uri[512];
  snprintf(path, sizeof path, "%s/db.sqlite", tmpdir);
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  so.path = test_store_path(uri, sizeof uri, path);
  ck_assert_int_eq(stream_store_open(&store, &so), STREAM_OK);
  clock_now = T0;
  open_jobs(60, 3, 10, 25);
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

static void enqueue(char *id, const char *payload, const char *key)
{
  int created = -1;
  ck_assert_int_eq(stream_jobs_enqueue(id, &created, jobs, "transcode", payload, key, 0),
                   STREAM_OK);
  ck_assert_int_eq(created, 1);
}

START_TEST(test_enqueue_get_and_dedup)
{
  char a[STREAM_JOBS_ID_SIZE], b[STREAM_JOBS_ID_SIZE];
  enqueue(a, "{\"upload\":\"u1\"}", "u1");
  int created = -1;
  ck_assert_int_eq(stream_jobs_enqueue(b, &created, jobs, "transcode", "{}", "u1", 0), STREAM_OK);
  ck_assert_int_eq(created, 0);
  ck_assert_str_eq(a, b);
  /* The same key under another kind is another job. */
  ck_assert_int_eq(stream_jobs_enqueue(b, &created, jobs, "thumbs", "{}", "u1", 0), STREAM_OK);
  ck_assert_int_eq(created, 1);
  ck_assert_str_ne(a, b);
  stream_job j;
  ck_assert_int_eq(stream_jobs_get(&j, jobs, a), STREAM_OK);
  ck_assert_str_eq(j.kind, "transcode");
  ck_assert_str_eq(j.dedup_key, "u1");
  ck_assert_str_eq(j.payload, "{\"upload\":\"u1\"}");
  ck_assert_int_eq(j.status, STREAM_JOB_QUEUED);
  ck_assert_int_eq(j.attempts, 0);
  ck_assert_int_eq(j.max_attempts, 3);
  ck_assert_int_eq(j.created_at, T0);
  ck_assert_ptr_null(j.result);
  ck_assert_ptr_null(j.error);
  stream_job_clear(&j);
  ck_assert_int_eq(stream_jobs_get(&j, jobs, "nope"), STREAM_ENOTFOUND);
  stream_job *list = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_jobs_list(&list, &n, jobs, 0, 10), STREAM_OK);
  ck_assert_uint_eq(n, 2);
  stream_job_list_free(list, n);
  ck_assert_int_eq(stream_jobs_list(&list, &n, jobs, STREAM_JOB_SUCCEEDED, 10), STREAM_OK);
  ck_assert_uint_eq(n, 0);
  ck_assert_ptr_null(list);
  ck_assert_str_eq(stream_job_status_name(STREAM_JOB_RUNNING), "running");
  ck_assert_ptr_null(stream_job_status_name(42));
}
END_TEST

START_TEST(test_bad_arguments)
{
  char id[STREAM_JOBS_ID_SIZE];
  ck_assert_int_eq(stream_jobs_enqueue(id, NULL, jobs, "Bad Kind", "{}", NULL, 0), STREAM_EINVAL);
  ck_assert(strstr(stream_error_last()->message, "kind") != NULL);
  ck_assert_int_eq(stream_jobs_enqueue(id, NULL, jobs, "", "{}", NULL, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_jobs_enqueue(id, NULL, jobs, "k", "{not json", NULL, 0), STREAM_EINVAL);
  /* One JSON value and nothing after it but JSON whitespace: payloads, results, summaries. */
  ck_assert_int_eq(stream_jobs_enqueue(id, NULL, jobs, "k", "{} x", NULL, 0), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "job payload"));
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "offset 3"));
  ck_assert_int_eq(stream_jobs_enqueue(id, NULL, jobs, "k", "{\"a\":1}{\"a\":2}", NULL, 0),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_jobs_enqueue(id, NULL, jobs, "k", "[1] ]", NULL, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_jobs_enqueue(id, NULL, jobs, "k", "{}", NULL, 101), STREAM_EINVAL);
  ck_assert_int_eq(stream_jobs_enqueue(NULL, NULL, jobs, "k", "{}", NULL, 0), STREAM_EINVAL);
  stream_job j;
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "has space", NULL), STREAM_EINVAL);
  stream_job *list;
  size_t n;
  ck_assert_int_eq(stream_jobs_list(&list, &n, jobs, 9, 10), STREAM_EINVAL);
  ck_assert_int_eq(stream_jobs_list(&list, &n, jobs, 0, 0), STREAM_EINVAL);
  stream_jobs *other = NULL;
  stream_jobs_options o = STREAM_JOBS_OPTIONS_INIT;
  ck_assert_int_eq(stream_jobs_new(&other, &o), STREAM_EINVAL); /* no store */
  o.store = store;
  o.lease_seconds = -1;
  ck_assert_int_eq(stream_jobs_new(&other, &o), STREAM_EINVAL);
  o.lease_seconds = 0;
  o.version = 99;
  ck_assert_int_eq(stream_jobs_new(&other, &o), STREAM_EINVAL);
  ck_assert_ptr_null(other);
}
END_TEST

START_TEST(test_claim_order_and_run_after)
{
  char a[STREAM_JOBS_ID_SIZE], b[STREAM_JOBS_ID_SIZE], c[STREAM_JOBS_ID_SIZE];
  enqueue(a, "{}", NULL);
  advance(1);
  enqueue(b, "{}", NULL);
  enqueue(c, "{}", NULL); /* same second as b: insertion order */
  stream_job j;
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w1", NULL), STREAM_OK);
  ck_assert_str_eq(j.id, a);
  ck_assert_int_eq(j.status, STREAM_JOB_RUNNING);
  ck_assert_int_eq(j.attempts, 1);
  ck_assert_str_eq(j.worker, "w1");
  ck_assert_int_eq(j.lease_until, clock_now + 60);
  stream_job_clear(&j);
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w1", NULL), STREAM_OK);
  ck_assert_str_eq(j.id, b);
  stream_job_clear(&j);
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w1", "other-kind"), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w1", "transcode"), STREAM_OK);
  ck_assert_str_eq(j.id, c);
  stream_job_clear(&j);
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w1", NULL), STREAM_ENOTFOUND);
}
END_TEST

START_TEST(test_lease_expiry_reclaims)
{
  char a[STREAM_JOBS_ID_SIZE];
  enqueue(a, "{}", NULL);
  stream_job j;
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "dead", NULL), STREAM_OK);
  stream_job_clear(&j);
  /* Within the lease nobody else gets it; a heartbeat extends it. */
  advance(50);
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w2", NULL), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_jobs_heartbeat(jobs, a, "dead", 0.25), STREAM_OK);
  advance(50);
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w2", NULL), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_jobs_get(&j, jobs, a), STREAM_OK);
  ck_assert_double_eq_tol(j.progress, 0.25, 1e-9);
  ck_assert_int_eq(j.lease_until, T0 + 50 + 60);
  stream_job_clear(&j);
  /* The worker dies: after lease_until the job is claimable again. */
  advance(10);
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w2", NULL), STREAM_ENOTFOUND); /* == lease_until */
  advance(1);
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w2", NULL), STREAM_OK);
  ck_assert_str_eq(j.id, a);
  ck_assert_int_eq(j.attempts, 2);
  ck_assert_str_eq(j.worker, "w2");
  stream_job_clear(&j);
  /* The old worker has lost it. */
  ck_assert_int_eq(stream_jobs_heartbeat(jobs, a, "dead", 0.5), STREAM_ECONFLICT);
  ck_assert_int_eq(stream_jobs_complete(jobs, a, "dead", NULL), STREAM_ECONFLICT);
  ck_assert_int_eq(stream_jobs_complete(jobs, a, "w2", "{\"ok\":true}"), STREAM_OK);
  ck_assert_int_eq(stream_jobs_get(&j, jobs, a), STREAM_OK);
  ck_assert_int_eq(j.status, STREAM_JOB_SUCCEEDED);
  ck_assert_str_eq(j.result, "{\"ok\":true}");
  ck_assert_double_eq(j.progress, 1.0);
  ck_assert_int_eq(j.finished_at, clock_now);
  stream_job_clear(&j);
  ck_assert_int_eq(stream_jobs_complete(jobs, a, "w2", NULL), STREAM_ECONFLICT);
}
END_TEST

START_TEST(test_retry_backoff_then_failed)
{
  char a[STREAM_JOBS_ID_SIZE];
  enqueue(a, "{}", NULL); /* max 3 attempts, backoff 10 s doubling, cap 25 s */
  stream_job j;
  int status = 0;
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w", NULL), STREAM_OK);
  stream_job_clear(&j);
  ck_assert_int_eq(stream_jobs_fail(&status, jobs, a, "w", "decoder exploded", 1), STREAM_OK);
  ck_assert_int_eq(status, STREAM_JOB_QUEUED);
  ck_assert_int_eq(stream_jobs_get(&j, jobs, a), STREAM_OK);
  ck_assert_int_eq(j.run_after, clock_now + 10);
  ck_assert_str_eq(j.error, "decoder exploded");
  stream_job_clear(&j);
  advance(9);
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w", NULL), STREAM_ENOTFOUND);
  advance(1);
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w", NULL), STREAM_OK);
  ck_assert_int_eq(j.attempts, 2);
  stream_job_clear(&j);
  ck_assert_int_eq(stream_jobs_fail(&status, jobs, a, "w", "again", 1), STREAM_OK);
  ck_assert_int_eq(status, STREAM_JOB_QUEUED);
  ck_assert_int_eq(stream_jobs_get(&j, jobs, a), STREAM_OK);
  ck_assert_int_eq(j.run_after, clock_now + 20);
  stream_job_clear(&j);
  advance(20);
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w", NULL), STREAM_OK);
  ck_assert_int_eq(j.attempts, 3);
  stream_job_clear(&j);
  ck_assert_int_eq(stream_jobs_fail(&status, jobs, a, "w", "third time", 1), STREAM_OK);
  ck_assert_int_eq(status, STREAM_JOB_FAILED);
  ck_assert_int_eq(stream_jobs_get(&j, jobs, a), STREAM_OK);
  ck_assert_int_eq(j.status, STREAM_JOB_FAILED);
  ck_assert_str_eq(j.error, "third time");
  ck_assert_int_eq(j.finished_at, clock_now);
  stream_job_clear(&j);
  advance(1000);
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w", NULL), STREAM_ENOTFOUND);
}
END_TEST

START_TEST(test_backoff_cap_and_final_failure)
{
  stream_jobs_free(jobs);
  open_jobs(60, 10, 10, 25);
  char a[STREAM_JOBS_ID_SIZE];
  enqueue(a, "{}", NULL);
  stream_job j;
  int64_t want[] = {10, 20, 25, 25};
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w", NULL), STREAM_OK);
    stream_job_clear(&j);
    ck_assert_int_eq(stream_jobs_fail(NULL, jobs, a, "w", "x", 1), STREAM_OK);
    ck_assert_int_eq(stream_jobs_get(&j, jobs, a), STREAM_OK);
    ck_assert_int_eq(j.run_after - clock_now, want[i]);
    stream_job_clear(&j);
    advance(want[i]);
  }
  /* retry 0: failed for good whatever attempts are left */
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w", NULL), STREAM_OK);
  stream_job_clear(&j);
  int status = 0;
  ck_assert_int_eq(stream_jobs_fail(&status, jobs, a, "w", "bad input", 0), STREAM_OK);
  ck_assert_int_eq(status, STREAM_JOB_FAILED);
}
END_TEST

START_TEST(test_lease_lost_at_last_attempt_fails)
{
  char a[STREAM_JOBS_ID_SIZE];
  ck_assert_int_eq(stream_jobs_enqueue(a, NULL, jobs, "transcode", "{}", NULL, 1), STREAM_OK);
  stream_job j;
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w1", NULL), STREAM_OK);
  stream_job_clear(&j);
  advance(61);
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w2", NULL), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_jobs_get(&j, jobs, a), STREAM_OK);
  ck_assert_int_eq(j.status, STREAM_JOB_FAILED);
  ck_assert(strstr(j.error, "lost its lease") != NULL);
  stream_job_clear(&j);
}
END_TEST

START_TEST(test_cancel_and_release)
{
  char a[STREAM_JOBS_ID_SIZE], b[STREAM_JOBS_ID_SIZE], c[STREAM_JOBS_ID_SIZE];
  enqueue(a, "{}", NULL);
  enqueue(b, "{}", NULL);
  enqueue(c, "{}", NULL);
  ck_assert_int_eq(stream_jobs_cancel(jobs, a), STREAM_OK); /* queued: canceled at once */
  stream_job j;
  ck_assert_int_eq(stream_jobs_get(&j, jobs, a), STREAM_OK);
  ck_assert_int_eq(j.status, STREAM_JOB_CANCELED);
  stream_job_clear(&j);
  ck_assert_int_eq(stream_jobs_cancel(jobs, a), STREAM_ECONFLICT);
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w", NULL), STREAM_OK);
  ck_assert_str_eq(j.id, b);
  stream_job_clear(&j);
  /* running: the worker learns at its heartbeat, and failing ends it canceled */
  ck_assert_int_eq(stream_jobs_cancel(jobs, b), STREAM_OK);
  ck_assert_int_eq(stream_jobs_heartbeat(jobs, b, "w", 0.1), STREAM_ECANCELED);
  int status = 0;
  ck_assert_int_eq(stream_jobs_fail(&status, jobs, b, "w", "canceled", 1), STREAM_OK);
  ck_assert_int_eq(status, STREAM_JOB_CANCELED);
  /* release gives the job back without counting the attempt */
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w", NULL), STREAM_OK);
  ck_assert_str_eq(j.id, c);
  ck_assert_int_eq(j.attempts, 1);
  stream_job_clear(&j);
  ck_assert_int_eq(stream_jobs_release(jobs, c, "other"), STREAM_ECONFLICT);
  ck_assert_int_eq(stream_jobs_release(jobs, c, "w"), STREAM_OK);
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w2", NULL), STREAM_OK);
  ck_assert_str_eq(j.id, c);
  ck_assert_int_eq(j.attempts, 1);
  stream_job_clear(&j);
  ck_assert_int_eq(stream_jobs_cancel(jobs, "missing"), STREAM_ENOTFOUND);
}
END_TEST

#define CLAIMERS 6
#define CLAIM_JOBS 120

static char claimed[CLAIMERS][CLAIM_JOBS][STREAM_JOBS_ID_SIZE];
static int claimed_n[CLAIMERS];

static void *claimer(void *arg)
{
  int me = (int)(intptr_t)arg;
  char worker[32];
  snprintf(worker, sizeof worker, "w%d", me);
  for (;;) {
    stream_job j;
    int rc = stream_jobs_claim(&j, jobs, worker, NULL);
    if (rc == STREAM_ENOTFOUND)
      break;
    if (rc != STREAM_OK)
      continue; /* busy: try again */
    memcpy(claimed[me][claimed_n[me]++], j.id, STREAM_JOBS_ID_SIZE);
    stream_jobs_complete(jobs, j.id, worker, NULL);
    stream_job_clear(&j);
  }
  return NULL;
}

static int cmp_id(const void *a, const void *b)
{
  return strcmp(a, b);
}

START_TEST(test_concurrent_claimers_never_share)
{
  for (int i = 0; i < CLAIM_JOBS; i++) {
    char id[STREAM_JOBS_ID_SIZE];
    enqueue(id, "{}", NULL);
  }
  pthread_t t[CLAIMERS];
  for (int i = 0; i < CLAIMERS; i++)
    ck_assert_int_eq(pthread_create(&t[i], NULL, claimer, (void *)(intptr_t)i), 0);
  for (int i = 0; i < CLAIMERS; i++)
    pthread_join(t[i], NULL);
  static char all[CLAIM_JOBS * CLAIMERS][STREAM_JOBS_ID_SIZE];
  size_t n = 0;
  for (int i = 0; i < CLAIMERS; i++)
    for (int k = 0; k < claimed_n[i]; k++)
      memcpy(all[n++], claimed[i][k], STREAM_JOBS_ID_SIZE);
  ck_assert_uint_eq(n, CLAIM_JOBS);
  qsort(all, n, STREAM_JOBS_ID_SIZE, cmp_id);
  for (size_t i = 1; i < n; i++)
    ck_assert_str_ne(all[i - 1], all[i]);
  stream_job *list = NULL;
  ck_assert_int_eq(stream_jobs_list(&list, &n, jobs, STREAM_JOB_SUCCEEDED, 1000), STREAM_OK);
  ck_assert_uint_eq(n, CLAIM_JOBS);
  stream_job_list_free(list, n);
}
END_TEST

/* ---- pool ------------------------------------------------------------------ */

typedef struct pool_state {
  pthread_mutex_t lock;
  int handled;
  int started_blocking;
  int mode;      /* 0 complete, 1 fail final, 2 block until canceled */
  int timed_out; /* mode 2: stream_jobs_ctx_timed_out() once told to stop */
  int stop_seen; /* mode 2: told to stop */
} pool_state;

static int handler(stream_jobs_ctx *ctx, const stream_job *job, void *ud)
{
  pool_state *s = ud;
  pthread_mutex_lock(&s->lock);
  int mode = s->mode;
  pthread_mutex_unlock(&s->lock);
  if (mode == 2) {
    pthread_mutex_lock(&s->lock);
    s->started_blocking = 1;
    pthread_mutex_unlock(&s->lock);
    while (stream_jobs_ctx_progress(ctx, 0.5) == STREAM_OK)
      usleep(2000);
    ck_assert_int_eq(stream_jobs_ctx_canceled(ctx), 1);
    pthread_mutex_lock(&s->lock);
    s->timed_out = stream_jobs_ctx_timed_out(ctx);
    s->stop_seen = 1;
    pthread_mutex_unlock(&s->lock);
    return STREAM_ECANCELED;
  }
  ck_assert_int_eq(stream_jobs_ctx_progress(ctx, 0.3), STREAM_OK);
  pthread_mutex_lock(&s->lock);
  s->handled++;
  pthread_mutex_unlock(&s->lock);
  if (mode == 1) {
    stream_jobs_ctx_set_error(ctx, "unsupported input", 0);
    return STREAM_EMEDIA;
  }
  char result[128];
  snprintf(result, sizeof result, "{\"echo\":%s}", job->payload);
  ck_assert_int_eq(stream_jobs_ctx_set_result(ctx, result), STREAM_OK);
  return STREAM_OK;
}

static int count_status(int status)
{
  stream_job *list = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_jobs_list(&list, &n, jobs, status, 1000), STREAM_OK);
  stream_job_list_free(list, n);
  return (int)n;
}

/* Enqueue a job into b[] for `pool`, whose handler is in mode 2, and wait until the handler runs
 * it (blocking until told to stop). */
static void enqueue_blocking(stream_jobs_pool *pool, pool_state *s, char *b)
{
  enqueue(b, "{}", NULL);
  stream_jobs_pool_wake(pool);
  for (;;) {
    pthread_mutex_lock(&s->lock);
    int started = s->started_blocking;
    pthread_mutex_unlock(&s->lock);
    if (started)
      break;
    usleep(2000);
  }
}

START_TEST(test_pool_runs_fails_and_stops)
{
  pool_state s = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 0, 0, 0};
  stream_jobs_pool_options po = STREAM_JOBS_POOL_OPTIONS_INIT;
  po.threads = 3;
  po.handler = handler;
  po.userdata = &s;
  po.poll_ms = 10;
  stream_jobs_pool *pool = NULL;
  ck_assert_int_eq(stream_jobs_pool_start(&pool, jobs, &po), STREAM_OK);
  char ids[10][STREAM_JOBS_ID_SIZE];
  for (int i = 0; i < 10; i++) {
    char payload[32];
    snprintf(payload, sizeof payload, "{\"n\":%d}", i);
    enqueue(ids[i], payload, NULL);
  }
  stream_jobs_pool_wake(pool);
  while (count_status(STREAM_JOB_SUCCEEDED) < 10)
    usleep(5000);
  stream_job j;
  ck_assert_int_eq(stream_jobs_get(&j, jobs, ids[4]), STREAM_OK);
  ck_assert_str_eq(j.result, "{\"echo\":{\"n\":4}}");
  ck_assert(strncmp(j.worker, "worker-", 7) == 0);
  stream_job_clear(&j);

  /* a final failure keeps the handler's error */
  pthread_mutex_lock(&s.lock);
  s.mode = 1;
  pthread_mutex_unlock(&s.lock);
  char f[STREAM_JOBS_ID_SIZE];
  enqueue(f, "{}", NULL);
  stream_jobs_pool_wake(pool);
  while (count_status(STREAM_JOB_FAILED) < 1)
    usleep(5000);
  ck_assert_int_eq(stream_jobs_get(&j, jobs, f), STREAM_OK);
  ck_assert_str_eq(j.error, "unsupported input");
  ck_assert_int_eq(j.attempts, 1);
  stream_job_clear(&j);

  /* stopping releases a running job back to the queue, attempt not counted */
  pthread_mutex_lock(&s.lock);
  s.mode = 2;
  pthread_mutex_unlock(&s.lock);
  char b[STREAM_JOBS_ID_SIZE];
  enqueue_blocking(pool, &s, b);
  stream_jobs_pool_stop(pool);
  ck_assert_int_eq(stream_jobs_get(&j, jobs, b), STREAM_OK);
  ck_assert_int_eq(j.status, STREAM_JOB_QUEUED);
  ck_assert_int_eq(j.attempts, 0);
  stream_job_clear(&j);
  stream_jobs_pool_stop(NULL);
}
END_TEST

START_TEST(test_pool_cancel_reaches_handler)
{
  stream_jobs_free(jobs);
  open_jobs(1, 3, 1, 1); /* lease 1 s: the keeper heartbeats every ~333 ms */
  pool_state s = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 2, 0, 0};
  stream_jobs_pool_options po = STREAM_JOBS_POOL_OPTIONS_INIT;
  po.handler = handler;
  po.userdata = &s;
  po.poll_ms = 10;
  po.worker_prefix = "tc";
  stream_jobs_pool *pool = NULL;
  ck_assert_int_eq(stream_jobs_pool_start(&pool, jobs, &po), STREAM_OK);
  char b[STREAM_JOBS_ID_SIZE];
  enqueue_blocking(pool, &s, b);
  ck_assert_int_eq(stream_jobs_cancel(jobs, b), STREAM_OK);
  while (count_status(STREAM_JOB_CANCELED) < 1)
    usleep(5000);
  stream_jobs_pool_stop(pool);
  stream_job j;
  ck_assert_int_eq(stream_jobs_get(&j, jobs, b), STREAM_OK);
  ck_assert_int_eq(j.status, STREAM_JOB_CANCELED);
  ck_assert_int_eq(s.timed_out, 0);               /* a cancel is not a timeout */
  ck_assert_double_eq_tol(j.progress, 0.5, 1e-9); /* the keeper sent the handler's progress */
  stream_job_clear(&j);
}
END_TEST

/* A handler that never finishes (mode 2: reports progress until told to stop) is stopped at
 * the pool's runtime limit through the cancellation path, and its job fails for good with an
 * error naming the limit (no retry, although attempts are left). */
START_TEST(test_pool_runtime_limit)
{
  pool_state s = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 2, 0, 0};
  stream_jobs_pool_options po = STREAM_JOBS_POOL_OPTIONS_INIT;
  ck_assert_uint_eq(po.max_runtime_seconds, 0); /* default: no limit */
  po.handler = handler;
  po.userdata = &s;
  po.poll_ms = 10;
  po.max_runtime_seconds = 1;
  stream_jobs_pool *pool = NULL;
  ck_assert_int_eq(stream_jobs_pool_start(&pool, jobs, &po), STREAM_OK);
  char b[STREAM_JOBS_ID_SIZE];
  enqueue(b, "{}", NULL);
  stream_jobs_pool_wake(pool);
  for (int i = 0; i < 1000 && count_status(STREAM_JOB_FAILED) < 1; i++) /* at most ~10 s */
    usleep(10000);
  stream_jobs_pool_stop(pool);
  stream_job j;
  ck_assert_int_eq(stream_jobs_get(&j, jobs, b), STREAM_OK);
  ck_assert_msg(j.status == STREAM_JOB_FAILED, "job is %s, not failed",
                stream_job_status_name(j.status));
  ck_assert_int_eq(j.attempts, 1);  /* max_attempts 3, yet not retried */
  ck_assert_int_eq(s.timed_out, 1); /* the handler could tell it was the limit */
  ck_assert_int_eq(stream_jobs_ctx_timed_out(NULL), 0);
  ck_assert_ptr_nonnull(j.error);
  ck_assert_msg(strstr(j.error, "exceeded its runtime limit of 1 s") != NULL, "error: %s", j.error);
  stream_job_clear(&j);

  /* A version-1 options struct (no max_runtime_seconds field) is still accepted. */
  stream_jobs_pool_options v1 = STREAM_JOBS_POOL_OPTIONS_INIT;
  v1.version = 1;
  v1.handler = handler;
  v1.userdata = &s;
  ck_assert_int_eq(stream_jobs_pool_start(&pool, jobs, &v1), STREAM_OK);
  stream_jobs_pool_stop(pool);
  v1.version = 3;
  ck_assert_int_eq(stream_jobs_pool_start(&pool, jobs, &v1), STREAM_EINVAL);
}
END_TEST

/* A pool whose heartbeats do not get through (the store is locked by another connection: as a
 * worker cut off from the database would see) stops the handler once the lease would end before
 * its next heartbeat, so the job never runs on two workers: after the lease another worker may
 * claim it. With a short busy timeout each heartbeat fails at once; with a long one the
 * keeper's heartbeat hangs (as on an unreachable PostgreSQL server), and the handler's own
 * calls must see the lease running out. One failed or hanging heartbeat with time left on the
 * lease does not stop it. */
static void stops_before_lease_runs_out(unsigned int busy_timeout_ms)
{
  stream_jobs_free(jobs);
  stream_store_close(store);
  char path[300], uri[512];
  snprintf(path, sizeof path, "%s/db.sqlite", tmpdir);
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  so.path = test_store_path(uri, sizeof uri, path);
  so.busy_timeout_ms = busy_timeout_ms;
  ck_assert_int_eq(stream_store_open(&store, &so), STREAM_OK);
  open_jobs(3, 3, 1, 1); /* lease 3 s: the keeper heartbeats every second (real time) */
  pool_state s = {PTHREAD_MUTEX_INITIALIZER, 0, 0, 2, 0, 0};
  stream_jobs_pool_options po = STREAM_JOBS_POOL_OPTIONS_INIT;
  po.handler = handler;
  po.userdata = &s;
  po.poll_ms = 10;
  stream_jobs_pool *pool = NULL;
  ck_assert_int_eq(stream_jobs_pool_start(&pool, jobs, &po), STREAM_OK);
  char b[STREAM_JOBS_ID_SIZE];
  enqueue_blocking(pool, &s, b);
  /* Claimed at T0: the lease ends at T0 + 3 on the jobs clock, which stands still. */
  test_store_raw_conn *lock = test_store_raw_open(
      path, test_store_is_pg() ? "BEGIN; LOCK TABLE jobs IN EXCLUSIVE MODE" : "BEGIN IMMEDIATE");
  usleep(2500 * 1000); /* heartbeats fail or hang, with 3 s of lease left: no stop */
  pthread_mutex_lock(&s.lock);
  int stopped_early = s.stop_seen;
  pthread_mutex_unlock(&s.lock);
  ck_assert_int_eq(stopped_early, 0);
  /* 2 s later on the jobs clock the lease has 1 s left, less than a heartbeat period: the
   * handler is told to stop, while the store is still locked. */
  advance(2);
  int seen = 0;
  for (int i = 0; i < 1000 && !seen; i++) { /* at most ~10 s */
    pthread_mutex_lock(&s.lock);
    seen = s.stop_seen;
    pthread_mutex_unlock(&s.lock);
    if (!seen)
      usleep(10000);
  }
  test_store_raw_close(lock);
  stream_jobs_pool_stop(pool);
  ck_assert_msg(seen,
                "the handler was not told to stop while its heartbeats %s and its lease "
                "ran out",
                busy_timeout_ms < 1000 ? "failed" : "hung");
  ck_assert_int_eq(s.timed_out, 0); /* not the runtime limit */
}

START_TEST(test_pool_stops_before_lease_runs_out)
{
  stops_before_lease_runs_out(50); /* a locked store answers at once */
}
END_TEST

/* The keeper's heartbeat waits 30 s for the lock: longer than the test waits for the stop. */
START_TEST(test_pool_stops_while_heartbeat_hangs)
{
  stops_before_lease_runs_out(30000);
}
END_TEST

/* Two pools with the same worker prefix in one process, as two streamd of a scale-out that run
 * as the same pid in their own pid namespaces (containers: both pid 1) share one database: their
 * worker ids must still differ, or a worker whose lease was taken over keeps passing the owner
 * checks of heartbeat, complete and fail, and both run (and publish) the job. */
typedef struct twin_state {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int started;
  char workers[2][STREAM_JOBS_ID_SIZE];
} twin_state;

static int twin_handler(stream_jobs_ctx *ctx, const stream_job *job, void *ud)
{
  (void)ctx;
  twin_state *s = ud;
  pthread_mutex_lock(&s->lock);
  if (s->started < 2)
    snprintf(s->workers[s->started], sizeof s->workers[0], "%s", job->worker);
  s->started++;
  pthread_cond_broadcast(&s->cond);
  while (s->started < 2) /* each pool has one thread: the two jobs run in different pools */
    pthread_cond_wait(&s->cond, &s->lock);
  pthread_mutex_unlock(&s->lock);
  return STREAM_OK;
}

START_TEST(test_pool_worker_ids_unique)
{
  twin_state s;
  memset(&s, 0, sizeof s);
  pthread_mutex_init(&s.lock, NULL);
  pthread_cond_init(&s.cond, NULL);
  stream_jobs_pool_options po = STREAM_JOBS_POOL_OPTIONS_INIT;
  po.threads = 1;
  po.handler = twin_handler;
  po.userdata = &s;
  po.poll_ms = 10;
  po.worker_prefix = "streamd";
  stream_jobs_pool *p1 = NULL, *p2 = NULL;
  ck_assert_int_eq(stream_jobs_pool_start(&p1, jobs, &po), STREAM_OK);
  ck_assert_int_eq(stream_jobs_pool_start(&p2, jobs, &po), STREAM_OK);
  char a[STREAM_JOBS_ID_SIZE], b[STREAM_JOBS_ID_SIZE];
  enqueue(a, "{}", NULL);
  enqueue(b, "{}", NULL);
  stream_jobs_pool_wake(p1);
  stream_jobs_pool_wake(p2);
  while (count_status(STREAM_JOB_SUCCEEDED) < 2)
    usleep(5000);
  stream_jobs_pool_stop(p1);
  stream_jobs_pool_stop(p2);
  ck_assert(strncmp(s.workers[0], "streamd-", 8) == 0);
  ck_assert(strncmp(s.workers[1], "streamd-", 8) == 0);
  ck_assert_msg(strcmp(s.workers[0], s.workers[1]) != 0, "both pools claim as %s", s.workers[0]);
  pthread_cond_destroy(&s.cond);
  pthread_mutex_destroy(&s.lock);
}
END_TEST

/* ---- assets ------------------------------------------------------------------ */

static void make_title(char *id)
{
  stream_store_title t;
  memset(&t, 0, sizeof t);
  t.kind = STREAM_STORE_TITLE_MOVIE;
  t.name = "Big Buck";
  ck_assert_int_eq(stream_store_title_create(id, store, &t, T0), STREAM_OK);
}

START_TEST(test_assets)
{
  char title[STREAM_STORE_ID_SIZE], a1[STREAM_JOBS_ID_SIZE], a2[STREAM_JOBS_ID_SIZE],
      a3[STREAM_JOBS_ID_SIZE];
  make_title(title);
  stream_asset a;
  ck_assert_int_eq(stream_jobs_asset_for_title(&a, jobs, title, NULL), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_jobs_asset_create(a1, jobs, title, NULL, NULL, "job1"), STREAM_OK);
  ck_assert_int_eq(stream_jobs_asset_get(&a, jobs, a1), STREAM_OK);
  ck_assert_int_eq(a.status, STREAM_ASSET_PROCESSING);
  ck_assert_str_eq(a.dir, a1);
  ck_assert_str_eq(a.job_id, "job1");
  ck_assert_str_eq(a.episode_id, "");
  stream_asset_clear(&a);
  /* processing assets are not served */
  ck_assert_int_eq(stream_jobs_asset_for_title(&a, jobs, title, ""), STREAM_ENOTFOUND);
  advance(5);
  ck_assert_int_eq(stream_jobs_asset_ready(jobs, a1, "{\"renditions\":[]}"), STREAM_OK);
  ck_assert_int_eq(stream_jobs_asset_for_title(&a, jobs, title, NULL), STREAM_OK);
  ck_assert_str_eq(a.id, a1);
  ck_assert_int_eq(a.status, STREAM_ASSET_READY);
  ck_assert_int_eq(a.ready_at, T0 + 5);
  ck_assert_str_eq(a.summary, "{\"renditions\":[]}");
  stream_asset_clear(&a);
  /* a newer ready asset wins; a failed one never does */
  ck_assert_int_eq(stream_jobs_asset_create(a2, jobs, title, NULL, "custom_dir", NULL), STREAM_OK);
  ck_assert_int_eq(stream_jobs_asset_create(a3, jobs, title, NULL, NULL, NULL), STREAM_OK);
  advance(5);
  ck_assert_int_eq(stream_jobs_asset_ready(jobs, a2, NULL), STREAM_OK);
  ck_assert_int_eq(stream_jobs_asset_failed(jobs, a3, "transcode failed"), STREAM_OK);
  ck_assert_int_eq(stream_jobs_asset_for_title(&a, jobs, title, NULL), STREAM_OK);
  ck_assert_str_eq(a.id, a2);
  ck_assert_str_eq(a.dir, "custom_dir");
  stream_asset_clear(&a);
  ck_assert_int_eq(stream_jobs_asset_get(&a, jobs, a3), STREAM_OK);
  ck_assert_int_eq(a.status, STREAM_ASSET_FAILED);
  ck_assert_str_eq(a.error, "transcode failed");
  stream_asset_clear(&a);
  /* episode assets are separate */
  ck_assert_int_eq(stream_jobs_asset_for_title(&a, jobs, title, "ep1"), STREAM_ENOTFOUND);
  stream_asset *list = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_jobs_asset_list(&list, &n, jobs, title, 100), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  stream_asset_list_free(list, n);
  ck_assert_int_eq(stream_jobs_asset_list(&list, &n, jobs, "other", 100), STREAM_OK);
  ck_assert_uint_eq(n, 0);
  /* dir taken, unknown title, bad dir */
  char x[STREAM_JOBS_ID_SIZE];
  ck_assert_int_eq(stream_jobs_asset_create(x, jobs, title, NULL, "custom_dir", NULL),
                   STREAM_EEXIST);
  ck_assert_int_eq(stream_jobs_asset_create(x, jobs, "no-such-title", NULL, NULL, NULL),
                   STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_jobs_asset_create(x, jobs, title, NULL, "../evil", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_jobs_asset_ready(jobs, "nope", NULL), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_jobs_asset_ready(jobs, a1, "{bad"), STREAM_EINVAL);
  ck_assert_str_eq(stream_asset_status_name(STREAM_ASSET_READY), "ready");
}
END_TEST

/* The store keeps every text as UTF-8 (PostgreSQL refuses anything else), so the module
 * refuses JSON and dedup keys that are not, and keeps error text with '?' for each bad byte,
 * a character split by the length cut included: the same on both backends. */
START_TEST(test_utf8_text)
{
  char id[STREAM_JOBS_ID_SIZE];
  ck_assert_int_eq(stream_jobs_enqueue(id, NULL, jobs, "k", "{\"name\":\"a\xff\"}", NULL, 0),
                   STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "job payload is not valid UTF-8"));
  ck_assert_int_eq(stream_jobs_enqueue(id, NULL, jobs, "k", "{}", "cl\xc3", 0), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "dedup key is not valid UTF-8"));
  stream_job *list = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_jobs_list(&list, &n, jobs, 0, 10), STREAM_OK);
  ck_assert_uint_eq(n, 0);
  /* Multi-byte text is kept byte for byte. */
  const char *payload = "{\"name\":\"Caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\xac\"}";
  int created = 0;
  ck_assert_int_eq(stream_jobs_enqueue(id, &created, jobs, "k", payload, "cl\xc3\xa9", 0),
                   STREAM_OK);
  ck_assert_int_eq(created, 1);
  stream_job j;
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w", NULL), STREAM_OK);
  ck_assert_str_eq(j.payload, payload);
  ck_assert_str_eq(j.dedup_key, "cl\xc3\xa9");
  stream_job_clear(&j);
  ck_assert_int_eq(stream_jobs_complete(jobs, id, "w", "{\"x\":\"\xed\xa0\x80\"}"), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "job result is not valid UTF-8"));
  ck_assert_int_eq(stream_jobs_complete(jobs, id, "w", "{\"x\":1} x"), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "job result"));
  /* Error text: a bad byte, and 'a' + 2000 times "é" cut at STREAM_JOBS_ERROR_MAX bytes, in
   * the middle of an "é". */
  ck_assert_int_eq(stream_jobs_fail(NULL, jobs, id, "w", "no file \xff.mp4", 1), STREAM_OK);
  ck_assert_int_eq(stream_jobs_get(&j, jobs, id), STREAM_OK);
  ck_assert_str_eq(j.error, "no file ?.mp4");
  stream_job_clear(&j);
  advance(10);
  ck_assert_int_eq(stream_jobs_claim(&j, jobs, "w", NULL), STREAM_OK);
  stream_job_clear(&j);
  static char long_text[1 + 2 * 2000 + 1];
  long_text[0] = 'a';
  for (int i = 0; i < 2000; i++)
    memcpy(long_text + 1 + 2 * i, "\xc3\xa9", 2);
  ck_assert_int_eq(stream_jobs_fail(NULL, jobs, id, "w", long_text, 0), STREAM_OK);
  ck_assert_int_eq(stream_jobs_get(&j, jobs, id), STREAM_OK);
  ck_assert_int_eq(j.status, STREAM_JOB_FAILED);
  ck_assert_uint_eq(strlen(j.error), STREAM_JOBS_ERROR_MAX);
  ck_assert_int_eq(memcmp(j.error, long_text, STREAM_JOBS_ERROR_MAX - 1), 0);
  ck_assert_int_eq(j.error[STREAM_JOBS_ERROR_MAX - 1], '?');
  stream_job_clear(&j);
  /* Assets: the summary is JSON (refused), the error text is kept repaired. */
  char title[STREAM_STORE_ID_SIZE], a1[STREAM_JOBS_ID_SIZE];
  make_title(title);
  ck_assert_int_eq(stream_jobs_asset_create(a1, jobs, title, NULL, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(stream_jobs_asset_ready(jobs, a1, "{\"t\":\"\xc0\xaf\"}"), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "asset summary is not valid UTF-8"));
  ck_assert_int_eq(stream_jobs_asset_ready(jobs, a1, "{\"t\":1}\n{\"t\":2}"), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "asset summary"));
  ck_assert_int_eq(stream_jobs_asset_failed(jobs, a1, "bad \xe6\x97 input"), STREAM_OK);
  stream_asset a;
  ck_assert_int_eq(stream_jobs_asset_get(&a, jobs, a1), STREAM_OK);
  ck_assert_int_eq(a.status, STREAM_ASSET_FAILED);
  ck_assert_str_eq(a.error, "bad ?? input");
  stream_asset_clear(&a);
}
END_TEST

static Suite *jobs_suite(void)
{
  Suite *s = suite_create("jobs");
  TCase *tc = tcase_create("jobs");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_enqueue_get_and_dedup);
  tcase_add_test(tc, test_bad_arguments);
  tcase_add_test(tc, test_claim_order_and_run_after);
  tcase_add_test(tc, test_lease_expiry_reclaims);
  tcase_add_test(tc, test_retry_backoff_then_failed);
  tcase_add_test(tc, test_backoff_cap_and_final_failure);
  tcase_add_test(tc, test_lease_lost_at_last_attempt_fails);
  tcase_add_test(tc, test_cancel_and_release);
  tcase_add_test(tc, test_concurrent_claimers_never_share);
  tcase_add_test(tc, test_pool_runs_fails_and_stops);
  tcase_add_test(tc, test_pool_cancel_reaches_handler);
  tcase_add_test(tc, test_pool_runtime_limit);
  tcase_add_test(tc, test_pool_stops_before_lease_runs_out);
  tcase_add_test(tc, test_pool_stops_while_heartbeat_hangs);
  tcase_add_test(tc, test_pool_worker_ids_unique);
  tcase_add_test(tc, test_assets);
  tcase_add_test(tc, test_utf8_text);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(jobs_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
