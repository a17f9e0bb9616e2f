/* Unit tests for the Amazon CloudFront format. The vectors of
 * shared/design/standards.md §3 (aws-sdk-go-v2 policy_test.go: the canned
 * policy JSON and its base64 at 1257894000; TestAWSEscape) are checked byte
 * for byte, the canned policy through an independent OpenSSL verification of
 * our signature over the official JSON text. Then round trips (RSA and ECDSA,
 * SHA-1 and SHA-256, URLs and cookies, private and public key rings), every
 * byte of a signed URL and of signed cookies flipped, expiry, not-before, IP,
 * wildcard Resources, wrong key id and type, policies signed here with
 * unexpected contents, truncated and random input, and argument validation.
 * Links the internal library for cloudfront__escape. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../keys/pem_fixtures.h"
#include "sign/sign_internal.h"
#include "stream/sign.h"

#define KID "K2JCJMDEHXQW5F"
#define T0 1257894000 /* 2009-11-10T23:00:00Z, the aws-sdk-go-v2 vector */
#define GO_JSON                                                                                    \
  "{\"Statement\":[{\"Resource\":\"https://example.com/"                                           \
  "a\",\"Condition\":{\"DateLessThan\":{\"AWS:EpochTime\":1257894000}}}]}"
#define GO_B64                                                                                     \
  "eyJTdGF0ZW1lbnQiOlt7IlJlc291cmNlIjoiaHR0cHM6Ly9leGFtcGxlLmNvbS9hIiwiQ29uZGl0aW9uIjp7IkRhdGVMZX" \
  "NzVGhhbiI6eyJBV1M6RXBvY2hUaW1lIjoxMjU3ODk0MDAwfX19XX0="

static stream_key *key_pem(stream_key_type t, const char *pem)
{
  stream_key *k = NULL;
  ck_assert_int_eq(stream_key_from_text(&k, t, KID, pem), STREAM_OK);
  return k;
}

static stream_keyring *ring1(const stream_key *k)
{
  stream_keyring *r = NULL;
  ck_assert_int_eq(stream_keyring_new(&r), STREAM_OK);
  if (k)
    ck_assert_int_eq(stream_keyring_add(r, k), STREAM_OK);
  return r;
}

static stream_cloudfront_sign_options opts_at(int64_t expires)
{
  stream_cloudfront_sign_options o = STREAM_CLOUDFRONT_SIGN_OPTIONS_INIT;
  o.expires = expires;
  return o;
}

static stream_cloudfront_request req_at(const char *url, int64_t now)
{
  stream_cloudfront_request r = STREAM_CLOUDFRONT_REQUEST_INIT;
  r.url = url;
  r.now = now;
  return r;
}

static int verify_url(stream_cloudfront_verification *v, const stream_keyring *r, const char *url,
                      const char *ip, int64_t now)
{
  stream_cloudfront_request q = req_at(url, now);
  q.client_ip = ip;
  return stream_cloudfront_verify_url(v, r, &q);
}

static int verify_cookies(stream_cloudfront_verification *v, const stream_keyring *r,
                          const char *cookies, const char *url, const char *ip, int64_t now)
{
  stream_cloudfront_request q = req_at(url, now);
  q.client_ip = ip;
  return stream_cloudfront_verify_cookies(v, r, cookies, &q);
}

/* The value of query parameter or cookie `name` in s (up to '&' or '\n'); a new string. */
static char *field(const char *s, const char *name)
{
  size_t nl = strlen(name);
  for (const char *p = s; (p = strstr(p, name)) != NULL; p++) {
    if ((p == s || p[-1] == '?' || p[-1] == '&' || p[-1] == '\n') && p[nl] == '=') {
      size_t n = strcspn(p + nl + 1, "&\n");
      char *v = malloc(n + 1);
      memcpy(v, p + nl + 1, n);
      v[n] = '\0';
      return v;
    }
  }
  return NULL;
}

/* Decode CloudFront base64 independently of the library. */
static unsigned char *cf_decode(const char *s, size_t *n)
{
  char *t = strdup(s);
  for (char *p = t; *p; p++)
    *p = *p == '-' ? '+' : *p == '_' ? '=' : *p == '~' ? '/' : *p;
  unsigned char *out = malloc(strlen(t));
  int len = EVP_DecodeBlock(out, (unsigned char *)t, (int)strlen(t));
  ck_assert_int_gt(len, 0);
  size_t pad = strlen(t) >= 2 && t[strlen(t) - 2] == '=' ? 2 : t[strlen(t) - 1] == '=' ? 1 : 0;
  *n = (size_t)len - pad;
  free(t);
  return out;
}

/* OpenSSL directly (not through libstream): is sig a signature of data? */
static bool ossl_verify(const char *pub_pem, const char *md, const char *data, const char *sig)
{
  BIO *bio = BIO_new_mem_buf(pub_pem, -1);
  EVP_PKEY *pk = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
  BIO_free(bio);
  ck_assert_ptr_nonnull(pk);
  size_t sl = 0;
  unsigned char *raw = cf_decode(sig, &sl);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, NULL, EVP_get_digestbyname(md), NULL, pk) == 1 &&
            EVP_DigestVerify(ctx, raw, sl, (const unsigned char *)data, strlen(data)) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pk);
  free(raw);
  return ok;
}

/* Sign an arbitrary policy here (OpenSSL directly) and build a custom-policy URL. */
static char *url_with_policy(const char *base, const char *policy, const char *priv_pem)
{
  BIO *bio = BIO_new_mem_buf(priv_pem, -1);
  EVP_PKEY *pk = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
  BIO_free(bio);
  unsigned char sig[600];
  size_t sl = sizeof sig;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  ck_assert_int_eq(EVP_DigestSignInit(ctx, NULL, EVP_sha1(), NULL, pk), 1);
  ck_assert_int_eq(EVP_DigestSign(ctx, sig, &sl, (const unsigned char *)policy, strlen(policy)), 1);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pk);
  char pb[4096], sb[1024];
  EVP_EncodeBlock((unsigned char *)pb, (const unsigned char *)policy, (int)strlen(policy));
  EVP_EncodeBlock((unsigned char *)sb, sig, (int)sl);
  cloudfront__escape(pb, strlen(pb));
  cloudfront__escape(sb, strlen(sb));
  size_t n = strlen(base) + strlen(pb) + strlen(sb) + 64;
  char *u = malloc(n);
  snprintf(u, n, "%s?Policy=%s&Key-Pair-Id=" KID "&Signature=%s", base, pb, sb);
  return u;
}

