/*
 * jobs: the durable job queue and the asset registry over the store
 * (store_jobs.h). This file validates arguments, applies the handle's clock,
 * lease and retry policy, and dispatches to the backend, which makes each
 * transition atomic. The worker pool lives in pool.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "../core/core.h"
#include "../core/json.h"
#include "../store/store_jobs.h"
#include "jobs_internal.h"

static const struct stream_store_job_ops *ops(const stream_jobs *j)
{
  return j->store->backend->jobs;
}

int64_t jobs__now(const stream_jobs *j)
{
  return j->now ? j->now(j->now_userdata) : (int64_t)time(NULL);
}

int jobs__check_id(const char *id, const char *what)
{
  if (!id || !id[0])
    return stream__err(STREAM_EINVAL, "%s is missing", what);
  size_t n = strlen(id);
  if (n > STREAM_JOBS_ID_SIZE - 1)
    return stream__err(STREAM_EINVAL, "%s is longer than %d characters", what,
                       STREAM_JOBS_ID_SIZE - 1);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
      return stream__err(STREAM_EINVAL, "%s contains a space or a non-printable character", what);
  return STREAM_OK;
}

int jobs__check_json(const char *json, const char *what)
{
  if (!json)
    return STREAM_OK;
  size_t n = strlen(json);
  if (n > STREAM_JOBS_JSON_MAX)
    return stream__err(STREAM_EINVAL, "%s is longer than %d bytes", what, STREAM_JOBS_JSON_MAX);
  /* JSON is UTF-8 (RFC 8259) and the store keeps it as text, which PostgreSQL
   * refuses otherwise; cJSON copies the bytes of strings unchecked. */
  size_t bad = stream__utf8_check(json, n);
  if (bad != n)
    return stream__err(STREAM_EINVAL, "%s is not valid UTF-8 (bad byte at offset %zu)", what, bad);
  size_t off = 0;
  enum stream__json_fail fail;
  cJSON *doc = stream__json_parse_whole(json, n, &off, &fail);
  if (!doc) {
    if (fail == STREAM__JSON_TRAILING)
      return stream__err(STREAM_EINVAL, "%s is not one JSON value (unexpected bytes at offset %zu)",
                         what, off);
    return stream__err(STREAM_EINVAL, "%s is not valid JSON (error near offset %zu)", what, off);
  }
  cJSON_Delete(doc);
  return STREAM_OK;
}

