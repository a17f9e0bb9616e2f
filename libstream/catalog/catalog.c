/*
 * The catalog service (floor 2). Owns the viewer-facing reads of the catalog
 * (detail, browse by genre, search, genres), resume positions and the
 * "continue watching" row, and My List, all as JSON; the writes live in
 * write.c, document validation in parse.c, the JSON shapes in render.c.
 * Everything goes through the public store API; there is no SQL here.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "catalog_internal.h"
#include "../core/m49.h"

int64_t cat_now(const stream_catalog *c)
{
  return c->clock ? c->clock(c->clock_userdata) : stream__now();
}

int cat_check_handle(const stream_catalog *c)
{
  return c ? STREAM_OK : stream__err(STREAM_EINVAL, "catalog handle is NULL");
}

static int check_out(void *out, const char *what)
{
  return out ? STREAM_OK : stream__err(STREAM_EINVAL, "%s is NULL", what);
}

int stream_catalog_new(stream_catalog **out, const stream_catalog_options *opts)
{
  TRY(check_out(out, "out"));
  *out = NULL;
  if (!opts)
    return stream__err(STREAM_EINVAL, "catalog options are NULL");
  if (opts->version != STREAM_CATALOG_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "catalog options version %u is not supported (expected %d)",
                       opts->version, STREAM_CATALOG_OPTIONS_VERSION);
  if (!opts->store)
    return stream__err(STREAM_EINVAL, "catalog options: store is NULL");
  stream_catalog *c = stream__calloc(1, sizeof *c);
  if (!c)
    return STREAM_ENOMEM;
  c->store = opts->store;
  c->clock = opts->clock;
  c->clock_userdata = opts->clock_userdata;
  c->dcache = stream__calloc(CAT_DCACHE_SLOTS, sizeof *c->dcache);
  if (!c->dcache) {
    stream_free(c);
    return STREAM_ENOMEM;
  }
  atomic_init(&c->gen, 1);
  if (pthread_mutex_init(&c->dlock, NULL) != 0) {
    stream_free(c->dcache);
    stream_free(c);
    return stream__err(STREAM_ENOMEM, "catalog: cannot create the detail cache lock");
  }
  *out = c;
  return STREAM_OK;
}

static void dentry_clear(cat_dentry *e)
{
  stream_store_strings_free(e->regions, e->region_count);
  stream_free(e->json);
  memset(e, 0, sizeof *e);
}

void stream_catalog_free(stream_catalog *c)
{
  if (!c)
    return;
  for (size_t i = 0; i < CAT_DCACHE_SLOTS; i++)
    dentry_clear(&c->dcache[i]);
  stream_free(c->dcache);
  pthread_mutex_destroy(&c->dlock);
  stream_free(c);
}

/* ---- detail cache (see cat_dentry) --------------------------------------- */

void cat_invalidate(stream_catalog *c)
{
  atomic_fetch_add(&c->gen, 1);
}

static cat_dentry *dslot(stream_catalog *c, const char *id)
{
  uint32_t h = 2166136261u;
  for (const unsigned char *p = (const unsigned char *)id; *p; p++)
    h = (h ^ *p) * 16777619u;
  return &c->dcache[h % CAT_DCACHE_SLOTS];
}

enum { DC_MISS = 0, DC_HIT = 1, DC_HIDDEN = 2 };

/* Look `id` up: DC_HIT with *out set (a copy), DC_HIDDEN when the cached title
 * fails the viewer filter `f` (NULL = operator) at `now`, DC_MISS otherwise.
 * Negative: STREAM_ENOMEM. */
static int dcache_get(char **out, stream_catalog *c, const char *id, const cat_filter *f,
                      int64_t now)
{
  int64_t t = stream__mono_ms();
  uint64_t gen = atomic_load(&c->gen);
  cat_dentry *e = dslot(c, id);
  int r = DC_MISS;
  pthread_mutex_lock(&c->dlock);
  if (e->json && e->gen == gen && t >= e->loaded_ms && t - e->loaded_ms < CAT_DCACHE_TTL_MS &&
      strcmp(e->id, id) == 0) {
    stream_store_title stub;
    memset(&stub, 0, sizeof stub);
    stub.maturity_rating = e->maturity_rating;
    stub.available_from = e->available_from;
    stub.available_until = e->available_until;
    stub.regions = e->regions;
    stub.region_count = e->region_count;
    if (f && !cat_visible(&stub, f, now)) {
      r = DC_HIDDEN;
    } else {
      *out = stream__strndup(e->json, e->json_len);
      r = *out ? DC_HIT : stream__err(STREAM_ENOMEM, "out of memory");
    }
  }
  pthread_mutex_unlock(&c->dlock);
  return r;
}

