/*
 * Which PostgreSQL writes take the writers' advisory lock
 * (libstream/store/postgres/pg_internal.h, store__pg_wbegin_unlocked): while
 * another session holds it (pg_advisory_lock on the store's class and key,
 * from a raw libpq connection), the viewing writes (progress upsert for a
 * movie and for an episode, My List add and remove, rating put and delete)
 * commit, and keep their errors (a missing profile, an episode of another
 * title); the writes that need the lock (profile create and update, title
 * create, account close) wait for it and give up at the store's lock timeout
 * with STREAM_EBUSY, writing nothing. The outcome is what is checked, never a
 * duration: a write that waited for the lock could not have committed while it
 * was held. In a write batch (store__batch_begin) the viewing writes join the
 * batch's transaction, which holds the lock: another session cannot take it
 * and does not see the rows before the batch ends.
 *
 * A deadlock between a lock-free write and another transaction (raw sessions
 * here, standing for a locked write that deletes or re-keys rows in another
 * order) is rolled back by PostgreSQL; the store call returns STREAM_EBUSY
 * saying so, wrote nothing, and the same call succeeds once the other
 * transaction is gone. Which side PostgreSQL picks is made certain, not
 * timed: the other session waits first and checks for deadlocks only after a
 * minute (its deadlock_timeout), so the store's session, which closes the
 * cycle and checks after PostgreSQL's default second, is the one rolled back.
 * Progress between the steps is observed in pg_locks (a session waiting), not
 * by sleeping a fixed time.
 *
 * PostgreSQL only: run under tests/pg/pg_run.sh (unit-store-pg-writers-lock);
 * skipped (77) without STREAM_TEST_PG.
 */
#include <check.h>
#include <libpq-fe.h>
#include <pthread.h>
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
/* pg_store.c: PG_LOCK_CLASS, PG_LOCK_WRITERS */
#define LOCK_KEY "1398035021, 1"

static char uri[512];
static stream_store *store;
static PGconn *raw;             /* the other session */
static test_viewing_fixture fx; /* the starting rows (viewing_fixture.h) */
static unsigned int busy_timeout_ms = 200;

#define OK(expr) ck_assert_msg((expr) == STREAM_OK, "%s: %s", #expr, stream_error_last()->message)

static const char *msg(void)
{
  const stream_error *e = stream_error_last();
  return e ? e->message : "";
}

/* The write `expr` waited for the writers' lock and gave up. */
#define BUSY(expr)                                                                                 \
  do {                                                                                             \
    int rc_ = (expr);                                                                              \
    ck_assert_msg(rc_ == STREAM_EBUSY, "%s: %d (%s), expected STREAM_EBUSY", #expr, rc_, msg());   \
  } while (0)

/* The first column of the first row of `sql` on the raw session, as an integer. */
static long long raw_int(const char *sql)
{
  PGresult *r = PQexec(raw, sql);
  ck_assert_msg(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1, "%s: %s", sql,
                PQerrorMessage(raw));
  const char *v = PQgetvalue(r, 0, 0);
  long long n = strcmp(v, "t") == 0 ? 1 : strcmp(v, "f") == 0 ? 0 : atoll(v);
  PQclear(r);
  return n;
}

static void raw_lock(void)
{
  raw_int("SELECT count(*) FROM (SELECT pg_advisory_lock(" LOCK_KEY ")) AS l");
}

static void raw_unlock(void)
{
  ck_assert_int_eq(raw_int("SELECT pg_advisory_unlock(" LOCK_KEY ")"), 1);
}

static void setup(void)
{
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  o.path = test_store_path(uri, sizeof uri, ":memory:");
  /* The lock timeout: how long a write waits for the writers' lock before STREAM_EBUSY. */
  o.busy_timeout_ms = busy_timeout_ms;
  OK(stream_store_open(&store, &o));
  raw = PQconnectdb(uri);
  ck_assert_msg(PQstatus(raw) == CONNECTION_OK, "raw connection: %s", PQerrorMessage(raw));

  test_viewing_fixture_create(&fx, store, "lock@pg.test", T0);
}

static void teardown(void)
{
  PQfinish(raw);
  raw = NULL;
  stream_store_close(store);
  store = NULL;
}

static stream_store_progress progress(const char *profile, const char *title, const char *episode,
                                      int64_t position_ms)
{
  stream_store_progress p;
  memset(&p, 0, sizeof p);
  snprintf(p.profile_id, sizeof p.profile_id, "%s", profile);
  snprintf(p.title_id, sizeof p.title_id, "%s", title);
  snprintf(p.episode_id, sizeof p.episode_id, "%s", episode);
  p.position_ms = position_ms;
  p.duration_ms = 3600000;
  return p;
}

static long long rows(const char *table)
{
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM %s WHERE profile_id = '%s'", table,
           fx.profile_id);
  return raw_int(sql);
}

