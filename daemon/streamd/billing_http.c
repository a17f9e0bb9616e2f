/*
 * Shared by the billing route files (routes_billing.c, routes_billing_admin.c):
 * the JSON form of the library's structs (money as integer minor units with a
 * currency, times as Unix seconds, absent values null) and the request
 * plumbing: the billing service, the Idempotency-Key header, strict bodies
 * with known members only, RFC 9457 extension members, and ending a lease
 * (shared with routes_playback.c).
 */
#include "billing_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "routes_util.h"

/* ---- JSON of the library's structs ------------------------------------------ */

cJSON *streamd_billing_plan_json(const stream_billing_plan *p)
{
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  cJSON_AddStringToObject(o, "id", p->id);
  cJSON_AddStringToObject(o, "name", p->name);
  cJSON_AddNumberToObject(o, "amount", (double)p->price);
  cJSON_AddStringToObject(o, "currency", p->currency);
  cJSON_AddNumberToObject(o, "period_months", p->period_months);
  cJSON_AddNumberToObject(o, "trial_days", p->trial_days);
  cJSON_AddNumberToObject(o, "screens", p->screens);
  cJSON_AddNumberToObject(o, "max_height", p->max_height);
  cJSON_AddBoolToObject(o, "active", p->active);
  return o;
}

void streamd_billing_add_opt_string(cJSON *o, const char *name, const char *v)
{
  if (v && *v)
    cJSON_AddStringToObject(o, name, v);
  else
    cJSON_AddNullToObject(o, name);
}

static void add_opt_time(cJSON *o, const char *name, int64_t t)
{
  if (t)
    cJSON_AddNumberToObject(o, name, (double)t);
  else
    cJSON_AddNullToObject(o, name);
}

cJSON *streamd_billing_subscription_json(const stream_billing_subscription *s)
{
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  const char *status = stream_billing_status_name(s->status);
  cJSON_AddStringToObject(o, "id", s->id);
  cJSON_AddStringToObject(o, "account_id", s->account_id);
  cJSON_AddStringToObject(o, "plan_id", s->plan_id);
  streamd_billing_add_opt_string(o, "pending_plan_id", s->pending_plan_id);
  streamd_billing_add_opt_string(o, "card_id", s->card_id);
  cJSON_AddStringToObject(o, "status", status ? status : "unknown");
  cJSON_AddBoolToObject(o, "cancel_at_period_end", s->cancel_at_period_end);
  cJSON_AddNumberToObject(o, "period_start", (double)s->period_start);
  cJSON_AddNumberToObject(o, "period_end", (double)s->period_end);
  add_opt_time(o, "trial_end", s->trial_end);
  cJSON_AddNumberToObject(o, "failed_attempts", s->failed_attempts);
  add_opt_time(o, "next_attempt_at", s->next_attempt_at);
  cJSON_AddNumberToObject(o, "created_at", (double)s->created_at);
  add_opt_time(o, "ended_at", s->ended_at);
  return o;
}

cJSON *streamd_billing_invoice_json(const stream_billing_invoice *inv, int with_lines)
{
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  const char *status = stream_billing_invoice_status_name(inv->status);
  cJSON_AddStringToObject(o, "id", inv->id);
  cJSON_AddStringToObject(o, "account_id", inv->account_id);
  streamd_billing_add_opt_string(o, "subscription_id", inv->subscription_id);
  cJSON_AddStringToObject(o, "status", status ? status : "unknown");
  cJSON_AddStringToObject(o, "currency", inv->currency);
  cJSON_AddNumberToObject(o, "total", (double)inv->total);
  cJSON_AddNumberToObject(o, "amount_paid", (double)inv->amount_paid);
  cJSON_AddNumberToObject(o, "amount_due", (double)inv->amount_due);
  cJSON_AddNumberToObject(o, "amount_refunded", (double)inv->amount_refunded);
  cJSON_AddNumberToObject(o, "created_at", (double)inv->created_at);
  add_opt_time(o, "paid_at", inv->paid_at);
  if (with_lines) {
    cJSON *lines = cJSON_AddArrayToObject(o, "lines");
    for (size_t i = 0; lines && i < inv->line_count; i++) {
      const stream_billing_line *l = &inv->lines[i];
      cJSON *lo = cJSON_CreateObject();
      if (!lo)
        break;
      cJSON_AddStringToObject(lo, "description", l->description);
      streamd_billing_add_opt_string(lo, "plan_id", l->plan_id);
      cJSON_AddNumberToObject(lo, "amount", (double)l->amount);
      cJSON_AddNumberToObject(lo, "period_start", (double)l->period_start);
      cJSON_AddNumberToObject(lo, "period_end", (double)l->period_end);
      cJSON_AddItemToArray(lines, lo);
    }
  }
  return o;
}

