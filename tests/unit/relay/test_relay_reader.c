/* Unit tests for the relay's reader (stream_relay_reader): the whole scale-out
 * pipeline with real parts. Store A (a real SQLite file, or a PostgreSQL
 * database under tests/pg/pg_run.sh: store_path.h) ingests player events of
 * several accounts, profiles and types; a relay publishes them to a real
 * nats-server with JetStream (started by each test on a loopback port with
 * its own storage); the reader fills store B. Checked: every event once in B
 * with every field equal (id, type, account, profile, server time, player
 * fields); a second round appends nothing; the QoE consumer on B gives the
 * same view records and aggregates as on A; events B holds already (a crash
 * after the commit and before the acks) are counted as duplicates and B is
 * unchanged; a new reader on the same durable resumes without loss; a killed
 * and restarted nats-server fails the round clearly, then nothing is lost or
 * doubled; killed while a round waits in its fetch, the round, the next one and
 * the lag query all say "not connected" in the same words; the stream deleted
 * and made again by a relay is reported, then read from its start; malformed
 * payloads published by hand are terminated and reported
 * while the good messages of the same fetch are appended; a relayed account and profile
 * follow a credential's rules (kept with characters an event field refuses; over 64 bytes
 * refused); bad options.
 * Exits 77 (meson: skipped) when nats-server is not installed. Hand-made
 * payloads use the generated protobuf-c code (internal), hence the static
 * library. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "nats_server.h"
#include "proto/events.pb-c.h"
#include "relay_fixture.h"
#include "stream/events.h"
#include "stream/relay.h"

#define T0_MS INT64_C(1700000000000)
#define VIEWS 6

static stream_store *store_b;
static stream_events *ev_a, *ev_b; /* A: the platform's log (the fixture's); B: the replica */
static int64_t clock_ms = T0_MS;

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ---- fixture: relay_fixture.h's, A on the ingest clock, and B -------------------------- */

static void reader_setup(void)
{
  clock_ms = T0_MS;
  setup_clock(&clock_ms);
  ev_a = events;
  open_log(&store_b, &ev_b, "b.sqlite", &clock_ms);
}

static void reader_teardown(void)
{
  stream_events_free(ev_b);
  stream_store_close(store_b);
  teardown();
}

/* ---- events ------------------------------------------------------------------- */

/* Profile own-<a> of account acct-<a> in store A, made at its first use: an account credential
 * without a profile may name only a profile of its own account (stream_events_ingest). */
static void own_profile(char *out, size_t cap, int a)
{
  snprintf(out, cap, "own-%d", a);
  stream_store_profile p;
  if (stream_store_profile_get(&p, store, out) == STREAM_OK)
    return;
  stream_store_account acct;
  memset(&acct, 0, sizeof acct);
  snprintf(acct.id, sizeof acct.id, "acct-%d", a);
  snprintf(acct.email, sizeof acct.email, "acct-%d@example.com", a);
  int rc = stream_store_account_create(NULL, store, &acct, T0_MS / 1000);
  ck_assert_msg(rc == STREAM_OK || rc == STREAM_EEXIST, "account: %s",
                stream_error_last()->message);
  memset(&p, 0, sizeof p);
  snprintf(p.id, sizeof p.id, "%s", out);
  snprintf(p.account_id, sizeof p.account_id, "%s", acct.id);
  snprintf(p.name, sizeof p.name, "Own");
  p.maturity_ceiling = 18;
  rc = stream_store_profile_create(NULL, store, &p, T0_MS / 1000);
  ck_assert_msg(rc == STREAM_OK, "profile: %s", stream_error_last()->message);
}

/* One view's events as a JSON batch, ingested into A with account acct-<v%3>, the
 * credential's profile p-<v> for odd views (none for even ones, whose events name their
 * account's profile own-<v%3> or none), at the ingest clock T0 + v s. Views: 0..3 play to
 * the end (3 with a non-fatal error), 4 fails after starting, 5 before starting; ids
 * <v>-0000-4000-8000-<k>. */
static int ingest_view(int v)
{
  static const struct {
    int type;
    int dt;
  } seq[] = {{1, 0},     {2, 10},    {4, 800},   {13, 10000}, {8, 12000}, {9, 13500},  {10, 14000},
             {6, 20000}, {7, 20500}, {5, 25000}, {3, 30000},  {4, 30100}, {11, 31000}, {12, 40000}};
  char own[48] = "", own_id[16];
  if (v % 2 == 0 && v) {
    own_profile(own_id, sizeof own_id, v % 3);
    snprintf(own, sizeof own, ",\"profileId\":\"%s\"", own_id);
  }
  char body[8192];
  size_t len = (size_t)sprintf(body, "{\"events\":[");
  int n = 0;
  for (size_t k = 0; k < sizeof seq / sizeof seq[0]; k++) {
    int type = seq[k].type;
    if (v == 5 && k >= 2 && type != 11)
      continue; /* playrequest, then a fatal error before the first frame */
    if (type == 11 && v != 3 && v != 4 && v != 5)
      continue;
    if (v == 4 && type == 12)
      continue; /* the fatal error ends it */
    int fatal = v != 3;
    len += (size_t)sprintf(
        body + len,
        "%s{\"id\":\"%08X-0000-4000-8000-%012d\",\"viewId\":\"view-%d\",\"sessionId\":\"s-%d\","
        "\"type\":%d,\"clientTs\":%lld,\"titleId\":\"t-%d\",\"episodeId\":\"e-%d\","
        "\"deviceId\":\"d-%d\",\"playheadMs\":%d,\"br\":%d,\"width\":1280,\"height\":720,"
        "\"bl\":%d,\"mtp\":%d,\"sid\":\"s %d\",\"cid\":\"c-%d\",\"ot\":\"v\",\"su\":%s%s%s}",
        n ? "," : "", v, (int)k, v, v, type, (long long)(T0_MS + v * 100000 + seq[k].dt), v % 2, v,
        v, seq[k].dt, k >= 6 ? 6000 : 3000, 1000 + (int)k, 20000 + v, v, v,
        type == 2 ? "true" : "false", own,
        type == 11 ? (fatal ? ",\"error\":{\"code\":3,\"message\":\"décodage\",\"fatal\":true}"
                            : ",\"error\":{\"code\":9,\"message\":\"retry\",\"fatal\":false}")
                   : "");
    n++;
  }
  len += (size_t)sprintf(body + len, "]}");
  char account[16], profile[16];
  snprintf(account, sizeof account, "acct-%d", v % 3);
  snprintf(profile, sizeof profile, "p-%d", v);
  clock_ms = T0_MS + v * 1000;
  stream_events_result r;
  int rc = stream_events_ingest(ev_a, &r, body, len, STREAM_EVENTS_JSON, 0, account,
                                v % 2 ? profile : NULL);
  ck_assert_msg(rc == STREAM_OK, "ingest view %d: %s", v, stream_error_last()->message);
  ck_assert_uint_eq(r.accepted, (size_t)n);
  return n;
}

