/* Schema migration 17 of the SQLite dialect: genre names are one genre whatever their ASCII
 * case ("Drama", "drama" and "DRAMA"), as the viewer filter (sqlite/catalog.c VIEW_FILTER)
 * now compares them. Append only once released.
 *
 * Before, genres.name was unique byte for byte, so a catalog could hold "Drama" and "drama" as
 * two genres. They are merged here into the one created first (the lowest id; ids only grow and
 * genres are never deleted, so it is the first spelling ingested): every title of a later
 * spelling moves to the first one (a title that had both keeps one link), then the later rows
 * go. The unique index on the folded name then keeps any new spelling from becoming a genre of
 * its own: catalog.c's insert finds it taken and links the title to the existing row.
 *
 * NOCASE folds A-Z and nothing else, exactly as the PostgreSQL dialect's lower() of a
 * COLLATE "C" column (postgres/schema_genre_fold.c, m0017), so both backends merge and match the
 * same names; other letters ("É", "é") compare byte for byte. The index is IF NOT EXISTS and the
 * statements find nothing to merge the second time: tests roll the recorded version back. */
#include "../sqlite_internal.h"

const char *const store__sq_m0017_genre_fold[] = {
    /* genre -> the first genre of its folded name, for each genre that is not that first one */
    "CREATE TEMP TABLE genre_merge AS"
    "  SELECT g.id AS id, (SELECT min(f.id) FROM genres f WHERE f.name = g.name COLLATE NOCASE)"
    "  AS keep FROM genres g;"
    "DELETE FROM genre_merge WHERE id = keep;",

    "INSERT OR IGNORE INTO title_genres (genre_id, title_id)"
    "  SELECT m.keep, tg.title_id FROM title_genres tg JOIN genre_merge m ON m.id = tg.genre_id;"
    "DELETE FROM title_genres WHERE genre_id IN (SELECT id FROM genre_merge);"
    "DELETE FROM genres WHERE id IN (SELECT id FROM genre_merge);"
    "DROP TABLE genre_merge;",

    "CREATE UNIQUE INDEX IF NOT EXISTS genres_name_fold ON genres (name COLLATE NOCASE);", NULL};
