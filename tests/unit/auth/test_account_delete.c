/* Unit tests of account deletion (stream_auth_account_delete and its
 * operator variant) over a real SQLite store in a temporary directory, with
 * the billing service and its local provider for the financial records, an
 * injected clock and cheap Argon2id parameters. Raw SQL only reads rows the
 * public API hides (the tombstone, pseudonymized analytics) and seeds
 * event-log / QoE rows. Under tests/pg/pg_run.sh the same cases run on
 * PostgreSQL (store_path.h, store_raw.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../store_path.h"
#include "../store_raw.h"
#include "auth_fixture.h"
#include "stream/auth.h"
#include "stream/billing.h"

#define T0 1769817600LL /* 2026-01-31T00:00:00Z */
#define PW "correct horse"

static stream_store *store;
static stream_auth *auth;
static stream_billing_local *local;
static stream_billing *bill;

static stream_auth *open_auth(unsigned int account_burst)
{
  stream_auth_options o;
  auth_fixture_options(&o, store);
  o.issuer = "https://streamd.test";
  o.audience = "stream-api";
  o.verification_uri = "https://streamd.test/activate";
  o.rate_account_burst = account_burst;
  stream_auth *a = NULL;
  ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_OK);
  return a;
}

static void setup(void)
{
  auth_fixture_setup("acctdel", T0, false);
  store = auth_fixture_store();
  auth = open_auth(1000);
  ck_assert_int_eq(stream_billing_local_new(&local), STREAM_OK);
  stream_billing_provider prov;
  ck_assert_int_eq(stream_billing_local_provider(&prov, local), STREAM_OK);
  stream_billing_options bo = STREAM_BILLING_OPTIONS_INIT;
  bo.store = store;
  bo.provider = &prov;
  bo.now = fake_clock;
  bo.now_userdata = &clock_now;
  ck_assert_int_eq(stream_billing_new(&bill, &bo), STREAM_OK);
}

static void teardown(void)
{
  stream_billing_free(bill);
  bill = NULL;
  stream_billing_local_free(local);
  local = NULL;
  stream_auth_free(auth);
  auth = NULL;
  stream_store_close(store);
  store = NULL;
  auth_fixture_teardown(NULL);
}

/* ---- raw SQL helpers (a second connection on the same store) --------------- */

static void raw_exec(const char *sql)
{
  test_store_raw_exec(dbpath, sql);
}

/* The integer result of `sql` with "?" bound to `arg` (NULL: no argument). */
static int64_t raw_int(const char *sql, const char *arg)
{
  return test_store_raw_int(dbpath, sql, arg);
}

/* The text result of `sql` with "?" bound to `arg`, into `out`. */
static void raw_text(char *out, size_t n, const char *sql, const char *arg)
{
  test_store_raw_text(out, n, dbpath, sql, arg);
}

/* One player event and one QoE view record of (account, profile, device). */
static void seed_analytics(const char *event_id, const char *account, const char *profile,
                           const char *title)
{
  /* seq is given (SQLite's AUTOINCREMENT would pick it; PostgreSQL's events
   * code takes it from event_log_seq, kept in step below). */
  char sql[2048];
  snprintf(sql, sizeof sql,
           "INSERT INTO event_log (seq, id, type, view_id, session_id, account_id, profile_id, "
           "title_id, device_id, client_ts, server_ts) VALUES ((SELECT coalesce(max(seq), 0) + 1 "
           "FROM event_log), '%s', 4, 'view-%s', 'sess-%s', '%s', '%s', '%s', 'device-%s', 1000, "
           "1000);%s"
           "INSERT INTO qoe_views (view_id, session_id, account_id, profile_id, title_id, "
           "device_id, day, start_ts, last_ts, last_seq, events, requested, started, failed, "
           "start_failed, ended, startup_ms, watch_ms, playing_ms, rebuffer_count, rebuffer_ms, "
           "peak_br, br_ms, br_sum, updated_at) VALUES ('view-%s', 'sess-%s', '%s', '%s', '%s', "
           "'device-%s', '2026-01-31', 1000, 2000, 1, 1, 1, 1, 0, 0, 1, 100, 60000, 60000, 0, 0, "
           "0, 0, 0, 1);",
           event_id, event_id, event_id, account, profile, title, event_id,
           test_store_is_pg() ? "UPDATE event_log_seq SET seq = (SELECT max(seq) FROM event_log);"
                              : "",
           event_id, event_id, account, profile, title, event_id);
  raw_exec(sql);
}

/* ---- fixtures of a viewer's life ----------------------------------------------- */

