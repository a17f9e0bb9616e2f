/*
 * The PostgreSQL dialect's schema of the events feature (pg_schema.c): the
 * player-event log (outbox) and consumer checkpoints, the QoE view records and
 * the QoE consumer's accumulator per view. The SQLite dialect's tables at
 * version STORE__PG_BASELINE, with every migration that touches them folded
 * in: sqlite/migrations/events.c (6), qoe.c (7), qoe_state.c (9) and the
 * analytics indexes of account_delete.c (11). What the recommendations read
 * (store_recs.h) besides qoe_views lives in the auth and catalog schemas.
 */
#include "pg_internal.h"

const char *const store__pg_schema_events[] = {
    /* The event log is the outbox; the UNIQUE id is the de-duplication. seq is
     * assigned by events.c from event_log_seq (below) inside the write
     * transaction, under the writers' lock, so seq order is commit order and
     * a reader never sees a gap that fills later. */
    "CREATE TABLE event_log ("
    "  seq BIGINT PRIMARY KEY,"
    "  id TEXT NOT NULL UNIQUE,"
    "  type INTEGER NOT NULL CHECK (type BETWEEN 1 AND 13),"
    "  view_id TEXT NOT NULL,"
    "  session_id TEXT NOT NULL DEFAULT '',"
    "  account_id TEXT NOT NULL DEFAULT '',"
    "  profile_id TEXT NOT NULL DEFAULT '',"
    "  title_id TEXT NOT NULL DEFAULT '',"
    "  episode_id TEXT NOT NULL DEFAULT '',"
    "  device_id TEXT NOT NULL DEFAULT '',"
    "  client_ts BIGINT NOT NULL,"
    "  server_ts BIGINT NOT NULL,"
    "  playhead_ms BIGINT NOT NULL DEFAULT 0,"
    "  br BIGINT NOT NULL DEFAULT 0,"
    "  width BIGINT NOT NULL DEFAULT 0,"
    "  height BIGINT NOT NULL DEFAULT 0,"
    "  bl BIGINT NOT NULL DEFAULT 0,"
    "  mtp BIGINT NOT NULL DEFAULT 0,"
    "  sid TEXT NOT NULL DEFAULT '',"
    "  cid TEXT NOT NULL DEFAULT '',"
    "  ot TEXT NOT NULL DEFAULT '',"
    "  su INTEGER NOT NULL DEFAULT 0 CHECK (su IN (0, 1)),"
    "  error_code INTEGER NOT NULL DEFAULT 0,"
    "  error_fatal INTEGER NOT NULL DEFAULT 0 CHECK (error_fatal IN (0, 1)),"
    "  error_message TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX event_log_view ON event_log (view_id, seq);",

    /* SQLite's AUTOINCREMENT (its sqlite_sequence row): the highest seq ever
     * taken, so a seq is never reused, even after old rows are pruned. A
     * sequence would not do: nextval() is not rolled back, so a failed batch
     * would leave a gap that SQLite does not. One row, written in the
     * appending transaction (events.c). */
    "CREATE TABLE event_log_seq ("
    "  one INTEGER PRIMARY KEY CHECK (one = 1),"
    "  seq BIGINT NOT NULL CHECK (seq >= 0));"
    "INSERT INTO event_log_seq (one, seq) VALUES (1, 0);",

    "CREATE TABLE event_consumers ("
    "  name TEXT PRIMARY KEY,"
    "  seq BIGINT NOT NULL CHECK (seq >= 0),"
    "  updated_at BIGINT NOT NULL);",

    /* One row per view, a pure function of the view's events in the log up to
     * last_seq (the QoE consumer's output). */
    "CREATE TABLE qoe_views ("
    "  view_id TEXT PRIMARY KEY,"
    "  session_id TEXT NOT NULL DEFAULT '',"
    "  account_id TEXT NOT NULL DEFAULT '',"
    "  profile_id TEXT NOT NULL DEFAULT '',"
    "  title_id TEXT NOT NULL DEFAULT '',"
    "  episode_id TEXT NOT NULL DEFAULT '',"
    "  device_id TEXT NOT NULL DEFAULT '',"
    "  day TEXT NOT NULL,"
    "  start_ts BIGINT NOT NULL,"
    "  last_ts BIGINT NOT NULL,"
    "  last_seq BIGINT NOT NULL,"
    "  events BIGINT NOT NULL,"
    "  requested INTEGER NOT NULL CHECK (requested IN (0, 1)),"
    "  started INTEGER NOT NULL CHECK (started IN (0, 1)),"
    "  failed INTEGER NOT NULL CHECK (failed IN (0, 1)),"
    "  start_failed INTEGER NOT NULL CHECK (start_failed IN (0, 1)),"
    "  ended INTEGER NOT NULL CHECK (ended IN (0, 1)),"
    "  error_code INTEGER NOT NULL DEFAULT 0,"
    "  startup_ms BIGINT NOT NULL,"
    "  watch_ms BIGINT NOT NULL,"
    "  playing_ms BIGINT NOT NULL,"
    "  rebuffer_count BIGINT NOT NULL,"
    "  rebuffer_ms BIGINT NOT NULL,"
    "  peak_br BIGINT NOT NULL,"
    "  br_ms BIGINT NOT NULL,"
    "  br_sum BIGINT NOT NULL,"
    "  updated_at BIGINT NOT NULL);"
    "CREATE INDEX qoe_views_title ON qoe_views (title_id, day);"
    "CREATE INDEX qoe_views_day ON qoe_views (day, device_id);",

    /* Concurrent viewers look at the last 30 s of playing/heartbeat events. */
    "CREATE INDEX event_log_live ON event_log (server_ts) WHERE type IN (4, 13);",

    /* The QoE consumer's accumulator, one row per qoe_views row, written in
     * the same transaction. */
    "CREATE TABLE qoe_state ("
    "  view_id TEXT PRIMARY KEY REFERENCES qoe_views(view_id) ON DELETE CASCADE,"
    "  state INTEGER NOT NULL,"
    "  pre_seek INTEGER NOT NULL,"
    "  seek_stall INTEGER NOT NULL CHECK (seek_stall IN (0, 1)),"
    "  have_start INTEGER NOT NULL CHECK (have_start IN (0, 1)),"
    "  prev BIGINT NOT NULL,"
    "  br BIGINT NOT NULL,"
    "  first_ts BIGINT NOT NULL);",

    /* Closing an account pseudonymizes its analytics rows (accounts.c). */
    "CREATE INDEX event_log_account ON event_log (account_id) WHERE account_id <> '';",
    "CREATE INDEX qoe_views_account ON qoe_views (account_id) WHERE account_id <> '';", NULL};
