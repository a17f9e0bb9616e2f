/*
 * recs/als: implicit-feedback alternating least squares (Hu, Koren, Volinsky
 * 2008) with conjugate-gradient row solves (Takács, Pilászy, Tikk 2011), and
 * the exact fold-in of a fresh history.
 *
 * Each row u minimises sum_i c_ui (p_ui - x_u.y_i)^2 + lambda |x_u|^2 with
 * c = 1 + alpha * r and p = 1 on stored pairs; the normal equations are
 * (YtY + lambda I + sum_i (c_ui - 1) y_i y_i^T) x_u = sum_i c_ui y_i, with
 * YtY computed once per half-step. CG runs `cg_steps` steps warm-started from
 * the row's current value.
 *
 * Determinism: initial factors come from a counter-based generator keyed by
 * (seed, side, row, factor); a row's solve reads only its own row and the
 * fixed other side; YtY and the loss are summed in a fixed order. So the
 * result is bit-identical for any thread count. Storage is float,
 * accumulation double.
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "recs_internal.h"

/* Most solver threads. */
#define ALS_THREADS_MAX 64
/* Residual norm^2 under which a CG solve has converged. */
#define ALS_CG_EPS 1e-20

static uint64_t splitmix64(uint64_t z)
{
  z += 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/* Initial factors of one side: uniform in [0, 0.01), one draw per
 * (row, factor) index, independent of any scheduling. */
static void init_side(float *f, size_t rows, unsigned int k, uint64_t seed, uint64_t side)
{
  uint64_t key = splitmix64(seed ^ splitmix64(side));
  size_t n = rows * k;
  for (size_t i = 0; i < n; i++) {
    uint64_t z = splitmix64(key ^ (uint64_t)i);
    f[i] = (float)((double)(z >> 11) * 0x1.0p-53 * 0.01);
  }
}

/* ------------------------------------------------------------------------ */
/* Threads                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct als_ctx {
  /* a half-step: solve rows of `rows` into `out` against fixed `other` */
  const recs__csr *rows;
  float *out;
  const float *other;
  size_t other_rows;
  const double *gram; /* k x k */
  double *gram_out;   /* gram phase */
  double *loss_rows;  /* loss phase: one term per user */
  unsigned int k, cg_steps, nthreads;
  double alpha, lambda;
  int phase; /* 0 solve, 1 gram, 2 loss */
} als_ctx;

typedef struct als_thread {
  als_ctx *ctx;
  unsigned int t;
  double *work; /* 4 k doubles */
  pthread_t tid;
} als_thread;

/* out = (G + lambda I) v for the symmetric k x k G, column by column (an
 * axpy per column, which vectorizes; a fixed order, so deterministic). */
static void gram_mul(double *out, const double *G, const double *v, unsigned int k, double lambda)
{
  for (unsigned int a = 0; a < k; a++)
    out[a] = lambda * v[a];
  unsigned int j = 0;
  for (; j + 4 <= k; j += 4) {
    double v0 = v[j], v1 = v[j + 1], v2 = v[j + 2], v3 = v[j + 3];
    const double *g0 = G + (size_t)j * k, *g1 = g0 + k, *g2 = g1 + k, *g3 = g2 + k;
    for (unsigned int a = 0; a < k; a++)
      out[a] += (g0[a] * v0 + g1[a] * v1) + (g2[a] * v2 + g3[a] * v3);
  }
  for (; j < k; j++) {
    double vj = v[j];
    const double *g = G + (size_t)j * k;
    for (unsigned int a = 0; a < k; a++)
      out[a] += g[a] * vj;
  }
}

/* y . x with four partial sums (a fixed order, so deterministic). */
static double dot_fd(const float *y, const double *x, unsigned int k)
{
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  unsigned int a = 0;
  for (; a + 4 <= k; a += 4) {
    s0 += y[a] * x[a];
    s1 += y[a + 1] * x[a + 1];
    s2 += y[a + 2] * x[a + 2];
    s3 += y[a + 3] * x[a + 3];
  }
  for (; a < k; a++)
    s0 += y[a] * x[a];
  return (s0 + s1) + (s2 + s3);
}

