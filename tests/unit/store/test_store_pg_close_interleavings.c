/*
 * The account close against the writes that take no writers' lock
 * (libstream/store/postgres/pg_internal.h, store__pg_wbegin_unlocked: progress
 * upsert, My List add and remove, rating put and delete, screen-lease
 * heartbeat and release), in fixed interleavings instead of a race
 * (test_account_tombstone.c races them; this file pins each order the
 * argument in pg_internal.h and docs/api/store.md "PostgreSQL" names):
 *
 * - the writes commit while the close waits, at its profile DELETE (another
 *   session holds FOR KEY SHARE on the profile, as a committed-first write's
 *   foreign-key check does) or before any of its deletes (another session
 *   holds the account's idempotency-key row): they do not wait (observed:
 *   never waiting on a lock while the close does), their rows are visible to
 *   a third session, and then the close completes and no row of them is left;
 *   a renewed lease is counted in the close's screen_leases;
 * - the writes after the close committed: refused (STREAM_ENOTFOUND; a
 *   remove or delete has nothing to remove, STREAM_OK), no row;
 * - the writes while the close holds its deletes uncommitted (another session
 *   holds FOR SHARE on the account row, so the close stops at its last
 *   statement, the tombstone UPDATE): each waits for the close (observed in
 *   pg_stat_activity), then fails cleanly or finds nothing, and no row is left
 *   (an upsert of a row the cascade deleted waits on its key, then fails the
 *   foreign key);
 * - a heartbeat against an acquire that replaces the device's lapsed lease
 *   (held uncommitted by a row lock on the title its INSERT references):
 *   waits, then STREAM_ENOTFOUND, the new lease not renewed; and an acquire
 *   waiting for the writers' lock while a heartbeat renews the lease: the
 *   acquire sees the renewal (READ COMMITTED) and keeps the lease.
 *
 * Order is made by row locks of a raw libpq session ("holder") and observed
 * from another ("watcher") in pg_stat_activity (wait_event_type 'Lock' and the
 * statement a backend waits in), never by sleeping a fixed time: the loops
 * below poll until a state is reached, and the test case's timeout is only
 * the safety net for a hang. Library calls run in threads (one pooled
 * connection each). PostgreSQL only: run under tests/pg/pg_run.sh
 * (unit-store-pg-close-interleavings); skipped (77) without STREAM_TEST_PG.
 */
#include <check.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../store_path.h"
#include "store/store_internal.h"
#include "store/store_leases.h"
#include "viewing_fixture.h"

#define T0 1700000000
#define TTL 90
/* pg_store.c: PG_LOCK_CLASS, PG_LOCK_WRITERS */
#define LOCK_KEY "1398035021, 1"

static char uri[512];
static stream_store *store;
static PGconn *holder;          /* takes the row locks that stop a library call */
static PGconn *watcher;         /* reads pg_stat_activity and the committed rows */
static test_viewing_fixture fx; /* the starting rows (viewing_fixture.h) */

#define OK(expr) ck_assert_msg((expr) == STREAM_OK, "%s: %s", #expr, msg())

static const char *msg(void)
{
  const stream_error *e = stream_error_last();
  return e ? e->message : "";
}

/* ---- raw sessions -------------------------------------------------------------- */

static PGconn *session(void)
{
  PGconn *c = PQconnectdb(uri);
  ck_assert_msg(PQstatus(c) == CONNECTION_OK, "session: %s", PQerrorMessage(c));
  return c;
}

static void run(PGconn *c, const char *sql)
{
  PGresult *r = PQexec(c, sql);
  ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
                "%s: %s", sql, PQerrorMessage(c));
  PQclear(r);
}

/* The first column of the first row of `sql` on the watcher, as an integer. */
static long long watch_int(const char *sql)
{
  PGresult *r = PQexec(watcher, sql);
  ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", sql,
                PQerrorMessage(watcher));
  const char *v = PQgetvalue(r, 0, 0);
  long long n = strcmp(v, "t") == 0 ? 1 : strcmp(v, "f") == 0 ? 0 : atoll(v);
  PQclear(r);
  return n;
}

