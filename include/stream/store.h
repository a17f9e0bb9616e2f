/**
 * @file stream/store.h
 * @brief Persistent storage for the platform services (floor 1, "store"):
 *        accounts, refresh tokens, device authorizations (RFC 8628),
 *        profiles, the catalog (titles, seasons, episodes, genres, search),
 *        resume positions and My List.
 *
 * The store is a handle over one backend. Each backend fills a table of
 * function pointers per entity and keeps its own native SQL; the functions in
 * this header validate their arguments and then dispatch to the backend, so
 * every backend sees the same checked input and reports the same codes. The
 * embedded backend is SQLite (WAL, one writer connection used with
 * BEGIN IMMEDIATE, a small pool of reader connections, foreign keys on).
 *
 * Rows are plain structs. Auth-side rows (accounts, tokens, device
 * authorizations, profiles, progress, My List) have only fixed-size fields:
 * nothing to free. Catalog rows hold heap strings: a row filled by the store is
 * released with the matching *_clear() function; a row the caller fills as
 * input stays owned by the caller and is only read (strings are copied).
 *
 * Identifiers: the store generates ids as 16 random bytes in unpadded
 * base64url (22 characters, [A-Za-z0-9_-]) when the caller leaves the `id`
 * field empty; a caller-chosen id must be 1..STREAM_STORE_ID_MAX characters
 * from the same alphabet. Time is always passed in (`now`, Unix seconds), so
 * tests can inject a clock. Text is UTF-8 and compared byte for byte: every
 * string the store keeps (and every string argument, except the search text
 * of stream_store_title_search() and the store path) must be valid UTF-8, or
 * the call fails with STREAM_EINVAL "<field> is not valid UTF-8", nothing
 * stored, on every backend.
 *
 * Errors: besides the codes each function names, every call that reaches the
 * database may return STREAM_EBUSY (locked beyond the busy timeout; on
 * PostgreSQL also a deadlock or serialization failure, rolled back: retry),
 * STREAM_ENOMEM (also the database's own lack of memory) and STREAM_EIO.
 *
 * Thread-safety: a stream_store handle is safe to use from any number of
 * threads at once (writes are serialized on one connection, reads use a pool).
 * Row structs are plain data owned by the caller.
 */
#ifndef STREAM_STORE_H
#define STREAM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "stream/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest id accepted (characters, without the NUL). */
#define STREAM_STORE_ID_MAX 64
/** Size of an id field, NUL included. */
#define STREAM_STORE_ID_SIZE 65
/** Longest e-mail address (RFC 5321 path limit). */
#define STREAM_STORE_EMAIL_MAX 254
/** Longest password / PIN hash (PHC string). */
#define STREAM_STORE_HASH_MAX 255
/** Length of a token hash: SHA-256 as lowercase hex. */
#define STREAM_STORE_TOKEN_HASH_LEN 64
/** Longest device-grant user code. */
#define STREAM_STORE_USER_CODE_MAX 16
/** Longest OAuth client id. */
#define STREAM_STORE_CLIENT_ID_MAX 128
/** Longest OAuth scope string. */
#define STREAM_STORE_SCOPE_MAX 512
/** Longest profile name. */
#define STREAM_STORE_PROFILE_NAME_MAX 64
/** Longest avatar reference (URL or asset name). */
#define STREAM_STORE_AVATAR_MAX 1024
/** Profiles an account may hold. */
#define STREAM_STORE_PROFILES_MAX 5
/** Longest title or episode name. */
#define STREAM_STORE_TITLE_NAME_MAX 512
/** Longest synopsis. */
#define STREAM_STORE_SYNOPSIS_MAX 8192
/** Longest credits or artwork JSON text. */
#define STREAM_STORE_JSON_MAX 65536
/** Longest genre name. */
#define STREAM_STORE_GENRE_MAX 64
/** Most genres on one title. */
#define STREAM_STORE_GENRES_PER_TITLE 32
/** Longest region code (ISO 3166-1 alpha-2 is 2; room for "419"-style codes). */
#define STREAM_STORE_REGION_MAX 8
/** Most regions on one title. */
#define STREAM_STORE_REGIONS_PER_TITLE 300
/** Largest page / result size of a list or search. */
#define STREAM_STORE_PAGE_MAX 100
/** Longest search query text (bytes). */
#define STREAM_STORE_SEARCH_MAX 256
/** Longest pagination cursor (characters). */
#define STREAM_STORE_CURSOR_MAX 2048

/** A storage handle. Thread-safe (see the file comment). */
typedef struct stream_store stream_store;

/** Options of stream_store_open(). */
typedef struct stream_store_options {
  unsigned int version;         /**< STREAM_STORE_OPTIONS_VERSION */
  const char *path;             /**< database file, or ":memory:" (one private in-memory
                                     database, one connection: for tests), or a libpq URI
                                     "postgres://..." / "postgresql://..." (PostgreSQL
                                     backend, STREAM_HAVE_POSTGRES) */
  unsigned int readers;         /**< reader connections, 1..32 (ignored for ":memory:";
                                     PostgreSQL: readers + 1 pooled connections) */
  unsigned int busy_timeout_ms; /**< how long a connection waits on a lock, 0..600000
                                     (PostgreSQL: lock_timeout) */
  /* version 2 */
  unsigned int sync; /**< stream_store_sync: when a commit is durable (default FULL) */
} stream_store_options;

/**
 * When a committed write is durable (stream_store_options.sync; SQLite's
 * `PRAGMA synchronous` on the writer connection, WAL journal).
 *
 * Every store call that writes returns after its transaction committed. What
 * a returned commit survives depends on this setting:
 * - STREAM_STORE_SYNC_FULL (the default): the write-ahead log is synced to
 *   disk at every commit, so a commit survives the process being killed, an
 *   operating-system crash and a power loss. This is what lets a service say
 *   "acknowledged means kept" for payments, events and upload offsets. Cost:
 *   one fdatasync per commit (see docs/bench.md "Events" for the measured
 *   ingest rate of both settings).
 * - STREAM_STORE_SYNC_NORMAL: the log is synced only at checkpoints. A commit
 *   survives the process being killed at any point; an operating-system crash
 *   or power loss may lose the last commits (never a part of one, never the
 *   database's integrity). For caches, tests and deployments whose disk has a
 *   power-loss-protected write cache.
 * ":memory:" stores ignore the setting.
 */
typedef enum stream_store_sync {
  STREAM_STORE_SYNC_FULL = 0,  /**< durable through power loss (default) */
  STREAM_STORE_SYNC_NORMAL = 1 /**< durable through a process crash only */
} stream_store_sync;

