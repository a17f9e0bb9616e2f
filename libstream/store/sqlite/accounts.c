/*
 * SQLite backend: accounts, refresh tokens and device authorizations. The
 * "only once" transitions (mark a token used, approve/deny/consume a device
 * authorization) are single conditional UPDATEs inside a write transaction;
 * when no row changed, a read in the same transaction tells the caller why.
 */
#include <inttypes.h>
#include <string.h>

#include "sqlite_internal.h"

/* ---- accounts ------------------------------------------------------------ */

#define ACCOUNT_COLS "id, email, password_hash, created_at, disabled, role"

static void read_account(stream_store_account *a, sqlite3_stmt *st)
{
  memset(a, 0, sizeof *a);
  store__sq_col_copy(a->id, sizeof a->id, st, 0);
  store__sq_col_copy(a->email, sizeof a->email, st, 1);
  store__sq_col_copy(a->password_hash, sizeof a->password_hash, st, 2);
  a->created_at = store__sq_col_i64(st, 3);
  a->disabled = sqlite3_column_int(st, 4);
  a->role = sqlite3_column_int(st, 5);
}

static int acc_create(void *impl, const stream_store_account *in)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int rc =
      store__sq_exec(db, "create account", NULL,
                     "INSERT INTO accounts (" ACCOUNT_COLS ") VALUES (?, ?, ?, ?, ?, ?)", "tttIii",
                     in->id, in->email, in->password_hash, in->created_at, in->disabled, in->role);
  return store__sq_wend(impl, db, rc);
}

static int acc_get_where(void *impl, stream_store_account *out, const char *sql, const char *key,
                         const char *what)
{
  sq_conn *db = store__sq_racquire(impl);
  sqlite3_stmt *st;
  int rc = store__sq_prepare(db, &st, what, sql, "t", key);
  if (rc == STREAM_OK) {
    int r = store__sq_step(db, st, what);
    if (r == 1)
      read_account(out, st);
    else if (r == 0)
      rc = stream__err(STREAM_ENOTFOUND, "%s: no such account", what);
    else
      rc = r;
    store__sq_release(db, st);
  }
  store__sq_rrelease(impl, db);
  return rc;
}

static int acc_get_by_id(void *impl, stream_store_account *out, const char *id)
{
  return acc_get_where(impl, out,
                       "SELECT " ACCOUNT_COLS " FROM accounts WHERE id = ? AND deleted_at = 0", id,
                       "get account by id");
}

static int acc_get_by_email(void *impl, stream_store_account *out, const char *email)
{
  return acc_get_where(impl, out,
                       "SELECT " ACCOUNT_COLS " FROM accounts WHERE email = ? AND deleted_at = 0",
                       email, "get account by email");
}

static int acc_update(void *impl, const stream_store_account *a, const stream_store_account *expect)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int n = 0;
  int rc = expect ? store__sq_exec(db, "update account", &n,
                                   "UPDATE accounts SET password_hash = ?, disabled = ?, role = ? "
                                   "WHERE id = ? AND deleted_at = 0 AND password_hash = ? AND "
                                   "disabled = ? AND role = ?",
                                   "tiittii", a->password_hash, a->disabled, a->role, a->id,
                                   expect->password_hash, expect->disabled, expect->role)
                  : store__sq_exec(db, "update account", &n,
                                   "UPDATE accounts SET password_hash = ?, disabled = ?, role = ? "
                                   "WHERE id = ? AND deleted_at = 0",
                                   "tiit", a->password_hash, a->disabled, a->role, a->id);
  if (rc == STREAM_OK && n == 0 && expect)
    rc = stream__err(STREAM_ECONFLICT,
                     "update account: account %s changed since it was read, or is gone", a->id);
  else if (rc == STREAM_OK && n == 0)
    rc = stream__err(STREAM_ENOTFOUND, "update account: no account with id %s", a->id);
  return store__sq_wend(impl, db, rc);
}

/* ---- the account of an account-scoped write ------------------------------ */

/* deleted_at of account `id` on `db` (the caller's write transaction):
 * 1 with *deleted_at, 0 when there is no such row, < 0 on error (set). */
