/* Unit tests for the relay with a NATS credentials file (creds_file: decentralized JWT
 * authentication), on the fixture of relay_fixture.h. Each test starts a real nats-server in
 * operator mode on a loopback port: the operator's JWT, a MEMORY resolver preloaded with the
 * JWT of one account, JetStream enabled for that account (its JWT's limits). The keys are new
 * Ed25519 keys made with OpenSSL at test time, written as NATS nkeys, and the JWTs are signed
 * here; nothing is committed. Checked: without credentials the server refuses the relay; with
 * the user's .creds file the relay publishes and the reader (stream_relay_reader) replicates;
 * a user of an account the server does not know, a corrupt seed, a file without a seed, a file
 * that is not there are refused with the status and a message naming the file, never showing
 * the seed. Exits 77 (meson: skipped) when nats-server is not installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "relay_fixture.h"

/* ---- nkeys and JWTs ------------------------------------------------------------------ */

/* The nkey prefix bytes: the first base32 character of a public key says its kind (O, A, U);
 * seeds start with S, then the kind. */
#define PREFIX_SEED (18 << 3)
#define PREFIX_OPERATOR (14 << 3)
#define PREFIX_ACCOUNT 0
#define PREFIX_USER (20 << 3)

/* An Ed25519 key pair and its nkey encodings. */
typedef struct nkey {
  EVP_PKEY *pk;
  char pub[64];  /* 56 characters: prefix, 32-byte public key, CRC */
  char seed[64]; /* 58 characters: two prefix bytes, 32-byte private key, CRC */
} nkey;

/* CRC-16/XMODEM (polynomial 0x1021, initial value 0), as nkeys append it. */
static uint16_t crc16(const unsigned char *p, size_t n)
{
  uint16_t crc = 0;
  for (size_t i = 0; i < n; i++) {
    crc ^= (uint16_t)(p[i] << 8);
    for (int b = 0; b < 8; b++)
      crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
  }
  return crc;
}