/**
 * Options layout version. Version 1 (no `sync` field) is still accepted and
 * means STREAM_STORE_SYNC_FULL.
 */
#define STREAM_STORE_OPTIONS_VERSION 2
#define STREAM_STORE_OPTIONS_INIT                                                                  \
  {                                                                                                \
    STREAM_STORE_OPTIONS_VERSION, NULL, 4, 5000, STREAM_STORE_SYNC_FULL                            \
  }

/**
 * Open (and create if missing) the store at `opts->path` with the SQLite
 * backend, and apply pending schema migrations in one transaction. A path
 * that is a libpq URI ("postgres://" or "postgresql://") opens the PostgreSQL
 * backend instead: the database must exist; a fresh one gets the schema
 * (docs/api/store.md "The PostgreSQL backend": writes of every process
 * sharing it are serialized, reads are not). Keep passwords out of the URI
 * where it may be logged: libpq reads PGPASSFILE / PGPASSWORD; no message of
 * the store quotes the URI's password (for a URI libpq cannot parse it names
 * the part that failed, showing at most a parameter's name, never a value).
 * Parameters the URI does not set get
 * these defaults, so that a server or network path that stops answering
 * fails the call instead of blocking it for as long as TCP retries:
 * connect_timeout=10 (seconds; unless PGCONNECT_TIMEOUT is set),
 * keepalives=1, keepalives_idle=30, keepalives_interval=10,
 * keepalives_count=3, tcp_user_timeout=30000 (ms). The URI's own values win
 * (e.g. "postgresql://db/stream?connect_timeout=3").
 * On success `*out` belongs to the caller, who closes it with
 * stream_store_close().
 * Errors: STREAM_EINVAL (NULL or empty path, bad options, an unknown sync
 * mode, a PostgreSQL URI libpq cannot parse, or that reads as a password
 * spilled out of its place, shown nowhere: a host or the database name
 * holding an '@', a port not a number, a user name holding a ':'; see
 * docs/api/store.md), STREAM_ENOTSUP (the database
 * was written by a newer libstream: its schema version is higher than this
 * build knows; or a PostgreSQL URI in a build without that backend),
 * STREAM_EBUSY (locked beyond the busy timeout), STREAM_EIO (cannot open,
 * connect or migrate: the message names the reason; a connect that timed out
 * names its connect_timeout), STREAM_ENOMEM.
 * Thread-safe.
 */
STREAM_API int stream_store_open(stream_store **out, const stream_store_options *opts);

/**
 * Close the store and its connections. No other thread may be using it.
 * NULL is a no-op.
 */
STREAM_API void stream_store_close(stream_store *s);

/**
 * The schema version currently applied to the database.
 * Errors: STREAM_EINVAL, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_schema_version(int *out, stream_store *s);

/**
 * Name of the backend: "sqlite" or "postgres". Static string; NULL only for a
 * NULL handle.
 * Thread-safe.
 */
STREAM_API const char *stream_store_backend_name(const stream_store *s);

/**
 * Process-wide: turn SQLite's memory statistics off (SQLITE_CONFIG_MEMSTATUS
 * 0), for a process that owns its SQLite, such as a daemon. With them on (the
 * default of Debian's libsqlite3) every SQLite allocation in the process takes
 * one global mutex, and a store read from several threads contends on it:
 * bench-store measured 4 reader threads of one process at 0.8-1.2x the reads
 * of one thread with the statistics on, 2.1x with them off. Off, for the whole
 * process, sqlite3_memory_used() and sqlite3_status(SQLITE_STATUS_MEMORY_USED)
 * read 0 and sqlite3_soft_heap_limit64() limits nothing, so libstream never
 * does this by itself: the application decides (streamd does).
 * Call once at start, before the first stream_store_open() and before anything
 * else in the process uses SQLite; calling it again then is harmless.
 * Errors: STREAM_EBUSY (SQLite is already initialized in this process: nothing
 * changed). Not thread-safe: call before other threads use SQLite.
 */
STREAM_API int stream_store_sqlite_memstatus_off(void);

/* ---- accounts --------------------------------------------------------- */

/** Account roles. */
typedef enum stream_store_role {
  STREAM_STORE_ROLE_VIEWER = 0,
  STREAM_STORE_ROLE_OPERATOR = 1
} stream_store_role;

/** An account. All fields fixed-size: nothing to free. */
typedef struct stream_store_account {
  char id[STREAM_STORE_ID_SIZE];
  char email[STREAM_STORE_EMAIL_MAX + 1];        /**< normalized by the caller; unique */
  char password_hash[STREAM_STORE_HASH_MAX + 1]; /**< PHC string; may be empty (no password) */
  int64_t created_at;
  int disabled; /**< 0 or 1 */
  int role;     /**< stream_store_role */
} stream_store_account;

/**
 * Create an account from `in` (id generated when `in->id` is empty; created_at
 * set to `now`). `*out` (may be NULL) receives the stored row.
 * Errors: STREAM_EINVAL (bad field, named in the message), STREAM_EEXIST (the
 * e-mail or id is taken), STREAM_EBUSY, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_account_create(stream_store_account *out, stream_store *s,
                                           const stream_store_account *in, int64_t now);

/**
 * Fetch the account with `id` into `*out`.
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND (also for a closed account),
 * STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_account_get(stream_store_account *out, stream_store *s, const char *id);

/**
 * Fetch the account whose normalized e-mail is exactly `email`.
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_account_get_by_email(stream_store_account *out, stream_store *s,
                                                 const char *email);

/**
 * Update password_hash, disabled and role of the account `a->id` (other fields
 * are ignored). Errors: STREAM_EINVAL, STREAM_ENOTFOUND (also for a closed
 * account), STREAM_EIO.
 * Thread-safe.
 */
STREAM_API int stream_store_account_update(stream_store *s, const stream_store_account *a);

/**
 * stream_store_account_update() as a compare-and-set: `a` is written only while
 * the account's row still has the password_hash, disabled flag and role of
 * `expect` (the row the caller read and then changed), so a read-modify-write
 * never undoes a concurrent one (a password change putting back the `disabled`
 * an operator just set, a hash upgrade putting back a replaced password). On
 * STREAM_ECONFLICT read the row again and decide again. `expect->id` must be
 * `a->id`; other fields of both are ignored.
 * Errors: STREAM_EINVAL (NULL, bad fields, `expect` of another account),
 * STREAM_ECONFLICT (the row changed, or is gone or closed: read it again to
 * tell), STREAM_EIO.
 * Thread-safe.
 */