static int account_state(sq_conn *db, int64_t *deleted_at, const char *what, const char *id)
{
  sqlite3_stmt *st;
  SQ_TRY(store__sq_prepare(db, &st, what, "SELECT deleted_at FROM accounts WHERE id = ?", "t", id));
  int r = store__sq_step(db, st, what);
  *deleted_at = r == 1 ? store__sq_col_i64(st, 0) : 0;
  store__sq_release(db, st);
  return r;
}

int store__sq_account_live(sq_conn *db, const char *what, const char *account_id)
{
  int64_t deleted_at = 0;
  int r = account_state(db, &deleted_at, what, account_id);
  if (r < 0)
    return r;
  if (r == 0 || deleted_at > 0)
    return stream__err(STREAM_ENOTFOUND, "%s: no account with id %s", what, account_id);
  return STREAM_OK;
}

int store__sq_account_closed(sq_conn *db, bool *closed, const char *what, const char *account_id)
{
  *closed = false;
  if (!account_id || !account_id[0])
    return STREAM_OK;
  int64_t deleted_at = 0;
  int r = account_state(db, &deleted_at, what, account_id);
  if (r < 0)
    return r;
  *closed = r == 1 && deleted_at > 0;
  return STREAM_OK;
}

/* ---- closing an account (right to erasure) -------------------------------- */

/* One statement of the close with the account id as its only argument;
 * `*count` (may be NULL) receives the rows it changed. */
static int close_exec(sq_conn *db, size_t *count, const char *sql, const char *id)
{
  int n = 0;
  int rc = store__sq_exec(db, "close account", &n, sql, "t", id);
  if (rc == STREAM_OK && count)
    *count = (size_t)n;
  return rc;
}

/* Everything in one write transaction, so a reader sees the account either
 * whole or closed, and a failure changes nothing. The order matters only for
 * the counts: tokens and leases are deleted before the profiles whose cascade
 * would take some of them along. */
