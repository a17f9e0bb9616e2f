/*
 * streamctl stats / export: player analytics of a streamd store, opened
 * directly (SQLite WAL lets this run while streamd serves). `stats` runs the
 * QoE consumer to catch up with the event log, then prints the aggregates
 * (optionally of one title, UTC day or device), concurrent viewers and,
 * with --view, one view's record. `export` writes NDJSON or CSV batch files
 * of the event log after a consumer's checkpoint (resumable), or with
 * --views a snapshot of the QoE view records. Without the server feature the
 * verbs only say so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "streamctl.h"

static const cli_opt stats_opts[] = {
    {"db", 1, "PATH", "the store (e.g. DATA_DIR/streamd.db); or --data-dir"},
    {"data-dir", 1, "DIR", "streamd data directory (the store is DIR/streamd.db)"},
    {"title", 1, "ID", "only views of this title"},
    {"day", 1, "YYYY-MM-DD", "only views that started on this UTC day"},
    {"device", 1, "ID", "only views of this device"},
    {"view", 1, "ID", "print this view's QoE record instead"},
    {"json", 0, NULL, "print JSON"},
    {NULL, 0, NULL, NULL}};

static const cli_opt export_opts[] = {
    {"db", 1, "PATH", "the store (e.g. DATA_DIR/streamd.db); or --data-dir"},
    {"data-dir", 1, "DIR", "streamd data directory (the store is DIR/streamd.db)"},
    {"format", 1, "F", "ndjson (default) or csv"},
    {"out", 1, "DIR", "directory for the batch files (created if missing)"},
    {"consumer", 1, "NAME", "checkpoint name (default \"export\"): one per destination"},
    {"batch", 1, "N", "events per file (1..10000, default 10000)"},
    {"views", 0, NULL, "write the QoE view records (of --day, else all) to DIR/views-*.F"},
    {"day", 1, "YYYY-MM-DD", "--views: only views that started on this UTC day"},
    {NULL, 0, NULL, NULL}};

#if STREAM_HAVE_SERVER

typedef struct ev_ctx {
  stream_store *store;
  stream_events *events;
} ev_ctx;

static void close_events(ev_ctx *c)
{
  stream_events_free(c->events);
  stream_store_close(c->store);
  memset(c, 0, sizeof *c);
}

static int open_events(const cli_args *a, ev_ctx *c)
{
  memset(c, 0, sizeof *c);
  int rc = open_daemon_store(a, &c->store);
  if (rc)
    return rc;
  stream_events_options eo = STREAM_EVENTS_OPTIONS_INIT;
  eo.store = c->store;
  rc = stream_events_new(&c->events, &eo);
  if (rc) {
    close_events(c);
    return lib_error(a, "cannot open the event log", rc);
  }
  return 0;
}

/* Catch the QoE consumer up (result version 2). A run that left events out of their view
 * (another account's under its view id) or failed to repair views marked by schema migration
 * 16 does not fail, and the library's warnings go nowhere here (no log sink): say so on
 * stderr, as streamd counts only its own runs (streamd_qoe_foreign_events_total,
 * streamd_qoe_repair_failed_total). ECONFLICT: streamd's consumer ran at the same time and
 * did the work. 0 or EXIT_FAIL after printing why. */
static int qoe_catch_up(const cli_args *a, stream_events *ev, stream_events_qoe_run_result *r)
{
  *r = (stream_events_qoe_run_result)STREAM_EVENTS_QOE_RUN_RESULT_INIT;
  int rc = stream_events_qoe_run_ex(ev, r);
  if (r->foreign_events > 0)
    fprintf(stderr,
            "streamctl %s: QoE consumer: %lld events left out of their view: another "
            "account's view id\n",
            a->verb->name, (long long)r->foreign_events);
  if (r->repair_failed > 0)
    fprintf(stderr,
            "streamctl %s: QoE consumer: %lld failed repairs of views marked by schema "
            "migration 16 (marks kept for the next run; streamd's log names them)\n",
            a->verb->name, (long long)r->repair_failed);
  if (rc && rc != STREAM_ECONFLICT)
    return lib_error(a, "QoE consumer", rc);
  return 0;
}

static void print_ms(const char *label, int64_t ms)
{
  if (ms < 0)
    printf("%-22s -\n", label);
  else
    printf("%-22s %.3f s\n", label, (double)ms / 1000.0);
}

