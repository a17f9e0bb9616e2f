/* Unit tests for the auth service (public API only, through the shared library),
 * over a real SQLite store in a temporary directory, with cheap Argon2id
 * parameters and an injected clock. Under tests/pg/pg_run.sh the same cases
 * run on PostgreSQL (store_path.h). */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth_fixture.h"
#include "stream/auth.h"
#include "stream/token.h"

#define T0 1700000000

static stream_store *store;
static stream_auth *auth;

static stream_auth_options base_options(void)
{
  stream_auth_options o;
  auth_fixture_options(&o, store);
  o.issuer = "https://streamd.test";
  o.audience = "stream-api";
  o.verification_uri = "https://streamd.test/activate";
  return o;
}

static void setup(void)
{
  auth_fixture_setup("auth", T0, false);
  store = auth_fixture_store();
  stream_auth_options o = base_options();
  ck_assert_int_eq(stream_auth_new(&auth, &o), STREAM_OK);
}

static void teardown(void)
{
  stream_auth_free(auth);
  auth = NULL;
  stream_store_close(store);
  store = NULL;
  auth_fixture_teardown(NULL);
}

static stream_auth_account new_account(const char *email)
{
  stream_auth_account acct;
  ck_assert_int_eq(stream_auth_register(&acct, auth, email, "correct horse"), STREAM_OK);
  return acct;
}

/* ---- register, login, refresh rotation, reuse, logout ------------------------- */

START_TEST(test_register_login_refresh_reuse_logout)
{
  stream_auth_account acct;
  ck_assert_int_eq(
      stream_auth_register(&acct, auth, "  Alice.Smith+tv@Example.COM \n", "correct horse"),
      STREAM_OK);
  ck_assert_str_eq(acct.email, "alice.smith+tv@example.com");
  ck_assert_uint_eq(strlen(acct.id), 22);
  ck_assert_int_eq(acct.role, STREAM_AUTH_ROLE_VIEWER);
  ck_assert_int_eq(acct.created_at, T0);
  ck_assert_int_eq(stream_auth_register(NULL, auth, "alice.smith+tv@example.com", "whatever1"),
                   STREAM_EEXIST);

  stream_auth_tokens t1, t2, t3;
  int64_t retry = -1;
  ck_assert_int_eq(stream_auth_login(&t1, &retry, auth, "ALICE.smith+TV@example.com",
                                     "correct horse", "192.0.2.1"),
                   STREAM_OK);
  ck_assert_int_eq(retry, 0);
  ck_assert_str_eq(t1.token_type, "Bearer");
  ck_assert_int_eq(t1.expires_in, 900);
  ck_assert_int_eq(t1.refresh_expires_in, 2592000);
  ck_assert_uint_eq(strlen(t1.refresh_token), 43);
  ck_assert_str_eq(t1.account_id, acct.id);
  ck_assert_str_eq(t1.profile_id, "");
  ck_assert_str_eq(t1.scope, "stream");

  stream_auth_identity id;
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, t1.access_token), STREAM_OK);
  ck_assert_str_eq(id.account_id, acct.id);
  ck_assert_str_eq(id.profile_id, "");
  ck_assert_int_eq(id.role, STREAM_AUTH_ROLE_VIEWER);
  ck_assert_int_eq(id.issued_at, T0);
  ck_assert_int_eq(id.expires_at, T0 + 900);
  ck_assert_int_eq(id.maturity_ceiling, 18);
  ck_assert_str_eq(id.scope, "stream");
  /* The access token is a JWT with our issuer, audience and typ at+jwt. */
  stream_token_verify_options vo = STREAM_TOKEN_VERIFY_OPTIONS_INIT;
  vo.iss = "https://streamd.test";
  vo.aud = "stream-api";
  vo.now = T0 + 1;
  vo.typ = "at+jwt";
  char *claims = NULL;
  ck_assert_int_eq(stream_token_verify(&claims, NULL, ring, t1.access_token, &vo), STREAM_OK);
  ck_assert_ptr_nonnull(strstr(claims, "\"role\":\"viewer\""));
  ck_assert_ptr_null(strstr(claims, "\"pid\""));
  stream_free(claims);

  /* Rotation: a new refresh token in the same family. */
  clock_now += 100;
  ck_assert_int_eq(stream_auth_refresh(&t2, auth, t1.refresh_token), STREAM_OK);
  ck_assert_str_ne(t2.refresh_token, t1.refresh_token);
  ck_assert_str_ne(t2.access_token, t1.access_token);
  ck_assert_str_eq(t2.account_id, acct.id);
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, t2.access_token), STREAM_OK);
  ck_assert_int_eq(id.issued_at, T0 + 100);

  /* Presenting the used token again is reuse: the whole family dies. */
  ck_assert_int_eq(stream_auth_refresh(&t3, auth, t1.refresh_token), STREAM_EAUTH);
  ck_assert_ptr_nonnull(strstr(msg(), "reuse detected"));
  ck_assert_str_eq(t3.access_token, "");
  ck_assert_int_eq(stream_auth_refresh(&t3, auth, t2.refresh_token), STREAM_EAUTH);
  ck_assert_ptr_nonnull(strstr(msg(), "revoked"));

  /* A fresh session, then logout revokes it; other sessions stay. */
  stream_auth_tokens s1, s2;
  ck_assert_int_eq(
      stream_auth_login(&s1, NULL, auth, "alice.smith+tv@example.com", "correct horse", NULL),
      STREAM_OK);
  ck_assert_int_eq(
      stream_auth_login(&s2, NULL, auth, "alice.smith+tv@example.com", "correct horse", NULL),
      STREAM_OK);
  ck_assert_int_eq(stream_auth_logout(auth, s1.refresh_token), STREAM_OK);
  ck_assert_int_eq(stream_auth_logout(auth, s1.refresh_token), STREAM_OK); /* idempotent */
  ck_assert_int_eq(stream_auth_refresh(&t3, auth, s1.refresh_token), STREAM_EAUTH);
  ck_assert_int_eq(stream_auth_refresh(&t3, auth, s2.refresh_token), STREAM_OK);
  ck_assert_int_eq(stream_auth_logout(auth, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                   STREAM_EAUTH);

  /* Logout everywhere. */
  size_t n = 0;
  ck_assert_int_eq(stream_auth_logout_all(&n, auth, acct.id), STREAM_OK);
  ck_assert_uint_eq(n, 2); /* s2 (used, not yet revoked) and its successor t3 */
  ck_assert_int_eq(stream_auth_refresh(&s2, auth, t3.refresh_token), STREAM_EAUTH);
}
END_TEST

START_TEST(test_refresh_expiry_and_revoke_rfc7009)
{
  stream_auth_account acct = new_account("bob@example.com");
  (void)acct;
  stream_auth_tokens t, u;
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "bob@example.com", "correct horse", NULL),
                   STREAM_OK);
  /* RFC 7009: garbage, unknown and access tokens are not errors. */
  ck_assert_int_eq(stream_auth_revoke(auth, "garbage", NULL), STREAM_OK);
  ck_assert_int_eq(stream_auth_revoke(auth, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "bogus"),
                   STREAM_OK);
  ck_assert_int_eq(stream_auth_revoke(auth, t.access_token, "access_token"), STREAM_OK);
  ck_assert_int_eq(stream_auth_revoke(auth, "", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_revoke(auth, NULL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_revoke(NULL, "x", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_refresh(&u, auth, t.refresh_token), STREAM_OK);
  ck_assert_int_eq(stream_auth_revoke(auth, u.refresh_token, "refresh_token"), STREAM_OK);
  ck_assert_int_eq(stream_auth_refresh(&t, auth, u.refresh_token), STREAM_EAUTH);

  /* Expiry of the refresh token (30 days), and of the access token (15 min). */
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "bob@example.com", "correct horse", NULL),
                   STREAM_OK);
  stream_auth_identity id;
  clock_now = T0 + 899;
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, t.access_token), STREAM_OK);
  clock_now = T0 + 900;
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, t.access_token), STREAM_EEXPIRED);
  ck_assert_str_eq(id.account_id, "");
  clock_now = T0 + 2592000;
  ck_assert_int_eq(stream_auth_refresh(&u, auth, t.refresh_token), STREAM_EEXPIRED);
}
END_TEST

