/*
 * billing: invoices, the second and third phases of payments, refunds and
 * the books check. Phase one (invoice + pending payment, committed) is done
 * by the callers (subscriptions.c, renewals.c) through charge_begin; then
 * billing__collect calls the provider outside any transaction with the
 * payment's own idempotency key, and billing__settle commits the outcome with
 * its effects on the invoice and the subscription in one transaction. A
 * provider that does not answer leaves the payment pending: the outcome is
 * unknown (the charge may have gone through), so it is settled later by the
 * renewal job, which asks again with the same key and never charges twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "../store/store_billing.h"
#include "../store/store_internal.h"
#include "billing_internal.h"

static const char *const refused_fmt[] = {"", "payment declined: %s", "payment failed: %s"};

/* A provider's answer as the store keeps it: NUL-terminated text of valid
 * UTF-8. PostgreSQL refuses other bytes, and the outcome of a charge or refund
 * (money may have moved) must be recorded whatever the provider wrote: each
 * byte that is not UTF-8 becomes '?', and the repair is logged. */
static void provider_text(stream_billing_provider_result *res, const char *what, const char *id)
{
  res->reference[sizeof res->reference - 1] = '\0';
  res->message[sizeof res->message - 1] = '\0';
  size_t bad = stream__utf8_scrub(res->reference) + stream__utf8_scrub(res->message);
  if (bad)
    stream__log(STREAM_LOG_WARN, "billing",
                "%s %s: the provider's reference or message had %zu byte(s) that are not UTF-8, "
                "stored as '?'",
                what, id, bad);
}

/* The months m >= from with add_months(anchor, m) == end (a period end). */
static int cycle_for(int64_t anchor, int from, int64_t end)
{
  for (int m = from; m <= from + 24; m++)
    if (billing__add_months(anchor, m) == end)
      return m;
  return from;
}

