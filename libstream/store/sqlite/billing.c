/*
 * SQLite backend: billing (plans, cards, subscriptions, invoices, payments,
 * refunds, idempotency keys). Every write is one BEGIN IMMEDIATE
 * transaction: the guards (no live subscription, no other pending payment,
 * the subscription's version) are read inside it, so they hold until the
 * commit; the schema's constraints (migrations/billing.c) are the net under
 * them. Payments, invoices, refunds and the books check are in
 * billing_payments.c.
 */
#include <stdlib.h>
#include <string.h>

#include "../store_billing.h"
#include "billing_sq.h"

/* Collect rows of fixed-size structs into a growing array. */
static int grow(void **arr, size_t *cap, size_t count, size_t elem)
{
  if (count < *cap)
    return STREAM_OK;
  size_t ncap = *cap ? *cap * 2 : 8;
  void *p = realloc(*arr, ncap * elem);
  if (!p)
    return stream__err(STREAM_ENOMEM, "out of memory collecting rows");
  *arr = p;
  *cap = ncap;
  return STREAM_OK;
}

/* ---- plans ------------------------------------------------------------------ */

#define PLAN_COLS                                                                                  \
  "id, name, price, currency, period_months, trial_days, screens, max_height, active"

static void read_plan(void *dst, sqlite3_stmt *st)
{
  stream_billing_plan *p = dst;
  memset(p, 0, sizeof *p);
  store__sq_col_copy(p->id, sizeof p->id, st, 0);
  store__sq_col_copy(p->name, sizeof p->name, st, 1);
  p->price = store__sq_col_i64(st, 2);
  store__sq_col_copy(p->currency, sizeof p->currency, st, 3);
  p->period_months = sqlite3_column_int(st, 4);
  p->trial_days = sqlite3_column_int(st, 5);
  p->screens = sqlite3_column_int(st, 6);
  p->max_height = sqlite3_column_int(st, 7);
  p->active = sqlite3_column_int(st, 8);
}

static int plan_write(sq_conn *db, const stream_billing_plan *p, int64_t now, bool replace)
{
  return store__sq_exec(db, "save plan", NULL,
                        replace ? "INSERT INTO plans (" PLAN_COLS ", updated_at) VALUES "
                                  "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                                  "name = excluded.name, price = excluded.price, "
                                  "currency = excluded.currency, "
                                  "period_months = excluded.period_months, "
                                  "trial_days = excluded.trial_days, screens = excluded.screens, "
                                  "max_height = excluded.max_height, active = excluded.active, "
                                  "updated_at = excluded.updated_at"
                                : "INSERT INTO plans (" PLAN_COLS ", updated_at) VALUES "
                                  "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                        "ttItiiiiiI", p->id, p->name, p->price, p->currency, p->period_months,
                        p->trial_days, p->screens, p->max_height, p->active, now);
}

static int b_plan_put(void *impl, const stream_billing_plan *p, int64_t now)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  return store__sq_wend(impl, db, plan_write(db, p, now, true));
}

static int b_plan_seed(void *impl, size_t *out_added, const stream_billing_plan *plans, size_t n,
                       int64_t now)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int rc = STREAM_OK;
  size_t added = 0;
  for (size_t i = 0; i < n && rc == STREAM_OK; i++) {
    rc = plan_write(db, &plans[i], now, false);
    if (rc == STREAM_OK && sqlite3_changes(db->h) > 0)
      added++;
  }
  rc = store__sq_wend(impl, db, rc);
  if (rc == STREAM_OK && out_added)
    *out_added = added;
  return rc;
}

/* One row into `dst` through `read`; ENOTFOUND with `nf` when none. */
int store__sqb_get_one(sq_conn *db, void *dst, store__sqb_row_fn read, const char *what,
                       const char *nf, sqlite3_stmt *st)
{
  int r = store__sq_step(db, st, what);
  int rc = STREAM_OK;
  if (r == 1)
    read(dst, st);
  else
    rc = r < 0 ? r : stream__err(STREAM_ENOTFOUND, "%s", nf);
  store__sq_release(db, st);
  return rc;
}

