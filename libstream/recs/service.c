/*
 * recs: the recommendations service (server feature). Owns the signals of
 * every profile read from the store (store_recs.h), retraining with the
 * model of model.c, persisting the model, the atomic swap of the served model
 * under concurrent readers, and a profile's home-screen rows.
 *
 * Signals. One pair per (profile, title) with strength
 *   r = watched fraction + 1 if completed + 0.5 if in My List + 2 if thumbs up
 * and no pair at all for a thumbs down (nor a pair whose r is 0). The watched
 * fraction (0..1) is
 *   movie:  max(progress_max, watch_ms / (runtime * 60000))
 *   series: max(progress_sum / 3, watch_ms / (3 * runtime * 60000))
 * capped at 1: a series counts as fully watched after about three episodes'
 * worth (runtime is a series' typical episode; an unknown runtime leaves only
 * the resume positions). Completed = a QoE view reached the end, or a resume
 * position at 95 % or more (counted once per pair, not per view).
 *
 * Serving (home.c renders the rows). The served model is a refcounted holder {model, a snapshot of
 * the title attributes used by the filters}. A reader takes a reference under a short mutex and
 * scores without locks; a retrain builds a new holder and swaps it in; whoever drops the last
 * reference frees the old one. A profile's rows use its fresh history from the store (what it did
 * since the last training): ALS folds it in, item-kNN scores "because you watched" from it.
 * Filters: the viewer's maturity ceiling (kids capped), the availability window at the service
 * clock's now, the viewer's region; the profile's finished movies (completed) and thumbs-down
 * titles are never in a recommendation row, and the titles in its history (started, in My List,
 * rated) are not in "top picks" nor "because you watched". A series is never
 * "finished" (new episodes keep it alive). The catalog renders the rows and
 * filters again (stream_catalog_titles_get).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "../core/core.h"
#include "../store/store_recs.h"
#include "recs_internal.h"
#include "service_internal.h"
#include "stream/catalog.h"

#define RECS_COMPLETE 0.95

/* ---- the served model ------------------------------------------------------- */

int64_t recs__svc_now(const stream_recs *r)
{
  return r->clock ? r->clock(r->clock_userdata) : stream__now();
}

static void served_free(recs_served *h)
{
  if (!h)
    return;
  stream_recs_model_free(h->model);
  store__recs_titles_free(h->titles, h->title_count);
  stream_free(h->by_item);
  stream_free(h);
}

recs_served *recs__served_acquire(stream_recs *r)
{
  pthread_mutex_lock(&r->mu);
  recs_served *h = r->cur;
  if (h)
    h->refs++;
  pthread_mutex_unlock(&r->mu);
  return h;
}

void recs__served_release(stream_recs *r, recs_served *h)
{
  if (!h)
    return;
  pthread_mutex_lock(&r->mu);
  int last = --h->refs == 0;
  pthread_mutex_unlock(&r->mu);
  if (last)
    served_free(h);
}

/* Put `h` (one reference: the service's) in service, dropping the old holder's. */
static void served_swap(stream_recs *r, recs_served *h)
{
  pthread_mutex_lock(&r->mu);
  recs_served *old = r->cur;
  r->cur = h;
  r->load_error[0] = '\0';
  pthread_mutex_unlock(&r->mu);
  recs__served_release(r, old);
}

static int cmp_title_ptr(const void *a, const void *b)
{
  const store__recs_title *x = *(const store__recs_title *const *)a;
  const store__recs_title *y = *(const store__recs_title *const *)b;
  return strcmp(x->id, y->id);
}

/* Titles sorted by id (pointers into `t`), for lookups by id. NULL when out of memory. */
static const store__recs_title **titles_index(const store__recs_title *t, size_t n)
{
  const store__recs_title **ix = stream__calloc(n ? n : 1, sizeof *ix);
  if (!ix)
    return NULL;
  for (size_t i = 0; i < n; i++)
    ix[i] = &t[i];
  qsort(ix, n, sizeof *ix, cmp_title_ptr);
  return ix;
}

