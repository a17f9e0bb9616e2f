/*
 * Internal state of the delivery module, shared by delivery.c (handle,
 * session signing, MIME types), origin.c (request checks, safe open, the
 * per-asset rendition cache) and filter.c (manifest filtering).
 */
#ifndef STREAM_DELIVERY_INTERNAL_H
#define STREAM_DELIVERY_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "stream/delivery.h"

#define DELIVERY__CACHE_SLOTS 64
#define DELIVERY__RENDITIONS_MAX 32

/* Heights of an asset's rendition directories, from its summary.json. */
typedef struct delivery__asset {
  char id[STREAM_DELIVERY_ASSET_ID_MAX + 1];
  uint64_t ino, size;
  int64_t mtime_ns;
  size_t n;
  char dirs[DELIVERY__RENDITIONS_MAX][64];
  int heights[DELIVERY__RENDITIONS_MAX];
  /* 1 when the summary lists a video rendition that does not fit here (more than
   * DELIVERY__RENDITIONS_MAX, or a directory name of 64 bytes or more): a directory not in
   * `dirs` may be that rendition, so it counts as above every cap instead of as no video. */
  int overflow;
} delivery__asset;

struct stream_delivery {
  char *base_url;
  char *media_root;
  stream_keyring *keys;
  int format;
  int cloudfront_hash; /* stream_cloudfront_hash of CloudFront cookies (0 = SHA-1) */
  char *key_id;
  int64_t leeway;
  char manifest_cc[48];
  int root_fd;                /* O_PATH fd of media_root opened by stream_delivery_new(), or -1 */
  atomic_int openat2_missing; /* set once openat2 proved unavailable (old kernel, seccomp) */
  pthread_mutex_t lock;       /* guards cache and next_slot */
  delivery__asset cache[DELIVERY__CACHE_SLOTS];
  size_t next_slot;
};

/* 1 when s is 1..64 characters of [A-Za-z0-9_-]. */
int delivery__asset_id_ok(const char *s, size_t n);

#endif
