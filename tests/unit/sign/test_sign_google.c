/* Unit tests for the Google Cloud CDN and Google Media CDN formats (public API
 * only). Every vector of shared/design/standards.md §1.3, §2.3 and §2.5 is
 * signed and verified byte for byte; verifiers also get expired, not yet
 * valid, wrong-key, unknown-key, out-of-scope, IP and header mismatches, and
 * truncated, bit-flipped and random inputs. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/sign.h"

/* ---- fixtures ------------------------------------------------------------ */

#define CLOUD_KEY "nZtRohdNF9m3cKM24IcK4w=="
#define CLOUD_EXPIRES 1549751401
#define MEDIA_SEED "BxwXXNjeGaoWqjr7GHEymRJkP4SaOC12dTGixk7Yr8I="
#define MEDIA_PUB "g9u90RZv3ddq7pRAEsLaiT6ju1AGNVb2uXdPz0UGwPE"
#define MEDIA_EXPIRES 1650848400
#define PATH_SEED "g_SlMILiIWKqsC6Z2L7gy0sReDOqtSrJrE7CXNr5Nl8="
#define PATH_EXPIRES 1663070400
#define TOKEN_SEED "DJUcnLguVFKmVCFnWGubG1MZg7fWAnxacMjKDhVZMGI="
#define TOKEN_PUB "n7nwvhza11C0SuU9ay1uWjDSfzH-CpIBgXxqIz-Yd9Q"
#define TOKEN_HMAC "g_SlMILiIWKqsC6Z2L7gy0sReDOqtSrJrE7CXNr5Nl8="
#define TOKEN_EXPIRES 1663070400
#define TOKEN_STARTS 1663027200

static stream_key *key_text(stream_key_type t, const char *id, const char *text)
{
  stream_key *k = NULL;
  ck_assert_int_eq(stream_key_from_text(&k, t, id, text), STREAM_OK);
  return k;
}

static stream_keyring *ring_of(stream_key *a, stream_key *b)
{
  stream_keyring *r = NULL;
  ck_assert_int_eq(stream_keyring_new(&r), STREAM_OK);
  if (a)
    ck_assert_int_eq(stream_keyring_add(r, a), STREAM_OK);
  if (b)
    ck_assert_int_eq(stream_keyring_add(r, b), STREAM_OK);
  return r;
}

static stream_google_sign_options opts_at(int64_t expires)
{
  stream_google_sign_options o = STREAM_GOOGLE_SIGN_OPTIONS_INIT;
  o.expires = expires;
  return o;
}

static stream_google_request req_at(const char *url, int64_t now)
{
  stream_google_request r = STREAM_GOOGLE_REQUEST_INIT;
  r.url = url;
  r.now = now;
  return r;
}

/* ---- Cloud CDN vectors (§1.3) -------------------------------------------- */

static const char *const cloud_url_in[3] = {
    "http://35.186.234.33/index.html", "http://www.example.com/",
    "http://www.example.com/some/path?some=query&another=param"};
static const char *const cloud_url_out[3] = {
    "http://35.186.234.33/"
    "index.html?Expires=1549751401&KeyName=my-key&Signature=CRFqQnVfFyiUyR63OQf-HRUpIwc=",
    "http://www.example.com/"
    "?Expires=1549751401&KeyName=my-key&Signature=OqDUFfHpN5Vxga6r80bhsgxKves=",
    "http://www.example.com/some/"
    "path?some=query&another=param&Expires=1549751401&KeyName=my-key&Signature=9Q9TCxSju8-"
    "W5nUkk5CuTrun2_o="};
static const char *const cloud_prefix_pfx[3] = {"http://35.186.234.33/", "http://www.example.com/",
                                                "http://www.example.com/some/"};
static const char *const cloud_prefix_out[3] = {
    "http://35.186.234.33/"
    "index.html?URLPrefix=aHR0cDovLzM1LjE4Ni4yMzQuMzMv&Expires=1549751401&KeyName=my-key&Signature="
    "j7HYgoQ8dIOVsW3Rw4cpkjWfRMA=",
    "http://www.example.com/"
    "?URLPrefix=aHR0cDovL3d3dy5leGFtcGxlLmNvbS8=&Expires=1549751401&KeyName=my-key&Signature="
    "UdT5nVks6Hh8QFMJI9kmXuXYBk0=",
    "http://www.example.com/some/"
    "path?some=query&another=param&URLPrefix=aHR0cDovL3d3dy5leGFtcGxlLmNvbS9zb21lLw==&Expires="
    "1549751401&KeyName=my-key&Signature=3th4ThmpS95I1TAKYyYSCSq3dnQ="};
static const char *const cloud_cookie_pfx[2] = {"http://35.186.234.33/index.html",
                                                "http://www.example.com/foo/"};
static const char *const cloud_cookie_out[2] = {
    "Cloud-CDN-Cookie=URLPrefix=aHR0cDovLzM1LjE4Ni4yMzQuMzMvaW5kZXguaHRtbA==:Expires=1549751401:"
    "KeyName=my-key:Signature=uImwlOBCPs91mlCyG9vyyZRrNWU=",
    "Cloud-CDN-Cookie=URLPrefix=aHR0cDovL3d3dy5leGFtcGxlLmNvbS9mb28v:Expires=1549751401:KeyName=my-"
    "key:Signature=Z9uYAu73YHioRScZDxnP-TnS274="};

START_TEST(test_cloud_vectors_sign)
{
  stream_key *k = key_text(STREAM_KEY_HMAC, "my-key", CLOUD_KEY);
  stream_google_sign_options o = opts_at(CLOUD_EXPIRES);
  char *s = NULL;
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(stream_cloudcdn_sign_url(&s, k, cloud_url_in[i], &o), STREAM_OK);
    ck_assert_str_eq(s, cloud_url_out[i]);
    stream_free(s);
    ck_assert_int_eq(stream_cloudcdn_sign_prefix(&s, k, cloud_url_in[i], cloud_prefix_pfx[i], &o),
                     STREAM_OK);
    ck_assert_str_eq(s, cloud_prefix_out[i]);
    stream_free(s);
  }
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(stream_cloudcdn_sign_cookie(&s, k, cloud_cookie_pfx[i], &o), STREAM_OK);
    ck_assert_str_eq(s, cloud_cookie_out[i]);
    stream_free(s);
  }
  /* Prefix parameters alone (url NULL). */
  ck_assert_int_eq(stream_cloudcdn_sign_prefix(&s, k, NULL, cloud_prefix_pfx[0], &o), STREAM_OK);
  ck_assert_str_eq(s, strchr(cloud_prefix_out[0], '?') + 1);
  stream_free(s);
  stream_key_free(k);
}
END_TEST

START_TEST(test_cloud_vectors_verify)
{
  stream_key *k = key_text(STREAM_KEY_HMAC, "my-key", CLOUD_KEY);
  stream_key *other = key_text(STREAM_KEY_HMAC, "old-key", "AAAAAAAAAAAAAAAAAAAAAA==");
  stream_keyring *r = ring_of(other, k); /* the KeyName picks the key, not the primary */
  stream_google_verification v;
  for (int i = 0; i < 3; i++) {
    stream_google_request q = req_at(cloud_url_out[i], CLOUD_EXPIRES - 1);
    ck_assert_int_eq(stream_cloudcdn_verify_url(&v, r, &q), STREAM_OK);
    ck_assert_int_eq(v.reason, STREAM_SIGN_VALID);
    ck_assert_str_eq(v.key_name, "my-key");
    ck_assert_int_eq(v.expires, CLOUD_EXPIRES);
    q.url = cloud_prefix_out[i];
    ck_assert_int_eq(stream_cloudcdn_verify_url(&v, r, &q), STREAM_OK);
    ck_assert_int_eq(v.reason, STREAM_SIGN_VALID);
    ck_assert_int_eq(v.expires, CLOUD_EXPIRES);
  }
  for (int i = 0; i < 2; i++) {
    char url[128];
    snprintf(url, sizeof url, "%sseg-1.ts", cloud_cookie_pfx[i]);
    stream_google_request q = req_at(url, CLOUD_EXPIRES - 100);
    ck_assert_int_eq(stream_cloudcdn_verify_cookie(&v, r, cloud_cookie_out[i], &q), STREAM_OK);
    ck_assert_int_eq(v.reason, STREAM_SIGN_VALID);
    /* the value without the cookie name is accepted too */
    ck_assert_int_eq(stream_cloudcdn_verify_cookie(&v, r, cloud_cookie_out[i] + 17, &q), STREAM_OK);
    ck_assert_str_eq(v.key_name, "my-key");
  }
  stream_keyring_free(r);
  stream_key_free(other);
  stream_key_free(k);
}
END_TEST

