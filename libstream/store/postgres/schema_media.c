/*
 * The PostgreSQL dialect's schema of the media feature: tus uploads, the
 * durable job queue and the asset registry (pg_schema.c). The SQLite
 * dialect's current tables, every migration folded in: media.c (the tables),
 * asset_publish_seq.c (assets.publish_seq and its indexes).
 *
 * Statuses are the public enums' values: jobs 1 queued, 2 running,
 * 3 succeeded, 4 failed, 5 canceled; assets 1 processing, 2 ready, 3 failed.
 * A running job always has a worker and a lease; the offset of an upload
 * never passes its length.
 *
 * `seq` (jobs, assets) stands for SQLite's rowid, the insertion order that
 * breaks ties of the queue order (created_at, rowid) and of the asset lists
 * (created_at DESC, rowid DESC; publish_seq DESC, rowid DESC). Writes are
 * serialized under the writers' lock, so its values increase in commit order.
 */
#include "pg_internal.h"

const char *const store__pg_schema_media[] = {
    "CREATE TABLE uploads ("
    "  id TEXT PRIMARY KEY,"
    "  owner TEXT,"
    "  length BIGINT NOT NULL CHECK (length >= 0),"
    "  upload_offset BIGINT NOT NULL DEFAULT 0"
    "    CHECK (upload_offset >= 0 AND upload_offset <= length),"
    "  metadata TEXT NOT NULL DEFAULT '{}',"
    "  created_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL DEFAULT 0,"
    "  completed_at BIGINT)",
    "CREATE INDEX uploads_expiry ON uploads (expires_at) WHERE completed_at IS NULL",

    "CREATE TABLE jobs ("
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,"
    "  id TEXT PRIMARY KEY,"
    "  kind TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 32),"
    "  dedup_key TEXT,"
    "  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 5),"
    "  payload TEXT NOT NULL,"
    "  result TEXT,"
    "  error TEXT,"
    "  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    "  max_attempts INTEGER NOT NULL CHECK (max_attempts BETWEEN 1 AND 100),"
    "  progress DOUBLE PRECISION NOT NULL DEFAULT 0,"
    "  cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),"
    "  worker TEXT,"
    "  lease_until BIGINT NOT NULL DEFAULT 0,"
    "  run_after BIGINT NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL,"
    "  finished_at BIGINT NOT NULL DEFAULT 0,"
    "  CHECK (status <> 2 OR (worker IS NOT NULL AND lease_until > 0)))",
    "CREATE UNIQUE INDEX jobs_dedup ON jobs (kind, dedup_key) WHERE dedup_key IS NOT NULL",
    "CREATE INDEX jobs_runnable ON jobs (status, created_at)",

    "CREATE TABLE assets ("
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,"
    "  id TEXT PRIMARY KEY,"
    "  title_id TEXT NOT NULL REFERENCES titles (id) ON DELETE CASCADE,"
    "  episode_id TEXT NOT NULL DEFAULT '',"
    "  status INTEGER NOT NULL CHECK (status BETWEEN 1 AND 3),"
    "  dir TEXT NOT NULL UNIQUE,"
    "  job_id TEXT,"
    "  summary TEXT,"
    "  error TEXT,"
    "  created_at BIGINT NOT NULL,"
    "  ready_at BIGINT NOT NULL DEFAULT 0,"
    "  publish_seq BIGINT NOT NULL DEFAULT 0)",
    "CREATE INDEX assets_title ON assets (title_id, episode_id, status, ready_at)",
    "CREATE INDEX assets_current ON assets (title_id, episode_id, status, publish_seq)",
    "CREATE INDEX assets_publish_seq ON assets (publish_seq)",
    NULL};