static int ingest_views(int from, int to)
{
  int n = 0;
  for (int v = from; v < to; v++)
    n += ingest_view(v);
  return n;
}

static int64_t count(stream_events *ev)
{
  int64_t n = -1;
  ck_assert_int_eq(stream_events_stats(ev, &n, NULL), STREAM_OK);
  return n;
}

static void assert_event_eq(const stream_event *a, const stream_event *b)
{
  ck_assert_str_eq(a->id, b->id);
  ck_assert_int_eq(a->type, b->type);
  ck_assert_str_eq(a->view_id, b->view_id);
  ck_assert_str_eq(a->session_id, b->session_id);
  ck_assert_str_eq(a->account_id, b->account_id);
  ck_assert_str_eq(a->profile_id, b->profile_id);
  ck_assert_str_eq(a->title_id, b->title_id);
  ck_assert_str_eq(a->episode_id, b->episode_id);
  ck_assert_str_eq(a->device_id, b->device_id);
  ck_assert_int_eq(a->client_ts, b->client_ts);
  ck_assert_int_eq(a->server_ts, b->server_ts);
  ck_assert_int_eq(a->playhead_ms, b->playhead_ms);
  ck_assert_int_eq(a->br, b->br);
  ck_assert_int_eq(a->width, b->width);
  ck_assert_int_eq(a->height, b->height);
  ck_assert_int_eq(a->bl, b->bl);
  ck_assert_int_eq(a->mtp, b->mtp);
  ck_assert_str_eq(a->sid, b->sid);
  ck_assert_str_eq(a->cid, b->cid);
  ck_assert_str_eq(a->ot, b->ot);
  ck_assert_int_eq(a->su, b->su);
  ck_assert_int_eq(a->error_code, b->error_code);
  ck_assert_int_eq(a->error_fatal, b->error_fatal);
  ck_assert_str_eq(a->error_message, b->error_message);
}

/* B holds exactly A's events (each once: ids are unique in a log), every field equal. */
static void assert_replica_equal(void)
{
  stream_event *evs = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_events_read(ev_a, &evs, &n, 0, STREAM_EVENTS_READ_MAX), STREAM_OK);
  ck_assert_int_eq(count(ev_b), (int64_t)n);
  for (size_t i = 0; i < n; i++) {
    stream_event b;
    int rc = stream_events_get(ev_b, &b, evs[i].id);
    ck_assert_msg(rc == STREAM_OK, "event %s is not in the replica", evs[i].id);
    assert_event_eq(&evs[i], &b);
  }
  stream_free(evs);
}

/* ---- relay and reader ----------------------------------------------------------- */

/* Publish everything of A's log after the relay's checkpoint. */
static void relay_all(void)
{
  stream_relay_options o = STREAM_RELAY_OPTIONS_INIT;
  o.events = ev_a;
  o.url = url;
  o.timeout_ms = 2000;
  o.create_stream = 1;
  stream_relay *r = NULL;
  int rc = stream_relay_new(&r, &o);
  ck_assert_msg(rc == STREAM_OK, "stream_relay_new: %s", stream_error_last()->message);
  int64_t p = 0;
  do {
    rc = stream_relay_run_once(r, &p, NULL);
    ck_assert_msg(rc == STREAM_OK, "relay run_once: %s", stream_error_last()->message);
  } while (p > 0);
  stream_relay_free(r);
}

static stream_relay_reader *reader_new(const char *durable, unsigned int batch)
{
  stream_relay_reader_options o = STREAM_RELAY_READER_OPTIONS_INIT;
  o.events = ev_b;
  o.url = url;
  o.durable = durable;
  o.batch = batch;
  o.timeout_ms = 1000;
  o.fetch_wait_ms = 250; /* the stream is filled before the rounds: an empty one ends a drain */
  stream_relay_reader *r = NULL;
  int rc = stream_relay_reader_new(&r, &o);
  ck_assert_msg(rc == STREAM_OK, "stream_relay_reader_new: %s", stream_error_last()->message);
  return r;
}

typedef struct totals {
  int64_t appended, duplicates, rejected, rounds;
} totals;

/* Rounds until one brings nothing; their sums. */
static totals drain_reader(stream_relay_reader *r)
{
  totals t = {0, 0, 0, 0};
  for (int i = 0; i < 100; i++) {
    int64_t a = -1, d = -1, x = -1;
    int rc = stream_relay_reader_run_once(r, &a, &d, &x);
    ck_assert_msg(rc == STREAM_OK, "reader run_once: %s", stream_error_last()->message);
    if (a + d + x == 0)
      return t;
    t.appended += a;
    t.duplicates += d;
    t.rejected += x;
    t.rounds++;
  }
  ck_abort_msg("the reader never caught up");
  return t;
}

