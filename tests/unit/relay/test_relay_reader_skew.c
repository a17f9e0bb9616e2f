/* Unit tests for the relay's reader (stream_relay_reader) against what it must not lose: the
 * payloads of a newer libstream (a rolling upgrade: the relay runs a build that knows event
 * types, or CMCD object types, this reader's build does not) and an out-of-memory decode. With
 * real parts: store A (SQLite, or PostgreSQL under tests/pg/pg_run.sh) relayed to a real
 * nats-server with JetStream (started by each test on a loopback port), hand-made payloads
 * published next to the relay's, the reader filling store B.
 * Checked: an otherwise valid event of type 14, and one with an unknown `ot` token, are
 * deferred (negatively acknowledged with the reader's defer delay), not appended, not
 * terminated: they come again after the delay and are deferred again, counted by
 * stream_relay_reader_deferred() and described by stream_relay_reader_deferral(), and the
 * durable keeps them (the lag counts them); payloads no version can read (not a protobuf, a
 * newer type with a missing view id, type 0) are still terminated and counted as rejected; the
 * relay's valid events of the same fetch are appended. A version-1 options struct is accepted,
 * with the default delay. An allocation failure while decoding (the reader's protobuf-c
 * allocator gets NULL from malloc: interposed with --wrap, failing one call when the test asks)
 * is not taken for a bad payload: the round returns STREAM_ENOMEM, terminates nothing, and the
 * next round stores every event of the fetch.
 * Exits 77 (meson: skipped) when nats-server is not installed. */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "proto/events.pb-c.h"
#include "relay_fixture.h"
#include "stream/events.h"
#include "stream/relay.h"

/* ---- malloc interposed (-Wl,--wrap=malloc: the calls of this executable's objects, the
 * static libstream's included, not those inside shared libraries) ------------------------- */

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);

static int fail_mallocs; /* the next this many calls fail */

void *__wrap_malloc(size_t size)
{
  if (fail_mallocs > 0) {
    fail_mallocs--;
    return NULL;
  }
  return __real_malloc(size);
}

/* ---- fixture ------------------------------------------------------------------------ */

static stream_store *store_b;
static stream_events *ev_b; /* the replica; A is the fixture's `events` */

static void skew_setup(void)
{
  fail_mallocs = 0;
  setup();
  open_log(&store_b, &ev_b, "b.sqlite", NULL);
}

static void skew_teardown(void)
{
  stream_events_free(ev_b);
  stream_store_close(store_b);
  teardown();
}

/* Publish everything of A's log after the relay's checkpoint (and create the stream). */
static void relay_all(void)
{
  stream_relay_options o = STREAM_RELAY_OPTIONS_INIT;
  o.events = events;
  o.url = url;
  o.timeout_ms = 2000;
  o.create_stream = 1;
  stream_relay *r = NULL;
  int rc = stream_relay_new(&r, &o);
  ck_assert_msg(rc == STREAM_OK, "stream_relay_new: %s", stream_error_last()->message);
  int64_t p = 0, d = 0;
  drain(r, &p, &d);
  stream_relay_free(r);
}

static stream_relay_reader *reader_new(const char *durable, unsigned int version,
                                       unsigned int defer_delay_ms)
{
  stream_relay_reader_options o = STREAM_RELAY_READER_OPTIONS_INIT;
  o.version = version;
  o.events = ev_b;
  o.url = url;
  o.durable = durable;
  o.batch = 500;
  o.timeout_ms = 1000;
  o.fetch_wait_ms = 250;
  o.defer_delay_ms = defer_delay_ms; /* not read for version 1 */
  stream_relay_reader *r = NULL;
  int rc = stream_relay_reader_new(&r, &o);
  ck_assert_msg(rc == STREAM_OK, "stream_relay_reader_new: %s", stream_error_last()->message);
  return r;
}

static int64_t deferred(const stream_relay_reader *r)
{
  int64_t n = -1;
  ck_assert_int_eq(stream_relay_reader_deferred(r, &n), STREAM_OK);
  return n;
}

static int64_t lag(stream_relay_reader *r)
{
  int64_t n = -1;
  ck_assert_int_eq(stream_relay_reader_lag(r, &n), STREAM_OK);
  return n;
}

