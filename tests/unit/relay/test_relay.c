/* Unit tests for the relay module: the event log of a real SQLite store (or a PostgreSQL
 * database under tests/pg/pg_run.sh: store_path.h) relayed to a real nats-server with
 * JetStream, started by each test on a loopback port with its own storage directory
 * (relay_fixture.h). The stream is read back with nats.c (js_GetMsg by stream sequence): every
 * event once, in outbox order, with its headers and a payload equal to the stored event; a
 * relay that published and never committed publishes again and JetStream reports duplicates;
 * a killed server fails the round with the checkpoint unchanged, and its restart on the same
 * storage gets every event exactly once; a server killed while a round waits for its
 * acknowledgements fails it with the same "not connected" message as the rounds after; a stream
 * deleted under the relay (js_DeleteStream) is created again with create_stream (reported once,
 * every later event in the new stream once) and without it fails every round naming the stream,
 * nothing marked relayed. Credentials: a user and password, and a token, each
 * given or as the first line of a secret file; missing or wrong ones are STREAM_EAUTH, with
 * messages that never show them. A NATS credentials file (creds_file) is tested in
 * test_relay_creds.c, the TLS cases in test_relay_tls.c. Exits 77 (meson: skipped) when nats-server
 * is not installed. The payload is decoded with the generated protobuf-c code (internal), hence the
 * static library.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "relay_fixture.h"

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
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

/* ---- the stream lost under a running relay ------------------------------------------- */

/* Delete the stream as an operator would (or as a server restarted without its JetStream store
 * leaves it: gone). */
static void delete_stream(reader *rd)
{
  jsErrCode jerr = 0;
  natsStatus s = js_DeleteStream(rd->js, STREAM_RELAY_DEFAULT_STREAM, NULL, &jerr);
  ck_assert_msg(s == NATS_OK, "js_DeleteStream: %s (%d)", natsStatus_GetText(s), (int)jerr);
}

/* The stream holds exactly the events of the log after `after`, in order, each once: message i
 * is event after+i by its dedup id and Outbox-Seq header. */
static void check_stream_holds_after(reader *rd, int64_t after)
{
  stream_event *evs = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_events_read(events, &evs, &n, after, STREAM_EVENTS_READ_MAX), STREAM_OK);
  ck_assert_uint_eq(stream_msgs(rd), n);
  for (size_t i = 0; i < n; i++) {
    natsMsg *m = NULL;
    ck_assert_int_eq(js_GetMsg(&m, rd->js, STREAM_RELAY_DEFAULT_STREAM, i + 1, NULL, NULL),
                     NATS_OK);
    const char *id = NULL, *seq = NULL;
    ck_assert_int_eq(natsMsgHeader_Get(m, "Nats-Msg-Id", &id), NATS_OK);
    ck_assert_int_eq(natsMsgHeader_Get(m, "Outbox-Seq", &seq), NATS_OK);
    ck_assert_str_eq(id, evs[i].id);
    ck_assert_int_eq(strtoll(seq, NULL, 10), evs[i].seq);
    natsMsg_Destroy(m);
  }
  stream_free(evs);
}

START_TEST(test_relay_recreates_lost_stream)
{
  stream_relay *r = relayed(10, 50); /* create_stream */
  reader rd;
  reader_open(&rd);
  delete_stream(&rd);
  ingest(11, 15);
  /* The round finds nothing listening on the subjects: the stream is created again and the
   * round says so once, naming it; nothing was acknowledged, so nothing is marked relayed. */
  int64_t p = -1, d = -1;
  ck_assert_int_eq(stream_relay_run_once(r, &p, &d), STREAM_ENOTFOUND);
  const char *m = stream_error_last()->message;
  ck_assert_msg(strstr(m, STREAM_RELAY_DEFAULT_STREAM) && strstr(m, "created again"), "%s", m);
  ck_assert_int_eq(p, 0);
  ck_assert_int_eq(d, 0);
  ck_assert_int_eq(checkpoint(STREAM_RELAY_DEFAULT_CONSUMER), 10);
  /* The next rounds put every event after the deletion into the new stream, each once (the
   * first ten went with the deleted stream: the operator's deletion). */
  int64_t total = 0, dups = 0;
  drain(r, &total, &dups);
  ck_assert_int_eq(total, 15);
  ck_assert_int_eq(dups, 0);
  ck_assert_int_eq(checkpoint(STREAM_RELAY_DEFAULT_CONSUMER), 25);
  check_stream_holds_after(&rd, 10);
  /* Deleted again with nothing new to relay: nothing to notice until the next events. */
  delete_stream(&rd);
  ck_assert_int_eq(stream_relay_run_once(r, &p, &d), STREAM_OK);
  ck_assert_int_eq(p, 0);
  ingest(26, 3);
  ck_assert_int_eq(stream_relay_run_once(r, &p, &d), STREAM_ENOTFOUND);
  drain(r, &total, &dups);
  ck_assert_int_eq(total, 3);
  check_stream_holds_after(&rd, 25);
  reader_close(&rd);
  stream_relay_free(r);
}
END_TEST

