/**
 * @file stream/sign.h
 * @brief Signed URLs, URL prefixes, cookies and tokens (floor 1, "sign"):
 *        libstream's native HMAC-SHA256 format, Google Cloud CDN compatible
 *        (HMAC-SHA1), Google Media CDN compatible (Ed25519 signatures;
 *        Ed25519 / HMAC-SHA1 / HMAC-SHA256 tokens) and Amazon CloudFront
 *        compatible (RSA / ECDSA P-256 signed URLs and signed cookies).
 *
 * Every format can be both signed and verified. Verification reports a
 * precise reason (stream_sign_reason) besides the status code.
 */
#ifndef STREAM_SIGN_H
#define STREAM_SIGN_H

#include "stream/common.h"
#include "stream/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Why a verification failed (or STREAM_SIGN_VALID). The status code returned
 * alongside is STREAM_EEXPIRED for EXPIRED and NOT_YET_VALID, STREAM_EAUTH for
 * BAD_SIGNATURE and UNKNOWN_KEY, STREAM_EINVAL for MALFORMED and MISSING, and
 * STREAM_EFORBIDDEN for OUTSIDE_PREFIX and IP_MISMATCH.
 */
typedef enum stream_sign_reason {
  STREAM_SIGN_VALID = 0,          /**< signature good, time window and scope match */
  STREAM_SIGN_EXPIRED = 1,        /**< past its expiry */
  STREAM_SIGN_NOT_YET_VALID = 2,  /**< before its not-before / Starts time */
  STREAM_SIGN_BAD_SIGNATURE = 3,  /**< signature does not match */
  STREAM_SIGN_UNKNOWN_KEY = 4,    /**< key id not in the key ring */
  STREAM_SIGN_MALFORMED = 5,      /**< cannot be parsed */
  STREAM_SIGN_OUTSIDE_PREFIX = 6, /**< valid, but the request URL is outside its scope */
  STREAM_SIGN_IP_MISMATCH = 7,    /**< valid, but bound to another client address */
  STREAM_SIGN_MISSING = 8         /**< no signature parameters present */
} stream_sign_reason;

/**
 * Static English description of a stream_sign_reason ("expired").
 * Never NULL. Thread-safe.
 */
STREAM_API const char *stream_sign_reason_str(int reason);

/* ==== native format (HMAC-SHA256) ======================================== */

/*
 * libstream's own format: HMAC-SHA256 over a canonical string-to-sign, keys
 * looked up by id in a stream_keyring (several live at once for rotation),
 * an expiry, an optional not-before and an optional client address or CIDR
 * binding. Four wire forms: an exact signed URL, a URL-prefix signature in
 * the query string, a cookie value, and a path-component token whose signed
 * prefix is inherited by relative URIs in HLS/DASH manifests. The exact wire
 * format is in docs/api/sign.md ("Native format").
 *
 * Thread-safety: every function below may be called from any thread at any
 * time, also on one shared key ring while it is being rotated.
 */

/** Name of the cookie carrying a native signed-cookie value. */
#define STREAM_NATIVE_COOKIE_NAME "Stream-Cookie"
/** Name of the path component carrying a native path token ("stream-token=..."). */
#define STREAM_NATIVE_PATH_TOKEN "stream-token"
/** Longest URL, prefix or cookie value accepted, in bytes. */
#define STREAM_NATIVE_URL_MAX 8192
/** Longest clock-skew leeway accepted by verification, in seconds. */
#define STREAM_NATIVE_LEEWAY_MAX 3600
/** Latest Expires / NotBefore accepted (9999-12-31T23:59:59Z). */
#define STREAM_NATIVE_TIME_MAX 253402300799

/** The wire forms of the native format. Also used as bits in a form mask. */
typedef enum stream_native_form {
  STREAM_NATIVE_FORM_URL = 1,    /**< exact URL: ...?Expires=..&KeyId=..&Signature=.. */
  STREAM_NATIVE_FORM_PREFIX = 2, /**< query URL-prefix: ...?URLPrefix=..&Expires=..&Signature=.. */
  STREAM_NATIVE_FORM_COOKIE = 4, /**< cookie value: URLPrefix=..&Expires=..&Signature=.. */
  STREAM_NATIVE_FORM_PATH = 8 /**< path token: PREFIX/stream-token=Expires=..&Signature=../rest */
} stream_native_form;

/** Options for signing. Initialise with STREAM_NATIVE_SIGN_OPTIONS_INIT. */
typedef struct stream_native_sign_options {
  unsigned int version; /**< STREAM_NATIVE_SIGN_OPTIONS_VERSION */
  int64_t expires; /**< required: Unix seconds from which the signature is refused (1..TIME_MAX) */
  int64_t not_before; /**< 0 for none, else Unix seconds before which it is refused (< expires) */
  const char *ip;     /**< NULL for none, else "203.0.113.7", "203.0.113.0/24", "2001:db8::/32" */
  const char *key_id; /**< NULL to sign with the ring's primary key, else that key's id */
} stream_native_sign_options;

