/*
 * streamd entry point: configuration, signals, data directory and services
 * (app.c), start, drain, stop.
 *
 * Signals are blocked in every thread (the mask is set before libmicrohttpd
 * starts its workers) and taken synchronously with sigwait() here, so no
 * handler runs in async-signal context. SIGTERM/SIGINT: stop accepting,
 * /readyz turns 503, in-flight requests get up to drain_timeout seconds,
 * then the daemon stops and exits 0. A second signal stops at once.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "auth.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "routes.h"
#include "stream/common.h"
#include "stream/store.h"

static void drain(streamd_server *srv, const sigset_t *set, unsigned int timeout_s)
{
  streamd_server_begin_drain(srv);
  streamd_logf(STREAM_LOG_INFO, "draining: %d request(s) in flight, waiting up to %u s",
               atomic_load(&srv->in_flight), timeout_s);
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    if (atomic_load(&srv->in_flight) == 0)
      return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double waited =
        (double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9;
    if (waited >= timeout_s) {
      streamd_logf(STREAM_LOG_WARN, "drain timeout: %d request(s) still in flight",
                   atomic_load(&srv->in_flight));
      return;
    }
    struct timespec tick = {0, 20 * 1000000L};
    if (sigtimedwait(set, NULL, &tick) > 0) {
      streamd_logf(STREAM_LOG_WARN, "second signal: stopping without waiting");
      return;
    }
  }
}

int main(int argc, char **argv)
{
  streamd_metrics_process_start(); /* process_start_time_seconds */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  static streamd_config cfg;
  static streamd_app_options app_opts;
  char err[1200];
  int rc = streamd_app_parse_args(&app_opts, &argc, argv, err, sizeof(err));
  if (rc == 1) {
    streamd_config_usage(stdout);
    streamd_app_usage(stdout);
    return 0;
  }
  if (rc == 0)
    rc = streamd_config_load(&cfg, argc, argv, err, sizeof(err));
  if (rc == 1)
    return 0;
  if (rc != 0) {
    fprintf(stderr, "streamd: %s\n", err);
    return 2;
  }
  if (app_opts.print_routes) {
    streamd_routes_print(stdout);
    return 0;
  }
  if (streamd_log_open(cfg.access_log, cfg.log_level) != 0)
    return 2;
  stream_log_set_callback(streamd_log_library, NULL, cfg.log_level);

  static streamd_auth auth;
  if (streamd_auth_init(&auth, &cfg, err, sizeof(err)) != 0) {
    streamd_logf(STREAM_LOG_ERROR, "%s", err);
    return 2;
  }
  /* streamd owns its process and its SQLite: no global mutex per SQLite allocation for the
   * statistics nobody reads (stream/store.h; bench-store: 2x the reads from 4 threads). */
  if (stream_store_sqlite_memstatus_off() != STREAM_OK)
    streamd_logf(STREAM_LOG_WARN, "%s", stream_error_last()->message);
  static streamd_app app;
  if (streamd_app_open(&app, &cfg, &app_opts) != 0) {
    streamd_app_close(&app);
    streamd_auth_clear(&auth);
    return 2;
  }

  size_t n_routes = 0;
  const streamd_route *routes = streamd_routes(&n_routes);
  static streamd_server srv;
  if (streamd_server_start(&srv, &cfg, routes, n_routes, streamd_auth_authenticate, &auth) != 0) {
    streamd_app_close(&app);
    streamd_auth_clear(&auth);
    return 1;
  }
  /* Services that need the bound port (verification_uri), then the demo data. */
  char *demo_line = NULL;
  if (streamd_app_start(&app, srv.port) != 0 ||
      (app_opts.seed_demo && streamd_app_seed_demo(&app, &demo_line) != 0)) {
    streamd_server_stop(&srv);
    streamd_app_close(&app);
    streamd_auth_clear(&auth);
    return 2;
  }
  /* The machine-readable line on stdout: the bound address and port (ready to serve). */
  printf("{\"event\":\"listening\",\"address\":\"%s\",\"port\":%u}\n", cfg.listen_address,
         (unsigned int)srv.port);
  if (demo_line) {
    /* --seed-demo only: a second line with the address and the demo credentials. */
    printf("%s\n", demo_line);
    explicit_bzero(demo_line, strlen(demo_line));
    free(demo_line);
  }
  fflush(stdout);
  streamd_logf(STREAM_LOG_INFO, "streamd %s listening on %s port %u (%u threads, %u connections)",
               stream_version(), cfg.listen_address, (unsigned int)srv.port, cfg.threads,
               cfg.max_connections);

  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  streamd_logf(STREAM_LOG_INFO, "received %s", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  drain(&srv, &set, cfg.drain_timeout_s);
  streamd_server_stop(&srv);
  streamd_app_close(&app);
  streamd_auth_clear(&auth);
  streamd_logf(STREAM_LOG_INFO, "stopped");
  stream_log_set_callback(NULL, NULL, STREAM_LOG_OFF);
  streamd_metrics_reset();
  streamd_log_close();
  return 0;
}
