/*
 * Unit tests of the catalog service (public API only), each case on a fresh
 * SQLite store file in a temporary directory, with an injected clock (under
 * tests/pg/pg_run.sh: a PostgreSQL database of its own, ../store_path.h).
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog_fixture.h"

static char profile_id[STREAM_STORE_ID_SIZE];
static char kid_id[STREAM_STORE_ID_SIZE];

static void setup(void)
{
  catalog_fixture_setup("catalog");
  catalog_fixture_profiles(profile_id, kid_id);
}

static char *read_demo(void)
{
  FILE *f = fopen(DEMO_CATALOG, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", DEMO_CATALOG);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = 0;
  fclose(f);
  return buf;
}

static void import_demo(void)
{
  char *doc = read_demo();
  stream_catalog_import_result r;
  int rc = stream_catalog_import(&r, cat, doc);
  ck_assert_msg(rc == STREAM_OK, "import: %s", msg());
  ck_assert_uint_eq(r.total, 22);
  stream_catalog_import_result_clear(&r);
  free(doc);
}

static cJSON *parse(char *json)
{
  ck_assert_ptr_nonnull(json);
  cJSON *j = cJSON_Parse(json);
  ck_assert_msg(j != NULL, "output is not JSON: %s", json);
  stream_free(json);
  return j;
}

static stream_catalog_viewer viewer(const char *pid, int ceiling, int kids, const char *region)
{
  stream_catalog_viewer v = STREAM_CATALOG_VIEWER_INIT;
  v.profile_id = pid;
  v.maturity_ceiling = ceiling;
  v.kids = kids;
  v.region = region;
  return v;
}

/* Every documented field of a title object, with its type. */
static void check_title_shape(const cJSON *t)
{
  ck_assert(cJSON_IsObject(t));
  ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(t, "id")));
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(t, "kind");
  ck_assert(cJSON_IsString(kind));
  ck_assert(strcmp(kind->valuestring, "movie") == 0 || strcmp(kind->valuestring, "series") == 0);
  ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(t, "name")));
  const char *nullable_str[] = {"synopsis", "maturity_label"};
  for (int i = 0; i < 2; i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, nullable_str[i]);
    ck_assert_msg(cJSON_IsString(v) || cJSON_IsNull(v), "field %s", nullable_str[i]);
  }
  const char *nullable_num[] = {"year", "runtime_minutes", "available_from", "available_until"};
  for (int i = 0; i < 4; i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(t, nullable_num[i]);
    ck_assert_msg(cJSON_IsNumber(v) || cJSON_IsNull(v), "field %s", nullable_num[i]);
  }
  const char *nums[] = {"maturity_rating", "created_at", "updated_at"};
  for (int i = 0; i < 3; i++)
    ck_assert_msg(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(t, nums[i])), "field %s",
                  nums[i]);
  ck_assert(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(t, "genres")));
  ck_assert(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(t, "regions")));
  ck_assert(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(t, "credits")));
  ck_assert(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(t, "artwork")));
}

static int item_count(const cJSON *root)
{
  return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(root, "items"));
}

static const char *item_id(const cJSON *root, int i)
{
  const cJSON *it = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "items"), i);
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "title");
  if (t)
    it = t;
  return cJSON_GetObjectItemCaseSensitive(it, "id")->valuestring;
}

static bool has_item(const cJSON *root, const char *id)
{
  for (int i = 0; i < item_count(root); i++)
    if (strcmp(item_id(root, i), id) == 0)
      return true;
  return false;
}

/* ---- import --------------------------------------------------------------- */

START_TEST(test_import_demo)
{
  char *doc = read_demo();
  stream_catalog_import_result r;
  ck_assert_int_eq(stream_catalog_import(&r, cat, doc), STREAM_OK);
  ck_assert_uint_eq(r.total, 22);
  ck_assert_uint_eq(r.created, 22);
  ck_assert_uint_eq(r.updated + r.unchanged + r.failed, 0);
  cJSON *rep = parse(r.report_json);
  r.report_json = NULL;
  ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(rep, "created")->valueint, 22);
  ck_assert_int_eq(item_count(rep), 22);
  ck_assert_str_eq(
      cJSON_GetObjectItemCaseSensitive(
          cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rep, "items"), 0), "status")
          ->valuestring,
      "created");
  cJSON_Delete(rep);
  stream_catalog_import_result_clear(&r);

  char *out = NULL;
  ck_assert_int_eq(stream_catalog_genres(&out, cat), STREAM_OK);
  cJSON *g = parse(out);
  cJSON *ga = cJSON_GetObjectItemCaseSensitive(g, "genres");
  ck_assert_int_eq(cJSON_GetArraySize(ga), 14);
  ck_assert_str_eq(cJSON_GetArrayItem(ga, 0)->valuestring, "Action");
  cJSON_Delete(g);

  ck_assert_int_eq(stream_catalog_title_get(&out, cat, "tidewater-station", NULL), STREAM_OK);
  cJSON *d = parse(out);
  check_title_shape(d);
  ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(d, "kind")->valuestring, "series");
  cJSON *seasons = cJSON_GetObjectItemCaseSensitive(d, "seasons");
  ck_assert_int_eq(cJSON_GetArraySize(seasons), 2);
  for (int i = 0; i < 2; i++) {
    cJSON *s = cJSON_GetArrayItem(seasons, i);
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(s, "number")->valueint, i + 1);
    ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(s, "id")));
    cJSON *eps = cJSON_GetObjectItemCaseSensitive(s, "episodes");
    ck_assert_int_eq(cJSON_GetArraySize(eps), 4);
    cJSON *e = cJSON_GetArrayItem(eps, 0);
    ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(e, "number")->valueint, 1);
    ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(e, "name")));
    ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(e, "runtime_minutes")));
  }
  ck_assert_str_eq(
      cJSON_GetObjectItemCaseSensitive(
          cJSON_GetArrayItem(
              cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(seasons, 1), "episodes"), 0),
          "name")
          ->valuestring,
      "Return");
  ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(d, "maturity_rating")->valueint, 13);
  ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(d, "maturity_label")->valuestring, "13+");
  ck_assert_str_eq(
      cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "artwork"), "poster")
          ->valuestring,
      "/static/art/tidewater-station.jpg");
  cJSON_Delete(d);

  /* A movie has an empty seasons array in detail. */
  ck_assert_int_eq(stream_catalog_title_get(&out, cat, "lantern-road", NULL), STREAM_OK);
  d = parse(out);
  ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d, "seasons")), 0);
  ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(d, "year")->valueint, 2019);
  ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(d, "created_at")->valuedouble, (double)NOW);
  cJSON_Delete(d);
  free(doc);
}
END_TEST

START_TEST(test_reimport_idempotent)
{
  import_demo();
  char *before = NULL, *after = NULL;
  ck_assert_int_eq(stream_catalog_title_get(&before, cat, "tidewater-station", NULL), STREAM_OK);
  clock_now += 100;
  char *doc = read_demo();
  stream_catalog_import_result r;
  ck_assert_int_eq(stream_catalog_import(&r, cat, doc), STREAM_OK);
  ck_assert_uint_eq(r.unchanged, 22);
  ck_assert_uint_eq(r.created + r.updated + r.failed, 0);
  stream_catalog_import_result_clear(&r);
  ck_assert_int_eq(stream_catalog_title_get(&after, cat, "tidewater-station", NULL), STREAM_OK);
  ck_assert_str_eq(before, after); /* same season and episode ids, same updated_at */
  stream_free(before);
  stream_free(after);

  /* Browse as operator: 21 titles available now (one is not yet). */
  char *out = NULL;
  ck_assert_int_eq(stream_catalog_browse(&out, cat, NULL, NULL, 100, NULL), STREAM_OK);
  cJSON *b = parse(out);
  ck_assert_int_eq(item_count(b), 21);
  ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(b, "next_cursor")));
  cJSON_Delete(b);

  /* A changed document updates exactly that title. */
  const char *p = strstr(doc, "Lantern Road");
  ck_assert_ptr_nonnull(p);
  memcpy((char *)p, "Lantern Lane", 12);
  ck_assert_int_eq(stream_catalog_import(&r, cat, doc), STREAM_OK);
  ck_assert_uint_eq(r.updated, 1);
  ck_assert_uint_eq(r.unchanged, 21);
  stream_catalog_import_result_clear(&r);
  free(doc);
}
END_TEST

