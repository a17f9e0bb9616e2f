/*
 * core/error: status names and the per-thread detailed error (libgit2's
 * model). A failing call records its code and message here; the public
 * stream_error_last() returns it until the next failure or clear.
 */
#include <stdio.h>
#include <string.h>

#include "core.h"

static _Thread_local stream_error tls_error;
static _Thread_local int tls_has_error;

const char *stream_strerror(int code)
{
  switch (code) {
  case STREAM_OK:
    return "success";
  case STREAM_EINVAL:
    return "invalid argument";
  case STREAM_ENOMEM:
    return "out of memory";
  case STREAM_ENOTFOUND:
    return "not found";
  case STREAM_EEXIST:
    return "already exists";
  case STREAM_EAUTH:
    return "authentication failed";
  case STREAM_EEXPIRED:
    return "expired or not yet valid";
  case STREAM_EFORBIDDEN:
    return "forbidden";
  case STREAM_EBUSY:
    return "busy or limit reached";
  case STREAM_EIO:
    return "input/output error";
  case STREAM_EPROTO:
    return "protocol error";
  case STREAM_EMEDIA:
    return "media error";
  case STREAM_ERANGE:
    return "out of range";
  case STREAM_ENOTSUP:
    return "not supported";
  case STREAM_ECRYPTO:
    return "cryptography error";
  case STREAM_ECONFLICT:
    return "conflict";
  case STREAM_ETIMEDOUT:
    return "timed out";
  case STREAM_ECANCELED:
    return "canceled";
  case STREAM_EINTERNAL:
    return "internal error";
  case STREAM_EPAYMENT:
    return "payment failed";
  default:
    return "unknown status";
  }
}

int stream__err(int code, const char *fmt, ...)
{
  va_list ap;
  tls_error.code = code;
  va_start(ap, fmt);
  vsnprintf(tls_error.message, sizeof tls_error.message, fmt, ap);
  va_end(ap);
  tls_has_error = 1;
  return code;
}

const stream_error *stream_error_last(void)
{
  return tls_has_error ? &tls_error : NULL;
}

void stream_error_clear(void)
{
  tls_has_error = 0;
  tls_error.code = 0;
  tls_error.message[0] = '\0';
}
