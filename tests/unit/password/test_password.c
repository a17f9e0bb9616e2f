/* Unit tests for the password module (public API only, through the shared library).
 * Vectors: standards.md §6.1 (RFC 9106 §5.3) and §6.2 (PHC reference src/test.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/password.h"

typedef struct vec {
  uint32_t t, m, p;
  const char *pwd;
  const char *salt;
  const char *hex;
  const char *phc;
} vec;

/* standards.md §6.2, in order. */
static const vec vectors[] = {
    {2, 65536, 1, "password", "somesalt",
     "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7",
     "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"},
    {2, 262144, 1, "password", "somesalt",
     "78fe1ec91fb3aa5657d72e710854e4c3d9b9198c742f9616c2f085bed95b2e8c",
     "$argon2id$v=19$m=262144,t=2,p=1$c29tZXNhbHQ$eP4eyR+zqlZX1y5xCFTkw9m5GYx0L5YWwvCFvtlbLow"},
    {2, 256, 1, "password", "somesalt",
     "9dfeb910e80bad0311fee20f9c0e2b12c17987b4cac90c2ef54d5b3021c68bfe",
     "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
    {2, 256, 2, "password", "somesalt",
     "6d093c501fd5999645e0ea3bf620d7b8be7fd2db59c20d9fff9539da2bf57037",
     "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc"},
    {1, 65536, 1, "password", "somesalt",
     "f6a5adc1ba723dddef9b5ac1d464e180fcd9dffc9d1cbf76cca2fed795d9ca98",
     "$argon2id$v=19$m=65536,t=1,p=1$c29tZXNhbHQ$9qWtwbpyPd3vm1rB1GThgPzZ3/ydHL92zKL+15XZypg"},
    {4, 65536, 1, "password", "somesalt",
     "9025d48e68ef7395cca9079da4c4ec3affb3c8911fe4f86d1a2520856f63172c",
     "$argon2id$v=19$m=65536,t=4,p=1$c29tZXNhbHQ$kCXUjmjvc5XMqQedpMTsOv+zyJEf5PhtGiUghW9jFyw"},
    {2, 65536, 1, "differentpassword", "somesalt",
     "0b84d652cf6b0c4beaef0dfe278ba6a80df6696281d7e0d2891b817d8c458fde",
     "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$C4TWUs9rDEvq7w3+J4umqA32aWKB1+DSiRuBfYxFj94"},
    {2, 65536, 1, "password", "diffsalt",
     "bdf32b05ccc42eb15d58fd19b1f856b113da1e9a5874fdcc544308565aa8141c",
     "$argon2id$v=19$m=65536,t=2,p=1$ZGlmZnNhbHQ$vfMrBczELrFdWP0ZsfhWsRPaHppYdP3MVEMIVlqoFBw"},
};
#define NVEC (sizeof vectors / sizeof vectors[0])

/* The cheap (m=256) vector, used for the fuzz-style tests. */
static const char *cheap =
    "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";

static void to_hex(char *dst, const unsigned char *src, size_t n)
{
  static const char hx[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    dst[2 * i] = hx[src[i] >> 4];
    dst[2 * i + 1] = hx[src[i] & 15];
  }
  dst[2 * n] = 0;
}

static stream_password_params vec_params(const vec *v)
{
  stream_password_params pp = STREAM_PASSWORD_PARAMS_INIT;
  pp.m_cost = v->m;
  pp.t_cost = v->t;
  pp.parallelism = v->p;
  pp.salt = (const unsigned char *)v->salt;
  pp.salt_len = (uint32_t)strlen(v->salt);
  return pp;
}

/* Every §6.2 vector is reproduced byte for byte from its salt (each hashed once). */
START_TEST(test_phc_vectors_hash)
{
  for (size_t i = 0; i < NVEC; i++) {
    stream_password_params pp = vec_params(&vectors[i]);
    char *phc = NULL;
    ck_assert_int_eq(stream_password_hash(&phc, vectors[i].pwd, strlen(vectors[i].pwd), &pp),
                     STREAM_OK);
    ck_assert_str_eq(phc, vectors[i].phc);
    stream_free(phc);
  }
}
END_TEST

/* The vector strings verify (skipping the 256 MiB one, already computed above). */
START_TEST(test_phc_vectors_verify)
{
  for (size_t i = 0; i < NVEC; i++) {
    if (vectors[i].m > 65536)
      continue;
    ck_assert_int_eq(stream_password_verify(vectors[i].phc, vectors[i].pwd, strlen(vectors[i].pwd)),
                     STREAM_OK);
  }
  /* Wrong passwords. */
  ck_assert_int_eq(stream_password_verify(vectors[0].phc, "differentpassword", 17), STREAM_EAUTH);
  ck_assert_int_eq(stream_password_verify(vectors[6].phc, "password", 8), STREAM_EAUTH);
  ck_assert(strstr(stream_error_last()->message, "does not match") != NULL);
  ck_assert_int_eq(stream_password_verify(cheap, "Password", 8), STREAM_EAUTH);
  ck_assert_int_eq(stream_password_verify(cheap, "password\0", 9), STREAM_EAUTH);
  ck_assert_int_eq(stream_password_verify(cheap, "passwor", 7), STREAM_EAUTH);
  ck_assert_int_eq(stream_password_verify(cheap, "", 0), STREAM_EAUTH);
}
END_TEST

/* The raw function gives the hex tags of the cheap vectors. */
START_TEST(test_raw_matches_phc_hex)
{
  for (size_t i = 2; i <= 3; i++) {
    stream_password_params pp = vec_params(&vectors[i]);
    unsigned char tag[32];
    char hex[65];
    ck_assert_int_eq(stream_password_argon2id_raw(tag, sizeof tag, "password", 8, "somesalt", 8,
                                                  NULL, 0, NULL, 0, &pp),
                     STREAM_OK);
    to_hex(hex, tag, sizeof tag);
    ck_assert_str_eq(hex, vectors[i].hex);
  }
}
END_TEST

/* standards.md §6.1: RFC 9106 §5.3 with secret and associated data. */
START_TEST(test_rfc9106_vector)
{
  unsigned char pwd[32], salt[16], secret[8], ad[12], tag[32];
  char hex[65];
  memset(pwd, 1, sizeof pwd);
  memset(salt, 2, sizeof salt);
  memset(secret, 3, sizeof secret);
  memset(ad, 4, sizeof ad);
  stream_password_params pp = STREAM_PASSWORD_PARAMS_INIT;
  pp.m_cost = 32;
  pp.t_cost = 3;
  pp.parallelism = 4;
  ck_assert_int_eq(stream_password_argon2id_raw(tag, sizeof tag, pwd, sizeof pwd, salt, sizeof salt,
                                                secret, sizeof secret, ad, sizeof ad, &pp),
                   STREAM_OK);
  to_hex(hex, tag, sizeof tag);
  ck_assert_str_eq(hex, "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659");
  /* Without the secret the tag differs. */
  ck_assert_int_eq(stream_password_argon2id_raw(tag, sizeof tag, pwd, sizeof pwd, salt, sizeof salt,
                                                NULL, 0, ad, sizeof ad, &pp),
                   STREAM_OK);
  to_hex(hex, tag, sizeof tag);
  ck_assert_str_ne(hex, "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659");
  /* Argument checks. */
  ck_assert_int_eq(stream_password_argon2id_raw(NULL, 32, pwd, 32, salt, 16, NULL, 0, NULL, 0, &pp),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_password_argon2id_raw(tag, 3, pwd, 32, salt, 16, NULL, 0, NULL, 0, &pp),
                   STREAM_ERANGE);
  ck_assert_int_eq(stream_password_argon2id_raw(tag, 32, NULL, 32, salt, 16, NULL, 0, NULL, 0, &pp),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_password_argon2id_raw(tag, 32, pwd, 32, NULL, 16, NULL, 0, NULL, 0, &pp),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_password_argon2id_raw(tag, 32, pwd, 32, salt, 7, NULL, 0, NULL, 0, &pp),
                   STREAM_ERANGE);
  ck_assert_int_eq(stream_password_argon2id_raw(tag, 32, pwd, 32, salt, 16, NULL, 8, NULL, 0, &pp),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_password_argon2id_raw(tag, 32, pwd, 32, salt, 16, NULL, 0, NULL, 4, &pp),
                   STREAM_EINVAL);
  ck_assert_int_eq(
      stream_password_argon2id_raw(tag, 32, pwd, 5000, salt, 16, NULL, 0, NULL, 0, &pp),
      STREAM_ERANGE);
  pp.m_cost = 31; /* below 8 * p */
  ck_assert_int_eq(stream_password_argon2id_raw(tag, 32, pwd, 32, salt, 16, NULL, 0, NULL, 0, &pp),
                   STREAM_ERANGE);
}
END_TEST

START_TEST(test_defaults_round_trip)
{
  const char pw[] = "correct horse battery staple";
  char *a = NULL, *b = NULL;
  ck_assert_int_eq(stream_password_hash(&a, pw, strlen(pw), NULL), STREAM_OK);
  ck_assert(strncmp(a, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
  /* 16-byte salt -> 22 chars, 32-byte tag -> 43 chars. */
  const char *salt = a + 31;
  const char *d = strchr(salt, '$');
  ck_assert_ptr_nonnull(d);
  ck_assert_uint_eq((size_t)(d - salt), 22);
  ck_assert_uint_eq(strlen(d + 1), 43);
  ck_assert_int_eq(stream_password_verify(a, pw, strlen(pw)), STREAM_OK);
  ck_assert_int_eq(stream_password_verify(a, pw, strlen(pw) - 1), STREAM_EAUTH);
  int rh = -1;
  ck_assert_int_eq(stream_password_needs_rehash(&rh, a, NULL), STREAM_OK);
  ck_assert_int_eq(rh, 0);
  /* A fresh random salt each time. */
  ck_assert_int_eq(stream_password_hash(&b, pw, strlen(pw), NULL), STREAM_OK);
  ck_assert_str_ne(a, b);
  stream_free(a);
  stream_free(b);
}
END_TEST

START_TEST(test_nul_bytes_and_lengths)
{
  stream_password_params pp = STREAM_PASSWORD_PARAMS_INIT;
  pp.m_cost = 64;
  pp.t_cost = 1;
  char *h = NULL;
  ck_assert_int_eq(stream_password_hash(&h, "a\0b", 3, &pp), STREAM_OK);
  ck_assert_int_eq(stream_password_verify(h, "a\0b", 3), STREAM_OK);
  ck_assert_int_eq(stream_password_verify(h, "a\0c", 3), STREAM_EAUTH);
  ck_assert_int_eq(stream_password_verify(h, "a", 1), STREAM_EAUTH);
  stream_free(h);
  /* Length limits: 1..4096. */
  static char big[4097];
  memset(big, 'x', sizeof big);
  ck_assert_int_eq(stream_password_hash(&h, big, 4096, &pp), STREAM_OK);
  ck_assert_int_eq(stream_password_verify(h, big, 4096), STREAM_OK);
  ck_assert_int_eq(stream_password_verify(h, big, 4097), STREAM_EAUTH);
  stream_free(h);
  ck_assert_int_eq(stream_password_hash(&h, big, 4097, &pp), STREAM_ERANGE);
  ck_assert_ptr_null(h);
  ck_assert_int_eq(stream_password_hash(&h, "", 0, &pp), STREAM_ERANGE);
}
END_TEST

START_TEST(test_hash_bad_arguments)
{
  char *h = (char *)1;
  ck_assert_int_eq(stream_password_hash(NULL, "pw", 2, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_password_hash(&h, NULL, 2, NULL), STREAM_EINVAL);
  ck_assert_ptr_null(h);
  stream_password_params pp = STREAM_PASSWORD_PARAMS_INIT;
  pp.version = 0;
  ck_assert_int_eq(stream_password_hash(&h, "pw", 2, &pp), STREAM_EINVAL);
  ck_assert(strstr(stream_error_last()->message, "version") != NULL);
  struct {
    uint32_t m, t, p, hash_len, salt_len;
  } bad[] = {
      {7, 1, 1, 32, 16},   {1048577, 1, 1, 32, 16}, {4194304, 1, 1, 32, 16}, {64, 0, 1, 32, 16},
      {64, 65, 1, 32, 16}, {64, 1, 0, 32, 16},      {64, 1, 17, 32, 16},     {15, 1, 2, 32, 16},
      {64, 1, 1, 15, 16},  {64, 1, 1, 65, 16},      {64, 1, 1, 32, 7},       {64, 1, 1, 32, 65},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    stream_password_params q = STREAM_PASSWORD_PARAMS_INIT;
    q.m_cost = bad[i].m;
    q.t_cost = bad[i].t;
    q.parallelism = bad[i].p;
    q.hash_len = bad[i].hash_len;
    q.salt_len = bad[i].salt_len;
    ck_assert_msg(stream_password_hash(&h, "pw", 2, &q) == STREAM_ERANGE, "case %zu", i);
    ck_assert_ptr_null(h);
  }
  /* Other hash and salt lengths within limits are honoured. */
  stream_password_params q = STREAM_PASSWORD_PARAMS_INIT;
  q.m_cost = 64;
  q.t_cost = 1;
  q.hash_len = 64;
  q.salt_len = 8;
  ck_assert_int_eq(stream_password_hash(&h, "pw", 2, &q), STREAM_OK);
  ck_assert(strncmp(h, "$argon2id$v=19$m=64,t=1,p=1$", 28) == 0);
  ck_assert_uint_eq(strlen(strrchr(h, '$') + 1), 86);
  ck_assert_int_eq(stream_password_verify(h, "pw", 2), STREAM_OK);
  stream_free(h);
  ck_assert_int_eq(stream_password_verify(NULL, "pw", 2), STREAM_EINVAL);
  ck_assert_int_eq(stream_password_verify(cheap, NULL, 2), STREAM_EINVAL);
}
END_TEST

START_TEST(test_needs_rehash)
{
  /* cheap: m=256,t=2,p=1, 8-byte salt, 32-byte tag */
  stream_password_params pp = STREAM_PASSWORD_PARAMS_INIT;
  pp.m_cost = 256;
  pp.t_cost = 2;
  pp.parallelism = 1;
  pp.salt_len = 8;
  int out = -1;
  ck_assert_int_eq(stream_password_needs_rehash(&out, cheap, &pp), STREAM_OK);
  ck_assert_int_eq(out, 0);
  stream_password_params q = pp;
  q.m_cost = 512;
  ck_assert_int_eq(stream_password_needs_rehash(&out, cheap, &q), STREAM_OK);
  ck_assert_int_eq(out, 1);
  q = pp;
  q.t_cost = 3;
  ck_assert_int_eq(stream_password_needs_rehash(&out, cheap, &q), STREAM_OK);
  ck_assert_int_eq(out, 1);
  q = pp;
  q.parallelism = 2;
  ck_assert_int_eq(stream_password_needs_rehash(&out, cheap, &q), STREAM_OK);
  ck_assert_int_eq(out, 1);
  q = pp;
  q.hash_len = 64;
  ck_assert_int_eq(stream_password_needs_rehash(&out, cheap, &q), STREAM_OK);
  ck_assert_int_eq(out, 1);
  q = pp;
  q.salt_len = 16;
  ck_assert_int_eq(stream_password_needs_rehash(&out, cheap, &q), STREAM_OK);
  ck_assert_int_eq(out, 1);
  /* Against the defaults. */
  ck_assert_int_eq(stream_password_needs_rehash(&out, cheap, NULL), STREAM_OK);
  ck_assert_int_eq(out, 1);
  /* An old v=16 string parses here and needs a rehash, but never verifies. */
  const char *v16 =
      "$argon2id$v=16$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";
  ck_assert_int_eq(stream_password_needs_rehash(&out, v16, &pp), STREAM_OK);
  ck_assert_int_eq(out, 1);
  ck_assert_int_eq(stream_password_verify(v16, "password", 8), STREAM_ENOTSUP);
  /* Errors. */
  ck_assert_int_eq(stream_password_needs_rehash(NULL, cheap, &pp), STREAM_EINVAL);
  ck_assert_int_eq(stream_password_needs_rehash(&out, NULL, &pp), STREAM_EINVAL);
  ck_assert_int_eq(stream_password_needs_rehash(&out, "$argon2id$", &pp), STREAM_EINVAL);
  ck_assert_int_eq(out, 0);
  q = pp;
  q.version = 7;
  ck_assert_int_eq(stream_password_needs_rehash(&out, cheap, &q), STREAM_EINVAL);
  q = pp;
  q.m_cost = 0;
  ck_assert_int_eq(stream_password_needs_rehash(&out, cheap, &q), STREAM_ERANGE);
}
END_TEST

typedef struct bad_phc {
  const char *s;
  int code;
} bad_phc;

/* Malformed and hostile strings: the precise error, never a match, never an
 * allocation (the bounds are checked before Argon2 runs). */
START_TEST(test_malformed_phc)
{
  static const bad_phc bad[] = {
      {"", STREAM_EINVAL},
      {"$", STREAM_EINVAL},
      {"argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_EINVAL},
      {"$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_ENOTSUP},
      {"$argon2d$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_ENOTSUP},
      {"$ARGON2ID$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_EINVAL},
      {"$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
       STREAM_EINVAL},
      /* missing or wrong version */
      {"$argon2id$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_EINVAL},
      {"$argon2id$v=20$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_ENOTSUP},
      {"$argon2id$v=16$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_ENOTSUP},
      {"$argon2id$v=019$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_EINVAL},
      {"$argon2id$v=$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_EINVAL},
      /* hostile costs: 4 GiB, huge t, huge p, overflow */
      {"$argon2id$v=19$m=4194304,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_ERANGE},
      {"$argon2id$v=19$m=1048577,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_ERANGE},
      {"$argon2id$v=19$m=4294967295,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/"
       "4",
       STREAM_ERANGE},
      {"$argon2id$v=19$m=4294967296,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/"
       "4",
       STREAM_EINVAL},
      {"$argon2id$v=19$m=99999999999999999999,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/"
       "uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_EINVAL},
      {"$argon2id$v=19$m=256,t=4294967295,p=1$c29tZXNhbHQ$nf65EOgLrQMR/"
       "uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_ERANGE},
      {"$argon2id$v=19$m=256,t=0,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_ERANGE},
      {"$argon2id$v=19$m=256,t=2,p=0$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_ERANGE},
      {"$argon2id$v=19$m=256,t=2,p=255$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_ERANGE},
      {"$argon2id$v=19$m=8,t=2,p=2$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_ERANGE},
      /* number syntax */
      {"$argon2id$v=19$m=0256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_EINVAL},
      {"$argon2id$v=19$m=+256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_EINVAL},
      {"$argon2id$v=19$m=-256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_EINVAL},
      {"$argon2id$v=19$m= 256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_EINVAL},
      {"$argon2id$v=19$t=2,m=256,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_EINVAL},
      {"$argon2id$v=19$m=256,t=2$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_EINVAL},
      {"$argon2id$v=19$m=256,t=2,p=1,keyid=abc$c29tZXNhbHQ$nf65EOgLrQMR/"
       "uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_EINVAL},
      {"$argon2id$v=19$m=256,t=2,p=1,data=abc$c29tZXNhbHQ$nf65EOgLrQMR/"
       "uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_EINVAL},
      /* base64 */
      {"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ=$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_EINVAL},
      {"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4=",
       STREAM_EINVAL},
      {"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR_uIPnA4rEsF5h7TKyQwu9U1bMCHGi_4",
       STREAM_EINVAL},
      {"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/5",
       STREAM_EINVAL},
      {"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/",
       STREAM_EINVAL},
      {"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4 ",
       STREAM_EINVAL},
      {"$argon2id$v=19$m=256,t=2,p=1$c29t ZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_EINVAL},
      {"$argon2id$v=19$m=256,t=2,p=1$$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4", STREAM_EINVAL},
      {"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$", STREAM_EINVAL},
      {"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ", STREAM_EINVAL},
      {"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4$",
       STREAM_EINVAL},
      /* salt under 8 bytes, tag under 16 or over 64 bytes */
      {"$argon2id$v=19$m=256,t=2,p=1$c29tZXNh$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
       STREAM_ERANGE},
      {"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4r", STREAM_ERANGE},
      {"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$"
       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
       "A",
       STREAM_ERANGE},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = stream_password_verify(bad[i].s, "password", 8);
    ck_assert_msg(rc == bad[i].code, "case %zu: got %d want %d (%s)", i, rc, bad[i].code,
                  stream_error_last() ? stream_error_last()->message : "");
    ck_assert_ptr_nonnull(stream_error_last());
  }
  /* Over-long input is refused before parsing. */
  static char longs[2048];
  memset(longs, 'A', sizeof longs - 1);
  memcpy(longs, "$argon2id$v=19$m=256,t=2,p=1$", 29);
  ck_assert_int_eq(stream_password_verify(longs, "password", 8), STREAM_EINVAL);
}
END_TEST

/* Every truncation and every single-bit flip of a valid string fails cleanly. */
START_TEST(test_truncated_and_flipped)
{
  size_t n = strlen(cheap);
  char buf[128];
  for (size_t k = 0; k < n; k++) {
    memcpy(buf, cheap, k);
    buf[k] = 0;
    ck_assert_msg(stream_password_verify(buf, "password", 8) != STREAM_OK, "prefix %zu", k);
  }
  for (size_t i = 0; i < n; i++) {
    for (int bit = 0; bit < 8; bit++) {
      memcpy(buf, cheap, n + 1);
      buf[i] = (char)(buf[i] ^ (1 << bit));
      ck_assert_msg(stream_password_verify(buf, "password", 8) != STREAM_OK, "flip %zu.%d", i, bit);
    }
  }
  /* Unmodified, it still verifies (the loop did not pass by accident). */
  ck_assert_int_eq(stream_password_verify(cheap, "password", 8), STREAM_OK);
}
END_TEST

/* Random strings, random bytes and random splices never verify and never crash. */
START_TEST(test_random_inputs)
{
  static const char alpha[] = "$argon2idv=19mtp,ABCxyz+/0123456789=-_";
  srand(12345);
  char buf[160];
  for (int it = 0; it < 3000; it++) {
    size_t n = (size_t)(rand() % 150);
    int mode = it % 3;
    for (size_t i = 0; i < n; i++) {
      if (mode == 0)
        buf[i] = (char)(1 + rand() % 255);
      else
        buf[i] = alpha[rand() % (int)(sizeof alpha - 1)];
    }
    buf[n] = 0;
    if (mode == 2 && n > 0) {
      /* Splice random characters into the valid string. */
      size_t cn = strlen(cheap);
      memcpy(buf, cheap, cn + 1);
      int edits = 1 + rand() % 4;
      for (int e = 0; e < edits; e++)
        buf[(size_t)rand() % cn] = alpha[rand() % (int)(sizeof alpha - 1)];
      if (strcmp(buf, cheap) == 0)
        continue;
    }
    ck_assert_msg(stream_password_verify(buf, "password", 8) != STREAM_OK, "random %d: %s", it,
                  buf);
    int out = 0;
    (void)stream_password_needs_rehash(&out, buf, NULL);
  }
}
END_TEST

int main(void)
{
  Suite *s = suite_create("password");
  TCase *tc = tcase_create("password");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_phc_vectors_hash);
  tcase_add_test(tc, test_phc_vectors_verify);
  tcase_add_test(tc, test_raw_matches_phc_hex);
  tcase_add_test(tc, test_rfc9106_vector);
  tcase_add_test(tc, test_defaults_round_trip);
  tcase_add_test(tc, test_nul_bytes_and_lengths);
  tcase_add_test(tc, test_hash_bad_arguments);
  tcase_add_test(tc, test_needs_rehash);
  tcase_add_test(tc, test_malformed_phc);
  tcase_add_test(tc, test_truncated_and_flipped);
  tcase_add_test(tc, test_random_inputs);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
