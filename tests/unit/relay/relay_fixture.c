/* The relay suites' shared fixture (relay_fixture.h): moved out of test_relay.c when its TLS
 * cases went to test_relay_tls.c, unchanged; test_relay_free.c's and test_relay_reader.c's own
 * copies (their clock, a second store) moved here later. */
#include "relay_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../store_path.h"
#include "nats_server.h"
#include "proto/events.pb-c.h"

const char *nats_bin;
char tmpdir[256];
char dbpath[300];
char jsdir[300];
stream_store *store;
stream_events *events;
pid_t server_pid = -1;
int server_port;
char url[64];

/* ---- nats-server ------------------------------------------------------------ */

/* Start nats-server -js on server_port with storage jsdir (extra: "--user u --pass p"); with
 * `conf`, from that configuration file instead (it names the port and storage). */
void server_start_conf(const char *user, const char *pass, const char *conf)
{
  server_pid = test_nats_start(nats_bin, server_port, jsdir, user, pass, conf);
}

void server_start_args(const char *user, const char *pass)
{
  server_start_conf(user, pass, NULL);
}

void server_start(void)
{
  server_start_args(NULL, NULL);
}

void server_kill(void)
{
  test_nats_kill(&server_pid);
}

/* ---- fixture ---------------------------------------------------------------- */

static int64_t fixture_clock(void *ud)
{
  return *(int64_t *)ud;
}

void open_log(stream_store **st, stream_events **ev, const char *name, int64_t *clock)
{
  char path[400], uri[512];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  so.path = test_store_path(uri, sizeof uri, path);
  ck_assert_int_eq(stream_store_open(st, &so), STREAM_OK);
  stream_events_options o = STREAM_EVENTS_OPTIONS_INIT;
  o.store = *st;
  if (clock) {
    o.now_ms = fixture_clock;
    o.now_userdata = clock;
  }
  ck_assert_int_eq(stream_events_new(ev, &o), STREAM_OK);
}

void setup_clock(int64_t *clock)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/stream-relay-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  snprintf(dbpath, sizeof dbpath, "%s/db.sqlite", tmpdir);
  snprintf(jsdir, sizeof jsdir, "%s/js", tmpdir);
  open_log(&store, &events, "db.sqlite", clock);
  server_port = test_nats_free_port();
  snprintf(url, sizeof url, "nats://127.0.0.1:%d", server_port);
}

void setup(void)
{
  setup_clock(NULL);
}

void teardown(void)
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
void ingest(int first, int n)
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

/* Run rounds until one publishes nothing; the total published and duplicates. */
void drain(stream_relay *r, int64_t *published, int64_t *dups)
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

int64_t checkpoint(const char *consumer)
{
  int64_t cp = -1;
  ck_assert_int_eq(stream_events_checkpoint(events, &cp, consumer), STREAM_OK);
  return cp;
}

/* ---- reading the stream back --------------------------------------------------- */

void reader_open(reader *rd)
{
  ck_assert_int_eq(natsConnection_ConnectTo(&rd->nc, url), NATS_OK);
  ck_assert_int_eq(natsConnection_JetStream(&rd->js, rd->nc, NULL), NATS_OK);
}

void reader_close(reader *rd)
{
  jsCtx_Destroy(rd->js);
  natsConnection_Destroy(rd->nc);
}

uint64_t stream_msgs(reader *rd)
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
void check_stream_equals_log(reader *rd)
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

/* ---- expected failures and main() ------------------------------------------------ */

void expect_fail(const stream_relay_options *o, int rc, const char *a, const char *b)
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

int relay_suite_main(Suite *s)
{
  nats_bin = getenv("NATS_SERVER");
  if (!nats_bin || !*nats_bin || access(nats_bin, X_OK) != 0) {
    printf("SKIP: nats-server not installed (apt install nats-server; NATS_SERVER=%s)\n",
           nats_bin ? nats_bin : "");
    srunner_free(srunner_create(s)); /* frees the suite */
    return 77;
  }
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
