/* Unit tests of the billing service over simulated time: a plan change whose
 * provider answer is lost stays pending until the renewal job settles it. A
 * monthly to yearly upgrade settled later restarts the cycle; meanwhile the job
 * waits for the pending payment (no cancellation at period end, no past due, no
 * end of the subscription by a cancel), also when another process begins the
 * upgrade during the job's step; one settled on an ended subscription leaves it
 * and warns. Same fixture as test_billing.c (see test_billing_renewals.c). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../store_path.h"
#include "../store_raw.h"
#include "billing_fixture.h"

/* ---- upgrades whose payment is pending ------------------------------------------------ */

/* The switch from a monthly to a dearer yearly plan whose answer is lost: nothing applies
 * until the renewal job settles it; then the yearly plan and its new period [t, t + 12
 * months) both apply (not just the plan id), and renewals follow the new period. */
START_TEST(test_upgrade_to_a_yearly_plan_settled_later_restarts_the_cycle)
{
  paid_plans();
  stream_billing_plan year = {"premium-year", "Premium yearly", 30000, "USD", 12, 0, 4, 2160, 1};
  ck_assert_int_eq(stream_billing_plan_put(bill, &year), STREAM_OK);
  char a[STREAM_STORE_ID_SIZE];
  new_account(a, "lost-upgrade@example.com");
  stream_billing_card c;
  add_card(&c, a, "tok_4242424242424242", "card");
  stream_billing_subscription s, before;
  ck_assert_int_eq(stream_billing_subscribe(&before, NULL, bill, a, "basic", NULL, "s1"),
                   STREAM_OK);
  stream_billing_provider lossy;
  ck_assert_int_eq(stream_billing_local_provider(&lossy, local), STREAM_OK);
  lossy.charge = lost_answer_charge;
  stream_billing_free(bill);
  bill = open_billing(&lossy);

  int64_t t = JAN31 + 20 * DAY + 7; /* 2026-02-20T00:00:07Z */
  clock_now = t;
  int64_t len = before.period_end - before.period_start, rem = before.period_end - t;
  int64_t credit = (2 * 1000 * rem + len) / (2 * len); /* round half up */
  char inv[STREAM_BILLING_ID_SIZE];
  ck_assert_int_eq(stream_billing_change_plan(&s, inv, bill, a, "premium-year", "y1"),
                   STREAM_EPAYMENT);
  ck_assert_ptr_nonnull(strstr(msg(), "pending"));
  ck_assert_str_ne(inv, "");
  int64_t sum = 0;
  ck_assert_uint_eq(charges(&sum), 2); /* the money moved */
  ck_assert_int_eq(sum, 1000 + 30000 - credit);
  s = sub_of(a);
  ck_assert_str_eq(s.plan_id, "basic");
  ck_assert_int_eq(s.period_start, before.period_start);
  ck_assert_int_eq(s.period_end, before.period_end);
  ck_assert_int_eq(stream_billing_change_plan(&s, NULL, bill, a, "premium-year", "y1"),
                   STREAM_ECONFLICT);
  ck_assert_int_eq(stream_billing_change_plan(&s, NULL, bill, a, "premium", "y2"), STREAM_EBUSY);

  /* A later run, the provider answering again, settles it. */
  stream_billing_free(bill);
  stream_billing_provider prov;
  ck_assert_int_eq(stream_billing_local_provider(&prov, local), STREAM_OK);
  bill = open_billing(&prov);
  clock_now = t + 3600;
  stream_billing_run_report r = run();
  ck_assert_uint_eq(r.settled, 1);
  ck_assert_uint_eq(charges(NULL), 2);
  s = sub_of(a);
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
  ck_assert_str_eq(s.plan_id, "premium-year");
  ck_assert_int_eq(s.period_start, t);
  ck_assert_int_eq(s.period_end, t + 365 * DAY); /* 2027-02-20 */
  stream_billing_invoice v;
  ck_assert_int_eq(stream_billing_invoice_get(&v, bill, inv), STREAM_OK);
  ck_assert_int_eq(v.status, STREAM_BILLING_INVOICE_PAID);
  ck_assert_int_eq(v.total, 30000 - credit);
  stream_billing_invoice_clear(&v);
  /* The key replays the settled outcome. */
  stream_billing_subscription again;
  char inv2[STREAM_BILLING_ID_SIZE];
  ck_assert_int_eq(stream_billing_change_plan(&again, inv2, bill, a, "premium-year", "y1"),
                   STREAM_OK);
  ck_assert_str_eq(inv2, inv);
  ck_assert_str_eq(again.plan_id, "premium-year");
  ck_assert_int_eq(again.period_end, t + 365 * DAY);

  /* The old month's end bills nothing; the new period's end a year at the yearly price. */
  clock_now = before.period_end;
  r = run();
  ck_assert_uint_eq(r.renewed, 0);
  clock_now = t + 365 * DAY;
  r = run();
  ck_assert_uint_eq(r.renewed, 1);
  s = sub_of(a);
  ck_assert_int_eq(s.period_start, t + 365 * DAY);
  ck_assert_int_eq(s.period_end, t + 2 * 365 * DAY); /* 2028-02-20: before Feb 29 */
  ck_assert_uint_eq(charges(&sum), 3);
  ck_assert_int_eq(sum, 1000 + 30000 - credit + 30000);
}
END_TEST

