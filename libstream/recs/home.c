/*
 * recs: the home screen of a profile (stream_recs_home): continue watching
 * and My List from the catalog, top picks (ALS folded in from the profile's
 * fresh history, popularity when cold), "because you watched" (item
 * neighbours of the most recent titles), trending (popularity), with the
 * viewer's filters applied while scoring (the keep callback over the served
 * holder's title attributes) and again by the catalog when rendering. See
 * service.c for the signals and the served model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../core/m49.h"
#include "../core/core.h"
#include "service_internal.h"
#include "stream/catalog.h"

#define RECS_DEFAULT_PER_ROW 20
#define RECS_BYW_ROWS 2

/* Per-item flags of the profile (by model item index). */
enum {
  F_HISTORY = 1,  /* in the fresh history: not in top picks / because you watched */
  F_EXCLUDED = 2, /* finished or thumbs down: in no recommendation row */
};

typedef struct home_ctx {
  const recs_served *h;
  uint8_t *flags;
  uint8_t mask; /* flags that leave an item out of the row being built */
  int ceiling;
  const char *region; /* NULL = none */
  int64_t now;
} home_ctx;

/* Whether the title's comma-joined regions hold one for a viewer in `region`: the catalog's rule
 * (core/m49.h: the same code, or a UN M49 area containing the viewer's country). */
static int region_listed(const char *list, const char *region)
{
  for (const char *p = list; *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    char code[STREAM_STORE_REGION_MAX + 1];
    if (len < sizeof code) {
      memcpy(code, p, len);
      code[len] = '\0';
      if (stream__region_matches(code, region))
        return 1;
    }
    if (!e)
      break;
    p = e + 1;
  }
  return 0;
}

static int keep_item(void *userdata, const char *item)
{
  const home_ctx *x = userdata;
  int64_t i = recs__strtab_find(&x->h->model->items, item);
  if (i < 0 || x->h->by_item[i] < 0 || (x->flags[i] & x->mask))
    return 0;
  const store__recs_title *t = &x->h->titles[x->h->by_item[i]];
  if (t->maturity_rating > x->ceiling)
    return 0;
  if (t->available_from && t->available_from > x->now)
    return 0;
  if (t->available_until && t->available_until <= x->now)
    return 0;
  if (x->region && t->regions && t->regions[0] && !region_listed(t->regions, x->region))
    return 0;
  return 1;
}

/* The "items" array of a service's {"items":[..]} answer (detached), NULL on failure. */
static cJSON *take_items(char *json, size_t limit)
{
  cJSON *o = json ? cJSON_Parse(json) : NULL;
  stream_free(json);
  cJSON *items = o ? cJSON_DetachItemFromObjectCaseSensitive(o, "items") : NULL;
  cJSON_Delete(o);
  if (items && !cJSON_IsArray(items)) {
    cJSON_Delete(items);
    return NULL;
  }
  while (items && (size_t)cJSON_GetArraySize(items) > limit)
    cJSON_DeleteItemFromArray(items, cJSON_GetArraySize(items) - 1);
  return items;
}

/* Add a row {"id","name",("source_title_id"),"items"} to `rows` unless `items` is empty.
 * Takes `items`. */
static int add_row(cJSON *rows, const char *id, const char *name, const char *source, cJSON *items)
{
  if (!items)
    return stream__err(STREAM_ENOMEM, "out of memory");
  if (cJSON_GetArraySize(items) == 0) {
    cJSON_Delete(items);
    return STREAM_OK;
  }
  cJSON *row = cJSON_CreateObject();
  if (!row || !cJSON_AddItemToArray(rows, row)) {
    cJSON_Delete(row);
    cJSON_Delete(items);
    return stream__err(STREAM_ENOMEM, "out of memory");
  }
  if (!cJSON_AddStringToObject(row, "id", id) || !cJSON_AddStringToObject(row, "name", name) ||
      (source && !cJSON_AddStringToObject(row, "source_title_id", source))) {
    cJSON_Delete(items);
    return stream__err(STREAM_ENOMEM, "out of memory");
  }
  if (!cJSON_AddItemToObject(row, "items", items)) {
    cJSON_Delete(items);
    return stream__err(STREAM_ENOMEM, "out of memory");
  }
  return STREAM_OK;
}

