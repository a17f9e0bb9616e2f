/*
 * recs: item-item neighbours ("Because you watched", the ITEM_KNN method).
 *
 * Similarity is the cosine of the items' confidence-weighted user columns,
 * w_ui = c_ui = 1 + alpha * r_ui (the same confidence ALS uses), so a user
 * who watched two titles through counts more than one who sampled them,
 * yet any observed pair counts at least 1. It is computed sparsely: for an
 * item i, the dot products with every co-occurring item j are accumulated
 * through i's users' rows (sum over users of |row|^2 work in total), and
 * only the best m->opts.neighbours are kept (ties by item index).
 *
 * No shrinkage is applied: the value stored is the plain cosine, which is
 * what stream_recs_similar() documents and returns. The minimum support is
 * one co-occurring user (an item pair never watched together has no
 * neighbour entry). Scores are accumulated in doubles in a fixed order
 * (users ascending, then items ascending) and each item is computed by one
 * thread alone, so the result does not depend on the thread count.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "recs/recs_internal.h"

/* Items handed to a worker at a time: popular items cost more than rare
 * ones, so workers pull small blocks instead of taking fixed chunks. */
#define KNN_BLOCK 32

/* A candidate neighbour. */
typedef struct knn_cand {
  float sim;
  uint32_t idx;
} knn_cand;

typedef struct knn_job {
  stream_recs_model *m;
  const recs__csr *iu;
  const double *norm; /* per item: |c column| */
  size_t items;
  atomic_size_t next;
} knn_job;

typedef struct knn_worker {
  knn_job *job;
  pthread_t thread;
  int started;
  int rc;
} knn_worker;

/* a ranks before b: higher similarity, then lower item index. */
static int cand_better(const knn_cand *a, const knn_cand *b)
{
  if (a->sim != b->sim) {
    return a->sim > b->sim;
  }
  return a->idx < b->idx;
}

/* Min-heap (worst candidate at the root) of the best `cap` candidates. */
static void heap_sift_down(knn_cand *h, size_t n, size_t i)
{
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, w = i;
    if (l < n && cand_better(&h[w], &h[l])) {
      w = l;
    }
    if (r < n && cand_better(&h[w], &h[r])) {
      w = r;
    }
    if (w == i) {
      return;
    }
    knn_cand t = h[i];
    h[i] = h[w];
    h[w] = t;
    i = w;
  }
}

static void heap_push(knn_cand *h, size_t *n, size_t cap, knn_cand c)
{
  if (*n < cap) {
    size_t i = (*n)++;
    h[i] = c;
    while (i > 0) {
      size_t p = (i - 1) / 2;
      if (!cand_better(&h[p], &h[i])) {
        break;
      }
      knn_cand t = h[i];
      h[i] = h[p];
      h[p] = t;
      i = p;
    }
  } else if (cand_better(&c, &h[0])) {
    h[0] = c;
    heap_sift_down(h, *n, 0);
  }
}

static int cand_cmp(const void *a, const void *b)
{
  const knn_cand *x = a, *y = b;
  if (cand_better(x, y)) {
    return -1;
  }
  return cand_better(y, x) ? 1 : 0;
}

/* One item's neighbours into its slots of m->nbr_idx / m->nbr_sim. `acc`
 * (items doubles, all zero) and `touched` (items entries) are scratch; acc
 * is left zero again. */
static void knn_item(const knn_job *job, uint32_t i, double *acc, uint32_t *touched, knn_cand *heap)
{
  stream_recs_model *m = job->m;
  const recs__csr *iu = job->iu;
  const recs__csr *ui = &m->ui;
  const double alpha = m->opts.alpha;
  const unsigned int k = m->nbr_k;
  size_t nt = 0;

  if (i < iu->rows && job->norm[i] > 0) {
    for (size_t p = iu->ptr[i]; p < iu->ptr[i + 1]; p++) {
      uint32_t u = iu->idx[p];
      if (u >= ui->rows) {
        continue;
      }
      double wi = 1.0 + alpha * (double)iu->val[p];
      for (size_t q = ui->ptr[u]; q < ui->ptr[u + 1]; q++) {
        uint32_t j = ui->idx[q];
        if (j == i || j >= job->items) {
          continue;
        }
        if (acc[j] == 0) {
          touched[nt++] = j;
        }
        acc[j] += wi * (1.0 + alpha * (double)ui->val[q]);
      }
    }
  }

  size_t nh = 0;
  for (size_t t = 0; t < nt; t++) {
    uint32_t j = touched[t];
    double dot = acc[j];
    acc[j] = 0;
    if (!(dot > 0) || !(job->norm[j] > 0)) {
      continue;
    }
    double s = dot / (job->norm[i] * job->norm[j]);
    if (s > 1.0) {
      s = 1.0; /* rounding of identical columns */
    }
    knn_cand c = {(float)s, j};
    heap_push(heap, &nh, k, c);
  }
  qsort(heap, nh, sizeof *heap, cand_cmp);

  uint32_t *oi = m->nbr_idx + (size_t)i * k;
  float *os = m->nbr_sim + (size_t)i * k;
  for (size_t t = 0; t < k; t++) {
    oi[t] = t < nh ? heap[t].idx : UINT32_MAX;
    os[t] = t < nh ? heap[t].sim : 0.0f;
  }
}

