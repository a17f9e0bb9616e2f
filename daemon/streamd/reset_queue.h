/*
 * The password-reset queue of streamd: POST /v1/auth/password-reset answers
 * after stream_auth_password_reset_prepare() (the same work for every
 * address) and hands the pending reset to this queue, whose one worker
 * thread runs stream_auth_password_reset_send() (account lookup, store
 * write, the outbox file: known addresses only) off the request path, in
 * the order the requests were accepted. So the answer time does not tell a
 * known address from an unknown one.
 *
 * The queue is bounded (STREAMD_RESET_QUEUE_MAX); when it is full the
 * request's own thread sends (slower, logged as a warning) rather than
 * dropping an accepted request. Stopping drains it: every accepted request
 * is sent before stop returns.
 */
#ifndef STREAMD_RESET_QUEUE_H
#define STREAMD_RESET_QUEUE_H

#include <stddef.h>

#include "stream/auth.h"

/* Pending resets the queue holds before requests send inline. */
#define STREAMD_RESET_QUEUE_MAX 256

typedef struct streamd_reset_queue streamd_reset_queue;

/* Start the worker thread sending through `auth` (borrowed: it must outlive the queue, i.e.
 * stop the queue before stream_auth_free). `capacity` 0 = STREAMD_RESET_QUEUE_MAX.
 * 0, or -1 (logged); `*out` is NULL on -1. */
int streamd_reset_queue_start(streamd_reset_queue **out, stream_auth *auth, size_t capacity);

/* Take ownership of `r` (from stream_auth_password_reset_prepare on the queue's auth handle;
 * NULL is a no-op) and have it sent: queued for the worker, or sent on the calling thread
 * when the queue is full (logged as a warning). A failed send is logged; `r` is freed either
 * way. `q` must not be NULL. Thread-safe. */
void streamd_reset_queue_submit(streamd_reset_queue *q, stream_auth_reset *r);

/* Send everything still queued, join the worker and free. NULL is a no-op. No submit may run
 * during or after it (stop the HTTP server first). */
void streamd_reset_queue_stop(streamd_reset_queue *q);

#endif
