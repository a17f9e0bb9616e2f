/*
 * Playback sessions: POST /v1/playback checks the viewer's profile against
 * the title (maturity, availability window, region: the catalog's viewer
 * filters), the entitlement and a screen lease (billing, when configured),
 * finds the title's ready asset and answers signed HLS and DASH URLs capped
 * at the plan's height, with the lease heartbeat and the resume position.
 * The session id is the lease id, so heartbeat and DELETE act on the lease
 * (a profile with parental limits renews and ends only its own:
 * streamd_billing_lease_mine).
 * The answer carries an events token for POST /v1/events (routes_events.c).
 * The title check uses the request's region too (routes_util.c: region_header).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "billing_http.h"
#include "json.h"
#include "routes.h"
#include "routes_util.h"
#include "stream/billing.h"
#include "stream/delivery.h"
#include "stream/jobs.h"

/* 1 when the title JSON lists episode `id` in one of its seasons. */
static int has_episode(const cJSON *title, const char *id)
{
  const cJSON *season, *ep;
  cJSON_ArrayForEach(season, cJSON_GetObjectItemCaseSensitive(title, "seasons"))
  {
    cJSON_ArrayForEach(ep, cJSON_GetObjectItemCaseSensitive(season, "episodes"))
    {
      const cJSON *eid = cJSON_GetObjectItemCaseSensitive(ep, "id");
      if (cJSON_IsString(eid) && strcmp(eid->valuestring, id) == 0)
        return 1;
    }
  }
  return 0;
}

/* The profile's resume position of the title (episode), in ms; 0 when none. */
static double resume_ms(streamd_app *app, const stream_catalog_viewer *cv, const char *title_id,
                        const char *episode_id)
{
  char *json = NULL;
  if (stream_catalog_continue_watching(&json, app->catalog, cv, 100) != STREAM_OK)
    return 0;
  cJSON *root = cJSON_Parse(json);
  stream_free(json);
  double ms = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "items"))
  {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "title");
    const cJSON *tid = cJSON_GetObjectItemCaseSensitive(t, "id");
    const cJSON *eid = cJSON_GetObjectItemCaseSensitive(it, "episode_id");
    const cJSON *pos = cJSON_GetObjectItemCaseSensitive(it, "position_s");
    if (!cJSON_IsString(tid) || strcmp(tid->valuestring, title_id) != 0 || !cJSON_IsNumber(pos))
      continue;
    if (episode_id && (!cJSON_IsString(eid) || strcmp(eid->valuestring, episode_id) != 0))
      continue;
    ms = pos->valuedouble * 1000.0;
    break;
  }
  cJSON_Delete(root);
  return ms;
}

