/*
 * billing: subscribe, change plan, cancel, resume, reading and listing.
 * Every mutating call runs under its account's lock (in-process
 * serialization), reads the current state, computes the new one and commits
 * it in one transaction that also checks the state did not change under it
 * (the subscription's version; at most one live subscription and one pending
 * payment per account), together with the request's idempotency row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "../store/store_billing.h"
#include "../store/store_internal.h"
#include "billing_internal.h"

int64_t billing__dunning_next(const stream_billing *b, int64_t from, int failed)
{
  int64_t span = (int64_t)b->dunning_span_days * 86400;
  int retries = b->dunning_retries;
  if (failed <= retries)
    return from + span * failed / (retries + 1);
  return from + span;
}

static void line_text(char *out, const char *prefix, const stream_billing_plan *p, int64_t from,
                      int64_t to)
{
  char a[16], z[16];
  billing__date(a, sizeof a, from);
  billing__date(z, sizeof z, to);
  snprintf(out, STREAM_BILLING_TEXT_SIZE, "%s%s, %s to %s", prefix, p->name, a, z);
}

/* Common start of the account calls: take the account's lock and look the
 * idempotency key up. Returns STREAM_OK to go on (the lock held), 1 when
 * `*rc_out` is the outcome (an error or the replay; the lock released). */
static int begin_call(stream_billing *b, billing__idem *idem, int *rc_out,
                      stream_billing_subscription *out, char *out_invoice_id,
                      const char *account_id, const char *key, const char *op,
                      const char *const *args, size_t nargs)
{
  char *replay = NULL;
  int code = 0;
  /* Under the lock, so that a concurrent repeat of a request waits for the
   * first and then replays its outcome. */
  billing__lock(b, account_id);
  int rc = billing__idem_start(b, idem, &replay, &code, account_id, key, op, args, nargs);
  if (rc != STREAM_OK) {
    billing__unlock(b, account_id);
    *rc_out = rc;
    return 1;
  }
  if (replay) {
    billing__unlock(b, account_id);
    *rc_out = billing__replay(replay, code, out, out_invoice_id, NULL, NULL);
    free(replay);
    return 1;
  }
  return STREAM_OK;
}

/* Commit `s` (compare-and-set) with the request's idempotency row recording
 * success and the subscription after the change. `close_invoice_id` non-NULL
 * (its open invoice, maybe ""): the subscription ends now, which the store
 * refuses while a payment of the account is pending (STREAM_EBUSY), as it
 * refuses the renewal job's steps and an account's close then: a pending
 * upgrade must never settle on an ended subscription. */
static int commit_sub(stream_billing *b, store_billing_sub *s, const billing__idem *idem,
                      const char *close_invoice_id, int close_status,
                      stream_billing_subscription *out, char *out_invoice_id)
{
  const struct stream_store_billing_ops *ops = billing__ops(b);
  char *resp = billing__result_encode(STREAM_OK, "", &s->pub, "", NULL, NULL);
  if (!resp)
    return STREAM_ENOMEM;
  store_billing_idem rec = {idem->scope, idem->key, idem->hash, STREAM_OK, resp};
  int rc = ops->sub_update(b->store->impl, s, close_invoice_id, close_status, &rec,
                           close_invoice_id != NULL, billing__now(b));
  free(resp);
  if (rc == STREAM_OK) {
    *out = s->pub;
    if (out_invoice_id)
      out_invoice_id[0] = '\0';
  }
  return rc;
}

static int live_sub(stream_billing *b, store_billing_sub *s, const char *account_id)
{
  int rc = billing__ops(b)->sub_get(b->store->impl, s, account_id);
  if (rc == STREAM_OK && s->pub.status > STREAM_BILLING_PAST_DUE)
    rc = STREAM_ENOTFOUND;
  if (rc == STREAM_ENOTFOUND)
    return stream__err(STREAM_ENOTFOUND, "account %s has no live subscription", account_id);
  return rc;
}

static int offered_plan(stream_billing *b, stream_billing_plan *p, const char *plan_id)
{
  int rc = billing__ops(b)->plan_get(b->store->impl, p, plan_id);
  if (rc == STREAM_OK && !p->active)
    rc = stream__err(STREAM_ECONFLICT, "plan %s is not offered any more", plan_id);
  return rc;
}

/* The card to charge: the subscription's (or the given one), else the default. */
static int pick_card(stream_billing *b, stream_billing_card *c, char *token, const char *account_id,
                     const char *card_id)
{
  return billing__ops(b)->card_get(b->store->impl, c, token, account_id, card_id);
}

