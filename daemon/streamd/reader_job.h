/*
 * The JetStream reader of streamd (nats_reader_url set): the analytics
 * replica's half of the scale-out event pipeline. A background thread reads
 * the JetStream stream nats_stream through the durable pull consumer
 * nats_reader_durable (filter nats_reader_filter, default
 * <nats_subject_prefix>.>) into this daemon's own event log with
 * stream/relay.h's stream_relay_reader: exactly once in the log (one
 * transaction per fetched batch, de-duplicated by event id, acknowledged
 * after the commit). The QoE consumer and the recommendations then work on
 * the replicated log as on ingested events. Rounds run back to back (the
 * fetch itself waits up to 1 s for a first message, so a stop waits about
 * that long), backing off up to 5 s on errors, which are logged once per
 * outage without secrets (nats_job.h). The durable's ack wait is
 * nats_reader_ack_wait_ms (how long the messages a killed reader had fetched
 * wait before they are delivered again). Each message a round terminated
 * (poison: not an Event, or an invalid one) is logged at warn with the
 * reader's rejection text, the first 20 of a round one line each, the rest
 * in one line with their count (also when the round's append failed). A
 * message only a newer libstream can read (version skew during a rolling
 * upgrade: an event type or CMCD object type this build does not know) is
 * not terminated but put back (for nats_reader_defer_delay_ms, default 60 s:
 * the reader's defer_delay_ms) to be stored once this daemon is upgraded: one
 * warn line per round that put any back, with their count and the last one's
 * reason. NATS unreachable or the stream missing at start-up is such an
 * error (the thread keeps connecting); a configuration the reader refuses (STREAM_EINVAL) stops
 * the start. Metrics (metrics.h):
 *   streamd_reader_appended_total     counter: events newly stored in the log
 *   streamd_reader_duplicates_total   counter: events the log held already
 *                                     (redeliveries after a crash or a lost ack)
 *   streamd_reader_rejected_total     counter: messages terminated as invalid
 *   streamd_reader_deferred_total     counter: deliveries of messages only a
 *                                     newer libstream can read, put back (a
 *                                     message kept counts again at each
 *                                     delivery, every defer delay)
 *   streamd_reader_errors_total       counter: failed connects and rounds
 *   streamd_reader_lag_messages       gauge: messages of the stream the durable
 *                                     has not had acknowledged (only while the
 *                                     reader is configured; as of the last round)
 * Without the nats feature a configured nats_reader_url stops the start.
 */
#ifndef STREAMD_READER_JOB_H
#define STREAMD_READER_JOB_H

#include <stdio.h>

#include "config.h"
#include "stream/events.h"

typedef struct streamd_reader streamd_reader;

/* Start the reader thread into `events` (borrowed, like cfg: both outlive the thread). `*out`
 * is NULL when cfg->nats_reader_url is empty (no reader). 0 or -1 (logged). */
int streamd_reader_start(streamd_reader **out, stream_events *events, const streamd_config *cfg);

/* Stop the thread (a round in progress finishes first: at most the fetch's wait, 1 s, unless
 * NATS or the event log is slow to answer: then up to libstream's 5 s timeout) and
 * free it. NULL is a no-op. */
void streamd_reader_stop(streamd_reader *sr);

/* The reader's metric families (Prometheus text) into `f`. Thread-safe. */
void streamd_reader_render_metrics(FILE *f);

#endif
