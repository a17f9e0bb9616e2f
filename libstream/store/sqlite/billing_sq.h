/*
 * SQLite backend, billing: what billing.c (plans, idempotency, cards,
 * subscriptions, the ops table) and billing_payments.c (payments, invoices,
 * refunds, books check) share. Internal to the SQLite backend.
 */
#ifndef STREAM_STORE_SQLITE_BILLING_SQ_H
#define STREAM_STORE_SQLITE_BILLING_SQ_H

#include "../store_billing.h"
#include "sqlite_internal.h"

/* Fills one struct from the current row. */
typedef void (*store__sqb_row_fn)(void *dst, sqlite3_stmt *st);

/* One row into `dst` (STREAM_ENOTFOUND with `nf` when none); all rows into a
 * growing array (free()). Both release `st`. */
int store__sqb_get_one(sq_conn *db, void *dst, store__sqb_row_fn read, const char *what,
                       const char *nf, sqlite3_stmt *st);
int store__sqb_get_all(sq_conn *db, void **out, size_t *out_count, size_t elem,
                       store__sqb_row_fn read, const char *what, sqlite3_stmt *st);
/* count(*)-style query with one text argument. */
int store__sqb_count_query(sq_conn *db, int64_t *out, const char *what, const char *sql,
                           const char *arg);
/* The idempotency row of a request (NULL: none), and its outcome (NULL
 * response: nothing to write). */
int store__sqb_idem_insert(sq_conn *db, const store_billing_idem *rec, int64_t now);
int store__sqb_idem_finish(sq_conn *db, const char *scope, const char *key, int code,
                           const char *response);
/* STREAM_ECONFLICT when the account has a live subscription. */
int store__sqb_live_check(sq_conn *db, const char *account_id);
/* Insert / compare-and-set update of a subscription (STREAM_ECONFLICT). */
int store__sqb_sub_insert(sq_conn *db, const store_billing_sub *s);
int store__sqb_sub_update(sq_conn *db, const store_billing_sub *s);
/* Make an open invoice void or uncollectible (amount due 0). */
int store__sqb_close_invoice(sq_conn *db, const char *invoice_id, int status);

/* billing_payments.c */
int store__sqb_charge_begin(void *impl, const store_billing_charge *c);
int store__sqb_charge_settle(void *impl, const store_billing_settle *s);
int store__sqb_payment_get(void *impl, store_billing_payment *out, const char *id);
int store__sqb_payment_pending(void *impl, store_billing_payment **out, size_t *out_count,
                               const char *account_id);
int store__sqb_invoice_get(void *impl, stream_billing_invoice *out, const char *id);
int store__sqb_invoice_list(void *impl, stream_billing_invoice **out, size_t *out_count,
                            const char *account_id, unsigned int limit);
int store__sqb_invoice_payment(void *impl, store_billing_payment *out, const char *invoice_id);
int store__sqb_refund_begin(void *impl, const store_billing_refund *r,
                            const store_billing_idem *idem);
int store__sqb_refund_settle(void *impl, const char *refund_id, int status, const char *reference,
                             const char *message, int idem_code, const char *idem_response,
                             int64_t now);
int store__sqb_refund_pending(void *impl, store_billing_refund **out, size_t *out_count);
int store__sqb_books_check(void *impl, size_t *out_invoices, int64_t pending_before);

#endif