static int acc_close(void *impl, stream_store_account_close_counts *out, const char *id,
                     const char *tombstone_email, int64_t now)
{
  const char *what = "close account";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  sqlite3_stmt *st;
  int rc =
      store__sq_prepare(db, &st, what, "SELECT deleted_at FROM accounts WHERE id = ?", "t", id);
  if (rc == STREAM_OK) {
    int r = store__sq_step(db, st, what);
    int64_t deleted_at = r == 1 ? store__sq_col_i64(st, 0) : 0;
    store__sq_release(db, st);
    if (r == 0)
      rc = stream__err(STREAM_ENOTFOUND, "%s: no account with id %s", what, id);
    else if (r < 0)
      rc = r;
    else if (deleted_at > 0)
      rc = stream__err(STREAM_ENOTFOUND, "%s: account %s was already closed at %" PRId64, what, id,
                       deleted_at);
  }
  /* A charge in flight at the provider settles against the subscription and
   * its invoice: let it finish first (the renewal job settles it). */
  if (rc == STREAM_OK) {
    rc = store__sq_prepare(db, &st, what,
                           "SELECT count(*) FROM payments WHERE account_id = ? AND status = 0", "t",
                           id);
    if (rc == STREAM_OK) {
      int r = store__sq_step(db, st, what);
      int64_t pending = r == 1 ? store__sq_col_i64(st, 0) : 0;
      store__sq_release(db, st);
      if (r < 0)
        rc = r;
      else if (pending > 0)
        rc = stream__err(STREAM_EBUSY,
                         "%s: a payment of account %s is in progress; retry once it settled", what,
                         id);
    }
  }
  stream_store_account_close_counts c;
  memset(&c, 0, sizeof c);
  /* Billing: the live subscription ends now (canceled, no refund) and its
   * dunning invoice is no longer owed; the version bump makes any renewal step
   * that read the subscription before this commit fail its compare-and-set. */
  if (rc == STREAM_OK)
    rc = close_exec(db, &c.invoices_voided,
                    "UPDATE invoices SET status = 2, amount_due = 0 WHERE status = 0 AND id IN "
                    "(SELECT open_invoice_id FROM subscriptions WHERE account_id = ?1 "
                    "AND status IN (0, 1, 2) AND open_invoice_id IS NOT NULL)",
                    id);
  if (rc == STREAM_OK) {
    int n = 0;
    rc = store__sq_exec(db, what, &n,
                        "UPDATE subscriptions SET status = 3, ended_at = ?, "
                        "cancel_at_period_end = 0, next_attempt_at = 0, pending_plan_id = NULL, "
                        "version = version + 1 WHERE account_id = ? AND status IN (0, 1, 2)",
                        "It", now, id);
    c.subscriptions = (size_t)n;
  }
  /* Analytics keep the rows (aggregates stay right) without the person:
   * account, profile and device ids are blanked. */
  if (rc == STREAM_OK)
    rc = close_exec(db, &c.events,
                    "UPDATE event_log SET account_id = '', profile_id = '', device_id = '' "
                    "WHERE account_id = ?1 AND account_id <> ''",
                    id);
  if (rc == STREAM_OK)
    rc = close_exec(db, &c.views,
                    "UPDATE qoe_views SET account_id = '', profile_id = '', device_id = '' "
                    "WHERE account_id = ?1 AND account_id <> ''",
                    id);
  if (rc == STREAM_OK)
    rc = close_exec(db, &c.idempotency_keys, "DELETE FROM idempotency_keys WHERE scope = ?", id);
  if (rc == STREAM_OK)
    rc = close_exec(db, &c.screen_leases, "DELETE FROM screen_leases WHERE account_id = ?", id);
  if (rc == STREAM_OK)
    rc = close_exec(db, &c.refresh_tokens, "DELETE FROM refresh_tokens WHERE account_id = ?", id);
  /* Outstanding reset links die with the account (not counted: no field). */
  if (rc == STREAM_OK)
    rc = close_exec(db, NULL, "DELETE FROM password_resets WHERE account_id = ?", id);
  if (rc == STREAM_OK)
    rc = close_exec(db, &c.device_authorizations,
                    "DELETE FROM device_authorizations WHERE account_id = ?", id);
  if (rc == STREAM_OK)
    rc = close_exec(db, &c.cards, "DELETE FROM cards WHERE account_id = ?", id);
  if (rc == STREAM_OK)
    rc = close_exec(db, &c.profiles, "DELETE FROM profiles WHERE account_id = ?", id);
  if (rc == STREAM_OK) {
    int n = 0;
    rc = store__sq_exec(db, what, &n,
                        "UPDATE accounts SET email = ?, password_hash = '', disabled = 1, "
                        "deleted_at = ? WHERE id = ? AND deleted_at = 0",
                        "tIt", tombstone_email, now, id);
    if (rc == STREAM_OK && n != 1)
      rc = stream__err(STREAM_EINTERNAL, "%s: the tombstone of account %s was not written", what,
                       id);
  }
  rc = store__sq_wend(impl, db, rc);
  if (rc == STREAM_OK)
    *out = c;
  return rc;
}

const struct stream_store_accounts_ops store__sq_accounts_ops = {
    .create = acc_create,
    .get_by_id = acc_get_by_id,
    .get_by_email = acc_get_by_email,
    .update = acc_update,
    .close = acc_close,
};

/* ---- refresh tokens ------------------------------------------------------ */

#define REFRESH_COLS                                                                               \
  "token_hash, family_id, account_id, profile_id, created_at, expires_at, used_at, revoked_at"

static int rt_insert(void *impl, const stream_store_refresh *t)
{
  const char *what = "insert refresh token";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  /* A sign-in that verified the password just before the account was closed
   * must not leave a token of the tombstone. */
  int rc = store__sq_account_live(db, what, t->account_id);
  if (rc == STREAM_OK)
    rc = store__sq_exec(db, what, NULL,
                        "INSERT INTO refresh_tokens (" REFRESH_COLS
                        ") VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)",
                        "tttTII", t->token_hash, t->family_id, t->account_id, t->profile_id,
                        t->created_at, t->expires_at);
  return store__sq_wend(impl, db, rc);
}