/* The backends of the test's database (the watcher aside) that wait for a heavyweight lock:
 * "pid wait_event: query" each, for a failure message. */
static void waiters(char *out, size_t cap)
{
  PGresult *r = PQexec(watcher, "SELECT coalesce(string_agg(pid || ' ' || wait_event || ': ' || "
                                "left(query, 80), '; '), '') FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                                "AND backend_type = 'client backend' AND state = 'active' "
                                "AND wait_event_type = 'Lock'");
  snprintf(out, cap, "%s",
           PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0)
                                                                     : PQerrorMessage(watcher));
  PQclear(r);
}

/* Committed rows of `table` for the profile. */
static long long rows(const char *table)
{
  char sql[400];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE profile_id = '%s'", table,
           fx.profile_id);
  return watch_int(sql);
}

static long long leases(void)
{
  char sql[400];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM screen_leases WHERE account_id = '%s'",
           fx.account_id);
  return watch_int(sql);
}

static long long lease_expiry(const char *id)
{
  char sql[400];
  snprintf(sql, sizeof sql, "SELECT expires_at FROM screen_leases WHERE id = '%s'", id);
  return watch_int(sql);
}

/* Backends of the test's database (the watcher aside) that wait for a heavyweight lock (a
 * row's transaction, a tuple, an advisory lock) in a statement LIKE `like`; `like` NULL:
 * any statement. `not_like` (may be NULL): leave out the statements LIKE it. */
static long long waiting(const char *like, const char *not_like)
{
  char sql[600];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
           "AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state = 'active' "
           "AND wait_event_type = 'Lock' "
           "AND query LIKE '%s' AND query NOT LIKE '%s'",
           like ? like : "%", not_like ? not_like : "");
  return watch_int(sql);
}

/* ---- library calls in threads ------------------------------------------------------ */

enum op {
  OP_CLOSE,
  OP_PROGRESS,
  OP_MYLIST_ADD,
  OP_MYLIST_REMOVE,
  OP_RATING_PUT,
  OP_RATING_DELETE,
  OP_HEARTBEAT,
  OP_RELEASE,
  OP_ACQUIRE,
};

typedef struct call {
  enum op op;
  const char *title;   /* viewing writes: the title */
  const char *episode; /* progress: the episode, "" for a movie */
  const char *lease;   /* heartbeat, release, acquire: the lease id */
  int64_t now;
  const char *name; /* in messages */
  /* the statement it waits in, when it waits (pg_stat_activity.query LIKE) */
  const char *waits_in;
  pthread_t th;
  atomic_int done;
  int rc;
  char msg[512];
  stream_store_account_close_counts counts;
  stream_billing_lease out;
} call;

static int allow(void *userdata, const store__lease_facts *facts)
{
  (void)userdata;
  (void)facts;
  return STREAM_OK;
}

