/*
 * Shared plumbing of the service routes: viewer identities carried in
 * streamd_identity.subject, form/JSON bodies for the OAuth endpoints, the
 * peer address, and replies from service JSON text and service errors.
 */
#include "routes_util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "app.h"
#include "json.h"
#include "problem.h"
#include "routes.h"
#include "stream/common.h"

void streamd_viewer_to_subject(char *subject, size_t n, const char *account_id,
                               const char *profile_id, int kids, int maturity_ceiling)
{
  if (profile_id && *profile_id)
    snprintf(subject, n, "%s/%s/%d/%d", account_id, profile_id, kids ? 1 : 0, maturity_ceiling);
  else
    snprintf(subject, n, "%s", account_id);
}

typedef struct region_scan {
  const char *name;  /* the configured header */
  const char *value; /* its first value */
  int count;         /* how many times it came */
} region_scan;

static enum MHD_Result region_header_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
  (void)kind;
  region_scan *s = cls;
  if (key && strcasecmp(key, s->name) == 0 && s->count++ == 0)
    s->value = value;
  return MHD_YES;
}

static int ascii_letter(char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/*
 * The viewer's country from the header named by region_header, which only a trusted edge may set
 * (docs/streamd.md "Configuration"): "" when none is configured; two ASCII letters, uppercased;
 * STREAMD_REGION_UNKNOWN when the header is missing, repeated (a client's copy beside the
 * edge's) or anything else ("F1", "FRA", "").
 */
static void viewer_region(char *out, size_t n, const streamd_request *req)
{
  const streamd_app *app = streamd_app_get();
  out[0] = '\0';
  if (!app || !app->cfg->region_header[0])
    return;
  region_scan s = {app->cfg->region_header, NULL, 0};
  MHD_get_connection_values((struct MHD_Connection *)req->conn, MHD_HEADER_KIND, region_header_cb,
                            &s);
  const char *v = s.value;
  if (s.count == 1 && v && ascii_letter(v[0]) && ascii_letter(v[1]) && !v[2])
    snprintf(out, n, "%c%c", toupper((unsigned char)v[0]), toupper((unsigned char)v[1]));
  else
    snprintf(out, n, "%s", STREAMD_REGION_UNKNOWN);
}

int streamd_viewer_from_request(streamd_viewer *out, const streamd_request *req)
{
  memset(out, 0, sizeof(*out));
  out->maturity_ceiling = STREAM_CATALOG_MATURITY_MAX;
  if (req->identity.role != STREAMD_ROLE_VIEWER)
    return STREAM_EAUTH;
  viewer_region(out->region, sizeof(out->region), req);
  const char *s = req->identity.subject;
  const char *slash = strchr(s, '/');
  size_t alen = slash ? (size_t)(slash - s) : strlen(s);
  if (alen == 0 || alen >= sizeof(out->account_id))
    return STREAM_EAUTH;
  memcpy(out->account_id, s, alen);
  if (!slash)
    return 0;
  const char *p = slash + 1, *e = strchr(p, '/');
  if (!e || e == p || (size_t)(e - p) >= sizeof(out->profile_id))
    return STREAM_EAUTH;
  memcpy(out->profile_id, p, (size_t)(e - p));
  int kids = 0, mat = 0;
  char tail = 0;
  if (sscanf(e + 1, "%d/%d%c", &kids, &mat, &tail) != 2 || mat < 0 ||
      mat > STREAM_CATALOG_MATURITY_MAX)
    return STREAM_EAUTH;
  out->kids = kids ? 1 : 0;
  out->maturity_ceiling = mat;
  return 0;
}

void streamd_viewer_catalog(stream_catalog_viewer *out, const streamd_viewer *v)
{
  stream_catalog_viewer init = STREAM_CATALOG_VIEWER_INIT;
  *out = init;
  out->profile_id = v->profile_id[0] ? v->profile_id : NULL;
  out->kids = v->kids;
  out->maturity_ceiling = v->maturity_ceiling;
  out->region = v->region[0] ? v->region : NULL;
}

int streamd_title_visible(stream_catalog *catalog, const stream_catalog_viewer *cv, const char *id)
{
  char *json = NULL;
  int rc = stream_catalog_title_get(&json, catalog, id, cv);
  stream_free(json);
  return rc;
}

int streamd_viewer_require(streamd_viewer *out, const streamd_request *req, streamd_response *resp)
{
  if (streamd_viewer_from_request(out, req) != 0) {
    streamd_reply_problem(resp, req, STREAM_EAUTH, "a viewer access token is required");
    return -1;
  }
  return 0;
}

int streamd_viewer_limited(const streamd_viewer *v)
{
  return v->profile_id[0] && (v->kids || v->maturity_ceiling < STREAM_CATALOG_MATURITY_MAX);
}

int streamd_viewer_require_unlimited(const streamd_viewer *v, const char *what,
                                     const streamd_request *req, streamd_response *resp)
{
  if (!streamd_viewer_limited(v))
    return 0;
  char detail[256];
  snprintf(detail, sizeof(detail),
           "a profile with parental limits (kids, or a maturity ceiling below %d) cannot %s",
           STREAM_CATALOG_MATURITY_MAX, what);
  streamd_reply_problem(resp, req, STREAM_EFORBIDDEN, detail);
  return -1;
}

int streamd_viewer_need_profile(streamd_viewer *out, const streamd_request *req,
                                streamd_response *resp)
{
  if (streamd_viewer_require(out, req, resp) != 0)
    return -1;
  if (!out->profile_id[0]) {
    streamd_reply_problem(resp, req, STREAM_EFORBIDDEN,
                          "this route needs a profile: switch to one first "
                          "(POST /v1/profiles/{id}/switch)");
    return -1;
  }
  return 0;
}

void streamd_client_address(char *out, size_t n, const streamd_request *req)
{
  if (!n)
    return;
  out[0] = '\0';
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info((struct MHD_Connection *)req->conn,
                                                               MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!ci || !ci->client_addr)
    return;
  const struct sockaddr *sa = ci->client_addr;
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
              (socklen_t)n);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
              (socklen_t)n);
}