void streamd_route_playback_start(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  streamd_viewer v;
  if (streamd_viewer_need_profile(&v, req, resp) != 0)
    return;
  cJSON *body = NULL;
  if (streamd_body_object(&body, req, resp) != 0)
    return;
  char detail[256] = "";
  const char *title_id = NULL, *episode_id = NULL, *device_id = NULL, *device_name = NULL,
             *format = NULL;
  if (streamd_json_get_string(&title_id, body, "title_id", 1, 64, detail, sizeof(detail)) ==
          STREAM_EINVAL ||
      streamd_json_get_string(&episode_id, body, "episode_id", 0, 64, detail, sizeof(detail)) ==
          STREAM_EINVAL ||
      streamd_json_get_string(&device_id, body, "device_id", 1, 128, detail, sizeof(detail)) ==
          STREAM_EINVAL ||
      streamd_json_get_string(&device_name, body, "device_name", 0, 128, detail, sizeof(detail)) ==
          STREAM_EINVAL ||
      streamd_json_get_string(&format, body, "format", 0, 8, detail, sizeof(detail)) ==
          STREAM_EINVAL ||
      !title_id || !device_id) {
    streamd_reply_problem(resp, req, STREAM_EINVAL,
                          detail[0] ? detail : "fields 'title_id' and 'device_id' are required");
    cJSON_Delete(body);
    return;
  }
  if (format && strcmp(format, "hls") != 0 && strcmp(format, "dash") != 0) {
    streamd_reply_problem(resp, req, STREAM_EINVAL, "field 'format' must be \"hls\" or \"dash\"");
    cJSON_Delete(body);
    return;
  }
  if (episode_id && !*episode_id)
    episode_id = NULL;

  /* Maturity, kids, availability window and region: hidden titles are 404. */
  stream_catalog_viewer cv;
  streamd_viewer_catalog(&cv, &v);
  char *tjson = NULL;
  int rc = stream_catalog_title_get(&tjson, app->catalog, title_id, &cv);
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    cJSON_Delete(body);
    return;
  }
  cJSON *title = cJSON_Parse(tjson);
  stream_free(tjson);
  int ep_ok = !episode_id || has_episode(title, episode_id);
  cJSON_Delete(title);
  if (!ep_ok) {
    streamd_reply_problem(resp, req, STREAM_ENOTFOUND, "no such episode of this title");
    cJSON_Delete(body);
    return;
  }

  /* The ready asset. */
  stream_asset asset;
  memset(&asset, 0, sizeof(asset));
  rc = app->media_jobs ? stream_jobs_asset_for_title(&asset, app->media_jobs, title_id, episode_id)
                       : STREAM_ENOTFOUND;
  if (rc != STREAM_OK) {
    streamd_reply_problem(resp, req, rc == STREAM_ENOTFOUND ? STREAM_ENOTFOUND : rc,
                          rc == STREAM_ENOTFOUND ? "this title has no playable media yet"
                                                 : stream_error_last()->message);
    cJSON_Delete(body);
    return;
  }

  /* Entitlement and a screen (billing, when the daemon runs it). */
  int max_height = 0;
  stream_billing_lease lease;
  memset(&lease, 0, sizeof(lease));
  if (app->billing) {
    stream_billing_entitlement ent;
    memset(&ent, 0, sizeof(ent));
    rc = stream_billing_entitlement_check(&ent, app->billing, v.account_id, v.profile_id, title_id,
                                          device_id);
    if (rc == STREAM_OK && !ent.allowed)
      rc = ent.reason == STREAM_BILLING_SCREENS ? STREAM_ECONFLICT : STREAM_EFORBIDDEN;
    if (rc == STREAM_OK) {
      max_height = ent.max_height;
      rc = stream_billing_lease_acquire(&lease, NULL, NULL, app->billing, v.account_id,
                                        v.profile_id, title_id, device_id, device_name);
      if (rc == STREAM_EBUSY)
        rc = STREAM_ECONFLICT;
    }
    if (rc != STREAM_OK) {
      streamd_reply_problem(resp, req, rc,
                            rc == STREAM_ECONFLICT || rc == STREAM_EFORBIDDEN
                                ? (ent.allowed ? stream_error_last()->message : ent.message)
                                : stream_error_last()->message);
      stream_asset_clear(&asset);
      cJSON_Delete(body);
      return;
    }
  } else {
    /* No billing service: a session id of our own, no lease, no cap. */
    unsigned char r[16];
    static const char hex[] = "0123456789abcdef";
    stream_random_bytes(r, sizeof(r));
    for (size_t i = 0; i < sizeof(r); i++) {
      lease.id[2 * i] = hex[r[i] >> 4];
      lease.id[2 * i + 1] = hex[r[i] & 15];
    }
  }

  int64_t now = (int64_t)time(NULL);
  stream_delivery_urls u;
  rc = stream_delivery_sign(&u, app->delivery, asset.dir, max_height,
                            now + (int64_t)app->cfg->media_url_ttl_s, NULL);
  if (rc != STREAM_OK) {
    if (app->billing)
      stream_billing_lease_release(app->billing, v.account_id, lease.id);
    streamd_reply_service_error(resp, req, rc);
    stream_asset_clear(&asset);
    cJSON_Delete(body);
    return;
  }
  /* The player's credential for POST /v1/events, valid as long as the URLs. */
  char *events_token = NULL;
  rc = streamd_events_token_issue(&events_token, app, v.account_id, v.profile_id, lease.id,
                                  u.expires);
  if (rc != STREAM_OK) {
    if (app->billing)
      stream_billing_lease_release(app->billing, v.account_id, lease.id);
    streamd_reply_service_error(resp, req, rc);
    stream_delivery_urls_clear(&u);
    stream_asset_clear(&asset);
    cJSON_Delete(body);
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "session_id", lease.id);
  cJSON_AddStringToObject(o, "asset_id", asset.id);
  cJSON_AddStringToObject(o, "hls_url", u.hls_url);
  cJSON_AddStringToObject(o, "dash_url", u.dash_url);
  cJSON_AddStringToObject(o, "url", format && strcmp(format, "dash") == 0 ? u.dash_url : u.hls_url);
  cJSON_AddNumberToObject(o, "expires_at", (double)u.expires);
  cJSON_AddNumberToObject(o, "max_height", max_height);
  cJSON_AddNumberToObject(o, "resume_position_ms", resume_ms(app, &cv, title_id, episode_id));
  cJSON_AddStringToObject(o, "events_token", events_token);
  stream_free(events_token);
  if (app->billing) {
    cJSON *l = cJSON_AddObjectToObject(o, "lease");
    char hb[1024];
    snprintf(hb, sizeof(hb), "%s/v1/playback/%s/heartbeat", app->public_url, lease.id);
    int64_t ttl = lease.expires_at - now;
    cJSON_AddStringToObject(l, "id", lease.id);
    cJSON_AddStringToObject(l, "heartbeat_url", hb);
    cJSON_AddNumberToObject(l, "interval_s", (double)(ttl >= 3 ? ttl / 3 : 1));
    cJSON_AddNumberToObject(l, "expires_at", (double)lease.expires_at);
  } else {
    cJSON_AddNullToObject(o, "lease");
  }
  /* One Set-Cookie header per line: CloudFront's cookies come as several '\n'-separated
   * values (stream_delivery_urls.cookie). */
  for (char *c = u.cookie, *nl; c && *c; c = nl ? nl + 1 : c + strlen(c)) {
    nl = strchr(c, '\n');
    if (nl)
      *nl = '\0';
    streamd_response_header(resp, "Set-Cookie", c);
  }
  stream_delivery_urls_clear(&u);
  stream_asset_clear(&asset);
  cJSON_Delete(body);
  streamd_reply_json(resp, 201, o);
}

