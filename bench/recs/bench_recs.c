/*
 * bench_recs: ranking quality, training time and top-K latency of the recs
 * model (issue #8 "Evaluation"). A benchmark, not a test: it prints, it does
 * not judge (exit status 1 only when a library call fails).
 *
 * 1. Quality on a generated data set with known latent structure: U users,
 *    I items in K hidden taste clusters, Zipf-like item popularity; each user
 *    has a primary and a secondary cluster and draws 20..50 distinct items
 *    (65 % primary cluster, 25 % secondary, 10 % anywhere by popularity) with
 *    increasing timestamps and watched-fraction strengths (a completion adds
 *    1, as the service's signals do). Leave-last-out split; recall@10,
 *    NDCG@10 and MAP@10 of ALS, item-kNN and popularity (stream_recs_evaluate)
 *    next to the generator's own probabilities (the "oracle": the best any
 *    model could do in expectation); ratios ALS / popularity.
 * 2. Training time with threads=1 and threads=2 on the same data (ratio) and
 *    whether the two models are bitwise identical (they must be).
 * 3. Serving: top-K latency (p50/p99 over many users) of
 *    stream_recs_recommend() on a catalog of 10k items with 64 factors:
 *    ALS, ALS with a filter callback, ALS with a fresh history (fold-in),
 *    item-kNN, popularity, stream_recs_similar(); baseline in the same
 *    process: a naive full score of every item (the model's own factors) and
 *    a qsort of all of them.
 * 4. Optionally a public data set file (--data FILE: "user item rating ts"
 *    lines separated by tabs, commas or "::", as MovieLens ships them):
 *    leave-last-out and temporal splits. None can be had from the Debian or
 *    npm registries (docs/bench.md, "Recommendations").
 *
 * Usage: bench_recs [--users N] [--items N] [--clusters K] [--factors F]
 *                   [--iterations N] [--alpha A] [--regularization L]
 *                   [--serve-items N] [--serve-users N] [--queries N] [--seed S]
 *                   [--data FILE] [--only 1|2|3|4] [--quick]
 * --quick (or the environment variable BENCH_RECS_QUICK) divides the sizes by
 * 4; --only runs one section (2 needs 1's model: it runs 1 too).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "recs/recs_internal.h"
#include "stream/stream.h"

#define K_TOP 10

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
  fprintf(stderr, "bench_recs: %s failed: %s (%d)\n", what, stream_error_last()->message, rc);
  exit(1);
}

#define CHECK(what, call)                                                                          \
  do {                                                                                             \
    int rc_ = (call);                                                                              \
    if (rc_ != STREAM_OK)                                                                          \
      die(what, rc_);                                                                              \
  } while (0)

static void *xcalloc(size_t n, size_t size)
{
  void *p = calloc(n ? n : 1, size);
  if (!p) {
    fprintf(stderr, "bench_recs: out of memory\n");
    exit(1);
  }
  return p;
}

/* ---- random numbers (splitmix64: seeded, portable) ---------------------- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double rng_unit(void) /* [0, 1) */
{
  return (double)(rng_next() >> 11) / 9007199254740992.0;
}

static size_t rng_below(size_t n)
{
  return (size_t)(rng_unit() * (double)n);
}

/* ---- the generated data set ---------------------------------------------- */

#define MIX_PRIMARY 0.65
#define MIX_SECONDARY 0.25
#define MIX_ANY 0.10
#define ZIPF_S 0.9

typedef struct gen {
  size_t users, items, clusters;
  size_t *cluster_of;    /* items: their cluster */
  double *weight;        /* items: Zipf weight of their popularity rank */
  size_t **members;      /* clusters: their items */
  size_t *member_count;  /* clusters */
  double **member_cdf;   /* clusters: cumulative weights of members */
  double *cluster_total; /* clusters: sum of member weights */
  double *all_cdf;       /* all items: cumulative weights */
  double all_total;
  size_t *primary, *secondary; /* users */
  /* the interactions, user by user in time order: user u's are
   * item[start[u] .. start[u+1]) */
  size_t *start;
  size_t *item;
  size_t pairs;
} gen;

