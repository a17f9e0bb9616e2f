/**
 * @file stream/sign.h
 * @brief Signed URLs, URL prefixes, cookies and tokens (floor 1, "sign"):
 *        libstream's native HMAC-SHA256 format, Google Cloud CDN compatible
 *        (HMAC-SHA1) and Google Media CDN compatible (Ed25519 signatures;
 *        Ed25519 / HMAC-SHA1 / HMAC-SHA256 tokens).
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

/* ==== end native format ================================================== */

/* ==== Google Cloud CDN and Google Media CDN ============================= */

/* ==== end Google formats ================================================= */

#ifdef __cplusplus
}
#endif
#endif /* STREAM_SIGN_H */
