/*
 * auth/reset_requests: the crash-safe forgotten-password flow. A request is
 * accepted by committing one row (the normalized e-mail and the time) to the
 * store's pending-request table, the same work for every address; a
 * processor later takes the rows oldest first and, for each, looks the
 * account up, stores a fresh token's hash and mails the link (known, enabled
 * accounts only), then deletes the row. The store keeps no token: it is drawn
 * at processing time and lives in memory until the hook returns.
 *
 * A row goes through two store transactions whatever the address: (1) the
 * claim, the account look-up and, for a known account, the reset row; (2)
 * after the mail hook, the delete. Keeping the writer work alike for known
 * and unknown addresses keeps a processor's load on the store (which a
 * concurrent request waits for) from depending on the address. The hook runs
 * between them with no store lock held: a slow hook delays no other writer.
 * Crash anywhere and the row is still there (claimed): the next processor
 * (the first call of a new handle, or anyone once the claim ran out) does it
 * again; a mail may then go out twice, never not at all.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "../store/store_reset_requests.h"
#include "auth_internal.h"

#define RESET_BYTES 32
#define RESET_SUBJECT "Reset your password"

static const struct stream_store_reset_request_ops *ops(const stream_auth *a)
{
  return a->store->backend->reset_requests;
}

/* A backend without the table (none today) cannot take durable requests. */
static int check_backend(const stream_auth *a)
{
  if (!ops(a))
    return stream__err(STREAM_ENOTSUP,
                       "auth: the %s store backend keeps no pending password reset requests",
                       a->store->backend->name);
  return STREAM_OK;
}

int stream_auth_password_reset_request(int64_t *out_retry_after, stream_auth *a, const char *email,
                                       const char *client_address)
{
  if (out_retry_after)
    *out_retry_after = 0;
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  char norm[STREAM_AUTH_EMAIL_SIZE];
  int64_t now = 0;
  int rc = check_backend(a);
  if (rc != STREAM_OK)
    return rc;
  rc = auth__reset_admit(norm, &now, out_retry_after, a, email, client_address);
  if (rc != STREAM_OK)
    return rc;
  if (now <= 0)
    return stream__err(STREAM_EINVAL, "auth: the clock gave %lld; a request needs a positive time",
                       (long long)now);
  return ops(a)->insert(a->store->impl, norm, now);
}

int stream_auth_password_reset_pending(size_t *out_count, stream_auth *a)
{
  if (out_count)
    *out_count = 0;
  if (!out_count)
    return stream__err(STREAM_EINVAL, "auth: out_count is NULL");
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  size_t n = 0;
  int rc = check_backend(a);
  if (rc == STREAM_OK)
    rc = ops(a)->count(a->store->impl, &n);
  if (rc == STREAM_OK)
    *out_count = n;
  return rc;
}

/* The first process() call of a handle takes back the claims left in the
 * store: a processor that is gone cannot finish them, and waiting for their
 * claims to run out would delay a restarted server's mails for nothing. */
static int recover_claims(stream_auth *a)
{
  int rc = STREAM_OK;
  pthread_mutex_lock(&a->reset_lock);
  if (!a->reset_recovered) {
    size_t n = 0;
    rc = ops(a)->release_all(a->store->impl, &n);
    if (rc == STREAM_OK) {
      a->reset_recovered = true;
      if (n)
        stream__log(STREAM_LOG_INFO, "auth",
                    "took back %zu password reset request(s) an earlier processor had claimed "
                    "and not finished",
                    n);
    }
  }
  pthread_mutex_unlock(&a->reset_lock);
  return rc;
}

/* What became of one request after its first transaction. */
typedef enum outcome {
  OUT_NONE,    /* nothing to claim */
  OUT_EXPIRED, /* older than the lifetime: deleted in the claim's transaction */
  OUT_NOBODY,  /* no enabled account: delete */
  OUT_MAIL     /* reset row stored: mail, then delete */
} outcome;

/* The claim's transaction: claim the oldest request, look the account up
 * and, for a live enabled one, store the hash of a fresh token (drawn into
 * `token`). */