static size_t cdf_pick(const double *cdf, size_t n, double x)
{
  size_t lo = 0, hi = n - 1;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (cdf[mid] > x)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

static size_t gen_draw(const gen *g, size_t u)
{
  double x = rng_unit();
  if (x < MIX_PRIMARY + MIX_SECONDARY) {
    size_t c = x < MIX_PRIMARY ? g->primary[u] : g->secondary[u];
    size_t j = cdf_pick(g->member_cdf[c], g->member_count[c], rng_unit() * g->cluster_total[c]);
    return g->members[c][j];
  }
  return cdf_pick(g->all_cdf, g->items, rng_unit() * g->all_total);
}

/* The generator's probability that user u draws item i in one draw. */
static double gen_prob(const gen *g, size_t u, size_t i)
{
  size_t c = g->cluster_of[i];
  double p = MIX_ANY * g->weight[i] / g->all_total;
  if (c == g->primary[u])
    p += MIX_PRIMARY * g->weight[i] / g->cluster_total[c];
  if (c == g->secondary[u])
    p += MIX_SECONDARY * g->weight[i] / g->cluster_total[c];
  return p;
}

static void gen_build(gen *g, size_t users, size_t items, size_t clusters, uint64_t seed)
{
  memset(g, 0, sizeof *g);
  rng_state = seed;
  g->users = users;
  g->items = items;
  g->clusters = clusters;
  g->cluster_of = xcalloc(items, sizeof *g->cluster_of);
  g->weight = xcalloc(items, sizeof *g->weight);
  /* popularity rank: a random permutation, so it is unrelated to ids and clusters */
  size_t *rank = xcalloc(items, sizeof *rank);
  for (size_t i = 0; i < items; i++)
    rank[i] = i;
  for (size_t i = items - 1; i > 0; i--) {
    size_t j = rng_below(i + 1), t = rank[i];
    rank[i] = rank[j];
    rank[j] = t;
  }
  g->member_count = xcalloc(clusters, sizeof *g->member_count);
  for (size_t i = 0; i < items; i++) {
    g->weight[i] = 1.0 / pow((double)rank[i] + 1.0, ZIPF_S);
    g->cluster_of[i] = i < clusters ? i : rng_below(clusters); /* no empty cluster */
    g->member_count[g->cluster_of[i]]++;
  }
  free(rank);
  g->members = xcalloc(clusters, sizeof *g->members);
  g->member_cdf = xcalloc(clusters, sizeof *g->member_cdf);
  g->cluster_total = xcalloc(clusters, sizeof *g->cluster_total);
  size_t *fill = xcalloc(clusters, sizeof *fill);
  for (size_t c = 0; c < clusters; c++) {
    g->members[c] = xcalloc(g->member_count[c], sizeof **g->members);
    g->member_cdf[c] = xcalloc(g->member_count[c], sizeof **g->member_cdf);
  }
  g->all_cdf = xcalloc(items, sizeof *g->all_cdf);
  for (size_t i = 0; i < items; i++) {
    size_t c = g->cluster_of[i];
    g->members[c][fill[c]] = i;
    g->cluster_total[c] += g->weight[i];
    g->member_cdf[c][fill[c]++] = g->cluster_total[c];
    g->all_total += g->weight[i];
    g->all_cdf[i] = g->all_total;
  }
  free(fill);

  g->primary = xcalloc(users, sizeof *g->primary);
  g->secondary = xcalloc(users, sizeof *g->secondary);
  g->start = xcalloc(users + 1, sizeof *g->start);
  size_t cap = users * 50;
  g->item = xcalloc(cap, sizeof *g->item);
  unsigned char *seen = xcalloc(items, 1);
  for (size_t u = 0; u < users; u++) {
    g->primary[u] = rng_below(clusters);
    g->secondary[u] = clusters > 1 ? (g->primary[u] + 1 + rng_below(clusters - 1)) % clusters : 0;
    size_t n = 20 + rng_below(31);
    if (n > items / 2)
      n = items / 2 > 2 ? items / 2 : 2;
    g->start[u] = g->pairs;
    for (size_t k = 0, tries = 0; k < n && tries < 100 * n; tries++) {
      size_t i = gen_draw(g, u);
      if (seen[i])
        continue; /* distinct items: a re-watch would only add to the pair */
      seen[i] = 1;
      g->item[g->pairs++] = i;
      k++;
    }
    for (size_t k = g->start[u]; k < g->pairs; k++)
      seen[g->item[k]] = 0;
  }
  g->start[users] = g->pairs;
  free(seen);
}

static void gen_free(gen *g)
{
  for (size_t c = 0; c < g->clusters; c++) {
    free(g->members[c]);
    free(g->member_cdf[c]);
  }
  free(g->members);
  free(g->member_cdf);
  free(g->member_count);
  free(g->cluster_total);
  free(g->cluster_of);
  free(g->weight);
  free(g->all_cdf);
  free(g->primary);
  free(g->secondary);
  free(g->start);
  free(g->item);
}

static void user_id(char *buf, size_t n, size_t u)
{
  snprintf(buf, n, "u%07zu", u);
}

static void item_id(char *buf, size_t n, size_t i)
{
  snprintf(buf, n, "t%06zu", i);
}

/* The interactions as a stream_recs_data: timestamps increase within each
 * user (minutes to a day apart, from a start within 60 days); strength is
 * the watched fraction, plus 1 for a completion (more likely in the primary
 * cluster). */
static stream_recs_data *gen_data(const gen *g, uint64_t seed)
{
  stream_recs_data *d = NULL;
  CHECK("stream_recs_data_new", stream_recs_data_new(&d));
  rng_state = seed ^ 0x5bd1e995ULL;
  char uid[32], iid[32];
  for (size_t i = 0; i < g->items; i++) {
    item_id(iid, sizeof iid, i);
    CHECK("stream_recs_data_add_item", stream_recs_data_add_item(d, iid));
  }
  for (size_t u = 0; u < g->users; u++) {
    user_id(uid, sizeof uid, u);
    int64_t ts = 1767225600 + (int64_t)rng_below(60 * 86400);
    for (size_t k = g->start[u]; k < g->start[u + 1]; k++) {
      size_t i = g->item[k];
      size_t c = g->cluster_of[i];
      double p_done = c == g->primary[u] ? 0.5 : c == g->secondary[u] ? 0.3 : 0.1;
      double r = rng_unit() < p_done ? 2.0 : 0.05 + 0.9 * rng_unit();
      ts += 60 + (int64_t)rng_below(86400);
      item_id(iid, sizeof iid, i);
      CHECK("stream_recs_data_add", stream_recs_data_add(d, uid, iid, r, ts));
    }
  }
  return d;
}

/* Oracle recall@K (hit rate) for leave-last-out: each user's last item
 * against the top K of the generator's own probabilities over the items the
 * user has not seen. */
static double gen_oracle_recall(const gen *g, size_t k)
{
  double *p = xcalloc(g->items, sizeof *p);
  unsigned char *seen = xcalloc(g->items, 1);
  size_t hits = 0, users = 0;
  for (size_t u = 0; u < g->users; u++) {
    size_t s = g->start[u], e = g->start[u + 1];
    if (e - s < 2)
      continue;
    users++;
    size_t last = g->item[e - 1];
    for (size_t j = s; j < e - 1; j++)
      seen[g->item[j]] = 1;
    double pl = gen_prob(g, u, last);
    size_t better = 0; /* unseen items strictly more probable than the held-out one */
    for (size_t i = 0; i < g->items && better < k; i++)
      if (!seen[i] && i != last && gen_prob(g, u, i) > pl)
        better++;
    if (better < k)
      hits++;
    for (size_t j = s; j < e - 1; j++)
      seen[g->item[j]] = 0;
  }
  free(p);
  free(seen);
  return users ? (double)hits / (double)users : 0.0;
}

/* ---- training and evaluation -------------------------------------------- */

typedef struct progress_log {
  double t0, t_als; /* start; last callback of the ALS half-sweeps */
  unsigned int als_steps;
} progress_log;

static int on_progress(void *ud, unsigned int done, unsigned int total)
{
  progress_log *p = ud;
  (void)total;
  if (done <= p->als_steps)
    p->t_als = now_s();
  return 0;
}

static stream_recs_model *train(const stream_recs_data *d, const stream_recs_options *o,
                                double *secs, double *als_secs)
{
  stream_recs_model *m = NULL;
  progress_log p = {now_s(), 0, 2 * o->iterations};
  CHECK("stream_recs_train", stream_recs_train(&m, d, o, on_progress, &p));
  double t1 = now_s();
  *secs = t1 - p.t0;
  if (als_secs)
    *als_secs = p.t_als > 0 ? p.t_als - p.t0 : -1;
  return m;
}

static const char *method_name(int method)
{
  return method == STREAM_RECS_ALS        ? "als"
         : method == STREAM_RECS_ITEM_KNN ? "item-knn"
                                          : "popular";
}

/* Evaluate the three methods at K_TOP on `test`; prints the table and the
 * ALS / popularity ratios. `oracle` < 0 = unknown. */
static void quality_table(const stream_recs_model *m, const stream_recs_data *test, double oracle)
{
  static const int methods[] = {STREAM_RECS_ALS, STREAM_RECS_ITEM_KNN, STREAM_RECS_POPULAR};
  stream_recs_metrics mt[3];
  printf("  %-10s %10s %10s %10s %8s %9s\n", "method", "recall@10", "NDCG@10", "MAP@10", "users",
         "eval s");
  for (int i = 0; i < 3; i++) {
    double t0 = now_s();
    CHECK("stream_recs_evaluate", stream_recs_evaluate(&mt[i], m, test, methods[i], K_TOP));
    printf("  %-10s %10.4f %10.4f %10.4f %8zu %9.2f\n", method_name(methods[i]), mt[i].recall,
           mt[i].ndcg, mt[i].map, mt[i].users, now_s() - t0);
  }
  if (oracle >= 0)
    printf("  %-10s %10.4f %10s %10s   (the generator's own probabilities)\n", "oracle", oracle,
           "-", "-");
  printf("  ratios ALS / popularity: recall %.2f, NDCG %.2f, MAP %.2f; item-kNN / popularity: "
         "recall %.2f, NDCG %.2f\n",
         mt[2].recall > 0 ? mt[0].recall / mt[2].recall : 0.0,
         mt[2].ndcg > 0 ? mt[0].ndcg / mt[2].ndcg : 0.0,
         mt[2].map > 0 ? mt[0].map / mt[2].map : 0.0,
         mt[2].recall > 0 ? mt[1].recall / mt[2].recall : 0.0,
         mt[2].ndcg > 0 ? mt[1].ndcg / mt[2].ndcg : 0.0);
  if (oracle > 0)
    printf("  ALS recall / oracle recall: %.2f\n", mt[0].recall / oracle);
}

static void print_counts(const char *label, const stream_recs_data *d)
{
  size_t u = 0, i = 0, p = 0;
  CHECK("stream_recs_data_counts", stream_recs_data_counts(d, &u, &i, &p));
  printf("  %-6s %8zu users %7zu items %9zu pairs\n", label, u, i, p);
}

/* ---- serving latency ------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void percentiles(double *us, size_t n, double *p50, double *p99)
{
  qsort(us, n, sizeof *us, cmp_double);
  *p50 = us[n / 2];
  *p99 = us[(size_t)((double)(n - 1) * 0.99)];
}

typedef struct scored {
  uint32_t item;
  double score;
  const char *id;
} scored;

static int cmp_scored(const void *a, const void *b)
{
  const scored *x = a, *y = b;
  if (x->score != y->score)
    return x->score > y->score ? -1 : 1;
  return strcmp(x->id, y->id);
}

/* The baseline: every item scored with the model's own factors (float
 * products, double sums), the user's history left out, qsort of all items,
 * the first k copied. Returns the count. */
static size_t naive_topk(stream_recs_item *out, size_t k, const stream_recs_model *m, size_t u,
                         scored *buf, unsigned char *mark)
{
  size_t f = m->factors, n = m->items.count;
  const float *xu = m->x + u * f;
  for (size_t e = m->ui.ptr[u]; e < m->ui.ptr[u + 1]; e++)
    mark[m->ui.idx[e]] = 1;
  size_t c = 0;
  for (size_t i = 0; i < n; i++) {
    if (mark[i])
      continue;
    const float *yi = m->y + i * f;
    double s = 0;
    for (size_t j = 0; j < f; j++)
      s += (double)(xu[j] * yi[j]);
    buf[c].item = (uint32_t)i;
    buf[c].score = s;
    buf[c].id = m->items.names[i];
    c++;
  }
  for (size_t e = m->ui.ptr[u]; e < m->ui.ptr[u + 1]; e++)
    mark[m->ui.idx[e]] = 0;
  qsort(buf, c, sizeof *buf, cmp_scored);
  size_t r = c < k ? c : k;
  for (size_t i = 0; i < r; i++) {
    out[i].id = buf[i].id;
    out[i].score = buf[i].score;
  }
  return r;
}

/* A filter of the kind the service uses (maturity, region...): ~70 % of the
 * catalog allowed, looked up by the item's number. */
typedef struct allow_list {
  const unsigned char *ok;
  size_t n;
} allow_list;

static int keep_allowed(void *ud, const char *item)
{
  const allow_list *a = ud;
  size_t i = (size_t)strtoul(item + 1, NULL, 10);
  return i < a->n && a->ok[i];
}

typedef enum serve_kind {
  SERVE_ALS,
  SERVE_ALS_FILTER,
  SERVE_ALS_HISTORY,
  SERVE_KNN,
  SERVE_POPULAR,
  SERVE_SIMILAR,
  SERVE_NAIVE,
  SERVE_KINDS
} serve_kind;

static const char *const serve_names[SERVE_KINDS] = {
    "recommend ALS",          "recommend ALS + filter", "recommend ALS, fresh history",
    "recommend item-kNN",     "recommend popular",      "similar (item-kNN)",
    "baseline: score + qsort"};

static void serving(const gen *g, const stream_recs_model *m, size_t queries)
{
  size_t n_items = m->items.count;
  stream_recs_item out[K_TOP], ref[K_TOP];
  scored *buf = xcalloc(n_items, sizeof *buf);
  unsigned char *mark = xcalloc(n_items, 1);
  unsigned char *ok = xcalloc(g->items, 1);
  for (size_t i = 0; i < g->items; i++)
    ok[i] = rng_unit() < 0.7;
  allow_list allow = {ok, g->items};
  double *lat[SERVE_KINDS];
  for (int s = 0; s < SERVE_KINDS; s++)
    lat[s] = xcalloc(queries, sizeof *lat[s]);
  size_t agree = 0, compared = 0;
  const char *hist_ids[64];
  double hist_r[64];
  char hist_buf[64][32];
  char uid[32];

  for (int pass = 0; pass < 2; pass++) { /* pass 0 warms caches, pass 1 measures */
    size_t nq = pass ? queries : queries / 10 + 1;
    for (size_t q = 0; q < nq; q++) {
      size_t u = (q * 7919) % g->users;
      user_id(uid, sizeof uid, u);
      int64_t ux = recs__strtab_find(&m->users, uid);
      if (ux < 0)
        continue;
      size_t nh = 0;
      for (size_t k = g->start[u]; k < g->start[u + 1] && nh < 64; k++, nh++) {
        item_id(hist_buf[nh], sizeof hist_buf[nh], g->item[k]);
        hist_ids[nh] = hist_buf[nh];
        hist_r[nh] = 1.0;
      }
      /* interleaved, so load from other processes hits every variant alike */
      for (int s = 0; s < SERVE_KINDS; s++) {
        stream_recs_query qy = STREAM_RECS_QUERY_INIT;
        qy.k = K_TOP;
        qy.user = uid;
        size_t cnt = 0;
        double t0 = 0;
        switch (s) {
        case SERVE_ALS_FILTER:
          qy.keep = keep_allowed;
          qy.keep_userdata = &allow;
          break;
        case SERVE_ALS_HISTORY:
          qy.user = NULL;
          qy.history_items = hist_ids;
          qy.history_r = hist_r;
          qy.history_count = nh;
          break;
        case SERVE_KNN:
          qy.method = STREAM_RECS_ITEM_KNN;
          break;
        case SERVE_POPULAR:
          qy.method = STREAM_RECS_POPULAR;
          break;
        default:
          break;
        }
        if (s == SERVE_NAIVE) {
          t0 = now_s();
          cnt = naive_topk(ref, K_TOP, m, (size_t)ux, buf, mark);
        } else if (s == SERVE_SIMILAR) {
          t0 = now_s();
          CHECK("stream_recs_similar",
                stream_recs_similar(out, &cnt, m, hist_ids[0], K_TOP, NULL, NULL));
        } else {
          t0 = now_s();
          CHECK("stream_recs_recommend", stream_recs_recommend(out, &cnt, NULL, m, &qy));
        }
        double us = (now_s() - t0) * 1e6;
        if (pass)
          lat[s][q] = us;
        if (s == SERVE_NAIVE && pass) { /* the ALS answer again, untimed, against it */
          stream_recs_query qa = STREAM_RECS_QUERY_INIT;
          qa.k = K_TOP;
          qa.user = uid;
          size_t ca = 0;
          CHECK("stream_recs_recommend", stream_recs_recommend(out, &ca, NULL, m, &qa));
          int same = ca == cnt;
          for (size_t i = 0; same && i < ca; i++)
            same = strcmp(out[i].id, ref[i].id) == 0;
          agree += (size_t)same;
          compared++;
        }
      }
    }
  }
  double p50[SERVE_KINDS], p99[SERVE_KINDS];
  for (int s = 0; s < SERVE_KINDS; s++)
    percentiles(lat[s], queries, &p50[s], &p99[s]);
  printf("  %-30s %10s %10s %16s\n", "top-10 call", "p50 us", "p99 us", "p50 / baseline");
  for (int s = 0; s < SERVE_KINDS; s++)
    printf("  %-30s %10.1f %10.1f %16.3f\n", serve_names[s], p50[s], p99[s],
           p50[s] / p50[SERVE_NAIVE]);
  printf("  ALS top-10 equal to the baseline's for %zu of %zu users\n", agree, compared);
  printf("  target: top-K < 1000 us: ALS p99 %.1f us, ALS + filter p99 %.1f us\n", p99[SERVE_ALS],
         p99[SERVE_ALS_FILTER]);
  for (int s = 0; s < SERVE_KINDS; s++)
    free(lat[s]);
  free(buf);
  free(mark);
  free(ok);
}

/* ---- a public data set file (optional) ------------------------------------ */

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static stream_recs_data *load_file(const char *path, int64_t *out_cutoff)
{
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "bench_recs: cannot open %s\n", path);
    exit(1);
  }
  stream_recs_data *d = NULL;
  CHECK("stream_recs_data_new", stream_recs_data_new(&d));
  char line[1024];
  size_t n = 0, cap = 1024, bad = 0;
  int64_t *ts_all = xcalloc(cap, sizeof *ts_all);
  while (fgets(line, sizeof line, f)) {
    char *fld[4] = {0};
    int nf = 0;
    char *p = line;
    while (nf < 4 && p) {
      fld[nf++] = p;
      char *sep = strpbrk(p, "\t,:\r\n");
      if (!sep) {
        p = NULL;
        break;
      }
      int dbl = sep[0] == ':' && sep[1] == ':';
      if (sep[0] == ':' && !dbl) {
        p = NULL; /* a lone ':' is not a separator we know */
        break;
      }
      *sep = '\0';
      p = sep + (dbl ? 2 : 1);
    }
    char *end = NULL;
    double r = nf >= 3 ? strtod(fld[2], &end) : 0;
    long long ts = nf >= 4 ? strtoll(fld[3], NULL, 10) : 0;
    if (nf < 4 || end == fld[2] || !*fld[0] || !*fld[1] || ts < 0 ||
        stream_recs_data_add(d, fld[0], fld[1], r > 0 ? r : 0, ts) != STREAM_OK) {
      bad++; /* a header line or a malformed one */
      continue;
    }
    if (n == cap)
      ts_all = realloc(ts_all, (cap *= 2) * sizeof *ts_all);
    if (!ts_all) {
      fprintf(stderr, "bench_recs: out of memory\n");
      exit(1);
    }
    ts_all[n++] = ts;
  }
  fclose(f);
  qsort(ts_all, n, sizeof *ts_all, cmp_i64);
  *out_cutoff = n ? ts_all[(size_t)((double)n * 0.9)] : 0;
  free(ts_all);
  printf("  %s: %zu lines read, %zu skipped\n", path, n, bad);
  return d;
}

