/*
 * Region matching (docs/api/catalog.md "regions"): a viewer's country (ISO 3166-1 alpha-2) sees a
 * title listing that code or a UN M49 area containing the country ("419", "150", "001", ...), in
 * the detail, browse, search and genre lists alike (a real store: SQLite, or PostgreSQL under
 * tests/pg/pg_run.sh). Also the M49 table itself (libstream/catalog/m49.c, internal API).
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog_fixture.h"
#include "core/m49.h"

/* One title per region list, each in a genre of its own and all in "Saga" (name and genre). */
static const struct {
  const char *id, *regions, *genre;
} titles[] = {
    {"latam", "[\"419\"]", "Telenovela"}, {"europe", "[\"150\"]", "Europudding"},
    {"world", "[\"001\"]", "Planet"},     {"france", "[\"FR\"]", "Chanson"},
    {"northam", "[\"021\"]", "Prairie"},  {"everywhere", "[]", "Anywhere"},
};
#define NTITLES (sizeof titles / sizeof titles[0])

static void setup(void)
{
  catalog_fixture_setup("regions");
  for (size_t i = 0; i < NTITLES; i++) {
    char doc[512], *out = NULL;
    snprintf(doc, sizeof doc,
             "{\"id\":\"%s\",\"kind\":\"movie\",\"name\":\"Saga %s\",\"maturity_rating\":0,"
             "\"genres\":[\"Saga\",\"%s\"],\"regions\":%s}",
             titles[i].id, titles[i].id, titles[i].genre, titles[i].regions);
    ck_assert_msg(stream_catalog_title_put(&out, NULL, cat, doc) == STREAM_OK, "put %s: %s",
                  titles[i].id, msg());
    stream_free(out);
  }
}

/* The titles `region` sees, in the order of titles[]: '1' seen, '0' not. */
static const struct {
  const char *region;
  const char *seen; /* latam europe world france northam everywhere */
} cases[] =
    {
        {"MX", "101001"},      {"BR", "101001"}, {"AR", "101001"}, {"DE", "011001"},
        {"FR", "011101"},      {"US", "001011"}, {"CA", "001011"}, {"JP", "001001"},
        {"419", "100001"},     /* M49 digits as the viewer's region: exact matching */
        {"TW", "000001"},      /* not a row of the UN table: its own code only */
        {"UNKNOWN", "000001"}, /* streamd's unknown country: fail closed */
};

static stream_catalog_viewer viewer_in(const char *region)
{
  stream_catalog_viewer v = STREAM_CATALOG_VIEWER_INIT;
  v.maturity_ceiling = 18;
  v.region = region;
  return v;
}

static bool listed(const char *json, const char *key, const char *needle)
{
  ck_assert_ptr_nonnull(json);
  const char *at = strstr(json, key);
  ck_assert_msg(at != NULL, "no %s in %s", key, json);
  return strstr(at, needle) != NULL;
}

START_TEST(test_viewer_regions)
{
  const char *region = cases[_i].region;
  stream_catalog_viewer v = viewer_in(region);
  char *browse = NULL, *search = NULL, *genres = NULL;
  ck_assert_msg(stream_catalog_browse(&browse, cat, "saga", NULL, 50, &v) == STREAM_OK, "%s",
                msg());
  ck_assert_msg(stream_catalog_search(&search, cat, "saga", 50, &v) == STREAM_OK, "%s", msg());
  ck_assert_msg(stream_catalog_genres_for(&genres, cat, &v) == STREAM_OK, "%s", msg());
  for (size_t i = 0; i < NTITLES; i++) {
    bool want = cases[_i].seen[i] == '1';
    char id[64], genre[64], *out = NULL;
    snprintf(id, sizeof id, "\"id\":\"%s\"", titles[i].id);
    snprintf(genre, sizeof genre, "\"%s\"", titles[i].genre);
    int rc = stream_catalog_title_get(&out, cat, titles[i].id, &v);
    ck_assert_msg(rc == (want ? STREAM_OK : STREAM_ENOTFOUND), "detail %s for %s: %d", titles[i].id,
                  region, rc);
    stream_free(out);
    ck_assert_msg(listed(browse, "\"items\"", id) == want, "browse %s for %s: %s", titles[i].id,
                  region, browse);
    ck_assert_msg(listed(search, "\"items\"", id) == want, "search %s for %s: %s", titles[i].id,
                  region, search);
    ck_assert_msg(listed(genres, "\"genres\"", genre) == want, "genre %s for %s: %s",
                  titles[i].genre, region, genres);
  }
  stream_free(browse);
  stream_free(search);
  stream_free(genres);
  /* Without a region filter every title shows. */
  v = viewer_in(NULL);
  for (size_t i = 0; i < NTITLES; i++) {
    char *out = NULL;
    ck_assert_int_eq(stream_catalog_title_get(&out, cat, titles[i].id, &v), STREAM_OK);
    stream_free(out);
  }
}
END_TEST

/* ---- the table ------------------------------------------------------------ */

