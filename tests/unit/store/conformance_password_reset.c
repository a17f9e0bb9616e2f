/* Store conformance case: password reset tokens (stream_store_password_reset_*),
 * public API only (see conformance.h): insert keeps only the newest unused
 * token of an account, consume is one-shot and changes the password, revokes
 * the refresh tokens and deletes the other unused tokens in one go, expired
 * and used tokens are told apart, closing the account and the retention purge
 * delete tokens, and bad arguments are refused. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "conformance.h"

#define T0 1700000000
#define HASH_A "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA"
#define HASH_B "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$bmV3"

static void reset_hash(char out[STREAM_STORE_TOKEN_HASH_LEN + 1], char digit)
{
  memset(out, digit, STREAM_STORE_TOKEN_HASH_LEN);
  out[STREAM_STORE_TOKEN_HASH_LEN] = '\0';
}

static stream_store_password_reset reset_row(const char *account_id, char digit, int64_t at)
{
  stream_store_password_reset r;
  memset(&r, 0, sizeof r);
  reset_hash(r.token_hash, digit);
  snprintf(r.account_id, sizeof r.account_id, "%s", account_id);
  r.created_at = at;
  r.expires_at = at + 1800;
  r.used_at = 12345; /* ignored */
  return r;
}

static void reset_refresh(stream_store *s, const char *account_id, char digit)
{
  stream_store_refresh t;
  memset(&t, 0, sizeof t);
  reset_hash(t.token_hash, digit);
  snprintf(t.family_id, sizeof t.family_id, "fam-reset-%c", digit);
  snprintf(t.account_id, sizeof t.account_id, "%s", account_id);
  t.created_at = T0;
  t.expires_at = T0 + 86400;
  ck_assert_int_eq(stream_store_refresh_insert(s, &t), STREAM_OK);
}