/* ---- same error for unknown e-mail and wrong password ------------------------- */

START_TEST(test_unknown_email_and_wrong_password_look_the_same)
{
  new_account("carol@example.com");
  stream_auth_tokens t;
  char m1[512], m2[512];
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "carol@example.com", "wrong password", NULL),
                   STREAM_EAUTH);
  snprintf(m1, sizeof m1, "%s", msg());
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "nobody@example.com", "wrong password", NULL),
                   STREAM_EAUTH);
  snprintf(m2, sizeof m2, "%s", msg());
  ck_assert_str_eq(m1, m2);
  ck_assert_str_eq(m1, "invalid e-mail or password");
  ck_assert_str_eq(t.access_token, "");
  /* A short password is just a wrong password at sign-in. */
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "carol@example.com", "short", NULL),
                   STREAM_EAUTH);
  ck_assert_str_eq(msg(), "invalid e-mail or password");

  /* That both paths cost the same (a dummy Argon2id verification for an unknown e-mail) is
   * measured, not asserted here: bench/pwreset prints the sign-in ratio (docs/bench.md). */
}
END_TEST

/* ---- rate limits ------------------------------------------------------------------ */

START_TEST(test_rate_limits_trip_and_recover)
{
  stream_auth_free(auth);
  stream_auth_options o = base_options();
  o.rate_account_burst = 3;
  o.rate_account_interval = 60;
  o.rate_address_burst = 5;
  o.rate_address_interval = 10;
  ck_assert_int_eq(stream_auth_new(&auth, &o), STREAM_OK);
  new_account("frank@example.com");
  stream_auth_tokens t;
  int64_t retry = 0;
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(
        stream_auth_login(&t, &retry, auth, "frank@example.com", "bad password 1", "198.51.100.7"),
        STREAM_EAUTH);
  /* Fourth attempt on the account: 429 with Retry-After, even with the right password,
   * and from another address. */
  ck_assert_int_eq(
      stream_auth_login(&t, &retry, auth, "Frank@Example.com", "correct horse", "203.0.113.9"),
      STREAM_EBUSY);
  ck_assert_int_eq(retry, 60);
  ck_assert_ptr_nonnull(strstr(msg(), "retry in 60 s"));
  clock_now += 59;
  ck_assert_int_eq(
      stream_auth_login(&t, &retry, auth, "frank@example.com", "correct horse", "203.0.113.9"),
      STREAM_EBUSY);
  ck_assert_int_eq(retry, 1);
  clock_now += 1;
  ck_assert_int_eq(
      stream_auth_login(&t, &retry, auth, "frank@example.com", "correct horse", "203.0.113.9"),
      STREAM_OK);
  ck_assert_int_eq(retry, 0);
  /* Success refilled the account bucket: three more attempts are allowed. */
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(
        stream_auth_login(&t, &retry, auth, "frank@example.com", "bad password 1", NULL),
        STREAM_EAUTH);
  ck_assert_int_eq(stream_auth_login(&t, &retry, auth, "frank@example.com", "bad password 1", NULL),
                   STREAM_EBUSY);

  /* Per address: 5 attempts over different (unknown) e-mails, then 429 for 10 s. */
  char email[64];
  for (int i = 0; i < 5; i++) {
    snprintf(email, sizeof email, "user%d@example.com", i);
    ck_assert_int_eq(stream_auth_login(&t, &retry, auth, email, "bad password 1", "192.0.2.50"),
                     STREAM_EAUTH);
  }
  ck_assert_int_eq(
      stream_auth_login(&t, &retry, auth, "user9@example.com", "bad password 1", "192.0.2.50"),
      STREAM_EBUSY);
  ck_assert_int_eq(retry, 10);
  /* Another address is not affected, and the blocked attempt charged no account. */
  ck_assert_int_eq(
      stream_auth_login(&t, &retry, auth, "user9@example.com", "bad password 1", "192.0.2.51"),
      STREAM_EAUTH);
  clock_now += 10;
  ck_assert_int_eq(
      stream_auth_login(&t, &retry, auth, "user8@example.com", "bad password 1", "192.0.2.50"),
      STREAM_EAUTH);
}
END_TEST

START_TEST(test_rate_table_is_bounded)
{
  stream_auth_free(auth);
  stream_auth_options o = base_options();
  o.rate_account_burst = 1;
  o.rate_account_interval = 3600;
  o.rate_address_burst = 0; /* off */
  o.rate_table_size = 64;
  ck_assert_int_eq(stream_auth_new(&auth, &o), STREAM_OK);
  stream_auth_tokens t;
  char email[64];
  /* Far more names than slots: never a crash, each first attempt is allowed. */
  for (int i = 0; i < 2000; i++) {
    snprintf(email, sizeof email, "flood%d@example.com", i);
    ck_assert_int_eq(stream_auth_login(&t, NULL, auth, email, "bad password 1", NULL),
                     STREAM_EAUTH);
  }
  /* The most recent name is still remembered. */
  ck_assert_int_eq(
      stream_auth_login(&t, NULL, auth, "flood1999@example.com", "bad password 1", NULL),
      STREAM_EBUSY);
}
END_TEST

/* ---- device grant ------------------------------------------------------------------ */

static void check_user_code(const char *uc)
{
  ck_assert_uint_eq(strlen(uc), 9);
  ck_assert_int_eq(uc[4], '-');
  for (int i = 0; i < 9; i++)
    if (i != 4)
      ck_assert_ptr_nonnull(strchr(STREAM_AUTH_USER_CODE_ALPHABET, uc[i]));
}

