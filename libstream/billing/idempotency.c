/*
 * billing: idempotency keys. A request is identified by (scope, key): the
 * scope is the account (operator calls: the operation). Its hash covers the
 * operation and every argument, so the same key with another request is
 * recognized (STREAM_ECONFLICT). The outcome is stored as JSON: the status
 * code, the message and the out structs, so a replay returns exactly what
 * the first call returned without doing anything again. The row is written
 * in the same transaction as the change it records (store_billing.h); a call
 * that changed nothing (invalid input, unknown plan, ...) records nothing,
 * and its key may be used again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "../core/core.h"
#include "../store/store_billing.h"
#include "../store/store_internal.h"
#include "billing_internal.h"

static int check_key(const char *key)
{
  if (!key)
    return stream__err(STREAM_EINVAL, "idempotency key is NULL");
  size_t n = 0;
  for (; key[n] && n <= STREAM_BILLING_IDEMPOTENCY_KEY_MAX; n++)
    if ((unsigned char)key[n] <= 0x20 || (unsigned char)key[n] >= 0x7f)
      return stream__err(STREAM_EINVAL, "idempotency key must be printable ASCII without spaces");
  if (n == 0)
    return stream__err(STREAM_EINVAL, "idempotency key is empty");
  if (n > STREAM_BILLING_IDEMPOTENCY_KEY_MAX)
    return stream__err(STREAM_EINVAL, "idempotency key is longer than %d characters",
                       STREAM_BILLING_IDEMPOTENCY_KEY_MAX);
  return STREAM_OK;
}

static int hash_request(char out[65], const char *op, const char *const *args, size_t nargs)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  unsigned char md[32];
  unsigned int mdlen = 0;
  int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
           EVP_DigestUpdate(ctx, op, strlen(op) + 1) == 1;
  for (size_t i = 0; ok && i < nargs; i++) {
    /* A tag byte tells NULL from "" and keeps the fields apart. */
    unsigned char tag = args[i] ? 1 : 0;
    ok = EVP_DigestUpdate(ctx, &tag, 1) == 1 &&
         (!args[i] || EVP_DigestUpdate(ctx, args[i], strlen(args[i]) + 1) == 1);
  }
  ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen == 32;
  EVP_MD_CTX_free(ctx);
  if (!ok)
    return stream__err(STREAM_ECRYPTO, "billing: SHA-256 failed");
  stream__hex_into(out, md, 32);
  return STREAM_OK;
}

int billing__idem_start(stream_billing *b, billing__idem *id, char **replay, int *replay_code,
                        const char *scope, const char *key, const char *op, const char *const *args,
                        size_t nargs)
{
  *replay = NULL;
  *replay_code = 0;
  memset(id, 0, sizeof *id);
  int rc = check_key(key);
  if (rc != STREAM_OK)
    return rc;
  const struct stream_store_billing_ops *ops = billing__ops(b);
  if (!ops)
    return STREAM_ENOTSUP;
  snprintf(id->scope, sizeof id->scope, "%s", scope);
  memcpy(id->key, key, strlen(key) + 1);
  rc = hash_request(id->hash, op, args, nargs);
  if (rc != STREAM_OK)
    return rc;
  store_billing_idem_row row;
  rc = ops->idem_get(b->store->impl, &row, id->scope, id->key);
  if (rc == STREAM_ENOTFOUND)
    return STREAM_OK;
  if (rc != STREAM_OK)
    return rc;
  if (strcmp(row.hash, id->hash) != 0) {
    free(row.response);
    return stream__err(STREAM_ECONFLICT,
                       "idempotency key already used with a different request; use a new key");
  }
  if (!row.response)
    return stream__err(STREAM_ECONFLICT,
                       "the request with this idempotency key is still in progress; repeat it "
                       "later to get its result");
  *replay = row.response;
  *replay_code = row.code;
  return STREAM_OK;
}

/* ---- outcome snapshots ------------------------------------------------------ */

static bool put_str(cJSON *o, const char *k, const char *v)
{
  return cJSON_AddStringToObject(o, k, v) != NULL;
}

/* Integers as strings: a double cannot carry every int64. */
static bool put_int(cJSON *o, const char *k, int64_t v)
{
  char buf[24];
  snprintf(buf, sizeof buf, "%lld", (long long)v);
  return put_str(o, k, buf);
}

static void get_str(char *dst, size_t cap, const cJSON *o, const char *k)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  const char *s = cJSON_IsString(v) ? v->valuestring : "";
  snprintf(dst, cap, "%s", s);
}

static int64_t get_int(const cJSON *o, const char *k)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? strtoll(v->valuestring, NULL, 10) : 0;
}

static bool enc_sub(cJSON *root, const stream_billing_subscription *s)
{
  cJSON *o = cJSON_AddObjectToObject(root, "subscription");
  return o && put_str(o, "id", s->id) && put_str(o, "account_id", s->account_id) &&
         put_str(o, "plan_id", s->plan_id) && put_str(o, "pending_plan_id", s->pending_plan_id) &&
         put_str(o, "card_id", s->card_id) && put_int(o, "status", s->status) &&
         put_int(o, "cancel_at_period_end", s->cancel_at_period_end) &&
         put_int(o, "period_start", s->period_start) && put_int(o, "period_end", s->period_end) &&
         put_int(o, "trial_end", s->trial_end) &&
         put_int(o, "failed_attempts", s->failed_attempts) &&
         put_int(o, "next_attempt_at", s->next_attempt_at) &&
         put_int(o, "created_at", s->created_at) && put_int(o, "ended_at", s->ended_at);
}

