/* Unit tests of the QoE consumer and the exports over a real SQLite store in a
 * temporary directory, with an injected clock. Views are hand-built event
 * sequences with exact player timestamps, ingested as JSON batches; every
 * expected number below is worked out by hand in the comment above it. */
#include <check.h>
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events/qoe_internal.h"
#include "stream/events.h"

#define T0 INT64_C(1700000000000) /* 2023-11-14T22:13:20Z */

static char tmpdir[256];
static char dbpath[300];
static char outdir[300];
static stream_store *store;
static stream_events *events;
static int64_t clock_ms = T0;
static int id_counter;

static int64_t fake_clock(void *ud)
{
  return *(int64_t *)ud;
}

static void setup(void)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/stream-qoe-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  snprintf(dbpath, sizeof dbpath, "%s/db.sqlite", tmpdir);
  snprintf(outdir, sizeof outdir, "%s/out", tmpdir);
  ck_assert_int_eq(mkdir(outdir, 0700), 0);
  clock_ms = T0;
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  so.path = dbpath;
  ck_assert_int_eq(stream_store_open(&store, &so), STREAM_OK);
  stream_events_options o = STREAM_EVENTS_OPTIONS_INIT;
  o.store = store;
  o.now_ms = fake_clock;
  o.now_userdata = &clock_ms;
  ck_assert_int_eq(stream_events_new(&events, &o), STREAM_OK);
}

static void rm_dir(const char *dir)
{
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *de;
  char path[600];
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    if (de->d_type == DT_DIR)
      rm_dir(path);
    else
      remove(path);
  }
  closedir(d);
  rmdir(dir);
}

static void teardown(void)
{
  stream_events_free(events);
  events = NULL;
  stream_store_close(store);
  store = NULL;
  rm_dir(tmpdir);
}

/* ---- event builders -------------------------------------------------------- */

static char batch[200000];
static size_t batch_len;

static void begin(void)
{
  batch_len = (size_t)snprintf(batch, sizeof batch, "{\"events\":[");
}

/* One event of view `view` (title `title`, device `dev`) at player time T0 + t ms; `extra` is
 * more JSON members or "". */
static void add(const char *view, const char *title, const char *dev, const char *type, int64_t t,
                const char *extra)
{
  id_counter++;
  batch_len += (size_t)snprintf(
      batch + batch_len, sizeof batch - batch_len,
      "%s{\"id\":\"00000000-0000-4000-8000-%012d\",\"viewId\":\"%s\",\"titleId\":\"%s\","
      "\"deviceId\":\"%s\",\"type\":\"%s\",\"clientTs\":%lld%s%s}",
      batch[batch_len - 1] == '[' ? "" : ",", id_counter, view, title, dev, type,
      (long long)(T0 + t), extra[0] ? "," : "", extra);
}

static void send(void)
{
  batch_len += (size_t)snprintf(batch + batch_len, sizeof batch - batch_len, "]}");
  stream_events_result r;
  int rc = stream_events_ingest(events, &r, batch, batch_len, STREAM_EVENTS_JSON, 0, "acct1", "");
  ck_assert_msg(rc == STREAM_OK, "ingest: %s", stream_error_last()->message);
}

static void run_qoe(void)
{
  int rc = stream_events_qoe_run(events, NULL, NULL);
  ck_assert_msg(rc == STREAM_OK, "qoe run: %s", stream_error_last()->message);
}

static stream_events_view view(const char *id)
{
  stream_events_view v;
  int rc = stream_events_view_get(events, &v, id);
  ck_assert_msg(rc == STREAM_OK, "view %s: %s", id, stream_error_last()->message);
  return v;
}

