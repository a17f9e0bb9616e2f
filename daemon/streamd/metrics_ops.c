/*
 * The operational families of /metrics (see metrics.h): what the daemon does
 * behind the HTTP layer. Event-ingest outcomes are lock-free counters bumped
 * by routes_events.c, as are the QoE consumer's foreign events by
 * routes_stats.c; jobs, uploads in progress, pending password resets and
 * the QoE lag come from the store, read through the library and cached for
 * CACHE_NS so that however often /metrics is scraped the store answers at
 * most five indexed queries a second (stream_jobs_counts() leaves out the succeeded jobs, which
 * pile up for good; the QoE lag is counted up to QOE_LAG_MAX). /metrics is public: only counts, no
 * ids, and labels from fixed sets (job kinds are capped at KINDS_MAX, the rest summed as "other").
 */
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "ingest.h"
#include "log.h"
#include "origin_cmcd.h"
#include "reader_job.h"
#include "relay_job.h"
#include "reset_queue.h"
#include "stream/common.h"
#include "stream/events.h"
#include "stream/jobs.h"
#include "stream/upload.h"

#define CACHE_NS 1000000000LL
/* streamd_qoe_lag_events counts at most this many events (an index range scan of as many
 * entries, once a second at most): far past any alert threshold (the consumer folds up to
 * STREAM_EVENTS_READ_MAX a batch), and a scrape stays cheap however far behind it is. */
#define QOE_LAG_MAX 100000
/* Distinct job kinds shown; the last slot is "other" (all further kinds). */
#define KINDS_MAX 16

/* The job states counted: every state but succeeded. */
static const int states[] = {STREAM_JOB_QUEUED, STREAM_JOB_RUNNING, STREAM_JOB_FAILED,
                             STREAM_JOB_CANCELED};
#define NSTATES (sizeof(states) / sizeof(states[0]))

static double start_time;

static atomic_ullong events_accepted, events_duplicate;
static atomic_ullong events_rejected[STREAMD_EVENTS_REJECT_COUNT];
static const char *const reject_reasons[STREAMD_EVENTS_REJECT_COUNT] = {
    "invalid", "too_large", "forbidden", "media_type", "error"};
static atomic_ullong qoe_foreign, qoe_repair_failed;

/* What the store said at `at` (CLOCK_MONOTONIC ns); a family whose read failed has ok 0. */
typedef struct snapshot {
  int64_t at;
  int valid;
  int jobs_ok;
  size_t n_kinds;
  char kind[KINDS_MAX][STREAM_JOBS_KIND_SIZE];
  long long jobs[KINDS_MAX][NSTATES];
  int uploads_ok;
  long long uploads;
  int lag_ok;
  long long lag;
  int resets_ok;
  size_t resets;
} snapshot;

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static snapshot cache; /* under cache_mu */

