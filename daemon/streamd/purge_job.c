/*
 * The retention purge of streamd and its thread (see purge_job.h). The
 * thread sleeps on a condition variable with a monotonic clock, so shutdown
 * does not wait for the interval to run out. A purge works in short write
 * transactions (batches), so requests keep being served while it runs.
 */
#include "purge_job.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

struct streamd_purge {
  stream_store *store;
  unsigned int interval_s;
  int stop; /* under mu */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
};

cJSON *streamd_purge_counts_json(const stream_store_purge_counts *c)
{
  cJSON *o = cJSON_CreateObject();
  if (!o || !cJSON_AddNumberToObject(o, "refresh_tokens", (double)c->refresh_tokens) ||
      !cJSON_AddNumberToObject(o, "device_authorizations", (double)c->device_authorizations) ||
      !cJSON_AddNumberToObject(o, "idempotency_keys", (double)c->idempotency_keys) ||
      !cJSON_AddNumberToObject(o, "screen_leases", (double)c->screen_leases)) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

int streamd_purge_run(stream_store_purge_counts *out, stream_store *store)
{
  stream_store_purge_counts c;
  int rc = stream_store_purge(&c, store, (int64_t)time(NULL), NULL);
  if (out)
    *out = c;
  if (rc != STREAM_OK)
    streamd_logf(STREAM_LOG_ERROR, "purge: %s", stream_error_last()->message);
  if (c.refresh_tokens || c.device_authorizations || c.idempotency_keys || c.screen_leases)
    streamd_log_event(STREAM_LOG_INFO, "purge", streamd_purge_counts_json(&c));
  return rc;
}

static void *purge_thread(void *arg)
{
  streamd_purge *sp = arg;
  pthread_mutex_lock(&sp->mu);
  while (!sp->stop) {
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)sp->interval_s;
    while (!sp->stop) {
      if (pthread_cond_timedwait(&sp->cv, &sp->mu, &deadline) != 0)
        break; /* timed out */
    }
    if (sp->stop)
      break;
    pthread_mutex_unlock(&sp->mu);
    streamd_purge_run(NULL, sp->store);
    pthread_mutex_lock(&sp->mu);
  }
  pthread_mutex_unlock(&sp->mu);
  return NULL;
}

int streamd_purge_start(streamd_purge **out, stream_store *store, unsigned int interval_s)
{
  *out = NULL;
  if (interval_s == 0)
    return 0;
  streamd_purge *sp = calloc(1, sizeof(*sp));
  if (!sp) {
    streamd_logf(STREAM_LOG_ERROR, "purge: out of memory");
    return -1;
  }
  sp->store = store;
  sp->interval_s = interval_s;
  pthread_mutex_init(&sp->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&sp->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&sp->thread, NULL, purge_thread, sp) != 0) {
    streamd_logf(STREAM_LOG_ERROR, "purge: cannot start the purge thread");
    pthread_cond_destroy(&sp->cv);
    pthread_mutex_destroy(&sp->mu);
    free(sp);
    return -1;
  }
  streamd_logf(STREAM_LOG_INFO, "purge: every %u s", interval_s);
  *out = sp;
  return 0;
}

void streamd_purge_stop(streamd_purge *sp)
{
  if (!sp)
    return;
  pthread_mutex_lock(&sp->mu);
  sp->stop = 1;
  pthread_cond_broadcast(&sp->cv);
  pthread_mutex_unlock(&sp->mu);
  pthread_join(sp->thread, NULL);
  pthread_cond_destroy(&sp->cv);
  pthread_mutex_destroy(&sp->mu);
  free(sp);
}