/* Monthly `basic` with a 4242 card, then an upgrade to premium-year at `t` whose provider
 * answer is lost: the payment stays pending, the money moved. The handle is left lossy. */
static void lost_yearly_upgrade(char *a, const char *email, int64_t t, char *inv)
{
  paid_plans();
  stream_billing_plan year = {"premium-year", "Premium yearly", 30000, "USD", 12, 0, 4, 2160, 1};
  ck_assert_int_eq(stream_billing_plan_put(bill, &year), STREAM_OK);
  new_account(a, email);
  stream_billing_card c;
  add_card(&c, a, "tok_4242424242424242", "card");
  stream_billing_subscription s;
  ck_assert_int_eq(stream_billing_subscribe(&s, NULL, bill, a, "basic", NULL, "s1"), STREAM_OK);
  stream_billing_provider lossy;
  ck_assert_int_eq(stream_billing_local_provider(&lossy, local), STREAM_OK);
  lossy.charge = lost_answer_charge;
  stream_billing_free(bill);
  bill = open_billing(&lossy);
  clock_now = t;
  ck_assert_int_eq(stream_billing_change_plan(&s, inv, bill, a, "premium-year", "y1"),
                   STREAM_EPAYMENT);
  ck_assert_ptr_nonnull(strstr(msg(), "pending"));
}

/* The renewal job while the provider still does not answer: its settle fails again. */
static stream_billing_run_report run_unsettled(void)
{
  stream_billing_run_report r;
  ck_assert_msg(stream_billing_run_renewals(&r, bill) == STREAM_OK, "%s", msg());
  ck_assert_uint_eq(r.settled, 0);
  return r;
}

/* The provider answers again. */
static void provider_back(void)
{
  stream_billing_free(bill);
  stream_billing_provider prov;
  ck_assert_int_eq(stream_billing_local_provider(&prov, local), STREAM_OK);
  bill = open_billing(&prov);
}

/* Canceled at period end, then upgraded to a yearly plan whose answer is lost: at the old
 * month's end the job must not end the subscription while that payment is pending (the
 * customer would pay for a year of a subscription already over). It waits; the settle
 * restarts the cycle and the cancellation applies at the new period's end. */
