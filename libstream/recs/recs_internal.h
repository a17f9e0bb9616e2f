/*
 * recs: internal layout shared by the module's files. data.c owns
 * stream_recs_data; als.c the ALS solver; model.c training orchestration,
 * lookup, top-K, save/load and info; knn.c item-item neighbours; pop.c
 * popularity; eval.c the metrics; service.c (server feature) the service.
 */
#ifndef STREAM_RECS_INTERNAL_H
#define STREAM_RECS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "stream/recs.h"

/* A string interning table: names[i] is the id of index i (owned, NUL
 * terminated); lookup by open addressing over `slots` (cap a power of two,
 * entries are index + 1, 0 = empty). */
typedef struct recs__strtab {
  char **names;
  size_t count, names_cap;
  uint32_t *slots;
  size_t slots_cap;
} recs__strtab;

void recs__strtab_clear(recs__strtab *t);
/* Index of `s`, adding it when absent; STREAM_OK or STREAM_ENOMEM. */
int recs__strtab_intern(recs__strtab *t, const char *s, uint32_t *out_index);
/* Index of `s` or -1. */
int64_t recs__strtab_find(const recs__strtab *t, const char *s);

/* One (user, item) pair of a data set: strengths summed, latest ts kept;
 * `order` is the insertion rank of the pair's latest add (ties in splits). */
typedef struct recs__pair {
  uint32_t user, item;
  double r;
  int64_t ts;
  uint64_t order;
} recs__pair;

struct stream_recs_data {
  recs__strtab users, items;
  recs__pair *pairs;
  size_t pair_count, pair_cap;
  uint64_t adds; /* running insertion counter */
  /* (user, item) -> pair index + 1, open addressing, cap a power of two */
  uint64_t *pair_keys;
  uint32_t *pair_slots;
  size_t pair_slots_cap;
};

/* Compressed sparse rows: row r's entries are idx/val[ptr[r] .. ptr[r+1]),
 * columns ascending. */
typedef struct recs__csr {
  size_t rows;
  size_t *ptr; /* rows + 1 */
  uint32_t *idx;
  float *val;
} recs__csr;

void recs__csr_clear(recs__csr *c);
/* Rows = users (by_item 0) or items (by_item 1) of `d`'s pairs, val = r. */
int recs__csr_build(recs__csr *out, const stream_recs_data *d, int by_item);

struct stream_recs_model {
  uint64_t version;
  int64_t trained_at_ms;
  int64_t train_ms;
  double loss; /* final weighted squared error + regularization, per pair */
  stream_recs_options opts;
  recs__strtab users, items;
  size_t pairs;
  unsigned int factors;
  float *x;     /* users x factors, row major */
  float *y;     /* items x factors, row major */
  recs__csr ui; /* user -> items, val = r (training history) */
  /* item-item neighbours (knn.c): item i's are nbr_idx/nbr_sim[i*nbr_k ..
   * i*nbr_k + nbr_k), best first, padded with UINT32_MAX / 0 */
  unsigned int nbr_k;
  uint32_t *nbr_idx;
  float *nbr_sim;
  double *pop; /* items: time-decayed popularity (pop.c) */
  double *yty; /* factors x factors: Y^T Y for fold-in (derived after train and load, not saved) */
};

/* als.c: m->yty from m->y (allocated here; freed with the model). */
int recs__als_gram(stream_recs_model *m);

/* ALS (als.c): fill m->x and m->y from m->ui (and its transpose) with
 * m->opts; `progress` as in stream_recs_train (total steps given). */
int recs__als_train(stream_recs_model *m, const recs__csr *iu, stream_recs_progress_fn progress,
                    void *userdata, unsigned int step0, unsigned int total);
/* Fold-in (als.c): the user vector (m->factors floats) that ALS would give a
 * user with `n` items `items` of strengths `r` against fixed item factors. */
int recs__als_fold_in(float *out, const stream_recs_model *m, const uint32_t *items, const float *r,
                      size_t n);

/* knn.c: fill nbr_k/nbr_idx/nbr_sim from m->ui and its transpose `iu`
 * (cosine over confidence-weighted columns), m->opts.neighbours kept. */
int recs__knn_build(stream_recs_model *m, const recs__csr *iu);
/* knn.c: scores[i] += sum over history j of sim(j, i) * r_j (scores has
 * m->items.count entries, zeroed by the caller). Precisely: the weight is
 * the confidence c_j = 1 + alpha * r_j (r NULL = r_j 1), the same weight
 * the cosine columns use; the caller passes raw strengths r. */
void recs__knn_score(const stream_recs_model *m, const uint32_t *items, const float *r, size_t n,
                     double *scores);

/* pop.c: m->pop from `d` with m->opts.half_life_days and m->opts.now (0 =
 * latest ts of d): each pair adds 2^(-(now - ts) / half_life) (ts 0 counts
 * as `now`). */
int recs__pop_build(stream_recs_model *m, const stream_recs_data *d);

/* model.c: worker threads for `work` units split in blocks of `block`: `want`
 * (0 = online CPUs), at most `max` and at most the number of blocks, at least 1. */
unsigned int recs__threads(unsigned int want, unsigned int max, size_t work, size_t block);

/* model.c: the best `k` of `scores` (n entries) by score then item id,
 * skipping NaN scores (-INFINITY or NAN marks excluded items), through
 * `keep`; returns the count. */
size_t recs__topk(stream_recs_item *out, size_t k, const stream_recs_model *m, const double *scores,
                  stream_recs_filter_fn keep, void *keep_userdata);
/* model.c: STREAM_OK, or `code` with a message naming the bad option
 * (STREAM_EINVAL for stream_recs_train, STREAM_EPROTO for a model file). */
int recs__check_options(const stream_recs_options *o, int code);

#endif
