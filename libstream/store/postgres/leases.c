/*
 * PostgreSQL backend: screen leases and the facts of entitlement decisions;
 * sqlite/leases.c in the PostgreSQL dialect. Acquire runs the whole decision
 * inside one write transaction under the writers' lock: the live subscription
 * and its plan, the other devices' live leases, the policy callback and the
 * insert all happen under it, so concurrent starts (from any process on the
 * database) serialize and can never take more screens than the plan has. The
 * subscription and plan rows belong to billing (schema_billing.c):
 * subscriptions(account_id, plan_id, status) with live = status 0..2, and
 * plans(id, screens, max_height). `seq` orders as SQLite's rowid.
 */
#include <stdlib.h>
#include <string.h>

#include "../store_leases.h"
#include "pg_internal.h"

#define LEASE_COLS                                                                                 \
  "id, account_id, profile_id, title_id, device_id, device_name, started_at, expires_at"

static void read_lease(stream_billing_lease *l, const pg_stmt *st)
{
  memset(l, 0, sizeof *l);
  store__pg_col_copy(l->id, sizeof l->id, st, 0);
  store__pg_col_copy(l->account_id, sizeof l->account_id, st, 1);
  store__pg_col_copy(l->profile_id, sizeof l->profile_id, st, 2);
  store__pg_col_copy(l->title_id, sizeof l->title_id, st, 3);
  store__pg_col_copy(l->device_id, sizeof l->device_id, st, 4);
  store__pg_col_copy(l->device_name, sizeof l->device_name, st, 5);
  l->started_at = store__pg_col_i64(st, 6);
  l->expires_at = store__pg_col_i64(st, 7);
}

/* Run a one-row query: *found tells whether a row came; `row` reads it. */
typedef void (*row_fn)(void *ctx, const pg_stmt *st);

static int one_row(pg_conn *db, bool *found, const char *what, pg_stmt *st, row_fn row, void *ctx)
{
  int r = store__pg_step(db, st, what);
  if (r == 1)
    row(ctx, st);
  store__pg_release(db, st);
  if (r < 0)
    return r;
  *found = r == 1;
  return STREAM_OK;
}

static void row_plan(void *ctx, const pg_stmt *st)
{
  store__lease_facts *f = ctx;
  store__pg_col_copy(f->plan_id, sizeof f->plan_id, st, 0);
  f->sub_status = store__pg_col_int(st, 1);
  f->screens = store__pg_col_int(st, 2);
  f->max_height = store__pg_col_int(st, 3);
}

static void row_profile(void *ctx, const pg_stmt *st)
{
  ((store__lease_facts *)ctx)->maturity_ceiling = store__pg_col_int(st, 0);
}

static void row_title(void *ctx, const pg_stmt *st)
{
  ((store__lease_facts *)ctx)->maturity_rating = store__pg_col_int(st, 0);
}

/* Gather the facts on `db`, inside a snapshot or a write transaction. */
static int gather(pg_conn *db, store__lease_facts *f, const char *account_id,
                  const char *profile_id, const char *title_id, const char *device_id, int64_t now)
{
  const char *what = "entitlement facts";
  memset(f, 0, sizeof *f);
  pg_stmt *st;
  PG_TRY(store__pg_prepare(db, &st, what,
                           "SELECT s.plan_id, s.status, p.screens, p.max_height "
                           "FROM subscriptions s JOIN plans p ON p.id = s.plan_id "
                           "WHERE s.account_id = ? AND s.status IN (0, 1, 2) "
                           "ORDER BY s.seq DESC LIMIT 1",
                           "t", account_id));
  PG_TRY(one_row(db, &f->subscribed, what, st, row_plan, f));
  PG_TRY(store__pg_prepare(db, &st, what,
                           "SELECT maturity_ceiling FROM profiles WHERE id = ? AND account_id = ?",
                           "tt", profile_id, account_id));
  PG_TRY(one_row(db, &f->profile_ok, what, st, row_profile, f));
  PG_TRY(store__pg_prepare(db, &st, what, "SELECT maturity_rating FROM titles WHERE id = ?", "t",
                           title_id));
  PG_TRY(one_row(db, &f->title_found, what, st, row_title, f));

  PG_TRY(store__pg_prepare(db, &st, what,
                           "SELECT " LEASE_COLS " FROM screen_leases "
                           "WHERE account_id = ? AND expires_at > ? ORDER BY started_at, seq",
                           "tI", account_id, now));
  int r;
  while ((r = store__pg_step(db, st, what)) == 1) {
    stream_billing_lease l;
    read_lease(&l, st);
    if (strcmp(l.device_id, device_id) == 0) {
      f->device_live = true;
      f->own = l;
    } else {
      if (f->in_use_count < STREAM_BILLING_SCREENS_MAX)
        f->in_use[f->in_use_count++] = l;
      f->in_use_total++;
    }
  }
  store__pg_release(db, st);
  return r < 0 ? r : STREAM_OK;
}

