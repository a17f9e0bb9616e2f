/**
 * @file stream/auth.h
 * @brief The account service (floor 2, "auth"): registration, password
 *        sign-in with Argon2id and rate limits, JWT access tokens, rotating
 *        refresh tokens with reuse detection, revocation (RFC 7009), the OAuth
 *        2.0 Device Authorization Grant for TVs (RFC 8628) and profiles.
 *
 * A stream_auth handle sits on a stream_store (accounts, refresh tokens,
 * device authorizations, profiles) and a key ring (access-token keys). It
 * speaks no HTTP: streamd maps each function to a route and each status to an
 * HTTP status / OAuth error (docs/api/auth.md has the table).
 *
 * Tokens:
 * - Access tokens are JWTs (stream_token_issue) with sub = account id, iss and
 *   aud from the options, a random jti, exp = iat + access_ttl (900 s), and
 *   the claims "role" ("viewer" | "operator"), "scope" and, when the token is
 *   scoped to a profile, "pid" (profile id), "kids" (0/1) and "mat" (the
 *   profile's maturity ceiling). Their claims are stateless: revocation of
 *   refresh tokens and profile changes take effect when they expire. Only
 *   the account is looked up at verification (one read), so the tokens of a
 *   deleted or disabled account stop working at once.
 * - Refresh tokens are opaque: 32 CSPRNG bytes in unpadded base64url (43
 *   characters). Only their SHA-256 (hex) is stored, in a rotation family.
 *   Every refresh consumes the presented token and returns a new one of the
 *   same family; presenting a consumed token again is reuse: the whole family
 *   is revoked and STREAM_EAUTH says "reuse detected".
 *
 * Error discipline: unknown e-mail and wrong password give the same code and
 * message (STREAM_EAUTH, "invalid e-mail or password") after the same Argon2id
 * work. Messages never contain passwords, PINs or tokens.
 *
 * Structs returned here are fixed-size (nothing to free). stream_auth_tokens
 * holds bearer secrets: wipe it when done if it lived in long-lived memory.
 *
 * Thread-safety: a stream_auth handle may be used by any number of threads at
 * once (the daemon calls it from a thread pool). Its configuration is
 * immutable; the rate-limit tables lock internally; the store and key ring are
 * thread-safe themselves.
 */
#ifndef STREAM_AUTH_H
#define STREAM_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "stream/common.h"
#include "stream/keys.h"
#include "stream/password.h"
#include "stream/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits and sizes ------------------------------------------------- */

/** Shortest and longest password, in bytes. */
#define STREAM_AUTH_PASSWORD_MIN 8
#define STREAM_AUTH_PASSWORD_MAX 1024
/** Longest normalized e-mail address, and the size of a buffer holding one. */
#define STREAM_AUTH_EMAIL_MAX 254
#define STREAM_AUTH_EMAIL_SIZE 255
/** Size of an id buffer (22-character store ids; room for 64). */
#define STREAM_AUTH_ID_SIZE 65
/** Size of the access-token buffer (the longest token issued is far shorter). */
#define STREAM_AUTH_ACCESS_TOKEN_SIZE 4096
/** Length of a refresh token / device code (43 base64url characters) and buffer size. */
#define STREAM_AUTH_REFRESH_TOKEN_LEN 43
#define STREAM_AUTH_REFRESH_TOKEN_SIZE 64
#define STREAM_AUTH_DEVICE_CODE_SIZE 64
/** A user code as shown: "XXXX-XXXX" (9 characters) and buffer size. */
#define STREAM_AUTH_USER_CODE_LEN 9
#define STREAM_AUTH_USER_CODE_SIZE 16
/** The user-code alphabet (RFC 8628 §6.1): 20 consonants, no vowels, no digits. */
#define STREAM_AUTH_USER_CODE_ALPHABET "BCDFGHJKLMNPQRSTVWXZ"
/** Longest verification URI, and the sizes of the URI buffers of stream_auth_device_code. */
#define STREAM_AUTH_URI_MAX 1024
#define STREAM_AUTH_URI_SIZE 1025
#define STREAM_AUTH_URI_COMPLETE_SIZE 1056
/** Longest scope string in a token / option, and buffer size. */
#define STREAM_AUTH_SCOPE_MAX 255
#define STREAM_AUTH_SCOPE_SIZE 256
/** Longest OAuth client id of the device grant (printable ASCII). */
#define STREAM_AUTH_CLIENT_ID_MAX 128
/** Longest client address used as a rate-limit key (IPv6 text fits easily). */
#define STREAM_AUTH_ADDRESS_MAX 255
/** Profiles per account. */
#define STREAM_AUTH_PROFILES_MAX 5
/** Profile name, avatar limits (bytes). */
#define STREAM_AUTH_PROFILE_NAME_MAX 64
#define STREAM_AUTH_AVATAR_MAX 1024
/** Maturity ceilings: one of 0, 7, 13, 16, 18 (the catalog's ratings). */
#define STREAM_AUTH_MATURITY_MAX 18
/** Highest ceiling a kids profile may have (equals STREAM_CATALOG_KIDS_CEILING). */
#define STREAM_AUTH_KIDS_CEILING 7
/** Length of a profile PIN (ASCII digits). */
#define STREAM_AUTH_PIN_LEN 4
/** Length of a password reset token (43 base64url characters of 32 random bytes). */
#define STREAM_AUTH_RESET_TOKEN_LEN 43
/** Longest reset_url_base option (the token is appended to it). */
#define STREAM_AUTH_RESET_URL_MAX 1024
/** Password reset requests: per e-mail a burst of 3, one more every 600 s;
 *  per client address a burst of 10, one more every 60 s. */
#define STREAM_AUTH_RESET_EMAIL_BURST 3
#define STREAM_AUTH_RESET_EMAIL_INTERVAL 600
#define STREAM_AUTH_RESET_ADDRESS_BURST 10
#define STREAM_AUTH_RESET_ADDRESS_INTERVAL 60

/* ---- handle and options ----------------------------------------------- */

/** The auth service. Thread-safe (see the file comment). */
typedef struct stream_auth stream_auth;

/** A clock: Unix seconds. Called from any thread; must be thread-safe. */
typedef int64_t (*stream_auth_clock_fn)(void *userdata);

/**
 * Delivers one e-mail (the password reset link): `to` is the normalized
 * address, `subject` one line of ASCII, `text_body` UTF-8 text with LF line
 * ends. The strings are borrowed for the call only (the body holds a secret:
 * do not log it). Return 0 when the message was accepted for delivery,
 * anything else on failure. stream_auth_password_reset_process() deletes the
 * request after a 0, so 0 should mean "accepted durably" (e.g. written and
 * synced to a spool); a failure leaves the request pending for a retry. Called
 * from the thread calling stream_auth_password_reset_start(),
 * stream_auth_password_reset_send() or stream_auth_password_reset_process(),
 * with no store lock held; must be thread-safe.
 */
typedef int (*stream_auth_mail_fn)(void *userdata, const char *to, const char *subject,
                                   const char *text_body);