/* ---- bodies ---------------------------------------------------------------- */

static int media_type_is(const char *ct, const char *want)
{
  if (!ct)
    return 0;
  while (*ct == ' ')
    ct++;
  size_t n = strcspn(ct, "; ");
  return n == strlen(want) && strncasecmp(ct, want, n) == 0;
}

static int hexval(int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Percent-decode [s, s+len) ('+' is a space) into a new string; NULL on a bad escape or NUL. */
static char *form_decode(const char *s, size_t len)
{
  char *out = malloc(len + 1);
  if (!out)
    return NULL;
  size_t j = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (c == '+') {
      out[j++] = ' ';
    } else if (c == '%') {
      if (i + 2 >= len) {
        free(out);
        return NULL;
      }
      int a = hexval((unsigned char)s[i + 1]), b = hexval((unsigned char)s[i + 2]);
      if (a < 0 || b < 0 || (a == 0 && b == 0)) {
        free(out);
        return NULL;
      }
      out[j++] = (char)(a * 16 + b);
      i += 2;
    } else {
      out[j++] = c;
    }
  }
  out[j] = '\0';
  return out;
}

static int form_add(streamd_form *f, char *name, char *value, char *detail, size_t dlen)
{
  if (f->n >= STREAMD_FORM_MAX_FIELDS) {
    snprintf(detail, dlen, "more than %d fields in the request body", STREAMD_FORM_MAX_FIELDS);
    free(name), free(value);
    return STREAM_EINVAL;
  }
  for (size_t i = 0; i < f->n; i++)
    if (strcmp(f->names[i], name) == 0) {
      char safe[64];
      streamd_utf8_sanitize(safe, sizeof(safe), name);
      snprintf(detail, dlen, "field '%s' appears more than once", safe);
      free(name), free(value);
      return STREAM_EINVAL;
    }
  f->names[f->n] = name;
  f->values[f->n] = value;
  f->n++;
  return 0;
}

static int parse_urlencoded(streamd_form *f, const char *body, size_t len, char *detail,
                            size_t dlen)
{
  if (memchr(body, '\0', len)) {
    snprintf(detail, dlen, "the request body contains a NUL byte");
    return STREAM_EINVAL;
  }
  size_t i = 0;
  while (i < len) {
    const char *amp = memchr(body + i, '&', len - i);
    size_t end = amp ? (size_t)(amp - body) : len;
    if (end > i) {
      const char *eq = memchr(body + i, '=', end - i);
      size_t nend = eq ? (size_t)(eq - body) : end;
      char *name = form_decode(body + i, nend - i);
      char *value = eq ? form_decode(eq + 1, end - nend - 1) : form_decode("", 0);
      if (!name || !value) {
        free(name), free(value);
        snprintf(detail, dlen, "malformed form encoding (bad %%-escape or %%00)");
        return STREAM_EINVAL;
      }
      if (!streamd_utf8_valid(name, strlen(name), NULL) ||
          !streamd_utf8_valid(value, strlen(value), NULL)) {
        free(name), free(value);
        snprintf(detail, dlen, "a form field is not valid UTF-8");
        return STREAM_EINVAL;
      }
      int rc = form_add(f, name, value, detail, dlen);
      if (rc)
        return rc;
    }
    i = end + 1;
  }
  return 0;
}

