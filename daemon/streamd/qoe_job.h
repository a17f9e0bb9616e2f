/*
 * The QoE consumer of streamd (routes_stats.c): a background thread that runs
 * stream_events_qoe_run() every `qoe_interval` seconds, so the view records
 * and aggregates behind the GET /v1/admin/stats routes follow the event log.
 */
#ifndef STREAMD_QOE_JOB_H
#define STREAMD_QOE_JOB_H

#include "stream/events.h"

typedef struct streamd_qoe streamd_qoe;

/* Start the thread (interval_s 0 = no thread: *out stays NULL). 0 or -1 (logged). */
int streamd_qoe_start(streamd_qoe **out, stream_events *events, unsigned int interval_s);

/* Stop and join the thread, free. NULL is a no-op. */
void streamd_qoe_stop(streamd_qoe *q);

#endif
