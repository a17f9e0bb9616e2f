/*
 * What streamd's two NATS threads share: relay_job.c (the event log published
 * to JetStream) and reader_job.c (JetStream read into the event log). A
 * streamd_nats_job is one background thread that connects, then runs rounds:
 * again after the job's idle wait (0: at once), backing off on errors from
 * 200 ms doubling up to 5 s. An error is counted, and logged at warn once
 * when an outage starts or its message changes (libstream's messages name
 * the URL, never a credential), and the recovery once at info. The first
 * connection is tried at start: a configuration libstream refuses
 * (STREAM_EINVAL) stops the start; NATS being away does not (the thread keeps
 * connecting).
 *
 * Thread-safety: the callbacks run on the job's thread only (the first
 * connect and `after` also once on the starting thread, before the thread
 * exists), so the handle they own is used by one thread at a time.
 */
#ifndef STREAMD_NATS_JOB_H
#define STREAMD_NATS_JOB_H

#include <stdatomic.h>

#include "config.h"

typedef struct streamd_nats_job_ops {
  const char *name;          /* "relay", "reader": log lines */
  const char *resumed;       /* what it does again after errors: "relaying" */
  long idle_ms;              /* the wait after a successful round that did not ask for 0 */
  atomic_ullong *errors;     /* counted per failed connect or round */
  int (*connect)(void *arg); /* STREAM_OK or a status with stream_error_last() set */
  /* One round once connected: STREAM_OK or a status with stream_error_last() set. `*wait_ms`
   * comes preset to idle_ms; the round sets it to 0 to run again at once. */
  int (*round)(void *arg, long *wait_ms);
  void (*after)(void *arg); /* after every connect or round (a lag gauge); may be NULL */
} streamd_nats_job_ops;

typedef struct streamd_nats_job streamd_nats_job;

/* Connect once (ops->connect), then start the thread over `arg` (borrowed: it outlives the
 * job, as do ops and url, which names NATS in the recovery line). *out is the running job.
 * 0, or -1 (logged): the configuration was refused, or no thread could be started; then
 * nothing runs and the caller frees what connect made. */
int streamd_nats_job_start(streamd_nats_job **out, const streamd_nats_job_ops *ops, void *arg,
                           const char *url);

/* Stop and join the thread (a round in progress finishes first: at most libstream's timeout)
 * and free the job. NULL is a no-op. The caller frees its handle after this. */
void streamd_nats_job_stop(streamd_nats_job *j);

/* A configuration string as an option: NULL when empty. */
const char *streamd_nats_opt(const char *s);

/* The connection options the relay and the reader both take from the nats_* keys (the option
 * structs of stream_relay and stream_relay_reader name them alike). */
#define STREAMD_NATS_CONNECTION_OPTIONS(o, cfg)                                                    \
  do {                                                                                             \
    (o).user = streamd_nats_opt((cfg)->nats_user);                                                 \
    (o).secret_file = streamd_nats_opt((cfg)->nats_secret_file);                                   \
    (o).creds_file = streamd_nats_opt((cfg)->nats_creds_file);                                     \
    (o).tls_ca_file = streamd_nats_opt((cfg)->nats_tls_ca_file);                                   \
    (o).tls_cert_file = streamd_nats_opt((cfg)->nats_tls_cert_file);                               \
    (o).tls_key_file = streamd_nats_opt((cfg)->nats_tls_key_file);                                 \
  } while (0)

#endif