START_TEST(test_cancel_at_period_end_waits_for_a_pending_upgrade)
{
  char a[STREAM_STORE_ID_SIZE], inv[STREAM_BILLING_ID_SIZE];
  int64_t t = JAN31 + 20 * DAY + 7;
  stream_billing_subscription s;
  lost_yearly_upgrade(a, "cancel-pending@example.com", t, inv);
  /* Canceled while the upgrade is pending (a cancel charges nothing). */
  ck_assert_int_eq(stream_billing_cancel(&s, bill, a, "c1"), STREAM_OK);
  ck_assert_int_eq(s.cancel_at_period_end, 1);

  clock_now = FEB28 + 3600;
  stream_billing_run_report r = run_unsettled();
  ck_assert_uint_eq(r.canceled, 0);
  s = sub_of(a);
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
  ck_assert_str_eq(s.plan_id, "basic");
  ck_assert_int_eq(s.period_end, FEB28);

  provider_back();
  clock_now = FEB28 + 7200;
  r = run();
  ck_assert_uint_eq(r.settled, 1);
  ck_assert_uint_eq(r.canceled, 0);
  s = sub_of(a);
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
  ck_assert_str_eq(s.plan_id, "premium-year");
  ck_assert_int_eq(s.cancel_at_period_end, 1);
  ck_assert_int_eq(s.period_start, t);
  ck_assert_int_eq(s.period_end, t + 365 * DAY);
  stream_billing_invoice v;
  ck_assert_int_eq(stream_billing_invoice_get(&v, bill, inv), STREAM_OK);
  ck_assert_int_eq(v.status, STREAM_BILLING_INVOICE_PAID);
  stream_billing_invoice_clear(&v);

  /* The year paid for is served; it ends there, with no renewal. */
  clock_now = t + 365 * DAY;
  r = run();
  ck_assert_uint_eq(r.canceled, 1);
  ck_assert_uint_eq(r.renewed, 0);
  s = sub_of(a);
  ck_assert_int_eq(s.status, STREAM_BILLING_CANCELED);
  ck_assert_int_eq(s.ended_at, t + 365 * DAY);
  ck_assert_uint_eq(charges(NULL), 2);
}
END_TEST

/* The card is gone (deleted behind the API, as nothing else leaves a paid subscription
 * without one) while an upgrade to a yearly plan is pending. At the old month's end the
 * job must not mark the subscription past due (no method) while that payment may restart
 * the cycle: once settled it is active with no dunning, and no retry bills the paid year. */
START_TEST(test_no_past_due_while_an_upgrade_is_pending)
{
  char a[STREAM_STORE_ID_SIZE], inv[STREAM_BILLING_ID_SIZE];
  int64_t t = JAN31 + 20 * DAY + 7;
  lost_yearly_upgrade(a, "nocard-pending@example.com", t, inv);
  /* What PostgreSQL's ON DELETE SET NULL does (the raw SQLite connection has no FK
   * enforcement). */
  char sql[300];
  snprintf(sql, sizeof sql,
           "UPDATE subscriptions SET card_id = NULL WHERE account_id = '%s'; "
           "DELETE FROM cards WHERE account_id = '%s';",
           a, a);
  test_store_raw_exec(dbpath, sql);
  ck_assert_int_eq(test_store_raw_int(dbpath, "SELECT count(*) FROM cards WHERE account_id = ?", a),
                   0);

  clock_now = FEB28 + 3600;
  stream_billing_run_report r = run_unsettled();
  ck_assert_uint_eq(r.failed, 0);
  stream_billing_subscription s = sub_of(a);
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
  ck_assert_int_eq(s.failed_attempts, 0);

  provider_back();
  clock_now = FEB28 + 7200;
  r = run();
  ck_assert_uint_eq(r.settled, 1);
  s = sub_of(a);
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
  ck_assert_str_eq(s.plan_id, "premium-year");
  ck_assert_int_eq(s.failed_attempts, 0);
  ck_assert_int_eq(s.next_attempt_at, 0);
  ck_assert_int_eq(s.period_end, t + 365 * DAY);

  /* Days later nothing is retried or billed: the year is paid. */
  clock_now = FEB28 + 10 * DAY;
  r = run();
  ck_assert_uint_eq(r.retried + r.failed + r.renewed + r.expired, 0);
  ck_assert_int_eq(sub_of(a).status, STREAM_BILLING_ACTIVE);
  ck_assert_uint_eq(invoice_count(a), 2);
  ck_assert_uint_eq(charges(NULL), 2);
}
END_TEST

/* The same with the past-due step already taken, as another process's renewal job could
 * between this one's check and its step (simulated behind the API): the settled restart
 * ends the dunning, so no retry bills the year that was paid. */
