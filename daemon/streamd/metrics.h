/*
 * Prometheus text exposition (format 0.0.4) of GET /metrics, a public route:
 * operational counts only (no ids, e-mails, revenue or subscriber counts),
 * every label from a small fixed set. HTTP (metrics.c, mutex-guarded):
 *   streamd_http_requests_total{route,method,status}      counter
 *   streamd_http_request_duration_seconds{route}          histogram
 *   streamd_http_in_flight_requests                       gauge
 *   streamd_draining                                      gauge (0/1)
 * `route` is the route pattern ("/v1/titles/{id}") or "unmatched", so label
 * cardinality stays bounded by the route table.
 *
 * Operations (metrics_ops.c), after the HTTP families:
 *   streamd_build_info{version}                           gauge (always 1)
 *   process_start_time_seconds                            gauge (Unix seconds)
 *   streamd_jobs{kind,state}                              gauge: jobs in the store
 *       with state queued / running / failed / canceled (succeeded jobs are
 *       kept for good and not counted: too costly per scrape); kinds
 *       "transcode" and "subtitles" always present, others as found
 *   streamd_uploads_in_progress                           gauge: tus uploads
 *       incomplete and not expired
 *   streamd_events_ingested_total{result}                 counter: events of
 *       stored POST /v1/events batches, result accepted / duplicate
 *   streamd_events_rejected_batches_total{reason}         counter: authenticated
 *       batches not stored: invalid, too_large, forbidden, media_type, error
 *   streamd_qoe_lag_events                                gauge: events in the
 *       log after the QoE consumer's checkpoint (not yet folded into QoE),
 *       counted (seqs skip), up to 100 000
 *   streamd_qoe_foreign_events_total                      counter: events
 *       the QoE consumer left out of their view as another account's (a
 *       reused or guessed view id; stream_events_qoe_run_ex())
 *   streamd_qoe_repair_failed_total                       counter: failures
 *       of the QoE consumer's repair of the views marked by schema migration
 *       16 (result version 2 `repair_failed`), which do not fail the run
 *   streamd_password_reset_queue_depth                    gauge: accepted
 *       resets not yet sent (stored requests, every daemon's)
 *   streamd_relay_published_total, streamd_relay_duplicates_total,
 *   streamd_relay_errors_total (counters), streamd_relay_lag_events (gauge,
 *       only with nats_url): the event-log relay to NATS JetStream (relay_job.h)
 *   streamd_reader_appended_total, streamd_reader_duplicates_total,
 *   streamd_reader_rejected_total, streamd_reader_deferred_total,
 *   streamd_reader_errors_total (counters),
 *   streamd_reader_lag_messages (gauge, only with nats_reader_url): NATS
 *       JetStream read into the event log (reader_job.h)
 *   streamd_origin_cmcd_requests_total{ot}, streamd_origin_cmcd_invalid_total,
 *   streamd_origin_cmcd_buffer_starvation_total,
 *   streamd_origin_cmcd_startup_requests_total (counters): the players' CMCD
 *       data on media requests (origin_cmcd.h)
 * The store-derived gauges (jobs, uploads, QoE lag, password resets: five
 * indexed queries) are
 * cached for one second, so scrapes cost the store at most that often; a
 * failed read leaves its family without samples (and is logged).
 * docs/streamd.md ("Metrics") says what to alert on.
 */
#ifndef STREAMD_METRICS_H
#define STREAMD_METRICS_H

#include <stddef.h>
#include <stdint.h>

void streamd_metrics_observe(const char *route, const char *method, int status, double seconds);

/* Render the exposition text; malloc'd (caller frees with free()), NULL on ENOMEM. */
char *streamd_metrics_render(size_t *len, int in_flight, int draining);

/* Release all series (at exit, for leak checkers). */
void streamd_metrics_reset(void);

/* ---- operations (metrics_ops.c) ------------------------------------------ */

/* Record the process start time (main, first thing). */
void streamd_metrics_process_start(void);

/* A POST /v1/events batch was stored: its new and duplicate events. Lock-free. */
void streamd_metrics_events_stored(size_t accepted, size_t duplicates);

/* Why an authenticated POST /v1/events batch was not stored. */
typedef enum streamd_events_reject {
  STREAMD_EVENTS_INVALID = 0,    /* malformed body or event, empty body (400) */
  STREAMD_EVENTS_TOO_LARGE = 1,  /* over the size or event-count cap (413) */
  STREAMD_EVENTS_FORBIDDEN = 2,  /* an event of another profile (403) */
  STREAMD_EVENTS_MEDIA_TYPE = 3, /* unsupported Content-Type / Content-Encoding (415) */
  STREAMD_EVENTS_ERROR = 4,      /* storage or service failure (5xx: the sender retries) */
  STREAMD_EVENTS_REJECT_COUNT = 5
} streamd_events_reject;

/* Count a batch not stored. Lock-free. */
void streamd_metrics_events_rejected(streamd_events_reject reason);

/* A QoE consumer run (streamd_qoe_catch_up(), qoe_job.h) left `n` events out of their view: another
 * account's under its view id. Lock-free. */
void streamd_metrics_qoe_foreign(int64_t n);

/* A QoE consumer run (streamd_qoe_catch_up(), qoe_job.h) failed `n` times to repair a view marked
 * by schema migration 16 (the marks are kept, the run went on). Lock-free. */
void streamd_metrics_qoe_repair_failed(int64_t n);

/* The text of the operational families (those of the application only once it runs);
 * malloc'd (caller frees with free()), `*len` its length; NULL on ENOMEM. Called by
 * streamd_metrics_render(), which appends it. */
char *streamd_metrics_render_ops(size_t *len);

#endif
