/*
 * Unit tests of the catalog's ratings (thumbs up/down) and of rendering a
 * given list of titles for a viewer (public API only), each case on a fresh
 * SQLite store file in a temporary directory, with an injected clock (under
 * tests/pg/pg_run.sh: a PostgreSQL database of its own, ../store_path.h).
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog_fixture.h"

static char profile_id[STREAM_STORE_ID_SIZE];
static char kid_id[STREAM_STORE_ID_SIZE];

#define OK(expr) ck_assert_msg((expr) == STREAM_OK, "%s: %s", #expr, msg())

static void put_title(const char *json)
{
  OK(stream_catalog_title_put(NULL, NULL, cat, json));
}

/* An adult movie, an all-ages series, a title that expired before NOW, one
 * only in FR, and a 7+ movie. */
static void setup(void)
{
  catalog_fixture_setup("ratings");
  catalog_fixture_profiles(profile_id, kid_id);

  put_title("{\"id\":\"adult\",\"kind\":\"movie\",\"name\":\"Adult\",\"maturity_rating\":18}");
  put_title("{\"id\":\"family\",\"kind\":\"series\",\"name\":\"Family\",\"maturity_rating\":0}");
  put_title("{\"id\":\"expired\",\"kind\":\"movie\",\"name\":\"Expired\",\"maturity_rating\":0,"
            "\"available_until\":1700000000}");
  put_title("{\"id\":\"french\",\"kind\":\"movie\",\"name\":\"French\",\"maturity_rating\":0,"
            "\"regions\":[\"FR\"]}");
  put_title("{\"id\":\"seven\",\"kind\":\"movie\",\"name\":\"Seven\",\"maturity_rating\":7}");
}

static int rating_of(const char *pid, const char *tid)
{
  int v = 99;
  OK(stream_catalog_rating_get(&v, cat, pid, tid));
  return v;
}

START_TEST(test_put_get_clear)
{
  ck_assert_int_eq(rating_of(profile_id, "adult"), 0);
  OK(stream_catalog_rating_put(cat, profile_id, "adult", 1));
  ck_assert_int_eq(rating_of(profile_id, "adult"), 1);
  /* Per profile: the kid has no rating of it. */
  ck_assert_int_eq(rating_of(kid_id, "adult"), 0);
  OK(stream_catalog_rating_put(cat, profile_id, "adult", -1));
  ck_assert_int_eq(rating_of(profile_id, "adult"), -1);
  OK(stream_catalog_rating_put(cat, profile_id, "adult", -1));
  ck_assert_int_eq(rating_of(profile_id, "adult"), -1);
  OK(stream_catalog_rating_put(cat, kid_id, "family", 1));
  OK(stream_catalog_rating_put(cat, profile_id, "adult", 0));
  ck_assert_int_eq(rating_of(profile_id, "adult"), 0);
  OK(stream_catalog_rating_put(cat, profile_id, "adult", 0)); /* clearing again is fine */
  ck_assert_int_eq(rating_of(kid_id, "family"), 1);

  /* The store's own view agrees, with the clock's time. */
  int v = 5;
  OK(stream_store_rating_get(&v, st, kid_id, "family"));
  ck_assert_int_eq(v, 1);
  OK(stream_store_rating_delete(st, kid_id, "family"));
  OK(stream_store_rating_delete(st, kid_id, "family"));
  OK(stream_store_rating_get(&v, st, kid_id, "family"));
  ck_assert_int_eq(v, 0);
}
END_TEST

START_TEST(test_validation)
{
  int v = 0;
  ck_assert_int_eq(stream_catalog_rating_put(NULL, profile_id, "adult", 1), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_rating_put(cat, NULL, "adult", 1), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_rating_put(cat, profile_id, "", 1), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_rating_put(cat, profile_id, "bad id", 1), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_rating_put(cat, profile_id, "adult", 2), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "rating 2"));
  ck_assert_int_eq(stream_catalog_rating_put(cat, profile_id, "adult", -2), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_rating_get(NULL, cat, profile_id, "adult"), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_rating_get(&v, NULL, profile_id, "adult"), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_rating_get(&v, cat, profile_id, "x'; DROP TABLE ratings"),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_store_rating_put(st, profile_id, "adult", 0, NOW), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_rating_put(st, profile_id, "adult", 1, -1), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_rating_get(&v, NULL, profile_id, "adult"), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_rating_delete(st, NULL, "adult"), STREAM_EINVAL);
  /* Nothing was written by the rejected calls. */
  ck_assert_int_eq(rating_of(profile_id, "adult"), 0);
}
END_TEST

START_TEST(test_unknown_ids)
{
  int v = 7;
  ck_assert_int_eq(stream_catalog_rating_put(cat, profile_id, "nosuch", 1), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_catalog_rating_put(cat, "nosuchprofile", "adult", 1), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_catalog_rating_put(cat, profile_id, "nosuch", 0), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_catalog_rating_get(&v, cat, profile_id, "nosuch"), STREAM_ENOTFOUND);
  ck_assert_int_eq(v, 0);
  /* The store answers "none" for unknown ids and refuses to store them. */
  OK(stream_store_rating_get(&v, st, "nosuchprofile", "nosuch"));
  ck_assert_int_eq(v, 0);
  ck_assert_int_eq(stream_store_rating_put(st, "nosuchprofile", "adult", 1, NOW), STREAM_ENOTFOUND);
  OK(stream_store_rating_delete(st, "nosuchprofile", "nosuch"));
}
END_TEST