#define STREAM_NATIVE_SIGN_OPTIONS_VERSION 1
#define STREAM_NATIVE_SIGN_OPTIONS_INIT                                                            \
  {                                                                                                \
    STREAM_NATIVE_SIGN_OPTIONS_VERSION, 0, 0, NULL, NULL                                           \
  }

/** Options for verification. Initialise with STREAM_NATIVE_VERIFY_OPTIONS_INIT. */
typedef struct stream_native_verify_options {
  unsigned int version; /**< STREAM_NATIVE_VERIFY_OPTIONS_VERSION */
  int64_t leeway;       /**< clock skew tolerated on Expires and NotBefore, 0..LEEWAY_MAX seconds */
  unsigned int forms;   /**< mask of accepted stream_native_form values; 0 accepts every form */
} stream_native_verify_options;

#define STREAM_NATIVE_VERIFY_OPTIONS_VERSION 1
#define STREAM_NATIVE_VERIFY_OPTIONS_INIT                                                          \
  {                                                                                                \
    STREAM_NATIVE_VERIFY_OPTIONS_VERSION, 0, 0                                                     \
  }

/**
 * What a verification found. Fields other than `reason` are filled as soon
 * as the signature parameters could be parsed, and are authenticated only
 * when `reason` is VALID, EXPIRED, NOT_YET_VALID, OUTSIDE_PREFIX or
 * IP_MISMATCH (the signature was checked and matched).
 */
typedef struct stream_native_result {
  int reason;                         /**< stream_sign_reason */
  int form;                           /**< stream_native_form found, 0 if none */
  char key_id[STREAM_KEY_ID_MAX + 1]; /**< KeyId, "" if not parsed */
  int64_t expires;                    /**< Expires, 0 if not parsed */
  int64_t not_before;                 /**< NotBefore, 0 when absent */
  char ip[64];         /**< IP binding in standard text ("2001:db8::/32"), "" for none */
  size_t strip_offset; /**< the signature occupies bytes [strip_offset, */
  size_t strip_len;    /**<   strip_offset+strip_len) of the URL (0,0 for cookies) */
} stream_native_result;

/**
 * Sign an exact URL: returns `url` + ("?" or "&") + "Expires=E[&NotBefore=N]
 * [&IP=A]&KeyId=K&Signature=S". The URL must be absolute http(s), at most
 * STREAM_NATIVE_URL_MAX bytes, printable ASCII without spaces or '#', must
 * not end in '?' or '&', and must not already carry any of the native
 * parameter names. A URL whose signed form would be over
 * STREAM_NATIVE_URL_MAX bytes (what verification takes) is refused rather
 * than signed into a URL no verifier accepts; the same holds for every form
 * whose result is a request URL (prefix with a url, path token), and for a
 * prefix without a url counting the prefix, '?' and the result. `*out`
 * belongs to the caller, who frees it with stream_free().
 * Errors: STREAM_EINVAL (bad argument or options, named in the message),
 * STREAM_ENOTFOUND (no such key id / no primary), STREAM_ENOMEM,
 * STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_sign_native_url(char **out, const stream_keyring *ring, const char *url,
                                      const stream_native_sign_options *opts);

/**
 * Sign a URL prefix in the query-string form. The prefix is absolute http(s)
 * with a path ("https://host/" at least), no query, fragment or dot segment.
 * When `url` is NULL `*out` is just the parameter string "URLPrefix=P&
 * Expires=E...&Signature=S" to append to any URL under the prefix; otherwise
 * `url` (which must lie under `prefix`) followed by "?" or "&" and those
 * parameters. `*out` belongs to the caller, who frees it with stream_free().
 * Errors: as stream_sign_native_url(). Thread-safe.
 */
STREAM_API int stream_sign_native_prefix(char **out, const stream_keyring *ring, const char *url,
                                         const char *prefix,
                                         const stream_native_sign_options *opts);

/**
 * Sign a URL prefix as the value of a STREAM_NATIVE_COOKIE_NAME cookie:
 * "URLPrefix=P&Expires=E[&NotBefore=N][&IP=A]&KeyId=K&Signature=S". The
 * caller builds the Set-Cookie header (Path and Domain covering the prefix).
 * `*out` belongs to the caller, who frees it with stream_free().
 * Errors: as stream_sign_native_prefix(). Thread-safe.
 */
STREAM_API int stream_sign_native_cookie(char **out, const stream_keyring *ring, const char *prefix,
                                         const stream_native_sign_options *opts);

