/*
 * Unit tests for the native signing format (HMAC-SHA256), public API only.
 * The known-answer values below were computed by an independent script that
 * follows docs/api/sign.md ("Native format"), not by this library.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stream/sign.h"

#define E 1700000000LL
#define NOW (E - 100)

static const char *U = "https://media.example.com/v/abc/master.m3u8";
static const char *P = "https://media.example.com/v/abc/";

static const char *KAT_URL =
    "https://media.example.com/v/abc/master.m3u8?Expires=1700000000&KeyId=k1&Signature="
    "ZH-N5i448IFNGBR2JMZBfzBCoQAEtLO_Z4utujtBs3E";
static const char *KAT_URLQ =
    "https://media.example.com/v/abc/master.m3u8?lang=en&Expires=1700000000&NotBefore=1699990000&"
    "IP=203.0.113.0_24&KeyId=k1&Signature=G9N3EhIyTO9RM97hwZko-d6ofLbBLgWhtmlQ3ajLyDc";
static const char *KAT_PFX = "https://media.example.com/v/abc/"
                             "master.m3u8?URLPrefix=aHR0cHM6Ly9tZWRpYS5leGFtcGxlLmNvbS92L2FiYy8&"
                             "Expires=1700000000&IP=2001:db8::_32&KeyId=k1&Signature=aWoA0A--"
                             "4h9EhPRIcIOy0aveO6iHsnHxtUnraMRxDMA";
static const char *KAT_COOKIE =
    "URLPrefix=aHR0cHM6Ly9tZWRpYS5leGFtcGxlLmNvbS92L2FiYy8&Expires=1700000000&KeyId=k1&Signature="
    "6psdn0AVFJm-Hyk20boMfFlOAbfT_n3pQI7ttbkkKxI";
static const char *KAT_PATH =
    "https://media.example.com/v/abc/stream-token=Expires=1700000000&KeyId=k1&Signature="
    "J4yLiXPTWFS7RlFYHraV-LudjKusuttnYafKbMn2xUs/master.m3u8";

static stream_keyring *ring;

static stream_key *hmac_key(const char *id, unsigned char base)
{
  unsigned char b[32];
  for (int i = 0; i < 32; i++)
    b[i] = (unsigned char)(base + i);
  stream_key *k = NULL;
  ck_assert_int_eq(stream_key_from_bytes(&k, STREAM_KEY_HMAC, id, b, sizeof b), STREAM_OK);
  return k;
}

static void setup(void)
{
  ck_assert_int_eq(stream_keyring_new(&ring), STREAM_OK);
  stream_key *k = hmac_key("k1", 0);
  ck_assert_int_eq(stream_keyring_add(ring, k), STREAM_OK);
  stream_key_free(k);
}

static void teardown(void)
{
  stream_keyring_free(ring);
  ring = NULL;
}

static stream_native_sign_options opts_exp(int64_t e)
{
  stream_native_sign_options o = STREAM_NATIVE_SIGN_OPTIONS_INIT;
  o.expires = e;
  return o;
}

/* Verify and check both status and reason. */
static void expect(const char *url, const char *cookie, const char *ip, int64_t now, int status,
                   int reason)
{
  stream_native_result r;
  int rc = cookie ? stream_sign_native_verify_cookie(&r, ring, url, cookie, ip, now, NULL)
                  : stream_sign_native_verify(&r, ring, url, ip, now, NULL);
  ck_assert_msg(rc == status && r.reason == reason, "%s [%s]: rc %d reason %d (%s), want %d/%d",
                url, cookie ? cookie : "", rc, r.reason, stream_sign_reason_str(r.reason), status,
                reason);
}

START_TEST(test_reason_strings)
{
  ck_assert_str_eq(stream_sign_reason_str(STREAM_SIGN_VALID), "valid");
  ck_assert_str_eq(stream_sign_reason_str(STREAM_SIGN_EXPIRED), "expired");
  ck_assert_str_eq(stream_sign_reason_str(STREAM_SIGN_NOT_YET_VALID), "not yet valid");
  ck_assert_str_eq(stream_sign_reason_str(STREAM_SIGN_BAD_SIGNATURE), "bad signature");
  ck_assert_str_eq(stream_sign_reason_str(STREAM_SIGN_UNKNOWN_KEY), "unknown key");
  ck_assert_str_eq(stream_sign_reason_str(STREAM_SIGN_MALFORMED), "malformed");
  ck_assert_str_eq(stream_sign_reason_str(STREAM_SIGN_OUTSIDE_PREFIX), "outside prefix");
  ck_assert_str_eq(stream_sign_reason_str(STREAM_SIGN_IP_MISMATCH), "IP mismatch");
  ck_assert_str_eq(stream_sign_reason_str(STREAM_SIGN_MISSING), "missing");
  ck_assert_str_eq(stream_sign_reason_str(99), "unknown reason");
  ck_assert_str_eq(stream_sign_reason_str(-1), "unknown reason");
}
END_TEST

START_TEST(test_known_answers)
{
  stream_native_sign_options o = opts_exp(E);
  char *s = NULL;
  ck_assert_int_eq(stream_sign_native_url(&s, ring, U, &o), STREAM_OK);
  ck_assert_str_eq(s, KAT_URL);
  stream_free(s);

  o.not_before = 1699990000;
  o.ip = "203.0.113.0/24";
  ck_assert_int_eq(
      stream_sign_native_url(&s, ring, "https://media.example.com/v/abc/master.m3u8?lang=en", &o),
      STREAM_OK);
  ck_assert_str_eq(s, KAT_URLQ);
  stream_free(s);

  o = opts_exp(E);
  o.ip = "2001:0db8:0:0::/32"; /* written in canonical form on the wire */
  ck_assert_int_eq(stream_sign_native_prefix(&s, ring, U, P, &o), STREAM_OK);
  ck_assert_str_eq(s, KAT_PFX);
  stream_free(s);
  /* Without a URL: only the parameters, to append to any URL under the prefix. */
  ck_assert_int_eq(stream_sign_native_prefix(&s, ring, NULL, P, &o), STREAM_OK);
  ck_assert_str_eq(s, strchr(KAT_PFX, '?') + 1);
  stream_free(s);

  o = opts_exp(E);
  ck_assert_int_eq(stream_sign_native_cookie(&s, ring, P, &o), STREAM_OK);
  ck_assert_str_eq(s, KAT_COOKIE);
  stream_free(s);

  o.key_id = "k1";
  ck_assert_int_eq(stream_sign_native_path(&s, ring, P, "master.m3u8", &o), STREAM_OK);
  ck_assert_str_eq(s, KAT_PATH);
  stream_free(s);
}
END_TEST

