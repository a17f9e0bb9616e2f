/* Unit tests for the relay module: the event log of a real SQLite store (or a
 * PostgreSQL database under tests/pg/pg_run.sh: store_path.h) relayed to a
 * real nats-server with JetStream, started by each test on a loopback port
 * with its own storage directory. The stream is read back with nats.c
 * (js_GetMsg by stream sequence): every event once, in outbox order, with its
 * headers and a payload equal to the stored event; a relay that published
 * and never committed publishes again and JetStream reports duplicates; a
 * killed server fails the round with the checkpoint unchanged, and its
 * restart on the same storage gets every event exactly once. Over TLS (a
 * throwaway CA, server and client certificates made with the openssl CLI in
 * the test's directory): events arrive; a server certificate of another CA,
 * for another host, or a TLS server reached without TLS is refused with
 * nothing committed; mutual TLS works with the client certificate only.
 * Exits 77 (meson:
 * skipped) when nats-server is not installed. The payload is decoded with the
 * generated protobuf-c code (internal), hence the static library. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "../store_path.h"
#include "nats_server.h"
#include "proto/events.pb-c.h"
#include "stream/events.h"
#include "stream/relay.h"

static const char *nats_bin;
static char tmpdir[256];
static char dbpath[300];
static char jsdir[300];
static stream_store *store;
static stream_events *events;
static pid_t server_pid = -1;
static int server_port;
static char url[64];

/* ---- nats-server ------------------------------------------------------------ */

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Start nats-server -js on server_port with storage jsdir (extra: "--user u --pass p"); with
 * `conf`, from that configuration file instead (it names the port and storage). */
static void server_start_conf(const char *user, const char *pass, const char *conf)
{
  server_pid = test_nats_start(nats_bin, server_port, jsdir, user, pass, conf);
}

static void server_start_args(const char *user, const char *pass)
{
  server_start_conf(user, pass, NULL);
}

static void server_start(void)
{
  server_start_args(NULL, NULL);
}

static void server_kill(void)
{
  test_nats_kill(&server_pid);
}

/* ---- fixture ---------------------------------------------------------------- */

static void setup(void)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/stream-relay-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  snprintf(dbpath, sizeof dbpath, "%s/db.sqlite", tmpdir);
  snprintf(jsdir, sizeof jsdir, "%s/js", tmpdir);
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  char uri[512];
  so.path = test_store_path(uri, sizeof uri, dbpath);
  ck_assert_int_eq(stream_store_open(&store, &so), STREAM_OK);
  stream_events_options o = STREAM_EVENTS_OPTIONS_INIT;
  o.store = store;
  ck_assert_int_eq(stream_events_new(&events, &o), STREAM_OK);
  server_port = test_nats_free_port();
  snprintf(url, sizeof url, "nats://127.0.0.1:%d", server_port);
}

static void teardown(void)
{
  server_kill();
  stream_events_free(events);
  stream_store_close(store);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0)
    fprintf(stderr, "cannot remove %s\n", tmpdir);
}

/* Ingest `n` events numbered from `first` (ids ...-<12 digits of the number>), the types
 * cycling through all thirteen (error events carry an error). */
static void ingest(int first, int n)
{
  char *body = malloc((size_t)n * 400 + 32);
  size_t len = (size_t)sprintf(body, "{\"events\":[");
  for (int i = first; i < first + n; i++) {
    int type = 1 + i % 13;
    len += (size_t)sprintf(body + len,
                           "%s{\"id\":\"00000000-0000-4000-8000-%012d\",\"viewId\":\"view-%d\","
                           "\"type\":%d,\"clientTs\":%lld,\"titleId\":\"t-%d\",\"br\":%d,"
                           "\"playheadMs\":%d,\"sid\":\"s %d\",\"ot\":\"v\",\"su\":%s%s}",
                           i == first ? "" : ",", i, i / 5, type, 1700000000000LL + i, i % 3,
                           100 * i, 1000 * i, i, i % 2 ? "true" : "false",
                           type == 11 ? ",\"error\":{\"code\":7,\"message\":\"boom\",\"fatal\":"
                                        "true}"
                                      : "");
  }
  len += (size_t)sprintf(body + len, "]}");
  stream_events_result r;
  ck_assert_int_eq(
      stream_events_ingest(events, &r, body, len, STREAM_EVENTS_JSON, 0, "acct-1", "p-1"),
      STREAM_OK);
  ck_assert_uint_eq(r.accepted, (size_t)n);
  free(body);
}