static const store__recs_title *titles_find(const store__recs_title **ix, size_t n, const char *id)
{
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(ix[mid]->id, id);
    if (c == 0)
      return ix[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* Build a holder for `m` (taken) with `titles` (taken). */
static int served_new(recs_served **out, stream_recs_model *m, store__recs_title *titles,
                      size_t title_count)
{
  *out = NULL;
  recs_served *h = stream__calloc(1, sizeof *h);
  const store__recs_title **ix = titles_index(titles, title_count);
  size_t items = m->items.count;
  int32_t *by_item = stream__calloc(items ? items : 1, sizeof *by_item);
  if (!h || !ix || !by_item) {
    stream_free(h);
    stream_free(ix);
    stream_free(by_item);
    stream_recs_model_free(m);
    store__recs_titles_free(titles, title_count);
    return STREAM_ENOMEM;
  }
  for (size_t i = 0; i < items; i++) {
    const store__recs_title *t = titles_find(ix, title_count, m->items.names[i]);
    by_item[i] = t ? (int32_t)(t - titles) : -1;
  }
  stream_free(ix);
  h->model = m;
  h->titles = titles;
  h->title_count = title_count;
  h->by_item = by_item;
  h->refs = 1;
  *out = h;
  return STREAM_OK;
}

/* ---- store reads ------------------------------------------------------------- */

static int store_titles(store__recs_title **out, size_t *n, stream_recs *r)
{
  *out = NULL;
  *n = 0;
  const struct stream_store_recs_ops *ops = r->store->backend->recs;
  if (!ops || !ops->titles)
    return stream__err(STREAM_ENOTSUP, "recs: this store has no recommendation reads");
  return ops->titles(r->store->impl, out, n);
}

int recs__store_signals(store__recs_signal **out, size_t *n, stream_recs *r, const char *profile_id)
{
  *out = NULL;
  *n = 0;
  const struct stream_store_recs_ops *ops = r->store->backend->recs;
  if (!ops || !ops->signals)
    return stream__err(STREAM_ENOTSUP, "recs: this store has no recommendation reads");
  return ops->signals(r->store->impl, out, n, profile_id);
}

int recs__is_series(const store__recs_title *t)
{
  return t && t->kind == STREAM_STORE_TITLE_SERIES;
}

int recs__completed(const store__recs_signal *s)
{
  return s->ended_views > 0 || s->progress_max >= RECS_COMPLETE;
}

static double watched_fraction(const store__recs_signal *s, const store__recs_title *t)
{
  double runtime_ms = t && t->runtime > 0 ? (double)t->runtime * 60000.0 : 0.0;
  double f;
  if (recs__is_series(t)) {
    f = s->progress_sum / 3.0;
    if (runtime_ms > 0) {
      double w = (double)s->watch_ms / (3.0 * runtime_ms);
      if (w > f)
        f = w;
    }
  } else {
    f = s->progress_max;
    if (runtime_ms > 0) {
      double w = (double)s->watch_ms / runtime_ms;
      if (w > f)
        f = w;
    }
  }
  if (!(f > 0))
    return 0;
  return f > 1 ? 1 : f;
}

/* The strength of a pair, or a negative value when it gives no pair (thumbs down, nothing). */
double recs__strength(const store__recs_signal *s, const store__recs_title *t)
{
  if (s->rating < 0)
    return -1;
  double r = watched_fraction(s, t) + (recs__completed(s) ? 1.0 : 0.0) + (s->in_list ? 0.5 : 0.0) +
             (s->rating > 0 ? 2.0 : 0.0);
  return r > 0 ? r : -1;
}

/* Signals into a new data set; `titles` (may be NULL) receives the titles read. */
static int build_signals(stream_recs_data **out, store__recs_title **out_titles,
                         size_t *out_title_count, stream_recs *r)
{
  *out = NULL;
  store__recs_title *titles = NULL;
  size_t nt = 0;
  store__recs_signal *sig = NULL;
  size_t ns = 0;
  const store__recs_title **ix = NULL;
  stream_recs_data *d = NULL;
  int rc = store_titles(&titles, &nt, r);
  if (rc == STREAM_OK)
    rc = recs__store_signals(&sig, &ns, r, "");
  if (rc == STREAM_OK && !(ix = titles_index(titles, nt)))
    rc = STREAM_ENOMEM;
  if (rc == STREAM_OK)
    rc = stream_recs_data_new(&d);
  for (size_t i = 0; rc == STREAM_OK && i < nt; i++)
    rc = stream_recs_data_add_item(d, titles[i].id);
  for (size_t i = 0; rc == STREAM_OK && i < ns; i++) {
    const store__recs_title *t = titles_find(ix, nt, sig[i].title_id);
    double v = recs__strength(&sig[i], t);
    if (!t || v < 0)
      continue;
    rc = stream_recs_data_add(d, sig[i].profile_id, sig[i].title_id, v,
                              sig[i].last_ts > 0 ? sig[i].last_ts : 0);
  }
  stream_free(ix);
  free(sig);
  if (rc != STREAM_OK) {
    stream_recs_data_free(d);
    store__recs_titles_free(titles, nt);
    return rc;
  }
  *out = d;
  if (out_titles) {
    *out_titles = titles;
    *out_title_count = nt;
  } else {
    store__recs_titles_free(titles, nt);
  }
  return STREAM_OK;
}

int stream_recs_signals(stream_recs_data **out, stream_recs *r)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "out is NULL");
  *out = NULL;
  if (!r)
    return stream__err(STREAM_EINVAL, "recs service is NULL");
  return build_signals(out, NULL, NULL, r);
}

