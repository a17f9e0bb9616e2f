/**
 * @file stream/catalog.h
 * @brief The catalog service (floor 2, "catalog"): movies and series with
 *        seasons and episodes, browse by genre, full-text search, maturity
 *        filtering per profile, resume positions ("continue watching"),
 *        My List and ratings (thumbs up/down), over the store (stream/store.h).
 *        Built with the `server` feature.
 *
 * The interface speaks JSON in and JSON out, because its callers (the HTTP
 * daemon, streamctl, the Python bindings) all do. Every input document is
 * validated strictly before anything is written: it must be valid UTF-8,
 * every field must have the documented type and range, unknown fields and
 * duplicate fields are rejected. A failure is STREAM_EINVAL with a message
 * naming the field, e.g. "title: field 'year' must be an integer between
 * 1888 and 2100". The JSON shapes are documented in docs/api/catalog.md;
 * field names are snake_case, ids are strings, times are Unix seconds, and a
 * title object has the same fields in browse, search, detail, My List and
 * continue watching (detail adds "seasons").
 *
 * Maturity ratings are integers with fixed labels: 0 "All", 7 "7+",
 * 13 "13+", 16 "16+", 18 "18+"; no other value is accepted. A viewer sees a
 * title when its rating is at most the viewer's ceiling (a kids viewer's
 * ceiling is capped at STREAM_CATALOG_KIDS_CEILING), it is available now
 * (available_from <= now < available_until) and, when the viewer has a
 * region, the title lists no regions or lists one matching the viewer's
 * (stream_catalog_viewer.region).
 *
 * Thread-safety: a stream_catalog handle is safe to use from any number of
 * threads at once (its only mutable state besides the thread-safe store is a
 * cache of title details, which locks internally). Returned JSON strings
 * belong to the caller.
 */
#ifndef STREAM_CATALOG_H
#define STREAM_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "stream/common.h"
#include "stream/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Largest JSON document accepted by stream_catalog_import() (bytes). */
#define STREAM_CATALOG_IMPORT_MAX 16777216
/** Most titles in one import document. */
#define STREAM_CATALOG_IMPORT_TITLES_MAX 10000
/** Largest single title document accepted by stream_catalog_title_put() (bytes). */
#define STREAM_CATALOG_TITLE_JSON_MAX 1048576
/** Default page size of browse and search when `limit` is 0. */
#define STREAM_CATALOG_DEFAULT_LIMIT 20
/** Highest rating a kids viewer ever sees. */
#define STREAM_CATALOG_KIDS_CEILING 7
/** Highest maturity rating (shows everything). */
#define STREAM_CATALOG_MATURITY_MAX 18

/** The catalog service handle. Thread-safe. */
typedef struct stream_catalog stream_catalog;

/** A clock returning Unix seconds; `userdata` is passed through. */
typedef int64_t (*stream_catalog_clock_fn)(void *userdata);

/** Options of stream_catalog_new(). */
typedef struct stream_catalog_options {
  unsigned int version;          /**< STREAM_CATALOG_OPTIONS_VERSION */
  stream_store *store;           /**< required; borrowed: must outlive the catalog */
  stream_catalog_clock_fn clock; /**< NULL = the system clock */
  void *clock_userdata;          /**< passed to `clock` */
} stream_catalog_options;

#define STREAM_CATALOG_OPTIONS_VERSION 1
#define STREAM_CATALOG_OPTIONS_INIT                                                                \
  {                                                                                                \
    STREAM_CATALOG_OPTIONS_VERSION, NULL, NULL, NULL                                               \
  }

/**
 * Who is looking: the filters applied to browse, search, detail, My List and
 * continue watching. All pointers are borrowed for the duration of the call.
 */
typedef struct stream_catalog_viewer {
  unsigned int version;   /**< STREAM_CATALOG_VIEWER_VERSION */
  const char *profile_id; /**< the profile; required by My List and continue watching */
  int maturity_ceiling;   /**< >= 0: highest rating shown (18 or more: every rating) */
  const char *region;     /**< NULL or "" = no region filter; else uppercase letters or
                               digits, at most STREAM_STORE_REGION_MAX. A title listing regions
                               shows when one of them is this code or, when this is a country
                               of the UN M49 table (two letters, ISO 3166-1 alpha-2: e.g. "MX"),
                               an M49 area containing it: the country's own code ("484"), its
                               sub-region ("419"), intermediate region where the UN has one
                               ("013"), region ("002" Africa, "019" Americas, "142" Asia, "150"
                               Europe, "009" Oceania) or "001" World. Anything else (M49 digits
                               such as "419", a code outside the table such as "TW") matches
                               only itself; one no title can list (e.g. "UNKNOWN": titles list
                               2 letters or 3 digits) shows only titles without regions.
                               docs/api/catalog.md "Regions" */
  int kids;               /**< 1 = kids profile: ceiling capped at STREAM_CATALOG_KIDS_CEILING */
} stream_catalog_viewer;