STREAM_API int stream_store_account_update_if(stream_store *s, const stream_store_account *a,
                                              const stream_store_account *expect);

/** What stream_store_account_close() did, per table (rows). */
typedef struct stream_store_account_close_counts {
  size_t profiles;              /**< deleted (with their progress, My List, ratings) */
  size_t refresh_tokens;        /**< deleted */
  size_t device_authorizations; /**< deleted */
  size_t cards;                 /**< saved payment methods deleted */
  size_t screen_leases;         /**< deleted */
  size_t idempotency_keys;      /**< billing request records of the account deleted */
  size_t subscriptions;         /**< live subscription ended now (0 or 1) */
  size_t invoices_voided;       /**< open invoices of that subscription made void */
  size_t events;                /**< event-log rows pseudonymized */
  size_t views;                 /**< QoE view records pseudonymized */
} stream_store_account_close_counts;

/**
 * Close (delete) the account `id` at `now` in ONE write transaction, for the
 * right to erasure: its profiles go (and with them, by cascade, their resume
 * positions, My List, ratings and screen leases), and so do its refresh
 * tokens, device authorizations, saved cards, screen leases and billing
 * idempotency records. Its live subscription (if any) ends now, canceled
 * without refund, so the renewal job never bills it again, and that
 * subscription's open (dunning) invoice becomes void. Event-log rows and QoE
 * view records of the account are kept for the aggregate statistics but
 * pseudonymized: their account, profile and device ids become "" (the event
 * ids stay, so a player's spooled retry of an old batch is still a duplicate,
 * and event-log sequence numbers and consumer offsets are untouched).
 * The account row stays as a tombstone, because subscriptions, invoices,
 * payments and refunds are financial records kept by law and keep it as their
 * foreign-key target: its e-mail becomes "deleted-<id>@invalid" (so the real
 * address can register again), its password hash is cleared (no sign-in can
 * succeed), it is disabled and `deleted_at` is set. From then on
 * stream_store_account_get(), _get_by_email() and _update() treat it as
 * absent (STREAM_ENOTFOUND). Invoices, payments and refunds are not changed
 * (except the void invoice above).
 * `*out` (may be NULL) receives the rows touched; it is zeroed on error.
 * Errors: STREAM_EINVAL (NULL store, bad id, `now` <= 0), STREAM_ENOTFOUND
 * (no such account, or already closed: closing twice never makes a second
 * tombstone), STREAM_EBUSY (a payment of the account is in flight with the
 * provider: retry once it settled; nothing was changed), STREAM_EIO.
 * Thread-safe.
 */
STREAM_API int stream_store_account_close(stream_store_account_close_counts *out, stream_store *s,
                                          const char *id, int64_t now);

/* ---- refresh tokens --------------------------------------------------- */

/** A refresh token, stored by its hash. Fixed-size: nothing to free. */
typedef struct stream_store_refresh {
  char token_hash[STREAM_STORE_TOKEN_HASH_LEN + 1]; /**< SHA-256 of the token, lowercase hex */
  char family_id[STREAM_STORE_ID_SIZE];             /**< rotation family */
  char account_id[STREAM_STORE_ID_SIZE];
  char profile_id[STREAM_STORE_ID_SIZE]; /**< empty = no profile */
  int64_t created_at;
  int64_t expires_at;
  int64_t used_at;    /**< 0 = never used */
  int64_t revoked_at; /**< 0 = not revoked */
} stream_store_refresh;

/**
 * Store a new refresh token (`used_at` and `revoked_at` of `t` are ignored and
 * stored as 0). Errors: STREAM_EINVAL, STREAM_EEXIST (same hash),
 * STREAM_ENOTFOUND (no such account or profile), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_refresh_insert(stream_store *s, const stream_store_refresh *t);

/**
 * Fetch the token whose hash is `token_hash`.
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_refresh_get(stream_store_refresh *out, stream_store *s,
                                        const char *token_hash);

/**
 * Mark the token used at `now`, atomically and only once: of any number of
 * concurrent callers exactly one gets STREAM_OK; the others (and every later
 * call) get STREAM_ECONFLICT, which signals token reuse. Expiry and revocation
 * are not checked here (read the row first).
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_ECONFLICT, STREAM_EIO.
 * Thread-safe.
 */
STREAM_API int stream_store_refresh_mark_used(stream_store *s, const char *token_hash, int64_t now);

/**
 * Revoke (revoked_at = now) every not yet revoked token of the family.
 * `*out_count` (may be NULL) receives the number of tokens revoked; 0 is not
 * an error. Errors: STREAM_EINVAL, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_refresh_revoke_family(size_t *out_count, stream_store *s,
                                                  const char *family_id, int64_t now);

/**
 * Revoke every not yet revoked token of the account (sign out everywhere).
 * `*out_count` (may be NULL) receives the number revoked.
 * Errors: STREAM_EINVAL, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_refresh_revoke_account(size_t *out_count, stream_store *s,
                                                   const char *account_id, int64_t now);

/**
 * Revoke every not yet revoked token bound to the profile (the sessions that
 * entered it, used or not; tokens of the account without a profile and of
 * other profiles are kept). `*out_count` (may be NULL) receives the number
 * revoked; 0 is not an error. Errors: STREAM_EINVAL, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_refresh_revoke_profile(size_t *out_count, stream_store *s,
                                                   const char *profile_id, int64_t now);

/* ---- device authorizations (RFC 8628) --------------------------------- */

/** Status of a device authorization. */
typedef enum stream_store_device_status {
  STREAM_STORE_DEVICE_PENDING = 0,
  STREAM_STORE_DEVICE_APPROVED = 1,
  STREAM_STORE_DEVICE_DENIED = 2,
  STREAM_STORE_DEVICE_CONSUMED = 3,
  STREAM_STORE_DEVICE_EXPIRED = 4 /**< set when a pending row's user code is reused */
} stream_store_device_status;