/* Render recommended items as catalog title objects (filtered again by the catalog). */
static int render_items(cJSON **out, stream_recs *r, const stream_catalog_viewer *viewer,
                        const stream_recs_item *items, size_t n)
{
  *out = NULL;
  if (n == 0) {
    *out = cJSON_CreateArray();
    return *out ? STREAM_OK : stream__err(STREAM_ENOMEM, "out of memory");
  }
  const char *ids[STREAM_RECS_ROW_MAX];
  for (size_t i = 0; i < n; i++)
    ids[i] = items[i].id;
  char *json = NULL;
  int rc = stream_catalog_titles_get(&json, r->catalog, ids, n, viewer);
  if (rc != STREAM_OK)
    return rc;
  *out = take_items(json, n);
  return *out ? STREAM_OK : stream__err(STREAM_EIO, "recs: unexpected catalog answer");
}

typedef struct history {
  const char **items;
  double *r;
  size_t n;
  /* up to RECS_BYW_ROWS watched titles, most recent first */
  const char *recent[RECS_BYW_ROWS];
  size_t recent_count;
} history;

static int cmp_recent(const void *a, const void *b)
{
  const store__recs_signal *x = *(const store__recs_signal *const *)a;
  const store__recs_signal *y = *(const store__recs_signal *const *)b;
  if (x->last_ts != y->last_ts)
    return x->last_ts > y->last_ts ? -1 : 1;
  return strcmp(x->title_id, y->title_id);
}

/* The profile's fresh history (and flags) from its signals. */
static int build_history(history *hi, const recs_served *h, uint8_t *flags,
                         const store__recs_signal *sig, size_t ns)
{
  memset(hi, 0, sizeof *hi);
  hi->items = stream__calloc(ns ? ns : 1, sizeof *hi->items);
  hi->r = stream__calloc(ns ? ns : 1, sizeof *hi->r);
  const store__recs_signal **watched = stream__calloc(ns ? ns : 1, sizeof *watched);
  if (!hi->items || !hi->r || !watched) {
    stream_free(watched);
    return STREAM_ENOMEM;
  }
  size_t nw = 0;
  for (size_t i = 0; i < ns; i++) {
    const store__recs_signal *s = &sig[i];
    int64_t ix = recs__strtab_find(&h->model->items, s->title_id);
    const store__recs_title *t = ix >= 0 && h->by_item[ix] >= 0 ? &h->titles[h->by_item[ix]] : NULL;
    if (ix >= 0) {
      flags[ix] |= F_HISTORY;
      if (s->rating < 0 || (recs__completed(s) && !recs__is_series(t)))
        flags[ix] |= F_EXCLUDED;
    }
    double v = recs__strength(s, t);
    if (v < 0)
      continue;
    hi->items[hi->n] = s->title_id;
    hi->r[hi->n] = v;
    hi->n++;
    if (s->views > 0 || s->watch_ms > 0 || s->progress_rows > 0)
      watched[nw++] = s;
  }
  qsort(watched, nw, sizeof *watched, cmp_recent);
  for (size_t i = 0; i < nw && hi->recent_count < RECS_BYW_ROWS; i++)
    hi->recent[hi->recent_count++] = watched[i]->title_id;
  stream_free(watched);
  return STREAM_OK;
}

static void history_clear(history *hi)
{
  stream_free(hi->items);
  stream_free(hi->r);
  memset(hi, 0, sizeof *hi);
}

