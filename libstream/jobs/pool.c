/*
 * jobs: the worker pool. N worker threads claim jobs and run the handler;
 * one keeper thread heartbeats every running job every lease/3 seconds with
 * the progress its handler last reported, so a lease stays alive exactly as
 * long as the process does, however long the handler blocks. A heartbeat that
 * reports a cancel or a lost lease raises the job's stop flag, which the
 * handler sees through stream_jobs_ctx_canceled()/ctx_progress(). Those calls
 * also stop a job whose heartbeats fail or hang (the store cut off) once its
 * lease would run out before the next heartbeat (lease_running_out()): after
 * that another worker may claim the job, and two workers must not run (and
 * publish) it. So does an
 * attempt that has run longer than the pool's max_runtime_seconds (measured on
 * the monotonic clock from the claim): a hung or pathologically slow handler
 * would otherwise hold its worker for ever. Such a job is failed for good.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/core.h"
#include "jobs_internal.h"

struct stream_jobs_ctx {
  stream_jobs_pool *pool;
  char worker[STREAM_JOBS_ID_SIZE];
  char job_id[STREAM_JOBS_ID_SIZE];
  int active;              /* a job is running (guarded by pool->lock) */
  double progress;         /* guarded by pool->lock */
  int stop;                /* canceled or lease lost (guarded by pool->lock) */
  int64_t lease_until;     /* the lease's end as last written, jobs clock (pool->lock) */
  int hb_failing;          /* the last heartbeat failed (pool->lock) */
  int64_t hb_started;      /* jobs clock when the heartbeat in flight began, else 0 (lock) */
  struct timespec started; /* CLOCK_MONOTONIC when the handler started (worker thread only) */
  char *result;
  char *error;
  int retry;
};

struct stream_jobs_pool {
  stream_jobs *jobs;
  stream_jobs_handler_fn handler;
  void *userdata;
  char *kind;
  unsigned int poll_ms;
  unsigned int max_runtime; /* seconds, 0 = no limit */
  unsigned int n;
  unsigned int started;
  pthread_t *threads;
  stream_jobs_ctx *ctxs;
  pthread_t keeper;
  int keeper_started;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int stopping;
  unsigned long wake_seq;
  unsigned int period_ms; /* the keeper's heartbeat period */
  int64_t period_s;       /* the same in the jobs clock's whole seconds, rounded up */
};

/* 1 when `c`'s heartbeats are not getting through (the last one failed, or one has hung for
 * more than period_s on the whole-second clock) and its lease ends before the next one could
 * extend it: another worker may claim the job then, so it must stop. Checked by the keeper after
 * each heartbeat and by the handler's own calls (a keeper stuck in a heartbeat, or busy with
 * other jobs' failing ones, checks nothing). `now` is the jobs clock. Call with pool->lock
 * held. */
static int lease_running_out(const stream_jobs_pool *p, const stream_jobs_ctx *c, int64_t now)
{
  int blocked = c->hb_failing || (c->hb_started && now - c->hb_started > p->period_s);
  return c->active && blocked && now + p->period_s >= c->lease_until;
}

static void deadline_in(struct timespec *ts, unsigned int ms)
{
  clock_gettime(CLOCK_REALTIME, ts);
  ts->tv_sec += ms / 1000;
  ts->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

/* Seconds (rounded down) the handler of `c` has run. */
static long long ctx_elapsed(const stream_jobs_ctx *c)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long long ms = (long long)(now.tv_sec - c->started.tv_sec) * 1000 +
                 (now.tv_nsec - c->started.tv_nsec) / 1000000;
  return ms / 1000;
}

/* 1 when the running handler of `c` has passed the pool's runtime limit. */
static int over_limit(const stream_jobs_pool *p, const stream_jobs_ctx *c)
{
  return p->max_runtime && ctx_elapsed(c) >= (long long)p->max_runtime;
}

static void ctx_reset(stream_jobs_ctx *c)
{
  free(c->result);
  free(c->error);
  c->result = NULL;
  c->error = NULL;
  c->retry = 1;
}

