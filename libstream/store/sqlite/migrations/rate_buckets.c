/* Schema migration of the SQLite dialect: rate-limit buckets shared by every
 * process on the store (stream_store_rate_take; libstream/store/sqlite/rate_buckets.c).
 * Append only once released. */
#include "../sqlite_internal.h"

/* One row per bucket that is not full: (scope, key) -> tokens at `updated`,
 * with the burst and interval it was charged with and full_at, the second it
 * is full again (the purge deletes from there on, through the index). Keys
 * are digests chosen by the caller (auth: SHA-256 of the name), never raw
 * e-mails or addresses. */
const char *const store__sq_m0015_rate_buckets[] = {
    "CREATE TABLE rate_buckets ("
    "  scope TEXT NOT NULL CHECK (length(scope) BETWEEN 1 AND 64),"
    "  key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),"
    "  tokens REAL NOT NULL CHECK (tokens >= 0),"
    "  updated INTEGER NOT NULL CHECK (updated > 0),"
    "  burst INTEGER NOT NULL CHECK (burst >= 1),"
    "  interval_s INTEGER NOT NULL CHECK (interval_s >= 1),"
    "  full_at INTEGER NOT NULL,"
    "  PRIMARY KEY (scope, key));"
    "CREATE INDEX rate_buckets_full ON rate_buckets (full_at);",
    NULL};
