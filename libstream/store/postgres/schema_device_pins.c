/*
 * The PostgreSQL dialect's migration 19 (after the baseline, store__pg_migrations): the PIN
 * state a TV sign-in was approved against, as the SQLite dialect's m0019
 * (sqlite/migrations/device_pins.c, which says why): per device code, the SHA-256 hex of the
 * approved profile's PIN hash as the approver's check read it. Its rows go with their
 * authorization (cascade); IF NOT EXISTS, as tests roll the recorded version back.
 */
#include "pg_internal.h"

const char *const store__pg_m0019_device_pins[] = {
    "CREATE TABLE IF NOT EXISTS device_profile_pins ("
    "  device_code_hash TEXT PRIMARY KEY"
    "    REFERENCES device_authorizations(device_code_hash) ON DELETE CASCADE,"
    "  pin_digest TEXT NOT NULL CHECK (length(pin_digest) = 64))",
    /* The profile approvals already made: the "unchecked" digest (see the SQLite dialect). */
    "INSERT INTO device_profile_pins (device_code_hash, pin_digest)"
    "  SELECT device_code_hash,"
    "    '0000000000000000000000000000000000000000000000000000000000000000'"
    "  FROM device_authorizations"
    "  WHERE profile_id IS NOT NULL ON CONFLICT DO NOTHING",
    NULL};
