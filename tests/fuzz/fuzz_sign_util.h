/*
 * The status a signature verify must return for each reason it reports: the
 * fuzz targets' own statement of the mapping (include/stream/sign.h), checked
 * against what the library returns.
 */
#ifndef FUZZ_SIGN_UTIL_H
#define FUZZ_SIGN_UTIL_H

#include "stream/common.h"
#include "stream/sign.h"

static inline int fuzz_sign_status_of(int reason)
{
  switch (reason) {
  case STREAM_SIGN_VALID:
    return STREAM_OK;
  case STREAM_SIGN_EXPIRED:
  case STREAM_SIGN_NOT_YET_VALID:
    return STREAM_EEXPIRED;
  case STREAM_SIGN_BAD_SIGNATURE:
  case STREAM_SIGN_UNKNOWN_KEY:
    return STREAM_EAUTH;
  case STREAM_SIGN_MALFORMED:
  case STREAM_SIGN_MISSING:
    return STREAM_EINVAL;
  case STREAM_SIGN_OUTSIDE_PREFIX:
  case STREAM_SIGN_IP_MISMATCH:
    return STREAM_EFORBIDDEN;
  default:
    return 1; /* never a status: fails the check below */
  }
}

#endif
