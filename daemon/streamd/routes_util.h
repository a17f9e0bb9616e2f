/*
 * Helpers shared by the service route files (routes_auth.c, routes_profiles.c,
 * routes_catalog.c, routes_admin.c, activate.c): the caller's viewer
 * identity, form and JSON request bodies, the client address, and replies
 * built from the JSON text the services return.
 */
#ifndef STREAMD_ROUTES_UTIL_H
#define STREAMD_ROUTES_UTIL_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "http.h"
#include "stream/catalog.h"
#include "stream/store.h"

/*
 * The viewer region of a request whose country is unknown while region_header is configured
 * (the header is missing, repeated or not two ASCII letters). Titles list ISO 3166-1 alpha-2 or
 * UN M49 numeric regions, never this, so such a viewer sees only the titles that list no regions:
 * fail-closed.
 */
#define STREAMD_REGION_UNKNOWN "UNKNOWN"

/* A viewer identity as the viewer hook stores it in streamd_identity.subject. */
typedef struct streamd_viewer {
  char account_id[STREAM_STORE_ID_SIZE];
  char profile_id[STREAM_STORE_ID_SIZE]; /* empty for an account-level token */
  int kids;                              /* the token's claims (profile tokens) */
  int maturity_ceiling;                  /* 18 without a profile */
  /* Not from the token: the country the request comes from, from the region_header the edge
   * sets ("FR"); "" without region_header (no region filter); STREAMD_REGION_UNKNOWN. */
  char region[STREAM_STORE_REGION_MAX + 1];
} streamd_viewer;

/*
 * streamd_identity.subject of a viewer is "<account_id>" or, for a
 * profile-scoped token, "<account_id>/<profile_id>/<kids 0|1>/<ceiling>":
 * the claims the catalog filters by, taken from the verified token so that
 * no store read is needed per request. Encode / decode it. Decode returns 0,
 * or STREAM_EAUTH when the identity is not a viewer's; it also fills
 * out->region from the request's region header (see streamd_viewer).
 */
void streamd_viewer_to_subject(char *subject, size_t n, const char *account_id,
                               const char *profile_id, int kids, int maturity_ceiling);
int streamd_viewer_from_request(streamd_viewer *out, const streamd_request *req);

/* Like streamd_viewer_from_request, but answers 401 (and returns nonzero) for a non-viewer. */
int streamd_viewer_require(streamd_viewer *out, const streamd_request *req, streamd_response *resp);

/* Like streamd_viewer_from_request, but answers 403 (and returns nonzero) without a profile. */
int streamd_viewer_need_profile(streamd_viewer *out, const streamd_request *req,
                                streamd_response *resp);

/*
 * For the routes that manage the account (profiles: create, change, delete; billing:
 * subscribe, change plan, cancel, resume, payment methods): 0 for an account-level token or
 * one scoped to a profile without parental limits; for a token scoped to a profile with
 * parental limits (kids, or a maturity ceiling below 18) answers 403 naming `what` and returns
 * nonzero. Such a token could otherwise lift its own limits (or make an unlimited profile and
 * switch to it) or spend on the account's card. `v` comes from streamd_viewer_require().
 */
int streamd_viewer_require_unlimited(const streamd_viewer *v, const char *what,
                                     const streamd_request *req, streamd_response *resp);

/* 1 for a token scoped to a profile with parental limits (kids, or a maturity ceiling below 18):
 * the test of streamd_viewer_require_unlimited(); else 0. */
int streamd_viewer_limited(const streamd_viewer *v);

/* The catalog filters of a viewer: the token's profile claims and the request's region
 * (pointers into `v`, which must outlive `out`). */
void streamd_viewer_catalog(stream_catalog_viewer *out, const streamd_viewer *v);

/* STREAM_OK when the viewer `cv` may see title `id` (stream_catalog_title_get with it); else that
 * call's error: STREAM_ENOTFOUND for a hidden title as for a missing one. */
int streamd_title_visible(stream_catalog *catalog, const stream_catalog_viewer *cv, const char *id);

struct streamd_app;
/* The opening of a viewer's catalog route: the app, the viewer (with a profile when
 * `need_profile`) and its catalog filters in `cv`, or an answered problem (NULL). */
struct streamd_app *streamd_catalog_begin(stream_catalog_viewer *cv, streamd_viewer *v,
                                          streamd_request *req, streamd_response *resp,
                                          int need_profile);

