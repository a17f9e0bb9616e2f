/**
 * @file stream/token.h
 * @brief JSON Web Tokens (RFC 7519) in the JWS compact serialization
 *        (RFC 7515) with HS256 and EdDSA / Ed25519 (RFC 8037): issue and
 *        verify through a key ring, with claim checks (floor 1, "token").
 *
 * These are the platform's access tokens: short lived, `sub` = account id,
 * plus custom claims (profile id, scope, ...).
 *
 * Security rules applied by every function here:
 * - The algorithm comes from the KEY, never from the token: an HMAC key only
 *   accepts "HS256", an Ed25519 key only "EdDSA". A header naming another
 *   algorithm (including "none" in any spelling) is rejected with STREAM_EAUTH.
 * - Headers and claims with duplicate JSON members, escaped NUL characters
 *   or invalid UTF-8 are rejected; so are "crit" (no extension is understood:
 *   STREAM_ENOTSUP), "b64": false (STREAM_ENOTSUP) and a non-string "kid".
 * - Segments must be unpadded, canonical base64url; tokens over the size limit
 *   (8 KiB by default) are refused before anything is decoded (STREAM_ERANGE).
 * - Signatures are compared in constant time. Claims are parsed only after
 *   the signature has been verified.
 *
 * Status codes: STREAM_EINVAL malformed token or argument, STREAM_ERANGE too
 * large, STREAM_EAUTH bad signature / unknown kid / algorithm mismatch /
 * alg none, STREAM_EEXPIRED expired / not yet valid / issued in the future,
 * STREAM_EFORBIDDEN wrong issuer, audience or typ, STREAM_ENOTSUP critical
 * extension. stream_error_last() names the header member or claim and the
 * values involved (never key material).
 *
 * Thread-safety: every function in this header may be called from any thread
 * at any time. Keys are immutable and key rings lock internally, so keys may
 * be rotated in a ring while other threads issue and verify tokens with it.
 */
#ifndef STREAM_TOKEN_H
#define STREAM_TOKEN_H

#include "stream/common.h"
#include "stream/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Default and largest accepted size of a compact token, in bytes. */
#define STREAM_TOKEN_SIZE_DEFAULT 8192
#define STREAM_TOKEN_SIZE_MAX (1024 * 1024)
/** Size of the string fields of stream_token_claims (at most 255 bytes + NUL). */
#define STREAM_TOKEN_CLAIM_MAX 256
/** Largest accepted leeway, in seconds (one hour). */
#define STREAM_TOKEN_LEEWAY_MAX 3600

/* ==== JWS level: exact bytes, for interoperability and test vectors ====== */

/** Options of stream_jws_verify(). */
typedef struct stream_jws_options {
  unsigned int version; /**< STREAM_JWS_OPTIONS_VERSION */
  size_t max_size;      /**< largest accepted compact JWS in bytes; 0 = STREAM_TOKEN_SIZE_DEFAULT */
} stream_jws_options;

#define STREAM_JWS_OPTIONS_VERSION 1
#define STREAM_JWS_OPTIONS_INIT                                                                    \
  {                                                                                                \
    STREAM_JWS_OPTIONS_VERSION, 0                                                                  \
  }

/**
 * Sign `payload` (`payload_len` bytes, any content; NULL only when the length
 * is 0) under the protected header given as exact JSON bytes (`header_len`
 * bytes, not necessarily NUL-terminated), producing the compact serialization
 * BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(signature).
 *
 * The header must be a JSON object whose "alg" is the key's algorithm
 * ("HS256" for an STREAM_KEY_HMAC key of at least 32 bytes, "EdDSA" for an
 * STREAM_KEY_ED25519_PRIVATE key); the same header rules as verification
 * apply (no duplicates, no "crit", no "b64": false, string "kid"). The header
 * bytes are used as given, so RFC vectors are reproduced byte for byte.
 * Ed25519 is deterministic: equal inputs give equal output.
 *
 * `*out` is NUL-terminated; the caller frees it with stream_free().
 * Errors: STREAM_EINVAL (NULL argument, public key, short HMAC key, bad
 * header), STREAM_EAUTH (header alg is not the key's), STREAM_ENOTSUP (crit,
 * b64), STREAM_ERANGE (header or payload over 1 MiB), STREAM_ENOMEM,
 * STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_jws_sign(char **out, const stream_key *key, const char *header_json,
                               size_t header_len, const void *payload, size_t payload_len);

/**
 * Verify a compact JWS (NUL-terminated) with one key and return its payload.
 * The header's "alg" must be the key's algorithm; when the header carries a
 * "kid" it must equal the key's id. No claim is looked at: use
 * stream_token_verify() for JWTs.
 *
 * On success `*out_payload` holds `*out_len` bytes plus a terminating NUL
 * (added for convenience); the caller frees it with stream_free(). On failure
 * `*out_payload` is NULL and `*out_len` 0. `opts` may be NULL for defaults.
 * Errors: STREAM_EINVAL (malformed: segments, base64url, header JSON),
 * STREAM_ERANGE (over max_size), STREAM_EAUTH (signature, alg, kid),
 * STREAM_ENOTSUP (crit, b64), STREAM_ENOMEM, STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_jws_verify(unsigned char **out_payload, size_t *out_len,
                                 const stream_key *key, const char *jws,
                                 const stream_jws_options *opts);

/* ==== JWT level: access tokens through a key ring ======================== */

