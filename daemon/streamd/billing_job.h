/*
 * streamd's billing service: the built-in local payment provider, the
 * stream_billing handle on the daemon's store, the default plans seeded at
 * start when there are none, and the renewal job that runs
 * stream_billing_run_renewals() every billing_renew_interval seconds on a
 * background thread (0 = never; operators can still run it through
 * POST /v1/admin/billing/renewals/run or `streamctl billing renew`).
 */
#ifndef STREAMD_BILLING_JOB_H
#define STREAMD_BILLING_JOB_H

#include "stream/billing.h"
#include "stream/store.h"

typedef struct streamd_billing streamd_billing;

/* Create the provider and service on `store` (screen leases live `lease_ttl_s` seconds without
 * a heartbeat; 0 = the library default), seed the plans. 0 or -1 (logged). */
int streamd_billing_open(streamd_billing **out, stream_store *store, unsigned int lease_ttl_s);

/* The service (borrowed, lives as long as `sb`). */
stream_billing *streamd_billing_service(streamd_billing *sb);

/* Start the renewal thread (interval_s 0 = do nothing). 0 or -1 (logged). */
int streamd_billing_start_renewals(streamd_billing *sb, unsigned int interval_s);

/* Stop the renewal thread (waits for a run in progress), free everything. NULL is a no-op. */
void streamd_billing_close(streamd_billing *sb);

#endif
