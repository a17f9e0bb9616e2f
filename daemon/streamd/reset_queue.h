/*
 * The password-reset worker of streamd over the store's durable queue of
 * reset requests. POST /v1/auth/password-reset answers 202 only after
 * stream_auth_password_reset_request() committed the request to the store
 * (the same work for every address) and then kicks this worker, whose one
 * thread runs stream_auth_password_reset_process() (account lookup, reset
 * row, the outbox file: known addresses only; then the request's delete) off
 * the request path, oldest request first. So the answer time does not tell a
 * known address from an unknown one, and an accepted request survives a
 * SIGKILL, a crash or a power loss: the thread's first pass at start-up
 * processes what an earlier process left behind (its claims included).
 *
 * The queue lives in the store, unbounded (the rate limits bound it); no
 * request is ever sent on a request thread. Besides the kicks, the worker
 * makes a pass every STREAMD_RESET_RETRY_SECONDS, which retries what an
 * earlier pass left pending (the mail hook refused a message, a store error)
 * once its claim has run out. Stopping drains: one last pass processes what
 * is pending before stop returns; what cannot be delivered then stays in the
 * store for the next start.
 */
#ifndef STREAMD_RESET_QUEUE_H
#define STREAMD_RESET_QUEUE_H

#include <stddef.h>

#include "stream/auth.h"

/* Seconds between passes while nothing kicks the worker (a retry of requests left pending,
 * or of those a dead streamd sharing the database left claimed). */
#define STREAMD_RESET_RETRY_SECONDS 10

typedef struct streamd_reset_queue streamd_reset_queue;

/* Start the worker thread processing through `auth` (borrowed: it must outlive the queue,
 * i.e. stop the queue before stream_auth_free); its first pass runs at once. 0, or -1
 * (logged); `*out` is NULL on -1. */
int streamd_reset_queue_start(streamd_reset_queue **out, stream_auth *auth);

/* A request was stored (stream_auth_password_reset_request returned STREAM_OK): have the
 * worker process it now (after the pass in progress, if any). NULL is a no-op. Thread-safe. */
void streamd_reset_queue_kick(streamd_reset_queue *q);

/* Pending resets not yet sent: requests in the store not yet finished (waiting, being
 * processed, or waiting for a retry), whichever process stored them. For /metrics. NULL, or a
 * store failure (logged), gives 0. Thread-safe. */
size_t streamd_reset_queue_depth(streamd_reset_queue *q);

/* Stop the worker (a pass in progress finishes first), process everything still pending one
 * last time on the calling thread, and free. NULL is a no-op. No kick may run during or after
 * it (stop the HTTP server first). */
void streamd_reset_queue_stop(streamd_reset_queue *q);

#endif