START_TEST(test_settled_restart_ends_the_dunning_of_a_past_due_subscription)
{
  char a[STREAM_STORE_ID_SIZE], inv[STREAM_BILLING_ID_SIZE];
  int64_t t = JAN31 + 20 * DAY + 7;
  lost_yearly_upgrade(a, "pastdue-pending@example.com", t, inv);
  char sql[300];
  snprintf(sql, sizeof sql,
           "UPDATE subscriptions SET status = %d, failed_attempts = 1, next_attempt_at = %lld, "
           "dunning_from = %lld WHERE account_id = '%s'",
           (int)STREAM_BILLING_PAST_DUE, (long long)(FEB28 + DAY), (long long)FEB28, a);
  ck_assert_int_eq(test_store_raw_exec(dbpath, sql), 1);

  provider_back();
  clock_now = FEB28 + 3600;
  stream_billing_run_report r = run();
  ck_assert_uint_eq(r.settled, 1);
  stream_billing_subscription s = sub_of(a);
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
  ck_assert_str_eq(s.plan_id, "premium-year");
  ck_assert_int_eq(s.failed_attempts, 0);
  ck_assert_int_eq(s.next_attempt_at, 0);
  ck_assert_int_eq(s.period_end, t + 365 * DAY);
  ck_assert_int_eq(
      test_store_raw_int(dbpath, "SELECT dunning_from FROM subscriptions WHERE account_id = ?", a),
      0);
  clock_now = FEB28 + 10 * DAY;
  r = run();
  ck_assert_uint_eq(r.retried + r.failed + r.renewed + r.expired, 0);
  ck_assert_uint_eq(invoice_count(a), 2);
  ck_assert_uint_eq(charges(NULL), 2);
}
END_TEST

/* The wait is the account's own: another account's pending payment holds up nobody else
 * (the job asks the store for the pending payments of the account it steps). */
START_TEST(test_a_pending_payment_holds_up_only_its_own_account)
{
  char a[STREAM_STORE_ID_SIZE], y[STREAM_STORE_ID_SIZE], inv[STREAM_BILLING_ID_SIZE];
  put_plan("free", "Free", 0, 0, 1);
  new_account(y, "free-beside@example.com");
  stream_billing_card c;
  add_card(&c, y, "tok_4242424242424242", "card");
  stream_billing_subscription s;
  ck_assert_int_eq(stream_billing_subscribe(&s, NULL, bill, y, "free", NULL, "s1"), STREAM_OK);
  ck_assert_int_eq(s.period_end, FEB28);
  lost_yearly_upgrade(a, "held@example.com", JAN31 + 20 * DAY + 7, inv);

  clock_now = FEB28 + 3600;
  stream_billing_run_report r = run_unsettled();
  ck_assert_uint_eq(r.renewed, 1);
  ck_assert_int_eq(sub_of(y).period_end, MAR31);
  ck_assert_int_eq(sub_of(a).period_end, FEB28);

  provider_back();
  r = run();
  ck_assert_uint_eq(r.settled, 1);
  ck_assert_str_eq(sub_of(a).plan_id, "premium-year");
}
END_TEST

/* Cancelling a past-due subscription ends it at once; with an upgrade's payment still
 * pending it must wait: an upgrade settled on an ended subscription would be paid for a
 * plan nobody gets. Only the two-process race (test_upgrade_begun_during_the_jobs_step_
 * makes_it_wait), or data from before its guard, can leave that state: set up behind the
 * API as in test_settled_restart_ends_the_dunning_of_a_past_due_subscription. */
START_TEST(test_cancel_now_waits_for_a_pending_upgrade)
{
  char a[STREAM_STORE_ID_SIZE], inv[STREAM_BILLING_ID_SIZE];
  int64_t t = JAN31 + 20 * DAY + 7;
  lost_yearly_upgrade(a, "cancelnow-pending@example.com", t, inv);
  char sql[300];
  snprintf(sql, sizeof sql,
           "UPDATE subscriptions SET status = %d, failed_attempts = 1, next_attempt_at = %lld, "
           "dunning_from = %lld WHERE account_id = '%s'",
           (int)STREAM_BILLING_PAST_DUE, (long long)(FEB28 + DAY), (long long)FEB28, a);
  ck_assert_int_eq(test_store_raw_exec(dbpath, sql), 1);

  clock_now = FEB28 + 600;
  stream_billing_subscription s;
  ck_assert_int_eq(stream_billing_cancel(&s, bill, a, "c1"), STREAM_EBUSY);
  ck_assert_ptr_nonnull(strstr(msg(), "in progress"));
  s = sub_of(a);
  ck_assert_int_eq(s.status, STREAM_BILLING_PAST_DUE);
  ck_assert_int_eq(s.ended_at, 0);

  /* Once settled the upgrade applies (the restart ends the dunning); a cancel is then a
   * cancellation at the new period's end. */
  provider_back();
  clock_now = FEB28 + 3600;
  stream_billing_run_report r = run();
  ck_assert_uint_eq(r.settled, 1);
  s = sub_of(a);
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
  ck_assert_str_eq(s.plan_id, "premium-year");
  ck_assert_int_eq(stream_billing_cancel(&s, bill, a, "c2"), STREAM_OK);
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
  ck_assert_int_eq(s.cancel_at_period_end, 1);
  ck_assert_int_eq(s.period_end, t + 365 * DAY);
  ck_assert_uint_eq(charges(NULL), 2);
}
END_TEST

