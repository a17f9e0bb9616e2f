/* Unit tests of the billing service over simulated time: trials, renewals,
 * dunning and expiry, recovery, cancellation at period end, catching up on
 * missed periods, and a crash between the payment phases settled by the
 * renewal job without a second charge. Same fixture as test_billing.c; the
 * plan changes whose payment is left pending are in test_billing_upgrades.c. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing_fixture.h"

/* ---- lifecycle over simulated time ---------------------------------------------------- */

START_TEST(test_lifecycle_trial_renewals_dunning_expiry)
{
  size_t n;
  ck_assert_int_eq(stream_billing_plans_seed(&n, bill), STREAM_OK);
  char acct[STREAM_STORE_ID_SIZE];
  new_account(acct, "life@example.com");
  stream_billing_card good, bad;
  add_card(&good, acct, "tok_4242424242424242", "c-good");
  stream_billing_subscription s;
  char inv[STREAM_BILLING_ID_SIZE] = "x";
  ck_assert_int_eq(stream_billing_subscribe(&s, inv, bill, acct, "standard", NULL, "s1"),
                   STREAM_OK);
  ck_assert_int_eq(s.status, STREAM_BILLING_TRIALING);
  ck_assert_str_eq(inv, "");
  ck_assert_int_eq(s.trial_end, JAN31 + 7 * DAY);
  ck_assert_int_eq(s.period_end, JAN31 + 7 * DAY);
  ck_assert_uint_eq(charges(NULL), 0);

  /* Nothing due yet. */
  clock_now = JAN31 + 7 * DAY - 1;
  stream_billing_run_report r = run();
  ck_assert_uint_eq(r.trials_converted + r.renewed + r.failed, 0);

  /* Trial ends: first charge; the periods are anchored on the trial end. */
  int64_t t = JAN31 + 7 * DAY; /* 2026-02-07 */
  clock_now = t;
  r = run();
  ck_assert_uint_eq(r.trials_converted, 1);
  s = sub_of(acct);
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
  ck_assert_int_eq(s.period_start, t);
  ck_assert_int_eq(s.period_end, t + 28 * DAY); /* 2026-03-07 */
  int64_t sum = 0;
  ck_assert_uint_eq(charges(&sum), 1);
  ck_assert_int_eq(sum, 1549);

  /* Three renewals, one run each; a repeated run bills nothing more. */
  for (int i = 0; i < 3; i++) {
    clock_now = s.period_end;
    r = run();
    ck_assert_uint_eq(r.renewed, 1);
    r = run();
    ck_assert_uint_eq(r.renewed, 0);
    stream_billing_subscription next = sub_of(acct);
    ck_assert_int_eq(next.period_start, s.period_end);
    s = next;
  }
  ck_assert_uint_eq(charges(&sum), 4);
  ck_assert_int_eq(sum, 4 * 1549);
  ck_assert_uint_eq(invoice_count(acct), 4);

  /* The card is replaced by one that declines: the next renewal fails. */
  add_card(&bad, acct, "tok_4000000000000002", "c-bad");
  ck_assert_int_eq(stream_billing_card_set_default(bill, acct, bad.id), STREAM_OK);
  ck_assert_int_eq(stream_billing_card_remove(bill, acct, good.id), STREAM_OK);
  int64_t due = s.period_end;
  clock_now = due;
  r = run();
  ck_assert_uint_eq(r.failed, 1);
  s = sub_of(acct);
  ck_assert_int_eq(s.status, STREAM_BILLING_PAST_DUE);
  ck_assert_int_eq(s.failed_attempts, 1);
  /* 3 retries spread over 7 days: every 7/4 days, expiry at day 7. */
  int64_t step = 7 * DAY / 4;
  ck_assert_int_eq(s.next_attempt_at, due + step);
  stream_billing_invoice *list = NULL;
  ck_assert_int_eq(stream_billing_invoice_list(&list, &n, bill, acct), STREAM_OK);
  ck_assert_int_eq(list[0].status, STREAM_BILLING_INVOICE_OPEN);
  ck_assert_int_eq(list[0].amount_due, 1549);
  char open_id[STREAM_BILLING_ID_SIZE];
  memcpy(open_id, list[0].id, sizeof open_id);
  stream_free(list);

  for (int k = 1; k <= 3; k++) {
    clock_now = due + k * step - 1;
    r = run();
    ck_assert_uint_eq(r.retried, 0);
    clock_now = due + k * step;
    r = run();
    ck_assert_uint_eq(r.retried, 1);
    s = sub_of(acct);
    ck_assert_int_eq(s.status, STREAM_BILLING_PAST_DUE);
    ck_assert_int_eq(s.failed_attempts, k + 1);
  }
  ck_assert_int_eq(s.next_attempt_at, due + 7 * DAY);
  clock_now = due + 7 * DAY;
  r = run();
  ck_assert_uint_eq(r.expired, 1);
  s = sub_of(acct);
  ck_assert_int_eq(s.status, STREAM_BILLING_EXPIRED);
  ck_assert_int_eq(s.ended_at, due + 7 * DAY);
  stream_billing_invoice v;
  ck_assert_int_eq(stream_billing_invoice_get(&v, bill, open_id), STREAM_OK);
  ck_assert_int_eq(v.status, STREAM_BILLING_INVOICE_UNCOLLECTIBLE);
  ck_assert_int_eq(v.amount_due, 0);
  ck_assert_uint_eq(v.line_count, 1);
  stream_billing_invoice_clear(&v);
  ck_assert_uint_eq(charges(NULL), 4);

  /* Nothing more happens to an expired subscription; a new one has no trial. */
  clock_now += 40 * DAY;
  r = run();
  ck_assert_uint_eq(r.renewed + r.failed + r.retried + r.expired, 0);
  stream_billing_card ok2;
  add_card(&ok2, acct, "tok_5555555555554444", "c-ok2");
  ck_assert_int_eq(stream_billing_card_set_default(bill, acct, ok2.id), STREAM_OK);
  ck_assert_int_eq(stream_billing_subscribe(&s, inv, bill, acct, "basic", NULL, "s2"), STREAM_OK);
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
  ck_assert_str_ne(inv, "");
  ck_assert_uint_eq(charges(NULL), 5);
}
END_TEST