/* Continue watching or My List: the catalog's own row, cut to `per_row`. */
static int catalog_row(cJSON *rows, stream_recs *r, const stream_catalog_viewer *viewer,
                       unsigned int per_row, int mylist)
{
  char *json = NULL;
  int rc = mylist ? stream_catalog_mylist_list(&json, r->catalog, viewer)
                  : stream_catalog_continue_watching(&json, r->catalog, viewer, per_row);
  if (rc == STREAM_ENOTFOUND) /* an unknown profile: no row */
    return STREAM_OK;
  if (rc != STREAM_OK)
    return rc;
  cJSON *items = take_items(json, per_row);
  if (!items)
    return stream__err(STREAM_EIO, "recs: unexpected catalog answer");
  return add_row(rows, mylist ? "my_list" : "continue_watching",
                 mylist ? "My List" : "Continue watching", NULL, items);
}

/* A row of the model's top `per_row` for query `q` (k and filter set here), rendered. */
static int scored_row(cJSON *rows, const char *id, const char *name, stream_recs_query *q,
                      stream_recs *r, const stream_catalog_viewer *viewer, home_ctx *x,
                      stream_recs_item *buf, size_t per_row)
{
  q->k = per_row;
  q->keep = keep_item;
  q->keep_userdata = x;
  size_t n = 0;
  cJSON *row = NULL;
  int rc = stream_recs_recommend(buf, &n, NULL, x->h->model, q);
  if (rc == STREAM_OK)
    rc = render_items(&row, r, viewer, buf, n);
  if (rc == STREAM_OK)
    rc = add_row(rows, id, name, NULL, row);
  return rc;
}

/* "Because you watched <name>" rows. */
static int byw_rows(cJSON *rows, stream_recs *r, const stream_catalog_viewer *viewer, home_ctx *x,
                    const history *hi, stream_recs_item *buf, size_t per_row)
{
  for (size_t s = 0; s < hi->recent_count; s++) {
    const char *src = hi->recent[s];
    char *json = NULL;
    int rc = stream_catalog_titles_get(&json, r->catalog, &src, 1, viewer);
    if (rc != STREAM_OK)
      return rc;
    cJSON *one = take_items(json, 1);
    if (!one)
      return stream__err(STREAM_EIO, "recs: unexpected catalog answer");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(one, 0), "name");
    char label[512] = "";
    if (cJSON_IsString(name))
      snprintf(label, sizeof label, "Because you watched %s", name->valuestring);
    cJSON_Delete(one);
    if (!label[0]) /* the source title is hidden from this viewer now */
      continue;
    size_t n = 0;
    x->mask = F_HISTORY | F_EXCLUDED;
    rc = stream_recs_similar(buf, &n, x->h->model, src, per_row, keep_item, x);
    if (rc == STREAM_ENOTFOUND)
      continue;
    cJSON *items = NULL;
    if (rc == STREAM_OK)
      rc = render_items(&items, r, viewer, buf, n);
    if (rc == STREAM_OK)
      rc = add_row(rows, "because_you_watched", label, src, items);
    if (rc != STREAM_OK)
      return rc;
  }
  return STREAM_OK;
}

static int model_rows(cJSON *rows, stream_recs *r, const stream_catalog_viewer *viewer,
                      const recs_served *h, unsigned int per_row)
{
  store__recs_signal *sig = NULL;
  size_t ns = 0;
  size_t items = h->model->items.count;
  uint8_t *flags = stream__calloc(items ? items : 1, 1);
  stream_recs_item *buf = stream__calloc(per_row, sizeof *buf);
  history hi;
  memset(&hi, 0, sizeof hi);
  int rc = flags && buf ? STREAM_OK : STREAM_ENOMEM;
  if (rc == STREAM_OK)
    rc = recs__store_signals(&sig, &ns, r, viewer->profile_id);
  if (rc == STREAM_OK)
    rc = build_history(&hi, h, flags, sig, ns);
  home_ctx x;
  memset(&x, 0, sizeof x);
  x.h = h;
  x.flags = flags;
  x.ceiling = viewer->maturity_ceiling;
  if (viewer->kids && x.ceiling > STREAM_CATALOG_KIDS_CEILING)
    x.ceiling = STREAM_CATALOG_KIDS_CEILING;
  x.region = viewer->region && viewer->region[0] ? viewer->region : NULL;
  x.now = recs__svc_now(r);

  /* Top picks: ALS on the fresh history (popularity when there is none). */
  if (rc == STREAM_OK) {
    stream_recs_query q = STREAM_RECS_QUERY_INIT;
    q.method = STREAM_RECS_ALS;
    q.user = hi.n ? viewer->profile_id : NULL;
    q.history_items = hi.n ? hi.items : NULL;
    q.history_r = hi.n ? hi.r : NULL;
    q.history_count = hi.n;
    x.mask = F_HISTORY | F_EXCLUDED;
    rc = scored_row(rows, "top_picks", "Top picks for you", &q, r, viewer, &x, buf, per_row);
  }
  if (rc == STREAM_OK)
    rc = byw_rows(rows, r, viewer, &x, &hi, buf, per_row);
  /* Trending: popularity, without the profile's finished and thumbs-down titles. */
  if (rc == STREAM_OK) {
    stream_recs_query q = STREAM_RECS_QUERY_INIT;
    q.method = STREAM_RECS_POPULAR;
    x.mask = F_EXCLUDED;
    rc = scored_row(rows, "trending", "Trending now", &q, r, viewer, &x, buf, per_row);
  }
  history_clear(&hi);
  free(sig);
  stream_free(flags);
  stream_free(buf);
  return rc;
}

