/*
 * The QoE consumer of streamd (routes_stats.c): a background thread that runs
 * stream_events_qoe_run_ex() every `qoe_interval` seconds, so the view records
 * and aggregates behind the GET /v1/admin/stats routes follow the event log;
 * and the one catch-up every run of the consumer in streamd goes through.
 */
#ifndef STREAMD_QOE_JOB_H
#define STREAMD_QOE_JOB_H

#include "stream/events.h"

typedef struct streamd_qoe streamd_qoe;

/* Start the thread (interval_s 0 = no thread: *out stays NULL). 0 or -1 (logged). */
int streamd_qoe_start(streamd_qoe **out, stream_events *events, unsigned int interval_s);

/* Stop and join the thread, free. NULL is a no-op. */
void streamd_qoe_stop(streamd_qoe *q);

/* Run the QoE consumer until it has caught up (stream_events_qoe_run_ex(), result version 2)
 * and meter the run: events left out of their view as another account's are logged as a
 * warning and added to streamd_qoe_foreign_events_total, failed repairs of marked views to
 * streamd_qoe_repair_failed_total (metrics.h). STREAM_OK also when another instance moved the
 * checkpoint first (STREAM_ECONFLICT: it did the work), else the run's error (the library's
 * message in stream_error_last()). Thread-safe. Used by the thread, the stats routes and the
 * recs retrain (recs_job.c). */
int streamd_qoe_catch_up(stream_events *ev);

#endif
