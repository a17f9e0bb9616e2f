/*
 * The store conformance suite run against the PostgreSQL backend: a database
 * of its own per case (tests/pg/pg_run.sh's server, store_path.h), then all
 * cases on one store, plus what only this backend has: the baseline schema
 * applied once by two stores opening together, a newer schema refused, and
 * two handles (as two daemons) sharing one database.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../store_path.h"
#include "../store_raw.h"
#include "conformance.h"
#include "stream/events.h"

static stream_store *open_path(const char *path)
{
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  o.path = path;
  stream_store *s = NULL;
  int rc = stream_store_open(&s, &o);
  ck_assert_msg(rc == STREAM_OK, "open: %s", rc ? stream_error_last()->message : "");
  ck_assert_str_eq(stream_store_backend_name(s), "postgres");
  return s;
}

static stream_store *open_fresh(char *buf, size_t cap)
{
  return open_path(test_store_path(buf, cap, ":memory:"));
}

START_TEST(test_conformance_case)
{
  char buf[512];
  stream_store *s = open_fresh(buf, sizeof buf);
  store_conformance_cases[_i].run(s);
  stream_store_close(s);
}
END_TEST

START_TEST(test_conformance_all_on_one_store)
{
  char buf[512];
  stream_store *s = open_fresh(buf, sizeof buf);
  store_conformance_run_all(s);
  stream_store_close(s);
}
END_TEST

/* Two stores opening one fresh database at once: the schema is applied once (the
 * schema lock), both see the same version, and a reopen applies nothing. */
static void *open_thread(void *p)
{
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  o.path = p;
  stream_store *s = NULL;
  if (stream_store_open(&s, &o) != STREAM_OK)
    return NULL;
  return s;
}

START_TEST(test_schema_once)
{
  char buf[512];
  const char *uri = test_store_path_fresh(buf, sizeof buf, ":memory:");
  pthread_t th[2];
  for (int i = 0; i < 2; i++)
    ck_assert_int_eq(pthread_create(&th[i], NULL, open_thread, (void *)uri), 0);
  stream_store *s[2];
  for (int i = 0; i < 2; i++) {
    ck_assert_int_eq(pthread_join(th[i], (void **)&s[i]), 0);
    ck_assert_ptr_nonnull(s[i]);
  }
  int v0 = 0, v1 = 0;
  ck_assert_int_eq(stream_store_schema_version(&v0, s[0]), STREAM_OK);
  ck_assert_int_eq(stream_store_schema_version(&v1, s[1]), STREAM_OK);
  ck_assert_int_gt(v0, 0);
  ck_assert_int_eq(v0, v1);
  /* The dialects move together: a fresh PostgreSQL store is at the SQLite schema's version
   * (a migration added to one dialect only fails here). */
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  so.path = ":memory:";
  stream_store *lite = NULL;
  ck_assert_int_eq(stream_store_open(&lite, &so), STREAM_OK);
  int vl = 0;
  ck_assert_int_eq(stream_store_schema_version(&vl, lite), STREAM_OK);
  stream_store_close(lite);
  ck_assert_int_eq(v0, vl);
  ck_assert_int_eq((int)test_store_raw_int(uri, "SELECT count(*) FROM schema_version", NULL), v0);
  stream_store_close(s[0]);
  stream_store_close(s[1]);
  stream_store *again = open_path(uri);
  ck_assert_int_eq((int)test_store_raw_int(uri, "SELECT count(*) FROM schema_version", NULL), v0);
  stream_store_close(again);
  /* A database a newer libstream migrated is refused, not written. */
  test_store_raw_exec(uri, "INSERT INTO schema_version VALUES (999, 0)");
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  o.path = uri;
  stream_store *t = NULL;
  ck_assert_int_eq(stream_store_open(&t, &o), STREAM_ENOTSUP);
  ck_assert_ptr_null(t);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "newer"));
}
END_TEST

/* A database a libstream of the baseline (version 14) made gets the migrations after it at
 * the next open, once: here 15, the rate-limit buckets, and 16, the QoE rebuild marks and the
 * index of ended views. */
