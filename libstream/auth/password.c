/*
 * auth/password: changing the password of a signed-in account and the
 * forgotten-password e-mail flow. A reset token is 32 CSPRNG bytes in
 * base64url (43 characters), sent only in the e-mail; the store keeps its
 * SHA-256. Starting a reset answers the same for unknown e-mails (after
 * drawing and hashing a token all the same), so the call tells nobody which
 * addresses have an account; finishing it is one store transaction (token
 * used, password set, refresh tokens revoked). Starting is split in two:
 * prepare (checks, rate limits, token: the same work for every address) and
 * send (account lookup, row, mail: known addresses only), so a server can
 * answer after prepare and send off the request path; start does both. The
 * crash-safe variant (request / process, reset_requests.c) shares the
 * admission (checks, rate limits) and the message with this file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../core/core.h"
#include "auth_internal.h"

#define RESET_BYTES 32
#define RESET_SUBJECT "Reset your password"
#define RESET_FAILED "auth: invalid or already used password reset token"

/* ---- change (signed in) ------------------------------------------------------ */

/* The edit of a password change: the current password was checked against
 * `checked`; if another change replaced that hash meanwhile, this one is
 * refused instead of overwriting it. */
struct change_edit {
  char checked[STREAM_STORE_HASH_MAX + 1];
  char next[STREAM_STORE_HASH_MAX + 1];
};

static int change_edit_apply(stream_store_account *row, void *ud)
{
  const struct change_edit *ce = ud;
  if (strcmp(row->password_hash, ce->checked) != 0)
    return stream__err(STREAM_EAUTH, "auth: wrong password (it was changed meanwhile)");
  if (row->disabled)
    return stream__err(STREAM_EFORBIDDEN, "auth: account %s is disabled", row->id);
  auth__copy(row->password_hash, sizeof row->password_hash, ce->next);
  return STREAM_OK;
}

int stream_auth_change_password(int64_t *out_retry_after, stream_auth *a, const char *account_id,
                                const char *current_password, const char *new_password,
                                const char *client_address)
{
  if (out_retry_after)
    *out_retry_after = 0;
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  int rc = auth__check_id("account id", account_id);
  if (rc != STREAM_OK)
    return rc;
  size_t clen = 0, nlen = 0;
  if ((rc = auth__check_password_args(&clen, current_password, client_address)) != STREAM_OK ||
      (rc = auth__check_password("new password", new_password, &nlen)) != STREAM_OK)
    return rc;

  stream_store_account acct;
  rc = auth__reauthenticate(&acct, out_retry_after, a, account_id, current_password, clen,
                            client_address);
  if (rc != STREAM_OK)
    return rc;
  if (acct.disabled)
    return stream__err(STREAM_EFORBIDDEN, "auth: account %s is disabled", acct.id);

  struct change_edit ce;
  auth__copy(ce.checked, sizeof ce.checked, acct.password_hash);
  if ((rc = auth__hash_into(ce.next, sizeof ce.next, a, new_password, nlen)) != STREAM_OK)
    return rc;
  /* Only the row as it is now changes: a concurrent disable or role change stays. */
  if ((rc = auth__account_edit(a, account_id, change_edit_apply, &ce)) != STREAM_OK)
    return rc;
  size_t revoked = 0;
  rc = stream_store_refresh_revoke_account(&revoked, a->store, account_id, auth__now(a));
  if (rc != STREAM_OK)
    return rc;
  stream__log(STREAM_LOG_INFO, "auth", "password of account %s changed; %zu refresh tokens revoked",
              account_id, revoked);
  return STREAM_OK;
}

/* ---- forgotten password ------------------------------------------------------ */

/* The message: the link is the only secret in it. */
char *auth__reset_body(const stream_auth *a, const char *email, const char *token,
                       int64_t valid_for)
{
  static const char fmt[] =
      "Hello,\n\n"
      "someone (hopefully you) asked to reset the password of the account %s.\n\n"
      "Open this link within %d minutes to choose a new password:\n\n"
      "%s%s\n\n"
      "The link works once. If you did not ask for it, ignore this message: your\n"
      "password stays as it is.\n";
  int minutes = (int)((valid_for + 59) / 60);
  int n = snprintf(NULL, 0, fmt, email, minutes, a->reset_url_base, token);
  if (n < 0)
    return NULL;
  char *body = malloc((size_t)n + 1);
  if (body)
    snprintf(body, (size_t)n + 1, fmt, email, minutes, a->reset_url_base, token);
  return body;
}

/* A prepared request (stream_auth_password_reset_prepare): what the
 * account-dependent half needs, and the handle it was prepared on (its link
 * base and lifetime go into the message and the row). */