/** A device authorization. Fixed-size: nothing to free. */
typedef struct stream_store_device {
  char device_code_hash[STREAM_STORE_TOKEN_HASH_LEN + 1]; /**< SHA-256 hex of the device code */
  char user_code[STREAM_STORE_USER_CODE_MAX + 1];         /**< unique among pending rows */
  char client_id[STREAM_STORE_CLIENT_ID_MAX + 1];
  char scope[STREAM_STORE_SCOPE_MAX + 1]; /**< may be empty */
  int status;                             /**< stream_store_device_status */
  char account_id[STREAM_STORE_ID_SIZE];  /**< set when approved */
  char profile_id[STREAM_STORE_ID_SIZE];  /**< set when approved; may be empty */
  int interval;                           /**< polling interval, seconds */
  int64_t created_at;
  int64_t last_poll_at; /**< 0 = never polled */
  int64_t expires_at;
  /** The approved profile's PIN state as the approver checked it: SHA-256
   *  (lowercase hex) of its PIN hash as read for the check ("" hashed when the
   *  profile had no PIN), so a poll can tell that the PIN was set, changed or
   *  removed since. STREAM_STORE_DEVICE_PIN_UNCHECKED for a profile approval
   *  that gave none (stream_store_device_approve() with a profile, and the
   *  profile approvals migration 19 found). It stays when the profile is
   *  deleted (which clears `profile_id`), so the row still tells a profile
   *  approval from an account one. "" = none: not approved, approved without a
   *  profile, or approved for a profile by a libstream before schema version 19
   *  after the migration. Ignored by stream_store_device_insert(). */
  char profile_pin_digest[STREAM_STORE_TOKEN_HASH_LEN + 1];
} stream_store_device;

/**
 * Store a new pending authorization (status, account_id, profile_id and
 * last_poll_at of `d` are ignored). A pending row that holds the same user code
 * but has expired by `d->created_at` is marked EXPIRED first, freeing the code.
 * Errors: STREAM_EINVAL, STREAM_EEXIST (device code hash taken, or user code
 * held by a live pending row: draw a new one), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_device_insert(stream_store *s, const stream_store_device *d);

/**
 * Fetch by device code hash. Errors: STREAM_EINVAL, STREAM_ENOTFOUND,
 * STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_device_get(stream_store_device *out, stream_store *s,
                                       const char *device_code_hash);

/**
 * Fetch by user code: the pending row holding it, otherwise the newest row
 * that used it. Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EIO.
 * Thread-safe.
 */
STREAM_API int stream_store_device_get_by_user_code(stream_store_device *out, stream_store *s,
                                                    const char *user_code);

/**
 * Approve the pending, unexpired authorization holding `user_code` for
 * `account_id` (and `profile_id`, may be NULL or empty). Only one approve or
 * deny ever succeeds. Errors: STREAM_EINVAL, STREAM_ENOTFOUND (no such code,
 * or no such account/profile), STREAM_EEXPIRED (expired at or before `now`),
 * STREAM_ECONFLICT (not pending any more), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_device_approve(stream_store *s, const char *user_code,
                                           const char *account_id, const char *profile_id,
                                           int64_t now);

/**
 * The profile PIN digest of a profile approval that was given none (64 zeros,
 * the SHA-256 of no PIN state): stream_auth_device_poll() refuses it.
 */
#define STREAM_STORE_DEVICE_PIN_UNCHECKED                                                          \
  "0000000000000000000000000000000000000000000000000000000000000000"

/**
 * stream_store_device_approve() that also records `profile_pin_digest` (see
 * stream_store_device.profile_pin_digest: 64 lowercase hex characters; NULL
 * or "" = STREAM_STORE_DEVICE_PIN_UNCHECKED, as stream_store_device_approve()
 * records) with the approval, in the same transaction, for a profile
 * approval (`profile_id` set; an approval without a profile records none).
 * stream_auth_device_poll() refuses a profile approval whose digest is not the one of the profile's
 * PIN hash at the poll, or that has none. Errors: those of stream_store_device_approve(),
 * STREAM_EINVAL (a digest that is not 64 lowercase hex, or one without a
 * profile). Thread-safe.
 */
STREAM_API int stream_store_device_approve_profile(stream_store *s, const char *user_code,
                                                   const char *account_id, const char *profile_id,
                                                   const char *profile_pin_digest, int64_t now);

/**
 * Deny the pending, unexpired authorization holding `user_code`.
 * Errors: as stream_store_device_approve(). Thread-safe.
 */
STREAM_API int stream_store_device_deny(stream_store *s, const char *user_code, int64_t now);

/**
 * Record a poll at `now` and return the previous poll time in `*out_prev`
 * (0 when never polled), atomically, so the caller can answer slow_down.
 * `new_interval` > 0 also replaces the stored interval (slow_down adds 5 s).
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_device_record_poll(int64_t *out_prev, stream_store *s,
                                               const char *device_code_hash, int new_interval,
                                               int64_t now);

/**
 * Consume an approved, unexpired authorization exactly once and return the
 * row (now CONSUMED) in `*out` (may be NULL). Errors: STREAM_EINVAL,
 * STREAM_ENOTFOUND, STREAM_EEXPIRED, STREAM_ECONFLICT (pending, denied or
 * already consumed: read the row to tell which), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_device_consume(stream_store_device *out, stream_store *s,
                                           const char *device_code_hash, int64_t now);

/* ---- password reset tokens -------------------------------------------- */

/** A password reset token (forgotten-password e-mail), stored by its hash.
 *  Fixed-size: nothing to free. */
typedef struct stream_store_password_reset {
  char token_hash[STREAM_STORE_TOKEN_HASH_LEN + 1]; /**< SHA-256 of the token, lowercase hex */
  char account_id[STREAM_STORE_ID_SIZE];
  int64_t created_at;
  int64_t expires_at;
  int64_t used_at; /**< 0 = not used */
} stream_store_password_reset;

/**
 * Store a new reset token for `r->account_id` (`r->used_at` is ignored and
 * stored as 0) and, in the same write transaction, delete every unused reset
 * token of that account, so only the newest link works. `*out_invalidated`
 * (may be NULL) receives how many were deleted.
 * Errors: STREAM_EINVAL (bad field; expires_at not after created_at),
 * STREAM_EEXIST (same hash), STREAM_ENOTFOUND (no such account, or closed),
 * STREAM_EBUSY, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_password_reset_insert(size_t *out_invalidated, stream_store *s,
                                                  const stream_store_password_reset *r);

/**
 * Fetch the reset token whose hash is `token_hash`.
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_password_reset_get(stream_store_password_reset *out, stream_store *s,
                                               const char *token_hash);

/**
 * Use a reset token, in ONE write transaction: mark it used at `now` (only
 * when unused and expires_at > now: of any number of concurrent callers at
 * most one succeeds), set the account's password hash to `password_hash` (a
 * PHC string, 1..STREAM_STORE_HASH_MAX bytes), revoke every refresh token of
 * the account and delete its other unused reset tokens. A failure changes
 * nothing. `*out` (may be NULL) receives the used row; `*out_revoked` (may
 * be NULL) the number of refresh tokens revoked.
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND (no such token; or its account is
 * closed), STREAM_ECONFLICT (already used), STREAM_EEXPIRED (expires_at <=
 * now), STREAM_EBUSY, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_password_reset_consume(stream_store_password_reset *out,
                                                   size_t *out_revoked, stream_store *s,
                                                   const char *token_hash,
                                                   const char *password_hash, int64_t now);

/* ---- rate-limit buckets ------------------------------------------------ */