static void *call_thread(void *arg)
{
  call *c = arg;
  const struct stream_store_lease_ops *ls = store->backend->leases;
  stream_store_progress p;
  int rc = STREAM_EINTERNAL;
  switch (c->op) {
  case OP_CLOSE:
    rc = stream_store_account_close(&c->counts, store, fx.account_id, c->now);
    break;
  case OP_PROGRESS:
    memset(&p, 0, sizeof p);
    snprintf(p.profile_id, sizeof p.profile_id, "%s", fx.profile_id);
    snprintf(p.title_id, sizeof p.title_id, "%s", c->title);
    snprintf(p.episode_id, sizeof p.episode_id, "%s", c->episode ? c->episode : "");
    p.position_ms = (c->now - T0) * 1000;
    p.duration_ms = 3600000;
    rc = stream_store_progress_upsert(store, &p, c->now);
    break;
  case OP_MYLIST_ADD:
    rc = stream_store_mylist_add(store, fx.profile_id, c->title, c->now);
    break;
  case OP_MYLIST_REMOVE:
    rc = stream_store_mylist_remove(store, fx.profile_id, c->title);
    break;
  case OP_RATING_PUT:
    rc = stream_store_rating_put(store, fx.profile_id, c->title, 1, c->now);
    break;
  case OP_RATING_DELETE:
    rc = stream_store_rating_delete(store, fx.profile_id, c->title);
    break;
  case OP_HEARTBEAT:
    rc = ls->heartbeat(store->impl, &c->out, fx.account_id, c->lease, c->now, TTL);
    break;
  case OP_RELEASE:
    rc = ls->release(store->impl, fx.account_id, c->lease);
    break;
  case OP_ACQUIRE: {
    stream_billing_lease in;
    memset(&in, 0, sizeof in);
    snprintf(in.id, sizeof in.id, "%s", c->lease);
    snprintf(in.account_id, sizeof in.account_id, "%s", fx.account_id);
    snprintf(in.profile_id, sizeof in.profile_id, "%s", fx.profile_id);
    snprintf(in.title_id, sizeof in.title_id, "%s", fx.movie_id);
    snprintf(in.device_id, sizeof in.device_id, "tv");
    store__lease_facts f;
    rc = ls->acquire(store->impl, &c->out, &f, &in, c->now, TTL, allow, NULL);
    break;
  }
  }
  c->rc = rc;
  snprintf(c->msg, sizeof c->msg, "%s", rc == STREAM_OK ? "" : msg());
  atomic_store(&c->done, 1);
  return NULL;
}

static void start(call *c)
{
  atomic_store(&c->done, 0);
  c->rc = STREAM_EINTERNAL;
  ck_assert_int_eq(pthread_create(&c->th, NULL, call_thread, c), 0);
}

static void join(call *c)
{
  ck_assert_int_eq(pthread_join(c->th, NULL), 0);
}

static void expect(const call *c, int rc)
{
  ck_assert_msg(c->rc == rc, "%s: %d (%s), expected %d", c->name, c->rc, c->msg, rc);
}

/* Until `same` backends wait for a lock in c's statement (c->waits_in), `total` waiting in
 * all with c. Failing when c returned instead, or waits for a lock in another statement (all
 * `total` wait, but fewer than `same` in c's): it did not wait where the interleaving needs.
 * Both counts come from one read of pg_stat_activity. That read is not atomic per backend:
 * the statement text comes from the backend statuses PostgreSQL copies once per watcher
 * transaction, the wait event live from the backend's PGPROC, so a backend that just moved
 * into its statement and waits there can show the previous statement's text with the new
 * wait (seen twice in CI and once locally). Such a read is taken again; a backend really
 * waiting elsewhere stays there, so three reads in a row that say so fail. */
static void await_waiting(const call *c, long long same, long long total)
{
  int elsewhere = 0;
  char sql[600];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FILTER (WHERE query LIKE '%s') * 1000 + count(*) "
           "FROM pg_stat_activity WHERE datname = current_database() "
           "AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND state = 'active' "
           "AND wait_event_type = 'Lock'",
           c->waits_in);
  for (;;) {
    long long both = watch_int(sql), in_stmt = both / 1000, all = both % 1000;
    if (in_stmt >= same) {
      ck_assert_msg(all == total, "%lld backends wait, expected %lld", all, total);
      return;
    }
    ck_assert_msg(!atomic_load(&c->done), "%s returned %d (%s) instead of waiting in %s", c->name,
                  c->rc, c->msg, c->waits_in);
    elsewhere = all >= total ? elsewhere + 1 : 0;
    if (elsewhere >= 3) {
      char who[1024];
      waiters(who, sizeof who);
      ck_assert_msg(0, "%s waits for a lock, but not in %s (waiting: %s)", c->name, c->waits_in,
                    who);
    }
    usleep(2000);
  }
}