/** Account roles (same values as stream_store_role). */
typedef enum stream_auth_role {
  STREAM_AUTH_ROLE_VIEWER = 0,
  STREAM_AUTH_ROLE_OPERATOR = 1
} stream_auth_role;

/** Options of stream_auth_new(). Pointers are borrowed or copied as noted. */
typedef struct stream_auth_options {
  unsigned int version;       /**< STREAM_AUTH_OPTIONS_VERSION */
  stream_store *store;        /**< required; borrowed: must outlive the handle */
  const stream_keyring *keys; /**< required; access-token keys (primary signs); borrowed */
  const char *issuer;         /**< "iss" of access tokens (1..255 bytes), NULL = none; copied */
  const char *audience;       /**< "aud" of access tokens (1..255 bytes), NULL = none; copied */
  int64_t access_ttl;         /**< access-token lifetime, 1..86400 s (default 900) */
  int64_t refresh_ttl;        /**< refresh-token lifetime from its issue, 60..31536000 s
                                   (default 2592000 = 30 days; sliding: each rotation renews it) */
  const stream_password_params *password; /**< Argon2id parameters for passwords and PINs;
                                NULL = the defaults; copied (salt must be NULL) */
  const char *scope;                      /**< scope granted to every access token (1..255 bytes of
                                               RFC 6749 scope syntax); NULL = "stream"; copied */
  unsigned int rate_account_burst;    /**< login attempts per account in a burst; 0 = no limit */
  unsigned int rate_account_interval; /**< seconds to regain one account attempt (>= 1) */
  unsigned int rate_address_burst;    /**< login attempts per client address; 0 = no limit */
  unsigned int rate_address_interval; /**< seconds to regain one address attempt (>= 1) */
  unsigned int rate_table_size;       /**< entries per rate-limit table, 64..1048576 */
  const char *verification_uri;       /**< the activation page shown to users (absolute http(s)
                                           URI, <= 1024 bytes), NULL = device grant disabled; copied */
  int device_interval;                /**< minimum seconds between polls, 1..60 (default 5) */
  int device_lifetime;      /**< seconds a device/user code lives, 60..3600 (default 600) */
  stream_auth_clock_fn now; /**< NULL = the system clock */
  void *now_userdata;       /**< passed to `now` */
  /* ---- version 2: the forgotten-password e-mail (stream_auth_password_reset_start) ---- */
  stream_auth_mail_fn send_mail; /**< delivers reset links; NULL = password reset disabled */
  void *mail_userdata;           /**< passed to `send_mail` */
  const char *reset_url_base;    /**< absolute http(s) URL the token is appended to, e.g.
                                      "https://app.example/reset?token=" (<= 1024 bytes, no
                                      spaces or control characters); required with send_mail;
                                      copied */
  int reset_lifetime;            /**< seconds a reset link lives, 300..86400 (default 1800) */
  /* ---- version 3: rate limits shared through the store ---- */
  /** 1 = keep the rate-limit buckets (sign-in per account and per address,
   *  PIN attempts, password-reset requests per e-mail and per address) in the
   *  auth's store (stream_store_rate_take), shared by every process on it:
   *  several daemons on one PostgreSQL database then allow the configured
   *  burst in total, not once each. Buckets are named by the SHA-256 of the
   *  limited name (no e-mail or address in the table); each attempt is one
   *  write transaction, and a store failure refuses the attempt (its error is
   *  returned). 0 (default) = in this process's memory (rate_table_size). */
  int rate_in_store;
  /* ---- version 4: keyed bucket names in the store ---- */
  /** With rate_in_store: an HMAC key (STREAM_KEY_HMAC, at least 32 bytes)
   *  that names the store's buckets by HMAC-SHA256(key, name) instead of the
   *  plain SHA-256 of the name. A plain digest of an IPv4 address or of a
   *  known e-mail is found again by hashing guesses; a keyed one is not,
   *  without the key. Every process sharing the store must use the same key
   *  (streamd: <data_dir>/keys/rate.key), or each counts its own buckets;
   *  changing it starts every bucket full once. NULL = the plain SHA-256
   *  (versions 1-3). A reference is kept: the caller may free its own at once.
   *  Ignored (but checked) when rate_in_store is 0. */
  const stream_key *rate_key;
} stream_auth_options;

/** 2 added send_mail, mail_userdata, reset_url_base and reset_lifetime; 3
 *  added rate_in_store; 4 added rate_key. An older struct (which ends before
 *  the fields its version lacks) is still accepted, with the defaults for the
 *  rest. */
#define STREAM_AUTH_OPTIONS_VERSION 4
/** Defaults: 15-min access, 30-day refresh, 5 attempts/account (1 per 60 s),
 *  20 per address (1 per 6 s), 4096-entry tables, 5 s interval, 600 s codes,
 *  no mail hook (no password reset), 30-min reset links, limits in memory,
 *  no rate key. */
#define STREAM_AUTH_OPTIONS_INIT                                                                   \
  {                                                                                                \
    STREAM_AUTH_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 900, 2592000, NULL, NULL, 5, 60, 20, 6,   \
        4096, NULL, 5, 600, NULL, NULL, NULL, NULL, NULL, 1800, 0, NULL                            \
  }

/**
 * Create the auth service. Validates every option, copies the strings, and
 * computes a dummy password hash with the configured parameters (used so that
 * a sign-in with an unknown e-mail costs the same as a wrong password).
 * On success `*out` belongs to the caller, who frees it with stream_auth_free()
 * before closing the store or freeing the key ring.
 * Errors: STREAM_EINVAL (NULL out/opts/store/keys, unknown version, an option
 * out of range: named in the message), STREAM_ERANGE (password parameters
 * outside the Argon2 limits), STREAM_ENOMEM, STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_auth_new(stream_auth **out, const stream_auth_options *opts);

/** Free the service (not the store or key ring). NULL is a no-op. No other thread may use it. */
STREAM_API void stream_auth_free(stream_auth *a);

/* ---- accounts --------------------------------------------------------- */

/** An account as seen by callers (no password hash). */
typedef struct stream_auth_account {
  char id[STREAM_AUTH_ID_SIZE];
  char email[STREAM_AUTH_EMAIL_SIZE]; /**< normalized */
  int role;                           /**< stream_auth_role */
  int disabled;                       /**< 0 or 1 */
  int64_t created_at;
} stream_auth_account;

/**
 * Normalize an e-mail address into `out` (`out_size` >= STREAM_AUTH_EMAIL_SIZE
 * is always enough): surrounding ASCII whitespace trimmed, ASCII letters
 * lowercased; dots and "+tags" are kept (we do not guess provider rules).
 * The result must be 3..254 bytes with exactly one '@', a non-empty local
 * part (<= 64 bytes) and domain, no spaces, control characters or '"', and a
 * domain without empty labels.
 * Errors: STREAM_EINVAL (NULL, too long, malformed: the message says why),
 * STREAM_ERANGE (`out_size` too small for the result). Thread-safe.
 */
