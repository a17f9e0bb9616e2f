/*
 * streamd's JetStream reader thread (see reader_job.h). It owns the
 * stream_relay_reader handle (one thread uses it) and the reader's metrics;
 * the thread, backoff and outage logging are nats_job.c's, shared with the
 * relay (relay_job.c). Its rounds run back to back: the fetch waits for the
 * first message itself, so an idle stream costs one pull request per wait.
 */
#include "reader_job.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "log.h"
#include "nats_job.h"
#include "stream/features.h"

#if STREAM_HAVE_NATS
#include "stream/relay.h"
#endif

static atomic_ullong appended_total, duplicates_total, rejected_total, deferred_total, errors_total;
/* -1: no sample (the gauge line is left out): no reader configured, or the last query failed */
static atomic_llong lag_messages = -1;

void streamd_reader_render_metrics(FILE *f)
{
  fprintf(f,
          "# HELP streamd_reader_appended_total Events read from NATS JetStream and newly stored "
          "in the event log.\n"
          "# TYPE streamd_reader_appended_total counter\n"
          "streamd_reader_appended_total %llu\n"
          "# HELP streamd_reader_duplicates_total Events read from NATS JetStream that the event "
          "log held already (redeliveries).\n"
          "# TYPE streamd_reader_duplicates_total counter\n"
          "streamd_reader_duplicates_total %llu\n"
          "# HELP streamd_reader_rejected_total JetStream messages terminated as invalid "
          "events.\n"
          "# TYPE streamd_reader_rejected_total counter\n"
          "streamd_reader_rejected_total %llu\n"
          "# HELP streamd_reader_deferred_total Deliveries of JetStream messages that only a "
          "newer libstream can read, put back to come again (each delivery counted).\n"
          "# TYPE streamd_reader_deferred_total counter\n"
          "streamd_reader_deferred_total %llu\n"
          "# HELP streamd_reader_errors_total Failed NATS connects and reader rounds.\n"
          "# TYPE streamd_reader_errors_total counter\n"
          "streamd_reader_errors_total %llu\n"
          "# HELP streamd_reader_lag_messages Messages of the stream the reader's durable "
          "consumer has not had acknowledged.\n"
          "# TYPE streamd_reader_lag_messages gauge\n",
          atomic_load(&appended_total), atomic_load(&duplicates_total),
          atomic_load(&rejected_total), atomic_load(&deferred_total), atomic_load(&errors_total));
  long long lag = atomic_load(&lag_messages);
  if (lag >= 0)
    fprintf(f, "streamd_reader_lag_messages %lld\n", lag);
}

#if STREAM_HAVE_NATS

/* Warn lines per round naming a terminated message; the rest are counted in one more line. */
#define READER_REJECTIONS_LOGGED 20
/* How long a round's fetch waits for a first message: short, so that stopping the daemon
 * waits for at most about this (the connect and API timeout stays the library's 5 s). */
#define READER_FETCH_WAIT_MS 1000

struct streamd_reader {
  stream_relay_reader_options opts; /* strings borrowed from the configuration */
  char filter[STREAM_RELAY_SUBJECT_MAX + 8];
  stream_relay_reader *reader; /* NULL until connected */
  streamd_nats_job *job;       /* the thread (nats_job.c) */
};

static int reader_connect(void *arg)
{
  streamd_reader *sr = arg;
  return stream_relay_reader_new(&sr->reader, &sr->opts);
}

/* One warn line per message the round terminated, the first READER_REJECTIONS_LOGGED of them,
 * then one line with how many more. */
static void log_rejections(streamd_reader *sr, int64_t rejected)
{
  size_t n = 0;
  const char *const *why = stream_relay_reader_rejections(sr->reader, &n);
  size_t shown = n < READER_REJECTIONS_LOGGED ? n : READER_REJECTIONS_LOGGED;
  for (size_t i = 0; i < shown; i++)
    streamd_logf(STREAM_LOG_WARN,
                 "reader: terminated a JetStream message that is not a valid event (never "
                 "delivered again): %s",
                 why[i]);
  if ((int64_t)shown < rejected) /* more than the cap (or copies the library could not keep) */
    streamd_logf(STREAM_LOG_WARN,
                 "reader: terminated %lld more JetStream message(s) of this round that are not "
                 "valid events; the last: %s",
                 (long long)(rejected - (int64_t)shown), stream_relay_reader_rejection(sr->reader));
}

/* One warn line per round that deferred messages (they come again every defer delay: a line per
 * message would repeat for as long as the daemon is not upgraded). */
static void log_deferrals(streamd_reader *sr, int64_t deferred)
{
  streamd_logf(STREAM_LOG_WARN,
               "reader: put back %lld JetStream message(s) that only a newer libstream can read "
               "(kept in the stream and delivered again until this daemon is upgraded); the "
               "last: %s",
               (long long)deferred, stream_relay_reader_deferral(sr->reader));
}

