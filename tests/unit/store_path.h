/*
 * Which store a unit test opens. Tests name a SQLite path (a file in their
 * temporary directory, or ":memory:"); run under tests/pg/pg_run.sh
 * (STREAM_TEST_PG set), the same test runs on PostgreSQL instead: every
 * distinct file path maps to a database of its own, created on first use (so
 * a reopen of the same path sees the same data, as with the file), and every
 * ":memory:" to a fresh one. Without STREAM_TEST_PG the path is returned as is.
 *
 * On PostgreSQL a new database is a copy of a template the store migrated to
 * this libstream's schema once per server (what stream_store_open() would make
 * of an empty one, without doing it again for each of the ~450 test
 * databases); test_store_path_fresh() gives an empty database instead, for
 * the tests of migrating one.
 */
#ifndef STREAM_TEST_STORE_PATH_H
#define STREAM_TEST_STORE_PATH_H

#include <stdbool.h>
#include <stddef.h>

/* The path to give stream_store_options.path for `sqlite_path`: `sqlite_path`
 * itself, or a postgresql:// URI written into buf (aborts the test on
 * failure). */
const char *test_store_path(char *buf, size_t cap, const char *sqlite_path);

/* The same, but on PostgreSQL a new database is empty (no schema yet). */
const char *test_store_path_fresh(char *buf, size_t cap, const char *sqlite_path);

/* True when the tests run on PostgreSQL. */
bool test_store_is_pg(void);

#endif