static stream_relay *relay_new(const char *consumer, unsigned int batch)
{
  stream_relay_options o = STREAM_RELAY_OPTIONS_INIT;
  o.events = events;
  o.url = url;
  o.consumer = consumer;
  o.batch = batch;
  o.timeout_ms = 2000;
  o.create_stream = 1;
  stream_relay *r = NULL;
  int rc = stream_relay_new(&r, &o);
  ck_assert_msg(rc == STREAM_OK, "stream_relay_new: %s", stream_error_last()->message);
  return r;
}

/* Run rounds until one publishes nothing; the total published and duplicates. */
static void drain(stream_relay *r, int64_t *published, int64_t *dups)
{
  *published = *dups = 0;
  for (int i = 0; i < 50; i++) { /* the tests' logs take a few rounds */
    int64_t p = -1, d = -1;
    int rc = stream_relay_run_once(r, &p, &d);
    ck_assert_msg(rc == STREAM_OK, "run_once: %s", stream_error_last()->message);
    if (p == 0)
      return;
    *published += p;
    *dups += d;
  }
  ck_abort_msg("the relay never caught up (it published %lld)", (long long)*published);
}

static int64_t checkpoint(const char *consumer)
{
  int64_t cp = -1;
  ck_assert_int_eq(stream_events_checkpoint(events, &cp, consumer), STREAM_OK);
  return cp;
}

/* ---- reading the stream back --------------------------------------------------- */

typedef struct reader {
  natsConnection *nc;
  jsCtx *js;
} reader;

static void reader_open(reader *rd)
{
  ck_assert_int_eq(natsConnection_ConnectTo(&rd->nc, url), NATS_OK);
  ck_assert_int_eq(natsConnection_JetStream(&rd->js, rd->nc, NULL), NATS_OK);
}

static void reader_close(reader *rd)
{
  jsCtx_Destroy(rd->js);
  natsConnection_Destroy(rd->nc);
}

static uint64_t stream_msgs(reader *rd)
{
  jsStreamInfo *si = NULL;
  ck_assert_int_eq(js_GetStreamInfo(&si, rd->js, STREAM_RELAY_DEFAULT_STREAM, NULL, NULL), NATS_OK);
  uint64_t n = si->State.Msgs;
  jsStreamInfo_Destroy(si);
  return n;
}

static const char *header(natsMsg *m, const char *key)
{
  const char *v = NULL;
  ck_assert_msg(natsMsgHeader_Get(m, key, &v) == NATS_OK, "header %s missing", key);
  return v;
}