/* All rows into a growing array. */
int store__sqb_get_all(sq_conn *db, void **out, size_t *out_count, size_t elem,
                       store__sqb_row_fn read, const char *what, sqlite3_stmt *st)
{
  void *arr = NULL;
  size_t n = 0, cap = 0;
  int rc = STREAM_OK, r = 0;
  while (rc == STREAM_OK && (r = store__sq_step(db, st, what)) == 1) {
    rc = grow(&arr, &cap, n, elem);
    if (rc == STREAM_OK)
      read((char *)arr + n++ * elem, st);
  }
  if (rc == STREAM_OK && r < 0)
    rc = r;
  store__sq_release(db, st);
  if (rc != STREAM_OK) {
    free(arr);
    return rc;
  }
  *out = arr;
  *out_count = n;
  return STREAM_OK;
}

static int b_plan_get(void *impl, stream_billing_plan *out, const char *id)
{
  const char *what = "get plan";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  int rc =
      store__sq_prepare(db, &st, what, "SELECT " PLAN_COLS " FROM plans WHERE id = ?", "t", id);
  if (rc == STREAM_OK)
    rc = store__sqb_get_one(db, out, read_plan, what, "no such plan", st);
  if (rc == STREAM_ENOTFOUND)
    stream__err(rc, "no plan with id %s", id);
  store__sq_rrelease(impl, db);
  return rc;
}

static int b_plan_list(void *impl, stream_billing_plan **out, size_t *out_count, bool active_only)
{
  const char *what = "list plans";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  int rc = store__sq_prepare(db, &st, what,
                             "SELECT " PLAN_COLS " FROM plans WHERE active = 1 OR ? = 0 "
                             "ORDER BY price, id",
                             "i", active_only ? 1 : 0);
  if (rc == STREAM_OK)
    rc = store__sqb_get_all(db, (void **)out, out_count, sizeof **out, read_plan, what, st);
  store__sq_rrelease(impl, db);
  return rc;
}

/* ---- idempotency ------------------------------------------------------------ */

int store__sqb_idem_insert(sq_conn *db, const store_billing_idem *rec, int64_t now)
{
  if (!rec)
    return STREAM_OK;
  int rc = store__sq_exec(db, "record idempotency key", NULL,
                          "INSERT INTO idempotency_keys (scope, key, request_hash, code, response, "
                          "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                          "tttitI", rec->scope, rec->key, rec->hash, rec->code, rec->response, now);
  if (rc == STREAM_EEXIST)
    rc = stream__err(STREAM_ECONFLICT,
                     "idempotency key already used by a concurrent request; retry to get its "
                     "result");
  return rc;
}

int store__sqb_idem_finish(sq_conn *db, const char *scope, const char *key, int code,
                           const char *response)
{
  if (!scope || !scope[0] || !key || !key[0] || !response)
    return STREAM_OK;
  return store__sq_exec(db, "record idempotent result", NULL,
                        "UPDATE idempotency_keys SET code = ?, response = ? "
                        "WHERE scope = ? AND key = ?",
                        "ittt", code, response, scope, key);
}

static int b_idem_get(void *impl, store_billing_idem_row *out, const char *scope, const char *key)
{
  const char *what = "read idempotency key";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  memset(out, 0, sizeof *out);
  int rc = store__sq_prepare(db, &st, what,
                             "SELECT request_hash, code, response, created_at FROM "
                             "idempotency_keys WHERE scope = ? AND key = ?",
                             "tt", scope, key);
  if (rc == STREAM_OK) {
    int r = store__sq_step(db, st, what);
    if (r == 1) {
      store__sq_col_copy(out->hash, sizeof out->hash, st, 0);
      out->code = sqlite3_column_int(st, 1);
      rc = store__sq_col_dup(&out->response, st, 2);
      out->created_at = store__sq_col_i64(st, 3);
    } else {
      rc = r < 0 ? r : STREAM_ENOTFOUND; /* an answer, not an error: no message */
    }
    store__sq_release(db, st);
  }
  store__sq_rrelease(impl, db);
  return rc;
}

static int b_idem_put(void *impl, const store_billing_idem *rec, int64_t now)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  return store__sq_wend(impl, db, store__sqb_idem_insert(db, rec, now));
}

