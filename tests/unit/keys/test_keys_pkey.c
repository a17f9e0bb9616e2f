/* Unit tests for the RSA and ECDSA P-256 key types (the keys Amazon CloudFront
 * signs with), public API only. The PEM fixtures were written by the openssl
 * command line tool (pem_fixtures.h): every accepted format loads, the public
 * key derived by libstream exports to exactly the PEM openssl wrote, keys
 * round-trip generate -> export -> load, and small RSA, other curves, other
 * algorithms, encrypted, private-as-public, truncated and garbage PEM are
 * refused with a message that names the problem. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pem_fixtures.h"
#include "stream/keys.h"

static stream_key *load(stream_key_type t, const char *pem)
{
  stream_key *k = NULL;
  int rc = stream_key_from_text(&k, t, "K2JCJMDEHXQW5F", pem);
  ck_assert_msg(rc == STREAM_OK, "load failed: %s", stream_error_last()->message);
  ck_assert_ptr_nonnull(k);
  return k;
}

static char *pem_of(const stream_key *k)
{
  char *s = NULL;
  ck_assert_int_eq(stream_key_export(&s, k, STREAM_KEY_FORMAT_PEM), STREAM_OK);
  return s;
}

static void refused(stream_key_type t, const char *pem, const char *want)
{
  stream_key *k = (stream_key *)1;
  int rc = stream_key_from_text(&k, t, "k1", pem);
  ck_assert_int_eq(rc, STREAM_EINVAL);
  ck_assert_ptr_null(k);
  ck_assert_msg(strstr(stream_error_last()->message, want), "message %s lacks %s",
                stream_error_last()->message, want);
}

START_TEST(test_every_pem_format_loads)
{
  struct {
    stream_key_type t;
    const char *pem;
    size_t len;
  } ok[] = {
      {STREAM_KEY_RSA_PRIVATE, PEM_RSA_PKCS1, 256}, {STREAM_KEY_RSA_PRIVATE, PEM_RSA_PKCS8, 256},
      {STREAM_KEY_RSA_PUBLIC, PEM_RSA_PUB, 256},    {STREAM_KEY_RSA_PUBLIC, PEM_RSA_PUB_PKCS1, 256},
      {STREAM_KEY_EC_PRIVATE, PEM_EC_SEC1, 32},     {STREAM_KEY_EC_PRIVATE, PEM_EC_PKCS8, 32},
      {STREAM_KEY_EC_PUBLIC, PEM_EC_PUB, 32}};
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    stream_key *k = load(ok[i].t, ok[i].pem);
    ck_assert_int_eq(stream_key_type_of(k), ok[i].t);
    ck_assert_uint_eq(stream_key_length(k), ok[i].len);
    ck_assert_str_eq(stream_key_id(k), "K2JCJMDEHXQW5F");
    stream_key_free(k);
  }
}
END_TEST

START_TEST(test_public_derivation_matches_openssl)
{
  /* PKCS#1 and PKCS#8 forms of one key: the same PKCS#8 export, and the
   * derived public key is byte for byte what `openssl pkey -pubout` wrote */
  const char *priv[] = {PEM_RSA_PKCS1, PEM_RSA_PKCS8, PEM_EC_SEC1, PEM_EC_PKCS8};
  const char *pkcs8[] = {PEM_RSA_PKCS8, PEM_RSA_PKCS8, PEM_EC_PKCS8, PEM_EC_PKCS8};
  const char *pub[] = {PEM_RSA_PUB, PEM_RSA_PUB, PEM_EC_PUB, PEM_EC_PUB};
  for (int i = 0; i < 4; i++) {
    stream_key_type t = i < 2 ? STREAM_KEY_RSA_PRIVATE : STREAM_KEY_EC_PRIVATE;
    stream_key *k = load(t, priv[i]), *p = NULL;
    char *s = pem_of(k);
    ck_assert_str_eq(s, pkcs8[i]);
    stream_free_secret(s, strlen(s));
    ck_assert_int_eq(stream_key_public(&p, k), STREAM_OK);
    ck_assert_int_eq(stream_key_type_of(p), i < 2 ? STREAM_KEY_RSA_PUBLIC : STREAM_KEY_EC_PUBLIC);
    ck_assert_str_eq(stream_key_id(p), "K2JCJMDEHXQW5F");
    s = pem_of(p);
    ck_assert_str_eq(s, pub[i]);
    stream_free(s);
    /* a public key has no public key to derive, and exports no private part */
    stream_key *pp = (stream_key *)1;
    ck_assert_int_eq(stream_key_public(&pp, p), STREAM_EINVAL);
    ck_assert_ptr_null(pp);
    stream_key_free(p);
    stream_key_free(k);
  }
  /* PKCS#1 "RSA PUBLIC KEY" exports as SubjectPublicKeyInfo */
  stream_key *k = load(STREAM_KEY_RSA_PUBLIC, PEM_RSA_PUB_PKCS1);
  char *s = pem_of(k);
  ck_assert_str_eq(s, PEM_RSA_PUB);
  stream_free(s);
  stream_key_free(k);
}
END_TEST

