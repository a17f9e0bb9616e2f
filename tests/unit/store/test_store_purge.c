/*
 * The retention purge (stream_store_purge) over a real SQLite store in a
 * temporary directory, with an injected `now`: each table's rows just inside
 * and just outside its boundary, refresh-token reuse detection after a purge,
 * idempotent replay inside retention and a purged key treated as new,
 * in-progress keys of pending payments kept, policy validation, and purges
 * that cross several batches. Uses the billing test fixture (store, billing
 * service with the local provider and a fake clock); rows the public API
 * cannot create at will (leases, pending payments, thousands of tokens) are
 * written with sqlite3 directly on the same database file.
 *
 * Under tests/pg/pg_run.sh (the fixture's store on PostgreSQL, store_path.h)
 * the same cases run on the PostgreSQL backend, the raw rows written with
 * libpq in PostgreSQL's dialect (foreign keys off for that session, as the
 * sqlite3 connection has them), and the index check reads EXPLAIN.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../billing/billing_fixture.h"
#include "../store_path.h"
#include "stream/auth.h"
#include "stream/features.h"
#include "stream/keys.h"
#include "stream/store.h"

#if STREAM_HAVE_POSTGRES
#include <libpq-fe.h>
#endif

#define NOW 1780000000LL
#define WEEK (7 * DAY)

#if STREAM_HAVE_POSTGRES
/* A libpq session on the fixture's database: the URI the fixture opened (dbpath itself when
 * the fixture keeps the URI there), triggers (foreign keys) off like a plain sqlite3
 * connection's. */