/* RFC 4648 base32 without padding. */
static void base32(char *out, const unsigned char *p, size_t n)
{
  static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  unsigned int acc = 0;
  int bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    acc = (acc << 8) | p[i];
    bits += 8;
    while (bits >= 5) {
      out[o++] = alpha[(acc >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits)
    out[o++] = alpha[(acc << (5 - bits)) & 31];
  out[o] = '\0';
}

/* `raw`, then its CRC little-endian, in base32: an nkey string. */
static void nkey_encode(char *out, unsigned char *raw, size_t n)
{
  uint16_t crc = crc16(raw, n);
  raw[n] = (unsigned char)(crc & 0xff);
  raw[n + 1] = (unsigned char)(crc >> 8);
  base32(out, raw, n + 2);
}

static void nkey_new(nkey *k, unsigned char prefix)
{
  k->pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
  ck_assert_ptr_nonnull(k->pk);
  unsigned char raw[2 + 32 + 2];
  size_t len = 32;
  raw[0] = prefix;
  ck_assert_int_eq(EVP_PKEY_get_raw_public_key(k->pk, raw + 1, &len), 1);
  ck_assert_uint_eq(len, 32);
  nkey_encode(k->pub, raw, 1 + 32);
  /* The seed's two bytes: the seed prefix and the kind, packed so that both show in base32. */
  raw[0] = (unsigned char)(PREFIX_SEED | (prefix >> 5));
  raw[1] = (unsigned char)((prefix & 31) << 3);
  len = 32;
  ck_assert_int_eq(EVP_PKEY_get_raw_private_key(k->pk, raw + 2, &len), 1);
  ck_assert_uint_eq(len, 32);
  nkey_encode(k->seed, raw, 2 + 32);
  OPENSSL_cleanse(raw, sizeof raw);
}

static void nkey_free(nkey *k)
{
  EVP_PKEY_free(k->pk);
  OPENSSL_cleanse(k->seed, sizeof k->seed);
}

/* base64url without padding (the JWT encoding); `out` holds 4 * (n + 2) / 3 + 1 bytes. */
static void base64url(char *out, const unsigned char *p, size_t n)
{
  int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);
  ck_assert_int_ge(len, 0);
  for (int i = 0; i < len; i++) {
    if (out[i] == '+')
      out[i] = '-';
    else if (out[i] == '/')
      out[i] = '_';
    else if (out[i] == '=')
      out[i] = '\0';
  }
  out[len] = '\0';
}

/* A JWT with the claims of subject `sub` issued by `iss` (its "nats" object `nats`), signed
 * by `iss` with Ed25519 ("alg":"ed25519-nkey", version 2 claims). The jti is random: the
 * server reads it without checking how it was made. Freed with free(). */
static char *jwt_new(const nkey *iss, const char *sub, const char *name, const char *nats)
{
  static const char header[] = "{\"typ\":\"JWT\",\"alg\":\"ed25519-nkey\"}";
  unsigned char id[20];
  ck_assert_int_eq(RAND_bytes(id, sizeof id), 1);
  char jti[40];
  base32(jti, id, sizeof id);
  char claims[2048];
  int n = snprintf(claims, sizeof claims,
                   "{\"jti\":\"%s\",\"iat\":%lld,\"iss\":\"%s\",\"name\":\"%s\",\"sub\":\"%s\","
                   "\"nats\":%s}",
                   jti, (long long)time(NULL), iss->pub, name, sub, nats);
  ck_assert(n > 0 && (size_t)n < sizeof claims);
  size_t cap = 4 * (sizeof header + (size_t)n + 64 + 6) / 3 + 8;
  char *t = malloc(cap);
  ck_assert_ptr_nonnull(t);
  base64url(t, (const unsigned char *)header, sizeof header - 1);
  size_t l = strlen(t);
  t[l++] = '.';
  base64url(t + l, (const unsigned char *)claims, (size_t)n);
  l += strlen(t + l);
  unsigned char sig[64];
  size_t sig_len = sizeof sig;
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  ck_assert_ptr_nonnull(md);
  ck_assert_int_eq(EVP_DigestSignInit(md, NULL, NULL, NULL, iss->pk), 1);
  ck_assert_int_eq(EVP_DigestSign(md, sig, &sig_len, (const unsigned char *)t, l), 1);
  EVP_MD_CTX_free(md);
  ck_assert_uint_eq(sig_len, 64);
  t[l++] = '.';
  base64url(t + l, sig, sig_len);
  return t;
}

static char *operator_jwt(const nkey *op)
{
  return jwt_new(op, op->pub, "relay-test-operator", "{\"type\":\"operator\",\"version\":2}");
}

/* An account of `op` without limits; with JetStream when `js` (storage limits not 0: the
 * system account has none). */
static char *account_jwt(const nkey *op, const nkey *acc, const char *name, int js)
{
  char nats[512];
  snprintf(nats, sizeof nats,
           "{\"limits\":{\"subs\":-1,\"data\":-1,\"payload\":-1,\"imports\":-1,"
           "\"exports\":-1,\"wildcards\":true,\"conn\":-1,\"leaf\":-1%s},"
           "\"default_permissions\":{\"pub\":{},\"sub\":{}},\"type\":\"account\","
           "\"version\":2}",
           js ? ",\"mem_storage\":-1,\"disk_storage\":-1,\"streams\":-1,\"consumer\":-1" : "");
  return jwt_new(op, acc->pub, name, nats);
}

/* A user of account `acc`, without limits or permissions of its own. */
static char *user_jwt(const nkey *acc, const nkey *user)
{
  return jwt_new(acc, user->pub, "relay",
                 "{\"pub\":{},\"sub\":{},\"subs\":-1,\"data\":-1,\"payload\":-1,"
                 "\"type\":\"user\",\"version\":2}");
}

/* ---- the test's operator, accounts, users and .creds files --------------------------- */

static nkey op, sys, acct, other_acct, user, other_user;
static char *op_jwt, *sys_jwt, *acct_jwt;
/* tmpdir/<name>.creds: the user of the account the server knows; a user of another account
 * (absent from the resolver); the first with one character of its seed changed (the checksum
 * fails); the first without its seed; a path with no file. */
static char creds[300], other_creds[300], corrupt_creds[300], noseed_creds[300], missing_creds[300];
static char corrupt_seed[64];

static void creds_path(char *out, size_t n, const char *name)
{
  snprintf(out, n, "%s/%s.creds", tmpdir, name);
}

/* The layout nsc writes: the JWT and the seed, each between its BEGIN and END lines. */
static void write_creds(const char *path, const char *jwt, const char *seed)
{
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f, "-----BEGIN NATS USER JWT-----\n%s\n------END NATS USER JWT------\n\n", jwt);
  if (seed)
    fprintf(f,
            "************************* IMPORTANT *************************\n"
            "NKEY Seed printed below can be used to sign and prove identity.\n"
            "NKEYs are sensitive and should be treated as secrets.\n\n"
            "-----BEGIN USER NKEY SEED-----\n%s\n------END USER NKEY SEED------\n\n"
            "*************************************************************\n",
            seed);
  ck_assert_int_eq(fclose(f), 0);
  ck_assert_int_eq(chmod(path, 0600), 0);
}