START_TEST(test_import_all_or_nothing)
{
  const char *doc = "{\"titles\":["
                    "{\"id\":\"ok-1\",\"kind\":\"movie\",\"name\":\"Fine\",\"maturity_rating\":0},"
                    "{\"id\":\"bad\",\"kind\":\"movie\",\"name\":\"Bad\",\"maturity_rating\":0,"
                    "\"year\":1700},"
                    "{\"id\":\"ok-1\",\"kind\":\"movie\",\"name\":\"Dup\",\"maturity_rating\":0}]}";
  stream_catalog_import_result r;
  ck_assert_int_eq(stream_catalog_import(&r, cat, doc), STREAM_EINVAL);
  ck_assert_str_eq(msg(),
                   "titles[1]: field 'year' must be an integer between 1888 and 2100 (or null)");
  ck_assert_uint_eq(r.total, 3);
  ck_assert_uint_eq(r.failed, 2);
  ck_assert_uint_eq(r.created, 0);
  cJSON *rep = parse(r.report_json);
  r.report_json = NULL;
  cJSON *items = cJSON_GetObjectItemCaseSensitive(rep, "items");
  ck_assert_str_eq(
      cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, 0), "status")->valuestring,
      "skipped");
  ck_assert_str_eq(
      cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, 1), "status")->valuestring,
      "invalid");
  ck_assert_ptr_nonnull(
      strstr(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, 2), "error")->valuestring,
             "also the id of titles[0]"));
  cJSON_Delete(rep);
  stream_catalog_import_result_clear(&r);
  char *out = NULL;
  ck_assert_int_eq(stream_catalog_title_get(&out, cat, "ok-1", NULL), STREAM_ENOTFOUND);

  /* Bad top level. */
  ck_assert_int_eq(stream_catalog_import(&r, cat, "{\"titles\":{}}"), STREAM_EINVAL);
  ck_assert_ptr_null(r.report_json);
  ck_assert_int_eq(stream_catalog_import(&r, cat, "{\"titles\":[],\"extra\":1}"), STREAM_EINVAL);
  ck_assert_str_eq(msg(), "import document: unknown field 'extra'");
  ck_assert_int_eq(stream_catalog_import(&r, cat, "[]"), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_import(&r, cat, "{\"titles\":[]}"), STREAM_OK);
  ck_assert_uint_eq(r.total, 0);
  stream_catalog_import_result_clear(&r);
  ck_assert_int_eq(stream_catalog_import(NULL, cat, "{}"), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_import(&r, NULL, "{}"), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_import(&r, cat, NULL), STREAM_EINVAL);
}
END_TEST

START_TEST(test_import_store_failure_per_item)
{
  /* Episode ids are global in the store; validation checks them per title only, so the
   * second series passes validation and is refused by the store. */
  const char *doc =
      "{\"titles\":["
      "{\"id\":\"s-a\",\"kind\":\"series\",\"name\":\"A\",\"maturity_rating\":0,\"seasons\":"
      "[{\"number\":1,\"episodes\":[{\"id\":\"dup-ep\",\"number\":1,\"name\":\"x\"}]}]},"
      "{\"id\":\"s-b\",\"kind\":\"series\",\"name\":\"B\",\"maturity_rating\":0,\"seasons\":"
      "[{\"number\":1,\"episodes\":[{\"id\":\"dup-ep\",\"number\":1,\"name\":\"y\"}]}]},"
      "{\"id\":\"m-c\",\"kind\":\"movie\",\"name\":\"C\",\"maturity_rating\":0}]}";
  stream_catalog_import_result r;
  ck_assert_int_eq(stream_catalog_import(&r, cat, doc), STREAM_EEXIST);
  ck_assert_uint_eq(r.total, 3);
  ck_assert_uint_eq(r.created, 2);
  ck_assert_uint_eq(r.failed, 1);
  cJSON *rep = parse(r.report_json);
  r.report_json = NULL;
  cJSON *items = cJSON_GetObjectItemCaseSensitive(rep, "items");
  const char *want[] = {"created", "failed", "created"};
  for (int i = 0; i < 3; i++)
    ck_assert_str_eq(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, i), "status")->valuestring,
        want[i]);
  ck_assert(
      cJSON_IsString(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, 1), "error")));
  ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(rep, "failed")->valueint, 1);
  cJSON_Delete(rep);
  stream_catalog_import_result_clear(&r);
  /* The refused title was not left half-written. */
  char *out = NULL;
  ck_assert_int_eq(stream_catalog_title_get(&out, cat, "s-b", NULL), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_catalog_title_get(&out, cat, "m-c", NULL), STREAM_OK);
  stream_free(out);
}
END_TEST

/* ---- validation ------------------------------------------------------------ */

typedef struct bad_case {
  const char *json;
  int code;
  const char *message; /* exact */
} bad_case;