START_TEST(test_deleted_title_and_profile_remove_ratings)
{
  OK(stream_catalog_rating_put(cat, profile_id, "adult", 1));
  OK(stream_catalog_rating_put(cat, kid_id, "family", -1));
  OK(stream_catalog_title_delete(cat, "adult"));
  int v = 9;
  ck_assert_int_eq(stream_catalog_rating_get(&v, cat, profile_id, "adult"), STREAM_ENOTFOUND);
  OK(stream_store_rating_get(&v, st, profile_id, "adult"));
  ck_assert_int_eq(v, 0);
  /* Re-creating the title does not bring the old rating back. */
  put_title("{\"id\":\"adult\",\"kind\":\"movie\",\"name\":\"Adult\",\"maturity_rating\":18}");
  ck_assert_int_eq(rating_of(profile_id, "adult"), 0);
  OK(stream_store_profile_delete(st, kid_id));
  OK(stream_store_rating_get(&v, st, kid_id, "family"));
  ck_assert_int_eq(v, 0);
}
END_TEST

/* The ids of {"items":[..]} joined by ','. */
static void item_ids(char *buf, size_t cap, char *json)
{
  ck_assert_ptr_nonnull(json);
  cJSON *j = cJSON_Parse(json);
  ck_assert_msg(j != NULL, "not JSON: %s", json);
  stream_free(json);
  cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
  ck_assert(cJSON_IsArray(items));
  buf[0] = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, items)
  {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
    ck_assert(cJSON_IsString(id));
    /* The title object of browse: a few of its fields. */
    ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(it, "maturity_label")));
    ck_assert(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(it, "genres")));
    ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(it, "seasons"));
    if (buf[0])
      strncat(buf, ",", cap - strlen(buf) - 1);
    strncat(buf, id->valuestring, cap - strlen(buf) - 1);
  }
  cJSON_Delete(j);
}

START_TEST(test_titles_get_order_and_filters)
{
  const char *ids[] = {"seven", "adult", "nosuch", "family", "expired", "seven", "french"};
  size_t n = sizeof ids / sizeof ids[0];
  char *out = NULL;
  char got[256];

  /* Operator (NULL viewer): every existing title, in order, once. */
  OK(stream_catalog_titles_get(&out, cat, ids, n, NULL));
  item_ids(got, sizeof got, out);
  ck_assert_str_eq(got, "seven,adult,family,expired,french");

  /* An adult profile without region: the expired title is left out. */
  stream_catalog_viewer adult = STREAM_CATALOG_VIEWER_INIT;
  OK(stream_catalog_viewer_for_profile(&adult, cat, profile_id, NULL));
  OK(stream_catalog_titles_get(&out, cat, ids, n, &adult));
  item_ids(got, sizeof got, out);
  ck_assert_str_eq(got, "seven,adult,family,french");

  /* In the US: the FR-only title goes too. */
  OK(stream_catalog_viewer_for_profile(&adult, cat, profile_id, "US"));
  OK(stream_catalog_titles_get(&out, cat, ids, n, &adult));
  item_ids(got, sizeof got, out);
  ck_assert_str_eq(got, "seven,adult,family");

  /* A kids profile never gets the 18 title. */
  stream_catalog_viewer kid = STREAM_CATALOG_VIEWER_INIT;
  OK(stream_catalog_viewer_for_profile(&kid, cat, kid_id, "FR"));
  OK(stream_catalog_titles_get(&out, cat, ids, n, &kid));
  item_ids(got, sizeof got, out);
  ck_assert_str_eq(got, "seven,family,french");

  /* Later: the availability window follows the clock. */
  clock_now = 1600000000;
  OK(stream_catalog_titles_get(&out, cat, ids, n, &kid));
  item_ids(got, sizeof got, out);
  ck_assert_str_eq(got, "seven,family,expired,french");

  OK(stream_catalog_titles_get(&out, cat, NULL, 0, &kid));
  item_ids(got, sizeof got, out);
  ck_assert_str_eq(got, "");
}
END_TEST

START_TEST(test_titles_get_validation)
{
  char *out = (char *)"x";
  const char *ids[] = {"adult", "bad id"};
  ck_assert_int_eq(stream_catalog_titles_get(NULL, cat, ids, 1, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_titles_get(&out, NULL, ids, 1, NULL), STREAM_EINVAL);
  ck_assert_ptr_null(out);
  ck_assert_int_eq(stream_catalog_titles_get(&out, cat, NULL, 1, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_titles_get(&out, cat, ids, 2, NULL), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "title id"));
  ck_assert_int_eq(stream_catalog_titles_get(&out, cat, ids, STREAM_STORE_PAGE_MAX + 1, NULL),
                   STREAM_EINVAL);
  stream_catalog_viewer bad = STREAM_CATALOG_VIEWER_INIT;
  bad.maturity_ceiling = -1;
  ck_assert_int_eq(stream_catalog_titles_get(&out, cat, ids, 1, &bad), STREAM_EINVAL);
  ck_assert_ptr_null(out);

  /* The largest list is accepted. */
  const char *many[STREAM_STORE_PAGE_MAX];
  for (size_t i = 0; i < STREAM_STORE_PAGE_MAX; i++)
    many[i] = i % 2 ? "family" : "seven";
  char got[256];
  OK(stream_catalog_titles_get(&out, cat, many, STREAM_STORE_PAGE_MAX, NULL));
  item_ids(got, sizeof got, out);
  ck_assert_str_eq(got, "seven,family");
}
END_TEST

int main(void)
{
  Suite *s = suite_create("catalog-ratings");
  TCase *tc = tcase_create("ratings");
  tcase_add_checked_fixture(tc, setup, catalog_fixture_teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_put_get_clear);
  tcase_add_test(tc, test_validation);
  tcase_add_test(tc, test_unknown_ids);
  tcase_add_test(tc, test_deleted_title_and_profile_remove_ratings);
  tcase_add_test(tc, test_titles_get_order_and_filters);
  tcase_add_test(tc, test_titles_get_validation);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
