/*
 * store: what the recommendations service reads (libstream/recs/service.c
 * only): per (profile, title) viewing signals joined from QoE views, resume
 * positions, My List and ratings, and the filter attributes of every title.
 */
#ifndef STREAM_STORE_RECS_H
#define STREAM_STORE_RECS_H

#include <stddef.h>
#include <stdint.h>

#include "store_internal.h"

/* One (profile, title) with any signal. */
typedef struct store__recs_signal {
  char profile_id[STREAM_STORE_ID_SIZE];
  char title_id[STREAM_STORE_ID_SIZE];
  int64_t watch_ms;    /* sum of qoe_views.watch_ms of the pair's views */
  int64_t views;       /* QoE views of the pair */
  int64_t ended_views; /* of which reached the end */
  double progress_max; /* max position_s / duration_s over the pair's resume rows (0..1) */
  double progress_sum; /* sum of the same over the rows (episodes of a series) */
  int64_t progress_rows;
  int in_list;     /* 1 when in the profile's My List */
  int rating;      /* 1 thumbs up, -1 thumbs down, 0 none */
  int64_t last_ts; /* Unix seconds of the latest signal of any kind */
} store__recs_signal;

/* One title's filter and weighting attributes. */
typedef struct store__recs_title {
  char id[STREAM_STORE_ID_SIZE];
  int kind;    /* stream_store_title_kind */
  int runtime; /* minutes (movie; a series' typical episode); 0 = unknown */
  int maturity_rating;
  int64_t available_from, available_until; /* as stream_store_title */
  char *regions;                           /* owned: "" = everywhere, else codes joined by ',' */
} store__recs_title;

struct stream_store_recs_ops {
  /* Every pair with a signal (profile_id "" = every profile, else that
   * profile's only: a store id, as the catalog checked the viewer before:
   * stream_recs_home() builds its continue-watching row first, home.c), in (profile_id, title_id)
   * order; *out freed with free(), NULL when none. Pairs of deleted profiles or titles are left
   * out, and so is a QoE view whose account_id is not its profile's account (another account's
   * events naming the profile are no signal of it). */
  int (*signals)(void *impl, store__recs_signal **out, size_t *out_count, const char *profile_id);
  /* Every title; *out freed with store__recs_titles_free(). */
  int (*titles)(void *impl, store__recs_title **out, size_t *out_count);
};

/* Free an array from titles(). NULL is a no-op. */
void store__recs_titles_free(store__recs_title *t, size_t n);

#endif
