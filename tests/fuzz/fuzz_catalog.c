/*
 * Fuzz target: the catalog's untrusted inputs (server feature), over a real
 * SQLite store file made once per process in $TMPDIR (sync NORMAL) holding a
 * fixed seed catalog of 14 titles (ties on the name, names with ':' and
 * quotes, accented names, two series with episodes, titles out of their
 * window, region-locked and 0..18 rated titles), two profiles (adult, kid)
 * and a fixed clock. The target keeps a mirror of the seeds and checks every
 * answer against it; a second, read-only SQLite connection reads a
 * fingerprint of the catalog tables (titles, genres, regions, seasons,
 * episodes, the FTS index) to check that refused writes change nothing and
 * that every input leaves the catalog as it found it (written titles are
 * deleted or put back after each input).
 *
 * Byte 0: bits 0-2 the mode, bits 3-5 the viewer: 0 NULL (operator), 1 adult,
 *         2 adult in FR, 3 kids, 4 ceiling 13 in US, 5 ceiling 0, 6 the kid
 *         profile's viewer in DE (stream_catalog_viewer_for_profile),
 *         7 from the first field "ceiling,kids,region".
 * Byte 1: a parameter (limit of browse and search, the operation of mode 4).
 * Then '\n'-separated fields (modes 2 and 3: the rest is one JSON document).
 *   0 search:   query. The answer has the query and at most `limit` items,
 *               each visible to the viewer, no repeats; when every word is
 *               ASCII, exactly the visible titles whose name or synopsis has
 *               a token starting with every word (case and é/ü folded), or
 *               `limit` of them.
 *   1 browse:   genre \n cursor. Without a cursor every page is followed:
 *               strictly increasing (name, id), no repeats, together exactly
 *               the visible titles of the genre (named in any ASCII case).
 *               With a cursor: decoded here
 *               as the store documents it ("0:<id>:<name>", base64url); the
 *               store accepts exactly the well-formed ones and answers the
 *               first `limit` titles after that key.
 *   2 put:      title JSON. Refused: known status, the catalog unchanged.
 *               Accepted: the detail holds every field of the document
 *               (null / 0 / absent alike where documented), seasons and
 *               episodes as given (kept when the document has none), and a
 *               document with an id re-imported is "unchanged". A document
 *               put (or refused as EEXIST) gets the same answer with its
 *               seasons in reverse order.
 *   3 import:   document. Refused by validation: nothing written, every
 *               item invalid (with its error) or skipped. Accepted: counts
 *               and items agree, every title reads back as its document, a
 *               re-import of a document whose titles all have ids is all
 *               "unchanged".
 *   4 viewer writes, byte 1 bits 0-1: progress, rating, My List, title_get
 *               (bit 4: the operator's title_get first, which fills the
 *               detail cache); bits 2-3 the profile: adult, kid, unknown,
 *               from field 5 ("@a" and "@k" name the adult and kid profiles).
 *               title_id \n episode_id \n a \n b [\n profile]. Each call
 *               succeeds exactly when the mirror says it should; its effect
 *               shows in continue watching / rating_get / My List.
 *   5 titles_get: one id per field (at most 110): the visible existing ones,
 *               in order, first occurrence only; EINVAL for any bad id or
 *               more than 100.
 *   6 genres:   profile ("@a", "@k" as in 4) \n region (viewer_for_profile);
 *               genres and genres_for(viewer) equal the mirror's, and every
 *               visible genre browses to its titles.
 *   7 delete:   title id: deleted exactly when it is a title; then gone.
 */
#include <ctype.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/m49.h"
#include "core/core.h"
#include "fuzz_util.h"
#include "stream/catalog.h"
#include "stream/store.h"

#define NOW INT64_C(1750000000)
#define NSEEDS 14
#define MAXG 8

/* The seed titles. Only é and ü outside ASCII (the mirror folds them). */
static const char *const seed_json[NSEEDS] = {
    "{\"id\":\"t01\",\"kind\":\"movie\",\"name\":\"Heat\",\"synopsis\":\"A crime saga in Los "
    "Angeles.\",\"year\":1995,\"runtime_minutes\":170,\"maturity_rating\":16,\"genres\":[\"Crime\","
    "\"Drama\"],\"credits\":[{\"name\":\"Michael Mann\",\"role\":\"director\"}],\"artwork\":{"
    "\"poster\":\"/static/art/heat.jpg\"}}",
    "{\"id\":\"t02\",\"kind\":\"movie\",\"name\":\"Heat\",\"synopsis\":\"A remake nobody asked "
    "for.\",\"maturity_rating\":13,\"genres\":[\"Crime\"],\"regions\":[\"FR\"]}",
    "{\"id\":\"t03\",\"kind\":\"movie\",\"name\":\"Am\xc3\xa9lie\",\"synopsis\":\"Une fille de "
    "Montmartre.\",\"maturity_rating\":7,\"genres\":[\"Com\xc3\xa9"
    "die\",\"Romance\"],"
    "\"regions\":[\"FR\",\"BE\"]}",
    "{\"id\":\"t04\",\"kind\":\"movie\",\"name\":\"Alien: Covenant\",\"synopsis\":\"Space horror: "
    "the crew finds a signal.\",\"maturity_rating\":18,\"genres\":[\"Sci-Fi\",\"Horror\"]}",
    "{\"id\":\"t05\",\"kind\":\"series\",\"name\":\"Bluey\",\"synopsis\":\"A blue heeler puppy "
    "and her family.\",\"maturity_rating\":0,\"genres\":[\"Kids\",\"Animation\"],\"seasons\":[{"
    "\"number\":1,\"episodes\":[{\"id\":\"e0501\",\"number\":1,\"name\":\"Magic Xylophone\"},{"
    "\"id\":\"e0502\",\"number\":2,\"name\":\"Hospital\",\"runtime_minutes\":7}]},{\"number\":2,"
    "\"episodes\":[{\"id\":\"e0503\",\"number\":1,\"name\":\"Dance Mode\"}]}]}",
    "{\"id\":\"t06\",\"kind\":\"series\",\"name\":\"The Office\",\"synopsis\":\"A mockumentary "
    "about office life.\",\"maturity_rating\":13,\"genres\":[\"Comedy\"],\"regions\":[\"US\","
    "\"CA\"],\"seasons\":[{\"number\":1,\"episodes\":[{\"id\":\"e0601\",\"number\":1,\"name\":"
    "\"Pilot\"},{\"id\":\"e0602\",\"number\":2,\"name\":\"Diversity Day\"}]}]}",
    "{\"id\":\"t07\",\"kind\":\"movie\",\"name\":\"\xc3\x9c"
    "ber Uns\",\"synopsis\":\"Ein Film "
    "\xc3\xbc"
    "ber uns.\",\"maturity_rating\":16,\"genres\":[\"Drama\"],\"regions\":[\"DE\"]}",
    "{\"id\":\"t08\",\"kind\":\"movie\",\"name\":\"Expired Film\",\"synopsis\":\"Gone from the "
    "catalog.\",\"maturity_rating\":0,\"genres\":[\"Drama\"],\"available_from\":1000,"
    "\"available_until\":1749900000}",
    "{\"id\":\"t09\",\"kind\":\"movie\",\"name\":\"Future Film\",\"synopsis\":\"Not yet.\","
    "\"maturity_rating\":0,\"genres\":[\"Drama\"],\"available_from\":11750000000}",
    "{\"id\":\"t10\",\"kind\":\"movie\",\"name\":\"100% \\\"Quoted\\\" \\\\ Name\",\"synopsis\":"
    "\"Percent 100 and back\\\\slash.\",\"year\":2001,\"maturity_rating\":7,\"genres\":["
    "\"Documentary\"]}",
    "{\"id\":\"t11\",\"kind\":\"movie\",\"name\":\"heat wave\",\"synopsis\":\"Summer in the "
    "city.\",\"maturity_rating\":0,\"genres\":[\"Drama\",\"Kids\"],\"available_until\":"
    "253402300799}",
    "{\"id\":\"t12\",\"kind\":\"movie\",\"name\":\"Zed\",\"maturity_rating\":18,\"genres\":[],"
    "\"regions\":[\"419\"]}",
    "{\"id\":\"a13\",\"kind\":\"movie\",\"name\":\"Heat\",\"synopsis\":\"The heat is on.\","
    "\"maturity_rating\":0,\"genres\":[\"Drama\"],\"available_from\":0}",
    "{\"id\":\"t14\",\"kind\":\"movie\",\"name\":\"Amelie\",\"synopsis\":\"Not the French "
    "one.\",\"maturity_rating\":0,\"genres\":[\"Comedy\"]}",
};

