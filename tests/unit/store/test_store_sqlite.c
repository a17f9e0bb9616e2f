/*
 * The store conformance suite run against the SQLite backend (a database file
 * in a fresh temporary directory per case, and ":memory:"), plus what only the
 * SQLite backend has: migrations, WAL, open options.
 */
#include <check.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conformance.h"

static char tmpdir[256];
static char dbpath[300];

static void make_tmp(void)
{
  const char *base = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/stream-store-XXXXXX", base && *base ? base : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  snprintf(dbpath, sizeof dbpath, "%s/store.db", tmpdir);
}

static void remove_tmp(void)
{
  const char *suffix[] = {"", "-wal", "-shm", "-journal"};
  char p[320];
  for (int i = 0; i < 4; i++) {
    snprintf(p, sizeof p, "%s%s", dbpath, suffix[i]);
    unlink(p);
  }
  rmdir(tmpdir);
}

static stream_store *open_at(const char *path)
{
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  o.path = path;
  stream_store *s = NULL;
  int rc = stream_store_open(&s, &o);
  ck_assert_msg(rc == STREAM_OK, "open %s: %s", path, rc ? stream_error_last()->message : "");
  return s;
}

/* One conformance case per loop index, each on a fresh database file. */
START_TEST(test_conformance_file)
{
  make_tmp();
  stream_store *s = open_at(dbpath);
  ck_assert_str_eq(stream_store_backend_name(s), "sqlite");
  store_conformance_cases[_i].run(s);
  stream_store_close(s);
  remove_tmp();
}
END_TEST

START_TEST(test_conformance_memory)
{
  stream_store *s = open_at(":memory:");
  store_conformance_cases[_i].run(s);
  stream_store_close(s);
}
END_TEST

/* Every case in sequence on one shared store: cases do not depend on a
 * fresh database. */
START_TEST(test_conformance_all_on_one_store)
{
  make_tmp();
  stream_store *s = open_at(dbpath);
  store_conformance_run_all(s);
  stream_store_close(s);
  remove_tmp();
}
END_TEST

static int count_rows(const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  sqlite3_stmt *st = NULL;
  ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
  int n = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

static void exec_raw(const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

/* Drop every table, index and trigger that migrations after 2 created, so a
 * fresh database can be turned back into an older schema. The names below are
 * the complete schema of version 2 (released: it never changes). */
static void drop_after_v2(const char *path)
{
  static const char *const v2[] = {"accounts",
                                   "device_authorizations",
                                   "episodes",
                                   "genres",
                                   "my_list",
                                   "profiles",
                                   "progress",
                                   "refresh_tokens",
                                   "schema_version",
                                   "seasons",
                                   "title_genres",
                                   "title_regions",
                                   "titles",
                                   "titles_fts",
                                   "titles_fts_config",
                                   "titles_fts_content",
                                   "titles_fts_data",
                                   "titles_fts_docsize",
                                   "titles_fts_idx",
                                   "device_pending_user_code",
                                   "device_user_code",
                                   "my_list_recent",
                                   "my_list_seq",
                                   "progress_recent",
                                   "progress_seq",
                                   "refresh_tokens_account",
                                   "refresh_tokens_family",
                                   "refresh_tokens_profile",
                                   "title_genres_by_title",
                                   "titles_by_created",
                                   "titles_by_name",
                                   "episodes_progress_ad",
                                   "titles_fts_ad",
                                   "titles_fts_ai",
                                   "titles_fts_au"};
  sqlite3 *db = NULL;
  ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
  ck_assert_int_eq(sqlite3_exec(db, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL), SQLITE_OK);
  /* Triggers first, then tables (their indexes go with them), then stray indexes. */
  static const char *const kinds[] = {"trigger", "table", "index"};
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    for (;;) {
      sqlite3_stmt *st = NULL;
      ck_assert_int_eq(sqlite3_prepare_v2(db,
                                          "SELECT name FROM sqlite_master WHERE type = ?1 AND "
                                          "name NOT LIKE 'sqlite_%' ORDER BY name",
                                          -1, &st, NULL),
                       SQLITE_OK);
      sqlite3_bind_text(st, 1, kinds[k], -1, SQLITE_STATIC);
      char drop[256] = "";
      while (sqlite3_step(st) == SQLITE_ROW && !drop[0]) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        bool keep = false;
        for (size_t i = 0; i < sizeof v2 / sizeof v2[0] && !keep; i++)
          keep = strcmp(name, v2[i]) == 0;
        if (!keep)
          snprintf(drop, sizeof drop, "DROP %s IF EXISTS \"%s\"", kinds[k], name);
      }
      sqlite3_finalize(st);
      if (!drop[0])
        break;
      ck_assert_int_eq(sqlite3_exec(db, drop, NULL, NULL, NULL), SQLITE_OK);
    }
  }
  sqlite3_close(db);
}