/* View A, all times in ms after T0:
 *   0 playrequest, 2000 playing (br 3000), 12000 heartbeat, 20000 rebufferstart,
 *   23000 rebufferend, 30000 renditionchange (br 1500), 40000 pause, 100000 play,
 *   100500 playing, 110000 ended.
 * startup 2000; watch = 2000 startup + 10000 + 8000 playing + 3000 stall + 7000 + 10000
 * playing + 500 resume wait + 9500 playing = 50000 (the 60 s pause is out);
 * playing = 44500; rebuffer 1 x 3000 ms = 6 %, 1 / (50000 / 60000) = 1.2 per minute;
 * bitrate: 3000 kbit/s for 25000 ms and 1500 for 19500 ms = 104250000 / 44500. */
static void add_view_a(const char *id)
{
  add(id, "t1", "tv1", "playrequest", 0, "");
  add(id, "t1", "tv1", "playing", 2000, "\"br\":3000");
  add(id, "t1", "tv1", "heartbeat", 12000, "\"br\":3000");
  add(id, "t1", "tv1", "rebufferstart", 20000, "");
  add(id, "t1", "tv1", "rebufferend", 23000, "");
  add(id, "t1", "tv1", "renditionchange", 30000, "\"br\":1500");
  add(id, "t1", "tv1", "pause", 40000, "");
  add(id, "t1", "tv1", "play", 100000, "");
  add(id, "t1", "tv1", "playing", 100500, "");
  add(id, "t1", "tv1", "ended", 110000, "");
}

static void check_view_a(const stream_events_view *v)
{
  ck_assert_str_eq(v->title_id, "t1");
  ck_assert_str_eq(v->device_id, "tv1");
  ck_assert_str_eq(v->account_id, "acct1");
  ck_assert_str_eq(v->day, "2023-11-14");
  ck_assert_int_eq(v->start_ts, T0);
  ck_assert_int_eq(v->last_ts, T0 + 110000);
  ck_assert_int_eq(v->events, 10);
  ck_assert_int_eq(v->requested, 1);
  ck_assert_int_eq(v->started, 1);
  ck_assert_int_eq(v->failed, 0);
  ck_assert_int_eq(v->ended, 1);
  ck_assert_int_eq(v->exited_before_start, 0);
  ck_assert_int_eq(v->startup_ms, 2000);
  ck_assert_int_eq(v->watch_ms, 50000);
  ck_assert_int_eq(v->playing_ms, 44500);
  ck_assert_int_eq(v->rebuffer_count, 1);
  ck_assert_int_eq(v->rebuffer_ms, 3000);
  ck_assert_double_eq_tol(v->rebuffer_pct, 6.0, 1e-12);
  ck_assert_double_eq_tol(v->rebuffer_per_min, 1.2, 1e-12);
  ck_assert_int_eq(v->peak_br, 3000);
  ck_assert_int_eq(v->br_ms, 44500);
  ck_assert_int_eq(v->br_sum, INT64_C(104250000));
  ck_assert_double_eq_tol(v->avg_br, 104250000.0 / 44500.0, 1e-9);
}

START_TEST(test_view_arithmetic)
{
  begin();
  add_view_a("va");
  send();
  run_qoe();
  stream_events_view v = view("va");
  check_view_a(&v);
  ck_assert_int_eq(stream_events_view_get(events, &v, "nope"), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_events_view_get(events, &v, "bad id"), STREAM_EINVAL);
}
END_TEST

/* View B: a stall during startup is startup, not rebuffering; a stall inside a seek counts
 * only if it outlasts the seek.
 *   0 playrequest, 500 rebufferstart (ignored), 3000 playing br 2000 -> startup 3000;
 *   10000 seeking, 10100 rebufferstart, 10400 rebufferend, 10500 seeked: no rebuffer;
 *   20000 seeking, 20100 rebufferstart, 20600 seeked: the stall outlasted -> 1 rebuffer from
 *   20600, 22000 playing -> 1400 ms; 30000 ended.
 * watch = 3000 + 7000 + 500 seek + 9500 + 600 seek + 1400 + 8000 = 30000;
 * playing = 7000 + 9500 + 8000 = 24500; rebuffer % = 1400 / 30000 = 4.666..; avg br 2000. */