#define BASE "\"kind\":\"movie\",\"name\":\"N\",\"maturity_rating\":0"
static const bad_case bad_cases[] = {
    {"", STREAM_EINVAL, "title JSON is not valid JSON (error near offset 0)"},
    {"{", STREAM_EINVAL, "title JSON is not valid JSON (error near offset 0)"},
    {"{" BASE "} x", STREAM_EINVAL, "title JSON has trailing data at offset 48"},
    {"[]", STREAM_EINVAL, "title: must be a JSON object"},
    {"{\"name\":\"N\",\"maturity_rating\":0}", STREAM_EINVAL, "title: field 'kind' is required"},
    {"{\"kind\":\"film\",\"name\":\"N\",\"maturity_rating\":0}", STREAM_EINVAL,
     "title: field 'kind' must be \"movie\" or \"series\""},
    {"{\"kind\":\"movie\",\"maturity_rating\":0}", STREAM_EINVAL,
     "title: field 'name' is required"},
    {"{\"kind\":\"movie\",\"name\":\"\",\"maturity_rating\":0}", STREAM_EINVAL,
     "title: field 'name' must not be empty"},
    {"{\"kind\":\"movie\",\"name\":7,\"maturity_rating\":0}", STREAM_EINVAL,
     "title: field 'name' must be a string"},
    {"{\"kind\":\"movie\",\"name\":\"a\\u0001b\",\"maturity_rating\":0}", STREAM_EINVAL,
     "title: field 'name' contains a control character"},
    {"{\"kind\":\"movie\",\"name\":\"N\"}", STREAM_EINVAL,
     "title: field 'maturity_rating' is required"},
    {"{\"kind\":\"movie\",\"name\":\"N\",\"maturity_rating\":10}", STREAM_EINVAL,
     "title: field 'maturity_rating' must be one of 0, 7, 13, 16 or 18"},
    {"{\"kind\":\"movie\",\"name\":\"N\",\"maturity_rating\":\"13\"}", STREAM_EINVAL,
     "title: field 'maturity_rating' must be one of 0, 7, 13, 16 or 18"},
    {"{" BASE ",\"year\":1887}", STREAM_EINVAL,
     "title: field 'year' must be an integer between 1888 and 2100 (or null)"},
    {"{" BASE ",\"year\":2101}", STREAM_EINVAL,
     "title: field 'year' must be an integer between 1888 and 2100 (or null)"},
    {"{" BASE ",\"year\":2000.5}", STREAM_EINVAL,
     "title: field 'year' must be an integer between 1888 and 2100 (or null)"},
    {"{" BASE ",\"year\":\"2000\"}", STREAM_EINVAL,
     "title: field 'year' must be an integer between 1888 and 2100 (or null)"},
    {"{" BASE ",\"runtime_minutes\":0}", STREAM_EINVAL,
     "title: field 'runtime_minutes' must be an integer between 1 and 1440 (or null)"},
    {"{" BASE ",\"synopsis\":[]}", STREAM_EINVAL,
     "title: field 'synopsis' must be a string or null"},
    {"{" BASE ",\"genres\":\"Drama\"}", STREAM_EINVAL,
     "title: field 'genres' must be an array of strings"},
    {"{" BASE ",\"genres\":[\"Drama\",1]}", STREAM_EINVAL,
     "title: field 'genres[1]' must be a string"},
    {"{" BASE ",\"genres\":[\"Drama\",\"Drama\"]}", STREAM_EINVAL,
     "title: field 'genres' repeats \"Drama\""},
    {"{" BASE ",\"genres\":[\"\"]}", STREAM_EINVAL, "title: field 'genres[0]' must not be empty"},
    {"{" BASE ",\"regions\":[\"fr\"]}", STREAM_EINVAL,
     "title: field 'regions[0]' must be an ISO 3166-1 alpha-2 code (\"FR\") or a UN M49 numeric "
     "code (\"419\")"},
    {"{" BASE ",\"credits\":{}}", STREAM_EINVAL,
     "title: field 'credits' must be an array of objects"},
    {"{" BASE ",\"credits\":[{\"name\":\"A\"}]}", STREAM_EINVAL,
     "title.credits[0]: field 'role' is required"},
    {"{" BASE ",\"credits\":[{\"name\":\"A\",\"role\":\"Director\"}]}", STREAM_EINVAL,
     "title.credits[0]: field 'role' must be lowercase letters and '_' (e.g. \"director\")"},
    {"{" BASE ",\"credits\":[{\"name\":\"A\",\"role\":\"actor\",\"age\":3}]}", STREAM_EINVAL,
     "title.credits[0]: unknown field 'age'"},
    {"{" BASE ",\"artwork\":[]}", STREAM_EINVAL,
     "title: field 'artwork' must be an object of URLs"},
    {"{" BASE ",\"artwork\":{\"cover\":\"/a.jpg\"}}", STREAM_EINVAL,
     "title.artwork: unknown field 'cover'"},
    {"{" BASE ",\"artwork\":{\"poster\":\"javascript:alert(1)\"}}", STREAM_EINVAL,
     "title: artwork 'poster' must be an absolute path (\"/static/art/x.jpg\") or an http(s) URL"},
    {"{" BASE ",\"artwork\":{\"poster\":\"/a b.jpg\"}}", STREAM_EINVAL,
     "title: artwork 'poster' contains a character not allowed in a URL at offset 2 "
     "(percent-encode it)"},
    {"{" BASE ",\"available_from\":-1}", STREAM_EINVAL,
     "title: field 'available_from' must be an integer between 0 and 253402300799 (or null)"},
    {"{" BASE ",\"available_from\":200,\"available_until\":100}", STREAM_EINVAL,
     "title: field 'available_until' must be later than 'available_from'"},
    {"{" BASE ",\"id\":\"a b\"}", STREAM_EINVAL,
     "title: field 'id' may only contain A-Z a-z 0-9 _ - (offset 1)"},
    {"{" BASE ",\"id\":\"\"}", STREAM_EINVAL, "title: field 'id' must be 1 to 64 characters long"},
    {"{" BASE ",\"id\":3}", STREAM_EINVAL, "title: field 'id' must be a string"},
    {"{" BASE ",\"rating\":3}", STREAM_EINVAL, "title: unknown field 'rating'"},
    {"{" BASE ",\"year\":2000,\"year\":2001}", STREAM_EINVAL, "title: duplicate field 'year'"},
    {"{" BASE ",\"seasons\":[]}", STREAM_EINVAL,
     "title: field 'seasons' is only allowed when kind is \"series\""},
    {"{\"kind\":\"series\",\"name\":\"S\",\"maturity_rating\":0,\"seasons\":[{\"number\":1}]}",
     STREAM_EINVAL, "title.seasons[0]: field 'episodes' is required"},
    {"{\"kind\":\"series\",\"name\":\"S\",\"maturity_rating\":0,\"seasons\":[{\"number\":1,"
     "\"episodes\":[]},{\"number\":1,\"episodes\":[]}]}",
     STREAM_EINVAL, "title.seasons[1]: season number 1 appears twice"},
    {"{\"kind\":\"series\",\"name\":\"S\",\"maturity_rating\":0,\"seasons\":[{\"number\":1,"
     "\"episodes\":[{\"number\":0,\"name\":\"E\"}]}]}",
     STREAM_EINVAL,
     "title.seasons[0].episodes[0]: field 'number' must be an integer between 1 and 10000"},
    {"{\"kind\":\"series\",\"name\":\"S\",\"maturity_rating\":0,\"seasons\":[{\"number\":1,"
     "\"episodes\":[{\"number\":1,\"name\":\"E\"},{\"number\":1,\"name\":\"F\"}]}]}",
     STREAM_EINVAL, "title.seasons[0].episodes[1]: episode number 1 appears twice in the season"},
    {"{\"kind\":\"series\",\"name\":\"S\",\"maturity_rating\":0,\"seasons\":[{\"number\":1,"
     "\"episodes\":[{\"number\":1}]}]}",
     STREAM_EINVAL, "title.seasons[0].episodes[0]: field 'name' is required"},
    {"{\"kind\":\"series\",\"name\":\"S\",\"maturity_rating\":0,\"seasons\":{}}", STREAM_EINVAL,
     "title: field 'seasons' must be an array"},
    {"{\"kind\":\"movie\",\"name\":\"a\\u0000b\",\"maturity_rating\":0}", STREAM_EINVAL,
     "title JSON contains a \\u0000 escape in a string"},
    {"{\"kind\":\"movie\",\"name\":\"\\ud800\",\"maturity_rating\":0}", STREAM_EINVAL,
     "title JSON is not valid JSON (error near offset 24)"},
    /* Invalid UTF-8: a lone continuation byte, an overlong '/', an encoded surrogate, a
     * truncated sequence, a code point past U+10FFFF. */
    {"{\"kind\":\"movie\",\"name\":\"\x80\",\"maturity_rating\":0}", STREAM_EINVAL,
     "title JSON is not valid UTF-8 (bad byte at offset 24)"},
    {"{\"kind\":\"movie\",\"name\":\"\xc0\xaf\",\"maturity_rating\":0}", STREAM_EINVAL,
     "title JSON is not valid UTF-8 (bad byte at offset 24)"},
    {"{\"kind\":\"movie\",\"name\":\"\xed\xa0\x80\",\"maturity_rating\":0}", STREAM_EINVAL,
     "title JSON is not valid UTF-8 (bad byte at offset 24)"},
    {"{\"kind\":\"movie\",\"name\":\"ab\xe2\x82", STREAM_EINVAL,
     "title JSON is not valid UTF-8 (bad byte at offset 26)"},
    {"{\"kind\":\"movie\",\"name\":\"\xf4\x90\x80\x80\",\"maturity_rating\":0}", STREAM_EINVAL,
     "title JSON is not valid UTF-8 (bad byte at offset 24)"},
};

START_TEST(test_validation_messages)
{
  const bad_case *b = &bad_cases[_i];
  char *out = (char *)"untouched";
  int created = 5;
  int rc = stream_catalog_title_put(&out, &created, cat, b->json);
  ck_assert_msg(rc == b->code, "case %d (%s): got %d (%s)", _i, b->json, rc, msg());
  ck_assert_msg(strcmp(msg(), b->message) == 0, "case %d: message\n  got:  %s\n  want: %s", _i,
                msg(), b->message);
  ck_assert_ptr_null(out);
  ck_assert_int_eq(created, 0);
  /* Nothing was written. */
  char *page = NULL;
  ck_assert_int_eq(stream_catalog_browse(&page, cat, NULL, NULL, 0, NULL), STREAM_OK);
  cJSON *j = parse(page);
  ck_assert_int_eq(item_count(j), 0);
  cJSON_Delete(j);
}
END_TEST

