/*
 * Helpers shared by the billing route files (billing_http.c): JSON forms of
 * the stream/billing.h structs and the request plumbing of the billing routes.
 */
#ifndef STREAMD_BILLING_HTTP_H
#define STREAMD_BILLING_HTTP_H

#include <cjson/cJSON.h>

#include "app.h"
#include "http.h"
#include "routes_util.h"
#include "stream/billing.h"

/* JSON objects (NULL when out of memory). Money: integer minor units; times: Unix seconds. */
cJSON *streamd_billing_plan_json(const stream_billing_plan *p);
cJSON *streamd_billing_subscription_json(const stream_billing_subscription *s);
cJSON *streamd_billing_invoice_json(const stream_billing_invoice *inv, int with_lines);
cJSON *streamd_billing_card_json(const stream_billing_card *c);
cJSON *streamd_billing_lease_json(const stream_billing_lease *l);
/*
 * A device holding a screen, as shown to another device that was refused one: device id and
 * name, title (null unless `with_title`), start and expiry; never the profile.
 */
cJSON *streamd_billing_device_json(const stream_billing_lease *l, int with_title);
cJSON *streamd_billing_report_json(const stream_billing_run_report *r);
/* Add `v` as member `name`, or null when v is NULL or "". */
void streamd_billing_add_opt_string(cJSON *o, const char *name, const char *v);

/* The app with its billing service, or an answered problem (NULL). */
streamd_app *streamd_billing_app(streamd_request *req, streamd_response *resp);

/* The Idempotency-Key header (1..255 printable ASCII, no spaces), or an answered 400 (NULL). */
const char *streamd_billing_idempotency_key(streamd_request *req, streamd_response *resp);

/*
 * Parse the JSON object body (an empty body counts as {} when `allow_empty`)
 * and refuse members not in `allowed` (NULL-terminated). 0 or an answered
 * problem. *out is freed with cJSON_Delete.
 */
int streamd_billing_body_fields(cJSON **out, streamd_request *req, streamd_response *resp,
                                const char *const *allowed, int allow_empty);

/* An empty body or {} (the calls that take no arguments). 0 or an answered problem. */
int streamd_billing_body_empty(streamd_request *req, streamd_response *resp);

/*
 * The Idempotency-Key header (*key, borrowed from the request), then the
 * body as streamd_billing_body_fields() parses it. 0 or an answered problem.
 */
int streamd_billing_keyed_body(cJSON **body, const char **key, streamd_request *req,
                               streamd_response *resp, const char *const *allowed, int allow_empty);

/* A string member (absent: NULL when optional). 0 or an answered problem. */
int streamd_billing_body_string(const char **out, const cJSON *body, const char *field,
                                int required, size_t max_len, streamd_request *req,
                                streamd_response *resp);

/* Add member `name` (taken over) to the problem+json body in `resp` (RFC 9457 §3.2). */
void streamd_billing_problem_extend(streamd_response *resp, const char *name, cJSON *value);

/*
 * Whether the viewer may act on lease `lease_id` (renew, end): a token scoped to a profile with
 * parental limits (streamd_viewer_limited) may not touch another profile's live lease. 0 (go
 * on: the lease is the viewer's, not live, absent, or the viewer is not limited; the store then
 * answers), or an answered problem: 404 with the very words the store uses for a lease that
 * does not exist ("<what>: no lease with id <id>"), so a kids profile can neither renew, stop
 * nor read what the account's adults watch, nor learn that it plays; a store failure.
 */
int streamd_billing_lease_mine(streamd_app *app, const streamd_viewer *v, const char *lease_id,
                               const char *what, streamd_request *req, streamd_response *resp);

/*
 * End lease `lease_id` of the viewer's account: DELETE /v1/billing/leases/{id} and DELETE
 * /v1/playback/{session} (the session id is the lease id), after streamd_billing_lease_mine()
 * ("release lease"). 0 (ended: the caller answers 204) or an
 * answered problem. `v` comes from streamd_viewer_require().
 */
int streamd_billing_lease_end(streamd_app *app, const streamd_viewer *v, const char *lease_id,
                              streamd_request *req, streamd_response *resp);

/* 200 {"plans":[...]}: the active plans, or every plan with `include_inactive`. */
void streamd_billing_list_plans(streamd_request *req, streamd_response *resp, int include_inactive);

#endif
