/* Unit tests of the profile lock (stream_auth_profile_update_checked): setting,
 * changing or removing a profile's PIN takes the account password, checked
 * like a sign-in (same buckets), before anything is written; a PIN set or
 * changed signs the profile's sessions out. Real SQLite store
 * in a temporary directory (PostgreSQL under tests/pg/pg_run.sh: store_path.h),
 * an injected clock, cheap Argon2id parameters, and a log callback that keeps
 * every line (the password must never show up there). The stored PIN hash is
 * read through the store's public stream_store_profile_get(). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/auth_internal.h" /* auth__issue_profile_tokens: the switch's last step */
#include "auth_fixture.h"
#include "stream/auth.h"

#define T0 1769817600LL /* 2026-01-31T00:00:00Z */
#define PW "correct horse"
#define WRONG "not the password"
#define EMAIL "ada@example.com"
#define ADDR "192.0.2.1"

static stream_store *store;
static stream_auth *auth;

static stream_auth *open_auth(unsigned int account_burst)
{
  stream_auth_options o;
  auth_fixture_options(&o, store);
  o.rate_account_burst = account_burst;
  stream_auth *a = NULL;
  ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_OK);
  return a;
}

static void setup(void)
{
  auth_fixture_setup("pinlock", T0, true);
  store = auth_fixture_store();
  auth = open_auth(1000);
}

static void teardown(void)
{
  stream_auth_free(auth);
  auth = NULL;
  stream_store_close(store);
  store = NULL;
  auth_fixture_teardown(NULL);
}

/* An account with two adult profiles: "Mine" (no PIN) and "Locked" (PIN 1234). */
static stream_auth_account account;
static stream_auth_profile mine, locked;

static void make_profiles(void)
{
  ck_assert_int_eq(stream_auth_register(&account, auth, EMAIL, PW), STREAM_OK);
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.name = "Mine";
  ck_assert_int_eq(stream_auth_profile_create(&mine, auth, account.id, &in), STREAM_OK);
  in.name = "Locked";
  in.pin = "1234"; /* creating with a PIN needs no password */
  ck_assert_int_eq(stream_auth_profile_create(&locked, auth, account.id, &in), STREAM_OK);
  ck_assert_int_eq(locked.has_pin, 1);
}

/* The stored PIN hash of a profile ("" = none). */
static void pin_hash_of(char *out, size_t cap, const char *profile_id)
{
  stream_store_profile row;
  ck_assert_int_eq(stream_store_profile_get(&row, store, profile_id), STREAM_OK);
  snprintf(out, cap, "%s", row.pin_hash);
}

static int switch_to(const char *profile_id, const char *pin)
{
  stream_auth_tokens t;
  return stream_auth_switch_profile(&t, NULL, auth, account.id, profile_id, pin);
}

static int update(stream_auth_profile *out, int64_t *retry, const char *profile_id,
                  const char *name, const char *pin, const char *password)
{
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.name = name;
  in.pin = pin;
  return stream_auth_profile_update_checked(out, retry, auth, account.id, profile_id, &in, password,
                                            ADDR);
}

