/**
 * @file stream/password.h
 * @brief Password hashing with Argon2id (RFC 9106) to PHC strings
 *        (floor 1, "password").
 *
 * stream_password_hash() turns a password into a self-describing PHC string
 * `$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<tag>` (standard base64
 * alphabet, no padding), stream_password_verify() checks a password against
 * such a string in constant time on the tag, and
 * stream_password_needs_rehash() tells whether a stored string was made with
 * other parameters than the current ones (so that the application re-hashes
 * the password at the next successful sign-in).
 * stream_password_argon2id_raw() exposes the bare Argon2id function, including
 * a secret ("pepper") and associated data, for KDF uses and RFC 9106 §5.3.
 *
 * Limits, applied both when hashing and when parsing a stored string so that a
 * hostile string cannot make the library allocate gigabytes or spin for hours:
 * - password: 1..4096 bytes (any bytes, NUL included: lengths are explicit);
 * - memory m: 8*p .. 1048576 KiB (1 GiB);
 * - passes t: 1..64; lanes p: 1..16;
 * - salt: 8..64 bytes; tag: 16..64 bytes.
 *
 * Defaults (OWASP Password Storage Cheat Sheet): m = 19456 KiB (19 MiB),
 * t = 2, p = 1, 16-byte salt from the CSPRNG, 32-byte tag.
 *
 * Thread-safety: every function is thread-safe; each call allocates its own
 * Argon2 memory (m KiB) for the duration of the call.
 */
#ifndef STREAM_PASSWORD_H
#define STREAM_PASSWORD_H

#include "stream/common.h"
#include "stream/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Limits (see the file comment). */
#define STREAM_PASSWORD_LEN_MIN 1
#define STREAM_PASSWORD_LEN_MAX 4096
#define STREAM_PASSWORD_M_MAX 1048576
#define STREAM_PASSWORD_T_MAX 64
#define STREAM_PASSWORD_P_MAX 16
#define STREAM_PASSWORD_SALT_MIN 8
#define STREAM_PASSWORD_SALT_MAX 64
#define STREAM_PASSWORD_HASH_MIN 16
#define STREAM_PASSWORD_HASH_MAX 64

/** Defaults. */
#define STREAM_PASSWORD_DEFAULT_M 19456
#define STREAM_PASSWORD_DEFAULT_T 2
#define STREAM_PASSWORD_DEFAULT_P 1
#define STREAM_PASSWORD_DEFAULT_SALT_LEN 16
#define STREAM_PASSWORD_DEFAULT_HASH_LEN 32

/** Current version of stream_password_params. */
#define STREAM_PASSWORD_PARAMS_VERSION 1

/**
 * Argon2id parameters. Initialise with STREAM_PASSWORD_PARAMS_INIT, then
 * change what you need. The struct is only read during a call; `salt` is
 * borrowed for that call.
 */
typedef struct stream_password_params {
  unsigned int version;      /**< STREAM_PASSWORD_PARAMS_VERSION */
  uint32_t m_cost;           /**< memory in KiB (8*p .. 1048576) */
  uint32_t t_cost;           /**< passes (1..64) */
  uint32_t parallelism;      /**< lanes p (1..16) */
  uint32_t hash_len;         /**< tag length in bytes (16..64) */
  uint32_t salt_len;         /**< salt length in bytes (8..64) */
  const unsigned char *salt; /**< NULL: salt_len random bytes from the CSPRNG
                                  (the normal case); non-NULL: exactly salt_len
                                  bytes to use (test vectors, migrations) */
} stream_password_params;

/** Default parameters: m=19456 KiB, t=2, p=1, 32-byte tag, 16 random salt bytes. */
#define STREAM_PASSWORD_PARAMS_INIT                                                                \
  {                                                                                                \
    STREAM_PASSWORD_PARAMS_VERSION, STREAM_PASSWORD_DEFAULT_M, STREAM_PASSWORD_DEFAULT_T,          \
        STREAM_PASSWORD_DEFAULT_P, STREAM_PASSWORD_DEFAULT_HASH_LEN,                               \
        STREAM_PASSWORD_DEFAULT_SALT_LEN, NULL                                                     \
  }

/**
 * Hash `pwd` (`pwd_len` bytes, 1..4096, NUL bytes allowed) with Argon2id
 * version 0x13 and encode the result as a PHC string.
 * `params` NULL means the defaults (STREAM_PASSWORD_PARAMS_INIT).
 * On success `*out` is a NUL-terminated string the caller frees with
 * stream_free().
 * Errors: STREAM_EINVAL (NULL out or pwd, params->version is not
 * STREAM_PASSWORD_PARAMS_VERSION), STREAM_ERANGE (password length or a parameter outside the
 * limits), STREAM_ENOMEM, STREAM_ECRYPTO (CSPRNG or Argon2 failure).
 * Thread-safe.
 */
STREAM_API int stream_password_hash(char **out, const void *pwd, size_t pwd_len,
                                    const stream_password_params *params);

/**
 * Check `pwd` (`pwd_len` bytes) against the PHC string `phc` (NUL-terminated).
 * The string is parsed strictly: only `$argon2id$v=19$m=..,t=..,p=..$salt$tag`
 * with decimal numbers without leading zeros, parameters inside the limits and
 * canonical unpadded standard base64. The tag is compared in constant time.
 * Returns STREAM_OK when the password matches, STREAM_EAUTH when it does not
 * (also for a password length outside 1..4096, which can never have been
 * hashed). Other errors: STREAM_EINVAL (NULL arguments, malformed string),
 * STREAM_ENOTSUP (another algorithm such as argon2i, or version other than
 * 19), STREAM_ERANGE (m, t, p, salt or tag outside the limits),
 * STREAM_ENOMEM, STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_password_verify(const char *phc, const void *pwd, size_t pwd_len);

/**
 * Set `*out` to 1 when the PHC string `phc` was made with parameters other
 * than `params` (NULL: the defaults) — m, t, p, tag length, salt length or
 * Argon2 version differ — and to 0 otherwise. A v=16 (0x10) Argon2id string
 * is accepted here and always needs a rehash.
 * Errors: STREAM_EINVAL (NULL out or phc, malformed string, bad params),
 * STREAM_ENOTSUP (not argon2id), STREAM_ERANGE (values outside the limits).
 * `*out` is 0 on error. Thread-safe.
 */
STREAM_API int stream_password_needs_rehash(int *out, const char *phc,
                                            const stream_password_params *params);

/**
 * The raw Argon2id function (version 0x13): write `out_len` (4..1024) tag
 * bytes to `out` from the password, the salt, an optional secret (the
 * "pepper", K in RFC 9106) and optional associated data (X in RFC 9106).
 * Only m_cost, t_cost and parallelism of `params` are used (NULL: defaults),
 * within the limits above; `pwd_len` may be 0..4096, `salt_len` 8..64,
 * `secret_len` 0..64, `ad_len` 0..4096. `secret`/`ad` may be NULL when their
 * length is 0. Nothing is allocated for the caller.
 * Errors: STREAM_EINVAL (NULL pointers), STREAM_ERANGE (a length or parameter
 * outside the limits), STREAM_ENOMEM, STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_password_argon2id_raw(unsigned char *out, size_t out_len, const void *pwd,
                                            size_t pwd_len, const void *salt, size_t salt_len,
                                            const void *secret, size_t secret_len, const void *ad,
                                            size_t ad_len, const stream_password_params *params);

#ifdef __cplusplus
}
#endif
#endif /* STREAM_PASSWORD_H */
