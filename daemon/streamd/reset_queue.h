/*
 * The password-reset worker of streamd over the store's durable queue of
 * reset requests. POST /v1/auth/password-reset answers 202 only after
 * stream_auth_password_reset_request() committed the request to the store
 * (the same work for every address). This worker's one thread runs
 * stream_auth_password_reset_process() (account lookup, reset row, the outbox
 * file: known addresses only; then the request's delete) off the request
 * path, oldest request first, on a fixed tick of STREAMD_RESET_PASS_SECONDS —
 * never kicked by a request: a pass started by a known address would write a
 * row and a mail (fsyncs) right after its 202 and slow the requests that
 * follow, which an attacker could time with a probe and a reference request.
 * So neither the answer time nor the next answer's tells a known address from
 * an unknown one, and an accepted request survives a
 * SIGKILL, a crash or a power loss: the thread's first pass at start-up
 * processes what an earlier process left behind (its claims included).
 *
 * The queue lives in the store, unbounded (the rate limits bound it); no
 * request is ever sent on a request thread. A pass also retries what an
 * earlier pass left pending (the mail hook refused a message, a store error)
 * once its claim has run out. Stopping drains: one last pass processes what
 * is pending before stop returns; what cannot be delivered then stays in the
 * store for the next start.
 */
#ifndef STREAMD_RESET_QUEUE_H
#define STREAMD_RESET_QUEUE_H

#include <stddef.h>

#include "stream/auth.h"

/* Seconds between passes: a mail goes out within this of its request (and retries of
 * requests left pending, or claimed by a dead streamd sharing the database, ride the same
 * passes). */
#define STREAMD_RESET_PASS_SECONDS 1

typedef struct streamd_reset_queue streamd_reset_queue;

/* Start the worker thread processing through `auth` (borrowed: it must outlive the queue,
 * i.e. stop the queue before stream_auth_free); its first pass runs at once. 0, or -1
 * (logged); `*out` is NULL on -1. */
int streamd_reset_queue_start(streamd_reset_queue **out, stream_auth *auth);

/* Pending resets not yet sent: requests in the store not yet finished (waiting, being
 * processed, or waiting for a retry), whichever process stored them. For /metrics. Sets
 * *out and returns STREAM_OK, or returns the store's error (stream_error_last() says
 * which; *out is then 0). NULL q or out is STREAM_EINVAL. Thread-safe. */
int streamd_reset_queue_depth(streamd_reset_queue *q, size_t *out);

/* Stop the worker (a pass in progress finishes first), process everything still pending one
 * last time on the calling thread, and free. NULL is a no-op. Stop the HTTP server first.
 */
void streamd_reset_queue_stop(streamd_reset_queue *q);

#endif