START_TEST(test_right_password_changes_and_removes_the_pin)
{
  make_profiles();
  stream_auth_profile p;
  int64_t retry = -1;
  /* Change: the new PIN opens the profile, the old one no longer does. */
  ck_assert_msg(update(&p, &retry, locked.id, NULL, "5678", PW) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(retry, 0);
  ck_assert_int_eq(p.has_pin, 1);
  ck_assert_int_eq(switch_to(locked.id, "1234"), STREAM_EFORBIDDEN);
  ck_assert_int_eq(switch_to(locked.id, "5678"), STREAM_OK);
  /* Remove (""): the profile opens without a PIN. */
  ck_assert_msg(update(&p, &retry, locked.id, "Open", "", PW) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(p.has_pin, 0);
  ck_assert_str_eq(p.name, "Open");
  ck_assert_int_eq(switch_to(locked.id, NULL), STREAM_OK);
  /* Set one on a profile that had none. */
  ck_assert_msg(update(&p, NULL, mine.id, NULL, "0000", PW) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(p.has_pin, 1);
  ck_assert_int_eq(switch_to(mine.id, NULL), STREAM_EFORBIDDEN);
  ck_assert_int_eq(switch_to(mine.id, "0000"), STREAM_OK);
  /* The password appears in no log line. */
  ck_assert_ptr_null(strstr(logbuf, PW));
}
END_TEST

/* A session that entered the profile: its tokens (refresh_token is what a housemate keeps). */
static stream_auth_tokens enter(const char *profile_id, const char *pin)
{
  stream_auth_tokens t;
  ck_assert_msg(stream_auth_switch_profile(&t, NULL, auth, account.id, profile_id, pin) ==
                    STREAM_OK,
                "%s", msg());
  return t;
}

/* Refresh `t` in place (the rotated token replaces it); the result code. */
static int refresh(stream_auth_tokens *t)
{
  stream_auth_tokens next;
  int rc = stream_auth_refresh(&next, auth, t->refresh_token);
  if (rc == STREAM_OK)
    *t = next;
  return rc;
}

START_TEST(test_new_pin_signs_the_profile_out)
{
  make_profiles();
  /* A housemate entered "Mine" while it had no PIN (and refreshed once since); someone is in
   * "Locked" with its PIN; the account itself is signed in without a profile. */
  stream_auth_tokens mate = enter(mine.id, NULL);
  ck_assert_int_eq(refresh(&mate), STREAM_OK);
  stream_auth_tokens other = enter(locked.id, "1234");
  stream_auth_tokens acct;
  ck_assert_int_eq(stream_auth_login(&acct, NULL, auth, EMAIL, PW, ADDR), STREAM_OK);
  stream_auth_profile p;
  /* Setting a PIN on "Mine": the housemate's session no longer refreshes. */
  ck_assert_msg(update(&p, NULL, mine.id, NULL, "2468", PW) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(refresh(&mate), STREAM_EAUTH);
  ck_assert_ptr_nonnull(strstr(msg(), "revoked"));
  /* The other profile's session and the account's still do. */
  ck_assert_msg(refresh(&other) == STREAM_OK, "%s", msg());
  ck_assert_msg(refresh(&acct) == STREAM_OK, "%s", msg());
  /* Changing the PIN of "Locked" signs out whoever entered with the old one. */
  ck_assert_msg(update(&p, NULL, locked.id, NULL, "5678", PW) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(refresh(&other), STREAM_EAUTH);
  ck_assert_msg(refresh(&acct) == STREAM_OK, "%s", msg());
  /* The new PIN lets the owner in again; removing the PIN signs no one out, nor does an
   * edit of another field, nor the unchecked update without a PIN. */
  stream_auth_tokens back = enter(locked.id, "5678");
  ck_assert_msg(update(&p, NULL, locked.id, "Open", "", PW) == STREAM_OK, "%s", msg());
  ck_assert_msg(refresh(&back) == STREAM_OK, "%s", msg());
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.maturity_ceiling = 16;
  ck_assert_int_eq(stream_auth_profile_update(&p, auth, account.id, locked.id, &in), STREAM_OK);
  ck_assert_msg(refresh(&back) == STREAM_OK, "%s", msg());
  /* The unchecked update (the caller vouches) setting a PIN signs the profile out too. */
  in.maturity_ceiling = -1;
  in.pin = "1357";
  ck_assert_int_eq(stream_auth_profile_update(&p, auth, account.id, locked.id, &in), STREAM_OK);
  ck_assert_int_eq(refresh(&back), STREAM_EAUTH);
  ck_assert_msg(refresh(&acct) == STREAM_OK, "%s", msg());
}
END_TEST

START_TEST(test_wrong_password_changes_nothing)
{
  make_profiles();
  char before[STREAM_STORE_HASH_MAX + 1], after[STREAM_STORE_HASH_MAX + 1];
  pin_hash_of(before, sizeof before, locked.id);
  ck_assert_str_ne(before, "");
  stream_auth_profile p;
  int64_t retry = -1;
  /* Remove, change: EAUTH, and neither the PIN hash nor the other fields of the edit. */
  ck_assert_int_eq(update(&p, &retry, locked.id, "Open", "", WRONG), STREAM_EAUTH);
  ck_assert_str_eq(msg(), "auth: wrong password");
  ck_assert_int_eq(retry, 0);
  ck_assert_str_eq(p.id, ""); /* *out zeroed on error */
  ck_assert_int_eq(update(&p, &retry, locked.id, NULL, "5678", WRONG), STREAM_EAUTH);
  /* A password too short to be one is just a wrong one. */
  ck_assert_int_eq(update(&p, &retry, locked.id, NULL, "", "short"), STREAM_EAUTH);
  pin_hash_of(after, sizeof after, locked.id);
  ck_assert_str_eq(after, before);
  ck_assert_int_eq(stream_auth_profile_get(&p, auth, account.id, locked.id), STREAM_OK);
  ck_assert_str_eq(p.name, "Locked");
  ck_assert_int_eq(p.has_pin, 1);
  /* The old PIN still guards the profile. */
  ck_assert_int_eq(switch_to(locked.id, NULL), STREAM_EFORBIDDEN);
  ck_assert_int_eq(switch_to(locked.id, "5678"), STREAM_EFORBIDDEN);
  ck_assert_int_eq(switch_to(locked.id, "1234"), STREAM_OK);
  /* Nor can a profile that had no PIN be given one. */
  ck_assert_int_eq(update(&p, NULL, mine.id, NULL, "0000", WRONG), STREAM_EAUTH);
  ck_assert_int_eq(switch_to(mine.id, NULL), STREAM_OK);
  ck_assert_ptr_null(strstr(logbuf, WRONG));
}
END_TEST

START_TEST(test_pin_without_password_is_invalid)
{
  make_profiles();
  char before[STREAM_STORE_HASH_MAX + 1], after[STREAM_STORE_HASH_MAX + 1];
  pin_hash_of(before, sizeof before, locked.id);
  stream_auth_profile p;
  ck_assert_int_eq(update(&p, NULL, locked.id, NULL, "", NULL), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "password"));
  ck_assert_int_eq(update(&p, NULL, locked.id, NULL, "5678", ""), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "password"));
  /* Over 1024 bytes: refused before any work. */
  char *huge = malloc(STREAM_AUTH_PASSWORD_MAX + 2);
  ck_assert_ptr_nonnull(huge);
  memset(huge, 'a', STREAM_AUTH_PASSWORD_MAX + 1);
  huge[STREAM_AUTH_PASSWORD_MAX + 1] = '\0';
  ck_assert_int_eq(update(&p, NULL, locked.id, NULL, "5678", huge), STREAM_EINVAL);
  free(huge);
  /* A bad client address. */
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.pin = "5678";
  ck_assert_int_eq(stream_auth_profile_update_checked(&p, NULL, auth, account.id, locked.id, &in,
                                                      PW, "bad address"),
                   STREAM_EINVAL);
  /* A malformed PIN is refused before the password is looked at. */
  ck_assert_int_eq(update(&p, NULL, locked.id, NULL, "12a4", WRONG), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "PIN"));
  pin_hash_of(after, sizeof after, locked.id);
  ck_assert_str_eq(after, before);
  ck_assert_int_eq(switch_to(locked.id, "1234"), STREAM_OK);
  /* Unknown profile, or another account's: ENOTFOUND. */
  ck_assert_int_eq(update(&p, NULL, "AAAAAAAAAAAAAAAAAAAAAA", NULL, "5678", PW), STREAM_ENOTFOUND);
  stream_auth_account other;
  ck_assert_int_eq(stream_auth_register(&other, auth, "bob@example.com", PW), STREAM_OK);
  in.pin = "";
  ck_assert_int_eq(
      stream_auth_profile_update_checked(&p, NULL, auth, other.id, locked.id, &in, PW, NULL),
      STREAM_ENOTFOUND);
  ck_assert_int_eq(switch_to(locked.id, NULL), STREAM_EFORBIDDEN);
}
END_TEST

START_TEST(test_no_pin_needs_no_password)
{
  make_profiles();
  stream_auth_profile p;
  int64_t retry = -1;
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.name = "Renamed";
  in.kids = 0; /* the stored values: no change, no password */
  in.maturity_ceiling = 18;
  ck_assert_msg(stream_auth_profile_update_checked(&p, &retry, auth, account.id, locked.id, &in,
                                                   NULL, NULL) == STREAM_OK,
                "%s", msg());
  ck_assert_int_eq(retry, 0);
  ck_assert_str_eq(p.name, "Renamed");
  ck_assert_int_eq(p.maturity_ceiling, 18);
  ck_assert_int_eq(p.has_pin, 1); /* kept */
  ck_assert_int_eq(switch_to(locked.id, "1234"), STREAM_OK);
  /* A password given anyway is not checked (a wrong one is no error). */
  in.name = "Again";
  ck_assert_int_eq(
      stream_auth_profile_update_checked(&p, NULL, auth, account.id, locked.id, &in, WRONG, ADDR),
      STREAM_OK);
  ck_assert_str_eq(p.name, "Again");
  /* ... nor charged to the sign-in buckets: a burst of 1 still lets the owner in. */
  stream_auth_free(auth);
  auth = open_auth(1);
  for (int i = 0; i < 3; i++) {
    char name[16];
    snprintf(name, sizeof name, "Mine %d", i);
    in.name = name;
    in.kids = i % 2; /* limits of a profile without a PIN: free too */
    in.maturity_ceiling = i % 2 ? 7 : 13;
    ck_assert_int_eq(
        stream_auth_profile_update_checked(NULL, NULL, auth, account.id, mine.id, &in, WRONG, ADDR),
        STREAM_OK);
  }
  in.kids = -1;
  stream_auth_tokens t;
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, EMAIL, PW, ADDR), STREAM_OK);
  /* The unchecked call is unchanged: it does not ask (the caller vouches). */
  in.name = NULL;
  in.maturity_ceiling = -1;
  in.pin = "";
  ck_assert_int_eq(stream_auth_profile_update(&p, auth, account.id, locked.id, &in), STREAM_OK);
  ck_assert_int_eq(p.has_pin, 0);
}
END_TEST

