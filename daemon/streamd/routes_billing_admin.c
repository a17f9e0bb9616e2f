/*
 * Operator billing routes: every plan, create / replace a plan, the
 * subscription listing, a renewal run now, refunds (with an Idempotency-Key)
 * and the books check, whose failure names the inconsistency in an
 * extension member of its 500 problem.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "billing_http.h"
#include "json.h"
#include "routes.h"
#include "routes_util.h"
#include "stream/billing.h"

void streamd_route_admin_billing_plans(streamd_request *req, streamd_response *resp)
{
  streamd_billing_list_plans(req, resp, 1);
}

void streamd_route_admin_billing_plan_put(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_billing_app(req, resp);
  if (!app)
    return;
  static const char *const allowed[] = {
      "id",         "name",    "amount",     "currency", "period_months",
      "trial_days", "screens", "max_height", "active",   NULL};
  const char *path_id = streamd_request_param(req, "id");
  cJSON *body = NULL;
  if (streamd_billing_body_fields(&body, req, resp, allowed, 0) != 0)
    return;
  char detail[256] = "";
  const char *id = NULL, *name = NULL, *currency = NULL;
  long long amount = 0, months = 1, trial = 0, screens = 0, height = 0;
  int active = 1, rc;
  if ((rc = streamd_json_get_string(&id, body, "id", 0, STREAM_BILLING_ID_SIZE - 1, detail,
                                    sizeof(detail))) == STREAM_EINVAL ||
      (rc = streamd_json_get_string(&name, body, "name", 1, STREAM_BILLING_NAME_SIZE - 1, detail,
                                    sizeof(detail))) == STREAM_EINVAL ||
      (rc = streamd_json_get_int(&amount, body, "amount", 1, 0, STREAM_BILLING_AMOUNT_MAX, detail,
                                 sizeof(detail))) == STREAM_EINVAL ||
      (rc = streamd_json_get_string(&currency, body, "currency", 1,
                                    STREAM_BILLING_CURRENCY_SIZE - 1, detail, sizeof(detail))) ==
          STREAM_EINVAL ||
      (rc = streamd_json_get_int(&months, body, "period_months", 0, 1, 12, detail,
                                 sizeof(detail))) == STREAM_EINVAL ||
      (rc = streamd_json_get_int(&trial, body, "trial_days", 0, 0, 90, detail, sizeof(detail))) ==
          STREAM_EINVAL ||
      (rc = streamd_json_get_int(&screens, body, "screens", 1, 1, STREAM_BILLING_SCREENS_MAX,
                                 detail, sizeof(detail))) == STREAM_EINVAL ||
      (rc = streamd_json_get_int(&height, body, "max_height", 1, 480, 4320, detail,
                                 sizeof(detail))) == STREAM_EINVAL ||
      (rc = streamd_json_get_bool(&active, body, "active", 0, detail, sizeof(detail))) ==
          STREAM_EINVAL) {
    cJSON_Delete(body);
    streamd_reply_problem(resp, req, STREAM_EINVAL, detail);
    return;
  }
  if (strlen(path_id) >= sizeof(((stream_billing_plan *)0)->id)) {
    cJSON_Delete(body);
    streamd_reply_problem(resp, req, STREAM_EINVAL,
                          "the plan id must be 1..64 characters of [a-z0-9_-]");
    return;
  }
  if (id && strcmp(id, path_id) != 0) {
    cJSON_Delete(body);
    streamd_reply_problem(resp, req, STREAM_EINVAL,
                          "field 'id' must be absent or equal to the id in the path");
    return;
  }
  stream_billing_plan p;
  memset(&p, 0, sizeof(p));
  snprintf(p.id, sizeof(p.id), "%s", path_id);
  snprintf(p.name, sizeof(p.name), "%s", name);
  snprintf(p.currency, sizeof(p.currency), "%s", currency);
  cJSON_Delete(body);
  p.price = amount;
  p.period_months = (int)months;
  p.trial_days = (int)trial;
  p.screens = (int)screens;
  p.max_height = (int)height;
  p.active = active ? 1 : 0;
  stream_billing_plan old;
  int existed = stream_billing_plan_get(&old, app->billing, p.id) == STREAM_OK;
  rc = stream_billing_plan_put(app->billing, &p);
  if (rc == STREAM_OK)
    rc = stream_billing_plan_get(&p, app->billing, p.id);
  if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    streamd_reply_json(resp, existed ? 200 : 201, streamd_billing_plan_json(&p));
}

/* "trialing" ... "expired" to the status value, or -1. */
static int status_from_name(const char *name)
{
  for (int s = 0; s < 16; s++) {
    const char *n = stream_billing_status_name(s);
    if (n && strcmp(n, name) == 0)
      return s;
  }
  return -1;
}