/* An upgrade's payment pending on a subscription that has ended. The store refuses to end
 * one while a payment of its account is pending, so only data written before that guard
 * holds this: set up behind the API, a cancel-now that did not wait. When the payment then
 * succeeds, the ended subscription keeps the plan and period it ended with, the invoice stays
 * paid (the money was taken), the key replays the conflict, and a warning names the invoice
 * and the account so that an operator refunds it. */
static struct {
  int count;
  char line[600];
} ended_warn;

static void ended_log(int level, const char *module, const char *message, void *ud)
{
  (void)ud;
  if (level >= STREAM_LOG_WARN && strcmp(module, "billing") == 0 && strstr(message, "had ended")) {
    ended_warn.count++;
    snprintf(ended_warn.line, sizeof ended_warn.line, "%s", message);
  }
}

START_TEST(test_upgrade_settled_on_an_ended_subscription_leaves_it_and_warns)
{
  char a[STREAM_STORE_ID_SIZE], inv[STREAM_BILLING_ID_SIZE];
  int64_t t = JAN31 + 20 * DAY + 7;
  lost_yearly_upgrade(a, "ended-pending@example.com", t, inv);
  stream_billing_subscription before = sub_of(a);
  char sql[300];
  snprintf(sql, sizeof sql,
           "UPDATE subscriptions SET status = %d, ended_at = %lld WHERE account_id = '%s'",
           (int)STREAM_BILLING_CANCELED, (long long)(t + 600), a);
  ck_assert_int_eq(test_store_raw_exec(dbpath, sql), 1);

  provider_back();
  clock_now = t + 3600;
  memset(&ended_warn, 0, sizeof ended_warn);
  stream_log_set_callback(ended_log, NULL, STREAM_LOG_WARN);
  stream_billing_run_report r = run();
  stream_log_set_callback(NULL, NULL, STREAM_LOG_WARN);
  ck_assert_uint_eq(r.settled, 1);
  stream_billing_subscription s = sub_of(a);
  ck_assert_int_eq(s.status, STREAM_BILLING_CANCELED);
  ck_assert_int_eq(s.ended_at, t + 600);
  ck_assert_str_eq(s.plan_id, "basic");
  ck_assert_int_eq(s.period_start, before.period_start);
  ck_assert_int_eq(s.period_end, before.period_end);
  stream_billing_invoice v;
  ck_assert_int_eq(stream_billing_invoice_get(&v, bill, inv), STREAM_OK);
  ck_assert_int_eq(v.status, STREAM_BILLING_INVOICE_PAID);
  ck_assert_int_eq(v.amount_paid, v.total);
  stream_billing_invoice_clear(&v);
  ck_assert_uint_eq(charges(NULL), 2);
  /* One warning, naming the invoice and the account (ids only, no card). */
  ck_assert_int_eq(ended_warn.count, 1);
  ck_assert_msg(strstr(ended_warn.line, inv) && strstr(ended_warn.line, a), "%s", ended_warn.line);
  ck_assert_ptr_null(strstr(ended_warn.line, "4242"));
  /* The request's key replays what happened. */
  stream_billing_subscription again;
  char inv2[STREAM_BILLING_ID_SIZE] = "";
  ck_assert_int_eq(stream_billing_change_plan(&again, inv2, bill, a, "premium-year", "y1"),
                   STREAM_ECONFLICT);
  ck_assert_ptr_nonnull(strstr(msg(), "refunded"));
  ck_assert_str_eq(inv2, inv);
  ck_assert_str_eq(again.plan_id, "basic");
  ck_assert_int_eq(again.status, STREAM_BILLING_CANCELED);

  /* Later runs leave it alone; the operator's refund returns the money. */
  clock_now = t + 365 * DAY;
  memset(&ended_warn, 0, sizeof ended_warn);
  stream_log_set_callback(ended_log, NULL, STREAM_LOG_WARN);
  r = run();
  stream_log_set_callback(NULL, NULL, STREAM_LOG_WARN);
  ck_assert_uint_eq(r.settled + r.renewed + r.canceled + r.expired, 0);
  ck_assert_int_eq(ended_warn.count, 0);
  ck_assert_str_eq(sub_of(a).plan_id, "basic");
  ck_assert_int_eq(stream_billing_refund(&v, bill, inv, 0, "refund-ended"), STREAM_OK);
  ck_assert_int_eq(v.amount_refunded, v.amount_paid);
  ck_assert_int_eq(stream_billing_books_check(NULL, bill, 60), STREAM_OK);
}
END_TEST

