/*
 * SQLite backend, billing: payments (both ends of the two-phase charge),
 * invoices, refunds and the books check. Same transaction discipline as
 * billing.c: each write is one BEGIN IMMEDIATE transaction that re-reads its
 * guards; the books check reads one snapshot.
 */
#include <string.h>

#include "billing_sq.h"

/* ---- payments --------------------------------------------------------------- */

#define PAY_COLS                                                                                   \
  "id, invoice_id, account_id, card_id, method_token, kind, amount, currency, status, "            \
  "provider_key, reference, message, idem_scope, idem_key, created_at"

static void read_payment(void *dst, sqlite3_stmt *st)
{
  store_billing_payment *p = dst;
  memset(p, 0, sizeof *p);
  store__sq_col_copy(p->id, sizeof p->id, st, 0);
  store__sq_col_copy(p->invoice_id, sizeof p->invoice_id, st, 1);
  store__sq_col_copy(p->account_id, sizeof p->account_id, st, 2);
  store__sq_col_copy(p->card_id, sizeof p->card_id, st, 3);
  store__sq_col_copy(p->method_token, sizeof p->method_token, st, 4);
  p->kind = sqlite3_column_int(st, 5);
  p->amount = store__sq_col_i64(st, 6);
  store__sq_col_copy(p->currency, sizeof p->currency, st, 7);
  p->status = sqlite3_column_int(st, 8);
  store__sq_col_copy(p->provider_key, sizeof p->provider_key, st, 9);
  store__sq_col_copy(p->reference, sizeof p->reference, st, 10);
  store__sq_col_copy(p->message, sizeof p->message, st, 11);
  store__sq_col_copy(p->idem_scope, sizeof p->idem_scope, st, 12);
  store__sq_col_copy(p->idem_key, sizeof p->idem_key, st, 13);
  p->created_at = store__sq_col_i64(st, 14);
}

int store__sqb_charge_begin(void *impl, const store_billing_charge *c)
{
  const char *what = "begin charge";
  const store_billing_payment *p = c->payment;
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  /* No invoice or charge for a closed account (a first charge racing the
   * close; a renewal also fails the version check below). Once the payment
   * row exists, the close waits for it to settle (EBUSY), so the settle's
   * subscription insert cannot race it. */
  int rc = store__sq_account_live(db, what, p->account_id);
  if (rc == STREAM_OK && c->require_no_live)
    rc = store__sqb_live_check(db, p->account_id);
  if (rc == STREAM_OK && c->sub_id) {
    sqlite3_stmt *st;
    rc = store__sq_prepare(db, &st, what, "SELECT version FROM subscriptions WHERE id = ?", "t",
                           c->sub_id);
    if (rc == STREAM_OK) {
      int r = store__sq_step(db, st, what);
      int64_t v = r == 1 ? store__sq_col_i64(st, 0) : -1;
      store__sq_release(db, st);
      if (r < 0)
        rc = r;
      else if (v != c->sub_version)
        rc = stream__err(STREAM_ECONFLICT,
                         "subscription %s changed while this request ran; repeat the request",
                         c->sub_id);
    }
  }
  int64_t pending = 0;
  if (rc == STREAM_OK)
    rc = store__sqb_count_query(db, &pending, what,
                                "SELECT count(*) FROM payments WHERE account_id = ? AND status = 0",
                                p->account_id);
  if (rc == STREAM_OK && pending > 0)
    rc = stream__err(STREAM_EBUSY, "another payment of account %s is in progress", p->account_id);
  if (rc == STREAM_OK && c->invoice) {
    const stream_billing_invoice *inv = c->invoice;
    rc = store__sq_exec(db, what, NULL,
                        "INSERT INTO invoices (id, account_id, subscription_id, status, currency, "
                        "total, amount_paid, amount_due, created_at) "
                        "VALUES (?, ?, ?, 0, ?, ?, 0, ?, ?)",
                        "ttttIII", inv->id, inv->account_id, inv->subscription_id, inv->currency,
                        inv->total, inv->total, c->now);
    for (size_t i = 0; i < c->line_count && rc == STREAM_OK; i++) {
      const stream_billing_line *l = &c->lines[i];
      rc = store__sq_exec(db, what, NULL,
                          "INSERT INTO invoice_lines (invoice_id, n, description, plan_id, "
                          "amount, period_start, period_end) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          "tittIII", inv->id, (int)i, l->description, l->plan_id, l->amount,
                          l->period_start, l->period_end);
    }
  }
  if (rc == STREAM_OK)
    rc = store__sq_exec(db, what, NULL,
                        "INSERT INTO payments (" PAY_COLS ") VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, 0, ?, '', '', ?, ?, ?)",
                        "tttttiIttttI", p->id, p->invoice_id, p->account_id, p->card_id,
                        p->method_token, p->kind, p->amount, p->currency, p->provider_key,
                        p->idem_scope, p->idem_key, c->now);
  if (rc == STREAM_EEXIST)
    rc = stream__err(STREAM_EBUSY, "another payment of account %s is in progress", p->account_id);
  if (rc == STREAM_OK)
    rc = store__sqb_idem_insert(db, c->idem, c->now);
  return store__sq_wend(impl, db, rc);
}

