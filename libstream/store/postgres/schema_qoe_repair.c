/*
 * The PostgreSQL dialect's migration 16 (after the baseline, store__pg_migrations): the
 * repair of QoE view records an older build merged from several accounts' events, and the
 * partial index of the concurrent-viewers count, as the SQLite dialect's m0016
 * (sqlite/migrations/qoe_repair.c, which says why), statement for statement but for the
 * index, which is built here only on a small event_log.
 *
 * Locks (the migration is one transaction under the schema lock, pg_store.c migrate): the
 * marking query reads all of event_log, which takes ACCESS SHARE, so appends (ROW EXCLUSIVE)
 * go on meanwhile; the DELETE locks only the qoe_state rows of marked views, until the commit
 * right after. A plain CREATE INDEX, though, holds SHARE on event_log until the commit: every
 * append waits, holding the writers' lock every other write of every daemon then queues on,
 * for as long as the build takes (minutes on 10^8 rows). So the index is built in the migration
 * only when event_log has fewer than STORE__PG_INLINE_INDEX_ROWS rows (a fresh or test database:
 * milliseconds; counted with a LIMIT, not by pg_class.reltuples, which is -1 before the first
 * ANALYZE and stale after); on a larger log it is left to the operator's CREATE INDEX
 * CONCURRENTLY (store__pg_deferred_indexes, docs/api/store.md), which does not block writes,
 * and each open warns until it exists. The concurrent-viewers count is right without it, only
 * slower (a parallel scan of event_log instead of an index-only one).
 */
#include "pg_internal.h"

#define STORE__PG_INLINE_INDEX_ROWS "100000"
#define VIEW_END_INDEX                                                                             \
  "event_log_view_end ON event_log (view_id, account_id, seq)"                                     \
  " WHERE type = 12 OR (type = 11 AND error_fatal = 1)"

const char *const store__pg_m0016_qoe_repair[] = {
    /* bytewise, as SQLite compares text: the order rebuild_list pages by */
    "CREATE TABLE qoe_rebuild (view_id TEXT COLLATE \"C\" PRIMARY KEY)",

    "INSERT INTO qoe_rebuild (view_id)"
    "  SELECT e.view_id FROM event_log e JOIN qoe_views v ON v.view_id = e.view_id"
    "  GROUP BY e.view_id HAVING min(e.account_id) <> max(e.account_id)",

    "DELETE FROM qoe_state WHERE view_id IN (SELECT view_id FROM qoe_rebuild)",

    "DO $$ BEGIN"
    "  IF (SELECT count(*) FROM (SELECT 1 FROM event_log LIMIT " STORE__PG_INLINE_INDEX_ROWS
    ") s) < " STORE__PG_INLINE_INDEX_ROWS " THEN"
    "    CREATE INDEX " VIEW_END_INDEX ";"
    "  END IF;"
    " END $$",
    NULL};

const store__pg_deferred_index store__pg_deferred_indexes[] = {
    {"event_log_view_end", "CREATE INDEX CONCURRENTLY IF NOT EXISTS " VIEW_END_INDEX},
};
const int store__pg_deferred_index_count =
    (int)(sizeof store__pg_deferred_indexes / sizeof store__pg_deferred_indexes[0]);