/* Two processes: the renewal job's handle, and another one on the same store (its own
 * stream_store connection(s), its own locks) where the customer adds a card and upgrades
 * to a yearly plan whose provider answer is lost. The job's clock is the seam that puts the
 * other process between the job's check for a pending payment and its write: an attempt
 * without a card reads the clock (the dunning start) after that check and before it writes
 * the subscription past due. */
static struct {
  stream_billing *other; /* the other process's handle */
  const char *account;
  int calls;   /* the job's clock readings since armed */
  int fired;   /* the other process ran */
  int refused; /* the job's write was refused for the pending payment (its log) */
  int64_t at;  /* when the upgrade began */
  char inv[STREAM_BILLING_ID_SIZE];
} race;

/* Second reading of the run: the first is the run's `now`, the second the dunning start
 * of the attempt without a card (renewals.c bill()), after step()'s check. */
static int64_t job_clock(void *ud)
{
  (void)ud;
  if (race.other && ++race.calls == 2 && !race.fired) {
    race.fired = 1;
    stream_billing_card c;
    ck_assert_msg(stream_billing_card_add(&c, race.other, race.account, "tok_4242424242424242",
                                          "card-2") == STREAM_OK,
                  "%s", msg());
    stream_billing_subscription s;
    race.at = clock_now;
    ck_assert_int_eq(
        stream_billing_change_plan(&s, race.inv, race.other, race.account, "premium-year", "y1"),
        STREAM_EPAYMENT);
    ck_assert_ptr_nonnull(strstr(msg(), "pending"));
  }
  return clock_now;
}

static int64_t other_clock(void *ud)
{
  return *(int64_t *)ud;
}

static void race_log(int level, const char *module, const char *message, void *ud)
{
  (void)ud;
  if (level >= STREAM_LOG_WARN && strcmp(module, "billing") == 0 &&
      strstr(message, "waits for it to settle"))
    race.refused++;
}

