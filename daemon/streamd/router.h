/*
 * The routing table: method + path pattern with {param} segments, the role
 * each route needs, and its handler. Matching gives the route, the captured
 * parameters, or 404 / 405 (with the Allow list).
 */
#ifndef STREAMD_ROUTER_H
#define STREAMD_ROUTER_H

#include <stddef.h>

#define STREAMD_MAX_PARAMS 8
#define STREAMD_MAX_PATH 2048

/* Roles are separate, not a hierarchy: an operator token does not act as a viewer. */
typedef enum streamd_role {
  STREAMD_ROLE_PUBLIC = 0,  /* no credentials needed */
  STREAMD_ROLE_VIEWER = 1,  /* a signed-in viewer (auth module: later) */
  STREAMD_ROLE_OPERATOR = 2 /* the operator token */
} streamd_role;

/* Route flags. */
#define STREAMD_ROUTE_JSON_BODY 1u /* body, when present, must be application/json */
/* The body is not buffered: the handler runs before it (after auth) and sets
 * req->body_fn to receive it piece by piece (http.h). max_body still caps it. */
#define STREAMD_ROUTE_STREAM_BODY 2u

struct streamd_request;
struct streamd_response;
typedef void (*streamd_handler_fn)(struct streamd_request *req, struct streamd_response *resp);

typedef struct streamd_route {
  const char *method;  /* "GET", "POST", ... (HEAD is served by GET routes) */
  const char *pattern; /* "/v1/titles/{id}" */
  streamd_role role;
  streamd_handler_fn handler;
  size_t max_body;    /* 0 = the configured max_body_bytes */
  unsigned int flags; /* STREAMD_ROUTE_* */
} streamd_route;

typedef struct streamd_match {
  const streamd_route *route;
  size_t n_params;
  char names[STREAMD_MAX_PARAMS][32];
  const char *values[STREAMD_MAX_PARAMS]; /* point into buf */
  char buf[STREAMD_MAX_PATH + 1];
} streamd_match;

enum { STREAMD_MATCH_OK = 0, STREAMD_MATCH_NO_PATH = 1, STREAMD_MATCH_NO_METHOD = 2 };

/*
 * Match `method` + `path` against `table`. On STREAMD_MATCH_NO_METHOD, `allow`
 * receives the methods the path does accept ("GET, HEAD, POST").
 * `path` must not include the query string.
 */
int streamd_router_match(streamd_match *m, const streamd_route *table, size_t n, const char *method,
                         const char *path, char *allow, size_t allow_len);

/* The methods a path accepts, comma separated (empty when no route has that path). */
void streamd_router_allow(const streamd_route *table, size_t n, const char *path, char *allow,
                          size_t allow_len);

#endif