START_TEST(test_viewing_writes_without_the_lock)
{
  raw_lock();
  stream_store_progress p = progress(fx.profile_id, fx.movie_id, "", 1000);
  OK(stream_store_progress_upsert(store, &p, T0 + 1)); /* insert */
  p.position_ms = 2000;
  OK(stream_store_progress_upsert(store, &p, T0 + 2)); /* update */
  p = progress(fx.profile_id, fx.series_id, fx.episode_id, 3000);
  OK(stream_store_progress_upsert(store, &p, T0 + 3));
  OK(stream_store_mylist_add(store, fx.profile_id, fx.movie_id, T0 + 4));
  OK(stream_store_mylist_add(store, fx.profile_id, fx.series_id, T0 + 4));
  OK(stream_store_mylist_remove(store, fx.profile_id, fx.series_id));
  OK(stream_store_rating_put(store, fx.profile_id, fx.movie_id, 1, T0 + 5));
  OK(stream_store_rating_put(store, fx.profile_id, fx.series_id, -1, T0 + 5));
  OK(stream_store_rating_delete(store, fx.profile_id, fx.series_id));
  /* Committed while the lock is still held: the other session sees them. */
  ck_assert_int_eq(rows("progress"), 2);
  ck_assert_int_eq(rows("my_list"), 1);
  ck_assert_int_eq(rows("ratings"), 1);
  ck_assert_int_eq(raw_int("SELECT position_ms FROM progress WHERE episode_id = ''"), 2000);
  /* Their errors without the lock: the foreign key, the episode check. */
  p = progress("no-such-profile", fx.movie_id, "", 1000);
  ck_assert_int_eq(stream_store_progress_upsert(store, &p, T0 + 6), STREAM_ENOTFOUND);
  p = progress(fx.profile_id, fx.movie_id, fx.episode_id, 1000);
  ck_assert_int_eq(stream_store_progress_upsert(store, &p, T0 + 6), STREAM_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(msg(), "is not an episode of title"));
  ck_assert_int_eq(stream_store_mylist_add(store, fx.profile_id, "no-such-title", T0 + 6),
                   STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_store_rating_put(store, "no-such-profile", fx.movie_id, 1, T0 + 6),
                   STREAM_ENOTFOUND);
  raw_unlock();
}
END_TEST

/* Screen-lease heartbeats and releases (billing's, through the store's lease
 * ops) need no lock either: renewed while live and the account's, refused
 * otherwise with the same codes, released by id. The rows are inserted raw:
 * acquiring a lease needs a plan and a subscription, and takes the lock. */