static int print_view(const cli_args *a, stream_events *ev, const char *id)
{
  stream_events_view v;
  int rc = stream_events_view_get(ev, &v, id);
  if (rc)
    return lib_error(a, "view", rc);
  if (cli_has(a, "json")) {
    printf("{\"view_id\":\"%s\",\"title_id\":\"%s\",\"device_id\":\"%s\",\"day\":\"%s\","
           "\"started\":%s,\"failed\":%s,\"exited_before_start\":%s,\"startup_ms\":%lld,"
           "\"watch_ms\":%lld,\"playing_ms\":%lld,\"rebuffer_count\":%lld,\"rebuffer_ms\":%lld,"
           "\"rebuffer_pct\":%.6f,\"rebuffer_per_min\":%.6f,\"avg_br\":%.3f,\"peak_br\":%lld}\n",
           v.view_id, v.title_id, v.device_id, v.day, v.started ? "true" : "false",
           v.failed ? "true" : "false", v.exited_before_start ? "true" : "false",
           (long long)v.startup_ms, (long long)v.watch_ms, (long long)v.playing_ms,
           (long long)v.rebuffer_count, (long long)v.rebuffer_ms, v.rebuffer_pct,
           v.rebuffer_per_min, v.avg_br, (long long)v.peak_br);
    return EXIT_OK;
  }
  printf("view %s (title %s, device %s, %s)\n", v.view_id, v.title_id[0] ? v.title_id : "-",
         v.device_id[0] ? v.device_id : "-", v.day);
  printf("%-22s %s\n", "outcome",
         v.failed                ? (v.start_failed ? "video start failure" : "playback failure")
         : v.exited_before_start ? "exit before video start"
         : v.started             ? (v.ended ? "played, ended" : "played")
                                 : "not started");
  print_ms("startup time", v.startup_ms);
  print_ms("watch time", v.watch_ms);
  print_ms("playing time", v.playing_ms);
  printf("%-22s %lld (%.3f s, %.2f %%, %.2f /min)\n", "rebuffering", (long long)v.rebuffer_count,
         (double)v.rebuffer_ms / 1000.0, v.rebuffer_pct, v.rebuffer_per_min);
  printf("%-22s %.0f kbit/s (peak %lld)\n", "average bitrate", v.avg_br, (long long)v.peak_br);
  return EXIT_OK;
}

static int run_stats(const cli_args *a)
{
  ev_ctx c;
  int ret = open_events(a, &c);
  if (ret)
    return ret;
  int64_t live = 0;
  stream_events_qoe_run_result run;
  ret = qoe_catch_up(a, c.events, &run);
  if (ret) {
    close_events(&c);
    return ret;
  }
  if (cli_get(a, "view")) {
    ret = print_view(a, c.events, cli_get(a, "view"));
    close_events(&c);
    return ret;
  }
  stream_events_qoe_summary s;
  int rc = stream_events_qoe_stats(c.events, &s, cli_get(a, "title"), cli_get(a, "day"),
                                   cli_get(a, "device"));
  if (rc == STREAM_OK)
    rc = stream_events_concurrent(c.events, &live);
  close_events(&c);
  if (rc)
    return lib_error(a, "stats", rc);
  if (cli_has(a, "json")) {
    printf("{\"views\":%lld,\"started\":%lld,\"failures\":%lld,\"start_failures\":%lld,"
           "\"exits_before_start\":%lld,\"failure_pct\":%.6f,\"ebvs_pct\":%.6f,"
           "\"startup_ms_p50\":%lld,\"startup_ms_p95\":%lld,\"watch_ms\":%lld,"
           "\"rebuffer_pct\":%.6f,\"rebuffer_per_min\":%.6f,\"rebuffer_pct_p50\":%.6f,"
           "\"rebuffer_pct_p95\":%.6f,\"avg_br\":%.3f,\"concurrent_viewers\":%lld,"
           "\"qoe_run\":{\"events\":%lld,\"views\":%lld,\"foreign_events\":%lld,"
           "\"repair_failed\":%lld}}\n",
           (long long)s.views, (long long)s.started, (long long)s.failures,
           (long long)s.start_failures, (long long)s.exits_before_start, s.failure_pct, s.ebvs_pct,
           (long long)s.startup_ms_p50, (long long)s.startup_ms_p95, (long long)s.watch_ms,
           s.rebuffer_pct, s.rebuffer_per_min, s.rebuffer_pct_p50, s.rebuffer_pct_p95, s.avg_br,
           (long long)live, (long long)run.events, (long long)run.views,
           (long long)run.foreign_events, (long long)run.repair_failed);
    return EXIT_OK;
  }
  printf("%-22s %lld (%lld started)\n", "views", (long long)s.views, (long long)s.started);
  printf("%-22s %lld\n", "concurrent viewers", (long long)live);
  print_ms("startup time p50", s.startup_ms_p50);
  print_ms("startup time p95", s.startup_ms_p95);
  printf("%-22s %.2f %% (%lld views; %lld before the first frame)\n", "playback failures",
         s.failure_pct, (long long)s.failures, (long long)s.start_failures);
  printf("%-22s %.2f %% (%lld views)\n", "exits before start", s.ebvs_pct,
         (long long)s.exits_before_start);
  print_ms("watch time", s.watch_ms);
  printf("%-22s %.2f %% (p50 %.2f %%, p95 %.2f %%), %.2f /min\n", "rebuffering", s.rebuffer_pct,
         s.rebuffer_pct_p50, s.rebuffer_pct_p95, s.rebuffer_per_min);
  printf("%-22s %.0f kbit/s\n", "average bitrate", s.avg_br);
  return EXIT_OK;
}