static PGconn *pg_raw(void)
{
  char uri[512];
  const char *conninfo =
      strncmp(dbpath, "postgres", 8) == 0 ? dbpath : test_store_path(uri, sizeof uri, dbpath);
  PGconn *c = PQconnectdb(conninfo);
  ck_assert_msg(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
  PGresult *r = PQexec(c, "SET session_replication_role = replica");
  ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
  PQclear(r);
  return c;
}

static void exec_pg(const char *sql)
{
  PGconn *c = pg_raw();
  PGresult *r = PQexec(c, sql);
  ExecStatusType s = PQresultStatus(r);
  ck_assert_msg(s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK, "%s: %s", sql, PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
}

static int count_pg(const char *sql)
{
  PGconn *c = pg_raw();
  PGresult *r = PQexec(c, sql);
  ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", sql,
                PQerrorMessage(c));
  int n = atoi(PQgetvalue(r, 0, 0));
  PQclear(r);
  PQfinish(c);
  return n;
}
#endif

/* Raw SQL in each backend's dialect: `pg` (NULL: the same as `sq`) on PostgreSQL. */
static void exec_raw2(const char *sq, const char *pg)
{
#if STREAM_HAVE_POSTGRES
  if (test_store_is_pg()) {
    exec_pg(pg ? pg : sq);
    return;
  }
#else
  (void)pg;
#endif
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char *err = NULL;
  int rc = sqlite3_exec(db, sq, NULL, NULL, &err);
  ck_assert_msg(rc == SQLITE_OK, "%s: %s", sq, err ? err : "");
  sqlite3_close(db);
}

static void exec_raw(const char *sql)
{
  exec_raw2(sql, NULL);
}

static int count_raw(const char *sql)
{
#if STREAM_HAVE_POSTGRES
  if (test_store_is_pg())
    return count_pg(sql);
#endif
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *st = NULL;
  ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
  int n = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

static stream_store_purge_counts purge_at(int64_t now, const stream_store_purge_policy *p)
{
  stream_store_purge_counts c;
  ck_assert_msg(stream_store_purge(&c, store, now, p) == STREAM_OK, "purge: %s", msg());
  return c;
}

static void insert_token(const char *account, const char *hash_seed, int64_t created,
                         int64_t expires)
{
  stream_store_refresh t;
  memset(&t, 0, sizeof t);
  /* 64 hex characters derived from the seed. */
  for (size_t i = 0; i < STREAM_STORE_TOKEN_HASH_LEN; i++)
    t.token_hash[i] = "0123456789abcdef"[(unsigned char)hash_seed[i % strlen(hash_seed)] % 16];
  snprintf(t.family_id, sizeof t.family_id, "fam-%s", hash_seed);
  snprintf(t.account_id, sizeof t.account_id, "%s", account);
  t.created_at = created;
  t.expires_at = expires;
  ck_assert_msg(stream_store_refresh_insert(store, &t) == STREAM_OK, "%s", msg());
}

static int token_exists(const char *hash_seed)
{
  char hash[STREAM_STORE_TOKEN_HASH_LEN + 1];
  for (size_t i = 0; i < STREAM_STORE_TOKEN_HASH_LEN; i++)
    hash[i] = "0123456789abcdef"[(unsigned char)hash_seed[i % strlen(hash_seed)] % 16];
  hash[STREAM_STORE_TOKEN_HASH_LEN] = '\0';
  stream_store_refresh got;
  int rc = stream_store_refresh_get(&got, store, hash);
  ck_assert(rc == STREAM_OK || rc == STREAM_ENOTFOUND);
  return rc == STREAM_OK;
}

/* ---- policy ------------------------------------------------------------------- */

START_TEST(test_policy_defaults_and_validation)
{
  stream_store_purge_policy p;
  stream_store_purge_policy_default(&p);
  ck_assert_uint_eq(p.version, STREAM_STORE_PURGE_POLICY_VERSION);
  ck_assert_int_eq(p.refresh_grace, WEEK);
  ck_assert_int_eq(p.device_grace, DAY);
  ck_assert_int_eq(p.idempotency_retention, WEEK);
  ck_assert_int_eq(p.lease_grace, DAY);
  ck_assert_uint_eq(p.batch_size, 1000);
  stream_store_purge_policy_default(NULL); /* no-op */

  stream_store_purge_counts c;
  memset(&c, 0xff, sizeof c);
  ck_assert_int_eq(stream_store_purge(&c, NULL, NOW, NULL), STREAM_EINVAL);
  ck_assert_uint_eq(c.refresh_tokens, 0); /* zeroed also on error */
  ck_assert_uint_eq(c.screen_leases, 0);
  ck_assert_int_eq(stream_store_purge(NULL, store, 0, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_purge(NULL, store, -5, NULL), STREAM_EINVAL);

  stream_store_purge_policy bad = p;
  bad.version = 0;
  ck_assert_int_eq(stream_store_purge(NULL, store, NOW, &bad), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "version"));
  bad = p;
  bad.refresh_grace = -1;
  ck_assert_int_eq(stream_store_purge(NULL, store, NOW, &bad), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "refresh_grace"));
  bad = p;
  bad.device_grace = -1;
  ck_assert_int_eq(stream_store_purge(NULL, store, NOW, &bad), STREAM_EINVAL);
  bad = p;
  bad.lease_grace = -1;
  ck_assert_int_eq(stream_store_purge(NULL, store, NOW, &bad), STREAM_EINVAL);
  /* 24 h of replay are promised (docs/api/billing.md): one second less is refused. */
  bad = p;
  bad.idempotency_retention = STREAM_STORE_IDEMPOTENCY_RETENTION_MIN - 1;
  ck_assert_int_eq(stream_store_purge(NULL, store, NOW, &bad), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "idempotency_retention"));
  bad.idempotency_retention = STREAM_STORE_IDEMPOTENCY_RETENTION_MIN;
  ck_assert_int_eq(stream_store_purge(NULL, store, NOW, &bad), STREAM_OK);
  bad = p;
  bad.batch_size = 0;
  ck_assert_int_eq(stream_store_purge(NULL, store, NOW, &bad), STREAM_EINVAL);
  bad.batch_size = STREAM_STORE_PURGE_BATCH_MAX + 1;
  ck_assert_int_eq(stream_store_purge(NULL, store, NOW, &bad), STREAM_EINVAL);
  bad.batch_size = STREAM_STORE_PURGE_BATCH_MAX;
  ck_assert_int_eq(stream_store_purge(NULL, store, NOW, &bad), STREAM_OK);

  /* NULL policy = defaults; an empty store purges nothing. A grace longer
   * than the epoch is clamped, not overflowed. */
  c = purge_at(NOW, NULL);
  ck_assert_uint_eq(
      c.refresh_tokens + c.device_authorizations + c.idempotency_keys + c.screen_leases, 0);
  bad = p;
  bad.refresh_grace = INT64_MAX;
  bad.idempotency_retention = INT64_MAX;
  c = purge_at(NOW, &bad);
  ck_assert_uint_eq(c.refresh_tokens, 0);
}
END_TEST