typedef struct viewer {
  stream_auth_account acct;
  stream_auth_profile prof;
  stream_auth_tokens session;  /* account-level sign-in */
  stream_auth_tokens profiled; /* after switching to the profile */
} viewer;

static void make_viewer(viewer *v, const char *email, const char *title_id)
{
  memset(v, 0, sizeof *v);
  ck_assert_int_eq(stream_auth_register(&v->acct, auth, email, PW), STREAM_OK);
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.name = "Main";
  ck_assert_int_eq(stream_auth_profile_create(&v->prof, auth, v->acct.id, &in), STREAM_OK);
  in.name = "Kids";
  in.kids = 1;
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, v->acct.id, &in), STREAM_OK);
  ck_assert_int_eq(stream_auth_login(&v->session, NULL, auth, email, PW, "192.0.2.1"), STREAM_OK);
  ck_assert_int_eq(
      stream_auth_switch_profile(&v->profiled, NULL, auth, v->acct.id, v->prof.id, NULL),
      STREAM_OK);
  stream_store_progress p;
  memset(&p, 0, sizeof p);
  snprintf(p.profile_id, sizeof p.profile_id, "%s", v->prof.id);
  snprintf(p.title_id, sizeof p.title_id, "%s", title_id);
  p.position_ms = 60000;
  p.duration_ms = 600000;
  ck_assert_int_eq(stream_store_progress_upsert(store, &p, clock_now), STREAM_OK);
  ck_assert_int_eq(stream_store_mylist_add(store, v->prof.id, title_id, clock_now), STREAM_OK);
  ck_assert_int_eq(stream_store_rating_put(store, v->prof.id, title_id, 1, clock_now), STREAM_OK);
  /* A saved card and a paid subscription: an invoice and a payment. */
  stream_billing_card card;
  ck_assert_msg(stream_billing_card_add(&card, bill, v->acct.id, "tok_4242424242424242", "card") ==
                    STREAM_OK,
                "%s", msg());
  stream_billing_subscription s;
  ck_assert_msg(stream_billing_subscribe(&s, NULL, bill, v->acct.id, "basic", NULL, "sub") ==
                    STREAM_OK,
                "%s", msg());
  /* A TV signed in through the device grant. */
  stream_auth_device_code dc;
  ck_assert_int_eq(stream_auth_device_start(&dc, auth, "tv-app", NULL), STREAM_OK);
  ck_assert_int_eq(stream_auth_device_approve(auth, dc.user_code, v->acct.id, v->prof.id),
                   STREAM_OK);
}

static char title_id[STREAM_STORE_ID_SIZE];

static void make_title(void)
{
  stream_store_title t;
  memset(&t, 0, sizeof t);
  t.name = "A Film";
  ck_assert_int_eq(stream_store_title_create(title_id, store, &t, clock_now), STREAM_OK);
  stream_billing_plan p;
  memset(&p, 0, sizeof p);
  snprintf(p.id, sizeof p.id, "basic");
  snprintf(p.name, sizeof p.name, "Basic");
  p.price = 1000;
  memcpy(p.currency, "USD", 4);
  p.period_months = 1;
  p.screens = 1;
  p.max_height = 1080;
  p.active = 1;
  ck_assert_int_eq(stream_billing_plan_put(bill, &p), STREAM_OK);
}

static size_t profile_count(const char *account_id)
{
  stream_auth_profile list[STREAM_AUTH_PROFILES_MAX];
  size_t n = 99;
  ck_assert_int_eq(stream_auth_profile_list(list, &n, auth, account_id), STREAM_OK);
  return n;
}

static size_t mylist_count(const char *profile_id)
{
  stream_store_mylist_item *items = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_store_mylist_list(&items, &n, store, profile_id), STREAM_OK);
  stream_free(items);
  return n;
}

/* Every personal row of `v` is where it was. */
static void assert_intact(const viewer *v, const char *email)
{
  stream_auth_account got;
  ck_assert_int_eq(stream_auth_account_get(&got, auth, v->acct.id), STREAM_OK);
  ck_assert_str_eq(got.email, email);
  ck_assert_uint_eq(profile_count(v->acct.id), 2);
  stream_store_progress p;
  ck_assert_int_eq(stream_store_progress_get(&p, store, v->prof.id, title_id, NULL), STREAM_OK);
  ck_assert_uint_eq(mylist_count(v->prof.id), 1);
  int r = 0;
  ck_assert_int_eq(stream_store_rating_get(&r, store, v->prof.id, title_id), STREAM_OK);
  ck_assert_int_eq(r, 1);
  stream_auth_identity id;
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, v->session.access_token), STREAM_OK);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM cards WHERE account_id = ?", v->acct.id), 1);
  ck_assert_int_eq(
      raw_int("SELECT count(*) FROM device_authorizations WHERE account_id = ?", v->acct.id), 1);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM event_log WHERE account_id = ?", v->acct.id), 1);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM qoe_views WHERE account_id = ?", v->acct.id), 1);
  stream_billing_subscription s;
  ck_assert_int_eq(stream_billing_subscription_get(&s, bill, v->acct.id), STREAM_OK);
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
}