/* The stream holds exactly the event log, in order: message i is event i (seq order), once. */
static void check_stream_equals_log(reader *rd)
{
  stream_event *evs = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_events_read(events, &evs, &n, 0, STREAM_EVENTS_READ_MAX), STREAM_OK);
  ck_assert_uint_eq(stream_msgs(rd), n);
  for (size_t i = 0; i < n; i++) {
    const stream_event *e = &evs[i];
    natsMsg *m = NULL;
    ck_assert_int_eq(js_GetMsg(&m, rd->js, STREAM_RELAY_DEFAULT_STREAM, i + 1, NULL, NULL),
                     NATS_OK);
    char subject[128], seq[24];
    snprintf(subject, sizeof subject, "stream.events.%s", stream_event_type_name(e->type));
    snprintf(seq, sizeof seq, "%lld", (long long)e->seq);
    ck_assert_str_eq(natsMsg_GetSubject(m), subject);
    ck_assert_str_eq(header(m, "Nats-Msg-Id"), e->id);
    ck_assert_str_eq(header(m, "Outbox-Seq"), seq);
    ck_assert_str_eq(header(m, "Event-Type"), stream_event_type_name(e->type));
    ck_assert_str_eq(header(m, "Content-Type"), "application/x-protobuf");
    Libstream__Events__V1__Event *pb = libstream__events__v1__event__unpack(
        NULL, (size_t)natsMsg_GetDataLength(m), (const uint8_t *)natsMsg_GetData(m));
    ck_assert_ptr_nonnull(pb);
    ck_assert_str_eq(pb->id, e->id);
    ck_assert_str_eq(pb->view_id, e->view_id);
    ck_assert_str_eq(pb->title_id, e->title_id);
    ck_assert_str_eq(pb->profile_id, e->profile_id);
    ck_assert_str_eq(pb->account_id, "acct-1");
    ck_assert_str_eq(pb->sid, e->sid);
    ck_assert_str_eq(pb->ot, e->ot);
    ck_assert_int_eq((int)pb->type, e->type);
    ck_assert_int_eq(pb->client_ts, e->client_ts);
    ck_assert_int_eq(pb->server_ts, e->server_ts);
    ck_assert_int_gt(pb->server_ts, 0);
    ck_assert_int_eq(pb->playhead_ms, e->playhead_ms);
    ck_assert_int_eq((int64_t)pb->br, e->br);
    ck_assert_int_eq(pb->su ? 1 : 0, e->su);
    if (e->type == STREAM_EVENT_ERROR) {
      ck_assert_ptr_nonnull(pb->error);
      ck_assert_int_eq(pb->error->code, 7);
      ck_assert_str_eq(pb->error->message, "boom");
      ck_assert(pb->error->fatal);
    } else {
      ck_assert_ptr_null(pb->error);
    }
    libstream__events__v1__event__free_unpacked(pb, NULL);
    natsMsg_Destroy(m);
  }
  stream_free(evs);
}

/* ---- tests ------------------------------------------------------------------------ */

START_TEST(test_relay_every_event_once_in_order)
{
  server_start();
  ingest(1, 30);
  stream_relay *r = relay_new(NULL, 7); /* 5 rounds: 7 7 7 7 2 */
  int64_t lag = -1;
  ck_assert_int_eq(stream_relay_lag(r, &lag), STREAM_OK);
  ck_assert_int_eq(lag, 30);
  int64_t p = -1, d = -1;
  ck_assert_int_eq(stream_relay_run_once(r, &p, &d), STREAM_OK);
  ck_assert_int_eq(p, 7);
  ck_assert_int_eq(d, 0);
  ck_assert_int_eq(checkpoint(STREAM_RELAY_DEFAULT_CONSUMER), 7);
  int64_t total = 0, dups = 0;
  drain(r, &total, &dups);
  ck_assert_int_eq(total, 23);
  ck_assert_int_eq(dups, 0);
  ck_assert_int_eq(stream_relay_lag(r, &lag), STREAM_OK);
  ck_assert_int_eq(lag, 0);
  /* A second run publishes nothing. */
  ck_assert_int_eq(stream_relay_run_once(r, &p, &d), STREAM_OK);
  ck_assert_int_eq(p, 0);
  reader rd;
  reader_open(&rd);
  check_stream_equals_log(&rd);
  /* More events later: only those go. */
  ingest(100, 4);
  drain(r, &total, &dups);
  ck_assert_int_eq(total, 4);
  check_stream_equals_log(&rd);
  reader_close(&rd);
  stream_relay_free(r);
}
END_TEST

/* A started server, `n` events ingested and relayed (default consumer); the relay. */
static stream_relay *relayed(int n, unsigned int batch)
{
  server_start();
  ingest(1, n);
  stream_relay *r = relay_new(NULL, batch);
  int64_t total = 0, dups = 0;
  drain(r, &total, &dups);
  ck_assert_int_eq(total, n);
  ck_assert_int_eq(dups, 0);
  return r;
}