START_TEST(test_verify_known_answers)
{
  stream_native_result r;
  ck_assert_int_eq(stream_sign_native_verify(&r, ring, KAT_URL, NULL, NOW, NULL), STREAM_OK);
  ck_assert_int_eq(r.reason, STREAM_SIGN_VALID);
  ck_assert_int_eq(r.form, STREAM_NATIVE_FORM_URL);
  ck_assert_str_eq(r.key_id, "k1");
  ck_assert_int_eq(r.expires, E);
  ck_assert_int_eq(r.not_before, 0);
  ck_assert_str_eq(r.ip, "");
  ck_assert_uint_eq(r.strip_offset, strlen(U));
  ck_assert_uint_eq(r.strip_offset + r.strip_len, strlen(KAT_URL));

  ck_assert_int_eq(stream_sign_native_verify(&r, ring, KAT_URLQ, "203.0.113.77", NOW, NULL),
                   STREAM_OK);
  ck_assert_int_eq(r.not_before, 1699990000);
  ck_assert_str_eq(r.ip, "203.0.113.0/24");
  ck_assert_uint_eq(r.strip_offset, strlen(U) + strlen("?lang=en"));

  ck_assert_int_eq(stream_sign_native_verify(&r, ring, KAT_PFX, "2001:db8:1::5", NOW, NULL),
                   STREAM_OK);
  ck_assert_int_eq(r.form, STREAM_NATIVE_FORM_PREFIX);
  ck_assert_str_eq(r.ip, "2001:db8::/32");
  ck_assert_uint_eq(r.strip_offset, strlen(U));

  ck_assert_int_eq(stream_sign_native_verify_cookie(
                       &r, ring, "https://media.example.com/v/abc/720p/seg_001.m4s?x=1", KAT_COOKIE,
                       NULL, NOW, NULL),
                   STREAM_OK);
  ck_assert_int_eq(r.form, STREAM_NATIVE_FORM_COOKIE);
  ck_assert_uint_eq(r.strip_len, 0);

  ck_assert_int_eq(stream_sign_native_verify(&r, ring, KAT_PATH, NULL, NOW, NULL), STREAM_OK);
  ck_assert_int_eq(r.form, STREAM_NATIVE_FORM_PATH);
  ck_assert_uint_eq(r.strip_offset, strlen(P));
  ck_assert_str_eq(KAT_PATH + r.strip_offset + r.strip_len, "master.m3u8");
}
END_TEST

/* standards.md §9: relative URIs resolved against the manifest inherit the token. */
START_TEST(test_path_token_inherited_by_relative_uris)
{
  char base[512], url[1200];
  snprintf(base, sizeof base, "%s", KAT_PATH);
  *strrchr(base, '/') = '\0'; /* directory of master.m3u8, which holds the token */
  snprintf(url, sizeof url, "%s/720p/seg_001.ts", base);
  expect(url, NULL, NULL, NOW, STREAM_OK, STREAM_SIGN_VALID);
  snprintf(url, sizeof url, "%s/720p/index.m3u8?CMCD=br%%3D3200", base);
  expect(url, NULL, NULL, NOW, STREAM_OK, STREAM_SIGN_VALID);
  /* Root-relative URIs escape it: no signature any more. */
  expect("https://media.example.com/other/seg.ts", NULL, NULL, NOW, STREAM_EINVAL,
         STREAM_SIGN_MISSING);
  /* Dot segments, raw or encoded, after the token are refused. */
  const char *esc[] = {"/../../x/seg.ts", "/%2e%2E/x", "/./seg.ts", "/.%2e/x",
                       "/a%2Fb",          "/a%5cb",    "/a%00b"};
  for (size_t i = 0; i < sizeof esc / sizeof *esc; i++) {
    snprintf(url, sizeof url, "%s%s", base, esc[i]);
    expect(url, NULL, NULL, NOW, STREAM_EFORBIDDEN, STREAM_SIGN_OUTSIDE_PREFIX);
  }
  /* Token not followed by '/', or present twice. */
  expect(base, NULL, NULL, NOW, STREAM_EINVAL, STREAM_SIGN_MALFORMED);
  snprintf(url, sizeof url, "%s/%s", base, strstr(KAT_PATH, "stream-token="));
  expect(url, NULL, NULL, NOW, STREAM_EINVAL, STREAM_SIGN_MALFORMED);
  /* Token and query signature together. */
  snprintf(url, sizeof url, "%s/a.ts?Expires=1&KeyId=k1&Signature=x", base);
  expect(url, NULL, NULL, NOW, STREAM_EINVAL, STREAM_SIGN_MALFORMED);
}
END_TEST

