/*
 * The PostgreSQL dialect's migration 16 (after the baseline, store__pg_migrations): the
 * repair of QoE view records an older build merged from several accounts' events, and the
 * partial index of the concurrent-viewers count, as the SQLite dialect's m0016
 * (sqlite/migrations/qoe_repair.c, which says why), statement for statement.
 */
#include "pg_internal.h"

const char *const store__pg_m0016_qoe_repair[] = {
    /* bytewise, as SQLite compares text: the order rebuild_list pages by */
    "CREATE TABLE qoe_rebuild (view_id TEXT COLLATE \"C\" PRIMARY KEY)",

    "INSERT INTO qoe_rebuild (view_id)"
    "  SELECT e.view_id FROM event_log e JOIN qoe_views v ON v.view_id = e.view_id"
    "  GROUP BY e.view_id HAVING min(e.account_id) <> max(e.account_id)",

    "DELETE FROM qoe_state WHERE view_id IN (SELECT view_id FROM qoe_rebuild)",

    "CREATE INDEX event_log_view_end ON event_log (view_id, account_id, seq)"
    "  WHERE type = 12 OR (type = 11 AND error_fatal = 1)",
    NULL};
