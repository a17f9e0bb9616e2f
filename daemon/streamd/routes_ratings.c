/*
 * Viewer ratings routes: thumbs up/down of a title by the token's profile
 * (GET/PUT/DELETE /v1/ratings/{title_id}). Like My List, only titles the
 * profile may see can be rated or read (a hidden title is "not found"), and
 * every answer is the current state {"title_id":..,"rating":"up"|"down"|null}.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "json.h"
#include "routes.h"
#include "routes_util.h"
#include "stream/catalog.h"

/* The app, the viewer with a profile and a title it may see, or an answered problem (NULL). */
static streamd_app *begin(streamd_viewer *v, const char **title_id, streamd_request *req,
                          streamd_response *resp)
{
  stream_catalog_viewer cv;
  streamd_app *app = streamd_catalog_begin(&cv, v, req, resp, 1);
  if (!app)
    return NULL;
  *title_id = streamd_request_param(req, "title_id");
  char *json = NULL;
  int rc = stream_catalog_title_get(&json, app->catalog, *title_id, &cv);
  stream_free(json);
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return NULL;
  }
  return app;
}

/* The outcome of a rating call: its service error, or the current state. */
static void reply_rating(streamd_response *resp, const streamd_request *req, int rc,
                         const char *title_id, int value)
{
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  cJSON *o = cJSON_CreateObject();
  if (!o || !cJSON_AddStringToObject(o, "title_id", title_id) ||
      !(value ? cJSON_AddStringToObject(o, "rating", value > 0 ? "up" : "down")
              : cJSON_AddNullToObject(o, "rating"))) {
    cJSON_Delete(o);
    streamd_reply_problem(resp, req, STREAM_ENOMEM, "out of memory");
    return;
  }
  streamd_reply_json(resp, 200, o);
}

void streamd_route_rating_get(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  const char *title_id = NULL;
  streamd_app *app = begin(&v, &title_id, req, resp);
  if (!app)
    return;
  int value = 0;
  int rc = stream_catalog_rating_get(&value, app->catalog, v.profile_id, title_id);
  reply_rating(resp, req, rc, title_id, value);
}

void streamd_route_rating_put(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  const char *title_id = NULL;
  streamd_app *app = begin(&v, &title_id, req, resp);
  if (!app)
    return;
  cJSON *body = NULL;
  if (streamd_body_object(&body, req, resp) != 0)
    return;
  char detail[256] = "";
  const char *rating = NULL;
  int rc = streamd_json_get_string(&rating, body, "rating", 1, 8, detail, sizeof(detail));
  int value = 0;
  if (rc == STREAM_OK) {
    if (strcmp(rating, "up") == 0)
      value = 1;
    else if (strcmp(rating, "down") == 0)
      value = -1;
    else {
      rc = STREAM_EINVAL;
      snprintf(detail, sizeof(detail), "field 'rating' must be \"up\" or \"down\"");
    }
  }
  static const char *const fields[] = {"rating", NULL};
  if (rc == STREAM_OK)
    rc = streamd_json_only_fields(body, fields, detail, sizeof(detail));
  cJSON_Delete(body);
  if (rc != STREAM_OK) {
    streamd_reply_problem(resp, req, rc, detail);
    return;
  }
  rc = stream_catalog_rating_put(app->catalog, v.profile_id, title_id, value);
  reply_rating(resp, req, rc, title_id, value);
}

void streamd_route_rating_delete(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  const char *title_id = NULL;
  streamd_app *app = begin(&v, &title_id, req, resp);
  if (!app)
    return;
  int rc = stream_catalog_rating_put(app->catalog, v.profile_id, title_id, 0);
  reply_rating(resp, req, rc, title_id, 0);
}