/* The lag once it is `n`: JetStream applies acknowledgements after it answered the round's
 * flush, so right after a round it may still count messages the round acknowledged. */
static int64_t lag_settled(stream_relay_reader *r, int64_t n)
{
  int64_t got = lag(r);
  for (int i = 0; i < 100 && got != n; i++) {
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
    got = lag(r);
  }
  return got;
}

/* The durable `durable`'s state, for a failure's message: what JetStream delivered, which
 * sequences it holds acknowledged, what waits for an ack and how often it delivered again. */
static void consumer_state(char *buf, size_t cap, const char *durable)
{
  reader rd;
  reader_open(&rd);
  jsConsumerInfo *ci = NULL;
  natsStatus s = js_GetConsumerInfo(&ci, rd.js, STREAM_RELAY_DEFAULT_STREAM, durable, NULL, NULL);
  if (s == NATS_OK)
    snprintf(buf, cap,
             "consumer %s: delivered stream seq %llu (consumer seq %llu), ack floor stream seq "
             "%llu, %lld waiting for an ack, %lld delivered again, %llu not delivered; stream "
             "holds %llu messages",
             durable, (unsigned long long)ci->Delivered.Stream,
             (unsigned long long)ci->Delivered.Consumer, (unsigned long long)ci->AckFloor.Stream,
             (long long)ci->NumAckPending, (long long)ci->NumRedelivered,
             (unsigned long long)ci->NumPending, (unsigned long long)stream_msgs(&rd));
  else
    snprintf(buf, cap, "consumer %s: no information (%s)", durable, natsStatus_GetText(s));
  jsConsumerInfo_Destroy(ci);
  reader_close(&rd);
}

static int64_t count(stream_events *ev)
{
  int64_t n = -1;
  ck_assert_int_eq(stream_events_stats(ev, &n, NULL), STREAM_OK);
  return n;
}

/* ---- hand-made payloads --------------------------------------------------------------- */

/* A relayed Event (account and server time set) of `type`, id ...-<k>, with `ot` and
 * `view` (NULL: none). */
static int pack_event(uint8_t *buf, size_t cap, int k, int type, const char *ot, const char *view)
{
  Libstream__Events__V1__Event m;
  libstream__events__v1__event__init(&m);
  char id[40], account[] = "acct-x";
  snprintf(id, sizeof id, "0000abcd-0000-4000-8000-%012d", k);
  m.id = id;
  m.view_id = (char *)(view ? view : "");
  m.account_id = account;
  m.type = (Libstream__Events__V1__EventType)type; /* a number this build has no name for */
  m.client_ts = INT64_C(1700000000000);
  m.server_ts = INT64_C(1700000000005);
  m.ot = (char *)(ot ? ot : "");
  size_t n = libstream__events__v1__event__get_packed_size(&m);
  ck_assert_uint_le(n, cap);
  return (int)libstream__events__v1__event__pack(&m, buf);
}

static void publish_raw(jsCtx *js, const void *data, int len)
{
  jsPubAck *pa = NULL;
  ck_assert_int_eq(js_Publish(&pa, js, "stream.events.play", data, len, NULL, NULL), NATS_OK);
  jsPubAck_Destroy(pa);
}

/* In this order: bytes that are no protobuf; type 14, valid otherwise (deferred); a known type
 * with an `ot` token this build does not know (deferred); type 14 without a view id (no
 * version takes that: terminated); type 0, EVENT_TYPE_UNSPECIFIED (terminated); type 999 and
 * an `ot` of no CMCD token's shape, both far from what a newer build adds (terminated: deferred,
 * they would stay in the stream for ever). */