cJSON *streamd_billing_card_json(const stream_billing_card *c)
{
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  cJSON_AddStringToObject(o, "id", c->id);
  cJSON_AddStringToObject(o, "brand", c->brand);
  cJSON_AddStringToObject(o, "last4", c->last4);
  cJSON_AddNumberToObject(o, "exp_month", c->exp_month);
  cJSON_AddNumberToObject(o, "exp_year", c->exp_year);
  cJSON_AddBoolToObject(o, "is_default", c->is_default);
  cJSON_AddNumberToObject(o, "created_at", (double)c->created_at);
  return o;
}

cJSON *streamd_billing_lease_json(const stream_billing_lease *l)
{
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  cJSON_AddStringToObject(o, "id", l->id);
  cJSON_AddStringToObject(o, "profile_id", l->profile_id);
  cJSON_AddStringToObject(o, "title_id", l->title_id);
  cJSON_AddStringToObject(o, "device_id", l->device_id);
  streamd_billing_add_opt_string(o, "device_name", l->device_name);
  cJSON_AddNumberToObject(o, "started_at", (double)l->started_at);
  cJSON_AddNumberToObject(o, "expires_at", (double)l->expires_at);
  return o;
}

/* A device holding a screen, as shown to another device that was refused one. */
cJSON *streamd_billing_device_json(const stream_billing_lease *l, int with_title)
{
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  cJSON_AddStringToObject(o, "device_id", l->device_id);
  streamd_billing_add_opt_string(o, "device_name", l->device_name);
  streamd_billing_add_opt_string(o, "title_id", with_title ? l->title_id : NULL);
  cJSON_AddNumberToObject(o, "started_at", (double)l->started_at);
  cJSON_AddNumberToObject(o, "expires_at", (double)l->expires_at);
  return o;
}

cJSON *streamd_billing_report_json(const stream_billing_run_report *r)
{
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  cJSON_AddNumberToObject(o, "renewed", (double)r->renewed);
  cJSON_AddNumberToObject(o, "trials_converted", (double)r->trials_converted);
  cJSON_AddNumberToObject(o, "failed", (double)r->failed);
  cJSON_AddNumberToObject(o, "retried", (double)r->retried);
  cJSON_AddNumberToObject(o, "expired", (double)r->expired);
  cJSON_AddNumberToObject(o, "canceled", (double)r->canceled);
  cJSON_AddNumberToObject(o, "downgraded", (double)r->downgraded);
  cJSON_AddNumberToObject(o, "settled", (double)r->settled);
  return o;
}

/* ---- request plumbing ----------------------------------------------------------- */

/* The app with its billing service, or an answered problem (NULL). */
streamd_app *streamd_billing_app(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (app && !app->billing) {
    streamd_reply_problem(resp, req, STREAM_ENOTSUP, "billing is not available");
    return NULL;
  }
  return app;
}

int streamd_billing_lease_mine(streamd_app *app, const streamd_viewer *v, const char *lease_id,
                               const char *what, streamd_request *req, streamd_response *resp)
{
  if (!streamd_viewer_limited(v))
    return 0;
  /* Whose lease it is: only the live ones hold a screen (a lapsed one plays nothing). */
  stream_billing_lease *list = NULL;
  size_t n = 0;
  int rc = stream_billing_lease_list(&list, &n, app->billing, v->account_id);
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return -1;
  }
  int foreign = 0;
  for (size_t i = 0; i < n && lease_id; i++)
    if (strcmp(list[i].id, lease_id) == 0 && strcmp(list[i].profile_id, v->profile_id) != 0)
      foreign = 1;
  stream_free(list);
  if (!foreign)
    return 0;
  /* The store's words for a lease that is not there. */
  char detail[128];
  snprintf(detail, sizeof(detail), "%s: no lease with id %s", what, lease_id);
  streamd_reply_problem(resp, req, STREAM_ENOTFOUND, detail);
  return -1;
}

int streamd_billing_lease_end(streamd_app *app, const streamd_viewer *v, const char *lease_id,
                              streamd_request *req, streamd_response *resp)
{
  if (streamd_billing_lease_mine(app, v, lease_id, "release lease", req, resp) != 0)
    return -1;
  int rc = stream_billing_lease_release(app->billing, v->account_id, lease_id);
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return -1;
  }
  return 0;
}

/*
 * The Idempotency-Key header: 1..255 printable ASCII characters without
 * spaces. Returns it, or answers 400 and returns NULL.
 */
