/*
 * billing: the renewal job. One run settles payments and refunds left
 * pending by a crash (asking the provider again with their own keys, so
 * nothing is charged twice), then walks the accounts whose subscription
 * needs it: ends those canceled at period end, applies scheduled downgrades,
 * bills due periods (trial ends included), retries past-due charges on the
 * dunning schedule and expires those out of retries; an account with a
 * payment still pending waits for it to settle. Each step is its own
 * transaction guarded by the subscription's version, under the account's
 * lock, so a run can be interrupted or run twice (even by two processes)
 * without billing a period twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "../store/store_billing.h"
#include "../store/store_internal.h"
#include "billing_internal.h"

/* A subscription far behind (the job did not run for years) still advances
 * period by period; this bounds one account's share of one run. */
#define STEPS_MAX 240

static int settle_pending(stream_billing *b, stream_billing_run_report *rep)
{
  const struct stream_store_billing_ops *ops = billing__ops(b);
  store_billing_payment *ps = NULL;
  size_t n = 0;
  int rc = ops->payment_pending(b->store->impl, &ps, &n, NULL);
  for (size_t i = 0; rc == STREAM_OK && i < n; i++) {
    billing__lock(b, ps[i].account_id);
    store_billing_payment now;
    int r = ops->payment_get(b->store->impl, &now, ps[i].id);
    if (r == STREAM_OK && now.status == STORE_PAY_PENDING) {
      billing__collect(b, &now, NULL, NULL);
      r = ops->payment_get(b->store->impl, &now, ps[i].id);
      if (r == STREAM_OK && now.status != STORE_PAY_PENDING)
        rep->settled++;
    }
    billing__unlock(b, ps[i].account_id);
  }
  free(ps);
  size_t refunds = 0;
  if (rc == STREAM_OK)
    rc = billing__settle_refunds(b, &refunds);
  rep->settled += refunds;
  return rc;
}

/* Bill the next period of `s` (or retry its open invoice). Returns the
 * outcome of the charge; `*charged` tells whether one was attempted. */
static int bill(stream_billing *b, store_billing_sub *s, const stream_billing_plan *plan,
                stream_billing_subscription *after)
{
  const struct stream_store_billing_ops *ops = billing__ops(b);
  stream_billing_subscription *p = &s->pub;
  stream_billing_card card;
  char token[STORE_BILLING_TOKEN_SIZE] = "";
  int rc = ops->card_get(b->store->impl, &card, token, p->account_id, p->card_id);
  if (rc == STREAM_ENOTFOUND && p->card_id[0])
    rc = ops->card_get(b->store->impl, &card, token, p->account_id, NULL);
  if (rc == STREAM_ENOTFOUND) {
    /* No method left: a failed attempt without a provider call. */
    p->status = STREAM_BILLING_PAST_DUE;
    p->failed_attempts++;
    if (!s->dunning_from)
      s->dunning_from = billing__now(b);
    p->next_attempt_at = billing__dunning_next(b, s->dunning_from, p->failed_attempts);
    rc = ops->sub_update(b->store->impl, s, NULL, 0, NULL, true, billing__now(b));
    return rc == STREAM_OK ? stream__err(STREAM_EPAYMENT, "no payment method") : rc;
  }
  if (rc != STREAM_OK)
    return rc;
  billing__charge_req q = {p->account_id, p->id, plan->currency,    NULL, 0,     NULL, 0,
                           &card,         token, STORE_PAY_RENEWAL, NULL, false, s};
  stream_billing_line line;
  stream_billing_invoice open;
  memset(&open, 0, sizeof open);
  if (s->open_invoice_id[0]) {
    rc = ops->invoice_get(b->store->impl, &open, s->open_invoice_id);
    stream_billing_invoice_clear(&open);
    if (rc == STREAM_OK && open.status != STREAM_BILLING_INVOICE_OPEN)
      rc = stream__err(STREAM_EINTERNAL, "invoice %s of a past-due subscription is not open",
                       open.id);
    q.invoice_id = open.id;
    q.amount = open.amount_due;
    q.currency = open.currency;
  } else {
    memset(&line, 0, sizeof line);
    int64_t end = billing__add_months(s->anchor, s->cycle_months + plan->period_months);
    char a[16], z[16];
    billing__date(a, sizeof a, p->period_end);
    billing__date(z, sizeof z, end);
    snprintf(line.description, sizeof line.description, "%s, %s to %s", plan->name, a, z);
    memcpy(line.plan_id, plan->id, sizeof line.plan_id);
    line.amount = plan->price;
    line.period_start = p->period_end;
    line.period_end = end;
    q.line = &line;
    q.line_count = 1;
    q.amount = plan->price;
  }
  if (rc == STREAM_OK)
    rc = billing__charge(b, &q, after, NULL);
  stream__wipe(token, sizeof token);
  return rc;
}

/* Whether a payment of the account is still pending (its provider did not
 * answer; settle_pending, the first step of every run, asks again). Its
 * outcome may change the subscription (an upgrade to a plan of another period
 * restarts the cycle), so until it settles the job neither ends the
 * subscription, nor applies a downgrade, nor bills it or marks it past due:
 * the account waits for the next run. This check is the quiet way to wait;
 * another process may still begin a charge after it, so every write of a step
 * also asks the store to refuse it while a payment of the account is pending
 * (sub_update's require_no_pending, charge_begin's own check): STREAM_EBUSY,
 * and the account is left for the next run. */