START_TEST(test_cloud_failures)
{
  stream_key *k = key_text(STREAM_KEY_HMAC, "my-key", CLOUD_KEY);
  stream_keyring *r = ring_of(k, NULL);
  stream_google_verification v;
  /* expired: now == Expires */
  stream_google_request q = req_at(cloud_url_out[0], CLOUD_EXPIRES);
  ck_assert_int_eq(stream_cloudcdn_verify_url(&v, r, &q), STREAM_EEXPIRED);
  ck_assert_int_eq(v.reason, STREAM_SIGN_EXPIRED);
  ck_assert(strstr(stream_error_last()->message, "1549751401") != NULL);
  /* now = 0 means the current time, long after 2019 */
  q.now = 0;
  ck_assert_int_eq(stream_cloudcdn_verify_url(&v, r, &q), STREAM_EEXPIRED);
  /* cookie expired */
  q = req_at("http://www.example.com/foo/a", CLOUD_EXPIRES + 5);
  ck_assert_int_eq(stream_cloudcdn_verify_cookie(&v, r, cloud_cookie_out[1], &q), STREAM_EEXPIRED);
  /* wrong key under the same name */
  stream_key *wrong = key_text(STREAM_KEY_HMAC, "my-key", "AAAAAAAAAAAAAAAAAAAAAA==");
  stream_keyring *rw = ring_of(wrong, NULL);
  q = req_at(cloud_url_out[1], CLOUD_EXPIRES - 1);
  ck_assert_int_eq(stream_cloudcdn_verify_url(&v, rw, &q), STREAM_EAUTH);
  ck_assert_int_eq(v.reason, STREAM_SIGN_BAD_SIGNATURE);
  /* unknown key name */
  stream_key *k2 = key_text(STREAM_KEY_HMAC, "another", CLOUD_KEY);
  stream_keyring *ru = ring_of(k2, NULL);
  ck_assert_int_eq(stream_cloudcdn_verify_url(&v, ru, &q), STREAM_EAUTH);
  ck_assert_int_eq(v.reason, STREAM_SIGN_UNKNOWN_KEY);
  ck_assert_str_eq(v.key_name, "my-key");
  /* outside prefix: a signed prefix for /some/ on a URL elsewhere */
  stream_google_sign_options o = opts_at(CLOUD_EXPIRES);
  char *s = NULL;
  ck_assert_int_eq(stream_cloudcdn_sign_prefix(&s, k, "http://www.example.com/other/x.ts",
                                               "http://www.example.com/some/", &o),
                   STREAM_OK);
  q = req_at(s, CLOUD_EXPIRES - 1);
  ck_assert_int_eq(stream_cloudcdn_verify_url(&v, r, &q), STREAM_EFORBIDDEN);
  ck_assert_int_eq(v.reason, STREAM_SIGN_OUTSIDE_PREFIX);
  stream_free(s);
  q = req_at("http://www.example.com/bar/a", CLOUD_EXPIRES - 1);
  ck_assert_int_eq(stream_cloudcdn_verify_cookie(&v, r, cloud_cookie_out[1], &q),
                   STREAM_EFORBIDDEN);
  ck_assert_int_eq(v.reason, STREAM_SIGN_OUTSIDE_PREFIX);
  /* unsigned URL */
  q = req_at("http://www.example.com/a?b=c", CLOUD_EXPIRES - 1);
  ck_assert_int_eq(stream_cloudcdn_verify_url(&v, r, &q), STREAM_EINVAL);
  ck_assert_int_eq(v.reason, STREAM_SIGN_MISSING);
  /* unpadded signature accepted (padding is optional on input) */
  char buf[256];
  snprintf(buf, sizeof buf, "%s", cloud_url_out[0]);
  buf[strlen(buf) - 1] = '\0';
  q = req_at(buf, CLOUD_EXPIRES - 1);
  ck_assert_int_eq(stream_cloudcdn_verify_url(&v, r, &q), STREAM_OK);
  /* a key of another type (Ed25519) under the name */
  stream_key *ed = key_text(STREAM_KEY_ED25519_PRIVATE, "my-key", MEDIA_SEED);
  stream_keyring *re = ring_of(ed, NULL);
  q = req_at(cloud_url_out[0], CLOUD_EXPIRES - 1);
  ck_assert_int_eq(stream_cloudcdn_verify_url(&v, re, &q), STREAM_EAUTH);
  ck_assert_int_eq(v.reason, STREAM_SIGN_UNKNOWN_KEY);
  stream_keyring_free(re);
  stream_key_free(ed);
  stream_keyring_free(ru);
  stream_key_free(k2);
  stream_keyring_free(rw);
  stream_key_free(wrong);
  stream_keyring_free(r);
  stream_key_free(k);
}
END_TEST

