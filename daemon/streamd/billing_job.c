/*
 * The billing service of streamd and its renewal job. The job thread is a
 * streamd_ticker (ticker.h), so stopping it at shutdown is immediate; a run
 * in progress is finished first (every
 * subscription advances in its own transaction, so a run is safe to repeat
 * but we do not interrupt one half-way through a provider call).
 */
#include "billing_job.h"

#include <stdlib.h>
#include <string.h>

#include "billing_http.h"
#include "log.h"
#include "stream/common.h"
#include "ticker.h"

struct streamd_billing {
  stream_billing_local *provider;
  stream_billing *billing;
  streamd_ticker *renewals; /* the renewal thread (NULL when not started) */
};

static void log_report(const stream_billing_run_report *r)
{
  if (!(r->renewed || r->trials_converted || r->failed || r->retried || r->expired || r->canceled ||
        r->downgraded || r->settled))
    return;
  streamd_log_event(STREAM_LOG_INFO, "billing renewals", streamd_billing_report_json(r));
}

/* One renewal run on the ticker's thread. */
static void run_renewals(void *arg)
{
  streamd_billing *sb = arg;
  stream_billing_run_report r;
  memset(&r, 0, sizeof(r));
  if (stream_billing_run_renewals(&r, sb->billing) == STREAM_OK)
    log_report(&r);
  else
    streamd_logf(STREAM_LOG_ERROR, "billing renewals: %s", stream_error_last()->message);
}

int streamd_billing_open(streamd_billing **out, stream_store *store, unsigned int lease_ttl_s)
{
  *out = NULL;
  streamd_billing *sb = calloc(1, sizeof(*sb));
  if (!sb) {
    streamd_logf(STREAM_LOG_ERROR, "billing: out of memory");
    return -1;
  }

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
  if (streamd_ticker_start(&sb->renewals, interval_s, NULL, run_renewals, sb) != 0) {
    streamd_logf(STREAM_LOG_ERROR, "billing: cannot start the renewal thread");
    return -1;
  }
  streamd_logf(STREAM_LOG_INFO, "billing: renewals every %u s", interval_s);
  return 0;
}

void streamd_billing_close(streamd_billing *sb)
{
  if (!sb)
    return;
  streamd_ticker_stop(sb->renewals);
  stream_billing_free(sb->billing);
  stream_billing_local_free(sb->provider);
  free(sb);
}
