/*
 * streamd's recommendations: the stream_recs service on the daemon's store
 * and catalog, its model file <data_dir>/recs/model.bin (served at once after
 * a restart), and the retrain thread: it trains at start when there is no
 * model yet, then every `recs_interval` seconds (0 = no thread; operators can
 * still retrain through POST /v1/admin/recs/retrain). Every retrain first
 * catches the QoE consumer up, so the signals include the latest views.
 */
#ifndef STREAMD_RECS_JOB_H
#define STREAMD_RECS_JOB_H

#include "stream/catalog.h"
#include "stream/events.h"
#include "stream/recs.h"
#include "stream/store.h"

typedef struct streamd_recs streamd_recs;

/* Open the service (model file under `data_dir`/recs; `factors` and `iterations` 0 = the
 * library defaults). 0 or -1 (logged). */
int streamd_recs_open(streamd_recs **out, stream_store *store, stream_catalog *catalog,
                      stream_events *events, const char *data_dir, unsigned int factors,
                      unsigned int iterations);

/* The service (borrowed, lives as long as `sr`). */
stream_recs *streamd_recs_service(streamd_recs *sr);

/* Catch the QoE consumer up (streamd_qoe_catch_up(): metered as the thread's and the stats
 * routes' runs), then retrain; `*out_info_json` as stream_recs_retrain().
 * STREAM_OK or an error (stream_error_last() has the message). */
int streamd_recs_retrain(streamd_recs *sr, char **out_info_json);

/* Start the retrain thread (interval_s 0 = do nothing). 0 or -1 (logged). */
int streamd_recs_start(streamd_recs *sr, unsigned int interval_s);

/* Ask the thread for a retrain now (after the one in progress, if any); nothing without the
 * thread. Used after --seed-demo imported the demo catalog. */
void streamd_recs_kick(streamd_recs *sr);

/* Stop the thread (a retrain in progress finishes first), free everything. NULL is a no-op. */
void streamd_recs_close(streamd_recs *sr);

#endif
