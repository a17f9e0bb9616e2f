/*
 * recs: what the service's files share (service.c: the served model, signals,
 * retrain; home.c: the home rows). Server feature only.
 */
#ifndef STREAM_RECS_SERVICE_INTERNAL_H
#define STREAM_RECS_SERVICE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../store/store_recs.h"
#include "recs_internal.h"
#include "stream/catalog.h"

/* The served model: refcounted, immutable once built (see service.c). */
typedef struct recs_served {
  stream_recs_model *model;
  store__recs_title *titles; /* the title attribute snapshot, `title_count` of them */
  size_t title_count;
  int32_t *by_item;  /* model item index -> titles index, -1 = no such title now */
  unsigned int refs; /* under stream_recs.mu */
} recs_served;

struct stream_recs {
  stream_store *store;
  stream_catalog *catalog;
  char *model_path;
  stream_recs_options train;
  stream_recs_clock_fn clock;
  void *clock_userdata;
  pthread_mutex_t mu;       /* guards cur and every holder's refs */
  pthread_mutex_t train_mu; /* serializes retrains */
  recs_served *cur;
  uint64_t last_version; /* under train_mu (and set once in stream_recs_new) */
  atomic_int canceled;   /* stream_recs_cancel(): retrains stop and fail */
  char load_error[512];  /* under mu: why the model file was not served at start */
};

/* The service clock's now (Unix seconds). */
int64_t recs__svc_now(const stream_recs *r);
/* Take a reference to the served holder (NULL before the first model) / drop it (NULL: no-op;
 * the last reference frees the holder). */
recs_served *recs__served_acquire(stream_recs *r);
void recs__served_release(stream_recs *r, recs_served *h);
/* The store's signals of one profile ("" = every profile); *out freed with free(). */
int recs__store_signals(store__recs_signal **out, size_t *n, stream_recs *r,
                        const char *profile_id);
/* 1 for a series (`t` may be NULL: unknown title). */
int recs__is_series(const store__recs_title *t);
/* 1 when the pair counts as completed: a view reached the end or a position at 95 % or more. */
int recs__completed(const store__recs_signal *s);
/* The pair's strength r (service.c's header comment), or < 0 when it gives no pair. */
double recs__strength(const store__recs_signal *s, const store__recs_title *t);

#endif