/* Run c to its end while `blocked` (a call started earlier) waits in its statement, and show
 * that c never waited for a lock meanwhile: a waiting c stays waiting until the holder lets go
 * (after this returns), so the loop sees it. */
static void run_unblocked(call *c, const call *blocked)
{
  start(c);
  while (!atomic_load(&c->done)) {
    long long others = waiting(NULL, blocked->waits_in);
    ck_assert_msg(others == 0, "%s waits for a lock while %s waits in %s", c->name, blocked->name,
                  blocked->waits_in);
    usleep(1000);
  }
  join(c);
  ck_assert_msg(!atomic_load(&blocked->done) && waiting(blocked->waits_in, NULL) == 1,
                "%s stopped waiting before %s was done", blocked->name, c->name);
}

/* ---- fixture -------------------------------------------------------------------------- */

static void setup(void)
{
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  o.path = test_store_path(uri, sizeof uri, ":memory:");
  o.readers = 16;            /* a pooled connection for every thread below */
  o.busy_timeout_ms = 60000; /* the library's sessions wait for the holder's row locks */
  OK(stream_store_open(&store, &o));
  holder = session();
  watcher = session();

  test_viewing_fixture_create(&fx, store, "close@pg.test", T0);

  /* Rows that exist before the interleaving: the movies' resume position, My List entries
   * and ratings (so upserts update and removes remove), two live leases of the account
   * (acquiring needs a plan and a subscription: inserted raw) and a billing idempotency
   * record of the account (a row the close deletes before the leases and the profiles). */
  stream_store_progress pr;
  memset(&pr, 0, sizeof pr);
  snprintf(pr.profile_id, sizeof pr.profile_id, "%s", fx.profile_id);
  snprintf(pr.title_id, sizeof pr.title_id, "%s", fx.movie_id);
  pr.position_ms = 1000;
  pr.duration_ms = 3600000;
  OK(stream_store_progress_upsert(store, &pr, T0));
  OK(stream_store_mylist_add(store, fx.profile_id, fx.movie_id, T0));
  OK(stream_store_mylist_add(store, fx.profile_id, fx.movie2_id, T0));
  OK(stream_store_rating_put(store, fx.profile_id, fx.movie_id, -1, T0));
  OK(stream_store_rating_put(store, fx.profile_id, fx.movie2_id, -1, T0));
  char sql[1024];
  snprintf(sql, sizeof sql,
           "INSERT INTO screen_leases (id, account_id, profile_id, title_id, device_id, "
           "started_at, expires_at) VALUES ('lease-tv', '%s', '%s', '%s', 'tv', %d, %d), "
           "('lease-phone', '%s', '%s', '%s', 'phone', %d, %d); "
           "INSERT INTO idempotency_keys (scope, key, request_hash, created_at) "
           "VALUES ('%s', 'k1', 'h1', %d)",
           fx.account_id, fx.profile_id, fx.movie_id, T0, T0 + 60, fx.account_id, fx.profile_id,
           fx.movie_id, T0, T0 + 60, fx.account_id, T0);
  run(watcher, sql);
}

static void teardown(void)
{
  PQfinish(holder);
  PQfinish(watcher);
  holder = watcher = NULL;
  stream_store_close(store);
  store = NULL;
}

/* Nothing personal of the profile or the account is left, and the account is a tombstone. */
static void assert_erased(int64_t closed_at)
{
  ck_assert_int_eq(rows("progress"), 0);
  ck_assert_int_eq(rows("my_list"), 0);
  ck_assert_int_eq(rows("ratings"), 0);
  ck_assert_int_eq(leases(), 0);
  char sql[400];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM profiles WHERE account_id = '%s'", fx.account_id);
  ck_assert_int_eq(watch_int(sql), 0);
  snprintf(sql, sizeof sql, "SELECT deleted_at FROM accounts WHERE id = '%s'", fx.account_id);
  ck_assert_int_eq(watch_int(sql), closed_at);
}

