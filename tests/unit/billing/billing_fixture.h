/* Shared fixture of the billing tests (see billing_fixture.c). */
#ifndef BILLING_FIXTURE_H
#define BILLING_FIXTURE_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "stream/billing.h"

#define DAY 86400
#define JAN31 1769817600LL /* 2026-01-31T00:00:00Z */
#define FEB28 1772236800LL
#define MAR31 1774915200LL
#define APR30 1777507200LL

extern char dbpath[300]; /* the SQLite path (on PostgreSQL: its database, store_path.h) */
extern stream_store *store;
extern stream_billing_local *local;
extern stream_billing *bill;
extern int64_t clock_now; /* what the billing handles' clock answers */

void fx_setup(void);
void fx_teardown(void); /* checks the books first */
const char *msg(void);  /* the thread's last error message */
stream_billing *open_billing(const stream_billing_provider *prov);
void open_store(void);
void books_ok(void);
void new_account(char *id, const char *email);
void put_plan(const char *id, const char *name, int64_t price, int trial_days, int screens);
void paid_plans(void); /* basic 1000, standard 2000, premium 3100 USD, no trials */
void add_card(stream_billing_card *out, const char *account, const char *token, const char *key);
size_t charges(int64_t *sum); /* the local provider's successful charges */
size_t invoice_count(const char *account);
stream_billing_run_report run(void); /* the renewal job, then the books */
stream_billing_subscription sub_of(const char *account);
/* A new account with a 4242 card subscribed to `plan` (key "sub"). */
void subscribe_paid(char *acct, const char *email, const char *plan);
/* Change plan and return the prorated charge (0 when no invoice). */
int64_t upgrade_charge(const char *acct, const char *plan, const char *key);
/* A provider charge for `lossy.charge` on a copy of the local provider (`ud` is
 * `local`): the charge goes through but the answer is lost (STREAM_EIO), so the
 * payment stays pending until the renewal job settles it with a working one. */
int lost_answer_charge(void *ud, stream_billing_provider_result *out, const char *method,
                       int64_t amount, const char *currency, const char *key);

#endif