STREAM_API int stream_auth_email_normalize(char *out, size_t out_size, const char *email);

/**
 * Register a viewer account: normalize `email`, hash `password` (NUL-terminated,
 * 8..1024 bytes) with Argon2id and store the account. `*out` (may be NULL)
 * receives the new account.
 * Errors: STREAM_EINVAL (NULL/empty/malformed e-mail, an address in the
 * reserved ".invalid" domain (RFC 2606: deleted accounts keep such an
 * address), password too short or too long), STREAM_EEXIST (e-mail already
 * registered), STREAM_EBUSY, STREAM_EIO,
 * STREAM_ENOMEM, STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_auth_register(stream_auth_account *out, stream_auth *a, const char *email,
                                    const char *password);

/**
 * Like stream_auth_register() with an explicit role: how `streamctl` and
 * `make run` create operator accounts (role STREAM_AUTH_ROLE_OPERATOR).
 * Errors: as stream_auth_register(), plus STREAM_EINVAL for an unknown role.
 * Thread-safe.
 */
STREAM_API int stream_auth_account_create(stream_auth_account *out, stream_auth *a,
                                          const char *email, const char *password, int role);

/**
 * Fetch an account by id. Errors: STREAM_EINVAL, STREAM_ENOTFOUND (also for
 * a deleted account), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_auth_account_get(stream_auth_account *out, stream_auth *a,
                                       const char *account_id);

/**
 * Replace the password of an account (8..1024 bytes) and revoke all its
 * refresh tokens (signs out every device).
 * This and the two setters below change their field only: the row is written
 * back only if it is still as read (compare-and-set, retried from the new row),
 * so a concurrent change of another field (a disable, a password change) is
 * never undone.
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EIO, STREAM_ECRYPTO,
 * STREAM_EBUSY (the row kept changing). Thread-safe.
 */
STREAM_API int stream_auth_account_set_password(stream_auth *a, const char *account_id,
                                                const char *password);

/**
 * Change the role of an account (takes effect on its next access token).
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EIO, STREAM_EBUSY (the row
 * kept changing). Thread-safe.
 */
STREAM_API int stream_auth_account_set_role(stream_auth *a, const char *account_id, int role);

/**
 * Disable (1) or re-enable (0) an account. Disabling revokes all its refresh
 * tokens; a disabled account cannot sign in or refresh (STREAM_EFORBIDDEN).
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EIO, STREAM_EBUSY (the row
 * kept changing). Thread-safe.
 */
STREAM_API int stream_auth_account_set_disabled(stream_auth *a, const char *account_id,
                                                int disabled);

/**
 * Delete an account at its owner's request ("delete my account": App Store
 * rule 5.1.1(v), GDPR art. 17), after re-authenticating with `password`:
 * the same Argon2id verification and the same rate-limit buckets as
 * stream_auth_login() (the account's e-mail and `client_address`, NULL or ""
 * = unknown; an empty bucket gives STREAM_EBUSY and `*out_retry_after`, may
 * be NULL, 0 otherwise). A wrong password changes nothing. A disabled account
 * may be deleted too (erasure is its owner's right).
 * Then the store closes the account in one transaction
 * (stream_store_account_close(), which lists what is deleted and what is
 * kept): profiles with their progress, My List and ratings, refresh tokens,
 * device authorizations, saved cards and screen leases are deleted; the live
 * subscription ends now (no refund, never renewed); invoices, payments and
 * refunds are kept (financial records) against a tombstone account row whose
 * e-mail is released, so the address can register again.
 * Afterwards sign-in with the old e-mail fails exactly like an unknown
 * e-mail, refresh tokens are unknown (STREAM_EAUTH), and access tokens of the
 * account fail stream_auth_verify_access() at once.
 * Errors: STREAM_EINVAL (NULL handle, bad account id, NULL/empty password,
 * password over 1024 bytes, bad address), STREAM_ENOTFOUND (no such account,
 * or already deleted), STREAM_EAUTH ("wrong password", also for a password
 * shorter than 8 bytes, after the same work), STREAM_EBUSY (rate limited; or
 * a payment of the account is in flight with the provider: nothing changed,
 * retry later), STREAM_EIO, STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_auth_account_delete(int64_t *out_retry_after, stream_auth *a,
                                          const char *account_id, const char *password,
                                          const char *client_address);

/**
 * Delete an account without its password: the operator's variant of
 * stream_auth_account_delete() (support requests, `DELETE
 * /v1/admin/accounts/{id}`); the caller must have checked the operator's
 * authority. Same effects and errors, minus the password and rate limit.
 * Thread-safe.
 */
STREAM_API int stream_auth_account_delete_admin(stream_auth *a, const char *account_id);

/* ---- password change and reset ---------------------------------------- */

/**
 * Change the password of a signed-in account: `current_password` is checked
 * like a sign-in (the same Argon2id work and the same rate-limit buckets as
 * stream_auth_login(): the account's e-mail and `client_address`, NULL or ""
 * = unknown; an empty bucket gives STREAM_EBUSY and `*out_retry_after`, may
 * be NULL, 0 otherwise). `new_password` must pass the register rules (8..1024
 * bytes); it is hashed with the service's parameters and stored, then every
 * refresh token of the account is revoked: every device, this one included,
 * must sign in again (access tokens already issued stay valid until they
 * expire). A wrong current password changes nothing. The new hash is written
 * only over the one the current password was checked against, and keeps the
 * row's other fields as they are then: a password changed meanwhile by another
 * call gives STREAM_EAUTH, an account disabled meanwhile STREAM_EFORBIDDEN
 * (and stays disabled).
 * Errors: STREAM_EINVAL (NULL handle, bad account id, NULL/empty current
 * password, current over 1024 bytes, new password too short or too long:
 * checked before the current password, bad address), STREAM_ENOTFOUND (no
 * such account), STREAM_EAUTH ("wrong password"), STREAM_EFORBIDDEN
 * (account disabled; said after the right password), STREAM_EBUSY (rate
 * limited, or the row kept changing), STREAM_EIO, STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_auth_change_password(int64_t *out_retry_after, stream_auth *a,
                                           const char *account_id, const char *current_password,
                                           const char *new_password, const char *client_address);

/**
 * Start the forgotten-password flow for `email`. For a syntactically valid
 * address the answer is STREAM_OK whether or not an account has it (no
 * account enumeration): a 32-byte random token is drawn and hashed either
 * way; only for an existing, enabled, not deleted account is its SHA-256
 * stored (expiring after the reset_lifetime option, 30 min by default; the
 * account's earlier unused tokens are deleted, so only the newest link
 * works) and one message sent through the send_mail option: subject "Reset
 * your password", a body holding reset_url_base + token. A failing hook is
 * logged (without the token) and still answers STREAM_OK. The token is never
 * logged or put in a message.
 * This is stream_auth_password_reset_prepare() + _send() + stream_auth_reset_free()
 * in one call: the account-dependent part (a store write and the mail hook,
 * for known addresses only) runs inline, so a known address answers later
 * than an unknown one. A caller whose answer must not depend on the address
 * (an HTTP route) calls _prepare(), answers, and runs _send() elsewhere.
 * Rate limits (separate from sign-in's buckets, same machinery): the
 * normalized e-mail (STREAM_AUTH_RESET_EMAIL_BURST, one more every
 * STREAM_AUTH_RESET_EMAIL_INTERVAL s) and `client_address` (NULL or "" =
 * unknown; STREAM_AUTH_RESET_ADDRESS_*), charged for unknown e-mails too;
 * an empty bucket gives STREAM_EBUSY and `*out_retry_after` (may be NULL).
 * Errors: STREAM_EINVAL (NULL handle, malformed e-mail, bad address),
 * STREAM_ENOTSUP (no send_mail option: reset disabled), STREAM_EBUSY,
 * STREAM_EIO, STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_auth_password_reset_start(int64_t *out_retry_after, stream_auth *a,
                                                const char *email, const char *client_address);

/**
 * A password reset request that passed its checks and rate limits but whose
 * account-dependent part has not run yet (stream_auth_password_reset_prepare()).
 * It holds the normalized e-mail, the drawn token (a secret), its hash and
 * the time of the request. Owned by the caller: stream_auth_reset_free().
 */