/* ---- refresh tokens ------------------------------------------------------------- */

START_TEST(test_refresh_tokens_boundary)
{
  char acct[STREAM_STORE_ID_SIZE];
  new_account(acct, "tokens@example.com");
  insert_token(acct, "edge", NOW - 60 * DAY, NOW - WEEK);     /* exactly grace ago: kept */
  insert_token(acct, "past", NOW - 60 * DAY, NOW - WEEK - 1); /* one second more: deleted */
  insert_token(acct, "live", NOW - DAY, NOW + 100);           /* unexpired: kept */
  insert_token(acct, "gone", NOW - 90 * DAY, NOW - 60 * DAY); /* long expired: deleted */
  insert_token(acct, "fresh", NOW - 10, NOW - 1);             /* just expired: kept */
  /* Used and revoked, but unexpired: reuse detection needs it, kept. */
  insert_token(acct, "used", NOW - DAY, NOW + DAY);
  char hash[STREAM_STORE_TOKEN_HASH_LEN + 1];
  for (size_t i = 0; i < STREAM_STORE_TOKEN_HASH_LEN; i++)
    hash[i] = "0123456789abcdef"[(unsigned char)"used"[i % 4] % 16];
  hash[STREAM_STORE_TOKEN_HASH_LEN] = '\0';
  ck_assert_int_eq(stream_store_refresh_mark_used(store, hash, NOW - 5), STREAM_OK);
  ck_assert_int_eq(stream_store_refresh_revoke_family(NULL, store, "fam-used", NOW - 4), STREAM_OK);

  stream_store_purge_counts c = purge_at(NOW, NULL);
  ck_assert_uint_eq(c.refresh_tokens, 2);
  ck_assert_uint_eq(c.device_authorizations, 0);
  ck_assert_int_eq(token_exists("edge"), 1);
  ck_assert_int_eq(token_exists("past"), 0);
  ck_assert_int_eq(token_exists("live"), 1);
  ck_assert_int_eq(token_exists("gone"), 0);
  ck_assert_int_eq(token_exists("fresh"), 1);
  ck_assert_int_eq(token_exists("used"), 1);
  /* Idempotent: a second purge at the same time finds nothing. */
  ck_assert_uint_eq(purge_at(NOW, NULL).refresh_tokens, 0);
  /* A zero grace deletes every expired row, never the unexpired ones. */
  stream_store_purge_policy p;
  stream_store_purge_policy_default(&p);
  p.refresh_grace = 0;
  ck_assert_uint_eq(purge_at(NOW, &p).refresh_tokens, 2); /* edge, fresh */
  ck_assert_int_eq(token_exists("live"), 1);
  ck_assert_int_eq(token_exists("used"), 1);
}
END_TEST

static int64_t auth_clock(void *ud)
{
  return *(int64_t *)ud;
}

