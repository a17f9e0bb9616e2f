/* Unit tests for the recs item-item neighbours (knn.c), time-decayed popularity (pop.c) and the
 * ranking metrics (eval.c): hand-built data with values worked out by hand in the comments,
 * through the public API, plus the model's internal layout (static library) to read the exact
 * neighbour lists and popularity the training stored. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "recs/recs_internal.h"
#include "stream/recs.h"

#define T0 1700000000
#define WEEK (7 * 86400)
#define EPS 1e-6

static void add(stream_recs_data *d, const char *user, const char *item, double r, int64_t ts)
{
  ck_assert_int_eq(stream_recs_data_add(d, user, item, r, ts), STREAM_OK);
}

/* Small, quick training options: the tests here are about knn, pop and eval. */
static stream_recs_options quick_options(void)
{
  stream_recs_options o = STREAM_RECS_OPTIONS_INIT;
  o.factors = 2;
  o.iterations = 1;
  o.threads = 1;
  o.alpha = 1.0;
  o.neighbours = 10;
  o.model_version = 7;
  return o;
}

static stream_recs_model *train(const stream_recs_data *d, const stream_recs_options *o)
{
  stream_recs_model *m = NULL;
  ck_assert_int_eq(stream_recs_train(&m, d, o, NULL, NULL), STREAM_OK);
  ck_assert_ptr_nonnull(m);
  return m;
}

static uint32_t item_index(const stream_recs_model *m, const char *id)
{
  int64_t i = recs__strtab_find(&m->items, id);
  ck_assert_int_ge(i, 0);
  return (uint32_t)i;
}

/* Item `id`'s stored neighbour list must be exactly `want` (ids, best first) with similarities
 * `sims`, then padding. */
static void check_neighbours(const stream_recs_model *m, const char *id, const char *const *want,
                             const double *sims, size_t n)
{
  uint32_t i = item_index(m, id);
  ck_assert_uint_ge(m->nbr_k, n);
  const uint32_t *ni = m->nbr_idx + (size_t)i * m->nbr_k;
  const float *ns = m->nbr_sim + (size_t)i * m->nbr_k;
  for (size_t t = 0; t < m->nbr_k; t++) {
    if (t < n) {
      ck_assert_uint_eq(ni[t], item_index(m, want[t]));
      ck_assert_double_eq_tol(ns[t], sims[t], EPS);
    } else {
      ck_assert_uint_eq(ni[t], UINT32_MAX);
      ck_assert(ns[t] == 0.0f);
    }
  }
}

/*
 * The hand case (alpha = 1, so the confidence weight is w = 1 + r):
 *   u1: A r=1, B r=1          -> w 2, 2
 *   u2: A r=1, B r=3          -> w 2, 4
 *   u3: C r=1, D r=1          -> w 2, 2
 *   u4: B r=1, C r=1          -> w 2, 2
 * Item columns (users u1..u4): A = (2,2,0,0), B = (2,4,0,2), C = (0,0,2,2), D = (0,0,2,0).
 *   |A| = sqrt 8, |B| = sqrt 24, |C| = sqrt 8, |D| = 2.
 *   A.B = 4 + 8 = 12 -> cos = 12 / sqrt 192 = sqrt(3)/2  = 0.8660254
 *   B.C = 4          -> cos = 4 / sqrt 192  = 1/(2 sqrt 3) = 0.2886751
 *   C.D = 4          -> cos = 4 / (sqrt 8 * 2) = 1/sqrt 2 = 0.7071068
 *   A.C = A.D = B.D = 0: never co-watched, so no neighbour entry.
 * (Unweighted, A.B would be 2/sqrt 6 = 0.816: the confidence weighting shows.)
 */
static stream_recs_data *hand_data(void)
{
  stream_recs_data *d = NULL;
  ck_assert_int_eq(stream_recs_data_new(&d), STREAM_OK);
  add(d, "u1", "A", 1, T0);
  add(d, "u1", "B", 1, T0);
  add(d, "u2", "A", 1, T0);
  add(d, "u2", "B", 3, T0);
  add(d, "u3", "C", 1, T0);
  add(d, "u3", "D", 1, T0);
  add(d, "u4", "B", 1, T0);
  add(d, "u4", "C", 1, T0);
  return d;
}