/* The mirror of a seed. */
typedef struct {
  const char *id;
  bool series;
  char name[128], synopsis[128]; /* as stored */
  char fname[128], fsyn[128];    /* folded for search */
  int maturity;
  int64_t from, until;
  const char *genres[MAXG];
  size_t ngenres;
  const char *regions[MAXG];
  size_t nregions;
  const char *episodes[8];
  size_t nepisodes;
} seed;

static seed seeds[NSEEDS];
static cJSON *seed_tree[NSEEDS];
static char tmp[512], dbpath[600];
static stream_store *st;
static stream_catalog *cat;
static sqlite3 *raw;
static char *baseline;
static char adult_id[STREAM_STORE_ID_SIZE], kid_id[STREAM_STORE_ID_SIZE];

static int64_t fixed_clock(void *ud)
{
  (void)ud;
  return NOW;
}

static void must(int rc, const char *what)
{
  if (rc != STREAM_OK) {
    const stream_error *e = stream_error_last();
    fprintf(stderr, "fuzz_catalog setup: %s: %d %s\n", what, rc, e ? e->message : "");
    abort();
  }
}

/* ASCII lower case; é É -> e, ü Ü -> u; anything else outside ASCII aborts
 * (the seeds hold no other). */
static void fold(char *out, size_t cap, const char *in)
{
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
    char ch;
    if (*p < 0x80) {
      ch = (char)tolower(*p);
    } else if (p[0] == 0xc3 && (p[1] == 0xa9 || p[1] == 0x89)) {
      ch = 'e';
      p++;
    } else if (p[0] == 0xc3 && (p[1] == 0xbc || p[1] == 0x9c)) {
      ch = 'u';
      p++;
    } else {
      abort();
    }
    if (n + 1 >= cap)
      abort();
    out[n++] = ch;
  }
  out[n] = '\0';
}

/* ---- the raw connection: a fingerprint of the catalog tables -------------- */

static const char fingerprint_sql[] =
    "SELECT group_concat(x, char(10)) FROM (SELECT x FROM ("
    " SELECT 't|' || id || '|' || kind || '|' || name || '|' || coalesce(synopsis, '~') || '|' ||"
    "  year || '|' || runtime || '|' || maturity_rating || '|' || coalesce(credits_json, '~') ||"
    "  '|' || coalesce(artwork_json, '~') || '|' || coalesce(available_from, '~') || '|' ||"
    "  coalesce(available_until, '~') || '|' || created_at || '|' || updated_at AS x FROM titles"
    " UNION ALL SELECT 'g|' || tg.title_id || '|' || g.name FROM title_genres tg"
    "  JOIN genres g ON g.id = tg.genre_id"
    " UNION ALL SELECT 'r|' || title_id || '|' || region FROM title_regions"
    " UNION ALL SELECT 's|' || title_id || '|' || number FROM seasons"
    " UNION ALL SELECT 'e|' || s.title_id || '|' || s.number || '|' || e.id || '|' || e.number ||"
    "  '|' || e.name || '|' || coalesce(e.synopsis, '~') || '|' || e.runtime FROM episodes e"
    "  JOIN seasons s ON s.id = e.season_id"
    " UNION ALL SELECT 'f|' || t.id || '|' || f.name || '|' || f.synopsis FROM titles_fts f"
    "  JOIN titles t ON t.seq = f.rowid"
    " UNION ALL SELECT 'n|' || count(*) FROM titles_fts) ORDER BY x)";

static char *fingerprint(void)
{
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(raw, fingerprint_sql, -1, &s, NULL) != SQLITE_OK ||
      sqlite3_step(s) != SQLITE_ROW) {
    fprintf(stderr, "fuzz_catalog: fingerprint: %s\n", sqlite3_errmsg(raw));
    abort();
  }
  const unsigned char *t = sqlite3_column_text(s, 0);
  char *out = strdup(t ? (const char *)t : "");
  sqlite3_finalize(s);
  if (!out)
    abort();
  return out;
}

/* The ids of every stored title, into ids[] (at most cap). */
static size_t stored_ids(char (*ids)[STREAM_STORE_ID_SIZE], size_t cap)
{
  sqlite3_stmt *s = NULL;
  if (sqlite3_prepare_v2(raw, "SELECT id FROM titles", -1, &s, NULL) != SQLITE_OK)
    abort();
  size_t n = 0;
  while (sqlite3_step(s) == SQLITE_ROW) {
    const char *t = (const char *)sqlite3_column_text(s, 0);
    if (n < cap && t && strlen(t) < STREAM_STORE_ID_SIZE)
      strcpy(ids[n], t);
    n++;
  }
  sqlite3_finalize(s);
  FUZZ_ASSERT(n <= cap);
  return n;
}

/* ---- setup --------------------------------------------------------------- */

static int seed_index(const char *id)
{
  for (int i = 0; i < NSEEDS; i++)
    if (id && strcmp(seeds[i].id, id) == 0)
      return i;
  return -1;
}

static void strings_of(const char **out, size_t *n, const cJSON *arr)
{
  *n = 0;
  for (const cJSON *e = arr ? arr->child : NULL; e; e = e->next) {
    if (*n == MAXG)
      abort();
    out[(*n)++] = e->valuestring;
  }
}

static void mirror_seed(int i)
{
  cJSON *t = cJSON_Parse(seed_json[i]);
  if (!t)
    abort();
  seed_tree[i] = t;
  seed *s = &seeds[i];
  s->id = cJSON_GetObjectItem(t, "id")->valuestring;
  s->series = strcmp(cJSON_GetObjectItem(t, "kind")->valuestring, "series") == 0;
  const cJSON *syn = cJSON_GetObjectItem(t, "synopsis");
  snprintf(s->name, sizeof s->name, "%s", cJSON_GetObjectItem(t, "name")->valuestring);
  snprintf(s->synopsis, sizeof s->synopsis, "%s", syn ? syn->valuestring : "");
  fold(s->fname, sizeof s->fname, s->name);
  fold(s->fsyn, sizeof s->fsyn, s->synopsis);
  s->maturity = cJSON_GetObjectItem(t, "maturity_rating")->valueint;
  const cJSON *v = cJSON_GetObjectItem(t, "available_from");
  s->from = v ? (int64_t)v->valuedouble : 0;
  v = cJSON_GetObjectItem(t, "available_until");
  s->until = v ? (int64_t)v->valuedouble : 0;
  strings_of(s->genres, &s->ngenres, cJSON_GetObjectItem(t, "genres"));
  strings_of(s->regions, &s->nregions, cJSON_GetObjectItem(t, "regions"));
  const cJSON *seasons = cJSON_GetObjectItem(t, "seasons");
  for (const cJSON *se = seasons ? seasons->child : NULL; se; se = se->next)
    for (const cJSON *e = cJSON_GetObjectItem(se, "episodes")->child; e; e = e->next)
      s->episodes[s->nepisodes++] = cJSON_GetObjectItem(e, "id")->valuestring;
}

static void put_seed(int i)
{
  int created = 0;
  stream_error_clear();
  must(stream_catalog_title_put(NULL, &created, cat, seed_json[i]), seeds[i].id);
  FUZZ_ASSERT(created == 1);
}

static void make_profile(char *out_id, const char *account, const char *name, int kids)
{
  stream_store_profile p;
  memset(&p, 0, sizeof p);
  snprintf(p.account_id, sizeof p.account_id, "%s", account);
  snprintf(p.name, sizeof p.name, "%s", name);
  p.kids = kids;
  p.maturity_ceiling = 18;
  must(stream_store_profile_create(&p, st, &p, NOW), "profile");
  memcpy(out_id, p.id, STREAM_STORE_ID_SIZE);
}