static int rt_read(sq_conn *db, stream_store_refresh *out, const char *hash, const char *what)
{
  sqlite3_stmt *st;
  SQ_TRY(store__sq_prepare(db, &st, what,
                           "SELECT " REFRESH_COLS " FROM refresh_tokens WHERE token_hash = ?", "t",
                           hash));
  int r = store__sq_step(db, st, what);
  int rc = STREAM_OK;
  if (r == 1) {
    memset(out, 0, sizeof *out);
    store__sq_col_copy(out->token_hash, sizeof out->token_hash, st, 0);
    store__sq_col_copy(out->family_id, sizeof out->family_id, st, 1);
    store__sq_col_copy(out->account_id, sizeof out->account_id, st, 2);
    store__sq_col_copy(out->profile_id, sizeof out->profile_id, st, 3);
    out->created_at = store__sq_col_i64(st, 4);
    out->expires_at = store__sq_col_i64(st, 5);
    out->used_at = store__sq_col_i64(st, 6);
    out->revoked_at = store__sq_col_i64(st, 7);
  } else if (r == 0) {
    rc = stream__err(STREAM_ENOTFOUND, "%s: no such refresh token", what);
  } else {
    rc = r;
  }
  store__sq_release(db, st);
  return rc;
}

static int rt_get(void *impl, stream_store_refresh *out, const char *hash)
{
  sq_conn *db = store__sq_racquire(impl);
  int rc = rt_read(db, out, hash, "get refresh token");
  store__sq_rrelease(impl, db);
  return rc;
}

static int rt_mark_used(void *impl, const char *hash, int64_t now)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int n = 0;
  int rc = store__sq_exec(
      db, "mark refresh token used", &n,
      "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL", "It", now,
      hash);
  if (rc == STREAM_OK && n == 0) {
    stream_store_refresh t;
    rc = rt_read(db, &t, hash, "mark refresh token used");
    if (rc == STREAM_OK)
      rc = stream__err(STREAM_ECONFLICT,
                       "refresh token was already used at %" PRId64 " (reuse detected)", t.used_at);
  }
  return store__sq_wend(impl, db, rc);
}

static int rt_revoke(void *impl, size_t *out_count, const char *sql, const char *key, int64_t now)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int n = 0;
  int rc = store__sq_exec(db, "revoke refresh tokens", &n, sql, "It", now, key);
  *out_count = (size_t)n;
  return store__sq_wend(impl, db, rc);
}

static int rt_revoke_family(void *impl, size_t *out_count, const char *family_id, int64_t now)
{
  return rt_revoke(impl, out_count,
                   "UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS "
                   "NULL",
                   family_id, now);
}

static int rt_revoke_account(void *impl, size_t *out_count, const char *account_id, int64_t now)
{
  return rt_revoke(impl, out_count,
                   "UPDATE refresh_tokens SET revoked_at = ? WHERE account_id = ? AND revoked_at "
                   "IS NULL",
                   account_id, now);
}

static int rt_revoke_profile(void *impl, size_t *out_count, const char *profile_id, int64_t now)
{
  return rt_revoke(impl, out_count,
                   "UPDATE refresh_tokens SET revoked_at = ? WHERE profile_id = ? AND revoked_at "
                   "IS NULL",
                   profile_id, now);
}

const struct stream_store_refresh_ops store__sq_refresh_ops = {
    .insert = rt_insert,
    .get = rt_get,
    .mark_used = rt_mark_used,
    .revoke_family = rt_revoke_family,
    .revoke_account = rt_revoke_account,
    .revoke_profile = rt_revoke_profile,
};

/* ---- device authorizations ------------------------------------------------ */

#define DEVICE_COLS                                                                                \
  "device_code_hash, user_code, client_id, scope, status, account_id, profile_id, interval_s, "    \
  "created_at, last_poll_at, expires_at"
/* What a read returns: the columns, then the approval's PIN digest (migration 19; none = ""). */
#define DEVICE_READ_COLS                                                                           \
  DEVICE_COLS ", (SELECT pin_digest FROM device_profile_pins p "                                   \
              "WHERE p.device_code_hash = device_authorizations.device_code_hash)"