START_TEST(test_dunning_recovers_on_a_later_retry)
{
  paid_plans();
  char acct[STREAM_STORE_ID_SIZE];
  new_account(acct, "recover@example.com");
  stream_billing_card c, good;
  add_card(&c, acct, "tok_4000000000000341", "c1"); /* first charge succeeds, later decline */
  stream_billing_subscription s;
  ck_assert_int_eq(stream_billing_subscribe(&s, NULL, bill, acct, "standard", NULL, "s1"),
                   STREAM_OK);
  ck_assert_int_eq(s.period_end, FEB28);
  clock_now = FEB28;
  stream_billing_run_report r = run();
  ck_assert_uint_eq(r.failed, 1);
  ck_assert_int_eq(sub_of(acct).status, STREAM_BILLING_PAST_DUE);
  /* Still entitled while past due; a plan change waits for the debt. */
  ck_assert_int_eq(stream_billing_change_plan(&s, NULL, bill, acct, "premium", "up"),
                   STREAM_ECONFLICT);
  clock_now = FEB28 + 7 * DAY / 4;
  r = run();
  ck_assert_uint_eq(r.retried, 1);
  ck_assert_int_eq(sub_of(acct).failed_attempts, 2);
  /* The subscriber fixes the card; the next retry pays the same invoice. */
  add_card(&good, acct, "tok_4242424242424242", "c2");
  ck_assert_int_eq(stream_billing_card_set_default(bill, acct, good.id), STREAM_OK);
  ck_assert_int_eq(stream_billing_card_remove(bill, acct, c.id), STREAM_OK);
  clock_now = FEB28 + 2 * (7 * DAY / 4);
  r = run();
  ck_assert_uint_eq(r.retried, 1);
  ck_assert_uint_eq(r.renewed, 1);
  s = sub_of(acct);
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
  ck_assert_int_eq(s.failed_attempts, 0);
  ck_assert_int_eq(s.next_attempt_at, 0);
  /* The period is the one that was due, anchored on Jan 31. */
  ck_assert_int_eq(s.period_start, FEB28);
  ck_assert_int_eq(s.period_end, MAR31);
  ck_assert_uint_eq(invoice_count(acct), 2);
  int64_t sum = 0;
  ck_assert_uint_eq(charges(&sum), 2);
  ck_assert_int_eq(sum, 4000);
  clock_now = MAR31;
  r = run();
  ck_assert_uint_eq(r.renewed, 1);
  ck_assert_int_eq(sub_of(acct).period_end, APR30);
}
END_TEST