static int64_t lag(stream_relay_reader *r)
{
  int64_t n = -1;
  ck_assert_int_eq(stream_relay_reader_lag(r, &n), STREAM_OK);
  return n;
}

/* ---- QoE ---------------------------------------------------------------------- */

static void assert_view_eq(const stream_events_view *a, const stream_events_view *b)
{
  ck_assert_str_eq(a->view_id, b->view_id);
  ck_assert_str_eq(a->session_id, b->session_id);
  ck_assert_str_eq(a->account_id, b->account_id);
  ck_assert_str_eq(a->profile_id, b->profile_id);
  ck_assert_str_eq(a->title_id, b->title_id);
  ck_assert_str_eq(a->episode_id, b->episode_id);
  ck_assert_str_eq(a->device_id, b->device_id);
  ck_assert_str_eq(a->day, b->day);
  ck_assert_int_eq(a->start_ts, b->start_ts);
  ck_assert_int_eq(a->last_ts, b->last_ts);
  ck_assert_int_eq(a->events, b->events);
  ck_assert_int_eq(a->requested, b->requested);
  ck_assert_int_eq(a->started, b->started);
  ck_assert_int_eq(a->failed, b->failed);
  ck_assert_int_eq(a->start_failed, b->start_failed);
  ck_assert_int_eq(a->ended, b->ended);
  ck_assert_int_eq(a->exited_before_start, b->exited_before_start);
  ck_assert_int_eq(a->error_code, b->error_code);
  ck_assert_int_eq(a->startup_ms, b->startup_ms);
  ck_assert_int_eq(a->watch_ms, b->watch_ms);
  ck_assert_int_eq(a->playing_ms, b->playing_ms);
  ck_assert_int_eq(a->rebuffer_count, b->rebuffer_count);
  ck_assert_int_eq(a->rebuffer_ms, b->rebuffer_ms);
  ck_assert_int_eq(a->peak_br, b->peak_br);
  ck_assert_int_eq(a->br_ms, b->br_ms);
  ck_assert_int_eq(a->br_sum, b->br_sum);
  ck_assert(a->rebuffer_pct == b->rebuffer_pct);
  ck_assert(a->rebuffer_per_min == b->rebuffer_per_min);
  ck_assert(a->avg_br == b->avg_br);
}

