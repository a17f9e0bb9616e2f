/*
 * Raw SQL on a unit test's store, on a connection of its own beside the
 * store's: for rows no API writes (QoE view records, backdated rows) and for
 * state no API rewinds (a consumer checkpoint moved back as by a crash). The
 * store is the one test_store_path() picks for `sqlite_path`: the SQLite
 * file, or under tests/pg/pg_run.sh its PostgreSQL database, so the SQL must
 * mean the same in both dialects (plain INSERT / UPDATE / DELETE with literal
 * values; several statements allowed, e.g. inside BEGIN; ... COMMIT;).
 * A `sqlite_path` that is already a postgres:// or postgresql:// URI (what
 * test_store_path() returned, or any database) is that database as is.
 * Link store_raw_src and store_path_src, with sqlite_dep and store_path_deps.
 */
#ifndef STREAM_TEST_STORE_RAW_H
#define STREAM_TEST_STORE_RAW_H

#include <stddef.h>
#include <stdint.h>

/* Run `sql` (aborts the test with the database's message on failure); returns
 * the rows a single INSERT / UPDATE / DELETE changed (after several
 * statements the count is the dialect's: do not rely on it). */
int64_t test_store_raw_exec(const char *sqlite_path, const char *sql);

/* Reads of rows the public API hides (a tombstone, a count of rows): the first
 * column of the first row of the SELECT `sql`, whose every "?" is `arg` (NULL:
 * `sql` has no "?"). SQL NULL reads as 0 / "". No row aborts the test. */
int64_t test_store_raw_int(const char *sqlite_path, const char *sql, const char *arg);
/* The same, as text into out[cap] (truncated). */
void test_store_raw_text(char *out, size_t cap, const char *sqlite_path, const char *sql,
                         const char *arg);

/* A connection of its own that ran `sql` and stays open, holding what that took (a lock in a
 * transaction it left open: SQLite "BEGIN IMMEDIATE", PostgreSQL "BEGIN; LOCK TABLE t IN
 * EXCLUSIVE MODE"), until test_store_raw_close() rolls back and closes it. The SQL is the
 * dialect's own: the caller picks it with test_store_is_pg(). Aborts the test on failure. */
typedef struct test_store_raw_conn test_store_raw_conn;
test_store_raw_conn *test_store_raw_open(const char *sqlite_path, const char *sql);
void test_store_raw_close(test_store_raw_conn *c);

#endif