START_TEST(test_generate_export_load_round_trip)
{
  stream_key_type types[] = {STREAM_KEY_RSA_PRIVATE, STREAM_KEY_EC_PRIVATE};
  for (int i = 0; i < 2; i++) {
    stream_key *a = NULL, *b = NULL, *c = NULL;
    ck_assert_int_eq(stream_key_generate(&a, types[i], "K1", 0), STREAM_OK);
    ck_assert_int_eq(stream_key_generate(&b, types[i], "K1", 0), STREAM_OK);
    ck_assert_uint_eq(stream_key_length(a), i == 0 ? 256 : 32);
    char *pa = pem_of(a), *pb = pem_of(b);
    ck_assert_ptr_nonnull(strstr(pa, "-----BEGIN PRIVATE KEY-----"));
    ck_assert_str_ne(pa, pb); /* two keys from the CSPRNG differ */
    ck_assert_int_eq(stream_key_from_text(&c, types[i], "K1", pa), STREAM_OK);
    char *pc = pem_of(c);
    ck_assert_str_eq(pa, pc);
    stream_free_secret(pa, strlen(pa));
    stream_free_secret(pb, strlen(pb));
    stream_free_secret(pc, strlen(pc));
    stream_key_free(a);
    stream_key_free(b);
    stream_key_free(c);
  }
}
END_TEST

START_TEST(test_der_bytes_file_and_env)
{
  /* DER = the base64 body of the PEM */
  char body[4096] = "";
  const char *p = strchr(PEM_RSA_PKCS8, '\n') + 1;
  const char *end = strstr(p, "-----END");
  for (size_t o = 0; p < end; p++)
    if (*p != '\n')
      body[o++] = *p;
  unsigned char *der = NULL;
  size_t dl = 0;
  ck_assert_int_eq(stream_base64_decode(&der, &dl, body, strlen(body), STREAM_B64_STD), STREAM_OK);
  stream_key *k = NULL;
  ck_assert_int_eq(stream_key_from_bytes(&k, STREAM_KEY_RSA_PRIVATE, "K1", der, dl), STREAM_OK);
  char *s = pem_of(k);
  ck_assert_str_eq(s, PEM_RSA_PKCS8);
  stream_free_secret(s, strlen(s));
  stream_key_free(k);
  /* garbage and truncated DER */
  ck_assert_int_eq(stream_key_from_bytes(&k, STREAM_KEY_RSA_PRIVATE, "K1", der, dl / 2),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_key_from_bytes(&k, STREAM_KEY_EC_PRIVATE, "K1", der, dl), STREAM_EINVAL);
  stream_free_secret(der, dl);

  FILE *f = fopen("cf_test_key.pem", "w");
  ck_assert_ptr_nonnull(f);
  fputs(PEM_EC_SEC1, f);
  fclose(f);
  ck_assert_int_eq(stream_key_load_file(&k, STREAM_KEY_EC_PRIVATE, "K1", "cf_test_key.pem"),
                   STREAM_OK);
  stream_key_free(k);
  remove("cf_test_key.pem");
  setenv("CF_TEST_KEY", PEM_RSA_PUB, 1);
  ck_assert_int_eq(stream_key_load_env(&k, STREAM_KEY_RSA_PUBLIC, "K1", "CF_TEST_KEY"), STREAM_OK);
  ck_assert_int_eq(stream_key_type_of(k), STREAM_KEY_RSA_PUBLIC);
  stream_key_free(k);
}
END_TEST

