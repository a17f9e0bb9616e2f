/* Unit tests for the relay over TLS: the event log of a real SQLite store relayed to a real
 * nats-server with JetStream and TLS, started by each test on a loopback port (the fixture of
 * relay_fixture.h, shared with test_relay.c). A throwaway CA, server and client certificates
 * are made with the openssl CLI in the test's directory: events arrive; a server certificate
 * of another CA, for another host, or a TLS server reached without TLS is refused with nothing
 * committed; a server that takes plain clients too is refused rather than used without TLS;
 * mutual TLS works with the client certificate only; unreadable or mismatched TLS files and
 * URL lists TLS cannot serve are refused before any connection. Exits 77 (meson: skipped) when
 * nats-server is not installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "relay_fixture.h"

/* ---- TLS ---------------------------------------------------------------------------- */

/* A throwaway PKI in tmpdir, made with the openssl CLI at test time: ca.pem signs server.pem
 * (CN and DNS name "localhost" only) and client.pem; other-ca.pem signs nothing we use. EC
 * P-256 keys: quick to make. */
static char pki[300];

static void pki_path(char *out, size_t n, const char *name)
{
  snprintf(out, n, "%s/%s", pki, name);
}

static void openssl(const char *args)
{
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "cd '%s' && openssl %s >/dev/null 2>&1", pki, args);
  ck_assert_msg(system(cmd) == 0, "openssl %s failed", args);
}

static void make_pki(void)
{
  snprintf(pki, sizeof pki, "%s/pki", tmpdir);
  ck_assert_int_eq(mkdir(pki, 0700), 0);
  static const char key[] = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  char a[1024];
  snprintf(a, sizeof a, "req -x509 %s -keyout ca.key -out ca.pem -days 1 -subj /CN=relay-test-ca",
           key);
  openssl(a);
  snprintf(a, sizeof a,
           "req -x509 %s -keyout other-ca.key -out other-ca.pem -days 1 -subj /CN=relay-other-ca",
           key);
  openssl(a);
  char ext[400];
  pki_path(ext, sizeof ext, "server.ext");
  FILE *f = fopen(ext, "w");
  ck_assert_ptr_nonnull(f);
  fputs("subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n", f);
  fclose(f);
  pki_path(ext, sizeof ext, "client.ext");
  f = fopen(ext, "w");
  ck_assert_ptr_nonnull(f);
  fputs("extendedKeyUsage=clientAuth\n", f);
  fclose(f);
  static const char *who[] = {"server", "client"};
  for (int i = 0; i < 2; i++) {
    snprintf(a, sizeof a, "req %s -keyout %s.key -out %s.csr -subj /CN=%s", key, who[i], who[i],
             i == 0 ? "localhost" : "relay-client");
    openssl(a);
    snprintf(a, sizeof a,
             "x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -set_serial %d -days 1 -out %s.pem "
             "-extfile %s.ext",
             who[i], 100 + i, who[i], who[i]);
    openssl(a);
  }
}

/* nats-server with JetStream and TLS (server.pem of ca.pem) on server_port; `verify`: it asks
 * for a client certificate signed by ca.pem; `plain_too`: it takes clients without TLS too. */
static void server_start_tls_plain(int verify, int plain_too)
{
  char conf[400];
  pki_path(conf, sizeof conf, "nats.conf");
  FILE *f = fopen(conf, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f,
          "listen: \"127.0.0.1:%d\"\njetstream { store_dir: \"%s\" }\n"
          "tls {\n  cert_file: \"%s/server.pem\"\n  key_file: \"%s/server.key\"\n"
          "  ca_file: \"%s/ca.pem\"\n  verify: %s\n  timeout: 2\n}\n",
          server_port, jsdir, pki, pki, pki, verify ? "true" : "false");
  if (plain_too)
    fputs("allow_non_tls: true\n", f);
  fclose(f);
  server_start_conf(NULL, NULL, conf);
}

static void server_start_tls(int verify)
{
  server_start_tls_plain(verify, 0);
}

static void tls_setup(void)
{
  setup();
  make_pki();
  snprintf(url, sizeof url, "tls://localhost:%d", server_port);
}

static char ca_pem[400], other_ca_pem[400], client_pem[400], client_key[400];

static stream_relay_options tls_options(const char *ca)
{
  pki_path(ca_pem, sizeof ca_pem, "ca.pem");
  pki_path(other_ca_pem, sizeof other_ca_pem, "other-ca.pem");
  pki_path(client_pem, sizeof client_pem, "client.pem");
  pki_path(client_key, sizeof client_key, "client.key");
  stream_relay_options o = STREAM_RELAY_OPTIONS_INIT;
  o.events = events;
  o.url = url;
  o.timeout_ms = 2000;
  o.create_stream = 1;
  o.tls_ca_file = ca;
  return o;
}

