/* Store conformance case: rate-limit buckets (stream_store_rate_take / _reset),
 * public API only (see conformance.h): a bucket empties after its burst and
 * refills with time (`now` values, no sleeping), a `now` behind the bucket
 * refills nothing, several buckets are charged all or none, reset makes a
 * bucket full, the purge deletes exactly the buckets that have refilled (and
 * reports them only to a version-3 policy), and bad arguments are refused. */
#include <check.h>
#include <stddef.h>
#include <string.h>

#include "conformance.h"

#define T0 1700000000

static stream_store_rate_key rk(const char *scope, const char *key, unsigned int burst,
                                unsigned int interval)
{
  stream_store_rate_key k = {scope, key, burst, interval};
  return k;
}

static int64_t take1(stream_store *s, stream_store_rate_key k, int64_t now)
{
  int64_t wait = -1;
  int rc = stream_store_rate_take(&wait, s, &k, 1, now);
  ck_assert_msg(rc == STREAM_OK, "take %s/%s: %s", k.scope, k.key, stream_error_last()->message);
  return wait;
}

static void expect_einval(int rc, const char *needle)
{
  ck_assert_int_eq(rc, STREAM_EINVAL);
  ck_assert_msg(strstr(stream_error_last()->message, needle), "'%s' not in '%s'", needle,
                stream_error_last()->message);
}

