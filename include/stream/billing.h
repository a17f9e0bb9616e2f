/**
 * @file stream/billing.h
 * @brief Billing and entitlements (floor 2, "billing"): plans, subscriptions
 *        with trials, prorated upgrades, downgrades and cancellation at period
 *        end, invoices with line items, payments through a provider interface,
 *        renewals with dunning, refunds, idempotency keys, entitlement checks
 *        and screen leases.
 *
 * A stream_billing handle sits on a stream_store (SQLite by default) and a
 * payment provider. Every state change is one SQL transaction guarded by
 * constraints: at most one live (trialing, active or past_due) subscription
 * per account, invoice totals equal to the sum of their lines, and the books
 * balance (for every invoice: total = amount paid + amount due; refunds never
 * exceed what was paid). stream_billing_books_check() verifies this.
 *
 * Money: integers only, in the currency's minor units (cents), with an
 * ISO 4217 code ("USD"). Time: Unix seconds from the clock in the options,
 * so tests run months of renewals in milliseconds.
 *
 * Payments are two-phase so that a provider call is never made inside a
 * database transaction and nothing is charged twice: a payment row is first
 * committed as pending with a provider idempotency key, then the provider is
 * called with that key, then the outcome is committed. A pending payment left
 * by a crash is settled by the next stream_billing_run_renewals() with the
 * same key (providers must be idempotent by key, as real gateways are).
 * Calls that mutate one account are serialized per account in this process.
 *
 * Idempotency: every mutating call takes an idempotency key (1..255
 * printable ASCII characters, no spaces). The first call with a key records
 * the request (a hash of the operation and its arguments) and its outcome:
 * repeating the same request with the same key returns the same status and
 * the same result as the first call, without doing anything again; the same
 * key with a different request gives STREAM_ECONFLICT. Keys are scoped per
 * account (operator calls: per operation) and kept for at least 24 hours.
 *
 * Status codes specific to billing: STREAM_EPAYMENT (the provider declined or
 * failed the charge; the message carries the provider's reason, never card
 * data), STREAM_ECONFLICT (idempotency key reuse, or the state forbids the
 * change, e.g. a second live subscription), STREAM_EBUSY (no free screen).
 *
 * Card data: only provider tokens, the brand, the last four digits and the
 * expiry are stored or returned. Messages never contain tokens or numbers.
 *
 * Thread-safety: a stream_billing handle may be used by any number of threads
 * at once. Structs returned here are plain data; those with pointers name
 * their free function.
 */
#ifndef STREAM_BILLING_H
#define STREAM_BILLING_H

#include <stddef.h>
#include <stdint.h>

#include "stream/common.h"
#include "stream/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Size of an id buffer (store ids; plan ids are caller-chosen slugs). */
#define STREAM_BILLING_ID_SIZE 65
/** Longest plan name (bytes) and buffer size. */
#define STREAM_BILLING_NAME_SIZE 65
/** ISO 4217 currency code buffer ("USD" + NUL). */
#define STREAM_BILLING_CURRENCY_SIZE 4
/** Longest idempotency key (printable ASCII, no spaces). */
#define STREAM_BILLING_IDEMPOTENCY_KEY_MAX 255
/** Longest description of an invoice line, and buffer size. */
#define STREAM_BILLING_TEXT_SIZE 256
/** Largest amount accepted anywhere, in minor units (10^12: no overflow in proration). */
#define STREAM_BILLING_AMOUNT_MAX 1000000000000LL
/** Most screens a plan may allow. */
#define STREAM_BILLING_SCREENS_MAX 16
/** Longest device id (printable ASCII) and device name (UTF-8 bytes), and buffer sizes. */
#define STREAM_BILLING_DEVICE_SIZE 129
/** Most leases, invoices or lines returned by one list call. */
#define STREAM_BILLING_LIST_MAX 100

/** The billing service. Thread-safe. */
typedef struct stream_billing stream_billing;