/* A reader over TLS trusting ca.pem, with the client certificate (mutual TLS servers). */
static void reader_open_tls(reader *rd)
{
  natsOptions *no = NULL;
  ck_assert_int_eq(natsOptions_Create(&no), NATS_OK);
  ck_assert_int_eq(natsOptions_SetURL(no, url), NATS_OK);
  ck_assert_int_eq(natsOptions_SetSecure(no, true), NATS_OK);
  ck_assert_int_eq(natsOptions_LoadCATrustedCertificates(no, ca_pem), NATS_OK);
  ck_assert_int_eq(natsOptions_LoadCertificatesChain(no, client_pem, client_key), NATS_OK);
  ck_assert_int_eq(natsConnection_Connect(&rd->nc, no), NATS_OK);
  natsOptions_Destroy(no);
  ck_assert_int_eq(natsConnection_JetStream(&rd->js, rd->nc, NULL), NATS_OK);
}

START_TEST(test_relay_tls_events_arrive)
{
  server_start_tls(0);
  ingest(1, 20);
  stream_relay_options o = tls_options(NULL);
  o.tls_ca_file = ca_pem;
  o.batch = 8;
  stream_relay *r = NULL;
  int rc = stream_relay_new(&r, &o);
  ck_assert_msg(rc == STREAM_OK, "stream_relay_new over TLS: %s", stream_error_last()->message);
  int64_t total = 0, dups = 0;
  drain(r, &total, &dups);
  ck_assert_int_eq(total, 20);
  ck_assert_int_eq(dups, 0);
  ck_assert_int_eq(checkpoint(STREAM_RELAY_DEFAULT_CONSUMER), 20);
  reader rd;
  reader_open_tls(&rd);
  check_stream_equals_log(&rd);
  reader_close(&rd);
  stream_relay_free(r);
  /* The CA file given with a nats:// URL turns TLS on as well. */
  char plain[64];
  snprintf(plain, sizeof plain, "nats://localhost:%d", server_port);
  o.url = plain;
  o.consumer = "relay.plain-url";
  ck_assert_int_eq(stream_relay_new(&r, &o), STREAM_OK);
  drain(r, &total, &dups);
  ck_assert_int_eq(total, 20);
  ck_assert_int_eq(dups, 20);
  stream_relay_free(r);
}
END_TEST

START_TEST(test_relay_tls_unverified_server_refused)
{
  server_start_tls(0);
  ingest(1, 5);
  /* A relay trusting another CA: the handshake fails, it says so and names the URL. */
  stream_relay_options o = tls_options(NULL);
  o.tls_ca_file = other_ca_pem;
  expect_fail(&o, STREAM_EIO, "TLS handshake", url);
  /* The system's CAs only: the test CA is not one of them. */
  o.tls_ca_file = NULL;
  expect_fail(&o, STREAM_EIO, "TLS handshake", url);
  /* The right CA, but the URL names a host the certificate is not for (127.0.0.1, where the
   * certificate says localhost): the host name is checked. */
  char by_ip[64];
  snprintf(by_ip, sizeof by_ip, "tls://127.0.0.1:%d", server_port);
  o.url = by_ip;
  o.tls_ca_file = ca_pem;
  expect_fail(&o, STREAM_EIO, "TLS handshake", by_ip);
  /* Plain nats:// without TLS options to the TLS server: refused, saying TLS is required. */
  char plain[64];
  snprintf(plain, sizeof plain, "nats://localhost:%d", server_port);
  o.url = plain;
  o.tls_ca_file = NULL;
  expect_fail(&o, STREAM_EIO, "requires TLS", plain);
  /* Nothing was relayed, nothing committed. */
  ck_assert_int_eq(checkpoint(STREAM_RELAY_DEFAULT_CONSUMER), 0);
  reader rd;
  reader_open_tls(&rd);
  jsStreamInfo *si = NULL;
  ck_assert_int_ne(js_GetStreamInfo(&si, rd.js, STREAM_RELAY_DEFAULT_STREAM, NULL, NULL), NATS_OK);
  reader_close(&rd);
}
END_TEST

/* A server that takes plain clients too (allow_non_tls) announces no TLS requirement, and
 * nats.c 3.4 then offers no TLS: a relay asked for TLS refuses it rather than going on in
 * plain text. */