/* The connection's peer address as text ("127.0.0.1"), or "" when unknown. */
void streamd_client_address(char *out, size_t n, const streamd_request *req);

/*
 * A request body of named string fields, from application/json (a strict
 * JSON object; non-string values are refused) or
 * application/x-www-form-urlencoded (UTF-8, duplicates refused). Field values
 * are owned by the form.
 */
#define STREAMD_FORM_MAX_FIELDS 16
typedef struct streamd_form {
  size_t n;
  char *names[STREAMD_FORM_MAX_FIELDS];
  char *values[STREAMD_FORM_MAX_FIELDS];
} streamd_form;

/*
 * Parse the body by its Content-Type (JSON, form; `allow_empty` accepts an
 * empty body as no fields). Returns 0, or a problem code with `detail`.
 */
int streamd_form_parse(streamd_form *f, const streamd_request *req, int allow_empty, char *detail,
                       size_t dlen);
const char *streamd_form_get(const streamd_form *f, const char *name);
void streamd_form_free(streamd_form *f);

/* Parse the JSON object body (strict) or answer the problem; 0 on success. */
int streamd_body_object(cJSON **out, streamd_request *req, streamd_response *resp);

/* A route that takes no body: 0 when there is none, else answers 400 and returns -1. */
int streamd_body_none(const streamd_request *req, streamd_response *resp);

/*
 * Answer `status` with the JSON text `json` returned by a service (freed
 * here with stream_free()); NULL json gives a 500 problem.
 */
void streamd_reply_service_json(streamd_response *resp, const streamd_request *req, int status,
                                char *json);

/* Answer a service error: `code` with stream_error_last()'s message as detail. */
void streamd_reply_service_error(streamd_response *resp, const streamd_request *req, int code);

/* The common tail of a read route: the service's error, or 200 with its JSON. */
void streamd_reply_service_result(streamd_response *resp, const streamd_request *req, int rc,
                                  char *json);

/* 204 No Content. */
void streamd_reply_empty(streamd_response *resp, int status);

/* The common tail of a route without a body to return: the service's error, or 204. */
void streamd_reply_service_empty(streamd_response *resp, const streamd_request *req, int rc);

/* 1 for a space or a tab (RFC 9110's OWS). */
static inline int streamd_ows(char c)
{
  return c == ' ' || c == '\t';
}

/* 1 when an If-None-Match or If-Match value is "*" alone or lists `etag` (a quoted strong
 * entity-tag), elements separated by commas with optional OWS; 0 for NULL. `strong` 0: weak
 * comparison (If-None-Match, RFC 9110 13.1.2: W/"x" matches "x"); 1: strong comparison
 * (If-Match, 13.1.1: a weak tag in the list never matches). */
int streamd_etag_listed(const char *list, const char *etag, int strong);

/* The error answer of a call that checked the account password (stream_auth_account_delete,
 * stream_auth_change_password, stream_auth_profile_update_checked, _profile_delete_checked):
 * STREAM_EBUSY with `retry` > 0 is 429 with Retry-After (the library's message), STREAM_EAUTH
 * 403 with `wrong` (the bearer is valid: a 401 would make clients refresh or sign out), any
 * other failure the service's mapping (EBUSY without a wait: the store, 503). 1 when it
 * answered, 0 for STREAM_OK (the caller answers the success). */
int streamd_reply_password_error(streamd_response *resp, const streamd_request *req, int rc,
                                 int64_t retry, const char *wrong);

/*
 * {"<member>": [item_json(item) for each of the `n` items of `size` bytes at
 * `items`]}, or NULL when out of memory. `items` stays the caller's.
 */
cJSON *streamd_json_list(const char *member, const void *items, size_t n, size_t size,
                         cJSON *(*item_json)(const void *item));

/*
 * The common tail of a list route: the service's error `rc`, or 200 with
 * streamd_json_list(). `items` stays the caller's (free it after).
 */
void streamd_reply_list(streamd_response *resp, const streamd_request *req, int rc,
                        const char *member, const void *items, size_t n, size_t size,
                        cJSON *(*item_json)(const void *item));

/*
 * A query parameter as an integer in [min, max]; `*out` keeps its value when
 * the parameter is absent. Returns 0 or answers 400 and returns nonzero.
 */
int streamd_query_uint(unsigned int *out, const streamd_request *req, streamd_response *resp,
                       const char *name, unsigned int min, unsigned int max);

#endif