/* ---- cards ------------------------------------------------------------------ */

#define CARD_COLS "id, account_id, brand, last4, exp_month, exp_year, is_default, created_at"

static void read_card(void *dst, sqlite3_stmt *st)
{
  stream_billing_card *c = dst;
  memset(c, 0, sizeof *c);
  store__sq_col_copy(c->id, sizeof c->id, st, 0);
  store__sq_col_copy(c->account_id, sizeof c->account_id, st, 1);
  store__sq_col_copy(c->brand, sizeof c->brand, st, 2);
  store__sq_col_copy(c->last4, sizeof c->last4, st, 3);
  c->exp_month = sqlite3_column_int(st, 4);
  c->exp_year = sqlite3_column_int(st, 5);
  c->is_default = sqlite3_column_int(st, 6);
  c->created_at = store__sq_col_i64(st, 7);
}

int store__sqb_count_query(sq_conn *db, int64_t *out, const char *what, const char *sql,
                           const char *arg)
{
  sqlite3_stmt *st;
  SQ_TRY(store__sq_prepare(db, &st, what, sql, "t", arg));
  int r = store__sq_step(db, st, what);
  *out = r == 1 ? store__sq_col_i64(st, 0) : 0;
  store__sq_release(db, st);
  return r < 0 ? r : STREAM_OK;
}

static int b_card_add(void *impl, stream_billing_card *io, const char *method_token,
                      const store_billing_idem *idem)
{
  const char *what = "add card";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int64_t have = 0;
  int rc = store__sq_account_live(db, what, io->account_id);
  if (rc == STREAM_OK)
    rc = store__sqb_count_query(db, &have, what, "SELECT count(*) FROM cards WHERE account_id = ?",
                                io->account_id);
  if (rc == STREAM_OK) {
    io->is_default = have == 0;
    rc = store__sq_exec(db, what, NULL,
                        "INSERT INTO cards (" CARD_COLS ", method_token) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        "ttttiiiIt", io->id, io->account_id, io->brand, io->last4, io->exp_month,
                        io->exp_year, io->is_default, io->created_at, method_token);
  }
  if (rc == STREAM_OK)
    rc = store__sqb_idem_insert(db, idem, io->created_at);
  return store__sq_wend(impl, db, rc);
}

static int b_card_list(void *impl, stream_billing_card **out, size_t *out_count,
                       const char *account_id)
{
  const char *what = "list cards";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  int rc = store__sq_prepare(db, &st, what,
                             "SELECT " CARD_COLS " FROM cards WHERE account_id = ? "
                             "ORDER BY is_default DESC, created_at, rowid",
                             "t", account_id);
  if (rc == STREAM_OK)
    rc = store__sqb_get_all(db, (void **)out, out_count, sizeof **out, read_card, what, st);
  store__sq_rrelease(impl, db);
  return rc;
}

static int b_card_get(void *impl, stream_billing_card *out, char *out_token, const char *account_id,
                      const char *card_id)
{
  const char *what = "get card";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  bool by_default = !card_id || !card_id[0];
  int rc =
      store__sq_prepare(db, &st, what,
                        "SELECT " CARD_COLS ", method_token FROM cards WHERE account_id = ? AND "
                        "(id = ? OR (? = 1 AND is_default = 1))",
                        "tti", account_id, by_default ? "" : card_id, by_default ? 1 : 0);
  if (rc == STREAM_OK) {
    int r = store__sq_step(db, st, what);
    if (r == 1) {
      read_card(out, st);
      if (out_token)
        store__sq_col_copy(out_token, STORE_BILLING_TOKEN_SIZE, st, 8);
    } else if (r < 0) {
      rc = r;
    } else if (by_default) {
      rc = stream__err(STREAM_ENOTFOUND, "account %s has no payment method", account_id);
    } else {
      rc =
          stream__err(STREAM_ENOTFOUND, "account %s has no payment method %s", account_id, card_id);
    }
    store__sq_release(db, st);
  }
  store__sq_rrelease(impl, db);
  return rc;
}