START_TEST(test_relay_lost_stream_without_create_stream)
{
  server_start();
  reader rd;
  reader_open(&rd);
  make_small_stream(&rd, -1, 0); /* the operator's stream */
  ingest(1, 5);
  stream_relay_options o = STREAM_RELAY_OPTIONS_INIT;
  o.events = events;
  o.url = url;
  o.timeout_ms = 2000;
  stream_relay *r = NULL;
  ck_assert_int_eq(stream_relay_new(&r, &o), STREAM_OK);
  int64_t p = -1, d = -1;
  ck_assert_int_eq(stream_relay_run_once(r, &p, &d), STREAM_OK);
  ck_assert_int_eq(p, 5);
  delete_stream(&rd);
  ingest(6, 4);
  /* Every round fails saying the stream is missing and who must create it; nothing is marked
   * relayed, and the relay does not create it. */
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(stream_relay_run_once(r, &p, &d), STREAM_ENOTFOUND);
    const char *m = stream_error_last()->message;
    ck_assert_msg(strstr(m, STREAM_RELAY_DEFAULT_STREAM) && strstr(m, "no longer exists") &&
                      strstr(m, "create_stream"),
                  "%s", m);
    ck_assert_int_eq(p, 0);
    ck_assert_int_eq(checkpoint(STREAM_RELAY_DEFAULT_CONSUMER), 5);
  }
  jsStreamInfo *si = NULL;
  jsErrCode jerr = 0;
  ck_assert_int_ne(js_GetStreamInfo(&si, rd.js, STREAM_RELAY_DEFAULT_STREAM, NULL, &jerr), NATS_OK);
  ck_assert_int_eq(jerr, JSStreamNotFoundErr);
  /* The operator creates it again: the events after the checkpoint go, each once. */
  make_small_stream(&rd, -1, 0);
  ck_assert_int_eq(stream_relay_run_once(r, &p, &d), STREAM_OK);
  ck_assert_int_eq(p, 4);
  ck_assert_int_eq(d, 0);
  check_stream_holds_after(&rd, 5);
  reader_close(&rd);
  stream_relay_free(r);
}
END_TEST

/* ---- one wording for a connection lost ------------------------------------------------- */

typedef struct round_result {
  stream_relay *r;
  int rc;
  char msg[600]; /* stream_error_last() is the round's thread's */
} round_result;

static void *round_thread(void *arg)
{
  round_result *rr = arg;
  rr->rc = stream_relay_run_once(rr->r, NULL, NULL);
  snprintf(rr->msg, sizeof rr->msg, "%s", rr->rc ? stream_error_last()->message : "");
  return NULL;
}

