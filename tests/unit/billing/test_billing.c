/* Unit tests for the billing service (public API only, through the shared
 * library) over a real SQLite store in a temporary directory (or, under
 * tests/pg/pg_run.sh, PostgreSQL), the built-in local provider and an
 * injected clock: plans, cards, proration, plan changes, idempotency,
 * concurrency, bad input, refunds, and the books check (run after every
 * scenario; raw SQL only corrupts a row on purpose to see the check catch
 * it). Renewals and dunning: test_billing_renewals.c. */
#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store_raw.h"
#include "billing_fixture.h"

/* ---- plans ---------------------------------------------------------------------------- */

START_TEST(test_plans_seed_put_get_list)
{
  size_t n = 99;
  ck_assert_int_eq(stream_billing_plans_seed(&n, bill), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_int_eq(stream_billing_plans_seed(&n, bill), STREAM_OK);
  ck_assert_uint_eq(n, 0);
  stream_billing_plan p;
  ck_assert_int_eq(stream_billing_plan_get(&p, bill, "standard"), STREAM_OK);
  ck_assert_str_eq(p.name, "Standard");
  ck_assert_int_eq(p.price, 1549);
  ck_assert_str_eq(p.currency, "USD");
  ck_assert_int_eq(p.screens, 2);
  ck_assert_int_eq(p.max_height, 1080);
  ck_assert_int_eq(p.trial_days, 7);
  ck_assert_int_eq(stream_billing_plan_get(&p, bill, "premium"), STREAM_OK);
  ck_assert_int_eq(p.screens, 4);
  ck_assert_int_eq(p.max_height, 2160);

  /* Edit: a new price, and retire basic. */
  ck_assert_int_eq(stream_billing_plan_get(&p, bill, "basic"), STREAM_OK);
  p.active = 0;
  ck_assert_int_eq(stream_billing_plan_put(bill, &p), STREAM_OK);
  stream_billing_plan *list = NULL;
  ck_assert_int_eq(stream_billing_plan_list(&list, &n, bill, 0), STREAM_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(list[0].id, "standard");
  ck_assert_str_eq(list[1].id, "premium");
  stream_free(list);
  ck_assert_int_eq(stream_billing_plan_list(&list, &n, bill, 1), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(list[0].id, "basic");
  stream_free(list);

  /* Bad fields are refused and change nothing. */
  stream_billing_plan bad = p;
  bad.price = -1;
  ck_assert_int_eq(stream_billing_plan_put(bill, &bad), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "price"));
  bad = p;
  memcpy(bad.currency, "usd", 4);
  ck_assert_int_eq(stream_billing_plan_put(bill, &bad), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "currency"));
  bad = p;
  memcpy(bad.currency, "US", 3);
  ck_assert_int_eq(stream_billing_plan_put(bill, &bad), STREAM_EINVAL);
  bad = p;
  bad.price = STREAM_BILLING_AMOUNT_MAX + 1;
  ck_assert_int_eq(stream_billing_plan_put(bill, &bad), STREAM_EINVAL);
  bad = p;
  bad.screens = 0;
  ck_assert_int_eq(stream_billing_plan_put(bill, &bad), STREAM_EINVAL);
  bad = p;
  bad.period_months = 13;
  ck_assert_int_eq(stream_billing_plan_put(bill, &bad), STREAM_EINVAL);
  bad = p;
  memcpy(bad.id, "Bad Id", 7);
  ck_assert_int_eq(stream_billing_plan_put(bill, &bad), STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_plan_get(&p, bill, "basic"), STREAM_OK);
  ck_assert_int_eq(p.price, 799);
  ck_assert_int_eq(stream_billing_plan_get(&p, bill, "nope"), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_billing_plan_get(&p, bill, "x/y"), STREAM_EINVAL);

  ck_assert_str_eq(stream_billing_status_name(STREAM_BILLING_PAST_DUE), "past_due");
  ck_assert_ptr_null(stream_billing_status_name(5));
  ck_assert_str_eq(stream_billing_invoice_status_name(STREAM_BILLING_INVOICE_UNCOLLECTIBLE),
                   "uncollectible");
  ck_assert_ptr_null(stream_billing_invoice_status_name(-1));
}
END_TEST

/* ---- payment methods ------------------------------------------------------------------ */

START_TEST(test_cards_tokens_defaults_and_removal)
{
  char acct[STREAM_STORE_ID_SIZE];
  new_account(acct, "cards@example.com");
  stream_billing_card c1, c2, again;
  add_card(&c1, acct, "tok_4242424242424242", "card-1");
  ck_assert_str_eq(c1.brand, "visa");
  ck_assert_str_eq(c1.last4, "4242");
  ck_assert_int_eq(c1.exp_month, 12);
  ck_assert_int_eq(c1.exp_year, 2034);
  ck_assert_int_eq(c1.is_default, 1);
  add_card(&c2, acct, "tok_5555555555554444_0731", "card-2");
  ck_assert_str_eq(c2.brand, "mastercard");
  ck_assert_int_eq(c2.exp_month, 7);
  ck_assert_int_eq(c2.exp_year, 2031);
  ck_assert_int_eq(c2.is_default, 0);
  /* Replay: the same card, no second method. */
  add_card(&again, acct, "tok_4242424242424242", "card-1");
  ck_assert_str_eq(again.id, c1.id);
  ck_assert_int_eq(stream_billing_card_add(&again, bill, acct, "tok_5555555555554444", "card-1"),
                   STREAM_ECONFLICT);

  stream_billing_card *list = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_billing_card_list(&list, &n, bill, acct), STREAM_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(list[0].id, c1.id);
  stream_free(list);
  ck_assert_int_eq(stream_billing_card_set_default(bill, acct, c2.id), STREAM_OK);
  ck_assert_int_eq(stream_billing_card_list(&list, &n, bill, acct), STREAM_OK);
  ck_assert_str_eq(list[0].id, c2.id);
  ck_assert_int_eq(list[0].is_default, 1);
  ck_assert_int_eq(list[1].is_default, 0);
  stream_free(list);

  /* Refused tokens: malformed, Luhn, expired; messages never echo the number. */
  const char *bad[] = {"4242424242424242",          "tok_424242424242424",
                       "tok_4242424242424241",      "tok_4242424242424242_0120",
                       "tok_4242424242424242_1399", ""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ck_assert_int_eq(stream_billing_card_add(&again, bill, acct, bad[i], "card-bad"),
                     STREAM_EINVAL);
    ck_assert_ptr_null(strstr(msg(), "424242424242"));
  }
  char other[STREAM_STORE_ID_SIZE];
  new_account(other, "other@example.com");
  ck_assert_int_eq(stream_billing_card_set_default(bill, other, c1.id), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_billing_card_remove(bill, other, c1.id), STREAM_ENOTFOUND);
  ck_assert_int_eq(
      stream_billing_card_add(&again, bill, "nosuchaccount", "tok_4242424242424242", "card-x"),
      STREAM_ENOTFOUND);

  /* The only method of an account with a live paid subscription stays. */
  paid_plans();
  stream_billing_subscription s;
  ck_assert_int_eq(stream_billing_subscribe(&s, NULL, bill, acct, "basic", NULL, "sub-1"),
                   STREAM_OK);
  ck_assert_str_eq(s.card_id, c2.id); /* the default */
  ck_assert_int_eq(stream_billing_card_remove(bill, acct, c1.id), STREAM_OK);
  ck_assert_int_eq(stream_billing_card_remove(bill, acct, c2.id), STREAM_ECONFLICT);
  ck_assert_int_eq(stream_billing_card_list(&list, &n, bill, acct), STREAM_OK);
  ck_assert_uint_eq(n, 1);
  stream_free(list);
}
END_TEST

/* ---- proration ------------------------------------------------------------------------ */

START_TEST(test_proration_edges)
{
  paid_plans();
  put_plan("basic-plus", "Basic+", 1001, 0, 1);
  int64_t len = FEB28 - JAN31; /* 28 days */
  char a[STREAM_STORE_ID_SIZE], b2[STREAM_STORE_ID_SIZE], c[STREAM_STORE_ID_SIZE],
      d[STREAM_STORE_ID_SIZE], e[STREAM_STORE_ID_SIZE], f[STREAM_STORE_ID_SIZE];
  subscribe_paid(a, "a@example.com", "basic");
  subscribe_paid(b2, "b@example.com", "basic");
  subscribe_paid(c, "c@example.com", "basic");
  subscribe_paid(d, "d@example.com", "basic");
  subscribe_paid(e, "e@example.com", "basic");
  subscribe_paid(f, "f@example.com", "basic");
  ck_assert_int_eq(sub_of(a).period_end, FEB28); /* Jan 31 + 1 month */

  /* First second of the period: the whole difference. */
  ck_assert_int_eq(upgrade_charge(a, "premium", "u1"), 2100);
  /* Half way: exactly half; 1 cent over half a period rounds half up to 1. */
  clock_now = JAN31 + len / 2;
  ck_assert_int_eq(upgrade_charge(b2, "premium", "u1"), 1050);
  ck_assert_int_eq(upgrade_charge(c, "basic-plus", "u1"), 1);
  /* A third left: 2100 / 3 = 700 exactly; 1000 / 3 = 333.3 rounds down to 333. */
  clock_now = JAN31 + 2 * (len / 3);
  ck_assert_int_eq(upgrade_charge(e, "premium", "u1"), 700);
  ck_assert_int_eq(upgrade_charge(f, "standard", "u1"), 333);
  /* Last second: 2100 * 1 / 2419200 rounds to 0: the plan changes, nothing billed. */
  clock_now = FEB28 - 1;
  ck_assert_int_eq(upgrade_charge(d, "premium", "u1"), 0);
  ck_assert_uint_eq(invoice_count(d), 1);
  /* Month lengths: the next periods are Feb 28 - Mar 31 (31 days) and Mar 31 - Apr 30. */
  clock_now = FEB28;
  run();
  stream_billing_subscription s = sub_of(f);
  ck_assert_int_eq(s.period_start, FEB28);
  ck_assert_int_eq(s.period_end, MAR31);
  /* A 31-day period: half of it is 15.5 days; 1 cent rounds half up. */
  clock_now = FEB28 + (MAR31 - FEB28) / 2;
  ck_assert_int_eq(upgrade_charge(c, "standard", "u2"), 500); /* 999 / 2 = 499.5 -> 500 */
  clock_now = MAR31;
  run();
  ck_assert_int_eq(sub_of(f).period_end, APR30);
  books_ok();
}
END_TEST

START_TEST(test_upgrade_then_downgrade_and_downgrade_then_upgrade)
{
  paid_plans();
  char a[STREAM_STORE_ID_SIZE], b2[STREAM_STORE_ID_SIZE];
  subscribe_paid(a, "a@example.com", "basic");
  subscribe_paid(b2, "b@example.com", "standard");
  clock_now = JAN31 + 7 * DAY; /* 21 of 28 days left */
  /* Upgrade then downgrade: premium now (prorated), basic from the period end. */
  ck_assert_int_eq(upgrade_charge(a, "premium", "u1"), 1575);
  stream_billing_subscription s;
  char inv[STREAM_BILLING_ID_SIZE];
  ck_assert_int_eq(stream_billing_change_plan(&s, inv, bill, a, "basic", "d1"), STREAM_OK);
  ck_assert_str_eq(s.plan_id, "premium");
  ck_assert_str_eq(s.pending_plan_id, "basic");
  ck_assert_str_eq(inv, "");
  /* Downgrade then upgrade: the upgrade applies at once and drops the scheduled change. */
  ck_assert_int_eq(stream_billing_change_plan(&s, NULL, bill, b2, "basic", "d1"), STREAM_OK);
  ck_assert_str_eq(s.pending_plan_id, "basic");
  ck_assert_str_eq(s.plan_id, "standard");
  ck_assert_int_eq(upgrade_charge(b2, "premium", "u1"), 825); /* 1100 * 3/4 */
  /* Changing to the current plan cancels a scheduled downgrade. */
  ck_assert_int_eq(stream_billing_change_plan(&s, NULL, bill, b2, "standard", "d2"), STREAM_OK);
  ck_assert_str_eq(s.pending_plan_id, "standard");
  ck_assert_int_eq(stream_billing_change_plan(&s, NULL, bill, b2, "premium", "d3"), STREAM_OK);
  ck_assert_str_eq(s.pending_plan_id, "");
  ck_assert_str_eq(s.plan_id, "premium");

  clock_now = FEB28;
  stream_billing_run_report r = run();
  ck_assert_uint_eq(r.downgraded, 1);
  ck_assert_uint_eq(r.renewed, 2);
  s = sub_of(a);
  ck_assert_str_eq(s.plan_id, "basic");
  ck_assert_str_eq(s.pending_plan_id, "");
  stream_billing_invoice *list = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_billing_invoice_list(&list, &n, bill, a), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_int_eq(list[0].total, 1000); /* the renewal at the basic price */
  stream_free(list);
  ck_assert_int_eq(sub_of(b2).period_end, MAR31);
  int64_t sum = 0;
  ck_assert_uint_eq(charges(&sum), 6);
  ck_assert_int_eq(sum, 1000 + 2000 + 1575 + 825 + 1000 + 3100);
}
END_TEST

/* The credit for the unused time of a period, round half up, computed here
 * directly (price x rem fits in int64 for these figures). */
static int64_t unused_credit(int64_t price, int64_t start, int64_t end, int64_t now)
{
  int64_t len = end - start, rem = end - now;
  return (2 * price * rem + len) / (2 * len);
}

/* Two reads of one subscription agree field by field. */
static void same_sub(const stream_billing_subscription *x, const stream_billing_subscription *y)
{
  ck_assert_str_eq(x->id, y->id);
  ck_assert_str_eq(x->plan_id, y->plan_id);
  ck_assert_str_eq(x->pending_plan_id, y->pending_plan_id);
  ck_assert_str_eq(x->card_id, y->card_id);
  ck_assert_int_eq(x->status, y->status);
  ck_assert_int_eq(x->cancel_at_period_end, y->cancel_at_period_end);
  ck_assert_int_eq(x->period_start, y->period_start);
  ck_assert_int_eq(x->period_end, y->period_end);
  ck_assert_int_eq(x->trial_end, y->trial_end);
}

/* Yearly plans beside paid_plans(): a dearer and a cheaper one than basic. */
static void yearly_plans(void)
{
  stream_billing_plan year = {"premium-year", "Premium yearly", 30000, "USD", 12, 0, 4, 2160, 1};
  ck_assert_int_eq(stream_billing_plan_put(bill, &year), STREAM_OK);
  stream_billing_plan small = {"basic-year", "Basic yearly", 900, "USD", 12, 0, 1, 720, 1};
  ck_assert_int_eq(stream_billing_plan_put(bill, &small), STREAM_OK);
}

/* Monthly to a dearer yearly plan (Stripe's rule when the interval changes): the yearly
 * period starts now and renews from there; the charge is the yearly price less the unused
 * time of the month (it used to be refused, and before that charged the price difference
 * for the rest of the month). A scheduled downgrade is dropped. A cheaper yearly plan is
 * scheduled for the period end as any downgrade, and renews for twelve months. */
START_TEST(test_upgrade_to_a_yearly_plan_restarts_the_cycle)
{
  paid_plans();
  yearly_plans();
  char a[STREAM_STORE_ID_SIZE], b2[STREAM_STORE_ID_SIZE];
  subscribe_paid(a, "a@example.com", "basic");
  subscribe_paid(b2, "b@example.com", "basic");
  stream_billing_subscription s, before = sub_of(a);
  ck_assert_int_eq(before.period_start, JAN31);
  ck_assert_int_eq(before.period_end, FEB28);
  char inv[STREAM_BILLING_ID_SIZE];
  ck_assert_int_eq(stream_billing_change_plan(&s, inv, bill, a, "basic-year", "d1"), STREAM_OK);
  ck_assert_str_eq(s.pending_plan_id, "basic-year");

  int64_t now = JAN31 + 10 * DAY + 12345; /* 2026-02-10T03:25:45Z */
  clock_now = now;
  int64_t year_end = now + 365 * DAY; /* 2027-02-10T03:25:45Z */
  int64_t credit = unused_credit(1000, before.period_start, before.period_end, now);
  ck_assert_int_gt(credit, 0);
  ck_assert_int_lt(credit, 1000);
  ck_assert_int_eq(stream_billing_change_plan(&s, inv, bill, a, "premium-year", "y1"), STREAM_OK);
  ck_assert_str_eq(s.plan_id, "premium-year");
  ck_assert_str_eq(s.pending_plan_id, "");
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
  ck_assert_int_eq(s.period_start, now);
  ck_assert_int_eq(s.period_end, year_end);
  ck_assert_str_ne(inv, "");
  stream_billing_subscription stored = sub_of(a);
  same_sub(&stored, &s);

  stream_billing_invoice v;
  ck_assert_int_eq(stream_billing_invoice_get(&v, bill, inv), STREAM_OK);
  ck_assert_int_eq(v.status, STREAM_BILLING_INVOICE_PAID);
  ck_assert_int_eq(v.total, 30000 - credit);
  ck_assert_int_eq(v.amount_paid, 30000 - credit);
  ck_assert_int_eq(v.amount_due, 0);
  ck_assert_uint_eq(v.line_count, 2);
  ck_assert_int_eq(v.lines[0].amount + v.lines[1].amount, v.total);
  ck_assert_str_eq(v.lines[0].plan_id, "premium-year");
  ck_assert_int_eq(v.lines[0].amount, 30000);
  ck_assert_int_eq(v.lines[0].period_start, now);
  ck_assert_int_eq(v.lines[0].period_end, year_end);
  ck_assert_str_eq(v.lines[0].description, "Premium yearly, 2026-02-10 to 2027-02-10");
  ck_assert_str_eq(v.lines[1].plan_id, "basic");
  ck_assert_int_eq(v.lines[1].amount, -credit);
  ck_assert_int_eq(v.lines[1].period_start, now);
  ck_assert_int_eq(v.lines[1].period_end, FEB28);
  ck_assert_str_eq(v.lines[1].description, "Unused time on Basic, 2026-02-10 to 2026-02-28");
  stream_billing_invoice_clear(&v);
  int64_t sum = 0;
  ck_assert_uint_eq(charges(&sum), 3);
  ck_assert_int_eq(sum, 1000 + 1000 + 30000 - credit);
  books_ok();

  /* Same key, same request: the recorded outcome, nothing charged again. */
  stream_billing_subscription again;
  char inv2[STREAM_BILLING_ID_SIZE];
  ck_assert_int_eq(stream_billing_change_plan(&again, inv2, bill, a, "premium-year", "y1"),
                   STREAM_OK);
  same_sub(&again, &s);
  ck_assert_str_eq(inv2, inv);
  ck_assert_int_eq(stream_billing_change_plan(&again, inv2, bill, a, "premium", "y1"),
                   STREAM_ECONFLICT);
  ck_assert_uint_eq(charges(NULL), 3);
  ck_assert_uint_eq(invoice_count(a), 2);

  /* The cheaper yearly plan: scheduled, then renewed for a year at its price. */
  ck_assert_int_eq(stream_billing_change_plan(&s, inv, bill, b2, "basic-year", "y2"), STREAM_OK);
  ck_assert_str_eq(s.pending_plan_id, "basic-year");
  ck_assert_str_eq(inv, "");

  /* The old month's end bills the downgraded account only. */
  clock_now = FEB28;
  stream_billing_run_report r = run();
  ck_assert_uint_eq(r.renewed, 1);
  ck_assert_uint_eq(r.downgraded, 1);
  s = sub_of(b2);
  ck_assert_str_eq(s.plan_id, "basic-year");
  ck_assert_int_eq(s.period_start, FEB28);
  ck_assert_int_eq(s.period_end, FEB28 + 365 * DAY);
  s = sub_of(a);
  ck_assert_int_eq(s.period_end, year_end);
  ck_assert_uint_eq(charges(&sum), 4);
  ck_assert_int_eq(sum, 1000 + 1000 + 30000 - credit + 900);

  /* A day before the new end nothing is due; at the end a year at the yearly price. */
  clock_now = year_end - DAY;
  r = run();
  ck_assert_uint_eq(r.renewed, 0);
  clock_now = year_end;
  r = run();
  ck_assert_uint_eq(r.renewed, 1);
  s = sub_of(a);
  ck_assert_str_eq(s.plan_id, "premium-year");
  ck_assert_int_eq(s.period_start, year_end);
  ck_assert_int_eq(s.period_end, year_end + 365 * DAY); /* 2028-02-10 */
  stream_billing_invoice *list = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_billing_invoice_list(&list, &n, bill, a), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_int_eq(list[0].total, 30000);
  ck_assert_int_eq(list[0].status, STREAM_BILLING_INVOICE_PAID);
  ck_assert_int_eq(list[0].created_at, year_end);
  stream_free(list);
  ck_assert_uint_eq(charges(&sum), 5);
  ck_assert_int_eq(sum, 1000 + 1000 + 30000 - credit + 900 + 30000);
}
END_TEST

/* A refused charge for the switch to a yearly plan changes nothing but a void invoice and
 * a declined payment: the month, its plan and its scheduled downgrade stay. */
START_TEST(test_upgrade_to_a_yearly_plan_declined_changes_nothing)
{
  paid_plans();
  yearly_plans();
  char a[STREAM_STORE_ID_SIZE];
  new_account(a, "declined@example.com");
  stream_billing_card c;
  add_card(&c, a, "tok_4000000000000341", "card"); /* first charge only */
  stream_billing_subscription s;
  ck_assert_int_eq(stream_billing_subscribe(&s, NULL, bill, a, "basic", NULL, "sub"), STREAM_OK);
  ck_assert_int_eq(stream_billing_change_plan(&s, NULL, bill, a, "basic-year", "d1"), STREAM_OK);
  stream_billing_subscription before = sub_of(a);
  ck_assert_str_eq(before.pending_plan_id, "basic-year");
  clock_now = JAN31 + 10 * DAY;
  char inv[STREAM_BILLING_ID_SIZE];
  ck_assert_int_eq(stream_billing_change_plan(&s, inv, bill, a, "premium-year", "y1"),
                   STREAM_EPAYMENT);
  ck_assert_ptr_nonnull(strstr(msg(), "declined"));
  ck_assert_str_ne(inv, "");
  stream_billing_subscription after = sub_of(a);
  same_sub(&after, &before);
  stream_billing_invoice v;
  ck_assert_int_eq(stream_billing_invoice_get(&v, bill, inv), STREAM_OK);
  ck_assert_int_eq(v.status, STREAM_BILLING_INVOICE_VOID);
  ck_assert_int_eq(v.amount_paid, 0);
  ck_assert_int_eq(v.amount_due, 0);
  ck_assert_int_eq(v.total, 30000 - unused_credit(1000, JAN31, FEB28, clock_now));
  ck_assert_uint_eq(v.line_count, 2);
  stream_billing_invoice_clear(&v);
  ck_assert_int_eq(
      test_store_raw_int(dbpath, "SELECT status FROM payments WHERE invoice_id = ?", inv),
      2); /* declined */
  int64_t sum = 0;
  ck_assert_uint_eq(charges(&sum), 1);
  ck_assert_int_eq(sum, 1000);
  /* The refusal is the key's recorded outcome. */
  char inv2[STREAM_BILLING_ID_SIZE];
  ck_assert_int_eq(stream_billing_change_plan(&s, inv2, bill, a, "premium-year", "y1"),
                   STREAM_EPAYMENT);
  ck_assert_str_eq(inv2, inv);
  ck_assert_uint_eq(invoice_count(a), 2);
  books_ok();
}
END_TEST

START_TEST(test_change_plan_during_trial_and_refusals)
{
  size_t n;
  ck_assert_int_eq(stream_billing_plans_seed(&n, bill), STREAM_OK);
  stream_billing_plan eur = {"euro", "Euro", 999, "EUR", 1, 0, 1, 720, 1};
  ck_assert_int_eq(stream_billing_plan_put(bill, &eur), STREAM_OK);
  char a[STREAM_STORE_ID_SIZE];
  new_account(a, "trial@example.com");
  stream_billing_card c;
  add_card(&c, a, "tok_4242424242424242", "c");
  stream_billing_subscription s;
  ck_assert_int_eq(stream_billing_subscribe(&s, NULL, bill, a, "basic", NULL, "s"), STREAM_OK);
  ck_assert_int_eq(s.status, STREAM_BILLING_TRIALING);
  char inv[STREAM_BILLING_ID_SIZE];
  ck_assert_int_eq(stream_billing_change_plan(&s, inv, bill, a, "premium", "u"), STREAM_OK);
  ck_assert_str_eq(s.plan_id, "premium");
  ck_assert_str_eq(inv, "");
  ck_assert_uint_eq(charges(NULL), 0);
  ck_assert_int_eq(stream_billing_change_plan(&s, inv, bill, a, "euro", "x1"), STREAM_ECONFLICT);
  ck_assert_int_eq(stream_billing_change_plan(&s, inv, bill, a, "gold", "x2"), STREAM_ENOTFOUND);
  eur.active = 0;
  memcpy(eur.currency, "USD", 4);
  ck_assert_int_eq(stream_billing_plan_put(bill, &eur), STREAM_OK);
  ck_assert_int_eq(stream_billing_change_plan(&s, inv, bill, a, "euro", "x3"), STREAM_ECONFLICT);
  /* Trial converts at the premium price. */
  clock_now += 7 * DAY;
  run();
  int64_t sum = 0;
  ck_assert_uint_eq(charges(&sum), 1);
  ck_assert_int_eq(sum, 2299);
  char b2[STREAM_STORE_ID_SIZE];
  new_account(b2, "nosub@example.com");
  ck_assert_int_eq(stream_billing_change_plan(&s, inv, bill, b2, "premium", "u"), STREAM_ENOTFOUND);
}
END_TEST

/* ---- idempotency ---------------------------------------------------------------------- */

START_TEST(test_idempotency_replay_conflict_and_malformed_keys)
{
  paid_plans();
  char a[STREAM_STORE_ID_SIZE];
  new_account(a, "idem@example.com");
  stream_billing_card c;
  add_card(&c, a, "tok_4242424242424242", "card");

  /* Malformed keys: EINVAL, nothing recorded, nothing charged. */
  char longkey[300];
  memset(longkey, 'k', 256);
  longkey[256] = '\0';
  const char *bad[] = {NULL, "", "has space", "tab\there", longkey, "caf\xc3\xa9"};
  stream_billing_subscription s;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ck_assert_int_eq(stream_billing_subscribe(&s, NULL, bill, a, "basic", NULL, bad[i]),
                     STREAM_EINVAL);
    ck_assert_ptr_nonnull(strstr(msg(), "idempotency key"));
  }
  longkey[255] = '\0'; /* 255 is the longest allowed */
  ck_assert_int_eq(stream_billing_subscription_get(&s, bill, a), STREAM_ENOTFOUND);
  ck_assert_uint_eq(invoice_count(a), 0);
  ck_assert_uint_eq(charges(NULL), 0);

  char inv1[STREAM_BILLING_ID_SIZE], inv2[STREAM_BILLING_ID_SIZE];
  stream_billing_subscription s1, s2;
  ck_assert_int_eq(stream_billing_subscribe(&s1, inv1, bill, a, "basic", NULL, longkey), STREAM_OK);
  clock_now += 60;
  ck_assert_int_eq(stream_billing_subscribe(&s2, inv2, bill, a, "basic", NULL, longkey), STREAM_OK);
  ck_assert_int_eq(memcmp(&s1, &s2, sizeof s1), 0);
  ck_assert_str_eq(inv1, inv2);
  ck_assert_uint_eq(charges(NULL), 1);
  /* Same key, another request. */
  ck_assert_int_eq(stream_billing_subscribe(&s2, inv2, bill, a, "premium", NULL, longkey),
                   STREAM_ECONFLICT);
  ck_assert_int_eq(stream_billing_subscribe(&s2, inv2, bill, a, "basic", c.id, longkey),
                   STREAM_ECONFLICT);
  /* A new key: a second live subscription is refused (and not recorded). */
  ck_assert_int_eq(stream_billing_subscribe(&s2, inv2, bill, a, "basic", NULL, "k2"),
                   STREAM_ECONFLICT);
  ck_assert_int_eq(stream_billing_change_plan(&s2, inv2, bill, a, "premium", "k2"), STREAM_OK);
  ck_assert_uint_eq(charges(NULL), 2);
  ck_assert_int_eq(stream_billing_change_plan(&s1, inv1, bill, a, "premium", "k2"), STREAM_OK);
  ck_assert_int_eq(memcmp(&s1, &s2, sizeof s1), 0);
  ck_assert_str_eq(inv1, inv2);
  ck_assert_uint_eq(charges(NULL), 2);
  /* Keys are per account: another account may use the same key. */
  char b2[STREAM_STORE_ID_SIZE];
  new_account(b2, "idem2@example.com");
  stream_billing_card c2;
  add_card(&c2, b2, "tok_5555555555554444", "card");
  ck_assert_int_eq(stream_billing_subscribe(&s2, inv2, bill, b2, "basic", NULL, longkey),
                   STREAM_OK);
  ck_assert_str_ne(s2.id, s1.id);
  ck_assert_uint_eq(charges(NULL), 3);
}
END_TEST