/* ---- standards.md §3 vectors --------------------------------------------- */

START_TEST(test_aws_escape_vector)
{
  char s[] = "a+b=c/";
  cloudfront__escape(s, strlen(s));
  ck_assert_str_eq(s, "a-b_c~");
}
END_TEST

START_TEST(test_canned_policy_vector)
{
  /* our canned signature verifies, with OpenSSL alone, over the official JSON */
  stream_key *k = key_pem(STREAM_KEY_RSA_PRIVATE, PEM_RSA_PKCS1);
  stream_cloudfront_sign_options o = opts_at(T0);
  char *url = NULL;
  ck_assert_int_eq(stream_cloudfront_sign_url(&url, k, "https://example.com/a", &o), STREAM_OK);
  char *sig = field(url, "Signature");
  char want[1024];
  snprintf(want, sizeof want,
           "https://example.com/a?Expires=1257894000&Key-Pair-Id=" KID "&Signature=%s", sig);
  ck_assert_str_eq(url, want);
  ck_assert(ossl_verify(PEM_RSA_PUB, "SHA1", GO_JSON, sig));
  ck_assert(!ossl_verify(PEM_RSA_PUB, "SHA1", GO_JSON " ", sig));
  free(sig);
  stream_free(url);
  /* the same with SHA-256 and an ECDSA key (DER signature) */
  stream_key *e = key_pem(STREAM_KEY_EC_PRIVATE, PEM_EC_SEC1);
  o.hash = STREAM_CLOUDFRONT_SHA256;
  ck_assert_int_eq(stream_cloudfront_sign_url(&url, e, "https://example.com/a", &o), STREAM_OK);
  ck_assert_ptr_nonnull(strstr(url, "&Hash-Algorithm=SHA256"));
  sig = field(url, "Signature");
  ck_assert(ossl_verify(PEM_EC_PUB, "SHA256", GO_JSON, sig));
  ck_assert(!ossl_verify(PEM_EC_PUB, "SHA1", GO_JSON, sig));
  free(sig);
  stream_free(url);
  /* forced custom policy: the Policy parameter is the vector's base64, escaped */
  o = opts_at(T0);
  o.custom = 1;
  ck_assert_int_eq(stream_cloudfront_sign_url(&url, k, "https://example.com/a", &o), STREAM_OK);
  char *pol = field(url, "Policy");
  char b64[] = GO_B64;
  cloudfront__escape(b64, strlen(b64));
  ck_assert_str_eq(pol, b64);
  ck_assert_str_eq(pol,
                   "eyJTdGF0ZW1lbnQiOlt7IlJlc291cmNlIjoiaHR0cHM6Ly9leGFtcGxlLmNvbS9hIiwiQ29u"
                   "ZGl0aW9uIjp7IkRhdGVMZXNzVGhhbiI6eyJBV1M6RXBvY2hUaW1lIjoxMjU3ODk0MDAwfX19XX0_");
  sig = field(url, "Signature");
  ck_assert(ossl_verify(PEM_RSA_PUB, "SHA1", GO_JSON, sig));
  free(sig);
  free(pol);
  stream_free(url);
  stream_key_free(e);
  stream_key_free(k);
}
END_TEST

START_TEST(test_custom_policy_json_order)
{
  /* DateLessThan, DateGreaterThan, IpAddress: the order of the AWS docs and of
   * @aws-sdk/cloudfront-signer; a bare address becomes /32 as in the SDK */
  stream_key *k = key_pem(STREAM_KEY_RSA_PRIVATE, PEM_RSA_PKCS8);
  stream_cloudfront_sign_options o = opts_at(T0);
  o.starts = T0 - 3600;
  o.ip = "192.0.2.10";
  char *c = NULL;
  ck_assert_int_eq(
      stream_cloudfront_sign_cookies(&c, k, "https://d111111abcdef8.cloudfront.net/v/*", &o),
      STREAM_OK);
  char *pol = field(c, "CloudFront-Policy");
  size_t n = 0;
  unsigned char *json = cf_decode(pol, &n);
  ck_assert_int_eq(
      (int)n,
      (int)strlen("{\"Statement\":[{\"Resource\":\"https://d111111abcdef8.cloudfront.net/v/*\","
                  "\"Condition\":{\"DateLessThan\":{\"AWS:EpochTime\":1257894000},"
                  "\"DateGreaterThan\":{\"AWS:EpochTime\":1257890400},"
                  "\"IpAddress\":{\"AWS:SourceIp\":\"192.0.2.10/32\"}}}]}"));
  ck_assert_mem_eq(json,
                   "{\"Statement\":[{\"Resource\":\"https://d111111abcdef8.cloudfront.net/v/*\","
                   "\"Condition\":{\"DateLessThan\":{\"AWS:EpochTime\":1257894000},"
                   "\"DateGreaterThan\":{\"AWS:EpochTime\":1257890400},"
                   "\"IpAddress\":{\"AWS:SourceIp\":\"192.0.2.10/32\"}}}]}",
                   n);
  /* cookie lines, in the order of the AWS docs */
  char *sig = field(c, "CloudFront-Signature");
  char want[4096];
  snprintf(want, sizeof want,
           "CloudFront-Policy=%s\nCloudFront-Signature=%s\nCloudFront-Key-Pair-Id=" KID "\n", pol,
           sig);
  ck_assert_str_eq(c, want);
  json = realloc(json, n + 1);
  json[n] = '\0';
  ck_assert(ossl_verify(PEM_RSA_PUB, "SHA1", (const char *)json, sig));
  free(json);
  free(sig);
  free(pol);
  stream_free(c);
  stream_key_free(k);
}
END_TEST

/* ---- round trips ------------------------------------------------------------- */