/* ---- tests ----------------------------------------------------------------- */

START_TEST(test_delete_erases_the_person_and_keeps_the_records)
{
  make_title();
  viewer a, b;
  make_viewer(&a, "alice@example.com", title_id);
  make_viewer(&b, "bob@example.com", title_id);
  seed_analytics("ev-a", a.acct.id, a.prof.id, title_id);
  seed_analytics("ev-b", b.acct.id, b.prof.id, title_id);
  int64_t seq_max = raw_int("SELECT max(seq) FROM event_log", NULL);

  /* Wrong password: STREAM_EAUTH and nothing changes. */
  clock_now += 60;
  ck_assert_int_eq(stream_auth_account_delete(NULL, auth, a.acct.id, "wrong horse", "192.0.2.1"),
                   STREAM_EAUTH);
  ck_assert_str_eq(msg(), "auth: wrong password");
  ck_assert_int_eq(stream_auth_account_delete(NULL, auth, a.acct.id, "short", NULL), STREAM_EAUTH);
  assert_intact(&a, "alice@example.com");

  /* The right one. */
  clock_now += 60;
  int64_t retry = -1;
  ck_assert_msg(stream_auth_account_delete(&retry, auth, a.acct.id, PW, "192.0.2.1") == STREAM_OK,
                "%s", msg());
  ck_assert_int_eq(retry, 0);

  /* Sign-in fails exactly like an unknown e-mail. */
  stream_auth_tokens t;
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "alice@example.com", PW, NULL), STREAM_EAUTH);
  char deleted_msg[600];
  snprintf(deleted_msg, sizeof deleted_msg, "%s", msg());
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "nobody@example.com", PW, NULL), STREAM_EAUTH);
  ck_assert_str_eq(deleted_msg, msg());
  /* Refresh tokens (account-level and profile-bound) are unknown; access tokens fail now. */
  ck_assert_int_eq(stream_auth_refresh(&t, auth, a.session.refresh_token), STREAM_EAUTH);
  ck_assert_int_eq(stream_auth_refresh(&t, auth, a.profiled.refresh_token), STREAM_EAUTH);
  stream_auth_identity id;
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, a.session.access_token), STREAM_EAUTH);
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, a.profiled.access_token), STREAM_EAUTH);
  /* The account and its personal rows are gone. */
  stream_auth_account got;
  ck_assert_int_eq(stream_auth_account_get(&got, auth, a.acct.id), STREAM_ENOTFOUND);
  ck_assert_uint_eq(profile_count(a.acct.id), 0);
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.name = "Back";
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, a.acct.id, &in), STREAM_ENOTFOUND);
  stream_auth_profile prof;
  ck_assert_int_eq(stream_auth_switch_profile(&t, NULL, auth, a.acct.id, a.prof.id, NULL),
                   STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_auth_profile_get(&prof, auth, a.acct.id, a.prof.id), STREAM_ENOTFOUND);
  stream_store_progress p;
  ck_assert_int_eq(stream_store_progress_get(&p, store, a.prof.id, title_id, NULL),
                   STREAM_ENOTFOUND);
  ck_assert_uint_eq(mylist_count(a.prof.id), 0);
  int r = 9;
  ck_assert_int_eq(stream_store_rating_get(&r, store, a.prof.id, title_id), STREAM_OK);
  ck_assert_int_eq(r, 0);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM profiles WHERE account_id = ?", a.acct.id), 0);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM refresh_tokens WHERE account_id = ?", a.acct.id),
                   0);
  ck_assert_int_eq(
      raw_int("SELECT count(*) FROM device_authorizations WHERE account_id = ?", a.acct.id), 0);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM cards WHERE account_id = ?", a.acct.id), 0);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM idempotency_keys WHERE scope = ?", a.acct.id), 0);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM progress WHERE profile_id = ?", a.prof.id), 0);

  /* The tombstone keeps the financial records' foreign key, not the person. */
  char email[300];
  raw_text(email, sizeof email, "SELECT email FROM accounts WHERE id = ?", a.acct.id);
  char want[300];
  snprintf(want, sizeof want, "deleted-%s@invalid", a.acct.id);
  ck_assert_str_eq(email, want);
  ck_assert_int_eq(raw_int("SELECT length(password_hash) FROM accounts WHERE id = ?", a.acct.id),
                   0);
  ck_assert_int_eq(raw_int("SELECT disabled FROM accounts WHERE id = ?", a.acct.id), 1);
  ck_assert_int_eq(raw_int("SELECT deleted_at FROM accounts WHERE id = ?", a.acct.id), clock_now);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM invoices WHERE account_id = ?", a.acct.id), 1);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM payments WHERE account_id = ?", a.acct.id), 1);
  stream_billing_invoice *inv = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_billing_invoice_list(&inv, &n, bill, a.acct.id), STREAM_OK);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(inv[0].status, STREAM_BILLING_INVOICE_PAID);
  ck_assert_int_eq(inv[0].amount_paid, 1000);
  stream_free(inv);
  stream_billing_subscription s;
  ck_assert_int_eq(stream_billing_subscription_get(&s, bill, a.acct.id), STREAM_OK);
  ck_assert_int_eq(s.status, STREAM_BILLING_CANCELED);
  ck_assert_int_eq(s.ended_at, clock_now);

  /* Analytics rows stay (same event ids and sequence numbers) without the person. */
  ck_assert_int_eq(raw_int("SELECT count(*) FROM event_log WHERE id = ?", "ev-a"), 1);
  ck_assert_int_eq(raw_int("SELECT max(seq) FROM event_log", NULL), seq_max);
  raw_text(email, sizeof email,
           "SELECT account_id || '|' || profile_id || '|' || device_id || '|' || title_id "
           "FROM event_log WHERE id = ?",
           "ev-a");
  snprintf(want, sizeof want, "|||%s", title_id);
  ck_assert_str_eq(email, want);
  raw_text(email, sizeof email,
           "SELECT account_id || '|' || profile_id || '|' || device_id || '|' || watch_ms "
           "FROM qoe_views WHERE view_id = ?",
           "view-ev-a");
  ck_assert_str_eq(email, "|||60000");

  /* The other account is untouched. */
  assert_intact(&b, "bob@example.com");
  ck_assert_int_eq(stream_auth_refresh(&t, auth, b.session.refresh_token), STREAM_OK);

  /* The address is free again: a new, unrelated account. */
  stream_auth_account again;
  ck_assert_int_eq(stream_auth_register(&again, auth, "alice@example.com", "another password"),
                   STREAM_OK);
  ck_assert_str_ne(again.id, a.acct.id);
  ck_assert_uint_eq(profile_count(again.id), 0);
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "alice@example.com", "another password", NULL),
                   STREAM_OK);

  /* Deleting twice: STREAM_ENOTFOUND, never a second tombstone. */
  ck_assert_int_eq(stream_auth_account_delete(NULL, auth, a.acct.id, PW, NULL), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_auth_account_delete_admin(auth, a.acct.id), STREAM_ENOTFOUND);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM accounts WHERE email LIKE 'deleted-%'", NULL), 1);
}
END_TEST