/** Options of stream_token_issue(). Zero / NULL fields are left out. */
typedef struct stream_token_issue_options {
  unsigned int version; /**< STREAM_TOKEN_ISSUE_OPTIONS_VERSION */
  int64_t ttl;          /**< exp = iat + ttl seconds (> 0); or 0 to use `exp` */
  int64_t exp;          /**< absolute expiry (Unix seconds) when ttl is 0 */
  int64_t nbf;          /**< not-before (Unix seconds); 0 = no nbf claim */
  const char *iss;      /**< issuer; NULL = none (or from claims_json) */
  const char *aud;      /**< single audience; NULL = none (or from claims_json) */
  const char *sub;      /**< subject, e.g. the account id; NULL = none (or from claims_json) */
  int jti;              /**< non-zero: add a random "jti" (16 CSPRNG bytes, base64url) */
  int64_t now;          /**< the time used for iat; 0 = the current time (tests) */
  const char *typ;      /**< header "typ" (1..32 printable ASCII, no '"' or '\\'); NULL = "JWT" */
} stream_token_issue_options;

#define STREAM_TOKEN_ISSUE_OPTIONS_VERSION 1
/** Defaults: 15-minute lifetime, random jti, typ "JWT". */
#define STREAM_TOKEN_ISSUE_OPTIONS_INIT                                                            \
  {                                                                                                \
    STREAM_TOKEN_ISSUE_OPTIONS_VERSION, 900, 0, 0, NULL, NULL, NULL, 1, 0, NULL                    \
  }

/** Options of stream_token_verify(). */
typedef struct stream_token_verify_options {
  unsigned int version; /**< STREAM_TOKEN_VERIFY_OPTIONS_VERSION */
  const char *iss;      /**< required issuer; NULL = not checked */
  const char *aud;      /**< our audience: must equal "aud" or be in its array. NULL = the
                             token must carry no "aud" (RFC 7519 §4.1.3) */
  int64_t leeway;       /**< clock skew allowance in seconds, 0..STREAM_TOKEN_LEEWAY_MAX */
  int64_t now;          /**< the time to check against; 0 = the current time (tests) */
  size_t max_size;      /**< largest accepted token in bytes; 0 = STREAM_TOKEN_SIZE_DEFAULT */
  int require_exp;      /**< non-zero (default): a token without "exp" is rejected */
  const char *typ;      /**< required header "typ" (case-insensitive; 1..32 printable ASCII, no
                             '"' or '\\'); NULL = "JWT" or absent */
} stream_token_verify_options;

#define STREAM_TOKEN_VERIFY_OPTIONS_VERSION 1
/** Defaults: no issuer check, no audience, no leeway, 8 KiB, exp required. */
#define STREAM_TOKEN_VERIFY_OPTIONS_INIT                                                           \
  {                                                                                                \
    STREAM_TOKEN_VERIFY_OPTIONS_VERSION, NULL, NULL, 0, 0, 0, 1, NULL                              \
  }