static void cleanup(void)
{
  stream_catalog_free(cat);
  stream_store_close(st);
  if (raw)
    sqlite3_close(raw);
  static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
  char p[700];
  for (int i = 0; i < 4; i++) {
    snprintf(p, sizeof p, "%s%s", dbpath, suffix[i]);
    unlink(p);
  }
  rmdir(tmp);
  for (int i = 0; i < NSEEDS; i++)
    cJSON_Delete(seed_tree[i]);
  free(baseline);
}

static void setup(void)
{
  if (cat)
    return;
  const char *t = getenv("TMPDIR");
  snprintf(tmp, sizeof tmp, "%s/fuzz-catalog-XXXXXX", t && *t ? t : "/tmp");
  if (!mkdtemp(tmp))
    abort();
  snprintf(dbpath, sizeof dbpath, "%s/store.db", tmp);
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  o.path = dbpath;
  o.readers = 1;
  o.sync = STREAM_STORE_SYNC_NORMAL;
  must(stream_store_open(&st, &o), "store open");
  stream_catalog_options co = STREAM_CATALOG_OPTIONS_INIT;
  co.store = st;
  co.clock = fixed_clock;
  must(stream_catalog_new(&cat, &co), "catalog");
  stream_store_account a;
  memset(&a, 0, sizeof a);
  strcpy(a.email, "viewer@example.com");
  must(stream_store_account_create(&a, st, &a, NOW), "account");
  make_profile(adult_id, a.id, "Grown-up", 0);
  make_profile(kid_id, a.id, "Kid", 1);
  for (int i = 0; i < NSEEDS; i++) {
    mirror_seed(i);
    put_seed(i);
  }
  if (sqlite3_open_v2(dbpath, &raw, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
    abort();
  sqlite3_busy_timeout(raw, 5000);
  baseline = fingerprint();
  atexit(cleanup);
}

/* ---- viewers and visibility --------------------------------------------- */

typedef struct {
  bool valid; /* the catalog must accept it */
  bool null;  /* operator */
  int ceiling;
  const char *region; /* NULL = none */
  stream_catalog_viewer v;
  char region_buf[64];
} viewer;

/* The viewer of bits 3-5 of byte 0; `spec` is the first field for 7. */
static void pick_viewer(viewer *w, int sel, const char *spec)
{
  memset(w, 0, sizeof *w);
  stream_catalog_viewer init = STREAM_CATALOG_VIEWER_INIT;
  w->v = init;
  w->valid = true;
  w->ceiling = INT_MAX;
  switch (sel) {
  case 0:
    w->null = true;
    return;
  case 1:
    break;
  case 2:
    w->v.region = "FR";
    break;
  case 3:
    w->v.kids = 1;
    break;
  case 4:
    w->v.maturity_ceiling = 13;
    w->v.region = "US";
    break;
  case 5:
    w->v.maturity_ceiling = 0;
    break;
  case 6: {
    stream_error_clear();
    int rc = stream_catalog_viewer_for_profile(&w->v, cat, kid_id, "DE");
    fuzz_check_status(rc);
    FUZZ_ASSERT(rc == STREAM_OK);
    FUZZ_ASSERT(w->v.kids == 1 && w->v.maturity_ceiling == 18 && strcmp(w->v.region, "DE") == 0);
    break;
  }
  default: {
    /* "ceiling,kids,region" */
    char *end = NULL;
    long ceiling = strtol(spec, &end, 10);
    long kids = 0;
    if (end && *end == ',')
      kids = strtol(end + 1, &end, 10);
    if (end && *end == ',')
      snprintf(w->region_buf, sizeof w->region_buf, "%s", end + 1);
    w->v.maturity_ceiling = ceiling < INT_MIN   ? INT_MIN
                            : ceiling > INT_MAX ? INT_MAX
                                                : (int)ceiling;
    w->v.kids = kids < INT_MIN ? INT_MIN : kids > INT_MAX ? INT_MAX : (int)kids;
    w->v.region = w->region_buf;
    size_t rn = strlen(w->region_buf);
    bool region_ok = rn <= 8;
    for (size_t i = 0; i < rn; i++)
      region_ok = region_ok && (isupper((unsigned char)w->region_buf[i]) ||
                                isdigit((unsigned char)w->region_buf[i]));
    w->valid = w->v.maturity_ceiling >= 0 && (w->v.kids == 0 || w->v.kids == 1) && region_ok;
  }
  }
  w->ceiling = w->v.maturity_ceiling;
  if (w->v.kids && w->ceiling > STREAM_CATALOG_KIDS_CEILING)
    w->ceiling = STREAM_CATALOG_KIDS_CEILING;
  w->region = w->v.region && w->v.region[0] ? w->v.region : NULL;
}

static const stream_catalog_viewer *vp(const viewer *w)
{
  return w->null ? NULL : &w->v;
}

static bool in_list(const char *const *v, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(v[i], s) == 0)
      return true;
  return false;
}

/* Genres compared as the store does (docs/api/catalog.md "Genre names"): byte by byte once ASCII
 * A-Z, and nothing else, is folded to a-z; equal is one genre, and lists sort by it. */
static int genre_cmp(const char *a, const char *b)
{
  for (;; a++, b++) {
    int x = *a >= 'A' && *a <= 'Z' ? *a + 32 : (unsigned char)*a;
    int y = *b >= 'A' && *b <= 'Z' ? *b + 32 : (unsigned char)*b;
    if (x != y || !x)
      return x - y;
  }
}

static bool same_genre(const char *a, const char *b)
{
  return genre_cmp(a, b) == 0;
}

static bool in_genres(const char *const *v, size_t n, const char *g)
{
  for (size_t i = 0; i < n; i++)
    if (same_genre(v[i], g))
      return true;
  return false;
}

/* A title listing regions `v` is for a viewer in `region`: one of them is that code or a UN M49
 * area containing the viewer's country (docs/api/catalog.md "Regions"; the table's own facts are
 * checked by unit-catalog-regions). */
static bool region_seen(const char *const *v, size_t n, const char *region)
{
  if (in_list(v, n, region))
    return true;
  const char *areas[STREAM__M49_AREAS_MAX];
  size_t k = stream__m49_areas(areas, region);
  for (size_t i = 0; i < k; i++)
    if (in_list(v, n, areas[i]))
      return true;
  return false;
}

/* cat_visible() of the mirror; `window` false = the operator's titles_get. */
static bool visible(const seed *s, const viewer *w, bool window)
{
  if (s->maturity > w->ceiling)
    return false;
  if (window && s->from && s->from > NOW)
    return false;
  if (window && s->until && s->until <= NOW)
    return false;
  if (w->region && s->nregions)
    return region_seen(s->regions, s->nregions, w->region);
  return true;
}

/* (name, id) order of the store's title list: the name compared as genres are (bytes with ASCII A-Z
 * folded; docs/api/catalog.md "Browse order"), then the id byte by byte. */
static int key_cmp(const char *n1, const char *id1, const char *n2, const char *id2)
{
  int c = genre_cmp(n1, n2);
  return c ? c : strcmp(id1, id2);
}

/* ---- JSON helpers --------------------------------------------------------- */

static cJSON *parse_out(const char *json)
{
  FUZZ_ASSERT(json != NULL);
  cJSON *j = cJSON_Parse(json);
  FUZZ_ASSERT(j != NULL && cJSON_IsObject(j));
  return j;
}

static const char *str_of(const cJSON *o, const char *k)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The items of a page: each a seed title visible to `w`, no repeats. Returns
 * the count; the seed indices go to idx[]. */
static size_t check_items(int *idx, size_t cap, const cJSON *items, const viewer *w, bool window)
{
  FUZZ_ASSERT(cJSON_IsArray(items));
  size_t n = 0;
  for (const cJSON *it = items->child; it; it = it->next) {
    const char *id = str_of(it, "id");
    int i = seed_index(id);
    FUZZ_ASSERT(i >= 0);
    FUZZ_ASSERT(visible(&seeds[i], w, window));
    FUZZ_ASSERT(strcmp(str_of(it, "name"), seeds[i].name) == 0);
    for (size_t k = 0; k < n; k++)
      FUZZ_ASSERT(idx[k] != i);
    FUZZ_ASSERT(n < cap);
    idx[n++] = i;
  }
  return n;
}

/* ---- 0: search ------------------------------------------------------------ */

/* Does `word` (lower case ASCII) start a token of the folded text? */
static bool starts_token(const char *text, const char *word)
{
  size_t wl = strlen(word);
  for (const char *p = text; *p;) {
    while (*p && !isalnum((unsigned char)*p))
      p++;
    const char *tok = p;
    while (*p && isalnum((unsigned char)*p))
      p++;
    if ((size_t)(p - tok) >= wl && wl && strncmp(tok, word, wl) == 0)
      return true;
  }
  return false;
}

/* Length of the word character at p as the SQLite backend counts it: an
 * ASCII letter or digit, or a well-formed non-ASCII character; 0 otherwise. */
static size_t word_char(const unsigned char *p)
{
  if (*p < 0x80)
    return isalnum(*p) ? 1 : 0;
  return stream__utf8_seq(p, strnlen((const char *)p, 4));
}

#define SEARCH_WORDS 16 /* words the SQLite backend looks for (the first 16) */

static void do_search(const char *query, unsigned limit, const viewer *w)
{
  char *out = NULL;
  stream_error_clear();
  int rc = stream_catalog_search(&out, cat, query, limit, vp(w));
  fuzz_check_status(rc);
  size_t qn = strlen(query);
  bool valid = w->valid && limit <= STREAM_STORE_PAGE_MAX && qn <= STREAM_STORE_SEARCH_MAX &&
               stream__utf8_valid(query, qn);
  FUZZ_ASSERT((rc == STREAM_OK) == valid);
  if (rc != STREAM_OK) {
    FUZZ_ASSERT(rc == STREAM_EINVAL && out == NULL);
    return;
  }
  cJSON *j = parse_out(out);
  FUZZ_ASSERT(str_of(j, "query") && strcmp(str_of(j, "query"), query) == 0);
  int idx[NSEEDS];
  size_t n = check_items(idx, NSEEDS, cJSON_GetObjectItemCaseSensitive(j, "items"), w, true);
  unsigned lim = limit ? limit : STREAM_CATALOG_DEFAULT_LIMIT;
  FUZZ_ASSERT(n <= lim);
  /* The words as the backend cuts them: ASCII letters and digits and
   * well-formed non-ASCII characters; only all-ASCII queries are checked. */
  char words[SEARCH_WORDS][STREAM_STORE_SEARCH_MAX + 1];
  size_t nw = 0;
  bool ascii = true;
  const unsigned char *p = (const unsigned char *)query;
  while (*p && nw < SEARCH_WORDS) {
    while (*p && !word_char(p))
      p++;
    if (!*p)
      break;
    size_t k = 0;
    for (size_t m; *p && (m = word_char(p)) > 0; p += m) {
      if (*p >= 0x80)
        ascii = false;
      else
        words[nw][k++] = (char)tolower(*p);
    }
    words[nw++][k] = '\0';
  }
  if (ascii) {
    size_t expected = 0;
    for (int i = 0; i < NSEEDS; i++) {
      bool match = nw > 0 && visible(&seeds[i], w, true);
      for (size_t k = 0; match && k < nw; k++)
        match = starts_token(seeds[i].fname, words[k]) || starts_token(seeds[i].fsyn, words[k]);
      bool found = false;
      for (size_t k = 0; k < n; k++)
        found = found || idx[k] == i;
      FUZZ_ASSERT(!found || match);
      expected += match;
    }
    FUZZ_ASSERT(n == (expected < lim ? expected : lim));
  }
  cJSON_Delete(j);
  stream_free(out);
}

/* ---- 1: browse ----------------------------------------------------------- */

static bool genre_ok(const char *g)
{
  size_t n = strlen(g);
  if (n > STREAM_STORE_GENRE_MAX || !stream__utf8_valid(g, n))
    return false;
  for (const unsigned char *p = (const unsigned char *)g; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return false;
  return true;
}

/* The seeds of a browse, sorted by (name, id): returns the count. */
static size_t browse_expected(int *out, const char *genre, const viewer *w)
{
  size_t n = 0;
  for (int i = 0; i < NSEEDS; i++)
    if (visible(&seeds[i], w, true) &&
        (!genre[0] || in_genres(seeds[i].genres, seeds[i].ngenres, genre)))
      out[n++] = i;
  for (size_t a = 1; a < n; a++)
    for (size_t b = a; b > 0 && key_cmp(seeds[out[b - 1]].name, seeds[out[b - 1]].id,
                                        seeds[out[b]].name, seeds[out[b]].id) > 0;
         b--) {
      int t = out[b];
      out[b] = out[b - 1];
      out[b - 1] = t;
    }
  return n;
}

/* The store's cursor, "<sort>:<id>:<name>" in base64url (stream/store.h):
 * false unless it is one the store must accept. */
static bool cursor_decode(const char *cursor, char *id, char **name)
{
  size_t cn = strlen(cursor);
  if (cn == 0 || cn > STREAM_STORE_CURSOR_MAX || !stream__utf8_valid(cursor, cn))
    return false;
  unsigned char *raw_c = NULL;
  size_t n = 0;
  stream_error_clear();
  if (stream_base64_decode(&raw_c, &n, cursor, cn, STREAM_B64_URL) != STREAM_OK) {
    stream_error_clear();
    return false;
  }
  bool ok = n >= 4 && !memchr(raw_c, 0, n) && raw_c[0] == '0' && raw_c[1] == ':';
  const unsigned char *colon = ok ? memchr(raw_c + 2, ':', n - 2) : NULL;
  ok = ok && colon && colon > raw_c + 2 && (size_t)(colon - raw_c - 2) <= STREAM_STORE_ID_MAX;
  if (ok) {
    size_t il = (size_t)(colon - raw_c - 2);
    memcpy(id, raw_c + 2, il);
    id[il] = '\0';
    for (size_t i = 0; i < il; i++)
      ok = ok && (isalnum((unsigned char)id[i]) || id[i] == '-' || id[i] == '_');
    size_t nl = n - (size_t)(colon + 1 - raw_c);
    ok = ok && stream__utf8_valid(colon + 1, nl);
    if (ok) {
      *name = fuzz_cstr(colon + 1, nl);
    }
  }
  stream_free(raw_c);
  return ok;
}

static char *browse_once(int *rc, const char *genre, const char *cursor, unsigned limit,
                         const viewer *w)
{
  char *out = NULL;
  stream_error_clear();
  *rc = stream_catalog_browse(&out, cat, genre, cursor, limit, vp(w));
  fuzz_check_status(*rc);
  FUZZ_ASSERT((*rc == STREAM_OK) == (out != NULL));
  return out;
}

static void do_browse(const char *genre, const char *cursor, unsigned limit, const viewer *w)
{
  bool valid = w->valid && limit <= STREAM_STORE_PAGE_MAX && genre_ok(genre);
  unsigned lim = limit ? limit : STREAM_CATALOG_DEFAULT_LIMIT;
  int exp[NSEEDS];
  size_t ne = browse_expected(exp, genre, w);
  if (cursor[0]) {
    char id[STREAM_STORE_ID_SIZE];
    char *name = NULL;
    bool cur_ok = cursor_decode(cursor, id, &name);
    int rc;
    char *out = browse_once(&rc, genre, cursor, limit, w);
    FUZZ_ASSERT((rc == STREAM_OK) == (valid && cur_ok));
    if (rc == STREAM_OK) {
      /* exactly the first `lim` expected titles after the key */
      size_t first = 0;
      while (first < ne && key_cmp(seeds[exp[first]].name, seeds[exp[first]].id, name, id) <= 0)
        first++;
      cJSON *j = parse_out(out);
      int idx[NSEEDS];
      size_t n = check_items(idx, NSEEDS, cJSON_GetObjectItemCaseSensitive(j, "items"), w, true);
      size_t want = ne - first < lim ? ne - first : lim;
      FUZZ_ASSERT(n == want);
      for (size_t k = 0; k < n; k++)
        FUZZ_ASSERT(idx[k] == exp[first + k]);
      const cJSON *nc = cJSON_GetObjectItemCaseSensitive(j, "next_cursor");
      FUZZ_ASSERT(first + n < ne ? cJSON_IsString(nc) : cJSON_IsNull(nc));
      cJSON_Delete(j);
    }
    free(name);
    stream_free(out);
    return;
  }
  /* Every page from the first. */
  char *next = NULL;
  size_t seen = 0;
  for (int page = 0; page <= NSEEDS + 1; page++) {
    int rc;
    char *out = browse_once(&rc, genre, next, limit, w);
    FUZZ_ASSERT((rc == STREAM_OK) == valid);
    free(next);
    next = NULL;
    if (rc != STREAM_OK) {
      FUZZ_ASSERT(page == 0);
      return;
    }
    cJSON *j = parse_out(out);
    int idx[NSEEDS];
    size_t n = check_items(idx, NSEEDS, cJSON_GetObjectItemCaseSensitive(j, "items"), w, true);
    FUZZ_ASSERT(n <= lim && seen + n <= ne);
    for (size_t k = 0; k < n; k++)
      FUZZ_ASSERT(idx[k] == exp[seen + k]); /* in order, no repeats, none skipped */
    seen += n;
    const cJSON *nc = cJSON_GetObjectItemCaseSensitive(j, "next_cursor");
    FUZZ_ASSERT(cJSON_IsString(nc) || cJSON_IsNull(nc));
    FUZZ_ASSERT(cJSON_IsString(nc) == (seen < ne));
    if (cJSON_IsString(nc)) {
      FUZZ_ASSERT(n == lim);
      next = strdup(nc->valuestring);
    }
    cJSON_Delete(j);
    stream_free(out);
    if (!next)
      break;
  }
  FUZZ_ASSERT(next == NULL && seen == ne);
}

/* ---- restoring the seeds after a write ----------------------------------- */

static bool touched[NSEEDS];

static void restore(void)
{
  char ids[64][STREAM_STORE_ID_SIZE];
  size_t n = stored_ids(ids, 64);
  bool present[NSEEDS] = {false};
  for (size_t i = 0; i < n; i++) {
    int s = seed_index(ids[i]);
    if (s >= 0) {
      present[s] = true;
      continue;
    }
    stream_error_clear();
    must(stream_catalog_title_delete(cat, ids[i]), "delete a written title");
  }
  for (int s = 0; s < NSEEDS; s++) {
    if (present[s] && !touched[s])
      continue;
    if (present[s]) {
      stream_error_clear();
      must(stream_catalog_title_delete(cat, seeds[s].id), "delete a seed");
    }
    put_seed(s);
  }
  memset(touched, 0, sizeof touched);
  char *fp = fingerprint();
  if (strcmp(fp, baseline) != 0) {
    fprintf(stderr, "fuzz_catalog: not restored:\n%s\n-- expected --\n%s\n", fp, baseline);
    FUZZ_ASSERT(!"catalog restored");
  }
  free(fp);
}

/* The catalog must be as it was (after a refused write). */
static void check_unchanged(void)
{
  char *fp = fingerprint();
  FUZZ_ASSERT(strcmp(fp, baseline) == 0);
  free(fp);
}

/* ---- 2: put -------------------------------------------------------------- */

static bool same_string_or_null(const cJSON *in, const cJSON *out)
{
  if (!in || cJSON_IsNull(in))
    return cJSON_IsNull(out);
  return cJSON_IsString(out) && strcmp(in->valuestring, out->valuestring) == 0;
}

/* An optional integer: absent / null (and 0 where `zero_is_null`) read back null. */
static bool same_int_or_null(const cJSON *in, const cJSON *out, bool zero_is_null)
{
  if (!in || cJSON_IsNull(in) || (zero_is_null && in->valuedouble == 0))
    return cJSON_IsNull(out);
  return cJSON_IsNumber(out) && out->valuedouble == in->valuedouble;
}

/* The same strings (order ignored); genres: the same genres (a genre may read back in the
 * spelling it was first stored with, as any input may have created it). */
static bool same_set(const cJSON *in, const cJSON *out, bool genres)
{
  if (!cJSON_IsArray(out))
    return false;
  int n = (!in || cJSON_IsNull(in)) ? 0 : cJSON_GetArraySize(in);
  if (cJSON_GetArraySize(out) != n)
    return false;
  for (const cJSON *e = n ? in->child : NULL; e; e = e->next) {
    bool found = false;
    for (const cJSON *o = out->child; o && !found; o = o->next)
      found = cJSON_IsString(o) && (genres ? same_genre(o->valuestring, e->valuestring)
                                           : strcmp(o->valuestring, e->valuestring) == 0);
    if (!found)
      return false;
  }
  return true;
}

static void check_credits(const cJSON *in, const cJSON *out)
{
  FUZZ_ASSERT(cJSON_IsArray(out));
  int n = (!in || cJSON_IsNull(in)) ? 0 : cJSON_GetArraySize(in);
  FUZZ_ASSERT(cJSON_GetArraySize(out) == n);
  const cJSON *o = out->child;
  for (const cJSON *e = n ? in->child : NULL; e; e = e->next, o = o->next) {
    FUZZ_ASSERT(strcmp(str_of(e, "name"), str_of(o, "name")) == 0);
    FUZZ_ASSERT(strcmp(str_of(e, "role"), str_of(o, "role")) == 0);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(e, "character");
    const char *oc = str_of(o, "character");
    if (!c || cJSON_IsNull(c))
      FUZZ_ASSERT(oc == NULL && !cJSON_GetObjectItemCaseSensitive(o, "character"));
    else
      FUZZ_ASSERT(oc && strcmp(oc, c->valuestring) == 0);
  }
}

static void check_artwork(const cJSON *in, const cJSON *out)
{
  FUZZ_ASSERT(cJSON_IsObject(out));
  int n = (!in || cJSON_IsNull(in)) ? 0 : cJSON_GetArraySize(in);
  FUZZ_ASSERT(cJSON_GetArraySize(out) == n);
  for (const cJSON *e = n ? in->child : NULL; e; e = e->next) {
    const char *o = str_of(out, e->string);
    FUZZ_ASSERT(o && strcmp(o, e->valuestring) == 0);
  }
}

static const cJSON *season_by_number(const cJSON *seasons, double number)
{
  for (const cJSON *s = seasons ? seasons->child : NULL; s; s = s->next)
    if (cJSON_GetObjectItemCaseSensitive(s, "number")->valuedouble == number)
      return s;
  return NULL;
}

/* `before`: the detail before the write, NULL for a new title, or `out`
 * itself when not known (a document without seasons keeps them). */
static void check_seasons(const cJSON *in, const cJSON *out, const cJSON *before)
{
  FUZZ_ASSERT(cJSON_IsArray(out));
  if (!in) { /* kept as they were (none for a new title) */
    const cJSON *b = before ? cJSON_GetObjectItemCaseSensitive(before, "seasons") : NULL;
    FUZZ_ASSERT(b ? cJSON_Compare(b, out, true) : cJSON_GetArraySize(out) == 0);
    return;
  }
  FUZZ_ASSERT(cJSON_GetArraySize(out) == cJSON_GetArraySize(in));
  for (const cJSON *s = in->child; s; s = s->next) {
    const cJSON *os =
        season_by_number(out, cJSON_GetObjectItemCaseSensitive(s, "number")->valuedouble);
    FUZZ_ASSERT(os != NULL);
    const cJSON *ie = cJSON_GetObjectItemCaseSensitive(s, "episodes");
    const cJSON *oe = cJSON_GetObjectItemCaseSensitive(os, "episodes");
    FUZZ_ASSERT(cJSON_GetArraySize(oe) == cJSON_GetArraySize(ie));
    for (const cJSON *e = ie->child; e; e = e->next) {
      const cJSON *o =
          season_by_number(oe, cJSON_GetObjectItemCaseSensitive(e, "number")->valuedouble);
      FUZZ_ASSERT(o != NULL);
      const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
      if (id)
        FUZZ_ASSERT(strcmp(str_of(o, "id"), id->valuestring) == 0);
      FUZZ_ASSERT(strcmp(str_of(o, "name"), str_of(e, "name")) == 0);
      FUZZ_ASSERT(same_string_or_null(cJSON_GetObjectItemCaseSensitive(e, "synopsis"),
                                      cJSON_GetObjectItemCaseSensitive(o, "synopsis")));
      FUZZ_ASSERT(same_int_or_null(cJSON_GetObjectItemCaseSensitive(e, "runtime_minutes"),
                                   cJSON_GetObjectItemCaseSensitive(o, "runtime_minutes"), false));
    }
  }
}

/* Every field of the document `in` read back in the detail `out`. */
static void check_round_trip(const cJSON *in, const cJSON *out, const cJSON *before)
{
#define IN(k) cJSON_GetObjectItemCaseSensitive(in, k)
#define OUT(k) cJSON_GetObjectItemCaseSensitive(out, k)
  if (IN("id"))
    FUZZ_ASSERT(strcmp(str_of(out, "id"), IN("id")->valuestring) == 0);
  FUZZ_ASSERT(strcmp(str_of(out, "kind"), IN("kind")->valuestring) == 0);
  FUZZ_ASSERT(strcmp(str_of(out, "name"), IN("name")->valuestring) == 0);
  FUZZ_ASSERT(same_string_or_null(IN("synopsis"), OUT("synopsis")));
  FUZZ_ASSERT(same_int_or_null(IN("year"), OUT("year"), false));
  FUZZ_ASSERT(same_int_or_null(IN("runtime_minutes"), OUT("runtime_minutes"), false));
  FUZZ_ASSERT(OUT("maturity_rating")->valuedouble == IN("maturity_rating")->valuedouble);
  FUZZ_ASSERT(strcmp(str_of(out, "maturity_label"),
                     stream_catalog_maturity_label(IN("maturity_rating")->valueint)) == 0);
  FUZZ_ASSERT(same_set(IN("genres"), OUT("genres"), true));
  FUZZ_ASSERT(same_set(IN("regions"), OUT("regions"), false));
  check_credits(IN("credits"), OUT("credits"));
  check_artwork(IN("artwork"), OUT("artwork"));
  /* docs/api/catalog.md: available_from null/0 = always since */
  FUZZ_ASSERT(same_int_or_null(IN("available_from"), OUT("available_from"), true));
  FUZZ_ASSERT(same_int_or_null(IN("available_until"), OUT("available_until"), false));
  check_seasons(IN("seasons"), OUT("seasons"), before);
#undef IN
#undef OUT
}

/* The operator's detail of `id`, or NULL when there is none. */
static char *detail(const char *id)
{
  char *out = NULL;
  stream_error_clear();
  int rc = stream_catalog_title_get(&out, cat, id, NULL);
  fuzz_check_status(rc);
  FUZZ_ASSERT(rc == STREAM_OK || rc == STREAM_ENOTFOUND || rc == STREAM_EINVAL);
  return out;
}

/* Is `v` the "id" of a document that names an existing title? */
static const char *doc_id(const cJSON *doc)
{
  const cJSON *v = cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, "id") : NULL;
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int do_put(const char *json, bool want_json)
{
  cJSON *doc = cJSON_Parse(json);
  const char *id = doc_id(doc);
  char *before = id ? detail(id) : NULL;
  char *out = NULL;
  int created = 7;
  stream_error_clear();
  int rc = stream_catalog_title_put(want_json ? &out : NULL, &created, cat, json);
  fuzz_check_status(rc);
  if (rc != STREAM_OK) {
    FUZZ_ASSERT(out == NULL && created == 0);
    FUZZ_ASSERT(rc == STREAM_EINVAL || rc == STREAM_ERANGE || rc == STREAM_EEXIST ||
                rc == STREAM_ECONFLICT);
    check_unchanged();
    if (id) {
      char *after = detail(id);
      FUZZ_ASSERT((before == NULL) == (after == NULL));
      FUZZ_ASSERT(!before || strcmp(before, after) == 0);
      stream_free(after);
    }
    stream_free(before);
    cJSON_Delete(doc);
    return rc;
  }
  FUZZ_ASSERT(doc != NULL && cJSON_IsObject(doc));
  FUZZ_ASSERT(created == (before == NULL));
  if (id && seed_index(id) >= 0)
    touched[seed_index(id)] = true;
  char *got = NULL;
  if (want_json) {
    cJSON *o = parse_out(out);
    got = detail(str_of(o, "id"));
    FUZZ_ASSERT(got && strcmp(got, out) == 0);
    cJSON *b = before ? parse_out(before) : NULL;
    check_round_trip(doc, o, b);
    cJSON_Delete(b);
    cJSON_Delete(o);
  }
  if (id) {
    /* The same document again changes nothing. */
    size_t n = strlen(json);
    char *imp = malloc(n + 16);
    FUZZ_ASSERT(imp != NULL);
    snprintf(imp, n + 16, "{\"titles\":[%s]}", json);
    stream_catalog_import_result r;
    stream_error_clear();
    rc = stream_catalog_import(&r, cat, imp);
    fuzz_check_status(rc);
    FUZZ_ASSERT(rc == STREAM_OK && r.total == 1 && r.unchanged == 1);
    stream_catalog_import_result_clear(&r);
    free(imp);
    if (got) {
      char *again = detail(id);
      FUZZ_ASSERT(again && strcmp(again, got) == 0);
      stream_free(again);
    }
  }
  stream_free(got);
  stream_free(before);
  stream_free(out);
  cJSON_Delete(doc);
  return STREAM_OK;
}

/* The document with its seasons in reverse order, or NULL when it has fewer
 * than two. */
static char *seasons_reversed(const char *json)
{
  cJSON *doc = cJSON_Parse(json);
  cJSON *seasons = cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, "seasons") : NULL;
  char *out = NULL;
  if (cJSON_IsArray(seasons) && cJSON_GetArraySize(seasons) >= 2) {
    cJSON *rev = cJSON_CreateArray();
    while (seasons->child)
      cJSON_AddItemToArray(rev, cJSON_DetachItemViaPointer(seasons, seasons->child));
    for (cJSON *e = rev->child ? rev->child->prev : NULL; e;
         e = rev->child ? rev->child->prev : NULL) {
      cJSON_AddItemToArray(seasons, cJSON_DetachItemViaPointer(rev, e));
    }
    cJSON_Delete(rev);
    out = cJSON_PrintUnformatted(doc);
  }
  cJSON_Delete(doc);
  return out;
}

/* ---- 3: import ----------------------------------------------------------- */

static void do_import(const char *json)
{
  stream_catalog_import_result r;
  memset(&r, 0x5a, sizeof r);
  stream_error_clear();
  int rc = stream_catalog_import(&r, cat, json);
  fuzz_check_status(rc);
  cJSON *doc = cJSON_Parse(json);
  const cJSON *titles =
      cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, "titles") : NULL;
  for (const cJSON *t = cJSON_IsArray(titles) ? titles->child : NULL; t; t = t->next) {
    int s = seed_index(doc_id(t));
    if (s >= 0)
      touched[s] = true;
  }
  if (r.report_json == NULL) {
    FUZZ_ASSERT(rc != STREAM_OK);
    FUZZ_ASSERT(r.total == 0 && r.created == 0 && r.updated == 0 && r.unchanged == 0 &&
                r.failed == 0);
    check_unchanged();
    cJSON_Delete(doc);
    return;
  }
  cJSON *rep = parse_out(r.report_json);
  const cJSON *items = cJSON_GetObjectItemCaseSensitive(rep, "items");
  FUZZ_ASSERT(cJSON_IsArray(items) && (size_t)cJSON_GetArraySize(items) == r.total);
  FUZZ_ASSERT(r.created + r.updated + r.unchanged + r.failed <= r.total);
  FUZZ_ASSERT(cJSON_GetObjectItemCaseSensitive(rep, "total")->valuedouble == (double)r.total);
  FUZZ_ASSERT(cJSON_GetObjectItemCaseSensitive(rep, "failed")->valuedouble == (double)r.failed);
  if (rc == STREAM_OK) {
    FUZZ_ASSERT(r.failed == 0 && r.created + r.updated + r.unchanged == r.total);
    bool all_ids = true;
    for (const cJSON *it = items->child; it; it = it->next) {
      const char *st = str_of(it, "status");
      FUZZ_ASSERT(st &&
                  (!strcmp(st, "created") || !strcmp(st, "updated") || !strcmp(st, "unchanged")));
      char *d = detail(str_of(it, "id"));
      FUZZ_ASSERT(d != NULL);
      /* the title of this item reads back as its document */
      const cJSON *t =
          cJSON_GetArrayItem(titles, cJSON_GetObjectItemCaseSensitive(it, "index")->valueint);
      FUZZ_ASSERT(t != NULL);
      FUZZ_ASSERT(!doc_id(t) || strcmp(doc_id(t), str_of(it, "id")) == 0);
      cJSON *o = parse_out(d);
      check_round_trip(t, o, strcmp(st, "created") == 0 ? NULL : o);
      cJSON_Delete(o);
      stream_free(d);
    }
    for (const cJSON *t = titles->child; t; t = t->next)
      all_ids = all_ids && doc_id(t);
    if (all_ids) {
      stream_catalog_import_result again;
      stream_error_clear();
      rc = stream_catalog_import(&again, cat, json);
      fuzz_check_status(rc);
      FUZZ_ASSERT(rc == STREAM_OK && again.unchanged == r.total);
      stream_catalog_import_result_clear(&again);
    }
  } else if (r.created + r.updated + r.unchanged == 0) {
    /* refused before anything was written (validation) or every write failed */
    size_t invalid = 0;
    for (const cJSON *it = items->child; it; it = it->next) {
      const char *st = str_of(it, "status");
      FUZZ_ASSERT(st &&
                  (!strcmp(st, "invalid") || !strcmp(st, "skipped") || !strcmp(st, "failed")));
      invalid += strcmp(st, "skipped") != 0;
      FUZZ_ASSERT(strcmp(st, "skipped") == 0 || (str_of(it, "error") && str_of(it, "error")[0]));
    }
    FUZZ_ASSERT(invalid == r.failed);
    check_unchanged();
  }
  cJSON_Delete(rep);
  cJSON_Delete(doc);
  stream_catalog_import_result_clear(&r);
}