START_TEST(test_wrong_passwords_share_the_sign_in_rate_limit)
{
  stream_auth_free(auth);
  auth = open_auth(2);
  stream_auth_account acct;
  ck_assert_int_eq(stream_auth_register(&acct, auth, "carol@example.com", PW), STREAM_OK);
  ck_assert_int_eq(stream_auth_account_delete(NULL, auth, acct.id, "guess one", NULL),
                   STREAM_EAUTH);
  ck_assert_int_eq(stream_auth_account_delete(NULL, auth, acct.id, "guess two", NULL),
                   STREAM_EAUTH);
  int64_t retry = 0;
  ck_assert_int_eq(stream_auth_account_delete(&retry, auth, acct.id, PW, NULL), STREAM_EBUSY);
  ck_assert_int_gt(retry, 0);
  /* Sign-in draws from the same bucket. */
  stream_auth_tokens t;
  ck_assert_int_eq(stream_auth_login(&t, &retry, auth, "carol@example.com", PW, NULL),
                   STREAM_EBUSY);
  stream_auth_account got;
  ck_assert_int_eq(stream_auth_account_get(&got, auth, acct.id), STREAM_OK);
  /* Once the bucket refilled, the right password deletes. */
  clock_now += 3600;
  ck_assert_int_eq(stream_auth_account_delete(&retry, auth, acct.id, PW, NULL), STREAM_OK);
  ck_assert_int_eq(stream_auth_account_get(&got, auth, acct.id), STREAM_ENOTFOUND);
}
END_TEST

