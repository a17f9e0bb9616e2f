/*
 * Unit tests of the recommendations service (public API only) over a real
 * SQLite store in a temporary directory (or, run by tests/pg/pg_run.sh, a
 * PostgreSQL database: store_path.h), with an injected clock: signals
 * written through the catalog API (resume positions, My List, thumbs), a
 * retrain, and the home rows of several profiles; the filters (kids,
 * maturity, availability, region), finished and thumbs-down titles, cold
 * start, persistence of the model, and the model swap under concurrent
 * readers.
 */
#include <check.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../store_path.h"
#include "stream/catalog.h"
#include "stream/events.h"
#include "stream/recs.h"
#include "stream/store.h"

#define NOW INT64_C(1750000000)
#define ADULTS 4

static char tmpdir[256];
static char dbpath[300];
static char modelpath[300];
static stream_store *st;
static stream_catalog *cat;
static stream_recs *recs;
static int64_t clock_now = NOW;
static char family_id[STREAM_STORE_ID_SIZE]; /* the adults' account */
static char adult_id[ADULTS][STREAM_STORE_ID_SIZE];
static char kid_id[STREAM_STORE_ID_SIZE];
static char cold_id[STREAM_STORE_ID_SIZE];

static int64_t test_clock(void *ud)
{
  (void)ud;
  return clock_now;
}

static const char *msg(void)
{
  const stream_error *e = stream_error_last();
  return e ? e->message : "(no message)";
}

static void rm_dir(const char *dir)
{
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *de;
  char path[600];
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    if (de->d_type == DT_DIR)
      rm_dir(path);
    else
      remove(path);
  }
  closedir(d);
  rmdir(dir);
}

static void put_title(const char *json)
{
  int rc = stream_catalog_title_put(NULL, NULL, cat, json);
  ck_assert_msg(rc == STREAM_OK, "title_put: %s", msg());
}

static void make_profile(char *out, const char *account_id, const char *name, int kids)
{
  stream_store_profile p;
  memset(&p, 0, sizeof p);
  strcpy(p.account_id, account_id);
  snprintf(p.name, sizeof p.name, "%s", name);
  p.kids = kids;
  p.maturity_ceiling = 18;
  ck_assert_int_eq(stream_store_profile_create(&p, st, &p, NOW), STREAM_OK);
  strcpy(out, p.id);
}

/* A resume position at `frac` of a 100-minute movie, one clock second later than the last. */
static void watch(const char *profile, const char *title, const char *episode, double frac)
{
  clock_now++;
  int rc = stream_catalog_progress_put(cat, profile, title, episode, (int64_t)(6000 * frac), 6000);
  ck_assert_msg(rc == STREAM_OK, "progress_put %s: %s", title, msg());
}

static void thumbs(const char *profile, const char *title, int value)
{
  clock_now++;
  int rc = stream_catalog_rating_put(cat, profile, title, value);
  ck_assert_msg(rc == STREAM_OK, "rating_put %s: %s", title, msg());
}

static void open_recs(void)
{
  stream_recs_service_options o = STREAM_RECS_SERVICE_OPTIONS_INIT;
  o.store = st;
  o.catalog = cat;
  o.model_path = modelpath;
  o.train.factors = 8;
  o.train.iterations = 5;
  o.train.threads = 2;
  o.clock = test_clock;
  int rc = stream_recs_new(&recs, &o);
  ck_assert_msg(rc == STREAM_OK, "recs_new: %s", msg());
}

