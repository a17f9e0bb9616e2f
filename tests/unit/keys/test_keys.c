/* Unit tests for keys and key rings (public API only, through the shared library). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/keys.h"

/* RFC 8032 §7.1 TEST 1 seed and public key (also RFC 8037 A.1). */
static const char *seed_b64 = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
static const char *pub_b64 = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

START_TEST(test_hmac_from_text_gcloud_key)
{
  stream_key *k = NULL;
  ck_assert_int_eq(
      stream_key_from_text(&k, STREAM_KEY_HMAC, "my-key", " nZtRohdNF9m3cKM24IcK4w==\n"),
      STREAM_OK);
  ck_assert_str_eq(stream_key_id(k), "my-key");
  ck_assert_int_eq(stream_key_type_of(k), STREAM_KEY_HMAC);
  ck_assert_uint_eq(stream_key_length(k), 16);
  char *txt = NULL;
  ck_assert_int_eq(stream_key_export(&txt, k, STREAM_KEY_FORMAT_BASE64URL), STREAM_OK);
  ck_assert_str_eq(txt, "nZtRohdNF9m3cKM24IcK4w==");
  stream_free_secret(txt, strlen(txt));
  ck_assert_int_eq(stream_key_export(&txt, k, STREAM_KEY_FORMAT_PEM), STREAM_ENOTSUP);
  unsigned char pub[32];
  ck_assert_int_eq(stream_key_public_bytes(pub, k), STREAM_EINVAL);
  stream_key_free(k);
}
END_TEST

START_TEST(test_ed25519_derives_rfc8032_public_key)
{
  stream_key *k = NULL, *p = NULL;
  ck_assert_int_eq(stream_key_from_text(&k, STREAM_KEY_ED25519_PRIVATE, "ed", seed_b64), STREAM_OK);
  ck_assert_int_eq(stream_key_public(&p, k), STREAM_OK);
  ck_assert_int_eq(stream_key_type_of(p), STREAM_KEY_ED25519_PUBLIC);
  char *txt = NULL;
  ck_assert_int_eq(stream_key_export(&txt, p, STREAM_KEY_FORMAT_BASE64URL), STREAM_OK);
  ck_assert(strncmp(txt, pub_b64, strlen(pub_b64)) == 0);
  stream_free(txt);
  /* PEM round trip of the private key keeps the seed. */
  char *pem = NULL;
  ck_assert_int_eq(stream_key_export(&pem, k, STREAM_KEY_FORMAT_PEM), STREAM_OK);
  ck_assert(strstr(pem, "-----BEGIN PRIVATE KEY-----") != NULL);
  stream_key *k2 = NULL;
  ck_assert_int_eq(stream_key_from_text(&k2, STREAM_KEY_ED25519_PRIVATE, "ed2", pem), STREAM_OK);
  ck_assert_int_eq(stream_key_export(&txt, k2, STREAM_KEY_FORMAT_BASE64URL), STREAM_OK);
  stream_key_free(k2);
  k2 = NULL;
  ck_assert(strncmp(txt, seed_b64, strlen(seed_b64)) == 0);
  stream_free_secret(txt, strlen(txt));
  stream_free_secret(pem, strlen(pem));
  /* Public PEM loads as a public key. */
  ck_assert_int_eq(stream_key_export(&pem, p, STREAM_KEY_FORMAT_PEM), STREAM_OK);
  stream_key *p2 = NULL;
  ck_assert_int_eq(stream_key_from_text(&p2, STREAM_KEY_ED25519_PUBLIC, "pub", pem), STREAM_OK);
  ck_assert_int_eq(stream_key_from_text(&k2, STREAM_KEY_ED25519_PRIVATE, "x", pem), STREAM_EINVAL);
  stream_free(pem);
  stream_key_free(p2);
  stream_key_free(p);
  stream_key_free(k);
}
END_TEST