/**
 * Sign a path-component token: returns `prefix` + "stream-token=Expires=E
 * [&NotBefore=N][&IP=A]&KeyId=K&Signature=S/" + `rest`. `prefix` must end in
 * '/'; `rest` (NULL or "" for none) is a relative reference such as
 * "master.m3u8", without dot segments or '#'. Every URL under
 * prefix + "stream-token=.../" verifies, so relative URIs in a manifest
 * inherit the token. `*out` belongs to the caller, who frees it with
 * stream_free().
 * Errors: as stream_sign_native_url(). Thread-safe.
 */
STREAM_API int stream_sign_native_path(char **out, const stream_keyring *ring, const char *prefix,
                                       const char *rest, const stream_native_sign_options *opts);

/**
 * Sign into a caller buffer without allocating (the hot-path variant of the
 * four functions above). `form` picks the form; `url` and `prefix` mean what
 * they mean there (for STREAM_NATIVE_FORM_PATH `url` is the `rest`; for
 * COOKIE it must be NULL; for URL `prefix` must be NULL). On success `dst`
 * holds the NUL-terminated result and `*out_len` its length. When `dst_cap`
 * is too small the call fails with STREAM_ERANGE and `*out_len` (which must
 * not be NULL) still receives the length needed, without the NUL.
 * Errors: those of the functions above, STREAM_ERANGE. Thread-safe.
 */
STREAM_API int stream_sign_native_into(char *dst, size_t dst_cap, size_t *out_len, int form,
                                       const stream_keyring *ring, const char *url,
                                       const char *prefix, const stream_native_sign_options *opts);

/**
 * Verify a request URL carrying a native signature in the query string
 * (exact URL or URL prefix) or as a path token; the form is detected. `url`
 * is the absolute request URL as received (scheme://host + request target,
 * no decoding). `client_ip` (NULL when unknown) is the client's address,
 * required only when the signature is bound to one. `now` is Unix seconds,
 * 0 for the current time. `opts` may be NULL for the defaults.
 * `*out` is always filled (reason, and the parsed fields; see
 * stream_native_result). Returns STREAM_OK when valid, else the status listed
 * for the reason on stream_sign_reason; argument errors give STREAM_EINVAL
 * with reason MALFORMED. The message never contains a key. Thread-safe.
 */
STREAM_API int stream_sign_native_verify(stream_native_result *out, const stream_keyring *ring,
                                         const char *url, const char *client_ip, int64_t now,
                                         const stream_native_verify_options *opts);

/**
 * Verify a STREAM_NATIVE_COOKIE_NAME cookie value against the request `url`
 * (which must lie under the signed prefix). Other arguments, results and
 * errors as stream_sign_native_verify(); an empty or NULL `cookie_value`
 * gives reason MISSING (STREAM_EINVAL). Thread-safe.
 */
STREAM_API int stream_sign_native_verify_cookie(stream_native_result *out,
                                                const stream_keyring *ring, const char *url,
                                                const char *cookie_value, const char *client_ip,
                                                int64_t now,
                                                const stream_native_verify_options *opts);

/* ==== end native format ================================================== */

/* ==== Google Cloud CDN and Google Media CDN ============================= */

/*
 * Formats byte-compatible with Google Cloud CDN (HMAC-SHA1 signed URLs, URL
 * prefixes and `Cloud-CDN-Cookie`) and Google Media CDN (Ed25519 signed URLs,
 * URL prefixes, path components, `Edge-Cache-Cookie`, and `edge-cache-token`
 * tokens signed with Ed25519, HMAC-SHA1 or HMAC-SHA256). Keys: Cloud CDN uses
 * STREAM_KEY_HMAC keys whose id is the KeyName; Media CDN signatures use
 * STREAM_KEY_ED25519_PRIVATE to sign and _PRIVATE or _PUBLIC to verify; Media
 * CDN tokens use Ed25519 or HMAC keys. Every function here is thread-safe:
 * keys are immutable and key rings lock internally.
 */

/** Current version of stream_google_sign_options. */
#define STREAM_GOOGLE_SIGN_OPTIONS_VERSION 1u

/** Options for the Google signing functions (not tokens). */
typedef struct stream_google_sign_options {
  unsigned int version; /**< STREAM_GOOGLE_SIGN_OPTIONS_VERSION */
  int64_t expires;      /**< absolute expiry, Unix seconds; used when > 0 */
  int64_t ttl;          /**< else: seconds from now (> 0) */
} stream_google_sign_options;

/** Initializer: `stream_google_sign_options o = STREAM_GOOGLE_SIGN_OPTIONS_INIT;` */
#define STREAM_GOOGLE_SIGN_OPTIONS_INIT                                                            \
  {                                                                                                \
    STREAM_GOOGLE_SIGN_OPTIONS_VERSION, 0, 0                                                       \
  }

