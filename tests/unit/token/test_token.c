/*
 * Unit tests for the token module (public API through the shared library):
 * RFC 7515 A.1 and RFC 8037 A.4/A.5 vectors byte for byte, JWT round trips
 * through key rings with rotation, every rejection rule, leeway edges, and
 * truncated / bit-flipped / random tokens. Tokens with hostile headers are
 * forged with OpenSSL directly (HMAC over our own base64url), so that each
 * rejection is proven to come from the rule under test, not a bad signature.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "stream/token.h"

/* RFC 7515 A.1 */
static const char a1_key[] =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";
static const char a1_header[] = "{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}";
static const char a1_payload[] =
    "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}";
static const char a1_jws[] = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
                             "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlL"
                             "mNvbS9pc19yb290Ijp0cnVlfQ."
                             "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/* RFC 8037 A.1, A.2, A.4 */
static const char ed_d[] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
static const char ed_x[] = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
static const char a4_jws[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

#define NOW 1700000000LL

static stream_key *hkey(const char *id)
{
  stream_key *k = NULL;
  ck_assert_int_eq(stream_key_from_text(&k, STREAM_KEY_HMAC, id, a1_key), STREAM_OK);
  return k;
}

static stream_key *edkey(const char *id, int pub)
{
  stream_key *k = NULL;
  ck_assert_int_eq(
      stream_key_from_text(&k, pub ? STREAM_KEY_ED25519_PUBLIC : STREAM_KEY_ED25519_PRIVATE, id,
                           pub ? ed_x : ed_d),
      STREAM_OK);
  return k;
}

static stream_keyring *ring_with(stream_key *a, stream_key *b)
{
  stream_keyring *r = NULL;
  ck_assert_int_eq(stream_keyring_new(&r), STREAM_OK);
  if (a)
    ck_assert_int_eq(stream_keyring_add(r, a), STREAM_OK);
  if (b)
    ck_assert_int_eq(stream_keyring_add(r, b), STREAM_OK);
  return r;
}

static char *b64u(const void *data, size_t n)
{
  char *s = NULL;
  ck_assert_int_eq(stream_base64_encode(&s, NULL, data, n, STREAM_B64_URL | STREAM_B64_NOPAD),
                   STREAM_OK);
  return s;
}

/* An HS256 JWS over arbitrary header and payload text, computed with OpenSSL
 * and the given secret: independent of the code under test. */
static char *forge_hs256_key(const char *header, const char *payload, const void *secret,
                             size_t secret_len)
{
  char *h = b64u(header, strlen(header)), *p = b64u(payload, strlen(payload));
  size_t n = strlen(h) + 1 + strlen(p);
  char *input = malloc(n + 1);
  snprintf(input, n + 1, "%s.%s", h, p);
  unsigned char mac[32];
  size_t maclen = 0;
  ck_assert_ptr_nonnull(EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, secret, secret_len,
                                  (const unsigned char *)input, n, mac, sizeof mac, &maclen));
  ck_assert_uint_eq(maclen, 32);
  char *s = b64u(mac, 32);
  char *out = malloc(n + 1 + strlen(s) + 1);
  sprintf(out, "%s.%s", input, s);
  free(input);
  stream_free(h);
  stream_free(p);
  stream_free(s);
  return out;
}

static char *forge_hs256(const char *header, const char *payload)
{
  unsigned char *k = NULL;
  size_t klen = 0;
  ck_assert_int_eq(stream_base64_decode(&k, &klen, a1_key, strlen(a1_key), STREAM_B64_URL),
                   STREAM_OK);
  char *out = forge_hs256_key(header, payload, k, klen);
  stream_free(k);
  return out;
}

static stream_token_verify_options vopts(int64_t now)
{
  stream_token_verify_options o = STREAM_TOKEN_VERIFY_OPTIONS_INIT;
  o.now = now;
  return o;
}

/* Verify through the ring, asserting a failure leaves no output behind. */
static int verify(stream_keyring *r, const char *tok, const stream_token_verify_options *o)
{
  char *claims = (char *)1;
  stream_token_claims c;
  memset(&c, 0x5a, sizeof c);
  int rc = stream_token_verify(&claims, &c, r, tok, o);
  if (rc != STREAM_OK) {
    ck_assert_ptr_null(claims);
    ck_assert_int_eq(c.has_exp, 0);
    ck_assert_str_eq(c.sub, "");
    ck_assert_ptr_nonnull(stream_error_last());
    ck_assert_int_eq(stream_error_last()->code, rc);
    ck_assert(strlen(stream_error_last()->message) > 0);
  } else {
    ck_assert_ptr_nonnull(claims);
  }
  stream_free(claims);
  return rc;
}

static int msg_has(const char *needle)
{
  return stream_error_last() && strstr(stream_error_last()->message, needle) != NULL;
}

/* ---- vectors --------------------------------------------------------------- */

START_TEST(test_rfc7515_a1_hs256)
{
  stream_key *k = hkey("a1");
  char *jws = NULL;
  ck_assert_int_eq(
      stream_jws_sign(&jws, k, a1_header, strlen(a1_header), a1_payload, strlen(a1_payload)),
      STREAM_OK);
  ck_assert_str_eq(jws, a1_jws);
  stream_free(jws);

  unsigned char *pl = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_jws_verify(&pl, &n, k, a1_jws, NULL), STREAM_OK);
  ck_assert_uint_eq(n, strlen(a1_payload));
  ck_assert_mem_eq(pl, a1_payload, n);
  ck_assert_int_eq(pl[n], 0);
  stream_free(pl);

  /* Through a ring the vector has no kid, so no key can be chosen. */
  stream_keyring *r = ring_with(k, NULL);
  stream_token_verify_options o = vopts(1300819000);
  ck_assert_int_eq(verify(r, a1_jws, &o), STREAM_EAUTH);
  ck_assert(msg_has("kid"));
  stream_keyring_free(r);
  stream_key_free(k);
}
END_TEST

START_TEST(test_rfc7797_b64_and_detached_vector)
{
  stream_key *k = hkey("a1");
  char *jws = NULL;
  /* RFC 7797 §4.2 with b64=true: the signature part of the detached example. */
  ck_assert_int_eq(stream_jws_sign(&jws, k, "{\"alg\":\"HS256\"}", 15, "$.02", 4), STREAM_OK);
  ck_assert_str_eq(jws, "eyJhbGciOiJIUzI1NiJ9.JC4wMg.5mvfOroL-g7HyqJoozehmsaqmvTYGEq5jTI1gVvoEoQ");
  stream_free(jws);
  /* §4.1 unencoded payload: refused when signing and verifying. */
  const char *h = "{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}";
  ck_assert_int_eq(stream_jws_sign(&jws, k, h, strlen(h), "$.02", 4), STREAM_ENOTSUP);
  ck_assert_ptr_null(jws);
  unsigned char *pl = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_jws_verify(&pl, &n, k,
                                     "eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19.."
                                     "A5dxf2s96_n5FLueVuW1Z_vh161FwXZC4YLPff6dmDY",
                                     NULL),
                   STREAM_ENOTSUP);
  ck_assert_ptr_null(pl);
  /* The detached form is an empty payload to us: the signature cannot match. */
  ck_assert_int_eq(
      stream_jws_verify(&pl, &n, k,
                        "eyJhbGciOiJIUzI1NiJ9..5mvfOroL-g7HyqJoozehmsaqmvTYGEq5jTI1gVvoEoQ", NULL),
      STREAM_EAUTH);
  stream_key_free(k);
}
END_TEST

