/* Schema migration of the SQLite dialect: account deletion (closing an
 * account, libstream/store/sqlite/accounts.c). Append only once released. */
#include "../sqlite_internal.h"

/* A closed account stays as a tombstone row (subscriptions, invoices, payments
 * and refunds keep their foreign-key target): deleted_at > 0 marks it. The
 * partial indexes let the close find the account's rows in the event log and
 * the QoE views (which it pseudonymizes) without scanning them; anonymous rows
 * (account_id '') are left out of the indexes. */
const char *const store__sq_m0011_account_delete[] = {
    "ALTER TABLE accounts ADD COLUMN deleted_at INTEGER NOT NULL DEFAULT 0"
    "  CHECK (deleted_at >= 0);",
    "CREATE INDEX event_log_account ON event_log (account_id) WHERE account_id <> '';",
    "CREATE INDEX qoe_views_account ON qoe_views (account_id) WHERE account_id <> '';", NULL};
