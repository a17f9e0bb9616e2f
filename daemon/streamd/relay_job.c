/*
 * streamd's event-log relay thread (see relay_job.h). It owns the
 * stream_relay handle (one thread uses it) and the relay's metrics; the
 * thread, its schedule (a busy log is relayed in 200 ms steps), backoff and
 * outage logging are nats_job.c's, shared with the reader (reader_job.c).
 */
#include "relay_job.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "nats_job.h"
#include "stream/features.h"

#if STREAM_HAVE_NATS
#include "stream/relay.h"
#endif

#define ROUND_MS 200

static atomic_ullong published_total, duplicates_total, errors_total;
/* streamd_relay_lag_events counts at most this many events (an index range scan after each
 * round; beyond it the gauge stays at the cap). */
#define RELAY_LAG_MAX 100000
static atomic_llong lag_events = -1; /* -1: no sample: no relay configured, or the store failed */

void streamd_relay_render_metrics(FILE *f)
{
  fprintf(f,
          "# HELP streamd_relay_published_total Events relayed to NATS JetStream (acknowledged "
          "and committed, duplicates included).\n"
          "# TYPE streamd_relay_published_total counter\n"
          "streamd_relay_published_total %llu\n"
          "# HELP streamd_relay_duplicates_total Relayed events JetStream already held.\n"
          "# TYPE streamd_relay_duplicates_total counter\n"
          "streamd_relay_duplicates_total %llu\n"
          "# HELP streamd_relay_errors_total Failed NATS connects and relay rounds.\n"
          "# TYPE streamd_relay_errors_total counter\n"
          "streamd_relay_errors_total %llu\n"
          "# HELP streamd_relay_lag_events Events in the log after the relay's checkpoint (counted "
          "up to 100000).\n"
          "# TYPE streamd_relay_lag_events gauge\n",
          atomic_load(&published_total), atomic_load(&duplicates_total),
          atomic_load(&errors_total));
  long long lag = atomic_load(&lag_events);
  if (lag >= 0)
    fprintf(f, "streamd_relay_lag_events %lld\n", lag);
}

#if STREAM_HAVE_NATS

struct streamd_relay {
  stream_events *events;
  stream_relay_options opts; /* strings borrowed from the configuration */
  stream_relay *relay;       /* NULL until connected */
  streamd_nats_job *job;     /* the thread (nats_job.c) */
};

static int relay_connect(void *arg)
{
  streamd_relay *sr = arg;
  return stream_relay_new(&sr->relay, &sr->opts);
}

static int relay_round(void *arg, long *wait_ms)
{
  streamd_relay *sr = arg;
  int64_t p = 0, d = 0;
  int rc = stream_relay_run_once(sr->relay, &p, &d);
  if (rc != STREAM_OK)
    return rc;
  atomic_fetch_add(&published_total, (unsigned long long)p);
  atomic_fetch_add(&duplicates_total, (unsigned long long)d);
  if (p >= (int64_t)sr->opts.batch)
    *wait_ms = 0; /* a full batch: more is waiting */
  return STREAM_OK;
}

static void update_lag(void *arg)
{
  streamd_relay *sr = arg;
  /* Counted, not the last seq less the checkpoint: seqs skip (a duplicate id takes one). The
   * count scans up to RELAY_LAG_MAX index entries, so back-to-back rounds (a backlog) sample it
   * once a second, not after each round. Only the relay's thread gets here once started. */
  static int64_t sampled_ms = INT64_MIN;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  if (sampled_ms != INT64_MIN && now_ms - sampled_ms < 1000 && atomic_load(&lag_events) > 0)
    return;
  sampled_ms = now_ms;
  int64_t lag = 0;
  const char *consumer = sr->opts.consumer ? sr->opts.consumer : STREAM_RELAY_DEFAULT_CONSUMER;
  if (stream_events_lag(sr->events, &lag, consumer, RELAY_LAG_MAX) == STREAM_OK)
    atomic_store(&lag_events, (long long)lag);
  else
    atomic_store(&lag_events, -1); /* no sample rather than a stale one (the store failed) */
}

static const streamd_nats_job_ops relay_ops = {
    "relay", "relaying", ROUND_MS, &errors_total, relay_connect, relay_round, update_lag,
};

int streamd_relay_start(streamd_relay **out, stream_events *events, const streamd_config *cfg)
{
  *out = NULL;
  if (!cfg->nats_url[0])
    return 0;
  streamd_relay *sr = calloc(1, sizeof(*sr));
  if (!sr) {
    streamd_logf(STREAM_LOG_ERROR, "relay: out of memory");
    return -1;
  }
  sr->events = events;
  stream_relay_options o = STREAM_RELAY_OPTIONS_INIT;
  o.events = events;
  o.url = cfg->nats_url;
  o.stream_name = cfg->nats_stream;
  o.subject_prefix = cfg->nats_subject_prefix;
  o.create_stream = 1;
  STREAMD_NATS_CONNECTION_OPTIONS(o, cfg);
  sr->opts = o;
  atomic_store(&lag_events, 0);
  if (streamd_nats_job_start(&sr->job, &relay_ops, sr, cfg->nats_url) != 0) {
    stream_relay_free(sr->relay);
    free(sr);
    return -1;
  }
  char shown[2100];
  streamd_config_redact_url(shown, sizeof(shown), cfg->nats_url);
  streamd_logf(STREAM_LOG_INFO,
               "relay: event log to NATS JetStream at %s, stream %s, subjects %s.>", shown,
               cfg->nats_stream, cfg->nats_subject_prefix);
  *out = sr;
  return 0;
}

void streamd_relay_stop(streamd_relay *sr)
{
  if (!sr)
    return;
  streamd_nats_job_stop(sr->job);
  stream_relay_free(sr->relay);
  free(sr);
}

#else /* !STREAM_HAVE_NATS */

struct streamd_relay {
  int unused;
};

int streamd_relay_start(streamd_relay **out, stream_events *events, const streamd_config *cfg)
{
  (void)events;
  *out = NULL;
  if (!cfg->nats_url[0])
    return 0;
  streamd_logf(STREAM_LOG_ERROR,
               "relay: nats_url is set but this libstream was built without the nats feature "
               "(libnats)");
  return -1;
}

void streamd_relay_stop(streamd_relay *sr)
{
  (void)sr;
}

#endif
