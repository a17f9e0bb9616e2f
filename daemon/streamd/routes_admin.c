/*
 * Operator catalog routes: create/replace/delete a title and bulk import;
 * and POST /v1/admin/purge, the retention purge on demand (purge_job.c).
 * The body is checked by the strict JSON parser first (so malformed JSON is
 * a "malformed-json" problem like everywhere else), then handed to the
 * catalog service, which validates every field.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "json.h"
#include "problem.h"
#include "purge_job.h"
#include "routes.h"
#include "routes_util.h"
#include "stream/catalog.h"

static void put_title(streamd_request *req, streamd_response *resp, const char *path_id)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  cJSON *body = NULL;
  if (streamd_body_object(&body, req, resp) != 0)
    return;
  if (path_id) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(body, "id");
    if (id && !(cJSON_IsString(id) && strcmp(id->valuestring, path_id) == 0)) {
      cJSON_Delete(body);
      streamd_reply_problem(resp, req, STREAM_EINVAL,
                            "field 'id' must be absent or equal to the id in the path");
      return;
    }
    if (!id && !cJSON_AddStringToObject(body, "id", path_id)) {
      cJSON_Delete(body);
      streamd_reply_problem(resp, req, STREAM_ENOMEM, "building the title");
      return;
    }
  }
  char *doc = cJSON_PrintUnformatted(body);
  cJSON_Delete(body);
  if (!doc) {
    streamd_reply_problem(resp, req, STREAM_ENOMEM, "building the title");
    return;
  }
  char *json = NULL;
  int created = 0;
  int rc = stream_catalog_title_put(&json, &created, app->catalog, doc);
  free(doc);
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  if (created) { /* Location: the title's operator URL (PUT, DELETE) */
    cJSON *t = cJSON_Parse(json);
    const cJSON *tid = t ? cJSON_GetObjectItemCaseSensitive(t, "id") : NULL;
    if (cJSON_IsString(tid)) {
      char location[160];
      snprintf(location, sizeof(location), "/v1/admin/titles/%s", tid->valuestring);
      streamd_response_header(resp, "Location", location);
    }
    cJSON_Delete(t);
  }
  streamd_reply_service_json(resp, req, created ? 201 : 200, json);
}

void streamd_route_admin_title_create(streamd_request *req, streamd_response *resp)
{
  put_title(req, resp, NULL);
}

void streamd_route_admin_title_put(streamd_request *req, streamd_response *resp)
{
  put_title(req, resp, streamd_request_param(req, "id"));
}

void streamd_route_admin_title_delete(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  int rc = stream_catalog_title_delete(app->catalog, streamd_request_param(req, "id"));
  if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    streamd_reply_empty(resp, 204);
}

/* A problem body with the import report added as the "report" member. */
static void reply_import_problem(streamd_response *resp, const streamd_request *req, int code,
                                 const char *report_json)
{
  streamd_reply_service_error(resp, req, code);
  if (!report_json || !resp->body)
    return;
  cJSON *p = cJSON_Parse(resp->body);
  cJSON *report = cJSON_Parse(report_json);
  if (p && report && cJSON_AddItemToObject(p, "report", report)) {
    report = NULL;
    char *text = cJSON_PrintUnformatted(p);
    if (text) {
      free(resp->body);
      resp->body = text;
      resp->body_len = strlen(text);
    }
  }
  cJSON_Delete(report);
  cJSON_Delete(p);
}

void streamd_route_admin_import(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  cJSON *body = NULL;
  if (streamd_body_object(&body, req, resp) != 0)
    return;
  cJSON_Delete(body);
  stream_catalog_import_result r;
  int rc = stream_catalog_import(&r, app->catalog, req->body);
  if (rc != STREAM_OK) {
    reply_import_problem(resp, req, rc, r.report_json);
  } else if (r.report_json) {
    streamd_reply_text(resp, 200, "application/json", r.report_json, strlen(r.report_json));
  } else {
    streamd_reply_problem(resp, req, STREAM_EINTERNAL, "import returned no report");
  }
  stream_catalog_import_result_clear(&r);
}

/* POST /v1/admin/purge: the retention purge now, answered with the rows deleted per table. */
void streamd_route_admin_purge(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  if (streamd_body_none(req, resp) != 0)
    return;
  stream_store_purge_counts c;
  int rc = streamd_purge_run(&c, app->store);
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  cJSON *o = streamd_purge_counts_json(&c);
  if (!o)
    streamd_reply_problem(resp, req, STREAM_ENOMEM, "building the purge counts");
  else
    streamd_reply_json(resp, 200, o);
}
