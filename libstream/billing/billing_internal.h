/*
 * Internal state shared by the files of the billing service. Not installed.
 *
 * Files and owners:
 *   billing.c        handle, options, clock, per-account locks, names
 *   plans.c          plans and the default seed
 *   cards.c          payment methods
 *   subscriptions.c  subscribe, change plan, cancel, resume, listing
 *   invoices.c       invoices, payments (two-phase), refunds, books check
 *   renewals.c       the renewal job and dunning
 *   idempotency.c    idempotency keys
 *   local.c          the built-in local test provider
 *   entitlements.c   entitlement checks
 *   leases.c         screen leases
 * Storage goes through libstream/store/store_billing.h (billing tables) and
 * libstream/store/store_leases.h (leases), never through SQL here.
 */
#ifndef STREAM_BILLING_INTERNAL_H
#define STREAM_BILLING_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream/billing.h"
#include "stream/store.h"

/* Per-account serialization of mutating calls in this process: a fixed set of
 * mutexes picked by a hash of the account id. */
#define BILLING__LOCK_STRIPES 64

struct stream_billing {
  stream_store *store;
  stream_billing_provider provider;
  stream_billing_clock_fn now;
  void *now_userdata;
  int lease_ttl;
  int dunning_retries;
  int dunning_span_days;
  pthread_mutex_t locks[BILLING__LOCK_STRIPES];
  /* billing.c may add fields below; the ones above are used by every file. */
};

/* Current time from the handle's clock. */
int64_t billing__now(const stream_billing *b);

/* Lock / unlock the stripe of `account_id`. */
void billing__lock(stream_billing *b, const char *account_id);
void billing__unlock(stream_billing *b, const char *account_id);

/* Validate an id argument (store id or plan slug): non-NULL, 1..64 characters
 * of [A-Za-z0-9_-]. `what` names it in the message. STREAM_OK or STREAM_EINVAL. */
int billing__check_id(const char *id, const char *what);

/* ---- added by billing.c and friends (billing core) ---------------------- */

struct stream_store_billing_ops;
struct store_billing_payment;
struct store_billing_sub;

/* The billing table of the store's backend, or NULL with STREAM_ENOTSUP set. */
const struct stream_store_billing_ops *billing__ops(const stream_billing *b);

/* Calendar (UTC, proleptic Gregorian, no dependency on TZ): `t` moved by
 * `months` calendar months, the day clamped to the target month's length
 * (Jan 31 + 1 month = Feb 28/29), time of day kept. */
int64_t billing__add_months(int64_t t, int months);
/* "YYYY-MM-DD" of `t` into `out` (at least 11 bytes). */
void billing__date(char *out, size_t cap, int64_t t);

/* round_half_up(diff * rem / len) in integers, for 0 <= rem <= len, len > 0,
 * |diff| <= STREAM_BILLING_AMOUNT_MAX: no overflow. */
int64_t billing__prorate(int64_t diff, int64_t rem, int64_t len);

/* Validate a plan's fields (named in the message). */
int billing__check_plan(const stream_billing_plan *p);
/* ISO 4217 shape: three uppercase ASCII letters. */
int billing__check_currency(const char *c);

/* Idempotency (idempotency.c). A request in flight: its scope, key and hash. */
typedef struct billing__idem {
  char scope[STREAM_BILLING_ID_SIZE + 16];
  char key[STREAM_BILLING_IDEMPOTENCY_KEY_MAX + 1];
  char hash[65];
} billing__idem;

/* Validate the key (STREAM_EINVAL), hash `op` and its `args` (NULL args are
 * hashed as absent), and look the key up. STREAM_OK with `*replay` NULL: go
 * on; STREAM_OK with `*replay` set (free()): the recorded outcome, to decode
 * with billing__replay; STREAM_ECONFLICT: same key, another request, or the
 * first one is still in flight. */
int billing__idem_start(stream_billing *b, billing__idem *id, char **replay, int *replay_code,
                        const char *scope, const char *key, const char *op, const char *const *args,
                        size_t nargs);

/* The outcome of a call, serialized for its idempotency row (JSON, free()).
 * Any struct pointer may be NULL. */
char *billing__result_encode(int code, const char *message, const stream_billing_subscription *sub,
                             const char *invoice_id, const stream_billing_card *card,
                             const stream_billing_invoice *inv);
/* Decode a recorded outcome into the out structs (any may be NULL), set the
 * thread's message as recorded, and return the recorded code. */
int billing__replay(const char *json, int code, stream_billing_subscription *sub, char *invoice_id,
                    stream_billing_card *card, stream_billing_invoice *inv);

/* Payments (invoices.c): phase three of a charge whose provider call
 * answered `prc`/`res`. Computes the effects of the outcome for the
 * payment's kind, commits them, and fills `out_sub`/`out_invoice_id` (may be
 * NULL). Returns the call's status (STREAM_EPAYMENT for a refusal). Caller
 * holds the account's lock. */
int billing__settle(stream_billing *b, const struct store_billing_payment *p, int prc,
                    const stream_billing_provider_result *res, stream_billing_subscription *out_sub,
                    char *out_invoice_id);
/* A charge to begin: a new invoice with its `line_count` lines (line !=
 * NULL; the total is their sum), or a payment of the open invoice
 * `invoice_id`. `cas` (may be NULL): the subscription as read, which must not
 * have changed. An upgrade's invoice has one line (same period length: the
 * prorated difference) or two (another period length: the new plan's whole
 * period, then the credit for the unused time of the old one, amount <= 0);
 * billing__settle restarts the billing cycle for the second kind. */
typedef struct billing__charge_req {
  const char *account_id;
  const char *subscription_id;
  const char *currency;
  const stream_billing_line *line;
  size_t line_count;
  const char *invoice_id;
  int64_t amount;
  const stream_billing_card *card;
  const char *token;
  int kind; /* STORE_PAY_* */
  const billing__idem *idem;
  bool require_no_live;
  const struct store_billing_sub *cas;
} billing__charge_req;

/* Phase one (commit the pending payment), then billing__collect. */
int billing__charge(stream_billing *b, const billing__charge_req *q,
                    stream_billing_subscription *out_sub, char *out_invoice_id);
/* Call the provider for a pending payment (same key) and settle it. */
int billing__collect(stream_billing *b, const struct store_billing_payment *p,
                     stream_billing_subscription *out_sub, char *out_invoice_id);
/* Settle pending refunds left by a crash; *out_settled counts them. */
int billing__settle_refunds(stream_billing *b, size_t *out_settled);

/* Subscriptions (subscriptions.c): the next retry or the expiry time of a
 * subscription with `failed` failed attempts since `from`. */
int64_t billing__dunning_next(const stream_billing *b, int64_t from, int failed);

/* A fresh store id / provider key (store__new_id). */
int billing__new_id(char out[STREAM_BILLING_ID_SIZE]);

#endif
