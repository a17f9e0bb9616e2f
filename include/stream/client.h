/**
 * @file stream/client.h
 * @brief The client SDK (floor 3): a libcurl HTTP client for the streamd API
 *        (docs/api/openapi.yaml): sign-in by password or TV code (RFC 8628),
 *        sessions with automatic refresh, profiles, catalog, progress, My List.
 *
 * Built only when libstream has the client feature (STREAM_HAVE_CLIENT).
 *
 * Threads: a stream_client is thread-safe. Calls may run concurrently from
 * any number of threads on one handle; each call uses its own libcurl easy
 * handle and they share one connection cache and one DNS cache (so keep-alive
 * connections are reused across calls and threads). The session tokens are
 * guarded by a mutex, and refreshes are serialised so that two threads that
 * both meet a 401 refresh only once (with refresh-token rotation and reuse
 * detection a second refresh would revoke the session).
 *
 * Results: fixed structs for authentication results; catalog, profile and
 * viewing calls return the server's JSON document as a NUL-terminated string
 * that the caller frees with stream_free().
 *
 * Errors: HTTP problem+json answers are mapped to a status and the server's
 * `detail` becomes the stream_error_last() message: 401 STREAM_EAUTH,
 * 403 STREAM_EFORBIDDEN, 404/410 STREAM_ENOTFOUND, 409 STREAM_ECONFLICT (or
 * STREAM_EEXIST when the problem type is already-exists), 429 STREAM_EBUSY
 * (see stream_client_retry_after()), 402 STREAM_EPAYMENT, 413/414/431
 * STREAM_ERANGE, other 4xx STREAM_EINVAL (or what the problem type says,
 * e.g. STREAM_ERANGE for out-of-range), 501 STREAM_ENOTSUP, 503
 * STREAM_EBUSY, 504 STREAM_ETIMEDOUT, other 5xx STREAM_EIO; a 1xx or 3xx
 * answer (redirects are not followed), or a 2xx body that is not what the
 * API promises, is STREAM_EPROTO: a body that is not exactly one JSON
 * document (bytes after it, a NUL byte), an answer without the top-level
 * member a call documents (e.g. `genres` of stream_client_genres(), an
 * array), or a token response with a token, account_id or profile_id outside
 * printable ASCII (nothing is stored then). What is inside a documented member
 * is passed on as the server sent it. Network failures are STREAM_EIO
 * (STREAM_ETIMEDOUT for a timeout) with curl's message; a response over
 * max_response_bytes is STREAM_ERANGE. Tokens, passwords and query strings
 * never appear in messages or logs (they name the method and the path).
 */
#ifndef STREAM_CLIENT_H
#define STREAM_CLIENT_H

#include <stdint.h>

#include "stream/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A client of one streamd server. Opaque; see the thread notes above. */
typedef struct stream_client stream_client;

/** Options of stream_client_new(). Start from STREAM_CLIENT_OPTIONS_INIT. */
typedef struct stream_client_options {
  unsigned int version;      /**< 1 */
  const char *base_url;      /**< required: "http://host:port[/prefix]" (http or https) */
  const char *user_agent;    /**< NULL: "libstream/<version>" */
  long connect_timeout_ms;   /**< connection timeout; default 10000 */
  long timeout_ms;           /**< whole-request timeout; default 30000 */
  size_t max_response_bytes; /**< larger answers fail with STREAM_ERANGE; default 8 MiB */
  const char *ca_file;       /**< https: PEM bundle of trusted CAs; NULL: the system's */
  const char *ca_path;       /**< https: directory of hashed CA certificates; NULL: none */
  const char *client_id;     /**< OAuth client_id sent in the device flow; NULL: "libstream" */
} stream_client_options;

/** Defaults for stream_client_options (base_url must still be set). */
#define STREAM_CLIENT_OPTIONS_INIT                                                                 \
  {                                                                                                \
    1, NULL, NULL, 10000, 30000, 8388608, NULL, NULL, NULL                                         \
  }

/** Longest id the API uses (path ids, account and profile ids). */
#define STREAM_CLIENT_ID_MAX 64