struct stream_auth_reset {
  const stream_auth *auth;
  int sent;
  int64_t created_at;
  char email[STREAM_AUTH_EMAIL_SIZE];
  char token[STREAM_AUTH_RESET_TOKEN_LEN + 8];
  char token_hash[STREAM_STORE_TOKEN_HASH_LEN + 1];
};

int auth__reset_admit(char *norm, int64_t *out_now, int64_t *out_retry_after, stream_auth *a,
                      const char *email, const char *client_address)
{
  int rc = stream_auth_email_normalize(norm, STREAM_AUTH_EMAIL_SIZE, email);
  if (rc != STREAM_OK)
    return rc;
  const char *addr = client_address && *client_address ? client_address : NULL;
  if (addr && (rc = auth__check_address(addr)) != STREAM_OK)
    return rc;
  if (!a->send_mail)
    return stream__err(STREAM_ENOTSUP,
                       "auth: password reset is disabled (no send_mail option configured)");

  int64_t now = auth__now(a);
  char key[STREAM_AUTH_EMAIL_SIZE + 2];
  snprintf(key, sizeof key, "r:%s", norm);
  int64_t wait = 0;
  if ((rc = auth__limit_take(&wait, a, &a->rl_reset_email, key, &a->rl_reset_address, addr, now)) !=
      STREAM_OK)
    return rc;
  if (wait > 0) {
    if (out_retry_after)
      *out_retry_after = wait;
    return stream__err(STREAM_EBUSY, "auth: too many password reset requests; retry in %lld s",
                       (long long)wait);
  }
  *out_now = now;
  return STREAM_OK;
}

int stream_auth_password_reset_prepare(stream_auth_reset **out, int64_t *out_retry_after,
                                       stream_auth *a, const char *email,
                                       const char *client_address)
{
  if (out)
    *out = NULL;
  if (out_retry_after)
    *out_retry_after = 0;
  if (!out)
    return stream__err(STREAM_EINVAL, "auth: out is NULL");
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  char norm[STREAM_AUTH_EMAIL_SIZE];
  int64_t now = 0;
  int rc = auth__reset_admit(norm, &now, out_retry_after, a, email, client_address);
  if (rc != STREAM_OK)
    return rc;

  /* Drawn and hashed whatever the e-mail: this half must cost the same for
   * every address, since it is all a constant-time caller waits for. */
  stream_auth_reset *r = stream__calloc(1, sizeof *r);
  if (!r)
    return stream__err(STREAM_ENOMEM, "auth: out of memory preparing a password reset");
  r->auth = a;
  r->created_at = now;
  auth__copy(r->email, sizeof r->email, norm);
  if ((rc = auth__random_b64(r->token, RESET_BYTES)) != STREAM_OK ||
      (rc = auth__sha256_hex(r->token_hash, r->token, strlen(r->token))) != STREAM_OK) {
    stream_auth_reset_free(r);
    return rc;
  }
  *out = r;
  return STREAM_OK;
}

int stream_auth_password_reset_send(stream_auth *a, stream_auth_reset *r)
{
  if (!a || !r)
    return stream__err(STREAM_EINVAL, "auth: %s is NULL", a ? "pending reset" : "handle");
  if (r->auth != a)
    return stream__err(STREAM_EINVAL,
                       "auth: the pending reset was prepared on another auth handle");
  if (r->sent)
    return stream__err(STREAM_EINVAL, "auth: the pending reset was sent already");
  r->sent = 1; /* whatever happens below: one request, at most one link */

  stream_store_password_reset row;
  memset(&row, 0, sizeof row);
  auth__copy(row.token_hash, sizeof row.token_hash, r->token_hash);
  stream_store_account acct;
  int rc = stream_store_account_get_by_email(&acct, a->store, r->email);
  if (rc == STREAM_ENOTFOUND || (rc == STREAM_OK && acct.disabled)) {
    rc = STREAM_OK; /* the same answer: nothing stored, nothing sent */
    goto done;
  }
  if (rc != STREAM_OK)
    goto done;
  auth__copy(row.account_id, sizeof row.account_id, acct.id);
  row.created_at = r->created_at;
  row.expires_at = r->created_at + a->reset_lifetime;
  size_t invalidated = 0;
  rc = stream_store_password_reset_insert(&invalidated, a->store, &row);
  if (rc == STREAM_ENOTFOUND) { /* closed in the meantime */
    rc = STREAM_OK;
    goto done;
  }
  if (rc != STREAM_OK)
    goto done;
  char *body = auth__reset_body(a, acct.email, r->token, a->reset_lifetime);
  if (!body) {
    rc = stream__err(STREAM_ENOMEM, "auth: out of memory building the reset message");
    goto done;
  }
  int mrc = a->send_mail(a->mail_ud, acct.email, RESET_SUBJECT, body);
  stream__wipe(body, strlen(body));
  free(body);
  /* Failing here would tell the caller the address has an account: log it. */
  if (mrc != 0)
    stream__log(STREAM_LOG_WARN, "auth",
                "the password reset message for account %s was not accepted (mail hook "
                "returned %d)",
                acct.id, mrc);
  else
    stream__log(STREAM_LOG_INFO, "auth",
                "password reset link sent for account %s (%zu earlier links invalidated)", acct.id,
                invalidated);
  rc = STREAM_OK;
done:
  stream__wipe(r->token, sizeof r->token);
  return rc;
}

