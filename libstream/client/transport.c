/*
 * client transport: one libcurl easy handle per call, sharing the handle's
 * connection and DNS caches (CURLSH with lock callbacks), so that one
 * stream_client can be used from several threads and keeps connections
 * alive between calls. Owns the mapping of HTTP answers (problem+json,
 * OAuth errors) to stream_status values, and the one-refresh-one-retry rule
 * on 401. Tokens travel only in the Authorization header and are never
 * logged or put in an error message; neither is the query string (only the
 * method and the path are). The path is sent as given (CURLOPT_PATH_AS_IS:
 * no dot-segment removal).
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../core/json.h"
#include "client_internal.h"

static _Thread_local long tls_http_status;
static _Thread_local int64_t tls_retry_after;
/* The Idempotency-Key of the calling thread's current call (billing.c), or NULL. */
static _Thread_local const char *tls_idempotency_key;

void client__set_idempotency_key(const char *key)
{
  tls_idempotency_key = key;
}

void client__note_response(long http_status, int64_t retry_after)
{
  tls_http_status = http_status;
  tls_retry_after = retry_after;
}

long stream_client_last_http_status(void)
{
  return tls_http_status;
}

int64_t stream_client_retry_after(void)
{
  return tls_retry_after;
}

void client__response_free(client__response *r)
{
  if (!r)
    return;
  free(r->body);
  free(r->content_type);
  memset(r, 0, sizeof *r);
}

void client__response_free_secret(client__response *r)
{
  if (r && r->body)
    stream__wipe(r->body, r->len);
  client__response_free(r);
}

/* ---- receiving ---------------------------------------------------------- */

typedef struct sink {
  char *data;
  size_t len, cap, max;
  bool too_large;
} sink;

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
  sink *s = userdata;
  size_t n = size * nmemb;
  if (n > s->max || s->len > s->max - n) {
    s->too_large = true;
    return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
  }
  if (s->len + n + 1 > s->cap) {
    size_t cap = s->cap ? s->cap : 4096;
    while (cap < s->len + n + 1)
      cap *= 2;
    /* Not realloc: the old block is wiped before it is freed (bodies may carry tokens). */
    char *p = malloc(cap);
    if (!p)
      return 0;
    if (s->data) {
      memcpy(p, s->data, s->len + 1);
      stream__wipe(s->data, s->cap);
      free(s->data);
    }
    s->data = p;
    s->cap = cap;
  }
  memcpy(s->data + s->len, ptr, n);
  s->len += n;
  s->data[s->len] = '\0';
  return n;
}

static char *media_type(const char *ct)
{
  if (!ct)
    return NULL;
  size_t n = strcspn(ct, ";");
  while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
    n--;
  char *m = malloc(n + 1);
  if (!m)
    return NULL;
  for (size_t i = 0; i < n; i++)
    m[i] = (char)tolower((unsigned char)ct[i]);
  m[n] = '\0';
  return m;
}

/* ---- sending ------------------------------------------------------------ */

static int copy_access_token(char **out, uint64_t *gen, stream_client *c)
{
  *out = NULL;
  pthread_mutex_lock(&c->tok_mu);
  *gen = c->tok_gen;
  if (c->access_token) {
    *out = strdup(c->access_token);
    if (!*out) {
      pthread_mutex_unlock(&c->tok_mu);
      return stream__err(STREAM_ENOMEM, "out of memory copying the access token");
    }
  }
  pthread_mutex_unlock(&c->tok_mu);
  return STREAM_OK;
}

static void free_secret_str(char *s)
{
  if (s) {
    stream__wipe(s, strlen(s));
    free(s);
  }
}

