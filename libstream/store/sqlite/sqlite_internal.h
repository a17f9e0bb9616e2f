/*
 * SQLite backend of the store: shared plumbing of the entity files
 * (connections, transactions, binding, error mapping).
 *
 * Concurrency model: one writer connection guarded by `wlock`, every write
 * runs inside BEGIN IMMEDIATE on it (so concurrent writers from other
 * processes queue on the busy timeout instead of failing half-way); a pool of
 * reader connections (WAL lets them read while the writer writes) handed out
 * under `rlock`. A ":memory:" store has no readers: reads take the writer.
 *
 * Statement cache: every connection (sq_conn) keeps the statements prepared on
 * it, keyed by their SQL text, prepared once with SQLITE_PREPARE_PERSISTENT.
 * store__sq_prepare hands out the cached statement (bound afresh) and
 * store__sq_release resets it and clears its bindings instead of finalizing;
 * sq_close finalizes them all. A connection is used by one thread at a time
 * (writer mutex / reader pool), so the cache needs no lock of its own. A
 * statement already handed out (the same SQL nested) or a full cache gets a
 * transient statement that release finalizes.
 */
#ifndef STREAM_STORE_SQLITE_INTERNAL_H
#define STREAM_STORE_SQLITE_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "../../core/core.h"
#include "../store_internal.h"

#define SQ_STMT_CACHE_MAX 96

typedef struct sq_cached {
  sqlite3_stmt *stmt;
  uint32_t hash; /* of the SQL text */
  bool busy;     /* handed out, not yet released */
} sq_cached;

/* One connection and its statement cache. */
typedef struct sq_conn {
  sqlite3 *h;
  sq_cached cache[SQ_STMT_CACHE_MAX];
  unsigned int ncached;
  /* Writer only: a write batch holds the transaction open, so read snapshots
   * on this connection (store__sq_rbegin/rend) are the batch's own. Touched
   * only by the thread that holds the writer. */
  bool batch;
} sq_conn;

/* Write batch (store__batch_begin): the owner thread holds `wlock` from the
 * batch's begin to its end and records the store in a thread-local chain
 * (linked through `batch_prev`), so "does this thread own the batch?" is a
 * thread-local look-up, never a read of another thread's field. Every store
 * call of the owner joins the transaction: writes as savepoints, reads on the
 * writer connection. `batch_depth` counts the open levels (the batch and its
 * nested batches / writes); `batch_lost` records that SQLite rolled back the
 * whole transaction itself (disk full, I/O error), after which no call may
 * write in autocommit mode and the batch can only fail. */
typedef struct sq_store {
  sq_conn writer;
  unsigned int batch_depth;
  bool batch_lost;
  struct sq_store *batch_prev;
  pthread_mutex_t wlock;
  sq_conn *readers;
  bool *reader_busy;
  unsigned int nreaders;
  pthread_mutex_t rlock;
  pthread_cond_t rcond;
} sq_store;

/* Migrations, in order; migration i brings the schema to version i + 1. */
extern const char *const *const store__sq_migrations[];
extern const int store__sq_migration_count;

/* Take the writer and BEGIN IMMEDIATE. On success the caller must call
 * store__sq_wend with the outcome, which commits (rc == STREAM_OK) or rolls back,
 * releases the writer, and returns the final code. */
int store__sq_wbegin(sq_store *st, sq_conn **db);
int store__sq_wend(sq_store *st, sq_conn *db, int rc);

/* Borrow a reader connection (blocks until one is free) and give it back. */
sq_conn *store__sq_racquire(sq_store *st);
void store__sq_rrelease(sq_store *st, sq_conn *db);
/* A read snapshot over several statements on a borrowed reader. */
int store__sq_rbegin(sq_conn *db);
void store__sq_rend(sq_conn *db);

/* Map an SQLite failure to a STREAM_E* code with a message naming `what`. */
int store__sq_fail(sq_conn *db, int rc, const char *what);