static int b_card_set_default(void *impl, const char *account_id, const char *card_id)
{
  const char *what = "set default card";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int64_t have = 0;
  int rc =
      store__sqb_count_query(db, &have, what, "SELECT count(*) FROM cards WHERE id = ?", card_id);
  if (rc == STREAM_OK) {
    sqlite3_stmt *st;
    rc = store__sq_prepare(db, &st, what, "SELECT 1 FROM cards WHERE id = ? AND account_id = ?",
                           "tt", card_id, account_id);
    if (rc == STREAM_OK) {
      int r = store__sq_step(db, st, what);
      store__sq_release(db, st);
      if (r == 0)
        rc = stream__err(STREAM_ENOTFOUND, "account %s has no payment method %s", account_id,
                         card_id);
      else if (r < 0)
        rc = r;
    }
  }
  if (rc == STREAM_OK)
    rc = store__sq_exec(db, what, NULL,
                        "UPDATE cards SET is_default = 0 WHERE account_id = ? AND is_default = 1",
                        "t", account_id);
  if (rc == STREAM_OK)
    rc = store__sq_exec(db, what, NULL, "UPDATE cards SET is_default = 1 WHERE id = ?", "t",
                        card_id);
  return store__sq_wend(impl, db, rc);
}

static int b_card_remove(void *impl, const char *account_id, const char *card_id)
{
  const char *what = "remove card";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  sqlite3_stmt *st;
  int is_default = 0;
  int rc = store__sq_prepare(db, &st, what,
                             "SELECT is_default FROM cards WHERE id = ? AND account_id = ?", "tt",
                             card_id, account_id);
  if (rc == STREAM_OK) {
    int r = store__sq_step(db, st, what);
    if (r == 1)
      is_default = sqlite3_column_int(st, 0);
    store__sq_release(db, st);
    if (r == 0)
      rc =
          stream__err(STREAM_ENOTFOUND, "account %s has no payment method %s", account_id, card_id);
    else if (r < 0)
      rc = r;
  }
  int64_t cards = 0, live = 0;
  if (rc == STREAM_OK)
    rc = store__sqb_count_query(db, &cards, what, "SELECT count(*) FROM cards WHERE account_id = ?",
                                account_id);
  if (rc == STREAM_OK)
    rc = store__sqb_count_query(
        db, &live, what,
        "SELECT count(*) FROM subscriptions s JOIN plans p ON p.id = s.plan_id "
        "WHERE s.account_id = ? AND s.status IN (0, 1, 2) AND p.price > 0",
        account_id);
  if (rc == STREAM_OK && is_default && cards == 1 && live > 0)
    rc = stream__err(STREAM_ECONFLICT,
                     "the only payment method of an account with a live paid subscription "
                     "cannot be removed; add another one first");
  if (rc == STREAM_OK)
    rc = store__sq_exec(db, what, NULL, "DELETE FROM cards WHERE id = ?", "t", card_id);
  /* The default moves to the oldest remaining method. */
  if (rc == STREAM_OK && is_default)
    rc = store__sq_exec(db, what, NULL,
                        "UPDATE cards SET is_default = 1 WHERE id = (SELECT id FROM cards "
                        "WHERE account_id = ? ORDER BY created_at, rowid LIMIT 1)",
                        "t", account_id);
  return store__sq_wend(impl, db, rc);
}

/* ---- subscriptions ---------------------------------------------------------- */