static void read_device(stream_store_device *d, sqlite3_stmt *st)
{
  memset(d, 0, sizeof *d);
  store__sq_col_copy(d->device_code_hash, sizeof d->device_code_hash, st, 0);
  store__sq_col_copy(d->user_code, sizeof d->user_code, st, 1);
  store__sq_col_copy(d->client_id, sizeof d->client_id, st, 2);
  store__sq_col_copy(d->scope, sizeof d->scope, st, 3);
  d->status = sqlite3_column_int(st, 4);
  store__sq_col_copy(d->account_id, sizeof d->account_id, st, 5);
  store__sq_col_copy(d->profile_id, sizeof d->profile_id, st, 6);
  d->interval = sqlite3_column_int(st, 7);
  d->created_at = store__sq_col_i64(st, 8);
  d->last_poll_at = store__sq_col_i64(st, 9);
  d->expires_at = store__sq_col_i64(st, 10);
  store__sq_col_copy(d->profile_pin_digest, sizeof d->profile_pin_digest, st, 11);
}

static int dev_read(sq_conn *db, stream_store_device *out, const char *sql, const char *key,
                    const char *what)
{
  sqlite3_stmt *st;
  SQ_TRY(store__sq_prepare(db, &st, what, sql, "t", key));
  int r = store__sq_step(db, st, what);
  int rc = STREAM_OK;
  if (r == 1)
    read_device(out, st);
  else if (r == 0)
    rc = stream__err(STREAM_ENOTFOUND, "%s: no such device authorization", what);
  else
    rc = r;
  store__sq_release(db, st);
  return rc;
}

#define DEVICE_BY_HASH                                                                             \
  "SELECT " DEVICE_READ_COLS " FROM device_authorizations WHERE device_code_hash = ?"
/* The pending row first, then the newest. */
#define DEVICE_BY_USER_CODE                                                                        \
  "SELECT " DEVICE_READ_COLS " FROM device_authorizations WHERE user_code = ? "                    \
  "ORDER BY (status = 0) DESC, created_at DESC LIMIT 1"

static int dev_insert(void *impl, const stream_store_device *d)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int rc = store__sq_exec(db, "expire stale user code", NULL,
                          "UPDATE device_authorizations SET status = 4 "
                          "WHERE user_code = ? AND status = 0 AND expires_at <= ?",
                          "tI", d->user_code, d->created_at);
  if (rc == STREAM_OK)
    rc = store__sq_exec(db, "insert device authorization", NULL,
                        "INSERT INTO device_authorizations (" DEVICE_COLS
                        ") VALUES (?, ?, ?, ?, 0, NULL, NULL, ?, ?, NULL, ?)",
                        "ttttiII", d->device_code_hash, d->user_code, d->client_id, d->scope,
                        d->interval, d->created_at, d->expires_at);
  return store__sq_wend(impl, db, rc);
}

static int dev_get(void *impl, stream_store_device *out, const char *hash)
{
  sq_conn *db = store__sq_racquire(impl);
  int rc = dev_read(db, out, DEVICE_BY_HASH, hash, "get device authorization");
  store__sq_rrelease(impl, db);
  return rc;
}

static int dev_get_by_user_code(void *impl, stream_store_device *out, const char *code)
{
  sq_conn *db = store__sq_racquire(impl);
  int rc = dev_read(db, out, DEVICE_BY_USER_CODE, code, "get device authorization by user code");
  store__sq_rrelease(impl, db);
  return rc;
}

/* After a conditional UPDATE changed nothing: say why. */
static int dev_explain(const stream_store_device *d, int64_t now, const char *what)
{
  if (d->status == STREAM_STORE_DEVICE_PENDING && d->expires_at <= now)
    return stream__err(STREAM_EEXPIRED, "%s: the code expired at %" PRId64 ", now %" PRId64, what,
                       d->expires_at, now);
  static const char *const names[] = {"pending", "approved", "denied", "consumed", "expired"};
  const char *st = d->status >= 0 && d->status <= 4 ? names[d->status] : "unknown";
  if (d->status == STREAM_STORE_DEVICE_APPROVED && d->expires_at <= now)
    return stream__err(STREAM_EEXPIRED, "%s: the authorization expired at %" PRId64, what,
                       d->expires_at);
  return stream__err(STREAM_ECONFLICT, "%s: the authorization is %s", what, st);
}