static void setup(void)
{
  const char *base = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/stream-recs-XXXXXX", base && *base ? base : "/tmp");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  snprintf(dbpath, sizeof dbpath, "%s/store.db", tmpdir);
  snprintf(modelpath, sizeof modelpath, "%s/recs/sub/model.bin", tmpdir);
  clock_now = NOW;
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  char uri[512];
  so.path = test_store_path(uri, sizeof uri, dbpath);
  ck_assert_int_eq(stream_store_open(&st, &so), STREAM_OK);
  stream_catalog_options co = STREAM_CATALOG_OPTIONS_INIT;
  co.store = st;
  co.clock = test_clock;
  ck_assert_int_eq(stream_catalog_new(&cat, &co), STREAM_OK);

  /* 18-rated, 13-rated, kids' titles; one not available yet; one for France only; a series. */
  static const char *const movies[][2] = {
      {"adult1", "18"}, {"adult2", "18"}, {"teen1", "13"}, {"teen2", "13"}, {"teen3", "13"},
      {"kid1", "0"},    {"kid2", "7"},    {"kid3", "0"},   {"kid4", "7"},
  };
  char doc[512];
  for (size_t i = 0; i < sizeof movies / sizeof movies[0]; i++) {
    snprintf(doc, sizeof doc,
             "{\"id\":\"%s\",\"kind\":\"movie\",\"name\":\"Film %s\",\"runtime_minutes\":100,"
             "\"maturity_rating\":%s,\"genres\":[\"Drama\"]}",
             movies[i][0], movies[i][0], movies[i][1]);
    put_title(doc);
  }
  snprintf(doc, sizeof doc,
           "{\"id\":\"later\",\"kind\":\"movie\",\"name\":\"Film later\",\"runtime_minutes\":90,"
           "\"maturity_rating\":0,\"available_from\":%lld}",
           (long long)(NOW + 30 * 86400));
  put_title(doc);
  put_title("{\"id\":\"fronly\",\"kind\":\"movie\",\"name\":\"Film fronly\",\"runtime_minutes\":90,"
            "\"maturity_rating\":0,\"regions\":[\"FR\"]}");
  put_title("{\"id\":\"show\",\"kind\":\"series\",\"name\":\"The Show\",\"maturity_rating\":7,"
            "\"seasons\":[{\"number\":1,\"episodes\":[{\"id\":\"show-e1\",\"number\":1,"
            "\"name\":\"One\",\"runtime_minutes\":30},{\"id\":\"show-e2\",\"number\":2,"
            "\"name\":\"Two\",\"runtime_minutes\":30}]}]}");

  stream_store_account a;
  memset(&a, 0, sizeof a);
  strcpy(a.email, "family@example.com");
  ck_assert_int_eq(stream_store_account_create(&a, st, &a, NOW), STREAM_OK);
  snprintf(family_id, sizeof family_id, "%s", a.id);
  for (int i = 0; i < ADULTS; i++) {
    char name[32];
    snprintf(name, sizeof name, "Adult %d", i);
    make_profile(adult_id[i], a.id, name, 0);
  }
  /* A second account: an account holds a few profiles only. */
  memset(&a, 0, sizeof a);
  strcpy(a.email, "other@example.com");
  ck_assert_int_eq(stream_store_account_create(&a, st, &a, NOW), STREAM_OK);
  make_profile(kid_id, a.id, "Kid", 1);
  make_profile(cold_id, a.id, "Cold", 0);

  /* Every adult watches the 18-rated titles (adult 0 to the end), teen1; most teen2 and teen3
   * (adult 0 gives teen3 a thumbs down); some kid1 and the French title. */
  for (int i = 0; i < ADULTS; i++) {
    watch(adult_id[i], "adult1", NULL, i == 0 ? 1.0 : 0.5);
    watch(adult_id[i], "adult2", NULL, 0.6);
    watch(adult_id[i], "teen1", NULL, 0.4);
    if (i >= 1) {
      watch(adult_id[i], "teen3", NULL, 0.7);
      watch(adult_id[i], "teen2", NULL, 0.3);
    }
    if (i % 2 == 0)
      watch(adult_id[i], "kid1", NULL, 0.5);
    if (i == 1 || i == 2)
      watch(adult_id[i], "fronly", NULL, 0.5);
  }
  thumbs(adult_id[0], "teen3", -1);
  thumbs(adult_id[1], "adult2", 1);
  ck_assert_int_eq(stream_catalog_mylist_add(cat, adult_id[0], "kid4"), STREAM_OK);
  /* The kid finished kid1, started kid2 and the show, put kid3 in My List. */
  watch(kid_id, "kid1", NULL, 1.0);
  watch(kid_id, "show", "show-e1", 0.5);
  watch(kid_id, "kid2", NULL, 0.5);
  ck_assert_int_eq(stream_catalog_mylist_add(cat, kid_id, "kid3"), STREAM_OK);
  open_recs();
}

static void teardown(void)
{
  stream_recs_free(recs);
  recs = NULL;
  stream_catalog_free(cat);
  stream_store_close(st);
  rm_dir(tmpdir);
}