START_TEST(test_relay_uncommitted_round_is_deduplicated)
{
  stream_relay_free(relayed(12, 100));
  int64_t total = 0, dups = 0;
  /* A relay that published these events and died before its commit: its checkpoint is
   * still 0 (another consumer name here, which no relay advanced). It publishes all of
   * them again; JetStream recognises every id. */
  stream_relay *crashed = relay_new("relay.crashed", 5);
  drain(crashed, &total, &dups);
  ck_assert_int_eq(total, 12);
  ck_assert_int_eq(dups, 12);
  ck_assert_int_eq(checkpoint("relay.crashed"), 12);
  reader rd;
  reader_open(&rd);
  ck_assert_uint_eq(stream_msgs(&rd), 12);
  check_stream_equals_log(&rd);
  reader_close(&rd);
  stream_relay_free(crashed);
}
END_TEST

START_TEST(test_relay_server_down_then_back)
{
  stream_relay *r = relayed(10, 50);
  int64_t total = 0, dups = 0;
  server_kill();
  ingest(11, 15);
  /* Down: the round fails with a message naming the server, the checkpoint stays. */
  int64_t p = -1, d = -1;
  int rc = stream_relay_run_once(r, &p, &d);
  ck_assert_msg(rc == STREAM_EIO || rc == STREAM_ETIMEDOUT, "run_once while down: %d", rc);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, url));
  ck_assert_int_eq(p, 0);
  ck_assert_int_eq(d, 0);
  ck_assert_int_eq(checkpoint(STREAM_RELAY_DEFAULT_CONSUMER), 10);
  int64_t lag = -1;
  ck_assert_int_eq(stream_relay_lag(r, &lag), STREAM_OK);
  ck_assert_int_eq(lag, 15);
  /* Back on the same storage: the relay reconnects by itself; rounds fail until it has. */
  server_start();
  int done = 0;
  for (int i = 0; i < 400 && !done; i++) {
    rc = stream_relay_run_once(r, &p, &d);
    if (rc == STREAM_OK)
      done = 1;
    else
      sleep_ms(50);
  }
  ck_assert_msg(done, "relay never recovered: %s", stream_error_last()->message);
  ck_assert_int_eq(p, 15);
  drain(r, &total, &dups);
  ck_assert_int_eq(checkpoint(STREAM_RELAY_DEFAULT_CONSUMER), 25);
  reader rd;
  reader_open(&rd);
  check_stream_equals_log(&rd); /* all 25, each once, in order */
  reader_close(&rd);
  stream_relay_free(r);
}
END_TEST

/* The stream as an operator might have made it: at most `max_msgs` messages, new ones refused. */
static void make_small_stream(reader *rd, int64_t max_msgs, int update)
{
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const char *subj[1] = {"stream.events.>"};
  cfg.Name = STREAM_RELAY_DEFAULT_STREAM;
  cfg.Subjects = subj;
  cfg.SubjectsLen = 1;
  cfg.MaxMsgs = max_msgs;
  cfg.Discard = js_DiscardNew;
  cfg.Duplicates = INT64_C(120000000000);
  jsStreamInfo *si = NULL;
  natsStatus s = update ? js_UpdateStream(&si, rd->js, &cfg, NULL, NULL)
                        : js_AddStream(&si, rd->js, &cfg, NULL, NULL);
  ck_assert_int_eq(s, NATS_OK);
  jsStreamInfo_Destroy(si);
}