START_TEST(test_cloud_sign_rejects_bad_input)
{
  stream_key *k = key_text(STREAM_KEY_HMAC, "my-key", CLOUD_KEY);
  stream_google_sign_options o = opts_at(CLOUD_EXPIRES);
  char *s = (char *)"sentinel";
  ck_assert_int_eq(stream_cloudcdn_sign_url(&s, k, "ftp://a/b", &o), STREAM_EINVAL);
  ck_assert_ptr_null(s);
  ck_assert_int_eq(stream_cloudcdn_sign_url(&s, k, "http://a/b#frag", &o), STREAM_EINVAL);
  ck_assert(strstr(stream_error_last()->message, "fragment") != NULL);
  ck_assert_int_eq(stream_cloudcdn_sign_url(&s, k, "http://a/b?Expires=1", &o), STREAM_EINVAL);
  ck_assert(strstr(stream_error_last()->message, "Expires") != NULL);
  ck_assert_int_eq(stream_cloudcdn_sign_url(&s, k, "http://a/b?x=1&KeyName=k", &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudcdn_sign_url(&s, k, "http://a/b?Signature=", &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudcdn_sign_url(&s, k, "http://a/b?", &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudcdn_sign_url(&s, k, "http:///b", &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudcdn_sign_url(&s, k, "http://a/b c", &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudcdn_sign_url(&s, k, "", &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudcdn_sign_url(&s, k, NULL, &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudcdn_sign_url(NULL, k, "http://a/", &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudcdn_sign_url(&s, NULL, "http://a/", &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudcdn_sign_url(&s, k, "http://a/", NULL), STREAM_EINVAL);
  stream_google_sign_options bad = o;
  bad.version = 99;
  ck_assert_int_eq(stream_cloudcdn_sign_url(&s, k, "http://a/", &bad), STREAM_EINVAL);
  bad = (stream_google_sign_options)STREAM_GOOGLE_SIGN_OPTIONS_INIT;
  ck_assert_int_eq(stream_cloudcdn_sign_url(&s, k, "http://a/", &bad), STREAM_EINVAL);
  bad.ttl = 60; /* relative expiry works */
  ck_assert_int_eq(stream_cloudcdn_sign_url(&s, k, "http://a/", &bad), STREAM_OK);
  stream_free(s);
  ck_assert_int_eq(stream_cloudcdn_sign_prefix(&s, k, "http://a/b", "http://a/?x", &o),
                   STREAM_EINVAL);
  ck_assert(strstr(stream_error_last()->message, "query") != NULL);
  ck_assert_int_eq(stream_cloudcdn_sign_cookie(&s, k, "https://a/#x", &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudcdn_sign_cookie(&s, k, "a/b/", &o), STREAM_EINVAL);
  char big[20000];
  memset(big, 'a', sizeof big - 1);
  memcpy(big, "http://a/", 9);
  big[sizeof big - 1] = '\0';
  ck_assert_int_eq(stream_cloudcdn_sign_url(&s, k, big, &o), STREAM_ERANGE);
  /* key name syntax and type */
  stream_key *bad_name = key_text(STREAM_KEY_HMAC, "My.Key", CLOUD_KEY);
  ck_assert_int_eq(stream_cloudcdn_sign_url(&s, bad_name, "http://a/", &o), STREAM_EINVAL);
  ck_assert(strstr(stream_error_last()->message, "key name") != NULL);
  stream_key *ed = key_text(STREAM_KEY_ED25519_PRIVATE, "my-key", MEDIA_SEED);
  ck_assert_int_eq(stream_cloudcdn_sign_url(&s, ed, "http://a/", &o), STREAM_EINVAL);
  ck_assert_ptr_null(s);
  stream_key_free(ed);
  stream_key_free(bad_name);
  stream_key_free(k);
}
END_TEST

/* ---- Media CDN signature vectors (§2.3) ----------------------------------- */

static const char *const media_url_out[3] = {
    "http://35.186.234.33/"
    "index.html?Expires=1650848400&KeyName=my-key&Signature=16-oE9GZ5U9S_LYrW8RplZhvMfI7RGtGRY0C-"
    "Ahh6YAwiJ0UaEi6rQuPxfm6R-cBPfs8MwRGiu2fAoS1JOoKCA",
    "http://www.example.com/"
    "?Expires=1650848400&KeyName=my-key&Signature=QhWcq48iCRTJFayWexw929QRxjOxE8ZPSQ38ybTxLhu77hmS_"
    "JB6GSougMu_-ejS_ZiGguqxT-HfgSFuy3f5DQ",
    "http://www.example.com/some/"
    "path?some=query&another=param&Expires=1650848400&KeyName=my-key&Signature=Li_"
    "D6rxUh1Kj54JbmUuAms2wmjJHJUcMXJHgYxjL4LqYH02wSX-4gCayXgklNSDpfBfSHnbdC_wvcdyXvADGDw"};
static const char *const media_prefix_out[3] = {
    "http://35.186.234.33/"
    "index.html?URLPrefix=aHR0cDovLzM1LjE4Ni4yMzQuMzMv&Expires=1650848400&KeyName=my-key&Signature="
    "mR4jNsWVn39ofSC5425SXwZVzHAAixemdcRGHgPuO1V1Fl7lJs2Ws5aPOGp-MhbDinFYUkutHh-I9c5Du4jtAA",
    "http://www.example.com/"
    "?URLPrefix=aHR0cDovL3d3dy5leGFtcGxlLmNvbS8=&Expires=1650848400&KeyName=my-key&Signature="
    "gFGKa4T8Fn1GiTMp1VBd6sSfjRKcPEgTB1k8mn48yXyzg4-Dfbrk-HJeYFGFznZvkF_eSPg1K03hqbMDkFTiAg",
    "http://www.example.com/some/"
    "path?some=query&another=param&URLPrefix=aHR0cDovL3d3dy5leGFtcGxlLmNvbS9zb21lLw==&Expires="
    "1650848400&KeyName=my-key&Signature=pVN8HKc6Be-PDczd9NjqSui3HHaoCLUN5iDv6JhQ77uKigsCih6z_"
    "cMTGjeXhgGASh1zr-ZPrOnxWJxxGWxsBg"};
static const char *const media_cookie_out[2] = {
    "Edge-Cache-Cookie=URLPrefix=aHR0cDovLzM1LjE4Ni4yMzQuMzMvaW5kZXguaHRtbA==:Expires=1650848400:"
    "KeyName=my-key:Signature=kTJ4QVEax5TZmxypq8pnIkjky-s_UtKGPSCd-nxqMYfwqr5HunAy-7XumWc3asRCHI2_"
    "ikVQXs7IDXJ9gV28Dg",
    "Edge-Cache-Cookie=URLPrefix=aHR0cDovL3d3dy5leGFtcGxlLmNvbS9mb28v:Expires=1650848400:KeyName="
    "my-key:Signature=I0BnupL1tKbXklf1rK50nlC9JMh4HBLogTKByatOFRvALofT159BegB26Z2WmrI-ZAgAp8Q-1__"
    "bWtFdMAqCAA"};
static const char *const media_path_out =
    "https://example.com/"
    "edge-cache-token=Expires=1663070400&KeyName=test-key&Signature=2hvmMKXW_e0bY3ViJNDSgoXDGvNj2L-"
    "UYTseTgtj96Va0S4FYxehka1k4hzWo2_87B9zqr_Ne4MMEdRfHUMUBw/test-filename";

START_TEST(test_media_vectors_sign)
{
  stream_key *k = key_text(STREAM_KEY_ED25519_PRIVATE, "my-key", MEDIA_SEED);
  unsigned char pub[32];
  char *s = NULL;
  ck_assert_int_eq(stream_key_public_bytes(pub, k), STREAM_OK);
  ck_assert_int_eq(stream_base64_encode(&s, NULL, pub, 32, STREAM_B64_URL | STREAM_B64_NOPAD),
                   STREAM_OK);
  ck_assert_str_eq(s, MEDIA_PUB);
  stream_free(s);
  stream_google_sign_options o = opts_at(MEDIA_EXPIRES);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(stream_mediacdn_sign_url(&s, k, cloud_url_in[i], &o), STREAM_OK);
    ck_assert_str_eq(s, media_url_out[i]);
    stream_free(s);
    ck_assert_int_eq(stream_mediacdn_sign_prefix(&s, k, cloud_url_in[i], cloud_prefix_pfx[i], &o),
                     STREAM_OK);
    ck_assert_str_eq(s, media_prefix_out[i]);
    stream_free(s);
  }
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(stream_mediacdn_sign_cookie(&s, k, cloud_cookie_pfx[i], &o), STREAM_OK);
    ck_assert_str_eq(s, media_cookie_out[i]);
    stream_free(s);
  }
  stream_key *pk = key_text(STREAM_KEY_ED25519_PRIVATE, "test-key", PATH_SEED);
  o = opts_at(PATH_EXPIRES);
  ck_assert_int_eq(
      stream_mediacdn_sign_path_component(&s, pk, "https://example.com/", "test-filename", &o),
      STREAM_OK);
  ck_assert_str_eq(s, media_path_out);
  stream_free(s);
  /* bad inputs */
  ck_assert_int_eq(stream_mediacdn_sign_path_component(&s, pk, "https://example.com", "f", &o),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_mediacdn_sign_path_component(&s, pk, "https://example.com/", "a?b", &o),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_mediacdn_sign_path_component(&s, pk, "https://example.com/", "/a", &o),
                   STREAM_EINVAL);
  stream_key *pubk = NULL;
  ck_assert_int_eq(stream_key_public(&pubk, k), STREAM_OK);
  ck_assert_int_eq(stream_mediacdn_sign_url(&s, pubk, "http://a/", &o), STREAM_EINVAL);
  stream_key *h = key_text(STREAM_KEY_HMAC, "my-key", CLOUD_KEY);
  ck_assert_int_eq(stream_mediacdn_sign_cookie(&s, h, "http://a/", &o), STREAM_EINVAL);
  stream_key *dotted = key_text(STREAM_KEY_ED25519_PRIVATE, "my.key", MEDIA_SEED);
  ck_assert_int_eq(stream_mediacdn_sign_url(&s, dotted, "http://a/", &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_mediacdn_sign_url(&s, k, "http://a/?KeyName=x", &o), STREAM_EINVAL);
  ck_assert_ptr_null(s);
  stream_key_free(dotted);
  stream_key_free(h);
  stream_key_free(pubk);
  stream_key_free(pk);
  stream_key_free(k);
}
END_TEST

START_TEST(test_media_vectors_verify)
{
  /* Verify with the public key only, as a CDN keyset holds it. */
  stream_key *pub = key_text(STREAM_KEY_ED25519_PUBLIC, "my-key", MEDIA_PUB);
  stream_key *ppub = NULL, *pk = key_text(STREAM_KEY_ED25519_PRIVATE, "test-key", PATH_SEED);
  ck_assert_int_eq(stream_key_public(&ppub, pk), STREAM_OK);
  stream_keyring *r = ring_of(ppub, pub);
  stream_google_verification v;
  for (int i = 0; i < 3; i++) {
    stream_google_request q = req_at(media_url_out[i], MEDIA_EXPIRES - 1);
    ck_assert_int_eq(stream_mediacdn_verify_url(&v, r, &q), STREAM_OK);
    ck_assert_int_eq(v.reason, STREAM_SIGN_VALID);
    ck_assert_str_eq(v.key_name, "my-key");
    ck_assert_int_eq(v.expires, MEDIA_EXPIRES);
    q.url = media_prefix_out[i];
    ck_assert_int_eq(stream_mediacdn_verify_url(&v, r, &q), STREAM_OK);
    /* padded signature accepted ("==" as in the current Python sample) */
    char buf[512];
    snprintf(buf, sizeof buf, "%s==", media_prefix_out[i]);
    q.url = buf;
    ck_assert_int_eq(stream_mediacdn_verify_url(&v, r, &q), STREAM_OK);
    snprintf(buf, sizeof buf, "%s==", media_url_out[i]);
    ck_assert_int_eq(stream_mediacdn_verify_url(&v, r, &q), STREAM_OK);
    /* wrong padding is malformed */
    snprintf(buf, sizeof buf, "%s=", media_url_out[i]);
    ck_assert_int_eq(stream_mediacdn_verify_url(&v, r, &q), STREAM_EINVAL);
    ck_assert_int_eq(v.reason, STREAM_SIGN_MALFORMED);
  }
  for (int i = 0; i < 2; i++) {
    char url[128];
    snprintf(url, sizeof url, "%s", cloud_cookie_pfx[i]);
    stream_google_request q = req_at(url, MEDIA_EXPIRES - 1);
    ck_assert_int_eq(stream_mediacdn_verify_cookie(&v, r, media_cookie_out[i], &q), STREAM_OK);
    ck_assert_int_eq(stream_mediacdn_verify_cookie(&v, r, media_cookie_out[i] + 18, &q), STREAM_OK);
    q.url = "http://10.0.0.1/index.html";
    ck_assert_int_eq(stream_mediacdn_verify_cookie(&v, r, media_cookie_out[i], &q),
                     STREAM_EFORBIDDEN);
    ck_assert_int_eq(v.reason, STREAM_SIGN_OUTSIDE_PREFIX);
  }
  /* path component: the same signature covers any file under the component */
  stream_google_request q = req_at(media_path_out, PATH_EXPIRES - 1);
  ck_assert_int_eq(stream_mediacdn_verify_url(&v, r, &q), STREAM_OK);
  ck_assert_str_eq(v.key_name, "test-key");
  char other[512];
  snprintf(other, sizeof other, "%s", media_path_out);
  strcpy(strrchr(other, '/'), "/sub/seg_00001.m4s?x=1");
  q.url = other;
  ck_assert_int_eq(stream_mediacdn_verify_url(&v, r, &q), STREAM_OK);
  q.now = PATH_EXPIRES;
  ck_assert_int_eq(stream_mediacdn_verify_url(&v, r, &q), STREAM_EEXPIRED);
  ck_assert_int_eq(v.reason, STREAM_SIGN_EXPIRED);
  /* Media CDN signature checked against a ring holding an HMAC key of that name */
  stream_key *h = key_text(STREAM_KEY_HMAC, "my-key", CLOUD_KEY);
  stream_keyring *rh = ring_of(h, NULL);
  q = req_at(media_url_out[0], MEDIA_EXPIRES - 1);
  ck_assert_int_eq(stream_mediacdn_verify_url(&v, rh, &q), STREAM_EAUTH);
  ck_assert_int_eq(v.reason, STREAM_SIGN_UNKNOWN_KEY);
  /* wrong key of the right name */
  stream_key *wrong = key_text(STREAM_KEY_ED25519_PRIVATE, "my-key", TOKEN_SEED);
  stream_keyring *rw = ring_of(wrong, NULL);
  ck_assert_int_eq(stream_mediacdn_verify_url(&v, rw, &q), STREAM_EAUTH);
  ck_assert_int_eq(v.reason, STREAM_SIGN_BAD_SIGNATURE);
  /* unknown key name */
  stream_keyring *re = ring_of(ppub, NULL);
  ck_assert_int_eq(stream_mediacdn_verify_url(&v, re, &q), STREAM_EAUTH);
  ck_assert_int_eq(v.reason, STREAM_SIGN_UNKNOWN_KEY);
  /* prefix form on a URL outside the prefix */
  stream_key *priv = key_text(STREAM_KEY_ED25519_PRIVATE, "my-key", MEDIA_SEED);
  stream_google_sign_options o = opts_at(MEDIA_EXPIRES);
  char *s = NULL;
  ck_assert_int_eq(
      stream_mediacdn_sign_prefix(&s, priv, "https://b.example/v/1.ts", "https://a.example/v/", &o),
      STREAM_OK);
  q = req_at(s, MEDIA_EXPIRES - 1);
  ck_assert_int_eq(stream_mediacdn_verify_url(&v, r, &q), STREAM_EFORBIDDEN);
  ck_assert_int_eq(v.reason, STREAM_SIGN_OUTSIDE_PREFIX);
  stream_free(s);
  stream_key_free(priv);
  stream_keyring_free(re);
  stream_keyring_free(rw);
  stream_key_free(wrong);
  stream_keyring_free(rh);
  stream_key_free(h);
  stream_keyring_free(r);
  stream_key_free(ppub);
  stream_key_free(pk);
  stream_key_free(pub);
}
END_TEST

/* ---- Media CDN token vectors (§2.5) --------------------------------------- */

typedef struct token_vec {
  int alg;   /* 0 ed25519, 1 sha1, 2 sha256 */
  int scope; /* 0 url_prefix, 1 path_globs, 2 full_path, 3 all params */
  const char *token;
} token_vec;

static const token_vec token_vecs[12] = {
    {0, 0,
     "URLPrefix=aHR0cDovLzEwLjIwLjMwLjQwLw~Expires=1663070400~Signature=OQLXEjnApFGJaGZ_"
     "jvp2R7VY5q3ic-HT3igFpi9iPsJRXtQuvPF4cxZUT-rtCqzteXx3vSRhk09FxgDQauO_DA"},
    {0, 1,
     "PathGlobs=/"
     "*~Expires=1663070400~Signature=9pBdD_6O6LB-4V67HZ_SOc2G_jIkSZ_tMsKnVqElmPlwKB_"
     "xDiW7DKAnv8L8CmweeZquaLFlnLogbMcIV8bNCQ"},
    {0, 2,
     "FullPath~Expires=1663070400~Signature=X74OTNjtseIUmsab-YiOTZ8jyX_"
     "KG7v4YQWwcFpfFmjhzaX8NdweMc9Wglj8wxEsEW85g3_MBG3T9jzLZFQDCw"},
    {1, 0,
     "URLPrefix=aHR0cDovLzEwLjIwLjMwLjQwLw~Expires=1663070400~hmac="
     "6f5b4bb82536810d5ee111cba3e534d49c6ac3cb"},
    {1, 1, "PathGlobs=/*~Expires=1663070400~hmac=c1c446eea24faa31392519f975fea7eefb945625"},
    {1, 2, "FullPath~Expires=1663070400~hmac=7af78177d6bc001d5626eefe387b1774a4a99ca2"},
    {2, 0,
     "URLPrefix=aHR0cDovLzEwLjIwLjMwLjQwLw~Expires=1663070400~hmac="
     "409722313cf6d987da44bb360e60dccc3d79764520fc5e3b57654e1d4d2c862e"},
    {2, 1,
     "PathGlobs=/"
     "*~Expires=1663070400~hmac=9439ecdd5c4919f76f915dea72afa85a045579794e63d8cda664f5a1140c8d93"},
    {2, 2,
     "FullPath~Expires=1663070400~hmac="
     "365b41fd77297371d890fc9a56e4e3d3baa4c7afbd230a0e9a81c8e1bcab9420"},
    {0, 3,
     "PathGlobs=/"
     "*~Starts=1663027200~Expires=1663070400~SessionID=test-id~Data=test-data~Headers=Foo,BAZ~"
     "IPRanges=MjAzLjAuMTEzLjAvMjQsMjAwMTpkYjg6NGE3ZjphNzMyLzY0~Signature="
     "A7u67hveGxGvP8KBWZlUuH0IsqhS4a2lcsXwy3uc4X3zaVuw7LY-2FQT1ZF8UxkSFAsDS3_0LYnXwXB2XdepDg"},
    {1, 3,
     "PathGlobs=/"
     "*~Starts=1663027200~Expires=1663070400~SessionID=test-id~Data=test-data~Headers=Foo,BAZ~"
     "IPRanges=MjAzLjAuMTEzLjAvMjQsMjAwMTpkYjg6NGE3ZjphNzMyLzY0~hmac="
     "b8242e8b76cbfbbd61b3540ed0eb60a2ec2fdbdb"},
    {2, 3,
     "PathGlobs=/"
     "*~Starts=1663027200~Expires=1663070400~SessionID=test-id~Data=test-data~Headers=Foo,BAZ~"
     "IPRanges=MjAzLjAuMTEzLjAvMjQsMjAwMTpkYjg6NGE3ZjphNzMyLzY0~hmac="
     "dda9c3d6f3b2e867a09fbb76209ea138dd81f8512210f970d1e92f90927bef4b"},
};

static const char *const hdr_names[2] = {"Foo", "BAZ"};
static const char *const hdr_values[2] = {"bar", "quux"};
static const char *const ring_ids[2] = {"ed", "mac"};

static stream_mediacdn_token_options token_opts(int scope, int alg)
{
  stream_mediacdn_token_options o = STREAM_MEDIACDN_TOKEN_OPTIONS_INIT;
  o.expires = TOKEN_EXPIRES;
  o.hmac = alg == 1 ? STREAM_MEDIACDN_HMAC_SHA1 : STREAM_MEDIACDN_HMAC_SHA256;
  if (scope == 0)
    o.url_prefix = "http://10.20.30.40/";
  else if (scope == 2)
    o.full_path = "/example.m3u8";
  else
    o.path_globs = "/*";
  if (scope == 3) {
    o.starts = TOKEN_STARTS;
    o.session_id = "test-id";
    o.data = "test-data";
    o.header_names = hdr_names;
    o.header_values = hdr_values;
    o.header_count = 2;
    o.ip_ranges = "203.0.113.0/24,2001:db8:4a7f:a732/64";
  }
  return o;
}

/* A request that every vector of `scope` accepts. */
static stream_google_request token_req(int scope)
{
  stream_google_request q = req_at(scope == 0   ? "http://10.20.30.40/live/index.m3u8"
                                   : scope == 2 ? "https://cdn.example/example.m3u8?x=1"
                                                : "https://cdn.example/any/seg.ts",
                                   TOKEN_EXPIRES - 1);
  q.key_names = ring_ids;
  q.key_name_count = 2;
  if (scope == 3) {
    q.client_ip = "203.0.113.77";
    q.header_names = hdr_names;
    q.header_values = hdr_values;
    q.header_count = 2;
  }
  return q;
}

typedef struct token_keys {
  stream_key *ed, *edpub, *mac;
  stream_keyring *ring; /* edpub ("ed") + mac ("mac") */
} token_keys;

static token_keys token_keys_new(void)
{
  token_keys t;
  t.ed = key_text(STREAM_KEY_ED25519_PRIVATE, "ed", TOKEN_SEED);
  t.mac = key_text(STREAM_KEY_HMAC, "mac", TOKEN_HMAC);
  ck_assert_int_eq(stream_key_public(&t.edpub, t.ed), STREAM_OK);
  t.ring = ring_of(t.edpub, t.mac);
  return t;
}

static void token_keys_free(token_keys *t)
{
  stream_keyring_free(t->ring);
  stream_key_free(t->ed);
  stream_key_free(t->edpub);
  stream_key_free(t->mac);
}

START_TEST(test_token_vectors)
{
  token_keys t = token_keys_new();
  char *pub = NULL;
  ck_assert_int_eq(stream_key_export(&pub, t.edpub, STREAM_KEY_FORMAT_BASE64URL), STREAM_OK);
  ck_assert(strncmp(pub, TOKEN_PUB, strlen(TOKEN_PUB)) == 0);
  stream_free(pub);
  for (int i = 0; i < 12; i++) {
    const token_vec *tv = &token_vecs[i];
    stream_mediacdn_token_options o = token_opts(tv->scope, tv->alg);
    char *s = NULL;
    ck_assert_int_eq(stream_mediacdn_token_sign(&s, tv->alg ? t.mac : t.ed, &o), STREAM_OK);
    ck_assert_str_eq(s, tv->token);
    stream_free(s);
    stream_google_request q = token_req(tv->scope);
    stream_google_verification v;
    ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, tv->token, &q), STREAM_OK);
    ck_assert_int_eq(v.reason, STREAM_SIGN_VALID);
    ck_assert_str_eq(v.key_name, tv->alg ? "mac" : "ed");
    ck_assert_int_eq(v.expires, TOKEN_EXPIRES);
    ck_assert_int_eq(v.starts, tv->scope == 3 ? TOKEN_STARTS : 0);
  }
  token_keys_free(&t);
}
END_TEST

START_TEST(test_token_failures)
{
  token_keys t = token_keys_new();
  stream_google_verification v;
  const char *all_ed = token_vecs[9].token, *all_sha1 = token_vecs[10].token;
  /* expired and not yet valid */
  stream_google_request q = token_req(3);
  q.now = TOKEN_EXPIRES;
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, all_ed, &q), STREAM_EEXPIRED);
  ck_assert_int_eq(v.reason, STREAM_SIGN_EXPIRED);
  q.now = TOKEN_STARTS - 1;
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, all_sha1, &q), STREAM_EEXPIRED);
  ck_assert_int_eq(v.reason, STREAM_SIGN_NOT_YET_VALID);
  q.now = TOKEN_STARTS;
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, all_sha1, &q), STREAM_OK);
  /* IP ranges: IPv4 and IPv6 inside, outside, absent */
  q = token_req(3);
  q.client_ip = "2001:db8:4a7f:a732:1:2:3:4";
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, all_ed, &q), STREAM_OK);
  q.client_ip = "::ffff:203.0.113.9";
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, all_ed, &q), STREAM_OK);
  q.client_ip = "203.0.114.1";
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, all_ed, &q), STREAM_EFORBIDDEN);
  ck_assert_int_eq(v.reason, STREAM_SIGN_IP_MISMATCH);
  q.client_ip = "2001:db8:4a7f:a733::1";
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, all_ed, &q), STREAM_EFORBIDDEN);
  ck_assert_int_eq(v.reason, STREAM_SIGN_IP_MISMATCH);
  q.client_ip = NULL;
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, all_ed, &q), STREAM_EFORBIDDEN);
  ck_assert_int_eq(v.reason, STREAM_SIGN_IP_MISMATCH);
  q.client_ip = "not-an-ip";
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, all_ed, &q), STREAM_EINVAL);
  /* headers: names are case-insensitive; a changed or missing value fails */
  q = token_req(3);
  const char *lower[2] = {"baz", "foo"};
  const char *vals[2] = {"quux", "bar"};
  q.header_names = lower;
  q.header_values = vals;
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, all_sha1, &q), STREAM_OK);
  vals[1] = "BAR";
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, all_sha1, &q), STREAM_EAUTH);
  ck_assert_int_eq(v.reason, STREAM_SIGN_BAD_SIGNATURE);
  q.header_count = 1;
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, all_sha1, &q), STREAM_EAUTH);
  ck_assert_int_eq(v.reason, STREAM_SIGN_BAD_SIGNATURE);
  ck_assert(strstr(stream_error_last()->message, "Foo") != NULL);
  /* scope: URLPrefix, FullPath, PathGlobs */
  q = token_req(0);
  q.url = "http://10.20.30.41/live/index.m3u8";
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, token_vecs[0].token, &q),
                   STREAM_EFORBIDDEN);
  ck_assert_int_eq(v.reason, STREAM_SIGN_OUTSIDE_PREFIX);
  q.url = "/live/index.m3u8"; /* a bare path cannot match a URLPrefix */
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, token_vecs[3].token, &q),
                   STREAM_EFORBIDDEN);
  q = token_req(2);
  q.url = "https://cdn.example/other.m3u8";
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, token_vecs[5].token, &q), STREAM_EAUTH);
  ck_assert_int_eq(v.reason, STREAM_SIGN_BAD_SIGNATURE);
  q.url = "/example.m3u8";
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, token_vecs[5].token, &q), STREAM_OK);
  stream_mediacdn_token_options o = token_opts(1, 2);
  o.path_globs = "/tv/*!/film/*.m3u8";
  char *s = NULL;
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.ed, &o), STREAM_OK);
  q = token_req(1);
  q.url = "https://x/film/a/b.m3u8";
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, s, &q), STREAM_OK);
  q.url = "https://x/tv/";
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, s, &q), STREAM_OK);
  q.url = "https://x/film/a/b.ts";
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, s, &q), STREAM_EFORBIDDEN);
  ck_assert_int_eq(v.reason, STREAM_SIGN_OUTSIDE_PREFIX);
  stream_free(s);
  /* keys: the primary only when no names are given; unknown / wrong keys */
  q = token_req(1);
  q.key_names = NULL;
  q.key_name_count = 0;
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, token_vecs[1].token, &q), STREAM_OK);
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, token_vecs[4].token, &q), STREAM_EAUTH);
  ck_assert_int_eq(v.reason, STREAM_SIGN_UNKNOWN_KEY);
  const char *missing[1] = {"nope"};
  q.key_names = missing;
  q.key_name_count = 1;
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, token_vecs[1].token, &q), STREAM_EAUTH);
  ck_assert_int_eq(v.reason, STREAM_SIGN_UNKNOWN_KEY);
  stream_key *wrong = key_text(STREAM_KEY_HMAC, "mac", CLOUD_KEY);
  stream_key *wrong_ed = key_text(STREAM_KEY_ED25519_PRIVATE, "ed", MEDIA_SEED);
  stream_keyring *rw = ring_of(wrong_ed, wrong);
  q = token_req(1);
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, rw, token_vecs[1].token, &q), STREAM_EAUTH);
  ck_assert_int_eq(v.reason, STREAM_SIGN_BAD_SIGNATURE);
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, rw, token_vecs[7].token, &q), STREAM_EAUTH);
  ck_assert_int_eq(v.reason, STREAM_SIGN_BAD_SIGNATURE);
  /* several keys live at once: the right one is found after a wrong one */
  const char *both_names[3] = {"ed", "mac", "mac2"};
  stream_key *mac2 = key_text(STREAM_KEY_HMAC, "mac2", TOKEN_HMAC);
  ck_assert_int_eq(stream_keyring_add(rw, mac2), STREAM_OK);
  q.key_names = both_names;
  q.key_name_count = 3;
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, rw, token_vecs[7].token, &q), STREAM_OK);
  ck_assert_str_eq(v.key_name, "mac2");
  stream_key_free(mac2);
  stream_keyring_free(rw);
  stream_key_free(wrong_ed);
  stream_key_free(wrong);
  /* padded base64url accepted: signature and IPRanges padding */
  q = token_req(1);
  char buf[512];
  snprintf(buf, sizeof buf, "%s==", token_vecs[1].token);
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, buf, &q), STREAM_OK);
  snprintf(buf, sizeof buf, "%s=", token_vecs[1].token);
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, buf, &q), STREAM_EINVAL);
  ck_assert_int_eq(v.reason, STREAM_SIGN_MALFORMED);
  /* hmac has one spelling: uppercase hex is malformed */
  snprintf(buf, sizeof buf, "%s", token_vecs[4].token);
  for (char *p = strstr(buf, "hmac=") + 5; *p; p++)
    if (*p >= 'a' && *p <= 'f')
      *p = (char)(*p - 32);
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, buf, &q), STREAM_EINVAL);
  ck_assert_int_eq(v.reason, STREAM_SIGN_MALFORMED);
  /* structure */
  static const char *const bad[] = {
      "",
      "Expires=1663070400~hmac=c1c446eea24faa31392519f975fea7eefb945625",
      "PathGlobs=/*~hmac=c1c446eea24faa31392519f975fea7eefb945625",
      "PathGlobs=/*~Expires=1663070400",
      "PathGlobs=/"
      "*~Expires=1663070400~Expires=1663070400~hmac=c1c446eea24faa31392519f975fea7eefb945625",
      "hmac=c1c446eea24faa31392519f975fea7eefb945625~PathGlobs=/*~Expires=1663070400",
      "PathGlobs=/*~FullPath~Expires=1663070400~hmac=c1c446eea24faa31392519f975fea7eefb945625",
      "PathGlobs=/*~Expires=1663070400~Foo=1~hmac=c1c446eea24faa31392519f975fea7eefb945625",
      "PathGlobs=/*~Expires=1663070400~hmac=c1c446eea24faa31392519f975fea7eefb94562",
      "PathGlobs=/*~Expires=-1~hmac=c1c446eea24faa31392519f975fea7eefb945625",
      "FullPath=/a~Expires=1663070400~hmac=c1c446eea24faa31392519f975fea7eefb945625",
      "PathGlobs=/*~Expires=1663070400~hmac=zz1c446eea24faa31392519f975fea7eefb9456",
      "PathGlobs=/*~Expires=1663070400~Signature=AAAA",
      "PathGlobs=/*~Expires=1663070400~hmac=c1c446eea24faa31392519f975fea7eefb945625~"};
  q = token_req(1);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    int rc = stream_mediacdn_token_verify(&v, t.ring, bad[i], &q);
    ck_assert_msg(rc == STREAM_EINVAL, "bad token %zu gave %d", i, rc);
    ck_assert_int_ne(v.reason, STREAM_SIGN_VALID);
  }
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, NULL, &q), STREAM_EINVAL);
  ck_assert_int_eq(v.reason, STREAM_SIGN_MISSING);
  token_keys_free(&t);
}
END_TEST