int billing__settle(stream_billing *b, const store_billing_payment *p, int prc,
                    const stream_billing_provider_result *res, stream_billing_subscription *out_sub,
                    char *out_invoice_id)
{
  const struct stream_store_billing_ops *ops = billing__ops(b);
  if (prc != STREAM_OK) {
    if (out_invoice_id)
      memcpy(out_invoice_id, p->invoice_id, STREAM_BILLING_ID_SIZE);
    return stream__err(STREAM_EPAYMENT,
                       "the payment provider could not be reached; payment %s stays pending and "
                       "will be settled by the renewal job",
                       p->id);
  }
  int status = res->outcome == STREAM_BILLING_SUCCEEDED  ? STORE_PAY_SUCCEEDED
               : res->outcome == STREAM_BILLING_DECLINED ? STORE_PAY_DECLINED
                                                         : STORE_PAY_FAILED;
  char reason[256];
  snprintf(reason, sizeof reason, "%s", res->message[0] ? res->message : "no reason given");
  stream_billing_invoice inv;
  memset(&inv, 0, sizeof inv);
  int rc = ops->invoice_get(b->store->impl, &inv, p->invoice_id);
  if (rc == STREAM_OK && inv.line_count == 0)
    rc = stream__err(STREAM_EINTERNAL, "invoice %s has no lines", inv.id);
  if (rc != STREAM_OK) {
    stream_billing_invoice_clear(&inv);
    return rc;
  }
  const stream_billing_line *line = &inv.lines[0];
  int64_t now = billing__now(b);
  store_billing_sub sub;
  memset(&sub, 0, sizeof sub);
  bool have_sub = false;
  if (p->kind != STORE_PAY_SUBSCRIBE) {
    rc = ops->sub_get_by_id(b->store->impl, &sub, inv.subscription_id);
    have_sub = rc == STREAM_OK;
  }
  store_billing_settle s;
  memset(&s, 0, sizeof s);
  s.payment_id = p->id;
  s.status = status;
  s.reference = res->reference;
  s.message = status == STORE_PAY_SUCCEEDED ? "" : reason;
  s.now = now;
  int code = STREAM_OK;
  char msg[400] = "";
  bool ended_upgrade = false;
  if (status != STORE_PAY_SUCCEEDED) {
    code = STREAM_EPAYMENT;
    snprintf(msg, sizeof msg, refused_fmt[status - 1], reason);
  }
  if (rc == STREAM_OK && p->kind == STORE_PAY_SUBSCRIBE) {
    if (status == STORE_PAY_SUCCEEDED) {
      stream_billing_plan plan;
      rc = ops->plan_get(b->store->impl, &plan, line->plan_id);
      stream_billing_subscription *q = &sub.pub;
      memcpy(q->id, inv.subscription_id, sizeof q->id);
      memcpy(q->account_id, inv.account_id, sizeof q->account_id);
      memcpy(q->plan_id, line->plan_id, sizeof q->plan_id);
      memcpy(q->card_id, p->card_id, sizeof q->card_id);
      q->status = STREAM_BILLING_ACTIVE;
      q->period_start = line->period_start;
      q->period_end = line->period_end;
      q->created_at = now;
      sub.anchor = line->period_start;
      sub.cycle_months = rc == STREAM_OK ? cycle_for(sub.anchor, 1, line->period_end) : 1;
      s.sub_insert = &sub;
      have_sub = true;
    } else {
      s.void_invoice = true;
    }
  } else if (rc == STREAM_OK && p->kind == STORE_PAY_UPGRADE) {
    if (status == STORE_PAY_SUCCEEDED && sub.pub.status > STREAM_BILLING_PAST_DUE) {
      /* Paid for a subscription that has ended. The store refuses to end one while a payment
       * of its account is pending, so only data written before that guard gets here. The
       * plan of an ended subscription is history: left as it ended. The money was taken, so
       * the invoice stays paid, and the call's recorded result and the log say so for an
       * operator to refund it (after the commit, below). */
      ended_upgrade = true;
      code = STREAM_ECONFLICT;
      snprintf(msg, sizeof msg,
               "subscription %s had ended before its upgrade's payment %s succeeded: the plan "
               "is unchanged; invoice %s is paid and is to be refunded",
               sub.pub.id, p->id, inv.id);
    } else if (status == STORE_PAY_SUCCEEDED) {
      memcpy(sub.pub.plan_id, line->plan_id, sizeof sub.pub.plan_id);
      sub.pub.pending_plan_id[0] = '\0';
      /* Two lines: an upgrade to a plan of another period length, which
       * restarts the billing cycle at the first line's period (the second is
       * the credit for the old one); renewals follow from its end. */
      if (inv.line_count > 1 && sub.pub.status <= STREAM_BILLING_PAST_DUE) {
        sub.pub.period_start = line->period_start;
        sub.pub.period_end = line->period_end;
        sub.anchor = line->period_start;
        sub.cycle_months = cycle_for(sub.anchor, 1, line->period_end);
        /* Past due can only come from a renewal attempt without a card
         * (renewals.c waits for a pending payment, but another process may
         * have been in between): no invoice of its own, as a renewal charge
         * cannot begin while this payment is pending. The paid period covers
         * the time that attempt was for, so the dunning ends. */
        if (sub.pub.status == STREAM_BILLING_PAST_DUE && !sub.open_invoice_id[0]) {
          sub.pub.status = STREAM_BILLING_ACTIVE;
          sub.pub.failed_attempts = 0;
          sub.pub.next_attempt_at = 0;
          sub.dunning_from = 0;
        }
      }
      s.sub_update = &sub;
    } else {
      s.void_invoice = true;
    }
  } else if (rc == STREAM_OK && p->kind == STORE_PAY_RENEWAL) {
    stream_billing_subscription *q = &sub.pub;
    bool live = q->status <= STREAM_BILLING_PAST_DUE;
    if (status == STORE_PAY_SUCCEEDED && live) {
      memcpy(q->plan_id, line->plan_id, sizeof q->plan_id);
      q->status = STREAM_BILLING_ACTIVE;
      q->period_start = line->period_start;
      q->period_end = line->period_end;
      q->failed_attempts = 0;
      q->next_attempt_at = 0;
      sub.cycle_months = cycle_for(sub.anchor, sub.cycle_months, line->period_end);
      sub.dunning_from = 0;
      sub.open_invoice_id[0] = '\0';
      s.sub_update = &sub;
    } else if (live) {
      q->status = STREAM_BILLING_PAST_DUE;
      q->failed_attempts++;
      if (!sub.dunning_from)
        sub.dunning_from = now;
      q->next_attempt_at = billing__dunning_next(b, sub.dunning_from, q->failed_attempts);
      memcpy(sub.open_invoice_id, inv.id, sizeof sub.open_invoice_id);
      s.sub_update = &sub;
    }
  }
  char *resp = NULL;
  if (rc == STREAM_OK && p->idem_key[0]) {
    resp = billing__result_encode(code, msg, have_sub ? &sub.pub : NULL, inv.id, NULL, NULL);
    if (!resp)
      rc = STREAM_ENOMEM;
    s.idem_code = code;
    s.idem_response = resp;
  }
  if (rc == STREAM_OK)
    rc = ops->charge_settle(b->store->impl, &s);
  free(resp);
  const char *ended_as = stream_billing_status_name(sub.pub.status);
  if (rc == STREAM_OK && ended_upgrade)
    stream__log(STREAM_LOG_WARN, "billing",
                "upgrade payment %s of account %s succeeded after its subscription %s had ended "
                "(%s): the plan was left unchanged and invoice %s stays paid: refund it",
                p->id, inv.account_id, sub.pub.id, ended_as ? ended_as : "ended", inv.id);
  if (rc == STREAM_OK) {
    if (out_sub)
      *out_sub = have_sub ? sub.pub : (stream_billing_subscription){0};
    if (out_invoice_id)
      memcpy(out_invoice_id, inv.id, STREAM_BILLING_ID_SIZE);
    if (code != STREAM_OK)
      rc = stream__err(code, "%s", msg);
  }
  stream_billing_invoice_clear(&inv);
  return rc;
}

