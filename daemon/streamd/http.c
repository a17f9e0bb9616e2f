/*
 * libmicrohttpd wiring. One req_ctx per request, created on the first
 * handler call, which does not queue a response (libmicrohttpd 0.9.75 loses
 * keep-alive throughput when it does): it records the route match, the
 * request id and any early verdict (431, 404, 405, 413 by Content-Length,
 * 415, CORS). Later calls accumulate the body up to the route's limit, and
 * the final call (upload_data_size == 0) dispatches and answers.
 *
 * One deliberate exception: a declared Content-Length over the limit is
 * answered (413, Connection: close) on the first call. libmicrohttpd 0.9.75
 * accepts a response only right after the headers or after the whole body,
 * so this is the only way to refuse a huge upload without reading it, and
 * the connection is closed anyway. Bodies without Content-Length (chunked)
 * that grow over the limit are discarded, not buffered, and answered 413 at
 * their end; a client that keeps sending past limit + STREAMD_DISCARD_SLACK
 * bytes is disconnected. Other early verdicts also discard the body.
 * The completion callback writes the access log line and frees the context.
 */
#include "http.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "json.h"
#include "log.h"
#include "metrics.h"
#include "problem.h"
#include "stream/common.h"

#define STREAMD_DISCARD_SLACK ((size_t)1 << 20)
/* Thread per connection up to this many connections (max_connections), else an epoll pool. */
#define STREAMD_PER_CONNECTION_MAX 1024u
/* Request headers a cross-origin web client may send: Content-Encoding for
 * gzip event batches (routes_events.c), Idempotency-Key for billing writes. */
#define CORS_ALLOW_HEADERS                                                                         \
  "Authorization, Content-Type, Content-Encoding, Idempotency-Key, X-Request-Id, Range"
/* tus 1.0 (routes_uploads.c): request headers a browser client sends, response headers it reads. */
#define TUS_PREFIX "/v1/uploads"
#define TUS_ALLOW_HEADERS                                                                          \
  CORS_ALLOW_HEADERS ", Tus-Resumable, Upload-Length, Upload-Offset, Upload-Metadata, "            \
                     "Upload-Checksum, Upload-Defer-Length, Upload-Concat, X-HTTP-Method-Override"
#define TUS_EXPOSE_HEADERS                                                                         \
  "X-Request-Id, Location, Upload-Offset, Upload-Length, Upload-Expires, Upload-Metadata, "        \
  "Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm"
/* The origin (routes_media.c): every GET/HEAD under this prefix goes to its table row. */
#define MEDIA_PREFIX "/v1/media/"
/* ... where a player in CMCD header mode (CTA-5004) sends these too. */
#define MEDIA_ALLOW_HEADERS                                                                        \
  CORS_ALLOW_HEADERS ", CMCD-Request, CMCD-Object, CMCD-Status, CMCD-Session"
#define MEDIA_PATTERN "/v1/media/{path}"

typedef struct req_ctx {
  streamd_request req;
  streamd_response resp;
  streamd_match match;
  struct timespec start;
  char method[16];      /* bounded copy of the client's method */
  char method_label[8]; /* metrics label: a known method or "OTHER" */
  const char *route_label;
  char path[STREAMD_MAX_PATH + 1];
  char remote[64];
  int early_code; /* answer with this problem instead of dispatching */
  char early_detail[256];
  int preflight; /* OPTIONS answered by CORS / Allow logic */
  char allow[128];
  const char *origin_ok; /* the Origin to echo, or NULL */
  char *body;
  size_t body_len, body_cap, body_limit;
  size_t discarded; /* body bytes dropped after an early verdict */
  int queued;
  int status;
  size_t resp_bytes;
  int stream_begun; /* STREAMD_ROUTE_STREAM_BODY: the handler has run */
  int corked_fd;    /* socket corked for a file response (see cork_for_file), or -1 */
} req_ctx;

/* ---- small helpers ---------------------------------------------------- */

static double elapsed_s(const struct timespec *start)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static const char *method_label(const char *m)
{
  static const char *known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
    if (strcmp(m, known[i]) == 0)
      return known[i];
  return "OTHER";
}

/* An incoming X-Request-Id is kept when it is 1..64 chars of [A-Za-z0-9._:-]. */
static int request_id_ok(const char *v)
{
  size_t n = 0;
  for (; v[n]; n++) {
    unsigned char c = (unsigned char)v[n];
    if (n >= STREAMD_REQUEST_ID_MAX ||
        !(isalnum(c) || c == '.' || c == '_' || c == '-' || c == ':'))
      return 0;
  }
  return n > 0;
}

