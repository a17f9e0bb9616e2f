/*
 * recs/data: the interaction data set (stream_recs_data) — string interning
 * of user and item ids, one record per (user, item) pair with summed
 * strengths, the leave-last-out and temporal splits — and the CSR views the
 * model trains on.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "recs_internal.h"

/* Largest strength of one add. */
#define RECS_R_MAX 1e6

/* ------------------------------------------------------------------------ */
/* String interning                                                          */
/* ------------------------------------------------------------------------ */

static uint64_t strhash(const char *s)
{
  uint64_t h = 1469598103934665603ULL; /* FNV-1a 64 */
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 1099511628211ULL;
  }
  return h ^ (h >> 29);
}

void recs__strtab_clear(recs__strtab *t)
{
  if (!t)
    return;
  for (size_t i = 0; i < t->count; i++)
    free(t->names[i]);
  free(t->names);
  free(t->slots);
  memset(t, 0, sizeof *t);
}

int64_t recs__strtab_find(const recs__strtab *t, const char *s)
{
  if (!t->slots_cap)
    return -1;
  size_t mask = t->slots_cap - 1;
  for (size_t i = (size_t)strhash(s) & mask;; i = (i + 1) & mask) {
    uint32_t e = t->slots[i];
    if (!e)
      return -1;
    if (strcmp(t->names[e - 1], s) == 0)
      return (int64_t)(e - 1);
  }
}

static int strtab_grow_slots(recs__strtab *t)
{
  size_t cap = t->slots_cap ? t->slots_cap * 2 : 64;
  uint32_t *slots = stream__calloc(cap, sizeof *slots);
  if (!slots)
    return STREAM_ENOMEM;
  for (size_t n = 0; n < t->count; n++) {
    size_t i = (size_t)strhash(t->names[n]) & (cap - 1);
    while (slots[i])
      i = (i + 1) & (cap - 1);
    slots[i] = (uint32_t)(n + 1);
  }
  free(t->slots);
  t->slots = slots;
  t->slots_cap = cap;
  return STREAM_OK;
}

int recs__strtab_intern(recs__strtab *t, const char *s, uint32_t *out_index)
{
  int64_t found = recs__strtab_find(t, s);
  if (found >= 0) {
    *out_index = (uint32_t)found;
    return STREAM_OK;
  }
  if (t->count >= UINT32_MAX - 1)
    return stream__err(STREAM_ENOMEM, "too many distinct ids");
  /* keep the load factor under 1/2 */
  if ((t->count + 1) * 2 > t->slots_cap && strtab_grow_slots(t) != STREAM_OK)
    return STREAM_ENOMEM;
  if (t->count == t->names_cap) {
    size_t cap = t->names_cap ? t->names_cap * 2 : 16;
    char **names = realloc(t->names, cap * sizeof *names);
    if (!names)
      return stream__err(STREAM_ENOMEM, "out of memory interning an id");
    t->names = names;
    t->names_cap = cap;
  }
  char *copy = stream__strdup(s);
  if (!copy)
    return STREAM_ENOMEM;
  size_t mask = t->slots_cap - 1;
  size_t i = (size_t)strhash(s) & mask;
  while (t->slots[i])
    i = (i + 1) & mask;
  t->names[t->count] = copy;
  t->slots[i] = (uint32_t)(t->count + 1);
  *out_index = (uint32_t)t->count++;
  return STREAM_OK;
}

/* ------------------------------------------------------------------------ */
/* Data set                                                                  */
/* ------------------------------------------------------------------------ */

/* 1..STREAM_RECS_ID_MAX bytes of well-formed UTF-8 without C0, DEL or C1
 * control characters. */
static int id_ok(const char *s)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t n = strlen(s);
  if (n < 1 || n > STREAM_RECS_ID_MAX)
    return 0;
  for (size_t i = 0; i < n;) {
    unsigned c = p[i];
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f)
        return 0;
      i++;
      continue;
    }
    size_t len;
    uint32_t cp, min;
    if ((c & 0xe0) == 0xc0) {
      len = 2, cp = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3, cp = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return 0;
    }
    if (i + len > n)
      return 0;
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (p[i + k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
      return 0;
    i += len;
  }
  return 1;
}

