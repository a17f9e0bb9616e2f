/* Unit tests of the rate limits kept in the store (stream_auth_options.rate_in_store):
 * two auth handles, each on a store handle of its own opened on ONE database (as two
 * daemons on one PostgreSQL database, or two processes on one SQLite file), share the
 * sign-in buckets (per account, per client address) and the password-reset buckets
 * (per e-mail, per address): B attempts split across them exhaust the burst B, and a
 * successful sign-in on one refills the account's bucket for both. With the option off
 * each handle counts alone (2B). The table holds digests, never an e-mail or address
 * (keyed by HMAC with the rate_key option); a store failure in the limiter refuses the
 * attempt. Real SQLite file (or, under
 * tests/pg/pg_run.sh, a PostgreSQL database: store_path.h), injected clock, cheap
 * Argon2id parameters. */
#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../store_raw.h"
#include "auth_fixture.h"
#include "stream/auth.h"

#define T0 1769817600LL /* 2026-01-31T00:00:00Z */
#define PW "correct horse"
#define EMAIL "ada@example.com"
#define ADDR "192.0.2.7"
#define BURST 3

static stream_store *store[2];
static stream_auth *auth[2];
static int n_mails;

static int mail_hook(void *ud, const char *to, const char *subject, const char *body)
{
  (void)ud;
  (void)to;
  (void)subject;
  (void)body;
  n_mails++;
  return 0;
}

static void options(stream_auth_options *o, stream_store *s, int in_store)
{
  auth_fixture_options(o, s);
  o->rate_account_burst = BURST;
  o->rate_account_interval = 60;
  o->rate_address_interval = 1;
  o->send_mail = mail_hook;
  o->reset_url_base = "https://app.test/#/reset?token=";
  o->rate_in_store = in_store;
}

/* Both handles with the same options, apart from their store handle. */
static void open_auths(int in_store, unsigned int account_burst, unsigned int address_burst)
{
  for (int i = 0; i < 2; i++) {
    stream_auth_free(auth[i]);
    stream_auth_options o;
    options(&o, store[i], in_store);
    o.rate_account_burst = account_burst;
    o.rate_address_burst = address_burst;
    ck_assert_int_eq(stream_auth_new(&auth[i], &o), STREAM_OK);
  }
}

/* Both handles keyed with `key` (NULL: plain SHA-256), the sign-in burst BURST. */
static void open_auths_keyed(const stream_key *key)
{
  for (int i = 0; i < 2; i++) {
    stream_auth_free(auth[i]);
    stream_auth_options o;
    options(&o, store[i], 1);
    o.rate_key = key;
    ck_assert_msg(stream_auth_new(&auth[i], &o) == STREAM_OK, "%s", stream_error_last()->message);
  }
}