/** Longest rate-limit scope, in bytes. */
#define STREAM_STORE_RATE_SCOPE_MAX 64
/** Longest rate-limit key, in bytes. */
#define STREAM_STORE_RATE_KEY_MAX 255
/** Most buckets one stream_store_rate_take() charges together. */
#define STREAM_STORE_RATE_KEYS_MAX 4
/** Largest burst of a bucket. */
#define STREAM_STORE_RATE_BURST_MAX 1000000
/** Largest refill interval of a bucket, in seconds. */
#define STREAM_STORE_RATE_INTERVAL_MAX 86400

/**
 * One token bucket to charge: the bucket is named by (`scope`, `key`) and
 * holds at most `burst` tokens, one more every `interval` seconds. A bucket
 * that has no row is full. The strings are borrowed for the call. The store
 * keeps whatever key it is given: callers limiting people (e-mails, client
 * addresses) pass a digest of the name, not the name.
 */
typedef struct stream_store_rate_key {
  const char *scope;  /**< 1..STREAM_STORE_RATE_SCOPE_MAX bytes of UTF-8, e.g. "signin-account" */
  const char *key;    /**< 1..STREAM_STORE_RATE_KEY_MAX bytes of UTF-8 */
  unsigned int burst; /**< 1..STREAM_STORE_RATE_BURST_MAX tokens */
  unsigned int interval; /**< 1..STREAM_STORE_RATE_INTERVAL_MAX seconds per token */
} stream_store_rate_key;

/**
 * Take one token from each of the `n` buckets `keys` (1..STREAM_STORE_RATE_KEYS_MAX,
 * no two the same scope and key), all or none, in ONE write transaction: so
 * every thread and process on the store (several daemons on one PostgreSQL
 * database) draws from the same buckets. Each bucket is first refilled to
 * `now` (Unix seconds): (now - updated) / interval tokens, at most `burst`;
 * a `now` before the bucket's last update refills nothing (the clocks of
 * several processes may differ a little). When every bucket then holds at
 * least one token, one is taken from each and they are written back, and
 * `*out_wait` is 0. Otherwise nothing is written and `*out_wait` receives the
 * whole seconds (rounded up, >= 1) until every bucket holds one again.
 * The burst and interval of a bucket are the ones of the call (a changed
 * configuration applies from the next call on).
 * Errors: STREAM_EINVAL (NULL out_wait, store or keys; n out of range; a key
 * field out of range or not UTF-8, named in the message; a repeated bucket;
 * now <= 0), STREAM_EBUSY, STREAM_EIO. `*out_wait` is 0 on error. Thread-safe.
 */
STREAM_API int stream_store_rate_take(int64_t *out_wait, stream_store *s,
                                      const stream_store_rate_key *keys, size_t n, int64_t now);

/**
 * Make the bucket (`scope`, `key`) full again (its row is deleted; an absent
 * bucket is not an error): a successful sign-in forgives the failed ones.
 * Errors: STREAM_EINVAL (NULL store; scope or key empty, too long or not
 * UTF-8), STREAM_EBUSY, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_rate_reset(stream_store *s, const char *scope, const char *key);

/* ---- profiles --------------------------------------------------------- */

/** A profile of an account. Fixed-size: nothing to free. */
typedef struct stream_store_profile {
  char id[STREAM_STORE_ID_SIZE];
  char account_id[STREAM_STORE_ID_SIZE];
  char name[STREAM_STORE_PROFILE_NAME_MAX + 1]; /**< unique within the account */
  char avatar[STREAM_STORE_AVATAR_MAX + 1];     /**< may be empty */
  int kids;                                     /**< 0 or 1 */
  int maturity_ceiling;                         /**< highest rating shown, >= 0 */
  char pin_hash[STREAM_STORE_HASH_MAX + 1];     /**< PHC string; empty = no PIN */
  int64_t created_at;
} stream_store_profile;

/**
 * Create a profile (id generated when `in->id` is empty, created_at = now).
 * The limit of STREAM_STORE_PROFILES_MAX per account is checked inside the
 * write transaction, so concurrent creates never exceed it.
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND (no such account), STREAM_EEXIST
 * (name taken in this account), STREAM_ERANGE (the account already has the
 * maximum number of profiles), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_profile_create(stream_store_profile *out, stream_store *s,
                                           const stream_store_profile *in, int64_t now);

/**
 * Fetch a profile. Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EIO.
 * Thread-safe.
 */
STREAM_API int stream_store_profile_get(stream_store_profile *out, stream_store *s, const char *id);

/**
 * The profiles of an account, oldest first. `*out` is an array of `*out_count`
 * rows the caller frees with stream_free() (NULL when there are none).
 * Errors: STREAM_EINVAL, STREAM_ENOMEM, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_profile_list(stream_store_profile **out, size_t *out_count,
                                         stream_store *s, const char *account_id);

/**
 * Update name, avatar, kids, maturity_ceiling and pin_hash of profile `p->id`.
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EEXIST (name taken),
 * STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_profile_update(stream_store *s, const stream_store_profile *p);

/**
 * stream_store_profile_update() as a compare-and-set: `p` is written only while
 * the profile's row still has the name, avatar, kids flag, maturity ceiling and
 * pin_hash of `expect` (the row the caller read and then changed), so a profile
 * edit never undoes a concurrent one (a PIN change putting back the `kids` flag
 * a parent just set). On STREAM_ECONFLICT read the row again and decide again.
 * `expect->id` must be `p->id`.
 * Errors: STREAM_EINVAL (NULL, bad fields, `expect` of another profile),
 * STREAM_ECONFLICT (the row changed or is gone), STREAM_EEXIST (name taken),
 * STREAM_EIO.
 * Thread-safe.
 */
STREAM_API int stream_store_profile_update_if(stream_store *s, const stream_store_profile *p,
                                              const stream_store_profile *expect);