/* ---- main ------------------------------------------------------------------ */

static size_t arg_size(const char *name, const char *v)
{
  char *end = NULL;
  unsigned long long x = v ? strtoull(v, &end, 10) : 0;
  if (!v || end == v || *end || x == 0) {
    fprintf(stderr, "bench_recs: %s needs a positive integer\n", name);
    exit(2);
  }
  return (size_t)x;
}

static double arg_real(const char *name, const char *v)
{
  char *end = NULL;
  double x = v ? strtod(v, &end) : 0;
  if (!v || end == v || *end || !(x >= 0)) {
    fprintf(stderr, "bench_recs: %s needs a number >= 0\n", name);
    exit(2);
  }
  return x;
}

static void file_quality(const char *path, const stream_recs_options *o)
{
  int64_t cutoff = 0;
  stream_recs_data *d = load_file(path, &cutoff);
  print_counts("all", d);
  stream_recs_data *train_d = NULL, *test_d = NULL;
  double secs = 0;
  CHECK("stream_recs_data_split_last", stream_recs_data_split_last(&train_d, &test_d, d, 2));
  stream_recs_model *m = train(train_d, o, &secs, NULL);
  printf("  leave-last-out split, trained in %.2f s:\n", secs);
  quality_table(m, test_d, -1);
  stream_recs_model_free(m);
  stream_recs_data_free(train_d);
  stream_recs_data_free(test_d);
  CHECK("stream_recs_data_split_time", stream_recs_data_split_time(&train_d, &test_d, d, cutoff));
  m = train(train_d, o, &secs, NULL);
  printf("  temporal split at ts %lld (the latest 10 %% of pairs tested), trained in %.2f s:\n",
         (long long)cutoff, secs);
  print_counts("test", test_d);
  quality_table(m, test_d, -1);
  stream_recs_model_free(m);
  stream_recs_data_free(train_d);
  stream_recs_data_free(test_d);
  stream_recs_data_free(d);
}