#define STREAM_CATALOG_VIEWER_VERSION 1
#define STREAM_CATALOG_VIEWER_INIT                                                                 \
  {                                                                                                \
    STREAM_CATALOG_VIEWER_VERSION, NULL, STREAM_CATALOG_MATURITY_MAX, NULL, 0                      \
  }

/** What stream_catalog_import() did. Release with stream_catalog_import_result_clear(). */
typedef struct stream_catalog_import_result {
  size_t total;      /**< titles in the document */
  size_t created;    /**< new titles */
  size_t updated;    /**< existing titles whose content changed */
  size_t unchanged;  /**< existing titles already identical (re-import) */
  size_t failed;     /**< titles rejected or not written */
  char *report_json; /**< {"total":..,"created":..,"updated":..,"unchanged":..,"failed":..,
                          "items":[{"index":0,"id":"..","status":"created"|"updated"|
                          "unchanged"|"invalid"|"failed"|"skipped","error":".."}]};
                          owned by the result; NULL when the document could not be read */
} stream_catalog_import_result;

/**
 * Create a catalog service over `opts->store`. On success `*out` belongs to
 * the caller, who frees it with stream_catalog_free() before closing the store.
 * Errors: STREAM_EINVAL (NULL out/opts/store, unknown options version),
 * STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_catalog_new(stream_catalog **out, const stream_catalog_options *opts);

/** Free the catalog (not the store). NULL is a no-op. No other thread may be using it. */
STREAM_API void stream_catalog_free(stream_catalog *c);

/**
 * Fill `*out` from the stored profile `profile_id`: its maturity ceiling and
 * kids flag. `out->profile_id` and `out->region` point to the caller's
 * `profile_id` and `region` (region may be NULL), which must outlive `*out`.
 * Errors: STREAM_EINVAL (bad id or region), STREAM_ENOTFOUND (no such
 * profile), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_catalog_viewer_for_profile(stream_catalog_viewer *out, stream_catalog *c,
                                                 const char *profile_id, const char *region);

/**
 * Create or update one title from a JSON object (operator). Without "id", a
 * new title with a generated id is created; with an "id" of an existing
 * title, every field is replaced, and its seasons and episodes are made equal
 * to the document's when "seasons" is present (matched by season number, and
 * by episode "id" or else episode number; absent ones are deleted with their
 * resume positions); with an unknown "id" the title is created with that id.
 * On success `*out_json` (may be NULL; caller frees with stream_free())
 * receives the stored title detail. `*out_created` (may be NULL) is set to 1
 * when the title was created, 0 when updated. Genre names ignore ASCII case:
 * a genre spelled like an existing one but for the case of A-Z ("drama" when
 * "Drama" exists) is that genre and keeps its first spelling; two such
 * spellings in one document are a repeat (STREAM_EINVAL).
 * Errors: STREAM_EINVAL (invalid UTF-8, not JSON, or a field is wrong: the
 * message names it), STREAM_ERANGE (document over
 * STREAM_CATALOG_TITLE_JSON_MAX), STREAM_EEXIST (two episodes collide),
 * STREAM_ECONFLICT (a series with seasons made a movie: delete it first),
 * STREAM_ENOMEM, STREAM_EBUSY, STREAM_EIO. An episode whose "id" the document
 * puts in another season of the title moves there (deleted from its old
 * season, with its resume positions, then created), whatever the order of the
 * seasons in the document. Atomic: the whole put (the read of
 * the stored title, every row written) is one store transaction, so a failure
 * leaves the title exactly as it was (a failed create leaves no row), readers
 * see the old or the new title, never a mix, and concurrent puts of the same
 * title run one after the other. Thread-safe.
 */
STREAM_API int stream_catalog_title_put(char **out_json, int *out_created, stream_catalog *c,
                                        const char *title_json);

/**
 * Delete a title with its seasons, episodes, resume positions and My List
 * entries (operator). Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EIO.
 * Thread-safe.
 */
STREAM_API int stream_catalog_title_delete(stream_catalog *c, const char *id);

