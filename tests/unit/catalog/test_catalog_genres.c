/*
 * Unit tests of genre names (docs/api/catalog.md "Genre names"): one genre whatever the case of
 * its ASCII letters, in browse, in the store's list and search, in the genre lists and at ingest
 * (the first spelling stays), browse's order of title names (ignoring ASCII case too), and
 * schema migration 17 merging the case variants an older build
 * stored as genres of their own. Each case on a fresh SQLite store file in a temporary directory
 * (under tests/pg/pg_run.sh: a PostgreSQL database of its own, ../store_path.h), so both
 * backends must give the same answers; raw SQL (../store_raw.h) only to rebuild an old database.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../store_raw.h"
#include "catalog_fixture.h"

#define OK(expr) ck_assert_msg((expr) == STREAM_OK, "%s: %s", #expr, msg())

static void setup(void)
{
  catalog_fixture_setup("genres");
}

/* A movie for every audience, everywhere: id, name, genres (a JSON array's items). */
static void put(const char *id, const char *name, const char *genres)
{
  char doc[512];
  snprintf(doc, sizeof doc,
           "{\"id\":\"%s\",\"kind\":\"movie\",\"name\":\"%s\",\"synopsis\":\"harbour\","
           "\"maturity_rating\":0,\"genres\":[%s]}",
           id, name, genres);
  OK(stream_catalog_title_put(NULL, NULL, cat, doc));
}

/* The strings of a JSON array joined by ',' into out (static). */
static const char *joined(const cJSON *arr, const char *field)
{
  static char out[512];
  out[0] = '\0';
  const cJSON *e;
  cJSON_ArrayForEach(e, arr)
  {
    const cJSON *v = field ? cJSON_GetObjectItemCaseSensitive(e, field) : e;
    ck_assert(cJSON_IsString(v));
    if (out[0])
      strcat(out, ",");
    ck_assert_uint_lt(strlen(out) + strlen(v->valuestring), sizeof out - 2);
    strcat(out, v->valuestring);
  }
  return out;
}

/* The ids browse finds for `genre` (operator), in order. */
static const char *browse(const char *genre)
{
  char *out = NULL;
  OK(stream_catalog_browse(&out, cat, genre, NULL, 100, NULL));
  cJSON *j = cJSON_Parse(out);
  stream_free(out);
  ck_assert_ptr_nonnull(j);
  ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "next_cursor")));
  const char *ids = joined(cJSON_GetObjectItemCaseSensitive(j, "items"), "id");
  cJSON_Delete(j);
  return ids;
}

/* The operator's genre list; the operator's visible list is the same. */
static const char *genres(void)
{
  static char all[512];
  char *out = NULL;
  OK(stream_catalog_genres_for(&out, cat, NULL));
  cJSON *j = cJSON_Parse(out);
  stream_free(out);
  snprintf(all, sizeof all, "%s", joined(cJSON_GetObjectItemCaseSensitive(j, "genres"), NULL));
  cJSON_Delete(j);
  OK(stream_catalog_genres(&out, cat));
  j = cJSON_Parse(out);
  stream_free(out);
  ck_assert_str_eq(joined(cJSON_GetObjectItemCaseSensitive(j, "genres"), NULL), all);
  cJSON_Delete(j);
  return all;
}

/* A title's genres, as the detail shows them. */
static const char *title_genres(const char *id)
{
  char *out = NULL;
  OK(stream_catalog_title_get(&out, cat, id, NULL));
  cJSON *j = cJSON_Parse(out);
  stream_free(out);
  const char *g = joined(cJSON_GetObjectItemCaseSensitive(j, "genres"), NULL);
  cJSON_Delete(j);
  return g;
}

/* How many titles the store's search for "harbour" finds in `genre`. */
static size_t search_in(const char *genre)
{
  stream_store_title_query q = STREAM_STORE_TITLE_QUERY_INIT;
  q.genre = genre;
  q.maturity_ceiling = 18;
  q.now = NOW;
  q.limit = 100;
  stream_store_title_page page;
  OK(stream_store_title_search(&page, st, "harbour", &q));
  size_t n = page.count;
  stream_store_title_page_clear(&page);
  return n;
}

