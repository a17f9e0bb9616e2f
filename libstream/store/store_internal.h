/*
 * store: the backend interface. A backend fills one table of function
 * pointers per entity; the public functions in store.c validate every argument
 * and then call through these tables, so a backend may assume well-formed
 * input (non-NULL, within the documented size limits, valid ids, text of
 * valid UTF-8) and only reports storage outcomes. Every backend function
 * returns STREAM_OK or a negative STREAM_E* code and sets the thread's
 * message through stream__err.
 * `impl` is the backend's own state, as returned by its open function.
 */
#ifndef STREAM_STORE_INTERNAL_H
#define STREAM_STORE_INTERNAL_H

#include <stdbool.h>

#include "stream/store.h"

struct stream_store_accounts_ops {
  int (*create)(void *impl, const stream_store_account *in); /* in->id already set */
  int (*get_by_id)(void *impl, stream_store_account *out, const char *id);
  int (*get_by_email)(void *impl, stream_store_account *out, const char *email);
  /* `expect` NULL: write `a` as is. Else only while the row still has expect's password
   * hash, disabled flag and role (compare-and-set): STREAM_ECONFLICT when it changed or is
   * gone (stream_store_account_update_if). */
  int (*update)(void *impl, const stream_store_account *a, const stream_store_account *expect);
  /* stream_store_account_close: `tombstone_email` is the e-mail the row keeps;
   * `out` is zeroed by the caller and filled only on success. */
  int (*close)(void *impl, stream_store_account_close_counts *out, const char *id,
               const char *tombstone_email, int64_t now);
};

struct stream_store_refresh_ops {
  int (*insert)(void *impl, const stream_store_refresh *t);
  int (*get)(void *impl, stream_store_refresh *out, const char *token_hash);
  int (*mark_used)(void *impl, const char *token_hash, int64_t now);
  int (*revoke_family)(void *impl, size_t *out_count, const char *family_id, int64_t now);
  int (*revoke_account)(void *impl, size_t *out_count, const char *account_id, int64_t now);
  int (*revoke_profile)(void *impl, size_t *out_count, const char *profile_id, int64_t now);
};

struct stream_store_device_ops {
  int (*insert)(void *impl, const stream_store_device *d);
  int (*get)(void *impl, stream_store_device *out, const char *device_code_hash);
  int (*get_by_user_code)(void *impl, stream_store_device *out, const char *user_code);
  /* status is APPROVED or DENIED; account_id/profile_id may be ""; pin_digest ("" = none,
   * else 64 hex and a profile) goes to device_profile_pins with the approval (migration 19) */
  int (*decide)(void *impl, const char *user_code, int status, const char *account_id,
                const char *profile_id, const char *pin_digest, int64_t now);
  int (*record_poll)(void *impl, int64_t *out_prev, const char *device_code_hash, int new_interval,
                     int64_t now);
  int (*consume)(void *impl, stream_store_device *out, const char *device_code_hash, int64_t now);
};

/* Password reset tokens (password_reset.c checks; sqlite/password_resets.c). */
struct stream_store_reset_ops {
  int (*insert)(void *impl, size_t *out_invalidated, const stream_store_password_reset *r);
  int (*get)(void *impl, stream_store_password_reset *out, const char *token_hash);
  int (*consume)(void *impl, stream_store_password_reset *out, size_t *out_revoked,
                 const char *token_hash, const char *password_hash, int64_t now);
};

struct stream_store_profiles_ops {
  int (*create)(void *impl, const stream_store_profile *in, int max_per_account);
  int (*get)(void *impl, stream_store_profile *out, const char *id);
  int (*list)(void *impl, stream_store_profile **out, size_t *out_count, const char *account_id);
  /* `expect` NULL: write `p` as is. Else only while the row still has expect's name,
   * avatar, kids flag, maturity ceiling and PIN hash (compare-and-set): STREAM_ECONFLICT
   * when it changed or is gone (stream_store_profile_update_if). */
  int (*update)(void *impl, const stream_store_profile *p, const stream_store_profile *expect);
  /* `expect_pin_hash` NULL: delete the row. Else only while its PIN hash (""
   * = none) is still that one: STREAM_ECONFLICT when it changed or the row is gone
   * (stream_store_profile_delete_if). */
  int (*remove)(void *impl, const char *id, const char *expect_pin_hash);
};

