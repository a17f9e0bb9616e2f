/**
 * @file stream/recs.h
 * @brief Recommendations (floor 2, "recs"): an implicit-feedback model
 *        trained from viewing signals, and the home-screen rows of a profile.
 *
 * Two layers:
 *
 * 1. **The model** (always built; needs nothing but libc and threads), usable
 *    offline from C and Python on any interaction data:
 *    - stream_recs_data: (user, item, strength, time) interactions, users and
 *      items named by strings (profile and title ids in streamd);
 *    - stream_recs_train(): implicit ALS (Hu, Koren, Volinsky 2008) with
 *      conjugate-gradient solves (Takács, Pilászy, Tikk 2011), confidence
 *      c = 1 + alpha * r and preference p = 1 for every observed pair;
 *      multi-threaded and deterministic for a seed (the result does not
 *      depend on the thread count); plus item-item cosine neighbours
 *      ("because you watched") and time-decayed popularity ("trending",
 *      cold start), trained together into one immutable model;
 *    - stream_recs_recommend() / stream_recs_similar(): top-K with a filter;
 *    - stream_recs_evaluate(): recall@K, NDCG@K, MAP@K on a held-out split;
 *    - stream_recs_model_save() / _load(): a versioned, checksummed file.
 *
 * 2. **The service** (`server` feature): stream_recs builds the signals of
 *    every profile from the store (QoE views from the event log, resume
 *    positions, My List, thumbs up/down), retrains on demand, persists the
 *    model and swaps it atomically under concurrent readers, and renders a
 *    profile's home screen: "Top picks", "Because you watched …", "Trending
 *    now", "Continue watching" and "My List", with the catalog's maturity,
 *    kids, availability and region filters.
 *
 * Thread-safety: a stream_recs_data is not thread-safe (one writer, or any
 * number of readers once filled). A stream_recs_model is immutable: any
 * number of threads may read it at once. A stream_recs service handle is
 * safe from any number of threads; stream_recs_retrain() may run while other
 * threads call stream_recs_home().
 */
#ifndef STREAM_RECS_H
#define STREAM_RECS_H

#include <stddef.h>
#include <stdint.h>

#include "stream/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest user or item id (bytes, without the NUL). */
#define STREAM_RECS_ID_MAX 128
/** Most latent factors. */
#define STREAM_RECS_FACTORS_MAX 512
/** Largest K of one top-K call. */
#define STREAM_RECS_K_MAX 1000

/* ------------------------------------------------------------------------ */
/* Interaction data                                                          */
/* ------------------------------------------------------------------------ */

/** A set of (user, item, strength, time) interactions. Not thread-safe. */
typedef struct stream_recs_data stream_recs_data;

/**
 * A new empty data set. `*out` belongs to the caller (stream_recs_data_free()).
 * Errors: STREAM_EINVAL (NULL out), STREAM_ENOMEM.
 */
STREAM_API int stream_recs_data_new(stream_recs_data **out);

/** Free a data set. NULL is a no-op. */
STREAM_API void stream_recs_data_free(stream_recs_data *d);

/**
 * Add an interaction of `user` with `item`: strength `r` (finite, 0..1e6;
 * the r of c = 1 + alpha * r) at Unix time `ts` (seconds, >= 0; 0 = unknown).
 * Adding the same pair again sums r and keeps the latest ts. Ids are 1 to
 * STREAM_RECS_ID_MAX bytes of UTF-8 without control characters.
 * Errors: STREAM_EINVAL (NULL, bad id, r not finite or out of range, ts < 0),
 * STREAM_ENOMEM. Not thread-safe.
 */
STREAM_API int stream_recs_data_add(stream_recs_data *d, const char *user, const char *item,
                                    double r, int64_t ts);

/**
 * Declare an item that may have no interactions yet, so the model knows it
 * (it can still be recommended by popularity ties and filters, never by
 * interactions it does not have). Idempotent.
 * Errors: STREAM_EINVAL, STREAM_ENOMEM. Not thread-safe.
 */
STREAM_API int stream_recs_data_add_item(stream_recs_data *d, const char *item);

/**
 * Sizes: distinct users, distinct items (declared or interacted) and
 * distinct (user, item) pairs. Any out pointer may be NULL.
 * Errors: STREAM_EINVAL (NULL d). Thread-safe for readers.
 */
STREAM_API int stream_recs_data_counts(const stream_recs_data *d, size_t *out_users,
                                       size_t *out_items, size_t *out_pairs);

/**
 * Leave-last-out split: for every user with at least `min_history` (>= 2)
 * pairs, the latest pair (largest ts; ties: the one added last) goes to
 * `*out_test`, everything else to `*out_train`; users with fewer pairs go
 * to train whole. Every item of `d` is declared in train. Both belong to the
 * caller (stream_recs_data_free()).
 * Errors: STREAM_EINVAL, STREAM_ENOMEM. Thread-safe for readers of `d`.
 */
