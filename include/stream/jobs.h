/**
 * @file stream/jobs.h
 * @brief Durable jobs (floor 2, "jobs"): a job queue over the store with
 *        leases, heartbeats, retries with exponential backoff and
 *        de-duplication; a worker pool; and the registry of media assets the
 *        transcode jobs produce.
 *
 * A job is a row: kind (e.g. "transcode"), a JSON payload, an optional
 * de-duplication key (enqueueing the same kind and key again returns the
 * existing job), a status and a lease. A worker claims the oldest runnable
 * job in one write transaction: a queued job whose run_after has come, or a
 * running job whose lease has expired (its worker died). Claiming counts an
 * attempt and sets lease_until = now + lease_seconds; the worker extends it
 * with heartbeats. A failure with attempts left puts the job back in the
 * queue after base * 2^(attempts-1) seconds (capped); at max_attempts it is
 * failed for good and keeps the error. A running job whose lease expires at
 * its last attempt is failed for good at the next claim.
 *
 * Assets: a row per transcoded output: id, title id, optional episode id,
 * status (processing / ready / failed), the directory name under the media
 * root, the transcode summary JSON and the time it became ready.
 *
 * Rows with heap strings (stream_job, stream_asset) are released with
 * stream_job_clear() / stream_asset_clear(); arrays from the list functions
 * with stream_job_list_free() / stream_asset_list_free(). Time is Unix
 * seconds from the clock in the options (injectable for tests).
 *
 * Thread-safety: a stream_jobs handle may be used by any number of threads
 * at once (its configuration is immutable and the store is thread-safe); two
 * processes may share one database. A stream_jobs_pool is started and
 * stopped by one thread; its handler runs on the pool's threads. A
 * stream_jobs_ctx is used only by the handler call it was passed to.
 */
#ifndef STREAM_JOBS_H
#define STREAM_JOBS_H

#include <stddef.h>
#include <stdint.h>

#include "stream/common.h"
#include "stream/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Size of an id buffer (job, asset, title, episode, worker ids). */
#define STREAM_JOBS_ID_SIZE 65
/** Longest job kind (characters of [a-z0-9_.-]) and its buffer size. */
#define STREAM_JOBS_KIND_MAX 32
#define STREAM_JOBS_KIND_SIZE 33
/** Longest de-duplication key and its buffer size. */
#define STREAM_JOBS_KEY_MAX 128
#define STREAM_JOBS_KEY_SIZE 129
/** Longest payload / result / summary JSON text, in bytes. */
#define STREAM_JOBS_JSON_MAX 1048576
/** Longest error text kept on a job or asset (longer text is truncated). */
#define STREAM_JOBS_ERROR_MAX 2048
/** Longest asset directory name and its buffer size. */
#define STREAM_JOBS_DIR_MAX 128
#define STREAM_JOBS_DIR_SIZE 129
/** Most rows one list call returns. */
#define STREAM_JOBS_LIST_MAX 1000

/** Status of a job. */
typedef enum stream_job_status {
  STREAM_JOB_QUEUED = 1,    /**< waiting (maybe until run_after, after a failure) */
  STREAM_JOB_RUNNING = 2,   /**< claimed by a worker holding a lease */
  STREAM_JOB_SUCCEEDED = 3, /**< completed with a result */
  STREAM_JOB_FAILED = 4,    /**< failed for good; `error` says why */
  STREAM_JOB_CANCELED = 5   /**< canceled before it completed */
} stream_job_status;

/** A job row. Release with stream_job_clear(). */
typedef struct stream_job {
  char id[STREAM_JOBS_ID_SIZE];
  char kind[STREAM_JOBS_KIND_SIZE];
  char dedup_key[STREAM_JOBS_KEY_SIZE]; /**< "" = none */
  int status;                           /**< a stream_job_status */
  char *payload;                        /**< JSON text (owned) */
  char *result;                         /**< JSON text of a succeeded job, else NULL (owned) */
  char *error;                          /**< last error, NULL when none (owned) */
  int attempts;                         /**< claims so far */
  int max_attempts;                     /**< claims allowed */
  double progress;                      /**< 0..1, from the last heartbeat */
  int cancel_requested;                 /**< 1 after stream_jobs_cancel() of a running job */
  char worker[STREAM_JOBS_ID_SIZE];     /**< worker of the current/last claim, "" = none */
  int64_t lease_until;                  /**< lease end of a running job, else 0 */
  int64_t run_after;                    /**< a queued job is not claimed before this */
  int64_t created_at;
  int64_t updated_at;
  int64_t finished_at; /**< 0 until succeeded/failed/canceled */
} stream_job;