/** The non-secret part of a session: who is signed in. */
typedef struct stream_client_session {
  char account_id[STREAM_CLIENT_ID_MAX + 1]; /**< "" when the server did not say */
  char profile_id[STREAM_CLIENT_ID_MAX + 1]; /**< "" when the tokens are not profile-scoped */
  int64_t expires_in; /**< lifetime of the access token when issued, seconds */
} stream_client_session;

/** An account as stream_client_register() returns it. */
typedef struct stream_client_account {
  char id[STREAM_CLIENT_ID_MAX + 1];
  char email[256];
  int64_t created_at; /**< Unix seconds; 0 when absent */
} stream_client_account;

/**
 * A device authorization (RFC 8628 §3.2) from stream_client_device_start().
 * The application shows user_code and verification_uri (or a QR code of
 * verification_uri_complete). device_code is a credential: do not show it.
 */
typedef struct stream_client_device {
  char device_code[513];
  char user_code[32];                   /**< e.g. "WDJB-MJHT" */
  char verification_uri[1024];          /**< where to enter the code */
  char verification_uri_complete[1024]; /**< "" when the server gave none */
  int64_t expires_in;                   /**< lifetime of both codes, seconds */
  int64_t interval;                     /**< seconds between polls; raised by slow_down */
  int64_t started_at;                   /**< Unix seconds when the codes were received */
} stream_client_device;

/** States of a device authorization poll. */
typedef enum stream_client_device_state {
  STREAM_CLIENT_DEVICE_APPROVED = 0, /**< signed in: the tokens are in the handle */
  STREAM_CLIENT_DEVICE_PENDING = 1,  /**< not approved yet; poll again after interval */
  STREAM_CLIENT_DEVICE_SLOW_DOWN = 2 /**< polled too fast; interval was raised */
} stream_client_device_state;

/**
 * Called by stream_client_device_wait() after every poll with the state and
 * the interval now in force. Return 0 to go on, non-zero to stop waiting
 * (the wait then fails with STREAM_ECANCELED). Runs on the waiting thread.
 */
typedef int (*stream_client_device_fn)(int state, int64_t interval, void *userdata);

/** Options of a new profile. Start from STREAM_CLIENT_PROFILE_SPEC_INIT. */
typedef struct stream_client_profile_spec {
  unsigned int version; /**< 1 */
  const char *name;     /**< required, 1..64 bytes */
  const char *avatar;   /**< NULL: none */
  int kids;             /**< 1: a kids profile */
  int maturity_ceiling; /**< 0, 7, 13, 16 or 18; -1: the server's default */
  const char *pin;      /**< NULL: no PIN; else exactly 4 digits */
} stream_client_profile_spec;

/** Defaults for stream_client_profile_spec (name must still be set). */
#define STREAM_CLIENT_PROFILE_SPEC_INIT                                                            \
  {                                                                                                \
    1, NULL, NULL, 0, -1, NULL                                                                     \
  }

/* ---- the handle ------------------------------------------------------- */

/**
 * Create a client for the server at opts->base_url. Nothing is sent yet.
 * Initialises libcurl once per process (thread-safe).
 * `*out` belongs to the caller, who frees it with stream_client_free().
 * Errors: STREAM_EINVAL (NULL out or opts, unknown version, missing or
 * malformed base_url: it must be http:// or https:// with a host and no query,
 * fragment, credentials or "." / ".." path segment (paths are sent as given);
 * a non-positive timeout; max_response_bytes under
 * 1 KiB; a user agent (1..256 bytes) or client_id (1..128 bytes) that is
 * empty, too long or not printable ASCII; a ca_file or ca_path that is empty
 * or over 4096 bytes), STREAM_ENOMEM, STREAM_EIO (libcurl cannot be
 * initialised). Thread-safe.
 */
STREAM_API int stream_client_new(stream_client **out, const stream_client_options *opts);

/**
 * Free a client, wiping its tokens. NULL is a no-op. No call may be running
 * on the handle. Does not sign out (see stream_client_logout()).
 */
STREAM_API void stream_client_free(stream_client *c);

/**
 * The normalised base URL of the client (no trailing slash). Borrowed: valid
 * as long as `c`. NULL when c is NULL. Thread-safe.
 */
STREAM_API const char *stream_client_base_url(const stream_client *c);