START_TEST(test_bad_keys_rejected)
{
  stream_key *k = NULL;
  ck_assert_int_eq(stream_key_from_text(&k, STREAM_KEY_HMAC, "k", "c2hvcnQ"), STREAM_EINVAL);
  ck_assert(strstr(stream_error_last()->message, "bytes") != NULL);
  ck_assert_int_eq(stream_key_from_text(&k, STREAM_KEY_HMAC, "k", "!!!notbase64!!!"),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_key_from_text(&k, STREAM_KEY_HMAC, "k", ""), STREAM_EINVAL);
  ck_assert_int_eq(stream_key_from_text(&k, STREAM_KEY_HMAC, "bad id", "nZtRohdNF9m3cKM24IcK4w"),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_key_from_text(&k, STREAM_KEY_HMAC, "", "nZtRohdNF9m3cKM24IcK4w"),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_key_from_text(&k, (stream_key_type)9, "k", "nZtRohdNF9m3cKM24IcK4w"),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_key_from_text(NULL, STREAM_KEY_HMAC, "k", "x"), STREAM_EINVAL);
  ck_assert_int_eq(
      stream_key_from_text(&k, STREAM_KEY_ED25519_PRIVATE, "k", "nZtRohdNF9m3cKM24IcK4w"),
      STREAM_EINVAL);
  ck_assert_int_eq(stream_key_generate(&k, STREAM_KEY_ED25519_PUBLIC, "k", 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_key_generate(&k, STREAM_KEY_HMAC, "k", 8), STREAM_EINVAL);
  ck_assert_ptr_null(k);
  /* A message never contains the key text. */
  ck_assert_int_eq(stream_key_from_text(&k, STREAM_KEY_HMAC, "k", "SECRETSECRETSECRET$"),
                   STREAM_EINVAL);
  ck_assert(strstr(stream_error_last()->message, "SECRET") == NULL);
}
END_TEST

START_TEST(test_load_file_and_env)
{
  char path[] = "/tmp/stream-keytest-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  FILE *f = fdopen(fd, "w");
  fputs("nZtRohdNF9m3cKM24IcK4w==\n", f);
  fclose(f);
  stream_key *k = NULL;
  ck_assert_int_eq(stream_key_load_file(&k, STREAM_KEY_HMAC, "f", path), STREAM_OK);
  ck_assert_uint_eq(stream_key_length(k), 16);
  stream_key_free(k);
  remove(path);
  ck_assert_int_eq(stream_key_load_file(&k, STREAM_KEY_HMAC, "f", path), STREAM_EIO);
  ck_assert(strstr(stream_error_last()->message, path) != NULL);
  setenv("STREAM_TEST_KEY", seed_b64, 1);
  ck_assert_int_eq(stream_key_load_env(&k, STREAM_KEY_ED25519_PRIVATE, "e", "STREAM_TEST_KEY"),
                   STREAM_OK);
  stream_key_free(k);
  unsetenv("STREAM_TEST_KEY");
  ck_assert_int_eq(stream_key_load_env(&k, STREAM_KEY_ED25519_PRIVATE, "e", "STREAM_TEST_KEY"),
                   STREAM_ENOTFOUND);
}
END_TEST

START_TEST(test_generate_distinct)
{
  stream_key *a = NULL, *b = NULL;
  ck_assert_int_eq(stream_key_generate(&a, STREAM_KEY_HMAC, "a", 0), STREAM_OK);
  ck_assert_int_eq(stream_key_generate(&b, STREAM_KEY_HMAC, "b", 0), STREAM_OK);
  ck_assert_uint_eq(stream_key_length(a), 32);
  char *ta = NULL, *tb = NULL;
  stream_key_export(&ta, a, STREAM_KEY_FORMAT_BASE64URL);
  stream_key_export(&tb, b, STREAM_KEY_FORMAT_BASE64URL);
  ck_assert_str_ne(ta, tb);
  stream_free(ta);
  stream_free(tb);
  stream_key_free(a);
  stream_key_free(b);
  ck_assert_int_eq(stream_key_generate(&a, STREAM_KEY_ED25519_PRIVATE, "ed", 0), STREAM_OK);
  unsigned char pub[32];
  ck_assert_int_eq(stream_key_public_bytes(pub, a), STREAM_OK);
  stream_key_free(a);
}
END_TEST

START_TEST(test_keyring_rotation)
{
  stream_keyring *r = NULL;
  stream_key *k1 = NULL, *k2 = NULL, *got = NULL;
  ck_assert_int_eq(stream_keyring_new(&r), STREAM_OK);
  ck_assert_int_eq(stream_keyring_get(&got, r, NULL), STREAM_ENOTFOUND);
  stream_key_generate(&k1, STREAM_KEY_HMAC, "k1", 0);
  stream_key_generate(&k2, STREAM_KEY_HMAC, "k2", 0);
  ck_assert_int_eq(stream_keyring_add(r, k1), STREAM_OK);
  ck_assert_int_eq(stream_keyring_add(r, k1), STREAM_EEXIST);
  ck_assert_int_eq(stream_keyring_add(r, k2), STREAM_OK);
  ck_assert_uint_eq(stream_keyring_count(r), 2);
  ck_assert_int_eq(stream_keyring_get(&got, r, NULL), STREAM_OK);
  ck_assert_str_eq(stream_key_id(got), "k1");
  stream_key_free(got);
  ck_assert_int_eq(stream_keyring_set_primary(r, "k2"), STREAM_OK);
  ck_assert_int_eq(stream_keyring_get(&got, r, NULL), STREAM_OK);
  ck_assert_str_eq(stream_key_id(got), "k2");
  /* A reference stays valid after the ring drops the key. */
  ck_assert_int_eq(stream_keyring_remove(r, "k2"), STREAM_OK);
  ck_assert_str_eq(stream_key_id(got), "k2");
  stream_key_free(got);
  ck_assert_int_eq(stream_keyring_get(&got, r, "k2"), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_keyring_get(&got, r, NULL), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_keyring_get(&got, r, "k1"), STREAM_OK);
  stream_key_free(got);
  ck_assert_int_eq(stream_keyring_remove(r, "nope"), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_keyring_set_primary(r, "nope"), STREAM_ENOTFOUND);
  stream_key_free(k1);
  stream_key_free(k2);
  stream_keyring_free(r);
  stream_keyring_free(NULL);
  stream_key_free(NULL);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("keys");
  TCase *tc = tcase_create("keys");
  tcase_add_test(tc, test_hmac_from_text_gcloud_key);
  tcase_add_test(tc, test_ed25519_derives_rfc8032_public_key);
  tcase_add_test(tc, test_bad_keys_rejected);
  tcase_add_test(tc, test_load_file_and_env);
  tcase_add_test(tc, test_generate_distinct);
  tcase_add_test(tc, test_keyring_rotation);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