int billing__charge(stream_billing *b, const billing__charge_req *q,
                    stream_billing_subscription *out_sub, char *out_invoice_id)
{
  const struct stream_store_billing_ops *ops = billing__ops(b);
  int64_t now = billing__now(b);
  stream_billing_invoice inv;
  memset(&inv, 0, sizeof inv);
  store_billing_payment pay;
  memset(&pay, 0, sizeof pay);
  int rc = STREAM_OK;
  if (q->line) {
    rc = billing__new_id(inv.id);
    memcpy(inv.account_id, q->account_id, strlen(q->account_id) + 1);
    memcpy(inv.subscription_id, q->subscription_id, strlen(q->subscription_id) + 1);
    memcpy(inv.currency, q->currency, sizeof inv.currency);
    for (size_t i = 0; i < q->line_count; i++)
      inv.total += q->line[i].amount;
    inv.amount_due = inv.total;
    inv.created_at = now;
  } else {
    memcpy(inv.id, q->invoice_id, strlen(q->invoice_id) + 1);
  }
  if (rc == STREAM_OK)
    rc = billing__new_id(pay.id);
  if (rc != STREAM_OK)
    return rc;
  memcpy(pay.invoice_id, inv.id, sizeof pay.invoice_id);
  memcpy(pay.account_id, q->account_id, strlen(q->account_id) + 1);
  memcpy(pay.card_id, q->card->id, sizeof pay.card_id);
  snprintf(pay.method_token, sizeof pay.method_token, "%s", q->token);
  pay.kind = q->kind;
  pay.amount = q->amount;
  memcpy(pay.currency, q->currency, sizeof pay.currency);
  pay.status = STORE_PAY_PENDING;
  snprintf(pay.provider_key, sizeof pay.provider_key, "pay-%s", pay.id);
  pay.created_at = now;
  store_billing_idem rec;
  if (q->idem) {
    memcpy(pay.idem_scope, q->idem->scope, sizeof pay.idem_scope);
    memcpy(pay.idem_key, q->idem->key, sizeof pay.idem_key);
    rec = (store_billing_idem){q->idem->scope, q->idem->key, q->idem->hash, 0, NULL};
  }
  store_billing_charge c = {q->line ? &inv : NULL,
                            q->line,
                            q->line ? q->line_count : 0,
                            &pay,
                            q->idem ? &rec : NULL,
                            q->require_no_live,
                            q->cas ? q->cas->pub.id : NULL,
                            q->cas ? q->cas->version : 0,
                            now};
  rc = ops->charge_begin(b->store->impl, &c);
  if (rc != STREAM_OK)
    return rc;
  return billing__collect(b, &pay, out_sub, out_invoice_id);
}

int billing__collect(stream_billing *b, const store_billing_payment *p,
                     stream_billing_subscription *out_sub, char *out_invoice_id)
{
  stream_billing_provider_result res;
  memset(&res, 0, sizeof res);
  int prc = b->provider.charge(b->provider.userdata, &res, p->method_token, p->amount, p->currency,
                               p->provider_key);
  provider_text(&res, "payment", p->id);
  return billing__settle(b, p, prc, &res, out_sub, out_invoice_id);
}

/* ---- invoices --------------------------------------------------------------- */