/* ---- matching ------------------------------------------------------------ */

START_TEST(test_genre_matches_whatever_its_ascii_case)
{
  put("g-one", "One", "\"Drama\"");
  put("g-two", "Two",
      "\"drama\",\"Com\xc3\xa9"
      "die\"");
  put("g-three", "Three", "\"DRAMA\",\"Thriller\"");
  put("g-four", "Four",
      "\"com\xc3\xa9"
      "die\"");
  put("g-five", "Five",
      "\"COM\xc3\x89"
      "DIE\""); /* É is not an ASCII letter: a genre of its own */

  const char *drama[] = {"Drama", "drama", "DRAMA", "dRaMa"};
  for (size_t i = 0; i < sizeof drama / sizeof drama[0]; i++) {
    ck_assert_msg(strcmp(browse(drama[i]), "g-one,g-three,g-two") == 0, "browse %s: %s", drama[i],
                  browse(drama[i]));
    ck_assert_uint_eq(search_in(drama[i]), 3);
  }
  ck_assert_str_eq(browse("Com\xc3\xa9"
                          "die"),
                   "g-four,g-two");
  ck_assert_str_eq(browse("COM\xc3\xa9"
                          "DIE"),
                   "g-four,g-two");
  /* Non-ASCII letters compare exactly, on PostgreSQL too (whose locale folds É). */
  ck_assert_str_eq(browse("COM\xc3\x89"
                          "DIE"),
                   "g-five");
  ck_assert_str_eq(browse("com\xc3\x89"
                          "die"),
                   "g-five");
  ck_assert_uint_eq(search_in("COM\xc3\x89"
                              "DIE"),
                    1);
  ck_assert_str_eq(browse("thriller"), "g-three");
  ck_assert_str_eq(browse("dram"), "");
  ck_assert_str_eq(browse("drama "), "");

  /* One genre each, spelled as first stored, in the lists and in the titles. */
  ck_assert_str_eq(genres(), "COM\xc3\x89"
                             "DIE,Com\xc3\xa9"
                             "die,Drama,Thriller");
  ck_assert_str_eq(title_genres("g-two"), "Com\xc3\xa9"
                                          "die,Drama");
  ck_assert_str_eq(title_genres("g-three"), "Drama,Thriller");
  ck_assert_str_eq(title_genres("g-four"), "Com\xc3\xa9"
                                           "die");
}
END_TEST

/* ---- ingest ---------------------------------------------------------------- */

START_TEST(test_ingest_keeps_the_first_spelling)
{
  put("k-one", "One", "\"Drama\"");
  put("k-two", "Two", "\"drama\"");
  ck_assert_str_eq(title_genres("k-two"), "Drama");
  ck_assert_str_eq(genres(), "Drama");

  /* Two spellings of one genre in a document are a repeat. */
  char *out = NULL;
  ck_assert_int_eq(
      stream_catalog_title_put(&out, NULL, cat,
                               "{\"kind\":\"movie\",\"name\":\"Three\","
                               "\"maturity_rating\":0,\"genres\":[\"Noir\",\"NOIR\"]}"),
      STREAM_EINVAL);
  ck_assert_ptr_null(out);
  ck_assert_msg(strstr(msg(), "field 'genres' repeats \"Noir\" as \"NOIR\""), "%s", msg());
  ck_assert_str_eq(genres(), "Drama");

  /* The spelling of the document does not change the genre, so a re-import is unchanged. */
  stream_catalog_import_result r;
  OK(stream_catalog_import(&r, cat,
                           "{\"titles\":[{\"id\":\"k-two\",\"kind\":\"movie\",\"name\":\"Two\","
                           "\"synopsis\":\"harbour\",\"maturity_rating\":0,"
                           "\"genres\":[\"drama\"]}]}"));
  ck_assert_msg(r.unchanged == 1 && r.updated == 0, "%s", r.report_json);
  stream_catalog_import_result_clear(&r);
  put("k-two", "Two", "\"DRAMA\",\"Noir\"");
  ck_assert_str_eq(title_genres("k-two"), "Drama,Noir");
  ck_assert_str_eq(genres(), "Drama,Noir");
  ck_assert_str_eq(browse("NOIR"), "k-two");

  /* The store directly: two spellings in one title give one link. */
  char *g[] = {"noir", "Noir", "nOIR"};
  stream_store_title t;
  memset(&t, 0, sizeof t);
  strcpy(t.id, "k-store");
  t.kind = STREAM_STORE_TITLE_MOVIE;
  t.name = "Store";
  t.genres = g;
  t.genre_count = 3;
  OK(stream_store_title_create(NULL, st, &t, NOW));
  ck_assert_str_eq(title_genres("k-store"), "Noir");
  ck_assert_str_eq(browse("noir"), "k-store,k-two");
}
END_TEST