static void run_one(stream_jobs_pool *p, stream_jobs_ctx *c, stream_job *job)
{
  pthread_mutex_lock(&p->lock);
  memcpy(c->job_id, job->id, sizeof c->job_id);
  c->active = 1;
  c->progress = -1;
  c->stop = 0;
  c->lease_until =
      job->lease_until ? job->lease_until : jobs__now(p->jobs) + p->jobs->lease_seconds;
  c->hb_failing = 0;
  c->hb_started = 0;
  clock_gettime(CLOCK_MONOTONIC, &c->started);
  pthread_mutex_unlock(&p->lock);
  ctx_reset(c);

  stream_error_clear();
  int hrc = p->handler(c, job, p->userdata);
  char msg[sizeof(((stream_error *)0)->message)];
  const stream_error *last = stream_error_last();
  snprintf(msg, sizeof msg, "%s", last ? last->message : "");

  int64_t now = jobs__now(p->jobs);
  pthread_mutex_lock(&p->lock);
  int stopped = c->stop || p->stopping || lease_running_out(p, c, now);
  c->active = 0;
  pthread_mutex_unlock(&p->lock);
  int over = over_limit(p, c);

  int rc;
  if (hrc == STREAM_OK) {
    rc = stream_jobs_complete(p->jobs, job->id, c->worker, c->result);
  } else if (over) {
    /* Final: another attempt would hang (or crawl) the same way. The handler's own message
     * goes to the log only (it may say no more than "canceled"). */
    char text[160];
    snprintf(text, sizeof text, "job exceeded its runtime limit of %u s (ran %lld s); not retried",
             p->max_runtime, ctx_elapsed(c));
    stream__log(STREAM_LOG_WARN, "jobs", "job %s: %s; the handler returned %s (%s)", job->id, text,
                stream_strerror(hrc), c->error ? c->error : msg);
    rc = stream_jobs_fail(NULL, p->jobs, job->id, c->worker, text, 0);
  } else if (hrc == STREAM_ECANCELED && stopped) {
    rc = stream_jobs_release(p->jobs, job->id, c->worker);
  } else {
    char text[STREAM_JOBS_ERROR_MAX + 1];
    if (c->error)
      snprintf(text, sizeof text, "%s", c->error);
    else
      snprintf(text, sizeof text, "%s: %s", stream_strerror(hrc), msg[0] ? msg : "handler failed");
    rc = stream_jobs_fail(NULL, p->jobs, job->id, c->worker, text, c->retry);
  }
  if (rc != STREAM_OK && rc != STREAM_ECONFLICT)
    stream__log(STREAM_LOG_WARN, "jobs", "job %s: recording the outcome failed (%s)", job->id,
                stream_strerror(rc));
  ctx_reset(c);
}

static void *worker_main(void *arg)
{
  stream_jobs_ctx *c = arg;
  stream_jobs_pool *p = c->pool;
  for (;;) {
    pthread_mutex_lock(&p->lock);
    int stopping = p->stopping;
    unsigned long seq = p->wake_seq;
    pthread_mutex_unlock(&p->lock);
    if (stopping)
      break;
    stream_job job;
    int rc = stream_jobs_claim(&job, p->jobs, c->worker, p->kind);
    if (rc == STREAM_OK) {
      run_one(p, c, &job);
      stream_job_clear(&job);
      continue;
    }
    if (rc != STREAM_ENOTFOUND)
      stream__log(STREAM_LOG_WARN, "jobs", "claim failed (%s)", stream_strerror(rc));
    struct timespec ts;
    deadline_in(&ts, p->poll_ms);
    pthread_mutex_lock(&p->lock);
    while (!p->stopping && p->wake_seq == seq)
      if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) == ETIMEDOUT)
        break;
    pthread_mutex_unlock(&p->lock);
  }
  return NULL;
}