/** Current version of stream_google_request. */
#define STREAM_GOOGLE_REQUEST_VERSION 1u

/**
 * The request being verified. All strings are borrowed for the call.
 * `url` is the absolute request URL as received (scheme://host/path?query);
 * Media CDN token verification also accepts a bare path ("/a/b.m3u8"), which
 * then cannot match a URLPrefix. `client_ip` (IPv4 or IPv6 text, optional) is
 * checked against a token's IPRanges. `header_names`/`header_values` are
 * `header_count` request headers (names case-insensitive) for a token's
 * Headers. `key_names` lists the ids of the ring's keys to try for
 * credentials that carry no KeyName (Media CDN tokens); NULL means the ring's
 * primary key. `now` is Unix seconds, 0 for the current time.
 */
typedef struct stream_google_request {
  unsigned int version; /**< STREAM_GOOGLE_REQUEST_VERSION */
  const char *url;
  const char *client_ip;
  const char *const *header_names;
  const char *const *header_values;
  size_t header_count;
  const char *const *key_names;
  size_t key_name_count;
  int64_t now;
} stream_google_request;

/** Initializer for stream_google_request. */
#define STREAM_GOOGLE_REQUEST_INIT                                                                 \
  {                                                                                                \
    STREAM_GOOGLE_REQUEST_VERSION, NULL, NULL, NULL, NULL, 0, NULL, 0, 0                           \
  }

/** Outcome of a Google-format verification (filled on success and failure). */
typedef struct stream_google_verification {
  int reason;                           /**< a stream_sign_reason */
  char key_name[STREAM_KEY_ID_MAX + 1]; /**< KeyName used (or tried), "" if unknown */
  int64_t expires;                      /**< Expires, 0 if it could not be parsed */
  int64_t starts;                       /**< Starts (tokens), 0 when absent */
} stream_google_verification;

/**
 * Sign an exact URL for Google Cloud CDN:
 * `url?Expires=E&KeyName=K&Signature=<base64url padded HMAC-SHA1>` (with `&`
 * when `url` already has a query). `key` is a STREAM_KEY_HMAC key whose id is
 * the KeyName (`[a-z]([-a-z0-9]*[a-z0-9])?`, 1..63). `url` must be http(s),
 * without fragment and without Expires/KeyName/Signature/URLPrefix parameters;
 * it is signed byte for byte. `*out` is the signed URL; caller frees it with
 * stream_free(). A signed URL that would be over 16384 bytes (what
 * verification takes) is refused rather than made into a URL no verifier
 * accepts; so are, for every Google signer, a result that is a request URL
 * (prefix with a url, Media CDN path component), a prefix without a url
 * counting the prefix, '?' and the result, a cookie and a Media CDN token.
 * Errors: STREAM_EINVAL (NULL or malformed argument, wrong key type or name,
 * a result over 16384 bytes), STREAM_ERANGE (URL over 16 KiB, expires after
 * 999999999999), STREAM_ENOMEM, STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_cloudcdn_sign_url(char **out, const stream_key *key, const char *url,
                                        const stream_google_sign_options *opts);

/**
 * Sign a URL prefix for Google Cloud CDN. The policy
 * `URLPrefix=<base64url padded prefix>&Expires=E&KeyName=K` is signed and
 * `&Signature=...` appended; the result is `url` + `?`/`&` + those parameters,
 * or only the parameters when `url` is NULL. `url_prefix` must be http(s)
 * and have no query or fragment. The result with `url`, or `url_prefix` +
 * '?' + the result without it, must fit 16384 bytes (else STREAM_EINVAL).
 * `*out`: caller frees with stream_free().
 * Errors as stream_cloudcdn_sign_url(). Thread-safe.
 */
STREAM_API int stream_cloudcdn_sign_prefix(char **out, const stream_key *key, const char *url,
                                           const char *url_prefix,
                                           const stream_google_sign_options *opts);

/**
 * Sign a Cloud CDN cookie for `url_prefix`: `*out` is
 * `Cloud-CDN-Cookie=URLPrefix=...:Expires=E:KeyName=K:Signature=...` (name and
 * value, without Set-Cookie attributes), at most 16384 bytes (else
 * STREAM_EINVAL: the verifier takes no longer cookie; the URLPrefix is base64url,
 * about 4/3 of `url_prefix`). Caller frees with stream_free().
 * Errors as stream_cloudcdn_sign_prefix(). Thread-safe.
 */
STREAM_API int stream_cloudcdn_sign_cookie(char **out, const stream_key *key,
                                           const char *url_prefix,
                                           const stream_google_sign_options *opts);