int streamd_form_parse(streamd_form *f, const streamd_request *req, int allow_empty, char *detail,
                       size_t dlen)
{
  memset(f, 0, sizeof(*f));
  const char *ct = streamd_request_header(req, "Content-Type");
  if (req->body_len == 0) {
    if (allow_empty)
      return 0;
    snprintf(detail, dlen, "the request body is empty");
    return STREAM_EINVAL;
  }
  if (media_type_is(ct, "application/x-www-form-urlencoded")) {
    int rc = parse_urlencoded(f, req->body, req->body_len, detail, dlen);
    if (rc)
      streamd_form_free(f);
    return rc;
  }
  if (!media_type_is(ct, "application/json")) {
    snprintf(detail, dlen,
             "the request body must be application/x-www-form-urlencoded or application/json");
    return STREAMD_P_MEDIA_TYPE;
  }
  cJSON *obj = NULL;
  int rc = streamd_json_parse_object(&obj, req->body, req->body_len, detail, dlen);
  if (rc)
    return rc;
  const cJSON *it = NULL;
  cJSON_ArrayForEach(it, obj)
  {
    char safe[64];
    streamd_utf8_sanitize(safe, sizeof(safe), it->string ? it->string : "");
    if (cJSON_IsNull(it))
      continue;
    if (!cJSON_IsString(it) || !it->valuestring) {
      snprintf(detail, dlen, "field '%s' must be a string", safe);
      rc = STREAM_EINVAL;
      break;
    }
    char *name = strdup(it->string ? it->string : "");
    char *value = strdup(it->valuestring);
    if (!name || !value) {
      free(name), free(value);
      rc = STREAM_ENOMEM;
      break;
    }
    if ((rc = form_add(f, name, value, detail, dlen)) != 0)
      break;
  }
  cJSON_Delete(obj);
  if (rc)
    streamd_form_free(f);
  return rc;
}

const char *streamd_form_get(const streamd_form *f, const char *name)
{
  for (size_t i = 0; i < f->n; i++)
    if (strcmp(f->names[i], name) == 0)
      return f->values[i];
  return NULL;
}

void streamd_form_free(streamd_form *f)
{
  for (size_t i = 0; i < f->n; i++) {
    free(f->names[i]);
    if (f->values[i]) {
      explicit_bzero(f->values[i], strlen(f->values[i])); /* may hold a password */
      free(f->values[i]);
    }
  }
  memset(f, 0, sizeof(*f));
}

int streamd_body_object(cJSON **out, streamd_request *req, streamd_response *resp)
{
  char detail[256] = "";
  int rc = streamd_json_parse_object(out, req->body, req->body_len, detail, sizeof(detail));
  if (rc) {
    streamd_reply_problem(resp, req, rc, detail);
    return rc;
  }
  return 0;
}

/* ---- replies --------------------------------------------------------------- */

void streamd_reply_service_json(streamd_response *resp, const streamd_request *req, int status,
                                char *json)
{
  if (!json) {
    streamd_reply_problem(resp, req, STREAM_EINTERNAL, "service returned no document");
    return;
  }
  streamd_reply_text(resp, status, "application/json", json, strlen(json));
  stream_free(json);
}

void streamd_reply_service_result(streamd_response *resp, const streamd_request *req, int rc,
                                  char *json)
{
  if (rc != STREAM_OK) {
    stream_free(json);
    streamd_reply_service_error(resp, req, rc);
  } else {
    streamd_reply_service_json(resp, req, 200, json);
  }
}

void streamd_reply_service_error(streamd_response *resp, const streamd_request *req, int code)
{
  const stream_error *e = stream_error_last();
  const char *msg = e && e->code == code && e->message[0] ? e->message : stream_strerror(code);
  streamd_reply_problem(resp, req, code, msg);
}