START_TEST(test_migrate_from_baseline)
{
  char buf[512];
  const char *uri = test_store_path(buf, sizeof buf, ":memory:");
  stream_store *s = open_path(uri);
  int latest = 0;
  ck_assert_int_eq(stream_store_schema_version(&latest, s), STREAM_OK);
  ck_assert_int_ge(latest, 15);
  stream_store_close(s);
  /* Back to what the baseline alone made. */
  test_store_raw_exec(
      uri, "DROP TABLE rate_buckets; DROP TABLE qoe_rebuild;"
           "DROP INDEX event_log_view_end; DELETE FROM schema_version WHERE version > 14");
  ck_assert_int_eq((int)test_store_raw_int(uri, "SELECT max(version) FROM schema_version", NULL),
                   14);
  s = open_path(uri);
  int v = 0;
  ck_assert_int_eq(stream_store_schema_version(&v, s), STREAM_OK);
  ck_assert_int_eq(v, latest);
  ck_assert_int_eq((int)test_store_raw_int(uri, "SELECT count(*) FROM schema_version", NULL),
                   latest);
  stream_store_rate_key k = {"pg-migrate", "k", 1, 60};
  int64_t wait = -1;
  ck_assert_int_eq(stream_store_rate_take(&wait, s, &k, 1, 1700000000), STREAM_OK);
  ck_assert_int_eq(wait, 0);
  ck_assert_int_eq(stream_store_rate_take(&wait, s, &k, 1, 1700000000), STREAM_OK);
  ck_assert_int_eq(wait, 60);
  stream_store_close(s);
  s = open_path(uri); /* nothing left to apply */
  stream_store_close(s);
  ck_assert_int_eq((int)test_store_raw_int(uri, "SELECT count(*) FROM schema_version", NULL),
                   latest);
}
END_TEST

/* Migration 19, the table of approval PIN digests, on a database at version 18 with device
 * authorizations in flight: the old rows read without a digest and are consumed as before, new
 * approvals record one; rolled back to 18 again with the table kept, the next open changes
 * nothing. */
START_TEST(test_migrate_device_pins)
{
  char buf[512];
  const char *uri = test_store_path(buf, sizeof buf, ":memory:");
  stream_store *s = open_path(uri);
  int latest = 0;
  ck_assert_int_eq(stream_store_schema_version(&latest, s), STREAM_OK);
  ck_assert_int_ge(latest, 19);
  stream_store_account a;
  memset(&a, 0, sizeof a);
  strcpy(a.email, "tv@pg-v18.test");
  ck_assert_int_eq(stream_store_account_create(&a, s, &a, 1700000000), STREAM_OK);
  stream_store_profile in, p;
  memset(&in, 0, sizeof in);
  strcpy(in.account_id, a.id);
  strcpy(in.name, "Den");
  in.maturity_ceiling = 18;
  ck_assert_int_eq(stream_store_profile_create(&p, s, &in, 1700000000), STREAM_OK);
  stream_store_close(s);
  char sql[1024];
  snprintf(sql, sizeof sql,
           "DROP TABLE device_profile_pins; DELETE FROM schema_version WHERE version > 18;"
           "INSERT INTO device_authorizations (device_code_hash, user_code, client_id, status,"
           "  account_id, profile_id, interval_s, created_at, expires_at) VALUES"
           " (repeat('0', 64), 'OLDP-ENDG', 'tv', 0, NULL, NULL, 5, 1700000000, 1700000600),"
           " (repeat('0', 63) || '2', 'OLDP-ROFL', 'tv', 1, '%s', '%s', 5, 1700000000,"
           "  1700000600)",
           a.id, p.id);
  test_store_raw_exec(uri, sql);

  s = open_path(uri); /* migration 19 */
  int v = 0;
  ck_assert_int_eq(stream_store_schema_version(&v, s), STREAM_OK);
  ck_assert_int_eq(v, latest);
  stream_store_device d;
  ck_assert_int_eq(stream_store_device_get_by_user_code(&d, s, "OLDP-ROFL"), STREAM_OK);
  ck_assert_str_eq(d.profile_id, p.id);
  /* A profile approval made before: the "unchecked" digest (auth refuses it). */
  ck_assert_str_eq(d.profile_pin_digest, STREAM_STORE_DEVICE_PIN_UNCHECKED);
  ck_assert_int_eq(stream_store_device_consume(&d, s, d.device_code_hash, 1700000010), STREAM_OK);
  const char *digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  ck_assert_int_eq(
      stream_store_device_approve_profile(s, "OLDP-ENDG", a.id, p.id, digest, 1700000010),
      STREAM_OK);
  ck_assert_int_eq(stream_store_device_get_by_user_code(&d, s, "OLDP-ENDG"), STREAM_OK);
  ck_assert_str_eq(d.profile_pin_digest, digest);
  stream_store_close(s);

  test_store_raw_exec(uri, "DELETE FROM schema_version WHERE version > 18");
  s = open_path(uri);
  ck_assert_int_eq(stream_store_schema_version(&v, s), STREAM_OK);
  ck_assert_int_eq(v, latest);
  ck_assert_int_eq(stream_store_device_get_by_user_code(&d, s, "OLDP-ENDG"), STREAM_OK);
  ck_assert_str_eq(d.profile_pin_digest, digest);
  stream_store_close(s);
  /* OLDP-ROFL's "unchecked" row and OLDP-ENDG's digest, each once after migrating twice. */
  ck_assert_int_eq((int)test_store_raw_int(uri, "SELECT count(*) FROM device_profile_pins", NULL),
                   2);
}
END_TEST