/* ---- concurrency ---------------------------------------------------------------------- */

typedef struct race {
  stream_billing *b;
  const char *account;
  const char *plan;
  int index;
  int rc;
  bool upgrade;
} race;

static pthread_barrier_t barrier;

static void *race_main(void *arg)
{
  race *r = arg;
  char key[32];
  snprintf(key, sizeof key, "race-%d", r->index);
  stream_billing_subscription s;
  pthread_barrier_wait(&barrier);
  r->rc = r->upgrade ? stream_billing_change_plan(&s, NULL, r->b, r->account, r->plan, key)
                     : stream_billing_subscribe(&s, NULL, r->b, r->account, r->plan, NULL, key);
  return NULL;
}

static void race_run(race *rs, int n)
{
  pthread_t th[8];
  pthread_barrier_init(&barrier, NULL, (unsigned)n);
  for (int i = 0; i < n; i++)
    ck_assert_int_eq(pthread_create(&th[i], NULL, race_main, &rs[i]), 0);
  for (int i = 0; i < n; i++)
    pthread_join(th[i], NULL);
  pthread_barrier_destroy(&barrier);
}

START_TEST(test_eight_threads_subscribe_once_and_upgrade_once)
{
  paid_plans();
  char a[STREAM_STORE_ID_SIZE];
  new_account(a, "race@example.com");
  stream_billing_card c;
  add_card(&c, a, "tok_4242424242424242", "card");
  /* Half the threads use a second handle: another process as far as the
   * in-process locks are concerned, so only the database guards them. */
  stream_billing_provider prov;
  ck_assert_int_eq(stream_billing_local_provider(&prov, local), STREAM_OK);
  stream_billing *other = open_billing(&prov);
  race rs[8];
  for (int i = 0; i < 8; i++)
    rs[i] = (race){i % 2 ? other : bill, a, "standard", i, 0, false};
  race_run(rs, 8);
  int ok = 0;
  for (int i = 0; i < 8; i++) {
    if (rs[i].rc == STREAM_OK)
      ok++;
    else
      ck_assert_msg(rs[i].rc == STREAM_ECONFLICT || rs[i].rc == STREAM_EBUSY, "rc %d", rs[i].rc);
  }
  ck_assert_int_eq(ok, 1);
  ck_assert_uint_eq(charges(NULL), 1);
  ck_assert_uint_eq(invoice_count(a), 1);

  clock_now += 10 * DAY;
  for (int i = 0; i < 8; i++)
    rs[i] = (race){i % 2 ? other : bill, a, "premium", 100 + i, 0, true};
  race_run(rs, 8);
  int64_t sum = 0;
  ck_assert_uint_eq(charges(&sum), 2);
  ck_assert_int_eq(sum, 2000 + (1100 * 18 * 2 + 28) / (2 * 28));
  ck_assert_uint_eq(invoice_count(a), 2);
  ck_assert_str_eq(sub_of(a).plan_id, "premium");
  stream_billing_free(other);
}
END_TEST