STREAM_API int stream_recs_data_split_last(stream_recs_data **out_train,
                                           stream_recs_data **out_test, const stream_recs_data *d,
                                           size_t min_history);

/**
 * Temporal split: pairs with ts < `cutoff` go to train, the rest to test,
 * but only for users that also have train pairs (a cold user cannot be
 * evaluated). Every item of `d` is declared in train. Both belong to the
 * caller (stream_recs_data_free()).
 * Errors: STREAM_EINVAL, STREAM_ENOMEM. Thread-safe for readers of `d`.
 */
STREAM_API int stream_recs_data_split_time(stream_recs_data **out_train,
                                           stream_recs_data **out_test, const stream_recs_data *d,
                                           int64_t cutoff);

/* ------------------------------------------------------------------------ */
/* Model                                                                     */
/* ------------------------------------------------------------------------ */

/** A trained model: ALS factors, item neighbours, popularity. Immutable. */
typedef struct stream_recs_model stream_recs_model;

/** Options of stream_recs_train(). Start from STREAM_RECS_OPTIONS_INIT. */
typedef struct stream_recs_options {
  unsigned int version;    /**< STREAM_RECS_OPTIONS_VERSION */
  unsigned int factors;    /**< latent factors, 1..STREAM_RECS_FACTORS_MAX (default 64) */
  double regularization;   /**< lambda, >= 0 (default 1) */
  double alpha;            /**< confidence slope, > 0 and <= 1e6 (default 5) */
  unsigned int iterations; /**< ALS sweeps, 1..1000 (default 15) */
  unsigned int cg_steps;   /**< conjugate-gradient steps per solve, 1..64 (default 3) */
  unsigned int threads;    /**< 0..1024; 0 = online CPUs; results do not depend on it */
  uint64_t seed;           /**< initial factors (default 42) */
  unsigned int neighbours; /**< item-item neighbours kept per item, 0..1000 (default 50) */
  double half_life_days;   /**< popularity decay half-life, > 0 (default 7) */
  int64_t now;             /**< popularity reference time; 0 = the latest ts in the data */
  uint64_t model_version;  /**< stored in the model; 0 = training time in Unix milliseconds */
} stream_recs_options;

#define STREAM_RECS_OPTIONS_VERSION 1
#define STREAM_RECS_OPTIONS_INIT                                                                   \
  {                                                                                                \
    STREAM_RECS_OPTIONS_VERSION, 64, 1.0, 5.0, 15, 3, 0, 42, 50, 7.0, 0, 0                         \
  }

/**
 * Progress of training: `done` of `total` steps (ALS half-sweeps, then
 * neighbours). Return nonzero to cancel (stream_recs_train() then fails
 * with STREAM_ECANCELED). Called from the training thread.
 */
typedef int (*stream_recs_progress_fn)(void *userdata, unsigned int done, unsigned int total);

/**
 * Train a model on `d` with `opts` (NULL = defaults). A data set with no
 * pairs gives a model that only knows its items (popularity all zero).
 * `*out` belongs to the caller (stream_recs_model_free()).
 * Errors: STREAM_EINVAL (NULL, bad option: the message names it),
 * STREAM_ENOMEM, STREAM_ECANCELED. Thread-safe for readers of `d`.
 */
STREAM_API int stream_recs_train(stream_recs_model **out, const stream_recs_data *d,
                                 const stream_recs_options *opts, stream_recs_progress_fn progress,
                                 void *userdata);

/** Free a model. NULL is a no-op. No other thread may be using it. */
STREAM_API void stream_recs_model_free(stream_recs_model *m);

/** The model's version (options' model_version, or its training time in ms). */
STREAM_API uint64_t stream_recs_model_version(const stream_recs_model *m);

/**
 * A JSON description: {"version":..,"users":..,"items":..,"pairs":..,
 * "factors":..,"iterations":..,"alpha":..,"regularization":..,
 * "trained_at_ms":..,"train_ms":..,"loss":..}. `*out_json` belongs to the
 * caller (stream_free()). Errors: STREAM_EINVAL, STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_recs_model_info(char **out_json, const stream_recs_model *m);

/**
 * Write the model to `path` atomically (a temporary file in the same
 * directory, fsync, rename, directory fsync): a reader of `path` sees the
 * old model or the new one, never a part. The file carries a format version
 * and a checksum. Errors: STREAM_EINVAL, STREAM_EIO, STREAM_ENOMEM.
 * Thread-safe.
 */
STREAM_API int stream_recs_model_save(const stream_recs_model *m, const char *path);

