/*
 * streamd's event-log relay thread (see relay_job.h). It owns the
 * stream_relay handle (one thread uses it), its schedule and the relay's
 * metrics. The schedule has its own millisecond waits rather than a
 * streamd_ticker (whole seconds), so a busy log is relayed in 200 ms steps.
 */
#include "relay_job.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "stream/features.h"

#if STREAM_HAVE_NATS
#include "stream/relay.h"
#endif

#define ROUND_MS 200
#define BACKOFF_MAX_MS 5000

static atomic_ullong published_total, duplicates_total, errors_total;
static atomic_llong lag_events = -1; /* -1: no relay configured (no sample) */

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
          "# HELP streamd_relay_lag_events Events in the log after the relay's checkpoint.\n"
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
  int failing;               /* the last attempt failed (logged once) */
  char last_error[600];      /* stream_error_last()->message fits */
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int stop; /* under mu */
};

/* Wait `ms` or until stopped; 1 when stopped. */
static int wait_ms(streamd_relay *sr, long ms)
{
  struct timespec deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  deadline.tv_sec += ms / 1000;
  deadline.tv_nsec += (ms % 1000) * 1000000L;
  if (deadline.tv_nsec >= 1000000000L) {
    deadline.tv_sec++;
    deadline.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&sr->mu);
  while (!sr->stop && pthread_cond_timedwait(&sr->cv, &sr->mu, &deadline) == 0)
    ;
  int stop = sr->stop;
  pthread_mutex_unlock(&sr->mu);
  return stop;
}

/* A failure: counted, logged when it is new (messages name the URL, never credentials). */
static void failed(streamd_relay *sr, const char *what)
{
  atomic_fetch_add(&errors_total, 1);
  const char *msg = stream_error_last()->message;
  if (!sr->failing || strcmp(sr->last_error, msg) != 0)
    streamd_logf(STREAM_LOG_WARN, "%s (%s; retrying)", msg, what); /* msg: "relay: ..." */
  snprintf(sr->last_error, sizeof(sr->last_error), "%s", msg);
  sr->failing = 1;
}

static void succeeded(streamd_relay *sr)
{
  if (sr->failing)
    streamd_logf(STREAM_LOG_INFO, "relay: NATS at %s is back; relaying", sr->opts.url);
  sr->failing = 0;
  sr->last_error[0] = '\0';
}

static void update_lag(streamd_relay *sr)
{
  int64_t last = 0, done = 0;
  const char *consumer = sr->opts.consumer ? sr->opts.consumer : STREAM_RELAY_DEFAULT_CONSUMER;
  if (stream_events_stats(sr->events, NULL, &last) == STREAM_OK &&
      stream_events_checkpoint(sr->events, &done, consumer) == STREAM_OK)
    atomic_store(&lag_events, last > done ? (long long)(last - done) : 0);
}

static void *relay_thread(void *arg)
{
  streamd_relay *sr = arg;
  long backoff = ROUND_MS;
  for (;;) {
    long wait = ROUND_MS;
    if (!sr->relay) {
      if (stream_relay_new(&sr->relay, &sr->opts) == STREAM_OK) {
        succeeded(sr);
        wait = 0;
      } else {
        failed(sr, "connecting");
      }
    } else {
      int64_t p = 0, d = 0;
      if (stream_relay_run_once(sr->relay, &p, &d) == STREAM_OK) {
        succeeded(sr);
        atomic_fetch_add(&published_total, (unsigned long long)p);
        atomic_fetch_add(&duplicates_total, (unsigned long long)d);
        if (p >= (int64_t)sr->opts.batch)
          wait = 0; /* a full batch: more is waiting */
      } else {
        failed(sr, "round");
      }
    }
    update_lag(sr);
    if (sr->failing) {
      wait = backoff;
      backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
    } else {
      backoff = ROUND_MS;
    }
    if (wait_ms(sr, wait))
      break;
  }
  return NULL;
}

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
  o.user = cfg->nats_user[0] ? cfg->nats_user : NULL;
  o.secret_file = cfg->nats_secret_file[0] ? cfg->nats_secret_file : NULL;
  o.creds_file = cfg->nats_creds_file[0] ? cfg->nats_creds_file : NULL;
  o.tls_ca_file = cfg->nats_tls_ca_file[0] ? cfg->nats_tls_ca_file : NULL;
  o.tls_cert_file = cfg->nats_tls_cert_file[0] ? cfg->nats_tls_cert_file : NULL;
  o.tls_key_file = cfg->nats_tls_key_file[0] ? cfg->nats_tls_key_file : NULL;
  sr->opts = o;
  /* Once now: a configuration the relay refuses stops the start; NATS being away does not
   * (the thread keeps connecting). */
  int rc = stream_relay_new(&sr->relay, &sr->opts);
  if (rc == STREAM_EINVAL) {
    streamd_logf(STREAM_LOG_ERROR, "%s", stream_error_last()->message);
    free(sr);
    return -1;
  }
  if (rc != STREAM_OK)
    failed(sr, "connecting");
  pthread_mutex_init(&sr->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&sr->cv, &ca);
  pthread_condattr_destroy(&ca);
  atomic_store(&lag_events, 0);
  update_lag(sr);
  if (pthread_create(&sr->thread, NULL, relay_thread, sr) != 0) {
    streamd_logf(STREAM_LOG_ERROR, "relay: cannot start the relay thread");
    stream_relay_free(sr->relay);
    pthread_cond_destroy(&sr->cv);
    pthread_mutex_destroy(&sr->mu);
    free(sr);
    return -1;
  }
  streamd_logf(STREAM_LOG_INFO,
               "relay: event log to NATS JetStream at %s, stream %s, subjects %s.>", cfg->nats_url,
               cfg->nats_stream, cfg->nats_subject_prefix);
  *out = sr;
  return 0;
}

void streamd_relay_stop(streamd_relay *sr)
{
  if (!sr)
    return;
  pthread_mutex_lock(&sr->mu);
  sr->stop = 1;
  pthread_cond_broadcast(&sr->cv);
  pthread_mutex_unlock(&sr->mu);
  pthread_join(sr->thread, NULL);
  stream_relay_free(sr->relay);
  pthread_cond_destroy(&sr->cv);
  pthread_mutex_destroy(&sr->mu);
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