/* Remember the rendered detail of `t` read at generation `gen`. Best effort:
 * nothing happens when out of memory, when the JSON is too large, or when a
 * write happened since `gen` was read. */
static void dcache_put(stream_catalog *c, const stream_store_title *t, const char *json,
                       uint64_t gen)
{
  size_t len = strlen(json);
  if (len > CAT_DCACHE_JSON_MAX)
    return;
  cat_dentry n;
  memset(&n, 0, sizeof n);
  memcpy(n.id, t->id, sizeof n.id);
  n.gen = gen;
  n.loaded_ms = stream__mono_ms();
  n.maturity_rating = t->maturity_rating;
  n.available_from = t->available_from;
  n.available_until = t->available_until;
  n.json = stream__strndup(json, len);
  n.json_len = len;
  if (t->region_count) {
    n.regions = stream__calloc(t->region_count, sizeof *n.regions);
    for (size_t i = 0; n.regions && i < t->region_count; i++) {
      n.regions[i] = stream__strdup(t->regions[i]);
      if (!n.regions[i])
        break;
      n.region_count++;
    }
  }
  if (!n.json || n.region_count != t->region_count) {
    dentry_clear(&n);
    stream_error_clear(); /* the read itself succeeded */
    return;
  }
  cat_dentry *e = dslot(c, t->id);
  pthread_mutex_lock(&c->dlock);
  if (gen == atomic_load(&c->gen)) {
    cat_dentry old = *e;
    *e = n;
    n = old;
  }
  pthread_mutex_unlock(&c->dlock);
  dentry_clear(&n);
}

/* ---- viewers ------------------------------------------------------------ */

static int check_region(const char *r)
{
  size_t n = strnlen(r, STREAM_STORE_REGION_MAX + 1);
  if (n > STREAM_STORE_REGION_MAX)
    return stream__err(STREAM_EINVAL, "viewer region is longer than %d characters",
                       STREAM_STORE_REGION_MAX);
  for (size_t i = 0; i < n; i++)
    if (!((r[i] >= 'A' && r[i] <= 'Z') || (r[i] >= '0' && r[i] <= '9')))
      return stream__err(STREAM_EINVAL, "viewer region must be uppercase letters or digits");
  return STREAM_OK;
}

int cat_check_id(const char *what, const char *id)
{
  if (!id || !id[0])
    return stream__err(STREAM_EINVAL, "%s is %s", what, id ? "empty" : "NULL");
  size_t n = strnlen(id, STREAM_STORE_ID_MAX + 1);
  if (n > STREAM_STORE_ID_MAX)
    return stream__err(STREAM_EINVAL, "%s is longer than %d characters", what, STREAM_STORE_ID_MAX);
  for (size_t i = 0; i < n; i++) {
    char ch = id[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '-' || ch == '_'))
      return stream__err(STREAM_EINVAL, "%s has an invalid character at offset %zu", what, i);
  }
  return STREAM_OK;
}

int cat_filter_from_viewer(cat_filter *f, const stream_catalog_viewer *v, bool need_profile)
{
  f->ceiling = INT_MAX;
  f->region = NULL;
  if (!v) {
    if (need_profile)
      return stream__err(STREAM_EINVAL, "viewer is NULL");
    return STREAM_OK;
  }
  if (v->version != STREAM_CATALOG_VIEWER_VERSION)
    return stream__err(STREAM_EINVAL, "viewer version %u is not supported (expected %d)",
                       v->version, STREAM_CATALOG_VIEWER_VERSION);
  /* Above the highest rating simply means "everything" (profiles may store larger values). */
  if (v->maturity_ceiling < 0)
    return stream__err(STREAM_EINVAL, "viewer maturity_ceiling %d is negative",
                       v->maturity_ceiling);
  if (v->kids != 0 && v->kids != 1)
    return stream__err(STREAM_EINVAL, "viewer kids must be 0 or 1, not %d", v->kids);
  if (need_profile || (v->profile_id && v->profile_id[0]))
    TRY(cat_check_id("viewer profile_id", v->profile_id));
  if (v->region && v->region[0]) {
    TRY(check_region(v->region));
    f->region = v->region;
  }
  f->ceiling = v->maturity_ceiling;
  if (v->kids && f->ceiling > STREAM_CATALOG_KIDS_CEILING)
    f->ceiling = STREAM_CATALOG_KIDS_CEILING;
  return STREAM_OK;
}