void stream_auth_reset_free(stream_auth_reset *r)
{
  if (!r)
    return;
  stream__wipe(r, sizeof *r);
  free(r);
}

int stream_auth_password_reset_start(int64_t *out_retry_after, stream_auth *a, const char *email,
                                     const char *client_address)
{
  stream_auth_reset *r = NULL;
  int rc = stream_auth_password_reset_prepare(&r, out_retry_after, a, email, client_address);
  if (rc == STREAM_OK)
    rc = stream_auth_password_reset_send(a, r);
  stream_auth_reset_free(r);
  return rc;
}

int stream_auth_password_reset_finish(stream_auth_account *out, stream_auth *a, const char *token,
                                      const char *new_password)
{
  if (out)
    memset(out, 0, sizeof *out);
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  if (!token || !*token)
    return stream__err(STREAM_EINVAL, "auth: password reset token is required");
  size_t tl = auth__strnlen(token, STREAM_AUTH_RESET_TOKEN_LEN);
  if (tl != STREAM_AUTH_RESET_TOKEN_LEN || !auth__is_b64url(token, tl))
    return stream__err(STREAM_EINVAL,
                       "auth: malformed password reset token (expected %d base64url characters)",
                       STREAM_AUTH_RESET_TOKEN_LEN);
  size_t nlen = 0;
  int rc = auth__check_password("new password", new_password, &nlen);
  if (rc != STREAM_OK)
    return rc;

  char hash[STREAM_STORE_TOKEN_HASH_LEN + 1];
  if ((rc = auth__sha256_hex(hash, token, tl)) != STREAM_OK)
    return rc;
  stream_store_password_reset row;
  rc = stream_store_password_reset_get(&row, a->store, hash);
  if (rc == STREAM_ENOTFOUND)
    return stream__err(STREAM_EAUTH, RESET_FAILED);
  if (rc != STREAM_OK)
    return rc;
  /* The index found the row by hash; confirm it without a data-dependent early exit. */
  if (CRYPTO_memcmp(row.token_hash, hash, STREAM_STORE_TOKEN_HASH_LEN) != 0)
    return stream__err(STREAM_EAUTH, RESET_FAILED);
  int64_t now = auth__now(a);
  if (row.used_at != 0)
    return stream__err(STREAM_EAUTH, RESET_FAILED);
  if (row.expires_at <= now)
    return stream__err(
        STREAM_EEXPIRED,
        "auth: the password reset link expired at %lld (now %lld); ask for a new one",
        (long long)row.expires_at, (long long)now);
  stream_store_account acct;
  rc = stream_store_account_get(&acct, a->store, row.account_id);
  if (rc == STREAM_ENOTFOUND)
    return stream__err(STREAM_EAUTH, RESET_FAILED);
  if (rc != STREAM_OK)
    return rc;
  if (acct.disabled)
    return stream__err(STREAM_EFORBIDDEN, "auth: account %s is disabled", acct.id);

  char pwhash[STREAM_STORE_HASH_MAX + 1];
  if ((rc = auth__hash_into(pwhash, sizeof pwhash, a, new_password, nlen)) != STREAM_OK)
    return rc;
  size_t revoked = 0;
  rc = stream_store_password_reset_consume(&row, &revoked, a->store, hash, pwhash, now);
  if (rc == STREAM_ECONFLICT || rc == STREAM_ENOTFOUND)
    return stream__err(STREAM_EAUTH, RESET_FAILED);
  if (rc == STREAM_EEXPIRED)
    return stream__err(STREAM_EEXPIRED, "auth: the password reset link expired; ask for a new one");
  if (rc != STREAM_OK)
    return rc;
  stream__log(STREAM_LOG_INFO, "auth", "password of account %s reset; %zu refresh tokens revoked",
              acct.id, revoked);
  if (out)
    auth__account_out(out, &acct);
  return STREAM_OK;
}
