/* Unit tests of billing around account deletion (stream_store_account_close,
 * which stream_auth_account_delete calls): the live subscription ends at once
 * and the renewal job never bills it again, its dunning invoice becomes void,
 * the financial records stay readable, and a payment in flight blocks the
 * close until it settled. Same fixture as test_billing.c (real SQLite store,
 * local provider, simulated time; the books are checked after every test). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "billing_fixture.h"

static stream_store_account_close_counts close_ok(const char *acct)
{
  stream_store_account_close_counts c;
  ck_assert_msg(stream_store_account_close(&c, store, acct, clock_now) == STREAM_OK, "%s", msg());
  return c;
}

START_TEST(test_deleted_active_subscription_is_never_renewed)
{
  paid_plans();
  char a[STREAM_STORE_ID_SIZE], b[STREAM_STORE_ID_SIZE];
  subscribe_paid(a, "gone@example.com", "standard");
  subscribe_paid(b, "stays@example.com", "standard");
  ck_assert_uint_eq(charges(NULL), 2);
  stream_billing_invoice *list = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_billing_invoice_list(&list, &n, bill, a), STREAM_OK);
  ck_assert_uint_eq(n, 1);
  char first[STREAM_BILLING_ID_SIZE];
  memcpy(first, list[0].id, sizeof first);
  stream_free(list);

  clock_now = JAN31 + 10 * DAY;
  stream_store_account_close_counts c = close_ok(a);
  ck_assert_uint_eq(c.subscriptions, 1);
  ck_assert_uint_eq(c.cards, 1);
  ck_assert_uint_eq(c.invoices_voided, 0);
  stream_billing_subscription s = sub_of(a);
  ck_assert_int_eq(s.status, STREAM_BILLING_CANCELED);
  ck_assert_int_eq(s.ended_at, JAN31 + 10 * DAY);
  ck_assert_int_eq(s.cancel_at_period_end, 0);

  /* Period ends, and several more: the other account renews, this one never. */
  int64_t sum_before = 0;
  ck_assert_uint_eq(charges(&sum_before), 2);
  clock_now = FEB28;
  stream_billing_run_report r = run();
  ck_assert_uint_eq(r.renewed, 1);
  ck_assert_uint_eq(r.failed + r.retried + r.canceled, 0);
  clock_now = APR30 + DAY;
  r = run();
  ck_assert_uint_eq(r.failed + r.retried + r.expired, 0);
  ck_assert_uint_eq(invoice_count(a), 1);
  ck_assert_uint_eq(invoice_count(b), 4);
  ck_assert_uint_eq(charges(NULL), 5); /* 2 first charges + b's 3 renewals */

  /* The financial record of the deleted account stays readable. */
  stream_billing_invoice v;
  ck_assert_int_eq(stream_billing_invoice_get(&v, bill, first), STREAM_OK);
  ck_assert_str_eq(v.account_id, a);
  ck_assert_int_eq(v.status, STREAM_BILLING_INVOICE_PAID);
  ck_assert_int_gt(v.amount_paid, 0);
  stream_billing_invoice_clear(&v);
  s = sub_of(a);
  ck_assert_int_eq(s.status, STREAM_BILLING_CANCELED);

  /* A deleted account cannot subscribe again or store a card. */
  stream_billing_card card;
  ck_assert_int_eq(stream_billing_card_add(&card, bill, a, "tok_4242424242424242", "again"),
                   STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_billing_subscribe(&s, NULL, bill, a, "basic", NULL, "again"),
                   STREAM_ENOTFOUND);
  /* Closing twice never makes a second tombstone. */
  ck_assert_int_eq(stream_store_account_close(&c, store, a, clock_now), STREAM_ENOTFOUND);
  ck_assert_uint_eq(c.subscriptions, 0);
}
END_TEST

START_TEST(test_deleted_trial_never_converts)
{
  size_t n;
  ck_assert_int_eq(stream_billing_plans_seed(&n, bill), STREAM_OK);
  char a[STREAM_STORE_ID_SIZE];
  new_account(a, "trial@example.com");
  stream_billing_card card;
  add_card(&card, a, "tok_4242424242424242", "card");
  stream_billing_subscription s;
  ck_assert_int_eq(stream_billing_subscribe(&s, NULL, bill, a, "standard", NULL, "s"), STREAM_OK);
  ck_assert_int_eq(s.status, STREAM_BILLING_TRIALING);
  clock_now = JAN31 + DAY;
  close_ok(a);
  clock_now = JAN31 + 60 * DAY;
  stream_billing_run_report r = run();
  ck_assert_uint_eq(r.trials_converted + r.renewed + r.failed, 0);
  ck_assert_uint_eq(invoice_count(a), 0);
  ck_assert_uint_eq(charges(NULL), 0);
}
END_TEST