static void creds_setup(void)
{
  setup();
  nkey_new(&op, PREFIX_OPERATOR);
  nkey_new(&sys, PREFIX_ACCOUNT);
  nkey_new(&acct, PREFIX_ACCOUNT);
  nkey_new(&other_acct, PREFIX_ACCOUNT);
  nkey_new(&user, PREFIX_USER);
  nkey_new(&other_user, PREFIX_USER);
  ck_assert_int_eq(op.pub[0], 'O');
  ck_assert_int_eq(acct.pub[0], 'A');
  ck_assert_int_eq(user.pub[0], 'U');
  ck_assert(strncmp(user.seed, "SU", 2) == 0);
  op_jwt = operator_jwt(&op);
  sys_jwt = account_jwt(&op, &sys, "SYS", 0);
  acct_jwt = account_jwt(&op, &acct, "relay-test", 1);
  creds_path(creds, sizeof creds, "relay");
  creds_path(other_creds, sizeof other_creds, "other-account");
  creds_path(corrupt_creds, sizeof corrupt_creds, "corrupt-seed");
  creds_path(noseed_creds, sizeof noseed_creds, "no-seed");
  creds_path(missing_creds, sizeof missing_creds, "missing");
  char *u = user_jwt(&acct, &user);
  write_creds(creds, u, user.seed);
  write_creds(noseed_creds, u, NULL);
  /* A character in the middle of the key, changed to another of the alphabet. */
  snprintf(corrupt_seed, sizeof corrupt_seed, "%s", user.seed);
  corrupt_seed[20] = corrupt_seed[20] == 'A' ? 'B' : 'A';
  write_creds(corrupt_creds, u, corrupt_seed);
  free(u);
  /* other_acct's JWT is never made: the server knows no such account. */
  u = user_jwt(&other_acct, &other_user);
  write_creds(other_creds, u, other_user.seed);
  free(u);
}

static void creds_teardown(void)
{
  free(op_jwt);
  free(sys_jwt);
  free(acct_jwt);
  nkey_free(&op);
  nkey_free(&sys);
  nkey_free(&acct);
  nkey_free(&other_acct);
  nkey_free(&user);
  nkey_free(&other_user);
  OPENSSL_cleanse(corrupt_seed, sizeof corrupt_seed);
  teardown();
}

/* nats-server in operator mode: the operator's JWT, the JWTs of the account and of the system
 * account (JetStream needs one) in a MEMORY resolver, JetStream (enabled for the account by its
 * JWT). */
