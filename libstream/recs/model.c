/*
 * recs/model: the trained model (stream_recs_model) — training
 * orchestration (ALS, neighbours, popularity), the top-K selection every
 * method shares, recommend/similar and the info JSON. The model file is
 * model_file.c.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/core.h"
#include "recs_internal.h"

#define RECS_THREADS_MAX 1024

/* ------------------------------------------------------------------------ */
/* Options                                                                   */
/* ------------------------------------------------------------------------ */

int recs__check_options(const stream_recs_options *o, int code)
{
  if (o->version != STREAM_RECS_OPTIONS_VERSION)
    return stream__err(code, "recs: option version=%u is not %d", o->version,
                       STREAM_RECS_OPTIONS_VERSION);
  if (o->factors < 1 || o->factors > STREAM_RECS_FACTORS_MAX)
    return stream__err(code, "recs: option factors=%u must be 1..%d", o->factors,
                       STREAM_RECS_FACTORS_MAX);
  if (!isfinite(o->regularization) || o->regularization < 0)
    return stream__err(code, "recs: option regularization=%g must be finite and >= 0",
                       o->regularization);
  if (!isfinite(o->alpha) || o->alpha <= 0 || o->alpha > 1e6)
    return stream__err(code, "recs: option alpha=%g must be finite, > 0 and <= 1e6", o->alpha);
  if (o->iterations < 1 || o->iterations > 1000)
    return stream__err(code, "recs: option iterations=%u must be 1..1000", o->iterations);
  if (o->cg_steps < 1 || o->cg_steps > 64)
    return stream__err(code, "recs: option cg_steps=%u must be 1..64", o->cg_steps);
  if (o->threads > RECS_THREADS_MAX)
    return stream__err(code, "recs: option threads=%u must be 0..%d", o->threads, RECS_THREADS_MAX);
  if (o->neighbours > 1000)
    return stream__err(code, "recs: option neighbours=%u must be 0..1000", o->neighbours);
  if (!isfinite(o->half_life_days) || o->half_life_days <= 0)
    return stream__err(code, "recs: option half_life_days=%g must be finite and > 0",
                       o->half_life_days);
  if (o->now < 0)
    return stream__err(code, "recs: option now=%lld must be >= 0", (long long)o->now);
  return STREAM_OK;
}

/* ------------------------------------------------------------------------ */
/* Training                                                                  */
/* ------------------------------------------------------------------------ */

void stream_recs_model_free(stream_recs_model *m)
{
  if (!m)
    return;
  recs__strtab_clear(&m->users);
  recs__strtab_clear(&m->items);
  free(m->x);
  free(m->y);
  recs__csr_clear(&m->ui);
  free(m->nbr_idx);
  free(m->nbr_sim);
  free(m->pop);
  free(m->yty);
  free(m);
}

static int strtab_copy(recs__strtab *dst, const recs__strtab *src)
{
  for (size_t i = 0; i < src->count; i++) {
    uint32_t idx;
    if (recs__strtab_intern(dst, src->names[i], &idx) != STREAM_OK)
      return STREAM_ENOMEM;
  }
  return STREAM_OK;
}

