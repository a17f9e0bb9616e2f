/*
 * PostgreSQL backend, billing: what billing.c (plans, idempotency, cards,
 * subscriptions, the ops table) and billing_payments.c (payments, invoices,
 * refunds, books check) share. Internal to the PostgreSQL backend; mirrors
 * sqlite/billing_sq.h name for name (store__sqb_X is store__pgb_X).
 */
#ifndef STREAM_STORE_PG_BILLING_PG_H
#define STREAM_STORE_PG_BILLING_PG_H

#include "../store_billing.h"
#include "pg_internal.h"

/* Fills one struct from the current row. */
typedef void (*store__pgb_row_fn)(void *dst, const pg_stmt *st);

/* One row into `dst` (STREAM_ENOTFOUND with `nf` when none); all rows into a
 * growing array (free()). Both release `st`. */
int store__pgb_get_one(pg_conn *db, void *dst, store__pgb_row_fn read, const char *what,
                       const char *nf, pg_stmt *st);
int store__pgb_get_all(pg_conn *db, void **out, size_t *out_count, size_t elem,
                       store__pgb_row_fn read, const char *what, pg_stmt *st);
/* count(*)-style query with one text argument. */
int store__pgb_count_query(pg_conn *db, int64_t *out, const char *what, const char *sql,
                           const char *arg);
/* The idempotency row of a request (NULL: none), and its outcome (NULL
 * response: nothing to write). */
int store__pgb_idem_insert(pg_conn *db, const store_billing_idem *rec, int64_t now);
int store__pgb_idem_finish(pg_conn *db, const char *scope, const char *key, int code,
                           const char *response);
/* STREAM_ECONFLICT when the account has a live subscription. */
int store__pgb_live_check(pg_conn *db, const char *account_id);
/* Insert / compare-and-set update of a subscription (STREAM_ECONFLICT). */
int store__pgb_sub_insert(pg_conn *db, const store_billing_sub *s);
int store__pgb_sub_update(pg_conn *db, const store_billing_sub *s);
/* Make an open invoice void or uncollectible (amount due 0). */
int store__pgb_close_invoice(pg_conn *db, const char *invoice_id, int status);

/* billing_payments.c */
int store__pgb_charge_begin(void *impl, const store_billing_charge *c);
int store__pgb_charge_settle(void *impl, const store_billing_settle *s);
int store__pgb_payment_get(void *impl, store_billing_payment *out, const char *id);
int store__pgb_payment_pending(void *impl, store_billing_payment **out, size_t *out_count,
                               const char *account_id);
int store__pgb_invoice_get(void *impl, stream_billing_invoice *out, const char *id);
int store__pgb_invoice_list(void *impl, stream_billing_invoice **out, size_t *out_count,
                            const char *account_id, unsigned int limit);
int store__pgb_invoice_payment(void *impl, store_billing_payment *out, const char *invoice_id);
int store__pgb_refund_begin(void *impl, const store_billing_refund *r,
                            const store_billing_idem *idem);
int store__pgb_refund_settle(void *impl, const char *refund_id, int status, const char *reference,
                             const char *message, int idem_code, const char *idem_response,
                             int64_t now);
int store__pgb_refund_pending(void *impl, store_billing_refund **out, size_t *out_count);
int store__pgb_books_check(void *impl, size_t *out_invoices, int64_t pending_before);

#endif