/**
 * The HTTP status of the last response received on the calling thread by
 * any client call (0 when the last call got no response). Thread-local.
 */
STREAM_API long stream_client_last_http_status(void);

/**
 * The Retry-After seconds of the last response received on the calling
 * thread (429 or 503 answers carry it), or 0 when it had none. Thread-local.
 */
STREAM_API int64_t stream_client_retry_after(void);

/* ---- accounts and sessions -------------------------------------------- */

/**
 * Create an account (POST /v1/auth/register). Does not sign in.
 * `out` (may be NULL) receives the account. Errors: STREAM_EINVAL (NULL,
 * empty or over 254 bytes email, password under 8 or over 1024 bytes; or the
 * server refused them), STREAM_EEXIST (email already registered),
 * STREAM_EPROTO (with `out`: an answer without an id, an id outside printable
 * ASCII, a created_at that is not Unix seconds up to the year 9999), network
 * errors. Thread-safe.
 */
STREAM_API int stream_client_register(stream_client_account *out, stream_client *c,
                                      const char *email, const char *password);

/**
 * Sign in with email and password (POST /v1/auth/login). The tokens are
 * kept in the handle (replacing any session) and used by later calls.
 * `out` (may be NULL) receives who signed in. Errors: STREAM_EINVAL,
 * STREAM_EAUTH (unknown email or wrong password: the same error),
 * STREAM_EBUSY (rate limited; stream_client_retry_after() says how long),
 * STREAM_EPROTO (a malformed token response, or tokens or ids with characters
 * outside printable ASCII: the handle's session is then unchanged), network
 * errors. Thread-safe.
 */
STREAM_API int stream_client_login(stream_client_session *out, stream_client *c, const char *email,
                                   const char *password);

/**
 * Sign out: revoke the refresh token's family on the server
 * (POST /v1/auth/logout) and forget the tokens. The local tokens are
 * forgotten even when the server cannot be reached (the error is still
 * returned). Not signed in is not an error. Thread-safe.
 */
STREAM_API int stream_client_logout(stream_client *c);

/**
 * Replace the session tokens, e.g. with ones an application persisted.
 * Either may be NULL (a NULL access token with a refresh token makes the next
 * call refresh first); both NULL forget the session. Tokens are copied.
 * Errors: STREAM_EINVAL (empty, over 8 KiB, or characters outside printable
 * ASCII), STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_client_set_tokens(stream_client *c, const char *access_token,
                                        const char *refresh_token);

/**
 * Copy the current tokens so an application can persist them (store them as
 * secrets). Either out pointer may be NULL; a token the handle does not have
 * gives NULL. The caller frees each with stream_free_secret(p, strlen(p)) (or
 * stream_free()). The tokens always pass stream_client_set_tokens()' checks
 * (those from servers are checked the same way). Refresh rotation replaces the
 * refresh token: persist again after calls. Errors: STREAM_EINVAL (NULL c),
 * STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_client_get_tokens(char **out_access, char **out_refresh, stream_client *c);

/**
 * Who is signed in: account and profile of the current tokens (as the server
 * reported them) and the access token lifetime. Errors: STREAM_EINVAL,
 * STREAM_EAUTH (not signed in). Thread-safe.
 */
STREAM_API int stream_client_session_info(stream_client_session *out, const stream_client *c);

/**
 * Rotate the refresh token now (POST /v1/auth/refresh) and keep the new
 * tokens. Calls do this by themselves on a 401 (once, then retry once); this
 * is for applications that refresh ahead of time. When another session was
 * stored while the refresh was in flight (a sign-in, a profile switch or
 * stream_client_set_tokens() of other tokens on another thread), it is kept
 * and the refresh's answer is discarded; the same tokens set again keep the
 * answer (their refresh token is used up). Errors: STREAM_EAUTH (no refresh token, or
 * the server refused it: the session is then forgotten), network and protocol
 * errors (the tokens are kept). Thread-safe.
 */
STREAM_API int stream_client_refresh(stream_client *c);

/* ---- TV sign-in: the device flow (RFC 8628) ---------------------------- */