/* Lowercase hex of SHA-256(s), or of HMAC-SHA256(key, s) when key is not NULL. */
static void digest_hex(char out[65], const unsigned char *key, size_t key_len, const char *s)
{
  unsigned char md[32];
  size_t n = 0;
  if (key) {
    ck_assert_ptr_nonnull(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, key_len,
                                    (const unsigned char *)s, strlen(s), md, sizeof md, &n));
  } else {
    unsigned int m = 0;
    ck_assert_int_eq(EVP_Digest(s, strlen(s), md, &m, EVP_sha256(), NULL), 1);
    n = m;
  }
  ck_assert_uint_eq(n, 32);
  for (size_t i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void setup(void)
{
  auth_fixture_setup("rate", T0, false);
  for (int i = 0; i < 2; i++)
    store[i] = auth_fixture_store();
  n_mails = 0;
  open_auths(1, BURST, 1000);
  ck_assert_int_eq(stream_auth_register(NULL, auth[0], EMAIL, PW), STREAM_OK);
}

static void teardown(void)
{
  for (int i = 0; i < 2; i++) {
    stream_auth_free(auth[i]);
    auth[i] = NULL;
    stream_store_close(store[i]);
    store[i] = NULL;
  }
  auth_fixture_teardown(NULL);
}

static int64_t raw_int(const char *sql)
{
  return test_store_raw_int(dbpath, sql, NULL);
}

/* A sign-in on handle i; *retry receives the wait of a refused one. */
static int login(int i, const char *email, const char *password, const char *addr, int64_t *retry)
{
  stream_auth_tokens t;
  int64_t r = 0;
  int rc = stream_auth_login(&t, &r, auth[i], email, password, addr);
  if (retry)
    *retry = r;
  return rc;
}

/* Wrong passwords alternating between the two handles: the limit is the burst in total. */
START_TEST(test_signin_shared)
{
  for (int n = 0; n < BURST; n++)
    ck_assert_msg(login(n % 2, EMAIL, "wrong password", ADDR, NULL) == STREAM_EAUTH,
                  "attempt %d: %s", n, msg());
  int64_t retry = 0;
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(login(i, EMAIL, "wrong password", ADDR, &retry), STREAM_EBUSY);
    ck_assert_int_eq(retry, 60);
    ck_assert_ptr_nonnull(strstr(msg(), "too many sign-in attempts"));
  }
  /* The right password waits too: the limit comes before the verification. */
  ck_assert_int_eq(login(0, EMAIL, PW, ADDR, &retry), STREAM_EBUSY);
  ck_assert_int_eq(retry, 60);
  /* One attempt back a minute later (on either handle); a success on B refills the
   * account's bucket for A as well. */
  clock_now += 30;
  ck_assert_int_eq(login(1, EMAIL, PW, ADDR, &retry), STREAM_EBUSY);
  ck_assert_int_eq(retry, 30);
  clock_now += 30;
  ck_assert_msg(login(1, EMAIL, PW, ADDR, NULL) == STREAM_OK, "%s", msg());
  for (int n = 0; n < BURST; n++)
    ck_assert_int_eq(login(0, EMAIL, "wrong password", ADDR, NULL), STREAM_EAUTH);
  ck_assert_int_eq(login(1, EMAIL, "wrong password", ADDR, NULL), STREAM_EBUSY);

  /* The table names buckets by a digest: no e-mail, no address. */
  ck_assert_int_gt(raw_int("SELECT count(*) FROM rate_buckets WHERE scope = 'signin-account'"), 0);
  ck_assert_int_gt(raw_int("SELECT count(*) FROM rate_buckets WHERE scope = 'signin-address'"), 0);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM rate_buckets WHERE length(key) <> 64 OR "
                           "key LIKE '%@%' OR key LIKE '%192.0.2%' OR key LIKE '%ada%'"),
                   0);
}
END_TEST

/* The per-address bucket is shared too, and charged for unknown e-mails alike: the
 * limiter's work does not tell known from unknown addresses. */
START_TEST(test_address_shared)
{
  open_auths(1, 1000, BURST);
  char email[64];
  for (int n = 0; n < BURST; n++) {
    snprintf(email, sizeof email, "nobody%d@example.com", n);
    ck_assert_int_eq(login(n % 2, email, "wrong password", ADDR, NULL), STREAM_EAUTH);
  }
  int64_t retry = 0;
  ck_assert_int_eq(login(1, EMAIL, PW, ADDR, &retry), STREAM_EBUSY);
  ck_assert_int_eq(retry, 1);
  ck_assert_int_eq(login(0, "other@example.com", "wrong password", ADDR, NULL), STREAM_EBUSY);
  /* Another address has its own bucket. */
  ck_assert_msg(login(0, EMAIL, PW, "192.0.2.8", NULL) == STREAM_OK, "%s", msg());
}
END_TEST

/* In memory (the option off), each handle counts alone: 2 x the burst across two. */
START_TEST(test_signin_per_handle)
{
  open_auths(0, BURST, 1000);
  for (int i = 0; i < 2; i++) {
    for (int n = 0; n < BURST; n++)
      ck_assert_int_eq(login(i, EMAIL, "wrong password", ADDR, NULL), STREAM_EAUTH);
    ck_assert_int_eq(login(i, EMAIL, "wrong password", ADDR, NULL), STREAM_EBUSY);
  }
  ck_assert_int_eq(raw_int("SELECT count(*) FROM rate_buckets"), 0);
}
END_TEST

static int reset_start(int i, const char *email, int64_t *retry)
{
  int64_t r = 0;
  int rc = stream_auth_password_reset_start(&r, auth[i], email, ADDR);
  if (retry)
    *retry = r;
  return rc;
}

/* Password-reset requests: STREAM_AUTH_RESET_EMAIL_BURST per e-mail across both handles,
 * known and unknown e-mails alike. */