static void server_start_operator(void)
{
  char conf[400];
  snprintf(conf, sizeof conf, "%s/nats.conf", tmpdir);
  FILE *f = fopen(conf, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(
      f,
      "listen: \"127.0.0.1:%d\"\njetstream { store_dir: \"%s\" }\noperator: \"%s\"\n"
      "system_account: %s\nresolver: MEMORY\nresolver_preload: {\n  %s: \"%s\"\n  %s: \"%s\"\n}\n",
      server_port, jsdir, op_jwt, sys.pub, sys.pub, sys_jwt, acct.pub, acct_jwt);
  ck_assert_int_eq(fclose(f), 0);
  server_start_conf(NULL, NULL, conf);
}

static stream_relay_options creds_options(const char *file)
{
  stream_relay_options o = STREAM_RELAY_OPTIONS_INIT;
  o.events = events;
  o.url = url;
  o.timeout_ms = 2000;
  o.create_stream = 1;
  o.creds_file = file;
  return o;
}

/* The last error's message shows no part of a seed. */
static void check_no_seed(void)
{
  const stream_error *e = stream_error_last();
  const char *m = e ? e->message : "";
  const char *seeds[] = {user.seed, corrupt_seed, other_user.seed};
  for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
    char part[17];
    /* 16 characters of the key itself, past the "SU" anyone can guess */
    snprintf(part, sizeof part, "%s", seeds[i] + 10);
    ck_assert_msg(!strstr(m, part), "the message shows a seed: %s", m);
  }
}

/* A reader with the user's creds file, for check_stream_equals_log(). */
static void reader_open_creds(reader *rd)
{
  natsOptions *no = NULL;
  ck_assert_int_eq(natsOptions_Create(&no), NATS_OK);
  ck_assert_int_eq(natsOptions_SetURL(no, url), NATS_OK);
  ck_assert_int_eq(natsOptions_SetUserCredentialsFromFiles(no, creds, NULL), NATS_OK);
  ck_assert_int_eq(natsConnection_Connect(&rd->nc, no), NATS_OK);
  natsOptions_Destroy(no);
  ck_assert_int_eq(natsConnection_JetStream(&rd->js, rd->nc, NULL), NATS_OK);
}

START_TEST(test_relay_creds_events_arrive)
{
  server_start_operator();
  ingest(1, 20);
  /* Without credentials: refused (the server does require them). */
  stream_relay_options o = creds_options(NULL);
  expect_fail(&o, STREAM_EAUTH, url, NULL);
  /* With the user's creds file: relayed. */
  o = creds_options(creds);
  o.batch = 8;
  stream_relay *r = NULL;
  int rc = stream_relay_new(&r, &o);
  ck_assert_msg(rc == STREAM_OK, "stream_relay_new with %s: %s", creds,
                stream_error_last()->message);
  int64_t total = 0, dups = 0;
  drain(r, &total, &dups);
  ck_assert_int_eq(total, 20);
  ck_assert_int_eq(dups, 0);
  ck_assert_int_eq(checkpoint(STREAM_RELAY_DEFAULT_CONSUMER), 20);
  stream_relay_free(r);
  reader rd;
  reader_open_creds(&rd);
  check_stream_equals_log(&rd);
  reader_close(&rd);
  /* The reader with the same file replicates the stream into another log. */
  stream_store *st_b = NULL;
  stream_events *ev_b = NULL;
  open_log(&st_b, &ev_b, "b.sqlite", NULL);
  stream_relay_reader_options ro = STREAM_RELAY_READER_OPTIONS_INIT;
  ro.events = ev_b;
  ro.url = url;
  ro.timeout_ms = 2000;
  ro.creds_file = creds;
  stream_relay_reader *rr = NULL;
  rc = stream_relay_reader_new(&rr, &ro);
  ck_assert_msg(rc == STREAM_OK, "stream_relay_reader_new with %s: %s", creds,
                stream_error_last()->message);
  int64_t appended = 0, n = 0;
  for (int i = 0; i < 10 && n < 20; i++) {
    rc = stream_relay_reader_run_once(rr, &appended, NULL, NULL);
    ck_assert_msg(rc == STREAM_OK, "reader round: %s", stream_error_last()->message);
    n += appended;
  }
  ck_assert_int_eq(n, 20);
  stream_relay_reader_free(rr);
  stream_event *evs = NULL;
  size_t count = 0;
  ck_assert_int_eq(stream_events_read(ev_b, &evs, &count, 0, STREAM_EVENTS_READ_MAX), STREAM_OK);
  ck_assert_uint_eq(count, 20);
  stream_free(evs);
  stream_events_free(ev_b);
  stream_store_close(st_b);
}
END_TEST