/* ---- helpers ------------------------------------------------------------------ */

static cJSON *parse(char *json)
{
  ck_assert_ptr_nonnull(json);
  cJSON *j = cJSON_Parse(json);
  ck_assert_msg(j != NULL, "output is not JSON: %s", json);
  stream_free(json);
  return j;
}

static uint64_t retrain(void)
{
  char *info = NULL;
  int rc = stream_recs_retrain(recs, &info);
  ck_assert_msg(rc == STREAM_OK, "retrain: %s", msg());
  cJSON *j = parse(info);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
  ck_assert(cJSON_IsNumber(v));
  uint64_t version = (uint64_t)v->valuedouble;
  cJSON_Delete(j);
  return version;
}

static cJSON *home_as(const stream_catalog_viewer *v, unsigned int per_row)
{
  char *json = NULL;
  int rc = stream_recs_home(&json, recs, v, per_row);
  ck_assert_msg(rc == STREAM_OK, "home: %s", msg());
  return parse(json);
}

static cJSON *home_of(const char *profile, const char *region, unsigned int per_row)
{
  stream_catalog_viewer v;
  ck_assert_int_eq(stream_catalog_viewer_for_profile(&v, cat, profile, region), STREAM_OK);
  return home_as(&v, per_row);
}

static uint64_t model_version_of(const cJSON *home)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(home, "model_version");
  ck_assert(cJSON_IsNumber(v));
  return (uint64_t)v->valuedouble;
}

/* The first row with this id, or NULL. */
static const cJSON *row_of(const cJSON *home, const char *id)
{
  const cJSON *rows = cJSON_GetObjectItemCaseSensitive(home, "rows");
  ck_assert(cJSON_IsArray(rows));
  const cJSON *row;
  cJSON_ArrayForEach(row, rows)
  {
    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(row, "id");
    ck_assert(cJSON_IsString(rid));
    if (strcmp(rid->valuestring, id) == 0)
      return row;
  }
  return NULL;
}

/* The title id of a row item: a title object, or {"title":{..}} for the catalog's rows. */
static const char *item_title(const cJSON *item)
{
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(item, "title");
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(t ? t : item, "id");
  ck_assert(cJSON_IsString(id));
  return id->valuestring;
}

static int row_has(const cJSON *row, const char *title)
{
  if (!row)
    return 0;
  const cJSON *items = cJSON_GetObjectItemCaseSensitive(row, "items");
  ck_assert(cJSON_IsArray(items));
  ck_assert_int_gt(cJSON_GetArraySize(items), 0); /* empty rows are left out */
  const cJSON *it;
  cJSON_ArrayForEach(it, items) if (strcmp(item_title(it), title) == 0) return 1;
  return 0;
}

static int is_recommendation_row(const char *id)
{
  return !strcmp(id, "top_picks") || !strcmp(id, "because_you_watched") || !strcmp(id, "trending");
}

/* Whether `title` is in any row (rec_only: in a recommendation row). */
static int home_has(const cJSON *home, const char *title, int rec_only)
{
  const cJSON *rows = cJSON_GetObjectItemCaseSensitive(home, "rows");
  const cJSON *row;
  cJSON_ArrayForEach(row, rows)
  {
    const char *id = cJSON_GetObjectItemCaseSensitive(row, "id")->valuestring;
    if ((!rec_only || is_recommendation_row(id)) && row_has(row, title))
      return 1;
  }
  return 0;
}

static int maturity_of(const cJSON *item)
{
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(item, "title");
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(t ? t : item, "maturity_rating");
  ck_assert(cJSON_IsNumber(m));
  return m->valueint;
}

/* ---- cases -------------------------------------------------------------------- */

START_TEST(test_signals)
{
  stream_recs_data *d = NULL;
  ck_assert_int_eq(stream_recs_signals(&d, recs), STREAM_OK);
  size_t users = 0, items = 0, pairs = 0;
  ck_assert_int_eq(stream_recs_data_counts(d, &users, &items, &pairs), STREAM_OK);
  /* Every title is declared (cold ones too); the cold profile has no pair. */
  ck_assert_uint_eq(items, 12);
  ck_assert_uint_eq(users, ADULTS + 1);
  /* adult 0: adult1 adult2 teen1 kid1 + My List kid4 (its thumbs-down teen3 gives no pair);
   * adult 1: adult1 adult2 teen1 teen3 teen2 fronly; adult 2: the same + kid1; adult 3: adult1
   * adult2 teen1 teen3 teen2; the kid: kid1 show kid2 kid3. */
  ck_assert_uint_eq(pairs, 5 + 6 + 7 + 5 + 4);
  stream_recs_data_free(d);
  ck_assert_int_eq(stream_recs_signals(NULL, recs), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_signals(&d, NULL), STREAM_EINVAL);
}
END_TEST

