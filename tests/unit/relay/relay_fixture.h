/*
 * The fixture the relay's Check suites share (test_relay.c, test_relay_tls.c,
 * test_relay_free.c, test_relay_reader.c): a temporary directory holding a
 * real store (SQLite, or PostgreSQL under
 * tests/pg/pg_run.sh: store_path.h) and its event log, a nats-server on a free
 * loopback port (nats_server.h) with its JetStream storage in that directory,
 * events ingested through the real ingest, relays drained round by round, and
 * the stream read back with nats.c and compared with the log. One test at a
 * time per process (Check's fork mode): the state is in the globals below.
 */
#ifndef STREAM_TEST_RELAY_FIXTURE_H
#define STREAM_TEST_RELAY_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <check.h>
#include <nats/nats.h>

#include "stream/events.h"
#include "stream/relay.h"

/* ---- the state of the running test ---- */
extern const char *nats_bin; /* the nats-server executable ($NATS_SERVER) */
extern char tmpdir[256];     /* the test's directory, removed by teardown() */
extern char dbpath[300];     /* tmpdir/db.sqlite */
extern char jsdir[300];      /* tmpdir/js: JetStream storage, kept across restarts */
extern stream_store *store;
extern stream_events *events;
extern pid_t server_pid; /* -1: no server */
extern int server_port;  /* picked by setup() */
extern char url[64];     /* nats://127.0.0.1:<server_port> (a test may change it) */

/* ---- nats-server on server_port with storage jsdir ---- */
/* From the configuration file `conf` (it names the port and storage) when set; else with
 * "--user user --pass pass" when `user` is set. */
void server_start_conf(const char *user, const char *pass, const char *conf);
void server_start_args(const char *user, const char *pass);
void server_start(void);
void server_kill(void);

/* ---- fixture (tcase_add_checked_fixture) ---- */
/* A new tmpdir with a store and its event log, server_port and url; no server yet. */
void setup(void);
/* setup() with the event log's clock reading *clock (milliseconds; NULL: the system clock). */
void setup_clock(int64_t *clock);
/* Another store tmpdir/<name> and its event log on *clock (NULL: the system clock), for a
 * suite that needs two; the caller frees both before teardown(). */
void open_log(stream_store **st, stream_events **ev, const char *name, int64_t *clock);
/* Kills the server, frees the event log and store, removes tmpdir. */
void teardown(void);

/* Ingest `n` events numbered from `first` (ids ...-<12 digits of the number>), the types
 * cycling through all thirteen (error events carry an error), account "acct-1". */
void ingest(int first, int n);

/* Run rounds of `r` until one publishes nothing; the total published and duplicates. */
void drain(stream_relay *r, int64_t *published, int64_t *dups);

/* The checkpoint of consumer `consumer` in the event log. */
int64_t checkpoint(const char *consumer);

/* stream_relay_new() fails with `rc`, its message holding `a` and `b` (NULL: not checked);
 * the message is stream_error_last()'s afterwards. */
void expect_fail(const stream_relay_options *o, int rc, const char *a, const char *b);

/* ---- reading the stream back ---- */
typedef struct reader {
  natsConnection *nc;
  jsCtx *js;
} reader;

/* A plain nats.c connection to url and its JetStream context. */
void reader_open(reader *rd);
void reader_close(reader *rd);

/* Messages in STREAM_RELAY_DEFAULT_STREAM. */
uint64_t stream_msgs(reader *rd);

/* The stream holds exactly the event log, in order: message i is event i (seq order), once,
 * with the relay's subject, headers and a payload equal to the stored event. */
void check_stream_equals_log(reader *rd);

/* main() of a relay suite: 77 (meson: skipped) when $NATS_SERVER names no executable; else
 * runs `s` and returns 0 when every test passed, 1 otherwise. Sets nats_bin. */
int relay_suite_main(Suite *s);

#endif
