/*
 * The password-reset queue of streamd (see reset_queue.h): a ring of pending
 * resets under a mutex, one worker thread that sleeps on a condition
 * variable while it is empty. The worker sends with no lock held, so a slow
 * store commit or outbox write never blocks a request that enqueues.
 */
#include "reset_queue.h"

#include <pthread.h>
#include <stdlib.h>

#include "log.h"
#include "stream/common.h"

struct streamd_reset_queue {
  stream_auth *auth;
  stream_auth_reset **ring;
  size_t cap;
  size_t head;  /* under mu: the oldest entry */
  size_t count; /* under mu */
  int stop;     /* under mu: no more waiting; drain and exit */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
};

/* Send one pending reset and free it. The status says nothing to a requester
 * (it had its 202); a failure is the service's, so it goes to the log. */
static void send_one(stream_auth *auth, stream_auth_reset *r)
{
  int rc = stream_auth_password_reset_send(auth, r);
  if (rc != STREAM_OK)
    streamd_logf(STREAM_LOG_ERROR, "password reset: sending a requested link failed: %s",
                 stream_error_last()->message);
  stream_auth_reset_free(r);
}

static void *worker(void *arg)
{
  streamd_reset_queue *q = arg;
  pthread_mutex_lock(&q->mu);
  for (;;) {
    while (q->count == 0 && !q->stop)
      pthread_cond_wait(&q->cv, &q->mu);
    if (q->count == 0)
      break; /* stopping and drained */
    stream_auth_reset *r = q->ring[q->head];
    q->ring[q->head] = NULL;
    q->head = (q->head + 1) % q->cap;
    q->count--;
    pthread_mutex_unlock(&q->mu);
    send_one(q->auth, r);
    pthread_mutex_lock(&q->mu);
  }
  pthread_mutex_unlock(&q->mu);
  return NULL;
}

int streamd_reset_queue_start(streamd_reset_queue **out, stream_auth *auth, size_t capacity)
{
  *out = NULL;
  streamd_reset_queue *q = calloc(1, sizeof(*q));
  if (q) {
    q->cap = capacity ? capacity : STREAMD_RESET_QUEUE_MAX;
    q->ring = calloc(q->cap, sizeof(*q->ring));
  }
  if (!q || !q->ring) {
    free(q);
    streamd_logf(STREAM_LOG_ERROR, "password reset queue: out of memory");
    return -1;
  }
  q->auth = auth;
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->cv, NULL);
  if (pthread_create(&q->thread, NULL, worker, q) != 0) {
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q->ring);
    free(q);
    streamd_logf(STREAM_LOG_ERROR, "password reset queue: cannot start its thread");
    return -1;
  }
  *out = q;
  return 0;
}

void streamd_reset_queue_submit(streamd_reset_queue *q, stream_auth_reset *r)
{
  if (!r)
    return;
  pthread_mutex_lock(&q->mu);
  int stopping = q->stop, queued = !stopping && q->count < q->cap;
  if (queued) {
    q->ring[(q->head + q->count) % q->cap] = r;
    q->count++;
    pthread_cond_signal(&q->cv);
  }
  pthread_mutex_unlock(&q->mu);
  if (queued)
    return;
  /* Nothing accepted is dropped: this request answers later instead. */
  if (!stopping)
    streamd_logf(STREAM_LOG_WARN,
                 "password reset queue full (%zu pending): sending on the request thread", q->cap);
  send_one(q->auth, r);
}

void streamd_reset_queue_stop(streamd_reset_queue *q)
{
  if (!q)
    return;
  pthread_mutex_lock(&q->mu);
  q->stop = 1;
  size_t pending = q->count;
  pthread_cond_signal(&q->cv);
  pthread_mutex_unlock(&q->mu);
  if (pending)
    streamd_logf(STREAM_LOG_INFO, "password reset queue: sending %zu pending link(s)", pending);
  pthread_join(q->thread, NULL);
  pthread_cond_destroy(&q->cv);
  pthread_mutex_destroy(&q->mu);
  free(q->ring);
  free(q);
}