/* ---- 4: progress, ratings, My List, detail ------------------------------- */

static bool id_ok(const char *id)
{
  size_t n = strlen(id);
  if (n < 1 || n > STREAM_STORE_ID_MAX)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!(isalnum((unsigned char)id[i]) || id[i] == '-' || id[i] == '_'))
      return false;
  return true;
}

/* A profile id from an input: "@a" and "@k" stand for the adult and kid
 * profiles (their ids are random), anything else is itself. */
static const char *at_profile(const char *f)
{
  return strcmp(f, "@a") == 0 ? adult_id : strcmp(f, "@k") == 0 ? kid_id : f;
}

static bool parse_i64(const char *s, int64_t *v)
{
  char *end = NULL;
  long long x = strtoll(s, &end, 10);
  *v = x;
  return end != s && *end == '\0';
}

/* The item of `title` in a list of {"title":{..},...} items, or NULL. */
static const cJSON *find_item(const cJSON *root, const char *title)
{
  const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
  FUZZ_ASSERT(cJSON_IsArray(items));
  const cJSON *found = NULL;
  for (const cJSON *it = items->child; it; it = it->next) {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "title");
    FUZZ_ASSERT(cJSON_IsObject(t));
    if (strcmp(str_of(t, "id"), title) == 0) {
      FUZZ_ASSERT(found == NULL);
      found = it;
    }
  }
  return found;
}