START_TEST(test_relay_connection_lost_during_round)
{
  stream_relay *r = relayed(3, 50);
  /* A round that is waiting for its acknowledgements when the server goes away: the stream is
   * replaced by a plain subscriber that takes the messages and answers nothing, so the round
   * is certainly in its wait once the subscriber has all three; then the server is killed.
   * All three, not one: the subscription is destroyed next, and nats.c 3.4.1 (Debian 12's) can
   * crash its read loop on a message that arrives for a subscription being destroyed (a use
   * after free in natsConn_processMsg: nats.c issue 637, fixed upstream by its PR 638). */
  reader rd;
  reader_open(&rd);
  delete_stream(&rd);
  natsSubscription *sub = NULL;
  ck_assert_int_eq(natsConnection_SubscribeSync(&sub, rd.nc, "stream.events.>"), NATS_OK);
  ck_assert_int_eq(natsConnection_Flush(rd.nc), NATS_OK);
  ingest(4, 3);
  round_result rr = {r, 0, ""};
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, round_thread, &rr), 0);
  for (int i = 0; i < 3; i++) {
    natsMsg *m = NULL;
    ck_assert_int_eq(natsSubscription_NextMsg(&m, sub, 30000), NATS_OK);
    natsMsg_Destroy(m);
  }
  natsSubscription_Destroy(sub);
  reader_close(&rd);
  server_kill();
  pthread_join(t, NULL);
  /* The round reports the outage in the words of every later round of it. */
  char want[200];
  snprintf(want, sizeof want, "relay: not connected to NATS at %s (reconnecting)", url);
  ck_assert_int_eq(rr.rc, STREAM_EIO);
  ck_assert_str_eq(rr.msg, want);
  int64_t p = -1;
  ck_assert_int_eq(stream_relay_run_once(r, &p, NULL), STREAM_EIO);
  ck_assert_str_eq(stream_error_last()->message, want);
  ck_assert_int_eq(p, 0);
  ck_assert_int_eq(checkpoint(STREAM_RELAY_DEFAULT_CONSUMER), 3);
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
  /* The password given directly (no file) works as well: another checkpoint, so the same
   * three events go again, all of them duplicates. */
  o.secret_file = NULL;
  o.password = "s3cret-pw";
  o.consumer = "relay.password";
  ck_assert_int_eq(stream_relay_new(&r, &o), STREAM_OK);
  int64_t d = -1;
  ck_assert_int_eq(stream_relay_run_once(r, &p, &d), STREAM_OK);
  ck_assert_int_eq(p, 3);
  ck_assert_int_eq(d, 3);
  stream_relay_free(r);
}
END_TEST

/* ---- token authentication ------------------------------------------------------------ */

#define RIGHT_TOKEN "tok-R1ght.s3cret"
#define WRONG_TOKEN "tok-Wr0ng.s3cret"

/* nats-server -js on server_port that requires `token` (authorization { token } of a
 * configuration file in tmpdir; the command line would show it in ps). */
static void server_start_token(const char *token)
{
  char conf[400];
  snprintf(conf, sizeof conf, "%s/nats-token.conf", tmpdir);
  FILE *f = fopen(conf, "w");
  ck_assert_ptr_nonnull(f);
  fprintf(f,
          "listen: \"127.0.0.1:%d\"\njetstream { store_dir: \"%s\" }\n"
          "authorization { token: \"%s\" }\n",
          server_port, jsdir, token);
  fclose(f);
  server_start_conf(NULL, NULL, conf);
}

/* A file in tmpdir holding `content`; its path into `path`. */
static void write_file(char *path, size_t n, const char *name, const char *content)
{
  snprintf(path, n, "%s/%s", tmpdir, name);
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(content, f);
  fclose(f);
}

/* The last error message shows neither token. */
static void assert_no_token_shown(void)
{
  const char *m = stream_error_last()->message;
  ck_assert_msg(!strstr(m, "R1ght") && !strstr(m, "Wr0ng"), "a token in the message: %s", m);
}

static stream_relay_options token_options(void)
{
  stream_relay_options o = STREAM_RELAY_OPTIONS_INIT;
  o.events = events;
  o.url = url;
  o.timeout_ms = 2000;
  o.create_stream = 1;
  return o;
}

START_TEST(test_relay_token)
{
  server_start_token(RIGHT_TOKEN);
  ingest(1, 3);
  stream_relay_options o = token_options();
  /* No credentials, or a wrong token: the server refuses them; the message names the URL,
   * never a token. */
  expect_fail(&o, STREAM_EAUTH, url, "refused the credentials");
  o.token = WRONG_TOKEN;
  expect_fail(&o, STREAM_EAUTH, url, "refused the credentials");
  assert_no_token_shown();
  ck_assert_int_eq(checkpoint(STREAM_RELAY_DEFAULT_CONSUMER), 0);
  /* The right token: relayed. */
  o.token = RIGHT_TOKEN;
  stream_relay *r = NULL;
  int rc = stream_relay_new(&r, &o);
  ck_assert_msg(rc == STREAM_OK, "token: %s", stream_error_last()->message);
  int64_t p = -1, d = -1;
  ck_assert_int_eq(stream_relay_run_once(r, &p, &d), STREAM_OK);
  ck_assert_int_eq(p, 3);
  ck_assert_int_eq(d, 0);
  ck_assert_int_eq(checkpoint(STREAM_RELAY_DEFAULT_CONSUMER), 3);
  stream_relay_free(r);
  reader rd;
  natsOptions *no = NULL;
  ck_assert_int_eq(natsOptions_Create(&no), NATS_OK);
  ck_assert_int_eq(natsOptions_SetURL(no, url), NATS_OK);
  ck_assert_int_eq(natsOptions_SetToken(no, RIGHT_TOKEN), NATS_OK);
  ck_assert_int_eq(natsConnection_Connect(&rd.nc, no), NATS_OK);
  natsOptions_Destroy(no);
  ck_assert_int_eq(natsConnection_JetStream(&rd.js, rd.nc, NULL), NATS_OK);
  check_stream_equals_log(&rd);
  reader_close(&rd);
}
END_TEST

