/*
 * Operator QoE statistics: GET /v1/admin/stats/qoe (aggregates per title, UTC
 * day and device), GET /v1/admin/stats/concurrent (viewers now) and GET
 * /v1/admin/stats/views/{view_id} (one view's record); and the QoE consumer
 * thread that keeps the records up to date (qoe_job.h). The stats routes
 * catch the consumer up first, so an operator reads what has been ingested.
 */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "log.h"
#include "metrics.h"
#include "problem.h"
#include "qoe_job.h"
#include "routes.h"
#include "routes_util.h"
#include "ticker.h"

/* ---- the consumer thread ----------------------------------------------------- */

struct streamd_qoe {
  stream_events *events;
  streamd_ticker *ticker;
};

/* Every run of the consumer in streamd goes through here (the thread, the stats routes and
 * the recs retrain, recs_job.c), so each is metered alike. Another instance moving the
 * checkpoint (the thread and a stats request at once) is not an error: it did the work. Events
 * another account sent under a view id in use are left out of that view (stream_events_view): worth
 * an operator's look (a player reusing view ids, or someone guessing them), so they are logged as a
 * warning and counted (streamd_qoe_foreign_events_total). The counts are those of the committed
 * batches only: a batch another instance committed first is counted by that one. A failed
 * repair of a view marked by schema migration 16 does not fail the run (the library logs it
 * and keeps the mark): result version 2 (the INIT's) counts it, and so does
 * streamd_qoe_repair_failed_total, as a view that fails at every run would go unseen. */
int streamd_qoe_catch_up(stream_events *ev)
{
  stream_events_qoe_run_result r = STREAM_EVENTS_QOE_RUN_RESULT_INIT;
  int rc = stream_events_qoe_run_ex(ev, &r);
  streamd_metrics_qoe_foreign(r.foreign_events);
  streamd_metrics_qoe_repair_failed(r.repair_failed);
  if (r.foreign_events > 0)
    streamd_logf(STREAM_LOG_WARN,
                 "qoe: %lld events left out of their view: another account's view id",
                 (long long)r.foreign_events);
  if (rc == STREAM_ECONFLICT)
    return STREAM_OK;
  if (rc == STREAM_OK && r.events > 0)
    streamd_logf(STREAM_LOG_DEBUG, "qoe: %lld events, %lld views", (long long)r.events,
                 (long long)r.views);
  return rc;
}

/* One consumer run on the ticker's thread. */
static void qoe_tick(void *arg)
{
  streamd_qoe *q = arg;
  if (streamd_qoe_catch_up(q->events) != STREAM_OK)
    streamd_logf(STREAM_LOG_ERROR, "qoe: %s", stream_error_last()->message);
}

int streamd_qoe_start(streamd_qoe **out, stream_events *events, unsigned int interval_s)
{
  *out = NULL;
  if (interval_s == 0)
    return 0;
  streamd_qoe *q = calloc(1, sizeof *q);
  if (!q)
    return -1;
  q->events = events;
  if (streamd_ticker_start(&q->ticker, interval_s, NULL, qoe_tick, q) != 0) {
    streamd_logf(STREAM_LOG_ERROR, "qoe: cannot start the consumer thread");
    free(q);
    return -1;
  }
  streamd_logf(STREAM_LOG_INFO, "qoe: consumer runs every %u s", interval_s);
  *out = q;
  return 0;
}

void streamd_qoe_stop(streamd_qoe *q)
{
  if (!q)
    return;
  streamd_ticker_stop(q->ticker);
  free(q);
}

/* ---- routes ---------------------------------------------------------------------- */

static stream_events *stats_require(const streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return NULL;
  int rc = streamd_qoe_catch_up(app->events);
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return NULL;
  }
  return app->events;
}

static void add_opt_str(cJSON *o, const char *name, const char *s)
{
  if (s && s[0])
    cJSON_AddStringToObject(o, name, s);
  else
    cJSON_AddNullToObject(o, name);
}