int stream_billing_subscribe(stream_billing_subscription *out, char *out_invoice_id,
                             stream_billing *b, const char *account_id, const char *plan_id,
                             const char *card_id, const char *idempotency_key)
{
  if (!out || !b)
    return stream__err(STREAM_EINVAL, "out or billing is NULL");
  memset(out, 0, sizeof *out);
  if (out_invoice_id)
    out_invoice_id[0] = '\0';
  int rc = billing__check_id(account_id, "account_id");
  if (rc == STREAM_OK)
    rc = billing__check_id(plan_id, "plan_id");
  if (rc == STREAM_OK && card_id && card_id[0])
    rc = billing__check_id(card_id, "card_id");
  if (rc != STREAM_OK)
    return rc;
  const char *args[] = {account_id, plan_id, card_id ? card_id : ""};
  billing__idem idem;
  if (begin_call(b, &idem, &rc, out, out_invoice_id, account_id, idempotency_key, "subscribe", args,
                 3))
    return rc;
  const struct stream_store_billing_ops *ops = billing__ops(b);
  void *impl = b->store->impl;
  stream_store_account acct;
  stream_billing_plan plan;
  store_billing_sub cur;
  stream_billing_card card;
  char token[STORE_BILLING_TOKEN_SIZE] = "";
  rc = stream_store_account_get(&acct, b->store, account_id);
  if (rc == STREAM_OK)
    rc = offered_plan(b, &plan, plan_id);
  if (rc == STREAM_OK) {
    rc = ops->sub_get(impl, &cur, account_id);
    if (rc == STREAM_OK && cur.pub.status <= STREAM_BILLING_PAST_DUE)
      rc = stream__err(STREAM_ECONFLICT, "account %s already has a live subscription", account_id);
    else if (rc == STREAM_ENOTFOUND)
      rc = STREAM_OK;
  }
  bool had_any = false;
  if (rc == STREAM_OK)
    rc = ops->sub_any(impl, &had_any, account_id);
  if (rc == STREAM_OK)
    rc = pick_card(b, &card, token, account_id, card_id);
  int64_t now = billing__now(b);
  store_billing_sub s;
  memset(&s, 0, sizeof s);
  if (rc == STREAM_OK)
    rc = billing__new_id(s.pub.id);
  if (rc == STREAM_OK) {
    stream_billing_subscription *p = &s.pub;
    memcpy(p->account_id, account_id, strlen(account_id) + 1);
    memcpy(p->plan_id, plan.id, sizeof p->plan_id);
    memcpy(p->card_id, card.id, sizeof p->card_id);
    p->created_at = now;
    p->period_start = now;
    if (plan.trial_days > 0 && !had_any) {
      p->status = STREAM_BILLING_TRIALING;
      p->period_end = now + (int64_t)plan.trial_days * 86400;
      p->trial_end = p->period_end;
      s.anchor = p->period_end;
      s.cycle_months = 0;
    } else {
      p->status = STREAM_BILLING_ACTIVE;
      p->period_end = billing__add_months(now, plan.period_months);
      s.anchor = now;
      s.cycle_months = plan.period_months;
    }
    if (p->status == STREAM_BILLING_TRIALING || plan.price == 0) {
      char *resp = billing__result_encode(STREAM_OK, "", p, "", NULL, NULL);
      store_billing_idem rec = {idem.scope, idem.key, idem.hash, STREAM_OK, resp};
      rc = resp ? ops->sub_insert(impl, &s, &rec) : STREAM_ENOMEM;
      free(resp);
      if (rc == STREAM_OK)
        *out = *p;
    } else {
      stream_billing_line line;
      memset(&line, 0, sizeof line);
      line_text(line.description, "", &plan, p->period_start, p->period_end);
      memcpy(line.plan_id, plan.id, sizeof line.plan_id);
      line.amount = plan.price;
      line.period_start = p->period_start;
      line.period_end = p->period_end;
      billing__charge_req q = {account_id, p->id,      plan.currency, &line, 1,
                               NULL,       plan.price, &card,         token, STORE_PAY_SUBSCRIBE,
                               &idem,      true,       NULL};
      rc = billing__charge(b, &q, out, out_invoice_id);
    }
  }
  billing__unlock(b, account_id);
  stream__wipe(token, sizeof token);
  return rc;
}

int stream_billing_subscription_get(stream_billing_subscription *out, stream_billing *b,
                                    const char *account_id)
{
  if (!out || !b)
    return stream__err(STREAM_EINVAL, "out or billing is NULL");
  memset(out, 0, sizeof *out);
  int rc = billing__check_id(account_id, "account_id");
  if (rc != STREAM_OK)
    return rc;
  const struct stream_store_billing_ops *ops = billing__ops(b);
  if (!ops)
    return STREAM_ENOTSUP;
  store_billing_sub s;
  rc = ops->sub_get(b->store->impl, &s, account_id);
  if (rc == STREAM_OK)
    *out = s.pub;
  return rc;
}