START_TEST(test_relay_refused_round_keeps_checkpoint)
{
  server_start();
  reader rd;
  reader_open(&rd);
  make_small_stream(&rd, 5, 0);
  ingest(1, 8);
  stream_relay_options o = STREAM_RELAY_OPTIONS_INIT;
  o.events = events;
  o.url = url;
  stream_relay *r = NULL;
  ck_assert_int_eq(stream_relay_new(&r, &o), STREAM_OK);
  /* JetStream stores five and refuses three: the round fails, nothing is committed. */
  int64_t p = -1, d = -1;
  ck_assert_int_eq(stream_relay_run_once(r, &p, &d), STREAM_EPROTO);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "refused event seq"));
  ck_assert_int_eq(p, 0);
  ck_assert_int_eq(d, 0);
  ck_assert_int_eq(checkpoint(STREAM_RELAY_DEFAULT_CONSUMER), 0);
  ck_assert_uint_eq(stream_msgs(&rd), 5);
  /* Room again: the next round publishes all eight, the five stored ones as duplicates. */
  make_small_stream(&rd, -1, 1);
  ck_assert_int_eq(stream_relay_run_once(r, &p, &d), STREAM_OK);
  ck_assert_int_eq(p, 8);
  ck_assert_int_eq(d, 5);
  ck_assert_int_eq(checkpoint(STREAM_RELAY_DEFAULT_CONSUMER), 8);
  check_stream_equals_log(&rd);
  reader_close(&rd);
  stream_relay_free(r);
}
END_TEST

START_TEST(test_relay_credentials)
{
  server_start_args("relay", "s3cret-pw");
  ingest(1, 3);
  char secret[400];
  snprintf(secret, sizeof secret, "%s/nats.secret", tmpdir);
  FILE *f = fopen(secret, "w");
  fputs("s3cret-pw\n", f);
  fclose(f);
  stream_relay_options o = STREAM_RELAY_OPTIONS_INIT;
  o.events = events;
  o.url = url;
  o.create_stream = 1;
  o.user = "relay";
  o.password = "wrong-pw";
  stream_relay *r = NULL;
  ck_assert_int_eq(stream_relay_new(&r, &o), STREAM_EAUTH);
  ck_assert_ptr_null(r);
  ck_assert_ptr_null(strstr(stream_error_last()->message, "wrong-pw"));
  o.password = NULL;
  o.secret_file = secret;
  ck_assert_int_eq(stream_relay_new(&r, &o), STREAM_OK);
  int64_t p = -1;
  ck_assert_int_eq(stream_relay_run_once(r, &p, NULL), STREAM_OK);
  ck_assert_int_eq(p, 3);
  stream_relay_free(r);
}
END_TEST

static void expect_einval(const stream_relay_options *o, const char *what)
{
  stream_relay *r = (stream_relay *)1;
  int rc = stream_relay_new(&r, o);
  ck_assert_msg(rc == STREAM_EINVAL, "%s: got %d", what, rc);
  ck_assert_ptr_null(r);
  ck_assert_msg(stream_error_last()->message[0] != '\0', "%s: no message", what);
}