int stream_recs_train(stream_recs_model **out, const stream_recs_data *d,
                      const stream_recs_options *opts, stream_recs_progress_fn progress,
                      void *userdata)
{
  if (!out || !d)
    return stream__err(STREAM_EINVAL, "stream_recs_train: %s is NULL", out ? "data" : "out");
  *out = NULL;
  stream_recs_options defaults = STREAM_RECS_OPTIONS_INIT;
  if (!opts)
    opts = &defaults;
  int rc = recs__check_options(opts, STREAM_EINVAL);
  if (rc != STREAM_OK)
    return rc;
  int64_t t0 = stream__mono_ms();
  stream_recs_model *m = stream__calloc(1, sizeof *m);
  if (!m)
    return STREAM_ENOMEM;
  recs__csr iu = {0};
  m->opts = *opts;
  m->factors = opts->factors;
  m->pairs = d->pair_count;
  m->trained_at_ms = stream__wall_ms();
  m->version = opts->model_version ? opts->model_version : (uint64_t)m->trained_at_ms;
  unsigned int total = 2 * opts->iterations + 1;
  if ((rc = strtab_copy(&m->users, &d->users)) != STREAM_OK ||
      (rc = strtab_copy(&m->items, &d->items)) != STREAM_OK ||
      (rc = recs__csr_build(&m->ui, d, 0)) != STREAM_OK ||
      (rc = recs__csr_build(&iu, d, 1)) != STREAM_OK ||
      (rc = recs__als_train(m, &iu, progress, userdata, 0, total)) != STREAM_OK ||
      (rc = recs__knn_build(m, &iu)) != STREAM_OK || (rc = recs__pop_build(m, d)) != STREAM_OK)
    goto fail;
  if (!m->yty && (rc = recs__als_gram(m)) != STREAM_OK)
    goto fail;
  if (progress && progress(userdata, total, total)) {
    rc = stream__err(STREAM_ECANCELED, "recs: training canceled at step %u of %u", total, total);
    goto fail;
  }
  recs__csr_clear(&iu);
  m->train_ms = stream__mono_ms() - t0;
  *out = m;
  return STREAM_OK;
fail:
  recs__csr_clear(&iu);
  stream_recs_model_free(m);
  return rc;
}

uint64_t stream_recs_model_version(const stream_recs_model *m)
{
  return m ? m->version : 0;
}

int stream_recs_model_info(char **out_json, const stream_recs_model *m)
{
  if (!out_json || !m)
    return stream__err(STREAM_EINVAL, "stream_recs_model_info: NULL argument");
  *out_json = NULL;
  cJSON *o = cJSON_CreateObject();
  if (!o || !cJSON_AddNumberToObject(o, "version", (double)m->version) ||
      !cJSON_AddNumberToObject(o, "users", (double)m->users.count) ||
      !cJSON_AddNumberToObject(o, "items", (double)m->items.count) ||
      !cJSON_AddNumberToObject(o, "pairs", (double)m->pairs) ||
      !cJSON_AddNumberToObject(o, "factors", m->factors) ||
      !cJSON_AddNumberToObject(o, "iterations", m->opts.iterations) ||
      !cJSON_AddNumberToObject(o, "alpha", m->opts.alpha) ||
      !cJSON_AddNumberToObject(o, "regularization", m->opts.regularization) ||
      !cJSON_AddNumberToObject(o, "trained_at_ms", (double)m->trained_at_ms) ||
      !cJSON_AddNumberToObject(o, "train_ms", (double)m->train_ms) ||
      !cJSON_AddNumberToObject(o, "loss", m->loss)) {
    cJSON_Delete(o);
    return stream__err(STREAM_ENOMEM, "out of memory describing a model");
  }
  char *txt = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (!txt)
    return stream__err(STREAM_ENOMEM, "out of memory printing JSON");
  *out_json = stream__strdup(txt); /* stream_free() releases it */
  cJSON_free(txt);
  return *out_json ? STREAM_OK : STREAM_ENOMEM;
}

/* ------------------------------------------------------------------------ */
/* Top-K                                                                     */
/* ------------------------------------------------------------------------ */

/* a ranks below b: lower score, or the same score and a larger id */
static int ranks_below(const stream_recs_model *m, const double *s, uint32_t a, uint32_t b)
{
  if (s[a] != s[b])
    return s[a] < s[b];
  return strcmp(m->items.names[a], m->items.names[b]) > 0;
}