void streamd_reply_empty(streamd_response *resp, int status)
{
  free(resp->body);
  resp->body = NULL;
  resp->body_len = 0;
  resp->content_type = NULL;
  resp->status = status;
}

/* 1 when an If-None-Match value is "*" or lists `etag` (weak comparison, as RFC 9110 asks).
 * Elements are separated by commas with optional spaces or tabs around them (OWS). */
int streamd_etag_listed(const char *list, const char *etag, int strong)
{
  if (!list)
    return 0;
  size_t el = strlen(etag);
  const char *p = list;
  while (streamd_ows(*p))
    p++;
  if (*p == '*') { /* "*" alone, not the first character of some list */
    for (p++; streamd_ows(*p); p++) {
    }
    return *p == '\0';
  }
  while (*p) {
    while (streamd_ows(*p) || *p == ',')
      p++;
    int weak = strncmp(p, "W/", 2) == 0;
    if (weak)
      p += 2;
    if (*p == '"') { /* an entity-tag: compare it whole (its opaque part may hold a comma) */
      const char *close = strchr(p + 1, '"');
      if (!close)
        return 0;
      if (!(weak && strong) && (size_t)(close + 1 - p) == el && strncmp(p, etag, el) == 0)
        return 1;
      p = close + 1;
    }
    while (*p && *p != ',')
      p++;
  }
  return 0;
}

int streamd_reply_password_error(streamd_response *resp, const streamd_request *req, int rc,
                                 int64_t retry, const char *wrong)
{
  if (rc == STREAM_OK)
    return 0;
  if (rc == STREAM_EBUSY && retry > 0) {
    const stream_error *e = stream_error_last();
    streamd_reply_rate_limited(
        resp, req, retry, e && e->code == rc && e->message[0] ? e->message : stream_strerror(rc));
  } else if (rc == STREAM_EAUTH) {
    streamd_reply_problem(resp, req, STREAM_EFORBIDDEN, wrong);
  } else {
    streamd_reply_service_error(resp, req, rc);
  }
  return 1;
}

void streamd_reply_service_empty(streamd_response *resp, const streamd_request *req, int rc)
{
  if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    streamd_reply_empty(resp, 204);
}

cJSON *streamd_json_list(const char *member, const void *items, size_t n, size_t size,
                         cJSON *(*item_json)(const void *item))
{
  cJSON *o = cJSON_CreateObject();
  cJSON *arr = cJSON_AddArrayToObject(o, member);
  for (size_t i = 0; arr && i < n; i++)
    cJSON_AddItemToArray(arr, item_json((const char *)items + i * size));
  return o;
}

void streamd_reply_list(streamd_response *resp, const streamd_request *req, int rc,
                        const char *member, const void *items, size_t n, size_t size,
                        cJSON *(*item_json)(const void *item))
{
  if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    streamd_reply_json(resp, 200, streamd_json_list(member, items, n, size, item_json));
}

int streamd_query_uint(unsigned int *out, const streamd_request *req, streamd_response *resp,
                       const char *name, unsigned int min, unsigned int max)
{
  const char *v = streamd_request_query(req, name);
  if (!v)
    return 0;
  char *end = NULL;
  errno = 0;
  unsigned long n = strtoul(v, &end, 10);
  if (!*v || *v == '-' || *v == '+' || *v == ' ' || errno || *end || n < min || n > max) {
    char detail[160];
    snprintf(detail, sizeof(detail), "query '%s' must be an integer from %u to %u", name, min, max);
    streamd_reply_problem(resp, req, STREAM_EINVAL, detail);
    return -1;
  }
  *out = (unsigned int)n;
  return 0;
}

streamd_app *streamd_catalog_begin(stream_catalog_viewer *cv, streamd_viewer *v,
                                   streamd_request *req, streamd_response *resp, int need_profile)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return NULL;
  if (need_profile) {
    if (streamd_viewer_need_profile(v, req, resp) != 0)
      return NULL;
  } else if (streamd_viewer_require(v, req, resp) != 0) {
    return NULL;
  }
  streamd_viewer_catalog(cv, v);
  return app;
}

int streamd_body_none(const streamd_request *req, streamd_response *resp)
{
  if (req->body_len == 0)
    return 0;
  streamd_reply_problem(resp, req, STREAM_EINVAL, "this route takes no request body");
  return -1;
}