START_TEST(test_no_model_yet)
{
  char *info = NULL;
  ck_assert_int_eq(stream_recs_info(&info, recs), STREAM_OK);
  cJSON *j = parse(info);
  ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "version")->valueint, 0);
  cJSON_Delete(j);
  /* Before the first model: the catalog's rows only, not an error. */
  cJSON *h = home_of(kid_id, NULL, 0);
  ck_assert_uint_eq(model_version_of(h), 0);
  ck_assert_ptr_nonnull(row_of(h, "continue_watching"));
  ck_assert_ptr_nonnull(row_of(h, "my_list"));
  ck_assert_ptr_null(row_of(h, "trending"));
  cJSON_Delete(h);
}
END_TEST

START_TEST(test_kids_filter)
{
  uint64_t v = retrain();
  cJSON *h = home_of(kid_id, NULL, STREAM_RECS_ROW_MAX);
  ck_assert_uint_eq(model_version_of(h), v);
  const cJSON *rows = cJSON_GetObjectItemCaseSensitive(h, "rows");
  const cJSON *row, *it;
  size_t seen = 0;
  cJSON_ArrayForEach(row, rows)
  {
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(row, "items"))
    {
      ck_assert_int_le(maturity_of(it), STREAM_CATALOG_KIDS_CEILING);
      ck_assert_str_ne(item_title(it), "later");
      seen++;
    }
  }
  ck_assert_uint_gt(seen, 0);
  /* kid1 finished: in no row; kid2 started: continue watching, not top picks; kid3: My List. */
  ck_assert(!home_has(h, "kid1", 0));
  ck_assert(row_has(row_of(h, "continue_watching"), "kid2"));
  ck_assert(!row_has(row_of(h, "top_picks"), "kid2"));
  ck_assert(row_has(row_of(h, "my_list"), "kid3"));
  ck_assert(!row_has(row_of(h, "top_picks"), "kid3"));
  ck_assert_ptr_nonnull(row_of(h, "trending"));
  cJSON_Delete(h);
}
END_TEST

START_TEST(test_finished_and_thumbs_down)
{
  retrain();
  cJSON *h = home_of(adult_id[0], NULL, STREAM_RECS_ROW_MAX);
  /* adult1 finished, teen3 thumbs down: popular, yet in no row of adult 0. */
  ck_assert(!home_has(h, "adult1", 0));
  ck_assert(!home_has(h, "teen3", 0));
  ck_assert(!home_has(h, "later", 0));
  /* Started titles are in continue watching, not in top picks. */
  ck_assert(row_has(row_of(h, "continue_watching"), "adult2"));
  ck_assert(!row_has(row_of(h, "top_picks"), "adult2"));
  ck_assert(!row_has(row_of(h, "top_picks"), "teen1"));
  ck_assert(row_has(row_of(h, "my_list"), "kid4"));
  cJSON_Delete(h);
  /* Another adult sees the popular teen3 and adult1 in trending. */
  h = home_of(adult_id[2], NULL, STREAM_RECS_ROW_MAX);
  ck_assert(row_has(row_of(h, "trending"), "teen3"));
  ck_assert(row_has(row_of(h, "trending"), "adult1"));
  cJSON_Delete(h);
}
END_TEST