/** A clock: Unix seconds. Must be thread-safe. */
typedef int64_t (*stream_billing_clock_fn)(void *userdata);

/* ---- payment providers ------------------------------------------------ */

/** Outcome of a provider charge or refund. */
typedef enum stream_billing_outcome {
  STREAM_BILLING_SUCCEEDED = 0, /**< money moved */
  STREAM_BILLING_DECLINED = 1,  /**< definitive refusal (card declined, insufficient funds) */
  STREAM_BILLING_FAILED = 2     /**< processing error: nothing moved; retrying may succeed */
} stream_billing_outcome;

/** A payment method as stored and returned: no card number, ever. */
typedef struct stream_billing_card {
  char id[STREAM_BILLING_ID_SIZE];         /**< our id (store id) */
  char account_id[STREAM_BILLING_ID_SIZE]; /**< owner */
  char brand[16];                          /**< "visa", "mastercard", ... */
  char last4[5];                           /**< last four digits */
  int exp_month;                           /**< 1..12 */
  int exp_year;                            /**< e.g. 2030 */
  int is_default;                          /**< 0 or 1: used by renewals */
  int64_t created_at;
} stream_billing_card;

/** What a provider returns for a charge or refund. */
typedef struct stream_billing_provider_result {
  int outcome;        /**< stream_billing_outcome */
  char reference[65]; /**< the provider's id of the charge/refund ("" when none) */
  char message[256];  /**< reason of a decline/failure, safe to show; "" on success */
} stream_billing_provider_result;

/**
 * A payment provider. Functions return STREAM_OK when the provider answered
 * (the answer is in the result, a decline included) or a STREAM_E* code when
 * it could not be reached or did not answer: the outcome is then unknown, so
 * the payment stays pending and stream_billing_run_renewals() asks again with
 * the same key (the call returns STREAM_EPAYMENT saying so). Every call
 * must be idempotent by `idempotency_key`: a repeat returns the first answer
 * and moves no money. Called from any thread, never inside a transaction.
 */
typedef struct stream_billing_provider {
  const char *name; /**< e.g. "local" */
  /** Turn a client-side token into a reusable method: fill `out->brand`,
   *  `last4`, `exp_month`, `exp_year` and `*out_method_token` (the provider's
   *  reusable token, at most 127 characters, written into a 128-byte buffer). */
  int (*tokenize)(void *userdata, stream_billing_card *out, char *out_method_token,
                  const char *client_token);
  /** Charge `amount` (> 0) minor units of `currency` to `method_token`. */
  int (*charge)(void *userdata, stream_billing_provider_result *out, const char *method_token,
                int64_t amount, const char *currency, const char *idempotency_key);
  /** Refund `amount` (> 0) of the charge `reference`. */
  int (*refund)(void *userdata, stream_billing_provider_result *out, const char *reference,
                int64_t amount, const char *currency, const char *idempotency_key);
  void *userdata;
} stream_billing_provider;

/** The built-in local test provider (see stream_billing_local_new()). */
typedef struct stream_billing_local stream_billing_local;

/**
 * Create the built-in provider for local use and tests. It keeps its own
 * ledger in memory and decides outcomes by test card number, as gateways'
 * test modes do. Client tokens are "tok_" followed by a 16-digit test card
 * number (Luhn-valid), optionally "_MMYY" for the expiry (default 12/2034):
 *   4242424242424242  visa, succeeds
 *   5555555555554444  mastercard, succeeds
 *   4000000000000002  visa, tokenizes, every charge is DECLINED ("card declined")
 *   4000000000009995  visa, tokenizes, DECLINED ("insufficient funds")
 *   4000000000000119  visa, tokenizes, charges FAIL ("processing error")
 *   4000000000000341  visa, tokenizes, first charge succeeds, later ones DECLINED
 * Other Luhn-valid numbers succeed; malformed tokens and expired cards are
 * refused by tokenize with STREAM_EINVAL. The method token it returns does not
 * contain the card number. `*out` is freed with stream_billing_local_free().
 * Errors: STREAM_EINVAL (NULL), STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_billing_local_new(stream_billing_local **out);

/** Free the local provider. NULL is a no-op. It must outlive every billing handle using it. */
STREAM_API void stream_billing_local_free(stream_billing_local *p);