/** Free the strings of a job filled by this module and zero it. NULL is a no-op. */
STREAM_API void stream_job_clear(stream_job *job);
/** Free an array of jobs from stream_jobs_list(). NULL is a no-op. */
STREAM_API void stream_job_list_free(stream_job *jobs, size_t count);

/** A clock: Unix seconds. Must be thread-safe. */
typedef int64_t (*stream_jobs_clock_fn)(void *userdata);

/** A job queue handle (opaque). */
typedef struct stream_jobs stream_jobs;

/** Options of stream_jobs_new(). Start from STREAM_JOBS_OPTIONS_INIT. */
typedef struct stream_jobs_options {
  unsigned int version;     /**< STREAM_JOBS_OPTIONS_VERSION */
  stream_store *store;      /**< required; borrowed, must outlive the handle */
  int lease_seconds;        /**< lease of a claim, 1..86400; 0 = 60 */
  int max_attempts;         /**< default attempts of a new job, 1..100; 0 = 5 */
  int backoff_seconds;      /**< first retry delay, 0..86400; 0 = 10 (use 1 for fast tests) */
  int backoff_max_seconds;  /**< cap of the retry delay, >= 0; 0 = 3600; raised to the first
                                 retry delay when under it */
  stream_jobs_clock_fn now; /**< NULL = the system clock */
  void *now_userdata;       /**< passed to `now` */
} stream_jobs_options;

#define STREAM_JOBS_OPTIONS_VERSION 1
#define STREAM_JOBS_OPTIONS_INIT                                                                   \
  {                                                                                                \
    STREAM_JOBS_OPTIONS_VERSION, NULL, 0, 0, 0, 0, NULL, NULL                                      \
  }

/**
 * Create a job queue handle over `opts->store`. On success `*out` belongs to
 * the caller, who frees it with stream_jobs_free().
 * Errors: STREAM_EINVAL (NULL, no store, bad version or out-of-range value),
 * STREAM_ENOTSUP (the store's backend has no job tables), STREAM_ENOMEM.
 */
STREAM_API int stream_jobs_new(stream_jobs **out, const stream_jobs_options *opts);

/** Free the handle (no pool may still use it). NULL is a no-op. */
STREAM_API void stream_jobs_free(stream_jobs *j);

/**
 * Enqueue a job of `kind` (1..32 characters of [a-z0-9_.-]) with the JSON
 * `payload` (an object or any JSON value; NULL = "{}"; like every JSON text of
 * this module, valid UTF-8 and exactly one JSON value: nothing but JSON whitespace
 * after it, so "{} x" or "{}{}" is STREAM_EINVAL). With a non-empty `dedup_key` (UTF-8), a job of
 * the same kind and key that already exists (in any status) is returned instead and `*out_created`
 * is 0. `max_attempts` 0 takes the handle's default. `out_id` (STREAM_JOBS_ID_SIZE bytes) receives
 * the id; `out_created` may be NULL. Errors: STREAM_EINVAL (bad kind, key, JSON or attempts),
 * STREAM_EBUSY, STREAM_EIO, STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_jobs_enqueue(char *out_id, int *out_created, stream_jobs *j, const char *kind,
                                   const char *payload, const char *dedup_key, int max_attempts);

/**
 * Claim the oldest runnable job of `kind` (NULL = any kind) for `worker`
 * (1..64 characters, any printable text): a queued job with run_after <= now,
 * or a running job whose lease expired. One write transaction. Running jobs
 * whose lease expired at their last attempt are failed first. `*out` is the
 * claimed job (status running, attempts counted); release with
 * stream_job_clear().
 * Errors: STREAM_ENOTFOUND (nothing runnable now), STREAM_EINVAL, STREAM_EBUSY,
 * STREAM_EIO, STREAM_ENOMEM. Thread-safe: concurrent claimers never get the
 * same job.
 */