/** The registered claims of a verified token. Absent strings are "". */
typedef struct stream_token_claims {
  char sub[STREAM_TOKEN_CLAIM_MAX]; /**< subject (account id) */
  char iss[STREAM_TOKEN_CLAIM_MAX]; /**< issuer */
  char aud[STREAM_TOKEN_CLAIM_MAX]; /**< the audience that matched (opts->aud); "" without one */
  char jti[STREAM_TOKEN_CLAIM_MAX]; /**< token id */
  char kid[STREAM_KEY_ID_MAX + 1];  /**< id of the key that verified the token */
  int64_t exp;                      /**< expiry; 0 when absent */
  int64_t nbf;                      /**< not-before; 0 when absent */
  int64_t iat;                      /**< issued-at; 0 when absent */
  int has_exp;                      /**< 1 when "exp" was present */
  int has_nbf;                      /**< 1 when "nbf" was present */
  int has_iat;                      /**< 1 when "iat" was present */
} stream_token_claims;

/**
 * Issue a JWT signed with the key `kid` of `ring` (NULL = the primary key).
 * The header is {"alg":...,"typ":"JWT","kid":...}; the algorithm follows the
 * key (HS256 for HMAC keys of at least 32 bytes, EdDSA for Ed25519 private
 * keys). The claims are "iss", "sub", "aud", "iat" (= now), "nbf", "exp" and
 * "jti" from `opts`, followed by the members of `claims_json` (a JSON object
 * of custom claims, e.g. {"pid":"p1","scope":"play"}; NULL = none).
 * claims_json may also carry iss/sub/aud/nbf/jti when `opts` leaves them
 * unset, but never "iat" or "exp", and never a claim `opts` also sets.
 * Numbers in claims_json travel as IEEE doubles, written so that they read
 * back exactly (an out-of-range one such as 1e999 is refused): put ids over
 * 2^53 in strings. iss, sub and jti are at most 255 bytes. A token no
 * verifier could accept is refused: an "aud" without a non-empty audience,
 * an nbf (from opts or claims_json) not before exp. Every token expires: ttl
 * or exp is required. `opts` may be NULL for STREAM_TOKEN_ISSUE_OPTIONS_INIT.
 *
 * `*out` is the NUL-terminated token; the caller frees it with stream_free().
 * Errors: STREAM_EINVAL (NULL ring/out, bad options, bad claims_json, public
 * or short key), STREAM_ENOTFOUND (no such kid / no primary key),
 * STREAM_ERANGE (string over 255 bytes, claims_json or token over
 * STREAM_TOKEN_SIZE_DEFAULT, ttl/exp/nbf beyond the NumericDate range),
 * STREAM_ENOMEM, STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_token_issue(char **out, const stream_keyring *ring, const char *kid,
                                  const char *claims_json, const stream_token_issue_options *opts);

/**
 * Verify a JWT (NUL-terminated compact JWS) against the key ring: the key is
 * chosen by the header's "kid" (required), the header's "alg" must be that
 * key's algorithm, the signature must match, then the claims are checked:
 * exp (valid while now < exp + leeway), nbf (now >= nbf - leeway), iat (not
 * after now + leeway), iss and aud against `opts`, and the types of sub and
 * jti (strings of at most 255 bytes).
 *
 * On success, `*out_claims_json` (may be NULL if not wanted) receives the
 * token's payload exactly as signed (a JSON object, NUL-terminated), which
 * the caller frees with stream_free(); `*out` (may be NULL) is filled with
 * the registered claims. On failure `*out_claims_json` is NULL and `*out` is
 * zeroed. `opts` may be NULL for STREAM_TOKEN_VERIFY_OPTIONS_INIT.
 *
 * Errors: STREAM_EINVAL (malformed token, bad claim type, missing exp, bad
 * options, or the "kid" names a ring key that cannot verify JWTs: RSA, ECDSA,
 * HMAC under 32 bytes), STREAM_ERANGE (token over max_size, claim over 255
 * bytes), STREAM_EAUTH (bad signature, missing or unknown kid, alg mismatch or none),
 * STREAM_EEXPIRED (expired, not yet valid, issued in the future),
 * STREAM_EFORBIDDEN (wrong iss, aud or typ), STREAM_ENOTSUP (crit, b64),
 * STREAM_ENOMEM, STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_token_verify(char **out_claims_json, stream_token_claims *out,
                                   const stream_keyring *ring, const char *token,
                                   const stream_token_verify_options *opts);

#ifdef __cplusplus
}
#endif
#endif /* STREAM_TOKEN_H */
