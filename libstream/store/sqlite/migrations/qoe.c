/* Schema migration of the SQLite dialect: QoE view records (the QoE consumer's
 * output) and an index for concurrent viewers. Append only once released. */
#include "../sqlite_internal.h"

/* One row per view, a pure function of the view's events in the log up to
 * last_seq: the QoE consumer folds new in-order events into it (its state is in
 * qoe_state, migration 9) and rebuilds it whole from the log otherwise. Ratios
 * are derived on read from the integer sums. */
const char *const store__sq_m0007_qoe[] = {
    "CREATE TABLE qoe_views ("
    "  view_id TEXT PRIMARY KEY,"
    "  session_id TEXT NOT NULL DEFAULT '',"
    "  account_id TEXT NOT NULL DEFAULT '',"
    "  profile_id TEXT NOT NULL DEFAULT '',"
    "  title_id TEXT NOT NULL DEFAULT '',"
    "  episode_id TEXT NOT NULL DEFAULT '',"
    "  device_id TEXT NOT NULL DEFAULT '',"
    "  day TEXT NOT NULL,"
    "  start_ts INTEGER NOT NULL,"
    "  last_ts INTEGER NOT NULL,"
    "  last_seq INTEGER NOT NULL,"
    "  events INTEGER NOT NULL,"
    "  requested INTEGER NOT NULL CHECK (requested IN (0, 1)),"
    "  started INTEGER NOT NULL CHECK (started IN (0, 1)),"
    "  failed INTEGER NOT NULL CHECK (failed IN (0, 1)),"
    "  start_failed INTEGER NOT NULL CHECK (start_failed IN (0, 1)),"
    "  ended INTEGER NOT NULL CHECK (ended IN (0, 1)),"
    "  error_code INTEGER NOT NULL DEFAULT 0,"
    "  startup_ms INTEGER NOT NULL,"
    "  watch_ms INTEGER NOT NULL,"
    "  playing_ms INTEGER NOT NULL,"
    "  rebuffer_count INTEGER NOT NULL,"
    "  rebuffer_ms INTEGER NOT NULL,"
    "  peak_br INTEGER NOT NULL,"
    "  br_ms INTEGER NOT NULL,"
    "  br_sum INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE INDEX qoe_views_title ON qoe_views (title_id, day);"
    "CREATE INDEX qoe_views_day ON qoe_views (day, device_id);",

    /* Concurrent viewers look at the last 30 s of playing/heartbeat events. */
    "CREATE INDEX event_log_live ON event_log (server_ts) WHERE type IN (4, 13);", NULL};
