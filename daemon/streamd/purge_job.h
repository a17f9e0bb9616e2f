/*
 * streamd's housekeeping: the retention purge of the store (expired refresh
 * tokens and device authorizations, old idempotency keys, lapsed screen
 * leases; see stream_store_purge()) with the library's default policy, run
 * once during start-up (before streamd reports that it listens), then by a
 * background thread every `purge_interval` seconds (0 = neither) and on demand through
 * POST /v1/admin/purge. Each run that deleted something is logged with its
 * counts (numbers only).
 */
#ifndef STREAMD_PURGE_JOB_H
#define STREAMD_PURGE_JOB_H

#include <cjson/cJSON.h>

#include "stream/store.h"

typedef struct streamd_purge streamd_purge;

/* Purge `store` now (system clock, default policy) and log the counts. `*out` (may be NULL)
 * receives them. STREAM_OK or an error (stream_error_last() has the message; logged). */
int streamd_purge_run(stream_store_purge_counts *out, stream_store *store);

/* The counts as a JSON object {"refresh_tokens":n,...}; NULL when out of memory. */
cJSON *streamd_purge_counts_json(const stream_store_purge_counts *c);

/* Purge `store` once now (on the caller's thread), then start the purge thread on it
 * (borrowed: must outlive the thread). `*out` is NULL when interval_s is 0 (no purge, no
 * thread). A failed first purge is logged and does not stop the start. 0 or -1 (logged). */
int streamd_purge_start(streamd_purge **out, stream_store *store, unsigned int interval_s);

/* Stop the thread (a run in progress finishes first) and free it. NULL is a no-op. */
void streamd_purge_stop(streamd_purge *sp);

#endif