/**
 * Start a device authorization (POST /v1/auth/device). Fills `out` with the
 * codes to show. Errors: STREAM_EINVAL (NULL arguments), STREAM_EBUSY (rate
 * limited), STREAM_EPROTO (a required field is missing or too long for the
 * struct, or a code or URI has control characters), network errors.
 * Thread-safe.
 */
STREAM_API int stream_client_device_start(stream_client_device *out, stream_client *c);

/**
 * Poll the token endpoint once (POST /v1/auth/token with the device_code
 * grant). On STREAM_OK `*out_state` is STREAM_CLIENT_DEVICE_APPROVED (the
 * tokens are now in the handle), STREAM_CLIENT_DEVICE_PENDING, or
 * STREAM_CLIENT_DEVICE_SLOW_DOWN (dev->interval was raised by 5 s, or set to
 * the server's value). Does not sleep: the caller waits dev->interval seconds
 * between polls. Errors: STREAM_EFORBIDDEN (the person denied the device),
 * STREAM_EEXPIRED (the codes expired), STREAM_EAUTH (unknown or used device
 * code), STREAM_EINVAL, network and protocol errors. Thread-safe; one thread
 * per `dev`.
 */
STREAM_API int stream_client_device_poll(int *out_state, stream_client *c,
                                         stream_client_device *dev);

/**
 * Poll until the device is approved, honouring dev->interval (at least 1 s
 * between polls, raised by 5 s at each slow_down, as RFC 8628 §3.5 says) and
 * backing off on network errors. `timeout_ms` 0 waits until the codes expire.
 * `cancel` (may be NULL) is read between polls and every 100 ms while
 * sleeping: when it becomes non-zero the wait stops. `fn` (may be NULL) is
 * called after each poll. Errors: STREAM_ECANCELED (cancel flag or fn),
 * STREAM_ETIMEDOUT (timeout_ms passed), STREAM_EEXPIRED, STREAM_EFORBIDDEN,
 * STREAM_EAUTH, STREAM_EINVAL. Thread-safe; one thread per `dev`.
 */
STREAM_API int stream_client_device_wait(stream_client *c, stream_client_device *dev,
                                         int64_t timeout_ms, const int *cancel,
                                         stream_client_device_fn fn, void *userdata);

/**
 * Approve (approve = 1) or deny (approve = 0) a TV's user code the way the
 * /activate page does, signing in with email and password (POST /activate):
 * for companion apps and tests. The handle's own session is not touched.
 * Errors: STREAM_EINVAL (bad arguments, or unknown code), STREAM_EAUTH (bad
 * credentials), STREAM_EEXPIRED (the code expired), STREAM_EBUSY (rate
 * limited), network errors. Thread-safe.
 */
STREAM_API int stream_client_activate(stream_client *c, const char *user_code, const char *email,
                                      const char *password, int approve);

/* ---- profiles ---------------------------------------------------------- */

/**
 * The account's profiles (GET /v1/profiles): `{"profiles":[...]}`.
 * `*out_json` belongs to the caller (stream_free()). Errors: STREAM_EINVAL,
 * STREAM_EAUTH (not signed in, or the session could not be refreshed),
 * STREAM_EPROTO (the answer is not JSON, or `profiles` is not an array),
 * network errors. Thread-safe. The same holds for every call below that
 * returns JSON: the top-level shape it documents (an object, and the member
 * it names with its type: `genres`, `items`, `rows`, `plans`, `invoices` are
 * arrays, `subscription` an object, `next_cursor` a string or null) is checked
 * when `out_json` is wanted; the member's contents are the server's.
 */
STREAM_API int stream_client_profiles(char **out_json, stream_client *c);

/**
 * Create a profile (POST /v1/profiles). `out_json` (may be NULL) receives the
 * profile. Errors: STREAM_EINVAL (bad spec), STREAM_ERANGE (already 5
 * profiles), STREAM_ECONFLICT / STREAM_EEXIST (name taken). Thread-safe.
 */
STREAM_API int stream_client_profile_create(char **out_json, stream_client *c,
                                            const stream_client_profile_spec *spec);

/**
 * Delete a profile with its progress and My List (DELETE /v1/profiles/{id}).
 * A profile that has a PIN is deleted only with the account password:
 * stream_client_profile_delete_locked(); without it the server answers 400
 * (STREAM_EINVAL, the message says the profile is locked).
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND. Thread-safe.
 */