/* ---- bad input ------------------------------------------------------------------------ */

START_TEST(test_bad_input_changes_nothing)
{
  paid_plans();
  char a[STREAM_STORE_ID_SIZE];
  new_account(a, "bad@example.com");
  stream_billing_card c;
  add_card(&c, a, "tok_4242424242424242", "card");
  stream_billing_subscription s;
  char inv[STREAM_BILLING_ID_SIZE];
  char longid[80];
  memset(longid, 'a', 65);
  longid[65] = '\0';
  ck_assert_int_eq(stream_billing_subscribe(&s, inv, bill, a, "gold", NULL, "k"), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_billing_subscribe(&s, inv, bill, "nosuchaccount", "basic", NULL, "k"),
                   STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_billing_subscribe(&s, inv, bill, a, "basic", "nosuchcard", "k"),
                   STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_billing_subscribe(&s, inv, bill, longid, "basic", NULL, "k"),
                   STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "account_id"));
  ck_assert_int_eq(stream_billing_subscribe(&s, inv, bill, a, longid, NULL, "k"), STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_subscribe(&s, inv, bill, a, "basic'; --", NULL, "k"),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_subscribe(&s, inv, bill, a, NULL, NULL, "k"), STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_subscribe(NULL, inv, bill, a, "basic", NULL, "k"), STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_subscribe(&s, inv, NULL, a, "basic", NULL, "k"), STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_subscription_get(&s, bill, a), STREAM_ENOTFOUND);
  ck_assert_uint_eq(invoice_count(a), 0);
  ck_assert_uint_eq(charges(NULL), 0);
  /* The key "k" was never recorded by those failures. */
  ck_assert_int_eq(stream_billing_subscribe(&s, inv, bill, a, "basic", NULL, "k"), STREAM_OK);

  /* Refunds: negative, too much, unknown invoice. */
  stream_billing_invoice v;
  ck_assert_int_eq(stream_billing_refund(&v, bill, inv, -1, "r"), STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_refund(&v, bill, inv, 1001, "r"), STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_refund(&v, bill, "nosuchinvoice", 1, "r"), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_billing_refund(&v, bill, inv, 1, "bad key"), STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_invoice_get(&v, bill, inv), STREAM_OK);
  ck_assert_int_eq(v.amount_refunded, 0);
  stream_billing_invoice_clear(&v);

  /* Options out of range. */
  stream_billing_options o = STREAM_BILLING_OPTIONS_INIT;
  stream_billing_provider prov;
  stream_billing_local_provider(&prov, local);
  o.store = store;
  o.provider = &prov;
  stream_billing *x = NULL;
  o.lease_ttl = 5;
  ck_assert_int_eq(stream_billing_new(&x, &o), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "lease_ttl"));
  o.lease_ttl = 90;
  o.dunning_retries = 11;
  ck_assert_int_eq(stream_billing_new(&x, &o), STREAM_EINVAL);
  o.dunning_retries = 3;
  o.dunning_span_days = 0;
  ck_assert_int_eq(stream_billing_new(&x, &o), STREAM_EINVAL);
  o.dunning_span_days = 7;
  o.provider = NULL;
  ck_assert_int_eq(stream_billing_new(&x, &o), STREAM_EINVAL);
  ck_assert_ptr_null(x);
  ck_assert_int_eq(stream_billing_books_check(NULL, bill, -1), STREAM_EINVAL);
}
END_TEST