static int dev_decide(void *impl, const char *user_code, int status, const char *account_id,
                      const char *profile_id, const char *pin_digest, int64_t now)
{
  const char *what = status == STREAM_STORE_DEVICE_APPROVED ? "approve device authorization"
                                                            : "deny device authorization";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int n = 0;
  /* The approving account must be live (not closed while the user typed the code). */
  int rc = account_id[0] ? store__sq_account_live(db, what, account_id) : STREAM_OK;
  if (rc == STREAM_OK && profile_id[0]) {
    /* The profile must belong to the approving account. */
    sqlite3_stmt *st;
    rc = store__sq_prepare(db, &st, what, "SELECT 1 FROM profiles WHERE id = ? AND account_id = ?",
                           "tt", profile_id, account_id);
    if (rc == STREAM_OK) {
      int r = store__sq_step(db, st, what);
      store__sq_release(db, st);
      if (r == 0)
        rc = stream__err(STREAM_ENOTFOUND, "%s: profile %s does not belong to account %s", what,
                         profile_id, account_id);
      else if (r < 0)
        rc = r;
    }
  }
  /* The digest first, on the row the UPDATE below decides (the one pending row holding the code,
   * same conditions): when the UPDATE changes nothing, the error rolls this back too. */
  if (rc == STREAM_OK && pin_digest[0])
    rc = store__sq_exec(db, what, NULL,
                        "INSERT INTO device_profile_pins (device_code_hash, pin_digest) "
                        "SELECT device_code_hash, ? FROM device_authorizations "
                        "WHERE user_code = ? AND status = 0 AND expires_at > ?",
                        "ttI", pin_digest, user_code, now);
  if (rc == STREAM_OK)
    rc = store__sq_exec(
        db, what, &n,
        "UPDATE device_authorizations SET status = ?, account_id = ?, profile_id = ? "
        "WHERE user_code = ? AND status = 0 AND expires_at > ?",
        "iTTtI", status, account_id, profile_id, user_code, now);
  if (rc == STREAM_OK && n == 0) {
    stream_store_device d;
    rc = dev_read(db, &d, DEVICE_BY_USER_CODE, user_code, what);
    if (rc == STREAM_OK)
      rc = dev_explain(&d, now, what);
  }
  return store__sq_wend(impl, db, rc);
}

static int dev_record_poll(void *impl, int64_t *out_prev, const char *hash, int new_interval,
                           int64_t now)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  stream_store_device d;
  int rc = dev_read(db, &d, DEVICE_BY_HASH, hash, "record device poll");
  if (rc == STREAM_OK)
    rc = store__sq_exec(db, "record device poll", NULL,
                        "UPDATE device_authorizations SET last_poll_at = ?, "
                        "interval_s = CASE WHEN ? > 0 THEN ? ELSE interval_s END "
                        "WHERE device_code_hash = ?",
                        "Iiit", now, new_interval, new_interval, hash);
  if (rc == STREAM_OK)
    *out_prev = d.last_poll_at;
  return store__sq_wend(impl, db, rc);
}

static int dev_consume(void *impl, stream_store_device *out, const char *hash, int64_t now)
{
  const char *what = "consume device authorization";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int n = 0;
  int rc = store__sq_exec(db, what, &n,
                          "UPDATE device_authorizations SET status = 3 "
                          "WHERE device_code_hash = ? AND status = 1 AND expires_at > ?",
                          "tI", hash, now);
  if (rc == STREAM_OK)
    rc = dev_read(db, out, DEVICE_BY_HASH, hash, what);
  if (rc == STREAM_OK && n == 0)
    rc = dev_explain(out, now, what);
  return store__sq_wend(impl, db, rc);
}

const struct stream_store_device_ops store__sq_device_ops = {
    .insert = dev_insert,
    .get = dev_get,
    .get_by_user_code = dev_get_by_user_code,
    .decide = dev_decide,
    .record_poll = dev_record_poll,
    .consume = dev_consume,
};
