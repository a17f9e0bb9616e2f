/* Schema migration of the SQLite dialect: player events (dedup, event log / outbox, consumer
 * checkpoints). Append only once released. */
#include "../sqlite_internal.h"

/* The event log is the outbox: AUTOINCREMENT so that a seq is never reused,
 * even after old rows are pruned; the UNIQUE id is the de-duplication. One
 * writer assigns seq inside its transaction, so seq order is commit order and
 * a reader never sees a gap that fills later. */
const char *const store__sq_m0006_events[] = {
    "CREATE TABLE event_log ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  id TEXT NOT NULL UNIQUE,"
    "  type INTEGER NOT NULL CHECK (type BETWEEN 1 AND 13),"
    "  view_id TEXT NOT NULL,"
    "  session_id TEXT NOT NULL DEFAULT '',"
    "  account_id TEXT NOT NULL DEFAULT '',"
    "  profile_id TEXT NOT NULL DEFAULT '',"
    "  title_id TEXT NOT NULL DEFAULT '',"
    "  episode_id TEXT NOT NULL DEFAULT '',"
    "  device_id TEXT NOT NULL DEFAULT '',"
    "  client_ts INTEGER NOT NULL,"
    "  server_ts INTEGER NOT NULL,"
    "  playhead_ms INTEGER NOT NULL DEFAULT 0,"
    "  br INTEGER NOT NULL DEFAULT 0,"
    "  width INTEGER NOT NULL DEFAULT 0,"
    "  height INTEGER NOT NULL DEFAULT 0,"
    "  bl INTEGER NOT NULL DEFAULT 0,"
    "  mtp INTEGER NOT NULL DEFAULT 0,"
    "  sid TEXT NOT NULL DEFAULT '',"
    "  cid TEXT NOT NULL DEFAULT '',"
    "  ot TEXT NOT NULL DEFAULT '',"
    "  su INTEGER NOT NULL DEFAULT 0 CHECK (su IN (0, 1)),"
    "  error_code INTEGER NOT NULL DEFAULT 0,"
    "  error_fatal INTEGER NOT NULL DEFAULT 0 CHECK (error_fatal IN (0, 1)),"
    "  error_message TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX event_log_view ON event_log (view_id, seq);",

    "CREATE TABLE event_consumers ("
    "  name TEXT PRIMARY KEY,"
    "  seq INTEGER NOT NULL CHECK (seq >= 0),"
    "  updated_at INTEGER NOT NULL);",
    NULL};