static void heap_down(uint32_t *h, size_t n, size_t i, const stream_recs_model *m, const double *s)
{
  for (;;) {
    size_t l = 2 * i + 1, w = i;
    if (l < n && ranks_below(m, s, h[l], h[w]))
      w = l;
    if (l + 1 < n && ranks_below(m, s, h[l + 1], h[w]))
      w = l + 1;
    if (w == i)
      return;
    uint32_t t = h[i];
    h[i] = h[w];
    h[w] = t;
    i = w;
  }
}

unsigned int recs__threads(unsigned int want, unsigned int max, size_t work, size_t block)
{
  unsigned int n = want;
  if (n == 0) {
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    n = c > 0 ? (unsigned int)c : 1;
  }
  if (n > max)
    n = max;
  if (work > 0 && block > 0) {
    size_t blocks = (work + block - 1) / block;
    if (blocks < n)
      n = (unsigned int)blocks;
  }
  return n > 0 ? n : 1;
}

size_t recs__topk(stream_recs_item *out, size_t k, const stream_recs_model *m, const double *scores,
                  stream_recs_filter_fn keep, void *keep_userdata)
{
  uint32_t heap[STREAM_RECS_K_MAX]; /* min-heap: the worst kept item on top */
  size_t n = m->items.count, cnt = 0;
  if (k > STREAM_RECS_K_MAX)
    k = STREAM_RECS_K_MAX;
  if (!k)
    return 0;
  for (size_t i = 0; i < n; i++) {
    double s = scores[i];
    if (!(s > -INFINITY)) /* NaN or -inf: excluded */
      continue;
    if (cnt == k && !ranks_below(m, scores, heap[0], (uint32_t)i))
      continue;
    if (keep && !keep(keep_userdata, m->items.names[i]))
      continue;
    if (cnt < k) {
      size_t j = cnt++;
      heap[j] = (uint32_t)i;
      while (j > 0 && ranks_below(m, scores, heap[j], heap[(j - 1) / 2])) {
        uint32_t t = heap[j];
        heap[j] = heap[(j - 1) / 2];
        heap[(j - 1) / 2] = t;
        j = (j - 1) / 2;
      }
    } else {
      heap[0] = (uint32_t)i;
      heap_down(heap, cnt, 0, m, scores);
    }
  }
  /* pop the worst first into the back of `out` */
  for (size_t left = cnt; left > 0; left--) {
    uint32_t w = heap[0];
    out[left - 1] = (stream_recs_item){m->items.names[w], scores[w]};
    heap[0] = heap[left - 1];
    heap_down(heap, left - 1, 0, m, scores);
  }
  return cnt;
}

/* scores[i] = x . y_i over contiguous item factors, four items at a time:
 * four independent accumulation chains keep the FPU busy (about 3x faster
 * than one item at a time for 64 factors). */
static void score_dot(double *scores, const float *x, const float *y, size_t n, unsigned int k)
{
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float *y0 = y + i * k, *y1 = y0 + k, *y2 = y1 + k, *y3 = y2 + k;
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (unsigned int a = 0; a < k; a++) {
      float xa = x[a];
      s0 += xa * y0[a];
      s1 += xa * y1[a];
      s2 += xa * y2[a];
      s3 += xa * y3[a];
    }
    scores[i] = s0;
    scores[i + 1] = s1;
    scores[i + 2] = s2;
    scores[i + 3] = s3;
  }
  for (; i < n; i++) {
    const float *yi = y + i * k;
    float s = 0;
    for (unsigned int a = 0; a < k; a++)
      s += x[a] * yi[a];
    scores[i] = s;
  }
}

/* ------------------------------------------------------------------------ */
/* Recommend, similar                                                        */
/* ------------------------------------------------------------------------ */

typedef struct hist_entry {
  uint32_t item;
  float r;
} hist_entry;

static int hist_cmp(const void *a, const void *b)
{
  uint32_t x = ((const hist_entry *)a)->item, y = ((const hist_entry *)b)->item;
  return x < y ? -1 : x > y;
}

