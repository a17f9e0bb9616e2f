/*
 * A catalog put is ONE store transaction (the store's internal write batch):
 * a put that fails half-way leaves the store exactly as before, a concurrent
 * reader never sees a half-written title, and a store call that fails inside
 * a batch undoes only itself. Every case runs on a SQLite store file in a
 * temporary directory and on ":memory:" (reads share the writer there). The
 * batch is internal API, so this links the static library; the test reaches
 * the SQLite writer handle only to add a trigger and to count rows. Under
 * tests/pg/pg_run.sh the file cases run on a PostgreSQL database of its own
 * (../store_path.h; trigger and counts through ../store_raw.h); the ":memory:"
 * cases are SQLite's shared-writer mode and are skipped there.
 */
#include <check.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../store_path.h"
#include "../store_raw.h"
#include "store/sqlite/sqlite_internal.h"
#include "store/store_internal.h"
#include "stream/catalog.h"
#include "stream/store.h"

#define NOW INT64_C(1750000000)

static char tmpdir[256];
static char dbpath[300];
static char store_uri[512];
static bool memory;
static stream_store *st;
static stream_catalog *cat;

static int64_t test_clock(void *ud)
{
  (void)ud;
  return NOW;
}

static const char *msg(void)
{
  const stream_error *e = stream_error_last();
  return e ? e->message : "(no message)";
}

static void open_all(const char *path)
{
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  o.path = test_store_path(store_uri, sizeof store_uri, path);
  ck_assert_int_eq(stream_store_open(&st, &o), STREAM_OK);
  stream_catalog_options co = STREAM_CATALOG_OPTIONS_INIT;
  co.store = st;
  co.clock = test_clock;
  ck_assert_int_eq(stream_catalog_new(&cat, &co), STREAM_OK);
}

static void setup_file(void)
{
  memory = false;
  const char *base = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/stream-cattxn-XXXXXX", base && *base ? base : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  snprintf(dbpath, sizeof dbpath, "%s/store.db", tmpdir);
  open_all(dbpath);
}

static void setup_memory(void)
{
  memory = true;
  tmpdir[0] = '\0';
  open_all(":memory:");
}

static void teardown(void)
{
  stream_catalog_free(cat);
  stream_store_close(st);
  if (!tmpdir[0])
    return;
  const char *suffix[] = {"", "-wal", "-shm", "-journal"};
  char p[320];
  for (int i = 0; i < 4; i++) {
    snprintf(p, sizeof p, "%s%s", dbpath, suffix[i]);
    unlink(p);
  }
  rmdir(tmpdir);
}

/* The backend's writer connection: only while no other thread uses the store. */
static sqlite3 *writer_handle(void)
{
  return ((sq_store *)st->impl)->writer.h;
}

static int count_rows(const char *table)
{
  char sql[96];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
  if (test_store_is_pg())
    return (int)test_store_raw_int(dbpath, sql, NULL);
  sqlite3_stmt *s = NULL;
  ck_assert_int_eq(sqlite3_prepare_v2(writer_handle(), sql, -1, &s, NULL), SQLITE_OK);
  ck_assert_int_eq(sqlite3_step(s), SQLITE_ROW);
  int n = sqlite3_column_int(s, 0);
  sqlite3_finalize(s);
  return n;
}

static void put_ok(const char *json)
{
  int rc = stream_catalog_title_put(NULL, NULL, cat, json);
  ck_assert_msg(rc == STREAM_OK, "put: %s", msg());
}

static char *detail(const char *id)
{
  char *json = NULL;
  int rc = stream_catalog_title_get(&json, cat, id, NULL);
  ck_assert_msg(rc == STREAM_OK, "get %s: %s", id, msg());
  return json;
}

/* Another series owns episode id "taken-ep": a put that creates an episode
 * with that id passes validation (episode ids are checked per title) and is
 * refused by the store's primary key, after the put's earlier rows. */
static const char other_series[] =
    "{\"id\":\"other\",\"kind\":\"series\",\"name\":\"Other\",\"maturity_rating\":0,\"seasons\":"
    "[{\"number\":1,\"episodes\":[{\"id\":\"taken-ep\",\"number\":1,\"name\":\"x\"}]}]}";