static const char *const five[] = {"002", "019", "142", "150", "009"};

START_TEST(test_table_shape)
{
  size_t n;
  const stream__m49_country *t = stream__m49_table(&n);
  ck_assert_uint_eq(n, 248); /* ISO 3166-1's 249 codes but "TW", which the UN table lacks */
  for (size_t i = 0; i < n; i++) {
    const char *a = t[i].alpha2;
    ck_assert_msg(strlen(a) == 2 && a[0] >= 'A' && a[0] <= 'Z' && a[1] >= 'A' && a[1] <= 'Z',
                  "row %zu", i);
    if (i)
      ck_assert_msg(strcmp(t[i - 1].alpha2, a) < 0, "%s then %s: not sorted", t[i - 1].alpha2, a);
    ck_assert_ptr_eq(stream__m49_find(a), &t[i]);
    const char *areas[STREAM__M49_AREAS_MAX];
    size_t k = stream__m49_areas(areas, a);
    ck_assert_uint_ge(k, 2);
    ck_assert_str_eq(areas[k - 1], "001");
    int regions = 0;
    for (size_t j = 0; j < k; j++) {
      ck_assert_msg(strlen(areas[j]) == 3 && strspn(areas[j], "0123456789") == 3, "%s", a);
      for (size_t r = 0; r < 5; r++)
        regions += strcmp(areas[j], five[r]) == 0;
    }
    /* Antarctica is the one area of the UN table in no region. */
    ck_assert_msg(regions == (strcmp(a, "AQ") == 0 ? 0 : 1), "%s is in %d regions", a, regions);
    ck_assert(stream__region_matches("001", a));
    ck_assert(stream__region_matches(a, a));
    ck_assert(stream__region_matches(t[i].code, a));
  }
  ck_assert_ptr_null(stream__m49_find("TW"));
  ck_assert_ptr_null(stream__m49_find("ZZ"));
  ck_assert_ptr_null(stream__m49_find("484"));
  ck_assert_ptr_null(stream__m49_find("mx"));
  ck_assert_ptr_null(stream__m49_find(""));
  ck_assert_ptr_null(stream__m49_find("UNKNOWN"));
}
END_TEST

static void expect_areas(const char *alpha2, const char *own, const char *a1, const char *a2,
                         const char *a3)
{
  const char *want[] = {own, a1, a2, a3};
  for (size_t i = 0; i < 4; i++)
    if (want[i])
      ck_assert_msg(stream__region_matches(want[i], alpha2), "%s not in %s", alpha2, want[i]);
  const char *areas[STREAM__M49_AREAS_MAX];
  size_t k = stream__m49_areas(areas, alpha2), expect = 1; /* "001" */
  for (size_t i = 0; i < 4; i++)
    expect += want[i] != NULL;
  ck_assert_msg(k == expect, "%s: %zu areas, expected %zu", alpha2, k, expect);
  ck_assert_str_eq(areas[0], own);
}

START_TEST(test_table_spot_checks)
{
  expect_areas("MX", "484", "013", "419", "019");
  expect_areas("DE", "276", "155", "150", NULL);
  expect_areas("JP", "392", "030", "142", NULL);
  expect_areas("AU", "036", "053", "009", NULL);
  expect_areas("EG", "818", "015", "002", NULL);
  expect_areas("NG", "566", "011", "202", "002"); /* Western Africa, Sub-Saharan Africa */
  expect_areas("JE", "832", "830", "154", "150"); /* Channel Islands, Northern Europe */
  expect_areas("US", "840", "021", "019", NULL);
  ck_assert(!stream__region_matches("419", "US"));
  ck_assert(!stream__region_matches("150", "EG"));
  ck_assert(!stream__region_matches("MX", "484")); /* digits match only themselves */
  ck_assert(!stream__region_matches("001", "484"));
  ck_assert(stream__region_matches("484", "484"));
  ck_assert(!stream__region_matches("001", "TW"));
  ck_assert(!stream__region_matches("001", "UNKNOWN"));

  char codes[STREAM__REGION_CODES_SIZE];
  stream__region_codes(codes, "MX");
  ck_assert_str_eq(codes, "MX,484,419,013,019,001");
  stream__region_codes(codes, "JE");
  ck_assert_str_eq(codes, "JE,832,154,830,150,001");
  stream__region_codes(codes, "UNKNOWN");
  ck_assert_str_eq(codes, "UNKNOWN");
  stream__region_codes(codes, "419");
  ck_assert_str_eq(codes, "419");
}
END_TEST

int main(void)
{
  Suite *s = suite_create("catalog-regions");
  TCase *tc = tcase_create("viewers");
  tcase_add_checked_fixture(tc, setup, catalog_fixture_teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_viewer_regions, 0, (int)(sizeof cases / sizeof cases[0]));
  suite_add_tcase(s, tc);
  TCase *tt = tcase_create("table");
  tcase_add_test(tt, test_table_shape);
  tcase_add_test(tt, test_table_spot_checks);
  suite_add_tcase(s, tt);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