START_TEST(test_round_trips)
{
  const char *priv[] = {PEM_RSA_PKCS1, PEM_EC_SEC1};
  const char *pub[] = {PEM_RSA_PUB, PEM_EC_PUB};
  stream_key_type pt[] = {STREAM_KEY_RSA_PRIVATE, STREAM_KEY_EC_PRIVATE};
  stream_key_type ut[] = {STREAM_KEY_RSA_PUBLIC, STREAM_KEY_EC_PUBLIC};
  for (int alg = 0; alg < 2; alg++)
    for (int hash = 1; hash <= 2; hash++)
      for (int custom = 0; custom < 2; custom++) {
        stream_key *k = key_pem(pt[alg], priv[alg]), *p = key_pem(ut[alg], pub[alg]);
        stream_keyring *rk = ring1(k), *rp = ring1(p);
        stream_cloudfront_sign_options o = opts_at(2000000000);
        o.hash = hash;
        o.custom = custom;
        const char *u = "https://d111111abcdef8.cloudfront.net/v/abc/master.m3u8?lang=en";
        char *url = NULL, *c = NULL;
        ck_assert_int_eq(stream_cloudfront_sign_url(&url, k, u, &o), STREAM_OK);
        ck_assert_int_eq(strncmp(url, u, strlen(u)), 0);
        ck_assert_int_eq(url[strlen(u)], '&');
        ck_assert_int_eq(stream_cloudfront_sign_cookies(&c, k, u, &o), STREAM_OK);
        for (int r = 0; r < 2; r++) {
          stream_cloudfront_verification v;
          ck_assert_int_eq(verify_url(&v, r ? rp : rk, url, NULL, 1999999999), STREAM_OK);
          ck_assert_int_eq(v.reason, STREAM_SIGN_VALID);
          ck_assert_int_eq(v.custom, custom);
          ck_assert_int_eq(v.hash, hash);
          ck_assert_str_eq(v.key_pair_id, KID);
          ck_assert_int_eq(v.expires, 2000000000);
          ck_assert_int_eq(verify_cookies(&v, r ? rp : rk, c, u, NULL, 1999999999), STREAM_OK);
          ck_assert_int_eq(v.custom, custom);
          ck_assert_int_eq(v.hash, hash);
        }
        stream_free(url);
        stream_free(c);
        stream_keyring_free(rk);
        stream_keyring_free(rp);
        stream_key_free(k);
        stream_key_free(p);
      }
}
END_TEST

START_TEST(test_generated_keys_round_trip)
{
  stream_key_type t[] = {STREAM_KEY_RSA_PRIVATE, STREAM_KEY_EC_PRIVATE};
  for (int i = 0; i < 2; i++) {
    stream_key *k = NULL, *p = NULL;
    ck_assert_int_eq(stream_key_generate(&k, t[i], KID, 0), STREAM_OK);
    ck_assert_int_eq(stream_key_public(&p, k), STREAM_OK);
    stream_keyring *r = ring1(p);
    stream_cloudfront_sign_options o = opts_at(2000000000);
    char *url = NULL;
    ck_assert_int_eq(stream_cloudfront_sign_url(&url, k, "http://h.example/x", &o), STREAM_OK);
    stream_cloudfront_verification v;
    ck_assert_int_eq(verify_url(&v, r, url, NULL, 1900000000), STREAM_OK);
    stream_free(url);
    stream_keyring_free(r);
    stream_key_free(k);
    stream_key_free(p);
  }
}
END_TEST

/* ---- tampering ----------------------------------------------------------------- */

START_TEST(test_every_byte_flip_fails)
{
  stream_key *k = key_pem(STREAM_KEY_EC_PRIVATE, PEM_EC_PKCS8);
  stream_key *rsa = key_pem(STREAM_KEY_RSA_PRIVATE, PEM_RSA_PKCS1);
  stream_keyring *r = NULL;
  ck_assert_int_eq(stream_keyring_new(&r), STREAM_OK);
  ck_assert_int_eq(stream_keyring_add(r, k), STREAM_OK);
  for (int custom = 0; custom < 2; custom++)
    for (int hash = 1; hash <= 2; hash++) {
      stream_cloudfront_sign_options o = opts_at(2000000000);
      o.custom = custom;
      o.hash = hash;
      const char *u = "https://d111111abcdef8.cloudfront.net/v/a.ts?x=1";
      char *url = NULL, *c = NULL;
      ck_assert_int_eq(stream_cloudfront_sign_url(&url, custom ? k : k, u, &o), STREAM_OK);
      ck_assert_int_eq(stream_cloudfront_sign_cookies(&c, k, u, &o), STREAM_OK);
      stream_cloudfront_verification v;
      size_t n = strlen(url);
      for (size_t i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit += 5) {
          char *t = strdup(url);
          t[i] = (char)(t[i] ^ (1 << bit));
          if (t[i] == '\0')
            t[i] = '\x01';
          int rc = verify_url(&v, r, t, NULL, 1999999999);
          ck_assert_msg(rc != STREAM_OK && v.reason != STREAM_SIGN_VALID,
                        "flip at %zu (bit %d) still valid: %s", i, bit, t);
          free(t);
        }
      n = strlen(c);
      for (size_t i = 0; i < n; i++) {
        if (c[i] == '\n')
          continue;
        char *t = strdup(c);
        t[i] = (char)(t[i] ^ 1);
        int rc = verify_cookies(&v, r, t, u, NULL, 1999999999);
        ck_assert_msg(rc != STREAM_OK, "cookie flip at %zu still valid", i);
        free(t);
      }
      /* a different key with the same id */
      stream_keyring *r2 = ring1(rsa);
      ck_assert_int_eq(verify_url(&v, r2, url, NULL, 1999999999), STREAM_EAUTH);
      ck_assert_int_eq(v.reason, STREAM_SIGN_BAD_SIGNATURE);
      stream_keyring_free(r2);
      stream_free(url);
      stream_free(c);
    }
  stream_keyring_free(r);
  stream_key_free(rsa);
  stream_key_free(k);
}
END_TEST

/* ---- time, IP, resource ------------------------------------------------------------ */