/* Lists sort genres as a viewer reads them: by name whatever the ASCII case of its letters
 * ("action" before "Thriller"), then byte by byte, the same on both backends. They sorted byte
 * by byte before, every capitalised name ahead of every lowercase one. */
START_TEST(test_genres_sort_ignoring_ascii_case)
{
  put("s-one", "One", "\"Thriller\",\"action\"");
  put("s-two", "Two", "\"Zen\",\"biography\",\"_extras\",\"[archive]\"");
  ck_assert_str_eq(genres(), "[archive],_extras,action,biography,Thriller,Zen");
  ck_assert_str_eq(title_genres("s-one"), "action,Thriller");
  ck_assert_str_eq(title_genres("s-two"), "[archive],_extras,biography,Zen");
}
END_TEST

/* ---- title names ----------------------------------------------------------- */

/* Browse in pages of `limit` from `cursor` (NULL: the first page) to the end: the names, in
 * order, joined by ',' into out (static). */
static const char *browse_names(unsigned int limit, const char *cursor)
{
  static char names[512];
  names[0] = '\0';
  char *cur = cursor ? strdup(cursor) : NULL;
  for (int pages = 0;; pages++) {
    ck_assert_int_lt(pages, 50);
    char *out = NULL;
    OK(stream_catalog_browse(&out, cat, NULL, cur, limit, NULL));
    free(cur);
    cur = NULL;
    cJSON *j = cJSON_Parse(out);
    stream_free(out);
    ck_assert_ptr_nonnull(j);
    const char *page = joined(cJSON_GetObjectItemCaseSensitive(j, "items"), "name");
    if (names[0] && page[0])
      strcat(names, ",");
    ck_assert_uint_lt(strlen(names) + strlen(page), sizeof names - 2);
    strcat(names, page);
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(j, "next_cursor");
    if (cJSON_IsString(next))
      cur = strdup(next->valuestring);
    cJSON_Delete(j);
    if (!cur)
      return names;
  }
}

/* Browse sorts titles by name ignoring the ASCII case of its letters, then by id, on both
 * backends alike: "apple" before "Banana", where byte order put every capitalised name first.
 * Names that differ only in case are ordered by id, and the keyset cursor pages across them
 * without a duplicate or a gap, one title per page. */
START_TEST(test_browse_sorts_names_ignoring_ascii_case)
{
  put("n-4", "Date", "\"Fruit\"");
  put("n-3", "cherry", "\"Fruit\"");
  put("n-2", "Banana", "\"Fruit\"");
  put("n-1", "apple", "\"Fruit\"");
  ck_assert_str_eq(browse_names(1, NULL), "apple,Banana,cherry,Date");
  ck_assert_str_eq(browse_names(3, NULL), "apple,Banana,cherry,Date");

  /* One name in three cases: by id, the reverse of their byte order. */
  put("c-3", "BERRY", "\"Fruit\"");
  put("c-1", "berry", "\"Fruit\"");
  put("c-2", "Berry", "\"Fruit\"");
  ck_assert_str_eq(browse_names(1, NULL), "apple,Banana,berry,Berry,BERRY,cherry,Date");
  ck_assert_str_eq(browse_names(2, NULL), "apple,Banana,berry,Berry,BERRY,cherry,Date");
  ck_assert_str_eq(browse(NULL), "n-1,n-2,c-1,c-2,c-3,n-3,n-4");
}
END_TEST

