/*
 * The PostgreSQL dialect's baseline schema of the auth feature: accounts,
 * profiles, refresh tokens, device authorizations, password reset tokens and
 * pending password reset requests. It is the SQLite dialect's schema of the
 * same tables at STORE__PG_BASELINE, every migration folded in: m0001 (the
 * tables), m0010 (the expiry indexes of the retention purge), m0011
 * (accounts.deleted_at, the tombstone of a closed account), m0012
 * (password_resets) and m0014 (password_reset_requests). m0011's indexes on
 * event_log and qoe_views belong to the events feature's list, whose tables
 * they index.
 */
#include "pg_internal.h"

const char *const store__pg_schema_auth[] = {
    "CREATE TABLE accounts ("
    "  id TEXT PRIMARY KEY,"
    "  email TEXT NOT NULL UNIQUE,"
    "  password_hash TEXT NOT NULL DEFAULT '',"
    "  created_at BIGINT NOT NULL,"
    "  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),"
    "  role INTEGER NOT NULL DEFAULT 0 CHECK (role IN (0, 1)),"
    "  deleted_at BIGINT NOT NULL DEFAULT 0 CHECK (deleted_at >= 0))",

    "CREATE TABLE profiles ("
    "  id TEXT PRIMARY KEY,"
    "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  avatar TEXT NOT NULL DEFAULT '',"
    "  kids INTEGER NOT NULL DEFAULT 0 CHECK (kids IN (0, 1)),"
    "  maturity_ceiling INTEGER NOT NULL CHECK (maturity_ceiling >= 0),"
    "  pin_hash TEXT,"
    "  created_at BIGINT NOT NULL,"
    /* profile_list's tie-break after created_at (SQLite: rowid; postgres/profiles.c) */
    "  seq BIGINT GENERATED ALWAYS AS IDENTITY,"
    "  UNIQUE (account_id, name))",

    "CREATE TABLE refresh_tokens ("
    "  token_hash TEXT PRIMARY KEY,"
    "  family_id TEXT NOT NULL,"
    "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  profile_id TEXT REFERENCES profiles(id) ON DELETE CASCADE,"
    "  created_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL,"
    "  used_at BIGINT,"
    "  revoked_at BIGINT)",
    "CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id)",
    "CREATE INDEX refresh_tokens_account ON refresh_tokens (account_id)",
    "CREATE INDEX refresh_tokens_profile ON refresh_tokens (profile_id)",
    "CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at)",

    "CREATE TABLE device_authorizations ("
    "  device_code_hash TEXT PRIMARY KEY,"
    "  user_code TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  scope TEXT NOT NULL DEFAULT '',"
    "  status INTEGER NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 4),"
    "  account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE,"
    "  profile_id TEXT REFERENCES profiles(id) ON DELETE SET NULL,"
    "  interval_s INTEGER NOT NULL,"
    "  created_at BIGINT NOT NULL,"
    "  last_poll_at BIGINT,"
    "  expires_at BIGINT NOT NULL)",
    /* A user code is unique only among pending authorizations. */
    "CREATE UNIQUE INDEX device_pending_user_code ON device_authorizations (user_code)"
    "  WHERE status = 0",
    "CREATE INDEX device_user_code ON device_authorizations (user_code, created_at)",
    "CREATE INDEX device_authorizations_expiry ON device_authorizations (expires_at)",

    /* Only the SHA-256 of a token is kept. used_at 0 = not used yet. */
    "CREATE TABLE password_resets ("
    "  token_hash TEXT PRIMARY KEY CHECK (length(token_hash) = 64),"
    "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  created_at BIGINT NOT NULL,"
    "  expires_at BIGINT NOT NULL CHECK (expires_at > created_at),"
    "  used_at BIGINT NOT NULL DEFAULT 0 CHECK (used_at >= 0))",
    "CREATE INDEX password_resets_account ON password_resets (account_id)",
    "CREATE INDEX password_resets_expiry ON password_resets (expires_at)",

    /* An identity is never reused (SQLite's AUTOINCREMENT), so id + attempts
     * names one claim for good. */
    "CREATE TABLE password_reset_requests ("
    "  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    "  email TEXT NOT NULL CHECK (length(email) BETWEEN 1 AND 254),"
    "  requested_at BIGINT NOT NULL CHECK (requested_at > 0),"
    "  attempts BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    "  claimed_until BIGINT NOT NULL DEFAULT 0 CHECK (claimed_until >= 0))",
    NULL};
