/* Schema migration of the SQLite dialect: the repair of QoE view records an older build merged
 * from several accounts' events, and an index for the concurrent-viewers count. Append only
 * once released. */
#include "../sqlite_internal.h"

/* A view belongs to the account of its first event in the log (libstream/events/qoe.c); an
 * older build folded every event under the view id into its record, whatever the account. Such
 * a record, of a view whose log holds events of more than one account, is marked in
 * qoe_rebuild and loses its accumulator: the next QoE run rebuilds each marked view from the
 * log up to its checkpoint and the commit that stores it drops the mark (a view without an
 * accumulator is rebuilt, not folded, meanwhile). Deleting the accumulator alone would not do:
 * a view is rebuilt only when it has new events, and an ended view never has. Views of one
 * account are not touched. The accounts are compared with min/max: one pass over the log.
 *
 * Cost: one read of all of event_log and the index build, inside the migration's write
 * transaction, so other writers on the file wait that long (SQLite has no concurrent build; the
 * PostgreSQL dialect leaves a large log's index to CREATE INDEX CONCURRENTLY instead).
 *
 * event_log_view_end serves the concurrent-viewers count (store events.c, ev_concurrent): its
 * anti join looks up the ended or fatal-error events of one (view, account) after a seq; the
 * WHERE is the query's predicate verbatim, so the planners can use the partial index. */
const char *const store__sq_m0016_qoe_repair[] = {
    "CREATE TABLE qoe_rebuild (view_id TEXT PRIMARY KEY) WITHOUT ROWID;",

    "INSERT INTO qoe_rebuild (view_id)"
    "  SELECT e.view_id FROM event_log e JOIN qoe_views v ON v.view_id = e.view_id"
    "  GROUP BY e.view_id HAVING min(e.account_id) <> max(e.account_id);",

    "DELETE FROM qoe_state WHERE view_id IN (SELECT view_id FROM qoe_rebuild);",

    "CREATE INDEX event_log_view_end ON event_log (view_id, account_id, seq)"
    "  WHERE type = 12 OR (type = 11 AND error_fatal = 1);",
    NULL};