START_TEST(test_device_flow_end_to_end)
{
  stream_auth_account acct = new_account("tv@example.com");
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.name = "Living room";
  stream_auth_profile prof;
  ck_assert_int_eq(stream_auth_profile_create(&prof, auth, acct.id, &in), STREAM_OK);

  stream_auth_device_code dc;
  ck_assert_int_eq(stream_auth_device_start(&dc, auth, "tv-app", "stream offline"), STREAM_OK);
  check_user_code(dc.user_code);
  ck_assert_uint_eq(strlen(dc.device_code), 43);
  ck_assert_str_eq(dc.verification_uri, "https://streamd.test/activate");
  char want[128];
  snprintf(want, sizeof want, "https://streamd.test/activate?user_code=%s", dc.user_code);
  ck_assert_str_eq(dc.verification_uri_complete, want);
  ck_assert_int_eq(dc.expires_in, 600);
  ck_assert_int_eq(dc.interval, 5);

  stream_auth_tokens t;
  int st = -1;
  ck_assert_int_eq(stream_auth_device_poll(&t, &st, auth, dc.device_code, "tv-app"), STREAM_EBUSY);
  ck_assert_int_eq(st, STREAM_AUTH_POLL_PENDING);
  ck_assert_ptr_nonnull(strstr(msg(), "authorization_pending"));
  /* Polling too fast: slow_down and the interval grows by 5 s. */
  clock_now += 2;
  ck_assert_int_eq(stream_auth_device_poll(&t, &st, auth, dc.device_code, "tv-app"), STREAM_EBUSY);
  ck_assert_int_eq(st, STREAM_AUTH_POLL_SLOW_DOWN);
  ck_assert_ptr_nonnull(strstr(msg(), "interval is now 10 s"));
  clock_now += 5; /* the old interval is not enough any more */
  ck_assert_int_eq(stream_auth_device_poll(&t, &st, auth, dc.device_code, "tv-app"), STREAM_EBUSY);
  ck_assert_int_eq(st, STREAM_AUTH_POLL_SLOW_DOWN);
  ck_assert_ptr_nonnull(strstr(msg(), "interval is now 15 s"));
  clock_now += 15;
  ck_assert_int_eq(stream_auth_device_poll(&t, &st, auth, dc.device_code, "tv-app"), STREAM_EBUSY);
  ck_assert_int_eq(st, STREAM_AUTH_POLL_PENDING);

  /* The activation page: lookup and approve, case-insensitive, dash optional. */
  char typed[16];
  for (int i = 0, k = 0; i < 9; i++)
    if (i != 4)
      typed[k++] = (char)(dc.user_code[i] + 32), typed[k] = '\0';
  stream_auth_device_info info;
  ck_assert_int_eq(stream_auth_device_lookup(&info, auth, typed), STREAM_OK);
  ck_assert_str_eq(info.user_code, dc.user_code);
  ck_assert_str_eq(info.client_id, "tv-app");
  ck_assert_str_eq(info.scope, "stream offline");
  ck_assert_int_eq(info.status, STREAM_STORE_DEVICE_PENDING);
  ck_assert_int_eq(stream_auth_device_approve(auth, typed, acct.id, prof.id), STREAM_OK);
  ck_assert_int_eq(stream_auth_device_approve(auth, dc.user_code, acct.id, NULL), STREAM_ECONFLICT);
  ck_assert_int_eq(stream_auth_device_deny(auth, dc.user_code), STREAM_ECONFLICT);

  /* Another client id cannot redeem it. */
  clock_now += 15;
  ck_assert_int_eq(stream_auth_device_poll(&t, &st, auth, dc.device_code, "evil-app"),
                   STREAM_EAUTH);
  ck_assert_int_eq(st, STREAM_AUTH_POLL_INVALID_GRANT);
  ck_assert_int_eq(stream_auth_device_poll(&t, &st, auth, dc.device_code, "tv-app"), STREAM_OK);
  ck_assert_int_eq(st, STREAM_AUTH_POLL_SUCCESS);
  ck_assert_str_eq(t.account_id, acct.id);
  ck_assert_str_eq(t.profile_id, prof.id);
  stream_auth_identity id;
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, t.access_token), STREAM_OK);
  ck_assert_str_eq(id.profile_id, prof.id);
  /* Tokens only once. */
  clock_now += 15;
  stream_auth_tokens t2;
  ck_assert_int_eq(stream_auth_device_poll(&t2, &st, auth, dc.device_code, "tv-app"), STREAM_EAUTH);
  ck_assert_int_eq(st, STREAM_AUTH_POLL_INVALID_GRANT);
  ck_assert_str_eq(t2.access_token, "");
  /* The device's refresh token works like any other. */
  ck_assert_int_eq(stream_auth_refresh(&t2, auth, t.refresh_token), STREAM_OK);
  ck_assert_str_eq(t2.profile_id, prof.id);
  ck_assert_int_eq(stream_auth_device_lookup(&info, auth, dc.user_code), STREAM_OK);
  ck_assert_int_eq(info.status, STREAM_STORE_DEVICE_CONSUMED);
}
END_TEST