/**
 * A title with its seasons and episodes as JSON. With `viewer` NULL
 * (operator) every title is visible; otherwise a title hidden from the viewer
 * (maturity, kids, availability, region) is STREAM_ENOTFOUND, like a missing
 * one. Details read through the handle are cached for up to 1 s: a write made
 * through another handle or process may take that long to show here (writes
 * through this handle show at once). `*out_json` belongs to the caller
 * (stream_free()).
 * Errors: STREAM_EINVAL (NULL out/c, bad id, bad viewer), STREAM_ENOTFOUND,
 * STREAM_ENOMEM, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_catalog_title_get(char **out_json, stream_catalog *c, const char *id,
                                        const stream_catalog_viewer *viewer);

/**
 * One page of titles, by name then id, as {"items":[...],"next_cursor":..} (next_cursor is null on
 * the last page). Names sort ignoring the case of ASCII letters ("apple", "Banana"; A-Z only: other
 * bytes compare as they are), names that differ only in case by id, on every store backend alike; a
 * cursor of a build that sorted byte by byte still resumes after its title, in this order. `genre`
 * NULL or "" = every genre; otherwise the titles of the genre of that name whatever the case of its
 * ASCII letters ("drama" finds "Drama"; other letters compare exactly: "été" does not find "Été"),
 * on every store backend alike; `cursor` NULL or "" = first page, else a next_cursor from a
 * previous call with the same genre; `limit` 0 = STREAM_CATALOG_DEFAULT_LIMIT, at most
 * STREAM_STORE_PAGE_MAX. Keyset pagination: titles inserted between calls never duplicate or hide
 * titles that existed before. `viewer` NULL (operator) shows every rating and region, but only
 * titles available now.
 * `*out_json` belongs to the caller (stream_free()).
 * Errors: STREAM_EINVAL (bad genre, cursor, limit or viewer), STREAM_ENOMEM,
 * STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_catalog_browse(char **out_json, stream_catalog *c, const char *genre,
                                     const char *cursor, unsigned int limit,
                                     const stream_catalog_viewer *viewer);

/**
 * Search title names and synopses, best match first, as
 * {"query":"..","items":[...]}. Each word matches as a prefix, case and
 * diacritics folded ("amelie" finds "Amélie"); query syntax is treated as
 * text; only the first 16 words are looked for. `limit` as in
 * stream_catalog_browse(); filters as there.
 * `*out_json` belongs to the caller (stream_free()).
 * Errors: STREAM_EINVAL (NULL, invalid UTF-8, over STREAM_STORE_SEARCH_MAX
 * bytes, bad limit or viewer), STREAM_ENOMEM, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_catalog_search(char **out_json, stream_catalog *c, const char *query,
                                     unsigned int limit, const stream_catalog_viewer *viewer);

/**
 * Every genre used by at least one title, sorted (ignoring ASCII case, then bytes), as
 * {"genres":["..",..]} (operator: no viewer filter, titles out of their window count; for what a
 * viewer can browse see stream_catalog_genres_for()). `*out_json` belongs to the caller
 * (stream_free()). Errors: STREAM_EINVAL, STREAM_ENOMEM, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_catalog_genres(char **out_json, stream_catalog *c);

/**
 * The genres `viewer` can browse now, sorted (as stream_catalog_genres()), as {"genres":["..",..]}:
 * every genre with at least one title the viewer may see (maturity ceiling, kids flag, region,
 * availability window: the filters of stream_catalog_browse()), so stream_catalog_browse() with the
 * same viewer and any returned genre lists at least one title (unless the catalog changed in
 * between). `viewer` NULL (operator) shows every rating and region, but only titles available now,
 * as in stream_catalog_browse(). `*out_json` belongs to the caller (stream_free()). Errors:
 * STREAM_EINVAL (NULL out/c, bad viewer), STREAM_ENOMEM, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_catalog_genres_for(char **out_json, stream_catalog *c,
                                         const stream_catalog_viewer *viewer);

/**
 * Import a document {"titles":[title, ...]} (operator; each title as in
 * stream_catalog_title_put(), with nested seasons and episodes; an "id" on
 * every title is recommended so that re-imports update instead of adding).
 * Validation is all-or-nothing: every title is validated first, and if any is
 * invalid (or two share an id) nothing is written, the result lists every
 * invalid item, and STREAM_EINVAL is returned. Then titles are written one by
 * one, each in its own transaction like a put (all or nothing per title, not
 * per document), and each is idempotent (importing the same document again
 * reports every title "unchanged" and changes nothing); a title the store
 * refuses is reported "failed" and left as it was, the rest are still
 * written, and the first such error code is returned. `*out` is always filled
 * (zeroed first) and released with
 * stream_catalog_import_result_clear().
 * Errors: STREAM_EINVAL, STREAM_ERANGE (over STREAM_CATALOG_IMPORT_MAX bytes
 * or STREAM_CATALOG_IMPORT_TITLES_MAX titles), STREAM_ENOMEM, STREAM_EBUSY,
 * STREAM_EIO, STREAM_EEXIST, STREAM_ECONFLICT (a title refused as by
 * stream_catalog_title_put()). Thread-safe.
 */