static void new_request_id(char *out)
{
  static const char hex[] = "0123456789abcdef";
  unsigned char r[16];
  if (stream_random_bytes(r, sizeof(r)) != STREAM_OK) {
    /* Not security relevant: fall back to time + address entropy. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long long x = (unsigned long long)ts.tv_nsec ^ ((unsigned long long)ts.tv_sec << 20) ^
                           (unsigned long long)(uintptr_t)out;
    for (size_t i = 0; i < sizeof(r); i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
      r[i] = (unsigned char)(x >> 56);
  }
  for (size_t i = 0; i < sizeof(r); i++) {
    out[2 * i] = hex[r[i] >> 4];
    out[2 * i + 1] = hex[r[i] & 15];
  }
  out[32] = '\0';
}

/* The Origin to echo, or NULL. *listed is 1 only for an origin named in cors_origins itself:
 * "*" allows any origin to read, never with credentials (a cookie-signed viewer's media would be
 * every web site's to read), and neither does a listed "null" (sandboxed frames, file: pages and
 * redirects all send it, so it names no one). */
static const char *origin_allowed(const streamd_config *cfg, const char *origin, int *listed)
{
  *listed = 0;
  if (!origin || !*origin)
    return NULL;
  const char *ok = NULL;
  for (size_t i = 0; i < cfg->n_cors_origins; i++) {
    if (strcmp(cfg->cors_origins[i], origin) == 0) {
      *listed = strcmp(origin, "null") != 0;
      return origin;
    }
    if (strcmp(cfg->cors_origins[i], "*") == 0)
      ok = origin;
  }
  return ok;
}

struct hdr_sum {
  size_t total;
};

static enum MHD_Result sum_kv(void *cls, enum MHD_ValueKind kind, const char *key,
                              const char *value)
{
  (void)kind;
  struct hdr_sum *h = cls;
  h->total += (key ? strlen(key) : 0) + (value ? strlen(value) : 0) + 4;
  return MHD_YES;
}

/* ---- handler-facing API --------------------------------------------------- */

const char *streamd_request_header(const streamd_request *r, const char *name)
{
  return MHD_lookup_connection_value((struct MHD_Connection *)r->conn, MHD_HEADER_KIND, name);
}

const char *streamd_request_query(const streamd_request *r, const char *name)
{
  return MHD_lookup_connection_value((struct MHD_Connection *)r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *streamd_request_param(const streamd_request *r, const char *name)
{
  if (!r->match)
    return NULL;
  for (size_t i = 0; i < r->match->n_params; i++)
    if (strcmp(r->match->names[i], name) == 0)
      return r->match->values[i];
  return NULL;
}

void streamd_response_header(streamd_response *resp, const char *name, const char *value)
{
  if (resp->n_headers >= STREAMD_MAX_RESP_HEADERS)
    return;
  size_t i = resp->n_headers++;
  snprintf(resp->header_names[i], sizeof(resp->header_names[0]), "%s", name);
  snprintf(resp->header_values[i], sizeof(resp->header_values[0]), "%s", value);
  free(resp->header_long[i]);
  resp->header_long[i] = strlen(value) >= sizeof(resp->header_values[0]) ? strdup(value) : NULL;
}

static void drop_headers(streamd_response *resp)
{
  for (size_t i = 0; i < STREAMD_MAX_RESP_HEADERS; i++) {
    free(resp->header_long[i]);
    resp->header_long[i] = NULL;
  }
  resp->n_headers = 0;
}

static void drop_fd(streamd_response *resp)
{
  if (resp->has_fd)
    close(resp->fd);
  resp->has_fd = 0;
  resp->fd = -1;
}

static void set_body(streamd_response *resp, int status, const char *ctype, char *body, size_t len)
{
  drop_fd(resp);
  free(resp->body);
  resp->status = status;
  resp->content_type = ctype;
  resp->body = body;
  resp->body_len = len;
}

void streamd_reply_json(streamd_response *resp, int status, cJSON *body)
{
  char *text = body ? cJSON_PrintUnformatted(body) : NULL;
  cJSON_Delete(body);
  if (!text) {
    set_body(resp, 0, NULL, NULL, 0); /* becomes a 500 problem in answer() */
    return;
  }
  set_body(resp, status, "application/json", text, strlen(text));
}

void streamd_reply_text(streamd_response *resp, int status, const char *content_type,
                        const char *text, size_t len)
{
  char *copy = malloc(len + 1);
  if (!copy) {
    set_body(resp, 0, NULL, NULL, 0);
    return;
  }
  memcpy(copy, text, len);
  copy[len] = '\0';
  set_body(resp, status, content_type, copy, len);
}

void streamd_reply_fd(streamd_response *resp, int status, const char *content_type, int fd,
                      uint64_t offset, uint64_t len)
{
  set_body(resp, status, content_type, NULL, 0);
  resp->has_fd = 1;
  resp->fd = fd;
  resp->fd_offset = offset;
  resp->fd_len = len;
}

void streamd_reply_problem(streamd_response *resp, const streamd_request *req, int code,
                           const char *detail)
{
  const streamd_problem_info *p = streamd_problem_lookup(code);
  if (p->http_status >= 500 && detail && *detail) {
    /* Keep the real reason in the log, give the client the generic title. */
    cJSON *f = cJSON_CreateObject();
    if (f) {
      char safe[512];
      streamd_utf8_sanitize(safe, sizeof(safe), detail);
      cJSON_AddStringToObject(f, "request_id", req ? req->request_id : "");
      cJSON_AddStringToObject(f, "detail", safe);
      cJSON_AddNumberToObject(f, "code", code);
    }
    streamd_log_event(STREAM_LOG_ERROR, "request failed", f);
  }
  size_t len = 0;
  char *body = streamd_problem_render(&len, code, detail, req ? req->path : NULL,
                                      req ? req->request_id : NULL);
  set_body(resp, body ? p->http_status : 0, "application/problem+json", body, len);
}

/* ---- request processing -------------------------------------------------- */

static void early(req_ctx *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void early(req_ctx *c, int code, const char *fmt, ...)
{
  if (c->early_code)
    return; /* the first verdict wins */
  c->early_code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->early_detail, sizeof(c->early_detail), fmt, ap);
  va_end(ap);
}

static int content_type_is_json(const char *ct)
{
  if (!ct)
    return 0;
  while (*ct == ' ')
    ct++;
  size_t n = strcspn(ct, "; ");
  if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
    return 1;
  /* application/<something>+json */
  return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
         strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/*
 * Percent-decoding of the path and the query arguments (MHD_OPTION_UNESCAPE_CALLBACK), as
 * libmicrohttpd's own "%HH" decoder does, except for an encoded NUL: decoded to a 0 byte it
 * silently cut the path short, so "DELETE /v1/profiles/<id>%00/switch" deleted the profile and
 * "/v1/titles/x%00y" answered for title "x" (argument values were cut the same way). It becomes
 * the overlong sequence C0 80 instead: no longer than "%00", never valid UTF-8, so no id or key
 * matches it; first_call refuses a path that holds one (400), and argument values keep their
 * length for the routes' own checks.
 */
#define ENCODED_NUL "\xC0\x80"

static size_t unescape_uri(void *cls, struct MHD_Connection *conn, char *s)
{
  (void)cls;
  (void)conn;
  /* "%00" first (two bytes in the place of three; they hold no hex digit, so no other
   * escape appears or goes), then libmicrohttpd's own decoder for the rest. */
  char *w = s;
  const char *r = s;
  while (*r) {
    if (r[0] == '%' && r[1] == '0' && r[2] == '0') {
      *w++ = ENCODED_NUL[0];
      *w++ = ENCODED_NUL[1];
      r += 3;
    } else {
      *w++ = *r++;
    }
  }
  *w = '\0';
  return MHD_http_unescape(s);
}

static void first_call(streamd_server *s, req_ctx *c, struct MHD_Connection *conn, const char *url,
                       const char *method)
{
  const streamd_config *cfg = s->cfg;
  clock_gettime(CLOCK_MONOTONIC, &c->start);
  snprintf(c->method, sizeof(c->method), "%s", method);
  snprintf(c->method_label, sizeof(c->method_label), "%s", method_label(method));
  size_t url_len = strlen(url);
  snprintf(c->path, sizeof(c->path), "%s", url);
  c->route_label = "unmatched";
  c->req.server = s;
  c->req.conn = conn;
  c->req.method = c->method;
  c->req.path = c->path;
  c->req.match = &c->match;

  const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
  if (rid && request_id_ok(rid))
    snprintf(c->req.request_id, sizeof(c->req.request_id), "%s", rid);
  else
    new_request_id(c->req.request_id);

  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (ci && ci->client_addr) {
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
      inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, c->remote,
                sizeof(c->remote));
    else if (sa->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, c->remote,
                sizeof(c->remote));
  }

  /* 1. Header size (MHD itself cuts off far larger headers at its memory limit). */
  struct hdr_sum hs = {strlen(method) + url_len + 12};
  MHD_get_connection_values(conn, MHD_HEADER_KIND, sum_kv, &hs);
  MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, sum_kv, &hs);
  if (url_len > STREAMD_MAX_PATH)
    early(c, STREAMD_P_URI_TOO_LONG, "the request path is longer than %d bytes", STREAMD_MAX_PATH);
  if (hs.total > cfg->max_header_bytes)
    early(c, STREAMD_P_HEADERS_TOO_LARGE,
          "request line and headers take %zu bytes; the limit is %zu", hs.total,
          cfg->max_header_bytes);
  if (strstr(url, ENCODED_NUL))
    early(c, STREAM_EINVAL, "the request path holds an encoded NUL byte (%%00 or %%C0%%80)");

  /* 2. CORS origin. */
  c->origin_ok = origin_allowed(cfg, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin"),
                                &c->req.cors_credentials);

  /* 3. OPTIONS: preflight or Allow discovery. */
  if (strcmp(method, "OPTIONS") == 0) {
    c->preflight = 1;
    c->route_label = "options";
    streamd_router_allow(s->routes, s->n_routes, c->path, c->allow, sizeof(c->allow));
    if (!c->allow[0] && strncmp(c->path, MEDIA_PREFIX, strlen(MEDIA_PREFIX)) == 0)
      snprintf(c->allow, sizeof(c->allow), "GET, HEAD");
    if (!c->allow[0])
      early(c, STREAMD_P_NO_ROUTE, "no route for path %s", c->path);
    const char *origin = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Origin");
    const char *acrm =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Access-Control-Request-Method");
    if (origin && acrm && !c->origin_ok)
      early(c, STREAMD_P_ORIGIN, "origin %.200s is not allowed", origin);
    c->body_limit = 0;
    return;
  }

  /* 4. Route. */
  int m = streamd_router_match(&c->match, s->routes, s->n_routes, method, c->path, c->allow,
                               sizeof(c->allow));
  /* 4a. The origin: any depth under /v1/media/ goes to the media row. */
  if (m == STREAMD_MATCH_NO_PATH && strncmp(c->path, MEDIA_PREFIX, strlen(MEDIA_PREFIX)) == 0) {
    for (size_t i = 0; i < s->n_routes; i++)
      if (strcmp(s->routes[i].pattern, MEDIA_PATTERN) == 0) {
        if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
          c->match.route = &s->routes[i];
          c->match.n_params = 0;
          m = STREAMD_MATCH_OK;
        } else {
          snprintf(c->allow, sizeof(c->allow), "GET, HEAD");
          m = STREAMD_MATCH_NO_METHOD;
        }
        break;
      }
  }
  /* 4b. Static files (web_root): a GET/HEAD no route has goes to the table's "*" row. */
  if (m == STREAMD_MATCH_NO_PATH && cfg->web_root[0] &&
      (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0))
    for (size_t i = 0; i < s->n_routes; i++)
      if (strcmp(s->routes[i].pattern, "*") == 0) {
        c->match.route = &s->routes[i];
        c->match.n_params = 0;
        m = STREAMD_MATCH_OK;
        break;
      }
  if (m == STREAMD_MATCH_NO_PATH) {
    early(c, STREAMD_P_NO_ROUTE, "no route for path %s", c->path);
  } else if (m == STREAMD_MATCH_NO_METHOD) {
    early(c, STREAMD_P_METHOD, "method %s is not allowed here; allowed: %s", c->method_label,
          c->allow);
  } else {
    c->route_label = c->match.route->pattern;
  }
  c->body_limit = (m == STREAMD_MATCH_OK && c->match.route->max_body) ? c->match.route->max_body
                                                                      : cfg->max_body_bytes;

  /* 5. Content-Length over the limit: reject before reading the body. */
  const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
  const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
  unsigned long long declared = 0;
  if (cl) {
    char *end = NULL;
    errno = 0;
    declared = strtoull(cl, &end, 10);
    if (errno || end == cl)
      declared = ~0ULL;
    if (declared > c->body_limit) {
      /* Overrides any earlier verdict: this one is answered before the body is read. */
      c->early_code = 0;
      early(c, STREAMD_P_BODY_TOO_LARGE,
            "the request body of %s bytes exceeds the limit of %zu bytes",
            errno || end == cl ? "too many" : cl, c->body_limit);
    }
  }

  /* 6. JSON routes want a JSON media type when there is a body. */
  if (m == STREAMD_MATCH_OK && (c->match.route->flags & STREAMD_ROUTE_JSON_BODY) &&
      (declared > 0 || te)) {
    const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
    if (!content_type_is_json(ct))
      early(c, STREAMD_P_MEDIA_TYPE, "the request body must be application/json");
  }
}

static void dispatch(streamd_server *s, req_ctx *c)
{
  streamd_request *req = &c->req;
  streamd_response *resp = &c->resp;
  if (c->preflight) {
    const char *acrm = streamd_request_header(req, "Access-Control-Request-Method");
    resp->status = 204;
    int tus = strncmp(c->path, TUS_PREFIX, strlen(TUS_PREFIX)) == 0;
    if (tus) {
      /* tus 1.0 discovery: an OPTIONS answer carries the server's capabilities. */
      char max[32];
      snprintf(max, sizeof(max), "%zu", s->cfg->upload_max_bytes);
      streamd_response_header(resp, "Tus-Resumable", "1.0.0");
      streamd_response_header(resp, "Tus-Version", "1.0.0");
      streamd_response_header(resp, "Tus-Extension",
                              "creation,creation-with-upload,termination,checksum,expiration");
      streamd_response_header(resp, "Tus-Max-Size", max);
      streamd_response_header(resp, "Tus-Checksum-Algorithm", "sha1,sha256");
    }
    int media = strncmp(c->path, MEDIA_PREFIX, strlen(MEDIA_PREFIX)) == 0;
    if (acrm && c->origin_ok) {
      streamd_response_header(resp, "Access-Control-Allow-Methods", c->allow);
      streamd_response_header(resp, "Access-Control-Allow-Headers",
                              tus     ? TUS_ALLOW_HEADERS
                              : media ? MEDIA_ALLOW_HEADERS
                                      : CORS_ALLOW_HEADERS);
      streamd_response_header(resp, "Access-Control-Max-Age", "600");
      /* A credentialed media request that needs a preflight (CMCD header mode, a Range the
       * Fetch standard does not call simple such as "bytes=-n") fails without it. */
      if (media && req->cors_credentials && streamd_config_media_cookies(s->cfg))
        streamd_response_header(resp, "Access-Control-Allow-Credentials", "true");
    } else {
      char allow[160];
      snprintf(allow, sizeof(allow), "%s, OPTIONS", c->allow);
      streamd_response_header(resp, "Allow", allow);
    }
    return;
  }
  const streamd_route *route = c->match.route;
  req->body = c->body ? c->body : "";
  req->body_len = c->body_len;
  if (route->role != STREAMD_ROLE_PUBLIC) {
    char detail[256] = "";
    streamd_identity id;
    memset(&id, 0, sizeof(id));
    int rc = s->authenticate ? s->authenticate(&id, req, s->auth_userdata, detail, sizeof(detail))
                             : STREAMD_P_UNAUTHENTICATED;
    if (rc != 0) {
      streamd_reply_problem(resp, req, rc, detail[0] ? detail : "authentication required");
      streamd_response_header(resp, "WWW-Authenticate",
                              rc == STREAMD_P_UNAUTHENTICATED
                                  ? "Bearer realm=\"streamd\""
                                  : "Bearer realm=\"streamd\", error=\"invalid_token\"");
      return;
    }
    if (id.role != (int)route->role) {
      streamd_reply_problem(resp, req, STREAM_EFORBIDDEN,
                            route->role == STREAMD_ROLE_OPERATOR
                                ? "this route needs the operator role"
                                : "this route needs a signed-in viewer");
      return;
    }
    req->identity = id;
  }
  route->handler(req, resp);
}

static void wipe_ctx_body(req_ctx *c)
{
  free(c->body);
  c->body = NULL;
  c->body_len = c->body_cap = 0;
}

/* File responses (segments) are sent with TCP_CORK on, as nginx does with tcp_nopush: only
 * full-sized segments leave while the body streams, and on_completed uncorks, which pushes the
 * tail at once. libmicrohttpd 0.9.75 turns TCP_NODELAY on before its sendfile and never corks,
 * so without this a receive window that opens a little at a time (a client reading 8-16 KiB
 * per call) is answered with a small segment each time: measured on a 1 MiB segment over
 * loopback, ~37 TCP segments per response instead of ~22, and the client spends more CPU per
 * response than with nginx (docs/bench.md, origin). Small bodies are left alone. */
#define STREAMD_CORK_MIN ((uint64_t)64 * 1024)

static void cork_for_file(req_ctx *c, struct MHD_Connection *conn, uint64_t len)
{
  c->corked_fd = -1;
  if (len < STREAMD_CORK_MIN)
    return;
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  int one = 1;
  if (ci && ci->connect_fd >= 0 &&
      setsockopt(ci->connect_fd, IPPROTO_TCP, TCP_CORK, &one, sizeof one) == 0)
    c->corked_fd = ci->connect_fd;
}

static void uncork(req_ctx *c)
{
  if (c->corked_fd < 0)
    return;
  int zero = 0;
  (void)setsockopt(c->corked_fd, IPPROTO_TCP, TCP_CORK, &zero, sizeof zero);
  c->corked_fd = -1;
}

static enum MHD_Result answer(streamd_server *s, req_ctx *c, struct MHD_Connection *conn)
{
  streamd_response *resp = &c->resp;
  if (c->early_code)
    streamd_reply_problem(resp, &c->req, c->early_code, c->early_detail);
  if (resp->status == 0) {
    free(resp->body);
    resp->body = NULL;
    drop_headers(resp);
    streamd_reply_problem(resp, &c->req, STREAM_EINTERNAL, "handler produced no response");
  }
  if (resp->status == 0)
    return MHD_NO; /* out of memory even for the problem */
  if (c->early_code == STREAMD_P_METHOD)
    streamd_response_header(resp, "Allow", c->allow);

  struct MHD_Response *r =
      resp->has_fd
          ? MHD_create_response_from_fd_at_offset64(resp->fd_len, resp->fd, resp->fd_offset)
      : resp->body
          ? MHD_create_response_from_buffer(resp->body_len, resp->body, MHD_RESPMEM_MUST_FREE)
          : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  if (!r)
    return MHD_NO; /* an fd still owned is closed in on_completed */
  /* A 304's body only sets its Content-Length (routes_media.c); libmicrohttpd sends none. */
  c->resp_bytes = resp->status == 304 ? 0 : resp->has_fd ? (size_t)resp->fd_len : resp->body_len;
  if (resp->has_fd && resp->status != 304)
    cork_for_file(c, conn, (uint64_t)resp->fd_len);
  resp->has_fd = 0;  /* fd owned by MHD now */
  resp->body = NULL; /* owned by MHD now */
  if (resp->content_type)
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
  MHD_add_response_header(r, "X-Request-Id", c->req.request_id);
  /* no-store unless the handler chose a cache policy (static files, media). */
  int own_cache_control = 0;
  for (size_t i = 0; i < resp->n_headers; i++)
    own_cache_control |= strcasecmp(resp->header_names[i], "Cache-Control") == 0;
  if (!own_cache_control)
    MHD_add_response_header(r, "Cache-Control", "no-store");
  MHD_add_response_header(r, "Vary", "Origin");
  int tus = strncmp(c->path, TUS_PREFIX, strlen(TUS_PREFIX)) == 0;
  if (c->origin_ok) {
    MHD_add_response_header(r, "Access-Control-Allow-Origin", c->origin_ok);
    MHD_add_response_header(r, "Access-Control-Expose-Headers",
                            tus ? TUS_EXPOSE_HEADERS : "X-Request-Id");
  }
  for (size_t i = 0; i < resp->n_headers; i++) { /* libmicrohttpd copies header strings */
    /* Credentials only ever for an origin cors_origins names itself (origin_allowed). */
    if (strcasecmp(resp->header_names[i], "Access-Control-Allow-Credentials") == 0 &&
        (!c->origin_ok || !c->req.cors_credentials))
      continue;
    MHD_add_response_header(r, resp->header_names[i],
                            resp->header_long[i] ? resp->header_long[i] : resp->header_values[i]);
  }
  drop_headers(resp);
  /* tus: every response, errors included, names the protocol version. */
  if (tus && !MHD_get_response_header(r, "Tus-Resumable"))
    MHD_add_response_header(r, "Tus-Resumable", "1.0.0");
  /* Close instead of keeping alive while draining, and after refusing a body we did not read. */
  if (atomic_load(&s->draining) || c->early_code == STREAMD_P_BODY_TOO_LARGE)
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
  enum MHD_Result ok = MHD_queue_response(conn, (unsigned int)resp->status, r);
  MHD_destroy_response(r);
  c->queued = 1;
  c->status = resp->status;
  streamd_metrics_observe(c->route_label, c->method_label, c->status, elapsed_s(&c->start));
  wipe_ctx_body(c);
  return ok;
}

/* STREAMD_ROUTE_STREAM_BODY: run the handler (after auth) before the body,
 * then hand each piece to req->body_fn instead of buffering it (http.h). */
static enum MHD_Result on_stream_body(streamd_server *s, req_ctx *c, struct MHD_Connection *conn,
                                      const char *upload_data, size_t *upload_data_size)
{
  if (!c->stream_begun) {
    c->stream_begun = 1;
    dispatch(s, c);
    if (c->resp.status)
      c->req.body_fn = NULL; /* answered before the body: discard it */
  }
  if (*upload_data_size > 0) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    if (c->req.body_fn) {
      if (c->req.body_fn(&c->req, &c->resp, upload_data, n, STREAMD_BODY_DATA) != 0)
        c->req.body_fn = NULL;
      return MHD_YES;
    }
    c->discarded += n;
    return c->discarded > c->body_limit + STREAMD_DISCARD_SLACK ? MHD_NO : MHD_YES;
  }
  if (c->req.body_fn) {
    streamd_body_fn fn = c->req.body_fn;
    c->req.body_fn = NULL;
    fn(&c->req, &c->resp, NULL, 0, STREAMD_BODY_END);
  }
  return answer(s, c, conn);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
  (void)version;
  streamd_server *s = cls;
  req_ctx *c = *con_cls;
  if (!c) {
    c = calloc(1, sizeof(*c));
    if (!c)
      return MHD_NO;
    c->corked_fd = -1;
    atomic_fetch_add(&s->in_flight, 1);
    *con_cls = c;
    first_call(s, c, conn, url, method);
    if (c->early_code == STREAMD_P_BODY_TOO_LARGE)
      return answer(s, c, conn); /* see top */
    return MHD_YES;              /* otherwise never queue on the first call */
  }
  if (c->queued) {
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (!c->early_code && !c->preflight && c->match.route &&
      (c->match.route->flags & STREAMD_ROUTE_STREAM_BODY))
    return on_stream_body(s, c, conn, upload_data, upload_data_size);
  if (*upload_data_size > 0) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    if (!c->early_code && n > c->body_limit - c->body_len) {
      early(c, STREAMD_P_BODY_TOO_LARGE, "the request body exceeds the limit of %zu bytes",
            c->body_limit);
      wipe_ctx_body(c);
    }
    if (c->early_code) {
      c->discarded += n;
      return c->discarded > c->body_limit + STREAMD_DISCARD_SLACK ? MHD_NO : MHD_YES;
    }
    if (c->body_len + n + 1 > c->body_cap) {
      size_t cap = c->body_cap ? c->body_cap : 1024;
      while (cap < c->body_len + n + 1)
        cap *= 2;
      if (cap > c->body_limit + 1)
        cap = c->body_limit + 1;
      char *nb = realloc(c->body, cap);
      if (!nb) {
        early(c, STREAM_ENOMEM, "out of memory reading the body");
        wipe_ctx_body(c);
        return MHD_YES;
      }
      c->body = nb;
      c->body_cap = cap;
    }
    memcpy(c->body + c->body_len, upload_data, n);
    c->body_len += n;
    c->body[c->body_len] = '\0';
    return MHD_YES;
  }
  if (!c->early_code)
    dispatch(s, c);
  return answer(s, c, conn);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
  (void)conn;
  streamd_server *s = cls;
  req_ctx *c = *con_cls;
  if (!c)
    return;
  *con_cls = NULL;
  uncork(c); /* first: the tail of a file response leaves now */
  cJSON *f = cJSON_CreateObject();
  if (f) {
    char safe_path[512];
    streamd_log_path(safe_path, sizeof(safe_path), c->path);
    cJSON_AddStringToObject(f, "request_id", c->req.request_id);
    cJSON_AddStringToObject(f, "method", c->method_label);
    cJSON_AddStringToObject(f, "route", c->route_label);
    cJSON_AddStringToObject(f, "path", safe_path);
    cJSON_AddNumberToObject(f, "status", c->status);
    cJSON_AddNumberToObject(f, "bytes", (double)c->resp_bytes);
    cJSON_AddNumberToObject(f, "duration_ms", elapsed_s(&c->start) * 1000.0);
    cJSON_AddStringToObject(f, "remote", c->remote);
    if (c->req.identity.role != STREAMD_ROLE_PUBLIC)
      cJSON_AddStringToObject(f, "subject", c->req.identity.subject);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
      cJSON_AddStringToObject(f, "termination",
                              toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? "timeout"
                              : toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT  ? "client_abort"
                                                                            : "error");
    for (cJSON *x = c->req.access_fields ? c->req.access_fields->child : NULL; x;) {
      cJSON *next = x->next;
      cJSON_AddItemToObject(f, x->string, cJSON_DetachItemViaPointer(c->req.access_fields, x));
      x = next;
    }
  }
  cJSON_Delete(c->req.access_fields);
  streamd_log_access(f);
  if (c->req.body_fn) /* a streamed body cut off before its end */
    c->req.body_fn(&c->req, &c->resp, NULL, 0, STREAMD_BODY_ABORT);
  drop_fd(&c->resp);
  drop_headers(&c->resp);
  free(c->resp.body);
  wipe_ctx_body(c);
  free(c);
  atomic_fetch_sub(&s->in_flight, 1);
}

static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
  (void)cls;
  char buf[512];
  vsnprintf(buf, sizeof(buf), fmt, ap);
  size_t n = strlen(buf);
  while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
    buf[--n] = '\0';
  cJSON *f = cJSON_CreateObject();
  if (f)
    cJSON_AddStringToObject(f, "module", "libmicrohttpd");
  streamd_log_event(STREAM_LOG_WARN, buf, f);
}