/* Sections 1 (quality on generated data) and 2 (threads=1 against threads=2). */
static void section_generated(size_t users, size_t items, size_t clusters, uint64_t seed,
                              const stream_recs_options *opts, int scaling)
{
  printf("\n1. generated data: %zu users, %zu items, %zu hidden clusters, Zipf s=%.1f, "
         "20-50 items a user (%.0f %% primary cluster, %.0f %% secondary, %.0f %% anywhere), "
         "seed %llu\n",
         users, items, clusters, ZIPF_S, MIX_PRIMARY * 100, MIX_SECONDARY * 100, MIX_ANY * 100,
         (unsigned long long)seed);
  gen g;
  double t0 = now_s();
  gen_build(&g, users, items, clusters, seed);
  stream_recs_data *d = gen_data(&g, seed);
  stream_recs_data *train_d = NULL, *test_d = NULL;
  CHECK("stream_recs_data_split_last", stream_recs_data_split_last(&train_d, &test_d, d, 2));
  printf("  generated and split (leave-last-out) in %.2f s\n", now_s() - t0);
  print_counts("all", d);
  print_counts("train", train_d);
  print_counts("test", test_d);

  stream_recs_options o = *opts;
  o.threads = 2;
  double t2 = 0, als2 = 0, t1 = 0;
  stream_recs_model *m2 = train(train_d, &o, &t2, &als2);
  char *info = NULL;
  CHECK("stream_recs_model_info", stream_recs_model_info(&info, m2));
  printf("  model: %s\n", info);
  stream_free(info);
  if (als2 > 0)
    printf("  training (threads=2): %.2f s: ALS %.2f s, item-kNN neighbours + popularity %.2f s\n",
           t2, als2, t2 - als2);
  else
    printf("  training (threads=2): %.2f s (ALS, item-kNN neighbours and popularity)\n", t2);
  t0 = now_s();
  double oracle = gen_oracle_recall(&g, K_TOP);
  printf("  leave-last-out, K=%d (oracle computed in %.2f s):\n", K_TOP, now_s() - t0);
  quality_table(m2, test_d, oracle);

  if (scaling) {
    printf("\n2. training threads=1 against threads=2 (same data and options)\n");
    o.threads = 1;
    stream_recs_model *m1 = train(train_d, &o, &t1, NULL);
    int same = m1->factors == m2->factors && m1->users.count == m2->users.count &&
               m1->items.count == m2->items.count &&
               !memcmp(m1->x, m2->x, m1->users.count * m1->factors * sizeof(float)) &&
               !memcmp(m1->y, m2->y, m1->items.count * m1->factors * sizeof(float));
    printf("  threads=1 %.2f s, threads=2 %.2f s: speed-up %.2f; factors bitwise identical: %s\n",
           t1, t2, t2 > 0 ? t1 / t2 : 0.0, same ? "yes" : "NO");
    stream_recs_model_free(m1);
  }
  stream_recs_model_free(m2);
  stream_recs_data_free(train_d);
  stream_recs_data_free(test_d);
  stream_recs_data_free(d);
  gen_free(&g);
}