/**
 * Fill `*out` with the provider table of `p` (userdata = p), to be passed in
 * stream_billing_options.provider. Errors: STREAM_EINVAL (NULL). Thread-safe.
 */
STREAM_API int stream_billing_local_provider(stream_billing_provider *out, stream_billing_local *p);

/**
 * Totals of the local provider's ledger: number of successful charges and
 * their sum, and the sum refunded (what a gateway dashboard would show).
 * Any out-pointer may be NULL. Errors: STREAM_EINVAL (NULL p). Thread-safe.
 */
STREAM_API int stream_billing_local_totals(stream_billing_local *p, size_t *out_charges,
                                           int64_t *out_charged, int64_t *out_refunded);

/* ---- handle ----------------------------------------------------------- */

/** Options of stream_billing_new(). */
typedef struct stream_billing_options {
  unsigned int version;                    /**< STREAM_BILLING_OPTIONS_VERSION */
  stream_store *store;                     /**< required; borrowed, must outlive the handle */
  const stream_billing_provider *provider; /**< required; copied (its userdata is borrowed) */
  stream_billing_clock_fn now;             /**< NULL = the system clock */
  void *now_userdata;                      /**< passed to `now` */
  int lease_ttl;         /**< seconds a screen lease lives without a heartbeat, 10..3600
                              (default 90) */
  int dunning_retries;   /**< renewal retries after the first failed charge, 0..10 (default 3) */
  int dunning_span_days; /**< days from the first failure to expiry, 1..60 (default 7);
                              retries are spread evenly over the span */
} stream_billing_options;

#define STREAM_BILLING_OPTIONS_VERSION 1
#define STREAM_BILLING_OPTIONS_INIT                                                                \
  {                                                                                                \
    STREAM_BILLING_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 90, 3, 7                               \
  }

/**
 * Create the billing service. On success `*out` belongs to the caller, who
 * frees it with stream_billing_free() before closing the store.
 * Errors: STREAM_EINVAL (NULL or out-of-range option, named in the message),
 * STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_billing_new(stream_billing **out, const stream_billing_options *opts);

/** Free the service (not the store or provider). NULL is a no-op. No other thread may use it. */
STREAM_API void stream_billing_free(stream_billing *b);

/* ---- plans ------------------------------------------------------------ */

/** A plan. Prices are per period of `period_months` calendar months. */
typedef struct stream_billing_plan {
  char id[STREAM_BILLING_ID_SIZE];     /**< slug: 1..64 of [a-z0-9_-], e.g. "standard" */
  char name[STREAM_BILLING_NAME_SIZE]; /**< shown to users, 1..64 bytes of UTF-8 */
  int64_t price;                       /**< minor units per period, 0..STREAM_BILLING_AMOUNT_MAX */
  char currency[STREAM_BILLING_CURRENCY_SIZE]; /**< ISO 4217, three uppercase letters */
  int period_months;                           /**< 1..12 */
  int trial_days;                              /**< 0..90: first subscription of an account only */
  int screens;    /**< concurrent streams, 1..STREAM_BILLING_SCREENS_MAX */
  int max_height; /**< highest rendition height: 480..4320 (720, 1080, 2160) */
  int active;     /**< 1 = offered to new subscribers and upgrades */
} stream_billing_plan;

/**
 * Create or replace a plan (operator call). Existing subscriptions keep their
 * plan id; a price change applies from their next renewal. Idempotent by
 * nature (the plan is the key), so it takes no idempotency key.
 * Errors: STREAM_EINVAL (a field out of range, named), STREAM_EIO, STREAM_EBUSY.
 */