START_TEST(test_deleted_past_due_voids_the_open_invoice)
{
  paid_plans();
  char a[STREAM_STORE_ID_SIZE];
  new_account(a, "pastdue@example.com");
  stream_billing_card c;
  add_card(&c, a, "tok_4000000000000341", "card"); /* first charge ok, renewals decline */
  stream_billing_subscription s;
  ck_assert_int_eq(stream_billing_subscribe(&s, NULL, bill, a, "basic", NULL, "s"), STREAM_OK);
  clock_now = FEB28;
  run();
  s = sub_of(a);
  ck_assert_int_eq(s.status, STREAM_BILLING_PAST_DUE);
  clock_now = FEB28 + DAY;
  stream_store_account_close_counts k = close_ok(a);
  ck_assert_uint_eq(k.subscriptions, 1);
  ck_assert_uint_eq(k.invoices_voided, 1);
  stream_billing_invoice *list = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_billing_invoice_list(&list, &n, bill, a), STREAM_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert_int_eq(list[0].status, STREAM_BILLING_INVOICE_VOID);
  ck_assert_int_eq(list[0].amount_due, 0);
  ck_assert_int_eq(list[1].status, STREAM_BILLING_INVOICE_PAID);
  stream_free(list);
  clock_now = FEB28 + 30 * DAY;
  stream_billing_run_report r = run();
  ck_assert_uint_eq(r.retried + r.expired + r.renewed + r.failed, 0);
  ck_assert_int_eq(sub_of(a).status, STREAM_BILLING_CANCELED);
}
END_TEST

START_TEST(test_payment_in_flight_blocks_the_close_until_settled)
{
  paid_plans();
  char a[STREAM_STORE_ID_SIZE];
  new_account(a, "inflight@example.com");
  stream_billing_card c;
  add_card(&c, a, "tok_4242424242424242", "card");
  stream_billing_provider lossy;
  ck_assert_int_eq(stream_billing_local_provider(&lossy, local), STREAM_OK);
  lossy.charge = lost_answer_charge;
  stream_billing_free(bill);
  bill = open_billing(&lossy);
  stream_billing_subscription s;
  ck_assert_int_eq(stream_billing_subscribe(&s, NULL, bill, a, "standard", NULL, "s1"),
                   STREAM_EPAYMENT);
  stream_store_account_close_counts k;
  ck_assert_int_eq(stream_store_account_close(&k, store, a, clock_now), STREAM_EBUSY);
  ck_assert_ptr_nonnull(strstr(msg(), "in progress"));
  /* Nothing changed: the card is still there. */
  stream_billing_card *cards = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_billing_card_list(&cards, &n, bill, a), STREAM_OK);
  ck_assert_uint_eq(n, 1);
  stream_free(cards);
  /* The gateway answers again: the renewal job settles the payment (the
   * subscription is created); then the close works. */
  stream_billing_free(bill);
  stream_billing_provider prov;
  ck_assert_int_eq(stream_billing_local_provider(&prov, local), STREAM_OK);
  bill = open_billing(&prov);
  stream_billing_run_report r = run();
  ck_assert_uint_eq(r.settled, 1);
  ck_assert_int_eq(sub_of(a).status, STREAM_BILLING_ACTIVE);
  k = close_ok(a);
  ck_assert_uint_eq(k.subscriptions, 1);
  ck_assert_uint_eq(k.cards, 1);
  clock_now = MAR31 + DAY;
  r = run();
  ck_assert_uint_eq(r.renewed + r.failed, 0);
  ck_assert_uint_eq(invoice_count(a), 1);
}
END_TEST

static Suite *delete_suite(void)
{
  Suite *s = suite_create("billing-account-delete");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_deleted_active_subscription_is_never_renewed);
  tcase_add_test(tc, test_deleted_trial_never_converts);
  tcase_add_test(tc, test_deleted_past_due_voids_the_open_invoice);
  tcase_add_test(tc, test_payment_in_flight_blocks_the_close_until_settled);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(delete_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