/* ---- refunds -------------------------------------------------------------------------- */

START_TEST(test_refunds_partial_full_and_replay)
{
  paid_plans();
  char a[STREAM_STORE_ID_SIZE];
  new_account(a, "refund@example.com");
  stream_billing_card c;
  add_card(&c, a, "tok_4242424242424242", "card");
  stream_billing_subscription s;
  char inv[STREAM_BILLING_ID_SIZE];
  ck_assert_int_eq(stream_billing_subscribe(&s, inv, bill, a, "premium", NULL, "s"), STREAM_OK);
  stream_billing_invoice v, w;
  ck_assert_int_eq(stream_billing_refund(&v, bill, inv, 500, "r1"), STREAM_OK);
  ck_assert_int_eq(v.amount_refunded, 500);
  ck_assert_int_eq(v.amount_paid, 3100);
  ck_assert_int_eq(v.status, STREAM_BILLING_INVOICE_PAID);
  ck_assert_int_eq(stream_billing_refund(&w, bill, inv, 500, "r1"), STREAM_OK);
  ck_assert_int_eq(w.amount_refunded, 500);
  ck_assert_int_eq(stream_billing_refund(&w, bill, inv, 600, "r1"), STREAM_ECONFLICT);
  ck_assert_int_eq(stream_billing_refund(&w, bill, inv, 0, "r2"), STREAM_OK);
  ck_assert_int_eq(w.amount_refunded, 3100);
  ck_assert_int_eq(stream_billing_refund(&w, bill, inv, 0, "r3"), STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_refund(&w, bill, inv, 1, "r4"), STREAM_EINVAL);
  int64_t refunded = 0;
  ck_assert_int_eq(stream_billing_local_totals(local, NULL, NULL, &refunded), STREAM_OK);
  ck_assert_int_eq(refunded, 3100);
  /* The subscription is not changed by a refund. */
  ck_assert_int_eq(sub_of(a).status, STREAM_BILLING_ACTIVE);
  ck_assert_int_eq(stream_billing_invoice_get(&v, bill, inv), STREAM_OK);
  ck_assert_int_eq(v.amount_refunded, 3100);
  stream_billing_invoice_clear(&v);
}
END_TEST