START_TEST(test_time_window)
{
  expect(KAT_URL, NULL, NULL, E - 1, STREAM_OK, STREAM_SIGN_VALID);
  expect(KAT_URL, NULL, NULL, E, STREAM_EEXPIRED, STREAM_SIGN_EXPIRED);
  expect(KAT_URL, NULL, NULL, E + 5000, STREAM_EEXPIRED, STREAM_SIGN_EXPIRED);
  ck_assert(strstr(stream_error_last()->message, "1700000000") != NULL);
  expect(KAT_URLQ, NULL, "203.0.113.1", 1699990000 - 1, STREAM_EEXPIRED, STREAM_SIGN_NOT_YET_VALID);
  expect(KAT_URLQ, NULL, "203.0.113.1", 1699990000, STREAM_OK, STREAM_SIGN_VALID);

  stream_native_verify_options vo = STREAM_NATIVE_VERIFY_OPTIONS_INIT;
  vo.leeway = 30;
  stream_native_result r;
  ck_assert_int_eq(stream_sign_native_verify(&r, ring, KAT_URL, NULL, E + 29, &vo), STREAM_OK);
  ck_assert_int_eq(stream_sign_native_verify(&r, ring, KAT_URL, NULL, E + 30, &vo),
                   STREAM_EEXPIRED);
  ck_assert_int_eq(
      stream_sign_native_verify(&r, ring, KAT_URLQ, "203.0.113.1", 1699990000 - 30, &vo),
      STREAM_OK);
  ck_assert_int_eq(
      stream_sign_native_verify(&r, ring, KAT_URLQ, "203.0.113.1", 1699990000 - 31, &vo),
      STREAM_EEXPIRED);
  ck_assert_int_eq(r.reason, STREAM_SIGN_NOT_YET_VALID);
  vo.leeway = STREAM_NATIVE_LEEWAY_MAX + 1;
  ck_assert_int_eq(stream_sign_native_verify(&r, ring, KAT_URL, NULL, NOW, &vo), STREAM_EINVAL);
  vo.leeway = 0;
  vo.version = 7;
  ck_assert_int_eq(stream_sign_native_verify(&r, ring, KAT_URL, NULL, NOW, &vo), STREAM_EINVAL);

  /* now = 0 is the current time: a signature expiring in an hour is valid. */
  stream_native_sign_options o = opts_exp((int64_t)time(NULL) + 3600);
  char *s = NULL;
  ck_assert_int_eq(stream_sign_native_url(&s, ring, U, &o), STREAM_OK);
  ck_assert_int_eq(stream_sign_native_verify(&r, ring, s, NULL, 0, NULL), STREAM_OK);
  stream_free(s);
  /* ...and KAT_URL (2023) is expired now. */
  expect(KAT_URL, NULL, NULL, 0, STREAM_EEXPIRED, STREAM_SIGN_EXPIRED);
}
END_TEST

START_TEST(test_key_rotation_and_unknown_keys)
{
  stream_key *k2 = hmac_key("k2", 100);
  ck_assert_int_eq(stream_keyring_add(ring, k2), STREAM_OK);
  ck_assert_int_eq(stream_keyring_set_primary(ring, "k2"), STREAM_OK);
  stream_native_sign_options o = opts_exp(E);
  char *s2 = NULL;
  ck_assert_int_eq(stream_sign_native_url(&s2, ring, U, &o), STREAM_OK);
  ck_assert(strstr(s2, "&KeyId=k2&") != NULL);
  /* Both keys live at once. */
  expect(s2, NULL, NULL, NOW, STREAM_OK, STREAM_SIGN_VALID);
  expect(KAT_URL, NULL, NULL, NOW, STREAM_OK, STREAM_SIGN_VALID);
  /* Retire k1. */
  ck_assert_int_eq(stream_keyring_remove(ring, "k1"), STREAM_OK);
  expect(KAT_URL, NULL, NULL, NOW, STREAM_EAUTH, STREAM_SIGN_UNKNOWN_KEY);
  expect(s2, NULL, NULL, NOW, STREAM_OK, STREAM_SIGN_VALID);
  /* A key id pointing to another key's bytes: bad signature, not valid. */
  char *forged = strdup(s2);
  memcpy(strstr(forged, "KeyId=k2") + 7, "3", 1);
  stream_key *k3 = hmac_key("k3", 7);
  ck_assert_int_eq(stream_keyring_add(ring, k3), STREAM_OK);
  expect(forged, NULL, NULL, NOW, STREAM_EAUTH, STREAM_SIGN_BAD_SIGNATURE);
  free(forged);
  /* A non-HMAC key under the signed id is refused. */
  stream_key *ed = NULL;
  ck_assert_int_eq(stream_key_generate(&ed, STREAM_KEY_ED25519_PRIVATE, "k1", 0), STREAM_OK);
  ck_assert_int_eq(stream_keyring_add(ring, ed), STREAM_OK);
  expect(KAT_URL, NULL, NULL, NOW, STREAM_EAUTH, STREAM_SIGN_UNKNOWN_KEY);
  o.key_id = "k1";
  char *s = NULL;
  ck_assert_int_eq(stream_sign_native_url(&s, ring, U, &o), STREAM_EINVAL);
  ck_assert_ptr_null(s);
  o.key_id = "nope";
  ck_assert_int_eq(stream_sign_native_url(&s, ring, U, &o), STREAM_ENOTFOUND);
  o.key_id = "bad id";
  ck_assert_int_eq(stream_sign_native_url(&s, ring, U, &o), STREAM_EINVAL);
  stream_key_free(ed);
  stream_key_free(k3);
  stream_key_free(k2);
  stream_free(s2);
}
END_TEST