static void assert_qoe_equal(void)
{
  clock_ms = T0_MS + 7200000; /* both handles judge EBVS at the same time */
  int64_t ea = -1, eb = -1;
  ck_assert_int_eq(stream_events_qoe_run(ev_a, &ea, NULL), STREAM_OK);
  ck_assert_int_eq(stream_events_qoe_run(ev_b, &eb, NULL), STREAM_OK);
  ck_assert_int_eq(ea, count(ev_a));
  ck_assert_int_eq(eb, ea);
  for (int v = 0; v < VIEWS; v++) {
    char id[16];
    snprintf(id, sizeof id, "view-%d", v);
    stream_events_view a, b;
    ck_assert_int_eq(stream_events_view_get(ev_a, &a, id), STREAM_OK);
    ck_assert_int_eq(stream_events_view_get(ev_b, &b, id), STREAM_OK);
    assert_view_eq(&a, &b);
  }
  stream_events_qoe_summary sa, sb;
  ck_assert_int_eq(stream_events_qoe_stats(ev_a, &sa, NULL, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(stream_events_qoe_stats(ev_b, &sb, NULL, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(sa.views, VIEWS);
  /* The fixture's views cover the cases: a failure after start, one before, an error that is
   * not fatal, rebuffering. */
  ck_assert_int_eq(sa.failures, 2);
  ck_assert_int_eq(sa.start_failures, 1);
  ck_assert_int_gt(sa.rebuffer_count, 0);
  ck_assert_int_eq(sb.views, sa.views);
  ck_assert_int_eq(sb.started, sa.started);
  ck_assert_int_eq(sb.failures, sa.failures);
  ck_assert_int_eq(sb.start_failures, sa.start_failures);
  ck_assert_int_eq(sb.exits_before_start, sa.exits_before_start);
  ck_assert_int_eq(sb.startup_ms_p50, sa.startup_ms_p50);
  ck_assert_int_eq(sb.startup_ms_p95, sa.startup_ms_p95);
  ck_assert_int_eq(sb.watch_ms, sa.watch_ms);
  ck_assert_int_eq(sb.playing_ms, sa.playing_ms);
  ck_assert_int_eq(sb.rebuffer_count, sa.rebuffer_count);
  ck_assert_int_eq(sb.rebuffer_ms, sa.rebuffer_ms);
  ck_assert(sb.failure_pct == sa.failure_pct);
  ck_assert(sb.start_failure_pct == sa.start_failure_pct);
  ck_assert(sb.ebvs_pct == sa.ebvs_pct);
  ck_assert(sb.rebuffer_pct == sa.rebuffer_pct);
  ck_assert(sb.rebuffer_per_min == sa.rebuffer_per_min);
  ck_assert(sb.rebuffer_pct_p50 == sa.rebuffer_pct_p50);
  ck_assert(sb.rebuffer_pct_p95 == sa.rebuffer_pct_p95);
  ck_assert(sb.avg_br == sa.avg_br);
}

/* ---- tests -------------------------------------------------------------------- */

START_TEST(test_reader_replicates_exactly_once)
{
  server_start();
  int n = ingest_views(0, VIEWS);
  relay_all();
  stream_relay_reader *r = reader_new(NULL, 25);
  ck_assert_int_eq(lag(r), n);
  totals t = drain_reader(r);
  ck_assert_int_eq(t.appended, n);
  ck_assert_int_eq(t.duplicates, 0);
  ck_assert_int_eq(t.rejected, 0);
  ck_assert_int_ge(t.rounds, 3); /* batch 25: the rounds are bounded by it */
  ck_assert_int_eq(lag(r), 0);
  assert_replica_equal();
  ck_assert_str_eq(stream_relay_reader_rejection(r), "");
  /* A second round appends nothing. */
  int64_t a = -1, d = -1, x = -1;
  ck_assert_int_eq(stream_relay_reader_run_once(r, &a, &d, &x), STREAM_OK);
  ck_assert_int_eq(a + d + x, 0);
  ck_assert_int_eq(count(ev_b), n);
  stream_relay_reader_free(r);
  assert_qoe_equal();
}
END_TEST

/* A crash after the replica's commit and before the acknowledgements leaves events in B that
 * JetStream delivers again: made here by appending them to B first. */
START_TEST(test_reader_redelivery_is_duplicates)
{
  server_start();
  int n = ingest_views(0, 3);
  relay_all();
  stream_event *evs = NULL;
  size_t got = 0;
  ck_assert_int_eq(stream_events_read(ev_a, &evs, &got, 0, 100), STREAM_OK);
  ck_assert_int_eq(got, (size_t)n);
  size_t pre = got / 2;
  stream_events_result res;
  ck_assert_int_eq(stream_events_append(ev_b, &res, evs, pre), STREAM_OK);
  ck_assert_uint_eq(res.accepted, pre);
  stream_free(evs);
  stream_relay_reader *r = reader_new(NULL, 500);
  totals t = drain_reader(r);
  ck_assert_int_eq(t.duplicates, (int64_t)pre);
  ck_assert_int_eq(t.appended, n - (int64_t)pre);
  ck_assert_int_eq(lag(r), 0);
  assert_replica_equal();
  stream_relay_reader_free(r);
}
END_TEST

START_TEST(test_reader_new_reader_resumes)
{
  server_start();
  int n = ingest_views(0, 4);
  relay_all();
  stream_relay_reader *r = reader_new("replica-1", 10);
  int64_t a = -1;
  ck_assert_int_eq(stream_relay_reader_run_once(r, &a, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(a, 10);
  stream_relay_reader_free(r); /* the durable stays */
  r = reader_new("replica-1", 7);
  ck_assert_int_eq(lag(r), n - 10);
  totals t = drain_reader(r);
  ck_assert_int_eq(t.appended, n - 10);
  ck_assert_int_eq(t.duplicates, 0);
  /* More events later: the same durable goes on from there. */
  int more = ingest_views(4, VIEWS);
  relay_all();
  t = drain_reader(r);
  ck_assert_int_eq(t.appended, more);
  ck_assert_int_eq(t.duplicates, 0);
  assert_replica_equal();
  stream_relay_reader_free(r);
  /* Another durable is another consumer: it reads the stream from the start (into B, which
   * has it all: duplicates only). */
  r = reader_new("replica-2", 500);
  t = drain_reader(r);
  ck_assert_int_eq(t.appended, 0);
  ck_assert_int_eq(t.duplicates, n + more);
  stream_relay_reader_free(r);
}
END_TEST

START_TEST(test_reader_server_restart)
{
  server_start();
  int n = ingest_views(0, 3);
  relay_all();
  stream_relay_reader *r = reader_new(NULL, 500);
  totals t = drain_reader(r);
  ck_assert_int_eq(t.appended, n);
  test_nats_kill(&server_pid);
  int more = ingest_views(3, VIEWS);
  /* The server is gone: the round fails and says so. */
  int64_t a = -1, d = -1, x = -1;
  int rc = stream_relay_reader_run_once(r, &a, &d, &x);
  ck_assert_int_eq(rc, STREAM_EIO);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, url));
  ck_assert_int_eq(a + d + x, 0);
  /* Back on the same storage: the reader reconnects by itself and resumes. */
  server_start();
  relay_all(); /* a new relay: the old connection's publications are not at stake here */
  int ok = 0;
  for (int i = 0; i < 200 && !ok; i++) {
    rc = stream_relay_reader_run_once(r, &a, &d, NULL);
    if (rc == STREAM_OK) {
      ok = 1;
      t.appended += a;
      t.duplicates += d;
    } else {
      ck_assert_int_eq(rc, STREAM_EIO);
      sleep_ms(50);
    }
  }
  ck_assert_msg(ok, "the reader did not come back: %s", stream_error_last()->message);
  totals t2 = drain_reader(r);
  ck_assert_int_eq(t.appended + t2.appended, n + more);
  /* Acks of the first rounds that the killed server had not written down come again: they
   * are duplicates, never a second copy. */
  assert_replica_equal();
  ck_assert_int_eq(lag(r), 0);
  stream_relay_reader_free(r);
}
END_TEST

/* ---- one wording for a connection lost ------------------------------------------------- */

typedef struct fetch_result {
  stream_relay_reader *r;
  int rc;
  char msg[600]; /* stream_error_last() is the round's thread's */
} fetch_result;

static void *fetch_thread(void *arg)
{
  fetch_result *fr = arg;
  fr->rc = stream_relay_reader_run_once(fr->r, NULL, NULL, NULL);
  snprintf(fr->msg, sizeof fr->msg, "%s", fr->rc ? stream_error_last()->message : "");
  return NULL;
}

START_TEST(test_reader_connection_lost_during_fetch)
{
  server_start();
  int n = ingest_views(0, 2);
  relay_all();
  stream_relay_reader_options o = STREAM_RELAY_READER_OPTIONS_INIT;
  o.events = ev_b;
  o.url = url;
  o.timeout_ms = 1000;
  o.fetch_wait_ms = 3000;
  stream_relay_reader *r = NULL;
  ck_assert_int_eq(stream_relay_reader_new(&r, &o), STREAM_OK);
  int64_t a = 0;
  ck_assert_int_eq(stream_relay_reader_run_once(r, &a, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(a, n);
  /* A round waiting in its fetch of an idle stream (the server holds its pull request: the
   * durable's waiting count) when the server is killed. */
  fetch_result fr = {r, 0, ""};
  pthread_t t;
  ck_assert_int_eq(pthread_create(&t, NULL, fetch_thread, &fr), 0);
  natsConnection *nc = NULL;
  jsCtx *js = NULL;
  ck_assert_int_eq(natsConnection_ConnectTo(&nc, url), NATS_OK);
  ck_assert_int_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
  int waiting = 0;
  for (int i = 0; i < 500 && !waiting; i++) {
    jsConsumerInfo *ci = NULL;
    ck_assert_int_eq(js_GetConsumerInfo(&ci, js, STREAM_RELAY_DEFAULT_STREAM,
                                        STREAM_RELAY_READER_DEFAULT_DURABLE, NULL, NULL),
                     NATS_OK);
    waiting = ci->NumWaiting > 0;
    jsConsumerInfo_Destroy(ci);
    if (!waiting)
      sleep_ms(10);
  }
  ck_assert_msg(waiting, "the round's pull request never reached the server");
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  test_nats_kill(&server_pid);
  pthread_join(t, NULL);
  /* The fetch that ended in the outage says it as every later round and the lag query do. */
  char want[200];
  snprintf(want, sizeof want, "relay reader: not connected to NATS at %s (reconnecting)", url);
  ck_assert_int_eq(fr.rc, STREAM_EIO);
  ck_assert_str_eq(fr.msg, want);
  int64_t x = -1;
  ck_assert_int_eq(stream_relay_reader_run_once(r, &a, NULL, &x), STREAM_EIO);
  ck_assert_str_eq(stream_error_last()->message, want);
  ck_assert_int_eq(a + x, 0);
  int64_t lag_n = -1;
  ck_assert_int_eq(stream_relay_reader_lag(r, &lag_n), STREAM_EIO);
  ck_assert_str_eq(stream_error_last()->message, want);
  ck_assert_int_eq(lag_n, 0);
  stream_relay_reader_free(r);
}
END_TEST

/* The stream deleted under both ends: the reader reports it gone until the relay (with
 * create_stream) has made it again, then makes its durable again and reads the new stream. */
START_TEST(test_reader_stream_recreated_by_relay)
{
  server_start();
  int n = ingest_views(0, 2);
  relay_all();
  stream_relay_reader *r = reader_new(NULL, 500);
  ck_assert_int_eq(drain_reader(r).appended, n);
  reader rd;
  reader_open(&rd);
  ck_assert_int_eq(js_DeleteStream(rd.js, STREAM_RELAY_DEFAULT_STREAM, NULL, NULL), NATS_OK);
  reader_close(&rd);
  int64_t a = -1;
  ck_assert_int_eq(stream_relay_reader_run_once(r, &a, NULL, NULL), STREAM_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "no longer exists"));
  int more = ingest_views(2, 4);
  relay_all(); /* the relay's checkpoint is at n: only the new events, into a new stream */
  ck_assert_int_eq(stream_relay_reader_run_once(r, &a, NULL, NULL), STREAM_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "created again"));
  totals t = drain_reader(r);
  ck_assert_int_eq(t.appended, more);
  ck_assert_int_eq(t.duplicates, 0);
  assert_replica_equal();
  ck_assert_int_eq(lag(r), 0);
  stream_relay_reader_free(r);
}
END_TEST

/* Publish `len` bytes by hand to `subject`. */
static void publish_raw(jsCtx *js, const char *subject, const void *data, int len)
{
  jsPubAck *pa = NULL;
  ck_assert_int_eq(js_Publish(&pa, js, subject, data, len, NULL, NULL), NATS_OK);
  jsPubAck_Destroy(pa);
}

/* A protobuf Event valid but for what `mutate` breaks. */
static int pack_event(uint8_t *buf, size_t cap, int what)
{
  Libstream__Events__V1__Event m;
  libstream__events__v1__event__init(&m);
  char id[] = "0000abcd-0000-4000-8000-000000000001";
  char view[] = "view-x";
  char account[] = "acct-x";
  char long_id[100];
  memset(long_id, 'a', sizeof long_id - 1);
  long_id[sizeof long_id - 1] = '\0';
  m.id = id;
  m.view_id = view;
  m.account_id = account;
  m.type = LIBSTREAM__EVENTS__V1__EVENT_TYPE__EVENT_TYPE_PLAY;
  m.client_ts = T0_MS;
  m.server_ts = T0_MS + 5;
  if (what == 0)
    m.view_id = (char *)""; /* required */
  else if (what == 1)
    m.account_id = (char *)""; /* a log event always has its account */
  else if (what == 2)
    m.title_id = long_id; /* over 64 bytes: refused, not truncated */
  else if (what == 3)
    m.server_ts = 0;
  else if (what == 4) { /* a credential's ids, outside an event field's [A-Za-z0-9._:-]: valid */
    m.account_id = (char *)"acct@idp";
    m.profile_id = (char *)"user@example.org/kids";
  } else if (what == 5)
    m.account_id = long_id;
  else if (what == 6)
    m.profile_id = long_id;
  size_t n = libstream__events__v1__event__get_packed_size(&m);
  ck_assert_uint_le(n, cap);
  return (int)libstream__events__v1__event__pack(&m, buf);
}

/* Publish by hand, on a connection of its own, `junk` (bytes that are no protobuf at all;
 * NULL: none), then pack_event()'s events `from` to `to` - 1, in that order. */
static void publish_packed(const char *junk, int from, int to)
{
  natsConnection *nc = NULL;
  jsCtx *js = NULL;
  ck_assert_int_eq(natsConnection_ConnectTo(&nc, url), NATS_OK);
  ck_assert_int_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
  if (junk)
    publish_raw(js, "stream.events.play", junk, (int)strlen(junk));
  uint8_t buf[512];
  for (int what = from; what < to; what++) {
    int len = pack_event(buf, sizeof buf, what);
    publish_raw(js, "stream.events.play", buf, len);
  }
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
}

START_TEST(test_reader_poison_messages_terminated)
{
  server_start();
  int n1 = ingest_views(0, 2);
  relay_all();
  publish_packed("\xff\xff\xff\xff\xff", 0, 4);
  int n2 = ingest_views(2, 4);
  relay_all();

  /* One fetch holds the good messages of both sides and the five bad ones between them. */
  stream_relay_reader *r = reader_new(NULL, 500);
  int64_t a = -1, d = -1, x = -1;
  ck_assert_int_eq(stream_relay_reader_run_once(r, &a, &d, &x), STREAM_OK);
  ck_assert_int_eq(a, n1 + n2);
  ck_assert_int_eq(d, 0);
  ck_assert_int_eq(x, 5);
  const char *why = stream_relay_reader_rejection(r);
  ck_assert_ptr_nonnull(strstr(why, "subject stream.events.play"));
  ck_assert_msg(strstr(why, "serverTs") != NULL, "last rejection: %s", why);
  /* Every rejection of the round is listed, in fetch order, not only the last. */
  const char *kinds[] = {"not a protobuf", "'viewId' is missing", "account id is missing",
                         "'titleId' is longer than 64 bytes", "serverTs"};
  size_t nrej = 0;
  const char *const *all = stream_relay_reader_rejections(r, &nrej);
  ck_assert_uint_eq(nrej, 5);
  ck_assert_ptr_nonnull(all);
  for (size_t i = 0; i < nrej; i++) {
    ck_assert_msg(strstr(all[i], kinds[i]) != NULL, "rejection %zu: %s (expected %s)", i, all[i],
                  kinds[i]);
    ck_assert_ptr_nonnull(strstr(all[i], "subject stream.events.play"));
  }
  ck_assert_str_eq(all[4], why);
  assert_replica_equal();
  /* Terminated: never delivered again, nothing left pending. */
  ck_assert_int_eq(lag(r), 0);
  ck_assert_int_eq(stream_relay_reader_run_once(r, &a, &d, &x), STREAM_OK);
  ck_assert_int_eq(a + d + x, 0);
  /* A round without rejections lists none (the last rejection stays). */
  ck_assert_ptr_null(stream_relay_reader_rejections(r, &nrej));
  ck_assert_uint_eq(nrej, 0);
  ck_assert_str_eq(stream_relay_reader_rejection(r), why);
  stream_relay_reader_free(r);
  /* Each kind is reported: the first message alone in a round of its own durable. */
  r = reader_new("poison-check", 1);
  const char *expect[] = {"not a protobuf", "'viewId' is missing", "account id is missing",
                          "'titleId' is longer than 64 bytes", "serverTs"};
  int seen = 0;
  for (int i = 0; i < 100 && seen < 5; i++) {
    ck_assert_int_eq(stream_relay_reader_run_once(r, &a, &d, &x), STREAM_OK);
    if (x == 1) {
      why = stream_relay_reader_rejection(r);
      ck_assert_msg(strstr(why, expect[seen]) != NULL, "rejection %d: %s (expected %s)", seen, why,
                    expect[seen]);
      seen++;
    }
  }
  ck_assert_int_eq(seen, 5);
  stream_relay_reader_free(r);
}
END_TEST

/* A relayed event's account and profile are a credential's, whose rules (any printable
 * characters) are wider than an event field's: such ids are kept as sent, and only their size
 * is refused (a longer one would not fit the row). */
START_TEST(test_reader_credential_ids)
{
  server_start();
  int n = ingest_views(0, 1);
  relay_all();
  publish_packed(NULL, 4, 7);
  stream_relay_reader *r = reader_new(NULL, 500);
  int64_t a = -1, d = -1, x = -1;
  ck_assert_int_eq(stream_relay_reader_run_once(r, &a, &d, &x), STREAM_OK);
  ck_assert_int_eq(a, n + 1);
  ck_assert_int_eq(d, 0);
  ck_assert_int_eq(x, 2);
  const char *kinds[] = {"'accountId' is longer than 64 bytes",
                         "'profileId' is longer than 64 bytes"};
  size_t nrej = 0;
  const char *const *all = stream_relay_reader_rejections(r, &nrej);
  ck_assert_uint_eq(nrej, 2);
  for (size_t i = 0; i < nrej; i++)
    ck_assert_msg(strstr(all[i], kinds[i]) != NULL, "rejection %zu: %s (expected %s)", i, all[i],
                  kinds[i]);
  stream_event e;
  ck_assert_int_eq(stream_events_get(ev_b, &e, "0000abcd-0000-4000-8000-000000000001"), STREAM_OK);
  ck_assert_str_eq(e.account_id, "acct@idp");
  ck_assert_str_eq(e.profile_id, "user@example.org/kids");
  stream_relay_reader_free(r);
}
END_TEST

START_TEST(test_reader_bad_options)
{
  stream_relay_reader *r = (stream_relay_reader *)1;
  stream_relay_reader_options o = STREAM_RELAY_READER_OPTIONS_INIT;
  o.events = ev_b;
  o.url = url;
  ck_assert_int_eq(stream_relay_reader_new(NULL, &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_relay_reader_new(&r, NULL), STREAM_EINVAL);
  ck_assert_ptr_null(r);
#define BAD(field, value)                                                                          \
  do {                                                                                             \
    stream_relay_reader_options b = o;                                                             \
    b.field = value;                                                                               \
    r = (stream_relay_reader *)1;                                                                  \
    ck_assert_int_eq(stream_relay_reader_new(&r, &b), STREAM_EINVAL);                              \
    ck_assert_ptr_null(r);                                                                         \
  } while (0)
  BAD(version, 0);
  BAD(version, STREAM_RELAY_READER_OPTIONS_VERSION + 1);
  BAD(events, NULL);
  BAD(url, NULL);
  BAD(url, "http://127.0.0.1:4222");
  BAD(url, "nats://user:pw@127.0.0.1:4222");
  BAD(stream_name, "a.b");
  BAD(durable, "");
  BAD(durable, "has.dot");
  BAD(durable, "a*");
  BAD(durable, "0123456789012345678901234567890123456789012345678901234567890123456789");
  BAD(filter_subject, "");
  BAD(filter_subject, "stream..events");
  BAD(filter_subject, "stream.>.x");
  BAD(filter_subject, "stream.ev*");
  BAD(filter_subject, "stream events");
  BAD(batch, 0);
  BAD(batch, STREAM_EVENTS_READ_MAX + 1);
  BAD(timeout_ms, 0);
  BAD(timeout_ms, STREAM_RELAY_TIMEOUT_MAX_MS + 1);
  BAD(ack_wait_ms, STREAM_RELAY_READER_ACK_WAIT_MIN_MS - 1);
  BAD(ack_wait_ms, STREAM_RELAY_READER_ACK_WAIT_MAX_MS + 1);
  BAD(fetch_wait_ms, STREAM_RELAY_TIMEOUT_MAX_MS + 1);
  BAD(password, "pw"); /* a password without a user */
  BAD(tls_cert_file, "/nonexistent.pem");
#undef BAD
  int64_t a = -1, d = -1, x = -1, l = -1;
  ck_assert_int_eq(stream_relay_reader_run_once(NULL, &a, &d, &x), STREAM_EINVAL);
  ck_assert_int_eq(a + d + x, 0);
  ck_assert_int_eq(stream_relay_reader_lag(NULL, &l), STREAM_EINVAL);
  ck_assert_ptr_null(stream_relay_reader_rejection(NULL));
  size_t nrej = 9;
  ck_assert_ptr_null(stream_relay_reader_rejections(NULL, &nrej));
  ck_assert_uint_eq(nrej, 0);
  stream_relay_reader_free(NULL);

  /* Unreachable, then no stream, then a durable that is another kind of consumer. */
  ck_assert_int_eq(stream_relay_reader_new(&r, &o), STREAM_EIO);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, url));
  server_start();
  ck_assert_int_eq(stream_relay_reader_new(&r, &o), STREAM_ENOTFOUND);
  ck_assert_ptr_null(r);
  relay_all(); /* creates the stream */
  stream_relay_reader_options f = o;
  f.filter_subject = "stream.events.error";
  f.durable = "errors-only";
  ck_assert_int_eq(stream_relay_reader_new(&r, &f), STREAM_OK);
  stream_relay_reader_free(r);
  f.filter_subject = "stream.events.>";
  ck_assert_int_eq(stream_relay_reader_new(&r, &f), STREAM_EPROTO);
  ck_assert_ptr_null(r);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "another filter subject"));
  /* A filter outside the stream's subjects: JetStream refuses the consumer. */
  f.durable = "elsewhere";
  f.filter_subject = "other.subject";
  ck_assert_int_eq(stream_relay_reader_new(&r, &f), STREAM_EPROTO);
  ck_assert_ptr_null(r);
}
END_TEST

/* The durable's ack wait in milliseconds, as JetStream has it. */
static int64_t durable_ack_wait_ms(jsCtx *js, const char *durable)
{
  jsConsumerInfo *ci = NULL;
  ck_assert_int_eq(js_GetConsumerInfo(&ci, js, STREAM_RELAY_DEFAULT_STREAM, durable, NULL, NULL),
                   NATS_OK);
  int64_t ms = ci->Config->AckWait / 1000000;
  jsConsumerInfo_Destroy(ci);
  return ms;
}

START_TEST(test_reader_durable_options)
{
  server_start();
  int n = ingest_views(0, 2);
  relay_all();
  natsConnection *nc = NULL;
  jsCtx *js = NULL;
  ck_assert_int_eq(natsConnection_ConnectTo(&nc, url), NATS_OK);
  ck_assert_int_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);

  /* The default ack wait, then ack_wait_ms on creation, then an existing durable updated. */
  stream_relay_reader *r = reader_new("acks-default", 500);
  stream_relay_reader_free(r);
  ck_assert_int_eq(durable_ack_wait_ms(js, "acks-default"),
                   STREAM_RELAY_READER_DEFAULT_ACK_WAIT_MS);
  stream_relay_reader_options o = STREAM_RELAY_READER_OPTIONS_INIT;
  o.events = ev_b;
  o.url = url;
  o.durable = "acks";
  o.timeout_ms = 1000;
  o.fetch_wait_ms = 200;
  o.ack_wait_ms = 2000;
  ck_assert_int_eq(stream_relay_reader_new(&r, &o), STREAM_OK);
  stream_relay_reader_free(r);
  ck_assert_int_eq(durable_ack_wait_ms(js, "acks"), 2000);
  o.ack_wait_ms = 1000;
  ck_assert_int_eq(stream_relay_reader_new(&r, &o), STREAM_OK);
  ck_assert_int_eq(durable_ack_wait_ms(js, "acks"), 1000);

  /* A reader that died holding messages (fetched, never acknowledged: a pull subscription of
   * our own on the durable): they come again after the 1 s ack wait, and the reader, which
   * polls until then, stores each once. */
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = STREAM_RELAY_DEFAULT_STREAM;
  so.Consumer = "acks";
  natsSubscription *dead = NULL;
  ck_assert_int_eq(js_PullSubscribe(&dead, js, "stream.events.>", "acks", NULL, &so, NULL),
                   NATS_OK);
  natsMsgList held;
  ck_assert_int_eq(natsSubscription_Fetch(&held, dead, n, 2000, NULL), NATS_OK);
  ck_assert_int_eq(held.Count, n);
  natsMsgList_Destroy(&held);
  natsSubscription_Destroy(dead);
  int64_t got = 0;
  for (int i = 0; i < 200 && got < n; i++) { /* 200 fetches of 200 ms: 40 s at most */
    int64_t a = 0, d = 0, x = 0;
    ck_assert_int_eq(stream_relay_reader_run_once(r, &a, &d, &x), STREAM_OK);
    ck_assert_int_eq(d + x, 0);
    got += a;
  }
  ck_assert_int_eq(got, n);
  assert_replica_equal();
  stream_relay_reader_free(r);

  /* A durable that limits deliveries would drop messages the reader could not append: a loss
   * in the replica. It is refused, and left as it is. */
  jsConsumerConfig cc;
  jsConsumerConfig_Init(&cc);
  cc.Durable = "limited";
  cc.DeliverPolicy = js_DeliverAll;
  cc.AckPolicy = js_AckExplicit;
  cc.AckWait = (int64_t)2000 * 1000000;
  cc.MaxDeliver = 3;
  cc.FilterSubject = "stream.events.>";
  jsConsumerInfo *ci = NULL;
  ck_assert_int_eq(js_AddConsumer(&ci, js, STREAM_RELAY_DEFAULT_STREAM, &cc, NULL, NULL), NATS_OK);
  jsConsumerInfo_Destroy(ci);
  o.durable = "limited";
  o.ack_wait_ms = 0;
  r = (stream_relay_reader *)1;
  ck_assert_int_eq(stream_relay_reader_new(&r, &o), STREAM_EPROTO);
  ck_assert_ptr_null(r);
  ck_assert_msg(strstr(stream_error_last()->message, "max_deliver") != NULL, "%s",
                stream_error_last()->message);
  ck_assert_int_eq(durable_ack_wait_ms(js, "limited"), 2000);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
}
END_TEST