bool cat_visible(const stream_store_title *t, const cat_filter *f, int64_t now)
{
  if (t->maturity_rating > f->ceiling)
    return false;
  if (t->available_from && t->available_from > now)
    return false;
  if (t->available_until && t->available_until <= now)
    return false;
  if (f->region && t->region_count) {
    for (size_t i = 0; i < t->region_count; i++)
      if (stream__region_matches(t->regions[i], f->region))
        return true;
    return false;
  }
  return true;
}

int stream_catalog_viewer_for_profile(stream_catalog_viewer *out, stream_catalog *c,
                                      const char *profile_id, const char *region)
{
  TRY(check_out(out, "out"));
  stream_catalog_viewer init = STREAM_CATALOG_VIEWER_INIT;
  *out = init;
  TRY(cat_check_handle(c));
  TRY(cat_check_id("profile id", profile_id));
  if (region && region[0])
    TRY(check_region(region));
  stream_store_profile p;
  TRY(stream_store_profile_get(&p, c->store, profile_id));
  out->profile_id = profile_id;
  out->region = region;
  out->kids = p.kids ? 1 : 0;
  out->maturity_ceiling = p.maturity_ceiling > STREAM_CATALOG_MATURITY_MAX
                              ? STREAM_CATALOG_MATURITY_MAX
                              : p.maturity_ceiling;
  return STREAM_OK;
}

/* ---- reads -------------------------------------------------------------- */

int stream_catalog_title_get(char **out_json, stream_catalog *c, const char *id,
                             const stream_catalog_viewer *viewer)
{
  TRY(check_out(out_json, "out_json"));
  *out_json = NULL;
  TRY(cat_check_handle(c));
  TRY(cat_check_id("title id", id));
  cat_filter f;
  TRY(cat_filter_from_viewer(&f, viewer, false));
  int64_t now = viewer ? cat_now(c) : 0;
  int r = dcache_get(out_json, c, id, viewer ? &f : NULL, now);
  if (r < 0)
    return r;
  if (r == DC_HIT)
    return STREAM_OK;
  if (r == DC_HIDDEN)
    return stream__err(STREAM_ENOTFOUND, "no title with id %s", id);
  /* The generation before the read: a write that lands during the read
   * bumps it, so what we read is never cached as current. */
  uint64_t gen = atomic_load(&c->gen);
  stream_store_title_detail d;
  TRY(stream_store_title_get_detail(&d, c->store, id));
  if (viewer && !cat_visible(&d.title, &f, now)) {
    stream_store_title_detail_clear(&d);
    return stream__err(STREAM_ENOTFOUND, "no title with id %s", id);
  }
  cJSON *o = cat_render_detail(&d);
  int rc = cat_print(out_json, o);
  if (rc == STREAM_OK)
    dcache_put(c, &d.title, *out_json, gen);
  stream_store_title_detail_clear(&d);
  return rc;
}

static int fill_query(stream_store_title_query *q, const cat_filter *f, unsigned int limit,
                      int64_t now)
{
  stream_store_title_query init = STREAM_STORE_TITLE_QUERY_INIT;
  *q = init;
  if (limit == 0)
    limit = STREAM_CATALOG_DEFAULT_LIMIT;
  if (limit > STREAM_STORE_PAGE_MAX)
    return stream__err(STREAM_EINVAL, "limit %u is outside 1..%d", limit, STREAM_STORE_PAGE_MAX);
  q->limit = limit;
  q->maturity_ceiling = f->ceiling;
  q->region = f->region;
  q->now = now;
  q->sort = STREAM_STORE_SORT_NAME;
  return STREAM_OK;
}

static cJSON *render_items(const stream_store_title_page *p)
{
  cJSON *items = cJSON_CreateArray();
  for (size_t i = 0; items && i < p->count; i++) {
    cJSON *t = cat_render_title(&p->items[i]);
    if (!t || !cJSON_AddItemToArray(items, t)) {
      cJSON_Delete(t);
      cJSON_Delete(items);
      return NULL;
    }
  }
  if (!items)
    stream__err(STREAM_ENOMEM, "out of memory");
  return items;
}

