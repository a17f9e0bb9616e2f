/*
 * Internal state and helpers shared by the files of the auth service.
 * Not installed.
 */
#ifndef STREAM_AUTH_INTERNAL_H
#define STREAM_AUTH_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream/auth.h"
#include "stream/password.h"
#include "stream/store.h"
#include "stream/token.h"

/* ---- rate limiting (ratelimit.c) ------------------------------------------ */

/* One token bucket. `key` is a keyed hash of the limited name, so the table
 * never holds e-mail addresses or IPs and an attacker cannot aim names at one
 * set of slots. */
typedef struct auth__bucket {
  unsigned char key[16];
  bool used;
  double tokens;
  int64_t updated;  /* last refill (clock seconds) */
  uint64_t touched; /* LRU stamp */
} auth__bucket;

/* A fixed-size, set-associative table of buckets with LRU eviction per set:
 * memory is bounded by `size`, each lookup touches AUTH__WAYS slots. */
typedef struct auth__limiter {
  pthread_mutex_t lock;
  auth__bucket *slots;
  size_t sets; /* slots = sets * AUTH__WAYS */
  unsigned int burst;
  unsigned int interval;
  uint64_t stamp;
  unsigned char secret[32];
  /* The bucket scope in the store (rate_in_store): "signin-account", ... */
  const char *scope;
} auth__limiter;

#define AUTH__WAYS 8

int auth__limiter_init(auth__limiter *l, unsigned int burst, unsigned int interval,
                       size_t table_size);
void auth__limiter_free(auth__limiter *l);

/* Take one attempt from the buckets of `name_a` in `la` and `name_b` in `lb`
 * (either name may be NULL: not limited there). Both or neither are charged.
 * Returns 0, or the seconds to wait (>= 1) when a bucket is empty. */
int64_t auth__limit_take2(auth__limiter *la, const char *name_a, auth__limiter *lb,
                          const char *name_b, int64_t now);
/* Refill the bucket of `name` completely (successful sign-in). */
void auth__limit_reset(auth__limiter *l, const char *name);

/* The handle's limits, wherever they are kept: in memory (the two above) or,
 * with the rate_in_store option, in the store (stream_store_rate_take): the
 * bucket (l->scope, lowercase hex SHA-256 of the name: unkeyed, so every
 * process names it alike; no e-mail or address in the table), with l's burst
 * and interval.
 * - limit_take: as auth__limit_take2; *out_wait 0 or the seconds to wait.
 *   A store failure returns its code (STREAM_EIO, STREAM_EBUSY...) and the
 *   attempt must be refused: the limit fails closed.
 * - limit_forgive: as auth__limit_reset. A store failure is logged and
 *   otherwise ignored (the bucket refills by itself; the attempt it follows
 *   has already succeeded). */
int auth__limit_take(int64_t *out_wait, stream_auth *a, auth__limiter *la, const char *name_a,
                     auth__limiter *lb, const char *name_b, int64_t now);
void auth__limit_forgive(stream_auth *a, auth__limiter *l, const char *name);

/* ---- the handle ------------------------------------------------------------ */

struct stream_auth {
  stream_store *store;
  const stream_keyring *keys;
  char *issuer;   /* NULL = none */
  char *audience; /* NULL = none */
  char *scope;
  int64_t access_ttl;
  int64_t refresh_ttl;
  stream_password_params pw;
  char *dummy_hash;       /* PHC string of a random password, same parameters */
  char *verification_uri; /* NULL = device grant disabled */
  int device_interval;
  int device_lifetime;
  stream_auth_clock_fn now;
  void *now_ud;
  auth__limiter rl_account;
  auth__limiter rl_address;
  /* Password reset (password.c): the mail hook, link base and lifetime, and
   * the reset-request buckets (per e-mail, per address), apart from sign-in's. */
  stream_auth_mail_fn send_mail; /* NULL = reset disabled */
  void *mail_ud;
  char *reset_url_base;
  int reset_lifetime;
  auth__limiter rl_reset_email;
  auth__limiter rl_reset_address;
  /* The buckets above live in the store instead (rate_in_store option),
   * named by HMAC-SHA256 with rate_key when set (a reference), else SHA-256. */
  bool rate_in_store;
  stream_key *rate_key;
  /* Durable reset requests (reset_requests.c): whether this handle's first
   * process() call has taken back the claims earlier processors left. */
  pthread_mutex_t reset_lock;
  bool reset_recovered; /* under reset_lock */
};

int64_t auth__now(const stream_auth *a);

/* SHA-256 of `s` as 64 lowercase hex characters + NUL in `out` (65 bytes). */
int auth__sha256_hex(char *out, const char *s, size_t n);
/* HMAC-SHA256 of `s` with the HMAC key `key`, as auth__sha256_hex. */
int auth__hmac_sha256_hex(char *out, const stream_key *key, const char *s, size_t n);
/* `n` random bytes as unpadded base64url into `out` (room for n*4/3+2). */
int auth__random_b64(char *out, size_t n);
/* 1 when `s` is exactly `len` characters of [A-Za-z0-9_-]. */
bool auth__is_b64url(const char *s, size_t len);
/* Validate an id argument (1..64 base64url characters). */
int auth__check_id(const char *what, const char *id);
/* strlen bounded by max+1, so over-long input is detected cheaply. */
size_t auth__strnlen(const char *s, size_t max);
/* Copy with truncation (always NUL-terminates; dst_size > 0). */
void auth__copy(char *dst, size_t dst_size, const char *src);

