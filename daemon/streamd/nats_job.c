/*
 * The thread of streamd's NATS jobs (nats_job.h): connect, rounds, backoff,
 * outage logging, stop. It owns the thread, its millisecond schedule (its own
 * condition-variable waits rather than a streamd_ticker, which counts whole
 * seconds) and the outage state; the relay or reader handle belongs to the
 * job's owner, reached through the callbacks.
 */
#include "nats_job.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "stream/common.h"

#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 5000

struct streamd_nats_job {
  const streamd_nats_job_ops *ops;
  void *arg;
  char url[2100]; /* redacted, for messages (config.c refuses credentials in it anyway) */
  int connected;
  int failing;          /* the last attempt failed (logged once) */
  char last_error[600]; /* stream_error_last()->message fits */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop; /* under mu */
};

const char *streamd_nats_opt(const char *s)
{
  return s && s[0] ? s : NULL;
}

/* Wait `ms` or until stopped; 1 when stopped. */
static int wait_ms(streamd_nats_job *j, long ms)
{
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += ms / 1000;
  deadline.tv_nsec += (ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&j->mu);
  while (!j->stop && pthread_cond_timedwait(&j->cv, &j->mu, &deadline) == 0)
    ;
  int stop = j->stop;
  pthread_mutex_unlock(&j->mu);
  return stop;
}

/* A failure: counted, logged when it is new (messages name the URL, never credentials; the
 * reader's connection messages are the relay's, "relay: ...", hence the job's name after). */
static void failed(streamd_nats_job *j, const char *what)
{
  atomic_fetch_add(j->ops->errors, 1);
  const char *msg = stream_error_last()->message;
  if (!j->failing || strcmp(j->last_error, msg) != 0)
    streamd_logf(STREAM_LOG_WARN, "%s (%s %s; retrying)", msg, j->ops->name, what);
  snprintf(j->last_error, sizeof(j->last_error), "%s", msg);
  j->failing = 1;
}

static void succeeded(streamd_nats_job *j)
{
  if (j->failing)
    streamd_logf(STREAM_LOG_INFO, "%s: %s again (NATS at %s)", j->ops->name, j->ops->resumed,
                 j->url); /* the failure was NATS's or the event log's */
  j->failing = 0;
  j->last_error[0] = '\0';
}

/* Connect (until connected) or run a round; the wait before the next attempt. */
static long attempt(streamd_nats_job *j)
{
  long wait = j->ops->idle_ms;
  if (!j->connected) {
    if (j->ops->connect(j->arg) == STREAM_OK) {
      j->connected = 1;
      succeeded(j);
      wait = 0;
    } else {
      failed(j, "connecting");
    }
  } else if (j->ops->round(j->arg, &wait) == STREAM_OK) {
    succeeded(j);
  } else {
    failed(j, "round");
  }
  if (j->ops->after)
    j->ops->after(j->arg);
  return wait;
}

static void *job_thread(void *arg)
{
  streamd_nats_job *j = arg;
  long backoff = BACKOFF_MIN_MS, wait = 0;
  while (!wait_ms(j, wait)) {
    wait = attempt(j);
    if (j->failing) {
      wait = backoff;
      backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    } else {
      backoff = BACKOFF_MIN_MS;
    }
  }
  return NULL;
}

int streamd_nats_job_start(streamd_nats_job **out, const streamd_nats_job_ops *ops, void *arg,
                           const char *url)
{
  *out = NULL;
  streamd_nats_job *j = calloc(1, sizeof(*j));
  if (!j) {
    streamd_logf(STREAM_LOG_ERROR, "%s: out of memory", ops->name);
    return -1;
  }
  j->ops = ops;
  j->arg = arg;
  streamd_config_redact_url(j->url, sizeof(j->url), url);
  /* Once now: a configuration libstream refuses stops the start; NATS being away does not. */
  int rc = ops->connect(arg);
  if (rc == STREAM_EINVAL) {
    streamd_logf(STREAM_LOG_ERROR, "%s", stream_error_last()->message);
    free(j);
    return -1;
  }
  if (rc == STREAM_OK)
    j->connected = 1;
  else
    failed(j, "connecting");
  if (ops->after)
    ops->after(arg);
  pthread_mutex_init(&j->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&j->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&j->thread, NULL, job_thread, j) != 0) {
    streamd_logf(STREAM_LOG_ERROR, "%s: cannot start its thread", ops->name);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
    return -1;
  }
  *out = j;
  return 0;
}

void streamd_nats_job_stop(streamd_nats_job *j)
{
  if (!j)
    return;
  pthread_mutex_lock(&j->mu);
  j->stop = 1;
  pthread_cond_broadcast(&j->cv);
  pthread_mutex_unlock(&j->mu);
  pthread_join(j->thread, NULL);
  pthread_cond_destroy(&j->cv);
  pthread_mutex_destroy(&j->mu);
  free(j);
}