#define SUB_COLS                                                                                   \
  "id, account_id, plan_id, pending_plan_id, card_id, status, cancel_at_period_end, "              \
  "period_start, period_end, trial_end, failed_attempts, next_attempt_at, created_at, ended_at, "  \
  "anchor, cycle_months, dunning_from, open_invoice_id, version"

static void read_sub(void *dst, sqlite3_stmt *st)
{
  store_billing_sub *s = dst;
  stream_billing_subscription *p = &s->pub;
  memset(s, 0, sizeof *s);
  store__sq_col_copy(p->id, sizeof p->id, st, 0);
  store__sq_col_copy(p->account_id, sizeof p->account_id, st, 1);
  store__sq_col_copy(p->plan_id, sizeof p->plan_id, st, 2);
  store__sq_col_copy(p->pending_plan_id, sizeof p->pending_plan_id, st, 3);
  store__sq_col_copy(p->card_id, sizeof p->card_id, st, 4);
  p->status = sqlite3_column_int(st, 5);
  p->cancel_at_period_end = sqlite3_column_int(st, 6);
  p->period_start = store__sq_col_i64(st, 7);
  p->period_end = store__sq_col_i64(st, 8);
  p->trial_end = store__sq_col_i64(st, 9);
  p->failed_attempts = sqlite3_column_int(st, 10);
  p->next_attempt_at = store__sq_col_i64(st, 11);
  p->created_at = store__sq_col_i64(st, 12);
  p->ended_at = store__sq_col_i64(st, 13);
  s->anchor = store__sq_col_i64(st, 14);
  s->cycle_months = sqlite3_column_int(st, 15);
  s->dunning_from = store__sq_col_i64(st, 16);
  store__sq_col_copy(s->open_invoice_id, sizeof s->open_invoice_id, st, 17);
  s->version = store__sq_col_i64(st, 18);
}

static void read_sub_pub(void *dst, sqlite3_stmt *st)
{
  store_billing_sub s;
  read_sub(&s, st);
  memcpy(dst, &s.pub, sizeof s.pub);
}

static int b_sub_get(void *impl, store_billing_sub *out, const char *account_id)
{
  const char *what = "get subscription";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  int rc = store__sq_prepare(db, &st, what,
                             "SELECT " SUB_COLS " FROM subscriptions WHERE account_id = ? "
                             "ORDER BY status IN (0, 1, 2) DESC, created_at DESC, rowid DESC "
                             "LIMIT 1",
                             "t", account_id);
  if (rc == STREAM_OK)
    rc = store__sqb_get_one(db, out, read_sub, what, "no subscription", st);
  if (rc == STREAM_ENOTFOUND)
    stream__err(rc, "account %s has never subscribed", account_id);
  store__sq_rrelease(impl, db);
  return rc;
}

static int b_sub_get_by_id(void *impl, store_billing_sub *out, const char *id)
{
  const char *what = "get subscription";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  int rc = store__sq_prepare(db, &st, what, "SELECT " SUB_COLS " FROM subscriptions WHERE id = ?",
                             "t", id);
  if (rc == STREAM_OK)
    rc = store__sqb_get_one(db, out, read_sub, what, "no subscription", st);
  if (rc == STREAM_ENOTFOUND)
    stream__err(rc, "no subscription with id %s", id);
  store__sq_rrelease(impl, db);
  return rc;
}

static int b_sub_list(void *impl, stream_billing_subscription **out, size_t *out_count,
                      const stream_billing_subscription_query *q)
{
  const char *what = "list subscriptions";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  int rc = store__sq_prepare(db, &st, what,
                             "SELECT " SUB_COLS " FROM subscriptions "
                             "WHERE (? < 0 OR status = ?) AND id > ? ORDER BY id LIMIT ?",
                             "iiti", q->status, q->status, q->after_id ? q->after_id : "",
                             (int)q->limit);
  if (rc == STREAM_OK)
    rc = store__sqb_get_all(db, (void **)out, out_count, sizeof **out, read_sub_pub, what, st);
  store__sq_rrelease(impl, db);
  return rc;
}