static int perform(client__response *out, stream_client *c, const char *method,
                   const char *path_query, int body_kind, const char *body, const char *token)
{
  memset(out, 0, sizeof *out);
  /* Messages and logs name the path only: the query may carry search text. */
  int plen = (int)strcspn(path_query, "?");
  stream__buf url;
  stream__buf_init(&url);
  stream__buf_puts(&url, c->base_url);
  stream__buf_puts(&url, path_query);
  if (url.failed) {
    stream__buf_free(&url);
    return stream__err(STREAM_ENOMEM, "out of memory building the request URL");
  }

  CURL *h = curl_easy_init();
  if (!h) {
    stream__buf_free(&url);
    return stream__err(STREAM_ENOMEM, "curl_easy_init failed");
  }
  char errbuf[CURL_ERROR_SIZE];
  errbuf[0] = '\0';
  sink s = {NULL, 0, 0, c->max_response_bytes, false};
  struct curl_slist *hdrs = NULL, *tmp;
  char *auth_hdr = NULL;
  int rc = STREAM_OK;

#define ADD_HEADER(str)                                                                            \
  do {                                                                                             \
    tmp = curl_slist_append(hdrs, (str));                                                          \
    if (!tmp) {                                                                                    \
      rc = stream__err(STREAM_ENOMEM, "out of memory building request headers");                   \
      goto done;                                                                                   \
    }                                                                                              \
    hdrs = tmp;                                                                                    \
  } while (0)

  ADD_HEADER("Accept: application/json, application/problem+json");
  ADD_HEADER("Expect:");
  if (body_kind == CLIENT__BODY_JSON)
    ADD_HEADER("Content-Type: application/json");
  else if (body_kind == CLIENT__BODY_FORM)
    ADD_HEADER("Content-Type: application/x-www-form-urlencoded");
  else
    ADD_HEADER("Content-Type:"); /* an empty POST is not a form */
  if (token) {
    size_t n = strlen("Authorization: Bearer ") + strlen(token) + 1;
    auth_hdr = malloc(n);
    if (!auth_hdr) {
      rc = stream__err(STREAM_ENOMEM, "out of memory building request headers");
      goto done;
    }
    snprintf(auth_hdr, n, "Authorization: Bearer %s", token);
    ADD_HEADER(auth_hdr);
  }
  if (tls_idempotency_key) {
    char idem_hdr[320];
    snprintf(idem_hdr, sizeof idem_hdr, "Idempotency-Key: %s", tls_idempotency_key);
    ADD_HEADER(idem_hdr); /* curl_slist_append copies it */
  }
#undef ADD_HEADER

  curl_easy_setopt(h, CURLOPT_URL, url.data);
  curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L); /* the path as given: no dot-segment removal */
  curl_easy_setopt(h, CURLOPT_SHARE, c->share);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
  curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
  curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->max_response_bytes);
  if (c->ca_file)
    curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
  if (c->ca_path)
    curl_easy_setopt(h, CURLOPT_CAPATH, c->ca_path);

  if (body) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    if (strcmp(method, "POST") != 0)
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  } else if (strcmp(method, "GET") == 0) {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else if (strcmp(method, "POST") == 0) {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
  }

  stream__log(STREAM_LOG_DEBUG, "client", "%s %.*s", method, plen, path_query);
  CURLcode cc = curl_easy_perform(h);
  if (cc != CURLE_OK) {
    const char *msg = errbuf[0] ? errbuf : curl_easy_strerror(cc);
    if (s.too_large || cc == CURLE_FILESIZE_EXCEEDED)
      rc = stream__err(STREAM_ERANGE, "%s %.*s: response larger than the limit of %zu bytes",
                       method, plen, path_query, c->max_response_bytes);
    else if (cc == CURLE_OPERATION_TIMEDOUT)
      rc = stream__err(STREAM_ETIMEDOUT, "%s %.*s: %s", method, plen, path_query, msg);
    else
      rc = stream__err(STREAM_EIO, "%s %.*s: %s", method, plen, path_query, msg);
    client__note_response(0, 0);
    goto done;
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  char *ct = NULL;
  curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
  curl_off_t ra = 0;
  if (curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK || ra < 0)
    ra = 0;
  out->status = status;
  out->retry_after = (int64_t)ra;
  out->content_type = media_type(ct);
  if (!s.data) {
    s.data = calloc(1, 1);
    if (!s.data) {
      rc = stream__err(STREAM_ENOMEM, "out of memory receiving the response");
      goto done;
    }
  }
  out->body = s.data;
  out->len = s.len;
  s.data = NULL;
  client__note_response(status, out->retry_after);
  stream__log(STREAM_LOG_DEBUG, "client", "%s %.*s -> %ld (%zu bytes)", method, plen, path_query,
              status, out->len);

done:
  /* The list holds copies of the Authorization and Idempotency-Key lines. */
  for (struct curl_slist *l = hdrs; l; l = l->next)
    stream__wipe(l->data, strlen(l->data));
  curl_slist_free_all(hdrs);
  free_secret_str(auth_hdr);
  if (s.data)
    stream__wipe(s.data, s.cap);
  free(s.data);
  curl_easy_cleanup(h);
  stream__buf_free(&url);
  if (rc != STREAM_OK)
    client__response_free(out);
  return rc;
}

int client__exchange(client__response *out, stream_client *c, const char *method,
                     const char *path_query, int body_kind, const char *body, int auth)
{
  char *token = NULL;
  uint64_t gen = 0;
  if (auth != CLIENT__AUTH_NONE) {
    int rc = copy_access_token(&token, &gen, c);
    if (rc != STREAM_OK)
      return rc;
  }
  int rc = perform(out, c, method, path_query, body_kind, body, token);
  free_secret_str(token);
  return rc;
}

/* ---- error mapping ------------------------------------------------------ */

static const struct {
  const char *slug;
  int code;
} slugs[] = {
    {"invalid-argument", STREAM_EINVAL},
    {"out-of-range", STREAM_ERANGE},
    {"protocol-error", STREAM_EINVAL},
    {"malformed-json", STREAM_EINVAL},
    {"already-exists", STREAM_EEXIST},
    {"conflict", STREAM_ECONFLICT},
    {"credential-expired", STREAM_EAUTH},
    {"authentication-failed", STREAM_EAUTH},
    {"unauthenticated", STREAM_EAUTH},
    {"forbidden", STREAM_EFORBIDDEN},
    {"not-found", STREAM_ENOTFOUND},
    {"no-such-route", STREAM_ENOTFOUND},
    {"not-supported", STREAM_ENOTSUP},
    {"timed-out", STREAM_ETIMEDOUT},
    {"busy", STREAM_EBUSY},
    {"draining", STREAM_EBUSY},
    {"out-of-memory", STREAM_EBUSY},
    {"body-too-large", STREAM_ERANGE},
    {"headers-too-large", STREAM_ERANGE},
    {"uri-too-long", STREAM_ERANGE},
    {"unprocessable-media", STREAM_EMEDIA},
    {"rate-limited", STREAM_EBUSY},
    {"too-many-requests", STREAM_EBUSY},
    {"payment-failed", STREAM_EPAYMENT},
    {"unsupported-media-type", STREAM_EINVAL},
    {"method-not-allowed", STREAM_EINVAL},
    {"origin-not-allowed", STREAM_EFORBIDDEN},
};

static int code_for_status(long st)
{
  switch (st) {
  case 401:
    return STREAM_EAUTH;
  case 402:
    return STREAM_EPAYMENT;
  case 403:
    return STREAM_EFORBIDDEN;
  case 404:
  case 410:
    return STREAM_ENOTFOUND;
  case 409:
    return STREAM_ECONFLICT;
  case 413:
  case 414:
  case 431:
    return STREAM_ERANGE;
  case 429:
    return STREAM_EBUSY;
  case 501:
    return STREAM_ENOTSUP;
  case 503:
    return STREAM_EBUSY;
  case 504:
    return STREAM_ETIMEDOUT;
  default:
    break;
  }
  if (st >= 400 && st < 500)
    return STREAM_EINVAL;
  if (st >= 500 && st < 600)
    return STREAM_EIO;
  return STREAM_EPROTO; /* 1xx/3xx or nonsense */
}

/* A refinement from the problem type only within the status' own class, so a
 * server bug cannot turn a 500 into "not found". */
static int code_for_problem(long st, const char *type)
{
  int base = code_for_status(st);
  static const char prefix[] = "urn:libstream:problem:";
  if (!type || strncmp(type, prefix, sizeof prefix - 1) != 0)
    return base;
  const char *slug = type + sizeof prefix - 1;
  for (size_t i = 0; i < sizeof slugs / sizeof slugs[0]; i++) {
    if (strcmp(slugs[i].slug, slug) != 0)
      continue;
    int code = slugs[i].code;
    if (st == 401 || st == 403 || st == 404 || st == 429)
      return base; /* these statuses have one meaning for a client */
    if (st >= 400 && st < 500 && code != STREAM_ETIMEDOUT && code != STREAM_ENOTSUP)
      return code;
    if (st >= 500 && (code == STREAM_EBUSY || code == STREAM_ETIMEDOUT || code == STREAM_ENOTSUP))
      return code;
    return base;
  }
  return base;
}

/* Copy a server-provided string into a message: printable ASCII and UTF-8
 * bytes only, bounded. */
void client__clean_text(char *dst, size_t cap, const char *src)
{
  size_t j = 0;
  for (size_t i = 0; src && src[i] && j + 1 < cap; i++) {
    unsigned char ch = (unsigned char)src[i];
    dst[j++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
  }
  dst[j] = '\0';
}

int client__map_error(long http_status, const char *content_type, const char *body, size_t len,
                      int64_t retry_after, const char *what)
{
  if (!what)
    what = "request";
  int code = code_for_status(http_status);
  char detail[320] = "";
  cJSON *j = NULL;
  bool jsonish = content_type && (strcmp(content_type, "application/json") == 0 ||
                                  strcmp(content_type, "application/problem+json") == 0);
  if (jsonish && body && len > 0 && len < 65536)
    j = cJSON_ParseWithLength(body, len);
  if (j && cJSON_IsObject(j)) {
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    const cJSON *det = cJSON_GetObjectItemCaseSensitive(j, "detail");
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(j, "title");
    const cJSON *oerr = cJSON_GetObjectItemCaseSensitive(j, "error");
    const cJSON *odesc = cJSON_GetObjectItemCaseSensitive(j, "error_description");
    if (cJSON_IsString(type))
      code = code_for_problem(http_status, type->valuestring);
    if (cJSON_IsString(det) && det->valuestring[0])
      client__clean_text(detail, sizeof detail, det->valuestring);
    else if (cJSON_IsString(odesc) && odesc->valuestring[0])
      client__clean_text(detail, sizeof detail, odesc->valuestring);
    else if (cJSON_IsString(oerr) && oerr->valuestring[0])
      client__clean_text(detail, sizeof detail, oerr->valuestring);
    else if (cJSON_IsString(title) && title->valuestring[0])
      client__clean_text(detail, sizeof detail, title->valuestring);
    if (cJSON_IsString(oerr) && http_status >= 400 && http_status < 500 && http_status != 429) {
      const char *e = oerr->valuestring;
      if (strcmp(e, "invalid_grant") == 0 || strcmp(e, "invalid_client") == 0 ||
          strcmp(e, "invalid_token") == 0)
        code = STREAM_EAUTH;
      else if (strcmp(e, "access_denied") == 0)
        code = STREAM_EFORBIDDEN;
      else if (strcmp(e, "expired_token") == 0)
        code = STREAM_EEXPIRED;
    }
  }
  cJSON_Delete(j);
  if (!detail[0])
    snprintf(detail, sizeof detail, "HTTP %ld", http_status);
  if (retry_after > 0)
    return stream__err(code, "%s: %s (HTTP %ld, retry after %lld s)", what, detail, http_status,
                       (long long)retry_after);
  return stream__err(code, "%s: %s (HTTP %ld)", what, detail, http_status);
}

int client__fail(const client__response *r, const char *method, const char *path_query)
{
  char what[160];
  /* Only the path: the query may carry search text, never tokens. */
  size_t n = strcspn(path_query, "?");
  snprintf(what, sizeof what, "%s %.*s", method, (int)(n > 120 ? 120 : n), path_query);
  return client__map_error(r->status, r->content_type, r->body, r->len, r->retry_after, what);
}

int client__call(client__response *out, stream_client *c, const char *method,
                 const char *path_query, int body_kind, const char *body, int auth)
{
  memset(out, 0, sizeof *out);
  for (int attempt = 0;; attempt++) {
    char *token = NULL;
    uint64_t gen = 0;
    if (auth != CLIENT__AUTH_NONE) {
      int rc = copy_access_token(&token, &gen, c);
      if (rc != STREAM_OK)
        return rc;
      if (!token && auth == CLIENT__AUTH_BEARER) {
        /* Tokens restored without an access token: try the refresh token. */
        rc = client__refresh(c, gen);
        if (rc != STREAM_OK)
          return rc;
        rc = copy_access_token(&token, &gen, c);
        if (rc != STREAM_OK)
          return rc;
        if (!token)
          return stream__err(STREAM_EAUTH, "%s %.*s: not signed in", method,
                             (int)strcspn(path_query, "?"), path_query);
      }
    }
    int rc = perform(out, c, method, path_query, body_kind, body, token);
    free_secret_str(token);
    if (rc != STREAM_OK)
      return rc;
    if (out->status >= 200 && out->status < 300)
      return STREAM_OK;
    if (out->status == 401 && auth == CLIENT__AUTH_BEARER && attempt == 0) {
      client__response_free(out);
      rc = client__refresh(c, gen);
      if (rc != STREAM_OK)
        return rc;
      continue;
    }
    rc = client__fail(out, method, path_query);
    client__response_free(out);
    return rc;
  }
}

cJSON *client__parse_json(const char *body, size_t len)
{
  return stream__json_parse_whole(body, len, NULL, NULL);
}

/* Does the parsed answer have the shape `want` (CLIENT__JSON_*)? */
static bool has_shape(const cJSON *j, int want, const char *member)
{
  if (want == CLIENT__JSON_ANY)
    return true;
  if (!cJSON_IsObject(j))
    return false;
  switch (want) {
  case CLIENT__JSON_ARRAY_IN:
    return cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, member));
  case CLIENT__JSON_OBJECT_IN:
    return cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(j, member));
  case CLIENT__JSON_PAGE: {
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(j, "next_cursor");
    return cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(j, "items")) &&
           (!next || cJSON_IsNull(next) || cJSON_IsString(next));
  }
  default:
    return true;
  }
}

