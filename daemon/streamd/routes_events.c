/*
 * Player events: POST /v1/events takes a batch (application/x-protobuf or
 * application/json, optionally Content-Encoding: gzip) from a viewer's access
 * token or a playback session's events token and hands it to the events
 * library, which validates everything and stores it in one transaction. A
 * 200 means the batch is committed (durable); any 4xx means nothing of it
 * was stored, so the emitter may drop it, and a 5xx or no answer means
 * retry (the event ids make retries idempotent). A 403 about the batch (an
 * event names a profile the credential may not name) has its own problem
 * type, event-profile-forbidden, so the emitter drops that batch; any other
 * 401/403 is about the credential and the emitter waits for a new token.
 *
 * The events token (POST /v1/playback answers it) is a JWT signed with the
 * access-token key ring but with its own header typ and audience, so
 * stream_auth_verify_access() (typ "at+jwt", aud "streamd") refuses it on
 * every other route; here it is checked for scope "events". The route is
 * public in the table and authenticates in the handler, so that either
 * token is accepted. Like an access token, an events token speaks only for
 * a live account: once the JWT verifies, the account is read from the store
 * (auth.c's verified-token cache spares the read for a few seconds; deleting
 * the account empties it), so a deleted or disabled account's session gets
 * 401 at once instead of until the token expires.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "auth.h"
#include "metrics.h"
#include "problem.h"
#include "routes.h"
#include "routes_util.h"
#include "stream/events.h"
#include "stream/token.h"

#define EVENTS_TOKEN_TYP "events+jwt"
#define EVENTS_TOKEN_AUD "streamd-events"
#define EVENTS_TOKEN_ISS "streamd"
#define EVENTS_TOKEN_SCOPE "events"

int streamd_events_token_issue(char **out, streamd_app *app, const char *account_id,
                               const char *profile_id, const char *session_id, int64_t exp)
{
  *out = NULL;
  cJSON *c = cJSON_CreateObject();
  if (!c || !cJSON_AddStringToObject(c, "pid", profile_id) ||
      !cJSON_AddStringToObject(c, "sid", session_id) ||
      !cJSON_AddStringToObject(c, "scope", EVENTS_TOKEN_SCOPE)) {
    cJSON_Delete(c);
    return STREAM_ENOMEM;
  }
  char *cj = cJSON_PrintUnformatted(c);
  cJSON_Delete(c);
  if (!cj)
    return STREAM_ENOMEM;
  stream_token_issue_options io = STREAM_TOKEN_ISSUE_OPTIONS_INIT;
  io.ttl = 0;
  io.exp = exp;
  io.iss = EVENTS_TOKEN_ISS;
  io.aud = EVENTS_TOKEN_AUD;
  io.sub = account_id;
  io.typ = EVENTS_TOKEN_TYP;
  int rc = stream_token_issue(out, app->keys, NULL, cj, &io);
  cJSON_free(cj);
  return rc;
}

/* Copy a string claim of 1..n-1 bytes into dst; 0, or -1 when absent or too long. */
static int claim_copy(char *dst, size_t n, const cJSON *c, const char *name)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, name);
  if (!cJSON_IsString(v) || !v->valuestring[0] || strlen(v->valuestring) >= n)
    return -1;
  memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
  return 0;
}

/* Verify an events token: STREAM_OK with the account and profile in `v`, or
 * an error. *verified is set when the token itself is a good events token,
 * so an error then is about its account (gone or disabled: STREAM_EAUTH). */
