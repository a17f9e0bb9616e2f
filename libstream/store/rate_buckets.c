/*
 * store: rate-limit buckets (stream_store_rate_take / _reset), the public
 * entry points and the token-bucket arithmetic both backends share
 * (store_rate.h), so SQLite and PostgreSQL refill, charge and purge alike.
 * The arithmetic is core's (core/bucket.c), as the in-memory limiter's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../core/core.h"
#include "store_rate.h"

void store__rate_refill(double *tokens, int64_t *updated, bool found,
                        const stream_store_rate_key *k, int64_t now)
{
  if (!found) {
    *tokens = (double)k->burst;
    *updated = now;
    return;
  }
  stream__bucket_refill(tokens, updated, k->burst, k->interval, now);
}

int64_t store__rate_wait(double tokens, const stream_store_rate_key *k)
{
  return stream__bucket_wait(tokens, k->interval);
}

int64_t store__rate_full_at(double tokens, int64_t updated, const stream_store_rate_key *k)
{
  double missing = (double)k->burst - tokens;
  if (missing <= 0)
    return updated;
  return updated + stream__ceil_seconds(missing * (double)k->interval);
}

static int check_name(const char *what, const char *v, size_t max)
{
  if (!v || !*v)
    return stream__err(STREAM_EINVAL, "rate limit: %s is required", what);
  if (strnlen(v, max + 1) > max)
    return stream__err(STREAM_EINVAL, "rate limit: %s is longer than %zu bytes", what, max);
  return store__check_utf8(what, v);
}

static int check_key(const stream_store_rate_key *k, size_t i)
{
  char what[32];
  snprintf(what, sizeof what, "keys[%zu].scope", i);
  int rc = check_name(what, k->scope, STREAM_STORE_RATE_SCOPE_MAX);
  if (rc != STREAM_OK)
    return rc;
  snprintf(what, sizeof what, "keys[%zu].key", i);
  if ((rc = check_name(what, k->key, STREAM_STORE_RATE_KEY_MAX)) != STREAM_OK)
    return rc;
  if (k->burst < 1 || k->burst > STREAM_STORE_RATE_BURST_MAX)
    return stream__err(STREAM_EINVAL, "rate limit: keys[%zu].burst %u is outside 1..%d", i,
                       k->burst, STREAM_STORE_RATE_BURST_MAX);
  if (k->interval < 1 || k->interval > STREAM_STORE_RATE_INTERVAL_MAX)
    return stream__err(STREAM_EINVAL, "rate limit: keys[%zu].interval %u is outside 1..%d", i,
                       k->interval, STREAM_STORE_RATE_INTERVAL_MAX);
  return STREAM_OK;
}

int stream_store_rate_take(int64_t *out_wait, stream_store *s, const stream_store_rate_key *keys,
                           size_t n, int64_t now)
{
  if (!out_wait)
    return stream__err(STREAM_EINVAL, "rate limit: out_wait is NULL");
  *out_wait = 0;
  if (!s)
    return stream__err(STREAM_EINVAL, "store handle is NULL");
  if (!keys)
    return stream__err(STREAM_EINVAL, "rate limit: keys is NULL");
  if (n < 1 || n > STREAM_STORE_RATE_KEYS_MAX)
    return stream__err(STREAM_EINVAL, "rate limit: n %zu is outside 1..%d", n,
                       STREAM_STORE_RATE_KEYS_MAX);
  for (size_t i = 0; i < n; i++) {
    int rc = check_key(&keys[i], i);
    if (rc != STREAM_OK)
      return rc;
    for (size_t j = 0; j < i; j++)
      if (strcmp(keys[j].scope, keys[i].scope) == 0 && strcmp(keys[j].key, keys[i].key) == 0)
        return stream__err(STREAM_EINVAL, "rate limit: keys[%zu] names the bucket of keys[%zu]", i,
                           j);
  }
  if (now <= 0)
    return stream__err(STREAM_EINVAL, "rate limit: now must be > 0 (got %" PRId64 ")", now);
  int64_t wait = 0;
  int rc = s->backend->rates->take(s->impl, &wait, keys, n, now);
  if (rc == STREAM_OK)
    *out_wait = wait;
  return rc;
}

int stream_store_rate_reset(stream_store *s, const char *scope, const char *key)
{
  if (!s)
    return stream__err(STREAM_EINVAL, "store handle is NULL");
  int rc = check_name("scope", scope, STREAM_STORE_RATE_SCOPE_MAX);
  if (rc == STREAM_OK)
    rc = check_name("key", key, STREAM_STORE_RATE_KEY_MAX);
  if (rc != STREAM_OK)
    return rc;
  return s->backend->rates->reset(s->impl, scope, key);
}
