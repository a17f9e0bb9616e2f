/* Schema migration of the SQLite dialect: the QoE consumer's accumulator per
 * view, so later in-order events of a view are folded into its record without
 * re-reading the view. Append only once released. */
#include "../sqlite_internal.h"

/* One row per qoe_views row, written in the same transaction. A view without
 * a row here (recorded before this migration) is rebuilt from its events the
 * next time it has new ones. */
const char *const store__sq_m0009_qoe_state[] = {
    "CREATE TABLE qoe_state ("
    "  view_id TEXT PRIMARY KEY REFERENCES qoe_views(view_id) ON DELETE CASCADE,"
    "  state INTEGER NOT NULL,"
    "  pre_seek INTEGER NOT NULL,"
    "  seek_stall INTEGER NOT NULL CHECK (seek_stall IN (0, 1)),"
    "  have_start INTEGER NOT NULL CHECK (have_start IN (0, 1)),"
    "  prev INTEGER NOT NULL,"
    "  br INTEGER NOT NULL,"
    "  first_ts INTEGER NOT NULL) WITHOUT ROWID;",
    NULL};