START_TEST(test_token_sign_rejects_bad_input)
{
  token_keys t = token_keys_new();
  char *s = NULL;
  stream_mediacdn_token_options o = token_opts(1, 2);
  ck_assert_int_eq(stream_mediacdn_token_sign(NULL, t.ed, &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, NULL, &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.ed, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.edpub, &o), STREAM_EINVAL);
  o.url_prefix = "http://a/"; /* two scopes */
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.ed, &o), STREAM_EINVAL);
  o = token_opts(1, 2);
  o.path_globs = NULL; /* no scope */
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.ed, &o), STREAM_EINVAL);
  o = token_opts(1, 2);
  o.path_globs = "/a~b";
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.ed, &o), STREAM_EINVAL);
  o.path_globs = "a/*";
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.ed, &o), STREAM_EINVAL);
  o.path_globs = "/1,/2,/3,/4,/5,/6";
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.ed, &o), STREAM_EINVAL);
  o = token_opts(2, 2);
  o.full_path = "relative";
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.ed, &o), STREAM_EINVAL);
  o = token_opts(3, 2);
  o.ip_ranges = "203.0.113.0/33";
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.ed, &o), STREAM_EINVAL);
  o.ip_ranges = "example.com";
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.ed, &o), STREAM_EINVAL);
  o = token_opts(3, 2);
  o.starts = TOKEN_EXPIRES;
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.ed, &o), STREAM_EINVAL);
  o = token_opts(3, 2);
  o.session_id = "a~b";
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.ed, &o), STREAM_EINVAL);
  o = token_opts(3, 2);
  const char *hn[1] = {"Bad,Name"};
  const char *hv[1] = {"v"};
  o.header_names = hn;
  o.header_values = hv;
  o.header_count = 1;
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.ed, &o), STREAM_EINVAL);
  o = token_opts(1, 2);
  o.hmac = 7;
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.mac, &o), STREAM_EINVAL);
  o = token_opts(1, 2);
  o.version = 2;
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.mac, &o), STREAM_EINVAL);
  o = token_opts(1, 2);
  o.expires = 0;
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.mac, &o), STREAM_EINVAL);
  ck_assert_ptr_null(s);
  o.ttl = 300; /* relative expiry, default HMAC is SHA-256 */
  o.hmac = 0;
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.mac, &o), STREAM_OK);
  ck_assert_uint_eq(strlen(strstr(s, "~hmac=") + 6), 64);
  stream_google_request q = token_req(1);
  q.now = 0;
  stream_google_verification v;
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, s, &q), STREAM_OK);
  stream_free(s);
  token_keys_free(&t);
}
END_TEST