static void do_viewer_ops(unsigned op, unsigned who, bool prefill, char *s, size_t pos,
                          const viewer *w)
{
  const char *title = fuzz_field(s, &pos);
  const char *episode = fuzz_field(s, &pos);
  const char *a = fuzz_field(s, &pos);
  const char *b = fuzz_field(s, &pos);
  const char *custom = fuzz_field(s, &pos);
  const char *profile = who == 0   ? adult_id
                        : who == 1 ? kid_id
                        : who == 2 ? "nope"
                                   : at_profile(custom);
  bool profile_exists = who < 2 || strcmp(profile, adult_id) == 0 || strcmp(profile, kid_id) == 0;
  int si = seed_index(title);
  const seed *sd = si >= 0 ? &seeds[si] : NULL;
  /* the profile's own viewer (region none) */
  viewer pv;
  pick_viewer(&pv, 1, "");
  if (profile_exists) {
    stream_error_clear();
    int rc = stream_catalog_viewer_for_profile(&pv.v, cat, profile, NULL);
    fuzz_check_status(rc);
    FUZZ_ASSERT(rc == STREAM_OK);
    pv.ceiling = pv.v.kids ? STREAM_CATALOG_KIDS_CEILING : pv.v.maturity_ceiling;
  }
  int rc;
  switch (op) {
  case 0: { /* progress */
    int64_t p = 0, d = 0;
    bool nums = parse_i64(a, &p) && parse_i64(b, &d);
    bool ep_ok = false;
    if (sd && sd->series && episode[0])
      ep_ok = in_list(sd->episodes, sd->nepisodes, episode);
    else if (sd && !sd->series)
      ep_ok = !episode[0];
    bool expect = nums && id_ok(profile) && profile_exists && sd && ep_ok && d >= 1 &&
                  d <= 604800 && p >= 0 && p <= d;
    stream_error_clear();
    rc = stream_catalog_progress_put(cat, profile, title, episode, nums ? p : -1, nums ? d : 0);
    fuzz_check_status(rc);
    FUZZ_ASSERT((rc == STREAM_OK) == expect);
    if (rc != STREAM_OK || !profile_exists)
      break;
    char *out = NULL;
    stream_error_clear();
    rc = stream_catalog_continue_watching(&out, cat, &pv.v, 100);
    fuzz_check_status(rc);
    FUZZ_ASSERT(rc == STREAM_OK);
    cJSON *j = parse_out(out);
    const cJSON *it = find_item(j, title);
    FUZZ_ASSERT((it != NULL) == (visible(sd, &pv, true) && p * 100 < d * 95));
    if (it) {
      FUZZ_ASSERT(cJSON_GetObjectItemCaseSensitive(it, "position_s")->valuedouble == (double)p);
      FUZZ_ASSERT(cJSON_GetObjectItemCaseSensitive(it, "duration_s")->valuedouble == (double)d);
      if (episode[0])
        FUZZ_ASSERT(str_of(it, "episode_id") && strcmp(str_of(it, "episode_id"), episode) == 0);
      else
        FUZZ_ASSERT(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(it, "episode_id")));
    }
    cJSON_Delete(j);
    stream_free(out);
    break;
  }
  case 1: { /* rating */
    int64_t v = 0;
    bool num = parse_i64(a, &v) && v >= INT_MIN && v <= INT_MAX;
    int before = 9;
    stream_error_clear();
    int grc = stream_catalog_rating_get(&before, cat, profile, title);
    fuzz_check_status(grc);
    FUZZ_ASSERT((grc == STREAM_OK) == (id_ok(profile) && sd != NULL));
    bool expect = num && v >= -1 && v <= 1 && id_ok(profile) && sd && (profile_exists || v == 0);
    stream_error_clear();
    rc = stream_catalog_rating_put(cat, profile, title, num ? (int)v : 2);
    fuzz_check_status(rc);
    FUZZ_ASSERT((rc == STREAM_OK) == expect);
    if (grc == STREAM_OK) {
      int after = 9;
      stream_error_clear();
      FUZZ_ASSERT(stream_catalog_rating_get(&after, cat, profile, title) == STREAM_OK);
      FUZZ_ASSERT(after == (rc == STREAM_OK ? (int)v : before));
      if (rc == STREAM_OK && v != 0)
        FUZZ_ASSERT(stream_catalog_rating_put(cat, profile, title, 0) == STREAM_OK);
    }
    break;
  }
  case 2: { /* My List */
    bool expect = id_ok(profile) && profile_exists && sd;
    stream_error_clear();
    rc = stream_catalog_mylist_add(cat, profile, title);
    fuzz_check_status(rc);
    FUZZ_ASSERT((rc == STREAM_OK) == expect);
    if (rc != STREAM_OK)
      break;
    for (int round = 0; round < 2; round++) {
      char *out = NULL;
      stream_error_clear();
      FUZZ_ASSERT(stream_catalog_mylist_list(&out, cat, &pv.v) == STREAM_OK);
      cJSON *j = parse_out(out);
      FUZZ_ASSERT((find_item(j, title) != NULL) == (round == 0 && visible(sd, &pv, true)));
      cJSON_Delete(j);
      stream_free(out);
      if (round == 0) {
        stream_error_clear();
        FUZZ_ASSERT(stream_catalog_mylist_remove(cat, profile, title) == STREAM_OK);
      }
    }
    break;
  }
  default: { /* detail for the viewer, twice (the second from the cache), after
                the operator's when `prefill` (which fills the cache: a hidden
                title must stay hidden) */
    if (prefill)
      stream_free(detail(title));
    char *first = NULL;
    for (int round = 0; round < 2; round++) {
      char *out = NULL;
      stream_error_clear();
      rc = stream_catalog_title_get(&out, cat, title, vp(w));
      fuzz_check_status(rc);
      if (!w->valid || !id_ok(title))
        FUZZ_ASSERT(rc == STREAM_EINVAL);
      else if (sd && (w->null || visible(sd, w, true)))
        FUZZ_ASSERT(rc == STREAM_OK);
      else
        FUZZ_ASSERT(rc == STREAM_ENOTFOUND);
      if (rc == STREAM_OK) {
        cJSON *j = parse_out(out);
        FUZZ_ASSERT(strcmp(str_of(j, "id"), title) == 0);
        cJSON_Delete(j);
        if (round == 0)
          first = out;
        else
          FUZZ_ASSERT(strcmp(first, out) == 0);
      }
      if (out != first)
        stream_free(out);
    }
    stream_free(first);
  }
  }
}

