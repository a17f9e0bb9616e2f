/* Unit tests of the QoE consumer and the exports over a real SQLite store in a
 * temporary directory (or, run by tests/pg/pg_run.sh, a PostgreSQL database:
 * store_path.h), with an injected clock. Views are hand-built event
 * sequences with exact player timestamps, ingested as JSON batches; every
 * expected number below is worked out by hand in the comment above it. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../store_path.h"
#include "../store_raw.h"
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
  char uri[512];
  so.path = test_store_path(uri, sizeof uri, dbpath);
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

/* The batch as account `account` with profile `profile` ("" none) would send it. */
static void send_as(const char *account, const char *profile)
{
  batch_len += (size_t)snprintf(batch + batch_len, sizeof batch - batch_len, "]}");
  stream_events_result r;
  int rc =
      stream_events_ingest(events, &r, batch, batch_len, STREAM_EVENTS_JSON, 0, account, profile);
  ck_assert_msg(rc == STREAM_OK, "ingest: %s", stream_error_last()->message);
}

static void send(void)
{
  send_as("acct1", "");
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
static const struct {
  const char *type;
  int64_t t;
  const char *extra;
} view_a[] = {{"playrequest", 0, ""},
              {"playing", 2000, "\"br\":3000"},
              {"heartbeat", 12000, "\"br\":3000"},
              {"rebufferstart", 20000, ""},
              {"rebufferend", 23000, ""},
              {"renditionchange", 30000, "\"br\":1500"},
              {"pause", 40000, ""},
              {"play", 100000, ""},
              {"playing", 100500, ""},
              {"ended", 110000, ""}};

/* Events first .. last - 1 of view A. */
static void add_view_a_part(const char *id, size_t first, size_t last)
{
  for (size_t i = first; i < last; i++)
    add(id, "t1", "tv1", view_a[i].type, view_a[i].t, view_a[i].extra);
}

static void add_view_a(const char *id)
{
  add_view_a_part(id, 0, sizeof view_a / sizeof view_a[0]);
}

/* View A's figures, whoever sent it. */
static void check_view_a_figures(const stream_events_view *v)
{
  ck_assert_str_eq(v->title_id, "t1");
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

static void check_view_a(const stream_events_view *v)
{
  ck_assert_str_eq(v->device_id, "tv1");
  ck_assert_str_eq(v->account_id, "acct1");
  ck_assert_str_eq(v->profile_id, "");
  check_view_a_figures(v);
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
  char sql[200];
  snprintf(sql, sizeof sql, "UPDATE event_consumers SET seq = %lld WHERE name = '%s'",
           (long long)seq, consumer);
  ck_assert_int_eq(test_store_raw_exec(dbpath, sql), 1);
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

/* ---- views and accounts --------------------------------------------------- */

static stream_events_qoe_run_result run_qoe_counted(void)
{
  stream_events_qoe_run_result r = STREAM_EVENTS_QOE_RUN_RESULT_INIT;
  int rc = stream_events_qoe_run_ex(events, &r);
  ck_assert_msg(rc == STREAM_OK, "qoe run: %s", stream_error_last()->message);
  return r;
}

#define FATAL "\"error\":{\"code\":5,\"message\":\"m\",\"fatal\":true}"

/* A view belongs to the account of its first event: another account's events under its id
 * (here acct2, profile p2: a higher bitrate, a fatal error, an end) are not folded in. They
 * come in order (after the part of view A already folded, as the fold would take them); then
 * the rest of view A comes: view A's figures, account and profile, no failure. The log keeps
 * every event. */
START_TEST(test_other_account_in_order)
{
  begin();
  add_view_a_part("va", 0, 3); /* 0 .. 12000 */
  send();
  run_qoe();
  begin();
  add("va", "t9", "dev9", "heartbeat", 14000, "\"br\":9000");
  add("va", "t9", "dev9", "error", 15000, FATAL);
  add("va", "t9", "dev9", "ended", 16000, "");
  send_as("acct2", "p2");
  stream_events_qoe_run_result r = run_qoe_counted();
  stream_events_view v = view("va");
  ck_assert_str_eq(v.account_id, "acct1");
  ck_assert_str_eq(v.profile_id, "");
  ck_assert_int_eq(v.failed, 0);
  ck_assert_int_eq(v.ended, 0);
  ck_assert_int_eq(v.watch_ms, 12000);
  ck_assert_int_eq(v.last_ts, T0 + 12000);
  ck_assert_int_eq(v.peak_br, 3000);
  ck_assert_int_eq(v.events, 3);
  ck_assert_int_eq(r.events, 3);
  ck_assert_int_eq(r.views, 1);
  ck_assert_int_eq(r.foreign_events, 3);
  begin();
  add_view_a_part("va", 3, 10); /* 20000 .. 110000, folded on */
  send();
  r = run_qoe_counted();
  ck_assert_int_eq(r.events, 7);
  ck_assert_int_eq(r.foreign_events, 0);
  v = view("va");
  check_view_a(&v);
  int64_t count = 0;
  ck_assert_int_eq(stream_events_stats(events, &count, NULL), STREAM_OK);
  ck_assert_int_eq(count, 13);
  stream_events_qoe_summary s;
  ck_assert_int_eq(stream_events_qoe_stats(events, &s, NULL, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(s.views, 1);
  ck_assert_int_eq(s.failures, 0);
  ck_assert_int_eq(s.watch_ms, 50000);
  /* the result's version is the caller's to set */
  stream_events_qoe_run_result bad = STREAM_EVENTS_QOE_RUN_RESULT_INIT;
  bad.version = 0;
  ck_assert_int_eq(stream_events_qoe_run_ex(events, &bad), STREAM_EINVAL);
  bad.version = STREAM_EVENTS_QOE_RUN_RESULT_VERSION + 1;
  ck_assert_int_eq(stream_events_qoe_run_ex(events, &bad), STREAM_EINVAL);
  ck_assert_int_eq(stream_events_qoe_run_ex(events, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_events_qoe_run_ex(NULL, &r), STREAM_EINVAL);
}
END_TEST

/* The same through the rebuild: acct2's events are earlier on the player clock than view A's
 * (a request before acct1's, a stall, a fatal error), so the view is rebuilt from the log; they
 * are left out there too, and the view stays acct1's although acct2's request is its earliest
 * event by client_ts (the owner is the first event in log order). acct1's own late heartbeat
 * (5000, while playing at the same bitrate) rebuilds it again: one more event, same figures.
 * Replaying the whole log gives the same record. */
START_TEST(test_other_account_out_of_order)
{
  begin();
  add_view_a("vb");
  send();
  run_qoe();
  begin();
  add("vb", "t9", "dev9", "playrequest", -5000, "");
  add("vb", "t9", "dev9", "rebufferstart", 25000, "");
  add("vb", "t9", "dev9", "error", 50000, FATAL);
  send_as("acct2", "p2");
  stream_events_qoe_run_result r = run_qoe_counted();
  ck_assert_int_eq(r.events, 3);
  ck_assert_int_eq(r.foreign_events, 3);
  stream_events_view v = view("vb");
  check_view_a(&v);
  begin();
  add("vb", "t1", "tv1", "heartbeat", 5000, "");
  send();
  r = run_qoe_counted();
  ck_assert_int_eq(r.foreign_events, 0);
  stream_events_view w = view("vb");
  ck_assert_int_eq(w.events, 11);
  ck_assert_int_eq(w.last_seq, 14);
  w.events = v.events;
  w.last_seq = v.last_seq;
  check_view_a(&w);
  set_checkpoint(STREAM_EVENTS_QOE_CONSUMER, 0);
  r = run_qoe_counted();
  ck_assert_int_eq(r.events, 14);
  ck_assert_int_eq(r.foreign_events, 3);
  stream_events_view x = view("vb");
  ck_assert_int_eq(x.events, 11);
  x.events = v.events;
  x.last_seq = v.last_seq;
  check_view_a(&x);
}
END_TEST

static void make_account(char *id, size_t cap, const char *email)
{
  stream_store_account in, out;
  memset(&in, 0, sizeof in);
  snprintf(in.email, sizeof in.email, "%s", email);
  ck_assert_int_eq(stream_store_account_create(&out, store, &in, T0 / 1000), STREAM_OK);
  snprintf(id, cap, "%s", out.id);
}

/* Closing an account blanks its ids in the log and in its records: the rule must hold on.
 * View vc is a1's, view vd is a2's with a fatal error of a1 under its id. a1 is closed (vc's
 * record and a1's events lose the account). a2's events under vc's id, in order and then
 * late, are still another account's; a1's player's last batch, stored after the close
 * without the account (its batch raced the close), is still vc's. vd keeps leaving a1's
 * blanked event out. A replay of the whole log gives the same records. */
START_TEST(test_other_account_after_close)
{
  char a1[STREAM_STORE_ID_SIZE], a2[STREAM_STORE_ID_SIZE];
  make_account(a1, sizeof a1, "one@example.com");
  make_account(a2, sizeof a2, "two@example.com");
  begin();
  add_view_a_part("vc", 0, 3);
  send_as(a1, "");
  begin();
  add_view_a_part("vd", 0, 3);
  send_as(a2, "");
  begin();
  add("vd", "t9", "dev9", "error", 15000, FATAL);
  send_as(a1, "");
  stream_events_qoe_run_result r = run_qoe_counted();
  ck_assert_int_eq(view("vd").failed, 0);
  ck_assert_int_eq(r.foreign_events, 1);
  stream_store_account_close_counts cc;
  ck_assert_int_eq(stream_store_account_close(&cc, store, a1, T0 / 1000 + 100), STREAM_OK);
  ck_assert_uint_eq(cc.events, 4);
  ck_assert_uint_eq(cc.views, 1);
  stream_events_view v = view("vc");
  ck_assert_str_eq(v.account_id, "");
  begin();
  add("vc", "t9", "dev9", "error", 15000, FATAL);
  send_as(a2, "");
  r = run_qoe_counted();
  v = view("vc");
  ck_assert_int_eq(v.failed, 0);
  ck_assert_int_eq(r.foreign_events, 1);
  begin();
  add("vc", "t9", "dev9", "playrequest", -5000, "");
  send_as(a2, "");
  r = run_qoe_counted();
  v = view("vc");
  ck_assert_int_eq(v.failed, 0);
  ck_assert_int_eq(v.start_ts, T0);
  ck_assert_int_eq(v.watch_ms, 12000);
  ck_assert_int_eq(v.events, 3);
  ck_assert_int_eq(r.foreign_events, 1);
  begin();
  add_view_a_part("vc", 3, 10);
  send_as(a1, "");
  r = run_qoe_counted();
  ck_assert_int_eq(r.foreign_events, 0);
  begin();
  add_view_a_part("vd", 3, 10);
  send_as(a2, "");
  r = run_qoe_counted();
  ck_assert_int_eq(r.foreign_events, 0);
  for (int pass = 0; pass < 2; pass++) {
    v = view("vc");
    ck_assert_str_eq(v.account_id, "");
    ck_assert_str_eq(v.device_id, "");
    check_view_a_figures(&v);
    v = view("vd");
    ck_assert_str_eq(v.account_id, a2);
    ck_assert_str_eq(v.device_id, "tv1");
    check_view_a_figures(&v);
    set_checkpoint(STREAM_EVENTS_QOE_CONSUMER, 0);
    r = run_qoe_counted();
    ck_assert_int_eq(r.foreign_events, 3); /* vd: a1's error; vc: a2's two */
  }
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

/* A pause between the play request and the first frame is neither startup nor watch time
 * (analytics.md: watch time excludes pauses; Mux: startup is the time the viewer waits).
 * Before, the 59.5 s pause below was counted as both.
 *   spause: request 0, pause 500 | play 60000, playing 61000, ended 71000 (the part after |
 *           in a second batch, folded on from the stored paused state)
 *           -> startup 500 + 1000 = 1500, watch 1500 + 10000 = 11500, playing 10000.
 *   spause-exit: request 0, pause 800, ended 30000 -> EBVS with 800 ms of watch time. */
START_TEST(test_pause_before_first_frame)
{
  begin();
  add("spause", "ts", "tv", "playrequest", 0, "");
  add("spause", "ts", "tv", "pause", 500, "");
  add("spause-exit", "ts", "tv", "playrequest", 0, "");
  add("spause-exit", "ts", "tv", "pause", 800, "");
  add("spause-exit", "ts", "tv", "ended", 30000, "");
  send();
  run_qoe();
  begin();
  add("spause", "ts", "tv", "play", 60000, "");
  add("spause", "ts", "tv", "playing", 61000, "");
  add("spause", "ts", "tv", "ended", 71000, "");
  send();
  run_qoe();
  stream_events_view v = view("spause");
  ck_assert_int_eq(v.startup_ms, 1500);
  ck_assert_int_eq(v.watch_ms, 11500);
  ck_assert_int_eq(v.playing_ms, 10000);
  v = view("spause-exit");
  ck_assert_int_eq(v.exited_before_start, 1);
  ck_assert_int_eq(v.startup_ms, -1);
  ck_assert_int_eq(v.watch_ms, 800);
  /* the same from a rebuild */
  set_checkpoint(STREAM_EVENTS_QOE_CONSUMER, 0);
  run_qoe();
  v = view("spause");
  ck_assert_int_eq(v.startup_ms, 1500);
  ck_assert_int_eq(v.watch_ms, 11500);
  stream_events_qoe_summary s;
  ck_assert_int_eq(stream_events_qoe_stats(events, &s, "ts", NULL, NULL), STREAM_OK);
  ck_assert_int_eq(s.startup_ms_p50, 1500);
  ck_assert_int_eq(s.watch_ms, 12300);
}
END_TEST

/* A seek while paused whose load outlasts it is no rebuffer: nothing was playing. Before, it
 * counted one, and its rebufferend then put the paused view in "playing" for the whole pause.
 *   ps:  request 0, playing 1000, pause 5000, seeking 6000, rebufferstart 6100, seeked 6500,
 *        rebufferend 7000, play 67000, playing 67200, ended 70000 -> no rebuffer;
 *        watch 1000 + 4000 + 500 seek + 200 resume wait + 2800 = 8500, playing 6800.
 *   ps2: the same until the seek, resumed (play) during it: request 0, playing 1000, pause 5000,
 *        seeking 6000, play 6200, rebufferstart 6300, seeked 6500, rebufferend 8000, ended
 *        10000 -> the stall outlasted the seek: 1 rebuffer of 1500 ms from seeked; watch
 *        1000 + 4000 + 500 + 1500 + 2000 = 9000, playing 6000. */
START_TEST(test_seek_while_paused)
{
  begin();
  add("ps", "tp", "tv", "playrequest", 0, "");
  add("ps", "tp", "tv", "playing", 1000, "");
  add("ps", "tp", "tv", "pause", 5000, "");
  add("ps", "tp", "tv", "seeking", 6000, "");
  add("ps", "tp", "tv", "rebufferstart", 6100, "");
  add("ps", "tp", "tv", "seeked", 6500, "");
  add("ps", "tp", "tv", "rebufferend", 7000, "");
  add("ps", "tp", "tv", "play", 67000, "");
  add("ps", "tp", "tv", "playing", 67200, "");
  add("ps", "tp", "tv", "ended", 70000, "");
  add("ps2", "tp", "tv", "playrequest", 0, "");
  add("ps2", "tp", "tv", "playing", 1000, "");
  add("ps2", "tp", "tv", "pause", 5000, "");
  add("ps2", "tp", "tv", "seeking", 6000, "");
  add("ps2", "tp", "tv", "play", 6200, "");
  add("ps2", "tp", "tv", "rebufferstart", 6300, "");
  add("ps2", "tp", "tv", "seeked", 6500, "");
  add("ps2", "tp", "tv", "rebufferend", 8000, "");
  add("ps2", "tp", "tv", "ended", 10000, "");
  send();
  run_qoe();
  stream_events_view v = view("ps");
  ck_assert_int_eq(v.rebuffer_count, 0);
  ck_assert_int_eq(v.rebuffer_ms, 0);
  ck_assert_int_eq(v.watch_ms, 8500);
  ck_assert_int_eq(v.playing_ms, 6800);
  v = view("ps2");
  ck_assert_int_eq(v.rebuffer_count, 1);
  ck_assert_int_eq(v.rebuffer_ms, 1500);
  ck_assert_int_eq(v.watch_ms, 9000);
  ck_assert_int_eq(v.playing_ms, 6000);
}
END_TEST

/* A view begins at the play request (analytics.md): the record of a player that was never asked
 * to play (viewinit, heartbeat, ended) is no view in the aggregates. Before, it counted in
 * `views` and halved the failure percentage below.
 *   init-only: viewinit 0, heartbeat 500, ended 1000 -> not a view (still a record).
 *   fail: request 0, fatal error 2000 -> 1 view, 1 failure (100 %), 1 start failure. */
START_TEST(test_record_without_request_is_no_view)
{
  begin();
  add("init-only", "tn", "tv", "viewinit", 0, "");
  add("init-only", "tn", "tv", "heartbeat", 500, "");
  add("init-only", "tn", "tv", "ended", 1000, "");
  add("fail", "tn", "tv", "playrequest", 0, "");
  add("fail", "tn", "tv", "error", 2000, "\"error\":{\"code\":2,\"message\":\"x\",\"fatal\":true}");
  send();
  run_qoe();
  stream_events_view v = view("init-only");
  ck_assert_int_eq(v.requested, 0);
  ck_assert_int_eq(v.exited_before_start, 0);
  stream_events_qoe_summary s;
  ck_assert_int_eq(stream_events_qoe_stats(events, &s, "tn", NULL, NULL), STREAM_OK);
  ck_assert_int_eq(s.views, 1);
  ck_assert_int_eq(s.failures, 1);
  ck_assert_double_eq_tol(s.failure_pct, 100.0, 1e-12);
  ck_assert_double_eq_tol(s.start_failure_pct, 100.0, 1e-12);
  ck_assert_double_eq_tol(s.ebvs_pct, 0.0, 1e-12);
}
END_TEST

/* A view with no event for STREAM_EVENTS_VIEW_TIMEOUT_MS (60 min) is over at its last event
 * (docs: "View"); the gap is not watch time and later events of the view id are ignored. Before,
 * the gap was counted in whatever state the view was in (hours of "playing" from a device that
 * slept, a one-hour startup, a stall of hours, and br x dt overflowing on a clock jump). H = 3 h.
 *   gap-play:  request 0, playing 1000 (br 2000), heartbeat 11000 | heartbeat 11000 + H,
 *              ended 21000 + H (the part after | in a second batch: the incremental path)
 *              -> startup 1000, watch 11000, playing 10000, br_sum 2000 x 10000, ended.
 *   gap-start: request 0, playing at exactly 60 min, heartbeat 10 s later -> never started:
 *              EBVS, startup unknown, watch 0 (the gap is not startup).
 *   gap-pause: request 0, playing 1000, pause 5000, play 5000 + H, playing 5500 + H, ended
 *              15000 + H -> over while paused (Mux keeps a paused view 60 min): watch 5000.
 *   gap-stall: request 0, playing 1000, rebufferstart 5000, heartbeat 15000, heartbeat
 *              15000 + H -> one stall of 10000 ms, watch 15000.
 *   clock-jump: request 0, playing 1000 (br 10^8), heartbeat 76 years later -> playing 0. */
START_TEST(test_view_timeout_gap)
{
  const int64_t H = INT64_C(3) * 3600000;
  const int64_t TO = STREAM_EVENTS_VIEW_TIMEOUT_MS;
  char extra[64];
  begin();
  add("gap-play", "tg", "tv", "playrequest", 0, "");
  add("gap-play", "tg", "tv", "playing", 1000, "\"br\":2000");
  add("gap-play", "tg", "tv", "heartbeat", 11000, "");
  add("gap-start", "tg", "tv", "playrequest", 0, "");
  add("gap-start", "tg", "tv", "playing", TO, "");
  add("gap-start", "tg", "tv", "heartbeat", TO + 10000, "");
  add("gap-pause", "tg", "tv", "playrequest", 0, "");
  add("gap-pause", "tg", "tv", "playing", 1000, "");
  add("gap-pause", "tg", "tv", "pause", 5000, "");
  add("gap-pause", "tg", "tv", "play", 5000 + H, "");
  add("gap-pause", "tg", "tv", "playing", 5500 + H, "");
  add("gap-pause", "tg", "tv", "ended", 15000 + H, "");
  add("gap-stall", "tg", "tv", "playrequest", 0, "");
  add("gap-stall", "tg", "tv", "playing", 1000, "");
  add("gap-stall", "tg", "tv", "rebufferstart", 5000, "");
  add("gap-stall", "tg", "tv", "heartbeat", 15000, "");
  add("gap-stall", "tg", "tv", "heartbeat", 15000 + H, "");
  add("clock-jump", "tg", "tv", "playrequest", 0, "");
  add("clock-jump", "tg", "tv", "playing", 1000, "\"br\":100000000");
  add("clock-jump", "tg", "tv", "heartbeat", INT64_C(2400000000000), "");
  send();
  run_qoe();
  stream_events_view v = view("gap-play");
  ck_assert_int_eq(v.watch_ms, 11000);
  ck_assert_int_eq(v.ended, 0);
  begin();
  snprintf(extra, sizeof extra, "\"br\":2000");
  add("gap-play", "tg", "tv", "heartbeat", 11000 + H, extra);
  add("gap-play", "tg", "tv", "ended", 21000 + H, "");
  send();
  run_qoe();

  v = view("gap-play");
  ck_assert_int_eq(v.startup_ms, 1000);
  ck_assert_int_eq(v.watch_ms, 11000);
  ck_assert_int_eq(v.playing_ms, 10000);
  ck_assert_int_eq(v.br_sum, INT64_C(20000000));
  ck_assert_int_eq(v.ended, 1);
  ck_assert_int_eq(v.events, 5);
  ck_assert_int_eq(v.last_ts, T0 + 21000 + H);
  v = view("gap-start");
  ck_assert_int_eq(v.started, 0);
  ck_assert_int_eq(v.startup_ms, -1);
  ck_assert_int_eq(v.watch_ms, 0);
  ck_assert_int_eq(v.ended, 1);
  ck_assert_int_eq(v.exited_before_start, 1);
  v = view("gap-pause");
  ck_assert_int_eq(v.watch_ms, 5000);
  ck_assert_int_eq(v.playing_ms, 4000);
  v = view("gap-stall");
  ck_assert_int_eq(v.rebuffer_count, 1);
  ck_assert_int_eq(v.rebuffer_ms, 10000);
  ck_assert_int_eq(v.watch_ms, 15000);
  v = view("clock-jump");
  ck_assert_int_eq(v.playing_ms, 0);
  ck_assert_int_eq(v.br_sum, 0);
  ck_assert_int_eq(v.peak_br, 0);

  /* the same records from a rebuild (checkpoint moved back) */
  set_checkpoint(STREAM_EVENTS_QOE_CONSUMER, 0);
  run_qoe();
  v = view("gap-play");
  ck_assert_int_eq(v.watch_ms, 11000);
  ck_assert_int_eq(v.ended, 1);
  stream_events_qoe_summary s;
  ck_assert_int_eq(stream_events_qoe_stats(events, &s, "tg", NULL, NULL), STREAM_OK);
  ck_assert_int_eq(s.views, 5);
  ck_assert_int_eq(s.started, 4);
  ck_assert_int_eq(s.exits_before_start, 1);
  ck_assert_int_eq(s.watch_ms, 11000 + 0 + 5000 + 15000 + 1000);
  ck_assert_int_eq(s.startup_ms_p95, 1000);
}
END_TEST

/* Rebuffering is defined only for views that reached the first frame (Mux): the rebuffer
 * ratios and percentiles leave the others out. Before, their 0 % pulled them down.
 *   rb10/rb20/rb30: request 0, playing 0, rebufferstart 9000/8000/7000, ended 10000
 *                   -> watch 10000 each, stalls 1000/2000/3000 ms = 10/20/30 %
 *   rbn-ebvs: request 0, ended 5000; rbn-fail: request 0, fatal error 5000;
 *   rbn-long: request 0, ended 10000 (device tvn) -> 20000 ms of watch, never started.
 * Started only: p50 of (10, 20, 30) = 20, p95 = 30; 6000 / 30000 = 20 %; 3 stalls in
 * 0.5 min = 6 a minute. With the three others (0, 0, 0, 10, 20, 30): p50 = 0, 12 %, 3.6. */
START_TEST(test_rebuffer_over_started_views)
{
  begin();
  for (int pct = 10; pct <= 30; pct += 10) {
    char id[16];
    snprintf(id, sizeof id, "rb%d", pct);
    add(id, "rbs", "tv", "playrequest", 0, "");
    add(id, "rbs", "tv", "playing", 0, "");
    add(id, "rbs", "tv", "rebufferstart", 10000 - 100 * pct, "");
    add(id, "rbs", "tv", "ended", 10000, "");
  }
  add("rbn-ebvs", "rbs", "tvn", "playrequest", 0, "");
  add("rbn-ebvs", "rbs", "tvn", "ended", 5000, "");
  add("rbn-fail", "rbs", "tvn", "playrequest", 0, "");
  add("rbn-fail", "rbs", "tvn", "error", 5000,
      "\"error\":{\"code\":3,\"message\":\"x\",\"fatal\":true}");
  add("rbn-long", "rbs", "tvn", "playrequest", 0, "");
  add("rbn-long", "rbs", "tvn", "ended", 10000, "");
  send();
  run_qoe();
  stream_events_qoe_summary s;
  ck_assert_int_eq(stream_events_qoe_stats(events, &s, "rbs", NULL, NULL), STREAM_OK);
  ck_assert_int_eq(s.views, 6);
  ck_assert_int_eq(s.started, 3);
  ck_assert_int_eq(s.watch_ms, 50000); /* still the sum over all views */
  ck_assert_int_eq(s.rebuffer_ms, 6000);
  ck_assert_int_eq(s.rebuffer_count, 3);
  ck_assert_double_eq_tol(s.rebuffer_pct_p50, 20.0, 1e-9);
  ck_assert_double_eq_tol(s.rebuffer_pct_p95, 30.0, 1e-9);
  ck_assert_double_eq_tol(s.rebuffer_pct, 20.0, 1e-9);
  ck_assert_double_eq_tol(s.rebuffer_per_min, 6.0, 1e-9);
  /* only views that never started (device tvn): no rebuffer figure, 0 as with no views */
  ck_assert_int_eq(stream_events_qoe_stats(events, &s, "rbs", NULL, "tvn"), STREAM_OK);
  ck_assert_int_eq(s.views, 3);
  ck_assert_int_eq(s.watch_ms, 20000);
  ck_assert_double_eq_tol(s.rebuffer_pct, 0.0, 1e-12);
  ck_assert_double_eq_tol(s.rebuffer_per_min, 0.0, 1e-12);
  ck_assert_double_eq_tol(s.rebuffer_pct_p50, 0.0, 1e-12);
  ck_assert_double_eq_tol(s.rebuffer_pct_p95, 0.0, 1e-12);
}
END_TEST

/* The QoE consumer's lag (streamd_qoe_lag_events) counts events: a duplicate id still takes a
 * sequence number (SQLite's AUTOINCREMENT; the PostgreSQL store does the same), so the last seq
 * less the checkpoint, what the gauge showed before, overstated it.
 *   3 events (seqs 1..3), the same 3 again (take 4..6), 2 new (7, 8): lag 5, not 8. */
START_TEST(test_lag_counts_events)
{
  int64_t lag = -1, last = 0;
  ck_assert_int_eq(stream_events_lag(events, &lag, STREAM_EVENTS_QOE_CONSUMER, 1000), STREAM_OK);
  ck_assert_int_eq(lag, 0);
  for (int round = 0; round < 2; round++) {
    id_counter = 0;
    begin();
    for (int i = 0; i < 3; i++)
      add("lag", "t", "d", "heartbeat", i, "");
    send();
  }
  begin();
  add("lag", "t", "d", "heartbeat", 3, "");
  add("lag", "t", "d", "heartbeat", 4, "");
  send();
  ck_assert_int_eq(stream_events_stats(events, NULL, &last), STREAM_OK);
  ck_assert_int_eq(last, 8);
  ck_assert_int_eq(stream_events_lag(events, &lag, STREAM_EVENTS_QOE_CONSUMER, 1000), STREAM_OK);
  ck_assert_int_eq(lag, 5);
  ck_assert_int_eq(stream_events_lag(events, &lag, STREAM_EVENTS_QOE_CONSUMER, 2), STREAM_OK);
  ck_assert_int_eq(lag, 2); /* counted up to max */
  ck_assert_int_eq(stream_events_commit(events, STREAM_EVENTS_QOE_CONSUMER, 0, 3), STREAM_OK);
  ck_assert_int_eq(stream_events_lag(events, &lag, STREAM_EVENTS_QOE_CONSUMER, 1000), STREAM_OK);
  ck_assert_int_eq(lag, 2);
  run_qoe();
  ck_assert_int_eq(stream_events_lag(events, &lag, STREAM_EVENTS_QOE_CONSUMER, 1000), STREAM_OK);
  ck_assert_int_eq(lag, 0);
  ck_assert_int_eq(stream_events_lag(events, &lag, STREAM_EVENTS_QOE_CONSUMER, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_events_lag(events, &lag, "Bad Name", 10), STREAM_EINVAL);
  ck_assert_int_eq(stream_events_lag(events, NULL, STREAM_EVENTS_QOE_CONSUMER, 10), STREAM_EINVAL);
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

/* A viewer is an (account, view id) pair, ended only by its own account. acct2 sends under
 * view ids acct1 uses: its `ended` under live "va" leaves acct1's viewer counted (it hid it);
 * under "vb" both are live, then acct1's `ended` ends acct1's viewer only (it hid acct2's too);
 * under "vc" both are live: two viewers (they counted as one). */
START_TEST(test_concurrent_per_account)
{
  begin();
  add("va", "t", "d", "heartbeat", 0, "");
  add("vb", "t", "d", "heartbeat", 0, "");
  add("vc", "t", "d", "playing", 0, "");
  send();
  begin();
  add("va", "t", "d", "ended", 1, "");
  add("vb", "t", "d", "heartbeat", 1, "");
  add("vc", "t", "d", "heartbeat", 1, "");
  send_as("acct2", "");
  int64_t n = -1;
  ck_assert_int_eq(stream_events_concurrent(events, &n), STREAM_OK);
  ck_assert_int_eq(n, 5); /* acct1: va, vb, vc; acct2: vb, vc (its va only ended) */
  begin();
  add("vb", "t", "d", "ended", 2, "");
  send();
  ck_assert_int_eq(stream_events_concurrent(events, &n), STREAM_OK);
  ck_assert_int_eq(n, 4); /* acct1: va, vc; acct2: vb, vc */
  begin();
  add("vc", "t", "d", "error", 3, FATAL);
  send_as("acct2", "");
  ck_assert_int_eq(stream_events_concurrent(events, &n), STREAM_OK);
  ck_assert_int_eq(n, 3); /* acct1: va, vc; acct2: vb */
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

static void write_file(const char *name, const char *text)
{
  char path[600];
  snprintf(path, sizeof path, "%.300s/%s", outdir, name);
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  ck_assert_int_eq(fclose(f), 0);
}

static bool exists_in_outdir(const char *name)
{
  char path[600];
  snprintf(path, sizeof path, "%.300s/%s", outdir, name);
  return access(path, F_OK) == 0;
}

/* A run that crashed while writing a batch left its temporary file; the next export (holding
 * the directory's lock) removes it, of either format, and leaves completed batch files and
 * every other name alone. Before, such files stayed forever (a later run wrote a different
 * range, or never came to that range again). */
START_TEST(test_export_removes_stale_tmp)
{
  add_n(20);
  stream_events_export_options o = STREAM_EVENTS_EXPORT_OPTIONS_INIT;
  o.dir = outdir;
  o.batch_max = 10;
  stream_events_export_result r;
  ck_assert_int_eq(stream_events_export(events, &r, &o), STREAM_OK);
  ck_assert_int_eq(r.files, 2);
  const char *done1 = "events-00000000000000000001-00000000000000000010.ndjson";
  const char *done2 = "events-00000000000000000011-00000000000000000020.ndjson";
  char path[600], before1[8192], before2[8192];
  snprintf(path, sizeof path, "%s/%s", outdir, done1);
  snprintf(before1, sizeof before1, "%s", slurp(path));
  snprintf(path, sizeof path, "%s/%s", outdir, done2);
  snprintf(before2, sizeof before2, "%s", slurp(path));
  /* the crash: 21..30 half written (batch_max 10 then), and a CSV run's 21..22 */
  const char *stale[] = {".events-00000000000000000021-00000000000000000030.ndjson.tmp",
                         ".events-00000000000000000021-00000000000000000022.csv.tmp"};
  write_file(stale[0], "{\"seq\":21,\"event_id\":\"00000000-0000-4000-8");
  write_file(stale[1], "seq,event_id\r\n21,");
  /* not ours: a short seq, another extension, a view export's temporary file, other files */
  const char *keep[] = {".events-21-30.ndjson.tmp",
                        ".events-00000000000000000021-00000000000000000030.json.tmp",
                        ".events-00000000000000000021-00000000000000000030.ndjson.tmp.bak",
                        ".views.csv.tmp",
                        "notes.tmp",
                        "events-00000000000000000021-00000000000000000030.ndjson.tmp"};
  for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
    write_file(keep[i], "x");
  add_n(5);
  ck_assert_int_eq(stream_events_export(events, &r, &o), STREAM_OK);
  ck_assert_int_eq(r.files, 1);
  ck_assert_int_eq(r.to_seq, 25);
  for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++)
    ck_assert_msg(!exists_in_outdir(stale[i]), "%s was not removed", stale[i]);
  for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
    ck_assert_msg(exists_in_outdir(keep[i]), "%s was removed", keep[i]);
  snprintf(path, sizeof path, "%s/%s", outdir, done1);
  ck_assert_str_eq(slurp(path), before1);
  snprintf(path, sizeof path, "%s/%s", outdir, done2);
  ck_assert_str_eq(slurp(path), before2);
  ck_assert(exists_in_outdir("events-00000000000000000021-00000000000000000025.ndjson"));
  long long seqs[100];
  int n = collect_seqs(seqs, 100);
  ck_assert_int_eq(n, 25);
  for (int i = 0; i < n; i++)
    ck_assert_int_eq(seqs[i], i + 1);
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

/* CSV injection: player-chosen free text (sid, cid, error message) starting with = + - @ would
 * run as a formula in a spreadsheet; in CSV it is written after a single quote (quoted as
 * RFC 4180 wants when it holds a comma or a quote). Ids (their alphabet has no parentheses)
 * and everything in NDJSON stay as they are. */
START_TEST(test_export_csv_injection)
{
  begin();
  add("-A1", "-t", "d", "error", 5,
      "\"sid\":\"+1+cmd|' /C calc'!A0\",\"cid\":\"@SUM(1)\",\"error\":{\"code\":4,\"message\":"
      "\"=HYPERLINK(\\\"http://x\\\",\\\"a\\\")\",\"fatal\":true}");
  add("v2", "t", "d", "error", 6,
      "\"sid\":\"-ok\",\"cid\":\"a=b\",\"error\":{\"code\":4,\"message\":\"fine\",\"fatal\":true}");
  send();
  stream_events_export_options o = STREAM_EVENTS_EXPORT_OPTIONS_INIT;
  o.dir = outdir;
  o.format = STREAM_EVENTS_EXPORT_CSV;
  o.consumer = "csv";
  ck_assert_int_eq(stream_events_export(events, NULL, &o), STREAM_OK);
  char path[600];
  snprintf(path, sizeof path, "%s/events-00000000000000000001-00000000000000000002.csv", outdir);
  const char *text = slurp(path);
  ck_assert_ptr_nonnull(strstr(text, ",error,-A1,"));
  ck_assert_ptr_nonnull(strstr(text, ",-t,,d,"));
  ck_assert_ptr_nonnull(
      strstr(text, ",'+1+cmd|' /C calc'!A0,'@SUM(1),,false,4,true,\"'=HYPERLINK(\"\"http://x\"\","
                   "\"\"a\"\")\"\r\n"));
  ck_assert_ptr_nonnull(strstr(text, ",'-ok,a=b,,false,4,true,fine\r\n"));
  ck_assert_ptr_null(strstr(text, ",=HYPERLINK"));
  ck_assert_ptr_null(strstr(text, ",\"=HYPERLINK"));
  o.format = STREAM_EVENTS_EXPORT_NDJSON;
  o.consumer = "nd";
  ck_assert_int_eq(stream_events_export(events, NULL, &o), STREAM_OK);
  snprintf(path, sizeof path, "%s/events-00000000000000000001-00000000000000000002.ndjson", outdir);
  text = slurp(path);
  ck_assert_ptr_nonnull(strstr(text, "\"sid\":\"+1+cmd|' /C calc'!A0\",\"cid\":\"@SUM(1)\""));
  ck_assert_ptr_nonnull(strstr(text, "\"error_message\":\"=HYPERLINK(\\\"http://x\\\""));
}
END_TEST

/* Two exports into one directory take turns (an flock on the directory): before, two runs of
 * one consumer could read the same range and both rename a file into place before one lost the
 * checkpoint's compare-and-set, and the loser's file (a longer or shorter range than the
 * winner's) exported its events twice (seen with four concurrent exporter processes: 5 seqs of
 * 10 000 in two files). Here the test holds the lock as a running export would: the export
 * fails with STREAM_ECONFLICT and writes nothing, then runs once the lock is free. */
START_TEST(test_export_excludes_concurrent_run)
{
  add_n(5);
  int fd = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
  stream_events_export_options o = STREAM_EVENTS_EXPORT_OPTIONS_INIT;
  o.dir = outdir;
  stream_events_export_result r;
  ck_assert_int_eq(stream_events_export(events, &r, &o), STREAM_ECONFLICT);
  ck_assert_int_eq(r.files, 0);
  long long seqs[16];
  ck_assert_int_eq(collect_seqs(seqs, 16), 0);
  int64_t cp = -1;
  ck_assert_int_eq(stream_events_checkpoint(events, &cp, STREAM_EVENTS_EXPORT_CONSUMER), STREAM_OK);
  ck_assert_int_eq(cp, 0);
  close(fd);
  ck_assert_int_eq(stream_events_export(events, &r, &o), STREAM_OK);
  ck_assert_int_eq(r.events, 5);
  ck_assert_int_eq(collect_seqs(seqs, 16), 5);
}
END_TEST

/* ---- incremental consumer --------------------------------------------------- */

static void delete_events(const char *view_id, int64_t before_t)
{
  char sql[200];
  snprintf(sql, sizeof sql, "DELETE FROM event_log WHERE view_id = '%s' AND client_ts < %lld",
           view_id, (long long)(T0 + before_t));
  ck_assert_int_gt(test_store_raw_exec(dbpath, sql), 0);
}

/* In-order new events are folded into the stored record and accumulator without re-reading the
 * view: after the view's older events are deleted from the log, later in-order events still
 * accumulate on top of them (a rebuild from the log could not know them). A late event, or a
 * replayed seq range, rebuilds the view from what the log still holds.
 *   0 playrequest, 1000 playing (br 2000), 11000 heartbeat, 21000 heartbeat
 *   -> startup 1000, watch 21000, playing 20000, 4 events.
 * Delete the first three, then 31000 heartbeat and 41000 heartbeat (one batch), 41000 pause
 * (same time as the last event: still in order): watch 41000, playing 40000,
 * br_sum 2000 x 40000, 7 events, last_seq 7. Then a late heartbeat at 35000: rebuilt from the
 * log's 5 events (21000 .. 41000, no request, no frame): nothing watched, start_ts = 21000. */
START_TEST(test_incremental_fast_path)
{
  begin();
  add("long", "t1", "tv1", "playrequest", 0, "");
  add("long", "t1", "tv1", "playing", 1000, "\"br\":2000");
  add("long", "t1", "tv1", "heartbeat", 11000, "");
  add("long", "t1", "tv1", "heartbeat", 21000, "");
  send();
  run_qoe();
  stream_events_view v = view("long");
  ck_assert_int_eq(v.events, 4);
  ck_assert_int_eq(v.watch_ms, 21000);
  delete_events("long", 21000);
  begin();
  add("long", "t1", "tv1", "heartbeat", 31000, "");
  add("long", "t1", "tv1", "heartbeat", 41000, "");
  send();
  run_qoe();
  begin();
  add("long", "t1", "tv1", "pause", 41000, "");
  send();
  run_qoe();
  v = view("long");
  ck_assert_int_eq(v.events, 7);
  ck_assert_int_eq(v.last_seq, 7);
  ck_assert_int_eq(v.last_ts, T0 + 41000);
  ck_assert_int_eq(v.start_ts, T0);
  ck_assert_int_eq(v.requested, 1);
  ck_assert_int_eq(v.started, 1);
  ck_assert_int_eq(v.startup_ms, 1000);
  ck_assert_int_eq(v.watch_ms, 41000);
  ck_assert_int_eq(v.playing_ms, 40000);
  ck_assert_int_eq(v.br_ms, 40000);
  ck_assert_int_eq(v.br_sum, INT64_C(2000) * 40000);
  ck_assert_int_eq(v.peak_br, 2000);
  ck_assert_str_eq(v.day, "2023-11-14");
  /* a late event: rebuilt from the 5 events the log holds */
  begin();
  add("long", "t1", "tv1", "heartbeat", 35000, "");
  send();
  run_qoe();
  v = view("long");
  ck_assert_int_eq(v.events, 5);
  ck_assert_int_eq(v.last_seq, 8);
  ck_assert_int_eq(v.requested, 0);
  ck_assert_int_eq(v.started, 0);
  ck_assert_int_eq(v.watch_ms, 0);
  ck_assert_int_eq(v.startup_ms, -1);
  ck_assert_int_eq(v.start_ts, T0 + 21000);
  /* in order again: folded in from the rebuilt state (idle: no watch time, start_ts stays the
   * first event's until a frame plays) */
  begin();
  add("long", "t1", "tv1", "heartbeat", 45000, "");
  send();
  run_qoe();
  v = view("long");
  ck_assert_int_eq(v.events, 6);
  ck_assert_int_eq(v.start_ts, T0 + 21000);
  ck_assert_str_eq(v.day, "2023-11-14");
  begin();
  add("long", "t1", "tv1", "playing", 50000, "\"br\":1000");
  add("long", "t1", "tv1", "heartbeat", 60000, "");
  send();
  run_qoe();
  v = view("long");
  ck_assert_int_eq(v.events, 8);
  ck_assert_int_eq(v.started, 1);
  ck_assert_int_eq(v.playing_ms, 10000);
  ck_assert_int_eq(v.br_sum, INT64_C(1000) * 10000);
  ck_assert_int_eq(v.start_ts, T0 + 50000);
  /* a replayed seq range (here only the last event, in order by its time) is rebuilt from the
   * log, never folded in twice */
  set_checkpoint(STREAM_EVENTS_QOE_CONSUMER, 10);
  run_qoe();
  stream_events_view w = view("long");
  ck_assert_int_eq(w.events, 8); /* the log's 8 events; folding seq 11 in again would give 9 */
  ck_assert_int_eq(w.playing_ms, 10000);
  ck_assert_int_eq(w.last_seq, 11);
}
END_TEST

/* Every accumulator variable survives a consumer run: a sequence with a seek that stalls past its
 * own load, a seek while paused, a pause/play resume, a rendition change, events after ended
 * and equal timestamps, cut after each event into two batches (a run after each), gives the
 * record of the whole sequence in one batch. */
START_TEST(test_incremental_every_cut)
{
  static const struct {
    const char *type;
    int64_t t;
    const char *extra;
  } seq[] = {{"viewinit", 0, ""},
             {"playrequest", 0, ""},
             {"playing", 1000, "\"br\":2000"},
             {"seeking", 5000, ""},
             {"rebufferstart", 5500, ""},
             {"seeked", 7000, ""},
             {"rebufferend", 9000, ""},
             {"pause", 10000, ""},
             {"seeking", 12000, ""},
             {"seeked", 13000, ""},
             {"play", 15000, ""},
             {"playing", 15500, ""},
             {"renditionchange", 20000, "\"br\":3000"},
             {"heartbeat", 25000, ""},
             {"heartbeat", 25000, ""},
             {"ended", 30000, ""},
             {"heartbeat", 31000, ""}};
  size_t n = sizeof seq / sizeof seq[0];
  begin();
  for (size_t i = 0; i < n; i++)
    add("whole", "t1", "tv1", seq[i].type, seq[i].t, seq[i].extra);
  send();
  run_qoe();
  stream_events_view whole = view("whole");
  ck_assert_int_eq(whole.rebuffer_count, 1);
  ck_assert_int_eq(whole.rebuffer_ms, 2000);
  for (size_t k = 1; k < n; k++) {
    char id[32];
    snprintf(id, sizeof id, "cut-%zu", k);
    begin();
    for (size_t i = 0; i < k; i++)
      add(id, "t1", "tv1", seq[i].type, seq[i].t, seq[i].extra);
    send();
    run_qoe();
    begin();
    for (size_t i = k; i < n; i++)
      add(id, "t1", "tv1", seq[i].type, seq[i].t, seq[i].extra);
    send();
    run_qoe();
    stream_events_view v = view(id);
    ck_assert_msg(v.start_ts == whole.start_ts && v.events == whole.events &&
                      v.startup_ms == whole.startup_ms && v.watch_ms == whole.watch_ms &&
                      v.playing_ms == whole.playing_ms &&
                      v.rebuffer_count == whole.rebuffer_count &&
                      v.rebuffer_ms == whole.rebuffer_ms && v.br_ms == whole.br_ms &&
                      v.br_sum == whole.br_sum && v.peak_br == whole.peak_br &&
                      v.ended == whole.ended && v.last_ts == whole.last_ts,
                  "cut after %zu events: the record differs", k);
  }
}
END_TEST

/* A generated event: view index, type name, player time after T0, extra JSON, id number. */
typedef struct gen_event {
  int view;
  const char *type;
  int64_t t;
  char extra[80];
  int id;
} gen_event;

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
  rng_state = rng_state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
  return (uint32_t)(rng_state >> 33) % n;
}

#define GEN_VIEWS 6
#define GEN_EVENTS 300 /* 3 x 300 < the consumer batch of 1000: one run, one batch */

/* Random sequences over GEN_VIEWS views: every event type, heartbeats most often, runs of equal
 * timestamps, late events (earlier than the view's latest), repeated ids (duplicates). */
static size_t generate(gen_event *g, uint64_t seed)
{
  static const char *const types[] = {"viewinit",    "playrequest",     "play",   "playing",
                                      "pause",       "seeking",         "seeked", "rebufferstart",
                                      "rebufferend", "renditionchange", "error",  "ended",
                                      "heartbeat"};
  int64_t clockv[GEN_VIEWS] = {0};
  rng_state = seed;
  size_t n = 0;
  for (int i = 0; i < GEN_EVENTS; i++) {
    gen_event *e = &g[n];
    if (n > 0 && rnd(100) < 3) { /* resend an earlier event */
      *e = g[rnd((uint32_t)n)];
      n++;
      continue;
    }
    e->view = (int)rnd(GEN_VIEWS);
    uint32_t r = rnd(100);
    int ti = r < 35 ? 12 : r < 99 ? (int)rnd(11) : 11; /* ended 1 % */
    if (e->view == 0 && ti >= 1 && ti <= 3)
      ti = 12; /* view 0 never starts: start_ts stays its first event's */
    e->type = types[ti];
    uint32_t step = rnd(4) == 0 ? 0 : rnd(5000);
    clockv[e->view] += step;
    e->t = clockv[e->view];
    if (rnd(10) == 0) /* late: earlier than what the view has seen */
      e->t -= (int64_t)rnd(20000) + 1;
    e->extra[0] = 0;
    if (ti == 10)
      snprintf(e->extra, sizeof e->extra, "\"error\":{\"code\":%u,\"message\":\"m\",\"fatal\":%s}",
               rnd(9) + 1, rnd(8) == 0 ? "true" : "false");
    else if (rnd(3) == 0)
      snprintf(e->extra, sizeof e->extra, "\"br\":%u", (rnd(8) + 1) * 500);
    e->id = ++id_counter;
    n++;
  }
  return n;
}

/* The sender of a generated event: one in five is another account's (same view ids), so
 * some views are owned by acct2 and leave acct1's events out. A resend keeps its sender. */
static const char *gen_account(const gen_event *e)
{
  return e->id % 5 == 0 ? "acct2" : "acct1";
}

static void send_to(stream_events *to, const char *account)
{
  batch_len += (size_t)snprintf(batch + batch_len, sizeof batch - batch_len, "]}");
  int rc = stream_events_ingest(to, NULL, batch, batch_len, STREAM_EVENTS_JSON, 0, account, "");
  ck_assert_msg(rc == STREAM_OK, "ingest: %s", stream_error_last()->message);
}

static void add_gen(const gen_event *e, uint64_t seed)
{
  char view_id[32];
  snprintf(view_id, sizeof view_id, "s%llu-v%d", (unsigned long long)seed, e->view);
  int save = id_counter;
  id_counter = e->id - 1; /* add() numbers the id */
  add(view_id, "t1", e->view % 2 ? "tv" : "web", e->type, e->t, e->extra);
  id_counter = save;
}

#define CK_FIELD_EQ(f) ck_assert_msg(a->f == b->f, "view %s: " #f " differs", a->view_id)

static void check_same_view(const stream_events_view *a, const stream_events_view *b)
{
  ck_assert_str_eq(a->view_id, b->view_id);
  ck_assert_str_eq(a->account_id, b->account_id);
  ck_assert_str_eq(a->title_id, b->title_id);
  ck_assert_str_eq(a->device_id, b->device_id);
  ck_assert_str_eq(a->day, b->day);
  CK_FIELD_EQ(start_ts);
  CK_FIELD_EQ(last_ts);
  CK_FIELD_EQ(last_seq);
  CK_FIELD_EQ(events);
  CK_FIELD_EQ(requested);
  CK_FIELD_EQ(started);
  CK_FIELD_EQ(failed);
  CK_FIELD_EQ(start_failed);
  CK_FIELD_EQ(ended);
  CK_FIELD_EQ(exited_before_start);
  CK_FIELD_EQ(error_code);
  CK_FIELD_EQ(startup_ms);
  CK_FIELD_EQ(watch_ms);
  CK_FIELD_EQ(playing_ms);
  CK_FIELD_EQ(rebuffer_count);
  CK_FIELD_EQ(rebuffer_ms);
  CK_FIELD_EQ(peak_br);
  CK_FIELD_EQ(br_ms);
  CK_FIELD_EQ(br_sum);
  CK_FIELD_EQ(rebuffer_pct);
  CK_FIELD_EQ(rebuffer_per_min);
  CK_FIELD_EQ(avg_br);
}

/* Property: random sequences ingested in many small batches, with a consumer run after each
 * (mostly the incremental path, a rebuild after each late event or event of another account),
 * give exactly the records of one run over everything (a second store fed all events at once:
 * every view rebuilt from its full event list by events__qoe_compute), also in which events
 * each view leaves out as another account's. */
START_TEST(test_incremental_matches_full_rebuild)
{
  char fullpath[300];
  snprintf(fullpath, sizeof fullpath, "%s/full.sqlite", tmpdir);
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  char uri[512];
  so.path = test_store_path(uri, sizeof uri, fullpath);
  stream_store *full_store = NULL;
  ck_assert_int_eq(stream_store_open(&full_store, &so), STREAM_OK);
  stream_events_options o = STREAM_EVENTS_OPTIONS_INIT;
  o.store = full_store;
  o.now_ms = fake_clock;
  o.now_userdata = &clock_ms;
  stream_events *full = NULL;
  ck_assert_int_eq(stream_events_new(&full, &o), STREAM_OK);
  static gen_event g[GEN_EVENTS];
  int64_t folded = 0;
  for (uint64_t seed = 1; seed <= 3; seed++) {
    size_t n = generate(g, seed);
    for (size_t i = 0; i < n;) { /* small batches of one sender, a consumer run after each */
      size_t k = 1 + rnd(8);
      const char *account = gen_account(&g[i]);
      begin();
      for (size_t j = 0; j < k && i < n && gen_account(&g[i]) == account; j++, i++)
        add_gen(&g[i], seed);
      send_to(events, account);
      int64_t ne = 0;
      ck_assert_int_eq(stream_events_qoe_run(events, &ne, NULL), STREAM_OK);
      folded += ne;
    }
    for (size_t i = 0; i < n;) { /* the same events, same order, one consumer run */
      const char *account = gen_account(&g[i]);
      begin();
      for (size_t j = 0; j < 100 && i < n && gen_account(&g[i]) == account; j++, i++)
        add_gen(&g[i], seed);
      send_to(full, account);
    }
  }
  int64_t ne = 0, nv = 0;
  ck_assert_int_eq(stream_events_qoe_run(full, &ne, &nv), STREAM_OK);
  ck_assert_int_eq(ne, folded);
  ck_assert_int_eq(nv, 3 * GEN_VIEWS); /* one batch: each view rebuilt once */
  for (int k = 0; k < 2; k++) {
    clock_ms = T0 + (k ? INT64_C(48) * 3600 * 1000 : 0); /* EBVS before and after the timeout */
    int64_t real_views = 0; /* records of a player asked to play, or that played or failed */
    for (uint64_t seed = 1; seed <= 3; seed++)
      for (int i = 0; i < GEN_VIEWS; i++) {
        char id[32];
        snprintf(id, sizeof id, "s%llu-v%d", (unsigned long long)seed, i);
        stream_events_view a, b;
        ck_assert_int_eq(stream_events_view_get(events, &a, id), STREAM_OK);
        ck_assert_int_eq(stream_events_view_get(full, &b, id), STREAM_OK);
        check_same_view(&a, &b);
        real_views += a.requested || a.started || a.failed;
      }
    stream_events_qoe_summary sa, sb;
    ck_assert_int_eq(stream_events_qoe_stats(events, &sa, NULL, NULL, NULL), STREAM_OK);
    ck_assert_int_eq(stream_events_qoe_stats(full, &sb, NULL, NULL, NULL), STREAM_OK);
    ck_assert_int_eq(sa.views, real_views);
    ck_assert_int_eq(sa.views, sb.views);
    ck_assert_int_eq(sa.watch_ms, sb.watch_ms);
    ck_assert_int_eq(sa.exits_before_start, sb.exits_before_start);
    ck_assert_int_eq(sa.startup_ms_p95, sb.startup_ms_p95);
  }
  stream_events_free(full);
  stream_store_close(full_store);
}
END_TEST

/* The batch being built, closed and ingested as `account` (profile `profile`) into both `a` and
 * `b`: the same event ids in the same order, so both logs get the same seqs. */
static void send_twice(stream_events *a, stream_events *b, const char *account, const char *profile)
{
  batch_len += (size_t)snprintf(batch + batch_len, sizeof batch - batch_len, "]}");
  stream_events *to[2] = {a, b};
  for (int i = 0; i < 2; i++) {
    int rc = stream_events_ingest(to[i], NULL, batch, batch_len, STREAM_EVENTS_JSON, 0, account,
                                  profile);
    ck_assert_msg(rc == STREAM_OK, "ingest: %s", stream_error_last()->message);
  }
}

/* Schema migration 16 repairs the records an older build merged from several accounts' events.
 * The store is turned back into schema version 15 holding what such a build wrote: view vm is
 * acct1's view A with acct2 (profile p2) sending, in order after acct1's heartbeat, a heartbeat
 * at 9000 kbit/s, a fatal error 5 and an end, folded in: startup 2000, 10000 + 2000 ms playing
 * at 3000 and 1000 ms at 9000 until the error, so watch 15000, playing 13000, failed, profile
 * p2, done (state 7) at 15000; acct1's later events only counted (13 events). vo is view A of
 * acct1 alone, with a recognizable updated_at. After the migration the next run, with no new
 * event, rebuilds vm from the log: the record of a fresh store fed the same events; vo is not
 * rewritten. Later events of vm fold on the repaired accumulator. */
START_TEST(test_migration_rebuilds_merged_views)
{
  char freshpath[300], uri[512];
  snprintf(freshpath, sizeof freshpath, "%s/fresh.sqlite", tmpdir);
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  so.path = test_store_path(uri, sizeof uri, freshpath);
  stream_store *fresh_store = NULL;
  ck_assert_int_eq(stream_store_open(&fresh_store, &so), STREAM_OK);
  stream_events_options o = STREAM_EVENTS_OPTIONS_INIT;
  o.store = fresh_store;
  o.now_ms = fake_clock;
  o.now_userdata = &clock_ms;
  stream_events *fresh = NULL;
  ck_assert_int_eq(stream_events_new(&fresh, &o), STREAM_OK);
  begin();
  add_view_a_part("vm", 0, 3);
  send_twice(events, fresh, "acct1", "");
  begin();
  add("vm", "t9", "dev9", "heartbeat", 14000, "\"br\":9000");
  add("vm", "t9", "dev9", "error", 15000, FATAL);
  add("vm", "t9", "dev9", "ended", 16000, "");
  send_twice(events, fresh, "acct2", "p2");
  begin();
  add_view_a_part("vm", 3, 10);
  add_view_a("vo");
  send_twice(events, fresh, "acct1", "");
  run_qoe();
  int version = 0, latest = 0;
  ck_assert_int_eq(stream_store_schema_version(&latest, store), STREAM_OK);
  ck_assert_int_ge(latest, 16); /* later migrations run again too: they must not care */
  stream_events_free(events);
  events = NULL;
  stream_store_close(store);
  store = NULL;
  char sql[2048];
  snprintf(sql, sizeof sql,
           "DROP TABLE qoe_rebuild; DROP INDEX event_log_view_end;"
           "DELETE FROM schema_version WHERE version > 15;"
           "UPDATE qoe_views SET profile_id = 'p2', events = 13, failed = 1, error_code = 5,"
           " watch_ms = 15000, playing_ms = 13000, rebuffer_count = 0, rebuffer_ms = 0,"
           " peak_br = 9000, br_ms = 13000, br_sum = 45000000 WHERE view_id = 'vm';"
           "UPDATE qoe_state SET state = 7, pre_seek = 2, seek_stall = 0, have_start = 1,"
           " prev = %lld, br = 9000, first_ts = %lld WHERE view_id = 'vm';"
           "UPDATE qoe_views SET updated_at = 12345 WHERE view_id = 'vo';",
           (long long)(T0 + 15000), (long long)T0);
  test_store_raw_exec(dbpath, sql);
  stream_store_options ro = STREAM_STORE_OPTIONS_INIT;
  ro.path = test_store_path(uri, sizeof uri, dbpath);
  ck_assert_int_eq(stream_store_open(&store, &ro), STREAM_OK); /* migration 16 */
  o.store = store;
  ck_assert_int_eq(stream_events_new(&events, &o), STREAM_OK);
  ck_assert_int_eq(stream_store_schema_version(&version, store), STREAM_OK);
  ck_assert_int_eq(version, latest);
  ck_assert_int_eq(test_store_raw_int(dbpath,
                                      test_store_is_pg()
                                          ? "SELECT count(*) FROM pg_indexes WHERE indexname = ?"
                                          : "SELECT count(*) FROM sqlite_master WHERE name = ?",
                                      "event_log_view_end"),
                   1);
  /* exactly vm marked, its accumulator gone; vo's kept */
  ck_assert_int_eq(
      test_store_raw_int(dbpath, "SELECT count(*) FROM qoe_rebuild WHERE view_id = ?", "vm"), 1);
  ck_assert_int_eq(test_store_raw_int(dbpath, "SELECT count(*) FROM qoe_rebuild", NULL), 1);
  ck_assert_int_eq(
      test_store_raw_int(dbpath, "SELECT count(*) FROM qoe_state WHERE view_id = ?", "vm"), 0);
  ck_assert_int_eq(
      test_store_raw_int(dbpath, "SELECT count(*) FROM qoe_state WHERE view_id = ?", "vo"), 1);
  stream_events_view v = view("vm");
  ck_assert_int_eq(v.failed, 1); /* the merged record, until the run */
  stream_events_qoe_run_result r = run_qoe_counted();
  ck_assert_int_eq(stream_events_qoe_run(fresh, NULL, NULL), STREAM_OK);
  stream_events_view want;
  ck_assert_int_eq(stream_events_view_get(fresh, &want, "vm"), STREAM_OK);
  v = view("vm");
  check_same_view(&v, &want);
  ck_assert_str_eq(v.profile_id, want.profile_id);
  check_view_a(&v);
  ck_assert_int_eq(r.events, 0);
  ck_assert_int_eq(r.views, 1);
  v = view("vo");
  check_view_a(&v);
  ck_assert_int_eq(
      test_store_raw_int(dbpath, "SELECT updated_at FROM qoe_views WHERE view_id = ?", "vo"),
      12345);
  ck_assert_int_eq(test_store_raw_int(dbpath, "SELECT count(*) FROM qoe_rebuild", NULL), 0);
  r = run_qoe_counted(); /* nothing left to repair */
  ck_assert_int_eq(r.views, 0);
  /* acct1's heartbeat after the end: folded on the repaired state, which ignores it */
  begin();
  add("vm", "t1", "tv1", "heartbeat", 120000, "");
  send_twice(events, fresh, "acct1", "");
  run_qoe();
  ck_assert_int_eq(stream_events_qoe_run(fresh, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(stream_events_view_get(fresh, &want, "vm"), STREAM_OK);
  v = view("vm");
  check_same_view(&v, &want);
  ck_assert_int_eq(v.events, 11);
  ck_assert_int_eq(v.failed, 0);
  stream_events_free(fresh);
  stream_store_close(fresh_store);
}
END_TEST

/* ---- the repair pass: a failing view, the marks' cost ------------------------- */

/* realloc is interposed (-Wl,--wrap=realloc: this executable's objects and the static
 * libstream; not libpq's nor SQLite's): while realloc_cap is set, growing a block beyond it
 * fails, as on a host without the memory for a giant view's events (the store grows a view's
 * event array by doubling it with realloc). */
void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
static size_t realloc_cap;
static int realloc_refused;

void *__wrap_realloc(void *p, size_t n)
{
  if (realloc_cap && n > realloc_cap) {
    realloc_refused++;
    return NULL;
  }
  return __real_realloc(p, n);
}

static int repair_warnings;

static void count_repair_warning(int level, const char *module, const char *message, void *ud)
{
  (void)ud;
  if (level == STREAM_LOG_WARN && strcmp(module, "events") == 0 && strstr(message, "view vg") &&
      strstr(message, "out of memory"))
    repair_warnings++;
}

/* The views `ids` marked as migration 16 marks them (a mark, no accumulator), their records
 * spoiled (watch_ms 1) so that a rebuild shows. */
static void mark_views(const char *ids)
{
  char sql[1024];
  snprintf(sql, sizeof sql,
           "INSERT INTO qoe_rebuild (view_id) SELECT view_id FROM qoe_views WHERE view_id IN (%s);"
           "DELETE FROM qoe_state WHERE view_id IN (%s);"
           "UPDATE qoe_views SET watch_ms = 1 WHERE view_id IN (%s);",
           ids, ids, ids);
  test_store_raw_exec(dbpath, sql);
}

static int64_t marks(void)
{
  return test_store_raw_int(dbpath, "SELECT count(*) FROM qoe_rebuild", NULL);
}

/* A marked view that cannot be rebuilt (vg: 300 events, whose array outgrows the memory the
 * test leaves, realloc_cap) does not stop the run: the other marked view of its page (vm) is
 * rebuilt, the batch after the checkpoint (new view vn) runs, the run returns STREAM_OK with
 * the failure counted and logged once, and vg's mark stays until a run that can rebuild it.
 * Without the fix the run returns STREAM_ENOMEM before any batch, at every run. */
START_TEST(test_repair_failure_does_not_stop_batches)
{
  begin();
  add("vg", "t1", "tv1", "playrequest", 0, "");
  add("vg", "t1", "tv1", "playing", 1000, "\"br\":3000");
  for (int i = 2; i < 300; i++)
    add("vg", "t1", "tv1", "heartbeat", i * 1000, "\"br\":3000");
  add_view_a("vm");
  send();
  run_qoe();
  stream_events_view g = view("vg");
  ck_assert_int_eq(g.events, 300);
  mark_views("'vg', 'vm'");
  ck_assert_int_eq(marks(), 2);
  begin();
  add_view_a("vn");
  send();
  int64_t last = 0;
  ck_assert_int_eq(stream_events_checkpoint(events, &last, STREAM_EVENTS_QOE_CONSUMER), STREAM_OK);
  ck_assert_int_eq(last, 310);

  stream_log_set_callback(count_repair_warning, NULL, STREAM_LOG_WARN);
  realloc_cap = 200 * sizeof(stream_event); /* vg's 256, not the others' 64 */
  stream_events_qoe_run_result r = run_qoe_counted();
  realloc_cap = 0;
  ck_assert_int_gt(realloc_refused, 0);
  ck_assert_int_eq(r.repair_failed, 1);
  ck_assert_int_eq(repair_warnings, 1);
  ck_assert_int_eq(r.events, 10); /* the batch ran */
  ck_assert_int_eq(r.views, 2);   /* vm repaired, vn */
  int64_t cp = 0;
  ck_assert_int_eq(stream_events_checkpoint(events, &cp, STREAM_EVENTS_QOE_CONSUMER), STREAM_OK);
  ck_assert_int_eq(cp, 320);
  stream_events_view v = view("vn");
  check_view_a(&v);
  v = view("vm");
  check_view_a(&v);
  ck_assert_int_eq(
      test_store_raw_int(dbpath, "SELECT count(*) FROM qoe_rebuild WHERE view_id = ?", "vg"), 1);
  ck_assert_int_eq(marks(), 1);
  v = view("vg");
  ck_assert_int_eq(v.watch_ms, 1); /* not rebuilt yet */

  r = run_qoe_counted(); /* memory back: vg is rebuilt */
  stream_log_set_callback(NULL, NULL, STREAM_LOG_OFF);
  ck_assert_int_eq(r.repair_failed, 0);
  ck_assert_int_eq(r.views, 1);
  ck_assert_int_eq(r.events, 0);
  ck_assert_int_eq(marks(), 0);
  v = view("vg");
  ck_assert_int_eq(v.watch_ms, g.watch_ms);
  ck_assert_int_eq(v.events, 300);
  ck_assert_int_eq(repair_warnings, 1);
}
END_TEST

/* A commit deletes marks only while there are marks (ev_views_commit): on PostgreSQL a
 * statement-level trigger (which fires even when no row matches) counts the DELETEs on
 * qoe_rebuild. None while nothing is marked (without the fix: one per stored view); the marked
 * view's mark goes with its rebuild, and the records are the same as ever. */
START_TEST(test_commit_deletes_marks_only_when_marked)
{
  bool pg = test_store_is_pg();
  if (pg)
    test_store_raw_exec(dbpath,
                        "CREATE TABLE mark_deletes (n INTEGER NOT NULL);"
                        "INSERT INTO mark_deletes VALUES (0);"
                        "CREATE FUNCTION count_mark_deletes() RETURNS trigger LANGUAGE plpgsql AS"
                        " $$ BEGIN UPDATE mark_deletes SET n = n + 1; RETURN NULL; END $$;"
                        "CREATE TRIGGER count_mark_deletes BEFORE DELETE ON qoe_rebuild"
                        " FOR EACH STATEMENT EXECUTE FUNCTION count_mark_deletes();");
  begin();
  add_view_a("va");
  add_view_a("vb");
  send();
  run_qoe();
  if (pg)
    ck_assert_int_eq(test_store_raw_int(dbpath, "SELECT n FROM mark_deletes", NULL), 0);
  mark_views("'va'");
  begin();
  add_view_a("vc");
  send();
  stream_events_qoe_run_result r = run_qoe_counted();
  ck_assert_int_eq(r.views, 2); /* va repaired, vc */
  ck_assert_int_eq(r.repair_failed, 0);
  ck_assert_int_eq(marks(), 0);
  int64_t deletes = 0;
  if (pg) {
    deletes = test_store_raw_int(dbpath, "SELECT n FROM mark_deletes", NULL);
    ck_assert_int_gt(deletes, 0); /* while va was marked */
  }
  begin();
  add_view_a("vd");
  add("vb", "t1", "tv1", "heartbeat", 120000, "");
  send();
  r = run_qoe_counted();
  ck_assert_int_eq(r.views, 2);
  if (pg)
    ck_assert_int_eq(test_store_raw_int(dbpath, "SELECT n FROM mark_deletes", NULL), deletes);
  const char *ids[] = {"va", "vc", "vd"};
  for (int i = 0; i < 3; i++) {
    stream_events_view v = view(ids[i]);
    check_view_a(&v);
  }
  stream_events_view v = view("vb"); /* the heartbeat after the end: counted, nothing else */
  ck_assert_int_eq(v.events, 11);
  ck_assert_int_eq(v.watch_ms, 50000);
  ck_assert_int_eq(v.last_ts, T0 + 120000);
}
END_TEST

/* Stats and the view export stream the store's records one at a time: 1000
 * records written straight into qoe_views (as the consumer stores them), with
 * startup_ms a permutation of 1..1000 (v = 337 i mod 1000 + 1) and rebuffering
 * v * 10 ms of 100 000 ms watched (v / 100 %). Nearest rank over 1000 values:
 * p50 is the 500th smallest (500), p95 the 950th (950); over title "a" (even
 * i: v = 337 i mod 1000 + 1 takes every odd value once, 500 views) p50 is the
 * 250th odd value (499) and p95 the 475th (949). */
START_TEST(test_stats_and_export_many_views)
{
  /* One transaction of 1000 INSERTs (SQL both dialects read the same way). */
  size_t cap = 512 * 1000 + 64, len = 0;
  char *sql = malloc(cap);
  ck_assert_ptr_nonnull(sql);
  len += (size_t)snprintf(sql + len, cap - len, "BEGIN;");
  for (int i = 0; i < 1000; i++) {
    int v = (337 * i) % 1000 + 1;
    len += (size_t)snprintf(
        sql + len, cap - len,
        "INSERT INTO qoe_views (view_id, title_id, device_id, day, start_ts, last_ts, last_seq, "
        "events, requested, started, failed, start_failed, ended, startup_ms, watch_ms, "
        "playing_ms, rebuffer_count, rebuffer_ms, peak_br, br_ms, br_sum, updated_at) VALUES "
        "('many-%04d', '%s', 'tv', '2023-11-14', %lld, %lld, %d, 3, 1, 1, 0, 0, 1, %d, 100000, "
        "90000, 1, %d, 0, 0, 0, %lld);",
        i, i % 2 ? "b" : "a", (long long)(T0 + i), (long long)(T0 + i), i + 1, v, v * 10,
        (long long)(T0 + i));
    ck_assert_uint_lt(len, cap);
  }
  len += (size_t)snprintf(sql + len, cap - len, "COMMIT;");
  ck_assert_uint_lt(len, cap);
  test_store_raw_exec(dbpath, sql);
  free(sql);

  stream_events_qoe_summary s;
  ck_assert_int_eq(stream_events_qoe_stats(events, &s, NULL, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(s.views, 1000);
  ck_assert_int_eq(s.started, 1000);
  ck_assert_int_eq(s.watch_ms, INT64_C(100000000));
  ck_assert_int_eq(s.rebuffer_count, 1000);
  ck_assert_int_eq(s.rebuffer_ms, INT64_C(5005000)); /* 10 * (1 + ... + 1000) */
  ck_assert_int_eq(s.startup_ms_p50, 500);
  ck_assert_int_eq(s.startup_ms_p95, 950);
  ck_assert_double_eq_tol(s.rebuffer_pct_p50, 5.0, 1e-9);
  ck_assert_double_eq_tol(s.rebuffer_pct_p95, 9.5, 1e-9);
  ck_assert_int_eq(stream_events_qoe_stats(events, &s, "a", "2023-11-14", "tv"), STREAM_OK);
  ck_assert_int_eq(s.views, 500);
  ck_assert_int_eq(s.startup_ms_p50, 499);
  ck_assert_int_eq(s.startup_ms_p95, 949);

  char path[600];
  snprintf(path, sizeof path, "%s/many.csv", outdir);
  int64_t n = 0;
  ck_assert_int_eq(stream_events_export_views(events, &n, path, STREAM_EVENTS_EXPORT_CSV, NULL),
                   STREAM_OK);
  ck_assert_int_eq(n, 1000);
  const char *text = slurp(path);
  int lines = 0;
  for (const char *q = text; (q = strstr(q, "\r\n")) != NULL; q += 2)
    lines++;
  ck_assert_int_eq(lines, 1001); /* header + one row per view */
  /* rows in start_ts order: the first and the last */
  ck_assert_ptr_nonnull(strstr(text, "\r\nmany-0000,"));
  ck_assert_ptr_nonnull(strstr(text, "\r\nmany-0999,"));
  ck_assert(strstr(text, "\r\nmany-0000,") < strstr(text, "\r\nmany-0999,"));
  /* a directory that does not exist: an error, no file */
  snprintf(path, sizeof path, "%s/no-such-dir/many.csv", outdir);
  ck_assert_int_eq(stream_events_export_views(events, &n, path, STREAM_EVENTS_EXPORT_CSV, NULL),
                   STREAM_EIO);
  ck_assert_int_eq(access(path, F_OK), -1);
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
  tcase_add_test(tc, test_other_account_in_order);
  tcase_add_test(tc, test_other_account_out_of_order);
  tcase_add_test(tc, test_other_account_after_close);
  tcase_add_test(tc, test_failures_and_ebvs);
  tcase_add_test(tc, test_view_timeout_gap);
  tcase_add_test(tc, test_pause_before_first_frame);
  tcase_add_test(tc, test_seek_while_paused);
  tcase_add_test(tc, test_record_without_request_is_no_view);
  tcase_add_test(tc, test_rebuffer_over_started_views);
  tcase_add_test(tc, test_lag_counts_events);
  tcase_add_test(tc, test_percentiles_and_filters);
  tcase_add_test(tc, test_concurrent);
  tcase_add_test(tc, test_concurrent_per_account);
  tcase_add_test(tc, test_export_resume);
  tcase_add_test(tc, test_export_csv_quoting_and_schema);
  tcase_add_test(tc, test_export_csv_injection);
  tcase_add_test(tc, test_export_excludes_concurrent_run);
  tcase_add_test(tc, test_export_removes_stale_tmp);
  tcase_add_test(tc, test_incremental_fast_path);
  tcase_add_test(tc, test_incremental_every_cut);
  tcase_add_test(tc, test_incremental_matches_full_rebuild);
  tcase_add_test(tc, test_migration_rebuilds_merged_views);
  tcase_add_test(tc, test_repair_failure_does_not_stop_batches);
  tcase_add_test(tc, test_commit_deletes_marks_only_when_marked);
  tcase_add_test(tc, test_stats_and_export_many_views);
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