START_TEST(test_relay_bad_options)
{
  stream_relay *r = NULL;
  stream_relay_options o = STREAM_RELAY_OPTIONS_INIT;
  o.events = events;
  o.url = url;
  ck_assert_int_eq(stream_relay_new(NULL, &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_relay_new(&r, NULL), STREAM_EINVAL);
  stream_relay_options b = o;
  b.version = 99;
  expect_einval(&b, "version");
  b = o;
  b.events = NULL;
  expect_einval(&b, "events NULL");
  const char *bad_urls[] = {NULL,
                            "",
                            "http://127.0.0.1:4222",
                            "127.0.0.1:4222",
                            "nats://",
                            "nats://user:pw@127.0.0.1:4222",
                            "nats://tok@127.0.0.1:4222",
                            "nats://127.0.0.1:4222,",
                            "nats://127.0.0.1:4222/x",
                            "nats://a b:1"};
  for (size_t i = 0; i < sizeof bad_urls / sizeof *bad_urls; i++) {
    b = o;
    b.url = bad_urls[i];
    expect_einval(&b, bad_urls[i] ? bad_urls[i] : "url NULL");
    ck_assert_ptr_null(strstr(stream_error_last()->message, "pw@"));
  }
  /* Malformed names: stream, subject prefix, consumer (checkpoint). */
  static const struct {
    size_t off;
    const char *v;
  } bad_strs[] = {
      {offsetof(stream_relay_options, stream_name), ""},
      {offsetof(stream_relay_options, stream_name), "A.B"},
      {offsetof(stream_relay_options, stream_name), "a b"},
      {offsetof(stream_relay_options, stream_name), "x*"},
      {offsetof(stream_relay_options, stream_name), "a>"},
      {offsetof(stream_relay_options, subject_prefix), ""},
      {offsetof(stream_relay_options, subject_prefix), "a..b"},
      {offsetof(stream_relay_options, subject_prefix), ".a"},
      {offsetof(stream_relay_options, subject_prefix), "a."},
      {offsetof(stream_relay_options, subject_prefix), "a.*"},
      {offsetof(stream_relay_options, subject_prefix), "a.>"},
      {offsetof(stream_relay_options, subject_prefix), "a b"},
      {offsetof(stream_relay_options, consumer), "Bad Name"},
      {offsetof(stream_relay_options, consumer), ""},
  };
  for (size_t i = 0; i < sizeof bad_strs / sizeof *bad_strs; i++) {
    b = o;
    memcpy((char *)&b + bad_strs[i].off, &bad_strs[i].v, sizeof(const char *));
    expect_einval(&b, bad_strs[i].v);
  }
  b = o;
  b.batch = 0;
  expect_einval(&b, "batch 0");
  b.batch = STREAM_EVENTS_READ_MAX + 1;
  expect_einval(&b, "batch too big");
  b = o;
  b.timeout_ms = 0;
  expect_einval(&b, "timeout 0");
  b.timeout_ms = STREAM_RELAY_TIMEOUT_MAX_MS + 1;
  expect_einval(&b, "timeout too big");
  b = o;
  b.token = "t";
  b.user = "u";
  b.password = "p";
  expect_einval(&b, "token and user");
  b = o;
  b.user = "u";
  expect_einval(&b, "user without password");
  b = o;
  b.password = "p";
  expect_einval(&b, "password without user");
  /* Credentials that nats.c 3.4 would paste unescaped into the JSON of its CONNECT line (a
   * quote, a backslash) or that would end the line (CR, LF): refused before any connect,
   * and the message does not show them. */
  static const char *bad_creds[] = {"pw\"x", "pw\\x", "pw\r\nPUB x 1", "pw\x7fx"};
  for (size_t i = 0; i < sizeof bad_creds / sizeof *bad_creds; i++) {
    b = o;
    b.user = "u";
    b.password = bad_creds[i];
    expect_einval(&b, "password with a quote, backslash or control character");
    ck_assert_ptr_null(strstr(stream_error_last()->message, bad_creds[i]));
    b = o;
    b.token = bad_creds[i];
    expect_einval(&b, "token with a quote, backslash or control character");
    ck_assert_ptr_null(strstr(stream_error_last()->message, bad_creds[i]));
  }
  b = o;
  b.user = "u\"x";
  b.password = "p";
  expect_einval(&b, "user with a quote");
  char bad_secret[400];
  snprintf(bad_secret, sizeof bad_secret, "%s/bad.secret", tmpdir);
  FILE *sf = fopen(bad_secret, "w");
  ck_assert_ptr_nonnull(sf);
  fputs("s3\"cret-pw\nsecond line\n", sf);
  fclose(sf);
  b = o;
  b.user = "u";
  b.secret_file = bad_secret;
  expect_einval(&b, "secret file with a quote");
  ck_assert_ptr_null(strstr(stream_error_last()->message, "cret-pw"));
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, bad_secret));
  /* The other calls. */
  int64_t v = 5;
  ck_assert_int_eq(stream_relay_run_once(NULL, &v, NULL), STREAM_EINVAL);
  ck_assert_int_eq(v, 0);
  ck_assert_int_eq(stream_relay_lag(NULL, &v), STREAM_EINVAL);
  stream_relay_free(NULL);
}
END_TEST