static void bad_arguments(stream_store *s)
{
  stream_store_rate_key ok = rk("conf-rate", "args", 3, 10), k[5];
  int64_t w = 99;
  expect_einval(stream_store_rate_take(NULL, s, &ok, 1, T0), "out_wait");
  expect_einval(stream_store_rate_take(&w, NULL, &ok, 1, T0), "store");
  ck_assert_int_eq(w, 0);
  w = 99;
  expect_einval(stream_store_rate_take(&w, s, NULL, 1, T0), "keys");
  ck_assert_int_eq(w, 0);
  expect_einval(stream_store_rate_take(&w, s, &ok, 0, T0), "n 0");
  for (int i = 0; i < 5; i++)
    k[i] = rk("conf-rate", i == 0 ? "a" : i == 1 ? "b" : i == 2 ? "c" : i == 3 ? "d" : "e", 3, 10);
  expect_einval(stream_store_rate_take(&w, s, k, 5, T0), "n 5");
  k[1] = k[0];
  expect_einval(stream_store_rate_take(&w, s, k, 2, T0), "keys[1] names the bucket of keys[0]");
  expect_einval(stream_store_rate_take(&w, s, &ok, 1, 0), "now");
  char long_scope[STREAM_STORE_RATE_SCOPE_MAX + 2], long_key[STREAM_STORE_RATE_KEY_MAX + 2];
  memset(long_scope, 's', sizeof long_scope - 1);
  long_scope[sizeof long_scope - 1] = '\0';
  memset(long_key, 'k', sizeof long_key - 1);
  long_key[sizeof long_key - 1] = '\0';
  struct {
    stream_store_rate_key k;
    const char *needle;
  } bad[] = {
      {rk(NULL, "x", 3, 10), "keys[0].scope is required"},
      {rk("", "x", 3, 10), "keys[0].scope is required"},
      {rk(long_scope, "x", 3, 10), "keys[0].scope is longer"},
      {rk("conf-rate", NULL, 3, 10), "keys[0].key is required"},
      {rk("conf-rate", "", 3, 10), "keys[0].key is required"},
      {rk("conf-rate", long_key, 3, 10), "keys[0].key is longer"},
      {rk("conf-rate", "bad\xff", 3, 10), "keys[0].key is not valid UTF-8"},
      {rk("conf-\xc3", "x", 3, 10), "keys[0].scope is not valid UTF-8"},
      {rk("conf-rate", "x", 0, 10), "keys[0].burst 0"},
      {rk("conf-rate", "x", STREAM_STORE_RATE_BURST_MAX + 1, 10), "keys[0].burst"},
      {rk("conf-rate", "x", 3, 0), "keys[0].interval 0"},
      {rk("conf-rate", "x", 3, STREAM_STORE_RATE_INTERVAL_MAX + 1), "keys[0].interval"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    w = 99;
    expect_einval(stream_store_rate_take(&w, s, &bad[i].k, 1, T0), bad[i].needle);
    ck_assert_int_eq(w, 0);
  }
  /* The longest scope and key are fine. */
  long_scope[STREAM_STORE_RATE_SCOPE_MAX] = '\0';
  long_key[STREAM_STORE_RATE_KEY_MAX] = '\0';
  ck_assert_int_eq(take1(s, rk(long_scope, long_key, 1, 1), T0), 0);
  ck_assert_int_eq(stream_store_rate_reset(s, long_scope, long_key), STREAM_OK);

  expect_einval(stream_store_rate_reset(NULL, "conf-rate", "x"), "store");
  expect_einval(stream_store_rate_reset(s, NULL, "x"), "scope is required");
  expect_einval(stream_store_rate_reset(s, "conf-rate", ""), "key is required");
  expect_einval(stream_store_rate_reset(s, "conf-rate", "\xff"), "key is not valid UTF-8");
}

void store_case_rate(stream_store *s)
{
  /* Take until empty: burst 3, one more every 10 s. */
  stream_store_rate_key alpha = rk("conf-rate", "alpha", 3, 10);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(take1(s, alpha, T0), 0);
  ck_assert_int_eq(take1(s, alpha, T0), 10);
  ck_assert_int_eq(take1(s, alpha, T0 + 5), 5); /* half a token: 5 s to go */
  ck_assert_int_eq(take1(s, alpha, T0 + 9), 1);
  ck_assert_int_eq(take1(s, alpha, T0 + 10), 0); /* refilled one token */
  ck_assert_int_eq(take1(s, alpha, T0 + 10), 10);
  /* A `now` behind the bucket (another process's clock) refills nothing and
   * does not move the bucket back: 10 s after T0 + 10 there is one token, not
   * 1.7. */
  ck_assert_int_eq(take1(s, alpha, T0 + 3), 10);
  ck_assert_int_eq(take1(s, alpha, T0 + 20), 0);
  ck_assert_int_eq(take1(s, alpha, T0 + 20), 10);
  /* Refill is capped at the burst, however long the bucket rested. */
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(take1(s, alpha, T0 + 100000), 0);
  ck_assert_int_eq(take1(s, alpha, T0 + 100000), 10);
  /* Whole seconds rounded up: 3/7 of a token left to wait for 4/7 * 7 s. */
  stream_store_rate_key odd = rk("conf-rate", "odd", 1, 7);
  ck_assert_int_eq(take1(s, odd, T0), 0);
  ck_assert_int_eq(take1(s, odd, T0 + 3), 4);
  /* The same key in another scope is another bucket. */
  ck_assert_int_eq(take1(s, rk("conf-rate-other", "alpha", 3, 10), T0 + 100000), 0);

  /* Two buckets at once: all or none. A is empty, so B is not charged. */
  stream_store_rate_key two[2] = {rk("conf-rate", "two-a", 1, 60),
                                  rk("conf-rate-b", "two-b", 2, 20)};
  ck_assert_int_eq(take1(s, two[0], T0), 0);
  int64_t w = -1;
  ck_assert_int_eq(stream_store_rate_take(&w, s, two, 2, T0), STREAM_OK);
  ck_assert_int_eq(w, 60);
  ck_assert_int_eq(take1(s, two[1], T0), 0); /* B still has both tokens */
  ck_assert_int_eq(take1(s, two[1], T0), 0);
  ck_assert_int_eq(take1(s, two[1], T0), 20);
  /* Both refilled: one take charges both (A to 0, B to 1). */
  ck_assert_int_eq(stream_store_rate_take(&w, s, two, 2, T0 + 60), STREAM_OK);
  ck_assert_int_eq(w, 0);
  /* A is half a token short (30 s), B is full again: refused, B not charged. */
  ck_assert_int_eq(stream_store_rate_take(&w, s, two, 2, T0 + 90), STREAM_OK);
  ck_assert_int_eq(w, 30);
  ck_assert_int_eq(take1(s, two[1], T0 + 90), 0);
  ck_assert_int_eq(take1(s, two[1], T0 + 90), 0);
  ck_assert_int_eq(take1(s, two[1], T0 + 90), 20);

  /* Reset: the bucket is full again; an absent bucket is no error. */
  ck_assert_int_eq(stream_store_rate_reset(s, "conf-rate", "alpha"), STREAM_OK);
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(take1(s, alpha, T0 + 100000), 0);
  ck_assert_int_eq(take1(s, alpha, T0 + 100000), 10);
  ck_assert_int_eq(stream_store_rate_reset(s, "conf-rate", "never-taken"), STREAM_OK);

  /* Purge: a bucket goes once it has refilled to full (updated + (burst -
   * tokens) * interval <= now), and only then. Rows now: alpha (full at
   * T0 + 100030), odd (T0 + 7), conf-rate-other/alpha (T0 + 100010),
   * two-a (T0 + 120), two-b (T0 + 130). */
  stream_store_purge_policy p;
  stream_store_purge_policy_default(&p);
  ck_assert_uint_eq(p.version, 3);
  stream_store_purge_counts c;
  ck_assert_int_eq(stream_store_purge(&c, s, T0 + 100009, &p), STREAM_OK);
  ck_assert_uint_eq(c.rate_buckets, 3);              /* odd, two-a, two-b */
  ck_assert_int_eq(take1(s, alpha, T0 + 100009), 1); /* alpha kept: 0.9 of a token */
  ck_assert_int_eq(stream_store_purge(&c, s, T0 + 100010, &p), STREAM_OK);
  ck_assert_uint_eq(c.rate_buckets, 1); /* conf-rate-other/alpha, exactly on its second */
  ck_assert_int_eq(stream_store_purge(&c, s, T0 + 100029, &p), STREAM_OK);
  ck_assert_uint_eq(c.rate_buckets, 0);
  ck_assert_int_eq(stream_store_purge(&c, s, T0 + 100030, &p), STREAM_OK);
  ck_assert_uint_eq(c.rate_buckets, 1); /* alpha */
  /* A purged bucket was full: taking from it again behaves as before. */
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(take1(s, alpha, T0 + 100030), 0);
  ck_assert_int_eq(take1(s, alpha, T0 + 100030), 10);

  /* A version-2 policy: the buckets still go, the count is not written (that
   * caller's stream_store_purge_counts ends before rate_buckets). */
  stream_store_purge_policy p2 = p;
  p2.version = 2;
  union {
    stream_store_purge_counts c;
    unsigned char b[sizeof(stream_store_purge_counts)];
  } u;
  memset(u.b, 0xEE, sizeof u.b);
  ck_assert_int_eq(stream_store_purge(&u.c, s, T0 + 100060, &p2), STREAM_OK);
  for (size_t i = offsetof(stream_store_purge_counts, rate_buckets); i < sizeof u.b; i++)
    ck_assert_uint_eq(u.b[i], 0xEE);
  ck_assert_uint_ne(u.c.screen_leases, (size_t)0xEEEEEEEEEEEEEEEEull); /* written */
  ck_assert_int_eq(stream_store_purge(&c, s, T0 + 100060, &p), STREAM_OK);
  ck_assert_uint_eq(c.rate_buckets, 0); /* alpha went with the version-2 purge */
  p.version = 4;
  ck_assert_int_eq(stream_store_purge(&c, s, T0 + 100060, &p), STREAM_EINVAL);

  bad_arguments(s);
}