START_TEST(test_lease_heartbeat_and_release_without_the_lock)
{
  stream_store_profile p;
  OK(stream_store_profile_get(&p, store, fx.profile_id));
  char sql[1024];
  snprintf(sql, sizeof sql,
           "INSERT INTO screen_leases (id, account_id, profile_id, title_id, device_id, "
           "started_at, expires_at) VALUES ('lease-live', '%s', '%s', '%s', 'tv', %d, %d), "
           "('lease-lapsed', '%s', '%s', '%s', 'phone', %d, %d)",
           p.account_id, fx.profile_id, fx.movie_id, T0, T0 + 60, p.account_id, fx.profile_id,
           fx.movie_id, T0, T0 + 5);
  PGresult *r = PQexec(raw, sql);
  ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s", PQerrorMessage(raw));
  PQclear(r);
  const struct stream_store_lease_ops *ops = store->backend->leases;
  stream_billing_lease l;
  raw_lock();
  OK(ops->heartbeat(store->impl, &l, p.account_id, "lease-live", T0 + 30, 90));
  ck_assert_int_eq(l.expires_at, T0 + 120);
  ck_assert_int_eq(raw_int("SELECT expires_at FROM screen_leases WHERE id = 'lease-live'"),
                   T0 + 120);
  ck_assert_int_eq(ops->heartbeat(store->impl, &l, p.account_id, "lease-lapsed", T0 + 30, 90),
                   STREAM_EEXPIRED);
  ck_assert_ptr_nonnull(strstr(msg(), "acquire a screen again"));
  ck_assert_int_eq(raw_int("SELECT expires_at FROM screen_leases WHERE id = 'lease-lapsed'"),
                   T0 + 5);
  ck_assert_int_eq(ops->heartbeat(store->impl, &l, "another-account", "lease-live", T0 + 30, 90),
                   STREAM_ENOTFOUND);
  ck_assert_int_eq(ops->heartbeat(store->impl, &l, p.account_id, "no-such-lease", T0 + 30, 90),
                   STREAM_ENOTFOUND);
  ck_assert_int_eq(raw_int("SELECT expires_at FROM screen_leases WHERE id = 'lease-live'"),
                   T0 + 120);
  ck_assert_int_eq(ops->release(store->impl, "another-account", "lease-live"), STREAM_ENOTFOUND);
  OK(ops->release(store->impl, p.account_id, "lease-lapsed"));
  ck_assert_int_eq(raw_int("SELECT count(*) FROM screen_leases"), 1);
  raw_unlock();
}
END_TEST

/* Rate-limit takes and resets (the auth limits shared by daemons) need no lock: each
 * locks its own buckets' rows; a refused take writes nothing, not even a new row. */
START_TEST(test_rate_buckets_without_the_lock)
{
  stream_store_rate_key k[2] = {{"signin-account", "a1", 2, 60}, {"signin-address", "b1", 5, 6}};
  int64_t wait = -1;
  raw_lock();
  OK(stream_store_rate_take(&wait, store, k, 2, T0));
  ck_assert_int_eq(wait, 0);
  OK(stream_store_rate_take(&wait, store, k, 2, T0));
  ck_assert_int_eq(wait, 0);
  OK(stream_store_rate_take(&wait, store, k, 2, T0)); /* a1 is empty: neither is charged */
  ck_assert_int_eq(wait, 60);
  ck_assert_int_eq(raw_int("SELECT tokens FROM rate_buckets WHERE key = 'b1'"), 3);
  stream_store_rate_key fresh[2] = {{"signin-account", "a1", 2, 60},
                                    {"signin-address", "b2", 5, 6}};
  OK(stream_store_rate_take(&wait, store, fresh, 2, T0)); /* refused: b2's row not made */
  ck_assert_int_eq(wait, 60);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM rate_buckets WHERE key = 'b2'"), 0);
  OK(stream_store_rate_reset(store, "signin-account", "a1"));
  ck_assert_int_eq(raw_int("SELECT count(*) FROM rate_buckets WHERE key = 'a1'"), 0);
  raw_unlock();
}
END_TEST

/* Concurrent takes of one bucket from two store handles (as two daemons), 8 threads:
 * exactly the burst is granted, as under the lock, because each take holds the
 * bucket's row from its read to its commit. */
enum { TAKERS = 8, TAKES = 12, RACE_BURST = 30 };
static stream_store *race_store[2];
static int race_granted[TAKERS];

static void *taker(void *arg)
{
  int t = (int)(intptr_t)arg;
  /* Two buckets, named in opposite orders by odd and even threads: the row order is the
   * store's, not the caller's, so no two takes wait on each other in a cycle. */
  stream_store_rate_key k[2] = {{"signin-account", "race", RACE_BURST, 86400},
                                {"signin-address", "race-addr", 1000, 1}};
  if (t % 2) {
    stream_store_rate_key tmp = k[0];
    k[0] = k[1];
    k[1] = tmp;
  }
  for (int i = 0; i < TAKES; i++) {
    int64_t wait = -1;
    int rc = stream_store_rate_take(&wait, race_store[t % 2], k, 2, T0);
    if (rc == STREAM_OK && wait == 0)
      race_granted[t]++;
    else if (rc != STREAM_OK)
      race_granted[t] += 1000; /* an error: fails the count below */
  }
  return NULL;
}

