/**
 * @file stream/keys.h
 * @brief Keys and key rings for signing and tokens (floor 1, "keys").
 *
 * A stream_key is an immutable secret or public key with an id (the `kid` of
 * a JWT, the `KeyName` of a Google CDN URL, the key id of a native signed URL,
 * the Key-Pair-Id / public key id of an Amazon CloudFront key, e.g.
 * "K2JCJMDEHXQW5F").
 *
 * Key types: HMAC secrets, Ed25519 key pairs, and the RSA and ECDSA P-256 key
 * pairs that CloudFront signs with ("RSA 2048 or ECDSA 256"). RSA keys under
 * 2048 bits and EC keys on another curve than P-256 are refused.
 *
 * A stream_keyring holds several keys at once so that keys can be rotated:
 * new signatures use the primary key, verification looks the key up by id.
 *
 * Secrets come from files or the environment, never from source. Their bytes
 * are never logged, never printed in error messages, and are wiped on free.
 * They are only revealed by stream_key_export().
 *
 * Thread-safety: a stream_key is immutable after creation and may be shared by
 * threads. A stream_keyring locks internally: every function on it may be
 * called from any thread at any time, including while other threads sign and
 * verify with it.
 */
#ifndef STREAM_KEYS_H
#define STREAM_KEYS_H

#include "stream/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Key types. */
typedef enum stream_key_type {
  STREAM_KEY_HMAC = 1,            /**< symmetric secret, 16..128 bytes */
  STREAM_KEY_ED25519_PRIVATE = 2, /**< Ed25519 32-byte seed (the public key is derived) */
  STREAM_KEY_ED25519_PUBLIC = 3,  /**< Ed25519 32-byte public key: verify only */
  STREAM_KEY_RSA_PRIVATE = 4,     /**< RSA private key, 2048..8192 bits (CloudFront: 2048) */
  STREAM_KEY_RSA_PUBLIC = 5,      /**< RSA public key: verify only */
  STREAM_KEY_EC_PRIVATE = 6,      /**< ECDSA private key on P-256 (prime256v1) only */
  STREAM_KEY_EC_PUBLIC = 7        /**< ECDSA P-256 public key: verify only */
} stream_key_type;

/** Formats for stream_key_export(). */
typedef enum stream_key_format {
  STREAM_KEY_FORMAT_BASE64URL = 1, /**< base64url with padding (what gcloud key files hold) */
  STREAM_KEY_FORMAT_PEM = 2        /**< PKCS#8 / SubjectPublicKeyInfo PEM (Ed25519, RSA, ECDSA) */
} stream_key_format;

/** Limits. */
#define STREAM_KEY_ID_MAX 64
#define STREAM_KEY_HMAC_MIN 16
#define STREAM_KEY_HMAC_MAX 128

/** An immutable key. */
typedef struct stream_key stream_key;
/** A set of keys looked up by id, with one primary key for signing. */
typedef struct stream_keyring stream_keyring;

/**
 * Generate a new random key from the CSPRNG.
 * `id` must be 1..64 characters of [A-Za-z0-9._-]. For STREAM_KEY_HMAC,
 * `hmac_len` is the secret length (16..128; 0 means 32); it is ignored for
 * the other types. STREAM_KEY_RSA_PRIVATE makes an RSA 2048 key,
 * STREAM_KEY_EC_PRIVATE a P-256 key. Public key types cannot be generated
 * (STREAM_EINVAL): derive them with stream_key_public().
 * `*out` is freed by the caller with stream_key_free().
 * Errors: STREAM_EINVAL, STREAM_ENOMEM, STREAM_ECRYPTO.
 */
STREAM_API int stream_key_generate(stream_key **out, stream_key_type type, const char *id,
                                   size_t hmac_len);

/**
 * Make a key from raw bytes: the secret (HMAC, 16..128 bytes), the 32-byte
 * Ed25519 seed, or the 32-byte Ed25519 public key; for RSA and EC types the
 * DER encoding (private: PKCS#1, SEC1 or PKCS#8; public: SubjectPublicKeyInfo
 * or PKCS#1), up to 16 KiB. The bytes are copied.
 * `*out` is freed by the caller with stream_key_free().
 * Errors: STREAM_EINVAL (bad id, bad length), STREAM_ENOMEM, STREAM_ECRYPTO.
 */
STREAM_API int stream_key_from_bytes(stream_key **out, stream_key_type type, const char *id,
                                     const void *bytes, size_t len);

/**
 * Make a key from text: base64url or base64 (padded or not) of the raw bytes,
 * or, for Ed25519, a PEM block ("PRIVATE KEY" or "PUBLIC KEY"). RSA and EC
 * keys are read from PEM only: private keys from "RSA PRIVATE KEY" (PKCS#1),
 * "EC PRIVATE KEY" (SEC1, an "EC PARAMETERS" block before it is skipped) or
 * "PRIVATE KEY" (PKCS#8); public keys from "PUBLIC KEY" (SubjectPublicKeyInfo,
 * what CloudFront takes) or "RSA PUBLIC KEY". Encrypted PEM is refused (no
 * passphrase prompt). The PEM's algorithm must match `type`. Surrounding
 * whitespace is ignored; the rest may be at most 16 KiB. `*out` is freed with
 * stream_key_free().
 * Errors: STREAM_EINVAL (the message says what was wrong, never the key),
 * STREAM_ERANGE (text over 16 KiB), STREAM_ENOMEM, STREAM_ECRYPTO.
 */