typedef struct stream_auth_reset stream_auth_reset;

/**
 * The first half of stream_auth_password_reset_start(): everything that does
 * not depend on whether an account has `email`, so it costs the same for a
 * known and an unknown address. It checks the arguments, normalizes the
 * e-mail, checks `client_address` (NULL or "" = unknown), refuses a handle
 * without a send_mail option, charges the two reset rate-limit buckets (an
 * empty one gives STREAM_EBUSY and `*out_retry_after`, may be NULL, 0
 * otherwise), draws the 32-byte token and hashes it. It reads no account and
 * writes nothing to the store.
 * On STREAM_OK `*out` is a pending reset owned by the caller: pass it to
 * stream_auth_password_reset_send() (on any thread, at any later time; the
 * link's lifetime counts from this call) and free it with
 * stream_auth_reset_free() either way. Freeing it unsent drops the request
 * (nothing stored, nothing mailed). `*out` is NULL on error.
 * Errors: STREAM_EINVAL (NULL out or handle, malformed e-mail, bad address),
 * STREAM_ENOTSUP (no send_mail option: reset disabled), STREAM_EBUSY,
 * STREAM_ENOMEM, STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_auth_password_reset_prepare(stream_auth_reset **out, int64_t *out_retry_after,
                                                  stream_auth *a, const char *email,
                                                  const char *client_address);

/**
 * The second half of stream_auth_password_reset_start(): looks up the
 * account of the prepared e-mail and, only for an existing, enabled, not
 * deleted one, stores the token's hash (expiring reset_lifetime seconds
 * after the prepare call; the account's earlier unused tokens are deleted)
 * and sends the message through the send_mail hook, on the calling thread.
 * An unknown or disabled address does nothing and answers STREAM_OK; a
 * failing hook is logged (without the token) and answers STREAM_OK too. So
 * the status says nothing about the address; an error is a failure of the
 * service (the caller logs it; the requester has had its answer already).
 * `r` must come from stream_auth_password_reset_prepare() on the same `a`
 * and is sent at most once (its token is wiped afterwards); it stays owned
 * by the caller (stream_auth_reset_free()). `a` must outlive the call.
 * Errors: STREAM_EINVAL (NULL `a` or `r`, `r` prepared on another handle or
 * sent already), STREAM_ENOMEM, STREAM_EIO (store failure), STREAM_EBUSY
 * (store busy). Thread-safe: any thread may send, one thread per `r`.
 */
STREAM_API int stream_auth_password_reset_send(stream_auth *a, stream_auth_reset *r);

/**
 * Wipe the token of a pending reset and free it (sent or not). NULL is a
 * no-op. No other thread may be using `r`.
 */
STREAM_API void stream_auth_reset_free(stream_auth_reset *r);

/**
 * How long a processor's claim on a pending reset request lasts, in seconds
 * (stream_auth_password_reset_process()): a request whose processor died or
 * whose message the mail hook refused is taken again once it has passed.
 */
#define STREAM_AUTH_RESET_CLAIM_SECONDS 60

/**
 * Accept a forgotten-password request durably: the crash-safe counterpart of
 * stream_auth_password_reset_prepare(), for a caller that answers before the
 * mail is written (an HTTP route: 202) and must not lose what it answered.
 * It checks the arguments, normalizes the e-mail, checks `client_address`
 * (NULL or "" = unknown), refuses a handle without a send_mail option,
 * charges the two reset rate-limit buckets (an empty one gives STREAM_EBUSY
 * and `*out_retry_after`, may be NULL, 0 otherwise), and then stores one
 * pending request (the normalized e-mail and the time of this call) in the
 * store and commits it (durable as the store's sync option says: with
 * STREAM_STORE_SYNC_FULL, through a power loss). It does the same work for
 * every address: it reads no account (so the time it takes does not tell a
 * known address from an unknown one) and draws no token (no secret is
 * stored; stream_auth_password_reset_process() draws it). Nothing is mailed
 * here: a STREAM_OK request is mailed by a later
 * stream_auth_password_reset_process() on this store, in this process or
 * another, also after a crash or a restart. The link's lifetime counts from
 * this call.
 * Errors: STREAM_EINVAL (NULL handle, malformed e-mail, bad address),
 * STREAM_ENOTSUP (no send_mail option: reset disabled), STREAM_EBUSY (rate
 * limited, with `*out_retry_after` > 0; or the store stayed locked beyond
 * its busy timeout, `*out_retry_after` 0), STREAM_EIO (store failure: nothing
 * was recorded, the caller must not answer "accepted"), STREAM_ENOMEM.
 * Thread-safe.
 */
STREAM_API int stream_auth_password_reset_request(int64_t *out_retry_after, stream_auth *a,
                                                  const char *email, const char *client_address);