static int run_export(const cli_args *a)
{
  const char *out = cli_get(a, "out"), *fmt = cli_get(a, "format");
  if (!out || !*out)
    return usage_error(a, "--out DIR is required");
  int format = STREAM_EVENTS_EXPORT_NDJSON;
  if (fmt && strcmp(fmt, "csv") == 0)
    format = STREAM_EVENTS_EXPORT_CSV;
  else if (fmt && strcmp(fmt, "ndjson") != 0)
    return usage_error(a, "--format must be ndjson or csv");
  uint64_t batch = 0;
  if (cli_get(a, "batch") &&
      (parse_u64(cli_get(a, "batch"), STREAM_EVENTS_READ_MAX, &batch) != 0 || batch == 0))
    return usage_error(a, "--batch must be 1..%d", STREAM_EVENTS_READ_MAX);
  if (mkdir(out, 0755) != 0) {
    struct stat sb;
    if (stat(out, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
      fprintf(stderr, "streamctl export: cannot create the directory %s\n", out);
      return EXIT_FAIL;
    }
  }
  ev_ctx c;
  int ret = open_events(a, &c);
  if (ret)
    return ret;
  int rc;
  if (cli_has(a, "views")) {
    const char *day = cli_get(a, "day");
    char path[4200];
    snprintf(path, sizeof path, "%s/views-%s.%s", out, day && *day ? day : "all",
             format == STREAM_EVENTS_EXPORT_CSV ? "csv" : "ndjson");
    int64_t n = 0;
    stream_events_qoe_run_result run;
    ret = qoe_catch_up(a, c.events, &run);
    if (ret) {
      close_events(&c);
      return ret;
    }
    rc = stream_events_export_views(c.events, &n, path, format, day);
    close_events(&c);
    if (rc)
      return lib_error(a, "export views", rc);
    printf("%lld views -> %s\n", (long long)n, path);
    return EXIT_OK;
  }
  stream_events_export_options o = STREAM_EVENTS_EXPORT_OPTIONS_INIT;
  o.dir = out;
  o.format = format;
  o.consumer = cli_get(a, "consumer");
  o.batch_max = (unsigned int)batch;
  stream_events_export_result r;
  rc = stream_events_export(c.events, &r, &o);
  close_events(&c);
  if (rc)
    return lib_error(a, "export", rc);
  printf("%lld events in %lld files (seq %lld..%lld) -> %s\n", (long long)r.events,
         (long long)r.files, (long long)r.from_seq + (r.events ? 1 : 0), (long long)r.to_seq, out);
  return EXIT_OK;
}

#else

#define run_stats not_built_server
#define run_export not_built_server

#endif

const cli_verb verb_stats = {
    "stats",
    "QoE of player views: startup, rebuffering, failures, bitrate; concurrent viewers.",
    "stats (--db PATH | --data-dir DIR) [--title ID] [--day YYYY-MM-DD] [--device ID] "
    "[--view ID] [--json]",
    "Opens the store directly (safe while streamd runs: SQLite WAL), runs the QoE\n"
    "consumer to catch up with the event log, and prints the aggregates of the views\n"
    "matching the filters (p50/p95 are exact, nearest-rank), or one view's record.\n"
    "Metric definitions: docs/api/events.md (QoE).",
    stats_opts,
    0,
    0,
    run_stats};

const cli_verb verb_export = {
    "export",
    "Export the event log (or QoE views) as NDJSON or CSV batches for a warehouse.",
    "export (--db PATH | --data-dir DIR) --out DIR [--format ndjson|csv] [--consumer NAME] "
    "[--batch N] [--views [--day YYYY-MM-DD]]",
    "Writes the events after the consumer's checkpoint to DIR as\n"
    "events-<first seq>-<last seq>.ndjson|.csv (columns of\n"
    "docs/api/events-bigquery-schema.json), each file atomically, then advances the\n"
    "checkpoint: run it again (e.g. from cron) to export what came since. A run that\n"
    "was killed resumes without gaps or duplicates. Use one --consumer per destination.\n"
    "--views writes a snapshot of the QoE view records (docs/api/views-bigquery-schema.json).",
    export_opts,
    0,
    0,
    run_export};