static const char *shape_name(int want)
{
  switch (want) {
  case CLIENT__JSON_ARRAY_IN:
    return "an object with an array";
  case CLIENT__JSON_OBJECT_IN:
    return "an object with an object";
  case CLIENT__JSON_PAGE:
    return "a page (\"items\" array, \"next_cursor\" string or null)";
  default:
    return "a JSON object";
  }
}

int client__call_json_as(char **out_json, stream_client *c, const char *method,
                         const char *path_query, const char *json_body, int auth, int want,
                         const char *member)
{
  if (out_json)
    *out_json = NULL;
  client__response r;
  int rc = client__call(&r, c, method, path_query,
                        json_body ? CLIENT__BODY_JSON : CLIENT__BODY_NONE, json_body, auth);
  if (rc != STREAM_OK)
    return rc;
  if (!out_json) {
    client__response_free(&r);
    return STREAM_OK;
  }
  int plen = (int)strcspn(path_query, "?");
  if ((r.status == 204 || r.len == 0) && want == CLIENT__JSON_ANY) {
    client__response_free(&r);
    *out_json = strdup("null");
    return *out_json ? STREAM_OK : stream__err(STREAM_ENOMEM, "out of memory");
  }
  long st = r.status;
  cJSON *j = client__parse_json(r.body, r.len);
  if (!j) {
    client__response_free(&r);
    return stream__err(STREAM_EPROTO,
                       "%s %.*s: the server answered %ld with a body that is not JSON", method,
                       plen, path_query, st);
  }
  bool ok = has_shape(j, want, member);
  cJSON_Delete(j);
  if (!ok) {
    client__response_free(&r);
    if (member)
      return stream__err(STREAM_EPROTO, "%s %.*s: the server's answer (HTTP %ld) is not %s \"%s\"",
                         method, plen, path_query, st, shape_name(want), member);
    return stream__err(STREAM_EPROTO, "%s %.*s: the server's answer (HTTP %ld) is not %s", method,
                       plen, path_query, st, shape_name(want));
  }
  *out_json = r.body; /* malloc'ed: stream_free() is free() */
  r.body = NULL;
  client__response_free(&r);
  return STREAM_OK;
}