static int claim_one(outcome *out, store__reset_request *req, stream_store_account *acct,
                     size_t *invalidated, char *token, stream_auth *a, int64_t now)
{
  *out = OUT_NONE;
  int rc = store__batch_begin(a->store);
  if (rc != STREAM_OK)
    return rc;
  rc = ops(a)->claim(a->store->impl, req, now, now + STREAM_AUTH_RESET_CLAIM_SECONDS);
  bool none = rc == STREAM_ENOTFOUND;
  int64_t expires_at = req->requested_at + a->reset_lifetime;
  if (rc == STREAM_OK && expires_at <= now) {
    int deleted = 0;
    rc = ops(a)->remove(a->store->impl, &deleted, req->id, req->attempts);
    *out = OUT_EXPIRED;
  } else if (rc == STREAM_OK) {
    rc = stream_store_account_get_by_email(acct, a->store, req->email);
    *out = OUT_NOBODY;
    if (rc == STREAM_ENOTFOUND || (rc == STREAM_OK && acct->disabled)) {
      rc = STREAM_OK;
    } else if (rc == STREAM_OK) {
      stream_store_password_reset row;
      memset(&row, 0, sizeof row);
      if ((rc = auth__random_b64(token, RESET_BYTES)) == STREAM_OK)
        rc = auth__sha256_hex(row.token_hash, token, strlen(token));
      auth__copy(row.account_id, sizeof row.account_id, acct->id);
      row.created_at = req->requested_at;
      row.expires_at = expires_at;
      if (rc == STREAM_OK)
        rc = stream_store_password_reset_insert(invalidated, a->store, &row);
      if (rc == STREAM_OK)
        *out = OUT_MAIL;
      else if (rc == STREAM_ENOTFOUND) /* closed since the look-up: nobody to mail */
        rc = STREAM_OK;
    }
  }
  rc = store__batch_end(a->store, none ? STREAM_OK : rc);
  if (rc != STREAM_OK)
    *out = OUT_NONE;
  return rc;
}

/* One request: claim (transaction 1), mail (known accounts), delete
 * (transaction 2). *out_none: nothing was claimable; *out_refused: the hook
 * refused the message (the request stays claimed until its claim runs out). */
static int process_one(bool *out_none, bool *out_refused, stream_auth *a)
{
  *out_none = false;
  *out_refused = false;
  int64_t now = auth__now(a);
  store__reset_request req;
  memset(&req, 0, sizeof req);
  stream_store_account acct;
  memset(&acct, 0, sizeof acct);
  size_t invalidated = 0;
  char token[STREAM_AUTH_RESET_TOKEN_LEN + 8];
  outcome what = OUT_NONE;
  int rc = claim_one(&what, &req, &acct, &invalidated, token, a, now);
  if (rc != STREAM_OK || what == OUT_NONE) {
    stream__wipe(token, sizeof token);
    *out_none = rc == STREAM_OK;
    return rc;
  }
  if (what == OUT_EXPIRED) {
    stream__log(STREAM_LOG_WARN, "auth",
                "a password reset request of %lld expired before it was processed (lifetime %d "
                "s); dropped without a message",
                (long long)req.requested_at, a->reset_lifetime);
    return STREAM_OK;
  }
  if (what == OUT_MAIL) {
    int64_t valid_for = req.requested_at + a->reset_lifetime - now;
    char *body = auth__reset_body(a, acct.email, token, valid_for);
    stream__wipe(token, sizeof token);
    if (!body)
      return stream__err(STREAM_ENOMEM, "auth: out of memory building the reset message");
    int mrc = a->send_mail(a->mail_ud, acct.email, RESET_SUBJECT, body);
    stream__wipe(body, strlen(body));
    free(body);
    if (mrc != 0) {
      /* Not deleted: taken again, with a new token, once the claim runs out. */
      stream__log(STREAM_LOG_WARN, "auth",
                  "the password reset message for account %s was not accepted (mail hook "
                  "returned %d, attempt %lld); the request stays pending and is retried in %d s",
                  acct.id, mrc, (long long)req.attempts, STREAM_AUTH_RESET_CLAIM_SECONDS);
      *out_refused = true;
      return STREAM_OK;
    }
    stream__log(STREAM_LOG_INFO, "auth",
                "password reset link sent for account %s (%zu earlier links invalidated)", acct.id,
                invalidated);
  }
  stream__wipe(token, sizeof token);
  int deleted = 0;
  rc = ops(a)->remove(a->store->impl, &deleted, req.id, req.attempts);
  if (rc == STREAM_OK && !deleted)
    stream__log(STREAM_LOG_INFO, "auth",
                "a password reset request was taken over by another processor while this one "
                "handled it (its claim ran out): it may be mailed twice");
  return rc;
}

int stream_auth_password_reset_process(size_t *out_done, stream_auth *a, size_t max)
{
  if (out_done)
    *out_done = 0;
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  if (!a->send_mail)
    return stream__err(STREAM_ENOTSUP,
                       "auth: password reset is disabled (no send_mail option configured)");
  int rc = check_backend(a);
  if (rc == STREAM_OK)
    rc = recover_claims(a);
  size_t done = 0, refused = 0;
  while (rc == STREAM_OK && done + refused < max) {
    bool none = false, was_refused = false;
    rc = process_one(&none, &was_refused, a);
    if (rc != STREAM_OK || none)
      break;
    if (was_refused)
      refused++;
    else
      done++;
  }
  if (out_done)
    *out_done = done;
  if (rc == STREAM_OK && refused)
    rc = stream__err(STREAM_EIO,
                     "auth: the mail hook refused %zu password reset message(s); they stay "
                     "pending and are retried in %d s",
                     refused, STREAM_AUTH_RESET_CLAIM_SECONDS);
  return rc;
}
