/*
 * auth/account_delete: closing an account, by its owner (re-authenticated
 * with the password, through the sign-in rate limiter) or by an operator.
 * What is deleted and what is kept is the store's stream_store_account_close()
 * (one transaction); this file owns the re-authentication.
 */
#include <stdio.h>
#include <string.h>

#include "../core/core.h"
#include "auth_internal.h"

static int close_account(stream_auth *a, const char *account_id, int64_t now)
{
  stream_store_account_close_counts c;
  int rc = stream_store_account_close(&c, a->store, account_id, now);
  if (rc == STREAM_ENOTFOUND)
    return stream__err(STREAM_ENOTFOUND, "auth: no account with id %s", account_id);
  if (rc != STREAM_OK)
    return rc;
  stream__log(STREAM_LOG_INFO, "auth",
              "account %s deleted: %zu profiles, %zu refresh tokens, %zu cards, %zu subscription "
              "ended, %zu events pseudonymized",
              account_id, c.profiles, c.refresh_tokens, c.cards, c.subscriptions, c.events);
  return STREAM_OK;
}

int stream_auth_account_delete(int64_t *out_retry_after, stream_auth *a, const char *account_id,
                               const char *password, const char *client_address)
{
  if (out_retry_after)
    *out_retry_after = 0;
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  int rc = auth__check_id("account id", account_id);
  if (rc != STREAM_OK)
    return rc;
  size_t plen = 0;
  if ((rc = auth__check_password_args(&plen, password, client_address)) != STREAM_OK)
    return rc;

  stream_store_account acct;
  rc = auth__reauthenticate(&acct, out_retry_after, a, account_id, password, plen, client_address);
  if (rc != STREAM_OK)
    return rc;
  return close_account(a, account_id, auth__now(a));
}

int stream_auth_account_delete_admin(stream_auth *a, const char *account_id)
{
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  int rc = auth__check_id("account id", account_id);
  if (rc != STREAM_OK)
    return rc;
  return close_account(a, account_id, auth__now(a));
}