/**
 * Read a model written by stream_recs_model_save(). `*out` belongs to the
 * caller (stream_recs_model_free()). Errors: STREAM_EINVAL (NULL),
 * STREAM_ENOTFOUND (no file), STREAM_EPROTO (not a model file, bad
 * checksum, truncated), STREAM_ENOTSUP (a newer format), STREAM_EIO,
 * STREAM_ENOMEM.
 */
STREAM_API int stream_recs_model_load(stream_recs_model **out, const char *path);

/** Scoring methods. */
typedef enum stream_recs_method {
  STREAM_RECS_ALS = 1,      /**< user factors . item factors */
  STREAM_RECS_ITEM_KNN = 2, /**< sum over history of cosine neighbour weight x confidence */
  STREAM_RECS_POPULAR = 3   /**< time-decayed popularity */
} stream_recs_method;

/** One recommended item. `id` is borrowed from the model: valid while it lives. */
typedef struct stream_recs_item {
  const char *id;
  double score;
} stream_recs_item;

/** Filter: return nonzero to keep `item`. Called from the caller's thread. */
typedef int (*stream_recs_filter_fn)(void *userdata, const char *item);

/** A top-K query. Start from STREAM_RECS_QUERY_INIT. */
typedef struct stream_recs_query {
  unsigned int version; /**< STREAM_RECS_QUERY_VERSION */
  int method;           /**< stream_recs_method */
  size_t k;             /**< 1..STREAM_RECS_K_MAX */
  const char *user;     /**< a user of the training data; NULL = none (cold) */
  /** Optional fresh history (items and strengths, `history_count` of each;
   * unknown items are ignored). When given, it replaces the user's training
   * history: ALS folds it in (one least-squares solve against the item
   * factors), item-kNN scores from it. */
  const char *const *history_items;
  const double *history_r; /**< each finite, 0..1e6; NULL = strength 1 for each */
  size_t history_count;
  int include_history;        /**< 0 (default) = leave the history's items out */
  stream_recs_filter_fn keep; /**< NULL = keep every item */
  void *keep_userdata;
} stream_recs_query;

#define STREAM_RECS_QUERY_VERSION 1
#define STREAM_RECS_QUERY_INIT                                                                     \
  {                                                                                                \
    STREAM_RECS_QUERY_VERSION, STREAM_RECS_ALS, 10, NULL, NULL, NULL, 0, 0, NULL, NULL             \
  }

/**
 * The top `q->k` items for a user, best first, into `out` (room for q->k
 * items); `*out_count` receives how many were found (fewer when the filter
 * or the catalog leaves fewer). A user with no history (NULL, unknown, or
 * an empty fresh history) gets popularity: `*out_method` (may be NULL)
 * receives the method actually used. Ties break by item id, so the result
 * is deterministic. Errors: STREAM_EINVAL (NULL, wrong query version, bad
 * method or k, history_count without history_items, a NULL history item or
 * a history strength outside 0..1e6), STREAM_ENOMEM. Thread-safe (the model
 * is immutable).
 */
STREAM_API int stream_recs_recommend(stream_recs_item *out, size_t *out_count, int *out_method,
                                     const stream_recs_model *m, const stream_recs_query *q);

/**
 * Items most similar to `item` (item-item cosine over the interaction
 * matrix; items with no co-occurrence fall back to the cosine of ALS item
 * factors), best first, never `item` itself, through `keep` (may be NULL).
 * `out` has room for `k` items (1..STREAM_RECS_K_MAX). An unknown item is
 * STREAM_ENOTFOUND. Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_ENOMEM.
 * Thread-safe.
 */
STREAM_API int stream_recs_similar(stream_recs_item *out, size_t *out_count,
                                   const stream_recs_model *m, const char *item, size_t k,
                                   stream_recs_filter_fn keep, void *keep_userdata);

/** Ranking quality of one method on a test set (means over evaluated users). */
typedef struct stream_recs_metrics {
  size_t users;  /**< test users evaluated (known to the model) */
  double recall; /**< hits in top K / min(K, test items) */
  double ndcg;   /**< normalized discounted cumulative gain at K */
  double map;    /**< mean average precision at K */
} stream_recs_metrics;

/**
 * Evaluate `method` at `k` on `test` (pairs held out from the model's
 * training data): each test user's training items are left out of its
 * ranking, as in serving. Users unknown to the model are skipped.
 * Errors: STREAM_EINVAL, STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_recs_evaluate(stream_recs_metrics *out, const stream_recs_model *m,
                                    const stream_recs_data *test, int method, size_t k);

/* ------------------------------------------------------------------------ */
/* Service (server feature): signals from the store, retraining, home rows   */
/* ------------------------------------------------------------------------ */

struct stream_store;
struct stream_catalog;
struct stream_catalog_viewer;

/** The recommendations service. Thread-safe. */
typedef struct stream_recs stream_recs;