START_TEST(test_put_create_update_delete)
{
  char *out = NULL;
  int created = -1;
  /* Null optional fields are accepted and rendered as null. */
  ck_assert_int_eq(
      stream_catalog_title_put(&out, &created, cat,
                               "{\"kind\":\"movie\",\"name\":\"Generated\","
                               "\"maturity_rating\":7,\"year\":null,\"synopsis\":null}"),
      STREAM_OK);
  ck_assert_int_eq(created, 1);
  cJSON *t = parse(out);
  check_title_shape(t);
  const char *gen_id = cJSON_GetObjectItemCaseSensitive(t, "id")->valuestring;
  ck_assert_uint_eq(strlen(gen_id), 22);
  ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(t, "year")));
  ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(t, "synopsis")));
  ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(t, "maturity_label")->valuestring, "7+");
  ck_assert_int_eq(stream_catalog_title_delete(cat, gen_id), STREAM_OK);
  ck_assert_int_eq(stream_catalog_title_delete(cat, gen_id), STREAM_ENOTFOUND);
  cJSON_Delete(t);

  const char *v1 =
      "{\"id\":\"show\",\"kind\":\"series\",\"name\":\"Show\",\"maturity_rating\":0,"
      "\"seasons\":[{\"number\":1,\"episodes\":[{\"id\":\"e1\",\"number\":1,\"name\":\"One\"},"
      "{\"id\":\"e2\",\"number\":2,\"name\":\"Two\"},{\"number\":3,\"name\":\"Three\"}]},"
      "{\"number\":2,\"episodes\":[{\"number\":1,\"name\":\"S2E1\"}]}]}";
  ck_assert_int_eq(stream_catalog_title_put(NULL, &created, cat, v1), STREAM_OK);
  ck_assert_int_eq(created, 1);
  ck_assert_int_eq(stream_catalog_title_put(NULL, &created, cat, v1), STREAM_OK);
  ck_assert_int_eq(created, 0);
  /* Swap e1/e2 numbers, drop episode 3 and season 2, rename. */
  const char *v2 =
      "{\"id\":\"show\",\"kind\":\"series\",\"name\":\"Show!\",\"maturity_rating\":0,"
      "\"seasons\":[{\"number\":1,\"episodes\":[{\"id\":\"e1\",\"number\":2,\"name\":\"One\"},"
      "{\"id\":\"e2\",\"number\":1,\"name\":\"Two\"}]}]}";
  ck_assert_int_eq(stream_catalog_title_put(&out, &created, cat, v2), STREAM_OK);
  ck_assert_int_eq(created, 0);
  t = parse(out);
  ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(t, "name")->valuestring, "Show!");
  cJSON *seasons = cJSON_GetObjectItemCaseSensitive(t, "seasons");
  ck_assert_int_eq(cJSON_GetArraySize(seasons), 1);
  cJSON *eps = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(seasons, 0), "episodes");
  ck_assert_int_eq(cJSON_GetArraySize(eps), 2);
  ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(eps, 0), "id")->valuestring,
                   "e2");
  ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(eps, 1), "id")->valuestring,
                   "e1");
  cJSON_Delete(t);
  /* Without "seasons", an update leaves them alone. */
  ck_assert_int_eq(stream_catalog_title_put(&out, NULL, cat,
                                            "{\"id\":\"show\",\"kind\":\"series\",\"name\":\"S\","
                                            "\"maturity_rating\":0}"),
                   STREAM_OK);
  t = parse(out);
  ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(t, "seasons")), 1);
  cJSON_Delete(t);
  /* A series with seasons cannot become a movie. */
  ck_assert_int_eq(stream_catalog_title_put(NULL, NULL, cat,
                                            "{\"id\":\"show\",\"kind\":\"movie\",\"name\":\"S\","
                                            "\"maturity_rating\":0}"),
                   STREAM_ECONFLICT);
  /* Episode ids are global: another title cannot take e1. */
  ck_assert_int_eq(
      stream_catalog_title_put(NULL, NULL, cat,
                               "{\"id\":\"other\",\"kind\":\"series\",\"name\":\"O\","
                               "\"maturity_rating\":0,\"seasons\":[{\"number\":1,\"episodes\":"
                               "[{\"id\":\"e1\",\"number\":1,\"name\":\"x\"}]}]}"),
      STREAM_EEXIST);
  ck_assert_int_eq(stream_catalog_title_get(&out, cat, "other", NULL), STREAM_ENOTFOUND);

  ck_assert_int_eq(stream_catalog_title_put(NULL, NULL, NULL, v1), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_title_put(NULL, NULL, cat, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_title_delete(cat, "x'; --"), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_title_delete(NULL, "show"), STREAM_EINVAL);
}
END_TEST

/* An episode moved to another season by its id (fuzz_catalog): deleted from
 * its old season before it is created in the new one, whatever the order of
 * the seasons in the document, and a same-numbered episode without id in the
 * old season is a new episode, not the moving one renamed. Before, both
 * documents below failed with STREAM_EEXIST (the id was still taken). */
static const char *episode_ids(char *buf, size_t cap, cJSON *t, int season)
{
  buf[0] = '\0';
  cJSON *seasons = cJSON_GetObjectItemCaseSensitive(t, "seasons");
  cJSON *s;
  cJSON_ArrayForEach(s, seasons)
  {
    if (cJSON_GetObjectItemCaseSensitive(s, "number")->valueint != season)
      continue;
    cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(s, "episodes"))
    {
      size_t n = strlen(buf);
      snprintf(buf + n, cap - n, "%s%d:%s", n ? "," : "",
               cJSON_GetObjectItemCaseSensitive(e, "number")->valueint,
               cJSON_GetObjectItemCaseSensitive(e, "id")->valuestring);
    }
  }
  return buf;
}

START_TEST(test_put_moves_episode_between_seasons)
{
  char *out = NULL, buf[256];
  int created = -1;
  ck_assert_int_eq(stream_catalog_title_put(
                       NULL, &created, cat,
                       "{\"id\":\"mv\",\"kind\":\"series\",\"name\":\"Mv\",\"maturity_rating\":0,"
                       "\"seasons\":[{\"number\":1,\"episodes\":[{\"id\":\"a1\",\"number\":1,"
                       "\"name\":\"A1\"}]},{\"number\":2,\"episodes\":[{\"id\":\"b1\","
                       "\"number\":1,\"name\":\"B1\"}]}]}"),
                   STREAM_OK);
  ck_assert_int_eq(created, 1);
  /* b1 into season 1 (listed first); season 2 gets a new episode 1. */
  const char *v2 = "{\"id\":\"mv\",\"kind\":\"series\",\"name\":\"Mv\",\"maturity_rating\":0,"
                   "\"seasons\":[{\"number\":1,\"episodes\":[{\"id\":\"a1\",\"number\":1,"
                   "\"name\":\"A1\"},{\"id\":\"b1\",\"number\":2,\"name\":\"B1\"}]},"
                   "{\"number\":2,\"episodes\":[{\"number\":1,\"name\":\"New\"}]}]}";
  int rc = stream_catalog_title_put(&out, &created, cat, v2);
  ck_assert_msg(rc == STREAM_OK, "move into the first season: %d %s", rc, msg());
  ck_assert_int_eq(created, 0);
  cJSON *t = parse(out);
  ck_assert_str_eq(episode_ids(buf, sizeof buf, t, 1), "1:a1,2:b1");
  episode_ids(buf, sizeof buf, t, 2);
  ck_assert_msg(strncmp(buf, "1:", 2) == 0 && strcmp(buf, "1:b1") != 0 && !strchr(buf, ','),
                "season 2: %s", buf);
  cJSON_Delete(t);
  /* The same document again is unchanged. */
  stream_catalog_import_result r;
  char doc[1024];
  snprintf(doc, sizeof doc, "{\"titles\":[%s]}", v2);
  ck_assert_int_eq(stream_catalog_import(&r, cat, doc), STREAM_OK);
  ck_assert_uint_eq(r.unchanged, 1);
  stream_catalog_import_result_clear(&r);
  /* And back, season 2 listed first, season 1 emptied. */
  rc = stream_catalog_title_put(
      &out, &created, cat,
      "{\"id\":\"mv\",\"kind\":\"series\",\"name\":\"Mv\",\"maturity_rating\":0,"
      "\"seasons\":[{\"number\":2,\"episodes\":[{\"id\":\"b1\",\"number\":1,\"name\":\"B1\"},"
      "{\"id\":\"a1\",\"number\":2,\"name\":\"A1\"}]},{\"number\":1,\"episodes\":[]}]}");
  ck_assert_msg(rc == STREAM_OK, "move back: %d %s", rc, msg());
  t = parse(out);
  ck_assert_str_eq(episode_ids(buf, sizeof buf, t, 1), "");
  ck_assert_str_eq(episode_ids(buf, sizeof buf, t, 2), "1:b1,2:a1");
  cJSON_Delete(t);
}
END_TEST

/* ---- browse --------------------------------------------------------------- */