#define CALL(op_, name_, ...)                                                                      \
  {                                                                                                \
    .op = op_, .name = name_, __VA_ARGS__                                                          \
  }

/* ---- 1. the writes commit while the close waits ----------------------------------------- */

/* The holder stands for a write whose foreign-key check locked the profile first (FOR KEY
 * SHARE): the close waits in its profile DELETE. New writes of the profile take the same
 * share lock and do not queue behind the waiting DELETE; they commit; then the DELETE goes on
 * and its cascade, on a fresh snapshot, removes what they wrote. */
START_TEST(test_writes_commit_while_the_close_waits_at_its_profile_delete)
{
  char sql[400];
  run(holder, "BEGIN");
  snprintf(sql, sizeof sql, "SELECT 1 FROM profiles WHERE id = '%s' FOR KEY SHARE", fx.profile_id);
  run(holder, sql);
  call closing = CALL(OP_CLOSE, "close", .now = T0 + 100, .waits_in = "DELETE FROM profiles %");
  start(&closing);
  await_waiting(&closing, 1, 1);

  call w[] = {
      CALL(OP_PROGRESS, "progress upsert (update)", .title = fx.movie_id, .now = T0 + 10),
      CALL(OP_PROGRESS, "progress upsert (episode, insert)", .title = fx.series_id,
           .episode = fx.episode_id, .now = T0 + 11),
      CALL(OP_MYLIST_ADD, "My List add", .title = fx.series_id, .now = T0 + 12),
      CALL(OP_MYLIST_REMOVE, "My List remove", .title = fx.movie2_id),
      CALL(OP_RATING_PUT, "rating put (update)", .title = fx.movie_id, .now = T0 + 13),
      CALL(OP_RATING_PUT, "rating put (insert)", .title = fx.series_id, .now = T0 + 13),
      CALL(OP_RATING_DELETE, "rating delete", .title = fx.movie2_id),
  };
  for (size_t i = 0; i < sizeof w / sizeof *w; i++) {
    run_unblocked(&w[i], &closing);
    expect(&w[i], STREAM_OK);
  }
  /* Committed, seen by a third session, while the close still waits. */
  ck_assert_int_eq(rows("progress"), 2);
  ck_assert_int_eq(rows("my_list"), 2);
  ck_assert_int_eq(rows("ratings"), 2);
  snprintf(sql, sizeof sql,
           "SELECT position_ms FROM progress WHERE profile_id = '%s' AND "
           "title_id = '%s'",
           fx.profile_id, fx.movie_id);
  ck_assert_int_eq(watch_int(sql), 10000);
  ck_assert_int_eq(waiting(closing.waits_in, NULL), 1);

  run(holder, "ROLLBACK");
  join(&closing);
  expect(&closing, STREAM_OK);
  ck_assert_uint_eq(closing.counts.profiles, 1);
  ck_assert_uint_eq(closing.counts.screen_leases, 2);
  ck_assert_uint_eq(closing.counts.idempotency_keys, 1);
  assert_erased(T0 + 100);
}
END_TEST

/* The close waits before any of its deletes (the holder locks the account's idempotency
 * record, which the close deletes before the leases and the profiles). A heartbeat renews a
 * lease and a release removes the other; viewing writes insert: all commit without waiting.
 * The close then deletes the renewed lease (counted) and the profile with its rows. */
