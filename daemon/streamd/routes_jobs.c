/*
 * Operator views of the durable jobs and the assets they produce:
 * GET /v1/admin/jobs, /v1/admin/jobs/{id}, /v1/admin/assets?title_id=.
 * Errors are shown with the server's paths relative to the data directory and media root
 * (streamd_ingest_scrub_paths; ingest.c stores them so, this also covers older rows).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "ingest.h"
#include "problem.h"
#include "routes.h"
#include "routes_util.h"

static stream_jobs *jobs_require(const streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return NULL;
  if (!app->ingest) {
    streamd_reply_problem(resp, req, STREAM_ENOTSUP, "jobs are not enabled");
    return NULL;
  }
  return streamd_ingest_jobs(app->ingest);
}

/* JSON text stored by the library, embedded as JSON (null when absent or unparsable). */
static void add_json(cJSON *o, const char *name, const char *text)
{
  cJSON *v = text ? cJSON_Parse(text) : NULL;
  cJSON_AddItemToObject(o, name, v ? v : cJSON_CreateNull());
}

/* An error text of a job or asset, as operators see it; null when none. */
static void add_error(cJSON *o, const char *text)
{
  streamd_app *app = streamd_app_get();
  if (!text) {
    cJSON_AddNullToObject(o, "error");
    return;
  }
  char shown[STREAM_JOBS_ERROR_MAX + 64];
  if (app)
    streamd_ingest_scrub_paths(shown, sizeof(shown), text, app->cfg->data_dir, app->media_root);
  else
    snprintf(shown, sizeof(shown), "%s", text);
  cJSON_AddStringToObject(o, "error", shown);
}

static cJSON *job_json(const stream_job *j)
{
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  const char *status = stream_job_status_name(j->status);
  cJSON_AddStringToObject(o, "id", j->id);
  cJSON_AddStringToObject(o, "kind", j->kind);
  cJSON_AddStringToObject(o, "status", status ? status : "unknown");
  cJSON_AddNumberToObject(o, "progress", j->progress);
  cJSON_AddNumberToObject(o, "attempts", j->attempts);
  cJSON_AddNumberToObject(o, "max_attempts", j->max_attempts);
  add_error(o, j->error);
  add_json(o, "payload", j->payload);
  add_json(o, "result", j->result);
  if (j->dedup_key[0])
    cJSON_AddStringToObject(o, "dedup_key", j->dedup_key);
  if (j->worker[0])
    cJSON_AddStringToObject(o, "worker", j->worker);
  cJSON_AddBoolToObject(o, "cancel_requested", j->cancel_requested);
  cJSON_AddNumberToObject(o, "lease_until", (double)j->lease_until);
  cJSON_AddNumberToObject(o, "run_after", (double)j->run_after);
  cJSON_AddNumberToObject(o, "created_at", (double)j->created_at);
  cJSON_AddNumberToObject(o, "updated_at", (double)j->updated_at);
  cJSON_AddNumberToObject(o, "finished_at", (double)j->finished_at);
  return o;
}

static cJSON *asset_json(const stream_asset *a)
{
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  const char *status = stream_asset_status_name(a->status);
  cJSON_AddStringToObject(o, "id", a->id);
  cJSON_AddStringToObject(o, "title_id", a->title_id);
  if (a->episode_id[0])
    cJSON_AddStringToObject(o, "episode_id", a->episode_id);
  else
    cJSON_AddNullToObject(o, "episode_id");
  cJSON_AddStringToObject(o, "status", status ? status : "unknown");
  cJSON_AddStringToObject(o, "dir", a->dir);
  if (a->job_id[0])
    cJSON_AddStringToObject(o, "job_id", a->job_id);
  if (a->error)
    add_error(o, a->error);
  add_json(o, "summary", a->summary);
  cJSON_AddNumberToObject(o, "created_at", (double)a->created_at);
  cJSON_AddNumberToObject(o, "ready_at", (double)a->ready_at);
  return o;
}

void streamd_route_admin_jobs(streamd_request *req, streamd_response *resp)
{
  stream_jobs *j = jobs_require(req, resp);
  if (!j)
    return;
  unsigned int limit = 100;
  if (streamd_query_uint(&limit, req, resp, "limit", 1, STREAM_JOBS_LIST_MAX) != 0)
    return;
  int status = 0;
  const char *st = streamd_request_query(req, "status");
  if (st) {
    for (int s = STREAM_JOB_QUEUED; s <= STREAM_JOB_CANCELED; s++)
      if (strcmp(st, stream_job_status_name(s)) == 0)
        status = s;
    if (!status) {
      streamd_reply_problem(resp, req, STREAM_EINVAL,
                            "status must be queued, running, succeeded, failed or canceled");
      return;
    }
  }
  stream_job *list = NULL;
  size_t n = 0;
  int rc = stream_jobs_list(&list, &n, j, status, limit);
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(o, "jobs");
  for (size_t i = 0; i < n; i++)
    cJSON_AddItemToArray(arr, job_json(&list[i]));
  stream_job_list_free(list, n);
  streamd_reply_json(resp, 200, o);
}

void streamd_route_admin_job(streamd_request *req, streamd_response *resp)
{
  stream_jobs *j = jobs_require(req, resp);
  if (!j)
    return;
  stream_job job;
  int rc = stream_jobs_get(&job, j, streamd_request_param(req, "id"));
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  streamd_reply_json(resp, 200, job_json(&job));
  stream_job_clear(&job);
}

void streamd_route_admin_assets(streamd_request *req, streamd_response *resp)
{
  stream_jobs *j = jobs_require(req, resp);
  if (!j)
    return;
  unsigned int limit = 100;
  if (streamd_query_uint(&limit, req, resp, "limit", 1, STREAM_JOBS_LIST_MAX) != 0)
    return;
  stream_asset *list = NULL;
  size_t n = 0;
  int rc = stream_jobs_asset_list(&list, &n, j, streamd_request_query(req, "title_id"), limit);
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(o, "assets");
  for (size_t i = 0; i < n; i++)
    cJSON_AddItemToArray(arr, asset_json(&list[i]));
  stream_asset_list_free(list, n);
  streamd_reply_json(resp, 200, o);
}