START_TEST(test_rate_limited_like_sign_in)
{
  stream_auth_free(auth);
  auth = open_auth(2);
  make_profiles();
  char before[STREAM_STORE_HASH_MAX + 1], after[STREAM_STORE_HASH_MAX + 1];
  pin_hash_of(before, sizeof before, locked.id);
  stream_auth_profile p;
  int64_t retry = -1;
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(update(&p, &retry, locked.id, NULL, "", WRONG), STREAM_EAUTH);
    ck_assert_int_eq(retry, 0);
  }
  /* The bucket is empty: even the right password waits, and nothing changes. */
  ck_assert_int_eq(update(&p, &retry, locked.id, NULL, "", PW), STREAM_EBUSY);
  ck_assert_int_gt(retry, 0);
  ck_assert_ptr_nonnull(strstr(msg(), "too many password attempts"));
  pin_hash_of(after, sizeof after, locked.id);
  ck_assert_str_eq(after, before);
  /* It is the sign-in bucket of the account. */
  stream_auth_tokens t;
  int64_t login_retry = 0;
  ck_assert_int_eq(stream_auth_login(&t, &login_retry, auth, EMAIL, PW, ADDR), STREAM_EBUSY);
  ck_assert_int_gt(login_retry, 0);
  clock_now += retry;
  ck_assert_msg(update(&p, &retry, locked.id, NULL, "", PW) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(retry, 0);
  ck_assert_int_eq(p.has_pin, 0);
  /* Success refilled the account's bucket: two more wrong ones before it is empty again. */
  ck_assert_int_eq(update(&p, &retry, locked.id, NULL, "1111", WRONG), STREAM_EAUTH);
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, EMAIL, PW, ADDR), STREAM_OK);
}
END_TEST