START_TEST(test_rate_takes_race_to_exactly_the_burst)
{
  race_store[0] = store;
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  o.path = uri;
  OK(stream_store_open(&race_store[1], &o));
  pthread_t th[TAKERS];
  for (int t = 0; t < TAKERS; t++)
    ck_assert_int_eq(pthread_create(&th[t], NULL, taker, (void *)(intptr_t)t), 0);
  int total = 0;
  for (int t = 0; t < TAKERS; t++) {
    pthread_join(th[t], NULL);
    total += race_granted[t];
  }
  stream_store_close(race_store[1]);
  ck_assert_int_eq(total, RACE_BURST);
  ck_assert_int_eq(raw_int("SELECT tokens FROM rate_buckets WHERE key = 'race'"), 0);
}
END_TEST

START_TEST(test_other_writes_wait_for_the_lock)
{
  stream_store_profile p;
  OK(stream_store_profile_get(&p, store, fx.profile_id));
  raw_lock();
  stream_store_profile in = p;
  in.id[0] = '\0';
  snprintf(in.name, sizeof in.name, "Second");
  BUSY(stream_store_profile_create(NULL, store, &in, T0 + 1));
  stream_store_profile up = p;
  snprintf(up.name, sizeof up.name, "Renamed");
  BUSY(stream_store_profile_update(store, &up));
  stream_store_title t;
  memset(&t, 0, sizeof t);
  t.name = "A Third Movie";
  BUSY(stream_store_title_create(NULL, store, &t, T0 + 1));
  stream_store_account_close_counts c;
  BUSY(stream_store_account_close(&c, store, p.account_id, T0 + 1));
  /* Nothing of them was written. */
  char sql[200];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM profiles WHERE account_id = '%s'", p.account_id);
  ck_assert_int_eq(raw_int(sql), 1);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM profiles WHERE name = 'Renamed'"), 0);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM titles"), 3); /* the fixture's three */
  snprintf(sql, sizeof sql, "SELECT count(*) FROM accounts WHERE id = '%s' AND deleted_at = 0",
           p.account_id);
  ck_assert_int_eq(raw_int(sql), 1);
  raw_unlock();
  /* The lock released, the same writes go through. */
  snprintf(in.name, sizeof in.name, "Second");
  OK(stream_store_profile_create(NULL, store, &in, T0 + 1));
  OK(stream_store_title_create(NULL, store, &t, T0 + 1));
  OK(stream_store_profile_update(store, &up));
}
END_TEST

START_TEST(test_viewing_writes_in_a_batch_hold_the_lock)
{
  OK(store__batch_begin(store));
  stream_store_progress p = progress(fx.profile_id, fx.movie_id, "", 1000);
  OK(stream_store_progress_upsert(store, &p, T0 + 1));
  OK(stream_store_mylist_add(store, fx.profile_id, fx.movie_id, T0 + 1));
  OK(stream_store_rating_put(store, fx.profile_id, fx.movie_id, 1, T0 + 1));
  /* The batch's transaction holds the writers' lock; its rows are not committed yet. */
  ck_assert_int_eq(raw_int("SELECT pg_try_advisory_lock(" LOCK_KEY ")"), 0);
  ck_assert_int_eq(rows("progress"), 0);
  ck_assert_int_eq(rows("my_list"), 0);
  ck_assert_int_eq(rows("ratings"), 0);
  OK(store__batch_end(store, STREAM_OK));
  ck_assert_int_eq(rows("progress"), 1);
  ck_assert_int_eq(rows("my_list"), 1);
  ck_assert_int_eq(rows("ratings"), 1);
  ck_assert_int_eq(raw_int("SELECT pg_try_advisory_lock(" LOCK_KEY ")"), 1);
  raw_unlock();
  /* A failed batch leaves none of them. */
  OK(store__batch_begin(store));
  OK(stream_store_mylist_remove(store, fx.profile_id, fx.movie_id));
  OK(stream_store_rating_delete(store, fx.profile_id, fx.movie_id));
  ck_assert_int_eq(store__batch_end(store, STREAM_EIO), STREAM_EIO);
  ck_assert_int_eq(rows("my_list"), 1);
  ck_assert_int_eq(rows("ratings"), 1);
}
END_TEST

/* ---- deadlock ------------------------------------------------------------------ */

static void setup_long_wait(void)
{
  busy_timeout_ms = 60000; /* the store's sessions wait for row locks: no lock timeout here */
  setup();
}

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

/* Until `n` lock requests in the test's database wait (pg_locks, on the raw session); the
 * test case's timeout is the safety net. */