/* Section 3: the serving model, its file, and top-K latency. */
static void section_serving(size_t serve_users, size_t serve_items, size_t clusters, uint64_t seed,
                            const stream_recs_options *opts, size_t queries)
{
  size_t serve_iters = 5;
  stream_recs_options o = *opts;
  printf("\n3. serving: %zu items, %zu users, %u factors (%zu ALS iterations: latency does not "
         "depend on them), %zu queries a variant, K=%d\n",
         serve_items, serve_users, o.factors, serve_iters, queries, K_TOP);
  gen g;
  gen_build(&g, serve_users, serve_items, clusters, seed + 1);
  stream_recs_data *d = gen_data(&g, seed + 1);
  o.threads = 0;
  o.iterations = (unsigned int)serve_iters;
  double ts = 0, t0;
  stream_recs_model *ms = train(d, &o, &ts, NULL);
  printf("  trained in %.2f s\n", ts);
  char path[] = "/tmp/bench_recs_XXXXXX";
  int fd = mkstemp(path);
  if (fd >= 0) {
    close(fd);
    t0 = now_s();
    CHECK("stream_recs_model_save", stream_recs_model_save(ms, path));
    double t_save = now_s() - t0;
    FILE *f = fopen(path, "rb");
    long bytes = -1;
    if (f) {
      fseek(f, 0, SEEK_END);
      bytes = ftell(f);
      fclose(f);
    }
    stream_recs_model *ml = NULL;
    t0 = now_s();
    CHECK("stream_recs_model_load", stream_recs_model_load(&ml, path));
    double t_load = now_s() - t0;
    printf("  model file: %.1f MiB, saved in %.0f ms (fsync included), loaded in %.0f ms\n",
           (double)bytes / 1048576.0, t_save * 1e3, t_load * 1e3);
    stream_recs_model_free(ml);
    unlink(path);
  }
  serving(&g, ms, queries);
  stream_recs_model_free(ms);
  stream_recs_data_free(d);
  gen_free(&g);
}