/* Tokens that were signed and never verified (found by fuzz_signers): each is
 * refused now; the nearest accepted variant still signs and verifies. */
START_TEST(test_token_sign_refuses_unverifiable)
{
  token_keys t = token_keys_new();
  char *s = (char *)1;
  stream_google_verification v;
  /* A name given twice (any case): verification binds both to the first. */
  const char *hn[2] = {"X-Foo", "x-foo"};
  const char *hv[2] = {"a", "b"};
  stream_mediacdn_token_options o = token_opts(1, 2);
  o.header_names = hn;
  o.header_values = hv;
  o.header_count = 2;
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.mac, &o), STREAM_EINVAL);
  ck_assert_ptr_null(s);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "twice"));
  /* A FullPath or glob with '?' or '#': a request path ends before them. */
  const char *paths[4] = {"/a?b.m3u8", "/a#b.m3u8", "/v/*?x", "/v/*#x"};
  for (int i = 0; i < 4; i++) {
    o = token_opts(i < 2 ? 2 : 1, 2);
    if (i < 2)
      o.full_path = paths[i];
    else
      o.path_globs = paths[i];
    ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.mac, &o), STREAM_EINVAL);
  }
  /* SessionID and Data are written into the token, which may hold no space. */
  o = token_opts(3, 2);
  o.session_id = "test id";
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.ed, &o), STREAM_EINVAL);
  o = token_opts(3, 2);
  o.data = "test data";
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.ed, &o), STREAM_EINVAL);
  /* IPRanges: verification decodes at most 4096 base64url characters. */
  char ranges[3100] = "";
  for (int i = 0; i < 204; i++)
    strcat(ranges, "203.0.113.0/24,"); /* 15 bytes each */
  strcat(ranges, "203.0.113.77");      /* 3072 bytes in all */
  ck_assert_uint_eq(strlen(ranges), 3072);
  o = token_opts(3, 2);
  o.ip_ranges = ranges;
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.ed, &o), STREAM_OK);
  stream_google_request q = token_req(3);
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, s, &q), STREAM_OK);
  stream_free(s);
  strcpy(ranges + 3070, "177"); /* 3073 bytes: signed before, and never verified */
  ck_assert_uint_eq(strlen(ranges), 3073);
  ck_assert_int_eq(stream_mediacdn_token_sign(&s, t.ed, &o), STREAM_ERANGE);
  ck_assert_ptr_null(s);
  token_keys_free(&t);
}
END_TEST