/* The schema version this build migrates to (one per migration). */
#define SCHEMA_CURRENT 19

START_TEST(test_migrations_once_and_reopen)
{
  make_tmp();
  stream_store *s = open_at(dbpath);
  int v = 0;
  ck_assert_int_eq(stream_store_schema_version(&v, s), STREAM_OK);
  ck_assert_int_eq(v, SCHEMA_CURRENT);
  stream_store_account a, got;
  memset(&a, 0, sizeof a);
  strcpy(a.email, "persist@reopen.test");
  ck_assert_int_eq(stream_store_account_create(&a, s, &a, 1700000000), STREAM_OK);
  stream_store_close(s);

  s = open_at(dbpath);
  ck_assert_int_eq(stream_store_schema_version(&v, s), STREAM_OK);
  ck_assert_int_eq(v, SCHEMA_CURRENT);
  ck_assert_int_eq(stream_store_account_get(&got, s, a.id), STREAM_OK);
  ck_assert_str_eq(got.email, "persist@reopen.test");
  stream_store_close(s);
  s = open_at(dbpath);
  stream_store_close(s);
  /* One row per migration, however often the database was opened. */
  ck_assert_int_eq(count_rows(dbpath, "SELECT count(*) FROM schema_version"), SCHEMA_CURRENT);
  ck_assert_int_eq(count_rows(dbpath, "SELECT count(*) FROM accounts"), 1);
  ck_assert_int_eq(count_rows(dbpath, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode "
                                      "= 'wal'"),
                   1);
  remove_tmp();
}
END_TEST

START_TEST(test_newer_schema_refused)
{
  make_tmp();
  stream_store_close(open_at(dbpath));
  char sql[128];
  snprintf(sql, sizeof sql, "INSERT INTO schema_version (version, applied_at) VALUES (%d, 0)",
           SCHEMA_CURRENT + 1);
  exec_raw(dbpath, sql);
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  o.path = dbpath;
  stream_store *s = (stream_store *)1;
  ck_assert_int_eq(stream_store_open(&s, &o), STREAM_ENOTSUP);
  ck_assert_ptr_null(s);
  ck_assert(strstr(stream_error_last()->message, "newer") != NULL);
  char want[32];
  snprintf(want, sizeof want, "version %d", SCHEMA_CURRENT + 1);
  ck_assert(strstr(stream_error_last()->message, want) != NULL);
  /* Refusing changed nothing. */
  ck_assert_int_eq(count_rows(dbpath, "SELECT count(*) FROM schema_version"), SCHEMA_CURRENT + 1);
  remove_tmp();
}
END_TEST

/* A database at schema version 1 (before the recency seq columns) with
 * rows written then is upgraded in place by migration 2: its rows keep their
 * data, ties among them get a stable order, and new writes in the same
 * second as old ones come first. */