int stream_billing_invoice_get(stream_billing_invoice *out, stream_billing *b,
                               const char *invoice_id)
{
  if (!out || !b)
    return stream__err(STREAM_EINVAL, "out or billing is NULL");
  memset(out, 0, sizeof *out);
  int rc = billing__check_id(invoice_id, "invoice_id");
  if (rc != STREAM_OK)
    return rc;
  const struct stream_store_billing_ops *ops = billing__ops(b);
  if (!ops)
    return STREAM_ENOTSUP;
  rc = ops->invoice_get(b->store->impl, out, invoice_id);
  if (rc != STREAM_OK)
    stream_billing_invoice_clear(out);
  return rc;
}

void stream_billing_invoice_clear(stream_billing_invoice *inv)
{
  if (!inv)
    return;
  free(inv->lines);
  inv->lines = NULL;
  inv->line_count = 0;
}

int stream_billing_invoice_list(stream_billing_invoice **out, size_t *out_count, stream_billing *b,
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
  return ops->invoice_list(b->store->impl, out, out_count, account_id, STREAM_BILLING_LIST_MAX);
}

/* ---- refunds ---------------------------------------------------------------- */

/* Ask the provider for a pending refund (its own key) and settle it. On
 * success `out` (may be NULL) receives the invoice after it, without lines. */
static int refund_collect(stream_billing *b, const store_billing_refund *r,
                          stream_billing_invoice *out)
{
  const struct stream_store_billing_ops *ops = billing__ops(b);
  store_billing_payment pay;
  stream_billing_invoice inv;
  memset(&inv, 0, sizeof inv);
  int rc = ops->payment_get(b->store->impl, &pay, r->payment_id);
  if (rc == STREAM_OK)
    rc = ops->invoice_get(b->store->impl, &inv, r->invoice_id);
  stream_billing_invoice_clear(&inv);
  if (rc != STREAM_OK)
    return rc;
  stream_billing_provider_result res;
  memset(&res, 0, sizeof res);
  int prc = b->provider.refund(b->provider.userdata, &res, pay.reference, r->amount, inv.currency,
                               r->provider_key);
  if (prc != STREAM_OK)
    return stream__err(STREAM_EPAYMENT,
                       "the payment provider could not be reached; refund %s stays pending and "
                       "will be settled by the renewal job",
                       r->id);
  provider_text(&res, "refund", r->id);
  int status = res.outcome == STREAM_BILLING_SUCCEEDED  ? STORE_PAY_SUCCEEDED
               : res.outcome == STREAM_BILLING_DECLINED ? STORE_PAY_DECLINED
                                                        : STORE_PAY_FAILED;
  int code = STREAM_OK;
  char msg[400] = "";
  if (status != STORE_PAY_SUCCEEDED) {
    code = STREAM_EPAYMENT;
    snprintf(msg, sizeof msg, "refund refused: %s",
             res.message[0] ? res.message : "no reason given");
  } else {
    inv.amount_refunded += r->amount;
  }
  char *resp = NULL;
  if (r->idem_key[0]) {
    resp = billing__result_encode(code, msg, NULL, NULL, NULL, &inv);
    if (!resp)
      return STREAM_ENOMEM;
  }
  rc = ops->refund_settle(b->store->impl, r->id, status, res.reference, res.message, code, resp,
                          billing__now(b));
  free(resp);
  if (rc != STREAM_OK)
    return rc;
  if (out)
    *out = inv;
  return code == STREAM_OK ? STREAM_OK : stream__err(code, "%s", msg);
}

int billing__settle_refunds(stream_billing *b, size_t *out_settled)
{
  const struct stream_store_billing_ops *ops = billing__ops(b);
  store_billing_refund *rs = NULL;
  size_t n = 0;
  *out_settled = 0;
  int rc = ops->refund_pending(b->store->impl, &rs, &n);
  for (size_t i = 0; rc == STREAM_OK && i < n; i++) {
    int r = refund_collect(b, &rs[i], NULL);
    if (r == STREAM_OK || r == STREAM_EPAYMENT)
      (*out_settled)++;
  }
  free(rs);
  return rc;
}