/* Prepare `sql` and bind arguments described by `types`, one letter each:
 *   t  const char *   text (NULL binds NULL)
 *   T  const char *   text, NULL or "" binds NULL
 *   i  int
 *   I  int64_t
 *   Z  int64_t        0 binds NULL
 *   d  double         REAL
 * The statement comes from the connection's cache (see above); give it back
 * with store__sq_release, never sqlite3_finalize. `sql` is one statement.
 * On failure *stmt is NULL and the error is set. */
int store__sq_prepare(sq_conn *db, sqlite3_stmt **stmt, const char *what, const char *sql,
                      const char *types, ...);
/* Give back a statement from store__sq_prepare: reset and unbind a cached one,
 * finalize a transient one. NULL is ignored. */
void store__sq_release(sq_conn *db, sqlite3_stmt *stmt);
/* Prepare, bind, step to completion (rows are ignored) and release.
 * `changes` (may be NULL) receives sqlite3_changes(). */
int store__sq_exec(sq_conn *db, const char *what, int *changes, const char *sql, const char *types,
                   ...);

/* Step a prepared statement: 1 = a row, 0 = done, < 0 = error (set). */
int store__sq_step(sq_conn *db, sqlite3_stmt *stmt, const char *what);

/* Copy a text column into a fixed field ("" for NULL; truncates safely). */
void store__sq_col_copy(char *dst, size_t cap, sqlite3_stmt *stmt, int col);
/* Duplicate a text column: *out is NULL for SQL NULL. STREAM_ENOMEM on failure. */
int store__sq_col_dup(char **out, sqlite3_stmt *stmt, int col);
/* Integer column; SQL NULL gives 0. */
int64_t store__sq_col_i64(sqlite3_stmt *stmt, int col);

extern const struct stream_store_accounts_ops store__sq_accounts_ops;
extern const struct stream_store_refresh_ops store__sq_refresh_ops;
extern const struct stream_store_device_ops store__sq_device_ops;
extern const struct stream_store_profiles_ops store__sq_profiles_ops;
extern const struct stream_store_catalog_ops store__sq_catalog_ops;
extern const struct stream_store_viewing_ops store__sq_viewing_ops;
extern const struct stream_store_billing_ops store__sq_billing_ops; /* billing.c */
extern const struct stream_store_upload_ops store__sq_upload_ops;   /* uploads.c */
extern const struct stream_store_job_ops store__sq_job_ops;         /* jobs.c */
extern const struct stream_store_lease_ops store__sq_lease_ops;     /* leases.c */
extern const struct stream_store_event_ops store__sq_event_ops;     /* events.c */
extern const struct stream_store_recs_ops store__sq_recs_ops;       /* recs.c */
/* reset_requests.c */
extern const struct stream_store_reset_request_ops store__sq_reset_request_ops;
/* rate_buckets.c (store_rate.h) */
extern const struct stream_store_rate_ops store__sq_rate_ops;
/* accounts.c: the account of an account-scoped write, read on `db` inside the
 * caller's write transaction, so the answer holds until its commit (closing
 * an account is a write too and waits for it). store__sq_account_live:
 * STREAM_OK, or STREAM_ENOTFOUND "<what>: no account with id <id>" when the
 * row is missing or a tombstone (closed, deleted_at > 0): a write racing the
 * close never attaches a row to the tombstone. store__sq_account_closed: for
 * analytics rows, which are kept without the person instead of refused:
 * *closed is true only for a tombstone ("" and unknown ids: false). */
int store__sq_account_live(sq_conn *db, const char *what, const char *account_id);
int store__sq_account_closed(sq_conn *db, bool *closed, const char *what, const char *account_id);
/* purge.c: the retention purge (backend `purge`). */
int store__sq_purge(void *impl, stream_store_purge_counts *out, int64_t now,
                    const stream_store_purge_policy *p);

#define SQ_TRY(expr)                                                                               \
  do {                                                                                             \
    int rc_ = (expr);                                                                              \
    if (rc_ != STREAM_OK)                                                                          \
      return rc_;                                                                                  \
  } while (0)

#endif