/* ---- 5: titles_get ------------------------------------------------------- */

static void do_titles_get(char *s, size_t pos, const viewer *w)
{
  const char *ids[110];
  size_t n = 0;
  size_t len = strlen(s);
  while (pos < len && n < 110)
    ids[n++] = fuzz_field(s, &pos);
  bool valid = w->valid && n <= STREAM_STORE_PAGE_MAX;
  for (size_t i = 0; i < n; i++)
    valid = valid && id_ok(ids[i]);
  char *out = NULL;
  stream_error_clear();
  int rc = stream_catalog_titles_get(&out, cat, ids, n, vp(w));
  fuzz_check_status(rc);
  FUZZ_ASSERT((rc == STREAM_OK) == valid);
  if (rc != STREAM_OK)
    return;
  cJSON *j = parse_out(out);
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(j, "items")->child;
  for (size_t i = 0; i < n; i++) {
    bool dup = false;
    for (size_t k = 0; k < i; k++)
      dup = dup || strcmp(ids[k], ids[i]) == 0;
    int si = seed_index(ids[i]);
    if (dup || si < 0 || !(w->null || visible(&seeds[si], w, true)))
      continue;
    FUZZ_ASSERT(it != NULL && strcmp(str_of(it, "id"), ids[i]) == 0);
    it = it->next;
  }
  FUZZ_ASSERT(it == NULL);
  cJSON_Delete(j);
  stream_free(out);
}

