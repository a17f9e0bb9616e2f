/* Schema migration 18 of the SQLite dialect: the index of the title list's name sort, which now
 * ignores ASCII case (sqlite/catalog.c sql_list_name_first/after: ORDER BY name COLLATE NOCASE,
 * id, and the keyset cursor (name, id) compared under NOCASE). Append only once released.
 *
 * NOCASE folds A-Z and nothing else, as the PostgreSQL dialect's lower() of the COLLATE "C"
 * titles.name (postgres/schema_title_name_fold.c, m0018), so both backends list titles in the
 * same order. titles_by_name (name, id), byte order, stays: no query sorts by it any more, but
 * dropping it would buy little on a catalog and is left to a later migration.
 *
 * Cost: one index build over titles (a catalog: thousands of rows) inside the migration's write
 * transaction. IF NOT EXISTS: tests roll the recorded version back and migrate again. */
#include "../sqlite_internal.h"

const char *const store__sq_m0018_title_name_fold[] = {
    "CREATE INDEX IF NOT EXISTS titles_by_name_fold ON titles (name COLLATE NOCASE, id);", NULL};