/**
 * Verify a Cloud CDN signed URL or signed URL prefix carried in `req->url`
 * (Expires in the future, key looked up by KeyName in `ring`, HMAC-SHA1
 * compared in constant time, request URL inside URLPrefix). `*out` is always
 * filled. Returns STREAM_OK (reason STREAM_SIGN_VALID) or the code that goes
 * with the reason (see stream_sign_reason); STREAM_EINVAL also for NULL or
 * malformed arguments; STREAM_ERANGE (reason MALFORMED) for a `req->url`
 * over 16384 bytes. Thread-safe.
 */
STREAM_API int stream_cloudcdn_verify_url(stream_google_verification *out,
                                          const stream_keyring *ring,
                                          const stream_google_request *req);

/**
 * Verify a `Cloud-CDN-Cookie` value (with or without the leading
 * `Cloud-CDN-Cookie=`) for the request URL `req->url`. Same checks, outcome
 * and errors as stream_cloudcdn_verify_url(). Thread-safe.
 */
STREAM_API int stream_cloudcdn_verify_cookie(stream_google_verification *out,
                                             const stream_keyring *ring, const char *cookie,
                                             const stream_google_request *req);

/**
 * Sign an exact URL for Google Media CDN with Ed25519:
 * `url?Expires=E&KeyName=K&Signature=<base64url unpadded>`. `key` is a
 * STREAM_KEY_ED25519_PRIVATE key whose id is the KeyName
 * (`[a-zA-Z][a-zA-Z0-9_-]*`, 1..64). URL rules as stream_cloudcdn_sign_url(),
 * including its length rule: no result over 16384 bytes (STREAM_EINVAL).
 * `*out`: caller frees with stream_free(). Errors: STREAM_EINVAL,
 * STREAM_ERANGE, STREAM_ENOMEM, STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_mediacdn_sign_url(char **out, const stream_key *key, const char *url,
                                        const stream_google_sign_options *opts);

/**
 * Sign a URL prefix for Media CDN: `URLPrefix=<base64url>&Expires=E&
 * KeyName=K&Signature=...` appended to `url` (or alone when `url` is NULL).
 * As in Google's reference samples and vectors, URLPrefix keeps its '='
 * padding and the signature has none. Lengths as stream_cloudcdn_sign_prefix().
 * `*out`: caller frees with stream_free(). Errors as stream_mediacdn_sign_url().
 * Thread-safe.
 */
STREAM_API int stream_mediacdn_sign_prefix(char **out, const stream_key *key, const char *url,
                                           const char *url_prefix,
                                           const stream_google_sign_options *opts);

/**
 * Sign a Media CDN path component: `url_prefix` (http(s), no query, ending in
 * '/') + `edge-cache-token=Expires=E&KeyName=K&Signature=...` + '/' +
 * `filename` (may be NULL or empty; no '?' or '#'). The signature covers
 * `url_prefix` + `edge-cache-token=Expires=E&KeyName=K`, so any URL under that
 * component is allowed. The whole result, a request URL, must fit 16384
 * bytes (else STREAM_EINVAL). `*out`: caller frees with stream_free(). Errors as
 * stream_mediacdn_sign_url(). Thread-safe.
 */
STREAM_API int stream_mediacdn_sign_path_component(char **out, const stream_key *key,
                                                   const char *url_prefix, const char *filename,
                                                   const stream_google_sign_options *opts);

/**
 * Sign a Media CDN cookie: `*out` is `Edge-Cache-Cookie=URLPrefix=...:
 * Expires=E:KeyName=K:Signature=...`, at most 16384 bytes (as
 * stream_cloudcdn_sign_cookie()). Caller frees with stream_free().
 * Errors as stream_mediacdn_sign_url(). Thread-safe.
 */
STREAM_API int stream_mediacdn_sign_cookie(char **out, const stream_key *key,
                                           const char *url_prefix,
                                           const stream_google_sign_options *opts);

/**
 * Verify a Media CDN signed URL in `req->url`: exact URL, URL prefix
 * (URLPrefix padded or unpadded, verified as sent) or path component
 * (`/edge-cache-token=...&Signature=.../`). The KeyName must name an Ed25519
 * key (private or public) in `ring`; signature padding is optional. `*out` is
 * always filled; returns STREAM_OK or the code of the reason; STREAM_EINVAL
 * for NULL or malformed arguments; STREAM_ERANGE (reason MALFORMED) for a
 * `req->url` over 16384 bytes. Thread-safe.
 */
STREAM_API int stream_mediacdn_verify_url(stream_google_verification *out,
                                          const stream_keyring *ring,
                                          const stream_google_request *req);

/**
 * Verify an `Edge-Cache-Cookie` value (with or without the leading
 * `Edge-Cache-Cookie=`) signed with Ed25519 for `req->url`. Outcome and
 * errors as stream_mediacdn_verify_url(). Thread-safe.
 */