static void *knn_run(void *arg)
{
  knn_worker *w = arg;
  knn_job *job = w->job;
  size_t n = job->items;
  double *acc = calloc(n, sizeof *acc);
  uint32_t *touched = malloc(n * sizeof *touched);
  knn_cand *heap = malloc((size_t)job->m->nbr_k * sizeof *heap);
  if (acc == NULL || touched == NULL || heap == NULL) {
    free(acc);
    free(touched);
    free(heap);
    w->rc = STREAM_ENOMEM;
    return NULL;
  }
  for (;;) {
    size_t lo = atomic_fetch_add(&job->next, KNN_BLOCK);
    if (lo >= n) {
      break;
    }
    size_t hi = lo + KNN_BLOCK < n ? lo + KNN_BLOCK : n;
    for (size_t i = lo; i < hi; i++) {
      knn_item(job, (uint32_t)i, acc, touched, heap);
    }
  }
  free(acc);
  free(touched);
  free(heap);
  w->rc = STREAM_OK;
  return NULL;
}

int recs__knn_build(stream_recs_model *m, const recs__csr *iu)
{
  if (m == NULL || iu == NULL) {
    return stream__err(STREAM_EINVAL, "recs: knn build needs a model and its item rows");
  }
  size_t items = m->items.count;
  unsigned int k = m->opts.neighbours;
  free(m->nbr_idx);
  free(m->nbr_sim);
  m->nbr_idx = NULL;
  m->nbr_sim = NULL;
  m->nbr_k = 0;
  if (k == 0 || items == 0) {
    return STREAM_OK;
  }
  if (items > UINT32_MAX - 1 || (size_t)k > SIZE_MAX / sizeof(float) / items) {
    return stream__err(STREAM_ENOMEM, "recs: %zu items x %u neighbours is too large", items, k);
  }
  m->nbr_idx = malloc(items * k * sizeof *m->nbr_idx);
  m->nbr_sim = malloc(items * k * sizeof *m->nbr_sim);
  double *norm = calloc(items, sizeof *norm);
  if (m->nbr_idx == NULL || m->nbr_sim == NULL || norm == NULL) {
    free(norm);
    free(m->nbr_idx);
    free(m->nbr_sim);
    m->nbr_idx = NULL;
    m->nbr_sim = NULL;
    return stream__err(STREAM_ENOMEM, "recs: out of memory for item neighbours");
  }
  m->nbr_k = k;

  for (size_t i = 0; i < items && i < iu->rows; i++) {
    double s = 0;
    for (size_t p = iu->ptr[i]; p < iu->ptr[i + 1]; p++) {
      double w = 1.0 + m->opts.alpha * (double)iu->val[p];
      s += w * w;
    }
    norm[i] = sqrt(s);
  }

  knn_job job;
  job.m = m;
  job.iu = iu;
  job.norm = norm;
  job.items = items;
  atomic_init(&job.next, 0);

  unsigned int nt = recs__threads(m->opts.threads, 256, items, KNN_BLOCK);
  knn_worker *w = calloc(nt, sizeof *w);
  if (w == NULL) {
    free(norm);
    return stream__err(STREAM_ENOMEM, "recs: out of memory for knn workers");
  }
  for (unsigned int t = 0; t < nt; t++) {
    w[t].job = &job;
    w[t].rc = STREAM_OK;
    /* Worker 0 runs on the calling thread; if a thread cannot start, the
     * others (at least the caller) take its blocks. */
    if (t > 0 && pthread_create(&w[t].thread, NULL, knn_run, &w[t]) == 0) {
      w[t].started = 1;
    }
  }
  knn_run(&w[0]);
  int rc = w[0].rc;
  for (unsigned int t = 1; t < nt; t++) {
    if (w[t].started) {
      pthread_join(w[t].thread, NULL);
      if (w[t].rc != STREAM_OK) {
        rc = w[t].rc;
      }
    }
  }
  free(w);
  free(norm);
  if (rc == STREAM_OK && atomic_load(&job.next) < items) {
    rc = STREAM_ENOMEM; /* every worker failed to allocate its scratch */
  }
  if (rc != STREAM_OK) {
    free(m->nbr_idx);
    free(m->nbr_sim);
    m->nbr_idx = NULL;
    m->nbr_sim = NULL;
    m->nbr_k = 0;
    return stream__err(rc, "recs: out of memory computing item neighbours");
  }
  return STREAM_OK;
}

void recs__knn_score(const stream_recs_model *m, const uint32_t *items, const float *r, size_t n,
                     double *scores)
{
  if (m == NULL || scores == NULL || m->nbr_k == 0 || (n > 0 && items == NULL)) {
    return;
  }
  const unsigned int k = m->nbr_k;
  for (size_t h = 0; h < n; h++) {
    uint32_t j = items[h];
    if (j >= m->items.count) {
      continue;
    }
    double c = 1.0 + m->opts.alpha * (r != NULL ? (double)r[h] : 1.0);
    const uint32_t *ni = m->nbr_idx + (size_t)j * k;
    const float *ns = m->nbr_sim + (size_t)j * k;
    for (unsigned int t = 0; t < k && ni[t] != UINT32_MAX; t++) {
      scores[ni[t]] += (double)ns[t] * c;
    }
  }
}