int store__sqb_charge_settle(void *impl, const store_billing_settle *s)
{
  const char *what = "settle payment";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  sqlite3_stmt *st;
  store_billing_payment p;
  int rc = store__sq_prepare(db, &st, what, "SELECT " PAY_COLS " FROM payments WHERE id = ?", "t",
                             s->payment_id);
  if (rc == STREAM_OK)
    rc = store__sqb_get_one(db, &p, read_payment, what, "no such payment", st);
  if (rc == STREAM_OK && p.status != STORE_PAY_PENDING)
    rc = stream__err(STREAM_ECONFLICT, "payment %s is already settled", p.id);
  if (rc == STREAM_OK)
    rc = store__sq_exec(db, what, NULL,
                        "UPDATE payments SET status = ?, reference = ?, message = ?, "
                        "settled_at = ? WHERE id = ?",
                        "ittIt", s->status, s->reference ? s->reference : "",
                        s->message ? s->message : "", s->now, p.id);
  if (rc == STREAM_OK && s->status == STORE_PAY_SUCCEEDED) {
    int n = 0;
    rc = store__sq_exec(db, what, &n,
                        "UPDATE invoices SET amount_paid = amount_paid + ?1, "
                        "amount_due = amount_due - ?1, "
                        "status = CASE WHEN amount_due - ?1 = 0 THEN 1 ELSE status END, "
                        "paid_at = CASE WHEN amount_due - ?1 = 0 THEN ?2 ELSE paid_at END "
                        "WHERE id = ?3 AND status = 0 AND amount_due >= ?1",
                        "IIt", p.amount, s->now, p.invoice_id);
    if (rc == STREAM_OK && n == 0)
      rc = stream__err(STREAM_EINTERNAL, "invoice %s is not open for a payment of %lld",
                       p.invoice_id, (long long)p.amount);
  } else if (rc == STREAM_OK && s->void_invoice) {
    rc = store__sqb_close_invoice(db, p.invoice_id, STREAM_BILLING_INVOICE_VOID);
  }
  if (rc == STREAM_OK && s->sub_insert)
    rc = store__sqb_sub_insert(db, s->sub_insert);
  if (rc == STREAM_OK && s->sub_update)
    rc = store__sqb_sub_update(db, s->sub_update);
  if (rc == STREAM_OK)
    rc = store__sqb_idem_finish(db, p.idem_scope, p.idem_key, s->idem_code, s->idem_response);
  return store__sq_wend(impl, db, rc);
}

int store__sqb_payment_get(void *impl, store_billing_payment *out, const char *id)
{
  const char *what = "get payment";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  int rc =
      store__sq_prepare(db, &st, what, "SELECT " PAY_COLS " FROM payments WHERE id = ?", "t", id);
  if (rc == STREAM_OK)
    rc = store__sqb_get_one(db, out, read_payment, what, "no such payment", st);
  store__sq_rrelease(impl, db);
  return rc;
}

int store__sqb_payment_pending(void *impl, store_billing_payment **out, size_t *out_count,
                               const char *account_id)
{
  const char *what = "list pending payments";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  int rc = account_id ? store__sq_prepare(db, &st, what,
                                          "SELECT " PAY_COLS " FROM payments WHERE status = 0 "
                                          "AND account_id = ? ORDER BY created_at, rowid",
                                          "t", account_id)
                      : store__sq_prepare(db, &st, what,
                                          "SELECT " PAY_COLS " FROM payments WHERE status = 0 "
                                          "ORDER BY created_at, rowid",
                                          "");
  if (rc == STREAM_OK)
    rc = store__sqb_get_all(db, (void **)out, out_count, sizeof **out, read_payment, what, st);
  store__sq_rrelease(impl, db);
  return rc;
}