STREAM_API int stream_jobs_claim(stream_job *out, stream_jobs *j, const char *worker,
                                 const char *kind);

/**
 * Heartbeat of a running job held by `worker`: lease_until = now +
 * lease_seconds and progress = `progress` (clamped to 0..1; negative keeps
 * the previous value).
 * Errors: STREAM_ECANCELED (the job was canceled: stop, the lease is still
 * extended), STREAM_ECONFLICT (the job is not running under this worker any
 * more: its lease expired and it was reclaimed, or it finished),
 * STREAM_ENOTFOUND, STREAM_EINVAL, STREAM_EBUSY, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_jobs_heartbeat(stream_jobs *j, const char *id, const char *worker,
                                     double progress);

/**
 * Mark a running job held by `worker` succeeded with the JSON `result` (NULL
 * = none), progress 1. Also a job with a cancel request (stream_jobs_cancel()
 * came too late: the work is done), which then ends succeeded, not canceled.
 * Errors: STREAM_ECONFLICT (not running under this worker), STREAM_ENOTFOUND,
 * STREAM_EINVAL (bad JSON), STREAM_EBUSY, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_jobs_complete(stream_jobs *j, const char *id, const char *worker,
                                    const char *result);

/**
 * Record a failure of a running job held by `worker` with the text `error`
 * (NULL or "" = "failed"; kept, truncated to STREAM_JOBS_ERROR_MAX; each byte that is not valid
 * UTF-8, or a character the cut split, is stored as '?'). With `retry` 1 and attempts
 * left, the job is queued again with run_after = now + backoff * 2^(attempts
 * - 1) (capped); otherwise (or with `retry` 0, or a cancel request) it ends
 * failed (canceled). `*out_status` (may be NULL) receives the job's new
 * status.
 * Errors: STREAM_ECONFLICT (not running under this worker), STREAM_ENOTFOUND,
 * STREAM_EINVAL, STREAM_EBUSY, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_jobs_fail(int *out_status, stream_jobs *j, const char *id, const char *worker,
                                const char *error, int retry);

/**
 * Give a running job held by `worker` back to the queue without counting the
 * attempt (the worker is shutting down). A cancel request ends it canceled.
 * Errors: STREAM_ECONFLICT, STREAM_ENOTFOUND, STREAM_EINVAL, STREAM_EBUSY,
 * STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_jobs_release(stream_jobs *j, const char *id, const char *worker);

/**
 * Cancel a job: a queued job ends canceled at once; a running job gets a
 * cancel request its worker sees at its next heartbeat. A finished job is
 * left alone (STREAM_ECONFLICT).
 * Errors: STREAM_ENOTFOUND, STREAM_ECONFLICT, STREAM_EINVAL, STREAM_EBUSY,
 * STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_jobs_cancel(stream_jobs *j, const char *id);

/**
 * Get job `id` into `*out` (release with stream_job_clear()).
 * Errors: STREAM_ENOTFOUND, STREAM_EINVAL, STREAM_EIO, STREAM_ENOMEM.
 * Thread-safe.
 */
STREAM_API int stream_jobs_get(stream_job *out, stream_jobs *j, const char *id);

/**
 * List jobs, newest first: those with `status` (0 = any), at most `limit`
 * (1..STREAM_JOBS_LIST_MAX). `*out` (NULL when empty) is freed by the caller
 * with stream_job_list_free(*out, *out_count).
 * Errors: STREAM_EINVAL, STREAM_EIO, STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_jobs_list(stream_job **out, size_t *out_count, stream_jobs *j, int status,
                                unsigned int limit);

/** "queued", "running", "succeeded", "failed", "canceled"; NULL for unknown values. */
STREAM_API const char *stream_job_status_name(int status);

/** Jobs of one kind in one status (a row of stream_jobs_counts()). Plain data. */
typedef struct stream_jobs_count {
  char kind[STREAM_JOBS_KIND_SIZE];
  int status;    /**< a stream_job_status */
  int64_t count; /**< jobs of this kind in this status, at least 1 */
} stream_jobs_count;