STREAM_API int stream_client_profile_delete(stream_client *c, const char *profile_id);

/**
 * stream_client_profile_delete() with the account's `password` in the
 * request's body ({"password": ...}), which the server checks when the
 * profile has a PIN (and ignores otherwise). `password` is borrowed and the
 * request body is wiped after use.
 * Errors: STREAM_EINVAL (NULL or empty password, over 1024 bytes), STREAM_ENOTFOUND,
 * STREAM_EFORBIDDEN (wrong password: nothing deleted), STREAM_EBUSY (too many
 * password attempts; HTTP 429). Thread-safe.
 */
STREAM_API int stream_client_profile_delete_locked(stream_client *c, const char *profile_id,
                                                   const char *password);

/**
 * Switch to a profile (POST /v1/profiles/{id}/switch): the handle's tokens
 * are replaced by tokens scoped to it (catalog answers then follow its
 * maturity ceiling; progress and My List need a profile). `pin` is NULL or
 * the profile's 4 digits. `out` (may be NULL) receives the new session.
 * Errors: STREAM_EINVAL, STREAM_EFORBIDDEN (the profile has a PIN and it is
 * missing or wrong; STREAM_EAUTH if the server answers 401 for it),
 * STREAM_ENOTFOUND, STREAM_EBUSY (too many PIN attempts). The handle's
 * session is unchanged on error. Thread-safe.
 */
STREAM_API int stream_client_profile_switch(stream_client_session *out, stream_client *c,
                                            const char *profile_id, const char *pin);

/* ---- catalog ----------------------------------------------------------- */

/**
 * The genres the signed-in viewer can browse (GET /v1/genres):
 * `{"genres":["Comedy",...]}`; each lists at least one title in
 * stream_client_browse(). Caller frees with stream_free().
 */
STREAM_API int stream_client_genres(char **out_json, stream_client *c);

/**
 * One page of titles (GET /v1/browse): `{"items":[...],"next_cursor":...}`.
 * `genre` NULL browses every title; `cursor` NULL is the first page, else the
 * previous page's next_cursor; `limit` 0 is the server's default (1..100
 * otherwise). Caller frees with stream_free(). Errors: STREAM_EINVAL (bad
 * genre, cursor or limit). Thread-safe.
 */
STREAM_API int stream_client_browse(char **out_json, stream_client *c, const char *genre,
                                    const char *cursor, int limit);

/**
 * Full-text search (GET /v1/search): `{"query":...,"items":[...]}`, best
 * first. `query` is 1..256 bytes; `limit` 0 is the server's default.
 * Caller frees with stream_free(). Thread-safe.
 */
STREAM_API int stream_client_search(char **out_json, stream_client *c, const char *query,
                                    int limit);

/**
 * A title with its seasons and episodes (GET /v1/titles/{id}). Caller frees
 * with stream_free(). Errors: STREAM_EINVAL (malformed id), STREAM_ENOTFOUND
 * (absent, or above the profile's maturity ceiling). Thread-safe.
 */
STREAM_API int stream_client_title(char **out_json, stream_client *c, const char *title_id);

/* ---- viewing (need a profile: stream_client_profile_switch()) ---------- */

/**
 * Record a resume position (PUT /v1/progress). `episode_id` is required for a
 * series and must be NULL for a movie. 0 <= position_s <= duration_s, 1 <=
 * duration_s <= 604800. Errors: STREAM_EINVAL, STREAM_EFORBIDDEN (no profile selected),
 * STREAM_ENOTFOUND. Thread-safe.
 */
STREAM_API int stream_client_progress_put(stream_client *c, const char *title_id,
                                          const char *episode_id, int64_t position_s,
                                          int64_t duration_s);

/**
 * The continue-watching row (GET /v1/continue-watching): `{"items":[...]}`,
 * most recent first. `limit` 0 is the server's default. Caller frees with
 * stream_free(). Errors: STREAM_EFORBIDDEN (no profile selected). Thread-safe.
 */
STREAM_API int stream_client_continue_watching(char **out_json, stream_client *c, int limit);