STREAM_API int stream_billing_plan_put(stream_billing *b, const stream_billing_plan *plan);

/** Read one plan. Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EIO. */
STREAM_API int stream_billing_plan_get(stream_billing_plan *out, stream_billing *b,
                                       const char *plan_id);

/**
 * List plans ordered by price then id; inactive ones only when
 * `include_inactive`. `*out` (caller frees with stream_free()) holds `*out_count`.
 * Errors: STREAM_EINVAL, STREAM_EIO, STREAM_ENOMEM.
 */
STREAM_API int stream_billing_plan_list(stream_billing_plan **out, size_t *out_count,
                                        stream_billing *b, int include_inactive);

/**
 * Insert the default plans when the store has none: basic (1 screen, 720p,
 * 799 USD cents), standard (2 screens, 1080p, 1549) and premium (4 screens,
 * 2160p, 2299), monthly, 7-day trial. `*out_inserted` (may be NULL) receives
 * how many were inserted (0 when plans existed). Errors: STREAM_EINVAL, STREAM_EIO.
 */
STREAM_API int stream_billing_plans_seed(size_t *out_inserted, stream_billing *b);

/* ---- payment methods -------------------------------------------------- */

/**
 * Tokenize `client_token` with the provider and attach the method to the
 * account; the first method becomes the default. Errors: STREAM_EINVAL (bad
 * token or key: the provider's reason), STREAM_ENOTFOUND (account unknown or deleted),
 * STREAM_ECONFLICT (key reused with another request), STREAM_EIO.
 */
STREAM_API int stream_billing_card_add(stream_billing_card *out, stream_billing *b,
                                       const char *account_id, const char *client_token,
                                       const char *idempotency_key);

/** The account's methods, default first. `*out` freed with stream_free(). */
STREAM_API int stream_billing_card_list(stream_billing_card **out, size_t *out_count,
                                        stream_billing *b, const char *account_id);

/** Make a method the default. Errors: STREAM_EINVAL, STREAM_ENOTFOUND (not the account's). */
STREAM_API int stream_billing_card_set_default(stream_billing *b, const char *account_id,
                                               const char *card_id);

/**
 * Detach a method. The default method of an account with a live paid
 * subscription cannot be removed while it is the only one (STREAM_ECONFLICT).
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_ECONFLICT.
 */
STREAM_API int stream_billing_card_remove(stream_billing *b, const char *account_id,
                                          const char *card_id);

/* ---- subscriptions ---------------------------------------------------- */

/** Subscription states. Live = TRIALING, ACTIVE or PAST_DUE. */
typedef enum stream_billing_status {
  STREAM_BILLING_TRIALING = 0,
  STREAM_BILLING_ACTIVE = 1,
  STREAM_BILLING_PAST_DUE = 2, /**< renewal failed; dunning retries; still entitled */
  STREAM_BILLING_CANCELED = 3, /**< ended by the subscriber's cancellation */
  STREAM_BILLING_EXPIRED = 4   /**< ended because dunning ran out */
} stream_billing_status;

/** A subscription. */
typedef struct stream_billing_subscription {
  char id[STREAM_BILLING_ID_SIZE];
  char account_id[STREAM_BILLING_ID_SIZE];
  char plan_id[STREAM_BILLING_ID_SIZE];
  char pending_plan_id[STREAM_BILLING_ID_SIZE]; /**< downgrade due at period end, or "" */
  char card_id[STREAM_BILLING_ID_SIZE];         /**< method charged, or "" (trial without one) */
  int status;                                   /**< stream_billing_status */
  int cancel_at_period_end;                     /**< 0 or 1 */
  int64_t period_start;                         /**< current period [start, end) */
  int64_t period_end;
  int64_t trial_end;       /**< 0 = no trial */
  int failed_attempts;     /**< renewal charges failed in this dunning run */
  int64_t next_attempt_at; /**< next dunning retry, 0 = none */
  int64_t created_at;
  int64_t ended_at; /**< 0 while live */
} stream_billing_subscription;

