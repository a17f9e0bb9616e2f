/*
 * store: the job queue and the asset registry (module-internal, used only by
 * libstream/jobs/). Rows are the public stream_job / stream_asset. Each
 * transition checks the job's state and lease holder in the same write
 * transaction, so two workers can never both own a job. Text arrives checked
 * by jobs.c: ids and kinds printable ASCII, JSON and dedup keys valid UTF-8,
 * error text made valid UTF-8 ('?' for bad bytes).
 */
#ifndef STREAM_STORE_JOBS_H
#define STREAM_STORE_JOBS_H

#include "stream/jobs.h"
#include "store_internal.h"

/* Retry policy of a failure: delay = min(cap, base * 2^(attempts - 1)). */
typedef struct store__retry {
  int64_t base;
  int64_t cap;
} store__retry;

struct stream_store_job_ops {
  /* in: id (set), kind, dedup_key ("" = none), payload, max_attempts.
   * With a dedup key already used for the kind: out_id = the existing id and
   * *out_created = 0. */
  int (*enqueue)(void *impl, char *out_id, int *out_created, const stream_job *in, int64_t now);
  /* Fail running jobs whose lease expired at their last attempt, then claim
   * the oldest runnable job (kind NULL = any). STREAM_ENOTFOUND when none. */
  int (*claim)(void *impl, stream_job *out, const char *worker, const char *kind, int64_t now,
               int lease_seconds);
  /* Extend the lease; progress < 0 keeps it. STREAM_ECONFLICT when the job is
   * not running under `worker`, STREAM_ECANCELED when a cancel was requested. */
  int (*heartbeat)(void *impl, const char *id, const char *worker, double progress,
                   int64_t lease_until, int64_t now);
  int (*complete)(void *impl, const char *id, const char *worker, const char *result, int64_t now);
  /* retry NULL = final. *out_status = the new status. */
  int (*fail)(void *impl, int *out_status, const char *id, const char *worker, const char *error,
              const store__retry *retry, int64_t now);
  int (*release)(void *impl, const char *id, const char *worker, int64_t now);
  int (*cancel)(void *impl, const char *id, int64_t now);
  int (*get)(void *impl, stream_job *out, const char *id);
  int (*list)(void *impl, stream_job **out, size_t *out_count, int status, unsigned int limit);
  /* Optional (NULL: STREAM_ENOTSUP). (kind, status, count) of the jobs whose status is one of
   * statuses[0..n-1] (n 1..5, valid statuses), grouped, ordered by kind then status; *out
   * malloc'd (NULL when none). STREAM_ERANGE when there are more than `limit` rows. */
  int (*counts)(void *impl, stream_jobs_count **out, size_t *out_count, const int *statuses,
                size_t n, unsigned int limit);

  int (*asset_insert)(void *impl, const stream_asset *in); /* id, dir set */
  /* status READY (summary) or FAILED (error); ready_at = now and the next publish_seq for
   * READY (the current asset of a title is its ready asset with the highest publish_seq). */
  int (*asset_set_status)(void *impl, const char *id, int status, const char *text, int64_t now);
  /* Publish (status READY, summary, ready_at = now, the next publish_seq) only while the
   * current ready asset of the asset's title and episode is `expected` ("" = none), checked
   * and written in one write transaction. An asset already ready: STREAM_OK, unchanged.
   * STREAM_ECONFLICT (nothing written) naming the current asset otherwise. */
  int (*asset_ready_if)(void *impl, const char *id, const char *summary, const char *expected,
                        int64_t now);
  int (*asset_get)(void *impl, stream_asset *out, const char *id);
  int (*asset_for_title)(void *impl, stream_asset *out, const char *title_id,
                         const char *episode_id /* "" = none */);
  int (*asset_list)(void *impl, stream_asset **out, size_t *out_count,
                    const char *title_id /* NULL = all */, unsigned int limit);
};

#endif