static void solve_row(const als_ctx *c, size_t u, double *work)
{
  unsigned int k = c->k;
  double *x = work, *r = work + k, *p = work + 2 * k, *ap = work + 3 * k;
  const double *G = c->gram;
  float *xo = c->out + u * k;
  size_t b = c->rows->ptr[u], e = c->rows->ptr[u + 1];
  if (b == e) {
    /* no interactions: the right-hand side is 0, so is the exact solution
     * (an item without history must not score by leftover noise) */
    memset(xo, 0, k * sizeof *xo);
    return;
  }
  for (unsigned int a = 0; a < k; a++)
    x[a] = xo[a];
  /* r = b - A x */
  gram_mul(r, G, x, k, c->lambda);
  for (unsigned int a = 0; a < k; a++)
    r[a] = -r[a];
  for (size_t n = b; n < e; n++) {
    const float *y = c->other + (size_t)c->rows->idx[n] * k;
    double conf = 1.0 + c->alpha * c->rows->val[n];
    double s = dot_fd(y, x, k);
    double coef = conf - (conf - 1.0) * s;
    for (unsigned int a = 0; a < k; a++)
      r[a] += coef * y[a];
  }
  double rs = 0;
  for (unsigned int a = 0; a < k; a++) {
    p[a] = r[a];
    rs += r[a] * r[a];
  }
  for (unsigned int it = 0; it < c->cg_steps && rs > ALS_CG_EPS; it++) {
    gram_mul(ap, G, p, k, c->lambda);
    for (size_t n = b; n < e; n++) {
      const float *y = c->other + (size_t)c->rows->idx[n] * k;
      double s = c->alpha * c->rows->val[n] * dot_fd(y, p, k);
      for (unsigned int a = 0; a < k; a++)
        ap[a] += s * y[a];
    }
    double pap = 0;
    for (unsigned int a = 0; a < k; a++)
      pap += p[a] * ap[a];
    if (!(pap > 0))
      break;
    double step = rs / pap, rsnew = 0;
    for (unsigned int a = 0; a < k; a++) {
      x[a] += step * p[a];
      r[a] -= step * ap[a];
      rsnew += r[a] * r[a];
    }
    double beta = rsnew / rs;
    for (unsigned int a = 0; a < k; a++)
      p[a] = r[a] + beta * p[a];
    rs = rsnew;
  }
  for (unsigned int a = 0; a < k; a++)
    xo[a] = (float)x[a];
}

/* Row a of the gram matrix of `other`, upper triangle, summed in row order. */
static void gram_row(const als_ctx *c, unsigned int a)
{
  unsigned int k = c->k;
  double *g = c->gram_out + (size_t)a * k;
  for (unsigned int j = 0; j < k; j++)
    g[j] = 0;
  for (size_t i = 0; i < c->other_rows; i++) {
    const float *y = c->other + i * k;
    double ya = y[a];
    for (unsigned int j = a; j < k; j++)
      g[j] += ya * y[j];
  }
}

/* Loss terms of user u: x^T YtY x + sum_i [c (1 - s)^2 - s^2], s = x.y_i. */
static void loss_row(const als_ctx *c, size_t u)
{
  unsigned int k = c->k;
  const float *x = c->out + u * k;
  double q = 0;
  for (unsigned int a = 0; a < k; a++) {
    double s = 0;
    const double *g = c->gram + (size_t)a * k;
    for (unsigned int j = 0; j < k; j++)
      s += g[j] * x[j];
    q += s * x[a];
  }
  for (size_t n = c->rows->ptr[u]; n < c->rows->ptr[u + 1]; n++) {
    const float *y = c->other + (size_t)c->rows->idx[n] * k;
    double conf = 1.0 + c->alpha * c->rows->val[n];
    double s = 0;
    for (unsigned int a = 0; a < k; a++)
      s += (double)x[a] * y[a];
    q += conf * (1.0 - s) * (1.0 - s) - s * s;
  }
  c->loss_rows[u] = q;
}

static void *als_worker(void *arg)
{
  als_thread *th = arg;
  const als_ctx *c = th->ctx;
  unsigned int t = th->t, nt = c->nthreads;
  if (c->phase == 1) {
    for (unsigned int a = t; a < c->k; a += nt)
      gram_row(c, a);
    return NULL;
  }
  size_t rows = c->rows->rows;
  size_t b = rows * t / nt, e = rows * (t + 1) / nt;
  for (size_t u = b; u < e; u++) {
    if (c->phase == 0)
      solve_row(c, u, th->work);
    else
      loss_row(c, u);
  }
  return NULL;
}

/* Run the phase on every thread (the calling thread takes thread 0; a thread
 * that cannot be created is run inline: the result does not change). */