/* Migration 16's partial index, on a database whose event_log has 100000 rows or more: not
 * built (a plain CREATE INDEX would hold every append, and so the writers' lock, for the whole
 * build), one warning per open naming the statement that builds it without blocking writes,
 * and the store right without it; after that statement, no warning. Without the fix the
 * migration builds the index inline whatever the size (index found, no warning). */
static int index_warnings;
static char index_warning[1024];

static void catch_index_warning(int level, const char *module, const char *message, void *ud)
{
  (void)ud;
  if (level == STREAM_LOG_WARN && strcmp(module, "store") == 0 &&
      strstr(message, "event_log_view_end")) {
    index_warnings++;
    snprintf(index_warning, sizeof index_warning, "%s", message);
  }
}

static int64_t fixed_clock(void *ud)
{
  return *(const int64_t *)ud;
}

#define VIEW_END_CONCURRENTLY                                                                      \
  "CREATE INDEX CONCURRENTLY IF NOT EXISTS event_log_view_end ON event_log (view_id, "             \
  "account_id, seq) WHERE type = 12 OR (type = 11 AND error_fatal = 1)"

static int64_t concurrent_now(stream_store *s, int64_t now)
{
  stream_events_options o = STREAM_EVENTS_OPTIONS_INIT;
  o.store = s;
  o.now_ms = fixed_clock;
  o.now_userdata = &now;
  stream_events *ev = NULL;
  ck_assert_int_eq(stream_events_new(&ev, &o), STREAM_OK);
  int64_t n = -1;
  ck_assert_int_eq(stream_events_concurrent(ev, &n), STREAM_OK);
  stream_events_free(ev);
  return n;
}

START_TEST(test_migration_defers_index_on_large_log)
{
  char buf[512];
  const char *uri = test_store_path(buf, sizeof buf, ":memory:");
  stream_store *s = open_path(uri);
  int latest = 0;
  ck_assert_int_eq(stream_store_schema_version(&latest, s), STREAM_OK);
  stream_store_close(s);
  const char *has_index = "SELECT count(*) FROM pg_indexes WHERE indexname = 'event_log_view_end'";
  ck_assert_int_eq((int)test_store_raw_int(uri, has_index, NULL), 1); /* small: built inline */
  /* 100000 old rows, then views live (a heartbeat) and gone (a heartbeat, then ended): back to
   * version 15 */
  test_store_raw_exec(
      uri, "INSERT INTO event_log (seq, id, type, view_id, account_id, client_ts, server_ts)"
           " SELECT g, 'old-' || g, 13, 'old-' || (g / 50), 'a', g, g"
           " FROM generate_series(1, 100000) g;"
           "INSERT INTO event_log (seq, id, type, view_id, account_id, client_ts, server_ts)"
           " VALUES (100001, 'l1', 13, 'live', 'a', 1700000000000, 1700000000000),"
           " (100002, 'g1', 13, 'gone', 'a', 1700000000000, 1700000000000),"
           " (100003, 'g2', 12, 'gone', 'a', 1700000001000, 1700000001000);"
           "UPDATE event_log_seq SET seq = 100003;"
           "DROP TABLE qoe_rebuild; DROP INDEX event_log_view_end;"
           "DELETE FROM schema_version WHERE version > 15");
  stream_log_set_callback(catch_index_warning, NULL, STREAM_LOG_WARN);
  s = open_path(uri); /* migration 16 */
  int v = 0;
  ck_assert_int_eq(stream_store_schema_version(&v, s), STREAM_OK);
  ck_assert_int_eq(v, latest);
  ck_assert_int_eq((int)test_store_raw_int(uri, has_index, NULL), 0);
  ck_assert_int_eq(index_warnings, 1);
  ck_assert_msg(strstr(index_warning, VIEW_END_CONCURRENTLY), "warning: %s", index_warning);
  /* right without it */
  ck_assert_int_eq(concurrent_now(s, INT64_C(1700000002000)), 1);
  stream_store_close(s);
  /* the operator's statement; then opens are quiet */
  test_store_raw_exec(uri, VIEW_END_CONCURRENTLY);
  index_warnings = 0;
  s = open_path(uri);
  stream_log_set_callback(NULL, NULL, STREAM_LOG_OFF);
  ck_assert_int_eq(index_warnings, 0);
  ck_assert_int_eq((int)test_store_raw_int(uri, has_index, NULL), 1);
  ck_assert_int_eq(concurrent_now(s, INT64_C(1700000002000)), 1);
  stream_store_close(s);
}
END_TEST