static void await_waiting(long long n)
{
  /* A row lock is waited for as the locking transaction's id: no database in pg_locks. */
  while (raw_int("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                 "WHERE NOT l.granted AND a.datname = current_database()") < n)
    usleep(10000);
}

typedef struct upsert_call {
  stream_store_progress p;
  int rc;
  char msg[512];
} upsert_call;

static void *upsert_thread(void *arg)
{
  upsert_call *u = arg;
  u->rc = stream_store_progress_upsert(store, &u->p, T0 + 10);
  snprintf(u->msg, sizeof u->msg, "%s", msg());
  return NULL;
}

/* The upsert of an episode's position locks title, season and episode (FOR KEY SHARE), then
 * inserts, whose foreign-key check locks the profile. Session q holds the episode, so the
 * upsert stops there holding the title and the season; session r holds the profile and then
 * asks for the season (waits for the upsert); q lets go, the upsert asks for the profile
 * (waits for r): a cycle, which the upsert's session finds first. */
START_TEST(test_deadlock_is_busy_and_retryable)
{
  PGconn *q = session(), *r = session();
  char sql[256];
  run(q, "BEGIN");
  snprintf(sql, sizeof sql, "SELECT 1 FROM episodes WHERE id = '%s' FOR UPDATE", fx.episode_id);
  run(q, sql);
  run(r, "SET deadlock_timeout = '60s'");
  run(r, "BEGIN");
  snprintf(sql, sizeof sql, "SELECT 1 FROM profiles WHERE id = '%s' FOR UPDATE", fx.profile_id);
  run(r, sql);

  upsert_call u;
  memset(&u, 0, sizeof u);
  u.p = progress(fx.profile_id, fx.series_id, fx.episode_id, 5000);
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, upsert_thread, &u), 0);
  await_waiting(1); /* the upsert, on the episode */
  snprintf(sql, sizeof sql, "SELECT 1 FROM seasons WHERE id = '%s' FOR UPDATE", fx.season_id);
  ck_assert_int_eq(PQsendQuery(r, sql), 1);
  await_waiting(2); /* and r, on the season the upsert holds */
  run(q, "COMMIT");
  pthread_join(th, NULL);
  ck_assert_msg(u.rc == STREAM_EBUSY, "upsert: %d (%s), expected STREAM_EBUSY", u.rc, u.msg);
  ck_assert_msg(strstr(u.msg, "deadlock") && strstr(u.msg, "retry"), "message: %s", u.msg);
  /* r got the season once the upsert was rolled back. */
  PGresult *res;
  while ((res = PQgetResult(r)) != NULL) {
    ck_assert_int_eq(PQresultStatus(res), PGRES_TUPLES_OK);
    PQclear(res);
  }
  ck_assert_int_eq(rows("progress"), 0);
  run(r, "ROLLBACK");
  PQfinish(q);
  PQfinish(r);
  /* The same call again. */
  OK(stream_store_progress_upsert(store, &u.p, T0 + 11));
  ck_assert_int_eq(rows("progress"), 1);
}
END_TEST

int main(void)
{
  if (!test_store_is_pg()) {
    printf("unit-store-pg-writers-lock: skipped: STREAM_TEST_PG is not set (tests/pg/pg_run.sh)\n");
    return 77;
  }
  Suite *s = suite_create("store-pg-writers-lock");
  TCase *tc = tcase_create("writers-lock");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60); /* a safety net for a hang, not a measure */
  tcase_add_test(tc, test_viewing_writes_without_the_lock);
  tcase_add_test(tc, test_lease_heartbeat_and_release_without_the_lock);
  tcase_add_test(tc, test_rate_buckets_without_the_lock);
  tcase_add_test(tc, test_rate_takes_race_to_exactly_the_burst);
  tcase_add_test(tc, test_other_writes_wait_for_the_lock);
  tcase_add_test(tc, test_viewing_writes_in_a_batch_hold_the_lock);
  suite_add_tcase(s, tc);
  TCase *dl = tcase_create("deadlock");
  tcase_add_checked_fixture(dl, setup_long_wait, teardown);
  tcase_set_timeout(dl, 120); /* a safety net for a hang, not a measure */
  tcase_add_test(dl, test_deadlock_is_busy_and_retryable);
  suite_add_tcase(s, dl);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
