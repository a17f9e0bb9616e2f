/* Schema migration of the SQLite dialect: password reset tokens (the
 * forgotten-password e-mail flow, libstream/store/sqlite/password_resets.c).
 * Append only once released. */
#include "../sqlite_internal.h"

/* Only the SHA-256 of a token is kept. used_at 0 = not used yet. The account
 * index serves "invalidate the account's unused tokens" and the account close;
 * the expiry index serves the retention purge's batches. */
const char *const store__sq_m0012_password_reset[] = {
    "CREATE TABLE password_resets ("
    "  token_hash TEXT PRIMARY KEY CHECK (length(token_hash) = 64),"
    "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL CHECK (expires_at > created_at),"
    "  used_at INTEGER NOT NULL DEFAULT 0 CHECK (used_at >= 0));",
    "CREATE INDEX password_resets_account ON password_resets (account_id);",
    "CREATE INDEX password_resets_expiry ON password_resets (expires_at);", NULL};