START_TEST(test_reset_shared)
{
  const char *emails[] = {EMAIL, "nobody@example.com"};
  for (size_t e = 0; e < 2; e++) {
    for (int n = 0; n < STREAM_AUTH_RESET_EMAIL_BURST; n++)
      ck_assert_msg(reset_start(n % 2, emails[e], NULL) == STREAM_OK, "%s", msg());
    int64_t retry = 0;
    for (int i = 0; i < 2; i++) {
      ck_assert_int_eq(reset_start(i, emails[e], &retry), STREAM_EBUSY);
      ck_assert_int_eq(retry, STREAM_AUTH_RESET_EMAIL_INTERVAL);
      ck_assert_ptr_nonnull(strstr(msg(), "too many password reset requests"));
    }
  }
  ck_assert_int_eq(n_mails, STREAM_AUTH_RESET_EMAIL_BURST); /* the known address only */
  ck_assert_int_eq(raw_int("SELECT count(*) FROM rate_buckets WHERE scope = 'reset-email'"), 2);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM rate_buckets WHERE scope = 'reset-address'"), 1);
  /* The per-address bucket: STREAM_AUTH_RESET_ADDRESS_BURST across both, whatever the e-mail
   * (6 taken above). */
  char email[64];
  int n = 2 * STREAM_AUTH_RESET_EMAIL_BURST;
  for (; n < STREAM_AUTH_RESET_ADDRESS_BURST; n++) {
    snprintf(email, sizeof email, "r%d@example.com", n);
    ck_assert_msg(reset_start(n % 2, email, NULL) == STREAM_OK, "%s", msg());
  }
  snprintf(email, sizeof email, "r%d@example.com", n);
  ck_assert_int_eq(reset_start(0, email, NULL), STREAM_EBUSY);
  ck_assert_int_eq(reset_start(1, email, NULL), STREAM_EBUSY);
}
END_TEST

START_TEST(test_reset_per_handle)
{
  open_auths(0, BURST, 1000);
  for (int i = 0; i < 2; i++) {
    for (int n = 0; n < STREAM_AUTH_RESET_EMAIL_BURST; n++)
      ck_assert_int_eq(reset_start(i, EMAIL, NULL), STREAM_OK);
    ck_assert_int_eq(reset_start(i, EMAIL, NULL), STREAM_EBUSY);
  }
  ck_assert_int_eq(n_mails, 2 * STREAM_AUTH_RESET_EMAIL_BURST);
}
END_TEST

/* A store failure in the limiter refuses the attempt (fail closed), right password or not:
 * here the table is gone. */
START_TEST(test_store_failure_fails_closed)
{
  ck_assert_int_eq(login(0, EMAIL, "wrong password", ADDR, NULL), STREAM_EAUTH);
  test_store_raw_exec(dbpath, "DROP TABLE rate_buckets");
  for (int i = 0; i < 2; i++) {
    int rc = login(i, EMAIL, PW, ADDR, NULL);
    ck_assert_msg(rc != STREAM_OK && rc != STREAM_EAUTH, "handle %d: %d %s", i, rc, msg());
    rc = reset_start(i, EMAIL, NULL);
    ck_assert_msg(rc != STREAM_OK, "handle %d: reset %d", i, rc);
  }
  ck_assert_int_eq(n_mails, 0);
}
END_TEST

/* The option: 0 or 1; a version-2 options struct (it ends before the field, whose bytes
 * here are garbage that must not be read) keeps the buckets in memory. */
START_TEST(test_option)
{
  stream_auth_options o;
  options(&o, store[0], 2);
  stream_auth *a = NULL;
  ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "rate_in_store"));
  options(&o, store[0], 1);
  o.version = 2;
  memset(&o.rate_in_store, 0xA5, sizeof o - offsetof(stream_auth_options, rate_in_store));
  ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_OK);
  for (int n = 0; n < BURST; n++) {
    stream_auth_tokens t;
    ck_assert_int_eq(stream_auth_login(&t, NULL, a, EMAIL, "wrong password", ADDR), STREAM_EAUTH);
  }
  ck_assert_int_eq(raw_int("SELECT count(*) FROM rate_buckets"), 0); /* in memory */
  stream_auth_free(a);
}
END_TEST

/* rate_key: the buckets are named by HMAC-SHA256(key, name), so the table holds neither
 * the e-mail nor its plain digest (which a reader finds again by hashing guesses); the
 * handles sharing the key share the buckets, a handle with another key counts its own.
 * The caller's key may be freed at once (a reference is kept). */