/* A cursor holds the last title's name and id as they are ("0:<id>:<name>", base64url), not
 * their sort key, so one an older build issued (byte order) stays valid: it resumes after that
 * title in the new order. */
START_TEST(test_old_cursor_resumes_in_the_new_order)
{
  put("n-1", "apple", "\"Fruit\"");
  put("n-2", "Banana", "\"Fruit\"");
  put("n-3", "cherry", "\"Fruit\"");
  put("n-4", "Date", "\"Fruit\"");
  char *cursor = NULL;
  const char plain[] = "0:n-2:Banana";
  OK(stream_base64_encode(&cursor, NULL, plain, strlen(plain), STREAM_B64_URL | STREAM_B64_NOPAD));
  ck_assert_str_eq(browse_names(1, cursor), "cherry,Date");
  stream_free(cursor);
}
END_TEST

/* ---- migration 17 ------------------------------------------------------------ */

/* A database of the last version before the merge (16), holding what such a build let in:
 * case variants as genres of their own, one title linked to two of them. Migration 17 at the
 * next open merges them into the first created, with all their titles. */
START_TEST(test_migration_merges_case_variants)
{
  put("m-x", "X", "\"Drama\",\"Noir\"");
  put("m-y", "Y", "\"Thriller\"");
  put("m-z", "Z", "\"Kids\"");
  int latest = 0;
  OK(stream_store_schema_version(&latest, st));
  catalog_fixture_close();
  test_store_raw_exec(
      store_uri,
      "DROP INDEX IF EXISTS genres_name_fold;"
      "DELETE FROM schema_version WHERE version > 16;"
      "INSERT INTO genres (name) VALUES ('drama'), ('DRAMA'), ('thriller'), ('noir'), ('KIDS');"
      "INSERT INTO title_genres (genre_id, title_id) SELECT id, 'm-y' FROM genres"
      " WHERE name IN ('drama', 'thriller');"
      "INSERT INTO title_genres (genre_id, title_id) SELECT id, 'm-x' FROM genres"
      " WHERE name = 'DRAMA';"
      "INSERT INTO title_genres (genre_id, title_id) SELECT id, 'm-z' FROM genres"
      " WHERE name = 'KIDS';");
  ck_assert_int_eq(test_store_raw_int(store_uri, "SELECT count(*) FROM genres", NULL), 9);

  catalog_fixture_open(); /* migration 17 */
  int v = 0;
  OK(stream_store_schema_version(&v, st));
  ck_assert_int_eq(v, latest);
  ck_assert_int_eq(test_store_raw_int(store_uri, "SELECT count(*) FROM genres", NULL), 4);
  ck_assert_str_eq(genres(), "Drama,Kids,Noir,Thriller");
  ck_assert_str_eq(title_genres("m-x"), "Drama,Noir");
  ck_assert_str_eq(title_genres("m-y"), "Drama,Thriller");
  ck_assert_str_eq(title_genres("m-z"), "Kids");
  ck_assert_str_eq(browse("drama"), "m-x,m-y");
  ck_assert_str_eq(browse("THRILLER"), "m-y");
  ck_assert_int_eq(test_store_raw_int(store_uri, "SELECT count(*) FROM title_genres", NULL), 5);

  /* From now on a new spelling is the genre. */
  put("m-w", "W", "\"dRaMa\"");
  ck_assert_str_eq(title_genres("m-w"), "Drama");
  ck_assert_int_eq(test_store_raw_int(store_uri, "SELECT count(*) FROM genres", NULL), 4);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("catalog-genres");
  TCase *tc = tcase_create("genres");
  tcase_add_checked_fixture(tc, setup, catalog_fixture_teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_genre_matches_whatever_its_ascii_case);
  tcase_add_test(tc, test_ingest_keeps_the_first_spelling);
  tcase_add_test(tc, test_migration_merges_case_variants);
  tcase_add_test(tc, test_genres_sort_ignoring_ascii_case);
  tcase_add_test(tc, test_browse_sorts_names_ignoring_ascii_case);
  tcase_add_test(tc, test_old_cursor_resumes_in_the_new_order);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