static int ls_facts(void *impl, store__lease_facts *out, const char *account_id,
                    const char *profile_id, const char *title_id, const char *device_id,
                    int64_t now)
{
  pg_conn *db = store__pg_racquire(impl);
  int rc = store__pg_rbegin(db);
  if (rc == STREAM_OK) {
    rc = gather(db, out, account_id, profile_id, title_id, device_id, now);
    store__pg_rend(db);
  }
  store__pg_rrelease(impl, db);
  return rc;
}

static int get_lease(pg_conn *db, stream_billing_lease *out, const char *what, const char *id)
{
  pg_stmt *st;
  PG_TRY(store__pg_prepare(db, &st, what, "SELECT " LEASE_COLS " FROM screen_leases WHERE id = ?",
                           "t", id));
  int r = store__pg_step(db, st, what);
  if (r == 1)
    read_lease(out, st);
  store__pg_release(db, st);
  if (r == 0)
    return stream__err(STREAM_ENOTFOUND, "%s: no lease with id %s", what, id);
  return r < 0 ? r : STREAM_OK;
}

static int acquire_locked(pg_conn *db, stream_billing_lease *out, store__lease_facts *f,
                          const stream_billing_lease *in, int64_t now, int ttl,
                          store__lease_decide_fn decide, void *userdata)
{
  const char *what = "acquire lease";
  PG_TRY(gather(db, f, in->account_id, in->profile_id, in->title_id, in->device_id, now));
  PG_TRY(decide(userdata, f));
  int64_t expires = now + ttl;
  if (f->device_live) {
    PG_TRY(store__pg_exec(db, what, NULL,
                          "UPDATE screen_leases SET profile_id = ?, title_id = ?, expires_at = ?, "
                          "device_name = CASE WHEN ?::text = '' THEN device_name ELSE ? END "
                          "WHERE id = ?",
                          "ttIttt", in->profile_id, in->title_id, expires, in->device_name,
                          in->device_name, f->own.id));
    return get_lease(db, out, what, f->own.id);
  }
  /* The device's own lapsed lease gives way, and long-lapsed rows go. */
  PG_TRY(store__pg_exec(db, what, NULL,
                        "DELETE FROM screen_leases WHERE account_id = ? AND expires_at <= ? "
                        "AND (device_id = ? OR expires_at <= ?)",
                        "tItI", in->account_id, now, in->device_id,
                        now - STORE__LEASE_KEEP_LAPSED));
  PG_TRY(store__pg_exec(
      db, what, NULL, "INSERT INTO screen_leases (" LEASE_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      "ttttttII", in->id, in->account_id, in->profile_id, in->title_id, in->device_id,
      in->device_name, now, expires));
  return get_lease(db, out, what, in->id);
}

static int ls_acquire(void *impl, stream_billing_lease *out, store__lease_facts *facts,
                      const stream_billing_lease *in, int64_t now, int ttl,
                      store__lease_decide_fn decide, void *userdata)
{
  pg_conn *db;
  PG_TRY(store__pg_wbegin(impl, &db));
  int rc = acquire_locked(db, out, facts, in, now, ttl, decide, userdata);
  return store__pg_wend(impl, db, rc);
}

