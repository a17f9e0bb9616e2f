/*
 * The PostgreSQL dialect's migration 18 (after the baseline, store__pg_migrations): the index of
 * the title list's name sort, which now ignores ASCII case, as the SQLite dialect's m0018
 * (sqlite/migrations/title_name_fold.c, which says why). postgres/catalog.c orders by
 * lower(t.name), t.id; titles.name is COLLATE "C" (schema_catalog.c), under which lower() folds
 * A-Z only, as SQLite's NOCASE. The index expression is the query's, so the planner uses it for
 * both the ORDER BY and the keyset comparison (lower(name), id) > (...).
 *
 * Locks: built inline, always. A plain CREATE INDEX holds SHARE on titles until the migration's
 * commit (one transaction under the schema lock, pg_store.c migrate), so catalog writes wait for
 * the build; titles is a catalog (thousands of rows: milliseconds), written by ingest only, not
 * an append log like event_log, whose index migration 16 (schema_qoe_repair.c) defers to
 * CREATE INDEX CONCURRENTLY on a large table. titles_by_name (name, id) stays, unused.
 */
#include "pg_internal.h"

const char *const store__pg_m0018_title_name_fold[] = {
    "CREATE INDEX IF NOT EXISTS titles_by_name_fold ON titles (lower(name), id)", NULL};