STREAM_API int stream_mediacdn_verify_cookie(stream_google_verification *out,
                                             const stream_keyring *ring, const char *cookie,
                                             const stream_google_request *req);

/** HMAC algorithms for Media CDN tokens signed with an HMAC key. */
typedef enum stream_mediacdn_hmac {
  STREAM_MEDIACDN_HMAC_SHA256 = 1, /**< default (0 also means SHA-256) */
  STREAM_MEDIACDN_HMAC_SHA1 = 2
} stream_mediacdn_hmac;

/** Current version of stream_mediacdn_token_options. */
#define STREAM_MEDIACDN_TOKEN_OPTIONS_VERSION 1u

/**
 * Fields of a Media CDN token. Exactly one of url_prefix, full_path and
 * path_globs is set. Strings are borrowed for the call and must not contain
 * '~'. `full_path` starts with '/'; `path_globs`: up to 5 globs starting with
 * '/', separated by ',' or '!'; neither holds a space, '?' or '#' (a request
 * path ends before those). `session_id` and `data` hold no space.
 * `ip_ranges`: comma-separated IPv4/IPv6 CIDR ranges, at most 3072 bytes.
 * Headers are `header_count` name/value pairs (names without ',' '=' ':' or
 * spaces, each name once, compared case-insensitively).
 */
typedef struct stream_mediacdn_token_options {
  unsigned int version; /**< STREAM_MEDIACDN_TOKEN_OPTIONS_VERSION */
  int hmac;             /**< stream_mediacdn_hmac for HMAC keys; ignored for Ed25519 */
  int64_t expires;      /**< absolute expiry (Unix seconds); used when > 0 */
  int64_t ttl;          /**< else: seconds from now (> 0) */
  int64_t starts;       /**< Starts (Unix seconds), 0 = absent */
  const char *url_prefix;
  const char *full_path;
  const char *path_globs;
  const char *session_id;
  const char *data;
  const char *const *header_names;
  const char *const *header_values;
  size_t header_count;
  const char *ip_ranges;
} stream_mediacdn_token_options;

/** Initializer for stream_mediacdn_token_options. */
#define STREAM_MEDIACDN_TOKEN_OPTIONS_INIT                                                         \
  {                                                                                                \
    STREAM_MEDIACDN_TOKEN_OPTIONS_VERSION, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL,   \
        0, NULL                                                                                    \
  }

/**
 * Build a Media CDN token (the value of `edge-cache-token`), e.g.
 * `PathGlobs=/tv/...~Starts=S~Expires=E~SessionID=..~Data=..~Headers=Foo,BAZ~
 * IPRanges=..~Signature=..` (Ed25519 key) or `...~hmac=<hex>` (HMAC key, 16
 * bytes or more). URLPrefix and IPRanges are base64url without padding; the
 * token carries the bare word FullPath while `FullPath=<path>` is signed.
 * A token over 16384 bytes, which verification refuses, is not made
 * (STREAM_EINVAL: each field has its own limit, the whole token this one).
 * `*out`: caller frees with stream_free(). Errors: STREAM_EINVAL, STREAM_ERANGE,
 * STREAM_ENOMEM, STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_mediacdn_token_sign(char **out, const stream_key *key,
                                          const stream_mediacdn_token_options *opts);

/**
 * Verify a Media CDN token against the request: the keys named by
 * `req->key_names` (or the ring's primary key) are tried in order (Ed25519
 * keys for Signature=, HMAC keys for hmac=, SHA-1 or SHA-256 by length);
 * then Starts/Expires, URLPrefix/PathGlobs/FullPath against `req->url`,
 * IPRanges against `req->client_ip`, Headers from the request headers.
 * Padded and unpadded base64url are accepted. `*out` is always filled (its
 * key_name is the key that verified). Returns STREAM_OK or the code of the
 * reason; STREAM_EINVAL for NULL or malformed arguments; STREAM_ERANGE
 * (reason MALFORMED) for a `req->url` over 16384 bytes. Thread-safe.
 */
STREAM_API int stream_mediacdn_token_verify(stream_google_verification *out,
                                            const stream_keyring *ring, const char *token,
                                            const stream_google_request *req);

/* ==== end Google formats ================================================= */

/* ==== Amazon CloudFront ================================================= */