START_TEST(test_prefix_scope)
{
  /* Other files under the prefix are fine, with their own query. */
  const char *pfx_params = strchr(KAT_PFX, '?') + 1;
  char url[800];
  snprintf(url, sizeof url, "https://media.example.com/v/abc/720p/seg.ts?a=b&%s", pfx_params);
  expect(url, NULL, "2001:db8::1", NOW, STREAM_OK, STREAM_SIGN_VALID);
  const char *outside[] = {"https://media.example.com/v/abd/x.ts?",
                           "https://media.example.com/v/ab?",
                           "http://media.example.com/v/abc/x.ts?",
                           "https://media.example.com.evil.org/v/abc/x?",
                           "https://media.example.com/v/abc/../secret/x?",
                           "https://media.example.com/v/abc/%2e%2e/secret/x?",
                           "https://media.example.com/v/abc/..%2Fsecret?",
                           "https://media.example.com/%76/abc/x.ts?",
                           "https://MEDIA.example.com/v/abc/x.ts?"};
  for (size_t i = 0; i < sizeof outside / sizeof *outside; i++) {
    snprintf(url, sizeof url, "%s%s", outside[i], pfx_params);
    expect(url, NULL, "2001:db8::1", NOW, STREAM_EFORBIDDEN, STREAM_SIGN_OUTSIDE_PREFIX);
  }
  /* Cookie: same scope rules. */
  expect("https://media.example.com/v/abc/a/b/c.m4s", KAT_COOKIE, NULL, NOW, STREAM_OK,
         STREAM_SIGN_VALID);
  expect("https://media.example.com/v/abd/a.m4s", KAT_COOKIE, NULL, NOW, STREAM_EFORBIDDEN,
         STREAM_SIGN_OUTSIDE_PREFIX);
  expect("https://media.example.com/v/abc/../x", KAT_COOKIE, NULL, NOW, STREAM_EFORBIDDEN,
         STREAM_SIGN_OUTSIDE_PREFIX);
  expect("https://media.example.com/v/abc/x", "", NULL, NOW, STREAM_EINVAL, STREAM_SIGN_MISSING);
  stream_native_result r;
  ck_assert_int_eq(stream_sign_native_verify_cookie(&r, ring, U, NULL, NULL, NOW, NULL),
                   STREAM_EINVAL);
  ck_assert_int_eq(r.reason, STREAM_SIGN_MISSING);
  /* A cookie value is not a URL signature and the reverse. */
  expect(KAT_URL, strchr(KAT_URL, '?') + 1, NULL, NOW, STREAM_EINVAL, STREAM_SIGN_MALFORMED);
  snprintf(url, sizeof url, "%s?%s", U, KAT_COOKIE);
  expect(url, NULL, NULL, NOW, STREAM_EAUTH, STREAM_SIGN_BAD_SIGNATURE);
}
END_TEST

START_TEST(test_ip_binding)
{
  expect(KAT_URLQ, NULL, "203.0.113.0", NOW, STREAM_OK, STREAM_SIGN_VALID);
  expect(KAT_URLQ, NULL, "203.0.113.255", NOW, STREAM_OK, STREAM_SIGN_VALID);
  expect(KAT_URLQ, NULL, "::ffff:203.0.113.9", NOW, STREAM_OK, STREAM_SIGN_VALID);
  expect(KAT_URLQ, NULL, "203.0.114.1", NOW, STREAM_EFORBIDDEN, STREAM_SIGN_IP_MISMATCH);
  expect(KAT_URLQ, NULL, "2001:db8::1", NOW, STREAM_EFORBIDDEN, STREAM_SIGN_IP_MISMATCH);
  expect(KAT_URLQ, NULL, NULL, NOW, STREAM_EFORBIDDEN, STREAM_SIGN_IP_MISMATCH);
  expect(KAT_URLQ, NULL, "not-an-ip", NOW, STREAM_EINVAL, STREAM_SIGN_MALFORMED);
  expect(KAT_PFX, NULL, "2001:db9::1", NOW, STREAM_EFORBIDDEN, STREAM_SIGN_IP_MISMATCH);
  expect(KAT_PFX, NULL, "203.0.113.1", NOW, STREAM_EFORBIDDEN, STREAM_SIGN_IP_MISMATCH);
  /* Unbound signatures ignore the address. */
  expect(KAT_URL, NULL, "198.51.100.1", NOW, STREAM_OK, STREAM_SIGN_VALID);
  /* Single addresses. */
  stream_native_sign_options o = opts_exp(E);
  o.ip = "198.51.100.7";
  char *s = NULL;
  ck_assert_int_eq(stream_sign_native_path(&s, ring, P, NULL, &o), STREAM_OK);
  ck_assert(strstr(s, "&IP=198.51.100.7&") != NULL);
  ck_assert_int_eq(s[strlen(s) - 1], '/');
  expect(s, NULL, "198.51.100.7", NOW, STREAM_OK, STREAM_SIGN_VALID);
  expect(s, NULL, "198.51.100.8", NOW, STREAM_EFORBIDDEN, STREAM_SIGN_IP_MISMATCH);
  stream_free(s);
  o.ip = "2001:DB8::0:1/128";
  ck_assert_int_eq(stream_sign_native_url(&s, ring, U, &o), STREAM_OK);
  ck_assert(strstr(s, "&IP=2001:db8::1&") != NULL);
  expect(s, NULL, "2001:db8::1", NOW, STREAM_OK, STREAM_SIGN_VALID);
  stream_free(s);
  o.ip = "0.0.0.0/0";
  ck_assert_int_eq(stream_sign_native_url(&s, ring, U, &o), STREAM_OK);
  expect(s, NULL, "192.0.2.1", NOW, STREAM_OK, STREAM_SIGN_VALID);
  expect(s, NULL, "::1", NOW, STREAM_EFORBIDDEN, STREAM_SIGN_IP_MISMATCH);
  stream_free(s);
  const char *bad[] = {
      "203.0.113.1/24", "1.2.3.4/33", "1.2.3.0/024", "::/129",     "::ffff:1.2.3.4",
      "1.2.3",          "",           "1.2.3.4/",    "1.2.3.4_32", "fe80::1%eth0"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    o.ip = bad[i];
    ck_assert_msg(stream_sign_native_url(&s, ring, U, &o) == STREAM_EINVAL, "%s", bad[i]);
  }
}
END_TEST

