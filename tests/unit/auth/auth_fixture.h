/*
 * Shared by the auth suites' Check fixtures (see auth_fixture.c): a temporary directory with the
 * store's SQLite file in it (under tests/pg/pg_run.sh a PostgreSQL database of its own instead:
 * ../store_path.h), a key ring, cheap Argon2id parameters, an injected clock and, when a suite
 * asks, a log callback that keeps every line.
 *
 * Threads: the log callback appends under a mutex (a suite may log from several threads); the rest
 * is for the test's thread, between auth_fixture_setup() and auth_fixture_teardown().
 */
#ifndef STREAM_TEST_AUTH_FIXTURE_H
#define STREAM_TEST_AUTH_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "stream/auth.h"

extern char tmpdir[256];     /* /tmp/stream-<name>-XXXXXX */
extern char dbpath[300];     /* <tmpdir>/db.sqlite, the store's path (also for store_raw.h) */
extern stream_keyring *ring; /* one 32-byte HMAC key, "k1" */
extern int64_t clock_now;    /* what fake_clock answers for auth_fixture_options() */
extern char logbuf[65536];   /* "module: message\n" per log line since setup (with log) */
extern const stream_password_params cheap; /* Argon2id at 8 KiB, 1 pass, 1 lane */

/* A stream_auth_options.now: the int64_t that `ud` points to. */
int64_t fake_clock(void *ud);

/* The calling thread's last error message ("" when none). */
const char *msg(void);

/* Make the directory (named after `name`), create the key ring and set clock_now to t0; with
 * `log`, keep every log line (debug and up) in logbuf until auth_fixture_teardown(). Asserts. */
void auth_fixture_setup(const char *name, int64_t t0, bool log);

/* A new store handle on dbpath (each call its own handle on the same data); the caller closes
 * it with stream_store_close(). Asserts. */
stream_store *auth_fixture_store(void);

/* *o = STREAM_AUTH_OPTIONS_INIT on store `s` with ring, cheap, fake_clock on clock_now, and the
 * account and address bursts at 1000 (out of the way unless a test tightens them). */
void auth_fixture_options(stream_auth_options *o, stream_store *s);

/* Stop keeping log lines, free the key ring, remove the store's files, `extra` (a file name in
 * tmpdir, or NULL) and the directory. Close the suite's auth and store handles first. */
void auth_fixture_teardown(const char *extra);

#endif