static void read_id(void *dst, sqlite3_stmt *st)
{
  store__sq_col_copy(dst, STREAM_BILLING_ID_SIZE, st, 0);
}

static int b_sub_due(void *impl, char (**out)[STREAM_BILLING_ID_SIZE], size_t *out_count,
                     int64_t now)
{
  const char *what = "find due subscriptions";
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  int rc = store__sq_prepare(db, &st, what,
                             "SELECT account_id FROM subscriptions WHERE "
                             "(status IN (0, 1) AND period_end <= ?) OR "
                             "(status = 2 AND next_attempt_at <= ?) ORDER BY period_end, id",
                             "II", now, now);
  if (rc == STREAM_OK)
    rc = store__sqb_get_all(db, (void **)out, out_count, sizeof **out, read_id, what, st);
  store__sq_rrelease(impl, db);
  return rc;
}

static int b_sub_any(void *impl, bool *out, const char *account_id)
{
  sq_conn *db = store__sq_racquire(impl);
  int64_t n = 0;
  int rc =
      store__sqb_count_query(db, &n, "find subscriptions",
                             "SELECT count(*) FROM subscriptions WHERE account_id = ?", account_id);
  store__sq_rrelease(impl, db);
  *out = n > 0;
  return rc;
}

int store__sqb_live_check(sq_conn *db, const char *account_id)
{
  int64_t n = 0;
  SQ_TRY(store__sqb_count_query(db, &n, "check live subscription",
                                "SELECT count(*) FROM subscriptions WHERE account_id = ? AND "
                                "status IN (0, 1, 2)",
                                account_id));
  if (n > 0)
    return stream__err(STREAM_ECONFLICT, "account %s already has a live subscription", account_id);
  return STREAM_OK;
}

int store__sqb_sub_insert(sq_conn *db, const store_billing_sub *s)
{
  const stream_billing_subscription *p = &s->pub;
  SQ_TRY(store__sqb_live_check(db, p->account_id));
  int rc =
      store__sq_exec(db, "insert subscription", NULL,
                     "INSERT INTO subscriptions (" SUB_COLS ") VALUES "
                     "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                     "tttTTiiIIIiIIIIiIT", p->id, p->account_id, p->plan_id, p->pending_plan_id,
                     p->card_id, p->status, p->cancel_at_period_end, p->period_start, p->period_end,
                     p->trial_end, p->failed_attempts, p->next_attempt_at, p->created_at,
                     p->ended_at, s->anchor, s->cycle_months, s->dunning_from, s->open_invoice_id);
  if (rc == STREAM_EEXIST)
    rc = stream__err(STREAM_ECONFLICT, "account %s already has a live subscription", p->account_id);
  return rc;
}

int store__sqb_sub_update(sq_conn *db, const store_billing_sub *s)
{
  const stream_billing_subscription *p = &s->pub;
  int n = 0;
  int rc = store__sq_exec(
      db, "update subscription", &n,
      "UPDATE subscriptions SET plan_id = ?, pending_plan_id = ?, card_id = ?, status = ?, "
      "cancel_at_period_end = ?, period_start = ?, period_end = ?, trial_end = ?, "
      "failed_attempts = ?, next_attempt_at = ?, ended_at = ?, anchor = ?, cycle_months = ?, "
      "dunning_from = ?, open_invoice_id = ?, version = version + 1 WHERE id = ? AND version = ?",
      "tTTiiIIIiIIIiITtI", p->plan_id, p->pending_plan_id, p->card_id, p->status,
      p->cancel_at_period_end, p->period_start, p->period_end, p->trial_end, p->failed_attempts,
      p->next_attempt_at, p->ended_at, s->anchor, s->cycle_months, s->dunning_from,
      s->open_invoice_id, p->id, s->version);
  if (rc == STREAM_OK && n == 0)
    rc = stream__err(STREAM_ECONFLICT,
                     "subscription %s changed while this request ran; repeat the request", p->id);
  if (rc == STREAM_EEXIST)
    rc = stream__err(STREAM_ECONFLICT, "account %s already has a live subscription", p->account_id);
  return rc;
}