/**
 * Process pending reset requests (stored by stream_auth_password_reset_request()),
 * oldest first, at most `max` of them (0: none; SIZE_MAX: until no request is
 * left to take). For each request, in this order:
 * 1. claim it, look up the account of its e-mail and, only for an existing,
 *    enabled, not deleted account, draw a token and store its hash (expiring
 *    reset_lifetime seconds after the request; the account's earlier unused
 *    tokens are deleted, so only the newest link works), all in one store
 *    transaction;
 * 2. for that account only, send the message through the send_mail hook, on
 *    the calling thread (the same message as stream_auth_password_reset_start());
 * 3. delete the request.
 * An unknown, disabled or deleted address is just deleted (after the same
 * two store transactions as a known one, so that the load a processor puts
 * on the store does not depend on the address either). A request older than
 * reset_lifetime is deleted without a message (its link would have expired;
 * a warning is logged). The token exists in memory only, and is wiped after
 * the hook returns: it is never stored, logged or put in a message other
 * than the mail.
 *
 * Delivery is at least once. A request is deleted only after the hook
 * returned 0, which must therefore mean "accepted for delivery durably"
 * (streamd's outbox hook syncs the file to disk first). If the process dies
 * between the hook's return and the delete, the request is processed again
 * later: the user gets a second message, and only its link works (the
 * second token replaced the first). If the hook refuses a message (returns
 * non-zero), the request stays pending and is tried again, with a new
 * token, once its claim has run out (STREAM_AUTH_RESET_CLAIM_SECONDS); the
 * other requests are processed meanwhile. A request is never dropped for a
 * failing hook, only once it is older than reset_lifetime.
 *
 * Concurrency: any number of processors may run at once, on threads of one
 * handle or on different handles and processes sharing the database. Each
 * request is claimed in a store write transaction, so one processor handles
 * it; a claim lasts STREAM_AUTH_RESET_CLAIM_SECONDS, after which another
 * processor may take the request over (a processor that died). In addition,
 * the first call on a handle takes back every claim still held (a processor
 * that was killed, crashed or lost power leaves its claims behind; a
 * restarted server resumes them at once instead of after the claim time);
 * if such a processor is in fact still running, the requests it is handling
 * at that moment (one per processor thread) may be mailed twice. Mails are
 * in request order for one processor.
 *
 * `*out_done` (may be NULL) receives the number of requests finished
 * (mailed, without an account, or expired), also on error.
 * Errors: STREAM_EINVAL (NULL handle), STREAM_ENOTSUP (no send_mail option),
 * STREAM_EIO "the mail hook refused N password reset message(s)" (the other
 * requests were processed; those stay pending), STREAM_EIO / STREAM_EBUSY
 * (store failure: processing stopped there; nothing is lost, an unfinished
 * request is taken again after its claim), STREAM_ENOMEM, STREAM_ECRYPTO.
 * Thread-safe: the hook may be called from several threads at once when
 * several threads process.
 */
STREAM_API int stream_auth_password_reset_process(size_t *out_done, stream_auth *a, size_t max);

/**
 * The number of pending reset requests: stored by
 * stream_auth_password_reset_request() and not yet finished by
 * stream_auth_password_reset_process() (claimed ones and ones whose mail is
 * waiting for a retry included). `*out_count` is 0 on error.
 * Errors: STREAM_EINVAL (NULL out_count or handle), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_auth_password_reset_pending(size_t *out_count, stream_auth *a);

/**
 * Finish a password reset with the `token` of the e-mailed link: the token's
 * hash is looked up (and compared in constant time); it must be unused and
 * unexpired. In one store transaction (stream_store_password_reset_consume())
 * the token is marked used, the account gets `new_password` (8..1024 bytes,
 * Argon2id), every refresh token of the account is revoked and its other
 * unused reset tokens are deleted; of concurrent calls with one token at most
 * one succeeds. It does not sign in: the caller signs in with the new
 * password (the link may be opened on another device than the app's). `*out`
 * (may be NULL) receives the account.
 * Errors: STREAM_EINVAL (NULL handle, NULL/empty token or not 43 base64url
 * characters, new password too short or too long), STREAM_EAUTH (unknown or
 * already used token, or its account is gone), STREAM_EEXPIRED (expired),
 * STREAM_EFORBIDDEN (account disabled), STREAM_EIO, STREAM_ECRYPTO.
 * `*out` is zeroed on error. Thread-safe.
 */
STREAM_API int stream_auth_password_reset_finish(stream_auth_account *out, stream_auth *a,
                                                 const char *token, const char *new_password);

/* ---- sign-in, tokens -------------------------------------------------- */

/** Tokens of a successful sign-in, refresh, device poll or profile switch. */
typedef struct stream_auth_tokens {
  char access_token[STREAM_AUTH_ACCESS_TOKEN_SIZE];   /**< JWT */
  char refresh_token[STREAM_AUTH_REFRESH_TOKEN_SIZE]; /**< opaque, 43 characters */
  char token_type[16];                                /**< "Bearer" */
  int64_t expires_in;                                 /**< access-token lifetime in seconds */
  int64_t refresh_expires_in;                         /**< refresh-token lifetime in seconds */
  char scope[STREAM_AUTH_SCOPE_SIZE];                 /**< the granted scope */
  char account_id[STREAM_AUTH_ID_SIZE];
  char profile_id[STREAM_AUTH_ID_SIZE]; /**< "" when not scoped to a profile */
  int role;                             /**< stream_auth_role */
} stream_auth_tokens;

/**
 * Sign in with e-mail and password. `client_address` (the peer's IP as text,
 * NULL or "" = unknown) and the normalized e-mail each draw one attempt from
 * their token bucket before the password is checked; an empty bucket gives
 * STREAM_EBUSY and `*out_retry_after` (may be NULL; 0 otherwise) = whole
 * seconds until an attempt is available (the HTTP `Retry-After`). A successful
 * sign-in refills the account's bucket.
 * On success `*out` holds a new refresh-token family and an access token not
 * scoped to a profile. A hash made with older parameters is upgraded (only
 * over the hash just checked). A password change, reset or disable that
 * commits while the sign-in runs is not outlived: after storing the new
 * session the account is read again, and if its password no longer matches
 * (or it is disabled or gone) the session is revoked and the sign-in fails
 * (STREAM_EAUTH / STREAM_EFORBIDDEN).
 * Errors: STREAM_EINVAL (NULL, empty, malformed e-mail, password longer than
 * 1024 bytes, address longer than 255), STREAM_EAUTH ("invalid e-mail or
 * password": unknown e-mail, wrong password or a password shorter than 8, all
 * after the same Argon2id work), STREAM_EFORBIDDEN (account disabled; only
 * said after the right password), STREAM_EBUSY (rate limited), STREAM_EIO,
 * STREAM_ECRYPTO. `*out` is zeroed on error. Thread-safe.
 */
STREAM_API int stream_auth_login(stream_auth_tokens *out, int64_t *out_retry_after, stream_auth *a,
                                 const char *email, const char *password,
                                 const char *client_address);

/**
 * Rotate a refresh token (RFC 6749 §6): mark `refresh_token` used, issue a new
 * one in the same family (same account and profile) and a new access token.
 * Of any number of concurrent calls with the same token exactly one succeeds.
 * Errors: STREAM_EINVAL (NULL/empty/not 43 base64url characters),
 * STREAM_EAUTH (unknown or revoked token; or a token already used: "reuse
 * detected", and the whole family is revoked), STREAM_EEXPIRED (expired),
 * STREAM_EFORBIDDEN (account disabled), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_auth_refresh(stream_auth_tokens *out, stream_auth *a,
                                   const char *refresh_token);

/**
 * Sign out one session: revoke the family of `refresh_token` (idempotent for a
 * known token, even when already revoked or used).
 * Errors: STREAM_EINVAL (NULL/empty/malformed), STREAM_EAUTH (unknown token),
 * STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_auth_logout(stream_auth *a, const char *refresh_token);

/**
 * Sign out everywhere: revoke every refresh token of the account.
 * `*out_count` (may be NULL) receives the number revoked.
 * Errors: STREAM_EINVAL, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_auth_logout_all(size_t *out_count, stream_auth *a, const char *account_id);

/**
 * Token revocation with RFC 7009 semantics: a known refresh token's family is
 * revoked; unknown, malformed or expired tokens and access tokens (which are
 * stateless and expire on their own) are not an error. `token_type_hint`
 * ("refresh_token", "access_token", NULL, or anything: ignored) is accepted
 * for the protocol's sake.
 * Errors: STREAM_EINVAL (NULL handle, NULL or empty token: the request is
 * malformed), STREAM_EIO (the store failed: RFC 7009 allows a retry).
 * Thread-safe.
 */