START_TEST(test_device_expiry_denial_and_bad_input)
{
  stream_auth_account acct = new_account("tv2@example.com");
  stream_auth_device_code dc, dc2;
  stream_auth_tokens t;
  int st = -1;
  ck_assert_int_eq(stream_auth_device_start(&dc, auth, "tv-app", NULL), STREAM_OK);
  ck_assert_int_eq(stream_auth_device_start(&dc2, auth, "tv-app", ""), STREAM_OK);
  ck_assert_str_ne(dc.user_code, dc2.user_code);
  ck_assert_str_ne(dc.device_code, dc2.device_code);

  /* Denial. */
  ck_assert_int_eq(stream_auth_device_deny(auth, dc2.user_code), STREAM_OK);
  ck_assert_int_eq(stream_auth_device_poll(&t, &st, auth, dc2.device_code, "tv-app"),
                   STREAM_EFORBIDDEN);
  ck_assert_int_eq(st, STREAM_AUTH_POLL_DENIED);
  ck_assert_ptr_nonnull(strstr(msg(), "access_denied"));

  /* Expiry. */
  clock_now += 600;
  ck_assert_int_eq(stream_auth_device_poll(&t, &st, auth, dc.device_code, "tv-app"),
                   STREAM_EEXPIRED);
  ck_assert_int_eq(st, STREAM_AUTH_POLL_EXPIRED);
  ck_assert_int_eq(stream_auth_device_approve(auth, dc.user_code, acct.id, NULL), STREAM_EEXPIRED);
  stream_auth_device_info info;
  ck_assert_int_eq(stream_auth_device_lookup(&info, auth, dc.user_code), STREAM_OK);
  ck_assert_int_eq(info.status, STREAM_STORE_DEVICE_EXPIRED);

  /* Unknown and malformed codes. */
  ck_assert_int_eq(stream_auth_device_poll(&t, &st, auth,
                                           "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "tv-app"),
                   STREAM_EAUTH);
  ck_assert_int_eq(st, STREAM_AUTH_POLL_INVALID_GRANT);
  ck_assert_int_eq(stream_auth_device_poll(&t, &st, auth, "short", "tv-app"), STREAM_EAUTH);
  ck_assert_int_eq(st, STREAM_AUTH_POLL_INVALID_GRANT);
  ck_assert_int_eq(stream_auth_device_poll(&t, &st, auth, NULL, "tv-app"), STREAM_EINVAL);
  ck_assert_int_eq(st, STREAM_AUTH_POLL_INVALID_REQUEST);
  ck_assert_int_eq(stream_auth_device_poll(&t, &st, auth, dc.device_code, ""), STREAM_EINVAL);
  ck_assert_int_eq(st, STREAM_AUTH_POLL_INVALID_REQUEST);
  ck_assert_int_eq(stream_auth_device_poll(NULL, &st, auth, dc.device_code, "tv-app"),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_device_start(&dc, auth, "", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_device_start(&dc, auth, "tv\napp", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_device_start(&dc, auth, "tv", "bad\"scope"), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_device_start(&dc, auth, "tv", "two  spaces"), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_device_start(NULL, auth, "tv", NULL), STREAM_EINVAL);
  const char *bad_codes[] = {
      "", "ABCD-EFGH" /* vowels */, "BCDF-GHJ", "BCDF-GHJKL", "BCDF-GHJ1", "BCDF_GHJK"};
  for (size_t i = 0; i < sizeof bad_codes / sizeof *bad_codes; i++) {
    ck_assert_int_eq(stream_auth_device_approve(auth, bad_codes[i], acct.id, NULL), STREAM_EINVAL);
    ck_assert_str_ne(msg(), "");
  }
  ck_assert_int_eq(stream_auth_device_approve(auth, "BCDF-GHJK", acct.id, NULL), STREAM_ENOTFOUND);
  /* Device grant disabled without a verification_uri. */
  stream_auth *noverify = NULL;
  stream_auth_options o = base_options();
  o.verification_uri = NULL;
  ck_assert_int_eq(stream_auth_new(&noverify, &o), STREAM_OK);
  ck_assert_int_eq(stream_auth_device_start(&dc, noverify, "tv", NULL), STREAM_ENOTSUP);
  stream_auth_free(noverify);
}
END_TEST

START_TEST(test_device_approve_checks_profile_owner)
{
  stream_auth_account a1 = new_account("one@example.com");
  stream_auth_account a2 = new_account("two@example.com");
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.name = "Mine";
  stream_auth_profile p2;
  ck_assert_int_eq(stream_auth_profile_create(&p2, auth, a2.id, &in), STREAM_OK);
  stream_auth_device_code dc;
  ck_assert_int_eq(stream_auth_device_start(&dc, auth, "tv", NULL), STREAM_OK);
  ck_assert_int_eq(stream_auth_device_approve(auth, dc.user_code, a1.id, p2.id), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_auth_device_approve(auth, dc.user_code, "nosuchaccount", NULL),
                   STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_auth_device_approve(auth, dc.user_code, a1.id, ""), STREAM_OK);
}
END_TEST

/* An account `email` with a profile "Locked" (PIN 4321) and a profile "Open" (no PIN), and
 * a device code waiting for approval. */
static void tv_with_locked_profile(stream_auth_account *acct, stream_auth_profile *locked,
                                   stream_auth_profile *open, stream_auth_device_code *dc,
                                   const char *email)
{
  *acct = new_account(email);
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.name = "Locked";
  in.pin = "4321";
  ck_assert_int_eq(stream_auth_profile_create(locked, auth, acct->id, &in), STREAM_OK);
  in.name = "Open";
  in.pin = NULL;
  ck_assert_int_eq(stream_auth_profile_create(open, auth, acct->id, &in), STREAM_OK);
  ck_assert_int_eq(stream_auth_device_start(dc, auth, "tv", NULL), STREAM_OK);
}

/* The approved device gets tokens scoped to the profile: approving a profile that has a
 * PIN without it would be a way around the PIN. Before the fix this approval answered
 * STREAM_OK and the device's poll got tokens of the locked profile. */
START_TEST(test_device_approve_refuses_locked_profile_without_pin)
{
  stream_auth_account acct;
  stream_auth_profile locked, open;
  stream_auth_device_code dc;
  tv_with_locked_profile(&acct, &locked, &open, &dc, "tv@example.com");
  ck_assert_int_eq(stream_auth_device_approve(auth, dc.user_code, acct.id, locked.id),
                   STREAM_EFORBIDDEN);
  ck_assert_msg(strstr(msg(), "requires its PIN") != NULL, "%s", msg());
  /* Still pending: the device gets nothing. */
  stream_auth_device_info info;
  ck_assert_int_eq(stream_auth_device_lookup(&info, auth, dc.user_code), STREAM_OK);
  ck_assert_int_eq(info.status, STREAM_STORE_DEVICE_PENDING);
  clock_now += 10;
  stream_auth_tokens t;
  int st = -1;
  ck_assert_int_eq(stream_auth_device_poll(&t, &st, auth, dc.device_code, "tv"), STREAM_EBUSY);
  ck_assert_int_eq(st, STREAM_AUTH_POLL_PENDING);
  /* A profile without a PIN, and no profile, are approved as before. */
  ck_assert_int_eq(stream_auth_device_approve(auth, dc.user_code, acct.id, open.id), STREAM_OK);
  clock_now += 10;
  ck_assert_int_eq(stream_auth_device_poll(&t, &st, auth, dc.device_code, "tv"), STREAM_OK);
  ck_assert_str_eq(t.profile_id, open.id);
  ck_assert_int_eq(stream_auth_device_start(&dc, auth, "tv", NULL), STREAM_OK);
  ck_assert_int_eq(stream_auth_device_approve(auth, dc.user_code, acct.id, NULL), STREAM_OK);
}
END_TEST

/* stream_auth_device_approve_pin: the profile switch's PIN check and attempt limit (one
 * bucket for both), checked before the code is marked approved. */
START_TEST(test_device_approve_pin)
{
  stream_auth_free(auth);
  stream_auth_options o = base_options();
  o.rate_account_burst = 3;
  o.rate_account_interval = 30;
  ck_assert_int_eq(stream_auth_new(&auth, &o), STREAM_OK);
  stream_auth_account acct;
  stream_auth_profile locked, open;
  stream_auth_device_code dc;
  tv_with_locked_profile(&acct, &locked, &open, &dc, "tvpin@example.com");
  int64_t retry = -1;
  /* Bad input: not 4 digits, a PIN without a profile. */
  ck_assert_int_eq(
      stream_auth_device_approve_pin(&retry, auth, dc.user_code, acct.id, locked.id, "12a4"),
      STREAM_EINVAL);
  ck_assert_int_eq(retry, 0);
  ck_assert_int_eq(
      stream_auth_device_approve_pin(&retry, auth, dc.user_code, acct.id, NULL, "4321"),
      STREAM_EINVAL);
  ck_assert_int_eq(
      stream_auth_device_approve_pin(&retry, auth, dc.user_code, acct.id, locked.id, NULL),
      STREAM_EFORBIDDEN);
  /* Wrong PINs: refused, the code stays pending; the fourth attempt is over the limit. */
  ck_assert_int_eq(
      stream_auth_device_approve_pin(&retry, auth, dc.user_code, acct.id, locked.id, "1111"),
      STREAM_EFORBIDDEN);
  ck_assert_msg(strstr(msg(), "wrong PIN") != NULL, "%s", msg());
  ck_assert_int_eq(
      stream_auth_device_approve_pin(&retry, auth, dc.user_code, acct.id, locked.id, "2222"),
      STREAM_EFORBIDDEN);
  stream_auth_tokens t;
  ck_assert_int_eq(stream_auth_switch_profile(&t, &retry, auth, acct.id, locked.id, "3333"),
                   STREAM_EFORBIDDEN);
  ck_assert_int_eq(
      stream_auth_device_approve_pin(&retry, auth, dc.user_code, acct.id, locked.id, "4321"),
      STREAM_EBUSY);
  ck_assert_int_eq(retry, 30);
  stream_auth_device_info info;
  ck_assert_int_eq(stream_auth_device_lookup(&info, auth, dc.user_code), STREAM_OK);
  ck_assert_int_eq(info.status, STREAM_STORE_DEVICE_PENDING);
  /* Once the bucket refilled, the right PIN approves, and the device's tokens are the
   * profile's. */
  clock_now += 30;
  ck_assert_int_eq(
      stream_auth_device_approve_pin(&retry, auth, dc.user_code, acct.id, locked.id, "4321"),
      STREAM_OK);
  ck_assert_int_eq(retry, 0);
  int st = -1;
  ck_assert_int_eq(stream_auth_device_poll(&t, &st, auth, dc.device_code, "tv"), STREAM_OK);
  ck_assert_str_eq(t.profile_id, locked.id);
  /* A profile without a PIN ignores one. */
  ck_assert_int_eq(stream_auth_device_start(&dc, auth, "tv", NULL), STREAM_OK);
  ck_assert_int_eq(
      stream_auth_device_approve_pin(NULL, auth, dc.user_code, acct.id, open.id, "9999"),
      STREAM_OK);
}
END_TEST

/* ---- profiles ------------------------------------------------------------------------ */

START_TEST(test_profiles_limit_pin_and_switch)
{
  stream_auth_account acct = new_account("family@example.com");
  stream_auth_account other = new_account("other@example.com");
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  stream_auth_profile p[6];
  const char *names[] = {"Mum", "Dad", "Kid", "Gran", "Guest", "Sixth"};
  for (int i = 0; i < 5; i++) {
    in.name = names[i];
    in.kids = i == 2 ? 1 : -1;
    in.pin = i == 0 ? "4321" : NULL;
    clock_now++; /* "oldest first" needs distinct creation times */
    ck_assert_int_eq(stream_auth_profile_create(&p[i], auth, acct.id, &in), STREAM_OK);
  }
  ck_assert_int_eq(p[0].has_pin, 1);
  ck_assert_int_eq(p[1].has_pin, 0);
  ck_assert_int_eq(p[1].maturity_ceiling, 18);
  ck_assert_int_eq(p[2].kids, 1);
  ck_assert_int_eq(p[2].maturity_ceiling, 7);
  in.name = names[5];
  in.kids = -1;
  in.pin = NULL;
  ck_assert_int_eq(stream_auth_profile_create(&p[5], auth, acct.id, &in), STREAM_ERANGE);
  ck_assert_ptr_nonnull(strstr(msg(), "5 profiles"));

  stream_auth_profile list[STREAM_AUTH_PROFILES_MAX];
  size_t n = 0;
  ck_assert_int_eq(stream_auth_profile_list(list, &n, auth, acct.id), STREAM_OK);
  ck_assert_uint_eq(n, 5);
  for (size_t i = 0; i < n; i++)
    ck_assert_str_eq(list[i].name, names[i]);
  ck_assert_int_eq(stream_auth_profile_list(list, &n, auth, other.id), STREAM_OK);
  ck_assert_uint_eq(n, 0);

  /* Duplicates, bad ceilings, bad PINs. */
  in.name = "Dad";
  in.maturity_ceiling = -1;
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, other.id, &in), STREAM_OK);
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, other.id, &in), STREAM_EEXIST);
  in.name = "Teen";
  in.kids = 1;
  in.maturity_ceiling = 13;
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, other.id, &in), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "kids"));
  in.kids = 0;
  in.maturity_ceiling = 12;
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, other.id, &in), STREAM_EINVAL);
  in.maturity_ceiling = 13;
  const char *bad_pins[] = {"123", "12345", "12a4", " 123"};
  for (size_t i = 0; i < 4; i++) {
    in.pin = bad_pins[i];
    ck_assert_int_eq(stream_auth_profile_create(NULL, auth, other.id, &in), STREAM_EINVAL);
    ck_assert_ptr_nonnull(strstr(msg(), "PIN"));
  }
  in.pin = NULL;
  in.name = "";
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, other.id, &in), STREAM_EINVAL);
  in.name = "tab\tname";
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, other.id, &in), STREAM_EINVAL);
  in.name = "\xc3\x28";
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, other.id, &in), STREAM_EINVAL);
  in.name = "Am\xc3\xa9lie";
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, other.id, &in), STREAM_OK);

  /* Update: kids on lowers the ceiling; PIN set and removed; partial updates keep fields. */
  stream_auth_profile_input up = STREAM_AUTH_PROFILE_INPUT_INIT;
  up.kids = 1;
  stream_auth_profile got;
  ck_assert_int_eq(stream_auth_profile_update(&got, auth, acct.id, p[3].id, &up), STREAM_OK);
  ck_assert_int_eq(got.kids, 1);
  ck_assert_int_eq(got.maturity_ceiling, 7);
  ck_assert_str_eq(got.name, "Gran");
  up = (stream_auth_profile_input)STREAM_AUTH_PROFILE_INPUT_INIT;
  up.maturity_ceiling = 16;
  ck_assert_int_eq(stream_auth_profile_update(&got, auth, acct.id, p[3].id, &up), STREAM_EINVAL);
  up.kids = 0;
  up.avatar = "https://img.test/a.png";
  ck_assert_int_eq(stream_auth_profile_update(&got, auth, acct.id, p[3].id, &up), STREAM_OK);
  ck_assert_int_eq(got.maturity_ceiling, 16);
  ck_assert_str_eq(got.avatar, "https://img.test/a.png");
  /* Another account cannot see or change the profile. */
  ck_assert_int_eq(stream_auth_profile_update(&got, auth, other.id, p[3].id, &up),
                   STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_auth_profile_get(&got, auth, other.id, p[3].id), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_auth_profile_delete(auth, other.id, p[3].id), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_auth_profile_get(&got, auth, acct.id, p[3].id), STREAM_OK);
  ck_assert_int_eq(got.maturity_ceiling, 16);

  /* Switch: PIN required and checked (403, not 401). */
  stream_auth_tokens t;
  int64_t retry = 0;
  ck_assert_int_eq(stream_auth_switch_profile(&t, &retry, auth, acct.id, p[0].id, NULL),
                   STREAM_EFORBIDDEN);
  ck_assert_int_eq(stream_auth_switch_profile(&t, &retry, auth, acct.id, p[0].id, "0000"),
                   STREAM_EFORBIDDEN);
  ck_assert_ptr_nonnull(strstr(msg(), "wrong PIN"));
  ck_assert_int_eq(stream_auth_switch_profile(&t, &retry, auth, acct.id, p[0].id, "12"),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_switch_profile(&t, &retry, auth, acct.id, p[0].id, "4321"),
                   STREAM_OK);
  ck_assert_str_eq(t.profile_id, p[0].id);
  stream_auth_identity id;
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, t.access_token), STREAM_OK);
  ck_assert_str_eq(id.profile_id, p[0].id);
  ck_assert_str_eq(id.account_id, acct.id);
  ck_assert_int_eq(id.kids, 0);
  ck_assert_int_eq(id.maturity_ceiling, 18);
  /* The kids profile: pid, kids and mat in the token, kept across refresh. */
  ck_assert_int_eq(stream_auth_switch_profile(&t, NULL, auth, acct.id, p[2].id, NULL), STREAM_OK);
  stream_token_verify_options vo = STREAM_TOKEN_VERIFY_OPTIONS_INIT;
  vo.iss = "https://streamd.test";
  vo.aud = "stream-api";
  vo.now = clock_now;
  vo.typ = "at+jwt";
  char *claims = NULL;
  ck_assert_int_eq(stream_token_verify(&claims, NULL, ring, t.access_token, &vo), STREAM_OK);
  char want[128];
  snprintf(want, sizeof want, "\"pid\":\"%s\"", p[2].id);
  ck_assert_ptr_nonnull(strstr(claims, want));
  ck_assert_ptr_nonnull(strstr(claims, "\"kids\":1"));
  ck_assert_ptr_nonnull(strstr(claims, "\"mat\":7"));
  stream_free(claims);
  stream_auth_tokens r;
  ck_assert_int_eq(stream_auth_refresh(&r, auth, t.refresh_token), STREAM_OK);
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, r.access_token), STREAM_OK);
  ck_assert_str_eq(id.profile_id, p[2].id);
  ck_assert_int_eq(id.kids, 1);
  ck_assert_int_eq(id.maturity_ceiling, 7);
  /* A parent's change to the profile applies to the tokens already issued: verification
   * takes the profile's current kids flag and ceiling, not the claims. */
  stream_auth_profile_input tighten = STREAM_AUTH_PROFILE_INPUT_INIT;
  tighten.maturity_ceiling = 0;
  ck_assert_int_eq(stream_auth_profile_update(&got, auth, acct.id, p[2].id, &tighten), STREAM_OK);
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, r.access_token), STREAM_OK);
  ck_assert_int_eq(id.kids, 1);
  ck_assert_int_eq(id.maturity_ceiling, 0);
  tighten.maturity_ceiling = 7;
  ck_assert_int_eq(stream_auth_profile_update(&got, auth, acct.id, p[2].id, &tighten), STREAM_OK);
  /* A profile of another account cannot be switched to. */
  ck_assert_int_eq(stream_auth_switch_profile(&t, NULL, auth, other.id, p[2].id, NULL),
                   STREAM_ENOTFOUND);
  /* Removing the PIN; deleting the profile kills its refresh tokens. */
  up = (stream_auth_profile_input)STREAM_AUTH_PROFILE_INPUT_INIT;
  up.pin = "";
  ck_assert_int_eq(stream_auth_profile_update(&got, auth, acct.id, p[0].id, &up), STREAM_OK);
  ck_assert_int_eq(got.has_pin, 0);
  stream_auth_tokens keep;
  ck_assert_int_eq(stream_auth_switch_profile(&keep, NULL, auth, acct.id, p[0].id, NULL),
                   STREAM_OK);
  ck_assert_int_eq(stream_auth_profile_delete(auth, acct.id, p[2].id), STREAM_OK);
  ck_assert_int_eq(stream_auth_refresh(&t, auth, r.refresh_token), STREAM_EAUTH);
  /* ... and its access tokens at once, as a deleted account's (the account's others work). */
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, r.access_token), STREAM_EAUTH);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "profile"));
  ck_assert_str_eq(id.account_id, "");
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, keep.access_token), STREAM_OK);
  ck_assert_int_eq(stream_auth_profile_list(list, &n, auth, acct.id), STREAM_OK);
  ck_assert_uint_eq(n, 4);
}
END_TEST