/**
 * Count the jobs per kind and status, for the `n_statuses` statuses in
 * `statuses` (stream_job_status values; repeats count once), or for every
 * status when `n_statuses` is 0 (`statuses` is then not read and may be
 * NULL). One query over the store's status index: its cost grows with the
 * number of jobs in the statuses asked for, so a caller that counts often (a
 * metrics scrape) should leave out STREAM_JOB_SUCCEEDED, which every
 * completed job keeps for good. `*out` (NULL when no job matches; caller
 * frees with stream_free()) holds `*out_count` rows, one per kind and status
 * with at least one job, ordered by kind, then status; at most
 * STREAM_JOBS_LIST_MAX rows. On failure `*out` is NULL and `*out_count` 0.
 * Errors: STREAM_EINVAL (NULL out, out_count or handle, NULL statuses with
 * n_statuses above 0, n_statuses above 5, an unknown status), STREAM_ERANGE
 * (more than STREAM_JOBS_LIST_MAX kind and status pairs), STREAM_ENOTSUP
 * (the store's backend cannot count), STREAM_EIO, STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_jobs_counts(stream_jobs_count **out, size_t *out_count, stream_jobs *j,
                                  const int *statuses, size_t n_statuses);

/* ---- worker pool ------------------------------------------------------- */

/** What a handler sees of its running job (opaque). */
typedef struct stream_jobs_ctx stream_jobs_ctx;

/**
 * A job handler, called on a pool thread for each claimed job. Return
 * STREAM_OK to complete the job (with the result set by
 * stream_jobs_ctx_set_result(), if any), STREAM_ECANCELED after
 * stream_jobs_ctx_canceled() said so (the job is released back to the queue
 * when the pool stops, or ends canceled when it was canceled), or another
 * negative code to fail it (retried unless stream_jobs_ctx_set_error() said
 * not to). `job` is borrowed for the call.
 */
typedef int (*stream_jobs_handler_fn)(stream_jobs_ctx *ctx, const stream_job *job, void *userdata);

/**
 * Report progress (0..1) of the running job. The pool's keeper thread sends
 * it with the next heartbeat (every lease_seconds / 3, at least 200 ms apart), which also extends
 * the lease while the handler runs.
 * Returns STREAM_OK, or STREAM_ECANCELED when the handler should stop (the
 * pool is stopping, the job was canceled, its lease was lost or is about to
 * run out with the heartbeats failing, or it ran past the
 * pool's max_runtime_seconds).
 * Errors: STREAM_EINVAL (NULL ctx). Call only from the handler.
 */
STREAM_API int stream_jobs_ctx_progress(stream_jobs_ctx *ctx, double fraction);

/** 1 when the handler should stop (see stream_jobs_ctx_progress()), else 0. NULL gives 1. */
STREAM_API int stream_jobs_ctx_canceled(const stream_jobs_ctx *ctx);

/**
 * 1 when the running attempt has passed the pool's max_runtime_seconds (so
 * stream_jobs_ctx_canceled() gives 1 and the job will end failed for good
 * unless the handler returns STREAM_OK), else 0. A handler uses it to tell a
 * timeout, after which it should mark its own records failed, from a shutdown
 * or a lost lease, after which the job runs again elsewhere. A NULL ctx gives 0.
 * Thread-safety: call only from the handler, like stream_jobs_ctx_progress().
 */
STREAM_API int stream_jobs_ctx_timed_out(const stream_jobs_ctx *ctx);

/**
 * Set the JSON result stored when the handler returns STREAM_OK (copied;
 * NULL clears it). Errors: STREAM_EINVAL (NULL ctx, bad JSON), STREAM_ENOMEM.
 */
STREAM_API int stream_jobs_ctx_set_result(stream_jobs_ctx *ctx, const char *result);

/**
 * Set the error text stored when the handler fails (copied), and whether the
 * failure may be retried (`retry` 1, the default) or is final (0).
 * Errors: STREAM_EINVAL (NULL ctx or text), STREAM_ENOMEM.
 */
STREAM_API int stream_jobs_ctx_set_error(stream_jobs_ctx *ctx, const char *error, int retry);

/** A worker pool (opaque). */
typedef struct stream_jobs_pool stream_jobs_pool;