/* The durable deleted under a running reader (an operator, or a server that lost its state):
 * JetStream answers nothing to its pull requests, so without a check the reader would report
 * "caught up" for ever. The round says so once (STREAM_ENOTFOUND), the durable is created
 * again, and the next rounds replay the stream: what B holds as duplicates, the rest once. */
START_TEST(test_reader_durable_deleted)
{
  server_start();
  int n1 = ingest_views(0, 2);
  relay_all();
  stream_relay_reader *r = reader_new("deleted", 500);
  totals t = drain_reader(r);
  ck_assert_int_eq(t.appended, n1);
  natsConnection *nc = NULL;
  jsCtx *js = NULL;
  ck_assert_int_eq(natsConnection_ConnectTo(&nc, url), NATS_OK);
  ck_assert_int_eq(natsConnection_JetStream(&js, nc, NULL), NATS_OK);
  ck_assert_int_eq(js_DeleteConsumer(js, STREAM_RELAY_DEFAULT_STREAM, "deleted", NULL, NULL),
                   NATS_OK);
  int n2 = ingest_views(2, 4);
  relay_all();
  int64_t a = -1, d = -1, x = -1;
  int rc = stream_relay_reader_run_once(r, &a, &d, &x);
  ck_assert_msg(rc == STREAM_ENOTFOUND, "run_once after the delete: %d (%lld appended)", rc,
                (long long)a);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "created again"));
  ck_assert_int_eq(a + d + x, 0);
  t = drain_reader(r);
  ck_assert_int_eq(t.appended, n2);
  ck_assert_int_eq(t.duplicates, n1);
  assert_replica_equal();
  ck_assert_int_eq(lag(r), 0);
  stream_relay_reader_free(r);
  /* The stream itself gone: every empty round says so. */
  r = reader_new("deleted", 500);
  ck_assert_int_eq(js_DeleteStream(js, STREAM_RELAY_DEFAULT_STREAM, NULL, NULL), NATS_OK);
  ck_assert_int_eq(stream_relay_reader_run_once(r, &a, &d, &x), STREAM_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "no longer exists"));
  stream_relay_reader_free(r);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("relay-reader");
  TCase *tc = tcase_create("relay-reader");
  tcase_add_checked_fixture(tc, reader_setup, reader_teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_reader_replicates_exactly_once);
  tcase_add_test(tc, test_reader_redelivery_is_duplicates);
  tcase_add_test(tc, test_reader_new_reader_resumes);
  tcase_add_test(tc, test_reader_server_restart);
  tcase_add_test(tc, test_reader_connection_lost_during_fetch);
  tcase_add_test(tc, test_reader_stream_recreated_by_relay);
  tcase_add_test(tc, test_reader_poison_messages_terminated);
  tcase_add_test(tc, test_reader_credential_ids);
  tcase_add_test(tc, test_reader_bad_options);
  tcase_add_test(tc, test_reader_durable_options);
  tcase_add_test(tc, test_reader_durable_deleted);
  suite_add_tcase(s, tc);
  return relay_suite_main(s);
}