START_TEST(test_writes_commit_while_the_close_waits_before_its_deletes)
{
  char sql[400];
  run(holder, "BEGIN");
  snprintf(sql, sizeof sql, "SELECT 1 FROM idempotency_keys WHERE scope = '%s' FOR UPDATE",
           fx.account_id);
  run(holder, sql);
  call closing =
      CALL(OP_CLOSE, "close", .now = T0 + 100, .waits_in = "DELETE FROM idempotency_keys %");
  start(&closing);
  await_waiting(&closing, 1, 1);

  call w[] = {
      CALL(OP_HEARTBEAT, "lease heartbeat", .lease = "lease-tv", .now = T0 + 30),
      CALL(OP_RELEASE, "lease release", .lease = "lease-phone"),
      CALL(OP_PROGRESS, "progress upsert (episode, insert)", .title = fx.series_id,
           .episode = fx.episode_id, .now = T0 + 31),
      CALL(OP_MYLIST_ADD, "My List add", .title = fx.series_id, .now = T0 + 32),
      CALL(OP_RATING_PUT, "rating put (insert)", .title = fx.series_id, .now = T0 + 33),
  };
  for (size_t i = 0; i < sizeof w / sizeof *w; i++) {
    run_unblocked(&w[i], &closing);
    expect(&w[i], STREAM_OK);
  }
  ck_assert_int_eq(w[0].out.expires_at, T0 + 30 + TTL);
  ck_assert_int_eq(lease_expiry("lease-tv"), T0 + 30 + TTL);
  ck_assert_int_eq(leases(), 1);
  ck_assert_int_eq(rows("progress"), 2);
  ck_assert_int_eq(rows("my_list"), 3);
  ck_assert_int_eq(rows("ratings"), 3);

  run(holder, "ROLLBACK");
  join(&closing);
  expect(&closing, STREAM_OK);
  ck_assert_uint_eq(closing.counts.screen_leases,
                    1); /* the renewed one; the released one is gone */
  ck_assert_uint_eq(closing.counts.profiles, 1);
  ck_assert_uint_eq(closing.counts.idempotency_keys, 1);
  assert_erased(T0 + 100);
}
END_TEST

/* ---- 2. the writes after the close -------------------------------------------------------- */

START_TEST(test_writes_after_the_close_are_refused)
{
  call closing = CALL(OP_CLOSE, "close", .now = T0 + 100);
  start(&closing);
  join(&closing);
  expect(&closing, STREAM_OK);
  call w[] = {
      CALL(OP_PROGRESS, "progress upsert", .title = fx.movie_id, .now = T0 + 101),
      CALL(OP_PROGRESS, "progress upsert (episode)", .title = fx.series_id,
           .episode = fx.episode_id, .now = T0 + 101),
      CALL(OP_MYLIST_ADD, "My List add", .title = fx.movie_id, .now = T0 + 101),
      CALL(OP_RATING_PUT, "rating put", .title = fx.movie_id, .now = T0 + 101),
      CALL(OP_HEARTBEAT, "lease heartbeat", .lease = "lease-tv", .now = T0 + 30),
      CALL(OP_RELEASE, "lease release", .lease = "lease-phone"),
      /* nothing to remove: done, as for any absent row */
      CALL(OP_MYLIST_REMOVE, "My List remove", .title = fx.movie2_id),
      CALL(OP_RATING_DELETE, "rating delete", .title = fx.movie2_id),
  };
  for (size_t i = 0; i < sizeof w / sizeof *w; i++) {
    start(&w[i]);
    join(&w[i]);
    expect(&w[i], i < 6 ? STREAM_ENOTFOUND : STREAM_OK);
  }
  assert_erased(T0 + 100);
}
END_TEST

/* ---- 3. the writes wait for the close's deletes -------------------------------------------- */

/* The holder shares the account row: the close runs every delete (leases, profile and its
 * cascade) and stops at its last statement, the tombstone UPDATE, holding them uncommitted.
 * Each write then waits for the close (a foreign-key check on the deleted profile, an upsert
 * or a DELETE on a row the cascade deleted, a heartbeat or release of a deleted lease) and,
 * once the close committed, is refused or finds nothing: no row survives. */