START_TEST(test_upgrade_begun_during_the_jobs_step_makes_it_wait)
{
  char a[STREAM_STORE_ID_SIZE];
  paid_plans();
  stream_billing_plan year = {"premium-year", "Premium yearly", 30000, "USD", 12, 0, 4, 2160, 1};
  ck_assert_int_eq(stream_billing_plan_put(bill, &year), STREAM_OK);
  new_account(a, "race@example.com");
  stream_billing_card c;
  add_card(&c, a, "tok_4242424242424242", "card");
  stream_billing_subscription s;
  ck_assert_int_eq(stream_billing_subscribe(&s, NULL, bill, a, "basic", NULL, "s1"), STREAM_OK);
  /* The card is gone behind the API (test_no_past_due_while_an_upgrade_is_pending). */
  char sql[300];
  snprintf(sql, sizeof sql,
           "UPDATE subscriptions SET card_id = NULL WHERE account_id = '%s'; "
           "DELETE FROM cards WHERE account_id = '%s';",
           a, a);
  test_store_raw_exec(dbpath, sql);

  /* The other process: a store of its own on the same database, a provider whose answer
   * is lost (the money moves). */
  char uri[512];
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  so.path = test_store_path(uri, sizeof uri, dbpath);
  stream_store *other_store = NULL;
  ck_assert_int_eq(stream_store_open(&other_store, &so), STREAM_OK);
  stream_billing_provider lossy;
  ck_assert_int_eq(stream_billing_local_provider(&lossy, local), STREAM_OK);
  lossy.charge = lost_answer_charge;
  stream_billing_options o = STREAM_BILLING_OPTIONS_INIT;
  o.store = other_store;
  o.provider = &lossy;
  o.now = other_clock;
  o.now_userdata = &clock_now;
  ck_assert_int_eq(stream_billing_new(&race.other, &o), STREAM_OK);
  race.account = a;

  /* The job's handle, with the clock that lets the other process in. */
  stream_billing_provider prov;
  ck_assert_int_eq(stream_billing_local_provider(&prov, local), STREAM_OK);
  stream_billing_free(bill);
  o = (stream_billing_options)STREAM_BILLING_OPTIONS_INIT;
  o.store = store;
  o.provider = &prov;
  o.now = job_clock;
  ck_assert_int_eq(stream_billing_new(&bill, &o), STREAM_OK);

  clock_now = FEB28 + 3600;
  stream_log_set_callback(race_log, NULL, STREAM_LOG_WARN);
  stream_billing_run_report r = run();
  stream_log_set_callback(NULL, NULL, STREAM_LOG_WARN);
  ck_assert_int_eq(race.fired, 1);
  /* Not past due while the upgrade is pending. */
  s = sub_of(a);
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
  ck_assert_int_eq(s.failed_attempts, 0);
  ck_assert_int_eq(s.next_attempt_at, 0);
  ck_assert_str_eq(s.plan_id, "basic");
  ck_assert_int_eq(
      test_store_raw_int(dbpath, "SELECT dunning_from FROM subscriptions WHERE account_id = ?", a),
      0);
  ck_assert_uint_eq(r.failed + r.retried + r.renewed, 0);
  /* The job saw no pending payment, then the store refused its write (what shows that the
   * other process came in between): it waits for the next run. */
  ck_assert_int_eq(race.refused, 1);
  stream_billing_free(race.other);
  race.other = NULL;
  stream_store_close(other_store);

  /* The provider answers the job: the upgrade settles and restarts the cycle. */
  clock_now = FEB28 + 7200;
  r = run();
  ck_assert_uint_eq(r.settled, 1);
  s = sub_of(a);
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
  ck_assert_str_eq(s.plan_id, "premium-year");
  ck_assert_int_eq(s.period_start, race.at);
  ck_assert_int_eq(s.period_end, race.at + 365 * DAY);
  ck_assert_int_eq(s.failed_attempts, 0);
  stream_billing_invoice v;
  ck_assert_int_eq(stream_billing_invoice_get(&v, bill, race.inv), STREAM_OK);
  ck_assert_int_eq(v.status, STREAM_BILLING_INVOICE_PAID);
  stream_billing_invoice_clear(&v);

  /* Days later nothing is retried or billed: the year is paid. */
  clock_now = FEB28 + 10 * DAY;
  r = run();
  ck_assert_uint_eq(r.retried + r.failed + r.renewed + r.expired, 0);
  ck_assert_uint_eq(invoice_count(a), 2);
  ck_assert_uint_eq(charges(NULL), 2);
}
END_TEST

static Suite *billing_suite(void)
{
  Suite *s = suite_create("billing-upgrades");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_upgrade_to_a_yearly_plan_settled_later_restarts_the_cycle);
  tcase_add_test(tc, test_cancel_at_period_end_waits_for_a_pending_upgrade);
  tcase_add_test(tc, test_no_past_due_while_an_upgrade_is_pending);
  tcase_add_test(tc, test_settled_restart_ends_the_dunning_of_a_past_due_subscription);
  tcase_add_test(tc, test_a_pending_payment_holds_up_only_its_own_account);
  tcase_add_test(tc, test_cancel_now_waits_for_a_pending_upgrade);
  tcase_add_test(tc, test_upgrade_settled_on_an_ended_subscription_leaves_it_and_warns);
  tcase_add_test(tc, test_upgrade_begun_during_the_jobs_step_makes_it_wait);
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