static int check_id(const char *s, const char *what)
{
  if (!s)
    return stream__err(STREAM_EINVAL, "recs: %s id is NULL", what);
  if (!id_ok(s))
    return stream__err(STREAM_EINVAL,
                       "recs: %s id must be 1 to %d bytes of UTF-8 without control characters",
                       what, STREAM_RECS_ID_MAX);
  return STREAM_OK;
}

int stream_recs_data_new(stream_recs_data **out)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_recs_data_new: out is NULL");
  *out = stream__calloc(1, sizeof **out);
  return *out ? STREAM_OK : STREAM_ENOMEM;
}

void stream_recs_data_free(stream_recs_data *d)
{
  if (!d)
    return;
  recs__strtab_clear(&d->users);
  recs__strtab_clear(&d->items);
  free(d->pairs);
  free(d->pair_keys);
  free(d->pair_slots);
  free(d);
}

static uint64_t pair_key(uint32_t u, uint32_t i)
{
  return ((uint64_t)u << 32) | i;
}

static size_t key_slot(uint64_t key, size_t mask)
{
  uint64_t h = key * 0x9E3779B97F4A7C15ULL;
  return (size_t)(h ^ (h >> 32)) & mask;
}

static int pair_slots_grow(stream_recs_data *d)
{
  size_t cap = d->pair_slots_cap ? d->pair_slots_cap * 2 : 256;
  uint64_t *keys = stream__calloc(cap, sizeof *keys);
  uint32_t *slots = stream__calloc(cap, sizeof *slots);
  if (!keys || !slots) {
    free(keys);
    free(slots);
    return STREAM_ENOMEM;
  }
  for (size_t n = 0; n < d->pair_count; n++) {
    uint64_t key = pair_key(d->pairs[n].user, d->pairs[n].item);
    size_t i = key_slot(key, cap - 1);
    while (slots[i])
      i = (i + 1) & (cap - 1);
    keys[i] = key;
    slots[i] = (uint32_t)(n + 1);
  }
  free(d->pair_keys);
  free(d->pair_slots);
  d->pair_keys = keys;
  d->pair_slots = slots;
  d->pair_slots_cap = cap;
  return STREAM_OK;
}

/* Add (u, i) with r and ts at insertion rank `order`: sums r into an
 * existing pair and keeps its latest ts (and that add's rank). */
static int data_put(stream_recs_data *d, uint32_t u, uint32_t item, double r, int64_t ts,
                    uint64_t order)
{
  uint64_t key = pair_key(u, item);
  if (d->pair_slots_cap) {
    size_t mask = d->pair_slots_cap - 1;
    for (size_t i = key_slot(key, mask); d->pair_slots[i]; i = (i + 1) & mask) {
      if (d->pair_keys[i] == key) {
        recs__pair *p = &d->pairs[d->pair_slots[i] - 1];
        p->r += r;
        if (ts >= p->ts) {
          p->ts = ts;
          p->order = order;
        }
        return STREAM_OK;
      }
    }
  }
  if (d->pair_count >= UINT32_MAX - 1)
    return stream__err(STREAM_ENOMEM, "recs: too many pairs");
  if ((d->pair_count + 1) * 2 > d->pair_slots_cap && pair_slots_grow(d) != STREAM_OK)
    return STREAM_ENOMEM;
  if (d->pair_count == d->pair_cap) {
    size_t cap = d->pair_cap ? d->pair_cap * 2 : 64;
    recs__pair *pairs = realloc(d->pairs, cap * sizeof *pairs);
    if (!pairs)
      return stream__err(STREAM_ENOMEM, "out of memory adding a pair");
    d->pairs = pairs;
    d->pair_cap = cap;
  }
  size_t mask = d->pair_slots_cap - 1;
  size_t i = key_slot(key, mask);
  while (d->pair_slots[i])
    i = (i + 1) & mask;
  d->pair_keys[i] = key;
  d->pair_slots[i] = (uint32_t)(d->pair_count + 1);
  d->pairs[d->pair_count++] = (recs__pair){u, item, r, ts, order};
  return STREAM_OK;
}