static void publish_skewed(void)
{
  reader rd;
  reader_open(&rd);
  publish_raw(rd.js, "\xff\xff\xff", 3);
  uint8_t buf[256];
  publish_raw(rd.js, buf, pack_event(buf, sizeof buf, 1, 14, "v", "view-new"));
  publish_raw(rd.js, buf, pack_event(buf, sizeof buf, 2, 3, "zz", "view-new"));
  publish_raw(rd.js, buf, pack_event(buf, sizeof buf, 3, 14, NULL, NULL));
  publish_raw(rd.js, buf, pack_event(buf, sizeof buf, 4, 0, NULL, "view-new"));
  publish_raw(rd.js, buf, pack_event(buf, sizeof buf, 5, 999, NULL, "view-new"));
  publish_raw(rd.js, buf, pack_event(buf, sizeof buf, 6, 3, "Zq9", "view-new"));
  reader_close(&rd);
}

static bool in_log(stream_events *ev, int k)
{
  char id[40];
  snprintf(id, sizeof id, "0000abcd-0000-4000-8000-%012d", k);
  stream_event e;
  int rc = stream_events_get(ev, &e, id);
  ck_assert(rc == STREAM_OK || rc == STREAM_ENOTFOUND);
  return rc == STREAM_OK;
}

/* ---- tests ---------------------------------------------------------------------------- */

START_TEST(test_reader_defers_what_a_newer_build_reads)
{
  server_start();
  ingest(0, 5);
  relay_all();
  publish_skewed();
  ingest(5, 3);
  relay_all();
  reader rd;
  reader_open(&rd);
  ck_assert_uint_eq(stream_msgs(&rd), 15); /* 8 relayed, 7 hand-made: each once */
  reader_close(&rd);

  stream_relay_reader *r = reader_new(NULL, STREAM_RELAY_READER_OPTIONS_VERSION, 1000);
  ck_assert_int_eq(deferred(r), 0);
  ck_assert_str_eq(stream_relay_reader_deferral(r), "");
  int64_t a = -1, d = -1, x = -1;
  int rc = stream_relay_reader_run_once(r, &a, &d, &x);
  ck_assert_msg(rc == STREAM_OK, "run_once: %s", stream_error_last()->message);
  ck_assert_int_eq(a, 8); /* the relay's events of the fetch, on both sides of the others */
  ck_assert_int_eq(d, 0);
  ck_assert_int_eq(x, 5);
  ck_assert_int_eq(deferred(r), 2);
  const char *why = stream_relay_reader_deferral(r);
  ck_assert_msg(strstr(why, "'ot' is 'zz'") && strstr(why, "delivered again in 1000 ms") &&
                    strstr(why, "subject stream.events.play"),
                "last deferral: %s", why);
  const char *kinds[] = {"not a protobuf", "'viewId' is missing", "'type' is 0", "'type' is 999",
                         "'ot'"};
  size_t nrej = 0;
  const char *const *all = stream_relay_reader_rejections(r, &nrej);
  ck_assert_uint_eq(nrej, 5);
  for (size_t i = 0; i < nrej; i++)
    ck_assert_msg(strstr(all[i], kinds[i]) != NULL, "rejection %zu: %s (expected %s)", i, all[i],
                  kinds[i]);
  ck_assert(!in_log(ev_b, 1));
  ck_assert(!in_log(ev_b, 2));
  ck_assert_int_eq(count(ev_b), 8);
  /* Not acknowledged, not terminated: the durable holds them. */
  ck_assert_int_eq(lag_settled(r, 2), 2);

  /* They come again (after the delay; the rounds wait 250 ms each for a message), and are
   * deferred again; the terminated ones never come again, nothing is appended. A relayed event
   * may come again as a duplicate: nats-server 2.9 (Debian 12's 2.9.10), when a message due
   * for redelivery finds no waiting pull request (one just expired: likely under load), steps
   * its stream pointer back one (`o.sseq--` in loopAndGatherMsgs, meant for a first delivery)
   * and delivers the stream's last message again as new, and that redelivery waits for the
   * ack wait (30 s) to come back. The reader takes such a message as what it is, a duplicate;
   * the loop waits for both deferred messages (stream seqs 7 and 8) up to the ack wait and
   * then some. */
  bool seen7 = false, seen8 = false;
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; !(seen7 && seen8); i++) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - t0.tv_sec > 45) {
      char state[512];
      consumer_state(state, sizeof state, STREAM_RELAY_READER_DEFAULT_DURABLE);
      ck_abort_msg("after 45 s the deferred messages came again: seq 7 %s, seq 8 %s; %s",
                   seen7 ? "yes" : "no", seen8 ? "yes" : "no", state);
    }
    rc = stream_relay_reader_run_once(r, &a, &d, &x);
    ck_assert_msg(rc == STREAM_OK, "run_once: %s", stream_error_last()->message);
    if (a != 0 || x != 0) {
      char state[512];
      consumer_state(state, sizeof state, STREAM_RELAY_READER_DEFAULT_DURABLE);
      ck_abort_msg("round %d after the first: %lld appended, %lld duplicates, %lld rejected "
                   "(last rejection: %s), %lld deferred; %s",
                   i, (long long)a, (long long)d, (long long)x, stream_relay_reader_rejection(r),
                   (long long)deferred(r), state);
    }
    int64_t n = deferred(r);
    const char *why = stream_relay_reader_deferral(r);
    if (n >= 2) /* both in one round */
      seen7 = seen8 = true;
    else if (n == 1 && strstr(why, "stream seq 7 "))
      seen7 = true;
    else if (n == 1 && strstr(why, "stream seq 8 "))
      seen8 = true;
    else
      ck_assert_msg(n == 0, "round %d deferred %lld: %s", i, (long long)n, why);
  }
  ck_assert(!in_log(ev_b, 1));
  ck_assert(!in_log(ev_b, 2));
  ck_assert_int_eq(count(ev_b), 8);
  ck_assert_int_eq(lag_settled(r, 2), 2);
  stream_relay_reader_free(r);

  /* A version-1 options struct (before defer_delay_ms): accepted, the default delay. Another
   * durable: the whole stream, the relay's events as duplicates. */
  r = reader_new("v1-options", 1, 5);
  rc = stream_relay_reader_run_once(r, &a, &d, &x);
  ck_assert_msg(rc == STREAM_OK, "run_once: %s", stream_error_last()->message);
  ck_assert_int_eq(a, 0);
  ck_assert_int_eq(d, 8);
  ck_assert_int_eq(x, 5);
  ck_assert_int_eq(deferred(r), 2);
  ck_assert_msg(strstr(stream_relay_reader_deferral(r), "delivered again in 60000 ms") != NULL,
                "%s", stream_relay_reader_deferral(r));
  stream_relay_reader_free(r);
}
END_TEST