/* ---- the books check catches corruption ----------------------------------------------- */

/* On the test's store in either backend (../store_raw.h). */
static void raw_exec(const char *sql)
{
  ck_assert_int_gt(test_store_raw_exec(dbpath, sql), 0);
}

/* A new local ledger (streamd restarted, streamctl) still charges methods and
 * refunds charges that an earlier ledger issued, with the same outcomes; it
 * refuses tokens and references it cannot have issued. */
START_TEST(test_local_provider_outlives_its_ledger)
{
  stream_billing_local *p1 = NULL, *p2 = NULL;
  ck_assert_int_eq(stream_billing_local_new(&p1), STREAM_OK);
  ck_assert_int_eq(stream_billing_local_new(&p2), STREAM_OK);
  stream_billing_provider v1, v2;
  ck_assert_int_eq(stream_billing_local_provider(&v1, p1), STREAM_OK);
  ck_assert_int_eq(stream_billing_local_provider(&v2, p2), STREAM_OK);
  stream_billing_card card;
  char ok_tok[128], dc_tok[128], f1_tok[128];
  ck_assert_int_eq(v1.tokenize(v1.userdata, &card, ok_tok, "tok_4242424242424242"), STREAM_OK);
  ck_assert_ptr_null(strstr(ok_tok, "4242424242424242"));
  ck_assert_int_eq(v1.tokenize(v1.userdata, &card, dc_tok, "tok_4000000000000002"), STREAM_OK);
  ck_assert_int_eq(v1.tokenize(v1.userdata, &card, f1_tok, "tok_4000000000000341"), STREAM_OK);
  stream_billing_provider_result r1, r2;
  ck_assert_int_eq(v1.charge(v1.userdata, &r1, ok_tok, 500, "USD", "k-1"), STREAM_OK);
  ck_assert_int_eq(r1.outcome, STREAM_BILLING_SUCCEEDED);
  ck_assert_int_eq(v1.charge(v1.userdata, &r2, f1_tok, 500, "USD", "k-f1"), STREAM_OK);
  ck_assert_int_eq(r2.outcome, STREAM_BILLING_SUCCEEDED);

  /* The second ledger knows none of these, yet answers as the first would. */
  ck_assert_int_eq(v2.charge(v2.userdata, &r2, ok_tok, 700, "USD", "k-2"), STREAM_OK);
  ck_assert_int_eq(r2.outcome, STREAM_BILLING_SUCCEEDED);
  ck_assert_str_ne(r2.reference, r1.reference); /* references unique across ledgers */
  ck_assert_int_eq(v2.charge(v2.userdata, &r2, dc_tok, 700, "USD", "k-3"), STREAM_OK);
  ck_assert_int_eq(r2.outcome, STREAM_BILLING_DECLINED);
  ck_assert_int_eq(v2.charge(v2.userdata, &r2, f1_tok, 700, "USD", "k-4"), STREAM_OK);
  ck_assert_int_eq(r2.outcome, STREAM_BILLING_DECLINED); /* its first charge is behind it */
  ck_assert_int_eq(v2.refund(v2.userdata, &r2, r1.reference, 200, "USD", "k-5"), STREAM_OK);
  ck_assert_int_eq(r2.outcome, STREAM_BILLING_SUCCEEDED);
  /* Not issued by any local ledger. */
  ck_assert_int_eq(v2.charge(v2.userdata, &r2, "pm_ok_nothex", 700, "USD", "k-6"), STREAM_OK);
  ck_assert_int_eq(r2.outcome, STREAM_BILLING_DECLINED);
  ck_assert_int_eq(v2.refund(v2.userdata, &r2, "ch_elsewhere_1", 100, "USD", "k-7"), STREAM_OK);
  ck_assert_int_eq(r2.outcome, STREAM_BILLING_DECLINED);
  size_t n = 0;
  int64_t charged = 0, refunded = 0;
  ck_assert_int_eq(stream_billing_local_totals(p2, &n, &charged, &refunded), STREAM_OK);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(charged, 700);
  ck_assert_int_eq(refunded, 200);
  stream_billing_local_free(p1);
  stream_billing_local_free(p2);
}
END_TEST