START_TEST(test_writes_wait_for_the_close_holding_its_deletes)
{
  char sql[400];
  run(holder, "BEGIN");
  snprintf(sql, sizeof sql, "SELECT 1 FROM accounts WHERE id = '%s' FOR SHARE", fx.account_id);
  run(holder, sql);
  call closing = CALL(OP_CLOSE, "close", .now = T0 + 100, .waits_in = "UPDATE accounts SET email%");
  start(&closing);
  await_waiting(&closing, 1, 1);

  call w[] = {
      CALL(OP_PROGRESS, "progress upsert (row the cascade deleted)", .title = fx.movie_id,
           .now = T0 + 40, .waits_in = "INSERT INTO progress %"),
      CALL(OP_PROGRESS, "progress upsert (episode, new row)", .title = fx.series_id,
           .episode = fx.episode_id, .now = T0 + 41, .waits_in = "INSERT INTO progress %"),
      CALL(OP_MYLIST_ADD, "My List add (row the cascade deleted)", .title = fx.movie_id,
           .now = T0 + 42, .waits_in = "INSERT INTO my_list %"),
      CALL(OP_MYLIST_ADD, "My List add (new row)", .title = fx.series_id, .now = T0 + 42,
           .waits_in = "INSERT INTO my_list %"),
      CALL(OP_RATING_PUT, "rating put (row the cascade deleted)", .title = fx.movie_id,
           .now = T0 + 43, .waits_in = "INSERT INTO ratings %"),
      CALL(OP_RATING_PUT, "rating put (new row)", .title = fx.series_id, .now = T0 + 43,
           .waits_in = "INSERT INTO ratings %"),
      CALL(OP_HEARTBEAT, "lease heartbeat", .lease = "lease-tv", .now = T0 + 30,
           .waits_in = "UPDATE screen_leases %"),
      CALL(OP_RELEASE, "lease release", .lease = "lease-phone",
           .waits_in = "DELETE FROM screen_leases %"),
      CALL(OP_MYLIST_REMOVE, "My List remove", .title = fx.movie2_id,
           .waits_in = "DELETE FROM my_list %"),
      CALL(OP_RATING_DELETE, "rating delete", .title = fx.movie2_id,
           .waits_in = "DELETE FROM ratings %"),
  };
  size_t n = sizeof w / sizeof *w;
  for (size_t i = 0; i < n; i++) {
    long long same = 1; /* calls started so far that wait in the same statement, this one too */
    for (size_t j = 0; j < i; j++)
      same += strcmp(w[j].waits_in, w[i].waits_in) == 0;
    start(&w[i]);
    await_waiting(&w[i], same, (long long)i + 2);
  }
  /* Everything waits on the close, the close on the holder. */
  ck_assert_int_eq(waiting(closing.waits_in, NULL), 1);
  ck_assert_int_eq(atomic_load(&closing.done), 0);

  run(holder, "ROLLBACK");
  join(&closing);
  expect(&closing, STREAM_OK);
  ck_assert_uint_eq(closing.counts.profiles, 1);
  ck_assert_uint_eq(closing.counts.screen_leases, 2);
  for (size_t i = 0; i < n; i++) {
    join(&w[i]);
    expect(&w[i], w[i].op == OP_MYLIST_REMOVE || w[i].op == OP_RATING_DELETE ? STREAM_OK
                                                                             : STREAM_ENOTFOUND);
  }
  assert_erased(T0 + 100);
}
END_TEST

/* ---- 4. a heartbeat against an acquire ------------------------------------------------------ */

/* The device's lease lapsed at T0 + 60; an acquire at T0 + 100 replaces it (DELETE, then
 * INSERT of a new id), and stops in the INSERT's foreign-key check of the title, which the
 * holder locks FOR UPDATE, with the old lease deleted uncommitted. A heartbeat of the old
 * lease from a clock at T0 + 50, where it is still live, waits for the acquire, then finds the
 * row gone: STREAM_ENOTFOUND, and the new lease keeps the acquire's expiry. */
