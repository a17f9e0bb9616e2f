/*
 * Player events: POST /v1/events takes a batch (application/x-protobuf or
 * application/json, optionally Content-Encoding: gzip) from a viewer's access
 * token and hands it to the events library, which validates everything and
 * stores it in one transaction. A 200 means the batch is committed (durable);
 * any 4xx means nothing of it was stored, so the emitter may drop it, and a
 * 5xx or no answer means retry (the event ids make retries idempotent).
 */
#include <string.h>
#include <strings.h>

#include "app.h"
#include "problem.h"
#include "routes.h"
#include "routes_util.h"
#include "stream/events.h"

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

void streamd_route_events_ingest(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  streamd_viewer v;
  if (streamd_viewer_from_request(&v, req) != 0) {
    streamd_reply_problem(resp, req, STREAM_EAUTH, "a viewer access token is required");
    return;
  }
  const char *ct = streamd_request_header(req, "Content-Type");
  int format;
  if (media_type_is(ct, "application/x-protobuf") || media_type_is(ct, "application/protobuf"))
    format = STREAM_EVENTS_PROTOBUF;
  else if (media_type_is(ct, "application/json"))
    format = STREAM_EVENTS_JSON;
  else {
    streamd_reply_problem(resp, req, STREAMD_P_MEDIA_TYPE,
                          "send application/x-protobuf or application/json");
    return;
  }
  const char *ce = streamd_request_header(req, "Content-Encoding");
  int gzip = 0;
  if (ce && strcasecmp(ce, "gzip") == 0)
    gzip = 1;
  else if (ce && *ce && strcasecmp(ce, "identity") != 0) {
    streamd_reply_problem(resp, req, STREAMD_P_MEDIA_TYPE, "Content-Encoding must be gzip");
    return;
  }
  if (req->body_len == 0) {
    streamd_reply_problem(resp, req, STREAM_EINVAL, "the request body is empty");
    return;
  }
  stream_events_result r;
  int rc = stream_events_ingest(app->events, &r, req->body, req->body_len, format, gzip,
                                v.account_id, v.profile_id);
  if (rc == STREAM_ERANGE) {
    /* Too many events, or a body that inflates past the cap: nothing stored. */
    streamd_reply_problem(resp, req, STREAMD_P_BODY_TOO_LARGE, stream_error_last()->message);
    return;
  }
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  cJSON *out = cJSON_CreateObject();
  cJSON_AddNumberToObject(out, "accepted", (double)r.accepted);
  cJSON_AddNumberToObject(out, "duplicates", (double)r.duplicates);
  streamd_reply_json(resp, 200, out);
}
