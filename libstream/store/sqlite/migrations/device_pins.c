/* Schema migration 19 of the SQLite dialect: the PIN state a TV sign-in (RFC 8628 device
 * grant) was approved against. Append only once released.
 *
 * An approval for a profile is checked against the profile's PIN (auth/device.c), but the TV
 * gets its tokens only when it next polls, up to the code's lifetime later. A PIN set or changed
 * in between signs the profile's sessions out (its refresh tokens are revoked), yet could not
 * reach tokens issued after it. The approval now records, per device code, a digest of the
 * profile's PIN hash as the approver's check read it (SHA-256 hex of the stored Argon2id string,
 * never the hash itself), and the poll compares it with the profile's PIN hash then.
 *
 * A table of its own rather than a column: its rows go with their authorization (cascade:
 * purge, account close) and CREATE TABLE IF NOT EXISTS lets tests roll the recorded version back
 * and migrate again. A profile approval given no digest records 64 zeros
 * (STREAM_STORE_DEVICE_PIN_UNCHECKED), and so do the profile approvals found here: the row then
 * still reads as a profile approval after the profile's deletion clears its profile_id (auth
 * refuses both). Only an account approval has no row. */
#include "../sqlite_internal.h"

const char *const store__sq_m0019_device_pins[] = {
    "CREATE TABLE IF NOT EXISTS device_profile_pins ("
    "  device_code_hash TEXT PRIMARY KEY"
    "    REFERENCES device_authorizations(device_code_hash) ON DELETE CASCADE,"
    "  pin_digest TEXT NOT NULL CHECK (length(pin_digest) = 64));",
    "INSERT OR IGNORE INTO device_profile_pins (device_code_hash, pin_digest)"
    "  SELECT device_code_hash,"
    "    '0000000000000000000000000000000000000000000000000000000000000000'"
    "  FROM device_authorizations"
    "  WHERE profile_id IS NOT NULL;",
    NULL};
