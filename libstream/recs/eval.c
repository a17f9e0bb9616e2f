/*
 * recs: offline ranking metrics (stream_recs_evaluate).
 *
 * For every test user the model knows, the top K of stream_recs_recommend()
 * (the user's training history left out, as in serving) is compared with the
 * user's test items T (binary relevance), with n = min(K, |T|):
 *   recall@K = hits / n;
 *   NDCG@K   = sum over hit ranks r of 1/log2(r+1), divided by the ideal
 *              sum over r = 1..n of 1/log2(r+1);
 *   AP@K     = sum over hit ranks r of (hits in 1..r) / r, divided by n;
 * each averaged over the evaluated users. A test item the model does not
 * know stays in T (it counts as missed). Users are ranked on several
 * threads, but each user's figures are written to its own slot and summed
 * afterwards in user order, so the result does not depend on the threads.
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "recs/recs_internal.h"

#define EVAL_BLOCK 16

typedef struct eval_job {
  const stream_recs_model *m;
  const stream_recs_data *test;
  int method;
  size_t k;
  /* test users: the pairs of user u are pair_of[start[u] .. start[u+1]) */
  const size_t *start;
  const size_t *pair_of;
  size_t users;
  double *recall, *ndcg, *map; /* per test user */
  unsigned char *done;         /* per test user: evaluated */
  atomic_size_t next;
} eval_job;

typedef struct eval_worker {
  eval_job *job;
  pthread_t thread;
  int started;
  int rc;
} eval_worker;

/* One user's metrics; `mark` (model items, all zero) flags its test items
 * and is left zero again. Returns 1 when the user was evaluated. */
static int eval_user(const eval_job *job, size_t u, stream_recs_item *out, unsigned char *mark,
                     int *rc)
{
  const stream_recs_model *m = job->m;
  const stream_recs_data *test = job->test;
  size_t b = job->start[u], e = job->start[u + 1];
  if (b == e || recs__strtab_find(&m->users, test->users.names[u]) < 0) {
    return 0;
  }
  for (size_t p = b; p < e; p++) {
    const recs__pair *pr = &test->pairs[job->pair_of[p]];
    int64_t it = recs__strtab_find(&m->items, test->items.names[pr->item]);
    if (it >= 0) {
      mark[it] = 1;
    }
  }

  stream_recs_query q = STREAM_RECS_QUERY_INIT;
  q.method = job->method;
  q.k = job->k;
  q.user = test->users.names[u];
  size_t cnt = 0;
  int r = stream_recs_recommend(out, &cnt, NULL, m, &q);

  size_t relevant = e - b;
  size_t n = relevant < job->k ? relevant : job->k;
  double hits = 0, dcg = 0, ap = 0, idcg = 0;
  for (size_t i = 0; r == STREAM_OK && i < cnt; i++) {
    int64_t it = recs__strtab_find(&m->items, out[i].id);
    if (it >= 0 && mark[it] == 1) {
      hits += 1;
      dcg += 1.0 / log2((double)i + 2.0);
      ap += hits / ((double)i + 1.0);
      mark[it] = 2; /* count an item once even if listed twice */
    }
  }
  for (size_t i = 0; i < n; i++) {
    idcg += 1.0 / log2((double)i + 2.0);
  }
  for (size_t p = b; p < e; p++) {
    const recs__pair *pr = &test->pairs[job->pair_of[p]];
    int64_t it = recs__strtab_find(&m->items, test->items.names[pr->item]);
    if (it >= 0) {
      mark[it] = 0;
    }
  }
  if (r != STREAM_OK) {
    *rc = r;
    return 0;
  }
  job->recall[u] = hits / (double)n;
  job->ndcg[u] = dcg / idcg;
  job->map[u] = ap / (double)n;
  return 1;
}

static void *eval_run(void *arg)
{
  eval_worker *w = arg;
  eval_job *job = w->job;
  stream_recs_item *out = malloc(job->k * sizeof *out);
  unsigned char *mark = calloc(job->m->items.count > 0 ? job->m->items.count : 1, 1);
  w->rc = STREAM_OK;
  if (out == NULL || mark == NULL) {
    free(out);
    free(mark);
    w->rc = STREAM_ENOMEM;
    return NULL;
  }
  for (;;) {
    size_t lo = atomic_fetch_add(&job->next, EVAL_BLOCK);
    if (lo >= job->users || w->rc != STREAM_OK) {
      break;
    }
    size_t hi = lo + EVAL_BLOCK < job->users ? lo + EVAL_BLOCK : job->users;
    for (size_t u = lo; u < hi && w->rc == STREAM_OK; u++) {
      job->done[u] = (unsigned char)eval_user(job, u, out, mark, &w->rc);
    }
  }
  free(out);
  free(mark);
  return NULL;
}