START_TEST(test_pin_attempts_are_rate_limited)
{
  stream_auth_free(auth);
  stream_auth_options o = base_options();
  o.rate_account_burst = 3;
  o.rate_account_interval = 30;
  ck_assert_int_eq(stream_auth_new(&auth, &o), STREAM_OK);
  stream_auth_account acct = new_account("pin@example.com");
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.name = "Locked";
  in.pin = "0420";
  stream_auth_profile p;
  ck_assert_int_eq(stream_auth_profile_create(&p, auth, acct.id, &in), STREAM_OK);
  stream_auth_tokens t;
  int64_t retry = 0;
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(stream_auth_switch_profile(&t, &retry, auth, acct.id, p.id, "1111"),
                     STREAM_EFORBIDDEN);
  ck_assert_int_eq(stream_auth_switch_profile(&t, &retry, auth, acct.id, p.id, "0420"),
                   STREAM_EBUSY);
  ck_assert_int_eq(retry, 30);
  clock_now += 30;
  ck_assert_int_eq(stream_auth_switch_profile(&t, &retry, auth, acct.id, p.id, "0420"), STREAM_OK);
}
END_TEST

/* ---- accounts, roles ------------------------------------------------------------------ */

START_TEST(test_operator_role_and_disabled_accounts)
{
  stream_auth_account op;
  ck_assert_int_eq(stream_auth_account_create(&op, auth, "ops@example.com", "operator pass",
                                              STREAM_AUTH_ROLE_OPERATOR),
                   STREAM_OK);
  ck_assert_int_eq(op.role, STREAM_AUTH_ROLE_OPERATOR);
  ck_assert_int_eq(stream_auth_account_create(NULL, auth, "x@example.com", "operator pass", 7),
                   STREAM_EINVAL);
  stream_auth_tokens t;
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "ops@example.com", "operator pass", NULL),
                   STREAM_OK);
  ck_assert_int_eq(t.role, STREAM_AUTH_ROLE_OPERATOR);
  stream_auth_identity id;
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, t.access_token), STREAM_OK);
  ck_assert_int_eq(id.role, STREAM_AUTH_ROLE_OPERATOR);

  ck_assert_int_eq(stream_auth_account_set_role(auth, op.id, STREAM_AUTH_ROLE_VIEWER), STREAM_OK);
  stream_auth_tokens u;
  ck_assert_int_eq(stream_auth_refresh(&u, auth, t.refresh_token), STREAM_OK);
  ck_assert_int_eq(u.role, STREAM_AUTH_ROLE_VIEWER);
  stream_auth_account got;
  ck_assert_int_eq(stream_auth_account_get(&got, auth, op.id), STREAM_OK);
  ck_assert_str_eq(got.email, "ops@example.com");
  ck_assert_int_eq(got.role, STREAM_AUTH_ROLE_VIEWER);

  /* Disabled: refresh and login answer 403 (only after the right password). */
  ck_assert_int_eq(stream_auth_account_set_disabled(auth, op.id, 1), STREAM_OK);
  ck_assert_int_eq(stream_auth_refresh(&t, auth, u.refresh_token), STREAM_EAUTH); /* revoked */
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "ops@example.com", "operator pass", NULL),
                   STREAM_EFORBIDDEN);
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "ops@example.com", "wrong pass!", NULL),
                   STREAM_EAUTH);
  ck_assert_int_eq(stream_auth_account_set_disabled(auth, op.id, 0), STREAM_OK);
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "ops@example.com", "operator pass", NULL),
                   STREAM_OK);

  /* New password signs out everywhere. */
  ck_assert_int_eq(stream_auth_account_set_password(auth, op.id, "new password"), STREAM_OK);
  ck_assert_int_eq(stream_auth_refresh(&u, auth, t.refresh_token), STREAM_EAUTH);
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "ops@example.com", "operator pass", NULL),
                   STREAM_EAUTH);
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "ops@example.com", "new password", NULL),
                   STREAM_OK);
  ck_assert_int_eq(stream_auth_account_set_password(auth, op.id, "short"), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_account_get(&got, auth, "missing"), STREAM_ENOTFOUND);
}
END_TEST