static int b_sub_insert(void *impl, const store_billing_sub *s, const store_billing_idem *idem)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int rc = store__sq_account_live(db, "insert subscription", s->pub.account_id);
  if (rc == STREAM_OK)
    rc = store__sqb_sub_insert(db, s);
  if (rc == STREAM_OK)
    rc = store__sqb_idem_insert(db, idem, s->pub.created_at);
  return store__sq_wend(impl, db, rc);
}

int store__sqb_close_invoice(sq_conn *db, const char *invoice_id, int status)
{
  if (!invoice_id || !invoice_id[0])
    return STREAM_OK;
  return store__sq_exec(db, "close invoice", NULL,
                        "UPDATE invoices SET status = ?, amount_due = 0 "
                        "WHERE id = ? AND status = 0",
                        "it", status, invoice_id);
}

static int b_sub_update(void *impl, const store_billing_sub *s, const char *close_invoice_id,
                        int close_status, const store_billing_idem *idem, bool require_no_pending,
                        int64_t now)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int rc = STREAM_OK;
  if (close_invoice_id && close_invoice_id[0]) {
    /* A payment of it in flight (another process) must settle first. */
    int64_t pending = 0;
    rc = store__sqb_count_query(db, &pending, "close invoice",
                                "SELECT count(*) FROM payments WHERE invoice_id = ? AND status = 0",
                                close_invoice_id);
    if (rc == STREAM_OK && pending > 0)
      rc = stream__err(STREAM_EBUSY, "a payment of invoice %s is in progress", close_invoice_id);
  }
  if (rc == STREAM_OK && require_no_pending) {
    /* Inside this BEGIN IMMEDIATE transaction, as charge_begin's check: a
     * charge begun since the caller looked is seen here (store_billing.h). */
    int64_t pending = 0;
    rc = store__sqb_count_query(db, &pending, "update subscription",
                                "SELECT count(*) FROM payments WHERE account_id = ? AND status = 0",
                                s->pub.account_id);
    if (rc == STREAM_OK && pending > 0)
      rc = stream__err(STREAM_EBUSY,
                       "a payment of account %s is in progress; subscription %s waits for it to "
                       "settle",
                       s->pub.account_id, s->pub.id);
  }
  if (rc == STREAM_OK)
    rc = store__sqb_sub_update(db, s);
  if (rc == STREAM_OK)
    rc = store__sqb_close_invoice(db, close_invoice_id, close_status);
  if (rc == STREAM_OK)
    rc = store__sqb_idem_insert(db, idem, now);
  return store__sq_wend(impl, db, rc);
}

const struct stream_store_billing_ops store__sq_billing_ops = {
    .plan_put = b_plan_put,
    .plan_seed = b_plan_seed,
    .plan_get = b_plan_get,
    .plan_list = b_plan_list,
    .idem_get = b_idem_get,
    .idem_put = b_idem_put,
    .card_add = b_card_add,
    .card_list = b_card_list,
    .card_get = b_card_get,
    .card_set_default = b_card_set_default,
    .card_remove = b_card_remove,
    .sub_get = b_sub_get,
    .sub_get_by_id = b_sub_get_by_id,
    .sub_list = b_sub_list,
    .sub_due = b_sub_due,
    .sub_any = b_sub_any,
    .sub_insert = b_sub_insert,
    .sub_update = b_sub_update,
    .charge_begin = store__sqb_charge_begin,
    .charge_settle = store__sqb_charge_settle,
    .payment_get = store__sqb_payment_get,
    .payment_pending = store__sqb_payment_pending,
    .invoice_get = store__sqb_invoice_get,
    .invoice_list = store__sqb_invoice_list,
    .invoice_payment = store__sqb_invoice_payment,
    .refund_begin = store__sqb_refund_begin,
    .refund_settle = store__sqb_refund_settle,
    .refund_pending = store__sqb_refund_pending,
    .books_check = store__sqb_books_check,
};