int stream_billing_refund(stream_billing_invoice *out, stream_billing *b, const char *invoice_id,
                          int64_t amount, const char *idempotency_key)
{
  if (!out || !b)
    return stream__err(STREAM_EINVAL, "out or billing is NULL");
  memset(out, 0, sizeof *out);
  int rc = billing__check_id(invoice_id, "invoice_id");
  if (rc != STREAM_OK)
    return rc;
  if (amount < 0 || amount > STREAM_BILLING_AMOUNT_MAX)
    return stream__err(STREAM_EINVAL, "refund amount %lld is outside 0..%lld", (long long)amount,
                       (long long)STREAM_BILLING_AMOUNT_MAX);
  char amount_s[24];
  snprintf(amount_s, sizeof amount_s, "%lld", (long long)amount);
  const char *args[] = {invoice_id, amount_s};
  billing__idem idem;
  char *replay = NULL;
  int code = 0;
  const struct stream_store_billing_ops *ops = billing__ops(b);
  if (!ops)
    return STREAM_ENOTSUP;
  stream_billing_invoice inv;
  memset(&inv, 0, sizeof inv);
  rc = ops->invoice_get(b->store->impl, &inv, invoice_id);
  stream_billing_invoice_clear(&inv);
  if (rc == STREAM_ENOTFOUND) {
    /* Still report a malformed key first. */
    int krc = billing__idem_start(b, &idem, &replay, &code, "op:refund", idempotency_key, "refund",
                                  args, 2);
    free(replay);
    return krc == STREAM_EINVAL ? krc : stream__err(rc, "no invoice with id %s", invoice_id);
  }
  if (rc != STREAM_OK)
    return rc;
  char account[STREAM_BILLING_ID_SIZE];
  memcpy(account, inv.account_id, sizeof account);
  billing__lock(b, account);
  rc = billing__idem_start(b, &idem, &replay, &code, "op:refund", idempotency_key, "refund", args,
                           2);
  if (rc != STREAM_OK || replay) {
    billing__unlock(b, account);
    if (replay)
      rc = billing__replay(replay, code, NULL, NULL, NULL, out);
    free(replay);
    return rc;
  }
  /* Read again under the lock: the amounts may have moved. */
  rc = ops->invoice_get(b->store->impl, &inv, invoice_id);
  stream_billing_invoice_clear(&inv);
  store_billing_payment pay;
  if (rc == STREAM_OK)
    rc = ops->invoice_payment(b->store->impl, &pay, invoice_id);
  if (rc == STREAM_ENOTFOUND)
    rc = stream__err(STREAM_EINVAL, "invoice %s has nothing paid to refund", invoice_id);
  store_billing_refund r;
  memset(&r, 0, sizeof r);
  if (rc == STREAM_OK) {
    int64_t left = inv.amount_paid - inv.amount_refunded;
    if (amount == 0)
      amount = left;
    if (left <= 0)
      rc = stream__err(STREAM_EINVAL, "invoice %s has nothing left to refund", invoice_id);
    else if (amount > left)
      rc = stream__err(STREAM_EINVAL, "refund of %lld exceeds the %lld left to refund",
                       (long long)amount, (long long)left);
  }
  if (rc == STREAM_OK)
    rc = billing__new_id(r.id);
  if (rc == STREAM_OK) {
    memcpy(r.invoice_id, inv.id, sizeof r.invoice_id);
    memcpy(r.payment_id, pay.id, sizeof r.payment_id);
    r.amount = amount;
    snprintf(r.provider_key, sizeof r.provider_key, "refund-%s", r.id);
    memcpy(r.idem_scope, idem.scope, sizeof r.idem_scope);
    memcpy(r.idem_key, idem.key, sizeof r.idem_key);
    r.created_at = billing__now(b);
    store_billing_idem rec = {idem.scope, idem.key, idem.hash, 0, NULL};
    rc = ops->refund_begin(b->store->impl, &r, &rec);
  }
  if (rc == STREAM_OK)
    rc = refund_collect(b, &r, out);
  billing__unlock(b, account);
  return rc;
}

/* ---- books ------------------------------------------------------------------ */

int stream_billing_books_check(size_t *out_invoices, stream_billing *b, int64_t pending_grace)
{
  if (out_invoices)
    *out_invoices = 0;
  if (!b)
    return stream__err(STREAM_EINVAL, "billing is NULL");
  if (pending_grace < 0)
    return stream__err(STREAM_EINVAL, "pending_grace %lld is negative", (long long)pending_grace);
  const struct stream_store_billing_ops *ops = billing__ops(b);
  if (!ops)
    return STREAM_ENOTSUP;
  return ops->books_check(b->store->impl, out_invoices, billing__now(b) - pending_grace);
}