static const char show_v1[] =
    "{\"id\":\"show\",\"kind\":\"series\",\"name\":\"Show\",\"synopsis\":\"First.\","
    "\"maturity_rating\":7,\"genres\":[\"drama\",\"mystery\"],\"regions\":[\"IT\"],\"seasons\":["
    "{\"number\":1,\"episodes\":[{\"number\":1,\"name\":\"one\"},{\"number\":2,\"name\":\"two\"},"
    "{\"number\":3,\"name\":\"three\"}]},"
    "{\"number\":2,\"episodes\":[{\"number\":1,\"name\":\"s2e1\"}]}]}";

/* Everything changes (title fields, genres, regions, a season dropped, two
 * episodes swapped and renamed, one dropped, a season added) and the very
 * last row fails. */
static const char show_v2_bad[] =
    "{\"id\":\"show\",\"kind\":\"series\",\"name\":\"Show renamed\",\"synopsis\":\"Second.\","
    "\"maturity_rating\":13,\"genres\":[\"comedy\"],\"regions\":[\"FR\",\"BE\"],\"seasons\":["
    "{\"number\":1,\"episodes\":[{\"number\":2,\"name\":\"one again\"},"
    "{\"number\":1,\"name\":\"two again\"}]},"
    "{\"number\":3,\"episodes\":[{\"number\":1,\"name\":\"new\"},"
    "{\"id\":\"taken-ep\",\"number\":2,\"name\":\"boom\"}]}]}";

START_TEST(test_update_fails_midway_leaves_title_as_before)
{
  put_ok(other_series);
  put_ok(show_v1);
  char *before = detail("show");
  int seasons = count_rows("seasons"), episodes = count_rows("episodes");
  int genres = count_rows("title_genres"), regions = count_rows("title_regions");

  int created = -1;
  ck_assert_int_eq(stream_catalog_title_put(NULL, &created, cat, show_v2_bad), STREAM_EEXIST);
  ck_assert_int_eq(created, 0);
  char *after = detail("show");
  ck_assert_str_eq(after, before);
  ck_assert_int_eq(count_rows("seasons"), seasons);
  ck_assert_int_eq(count_rows("episodes"), episodes);
  ck_assert_int_eq(count_rows("title_genres"), genres);
  ck_assert_int_eq(count_rows("title_regions"), regions);
  stream_free(after);

  /* The same document without the bad row goes through in full. */
  const char *good = strstr(show_v2_bad, ",{\"id\":\"taken-ep\"");
  ck_assert_ptr_nonnull(good);
  char doc[sizeof show_v2_bad];
  snprintf(doc, sizeof doc, "%.*s]}]}", (int)(good - show_v2_bad), show_v2_bad);
  put_ok(doc);
  after = detail("show");
  ck_assert_str_ne(after, before);
  ck_assert_ptr_nonnull(strstr(after, "\"Show renamed\""));
  ck_assert_ptr_null(strstr(after, "s2e1"));
  stream_free(after);
  stream_free(before);
}
END_TEST

START_TEST(test_create_fails_midway_leaves_no_row)
{
  put_ok(other_series);
  int titles = count_rows("titles"), seasons = count_rows("seasons");
  int episodes = count_rows("episodes"), genres = count_rows("title_genres");
  const char *bad =
      "{\"id\":\"fresh\",\"kind\":\"series\",\"name\":\"Fresh\",\"maturity_rating\":0,"
      "\"genres\":[\"western\"],\"seasons\":["
      "{\"number\":1,\"episodes\":[{\"number\":1,\"name\":\"a\"},{\"number\":2,\"name\":\"b\"}]},"
      "{\"number\":2,\"episodes\":[{\"number\":1,\"name\":\"c\"},"
      "{\"id\":\"taken-ep\",\"number\":2,\"name\":\"boom\"}]}]}";
  char *json = (char *)"untouched";
  ck_assert_int_eq(stream_catalog_title_put(&json, NULL, cat, bad), STREAM_EEXIST);
  ck_assert_ptr_null(json);
  ck_assert_int_eq(stream_catalog_title_get(&json, cat, "fresh", NULL), STREAM_ENOTFOUND);
  ck_assert_int_eq(count_rows("titles"), titles);
  ck_assert_int_eq(count_rows("seasons"), seasons);
  ck_assert_int_eq(count_rows("episodes"), episodes);
  ck_assert_int_eq(count_rows("title_genres"), genres);
  ck_assert_int_eq(count_rows("genres WHERE name = 'western'"), 0);
}
END_TEST

