/*
 * Viewer billing routes (stream/billing.h over HTTP): plans, the viewer's
 * subscription, invoices, payment methods, entitlement checks and screen
 * leases. The operator's are in routes_billing_admin.c, the JSON forms and
 * request helpers they share in billing_http.c. A profile token learns
 * nothing through them about what its profile may not see: a hidden title is
 * an unknown one, and a profile with parental limits sees and ends only its
 * own leases.
 *
 * Every call that the library makes idempotent (subscribe, change plan,
 * cancel, resume, add a payment method, refund) needs an Idempotency-Key
 * header (1..255 printable ASCII characters, no spaces), passed through to
 * the library: the same key with the same body answers what the first call
 * answered, the same key with another body is a 409. Money is an integer
 * "amount" in minor units with a "currency"; times are Unix seconds.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "billing_http.h"
#include "json.h"
#include "routes.h"
#include "routes_util.h"
#include "stream/billing.h"

/* The app and the calling viewer, or an answered problem (NULL). */
static streamd_app *begin(streamd_viewer *v, streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_billing_app(req, resp);
  return app && streamd_viewer_require(v, req, resp) == 0 ? app : NULL;
}

/* begin() for the calls that change the subscription or the payment methods: not with a
 * token of a profile with parental limits (a kids profile would otherwise buy an upgrade
 * on the account's card, cancel the subscription or remove the card). */
static streamd_app *begin_manage(streamd_viewer *v, streamd_request *req, streamd_response *resp)
{
  streamd_app *app = begin(v, req, resp);
  return app && streamd_viewer_require_unlimited(
                    v, "change the subscription or the payment methods", req, resp) == 0
             ? app
             : NULL;
}

/*
 * Answer `rc` as a 409: a state of the account's own, not what the status
 * would otherwise say. The library's message, or `fallback`.
 */
static void reply_conflict(streamd_response *resp, const streamd_request *req, int rc,
                           const char *fallback)
{
  const stream_error *e = stream_error_last();
  streamd_reply_problem(resp, req, STREAM_ECONFLICT,
                        e && e->code == rc && e->message[0] ? e->message : fallback);
}

static cJSON *invoice_item(const void *inv)
{
  return streamd_billing_invoice_json(inv, 0);
}

static cJSON *card_item(const void *c)
{
  return streamd_billing_card_json(c);
}

static cJSON *lease_item(const void *l)
{
  return streamd_billing_lease_json(l);
}

static void reply_subscription(streamd_response *resp, int status,
                               const stream_billing_subscription *s, const char *invoice_id)
{
  cJSON *o = cJSON_CreateObject();
  if (o) {
    cJSON_AddItemToObject(o, "subscription", streamd_billing_subscription_json(s));
    if (invoice_id)
      streamd_billing_add_opt_string(o, "invoice_id", invoice_id);
  }
  streamd_reply_json(resp, status, o);
}

void streamd_route_billing_plans(streamd_request *req, streamd_response *resp)
{
  streamd_billing_list_plans(req, resp, 0);
}

/* ---- subscription ------------------------------------------------------------------- */

void streamd_route_billing_subscription_get(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin(&v, req, resp);
  if (!app)
    return;
  stream_billing_subscription s;
  int rc = stream_billing_subscription_get(&s, app->billing, v.account_id);
  if (rc == STREAM_ENOTFOUND)
    streamd_reply_problem(resp, req, rc, "this account has never subscribed");
  else if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    reply_subscription(resp, 200, &s, NULL);
}

void streamd_route_billing_subscribe(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin_manage(&v, req, resp);
  if (!app)
    return;
  static const char *const allowed[] = {"plan_id", "card_id", NULL};
  cJSON *body = NULL;
  const char *key = NULL, *plan = NULL, *card = NULL;
  if (streamd_billing_keyed_body(&body, &key, req, resp, allowed, 0) != 0)
    return;
  if (streamd_billing_body_string(&plan, body, "plan_id", 1, STREAM_BILLING_ID_SIZE - 1, req,
                                  resp) != 0 ||
      streamd_billing_body_string(&card, body, "card_id", 0, STREAM_BILLING_ID_SIZE - 1, req,
                                  resp) != 0) {
    cJSON_Delete(body);
    return;
  }
  stream_billing_subscription s;
  char invoice[STREAM_BILLING_ID_SIZE] = "";
  int rc = stream_billing_subscribe(&s, invoice, app->billing, v.account_id, plan,
                                    card && *card ? card : NULL, key);
  cJSON_Delete(body);
  if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    reply_subscription(resp, 201, &s, invoice);
}