STREAM_API int stream_auth_revoke(stream_auth *a, const char *token, const char *token_type_hint);

/** Who an access token speaks for. */
typedef struct stream_auth_identity {
  char account_id[STREAM_AUTH_ID_SIZE];
  char profile_id[STREAM_AUTH_ID_SIZE]; /**< "" when not scoped to a profile */
  int role;                             /**< stream_auth_role */
  int kids;                             /**< 1 for a kids profile */
  int maturity_ceiling;                 /**< the profile's; STREAM_AUTH_MATURITY_MAX without one */
  char scope[STREAM_AUTH_SCOPE_SIZE];
  char jti[64];
  int64_t issued_at;
  int64_t expires_at;
} stream_auth_identity;

/**
 * Verify an access token (the bearer of a request): signature via the key
 * ring, expiry against the service clock, issuer and audience from the
 * options, and the custom claims' types; then one store read: the account
 * must still exist and be enabled; and for a token scoped to a profile a
 * second one: the profile must still exist (a deleted profile's tokens fail at
 * once, like a deleted account's), and `kids` and `maturity_ceiling` are the
 * profile's current values, not the ones at issue (a parent's change applies
 * to tokens already issued).
 * Errors: STREAM_EINVAL (NULL, empty or malformed token, a registered claim
 * of the wrong type), STREAM_ERANGE (token too large), STREAM_EAUTH (bad
 * signature, unknown key, account or profile deleted, the custom claims role,
 * scope, pid, kids or mat missing or malformed: "not an access token of this
 * service"), STREAM_EEXPIRED (expired), STREAM_EFORBIDDEN (wrong
 * issuer/audience, header typ not "at+jwt", account disabled), STREAM_ENOTSUP
 * (a "crit" or "b64" header), STREAM_EIO (store failure).
 * `*out` is zeroed on error. Thread-safe.
 */
STREAM_API int stream_auth_verify_access(stream_auth_identity *out, stream_auth *a,
                                         const char *token);

/* ---- device authorization grant (RFC 8628) ---------------------------- */

/** The device authorization response (RFC 8628 §3.2). */
typedef struct stream_auth_device_code {
  char device_code[STREAM_AUTH_DEVICE_CODE_SIZE]; /**< secret of the device, 43 characters */
  char user_code[STREAM_AUTH_USER_CODE_SIZE];     /**< "XXXX-XXXX" */
  char verification_uri[STREAM_AUTH_URI_SIZE];
  char verification_uri_complete[STREAM_AUTH_URI_COMPLETE_SIZE]; /**< ...?user_code=XXXX-XXXX */
  int64_t expires_in;                                            /**< seconds */
  int64_t interval;                                              /**< seconds between polls */
} stream_auth_device_code;

/** Outcome of stream_auth_device_poll(); the daemon maps it to the RFC 8628 error. */
typedef enum stream_auth_poll_status {
  STREAM_AUTH_POLL_SUCCESS = 0,         /**< tokens issued (once); return STREAM_OK */
  STREAM_AUTH_POLL_PENDING = 1,         /**< "authorization_pending"; STREAM_EBUSY */
  STREAM_AUTH_POLL_SLOW_DOWN = 2,       /**< "slow_down" (interval += 5 s); STREAM_EBUSY */
  STREAM_AUTH_POLL_EXPIRED = 3,         /**< "expired_token"; STREAM_EEXPIRED */
  STREAM_AUTH_POLL_DENIED = 4,          /**< "access_denied"; STREAM_EFORBIDDEN */
  STREAM_AUTH_POLL_INVALID_GRANT = 5,   /**< "invalid_grant": unknown or already used device
                                             code, or another client_id; STREAM_EAUTH */
  STREAM_AUTH_POLL_INVALID_REQUEST = 6, /**< "invalid_request": bad arguments; STREAM_EINVAL */
  STREAM_AUTH_POLL_ERROR = 7            /**< server error (STREAM_EIO, ...) */
} stream_auth_poll_status;

/**
 * Start a device authorization (RFC 8628 §3.1/3.2) for `client_id` (1..128
 * printable ASCII characters) and `scope` (NULL or "" = none; <= 512 bytes of
 * RFC 6749 scope syntax; recorded for display, tokens carry the service scope).
 * Draws a 43-character device code (stored hashed) and a user code of 8
 * letters from STREAM_AUTH_USER_CODE_ALPHABET shown as XXXX-XXXX.
 * Errors: STREAM_EINVAL (bad client_id/scope), STREAM_ENOTSUP (no
 * verification_uri configured), STREAM_EBUSY (no free user code after several
 * draws), STREAM_EIO, STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_auth_device_start(stream_auth_device_code *out, stream_auth *a,
                                        const char *client_id, const char *scope);

/**
 * Poll a device authorization (RFC 8628 §3.4/3.5). `*out_status` (may be
 * NULL) always receives a stream_auth_poll_status. Checks, in this order:
 * known device code of this client_id and not yet consumed (else
 * INVALID_GRANT), not expired (EXPIRED), polled no sooner than `interval`
 * seconds after the previous poll (else SLOW_DOWN, and the interval grows by
 * 5 s for this and all later polls), then DENIED, PENDING, or SUCCESS: the
 * authorization is consumed (exactly once, even under concurrent polls) and
 * `*out` receives tokens for the approving account and profile.
 * A code approved for a profile is consumed and answered DENIED
 * (STREAM_EFORBIDDEN, "access_denied", nothing issued) when the profile was
 * deleted, or when its PIN was set, changed or removed after the approval's
 * PIN check (the approval records a digest of the PIN hash it checked;
 * one recorded without it, by stream_store_device_approve() or a libstream
 * before schema version 19, is refused the same way): a PIN change signs the
 * profile's sessions out, and tokens issued after it must not escape that. A
 * PIN change racing the poll is caught as for stream_auth_switch_profile()
 * (the profile is read again after the session is stored). The user approves
 * the device again. Approvals without a profile are not affected.
 * Returns STREAM_OK only for SUCCESS; otherwise the code named in the enum,
 * with a message. `*out` is zeroed unless SUCCESS. Thread-safe.
 */
STREAM_API int stream_auth_device_poll(stream_auth_tokens *out, int *out_status, stream_auth *a,
                                       const char *device_code, const char *client_id);

