/* Unit tests for core: status names, thread errors, base64, hex, ct compare, random, log. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "stream/common.h"

/* RFC 4648 §10 vectors. */
static const char *rfc_in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
static const char *rfc_b64[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
static const char *rfc_hex[] = {"",         "66",         "666f",        "666f6f",
                                "666f6f62", "666f6f6261", "666f6f626172"};

START_TEST(test_base64_rfc4648_vectors)
{
  for (int i = 0; i < 7; i++) {
    char *enc = NULL;
    size_t n = 0;
    ck_assert_int_eq(stream_base64_encode(&enc, &n, rfc_in[i], strlen(rfc_in[i]), STREAM_B64_STD),
                     STREAM_OK);
    ck_assert_str_eq(enc, rfc_b64[i]);
    ck_assert_uint_eq(n, strlen(rfc_b64[i]));
    unsigned char *dec = NULL;
    size_t dn = 99;
    ck_assert_int_eq(stream_base64_decode(&dec, &dn, enc, n, STREAM_B64_STD), STREAM_OK);
    ck_assert_uint_eq(dn, strlen(rfc_in[i]));
    ck_assert(memcmp(dec, rfc_in[i], dn) == 0);
    stream_free(dec);
    stream_free(enc);
    /* Unpadded round trip. */
    ck_assert_int_eq(stream_base64_encode(&enc, &n, rfc_in[i], strlen(rfc_in[i]),
                                          STREAM_B64_STD | STREAM_B64_NOPAD),
                     STREAM_OK);
    ck_assert(strchr(enc, '=') == NULL);
    ck_assert_int_eq(stream_base64_decode(&dec, &dn, enc, n, STREAM_B64_STD), STREAM_OK);
    ck_assert_uint_eq(dn, strlen(rfc_in[i]));
    stream_free(dec);
    stream_free(enc);
    char *hex = NULL;
    ck_assert_int_eq(stream_hex_encode(&hex, rfc_in[i], strlen(rfc_in[i])), STREAM_OK);
    ck_assert_str_eq(hex, rfc_hex[i]);
    stream_free(hex);
  }
}
END_TEST

START_TEST(test_base64url_alphabet)
{
  const unsigned char bytes[] = {0xfb, 0xff, 0xfe};
  char *enc = NULL;
  ck_assert_int_eq(stream_base64_encode(&enc, NULL, bytes, 3, STREAM_B64_URL), STREAM_OK);
  ck_assert_str_eq(enc, "-__-");
  stream_free(enc);
  ck_assert_int_eq(stream_base64_encode(&enc, NULL, bytes, 3, STREAM_B64_STD), STREAM_OK);
  ck_assert_str_eq(enc, "+//+");
  stream_free(enc);
  /* The gcloud key from standards.md §1.1. */
  unsigned char *dec = NULL;
  size_t dn = 0;
  ck_assert_int_eq(stream_base64_decode(&dec, &dn, "nZtRohdNF9m3cKM24IcK4w==", 24, STREAM_B64_URL),
                   STREAM_OK);
  ck_assert_uint_eq(dn, 16);
  char *hex = NULL;
  ck_assert_int_eq(stream_hex_encode(&hex, dec, dn), STREAM_OK);
  ck_assert_str_eq(hex, "9d9b51a2174d17d9b770a336e0870ae3");
  stream_free(hex);
  stream_free(dec);
}
END_TEST

START_TEST(test_base64_rejects_malformed)
{
  const char *bad[] = {"Zg=", "Zg===", "Z", "Zm9v!", "Zm 9v", "Zh==", "Zm9=", "=Zm9", "Zg==Zg=="};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    unsigned char *dec = (unsigned char *)"x";
    size_t dn = 7;
    stream_error_clear();
    ck_assert_int_eq(stream_base64_decode(&dec, &dn, bad[i], strlen(bad[i]), STREAM_B64_STD),
                     STREAM_EINVAL);
    ck_assert_ptr_null(dec);
    ck_assert_uint_eq(dn, 0);
    ck_assert_ptr_nonnull(stream_error_last());
    ck_assert_int_eq(stream_error_last()->code, STREAM_EINVAL);
    ck_assert(strstr(stream_error_last()->message, "base64") != NULL);
  }
  /* Alphabets do not mix. */
  unsigned char *dec = NULL;
  size_t dn = 0;
  ck_assert_int_eq(stream_base64_decode(&dec, &dn, "-__-", 4, STREAM_B64_STD), STREAM_EINVAL);
  ck_assert_int_eq(stream_base64_decode(&dec, &dn, "+//+", 4, STREAM_B64_URL), STREAM_EINVAL);
  /* NULL arguments. */
  ck_assert_int_eq(stream_base64_decode(NULL, &dn, "Zg", 2, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_base64_encode(NULL, NULL, "a", 1, 0), STREAM_EINVAL);
  char *enc = NULL;
  ck_assert_int_eq(stream_base64_encode(&enc, NULL, NULL, 3, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_base64_encode(&enc, NULL, "a", 1, 0x80), STREAM_EINVAL);
}
END_TEST

START_TEST(test_base64_random_roundtrip)
{
  unsigned char buf[300];
  for (int iter = 0; iter < 200; iter++) {
    size_t len = (size_t)(iter % 300);
    ck_assert_int_eq(stream_random_bytes(buf, len), STREAM_OK);
    for (unsigned int flags = 0; flags < 4; flags++) {
      char *enc = NULL;
      size_t n = 0;
      ck_assert_int_eq(stream_base64_encode(&enc, &n, buf, len, flags), STREAM_OK);
      ck_assert_uint_eq(n, stream__b64_len(len, flags));
      unsigned char *dec = NULL;
      size_t dn = 0;
      ck_assert_int_eq(stream_base64_decode(&dec, &dn, enc, n, flags & STREAM_B64_URL), STREAM_OK);
      ck_assert_uint_eq(dn, len);
      ck_assert(memcmp(dec, buf, len) == 0);
      stream_free(dec);
      stream_free(enc);
    }
  }
}
END_TEST

START_TEST(test_hex_decode)
{
  unsigned char *dec = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_hex_decode(&dec, &n, "DEADbeef", 8), STREAM_OK);
  ck_assert_uint_eq(n, 4);
  ck_assert_uint_eq(dec[0], 0xde);
  ck_assert_uint_eq(dec[3], 0xef);
  stream_free(dec);
  ck_assert_int_eq(stream_hex_decode(&dec, &n, "abc", 3), STREAM_EINVAL);
  ck_assert(strstr(stream_error_last()->message, "odd length") != NULL);
  ck_assert_int_eq(stream_hex_decode(&dec, &n, "zz", 2), STREAM_EINVAL);
  ck_assert_int_eq(stream_hex_decode(NULL, &n, "aa", 2), STREAM_EINVAL);
}
END_TEST

START_TEST(test_ct_equal)
{
  ck_assert_int_eq(stream_ct_equal("abcd", "abcd", 4), 1);
  ck_assert_int_eq(stream_ct_equal("abcd", "abce", 4), 0);
  ck_assert_int_eq(stream_ct_equal("xbcd", "abcd", 4), 0);
  ck_assert_int_eq(stream_ct_equal("", "", 0), 1);
  ck_assert_int_eq(stream_ct_equal(NULL, "a", 1), 0);
}
END_TEST

START_TEST(test_random)
{
  unsigned char a[32] = {0}, b[32] = {0};
  ck_assert_int_eq(stream_random_bytes(a, 32), STREAM_OK);
  ck_assert_int_eq(stream_random_bytes(b, 32), STREAM_OK);
  ck_assert(memcmp(a, b, 32) != 0);
  ck_assert_int_eq(stream_random_bytes(NULL, 4), STREAM_EINVAL);
  ck_assert_int_eq(stream_random_bytes(NULL, 0), STREAM_OK);
}
END_TEST

START_TEST(test_strerror_and_version)
{
  ck_assert_str_eq(stream_strerror(STREAM_OK), "success");
  ck_assert_str_eq(stream_strerror(STREAM_EINVAL), "invalid argument");
  ck_assert_str_eq(stream_strerror(STREAM_EEXPIRED), "expired or not yet valid");
  ck_assert_str_eq(stream_strerror(12345), "unknown status");
  for (int c = STREAM_EPAYMENT; c <= 0; c++)
    ck_assert_str_ne(stream_strerror(c), "unknown status");
  ck_assert_str_eq(stream_version(), STREAM_VERSION_STRING);
  ck_assert_uint_eq(stream_version_number(), STREAM_VERSION_NUMBER);
  ck_assert_uint_eq(STREAM_VERSION_NUMBER, (0u << 16) | (1u << 8) | 0u);
}
END_TEST

static void *other_thread(void *arg)
{
  (void)arg;
  /* A fresh thread has no error, and setting one does not touch the main thread's. */
  void *had = (void *)stream_error_last();
  stream__err(STREAM_EIO, "from thread");
  return had;
}

START_TEST(test_error_is_thread_local)
{
  stream_error_clear();
  ck_assert_ptr_null(stream_error_last());
  stream__err(STREAM_ENOTFOUND, "key %s missing", "k1");
  pthread_t t;
  void *res = (void *)1;
  pthread_create(&t, NULL, other_thread, NULL);
  pthread_join(t, &res);
  ck_assert_ptr_null(res);
  ck_assert_int_eq(stream_error_last()->code, STREAM_ENOTFOUND);
  ck_assert_str_eq(stream_error_last()->message, "key k1 missing");
  stream_error_clear();
  ck_assert_ptr_null(stream_error_last());
}
END_TEST

struct logrec {
  int calls;
  int level;
  char msg[128];
};

static void sink(int level, const char *module, const char *message, void *ud)
{
  struct logrec *r = ud;
  (void)module;
  r->calls++;
  r->level = level;
  snprintf(r->msg, sizeof r->msg, "%s", message);
}

START_TEST(test_log_callback)
{
  struct logrec r = {0};
  stream_log_set_callback(sink, &r, STREAM_LOG_WARN);
  stream__log(STREAM_LOG_INFO, "core", "quiet %d", 1);
  ck_assert_int_eq(r.calls, 0);
  stream__log(STREAM_LOG_ERROR, "core", "loud %d", 2);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_int_eq(r.level, STREAM_LOG_ERROR);
  ck_assert_str_eq(r.msg, "loud 2");
  stream_log_set_callback(NULL, NULL, STREAM_LOG_DEBUG);
  stream__log(STREAM_LOG_ERROR, "core", "gone");
  ck_assert_int_eq(r.calls, 1);
}
END_TEST

START_TEST(test_buf_builder)
{
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_puts(&b, "https://x/");
  for (int i = 0; i < 100; i++)
    stream__buf_printf(&b, "%d,", i);
  char *s = NULL;
  ck_assert_int_eq(stream__buf_detach(&b, &s), STREAM_OK);
  ck_assert(strncmp(s, "https://x/0,1,2,", 16) == 0);
  ck_assert(strstr(s, "99,") != NULL);
  stream_free(s);
  /* Nothing appended: still a terminated (empty) string, not an unterminated
   * allocation (found by fuzzing the subtitle reader). */
  stream__buf_init(&b);
  ck_assert_int_eq(stream__buf_detach(&b, &s), STREAM_OK);
  ck_assert_ptr_nonnull(s);
  ck_assert_uint_eq(strlen(s), 0);
  stream_free(s);
}
END_TEST

/* Encode `cp` in `len` bytes (1..4) the UTF-8 way, whether or not that is the
 * shortest form (overlongs) or a scalar value (surrogates, past U+10FFFF). */
static size_t utf8_encode(unsigned char *o, uint32_t cp, size_t len)
{
  static const unsigned char lead[] = {0, 0x00, 0xc0, 0xe0, 0xf0};
  for (size_t i = len - 1; i > 0; i--) {
    o[i] = (unsigned char)(0x80 | (cp & 0x3f));
    cp >>= 6;
  }
  o[0] = (unsigned char)(lead[len] | cp);
  return len;
}

/* The loop below checks 1.1 M code points: a ck_assert per check would cost Check a
 * location message each (seconds of system time, half a minute under ASan), so the loop
 * records the first failure and one assertion reports it. */
START_TEST(test_utf8_every_code_point)
{
  unsigned char b[4];
  const char *bad = NULL;
  uint32_t bad_cp = 0;
  size_t bad_len = 0;
  for (uint32_t cp = 0; cp <= 0x10ffff && !bad; cp++) {
    size_t len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    utf8_encode(b, cp, len);
    bool surrogate = cp >= 0xd800 && cp <= 0xdfff;
    bad_cp = cp;
    bad_len = len;
    if (stream__utf8_seq(b, len) != (surrogate ? 0 : len))
      bad = "stream__utf8_seq of the shortest form";
    else if (stream__utf8_valid(b, len) != !surrogate)
      bad = "stream__utf8_valid of the shortest form";
    /* Cut short: never valid (except the 1-byte form, which cannot be cut). */
    else if (len > 1 && stream__utf8_seq(b, len - 1) != 0)
      bad = "a form cut short accepted";
    /* Overlong: every longer form of the same value is refused. */
    for (size_t more = len + 1; more <= 4 && !bad; more++) {
      utf8_encode(b, cp, more);
      bad_len = more;
      if (stream__utf8_seq(b, more) != 0)
        bad = "an overlong form accepted";
    }
  }
  ck_assert_msg(!bad, "%s: U+%04X in %zu bytes", bad, (unsigned)bad_cp, bad_len);
  /* Past U+10FFFF in four bytes, and the bytes that never occur. */
  for (uint32_t cp = 0x110000; cp < 0x200000; cp += 0x1001) {
    utf8_encode(b, cp, 4);
    ck_assert_uint_eq(stream__utf8_seq(b, 4), 0);
  }
  for (unsigned int c = 0x80; c <= 0xff; c++) {
    unsigned char one[4] = {(unsigned char)c, 0x80, 0x80, 0x80};
    if (c < 0xc2 || c > 0xf4)
      ck_assert_msg(stream__utf8_seq(one, 4) == 0, "lead byte %02x", c);
  }
  ck_assert_uint_eq(stream__utf8_seq("a", 0), 0);
}
END_TEST

START_TEST(test_utf8_check_and_scrub)
{
  const char ok[] = "Caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\xac";
  ck_assert_uint_eq(stream__utf8_check(ok, strlen(ok)), strlen(ok));
  ck_assert(stream__utf8_valid("", 0));
  /* The offset of the first bad byte. */
  ck_assert_uint_eq(stream__utf8_check("ab\xff-d", 5), 2);
  ck_assert_uint_eq(stream__utf8_check("\xc3\xa9\xc3(", 4), 2);
  ck_assert_uint_eq(stream__utf8_check("x\xed\xa0\x80", 4), 1);
  ck_assert_uint_eq(stream__utf8_check("abc\xe6\x97", 5), 3); /* cut by the end */
  /* Scrub: each byte that starts no character becomes '?', the rest is kept. */
  char t[] = "ok \xc3\xa9 \xff bad \xe6\x97";
  ck_assert_uint_eq(stream__utf8_scrub(t), 3);
  ck_assert_str_eq(t, "ok \xc3\xa9 ? bad ??");
  char u[] = "\xed\xa0\x80 \xc0\xaf";
  ck_assert_uint_eq(stream__utf8_scrub(u), 5);
  ck_assert_str_eq(u, "??? ??");
  char v[] = "\xf0\x9f\x8e\xac";
  ck_assert_uint_eq(stream__utf8_scrub(v), 0);
  ck_assert_str_eq(v, "\xf0\x9f\x8e\xac");
}
END_TEST

START_TEST(test_token_bucket)
{
  /* burst 5, one token per 60 s. */
  double tokens = 2.0;
  int64_t updated = 1000;
  stream__bucket_refill(&tokens, &updated, 5, 60, 1030); /* half a token in 30 s */
  ck_assert_double_eq_tol(tokens, 2.5, 1e-9);
  ck_assert_int_eq(updated, 1030);
  /* A clock behind the bucket refills nothing and never moves its time back. */
  stream__bucket_refill(&tokens, &updated, 5, 60, 900);
  ck_assert_double_eq_tol(tokens, 2.5, 1e-9);
  ck_assert_int_eq(updated, 1030);
  /* Never past the burst, also a burst lowered since. */
  stream__bucket_refill(&tokens, &updated, 5, 60, 1030 + 3600);
  ck_assert_double_eq_tol(tokens, 5.0, 1e-9);
  stream__bucket_refill(&tokens, &updated, 3, 60, 1030 + 3600);
  ck_assert_double_eq_tol(tokens, 3.0, 1e-9);
  /* Waits: whole seconds rounded up, at least 1, 0 with a token there. */
  ck_assert_int_eq(stream__bucket_wait(1.0, 60), 0);
  ck_assert_int_eq(stream__bucket_wait(0.5, 60), 30);
  ck_assert_int_eq(stream__bucket_wait(0.0, 60), 60);
  ck_assert_int_eq(stream__bucket_wait(0.99, 60), 1);  /* 0.6 s -> 1 */
  ck_assert_int_eq(stream__bucket_wait(0.999, 10), 1); /* 0.01 s -> at least 1 */
  ck_assert_int_eq(stream__bucket_wait(0.25, 7), 6);   /* 5.25 s -> 6 */
  ck_assert_int_eq(stream__ceil_seconds(4.0), 4);
  ck_assert_int_eq(stream__ceil_seconds(4.2), 5);
  ck_assert_int_eq(stream__ceil_seconds(0.0), 0);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("core");
  TCase *tc = tcase_create("core");
  tcase_add_test(tc, test_base64_rfc4648_vectors);
  tcase_add_test(tc, test_base64url_alphabet);
  tcase_add_test(tc, test_base64_rejects_malformed);
  tcase_add_test(tc, test_base64_random_roundtrip);
  tcase_add_test(tc, test_hex_decode);
  tcase_add_test(tc, test_ct_equal);
  tcase_add_test(tc, test_random);
  tcase_add_test(tc, test_strerror_and_version);
  tcase_add_test(tc, test_error_is_thread_local);
  tcase_add_test(tc, test_log_callback);
  tcase_add_test(tc, test_buf_builder);
  tcase_add_test(tc, test_utf8_every_code_point);
  tcase_add_test(tc, test_utf8_check_and_scrub);
  tcase_add_test(tc, test_token_bucket);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