START_TEST(test_disabled_account)
{
  make_profiles();
  ck_assert_int_eq(stream_auth_account_set_disabled(auth, account.id, 1), STREAM_OK);
  stream_auth_profile p;
  ck_assert_int_eq(update(&p, NULL, locked.id, NULL, "", WRONG), STREAM_EAUTH);
  ck_assert_int_eq(update(&p, NULL, locked.id, NULL, "", PW), STREAM_EFORBIDDEN);
  ck_assert_ptr_nonnull(strstr(msg(), "disabled"));
  ck_assert_int_eq(stream_auth_profile_get(&p, auth, account.id, locked.id), STREAM_OK);
  ck_assert_int_eq(p.has_pin, 1);
}
END_TEST

/* Limits of a PIN-locked profile (kids flag, maturity ceiling). */
static int limits(stream_auth_profile *out, int64_t *retry, const char *profile_id, int kids,
                  int ceiling, const char *password)
{
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.kids = kids;
  in.maturity_ceiling = ceiling;
  return stream_auth_profile_update_checked(out, retry, auth, account.id, profile_id, &in, password,
                                            ADDR);
}

static void expect_limits(const char *profile_id, int kids, int ceiling)
{
  stream_auth_profile p;
  ck_assert_int_eq(stream_auth_profile_get(&p, auth, account.id, profile_id), STREAM_OK);
  ck_assert_int_eq(p.kids, kids);
  ck_assert_int_eq(p.maturity_ceiling, ceiling);
}