/**
 * Subscribe the account to `plan_id`, charging `card_id` (NULL or "" = the
 * default method). When the plan has a trial and the account never had a
 * subscription, it starts TRIALING without a charge (a method is still
 * required) and the first charge happens at trial end. Otherwise the first
 * period is invoiced and charged at once; the subscription exists only if the
 * charge succeeds (a decline leaves a void invoice, a failed payment and no
 * subscription).
 * `*out` receives the subscription, `out_invoice_id` (may be NULL; buffer of
 * STREAM_BILLING_ID_SIZE) the invoice ("" for a trial).
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND (account, plan or card),
 * STREAM_ECONFLICT (already a live subscription; inactive plan; key reuse),
 * STREAM_EPAYMENT (declined/failed: the reason; recorded under the key, so
 * a retry needs a new key), STREAM_EBUSY (another payment of the account is
 * in progress), STREAM_EIO.
 */
STREAM_API int stream_billing_subscribe(stream_billing_subscription *out, char *out_invoice_id,
                                        stream_billing *b, const char *account_id,
                                        const char *plan_id, const char *card_id,
                                        const char *idempotency_key);

/**
 * The account's live subscription, or else its most recent ended one.
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND (never subscribed), STREAM_EIO.
 */
STREAM_API int stream_billing_subscription_get(stream_billing_subscription *out, stream_billing *b,
                                               const char *account_id);

/**
 * Change plan. A dearer plan applies at once with a prorated charge for the
 * rest of the current period:
 *   charge = round_half_up((new_price - old_price) * (period_end - now)
 *                          / (period_end - period_start))
 * computed in integers (no floating point). A dearer plan of another
 * period_months (monthly to yearly) restarts the billing cycle instead: the
 * new period is [now, now + its period_months months) and the charge is
 *   new_price - round_half_up(old_price * (period_end - now)
 *                             / (period_end - period_start))
 * (its invoice has two lines: the new plan's period, then the negative credit
 * for the unused time of the old one). During a trial the plan changes
 * with no charge. A cheaper (or equal-price) plan is scheduled for the period
 * end (pending_plan_id). Changing to the current plan cancels a scheduled
 * change; an upgrade drops it. A failed upgrade charge leaves the plan and
 * the period unchanged (STREAM_EPAYMENT). A provider that did not answer
 * leaves the payment pending (STREAM_EPAYMENT): the renewal job settles it
 * and then applies the change (until then it neither ends, renews nor marks
 * past due the subscription; a restart settled on one made past due
 * meanwhile makes it active and ends its dunning; one that had ended, which
 * only data from before the store's pending-payment guard can hold, is left
 * as it ended, the invoice paid, and a warning names the invoice and the
 * account for a refund: the key then replays STREAM_ECONFLICT).
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND (no live subscription, plan),
 * STREAM_ECONFLICT (currency differs, inactive plan, past due, key reuse),
 * STREAM_EPAYMENT, STREAM_EBUSY (another payment in progress), STREAM_EIO.
 * `out_invoice_id` (may be NULL) receives the upgrade's invoice, or "".
 */
STREAM_API int stream_billing_change_plan(stream_billing_subscription *out, char *out_invoice_id,
                                          stream_billing *b, const char *account_id,
                                          const char *plan_id, const char *idempotency_key);

/**
 * Cancel at period end (no refund; entitled until then). A past-due
 * subscription ends at once instead and its open invoice is voided; that
 * waits while a payment of the account is pending (STREAM_EBUSY: its outcome
 * could change the subscription, e.g. an upgrade that restarts the cycle).
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND (no live subscription),
 * STREAM_ECONFLICT (key reuse), STREAM_EBUSY.
 */
STREAM_API int stream_billing_cancel(stream_billing_subscription *out, stream_billing *b,
                                     const char *account_id, const char *idempotency_key);