/* The known items of a fresh history, sorted, duplicates summed. */
static int fresh_history(uint32_t **out_items, float **out_r, size_t *out_n,
                         const stream_recs_model *m, const stream_recs_query *q)
{
  *out_items = NULL;
  *out_r = NULL;
  *out_n = 0;
  size_t n = q->history_count;
  for (size_t t = 0; t < n; t++) {
    if (!q->history_items[t])
      return stream__err(STREAM_EINVAL, "stream_recs_recommend: history item %zu is NULL", t);
    double r = q->history_r ? q->history_r[t] : 1.0;
    if (!isfinite(r) || r < 0 || r > 1e6)
      return stream__err(STREAM_EINVAL,
                         "stream_recs_recommend: history strength %zu (%g) must be 0..1e6", t, r);
  }
  hist_entry *h = stream__calloc(n ? n : 1, sizeof *h);
  uint32_t *items = stream__calloc(n ? n : 1, sizeof *items);
  float *rs = stream__calloc(n ? n : 1, sizeof *rs);
  if (!h || !items || !rs) {
    free(h);
    free(items);
    free(rs);
    return STREAM_ENOMEM;
  }
  size_t known = 0;
  for (size_t t = 0; t < n; t++) {
    int64_t idx = recs__strtab_find(&m->items, q->history_items[t]);
    if (idx >= 0)
      h[known++] = (hist_entry){(uint32_t)idx, (float)(q->history_r ? q->history_r[t] : 1.0)};
  }
  qsort(h, known, sizeof *h, hist_cmp);
  size_t c = 0;
  for (size_t t = 0; t < known; t++) {
    if (c && items[c - 1] == h[t].item) {
      rs[c - 1] += h[t].r;
    } else {
      items[c] = h[t].item;
      rs[c++] = h[t].r;
    }
  }
  free(h);
  *out_items = items;
  *out_r = rs;
  *out_n = c;
  return STREAM_OK;
}

int stream_recs_recommend(stream_recs_item *out, size_t *out_count, int *out_method,
                          const stream_recs_model *m, const stream_recs_query *q)
{
  if (!out || !out_count || !m || !q)
    return stream__err(STREAM_EINVAL, "stream_recs_recommend: NULL argument");
  *out_count = 0;
  if (q->version != STREAM_RECS_QUERY_VERSION)
    return stream__err(STREAM_EINVAL, "stream_recs_recommend: query version=%u is not %d",
                       q->version, STREAM_RECS_QUERY_VERSION);
  if (q->method != STREAM_RECS_ALS && q->method != STREAM_RECS_ITEM_KNN &&
      q->method != STREAM_RECS_POPULAR)
    return stream__err(STREAM_EINVAL, "stream_recs_recommend: method=%d is not a recs method",
                       q->method);
  if (q->k < 1 || q->k > STREAM_RECS_K_MAX)
    return stream__err(STREAM_EINVAL, "stream_recs_recommend: k=%zu must be 1..%d", q->k,
                       STREAM_RECS_K_MAX);
  if (q->history_count && !q->history_items)
    return stream__err(STREAM_EINVAL,
                       "stream_recs_recommend: history_count=%zu without history_items",
                       q->history_count);
  uint32_t *fresh_items = NULL;
  float *fresh_r = NULL;
  const uint32_t *hist = NULL;
  const float *hist_r = NULL;
  size_t hn = 0;
  int64_t user = -1;
  int rc = STREAM_OK;
  if (q->history_items) {
    if ((rc = fresh_history(&fresh_items, &fresh_r, &hn, m, q)) != STREAM_OK)
      return rc;
    hist = fresh_items;
    hist_r = fresh_r;
  } else if (q->user && (user = recs__strtab_find(&m->users, q->user)) >= 0) {
    size_t b = m->ui.ptr[user];
    hn = m->ui.ptr[user + 1] - b;
    hist = m->ui.idx + b;
    hist_r = m->ui.val + b;
  }
  int method = hn ? q->method : STREAM_RECS_POPULAR;
  size_t n = m->items.count;
  unsigned int k = m->factors;
  double *scores = stream__calloc(n ? n : 1, sizeof *scores);
  float *xf = stream__calloc(k, sizeof *xf);
  if (!scores || !xf) {
    rc = STREAM_ENOMEM;
    goto out;
  }
  if (method == STREAM_RECS_ALS) {
    const float *x = m->x + (size_t)(user >= 0 ? user : 0) * k;
    if (fresh_items) {
      if ((rc = recs__als_fold_in(xf, m, hist, hist_r, hn)) != STREAM_OK)
        goto out;
      x = xf;
    }
    score_dot(scores, x, m->y, n, k);
  } else if (method == STREAM_RECS_ITEM_KNN) {
    recs__knn_score(m, hist, hist_r, hn, scores);
  } else {
    for (size_t i = 0; i < n; i++)
      scores[i] = m->pop ? m->pop[i] : 0;
  }
  if (!q->include_history)
    for (size_t t = 0; t < hn; t++)
      scores[hist[t]] = NAN;
  *out_count = recs__topk(out, q->k, m, scores, q->keep, q->keep_userdata);
  if (out_method)
    *out_method = method;
out:
  free(scores);
  free(xf);
  free(fresh_items);
  free(fresh_r);
  return rc;
}