START_TEST(test_locked_limits_need_the_password)
{
  make_profiles();
  stream_auth_profile p;
  int64_t retry = -1;
  /* Missing: EINVAL naming the password and saying the profile is locked; nothing changed. */
  ck_assert_int_eq(limits(&p, &retry, locked.id, 1, -1, NULL), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "password"));
  ck_assert_ptr_nonnull(strstr(msg(), "locked"));
  ck_assert_int_eq(retry, 0);
  ck_assert_int_eq(limits(&p, NULL, locked.id, -1, 7, ""), STREAM_EINVAL);
  expect_limits(locked.id, 0, 18);
  /* Wrong: EAUTH, nothing changed (not even a name given with it). */
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.name = "Kid";
  in.kids = 1;
  ck_assert_int_eq(
      stream_auth_profile_update_checked(&p, &retry, auth, account.id, locked.id, &in, WRONG, ADDR),
      STREAM_EAUTH);
  ck_assert_int_eq(limits(&p, NULL, locked.id, -1, 13, WRONG), STREAM_EAUTH);
  ck_assert_int_eq(stream_auth_profile_get(&p, auth, account.id, locked.id), STREAM_OK);
  ck_assert_str_eq(p.name, "Locked");
  expect_limits(locked.id, 0, 18);
  /* The stored values, or a name or avatar alone: free. */
  ck_assert_msg(limits(&p, NULL, locked.id, 0, 18, NULL) == STREAM_OK, "%s", msg());
  in.kids = -1;
  in.avatar = "owl.png";
  ck_assert_msg(stream_auth_profile_update_checked(&p, NULL, auth, account.id, locked.id, &in, NULL,
                                                   NULL) == STREAM_OK,
                "%s", msg());
  ck_assert_str_eq(p.name, "Kid");
  /* Right: changed. */
  ck_assert_msg(limits(&p, &retry, locked.id, -1, 13, PW) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(retry, 0);
  expect_limits(locked.id, 0, 13);
  ck_assert_msg(limits(&p, NULL, locked.id, 1, -1, PW) == STREAM_OK, "%s", msg());
  expect_limits(locked.id, 1, 7);
  ck_assert_int_eq(p.has_pin, 1);
  /* A profile without a PIN: nothing asked. */
  ck_assert_msg(limits(&p, NULL, mine.id, 1, 0, NULL) == STREAM_OK, "%s", msg());
  expect_limits(mine.id, 1, 0);
  /* The caller-vouches update does not ask. */
  in = (stream_auth_profile_input)STREAM_AUTH_PROFILE_INPUT_INIT;
  in.kids = 0;
  in.maturity_ceiling = 16;
  ck_assert_int_eq(stream_auth_profile_update(&p, auth, account.id, locked.id, &in), STREAM_OK);
  expect_limits(locked.id, 0, 16);
  ck_assert_ptr_null(strstr(logbuf, PW));
  ck_assert_ptr_null(strstr(logbuf, WRONG));
}
END_TEST