/**
 * Undo a cancellation before the period ends. Errors: STREAM_EINVAL,
 * STREAM_ENOTFOUND (no live subscription), STREAM_ECONFLICT (not canceled; key reuse).
 */
STREAM_API int stream_billing_resume(stream_billing_subscription *out, stream_billing *b,
                                     const char *account_id, const char *idempotency_key);

/** Filter and page of stream_billing_subscription_list(). */
typedef struct stream_billing_subscription_query {
  int status;           /**< a stream_billing_status, or -1 for all */
  const char *after_id; /**< NULL/"" = from the start; else the last id of the previous page */
  unsigned int limit;   /**< 1..STREAM_BILLING_LIST_MAX */
} stream_billing_subscription_query;

/**
 * Operator listing, ordered by id. `*out` freed with stream_free().
 * Errors: STREAM_EINVAL, STREAM_EIO, STREAM_ENOMEM.
 */
STREAM_API int stream_billing_subscription_list(stream_billing_subscription **out,
                                                size_t *out_count, stream_billing *b,
                                                const stream_billing_subscription_query *q);

/* ---- invoices and payments -------------------------------------------- */

/** Invoice states. */
typedef enum stream_billing_invoice_status {
  STREAM_BILLING_INVOICE_OPEN = 0,         /**< amount due > 0, being collected */
  STREAM_BILLING_INVOICE_PAID = 1,         /**< amount due = 0 */
  STREAM_BILLING_INVOICE_VOID = 2,         /**< abandoned: its amount is no longer owed */
  STREAM_BILLING_INVOICE_UNCOLLECTIBLE = 3 /**< dunning ran out */
} stream_billing_invoice_status;

/** One line of an invoice. */
typedef struct stream_billing_line {
  char description[STREAM_BILLING_TEXT_SIZE]; /**< e.g. "Premium, 2026-12-01 to 2027-01-01" */
  char plan_id[STREAM_BILLING_ID_SIZE];
  int64_t amount; /**< minor units (credits are negative) */
  int64_t period_start;
  int64_t period_end;
} stream_billing_line;

/** An invoice. `lines` is filled only by stream_billing_invoice_get(). */
typedef struct stream_billing_invoice {
  char id[STREAM_BILLING_ID_SIZE];
  char account_id[STREAM_BILLING_ID_SIZE];
  char subscription_id[STREAM_BILLING_ID_SIZE];
  int status; /**< stream_billing_invoice_status */
  char currency[STREAM_BILLING_CURRENCY_SIZE];
  int64_t total;           /**< sum of the lines */
  int64_t amount_paid;     /**< succeeded payments */
  int64_t amount_due;      /**< total - amount_paid, 0 once void/uncollectible */
  int64_t amount_refunded; /**< refunds of its payments */
  int64_t created_at;
  int64_t paid_at;            /**< 0 = not paid */
  stream_billing_line *lines; /**< owned; see stream_billing_invoice_clear() */
  size_t line_count;
} stream_billing_invoice;

/** Read an invoice with its lines. Clear with stream_billing_invoice_clear(). */
STREAM_API int stream_billing_invoice_get(stream_billing_invoice *out, stream_billing *b,
                                          const char *invoice_id);

/** Free the lines of an invoice filled by the store. NULL is a no-op. */
STREAM_API void stream_billing_invoice_clear(stream_billing_invoice *inv);

/**
 * The account's invoices, newest first, without lines (at most
 * STREAM_BILLING_LIST_MAX). `*out` freed with stream_free().
 */
STREAM_API int stream_billing_invoice_list(stream_billing_invoice **out, size_t *out_count,
                                           stream_billing *b, const char *account_id);

