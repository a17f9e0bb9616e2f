/*
 * store: the backend table of the billing service (plans, payment methods,
 * subscriptions, invoices, payments, refunds, idempotency keys). Internal:
 * used only by libstream/billing/. Each function that writes is one
 * transaction of the backend; the billing service computes the new state in C
 * and the backend applies it atomically together with its guards:
 *   - a subscription is updated only when its `version` is still the one the
 *     caller read (compare-and-set), so a stale read never applies twice;
 *   - at most one live subscription per account and at most one pending
 *     payment per account (unique indexes), which serializes charges across
 *     processes;
 *   - the idempotency row of the request is written in the same transaction
 *     as the change it records.
 * Arguments are validated by the billing service; a backend may assume
 * well-formed input, text of valid UTF-8 included (the service checks plan
 * names and a provider's card answer, and repairs a provider's charge or
 * refund reference and message, libstream/billing/invoices.c). Every
 * function returns STREAM_OK or a STREAM_E* code with the thread's message
 * set.
 */
#ifndef STREAM_STORE_BILLING_H
#define STREAM_STORE_BILLING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream/billing.h"

/* Size of a provider method token buffer (at most 127 characters). */
#define STORE_BILLING_TOKEN_SIZE 128
/* Size of a SHA-256 hex digest buffer. */
#define STORE_BILLING_HASH_SIZE 65

/* A subscription with the fields the service keeps for itself. */
typedef struct store_billing_sub {
  stream_billing_subscription pub;
  int64_t anchor;       /* periods end at anchor + cycle_months calendar months */
  int cycle_months;     /* months from anchor to pub.period_end */
  int64_t dunning_from; /* first failed renewal charge, 0 = none */
  char open_invoice_id[STREAM_BILLING_ID_SIZE]; /* invoice being collected by dunning */
  int64_t version;                              /* compare-and-set counter */
} store_billing_sub;

/* Payment states. */
enum {
  STORE_PAY_PENDING = 0,
  STORE_PAY_SUCCEEDED = 1,
  STORE_PAY_DECLINED = 2,
  STORE_PAY_FAILED = 3
};

/* What a payment is for (decides what its success does). */
enum { STORE_PAY_SUBSCRIBE = 0, STORE_PAY_UPGRADE = 1, STORE_PAY_RENEWAL = 2 };

typedef struct store_billing_payment {
  char id[STREAM_BILLING_ID_SIZE];
  char invoice_id[STREAM_BILLING_ID_SIZE];
  char account_id[STREAM_BILLING_ID_SIZE];
  char card_id[STREAM_BILLING_ID_SIZE];
  char method_token[STORE_BILLING_TOKEN_SIZE];
  int kind;
  int64_t amount;
  char currency[STREAM_BILLING_CURRENCY_SIZE];
  int status;
  char provider_key[STREAM_BILLING_ID_SIZE * 2]; /* idempotency key sent to the provider */
  char reference[65];
  char message[256];
  char idem_scope[STREAM_BILLING_ID_SIZE + 16]; /* the request that started it, "" = job */
  char idem_key[STREAM_BILLING_IDEMPOTENCY_KEY_MAX + 1];
  int64_t created_at;
} store_billing_payment;

typedef struct store_billing_refund {
  char id[STREAM_BILLING_ID_SIZE];
  char invoice_id[STREAM_BILLING_ID_SIZE];
  char payment_id[STREAM_BILLING_ID_SIZE];
  int64_t amount;
  int status; /* STORE_PAY_PENDING, _SUCCEEDED, _DECLINED, _FAILED */
  char provider_key[STREAM_BILLING_ID_SIZE * 2];
  char reference[65];
  char message[256];
  char idem_scope[STREAM_BILLING_ID_SIZE + 16];
  char idem_key[STREAM_BILLING_IDEMPOTENCY_KEY_MAX + 1];
  int64_t created_at;
} store_billing_refund;

/* An idempotency record to write with a change. `response` NULL = the request
 * is in progress (its outcome is written later by a settle). */
typedef struct store_billing_idem {
  const char *scope;
  const char *key;
  const char *hash;
  int code;
  const char *response;
} store_billing_idem;

/* An idempotency row as read. `response` is owned (free()); NULL = in progress. */
typedef struct store_billing_idem_row {
  char hash[STORE_BILLING_HASH_SIZE];
  int code;
  char *response;
  int64_t created_at;
} store_billing_idem_row;

/* Phase one of a charge: optionally a new invoice with lines, the pending
 * payment, optionally the pending idempotency row. Guards: when
 * `require_no_live` the account must have no live subscription
 * (STREAM_ECONFLICT); when `sub_id` is set the subscription's version must
 * still be `sub_version` (STREAM_ECONFLICT); another pending payment of the
 * account gives STREAM_EBUSY. */
typedef struct store_billing_charge {
  const stream_billing_invoice *invoice; /* NULL = charge an existing invoice */
  const stream_billing_line *lines;
  size_t line_count;
  const store_billing_payment *payment;
  const store_billing_idem *idem; /* may be NULL */
  bool require_no_live;
  const char *sub_id; /* may be NULL */
  int64_t sub_version;
  int64_t now;
} store_billing_charge;

