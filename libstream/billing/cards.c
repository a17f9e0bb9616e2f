/*
 * billing: payment methods. The provider turns the client's token into a
 * reusable method token, which is stored next to the brand, last four digits
 * and expiry; nothing else of the card ever reaches us. Adding a method is
 * idempotent by key (the tokenization itself is repeated harmlessly on a
 * retry that the first call never recorded).
 */
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "../store/store_billing.h"
#include "../store/store_internal.h"
#include "billing_internal.h"

#define CLIENT_TOKEN_MAX 255

int stream_billing_card_add(stream_billing_card *out, stream_billing *b, const char *account_id,
                            const char *client_token, const char *idempotency_key)
{
  if (!out || !b)
    return stream__err(STREAM_EINVAL, "out or billing is NULL");
  memset(out, 0, sizeof *out);
  int rc = billing__check_id(account_id, "account_id");
  if (rc != STREAM_OK)
    return rc;
  if (!client_token || !client_token[0] ||
      strnlen(client_token, CLIENT_TOKEN_MAX + 1) > CLIENT_TOKEN_MAX)
    return stream__err(STREAM_EINVAL, "client_token must be 1..%d characters", CLIENT_TOKEN_MAX);
  /* No payment method (personal data) on an unknown or deleted account: the
   * store hides deleted accounts, whose tombstone rows still exist. */
  stream_store_account acct;
  if ((rc = stream_store_account_get(&acct, b->store, account_id)) != STREAM_OK)
    return rc;
  billing__idem idem;
  char *replay = NULL;
  int code = 0;
  const char *args[] = {account_id, client_token};
  rc = billing__idem_start(b, &idem, &replay, &code, account_id, idempotency_key, "card_add", args,
                           2);
  if (rc != STREAM_OK)
    return rc;
  if (replay) {
    rc = billing__replay(replay, code, NULL, NULL, out, NULL);
    free(replay);
    return rc;
  }
  const struct stream_store_billing_ops *ops = billing__ops(b);
  billing__lock(b, account_id);
  char token[STORE_BILLING_TOKEN_SIZE] = "";
  stream_billing_card c;
  memset(&c, 0, sizeof c);
  rc = b->provider.tokenize(b->provider.userdata, &c, token, client_token);
  if (rc == STREAM_OK && (!token[0] || strnlen(token, sizeof token) >= sizeof token))
    rc = stream__err(STREAM_EIO, "payment provider returned an unusable method token");
  /* The store keeps these as text: UTF-8 only (PostgreSQL refuses other bytes). Nothing is
   * stored yet and no money moved, so an unusable answer is refused whole. */
  if (rc == STREAM_OK && (!stream__utf8_valid(token, strlen(token)) ||
                          !stream__utf8_valid(c.brand, strnlen(c.brand, sizeof c.brand)) ||
                          !stream__utf8_valid(c.last4, strnlen(c.last4, sizeof c.last4))))
    rc = stream__err(STREAM_EIO, "payment provider returned a method token or card brand or "
                                 "last4 that is not valid UTF-8");
  if (rc == STREAM_OK)
    rc = billing__new_id(c.id);
  stream_billing_card *have = NULL;
  size_t n = 0;
  if (rc == STREAM_OK)
    rc = ops->card_list(b->store->impl, &have, &n, account_id);
  free(have);
  char *resp = NULL;
  if (rc == STREAM_OK) {
    memcpy(c.account_id, account_id, strlen(account_id) + 1);
    c.created_at = billing__now(b);
    c.is_default = n == 0;
    resp = billing__result_encode(STREAM_OK, "", NULL, NULL, &c, NULL);
    if (!resp)
      rc = STREAM_ENOMEM;
  }
  if (rc == STREAM_OK) {
    store_billing_idem rec = {idem.scope, idem.key, idem.hash, STREAM_OK, resp};
    rc = ops->card_add(b->store->impl, &c, token, &rec);
  }
  billing__unlock(b, account_id);
  free(resp);
  stream__wipe(token, sizeof token);
  if (rc == STREAM_OK)
    *out = c;
  return rc;
}

int stream_billing_card_list(stream_billing_card **out, size_t *out_count, stream_billing *b,
                             const char *account_id)
{
  if (!out || !out_count || !b)
    return stream__err(STREAM_EINVAL, "out, out_count or billing is NULL");
  *out = NULL;
  *out_count = 0;
  int rc = billing__check_id(account_id, "account_id");
  if (rc != STREAM_OK)
    return rc;
  const struct stream_store_billing_ops *ops = billing__ops(b);
  if (!ops)
    return STREAM_ENOTSUP;
  return ops->card_list(b->store->impl, out, out_count, account_id);
}

int stream_billing_card_set_default(stream_billing *b, const char *account_id, const char *card_id)
{
  if (!b)
    return stream__err(STREAM_EINVAL, "billing is NULL");
  int rc = billing__check_id(account_id, "account_id");
  if (rc == STREAM_OK)
    rc = billing__check_id(card_id, "card_id");
  if (rc != STREAM_OK)
    return rc;
  const struct stream_store_billing_ops *ops = billing__ops(b);
  if (!ops)
    return STREAM_ENOTSUP;
  billing__lock(b, account_id);
  rc = ops->card_set_default(b->store->impl, account_id, card_id);
  billing__unlock(b, account_id);
  return rc;
}

int stream_billing_card_remove(stream_billing *b, const char *account_id, const char *card_id)
{
  if (!b)
    return stream__err(STREAM_EINVAL, "billing is NULL");
  int rc = billing__check_id(account_id, "account_id");
  if (rc == STREAM_OK)
    rc = billing__check_id(card_id, "card_id");
  if (rc != STREAM_OK)
    return rc;
  const struct stream_store_billing_ops *ops = billing__ops(b);
  if (!ops)
    return STREAM_ENOTSUP;
  billing__lock(b, account_id);
  rc = ops->card_remove(b->store->impl, account_id, card_id);
  billing__unlock(b, account_id);
  return rc;
}