int stream_catalog_browse(char **out_json, stream_catalog *c, const char *genre, const char *cursor,
                          unsigned int limit, const stream_catalog_viewer *viewer)
{
  TRY(check_out(out_json, "out_json"));
  *out_json = NULL;
  TRY(cat_check_handle(c));
  cat_filter f;
  TRY(cat_filter_from_viewer(&f, viewer, false));
  stream_store_title_query q;
  TRY(fill_query(&q, &f, limit, cat_now(c)));
  if (genre && genre[0]) {
    if (!stream__utf8_valid(genre, strnlen(genre, STREAM_STORE_GENRE_MAX + 1)))
      return stream__err(STREAM_EINVAL, "genre is not valid UTF-8");
    q.genre = genre;
  }
  if (cursor && cursor[0])
    q.cursor = cursor;
  stream_store_title_page page;
  TRY(stream_store_title_list(&page, c->store, &q));
  cJSON *root = cJSON_CreateObject();
  cJSON *items = render_items(&page);
  int rc = STREAM_OK;
  if (!root || !items || !cJSON_AddItemToObject(root, "items", items)) {
    cJSON_Delete(items);
    rc = stream__err(STREAM_ENOMEM, "out of memory");
  } else if (!(page.next_cursor ? cJSON_AddStringToObject(root, "next_cursor", page.next_cursor)
                                : cJSON_AddNullToObject(root, "next_cursor"))) {
    rc = stream__err(STREAM_ENOMEM, "out of memory");
  }
  stream_store_title_page_clear(&page);
  if (rc) {
    cJSON_Delete(root);
    return rc;
  }
  return cat_print(out_json, root);
}

int stream_catalog_search(char **out_json, stream_catalog *c, const char *query, unsigned int limit,
                          const stream_catalog_viewer *viewer)
{
  TRY(check_out(out_json, "out_json"));
  *out_json = NULL;
  TRY(cat_check_handle(c));
  if (!query)
    return stream__err(STREAM_EINVAL, "search query is NULL");
  size_t n = strnlen(query, STREAM_STORE_SEARCH_MAX + 1);
  if (n > STREAM_STORE_SEARCH_MAX)
    return stream__err(STREAM_EINVAL, "search query is longer than %d bytes",
                       STREAM_STORE_SEARCH_MAX);
  if (!stream__utf8_valid(query, n))
    return stream__err(STREAM_EINVAL, "search query is not valid UTF-8");
  cat_filter f;
  TRY(cat_filter_from_viewer(&f, viewer, false));
  stream_store_title_query q;
  TRY(fill_query(&q, &f, limit, cat_now(c)));
  stream_store_title_page page;
  TRY(stream_store_title_search(&page, c->store, query, &q));
  cJSON *root = cJSON_CreateObject();
  cJSON *items = render_items(&page);
  stream_store_title_page_clear(&page);
  if (!root || !items || !cJSON_AddStringToObject(root, "query", query) ||
      !cJSON_AddItemToObject(root, "items", items)) {
    if (!root || !cJSON_GetObjectItemCaseSensitive(root, "items"))
      cJSON_Delete(items);
    cJSON_Delete(root);
    return stream__err(STREAM_ENOMEM, "out of memory");
  }
  return cat_print(out_json, root);
}

/* {"genres":[g...]} from a store list, which is freed. */
static int render_genres(char **out_json, char **g, size_t n)
{
  cJSON *root = cJSON_CreateObject();
  cJSON *arr = root ? cJSON_AddArrayToObject(root, "genres") : NULL;
  bool ok = arr != NULL;
  for (size_t i = 0; ok && i < n; i++) {
    cJSON *s = cJSON_CreateString(g[i]);
    ok = s && cJSON_AddItemToArray(arr, s);
    if (!ok)
      cJSON_Delete(s);
  }
  stream_store_strings_free(g, n);
  if (!ok) {
    cJSON_Delete(root);
    return stream__err(STREAM_ENOMEM, "out of memory");
  }
  return cat_print(out_json, root);
}

int stream_catalog_genres(char **out_json, stream_catalog *c)
{
  TRY(check_out(out_json, "out_json"));
  *out_json = NULL;
  TRY(cat_check_handle(c));
  char **g = NULL;
  size_t n = 0;
  TRY(stream_store_genre_list(&g, &n, c->store));
  return render_genres(out_json, g, n);
}

