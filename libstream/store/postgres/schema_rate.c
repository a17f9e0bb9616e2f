/*
 * The PostgreSQL dialect's migration 15 (after the baseline, store__pg_migrations):
 * rate-limit buckets, as the SQLite dialect's m0015 (sqlite/migrations/rate_buckets.c),
 * column for column.
 */
#include "pg_internal.h"

const char *const store__pg_m0015_rate_buckets[] = {
    "CREATE TABLE rate_buckets ("
    "  scope TEXT NOT NULL CHECK (length(scope) BETWEEN 1 AND 64),"
    "  key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 255),"
    "  tokens DOUBLE PRECISION NOT NULL CHECK (tokens >= 0),"
    "  updated BIGINT NOT NULL CHECK (updated > 0),"
    "  burst BIGINT NOT NULL CHECK (burst >= 1),"
    "  interval_s BIGINT NOT NULL CHECK (interval_s >= 1),"
    "  full_at BIGINT NOT NULL,"
    "  PRIMARY KEY (scope, key))",
    "CREATE INDEX rate_buckets_full ON rate_buckets (full_at)", NULL};