START_TEST(test_malformed_inputs)
{
  const char *sig = strstr(KAT_URL, "&Signature=") + 11;
  char url[800];
  struct {
    const char *tail;
    int reason;
  } cases[] = {
      {"?Expires=1700000000&KeyId=k1&Signature=%s&x=1", STREAM_SIGN_MALFORMED},
      {"?Expires=1700000000&KeyId=k1&Signature=%s&Signature=x", STREAM_SIGN_MALFORMED},
      {"?Expires=1700000000&Expires=1700000000&KeyId=k1&Signature=%s", STREAM_SIGN_MALFORMED},
      {"?KeyId=k1&Expires=1700000000&Signature=%s", STREAM_SIGN_MALFORMED},
      {"?Expires=1700000000&x=1&KeyId=k1&Signature=%s", STREAM_SIGN_MALFORMED},
      {"?expires=1700000000&KeyId=k1&Signature=%s", STREAM_SIGN_MALFORMED},
      {"?Expires=1700000000&KeyID=k1&Signature=%s", STREAM_SIGN_MALFORMED},
      {"?Expires=01700000000&KeyId=k1&Signature=%s", STREAM_SIGN_MALFORMED},
      {"?Expires=+1700000000&KeyId=k1&Signature=%s", STREAM_SIGN_MALFORMED},
      {"?Expires=99999999999999&KeyId=k1&Signature=%s", STREAM_SIGN_MALFORMED},
      {"?Expires=1700000000&KeyId=k1&Signature=%s=", STREAM_SIGN_MALFORMED},
      {"?Expires=1700000000&KeyId=k1&Signature=%.42s", STREAM_SIGN_MALFORMED},
      {"?Expires=1700000000&KeyId=k1&Signature=%sA", STREAM_SIGN_MALFORMED},
      {"?Expires=1700000000&KeyId=k%%31&Signature=%s", STREAM_SIGN_MALFORMED},
      {"?Expires=1700000000&KeyId=&Signature=%s", STREAM_SIGN_MALFORMED},
      {"?Expires=1700000000&KeyId=k1", STREAM_SIGN_MALFORMED},
      {"?Expires=1700000000&Signature=%s", STREAM_SIGN_MALFORMED},
      {"?Expires=1700000000&NotBefore=1700000000&KeyId=k1&Signature=%s", STREAM_SIGN_MALFORMED},
      {"?Expires=1700000000&IP=203.0.113.0/24&KeyId=k1&Signature=%s", STREAM_SIGN_MALFORMED},
      {"?Expires=1700000000&IP=2001:DB8::1&KeyId=k1&Signature=%s", STREAM_SIGN_MALFORMED},
      {"?Expires=1700000000&IP=1.2.3.4_24&KeyId=k1&Signature=%s", STREAM_SIGN_MALFORMED},
      {"?URLPrefix=aHR0cHM6Ly9tZWRpYS5leGFtcGxlLmNvbS92L2FiYy8=&Expires=1700000000&KeyId=k1&"
       "Signature=%s",
       STREAM_SIGN_MALFORMED},
      {"?URLPrefix=aHR0cHM6Ly9tZWRpYS5leGFtcGxlLmNvbQ&Expires=1700000000&KeyId=k1&Signature=%s",
       STREAM_SIGN_MALFORMED}, /* prefix without a path: "https://media.example.com" */
      {"?&Expires=1700000000&KeyId=k1&Signature=%s", STREAM_SIGN_MALFORMED},
      {"?a=b&&Expires=1700000000&KeyId=k1&Signature=%s", STREAM_SIGN_MALFORMED},
      {"?Expires=1700000000&KeyId=k1&Signature=%s#frag", STREAM_SIGN_MALFORMED},
      {"?Expires=1700000000&KeyId=k1&Signature=%s&", STREAM_SIGN_MALFORMED},
      {"?a=b", STREAM_SIGN_MISSING},
      {"", STREAM_SIGN_MISSING},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char tail[300];
    snprintf(tail, sizeof tail, cases[i].tail, sig);
    snprintf(url, sizeof url, "%s%s", U, tail);
    expect(url, NULL, NULL, NOW, STREAM_EINVAL, cases[i].reason);
  }
  /* Not a URL at all. */
  expect("", NULL, NULL, NOW, STREAM_EINVAL, STREAM_SIGN_MALFORMED);
  expect("ftp://h/x?Expires=1", NULL, NULL, NOW, STREAM_EINVAL, STREAM_SIGN_MALFORMED);
  expect("https:///x", NULL, NULL, NOW, STREAM_EINVAL, STREAM_SIGN_MALFORMED);
  expect("https://h/a b", NULL, NULL, NOW, STREAM_EINVAL, STREAM_SIGN_MALFORMED);
  /* Bad arguments. */
  stream_native_result r;
  ck_assert_int_eq(stream_sign_native_verify(NULL, ring, KAT_URL, NULL, NOW, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_sign_native_verify(&r, NULL, KAT_URL, NULL, NOW, NULL), STREAM_EINVAL);
  ck_assert_int_eq(r.reason, STREAM_SIGN_MALFORMED);
  ck_assert_int_eq(stream_sign_native_verify(&r, ring, NULL, NULL, NOW, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_sign_native_verify(&r, ring, KAT_URL, NULL, -1, NULL), STREAM_EINVAL);
  /* Form mask. */
  stream_native_verify_options vo = STREAM_NATIVE_VERIFY_OPTIONS_INIT;
  vo.forms = STREAM_NATIVE_FORM_PATH | STREAM_NATIVE_FORM_COOKIE;
  ck_assert_int_eq(stream_sign_native_verify(&r, ring, KAT_URL, NULL, NOW, &vo), STREAM_EINVAL);
  ck_assert_int_eq(r.reason, STREAM_SIGN_MALFORMED);
  ck_assert_int_eq(stream_sign_native_verify(&r, ring, KAT_PATH, NULL, NOW, &vo), STREAM_OK);
  vo.forms = 0x100;
  ck_assert_int_eq(stream_sign_native_verify(&r, ring, KAT_PATH, NULL, NOW, &vo), STREAM_EINVAL);
}
END_TEST

START_TEST(test_sign_argument_checks)
{
  stream_native_sign_options o = opts_exp(E);
  char *s = (char *)1;
  ck_assert_int_eq(stream_sign_native_url(&s, ring, NULL, &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_sign_native_url(NULL, ring, U, &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_sign_native_url(&s, NULL, U, &o), STREAM_EINVAL);
  ck_assert_ptr_null(s);
  ck_assert_int_eq(stream_sign_native_url(&s, ring, U, NULL), STREAM_EINVAL);
  o.version = 2;
  ck_assert_int_eq(stream_sign_native_url(&s, ring, U, &o), STREAM_EINVAL);
  o = opts_exp(0);
  ck_assert_int_eq(stream_sign_native_url(&s, ring, U, &o), STREAM_EINVAL);
  o = opts_exp(STREAM_NATIVE_TIME_MAX + 1);
  ck_assert_int_eq(stream_sign_native_url(&s, ring, U, &o), STREAM_EINVAL);
  o = opts_exp(E);
  o.not_before = E;
  ck_assert_int_eq(stream_sign_native_url(&s, ring, U, &o), STREAM_EINVAL);
  o.not_before = -5;
  ck_assert_int_eq(stream_sign_native_url(&s, ring, U, &o), STREAM_EINVAL);
  o = opts_exp(E);
  const char *bad_urls[] = {"",
                            "media.example.com/x",
                            "HTTPS://h/x",
                            "https://h/x#f",
                            "https://h/x y",
                            "https://h/x?",
                            "https://h/x?a=1&",
                            "https://h/x?expires=5",
                            "https://h/x?a=1&Signature=2",
                            "https://h/v/stream-token=x/y",
                            "https://h/\xc3\xa9",
                            "https://"};
  for (size_t i = 0; i < sizeof bad_urls / sizeof *bad_urls; i++)
    ck_assert_msg(stream_sign_native_url(&s, ring, bad_urls[i], &o) == STREAM_EINVAL, "%s",
                  bad_urls[i]);
  const char *bad_prefixes[] = {
      "https://h",        "https://h/v?x", "https://h/v/../w/",        "https://h/v/%2e%2e/",
      "https://h/a%2fb/", "http:/h/",      "https://h/stream-token=a/"};
  for (size_t i = 0; i < sizeof bad_prefixes / sizeof *bad_prefixes; i++) {
    ck_assert_msg(stream_sign_native_cookie(&s, ring, bad_prefixes[i], &o) == STREAM_EINVAL, "%s",
                  bad_prefixes[i]);
    ck_assert_int_eq(stream_sign_native_path(&s, ring, bad_prefixes[i], NULL, &o), STREAM_EINVAL);
  }
  ck_assert_int_eq(stream_sign_native_cookie(&s, ring, NULL, &o), STREAM_EINVAL);
  /* Path form needs a prefix ending in '/' and a clean relative rest. */
  ck_assert_int_eq(stream_sign_native_path(&s, ring, "https://h/v/abc", "a.m3u8", &o),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_sign_native_path(&s, ring, P, "/abs.m3u8", &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_sign_native_path(&s, ring, P, "../x.m3u8", &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_sign_native_path(&s, ring, P, "a#b", &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_sign_native_path(&s, ring, P, "a/master.m3u8?x=1", &o), STREAM_OK);
  expect(s, NULL, NULL, NOW, STREAM_OK, STREAM_SIGN_VALID);
  stream_free(s);
  /* Prefix form: the URL must lie under the prefix. */
  ck_assert_int_eq(stream_sign_native_prefix(&s, ring, "https://media.example.com/w/x", P, &o),
                   STREAM_EINVAL);
  ck_assert_int_eq(
      stream_sign_native_prefix(&s, ring, "https://media.example.com/v/abc/../x", P, &o),
      STREAM_EINVAL);
  /* A prefix without a trailing '/' is a plain string prefix (as Google's). */
  ck_assert_int_eq(stream_sign_native_prefix(&s, ring, "https://media.example.com/v/abc.m3u8",
                                             "https://media.example.com/v/abc", &o),
                   STREAM_OK);
  expect(s, NULL, NULL, NOW, STREAM_OK, STREAM_SIGN_VALID);
  stream_free(s);
  /* Oversized input. */
  size_t big = STREAM_NATIVE_URL_MAX + 10;
  char *huge = malloc(big + 1);
  memcpy(huge, "https://h/", 10);
  memset(huge + 10, 'a', big - 10);
  huge[big] = '\0';
  ck_assert_int_eq(stream_sign_native_url(&s, ring, huge, &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_sign_native_cookie(&s, ring, huge, &o), STREAM_EINVAL);
  stream_native_result r;
  ck_assert_int_eq(stream_sign_native_verify(&r, ring, huge, NULL, NOW, NULL), STREAM_EINVAL);
  ck_assert_int_eq(r.reason, STREAM_SIGN_MALFORMED);
  /* A URL whose signed form would be over the limit is refused, not signed into something
   * no verifier takes; the longest whose signed form fits signs and verifies. */
  huge[STREAM_NATIVE_URL_MAX] = '\0';
  ck_assert_int_eq(stream_sign_native_url(&s, ring, huge, &o), STREAM_EINVAL);
  ck_assert_ptr_null(s);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "verification takes at most"));
  huge[100] = '\0';
  ck_assert_int_eq(stream_sign_native_url(&s, ring, huge, &o), STREAM_OK);
  size_t overhead = strlen(s) - 100; /* the parameters and the signature */
  stream_free(s);
  huge[100] = 'a';
  size_t longest = STREAM_NATIVE_URL_MAX - overhead;
  huge[longest + 1] = '\0';
  ck_assert_int_eq(stream_sign_native_url(&s, ring, huge, &o), STREAM_EINVAL);
  huge[longest + 1] = 'a';
  huge[longest] = '\0';
  ck_assert_int_eq(stream_sign_native_url(&s, ring, huge, &o), STREAM_OK);
  ck_assert_uint_eq(strlen(s), STREAM_NATIVE_URL_MAX);
  ck_assert_int_eq(stream_sign_native_verify(&r, ring, s, NULL, NOW, NULL), STREAM_OK);
  stream_free(s);
  huge[longest] = 'a';
  /* The longest prefix: its path token URL and its query (the request being the prefix, '?'
   * and the result) would be over the limit, so both are refused; a cookie, which travels
   * beside the URL, still signs, and verifies for that prefix as the request URL. */
  huge[STREAM_NATIVE_URL_MAX - 1] = '/';
  ck_assert_int_eq(stream_sign_native_path(&s, ring, huge, NULL, &o), STREAM_EINVAL);
  ck_assert_ptr_null(s);
  ck_assert_int_eq(stream_sign_native_prefix(&s, ring, NULL, huge, &o), STREAM_EINVAL);
  ck_assert_ptr_null(s);
  ck_assert_int_eq(stream_sign_native_cookie(&s, ring, huge, &o), STREAM_OK);
  ck_assert_int_eq(stream_sign_native_verify_cookie(&r, ring, huge, s, NULL, NOW, NULL), STREAM_OK);
  stream_free(s);
  free(huge);
}
END_TEST

START_TEST(test_sign_into_buffer)
{
  stream_native_sign_options o = opts_exp(E);
  char buf[512];
  size_t n = 0;
  ck_assert_int_eq(
      stream_sign_native_into(buf, sizeof buf, &n, STREAM_NATIVE_FORM_URL, ring, U, NULL, &o),
      STREAM_OK);
  ck_assert_str_eq(buf, KAT_URL);
  ck_assert_uint_eq(n, strlen(KAT_URL));
  size_t need = n;
  ck_assert_int_eq(
      stream_sign_native_into(buf, need, &n, STREAM_NATIVE_FORM_URL, ring, U, NULL, &o),
      STREAM_ERANGE);
  ck_assert_uint_eq(n, need);
  ck_assert_int_eq(stream_sign_native_into(NULL, 0, &n, STREAM_NATIVE_FORM_URL, ring, U, NULL, &o),
                   STREAM_ERANGE);
  ck_assert_uint_eq(n, need);
  ck_assert_int_eq(
      stream_sign_native_into(buf, need + 1, &n, STREAM_NATIVE_FORM_URL, ring, U, NULL, &o),
      STREAM_OK);
  ck_assert_int_eq(
      stream_sign_native_into(buf, sizeof buf, NULL, STREAM_NATIVE_FORM_URL, ring, U, NULL, &o),
      STREAM_EINVAL);
  ck_assert_int_eq(stream_sign_native_into(NULL, 5, &n, STREAM_NATIVE_FORM_URL, ring, U, NULL, &o),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_sign_native_into(buf, sizeof buf, &n, 3, ring, U, P, &o), STREAM_EINVAL);
  ck_assert_int_eq(
      stream_sign_native_into(buf, sizeof buf, &n, STREAM_NATIVE_FORM_URL, ring, U, P, &o),
      STREAM_EINVAL);
  ck_assert_int_eq(
      stream_sign_native_into(buf, sizeof buf, &n, STREAM_NATIVE_FORM_COOKIE, ring, U, P, &o),
      STREAM_EINVAL);
  ck_assert_int_eq(stream_sign_native_into(buf, sizeof buf, &n, STREAM_NATIVE_FORM_PATH, ring,
                                           "master.m3u8", P, &o),
                   STREAM_OK);
  ck_assert_str_eq(buf, KAT_PATH);
}
END_TEST

/* Length of the signed part of a signed URL: for the path form up to the
 * token's closing '/', for the prefix form from the URLPrefix parameter on
 * plus the prefix itself, else all of it. */
static void mutate_all(const char *valid, const char *cookie, const char *ip, size_t lo, size_t hi)
{
  const char *subject = cookie ? cookie : valid;
  size_t n = strlen(subject);
  char *m = malloc(n + 1);
  stream_native_result r;
  for (size_t cut = 0; cut < n; cut++) {
    if (cut >= lo && cut < hi)
      ; /* truncation inside the signed part */
    else if (!cookie)
      continue;
    memcpy(m, subject, cut);
    m[cut] = '\0';
    int rc = cookie ? stream_sign_native_verify_cookie(&r, ring, valid, m, ip, NOW, NULL)
                    : stream_sign_native_verify(&r, ring, m, ip, NOW, NULL);
    ck_assert_msg(rc != STREAM_OK && r.reason != STREAM_SIGN_VALID, "truncated at %zu valid", cut);
  }
  for (size_t i = lo; i < hi; i++)
    for (int b = 0; b < 8; b++) {
      memcpy(m, subject, n + 1);
      m[i] = (char)(m[i] ^ (1 << b));
      if (m[i] == '\0')
        continue; /* that is a truncation, covered above */
      int rc = cookie ? stream_sign_native_verify_cookie(&r, ring, valid, m, ip, NOW, NULL)
                      : stream_sign_native_verify(&r, ring, m, ip, NOW, NULL);
      ck_assert_msg(rc != STREAM_OK && r.reason != STREAM_SIGN_VALID, "flip %zu/%d valid: %s", i, b,
                    m);
    }
  free(m);
}

START_TEST(test_truncated_and_bit_flipped)
{
  mutate_all(KAT_URL, NULL, NULL, 0, strlen(KAT_URL));
  mutate_all(KAT_URLQ, NULL, "203.0.113.5", 0, strlen(KAT_URLQ));
  /* Prefix form: bytes of the request URL up to the prefix's end, then the
   * parameters (the rest of the request path is not signed, by design). */
  mutate_all(KAT_PFX, NULL, "2001:db8::5", 0, strlen(P));
  mutate_all(KAT_PFX, NULL, "2001:db8::5", strlen(U), strlen(KAT_PFX));
  mutate_all(KAT_PATH, NULL, NULL, 0, strlen(KAT_PATH) - strlen("master.m3u8"));
  mutate_all(U, KAT_COOKIE, NULL, 0, strlen(KAT_COOKIE));
}
END_TEST

static unsigned long long rng_state = 0x9e3779b97f4a7c15ULL;
static unsigned int rnd(void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (unsigned int)(rng_state >> 11);
}

START_TEST(test_random_inputs)
{
  static const char *pieces[] = {"https://",
                                 "http://",
                                 "media.example.com",
                                 "/",
                                 "v",
                                 "abc",
                                 "?",
                                 "&",
                                 "=",
                                 "Expires",
                                 "1700000000",
                                 "NotBefore",
                                 "IP",
                                 "KeyId",
                                 "k1",
                                 "Signature",
                                 "URLPrefix",
                                 "stream-token=",
                                 "..",
                                 "%2e",
                                 "%2F",
                                 "_24",
                                 "203.0.113.0",
                                 "::",
                                 "aHR0cHM6Ly9t",
                                 "ZH-N5i448IFNGBR2JMZBfzBCoQAEtLO_Z4utujtBs3E",
                                 "#",
                                 " ",
                                 "\x01",
                                 "\xff"};
  char buf[400];
  stream_native_result r;
  for (int iter = 0; iter < 20000; iter++) {
    size_t n = 0;
    if (iter % 2) {
      size_t len = rnd() % 200;
      for (; n < len; n++)
        buf[n] = (char)(rnd() % 255 + 1);
    } else {
      int k = (int)(rnd() % 24);
      for (int i = 0; i < k; i++) {
        const char *p = pieces[rnd() % (sizeof pieces / sizeof *pieces)];
        size_t pl = strlen(p);
        if (n + pl >= sizeof buf)
          break;
        memcpy(buf + n, p, pl);
        n += pl;
      }
    }
    buf[n] = '\0';
    ck_assert_int_ne(stream_sign_native_verify(&r, ring, buf, "203.0.113.1", NOW, NULL), STREAM_OK);
    ck_assert_int_ne(r.reason, STREAM_SIGN_VALID);
    ck_assert_int_ne(stream_sign_native_verify_cookie(&r, ring, U, buf, NULL, NOW, NULL),
                     STREAM_OK);
    ck_assert_int_ne(r.reason, STREAM_SIGN_VALID);
  }
}
END_TEST

START_TEST(test_roundtrip_random_keys_and_forms)
{
  for (int i = 0; i < 200; i++) {
    char id[16];
    snprintf(id, sizeof id, "r%d", i);
    stream_key *k = NULL;
    ck_assert_int_eq(stream_key_generate(&k, STREAM_KEY_HMAC, id, 16 + (size_t)(i % 113)),
                     STREAM_OK);
    ck_assert_int_eq(stream_keyring_add(ring, k), i < 31 ? STREAM_OK : STREAM_ERANGE);
    stream_native_sign_options o = opts_exp(E + i);
    o.key_id = i < 31 ? id : "k1";
    o.not_before = i % 3 ? 0 : NOW - i;
    char *s = NULL;
    switch (i % 4) {
    case 0:
      ck_assert_int_eq(stream_sign_native_url(&s, ring, U, &o), STREAM_OK);
      break;
    case 1:
      ck_assert_int_eq(stream_sign_native_prefix(&s, ring, U, P, &o), STREAM_OK);
      break;
    case 2:
      ck_assert_int_eq(stream_sign_native_path(&s, ring, P, "x/y.ts", &o), STREAM_OK);
      break;
    default:
      ck_assert_int_eq(stream_sign_native_cookie(&s, ring, P, &o), STREAM_OK);
      break;
    }
    stream_native_result r;
    int rc = i % 4 == 3 ? stream_sign_native_verify_cookie(&r, ring, U, s, NULL, NOW, NULL)
                        : stream_sign_native_verify(&r, ring, s, NULL, NOW, NULL);
    ck_assert_int_eq(rc, STREAM_OK);
    ck_assert_str_eq(r.key_id, o.key_id);
    ck_assert_int_eq(r.expires, E + i);
    stream_free(s);
    stream_key_free(k);
  }
}
END_TEST

/* Threads sign and verify while the ring rotates keys under them. */
static void *worker(void *arg)
{
  int *fails = arg;
  stream_native_sign_options o = opts_exp(E);
  o.key_id = "k1"; /* k1 stays in the ring throughout */
  char buf[512];
  size_t n;
  for (int i = 0; i < 3000; i++) {
    stream_native_result r;
    if (stream_sign_native_into(buf, sizeof buf, &n, STREAM_NATIVE_FORM_URL, ring, U, NULL, &o) ||
        strcmp(buf, KAT_URL) != 0 ||
        stream_sign_native_verify(&r, ring, buf, NULL, NOW, NULL) != STREAM_OK)
      (*fails)++;
  }
  return NULL;
}

START_TEST(test_concurrent_rotation)
{
  pthread_t t[4];
  int fails[4] = {0};
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(pthread_create(&t[i], NULL, worker, &fails[i]), 0);
  for (int i = 0; i < 300; i++) {
    char id[16];
    snprintf(id, sizeof id, "rot%d", i % 3);
    stream_key *k = hmac_key(id, (unsigned char)i);
    stream_keyring_remove(ring, id);
    ck_assert_int_eq(stream_keyring_add(ring, k), STREAM_OK);
    ck_assert_int_eq(stream_keyring_set_primary(ring, id), STREAM_OK);
    stream_key_free(k);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    ck_assert_int_eq(fails[i], 0);
  }
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("sign-native");
  TCase *t = tcase_create("native");
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, test_reason_strings);
  tcase_add_test(t, test_known_answers);
  tcase_add_test(t, test_verify_known_answers);
  tcase_add_test(t, test_path_token_inherited_by_relative_uris);
  tcase_add_test(t, test_time_window);
  tcase_add_test(t, test_key_rotation_and_unknown_keys);
  tcase_add_test(t, test_prefix_scope);
  tcase_add_test(t, test_ip_binding);
  tcase_add_test(t, test_malformed_inputs);
  tcase_add_test(t, test_sign_argument_checks);
  tcase_add_test(t, test_sign_into_buffer);
  tcase_add_test(t, test_truncated_and_bit_flipped);
  tcase_add_test(t, test_random_inputs);
  tcase_add_test(t, test_roundtrip_random_keys_and_forms);
  tcase_add_test(t, test_concurrent_rotation);
  suite_add_tcase(s, t);
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