START_TEST(test_fresh_history)
{
  retrain();
  cJSON *h = home_of(adult_id[1], NULL, STREAM_RECS_ROW_MAX);
  ck_assert(row_has(row_of(h, "trending"), "teen2")); /* started, not finished */
  cJSON_Delete(h);
  /* Finished since the last training: gone at once, without a retrain. */
  watch(adult_id[1], "teen2", NULL, 1.0);
  h = home_of(adult_id[1], NULL, STREAM_RECS_ROW_MAX);
  ck_assert(!home_has(h, "teen2", 1));
  /* "Because you watched": the most recent titles first, named after them. */
  const cJSON *byw = row_of(h, "because_you_watched");
  ck_assert_ptr_nonnull(byw);
  ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(byw, "source_title_id")->valuestring, "teen2");
  ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(byw, "name")->valuestring,
                   "Because you watched Film teen2");
  ck_assert(!row_has(byw, "teen2"));
  const cJSON *rows = cJSON_GetObjectItemCaseSensitive(h, "rows");
  int n = 0;
  const cJSON *row;
  cJSON_ArrayForEach(row,
                     rows) if (!strcmp(cJSON_GetObjectItemCaseSensitive(row, "id")->valuestring,
                                       "because_you_watched")) n++;
  ck_assert_int_le(n, 2);
  cJSON_Delete(h);
}
END_TEST

/* One player view of `title` by adult 3 (its account and profile, as its profile token sends
 * them) as real events through the QoE consumer: playing from 1 s, a heartbeat at
 * `watched_ms`, and an `ended` event when `ended`. */
static void qoe_view(stream_events *ev, const char *view, const char *title, int64_t watched_ms,
                     int ended)
{
  static int n;
  char batch[2048];
  size_t len = (size_t)snprintf(batch, sizeof batch, "{\"events\":[");
  const char *types[] = {"playrequest", "playing", "heartbeat", "ended"};
  const int64_t at[] = {0, 1000, 1000 + watched_ms, 1000 + watched_ms};
  for (int i = 0; i < (ended ? 4 : 3); i++) {
    n++;
    len +=
        (size_t)snprintf(batch + len, sizeof batch - len,
                         "%s{\"id\":\"00000000-0000-4000-8000-%012d\",\"viewId\":\"%s\","
                         "\"titleId\":\"%s\",\"deviceId\":\"tv\",\"type\":\"%s\","
                         "\"clientTs\":%lld}",
                         i ? "," : "", n, view, title, types[i], (long long)(NOW * 1000 + at[i]));
  }
  len += (size_t)snprintf(batch + len, sizeof batch - len, "]}");
  int rc =
      stream_events_ingest(ev, NULL, batch, len, STREAM_EVENTS_JSON, 0, family_id, adult_id[3]);
  ck_assert_msg(rc == STREAM_OK, "ingest: %s", msg());
  ck_assert_int_eq(stream_events_qoe_run(ev, NULL, NULL), STREAM_OK);
}

START_TEST(test_qoe_views)
{
  retrain();
  cJSON *h = home_of(adult_id[3], NULL, STREAM_RECS_ROW_MAX);
  ck_assert(row_has(row_of(h, "trending"), "kid3"));
  ck_assert(row_has(row_of(h, "top_picks"), "kid4"));
  cJSON_Delete(h);
  stream_recs_data *d = NULL;
  size_t before = 0, after = 0;
  ck_assert_int_eq(stream_recs_signals(&d, recs), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_counts(d, NULL, NULL, &before), STREAM_OK);
  stream_recs_data_free(d);

  stream_events *ev = NULL;
  stream_events_options eo = STREAM_EVENTS_OPTIONS_INIT;
  eo.store = st;
  ck_assert_int_eq(stream_events_new(&ev, &eo), STREAM_OK);
  qoe_view(ev, "view-kid3", "kid3", 100 * 60000, 1); /* to the end: completed */
  qoe_view(ev, "view-kid4", "kid4", 30 * 60000, 0);  /* 30 of 100 minutes */
  stream_events_free(ev);

  /* Two new pairs from the views alone; kid3 finished: in no row now (no retrain needed);
   * kid4 started: out of top picks, still trending. */
  ck_assert_int_eq(stream_recs_signals(&d, recs), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_counts(d, NULL, NULL, &after), STREAM_OK);
  stream_recs_data_free(d);
  ck_assert_uint_eq(after, before + 2);
  h = home_of(adult_id[3], NULL, STREAM_RECS_ROW_MAX);
  ck_assert(!home_has(h, "kid3", 0));
  ck_assert(!row_has(row_of(h, "top_picks"), "kid4"));
  ck_assert(row_has(row_of(h, "trending"), "kid4"));
  cJSON_Delete(h);
}
END_TEST