/* The type 14 event alone in a round: its own deferral text. */
START_TEST(test_reader_deferral_names_the_type)
{
  server_start();
  ingest(0, 1);
  relay_all();
  reader rd;
  reader_open(&rd);
  uint8_t buf[256];
  publish_raw(rd.js, buf, pack_event(buf, sizeof buf, 1, 14, "v", "view-new"));
  reader_close(&rd);
  stream_relay_reader *r = reader_new(NULL, STREAM_RELAY_READER_OPTIONS_VERSION, 0);
  int64_t a = -1, d = -1, x = -1;
  ck_assert_int_eq(stream_relay_reader_run_once(r, &a, &d, &x), STREAM_OK);
  ck_assert_int_eq(a, 1);
  ck_assert_int_eq(x, 0);
  ck_assert_int_eq(deferred(r), 1);
  const char *why = stream_relay_reader_deferral(r);
  ck_assert_msg(strstr(why, "event type 14 is unknown to this build of libstream (it knows "
                            "1..13)") != NULL &&
                    strstr(why, "delivered again in 60000 ms") != NULL,
                "%s", why);
  ck_assert_ptr_null(stream_relay_reader_rejections(r, NULL));
  int64_t n = -1;
  ck_assert_int_eq(stream_relay_reader_deferred(NULL, &n), STREAM_EINVAL);
  ck_assert_int_eq(n, 0);
  ck_assert_int_eq(stream_relay_reader_deferred(r, NULL), STREAM_EINVAL);
  ck_assert_ptr_null(stream_relay_reader_deferral(NULL));
  stream_relay_reader_free(r);
}
END_TEST

/* Out of memory while decoding is not a bad payload: nothing terminated, the round reports
 * STREAM_ENOMEM, and the next round stores the whole fetch. */