static int delete_checked(int64_t *retry, const char *profile_id, const char *password)
{
  return stream_auth_profile_delete_checked(retry, auth, account.id, profile_id, password, ADDR);
}

static int exists(const char *profile_id)
{
  stream_auth_profile p;
  int rc = stream_auth_profile_get(&p, auth, account.id, profile_id);
  ck_assert(rc == STREAM_OK || rc == STREAM_ENOTFOUND);
  return rc == STREAM_OK;
}

START_TEST(test_locked_delete_needs_the_password)
{
  make_profiles();
  int64_t retry = -1;
  ck_assert_int_eq(delete_checked(&retry, locked.id, NULL), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "password"));
  ck_assert_ptr_nonnull(strstr(msg(), "locked"));
  ck_assert_int_eq(retry, 0);
  ck_assert_int_eq(delete_checked(NULL, locked.id, ""), STREAM_EINVAL);
  ck_assert_int_eq(delete_checked(&retry, locked.id, WRONG), STREAM_EAUTH);
  ck_assert_str_eq(msg(), "auth: wrong password");
  ck_assert_int_eq(delete_checked(&retry, locked.id, "short"), STREAM_EAUTH);
  ck_assert_int_eq(
      stream_auth_profile_delete_checked(NULL, auth, account.id, locked.id, PW, "bad address"),
      STREAM_EINVAL);
  ck_assert(exists(locked.id));
  ck_assert_int_eq(switch_to(locked.id, "1234"), STREAM_OK);
  /* Another account cannot, even with its own password. */
  stream_auth_account other;
  ck_assert_int_eq(stream_auth_register(&other, auth, "bob@example.com", PW), STREAM_OK);
  ck_assert_int_eq(stream_auth_profile_delete_checked(NULL, auth, other.id, locked.id, PW, ADDR),
                   STREAM_ENOTFOUND);
  ck_assert(exists(locked.id));
  /* Right: deleted, its sessions with it. */
  stream_auth_tokens in_locked = enter(locked.id, "1234");
  ck_assert_msg(delete_checked(&retry, locked.id, PW) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(retry, 0);
  ck_assert(!exists(locked.id));
  ck_assert_int_ne(refresh(&in_locked), STREAM_OK);
  ck_assert_int_eq(delete_checked(NULL, locked.id, PW), STREAM_ENOTFOUND);
  /* Without a PIN: no password needed; one given is not checked. */
  ck_assert_msg(delete_checked(&retry, mine.id, NULL) == STREAM_OK, "%s", msg());
  ck_assert(!exists(mine.id));
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.name = "Third";
  stream_auth_profile third;
  ck_assert_int_eq(stream_auth_profile_create(&third, auth, account.id, &in), STREAM_OK);
  ck_assert_int_eq(delete_checked(NULL, third.id, WRONG), STREAM_OK);
  ck_assert(!exists(third.id));
  ck_assert_ptr_null(strstr(logbuf, PW));
  ck_assert_ptr_null(strstr(logbuf, WRONG));
}
END_TEST