/* ---- text the store keeps is UTF-8 ----------------------------------------------------- */

/* A provider that answers as the local one, then spoils its text with bytes that are not
 * UTF-8: a card brand (when bad_card), a charge's reference (a character cut short) and
 * message. */
typedef struct spoiler {
  stream_billing_provider inner;
  int bad_card;
} spoiler;

static int sp_tokenize(void *ud, stream_billing_card *out, char *token, const char *client)
{
  spoiler *sp = ud;
  int rc = sp->inner.tokenize(sp->inner.userdata, out, token, client);
  if (rc == STREAM_OK && sp->bad_card)
    snprintf(out->brand, sizeof out->brand, "vi\xffsa");
  return rc;
}

static int sp_charge(void *ud, stream_billing_provider_result *out, const char *method,
                     int64_t amount, const char *currency, const char *key)
{
  spoiler *sp = ud;
  int rc = sp->inner.charge(sp->inner.userdata, out, method, amount, currency, key);
  size_t n = strlen(out->reference), m = strlen(out->message);
  if (rc == STREAM_OK && n + 3 <= sizeof out->reference && m + 2 <= sizeof out->message) {
    memcpy(out->reference + n, "\xe6\x97", 3);
    memcpy(out->message + m, "\xff", 2);
  }
  return rc;
}

