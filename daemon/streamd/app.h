/*
 * The application state behind the service routes: the data directory, the
 * SQLite store, the access-token signing key, and the auth and catalog
 * services. main.c creates one streamd_app; route handlers reach it through
 * streamd_app_get() (published once start-up is complete).
 */
#ifndef STREAMD_APP_H
#define STREAMD_APP_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "http.h"
#include "stream/auth.h"
#include "stream/billing.h"
#include "stream/catalog.h"
#include "stream/delivery.h"
#include "stream/events.h"
#include "stream/jobs.h"
#include "stream/keys.h"
#include "stream/recs.h"
#include "stream/store.h"

#define STREAMD_DEFAULT_DEMO_CATALOG "examples/data/demo-catalog.json"
#define STREAMD_DEMO_EMAIL "demo@example.com"
/* The access-token keys: <data_dir>/keys/access.key (kid access-1), access-<n>.key and
 * access-<n>.next.key (kid access-<n>): streamd_key_generations() in keyfile.h. */
#define STREAMD_ACCESS_KEY_ROLE "access"

/* Flags handled here rather than in config.c (see streamd_app_usage). -1 = service default. */
typedef struct streamd_app_options {
  int seed_demo;
  int print_routes;
  char demo_catalog[1024];
  char public_url[512]; /* "" = http://<listen_address>:<port> */
  long access_ttl;
  long device_lifetime;
  long device_interval;
  long rate_account_burst, rate_account_interval;
  long rate_address_burst, rate_address_interval;
  int trust_forwarded_for; /* take the login address from X-Forwarded-For */
} streamd_app_options;

typedef struct streamd_app {
  streamd_app_options opts;
  const streamd_config *cfg;
  stream_store *store;
  stream_keyring *keys;
  stream_key *rate_key; /* <data_dir>/keys/rate.key, with store_url only */
  stream_catalog *catalog;
  stream_events *events;   /* routes_events.c: player-event ingest and event log */
  struct streamd_qoe *qoe; /* routes_stats.c: the QoE consumer thread (NULL when off) */
  stream_auth *auth;
  struct streamd_billing *billing_svc; /* billing_job.c: provider, service, renewal thread */
  stream_billing *billing;             /* borrowed from billing_svc */
  struct streamd_recs *recs_svc;       /* recs_job.c: recommendations and the retrain thread */
  stream_recs *recs;                   /* borrowed from recs_svc */
  struct streamd_purge *purge;         /* purge_job.c: the retention purge thread (or NULL) */
  struct streamd_relay *relay;         /* relay_job.c: event log -> NATS JetStream (or NULL) */
  struct streamd_reader *reader;       /* reader_job.c: NATS JetStream -> event log (or NULL) */
  /* reset_queue.c: sends password reset links off the request path */
  struct streamd_reset_queue *reset_queue;
  /* routes_media.c: the origin and playback signing (streamd_media_open). */
  char media_root[1100];         /* <data_dir>/media: one directory per asset */
  stream_keyring *media_keys;    /* keys/media.key and its generations, or the CDN key */
  stream_delivery *delivery;     /* signs playback URLs, checks origin requests */
  stream_jobs *media_jobs;       /* asset registry lookups (which asset plays a title) */
  struct streamd_ingest *ingest; /* ingest.c: tus uploads, transcode jobs and workers */
  char public_url[512];
  int lock_fd; /* <data_dir>/streamd.lock, held (flock) while the SQLite store is open; or -1 */
} streamd_app;

/*
 * Take the application flags out of argv (argc updated) so that the rest
 * goes to streamd_config_load(). 0, 1 for --help (usage printed), or -1 with
 * `err`.
 */
int streamd_app_parse_args(streamd_app_options *o, int *argc, char **argv, char *err,
                           size_t errlen);

/* Print the application flags (after config.c's reference). */
void streamd_app_usage(FILE *f);

/* Data directory, store, signing key, catalog. 0 or -1 (logged). */
int streamd_app_open(streamd_app *app, const streamd_config *cfg, const streamd_app_options *o);

/* The auth service (needs the bound port for the verification URI); then publish. 0 or -1. */
int streamd_app_start(streamd_app *app, unsigned int port);

/*
 * --seed-demo: import the demo catalog when the catalog is empty, create the
 * demo account (password generated once, kept in <data_dir>/demo-credentials.json,
 * 0600). `*out_line` receives the JSON line main prints on stdout after the
 * listening line (it holds the password: wipe, then free()). 0 or -1.
 */
int streamd_app_seed_demo(streamd_app *app, char **out_line);

/* routes_media.c: media root, media signing key, delivery handle (needs public_url). 0 or -1. */
int streamd_media_open(streamd_app *app);
void streamd_media_close(streamd_app *app);

/* Unpublish and free everything (the server must be stopped). */
void streamd_app_close(streamd_app *app);

/* The running application, or NULL before streamd_app_start() finished. */
streamd_app *streamd_app_get(void);

/* For handlers: the application, or answer 503 and return NULL. */
streamd_app *streamd_app_require(const streamd_request *req, streamd_response *resp);

#endif