/* A decoded keyset cursor: the last row's sort key and id. */
typedef struct store__cursor {
  int sort;
  int64_t key_num; /* STREAM_STORE_SORT_NEWEST: created_at */
  char *key_text;  /* STREAM_STORE_SORT_NAME: name (owned) */
  char id[STREAM_STORE_ID_SIZE];
} store__cursor;

struct stream_store_catalog_ops {
  int (*title_create)(void *impl, const stream_store_title *in, int64_t now); /* id set */
  int (*title_update)(void *impl, const stream_store_title *t, int64_t now);
  int (*title_delete)(void *impl, const char *id);
  int (*title_get)(void *impl, stream_store_title *out, const char *id);
  int (*title_detail)(void *impl, stream_store_title_detail *out, const char *id);
  int (*season_create)(void *impl, const char *id, const char *title_id, int number);
  int (*season_delete)(void *impl, const char *id);
  int (*episode_create)(void *impl, const stream_store_episode *in); /* id set */
  int (*episode_update)(void *impl, const stream_store_episode *e);
  int (*episode_delete)(void *impl, const char *id);
  /* `after` is NULL for the first page. The backend fills out->items/count
   * with up to q->limit rows; store.c builds next_cursor from the last row
   * when `*out_more` is set. */
  int (*title_list)(void *impl, stream_store_title_page *out, bool *out_more,
                    const stream_store_title_query *q, const store__cursor *after);
  /* `text` is the raw user text (length-checked, any bytes): each backend
   * turns it into its own full-text syntax, so every dialect keeps its own
   * escaping rules; bytes that are not UTF-8 are word separators in both. */
  int (*title_search)(void *impl, stream_store_title_page *out, const char *text,
                      const stream_store_title_query *q);
  int (*genre_list)(void *impl, char ***out, size_t *out_count);
  /* Only q's maturity_ceiling, now and region apply (validated by store.c). In title_list,
   * title_search and genre_list_visible, q->region (when set) is the comma-joined codes a title
   * may list to be shown ("MX,484,419,013,019,001": store.c, core/m49.h). */
  int (*genre_list_visible)(void *impl, char ***out, size_t *out_count,
                            const stream_store_title_query *q);
};

struct stream_store_viewing_ops {
  int (*progress_upsert)(void *impl, const stream_store_progress *p, int64_t now);
  int (*progress_get)(void *impl, stream_store_progress *out, const char *profile_id,
                      const char *title_id, const char *episode_id /* "" = none */);
  int (*continue_watching)(void *impl, stream_store_progress **out, size_t *out_count,
                           const char *profile_id, unsigned int limit);
  int (*mylist_add)(void *impl, const char *profile_id, const char *title_id, int64_t now);
  int (*mylist_remove)(void *impl, const char *profile_id, const char *title_id);
  int (*mylist_list)(void *impl, stream_store_mylist_item **out, size_t *out_count,
                     const char *profile_id);
  /* Ratings (value 1 or -1); rating_get sets *out_value 0 when there is none. */
  int (*rating_put)(void *impl, const char *profile_id, const char *title_id, int value,
                    int64_t now);
  int (*rating_delete)(void *impl, const char *profile_id, const char *title_id);
  int (*rating_get)(void *impl, int *out_value, const char *profile_id, const char *title_id);
};