START_TEST(test_relay_tls_not_left_out)
{
  server_start_tls_plain(0, 1);
  ingest(1, 4);
  stream_relay_options o = tls_options(NULL);
  o.tls_ca_file = ca_pem;
  expect_fail(&o, STREAM_EIO, "TLS", url);
  ck_assert_int_eq(checkpoint(STREAM_RELAY_DEFAULT_CONSUMER), 0);
}
END_TEST

START_TEST(test_relay_mutual_tls)
{
  server_start_tls(1);
  ingest(1, 6);
  /* No client certificate: the server refuses the connection. */
  stream_relay_options o = tls_options(NULL);
  o.tls_ca_file = ca_pem;
  expect_fail(&o, STREAM_EIO, url, "client certificate");
  /* A certificate the server's CA did not sign (the server's own key pair is of ca.pem; the
   * other CA's self-signed certificate is not). */
  char other_key[400];
  pki_path(other_key, sizeof other_key, "other-ca.key");
  o.tls_cert_file = other_ca_pem;
  o.tls_key_file = other_key;
  expect_fail(&o, STREAM_EIO, url, "client certificate");
  ck_assert_int_eq(checkpoint(STREAM_RELAY_DEFAULT_CONSUMER), 0);
  /* With the client certificate: relayed. */
  o.tls_cert_file = client_pem;
  o.tls_key_file = client_key;
  stream_relay *r = NULL;
  int rc = stream_relay_new(&r, &o);
  ck_assert_msg(rc == STREAM_OK, "mutual TLS: %s", stream_error_last()->message);
  int64_t total = 0, dups = 0;
  drain(r, &total, &dups);
  ck_assert_int_eq(total, 6);
  reader rd;
  reader_open_tls(&rd);
  check_stream_equals_log(&rd);
  reader_close(&rd);
  stream_relay_free(r);
}
END_TEST

/* Options checked before any connection (no server runs). */
START_TEST(test_relay_tls_bad_options)
{
  stream_relay_options o = tls_options(NULL);
  o.tls_ca_file = ca_pem;
  /* Files that cannot be read: STREAM_EIO naming the path. */
  char missing[400];
  pki_path(missing, sizeof missing, "missing.pem");
  o.tls_ca_file = missing;
  expect_fail(&o, STREAM_EIO, missing, NULL);
  o.tls_ca_file = ca_pem;
  o.tls_cert_file = client_pem;
  o.tls_key_file = missing;
  expect_fail(&o, STREAM_EIO, missing, NULL);
  /* Not PEM of its kind: the CA file a key, the key of another certificate. */
  char ca_key[400];
  pki_path(ca_key, sizeof ca_key, "ca.key");
  o.tls_cert_file = o.tls_key_file = NULL;
  o.tls_ca_file = ca_key;
  expect_fail(&o, STREAM_EIO, ca_key, NULL);
  o.tls_ca_file = ca_pem;
  o.tls_cert_file = client_pem;
  o.tls_key_file = ca_key;
  expect_fail(&o, STREAM_EIO, client_pem, NULL);
  /* A certificate without its key, or the reverse. */
  o.tls_key_file = NULL;
  expect_fail(&o, STREAM_EINVAL, "tls_key_file", NULL);
  o.tls_cert_file = NULL;
  o.tls_key_file = client_key;
  expect_fail(&o, STREAM_EINVAL, "tls_cert_file", NULL);
  o.tls_key_file = NULL;
  /* URL lists: tls:// and nats:// mixed; several hosts with TLS; credentials in a tls:// URL. */
  static const char *bad[] = {"tls://localhost:4222,nats://localhost:4223",
                              "tls://a.example:4222,tls://b.example:4222",
                              "tls://u:pw@localhost:4222", "tls://", "tls:/localhost:4222"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    o.url = bad[i];
    expect_fail(&o, STREAM_EINVAL, NULL, NULL);
    ck_assert_ptr_null(strstr(stream_error_last()->message, "pw@"));
  }
  /* Several hosts with the CA file turning TLS on for nats:// URLs. */
  o.url = "nats://a.example:4222,nats://b.example:4222";
  expect_fail(&o, STREAM_EINVAL, "same host", NULL);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("relay-tls");
  /* TLS: a throwaway CA, server and client certificates made with openssl per test. */
  TCase *tt = tcase_create("relay-tls");
  tcase_add_checked_fixture(tt, tls_setup, teardown);
  tcase_set_timeout(tt, 60);
  tcase_add_test(tt, test_relay_tls_events_arrive);
  tcase_add_test(tt, test_relay_tls_unverified_server_refused);
  tcase_add_test(tt, test_relay_tls_not_left_out);
  tcase_add_test(tt, test_relay_mutual_tls);
  tcase_add_test(tt, test_relay_tls_bad_options);
  suite_add_tcase(s, tt);
  return relay_suite_main(s);
}
