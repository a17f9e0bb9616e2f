/*
 * store: password reset tokens (the forgotten-password e-mail flow of the
 * auth service), the public entry points. Validates the arguments and
 * dispatches to the backend (libstream/store/sqlite/password_resets.c).
 */
#include <inttypes.h>
#include <string.h>

#include "../core/core.h"
#include "store_internal.h"

static int check_time(const char *what, int64_t t)
{
  if (t <= 0)
    return stream__err(STREAM_EINVAL, "%s must be > 0 (got %" PRId64 ")", what, t);
  return STREAM_OK;
}

#define TRY(expr)                                                                                  \
  do {                                                                                             \
    int rc_ = (expr);                                                                              \
    if (rc_ != STREAM_OK)                                                                          \
      return rc_;                                                                                  \
  } while (0)

int stream_store_password_reset_insert(size_t *out_invalidated, stream_store *s,
                                       const stream_store_password_reset *r)
{
  if (out_invalidated)
    *out_invalidated = 0;
  if (!s)
    return stream__err(STREAM_EINVAL, "store handle is NULL");
  if (!r)
    return stream__err(STREAM_EINVAL, "password reset row is NULL");
  if (!memchr(r->token_hash, '\0', sizeof r->token_hash) ||
      !memchr(r->account_id, '\0', sizeof r->account_id))
    return stream__err(STREAM_EINVAL, "password reset row has an unterminated field");
  TRY(store__check_hash64("token_hash", r->token_hash));
  TRY(store__check_id("account_id", r->account_id));
  TRY(check_time("created_at", r->created_at));
  if (r->expires_at <= r->created_at)
    return stream__err(STREAM_EINVAL,
                       "password reset expires_at %" PRId64 " is not after created_at %" PRId64,
                       r->expires_at, r->created_at);
  size_t n = 0;
  TRY(s->backend->resets->insert(s->impl, &n, r));
  if (out_invalidated)
    *out_invalidated = n;
  return STREAM_OK;
}

int stream_store_password_reset_get(stream_store_password_reset *out, stream_store *s,
                                    const char *token_hash)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "out is NULL");
  memset(out, 0, sizeof *out);
  if (!s)
    return stream__err(STREAM_EINVAL, "store handle is NULL");
  TRY(store__check_hash64("token_hash", token_hash));
  return s->backend->resets->get(s->impl, out, token_hash);
}

int stream_store_password_reset_consume(stream_store_password_reset *out, size_t *out_revoked,
                                        stream_store *s, const char *token_hash,
                                        const char *password_hash, int64_t now)
{
  if (out)
    memset(out, 0, sizeof *out);
  if (out_revoked)
    *out_revoked = 0;
  if (!s)
    return stream__err(STREAM_EINVAL, "store handle is NULL");
  TRY(store__check_hash64("token_hash", token_hash));
  if (!password_hash || !*password_hash)
    return stream__err(STREAM_EINVAL, "password_hash is required");
  if (strnlen(password_hash, STREAM_STORE_HASH_MAX + 1) > STREAM_STORE_HASH_MAX)
    return stream__err(STREAM_EINVAL, "password_hash is longer than %d bytes",
                       STREAM_STORE_HASH_MAX);
  TRY(store__check_utf8("password_hash", password_hash));
  TRY(check_time("now", now));
  stream_store_password_reset row;
  memset(&row, 0, sizeof row);
  size_t revoked = 0;
  TRY(s->backend->resets->consume(s->impl, &row, &revoked, token_hash, password_hash, now));
  if (out)
    *out = row;
  if (out_revoked)
    *out_revoked = revoked;
  return STREAM_OK;
}