START_TEST(test_login_upgrades_old_hash_params)
{
  stream_password_params older = cheap;
  older.t_cost = 2;
  stream_auth *old = NULL;
  stream_auth_options o = base_options();
  o.password = &older;
  ck_assert_int_eq(stream_auth_new(&old, &o), STREAM_OK);
  ck_assert_int_eq(stream_auth_register(NULL, old, "up@example.com", "correct horse"), STREAM_OK);
  stream_auth_free(old);
  stream_auth_tokens t;
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "up@example.com", "correct horse", NULL),
                   STREAM_OK);
  stream_store_account row;
  ck_assert_int_eq(stream_store_account_get_by_email(&row, store, "up@example.com"), STREAM_OK);
  ck_assert_ptr_nonnull(strstr(row.password_hash, "t=1,"));
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "up@example.com", "correct horse", NULL),
                   STREAM_OK);
}
END_TEST

/* ---- bad input ------------------------------------------------------------------------ */

START_TEST(test_email_normalization)
{
  char out[STREAM_AUTH_EMAIL_SIZE];
  ck_assert_int_eq(stream_auth_email_normalize(out, sizeof out, "\t A.B+C@Ex-Ample.ORG  "),
                   STREAM_OK);
  ck_assert_str_eq(out, "a.b+c@ex-ample.org");
  ck_assert_int_eq(stream_auth_email_normalize(out, sizeof out, "Ünï@exämple.de"), STREAM_OK);
  ck_assert_str_eq(out, "Ünï@exämple.de");
  const char *bad[] = {
      "",        "   ",       "noat",        "a@@b.c",    "a@b@c",    "@example.com",
      "a@",      "a b@c.d",   "a@b..c",      "a@.b",      "a@b.",     "\"a\"@b.c",
      "a@b_c.d", "a\x01@b.c", "a@[1.2.3.4]", "a\xff@b.c", "a@b\xc3.c"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ck_assert_msg(stream_auth_email_normalize(out, sizeof out, bad[i]) == STREAM_EINVAL,
                  "accepted %s", bad[i]);
    ck_assert_str_ne(msg(), "");
    ck_assert_str_eq(out, "");
  }
  char big[400];
  memset(big, 'a', sizeof big);
  big[sizeof big - 1] = '\0';
  memcpy(big + 100, "@example.com", 12);
  ck_assert_int_eq(stream_auth_email_normalize(out, sizeof out, big), STREAM_EINVAL);
  char local[80];
  memset(local, 'a', 65);
  strcpy(local + 65, "@b.c");
  ck_assert_int_eq(stream_auth_email_normalize(out, sizeof out, local), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_email_normalize(out, 4, "a@b.c"), STREAM_ERANGE);
  ck_assert_int_eq(stream_auth_email_normalize(NULL, 4, "a@b.c"), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_email_normalize(out, sizeof out, NULL), STREAM_EINVAL);
}
END_TEST