static void als_run(als_ctx *c, als_thread *ths)
{
  unsigned int nt = c->nthreads;
  int started[ALS_THREADS_MAX] = {0};
  for (unsigned int t = 1; t < nt; t++)
    started[t] = pthread_create(&ths[t].tid, NULL, als_worker, &ths[t]) == 0;
  als_worker(&ths[0]);
  for (unsigned int t = 1; t < nt; t++) {
    if (started[t])
      pthread_join(ths[t].tid, NULL);
    else
      als_worker(&ths[t]);
  }
}

/* Full symmetric gram of `other` (other_rows x k) into c->gram_out. */
static void als_gram(als_ctx *c, als_thread *ths, const float *other, size_t other_rows)
{
  c->phase = 1;
  c->other = other;
  c->other_rows = other_rows;
  als_run(c, ths);
  unsigned int k = c->k;
  for (unsigned int a = 0; a < k; a++)
    for (unsigned int j = 0; j < a; j++)
      c->gram_out[(size_t)a * k + j] = c->gram_out[(size_t)j * k + a];
}

int recs__als_train(stream_recs_model *m, const recs__csr *iu, stream_recs_progress_fn progress,
                    void *userdata, unsigned int step0, unsigned int total)
{
  unsigned int k = m->factors;
  size_t nu = m->users.count, ni = m->items.count;
  als_ctx c = {0};
  c.k = k;
  c.cg_steps = m->opts.cg_steps;
  c.alpha = m->opts.alpha;
  c.lambda = m->opts.regularization;
  c.nthreads = recs__threads(m->opts.threads, ALS_THREADS_MAX, 0, 1);
  free(m->x);
  free(m->y);
  m->x = stream__calloc(nu ? nu * k : 1, sizeof *m->x);
  m->y = stream__calloc(ni ? ni * k : 1, sizeof *m->y);
  double *gram = stream__calloc((size_t)k * k, sizeof *gram);
  double *loss_rows = stream__calloc(nu ? nu : 1, sizeof *loss_rows);
  als_thread *ths = stream__calloc(c.nthreads, sizeof *ths);
  double *work = stream__calloc((size_t)c.nthreads * 4 * k, sizeof *work);
  int rc = STREAM_OK;
  if (!m->x || !m->y || !gram || !loss_rows || !ths || !work) {
    rc = STREAM_ENOMEM;
    goto out;
  }
  for (unsigned int t = 0; t < c.nthreads; t++)
    ths[t] = (als_thread){&c, t, work + (size_t)t * 4 * k, 0};
  init_side(m->x, nu, k, m->opts.seed, 1);
  init_side(m->y, ni, k, m->opts.seed, 2);
  c.gram = gram;
  c.gram_out = gram;
  for (unsigned int it = 0; it < m->opts.iterations; it++) {
    for (int side = 0; side < 2; side++) {
      const float *other = side ? m->x : m->y;
      size_t other_rows = side ? nu : ni;
      als_gram(&c, ths, other, other_rows);
      c.phase = 0;
      c.rows = side ? iu : &m->ui;
      c.out = side ? m->y : m->x;
      c.other = other;
      als_run(&c, ths);
      unsigned int done = step0 + 2 * it + (unsigned int)side + 1;
      if (progress && progress(userdata, done, total)) {
        rc = stream__err(STREAM_ECANCELED, "recs: training canceled at step %u of %u", done, total);
        goto out;
      }
    }
  }
  /* loss with the final factors, normalised by the total confidence
   * (users x items + alpha x sum r), as in the `implicit` library */
  als_gram(&c, ths, m->y, ni);
  c.phase = 2;
  c.rows = &m->ui;
  c.out = m->x;
  c.other = m->y;
  c.loss_rows = loss_rows;
  als_run(&c, ths);
  double loss = 0, reg = 0, rsum = 0;
  for (size_t u = 0; u < nu; u++)
    loss += loss_rows[u];
  for (size_t n = 0; n < nu * k; n++)
    reg += (double)m->x[n] * m->x[n];
  for (size_t n = 0; n < ni * k; n++)
    reg += (double)m->y[n] * m->y[n];
  size_t nnz = m->ui.rows ? m->ui.ptr[m->ui.rows] : 0;
  for (size_t n = 0; n < nnz; n++)
    rsum += m->ui.val[n];
  double weight = (double)nu * (double)ni + m->opts.alpha * rsum;
  m->loss = weight > 0 ? (loss + c.lambda * reg) / weight : 0;
  free(m->yty);
  m->yty = gram; /* YtY of the final item factors: what fold-in needs */
  gram = NULL;
out:
  free(gram);
  free(loss_rows);
  free(ths);
  free(work);
  return rc;
}