/**
 * Delete a profile with its progress, My List, ratings and refresh tokens.
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_profile_delete(stream_store *s, const char *id);

/**
 * stream_store_profile_delete() as a compare-and-delete: profile `expect->id`
 * is deleted only while its PIN hash is still `expect->pin_hash` ("" = no
 * PIN), in one transaction, so a caller that decided from the row it read
 * whether the deletion needs the account password (a PIN-locked profile)
 * never deletes a profile that got a PIN after that read. The other fields
 * of `expect` are not compared. On STREAM_ECONFLICT read the row again and
 * decide again.
 * Errors: STREAM_EINVAL (NULL, bad id), STREAM_ECONFLICT (the PIN hash
 * changed, or the profile is gone), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_profile_delete_if(stream_store *s, const stream_store_profile *expect);

/* ---- catalog ---------------------------------------------------------- */

/** Kinds of title. */
typedef enum stream_store_title_kind {
  STREAM_STORE_TITLE_MOVIE = 0,
  STREAM_STORE_TITLE_SERIES = 1
} stream_store_title_kind;

/**
 * A title. As input (create/update) the caller owns every pointer and the store
 * copies what it needs. As output every pointer is owned by the row: release
 * with stream_store_title_clear().
 */
typedef struct stream_store_title {
  char id[STREAM_STORE_ID_SIZE];
  int kind;            /**< stream_store_title_kind */
  char *name;          /**< required */
  char *synopsis;      /**< NULL or text */
  int year;            /**< 0 = unknown */
  int runtime;         /**< minutes; 0 = unknown */
  int maturity_rating; /**< >= 0; compared with a profile's ceiling */
  char **genres;       /**< genre names, `genre_count` of them, sorted on output */
  size_t genre_count;
  char *credits_json;      /**< NULL or JSON text, stored verbatim */
  char *artwork_json;      /**< NULL or JSON text of artwork URLs, stored verbatim */
  int64_t available_from;  /**< 0 = always since */
  int64_t available_until; /**< 0 = forever; exclusive */
  char **regions;          /**< region codes; none = available everywhere */
  size_t region_count;
  int64_t created_at;
  int64_t updated_at;
} stream_store_title;

/** Free what a store-filled title holds and zero it. NULL is a no-op. */
STREAM_API void stream_store_title_clear(stream_store_title *t);

/** An episode. Output strings are owned by the row (see stream_store_title_detail_clear()). */
typedef struct stream_store_episode {
  char id[STREAM_STORE_ID_SIZE];
  char season_id[STREAM_STORE_ID_SIZE];
  int number;     /**< >= 1, unique within the season */
  char *name;     /**< required */
  char *synopsis; /**< NULL or text */
  int runtime;    /**< minutes */
} stream_store_episode;

/** A season with its episodes (output only). */
typedef struct stream_store_season {
  char id[STREAM_STORE_ID_SIZE];
  char title_id[STREAM_STORE_ID_SIZE];
  int number;                     /**< >= 0 (0 = specials), unique within the title */
  stream_store_episode *episodes; /**< by number */
  size_t episode_count;
} stream_store_season;

/** A title with its seasons and episodes (output only). */
typedef struct stream_store_title_detail {
  stream_store_title title;
  stream_store_season *seasons; /**< by number */
  size_t season_count;
} stream_store_title_detail;

/** Free what a title detail holds and zero it. NULL is a no-op. */
STREAM_API void stream_store_title_detail_clear(stream_store_title_detail *d);

/**
 * Create a title (id generated when `in->id` is empty; created_at = updated_at
 * = now). `out_id` (may be NULL) must hold STREAM_STORE_ID_SIZE bytes and
 * receives the id. Genres are created on first use; genre names ignore the
 * case of ASCII letters (A-Z only), so a name that differs from an existing
 * genre only there ("drama" when "Drama" exists) is that genre, with the
 * spelling it was created with (in a title's genres and in genre lists).
 * Errors: STREAM_EINVAL, STREAM_EEXIST (id taken), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_title_create(char *out_id, stream_store *s,
                                         const stream_store_title *in, int64_t now);

/**
 * Replace every field of title `t->id` (genres and regions included; genres
 * named as by stream_store_title_create()) except created_at; updated_at =
 * now. Errors: STREAM_EINVAL, STREAM_ENOTFOUND,
 * STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_title_update(stream_store *s, const stream_store_title *t, int64_t now);

/**
 * Delete a title with its seasons, episodes, progress, My List entries and ratings.
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_title_delete(stream_store *s, const char *id);

/**
 * Fetch a title (no availability or maturity filtering: an operator view).
 * Release `*out` with stream_store_title_clear().
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_ENOMEM, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_title_get(stream_store_title *out, stream_store *s, const char *id);

/**
 * Fetch a title with its seasons and episodes, read in one snapshot.
 * Release `*out` with stream_store_title_detail_clear().
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_ENOMEM, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_title_get_detail(stream_store_title_detail *out, stream_store *s,
                                             const char *id);

/**
 * Add season `number` to series `title_id`. `out_id` (may be NULL) receives
 * the new id (STREAM_STORE_ID_SIZE bytes). Errors: STREAM_EINVAL,
 * STREAM_ENOTFOUND (no such title), STREAM_EEXIST (number taken), STREAM_EIO.
 * Thread-safe.
 */
STREAM_API int stream_store_season_create(char *out_id, stream_store *s, const char *title_id,
                                          int number);

/**
 * Delete a season and its episodes. Errors: STREAM_EINVAL, STREAM_ENOTFOUND,
 * STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_season_delete(stream_store *s, const char *id);

/**
 * Add an episode to season `in->season_id` (id generated when `in->id` is
 * empty). `out_id` (may be NULL) receives the id. Errors: STREAM_EINVAL,
 * STREAM_ENOTFOUND (no such season), STREAM_EEXIST (number or id taken),
 * STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_episode_create(char *out_id, stream_store *s,
                                           const stream_store_episode *in);

/**
 * Replace number, name, synopsis and runtime of episode `e->id`.
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EEXIST, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_episode_update(stream_store *s, const stream_store_episode *e);

/**
 * Delete an episode (and resume positions on it). Errors: STREAM_EINVAL,
 * STREAM_ENOTFOUND, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_episode_delete(stream_store *s, const char *id);

/** Sort orders of stream_store_title_list(). */
typedef enum stream_store_title_sort {
  STREAM_STORE_SORT_NAME = 0,  /**< name ascending ignoring the case of ASCII letters (A-Z only,
                                    other bytes as they are), then id: names that differ only
                                    in case are ordered by id; the same on every backend */
  STREAM_STORE_SORT_NEWEST = 1 /**< created_at descending, then id descending */
} stream_store_title_sort;