int stream_catalog_genres_for(char **out_json, stream_catalog *c,
                              const stream_catalog_viewer *viewer)
{
  TRY(check_out(out_json, "out_json"));
  *out_json = NULL;
  TRY(cat_check_handle(c));
  cat_filter f;
  TRY(cat_filter_from_viewer(&f, viewer, false));
  stream_store_title_query q;
  TRY(fill_query(&q, &f, 0, cat_now(c)));
  char **g = NULL;
  size_t n = 0;
  TRY(stream_store_genre_list_visible(&g, &n, c->store, &q));
  return render_genres(out_json, g, n);
}

/* ---- resume positions --------------------------------------------------- */

int stream_catalog_progress_put(stream_catalog *c, const char *profile_id, const char *title_id,
                                const char *episode_id, int64_t position_s, int64_t duration_s)
{
  TRY(cat_check_handle(c));
  TRY(cat_check_id("profile id", profile_id));
  TRY(cat_check_id("title id", title_id));
  bool has_ep = episode_id && episode_id[0];
  if (has_ep)
    TRY(cat_check_id("episode id", episode_id));
  if (duration_s < 1 || duration_s > CAT_DURATION_MAX)
    return stream__err(STREAM_EINVAL, "duration_s %lld is outside 1..%d", (long long)duration_s,
                       CAT_DURATION_MAX);
  if (position_s < 0 || position_s > duration_s)
    return stream__err(STREAM_EINVAL, "position_s %lld is outside 0..duration_s (%lld)",
                       (long long)position_s, (long long)duration_s);
  stream_store_title_detail d;
  TRY(stream_store_title_get_detail(&d, c->store, title_id));
  int rc = STREAM_OK;
  if (d.title.kind == STREAM_STORE_TITLE_MOVIE && has_ep) {
    rc = stream__err(STREAM_EINVAL, "title %s is a movie: episode_id must be empty", title_id);
  } else if (d.title.kind == STREAM_STORE_TITLE_SERIES && !has_ep) {
    rc = stream__err(STREAM_EINVAL, "title %s is a series: episode_id is required", title_id);
  } else if (has_ep) {
    bool found = false;
    for (size_t i = 0; i < d.season_count && !found; i++)
      for (size_t k = 0; k < d.seasons[i].episode_count && !found; k++)
        found = strcmp(d.seasons[i].episodes[k].id, episode_id) == 0;
    if (!found)
      rc = stream__err(STREAM_ENOTFOUND, "title %s has no episode %s", title_id, episode_id);
  }
  stream_store_title_detail_clear(&d);
  if (rc)
    return rc;
  stream_store_progress p;
  memset(&p, 0, sizeof p);
  memcpy(p.profile_id, profile_id, strlen(profile_id) + 1);
  memcpy(p.title_id, title_id, strlen(title_id) + 1);
  if (has_ep)
    memcpy(p.episode_id, episode_id, strlen(episode_id) + 1);
  p.position_ms = position_s * 1000;
  p.duration_ms = duration_s * 1000;
  return stream_store_progress_upsert(c->store, &p, cat_now(c));
}

/* The visible title `id` rendered, or NULL (hidden or gone) with *rc OK. */
static cJSON *visible_title(int *rc, stream_catalog *c, const char *id, const cat_filter *f,
                            int64_t now)
{
  stream_store_title t;
  *rc = stream_store_title_get(&t, c->store, id);
  if (*rc == STREAM_ENOTFOUND) {
    stream_error_clear();
    *rc = STREAM_OK;
    return NULL;
  }
  if (*rc)
    return NULL;
  cJSON *o = NULL;
  if (cat_visible(&t, f, now)) {
    o = cat_render_title(&t);
    if (!o)
      *rc = STREAM_ENOMEM;
  }
  stream_store_title_clear(&t);
  return o;
}