int client__call_json(char **out_json, stream_client *c, const char *method, const char *path_query,
                      const char *json_body, int auth)
{
  return client__call_json_as(out_json, c, method, path_query, json_body, auth, CLIENT__JSON_ANY,
                              NULL);
}

/* An upper bound of the compact printed size of `j` (strings escaped at most 6 bytes per byte). */
static size_t print_bound(const cJSON *j)
{
  size_t n = 8; /* brackets, quotes, colon, comma */
  if (j->string)
    n += 6 * strlen(j->string);
  if (cJSON_IsString(j) || cJSON_IsRaw(j))
    n += 6 * strlen(j->valuestring);
  else if (cJSON_IsNumber(j))
    n += 64;
  for (const cJSON *k = j->child; k; k = k->next)
    n += print_bound(k);
  return n;
}

/* Wipe the string values of a tree (request documents carry passwords and tokens). */
static void wipe_tree(cJSON *j)
{
  if ((cJSON_IsString(j) || cJSON_IsRaw(j)) && j->valuestring)
    stream__wipe(j->valuestring, strlen(j->valuestring));
  for (cJSON *k = j->child; k; k = k->next)
    wipe_tree(k);
}

char *client__print(cJSON *doc)
{
  if (!doc) {
    stream__err(STREAM_ENOMEM, "out of memory building a request body");
    return NULL;
  }
  /* One buffer, big enough from the start: cJSON's own printer grows its buffer with realloc,
   * which would leave unwiped copies of passwords and tokens behind. */
  size_t cap = print_bound(doc) + 16;
  char *s = cap <= INT_MAX ? malloc(cap) : NULL;
  if (s && !cJSON_PrintPreallocated(doc, s, (int)cap, false)) {
    stream__wipe(s, cap);
    free(s);
    s = NULL;
  }
  wipe_tree(doc);
  cJSON_Delete(doc);
  if (!s)
    stream__err(STREAM_ENOMEM, "out of memory building a request body");
  return s;
}

void client__free_body(char *body)
{
  free_secret_str(body);
}
