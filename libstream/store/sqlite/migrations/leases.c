/* Schema migration of the SQLite dialect: screen leases. Append only once released. */
#include "../sqlite_internal.h"

/* One row per (account, device): a device holds at most one screen. A lease is
 * live while expires_at > now; lapsed rows are replaced by the device's next
 * acquire and purged a day later (libstream/store/sqlite/leases.c). */
const char *const store__sq_m0004_leases[] = {
    "CREATE TABLE screen_leases ("
    "  id TEXT PRIMARY KEY,"
    "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  profile_id TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
    "  title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  device_id TEXT NOT NULL CHECK (length(device_id) BETWEEN 1 AND 128),"
    "  device_name TEXT NOT NULL DEFAULT '' CHECK (length(CAST(device_name AS BLOB)) <= 128),"
    "  started_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL CHECK (expires_at > started_at),"
    "  UNIQUE (account_id, device_id));"
    "CREATE INDEX screen_leases_live ON screen_leases (account_id, expires_at);"
    "CREATE INDEX screen_leases_profile ON screen_leases (profile_id);"
    "CREATE INDEX screen_leases_title ON screen_leases (title_id);",
    NULL};