/* Creds the server refuses, or that cannot be used: the status, the file named, no seed shown;
 * nothing relayed. */
START_TEST(test_relay_creds_refused)
{
  server_start_operator();
  ingest(1, 5);
  /* A user of an account this server does not know: refused by the server. */
  stream_relay_options o = creds_options(other_creds);
  expect_fail(&o, STREAM_EAUTH, url, other_creds);
  check_no_seed();
  /* The seed does not match its checksum, no seed: nats.c cannot sign the server's nonce, and
   * that is said of the file, not of NATS being unreachable. */
  o.creds_file = corrupt_creds;
  expect_fail(&o, STREAM_EIO, corrupt_creds, "cannot be used");
  check_no_seed();
  o.creds_file = noseed_creds;
  expect_fail(&o, STREAM_EIO, noseed_creds, "cannot be used");
  check_no_seed();
  /* No file. */
  o.creds_file = missing_creds;
  expect_fail(&o, STREAM_EIO, missing_creds, "No such file");
  check_no_seed();
  ck_assert_int_eq(checkpoint(STREAM_RELAY_DEFAULT_CONSUMER), 0);
  /* The reader says the same (it connects with the relay's code). */
  stream_relay_reader_options ro = STREAM_RELAY_READER_OPTIONS_INIT;
  ro.events = events;
  ro.url = url;
  ro.timeout_ms = 2000;
  static const struct {
    const char *file;
    int rc;
  } bad[] = {{other_creds, STREAM_EAUTH},
             {corrupt_creds, STREAM_EIO},
             {noseed_creds, STREAM_EIO},
             {missing_creds, STREAM_EIO}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ro.creds_file = bad[i].file;
    stream_relay_reader *rr = (stream_relay_reader *)1;
    int rc = stream_relay_reader_new(&rr, &ro);
    const char *m = rc != STREAM_OK ? stream_error_last()->message : "(no error)";
    ck_assert_msg(rc == bad[i].rc, "reader with %s: expected %d, got %d: %s", bad[i].file,
                  bad[i].rc, rc, m);
    ck_assert_ptr_null(rr);
    ck_assert_msg(strstr(m, bad[i].file), "reader: message without %s: %s", bad[i].file, m);
    check_no_seed();
  }
}
END_TEST

/* A credentials file that is not there is refused before any connection: said as such, not
 * hidden behind NATS being away (no server runs). */
START_TEST(test_relay_creds_missing_no_server)
{
  stream_relay_options o = creds_options(missing_creds);
  expect_fail(&o, STREAM_EIO, missing_creds, "No such file");
  /* The same options with the file there: NATS is what is missing. */
  o.creds_file = creds;
  expect_fail(&o, STREAM_EIO, "cannot connect", url);
}
END_TEST

/* nats.c reads the file's seed and signs at every connect, whether or not the server sent a
 * nonce: against a server without any authorization a file without a usable seed is refused
 * the same way (docs/api/relay.md says so), and the user's file connects. */
START_TEST(test_relay_creds_unusable_without_auth)
{
  server_start();
  stream_relay_options o = creds_options(corrupt_creds);
  expect_fail(&o, STREAM_EIO, corrupt_creds, "cannot be used");
  check_no_seed();
  o.creds_file = noseed_creds;
  expect_fail(&o, STREAM_EIO, noseed_creds, "cannot be used");
  check_no_seed();
  o.creds_file = creds;
  stream_relay *r = NULL;
  ck_assert_msg(stream_relay_new(&r, &o) == STREAM_OK, "stream_relay_new with %s: %s", creds,
                stream_error_last()->message);
  stream_relay_free(r);
}
END_TEST

