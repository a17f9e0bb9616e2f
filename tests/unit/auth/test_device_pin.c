/* Unit tests of the TV sign-in (RFC 8628 device grant) against the profile PIN: a code approved
 * for a profile is checked against the profile's PIN at approval, and the TV gets its tokens at
 * its next poll. A PIN set, changed or removed in between must leave the TV without tokens (the
 * PIN change's revocation of the profile's refresh tokens cannot reach tokens issued after it).
 * Public API only, over a real SQLite store in a temporary directory (PostgreSQL under
 * tests/pg/pg_run.sh: ../store_path.h), cheap Argon2id parameters and an injected clock.
 * Whether a profile holds live refresh tokens is read with stream_store_refresh_revoke_profile()
 * (its count). */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_fixture.h"
#include "stream/auth.h"

#define T0 1769817600LL /* 2026-01-31T00:00:00Z */
#define PW "correct horse"
#define CLIENT "tv-app"

static stream_store *store;
static stream_auth *auth;

/* An account with "Open" (no PIN) and "Locked" (PIN 1234), and a TV waiting for approval. */
static stream_auth_account account;
static stream_auth_profile open_prof, locked;
static stream_auth_device_code dc;

static void setup(void)
{
  auth_fixture_setup("devicepin", T0, false);
  store = auth_fixture_store();
  stream_auth_options o;
  auth_fixture_options(&o, store);
  o.verification_uri = "https://streamd.test/activate";
  ck_assert_int_eq(stream_auth_new(&auth, &o), STREAM_OK);
  ck_assert_int_eq(stream_auth_register(&account, auth, "tv@example.com", PW), STREAM_OK);
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.name = "Open";
  ck_assert_int_eq(stream_auth_profile_create(&open_prof, auth, account.id, &in), STREAM_OK);
  in.name = "Locked";
  in.pin = "1234";
  ck_assert_int_eq(stream_auth_profile_create(&locked, auth, account.id, &in), STREAM_OK);
  ck_assert_int_eq(stream_auth_device_start(&dc, auth, CLIENT, NULL), STREAM_OK);
}

static void teardown(void)
{
  stream_auth_free(auth);
  auth = NULL;
  stream_store_close(store);
  store = NULL;
  auth_fixture_teardown(NULL);
}

/* The owner edits a profile's PIN ("" removes it), with the account password. */
static void set_pin(const char *profile_id, const char *pin)
{
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.pin = pin;
  ck_assert_int_eq(
      stream_auth_profile_update_checked(NULL, NULL, auth, account.id, profile_id, &in, PW, NULL),
      STREAM_OK);
}

/* The TV's poll, a poll interval after the last one. */
static int poll_tv(stream_auth_tokens *t, int *st)
{
  clock_now += 10;
  return stream_auth_device_poll(t, st, auth, dc.device_code, CLIENT);
}

/* How many live refresh tokens the profile held (they are revoked by the count). */
static size_t live_sessions(const char *profile_id)
{
  size_t n = 99;
  ck_assert_int_eq(stream_store_refresh_revoke_profile(&n, store, profile_id, clock_now),
                   STREAM_OK);
  return n;
}

/* The poll is refused as access_denied, names the PIN, hands out nothing and stores no
 * session; the code is used up (a later poll: invalid_grant). */
static void expect_denied_for_pin(const char *profile_id)
{
  stream_auth_tokens t;
  int st = -1;
  ck_assert_int_eq(poll_tv(&t, &st), STREAM_EFORBIDDEN);
  ck_assert_int_eq(st, STREAM_AUTH_POLL_DENIED);
  ck_assert_msg(strstr(msg(), "access_denied") && strstr(msg(), "PIN"), "%s", msg());
  ck_assert_str_eq(t.access_token, "");
  ck_assert_str_eq(t.refresh_token, "");
  ck_assert_uint_eq(live_sessions(profile_id), 0);
  ck_assert_int_eq(poll_tv(&t, &st), STREAM_EAUTH);
  ck_assert_int_eq(st, STREAM_AUTH_POLL_INVALID_GRANT);
}