/**
 * Refund `amount` (1..what is left to refund; 0 = all of it) of the invoice's
 * payments through the provider (operator call). The subscription is not
 * changed. `*out` receives the invoice after the refund, without lines.
 * Errors: STREAM_EINVAL (amount < 0 or over what was paid),
 * STREAM_ENOTFOUND, STREAM_ECONFLICT (key reuse), STREAM_EBUSY (another
 * refund of the invoice is in progress), STREAM_EPAYMENT, STREAM_EIO.
 */
STREAM_API int stream_billing_refund(stream_billing_invoice *out, stream_billing *b,
                                     const char *invoice_id, int64_t amount,
                                     const char *idempotency_key);

/* ---- the renewal job -------------------------------------------------- */

/** What one run of the renewal job did. */
typedef struct stream_billing_run_report {
  size_t renewed; /**< periods billed and paid */
  size_t trials_converted;
  size_t failed;     /**< charges declined/failed (now past_due) */
  size_t retried;    /**< dunning retries attempted */
  size_t expired;    /**< ended by dunning */
  size_t canceled;   /**< ended at period end by cancellation */
  size_t downgraded; /**< scheduled plan changes applied */
  size_t settled;    /**< pending payments left by a crash, settled */
} stream_billing_run_report;

/**
 * Run the renewal job once at the clock's now: settle pending payments, end
 * canceled subscriptions whose period is over, apply scheduled downgrades,
 * bill due periods (trial ends included), retry past-due charges when due and
 * expire those out of retries. Each subscription advances at most as many
 * periods as are due, each in its own transaction, so a run can be repeated
 * or interrupted safely. An account whose payment is still pending after the
 * settle (the provider still not answering) is left as it is until a later
 * run settles it: a subscription canceled at period end with an upgrade
 * pending is not ended (if the upgrade restarts the cycle, it ends at the new
 * period's end), nor made past due. This holds across processes: the store
 * refuses a step's write while a payment of the account is pending, in the
 * write's own transaction, so a charge another process began after the job
 * looked (an upgrade) leaves the account for a later run too (logged as a
 * warning, not an error of the run). `*out` may be NULL. Errors:
 * STREAM_EINVAL, STREAM_EIO.
 */
STREAM_API int stream_billing_run_renewals(stream_billing_run_report *out, stream_billing *b);

/* ---- integrity -------------------------------------------------------- */

/**
 * Check the books: every invoice's total equals the sum of its lines and
 * amount_paid + amount_due (void/uncollectible: due 0), amount_paid equals its
 * succeeded payments, refunds never exceed payments, no payment is left
 * pending older than `pending_grace` seconds, and no account has two live
 * subscriptions. Returns STREAM_OK, or STREAM_EINTERNAL with the first
 * inconsistency in the message; `*out_invoices` (may be NULL) receives how
 * many invoices were checked.
 */
STREAM_API int stream_billing_books_check(size_t *out_invoices, stream_billing *b,
                                          int64_t pending_grace);

/* ---- entitlements and screen leases ----------------------------------- */

/** Why an entitlement check answered as it did. */
typedef enum stream_billing_reason {
  STREAM_BILLING_OK = 0,
  STREAM_BILLING_NO_SUBSCRIPTION = 1,  /**< never subscribed, canceled or expired */
  STREAM_BILLING_PROFILE_MISMATCH = 2, /**< the profile is not the account's */
  STREAM_BILLING_MATURITY = 3,         /**< the title is above the profile's ceiling */
  STREAM_BILLING_UNKNOWN_TITLE = 4,    /**< no such title */
  STREAM_BILLING_SCREENS = 5           /**< every screen of the plan is in use */
} stream_billing_reason;

/** The answer of stream_billing_entitlement(). */
typedef struct stream_billing_entitlement {
  int allowed;                          /**< 1 = may play */
  int reason;                           /**< stream_billing_reason */
  char message[256];                    /**< human-readable reason */
  char plan_id[STREAM_BILLING_ID_SIZE]; /**< "" without a live subscription */
  int max_height;                       /**< rendition cap (0 when not allowed) */
  int screens;                          /**< the plan's screens */
  int screens_in_use;                   /**< live leases of other devices */
} stream_billing_entitlement;

