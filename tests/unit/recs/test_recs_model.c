/* Unit tests of the recs model core: interaction data and its splits, ALS
 * training (planted structure, loss, determinism across thread counts),
 * fold-in, top-K (cold start, exclusion, filter, ties), similar items and the
 * model file. Public API, plus the internal layout (static library) where a
 * test must look at factors or pairs directly. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recs/recs_internal.h"
#include "stream/recs.h"

static char tmpdir[256];

static void setup(void)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/stream-recs-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
}

static void path_in(char *buf, size_t n, const char *name)
{
  snprintf(buf, n, "%s/%s", tmpdir, name);
}

static void assert_msg_has(const char *needle)
{
  const stream_error *e = stream_error_last();
  ck_assert_ptr_nonnull(e);
  ck_assert_msg(strstr(e->message, needle), "message '%s' lacks '%s'", e->message, needle);
}

static stream_recs_options fast_opts(void)
{
  stream_recs_options o = STREAM_RECS_OPTIONS_INIT;
  o.iterations = 15;
  o.threads = 2;
  o.model_version = 7;
  o.factors = 4; /* the planted structure has rank 2 */
  o.now = 1000;
  return o;
}

/* Two disjoint groups of G users and G items; user j of a group watches
 * every item of its group but item j (held out). */
#define G 8
static stream_recs_data *planted(void)
{
  stream_recs_data *d = NULL;
  ck_assert_int_eq(stream_recs_data_new(&d), STREAM_OK);
  for (int g = 0; g < 2; g++)
    for (int u = 0; u < G; u++)
      for (int i = 0; i < G; i++) {
        if (i == u)
          continue;
        char user[32], item[32];
        snprintf(user, sizeof user, "%c-user%d", 'a' + g, u);
        snprintf(item, sizeof item, "%c-item%d", 'a' + g, i);
        ck_assert_int_eq(stream_recs_data_add(d, user, item, 1.0, 100 + i), STREAM_OK);
      }
  return d;
}

/* A pseudo-random data set (fixed LCG): `nu` users, `ni` items, about
 * `per` items per user with a popularity skew. */
static stream_recs_data *random_data(int nu, int ni, int per)
{
  stream_recs_data *d = NULL;
  ck_assert_int_eq(stream_recs_data_new(&d), STREAM_OK);
  uint64_t s = 12345;
  for (int u = 0; u < nu; u++)
    for (int t = 0; t < per; t++) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      double x = (double)(s >> 11) / 9007199254740992.0;
      int i = (int)(x * x * ni) % ni;
      if (u % 2 == 0)
        i = ni - 1 - i;
      char user[32], item[32];
      snprintf(user, sizeof user, "u%d", u);
      snprintf(item, sizeof item, "i%d", i);
      ck_assert_int_eq(stream_recs_data_add(d, user, item, 0.5 + (double)(s % 3), 10 + t),
                       STREAM_OK);
    }
  return d;
}

static stream_recs_model *train(const stream_recs_data *d, const stream_recs_options *o)
{
  stream_recs_model *m = NULL;
  ck_assert_int_eq(stream_recs_train(&m, d, o, NULL, NULL), STREAM_OK);
  ck_assert_ptr_nonnull(m);
  return m;
}

static int has_pair(const stream_recs_data *d, const char *u, const char *i, double *r)
{
  int64_t ui = recs__strtab_find(&d->users, u), ii = recs__strtab_find(&d->items, i);
  if (ui < 0 || ii < 0)
    return 0;
  for (size_t n = 0; n < d->pair_count; n++)
    if (d->pairs[n].user == (uint32_t)ui && d->pairs[n].item == (uint32_t)ii) {
      if (r)
        *r = d->pairs[n].r;
      return 1;
    }
  return 0;
}

static size_t rec(stream_recs_item *out, int *method, const stream_recs_model *m,
                  const stream_recs_query *q)
{
  size_t n = 99;
  ck_assert_int_eq(stream_recs_recommend(out, &n, method, m, q), STREAM_OK);
  return n;
}

/* ------------------------------------------------------------------------ */