static int events_token_viewer(streamd_viewer *v, int *verified, streamd_app *app, const char *tok)
{
  *verified = 0;
  stream_token_verify_options vo = STREAM_TOKEN_VERIFY_OPTIONS_INIT;
  vo.iss = EVENTS_TOKEN_ISS;
  vo.aud = EVENTS_TOKEN_AUD;
  vo.typ = EVENTS_TOKEN_TYP;
  stream_token_claims reg;
  char *json = NULL;
  int rc = stream_token_verify(&json, &reg, app->keys, tok, &vo);
  if (rc != STREAM_OK)
    return rc;
  cJSON *c = cJSON_Parse(json);
  stream_free(json);
  char sid[STREAM_TOKEN_CLAIM_MAX];
  const cJSON *scope = cJSON_GetObjectItemCaseSensitive(c, "scope");
  rc = STREAM_EAUTH;
  if (c && cJSON_IsString(scope) && strcmp(scope->valuestring, EVENTS_TOKEN_SCOPE) == 0 &&
      reg.sub[0] && strlen(reg.sub) < sizeof(v->account_id) &&
      claim_copy(v->profile_id, sizeof(v->profile_id), c, "pid") == 0 &&
      claim_copy(sid, sizeof(sid), c, "sid") == 0) {
    memcpy(v->account_id, reg.sub, strlen(reg.sub) + 1);
    rc = STREAM_OK;
  }
  cJSON_Delete(c);
  if (rc == STREAM_OK) {
    *verified = 1;
    rc = streamd_auth_events_account(tok, v->account_id, reg.exp);
  }
  return rc;
}

static void reply_unauthorized(streamd_response *resp, streamd_request *req, int code,
                               const char *detail)
{
  streamd_reply_problem(resp, req, code, detail);
  streamd_response_header(resp, "WWW-Authenticate",
                          code == STREAMD_P_UNAUTHENTICATED
                              ? "Bearer realm=\"streamd\""
                              : "Bearer realm=\"streamd\", error=\"invalid_token\"");
}

/*
 * The caller: an events token, else a viewer access token (auth.c's viewer
 * hook, as on every viewer route). 0 with `v` filled and req->identity set
 * (for the access log), or -1 with the 401 answered.
 */
static int events_caller(streamd_viewer *v, streamd_app *app, streamd_request *req,
                         streamd_response *resp)
{
  memset(v, 0, sizeof(*v));
  const char *h = streamd_request_header(req, "Authorization");
  if (!h || !*h || strncasecmp(h, "Bearer ", 7) != 0) {
    reply_unauthorized(resp, req, STREAMD_P_UNAUTHENTICATED,
                       "missing Authorization: Bearer credentials (an access token or the "
                       "playback session's events_token)");
    return -1;
  }
  const char *tok = h + 7;
  while (*tok == ' ')
    tok++;
  int verified = 0;
  int erc = events_token_viewer(v, &verified, app, tok);
  if (verified && erc != STREAM_OK) {
    /* A good events token of an account deleted or disabled since: the same
     * answer as any token that is not valid. */
    memset(v, 0, sizeof(*v));
    if (erc == STREAM_EAUTH)
      reply_unauthorized(resp, req, STREAM_EAUTH, "the bearer token is not valid");
    else
      streamd_reply_service_error(resp, req, erc);
    return -1;
  }
  if (erc == STREAM_OK) {
    memset(&req->identity, 0, sizeof(req->identity));
    req->identity.role = STREAMD_ROLE_VIEWER;
    streamd_viewer_to_subject(req->identity.subject, sizeof(req->identity.subject), v->account_id,
                              v->profile_id, 0, 0);
    return 0;
  }
  memset(v, 0, sizeof(*v));
  streamd_identity id;
  memset(&id, 0, sizeof(id));
  char detail[256] = "";
  int rc = streamd_auth_viewer_jwt(&id, req, NULL, detail, sizeof(detail));
  if (rc != 0) {
    if (erc == STREAM_EEXPIRED && rc != STREAM_EEXPIRED) {
      rc = STREAM_EEXPIRED;
      snprintf(detail, sizeof(detail), "the events token has expired");
    }
    reply_unauthorized(resp, req, rc, detail[0] ? detail : "the bearer token is not valid");
    return -1;
  }
  req->identity = id;
  if (streamd_viewer_from_request(v, req) != 0) {
    reply_unauthorized(resp, req, STREAM_EAUTH, "a viewer access token is required");
    return -1;
  }
  return 0;
}