struct stream_store_backend {
  const char *name;
  void (*close)(void *impl);
  int (*schema_version)(void *impl, int *out);
  /* Write batch (store__batch_begin/end below): open / close one transaction
   * that the calling thread's store calls join until the matching end. */
  int (*batch_begin)(void *impl);
  int (*batch_end)(void *impl, int rc);
  const struct stream_store_accounts_ops *accounts;
  const struct stream_store_refresh_ops *refresh;
  const struct stream_store_device_ops *device;
  const struct stream_store_profiles_ops *profiles;
  const struct stream_store_catalog_ops *catalog;
  const struct stream_store_viewing_ops *viewing;
  /* Module-internal entities: each table is declared in its own header next
   * to this one and used only by the module named. */
  const struct stream_store_billing_ops *billing; /* store_billing.h: billing (plans..payments) */
  const struct stream_store_lease_ops *leases;    /* store_leases.h: billing (screen leases) */
  const struct stream_store_upload_ops *uploads;  /* store_uploads.h: upload (tus sessions) */
  const struct stream_store_job_ops *jobs;        /* store_jobs.h: jobs (durable job queue) */
  const struct stream_store_event_ops *events;    /* store_events.h: events (ingest, outbox) */
  const struct stream_store_recs_ops *recs;       /* store_recs.h: recs (signals, titles) */
  const struct stream_store_reset_ops *resets;    /* password reset tokens (auth) */
  /* store_reset_requests.h: auth (pending password reset requests) */
  const struct stream_store_reset_request_ops *reset_requests;
  /* Retention: delete transient rows per the (validated) policy; `out` is
   * zeroed by store.c and receives what was committed, also on failure. */
  int (*purge)(void *impl, stream_store_purge_counts *out, int64_t now,
               const stream_store_purge_policy *p);
  /* store_rate.h: rate-limit buckets (stream_store_rate_take, shared limits of auth) */
  const struct stream_store_rate_ops *rates;
};

struct stream_store {
  const struct stream_store_backend *backend;
  void *impl;
};

/* The SQLite backend (libstream/store/sqlite/). */
extern const struct stream_store_backend store__sqlite_backend;
int store__sqlite_open(void **out_impl, const stream_store_options *opts);
int store__sqlite_memstatus_off(void);
/* The PostgreSQL backend (libstream/store/postgres/, postgres feature): store paths that
 * are libpq URIs, "postgres://..." or "postgresql://...". */
extern const struct stream_store_backend store__pg_backend;
int store__pg_open(void **out_impl, const stream_store_options *opts);

/* Fresh id: 16 random bytes, unpadded base64url (22 characters). */
int store__new_id(char out[STREAM_STORE_ID_SIZE]);

/* Write batch: several store calls of one thread as ONE transaction.
 * store__batch_begin takes the store's writer (other threads' writes wait for
 * the end, as they wait for any write) and opens a transaction; every store
 * call the same thread makes until store__batch_end joins it: a write runs in
 * a savepoint (its failure undoes that call only, and the caller decides
 * whether the batch goes on), a read sees the batch's uncommitted rows. Other
 * threads read the last committed state. store__batch_end commits when
 * rc == STREAM_OK and rolls everything back otherwise, and returns the final
 * code (rc, or the commit's failure; the message of a failed rc is kept).
 * Batches nest (an inner batch is a savepoint). Every successful begin needs
 * exactly one end on the same thread; a failed begin needs none. Not public
 * API: for modules that write a tree of rows (catalog). */
int store__batch_begin(stream_store *s);
int store__batch_end(stream_store *s, int rc);

/* Argument checks of the public entry points (store.c), shared by the ones
 * in their own files (accounts_close.c, password_reset.c): STREAM_OK or
 * STREAM_EINVAL with a message naming `what`.
 * - check_id: a required id, 1..STREAM_STORE_ID_MAX of [A-Za-z0-9_-];
 * - check_hash64: SHA-256 as exactly 64 lowercase hex digits;
 * - check_utf8: NULL or a C string of valid UTF-8 ("<what> is not valid
 *   UTF-8 (bad byte at offset N)"). Every text the store keeps passes it
 *   first: PostgreSQL refuses invalid UTF-8 where SQLite would store it, so
 *   the check is what makes both backends answer alike. Module-internal
 *   tables (store_billing.h, store_jobs.h, ...) rely on their module's
 *   checks instead; each header says which. */
int store__check_id(const char *what, const char *id);
int store__check_hash64(const char *what, const char *v);
int store__check_utf8(const char *what, const char *v);

#endif