START_TEST(test_weak_wrong_and_bad_keys_refused)
{
  refused(STREAM_KEY_RSA_PRIVATE, PEM_RSA_1024, "1024 bits");
  refused(STREAM_KEY_EC_PRIVATE, PEM_EC_P384, "P-256");
  refused(STREAM_KEY_RSA_PRIVATE, PEM_EC_SEC1, "not an RSA key");
  refused(STREAM_KEY_EC_PRIVATE, PEM_RSA_PKCS1, "not an elliptic-curve");
  refused(STREAM_KEY_RSA_PRIVATE, PEM_ED25519_PKCS8, "not an RSA key");
  refused(STREAM_KEY_EC_PUBLIC, PEM_RSA_PUB, "not an elliptic-curve");
  refused(STREAM_KEY_RSA_PUBLIC, PEM_RSA_PKCS1, "holds a private key");
  refused(STREAM_KEY_RSA_PRIVATE, PEM_RSA_PUB, "cannot be parsed");
  refused(STREAM_KEY_EC_PRIVATE, PEM_EC_ENCRYPTED, "encrypted");
  refused(STREAM_KEY_RSA_PRIVATE, "not a key at all", "PEM");
  refused(STREAM_KEY_RSA_PRIVATE,
          "-----BEGIN RSA PRIVATE KEY-----\n!!!!\n-----END RSA PRIVATE KEY-----\n",
          "cannot be parsed");
  /* truncated anywhere in the body or the armour */
  char cut[sizeof PEM_RSA_PKCS1];
  for (size_t n = 40; n < sizeof PEM_RSA_PKCS1 - 2; n += 97) {
    memcpy(cut, PEM_RSA_PKCS1, n);
    cut[n] = '\0';
    refused(STREAM_KEY_RSA_PRIVATE, cut, "cannot be parsed");
  }
  /* a flipped character in the base64 body never loads a different key silently */
  char flip[sizeof PEM_EC_PKCS8];
  memcpy(flip, PEM_EC_PKCS8, sizeof flip);
  flip[60] = flip[60] == 'A' ? 'B' : 'A';
  stream_key *k = NULL;
  int rc = stream_key_from_text(&k, STREAM_KEY_EC_PRIVATE, "k", flip);
  if (rc == STREAM_OK) { /* possible only if the flip hit non-key bytes: then it must differ */
    char *s = pem_of(k);
    ck_assert_str_ne(s, PEM_EC_PKCS8);
    stream_free_secret(s, strlen(s));
    stream_key_free(k);
  } else {
    ck_assert_int_eq(rc, STREAM_EINVAL);
  }
}
END_TEST

START_TEST(test_type_rules)
{
  stream_key *k = (stream_key *)1;
  ck_assert_int_eq(stream_key_generate(&k, STREAM_KEY_RSA_PUBLIC, "K1", 0), STREAM_EINVAL);
  ck_assert_ptr_null(k);
  ck_assert_int_eq(stream_key_generate(&k, STREAM_KEY_EC_PUBLIC, "K1", 0), STREAM_EINVAL);
  k = load(STREAM_KEY_EC_PRIVATE, PEM_EC_SEC1);
  char *s = NULL;
  ck_assert_int_eq(stream_key_export(&s, k, STREAM_KEY_FORMAT_BASE64URL), STREAM_ENOTSUP);
  ck_assert_ptr_null(s);
  unsigned char raw[32];
  ck_assert_int_eq(stream_key_public_bytes(raw, k), STREAM_EINVAL);
  /* key rings take them; the id is the CloudFront public key id */
  stream_keyring *r = NULL;
  ck_assert_int_eq(stream_keyring_new(&r), STREAM_OK);
  ck_assert_int_eq(stream_keyring_add(r, k), STREAM_OK);
  stream_key *g = NULL;
  ck_assert_int_eq(stream_keyring_get(&g, r, "K2JCJMDEHXQW5F"), STREAM_OK);
  ck_assert_int_eq(stream_key_type_of(g), STREAM_KEY_EC_PRIVATE);
  stream_key_free(g);
  stream_keyring_free(r);
  stream_key_free(k);
  /* the secret never reaches an error message */
  refused(STREAM_KEY_RSA_PRIVATE, PEM_RSA_1024, "bits");
  ck_assert_ptr_null(strstr(stream_error_last()->message, "MII"));
}
END_TEST

int main(void)
{
  Suite *s = suite_create("keys-pkey");
  TCase *tc = tcase_create("rsa-ecdsa");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_every_pem_format_loads);
  tcase_add_test(tc, test_public_derivation_matches_openssl);
  tcase_add_test(tc, test_generate_export_load_round_trip);
  tcase_add_test(tc, test_der_bytes_file_and_env);
  tcase_add_test(tc, test_weak_wrong_and_bad_keys_refused);
  tcase_add_test(tc, test_type_rules);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