/* RFC 6749 §3.3 scope syntax, at most `max` bytes ("" allowed). */
int auth__check_scope(const char *s, size_t max, const char *what);
/* A password being set (register, set_password, change, reset; `what` names
 * it in the message): STREAM_AUTH_PASSWORD_MIN..MAX bytes. */
int auth__check_password(const char *what, const char *password, size_t *len);
/* A client address used as a rate-limit key: <= 255 printable ASCII bytes. */
int auth__check_address(const char *addr);

/* Read-modify-write of an account row that never undoes a concurrent one:
 * read the row, let `edit` change it (or refuse: its error is returned), and
 * write it only if the row is still as read (stream_store_account_update_if); when
 * another writer changed it meanwhile, start again from the new row (at most
 * a few times, then STREAM_EBUSY). STREAM_ENOTFOUND (named) for no account. */
typedef int (*auth__account_edit_fn)(stream_store_account *row, void *ud);
int auth__account_edit(stream_auth *a, const char *account_id, auth__account_edit_fn edit,
                       void *ud);

/* The password sign-in steps shared by stream_auth_login() and
 * stream_auth_account_delete() (each calls them in its own order):
 * - check_password_args: password 1..STREAM_AUTH_PASSWORD_MAX bytes and an
 *   optional client address (NULL or "" = none); *out_len = password length.
 * - signin_limit: one attempt from the sign-in buckets of the normalized
 *   e-mail and the address; STREAM_EBUSY (message "too many <what>
 *   attempts", *out_retry_after = seconds) when either is empty, or the
 *   store's error when the limits are kept there. The account key goes to
 *   *key_out (reset it with auth__limit_forgive(a, &a->rl_account, key)
 *   after a success).
 * - verify_password: Argon2id against acct's hash, or the same work against
 *   the dummy hash when acct is NULL or has none; STREAM_EAUTH with
 *   `fail_message` unless it matches. */
int auth__check_password_args(size_t *out_len, const char *password, const char *client_address);
int auth__signin_limit(stream_auth *a, int64_t *out_retry_after, char *key_out, size_t key_size,
                       const char *norm_email, const char *client_address, int64_t now,
                       const char *what);
int auth__verify_password(stream_auth *a, const stream_store_account *acct, const char *password,
                          size_t plen, const char *fail_message);
/* Re-authenticate a signed-in account with its password (deletion, password
 * change): load it into *acct (STREAM_ENOTFOUND if it does not exist), one
 * attempt from its sign-in buckets ("too many password attempts"), verify
 * ("auth: wrong password"), and on success reset the account's bucket. */
int auth__reauthenticate(stream_store_account *acct, int64_t *out_retry_after, stream_auth *a,
                         const char *account_id, const char *password, size_t plen,
                         const char *client_address);
/* Hash `password` (n bytes) with the service's parameters into out
 * (STREAM_EINVAL if the PHC string does not fit in out_size). */
int auth__hash_into(char *out, size_t out_size, stream_auth *a, const char *password, size_t n);
/* The public view of a store account row. */
void auth__account_out(stream_auth_account *out, const stream_store_account *r);

/* Issue an access + refresh token pair into `out`: a new refresh family when
 * `family` is NULL, else a new member of it. `profile` may be NULL. */
int auth__issue_tokens(stream_auth_tokens *out, stream_auth *a, const stream_store_account *acct,
                       const stream_store_profile *profile, const char *family, int64_t now);
/* The forgotten-password steps shared by password.c and reset_requests.c:
 * - reset_admit: normalize `email` into norm (STREAM_AUTH_EMAIL_SIZE bytes),
 *   check the address, STREAM_ENOTSUP without a mail hook, one request from
 *   both reset buckets (STREAM_EBUSY "too many password reset requests" and
 *   *out_retry_after, may be NULL); *out_now = the clock's time.
 * - reset_body: the message holding reset_url_base + token, saying the link
 *   works for `valid_for` seconds (rounded up to minutes); malloc'd, NULL when
 *   out of memory. The caller wipes and frees it. */
int auth__reset_admit(char *norm, int64_t *out_now, int64_t *out_retry_after, stream_auth *a,
                      const char *email, const char *client_address);
char *auth__reset_body(const stream_auth *a, const char *email, const char *token,
                       int64_t valid_for);

/* Fill *out with the account and check it can sign in. */
int auth__load_active_account(stream_store_account *out, stream_auth *a, const char *account_id);

/* The PIN gate of a profile (stream_auth_switch_profile, stream_auth_device_approve_pin):
 * STREAM_OK when `p` has no PIN or `pin` matches it. Else STREAM_EFORBIDDEN (PIN missing or
 * wrong), STREAM_EINVAL (not 4 digits) or STREAM_EBUSY with *out_retry_after (may be NULL)
 * once the profile's attempts (the account limiter, key "p:<id>") are used up; a match
 * refills them. */
int auth__profile_pin_check(int64_t *out_retry_after, stream_auth *a, const stream_store_profile *p,
                            const char *pin);

/* The tokens of a profile switch after the PIN gate passed on row `p` (as read for the
 * check): auth__issue_tokens, then the profile is read again; if its PIN hash is no longer
 * p's (a PIN set, changed or removed meanwhile), the family just stored is revoked, `*out`
 * wiped and STREAM_EFORBIDDEN returned ("requires its PIN"; STREAM_ENOTFOUND if the profile
 * was deleted). Closes the window where a PIN change's revocation of the profile's refresh
 * tokens runs between the check and the store of the new family. */
int auth__issue_profile_tokens(stream_auth_tokens *out, stream_auth *a,
                               const stream_store_account *acct, const stream_store_profile *p,
                               int64_t now);

#endif