static int sp_refund(void *ud, stream_billing_provider_result *out, const char *reference,
                     int64_t amount, const char *currency, const char *key)
{
  spoiler *sp = ud;
  return sp->inner.refund(sp->inner.userdata, out, reference, amount, currency, key);
}

/* PostgreSQL refuses text that is not UTF-8 where SQLite keeps it: billing refuses plan names
 * and card answers that are not (nothing stored yet), and keeps a charge's outcome (money
 * moved) with '?' for each bad byte of the provider's reference and message, the same on both
 * backends. */
START_TEST(test_text_not_utf8)
{
  paid_plans();
  stream_billing_plan p, got;
  ck_assert_int_eq(stream_billing_plan_get(&p, bill, "basic"), STREAM_OK);
  memcpy(p.id, "family", 7);
  snprintf(p.name, sizeof p.name, "Famille \xc3");
  ck_assert_int_eq(stream_billing_plan_put(bill, &p), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "plan name is not valid UTF-8"));
  ck_assert_int_eq(stream_billing_plan_get(&got, bill, "family"), STREAM_ENOTFOUND);
  snprintf(p.name, sizeof p.name, "Famille \xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\xac");
  ck_assert_int_eq(stream_billing_plan_put(bill, &p), STREAM_OK);
  ck_assert_int_eq(stream_billing_plan_get(&got, bill, "family"), STREAM_OK);
  ck_assert_str_eq(got.name, p.name);

  spoiler sp;
  memset(&sp, 0, sizeof sp);
  ck_assert_int_eq(stream_billing_local_provider(&sp.inner, local), STREAM_OK);
  sp.bad_card = 1;
  stream_billing_provider prov = {"spoiler", sp_tokenize, sp_charge, sp_refund, &sp};
  stream_billing *b2 = open_billing(&prov);
  char a[STREAM_STORE_ID_SIZE];
  new_account(a, "utf8@example.com");
  stream_billing_card c;
  ck_assert_int_eq(stream_billing_card_add(&c, b2, a, "tok_4242424242424242", "c1"), STREAM_EIO);
  ck_assert_ptr_nonnull(strstr(msg(), "not valid UTF-8"));
  stream_billing_card *cards = NULL;
  size_t n = 9;
  ck_assert_int_eq(stream_billing_card_list(&cards, &n, b2, a), STREAM_OK);
  ck_assert_uint_eq(n, 0);
  stream_free(cards);
  sp.bad_card = 0;
  /* Declined: the decline's message is kept (and shown) with '?'. */
  stream_billing_card declined;
  ck_assert_int_eq(stream_billing_card_add(&declined, b2, a, "tok_4000000000000002", "c2"),
                   STREAM_OK);
  stream_billing_subscription sub;
  ck_assert_int_eq(stream_billing_subscribe(&sub, NULL, b2, a, "basic", declined.id, "s1"),
                   STREAM_EPAYMENT);
  ck_assert_ptr_nonnull(strstr(msg(), "card declined?"));
  char text[300];
  test_store_raw_text(text, sizeof text, dbpath,
                      "SELECT message FROM payments WHERE account_id = ? AND status = 2", a);
  ck_assert_str_eq(text, "card declined?");
  /* Succeeded: the reference is kept with '?' for the character cut short. */
  ck_assert_int_eq(stream_billing_card_add(&c, b2, a, "tok_4242424242424242", "c3"), STREAM_OK);
  ck_assert_msg(stream_billing_subscribe(&sub, NULL, b2, a, "basic", c.id, "s2") == STREAM_OK, "%s",
                msg());
  ck_assert_int_eq(sub.status, STREAM_BILLING_ACTIVE);
  test_store_raw_text(text, sizeof text, dbpath,
                      "SELECT reference FROM payments WHERE account_id = ? AND status = 1", a);
  size_t rl = strlen(text);
  ck_assert_uint_gt(rl, 2);
  ck_assert_str_eq(text + rl - 2, "??");
  stream_billing_free(b2);
}
END_TEST