START_TEST(test_heartbeat_waits_for_an_acquire_replacing_the_lease)
{
  char sql[400];
  run(holder, "BEGIN");
  snprintf(sql, sizeof sql, "SELECT 1 FROM titles WHERE id = '%s' FOR UPDATE", fx.movie_id);
  run(holder, sql);
  call acq = CALL(OP_ACQUIRE, "acquire", .lease = "lease-tv-2", .now = T0 + 100,
                  .waits_in = "INSERT INTO screen_leases %");
  start(&acq);
  await_waiting(&acq, 1, 1);
  call hb = CALL(OP_HEARTBEAT, "lease heartbeat", .lease = "lease-tv", .now = T0 + 50,
                 .waits_in = "UPDATE screen_leases %");
  start(&hb);
  await_waiting(&hb, 1, 2);

  run(holder, "ROLLBACK");
  join(&acq);
  expect(&acq, STREAM_OK);
  ck_assert_str_eq(acq.out.id, "lease-tv-2");
  ck_assert_int_eq(acq.out.expires_at, T0 + 100 + TTL);
  join(&hb);
  expect(&hb, STREAM_ENOTFOUND);
  ck_assert_int_eq(watch_int("SELECT count(*) FROM screen_leases WHERE id = 'lease-tv'"), 0);
  ck_assert_int_eq(lease_expiry("lease-tv-2"), T0 + 100 + TTL);
  ck_assert_int_eq(leases(), 2); /* lease-tv-2 and the phone's */
}
END_TEST

/* The acquire waits for the writers' lock (the holder has it); the heartbeat, which does not
 * take it, renews the device's lease to T0 + 50 + TTL and commits. The acquire at T0 + 100
 * then reads the renewed lease (each statement a fresh snapshot), finds it live and renews it
 * in place: same id and start, no replacement. */
START_TEST(test_acquire_sees_a_heartbeat_committed_while_it_waited)
{
  run(holder, "SELECT pg_advisory_lock(" LOCK_KEY ")");
  call acq = CALL(OP_ACQUIRE, "acquire", .lease = "lease-tv-2", .now = T0 + 100,
                  .waits_in = "%pg_advisory_xact_lock%");
  start(&acq);
  await_waiting(&acq, 1, 1);
  call hb = CALL(OP_HEARTBEAT, "lease heartbeat", .lease = "lease-tv", .now = T0 + 50);
  run_unblocked(&hb, &acq);
  expect(&hb, STREAM_OK);
  ck_assert_int_eq(lease_expiry("lease-tv"), T0 + 50 + TTL);

  run(holder, "SELECT pg_advisory_unlock(" LOCK_KEY ")");
  join(&acq);
  expect(&acq, STREAM_OK);
  ck_assert_str_eq(acq.out.id, "lease-tv");
  ck_assert_int_eq(acq.out.started_at, T0);
  ck_assert_int_eq(acq.out.expires_at, T0 + 100 + TTL);
  ck_assert_int_eq(watch_int("SELECT count(*) FROM screen_leases WHERE id = 'lease-tv-2'"), 0);
  ck_assert_int_eq(leases(), 2);
}
END_TEST

int main(void)
{
  if (!test_store_is_pg()) {
    printf("unit-store-pg-close-interleavings: skipped: STREAM_TEST_PG is not set "
           "(tests/pg/pg_run.sh)\n");
    return 77;
  }
  Suite *s = suite_create("store-pg-close-interleavings");
  TCase *tc = tcase_create("close-interleavings");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120); /* a safety net for a hang, not a measure */
  tcase_add_test(tc, test_writes_commit_while_the_close_waits_at_its_profile_delete);
  tcase_add_test(tc, test_writes_commit_while_the_close_waits_before_its_deletes);
  tcase_add_test(tc, test_writes_after_the_close_are_refused);
  tcase_add_test(tc, test_writes_wait_for_the_close_holding_its_deletes);
  tcase_add_test(tc, test_heartbeat_waits_for_an_acquire_replacing_the_lease);
  tcase_add_test(tc, test_acquire_sees_a_heartbeat_committed_while_it_waited);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