START_TEST(test_import_item_failure_is_all_or_nothing_per_title)
{
  put_ok(other_series);
  put_ok(show_v1);
  char *before = detail("show");
  char doc[2048];
  snprintf(doc, sizeof doc,
           "{\"titles\":[%s,{\"id\":\"m-ok\",\"kind\":\"movie\",\"name\":\"Fine\","
           "\"maturity_rating\":0}]}",
           show_v2_bad);
  stream_catalog_import_result r;
  ck_assert_int_eq(stream_catalog_import(&r, cat, doc), STREAM_EEXIST);
  ck_assert_uint_eq(r.failed, 1);
  ck_assert_uint_eq(r.created, 1);
  stream_catalog_import_result_clear(&r);
  char *after = detail("show");
  ck_assert_str_eq(after, before);
  stream_free(after);
  stream_free(before);
  after = detail("m-ok");
  stream_free(after);
}
END_TEST

/* ---- a reader during updates ------------------------------------------------ */

static const char show_a[] =
    "{\"id\":\"show\",\"kind\":\"series\",\"name\":\"Show A\",\"maturity_rating\":0,"
    "\"genres\":[\"drama\"],\"seasons\":["
    "{\"number\":1,\"episodes\":[{\"number\":1,\"name\":\"A1-1\"},{\"number\":2,\"name\":\"A1-2\"},"
    "{\"number\":3,\"name\":\"A1-3\"}]},"
    "{\"number\":2,\"episodes\":[{\"number\":1,\"name\":\"A2-1\"},{\"number\":2,\"name\":\"A2-2\"}]"
    "}"
    "]}";
static const char show_b[] =
    "{\"id\":\"show\",\"kind\":\"series\",\"name\":\"Show B\",\"maturity_rating\":0,"
    "\"genres\":[\"comedy\"],\"seasons\":["
    "{\"number\":1,\"episodes\":[{\"number\":1,\"name\":\"B1-1\"},{\"number\":2,\"name\":\"B1-2\"}]"
    "},"
    "{\"number\":3,\"episodes\":[{\"number\":1,\"name\":\"B3-1\"},{\"number\":2,\"name\":\"B3-2\"},"
    "{\"number\":3,\"name\":\"B3-3\"}]}]}";
static const char sig_a[] = "Show A|drama|1:A1-1,A1-2,A1-3|2:A2-1,A2-2";
static const char sig_b[] = "Show B|comedy|1:B1-1,B1-2|3:B3-1,B3-2,B3-3";

static atomic_int reads, mixed, stop;
static char first_mixed[512];

/* The parts of a title detail the two versions differ in. */
static void signature(char *out, size_t cap, const stream_store_title_detail *d)
{
  size_t n = (size_t)snprintf(out, cap, "%s|", d->title.name);
  for (size_t g = 0; g < d->title.genre_count && n < cap; g++)
    n += (size_t)snprintf(out + n, cap - n, "%s%s", g ? "," : "", d->title.genres[g]);
  for (size_t i = 0; i < d->season_count && n < cap; i++) {
    n += (size_t)snprintf(out + n, cap - n, "|%d:", d->seasons[i].number);
    for (size_t k = 0; k < d->seasons[i].episode_count && n < cap; k++)
      n += (size_t)snprintf(out + n, cap - n, "%s%s", k ? "," : "", d->seasons[i].episodes[k].name);
  }
}

