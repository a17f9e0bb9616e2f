/* Schema migration of the SQLite dialect: tus uploads and the durable jobs table. Append only once
 * released. */
#include "../sqlite_internal.h"

/* Statuses are the public enums' values: jobs 1 queued, 2 running,
 * 3 succeeded, 4 failed, 5 canceled; assets 1 processing, 2 ready, 3 failed.
 * A running job always has a worker and a lease; the offset of an upload
 * never passes its length. */
const char *const store__sq_m0005_media[] = {
    "CREATE TABLE uploads ("
    "  id TEXT PRIMARY KEY,"
    "  owner TEXT,"
    "  length INTEGER NOT NULL CHECK (length >= 0),"
    "  upload_offset INTEGER NOT NULL DEFAULT 0"
    "    CHECK (upload_offset >= 0 AND upload_offset <= length),"
    "  metadata TEXT NOT NULL DEFAULT '{}',"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL DEFAULT 0,"
    "  completed_at INTEGER);",
    "CREATE INDEX uploads_expiry ON uploads (expires_at) WHERE completed_at IS NULL;",

    "CREATE TABLE jobs ("
    "  id TEXT PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 32),"
    "  dedup_key TEXT,"
    "  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 5),"
    "  payload TEXT NOT NULL,"
    "  result TEXT,"
    "  error TEXT,"
    "  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    "  max_attempts INTEGER NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),"
    "  progress REAL NOT NULL DEFAULT 0,"
    "  cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),"
    "  worker TEXT,"
    "  lease_until INTEGER NOT NULL DEFAULT 0,"
    "  run_after INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  finished_at INTEGER NOT NULL DEFAULT 0,"
    "  CHECK (status <> 2 OR (worker IS NOT NULL AND lease_until > 0)));",
    "CREATE UNIQUE INDEX jobs_dedup ON jobs (kind, dedup_key) WHERE dedup_key IS NOT NULL;",
    "CREATE INDEX jobs_runnable ON jobs (status, created_at);",

    "CREATE TABLE assets ("
    "  id TEXT PRIMARY KEY,"
    "  title_id TEXT NOT NULL REFERENCES titles (id) ON DELETE CASCADE,"
    "  episode_id TEXT NOT NULL DEFAULT '',"
    "  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 3),"
    "  dir TEXT NOT NULL UNIQUE,"
    "  job_id TEXT,"
    "  summary TEXT,"
    "  error TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  ready_at INTEGER NOT NULL DEFAULT 0);",
    "CREATE INDEX assets_title ON assets (title_id, episode_id, status, ready_at);",
    NULL};