/* Phase three: the payment's outcome and its effects, all in one transaction.
 * The invoice gets the payment's amount paid on success; otherwise
 * `void_invoice` voids it (a refused first charge or upgrade). The
 * subscription is inserted (`sub_insert`) or updated by compare-and-set
 * (`sub_update`, its version as read). The idempotency row (if the payment
 * has one) receives `idem_code`/`idem_response`. */
typedef struct store_billing_settle {
  const char *payment_id;
  int status; /* STORE_PAY_SUCCEEDED, _DECLINED or _FAILED */
  const char *reference;
  const char *message;
  bool void_invoice;
  const store_billing_sub *sub_insert;
  const store_billing_sub *sub_update;
  int idem_code;
  const char *idem_response;
  int64_t now;
} store_billing_settle;

struct stream_store_billing_ops {
  /* plans */
  int (*plan_put)(void *impl, const stream_billing_plan *p, int64_t now);
  /* Insert the plans that do not exist yet; *out_added = how many. */
  int (*plan_seed)(void *impl, size_t *out_added, const stream_billing_plan *plans, size_t n,
                   int64_t now);
  int (*plan_get)(void *impl, stream_billing_plan *out, const char *id);
  int (*plan_list)(void *impl, stream_billing_plan **out, size_t *out_count, bool active_only);

  /* idempotency: STREAM_ENOTFOUND when the key was never used */
  int (*idem_get)(void *impl, store_billing_idem_row *out, const char *scope, const char *key);
  int (*idem_put)(void *impl, const store_billing_idem *rec, int64_t now);

  /* payment methods; the first card of an account becomes its default */
  int (*card_add)(void *impl, stream_billing_card *io, const char *method_token,
                  const store_billing_idem *idem);
  int (*card_list)(void *impl, stream_billing_card **out, size_t *out_count,
                   const char *account_id);
  /* `card_id` NULL or "" = the default; `out_token` (may be NULL) has
   * STORE_BILLING_TOKEN_SIZE bytes. */
  int (*card_get)(void *impl, stream_billing_card *out, char *out_token, const char *account_id,
                  const char *card_id);
  int (*card_set_default)(void *impl, const char *account_id, const char *card_id);
  /* Refuses (STREAM_ECONFLICT) to remove the only card of an account with a
   * live subscription to a paid plan; the default moves to the oldest left. */
  int (*card_remove)(void *impl, const char *account_id, const char *card_id);

  /* subscriptions */
  /* The live subscription, else the most recent one; STREAM_ENOTFOUND. */
  int (*sub_get)(void *impl, store_billing_sub *out, const char *account_id);
  int (*sub_get_by_id)(void *impl, store_billing_sub *out, const char *id);
  int (*sub_list)(void *impl, stream_billing_subscription **out, size_t *out_count,
                  const stream_billing_subscription_query *q);
  /* Accounts whose live subscription needs the job at `now` (period over, or
   * a dunning step due). `*out` is an array of ids, free(). */
  int (*sub_due)(void *impl, char (**out)[STREAM_BILLING_ID_SIZE], size_t *out_count, int64_t now);
  /* Has the account ever had a subscription? */
  int (*sub_any)(void *impl, bool *out, const char *account_id);
  /* Insert (trial start) with the request's idempotency row. A live one
   * already there gives STREAM_ECONFLICT. */
  int (*sub_insert)(void *impl, const store_billing_sub *s, const store_billing_idem *idem);
  /* Compare-and-set update (s->version = the version read); optionally make
   * `close_invoice_id` void or uncollectible (`close_status`) and write the
   * idempotency row. When `require_no_pending` the account must have no
   * pending payment (STREAM_EBUSY), checked in the same transaction: the
   * renewal job's steps and an immediate end, which a payment still pending
   * may overtake (an upgrade settled later can restart the cycle). A charge
   * that another process began after the caller's own check but before this
   * write is refused here; the other order fails charge_begin's version
   * check. */
  int (*sub_update)(void *impl, const store_billing_sub *s, const char *close_invoice_id,
                    int close_status, const store_billing_idem *idem, bool require_no_pending,
                    int64_t now);

  /* payments */
  int (*charge_begin)(void *impl, const store_billing_charge *c);
  int (*charge_settle)(void *impl, const store_billing_settle *s);
  int (*payment_get)(void *impl, store_billing_payment *out, const char *id);
  /* Pending payments, oldest first, of `account_id` (NULL = all accounts);
   * `*out` free(). */
  int (*payment_pending)(void *impl, store_billing_payment **out, size_t *out_count,
                         const char *account_id);

  /* invoices */
  int (*invoice_get)(void *impl, stream_billing_invoice *out, const char *id); /* with lines */
  int (*invoice_list)(void *impl, stream_billing_invoice **out, size_t *out_count,
                      const char *account_id, unsigned int limit);
  /* The succeeded payment of an invoice (STREAM_ENOTFOUND when none). */
  int (*invoice_payment)(void *impl, store_billing_payment *out, const char *invoice_id);

  /* refunds: phase one (pending row + idempotency row) and three */
  int (*refund_begin)(void *impl, const store_billing_refund *r, const store_billing_idem *idem);
  int (*refund_settle)(void *impl, const char *refund_id, int status, const char *reference,
                       const char *message, int idem_code, const char *idem_response, int64_t now);
  int (*refund_pending)(void *impl, store_billing_refund **out, size_t *out_count);

  /* integrity: see stream_billing_books_check */
  int (*books_check)(void *impl, size_t *out_invoices, int64_t pending_before);
};

#endif
