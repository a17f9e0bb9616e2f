/*
 * Internal state of the jobs module. Not installed.
 *   jobs.c    handle, queue operations, assets, validation
 *   pool.c    worker pool and the keeper (heartbeat) thread
 * Storage goes through libstream/store/store_jobs.h, never SQL here.
 */
#ifndef STREAM_JOBS_INTERNAL_H
#define STREAM_JOBS_INTERNAL_H

#include "stream/jobs.h"

struct stream_jobs {
  stream_store *store;
  int lease_seconds;
  int max_attempts;
  int backoff;
  int backoff_max;
  stream_jobs_clock_fn now;
  void *now_userdata;
};

#define JOBS_TRY(expr)                                                                             \
  do {                                                                                             \
    int rc_ = (expr);                                                                              \
    if (rc_ != STREAM_OK)                                                                          \
      return rc_;                                                                                  \
  } while (0)

int64_t jobs__now(const stream_jobs *j);
/* Validate an id-like argument: 1..64 printable ASCII characters without spaces. */
int jobs__check_id(const char *id, const char *what);
/* NULL or valid JSON of at most STREAM_JOBS_JSON_MAX bytes. */
int jobs__check_json(const char *json, const char *what);

#endif