void streamd_route_billing_change(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin_manage(&v, req, resp);
  if (!app)
    return;
  static const char *const allowed[] = {"plan_id", NULL};
  cJSON *body = NULL;
  const char *key = NULL, *plan = NULL;
  if (streamd_billing_keyed_body(&body, &key, req, resp, allowed, 0) != 0)
    return;
  if (streamd_billing_body_string(&plan, body, "plan_id", 1, STREAM_BILLING_ID_SIZE - 1, req,
                                  resp) != 0) {
    cJSON_Delete(body);
    return;
  }
  stream_billing_subscription s;
  char invoice[STREAM_BILLING_ID_SIZE] = "";
  int rc = stream_billing_change_plan(&s, invoice, app->billing, v.account_id, plan, key);
  cJSON_Delete(body);
  if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    reply_subscription(resp, 200, &s, invoice);
}

/* cancel and resume: an empty body or {}. */
static void cancel_or_resume(streamd_request *req, streamd_response *resp, int resume)
{
  streamd_viewer v;
  streamd_app *app = begin_manage(&v, req, resp);
  if (!app)
    return;
  const char *key = streamd_billing_idempotency_key(req, resp);
  if (!key || streamd_billing_body_empty(req, resp) != 0)
    return;
  stream_billing_subscription s;
  int rc = resume ? stream_billing_resume(&s, app->billing, v.account_id, key)
                  : stream_billing_cancel(&s, app->billing, v.account_id, key);
  if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    reply_subscription(resp, 200, &s, NULL);
}

void streamd_route_billing_cancel(streamd_request *req, streamd_response *resp)
{
  cancel_or_resume(req, resp, 0);
}

void streamd_route_billing_resume(streamd_request *req, streamd_response *resp)
{
  cancel_or_resume(req, resp, 1);
}

/* ---- invoices ------------------------------------------------------------------------ */

void streamd_route_billing_invoices(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin(&v, req, resp);
  if (!app)
    return;
  stream_billing_invoice *list = NULL;
  size_t n = 0;
  int rc = stream_billing_invoice_list(&list, &n, app->billing, v.account_id);
  streamd_reply_list(resp, req, rc, "invoices", list, n, sizeof(*list), invoice_item);
  stream_free(list);
}

void streamd_route_billing_invoice(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin(&v, req, resp);
  if (!app)
    return;
  stream_billing_invoice inv;
  memset(&inv, 0, sizeof(inv));
  int rc = stream_billing_invoice_get(&inv, app->billing, streamd_request_param(req, "id"));
  /* Another account's invoice is "not found": its existence is not the caller's business. */
  if (rc == STREAM_OK && strcmp(inv.account_id, v.account_id) != 0)
    rc = STREAM_ENOTFOUND;
  if (rc == STREAM_ENOTFOUND)
    streamd_reply_problem(resp, req, rc, "no such invoice");
  else if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    streamd_reply_json(resp, 200, streamd_billing_invoice_json(&inv, 1));
  stream_billing_invoice_clear(&inv);
}

/* ---- payment methods --------------------------------------------------------------- */

void streamd_route_billing_cards(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin(&v, req, resp);
  if (!app)
    return;
  stream_billing_card *list = NULL;
  size_t n = 0;
  int rc = stream_billing_card_list(&list, &n, app->billing, v.account_id);
  streamd_reply_list(resp, req, rc, "payment_methods", list, n, sizeof(*list), card_item);
  stream_free(list);
}

void streamd_route_billing_card_add(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin_manage(&v, req, resp);
  if (!app)
    return;
  static const char *const allowed[] = {"token", NULL};
  cJSON *body = NULL;
  const char *key = NULL, *token = NULL;
  if (streamd_billing_keyed_body(&body, &key, req, resp, allowed, 0) != 0)
    return;
  if (streamd_billing_body_string(&token, body, "token", 1, 255, req, resp) != 0) {
    cJSON_Delete(body);
    return;
  }
  stream_billing_card c;
  int rc = stream_billing_card_add(&c, app->billing, v.account_id, token, key);
  cJSON_Delete(body);
  if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    streamd_reply_json(resp, 201, streamd_billing_card_json(&c));
}

void streamd_route_billing_card_delete(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin_manage(&v, req, resp);
  if (!app)
    return;
  int rc = stream_billing_card_remove(app->billing, v.account_id, streamd_request_param(req, "id"));
  streamd_reply_service_empty(resp, req, rc);
}

void streamd_route_billing_card_default(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin_manage(&v, req, resp);
  if (!app)
    return;
  if (streamd_billing_body_empty(req, resp) != 0)
    return;
  int rc =
      stream_billing_card_set_default(app->billing, v.account_id, streamd_request_param(req, "id"));
  streamd_reply_service_empty(resp, req, rc);
}