static void ids_of(const cJSON *row, char out[][STREAM_STORE_ID_SIZE], int *n)
{
  *n = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(row, "items"))
  {
    snprintf(out[*n], STREAM_STORE_ID_SIZE, "%s", item_title(it));
    (*n)++;
  }
}

START_TEST(test_cold_start)
{
  uint64_t v = retrain();
  /* No history: popularity; top picks are trending's head. */
  cJSON *h = home_of(cold_id, NULL, 5);
  ck_assert_uint_eq(model_version_of(h), v);
  ck_assert_ptr_null(row_of(h, "continue_watching"));
  ck_assert_ptr_null(row_of(h, "my_list"));
  ck_assert_ptr_null(row_of(h, "because_you_watched"));
  char top[STREAM_RECS_ROW_MAX][STREAM_STORE_ID_SIZE],
      trend[STREAM_RECS_ROW_MAX][STREAM_STORE_ID_SIZE];
  int nt = 0, nr = 0;
  ids_of(row_of(h, "top_picks"), top, &nt);
  ids_of(row_of(h, "trending"), trend, &nr);
  ck_assert_int_gt(nr, 0);
  ck_assert_int_le(nr, 5);
  ck_assert_int_eq(nt, nr);
  for (int i = 0; i < nt; i++)
    ck_assert_str_eq(top[i], trend[i]);
  cJSON_Delete(h);
  /* An unknown profile is not an error either. */
  stream_catalog_viewer u = STREAM_CATALOG_VIEWER_INIT;
  u.profile_id = "no-such-profile";
  h = home_as(&u, 0);
  ck_assert_ptr_nonnull(row_of(h, "trending"));
  ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(h, "profile_id")->valuestring,
                   "no-such-profile");
  cJSON_Delete(h);
  /* One that is no store id at all, not even UTF-8, is refused by the catalog's viewer check
   * before any store read (the recommendation signals send the id as SQL text, which
   * PostgreSQL would refuse): STREAM_EINVAL on every backend. */
  u.profile_id = "no-such-\xff";
  char *json = NULL;
  ck_assert_int_eq(stream_recs_home(&json, recs, &u, 0), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "profile_id"));
  ck_assert_ptr_null(json);
}
END_TEST

START_TEST(test_region)
{
  /* A title for Europe (UN M49 "150"): a viewer in any European country, as the catalog says. */
  put_title("{\"id\":\"euonly\",\"kind\":\"movie\",\"name\":\"Film euonly\","
            "\"runtime_minutes\":90,\"maturity_rating\":0,\"regions\":[\"150\"]}");
  retrain();
  cJSON *h = home_of(cold_id, "US", STREAM_RECS_ROW_MAX);
  ck_assert(!home_has(h, "fronly", 0));
  ck_assert(!home_has(h, "euonly", 0));
  cJSON_Delete(h);
  h = home_of(cold_id, "FR", STREAM_RECS_ROW_MAX);
  ck_assert(row_has(row_of(h, "trending"), "fronly"));
  ck_assert(row_has(row_of(h, "trending"), "euonly"));
  cJSON_Delete(h);
  h = home_of(cold_id, "DE", STREAM_RECS_ROW_MAX);
  ck_assert(!home_has(h, "fronly", 0));
  ck_assert(row_has(row_of(h, "trending"), "euonly"));
  cJSON_Delete(h);
}
END_TEST