static void expect_tokens(const char *profile_id)
{
  stream_auth_tokens t;
  int st = -1;
  ck_assert_msg(poll_tv(&t, &st) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(st, STREAM_AUTH_POLL_SUCCESS);
  ck_assert_str_eq(t.account_id, account.id);
  ck_assert_str_eq(t.profile_id, profile_id);
  stream_auth_identity id;
  ck_assert_int_eq(stream_auth_verify_access(&id, auth, t.access_token), STREAM_OK);
  ck_assert_str_eq(id.profile_id, profile_id);
  if (profile_id[0])
    ck_assert_uint_eq(live_sessions(profile_id), 1);
}

/* Approved for a profile without a PIN; the owner then locks it: the TV must not get in. Before
 * the fix the poll answered STREAM_OK with a session of the now locked profile. */
START_TEST(test_pin_set_after_approval)
{
  ck_assert_int_eq(stream_auth_device_approve(auth, dc.user_code, account.id, open_prof.id),
                   STREAM_OK);
  set_pin(open_prof.id, "5678");
  expect_denied_for_pin(open_prof.id);
}
END_TEST

/* Approved with the profile's PIN; the owner changes it (someone saw it). */
START_TEST(test_pin_changed_after_approval)
{
  ck_assert_int_eq(
      stream_auth_device_approve_pin(NULL, auth, dc.user_code, account.id, locked.id, "1234"),
      STREAM_OK);
  set_pin(locked.id, "9876");
  expect_denied_for_pin(locked.id);
}
END_TEST

/* Removing the PIN also changes the state the approval was checked against: refused too (the
 * TV starts again, and gets in without a PIN), as a profile switch racing any PIN edit is. */
START_TEST(test_pin_removed_after_approval)
{
  ck_assert_int_eq(
      stream_auth_device_approve_pin(NULL, auth, dc.user_code, account.id, locked.id, "1234"),
      STREAM_OK);
  set_pin(locked.id, "");
  expect_denied_for_pin(locked.id);
}
END_TEST

/* No PIN edit between approval and poll: tokens as before, whatever else changed. The store
 * keeps a digest of the PIN hash, not the hash. */
START_TEST(test_unchanged_pin_gets_tokens)
{
  ck_assert_int_eq(
      stream_auth_device_approve_pin(NULL, auth, dc.user_code, account.id, locked.id, "1234"),
      STREAM_OK);
  stream_store_device row;
  ck_assert_int_eq(stream_store_device_get_by_user_code(&row, store, dc.user_code), STREAM_OK);
  stream_store_profile prof;
  ck_assert_int_eq(stream_store_profile_get(&prof, store, locked.id), STREAM_OK);
  ck_assert_uint_eq(strlen(row.profile_pin_digest), 64);
  ck_assert_ptr_null(strstr(prof.pin_hash, row.profile_pin_digest));
  ck_assert_ptr_null(strstr(row.profile_pin_digest, prof.pin_hash));
  /* A rename is no PIN change. */
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.name = "Still locked";
  ck_assert_int_eq(stream_auth_profile_update(NULL, auth, account.id, locked.id, &in), STREAM_OK);
  expect_tokens(locked.id);

  /* A profile without a PIN that keeps none. */
  ck_assert_int_eq(stream_auth_device_start(&dc, auth, CLIENT, NULL), STREAM_OK);
  ck_assert_int_eq(stream_auth_device_approve(auth, dc.user_code, account.id, open_prof.id),
                   STREAM_OK);
  ck_assert_int_eq(stream_store_device_get_by_user_code(&row, store, dc.user_code), STREAM_OK);
  ck_assert_uint_eq(strlen(row.profile_pin_digest), 64);
  expect_tokens(open_prof.id);
}
END_TEST

/* An approval without a profile records no PIN state and is not touched by PIN edits. */
START_TEST(test_account_approval_unaffected)
{
  ck_assert_int_eq(stream_auth_device_approve(auth, dc.user_code, account.id, NULL), STREAM_OK);
  stream_store_device row;
  ck_assert_int_eq(stream_store_device_get_by_user_code(&row, store, dc.user_code), STREAM_OK);
  ck_assert_str_eq(row.profile_pin_digest, "");
  set_pin(open_prof.id, "5678");
  set_pin(locked.id, "");
  expect_tokens("");
}
END_TEST

/* A kids profile approved for the TV (through auth, or through the store without a PIN
 * digest), then deleted before the poll: refused, not turned into an approval of the whole
 * account (the deletion clears the row's profile_id). */
static void expect_deleted_profile_denied(bool through_store)
{
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.name = "Kids";
  in.kids = 1;
  stream_auth_profile kids;
  ck_assert_int_eq(stream_auth_profile_create(&kids, auth, account.id, &in), STREAM_OK);
  ck_assert_int_eq(
      through_store
          ? stream_store_device_approve(store, dc.user_code, account.id, kids.id, clock_now)
          : stream_auth_device_approve(auth, dc.user_code, account.id, kids.id),
      STREAM_OK);
  ck_assert_int_eq(stream_auth_profile_delete(auth, account.id, kids.id), STREAM_OK);
  stream_auth_tokens t;
  int st = -1;
  ck_assert_int_eq(poll_tv(&t, &st), STREAM_EFORBIDDEN);
  ck_assert_int_eq(st, STREAM_AUTH_POLL_DENIED);
  ck_assert_msg(strstr(msg(), "deleted"), "%s", msg());
  ck_assert_str_eq(t.access_token, "");
  ck_assert_str_eq(t.refresh_token, "");
}

START_TEST(test_profile_deleted_after_approval)
{
  expect_deleted_profile_denied(false);
}
END_TEST

/* A profile approval that recorded no PIN state (stream_store_device_approve(), or a libstream
 * before schema version 19 sharing the store) cannot be checked: refused. */
START_TEST(test_profile_approval_without_digest_refused)
{
  ck_assert_int_eq(
      stream_store_device_approve(store, dc.user_code, account.id, open_prof.id, clock_now),
      STREAM_OK);
  expect_denied_for_pin(open_prof.id);
}
END_TEST

/* The same without a digest, the profile deleted: still a profile approval (review RV9). */
START_TEST(test_profile_approval_without_digest_deleted_refused)
{
  expect_deleted_profile_denied(true);
}
END_TEST

static Suite *device_pin_suite(void)
{
  Suite *s = suite_create("auth-device-pin");
  TCase *tc = tcase_create("core");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_pin_set_after_approval);
  tcase_add_test(tc, test_pin_changed_after_approval);
  tcase_add_test(tc, test_pin_removed_after_approval);
  tcase_add_test(tc, test_unchanged_pin_gets_tokens);
  tcase_add_test(tc, test_account_approval_unaffected);
  tcase_add_test(tc, test_profile_deleted_after_approval);
  tcase_add_test(tc, test_profile_approval_without_digest_refused);
  tcase_add_test(tc, test_profile_approval_without_digest_deleted_refused);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(device_pin_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
