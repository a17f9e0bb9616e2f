/*
 * The recommendations service of streamd and its retrain thread (see
 * recs_job.h). The thread is a streamd_ticker (ticker.h), so shutdown does
 * not wait for the interval to run out.
 */
#include "recs_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "qoe_job.h"
#include "ticker.h"

struct streamd_recs {
  stream_recs *recs;
  stream_events *events;
  streamd_ticker *ticker; /* the retrain thread (NULL when not started) */
};

int streamd_recs_open(streamd_recs **out, stream_store *store, stream_catalog *catalog,
                      stream_events *events, const char *data_dir, unsigned int factors,
                      unsigned int iterations)
{
  *out = NULL;
  char path[1200];
  snprintf(path, sizeof(path), "%s/recs/model.bin", data_dir);
  stream_recs_service_options o = STREAM_RECS_SERVICE_OPTIONS_INIT;
  o.store = store;
  o.catalog = catalog;
  o.model_path = path;
  if (factors)
    o.train.factors = factors;
  if (iterations)
    o.train.iterations = iterations;
  streamd_recs *sr = calloc(1, sizeof(*sr));
  if (!sr) {
    streamd_logf(STREAM_LOG_ERROR, "recs: out of memory");
    return -1;
  }
  if (stream_recs_new(&sr->recs, &o) != STREAM_OK) {
    streamd_logf(STREAM_LOG_ERROR, "recs: %s", stream_error_last()->message);
    free(sr);
    return -1;
  }
  sr->events = events;
  *out = sr;
  return 0;
}

stream_recs *streamd_recs_service(streamd_recs *sr)
{
  return sr->recs;
}

int streamd_recs_retrain(streamd_recs *sr, char **out_info_json)
{
  if (out_info_json)
    *out_info_json = NULL;
  if (sr->events) {
    /* Metered as every consumer run of streamd (foreign events, failed repairs). */
    int rc = streamd_qoe_catch_up(sr->events);
    if (rc != STREAM_OK)
      return rc;
  }
  return stream_recs_retrain(sr->recs, out_info_json);
}

static void retrain_logged(void *arg)
{
  streamd_recs *sr = arg;
  char *info = NULL;
  int rc = streamd_recs_retrain(sr, &info);
  if (rc == STREAM_ECANCELED)
    streamd_logf(STREAM_LOG_INFO, "recs: retrain stopped (shutting down)");
  else if (rc != STREAM_OK)
    streamd_logf(STREAM_LOG_ERROR, "recs: retrain failed: %s", stream_error_last()->message);
  else
    streamd_logf(STREAM_LOG_INFO, "recs: retrained %s", info);
  stream_free(info);
}

/* 1 when the service has no model yet. */
static int no_model(streamd_recs *sr)
{
  char *info = NULL;
  if (stream_recs_info(&info, sr->recs) != STREAM_OK)
    return 0;
  cJSON *o = cJSON_Parse(info);
  stream_free(info);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "version");
  int none = cJSON_IsNumber(v) && v->valuedouble == 0;
  cJSON_Delete(o);
  return none;
}

/* At the start of the thread: train when there is no model yet. */
static void retrain_if_no_model(void *arg)
{
  streamd_recs *sr = arg;
  if (no_model(sr))
    retrain_logged(sr);
}

int streamd_recs_start(streamd_recs *sr, unsigned int interval_s)
{
  if (interval_s == 0)
    return 0;
  if (streamd_ticker_start(&sr->ticker, interval_s, retrain_if_no_model, retrain_logged, sr) != 0) {
    streamd_logf(STREAM_LOG_ERROR, "recs: cannot start the retrain thread");
    return -1;
  }
  streamd_logf(STREAM_LOG_INFO, "recs: retraining every %u s", interval_s);
  return 0;
}

void streamd_recs_kick(streamd_recs *sr)
{
  if (!sr)
    return;
  streamd_ticker_kick(sr->ticker);
}

void streamd_recs_close(streamd_recs *sr)
{
  if (!sr)
    return;
  /* A retrain in progress gives up at its next training step, so shutdown
   * does not wait for a whole training. */
  stream_recs_cancel(sr->recs);
  streamd_ticker_stop(sr->ticker);
  stream_recs_free(sr->recs);
  free(sr);
}