int main(int argc, char **argv)
{
  size_t users = 20000, items = 5000, clusters = 20, factors = 64, iterations = 15;
  size_t serve_items = 10000, serve_users = 10000, queries = 2000;
  uint64_t seed = 42;
  double alpha = -1, reg = -1;
  size_t only = 0;
  const char *data_path = NULL;
  int quick = getenv("BENCH_RECS_QUICK") != NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--quick")) {
      quick = 1;
      continue;
    }
    if (!strcmp(a, "--data")) {
      if (!v) {
        fprintf(stderr, "bench_recs: --data needs a file\n");
        return 2;
      }
      data_path = v;
    } else if (!strcmp(a, "--users"))
      users = arg_size(a, v);
    else if (!strcmp(a, "--items"))
      items = arg_size(a, v);
    else if (!strcmp(a, "--clusters"))
      clusters = arg_size(a, v);
    else if (!strcmp(a, "--factors"))
      factors = arg_size(a, v);
    else if (!strcmp(a, "--iterations"))
      iterations = arg_size(a, v);
    else if (!strcmp(a, "--serve-items"))
      serve_items = arg_size(a, v);
    else if (!strcmp(a, "--serve-users"))
      serve_users = arg_size(a, v);
    else if (!strcmp(a, "--queries"))
      queries = arg_size(a, v);
    else if (!strcmp(a, "--seed"))
      seed = arg_size(a, v);
    else if (!strcmp(a, "--alpha"))
      alpha = arg_real(a, v);
    else if (!strcmp(a, "--regularization"))
      reg = arg_real(a, v);
    else if (!strcmp(a, "--only"))
      only = arg_size(a, v);
    else {
      fprintf(stderr, "usage: bench_recs [--users N] [--items N] [--clusters K] [--factors F] "
                      "[--iterations N] [--alpha A] [--regularization L] [--serve-items N] "
                      "[--serve-users N] [--queries N] [--seed S] [--data FILE] [--only 1|2|3|4] "
                      "[--quick]\n");
      return 2;
    }
    i++;
  }
  if (quick) {
    users = users / 4 > 100 ? users / 4 : 100;
    items = items / 4 > 100 ? items / 4 : 100;
    serve_users = serve_users / 4 > 100 ? serve_users / 4 : 100;
    queries = queries / 4 > 100 ? queries / 4 : 100;
  }
  if (clusters > items)
    clusters = items;
  if (items < 4 || serve_items < 4) {
    fprintf(stderr, "bench_recs: at least 4 items\n");
    return 2;
  }

  printf("bench_recs: %ld cores online, compiler %s, libstream %s%s\n",
         sysconf(_SC_NPROCESSORS_ONLN),
#if defined(__clang__)
         "clang " __clang_version__,
#elif defined(__GNUC__)
         "gcc " __VERSION__,
#else
         "unknown",
#endif
         stream_version(), quick ? " (quick mode: sizes divided by 4)" : "");

  stream_recs_options o = STREAM_RECS_OPTIONS_INIT;
  o.factors = (unsigned int)factors;
  o.iterations = (unsigned int)iterations;
  o.seed = seed;
  if (alpha >= 0)
    o.alpha = alpha;
  if (reg >= 0)
    o.regularization = reg;
  printf("options: factors %u, iterations %u, cg_steps %u, alpha %g, regularization %g, "
         "neighbours %u, half-life %g days\n",
         o.factors, o.iterations, o.cg_steps, o.alpha, o.regularization, o.neighbours,
         o.half_life_days);
  if (!only || only <= 2)
    section_generated(users, items, clusters, seed, &o, !only || only == 2);
  if (!only || only == 3)
    section_serving(serve_users, serve_items, clusters, seed, &o, queries);
  if (!only || only == 4) {
    if (data_path) {
      printf("\n4. public data set %s\n", data_path);
      file_quality(data_path, &o);
    } else {
      printf("\n4. public data set: none given (--data FILE); none is packaged in the Debian or "
             "npm registries (docs/bench.md, \"Recommendations\")\n");
    }
  }
  return 0;
}