int stream_recs_evaluate(stream_recs_metrics *out, const stream_recs_model *m,
                         const stream_recs_data *test, int method, size_t k)
{
  if (out == NULL || m == NULL || test == NULL) {
    return stream__err(STREAM_EINVAL, "recs: evaluate needs out, a model and a test set");
  }
  if (method != STREAM_RECS_ALS && method != STREAM_RECS_ITEM_KNN &&
      method != STREAM_RECS_POPULAR) {
    return stream__err(STREAM_EINVAL, "recs: unknown method %d", method);
  }
  if (k < 1 || k > STREAM_RECS_K_MAX) {
    return stream__err(STREAM_EINVAL, "recs: k must be 1..%d (got %zu)", STREAM_RECS_K_MAX, k);
  }
  memset(out, 0, sizeof *out);
  size_t users = test->users.count;
  if (users == 0 || test->pair_count == 0) {
    return STREAM_OK;
  }

  /* Group the test pairs by user (a counting sort keeps the data's order). */
  size_t *start = calloc(users + 1, sizeof *start);
  size_t *pair_of = malloc(test->pair_count * sizeof *pair_of);
  double *vals = calloc(users * 3, sizeof *vals);
  unsigned char *done = calloc(users, 1);
  eval_worker *w = NULL;
  int rc = STREAM_OK;
  if (start == NULL || pair_of == NULL || vals == NULL || done == NULL) {
    rc = stream__err(STREAM_ENOMEM, "recs: out of memory for evaluation");
    goto out;
  }
  for (size_t p = 0; p < test->pair_count; p++) {
    start[test->pairs[p].user + 1]++;
  }
  for (size_t u = 0; u < users; u++) {
    start[u + 1] += start[u];
  }
  {
    size_t *fill = calloc(users, sizeof *fill);
    if (fill == NULL) {
      rc = stream__err(STREAM_ENOMEM, "recs: out of memory for evaluation");
      goto out;
    }
    for (size_t p = 0; p < test->pair_count; p++) {
      uint32_t u = test->pairs[p].user;
      pair_of[start[u] + fill[u]++] = p;
    }
    free(fill);
  }

  eval_job job;
  job.m = m;
  job.test = test;
  job.method = method;
  job.k = k;
  job.start = start;
  job.pair_of = pair_of;
  job.users = users;
  job.recall = vals;
  job.ndcg = vals + users;
  job.map = vals + 2 * users;
  job.done = done;
  atomic_init(&job.next, 0);

  unsigned int nt = recs__threads(m->opts.threads, 256, users, EVAL_BLOCK);
  w = calloc(nt, sizeof *w);
  if (w == NULL) {
    rc = stream__err(STREAM_ENOMEM, "recs: out of memory for evaluation");
    goto out;
  }
  for (unsigned int t = 0; t < nt; t++) {
    w[t].job = &job;
    if (t > 0 && pthread_create(&w[t].thread, NULL, eval_run, &w[t]) == 0) {
      w[t].started = 1;
    }
  }
  eval_run(&w[0]);
  rc = w[0].rc;
  for (unsigned int t = 1; t < nt; t++) {
    if (w[t].started) {
      pthread_join(w[t].thread, NULL);
      if (rc == STREAM_OK && w[t].rc != STREAM_OK) {
        rc = w[t].rc;
      }
    }
  }
  if (rc != STREAM_OK) {
    rc = stream__err(rc, "recs: evaluation failed: %s", stream_strerror(rc));
    goto out;
  }

  double sr = 0, sn = 0, sm = 0;
  size_t n = 0;
  for (size_t u = 0; u < users; u++) {
    if (done[u]) {
      sr += job.recall[u];
      sn += job.ndcg[u];
      sm += job.map[u];
      n++;
    }
  }
  out->users = n;
  if (n > 0) {
    out->recall = sr / (double)n;
    out->ndcg = sn / (double)n;
    out->map = sm / (double)n;
  }

out:
  free(w);
  free(start);
  free(pair_of);
  free(vals);
  free(done);
  return rc;
}
