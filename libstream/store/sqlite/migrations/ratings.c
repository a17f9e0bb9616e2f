/* Schema migration of the SQLite dialect: explicit thumbs up/down per
 * (profile, title), a recommendations signal. Append only once released. */
#include "../sqlite_internal.h"

const char *const store__sq_m0008_ratings[] = {
    "CREATE TABLE ratings ("
    "  profile_id TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
    "  title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,"
    "  value INTEGER NOT NULL CHECK (value IN (-1, 1)),"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (profile_id, title_id)) WITHOUT ROWID;"
    "CREATE INDEX ratings_title ON ratings (title_id);",
    NULL};
