/*
 * auth/ratelimit: in-memory token buckets for sign-in attempts, per account
 * (normalized e-mail) and per client address. Each table is a fixed array of
 * `size` buckets arranged in sets of AUTH__WAYS; a name hashes (SHA-256 keyed
 * with a per-process random secret) to one set and, when absent, replaces the
 * least recently used bucket of that set. Memory is therefore bounded, and an
 * eviction only ever forgets a bucket (it restarts full): the limit is then
 * looser, never wrongly stricter. Buckets are not shared between processes.
 * With the rate_in_store option, auth__limit_take / auth__limit_forgive (at the
 * end) keep them in the store instead, shared by every process on it, named by
 * HMAC-SHA256 with the rate_key option (or SHA-256 without one).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../core/core.h"
#include "auth_internal.h"

int auth__limiter_init(auth__limiter *l, unsigned int burst, unsigned int interval,
                       size_t table_size)
{
  memset(l, 0, sizeof *l);
  l->burst = burst;
  l->interval = interval;
  if (pthread_mutex_init(&l->lock, NULL) != 0)
    return stream__err(STREAM_ENOMEM, "auth: cannot create a mutex");
  if (burst == 0)
    return STREAM_OK;
  l->sets = table_size / AUTH__WAYS;
  if (l->sets == 0)
    l->sets = 1;
  l->slots = stream__calloc(l->sets * AUTH__WAYS, sizeof *l->slots);
  if (!l->slots) {
    pthread_mutex_destroy(&l->lock);
    return STREAM_ENOMEM;
  }
  int rc = stream_random_bytes(l->secret, sizeof l->secret);
  if (rc != STREAM_OK) {
    free(l->slots);
    l->slots = NULL;
    pthread_mutex_destroy(&l->lock);
  }
  return rc;
}

void auth__limiter_free(auth__limiter *l)
{
  free(l->slots);
  l->slots = NULL;
  stream__wipe(l->secret, sizeof l->secret);
  pthread_mutex_destroy(&l->lock);
}

static void key_of(unsigned char key[16], uint64_t *set, const auth__limiter *l, const char *name)
{
  unsigned char md[32];
  unsigned int mdlen = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
           EVP_DigestUpdate(ctx, l->secret, sizeof l->secret) == 1 &&
           EVP_DigestUpdate(ctx, name, strlen(name)) == 1 &&
           EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) /* Degrade to an unkeyed but still deterministic mix rather than fail a sign-in. */
    EVP_Digest(name, strlen(name), md, &mdlen, EVP_sha256(), NULL);
  memcpy(key, md, 16);
  uint64_t h = 0;
  for (int i = 16; i < 24; i++)
    h = (h << 8) | md[i];
  *set = h;
}

/* Find (or create, evicting the set's LRU bucket) the bucket of `name`, refilled to `now`.
 * Caller holds the lock. */
static auth__bucket *bucket_of(auth__limiter *l, const char *name, int64_t now)
{
  unsigned char key[16];
  uint64_t h;
  key_of(key, &h, l, name);
  auth__bucket *set = l->slots + (size_t)(h % l->sets) * AUTH__WAYS;
  auth__bucket *b = NULL, *victim = NULL;
  for (size_t i = 0; i < AUTH__WAYS; i++) {
    if (set[i].used && memcmp(set[i].key, key, sizeof key) == 0) {
      b = &set[i];
      break;
    }
    if (!victim || (victim->used && (!set[i].used || set[i].touched < victim->touched)))
      victim = &set[i];
  }
  if (!b) {
    b = victim;
    memcpy(b->key, key, sizeof key);
    b->used = true;
    b->tokens = l->burst;
    b->updated = now;
  }
  b->touched = ++l->stamp;
  stream__bucket_refill(&b->tokens, &b->updated, l->burst, l->interval, now);
  return b;
}