START_TEST(test_operator_delete_and_disabled_accounts)
{
  stream_auth_account acct;
  ck_assert_int_eq(stream_auth_register(&acct, auth, "dave@example.com", PW), STREAM_OK);
  stream_auth_tokens t;
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "dave@example.com", PW, NULL), STREAM_OK);
  stream_auth_identity id;
  /* Disabling rejects the account's access tokens at once; enabling restores them. */
  ck_assert_int_eq(stream_auth_account_set_disabled(auth, acct.id, 1), STREAM_OK);
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, t.access_token), STREAM_EFORBIDDEN);
  ck_assert_str_eq(id.account_id, "");
  ck_assert_int_eq(stream_auth_account_set_disabled(auth, acct.id, 0), STREAM_OK);
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, t.access_token), STREAM_OK);
  /* A disabled account can still be deleted by its owner. */
  ck_assert_int_eq(stream_auth_account_set_disabled(auth, acct.id, 1), STREAM_OK);
  ck_assert_int_eq(stream_auth_account_delete(NULL, auth, acct.id, PW, NULL), STREAM_OK);
  /* The operator variant needs no password. */
  stream_auth_account e;
  ck_assert_int_eq(stream_auth_register(&e, auth, "erin@example.com", PW), STREAM_OK);
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "erin@example.com", PW, NULL), STREAM_OK);
  ck_assert_int_eq(stream_auth_account_delete_admin(auth, e.id), STREAM_OK);
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, t.access_token), STREAM_EAUTH);
  stream_auth_tokens u;
  ck_assert_int_eq(stream_auth_refresh(&u, auth, t.refresh_token), STREAM_EAUTH);
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "erin@example.com", PW, NULL), STREAM_EAUTH);
  /* Deleted accounts cannot be changed back to life. */
  ck_assert_int_eq(stream_auth_account_set_disabled(auth, e.id, 0), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_auth_account_set_password(auth, e.id, "new password"), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_auth_account_set_role(auth, e.id, STREAM_AUTH_ROLE_OPERATOR),
                   STREAM_ENOTFOUND);
  ck_assert_int_eq(raw_int("SELECT disabled FROM accounts WHERE id = ?", e.id), 1);
}
END_TEST

START_TEST(test_bad_arguments)
{
  stream_auth_account acct;
  ck_assert_int_eq(stream_auth_register(&acct, auth, "frank@example.com", PW), STREAM_OK);
  int64_t retry = 7;
  ck_assert_int_eq(stream_auth_account_delete(&retry, NULL, acct.id, PW, NULL), STREAM_EINVAL);
  ck_assert_int_eq(retry, 0);
  ck_assert_str_ne(msg(), "");
  ck_assert_int_eq(stream_auth_account_delete(NULL, auth, NULL, PW, NULL), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "account id"));
  ck_assert_int_eq(stream_auth_account_delete(NULL, auth, "", PW, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_account_delete(NULL, auth, "bad id!", PW, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_account_delete(NULL, auth, acct.id, NULL, NULL), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "password"));
  ck_assert_int_eq(stream_auth_account_delete(NULL, auth, acct.id, "", NULL), STREAM_EINVAL);
  char big[1100];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  ck_assert_int_eq(stream_auth_account_delete(NULL, auth, acct.id, big, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_account_delete(NULL, auth, acct.id, PW, "bad address"),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_account_delete_admin(NULL, acct.id), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_account_delete_admin(auth, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_account_delete_admin(auth, "nosuchaccount"), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_auth_account_delete(NULL, auth, "nosuchaccount", PW, NULL),
                   STREAM_ENOTFOUND);
  /* Store level. */
  stream_store_account_close_counts c;
  ck_assert_int_eq(stream_store_account_close(&c, NULL, acct.id, clock_now), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_account_close(&c, store, NULL, clock_now), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_account_close(&c, store, acct.id, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_account_close(&c, store, "bad id!", clock_now), STREAM_EINVAL);
  /* Nothing of that touched the account. */
  stream_auth_tokens t;
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "frank@example.com", PW, NULL), STREAM_OK);
  /* The tombstones' domain is reserved. */
  ck_assert_int_eq(stream_auth_register(NULL, auth, "deleted-x@invalid", PW), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_register(NULL, auth, "someone@mail.INVALID", PW), STREAM_EINVAL);
}
END_TEST

static Suite *delete_suite(void)
{
  Suite *s = suite_create("auth-account-delete");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_delete_erases_the_person_and_keeps_the_records);
  tcase_add_test(tc, test_wrong_passwords_share_the_sign_in_rate_limit);
  tcase_add_test(tc, test_operator_delete_and_disabled_accounts);
  tcase_add_test(tc, test_bad_arguments);
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