int stream_billing_change_plan(stream_billing_subscription *out, char *out_invoice_id,
                               stream_billing *b, const char *account_id, const char *plan_id,
                               const char *idempotency_key)
{
  if (!out || !b)
    return stream__err(STREAM_EINVAL, "out or billing is NULL");
  memset(out, 0, sizeof *out);
  if (out_invoice_id)
    out_invoice_id[0] = '\0';
  int rc = billing__check_id(account_id, "account_id");
  if (rc == STREAM_OK)
    rc = billing__check_id(plan_id, "plan_id");
  if (rc != STREAM_OK)
    return rc;
  const char *args[] = {account_id, plan_id};
  billing__idem idem;
  if (begin_call(b, &idem, &rc, out, out_invoice_id, account_id, idempotency_key, "change_plan",
                 args, 2))
    return rc;
  store_billing_sub s;
  stream_billing_plan to, from;
  rc = live_sub(b, &s, account_id);
  if (rc == STREAM_OK)
    rc = offered_plan(b, &to, plan_id);
  if (rc == STREAM_OK)
    rc = billing__ops(b)->plan_get(b->store->impl, &from, s.pub.plan_id);
  if (rc == STREAM_OK && strcmp(from.currency, to.currency) != 0)
    rc = stream__err(STREAM_ECONFLICT, "plan %s is billed in %s, the subscription in %s", to.id,
                     to.currency, from.currency);
  if (rc == STREAM_OK && s.pub.status == STREAM_BILLING_PAST_DUE)
    rc = stream__err(STREAM_ECONFLICT,
                     "the subscription is past due: its open invoice must be paid before a plan "
                     "change");
  if (rc != STREAM_OK) {
    billing__unlock(b, account_id);
    return rc;
  }
  stream_billing_subscription *p = &s.pub;
  int64_t now = billing__now(b);
  int64_t charge = 0;
  bool upgrade = to.price > from.price && strcmp(to.id, from.id) != 0;
  /* Another period length (monthly to a dearer yearly plan): the two prices
   * are not prices of one period, so the difference cannot be prorated.
   * Stripe's rule: the new plan starts now for its whole period (the cycle
   * restarts) and the unused time of the old period is credited. */
  bool restart =
      upgrade && p->status == STREAM_BILLING_ACTIVE && to.period_months != from.period_months;
  int64_t rem = 0, credit = 0, new_end = 0;
  if (upgrade && p->status == STREAM_BILLING_ACTIVE && now < p->period_end)
    rem = p->period_end - (now > p->period_start ? now : p->period_start);
  if (restart) {
    credit = billing__prorate(from.price, rem, p->period_end - p->period_start);
    charge = to.price - credit; /* > 0: to.price > from.price >= credit */
    new_end = billing__add_months(now, to.period_months);
  } else if (rem > 0) {
    charge = billing__prorate(to.price - from.price, rem, p->period_end - p->period_start);
  }
  if (strcmp(to.id, from.id) == 0) {
    p->pending_plan_id[0] = '\0'; /* the current plan: drop a scheduled change */
    rc = commit_sub(b, &s, &idem, NULL, 0, out, out_invoice_id);
  } else if (!upgrade) {
    memcpy(p->pending_plan_id, to.id, sizeof p->pending_plan_id);
    rc = commit_sub(b, &s, &idem, NULL, 0, out, out_invoice_id);
  } else if (charge == 0) {
    memcpy(p->plan_id, to.id, sizeof p->plan_id);
    p->pending_plan_id[0] = '\0';
    rc = commit_sub(b, &s, &idem, NULL, 0, out, out_invoice_id);
  } else {
    stream_billing_card card;
    char token[STORE_BILLING_TOKEN_SIZE] = "";
    rc = pick_card(b, &card, token, account_id, p->card_id);
    if (rc == STREAM_ENOTFOUND && p->card_id[0])
      rc = pick_card(b, &card, token, account_id, NULL);
    if (rc == STREAM_OK) {
      stream_billing_line lines[2];
      memset(lines, 0, sizeof lines);
      size_t nlines = 1;
      if (restart) {
        /* The new plan's whole period, then the credit (billing__settle
         * recognizes the restart by the second line). */
        line_text(lines[0].description, "", &to, now, new_end);
        memcpy(lines[0].plan_id, to.id, sizeof lines[0].plan_id);
        lines[0].amount = to.price;
        lines[0].period_start = now;
        lines[0].period_end = new_end;
        line_text(lines[1].description, "Unused time on ", &from, p->period_end - rem,
                  p->period_end);
        memcpy(lines[1].plan_id, from.id, sizeof lines[1].plan_id);
        lines[1].amount = -credit;
        lines[1].period_start = p->period_end - rem;
        lines[1].period_end = p->period_end;
        nlines = 2;
      } else {
        char prefix[STREAM_BILLING_NAME_SIZE + 40];
        snprintf(prefix, sizeof prefix, "Upgrade from %s, prorated: ", from.name);
        line_text(lines[0].description, prefix, &to, now, p->period_end);
        memcpy(lines[0].plan_id, to.id, sizeof lines[0].plan_id);
        lines[0].amount = charge;
        lines[0].period_start = now;
        lines[0].period_end = p->period_end;
      }
      billing__charge_req q = {account_id, p->id, to.currency,       lines, nlines, NULL, charge,
                               &card,      token, STORE_PAY_UPGRADE, &idem, false,  &s};
      rc = billing__charge(b, &q, out, out_invoice_id);
    }
    stream__wipe(token, sizeof token);
  }
  billing__unlock(b, account_id);
  return rc;
}

