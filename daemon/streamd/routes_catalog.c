/*
 * Viewer catalog routes: genres, browse, search, title detail, resume
 * positions, continue watching and My List. Each parses the request, calls
 * the catalog service with the viewer's filters (the access token's profile
 * claims and the request's region) and answers the service's JSON or a
 * problem. The writes (resume positions, My List) first check that the
 * viewer may see the title: the library's writes take no viewer.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "json.h"
#include "playable.h"
#include "routes.h"
#include "routes_util.h"
#include "stream/catalog.h"

/* The service's answer with "playable" flags added (playable.h). */
static void reply_playable(streamd_response *resp, streamd_request *req, streamd_app *app, int rc,
                           char *json, int (*annotate)(streamd_app *, char **))
{
  if (rc == STREAM_OK && annotate(app, &json) != 0) {
    stream_free(json);
    streamd_reply_problem(resp, req, STREAM_ENOMEM, "adding the playable flags");
    return;
  }
  streamd_reply_service_result(resp, req, rc, json);
}

void streamd_route_genres(streamd_request *req, streamd_response *resp)
{
  stream_catalog_viewer cv;
  streamd_viewer v;
  streamd_app *app = streamd_catalog_begin(&cv, &v, req, resp, 0);
  if (!app)
    return;
  char *json = NULL;
  /* Only the genres this viewer can browse: every one lists at least a title. */
  int rc = stream_catalog_genres_for(&json, app->catalog, &cv);
  streamd_reply_service_result(resp, req, rc, json);
}

void streamd_route_browse(streamd_request *req, streamd_response *resp)
{
  stream_catalog_viewer cv;
  streamd_viewer v;
  streamd_app *app = streamd_catalog_begin(&cv, &v, req, resp, 0);
  if (!app)
    return;
  unsigned int limit = 0;
  if (streamd_query_uint(&limit, req, resp, "limit", 1, STREAM_STORE_PAGE_MAX) != 0)
    return;
  char *json = NULL;
  int rc = stream_catalog_browse(&json, app->catalog, streamd_request_query(req, "genre"),
                                 streamd_request_query(req, "cursor"), limit, &cv);
  reply_playable(resp, req, app, rc, json, streamd_playable_items);
}

void streamd_route_search(streamd_request *req, streamd_response *resp)
{
  stream_catalog_viewer cv;
  streamd_viewer v;
  streamd_app *app = streamd_catalog_begin(&cv, &v, req, resp, 0);
  if (!app)
    return;
  const char *q = streamd_request_query(req, "q");
  if (!q || !*q) {
    streamd_reply_problem(resp, req, STREAM_EINVAL, "query 'q' is required");
    return;
  }
  if (!streamd_utf8_valid(q, strlen(q), NULL)) {
    streamd_reply_problem(resp, req, STREAM_EINVAL, "query 'q' is not valid UTF-8");
    return;
  }
  unsigned int limit = 0;
  if (streamd_query_uint(&limit, req, resp, "limit", 1, STREAM_STORE_PAGE_MAX) != 0)
    return;
  char *json = NULL;
  int rc = stream_catalog_search(&json, app->catalog, q, limit, &cv);
  reply_playable(resp, req, app, rc, json, streamd_playable_items);
}

void streamd_route_title(streamd_request *req, streamd_response *resp)
{
  stream_catalog_viewer cv;
  streamd_viewer v;
  streamd_app *app = streamd_catalog_begin(&cv, &v, req, resp, 0);
  if (!app)
    return;
  char *json = NULL;
  int rc = stream_catalog_title_get(&json, app->catalog, streamd_request_param(req, "id"), &cv);
  reply_playable(resp, req, app, rc, json, streamd_playable_detail);
}