START_TEST(test_first_charge_declined_leaves_void_invoice_and_no_subscription)
{
  paid_plans();
  char acct[STREAM_STORE_ID_SIZE];
  new_account(acct, "declined@example.com");
  stream_billing_card c;
  add_card(&c, acct, "tok_4000000000009995", "c1");
  stream_billing_subscription s;
  char inv[STREAM_BILLING_ID_SIZE];
  ck_assert_int_eq(stream_billing_subscribe(&s, inv, bill, acct, "basic", NULL, "s1"),
                   STREAM_EPAYMENT);
  ck_assert_ptr_nonnull(strstr(msg(), "insufficient funds"));
  ck_assert_int_eq(stream_billing_subscription_get(&s, bill, acct), STREAM_ENOTFOUND);
  stream_billing_invoice v;
  ck_assert_int_eq(stream_billing_invoice_get(&v, bill, inv), STREAM_OK);
  ck_assert_int_eq(v.status, STREAM_BILLING_INVOICE_VOID);
  ck_assert_int_eq(v.amount_due, 0);
  ck_assert_int_eq(v.total, 1000);
  stream_billing_invoice_clear(&v);
  /* The decline is the recorded outcome of the key: replayed, not retried. */
  char inv2[STREAM_BILLING_ID_SIZE];
  ck_assert_int_eq(stream_billing_subscribe(&s, inv2, bill, acct, "basic", NULL, "s1"),
                   STREAM_EPAYMENT);
  ck_assert_ptr_nonnull(strstr(msg(), "insufficient funds"));
  ck_assert_str_eq(inv2, inv);
  ck_assert_uint_eq(invoice_count(acct), 1);
  /* A processing error is a failure too. */
  stream_billing_card f;
  add_card(&f, acct, "tok_4000000000000119", "c2");
  ck_assert_int_eq(stream_billing_subscribe(&s, NULL, bill, acct, "basic", f.id, "s2"),
                   STREAM_EPAYMENT);
  ck_assert_ptr_nonnull(strstr(msg(), "processing error"));
  /* With a new key and a good card it goes through. */
  stream_billing_card g;
  add_card(&g, acct, "tok_4242424242424242", "c3");
  ck_assert_int_eq(stream_billing_subscribe(&s, inv, bill, acct, "basic", g.id, "s3"), STREAM_OK);
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
  ck_assert_str_eq(s.card_id, g.id);
  ck_assert_uint_eq(charges(NULL), 1);
  ck_assert_uint_eq(invoice_count(acct), 3);
}
END_TEST

/* ---- cancel / resume ------------------------------------------------------------------ */