START_TEST(test_verify_rejects_bad_arguments)
{
  token_keys t = token_keys_new();
  stream_google_verification v;
  stream_google_request q = req_at(media_url_out[0], 1);
  ck_assert_int_eq(stream_cloudcdn_verify_url(NULL, t.ring, &q), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudcdn_verify_url(&v, NULL, &q), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudcdn_verify_url(&v, t.ring, NULL), STREAM_EINVAL);
  ck_assert_int_ne(v.reason, STREAM_SIGN_VALID);
  ck_assert_int_eq(stream_mediacdn_verify_url(&v, t.ring, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_mediacdn_verify_cookie(&v, t.ring, NULL, &q), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudcdn_verify_cookie(&v, t.ring, "", &q), STREAM_EINVAL);
  q.version = 0;
  ck_assert_int_eq(stream_mediacdn_verify_url(&v, t.ring, &q), STREAM_EINVAL);
  q = req_at(NULL, 1);
  ck_assert_int_eq(stream_mediacdn_verify_url(&v, t.ring, &q), STREAM_EINVAL);
  q = req_at(media_url_out[0], -5);
  ck_assert_int_eq(stream_mediacdn_verify_url(&v, t.ring, &q), STREAM_EINVAL);
  q = req_at(media_url_out[0], 1);
  q.header_count = 2;
  ck_assert_int_eq(stream_mediacdn_token_verify(&v, t.ring, token_vecs[1].token, &q),
                   STREAM_EINVAL);
  token_keys_free(&t);
}
END_TEST

/* ---- hostile inputs -------------------------------------------------------- */

typedef int (*verify_fn)(stream_google_verification *, const stream_keyring *, const char *,
                         const stream_google_request *);

enum { V_CLOUD_URL, V_CLOUD_COOKIE, V_MEDIA_URL, V_MEDIA_COOKIE, V_TOKEN };

/* Run the verifier of `kind` on `text` (the URL for URL kinds). */
static int run(int kind, const stream_keyring *ring, const char *text, stream_google_request q,
               stream_google_verification *v)
{
  switch (kind) {
  case V_CLOUD_URL:
    q.url = text;
    return stream_cloudcdn_verify_url(v, ring, &q);
  case V_CLOUD_COOKIE:
    return stream_cloudcdn_verify_cookie(v, ring, text, &q);
  case V_MEDIA_URL:
    q.url = text;
    return stream_mediacdn_verify_url(v, ring, &q);
  case V_MEDIA_COOKIE:
    return stream_mediacdn_verify_cookie(v, ring, text, &q);
  default:
    return stream_mediacdn_token_verify(v, ring, text, &q);
  }
}

typedef struct hostile_case {
  int kind;
  const char *text;
  size_t signed_from; /* bit flips in [signed_from, signed_to) must fail; */
  size_t signed_to;   /* the rest is not signed (0 = to the end) */
  size_t keep;        /* truncations shorter than this must fail */
} hostile_case;

static void check_hostile(const stream_keyring *ring, const hostile_case *c,
                          stream_google_request q)
{
  stream_google_verification v;
  size_t n = strlen(c->text);
  char *buf = malloc(n + 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_int_eq(run(c->kind, ring, c->text, q, &v), STREAM_OK);
  for (size_t len = 0; len < c->keep; len++) {
    memcpy(buf, c->text, len);
    buf[len] = '\0';
    int rc = run(c->kind, ring, buf, q, &v);
    ck_assert_msg(rc != STREAM_OK && v.reason != STREAM_SIGN_VALID,
                  "kind %d truncated to %zu verified", c->kind, len);
  }
  static const unsigned char flips[] = {0x01, 0x02, 0x20, 0x40, 0x80};
  size_t to = c->signed_to ? c->signed_to : n;
  for (size_t i = c->signed_from; i < to; i++)
    for (size_t f = 0; f < sizeof flips; f++) {
      memcpy(buf, c->text, n + 1);
      buf[i] = (char)(buf[i] ^ flips[f]);
      if (buf[i] == '\0')
        continue;
      int rc = run(c->kind, ring, buf, q, &v);
      ck_assert_msg(rc != STREAM_OK && v.reason != STREAM_SIGN_VALID,
                    "kind %d flip 0x%02x at %zu verified: %s", c->kind, flips[f], i, buf);
    }
  free(buf);
}

/* Length without trailing '=' padding (dropping padding is allowed). */
static size_t unpadded(const char *s)
{
  size_t n = strlen(s);
  while (n && s[n - 1] == '=')
    n--;
  return n;
}

START_TEST(test_truncated_and_bit_flipped)
{
  stream_key *ck = key_text(STREAM_KEY_HMAC, "my-key", CLOUD_KEY);
  stream_key *mk = key_text(STREAM_KEY_ED25519_PUBLIC, "my-key", MEDIA_PUB);
  stream_key *pk = key_text(STREAM_KEY_ED25519_PRIVATE, "test-key", PATH_SEED);
  stream_keyring *rc_ = ring_of(ck, NULL);
  stream_keyring *rm = ring_of(mk, pk);
  for (int i = 0; i < 3; i++) {
    hostile_case a = {V_CLOUD_URL, cloud_url_out[i], 0, 0, unpadded(cloud_url_out[i])};
    check_hostile(rc_, &a, req_at(NULL, CLOUD_EXPIRES - 1));
    size_t from = (size_t)(strstr(cloud_prefix_out[i], "URLPrefix=") - cloud_prefix_out[i]);
    hostile_case b = {V_CLOUD_URL, cloud_prefix_out[i], from, 0, unpadded(cloud_prefix_out[i])};
    check_hostile(rc_, &b, req_at(NULL, CLOUD_EXPIRES - 1));
    hostile_case c = {V_MEDIA_URL, media_url_out[i], 0, 0, strlen(media_url_out[i])};
    check_hostile(rm, &c, req_at(NULL, MEDIA_EXPIRES - 1));
    from = (size_t)(strstr(media_prefix_out[i], "URLPrefix=") - media_prefix_out[i]);
    hostile_case d = {V_MEDIA_URL, media_prefix_out[i], from, 0, strlen(media_prefix_out[i])};
    check_hostile(rm, &d, req_at(NULL, MEDIA_EXPIRES - 1));
  }
  for (int i = 0; i < 2; i++) {
    stream_google_request q = req_at(cloud_cookie_pfx[i], CLOUD_EXPIRES - 1);
    hostile_case a = {V_CLOUD_COOKIE, cloud_cookie_out[i] + 17, 0, 0,
                      unpadded(cloud_cookie_out[i] + 17)};
    check_hostile(rc_, &a, q);
    q.now = MEDIA_EXPIRES - 1;
    hostile_case b = {V_MEDIA_COOKIE, media_cookie_out[i] + 18, 0, 0,
                      strlen(media_cookie_out[i] + 18)};
    check_hostile(rm, &b, q);
  }
  /* path component: the signed part ends at the '/' after the signature */
  size_t end = (size_t)(strrchr(media_path_out, '/') - media_path_out);
  hostile_case p = {V_MEDIA_URL, media_path_out, 0, end, end};
  stream_google_request q = req_at(NULL, PATH_EXPIRES - 1);
  check_hostile(rm, &p, q);
  /* tokens; in FullPath tokens the request path is signed, not the token text */
  token_keys t = token_keys_new();
  for (int i = 0; i < 12; i++) {
    hostile_case c = {V_TOKEN, token_vecs[i].token, 0, 0, strlen(token_vecs[i].token)};
    check_hostile(t.ring, &c, token_req(token_vecs[i].scope));
  }
  token_keys_free(&t);
  stream_keyring_free(rm);
  stream_keyring_free(rc_);
  stream_key_free(pk);
  stream_key_free(mk);
  stream_key_free(ck);
}
END_TEST

START_TEST(test_random_inputs)
{
  token_keys t = token_keys_new();
  stream_key *ck = key_text(STREAM_KEY_HMAC, "my-key", CLOUD_KEY);
  stream_key *mk = key_text(STREAM_KEY_ED25519_PUBLIC, "my-key", MEDIA_PUB);
  ck_assert_int_eq(stream_keyring_add(t.ring, ck), STREAM_OK);
  stream_keyring *rm = ring_of(mk, NULL);
  static const char alphabet[] = "URLPrefixExpiresKeyNameSignaturehmacFullPathGlobs=&:~?/,!*"
                                 "0123456789abcdefABCDEF-_http://";
  unsigned char raw[300];
  char text[400];
  stream_google_request q = token_req(3);
  stream_google_verification v;
  for (int round = 0; round < 3000; round++) {
    ck_assert_int_eq(stream_random_bytes(raw, sizeof raw), STREAM_OK);
    size_t n = raw[0] % 250;
    int mode = round % 3;
    for (size_t i = 0; i < n; i++) {
      unsigned char c = raw[i + 1];
      text[i] = mode == 0   ? (char)(c ? c : 1)
                : mode == 1 ? alphabet[c % (sizeof alphabet - 1)]
                            : (char)(0x21 + c % 94);
    }
    text[n] = '\0';
    /* also splice random text onto a real prefix so parsers go deeper */
    char spliced[700];
    snprintf(spliced, sizeof spliced,
             "http://35.186.234.33/index.html?Expires=1549751401&KeyName=my-key&Signature=%s",
             text);
    for (int kind = V_CLOUD_URL; kind <= V_TOKEN; kind++) {
      const stream_keyring *ring = kind == V_MEDIA_URL || kind == V_MEDIA_COOKIE ? rm : t.ring;
      q.url = "http://10.20.30.40/index.m3u8";
      int rc = run(kind, ring, text, q, &v);
      ck_assert_int_ne(rc, STREAM_OK);
      ck_assert_int_ne(v.reason, STREAM_SIGN_VALID);
      rc = run(kind, ring, spliced, q, &v);
      ck_assert_int_ne(rc, STREAM_OK);
    }
    snprintf(spliced, sizeof spliced, "PathGlobs=/*~Expires=1663070400~%s", text);
    ck_assert_int_ne(run(V_TOKEN, t.ring, spliced, q, &v), STREAM_OK);
    snprintf(spliced, sizeof spliced, "https://a/edge-cache-token=%s/x", text);
    ck_assert_int_ne(run(V_MEDIA_URL, rm, spliced, q, &v), STREAM_OK);
  }
  stream_keyring_free(rm);
  stream_key_free(mk);
  stream_key_free(ck);
  token_keys_free(&t);
}
END_TEST

/* ---- lengths: nothing is signed that verification refuses as too long ------ */

#define TEXT_MAX 16384 /* the longest URL, cookie or token verification takes */
#define LEN_FORMS 10
static const char *const len_form_names[LEN_FORMS] = {
    "cloud url",        "cloud prefix+url", "cloud prefix", "cloud cookie", "media url",
    "media prefix+url", "media prefix",     "media cookie", "media path",   "media token"};

/* "http://a/" and then 'a' up to n bytes. The caller frees it. */
static char *long_url(size_t n)
{
  char *u = malloc(n + 1);
  ck_assert_ptr_nonnull(u);
  memset(u, 'a', n);
  memcpy(u, "http://a/", 9);
  u[n] = '\0';
  return u;
}

/* Sign `a` (n bytes) with form `f`: the URL for the URL and prefix+url forms (prefix
 * "http://a/"), the prefix for the prefix and cookie forms and the token's URLPrefix, the
 * filename of a path component under "http://a/". */
static int len_sign(char **s, int f, const stream_key *ck, const stream_key *mk, const char *a)
{
  stream_google_sign_options o = opts_at(CLOUD_EXPIRES);
  *s = NULL;
  switch (f) {
  case 0:
    return stream_cloudcdn_sign_url(s, ck, a, &o);
  case 1:
    return stream_cloudcdn_sign_prefix(s, ck, a, "http://a/", &o);
  case 2:
    return stream_cloudcdn_sign_prefix(s, ck, NULL, a, &o);
  case 3:
    return stream_cloudcdn_sign_cookie(s, ck, a, &o);
  case 4:
    return stream_mediacdn_sign_url(s, mk, a, &o);
  case 5:
    return stream_mediacdn_sign_prefix(s, mk, a, "http://a/", &o);
  case 6:
    return stream_mediacdn_sign_prefix(s, mk, NULL, a, &o);
  case 7:
    return stream_mediacdn_sign_cookie(s, mk, a, &o);
  case 8:
    return stream_mediacdn_sign_path_component(s, mk, "http://a/", a, &o);
  default: {
    stream_mediacdn_token_options t = STREAM_MEDIACDN_TOKEN_OPTIONS_INIT;
    t.expires = CLOUD_EXPIRES;
    t.url_prefix = a;
    return stream_mediacdn_token_sign(s, mk, &t);
  }
  }
}

/* The request URL `s` signed by form `f` from `a` makes (the prefix forms without a url: the
 * prefix, '?' and the query), or `a` itself for cookies and tokens. The caller frees it. */
static char *len_request(int f, const char *a, const char *s)
{
  const char *head = f == 2 || f == 6 ? a : "", *sep = f == 2 || f == 6 ? "?" : "";
  const char *tail = f == 3 || f == 7 || f == 9 ? a : s;
  char *u = malloc(strlen(head) + strlen(sep) + strlen(tail) + 1);
  ck_assert_ptr_nonnull(u);
  strcpy(u, head);
  strcat(u, sep);
  strcat(u, tail);
  return u;
}

static int len_verify(int f, const stream_keyring *cr, const stream_keyring *mr, const char *url,
                      const char *cred)
{
  static const char *const names[1] = {"my-key"};
  stream_google_verification v;
  stream_google_request q = req_at(url, CLOUD_EXPIRES - 1);
  switch (f) {
  case 3:
    return stream_cloudcdn_verify_cookie(&v, cr, cred, &q);
  case 7:
    return stream_mediacdn_verify_cookie(&v, mr, cred, &q);
  case 9:
    q.key_names = names;
    q.key_name_count = 1;
    return stream_mediacdn_token_verify(&v, mr, cred, &q);
  default:
    return f < 4 ? stream_cloudcdn_verify_url(&v, cr, &q) : stream_mediacdn_verify_url(&v, mr, &q);
  }
}

START_TEST(test_sign_refuses_what_is_too_long_to_verify)
{
  stream_key *ck = key_text(STREAM_KEY_HMAC, "my-key", CLOUD_KEY);
  stream_key *mk = key_text(STREAM_KEY_ED25519_PRIVATE, "my-key", MEDIA_SEED);
  stream_key *mpub = NULL;
  ck_assert_int_eq(stream_key_public(&mpub, mk), STREAM_OK);
  stream_keyring *cr = ring_of(ck, NULL), *mr = ring_of(mpub, NULL);
  for (int f = 0; f < LEN_FORMS; f++) {
    /* The longest input that signs (what is refused grows with the input). */
    size_t lo = 32, hi = TEXT_MAX;
    char *s = NULL;
    while (lo < hi) {
      size_t mid = lo + (hi - lo + 1) / 2;
      char *a = long_url(mid);
      int rc = len_sign(&s, f, ck, mk, a);
      stream_free(s);
      free(a);
      if (rc == STREAM_OK)
        lo = mid;
      else
        hi = mid - 1;
    }
    /* Its result fits and verifies; the input that is one byte longer is refused. */
    char *a = long_url(lo);
    ck_assert_msg(len_sign(&s, f, ck, mk, a) == STREAM_OK, "%s: %s", len_form_names[f],
                  stream_error_last()->message);
    char *url = len_request(f, a, s);
    size_t got = f == 3 || f == 7 || f == 9 ? strlen(s) : strlen(url);
    ck_assert_msg(got <= TEXT_MAX && got + 5 > TEXT_MAX, "%s: longest is %zu bytes",
                  len_form_names[f], got);
    if (f == 0 || f == 1 || f == 4 || f == 5 || f == 8)
      ck_assert_uint_eq(got, TEXT_MAX); /* one more input byte, one more output byte */
    ck_assert_msg(len_verify(f, cr, mr, url, s) == STREAM_OK, "%s: %s", len_form_names[f],
                  stream_error_last()->message);
    stream_free(s);
    free(url);
    free(a);
    ck_assert_msg(lo < TEXT_MAX, "%s: an input of %d bytes signs into more than %d",
                  len_form_names[f], TEXT_MAX, TEXT_MAX);
    a = long_url(lo + 1);
    ck_assert_int_eq(len_sign(&s, f, ck, mk, a), STREAM_EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "verification takes at most 16384"));
    free(a);
  }
  stream_keyring_free(cr);
  stream_keyring_free(mr);
  stream_key_free(mpub);
  stream_key_free(mk);
  stream_key_free(ck);
}
END_TEST

static Suite *google_suite(void)
{
  Suite *s = suite_create("sign_google");
  TCase *tc = tcase_create("cloudcdn");
  tcase_add_test(tc, test_cloud_vectors_sign);
  tcase_add_test(tc, test_cloud_vectors_verify);
  tcase_add_test(tc, test_cloud_failures);
  tcase_add_test(tc, test_cloud_sign_rejects_bad_input);
  suite_add_tcase(s, tc);
  tc = tcase_create("lengths");
  tcase_add_test(tc, test_sign_refuses_what_is_too_long_to_verify);
  suite_add_tcase(s, tc);
  tc = tcase_create("mediacdn");
  tcase_add_test(tc, test_media_vectors_sign);
  tcase_add_test(tc, test_media_vectors_verify);
  tcase_add_test(tc, test_token_vectors);
  tcase_add_test(tc, test_token_failures);
  tcase_add_test(tc, test_token_sign_rejects_bad_input);
  tcase_add_test(tc, test_token_sign_refuses_unverifiable);
  tcase_add_test(tc, test_verify_rejects_bad_arguments);
  suite_add_tcase(s, tc);
  tc = tcase_create("hostile");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_truncated_and_bit_flipped);
  tcase_add_test(tc, test_random_inputs);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(google_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