START_TEST(test_relay_token_from_secret_file)
{
  server_start_token(RIGHT_TOKEN);
  ingest(1, 4);
  stream_relay_options o = token_options();
  /* The token is the file's first line (no user: a token, not a password); what follows the
   * line end (CR LF here) is not part of it. */
  char path[400];
  write_file(path, sizeof path, "token.secret", RIGHT_TOKEN "\r\nnot the token\n");
  o.secret_file = path;
  stream_relay *r = NULL;
  int rc = stream_relay_new(&r, &o);
  ck_assert_msg(rc == STREAM_OK, "token from %s: %s", path, stream_error_last()->message);
  int64_t p = -1;
  ck_assert_int_eq(stream_relay_run_once(r, &p, NULL), STREAM_OK);
  ck_assert_int_eq(p, 4);
  stream_relay_free(r);
  ck_assert_int_eq(checkpoint(STREAM_RELAY_DEFAULT_CONSUMER), 4);
  /* A wrong first line, the right token on the second: only the first line counts; refused,
   * and the message shows neither. */
  o.consumer = "relay.wrong";
  write_file(path, sizeof path, "wrong.secret", WRONG_TOKEN "\n" RIGHT_TOKEN "\n");
  expect_fail(&o, STREAM_EAUTH, url, "refused the credentials");
  assert_no_token_shown();
  /* A file that is missing or empty: STREAM_EIO naming it. */
  write_file(path, sizeof path, "empty.secret", "");
  expect_fail(&o, STREAM_EIO, path, "empty");
  snprintf(path, sizeof path, "%s/missing.secret", tmpdir);
  expect_fail(&o, STREAM_EIO, path, NULL);
  /* A first line with a quote, a backslash or a control character, which nats.c would paste
   * unescaped into its CONNECT line: refused before connecting, naming the file, not
   * showing the line. */
  static const char *bad[] = {"tok-R1ght\"s3cret\n", "tok-R1ght\\s3cret\n", "tok-R1ght\ts3cret\n",
                              "tok-R1ght\x7fs3cret\n"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    write_file(path, sizeof path, "bad.secret", bad[i]);
    expect_fail(&o, STREAM_EINVAL, path, NULL);
    assert_no_token_shown();
  }
  ck_assert_int_eq(checkpoint("relay.wrong"), 0);
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
                            "nats://a b:1",
                            "natss://user:pw@127.0.0.1:4222",
                            "http://pw@127.0.0.1:4222"};
  for (size_t i = 0; i < sizeof bad_urls / sizeof *bad_urls; i++) {
    b = o;
    b.url = bad_urls[i];
    expect_einval(&b, bad_urls[i] ? bad_urls[i] : "url NULL");
    /* Credentials reach no message, whatever else is wrong with the URL. */
    ck_assert_msg(!strstr(stream_error_last()->message, "pw@"), "%s", stream_error_last()->message);
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
  Suite *s = suite_create("relay");
  TCase *tc = tcase_create("relay");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_relay_every_event_once_in_order);
  tcase_add_test(tc, test_relay_uncommitted_round_is_deduplicated);
  tcase_add_test(tc, test_relay_server_down_then_back);
  tcase_add_test(tc, test_relay_refused_round_keeps_checkpoint);
  tcase_add_test(tc, test_relay_recreates_lost_stream);
  tcase_add_test(tc, test_relay_lost_stream_without_create_stream);
  tcase_add_test(tc, test_relay_connection_lost_during_round);
  tcase_add_test(tc, test_relay_credentials);
  tcase_add_test(tc, test_relay_token);
  tcase_add_test(tc, test_relay_token_from_secret_file);
  tcase_add_test(tc, test_relay_bad_options);
  tcase_add_test(tc, test_relay_unreachable_and_missing_stream);
  tcase_add_test(tc, test_relay_options_version_1);
  suite_add_tcase(s, tc);
  return relay_suite_main(s);
}