START_TEST(test_rfc8037_a4_a5_eddsa)
{
  stream_key *k = edkey("ed", 0), *p = edkey("ed", 1);
  const char *h = "{\"alg\":\"EdDSA\"}", *m = "Example of Ed25519 signing";
  char *jws = NULL;
  ck_assert_int_eq(stream_jws_sign(&jws, k, h, strlen(h), m, strlen(m)), STREAM_OK);
  ck_assert_str_eq(jws, a4_jws);
  stream_free(jws);
  /* A.5: verify with the public key (and with the private key). */
  unsigned char *pl = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_jws_verify(&pl, &n, p, a4_jws, NULL), STREAM_OK);
  ck_assert_uint_eq(n, strlen(m));
  ck_assert_mem_eq(pl, m, n);
  stream_free(pl);
  ck_assert_int_eq(stream_jws_verify(&pl, &n, k, a4_jws, NULL), STREAM_OK);
  stream_free(pl);
  /* A public key cannot sign. */
  ck_assert_int_eq(stream_jws_sign(&jws, p, h, strlen(h), m, strlen(m)), STREAM_EINVAL);
  /* Another Ed25519 key rejects the signature. */
  stream_key *other = NULL;
  ck_assert_int_eq(stream_key_generate(&other, STREAM_KEY_ED25519_PRIVATE, "ed", 0), STREAM_OK);
  ck_assert_int_eq(stream_jws_verify(&pl, &n, other, a4_jws, NULL), STREAM_EAUTH);
  ck_assert_ptr_null(pl);
  ck_assert_uint_eq(n, 0);
  stream_key_free(other);
  stream_key_free(p);
  stream_key_free(k);
}
END_TEST