START_TEST(test_bad_input)
{
  retrain();
  char *json = NULL;
  stream_catalog_viewer v = STREAM_CATALOG_VIEWER_INIT;
  ck_assert_int_eq(stream_recs_home(&json, recs, &v, 0), STREAM_EINVAL); /* no profile */
  v.profile_id = "";
  ck_assert_int_eq(stream_recs_home(&json, recs, &v, 0), STREAM_EINVAL);
  v.profile_id = cold_id;
  ck_assert_int_eq(stream_recs_home(&json, recs, &v, STREAM_RECS_ROW_MAX + 1), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_home(&json, recs, NULL, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_home(NULL, recs, &v, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_home(&json, NULL, &v, 0), STREAM_EINVAL);
  v.maturity_ceiling = -1;
  ck_assert_int_eq(stream_recs_home(&json, recs, &v, 0), STREAM_EINVAL);
  ck_assert_ptr_null(json);
  ck_assert_int_eq(stream_recs_retrain(NULL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_info(NULL, recs), STREAM_EINVAL);

  stream_recs *r2 = NULL;
  stream_recs_service_options o = STREAM_RECS_SERVICE_OPTIONS_INIT;
  ck_assert_int_eq(stream_recs_new(&r2, &o), STREAM_EINVAL); /* no store */
  o.store = st;
  ck_assert_int_eq(stream_recs_new(&r2, &o), STREAM_EINVAL); /* no catalog */
  o.catalog = cat;
  o.version = 99;
  ck_assert_int_eq(stream_recs_new(&r2, &o), STREAM_EINVAL);
  ck_assert_ptr_null(r2);
  stream_recs_free(NULL);
}
END_TEST

START_TEST(test_persisted)
{
  uint64_t v1 = retrain();
  uint64_t v2 = retrain();
  ck_assert_uint_gt(v2, v1); /* strictly increasing, with a frozen clock too */
  ck_assert_int_eq(access(modelpath, F_OK), 0);
  stream_recs_free(recs);
  recs = NULL;
  open_recs(); /* same model path: serves at once */
  char *info = NULL;
  ck_assert_int_eq(stream_recs_info(&info, recs), STREAM_OK);
  cJSON *j = parse(info);
  ck_assert_uint_eq((uint64_t)cJSON_GetObjectItemCaseSensitive(j, "version")->valuedouble, v2);
  cJSON_Delete(j);
  cJSON *h = home_of(adult_id[2], NULL, 0);
  ck_assert_uint_eq(model_version_of(h), v2);
  ck_assert_ptr_nonnull(row_of(h, "top_picks"));
  cJSON_Delete(h);
  /* The next version is still greater. */
  ck_assert_uint_gt(retrain(), v2);

  /* A corrupt file is ignored (reported in the info), not fatal. */
  stream_recs_free(recs);
  recs = NULL;
  FILE *f = fopen(modelpath, "wb");
  ck_assert_ptr_nonnull(f);
  fputs("not a model", f);
  fclose(f);
  open_recs();
  ck_assert_int_eq(stream_recs_info(&info, recs), STREAM_OK);
  j = parse(info);
  ck_assert_int_eq(cJSON_GetObjectItemCaseSensitive(j, "version")->valueint, 0);
  ck_assert(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(j, "load_error")));
  cJSON_Delete(j);
  retrain();
}
END_TEST

/* ---- the swap under concurrent readers -------------------------------------- */

#define READERS 4
#define MAX_VERSIONS 16

typedef struct reader {
  pthread_t thread;
  const char *profile;
  uint64_t seen[MAX_VERSIONS];
  int nseen;
  int calls;
  int bad; /* an answer that was not a valid home */
} reader;

static atomic_int stop_readers;

static void *reader_main(void *arg)
{
  reader *rd = arg;
  stream_catalog_viewer v = STREAM_CATALOG_VIEWER_INIT;
  v.profile_id = rd->profile;
  do {
    char *json = NULL;
    if (stream_recs_home(&json, recs, &v, 10) != STREAM_OK) {
      rd->bad++;
      continue;
    }
    cJSON *j = cJSON_Parse(json);
    stream_free(json);
    const cJSON *mv = cJSON_GetObjectItemCaseSensitive(j, "model_version");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(j, "rows");
    if (!cJSON_IsNumber(mv) || !cJSON_IsArray(rows) || !row_of(j, "trending")) {
      rd->bad++;
    } else {
      uint64_t ver = (uint64_t)mv->valuedouble;
      int known = 0;
      for (int i = 0; i < rd->nseen; i++)
        known |= rd->seen[i] == ver;
      if (!known && rd->nseen < MAX_VERSIONS)
        rd->seen[rd->nseen++] = ver;
    }
    cJSON_Delete(j);
    rd->calls++;
  } while (!atomic_load(&stop_readers));
  return NULL;
}

START_TEST(test_swap_concurrent)
{
  uint64_t trained[8];
  int ntrained = 0;
  trained[ntrained++] = retrain();
  reader rd[READERS];
  memset(rd, 0, sizeof rd);
  atomic_store(&stop_readers, 0);
  for (int i = 0; i < READERS; i++) {
    rd[i].profile = i % 2 ? adult_id[i % ADULTS] : cold_id;
    ck_assert_int_eq(pthread_create(&rd[i].thread, NULL, reader_main, &rd[i]), 0);
  }
  for (int k = 0; k < 5; k++) {
    /* The data changes too (My List: no clock write under the readers). */
    ck_assert_int_eq(stream_catalog_mylist_add(cat, adult_id[k % ADULTS], "kid2"), STREAM_OK);
    trained[ntrained++] = retrain();
  }
  atomic_store(&stop_readers, 1);
  for (int i = 0; i < READERS; i++)
    ck_assert_int_eq(pthread_join(rd[i].thread, NULL), 0);
  for (int k = 1; k < ntrained; k++)
    ck_assert_uint_gt(trained[k], trained[k - 1]);
  for (int i = 0; i < READERS; i++) {
    ck_assert_int_eq(rd[i].bad, 0);
    ck_assert_int_gt(rd[i].calls, 0);
    for (int s = 0; s < rd[i].nseen; s++) {
      int found = 0;
      for (int k = 0; k < ntrained; k++)
        found |= rd[i].seen[s] == trained[k];
      ck_assert_msg(found, "reader %d saw version %llu that was never trained", i,
                    (unsigned long long)rd[i].seen[s]);
    }
  }
}
END_TEST

/* stream_recs_cancel (shutdown): a retrain racing with it either finished or
 * stopped with ECANCELED; every retrain after it fails at once; the served
 * model and home keep working. */
typedef struct canceled_retrain {
  pthread_t thread;
  int rc;
} canceled_retrain;

static void *retrain_main(void *arg)
{
  canceled_retrain *c = arg;
  c->rc = stream_recs_retrain(recs, NULL);
  return NULL;
}

static uint64_t served_version(void)
{
  char *info = NULL;
  ck_assert_int_eq(stream_recs_info(&info, recs), STREAM_OK);
  cJSON *j = parse(info);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "version");
  ck_assert(cJSON_IsNumber(v));
  uint64_t version = (uint64_t)v->valuedouble;
  cJSON_Delete(j);
  return version;
}

START_TEST(test_cancel)
{
  uint64_t v1 = retrain();
  canceled_retrain c = {.rc = 1};
  ck_assert_int_eq(pthread_create(&c.thread, NULL, retrain_main, &c), 0);
  stream_recs_cancel(recs);
  ck_assert_int_eq(pthread_join(c.thread, NULL), 0);
  ck_assert_msg(c.rc == STREAM_OK || c.rc == STREAM_ECANCELED, "racing retrain: %d", c.rc);
  uint64_t served = served_version();
  if (c.rc == STREAM_ECANCELED)
    ck_assert_uint_eq(served, v1); /* the old model stays */
  else
    ck_assert_uint_gt(served, v1);
  ck_assert_int_eq(stream_recs_retrain(recs, NULL), STREAM_ECANCELED);
  ck_assert_ptr_nonnull(strstr(msg(), "canceled"));
  ck_assert_uint_eq(served_version(), served);
  stream_catalog_viewer v = STREAM_CATALOG_VIEWER_INIT;
  v.profile_id = adult_id[0];
  cJSON *j = home_as(&v, 10);
  const cJSON *mv = cJSON_GetObjectItemCaseSensitive(j, "model_version");
  ck_assert(cJSON_IsNumber(mv));
  ck_assert_uint_eq((uint64_t)mv->valuedouble, served);
  ck_assert_ptr_nonnull(row_of(j, "trending"));
  cJSON_Delete(j);
  stream_recs_cancel(NULL); /* no-op */
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("recs_service");
  TCase *tc = tcase_create("service");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_signals);
  tcase_add_test(tc, test_no_model_yet);
  tcase_add_test(tc, test_kids_filter);
  tcase_add_test(tc, test_finished_and_thumbs_down);
  tcase_add_test(tc, test_fresh_history);
  tcase_add_test(tc, test_cold_start);
  tcase_add_test(tc, test_region);
  tcase_add_test(tc, test_qoe_views);
  tcase_add_test(tc, test_bad_input);
  tcase_add_test(tc, test_persisted);
  tcase_add_test(tc, test_swap_concurrent);
  tcase_add_test(tc, test_cancel);
  suite_add_tcase(s, tc);
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