/* ---- lifecycle ------------------------------------------------------------ */

int streamd_server_start(streamd_server *s, const streamd_config *cfg, const streamd_route *routes,
                         size_t n_routes, streamd_authenticate_fn auth, void *auth_userdata)
{
  memset(s, 0, sizeof(*s));
  s->cfg = cfg;
  s->routes = routes;
  s->n_routes = n_routes;
  s->authenticate = auth;
  s->auth_userdata = auth_userdata;
  s->listen_fd = -1;
  atomic_init(&s->draining, 0);
  atomic_init(&s->in_flight, 0);

  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof(ss));
  /*
   * Threading (docs/bench.md "Origin"): up to STREAMD_PER_CONNECTION_MAX connections, one
   * thread per connection. libmicrohttpd 0.9.75 sends an fd body in sendfile() calls of at most
   * 2 MiB in that mode but 128 KiB in its epoll modes, each followed by another turn of the
   * event loop: eight sendfile calls and three TCP option changes per 1 MiB segment instead of
   * one sendfile, measurably slower on the origin bench. Above that limit (thousands of idle
   * keep-alive players) a thread per connection costs too much memory and scheduling, and an
   * epoll pool of `threads` threads serves instead.
   */
  int per_connection = cfg->max_connections <= STREAMD_PER_CONNECTION_MAX;
  unsigned int flags = MHD_USE_ERROR_LOG | MHD_USE_ITC;
  flags |= per_connection ? MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                MHD_USE_POLL /* no FD_SETSIZE limit */
                          : MHD_USE_EPOLL_INTERNAL_THREAD;
  struct sockaddr_in *v4 = (struct sockaddr_in *)(void *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)(void *)&ss;
  if (inet_pton(AF_INET, cfg->listen_address, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)cfg->port);
  } else if (inet_pton(AF_INET6, cfg->listen_address, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)cfg->port);
    flags |= MHD_USE_IPv6;
  } else {
    streamd_logf(STREAM_LOG_ERROR, "listen_address '%s' is not an IPv4 or IPv6 address",
                 cfg->listen_address);
    return -1;
  }
  /* Room for our own header limit plus the read buffer; beyond it MHD answers 431 itself. */
  size_t mem = cfg->max_header_bytes * 2 + 32768;
  /* The pool size only for the epoll pool: with a thread per connection libmicrohttpd warns
   * about any pool size given, even 0, on every start. */
  struct MHD_OptionItem pool[] = {
      {MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)cfg->threads, NULL},
      {MHD_OPTION_END, 0, NULL},
  };
  s->mhd = MHD_start_daemon(
      flags, (uint16_t)cfg->port, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_logger,
      s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_ARRAY,
      per_connection ? pool + 1 : pool, MHD_OPTION_CONNECTION_LIMIT,
      (unsigned int)cfg->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      (unsigned int)cfg->max_connections_per_ip, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned int)cfg->connection_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, mem,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_UNESCAPE_CALLBACK, unescape_uri,
      NULL, MHD_OPTION_END);
  if (!s->mhd) {
    streamd_logf(STREAM_LOG_ERROR,
                 "cannot listen on %s port %u (address in use? too many threads?)",
                 cfg->listen_address, cfg->port);
    return -1;
  }
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
  s->port = di ? di->port : (uint16_t)cfg->port;
  return 0;
}

void streamd_server_begin_drain(streamd_server *s)
{
  atomic_store(&s->draining, 1);
  if (s->mhd && s->listen_fd < 0) {
    MHD_socket fd = MHD_quiesce_daemon(s->mhd);
    s->listen_fd = fd == MHD_INVALID_SOCKET ? -1 : (int)fd;
  }
}

void streamd_server_stop(streamd_server *s)
{
  if (s->mhd)
    MHD_stop_daemon(s->mhd);
  s->mhd = NULL;
  if (s->listen_fd >= 0)
    close(s->listen_fd);
  s->listen_fd = -1;
}