/* ---- create, load, free ----------------------------------------------------- */

/* Serve the model file at start; failures are logged and remembered, not fatal. */
static void load_model(stream_recs *r)
{
  stream_recs_model *m = NULL;
  int rc = stream_recs_model_load(&m, r->model_path);
  if (rc == STREAM_ENOTFOUND)
    return;
  const char *why = NULL;
  if (rc != STREAM_OK) {
    why = stream_error_last()->message;
  } else {
    store__recs_title *titles = NULL;
    size_t nt = 0;
    recs_served *h = NULL;
    uint64_t version = stream_recs_model_version(m);
    rc = store_titles(&titles, &nt, r);
    if (rc != STREAM_OK) {
      stream_recs_model_free(m);
      why = stream_error_last()->message;
    } else if ((rc = served_new(&h, m, titles, nt)) != STREAM_OK) {
      why = "out of memory";
    } else {
      served_swap(r, h);
      r->last_version = version;
      stream__log(STREAM_LOG_INFO, "recs", "serving model version %llu from %s",
                  (unsigned long long)version, r->model_path);
      return;
    }
  }
  pthread_mutex_lock(&r->mu);
  snprintf(r->load_error, sizeof r->load_error, "%s", why ? why : stream_strerror(rc));
  pthread_mutex_unlock(&r->mu);
  stream__log(STREAM_LOG_WARN, "recs", "ignoring the model file %s: %s", r->model_path,
              r->load_error);
}

int stream_recs_new(stream_recs **out, const stream_recs_service_options *opts)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "out is NULL");
  *out = NULL;
  if (!opts)
    return stream__err(STREAM_EINVAL, "recs service options are NULL");
  if (opts->version != STREAM_RECS_SERVICE_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL,
                       "recs service options version %u is not supported (expected %d)",
                       opts->version, STREAM_RECS_SERVICE_OPTIONS_VERSION);
  if (!opts->store)
    return stream__err(STREAM_EINVAL, "recs service options: store is NULL");
  if (!opts->catalog)
    return stream__err(STREAM_EINVAL, "recs service options: catalog is NULL");
  if (opts->model_path && !opts->model_path[0])
    return stream__err(STREAM_EINVAL, "recs service options: model_path is empty");
  stream_recs_options train = STREAM_RECS_OPTIONS_INIT;
  if (opts->train.version != 0) {
    if (opts->train.version != STREAM_RECS_OPTIONS_VERSION)
      return stream__err(STREAM_EINVAL, "recs training options version %u is not supported",
                         opts->train.version);
    train = opts->train;
  }
  stream_recs *r = stream__calloc(1, sizeof *r);
  if (!r)
    return STREAM_ENOMEM;
  r->store = opts->store;
  r->catalog = opts->catalog;
  r->train = train;
  r->clock = opts->clock;
  r->clock_userdata = opts->clock_userdata;
  if (opts->model_path && !(r->model_path = stream__strdup(opts->model_path))) {
    stream_free(r);
    return STREAM_ENOMEM;
  }
  if (pthread_mutex_init(&r->mu, NULL) != 0) {
    stream_free(r->model_path);
    stream_free(r);
    return stream__err(STREAM_ENOMEM, "recs: cannot create a mutex");
  }
  if (pthread_mutex_init(&r->train_mu, NULL) != 0) {
    pthread_mutex_destroy(&r->mu);
    stream_free(r->model_path);
    stream_free(r);
    return stream__err(STREAM_ENOMEM, "recs: cannot create a mutex");
  }
  if (r->model_path)
    load_model(r);
  *out = r;
  return STREAM_OK;
}

void stream_recs_free(stream_recs *r)
{
  if (!r)
    return;
  recs__served_release(r, r->cur);
  pthread_mutex_destroy(&r->train_mu);
  pthread_mutex_destroy(&r->mu);
  stream_free(r->model_path);
  stream_free(r);
}

/* ---- retrain ------------------------------------------------------------------ */