/** My List (GET /v1/my-list): `{"items":[...]}`. Caller frees with stream_free(). Thread-safe. */
STREAM_API int stream_client_mylist(char **out_json, stream_client *c);

/** Add a title to My List (PUT /v1/my-list/{id}; idempotent). Errors: STREAM_ENOTFOUND. */
STREAM_API int stream_client_mylist_add(stream_client *c, const char *title_id);

/** Remove a title from My List (DELETE /v1/my-list/{id}; idempotent). Thread-safe. */
STREAM_API int stream_client_mylist_remove(stream_client *c, const char *title_id);

/**
 * The profile's home screen (GET /v1/home): `{"profile_id":..,"model_version":..,
 * "rows":[{"id":"continue_watching"|"top_picks"|"because_you_watched"|"trending"|
 * "my_list","name":..,"source_title_id":..,"items":[..]}]}` (see stream/recs.h,
 * stream_recs_home()). `per_row` 0 is the server's default (20), else 1..50.
 * Caller frees with stream_free(). Errors: STREAM_EINVAL (per_row over 50),
 * STREAM_EFORBIDDEN (no profile selected), STREAM_EAUTH. Thread-safe.
 */
STREAM_API int stream_client_home(char **out_json, stream_client *c, unsigned int per_row);

/**
 * Rate a title for the selected profile: `value` 1 (thumbs up, PUT
 * /v1/ratings/{id}), -1 (thumbs down) or 0 (clear: DELETE; idempotent).
 * Errors: STREAM_EINVAL (bad id or value), STREAM_EFORBIDDEN (no profile
 * selected), STREAM_ENOTFOUND (unknown title, or one the profile may not
 * see). Thread-safe.
 */
STREAM_API int stream_client_rating_put(stream_client *c, const char *title_id, int value);

/**
 * The selected profile's rating of a title (GET /v1/ratings/{id}):
 * `*out_value` 1 (up), -1 (down) or 0 (none). Errors: STREAM_EINVAL,
 * STREAM_EFORBIDDEN, STREAM_ENOTFOUND, STREAM_EPROTO (malformed answer).
 * Thread-safe.
 */
STREAM_API int stream_client_rating_get(int *out_value, stream_client *c, const char *title_id);

/* ---- billing (docs/api/openapi.yaml, docs/streamd.md) ------------------ */

/*
 * Idempotency keys: the calls that change billing state take an
 * `idempotency_key` (1..255 printable ASCII characters, no spaces) sent as the
 * Idempotency-Key header. Repeating a call with the same key and arguments
 * returns the first answer without doing anything again (safe retries after a
 * network failure); the same key with other arguments is STREAM_ECONFLICT.
 * NULL makes the client generate a random key for this call (the retry the
 * client itself makes after refreshing the session reuses it, but a retry by
 * the application is a new request). A declined or failed charge is
 * STREAM_EPAYMENT (HTTP 402) with the provider's reason as the message.
 */

/** Active plans (GET /v1/billing/plans): `{"plans":[...]}`. Caller frees with stream_free(). */
STREAM_API int stream_client_billing_plans(char **out_json, stream_client *c);

/**
 * The account's live subscription or else its last one (GET
 * /v1/billing/subscription): `{"subscription":{...}}`. Caller frees with
 * stream_free(). Errors: STREAM_ENOTFOUND (never subscribed). Thread-safe.
 */
STREAM_API int stream_client_billing_subscription(char **out_json, stream_client *c);

/**
 * Subscribe (POST /v1/billing/subscription) to `plan_id`, charging `card_id`
 * (NULL = the default payment method). `out_json` (may be NULL) receives
 * `{"subscription":{...},"invoice_id":...}`; caller frees with stream_free().
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND (plan or card), STREAM_ECONFLICT
 * (already subscribed; key reused), STREAM_EPAYMENT (declined). Thread-safe.
 */
STREAM_API int stream_client_billing_subscribe(char **out_json, stream_client *c,
                                               const char *plan_id, const char *card_id,
                                               const char *idempotency_key);

/**
 * Change plan (POST /v1/billing/subscription/change): a dearer plan at once
 * with a prorated charge, a cheaper one at period end. `out_json` (may be
 * NULL) as for stream_client_billing_subscribe(). Errors: as subscribe.
 */