STREAM_API int stream_key_from_text(stream_key **out, stream_key_type type, const char *id,
                                    const char *text);

/**
 * Load a key from a file holding the text form accepted by
 * stream_key_from_text(). Files over 16 KiB are refused.
 * Errors: STREAM_EIO (cannot open/read; names the path), STREAM_ERANGE,
 * plus those of stream_key_from_text().
 */
STREAM_API int stream_key_load_file(stream_key **out, stream_key_type type, const char *id,
                                    const char *path);

/**
 * Load a key from the environment variable `name` (text form as above).
 * Errors: STREAM_ENOTFOUND (variable unset or empty), plus those of
 * stream_key_from_text().
 */
STREAM_API int stream_key_load_env(stream_key **out, stream_key_type type, const char *id,
                                   const char *name);

/**
 * Derive the public key of a private key: a new STREAM_KEY_ED25519_PUBLIC,
 * STREAM_KEY_RSA_PUBLIC or STREAM_KEY_EC_PUBLIC key with the same id, freed
 * with stream_key_free().
 * Errors: STREAM_EINVAL (NULL, or not a private key), STREAM_ENOMEM,
 * STREAM_ECRYPTO.
 */
STREAM_API int stream_key_public(stream_key **out, const stream_key *key);

/**
 * Reveal a key's bytes as text. For HMAC keys only STREAM_KEY_FORMAT_BASE64URL
 * is available; RSA and EC keys only STREAM_KEY_FORMAT_PEM (private keys as
 * PKCS#8 "PRIVATE KEY", public keys as SubjectPublicKeyInfo "PUBLIC KEY", the
 * form CloudFront's CreatePublicKey takes). `*out` is NUL-terminated and the caller frees it with
 * stream_free_secret(*out, strlen(*out)).
 * Errors: STREAM_EINVAL, STREAM_ENOTSUP (PEM of an HMAC key, base64url of an
 * RSA or EC key), STREAM_ENOMEM, STREAM_ECRYPTO.
 */
STREAM_API int stream_key_export(char **out, const stream_key *key, stream_key_format format);

/**
 * Copy the raw public key bytes of an Ed25519 key (private or public) into
 * `out32`, which must hold 32 bytes. Public material only.
 * Errors: STREAM_EINVAL (NULL, HMAC, RSA or EC key).
 */
STREAM_API int stream_key_public_bytes(unsigned char *out32, const stream_key *key);

/** The key's id. Borrowed; lives as long as the key. NULL for NULL. */
STREAM_API const char *stream_key_id(const stream_key *key);

/** The key's type, or 0 for NULL. */
STREAM_API int stream_key_type_of(const stream_key *key);

/** Length in bytes of the secret (HMAC), 32 (Ed25519, P-256) or the RSA
 * modulus (256 for RSA 2048); 0 for NULL. */
STREAM_API size_t stream_key_length(const stream_key *key);

/** Free a key, wiping its secret. NULL is a no-op. Keys held by a key ring stay valid there. */
STREAM_API void stream_key_free(stream_key *key);

/**
 * Create an empty key ring. `*out` is freed with stream_keyring_free().
 * Errors: STREAM_EINVAL, STREAM_ENOMEM.
 */
STREAM_API int stream_keyring_new(stream_keyring **out);

/** Free a key ring and its keys. NULL is a no-op. No other thread may still use it. */
STREAM_API void stream_keyring_free(stream_keyring *ring);

/**
 * Add a key (the ring takes its own reference; the caller still frees its
 * `key`). The first key added becomes the primary. At most 32 keys.
 * Errors: STREAM_EINVAL, STREAM_EEXIST (same id present), STREAM_ERANGE (full).
 */
STREAM_API int stream_keyring_add(stream_keyring *ring, const stream_key *key);

/**
 * Remove the key with id `id`. Signatures in flight that use it complete.
 * If it was the primary, the ring has no primary until one is set.
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND.
 */
STREAM_API int stream_keyring_remove(stream_keyring *ring, const char *id);

/**
 * Make the key with id `id` the one used for new signatures.
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND.
 */
STREAM_API int stream_keyring_set_primary(stream_keyring *ring, const char *id);

/** Number of keys in the ring (0 for NULL). */
STREAM_API size_t stream_keyring_count(const stream_keyring *ring);

/**
 * Get a new reference to the key with id `id` (or the primary key when `id`
 * is NULL). The caller frees it with stream_key_free().
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND (no such id / no primary).
 */
STREAM_API int stream_keyring_get(stream_key **out, const stream_keyring *ring, const char *id);

#ifdef __cplusplus
}
#endif
#endif /* STREAM_KEYS_H */