const char *streamd_billing_idempotency_key(streamd_request *req, streamd_response *resp)
{
  const char *k = streamd_request_header(req, "Idempotency-Key");
  if (!k || !*k) {
    streamd_reply_problem(resp, req, STREAM_EINVAL,
                          "the Idempotency-Key header is required for this call");
    return NULL;
  }
  size_t n = strlen(k);
  int ok = n <= STREAM_BILLING_IDEMPOTENCY_KEY_MAX;
  for (size_t i = 0; ok && i < n; i++)
    ok = (unsigned char)k[i] > 0x20 && (unsigned char)k[i] < 0x7f;
  if (!ok) {
    char detail[128];
    snprintf(detail, sizeof(detail),
             "the Idempotency-Key header must be 1..%d printable ASCII characters without spaces",
             STREAM_BILLING_IDEMPOTENCY_KEY_MAX);
    streamd_reply_problem(resp, req, STREAM_EINVAL, detail);
    return NULL;
  }
  return k;
}

/*
 * Parse the JSON object body (an empty body counts as {} when `allow_empty`)
 * and refuse members not in `allowed` (NULL-terminated). 0 or an answered problem.
 */
int streamd_billing_body_fields(cJSON **out, streamd_request *req, streamd_response *resp,
                                const char *const *allowed, int allow_empty)
{
  *out = NULL;
  if (req->body_len == 0 && allow_empty) {
    *out = cJSON_CreateObject();
    if (!*out) {
      streamd_reply_problem(resp, req, STREAM_ENOMEM, "parsing the body");
      return -1;
    }
    return 0;
  }
  if (streamd_body_object(out, req, resp) != 0)
    return -1;
  char detail[128];
  if (streamd_json_only_fields(*out, allowed, detail, sizeof(detail)) != 0) {
    streamd_reply_problem(resp, req, STREAM_EINVAL, detail);
    cJSON_Delete(*out);
    *out = NULL;
    return -1;
  }
  return 0;
}

int streamd_billing_body_empty(streamd_request *req, streamd_response *resp)
{
  static const char *const none[] = {NULL};
  cJSON *body = NULL;
  if (streamd_billing_body_fields(&body, req, resp, none, 1) != 0)
    return -1;
  cJSON_Delete(body);
  return 0;
}

int streamd_billing_keyed_body(cJSON **body, const char **key, streamd_request *req,
                               streamd_response *resp, const char *const *allowed, int allow_empty)
{
  *body = NULL;
  *key = streamd_billing_idempotency_key(req, resp);
  if (!*key || streamd_billing_body_fields(body, req, resp, allowed, allow_empty) != 0)
    return -1;
  return 0;
}

/* A string member ("" or absent = NULL when optional). 0 or an answered problem. */
int streamd_billing_body_string(const char **out, const cJSON *body, const char *field,
                                int required, size_t max_len, streamd_request *req,
                                streamd_response *resp)
{
  char detail[256] = "";
  *out = NULL;
  int rc = streamd_json_get_string(out, body, field, required, max_len, detail, sizeof(detail));
  if (rc == STREAM_EINVAL) {
    streamd_reply_problem(resp, req, STREAM_EINVAL, detail);
    return -1;
  }
  if (required && (!*out || !**out)) {
    snprintf(detail, sizeof(detail), "field '%s' must not be empty", field);
    streamd_reply_problem(resp, req, STREAM_EINVAL, detail);
    return -1;
  }
  return 0;
}

/*
 * Add member `name` (taken over) to the problem+json body already in `resp`.
 * Used for the extension members of RFC 9457 §3.2.
 */
void streamd_billing_problem_extend(streamd_response *resp, const char *name, cJSON *value)
{
  if (!value)
    return;
  cJSON *p = resp->body ? cJSON_Parse(resp->body) : NULL;
  if (p && cJSON_AddItemToObject(p, name, value)) {
    value = NULL;
    char *text = cJSON_PrintUnformatted(p);
    if (text) {
      free(resp->body);
      resp->body = text;
      resp->body_len = strlen(text);
    }
  }
  cJSON_Delete(value);
  cJSON_Delete(p);
}

/* ---- plans (both plan listings) ------------------------------------------------- */

static cJSON *plan_item(const void *p)
{
  return streamd_billing_plan_json(p);
}

void streamd_billing_list_plans(streamd_request *req, streamd_response *resp, int include_inactive)
{
  streamd_app *app = streamd_billing_app(req, resp);
  if (!app)
    return;
  stream_billing_plan *plans = NULL;
  size_t n = 0;
  int rc = stream_billing_plan_list(&plans, &n, app->billing, include_inactive);
  streamd_reply_list(resp, req, rc, "plans", plans, n, sizeof(*plans), plan_item);
  stream_free(plans);
}
