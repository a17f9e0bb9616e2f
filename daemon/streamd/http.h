/*
 * streamd's HTTP layer on libmicrohttpd: per-request state, body limits,
 * request ids, CORS, role checks, response helpers and the server lifecycle.
 * Route handlers see only streamd_request / streamd_response.
 */
#ifndef STREAMD_HTTP_H
#define STREAMD_HTTP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "router.h"

#define STREAMD_REQUEST_ID_MAX 64
#define STREAMD_MAX_RESP_HEADERS 14

/* Who is calling. role is a streamd_role; STREAMD_ROLE_PUBLIC means anonymous. */
typedef struct streamd_identity {
  int role;
  char subject[128]; /* "operator", later a user id; never a credential */
} streamd_identity;

struct streamd_server;
struct streamd_request;
struct streamd_response;

/*
 * Streaming bodies (STREAMD_ROUTE_STREAM_BODY routes): the handler runs before
 * the body and, to receive it, sets req->body_fn / req->body_state and leaves
 * the response unset. body_fn then gets each piece (STREAMD_BODY_DATA; return
 * nonzero after setting the response to stop: the rest is discarded), then
 * STREAMD_BODY_END (set the response), or STREAMD_BODY_ABORT when the
 * connection ends first (clean up only). After a nonzero DATA return, END or
 * ABORT it is not called again.
 */
enum { STREAMD_BODY_DATA = 0, STREAMD_BODY_END = 1, STREAMD_BODY_ABORT = 2 };
typedef int (*streamd_body_fn)(struct streamd_request *req, struct streamd_response *resp,
                               const char *data, size_t len, int phase);

typedef struct streamd_request {
  struct streamd_server *server;
  void *conn;         /* struct MHD_Connection * (use the accessors below) */
  const char *method; /* as sent by the client */
  const char *path;   /* percent-decoded, without query */
  const streamd_match *match;
  char request_id[STREAMD_REQUEST_ID_MAX + 1];
  const char *body; /* NUL-terminated for convenience; body_len bytes */
  size_t body_len;
  streamd_identity identity;
  /* 1 when the request's Origin is named in cors_origins itself (not allowed through "*", and
   * never "null"): the only origins a response may send Access-Control-Allow-Credentials to
   * (http.c drops that header otherwise). */
  int cors_credentials;
  streamd_body_fn body_fn; /* streaming bodies only (see above) */
  void *body_state;
  /* Fields a handler adds to the request's access-log line (the origin's CMCD data): NULL or
   * a cJSON object owned by the request, moved into the line when the request completes. */
  cJSON *access_fields;
} streamd_request;

typedef struct streamd_response {
  int status;
  char *body; /* malloc'd, owned by the response */
  size_t body_len;
  const char *content_type; /* static string */
  size_t n_headers;
  char header_names[STREAMD_MAX_RESP_HEADERS][48];
  char header_values[STREAMD_MAX_RESP_HEADERS][256];
  /* A file body (routes_media.c): when has_fd, fd_len bytes of `fd` from fd_offset are
   * sent with sendfile instead of `body`; the response owns fd (streamd_reply_fd). */
  int has_fd;
  int fd;
  uint64_t fd_offset, fd_len;
  /* A value too long for its fixed slot (e.g. tus Upload-Metadata): malloc'd, owned here. */
  char *header_long[STREAMD_MAX_RESP_HEADERS];
} streamd_response;

/*
 * Authentication hook consulted for every route whose role is not PUBLIC.
 * Sets *out and returns 0 when the request carries a credential that the
 * hook accepts; returns STREAMD_P_UNAUTHENTICATED (no credential) or a
 * stream_status (STREAM_EAUTH, STREAM_EEXPIRED, ...) with a message in
 * `detail` otherwise. Called from worker threads: must be thread-safe.
 */
typedef int (*streamd_authenticate_fn)(streamd_identity *out, const streamd_request *req,
                                       void *userdata, char *detail, size_t dlen);

typedef struct streamd_server {
  struct MHD_Daemon *mhd;
  const streamd_config *cfg;
  const streamd_route *routes;
  size_t n_routes;
  streamd_authenticate_fn authenticate;
  void *auth_userdata;
  atomic_int draining;
  atomic_int in_flight;
  uint16_t port;
  int listen_fd; /* returned by MHD_quiesce_daemon; closed at stop */
} streamd_server;

/* Start listening (bound port in s->port). 0 or -1 with a logged message. */
int streamd_server_start(streamd_server *s, const streamd_config *cfg, const streamd_route *routes,
                         size_t n_routes, streamd_authenticate_fn auth, void *auth_userdata);

/* Stop accepting connections and flip /readyz to 503. In-flight requests continue. */
void streamd_server_begin_drain(streamd_server *s);

/* Stop the daemon (closes all connections). */
void streamd_server_stop(streamd_server *s);

/* ---- for handlers ---------------------------------------------------- */

const char *streamd_request_header(const streamd_request *r, const char *name);
const char *streamd_request_query(const streamd_request *r, const char *name);
const char *streamd_request_param(const streamd_request *r, const char *name);

/* Add a response header (copied). A value longer than the fixed 255 bytes is kept on the heap;
 * out of memory, it is truncated to them. */
void streamd_response_header(streamd_response *resp, const char *name, const char *value);

/* 2xx/3xx with a JSON body. Takes ownership of `body` (deleted here). */
void streamd_reply_json(streamd_response *resp, int status, cJSON *body);

/* A plain body (copied). */
void streamd_reply_text(streamd_response *resp, int status, const char *content_type,
                        const char *text, size_t len);

/* A file body sent with sendfile: `len` bytes of `fd` from `offset`. Takes ownership of fd. */
void streamd_reply_fd(streamd_response *resp, int status, const char *content_type, int fd,
                      uint64_t offset, uint64_t len);

/* An application/problem+json answer for a stream_status or streamd_problem_code. */
void streamd_reply_problem(streamd_response *resp, const streamd_request *req, int code,
                           const char *detail);

#endif
