/*
 * Recommendations: GET /v1/home (a profile's home-screen rows), and for
 * operators GET /v1/admin/recs (the served model) and POST
 * /v1/admin/recs/retrain (retrain now). The service and its retrain thread
 * live in recs_job.c.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "playable.h"
#include "recs_job.h"
#include "routes.h"
#include "routes_util.h"
#include "stream/recs.h"

void streamd_route_home(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  stream_catalog_viewer cv;
  streamd_app *app = streamd_catalog_begin(&cv, &v, req, resp, 1);
  if (!app)
    return;
  unsigned int per_row = 0;
  if (streamd_query_uint(&per_row, req, resp, "per_row", 1, STREAM_RECS_ROW_MAX) != 0)
    return;
  char *json = NULL;
  int rc = stream_recs_home(&json, app->recs, &cv, per_row);
  if (rc == STREAM_OK && streamd_playable_rows(app, &json) != 0) {
    stream_free(json);
    streamd_reply_problem(resp, req, STREAM_ENOMEM, "adding the playable flags");
    return;
  }
  streamd_reply_service_result(resp, req, rc, json);
}

void streamd_route_admin_recs(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  char *json = NULL;
  int rc = stream_recs_info(&json, app->recs);
  streamd_reply_service_result(resp, req, rc, json);
}

void streamd_route_admin_recs_retrain(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  if (streamd_body_none(req, resp) != 0)
    return;
  char *json = NULL;
  int rc = streamd_recs_retrain(app->recs_svc, &json);
  streamd_reply_service_result(resp, req, rc, json);
}