static void *keeper_main(void *arg)
{
  stream_jobs_pool *p = arg;
  unsigned int period_ms = p->period_ms;
  pthread_mutex_lock(&p->lock);
  while (!p->stopping) {
    struct timespec ts;
    deadline_in(&ts, period_ms);
    while (!p->stopping && pthread_cond_timedwait(&p->cond, &p->lock, &ts) != ETIMEDOUT)
      ;
    if (p->stopping)
      break;
    for (unsigned int i = 0; i < p->n; i++) {
      stream_jobs_ctx *c = &p->ctxs[i];
      if (!c->active)
        continue;
      char id[STREAM_JOBS_ID_SIZE];
      memcpy(id, c->job_id, sizeof id);
      double progress = c->progress;
      pthread_mutex_unlock(&p->lock);
      int64_t before = jobs__now(p->jobs);
      pthread_mutex_lock(&p->lock);
      if (c->active && strcmp(c->job_id, id) == 0)
        c->hb_started = before ? before : 1;
      pthread_mutex_unlock(&p->lock);
      int rc = stream_jobs_heartbeat(p->jobs, id, c->worker, progress);
      /* The store's message, read before another call on this thread replaces it. */
      char why[sizeof(((stream_error *)0)->message)];
      const stream_error *last = stream_error_last();
      snprintf(why, sizeof why, "%s", rc == STREAM_OK || !last ? "" : last->message);
      int64_t after = jobs__now(p->jobs);
      pthread_mutex_lock(&p->lock);
      if (!c->active || strcmp(c->job_id, id) != 0)
        continue; /* the handler ended meanwhile */
      c->hb_started = 0;
      c->hb_failing = rc != STREAM_OK;
      if (rc == STREAM_OK) {
        c->lease_until = before + p->jobs->lease_seconds;
      } else if (rc == STREAM_ECANCELED || rc == STREAM_ECONFLICT || rc == STREAM_ENOTFOUND) {
        c->stop = 1;
      } else if (!c->stop && lease_running_out(p, c, after)) {
        /* The store cannot be reached (or refuses): the lease ends before the next heartbeat,
         * and another worker may then claim the job. Stop it now, while the lease still holds;
         * the job runs again once a worker can reach the store. */
        c->stop = 1;
        stream__log(STREAM_LOG_WARN, "jobs",
                    "job %s: heartbeats fail (%s: %s); its lease ends in %lld s, so it stops "
                    "before another worker may take it over",
                    id, stream_strerror(rc), why, (long long)(c->lease_until - after));
      }
    }
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

int stream_jobs_pool_start(stream_jobs_pool **out, stream_jobs *j,
                           const stream_jobs_pool_options *opts)
{
  if (!out || !j || !opts)
    return stream__err(STREAM_EINVAL, "stream_jobs_pool_start: NULL argument");
  *out = NULL;
  if (opts->version != 1 && opts->version != STREAM_JOBS_POOL_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "stream_jobs_pool_start: options version %u, expected 1..%d",
                       opts->version, STREAM_JOBS_POOL_OPTIONS_VERSION);
  if (!opts->handler)
    return stream__err(STREAM_EINVAL, "stream_jobs_pool_start: no handler");
  if (opts->threads < 1 || opts->threads > 64)
    return stream__err(STREAM_EINVAL, "worker threads %u is outside 1..64", opts->threads);
  if (opts->poll_ms && (opts->poll_ms < 10 || opts->poll_ms > 60000))
    return stream__err(STREAM_EINVAL, "poll period %u ms is outside 10..60000", opts->poll_ms);
  const char *prefix = opts->worker_prefix ? opts->worker_prefix : "worker";
  if (strlen(prefix) > 40)
    return stream__err(STREAM_EINVAL, "worker prefix is longer than 40 characters");
  JOBS_TRY(jobs__check_id(prefix, "worker prefix"));
  stream_jobs_pool *p = stream__calloc(1, sizeof *p);
  if (!p)
    return STREAM_ENOMEM;
  p->jobs = j;
  p->handler = opts->handler;
  p->userdata = opts->userdata;
  p->poll_ms = opts->poll_ms ? opts->poll_ms : 1000;
  p->period_ms = (unsigned int)j->lease_seconds * 1000u / 3u;
  if (p->period_ms < 200)
    p->period_ms = 200;
  p->period_s = (p->period_ms + 999) / 1000; /* the jobs clock counts whole seconds */
  /* A version-1 caller's struct ends before max_runtime_seconds: no limit. */
  p->max_runtime = opts->version >= 2 ? opts->max_runtime_seconds : 0;
  p->n = opts->threads;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->cond, NULL);
  p->threads = stream__calloc(p->n, sizeof *p->threads);
  p->ctxs = stream__calloc(p->n, sizeof *p->ctxs);
  if (opts->kind)
    p->kind = stream__strdup(opts->kind);
  if (!p->threads || !p->ctxs || (opts->kind && !p->kind)) {
    stream_jobs_pool_stop(p);
    return STREAM_ENOMEM;
  }
  /* A random tag per pool: the pid alone repeats across hosts and containers (two daemons on
   * one database, both pid 1), and the owner checks of heartbeat/complete/fail would then take
   * a worker whose lease was taken over for the new holder. */
  unsigned char tag[4];
  if (stream_random_bytes(tag, sizeof tag) != STREAM_OK) {
    stream_jobs_pool_stop(p);
    return stream__err(STREAM_EIO, "cannot draw the worker pool's random tag");
  }
  for (unsigned int i = 0; i < p->n; i++) {
    p->ctxs[i].pool = p;
    p->ctxs[i].retry = 1;
    snprintf(p->ctxs[i].worker, sizeof p->ctxs[i].worker, "%s-%ld-%02x%02x%02x%02x-%u", prefix,
             (long)getpid(), tag[0], tag[1], tag[2], tag[3], i + 1);
  }
  if (pthread_create(&p->keeper, NULL, keeper_main, p) != 0) {
    stream_jobs_pool_stop(p);
    return stream__err(STREAM_EIO, "cannot start the job keeper thread");
  }
  p->keeper_started = 1;
  for (unsigned int i = 0; i < p->n; i++) {
    if (pthread_create(&p->threads[i], NULL, worker_main, &p->ctxs[i]) != 0) {
      stream_jobs_pool_stop(p);
      return stream__err(STREAM_EIO, "cannot start job worker thread %u", i + 1);
    }
    p->started++;
  }
  *out = p;
  return STREAM_OK;
}

void stream_jobs_pool_wake(stream_jobs_pool *pool)
{
  if (!pool)
    return;
  pthread_mutex_lock(&pool->lock);
  pool->wake_seq++;
  pthread_cond_broadcast(&pool->cond);
  pthread_mutex_unlock(&pool->lock);
}

void stream_jobs_pool_stop(stream_jobs_pool *pool)
{
  if (!pool)
    return;
  pthread_mutex_lock(&pool->lock);
  pool->stopping = 1;
  pthread_cond_broadcast(&pool->cond);
  pthread_mutex_unlock(&pool->lock);
  for (unsigned int i = 0; i < pool->started; i++)
    pthread_join(pool->threads[i], NULL);
  if (pool->keeper_started)
    pthread_join(pool->keeper, NULL);
  if (pool->ctxs)
    for (unsigned int i = 0; i < pool->n; i++)
      ctx_reset(&pool->ctxs[i]);
  pthread_mutex_destroy(&pool->lock);
  pthread_cond_destroy(&pool->cond);
  free(pool->threads);
  free(pool->ctxs);
  free(pool->kind);
  free(pool);
}

/* ---- handler context -------------------------------------------------------- */

int stream_jobs_ctx_progress(stream_jobs_ctx *ctx, double fraction)
{
  if (!ctx)
    return stream__err(STREAM_EINVAL, "stream_jobs_ctx_progress: NULL ctx");
  if (fraction != fraction)
    fraction = -1;
  if (fraction > 1)
    fraction = 1;
  stream_jobs_pool *p = ctx->pool;
  int64_t now = jobs__now(p->jobs);
  pthread_mutex_lock(&p->lock);
  if (fraction >= 0)
    ctx->progress = fraction;
  int stop = ctx->stop || p->stopping || lease_running_out(p, ctx, now);
  pthread_mutex_unlock(&p->lock);
  if (!stop && over_limit(p, ctx))
    return stream__err(STREAM_ECANCELED,
                       "job %s should stop: it exceeded its runtime limit of %u s", ctx->job_id,
                       p->max_runtime);
  return stop ? stream__err(STREAM_ECANCELED,
                            "job %s should stop (canceled, lease lost or "
                            "shutting down)",
                            ctx->job_id)
              : STREAM_OK;
}

int stream_jobs_ctx_canceled(const stream_jobs_ctx *ctx)
{
  if (!ctx)
    return 1;
  stream_jobs_pool *p = ctx->pool;
  int64_t now = jobs__now(p->jobs);
  pthread_mutex_lock(&p->lock);
  int stop = ctx->stop || p->stopping || lease_running_out(p, ctx, now);
  pthread_mutex_unlock(&p->lock);
  return stop || over_limit(p, ctx);
}

int stream_jobs_ctx_timed_out(const stream_jobs_ctx *ctx)
{
  return ctx && over_limit(ctx->pool, ctx);
}

int stream_jobs_ctx_set_result(stream_jobs_ctx *ctx, const char *result)
{
  if (!ctx)
    return stream__err(STREAM_EINVAL, "stream_jobs_ctx_set_result: NULL ctx");
  JOBS_TRY(jobs__check_json(result, "job result"));
  char *copy = NULL;
  if (result && !(copy = stream__strdup(result)))
    return STREAM_ENOMEM;
  free(ctx->result);
  ctx->result = copy;
  return STREAM_OK;
}

int stream_jobs_ctx_set_error(stream_jobs_ctx *ctx, const char *error, int retry)
{
  if (!ctx || !error)
    return stream__err(STREAM_EINVAL, "stream_jobs_ctx_set_error: NULL argument");
  char *copy = stream__strdup(error);
  if (!copy)
    return STREAM_ENOMEM;
  free(ctx->error);
  ctx->error = copy;
  ctx->retry = retry ? 1 : 0;
  return STREAM_OK;
}