/** What the activation page shows about a user code. */
typedef struct stream_auth_device_info {
  char user_code[STREAM_AUTH_USER_CODE_SIZE]; /**< canonical "XXXX-XXXX" */
  char client_id[STREAM_AUTH_CLIENT_ID_MAX + 1];
  char scope[STREAM_STORE_SCOPE_MAX + 1];
  int status;         /**< stream_store_device_status; EXPIRED when past expires_at */
  int64_t expires_at; /**< Unix seconds */
} stream_auth_device_info;

/**
 * Look up a user code (case-insensitive; the dash, spaces optional) for the
 * activation page. Errors: STREAM_EINVAL (not 8 letters of the alphabet),
 * STREAM_ENOTFOUND, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_auth_device_lookup(stream_auth_device_info *out, stream_auth *a,
                                         const char *user_code);

/**
 * Approve the pending device authorization holding `user_code` (same input
 * rules as lookup) for `account_id` and optionally `profile_id` (NULL or "" =
 * no profile; else it must belong to the account). Takes no PIN: a profile
 * that has a PIN is refused (STREAM_EFORBIDDEN "profile ... requires its
 * PIN"); approve it with stream_auth_device_approve_pin().
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND (no such code, account, or profile
 * of this account), STREAM_EEXPIRED (code expired), STREAM_ECONFLICT (already
 * approved, denied or used), STREAM_EFORBIDDEN (account disabled, or the
 * profile has a PIN), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_auth_device_approve(stream_auth *a, const char *user_code,
                                          const char *account_id, const char *profile_id);

/**
 * stream_auth_device_approve() with the profile's PIN: the device then gets
 * tokens scoped to `profile_id`, so a profile with a PIN is approved only when
 * `pin` matches it, with the same check and attempt limit as
 * stream_auth_switch_profile() (wrong attempts use the account rate limit:
 * STREAM_EBUSY with `*out_retry_after`, may be NULL; zeroed otherwise). `pin`
 * is ignored for a profile without a PIN and may be NULL; a PIN without a
 * profile is STREAM_EINVAL. The PIN is checked before the code is marked
 * approved: a wrong PIN leaves the authorization pending. The approval
 * records the profile's PIN state as checked (a SHA-256 of its PIN hash), and
 * the device's poll gets nothing if the PIN was set, changed or removed since
 * (stream_auth_device_poll()). The same holds for stream_auth_device_approve()
 * with a profile.
 * Errors: those of stream_auth_device_approve(), STREAM_EINVAL (PIN not 4
 * digits), STREAM_EFORBIDDEN (PIN missing or wrong), STREAM_EBUSY.
 * Thread-safe.
 */
STREAM_API int stream_auth_device_approve_pin(int64_t *out_retry_after, stream_auth *a,
                                              const char *user_code, const char *account_id,
                                              const char *profile_id, const char *pin);

/**
 * Deny the pending device authorization holding `user_code`; the device's
 * next poll gets access_denied. Errors: STREAM_EINVAL, STREAM_ENOTFOUND,
 * STREAM_EEXPIRED, STREAM_ECONFLICT, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_auth_device_deny(stream_auth *a, const char *user_code);

/* ---- profiles --------------------------------------------------------- */

/** A profile as seen by callers (the PIN hash stays inside). */
typedef struct stream_auth_profile {
  char id[STREAM_AUTH_ID_SIZE];
  char account_id[STREAM_AUTH_ID_SIZE];
  char name[STREAM_AUTH_PROFILE_NAME_MAX + 1];
  char avatar[STREAM_AUTH_AVATAR_MAX + 1]; /**< "" = none */
  int kids;                                /**< 0 or 1 */
  int maturity_ceiling;                    /**< 0, 7, 13, 16 or 18 */
  int has_pin;                             /**< 1 when a PIN protects the profile */
  int64_t created_at;
} stream_auth_profile;

/**
 * Fields to set on create / update. On update, NULL strings and -1 numbers
 * leave the field unchanged; on create they take the defaults (avatar "",
 * kids 0, ceiling 18, or 7 for a kids profile, no PIN).
 */
typedef struct stream_auth_profile_input {
  unsigned int version; /**< STREAM_AUTH_PROFILE_INPUT_VERSION */
  const char *name;     /**< 1..64 bytes of UTF-8 without control characters; required on create */
  const char *avatar;   /**< 0..1024 bytes, no control characters */
  int kids;             /**< 0, 1, or -1 */
  int maturity_ceiling; /**< 0, 7, 13, 16, 18, or -1; a kids profile allows at most 7 */
  const char *pin;      /**< exactly 4 ASCII digits; "" removes the PIN (update); NULL = keep */
} stream_auth_profile_input;

#define STREAM_AUTH_PROFILE_INPUT_VERSION 1
#define STREAM_AUTH_PROFILE_INPUT_INIT                                                             \
  {                                                                                                \
    STREAM_AUTH_PROFILE_INPUT_VERSION, NULL, NULL, -1, -1, NULL                                    \
  }