void streamd_route_playback_heartbeat(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  streamd_viewer v;
  if (streamd_viewer_require(&v, req, resp) != 0)
    return;
  const char *id = streamd_request_param(req, "session");
  if (!app->billing) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "session_id", id);
    cJSON_AddNullToObject(o, "expires_at");
    streamd_reply_json(resp, 200, o);
    return;
  }
  if (streamd_billing_lease_mine(app, &v, id, "renew lease", req, resp) != 0)
    return;
  stream_billing_lease lease;
  int rc = stream_billing_lease_heartbeat(&lease, app->billing, v.account_id, id);
  if (rc != STREAM_OK) {
    /* A lapsed lease: the player must start a new session (which may find the screens taken). */
    streamd_reply_problem(resp, req, rc == STREAM_EEXPIRED ? STREAM_ECONFLICT : rc,
                          stream_error_last()->message);
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "session_id", lease.id);
  cJSON_AddNumberToObject(o, "expires_at", (double)lease.expires_at);
  streamd_reply_json(resp, 200, o);
}

void streamd_route_playback_stop(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  streamd_viewer v;
  if (streamd_viewer_require(&v, req, resp) != 0)
    return;
  if (app->billing &&
      streamd_billing_lease_end(app, &v, streamd_request_param(req, "session"), req, resp) != 0)
    return;
  streamd_reply_empty(resp, 204);
}