/* Without the writers' lock (pg_internal.h, store__pg_wbegin_unlocked): one
 * conditional UPDATE of the lease's own row, which a concurrent acquire or
 * close either left alone, or changed or deleted first (the UPDATE then
 * re-reads the row after its lock: a lapsed or deleted lease is not renewed).
 * Only when nothing was renewed does a read say why. The acquire's count
 * treats a lease live at its snapshot as live, renewed or not. */
static int ls_heartbeat(void *impl, stream_billing_lease *out, const char *account_id,
                        const char *lease_id, int64_t now, int ttl)
{
  const char *what = "renew lease";
  pg_conn *db;
  PG_TRY(store__pg_wbegin_unlocked(impl, &db));
  int n = 0;
  int rc = store__pg_exec(db, what, &n,
                          "UPDATE screen_leases SET expires_at = ? "
                          "WHERE id = ? AND account_id = ? AND expires_at > ?",
                          "IttI", now + ttl, lease_id, account_id, now);
  stream_billing_lease l;
  if (rc == STREAM_OK && n == 0) {
    rc = get_lease(db, &l, what, lease_id);
    if (rc == STREAM_OK && strcmp(l.account_id, account_id) != 0)
      rc = stream__err(STREAM_ENOTFOUND, "%s: no lease with id %s", what, lease_id);
    else if (rc == STREAM_OK)
      rc = stream__err(STREAM_EEXPIRED, "lease %s lapsed at %lld, now %lld: acquire a screen again",
                       lease_id, (long long)l.expires_at, (long long)now);
  }
  if (rc == STREAM_OK)
    rc = get_lease(db, out, what, lease_id);
  return store__pg_wend(impl, db, rc);
}

/* Without the writers' lock: one DELETE of the lease's own row. */
static int ls_release(void *impl, const char *account_id, const char *lease_id)
{
  pg_conn *db;
  PG_TRY(store__pg_wbegin_unlocked(impl, &db));
  int n = 0;
  int rc = store__pg_exec(db, "release lease", &n,
                          "DELETE FROM screen_leases WHERE id = ? AND account_id = ?", "tt",
                          lease_id, account_id);
  if (rc == STREAM_OK && n == 0)
    rc = stream__err(STREAM_ENOTFOUND, "release lease: no lease with id %s", lease_id);
  return store__pg_wend(impl, db, rc);
}

static int ls_list(void *impl, stream_billing_lease **out, size_t *out_count,
                   const char *account_id, int64_t now)
{
  const char *what = "list leases";
  pg_conn *db = store__pg_racquire(impl);
  pg_stmt *st;
  stream_billing_lease *arr = NULL;
  size_t n = 0, cap = 0;
  int rc = store__pg_prepare(db, &st, what,
                             "SELECT " LEASE_COLS " FROM screen_leases "
                             "WHERE account_id = ? AND expires_at > ? "
                             "ORDER BY started_at, seq LIMIT ?",
                             "tIi", account_id, now, STREAM_BILLING_LIST_MAX);
  if (rc == STREAM_OK) {
    int r = 0;
    while (rc == STREAM_OK && (r = store__pg_step(db, st, what)) == 1) {
      if (n == cap) {
        size_t ncap = cap ? cap * 2 : 8;
        stream_billing_lease *p = realloc(arr, ncap * sizeof *arr);
        if (!p) {
          rc = stream__err(STREAM_ENOMEM, "out of memory listing leases");
          break;
        }
        arr = p;
        cap = ncap;
      }
      read_lease(&arr[n++], st);
    }
    if (rc == STREAM_OK && r < 0)
      rc = r;
    store__pg_release(db, st);
  }
  store__pg_rrelease(impl, db);
  if (rc != STREAM_OK) {
    free(arr);
    return rc;
  }
  *out = arr;
  *out_count = n;
  return STREAM_OK;
}

const struct stream_store_lease_ops store__pg_lease_ops = {
    .facts = ls_facts,
    .acquire = ls_acquire,
    .heartbeat = ls_heartbeat,
    .release = ls_release,
    .list = ls_list,
};