/* mkdir -p of the directory part of `path`. */
static int make_parent(const char *path)
{
  char dir[4096];
  size_t n = strlen(path);
  if (n >= sizeof dir)
    return stream__err(STREAM_EINVAL, "recs: model path is too long");
  memcpy(dir, path, n + 1);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir)
    return STREAM_OK;
  *slash = '\0';
  for (char *p = dir + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
      return stream__err(STREAM_EIO, "recs: cannot create %s: %s", dir, strerror(errno));
    *p = '/';
  }
  if (mkdir(dir, 0700) != 0 && errno != EEXIST)
    return stream__err(STREAM_EIO, "recs: cannot create %s: %s", dir, strerror(errno));
  return STREAM_OK;
}

/* The training's progress callback: nonzero (stop) once the service is canceled. */
static int train_canceled(void *ud, unsigned int done, unsigned int total)
{
  (void)done;
  (void)total;
  return atomic_load(&((stream_recs *)ud)->canceled);
}

void stream_recs_cancel(stream_recs *r)
{
  if (r)
    atomic_store(&r->canceled, 1);
}

int stream_recs_retrain(stream_recs *r, char **out_info_json)
{
  if (out_info_json)
    *out_info_json = NULL;
  if (!r)
    return stream__err(STREAM_EINVAL, "recs service is NULL");
  if (atomic_load(&r->canceled))
    return stream__err(STREAM_ECANCELED, "recs: retraining was canceled (shutting down)");
  pthread_mutex_lock(&r->train_mu);
  stream_recs_data *d = NULL;
  store__recs_title *titles = NULL;
  size_t nt = 0;
  stream_recs_model *m = NULL;
  recs_served *h = NULL;
  int rc = build_signals(&d, &titles, &nt, r);
  if (rc == STREAM_OK) {
    stream_recs_options o = r->train;
    int64_t now = recs__svc_now(r);
    /* Strictly increasing versions, also with a frozen test clock. */
    uint64_t v =
        o.model_version ? o.model_version : (uint64_t)(r->clock ? now * 1000 : stream__wall_ms());
    if (v <= r->last_version)
      v = r->last_version + 1;
    o.model_version = v;
    if (o.now == 0)
      o.now = now; /* "trending" decays to the service's now, not to the latest signal */
    rc = stream_recs_train(&m, d, &o, train_canceled, r);
  }
  stream_recs_data_free(d);
  if (rc == STREAM_OK && r->model_path) {
    rc = make_parent(r->model_path);
    if (rc == STREAM_OK)
      rc = stream_recs_model_save(m, r->model_path);
  }
  if (rc == STREAM_OK) {
    uint64_t v = stream_recs_model_version(m);
    rc = served_new(&h, m, titles, nt); /* takes m and titles */
    m = NULL;
    titles = NULL;
    if (rc == STREAM_OK) {
      r->last_version = v;
      if (out_info_json)
        rc = stream_recs_model_info(out_info_json, h->model);
      served_swap(r, h);
    }
  }
  stream_recs_model_free(m);
  store__recs_titles_free(titles, nt);
  pthread_mutex_unlock(&r->train_mu);
  return rc;
}

int stream_recs_info(char **out_json, stream_recs *r)
{
  if (!out_json)
    return stream__err(STREAM_EINVAL, "out_json is NULL");
  *out_json = NULL;
  if (!r)
    return stream__err(STREAM_EINVAL, "recs service is NULL");
  recs_served *h = recs__served_acquire(r);
  char *info = NULL;
  int rc = STREAM_OK;
  if (h) {
    rc = stream_recs_model_info(&info, h->model);
    recs__served_release(r, h);
    if (rc != STREAM_OK)
      return rc;
  }
  cJSON *o = info ? cJSON_Parse(info) : cJSON_CreateObject();
  stream_free(info);
  if (!o)
    return stream__err(STREAM_ENOMEM, "out of memory");
  if (!h && !cJSON_AddNumberToObject(o, "version", 0))
    rc = STREAM_ENOMEM;
  pthread_mutex_lock(&r->mu);
  if (rc == STREAM_OK && r->load_error[0] &&
      !cJSON_AddStringToObject(o, "load_error", r->load_error))
    rc = STREAM_ENOMEM;
  pthread_mutex_unlock(&r->mu);
  char *txt = rc == STREAM_OK ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  if (!txt)
    return stream__err(STREAM_ENOMEM, "out of memory");
  *out_json = stream__strdup(txt);
  cJSON_free(txt);
  return *out_json ? STREAM_OK : STREAM_ENOMEM;
}