START_TEST(test_upgrade_from_v1)
{
  make_tmp();
  stream_store_close(open_at(dbpath));
  /* Turn the fresh database back into exactly what migration 1 created. */
  drop_after_v2(dbpath);
  exec_raw(dbpath, "DROP INDEX progress_seq; DROP INDEX progress_recent;"
                   "ALTER TABLE progress DROP COLUMN seq;"
                   "CREATE INDEX progress_recent ON progress (profile_id, updated_at);"
                   "DROP INDEX my_list_seq; DROP INDEX my_list_recent;"
                   "ALTER TABLE my_list DROP COLUMN seq;"
                   "CREATE INDEX my_list_recent ON my_list (profile_id, added_at);"
                   "ALTER TABLE accounts DROP COLUMN deleted_at;" /* migration 11 */
                   "DELETE FROM schema_version WHERE version > 1;");
  ck_assert_int_eq(count_rows(dbpath, "SELECT count(*) FROM pragma_table_info('progress') "
                                      "WHERE name = 'seq'"),
                   0);
  /* Rows written by a version-1 libstream, all in the same second. */
  exec_raw(dbpath,
           "INSERT INTO accounts (id, email, created_at) VALUES ('up-acct', 'up@v1.test', 1);"
           "INSERT INTO profiles (id, account_id, name, maturity_ceiling, created_at)"
           "  VALUES ('up-prof', 'up-acct', 'Old', 18, 1);"
           "INSERT INTO titles (id, kind, name, created_at, updated_at) VALUES"
           "  ('up-a', 0, 'Up A', 1, 1), ('up-b', 0, 'Up B', 1, 1), ('up-c', 0, 'Up C', 1, 1);"
           "INSERT INTO progress (profile_id, title_id, position_ms, duration_ms, updated_at)"
           "  VALUES ('up-prof', 'up-b', 10, 1000, 500), ('up-prof', 'up-a', 20, 1000, 500);"
           "INSERT INTO my_list (profile_id, title_id, added_at)"
           "  VALUES ('up-prof', 'up-b', 500), ('up-prof', 'up-a', 500);");

  stream_store *s = open_at(dbpath);
  int v = 0;
  ck_assert_int_eq(stream_store_schema_version(&v, s), STREAM_OK);
  ck_assert_int_eq(v, SCHEMA_CURRENT);
  /* Old rows: order within the second follows their insertion (rowid). */
  stream_store_progress *cw = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_store_continue_watching(&cw, &n, s, "up-prof", 10), STREAM_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(cw[0].title_id, "up-a");
  ck_assert_int_eq(cw[0].position_ms, 20);
  ck_assert_str_eq(cw[1].title_id, "up-b");
  stream_free(cw);
  /* A new write in that same second goes in front of every old row. */
  stream_store_progress p;
  memset(&p, 0, sizeof p);
  strcpy(p.profile_id, "up-prof");
  strcpy(p.title_id, "up-c");
  p.position_ms = 30;
  p.duration_ms = 1000;
  ck_assert_int_eq(stream_store_progress_upsert(s, &p, 500), STREAM_OK);
  strcpy(p.title_id, "up-b");
  ck_assert_int_eq(stream_store_progress_upsert(s, &p, 500), STREAM_OK);
  ck_assert_int_eq(stream_store_continue_watching(&cw, &n, s, "up-prof", 10), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(cw[0].title_id, "up-b");
  ck_assert_str_eq(cw[1].title_id, "up-c");
  ck_assert_str_eq(cw[2].title_id, "up-a");
  stream_free(cw);
  ck_assert_int_eq(stream_store_mylist_add(s, "up-prof", "up-c", 500), STREAM_OK);
  stream_store_mylist_item *items = NULL;
  ck_assert_int_eq(stream_store_mylist_list(&items, &n, s, "up-prof"), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(items[0].title_id, "up-c");
  ck_assert_str_eq(items[1].title_id, "up-a");
  ck_assert_str_eq(items[2].title_id, "up-b");
  stream_free(items);
  stream_store_close(s);
  ck_assert_int_eq(count_rows(dbpath, "SELECT count(*) FROM schema_version"), SCHEMA_CURRENT);
  remove_tmp();
}
END_TEST

/* A database at version 18 with device authorizations in flight (pending, approved for the
 * account, approved for a profile) gets the table of approval PIN digests (migration 19) at the
 * next open: the old rows read without a digest and go on as before, new approvals record one.
 * Migrating again from 18 (the version rolled back, the table kept) changes nothing. */
START_TEST(test_upgrade_to_device_pins)
{
  make_tmp();
  stream_store *s = open_at(dbpath);
  stream_store_account a;
  memset(&a, 0, sizeof a);
  strcpy(a.email, "tv@v18.test");
  ck_assert_int_eq(stream_store_account_create(&a, s, &a, 1700000000), STREAM_OK);
  stream_store_profile in, p;
  memset(&in, 0, sizeof in);
  strcpy(in.account_id, a.id);
  strcpy(in.name, "Den");
  in.maturity_ceiling = 18;
  ck_assert_int_eq(stream_store_profile_create(&p, s, &in, 1700000000), STREAM_OK);
  stream_store_close(s);
  exec_raw(dbpath,
           "DROP TABLE device_profile_pins; DELETE FROM schema_version WHERE version > 18;");
  ck_assert_int_eq(count_rows(dbpath, "SELECT count(*) FROM sqlite_master WHERE name = "
                                      "'device_profile_pins'"),
                   0);
  /* What a version-18 libstream wrote: three codes, two of them approved. */
  char sql[1024];
  snprintf(sql, sizeof sql,
           "INSERT INTO device_authorizations (device_code_hash, user_code, client_id, status,"
           "  account_id, profile_id, interval_s, created_at, expires_at) VALUES"
           " ('%064d', 'OLDP-ENDG', 'tv', 0, NULL, NULL, 5, 1700000000, 1700000600),"
           " ('%063d1', 'OLDA-CCNT', 'tv', 1, '%s', NULL, 5, 1700000000, 1700000600),"
           " ('%063d2', 'OLDP-ROFL', 'tv', 1, '%s', '%s', 5, 1700000000, 1700000600);",
           0, 0, a.id, 0, a.id, p.id);
  exec_raw(dbpath, sql);

  s = open_at(dbpath);
  int v = 0;
  ck_assert_int_eq(stream_store_schema_version(&v, s), STREAM_OK);
  ck_assert_int_eq(v, SCHEMA_CURRENT);
  stream_store_device d;
  ck_assert_int_eq(stream_store_device_get_by_user_code(&d, s, "OLDP-ROFL"), STREAM_OK);
  ck_assert_str_eq(d.profile_id, p.id);
  /* A profile approval made before: the "unchecked" digest (auth refuses it). */
  ck_assert_str_eq(d.profile_pin_digest, STREAM_STORE_DEVICE_PIN_UNCHECKED);
  ck_assert_int_eq(stream_store_device_consume(&d, s, d.device_code_hash, 1700000010), STREAM_OK);
  ck_assert_int_eq(stream_store_device_get_by_user_code(&d, s, "OLDA-CCNT"), STREAM_OK);
  ck_assert_int_eq(stream_store_device_consume(&d, s, d.device_code_hash, 1700000010), STREAM_OK);
  ck_assert_str_eq(d.account_id, a.id);
  ck_assert_str_eq(d.profile_pin_digest, "");
  const char *digest = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  ck_assert_int_eq(
      stream_store_device_approve_profile(s, "OLDP-ENDG", a.id, p.id, digest, 1700000010),
      STREAM_OK);
  ck_assert_int_eq(stream_store_device_get_by_user_code(&d, s, "OLDP-ENDG"), STREAM_OK);
  ck_assert_str_eq(d.profile_pin_digest, digest);
  stream_store_close(s);

  exec_raw(dbpath, "DELETE FROM schema_version WHERE version > 18;");
  s = open_at(dbpath);
  ck_assert_int_eq(stream_store_schema_version(&v, s), STREAM_OK);
  ck_assert_int_eq(v, SCHEMA_CURRENT);
  ck_assert_int_eq(stream_store_device_get_by_user_code(&d, s, "OLDP-ENDG"), STREAM_OK);
  ck_assert_str_eq(d.profile_pin_digest, digest);
  stream_store_close(s);
  /* OLDP-ROFL's "unchecked" row and OLDP-ENDG's digest, each once after migrating twice. */
  ck_assert_int_eq(count_rows(dbpath, "SELECT count(*) FROM device_profile_pins"), 2);
  remove_tmp();
}
END_TEST

START_TEST(test_open_options)
{
  stream_store *s = NULL;
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  ck_assert_int_eq(stream_store_open(&s, &o), STREAM_EINVAL); /* no path */
  o.path = "";
  ck_assert_int_eq(stream_store_open(&s, &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_open(NULL, &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_open(&s, NULL), STREAM_EINVAL);
  o.path = "/tmp/never-opened.db";
  o.readers = 0;
  ck_assert_int_eq(stream_store_open(&s, &o), STREAM_EINVAL);
  o.readers = 33;
  ck_assert_int_eq(stream_store_open(&s, &o), STREAM_EINVAL);
  o.readers = 2;
  o.busy_timeout_ms = 600001;
  ck_assert_int_eq(stream_store_open(&s, &o), STREAM_EINVAL);
  o.busy_timeout_ms = 100;
  o.version = STREAM_STORE_OPTIONS_VERSION + 1;
  ck_assert_int_eq(stream_store_open(&s, &o), STREAM_EINVAL);
  ck_assert(strstr(stream_error_last()->message, "version") != NULL);
  o.version = 0;
  ck_assert_int_eq(stream_store_open(&s, &o), STREAM_EINVAL);
  o.version = STREAM_STORE_OPTIONS_VERSION;
  o.sync = 2;
  ck_assert_int_eq(stream_store_open(&s, &o), STREAM_EINVAL);
  ck_assert(strstr(stream_error_last()->message, "sync") != NULL);
  ck_assert_ptr_null(s);
  o.sync = STREAM_STORE_SYNC_FULL;
  o.path = "/nonexistent-dir-for-stream/x/store.db";
  ck_assert_int_eq(stream_store_open(&s, &o), STREAM_EIO);
  ck_assert_ptr_null(s);
  /* Not a database. */
  make_tmp();
  FILE *f = fopen(dbpath, "w");
  ck_assert_ptr_nonnull(f);
  fputs("this is not an sqlite database, just text that is long enough to be read", f);
  fclose(f);
  o.path = dbpath;
  ck_assert_int_eq(stream_store_open(&s, &o), STREAM_EIO);
  remove_tmp();
  stream_store_close(NULL);
}
END_TEST

/* Durability: every xSync SQLite makes on the real "unix" VFS, counted by a
 * VFS registered as the default that opens files through the real one and
 * only swaps in an io-methods table whose xSync counts, then calls the real
 * xSync. Check forks each test, so the registration stays in this test. */
static sqlite3_vfs *real_vfs;
static sqlite3_vfs counting_vfs;
/* SQLite may use more than one io-methods table (e.g. for read-only opens):
 * one counting copy per real table. */
enum { IO_TABLES = 8 };
static const sqlite3_io_methods *real_io[IO_TABLES];
static sqlite3_io_methods counting_io[IO_TABLES];
static int io_tables;
static int sync_calls;
static pthread_mutex_t sync_mu = PTHREAD_MUTEX_INITIALIZER;

static int counting_sync(sqlite3_file *f, int flags)
{
  pthread_mutex_lock(&sync_mu);
  sync_calls++;
  const sqlite3_io_methods *real = NULL;
  for (int i = 0; i < io_tables; i++)
    if (f->pMethods == &counting_io[i])
      real = real_io[i];
  pthread_mutex_unlock(&sync_mu);
  return real ? real->xSync(f, flags) : SQLITE_IOERR_FSYNC;
}

static int counting_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags,
                         int *out_flags)
{
  (void)vfs;
  int rc = real_vfs->xOpen(real_vfs, name, f, flags, out_flags);
  if (rc == SQLITE_OK && f->pMethods) {
    pthread_mutex_lock(&sync_mu);
    int i = 0;
    while (i < io_tables && real_io[i] != f->pMethods)
      i++;
    if (i == io_tables && io_tables < IO_TABLES) {
      real_io[i] = f->pMethods;
      counting_io[i] = *f->pMethods;
      counting_io[i].xSync = counting_sync;
      io_tables++;
    }
    if (i < io_tables)
      f->pMethods = &counting_io[i];
    pthread_mutex_unlock(&sync_mu);
  }
  return rc;
}

static int syncs_now(void)
{
  pthread_mutex_lock(&sync_mu);
  int n = sync_calls;
  pthread_mutex_unlock(&sync_mu);
  return n;
}

/* Syncs made by `commits` one-row commits on a fresh file store. */
static int syncs_for_commits(unsigned int version, unsigned int sync, int commits)
{
  make_tmp();
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  o.version = version;
  o.sync = sync;
  o.path = dbpath;
  stream_store *s = NULL;
  ck_assert_int_eq(stream_store_open(&s, &o), STREAM_OK);
  int before = syncs_now();
  for (int i = 0; i < commits; i++) {
    stream_store_account acc;
    memset(&acc, 0, sizeof acc);
    snprintf(acc.email, sizeof acc.email, "sync%d@durable.test", i);
    ck_assert_int_eq(stream_store_account_create(&acc, s, &acc, 1700000000 + i), STREAM_OK);
  }
  int n = syncs_now() - before;
  stream_store_close(s);
  remove_tmp();
  return n;
}

START_TEST(test_sync_modes)
{
  real_vfs = sqlite3_vfs_find(NULL);
  ck_assert_ptr_nonnull(real_vfs);
  counting_vfs = *real_vfs;
  counting_vfs.zName = "stream-test-counting";
  counting_vfs.xOpen = counting_open;
  ck_assert_int_eq(sqlite3_vfs_register(&counting_vfs, 1), SQLITE_OK);
  enum { COMMITS = 25 };
  /* FULL (the default, also what a version-1 options struct gets): the WAL
   * is synced at every commit, so each acknowledged write is on the disk. */
  int full = syncs_for_commits(STREAM_STORE_OPTIONS_VERSION, STREAM_STORE_SYNC_FULL, COMMITS);
  ck_assert_msg(full >= COMMITS, "FULL: %d syncs for %d commits", full, COMMITS);
  int v1 = syncs_for_commits(1, 12345 /* not read for version 1 */, COMMITS);
  ck_assert_msg(v1 >= COMMITS, "version-1 options: %d syncs for %d commits", v1, COMMITS);
  /* NORMAL: syncs only at checkpoints (none within these few pages). */
  int normal = syncs_for_commits(STREAM_STORE_OPTIONS_VERSION, STREAM_STORE_SYNC_NORMAL, COMMITS);
  ck_assert_msg(normal < COMMITS / 5, "NORMAL: %d syncs for %d commits", normal, COMMITS);
  sqlite3_vfs_unregister(&counting_vfs);
}
END_TEST

/* Two handles on one file race, as two processes would: the profile limit and
 * the one-time token use must hold through SQLite's own locking (BEGIN
 * IMMEDIATE + busy timeout), not only through one handle's mutex. */
typedef struct two_arg {
  stream_store *h[2];
  const char *account_id;
  const char *token_hash;
  int index;
  int rc_profile;
  int rc_token;
  pthread_barrier_t *barrier;
} two_arg;

static void *two_main(void *p)
{
  two_arg *a = p;
  stream_store *s = a->h[a->index % 2];
  stream_store_profile in;
  memset(&in, 0, sizeof in);
  strcpy(in.account_id, a->account_id);
  snprintf(in.name, sizeof in.name, "handle racer %d", a->index);
  pthread_barrier_wait(a->barrier);
  a->rc_profile = stream_store_profile_create(NULL, s, &in, 1700000000);
  a->rc_token = stream_store_refresh_mark_used(s, a->token_hash, 1700000001);
  return NULL;
}

START_TEST(test_two_handles_one_file)
{
  make_tmp();
  stream_store *h1 = open_at(dbpath), *h2 = open_at(dbpath);
  stream_store_account acc;
  memset(&acc, 0, sizeof acc);
  strcpy(acc.email, "two@handles.test");
  ck_assert_int_eq(stream_store_account_create(&acc, h1, &acc, 1700000000), STREAM_OK);
  stream_store_refresh t;
  memset(&t, 0, sizeof t);
  memset(t.token_hash, 'e', STREAM_STORE_TOKEN_HASH_LEN);
  strcpy(t.family_id, "fam");
  strcpy(t.account_id, acc.id);
  t.created_at = 1700000000;
  t.expires_at = 1700003600;
  ck_assert_int_eq(stream_store_refresh_insert(h2, &t), STREAM_OK);
  enum { N = 8 };
  pthread_t th[N];
  two_arg args[N];
  pthread_barrier_t b;
  pthread_barrier_init(&b, NULL, N);
  for (int i = 0; i < N; i++) {
    args[i] = (two_arg){{h1, h2}, acc.id, t.token_hash, i, 0, 0, &b};
    ck_assert_int_eq(pthread_create(&th[i], NULL, two_main, &args[i]), 0);
  }
  int ok_profiles = 0, range = 0, ok_tokens = 0, conflicts = 0;
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    ok_profiles += args[i].rc_profile == STREAM_OK;
    range += args[i].rc_profile == STREAM_ERANGE;
    ok_tokens += args[i].rc_token == STREAM_OK;
    conflicts += args[i].rc_token == STREAM_ECONFLICT;
  }
  pthread_barrier_destroy(&b);
  ck_assert_int_eq(ok_profiles, STREAM_STORE_PROFILES_MAX);
  ck_assert_int_eq(range, N - STREAM_STORE_PROFILES_MAX);
  ck_assert_int_eq(ok_tokens, 1);
  ck_assert_int_eq(conflicts, N - 1);
  stream_store_close(h1);
  stream_store_close(h2);
  remove_tmp();
}
END_TEST

int main(void)
{
  Suite *su = suite_create("store");
  TCase *tc = tcase_create("sqlite-file");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_conformance_file, 0, (int)store_conformance_count);
  suite_add_tcase(su, tc);
  tc = tcase_create("sqlite-memory");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_conformance_memory, 0, (int)store_conformance_count);
  suite_add_tcase(su, tc);
  tc = tcase_create("sqlite-backend");
  tcase_set_timeout(tc, 240);
  tcase_add_test(tc, test_conformance_all_on_one_store);
  tcase_add_test(tc, test_migrations_once_and_reopen);
  tcase_add_test(tc, test_newer_schema_refused);
  tcase_add_test(tc, test_upgrade_from_v1);
  tcase_add_test(tc, test_upgrade_to_device_pins);
  tcase_add_test(tc, test_open_options);
  tcase_add_test(tc, test_two_handles_one_file);
  tcase_add_test(tc, test_sync_modes);
  suite_add_tcase(su, tc);
  SRunner *sr = srunner_create(su);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
