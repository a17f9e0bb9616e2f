/* Shared fixture of the billing tests: a real SQLite store in a temporary
 * directory (under tests/pg/pg_run.sh a PostgreSQL database of its own
 * instead: ../store_path.h), the built-in local provider, an injected clock,
 * and helpers that assert as they go. After every scenario the books are
 * checked (teardown). */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../store_path.h"
#include "billing_fixture.h"

static char tmpdir[256];
char dbpath[300];
stream_store *store;
stream_billing_local *local;
stream_billing *bill;
int64_t clock_now;

static int64_t fake_clock(void *ud)
{
  return *(int64_t *)ud;
}

const char *msg(void)
{
  const stream_error *e = stream_error_last();
  return e ? e->message : "";
}

stream_billing *open_billing(const stream_billing_provider *prov)
{
  stream_billing_options o = STREAM_BILLING_OPTIONS_INIT;
  o.store = store;
  o.provider = prov;
  o.now = fake_clock;
  o.now_userdata = &clock_now;
  stream_billing *b = NULL;
  ck_assert_int_eq(stream_billing_new(&b, &o), STREAM_OK);
  return b;
}

void open_store(void)
{
  char uri[512];
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  so.path = test_store_path(uri, sizeof uri, dbpath);
  ck_assert_int_eq(stream_store_open(&store, &so), STREAM_OK);
}

void fx_setup(void)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/stream-billing-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  snprintf(dbpath, sizeof dbpath, "%s/db.sqlite", tmpdir);
  open_store();
  ck_assert_int_eq(stream_billing_local_new(&local), STREAM_OK);
  stream_billing_provider prov;
  ck_assert_int_eq(stream_billing_local_provider(&prov, local), STREAM_OK);
  clock_now = JAN31;
  bill = open_billing(&prov);
}

/* Every scenario must leave balanced books. */
void books_ok(void)
{
  size_t n = 0;
  ck_assert_msg(stream_billing_books_check(&n, bill, 0) == STREAM_OK, "books: %s", msg());
}

void fx_teardown(void)
{
  if (bill)
    books_ok();
  stream_billing_free(bill);
  bill = NULL;
  stream_store_close(store);
  store = NULL;
  stream_billing_local_free(local);
  local = NULL;
  const char *files[] = {"db.sqlite", "db.sqlite-wal", "db.sqlite-shm", "db.sqlite-journal"};
  char path[320];
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
    remove(path);
  }
  rmdir(tmpdir);
}

void new_account(char *id, const char *email)
{
  stream_store_account in, out;
  memset(&in, 0, sizeof in);
  snprintf(in.email, sizeof in.email, "%s", email);
  ck_assert_int_eq(stream_store_account_create(&out, store, &in, clock_now), STREAM_OK);
  memcpy(id, out.id, STREAM_STORE_ID_SIZE);
}

void put_plan(const char *id, const char *name, int64_t price, int trial_days, int screens)
{
  stream_billing_plan p;
  memset(&p, 0, sizeof p);
  snprintf(p.id, sizeof p.id, "%s", id);
  snprintf(p.name, sizeof p.name, "%s", name);
  p.price = price;
  memcpy(p.currency, "USD", 4);
  p.period_months = 1;
  p.trial_days = trial_days;
  p.screens = screens;
  p.max_height = 1080;
  p.active = 1;
  ck_assert_msg(stream_billing_plan_put(bill, &p) == STREAM_OK, "%s", msg());
}

/* Plans without trials, for tests that bill from the first second. */
void paid_plans(void)
{
  put_plan("basic", "Basic", 1000, 0, 1);
  put_plan("standard", "Standard", 2000, 0, 2);
  put_plan("premium", "Premium", 3100, 0, 4);
}

void add_card(stream_billing_card *out, const char *account, const char *token, const char *key)
{
  ck_assert_msg(stream_billing_card_add(out, bill, account, token, key) == STREAM_OK, "%s", msg());
}

size_t charges(int64_t *sum)
{
  size_t n = 0;
  ck_assert_int_eq(stream_billing_local_totals(local, &n, sum, NULL), STREAM_OK);
  return n;
}

size_t invoice_count(const char *account)
{
  stream_billing_invoice *v = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_billing_invoice_list(&v, &n, bill, account), STREAM_OK);
  stream_free(v);
  return n;
}

stream_billing_run_report run(void)
{
  stream_billing_run_report r;
  ck_assert_msg(stream_billing_run_renewals(&r, bill) == STREAM_OK, "%s", msg());
  books_ok();
  return r;
}

stream_billing_subscription sub_of(const char *account)
{
  stream_billing_subscription s;
  ck_assert_msg(stream_billing_subscription_get(&s, bill, account) == STREAM_OK, "%s", msg());
  return s;
}

void subscribe_paid(char *acct, const char *email, const char *plan)
{
  new_account(acct, email);
  stream_billing_card c;
  add_card(&c, acct, "tok_4242424242424242", "card");
  stream_billing_subscription s;
  ck_assert_msg(stream_billing_subscribe(&s, NULL, bill, acct, plan, NULL, "sub") == STREAM_OK,
                "%s", msg());
}

/* The local provider's charge goes through at the gateway (the money moves) but
 * its answer never arrives: what a crash or a lost connection after phase two
 * looks like. */
int lost_answer_charge(void *ud, stream_billing_provider_result *out, const char *method,
                       int64_t amount, const char *currency, const char *key)
{
  stream_billing_provider lp;
  stream_billing_local_provider(&lp, ud);
  lp.charge(ud, out, method, amount, currency, key);
  return STREAM_EIO;
}

int64_t upgrade_charge(const char *acct, const char *plan, const char *key)
{
  stream_billing_subscription s;
  char inv[STREAM_BILLING_ID_SIZE];
  ck_assert_msg(stream_billing_change_plan(&s, inv, bill, acct, plan, key) == STREAM_OK, "%s",
                msg());
  ck_assert_str_eq(s.plan_id, plan);
  ck_assert_str_eq(s.pending_plan_id, "");
  if (!inv[0])
    return 0;
  stream_billing_invoice v;
  ck_assert_int_eq(stream_billing_invoice_get(&v, bill, inv), STREAM_OK);
  ck_assert_int_eq(v.status, STREAM_BILLING_INVOICE_PAID);
  ck_assert_uint_eq(v.line_count, 1);
  ck_assert_int_eq(v.lines[0].amount, v.total);
  ck_assert_int_eq(v.lines[0].period_end, s.period_end);
  int64_t total = v.total;
  stream_billing_invoice_clear(&v);
  return total;
}