/* ---- entitlement and screen leases ---------------------------------------------------- */

/* A required, non-empty query parameter, or an answered 400 (NULL). */
static const char *need_query(streamd_request *req, streamd_response *resp, const char *name)
{
  const char *q = streamd_request_query(req, name);
  if (!q || !*q) {
    char detail[96];
    snprintf(detail, sizeof(detail), "query '%s' is required", name);
    streamd_reply_problem(resp, req, STREAM_EINVAL, detail);
    return NULL;
  }
  return q;
}

/*
 * The profile of an entitlement check or a lease: the token's, or the one the
 * request names when the token is account-level. A profile token cannot act
 * for another profile (a kids profile would otherwise borrow an adult's
 * maturity ceiling): 403. 0, or an answered problem.
 */
static int pick_profile(const char **out, const char *named, const streamd_viewer *v,
                        const char *where, streamd_request *req, streamd_response *resp)
{
  if (v->profile_id[0]) {
    if (named && *named && strcmp(named, v->profile_id) != 0) {
      char detail[128];
      snprintf(detail, sizeof(detail),
               "the access token is scoped to another profile than the %s 'profile_id'", where);
      streamd_reply_problem(resp, req, STREAM_EFORBIDDEN, detail);
      return -1;
    }
    *out = v->profile_id;
  } else {
    *out = named ? named : "";
  }
  return 0;
}

/*
 * Whether the token's profile may not see `title` (stream_catalog_title_get with its viewer,
 * region included, says it is not there): 1 hidden, 0 visible or an account-level token, -1 with
 * the problem answered.
 */
static int title_hidden(streamd_app *app, const streamd_viewer *v, const char *title,
                        streamd_request *req, streamd_response *resp)
{
  if (!v->profile_id[0])
    return 0;
  stream_catalog_viewer cv;
  streamd_viewer_catalog(&cv, v);
  int rc = streamd_title_visible(app->catalog, &cv, title);
  if (rc == STREAM_OK)
    return 0;
  if (rc == STREAM_ENOTFOUND || rc == STREAM_EINVAL)
    return 1;
  streamd_reply_service_error(resp, req, rc);
  return -1;
}

/*
 * The entitlement answer about a title hidden from the profile made billing's answer about a
 * title that does not exist (rule 3, "unknown_title"; rules 1 and 2 still come first), so that
 * neither its rating nor its availability shows (docs/api/entitlements.md).
 */
static void as_unknown_title(stream_billing_entitlement *e, const char *title)
{
  if (e->reason == STREAM_BILLING_PROFILE_MISMATCH || e->reason == STREAM_BILLING_NO_SUBSCRIPTION)
    return;
  e->allowed = 0;
  e->reason = STREAM_BILLING_UNKNOWN_TITLE;
  e->max_height = 0;
  snprintf(e->message, sizeof(e->message), "no title with id %s", title);
}

void streamd_route_billing_entitlement(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin(&v, req, resp);
  if (!app)
    return;
  const char *title = need_query(req, resp, "title_id");
  const char *device = title ? need_query(req, resp, "device_id") : NULL;
  if (!device)
    return;
  const char *profile = NULL;
  if (pick_profile(&profile, streamd_request_query(req, "profile_id"), &v, "query", req, resp) != 0)
    return;
  if (!*profile) {
    streamd_reply_problem(resp, req, STREAM_EINVAL,
                          "query 'profile_id' is required with a token that has no profile");
    return;
  }
  stream_billing_entitlement e;
  int rc = stream_billing_entitlement_check(&e, app->billing, v.account_id, profile, title, device);
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  int hidden = title_hidden(app, &v, title, req, resp);
  if (hidden < 0)
    return;
  if (hidden)
    as_unknown_title(&e, title);
  const char *reason = stream_billing_reason_name(e.reason);
  cJSON *o = cJSON_CreateObject();
  if (o) {
    cJSON_AddBoolToObject(o, "allowed", e.allowed);
    cJSON_AddStringToObject(o, "reason", reason ? reason : "unknown");
    cJSON_AddStringToObject(o, "message", e.message);
    streamd_billing_add_opt_string(o, "plan_id", e.plan_id);
    cJSON_AddNumberToObject(o, "max_height", e.max_height);
    cJSON_AddNumberToObject(o, "screens", e.screens);
    cJSON_AddNumberToObject(o, "screens_in_use", e.screens_in_use);
  }
  streamd_reply_json(resp, 200, o);
}

