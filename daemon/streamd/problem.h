/*
 * RFC 9457 problem details. ONE table (problem.c) maps every libstream
 * stream_status code, plus the few HTTP-level conditions that have no library
 * code (unknown route, wrong method, body/header limits, ...), to an HTTP
 * status, a title and a type URI.
 */
#ifndef STREAMD_PROBLEM_H
#define STREAMD_PROBLEM_H

#include <stddef.h>

/* HTTP-level problems without a stream_status code; below the library's range. */
enum streamd_problem_code {
  STREAMD_P_NO_ROUTE = -1001,          /* 404 */
  STREAMD_P_METHOD = -1002,            /* 405 */
  STREAMD_P_BODY_TOO_LARGE = -1003,    /* 413 */
  STREAMD_P_HEADERS_TOO_LARGE = -1004, /* 431 */
  STREAMD_P_MEDIA_TYPE = -1005,        /* 415 */
  STREAMD_P_BAD_JSON = -1006,          /* 400 */
  STREAMD_P_UNAUTHENTICATED = -1007,   /* 401 (no or unusable credentials) */
  STREAMD_P_DRAINING = -1008,          /* 503 */
  STREAMD_P_ORIGIN = -1009,            /* 403 (CORS origin not allowed) */
  STREAMD_P_URI_TOO_LONG = -1010,      /* 414 */
  STREAMD_P_RANGE = -1011,             /* 416 (the origin: Range not satisfiable) */
  STREAMD_P_PRECONDITION = -1012,      /* 412 (the origin: If-Match / If-Unmodified-Since) */
  /* tus 1.0 (routes_uploads.c) */
  STREAMD_P_TUS_VERSION = -1101, /* 412: Tus-Resumable missing or not 1.0.0 */
  STREAMD_P_CHECKSUM = -1102,    /* 460: Upload-Checksum mismatch */
  STREAMD_P_GONE = -1103,        /* 410: the upload expired */
  STREAMD_P_TOO_LARGE = -1104,   /* 413: Upload-Length over the limit */
  /* POST /v1/events (routes_events.c) */
  STREAMD_P_EVENT_PROFILE = -1201 /* 403: the batch names a profile the credential may not */
};

typedef struct streamd_problem_info {
  int code; /* stream_status or streamd_problem_code */
  int http_status;
  const char *slug; /* type URI is STREAMD_PROBLEM_TYPE_BASE + slug */
  const char *title;
} streamd_problem_info;

#define STREAMD_PROBLEM_TYPE_BASE "urn:libstream:problem:"

/* The table entry for `code`; unknown codes give the "internal" entry. Never NULL. */
const streamd_problem_info *streamd_problem_lookup(int code);

/*
 * Render an application/problem+json body. `detail`, `instance` and
 * `request_id` may be NULL. For 5xx statuses the detail is replaced by the
 * title (internal messages go to the log, not to clients). Returns a malloc'd
 * NUL-terminated string (caller frees with free()) and its length in *len,
 * or NULL when out of memory.
 */
char *streamd_problem_render(size_t *len, int code, const char *detail, const char *instance,
                             const char *request_id);

#endif