STREAM_API int stream_catalog_import(stream_catalog_import_result *out, stream_catalog *c,
                                     const char *json_document);

/** Free what an import result holds and zero it. NULL is a no-op. */
STREAM_API void stream_catalog_import_result_clear(stream_catalog_import_result *r);

/**
 * Record a resume position of profile `profile_id` on a title: `episode_id`
 * must be NULL or "" for a movie and an episode of that title for a series.
 * `position_s` is 0..duration_s, `duration_s` 1..604800 (seconds).
 * No viewer filter applies: any existing title is accepted, and the errors
 * tell a movie from a series and name its episodes. A caller acting for a
 * viewer (streamd) first checks stream_catalog_title_get() with that viewer,
 * so that a title hidden from it is STREAM_ENOTFOUND like a missing one.
 * Errors: STREAM_EINVAL (bad id, missing or unexpected episode, out of range),
 * STREAM_ENOTFOUND (no such profile, title, or episode in this title),
 * STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_catalog_progress_put(stream_catalog *c, const char *profile_id,
                                           const char *title_id, const char *episode_id,
                                           int64_t position_s, int64_t duration_s);

/**
 * The "continue watching" row of `viewer->profile_id`: per title the most
 * recent position, dropped when watched to 95 % or more, most recent first,
 * and only titles the viewer may still see, as {"items":[{"title":{..},
 * "episode_id":..|null,"position_s":..,"duration_s":..,"progress":0.42,
 * "updated_at":..}]}. `limit` 0 = STREAM_CATALOG_DEFAULT_LIMIT.
 * `*out_json` belongs to the caller (stream_free()).
 * Errors: STREAM_EINVAL (NULL viewer or profile id, bad limit),
 * STREAM_ENOMEM, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_catalog_continue_watching(char **out_json, stream_catalog *c,
                                                const stream_catalog_viewer *viewer,
                                                unsigned int limit);

/**
 * Add a title to a profile's My List. Idempotent (the first added_at stays).
 * No viewer filter applies (as stream_catalog_progress_put()).
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND (no such profile or title),
 * STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_catalog_mylist_add(stream_catalog *c, const char *profile_id,
                                         const char *title_id);

/**
 * Remove a title from a profile's My List. Idempotent.
 * Errors: STREAM_EINVAL, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_catalog_mylist_remove(stream_catalog *c, const char *profile_id,
                                            const char *title_id);

/**
 * The My List of `viewer->profile_id`, most recently added first, only titles
 * the viewer may see, as {"items":[{"title":{..},"added_at":..}]}.
 * `*out_json` belongs to the caller (stream_free()).
 * Errors: STREAM_EINVAL, STREAM_ENOMEM, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_catalog_mylist_list(char **out_json, stream_catalog *c,
                                          const stream_catalog_viewer *viewer);

/**
 * Rate a title for a profile: `value` 1 (thumbs up), -1 (thumbs down) or 0
 * (clear; idempotent). A new rating replaces the previous one. No viewer
 * filter applies (as stream_catalog_progress_put()).
 * Errors: STREAM_EINVAL (bad id or value), STREAM_ENOTFOUND (no such title, or
 * no such profile when setting), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_catalog_rating_put(stream_catalog *c, const char *profile_id,
                                         const char *title_id, int value);

/**
 * A profile's rating of a title: `*out` is 1 (up), -1 (down) or 0 (none).
 * Errors: STREAM_EINVAL (NULL out, bad id), STREAM_ENOTFOUND (no such title),
 * STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_catalog_rating_get(int *out, stream_catalog *c, const char *profile_id,
                                         const char *title_id);

/**
 * The titles `ids[0..n)` as {"items":[title objects]} (the title object of
 * browse), in the given order, each id once (later duplicates dropped), and
 * only titles that exist and `viewer` may see (NULL = operator: every
 * existing title). `n` is 0..STREAM_STORE_PAGE_MAX. `*out_json` belongs to
 * the caller (stream_free()).
 * Errors: STREAM_EINVAL (NULL out, ids NULL with n > 0, bad id, n too large,
 * bad viewer), STREAM_ENOMEM, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_catalog_titles_get(char **out_json, stream_catalog *c, const char *const *ids,
                                         size_t n, const stream_catalog_viewer *viewer);

/**
 * The static label of a maturity rating ("All", "7+", "13+", "16+", "18+"),
 * or NULL for a rating that is not one of 0, 7, 13, 16, 18. Thread-safe.
 */
STREAM_API const char *stream_catalog_maturity_label(int rating);

#ifdef __cplusplus
}
#endif
#endif /* STREAM_CATALOG_H */