static int payment_in_flight(stream_billing *b, const char *account_id, bool *out)
{
  store_billing_payment *ps = NULL;
  size_t n = 0;
  int rc = billing__ops(b)->payment_pending(b->store->impl, &ps, &n, account_id);
  *out = rc == STREAM_OK && n > 0;
  free(ps);
  return rc;
}

/* One step for one account; *more = call again. */
static int step(stream_billing *b, stream_billing_run_report *rep, const char *account_id,
                int64_t now, bool *more)
{
  const struct stream_store_billing_ops *ops = billing__ops(b);
  void *impl = b->store->impl;
  *more = false;
  store_billing_sub s;
  int rc = ops->sub_get(impl, &s, account_id);
  if (rc == STREAM_ENOTFOUND)
    return STREAM_OK;
  if (rc != STREAM_OK)
    return rc;
  stream_billing_subscription *p = &s.pub;
  if (p->status == STREAM_BILLING_PAST_DUE) {
    if (p->next_attempt_at > now)
      return STREAM_OK;
    bool waiting = false;
    rc = payment_in_flight(b, account_id, &waiting);
    if (rc != STREAM_OK || waiting)
      return rc;
    if (p->failed_attempts > b->dunning_retries) {
      p->status = STREAM_BILLING_EXPIRED;
      p->ended_at = now;
      p->next_attempt_at = 0;
      rc = ops->sub_update(impl, &s, s.open_invoice_id, STREAM_BILLING_INVOICE_UNCOLLECTIBLE, NULL,
                           true, now);
      if (rc == STREAM_OK)
        rep->expired++;
      return rc;
    }
    stream_billing_plan plan;
    rc = ops->plan_get(impl, &plan, p->plan_id);
    if (rc != STREAM_OK)
      return rc;
    rep->retried++;
    rc = bill(b, &s, &plan, NULL);
    if (rc == STREAM_OK) {
      rep->renewed++;
      *more = true;
    }
    return rc == STREAM_EPAYMENT ? STREAM_OK : rc;
  }
  if (p->status > STREAM_BILLING_PAST_DUE || p->period_end > now)
    return STREAM_OK;
  bool waiting = false;
  rc = payment_in_flight(b, account_id, &waiting);
  if (rc != STREAM_OK || waiting)
    return rc;
  if (p->cancel_at_period_end) {
    p->status = STREAM_BILLING_CANCELED;
    p->ended_at = p->period_end;
    rc = ops->sub_update(impl, &s, NULL, 0, NULL, true, now);
    if (rc == STREAM_OK)
      rep->canceled++;
    return rc;
  }
  if (p->pending_plan_id[0]) {
    memcpy(p->plan_id, p->pending_plan_id, sizeof p->plan_id);
    p->pending_plan_id[0] = '\0';
    rc = ops->sub_update(impl, &s, NULL, 0, NULL, true, now);
    if (rc == STREAM_OK) {
      rep->downgraded++;
      *more = true;
    }
    return rc;
  }
  stream_billing_plan plan;
  rc = ops->plan_get(impl, &plan, p->plan_id);
  if (rc != STREAM_OK)
    return rc;
  bool trial = p->status == STREAM_BILLING_TRIALING;
  if (plan.price == 0) {
    int64_t end = billing__add_months(s.anchor, s.cycle_months + plan.period_months);
    p->status = STREAM_BILLING_ACTIVE;
    p->period_start = p->period_end;
    p->period_end = end;
    s.cycle_months += plan.period_months;
    rc = ops->sub_update(impl, &s, NULL, 0, NULL, true, now);
  } else {
    rc = bill(b, &s, &plan, NULL);
  }
  if (rc == STREAM_OK) {
    if (trial)
      rep->trials_converted++;
    else
      rep->renewed++;
    *more = true;
  } else if (rc == STREAM_EPAYMENT) {
    rep->failed++;
    rc = STREAM_OK;
  }
  return rc;
}

int stream_billing_run_renewals(stream_billing_run_report *out, stream_billing *b)
{
  stream_billing_run_report rep;
  memset(&rep, 0, sizeof rep);
  if (out)
    *out = rep;
  if (!b)
    return stream__err(STREAM_EINVAL, "billing is NULL");
  const struct stream_store_billing_ops *ops = billing__ops(b);
  if (!ops)
    return STREAM_ENOTSUP;
  int rc = settle_pending(b, &rep);
  int64_t now = billing__now(b);
  char(*due)[STREAM_BILLING_ID_SIZE] = NULL;
  size_t n = 0;
  if (rc == STREAM_OK)
    rc = ops->sub_due(b->store->impl, &due, &n, now);
  int first_err = STREAM_OK;
  for (size_t i = 0; rc == STREAM_OK && i < n; i++) {
    billing__lock(b, due[i]);
    bool more = true;
    for (int k = 0; more && k < STEPS_MAX; k++) {
      int r = step(b, &rep, due[i], now, &more);
      if (r != STREAM_OK) {
        /* One account's trouble (e.g. a concurrent change) does not stop the others. */
        stream__log(STREAM_LOG_WARN, "billing", "renewal of account %s: %s", due[i],
                    stream_error_last()->message);
        if (first_err == STREAM_OK && r != STREAM_ECONFLICT && r != STREAM_EBUSY)
          first_err = r;
        break;
      }
    }
    billing__unlock(b, due[i]);
  }
  free(due);
  if (out)
    *out = rep;
  if (rc == STREAM_OK && first_err != STREAM_OK)
    rc = stream__err(first_err, "the renewal job met an error; see the log");
  return rc;
}