/* The media type of `ct` without parameters equals `type` (case-insensitive). */
static int media_type_is(const char *ct, const char *type)
{
  if (!ct)
    return 0;
  while (*ct == ' ')
    ct++;
  size_t n = strlen(type);
  if (strncasecmp(ct, type, n) != 0)
    return 0;
  ct += n;
  while (*ct == ' ')
    ct++;
  return *ct == '\0' || *ct == ';';
}

/* The /metrics reason of a batch stream_events_ingest() refused (nothing of it stored). */
static streamd_events_reject reject_reason(int rc)
{
  if (rc == STREAM_ERANGE)
    return STREAMD_EVENTS_TOO_LARGE;
  if (rc == STREAM_EPROTO || rc == STREAM_EINVAL)
    return STREAMD_EVENTS_INVALID;
  if (rc == STREAM_EFORBIDDEN)
    return STREAMD_EVENTS_FORBIDDEN;
  return STREAMD_EVENTS_ERROR; /* storage: a 5xx, the sender retries */
}

void streamd_route_events_ingest(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  streamd_viewer v;
  if (events_caller(&v, app, req, resp) != 0)
    return;
  const char *ct = streamd_request_header(req, "Content-Type");
  int format;
  if (media_type_is(ct, "application/x-protobuf") || media_type_is(ct, "application/protobuf"))
    format = STREAM_EVENTS_PROTOBUF;
  else if (media_type_is(ct, "application/json"))
    format = STREAM_EVENTS_JSON;
  else {
    streamd_metrics_events_rejected(STREAMD_EVENTS_MEDIA_TYPE);
    streamd_reply_problem(resp, req, STREAMD_P_MEDIA_TYPE,
                          "send application/x-protobuf or application/json");
    return;
  }
  const char *ce = streamd_request_header(req, "Content-Encoding");
  int gzip = 0;
  if (ce && strcasecmp(ce, "gzip") == 0)
    gzip = 1;
  else if (ce && *ce && strcasecmp(ce, "identity") != 0) {
    streamd_metrics_events_rejected(STREAMD_EVENTS_MEDIA_TYPE);
    streamd_reply_problem(resp, req, STREAMD_P_MEDIA_TYPE, "Content-Encoding must be gzip");
    return;
  }
  if (req->body_len == 0) {
    streamd_metrics_events_rejected(STREAMD_EVENTS_INVALID);
    streamd_reply_problem(resp, req, STREAM_EINVAL, "the request body is empty");
    return;
  }
  stream_events_result r;
  int rc = stream_events_ingest(app->events, &r, req->body, req->body_len, format, gzip,
                                v.account_id, v.profile_id);
  if (rc != STREAM_OK)
    streamd_metrics_events_rejected(reject_reason(rc));
  if (rc == STREAM_ERANGE) {
    /* Too many events, or a body that inflates past the cap: nothing stored. */
    streamd_reply_problem(resp, req, STREAMD_P_BODY_TOO_LARGE, stream_error_last()->message);
    return;
  }
  if (rc == STREAM_EFORBIDDEN) {
    /* The ingest's only STREAM_EFORBIDDEN (stream/events.h): an event names a profile the
     * credential may not name. The credential itself is good, so the 403 gets a type of its
     * own: the emitter drops this batch instead of waiting for a new token for ever. */
    const stream_error *e = stream_error_last();
    streamd_reply_problem(resp, req, STREAMD_P_EVENT_PROFILE,
                          e && e->code == rc && e->message[0] ? e->message : NULL);
    return;
  }
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  streamd_metrics_events_stored(r.accepted, r.duplicates);
  cJSON *out = cJSON_CreateObject();
  cJSON_AddNumberToObject(out, "accepted", (double)r.accepted);
  cJSON_AddNumberToObject(out, "duplicates", (double)r.duplicates);
  streamd_reply_json(resp, 200, out);
}