/** What to list or search, and the viewer's filters. */
typedef struct stream_store_title_query {
  unsigned int version; /**< STREAM_STORE_TITLE_QUERY_VERSION */
  const char *genre;    /**< NULL = every genre; else matched ignoring the case
                             of ASCII letters ("drama" finds "Drama", "été"
                             does not find "Été"), as genres are stored */
  const char *region;   /**< NULL = no region filter; else titles without regions
                             or listing one that matches this one as the catalog's
                             viewer region does (this code, or for a country a UN M49
                             area containing it: stream_catalog_viewer.region) */
  int maturity_ceiling; /**< only titles with maturity_rating <= this (>= 0) */
  int64_t now;          /**< only titles available at this time */
  unsigned int limit;   /**< 1..STREAM_STORE_PAGE_MAX */
  const char *cursor;   /**< NULL = first page; else next_cursor of the previous page */
  int sort;             /**< stream_store_title_sort (list only) */
} stream_store_title_query;

#define STREAM_STORE_TITLE_QUERY_VERSION 1
#define STREAM_STORE_TITLE_QUERY_INIT                                                              \
  {                                                                                                \
    STREAM_STORE_TITLE_QUERY_VERSION, NULL, NULL, 1000, 0, 20, NULL, STREAM_STORE_SORT_NAME        \
  }

/** A page of titles (output only). */
typedef struct stream_store_title_page {
  stream_store_title *items; /**< `count` rows */
  size_t count;
  char *next_cursor; /**< opaque; NULL on the last page */
} stream_store_title_page;

/** Free a page and zero it. NULL is a no-op. */
STREAM_API void stream_store_title_page_clear(stream_store_title_page *p);

/**
 * One page of titles matching `q`, ordered by (sort key, id) and paginated by
 * keyset: a cursor encodes the last row's key, so rows inserted between two
 * calls never cause duplicates or skip pre-existing rows. Release `*out` with
 * stream_store_title_page_clear().
 * Errors: STREAM_EINVAL (bad query or cursor, or a cursor of another sort
 * order), STREAM_ENOMEM, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_title_list(stream_store_title_page *out, stream_store *s,
                                       const stream_store_title_query *q);

/**
 * Full-text search over title names (weighted) and synopses, best match first
 * (bm25). Every word of `text` must match as a prefix, with case and
 * diacritics folded ("amelie" finds "Amélie"). Punctuation and query syntax in
 * `text` are treated as separators, never as operators, and so are bytes that
 * are not UTF-8 (`text` may hold any bytes). The filters, `limit`
 * and nothing else of `q` apply (no cursor: next_cursor is always NULL).
 * Text without any word gives an empty page. Release with
 * stream_store_title_page_clear().
 * Errors: STREAM_EINVAL (NULL, or longer than STREAM_STORE_SEARCH_MAX bytes),
 * STREAM_ENOMEM, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_title_search(stream_store_title_page *out, stream_store *s,
                                         const char *text, const stream_store_title_query *q);

/**
 * Every genre used by at least one title, sorted by name ignoring the case
 * of ASCII letters (A-Z), then byte by byte. `*out` is an
 * array of `*out_count` strings; free it with stream_store_strings_free(). Errors: STREAM_EINVAL,
 * STREAM_ENOMEM, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_genre_list(char ***out, size_t *out_count, stream_store *s);

/**
 * Every genre with at least one title that passes the viewer filters of `q`
 * (maturity_ceiling, now, region: exactly the filters of
 * stream_store_title_list()), sorted as stream_store_genre_list(); so each genre returned lists
 * at least one title with the same `q`. `q` is validated as by
 * stream_store_title_list(); its genre, limit, cursor and sort are not used.
 * `*out` is an array of `*out_count` strings; free it with
 * stream_store_strings_free(). Errors: STREAM_EINVAL (NULL out, out_count or
 * q, bad query), STREAM_ENOMEM, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_genre_list_visible(char ***out, size_t *out_count, stream_store *s,
                                               const stream_store_title_query *q);

/** Free an array of `count` strings returned by the store. NULL is a no-op. */
STREAM_API void stream_store_strings_free(char **v, size_t count);

/* ---- resume positions and My List ------------------------------------- */

/** A resume position. Fixed-size: nothing to free. */
typedef struct stream_store_progress {
  char profile_id[STREAM_STORE_ID_SIZE];
  char title_id[STREAM_STORE_ID_SIZE];
  char episode_id[STREAM_STORE_ID_SIZE]; /**< empty for a movie */
  int64_t position_ms;                   /**< >= 0 */
  int64_t duration_ms;                   /**< > 0 */
  int64_t updated_at;
} stream_store_progress;

/**
 * Insert or replace the position of (profile, title, episode); updated_at = now.
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND (no such profile or title),
 * STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_progress_upsert(stream_store *s, const stream_store_progress *p,
                                            int64_t now);

/**
 * Fetch the position of (profile, title, episode); `episode_id` NULL or empty
 * for a movie. Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_progress_get(stream_store_progress *out, stream_store *s,
                                         const char *profile_id, const char *title_id,
                                         const char *episode_id);

/**
 * "Continue watching": for each title, the profile's most recent position,
 * kept only when position < 95 % of duration; most recent first, at most
 * `limit` (1..STREAM_STORE_PAGE_MAX). `*out` (caller frees with stream_free();
 * NULL when empty) holds `*out_count` rows.
 * Errors: STREAM_EINVAL, STREAM_ENOMEM, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_continue_watching(stream_store_progress **out, size_t *out_count,
                                              stream_store *s, const char *profile_id,
                                              unsigned int limit);

/** An entry of My List. Fixed-size. */
typedef struct stream_store_mylist_item {
  char title_id[STREAM_STORE_ID_SIZE];
  int64_t added_at;
} stream_store_mylist_item;

/**
 * Add a title to a profile's list. Idempotent: adding it again is STREAM_OK
 * and keeps the first added_at. Errors: STREAM_EINVAL, STREAM_ENOTFOUND (no
 * such profile or title), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_mylist_add(stream_store *s, const char *profile_id,
                                       const char *title_id, int64_t now);

/**
 * Remove a title from a profile's list. Idempotent: removing an absent title
 * is STREAM_OK. Errors: STREAM_EINVAL, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_mylist_remove(stream_store *s, const char *profile_id,
                                          const char *title_id);

/**
 * A profile's list, most recently added first. `*out` (caller frees with
 * stream_free(); NULL when empty) holds `*out_count` items.
 * Errors: STREAM_EINVAL, STREAM_ENOMEM, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_mylist_list(stream_store_mylist_item **out, size_t *out_count,
                                        stream_store *s, const char *profile_id);

/* ---- ratings (thumbs up/down) ------------------------------------------ */