START_TEST(test_expiry_and_not_before)
{
  stream_key *k = key_pem(STREAM_KEY_RSA_PRIVATE, PEM_RSA_PKCS1);
  stream_keyring *r = ring1(k);
  stream_cloudfront_sign_options o = opts_at(T0);
  char *url = NULL;
  ck_assert_int_eq(stream_cloudfront_sign_url(&url, k, "https://h.example/a", &o), STREAM_OK);
  stream_cloudfront_verification v;
  ck_assert_int_eq(verify_url(&v, r, url, NULL, T0 - 1), STREAM_OK);
  ck_assert_int_eq(verify_url(&v, r, url, NULL, T0), STREAM_EEXPIRED);
  ck_assert_int_eq(v.reason, STREAM_SIGN_EXPIRED);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "1257894000"));
  stream_free(url);
  o.starts = T0 - 100;
  ck_assert_int_eq(stream_cloudfront_sign_url(&url, k, "https://h.example/a", &o), STREAM_OK);
  ck_assert_ptr_nonnull(strstr(url, "Policy="));
  ck_assert_int_eq(verify_url(&v, r, url, NULL, T0 - 101), STREAM_EEXPIRED);
  ck_assert_int_eq(v.reason, STREAM_SIGN_NOT_YET_VALID);
  ck_assert_int_eq(verify_url(&v, r, url, NULL, T0 - 100), STREAM_OK);
  ck_assert_int_eq(v.starts, T0 - 100);
  ck_assert_int_eq(verify_url(&v, r, url, NULL, T0), STREAM_EEXPIRED);
  ck_assert_int_eq(v.reason, STREAM_SIGN_EXPIRED);
  stream_free(url);
  stream_keyring_free(r);
  stream_key_free(k);
}
END_TEST

START_TEST(test_ip_binding)
{
  stream_key *k = key_pem(STREAM_KEY_EC_PRIVATE, PEM_EC_SEC1);
  stream_keyring *r = ring1(k);
  stream_cloudfront_sign_options o = opts_at(2000000000);
  o.ip = "203.0.113.0/24";
  char *c = NULL;
  ck_assert_int_eq(stream_cloudfront_sign_cookies(&c, k, "https://h.example/v/*", &o), STREAM_OK);
  stream_cloudfront_verification v;
  const char *u = "https://h.example/v/1.ts";
  ck_assert_int_eq(verify_cookies(&v, r, c, u, "203.0.113.7", 1), STREAM_OK);
  ck_assert_str_eq(v.ip, "203.0.113.0/24");
  ck_assert_int_eq(verify_cookies(&v, r, c, u, "::ffff:203.0.113.7", 1), STREAM_OK);
  ck_assert_int_eq(verify_cookies(&v, r, c, u, "198.51.100.1", 1), STREAM_EFORBIDDEN);
  ck_assert_int_eq(v.reason, STREAM_SIGN_IP_MISMATCH);
  ck_assert_int_eq(verify_cookies(&v, r, c, u, "2001:db8::1", 1), STREAM_EFORBIDDEN);
  ck_assert_int_eq(verify_cookies(&v, r, c, u, NULL, 1), STREAM_EFORBIDDEN);
  ck_assert_int_eq(v.reason, STREAM_SIGN_IP_MISMATCH);
  ck_assert_int_eq(verify_cookies(&v, r, c, u, "not-an-ip", 1), STREAM_EINVAL);
  stream_free(c);
  /* IPv6 and garbage are refused when signing */
  o.ip = "2001:db8::/32";
  ck_assert_int_eq(stream_cloudfront_sign_cookies(&c, k, "https://h.example/v/*", &o),
                   STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "IPv4"));
  o.ip = "203.0.113.0/33";
  ck_assert_int_eq(stream_cloudfront_sign_cookies(&c, k, "https://h.example/v/*", &o),
                   STREAM_EINVAL);
  o.ip = "";
  ck_assert_int_eq(stream_cloudfront_sign_cookies(&c, k, "https://h.example/v/*", &o),
                   STREAM_EINVAL);
  stream_keyring_free(r);
  stream_key_free(k);
}
END_TEST