STREAM_API int stream_client_billing_change_plan(char **out_json, stream_client *c,
                                                 const char *plan_id, const char *idempotency_key);

/**
 * Cancel at period end (POST /v1/billing/subscription/cancel). `out_json`
 * (may be NULL) receives `{"subscription":{...}}`; caller frees with
 * stream_free(). Errors: STREAM_ENOTFOUND (no live subscription),
 * STREAM_ECONFLICT (key reused). Thread-safe.
 */
STREAM_API int stream_client_billing_cancel(char **out_json, stream_client *c,
                                            const char *idempotency_key);

/**
 * Undo a cancellation (POST /v1/billing/subscription/resume). As
 * stream_client_billing_cancel(); STREAM_ECONFLICT also when not canceled.
 */
STREAM_API int stream_client_billing_resume(char **out_json, stream_client *c,
                                            const char *idempotency_key);

/** The account's invoices, newest first (GET /v1/billing/invoices): `{"invoices":[...]}`. */
STREAM_API int stream_client_billing_invoices(char **out_json, stream_client *c);

/**
 * Add a payment method from a provider token (POST
 * /v1/billing/payment-methods), e.g. "tok_4242424242424242" with the local
 * test provider. `out_json` (may be NULL) receives the method (brand, last4,
 * expiry; never the number). Errors: STREAM_EINVAL (token refused),
 * STREAM_ECONFLICT (key reused). Thread-safe.
 */
STREAM_API int stream_client_billing_card_add(char **out_json, stream_client *c, const char *token,
                                              const char *idempotency_key);

/**
 * May the current profile play `title_id` on `device_id`? (GET
 * /v1/billing/entitlement; needs a profile: stream_client_profile_switch()).
 * `{"allowed":...,"reason":...,"max_height":...}`: not allowed is an answer,
 * not an error. Caller frees with stream_free(). Thread-safe.
 */
STREAM_API int stream_client_billing_entitlement(char **out_json, stream_client *c,
                                                 const char *title_id, const char *device_id);

/**
 * Take a screen for playback (POST /v1/billing/leases) for the current
 * profile. `device_name` (may be NULL) is shown to other devices. `out_json`
 * (may be NULL) receives the lease; heartbeat it before its `expires_at`.
 * Errors: STREAM_EBUSY (every screen of the plan is in use: the message
 * lists the devices), STREAM_EFORBIDDEN (not entitled: the reason),
 * STREAM_EINVAL. Thread-safe.
 */
STREAM_API int stream_client_billing_lease_acquire(char **out_json, stream_client *c,
                                                   const char *title_id, const char *device_id,
                                                   const char *device_name);

/**
 * Renew a lease (POST /v1/billing/leases/{id}/heartbeat). `out_json` (may be
 * NULL) receives the lease. Errors: STREAM_ENOTFOUND, STREAM_EEXPIRED (it
 * lapsed: acquire again). Thread-safe.
 */
STREAM_API int stream_client_billing_lease_heartbeat(char **out_json, stream_client *c,
                                                     const char *lease_id);

/** End a lease (DELETE /v1/billing/leases/{id}). Errors: STREAM_ENOTFOUND. Thread-safe. */
STREAM_API int stream_client_billing_lease_release(stream_client *c, const char *lease_id);

/* ---- anything else ----------------------------------------------------- */

/**
 * Call any API route the SDK does not wrap. `method` is GET, POST, PUT,
 * PATCH or DELETE; `path` starts with "/" and is sent as given, dot segments
 * included ("/v1/a/../b" is not shortened to "/v1/b"; encode query values
 * yourself); `json_body` (may be NULL) is sent as application/json and must
 * be exactly one JSON document. The session's access token is sent when
 * signed in (with the same refresh and retry on 401). `out_json` (may be
 * NULL) receives the JSON answer, whatever its shape ("null" for an empty
 * one; STREAM_EPROTO when it is not JSON); caller frees with stream_free().
 * Errors as for every call. Thread-safe.
 */
STREAM_API int stream_client_request(char **out_json, stream_client *c, const char *method,
                                     const char *path, const char *json_body);

#ifdef __cplusplus
}
#endif
#endif /* STREAM_CLIENT_H */