void streamd_route_billing_lease_acquire(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin(&v, req, resp);
  if (!app)
    return;
  static const char *const allowed[] = {"title_id", "device_id", "device_name", "profile_id", NULL};
  cJSON *body = NULL;
  const char *title = NULL, *device = NULL, *name = NULL, *profile = NULL;
  if (streamd_billing_body_fields(&body, req, resp, allowed, 0) != 0)
    return;
  if (streamd_billing_body_string(&title, body, "title_id", 1, STREAM_BILLING_ID_SIZE - 1, req,
                                  resp) != 0 ||
      streamd_billing_body_string(&device, body, "device_id", 1, STREAM_BILLING_DEVICE_SIZE - 1,
                                  req, resp) != 0 ||
      streamd_billing_body_string(&name, body, "device_name", 0, STREAM_BILLING_DEVICE_SIZE - 1,
                                  req, resp) != 0 ||
      streamd_billing_body_string(&profile, body, "profile_id", 0, STREAM_BILLING_ID_SIZE - 1, req,
                                  resp) != 0) {
    cJSON_Delete(body);
    return;
  }
  if (pick_profile(&profile, profile, &v, "field", req, resp) != 0) {
    cJSON_Delete(body);
    return;
  }
  if (!*profile) {
    cJSON_Delete(body);
    streamd_reply_problem(resp, req, STREAM_EINVAL,
                          "field 'profile_id' is required with a token that has no profile");
    return;
  }
  /* A title hidden from the profile takes no screen, and is refused as a missing one is. */
  int hidden = title_hidden(app, &v, title, req, resp);
  if (hidden > 0) {
    stream_billing_entitlement e;
    int rc =
        stream_billing_entitlement_check(&e, app->billing, v.account_id, profile, title, device);
    if (rc != STREAM_OK) {
      streamd_reply_service_error(resp, req, rc);
    } else {
      as_unknown_title(&e, title); /* what the acquire of a missing title answers */
      streamd_reply_problem(resp, req, STREAM_EFORBIDDEN, e.message);
    }
  }
  if (hidden != 0) {
    cJSON_Delete(body);
    return;
  }
  stream_billing_lease l, in_use[STREAM_BILLING_SCREENS_MAX];
  size_t n_in_use = 0;
  int rc = stream_billing_lease_acquire(&l, in_use, &n_in_use, app->billing, v.account_id, profile,
                                        title, device, name && *name ? name : NULL);
  cJSON_Delete(body);
  if (rc == STREAM_EBUSY) {
    /* Every screen is taken: a conflict with the account's own state, not "retry later". */
    reply_conflict(resp, req, rc, "every screen of the plan is in use");
    /* A profile with parental limits sees that the TV is busy, not what the others watch. */
    int limited = streamd_viewer_limited(&v);
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n_in_use && i < STREAM_BILLING_SCREENS_MAX; i++)
      cJSON_AddItemToArray(
          arr, streamd_billing_device_json(
                   &in_use[i], !limited || strcmp(in_use[i].profile_id, v.profile_id) == 0));
    streamd_billing_problem_extend(resp, "devices_in_use", arr);
  } else if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
  } else {
    streamd_reply_json(resp, 201, streamd_billing_lease_json(&l));
  }
}

void streamd_route_billing_lease_heartbeat(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin(&v, req, resp);
  if (!app)
    return;
  if (streamd_billing_body_empty(req, resp) != 0)
    return;
  const char *id = streamd_request_param(req, "id");
  if (streamd_billing_lease_mine(app, &v, id, "renew lease", req, resp) != 0)
    return;
  stream_billing_lease l;
  int rc = stream_billing_lease_heartbeat(&l, app->billing, v.account_id, id);
  if (rc == STREAM_EEXPIRED) {
    /* Not a credential problem (401 would make clients refresh their token). */
    reply_conflict(resp, req, rc, "the lease lapsed: acquire a screen again");
  } else if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
  } else {
    streamd_reply_json(resp, 200, streamd_billing_lease_json(&l));
  }
}

void streamd_route_billing_lease_release(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin(&v, req, resp);
  if (!app)
    return;
  if (streamd_billing_lease_end(app, &v, streamd_request_param(req, "id"), req, resp) == 0)
    streamd_reply_empty(resp, 204);
}

void streamd_route_billing_leases(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin(&v, req, resp);
  if (!app)
    return;
  stream_billing_lease *list = NULL;
  size_t n = 0;
  int rc = stream_billing_lease_list(&list, &n, app->billing, v.account_id);
  if (rc == STREAM_OK && streamd_viewer_limited(&v)) {
    /* A profile with parental limits sees its own screens only, not what the others watch. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
      if (strcmp(list[i].profile_id, v.profile_id) == 0)
        list[k++] = list[i];
    n = k;
  }
  streamd_reply_list(resp, req, rc, "leases", list, n, sizeof(*list), lease_item);
  stream_free(list);
}