/*
 * Signed URLs and signed cookies byte-compatible with Amazon CloudFront and
 * the AWS SDKs (@aws-sdk/cloudfront-signer): a canned policy (Expires) or a
 * custom policy (Policy: DateLessThan, optional DateGreaterThan, IpAddress and
 * a Resource with '*' and '?' wildcards), signed with RSA PKCS#1 v1.5 or
 * ECDSA P-256 (DER signature) over SHA-1 (the default) or SHA-256
 * (`Hash-Algorithm=SHA256` / `CloudFront-Hash-Algorithm=SHA256`), encoded in
 * CloudFront's base64 ('+' -> '-', '=' -> '_', '/' -> '~'). Keys: sign with
 * STREAM_KEY_RSA_PRIVATE or STREAM_KEY_EC_PRIVATE whose id is the CloudFront
 * public key id (Key-Pair-Id, e.g. "K2JCJMDEHXQW5F"); verify with a key ring
 * of those keys or of their public keys. Wire format: docs/api/sign.md
 * ("Amazon CloudFront"). Every function here is thread-safe: keys are
 * immutable and key rings lock internally.
 */

/** Longest URL, resource, policy or Cookie header accepted, in bytes. */
#define STREAM_CLOUDFRONT_TEXT_MAX 16384

/** Hash algorithms of a CloudFront signature. */
typedef enum stream_cloudfront_hash {
  STREAM_CLOUDFRONT_SHA1 = 1,  /**< the default (0 also means SHA-1); no parameter is sent */
  STREAM_CLOUDFRONT_SHA256 = 2 /**< adds Hash-Algorithm=SHA256 / CloudFront-Hash-Algorithm */
} stream_cloudfront_hash;

/** Current version of stream_cloudfront_sign_options. */
#define STREAM_CLOUDFRONT_SIGN_OPTIONS_VERSION 1u

/**
 * Options for signing. A custom policy is used when `starts` or `ip` is set,
 * when `resource` is given (a pattern with '*', or a URL other than the
 * signed one), or when `custom` is nonzero; otherwise a canned policy.
 * Wildcards come only from `resource` (and from the resource of
 * stream_cloudfront_sign_cookies()): a '*' in a URL is a literal byte of a
 * canned policy, and STREAM_EINVAL when the URL would become a custom
 * policy's Resource. Strings are borrowed for the call.
 */
typedef struct stream_cloudfront_sign_options {
  unsigned int version; /**< STREAM_CLOUDFRONT_SIGN_OPTIONS_VERSION */
  int64_t expires;      /**< DateLessThan, Unix seconds; used when > 0 */
  int64_t ttl;          /**< else: seconds from now (> 0) */
  int64_t starts;       /**< DateGreaterThan, Unix seconds (< expires), 0 for none */
  const char *ip;       /**< IpAddress: "203.0.113.7" (sent as /32) or "203.0.113.0/24"; IPv4 */
  const char *resource; /**< URLs only: the policy Resource when not the URL (wildcards allowed) */
  int hash;             /**< stream_cloudfront_hash; 0 = SHA-1 */
  int custom;           /**< nonzero: custom policy even when a canned one would do */
} stream_cloudfront_sign_options;

/** Initializer: `stream_cloudfront_sign_options o = STREAM_CLOUDFRONT_SIGN_OPTIONS_INIT;` */
#define STREAM_CLOUDFRONT_SIGN_OPTIONS_INIT                                                        \
  {                                                                                                \
    STREAM_CLOUDFRONT_SIGN_OPTIONS_VERSION, 0, 0, 0, NULL, NULL, 0, 0                              \
  }

/** Current version of stream_cloudfront_request. */
#define STREAM_CLOUDFRONT_REQUEST_VERSION 1u

/**
 * The request being verified; strings are borrowed for the call. `url` is the
 * absolute request URL as received (scheme://host/path?query, no decoding).
 * `client_ip` (IPv4 or IPv6 text, NULL when unknown) is checked against a
 * policy's IpAddress; a policy with IpAddress fails with IP_MISMATCH when it
 * is NULL. `now` is Unix seconds, 0 for the current time.
 */
typedef struct stream_cloudfront_request {
  unsigned int version; /**< STREAM_CLOUDFRONT_REQUEST_VERSION */
  const char *url;
  const char *client_ip;
  int64_t now;
} stream_cloudfront_request;

/** Initializer for stream_cloudfront_request. */
#define STREAM_CLOUDFRONT_REQUEST_INIT                                                             \
  {                                                                                                \
    STREAM_CLOUDFRONT_REQUEST_VERSION, NULL, NULL, 0                                               \
  }

/**
 * Outcome of a CloudFront verification, filled on success and failure.
 * Fields other than `reason` are authenticated only when the signature
 * matched (reason VALID, EXPIRED, NOT_YET_VALID, OUTSIDE_PREFIX, IP_MISMATCH).
 */
typedef struct stream_cloudfront_verification {
  int reason;                              /**< a stream_sign_reason */
  int custom;                              /**< 1 for a custom policy, 0 for canned */
  int hash;                                /**< stream_cloudfront_hash of the signature */
  char key_pair_id[STREAM_KEY_ID_MAX + 1]; /**< Key-Pair-Id, "" if not parsed */
  int64_t expires;                         /**< DateLessThan / Expires, 0 if not parsed */
  int64_t starts;                          /**< DateGreaterThan, 0 when absent */
  char ip[64];                             /**< IpAddress AWS:SourceIp, "" when absent */
} stream_cloudfront_verification;