START_TEST(test_rate_key)
{
  unsigned char bytes[32], other[32];
  for (size_t i = 0; i < sizeof bytes; i++) {
    bytes[i] = (unsigned char)(i * 7 + 1);
    other[i] = (unsigned char)(i * 11 + 3);
  }
  stream_key *k = NULL, *k2 = NULL;
  ck_assert_int_eq(stream_key_from_bytes(&k, STREAM_KEY_HMAC, "rate-1", bytes, sizeof bytes),
                   STREAM_OK);
  ck_assert_int_eq(stream_key_from_bytes(&k2, STREAM_KEY_HMAC, "rate-2", other, sizeof other),
                   STREAM_OK);
  open_auths_keyed(k);
  stream_key_free(k);
  for (int n = 0; n < BURST; n++)
    ck_assert_int_eq(login(n % 2, EMAIL, "wrong password", ADDR, NULL), STREAM_EAUTH);
  for (int i = 0; i < 2; i++)
    ck_assert_int_eq(login(i, EMAIL, "wrong password", ADDR, NULL), STREAM_EBUSY);

  char plain[65], keyed[65], keyed_addr[65];
  digest_hex(plain, NULL, 0, "e:" EMAIL);
  digest_hex(keyed, bytes, sizeof bytes, "e:" EMAIL);
  digest_hex(keyed_addr, bytes, sizeof bytes, ADDR);
  ck_assert_int_eq(
      test_store_raw_int(dbpath, "SELECT count(*) FROM rate_buckets WHERE key = ?", plain), 0);
  ck_assert_int_eq(test_store_raw_int(dbpath,
                                      "SELECT count(*) FROM rate_buckets WHERE scope = "
                                      "'signin-account' AND key = ?",
                                      keyed),
                   1);
  ck_assert_int_eq(test_store_raw_int(dbpath,
                                      "SELECT count(*) FROM rate_buckets WHERE scope = "
                                      "'signin-address' AND key = ?",
                                      keyed_addr),
                   1);

  /* Another key: other bucket names, so a full burst of its own. */
  stream_auth *a = NULL;
  stream_auth_options o;
  options(&o, store[0], 1);
  o.rate_key = k2;
  ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_OK);
  stream_key_free(k2);
  stream_auth_tokens t;
  for (int n = 0; n < BURST; n++)
    ck_assert_int_eq(stream_auth_login(&t, NULL, a, EMAIL, "wrong password", ADDR), STREAM_EAUTH);
  ck_assert_int_eq(stream_auth_login(&t, NULL, a, EMAIL, "wrong password", ADDR), STREAM_EBUSY);
  stream_auth_free(a);

  /* Without a key (versions 1-3): the plain digest, as before. */
  open_auths_keyed(NULL);
  ck_assert_int_eq(login(0, EMAIL, "wrong password", ADDR, NULL), STREAM_EAUTH);
  ck_assert_int_eq(
      test_store_raw_int(dbpath, "SELECT count(*) FROM rate_buckets WHERE key = ?", plain), 1);
}
END_TEST

/* rate_key must be an HMAC key of at least 32 bytes; a version-3 struct (which ends before
 * the field, whose bytes here are garbage) names the buckets by the plain digest. */
START_TEST(test_rate_key_option)
{
  stream_auth_options o;
  stream_auth *a = NULL;
  stream_key *ed = NULL, *short_key = NULL;
  ck_assert_int_eq(stream_key_generate(&ed, STREAM_KEY_ED25519_PRIVATE, "ed", 0), STREAM_OK);
  ck_assert_int_eq(stream_key_generate(&short_key, STREAM_KEY_HMAC, "short", 16), STREAM_OK);
  const stream_key *bad[] = {ed, short_key};
  for (size_t i = 0; i < 2; i++) {
    options(&o, store[0], 1);
    o.rate_key = bad[i];
    ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_EINVAL);
    ck_assert_ptr_null(a);
    ck_assert_ptr_nonnull(strstr(msg(), "rate_key must be an HMAC key of at least 32 bytes"));
  }
  stream_key_free(ed);
  stream_key_free(short_key);

  options(&o, store[0], 1);
  o.version = 3;
  memset((char *)&o + offsetof(stream_auth_options, rate_key), 0xA5,
         sizeof o - offsetof(stream_auth_options, rate_key));
  ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_OK);
  stream_auth_tokens t;
  ck_assert_int_eq(stream_auth_login(&t, NULL, a, EMAIL, "wrong password", ADDR), STREAM_EAUTH);
  stream_auth_free(a);
  char plain[65];
  digest_hex(plain, NULL, 0, "e:" EMAIL);
  ck_assert_int_eq(
      test_store_raw_int(dbpath, "SELECT count(*) FROM rate_buckets WHERE key = ?", plain), 1);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("auth-rate-shared");
  TCase *tc = tcase_create("shared");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_signin_shared);
  tcase_add_test(tc, test_address_shared);
  tcase_add_test(tc, test_signin_per_handle);
  tcase_add_test(tc, test_reset_shared);
  tcase_add_test(tc, test_reset_per_handle);
  tcase_add_test(tc, test_store_failure_fails_closed);
  tcase_add_test(tc, test_option);
  tcase_add_test(tc, test_rate_key);
  tcase_add_test(tc, test_rate_key_option);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