START_TEST(test_relay_unreachable_and_missing_stream)
{
  stream_relay_options o = STREAM_RELAY_OPTIONS_INIT;
  o.events = events;
  o.url = url; /* nothing listens yet */
  o.timeout_ms = 1000;
  stream_relay *r = (stream_relay *)1;
  ck_assert_int_eq(stream_relay_new(&r, &o), STREAM_EIO);
  ck_assert_ptr_null(r);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, url));
  server_start();
  o.create_stream = 0;
  ck_assert_int_eq(stream_relay_new(&r, &o), STREAM_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, STREAM_RELAY_DEFAULT_STREAM));
  o.create_stream = 1;
  ck_assert_int_eq(stream_relay_new(&r, &o), STREAM_OK);
  stream_relay_free(r);
  /* Existing now: found without creating; another prefix does not match its subjects. */
  o.create_stream = 0;
  ck_assert_int_eq(stream_relay_new(&r, &o), STREAM_OK);
  stream_relay_free(r);
  o.subject_prefix = "other.prefix";
  ck_assert_int_eq(stream_relay_new(&r, &o), STREAM_EPROTO);
}
END_TEST

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

/* stream_relay_new() fails with `rc`, its message holding `a` and `b` (NULL: not checked). */
static void expect_fail(const stream_relay_options *o, int rc, const char *a, const char *b)
{
  stream_relay *r = (stream_relay *)1;
  int got = stream_relay_new(&r, o);
  const stream_error *e = stream_error_last(); /* NULL after a success */
  const char *m = got != STREAM_OK && e ? e->message : "(no error)";
  if (got == STREAM_OK)
    stream_relay_free(r); /* fail below without a live connection */
  ck_assert_msg(got == rc, "expected %d, got %d: %s", rc, got, m);
  ck_assert_ptr_null(r);
  ck_assert_msg(!a || strstr(m, a), "message without '%s': %s", a, m);
  ck_assert_msg(!b || strstr(m, b), "message without '%s': %s", b, m);
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

/* The version-1 options struct (before the TLS fields) is still accepted. */
typedef struct relay_options_v1 {
  unsigned int version;
  stream_events *events;
  const char *url, *stream_name, *subject_prefix, *consumer;
  unsigned int batch, timeout_ms;
  int create_stream;
  const char *user, *password, *token, *secret_file, *creds_file;
} relay_options_v1;

START_TEST(test_relay_options_version_1)
{
  server_start();
  ingest(1, 3);
  /* Heap-allocated to its own size: reading past it is a fault under ASan. */
  relay_options_v1 *v1 = calloc(1, sizeof *v1);
  ck_assert_ptr_nonnull(v1);
  v1->version = 1;
  v1->events = events;
  v1->url = url;
  v1->batch = 10;
  v1->timeout_ms = 2000;
  v1->create_stream = 1;
  stream_relay *r = NULL;
  int rc = stream_relay_new(&r, (const stream_relay_options *)(void *)v1);
  ck_assert_msg(rc == STREAM_OK, "version 1: %s", stream_error_last()->message);
  free(v1);
  int64_t p = -1;
  ck_assert_int_eq(stream_relay_run_once(r, &p, NULL), STREAM_OK);
  ck_assert_int_eq(p, 3);
  stream_relay_free(r);
}
END_TEST

int main(void)
{
  nats_bin = getenv("NATS_SERVER");
  if (!nats_bin || !*nats_bin || access(nats_bin, X_OK) != 0) {
    printf("SKIP: nats-server not installed (apt install nats-server; NATS_SERVER=%s)\n",
           nats_bin ? nats_bin : "");
    return 77;
  }
  Suite *s = suite_create("relay");
  TCase *tc = tcase_create("relay");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_relay_every_event_once_in_order);
  tcase_add_test(tc, test_relay_uncommitted_round_is_deduplicated);
  tcase_add_test(tc, test_relay_server_down_then_back);
  tcase_add_test(tc, test_relay_refused_round_keeps_checkpoint);
  tcase_add_test(tc, test_relay_credentials);
  tcase_add_test(tc, test_relay_bad_options);
  tcase_add_test(tc, test_relay_unreachable_and_missing_stream);
  tcase_add_test(tc, test_relay_options_version_1);
  suite_add_tcase(s, tc);
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
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
