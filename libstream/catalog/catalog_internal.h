/*
 * Internal declarations of the catalog service (floor 2): the handle, the
 * parsed form of a title document, and the helpers shared by the files of the
 * module (JSON validation, rendering, writing). Uses only public headers of
 * lower floors plus libstream/core/core.h; write.c also uses the store's
 * internal write batch (store/store_internal.h) so a title put is one
 * transaction.
 */
#ifndef STREAM_CATALOG_INTERNAL_H
#define STREAM_CATALOG_INTERNAL_H

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/core.h"
#include "stream/catalog.h"
#include "stream/store.h"

#define TRY(x)                                                                                     \
  do {                                                                                             \
    int rc_ = (x);                                                                                 \
    if (rc_ != STREAM_OK)                                                                          \
      return rc_;                                                                                  \
  } while (0)

/* Detail cache: the rendered, unfiltered title-detail JSON of recently read
 * titles, with the fields the viewer filter looks at (maturity, availability
 * window, regions), so a hit runs the same cat_visible() check as a miss.
 * Direct-mapped by a hash of the id, bounded in entries and entry size. An
 * entry is valid while its generation equals the catalog's (bumped after
 * every write made through this handle: put, delete, import) and for at most
 * CAT_DCACHE_TTL_MS, which bounds staleness after writes made by another
 * handle or process on the same database. */
#define CAT_DCACHE_SLOTS 256
#define CAT_DCACHE_JSON_MAX 65536
#define CAT_DCACHE_TTL_MS 1000

typedef struct cat_dentry {
  char id[STREAM_STORE_ID_SIZE]; /* "" = empty slot */
  uint64_t gen;
  int64_t loaded_ms; /* monotonic */
  int maturity_rating;
  int64_t available_from;
  int64_t available_until;
  char **regions;
  size_t region_count;
  char *json;
  size_t json_len;
} cat_dentry;

struct stream_catalog {
  stream_store *store;
  stream_catalog_clock_fn clock;
  void *clock_userdata;
  atomic_uint_fast64_t gen; /* catalog generation, see cat_dentry */
  pthread_mutex_t dlock;    /* guards dcache */
  cat_dentry *dcache;       /* CAT_DCACHE_SLOTS entries */
};

/* Invalidate the detail cache: call after every catalog write, successful or
 * not (a failed write may have changed some rows). */
void cat_invalidate(stream_catalog *c);

/* Limits of the JSON documents (beyond the store's own). */
#define CAT_YEAR_MIN 1888
#define CAT_YEAR_MAX 2100
#define CAT_RUNTIME_MAX 1440
#define CAT_TIME_MAX INT64_C(253402300799) /* 9999-12-31T23:59:59Z */
#define CAT_CREDITS_MAX 500
#define CAT_CREDIT_TEXT_MAX 256
#define CAT_ROLE_MAX 32
#define CAT_URL_MAX 2048
#define CAT_SEASONS_MAX 100
#define CAT_SEASON_NUMBER_MAX 1000
#define CAT_EPISODES_MAX 1000
#define CAT_EPISODE_NUMBER_MAX 10000
#define CAT_DURATION_MAX 604800

/* An episode of a document. Strings borrowed from the cJSON tree. */
typedef struct cat_episode {
  char id[STREAM_STORE_ID_SIZE]; /* "" = match by number */
  int number;
  const char *name;
  const char *synopsis;
  int runtime;
} cat_episode;

typedef struct cat_season {
  int number;
  cat_episode *episodes;
  size_t episode_count;
} cat_season;

/* A validated title document. `t` borrows its strings from the cJSON tree,
 * except credits_json / artwork_json and the genre / region arrays, which the
 * struct owns (cat_doc_clear()). */
typedef struct cat_doc {
  stream_store_title t;
  bool has_seasons;
  cat_season *seasons;
  size_t season_count;
} cat_doc;

void cat_doc_clear(cat_doc *d);

/* Current time from the catalog's clock. */
int64_t cat_now(const stream_catalog *c);

/* Check the raw text (UTF-8, no \u0000 escape) and parse it. EINVAL with
 * `what` in the message. The tree belongs to the caller (cJSON_Delete). */
int cat_json_parse(cJSON **out, const char *text, size_t len, const char *what);

/* Order of genre names as the store tells genres apart: bytewise after folding ASCII A-Z to
 * a-z, nothing else ("Drama" and "drama" are one genre, "Été" and "été" two). 0 = same genre. */
int cat_genre_cmp(const char *a, const char *b);

/* Validate a title object into `*out` (zeroed first). `where` prefixes the
 * messages ("title", "titles[3]"). On error `*out` is cleared. */
int cat_doc_from_json(cat_doc *out, const cJSON *obj, const char *where);

/* Rendering. The title object has the same fields everywhere; detail adds
 * "seasons". NULL on allocation failure (ENOMEM already set). */
cJSON *cat_render_title(const stream_store_title *t);
cJSON *cat_render_detail(const stream_store_title_detail *d);
/* Print `root` unformatted into a stream_free()-able string and delete it. */
int cat_print(char **out, cJSON *root);

/* Visibility of a title for a viewer at `now` (viewer already validated). */
typedef struct cat_filter {
  int ceiling;
  const char *region; /* NULL = none */
} cat_filter;
int cat_filter_from_viewer(cat_filter *f, const stream_catalog_viewer *v, bool need_profile);
/* STREAM_EINVAL (with a message) unless `c` is non-NULL. */
int cat_check_handle(const stream_catalog *c);
/* STREAM_EINVAL (with a message naming `what`) unless `id` is a well-formed store id. */
int cat_check_id(const char *what, const char *id);
bool cat_visible(const stream_store_title *t, const cat_filter *f, int64_t now);

/* Write a validated document: create or update with seasons reconciled.
 * `*status` receives "created", "updated" or "unchanged". `out_id` holds
 * STREAM_STORE_ID_SIZE bytes. */
int cat_write_doc(char *out_id, const char **status, stream_catalog *c, const cat_doc *d);

#endif
