/**
 * @file stream/common.h
 * @brief Status codes, errors, memory, logging, encodings and randomness
 *        shared by every libstream module (floor 0, "core").
 *
 * Conventions used by every header:
 * - Fallible functions return `int`: STREAM_OK (0) or a negative STREAM_E* code.
 *   The calling thread's detailed message is then available from
 *   stream_error_last() until the next failing call on the same thread.
 * - Out-parameters come first. Memory returned through an out-parameter belongs
 *   to the caller and is released with the free function named in the doc
 *   comment (stream_free() for plain buffers and strings).
 * - Input strings and buffers are copied; the caller keeps ownership.
 * - Functions in this header are thread-safe unless stated otherwise.
 */
#ifndef STREAM_COMMON_H
#define STREAM_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "stream/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(STREAM_CFFI)
#define STREAM_API
#elif defined(STREAM_BUILDING) && defined(__GNUC__)
#define STREAM_API __attribute__((visibility("default")))
#else
#define STREAM_API
#endif

/** Status codes. Every fallible call returns one of these (as `int`). */
typedef enum stream_status {
  STREAM_OK = 0,          /**< success */
  STREAM_EINVAL = -1,     /**< invalid argument: NULL, empty, malformed */
  STREAM_ENOMEM = -2,     /**< out of memory */
  STREAM_ENOTFOUND = -3,  /**< no such object (key id, user, title, file) */
  STREAM_EEXIST = -4,     /**< object already exists */
  STREAM_EAUTH = -5,      /**< authentication failed: bad signature, bad password */
  STREAM_EEXPIRED = -6,   /**< credential expired or not yet valid */
  STREAM_EFORBIDDEN = -7, /**< valid credential, but not for this resource */
  STREAM_EBUSY = -8,      /**< resource busy or limit reached; retry later */
  STREAM_EIO = -9,        /**< file or network I/O failed */
  STREAM_EPROTO = -10,    /**< peer spoke the protocol wrongly */
  STREAM_EMEDIA = -11,    /**< media cannot be read or encoded */
  STREAM_ERANGE = -12,    /**< value or size outside the allowed range */
  STREAM_ENOTSUP = -13,   /**< not supported by this build or format */
  STREAM_ECRYPTO = -14,   /**< the crypto library failed */
  STREAM_ECONFLICT = -15, /**< state conflict (idempotency key reuse, version) */
  STREAM_ETIMEDOUT = -16, /**< deadline passed */
  STREAM_ECANCELED = -17, /**< operation canceled by the caller */
  STREAM_EINTERNAL = -18, /**< a bug in libstream; please report it */
  STREAM_EPAYMENT = -19   /**< the payment provider declined or failed a charge */
} stream_status;

/** The detailed error of the calling thread. */
typedef struct stream_error {
  int code;          /**< a stream_status value */
  char message[512]; /**< human-readable, never contains secrets */
} stream_error;

/**
 * Static, English name of a status code ("invalid argument").
 * Never NULL; unknown codes give "unknown status". Thread-safe.
 */
STREAM_API const char *stream_strerror(int code);

/**
 * The last error raised on the calling thread, or NULL when no call on this
 * thread has failed since the last stream_error_clear(). Borrowed: valid until
 * the next libstream call on the same thread. Thread-local, so thread-safe.
 */
STREAM_API const stream_error *stream_error_last(void);

/** Forget the calling thread's last error. Thread-safe. */
STREAM_API void stream_error_clear(void);

/** Release memory that libstream returned to the caller. NULL is a no-op. */
STREAM_API void stream_free(void *ptr);

/**
 * Release a secret buffer returned by libstream after wiping it.
 * `len` is its length in bytes. NULL is a no-op.
 */
STREAM_API void stream_free_secret(void *ptr, size_t len);

/** The run-time release string, e.g. "0.1.0". Static. Thread-safe. */
STREAM_API const char *stream_version(void);

/** The run-time release number (STREAM_VERSION_NUMBER of the built library). */
STREAM_API unsigned int stream_version_number(void);

/* ---- logging ---------------------------------------------------------- */

/** Log levels, lowest is most verbose. */
typedef enum stream_log_level {
  STREAM_LOG_DEBUG = 10,
  STREAM_LOG_INFO = 20,
  STREAM_LOG_WARN = 30,
  STREAM_LOG_ERROR = 40,
  STREAM_LOG_OFF = 100
} stream_log_level;

/**
 * A log sink. `message` is borrowed for the duration of the call and never
 * contains secrets. May be called from any libstream thread.
 */
typedef void (*stream_log_fn)(int level, const char *module, const char *message, void *userdata);

/**
 * Install a process-wide log sink receiving messages at `min_level` or above.
 * Passing NULL restores the default (nothing is logged). Thread-safe; a sink
 * must itself be thread-safe.
 */
STREAM_API void stream_log_set_callback(stream_log_fn fn, void *userdata, int min_level);

/* ---- encodings -------------------------------------------------------- */

/** Flags for base64. Combine with |. */
typedef enum stream_b64_flags {
  STREAM_B64_STD = 0,  /**< RFC 4648 §4 alphabet (+ /), padded */
  STREAM_B64_URL = 1,  /**< RFC 4648 §5 alphabet (- _) */
  STREAM_B64_NOPAD = 2 /**< omit '=' padding when encoding */
} stream_b64_flags;

/**
 * Encode `len` bytes of `data` as base64 text.
 * On success `*out` is a NUL-terminated string the caller frees with
 * stream_free(); `*out_len` (may be NULL) receives its length.
 * `data` may be NULL only when `len` is 0.
 * Errors: STREAM_EINVAL (NULL out, bad flags), STREAM_ERANGE (input over 1 GiB),
 * STREAM_ENOMEM.
 */
STREAM_API int stream_base64_encode(char **out, size_t *out_len, const void *data, size_t len,
                                    unsigned int flags);

/**
 * Decode base64 text of `text_len` bytes. With STREAM_B64_URL the URL-safe
 * alphabet is expected, otherwise the standard one. Padding is accepted when
 * present and correct, and may be omitted; whitespace and mixed alphabets are
 * rejected, as are non-zero trailing bits.
 * On success `*out` (caller frees with stream_free(); NUL-terminated for
 * convenience) holds `*out_len` bytes.
 * Errors: STREAM_EINVAL with the offending offset in the message.
 */
STREAM_API int stream_base64_decode(unsigned char **out, size_t *out_len, const char *text,
                                    size_t text_len, unsigned int flags);

/**
 * Lowercase hex of `len` bytes. `*out` is NUL-terminated, caller frees with
 * stream_free(). Errors: STREAM_EINVAL, STREAM_ERANGE, STREAM_ENOMEM.
 */
STREAM_API int stream_hex_encode(char **out, const void *data, size_t len);

/**
 * Decode hex (either case) of even length. `*out` (caller frees with
 * stream_free()) holds `*out_len` bytes. Errors: STREAM_EINVAL, STREAM_ENOMEM.
 */
STREAM_API int stream_hex_decode(unsigned char **out, size_t *out_len, const char *text,
                                 size_t text_len);

/**
 * Compare two buffers of `len` bytes in time that depends only on `len`.
 * Returns 1 when equal, 0 otherwise. Thread-safe.
 */
STREAM_API int stream_ct_equal(const void *a, const void *b, size_t len);

/**
 * Fill `buf` with `len` bytes from the operating system's CSPRNG (through
 * OpenSSL). Errors: STREAM_EINVAL (NULL buf with len > 0), STREAM_ECRYPTO.
 * Thread-safe.
 */
STREAM_API int stream_random_bytes(void *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* STREAM_COMMON_H */