/* ---- invoices --------------------------------------------------------------- */

#define INV_COLS                                                                                   \
  "id, account_id, subscription_id, status, currency, total, amount_paid, amount_due, "            \
  "amount_refunded, created_at, paid_at"

static void read_invoice(void *dst, sqlite3_stmt *st)
{
  stream_billing_invoice *v = dst;
  memset(v, 0, sizeof *v);
  store__sq_col_copy(v->id, sizeof v->id, st, 0);
  store__sq_col_copy(v->account_id, sizeof v->account_id, st, 1);
  store__sq_col_copy(v->subscription_id, sizeof v->subscription_id, st, 2);
  v->status = sqlite3_column_int(st, 3);
  store__sq_col_copy(v->currency, sizeof v->currency, st, 4);
  v->total = store__sq_col_i64(st, 5);
  v->amount_paid = store__sq_col_i64(st, 6);
  v->amount_due = store__sq_col_i64(st, 7);
  v->amount_refunded = store__sq_col_i64(st, 8);
  v->created_at = store__sq_col_i64(st, 9);
  v->paid_at = store__sq_col_i64(st, 10);
}

static void read_line(void *dst, sqlite3_stmt *st)
{
  stream_billing_line *l = dst;
  memset(l, 0, sizeof *l);
  store__sq_col_copy(l->description, sizeof l->description, st, 0);
  store__sq_col_copy(l->plan_id, sizeof l->plan_id, st, 1);
  l->amount = store__sq_col_i64(st, 2);
  l->period_start = store__sq_col_i64(st, 3);
  l->period_end = store__sq_col_i64(st, 4);
}

int store__sqb_invoice_get(void *impl, stream_billing_invoice *out, const char *id)
{
  const char *what = "get invoice";
  sq_conn *db = store__sq_racquire(impl);
  int rc = store__sq_rbegin(db);
  sqlite3_stmt *st;
  if (rc == STREAM_OK) {
    rc =
        store__sq_prepare(db, &st, what, "SELECT " INV_COLS " FROM invoices WHERE id = ?", "t", id);
    if (rc == STREAM_OK)
      rc = store__sqb_get_one(db, out, read_invoice, what, "no such invoice", st);
    if (rc == STREAM_ENOTFOUND)
      stream__err(rc, "no invoice with id %s", id);
    if (rc == STREAM_OK)
      rc = store__sq_prepare(db, &st, what,
                             "SELECT description, plan_id, amount, period_start, period_end "
                             "FROM invoice_lines WHERE invoice_id = ? ORDER BY n",
                             "t", id);
    if (rc == STREAM_OK)
      rc = store__sqb_get_all(db, (void **)&out->lines, &out->line_count, sizeof *out->lines,
                              read_line, what, st);
    store__sq_rend(db);
  }
  store__sq_rrelease(impl, db);
  return rc;
}

int store__sqb_invoice_list(void *impl, stream_billing_invoice **out, size_t *out_count,
                            const char *account_id, unsigned int limit)
{
  const char *what = "list invoices";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  int rc = store__sq_prepare(db, &st, what,
                             "SELECT " INV_COLS " FROM invoices WHERE account_id = ? "
                             "ORDER BY created_at DESC, rowid DESC LIMIT ?",
                             "ti", account_id, (int)limit);
  if (rc == STREAM_OK)
    rc = store__sqb_get_all(db, (void **)out, out_count, sizeof **out, read_invoice, what, st);
  store__sq_rrelease(impl, db);
  return rc;
}

int store__sqb_invoice_payment(void *impl, store_billing_payment *out, const char *invoice_id)
{
  const char *what = "get invoice payment";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  int rc = store__sq_prepare(db, &st, what,
                             "SELECT " PAY_COLS " FROM payments WHERE invoice_id = ? AND "
                             "status = 1",
                             "t", invoice_id);
  if (rc == STREAM_OK)
    rc = store__sqb_get_one(db, out, read_payment, what, "no payment", st);
  if (rc == STREAM_ENOTFOUND)
    stream__err(rc, "invoice %s has no successful payment", invoice_id);
  store__sq_rrelease(impl, db);
  return rc;
}

/* ---- refunds ---------------------------------------------------------------- */

#define REFUND_COLS                                                                                \
  "id, invoice_id, payment_id, amount, status, provider_key, reference, message, idem_scope, "     \
  "idem_key, created_at"