static cJSON *view_json(const stream_events_view *v)
{
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  cJSON_AddStringToObject(o, "view_id", v->view_id);
  add_opt_str(o, "session_id", v->session_id);
  add_opt_str(o, "account_id", v->account_id);
  add_opt_str(o, "profile_id", v->profile_id);
  add_opt_str(o, "title_id", v->title_id);
  add_opt_str(o, "episode_id", v->episode_id);
  add_opt_str(o, "device_id", v->device_id);
  cJSON_AddStringToObject(o, "day", v->day);
  cJSON_AddNumberToObject(o, "start_ts", (double)v->start_ts);
  cJSON_AddNumberToObject(o, "last_ts", (double)v->last_ts);
  cJSON_AddNumberToObject(o, "last_seq", (double)v->last_seq);
  cJSON_AddNumberToObject(o, "events", (double)v->events);
  cJSON_AddBoolToObject(o, "requested", v->requested);
  cJSON_AddBoolToObject(o, "started", v->started);
  cJSON_AddBoolToObject(o, "failed", v->failed);
  cJSON_AddBoolToObject(o, "start_failed", v->start_failed);
  cJSON_AddBoolToObject(o, "ended", v->ended);
  cJSON_AddBoolToObject(o, "exited_before_start", v->exited_before_start);
  if (v->failed)
    cJSON_AddNumberToObject(o, "error_code", v->error_code);
  else
    cJSON_AddNullToObject(o, "error_code");
  if (v->startup_ms >= 0)
    cJSON_AddNumberToObject(o, "startup_ms", (double)v->startup_ms);
  else
    cJSON_AddNullToObject(o, "startup_ms");
  cJSON_AddNumberToObject(o, "watch_ms", (double)v->watch_ms);
  cJSON_AddNumberToObject(o, "playing_ms", (double)v->playing_ms);
  cJSON_AddNumberToObject(o, "rebuffer_count", (double)v->rebuffer_count);
  cJSON_AddNumberToObject(o, "rebuffer_ms", (double)v->rebuffer_ms);
  cJSON_AddNumberToObject(o, "rebuffer_pct", v->rebuffer_pct);
  cJSON_AddNumberToObject(o, "rebuffer_per_min", v->rebuffer_per_min);
  cJSON_AddNumberToObject(o, "avg_br", v->avg_br);
  cJSON_AddNumberToObject(o, "peak_br", (double)v->peak_br);
  return o;
}

static void add_opt_ms(cJSON *o, const char *name, int64_t v)
{
  if (v >= 0)
    cJSON_AddNumberToObject(o, name, (double)v);
  else
    cJSON_AddNullToObject(o, name);
}

void streamd_route_admin_stats_qoe(streamd_request *req, streamd_response *resp)
{
  stream_events *ev = stats_require(req, resp);
  if (!ev)
    return;
  const char *title = streamd_request_query(req, "title_id");
  const char *day = streamd_request_query(req, "day");
  const char *device = streamd_request_query(req, "device");
  stream_events_qoe_summary s;
  int rc = stream_events_qoe_stats(ev, &s, title, day, device);
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON *f = cJSON_AddObjectToObject(o, "filter");
  add_opt_str(f, "title_id", title);
  add_opt_str(f, "day", day);
  add_opt_str(f, "device", device);
  cJSON_AddNumberToObject(o, "views", (double)s.views);
  cJSON_AddNumberToObject(o, "started", (double)s.started);
  cJSON_AddNumberToObject(o, "failures", (double)s.failures);
  cJSON_AddNumberToObject(o, "start_failures", (double)s.start_failures);
  cJSON_AddNumberToObject(o, "exits_before_start", (double)s.exits_before_start);
  cJSON_AddNumberToObject(o, "failure_pct", s.failure_pct);
  cJSON_AddNumberToObject(o, "start_failure_pct", s.start_failure_pct);
  cJSON_AddNumberToObject(o, "ebvs_pct", s.ebvs_pct);
  add_opt_ms(o, "startup_ms_p50", s.startup_ms_p50);
  add_opt_ms(o, "startup_ms_p95", s.startup_ms_p95);
  cJSON_AddNumberToObject(o, "watch_ms", (double)s.watch_ms);
  cJSON_AddNumberToObject(o, "playing_ms", (double)s.playing_ms);
  cJSON_AddNumberToObject(o, "rebuffer_count", (double)s.rebuffer_count);
  cJSON_AddNumberToObject(o, "rebuffer_ms", (double)s.rebuffer_ms);
  cJSON_AddNumberToObject(o, "rebuffer_pct", s.rebuffer_pct);
  cJSON_AddNumberToObject(o, "rebuffer_per_min", s.rebuffer_per_min);
  cJSON_AddNumberToObject(o, "rebuffer_pct_p50", s.rebuffer_pct_p50);
  cJSON_AddNumberToObject(o, "rebuffer_pct_p95", s.rebuffer_pct_p95);
  cJSON_AddNumberToObject(o, "avg_br", s.avg_br);
  streamd_reply_json(resp, 200, o);
}

void streamd_route_admin_stats_concurrent(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  int64_t n = 0;
  int rc = stream_events_concurrent(app->events, &n);
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, "concurrent_viewers", (double)n);
  cJSON_AddNumberToObject(o, "window_s", STREAM_EVENTS_CONCURRENT_WINDOW_MS / 1000);
  streamd_reply_json(resp, 200, o);
}

void streamd_route_admin_stats_view(streamd_request *req, streamd_response *resp)
{
  stream_events *ev = stats_require(req, resp);
  if (!ev)
    return;
  stream_events_view v;
  int rc = stream_events_view_get(ev, &v, streamd_request_param(req, "view_id"));
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  streamd_reply_json(resp, 200, view_json(&v));
}