START_TEST(test_view_seek_and_startup_stalls)
{
  begin();
  const char *id = "vb";
  add(id, "t1", "web", "playrequest", 0, "");
  add(id, "t1", "web", "rebufferstart", 500, "");
  add(id, "t1", "web", "playing", 3000, "\"br\":2000");
  add(id, "t1", "web", "seeking", 10000, "");
  add(id, "t1", "web", "rebufferstart", 10100, "");
  add(id, "t1", "web", "rebufferend", 10400, "");
  add(id, "t1", "web", "seeked", 10500, "");
  add(id, "t1", "web", "seeking", 20000, "");
  add(id, "t1", "web", "rebufferstart", 20100, "");
  add(id, "t1", "web", "seeked", 20600, "");
  add(id, "t1", "web", "playing", 22000, "");
  add(id, "t1", "web", "ended", 30000, "");
  send();
  run_qoe();
  stream_events_view v = view(id);
  ck_assert_int_eq(v.startup_ms, 3000);
  ck_assert_int_eq(v.watch_ms, 30000);
  ck_assert_int_eq(v.playing_ms, 24500);
  ck_assert_int_eq(v.rebuffer_count, 1);
  ck_assert_int_eq(v.rebuffer_ms, 1400);
  ck_assert_double_eq_tol(v.rebuffer_pct, 1400.0 * 100.0 / 30000.0, 1e-12);
  ck_assert_double_eq_tol(v.rebuffer_per_min, 2.0, 1e-12);
  ck_assert_double_eq_tol(v.avg_br, 2000.0, 1e-12);
}
END_TEST

/* Events that arrive out of order (a spool flushed late) are placed by the player's clock:
 * the record equals that of the same events sent in order. */
START_TEST(test_view_out_of_order_and_split_batches)
{
  begin();
  add_view_a("in-order");
  send();
  /* the same view in three batches, the middle part last */
  begin();
  add("split", "t1", "tv1", "playrequest", 0, "");
  add("split", "t1", "tv1", "playing", 2000, "\"br\":3000");
  add("split", "t1", "tv1", "heartbeat", 12000, "\"br\":3000");
  send();
  run_qoe();
  stream_events_view v = view("split");
  ck_assert_int_eq(v.startup_ms, 2000);
  ck_assert_int_eq(v.watch_ms, 12000);
  ck_assert_int_eq(v.ended, 0);
  begin();
  add("split", "t1", "tv1", "pause", 40000, "");
  add("split", "t1", "tv1", "play", 100000, "");
  add("split", "t1", "tv1", "playing", 100500, "");
  add("split", "t1", "tv1", "ended", 110000, "");
  send();
  run_qoe();
  begin();
  add("split", "t1", "tv1", "rebufferstart", 20000, "");
  add("split", "t1", "tv1", "rebufferend", 23000, "");
  add("split", "t1", "tv1", "renditionchange", 30000, "\"br\":1500");
  send();
  run_qoe();
  v = view("split");
  check_view_a(&v);
  v = view("in-order");
  check_view_a(&v);
}
END_TEST

static void set_checkpoint(const char *consumer, int64_t seq)
{
  sqlite3 *db;
  ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char sql[200];
  snprintf(sql, sizeof sql, "UPDATE event_consumers SET seq = %lld WHERE name = '%s'",
           (long long)seq, consumer);
  ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  ck_assert_int_eq(sqlite3_changes(db), 1);
  sqlite3_close(db);
}

/* Reprocessing the same seq range (the checkpoint moved back, as after a crash between
 * reading and committing) and re-sending the same batch never double count. */