void store_case_password_reset(stream_store *s)
{
  stream_store_account in, acct, other;
  memset(&in, 0, sizeof in);
  snprintf(in.email, sizeof in.email, "reset-a@conformance.test");
  snprintf(in.password_hash, sizeof in.password_hash, HASH_A);
  ck_assert_int_eq(stream_store_account_create(&acct, s, &in, T0), STREAM_OK);
  snprintf(in.email, sizeof in.email, "reset-b@conformance.test");
  ck_assert_int_eq(stream_store_account_create(&other, s, &in, T0), STREAM_OK);

  /* Insert and read back; used_at of the input is ignored. */
  stream_store_password_reset r1 = reset_row(acct.id, '1', T0), got;
  size_t n = 99;
  ck_assert_int_eq(stream_store_password_reset_insert(&n, s, &r1), STREAM_OK);
  ck_assert_uint_eq(n, 0);
  ck_assert_int_eq(stream_store_password_reset_get(&got, s, r1.token_hash), STREAM_OK);
  ck_assert_str_eq(got.account_id, acct.id);
  ck_assert_int_eq(got.created_at, T0);
  ck_assert_int_eq(got.expires_at, T0 + 1800);
  ck_assert_int_eq(got.used_at, 0);
  /* The same hash again for another account: taken. */
  stream_store_password_reset dup = r1;
  snprintf(dup.account_id, sizeof dup.account_id, "%s", other.id);
  ck_assert_int_eq(stream_store_password_reset_insert(NULL, s, &dup), STREAM_EEXIST);

  /* A second token deletes the first (unused) one of the same account only. */
  stream_store_password_reset ro = reset_row(other.id, '9', T0);
  ck_assert_int_eq(stream_store_password_reset_insert(NULL, s, &ro), STREAM_OK);
  stream_store_password_reset r2 = reset_row(acct.id, '2', T0 + 10);
  ck_assert_int_eq(stream_store_password_reset_insert(&n, s, &r2), STREAM_OK);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(stream_store_password_reset_get(&got, s, r1.token_hash), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_store_password_reset_get(&got, s, ro.token_hash), STREAM_OK);

  /* Consume: password set, refresh tokens revoked, once only. */
  reset_refresh(s, acct.id, 'a');
  reset_refresh(s, acct.id, 'b');
  reset_refresh(s, other.id, 'c');
  size_t revoked = 0;
  ck_assert_int_eq(
      stream_store_password_reset_consume(&got, &revoked, s, r2.token_hash, HASH_B, T0 + 20),
      STREAM_OK);
  ck_assert_uint_eq(revoked, 2);
  ck_assert_int_eq(got.used_at, T0 + 20);
  ck_assert_str_eq(got.account_id, acct.id);
  stream_store_account a2;
  ck_assert_int_eq(stream_store_account_get(&a2, s, acct.id), STREAM_OK);
  ck_assert_str_eq(a2.password_hash, HASH_B);
  stream_store_refresh t;
  char h[STREAM_STORE_TOKEN_HASH_LEN + 1];
  reset_hash(h, 'a');
  ck_assert_int_eq(stream_store_refresh_get(&t, s, h), STREAM_OK);
  ck_assert_int_eq(t.revoked_at, T0 + 20);
  reset_hash(h, 'c');
  ck_assert_int_eq(stream_store_refresh_get(&t, s, h), STREAM_OK);
  ck_assert_int_eq(t.revoked_at, 0);
  ck_assert_int_eq(
      stream_store_password_reset_consume(NULL, NULL, s, r2.token_hash, HASH_A, T0 + 21),
      STREAM_ECONFLICT);
  ck_assert_int_eq(stream_store_account_get(&a2, s, acct.id), STREAM_OK);
  ck_assert_str_eq(a2.password_hash, HASH_B);
  reset_hash(h, '7');
  ck_assert_int_eq(stream_store_password_reset_consume(NULL, NULL, s, h, HASH_A, T0 + 21),
                   STREAM_ENOTFOUND);

  /* Expired at expires_at exactly; nothing changes. */
  stream_store_password_reset r3 = reset_row(acct.id, '3', T0 + 100);
  ck_assert_int_eq(stream_store_password_reset_insert(NULL, s, &r3), STREAM_OK);
  ck_assert_int_eq(
      stream_store_password_reset_consume(NULL, NULL, s, r3.token_hash, HASH_A, r3.expires_at),
      STREAM_EEXPIRED);
  ck_assert_int_eq(stream_store_password_reset_get(&got, s, r3.token_hash), STREAM_OK);
  ck_assert_int_eq(got.used_at, 0);
  ck_assert_int_eq(stream_store_account_get(&a2, s, acct.id), STREAM_OK);
  ck_assert_str_eq(a2.password_hash, HASH_B);

  /* Retention: expired more than reset_grace ago goes, used or not. */
  stream_store_purge_policy p;
  stream_store_purge_policy_default(&p);
  ck_assert_int_eq(p.reset_grace, 86400);
  stream_store_purge_counts c;
  ck_assert_int_eq(stream_store_purge(&c, s, r3.expires_at + 86400, &p), STREAM_OK);
  ck_assert_uint_eq(c.password_resets, 2); /* r2 (used) and the other account's */
  ck_assert_int_eq(stream_store_password_reset_get(&got, s, r3.token_hash), STREAM_OK);
  ck_assert_int_eq(stream_store_password_reset_get(&got, s, ro.token_hash), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_store_purge(&c, s, r3.expires_at + 86401, &p), STREAM_OK);
  ck_assert_uint_eq(c.password_resets, 1); /* r3: no longer on the boundary */
  ck_assert_int_eq(stream_store_password_reset_get(&got, s, r3.token_hash), STREAM_ENOTFOUND);

  /* A version-1 policy (its caller's counts end before password_resets):
   * reset tokens go with the default grace, and the counts are not written
   * past the version-1 struct. */
  stream_store_password_reset r7 = reset_row(acct.id, '7', T0 + 1000);
  ck_assert_int_eq(stream_store_password_reset_insert(NULL, s, &r7), STREAM_OK);
  stream_store_purge_policy p1 = p;
  p1.version = 1;
  p1.reset_grace = -5; /* not part of a version-1 struct: never read */
  union {
    stream_store_purge_counts c;
    unsigned char b[sizeof(stream_store_purge_counts)];
  } u;
  memset(u.b, 0xEE, sizeof u.b);
  ck_assert_int_eq(stream_store_purge(&u.c, s, r7.expires_at + 86401, &p1), STREAM_OK);
  for (size_t i = offsetof(stream_store_purge_counts, password_resets); i < sizeof u.b; i++)
    ck_assert_uint_eq(u.b[i], 0xEE);
  ck_assert_int_eq(stream_store_password_reset_get(&got, s, r7.token_hash), STREAM_ENOTFOUND);
  /* The same for `p` NULL (the defaults). */
  stream_store_password_reset r8 = reset_row(acct.id, '8', T0 + 2000);
  ck_assert_int_eq(stream_store_password_reset_insert(NULL, s, &r8), STREAM_OK);
  memset(u.b, 0xEE, sizeof u.b);
  ck_assert_int_eq(stream_store_purge(&u.c, s, r8.expires_at + 86401, NULL), STREAM_OK);
  for (size_t i = offsetof(stream_store_purge_counts, password_resets); i < sizeof u.b; i++)
    ck_assert_uint_eq(u.b[i], 0xEE);
  ck_assert_int_eq(stream_store_password_reset_get(&got, s, r8.token_hash), STREAM_ENOTFOUND);

  /* Closing the account deletes its tokens; a closed account gets none. */
  stream_store_password_reset r4 = reset_row(other.id, '4', T0 + 200000);
  ck_assert_int_eq(stream_store_password_reset_insert(NULL, s, &r4), STREAM_OK);
  ck_assert_int_eq(stream_store_account_close(NULL, s, other.id, T0 + 200001), STREAM_OK);
  ck_assert_int_eq(stream_store_password_reset_get(&got, s, r4.token_hash), STREAM_ENOTFOUND);
  stream_store_password_reset r5 = reset_row(other.id, '5', T0 + 200002);
  ck_assert_int_eq(stream_store_password_reset_insert(NULL, s, &r5), STREAM_ENOTFOUND);
  stream_store_password_reset r6 = reset_row("no-such-account", '6', T0);
  ck_assert_int_eq(stream_store_password_reset_insert(NULL, s, &r6), STREAM_ENOTFOUND);

  /* Bad arguments. */
  stream_store_password_reset bad = reset_row(acct.id, '8', T0);
  ck_assert_int_eq(stream_store_password_reset_insert(NULL, NULL, &bad), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_password_reset_insert(NULL, s, NULL), STREAM_EINVAL);
  bad.token_hash[3] = 'X';
  ck_assert_int_eq(stream_store_password_reset_insert(NULL, s, &bad), STREAM_EINVAL);
  bad = reset_row(acct.id, '8', T0);
  bad.expires_at = bad.created_at;
  ck_assert_int_eq(stream_store_password_reset_insert(NULL, s, &bad), STREAM_EINVAL);
  bad = reset_row("", '8', T0);
  ck_assert_int_eq(stream_store_password_reset_insert(NULL, s, &bad), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_password_reset_get(NULL, s, r1.token_hash), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_password_reset_get(&got, s, "abc"), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_password_reset_consume(NULL, NULL, s, NULL, HASH_A, T0),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_store_password_reset_consume(NULL, NULL, s, r1.token_hash, "", T0),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_store_password_reset_consume(NULL, NULL, s, r1.token_hash, HASH_A, 0),
                   STREAM_EINVAL);
}
