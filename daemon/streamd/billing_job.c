/*
 * The billing service of streamd and its renewal job. The job thread sleeps
 * on a condition variable with a CLOCK_MONOTONIC deadline, so stopping it at
 * shutdown is immediate; a run in progress is finished first (every
 * subscription advances in its own transaction, so a run is safe to repeat
 * but we do not interrupt one half-way through a provider call).
 */
#include "billing_job.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "billing_http.h"
#include "log.h"
#include "stream/common.h"

struct streamd_billing {
  stream_billing_local *provider;
  stream_billing *billing;
  unsigned int interval_s;
  int running; /* the thread was started */
  int stop;    /* under mu */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
};

static void log_report(const stream_billing_run_report *r)
{
  if (!(r->renewed || r->trials_converted || r->failed || r->retried || r->expired || r->canceled ||
        r->downgraded || r->settled))
    return;
  streamd_log_event(STREAM_LOG_INFO, "billing renewals", streamd_billing_report_json(r));
}

static void *renewal_thread(void *arg)
{
  streamd_billing *sb = arg;
  pthread_mutex_lock(&sb->mu);
  while (!sb->stop) {
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)sb->interval_s;
    while (!sb->stop) {
      int rc = pthread_cond_timedwait(&sb->cv, &sb->mu, &deadline);
      if (rc == ETIMEDOUT)
        break;
    }
    if (sb->stop)
      break;
    pthread_mutex_unlock(&sb->mu);
    stream_billing_run_report r;
    memset(&r, 0, sizeof(r));
    if (stream_billing_run_renewals(&r, sb->billing) == STREAM_OK)
      log_report(&r);
    else
      streamd_logf(STREAM_LOG_ERROR, "billing renewals: %s", stream_error_last()->message);
    pthread_mutex_lock(&sb->mu);
  }
  pthread_mutex_unlock(&sb->mu);
  return NULL;
}

int streamd_billing_open(streamd_billing **out, stream_store *store, unsigned int lease_ttl_s)
{
  *out = NULL;
  streamd_billing *sb = calloc(1, sizeof(*sb));
  if (!sb) {
    streamd_logf(STREAM_LOG_ERROR, "billing: out of memory");
    return -1;
  }
  pthread_mutex_init(&sb->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&sb->cv, &ca);
  pthread_condattr_destroy(&ca);

  stream_billing_provider prov;
  stream_billing_options bo = STREAM_BILLING_OPTIONS_INIT;
  bo.store = store;
  bo.provider = &prov;
  if (lease_ttl_s)
    bo.lease_ttl = (int)lease_ttl_s;
  size_t seeded = 0;
  if (stream_billing_local_new(&sb->provider) != STREAM_OK ||
      stream_billing_local_provider(&prov, sb->provider) != STREAM_OK ||
      stream_billing_new(&sb->billing, &bo) != STREAM_OK ||
      stream_billing_plans_seed(&seeded, sb->billing) != STREAM_OK) {
    streamd_logf(STREAM_LOG_ERROR, "billing: %s", stream_error_last()->message);
    streamd_billing_close(sb);
    return -1;
  }
  if (seeded)
    streamd_logf(STREAM_LOG_INFO, "billing: seeded %zu default plans", seeded);
  streamd_logf(STREAM_LOG_INFO, "billing: payment provider '%s' (local test provider)",
               prov.name ? prov.name : "local");
  *out = sb;
  return 0;
}

stream_billing *streamd_billing_service(streamd_billing *sb)
{
  return sb ? sb->billing : NULL;
}

int streamd_billing_start_renewals(streamd_billing *sb, unsigned int interval_s)
{
  if (!sb || interval_s == 0)
    return 0;
  sb->interval_s = interval_s;
  if (pthread_create(&sb->thread, NULL, renewal_thread, sb) != 0) {
    streamd_logf(STREAM_LOG_ERROR, "billing: cannot start the renewal thread");
    return -1;
  }
  sb->running = 1;
  streamd_logf(STREAM_LOG_INFO, "billing: renewals every %u s", interval_s);
  return 0;
}

void streamd_billing_close(streamd_billing *sb)
{
  if (!sb)
    return;
  if (sb->running) {
    pthread_mutex_lock(&sb->mu);
    sb->stop = 1;
    pthread_cond_broadcast(&sb->cv);
    pthread_mutex_unlock(&sb->mu);
    pthread_join(sb->thread, NULL);
  }
  stream_billing_free(sb->billing);
  stream_billing_local_free(sb->provider);
  pthread_cond_destroy(&sb->cv);
  pthread_mutex_destroy(&sb->mu);
  free(sb);
}
