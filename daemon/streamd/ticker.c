/*
 * The periodic-job thread of streamd (see ticker.h).
 */
#include "ticker.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct streamd_ticker {
  unsigned int interval_s;
  void (*first)(void *ud);
  void (*fn)(void *ud);
  void *ud;
  int stop; /* under mu */
  int kick; /* under mu: call fn now */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
};

static void *ticker_thread(void *arg)
{
  streamd_ticker *t = arg;
  if (t->first)
    t->first(t->ud);
  pthread_mutex_lock(&t->mu);
  while (!t->stop) {
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += (time_t)t->interval_s;
    while (!t->stop && !t->kick) {
      if (pthread_cond_timedwait(&t->cv, &t->mu, &deadline) != 0)
        break; /* timed out */
    }
    if (t->stop)
      break;
    t->kick = 0;
    pthread_mutex_unlock(&t->mu);
    t->fn(t->ud);
    pthread_mutex_lock(&t->mu);
  }
  pthread_mutex_unlock(&t->mu);
  return NULL;
}

int streamd_ticker_start(streamd_ticker **out, unsigned int interval_s, void (*first)(void *ud),
                         void (*fn)(void *ud), void *ud)
{
  *out = NULL;
  if (interval_s == 0 || !fn)
    return -1;
  streamd_ticker *t = calloc(1, sizeof(*t));
  if (!t)
    return -1;
  t->interval_s = interval_s;
  t->first = first;
  t->fn = fn;
  t->ud = ud;
  pthread_mutex_init(&t->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&t->cv, &ca);
  pthread_condattr_destroy(&ca);
  if (pthread_create(&t->thread, NULL, ticker_thread, t) != 0) {
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
    return -1;
  }
  *out = t;
  return 0;
}

void streamd_ticker_kick(streamd_ticker *t)
{
  if (!t)
    return;
  pthread_mutex_lock(&t->mu);
  t->kick = 1;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->mu);
}

void streamd_ticker_stop(streamd_ticker *t)
{
  if (!t)
    return;
  pthread_mutex_lock(&t->mu);
  t->stop = 1;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->mu);
  pthread_join(t->thread, NULL);
  pthread_cond_destroy(&t->cv);
  pthread_mutex_destroy(&t->mu);
  free(t);
}
