/*
 * The event-log relay of streamd (nats_url set): a background thread that
 * relays the event log to NATS JetStream with stream/relay.h, a round every
 * 200 ms, at once again while a round moves a full batch, and backing off
 * (up to 5 s) on errors, which are logged without secrets: once when they
 * start or change, and once more when the relay recovers. NATS unreachable at
 * start-up is such an error (the thread keeps connecting); a configuration
 * the relay refuses (STREAM_EINVAL) stops the start. Metrics (metrics.h):
 *   streamd_relay_published_total    counter: events acknowledged by JetStream
 *                                    and committed (duplicates included)
 *   streamd_relay_duplicates_total   counter: of those, events JetStream held already
 *   streamd_relay_errors_total       counter: failed connects and rounds
 *   streamd_relay_lag_events         gauge: events after the relay's checkpoint
 *                                    (only while the relay is configured)
 * Without the nats feature a configured nats_url stops the start.
 */
#ifndef STREAMD_RELAY_JOB_H
#define STREAMD_RELAY_JOB_H

#include <stdio.h>

#include "config.h"
#include "stream/events.h"

typedef struct streamd_relay streamd_relay;

/* Start the relay thread over `events` (borrowed, like cfg: both outlive the thread). `*out`
 * is NULL when cfg->nats_url is empty (no relay). 0 or -1 (logged). */
int streamd_relay_start(streamd_relay **out, stream_events *events, const streamd_config *cfg);

/* Stop the thread (a round in progress finishes first: at most the relay's timeout) and
 * free it. NULL is a no-op. */
void streamd_relay_stop(streamd_relay *sr);

/* The relay's metric families (Prometheus text) into `f`. Thread-safe. */
void streamd_relay_render_metrics(FILE *f);

#endif