/** Options of stream_jobs_pool_start(). Start from STREAM_JOBS_POOL_OPTIONS_INIT. */
typedef struct stream_jobs_pool_options {
  unsigned int version;           /**< STREAM_JOBS_POOL_OPTIONS_VERSION */
  unsigned int threads;           /**< worker threads, 1..64 */
  const char *kind;               /**< claim only this kind; NULL = any (copied) */
  const char *worker_prefix;      /**< worker ids are "<prefix>-<pid>-<tag>-<n>", <tag> 8 random
                                       hex digits per pool (unique across hosts and pid
                                       namespaces); 1..40 printable ASCII characters without
                                       spaces; NULL = "worker" */
  stream_jobs_handler_fn handler; /**< required */
  void *userdata;                 /**< passed to the handler */
  unsigned int poll_ms;           /**< idle poll period, 10..60000; 0 = 1000 */
  /* ---- version 2 ---- */
  /** Longest run of one attempt of a job, in seconds (0 = no limit, the default). Past it the
   *  handler is asked to stop (stream_jobs_ctx_progress() returns STREAM_ECANCELED,
   *  stream_jobs_ctx_canceled() gives 1); unless it then returns STREAM_OK the job ends failed
   *  for good (not retried) with the error "job exceeded its runtime limit of N s". A handler
   *  that never looks is not interrupted: the limit takes effect when it returns. */
  unsigned int max_runtime_seconds;
} stream_jobs_pool_options;

/** 2 added max_runtime_seconds. A version-1 struct (which ends before it) is still accepted,
 *  without a limit. */
#define STREAM_JOBS_POOL_OPTIONS_VERSION 2
#define STREAM_JOBS_POOL_OPTIONS_INIT                                                              \
  {                                                                                                \
    STREAM_JOBS_POOL_OPTIONS_VERSION, 1, NULL, NULL, NULL, NULL, 0, 0                              \
  }

/**
 * Start `opts->threads` worker threads that claim jobs from `j` and run the
 * handler, plus one keeper thread that heartbeats the running jobs. When the
 * heartbeats fail or hang (the store is down, unreachable or locked) and the
 * lease would end before the next one, the handler is told to stop (as for a
 * lost lease; its own stream_jobs_ctx_progress()/ctx_canceled() calls check
 * this, so a keeper stuck in a heartbeat delays nothing), so a worker cut off
 * from the store stops before another may claim its job. The jobs clock
 * counts whole seconds: with a lease under 3 s one failed heartbeat stops the
 * job. On
 * success `*out` belongs to the caller, who stops and frees it with
 * stream_jobs_pool_stop(). `j` must outlive the pool. Options of version 1 and
 * 2 are accepted.
 * Errors: STREAM_EINVAL (NULL, no handler, bad values), STREAM_ENOMEM,
 * STREAM_EIO (a thread could not be started).
 */
STREAM_API int stream_jobs_pool_start(stream_jobs_pool **out, stream_jobs *j,
                                      const stream_jobs_pool_options *opts);

/** Wake idle workers now (a job was just enqueued). NULL is a no-op. Thread-safe. */
STREAM_API void stream_jobs_pool_wake(stream_jobs_pool *pool);

/**
 * Stop the pool: running handlers see stream_jobs_ctx_canceled(); their jobs
 * are released back to the queue; the threads are joined and the pool freed.
 * Blocks until the handlers return. NULL is a no-op.
 */
STREAM_API void stream_jobs_pool_stop(stream_jobs_pool *pool);

/* ---- assets -------------------------------------------------------------- */

/** Status of an asset. */
typedef enum stream_asset_status {
  STREAM_ASSET_PROCESSING = 1, /**< being transcoded */
  STREAM_ASSET_READY = 2,      /**< published: the directory is complete */
  STREAM_ASSET_FAILED = 3      /**< the transcode failed for good */
} stream_asset_status;

/** An asset row. Release with stream_asset_clear(). */
typedef struct stream_asset {
  char id[STREAM_JOBS_ID_SIZE];
  char title_id[STREAM_JOBS_ID_SIZE];
  char episode_id[STREAM_JOBS_ID_SIZE]; /**< "" for a movie */
  int status;                           /**< a stream_asset_status */
  char dir[STREAM_JOBS_DIR_SIZE];       /**< directory name under the media root */
  char job_id[STREAM_JOBS_ID_SIZE];     /**< the job producing it, "" = none */
  char *summary;                        /**< transcode summary JSON when ready, else NULL */
  char *error;                          /**< why it failed, else NULL */
  int64_t created_at;
  int64_t ready_at; /**< 0 until ready */
} stream_asset;