START_TEST(test_bad_input_is_einval_with_message)
{
  stream_auth_account acct;
  stream_auth_tokens t;
  char *huge = malloc(100000);
  memset(huge, 'x', 99999);
  huge[99999] = '\0';

  ck_assert_int_eq(stream_auth_register(&acct, NULL, "a@b.c", "password1"), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_register(&acct, auth, NULL, "password1"), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_register(&acct, auth, "", "password1"), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_register(&acct, auth, huge, "password1"), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_register(&acct, auth, "not-an-email", "password1"), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "@"));
  ck_assert_int_eq(stream_auth_register(&acct, auth, "a@b.c", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_register(&acct, auth, "a@b.c", "short12"), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "at least 8"));
  ck_assert_int_eq(stream_auth_register(&acct, auth, "a@b.c", huge), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "at most 1024"));
  huge[1024] = '\0';
  ck_assert_int_eq(stream_auth_register(&acct, auth, "a@b.c", huge), STREAM_OK); /* exactly 1024 */
  huge[1024] = 'x';

  ck_assert_int_eq(stream_auth_login(NULL, NULL, auth, "a@b.c", "password1", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_login(&t, NULL, NULL, "a@b.c", "password1", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, NULL, "password1", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "a@b.c", "", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "a@b.c", huge, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "a@b.c", "password1", huge), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "a@b.c", "password1", "bad addr"),
                   STREAM_EINVAL);

  ck_assert_int_eq(stream_auth_refresh(NULL, auth, "x"), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_refresh(&t, auth, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_refresh(&t, auth, ""), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_refresh(&t, auth, huge), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_refresh(&t, auth, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!"),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_refresh(&t, auth, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                   STREAM_EAUTH);
  ck_assert_int_eq(stream_auth_logout(NULL, "x"), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_logout(auth, huge), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_logout_all(NULL, auth, ""), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_revoke(auth, huge, NULL), STREAM_OK);

  stream_auth_identity id;
  ck_assert_int_eq(stream_auth_verify_access(NULL, auth, "x"), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, ""), STREAM_EINVAL);
  ck_assert_int_ne(stream_auth_verify_access(&id, auth, huge), STREAM_OK);

  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.name = "P";
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, NULL, &in), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, "bad id!", &in), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, huge, &in), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, acct.id, NULL), STREAM_EINVAL);
  in.version = 99;
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, acct.id, &in), STREAM_EINVAL);
  in.version = STREAM_AUTH_PROFILE_INPUT_VERSION;
  in.name = NULL;
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, acct.id, &in), STREAM_EINVAL);
  in.name = huge;
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, acct.id, &in), STREAM_EINVAL);
  in.name = "P";
  in.avatar = huge;
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, acct.id, &in), STREAM_EINVAL);
  in.avatar = NULL;
  in.kids = 2;
  ck_assert_int_eq(stream_auth_profile_create(NULL, auth, acct.id, &in), STREAM_EINVAL);
  ck_assert_int_eq(
      stream_auth_profile_create(NULL, auth, "nosuchaccount",
                                 &(stream_auth_profile_input)STREAM_AUTH_PROFILE_INPUT_INIT),
      STREAM_EINVAL);
  size_t n = 9;
  ck_assert_int_eq(stream_auth_profile_list(NULL, &n, auth, acct.id), STREAM_EINVAL);
  ck_assert_uint_eq(n, 0);
  stream_auth_tokens tt;
  ck_assert_int_eq(stream_auth_switch_profile(&tt, NULL, auth, acct.id, NULL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_switch_profile(NULL, NULL, auth, acct.id, "p", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_device_lookup(NULL, auth, "BCDF-GHJK"), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_device_approve(auth, huge, acct.id, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_device_deny(auth, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_account_set_role(auth, acct.id, 5), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_account_set_disabled(auth, acct.id, 2), STREAM_EINVAL);
  ck_assert_str_ne(msg(), "");
  free(huge);
}
END_TEST

START_TEST(test_new_rejects_bad_options)
{
  stream_auth *x = NULL;
  ck_assert_int_eq(stream_auth_new(NULL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_new(&x, NULL), STREAM_EINVAL);
  stream_auth_options o = base_options();
  o.version = STREAM_AUTH_OPTIONS_VERSION + 1;
  ck_assert_int_eq(stream_auth_new(&x, &o), STREAM_EINVAL);
  o.version = 0;
  ck_assert_int_eq(stream_auth_new(&x, &o), STREAM_EINVAL);
  o = base_options();
  o.store = NULL;
  ck_assert_int_eq(stream_auth_new(&x, &o), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "store"));
  o = base_options();
  o.keys = NULL;
  ck_assert_int_eq(stream_auth_new(&x, &o), STREAM_EINVAL);
  o = base_options();
  o.access_ttl = 0;
  ck_assert_int_eq(stream_auth_new(&x, &o), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "access_ttl"));
  o = base_options();
  o.refresh_ttl = 10;
  ck_assert_int_eq(stream_auth_new(&x, &o), STREAM_EINVAL);
  o = base_options();
  o.verification_uri = "ftp://x/activate";
  ck_assert_int_eq(stream_auth_new(&x, &o), STREAM_EINVAL);
  o.verification_uri = "https:///activate";
  ck_assert_int_eq(stream_auth_new(&x, &o), STREAM_EINVAL);
  o.verification_uri = "https://x/a b";
  ck_assert_int_eq(stream_auth_new(&x, &o), STREAM_EINVAL);
  o = base_options();
  o.device_interval = 0;
  ck_assert_int_eq(stream_auth_new(&x, &o), STREAM_EINVAL);
  o = base_options();
  o.device_lifetime = 5;
  ck_assert_int_eq(stream_auth_new(&x, &o), STREAM_EINVAL);
  o = base_options();
  o.rate_table_size = 1;
  ck_assert_int_eq(stream_auth_new(&x, &o), STREAM_EINVAL);
  o = base_options();
  o.rate_account_interval = 0;
  ck_assert_int_eq(stream_auth_new(&x, &o), STREAM_EINVAL);
  o = base_options();
  o.issuer = "";
  ck_assert_int_eq(stream_auth_new(&x, &o), STREAM_EINVAL);
  o = base_options();
  o.scope = "a  b";
  ck_assert_int_eq(stream_auth_new(&x, &o), STREAM_EINVAL);
  stream_password_params bad = cheap;
  bad.m_cost = 1;
  o = base_options();
  o.password = &bad;
  ck_assert_int_eq(stream_auth_new(&x, &o), STREAM_ERANGE);
  unsigned char salt[16] = {0};
  stream_password_params salted = cheap;
  salted.salt = salt;
  o.password = &salted;
  ck_assert_int_eq(stream_auth_new(&x, &o), STREAM_EINVAL);
  ck_assert_ptr_null(x);
  stream_auth_free(NULL);
}
END_TEST

/* ---- access tokens: tampering ---------------------------------------------------------- */

START_TEST(test_access_token_tampering_never_verifies)
{
  new_account("tamper@example.com");
  stream_auth_tokens t;
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "tamper@example.com", "correct horse", NULL),
                   STREAM_OK);
  stream_auth_identity id;
  size_t len = strlen(t.access_token);
  char buf[STREAM_AUTH_ACCESS_TOKEN_SIZE];
  for (size_t cut = 0; cut < len; cut++) {
    memcpy(buf, t.access_token, cut);
    buf[cut] = '\0';
    ck_assert_int_ne(stream_auth_verify_access(&id, auth, buf), STREAM_OK);
  }
  for (size_t i = 0; i < len; i++) {
    for (int bit = 0; bit < 8; bit += 3) {
      memcpy(buf, t.access_token, len + 1);
      buf[i] = (char)(buf[i] ^ (1 << bit));
      if (buf[i] == '\0')
        continue;
      int rc = stream_auth_verify_access(&id, auth, buf);
      ck_assert_msg(rc != STREAM_OK, "flipped bit %d of byte %zu verified", bit, i);
    }
  }
  srand(7);
  for (int i = 0; i < 500; i++) {
    size_t n = 1 + (size_t)rand() % 300;
    for (size_t j = 0; j < n; j++)
      buf[j] = (char)(1 + rand() % 255);
    buf[n] = '\0';
    ck_assert_int_ne(stream_auth_verify_access(&id, auth, buf), STREAM_OK);
  }
  /* A JWT from the same keys but not an access token (typ JWT, no role). */
  stream_token_issue_options io = STREAM_TOKEN_ISSUE_OPTIONS_INIT;
  io.iss = "https://streamd.test";
  io.aud = "stream-api";
  io.sub = "AAAAAAAAAAAAAAAAAAAAAA";
  io.now = T0;
  char *jwt = NULL;
  ck_assert_int_eq(stream_token_issue(&jwt, ring, NULL, NULL, &io), STREAM_OK);
  ck_assert_int_ne(stream_auth_verify_access(&id, auth, jwt), STREAM_OK);
  stream_free(jwt);
  io.typ = "at+jwt";
  ck_assert_int_eq(stream_token_issue(&jwt, ring, NULL, "{\"scope\":\"x\"}", &io), STREAM_OK);
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, jwt), STREAM_EAUTH);
  stream_free(jwt);
  /* Another issuer (same keys): forbidden. */
  stream_auth *other = NULL;
  stream_auth_options o = base_options();
  o.issuer = "https://elsewhere.test";
  ck_assert_int_eq(stream_auth_new(&other, &o), STREAM_OK);
  ck_assert_int_eq(stream_auth_verify_access(&id, other, t.access_token), STREAM_EFORBIDDEN);
  stream_auth_free(other);
}
END_TEST