START_TEST(test_bad_input_is_einval)
{
  stream_recs_data *d = NULL;
  ck_assert_int_eq(stream_recs_data_new(NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_data_new(&d), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_add(NULL, "u", "i", 1, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_data_add(d, NULL, "i", 1, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_data_add(d, "u", NULL, 1, 0), STREAM_EINVAL);
  char longid[STREAM_RECS_ID_MAX + 2];
  memset(longid, 'x', sizeof longid - 1);
  longid[sizeof longid - 1] = 0;
  const char *bad[] = {"",         longid,         "a\x01",    "a\x7f",    "\xff",
                       "\xc0\xaf", "\xed\xa0\x80", "\xc2\x85", "\xe2\x82", "\xf4\x90\x80\x80"};
  for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
    ck_assert_int_eq(stream_recs_data_add(d, bad[t], "i", 1, 0), STREAM_EINVAL);
    ck_assert_int_eq(stream_recs_data_add(d, "u", bad[t], 1, 0), STREAM_EINVAL);
    ck_assert_int_eq(stream_recs_data_add_item(d, bad[t]), STREAM_EINVAL);
  }
  longid[STREAM_RECS_ID_MAX] = 0; /* exactly the maximum */
  ck_assert_int_eq(stream_recs_data_add(d, longid, "caf\xc3\xa9 \xf0\x9f\x8e\xac", 1, 0),
                   STREAM_OK);
  ck_assert_int_eq(stream_recs_data_add(d, "u", "i", NAN, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_data_add(d, "u", "i", INFINITY, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_data_add(d, "u", "i", -0.5, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_data_add(d, "u", "i", 2e6, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_data_add(d, "u", "i", 1, -1), STREAM_EINVAL);
  assert_msg_has("ts=-1");
  ck_assert_int_eq(stream_recs_data_counts(NULL, NULL, NULL, NULL), STREAM_EINVAL);
  size_t pairs = 9;
  ck_assert_int_eq(stream_recs_data_counts(d, NULL, NULL, &pairs), STREAM_OK);
  ck_assert_uint_eq(pairs, 1);

  stream_recs_data *tr = NULL, *te = NULL;
  ck_assert_int_eq(stream_recs_data_split_last(&tr, &te, d, 1), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_data_split_last(NULL, &te, d, 2), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_data_split_time(&tr, NULL, d, 5), STREAM_EINVAL);

  stream_recs_model *m = NULL;
  ck_assert_int_eq(stream_recs_train(NULL, d, NULL, NULL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_train(&m, NULL, NULL, NULL, NULL), STREAM_EINVAL);
  stream_recs_options bad_opts[12];
  for (int c = 0; c < 12; c++)
    bad_opts[c] = (stream_recs_options)STREAM_RECS_OPTIONS_INIT;
  const char *bad_names[12] = {"version",        "factors",    "factors",    "regularization",
                               "regularization", "alpha",      "iterations", "iterations",
                               "cg_steps",       "neighbours", "half_life",  "now"};
  bad_opts[0].version = 99;
  bad_opts[1].factors = 0;
  bad_opts[2].factors = STREAM_RECS_FACTORS_MAX + 1;
  bad_opts[3].regularization = -1;
  bad_opts[4].regularization = NAN;
  bad_opts[5].alpha = 0;
  bad_opts[6].iterations = 0;
  bad_opts[7].iterations = 1001;
  bad_opts[8].cg_steps = 65;
  bad_opts[9].neighbours = 1001;
  bad_opts[10].half_life_days = 0;
  bad_opts[11].now = -5;
  for (int c = 0; c < 12; c++) {
    const stream_recs_options o = bad_opts[c];
    const char *name = bad_names[c];
    ck_assert_int_eq(stream_recs_train(&m, d, &o, NULL, NULL), STREAM_EINVAL);
    ck_assert_ptr_null(m);
    assert_msg_has(name);
  }

  stream_recs_options o = fast_opts();
  m = train(d, &o);
  stream_recs_item out[4];
  size_t n;
  stream_recs_query q = STREAM_RECS_QUERY_INIT;
  ck_assert_int_eq(stream_recs_recommend(NULL, &n, NULL, m, &q), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_recommend(out, &n, NULL, NULL, &q), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_recommend(out, &n, NULL, m, NULL), STREAM_EINVAL);
  q.method = 9;
  ck_assert_int_eq(stream_recs_recommend(out, &n, NULL, m, &q), STREAM_EINVAL);
  assert_msg_has("method");
  q.method = STREAM_RECS_ALS;
  q.k = 0;
  ck_assert_int_eq(stream_recs_recommend(out, &n, NULL, m, &q), STREAM_EINVAL);
  q.k = STREAM_RECS_K_MAX + 1;
  ck_assert_int_eq(stream_recs_recommend(out, &n, NULL, m, &q), STREAM_EINVAL);
  q.k = 2;
  q.history_count = 1; /* without items */
  ck_assert_int_eq(stream_recs_recommend(out, &n, NULL, m, &q), STREAM_EINVAL);
  const char *hi[] = {"i"};
  double hr[] = {NAN};
  q.history_items = hi;
  q.history_r = hr;
  ck_assert_int_eq(stream_recs_recommend(out, &n, NULL, m, &q), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_similar(out, &n, m, NULL, 2, NULL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_similar(out, &n, m, "i", 0, NULL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_similar(out, &n, m, "nope", 2, NULL, NULL), STREAM_ENOTFOUND);
  char *json = NULL;
  ck_assert_int_eq(stream_recs_model_info(NULL, m), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_model_info(&json, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_model_save(NULL, "/tmp/x"), STREAM_EINVAL);
  ck_assert_int_eq(stream_recs_model_load(NULL, "/tmp/x"), STREAM_EINVAL);
  ck_assert_uint_eq(stream_recs_model_version(NULL), 0);
  ck_assert_uint_eq(stream_recs_model_version(m), 7);
  stream_recs_model_free(m);
  stream_recs_model_free(NULL);
  stream_recs_data_free(d);
  stream_recs_data_free(NULL);
}
END_TEST

START_TEST(test_data_accumulates_pairs)
{
  stream_recs_data *d = NULL;
  ck_assert_int_eq(stream_recs_data_new(&d), STREAM_OK);
  size_t u = 9, i = 9, p = 9;
  ck_assert_int_eq(stream_recs_data_counts(d, &u, &i, &p), STREAM_OK);
  ck_assert_uint_eq(u + i + p, 0);
  ck_assert_int_eq(stream_recs_data_add(d, "u1", "a", 1.0, 50), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_add(d, "u1", "a", 0.5, 40), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_add(d, "u1", "b", 0, 0), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_add(d, "u2", "a", 2, 10), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_add_item(d, "c"), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_add_item(d, "c"), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_add_item(d, "a"), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_counts(d, &u, &i, &p), STREAM_OK);
  ck_assert_uint_eq(u, 2);
  ck_assert_uint_eq(i, 3);
  ck_assert_uint_eq(p, 3);
  double r = 0;
  ck_assert(has_pair(d, "u1", "a", &r));
  ck_assert(r == 1.5);
  ck_assert_int_eq(d->pairs[0].ts, 50); /* the latest ts is kept */
  ck_assert(!has_pair(d, "u2", "b", NULL));
  /* many ids: the tables grow and keep every entry */
  for (int n = 0; n < 3000; n++) {
    char a[16], b[16];
    snprintf(a, sizeof a, "x%d", n % 300);
    snprintf(b, sizeof b, "y%d", n);
    ck_assert_int_eq(stream_recs_data_add(d, a, b, 1, n), STREAM_OK);
  }
  ck_assert_int_eq(stream_recs_data_counts(d, &u, &i, &p), STREAM_OK);
  ck_assert_uint_eq(u, 302);
  ck_assert_uint_eq(i, 3003);
  ck_assert_uint_eq(p, 3003);
  ck_assert(has_pair(d, "x299", "y2999", NULL));
  stream_recs_data_free(d);
}
END_TEST

START_TEST(test_split_last_and_time)
{
  stream_recs_data *d = NULL;
  ck_assert_int_eq(stream_recs_data_new(&d), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_add(d, "u1", "a", 1, 10), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_add(d, "u1", "c", 1, 20), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_add(d, "u1", "b", 1, 20), STREAM_OK); /* tie: added last */
  ck_assert_int_eq(stream_recs_data_add(d, "u2", "a", 1, 5), STREAM_OK);  /* one pair */
  ck_assert_int_eq(stream_recs_data_add(d, "u3", "x", 1, 30), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_add(d, "u3", "y", 1, 10), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_add(d, "u3", "y", 2, 5), STREAM_OK); /* sums, ts stays 10 */
  ck_assert_int_eq(stream_recs_data_add(d, "u4", "z", 1, 40), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_add_item(d, "lonely"), STREAM_OK);

  stream_recs_data *tr = NULL, *te = NULL;
  ck_assert_int_eq(stream_recs_data_split_last(&tr, &te, d, 2), STREAM_OK);
  size_t u, i, p;
  ck_assert_int_eq(stream_recs_data_counts(te, &u, NULL, &p), STREAM_OK);
  ck_assert_uint_eq(p, 2);
  ck_assert(has_pair(te, "u1", "b", NULL));
  ck_assert(has_pair(te, "u3", "x", NULL));
  ck_assert_int_eq(stream_recs_data_counts(tr, &u, &i, &p), STREAM_OK);
  ck_assert_uint_eq(p, 5);
  ck_assert_uint_eq(i, 7); /* every item of d, "lonely" and the held-out ones too */
  ck_assert(recs__strtab_find(&tr->items, "lonely") >= 0);
  ck_assert(has_pair(tr, "u1", "a", NULL) && has_pair(tr, "u1", "c", NULL));
  ck_assert(has_pair(tr, "u2", "a", NULL) && has_pair(tr, "u4", "z", NULL));
  double r = 0;
  ck_assert(has_pair(tr, "u3", "y", &r));
  ck_assert(r == 3);
  stream_recs_data_free(tr);
  stream_recs_data_free(te);
  /* min_history 3: only u1 and... u1 has 3 pairs, u3 has 2 */
  ck_assert_int_eq(stream_recs_data_split_last(&tr, &te, d, 3), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_counts(te, NULL, NULL, &p), STREAM_OK);
  ck_assert_uint_eq(p, 1);
  ck_assert(has_pair(te, "u1", "b", NULL));
  stream_recs_data_free(tr);
  stream_recs_data_free(te);

  ck_assert_int_eq(stream_recs_data_split_time(&tr, &te, d, 15), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_counts(tr, &u, &i, &p), STREAM_OK);
  ck_assert_uint_eq(u, 3);
  ck_assert_uint_eq(i, 7);
  ck_assert_uint_eq(p, 3); /* u1-a, u2-a, u3-y */
  ck_assert(has_pair(tr, "u3", "y", NULL) && has_pair(tr, "u2", "a", NULL));
  ck_assert_int_eq(stream_recs_data_counts(te, &u, NULL, &p), STREAM_OK);
  ck_assert_uint_eq(u, 2);
  ck_assert_uint_eq(p, 3); /* u1-b, u1-c, u3-x; u4 is cold: dropped */
  ck_assert(has_pair(te, "u1", "b", NULL) && has_pair(te, "u1", "c", NULL) &&
            has_pair(te, "u3", "x", NULL));
  ck_assert(!has_pair(te, "u4", "z", NULL) && !has_pair(tr, "u4", "z", NULL));
  stream_recs_data_free(tr);
  stream_recs_data_free(te);
  stream_recs_data_free(d);
}
END_TEST

START_TEST(test_als_recommends_held_out_item)
{
  stream_recs_data *d = planted();
  stream_recs_options o = fast_opts();
  stream_recs_model *m = train(d, &o);
  for (int g = 0; g < 2; g++)
    for (int u = 0; u < G; u++) {
      char user[32], want[32];
      snprintf(user, sizeof user, "%c-user%d", 'a' + g, u);
      snprintf(want, sizeof want, "%c-item%d", 'a' + g, u);
      for (int method = STREAM_RECS_ALS; method <= STREAM_RECS_ITEM_KNN; method++) {
        stream_recs_query q = STREAM_RECS_QUERY_INIT;
        q.user = user;
        q.method = method;
        q.k = 3;
        stream_recs_item out[3];
        int used = 0;
        size_t n = rec(out, &used, m, &q);
        ck_assert_int_eq(used, method);
        ck_assert_uint_eq(n, 3);
        ck_assert_str_eq(out[0].id, want);
        ck_assert(out[0].score > out[1].score);
      }
    }
  stream_recs_model_free(m);
  stream_recs_data_free(d);
}
END_TEST

START_TEST(test_loss_decreases)
{
  stream_recs_data *d = random_data(120, 60, 8);
  double prev = INFINITY;
  unsigned int its[] = {1, 2, 4, 8, 16};
  for (size_t t = 0; t < sizeof its / sizeof its[0]; t++) {
    stream_recs_options o = fast_opts();
    o.iterations = its[t];
    stream_recs_model *m = train(d, &o);
    ck_assert(isfinite(m->loss) && m->loss > 0);
    ck_assert_msg(m->loss < prev, "loss %g after %u iterations, %g before", m->loss, its[t], prev);
    prev = m->loss;
    stream_recs_model_free(m);
  }
  stream_recs_data_free(d);
}
END_TEST

START_TEST(test_threads_do_not_change_factors)
{
  stream_recs_data *d = random_data(300, 150, 10);
  stream_recs_options o = fast_opts();
  o.factors = 16;
  o.iterations = 5;
  o.threads = 1;
  stream_recs_model *a = train(d, &o);
  unsigned int threads[] = {3, 4};
  for (size_t t = 0; t < 2; t++) {
    o.threads = threads[t];
    stream_recs_model *b = train(d, &o);
    ck_assert_int_eq(memcmp(a->x, b->x, a->users.count * 16 * sizeof(float)), 0);
    ck_assert_int_eq(memcmp(a->y, b->y, a->items.count * 16 * sizeof(float)), 0);
    ck_assert(memcmp(&a->loss, &b->loss, sizeof a->loss) == 0);
    ck_assert_uint_eq(a->nbr_k, b->nbr_k);
    ck_assert_int_eq(memcmp(a->nbr_idx, b->nbr_idx, a->items.count * a->nbr_k * 4), 0);
    stream_recs_model_free(b);
  }
  /* another seed gives other factors */
  o.seed = 43;
  stream_recs_model *c = train(d, &o);
  ck_assert_int_ne(memcmp(a->x, c->x, a->users.count * 16 * sizeof(float)), 0);
  stream_recs_model_free(c);
  stream_recs_model_free(a);
  stream_recs_data_free(d);
}
END_TEST

/* Users in four taste clusters of 20 items each (of 80); each watches 10
 * items, 8 of its cluster's and 2 anywhere. */
static stream_recs_data *clustered(void)
{
  stream_recs_data *d = NULL;
  ck_assert_int_eq(stream_recs_data_new(&d), STREAM_OK);
  uint64_t s = 777;
  for (int u = 0; u < 200; u++)
    for (int t = 0; t < 10; t++) {
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      int i = t < 8 ? (u % 4) * 20 + (int)((s >> 33) % 20) : (int)((s >> 33) % 80);
      char user[32], item[32];
      snprintf(user, sizeof user, "u%d", u);
      snprintf(item, sizeof item, "i%d", i);
      ck_assert_int_eq(stream_recs_data_add(d, user, item, 1.0 + (double)(s % 3), 10 + t),
                       STREAM_OK);
    }
  return d;
}

START_TEST(test_fold_in_matches_trained_vector)
{
  stream_recs_data *d = clustered();
  stream_recs_options o = fast_opts();
  o.factors = 8;
  stream_recs_model *m = train(d, &o);
  size_t total = 0, same = 0, top1 = 0, users = 40;
  for (size_t u = 0; u < users; u++) {
    const char *user = m->users.names[u];
    size_t b = m->ui.ptr[u], e = m->ui.ptr[u + 1];
    const char *items[64];
    double r[64];
    for (size_t n = b; n < e; n++) {
      items[n - b] = m->items.names[m->ui.idx[n]];
      r[n - b] = m->ui.val[n];
    }
    stream_recs_query q = STREAM_RECS_QUERY_INIT;
    q.user = user;
    q.k = 10;
    stream_recs_item trained[10], folded[10];
    size_t n1 = rec(trained, NULL, m, &q);
    q.user = NULL;
    q.history_items = items;
    q.history_r = r;
    q.history_count = e - b;
    int used = 0;
    size_t n2 = rec(folded, &used, m, &q);
    ck_assert_int_eq(used, STREAM_RECS_ALS);
    ck_assert_uint_eq(n1, 10);
    ck_assert_uint_eq(n2, 10);
    top1 += strcmp(trained[0].id, folded[0].id) == 0;
    for (size_t a = 0; a < n1; a++) {
      total++;
      for (size_t c = 0; c < n2; c++)
        same += strcmp(trained[a].id, folded[c].id) == 0;
    }
  }
  fprintf(stderr, "fold-in: top-10 %zu of %zu agree, top-1 %zu of %zu\n", same, total, top1, users);
  ck_assert_msg(same * 10 >= total * 9, "only %zu of %zu top-10 items agree", same, total);
  ck_assert_msg(top1 * 10 >= users * 8, "only %zu of %zu top-1 items agree", top1, users);
  stream_recs_model_free(m);
  stream_recs_data_free(d);
}
END_TEST

static void assert_same_model_output(const stream_recs_model *a, const stream_recs_model *b)
{
  char *ja = NULL, *jb = NULL;
  ck_assert_int_eq(stream_recs_model_info(&ja, a), STREAM_OK);
  ck_assert_int_eq(stream_recs_model_info(&jb, b), STREAM_OK);
  ck_assert_str_eq(ja, jb);
  stream_free(ja);
  stream_free(jb);
  ck_assert_uint_eq(stream_recs_model_version(a), stream_recs_model_version(b));
  for (size_t u = 0; u < a->users.count; u++)
    for (int method = STREAM_RECS_ALS; method <= STREAM_RECS_POPULAR; method++) {
      stream_recs_query q = STREAM_RECS_QUERY_INIT;
      q.user = a->users.names[u];
      q.method = method;
      q.k = 5;
      stream_recs_item oa[5], ob[5];
      size_t na = rec(oa, NULL, a, &q), nb = rec(ob, NULL, b, &q);
      ck_assert_uint_eq(na, nb);
      for (size_t t = 0; t < na; t++) {
        ck_assert_str_eq(oa[t].id, ob[t].id);
        ck_assert(oa[t].score == ob[t].score);
      }
    }
  for (size_t i = 0; i < a->items.count; i++) {
    stream_recs_item oa[6], ob[6];
    size_t na, nb;
    ck_assert_int_eq(stream_recs_similar(oa, &na, a, a->items.names[i], 6, NULL, NULL), STREAM_OK);
    ck_assert_int_eq(stream_recs_similar(ob, &nb, b, a->items.names[i], 6, NULL, NULL), STREAM_OK);
    ck_assert_uint_eq(na, nb);
    for (size_t t = 0; t < na; t++) {
      ck_assert_str_eq(oa[t].id, ob[t].id);
      ck_assert(oa[t].score == ob[t].score);
    }
  }
}

static long file_size(const char *path)
{
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  return (long)st.st_size;
}

static void copy_prefix(const char *from, const char *to, long n, long flip)
{
  FILE *f = fopen(from, "rb");
  ck_assert_ptr_nonnull(f);
  unsigned char *buf = malloc((size_t)n + 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  if (flip >= 0)
    buf[flip] ^= 0x20;
  f = fopen(to, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  free(buf);
}

START_TEST(test_save_load_round_trip)
{
  stream_recs_data *d = random_data(60, 40, 6);
  ck_assert_int_eq(stream_recs_data_add_item(d, "never-watched"), STREAM_OK);
  stream_recs_options o = fast_opts();
  stream_recs_model *m = train(d, &o);
  char path[300], bad[300];
  path_in(path, sizeof path, "model.bin");
  path_in(bad, sizeof bad, "bad.bin");
  ck_assert_int_eq(stream_recs_model_save(m, path), STREAM_OK);
  stream_recs_model *l = NULL;
  ck_assert_int_eq(stream_recs_model_load(&l, path), STREAM_OK);
  assert_same_model_output(m, l);
  /* saving again over the file replaces it atomically: no temporary left */
  ck_assert_int_eq(stream_recs_model_save(l, path), STREAM_OK);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "test $(ls '%s' | wc -l) -eq 1", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
  stream_recs_model_free(l);
  l = NULL;

  long size = file_size(path);
  long cuts[] = {0, 7, 55, 56, 57, size / 2, size - 8, size - 1};
  for (size_t t = 0; t < sizeof cuts / sizeof cuts[0]; t++) {
    copy_prefix(path, bad, cuts[t], -1);
    ck_assert_int_eq(stream_recs_model_load(&l, bad), STREAM_EPROTO);
    ck_assert_ptr_null(l);
  }
  long flips[] = {0, 12, 17, 30, 56, 60, 100, size / 3, size / 2, size - 1};
  for (size_t t = 0; t < sizeof flips / sizeof flips[0]; t++) {
    copy_prefix(path, bad, size, flips[t]);
    int rc = stream_recs_model_load(&l, bad);
    ck_assert_msg(rc == STREAM_EPROTO, "flip at %ld gave %d", flips[t], rc);
    ck_assert_ptr_null(l);
  }
  /* a newer format version */
  {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = malloc((size_t)size);
    ck_assert_uint_eq(fread(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    buf[8] = 2;
    f = fopen(bad, "wb");
    ck_assert_uint_eq(fwrite(buf, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    free(buf);
    ck_assert_int_eq(stream_recs_model_load(&l, bad), STREAM_ENOTSUP);
  }
  path_in(bad, sizeof bad, "missing.bin");
  ck_assert_int_eq(stream_recs_model_load(&l, bad), STREAM_ENOTFOUND);
  path_in(bad, sizeof bad, "no-dir/model.bin");
  ck_assert_int_eq(stream_recs_model_save(m, bad), STREAM_EIO);
  stream_recs_model_free(m);
  stream_recs_data_free(d);
}
END_TEST

START_TEST(test_info_json)
{
  stream_recs_data *d = planted();
  stream_recs_options o = fast_opts();
  stream_recs_model *m = train(d, &o);
  char *json = NULL;
  ck_assert_int_eq(stream_recs_model_info(&json, m), STREAM_OK);
  ck_assert_ptr_nonnull(strstr(json, "\"version\":7"));
  ck_assert_ptr_nonnull(strstr(json, "\"users\":16"));
  ck_assert_ptr_nonnull(strstr(json, "\"items\":16"));
  ck_assert_ptr_nonnull(strstr(json, "\"pairs\":112"));
  ck_assert_ptr_nonnull(strstr(json, "\"factors\":4"));
  ck_assert_ptr_nonnull(strstr(json, "\"iterations\":15"));
  ck_assert_ptr_nonnull(strstr(json, "\"trained_at_ms\":"));
  ck_assert_ptr_nonnull(strstr(json, "\"train_ms\":"));
  ck_assert_ptr_nonnull(strstr(json, "\"loss\":"));
  stream_free(json);
  stream_recs_model_free(m);
  /* model_version 0: the training time in ms */
  o.model_version = 0;
  m = train(d, &o);
  ck_assert_uint_eq(stream_recs_model_version(m), (uint64_t)m->trained_at_ms);
  ck_assert(m->trained_at_ms > 1700000000000LL);
  stream_recs_model_free(m);
  stream_recs_data_free(d);
}
END_TEST

/* popularity: p3 by three users, p2 by two, p1 by one, at the same time */
static stream_recs_data *pop_data(void)
{
  stream_recs_data *d = NULL;
  ck_assert_int_eq(stream_recs_data_new(&d), STREAM_OK);
  const char *pairs[][2] = {{"u1", "p3"}, {"u2", "p3"}, {"u3", "p3"},
                            {"u1", "p2"}, {"u2", "p2"}, {"u3", "p1"}};
  for (size_t t = 0; t < 6; t++)
    ck_assert_int_eq(stream_recs_data_add(d, pairs[t][0], pairs[t][1], 1, 1000), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_add_item(d, "zz"), STREAM_OK);
  ck_assert_int_eq(stream_recs_data_add_item(d, "p0"), STREAM_OK);
  return d;
}

START_TEST(test_cold_start_gets_popularity)
{
  stream_recs_data *d = pop_data();
  stream_recs_options o = fast_opts();
  stream_recs_model *m = train(d, &o);
  const char *none[] = {"unknown-item"};
  for (int c = 0; c < 4; c++) {
    stream_recs_query q = STREAM_RECS_QUERY_INIT;
    q.k = 10;
    if (c == 1)
      q.user = "stranger";
    if (c == 2) {
      q.user = "u1";
      q.history_items = none; /* a fresh history, empty */
      q.history_count = 0;
    }
    if (c == 3) {
      q.history_items = none; /* only items the model does not know */
      q.history_count = 1;
    }
    stream_recs_item out[10];
    int used = 0;
    size_t n = rec(out, &used, m, &q);
    ck_assert_int_eq(used, STREAM_RECS_POPULAR);
    ck_assert_uint_eq(n, 5);
    const char *want[] = {"p3", "p2", "p1", "p0", "zz"}; /* zero ties by id */
    for (size_t t = 0; t < 5; t++)
      ck_assert_str_eq(out[t].id, want[t]);
    ck_assert(out[0].score > out[1].score && out[1].score > out[2].score);
    ck_assert(out[3].score == 0 && out[4].score == 0);
  }
  stream_recs_model_free(m);
  stream_recs_data_free(d);
}
END_TEST

START_TEST(test_history_is_excluded_unless_asked)
{
  stream_recs_data *d = pop_data();
  stream_recs_options o = fast_opts();
  stream_recs_model *m = train(d, &o);
  for (int method = STREAM_RECS_ALS; method <= STREAM_RECS_POPULAR; method++) {
    stream_recs_query q = STREAM_RECS_QUERY_INIT;
    q.method = method;
    q.user = "u1"; /* p3, p2 */
    q.k = 10;
    stream_recs_item out[10];
    size_t n = rec(out, NULL, m, &q);
    ck_assert_uint_eq(n, 3);
    for (size_t t = 0; t < n; t++)
      ck_assert(strcmp(out[t].id, "p3") && strcmp(out[t].id, "p2"));
    q.include_history = 1;
    n = rec(out, NULL, m, &q);
    ck_assert_uint_eq(n, 5);
    /* a fresh history replaces the training one */
    const char *h[] = {"p1", "p1", "nope"};
    q.include_history = 0;
    q.history_items = h;
    q.history_count = 3;
    n = rec(out, NULL, m, &q);
    ck_assert_uint_eq(n, 4);
    for (size_t t = 0; t < n; t++)
      ck_assert_str_ne(out[t].id, "p1");
  }
  stream_recs_model_free(m);
  stream_recs_data_free(d);
}
END_TEST

static int keep_not_b(void *ud, const char *item)
{
  (*(int *)ud)++;
  return item[0] != 'b';
}

START_TEST(test_filter_is_honoured)
{
  stream_recs_data *d = planted();
  stream_recs_options o = fast_opts();
  stream_recs_model *m = train(d, &o);
  stream_recs_query q = STREAM_RECS_QUERY_INIT;
  q.user = "b-user3";
  q.k = 20;
  int calls = 0;
  q.keep = keep_not_b;
  q.keep_userdata = &calls;
  stream_recs_item out[20];
  size_t n = rec(out, NULL, m, &q);
  ck_assert_int_gt(calls, 0);
  ck_assert_uint_eq(n, G); /* only group a's items are left */
  for (size_t t = 0; t < n; t++)
    ck_assert(out[t].id[0] == 'a');
  calls = 0;
  ck_assert_int_eq(stream_recs_similar(out, &n, m, "b-item0", 20, keep_not_b, &calls), STREAM_OK);
  ck_assert_uint_eq(n, G);
  for (size_t t = 0; t < n; t++)
    ck_assert(out[t].id[0] == 'a');
  stream_recs_model_free(m);
  stream_recs_data_free(d);
}
END_TEST

START_TEST(test_ties_break_by_id)
{
  stream_recs_data *d = NULL;
  ck_assert_int_eq(stream_recs_data_new(&d), STREAM_OK);
  const char *ids[] = {"m", "b", "z", "a", "k"};
  for (size_t t = 0; t < 5; t++)
    ck_assert_int_eq(stream_recs_data_add_item(d, ids[t]), STREAM_OK);
  stream_recs_model *m = NULL;
  ck_assert_int_eq(stream_recs_train(&m, d, NULL, NULL, NULL), STREAM_OK); /* no pairs */
  stream_recs_query q = STREAM_RECS_QUERY_INIT;
  q.k = 3;
  stream_recs_item out[5];
  int used = 0;
  size_t n = rec(out, &used, m, &q);
  ck_assert_int_eq(used, STREAM_RECS_POPULAR);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(out[0].id, "a");
  ck_assert_str_eq(out[1].id, "b");
  ck_assert_str_eq(out[2].id, "k");
  stream_recs_model_free(m);

  /* recs__topk itself: equal scores in any order come out by id */
  stream_recs_data_free(d);
  d = random_data(10, 30, 3);
  for (int i = 0; i < 300; i++) {
    char id[16];
    snprintf(id, sizeof id, "t%03d", (i * 7) % 300);
    ck_assert_int_eq(stream_recs_data_add_item(d, id), STREAM_OK);
  }
  stream_recs_options o = fast_opts();
  m = train(d, &o);
  size_t ni = m->items.count;
  double *s = calloc(ni, sizeof *s);
  for (size_t i = 0; i < ni; i++)
    s[i] = (double)(i % 4);
  s[5] = NAN;
  s[6] = -INFINITY;
  stream_recs_item top[50];
  n = recs__topk(top, 50, m, s, NULL, NULL);
  ck_assert_uint_eq(n, 50);
  for (size_t t = 0; t < n; t++) {
    ck_assert(top[t].score == 3);
    if (t)
      ck_assert_int_lt(strcmp(top[t - 1].id, top[t].id), 0);
  }
  free(s);
  stream_recs_model_free(m);
  stream_recs_data_free(d);
}
END_TEST

START_TEST(test_similar_items)
{
  stream_recs_data *d = planted();
  ck_assert_int_eq(stream_recs_data_add_item(d, "c-alone"), STREAM_OK);
  stream_recs_options o = fast_opts();
  stream_recs_model *m = train(d, &o);
  stream_recs_item out[40];
  size_t n = 0;
  ck_assert_int_eq(stream_recs_similar(out, &n, m, "a-item2", G - 1, NULL, NULL), STREAM_OK);
  ck_assert_uint_eq(n, G - 1);
  for (size_t t = 0; t < n; t++) {
    ck_assert(out[t].id[0] == 'a');
    ck_assert_str_ne(out[t].id, "a-item2");
    ck_assert(out[t].score > 0);
  }
  /* more than its neighbours: the rest from ALS factors, never itself */
  ck_assert_int_eq(stream_recs_similar(out, &n, m, "a-item2", 40, NULL, NULL), STREAM_OK);
  ck_assert_uint_eq(n, 2 * G);
  for (size_t t = 0; t < n; t++) {
    ck_assert_str_ne(out[t].id, "a-item2");
    for (size_t v = 0; v < t; v++)
      ck_assert_str_ne(out[t].id, out[v].id);
  }
  /* an item without interactions still gets an answer */
  ck_assert_int_eq(stream_recs_similar(out, &n, m, "c-alone", 3, NULL, NULL), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  /* ... with nothing to go on: every score 0, ties by id */
  ck_assert_str_eq(out[0].id, "a-item0");
  ck_assert_str_eq(out[2].id, "a-item2");
  ck_assert(out[0].score == 0 && out[2].score == 0);
  /* and no user gets it from leftover factor noise: its ALS score is 0 */
  stream_recs_query q = STREAM_RECS_QUERY_INIT;
  q.user = "a-user0";
  q.k = 2 * G + 1;
  q.include_history = 1;
  n = rec(out, NULL, m, &q);
  ck_assert_uint_eq(n, 2 * G + 1);
  for (size_t t = 0; t < n; t++)
    if (strcmp(out[t].id, "c-alone") == 0)
      ck_assert(out[t].score == 0);
  stream_recs_model_free(m);
  stream_recs_data_free(d);
}
END_TEST

typedef struct prog {
  unsigned int calls, last, total, cancel_at;
} prog;

static int on_progress(void *ud, unsigned int done, unsigned int total)
{
  prog *p = ud;
  ck_assert_uint_gt(done, p->last);
  ck_assert_uint_le(done, total);
  p->calls++;
  p->last = done;
  p->total = total;
  return p->cancel_at && done >= p->cancel_at;
}

START_TEST(test_progress_and_cancel)
{
  stream_recs_data *d = planted();
  stream_recs_options o = fast_opts();
  o.iterations = 4;
  prog p = {0};
  stream_recs_model *m = NULL;
  ck_assert_int_eq(stream_recs_train(&m, d, &o, on_progress, &p), STREAM_OK);
  ck_assert_uint_eq(p.total, 9);
  ck_assert_uint_eq(p.last, 9);
  ck_assert_uint_eq(p.calls, 9);
  stream_recs_model_free(m);
  m = NULL;
  p = (prog){0, 0, 0, 3};
  ck_assert_int_eq(stream_recs_train(&m, d, &o, on_progress, &p), STREAM_ECANCELED);
  ck_assert_ptr_null(m);
  ck_assert_uint_eq(p.calls, 3);
  stream_recs_data_free(d);
}
END_TEST

static Suite *recs_model_suite(void)
{
  Suite *s = suite_create("recs_model");
  TCase *tc = tcase_create("model");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_bad_input_is_einval);
  tcase_add_test(tc, test_data_accumulates_pairs);
  tcase_add_test(tc, test_split_last_and_time);
  tcase_add_test(tc, test_als_recommends_held_out_item);
  tcase_add_test(tc, test_loss_decreases);
  tcase_add_test(tc, test_threads_do_not_change_factors);
  tcase_add_test(tc, test_fold_in_matches_trained_vector);
  tcase_add_test(tc, test_save_load_round_trip);
  tcase_add_test(tc, test_info_json);
  tcase_add_test(tc, test_cold_start_gets_popularity);
  tcase_add_test(tc, test_history_is_excluded_unless_asked);
  tcase_add_test(tc, test_filter_is_honoured);
  tcase_add_test(tc, test_ties_break_by_id);
  tcase_add_test(tc, test_similar_items);
  tcase_add_test(tc, test_progress_and_cancel);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(recs_model_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