/**
 * May `profile_id` of `account_id` play `title_id` on `device_id`? Read-only:
 * takes no lease. Not allowed is an answer, not an error: the call returns
 * STREAM_OK with `allowed` = 0 and the reason. A device that holds a live
 * lease does not count against the screens.
 * Errors: STREAM_EINVAL (NULL/malformed ids), STREAM_EIO.
 */
STREAM_API int stream_billing_entitlement_check(stream_billing_entitlement *out, stream_billing *b,
                                                const char *account_id, const char *profile_id,
                                                const char *title_id, const char *device_id);

/** A screen lease. */
typedef struct stream_billing_lease {
  char id[STREAM_BILLING_ID_SIZE];
  char account_id[STREAM_BILLING_ID_SIZE];
  char profile_id[STREAM_BILLING_ID_SIZE];
  char title_id[STREAM_BILLING_ID_SIZE];
  char device_id[STREAM_BILLING_DEVICE_SIZE];   /**< printable ASCII, 1..128 */
  char device_name[STREAM_BILLING_DEVICE_SIZE]; /**< shown to users, "" = none */
  int64_t started_at;
  int64_t expires_at; /**< now + lease_ttl at the last heartbeat */
} stream_billing_lease;

/**
 * Take a screen for playback. A device that already holds a live lease of the
 * account gets it back renewed (same id, title updated). Otherwise, when the
 * plan's screens are all held by live leases of other devices, the call fails
 * with STREAM_EBUSY and a message listing the devices in use (names, or ids);
 * `out_in_use` (may be NULL, room for STREAM_BILLING_SCREENS_MAX) and
 * `out_in_use_count` (may be NULL) receive them. The check and the insert are
 * one transaction, so concurrent starts never exceed the plan.
 * Errors: STREAM_EINVAL, STREAM_EFORBIDDEN (not entitled: the reason),
 * STREAM_EBUSY, STREAM_EIO.
 */
STREAM_API int stream_billing_lease_acquire(stream_billing_lease *out,
                                            stream_billing_lease *out_in_use,
                                            size_t *out_in_use_count, stream_billing *b,
                                            const char *account_id, const char *profile_id,
                                            const char *title_id, const char *device_id,
                                            const char *device_name);

/**
 * Renew a lease (heartbeat): expires_at = now + lease_ttl.
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND (unknown, or not the account's),
 * STREAM_EEXPIRED (it lapsed: acquire again), STREAM_EIO.
 */
STREAM_API int stream_billing_lease_heartbeat(stream_billing_lease *out, stream_billing *b,
                                              const char *account_id, const char *lease_id);

/** End a lease now (playback stopped). Errors: STREAM_EINVAL, STREAM_ENOTFOUND. */
STREAM_API int stream_billing_lease_release(stream_billing *b, const char *account_id,
                                            const char *lease_id);

/**
 * The account's live leases, oldest first. `*out` freed with stream_free().
 * Errors: STREAM_EINVAL, STREAM_EIO, STREAM_ENOMEM.
 */
STREAM_API int stream_billing_lease_list(stream_billing_lease **out, size_t *out_count,
                                         stream_billing *b, const char *account_id);

/* ---- names ------------------------------------------------------------ */

/** "trialing", "active", "past_due", "canceled", "expired"; NULL for unknown values. */
STREAM_API const char *stream_billing_status_name(int status);

/** "open", "paid", "void", "uncollectible"; NULL for unknown values. */
STREAM_API const char *stream_billing_invoice_status_name(int status);

/** "ok", "no_subscription", "profile_mismatch", "maturity", "unknown_title", "screens"; NULL
 * otherwise. */
STREAM_API const char *stream_billing_reason_name(int reason);

#ifdef __cplusplus
}
#endif
#endif /* STREAM_BILLING_H */