static const double AB = 0.86602540378443865; /* sqrt(3)/2 */
static const double BC = 0.28867513459481287; /* 1/(2 sqrt 3) */
static const double CD = 0.70710678118654752; /* 1/sqrt 2 */

START_TEST(test_knn_hand_cosines)
{
  stream_recs_data *d = hand_data();
  stream_recs_options o = quick_options();
  stream_recs_model *m = train(d, &o);
  ck_assert_uint_eq(m->nbr_k, 10);

  const char *a[] = {"B"}, *b[] = {"A", "C"}, *c[] = {"D", "B"}, *dd[] = {"C"};
  const double sa[] = {AB}, sb[] = {AB, BC}, sc[] = {CD, BC}, sd[] = {CD};
  check_neighbours(m, "A", a, sa, 1);
  check_neighbours(m, "B", b, sb, 2);
  check_neighbours(m, "C", c, sc, 2);
  check_neighbours(m, "D", dd, sd, 1);

  /* Through the public API: B is A's most similar item, at the cosine worked out above; C comes
   * after B (only the ALS fallback can list it at all). */
  stream_recs_item out[3];
  size_t n = 0;
  ck_assert_int_eq(stream_recs_similar(out, &n, m, "A", 1, NULL, NULL), STREAM_OK);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(out[0].id, "B");
  ck_assert_double_eq_tol(out[0].score, AB, EPS);
  ck_assert_int_eq(stream_recs_similar(out, &n, m, "A", 3, NULL, NULL), STREAM_OK);
  ck_assert_uint_ge(n, 1);
  ck_assert_str_eq(out[0].id, "B");
  for (size_t i = 0; i < n; i++) {
    ck_assert_str_ne(out[i].id, "A");
  }
  ck_assert_int_eq(stream_recs_similar(out, &n, m, "B", 2, NULL, NULL), STREAM_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(out[0].id, "A");
  ck_assert_double_eq_tol(out[0].score, AB, EPS);
  ck_assert_str_eq(out[1].id, "C");
  ck_assert_double_eq_tol(out[1].score, BC, EPS);
  ck_assert_int_eq(stream_recs_similar(out, &n, m, "C", 2, NULL, NULL), STREAM_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(out[0].id, "D");
  ck_assert_double_eq_tol(out[0].score, CD, EPS);
  ck_assert_str_eq(out[1].id, "B");
  ck_assert_double_eq_tol(out[1].score, BC, EPS);

  stream_recs_model_free(m);
  stream_recs_data_free(d);
}
END_TEST

/* Only the best `neighbours` are kept, and equal similarities keep the lower item index: one user
 * watched P, Q, R (interned in that order), so cos(P,Q) = cos(P,R) = 1 and P keeps Q. */
START_TEST(test_knn_limit_and_ties)
{
  stream_recs_data *d = hand_data();
  add(d, "u5", "P", 1, T0);
  add(d, "u5", "Q", 1, T0);
  add(d, "u5", "R", 1, T0);
  stream_recs_options o = quick_options();
  o.neighbours = 1;
  stream_recs_model *m = train(d, &o);
  ck_assert_uint_eq(m->nbr_k, 1);
  const char *b[] = {"A"}, *p[] = {"Q"}, *r[] = {"P"};
  const double sb[] = {AB}, one[] = {1.0};
  check_neighbours(m, "B", b, sb, 1);
  check_neighbours(m, "P", p, one, 1);
  check_neighbours(m, "R", r, one, 1);
  stream_recs_model_free(m);

  o.neighbours = 0; /* no neighbours at all: nothing stored */
  m = train(d, &o);
  ck_assert_uint_eq(m->nbr_k, 0);
  stream_recs_model_free(m);
  stream_recs_data_free(d);
}
END_TEST

/*
 * ITEM_KNN scores: sum over the history j of sim(j, i) * c_j, c_j = 1 + alpha r_j, history left
 * out.
 *   u4 (B r=1, C r=1; c = 2, 2): A = AB*2 = sqrt 3 = 1.7320508 (from B);
 *                                D = CD*2 = sqrt 2 = 1.4142136 (from C)  -> top 2: A, D.
 *   u2 (A r=1, B r=3; c = 2, 4): C = BC*4 = 2/sqrt 3 = 1.1547005 (from B) -> top 1: C.
 *   fresh history {D} (r = 1, c = 2): C = CD*2 = sqrt 2                   -> top 1: C.
 */
START_TEST(test_knn_recommend_hand)
{
  stream_recs_data *d = hand_data();
  stream_recs_options o = quick_options();
  stream_recs_model *m = train(d, &o);
  stream_recs_item out[4];
  size_t n = 0;
  int method = 0;

  stream_recs_query q = STREAM_RECS_QUERY_INIT;
  q.method = STREAM_RECS_ITEM_KNN;
  q.k = 2;
  q.user = "u4";
  ck_assert_int_eq(stream_recs_recommend(out, &n, &method, m, &q), STREAM_OK);
  ck_assert_int_eq(method, STREAM_RECS_ITEM_KNN);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(out[0].id, "A");
  ck_assert_double_eq_tol(out[0].score, 2 * AB, 1e-5);
  ck_assert_str_eq(out[1].id, "D");
  ck_assert_double_eq_tol(out[1].score, 2 * CD, 1e-5);

  q.user = "u2";
  q.k = 1;
  ck_assert_int_eq(stream_recs_recommend(out, &n, &method, m, &q), STREAM_OK);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(out[0].id, "C");
  ck_assert_double_eq_tol(out[0].score, 4 * BC, 1e-5);

  const char *hist[] = {"D"};
  q.user = NULL;
  q.history_items = hist;
  q.history_count = 1;
  ck_assert_int_eq(stream_recs_recommend(out, &n, &method, m, &q), STREAM_OK);
  ck_assert_int_eq(method, STREAM_RECS_ITEM_KNN);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(out[0].id, "C");
  ck_assert_double_eq_tol(out[0].score, 2 * CD, 1e-5);

  /* The internal scorer alone, the same sums. */
  double *scores = calloc(m->items.count, sizeof *scores);
  ck_assert_ptr_nonnull(scores);
  uint32_t items[2] = {item_index(m, "A"), item_index(m, "B")};
  float r[2] = {1, 3};
  recs__knn_score(m, items, r, 2, scores);
  ck_assert_double_eq_tol(scores[item_index(m, "C")], 4 * BC, 1e-6);
  ck_assert_double_eq_tol(scores[item_index(m, "A")], 4 * AB, 1e-6); /* B -> A, c_B = 4 */
  ck_assert_double_eq_tol(scores[item_index(m, "B")], 2 * AB, 1e-6); /* A -> B, c_A = 2 */
  ck_assert(scores[item_index(m, "D")] == 0.0);
  free(scores);

  stream_recs_model_free(m);
  stream_recs_data_free(d);
}
END_TEST

/* A deterministic generator for the larger cases. */
static uint64_t rng_next(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

#define GEN_USERS 400
#define GEN_ITEMS 120

/* Users watch ~12 items, skewed towards low item numbers, strengths 0.25..3. */
static stream_recs_data *gen_data(double *dense /* GEN_USERS x GEN_ITEMS r, or NULL */)
{
  stream_recs_data *d = NULL;
  ck_assert_int_eq(stream_recs_data_new(&d), STREAM_OK);
  uint64_t s = 12345;
  char u[16], it[16];
  for (int i = 0; i < GEN_ITEMS; i++) {
    snprintf(it, sizeof it, "i%03d", i);
    ck_assert_int_eq(stream_recs_data_add_item(d, it), STREAM_OK);
  }
  for (int a = 0; a < GEN_USERS; a++) {
    snprintf(u, sizeof u, "u%03d", a);
    for (int t = 0; t < 12; t++) {
      uint64_t x = rng_next(&s);
      int i = (int)((x % GEN_ITEMS) * ((x >> 20) % GEN_ITEMS) / GEN_ITEMS);
      double r = 0.25 * (double)(1 + (x >> 40) % 12);
      snprintf(it, sizeof it, "i%03d", i);
      add(d, u, it, r, T0 - (int64_t)((x >> 8) % (3 * WEEK)));
      if (dense != NULL) {
        dense[a * GEN_ITEMS + i] += r; /* the data set sums a repeated pair's r */
      }
    }
  }
  return d;
}

/* The neighbour lists equal a brute-force dense cosine's top k (ties by index), whatever the
 * thread count. */
START_TEST(test_knn_matches_dense_and_threads)
{
  double *dense = calloc((size_t)GEN_USERS * GEN_ITEMS, sizeof *dense);
  ck_assert_ptr_nonnull(dense);
  stream_recs_data *d = gen_data(dense);
  stream_recs_options o = quick_options();
  o.alpha = 2.5;
  o.neighbours = 15;
  stream_recs_model *m1 = train(d, &o);
  o.threads = 3;
  stream_recs_model *m3 = train(d, &o);
  ck_assert_uint_eq(m1->nbr_k, 15);
  ck_assert_uint_eq(m3->nbr_k, 15);
  size_t cells = m1->items.count * m1->nbr_k;
  ck_assert_uint_eq(m1->items.count, GEN_ITEMS);
  ck_assert(memcmp(m1->nbr_idx, m3->nbr_idx, cells * sizeof *m1->nbr_idx) == 0);
  ck_assert(memcmp(m1->nbr_sim, m3->nbr_sim, cells * sizeof *m1->nbr_sim) == 0);
  ck_assert(memcmp(m1->pop, m3->pop, m1->items.count * sizeof *m1->pop) == 0);

  /* confidence-weighted columns, dense */
  double *w = calloc((size_t)GEN_USERS * GEN_ITEMS, sizeof *w);
  double norm[GEN_ITEMS] = {0};
  ck_assert_ptr_nonnull(w);
  for (int a = 0; a < GEN_USERS; a++) {
    for (int i = 0; i < GEN_ITEMS; i++) {
      double r = dense[a * GEN_ITEMS + i];
      w[a * GEN_ITEMS + i] = r > 0 ? 1 + o.alpha * r : 0;
      norm[i] += w[a * GEN_ITEMS + i] * w[a * GEN_ITEMS + i];
    }
  }
  char id[16];
  size_t full_lists = 0;
  for (int i = 0; i < GEN_ITEMS; i++) {
    float sim[GEN_ITEMS];
    int cand = 0;
    for (int j = 0; j < GEN_ITEMS; j++) {
      double dot = 0;
      for (int a = 0; a < GEN_USERS; a++) {
        dot += w[a * GEN_ITEMS + i] * w[a * GEN_ITEMS + j];
      }
      sim[j] = (j != i && dot > 0) ? (float)(dot / sqrt(norm[i] * norm[j])) : -1.0f;
      cand += sim[j] > 0;
    }
    snprintf(id, sizeof id, "i%03d", i);
    uint32_t mi = item_index(m1, id);
    const uint32_t *ni = m1->nbr_idx + (size_t)mi * m1->nbr_k;
    const float *ns = m1->nbr_sim + (size_t)mi * m1->nbr_k;
    int kept = cand < 15 ? cand : 15;
    full_lists += kept == 15;
    float prev = 2.0f;
    for (int t = 0; t < 15; t++) {
      if (t >= kept) {
        ck_assert_uint_eq(ni[t], UINT32_MAX);
        continue;
      }
      ck_assert_uint_lt(ni[t], GEN_ITEMS);
      int j = atoi(m1->items.names[ni[t]] + 1);
      ck_assert_double_eq_tol(ns[t], sim[j], 1e-5);
      ck_assert(ns[t] <= prev);
      prev = ns[t];
      sim[j] = -2.0f; /* taken */
    }
    /* nothing left out beats the last one kept */
    for (int j = 0; kept > 0 && j < GEN_ITEMS; j++) {
      ck_assert(sim[j] <= ns[kept - 1] + 1e-5f);
    }
  }
  ck_assert_uint_gt(full_lists, GEN_ITEMS / 2); /* the case exercises the limit */

  free(w);
  free(dense);
  stream_recs_model_free(m1);
  stream_recs_model_free(m3);
  stream_recs_data_free(d);
}
END_TEST

/*
 * Popularity, half-life 7 days, now = T0:
 *   X: one pair at T0 (1) and one a week before (0.5)      -> 1.5
 *   Y: one pair a week before                              -> 0.5 exactly
 *   V: one pair two weeks before                           -> 0.25 exactly
 *   Z: one pair after now (counts as now)                  -> 1
 *   W: one pair with unknown time (ts 0, counts as now)    -> 1
 *   E: declared, no pairs                                  -> 0
 * The strength r does not matter.
 */
START_TEST(test_pop_decay)
{
  stream_recs_data *d = NULL;
  ck_assert_int_eq(stream_recs_data_new(&d), STREAM_OK);
  add(d, "u1", "X", 1, T0);
  add(d, "u2", "X", 5, T0 - WEEK);
  add(d, "u1", "Y", 2, T0 - WEEK);
  add(d, "u1", "V", 1, T0 - 2 * WEEK);
  add(d, "u2", "Z", 1, T0 + 3600);
  add(d, "u3", "W", 1, 0);
  ck_assert_int_eq(stream_recs_data_add_item(d, "E"), STREAM_OK);
  stream_recs_options o = quick_options();
  o.now = T0;
  o.half_life_days = 7;
  stream_recs_model *m = train(d, &o);
  ck_assert_ptr_nonnull(m->pop);
  ck_assert_double_eq(m->pop[item_index(m, "X")], 1.5);
  ck_assert_double_eq(m->pop[item_index(m, "Y")], 0.5);
  ck_assert_double_eq(m->pop[item_index(m, "V")], 0.25);
  ck_assert_double_eq(m->pop[item_index(m, "Z")], 1.0);
  ck_assert_double_eq(m->pop[item_index(m, "W")], 1.0);
  ck_assert_double_eq(m->pop[item_index(m, "E")], 0.0);

  /* Cold start ranks by it: X, then W and Z tied at 1 (by id), Y, V. */
  stream_recs_item out[6];
  size_t n = 0;
  int method = 0;
  stream_recs_query q = STREAM_RECS_QUERY_INIT;
  q.method = STREAM_RECS_POPULAR;
  q.k = 5;
  ck_assert_int_eq(stream_recs_recommend(out, &n, &method, m, &q), STREAM_OK);
  ck_assert_int_eq(method, STREAM_RECS_POPULAR);
  ck_assert_uint_eq(n, 5);
  const char *want[] = {"X", "W", "Z", "Y", "V"};
  const double ws[] = {1.5, 1, 1, 0.5, 0.25};
  for (size_t i = 0; i < 5; i++) {
    ck_assert_str_eq(out[i].id, want[i]);
    ck_assert_double_eq_tol(out[i].score, ws[i], 1e-12);
  }
  stream_recs_model_free(m);

  /* now = 0: the latest ts of the data (T0 + 3600) is now, half-life 1 hour: Z 1, X 2^-1 + ... */
  o.now = 0;
  o.half_life_days = 1.0 / 24;
  m = train(d, &o);
  ck_assert_double_eq(m->pop[item_index(m, "Z")], 1.0);
  ck_assert_double_eq_tol(m->pop[item_index(m, "X")], 0.5 + exp2(-(WEEK + 3600) / 3600.0), 1e-15);
  ck_assert_double_eq(m->pop[item_index(m, "W")], 1.0);
  stream_recs_model_free(m);
  stream_recs_data_free(d);
}
END_TEST

/*
 * Metrics by hand, with POPULAR (every pair at T0 = now, so popularity = viewer count):
 *   train: f1: I1 I2 I3 I4 I5 | f2: I2 I3 I4 | f3: I2 I3 | f4: I2 | a: I1 | b: I1 | I6 declared
 *   counts: I1 3, I2 4, I3 3, I4 2, I5 1, I6 0.
 *   a and b leave their history (I1) out, so both get the top 3: I2, I3, I4.
 *   test: a: {I3, I5}; b: {I2, I4, I6}; c: {I2} (c unknown to the model: skipped).
 *   a: n = min(3, 2) = 2; hit at rank 2.
 *      recall = 1/2; DCG = 1/log2 3; IDCG = 1 + 1/log2 3; AP = (1/2) / 2 = 1/4.
 *   b: n = min(3, 3) = 3; hits at ranks 1 and 3.
 *      recall = 2/3; DCG = 1 + 1/log2 4 = 1.5; IDCG = 1 + 1/log2 3 + 1/2;
 *      AP = (1/1 + 2/3) / 3 = 5/9.
 *   means over 2 users: recall = 7/12, MAP = (1/4 + 5/9)/2 = 29/72,
 *   NDCG = (0.6309298/1.6309298 + 1.5/2.1309298)/2 = (0.3868528 + 0.7039180)/2 = 0.5453854.
 * At K = 1 (top: I2): a: n = 1, no hit -> 0, 0, 0; b: n = 1, hit at 1 -> 1, 1, 1; means 1/2.
 */
START_TEST(test_eval_hand)
{
  stream_recs_data *d = NULL, *test = NULL;
  ck_assert_int_eq(stream_recs_data_new(&d), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_new(&test), STREAM_OK);
  const char *f1[] = {"I1", "I2", "I3", "I4", "I5"};
  for (int i = 0; i < 5; i++) {
    add(d, "f1", f1[i], 1, T0);
  }
  add(d, "f2", "I2", 1, T0);
  add(d, "f2", "I3", 1, T0);
  add(d, "f2", "I4", 1, T0);
  add(d, "f3", "I2", 1, T0);
  add(d, "f3", "I3", 1, T0);
  add(d, "f4", "I2", 1, T0);
  add(d, "a", "I1", 1, T0);
  add(d, "b", "I1", 1, T0);
  ck_assert_int_eq(stream_recs_data_add_item(d, "I6"), STREAM_OK);
  add(test, "a", "I3", 1, T0);
  add(test, "a", "I5", 1, T0);
  add(test, "b", "I2", 1, T0);
  add(test, "b", "I4", 1, T0);
  add(test, "b", "I6", 1, T0);
  add(test, "c", "I2", 1, T0);

  stream_recs_options o = quick_options();
  stream_recs_model *m = train(d, &o);
  stream_recs_metrics mt;
  memset(&mt, 0xff, sizeof mt);
  ck_assert_int_eq(stream_recs_evaluate(&mt, m, test, STREAM_RECS_POPULAR, 3), STREAM_OK);
  double l3 = 1.0 / log2(3.0);
  ck_assert_uint_eq(mt.users, 2);
  ck_assert_double_eq_tol(mt.recall, 7.0 / 12, 1e-12);
  ck_assert_double_eq_tol(mt.map, 29.0 / 72, 1e-12);
  ck_assert_double_eq_tol(mt.ndcg, (l3 / (1 + l3) + 1.5 / (1.5 + l3)) / 2, 1e-12);
  ck_assert_double_eq_tol(mt.ndcg, 0.5453854, 1e-7);

  ck_assert_int_eq(stream_recs_evaluate(&mt, m, test, STREAM_RECS_POPULAR, 1), STREAM_OK);
  ck_assert_uint_eq(mt.users, 2);
  ck_assert_double_eq_tol(mt.recall, 0.5, 1e-12);
  ck_assert_double_eq_tol(mt.ndcg, 0.5, 1e-12);
  ck_assert_double_eq_tol(mt.map, 0.5, 1e-12);

  /* A test set of unknown users only: nothing evaluated, all zero. */
  stream_recs_data *cold = NULL;
  ck_assert_int_eq(stream_recs_data_new(&cold), STREAM_OK);
  add(cold, "nobody", "I2", 1, T0);
  ck_assert_int_eq(stream_recs_evaluate(&mt, m, cold, STREAM_RECS_ALS, 10), STREAM_OK);
  ck_assert_uint_eq(mt.users, 0);
  ck_assert(mt.recall == 0 && mt.ndcg == 0 && mt.map == 0);

  stream_recs_data_free(cold);
  stream_recs_model_free(m);
  stream_recs_data_free(test);
  stream_recs_data_free(d);
}
END_TEST

/* The same figures from any thread count and from repeated runs; the metrics stay in [0, 1]. */
START_TEST(test_eval_deterministic)
{
  stream_recs_data *d = gen_data(NULL), *train_d = NULL, *test = NULL;
  ck_assert_int_eq(stream_recs_data_split_last(&train_d, &test, d, 3), STREAM_OK);
  stream_recs_options o = quick_options();
  o.factors = 8;
  o.iterations = 3;
  stream_recs_model *m1 = train(train_d, &o);
  o.threads = 3;
  stream_recs_model *m3 = train(train_d, &o);
  const int methods[] = {STREAM_RECS_ALS, STREAM_RECS_ITEM_KNN, STREAM_RECS_POPULAR};
  for (int i = 0; i < 3; i++) {
    stream_recs_metrics a, b, c;
    ck_assert_int_eq(stream_recs_evaluate(&a, m1, test, methods[i], 10), STREAM_OK);
    ck_assert_int_eq(stream_recs_evaluate(&b, m1, test, methods[i], 10), STREAM_OK);
    ck_assert_int_eq(stream_recs_evaluate(&c, m3, test, methods[i], 10), STREAM_OK);
    ck_assert_uint_eq(a.users, GEN_USERS);
    ck_assert(memcmp(&a, &b, sizeof a) == 0);
    ck_assert(memcmp(&a, &c, sizeof a) == 0);
    ck_assert(a.recall >= 0 && a.recall <= 1);
    ck_assert(a.ndcg >= 0 && a.ndcg <= 1);
    ck_assert(a.map >= 0 && a.map <= a.recall + 1e-12); /* one test item each: AP <= recall */
  }
  stream_recs_model_free(m1);
  stream_recs_model_free(m3);
  stream_recs_data_free(train_d);
  stream_recs_data_free(test);
  stream_recs_data_free(d);
}
END_TEST

START_TEST(test_bad_input)
{
  stream_recs_data *d = hand_data();
  stream_recs_options o = quick_options();
  stream_recs_model *m = train(d, &o);
  stream_recs_metrics mt;
  ck_assert_int_eq(stream_recs_evaluate(NULL, m, d, STREAM_RECS_ALS, 10), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_evaluate(&mt, NULL, d, STREAM_RECS_ALS, 10), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_evaluate(&mt, m, NULL, STREAM_RECS_ALS, 10), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_evaluate(&mt, m, d, 0, 10), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_evaluate(&mt, m, d, 4, 10), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_evaluate(&mt, m, d, STREAM_RECS_ITEM_KNN, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_evaluate(&mt, m, d, STREAM_RECS_ITEM_KNN, STREAM_RECS_K_MAX + 1),
                   STREAM_EINVAL);
  ck_assert_ptr_nonnull(stream_error_last());

  stream_recs_item out[2];
  size_t n = 0;
  stream_recs_query q = STREAM_RECS_QUERY_INIT;
  q.method = 9;
  ck_assert_int_eq(stream_recs_recommend(out, &n, NULL, m, &q), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_similar(out, &n, m, NULL, 2, NULL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_similar(out, &n, m, "nope", 2, NULL, NULL), STREAM_ENOTFOUND);
  stream_recs_model_free(m);

  stream_recs_model *bad = NULL;
  o.neighbours = 1001;
  ck_assert_int_eq(stream_recs_train(&bad, d, &o, NULL, NULL), STREAM_EINVAL);
  o.neighbours = 10;
  o.half_life_days = 0;
  ck_assert_int_eq(stream_recs_train(&bad, d, &o, NULL, NULL), STREAM_EINVAL);
  ck_assert_ptr_null(bad);
  stream_recs_data_free(d);
}
END_TEST

static Suite *recs_knn_suite(void)
{
  Suite *s = suite_create("recs-knn");
  TCase *tc = tcase_create("core");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_knn_hand_cosines);
  tcase_add_test(tc, test_knn_limit_and_ties);
  tcase_add_test(tc, test_knn_recommend_hand);
  tcase_add_test(tc, test_knn_matches_dense_and_threads);
  tcase_add_test(tc, test_pop_decay);
  tcase_add_test(tc, test_eval_hand);
  tcase_add_test(tc, test_eval_deterministic);
  tcase_add_test(tc, test_bad_input);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(recs_knn_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