START_TEST(test_cancel_resume_and_end_at_period_end)
{
  paid_plans();
  char a[STREAM_STORE_ID_SIZE];
  subscribe_paid(a, "cancel@example.com", "standard");
  stream_billing_subscription s;
  ck_assert_int_eq(stream_billing_resume(&s, bill, a, "r0"), STREAM_ECONFLICT);
  ck_assert_int_eq(stream_billing_cancel(&s, bill, a, "c1"), STREAM_OK);
  ck_assert_int_eq(s.cancel_at_period_end, 1);
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
  ck_assert_int_eq(stream_billing_resume(&s, bill, a, "r1"), STREAM_OK);
  ck_assert_int_eq(s.cancel_at_period_end, 0);
  /* Replays answer what the first call answered. */
  ck_assert_int_eq(stream_billing_cancel(&s, bill, a, "c1"), STREAM_OK);
  ck_assert_int_eq(s.cancel_at_period_end, 1);
  ck_assert_int_eq(sub_of(a).cancel_at_period_end, 0);
  ck_assert_int_eq(stream_billing_cancel(&s, bill, a, "c2"), STREAM_OK);
  clock_now = FEB28 - 1;
  stream_billing_run_report r = run();
  ck_assert_uint_eq(r.canceled, 0);
  clock_now = FEB28 + 3600;
  r = run();
  ck_assert_uint_eq(r.canceled, 1);
  ck_assert_uint_eq(r.renewed, 0);
  s = sub_of(a);
  ck_assert_int_eq(s.status, STREAM_BILLING_CANCELED);
  ck_assert_int_eq(s.ended_at, FEB28);
  ck_assert_int_eq(stream_billing_resume(&s, bill, a, "r2"), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_billing_cancel(&s, bill, a, "c3"), STREAM_ENOTFOUND);
  ck_assert_uint_eq(charges(NULL), 1);

  stream_billing_subscription *list = NULL;
  size_t n = 0;
  stream_billing_subscription_query q = {STREAM_BILLING_CANCELED, NULL, 10};
  ck_assert_int_eq(stream_billing_subscription_list(&list, &n, bill, &q), STREAM_OK);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(list[0].account_id, a);
  stream_free(list);
  q.status = STREAM_BILLING_ACTIVE;
  ck_assert_int_eq(stream_billing_subscription_list(&list, &n, bill, &q), STREAM_OK);
  ck_assert_uint_eq(n, 0);
  stream_free(list);
  q.limit = 0;
  ck_assert_int_eq(stream_billing_subscription_list(&list, &n, bill, &q), STREAM_EINVAL);
}
END_TEST

/* ---- crash between the phases --------------------------------------------------------- */

START_TEST(test_crash_between_phases_is_settled_without_a_second_charge)
{
  paid_plans();
  char a[STREAM_STORE_ID_SIZE];
  new_account(a, "crash@example.com");
  stream_billing_card c;
  add_card(&c, a, "tok_4242424242424242", "card");
  stream_billing_provider lossy;
  ck_assert_int_eq(stream_billing_local_provider(&lossy, local), STREAM_OK);
  lossy.charge = lost_answer_charge;
  stream_billing_free(bill);
  bill = open_billing(&lossy);
  stream_billing_subscription s;
  char inv[STREAM_BILLING_ID_SIZE];
  ck_assert_int_eq(stream_billing_subscribe(&s, inv, bill, a, "standard", NULL, "s1"),
                   STREAM_EPAYMENT);
  ck_assert_ptr_nonnull(strstr(msg(), "pending"));
  ck_assert_uint_eq(charges(NULL), 1); /* the money moved */
  ck_assert_int_eq(stream_billing_subscription_get(&s, bill, a), STREAM_ENOTFOUND);
  ck_assert_str_ne(inv, ""); /* the invoice exists, its payment pending */
  /* The request is in flight: its key answers "in progress". */
  ck_assert_int_eq(stream_billing_subscribe(&s, NULL, bill, a, "standard", NULL, "s1"),
                   STREAM_ECONFLICT);
  /* No second charge can start while it is pending. */
  ck_assert_int_eq(stream_billing_subscribe(&s, NULL, bill, a, "standard", NULL, "s2"),
                   STREAM_EBUSY);
  /* The books allow a young pending payment, not an old one. */
  ck_assert_int_eq(stream_billing_books_check(NULL, bill, 3600), STREAM_OK);
  clock_now += 3600;
  ck_assert_int_eq(stream_billing_books_check(NULL, bill, 60), STREAM_EINTERNAL);
  ck_assert_ptr_nonnull(strstr(msg(), "pending"));

  /* "Restart": close everything, reopen the store with a working provider. */
  stream_billing_free(bill);
  stream_store_close(store);
  open_store();
  stream_billing_provider prov;
  ck_assert_int_eq(stream_billing_local_provider(&prov, local), STREAM_OK);
  bill = open_billing(&prov);
  stream_billing_run_report r = run();
  ck_assert_uint_eq(r.settled, 1);
  ck_assert_uint_eq(charges(NULL), 1);
  s = sub_of(a);
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
  ck_assert_str_eq(s.plan_id, "standard");
  /* The key now replays the settled outcome. */
  stream_billing_subscription s2;
  char inv2[STREAM_BILLING_ID_SIZE];
  ck_assert_int_eq(stream_billing_subscribe(&s2, inv2, bill, a, "standard", NULL, "s1"), STREAM_OK);
  ck_assert_str_eq(s2.id, s.id);
  ck_assert_str_eq(inv2, inv);
  stream_billing_invoice v;
  ck_assert_int_eq(stream_billing_invoice_get(&v, bill, inv), STREAM_OK);
  ck_assert_int_eq(v.status, STREAM_BILLING_INVOICE_PAID);
  stream_billing_invoice_clear(&v);
  r = run();
  ck_assert_uint_eq(r.settled, 0);
}
END_TEST