static void read_refund(void *dst, sqlite3_stmt *st)
{
  store_billing_refund *r = dst;
  memset(r, 0, sizeof *r);
  store__sq_col_copy(r->id, sizeof r->id, st, 0);
  store__sq_col_copy(r->invoice_id, sizeof r->invoice_id, st, 1);
  store__sq_col_copy(r->payment_id, sizeof r->payment_id, st, 2);
  r->amount = store__sq_col_i64(st, 3);
  r->status = sqlite3_column_int(st, 4);
  store__sq_col_copy(r->provider_key, sizeof r->provider_key, st, 5);
  store__sq_col_copy(r->reference, sizeof r->reference, st, 6);
  store__sq_col_copy(r->message, sizeof r->message, st, 7);
  store__sq_col_copy(r->idem_scope, sizeof r->idem_scope, st, 8);
  store__sq_col_copy(r->idem_key, sizeof r->idem_key, st, 9);
  r->created_at = store__sq_col_i64(st, 10);
}

int store__sqb_refund_begin(void *impl, const store_billing_refund *r,
                            const store_billing_idem *idem)
{
  const char *what = "begin refund";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  sqlite3_stmt *st;
  int rc = store__sq_prepare(db, &st, what,
                             "SELECT amount_paid - amount_refunded, (SELECT count(*) FROM refunds "
                             "WHERE invoice_id = ?1 AND status = 0) FROM invoices WHERE id = ?1",
                             "t", r->invoice_id);
  if (rc == STREAM_OK) {
    int s = store__sq_step(db, st, what);
    int64_t left = s == 1 ? store__sq_col_i64(st, 0) : 0;
    int64_t pending = s == 1 ? store__sq_col_i64(st, 1) : 0;
    store__sq_release(db, st);
    if (s < 0)
      rc = s;
    else if (s == 0)
      rc = stream__err(STREAM_ENOTFOUND, "no invoice with id %s", r->invoice_id);
    else if (pending > 0)
      rc = stream__err(STREAM_EBUSY, "another refund of invoice %s is in progress", r->invoice_id);
    else if (r->amount > left)
      rc = stream__err(STREAM_EINVAL, "refund of %lld exceeds the %lld left to refund",
                       (long long)r->amount, (long long)left);
  }
  if (rc == STREAM_OK)
    rc = store__sq_exec(db, what, NULL,
                        "INSERT INTO refunds (" REFUND_COLS ") VALUES "
                        "(?, ?, ?, ?, 0, ?, '', '', ?, ?, ?)",
                        "tttItttI", r->id, r->invoice_id, r->payment_id, r->amount, r->provider_key,
                        r->idem_scope, r->idem_key, r->created_at);
  if (rc == STREAM_OK)
    rc = store__sqb_idem_insert(db, idem, r->created_at);
  return store__sq_wend(impl, db, rc);
}

int store__sqb_refund_settle(void *impl, const char *refund_id, int status, const char *reference,
                             const char *message, int idem_code, const char *idem_response,
                             int64_t now)
{
  const char *what = "settle refund";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  sqlite3_stmt *st;
  store_billing_refund r;
  int rc = store__sq_prepare(db, &st, what, "SELECT " REFUND_COLS " FROM refunds WHERE id = ?", "t",
                             refund_id);
  if (rc == STREAM_OK)
    rc = store__sqb_get_one(db, &r, read_refund, what, "no such refund", st);
  if (rc == STREAM_OK && r.status != STORE_PAY_PENDING)
    rc = stream__err(STREAM_ECONFLICT, "refund %s is already settled", r.id);
  if (rc == STREAM_OK)
    rc = store__sq_exec(db, what, NULL,
                        "UPDATE refunds SET status = ?, reference = ?, message = ?, "
                        "settled_at = ? WHERE id = ?",
                        "ittIt", status, reference ? reference : "", message ? message : "", now,
                        r.id);
  if (rc == STREAM_OK && status == STORE_PAY_SUCCEEDED)
    rc = store__sq_exec(db, what, NULL,
                        "UPDATE invoices SET amount_refunded = amount_refunded + ? WHERE id = ?",
                        "It", r.amount, r.invoice_id);
  if (rc == STREAM_OK)
    rc = store__sqb_idem_finish(db, r.idem_scope, r.idem_key, idem_code, idem_response);
  return store__sq_wend(impl, db, rc);
}

int store__sqb_refund_pending(void *impl, store_billing_refund **out, size_t *out_count)
{
  const char *what = "list pending refunds";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  int rc = store__sq_prepare(db, &st, what,
                             "SELECT " REFUND_COLS " FROM refunds WHERE status = 0 "
                             "ORDER BY created_at, rowid",
                             "");
  if (rc == STREAM_OK)
    rc = store__sqb_get_all(db, (void **)out, out_count, sizeof **out, read_refund, what, st);
  store__sq_rrelease(impl, db);
  return rc;
}