START_TEST(test_idempotent_reprocessing)
{
  begin();
  add_view_a("va");
  send();
  ck_assert_int_eq(
      stream_events_ingest(events, NULL, batch, batch_len, STREAM_EVENTS_JSON, 0, "acct1", ""),
      STREAM_OK); /* all duplicates */
  int64_t n = 0, nv = 0;
  ck_assert_int_eq(stream_events_qoe_run(events, &n, &nv), STREAM_OK);
  ck_assert_int_eq(n, 10);
  ck_assert_int_eq(nv, 1);
  ck_assert_int_eq(stream_events_qoe_run(events, &n, &nv), STREAM_OK);
  ck_assert_int_eq(n, 0);
  set_checkpoint(STREAM_EVENTS_QOE_CONSUMER, 4);
  ck_assert_int_eq(stream_events_qoe_run(events, &n, &nv), STREAM_OK);
  ck_assert_int_eq(n, 6);
  set_checkpoint(STREAM_EVENTS_QOE_CONSUMER, 0);
  run_qoe();
  stream_events_view v = view("va");
  check_view_a(&v);
  stream_events_qoe_summary s;
  ck_assert_int_eq(stream_events_qoe_stats(events, &s, NULL, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(s.views, 1);
  ck_assert_int_eq(s.watch_ms, 50000);
  ck_assert_int_eq(s.rebuffer_count, 1);
  int64_t cp = 0;
  ck_assert_int_eq(stream_events_checkpoint(events, &cp, STREAM_EVENTS_QOE_CONSUMER), STREAM_OK);
  ck_assert_int_eq(cp, 10);
}
END_TEST

/* Failures and exits before video start, and their percentages over title t2's 5 views:
 *   c: request, fatal error 3 at 4000 before any frame -> start failure (not EBVS)
 *   d: request, ended at 5000 without a frame -> EBVS
 *   e: request only -> not over yet; EBVS once 60 min pass without events
 *   f: request, playing at 1000, fatal error 7 at 5000 -> failure, not a start failure
 *   g: request, playing at 500, ended at 10000 -> fine
 * failures 2/5 = 40 %, start failures 1/5 = 20 %, EBVS 1/5 then 2/5. */
START_TEST(test_failures_and_ebvs)
{
  begin();
  add("c", "t2", "tv", "playrequest", 0, "");
  add("c", "t2", "tv", "error", 4000, "\"error\":{\"code\":3,\"message\":\"x\",\"fatal\":true}");
  add("d", "t2", "tv", "playrequest", 0, "");
  add("d", "t2", "tv", "ended", 5000, "");
  add("e", "t2", "tv", "playrequest", 0, "");
  add("f", "t2", "tv", "playrequest", 0, "");
  add("f", "t2", "tv", "playing", 1000, "");
  add("f", "t2", "tv", "error", 5000, "\"error\":{\"code\":7,\"message\":\"y\",\"fatal\":true}");
  add("g", "t2", "tv", "playrequest", 0, "");
  add("g", "t2", "tv", "playing", 500, "");
  add("g", "t2", "tv", "error", 600, "\"error\":{\"code\":9,\"message\":\"z\",\"fatal\":false}");
  add("g", "t2", "tv", "ended", 10000, "");
  send();
  run_qoe();
  stream_events_view v = view("c");
  ck_assert_int_eq(v.failed, 1);
  ck_assert_int_eq(v.start_failed, 1);
  ck_assert_int_eq(v.error_code, 3);
  ck_assert_int_eq(v.exited_before_start, 0);
  ck_assert_int_eq(v.startup_ms, -1);
  ck_assert_int_eq(v.watch_ms, 4000);
  v = view("d");
  ck_assert_int_eq(v.exited_before_start, 1);
  ck_assert_int_eq(v.failed, 0);
  v = view("e");
  ck_assert_int_eq(v.exited_before_start, 0);
  v = view("f");
  ck_assert_int_eq(v.failed, 1);
  ck_assert_int_eq(v.start_failed, 0);
  ck_assert_int_eq(v.error_code, 7);
  ck_assert_int_eq(v.playing_ms, 4000);
  v = view("g");
  ck_assert_int_eq(v.failed, 0);
  ck_assert_int_eq(v.error_code, 0);
  ck_assert_int_eq(v.startup_ms, 500);

  stream_events_qoe_summary s;
  ck_assert_int_eq(stream_events_qoe_stats(events, &s, "t2", NULL, NULL), STREAM_OK);
  ck_assert_int_eq(s.views, 5);
  ck_assert_int_eq(s.started, 2);
  ck_assert_int_eq(s.failures, 2);
  ck_assert_int_eq(s.start_failures, 1);
  ck_assert_int_eq(s.exits_before_start, 1);
  ck_assert_double_eq_tol(s.failure_pct, 40.0, 1e-12);
  ck_assert_double_eq_tol(s.start_failure_pct, 20.0, 1e-12);
  ck_assert_double_eq_tol(s.ebvs_pct, 20.0, 1e-12);
  /* startups 500 and 1000: nearest rank p50 = 500, p95 = 1000 */
  ck_assert_int_eq(s.startup_ms_p50, 500);
  ck_assert_int_eq(s.startup_ms_p95, 1000);

  clock_ms = T0 + STREAM_EVENTS_VIEW_TIMEOUT_MS;
  v = view("e");
  ck_assert_int_eq(v.exited_before_start, 1);
  ck_assert_int_eq(stream_events_qoe_stats(events, &s, "t2", NULL, NULL), STREAM_OK);
  ck_assert_int_eq(s.exits_before_start, 2);
  ck_assert_double_eq_tol(s.ebvs_pct, 40.0, 1e-12);
}
END_TEST

/* Percentiles are exact nearest-rank values over the per-view values; filters by title,
 * day and device. 20 views of title "p" with startups 100, 200, .. 2000 ms (in shuffled
 * order) and rebuffering 0 .. 19 % of 10 s: p50 = the 10th = 1000, p95 = the 19th = 1900. */
START_TEST(test_percentiles_and_filters)
{
  ck_assert_uint_eq(events__rank(20, 50), 9);
  ck_assert_uint_eq(events__rank(20, 95), 18);
  ck_assert_uint_eq(events__rank(1, 50), 0);
  ck_assert_uint_eq(events__rank(1, 95), 0);
  ck_assert_uint_eq(events__rank(100, 95), 94);
  ck_assert_uint_eq(events__rank(3, 50), 1);

  begin();
  for (int k = 0; k < 20; k++) {
    int i = (k * 7) % 20; /* 7 is coprime with 20: a permutation */
    char id[16], extra[32];
    snprintf(id, sizeof id, "p%02d", i);
    int64_t st = (i + 1) * 100;
    const char *dev = i % 2 ? "odd" : "even";
    add(id, "p", dev, "playrequest", 0, "");
    add(id, "p", dev, "playing", st, "\"br\":1000");
    /* rebuffer i % of a 10 s watch: 10000 - st - 100 i of playing, then 100 i stalled */
    add(id, "p", dev, "rebufferstart", 10000 - 100 * i, "");
    snprintf(extra, sizeof extra, "\"playheadMs\":%d", i);
    add(id, "p", dev, "ended", 10000, extra);
  }
  /* one view of another day (one day later) */
  add("other-day", "p", "even", "playrequest", 86400000, "");
  add("other-day", "p", "even", "playing", 86400000 + 50000, "");
  send();
  run_qoe();
  stream_events_qoe_summary s;
  ck_assert_int_eq(stream_events_qoe_stats(events, &s, "p", "2023-11-14", NULL), STREAM_OK);
  ck_assert_int_eq(s.views, 20);
  ck_assert_int_eq(s.startup_ms_p50, 1000);
  ck_assert_int_eq(s.startup_ms_p95, 1900);
  /* the stalled views: i=0 has 0 stall (rebufferstart at 10000 = ended) */
  ck_assert_double_eq_tol(s.rebuffer_pct_p50, 9.0, 1e-9);
  ck_assert_double_eq_tol(s.rebuffer_pct_p95, 18.0, 1e-9);
  ck_assert_int_eq(s.watch_ms, 200000);
  ck_assert_int_eq(s.rebuffer_ms, 100 * (19 * 20 / 2));
  ck_assert_double_eq_tol(s.avg_br, 1000.0, 1e-12);
  ck_assert_int_eq(stream_events_qoe_stats(events, &s, "p", NULL, NULL), STREAM_OK);
  ck_assert_int_eq(s.views, 21);
  ck_assert_int_eq(s.startup_ms_p95, 2000); /* 21 values: the 20th */
  ck_assert_int_eq(stream_events_qoe_stats(events, &s, NULL, "2023-11-15", NULL), STREAM_OK);
  ck_assert_int_eq(s.views, 1);
  ck_assert_int_eq(s.startup_ms_p50, 50000);
  ck_assert_int_eq(stream_events_qoe_stats(events, &s, "p", "2023-11-14", "odd"), STREAM_OK);
  ck_assert_int_eq(s.views, 10);
  /* odd i: startups 200, 400, .. 2000: p50 = 5th = 1000, p95 = 10th = 2000 */
  ck_assert_int_eq(s.startup_ms_p50, 1000);
  ck_assert_int_eq(s.startup_ms_p95, 2000);
  ck_assert_int_eq(stream_events_qoe_stats(events, &s, "none", NULL, NULL), STREAM_OK);
  ck_assert_int_eq(s.views, 0);
  ck_assert_int_eq(s.startup_ms_p50, -1);
  ck_assert_int_eq(stream_events_qoe_stats(events, &s, NULL, "2023-13-01", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_events_qoe_stats(events, &s, NULL, "yesterday", NULL), STREAM_EINVAL);
}
END_TEST

/* Concurrent viewers: playing/heartbeat received in the last 30 s, not ended since. */
START_TEST(test_concurrent)
{
  clock_ms = T0 - 40000; /* a view last heard 40 s before T0 */
  begin();
  add("old", "t", "d", "heartbeat", 0, "");
  send();
  clock_ms = T0;
  begin();
  add("live1", "t", "d", "playing", 0, "");
  add("live2", "t", "d", "heartbeat", 0, "");
  add("live2", "t", "d", "heartbeat", 1, "");
  add("gone", "t", "d", "heartbeat", 0, "");
  add("gone", "t", "d", "ended", 1, "");
  add("paused", "t", "d", "pause", 0, "");
  send();
  int64_t n = -1;
  ck_assert_int_eq(stream_events_concurrent(events, &n), STREAM_OK);
  ck_assert_int_eq(n, 2);
  clock_ms = T0 + STREAM_EVENTS_CONCURRENT_WINDOW_MS;
  ck_assert_int_eq(stream_events_concurrent(events, &n), STREAM_OK);
  ck_assert_int_eq(n, 2);
  clock_ms = T0 + STREAM_EVENTS_CONCURRENT_WINDOW_MS + 1;
  ck_assert_int_eq(stream_events_concurrent(events, &n), STREAM_OK);
  ck_assert_int_eq(n, 0);
  ck_assert_int_eq(stream_events_concurrent(events, NULL), STREAM_EINVAL);
}
END_TEST

/* ---- exports ---------------------------------------------------------------- */

static int list_files(char names[][80], int max)
{
  DIR *d = opendir(outdir);
  ck_assert_ptr_nonnull(d);
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    if (de->d_name[0] != '.' && n < max)
      snprintf(names[n++], 80, "%.79s", de->d_name);
  closedir(d);
  qsort(names, (size_t)n, 80, (int (*)(const void *, const void *))strcmp);
  return n;
}

static char *slurp(const char *path)
{
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  return buf;
}

static void add_n(int n)
{
  begin();
  for (int i = 0; i < n; i++)
    add("ex", "t", "d", "heartbeat", i, "\"br\":500");
  send();
}

/* Sequence numbers found in the NDJSON files of outdir, in file order. */
static int collect_seqs(long long *seqs, int max)
{
  char names[64][80];
  int nf = list_files(names, 64), n = 0;
  char path[700];
  for (int i = 0; i < nf; i++) {
    snprintf(path, sizeof path, "%.300s/%.79s", outdir, names[i]);
    const char *p = slurp(path);
    while ((p = strstr(p, "{\"seq\":")) != NULL && n < max) {
      seqs[n++] = strtoll(p + 7, NULL, 10);
      p += 7;
    }
  }
  return n;
}

START_TEST(test_export_resume)
{
  add_n(25);
  stream_events_export_options o = STREAM_EVENTS_EXPORT_OPTIONS_INIT;
  o.dir = outdir;
  o.batch_max = 10;
  o.max_files = 2;
  stream_events_export_result r;
  ck_assert_int_eq(stream_events_export(events, &r, &o), STREAM_OK);
  ck_assert_int_eq(r.files, 2);
  ck_assert_int_eq(r.events, 20);
  ck_assert_int_eq(r.to_seq, 20);
  o.max_files = 0;
  ck_assert_int_eq(stream_events_export(events, &r, &o), STREAM_OK);
  ck_assert_int_eq(r.files, 1);
  ck_assert_int_eq(r.from_seq, 20);
  ck_assert_int_eq(r.to_seq, 25);
  char names[64][80];
  ck_assert_int_eq(list_files(names, 64), 3);
  ck_assert_str_eq(names[0], "events-00000000000000000001-00000000000000000010.ndjson");
  ck_assert_str_eq(names[2], "events-00000000000000000021-00000000000000000025.ndjson");
  /* nothing new: nothing written */
  ck_assert_int_eq(stream_events_export(events, &r, &o), STREAM_OK);
  ck_assert_int_eq(r.files, 0);
  /* a crash after the rename of 26..32 but before the checkpoint moved: the file is adopted */
  add_n(7);
  ck_assert_int_eq(stream_events_export(events, &r, &o), STREAM_OK);
  ck_assert_int_eq(r.files, 1);
  set_checkpoint(STREAM_EVENTS_EXPORT_CONSUMER, 25);
  add_n(3);
  ck_assert_int_eq(stream_events_export(events, &r, &o), STREAM_OK);
  ck_assert_int_eq(r.files, 1); /* only 33..35 written */
  ck_assert_int_eq(r.events, 3);
  ck_assert_int_eq(r.to_seq, 35);
  long long seqs[100];
  int n = collect_seqs(seqs, 100);
  ck_assert_int_eq(n, 35);
  for (int i = 0; i < n; i++)
    ck_assert_int_eq(seqs[i], i + 1); /* no gap, no duplicate */
  char path[600];
  snprintf(path, sizeof path, "%s/%s", outdir, names[0]);
  const char *text = slurp(path);
  ck_assert_ptr_nonnull(strstr(text, "\"type\":\"heartbeat\""));
  ck_assert_ptr_nonnull(strstr(text, "\"client_ts\":\"2023-11-14T22:13:20.000Z\""));
  ck_assert_ptr_nonnull(strstr(text, "\"session_id\":null"));
  ck_assert_ptr_nonnull(strstr(text, "\"error_fatal\":null"));
  ck_assert_int_eq(r.to_seq, 35);
  o.format = 7;
  ck_assert_int_eq(stream_events_export(events, &r, &o), STREAM_EINVAL);
}
END_TEST

/* Column names of a BigQuery JSON schema file, in order, joined by commas. */
static void schema_columns(char *out, size_t cap, const char *file)
{
  char path[600];
  snprintf(path, sizeof path, "%s/docs/api/%s", STREAM_SOURCE_ROOT, file);
  const char *p = slurp(path);
  out[0] = 0;
  size_t len = 0;
  while ((p = strstr(p, "\"name\"")) != NULL) {
    p = strchr(p + 6, '"');
    ck_assert_ptr_nonnull(p);
    const char *e = strchr(p + 1, '"');
    len +=
        (size_t)snprintf(out + len, cap - len, "%s%.*s", len ? "," : "", (int)(e - p - 1), p + 1);
    p = e + 1;
  }
}

START_TEST(test_export_csv_quoting_and_schema)
{
  begin();
  add("q", "t", "d", "playrequest", 0, "");
  add("q", "t", "d", "error", 5,
      "\"error\":{\"code\":4,\"message\":\"bad \\\"quote\\\", comma\",\"fatal\":true}");
  send();
  stream_events_export_options o = STREAM_EVENTS_EXPORT_OPTIONS_INIT;
  o.dir = outdir;
  o.format = STREAM_EVENTS_EXPORT_CSV;
  o.consumer = "csv-export";
  stream_events_export_result r;
  ck_assert_int_eq(stream_events_export(events, &r, &o), STREAM_OK);
  ck_assert_int_eq(r.events, 2);
  char path[600], cols[2000];
  snprintf(path, sizeof path, "%s/events-00000000000000000001-00000000000000000002.csv", outdir);
  schema_columns(cols, sizeof cols, "events-bigquery-schema.json"); /* slurp's buffer is shared */
  char *text = slurp(path);
  char *eol = strstr(text, "\r\n");
  ck_assert_ptr_nonnull(eol);
  *eol = 0;
  ck_assert_str_eq(text, cols);
  const char *row2 = strstr(eol + 2, "\r\n") + 2;
  ck_assert_ptr_nonnull(strstr(row2, ",error,q,"));
  ck_assert_ptr_nonnull(strstr(row2, ",4,true,\"bad \"\"quote\"\", comma\"\r\n"));
  /* the playrequest row: no error -> empty (NULL) error columns */
  ck_assert_ptr_nonnull(strstr(eol + 2, ",false,,,\r\n"));

  /* the view records, with the columns of their schema */
  run_qoe();
  snprintf(path, sizeof path, "%s/views.csv", outdir);
  int64_t n = 0;
  ck_assert_int_eq(stream_events_export_views(events, &n, path, STREAM_EVENTS_EXPORT_CSV, NULL),
                   STREAM_OK);
  ck_assert_int_eq(n, 1);
  schema_columns(cols, sizeof cols, "views-bigquery-schema.json");
  text = slurp(path);
  eol = strstr(text, "\r\n");
  *eol = 0;
  ck_assert_str_eq(text, cols);
  ck_assert_ptr_nonnull(strstr(eol + 2, "q,,acct1,,t,,d,2023-11-14,2023-11-14T22:13:20.000Z,"));
  snprintf(path, sizeof path, "%s/views.ndjson", outdir);
  ck_assert_int_eq(
      stream_events_export_views(events, &n, path, STREAM_EVENTS_EXPORT_NDJSON, "2023-11-15"),
      STREAM_OK);
  ck_assert_int_eq(n, 0);
  ck_assert_int_eq(
      stream_events_export_views(events, &n, path, STREAM_EVENTS_EXPORT_NDJSON, "2023-1-15"),
      STREAM_EINVAL);
}
END_TEST

static Suite *qoe_suite(void)
{
  Suite *s = suite_create("events-qoe");
  TCase *tc = tcase_create("qoe");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_view_arithmetic);
  tcase_add_test(tc, test_view_seek_and_startup_stalls);
  tcase_add_test(tc, test_view_out_of_order_and_split_batches);
  tcase_add_test(tc, test_idempotent_reprocessing);
  tcase_add_test(tc, test_failures_and_ebvs);
  tcase_add_test(tc, test_percentiles_and_filters);
  tcase_add_test(tc, test_concurrent);
  tcase_add_test(tc, test_export_resume);
  tcase_add_test(tc, test_export_csv_quoting_and_schema);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(qoe_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