/* ---- catching up, price changes, cancel while past due, listing ----------------------- */

START_TEST(test_missed_periods_are_billed_one_by_one_at_the_current_price)
{
  paid_plans();
  char a[STREAM_STORE_ID_SIZE];
  subscribe_paid(a, "late@example.com", "basic");
  /* The operator raises the price; the subscription keeps its plan and
   * pays the new price from its next renewal. */
  put_plan("basic", "Basic", 1200, 0, 1);
  /* The job did not run for three periods. */
  clock_now = APR30 + 3600;
  stream_billing_run_report r = run();
  ck_assert_uint_eq(r.renewed, 3);
  stream_billing_subscription s = sub_of(a);
  ck_assert_int_eq(s.period_start, APR30);
  ck_assert_int_eq(s.period_end, 1780185600LL); /* 2026-05-31: the anchor day is back */
  int64_t sum = 0;
  ck_assert_uint_eq(charges(&sum), 4);
  ck_assert_int_eq(sum, 1000 + 3 * 1200);
  stream_billing_invoice *list = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_billing_invoice_list(&list, &n, bill, a), STREAM_OK);
  ck_assert_uint_eq(n, 4);
  ck_assert_int_eq(list[0].total, 1200);
  ck_assert_int_eq(list[3].total, 1000);
  stream_free(list);
  /* A second run at the same time finds nothing to do. */
  r = run();
  ck_assert_uint_eq(r.renewed, 0);
  ck_assert_uint_eq(charges(NULL), 4);
}
END_TEST

START_TEST(test_cancel_while_past_due_ends_now_and_voids_the_debt)
{
  paid_plans();
  char a[STREAM_STORE_ID_SIZE];
  new_account(a, "pastdue@example.com");
  stream_billing_card c;
  add_card(&c, a, "tok_4000000000000341", "card");
  stream_billing_subscription s;
  ck_assert_int_eq(stream_billing_subscribe(&s, NULL, bill, a, "basic", NULL, "s"), STREAM_OK);
  clock_now = FEB28;
  run();
  s = sub_of(a);
  ck_assert_int_eq(s.status, STREAM_BILLING_PAST_DUE);
  clock_now = FEB28 + DAY;
  ck_assert_int_eq(stream_billing_cancel(&s, bill, a, "c"), STREAM_OK);
  ck_assert_int_eq(s.status, STREAM_BILLING_CANCELED);
  ck_assert_int_eq(s.ended_at, FEB28 + DAY);
  stream_billing_invoice *list = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_billing_invoice_list(&list, &n, bill, a), STREAM_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert_int_eq(list[0].status, STREAM_BILLING_INVOICE_VOID);
  ck_assert_int_eq(list[0].amount_due, 0);
  stream_free(list);
  clock_now = FEB28 + 30 * DAY;
  stream_billing_run_report r = run();
  ck_assert_uint_eq(r.retried + r.expired + r.renewed, 0);
}
END_TEST