START_TEST(test_browse_stable_under_inserts)
{
  import_demo();
  stream_catalog_viewer v = viewer(profile_id, 18, 0, NULL);
  char seen[64][80];
  int nseen = 0;
  char cursor[4096] = "";
  int pages = 0, inserted = 0;
  for (;;) {
    char *out = NULL;
    int rc = stream_catalog_browse(&out, cat, NULL, cursor[0] ? cursor : NULL, 4, &v);
    ck_assert_msg(rc == STREAM_OK, "browse: %s", msg());
    cJSON *p = parse(out);
    for (int i = 0; i < item_count(p); i++) {
      const char *id = item_id(p, i);
      for (int k = 0; k < nseen; k++)
        ck_assert_msg(strcmp(seen[k], id) != 0, "title %s seen twice", id);
      ck_assert_int_lt(nseen, 64);
      snprintf(seen[nseen++], sizeof seen[0], "%s", id);
      check_title_shape(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(p, "items"), i));
    }
    pages++;
    /* Between pages, insert titles sorting before and after the cursor. */
    char doc[256];
    snprintf(doc, sizeof doc,
             "{\"id\":\"ins-a%d\",\"kind\":\"movie\",\"name\":\"AAA %d\",\"maturity_rating\":0}",
             pages, pages);
    ck_assert_int_eq(stream_catalog_title_put(NULL, NULL, cat, doc), STREAM_OK);
    snprintf(doc, sizeof doc,
             "{\"id\":\"ins-z%d\",\"kind\":\"movie\",\"name\":\"zzz %d\",\"maturity_rating\":0}",
             pages, pages);
    ck_assert_int_eq(stream_catalog_title_put(NULL, NULL, cat, doc), STREAM_OK);
    inserted += 2;
    cJSON *nc = cJSON_GetObjectItemCaseSensitive(p, "next_cursor");
    if (cJSON_IsNull(nc)) {
      cJSON_Delete(p);
      break;
    }
    ck_assert(cJSON_IsString(nc));
    snprintf(cursor, sizeof cursor, "%s", nc->valuestring);
    cJSON_Delete(p);
    ck_assert_int_lt(pages, 40);
  }
  /* Every pre-existing available title was seen exactly once. */
  const char *must[] = {"lantern-road", "tidewater-station",     "midnight-quarry",
                        "brass-meadow", "the-cartographers-dog", "velvet-undertow"};
  int pre = 0;
  for (int k = 0; k < nseen; k++)
    pre += strncmp(seen[k], "ins-", 4) != 0;
  ck_assert_int_eq(pre, 21);
  for (size_t m = 0; m < sizeof must / sizeof must[0]; m++) {
    bool found = false;
    for (int k = 0; k < nseen; k++)
      found = found || strcmp(seen[k], must[m]) == 0;
    ck_assert_msg(found, "%s missing", must[m]);
  }
  ck_assert_int_gt(inserted, 0);

  /* Genre filter, limit validation, bad cursor. */
  char *out = NULL;
  ck_assert_int_eq(stream_catalog_browse(&out, cat, "Documentary", NULL, 0, &v), STREAM_OK);
  cJSON *p = parse(out);
  ck_assert_int_eq(item_count(p), 2);
  ck_assert_str_eq(item_id(p, 0), "furnace-choir");
  ck_assert_str_eq(item_id(p, 1), "salt-and-signal");
  cJSON_Delete(p);
  ck_assert_int_eq(stream_catalog_browse(&out, cat, "No Such Genre", NULL, 0, &v), STREAM_OK);
  p = parse(out);
  ck_assert_int_eq(item_count(p), 0);
  cJSON_Delete(p);
  ck_assert_int_eq(stream_catalog_browse(&out, cat, NULL, NULL, 101, &v), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_browse(&out, cat, NULL, "not-a-cursor", 10, &v), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_browse(&out, cat, "\xff", NULL, 10, &v), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_browse(NULL, cat, NULL, NULL, 10, &v), STREAM_EINVAL);
  stream_catalog_viewer bad = v;
  bad.maturity_ceiling = -1;
  ck_assert_int_eq(stream_catalog_browse(&out, cat, NULL, NULL, 10, &bad), STREAM_EINVAL);
  bad.maturity_ceiling = 1000; /* above every rating: sees everything */
  ck_assert_int_eq(stream_catalog_browse(&out, cat, NULL, NULL, 100, &bad), STREAM_OK);
  p = parse(out);
  ck_assert_int_eq(item_count(p), 21 + 2 * pages);
  cJSON_Delete(p);
  bad = v;
  bad.version = 99;
  ck_assert_int_eq(stream_catalog_browse(&out, cat, NULL, NULL, 10, &bad), STREAM_EINVAL);
  bad = v;
  bad.region = "fr";
  ck_assert_int_eq(stream_catalog_browse(&out, cat, NULL, NULL, 10, &bad), STREAM_EINVAL);
}
END_TEST

/* ---- maturity, kids, availability, region ----------------------------------- */

static int count_browse(const stream_catalog_viewer *v, int max_rating)
{
  char *out = NULL;
  ck_assert_int_eq(stream_catalog_browse(&out, cat, NULL, NULL, 100, v), STREAM_OK);
  cJSON *p = parse(out);
  cJSON *items = cJSON_GetObjectItemCaseSensitive(p, "items");
  for (int i = 0; i < cJSON_GetArraySize(items); i++)
    ck_assert_int_le(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(items, i), "maturity_rating")->valueint,
        max_rating);
  int n = item_count(p);
  cJSON_Delete(p);
  return n;
}

/* Whether genres_for(v) lists `name`; and checks that every genre it lists
 * browses to at least one title for `v`, and that every genre of every title
 * `v` browses to is listed: the list is exactly what browse can show. */
static bool genre_for(const stream_catalog_viewer *v, const char *name)
{
  char *out = NULL;
  ck_assert_msg(stream_catalog_genres_for(&out, cat, v) == STREAM_OK, "genres_for: %s", msg());
  cJSON *g = parse(out);
  cJSON *ga = cJSON_GetObjectItemCaseSensitive(g, "genres");
  ck_assert(cJSON_IsArray(ga));
  bool found = false;
  const char *prev = NULL;
  const cJSON *e;
  cJSON_ArrayForEach(e, ga)
  {
    ck_assert(cJSON_IsString(e));
    if (prev)
      ck_assert(strcmp(prev, e->valuestring) < 0);
    prev = e->valuestring;
    found |= strcmp(e->valuestring, name) == 0;
    ck_assert_int_eq(stream_catalog_browse(&out, cat, e->valuestring, NULL, 1, v), STREAM_OK);
    cJSON *b = parse(out);
    ck_assert_msg(item_count(b) == 1, "genre %s browses to nothing", e->valuestring);
    cJSON_Delete(b);
  }
  ck_assert_int_eq(stream_catalog_browse(&out, cat, NULL, NULL, 100, v), STREAM_OK);
  cJSON *all = parse(out);
  const cJSON *t;
  cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(all, "items"))
  {
    const cJSON *tg;
    cJSON_ArrayForEach(tg, cJSON_GetObjectItemCaseSensitive(t, "genres"))
    {
      bool listed = false;
      cJSON_ArrayForEach(e, ga) listed |= strcmp(e->valuestring, tg->valuestring) == 0;
      ck_assert_msg(listed, "genre %s of a visible title is not listed", tg->valuestring);
    }
  }
  cJSON_Delete(all);
  cJSON_Delete(g);
  return found;
}