static void dec_sub(stream_billing_subscription *s, const cJSON *o)
{
  memset(s, 0, sizeof *s);
  get_str(s->id, sizeof s->id, o, "id");
  get_str(s->account_id, sizeof s->account_id, o, "account_id");
  get_str(s->plan_id, sizeof s->plan_id, o, "plan_id");
  get_str(s->pending_plan_id, sizeof s->pending_plan_id, o, "pending_plan_id");
  get_str(s->card_id, sizeof s->card_id, o, "card_id");
  s->status = (int)get_int(o, "status");
  s->cancel_at_period_end = (int)get_int(o, "cancel_at_period_end");
  s->period_start = get_int(o, "period_start");
  s->period_end = get_int(o, "period_end");
  s->trial_end = get_int(o, "trial_end");
  s->failed_attempts = (int)get_int(o, "failed_attempts");
  s->next_attempt_at = get_int(o, "next_attempt_at");
  s->created_at = get_int(o, "created_at");
  s->ended_at = get_int(o, "ended_at");
}

static bool enc_card(cJSON *root, const stream_billing_card *c)
{
  cJSON *o = cJSON_AddObjectToObject(root, "card");
  return o && put_str(o, "id", c->id) && put_str(o, "account_id", c->account_id) &&
         put_str(o, "brand", c->brand) && put_str(o, "last4", c->last4) &&
         put_int(o, "exp_month", c->exp_month) && put_int(o, "exp_year", c->exp_year) &&
         put_int(o, "is_default", c->is_default) && put_int(o, "created_at", c->created_at);
}

static void dec_card(stream_billing_card *c, const cJSON *o)
{
  memset(c, 0, sizeof *c);
  get_str(c->id, sizeof c->id, o, "id");
  get_str(c->account_id, sizeof c->account_id, o, "account_id");
  get_str(c->brand, sizeof c->brand, o, "brand");
  get_str(c->last4, sizeof c->last4, o, "last4");
  c->exp_month = (int)get_int(o, "exp_month");
  c->exp_year = (int)get_int(o, "exp_year");
  c->is_default = (int)get_int(o, "is_default");
  c->created_at = get_int(o, "created_at");
}

static bool enc_inv(cJSON *root, const stream_billing_invoice *v)
{
  cJSON *o = cJSON_AddObjectToObject(root, "invoice");
  return o && put_str(o, "id", v->id) && put_str(o, "account_id", v->account_id) &&
         put_str(o, "subscription_id", v->subscription_id) && put_int(o, "status", v->status) &&
         put_str(o, "currency", v->currency) && put_int(o, "total", v->total) &&
         put_int(o, "amount_paid", v->amount_paid) && put_int(o, "amount_due", v->amount_due) &&
         put_int(o, "amount_refunded", v->amount_refunded) &&
         put_int(o, "created_at", v->created_at) && put_int(o, "paid_at", v->paid_at);
}

static void dec_inv(stream_billing_invoice *v, const cJSON *o)
{
  memset(v, 0, sizeof *v);
  get_str(v->id, sizeof v->id, o, "id");
  get_str(v->account_id, sizeof v->account_id, o, "account_id");
  get_str(v->subscription_id, sizeof v->subscription_id, o, "subscription_id");
  v->status = (int)get_int(o, "status");
  get_str(v->currency, sizeof v->currency, o, "currency");
  v->total = get_int(o, "total");
  v->amount_paid = get_int(o, "amount_paid");
  v->amount_due = get_int(o, "amount_due");
  v->amount_refunded = get_int(o, "amount_refunded");
  v->created_at = get_int(o, "created_at");
  v->paid_at = get_int(o, "paid_at");
}

char *billing__result_encode(int code, const char *message, const stream_billing_subscription *sub,
                             const char *invoice_id, const stream_billing_card *card,
                             const stream_billing_invoice *inv)
{
  cJSON *root = cJSON_CreateObject();
  bool ok = root && put_int(root, "code", code) && put_str(root, "message", message ? message : "");
  ok = ok && (!sub || enc_sub(root, sub));
  ok = ok && (!invoice_id || put_str(root, "invoice_id", invoice_id));
  ok = ok && (!card || enc_card(root, card));
  ok = ok && (!inv || enc_inv(root, inv));
  char *s = ok ? cJSON_PrintUnformatted(root) : NULL;
  cJSON_Delete(root);
  if (!s)
    stream__err(STREAM_ENOMEM, "out of memory recording an idempotent result");
  return s;
}

int billing__replay(const char *json, int code, stream_billing_subscription *sub, char *invoice_id,
                    stream_billing_card *card, stream_billing_invoice *inv)
{
  cJSON *root = cJSON_Parse(json);
  if (!root)
    return stream__err(STREAM_EINTERNAL, "recorded idempotent result is unreadable");
  char msg[512];
  get_str(msg, sizeof msg, root, "message");
  const cJSON *o;
  if (sub && (o = cJSON_GetObjectItemCaseSensitive(root, "subscription")) != NULL)
    dec_sub(sub, o);
  if (invoice_id && cJSON_GetObjectItemCaseSensitive(root, "invoice_id"))
    get_str(invoice_id, STREAM_BILLING_ID_SIZE, root, "invoice_id");
  if (card && (o = cJSON_GetObjectItemCaseSensitive(root, "card")) != NULL)
    dec_card(card, o);
  if (inv && (o = cJSON_GetObjectItemCaseSensitive(root, "invoice")) != NULL)
    dec_inv(inv, o);
  cJSON_Delete(root);
  if (code != STREAM_OK)
    return stream__err(code, "%s", msg);
  return STREAM_OK;
}
