/*
 * The retention purge of streamd and its thread (see purge_job.h). The
 * thread is a streamd_ticker (ticker.h), so shutdown does not wait for the
 * interval to run out. A purge works in short write transactions (batches),
 * so requests keep being served while it runs.
 */
#include "purge_job.h"

#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "ticker.h"

struct streamd_purge {
  stream_store *store;
  streamd_ticker *ticker;
};

cJSON *streamd_purge_counts_json(const stream_store_purge_counts *c)
{
  cJSON *o = cJSON_CreateObject();
  if (!o || !cJSON_AddNumberToObject(o, "refresh_tokens", (double)c->refresh_tokens) ||
      !cJSON_AddNumberToObject(o, "device_authorizations", (double)c->device_authorizations) ||
      !cJSON_AddNumberToObject(o, "idempotency_keys", (double)c->idempotency_keys) ||
      !cJSON_AddNumberToObject(o, "screen_leases", (double)c->screen_leases) ||
      !cJSON_AddNumberToObject(o, "password_resets", (double)c->password_resets) ||
      !cJSON_AddNumberToObject(o, "rate_buckets", (double)c->rate_buckets)) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

int streamd_purge_run(stream_store_purge_counts *out, stream_store *store)
{
  stream_store_purge_counts c;
  stream_store_purge_policy policy;
  stream_store_purge_policy_default(&policy); /* this version: every count is reported */
  int rc = stream_store_purge(&c, store, (int64_t)time(NULL), &policy);
  if (out)
    *out = c;
  if (rc != STREAM_OK)
    streamd_logf(STREAM_LOG_ERROR, "purge: %s", stream_error_last()->message);
  if (c.refresh_tokens || c.device_authorizations || c.idempotency_keys || c.screen_leases ||
      c.password_resets || c.rate_buckets)
    streamd_log_event(STREAM_LOG_INFO, "purge", streamd_purge_counts_json(&c));
  return rc;
}

/* One purge on the ticker's thread. */
static void purge_tick(void *arg)
{
  streamd_purge *sp = arg;
  streamd_purge_run(NULL, sp->store);
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
  /* Once now, before the daemon reports that it listens: a daemon restarted
   * more often than the interval still purges. Batches of short transactions,
   * so a backlog delays start-up by what deleting it costs, and only once. */
  streamd_purge_run(NULL, store);
  if (streamd_ticker_start(&sp->ticker, interval_s, NULL, purge_tick, sp) != 0) {
    streamd_logf(STREAM_LOG_ERROR, "purge: cannot start the purge thread");
    free(sp);
    return -1;
  }
  streamd_logf(STREAM_LOG_INFO, "purge: at start-up, then every %u s", interval_s);
  *out = sp;
  return 0;
}

void streamd_purge_stop(streamd_purge *sp)
{
  if (!sp)
    return;
  streamd_ticker_stop(sp->ticker);
  free(sp);
}