void streamd_route_progress_put(streamd_request *req, streamd_response *resp)
{
  stream_catalog_viewer cv;
  streamd_viewer v;
  streamd_app *app = streamd_catalog_begin(&cv, &v, req, resp, 1);
  if (!app)
    return;
  cJSON *body = NULL;
  if (streamd_body_object(&body, req, resp) != 0)
    return;
  char detail[256] = "";
  const char *title_id = NULL, *episode_id = NULL;
  long long pos = 0, dur = 0;
  int rc;
  if ((rc = streamd_json_get_string(&title_id, body, "title_id", 1, 64, detail, sizeof(detail))) ||
      ((rc = streamd_json_get_string(&episode_id, body, "episode_id", 0, 64, detail,
                                     sizeof(detail))) &&
       rc != STREAM_ENOTFOUND) ||
      (rc = streamd_json_get_int(&pos, body, "position_s", 1, 0, 604800, detail, sizeof(detail))) ||
      (rc = streamd_json_get_int(&dur, body, "duration_s", 1, 1, 604800, detail, sizeof(detail)))) {
    cJSON_Delete(body);
    streamd_reply_problem(resp, req, rc, detail);
    return;
  }
  static const char *const fields[] = {"title_id", "episode_id", "position_s", "duration_s", NULL};
  if (streamd_json_only_fields(body, fields, detail, sizeof(detail)) != 0) {
    cJSON_Delete(body);
    streamd_reply_problem(resp, req, STREAM_EINVAL, detail);
    return;
  }
  /* Only titles the profile may see, as My List: a hidden title is "not found" exactly like a
   * missing one, before anything about it (movie or series, its episodes) is checked or
   * written (stream_catalog_progress_put applies no viewer filter). */
  rc = streamd_title_visible(app->catalog, &cv, title_id);
  if (rc == STREAM_OK)
    rc = stream_catalog_progress_put(app->catalog, v.profile_id, title_id, episode_id, pos, dur);
  cJSON_Delete(body);
  if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    streamd_reply_empty(resp, 204);
}

void streamd_route_continue_watching(streamd_request *req, streamd_response *resp)
{
  stream_catalog_viewer cv;
  streamd_viewer v;
  streamd_app *app = streamd_catalog_begin(&cv, &v, req, resp, 1);
  if (!app)
    return;
  unsigned int limit = 0;
  if (streamd_query_uint(&limit, req, resp, "limit", 1, STREAM_STORE_PAGE_MAX) != 0)
    return;
  char *json = NULL;
  int rc = stream_catalog_continue_watching(&json, app->catalog, &cv, limit);
  reply_playable(resp, req, app, rc, json, streamd_playable_items);
}

void streamd_route_mylist_get(streamd_request *req, streamd_response *resp)
{
  stream_catalog_viewer cv;
  streamd_viewer v;
  streamd_app *app = streamd_catalog_begin(&cv, &v, req, resp, 1);
  if (!app)
    return;
  char *json = NULL;
  int rc = stream_catalog_mylist_list(&json, app->catalog, &cv);
  reply_playable(resp, req, app, rc, json, streamd_playable_items);
}

void streamd_route_mylist_put(streamd_request *req, streamd_response *resp)
{
  stream_catalog_viewer cv;
  streamd_viewer v;
  streamd_app *app = streamd_catalog_begin(&cv, &v, req, resp, 1);
  if (!app)
    return;
  const char *title_id = streamd_request_param(req, "title_id");
  /* Only titles the profile may see can be added (a hidden title is "not found"). */
  int rc = streamd_title_visible(app->catalog, &cv, title_id);
  if (rc == STREAM_OK)
    rc = stream_catalog_mylist_add(app->catalog, v.profile_id, title_id);
  if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    streamd_reply_empty(resp, 204);
}

void streamd_route_mylist_delete(streamd_request *req, streamd_response *resp)
{
  stream_catalog_viewer cv;
  streamd_viewer v;
  streamd_app *app = streamd_catalog_begin(&cv, &v, req, resp, 1);
  if (!app)
    return;
  int rc = stream_catalog_mylist_remove(app->catalog, v.profile_id,
                                        streamd_request_param(req, "title_id"));
  if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    streamd_reply_empty(resp, 204);
}