START_TEST(test_wildcard_resources)
{
  stream_key *k = key_pem(STREAM_KEY_RSA_PRIVATE, PEM_RSA_PKCS1);
  stream_keyring *r = ring1(k);
  stream_cloudfront_sign_options o = opts_at(2000000000);
  /* the per-title prefix cookie: one call */
  char *c = NULL;
  ck_assert_int_eq(
      stream_cloudfront_sign_cookies(&c, k, "https://d111111abcdef8.cloudfront.net/v/abc/*", &o),
      STREAM_OK);
  ck_assert_ptr_nonnull(strstr(c, "CloudFront-Policy="));
  stream_cloudfront_verification v;
  const char *in[] = {"https://d111111abcdef8.cloudfront.net/v/abc/",
                      "https://d111111abcdef8.cloudfront.net/v/abc/720p/seg_00001.ts?x=1"};
  const char *out[] = {"https://d111111abcdef8.cloudfront.net/v/abd/a.ts",
                       "http://d111111abcdef8.cloudfront.net/v/abc/a.ts",
                       "https://d111111abcdef8.cloudfront.net/v/abc"};
  for (int i = 0; i < 2; i++)
    ck_assert_int_eq(verify_cookies(&v, r, c, in[i], NULL, 1), STREAM_OK);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(verify_cookies(&v, r, c, out[i], NULL, 1), STREAM_EFORBIDDEN);
    ck_assert_int_eq(v.reason, STREAM_SIGN_OUTSIDE_PREFIX);
  }
  stream_free(c);
  /* '?' is exactly one character */
  ck_assert_int_eq(stream_cloudfront_sign_cookies(&c, k, "https://h.example/seg?.ts", &o),
                   STREAM_OK);
  ck_assert_ptr_nonnull(strstr(c, "CloudFront-Expires=")); /* no '*': canned */
  stream_free(c);
  o.custom = 1;
  ck_assert_int_eq(stream_cloudfront_sign_cookies(&c, k, "https://h.example/seg?.ts", &o),
                   STREAM_OK);
  ck_assert_int_eq(verify_cookies(&v, r, c, "https://h.example/seg1.ts", NULL, 1), STREAM_OK);
  ck_assert_int_eq(verify_cookies(&v, r, c, "https://h.example/seg10.ts", NULL, 1),
                   STREAM_EFORBIDDEN);
  ck_assert_int_eq(verify_cookies(&v, r, c, "https://h.example/seg.ts", NULL, 1),
                   STREAM_EFORBIDDEN);
  stream_free(c);
  /* a signed URL with a prefix Resource: its query works for every URL under it */
  o = opts_at(2000000000);
  o.resource = "https://h.example/v/abc/*";
  char *url = NULL;
  ck_assert_int_eq(stream_cloudfront_sign_url(&url, k, "https://h.example/v/abc/master.m3u8", &o),
                   STREAM_OK);
  const char *q = strchr(url, '?');
  char other[4096];
  snprintf(other, sizeof other, "https://h.example/v/abc/720p/index.m3u8%s", q);
  ck_assert_int_eq(verify_url(&v, r, other, NULL, 1), STREAM_OK);
  snprintf(other, sizeof other, "https://h.example/v/xyz/index.m3u8%s", q);
  ck_assert_int_eq(verify_url(&v, r, other, NULL, 1), STREAM_EFORBIDDEN);
  ck_assert_int_eq(v.reason, STREAM_SIGN_OUTSIDE_PREFIX);
  /* A '*' in the URL itself is no wildcard: canned (literal), and refused where it would
   * become a custom policy's Resource; a quote or backslash can never reach the JSON. */
  stream_free(url);
  o.resource = NULL;
  ck_assert_int_eq(stream_cloudfront_sign_url(&url, k, "https://h.example/v/*", &o), STREAM_OK);
  ck_assert_ptr_nonnull(strstr(url, "?Expires="));
  snprintf(other, sizeof other, "https://h.example/v/other/secret.mp4%s", strchr(url, '?'));
  ck_assert_int_eq(verify_url(&v, r, other, NULL, 1), STREAM_EAUTH);
  stream_free(url);
  url = NULL;
  o.custom = 1;
  ck_assert_int_eq(stream_cloudfront_sign_url(&url, k, "https://h.example/v/*", &o), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "opts->resource"));
  ck_assert_ptr_null(url);
  for (int custom = 0; custom < 2; custom++) {
    o.custom = custom;
    ck_assert_int_eq(
        stream_cloudfront_sign_url(
            &url, k, "https://h.example/a.m3u8?n=x\",\"Resource\":\"https://h.example/*", &o),
        STREAM_EINVAL);
    ck_assert_ptr_null(url);
    ck_assert_int_eq(stream_cloudfront_sign_url(&url, k, "https://h.example/a\\b.m3u8", &o),
                     STREAM_EINVAL);
  }
  o.custom = 0;
  /* a canned URL is for itself only */
  ck_assert_int_eq(stream_cloudfront_sign_url(&url, k, "https://h.example/v/abc/master.m3u8", &o),
                   STREAM_OK);
  snprintf(other, sizeof other, "https://h.example/v/abc/other.m3u8%s", strchr(url, '?'));
  ck_assert_int_eq(verify_url(&v, r, other, NULL, 1), STREAM_EAUTH);
  ck_assert_int_eq(v.reason, STREAM_SIGN_BAD_SIGNATURE);
  stream_free(url);
  stream_keyring_free(r);
  stream_key_free(k);
}
END_TEST

/* ---- keys ----------------------------------------------------------------------- */

START_TEST(test_wrong_keys)
{
  stream_key *rsa = key_pem(STREAM_KEY_RSA_PRIVATE, PEM_RSA_PKCS1);
  stream_key *pub = key_pem(STREAM_KEY_RSA_PUBLIC, PEM_RSA_PUB);
  stream_key *hmac = NULL, *ed = NULL;
  ck_assert_int_eq(stream_key_generate(&hmac, STREAM_KEY_HMAC, KID, 32), STREAM_OK);
  ck_assert_int_eq(stream_key_generate(&ed, STREAM_KEY_ED25519_PRIVATE, KID, 0), STREAM_OK);
  stream_cloudfront_sign_options o = opts_at(2000000000);
  char *url = (char *)1;
  const stream_key *bad[] = {hmac, ed, pub};
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(stream_cloudfront_sign_url(&url, bad[i], "https://h.example/a", &o),
                     STREAM_EINVAL);
    ck_assert_ptr_null(url);
    ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "RSA or ECDSA"));
    ck_assert_int_eq(stream_cloudfront_sign_cookies(&url, bad[i], "https://h.example/a", &o),
                     STREAM_EINVAL);
  }
  ck_assert_int_eq(stream_cloudfront_sign_url(&url, rsa, "https://h.example/a", &o), STREAM_OK);
  stream_cloudfront_verification v;
  stream_keyring *empty = ring1(NULL), *rh = ring1(hmac), *re = ring1(ed);
  ck_assert_int_eq(verify_url(&v, empty, url, NULL, 1), STREAM_EAUTH);
  ck_assert_int_eq(v.reason, STREAM_SIGN_UNKNOWN_KEY);
  ck_assert_str_eq(v.key_pair_id, KID);
  ck_assert_int_eq(verify_url(&v, rh, url, NULL, 1), STREAM_EAUTH);
  ck_assert_int_eq(v.reason, STREAM_SIGN_UNKNOWN_KEY);
  ck_assert_int_eq(verify_url(&v, re, url, NULL, 1), STREAM_EAUTH);
  ck_assert_int_eq(v.reason, STREAM_SIGN_UNKNOWN_KEY);
  /* another Key-Pair-Id */
  char *t = strdup(url);
  memcpy(strstr(t, KID), "K2JCJMDEHXQW5G", 14);
  stream_keyring *rr = ring1(rsa);
  ck_assert_int_eq(verify_url(&v, rr, t, NULL, 1), STREAM_EAUTH);
  ck_assert_int_eq(v.reason, STREAM_SIGN_UNKNOWN_KEY);
  free(t);
  stream_keyring_free(rr);
  stream_keyring_free(empty);
  stream_keyring_free(rh);
  stream_keyring_free(re);
  stream_free(url);
  stream_key_free(hmac);
  stream_key_free(ed);
  stream_key_free(pub);
  stream_key_free(rsa);
}
END_TEST