/** A clock returning Unix seconds; `userdata` is passed through. */
typedef int64_t (*stream_recs_clock_fn)(void *userdata);

/** Options of stream_recs_new(). Start from STREAM_RECS_SERVICE_OPTIONS_INIT. */
typedef struct stream_recs_service_options {
  unsigned int version;           /**< STREAM_RECS_SERVICE_OPTIONS_VERSION */
  struct stream_store *store;     /**< required; borrowed: must outlive the service */
  struct stream_catalog *catalog; /**< required; borrowed: renders and filters titles */
  const char *model_path;         /**< NULL = keep the model in memory only; else loaded at
                                       start when present, written after every retrain */
  stream_recs_options train;      /**< training options (version 0 = defaults) */
  stream_recs_clock_fn clock;     /**< NULL = the system clock */
  void *clock_userdata;
} stream_recs_service_options;

#define STREAM_RECS_SERVICE_OPTIONS_VERSION 1
#define STREAM_RECS_SERVICE_OPTIONS_INIT                                                           \
  {                                                                                                \
    STREAM_RECS_SERVICE_OPTIONS_VERSION, NULL, NULL, NULL, STREAM_RECS_OPTIONS_INIT, NULL, NULL    \
  }

/**
 * Create the service. When `model_path` names a readable model it is served
 * at once; an unreadable or corrupt file is logged and ignored (the next
 * retrain replaces it). `*out` belongs to the caller (stream_recs_free()).
 * The service functions exist only in builds with the `server` feature.
 * Errors: STREAM_EINVAL, STREAM_ENOMEM.
 */
STREAM_API int stream_recs_new(stream_recs **out, const stream_recs_service_options *opts);

/** Free the service. NULL is a no-op. No other thread may be using it. */
STREAM_API void stream_recs_free(stream_recs *r);

/**
 * The training data the service derives from the store: one pair per
 * (profile, title) with strength r = watched fraction (0..1) + 1 per
 * completion + 0.5 for My List + 2 for a thumbs up; a thumbs down drops
 * the pair. Every title of the catalog is declared. `*out` belongs to the
 * caller (stream_recs_data_free()). Errors: STREAM_EINVAL, STREAM_EIO,
 * STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_recs_signals(stream_recs_data **out, stream_recs *r);

/**
 * Build the signals, train, save (when a model path is set) and swap the
 * new model in; readers holding the old model finish with it. Concurrent
 * retrains are serialized. `*out_info_json` (may be NULL; caller frees with
 * stream_free()) receives stream_recs_model_info() of the new model.
 * Errors: as stream_recs_signals() and stream_recs_train(), STREAM_EIO.
 * Thread-safe.
 */
STREAM_API int stream_recs_retrain(stream_recs *r, char **out_info_json);

/**
 * Stop retraining, for shutdown: a retrain in progress gives up at its next
 * training step (one ALS half-sweep, well under a second at catalog sizes)
 * with STREAM_ECANCELED, and every later stream_recs_retrain() fails at once
 * with STREAM_ECANCELED. The served model stays; stream_recs_home() and the
 * other readers keep working. Not undone. NULL is a no-op. Thread-safe.
 */
STREAM_API void stream_recs_cancel(stream_recs *r);

/**
 * The served model's info JSON, or {"version":0} before the first model.
 * `*out_json` belongs to the caller (stream_free()). Thread-safe.
 * Errors: STREAM_EINVAL, STREAM_ENOMEM.
 */
STREAM_API int stream_recs_info(char **out_json, stream_recs *r);

/** Most items in one home row. */
#define STREAM_RECS_ROW_MAX 50

/**
 * The home screen of `viewer->profile_id` as JSON:
 * {"profile_id":..,"model_version":..,"rows":[{"id":"continue_watching"|
 * "top_picks"|"because_you_watched"|"trending"|"my_list","name":..,
 * "source_title_id":..(because_you_watched only),"items":[..]}]}, rows in
 * that order (up to two "because_you_watched" rows, from the profile's most
 * recently watched titles) and empty rows left out; items are the catalog's title
 * objects (continue watching and My List items as in stream_catalog.h).
 * `per_row` is 1..STREAM_RECS_ROW_MAX (0 = 20). Only titles the viewer may
 * see (maturity, kids, availability, region) appear; finished and
 * thumbs-down titles never appear in recommendation rows, and a title the
 * profile has started is in "Continue watching", not in "Top picks". An
 * unknown or history-less profile gets popularity (cold start).
 * `*out_json` belongs to the caller (stream_free()).
 * Errors: STREAM_EINVAL (NULL, no profile id, bad per_row), STREAM_EIO,
 * STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_recs_home(char **out_json, stream_recs *r,
                                const struct stream_catalog_viewer *viewer, unsigned int per_row);

#ifdef __cplusplus
}
#endif

#endif