/* stream_relay_reader_new with `ro` fails with `rc`, its message holding `text`. */
static void reader_expect_fail(const stream_relay_reader_options *ro, int rc, const char *text)
{
  stream_relay_reader *rr = (stream_relay_reader *)1;
  int got = stream_relay_reader_new(&rr, ro);
  const char *m = got != STREAM_OK ? stream_error_last()->message : "(no error)";
  if (got == STREAM_OK)
    stream_relay_reader_free(rr);
  ck_assert_msg(got == rc, "reader: expected %d, got %d: %s", rc, got, m);
  ck_assert_ptr_null(rr);
  ck_assert_msg(strstr(m, text), "reader: message without '%s': %s", text, m);
}

/* An option error is STREAM_EINVAL even when the credentials file (or a TLS file) is missing
 * too: streamd refuses to start on STREAM_EINVAL only and retries any other error for ever, so
 * the file's STREAM_EIO must not come first. No server runs. */
START_TEST(test_relay_creds_missing_after_option_errors)
{
  stream_relay_options o = creds_options(missing_creds);
  o.tls_cert_file = creds; /* a file that is there, without tls_key_file */
  expect_fail(&o, STREAM_EINVAL, "tls_key_file is missing", NULL);
  o.tls_cert_file = NULL;
  o.url = "tls://127.0.0.1:4222,tls://127.0.0.2:4222";
  expect_fail(&o, STREAM_EINVAL, "must name the same host", NULL);
  o.url = url;
  o.consumer = "bad consumer";
  expect_fail(&o, STREAM_EINVAL, "consumer name", NULL);
  o.creds_file = NULL;
  o.tls_ca_file = missing_creds; /* a TLS file missing: the same order */
  expect_fail(&o, STREAM_EINVAL, "consumer name", NULL);
  o.consumer = NULL;
  expect_fail(&o, STREAM_EIO, missing_creds, "TLS CA file");
  /* The reader's own option errors come first too. */
  stream_relay_reader_options ro = STREAM_RELAY_READER_OPTIONS_INIT;
  ro.events = events;
  ro.url = url;
  ro.timeout_ms = 2000;
  ro.creds_file = missing_creds;
  ro.tls_cert_file = creds;
  reader_expect_fail(&ro, STREAM_EINVAL, "tls_key_file is missing");
  ro.tls_cert_file = NULL;
  ro.durable = "bad durable!";
  reader_expect_fail(&ro, STREAM_EINVAL, "durable name");
  ro.durable = NULL;
  ro.filter_subject = "events..x";
  reader_expect_fail(&ro, STREAM_EINVAL, "filter");
  ro.filter_subject = NULL;
  ro.ack_wait_ms = 1;
  reader_expect_fail(&ro, STREAM_EINVAL, "ack_wait_ms");
  ro.ack_wait_ms = 0;
  ro.defer_delay_ms = 1;
  reader_expect_fail(&ro, STREAM_EINVAL, "defer_delay_ms");
  ro.defer_delay_ms = 0;
  reader_expect_fail(&ro, STREAM_EIO, missing_creds);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("relay-creds");
  /* Operator mode: keys, JWTs and .creds files made per test. */
  TCase *tc = tcase_create("relay-creds");
  tcase_add_checked_fixture(tc, creds_setup, creds_teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_relay_creds_events_arrive);
  tcase_add_test(tc, test_relay_creds_refused);
  tcase_add_test(tc, test_relay_creds_missing_no_server);
  tcase_add_test(tc, test_relay_creds_missing_after_option_errors);
  tcase_add_test(tc, test_relay_creds_unusable_without_auth);
  suite_add_tcase(s, tc);
  return relay_suite_main(s);
}