START_TEST(test_locked_delete_rate_limited_like_sign_in)
{
  stream_auth_free(auth);
  auth = open_auth(2);
  make_profiles();
  int64_t retry = -1;
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(delete_checked(&retry, locked.id, WRONG), STREAM_EAUTH);
    ck_assert_int_eq(retry, 0);
  }
  ck_assert_int_eq(delete_checked(&retry, locked.id, PW), STREAM_EBUSY);
  ck_assert_int_gt(retry, 0);
  ck_assert_ptr_nonnull(strstr(msg(), "too many password attempts"));
  ck_assert(exists(locked.id));
  /* The limits path draws from the same buckets. */
  ck_assert_int_eq(limits(NULL, &retry, locked.id, 1, -1, PW), STREAM_EBUSY);
  ck_assert_int_gt(retry, 0);
  expect_limits(locked.id, 0, 18);
  clock_now += retry;
  ck_assert_msg(delete_checked(&retry, locked.id, PW) == STREAM_OK, "%s", msg());
  ck_assert(!exists(locked.id));
}
END_TEST

/* The deletion is decided on the row deleted: stream_store_profile_delete_if deletes only
 * while the PIN hash is the one read, so a PIN set after the read (here by the owner, between
 * the caller's read and its delete) stops it. */
START_TEST(test_delete_if_sees_a_new_pin)
{
  make_profiles();
  stream_store_profile row;
  ck_assert_int_eq(stream_store_profile_get(&row, store, mine.id), STREAM_OK);
  ck_assert_str_eq(row.pin_hash, "");
  stream_auth_profile p;
  ck_assert_msg(update(&p, NULL, mine.id, NULL, "2468", PW) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(stream_store_profile_delete_if(store, &row), STREAM_ECONFLICT);
  ck_assert(exists(mine.id));
  /* ... and the row as it is now goes. */
  ck_assert_int_eq(stream_store_profile_get(&row, store, mine.id), STREAM_OK);
  ck_assert_int_eq(stream_store_profile_delete_if(store, &row), STREAM_OK);
  ck_assert(!exists(mine.id));
  ck_assert_int_eq(stream_store_profile_delete_if(store, &row), STREAM_ECONFLICT);
  ck_assert_int_eq(stream_store_profile_delete_if(store, NULL), STREAM_EINVAL);
  /* A locked row read, its PIN removed meanwhile: also a conflict (decide again). */
  ck_assert_int_eq(stream_store_profile_get(&row, store, locked.id), STREAM_OK);
  ck_assert_msg(update(&p, NULL, locked.id, NULL, "", PW) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(stream_store_profile_delete_if(store, &row), STREAM_ECONFLICT);
  ck_assert(exists(locked.id));
}
END_TEST

/* A switch whose PIN check passed on a row without a PIN, when the PIN is set (and the
 * profile's sessions revoked) before the switch stores its new family: the switch's last
 * step reads the profile again and refuses, so no session in the now-locked profile is
 * left. Driven step by step: the row read for the check, the PIN change, then the step. */
START_TEST(test_switch_sees_a_pin_set_meanwhile)
{
  make_profiles();
  stream_store_profile row;
  stream_store_account acct;
  ck_assert_int_eq(stream_store_profile_get(&row, store, mine.id), STREAM_OK);
  ck_assert_int_eq(stream_store_account_get(&acct, store, account.id), STREAM_OK);
  ck_assert_msg(update(NULL, NULL, mine.id, NULL, "2468", PW) == STREAM_OK, "%s", msg());
  stream_auth_tokens t;
  ck_assert_int_eq(auth__issue_profile_tokens(&t, auth, &acct, &row, clock_now), STREAM_EFORBIDDEN);
  ck_assert_ptr_nonnull(strstr(msg(), "requires its PIN"));
  ck_assert_str_eq(t.refresh_token, ""); /* nothing handed out */
  /* No live session bound to the profile is left (the family was revoked). */
  size_t live = 99;
  ck_assert_int_eq(stream_store_refresh_revoke_profile(&live, store, mine.id, clock_now),
                   STREAM_OK);
  ck_assert_uint_eq(live, 0);
  /* The row as it is now: issued. */
  ck_assert_int_eq(stream_store_profile_get(&row, store, mine.id), STREAM_OK);
  ck_assert_msg(auth__issue_profile_tokens(&t, auth, &acct, &row, clock_now) == STREAM_OK, "%s",
                msg());
  ck_assert_str_eq(t.profile_id, mine.id);
  ck_assert_int_eq(refresh(&t), STREAM_OK);
  /* A PIN changed meanwhile (the locked profile's), and a profile deleted meanwhile. */
  ck_assert_int_eq(stream_store_profile_get(&row, store, locked.id), STREAM_OK);
  ck_assert_msg(update(NULL, NULL, locked.id, NULL, "5678", PW) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(auth__issue_profile_tokens(&t, auth, &acct, &row, clock_now), STREAM_EFORBIDDEN);
  ck_assert_int_eq(stream_store_profile_get(&row, store, locked.id), STREAM_OK);
  ck_assert_int_eq(stream_auth_profile_delete(auth, account.id, locked.id), STREAM_OK);
  ck_assert_int_eq(auth__issue_profile_tokens(&t, auth, &acct, &row, clock_now), STREAM_ENOTFOUND);
}
END_TEST

START_TEST(test_args)
{
  make_profiles();
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.pin = "";
  int64_t retry = -1;
  ck_assert_int_eq(
      stream_auth_profile_update_checked(NULL, &retry, NULL, account.id, locked.id, &in, PW, NULL),
      STREAM_EINVAL);
  ck_assert_int_eq(retry, 0);
  ck_assert_int_eq(
      stream_auth_profile_update_checked(NULL, NULL, auth, NULL, locked.id, &in, PW, NULL),
      STREAM_EINVAL);
  ck_assert_int_eq(
      stream_auth_profile_update_checked(NULL, NULL, auth, account.id, NULL, &in, PW, NULL),
      STREAM_EINVAL);
  ck_assert_int_eq(
      stream_auth_profile_update_checked(NULL, NULL, auth, account.id, locked.id, NULL, PW, NULL),
      STREAM_EINVAL);
  in.version = 99;
  ck_assert_int_eq(
      stream_auth_profile_update_checked(NULL, NULL, auth, account.id, locked.id, &in, PW, NULL),
      STREAM_EINVAL);
  /* out and out_retry_after may be NULL. */
  in.version = STREAM_AUTH_PROFILE_INPUT_VERSION;
  ck_assert_int_eq(
      stream_auth_profile_update_checked(NULL, NULL, auth, account.id, locked.id, &in, PW, NULL),
      STREAM_OK);
  ck_assert_int_eq(switch_to(locked.id, NULL), STREAM_OK);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("auth-profile-lock");
  TCase *tc = tcase_create("profile-lock");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_right_password_changes_and_removes_the_pin);
  tcase_add_test(tc, test_new_pin_signs_the_profile_out);
  tcase_add_test(tc, test_wrong_password_changes_nothing);
  tcase_add_test(tc, test_pin_without_password_is_invalid);
  tcase_add_test(tc, test_no_pin_needs_no_password);
  tcase_add_test(tc, test_rate_limited_like_sign_in);
  tcase_add_test(tc, test_disabled_account);
  tcase_add_test(tc, test_args);
  tcase_add_test(tc, test_locked_limits_need_the_password);
  tcase_add_test(tc, test_locked_delete_needs_the_password);
  tcase_add_test(tc, test_locked_delete_rate_limited_like_sign_in);
  tcase_add_test(tc, test_delete_if_sees_a_new_pin);
  tcase_add_test(tc, test_switch_sees_a_pin_set_meanwhile);
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