int stream_catalog_continue_watching(char **out_json, stream_catalog *c,
                                     const stream_catalog_viewer *viewer, unsigned int limit)
{
  TRY(check_out(out_json, "out_json"));
  *out_json = NULL;
  TRY(cat_check_handle(c));
  cat_filter f;
  TRY(cat_filter_from_viewer(&f, viewer, true));
  if (limit == 0)
    limit = STREAM_CATALOG_DEFAULT_LIMIT;
  if (limit > STREAM_STORE_PAGE_MAX)
    return stream__err(STREAM_EINVAL, "limit %u is outside 1..%d", limit, STREAM_STORE_PAGE_MAX);
  stream_store_progress *rows = NULL;
  size_t n = 0;
  /* Ask for a full page: some rows may be filtered out below. */
  TRY(stream_store_continue_watching(&rows, &n, c->store, viewer->profile_id,
                                     STREAM_STORE_PAGE_MAX));
  int64_t now = cat_now(c);
  cJSON *root = cJSON_CreateObject();
  cJSON *items = root ? cJSON_AddArrayToObject(root, "items") : NULL;
  int rc = items ? STREAM_OK : stream__err(STREAM_ENOMEM, "out of memory");
  unsigned int count = 0;
  for (size_t i = 0; rc == STREAM_OK && i < n && count < limit; i++) {
    cJSON *t = visible_title(&rc, c, rows[i].title_id, &f, now);
    if (!t)
      continue;
    cJSON *it = cJSON_CreateObject();
    if (!it || !cJSON_AddItemToArray(items, it)) {
      cJSON_Delete(it);
      cJSON_Delete(t);
      rc = stream__err(STREAM_ENOMEM, "out of memory");
      break;
    }
    double progress =
        rows[i].duration_ms > 0 ? (double)rows[i].position_ms / (double)rows[i].duration_ms : 0.0;
    if (!cJSON_AddItemToObject(it, "title", t) ||
        !(rows[i].episode_id[0] ? cJSON_AddStringToObject(it, "episode_id", rows[i].episode_id)
                                : cJSON_AddNullToObject(it, "episode_id")) ||
        !cJSON_AddNumberToObject(it, "position_s", (double)(rows[i].position_ms / 1000)) ||
        !cJSON_AddNumberToObject(it, "duration_s", (double)(rows[i].duration_ms / 1000)) ||
        !cJSON_AddNumberToObject(it, "progress", (double)(long)(progress * 1000.0) / 1000.0) ||
        !cJSON_AddNumberToObject(it, "updated_at", (double)rows[i].updated_at))
      rc = stream__err(STREAM_ENOMEM, "out of memory");
    count++;
  }
  stream_free(rows);
  if (rc) {
    cJSON_Delete(root);
    return rc;
  }
  return cat_print(out_json, root);
}

/* ---- My List ------------------------------------------------------------ */

int stream_catalog_mylist_add(stream_catalog *c, const char *profile_id, const char *title_id)
{
  TRY(cat_check_handle(c));
  TRY(cat_check_id("profile id", profile_id));
  TRY(cat_check_id("title id", title_id));
  return stream_store_mylist_add(c->store, profile_id, title_id, cat_now(c));
}

int stream_catalog_mylist_remove(stream_catalog *c, const char *profile_id, const char *title_id)
{
  TRY(cat_check_handle(c));
  TRY(cat_check_id("profile id", profile_id));
  TRY(cat_check_id("title id", title_id));
  return stream_store_mylist_remove(c->store, profile_id, title_id);
}

int stream_catalog_mylist_list(char **out_json, stream_catalog *c,
                               const stream_catalog_viewer *viewer)
{
  TRY(check_out(out_json, "out_json"));
  *out_json = NULL;
  TRY(cat_check_handle(c));
  cat_filter f;
  TRY(cat_filter_from_viewer(&f, viewer, true));
  stream_store_mylist_item *rows = NULL;
  size_t n = 0;
  TRY(stream_store_mylist_list(&rows, &n, c->store, viewer->profile_id));
  int64_t now = cat_now(c);
  cJSON *root = cJSON_CreateObject();
  cJSON *items = root ? cJSON_AddArrayToObject(root, "items") : NULL;
  int rc = items ? STREAM_OK : stream__err(STREAM_ENOMEM, "out of memory");
  for (size_t i = 0; rc == STREAM_OK && i < n; i++) {
    cJSON *t = visible_title(&rc, c, rows[i].title_id, &f, now);
    if (!t)
      continue;
    cJSON *it = cJSON_CreateObject();
    if (!it || !cJSON_AddItemToArray(items, it)) {
      cJSON_Delete(it);
      cJSON_Delete(t);
      rc = stream__err(STREAM_ENOMEM, "out of memory");
      break;
    }
    if (!cJSON_AddItemToObject(it, "title", t) ||
        !cJSON_AddNumberToObject(it, "added_at", (double)rows[i].added_at))
      rc = stream__err(STREAM_ENOMEM, "out of memory");
  }
  stream_free(rows);
  if (rc) {
    cJSON_Delete(root);
    return rc;
  }
  return cat_print(out_json, root);
}