int stream_recs_home(char **out_json, stream_recs *r, const stream_catalog_viewer *viewer,
                     unsigned int per_row)
{
  if (!out_json)
    return stream__err(STREAM_EINVAL, "out_json is NULL");
  *out_json = NULL;
  if (!r)
    return stream__err(STREAM_EINVAL, "recs service is NULL");
  if (!viewer)
    return stream__err(STREAM_EINVAL, "viewer is NULL");
  if (viewer->version != STREAM_CATALOG_VIEWER_VERSION)
    return stream__err(STREAM_EINVAL, "viewer version %u is not supported (expected %d)",
                       viewer->version, STREAM_CATALOG_VIEWER_VERSION);
  if (!viewer->profile_id || !viewer->profile_id[0])
    return stream__err(STREAM_EINVAL, "home: the viewer has no profile id");
  if (strlen(viewer->profile_id) >= STREAM_STORE_ID_SIZE)
    return stream__err(STREAM_EINVAL, "home: profile id is too long");
  if (viewer->maturity_ceiling < 0)
    return stream__err(STREAM_EINVAL, "viewer maturity_ceiling %d is negative",
                       viewer->maturity_ceiling);
  if (per_row == 0)
    per_row = RECS_DEFAULT_PER_ROW;
  if (per_row > STREAM_RECS_ROW_MAX)
    return stream__err(STREAM_EINVAL, "home: per_row %u is over %d", per_row, STREAM_RECS_ROW_MAX);

  cJSON *root = cJSON_CreateObject();
  cJSON *rows = NULL;
  recs_served *h = recs__served_acquire(r);
  int rc = STREAM_OK;
  if (!root || !cJSON_AddStringToObject(root, "profile_id", viewer->profile_id) ||
      !cJSON_AddNumberToObject(root, "model_version",
                               h ? (double)stream_recs_model_version(h->model) : 0) ||
      !(rows = cJSON_AddArrayToObject(root, "rows")))
    rc = stream__err(STREAM_ENOMEM, "out of memory");
  /* Continue watching, then the model's rows, then My List (the documented order). */
  if (rc == STREAM_OK)
    rc = catalog_row(rows, r, viewer, per_row, 0);
  if (rc == STREAM_OK && h)
    rc = model_rows(rows, r, viewer, h, per_row);
  recs__served_release(r, h);
  if (rc == STREAM_OK)
    rc = catalog_row(rows, r, viewer, per_row, 1);
  char *txt = rc == STREAM_OK ? cJSON_PrintUnformatted(root) : NULL;
  cJSON_Delete(root);
  if (rc != STREAM_OK)
    return rc;
  if (!txt)
    return stream__err(STREAM_ENOMEM, "out of memory");
  *out_json = stream__strdup(txt);
  cJSON_free(txt);
  return *out_json ? STREAM_OK : STREAM_ENOMEM;
}