int stream_recs_data_add(stream_recs_data *d, const char *user, const char *item, double r,
                         int64_t ts)
{
  if (!d)
    return stream__err(STREAM_EINVAL, "stream_recs_data_add: data is NULL");
  int rc = check_id(user, "user");
  if (rc == STREAM_OK)
    rc = check_id(item, "item");
  if (rc != STREAM_OK)
    return rc;
  if (!isfinite(r) || r < 0 || r > RECS_R_MAX)
    return stream__err(STREAM_EINVAL, "recs: strength r=%g of (%s, %s) must be finite, 0..1e6", r,
                       user, item);
  if (ts < 0)
    return stream__err(STREAM_EINVAL, "recs: ts=%lld of (%s, %s) must be >= 0", (long long)ts, user,
                       item);
  uint32_t u, i;
  if (recs__strtab_intern(&d->users, user, &u) != STREAM_OK ||
      recs__strtab_intern(&d->items, item, &i) != STREAM_OK)
    return STREAM_ENOMEM;
  return data_put(d, u, i, r, ts, d->adds++);
}

int stream_recs_data_add_item(stream_recs_data *d, const char *item)
{
  if (!d)
    return stream__err(STREAM_EINVAL, "stream_recs_data_add_item: data is NULL");
  int rc = check_id(item, "item");
  if (rc != STREAM_OK)
    return rc;
  uint32_t i;
  return recs__strtab_intern(&d->items, item, &i);
}

int stream_recs_data_counts(const stream_recs_data *d, size_t *out_users, size_t *out_items,
                            size_t *out_pairs)
{
  if (!d)
    return stream__err(STREAM_EINVAL, "stream_recs_data_counts: data is NULL");
  if (out_users)
    *out_users = d->users.count;
  if (out_items)
    *out_items = d->items.count;
  if (out_pairs)
    *out_pairs = d->pair_count;
  return STREAM_OK;
}

/* ------------------------------------------------------------------------ */
/* Splits                                                                    */
/* ------------------------------------------------------------------------ */

/* Copy pair `p` of `src` into `dst` (ids re-interned, rank kept). */
static int copy_pair(stream_recs_data *dst, const stream_recs_data *src, const recs__pair *p)
{
  uint32_t u, i;
  if (recs__strtab_intern(&dst->users, src->users.names[p->user], &u) != STREAM_OK ||
      recs__strtab_intern(&dst->items, src->items.names[p->item], &i) != STREAM_OK)
    return STREAM_ENOMEM;
  int rc = data_put(dst, u, i, p->r, p->ts, p->order);
  if (rc == STREAM_OK && p->order >= dst->adds)
    dst->adds = p->order + 1;
  return rc;
}

/* Two new data sets; train declares every item of `d` in d's order. */
static int split_begin(stream_recs_data **train, stream_recs_data **test, const stream_recs_data *d)
{
  *train = *test = NULL;
  if (stream_recs_data_new(train) != STREAM_OK || stream_recs_data_new(test) != STREAM_OK)
    return STREAM_ENOMEM;
  for (size_t i = 0; i < d->items.count; i++) {
    uint32_t idx;
    if (recs__strtab_intern(&(*train)->items, d->items.names[i], &idx) != STREAM_OK)
      return STREAM_ENOMEM;
  }
  return STREAM_OK;
}

static int split_end(int rc, stream_recs_data **out_train, stream_recs_data **out_test,
                     stream_recs_data *train, stream_recs_data *test)
{
  if (rc != STREAM_OK) {
    stream_recs_data_free(train);
    stream_recs_data_free(test);
    return rc;
  }
  *out_train = train;
  *out_test = test;
  return STREAM_OK;
}

int stream_recs_data_split_last(stream_recs_data **out_train, stream_recs_data **out_test,
                                const stream_recs_data *d, size_t min_history)
{
  if (!out_train || !out_test || !d)
    return stream__err(STREAM_EINVAL, "stream_recs_data_split_last: NULL argument");
  *out_train = *out_test = NULL;
  if (min_history < 2)
    return stream__err(STREAM_EINVAL, "stream_recs_data_split_last: min_history=%zu must be >= 2",
                       min_history);
  stream_recs_data *train = NULL, *test = NULL;
  size_t nu = d->users.count;
  size_t *count = stream__calloc(nu ? nu : 1, sizeof *count);
  size_t *last = stream__calloc(nu ? nu : 1, sizeof *last);
  int rc = (count && last) ? split_begin(&train, &test, d) : STREAM_ENOMEM;
  for (size_t n = 0; rc == STREAM_OK && n < d->pair_count; n++) {
    const recs__pair *p = &d->pairs[n];
    if (count[p->user]++ == 0) {
      last[p->user] = n;
    } else {
      const recs__pair *q = &d->pairs[last[p->user]];
      if (p->ts > q->ts || (p->ts == q->ts && p->order > q->order))
        last[p->user] = n;
    }
  }
  for (size_t n = 0; rc == STREAM_OK && n < d->pair_count; n++) {
    const recs__pair *p = &d->pairs[n];
    int held = count[p->user] >= min_history && last[p->user] == n;
    rc = copy_pair(held ? test : train, d, p);
  }
  free(count);
  free(last);
  return split_end(rc, out_train, out_test, train, test);
}