/* ---- concurrency --------------------------------------------------------------------------- */

typedef struct {
  const char *token;
  int rc;
  pthread_barrier_t *barrier;
  stream_auth_tokens out;
} refresh_job;

static void *refresh_thread(void *p)
{
  refresh_job *j = p;
  pthread_barrier_wait(j->barrier);
  j->rc = stream_auth_refresh(&j->out, auth, j->token);
  return NULL;
}

START_TEST(test_concurrent_refresh_exactly_one_wins)
{
  new_account("race@example.com");
  for (int round = 0; round < 3; round++) {
    stream_auth_tokens t;
    ck_assert_int_eq(stream_auth_login(&t, NULL, auth, "race@example.com", "correct horse", NULL),
                     STREAM_OK);
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 8);
    refresh_job jobs[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
      jobs[i].token = t.refresh_token;
      jobs[i].barrier = &barrier;
      ck_assert_int_eq(pthread_create(&th[i], NULL, refresh_thread, &jobs[i]), 0);
    }
    int ok = 0, winner = -1;
    for (int i = 0; i < 8; i++) {
      pthread_join(th[i], NULL);
      if (jobs[i].rc == STREAM_OK) {
        ok++;
        winner = i;
      } else {
        ck_assert_int_eq(jobs[i].rc, STREAM_EAUTH);
      }
    }
    pthread_barrier_destroy(&barrier);
    ck_assert_int_eq(ok, 1);
    /* The losers were reuse: the family, including the winner's new token, is revoked. */
    stream_auth_tokens u;
    ck_assert_int_eq(stream_auth_refresh(&u, auth, jobs[winner].out.refresh_token), STREAM_EAUTH);
  }
}
END_TEST

typedef struct {
  const char *device_code;
  int rc, status;
  pthread_barrier_t *barrier;
  stream_auth_tokens out;
} poll_job;

static void *poll_thread(void *p)
{
  poll_job *j = p;
  pthread_barrier_wait(j->barrier);
  j->rc = stream_auth_device_poll(&j->out, &j->status, auth, j->device_code, "tv");
  return NULL;
}

START_TEST(test_concurrent_device_polls_issue_tokens_once)
{
  stream_auth_account acct = new_account("polls@example.com");
  stream_auth_device_code dc;
  ck_assert_int_eq(stream_auth_device_start(&dc, auth, "tv", NULL), STREAM_OK);
  ck_assert_int_eq(stream_auth_device_approve(auth, dc.user_code, acct.id, NULL), STREAM_OK);
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, 8);
  poll_job jobs[8];
  pthread_t th[8];
  for (int i = 0; i < 8; i++) {
    jobs[i].device_code = dc.device_code;
    jobs[i].barrier = &barrier;
    ck_assert_int_eq(pthread_create(&th[i], NULL, poll_thread, &jobs[i]), 0);
  }
  int ok = 0;
  for (int i = 0; i < 8; i++) {
    pthread_join(th[i], NULL);
    if (jobs[i].rc == STREAM_OK) {
      ck_assert_int_eq(jobs[i].status, STREAM_AUTH_POLL_SUCCESS);
      ck_assert_str_eq(jobs[i].out.account_id, acct.id);
      ok++;
    } else {
      ck_assert_msg(jobs[i].status == STREAM_AUTH_POLL_SLOW_DOWN ||
                        jobs[i].status == STREAM_AUTH_POLL_INVALID_GRANT,
                    "unexpected poll status %d", jobs[i].status);
      ck_assert_str_eq(jobs[i].out.access_token, "");
    }
  }
  pthread_barrier_destroy(&barrier);
  ck_assert_int_eq(ok, 1);
}
END_TEST

typedef struct {
  int id;
  int eauth, ebusy;
  pthread_barrier_t *barrier;
} login_job;

static void *login_thread(void *p)
{
  login_job *j = p;
  char addr[32];
  snprintf(addr, sizeof addr, "10.0.0.%d", j->id);
  pthread_barrier_wait(j->barrier);
  for (int i = 0; i < 50; i++) {
    stream_auth_tokens t;
    int rc = stream_auth_login(&t, NULL, auth, "shared@example.com", "bad password 1", addr);
    if (rc == STREAM_EAUTH)
      j->eauth++;
    else if (rc == STREAM_EBUSY)
      j->ebusy++;
  }
  return NULL;
}

START_TEST(test_rate_limit_counts_exactly_under_threads)
{
  stream_auth_free(auth);
  stream_auth_options o = base_options();
  o.rate_account_burst = 100;
  o.rate_account_interval = 3600;
  ck_assert_int_eq(stream_auth_new(&auth, &o), STREAM_OK);
  new_account("shared@example.com");
  pthread_barrier_t barrier;
  pthread_barrier_init(&barrier, NULL, 8);
  login_job jobs[8];
  pthread_t th[8];
  for (int i = 0; i < 8; i++) {
    memset(&jobs[i], 0, sizeof jobs[i]);
    jobs[i].id = i;
    jobs[i].barrier = &barrier;
    ck_assert_int_eq(pthread_create(&th[i], NULL, login_thread, &jobs[i]), 0);
  }
  int eauth = 0, ebusy = 0;
  for (int i = 0; i < 8; i++) {
    pthread_join(th[i], NULL);
    eauth += jobs[i].eauth;
    ebusy += jobs[i].ebusy;
  }
  pthread_barrier_destroy(&barrier);
  ck_assert_int_eq(eauth, 100);
  ck_assert_int_eq(ebusy, 300);
}
END_TEST

static Suite *auth_suite(void)
{
  Suite *s = suite_create("auth");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_register_login_refresh_reuse_logout);
  tcase_add_test(tc, test_refresh_expiry_and_revoke_rfc7009);
  tcase_add_test(tc, test_unknown_email_and_wrong_password_look_the_same);
  tcase_add_test(tc, test_rate_limits_trip_and_recover);
  tcase_add_test(tc, test_rate_table_is_bounded);
  tcase_add_test(tc, test_device_flow_end_to_end);
  tcase_add_test(tc, test_device_expiry_denial_and_bad_input);
  tcase_add_test(tc, test_device_approve_checks_profile_owner);
  tcase_add_test(tc, test_device_approve_refuses_locked_profile_without_pin);
  tcase_add_test(tc, test_device_approve_pin);
  tcase_add_test(tc, test_profiles_limit_pin_and_switch);
  tcase_add_test(tc, test_pin_attempts_are_rate_limited);
  tcase_add_test(tc, test_operator_role_and_disabled_accounts);
  tcase_add_test(tc, test_login_upgrades_old_hash_params);
  tcase_add_test(tc, test_email_normalization);
  tcase_add_test(tc, test_bad_input_is_einval_with_message);
  tcase_add_test(tc, test_new_rejects_bad_options);
  tcase_add_test(tc, test_access_token_tampering_never_verifies);
  tcase_add_test(tc, test_concurrent_refresh_exactly_one_wins);
  tcase_add_test(tc, test_concurrent_device_polls_issue_tokens_once);
  tcase_add_test(tc, test_rate_limit_counts_exactly_under_threads);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(auth_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
