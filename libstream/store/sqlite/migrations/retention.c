/* Schema migration of the SQLite dialect: indexes for the retention purge
 * (libstream/store/sqlite/purge.c), so each of its batches reads an index range
 * instead of scanning the table. Append only once released. */
#include "../sqlite_internal.h"

/* The partial indexes on payments and refunds find, for an in-progress
 * idempotency key, the pending payment or refund that still needs it. */
const char *const store__sq_m0010_retention[] = {
    "CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);",
    "CREATE INDEX device_authorizations_expiry ON device_authorizations (expires_at);",
    "CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);",
    "CREATE INDEX screen_leases_expiry ON screen_leases (expires_at);",
    "CREATE INDEX payments_pending_idem ON payments (idem_scope, idem_key) WHERE status = 0;",
    "CREATE INDEX refunds_pending_idem ON refunds (idem_scope, idem_key) WHERE status = 0;",
    NULL};
