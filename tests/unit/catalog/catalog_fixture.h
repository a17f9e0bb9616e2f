/*
 * Shared by the catalog suites' Check fixtures (see catalog_fixture.c): a store in a temporary
 * directory of its own (a SQLite file; under tests/pg/pg_run.sh a PostgreSQL database of its own
 * instead: ../store_path.h) and the catalog service on it with an injected clock. For the test's
 * thread, between catalog_fixture_setup() and catalog_fixture_teardown().
 */
#ifndef STREAM_TEST_CATALOG_FIXTURE_H
#define STREAM_TEST_CATALOG_FIXTURE_H

#include <stdint.h>

#include "stream/catalog.h"
#include "stream/store.h"

#define NOW INT64_C(1750000000)

extern const char *store_uri; /* the store file, or its PostgreSQL database (../store_raw.h too) */
extern stream_store *st;
extern stream_catalog *cat; /* on st, its clock answering clock_now */
extern int64_t clock_now;   /* NOW at setup */

/* The calling thread's last error message ("(no message)" when none). */
const char *msg(void);

/* Make $TMPDIR/stream-<name>-XXXXXX (/tmp when TMPDIR is unset or empty), set clock_now = NOW
 * and open a store file there: catalog_fixture_open(). Asserts. */
void catalog_fixture_setup(const char *name);

/* Open st on store_uri and cat on st (again after catalog_fixture_close()). Asserts. */
void catalog_fixture_open(void);

/* Free cat and close st (NULL both). */
void catalog_fixture_close(void);

/* catalog_fixture_close(), then remove the store's files and the directory. */
void catalog_fixture_teardown(void);

/* An account (viewer@example.com) with two profiles: "Grown-up" (maturity ceiling 18), whose id
 * goes to `adult`, and "Kid" (the kids flag, ceiling 18: the flag caps it at 7) to `kid`. */
void catalog_fixture_profiles(char adult[STREAM_STORE_ID_SIZE], char kid[STREAM_STORE_ID_SIZE]);

#endif