START_TEST(test_books_check_catches_a_corrupted_row)
{
  paid_plans();
  char a[STREAM_STORE_ID_SIZE];
  subscribe_paid(a, "books@example.com", "basic");
  size_t n = 0;
  ck_assert_int_eq(stream_billing_books_check(&n, bill, 0), STREAM_OK);
  ck_assert_uint_eq(n, 1);
  raw_exec("UPDATE invoice_lines SET amount = amount + 1");
  ck_assert_int_eq(stream_billing_books_check(&n, bill, 0), STREAM_EINTERNAL);
  ck_assert_ptr_nonnull(strstr(msg(), "sum of its lines"));
  raw_exec("UPDATE invoice_lines SET amount = amount - 1");
  ck_assert_int_eq(stream_billing_books_check(&n, bill, 0), STREAM_OK);
  raw_exec("UPDATE payments SET amount = amount - 1");
  ck_assert_int_eq(stream_billing_books_check(&n, bill, 0), STREAM_EINTERNAL);
  ck_assert_ptr_nonnull(strstr(msg(), "succeeded payments"));
  raw_exec("UPDATE payments SET amount = amount + 1");
  books_ok();
}
END_TEST

static Suite *billing_suite(void)
{
  Suite *s = suite_create("billing");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_plans_seed_put_get_list);
  tcase_add_test(tc, test_cards_tokens_defaults_and_removal);
  tcase_add_test(tc, test_proration_edges);
  tcase_add_test(tc, test_upgrade_then_downgrade_and_downgrade_then_upgrade);
  tcase_add_test(tc, test_change_plan_during_trial_and_refusals);
  tcase_add_test(tc, test_upgrade_to_a_yearly_plan_restarts_the_cycle);
  tcase_add_test(tc, test_upgrade_to_a_yearly_plan_declined_changes_nothing);
  tcase_add_test(tc, test_idempotency_replay_conflict_and_malformed_keys);
  tcase_add_test(tc, test_eight_threads_subscribe_once_and_upgrade_once);
  tcase_add_test(tc, test_bad_input_changes_nothing);
  tcase_add_test(tc, test_refunds_partial_full_and_replay);
  tcase_add_test(tc, test_books_check_catches_a_corrupted_row);
  tcase_add_test(tc, test_local_provider_outlives_its_ledger);
  tcase_add_test(tc, test_text_not_utf8);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(billing_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
