/*
 * store: closing (deleting) an account, the public entry point of
 * stream_store_account_close(). Validates the arguments, builds the tombstone
 * e-mail and dispatches to the backend, which does the whole close in one
 * write transaction (libstream/store/sqlite/accounts.c).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../core/core.h"
#include "store_internal.h"

int stream_store_account_close(stream_store_account_close_counts *out, stream_store *s,
                               const char *id, int64_t now)
{
  stream_store_account_close_counts counts;
  memset(&counts, 0, sizeof counts);
  if (out)
    *out = counts;
  if (!s)
    return stream__err(STREAM_EINVAL, "store handle is NULL");
  int rc = store__check_id("account id", id);
  if (rc != STREAM_OK)
    return rc;
  if (now <= 0)
    return stream__err(STREAM_EINVAL, "close account: now must be > 0 (got %" PRId64 ")", now);
  /* ".invalid" is reserved (RFC 2606): the address can never be delivered to
   * and never collides with a real one; the id makes it unique. */
  char email[STREAM_STORE_EMAIL_MAX + 1];
  snprintf(email, sizeof email, "deleted-%s@invalid", id);
  rc = s->backend->accounts->close(s->impl, &counts, id, email, now);
  if (rc == STREAM_OK && out)
    *out = counts;
  return rc;
}