START_TEST(test_reuse_detection_survives_purge)
{
  static const stream_password_params cheap = {
      STREAM_PASSWORD_PARAMS_VERSION, 8, 1, 1, 16, 8, NULL};
  stream_keyring *ring = NULL;
  ck_assert_int_eq(stream_keyring_new(&ring), STREAM_OK);
  stream_key *k = NULL;
  ck_assert_int_eq(stream_key_generate(&k, STREAM_KEY_HMAC, "k1", 32), STREAM_OK);
  ck_assert_int_eq(stream_keyring_add(ring, k), STREAM_OK);
  stream_key_free(k);
  int64_t t = NOW;
  stream_auth_options o = STREAM_AUTH_OPTIONS_INIT;
  o.store = store;
  o.keys = ring;
  o.password = &cheap;
  o.now = auth_clock;
  o.now_userdata = &t;
  stream_auth *auth = NULL;
  ck_assert_int_eq(stream_auth_new(&auth, &o), STREAM_OK);

  stream_auth_account acct;
  ck_assert_int_eq(stream_auth_register(&acct, auth, "reuse@example.com", "correct horse"),
                   STREAM_OK);
  stream_auth_tokens t1, t2, t3;
  ck_assert_int_eq(stream_auth_login(&t1, NULL, auth, "reuse@example.com", "correct horse", NULL),
                   STREAM_OK);
  t += 100;
  ck_assert_int_eq(stream_auth_refresh(&t2, auth, t1.refresh_token), STREAM_OK); /* t1 used */
  /* A stale token of another session, long expired: the purge has work to do. */
  insert_token(acct.id, "stale", NOW - 90 * DAY, NOW - 60 * DAY);

  /* 29 days later t1 (expires NOW + 30 days) is rotated but unexpired: the
   * purge must leave it, even with no grace at all. */
  t = NOW + 29 * DAY;
  stream_store_purge_policy p;
  stream_store_purge_policy_default(&p);
  p.refresh_grace = 0;
  stream_store_purge_counts c = purge_at(t, &p);
  ck_assert_uint_eq(c.refresh_tokens, 1);
  ck_assert_int_eq(token_exists("stale"), 0);

  /* Replaying the rotated token is still reuse: the whole family dies. */
  ck_assert_int_eq(stream_auth_refresh(&t3, auth, t1.refresh_token), STREAM_EAUTH);
  ck_assert_ptr_nonnull(strstr(msg(), "reuse detected"));
  ck_assert_int_eq(stream_auth_refresh(&t3, auth, t2.refresh_token), STREAM_EAUTH);
  ck_assert_ptr_nonnull(strstr(msg(), "revoked"));

  stream_auth_free(auth);
  stream_keyring_free(ring);
}
END_TEST

/* ---- device authorizations ------------------------------------------------------ */

static void insert_device(const char *seed, const char *user_code, int64_t expires)
{
  stream_store_device d;
  memset(&d, 0, sizeof d);
  for (size_t i = 0; i < STREAM_STORE_TOKEN_HASH_LEN; i++)
    d.device_code_hash[i] = "0123456789abcdef"[(unsigned char)seed[i % strlen(seed)] % 16];
  snprintf(d.user_code, sizeof d.user_code, "%s", user_code);
  snprintf(d.client_id, sizeof d.client_id, "tv-app");
  d.interval = 5;
  d.created_at = expires - 600;
  d.expires_at = expires;
  ck_assert_msg(stream_store_device_insert(store, &d) == STREAM_OK, "%s", msg());
}