/**
 * Create a profile on an account (at most STREAM_AUTH_PROFILES_MAX). The PIN
 * is stored as an Argon2id hash. Giving the new profile a PIN needs no
 * account password (unlike changing the PIN of an existing profile,
 * stream_auth_profile_update_checked()): a new profile holds nothing to take
 * over. `*out` (may be NULL) receives the profile.
 * Errors: STREAM_EINVAL (bad field, named), STREAM_ENOTFOUND (no such
 * account), STREAM_EEXIST (name taken in the account), STREAM_ERANGE (the
 * account already has 5 profiles), STREAM_EIO, STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_auth_profile_create(stream_auth_profile *out, stream_auth *a,
                                          const char *account_id,
                                          const stream_auth_profile_input *in);

/**
 * The profiles of an account, oldest first, into the caller's array `out` of
 * STREAM_AUTH_PROFILES_MAX entries; `*out_count` receives how many.
 * Errors: STREAM_EINVAL, STREAM_EIO, STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_auth_profile_list(stream_auth_profile *out, size_t *out_count, stream_auth *a,
                                        const char *account_id);

/**
 * Fetch one profile of the account. Errors: STREAM_EINVAL, STREAM_ENOTFOUND
 * (no such profile on this account), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_auth_profile_get(stream_auth_profile *out, stream_auth *a,
                                       const char *account_id, const char *profile_id);

/**
 * Update a profile of the account (see stream_auth_profile_input for what is
 * kept). Turning `kids` on lowers a ceiling above 7 to 7 unless a ceiling is
 * given. `*out` (may be NULL) receives the updated profile. Access tokens
 * already issued carry the old `kids` and `mat` claims, but
 * stream_auth_verify_access() answers with the profile's current values, so
 * the change applies to their next verification.
 * Concurrent edits never undo each other: the row is written only if it is
 * still as read (compare-and-set); when another edit landed in between (a
 * parent setting `kids` while a PIN change was hashing), this edit is applied
 * again to the new row, so only the fields given in `in` change.
 * A PIN set or changed (`in->pin` 4 digits) signs out every session that
 * entered the profile before: each refresh token bound to the profile is
 * revoked (stream_auth_refresh() then fails with STREAM_EAUTH), whoever holds
 * it, the caller's own session in this profile included (it switches again
 * with the new PIN). Tokens of the account without a profile and of other
 * profiles are kept. Access tokens already issued for the profile stay valid
 * until they expire (`access_ttl`, 15 minutes by default). Removing the PIN
 * ("") and the other fields revoke nothing. If the PIN was written but the revocation failed,
 * the call fails with the store's error (the message says so); repeating it
 * revokes them.
 * This call does not check the account password, not even when `in->pin`
 * sets, changes or removes the PIN: the caller vouches for the change
 * (operator tools, tests). A viewer's request must go through
 * stream_auth_profile_update_checked(), which asks for the password before a
 * PIN changes, and before a PIN-locked profile's kids flag or maturity
 * ceiling changes (a PIN keeps housemates signed in to the same account out
 * of a profile).
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EEXIST (name taken),
 * STREAM_EBUSY (the profile changed 8 times during the update), STREAM_EIO,
 * STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_auth_profile_update(stream_auth_profile *out, stream_auth *a,
                                          const char *account_id, const char *profile_id,
                                          const stream_auth_profile_input *in);

/**
 * stream_auth_profile_update() for a viewer: the account's password
 * (`password`) is required when
 * - `in->pin` is non-NULL (a PIN set, changed, or removed with ""), or
 * - the profile has a PIN and `in->kids` or `in->maturity_ceiling` differs
 *   from the stored value (a PIN-locked profile's limits are the account
 *   owner's to change: without this any adult token of the account could
 *   lift them or turn the profile into a kids profile). The same value as
 *   stored, and `name` and `avatar`, need nothing.
 * The password is checked like the current password of
 * stream_auth_change_password(): the same Argon2id work and the same
 * rate-limit buckets as stream_auth_login() (the account's e-mail and
 * `client_address`, NULL or "" = unknown; an empty bucket gives STREAM_EBUSY
 * and `*out_retry_after`, may be NULL, 0 otherwise), after `in` is validated
 * and before the PIN is hashed or anything is written: a wrong password
 * changes nothing, the other fields of `in` included. Whether it is needed is
 * decided on the row that is written: when the compare-and-set finds the row
 * changed (a PIN set meanwhile), the edit is decided again on the new row and
 * then asks for the password if that row needs it (checked once per call).
 * When no password is needed, `password` and `client_address` may be NULL
 * and are ignored (not checked), and the call is stream_auth_profile_update().
 * A PIN set or changed signs out the profile's sessions as said there (their
 * refresh tokens are revoked; access tokens run until they expire, 15
 * minutes by default): an owner changing the PIN from a session in this profile loses
 * that session too and switches again with the new PIN.
 * `*out` (may be NULL) receives the updated profile. `password` is borrowed
 * for the call and never logged or put in a message.
 * Errors: those of stream_auth_profile_update(), and when a password is
 * needed: STREAM_EINVAL (NULL or empty password, saying what it is required
 * for; one over 1024 bytes, a bad client address: the message names the
 * password or address), STREAM_EAUTH ("wrong password", also for one shorter
 * than 8 bytes, after the same work), STREAM_EBUSY with `*out_retry_after` > 0
 * (too many password attempts), STREAM_EFORBIDDEN (account disabled; said
 * after the right password), STREAM_ENOTFOUND (the account was deleted).
 * Thread-safe.
 */
STREAM_API int stream_auth_profile_update_checked(stream_auth_profile *out,
                                                  int64_t *out_retry_after, stream_auth *a,
                                                  const char *account_id, const char *profile_id,
                                                  const stream_auth_profile_input *in,
                                                  const char *password, const char *client_address);

/**
 * Delete a profile of the account (with its progress, My List, ratings and
 * refresh tokens). This call does not check the account password, not even
 * for a PIN-locked profile: the caller vouches for the deletion (operator
 * tools, tests). A viewer's request must go through
 * stream_auth_profile_delete_checked().
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_auth_profile_delete(stream_auth *a, const char *account_id,
                                          const char *profile_id);

/**
 * stream_auth_profile_delete() for a viewer: when the profile has a PIN,
 * `password` must be the account's password, checked like
 * stream_auth_profile_update_checked() checks it (the same Argon2id work and
 * sign-in buckets, `client_address` NULL or "" = unknown; STREAM_EBUSY and
 * `*out_retry_after`, may be NULL, 0 otherwise) before anything is deleted.
 * A profile without a PIN is deleted without one: `password` and
 * `client_address` may then be NULL and are ignored (not checked).
 * The decision is made on the row that is deleted: the store deletes the
 * profile only while its PIN hash is still the one read
 * (stream_store_profile_delete_if()); a PIN set meanwhile makes the call read
 * the row again and then ask for the password.
 * `password` is borrowed for the call and never logged or put in a message.
 * Errors: STREAM_EINVAL (bad ids; the profile has a PIN and `password` is
 * NULL or empty, the message says it is locked; a password over 1024 bytes or
 * a bad client address), STREAM_ENOTFOUND (no such profile on this account,
 * or the account was deleted), STREAM_EAUTH ("wrong password": nothing is
 * deleted), STREAM_EBUSY (with `*out_retry_after` > 0: too many password
 * attempts; without: the profile changed 8 times during the call),
 * STREAM_EFORBIDDEN (account disabled; said after the right password),
 * STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_auth_profile_delete_checked(int64_t *out_retry_after, stream_auth *a,
                                                  const char *account_id, const char *profile_id,
                                                  const char *password, const char *client_address);

/**
 * Switch to a profile: issue tokens scoped to `profile_id` (a new refresh
 * family bound to the profile, and an access token with "pid", "kids" and
 * "mat"). The profile must belong to `account_id`; when it has a PIN, `pin`
 * must match (wrong PIN attempts use the account rate limit: STREAM_EBUSY
 * with `*out_retry_after`, may be NULL). After storing the new session the
 * profile is read again: if its PIN changed since the check (a PIN set
 * meanwhile, whose sign-out of the profile's sessions may have run before
 * this one was stored), the session is revoked and the switch fails with
 * STREAM_EFORBIDDEN ("requires its PIN"): switch again.
 * Errors: STREAM_EINVAL (bad ids, PIN not 4 digits), STREAM_ENOTFOUND (no such
 * profile on this account), STREAM_EFORBIDDEN (PIN required or wrong; 403 so
 * that clients do not mistake it for an expired session), STREAM_EBUSY,
 * STREAM_EIO. `*out` is zeroed on error. Thread-safe.
 */
STREAM_API int stream_auth_switch_profile(stream_auth_tokens *out, int64_t *out_retry_after,
                                          stream_auth *a, const char *account_id,
                                          const char *profile_id, const char *pin);

#ifdef __cplusplus
}
#endif
#endif /* STREAM_AUTH_H */