/* ---- wire-form rules ------------------------------------------------------------- */

START_TEST(test_parameter_placement_and_cookie_forms)
{
  stream_key *k = key_pem(STREAM_KEY_RSA_PRIVATE, PEM_RSA_PKCS1);
  stream_keyring *r = ring1(k);
  stream_cloudfront_sign_options o = opts_at(2000000000);
  char *url = NULL;
  ck_assert_int_eq(stream_cloudfront_sign_url(&url, k, "https://h.example/a?b=1", &o), STREAM_OK);
  char *sig = field(url, "Signature");
  char t[2048];
  stream_cloudfront_verification v;
  /* the docs' order (Expires, Signature, Key-Pair-Id) verifies too */
  snprintf(t, sizeof t, "https://h.example/a?b=1&Expires=2000000000&Signature=%s&Key-Pair-Id=" KID,
           sig);
  ck_assert_int_eq(verify_url(&v, r, t, NULL, 1), STREAM_OK);
  /* CloudFront parameters must be last, and each once */
  snprintf(t, sizeof t, "%s&c=2", url);
  ck_assert_int_eq(verify_url(&v, r, t, NULL, 1), STREAM_EINVAL);
  ck_assert_int_eq(v.reason, STREAM_SIGN_MALFORMED);
  snprintf(t, sizeof t, "%s&Expires=2000000000", url);
  ck_assert_int_eq(verify_url(&v, r, t, NULL, 1), STREAM_EINVAL);
  snprintf(t, sizeof t, "%s&Hash-Algorithm=MD5", url);
  ck_assert_int_eq(verify_url(&v, r, t, NULL, 1), STREAM_EINVAL);
  snprintf(t, sizeof t, "%s&Hash-Algorithm=SHA256", url); /* wrong hash: no longer matches */
  ck_assert_int_eq(verify_url(&v, r, t, NULL, 1), STREAM_EAUTH);
  snprintf(t, sizeof t, "%s&Hash-Algorithm=SHA1", url);
  ck_assert_int_eq(verify_url(&v, r, t, NULL, 1), STREAM_OK);
  /* no Signature: MISSING */
  ck_assert_int_eq(verify_url(&v, r, "https://h.example/a?b=1", NULL, 1), STREAM_EINVAL);
  ck_assert_int_eq(v.reason, STREAM_SIGN_MISSING);
  ck_assert_int_eq(verify_url(&v, r, "https://h.example/a", NULL, 1), STREAM_EINVAL);
  ck_assert_int_eq(v.reason, STREAM_SIGN_MISSING);
  /* both Expires and Policy */
  o.custom = 1;
  char *cu = NULL;
  ck_assert_int_eq(stream_cloudfront_sign_url(&cu, k, "https://h.example/a?b=1", &o), STREAM_OK);
  snprintf(t, sizeof t, "%s&Expires=2000000000", cu);
  ck_assert_int_eq(verify_url(&v, r, t, NULL, 1), STREAM_EINVAL);
  ck_assert_int_eq(v.reason, STREAM_SIGN_MALFORMED);
  stream_free(cu);
  free(sig);
  stream_free(url);
  /* cookies from a Cookie header with other cookies, and duplicates */
  o.custom = 0;
  char *c = NULL;
  ck_assert_int_eq(stream_cloudfront_sign_cookies(&c, k, "https://h.example/a", &o), STREAM_OK);
  char *e = field(c, "CloudFront-Expires"), *s = field(c, "CloudFront-Signature");
  snprintf(t, sizeof t,
           "session=1; CloudFront-Key-Pair-Id=" KID "; CloudFront-Expires=%s;  "
           "CloudFront-Signature=%s; theme=dark",
           e, s);
  ck_assert_int_eq(verify_cookies(&v, r, t, "https://h.example/a", NULL, 1), STREAM_OK);
  ck_assert_int_eq(verify_cookies(&v, r, t, "https://h.example/b", NULL, 1), STREAM_EAUTH);
  snprintf(t, sizeof t, "%s; CloudFront-Expires=%s", c, e);
  ck_assert_int_eq(verify_cookies(&v, r, t, "https://h.example/a", NULL, 1), STREAM_EINVAL);
  ck_assert_int_eq(v.reason, STREAM_SIGN_MALFORMED);
  ck_assert_int_eq(verify_cookies(&v, r, "session=1", "https://h.example/a", NULL, 1),
                   STREAM_EINVAL);
  ck_assert_int_eq(v.reason, STREAM_SIGN_MISSING);
  ck_assert_int_eq(verify_cookies(&v, r, "", "https://h.example/a", NULL, 1), STREAM_EINVAL);
  ck_assert_int_eq(v.reason, STREAM_SIGN_MISSING);
  free(e);
  free(s);
  stream_free(c);
  stream_keyring_free(r);
  stream_key_free(k);
}
END_TEST