START_TEST(test_genres_for_viewer)
{
  import_demo();
  char *out = NULL;
  ck_assert_int_eq(stream_catalog_title_put(
                       &out, NULL, cat,
                       "{\"id\":\"rue-seule\",\"kind\":\"movie\",\"name\":\"Rue Seule\","
                       "\"maturity_rating\":0,\"genres\":[\"Chanson\"],\"regions\":[\"FR\"]}"),
                   STREAM_OK);
  stream_free(out);
  stream_catalog_viewer kid, adult, teen, fr, us;
  ck_assert_int_eq(stream_catalog_viewer_for_profile(&kid, cat, kid_id, NULL), STREAM_OK);
  ck_assert_int_eq(stream_catalog_viewer_for_profile(&adult, cat, profile_id, NULL), STREAM_OK);
  teen = viewer(profile_id, 13, 0, NULL);
  fr = viewer(profile_id, 18, 0, "FR");
  us = viewer(profile_id, 18, 0, "US");

  /* The operator list still has every genre in use; Music's only title opens in 2100. */
  ck_assert_int_eq(stream_catalog_genres(&out, cat), STREAM_OK);
  ck_assert_ptr_nonnull(strstr(out, "\"Music\""));
  stream_free(out);
  const stream_catalog_viewer *all[] = {NULL, &kid, &adult, &teen, &fr, &us};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    ck_assert(!genre_for(all[i], "Music")); /* out of its window */
    ck_assert(genre_for(all[i], "Drama"));
  }
  /* Kids: Horror (16, 18) and Thriller (13..18) have nothing for them; Kids does. */
  ck_assert(!genre_for(&kid, "Horror"));
  ck_assert(!genre_for(&kid, "Thriller"));
  ck_assert(!genre_for(&kid, "Action")); /* Redline at Dawn is 18 */
  ck_assert(genre_for(&kid, "Kids"));
  ck_assert(genre_for(&adult, "Horror"));
  ck_assert(genre_for(&adult, "Action"));
  /* Ceiling: Horror's titles are 16 and 18, Thriller has 13s. */
  ck_assert(!genre_for(&teen, "Horror"));
  ck_assert(genre_for(&teen, "Thriller"));
  /* Region: Chanson is only in FR; no region filter shows it. */
  ck_assert(genre_for(&fr, "Chanson"));
  ck_assert(!genre_for(&us, "Chanson"));
  ck_assert(genre_for(&adult, "Chanson"));
  /* The window opens: Music appears, for kids too (rated 7). */
  clock_now = INT64_C(4102444800);
  ck_assert(genre_for(&kid, "Music"));
  ck_assert(genre_for(NULL, "Music"));
  clock_now = NOW;

  stream_catalog_viewer bad = viewer(profile_id, 18, 0, NULL);
  bad.version = 99;
  ck_assert_int_eq(stream_catalog_genres_for(&out, cat, &bad), STREAM_EINVAL);
  ck_assert_ptr_null(out);
  bad = viewer(profile_id, -1, 0, NULL);
  ck_assert_int_eq(stream_catalog_genres_for(&out, cat, &bad), STREAM_EINVAL);
  bad = viewer(profile_id, 18, 0, "fr");
  ck_assert_int_eq(stream_catalog_genres_for(&out, cat, &bad), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_genres_for(NULL, cat, &adult), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_genres_for(&out, NULL, &adult), STREAM_EINVAL);
}
END_TEST

START_TEST(test_maturity_and_kids)
{
  import_demo();
  stream_catalog_viewer kids = viewer(kid_id, 18, 1, NULL);
  stream_catalog_viewer teen = viewer(profile_id, 13, 0, NULL);
  stream_catalog_viewer adult = viewer(profile_id, 18, 0, NULL);
  stream_catalog_viewer all0 = viewer(profile_id, 0, 0, NULL);
  /* Ratings of the 21 available demo titles: 0 x6, 7 x3, 13 x6, 16 x4, 18 x2. */
  ck_assert_int_eq(count_browse(&all0, 0), 6);
  ck_assert_int_eq(count_browse(&kids, 7), 9);
  ck_assert_int_eq(count_browse(&teen, 13), 15);
  ck_assert_int_eq(count_browse(&adult, 18), 21);

  char *out = NULL;
  ck_assert_int_eq(stream_catalog_title_get(&out, cat, "midnight-quarry", &kids), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_catalog_title_get(&out, cat, "midnight-quarry", &teen), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_catalog_title_get(&out, cat, "midnight-quarry", &adult), STREAM_OK);
  stream_free(out);
  ck_assert_int_eq(stream_catalog_title_get(&out, cat, "brass-meadow", &kids), STREAM_OK);
  stream_free(out);
  /* Not yet available: hidden from viewers, visible to the operator; visible once its window
   * opens. */
  ck_assert_int_eq(stream_catalog_title_get(&out, cat, "tomorrows-orchestra", &adult),
                   STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_catalog_title_get(&out, cat, "tomorrows-orchestra", NULL), STREAM_OK);
  stream_free(out);
  clock_now = INT64_C(4102444800);
  ck_assert_int_eq(stream_catalog_title_get(&out, cat, "tomorrows-orchestra", &adult), STREAM_OK);
  stream_free(out);
  clock_now = NOW;

  /* Regions: bitter-lemon-summer lists IT, FR, BE. */
  stream_catalog_viewer us = viewer(profile_id, 18, 0, "US");
  stream_catalog_viewer it = viewer(profile_id, 18, 0, "IT");
  ck_assert_int_eq(stream_catalog_title_get(&out, cat, "bitter-lemon-summer", &us),
                   STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_catalog_title_get(&out, cat, "bitter-lemon-summer", &it), STREAM_OK);
  stream_free(out);
  ck_assert_int_eq(count_browse(&us, 18), 20);
  ck_assert_int_eq(count_browse(&it, 18), 21);

  /* Viewer from a stored profile. */
  stream_catalog_viewer pv;
  ck_assert_int_eq(stream_catalog_viewer_for_profile(&pv, cat, kid_id, "FR"), STREAM_OK);
  ck_assert_int_eq(pv.kids, 1);
  ck_assert_int_eq(pv.maturity_ceiling, 18);
  ck_assert_str_eq(pv.region, "FR");
  ck_assert_int_eq(count_browse(&pv, 7), 9);
  ck_assert_int_eq(stream_catalog_viewer_for_profile(&pv, cat, "nope", NULL), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_catalog_viewer_for_profile(&pv, cat, "bad id", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_viewer_for_profile(&pv, cat, kid_id, "fr"), STREAM_EINVAL);
  ck_assert_ptr_null(stream_catalog_maturity_label(10));
  ck_assert_str_eq(stream_catalog_maturity_label(0), "All");
  ck_assert_str_eq(stream_catalog_maturity_label(18), "18+");
}
END_TEST

/* ---- search ---------------------------------------------------------------- */

static cJSON *search(const char *q, const stream_catalog_viewer *v)
{
  char *out = NULL;
  int rc = stream_catalog_search(&out, cat, q, 10, v);
  ck_assert_msg(rc == STREAM_OK, "search %s: %s", q, msg());
  cJSON *j = parse(out);
  ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(j, "query")->valuestring, q);
  for (int i = 0; i < item_count(j); i++)
    check_title_shape(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "items"), i));
  return j;
}

START_TEST(test_search)
{
  import_demo();
  stream_catalog_viewer adult = viewer(profile_id, 18, 0, NULL);
  cJSON *r = search("amelie", &adult);
  ck_assert_int_ge(item_count(r), 1);
  ck_assert_str_eq(item_id(r, 0), "amelie-of-the-canal");
  cJSON_Delete(r);
  r = search("AMÉLIE", &adult);
  ck_assert_str_eq(item_id(r, 0), "amelie-of-the-canal");
  cJSON_Delete(r);
  r = search("tide", &adult); /* prefix */
  ck_assert_int_eq(item_count(r), 1);
  ck_assert_str_eq(item_id(r, 0), "tidewater-station");
  cJSON_Delete(r);
  /* Ranking: a name match beats synopsis matches ("orchard" is in one name only). */
  r = search("orchard", &adult);
  ck_assert_str_eq(item_id(r, 0), "static-orchard");
  cJSON_Delete(r);
  /* "harbour" is in the name of glass-harbour and the synopsis of velvet-undertow. */
  r = search("harbour", &adult);
  ck_assert_int_eq(item_count(r), 2);
  ck_assert_str_eq(item_id(r, 0), "glass-harbour");
  ck_assert_str_eq(item_id(r, 1), "velvet-undertow");
  cJSON_Delete(r);
  /* Filters apply: the kids viewer does not find the 18 horror title. */
  stream_catalog_viewer kids = viewer(kid_id, 18, 1, NULL);
  r = search("quarry", &adult);
  ck_assert_int_eq(item_count(r), 1);
  cJSON_Delete(r);
  r = search("quarry", &kids);
  ck_assert_int_eq(item_count(r), 0);
  cJSON_Delete(r);
  /* Query syntax and SQL are just text. */
  const char *hostile[] = {"'; DROP TABLE titles; --",
                           "\"",
                           "NEAR(a b)",
                           "a OR b",
                           "*",
                           "-x",
                           "title:foo",
                           "^",
                           ")(",
                           "",
                           "   "};
  for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
    r = search(hostile[i], &adult);
    cJSON_Delete(r);
  }
  r = search("lantern", NULL);
  ck_assert_int_eq(item_count(r), 1);
  cJSON_Delete(r);
  char *out = NULL;
  ck_assert_int_eq(stream_catalog_search(&out, cat, "\xc3", 10, &adult), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_search(&out, cat, NULL, 10, &adult), STREAM_EINVAL);
  char big[300];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = 0;
  ck_assert_int_eq(stream_catalog_search(&out, cat, big, 10, &adult), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_search(&out, cat, "a", 1000, &adult), STREAM_EINVAL);
}
END_TEST

