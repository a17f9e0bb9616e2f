/*
 * The one code -> HTTP status table of streamd, and the RFC 9457 renderer.
 * Routes never pick HTTP error statuses themselves: they return a
 * stream_status (or a streamd_problem_code) and this table decides.
 */
#include "problem.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json.h"
#include "stream/common.h"

static const streamd_problem_info table[] = {
    /* libstream status codes */
    {STREAM_EINVAL, 400, "invalid-argument", "Invalid argument"},
    {STREAM_ENOMEM, 503, "out-of-memory", "Out of memory"},
    {STREAM_ENOTFOUND, 404, "not-found", "Not found"},
    {STREAM_EEXIST, 409, "already-exists", "Already exists"},
    {STREAM_EAUTH, 401, "authentication-failed", "Authentication failed"},
    {STREAM_EEXPIRED, 401, "credential-expired", "Credential expired"},
    {STREAM_EFORBIDDEN, 403, "forbidden", "Forbidden"},
    {STREAM_EBUSY, 503, "busy", "Busy, retry later"},
    {STREAM_EIO, 500, "io-error", "I/O error"},
    {STREAM_EPROTO, 400, "protocol-error", "Protocol error"},
    {STREAM_EMEDIA, 422, "unprocessable-media", "Media cannot be processed"},
    {STREAM_ERANGE, 400, "out-of-range", "Value out of range"},
    {STREAM_ENOTSUP, 501, "not-supported", "Not supported"},
    {STREAM_ECRYPTO, 500, "crypto-error", "Cryptography failure"},
    {STREAM_ECONFLICT, 409, "conflict", "Conflict"},
    {STREAM_ETIMEDOUT, 504, "timed-out", "Timed out"},
    {STREAM_ECANCELED, 503, "canceled", "Canceled"},
    {STREAM_EINTERNAL, 500, "internal", "Internal error"},
    {STREAM_EPAYMENT, 402, "payment-failed", "Payment failed"},
    /* HTTP-level conditions */
    {STREAMD_P_NO_ROUTE, 404, "no-such-route", "No such route"},
    {STREAMD_P_METHOD, 405, "method-not-allowed", "Method not allowed"},
    {STREAMD_P_BODY_TOO_LARGE, 413, "body-too-large", "Request body too large"},
    {STREAMD_P_HEADERS_TOO_LARGE, 431, "headers-too-large", "Request header fields too large"},
    {STREAMD_P_MEDIA_TYPE, 415, "unsupported-media-type", "Unsupported media type"},
    {STREAMD_P_BAD_JSON, 400, "malformed-json", "Malformed JSON"},
    {STREAMD_P_UNAUTHENTICATED, 401, "unauthenticated", "Authentication required"},
    {STREAMD_P_DRAINING, 503, "draining", "Shutting down"},
    {STREAMD_P_ORIGIN, 403, "origin-not-allowed", "Origin not allowed"},
    {STREAMD_P_URI_TOO_LONG, 414, "uri-too-long", "URI too long"},
    {STREAMD_P_RANGE, 416, "range-not-satisfiable", "Range not satisfiable"},
    {STREAMD_P_PRECONDITION, 412, "precondition-failed", "Precondition failed"},
    {STREAMD_P_TUS_VERSION, 412, "tus-version", "Unsupported tus version"},
    {STREAMD_P_CHECKSUM, 460, "checksum-mismatch", "Checksum mismatch"},
    {STREAMD_P_GONE, 410, "upload-expired", "Upload expired"},
    {STREAMD_P_TOO_LARGE, 413, "upload-too-large", "Upload too large"},
    /* A 403 that refuses the batch, not the credential: the emitter drops it instead of
     * waiting for a new token (emitter_http.c). */
    {STREAMD_P_EVENT_PROFILE, 403, "event-profile-forbidden", "Event profile forbidden"},
};

const streamd_problem_info *streamd_problem_lookup(int code)
{
  const streamd_problem_info *internal = NULL;
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
    if (table[i].code == code)
      return &table[i];
    if (table[i].code == STREAM_EINTERNAL)
      internal = &table[i];
  }
  return internal;
}

char *streamd_problem_render(size_t *len, int code, const char *detail, const char *instance,
                             const char *request_id)
{
  const streamd_problem_info *p = streamd_problem_lookup(code);
  char type[128];
  strcpy(type, STREAMD_PROBLEM_TYPE_BASE);
  strncat(type, p->slug, sizeof(type) - strlen(type) - 1);
  if (p->http_status >= 500 || !detail || !*detail)
    detail = p->title;
  /* Details and paths may carry client bytes: keep the output valid UTF-8. */
  char safe_detail[512], safe_instance[512];
  streamd_utf8_sanitize(safe_detail, sizeof(safe_detail), detail);
  detail = safe_detail;
  if (instance) {
    streamd_utf8_sanitize(safe_instance, sizeof(safe_instance), instance);
    instance = safe_instance;
  }
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  char *out = NULL;
  if (cJSON_AddStringToObject(o, "type", type) && cJSON_AddStringToObject(o, "title", p->title) &&
      cJSON_AddNumberToObject(o, "status", p->http_status) &&
      cJSON_AddStringToObject(o, "detail", detail) &&
      (!instance || cJSON_AddStringToObject(o, "instance", instance)) &&
      (!request_id || cJSON_AddStringToObject(o, "request_id", request_id)))
    out = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (out && len)
    *len = strlen(out);
  return out;
}