START_TEST(test_policies_with_unexpected_contents)
{
  /* policies signed correctly (here, with OpenSSL) but not what CloudFront takes */
  stream_key *k = key_pem(STREAM_KEY_RSA_PRIVATE, PEM_RSA_PKCS1);
  stream_keyring *r = ring1(k);
  const char *base = "https://h.example/a";
  struct {
    const char *policy;
    int reason;
  } cases[] = {
      {"{\"Statement\":[{\"Resource\":\"https://h.example/*\",\"Condition\":{\"DateLessThan\":{"
       "\"AWS:EpochTime\":2000000000}}}]}",
       STREAM_SIGN_VALID},
      /* whitespace is allowed by JSON; no Resource means every URL (AWS docs) */
      {"{ \"Statement\": [ { \"Condition\": { \"DateLessThan\": { \"AWS:EpochTime\": 2000000000 } "
       "} "
       "} ] }",
       STREAM_SIGN_VALID},
      {"{\"Statement\":[{\"Resource\":\"https://h.example/*\",\"Condition\":{\"DateLessThan\":{"
       "\"AWS:EpochTime\":2000000000}}},{\"Resource\":\"*\",\"Condition\":{\"DateLessThan\":{"
       "\"AWS:EpochTime\":2000000000}}}]}",
       STREAM_SIGN_MALFORMED},
      {"{\"Statement\":[{\"Resource\":\"https://h.example/*\",\"Condition\":{}}]}",
       STREAM_SIGN_MALFORMED},
      {"{\"Statement\":[{\"Resource\":\"https://h.example/*\",\"Condition\":{\"DateLessThan\":{"
       "\"AWS:EpochTime\":\"2000000000\"}}}]}",
       STREAM_SIGN_MALFORMED},
      {"{\"Statement\":[{\"Resource\":\"https://h.example/*\",\"Condition\":{\"DateLessThan\":{"
       "\"AWS:EpochTime\":2000000000.5}}}]}",
       STREAM_SIGN_MALFORMED},
      {"{\"Statement\":[{\"Resource\":\"https://h.example/*\",\"Condition\":{\"DateLessThan\":{"
       "\"AWS:EpochTime\":2000000000},\"StringLike\":{\"x\":\"y\"}}}]}",
       STREAM_SIGN_MALFORMED},
      {"{\"Statement\":[{\"Resource\":\"https://h.example/*\",\"Condition\":{\"DateLessThan\":{"
       "\"AWS:EpochTime\":2000000000},\"IpAddress\":{\"AWS:SourceIp\":\"2001:db8::/32\"}}}]}",
       STREAM_SIGN_MALFORMED},
      {"{\"Statement\":[{\"Resource\":\"https://other.example/*\",\"Condition\":{\"DateLessThan\":{"
       "\"AWS:EpochTime\":2000000000}}}]}",
       STREAM_SIGN_OUTSIDE_PREFIX},
      {"{\"Statement\":[{\"Resource\":\"https://h.example/*\",\"Condition\":{\"DateLessThan\":{"
       "\"AWS:EpochTime\":2000000000}}}]} trailing",
       STREAM_SIGN_MALFORMED},
      {"[1,2,3]", STREAM_SIGN_MALFORMED},
      /* a member given twice: the second Condition, a second DateGreaterThan after a 0 one */
      {"{\"Statement\":[{\"Resource\":\"https://h.example/*\",\"Condition\":{\"DateLessThan\":{"
       "\"AWS:EpochTime\":2000000000}},\"Condition\":{\"DateLessThan\":{\"AWS:EpochTime\":"
       "2000000000}}}]}",
       STREAM_SIGN_MALFORMED},
      {"{\"Statement\":[{\"Resource\":\"https://h.example/*\",\"Condition\":{\"DateLessThan\":{"
       "\"AWS:EpochTime\":2000000000},\"DateGreaterThan\":{\"AWS:EpochTime\":0},"
       "\"DateGreaterThan\":{\"AWS:EpochTime\":1900000000}}}]}",
       STREAM_SIGN_MALFORMED},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *u = url_with_policy(base, cases[i].policy, PEM_RSA_PKCS8);
    stream_cloudfront_verification v;
    int rc = verify_url(&v, r, u, "192.0.2.1", 1);
    ck_assert_msg(v.reason == cases[i].reason, "case %zu: reason %d, want %d (%s)", i, v.reason,
                  cases[i].reason, stream_error_last() ? stream_error_last()->message : "");
    ck_assert_int_eq(rc == STREAM_OK, cases[i].reason == STREAM_SIGN_VALID);
    free(u);
  }
  stream_keyring_free(r);
  stream_key_free(k);
}
END_TEST

/* ---- garbage -------------------------------------------------------------------- */

START_TEST(test_truncated_and_random_input)
{
  stream_key *k = key_pem(STREAM_KEY_RSA_PRIVATE, PEM_RSA_PKCS1);
  stream_keyring *r = ring1(k);
  stream_cloudfront_sign_options o = opts_at(2000000000);
  o.starts = 1;
  o.ip = "0.0.0.0/0";
  char *url = NULL, *c = NULL;
  ck_assert_int_eq(stream_cloudfront_sign_url(&url, k, "https://h.example/a?b=1", &o), STREAM_OK);
  ck_assert_int_eq(stream_cloudfront_sign_cookies(&c, k, "https://h.example/*", &o), STREAM_OK);
  stream_cloudfront_verification v;
  ck_assert_int_eq(verify_url(&v, r, url, "192.0.2.1", 2), STREAM_OK);
  ck_assert_int_eq(verify_cookies(&v, r, c, "https://h.example/x", "192.0.2.1", 2), STREAM_OK);
  for (size_t n = 1; n < strlen(url); n++) {
    char *t = strndup(url, n);
    ck_assert_int_ne(verify_url(&v, r, t, "192.0.2.1", 2), STREAM_OK);
    ck_assert_int_ne(v.reason, STREAM_SIGN_VALID);
    free(t);
  }
  for (size_t n = 0; n < strlen(c) - 1; n++) {
    char *t = strndup(c, n);
    ck_assert_int_ne(verify_cookies(&v, r, t, "https://h.example/x", "192.0.2.1", 2), STREAM_OK);
    free(t);
  }
  srand(7);
  for (int i = 0; i < 2000; i++) {
    char t[300];
    size_t n = (size_t)(rand() % 299);
    for (size_t j = 0; j < n; j++)
      t[j] = (char)(1 + rand() % 255);
    t[n] = '\0';
    char u[400];
    snprintf(u, sizeof u, "https://h.example/a?%s", t);
    ck_assert_int_ne(verify_url(&v, r, u, NULL, 2), STREAM_OK);
    ck_assert_int_ne(verify_cookies(&v, r, t, "https://h.example/x", NULL, 2), STREAM_OK);
    snprintf(u, sizeof u, "https://h.example/a?Expires=1&Key-Pair-Id=" KID "&Signature=%s", t);
    ck_assert_int_ne(verify_url(&v, r, u, NULL, 2), STREAM_OK);
    snprintf(u, sizeof u, "https://h.example/a?Policy=%s&Key-Pair-Id=" KID "&Signature=abcd", t);
    ck_assert_int_ne(verify_url(&v, r, u, NULL, 2), STREAM_OK);
  }
  stream_free(url);
  stream_free(c);
  stream_keyring_free(r);
  stream_key_free(k);
}
END_TEST