static void *reader(void *arg)
{
  (void)arg;
  while (!atomic_load(&stop)) {
    stream_store_title_detail d;
    char sig[512];
    if (stream_store_title_get_detail(&d, st, "show") != STREAM_OK) {
      snprintf(sig, sizeof sig, "read failed: %.200s", msg());
    } else {
      signature(sig, sizeof sig, &d);
      stream_store_title_detail_clear(&d);
    }
    if (strcmp(sig, sig_a) != 0 && strcmp(sig, sig_b) != 0 && atomic_fetch_add(&mixed, 1) == 0)
      snprintf(first_mixed, sizeof first_mixed, "%s", sig);
    atomic_fetch_add(&reads, 1);
  }
  return NULL;
}

START_TEST(test_reader_never_sees_a_half_written_title)
{
  put_ok(show_a);
  atomic_store(&reads, 0);
  atomic_store(&mixed, 0);
  atomic_store(&stop, 0);
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, reader, NULL), 0);
  /* At least 60 updates and 200 reads overlapping them (bounded by counts,
   * not by time). */
  int updates = 0;
  while ((updates < 60 || atomic_load(&reads) < 200) && updates < 100000) {
    int rc = stream_catalog_title_put(NULL, NULL, cat, updates % 2 ? show_a : show_b);
    ck_assert_msg(rc == STREAM_OK, "put: %s", msg());
    updates++;
  }
  atomic_store(&stop, 1);
  pthread_join(th, NULL);
  ck_assert_msg(atomic_load(&mixed) == 0, "%d of %d reads saw a mixed title, first: %s",
                atomic_load(&mixed), atomic_load(&reads), first_mixed);
}
END_TEST

/* ---- the batch itself (store level) ------------------------------------------- */

static void title_row(stream_store_title *t, const char *id, const char *name, char **regions,
                      size_t nregions)
{
  memset(t, 0, sizeof *t);
  snprintf(t->id, sizeof t->id, "%s", id);
  t->kind = STREAM_STORE_TITLE_MOVIE;
  t->name = (char *)name;
  t->regions = regions;
  t->region_count = nregions;
}

/* Title name, or "" when there is none (through whatever connection the
 * calling thread gets: inside a batch, the batch's own). */
static void name_of(char *out, size_t cap, const char *id)
{
  stream_store_title t;
  int rc = stream_store_title_get(&t, st, id);
  out[0] = '\0';
  if (rc == STREAM_OK) {
    snprintf(out, cap, "%s", t.name);
    stream_store_title_clear(&t);
  } else {
    ck_assert_int_eq(rc, STREAM_ENOTFOUND);
  }
}

static void *read_other_thread(void *arg)
{
  char *out = arg;
  name_of(out, 64, "nest-a");
  return NULL;
}