/* A server that is not there: a clear EIO naming the reason, no handle. */
START_TEST(test_unreachable)
{
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  o.path = "postgresql:///stream?host=/nonexistent-socket-dir&connect_timeout=2";
  stream_store *s = NULL;
  ck_assert_int_eq(stream_store_open(&s, &o), STREAM_EIO);
  ck_assert_ptr_null(s);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "connect to PostgreSQL"));
}
END_TEST

/* A "server" that takes TCP connections and never answers: a listening socket nobody
 * accepts from (the kernel completes the handshake and acknowledges libpq's startup packet,
 * so TCP itself never times out). Returns the socket; its port in *port. */
static int silent_server(int *port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  ck_assert_int_eq(listen(fd, 64), 0);
  socklen_t len = sizeof a;
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

static int open_uri(const char *uri)
{
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  o.path = uri;
  stream_store *s = NULL;
  int rc = stream_store_open(&s, &o);
  ck_assert_ptr_null(s);
  return rc;
}

/* A URI that sets no connect_timeout gets the store's default one (store.h): the open fails
 * with the reason instead of waiting for ever (without the default it hangs until the test's
 * timeout). */
START_TEST(test_silent_server_default_timeout)
{
  unsetenv("PGCONNECT_TIMEOUT");
  int port = 0, fd = silent_server(&port);
  char uri[128];
  snprintf(uri, sizeof uri, "postgresql://127.0.0.1:%d/x", port);
  ck_assert_int_eq(open_uri(uri), STREAM_EIO);
  const char *msg = stream_error_last()->message;
  ck_assert_msg(strstr(msg, "timeout expired") && strstr(msg, "(connect_timeout 10 s)"), "%s", msg);
  close(fd);
}
END_TEST

/* The URI's own connect_timeout wins over the default; a password in it (in user info, with
 * other parameters) reaches no message. */
START_TEST(test_silent_server_uri_timeout_wins)
{
  unsetenv("PGCONNECT_TIMEOUT");
  int port = 0, fd = silent_server(&port);
  char uri[160];
  snprintf(uri, sizeof uri,
           "postgresql://someone:hunter2secret@127.0.0.1:%d/x?keepalives_idle=5&connect_timeout=2",
           port);
  ck_assert_int_eq(open_uri(uri), STREAM_EIO);
  const char *msg = stream_error_last()->message;
  ck_assert_msg(strstr(msg, "timeout expired") && strstr(msg, "(connect_timeout 2 s)"), "%s", msg);
  ck_assert_msg(!strstr(msg, "hunter2"), "%s", msg);
  /* So does PGCONNECT_TIMEOUT, libpq's own default, when the URI sets none. */
  setenv("PGCONNECT_TIMEOUT", "3", 1);
  snprintf(uri, sizeof uri, "postgresql://127.0.0.1:%d/x", port);
  ck_assert_int_eq(open_uri(uri), STREAM_EIO);
  msg = stream_error_last()->message;
  ck_assert_msg(strstr(msg, "(connect_timeout 3 s)"), "%s", msg);
  unsetenv("PGCONNECT_TIMEOUT");
  close(fd);
}
END_TEST

/* A URI libpq cannot parse: STREAM_EINVAL naming the part that failed, never quoting the
 * URI's text (libpq's own message quotes the token, which can be the password, however its
 * name is spelled or escaped). */
static void bad_uri(const char *uri, const char *expect)
{
  int rc = open_uri(uri);
  const char *msg = stream_error_last()->message;
  ck_assert_msg(!strstr(msg, "hunter2") && !strstr(msg, "tail9"), "%s: %s", uri, msg);
  ck_assert_int_eq(rc, STREAM_EINVAL);
  ck_assert_msg(strstr(msg, expect), "%s: %s", uri, msg);
}

START_TEST(test_bad_uri)
{
  /* libpq decodes parameter names: pass%77ord is password. */
  bad_uri("postgresql://127.0.0.1/x?sslmode=disable&pass%77ord=hunter2%zz",
          "an invalid percent escape in the value of query parameter 2");
  bad_uri("postgresql://someone:hunter2%zz@127.0.0.1/x",
          "an invalid percent escape in the password");
  bad_uri("postgresql://127.0.0.1/x?password=hunter2%zz",
          "an invalid percent escape in the value of query parameter 1");
  bad_uri("postgresql://127.0.0.1/x?PASSWORD=hunter2%zz",
          "an invalid percent escape in the value of query parameter 1");
  bad_uri("postgresql://127.0.0.1/x?sslmode=disable&options=a%zz",
          "an invalid percent escape in the value of query parameter 2 (options)");
  bad_uri("postgresql://127.0.0.1/x?conect_timeout=2", "unknown parameter (query parameter 1;");
  bad_uri("postgresql://127.0.0.1/x?PASSWORD=hunter2", "unknown parameter (query parameter 1;");
  /* A password's unescaped '&' makes its next part a parameter: no name is shown but a known
   * keyword's, and none when the URI holds a password parameter or an '@' past the host (a
   * password holding a '/' or '?' put its user information there). */
  bad_uri("postgresql://127.0.0.1:1/x?password=hunter2&tail9=c",
          "unknown parameter (query parameter 2;");
  bad_uri("postgresql://127.0.0.1:1/x?password=hunter2&tail9==",
          "a second '=' in query parameter 2 (write");
  bad_uri("postgresql://127.0.0.1:1/x?password=hunter2&sslmode=tail9=",
          "a second '=' in query parameter 2 (write");
  bad_uri("postgresql://someone:12/x?tail9=1@127.0.0.1/x", "unknown parameter (query parameter 1;");
  bad_uri("postgresql://127.0.0.1/x?hunter2", "query parameter 1 has no '='");
  bad_uri("postgresql://127.0.0.1/x?password=hunter2=", "a second '=' in query parameter 1");
  bad_uri("postgresql://127.0.0.1/x?password=hunter2%00", "a forbidden %00 in the value");
  /* user:password written with an escaped ':' (libpq reads it all as the user name) */
  bad_uri("postgresql://someone%3Ahunter2%zz@127.0.0.1/x",
          "an invalid percent escape in the user name");
  bad_uri("postgresql://[::1/x?password=hunter2", "libpq cannot parse it");
  /* An '@' of the password not written %40: libpq parses the rest of it as the host, which
   * its connection messages quote. */
  bad_uri("postgresql://someone:hunter2@tail9@127.0.0.1/x", "a host holds an '@'");
  /* ... also when that rest starts with a '/' written %2F (libpq takes the host for a socket
   * directory and quotes its path), and in any host of a list. */
  bad_uri("postgresql://someone:hunter2@%2Ftail9@127.0.0.1:1/x", "a host holds an '@'");
  bad_uri("postgresql://someone:hunter2@%2Fa,tail9@127.0.0.1:1/x", "a host holds an '@'");
  bad_uri("postgresql:///x?host=/a,tail9@127.0.0.1", "a host holds an '@'");
  /* A '/' of the password not written %2F ends the authority: libpq reads the password's
   * first part as the port and the rest, '@' and all, as the database name, and quotes them. */
  bad_uri("postgresql://someone:hunter2/x@127.0.0.1/x", "a port is not a number");
  bad_uri("postgresql://someone:2024/hunter2@127.0.0.1/x", "the database name holds an '@'");
  /* A socket directory given by ?host= is a path: its '@' is not a password's. */
  ck_assert_int_eq(open_uri("postgresql:///x?host=/nonexistent@dir"), STREAM_EIO);
  /* A password holding an '@' and then a '?' or '/' ends the user information at its '@': its
   * rest becomes the host and query parameters, whose values libpq and the server quote
   * ("could not translate host name", "invalid sslmode value"). One holding a '/' and a '?'
   * makes its first part the port and its rest query parameters. After a ':' (a password's, or
   * a port's: the two cannot be told apart) no later '@' is taken. */
  const char *at_colon = "an '@' after a password or a port (not shown";
  bad_uri("postgresql://someone:x@hunter2?application_name=@127.0.0.1:1/x", at_colon);
  bad_uri("postgresql://someone:x@hunter2/x?application_name=@127.0.0.1:1/x", at_colon);
  bad_uri("postgresql://someone:x@hunter2:1?connect_timeout=@127.0.0.1:1/x", at_colon);
  bad_uri("postgresql://someone:x@%2Fhunter2?application_name=@127.0.0.1:1/x", at_colon);
  bad_uri("postgresql://someone:x@[hunter2]?application_name=@127.0.0.1:1/x", at_colon);
  bad_uri("postgresql://someone:x@[/@hunter2]/x", at_colon);
  bad_uri("postgresql://someone:x@[/hunter2@x]/x", at_colon);
  bad_uri("postgresql://someone:12/x?sslmode=hunter2@127.0.0.1:1/x", at_colon);
  bad_uri("postgresql://someone:12/x?service=hunter2@127.0.0.1:1/x", at_colon);
  bad_uri("postgresql://someone:1234/hunter2?sslmode=disable@127.0.0.1:1/x", at_colon);
  bad_uri("postgresql://127.0.0.1:1/x?application_name=hunter2@b", at_colon);
  /* user:password with its ':' escaped, or in ?user=: libpq takes it all for the user name,
   * which the server's refusal quotes (role "stream:hunter2" does not exist). */
  const char *pg = getenv("STREAM_TEST_PG"); /* postgresql:///stream?host=<dir>&user=stream */
  const char *host = strstr(pg, "host=");
  ck_assert_ptr_nonnull(host);
  char uri[512];
  snprintf(uri, sizeof uri, "postgresql://stream%%3Ahunter2@/stream?%.*s", (int)strcspn(host, "&"),
           host);
  bad_uri(uri, "the user name holds a ':'");
  snprintf(uri, sizeof uri, "postgresql:///stream?%.*s&user=stream:hunter2",
           (int)strcspn(host, "&"), host);
  bad_uri(uri, "the user name holds a ':'");
  /* An '@' of a value with no ':' before it (no password, no port) is still taken. */
  snprintf(uri, sizeof uri, "postgresql://stream@/stream?%.*s&application_name=streamd@node1",
           (int)strcspn(host, "&"), host);
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  o.path = uri;
  stream_store *st = NULL;
  ck_assert_msg(stream_store_open(&st, &o) == STREAM_OK, "%s", stream_error_last()->message);
  stream_store_close(st);
}
END_TEST

int main(void)
{
  if (!test_store_is_pg()) {
    printf("skip: STREAM_TEST_PG is not set (run through tests/pg/pg_run.sh)\n");
    return 77;
  }
  Suite *su = suite_create("store-pg");
  TCase *tc = tcase_create("pg-case");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_conformance_case, 0, (int)store_conformance_count);
  suite_add_tcase(su, tc);
  tc = tcase_create("pg-backend");
  tcase_set_timeout(tc, 240);
  tcase_add_test(tc, test_conformance_all_on_one_store);
  tcase_add_test(tc, test_schema_once);
  tcase_add_test(tc, test_migrate_from_baseline);
  tcase_add_test(tc, test_migrate_device_pins);
  tcase_add_test(tc, test_migration_defers_index_on_large_log);
  tcase_add_test(tc, test_unreachable);
  suite_add_tcase(su, tc);
  /* Servers that never answer: these fail by the case timeout if a connect waits for ever. */
  tc = tcase_create("pg-connect-timeouts");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_silent_server_default_timeout);
  tcase_add_test(tc, test_silent_server_uri_timeout_wins);
  tcase_add_test(tc, test_bad_uri);
  suite_add_tcase(su, tc);
  SRunner *sr = srunner_create(su);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