START_TEST(test_argument_validation)
{
  stream_key *k = key_pem(STREAM_KEY_EC_PRIVATE, PEM_EC_SEC1);
  stream_keyring *r = ring1(k);
  stream_cloudfront_sign_options o = opts_at(2000000000);
  char *out = (char *)1;
  ck_assert_int_eq(stream_cloudfront_sign_url(NULL, k, "https://h/a", &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudfront_sign_url(&out, NULL, "https://h/a", &o), STREAM_EINVAL);
  ck_assert_ptr_null(out);
  ck_assert_int_eq(stream_cloudfront_sign_url(&out, k, NULL, &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudfront_sign_url(&out, k, "", &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudfront_sign_url(&out, k, "https://h/a", NULL), STREAM_EINVAL);
  const char *bad_urls[] = {"ftp://h/a",
                            "https://h/a#frag",
                            "https://h/a b",
                            "https:///a",
                            "https://h/a?",
                            "https://h/a?x=1&",
                            "https://h/a?Expires=1",
                            "https://h/a?x=1&Policy=p",
                            "https://h/a?Signature",
                            "https://h/a?Key-Pair-Id=K",
                            "https://h/a?Hash-Algorithm=SHA256",
                            "https://h/\xc3\xa9"};
  for (size_t i = 0; i < sizeof bad_urls / sizeof *bad_urls; i++) {
    ck_assert_msg(stream_cloudfront_sign_url(&out, k, bad_urls[i], &o) == STREAM_EINVAL,
                  "accepted %s", bad_urls[i]);
    ck_assert_ptr_null(out);
  }
  ck_assert_int_eq(stream_cloudfront_sign_url(&out, k, "https://h/a?Expires=1", &o), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "Expires"));
  char *big = malloc(STREAM_CLOUDFRONT_TEXT_MAX + 20);
  strcpy(big, "https://h/");
  memset(big + 10, 'a', STREAM_CLOUDFRONT_TEXT_MAX);
  big[STREAM_CLOUDFRONT_TEXT_MAX + 10] = '\0';
  ck_assert_int_eq(stream_cloudfront_sign_url(&out, k, big, &o), STREAM_ERANGE);
  ck_assert_int_eq(stream_cloudfront_sign_cookies(&out, k, big, &o), STREAM_ERANGE);
  stream_cloudfront_verification v;
  ck_assert_int_eq(verify_url(&v, r, big, NULL, 1), STREAM_ERANGE);
  free(big);
  /* options */
  stream_cloudfront_sign_options bad = o;
  bad.version = 99;
  ck_assert_int_eq(stream_cloudfront_sign_url(&out, k, "https://h/a", &bad), STREAM_EINVAL);
  bad = opts_at(0);
  ck_assert_int_eq(stream_cloudfront_sign_url(&out, k, "https://h/a", &bad), STREAM_EINVAL);
  bad.ttl = 60;
  ck_assert_int_eq(stream_cloudfront_sign_url(&out, k, "https://h/a", &bad), STREAM_OK);
  stream_free(out);
  bad = opts_at(-5);
  ck_assert_int_eq(stream_cloudfront_sign_url(&out, k, "https://h/a", &bad), STREAM_EINVAL);
  bad = opts_at(100);
  bad.starts = 100;
  ck_assert_int_eq(stream_cloudfront_sign_url(&out, k, "https://h/a", &bad), STREAM_EINVAL);
  bad = opts_at(100);
  bad.hash = 3;
  ck_assert_int_eq(stream_cloudfront_sign_url(&out, k, "https://h/a", &bad), STREAM_EINVAL);
  bad = opts_at(100);
  bad.resource = "https://h/\"*";
  ck_assert_int_eq(stream_cloudfront_sign_url(&out, k, "https://h/a", &bad), STREAM_EINVAL);
  bad.resource = "https://h/*";
  ck_assert_int_eq(stream_cloudfront_sign_cookies(&out, k, "https://h/*", &bad), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudfront_sign_cookies(&out, k, NULL, &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudfront_sign_cookies(&out, k, "", &o), STREAM_EINVAL);
  /* verification arguments */
  stream_cloudfront_request q = req_at("https://h/a?Expires=1&Key-Pair-Id=K&Signature=AA__", 1);
  ck_assert_int_eq(stream_cloudfront_verify_url(NULL, r, &q), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudfront_verify_url(&v, NULL, &q), STREAM_EINVAL);
  ck_assert_int_eq(v.reason, STREAM_SIGN_MALFORMED);
  ck_assert_int_eq(stream_cloudfront_verify_url(&v, r, NULL), STREAM_EINVAL);
  q.version = 2;
  ck_assert_int_eq(stream_cloudfront_verify_url(&v, r, &q), STREAM_EINVAL);
  q = req_at(NULL, 1);
  ck_assert_int_eq(stream_cloudfront_verify_url(&v, r, &q), STREAM_EINVAL);
  q = req_at("https://h/a", -1);
  ck_assert_int_eq(stream_cloudfront_verify_url(&v, r, &q), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudfront_verify_cookies(&v, r, "x", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_cloudfront_verify_cookies(&v, r, NULL, &q), STREAM_EINVAL);
  stream_keyring_free(r);
  stream_key_free(k);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("sign-cloudfront");
  TCase *tc = tcase_create("cloudfront");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_aws_escape_vector);
  tcase_add_test(tc, test_canned_policy_vector);
  tcase_add_test(tc, test_custom_policy_json_order);
  tcase_add_test(tc, test_round_trips);
  tcase_add_test(tc, test_generated_keys_round_trip);
  tcase_add_test(tc, test_every_byte_flip_fails);
  tcase_add_test(tc, test_expiry_and_not_before);
  tcase_add_test(tc, test_ip_binding);
  tcase_add_test(tc, test_wildcard_resources);
  tcase_add_test(tc, test_wrong_keys);
  tcase_add_test(tc, test_parameter_placement_and_cookie_forms);
  tcase_add_test(tc, test_policies_with_unexpected_contents);
  tcase_add_test(tc, test_truncated_and_random_input);
  tcase_add_test(tc, test_argument_validation);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