static int check_kind(const char *kind)
{
  if (!kind || !kind[0])
    return stream__err(STREAM_EINVAL, "job kind is missing");
  size_t n = strlen(kind);
  if (n > STREAM_JOBS_KIND_MAX)
    return stream__err(STREAM_EINVAL, "job kind is longer than %d characters",
                       STREAM_JOBS_KIND_MAX);
  for (size_t i = 0; i < n; i++) {
    char c = kind[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return stream__err(STREAM_EINVAL, "job kind \"%s\" has characters outside [a-z0-9_.-]", kind);
  }
  return STREAM_OK;
}

/* ---- handle ------------------------------------------------------------- */

int stream_jobs_new(stream_jobs **out, const stream_jobs_options *opts)
{
  if (!out || !opts)
    return stream__err(STREAM_EINVAL, "stream_jobs_new: NULL argument");
  *out = NULL;
  if (opts->version != STREAM_JOBS_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "stream_jobs_new: options version %u, expected %d",
                       opts->version, STREAM_JOBS_OPTIONS_VERSION);
  if (!opts->store)
    return stream__err(STREAM_EINVAL, "stream_jobs_new: no store");
  if (opts->lease_seconds < 0 || opts->lease_seconds > 86400 || opts->max_attempts < 0 ||
      opts->max_attempts > 100 || opts->backoff_seconds < 0 || opts->backoff_seconds > 86400 ||
      opts->backoff_max_seconds < 0)
    return stream__err(STREAM_EINVAL,
                       "stream_jobs_new: lease 0..86400 s, attempts 0..100, backoff 0..86400 s");
  if (!opts->store->backend->jobs)
    return stream__err(STREAM_ENOTSUP, "the %s store backend has no job tables",
                       opts->store->backend->name);
  stream_jobs *j = stream__calloc(1, sizeof *j);
  if (!j)
    return STREAM_ENOMEM;
  j->store = opts->store;
  j->lease_seconds = opts->lease_seconds ? opts->lease_seconds : 60;
  j->max_attempts = opts->max_attempts ? opts->max_attempts : 5;
  j->backoff = opts->backoff_seconds ? opts->backoff_seconds : 10;
  j->backoff_max = opts->backoff_max_seconds ? opts->backoff_max_seconds : 3600;
  if (j->backoff_max < j->backoff)
    j->backoff_max = j->backoff;
  j->now = opts->now;
  j->now_userdata = opts->now_userdata;
  *out = j;
  return STREAM_OK;
}

void stream_jobs_free(stream_jobs *j)
{
  free(j);
}

void stream_job_clear(stream_job *job)
{
  if (!job)
    return;
  free(job->payload);
  free(job->result);
  free(job->error);
  memset(job, 0, sizeof *job);
}

void stream_job_list_free(stream_job *jobs, size_t count)
{
  if (!jobs)
    return;
  for (size_t i = 0; i < count; i++)
    stream_job_clear(&jobs[i]);
  free(jobs);
}

const char *stream_job_status_name(int status)
{
  switch (status) {
  case STREAM_JOB_QUEUED:
    return "queued";
  case STREAM_JOB_RUNNING:
    return "running";
  case STREAM_JOB_SUCCEEDED:
    return "succeeded";
  case STREAM_JOB_FAILED:
    return "failed";
  case STREAM_JOB_CANCELED:
    return "canceled";
  default:
    return NULL;
  }
}

/* ---- queue ---------------------------------------------------------------- */

int stream_jobs_enqueue(char *out_id, int *out_created, stream_jobs *j, const char *kind,
                        const char *payload, const char *dedup_key, int max_attempts)
{
  if (!out_id || !j)
    return stream__err(STREAM_EINVAL, "stream_jobs_enqueue: NULL argument");
  out_id[0] = '\0';
  int rc = check_kind(kind);
  if (rc == STREAM_OK)
    rc = jobs__check_json(payload, "job payload");
  if (rc != STREAM_OK)
    return rc;
  if (dedup_key && strlen(dedup_key) > STREAM_JOBS_KEY_MAX)
    return stream__err(STREAM_EINVAL, "dedup key is longer than %d bytes", STREAM_JOBS_KEY_MAX);
  if (dedup_key && !stream__utf8_valid(dedup_key, strlen(dedup_key)))
    return stream__err(STREAM_EINVAL, "dedup key is not valid UTF-8");
  if (max_attempts < 0 || max_attempts > 100)
    return stream__err(STREAM_EINVAL, "max_attempts %d is outside 0..100", max_attempts);
  stream_job in;
  memset(&in, 0, sizeof in);
  rc = store__new_id(in.id);
  if (rc != STREAM_OK)
    return rc;
  memcpy(in.kind, kind, strlen(kind) + 1);
  if (dedup_key)
    memcpy(in.dedup_key, dedup_key, strlen(dedup_key) + 1);
  in.payload = (char *)(payload ? payload : "{}");
  in.max_attempts = max_attempts ? max_attempts : j->max_attempts;
  int created = 0;
  rc = ops(j)->enqueue(j->store->impl, out_id, &created, &in, jobs__now(j));
  if (out_created)
    *out_created = rc == STREAM_OK ? created : 0;
  return rc;
}

int stream_jobs_claim(stream_job *out, stream_jobs *j, const char *worker, const char *kind)
{
  if (!out || !j)
    return stream__err(STREAM_EINVAL, "stream_jobs_claim: NULL argument");
  memset(out, 0, sizeof *out);
  JOBS_TRY(jobs__check_id(worker, "worker id"));
  if (kind)
    JOBS_TRY(check_kind(kind));
  return ops(j)->claim(j->store->impl, out, worker, kind, jobs__now(j), j->lease_seconds);
}

static int check_job_worker(stream_jobs *j, const char *id, const char *worker, const char *fn)
{
  if (!j)
    return stream__err(STREAM_EINVAL, "%s: NULL handle", fn);
  JOBS_TRY(jobs__check_id(id, "job id"));
  return jobs__check_id(worker, "worker id");
}

int stream_jobs_heartbeat(stream_jobs *j, const char *id, const char *worker, double progress)
{
  JOBS_TRY(check_job_worker(j, id, worker, "stream_jobs_heartbeat"));
  if (progress != progress) /* NaN */
    return stream__err(STREAM_EINVAL, "progress is not a number");
  if (progress > 1)
    progress = 1;
  if (progress < 0)
    progress = -1;
  int64_t now = jobs__now(j);
  return ops(j)->heartbeat(j->store->impl, id, worker, progress, now + j->lease_seconds, now);
}

int stream_jobs_complete(stream_jobs *j, const char *id, const char *worker, const char *result)
{
  JOBS_TRY(check_job_worker(j, id, worker, "stream_jobs_complete"));
  JOBS_TRY(jobs__check_json(result, "job result"));
  return ops(j)->complete(j->store->impl, id, worker, result, jobs__now(j));
}

int stream_jobs_fail(int *out_status, stream_jobs *j, const char *id, const char *worker,
                     const char *error, int retry)
{
  JOBS_TRY(check_job_worker(j, id, worker, "stream_jobs_fail"));
  char text[STREAM_JOBS_ERROR_MAX + 1];
  snprintf(text, sizeof text, "%s", error && error[0] ? error : "failed");
  /* A diagnostic (often an error message quoting a file name or a tool's output), kept as
   * store text, which must be UTF-8: bytes that are not (the cut may split a character too)
   * become '?' rather than losing the failure. */
  stream__utf8_scrub(text);
  store__retry policy = {.base = j->backoff, .cap = j->backoff_max};
  return ops(j)->fail(j->store->impl, out_status, id, worker, text, retry ? &policy : NULL,
                      jobs__now(j));
}

int stream_jobs_release(stream_jobs *j, const char *id, const char *worker)
{
  JOBS_TRY(check_job_worker(j, id, worker, "stream_jobs_release"));
  return ops(j)->release(j->store->impl, id, worker, jobs__now(j));
}

int stream_jobs_cancel(stream_jobs *j, const char *id)
{
  if (!j)
    return stream__err(STREAM_EINVAL, "stream_jobs_cancel: NULL handle");
  JOBS_TRY(jobs__check_id(id, "job id"));
  return ops(j)->cancel(j->store->impl, id, jobs__now(j));
}

int stream_jobs_get(stream_job *out, stream_jobs *j, const char *id)
{
  if (!out || !j)
    return stream__err(STREAM_EINVAL, "stream_jobs_get: NULL argument");
  memset(out, 0, sizeof *out);
  JOBS_TRY(jobs__check_id(id, "job id"));
  return ops(j)->get(j->store->impl, out, id);
}

int stream_jobs_list(stream_job **out, size_t *out_count, stream_jobs *j, int status,
                     unsigned int limit)
{
  if (!out || !out_count || !j)
    return stream__err(STREAM_EINVAL, "stream_jobs_list: NULL argument");
  *out = NULL;
  *out_count = 0;
  if (status != 0 && !stream_job_status_name(status))
    return stream__err(STREAM_EINVAL, "unknown job status %d", status);
  if (limit < 1 || limit > STREAM_JOBS_LIST_MAX)
    return stream__err(STREAM_EINVAL, "list limit %u is outside 1..%d", limit,
                       STREAM_JOBS_LIST_MAX);
  return ops(j)->list(j->store->impl, out, out_count, status, limit);
}

int stream_jobs_counts(stream_jobs_count **out, size_t *out_count, stream_jobs *j,
                       const int *statuses, size_t n_statuses)
{
  if (out)
    *out = NULL;
  if (out_count)
    *out_count = 0;
  if (!out || !out_count || !j)
    return stream__err(STREAM_EINVAL, "stream_jobs_counts: NULL argument");
  static const int every[] = {STREAM_JOB_QUEUED, STREAM_JOB_RUNNING, STREAM_JOB_SUCCEEDED,
                              STREAM_JOB_FAILED, STREAM_JOB_CANCELED};
  const size_t n_every = sizeof every / sizeof every[0];
  if (n_statuses == 0) {
    statuses = every;
    n_statuses = n_every;
  }
  if (!statuses)
    return stream__err(STREAM_EINVAL, "stream_jobs_counts: NULL statuses with n_statuses %zu",
                       n_statuses);
  if (n_statuses > n_every)
    return stream__err(STREAM_EINVAL, "stream_jobs_counts: %zu statuses; there are %zu", n_statuses,
                       n_every);
  for (size_t i = 0; i < n_statuses; i++)
    if (!stream_job_status_name(statuses[i]))
      return stream__err(STREAM_EINVAL, "unknown job status %d", statuses[i]);
  if (!ops(j)->counts)
    return stream__err(STREAM_ENOTSUP, "the %s store backend cannot count jobs",
                       j->store->backend->name);
  return ops(j)->counts(j->store->impl, out, out_count, statuses, n_statuses, STREAM_JOBS_LIST_MAX);
}

/* ---- assets ---------------------------------------------------------------- */

void stream_asset_clear(stream_asset *a)
{
  if (!a)
    return;
  free(a->summary);
  free(a->error);
  memset(a, 0, sizeof *a);
}

void stream_asset_list_free(stream_asset *assets, size_t count)
{
  if (!assets)
    return;
  for (size_t i = 0; i < count; i++)
    stream_asset_clear(&assets[i]);
  free(assets);
}

const char *stream_asset_status_name(int status)
{
  switch (status) {
  case STREAM_ASSET_PROCESSING:
    return "processing";
  case STREAM_ASSET_READY:
    return "ready";
  case STREAM_ASSET_FAILED:
    return "failed";
  default:
    return NULL;
  }
}

static int check_dir(const char *dir)
{
  size_t n = strlen(dir);
  if (n < 1 || n > STREAM_JOBS_DIR_MAX)
    return stream__err(STREAM_EINVAL, "asset directory name must be 1..%d characters",
                       STREAM_JOBS_DIR_MAX);
  for (size_t i = 0; i < n; i++) {
    char c = dir[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return stream__err(STREAM_EINVAL,
                         "asset directory name has characters outside [A-Za-z0-9_-]");
  }
  return STREAM_OK;
}

int stream_jobs_asset_create(char *out_id, stream_jobs *j, const char *title_id,
                             const char *episode_id, const char *dir, const char *job_id)
{
  if (!out_id || !j)
    return stream__err(STREAM_EINVAL, "stream_jobs_asset_create: NULL argument");
  out_id[0] = '\0';
  JOBS_TRY(jobs__check_id(title_id, "title id"));
  if (episode_id && episode_id[0])
    JOBS_TRY(jobs__check_id(episode_id, "episode id"));
  if (job_id && job_id[0])
    JOBS_TRY(jobs__check_id(job_id, "job id"));
  if (dir && dir[0])
    JOBS_TRY(check_dir(dir));
  stream_asset a;
  memset(&a, 0, sizeof a);
  JOBS_TRY(store__new_id(a.id));
  memcpy(a.title_id, title_id, strlen(title_id) + 1);
  if (episode_id)
    memcpy(a.episode_id, episode_id, strlen(episode_id) + 1);
  if (job_id)
    memcpy(a.job_id, job_id, strlen(job_id) + 1);
  const char *d = dir && dir[0] ? dir : a.id;
  memcpy(a.dir, d, strlen(d) + 1);
  a.status = STREAM_ASSET_PROCESSING;
  a.created_at = jobs__now(j);
  JOBS_TRY(ops(j)->asset_insert(j->store->impl, &a));
  memcpy(out_id, a.id, sizeof a.id);
  return STREAM_OK;
}

int stream_jobs_asset_ready(stream_jobs *j, const char *id, const char *summary)
{
  if (!j)
    return stream__err(STREAM_EINVAL, "stream_jobs_asset_ready: NULL handle");
  JOBS_TRY(jobs__check_id(id, "asset id"));
  JOBS_TRY(jobs__check_json(summary, "asset summary"));
  return ops(j)->asset_set_status(j->store->impl, id, STREAM_ASSET_READY, summary, jobs__now(j));
}

int stream_jobs_asset_ready_if(stream_jobs *j, const char *id, const char *summary,
                               const char *expected_current)
{
  if (!j)
    return stream__err(STREAM_EINVAL, "stream_jobs_asset_ready_if: NULL handle");
  JOBS_TRY(jobs__check_id(id, "asset id"));
  if (expected_current && expected_current[0])
    JOBS_TRY(jobs__check_id(expected_current, "expected current asset id"));
  JOBS_TRY(jobs__check_json(summary, "asset summary"));
  return ops(j)->asset_ready_if(j->store->impl, id, summary,
                                expected_current ? expected_current : "", jobs__now(j));
}

int stream_jobs_asset_failed(stream_jobs *j, const char *id, const char *error)
{
  if (!j || !error)
    return stream__err(STREAM_EINVAL, "stream_jobs_asset_failed: NULL argument");
  JOBS_TRY(jobs__check_id(id, "asset id"));
  char text[STREAM_JOBS_ERROR_MAX + 1];
  snprintf(text, sizeof text, "%s", error);
  stream__utf8_scrub(text); /* as in stream_jobs_fail */
  return ops(j)->asset_set_status(j->store->impl, id, STREAM_ASSET_FAILED, text, jobs__now(j));
}

int stream_jobs_asset_get(stream_asset *out, stream_jobs *j, const char *id)
{
  if (!out || !j)
    return stream__err(STREAM_EINVAL, "stream_jobs_asset_get: NULL argument");
  memset(out, 0, sizeof *out);
  JOBS_TRY(jobs__check_id(id, "asset id"));
  return ops(j)->asset_get(j->store->impl, out, id);
}

int stream_jobs_asset_for_title(stream_asset *out, stream_jobs *j, const char *title_id,
                                const char *episode_id)
{
  if (!out || !j)
    return stream__err(STREAM_EINVAL, "stream_jobs_asset_for_title: NULL argument");
  memset(out, 0, sizeof *out);
  JOBS_TRY(jobs__check_id(title_id, "title id"));
  if (episode_id && episode_id[0])
    JOBS_TRY(jobs__check_id(episode_id, "episode id"));
  return ops(j)->asset_for_title(j->store->impl, out, title_id, episode_id ? episode_id : "");
}

int stream_jobs_asset_list(stream_asset **out, size_t *out_count, stream_jobs *j,
                           const char *title_id, unsigned int limit)
{
  if (!out || !out_count || !j)
    return stream__err(STREAM_EINVAL, "stream_jobs_asset_list: NULL argument");
  *out = NULL;
  *out_count = 0;
  if (title_id)
    JOBS_TRY(jobs__check_id(title_id, "title id"));
  if (limit < 1 || limit > STREAM_JOBS_LIST_MAX)
    return stream__err(STREAM_EINVAL, "list limit %u is outside 1..%d", limit,
                       STREAM_JOBS_LIST_MAX);
  return ops(j)->asset_list(j->store->impl, out, out_count, title_id, limit);
}