/* ---- 6: genres ----------------------------------------------------------- */

/* The sorted distinct genres of the seeds (visible to `w`, or all). */
static size_t genres_expected(const char **out, const viewer *w)
{
  size_t n = 0;
  for (int i = 0; i < NSEEDS; i++) {
    if (w && !visible(&seeds[i], w, true))
      continue;
    for (size_t g = 0; g < seeds[i].ngenres; g++)
      if (!in_list(out, n, seeds[i].genres[g]))
        out[n++] = seeds[i].genres[g];
  }
  for (size_t a = 1; a < n; a++)
    for (size_t b = a; b > 0 && genre_cmp(out[b - 1], out[b]) > 0; b--) {
      const char *t = out[b];
      out[b] = out[b - 1];
      out[b - 1] = t;
    }
  return n;
}

static void check_genres(const char *json, const char **want, size_t n)
{
  cJSON *j = parse_out(json);
  const cJSON *g = cJSON_GetObjectItemCaseSensitive(j, "genres");
  FUZZ_ASSERT(cJSON_IsArray(g) && (size_t)cJSON_GetArraySize(g) == n);
  size_t i = 0;
  for (const cJSON *e = g->child; e; e = e->next, i++)
    FUZZ_ASSERT(strcmp(e->valuestring, want[i]) == 0);
  cJSON_Delete(j);
}