void streamd_metrics_process_start(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void streamd_metrics_events_stored(size_t accepted, size_t duplicates)
{
  atomic_fetch_add_explicit(&events_accepted, accepted, memory_order_relaxed);
  atomic_fetch_add_explicit(&events_duplicate, duplicates, memory_order_relaxed);
}

void streamd_metrics_events_rejected(streamd_events_reject reason)
{
  if ((unsigned)reason < STREAMD_EVENTS_REJECT_COUNT)
    atomic_fetch_add_explicit(&events_rejected[reason], 1, memory_order_relaxed);
}

void streamd_metrics_qoe_foreign(int64_t n)
{
  if (n > 0)
    atomic_fetch_add_explicit(&qoe_foreign, (unsigned long long)n, memory_order_relaxed);
}

void streamd_metrics_qoe_repair_failed(int64_t n)
{
  if (n > 0)
    atomic_fetch_add_explicit(&qoe_repair_failed, (unsigned long long)n, memory_order_relaxed);
}

static int64_t mono_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The slot of `kind`, added when new; the "other" slot once KINDS_MAX - 1 are taken. */
static size_t kind_slot(snapshot *s, const char *kind)
{
  for (size_t i = 0; i < s->n_kinds; i++)
    if (strcmp(s->kind[i], kind) == 0)
      return i;
  if (s->n_kinds == KINDS_MAX - 1) {
    snprintf(s->kind[s->n_kinds], sizeof(s->kind[0]), "other");
    s->n_kinds++;
  }
  if (s->n_kinds == KINDS_MAX)
    return KINDS_MAX - 1;
  snprintf(s->kind[s->n_kinds], sizeof(s->kind[0]), "%s", kind);
  return s->n_kinds++;
}

static void read_jobs(snapshot *s, stream_jobs *jobs)
{
  /* The kinds streamd runs are always shown, so their series exist before the first job. */
  kind_slot(s, "subtitles");
  kind_slot(s, "transcode");
  stream_jobs_count *rows = NULL;
  size_t n = 0;
  int rc = stream_jobs_counts(&rows, &n, jobs, states, NSTATES);
  if (rc != STREAM_OK) {
    streamd_logf(STREAM_LOG_WARN, "metrics: counting jobs: %s", stream_error_last()->message);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    size_t k = kind_slot(s, rows[i].kind);
    for (size_t st = 0; st < NSTATES; st++)
      if (states[st] == rows[i].status)
        s->jobs[k][st] += rows[i].count;
  }
  stream_free(rows);
  s->jobs_ok = 1;
}

static void read_store(snapshot *s, streamd_app *app)
{
  memset(s, 0, sizeof(*s));
  if (app->ingest) {
    read_jobs(s, streamd_ingest_jobs(app->ingest));
    int64_t n = 0;
    if (stream_upload_count_active(&n, streamd_ingest_uploads(app->ingest)) == STREAM_OK) {
      s->uploads = n;
      s->uploads_ok = 1;
    } else {
      streamd_logf(STREAM_LOG_WARN, "metrics: counting uploads: %s", stream_error_last()->message);
    }
  }
  if (app->reset_queue) {
    if (streamd_reset_queue_depth(app->reset_queue, &s->resets) == STREAM_OK)
      s->resets_ok = 1;
    else
      streamd_logf(STREAM_LOG_WARN, "metrics: counting pending password resets: %s",
                   stream_error_last()->message);
  }
  /* Counted, not the last seq less the checkpoint: seqs skip (a duplicate id takes one,
   * deleted events leave holes), which overstated the lag. The cap bounds the index scan. */
  int64_t lag = 0;
  if (stream_events_lag(app->events, &lag, STREAM_EVENTS_QOE_CONSUMER, QOE_LAG_MAX) == STREAM_OK) {
    s->lag = lag;
    s->lag_ok = 1;
  } else {
    streamd_logf(STREAM_LOG_WARN, "metrics: reading the QoE consumer's lag: %s",
                 stream_error_last()->message);
  }
}

/* A label value as the text format wants it: backslash, double quote and newline escaped. */
static void put_label(FILE *f, const char *v)
{
  for (; *v; v++) {
    if (*v == '\\' || *v == '"')
      fputc('\\', f);
    if (*v == '\n')
      fputs("\\n", f);
    else
      fputc(*v, f);
  }
}

static void render_store(FILE *f, const snapshot *s)
{
  fputs("# HELP streamd_jobs Jobs in the store by kind and state (succeeded jobs are not "
        "counted).\n"
        "# TYPE streamd_jobs gauge\n",
        f);
  for (size_t k = 0; s->jobs_ok && k < s->n_kinds; k++)
    for (size_t st = 0; st < NSTATES; st++) {
      fputs("streamd_jobs{kind=\"", f);
      put_label(f, s->kind[k]);
      fprintf(f, "\",state=\"%s\"} %lld\n", stream_job_status_name(states[st]), s->jobs[k][st]);
    }
  fputs("# HELP streamd_uploads_in_progress Uploads begun, not complete and not expired.\n"
        "# TYPE streamd_uploads_in_progress gauge\n",
        f);
  if (s->uploads_ok)
    fprintf(f, "streamd_uploads_in_progress %lld\n", s->uploads);
  fprintf(f,
          "# HELP streamd_qoe_lag_events Events in the log not yet folded into QoE by its "
          "consumer (counted up to %d).\n"
          "# TYPE streamd_qoe_lag_events gauge\n",
          QOE_LAG_MAX);
  if (s->lag_ok)
    fprintf(f, "streamd_qoe_lag_events %lld\n", s->lag);
  /* Not from the store: counted by this process's consumer runs, read at each scrape. */
  fprintf(f,
          "# HELP streamd_qoe_foreign_events_total Events the QoE consumer left out of their "
          "view: another account's under its view id.\n"
          "# TYPE streamd_qoe_foreign_events_total counter\n"
          "streamd_qoe_foreign_events_total %llu\n",
          atomic_load_explicit(&qoe_foreign, memory_order_relaxed));
  fprintf(f,
          "# HELP streamd_qoe_repair_failed_total Failures of the QoE consumer's repair of the "
          "views marked by schema migration 16 (a view not rebuilt, a page of marks not listed "
          "or stored); their marks are kept for the next run.\n"
          "# TYPE streamd_qoe_repair_failed_total counter\n"
          "streamd_qoe_repair_failed_total %llu\n",
          atomic_load_explicit(&qoe_repair_failed, memory_order_relaxed));
  fputs("# HELP streamd_password_reset_queue_depth Accepted password resets not yet sent.\n"
        "# TYPE streamd_password_reset_queue_depth gauge\n",
        f);
  if (s->resets_ok)
    fprintf(f, "streamd_password_reset_queue_depth %zu\n", s->resets);
}

char *streamd_metrics_render_ops(size_t *len)
{
  char *text = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&text, &n);
  if (!f)
    return NULL;
  fprintf(f, "# HELP streamd_build_info The running streamd's version.\n"
             "# TYPE streamd_build_info gauge\n"
             "streamd_build_info{version=\"");
  put_label(f, stream_version());
  fprintf(f,
          "\"} 1\n"
          "# HELP process_start_time_seconds Start time of the process since the Unix epoch.\n"
          "# TYPE process_start_time_seconds gauge\n"
          "process_start_time_seconds %.3f\n",
          start_time);
  fputs("# HELP streamd_events_ingested_total Player events of stored batches (POST "
        "/v1/events), new or already stored.\n"
        "# TYPE streamd_events_ingested_total counter\n",
        f);
  fprintf(f,
          "streamd_events_ingested_total{result=\"accepted\"} %llu\n"
          "streamd_events_ingested_total{result=\"duplicate\"} %llu\n",
          atomic_load_explicit(&events_accepted, memory_order_relaxed),
          atomic_load_explicit(&events_duplicate, memory_order_relaxed));
  fputs("# HELP streamd_events_rejected_batches_total Authenticated event batches not stored, "
        "by reason.\n"
        "# TYPE streamd_events_rejected_batches_total counter\n",
        f);
  for (size_t i = 0; i < STREAMD_EVENTS_REJECT_COUNT; i++)
    fprintf(f, "streamd_events_rejected_batches_total{reason=\"%s\"} %llu\n", reject_reasons[i],
            atomic_load_explicit(&events_rejected[i], memory_order_relaxed));
  streamd_relay_render_metrics(f);  /* relay_job.c: counters kept by the relay thread */
  streamd_reader_render_metrics(f); /* reader_job.c: counters kept by the reader thread */
  /* origin_cmcd.c: the players' CMCD at the origin */
  streamd_origin_cmcd_render_metrics(f);
  streamd_app *app = streamd_app_get();
  if (app) {
    pthread_mutex_lock(&cache_mu);
    int64_t now = mono_ns();
    if (!cache.valid || now - cache.at >= CACHE_NS) {
      read_store(&cache, app);
      cache.at = now;
      cache.valid = 1;
    }
    render_store(f, &cache);
    pthread_mutex_unlock(&cache_mu);
  }
  int failed = ferror(f);
  if (fclose(f) != 0 || failed) {
    free(text);
    return NULL;
  }
  if (len)
    *len = n;
  return text;
}