START_TEST(test_reader_out_of_memory_not_terminated)
{
  server_start();
  ingest(0, 6);
  relay_all();
  stream_relay_reader *r = reader_new(NULL, STREAM_RELAY_READER_OPTIONS_VERSION, 0);
  int64_t a = -1, d = -1, x = -1;
  /* The first malloc of the round's own code is the protobuf-c allocator's, decoding the
   * first message (the fetch and the round's arrays are nats.c's and calloc). */
  fail_mallocs = 1;
  int rc = stream_relay_reader_run_once(r, &a, &d, &x);
  int left = fail_mallocs;
  fail_mallocs = 0;
  ck_assert_msg(left == 0, "no malloc in the round");
  ck_assert_msg(rc == STREAM_ENOMEM, "run_once: %d (%s), %lld appended, %lld rejected", rc,
                stream_error_last()->message, (long long)a, (long long)x);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "out of memory"));
  ck_assert_int_eq(a + d + x, 0);
  ck_assert_int_eq(deferred(r), 0);
  ck_assert_ptr_null(stream_relay_reader_rejections(r, NULL));
  ck_assert_str_eq(stream_relay_reader_rejection(r), "");
  ck_assert_int_eq(count(ev_b), 0);
  /* Negatively acknowledged: they come again at once (not after the 30 s ack wait). */
  int64_t got = 0;
  for (int i = 0; i < 20 && got < 6; i++) {
    rc = stream_relay_reader_run_once(r, &a, &d, &x);
    ck_assert_msg(rc == STREAM_OK, "run_once: %s", stream_error_last()->message);
    ck_assert_int_eq(d + x, 0);
    got += a;
  }
  ck_assert_int_eq(got, 6);
  ck_assert_int_eq(count(ev_b), 6);
  ck_assert_int_eq(lag_settled(r, 0), 0);
  stream_relay_reader_free(r);
}
END_TEST

START_TEST(test_reader_defer_delay_option)
{
  stream_relay_reader_options o = STREAM_RELAY_READER_OPTIONS_INIT;
  o.events = ev_b;
  o.url = url;
  unsigned int bad[] = {STREAM_RELAY_READER_DEFER_DELAY_MIN_MS - 1,
                        STREAM_RELAY_READER_DEFER_DELAY_MAX_MS + 1};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    stream_relay_reader *r = (stream_relay_reader *)1;
    o.defer_delay_ms = bad[i];
    ck_assert_int_eq(stream_relay_reader_new(&r, &o), STREAM_EINVAL);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "defer_delay_ms"));
  }
  /* Unknown versions are refused; 1 and the current one are not (they get as far as the
   * connection: no server here). */
  o.defer_delay_ms = 0;
  unsigned int versions[] = {0, STREAM_RELAY_READER_OPTIONS_VERSION + 1};
  for (size_t i = 0; i < 2; i++) {
    stream_relay_reader *r = (stream_relay_reader *)1;
    o.version = versions[i];
    ck_assert_int_eq(stream_relay_reader_new(&r, &o), STREAM_EINVAL);
    ck_assert_ptr_null(r);
  }
  for (unsigned int v = 1; v <= STREAM_RELAY_READER_OPTIONS_VERSION; v++) {
    stream_relay_reader *r = (stream_relay_reader *)1;
    o.version = v;
    ck_assert_int_eq(stream_relay_reader_new(&r, &o), STREAM_EIO);
    ck_assert_ptr_null(r);
  }
}
END_TEST

int main(void)
{
  Suite *s = suite_create("relay-reader-skew");
  TCase *tc = tcase_create("relay-reader-skew");
  tcase_add_checked_fixture(tc, skew_setup, skew_teardown);
  tcase_set_timeout(tc, 120); /* the redelivery loop may wait out one ack wait (30 s) */
  tcase_add_test(tc, test_reader_defers_what_a_newer_build_reads);
  tcase_add_test(tc, test_reader_deferral_names_the_type);
  tcase_add_test(tc, test_reader_out_of_memory_not_terminated);
  tcase_add_test(tc, test_reader_defer_delay_option);
  suite_add_tcase(s, tc);
  return relay_suite_main(s);
}