static int cancel_or_resume(stream_billing_subscription *out, stream_billing *b,
                            const char *account_id, const char *idempotency_key, bool cancel)
{
  if (!out || !b)
    return stream__err(STREAM_EINVAL, "out or billing is NULL");
  memset(out, 0, sizeof *out);
  int rc = billing__check_id(account_id, "account_id");
  if (rc != STREAM_OK)
    return rc;
  const char *args[] = {account_id};
  billing__idem idem;
  if (begin_call(b, &idem, &rc, out, NULL, account_id, idempotency_key,
                 cancel ? "cancel" : "resume", args, 1))
    return rc;
  store_billing_sub s;
  rc = live_sub(b, &s, account_id);
  stream_billing_subscription *p = &s.pub;
  const char *close = NULL;
  if (rc == STREAM_OK && cancel && p->status == STREAM_BILLING_PAST_DUE) {
    /* Its period is already over and unpaid: it ends now, the debt is dropped. */
    p->status = STREAM_BILLING_CANCELED;
    p->ended_at = billing__now(b);
    p->next_attempt_at = 0;
    p->cancel_at_period_end = 0;
    close = s.open_invoice_id;
  } else if (rc == STREAM_OK && cancel) {
    p->cancel_at_period_end = 1;
  } else if (rc == STREAM_OK && !p->cancel_at_period_end) {
    rc = stream__err(STREAM_ECONFLICT, "the subscription is not canceled");
  } else if (rc == STREAM_OK) {
    p->cancel_at_period_end = 0;
  }
  if (rc == STREAM_OK)
    rc = commit_sub(b, &s, &idem, close, STREAM_BILLING_INVOICE_VOID, out, NULL);
  billing__unlock(b, account_id);
  return rc;
}

int stream_billing_cancel(stream_billing_subscription *out, stream_billing *b,
                          const char *account_id, const char *idempotency_key)
{
  return cancel_or_resume(out, b, account_id, idempotency_key, true);
}

int stream_billing_resume(stream_billing_subscription *out, stream_billing *b,
                          const char *account_id, const char *idempotency_key)
{
  return cancel_or_resume(out, b, account_id, idempotency_key, false);
}

int stream_billing_subscription_list(stream_billing_subscription **out, size_t *out_count,
                                     stream_billing *b, const stream_billing_subscription_query *q)
{
  if (!out || !out_count || !b || !q)
    return stream__err(STREAM_EINVAL, "out, out_count, billing or query is NULL");
  *out = NULL;
  *out_count = 0;
  if (q->status < -1 || q->status > STREAM_BILLING_EXPIRED)
    return stream__err(STREAM_EINVAL, "status %d is not a subscription status or -1", q->status);
  if (q->limit < 1 || q->limit > STREAM_BILLING_LIST_MAX)
    return stream__err(STREAM_EINVAL, "limit %u is outside 1..%d", q->limit,
                       STREAM_BILLING_LIST_MAX);
  if (q->after_id && q->after_id[0]) {
    int rc = billing__check_id(q->after_id, "after_id");
    if (rc != STREAM_OK)
      return rc;
  }
  const struct stream_store_billing_ops *ops = billing__ops(b);
  if (!ops)
    return STREAM_ENOTSUP;
  return ops->sub_list(b->store->impl, out, out_count, q);
}