/* ---- continue watching ------------------------------------------------------ */

static const char *first_episode(const char *title, int season_index, int ep_index, char *buf,
                                 size_t cap)
{
  char *out = NULL;
  ck_assert_int_eq(stream_catalog_title_get(&out, cat, title, NULL), STREAM_OK);
  cJSON *d = parse(out);
  cJSON *s = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(d, "seasons"), season_index);
  cJSON *e = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s, "episodes"), ep_index);
  snprintf(buf, cap, "%s", cJSON_GetObjectItemCaseSensitive(e, "id")->valuestring);
  cJSON_Delete(d);
  return buf;
}

START_TEST(test_continue_watching)
{
  import_demo();
  char ep[80], ep2[80], other[80];
  first_episode("tidewater-station", 0, 0, ep, sizeof ep);
  first_episode("tidewater-station", 1, 2, ep2, sizeof ep2);
  first_episode("kitchen-kingdoms", 0, 0, other, sizeof other);
  ck_assert_int_eq(stream_catalog_progress_put(cat, profile_id, "lantern-road", NULL, 3000, 6240),
                   STREAM_OK);
  clock_now++;
  ck_assert_int_eq(stream_catalog_progress_put(cat, profile_id, "static-orchard", "", 6800, 7080),
                   STREAM_OK); /* 96 %: done */
  clock_now++;
  ck_assert_int_eq(stream_catalog_progress_put(cat, profile_id, "tidewater-station", ep, 600, 3120),
                   STREAM_OK);
  clock_now++;
  ck_assert_int_eq(stream_catalog_progress_put(cat, profile_id, "midnight-quarry", NULL, 10, 5580),
                   STREAM_OK);
  clock_now++;
  /* Exactly 95 % drops out; 94 % stays. */
  ck_assert_int_eq(stream_catalog_progress_put(cat, profile_id, "paper-comets", NULL, 95, 100),
                   STREAM_OK);
  clock_now++;
  ck_assert_int_eq(stream_catalog_progress_put(cat, profile_id, "salt-and-signal", NULL, 94, 100),
                   STREAM_OK);
  clock_now++;

  stream_catalog_viewer adult = viewer(profile_id, 18, 0, NULL);
  char *out = NULL;
  ck_assert_int_eq(stream_catalog_continue_watching(&out, cat, &adult, 0), STREAM_OK);
  cJSON *cw = parse(out);
  ck_assert_int_eq(item_count(cw), 4);
  ck_assert_str_eq(item_id(cw, 0), "salt-and-signal");
  ck_assert_str_eq(item_id(cw, 1), "midnight-quarry");
  ck_assert_str_eq(item_id(cw, 2), "tidewater-station");
  ck_assert_str_eq(item_id(cw, 3), "lantern-road");
  cJSON *it = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cw, "items"), 2);
  check_title_shape(cJSON_GetObjectItemCaseSensitive(it, "title"));
  ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(it, "episode_id")->valuestring, ep);
  ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(it, "position_s")->valueint, 600);
  ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(it, "duration_s")->valueint, 3120);
  ck_assert(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(it, "progress")));
  ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(it, "updated_at")->valuedouble,
                   (double)(NOW + 2));
  it = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cw, "items"), 3);
  ck_assert(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(it, "episode_id")));
  cJSON_Delete(cw);

  /* A later episode of the same series replaces it and moves it to the front. */
  ck_assert_int_eq(stream_catalog_progress_put(cat, profile_id, "tidewater-station", ep2, 5, 2880),
                   STREAM_OK);
  ck_assert_int_eq(stream_catalog_continue_watching(&out, cat, &adult, 2), STREAM_OK);
  cw = parse(out);
  ck_assert_int_eq(item_count(cw), 2);
  ck_assert_str_eq(item_id(cw, 0), "tidewater-station");
  it = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cw, "items"), 0);
  ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(it, "episode_id")->valuestring, ep2);
  cJSON_Delete(cw);

  /* Finishing a movie drops it. The teen viewer does not see the 18 title. */
  ck_assert_int_eq(stream_catalog_progress_put(cat, profile_id, "lantern-road", NULL, 6000, 6240),
                   STREAM_OK);
  stream_catalog_viewer teen = viewer(profile_id, 13, 0, NULL);
  ck_assert_int_eq(stream_catalog_continue_watching(&out, cat, &teen, 0), STREAM_OK);
  cw = parse(out);
  ck_assert(!has_item(cw, "lantern-road"));
  ck_assert(!has_item(cw, "midnight-quarry"));
  ck_assert(has_item(cw, "tidewater-station"));
  cJSON_Delete(cw);

  /* Errors. */
  ck_assert_int_eq(stream_catalog_progress_put(cat, profile_id, "lantern-road", ep, 1, 10),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_progress_put(cat, profile_id, "tidewater-station", NULL, 1, 10),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_progress_put(cat, profile_id, "tidewater-station", other, 1, 10),
                   STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_catalog_progress_put(cat, profile_id, "no-such-title", NULL, 1, 10),
                   STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_catalog_progress_put(cat, "no-such-profile", "lantern-road", NULL, 1, 10),
                   STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_catalog_progress_put(cat, profile_id, "lantern-road", NULL, 11, 10),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_progress_put(cat, profile_id, "lantern-road", NULL, -1, 10),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_progress_put(cat, profile_id, "lantern-road", NULL, 0, 0),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_progress_put(cat, profile_id, "lantern-road", NULL, 0, 604801),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_continue_watching(&out, cat, NULL, 0), STREAM_EINVAL);
  stream_catalog_viewer nop = viewer(NULL, 18, 0, NULL);
  ck_assert_int_eq(stream_catalog_continue_watching(&out, cat, &nop, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_continue_watching(&out, cat, &adult, 101), STREAM_EINVAL);
}
END_TEST

/* ---- My List ------------------------------------------------------------------ */

START_TEST(test_mylist)
{
  import_demo();
  ck_assert_int_eq(stream_catalog_mylist_add(cat, profile_id, "lantern-road"), STREAM_OK);
  clock_now += 10;
  ck_assert_int_eq(stream_catalog_mylist_add(cat, profile_id, "midnight-quarry"), STREAM_OK);
  clock_now += 10;
  ck_assert_int_eq(stream_catalog_mylist_add(cat, profile_id, "brass-meadow"), STREAM_OK);
  clock_now += 10;
  ck_assert_int_eq(stream_catalog_mylist_add(cat, profile_id, "lantern-road"), STREAM_OK);
  stream_catalog_viewer adult = viewer(profile_id, 18, 0, NULL);
  char *out = NULL;
  ck_assert_int_eq(stream_catalog_mylist_list(&out, cat, &adult), STREAM_OK);
  cJSON *l = parse(out);
  ck_assert_int_eq(item_count(l), 3);
  ck_assert_str_eq(item_id(l, 0), "brass-meadow");
  ck_assert_str_eq(item_id(l, 1), "midnight-quarry");
  ck_assert_str_eq(item_id(l, 2), "lantern-road");
  cJSON *it = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(l, "items"), 2);
  ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(it, "added_at")->valuedouble, (double)NOW);
  check_title_shape(cJSON_GetObjectItemCaseSensitive(it, "title"));
  cJSON_Delete(l);

  stream_catalog_viewer capped = viewer(profile_id, 13, 0, NULL);
  ck_assert_int_eq(stream_catalog_mylist_list(&out, cat, &capped), STREAM_OK);
  l = parse(out);
  ck_assert_int_eq(item_count(l), 2);
  cJSON_Delete(l);

  ck_assert_int_eq(stream_catalog_mylist_remove(cat, profile_id, "midnight-quarry"), STREAM_OK);
  ck_assert_int_eq(stream_catalog_mylist_remove(cat, profile_id, "midnight-quarry"), STREAM_OK);
  /* Deleting a title removes it from lists. */
  ck_assert_int_eq(stream_catalog_title_delete(cat, "brass-meadow"), STREAM_OK);
  ck_assert_int_eq(stream_catalog_mylist_list(&out, cat, &adult), STREAM_OK);
  l = parse(out);
  ck_assert_int_eq(item_count(l), 1);
  ck_assert_str_eq(item_id(l, 0), "lantern-road");
  cJSON_Delete(l);

  ck_assert_int_eq(stream_catalog_mylist_add(cat, profile_id, "no-such"), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_catalog_mylist_add(cat, "no-such", "lantern-road"), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_catalog_mylist_add(cat, profile_id, "'; DROP TABLE x"), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_mylist_add(cat, NULL, "lantern-road"), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_mylist_remove(cat, profile_id, ""), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_mylist_list(&out, cat, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_mylist_list(NULL, cat, &adult), STREAM_EINVAL);
}
END_TEST