static cJSON *subscription_item(const void *s)
{
  return streamd_billing_subscription_json(s);
}

void streamd_route_admin_billing_subscriptions(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_billing_app(req, resp);
  if (!app)
    return;
  stream_billing_subscription_query q = {-1, NULL, 50};
  const char *status = streamd_request_query(req, "status");
  if (status && *status && (q.status = status_from_name(status)) < 0) {
    streamd_reply_problem(resp, req, STREAM_EINVAL,
                          "query 'status' must be trialing, active, past_due, canceled or expired");
    return;
  }
  q.after_id = streamd_request_query(req, "after");
  if (streamd_query_uint(&q.limit, req, resp, "limit", 1, STREAM_BILLING_LIST_MAX) != 0)
    return;
  stream_billing_subscription *list = NULL;
  size_t n = 0;
  int rc = stream_billing_subscription_list(&list, &n, app->billing, &q);
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  cJSON *o = streamd_json_list("subscriptions", list, n, sizeof(*list), subscription_item);
  /* A full page may have a next one: continue with ?after=<next_after>. */
  streamd_billing_add_opt_string(o, "next_after", n == q.limit && n > 0 ? list[n - 1].id : NULL);
  stream_free(list);
  streamd_reply_json(resp, 200, o);
}

void streamd_route_admin_billing_renewals(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_billing_app(req, resp);
  if (!app)
    return;
  if (streamd_billing_body_empty(req, resp) != 0)
    return;
  stream_billing_run_report r;
  memset(&r, 0, sizeof(r));
  int rc = stream_billing_run_renewals(&r, app->billing);
  if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    streamd_reply_json(resp, 200, streamd_billing_report_json(&r));
}

void streamd_route_admin_billing_refund(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_billing_app(req, resp);
  if (!app)
    return;
  static const char *const allowed[] = {"amount", NULL};
  cJSON *body = NULL;
  const char *key = NULL;
  if (streamd_billing_keyed_body(&body, &key, req, resp, allowed, 1) != 0)
    return;
  char detail[256] = "";
  long long amount = 0;
  int rc = streamd_json_get_int(&amount, body, "amount", 0, 1, STREAM_BILLING_AMOUNT_MAX, detail,
                                sizeof(detail));
  cJSON_Delete(body);
  if (rc == STREAM_EINVAL) {
    streamd_reply_problem(resp, req, STREAM_EINVAL, detail);
    return;
  }
  stream_billing_invoice inv;
  memset(&inv, 0, sizeof(inv));
  rc = stream_billing_refund(&inv, app->billing, streamd_request_param(req, "id"), amount, key);
  if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    streamd_reply_json(resp, 200, streamd_billing_invoice_json(&inv, inv.lines != NULL));
  stream_billing_invoice_clear(&inv);
}

void streamd_route_admin_billing_books(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_billing_app(req, resp);
  if (!app)
    return;
  size_t checked = 0;
  int rc = stream_billing_books_check(&checked, app->billing, 3600);
  if (rc == STREAM_EINTERNAL) {
    /* Operator-only: the inconsistency is named in an extension member (a 5xx
     * problem's detail is always the generic title). */
    const stream_error *e = stream_error_last();
    char what[512];
    snprintf(what, sizeof(what), "%s", e && e->code == rc ? e->message : "unknown");
    streamd_reply_problem(resp, req, rc, what);
    streamd_billing_problem_extend(resp, "inconsistency", cJSON_CreateString(what));
    streamd_billing_problem_extend(resp, "invoices_checked", cJSON_CreateNumber((double)checked));
  } else if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
  } else {
    cJSON *o = cJSON_CreateObject();
    if (o) {
      cJSON_AddBoolToObject(o, "ok", 1);
      cJSON_AddNumberToObject(o, "invoices_checked", (double)checked);
    }
    streamd_reply_json(resp, 200, o);
  }
}
