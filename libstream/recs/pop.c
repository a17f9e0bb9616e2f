/*
 * recs: time-decayed popularity ("Trending now", cold start, the POPULAR
 * method). Every (user, item) pair adds 2^(-(now - ts) / half_life) to its
 * item, so a pair from now counts 1 and one from a half-life ago 0.5; the
 * strength r does not matter (popularity counts viewers). A pair with an
 * unknown time (ts 0) or a time after `now` counts as now. Pairs are summed
 * in the data set's order, so the result is deterministic.
 */
#include <math.h>
#include <stdlib.h>

#include "core/core.h"
#include "recs/recs_internal.h"

int recs__pop_build(stream_recs_model *m, const stream_recs_data *d)
{
  if (m == NULL || d == NULL) {
    return stream__err(STREAM_EINVAL, "recs: popularity needs a model and its data");
  }
  double half_life = m->opts.half_life_days * 86400.0;
  if (!(half_life > 0) || !isfinite(half_life)) {
    return stream__err(STREAM_EINVAL, "recs: half_life_days must be > 0 (got %g)",
                       m->opts.half_life_days);
  }
  size_t items = m->items.count;
  free(m->pop);
  m->pop = calloc(items > 0 ? items : 1, sizeof *m->pop);
  /* d's item indices name the same items as the model's when the model was
   * built from d; map by name all the same, so the order never matters. */
  int64_t *map = calloc(d->items.count > 0 ? d->items.count : 1, sizeof *map);
  if (m->pop == NULL || map == NULL) {
    free(map);
    free(m->pop);
    m->pop = NULL;
    return stream__err(STREAM_ENOMEM, "recs: out of memory for popularity");
  }
  for (size_t i = 0; i < d->items.count; i++) {
    map[i] = recs__strtab_find(&m->items, d->items.names[i]);
  }

  int64_t now = m->opts.now;
  if (now == 0) {
    for (size_t p = 0; p < d->pair_count; p++) {
      if (d->pairs[p].ts > now) {
        now = d->pairs[p].ts;
      }
    }
  }
  for (size_t p = 0; p < d->pair_count; p++) {
    const recs__pair *pr = &d->pairs[p];
    if (pr->item >= d->items.count || map[pr->item] < 0) {
      continue;
    }
    double w = 1.0;
    if (pr->ts != 0 && pr->ts < now) {
      w = exp2(-(double)(now - pr->ts) / half_life);
    }
    m->pop[map[pr->item]] += w;
  }
  free(map);
  return STREAM_OK;
}