static void do_genres(char *s, size_t pos, const viewer *w)
{
  const char *profile = at_profile(fuzz_field(s, &pos));
  const char *region = fuzz_field(s, &pos);
  stream_catalog_viewer pv;
  stream_error_clear();
  int rc = stream_catalog_viewer_for_profile(&pv, cat, profile, region);
  fuzz_check_status(rc);
  bool known = strcmp(profile, adult_id) == 0 || strcmp(profile, kid_id) == 0;
  size_t rn = strlen(region);
  bool region_ok = rn <= 8;
  for (size_t i = 0; i < rn; i++)
    region_ok =
        region_ok && (isupper((unsigned char)region[i]) || isdigit((unsigned char)region[i]));
  FUZZ_ASSERT((rc == STREAM_OK) == (known && region_ok));
  if (rc == STREAM_OK)
    FUZZ_ASSERT(pv.profile_id == profile && pv.region == region && pv.maturity_ceiling == 18 &&
                pv.kids == (strcmp(profile, kid_id) == 0));
  const char *want[NSEEDS * MAXG];
  char *out = NULL;
  stream_error_clear();
  FUZZ_ASSERT(stream_catalog_genres(&out, cat) == STREAM_OK);
  check_genres(out, want, genres_expected(want, NULL));
  stream_free(out);
  stream_error_clear();
  rc = stream_catalog_genres_for(&out, cat, vp(w));
  fuzz_check_status(rc);
  FUZZ_ASSERT((rc == STREAM_OK) == w->valid);
  if (rc != STREAM_OK)
    return;
  size_t n = genres_expected(want, w);
  check_genres(out, want, n);
  stream_free(out);
  for (size_t i = 0; i < n; i++)
    do_browse(want[i], "", 0, w);
}

/* ---- 7: delete ----------------------------------------------------------- */

static void do_delete(const char *id)
{
  int si = seed_index(id);
  stream_error_clear();
  int rc = stream_catalog_title_delete(cat, id);
  fuzz_check_status(rc);
  FUZZ_ASSERT((rc == STREAM_OK) == (si >= 0));
  if (rc != STREAM_OK) {
    FUZZ_ASSERT(rc == STREAM_EINVAL || rc == STREAM_ENOTFOUND);
    check_unchanged();
    return;
  }
  touched[si] = true;
  char *d = detail(id);
  FUZZ_ASSERT(d == NULL && stream_error_last()->code == STREAM_ENOTFOUND);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 2)
    return 0;
  setup();
  unsigned mode = data[0] & 7, vsel = (data[0] >> 3) & 7, param = data[1];
  char *s = fuzz_cstr(data + 2, size - 2);
  size_t pos = 0;
  const char *spec = vsel == 7 && mode != 2 && mode != 3 ? fuzz_field(s, &pos) : "";
  viewer w;
  pick_viewer(&w, (int)vsel, spec);
  switch (mode) {
  case 0:
    do_search(fuzz_field(s, &pos), param, &w);
    break;
  case 1: {
    const char *genre = fuzz_field(s, &pos);
    do_browse(genre, fuzz_field(s, &pos), param & 0x7f, &w);
    break;
  }
  case 2: {
    int rc = do_put(s, param & 1);
    restore();
    /* A valid document's fate does not depend on the order of its seasons. */
    char *rev = rc == STREAM_OK || rc == STREAM_EEXIST ? seasons_reversed(s) : NULL;
    if (rev) {
      FUZZ_ASSERT(do_put(rev, param & 1) == rc);
      restore();
      cJSON_free(rev);
    }
    break;
  }
  case 3:
    do_import(s);
    restore();
    break;
  case 4:
    do_viewer_ops(param & 3, (param >> 2) & 3, (param >> 4) & 1, s, pos, &w);
    break;
  case 5:
    do_titles_get(s, pos, &w);
    break;
  case 6:
    do_genres(s, pos, &w);
    break;
  default:
    do_delete(fuzz_field(s, &pos));
    restore();
    break;
  }
  free(s);
  return 0;
}
