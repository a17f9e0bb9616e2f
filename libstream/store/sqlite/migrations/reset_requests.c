/* Schema migration of the SQLite dialect: pending password reset requests
 * (stream_auth_password_reset_request / _process; libstream/store/sqlite/reset_requests.c).
 * Append only once released. */
#include "../sqlite_internal.h"

/* One row per accepted request, known and unknown addresses alike: the
 * normalized e-mail and the request time (the link's lifetime counts from it).
 * No token: the processor draws it. AUTOINCREMENT: an id is never reused, so
 * id + attempts names one claim for good. The claim look-up walks the rowid
 * order and skips claimed rows (few: the ones in flight and those whose mail
 * failed), so no index is needed. */
const char *const store__sq_m0014_reset_requests[] = {
    "CREATE TABLE password_reset_requests ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  email TEXT NOT NULL CHECK (length(email) BETWEEN 1 AND 254),"
    "  requested_at INTEGER NOT NULL CHECK (requested_at > 0),"
    "  attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    "  claimed_until INTEGER NOT NULL DEFAULT 0 CHECK (claimed_until >= 0));",
    NULL};
