/*
 * The PostgreSQL dialect's migration 17 (after the baseline, store__pg_migrations): genre names
 * are one genre whatever their ASCII case, as the SQLite dialect's m0017
 * (sqlite/migrations/genre_fold.c, which says why), statement for statement: case variants are
 * merged into the genre created first (the lowest id), then a unique index on the folded name
 * keeps a new spelling from becoming a genre of its own (postgres/catalog.c links the title to
 * the existing genre).
 *
 * The fold is lower() of genres.name, a COLLATE "C" column (schema_catalog.c): under "C",
 * lower() folds A-Z and nothing else, whatever the database's locale, as SQLite's NOCASE does,
 * so both dialects merge and match the same names. A parameter compared with it is folded under
 * COLLATE "C" too (postgres/catalog.c): under the database's default collation (a UTF-8 locale)
 * lower() would fold "É" as well, and PostgreSQL would find genres SQLite does not.
 *
 * Locks: genres and title_genres are small (a catalog's genres and its titles' links); the
 * migration is one transaction under the schema lock (pg_store.c migrate).
 */
#include "pg_internal.h"

const char *const store__pg_m0017_genre_fold[] = {
    /* genre -> the first genre of its folded name, for each genre that is not that first one */
    "CREATE TEMP TABLE genre_merge ON COMMIT DROP AS"
    "  SELECT g.id, (SELECT min(f.id) FROM genres f WHERE lower(f.name) = lower(g.name)) AS keep"
    "  FROM genres g",
    "DELETE FROM genre_merge WHERE id = keep",

    "INSERT INTO title_genres (genre_id, title_id)"
    "  SELECT DISTINCT m.keep, tg.title_id FROM title_genres tg"
    "  JOIN genre_merge m ON m.id = tg.genre_id ON CONFLICT DO NOTHING",
    "DELETE FROM title_genres WHERE genre_id IN (SELECT id FROM genre_merge)",
    "DELETE FROM genres WHERE id IN (SELECT id FROM genre_merge)",
    "DROP TABLE genre_merge",

    "CREATE UNIQUE INDEX IF NOT EXISTS genres_name_fold ON genres (lower(name))",
    NULL};
