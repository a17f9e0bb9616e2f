/*
 * streamctl billing: operator access to the billing tables of a streamd
 * store, opened directly (SQLite WAL lets this run while streamd serves).
 * Sub-commands: plans, subscriptions [--status S], renew, refund INVOICE
 * [AMOUNT] --key K, books. Everything goes through the billing service
 * (stream/billing.h) with the built-in local payment provider, the only one
 * in this release; without the server feature the verb only says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamctl.h"

static const cli_opt billing_opts[] = {
    {"db", 1, "PATH", "the store (e.g. DATA_DIR/streamd.db); or --data-dir"},
    {"data-dir", 1, "DIR", "streamd data directory (the store is DIR/streamd.db)"},
    {"status", 1, "S", "subscriptions: trialing, active, past_due, canceled or expired"},
    {"limit", 1, "N", "subscriptions: at most N (1..100 per page, all pages by default)"},
    {"key", 1, "K", "refund: the idempotency key (repeat it to retry the same refund safely)"},
    {"json", 0, NULL, "print JSON"},
    {NULL, 0, NULL, NULL}};

#if STREAM_HAVE_SERVER

#include <cjson/cJSON.h>

typedef struct billing_ctx {
  stream_store *store;
  stream_billing_local *provider;
  stream_billing *billing;
} billing_ctx;

static void close_billing(billing_ctx *c)
{
  stream_billing_free(c->billing);
  stream_billing_local_free(c->provider);
  stream_store_close(c->store);
  memset(c, 0, sizeof *c);
}

static int open_billing(const cli_args *a, billing_ctx *c)
{
  memset(c, 0, sizeof *c);
  int rc = open_daemon_store(a, &c->store);
  if (rc)
    return rc;
  stream_billing_provider prov;
  stream_billing_options bo = STREAM_BILLING_OPTIONS_INIT;
  bo.store = c->store;
  bo.provider = &prov;
  if ((rc = stream_billing_local_new(&c->provider)) != STREAM_OK ||
      (rc = stream_billing_local_provider(&prov, c->provider)) != STREAM_OK ||
      (rc = stream_billing_new(&c->billing, &bo)) != STREAM_OK) {
    int ret = lib_error(a, "cannot start billing", rc);
    close_billing(c);
    return ret;
  }
  return 0;
}

static void print_money(int64_t amount, const char *currency)
{
  int64_t whole = amount / 100, cents = amount % 100;
  if (cents < 0)
    cents = -cents;
  printf("%s%lld.%02lld %s", amount < 0 && whole == 0 ? "-" : "", (long long)whole,
         (long long)cents, currency);
}

static int do_plans(const cli_args *a, stream_billing *b)
{
  stream_billing_plan *plans = NULL;
  size_t n = 0;
  int rc = stream_billing_plan_list(&plans, &n, b, 1);
  if (rc)
    return lib_error(a, "cannot list plans", rc);
  if (cli_has(a, "json")) {
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; arr && i < n; i++) {
      cJSON *o = cJSON_CreateObject();
      if (!o)
        break;
      cJSON_AddStringToObject(o, "id", plans[i].id);
      cJSON_AddStringToObject(o, "name", plans[i].name);
      cJSON_AddNumberToObject(o, "amount", (double)plans[i].price);
      cJSON_AddStringToObject(o, "currency", plans[i].currency);
      cJSON_AddNumberToObject(o, "period_months", plans[i].period_months);
      cJSON_AddNumberToObject(o, "trial_days", plans[i].trial_days);
      cJSON_AddNumberToObject(o, "screens", plans[i].screens);
      cJSON_AddNumberToObject(o, "max_height", plans[i].max_height);
      cJSON_AddBoolToObject(o, "active", plans[i].active);
      cJSON_AddItemToArray(arr, o);
    }
    char *txt = cJSON_PrintUnformatted(arr);
    printf("%s\n", txt ? txt : "[]");
    cJSON_free(txt);
    cJSON_Delete(arr);
  } else {
    for (size_t i = 0; i < n; i++) {
      printf("%s\t%s\t", plans[i].id, plans[i].name);
      print_money(plans[i].price, plans[i].currency);
      printf("/%dmo\t%d screen%s\t%dp\ttrial %dd\t%s\n", plans[i].period_months, plans[i].screens,
             plans[i].screens == 1 ? "" : "s", plans[i].max_height, plans[i].trial_days,
             plans[i].active ? "active" : "inactive");
    }
  }
  stream_free(plans);
  return 0;
}

static int status_from_name(const char *name)
{
  for (int s = 0; s < 16; s++) {
    const char *n = stream_billing_status_name(s);
    if (n && strcmp(n, name) == 0)
      return s;
  }
  return -1;
}

static cJSON *subscription_json(const stream_billing_subscription *s)
{
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  const char *st = stream_billing_status_name(s->status);
  cJSON_AddStringToObject(o, "id", s->id);
  cJSON_AddStringToObject(o, "account_id", s->account_id);
  cJSON_AddStringToObject(o, "plan_id", s->plan_id);
  cJSON_AddStringToObject(o, "pending_plan_id", s->pending_plan_id);
  cJSON_AddStringToObject(o, "status", st ? st : "unknown");
  cJSON_AddBoolToObject(o, "cancel_at_period_end", s->cancel_at_period_end);
  cJSON_AddNumberToObject(o, "period_start", (double)s->period_start);
  cJSON_AddNumberToObject(o, "period_end", (double)s->period_end);
  cJSON_AddNumberToObject(o, "failed_attempts", s->failed_attempts);
  cJSON_AddNumberToObject(o, "created_at", (double)s->created_at);
  cJSON_AddNumberToObject(o, "ended_at", (double)s->ended_at);
  return o;
}

static int do_subscriptions(const cli_args *a, stream_billing *b)
{
  stream_billing_subscription_query q = {-1, NULL, STREAM_BILLING_LIST_MAX};
  const char *status = cli_get(a, "status");
  if (status && (q.status = status_from_name(status)) < 0)
    return usage_error(a, "--status must be trialing, active, past_due, canceled or expired");
  uint64_t limit = 0;
  if (cli_get(a, "limit") && (parse_u64(cli_get(a, "limit"), 1000000, &limit) != 0 || !limit))
    return usage_error(a, "--limit must be a positive integer");
  int json = cli_has(a, "json");
  cJSON *all = json ? cJSON_CreateArray() : NULL;
  char after[STREAM_BILLING_ID_SIZE] = "";
  uint64_t printed = 0;
  int ret = 0;
  for (;;) {
    q.after_id = after[0] ? after : NULL;
    if (limit && limit - printed < q.limit)
      q.limit = (unsigned int)(limit - printed);
    stream_billing_subscription *list = NULL;
    size_t n = 0;
    int rc = stream_billing_subscription_list(&list, &n, b, &q);
    if (rc) {
      ret = lib_error(a, "cannot list subscriptions", rc);
      break;
    }
    for (size_t i = 0; i < n; i++) {
      if (json) {
        cJSON_AddItemToArray(all, subscription_json(&list[i]));
      } else {
        const char *st = stream_billing_status_name(list[i].status);
        printf("%s\t%s\t%s\t%s\tperiod_end %lld%s\n", list[i].id, list[i].account_id,
               list[i].plan_id, st ? st : "?", (long long)list[i].period_end,
               list[i].cancel_at_period_end ? "\tcancels at period end" : "");
      }
    }
    printed += n;
    int more = n == q.limit && (!limit || printed < limit);
    if (n)
      snprintf(after, sizeof after, "%s", list[n - 1].id);
    stream_free(list);
    if (!more)
      break;
  }
  if (json && !ret) {
    char *txt = cJSON_PrintUnformatted(all);
    printf("%s\n", txt ? txt : "[]");
    cJSON_free(txt);
  }
  cJSON_Delete(all);
  return ret;
}

static int do_renew(const cli_args *a, stream_billing *b)
{
  stream_billing_run_report r;
  memset(&r, 0, sizeof r);
  int rc = stream_billing_run_renewals(&r, b);
  if (rc)
    return lib_error(a, "renewal run failed", rc);
  if (cli_has(a, "json"))
    printf("{\"renewed\":%zu,\"trials_converted\":%zu,\"failed\":%zu,\"retried\":%zu,"
           "\"expired\":%zu,\"canceled\":%zu,\"downgraded\":%zu,\"settled\":%zu}\n",
           r.renewed, r.trials_converted, r.failed, r.retried, r.expired, r.canceled, r.downgraded,
           r.settled);
  else
    printf("renewed %zu, trials converted %zu, failed %zu, retried %zu, expired %zu, "
           "canceled %zu, downgraded %zu, settled %zu\n",
           r.renewed, r.trials_converted, r.failed, r.retried, r.expired, r.canceled, r.downgraded,
           r.settled);
  return 0;
}

static int do_refund(const cli_args *a, stream_billing *b)
{
  const char *key = cli_get(a, "key");
  if (!key || !*key)
    return usage_error(a, "refund needs --key K (an idempotency key: reuse it to retry)");
  uint64_t amount = 0;
  if (a->npos == 3 &&
      (parse_u64(a->pos[2], (uint64_t)STREAM_BILLING_AMOUNT_MAX, &amount) != 0 || amount == 0))
    return usage_error(a, "AMOUNT must be a positive integer of minor units (cents)");
  stream_billing_invoice inv;
  memset(&inv, 0, sizeof inv);
  int rc = stream_billing_refund(&inv, b, a->pos[1], (int64_t)amount, key);
  if (rc)
    return lib_error(a, "refund failed", rc);
  if (cli_has(a, "json")) {
    printf("{\"id\":\"%s\",\"total\":%lld,\"amount_paid\":%lld,\"amount_refunded\":%lld,"
           "\"currency\":\"%s\"}\n",
           inv.id, (long long)inv.total, (long long)inv.amount_paid, (long long)inv.amount_refunded,
           inv.currency);
  } else {
    printf("invoice %s: paid ", inv.id);
    print_money(inv.amount_paid, inv.currency);
    printf(", refunded ");
    print_money(inv.amount_refunded, inv.currency);
    printf("\n");
  }
  stream_billing_invoice_clear(&inv);
  return 0;
}

static int do_books(const cli_args *a, stream_billing *b)
{
  size_t checked = 0;
  int rc = stream_billing_books_check(&checked, b, 3600);
  if (rc)
    return lib_error(a, "the books do not balance", rc);
  if (cli_has(a, "json"))
    printf("{\"ok\":true,\"invoices_checked\":%zu}\n", checked);
  else
    printf("books balance: %zu invoices checked\n", checked);
  return 0;
}

static int run_billing(const cli_args *a)
{
  const char *sub = a->pos[0];
  int nargs = a->npos - 1;
  if (strcmp(sub, "refund") == 0) {
    if (nargs < 1 || nargs > 2)
      return usage_error(a, "refund needs INVOICE [AMOUNT]");
  } else if (strcmp(sub, "plans") == 0 || strcmp(sub, "subscriptions") == 0 ||
             strcmp(sub, "renew") == 0 || strcmp(sub, "books") == 0) {
    if (nargs != 0)
      return usage_error(a, "%s takes no argument", sub);
  } else {
    return usage_error(a, "unknown sub-command '%s' (plans, subscriptions, renew, refund, books)",
                       sub);
  }
  billing_ctx c;
  int ret = open_billing(a, &c);
  if (ret)
    return ret;
  if (strcmp(sub, "plans") == 0)
    ret = do_plans(a, c.billing);
  else if (strcmp(sub, "subscriptions") == 0)
    ret = do_subscriptions(a, c.billing);
  else if (strcmp(sub, "renew") == 0)
    ret = do_renew(a, c.billing);
  else if (strcmp(sub, "refund") == 0)
    ret = do_refund(a, c.billing);
  else
    ret = do_books(a, c.billing);
  close_billing(&c);
  return ret;
}

#else

#define run_billing not_built_server

#endif

const cli_verb verb_billing = {
    "billing",
    "List plans and subscriptions, run renewals, refund, check the books.",
    "billing plans | subscriptions [--status S] [--limit N] | renew | refund INVOICE [AMOUNT] "
    "--key K | books   (--db PATH | --data-dir DIR) [--json]",
    "Opens the store directly (safe while streamd runs: SQLite WAL) with the built-in\n"
    "local payment provider, the only provider of this release.\n"
    "plans lists every plan, inactive ones included. subscriptions lists subscriptions by\n"
    "id (all pages), optionally of one status. renew runs the renewal job once now:\n"
    "due periods are billed, trials converted, past-due charges retried, expired or\n"
    "canceled subscriptions ended (streamd also runs it every billing_renew_interval s).\n"
    "refund INVOICE [AMOUNT] refunds AMOUNT minor units (cents; default: all that is\n"
    "left) through the provider; --key is required and makes the refund idempotent:\n"
    "running the same command again with the same key refunds nothing more.\n"
    "books checks that every invoice balances (exit 1 naming the first inconsistency).\n",
    billing_opts,
    1,
    3,
    run_billing};