int stream_recs_data_split_time(stream_recs_data **out_train, stream_recs_data **out_test,
                                const stream_recs_data *d, int64_t cutoff)
{
  if (!out_train || !out_test || !d)
    return stream__err(STREAM_EINVAL, "stream_recs_data_split_time: NULL argument");
  *out_train = *out_test = NULL;
  stream_recs_data *train = NULL, *test = NULL;
  size_t nu = d->users.count;
  unsigned char *has_train = stream__calloc(nu ? nu : 1, 1);
  int rc = has_train ? split_begin(&train, &test, d) : STREAM_ENOMEM;
  for (size_t n = 0; rc == STREAM_OK && n < d->pair_count; n++)
    if (d->pairs[n].ts < cutoff)
      has_train[d->pairs[n].user] = 1;
  /* pairs at or after the cutoff of users without train pairs are dropped:
   * they can neither be trained on (the future) nor evaluated (cold user) */
  for (size_t n = 0; rc == STREAM_OK && n < d->pair_count; n++) {
    const recs__pair *p = &d->pairs[n];
    if (p->ts < cutoff)
      rc = copy_pair(train, d, p);
    else if (has_train[p->user])
      rc = copy_pair(test, d, p);
  }
  free(has_train);
  return split_end(rc, out_train, out_test, train, test);
}

/* ------------------------------------------------------------------------ */
/* CSR                                                                       */
/* ------------------------------------------------------------------------ */

void recs__csr_clear(recs__csr *c)
{
  if (!c)
    return;
  free(c->ptr);
  free(c->idx);
  free(c->val);
  memset(c, 0, sizeof *c);
}

int recs__csr_build(recs__csr *out, const stream_recs_data *d, int by_item)
{
  memset(out, 0, sizeof *out);
  size_t rows = by_item ? d->items.count : d->users.count;
  size_t cols = by_item ? d->users.count : d->items.count;
  size_t nnz = d->pair_count;
  out->rows = rows;
  out->ptr = stream__calloc(rows + 1, sizeof *out->ptr);
  out->idx = stream__calloc(nnz ? nnz : 1, sizeof *out->idx);
  out->val = stream__calloc(nnz ? nnz : 1, sizeof *out->val);
  size_t *colptr = stream__calloc((rows > cols ? rows : cols) + 1, sizeof *colptr);
  uint32_t *bycol = stream__calloc(nnz ? nnz : 1, sizeof *bycol);
  if (!out->ptr || !out->idx || !out->val || !colptr || !bycol) {
    free(colptr);
    free(bycol);
    recs__csr_clear(out);
    return STREAM_ENOMEM;
  }
  /* counting sort by column, then a stable one by row: columns ascend */
  for (size_t n = 0; n < nnz; n++) {
    const recs__pair *p = &d->pairs[n];
    colptr[(by_item ? p->user : p->item) + 1]++;
    out->ptr[(by_item ? p->item : p->user) + 1]++;
  }
  for (size_t c = 0; c < cols; c++)
    colptr[c + 1] += colptr[c];
  for (size_t r = 0; r < rows; r++)
    out->ptr[r + 1] += out->ptr[r];
  for (size_t n = 0; n < nnz; n++) {
    const recs__pair *p = &d->pairs[n];
    bycol[colptr[by_item ? p->user : p->item]++] = (uint32_t)n;
  }
  size_t *fill = colptr; /* reuse as the per-row cursor */
  memcpy(fill, out->ptr, rows * sizeof *fill);
  for (size_t k = 0; k < nnz; k++) {
    const recs__pair *p = &d->pairs[bycol[k]];
    size_t r = by_item ? p->item : p->user;
    size_t at = fill[r]++;
    out->idx[at] = by_item ? p->user : p->item;
    out->val[at] = (float)p->r;
  }
  free(colptr);
  free(bycol);
  return STREAM_OK;
}