START_TEST(test_device_authorizations_boundary)
{
  char acct[STREAM_STORE_ID_SIZE];
  new_account(acct, "tv@example.com");
  insert_device("aa", "EDGE0001", NOW - DAY);     /* pending, exactly grace ago: kept */
  insert_device("bb", "PAST0001", NOW - DAY - 1); /* pending, a second more: deleted */
  insert_device("cc", "DENY0001", NOW - 3 * DAY); /* denied: deleted */
  insert_device("dd", "USED0001", NOW - 3 * DAY); /* approved and consumed: deleted */
  insert_device("ee", "LIVE0001", NOW + 300);     /* pending, unexpired: kept */
  insert_device("ff", "APPR0001", NOW - 2 * DAY); /* approved, never consumed: deleted */
  ck_assert_int_eq(stream_store_device_deny(store, "DENY0001", NOW - 3 * DAY - 500), STREAM_OK);
  ck_assert_int_eq(stream_store_device_approve(store, "USED0001", acct, NULL, NOW - 3 * DAY - 500),
                   STREAM_OK);
  ck_assert_int_eq(stream_store_device_approve(store, "APPR0001", acct, NULL, NOW - 2 * DAY - 500),
                   STREAM_OK);
  stream_store_device got;
  ck_assert_int_eq(stream_store_device_get_by_user_code(&got, store, "USED0001"), STREAM_OK);
  ck_assert_int_eq(
      stream_store_device_consume(NULL, store, got.device_code_hash, NOW - 3 * DAY - 400),
      STREAM_OK);

  stream_store_purge_counts c = purge_at(NOW, NULL);
  ck_assert_uint_eq(c.device_authorizations, 4);
  ck_assert_uint_eq(c.refresh_tokens, 0);
  ck_assert_int_eq(stream_store_device_get_by_user_code(&got, store, "EDGE0001"), STREAM_OK);
  ck_assert_int_eq(stream_store_device_get_by_user_code(&got, store, "LIVE0001"), STREAM_OK);
  ck_assert_int_eq(stream_store_device_get_by_user_code(&got, store, "PAST0001"), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_store_device_get_by_user_code(&got, store, "DENY0001"), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_store_device_get_by_user_code(&got, store, "USED0001"), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_store_device_get_by_user_code(&got, store, "APPR0001"), STREAM_ENOTFOUND);
  ck_assert_int_eq(count_raw("SELECT count(*) FROM device_authorizations"), 2);
}
END_TEST

/* ---- idempotency keys ----------------------------------------------------------- */

START_TEST(test_idempotency_replay_and_purged_key_is_new)
{
  char acct[STREAM_STORE_ID_SIZE];
  new_account(acct, "idem@example.com");
  stream_billing_card c1, again;
  add_card(&c1, acct, "tok_4242424242424242", "card-1"); /* recorded at JAN31 */
  int payments = count_raw("SELECT count(*) FROM payments");

  /* Exactly the retention later: kept; the replay answers the first result. */
  stream_store_purge_counts c = purge_at(JAN31 + WEEK, NULL);
  ck_assert_uint_eq(c.idempotency_keys, 0);
  clock_now = JAN31 + WEEK;
  add_card(&again, acct, "tok_4242424242424242", "card-1");
  ck_assert_str_eq(again.id, c1.id);
  ck_assert_int_eq(stream_billing_card_add(&again, bill, acct, "tok_5555555555554444", "card-1"),
                   STREAM_ECONFLICT);

  /* One second more: the key is purged and the same key is a new request. */
  c = purge_at(JAN31 + WEEK + 1, NULL);
  ck_assert_uint_eq(c.idempotency_keys, 1);
  clock_now = JAN31 + WEEK + 1;
  ck_assert_int_eq(stream_billing_card_add(&again, bill, acct, "tok_5555555555554444", "card-1"),
                   STREAM_OK);
  ck_assert_str_ne(again.id, c1.id);
  ck_assert_int_eq(count_raw("SELECT count(*) FROM cards"), 2);
  ck_assert_int_eq(count_raw("SELECT count(*) FROM payments"), payments);
}
END_TEST