/** Free the strings of an asset and zero it. NULL is a no-op. */
STREAM_API void stream_asset_clear(stream_asset *a);
/** Free an array of assets from stream_jobs_asset_list(). NULL is a no-op. */
STREAM_API void stream_asset_list_free(stream_asset *assets, size_t count);

/**
 * Register a processing asset of `title_id` (and `episode_id`, NULL or "" for
 * a movie) produced by job `job_id` (NULL = none). `dir` is its directory
 * name under the media root (1..128 characters of [A-Za-z0-9_-]); NULL or ""
 * uses the asset id. `out_id` (STREAM_JOBS_ID_SIZE bytes) receives the new id.
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND (no such title: an asset belongs to
 * a title of the catalog and goes with it), STREAM_EEXIST (dir taken),
 * STREAM_EBUSY, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_jobs_asset_create(char *out_id, stream_jobs *j, const char *title_id,
                                        const char *episode_id, const char *dir,
                                        const char *job_id);

/**
 * Publish an asset: status ready, ready_at = now, the summary JSON stored
 * (NULL = none), and the next publish order, which makes it the current asset
 * of its title (see stream_jobs_asset_for_title()) even when it was created
 * earlier or published in the same second as another. Call after its
 * directory is complete on disk. Unconditional: an asset built from the
 * title's current asset should use stream_jobs_asset_ready_if().
 * Errors: STREAM_ENOTFOUND, STREAM_EINVAL (bad JSON), STREAM_EBUSY, STREAM_EIO.
 * Thread-safe.
 */
STREAM_API int stream_jobs_asset_ready(stream_jobs *j, const char *id, const char *summary);

/**
 * Publish an asset (as stream_jobs_asset_ready()) only if the current ready
 * asset of its title and episode is still `expected_current`, the asset the
 * caller built on (NULL or "" = the title had no ready asset). The check and
 * the write are one store write transaction, so a publish by another thread
 * or process can never fall between them (compare-and-swap). An asset that
 * is already ready is left as it is (not moved back on top) and STREAM_OK is
 * returned: a retried publish is idempotent. Strings are copied.
 * Errors: STREAM_ECONFLICT (another asset is current: nothing was changed;
 * the message names the current asset; rebuild on it and try again),
 * STREAM_ENOTFOUND, STREAM_EINVAL (NULL handle, bad id or JSON),
 * STREAM_EBUSY, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_jobs_asset_ready_if(stream_jobs *j, const char *id, const char *summary,
                                          const char *expected_current);

/**
 * Mark an asset failed with the text `error` (kept as stream_jobs_fail()
 * keeps it). Errors: STREAM_ENOTFOUND, STREAM_EINVAL, STREAM_EBUSY, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_jobs_asset_failed(stream_jobs *j, const char *id, const char *error);

/**
 * Get asset `id` (release with stream_asset_clear()).
 * Errors: STREAM_ENOTFOUND, STREAM_EINVAL, STREAM_EIO, STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_jobs_asset_get(stream_asset *out, stream_jobs *j, const char *id);

/**
 * The current asset of `title_id` and `episode_id` (NULL or "" = the movie /
 * title-level asset): its ready asset published last (publish order, not
 * ready_at, which has whole-second resolution, nor creation order).
 * Errors: STREAM_ENOTFOUND (none ready), STREAM_EINVAL, STREAM_EIO,
 * STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_jobs_asset_for_title(stream_asset *out, stream_jobs *j, const char *title_id,
                                           const char *episode_id);

/**
 * List assets, newest first, of `title_id` (NULL = all titles), at most
 * `limit` (1..STREAM_JOBS_LIST_MAX). `*out` (NULL when empty) is freed with
 * stream_asset_list_free(*out, *out_count).
 * Errors: STREAM_EINVAL, STREAM_EIO, STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_jobs_asset_list(stream_asset **out, size_t *out_count, stream_jobs *j,
                                      const char *title_id, unsigned int limit);

/** "processing", "ready", "failed"; NULL for unknown values. */
STREAM_API const char *stream_asset_status_name(int status);

#ifdef __cplusplus
}
#endif

#endif