START_TEST(test_jws_arguments)
{
  stream_key *k = hkey("hs"), *ed = edkey("ed", 0);
  char *jws = NULL;
  unsigned char *pl = NULL;
  size_t n = 0;
  const char *h = "{\"alg\":\"HS256\"}";
  ck_assert_int_eq(stream_jws_sign(NULL, k, h, 15, "x", 1), STREAM_EINVAL);
  ck_assert_int_eq(stream_jws_sign(&jws, NULL, h, 15, "x", 1), STREAM_EINVAL);
  ck_assert_int_eq(stream_jws_sign(&jws, k, NULL, 15, "x", 1), STREAM_EINVAL);
  ck_assert_int_eq(stream_jws_sign(&jws, k, h, 0, "x", 1), STREAM_EINVAL);
  ck_assert_int_eq(stream_jws_sign(&jws, k, h, 15, NULL, 1), STREAM_EINVAL);
  ck_assert_int_eq(stream_jws_sign(&jws, k, h, 15, "x", (size_t)2 << 20), STREAM_ERANGE);
  /* Empty payload is allowed. */
  ck_assert_int_eq(stream_jws_sign(&jws, k, h, 15, NULL, 0), STREAM_OK);
  ck_assert_int_eq(stream_jws_verify(&pl, &n, k, jws, NULL), STREAM_OK);
  ck_assert_uint_eq(n, 0);
  stream_free(pl);
  stream_free(jws);
  /* Header alg must be the key's. */
  ck_assert_int_eq(stream_jws_sign(&jws, ed, h, 15, "x", 1), STREAM_EAUTH);
  ck_assert_int_eq(stream_jws_sign(&jws, k, "{\"alg\":\"EdDSA\"}", 15, "x", 1), STREAM_EAUTH);
  ck_assert_int_eq(stream_jws_sign(&jws, k, "{\"alg\":\"none\"}", 14, "x", 1), STREAM_EAUTH);
  ck_assert_int_eq(stream_jws_sign(&jws, k, "{\"alg\":\"HS256\",\"alg\":\"HS256\"}", 29, "x", 1),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_jws_sign(&jws, k, "{\"alg\":\"HS256\"", 14, "x", 1), STREAM_EINVAL);
  /* kid in the header must be the key's id, on both sides. */
  const char *hk = "{\"alg\":\"HS256\",\"kid\":\"other\"}";
  ck_assert_int_eq(stream_jws_sign(&jws, k, hk, strlen(hk), "x", 1), STREAM_EINVAL);
  char *forged = forge_hs256(hk, "x");
  ck_assert_int_eq(stream_jws_verify(&pl, &n, k, forged, NULL), STREAM_EAUTH);
  ck_assert(msg_has("kid"));
  free(forged);
  hk = "{\"alg\":\"HS256\",\"kid\":\"hs\"}";
  ck_assert_int_eq(stream_jws_sign(&jws, k, hk, strlen(hk), "x", 1), STREAM_OK);
  ck_assert_int_eq(stream_jws_verify(&pl, &n, k, jws, NULL), STREAM_OK);
  stream_free(pl);
  stream_free(jws);
  /* Verify arguments and options. */
  ck_assert_int_eq(stream_jws_verify(NULL, &n, k, a1_jws, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_jws_verify(&pl, NULL, k, a1_jws, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_jws_verify(&pl, &n, NULL, a1_jws, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_jws_verify(&pl, &n, k, NULL, NULL), STREAM_EINVAL);
  stream_jws_options o = STREAM_JWS_OPTIONS_INIT;
  o.version = 2;
  ck_assert_int_eq(stream_jws_verify(&pl, &n, k, a1_jws, &o), STREAM_EINVAL);
  o.version = STREAM_JWS_OPTIONS_VERSION;
  o.max_size = 100; /* a1_jws is 170 bytes */
  ck_assert_int_eq(stream_jws_verify(&pl, &n, k, a1_jws, &o), STREAM_ERANGE);
  o.max_size = strlen(a1_jws);
  ck_assert_int_eq(stream_jws_verify(&pl, &n, k, a1_jws, &o), STREAM_OK);
  stream_free(pl);
  o.max_size = STREAM_TOKEN_SIZE_MAX + 1;
  ck_assert_int_eq(stream_jws_verify(&pl, &n, k, a1_jws, &o), STREAM_EINVAL);
  /* A 16-byte HMAC key is too short for HS256 (RFC 7518 §3.2). */
  stream_key *shortk = NULL;
  ck_assert_int_eq(stream_key_from_text(&shortk, STREAM_KEY_HMAC, "s", "nZtRohdNF9m3cKM24IcK4w"),
                   STREAM_OK);
  ck_assert_int_eq(stream_jws_sign(&jws, shortk, h, 15, "x", 1), STREAM_EINVAL);
  ck_assert_int_eq(stream_jws_verify(&pl, &n, shortk, a1_jws, NULL), STREAM_EINVAL);
  stream_key_free(shortk);
  stream_key_free(ed);
  stream_key_free(k);
}
END_TEST

/* ---- JWT round trips -------------------------------------------------------- */

START_TEST(test_issue_verify_exact_claims)
{
  stream_key *k = hkey("hs1");
  stream_keyring *r = ring_with(k, NULL);
  stream_token_issue_options io = STREAM_TOKEN_ISSUE_OPTIONS_INIT;
  io.now = NOW;
  io.iss = "auth.example";
  io.sub = "acct-42";
  io.aud = "api";
  io.jti = 0;
  char *tok = NULL;
  ck_assert_int_eq(stream_token_issue(&tok, r, NULL, "{\"pid\":\"p1\",\"scope\":\"play\"}", &io),
                   STREAM_OK);
  /* Header and claims, exactly. */
  char *h = b64u("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"hs1\"}", 39);
  const char *want =
      "{\"iss\":\"auth.example\",\"sub\":\"acct-42\",\"aud\":\"api\",\"iat\":1700000000,"
      "\"exp\":1700000900,\"pid\":\"p1\",\"scope\":\"play\"}";
  char *p = b64u(want, strlen(want));
  ck_assert(strncmp(tok, h, strlen(h)) == 0);
  ck_assert(strncmp(tok + strlen(h) + 1, p, strlen(p)) == 0);
  /* The same bytes signed independently give the same token. */
  char *forged = forge_hs256("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"hs1\"}", want);
  ck_assert_str_eq(tok, forged);
  free(forged);
  stream_free(h);
  stream_free(p);

  stream_token_verify_options vo = vopts(NOW + 10);
  vo.iss = "auth.example";
  vo.aud = "api";
  char *claims = NULL;
  stream_token_claims c;
  ck_assert_int_eq(stream_token_verify(&claims, &c, r, tok, &vo), STREAM_OK);
  ck_assert_str_eq(claims, want);
  ck_assert_str_eq(c.sub, "acct-42");
  ck_assert_str_eq(c.iss, "auth.example");
  ck_assert_str_eq(c.aud, "api");
  ck_assert_str_eq(c.jti, "");
  ck_assert_str_eq(c.kid, "hs1");
  ck_assert_int_eq(c.exp, NOW + 900);
  ck_assert_int_eq(c.iat, NOW);
  ck_assert_int_eq(c.nbf, 0);
  ck_assert_int_eq(c.has_exp, 1);
  ck_assert_int_eq(c.has_iat, 1);
  ck_assert_int_eq(c.has_nbf, 0);
  stream_free(claims);
  /* Both outputs are optional. */
  ck_assert_int_eq(stream_token_verify(NULL, NULL, r, tok, &vo), STREAM_OK);
  stream_free(tok);

  /* Random jti by default: 16 bytes -> 22 base64url characters, distinct. */
  io.jti = 1;
  char *t1 = NULL, *t2 = NULL;
  stream_token_claims c1, c2;
  ck_assert_int_eq(stream_token_issue(&t1, r, "hs1", NULL, &io), STREAM_OK);
  ck_assert_int_eq(stream_token_issue(&t2, r, "hs1", NULL, &io), STREAM_OK);
  ck_assert_int_eq(stream_token_verify(NULL, &c1, r, t1, &vo), STREAM_OK);
  ck_assert_int_eq(stream_token_verify(NULL, &c2, r, t2, &vo), STREAM_OK);
  ck_assert_uint_eq(strlen(c1.jti), 22);
  ck_assert_str_ne(c1.jti, c2.jti);
  ck_assert_str_ne(t1, t2);
  stream_free(t1);
  stream_free(t2);

  /* Absolute exp, nbf, custom typ, registered claims from claims_json. */
  io.ttl = 0;
  io.exp = NOW + 60;
  io.nbf = NOW - 5;
  io.typ = "at+jwt";
  io.iss = NULL;
  io.aud = NULL;
  ck_assert_int_eq(
      stream_token_issue(&t1, r, NULL, "{\"iss\":\"x\",\"aud\":[\"a\",\"b\"],\"jti\":\"j1\"}", &io),
      STREAM_OK);
  vo.iss = "x";
  vo.aud = "b";
  ck_assert_int_eq(stream_token_verify(NULL, &c, r, t1, &vo), STREAM_EFORBIDDEN); /* typ */
  vo.typ = "AT+JWT";
  ck_assert_int_eq(stream_token_verify(NULL, &c, r, t1, &vo), STREAM_OK);
  ck_assert_str_eq(c.jti, "j1");
  ck_assert_str_eq(c.aud, "b");
  ck_assert_int_eq(c.exp, NOW + 60);
  ck_assert_int_eq(c.nbf, NOW - 5);
  ck_assert_int_eq(c.has_nbf, 1);
  stream_free(t1);
  stream_keyring_free(r);
  stream_key_free(k);
}
END_TEST

START_TEST(test_rotation_mixed_ring)
{
  stream_key *h1 = hkey("h1"), *ed = edkey("ed1", 0), *edpub = edkey("ed1", 1);
  stream_key *h2 = NULL;
  ck_assert_int_eq(stream_key_generate(&h2, STREAM_KEY_HMAC, "h2", 32), STREAM_OK);
  stream_keyring *r = ring_with(h1, ed);
  stream_token_issue_options io = STREAM_TOKEN_ISSUE_OPTIONS_INIT;
  io.now = NOW;
  io.sub = "acct-1";
  char *t_h1 = NULL, *t_ed = NULL, *t_h2 = NULL;
  ck_assert_int_eq(stream_token_issue(&t_h1, r, NULL, NULL, &io), STREAM_OK); /* primary h1 */
  ck_assert_int_eq(stream_token_issue(&t_ed, r, "ed1", NULL, &io), STREAM_OK);
  /* Rotate: add h2, make it primary. */
  ck_assert_int_eq(stream_keyring_add(r, h2), STREAM_OK);
  ck_assert_int_eq(stream_keyring_set_primary(r, "h2"), STREAM_OK);
  ck_assert_int_eq(stream_token_issue(&t_h2, r, NULL, NULL, &io), STREAM_OK);
  stream_token_verify_options vo = vopts(NOW);
  stream_token_claims c;
  ck_assert_int_eq(stream_token_verify(NULL, &c, r, t_h1, &vo), STREAM_OK);
  ck_assert_str_eq(c.kid, "h1");
  ck_assert_int_eq(stream_token_verify(NULL, &c, r, t_ed, &vo), STREAM_OK);
  ck_assert_str_eq(c.kid, "ed1");
  ck_assert_str_eq(c.sub, "acct-1");
  ck_assert_int_eq(stream_token_verify(NULL, &c, r, t_h2, &vo), STREAM_OK);
  ck_assert_str_eq(c.kid, "h2");
  /* Retire h1: its tokens stop verifying, the others keep working. */
  ck_assert_int_eq(stream_keyring_remove(r, "h1"), STREAM_OK);
  ck_assert_int_eq(verify(r, t_h1, &vo), STREAM_EAUTH);
  ck_assert(msg_has("h1"));
  ck_assert_int_eq(verify(r, t_h2, &vo), STREAM_OK);
  /* A verifier holding only the public key accepts the EdDSA token. */
  stream_keyring *pub = ring_with(edpub, NULL);
  ck_assert_int_eq(verify(pub, t_ed, &vo), STREAM_OK);
  ck_assert_int_eq(verify(pub, t_h2, &vo), STREAM_EAUTH);
  /* ... and cannot issue. */
  char *t = NULL;
  ck_assert_int_eq(stream_token_issue(&t, pub, NULL, NULL, &io), STREAM_EINVAL);
  ck_assert_ptr_null(t);
  /* A key with the same id but other bytes rejects the signature. */
  stream_key *h1b = NULL;
  ck_assert_int_eq(stream_key_generate(&h1b, STREAM_KEY_HMAC, "h1", 64), STREAM_OK);
  ck_assert_int_eq(stream_keyring_add(r, h1b), STREAM_OK);
  ck_assert_int_eq(verify(r, t_h1, &vo), STREAM_EAUTH);
  ck_assert(msg_has("signature"));
  stream_key_free(h1b);
  stream_free(t_h1);
  stream_free(t_ed);
  stream_free(t_h2);
  stream_keyring_free(pub);
  stream_keyring_free(r);
  stream_key_free(h1);
  stream_key_free(h2);
  stream_key_free(ed);
  stream_key_free(edpub);
}
END_TEST

/* ---- rejections -------------------------------------------------------------- */

START_TEST(test_alg_none_and_confusion)
{
  stream_key *k = hkey("hs1"), *edpub = edkey("ed1", 1);
  stream_keyring *r = ring_with(k, edpub);
  stream_token_verify_options vo = vopts(NOW);
  const char *claims = "{\"sub\":\"admin\",\"exp\":1800000000}";
  const char *nones[] = {"none", "None", "NONE", "nOnE"};
  for (size_t i = 0; i < 4; i++) {
    char hdr[80];
    snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\",\"kid\":\"hs1\"}", nones[i]);
    char *h = b64u(hdr, strlen(hdr)), *p = b64u(claims, strlen(claims));
    char tok[256];
    snprintf(tok, sizeof tok, "%s.%s.", h, p);
    ck_assert_int_eq(verify(r, tok, &vo), STREAM_EAUTH);
    ck_assert(msg_has(nones[i]));
    /* Even with a valid HMAC appended. */
    char *f = forge_hs256(hdr, claims);
    ck_assert_int_eq(verify(r, f, &vo), STREAM_EAUTH);
    free(f);
    stream_free(h);
    stream_free(p);
  }
  /* HS256 signed with the Ed25519 public key bytes as the secret, kid of the
   * public key: the classic confusion attack. */
  unsigned char pub[32];
  ck_assert_int_eq(stream_key_public_bytes(pub, edpub), STREAM_OK);
  char *f = forge_hs256_key("{\"alg\":\"HS256\",\"kid\":\"ed1\"}", claims, pub, 32);
  ck_assert_int_eq(verify(r, f, &vo), STREAM_EAUTH);
  ck_assert(msg_has("HS256"));
  free(f);
  /* EdDSA header against the HMAC key. */
  f = forge_hs256("{\"alg\":\"EdDSA\",\"kid\":\"hs1\"}", claims);
  ck_assert_int_eq(verify(r, f, &vo), STREAM_EAUTH);
  free(f);
  /* Algorithms we never accept, and case variants of ours. */
  const char *algs[] = {"RS256", "HS512", "hs256", "ES256", "", "EDDSA"};
  for (size_t i = 0; i < 6; i++) {
    char hdr[80];
    snprintf(hdr, sizeof hdr, "{\"alg\":\"%s\",\"kid\":\"hs1\"}", algs[i]);
    f = forge_hs256(hdr, claims);
    ck_assert_int_eq(verify(r, f, &vo), STREAM_EAUTH);
    free(f);
  }
  /* The control: the same claims properly signed are accepted. */
  f = forge_hs256("{\"alg\":\"HS256\",\"kid\":\"hs1\"}", claims);
  ck_assert_int_eq(verify(r, f, &vo), STREAM_OK);
  free(f);
  stream_keyring_free(r);
  stream_key_free(k);
  stream_key_free(edpub);
}
END_TEST

START_TEST(test_header_rules)
{
  stream_key *k = hkey("hs1");
  stream_keyring *r = ring_with(k, NULL);
  stream_token_verify_options vo = vopts(NOW);
  const char *claims = "{\"sub\":\"a\",\"exp\":1800000000}";
  static const struct {
    const char *header;
    int rc;
    const char *msg;
  } cases[] = {
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\"}", STREAM_OK, NULL},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\",\"typ\":\"jwt\"}", STREAM_OK, NULL},
      {" {\"alg\":\"HS256\",\"kid\":\"hs1\"}\r\n", STREAM_OK, NULL},
      {"{\"alg\":\"HS256\",\"alg\":\"HS256\",\"kid\":\"hs1\"}", STREAM_EINVAL, "duplicate"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\",\"kid\":\"hs1\"}", STREAM_EINVAL, "duplicate"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\",\"x\":{\"a\":1,\"a\":2}}", STREAM_EINVAL, "duplicate"},
      {"{\"alg\":\"HS256\",\"kid\":5}", STREAM_EINVAL, "kid"},
      {"{\"alg\":\"HS256\",\"kid\":null}", STREAM_EINVAL, "kid"},
      {"{\"alg\":\"HS256\",\"kid\":[\"hs1\"]}", STREAM_EINVAL, "kid"},
      {"{\"alg\":\"HS256\"}", STREAM_EAUTH, "kid"},
      {"{\"alg\":\"HS256\",\"kid\":\"nope\"}", STREAM_EAUTH, "nope"},
      {"{\"alg\":\"HS256\",\"kid\":\"bad id\"}", STREAM_EAUTH, "kid"},
      {"{\"alg\":\"HS256\",\"kid\":\"HS1\"}", STREAM_EAUTH, "HS1"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\\u0000x\"}", STREAM_EINVAL, "NUL"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\",\"crit\":[\"exp\"],\"exp\":1}", STREAM_ENOTSUP, "exp"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\",\"crit\":[\"x-custom\"]}", STREAM_ENOTSUP, "x-custom"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\",\"crit\":[]}", STREAM_EINVAL, "crit"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\",\"crit\":\"b64\"}", STREAM_EINVAL, "crit"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\",\"crit\":[1]}", STREAM_EINVAL, "crit"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\",\"b64\":false}", STREAM_ENOTSUP, "b64"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\",\"b64\":\"false\"}", STREAM_EINVAL, "b64"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\",\"b64\":true}", STREAM_OK, NULL},
      {"{\"kid\":\"hs1\"}", STREAM_EINVAL, "alg"},
      {"{\"alg\":256,\"kid\":\"hs1\"}", STREAM_EINVAL, "alg"},
      {"{\"ALG\":\"HS256\",\"kid\":\"hs1\"}", STREAM_EINVAL, "alg"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\",\"typ\":7}", STREAM_EINVAL, "typ"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\",\"typ\":\"JOSE\"}", STREAM_EFORBIDDEN, "JOSE"},
      {"[\"alg\",\"HS256\"]", STREAM_EINVAL, "object"},
      {"\"HS256\"", STREAM_EINVAL, "object"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\"}x", STREAM_EINVAL, "after"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\"}{}", STREAM_EINVAL, "after"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\"", STREAM_EINVAL, "JSON"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\",\"x\":\"\xff\"}", STREAM_EINVAL, "UTF-8"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\",\"x\":\"\xc0\xaf\"}", STREAM_EINVAL, "UTF-8"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\",\"x\":\"\xed\xa0\x80\"}", STREAM_EINVAL, "UTF-8"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\",\"x\":\"\x01\"}", STREAM_EINVAL, "control"},
      {"{\"alg\":\"HS256\",\"kid\":\"hs1\",\"x\":\"\xc3\xa9\\\\u0000\"}", STREAM_OK, NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *f = forge_hs256(cases[i].header, claims);
    int rc = verify(r, f, &vo);
    if (rc != cases[i].rc)
      ck_abort_msg("case %zu (%s): got %d, want %d (%s)", i, cases[i].header, rc, cases[i].rc,
                   stream_error_last() ? stream_error_last()->message : "");
    if (cases[i].msg && !msg_has(cases[i].msg))
      ck_abort_msg("case %zu: message '%s' lacks '%s'", i, stream_error_last()->message,
                   cases[i].msg);
    free(f);
  }
  stream_keyring_free(r);
  stream_key_free(k);
}
END_TEST

START_TEST(test_claims_rules)
{
  stream_key *k = hkey("hs1");
  stream_keyring *r = ring_with(k, NULL);
  stream_token_verify_options vo = vopts(NOW);
  const char *hdr = "{\"alg\":\"HS256\",\"kid\":\"hs1\"}";
  char long_sub[400];
  memset(long_sub, 'a', sizeof long_sub);
  memcpy(long_sub, "{\"exp\":1800000000,\"sub\":\"", 25);
  memcpy(long_sub + 25 + 256, "\"}", 3);
  const struct {
    const char *claims;
    int rc;
    const char *msg;
  } cases[] = {
      {"{\"exp\":1800000000}", STREAM_OK, NULL},
      {"{\"exp\":1800000000.9}", STREAM_OK, NULL},
      {"{\"exp\":1800000000,\"sub\":\"a\",\"sub\":\"admin\"}", STREAM_EINVAL, "duplicate"},
      {"{\"exp\":1800000000,\"sub\":\"admin\\u0000x\"}", STREAM_EINVAL, "NUL"},
      {"{\"exp\":1800000000,\"sub\":\"admin\\U0000x\"}", STREAM_EINVAL, "JSON"},
      {"{\"exp\":\"1800000000\"}", STREAM_EINVAL, "exp"},
      {"{\"exp\":1e400}", STREAM_EINVAL, "exp"},
      {"{\"exp\":1e300}", STREAM_EINVAL, "exp"},
      {"{\"exp\":1800000000,\"nbf\":true}", STREAM_EINVAL, "nbf"},
      {"{\"exp\":1800000000,\"iat\":null}", STREAM_EINVAL, "iat"},
      {"{\"exp\":1800000000,\"sub\":42}", STREAM_EINVAL, "sub"},
      {"{\"exp\":1800000000,\"iss\":{}}", STREAM_EINVAL, "iss"},
      {"{\"exp\":1800000000,\"jti\":[]}", STREAM_EINVAL, "jti"},
      {"{\"exp\":1800000000,\"aud\":5}", STREAM_EINVAL, "aud"},
      {"{\"exp\":1800000000,\"aud\":[\"a\",5]}", STREAM_EINVAL, "aud"},
      {"{\"exp\":1800000000,\"aud\":\"api\"}", STREAM_EFORBIDDEN, "aud"},
      {"{\"sub\":\"a\"}", STREAM_EINVAL, "exp"},
      {"[]", STREAM_EINVAL, "object"},
      {"", STREAM_EINVAL, "JSON"},
      {"{\"exp\":1800000000} ", STREAM_OK, NULL},
      {"{\"exp\":1800000000}]", STREAM_EINVAL, "after"},
      {long_sub, STREAM_ERANGE, "sub"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *f = forge_hs256(hdr, cases[i].claims);
    int rc = verify(r, f, &vo);
    if (rc != cases[i].rc)
      ck_abort_msg("case %zu (%.60s): got %d, want %d (%s)", i, cases[i].claims, rc, cases[i].rc,
                   stream_error_last() ? stream_error_last()->message : "");
    if (cases[i].msg && !msg_has(cases[i].msg))
      ck_abort_msg("case %zu: message '%s' lacks '%s'", i, stream_error_last()->message,
                   cases[i].msg);
    free(f);
  }
  /* exp optional when the caller says so. */
  char *f = forge_hs256(hdr, "{\"sub\":\"a\"}");
  vo.require_exp = 0;
  ck_assert_int_eq(verify(r, f, &vo), STREAM_OK);
  free(f);
  stream_keyring_free(r);
  stream_key_free(k);
}
END_TEST

START_TEST(test_leeway_edges)
{
  stream_key *k = hkey("hs1");
  stream_keyring *r = ring_with(k, NULL);
  stream_token_issue_options io = STREAM_TOKEN_ISSUE_OPTIONS_INIT;
  io.now = NOW;
  io.ttl = 300;
  io.nbf = NOW + 100;
  char *t = NULL;
  ck_assert_int_eq(stream_token_issue(&t, r, NULL, NULL, &io), STREAM_OK);
  const int64_t exp = NOW + 300, nbf = NOW + 100;
  stream_token_verify_options vo = vopts(exp - 1);
  ck_assert_int_eq(verify(r, t, &vo), STREAM_OK);
  vo.now = exp; /* exactly at exp: expired (RFC 7519 §4.1.4: "on or after") */
  ck_assert_int_eq(verify(r, t, &vo), STREAM_EEXPIRED);
  ck_assert(msg_has("1700000300"));
  ck_assert(msg_has("expired"));
  vo.leeway = 30;
  vo.now = exp + 29;
  ck_assert_int_eq(verify(r, t, &vo), STREAM_OK);
  vo.now = exp + 30;
  ck_assert_int_eq(verify(r, t, &vo), STREAM_EEXPIRED);
  /* nbf */
  vo.leeway = 0;
  vo.now = nbf;
  ck_assert_int_eq(verify(r, t, &vo), STREAM_OK);
  vo.now = nbf - 1;
  ck_assert_int_eq(verify(r, t, &vo), STREAM_EEXPIRED);
  ck_assert(msg_has("not yet valid"));
  vo.leeway = 5;
  vo.now = nbf - 5;
  ck_assert_int_eq(verify(r, t, &vo), STREAM_OK);
  vo.now = nbf - 6;
  ck_assert_int_eq(verify(r, t, &vo), STREAM_EEXPIRED);
  stream_free(t);
  /* iat in the future */
  io.nbf = 0;
  ck_assert_int_eq(stream_token_issue(&t, r, NULL, NULL, &io), STREAM_OK);
  vo.leeway = 0;
  vo.now = NOW - 1;
  ck_assert_int_eq(verify(r, t, &vo), STREAM_EEXPIRED);
  ck_assert(msg_has("future"));
  vo.leeway = 1;
  ck_assert_int_eq(verify(r, t, &vo), STREAM_OK);
  /* Leeway bounds. */
  vo.leeway = -1;
  ck_assert_int_eq(verify(r, t, &vo), STREAM_EINVAL);
  vo.leeway = STREAM_TOKEN_LEEWAY_MAX + 1;
  ck_assert_int_eq(verify(r, t, &vo), STREAM_EINVAL);
  vo.leeway = STREAM_TOKEN_LEEWAY_MAX;
  vo.now = NOW + 300 + STREAM_TOKEN_LEEWAY_MAX - 1;
  ck_assert_int_eq(verify(r, t, &vo), STREAM_OK);
  stream_free(t);
  /* Fractional dates round to the stricter side. */
  const char *hdr = "{\"alg\":\"HS256\",\"kid\":\"hs1\"}";
  char *f = forge_hs256(hdr, "{\"exp\":1700000100.5}");
  vo = vopts(NOW + 100);
  ck_assert_int_eq(verify(r, f, &vo), STREAM_EEXPIRED);
  vo.now = NOW + 99;
  ck_assert_int_eq(verify(r, f, &vo), STREAM_OK);
  free(f);
  f = forge_hs256(hdr, "{\"exp\":1800000000,\"nbf\":1700000100.5}");
  vo.now = NOW + 100;
  ck_assert_int_eq(verify(r, f, &vo), STREAM_EEXPIRED);
  vo.now = NOW + 101;
  ck_assert_int_eq(verify(r, f, &vo), STREAM_OK);
  free(f);
  /* The real clock is used when now is 0: an old token is expired. */
  vo = vopts(0);
  f = forge_hs256(hdr, "{\"exp\":1000000000}");
  ck_assert_int_eq(verify(r, f, &vo), STREAM_EEXPIRED);
  free(f);
  stream_keyring_free(r);
  stream_key_free(k);
}
END_TEST

START_TEST(test_issuer_audience)
{
  stream_key *k = hkey("hs1");
  stream_keyring *r = ring_with(k, NULL);
  stream_token_issue_options io = STREAM_TOKEN_ISSUE_OPTIONS_INIT;
  io.now = NOW;
  io.iss = "https://auth.example";
  io.aud = "api";
  char *t = NULL;
  ck_assert_int_eq(stream_token_issue(&t, r, NULL, NULL, &io), STREAM_OK);
  stream_token_verify_options vo = vopts(NOW);
  vo.aud = "api";
  ck_assert_int_eq(verify(r, t, &vo), STREAM_OK);
  vo.iss = "https://auth.example";
  ck_assert_int_eq(verify(r, t, &vo), STREAM_OK);
  vo.iss = "https://evil.example";
  ck_assert_int_eq(verify(r, t, &vo), STREAM_EFORBIDDEN);
  ck_assert(msg_has("https://auth.example"));
  ck_assert(msg_has("https://evil.example"));
  vo.iss = NULL;
  vo.aud = "billing";
  ck_assert_int_eq(verify(r, t, &vo), STREAM_EFORBIDDEN);
  ck_assert(msg_has("billing"));
  ck_assert(msg_has("aud"));
  /* A token with an audience is refused by a verifier that names none. */
  vo.aud = NULL;
  ck_assert_int_eq(verify(r, t, &vo), STREAM_EFORBIDDEN);
  stream_free(t);
  /* A token without iss / aud is refused when they are required. */
  io.iss = NULL;
  io.aud = NULL;
  ck_assert_int_eq(stream_token_issue(&t, r, NULL, "{\"aud\":[\"web\",\"api\"]}", &io), STREAM_OK);
  vo.iss = "https://auth.example";
  vo.aud = "api";
  ck_assert_int_eq(verify(r, t, &vo), STREAM_EFORBIDDEN);
  ck_assert(msg_has("iss"));
  vo.iss = NULL;
  ck_assert_int_eq(verify(r, t, &vo), STREAM_OK);
  vo.aud = "web";
  ck_assert_int_eq(verify(r, t, &vo), STREAM_OK);
  vo.aud = "ap";
  ck_assert_int_eq(verify(r, t, &vo), STREAM_EFORBIDDEN);
  stream_free(t);
  ck_assert_int_eq(stream_token_issue(&t, r, NULL, NULL, &io), STREAM_OK);
  vo.aud = "api";
  ck_assert_int_eq(verify(r, t, &vo), STREAM_EFORBIDDEN);
  ck_assert(msg_has("no \"aud\""));
  stream_free(t);
  /* An empty "aud" array matches no audience. Issuing refuses it (no verifier
   * could accept the token), so the token is forged. */
  ck_assert_int_eq(stream_token_issue(&t, r, NULL, "{\"aud\":[]}", &io), STREAM_EINVAL);
  t = forge_hs256("{\"alg\":\"HS256\",\"kid\":\"hs1\"}", "{\"exp\":1700000900,\"aud\":[]}");
  ck_assert_int_eq(verify(r, t, &vo), STREAM_EFORBIDDEN);
  free(t);
  stream_keyring_free(r);
  stream_key_free(k);
}
END_TEST

typedef struct issue_case {
  stream_token_issue_options o;
  const char *claims;
  int rc;
  const char *msg;
} issue_case;

static issue_case icase(stream_token_issue_options o, const char *claims, int rc, const char *msg)
{
  issue_case c = {o, claims, rc, msg};
  return c;
}

/* Found by fuzz_signers: numbers the token changed (cJSON prints "%1.15g"
 * when it reads back within an epsilon) and tokens no verifier accepts. */
START_TEST(test_issue_exact_and_verifiable)
{
  stream_key *k = hkey("hs1");
  stream_keyring *r = ring_with(k, NULL);
  stream_token_issue_options io = STREAM_TOKEN_ISSUE_OPTIONS_INIT;
  io.now = NOW;
  io.ttl = 0;
  io.jti = 0;
  io.exp = 9007199254740992LL; /* 2^53, the latest accepted: was 9.00719925474099e+15 */
  char *t = NULL, *json = NULL;
  ck_assert_int_eq(
      stream_token_issue(&t, r, NULL, "{\"n\":9007199254740991,\"f\":0.30000000000000004}", &io),
      STREAM_OK);
  stream_token_verify_options vo = STREAM_TOKEN_VERIFY_OPTIONS_INIT;
  vo.now = NOW;
  stream_token_claims c;
  ck_assert_int_eq(stream_token_verify(&json, &c, r, t, &vo), STREAM_OK);
  ck_assert_int_eq(c.exp, 9007199254740992LL);
  ck_assert_str_eq(json, "{\"iat\":1700000000,\"exp\":9007199254740992,"
                         "\"n\":9007199254740991,\"f\":0.30000000000000004}");
  stream_free(json);
  stream_free(t);
  /* Refused: no double; no non-empty audience; nbf not before exp. */
  io.exp = NOW + 600;
  const char *bad[6] = {"{\"n\":1e999}",         "{\"aud\":[]}",         "{\"aud\":\"\"}",
                        "{\"aud\":[\"\",\"\"]}", "{\"nbf\":1700000600}", "{\"nbf\":1700000599.5}"};
  for (int i = 0; i < 6; i++) {
    t = (char *)1;
    ck_assert_msg(stream_token_issue(&t, r, NULL, bad[i], &io) == STREAM_EINVAL, "%s", bad[i]);
    ck_assert_ptr_null(t);
  }
  /* ... while their nearest good neighbours verify. */
  const char *good[3] = {"{\"aud\":[\"\",\"svc\"]}", "{\"nbf\":1700000599}", "{\"n\":1e308}"};
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(stream_token_issue(&t, r, NULL, good[i], &io), STREAM_OK);
    vo.aud = i == 0 ? "svc" : NULL;
    vo.now = i == 1 ? 1700000599 : NOW;
    ck_assert_msg(stream_token_verify(NULL, NULL, r, t, &vo) == STREAM_OK, "%s", good[i]);
    stream_free(t);
  }
  stream_keyring_free(r);
  stream_key_free(k);
}
END_TEST

START_TEST(test_issue_arguments)
{
  stream_key *k = hkey("hs1"), *shortk = NULL;
  ck_assert_int_eq(stream_key_from_text(&shortk, STREAM_KEY_HMAC, "s", "nZtRohdNF9m3cKM24IcK4w"),
                   STREAM_OK);
  stream_keyring *r = ring_with(k, shortk), *empty = ring_with(NULL, NULL);
  stream_token_issue_options io = STREAM_TOKEN_ISSUE_OPTIONS_INIT;
  io.now = NOW;
  char *t = (char *)1;
  ck_assert_int_eq(stream_token_issue(NULL, r, NULL, NULL, &io), STREAM_EINVAL);
  ck_assert_int_eq(stream_token_issue(&t, NULL, NULL, NULL, &io), STREAM_EINVAL);
  ck_assert_ptr_null(t);
  ck_assert_int_eq(stream_token_issue(&t, empty, NULL, NULL, &io), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_token_issue(&t, r, "nope", NULL, &io), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_token_issue(&t, r, "bad id", NULL, &io), STREAM_EINVAL);
  ck_assert_int_eq(stream_token_issue(&t, r, "s", NULL, &io), STREAM_EINVAL); /* 16-byte key */
  ck_assert(msg_has("32"));
  /* NULL options: defaults (15 minutes, real clock). */
  ck_assert_int_eq(stream_token_issue(&t, r, NULL, NULL, NULL), STREAM_OK);
  stream_token_claims c;
  ck_assert_int_eq(stream_token_verify(NULL, &c, r, t, NULL), STREAM_OK);
  ck_assert_int_eq(c.exp - c.iat, 900);
  ck_assert_uint_eq(strlen(c.jti), 22);
  stream_free(t);

  issue_case cases[12];
  size_t n = 0;
  cases[n] = icase(io, NULL, STREAM_EINVAL, "version");
  cases[n++].o.version = 2;
  cases[n] = icase(io, NULL, STREAM_EINVAL, "expire");
  cases[n++].o.ttl = 0;
  cases[n] = icase(io, NULL, STREAM_EINVAL, "both");
  cases[n++].o.exp = NOW + 5;
  cases[n] = icase(io, NULL, STREAM_EINVAL, "negative");
  cases[n++].o.ttl = -5;
  cases[n++] = icase(io, "{\"exp\":5}", STREAM_EINVAL, "exp");
  cases[n++] = icase(io, "{\"iat\":5}", STREAM_EINVAL, "iat");
  cases[n] = icase(io, "{\"sub\":\"x\"}", STREAM_EINVAL, "both");
  cases[n++].o.sub = "y";
  cases[n++] = icase(io, "[1]", STREAM_EINVAL, "object");
  cases[n++] = icase(io, "{\"a\":1,\"a\":2}", STREAM_EINVAL, "duplicate");
  cases[n++] = icase(io, "{\"sub\":7}", STREAM_EINVAL, "sub");
  cases[n] = icase(io, NULL, STREAM_EINVAL, "typ");
  cases[n++].o.typ = "a\"b";
  cases[n] = icase(io, NULL, STREAM_EINVAL, "empty");
  cases[n++].o.iss = "";
  for (size_t i = 0; i < n; i++) {
    t = NULL;
    int rc = stream_token_issue(&t, r, NULL, cases[i].claims, &cases[i].o);
    if (rc != cases[i].rc)
      ck_abort_msg("case %zu: got %d, want %d (%s)", i, rc, cases[i].rc,
                   stream_error_last() ? stream_error_last()->message : "");
    if (cases[i].msg && !msg_has(cases[i].msg))
      ck_abort_msg("case %zu: message '%s' lacks '%s'", i, stream_error_last()->message,
                   cases[i].msg);
    ck_assert_ptr_null(t);
  }
  /* Strings over 255 bytes, tokens over 8 KiB. */
  char big[10000];
  memset(big, 'x', sizeof big);
  big[256] = '\0';
  io.sub = big;
  ck_assert_int_eq(stream_token_issue(&t, r, NULL, NULL, &io), STREAM_ERANGE);
  big[255] = '\0';
  ck_assert_int_eq(stream_token_issue(&t, r, NULL, NULL, &io), STREAM_OK);
  stream_free(t);
  io.sub = NULL;
  memset(big, 'x', sizeof big);
  memcpy(big, "{\"blob\":\"", 9);
  memcpy(big + 6500, "\"}", 3);
  ck_assert_int_eq(stream_token_issue(&t, r, NULL, big, &io), STREAM_ERANGE);
  ck_assert_ptr_null(t);
  ck_assert(msg_has("token would be"));
  memcpy(big + 6500, "xxx", 3);
  memcpy(big + 9500, "\"}", 3);
  ck_assert_int_eq(stream_token_issue(&t, r, NULL, big, &io), STREAM_ERANGE);
  ck_assert(msg_has("claims_json is over"));
  /* Issue refuses exp not after now, nbf not before exp. */
  io.ttl = 0;
  io.exp = NOW;
  ck_assert_int_eq(stream_token_issue(&t, r, NULL, NULL, &io), STREAM_EINVAL);
  io.exp = NOW + 10;
  io.nbf = NOW + 10;
  ck_assert_int_eq(stream_token_issue(&t, r, NULL, NULL, &io), STREAM_EINVAL);
  io.now = -1;
  io.nbf = 0;
  ck_assert_int_eq(stream_token_issue(&t, r, NULL, NULL, &io), STREAM_EINVAL);
  /* Verify argument and option checks. */
  stream_token_verify_options vo = vopts(NOW);
  ck_assert_int_eq(verify(NULL, a1_jws, &vo), STREAM_EINVAL);
  ck_assert_int_eq(verify(r, NULL, &vo), STREAM_EINVAL);
  vo.version = 0;
  ck_assert_int_eq(verify(r, a1_jws, &vo), STREAM_EINVAL);
  vo = vopts(-5);
  ck_assert_int_eq(verify(r, a1_jws, &vo), STREAM_EINVAL);
  vo = vopts(NOW);
  vo.max_size = STREAM_TOKEN_SIZE_MAX + 1;
  ck_assert_int_eq(verify(r, a1_jws, &vo), STREAM_EINVAL);
  vo = vopts(NOW);
  vo.iss = "";
  ck_assert_int_eq(verify(r, a1_jws, &vo), STREAM_EINVAL);
  stream_keyring_free(empty);
  stream_keyring_free(r);
  stream_key_free(shortk);
  stream_key_free(k);
}
END_TEST

/* ---- malformed, truncated, flipped, random ------------------------------------- */

START_TEST(test_segments_and_size)
{
  stream_key *k = hkey("hs1");
  stream_keyring *r = ring_with(k, NULL);
  stream_token_verify_options vo = vopts(NOW);
  char *good = forge_hs256("{\"alg\":\"HS256\",\"kid\":\"hs1\"}", "{\"exp\":1800000000}");
  ck_assert_int_eq(verify(r, good, &vo), STREAM_OK);
  char *h = good, *d1 = strchr(good, '.'), *d2 = strchr(d1 + 1, '.');
  char buf[1024];
  static const char *fixed[] = {"",         ".",     "..",      "...",
                                "a",        "a.b",   "a.b.c.d", "a.b.c.d.e",
                                "e30.e30.", "e30..", ".e30.",   "====.====.===="};
  for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
    ck_assert_int_eq(verify(r, fixed[i], &vo), STREAM_EINVAL);
  /* Two segments, four segments (JWE has five). */
  snprintf(buf, sizeof buf, "%.*s", (int)(d2 - h), h);
  ck_assert_int_eq(verify(r, buf, &vo), STREAM_EINVAL);
  ck_assert(msg_has("2 segments"));
  snprintf(buf, sizeof buf, "%s.abc", good);
  ck_assert_int_eq(verify(r, buf, &vo), STREAM_EINVAL);
  ck_assert(msg_has("more than 3"));
  /* Padding, standard alphabet, whitespace, non-canonical trailing bits. */
  snprintf(buf, sizeof buf, "%.*s=.%s", (int)(d1 - h), h, d1 + 1);
  ck_assert_int_eq(verify(r, buf, &vo), STREAM_EINVAL);
  ck_assert(msg_has("padding"));
  snprintf(buf, sizeof buf, "%s=", good);
  ck_assert_int_eq(verify(r, buf, &vo), STREAM_EINVAL);
  snprintf(buf, sizeof buf, "%s", good);
  buf[d2 - h + 3] = '+';
  ck_assert_int_eq(verify(r, buf, &vo), STREAM_EINVAL);
  snprintf(buf, sizeof buf, " %s", good);
  ck_assert_int_eq(verify(r, buf, &vo), STREAM_EINVAL);
  snprintf(buf, sizeof buf, "%s\n", good);
  ck_assert_int_eq(verify(r, buf, &vo), STREAM_EINVAL);
  /* The last character of a 32-byte signature carries 2 unused bits. */
  snprintf(buf, sizeof buf, "%s", good);
  char *last = buf + strlen(buf) - 1;
  const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  int v = (int)(strchr(alpha, *last) - alpha);
  *last = alpha[v ^ 1];
  ck_assert_int_eq(verify(r, buf, &vo), STREAM_EINVAL);
  ck_assert(msg_has("signature"));
  /* Size: default 8 KiB, measured before decoding. */
  size_t big = STREAM_TOKEN_SIZE_DEFAULT + 1;
  char *huge = malloc(big + 1);
  memset(huge, 'A', big);
  huge[big] = '\0';
  ck_assert_int_eq(verify(r, huge, &vo), STREAM_ERANGE);
  ck_assert(msg_has("8192"));
  /* A valid token just over a custom limit, then at it. */
  vo.max_size = strlen(good) - 1;
  ck_assert_int_eq(verify(r, good, &vo), STREAM_ERANGE);
  vo.max_size = strlen(good);
  ck_assert_int_eq(verify(r, good, &vo), STREAM_OK);
  /* A larger limit admits a larger token. */
  char *claims = malloc(12000);
  memset(claims, 'x', 12000);
  memcpy(claims, "{\"exp\":1800000000,\"b\":\"", 23);
  memcpy(claims + 11000, "\"}", 3);
  char *t = forge_hs256("{\"alg\":\"HS256\",\"kid\":\"hs1\"}", claims);
  vo.max_size = 0;
  ck_assert_int_eq(verify(r, t, &vo), STREAM_ERANGE);
  vo.max_size = 64 * 1024;
  ck_assert_int_eq(verify(r, t, &vo), STREAM_OK);
  free(t);
  free(claims);
  free(huge);
  free(good);
  stream_keyring_free(r);
  stream_key_free(k);
}
END_TEST

/* Every prefix and every single-bit flip of a valid token is rejected. */
static void mutate_all(stream_keyring *r, const char *good, const stream_token_verify_options *vo)
{
  ck_assert_int_eq(verify(r, good, vo), STREAM_OK);
  size_t n = strlen(good);
  char *buf = malloc(n + 1);
  for (size_t len = 0; len < n; len++) {
    memcpy(buf, good, len);
    buf[len] = '\0';
    int rc = verify(r, buf, vo);
    if (rc == STREAM_OK)
      ck_abort_msg("truncated to %zu bytes: accepted", len);
  }
  for (size_t i = 0; i < n; i++)
    for (int bit = 0; bit < 8; bit++) {
      memcpy(buf, good, n + 1);
      buf[i] = (char)(buf[i] ^ (1 << bit));
      int rc = verify(r, buf, vo);
      if (rc == STREAM_OK)
        ck_abort_msg("byte %zu bit %d flipped: accepted", i, bit);
    }
  free(buf);
}

START_TEST(test_truncated_and_flipped)
{
  stream_key *k = hkey("hs1"), *ed = edkey("ed1", 0);
  stream_keyring *r = ring_with(k, ed);
  stream_token_issue_options io = STREAM_TOKEN_ISSUE_OPTIONS_INIT;
  io.now = NOW;
  io.sub = "acct-42";
  io.iss = "auth";
  char *t = NULL;
  stream_token_verify_options vo = vopts(NOW);
  vo.iss = "auth";
  ck_assert_int_eq(stream_token_issue(&t, r, "hs1", "{\"pid\":\"p\"}", &io), STREAM_OK);
  mutate_all(r, t, &vo);
  stream_free(t);
  ck_assert_int_eq(stream_token_issue(&t, r, "ed1", "{\"pid\":\"p\"}", &io), STREAM_OK);
  mutate_all(r, t, &vo);
  stream_free(t);
  /* The JWS-level verifier, on the RFC vectors. */
  size_t n = strlen(a4_jws), plen = 0;
  char buf[256];
  unsigned char *pl = NULL;
  for (size_t i = 0; i < n; i++)
    for (int bit = 0; bit < 8; bit++) {
      memcpy(buf, a4_jws, n + 1);
      buf[i] = (char)(buf[i] ^ (1 << bit));
      ck_assert_int_ne(stream_jws_verify(&pl, &plen, ed, buf, NULL), STREAM_OK);
      ck_assert_ptr_null(pl);
    }
  for (size_t len = 0; len < strlen(a1_jws); len++) {
    memcpy(buf, a1_jws, len);
    buf[len] = '\0';
    ck_assert_int_ne(stream_jws_verify(&pl, &plen, k, buf, NULL), STREAM_OK);
  }
  stream_keyring_free(r);
  stream_key_free(k);
  stream_key_free(ed);
}
END_TEST

START_TEST(test_random_tokens)
{
  stream_key *k = hkey("hs1"), *ed = edkey("ed1", 0);
  stream_keyring *r = ring_with(k, ed);
  stream_token_verify_options vo = vopts(NOW);
  vo.require_exp = 0;
  const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
  unsigned char rnd[600];
  char tok[600];
  /* Valid headers with random payload and signature, and fully random text. */
  char *h_hs = b64u("{\"alg\":\"HS256\",\"kid\":\"hs1\"}", 27);
  char *h_ed = b64u("{\"alg\":\"EdDSA\",\"kid\":\"ed1\"}", 27);
  for (int iter = 0; iter < 3000; iter++) {
    ck_assert_int_eq(stream_random_bytes(rnd, sizeof rnd), STREAM_OK);
    size_t len = 1 + rnd[0] % 250 + (size_t)(rnd[1] % 2) * 250;
    int mode = iter % 4;
    size_t o = 0;
    if (mode == 1 || mode == 2) {
      const char *h = mode == 1 ? h_hs : h_ed;
      o = (size_t)snprintf(tok, sizeof tok, "%s.", h);
    }
    for (size_t i = 0; i < len && o < sizeof tok - 1; i++, o++) {
      if (mode == 3)
        tok[o] = (char)(rnd[i + 2] ? rnd[i + 2] : 'A'); /* any byte */
      else
        tok[o] = alpha[rnd[i + 2] % 65];
    }
    tok[o] = '\0';
    int rc = verify(r, tok, &vo);
    if (rc == STREAM_OK)
      ck_abort_msg("random token accepted: %s", tok);
    unsigned char *pl = NULL;
    size_t plen = 0;
    ck_assert_int_ne(stream_jws_verify(&pl, &plen, k, tok, NULL), STREAM_OK);
    ck_assert_int_ne(stream_jws_verify(&pl, &plen, ed, tok, NULL), STREAM_OK);
  }
  stream_free(h_hs);
  stream_free(h_ed);
  stream_keyring_free(r);
  stream_key_free(k);
  stream_key_free(ed);
}
END_TEST

/* ---- threads: verify while another thread rotates the ring ------------------ */

typedef struct worker {
  stream_keyring *ring;
  const char *token;
  const atomic_bool *churned; /* set once the main thread stopped rotating */
  int n, ok, bad;
} worker;

/* 2000 verifies during the rotation, then one more once it is over: a loaded host may run all
 * 2000 while the main thread is preempted between removing "ed1" and adding it back (seen once in
 * CI), and the last one shows the key works again. */
static void verify_once(worker *w)
{
  stream_token_verify_options vo = vopts(NOW);
  stream_token_claims c;
  int rc = stream_token_verify(NULL, &c, w->ring, w->token, &vo);
  w->n++;
  if (rc == STREAM_OK && strcmp(c.sub, "acct-7") == 0)
    w->ok++;
  else if (rc != STREAM_OK && rc != STREAM_EAUTH)
    w->bad++;
}

static void *verify_loop(void *arg)
{
  worker *w = arg;
  for (int i = 0; i < 2000; i++)
    verify_once(w);
  while (!atomic_load(w->churned))
    sched_yield();
  verify_once(w);
  return NULL;
}

START_TEST(test_concurrent_rotation)
{
  stream_key *k = hkey("stable"), *ed = edkey("ed1", 0);
  stream_keyring *r = ring_with(k, ed);
  stream_token_issue_options io = STREAM_TOKEN_ISSUE_OPTIONS_INIT;
  io.now = NOW;
  io.sub = "acct-7";
  char *t1 = NULL, *t2 = NULL;
  ck_assert_int_eq(stream_token_issue(&t1, r, "stable", NULL, &io), STREAM_OK);
  ck_assert_int_eq(stream_token_issue(&t2, r, "ed1", NULL, &io), STREAM_OK);
  atomic_bool churned = false;
  worker w[4] = {{r, t1, &churned, 0, 0, 0},
                 {r, t2, &churned, 0, 0, 0},
                 {r, t1, &churned, 0, 0, 0},
                 {r, t2, &churned, 0, 0, 0}};
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(pthread_create(&th[i], NULL, verify_loop, &w[i]), 0);
  /* Meanwhile: churn extra keys and drop/re-add the Ed25519 key. */
  for (int i = 0; i < 200; i++) {
    char id[16];
    snprintf(id, sizeof id, "tmp%d", i);
    stream_key *x = NULL;
    ck_assert_int_eq(stream_key_generate(&x, STREAM_KEY_HMAC, id, 32), STREAM_OK);
    ck_assert_int_eq(stream_keyring_add(r, x), STREAM_OK);
    ck_assert_int_eq(stream_keyring_set_primary(r, id), STREAM_OK);
    char *t = NULL;
    ck_assert_int_eq(stream_token_issue(&t, r, NULL, NULL, &io), STREAM_OK);
    stream_free(t);
    ck_assert_int_eq(stream_keyring_remove(r, id), STREAM_OK);
    stream_key_free(x);
    if (i % 10 == 0) {
      ck_assert_int_eq(stream_keyring_remove(r, "ed1"), STREAM_OK);
      ck_assert_int_eq(stream_keyring_add(r, ed), STREAM_OK);
    }
  }
  atomic_store(&churned, true);
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(pthread_join(th[i], NULL), 0);
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq(w[i].bad, 0);
    ck_assert_int_gt(w[i].ok, 0);
  }
  ck_assert_int_eq(w[0].ok, w[0].n); /* "stable" never left the ring */
  ck_assert_int_eq(w[2].ok, w[2].n);
  stream_free(t1);
  stream_free(t2);
  stream_keyring_free(r);
  stream_key_free(k);
  stream_key_free(ed);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("token");
  TCase *v = tcase_create("vectors");
  tcase_add_test(v, test_rfc7515_a1_hs256);
  tcase_add_test(v, test_rfc7797_b64_and_detached_vector);
  tcase_add_test(v, test_rfc8037_a4_a5_eddsa);
  tcase_add_test(v, test_jws_arguments);
  suite_add_tcase(s, v);
  TCase *j = tcase_create("jwt");
  tcase_add_test(j, test_issue_verify_exact_claims);
  tcase_add_test(j, test_rotation_mixed_ring);
  tcase_add_test(j, test_alg_none_and_confusion);
  tcase_add_test(j, test_header_rules);
  tcase_add_test(j, test_claims_rules);
  tcase_add_test(j, test_leeway_edges);
  tcase_add_test(j, test_issuer_audience);
  tcase_add_test(j, test_issue_arguments);
  tcase_add_test(j, test_issue_exact_and_verifiable);
  suite_add_tcase(s, j);
  TCase *m = tcase_create("malformed");
  tcase_set_timeout(m, 120);
  tcase_add_test(m, test_segments_and_size);
  tcase_add_test(m, test_truncated_and_flipped);
  tcase_add_test(m, test_random_tokens);
  tcase_add_test(m, test_concurrent_rotation);
  suite_add_tcase(s, m);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