START_TEST(test_idempotency_in_progress_kept_while_pending)
{
  /* In-progress keys (response NULL) written the way the two-phase payment
   * and refund protocols leave them; payments and refunds never go. Written
   * without foreign keys: only the rows the purge reads matter here. */
  exec_raw(
      "BEGIN;"
      "INSERT INTO idempotency_keys (scope, key, request_hash, code, response, created_at) "
      "VALUES ('acct-a', 'pay-pending', 'h', 0, NULL, 1000),"
      "       ('acct-b', 'pay-settled', 'h', 0, NULL, 1000),"
      "       ('acct-c', 'orphan', 'h', 0, NULL, 1000),"
      "       ('acct-d', 'refund-pending', 'h', 0, NULL, 1000),"
      "       ('acct-e', 'done', 'h', 0, '{}', 1000),"
      "       ('acct-f', 'young', 'h', 0, NULL, 1780000000);"
      "INSERT INTO payments (id, invoice_id, account_id, method_token, kind, amount, currency,"
      " status, provider_key, idem_scope, idem_key, created_at) VALUES"
      " ('p1', 'inv1', 'acct-a', 'm', 0, 100, 'USD', 0, 'pay-p1', 'acct-a', 'pay-pending', 1000),"
      " ('p2', 'inv2', 'acct-b', 'm', 0, 100, 'USD', 1, 'pay-p2', 'acct-b', 'pay-settled', 1000);"
      "INSERT INTO refunds (id, invoice_id, payment_id, amount, status, provider_key, idem_scope,"
      " idem_key, created_at) VALUES"
      " ('r1', 'inv2', 'p2', 50, 0, 'refund-r1', 'acct-d', 'refund-pending', 1000);"
      "COMMIT;");
  stream_store_purge_counts c = purge_at(NOW, NULL);
  ck_assert_uint_eq(c.idempotency_keys, 3); /* pay-settled, orphan, done */
  ck_assert_int_eq(count_raw("SELECT count(*) FROM idempotency_keys WHERE key IN "
                             "('pay-pending', 'refund-pending', 'young')"),
                   3);
  ck_assert_int_eq(count_raw("SELECT count(*) FROM idempotency_keys"), 3);
  /* Once the payment settles (its outcome recorded), the key may go. */
  exec_raw("UPDATE payments SET status = 1 WHERE id = 'p1';"
           "UPDATE idempotency_keys SET response = '{}' WHERE key = 'pay-pending';");
  ck_assert_uint_eq(purge_at(NOW, NULL).idempotency_keys, 1);
  ck_assert_int_eq(count_raw("SELECT count(*) FROM payments"), 2);
  ck_assert_int_eq(count_raw("SELECT count(*) FROM refunds"), 1);
  /* The hand-made rows would not pass the books check of the teardown. */
  exec_raw("DELETE FROM refunds; DELETE FROM payments;");
}
END_TEST

/* ---- screen leases -------------------------------------------------------------- */

START_TEST(test_screen_leases_boundary)
{
  exec_raw("INSERT INTO screen_leases (id, account_id, profile_id, title_id, device_id,"
           " started_at, expires_at) VALUES"
           " ('edge', 'a', 'p', 't', 'd1', 1000, 1780000000 - 86400),"
           " ('past', 'a', 'p', 't', 'd2', 1000, 1780000000 - 86401),"
           " ('lapsed', 'a', 'p', 't', 'd3', 1000, 1780000000 - 10),"
           " ('live', 'a', 'p', 't', 'd4', 1000, 1780000000 + 90),"
           " ('old', 'b', 'p', 't', 'd1', 1000, 2000);");
  stream_store_purge_counts c = purge_at(NOW, NULL);
  ck_assert_uint_eq(c.screen_leases, 2);
  ck_assert_int_eq(count_raw("SELECT count(*) FROM screen_leases WHERE id IN "
                             "('edge', 'lapsed', 'live')"),
                   3);
  ck_assert_int_eq(count_raw("SELECT count(*) FROM screen_leases"), 3);
  exec_raw("DELETE FROM screen_leases;");
}
END_TEST

/* ---- batches -------------------------------------------------------------------- */