START_TEST(test_subscription_list_pages_by_id)
{
  paid_plans();
  char ids[5][STREAM_STORE_ID_SIZE];
  for (int i = 0; i < 5; i++) {
    char email[64];
    snprintf(email, sizeof email, "page%d@example.com", i);
    subscribe_paid(ids[i], email, "basic");
  }
  stream_billing_subscription_query q = {-1, NULL, 2};
  char last[STREAM_BILLING_ID_SIZE] = "";
  size_t seen = 0;
  for (int page = 0; page < 4; page++) {
    stream_billing_subscription *list = NULL;
    size_t n = 0;
    q.after_id = last;
    ck_assert_int_eq(stream_billing_subscription_list(&list, &n, bill, &q), STREAM_OK);
    for (size_t i = 0; i < n; i++) {
      ck_assert_str_gt(list[i].id, last);
      memcpy(last, list[i].id, sizeof last);
    }
    seen += n;
    stream_free(list);
  }
  ck_assert_uint_eq(seen, 5);
  stream_billing_subscription *list = NULL;
  size_t n = 0;
  q.after_id = "bad id";
  ck_assert_int_eq(stream_billing_subscription_list(&list, &n, bill, &q), STREAM_EINVAL);
  q.after_id = NULL;
  q.status = 7;
  ck_assert_int_eq(stream_billing_subscription_list(&list, &n, bill, &q), STREAM_EINVAL);
}
END_TEST

/* ---- two renewal jobs at once --------------------------------------------------------- */

static void *job_main(void *arg)
{
  stream_billing_run_report r;
  /* Conflicts between the two jobs are skipped, never errors. */
  intptr_t rc = stream_billing_run_renewals(&r, arg);
  return (void *)rc;
}

START_TEST(test_two_renewal_jobs_at_once_bill_each_period_once)
{
  paid_plans();
  char ids[6][STREAM_STORE_ID_SIZE];
  for (int i = 0; i < 6; i++) {
    char email[64];
    snprintf(email, sizeof email, "job%d@example.com", i);
    subscribe_paid(ids[i], email, i % 2 ? "basic" : "premium");
  }
  /* Two handles: two processes as far as the in-process locks go. */
  stream_billing_provider prov;
  ck_assert_int_eq(stream_billing_local_provider(&prov, local), STREAM_OK);
  stream_billing *other = open_billing(&prov);
  clock_now = MAR31; /* two periods due each */
  pthread_t t1, t2;
  ck_assert_int_eq(pthread_create(&t1, NULL, job_main, bill), 0);
  ck_assert_int_eq(pthread_create(&t2, NULL, job_main, other), 0);
  void *r1, *r2;
  pthread_join(t1, &r1);
  pthread_join(t2, &r2);
  ck_assert_int_eq((int)(intptr_t)r1, STREAM_OK);
  ck_assert_int_eq((int)(intptr_t)r2, STREAM_OK);
  run(); /* whatever a conflict left for later */
  int64_t sum = 0;
  ck_assert_uint_eq(charges(&sum), 6 * 3);
  ck_assert_int_eq(sum, 3 * (3 * 1000 + 3 * 3100));
  for (int i = 0; i < 6; i++) {
    ck_assert_int_eq(sub_of(ids[i]).period_end, APR30);
    ck_assert_uint_eq(invoice_count(ids[i]), 3);
  }
  stream_billing_free(other);
}
END_TEST

static Suite *billing_suite(void)
{
  Suite *s = suite_create("billing-renewals");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_lifecycle_trial_renewals_dunning_expiry);
  tcase_add_test(tc, test_dunning_recovers_on_a_later_retry);
  tcase_add_test(tc, test_first_charge_declined_leaves_void_invoice_and_no_subscription);
  tcase_add_test(tc, test_cancel_resume_and_end_at_period_end);
  tcase_add_test(tc, test_crash_between_phases_is_settled_without_a_second_charge);
  tcase_add_test(tc, test_missed_periods_are_billed_one_by_one_at_the_current_price);
  tcase_add_test(tc, test_cancel_while_past_due_ends_now_and_voids_the_debt);
  tcase_add_test(tc, test_subscription_list_pages_by_id);
  tcase_add_test(tc, test_two_renewal_jobs_at_once_bill_each_period_once);
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