static int reader_round(void *arg, long *wait_ms)
{
  streamd_reader *sr = arg;
  int64_t a = 0, d = 0, r = 0, deferred = 0;
  int rc = stream_relay_reader_run_once(sr->reader, &a, &d, &r);
  /* Terminated and deferred messages are counted and logged also when the round then
   * failed. */
  atomic_fetch_add(&rejected_total, (unsigned long long)r);
  if (r > 0)
    log_rejections(sr, r);
  if (stream_relay_reader_deferred(sr->reader, &deferred) == STREAM_OK && deferred > 0) {
    atomic_fetch_add(&deferred_total, (unsigned long long)deferred);
    log_deferrals(sr, deferred);
  }
  if (rc != STREAM_OK)
    return rc;
  atomic_fetch_add(&appended_total, (unsigned long long)a);
  atomic_fetch_add(&duplicates_total, (unsigned long long)d);
  *wait_ms = 0; /* back to back: the next fetch waits for messages itself */
  return STREAM_OK;
}

/* After every connect and round, failed ones too (nats_job.c logs a failure before this runs,
 * so the query does not replace its message): the lag as JetStream has it now, or no sample
 * when it cannot be had (not connected yet, NATS away: the query fails at once then, the
 * durable or stream gone). A stale number would show a replica that stopped as caught up. */
static void update_lag(void *arg)
{
  streamd_reader *sr = arg;
  int64_t lag = 0;
  if (sr->reader && stream_relay_reader_lag(sr->reader, &lag) == STREAM_OK)
    atomic_store(&lag_messages, (long long)lag);
  else
    atomic_store(&lag_messages, -1);
}

static const streamd_nats_job_ops reader_ops = {
    "reader", "reading", 0, &errors_total, reader_connect, reader_round, update_lag,
};

int streamd_reader_start(streamd_reader **out, stream_events *events, const streamd_config *cfg)
{
  *out = NULL;
  if (!cfg->nats_reader_url[0])
    return 0;
  streamd_reader *sr = calloc(1, sizeof(*sr));
  if (!sr) {
    streamd_logf(STREAM_LOG_ERROR, "reader: out of memory");
    return -1;
  }
  stream_relay_reader_options o = STREAM_RELAY_READER_OPTIONS_INIT;
  o.events = events;
  o.url = cfg->nats_reader_url;
  o.stream_name = cfg->nats_stream;
  o.durable = streamd_nats_opt(cfg->nats_reader_durable);
  if (cfg->nats_reader_filter[0])
    o.filter_subject = cfg->nats_reader_filter;
  else { /* what this daemon's relay would publish: <nats_subject_prefix>.> */
    snprintf(sr->filter, sizeof(sr->filter), "%s.>", cfg->nats_subject_prefix);
    o.filter_subject = sr->filter;
  }
  STREAMD_NATS_CONNECTION_OPTIONS(o, cfg);
  o.ack_wait_ms = cfg->nats_reader_ack_wait_ms;
  o.defer_delay_ms = cfg->nats_reader_defer_delay_ms;
  o.fetch_wait_ms = READER_FETCH_WAIT_MS;
  sr->opts = o;
  atomic_store(&lag_messages, -1); /* a sample once connected (update_lag) */
  if (streamd_nats_job_start(&sr->job, &reader_ops, sr, cfg->nats_reader_url) != 0) {
    stream_relay_reader_free(sr->reader);
    free(sr);
    return -1;
  }
  char shown[2100];
  streamd_config_redact_url(shown, sizeof(shown), cfg->nats_reader_url);
  streamd_logf(STREAM_LOG_INFO,
               "reader: NATS JetStream at %s, stream %s, subjects %s, durable %s (ack wait %u ms), "
               "into the event log; messages only a newer build can read come again after %u ms",
               shown, cfg->nats_stream, sr->opts.filter_subject,
               sr->opts.durable ? sr->opts.durable : STREAM_RELAY_READER_DEFAULT_DURABLE,
               cfg->nats_reader_ack_wait_ms,
               sr->opts.defer_delay_ms ? sr->opts.defer_delay_ms
                                       : STREAM_RELAY_READER_DEFAULT_DEFER_DELAY_MS);
  *out = sr;
  return 0;
}

void streamd_reader_stop(streamd_reader *sr)
{
  if (!sr)
    return;
  streamd_nats_job_stop(sr->job);
  stream_relay_reader_free(sr->reader);
  free(sr);
}

#else /* !STREAM_HAVE_NATS */

struct streamd_reader {
  int unused;
};

int streamd_reader_start(streamd_reader **out, stream_events *events, const streamd_config *cfg)
{
  (void)events;
  *out = NULL;
  if (!cfg->nats_reader_url[0])
    return 0;
  streamd_logf(STREAM_LOG_ERROR,
               "reader: nats_reader_url is set but this libstream was built without the nats "
               "feature (libnats)");
  return -1;
}

void streamd_reader_stop(streamd_reader *sr)
{
  (void)sr;
}

#endif