int64_t auth__limit_take2(auth__limiter *la, const char *name_a, auth__limiter *lb,
                          const char *name_b, int64_t now)
{
  bool use_a = la && name_a && la->burst;
  bool use_b = lb && name_b && lb->burst;
  if (use_a)
    pthread_mutex_lock(&la->lock);
  if (use_b)
    pthread_mutex_lock(&lb->lock);
  auth__bucket *ba = use_a ? bucket_of(la, name_a, now) : NULL;
  auth__bucket *bb = use_b ? bucket_of(lb, name_b, now) : NULL;
  int64_t wa = ba ? stream__bucket_wait(ba->tokens, la->interval) : 0;
  int64_t wb = bb ? stream__bucket_wait(bb->tokens, lb->interval) : 0;
  int64_t wait = wa > wb ? wa : wb;
  if (wait == 0) {
    if (ba)
      ba->tokens -= 1.0;
    if (bb)
      bb->tokens -= 1.0;
  }
  if (use_b)
    pthread_mutex_unlock(&lb->lock);
  if (use_a)
    pthread_mutex_unlock(&la->lock);
  return wait;
}

void auth__limit_reset(auth__limiter *l, const char *name)
{
  if (!l->burst || !name)
    return;
  unsigned char key[16];
  uint64_t h;
  pthread_mutex_lock(&l->lock);
  key_of(key, &h, l, name);
  auth__bucket *set = l->slots + (size_t)(h % l->sets) * AUTH__WAYS;
  for (size_t i = 0; i < AUTH__WAYS; i++)
    if (set[i].used && memcmp(set[i].key, key, sizeof key) == 0)
      set[i].tokens = l->burst;
  pthread_mutex_unlock(&l->lock);
}

/* ---- the handle's limits: in memory or in the store ------------------------ */

/* A bucket's name in the store: HMAC-SHA256 with the rate key, or SHA-256 without one, of
 * `name` as 64 hex characters into `hex` (65 bytes). */
static int bucket_name(char *hex, const stream_auth *a, const char *name)
{
  return a->rate_key ? auth__hmac_sha256_hex(hex, a->rate_key, name, strlen(name))
                     : auth__sha256_hex(hex, name, strlen(name));
}

/* One bucket of the store: (l->scope, bucket_name(name)) with l's rate. `hex` holds 65. */
static int store_key(stream_store_rate_key *k, char *hex, const stream_auth *a,
                     const auth__limiter *l, const char *name)
{
  int rc = bucket_name(hex, a, name);
  if (rc != STREAM_OK)
    return rc;
  k->scope = l->scope;
  k->key = hex;
  k->burst = l->burst;
  k->interval = l->interval;
  return STREAM_OK;
}

int auth__limit_take(int64_t *out_wait, stream_auth *a, auth__limiter *la, const char *name_a,
                     auth__limiter *lb, const char *name_b, int64_t now)
{
  *out_wait = 0;
  if (!a->rate_in_store) {
    *out_wait = auth__limit_take2(la, name_a, lb, name_b, now);
    return STREAM_OK;
  }
  stream_store_rate_key keys[2];
  char hex[2][65];
  size_t n = 0;
  int rc = STREAM_OK;
  if (la && name_a && la->burst && (rc = store_key(&keys[n], hex[n], a, la, name_a)) == STREAM_OK)
    n++;
  if (rc == STREAM_OK && lb && name_b && lb->burst &&
      (rc = store_key(&keys[n], hex[n], a, lb, name_b)) == STREAM_OK)
    n++;
  if (rc != STREAM_OK || n == 0)
    return rc;
  return stream_store_rate_take(out_wait, a->store, keys, n, now);
}

void auth__limit_forgive(stream_auth *a, auth__limiter *l, const char *name)
{
  if (!a->rate_in_store) {
    auth__limit_reset(l, name);
    return;
  }
  if (!l->burst || !name)
    return;
  char hex[65];
  int rc = bucket_name(hex, a, name);
  if (rc == STREAM_OK)
    rc = stream_store_rate_reset(a->store, l->scope, hex);
  if (rc != STREAM_OK)
    stream__log(STREAM_LOG_WARN, "auth", "could not refill a %s rate-limit bucket: %s", l->scope,
                stream_error_last()->message);
}