/**
 * Set a profile's rating of a title: `value` 1 (thumbs up) or -1 (thumbs
 * down); a new value replaces the previous one and its updated_at.
 * Errors: STREAM_EINVAL (bad id or value), STREAM_ENOTFOUND (no such profile
 * or title), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_rating_put(stream_store *s, const char *profile_id,
                                       const char *title_id, int value, int64_t now);

/**
 * Clear a profile's rating of a title. Idempotent: clearing an absent rating
 * is STREAM_OK. Errors: STREAM_EINVAL, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_rating_delete(stream_store *s, const char *profile_id,
                                          const char *title_id);

/**
 * A profile's rating of a title: `*out_value` is 1, -1, or 0 when there is
 * none (not an error, also for unknown ids). Errors: STREAM_EINVAL,
 * STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_rating_get(int *out_value, stream_store *s, const char *profile_id,
                                       const char *title_id);

/* ---- retention (purge of transient rows) ------------------------------- */

/** Shortest idempotency-key retention: replays are promised for 24 hours. */
#define STREAM_STORE_IDEMPOTENCY_RETENTION_MIN 86400
/** Largest number of rows one purge transaction deletes (batch_size range 1..this). */
#define STREAM_STORE_PURGE_BATCH_MAX 100000

/**
 * What stream_store_purge() may delete. All durations are seconds, counted
 * back from the `now` given to the purge; a row exactly on a boundary is kept.
 * Fill with stream_store_purge_policy_default() and change fields.
 */
typedef struct stream_store_purge_policy {
  unsigned int version; /**< STREAM_STORE_PURGE_POLICY_VERSION */
  /** Refresh tokens whose expires_at is more than this long ago (default 7 days, >= 0). */
  int64_t refresh_grace;
  /** Device authorizations whose expires_at is more than this long ago, whatever
   * their status (default 1 day, >= 0). */
  int64_t device_grace;
  /** Idempotency keys created more than this long ago (default 7 days, at least
   * STREAM_STORE_IDEMPOTENCY_RETENTION_MIN). */
  int64_t idempotency_retention;
  /** Lapsed screen leases whose expires_at is more than this long ago
   * (default 1 day, >= 0). */
  int64_t lease_grace;
  /** Rows deleted per write transaction, 1..STREAM_STORE_PURGE_BATCH_MAX (default 1000). */
  unsigned int batch_size;
  /* ---- version 2 ---- */
  /** Password reset tokens whose expires_at is more than this long ago, used
   * or not (default 1 day, >= 0). A version-1 policy gets the default. */
  int64_t reset_grace;
  /* ---- version 3: no new field (stream_store_purge_counts.rate_buckets) ---- */
} stream_store_purge_policy;

/** 2 added reset_grace and stream_store_purge_counts.password_resets; 3 added
 *  stream_store_purge_counts.rate_buckets (the policy struct is the same as
 *  version 2's). Versions 1 and 2 are accepted. */
#define STREAM_STORE_PURGE_POLICY_VERSION 3

/** Rows deleted by stream_store_purge(), per table. */
typedef struct stream_store_purge_counts {
  size_t refresh_tokens;
  size_t device_authorizations;
  size_t idempotency_keys;
  size_t screen_leases;
  /** Only written when `p` is a version-2 or later policy: a caller passing NULL or a
   *  version-1 policy may have been built against the version-1 struct, which ends before it. */
  size_t password_resets;
  /** Only written when `p` is a version-3 policy (a version-2 caller's struct ends before it). */
  size_t rate_buckets;
} stream_store_purge_counts;

/**
 * Fill `*p` with the default policy (version set; see the field comments).
 * NULL is a no-op. Thread-safe.
 */
STREAM_API void stream_store_purge_policy_default(stream_store_purge_policy *p);

/**
 * Delete transient rows that outlived their use, as of `now` (Unix seconds):
 *   - refresh tokens with expires_at < now - refresh_grace, used or not,
 *     revoked or not. An unexpired token is never deleted, so rotation reuse
 *     detection (a replayed rotated token revokes its family) keeps working
 *     for the whole life of the token and `refresh_grace` after it; a purged
 *     token is then simply unknown (STREAM_EAUTH at refresh).
 *   - device authorizations (RFC 8628) with expires_at < now - device_grace,
 *     whatever their status (pending, approved, denied, consumed).
 *   - billing idempotency keys with created_at < now - idempotency_retention,
 *     except a key whose request is still in progress (no recorded outcome)
 *     while a pending payment or refund belongs to it: that one stays until
 *     the payment or refund settles. Payments, refunds and invoices are never
 *     deleted. A purged key is unknown: the same key is then a new request.
 *   - screen leases with expires_at < now - lease_grace (lapsed leases; a
 *     heartbeat on a purged lease answers STREAM_ENOTFOUND instead of
 *     STREAM_EEXPIRED).
 *   - password reset tokens with expires_at < now - reset_grace, used or not
 *     (a purged token is unknown: the same answer as a used one). `p` NULL or
 *     a version-1 policy purges them with the default grace (1 day) without
 *     reporting the count (that caller's stream_store_purge_counts may end
 *     before the field); pass a version-2 or later policy to get it.
 *   - rate-limit buckets (stream_store_rate_take) that have refilled to full
 *     by `now` (updated + (burst - tokens) * interval <= now): an absent
 *     bucket is a full one, so this forgets nothing. Every policy version
 *     purges them; only a version-3 policy gets the count.
 * Work is done in batches of `p->batch_size` rows, each its own short write
 * transaction, so a large purge never holds the writer for long; a failure
 * leaves the batches already committed in place (a later purge continues).
 * `p` NULL = stream_store_purge_policy_default(). `*out` (may be NULL)
 * receives the rows deleted per table, also on failure (what was committed).
 * Errors: STREAM_EINVAL (NULL store, bad policy version, a negative grace, an
 * idempotency retention under STREAM_STORE_IDEMPOTENCY_RETENTION_MIN, a batch
 * size out of range, `now` <= 0), STREAM_EBUSY, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_store_purge(stream_store_purge_counts *out, stream_store *s, int64_t now,
                                  const stream_store_purge_policy *p);

#ifdef __cplusplus
}
#endif
#endif /* STREAM_STORE_H */