/* ---- books check ------------------------------------------------------------ */

/* Each query returns the first offending (id, a, b), if any. */
static const struct {
  const char *sql;
  const char *fmt; /* id, a, b */
} checks[] = {
    {"SELECT i.id, i.total, (SELECT coalesce(sum(amount), 0) FROM invoice_lines l "
     "WHERE l.invoice_id = i.id) AS s FROM invoices i WHERE i.total <> s LIMIT 1",
     "invoice %s: total %lld differs from the sum of its lines %lld"},
    {"SELECT id, amount_paid + amount_due, total FROM invoices WHERE "
     "(status IN (0, 1) AND amount_paid + amount_due <> total) OR "
     "(status IN (2, 3) AND amount_due <> 0) OR (status = 1 AND amount_due <> 0) OR "
     "(status = 0 AND amount_due = 0) LIMIT 1",
     "invoice %s: paid + due = %lld does not balance its total %lld"},
    {"SELECT i.id, i.amount_paid, (SELECT coalesce(sum(amount), 0) FROM payments p "
     "WHERE p.invoice_id = i.id AND p.status = 1) AS s FROM invoices i "
     "WHERE i.amount_paid <> s LIMIT 1",
     "invoice %s: amount paid %lld differs from its succeeded payments %lld"},
    {"SELECT i.id, i.amount_refunded, (SELECT coalesce(sum(amount), 0) FROM refunds r "
     "WHERE r.invoice_id = i.id AND r.status = 1) AS s FROM invoices i "
     "WHERE i.amount_refunded <> s OR i.amount_refunded > i.amount_paid LIMIT 1",
     "invoice %s: amount refunded %lld differs from its refunds %lld or exceeds what was paid"},
    {"SELECT id, created_at, ?1 FROM payments WHERE status = 0 AND created_at < ?1 LIMIT 1",
     "payment %s: pending since %lld, before %lld"},
    {"SELECT id, created_at, ?1 FROM refunds WHERE status = 0 AND created_at < ?1 LIMIT 1",
     "refund %s: pending since %lld, before %lld"},
    {"SELECT account_id, count(*), 1 FROM subscriptions WHERE status IN (0, 1, 2) "
     "GROUP BY account_id HAVING count(*) > 1 LIMIT 1",
     "account %s: %lld live subscriptions, at most %lld allowed"},
};

int store__sqb_books_check(void *impl, size_t *out_invoices, int64_t pending_before)
{
  const char *what = "check the books";
  sq_conn *db = store__sq_racquire(impl);
  int rc = store__sq_rbegin(db);
  if (rc != STREAM_OK) {
    store__sq_rrelease(impl, db);
    return rc;
  }
  for (size_t i = 0; i < sizeof checks / sizeof *checks && rc == STREAM_OK; i++) {
    sqlite3_stmt *st;
    bool with_time = strstr(checks[i].sql, "?1") != NULL;
    rc = with_time ? store__sq_prepare(db, &st, what, checks[i].sql, "I", pending_before)
                   : store__sq_prepare(db, &st, what, checks[i].sql, "");
    if (rc != STREAM_OK)
      break;
    int r = store__sq_step(db, st, what);
    if (r == 1) {
      char id[STREAM_BILLING_ID_SIZE];
      store__sq_col_copy(id, sizeof id, st, 0);
      rc = stream__err(STREAM_EINTERNAL, checks[i].fmt, id, (long long)store__sq_col_i64(st, 1),
                       (long long)store__sq_col_i64(st, 2));
    } else if (r < 0) {
      rc = r;
    }
    store__sq_release(db, st);
  }
  int64_t n = 0;
  if (rc == STREAM_OK) {
    sqlite3_stmt *st;
    rc = store__sq_prepare(db, &st, what, "SELECT count(*) FROM invoices", "");
    if (rc == STREAM_OK) {
      int r = store__sq_step(db, st, what);
      n = r == 1 ? store__sq_col_i64(st, 0) : 0;
      if (r < 0)
        rc = r;
      store__sq_release(db, st);
    }
  }
  store__sq_rend(db);
  store__sq_rrelease(impl, db);
  if (rc == STREAM_OK && out_invoices)
    *out_invoices = (size_t)n;
  return rc;
}
