/*
 * The password-reset worker of streamd (see reset_queue.h): a ticker thread
 * (ticker.c) whose every call is one pass of stream_auth_password_reset_process()
 * over the store's pending requests, every STREAMD_RESET_PASS_SECONDS (never
 * kicked by a request: reset_queue.h says why). The pass runs with no lock of
 * ours held.
 */
#include "reset_queue.h"

#include <stdint.h>
#include <stdlib.h>

#include "log.h"
#include "stream/common.h"
#include "ticker.h"

struct streamd_reset_queue {
  stream_auth *auth;
  streamd_ticker *ticker;
};

/* One pass: everything that can be taken now. A failure is the service's (the requesters
 * had their 202): it goes to the log, and the requests stay in the store for the next pass. */
static void pass(void *ud)
{
  streamd_reset_queue *q = ud;
  size_t done = 0;
  int rc = stream_auth_password_reset_process(&done, q->auth, SIZE_MAX);
  if (rc != STREAM_OK)
    streamd_logf(STREAM_LOG_ERROR,
                 "password reset: %s (%zu request(s) processed; the rest "
                 "stay pending)",
                 stream_error_last()->message, done);
}

int streamd_reset_queue_start(streamd_reset_queue **out, stream_auth *auth)
{
  *out = NULL;
  streamd_reset_queue *q = calloc(1, sizeof(*q));
  if (!q) {
    streamd_logf(STREAM_LOG_ERROR, "password reset queue: out of memory");
    return -1;
  }
  q->auth = auth;
  if (streamd_ticker_start(&q->ticker, STREAMD_RESET_PASS_SECONDS, pass, pass, q) != 0) {
    free(q);
    streamd_logf(STREAM_LOG_ERROR, "password reset queue: cannot start its thread");
    return -1;
  }
  *out = q;
  return 0;
}

int streamd_reset_queue_depth(streamd_reset_queue *q, size_t *out)
{
  if (out)
    *out = 0;
  if (!q || !out)
    return STREAM_EINVAL;
  return stream_auth_password_reset_pending(out, q->auth);
}

void streamd_reset_queue_stop(streamd_reset_queue *q)
{
  if (!q)
    return;
  streamd_ticker_stop(q->ticker);
  size_t pending = 0;
  if (stream_auth_password_reset_pending(&pending, q->auth) == STREAM_OK && pending)
    streamd_logf(STREAM_LOG_INFO, "password reset queue: processing %zu pending request(s)",
                 pending);
  pass(q);
  free(q);
}