/**
 * Sign a URL for CloudFront. Canned policy:
 * `url?Expires=E&Key-Pair-Id=K&Signature=S`; custom policy:
 * `url?Policy=P&Key-Pair-Id=K&Signature=S`; then `&Hash-Algorithm=SHA256`
 * when opts->hash is SHA-256 (the parameter order of @aws-sdk/cloudfront-signer;
 * `&` instead of `?` when `url` has a query). `url` is http(s), printable ASCII
 * (percent-encode the rest), without fragment, at most
 * STREAM_CLOUDFRONT_TEXT_MAX bytes, and must not carry Expires, Policy,
 * Signature, Key-Pair-Id or Hash-Algorithm parameters; it is signed byte for
 * byte as given (the policy Resource, unless opts->resource is set). `key` is
 * an RSA or EC private key whose id is the Key-Pair-Id. `*out` belongs to the
 * caller, who frees it with stream_free().
 * Errors: STREAM_EINVAL (NULL, empty, malformed or colliding argument, wrong
 * key type; the message names it), STREAM_ERANGE (over the size limit),
 * STREAM_ENOMEM, STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_cloudfront_sign_url(char **out, const stream_key *key, const char *url,
                                          const stream_cloudfront_sign_options *opts);

/**
 * Sign CloudFront cookies for `resource`: a URL, or a pattern with '*' / '?'
 * wildcards such as "https://d111111abcdef8.cloudfront.net/v/abc/" followed by a star (a custom
 * policy then). `*out` holds one `Name=Value` line per cookie, each ended by
 * '\n': `CloudFront-Expires` (canned) or `CloudFront-Policy` (custom),
 * `CloudFront-Signature`, `CloudFront-Key-Pair-Id`, and
 * `CloudFront-Hash-Algorithm=SHA256` with SHA-256. Each line is the start of a
 * Set-Cookie header; the caller adds Domain, Path, Secure and HttpOnly. The
 * values hold only [A-Za-z0-9_~-]. opts->resource must be NULL. `*out`
 * belongs to the caller, who frees it with stream_free().
 * Errors: as stream_cloudfront_sign_url(). Thread-safe.
 */
STREAM_API int stream_cloudfront_sign_cookies(char **out, const stream_key *key,
                                              const char *resource,
                                              const stream_cloudfront_sign_options *opts);

/**
 * Verify a CloudFront signed URL in `req->url`. The CloudFront parameters
 * (Expires or Policy, Signature, Key-Pair-Id, optional Hash-Algorithm, in any
 * order, each once) must be the last ones of the query; the URL without them
 * is the canned policy's Resource, or what a custom policy's Resource
 * (wildcards '*' any run, '?' one character) must match. The key is looked up
 * by Key-Pair-Id in `ring` (RSA or EC, private or public). A request is valid
 * when DateGreaterThan <= now < DateLessThan. `*out` is always filled. Returns
 * STREAM_OK, or the code of the reason (see stream_sign_reason): EXPIRED,
 * NOT_YET_VALID, BAD_SIGNATURE, UNKNOWN_KEY, MALFORMED, MISSING (no
 * Signature), OUTSIDE_PREFIX (outside Resource), IP_MISMATCH; STREAM_EINVAL
 * also for NULL or malformed arguments; STREAM_ERANGE (reason MALFORMED) for
 * a `req->url` over STREAM_CLOUDFRONT_TEXT_MAX bytes. The message never holds
 * a key.
 * Thread-safe.
 */
STREAM_API int stream_cloudfront_verify_url(stream_cloudfront_verification *out,
                                            const stream_keyring *ring,
                                            const stream_cloudfront_request *req);

/**
 * Verify CloudFront signed cookies for the request `req->url`. `cookies` is
 * the request's Cookie header value ("a=b; CloudFront-Policy=...; ...") or the
 * lines stream_cloudfront_sign_cookies() returns; other cookies are ignored,
 * a CloudFront cookie given twice is MALFORMED, no CloudFront-Signature is
 * MISSING. A canned policy's Resource is `req->url`. Checks, outcome and
 * errors as stream_cloudfront_verify_url(). Thread-safe.
 */
STREAM_API int stream_cloudfront_verify_cookies(stream_cloudfront_verification *out,
                                                const stream_keyring *ring, const char *cookies,
                                                const stream_cloudfront_request *req);

/* ==== end Amazon CloudFront ============================================== */

#ifdef __cplusplus
}
#endif
#endif /* STREAM_SIGN_H */