START_TEST(test_purge_crosses_batches)
{
  /* 2500 expired tokens and 3 live ones, written in one transaction. */
  exec_raw2("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) "
            "INSERT INTO refresh_tokens (token_hash, family_id, account_id, created_at, expires_at)"
            " SELECT printf('%064d', i), 'f', 'acct', 1000, 2000 + i FROM n;"
            "INSERT INTO refresh_tokens (token_hash, family_id, account_id, created_at, expires_at)"
            " VALUES ('live1', 'f', 'acct', 1000, 1790000000), ('live2', 'f', 'acct', 1000,"
            " 1790000000), ('live3', 'f', 'acct', 1000, 1790000000);",
            "INSERT INTO refresh_tokens (token_hash, family_id, account_id, created_at, expires_at)"
            " SELECT lpad(i::text, 64, '0'), 'f', 'acct', 1000, 2000 + i"
            " FROM generate_series(1, 2500) AS n(i);"
            "INSERT INTO refresh_tokens (token_hash, family_id, account_id, created_at, expires_at)"
            " VALUES ('live1', 'f', 'acct', 1000, 1790000000), ('live2', 'f', 'acct', 1000,"
            " 1790000000), ('live3', 'f', 'acct', 1000, 1790000000);");
  stream_store_purge_counts c = purge_at(NOW, NULL); /* batches of 1000: 1000, 1000, 500 */
  ck_assert_uint_eq(c.refresh_tokens, 2500);
  ck_assert_int_eq(count_raw("SELECT count(*) FROM refresh_tokens"), 3);

  /* An exact multiple of the batch size, and a tiny batch. */
  exec_raw2("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
            "INSERT INTO device_authorizations (device_code_hash, user_code, client_id, status,"
            " interval_s, created_at, expires_at) SELECT printf('%064d', i), printf('U%07d', i),"
            " 'tv', 3, 5, 1000, 2000 FROM n;",
            "INSERT INTO device_authorizations (device_code_hash, user_code, client_id, status,"
            " interval_s, created_at, expires_at) SELECT lpad(i::text, 64, '0'),"
            " 'U' || lpad(i::text, 7, '0'), 'tv', 3, 5, 1000, 2000"
            " FROM generate_series(1, 2000) AS n(i);");
  stream_store_purge_policy p;
  stream_store_purge_policy_default(&p);
  c = purge_at(NOW, &p);
  ck_assert_uint_eq(c.device_authorizations, 2000);
  exec_raw2("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50) "
            "INSERT INTO idempotency_keys (scope, key, request_hash, response, created_at)"
            " SELECT 's', printf('k%d', i), 'h', '{}', 1000 FROM n;",
            "INSERT INTO idempotency_keys (scope, key, request_hash, response, created_at)"
            " SELECT 's', 'k' || i, 'h', '{}', 1000 FROM generate_series(1, 50) AS n(i);");
  p.batch_size = 7;
  c = purge_at(NOW, &p);
  ck_assert_uint_eq(c.idempotency_keys, 50);
  ck_assert_int_eq(count_raw("SELECT count(*) FROM idempotency_keys"), 0);
  ck_assert_int_eq(count_raw("SELECT count(*) FROM refresh_tokens"), 3);
}
END_TEST

#if STREAM_HAVE_POSTGRES
/* PostgreSQL: the purge statements of postgres/purge.c, planned with sequential scans priced
 * out (tables this small would otherwise rightly be scanned): every table is read through an
 * index, and the batch's range through the retention index named. */