int recs__als_gram(stream_recs_model *m)
{
  unsigned int k = m->factors;
  double *g = stream__calloc((size_t)k * k, sizeof *g);
  if (!g)
    return STREAM_ENOMEM;
  for (size_t i = 0; i < m->items.count; i++) {
    const float *y = m->y + i * k;
    for (unsigned int a = 0; a < k; a++) {
      double ya = y[a];
      double *row = g + (size_t)a * k;
      for (unsigned int j = a; j < k; j++)
        row[j] += ya * y[j];
    }
  }
  for (unsigned int a = 0; a < k; a++)
    for (unsigned int j = 0; j < a; j++)
      g[(size_t)a * k + j] = g[(size_t)j * k + a];
  free(m->yty);
  m->yty = g;
  return STREAM_OK;
}

/* In-place Cholesky of the k x k SPD matrix A (lower triangle); 0 when not
 * positive definite. */
static int cholesky(double *A, unsigned int k)
{
  for (unsigned int j = 0; j < k; j++) {
    double *aj = A + (size_t)j * k;
    double d = aj[j];
    for (unsigned int p = 0; p < j; p++)
      d -= aj[p] * aj[p];
    if (!(d > 0))
      return 0;
    d = sqrt(d);
    aj[j] = d;
    for (unsigned int i = j + 1; i < k; i++) {
      double *ai = A + (size_t)i * k;
      double s = ai[j];
      for (unsigned int p = 0; p < j; p++)
        s -= ai[p] * aj[p];
      ai[j] = s / d;
    }
  }
  return 1;
}

/* The lower triangle of the fold-in system, YtY + sum (c - 1) y yT over the history, and
 * (when `b` is not NULL) its right-hand side sum c y; A (and b) start zeroed. */
static void fold_in_system(double *A, double *b, const stream_recs_model *m, const uint32_t *items,
                           const float *r, size_t n)
{
  unsigned int k = m->factors;
  if (m->yty)
    memcpy(A, m->yty, (size_t)k * k * sizeof *A);
  for (size_t t = 0; t < n; t++) {
    const float *y = m->y + (size_t)items[t] * k;
    double cm1 = m->opts.alpha * (r ? r[t] : 1.0f);
    for (unsigned int a = 0; a < k; a++) {
      if (b)
        b[a] += (1.0 + cm1) * y[a];
      double *row = A + (size_t)a * k;
      double ya = cm1 * y[a];
      for (unsigned int j = 0; j <= a; j++)
        row[j] += ya * y[j];
    }
  }
}

int recs__als_fold_in(float *out, const stream_recs_model *m, const uint32_t *items, const float *r,
                      size_t n)
{
  unsigned int k = m->factors;
  double *A = stream__calloc((size_t)k * k + 2 * (size_t)k, sizeof *A);
  if (!A)
    return STREAM_ENOMEM;
  double *b = A + (size_t)k * k, *z = b + k;
  double lambda = m->opts.regularization;
  double trace = 0;
  fold_in_system(A, b, m, items, r, n);
  for (unsigned int a = 0; a < k; a++) {
    A[(size_t)a * k + a] += lambda;
    trace += A[(size_t)a * k + a];
  }
  if (!cholesky(A, k)) {
    /* lambda 0 and a rank-deficient system: the minimum-norm-ish answer of
     * a tiny ridge (the lower triangle was overwritten: rebuild it) */
    memset(A, 0, (size_t)k * k * sizeof *A);
    fold_in_system(A, NULL, m, items, r, n);
    double ridge = (trace > 0 ? trace / k : 1.0) * 1e-6 + 1e-12;
    for (unsigned int a = 0; a < k; a++)
      A[(size_t)a * k + a] += lambda + ridge;
    if (!cholesky(A, k)) {
      free(A);
      return stream__err(STREAM_EINTERNAL, "recs: fold-in system is not positive definite");
    }
  }
  /* L z = b, then L^T x = z */
  for (unsigned int i = 0; i < k; i++) {
    double s = b[i];
    const double *ai = A + (size_t)i * k;
    for (unsigned int p = 0; p < i; p++)
      s -= ai[p] * z[p];
    z[i] = s / ai[i];
  }
  for (unsigned int i = k; i-- > 0;) {
    double s = z[i];
    for (unsigned int p = i + 1; p < k; p++)
      s -= A[(size_t)p * k + i] * b[p];
    b[i] = s / A[(size_t)i * k + i];
  }
  for (unsigned int a = 0; a < k; a++)
    out[a] = (float)b[a];
  free(A);
  return STREAM_OK;
}