START_TEST(test_batch_savepoints)
{
  /* Region "ZZ" makes the insert of a title's region rows fail, after the
   * title row itself was written in the same store call (a constraint
   * failure in both dialects: EINVAL). */
  if (test_store_is_pg())
    test_store_raw_exec(dbpath, "CREATE FUNCTION t1_no_zz() RETURNS trigger LANGUAGE plpgsql AS"
                                " $$ BEGIN IF NEW.region = 'ZZ' THEN RAISE EXCEPTION 'no ZZ'"
                                " USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$;"
                                " CREATE TRIGGER t1_no_zz BEFORE INSERT ON title_regions"
                                " FOR EACH ROW EXECUTE FUNCTION t1_no_zz()");
  else
    ck_assert_int_eq(sqlite3_exec(writer_handle(),
                                  "CREATE TRIGGER t1_no_zz BEFORE INSERT ON title_regions"
                                  " WHEN NEW.region = 'ZZ' BEGIN SELECT RAISE(ABORT, 'no ZZ'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
  char *fr[] = {"FR"}, *zz[] = {"ZZ"};
  stream_store_title t;
  char name[64];

  ck_assert_int_eq(store__batch_begin(st), STREAM_OK);
  title_row(&t, "nest-a", "A", fr, 1);
  ck_assert_int_eq(stream_store_title_create(NULL, st, &t, NOW), STREAM_OK);
  /* Read-your-writes inside the batch (":memory:": no deadlock on the writer). */
  name_of(name, sizeof name, "nest-a");
  ck_assert_str_eq(name, "A");
  if (!memory) {
    /* Another thread reads the last committed state meanwhile. */
    pthread_t th;
    char other[64] = "not run";
    ck_assert_int_eq(pthread_create(&th, NULL, read_other_thread, other), 0);
    pthread_join(th, NULL);
    ck_assert_str_eq(other, "");
  }
  /* An inner call that fails after its first statement undoes itself only. */
  title_row(&t, "nest-a", "A renamed", zz, 1);
  ck_assert_int_eq(stream_store_title_update(st, &t, NOW + 1), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_title_get(&t, st, "nest-a"), STREAM_OK);
  ck_assert_str_eq(t.name, "A");
  ck_assert_uint_eq(t.region_count, 1);
  ck_assert_str_eq(t.regions[0], "FR");
  stream_store_title_clear(&t);
  /* The outer batch goes on. */
  title_row(&t, "nest-b", "B", NULL, 0);
  ck_assert_int_eq(stream_store_title_create(NULL, st, &t, NOW), STREAM_OK);
  /* A nested batch that fails undoes its own rows only. */
  ck_assert_int_eq(store__batch_begin(st), STREAM_OK);
  title_row(&t, "nest-c", "C", NULL, 0);
  ck_assert_int_eq(stream_store_title_create(NULL, st, &t, NOW), STREAM_OK);
  ck_assert_int_eq(store__batch_end(st, STREAM_ECONFLICT), STREAM_ECONFLICT);
  name_of(name, sizeof name, "nest-c");
  ck_assert_str_eq(name, "");
  ck_assert_int_eq(store__batch_end(st, STREAM_OK), STREAM_OK);

  name_of(name, sizeof name, "nest-a");
  ck_assert_str_eq(name, "A");
  name_of(name, sizeof name, "nest-b");
  ck_assert_str_eq(name, "B");
  name_of(name, sizeof name, "nest-c");
  ck_assert_str_eq(name, "");
  ck_assert_int_eq(count_rows("title_regions"), 1);

  /* A failed outcome rolls the whole batch back and keeps its code. */
  ck_assert_int_eq(store__batch_begin(st), STREAM_OK);
  title_row(&t, "nest-d", "D", NULL, 0);
  ck_assert_int_eq(stream_store_title_create(NULL, st, &t, NOW), STREAM_OK);
  ck_assert_int_eq(stream_store_title_delete(st, "nest-b"), STREAM_OK);
  ck_assert_int_eq(store__batch_end(st, STREAM_EIO), STREAM_EIO);
  name_of(name, sizeof name, "nest-d");
  ck_assert_str_eq(name, "");
  name_of(name, sizeof name, "nest-b");
  ck_assert_str_eq(name, "B");

  /* After the batch, plain calls are their own transactions again. */
  ck_assert_int_eq(stream_store_title_delete(st, "nest-b"), STREAM_OK);
  name_of(name, sizeof name, "nest-b");
  ck_assert_str_eq(name, "");
  ck_assert_int_eq(store__batch_end(st, STREAM_OK), STREAM_EINVAL);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("catalog-txn");
  /* PostgreSQL has no shared-writer mode: ":memory:" would be the file case again. */
  int nmodes = test_store_is_pg() ? 1 : 2;
  TCase *modes[2] = {tcase_create("file"), NULL};
  tcase_add_checked_fixture(modes[0], setup_file, teardown);
  if (nmodes == 2) {
    modes[1] = tcase_create("memory");
    tcase_add_checked_fixture(modes[1], setup_memory, teardown);
  } else {
    printf("catalog-txn: the memory cases are skipped on PostgreSQL (SQLite's shared writer)\n");
  }
  for (int i = 0; i < nmodes; i++) {
    tcase_set_timeout(modes[i], 60);
    tcase_add_test(modes[i], test_update_fails_midway_leaves_title_as_before);
    tcase_add_test(modes[i], test_create_fails_midway_leaves_no_row);
    tcase_add_test(modes[i], test_import_item_failure_is_all_or_nothing_per_title);
    tcase_add_test(modes[i], test_reader_never_sees_a_half_written_title);
    tcase_add_test(modes[i], test_batch_savepoints);
    suite_add_tcase(s, modes[i]);
  }
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