static void pg_purge_queries_use_indexes(void)
{
  static const char *const q[][2] = {
      {"EXPLAIN DELETE FROM refresh_tokens WHERE token_hash IN (SELECT token_hash FROM "
       "refresh_tokens WHERE expires_at < 1 LIMIT 10)",
       "refresh_tokens_expiry"},
      {"EXPLAIN DELETE FROM device_authorizations WHERE device_code_hash IN (SELECT "
       "device_code_hash FROM device_authorizations WHERE expires_at < 1 LIMIT 10)",
       "device_authorizations_expiry"},
      {"EXPLAIN DELETE FROM screen_leases WHERE id IN (SELECT id FROM screen_leases WHERE "
       "expires_at < 1 LIMIT 10)",
       "screen_leases_expiry"},
      {"EXPLAIN DELETE FROM password_resets WHERE token_hash IN (SELECT token_hash FROM "
       "password_resets WHERE expires_at < 1 LIMIT 10)",
       "password_resets_expiry"},
      {"EXPLAIN DELETE FROM idempotency_keys WHERE (scope, key) IN (SELECT k.scope, k.key FROM "
       "idempotency_keys k WHERE k.created_at < 1 AND (k.response IS NOT NULL OR (NOT EXISTS "
       "(SELECT 1 FROM payments p WHERE p.status = 0 AND p.idem_scope = k.scope AND "
       "p.idem_key = k.key) AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.status = 0 AND "
       "r.idem_scope = k.scope AND r.idem_key = k.key))) LIMIT 10)",
       "idempotency_keys_created"},
  };
  PGconn *c = pg_raw();
  PQclear(PQexec(c, "SET enable_seqscan = off"));
  for (size_t i = 0; i < sizeof q / sizeof *q; i++) {
    PGresult *r = PQexec(c, q[i][0]);
    ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", q[i][0], PQerrorMessage(c));
    bool range = false;
    for (int row = 0; row < PQntuples(r); row++) {
      const char *line = PQgetvalue(r, row, 0);
      ck_assert_msg(!strstr(line, "Seq Scan"), "%s: %s", q[i][0], line);
      if (strstr(line, q[i][1]))
        range = true;
    }
    ck_assert_msg(range, "%s: no %s in the plan", q[i][0], q[i][1]);
    PQclear(r);
  }
  PQfinish(c);
}
#endif

/* Each purge query reads an index range (migration 10), never the whole table. */
START_TEST(test_purge_queries_use_indexes)
{
#if STREAM_HAVE_POSTGRES
  if (test_store_is_pg()) {
    pg_purge_queries_use_indexes();
    return;
  }
#endif
  static const char *const q[] = {
      "EXPLAIN QUERY PLAN SELECT rowid FROM refresh_tokens WHERE expires_at < 1 LIMIT 10",
      "EXPLAIN QUERY PLAN SELECT rowid FROM device_authorizations WHERE expires_at < 1 LIMIT 10",
      "EXPLAIN QUERY PLAN SELECT rowid FROM screen_leases WHERE expires_at < 1 LIMIT 10",
      "EXPLAIN QUERY PLAN SELECT k.rowid FROM idempotency_keys k WHERE k.created_at < 1 AND "
      "(k.response IS NOT NULL OR (NOT EXISTS (SELECT 1 FROM payments p WHERE p.status = 0 AND "
      "p.idem_scope = k.scope AND p.idem_key = k.key) AND NOT EXISTS (SELECT 1 FROM refunds r "
      "WHERE r.status = 0 AND r.idem_scope = k.scope AND r.idem_key = k.key))) LIMIT 10",
  };
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  for (size_t i = 0; i < sizeof q / sizeof *q; i++) {
    sqlite3_stmt *st = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, q[i], -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
      const char *detail = (const char *)sqlite3_column_text(st, 3);
      ck_assert_msg(strncmp(detail, "SCAN", 4) != 0, "%s: %s", q[i], detail);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
}
END_TEST

static Suite *purge_suite(void)
{
  Suite *s = suite_create("store-purge");
  TCase *tc = tcase_create("purge");
  tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_policy_defaults_and_validation);
  tcase_add_test(tc, test_refresh_tokens_boundary);
  tcase_add_test(tc, test_reuse_detection_survives_purge);
  tcase_add_test(tc, test_device_authorizations_boundary);
  tcase_add_test(tc, test_idempotency_replay_and_purged_key_is_new);
  tcase_add_test(tc, test_idempotency_in_progress_kept_while_pending);
  tcase_add_test(tc, test_screen_leases_boundary);
  tcase_add_test(tc, test_purge_crosses_batches);
  tcase_add_test(tc, test_purge_queries_use_indexes);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(purge_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