int stream_recs_similar(stream_recs_item *out, size_t *out_count, const stream_recs_model *m,
                        const char *item, size_t k, stream_recs_filter_fn keep, void *keep_userdata)
{
  if (!out || !out_count || !m || !item)
    return stream__err(STREAM_EINVAL, "stream_recs_similar: NULL argument");
  *out_count = 0;
  if (k < 1 || k > STREAM_RECS_K_MAX)
    return stream__err(STREAM_EINVAL, "stream_recs_similar: k=%zu must be 1..%d", k,
                       STREAM_RECS_K_MAX);
  int64_t it = recs__strtab_find(&m->items, item);
  if (it < 0)
    return stream__err(STREAM_ENOTFOUND, "stream_recs_similar: unknown item %s", item);
  size_t cnt = 0, n = m->items.count;
  const uint32_t *nb = m->nbr_idx ? m->nbr_idx + (size_t)it * m->nbr_k : NULL;
  const float *ns = m->nbr_sim ? m->nbr_sim + (size_t)it * m->nbr_k : NULL;
  for (unsigned int j = 0; nb && j < m->nbr_k && cnt < k; j++) {
    if (nb[j] == UINT32_MAX)
      break;
    if (nb[j] == (uint32_t)it || (keep && !keep(keep_userdata, m->items.names[nb[j]])))
      continue;
    out[cnt++] = (stream_recs_item){m->items.names[nb[j]], ns[j]};
  }
  if (cnt < k && n > 1) {
    /* the rest by the cosine of ALS item factors */
    unsigned int f = m->factors;
    double *scores = stream__calloc(n, sizeof *scores);
    if (!scores)
      return STREAM_ENOMEM;
    const float *yi = m->y + (size_t)it * f;
    score_dot(scores, yi, m->y, n, f);
    double ni = sqrt(scores[it]);
    for (size_t i = 0; i < n; i++) {
      const float *y = m->y + i * f;
      double nn = 0;
      for (unsigned int a = 0; a < f; a++)
        nn += (double)y[a] * y[a];
      double den = ni * sqrt(nn);
      scores[i] = den > 0 ? scores[i] / den : 0;
    }
    scores[it] = NAN;
    for (unsigned int j = 0; nb && j < m->nbr_k && nb[j] != UINT32_MAX; j++)
      scores[nb[j]] = NAN;
    cnt += recs__topk(out + cnt, k - cnt, m, scores, keep, keep_userdata);
    free(scores);
  }
  *out_count = cnt;
  return STREAM_OK;
}