/* ---- hostile input ----------------------------------------------------------- */

START_TEST(test_hostile_strings)
{
  const char *doc = "{\"id\":\"bobby\",\"kind\":\"movie\",\"name\":\"Robert'); DROP TABLE "
                    "titles;--\",\"synopsis\":\"\\\" OR 1=1 -- %s %n \\\\ <script>\\n\","
                    "\"maturity_rating\":0,\"genres\":[\"Dra'ma\"]}";
  char *out = NULL;
  ck_assert_int_eq(stream_catalog_title_put(&out, NULL, cat, doc), STREAM_OK);
  cJSON *t = parse(out);
  ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(t, "name")->valuestring,
                   "Robert'); DROP TABLE titles;--");
  ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(t, "synopsis")->valuestring,
                   "\" OR 1=1 -- %s %n \\ <script>\n");
  cJSON_Delete(t);
  ck_assert_int_eq(stream_catalog_browse(&out, cat, "Dra'ma", NULL, 10, NULL), STREAM_OK);
  t = parse(out);
  ck_assert_int_eq(item_count(t), 1);
  cJSON_Delete(t);
  t = search("Robert'); DROP", NULL);
  ck_assert_int_eq(item_count(t), 1);
  cJSON_Delete(t);

  /* Truncations and bit flips of the demo document never crash and never half-write. */
  char *demo = read_demo();
  size_t n = strlen(demo);
  srand(1234);
  for (int round = 0; round < 60; round++) {
    char *m = malloc(n + 1);
    memcpy(m, demo, n + 1);
    if (round < 30) {
      m[(size_t)rand() % n] = 0; /* truncated */
    } else {
      size_t pos = (size_t)rand() % n;
      m[pos] = (char)(m[pos] ^ (1 << (rand() % 8))); /* bit flip */
    }
    stream_catalog_import_result r;
    int rc = stream_catalog_import(&r, cat, m);
    ck_assert(rc == STREAM_OK || rc == STREAM_EINVAL || rc == STREAM_ERANGE);
    if (rc == STREAM_EINVAL)
      ck_assert_uint_eq(r.created + r.updated, 0);
    stream_catalog_import_result_clear(&r);
    free(m);
  }
  /* Random bytes. */
  for (int round = 0; round < 200; round++) {
    char buf[64];
    for (size_t i = 0; i < sizeof buf - 1; i++)
      buf[i] = (char)(1 + rand() % 255);
    buf[sizeof buf - 1] = 0;
    ck_assert_int_eq(stream_catalog_title_put(&out, NULL, cat, buf), STREAM_EINVAL);
  }
  free(demo);
  /* Oversized. */
  size_t big = STREAM_CATALOG_TITLE_JSON_MAX + 10;
  char *huge = malloc(big + 1);
  memset(huge, ' ', big);
  huge[big] = 0;
  ck_assert_int_eq(stream_catalog_title_put(&out, NULL, cat, huge), STREAM_ERANGE);
  free(huge);
  /* Deep nesting. */
  char deep[4100];
  memset(deep, '[', 4099);
  deep[4099] = 0;
  ck_assert_int_eq(stream_catalog_title_put(&out, NULL, cat, deep), STREAM_EINVAL);
}
END_TEST

/* One handle used by several threads at once: puts, reads and progress. */
static void *worker(void *arg)
{
  int n = (int)(intptr_t)arg;
  for (int i = 0; i < 8; i++) {
    char doc[256], *out = NULL;
    snprintf(doc, sizeof doc,
             "{\"id\":\"w%d-%d\",\"kind\":\"movie\",\"name\":\"Worker %d title %d\","
             "\"maturity_rating\":0,\"genres\":[\"Threads\"]}",
             n, i, n, i);
    if (stream_catalog_title_put(NULL, NULL, cat, doc) != STREAM_OK)
      return (void *)1;
    if (stream_catalog_browse(&out, cat, "Threads", NULL, 5, NULL) != STREAM_OK)
      return (void *)2;
    stream_free(out);
    if (stream_catalog_search(&out, cat, "worker", 5, NULL) != STREAM_OK)
      return (void *)3;
    stream_free(out);
    snprintf(doc, sizeof doc, "w%d-%d", n, i);
    if (stream_catalog_progress_put(cat, profile_id, doc, NULL, 10, 100) != STREAM_OK)
      return (void *)4;
  }
  return NULL;
}

START_TEST(test_threads)
{
  pthread_t th[4];
  for (int i = 0; i < 4; i++)
    ck_assert_int_eq(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i), 0);
  for (int i = 0; i < 4; i++) {
    void *r = NULL;
    pthread_join(th[i], &r);
    ck_assert_ptr_null(r);
  }
  char *out = NULL;
  ck_assert_int_eq(stream_catalog_browse(&out, cat, "Threads", NULL, 100, NULL), STREAM_OK);
  cJSON *p = parse(out);
  ck_assert_int_eq(item_count(p), 32);
  cJSON_Delete(p);
  stream_catalog_viewer v = viewer(profile_id, 18, 0, NULL);
  ck_assert_int_eq(stream_catalog_continue_watching(&out, cat, &v, 100), STREAM_OK);
  p = parse(out);
  ck_assert_int_eq(item_count(p), 32);
  cJSON_Delete(p);
}
END_TEST

START_TEST(test_handle_args)
{
  stream_catalog *c2 = NULL;
  stream_catalog_options o = STREAM_CATALOG_OPTIONS_INIT;
  ck_assert_int_eq(stream_catalog_new(&c2, &o), STREAM_EINVAL); /* no store */
  ck_assert_int_eq(stream_catalog_new(NULL, &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_new(&c2, NULL), STREAM_EINVAL);
  o.store = st;
  o.version = 2;
  ck_assert_int_eq(stream_catalog_new(&c2, &o), STREAM_EINVAL);
  o.version = STREAM_CATALOG_OPTIONS_VERSION;
  ck_assert_int_eq(stream_catalog_new(&c2, &o), STREAM_OK); /* system clock */
  char *out = NULL;
  ck_assert_int_eq(stream_catalog_genres(&out, c2), STREAM_OK);
  ck_assert_str_eq(out, "{\"genres\":[]}");
  stream_free(out);
  ck_assert_int_eq(stream_catalog_genres(NULL, c2), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_genres(&out, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_catalog_title_get(&out, c2, "missing", NULL), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_catalog_title_get(&out, c2, NULL, NULL), STREAM_EINVAL);
  stream_catalog_free(c2);
  stream_catalog_free(NULL);
  stream_catalog_import_result_clear(NULL);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("catalog");
  TCase *tc = tcase_create("catalog");
  tcase_add_checked_fixture(tc, setup, catalog_fixture_teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_import_demo);
  tcase_add_test(tc, test_reimport_idempotent);
  tcase_add_test(tc, test_import_all_or_nothing);
  tcase_add_test(tc, test_import_store_failure_per_item);
  tcase_add_loop_test(tc, test_validation_messages, 0,
                      (int)(sizeof bad_cases / sizeof bad_cases[0]));
  tcase_add_test(tc, test_put_create_update_delete);
  tcase_add_test(tc, test_put_moves_episode_between_seasons);
  tcase_add_test(tc, test_browse_stable_under_inserts);
  tcase_add_test(tc, test_maturity_and_kids);
  tcase_add_test(tc, test_genres_for_viewer);
  tcase_add_test(tc, test_search);
  tcase_add_test(tc, test_continue_watching);
  tcase_add_test(tc, test_mylist);
  tcase_add_test(tc, test_hostile_strings);
  tcase_add_test(tc, test_threads);
  tcase_add_test(tc, test_handle_args);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
