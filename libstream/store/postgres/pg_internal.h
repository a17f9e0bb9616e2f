/*
 * PostgreSQL backend of the store (libpq): shared plumbing of the entity
 * files (connection pool, transactions, parameters, results, error mapping).
 * The entity files mirror the SQLite backend's (libstream/store/sqlite/) one
 * for one, and so does this API: store__pg_X is store__sq_X, so a port is the
 * SQL dialect, not the control flow.
 *
 * Selected by a store path that is a libpq URI ("postgres://..." or
 * "postgresql://..."): stream_store_open() then opens `readers` + 1 pooled
 * connections to that database.
 *
 * Concurrency model (the SQLite backend's, across processes): every write
 * transaction takes one transaction-scoped advisory lock first
 * (pg_advisory_xact_lock), so writes from every thread of every process that
 * shares the database run one at a time, READ COMMITTED, and each statement
 * sees every earlier commit. A count-then-insert or read-then-update inside a
 * write is therefore as safe as under SQLite's single writer, and the entity
 * code keeps its shape. Reads run on any pooled connection without the lock,
 * in parallel with writes and with each other (store__pg_rbegin gives several
 * statements one snapshot). The price is that writes do not run in parallel:
 * the same write throughput bound as SQLite, now shared by N daemons whose
 * reads scale out (docs/api/store.md "PostgreSQL").
 *
 * Exempt from the lock (store__pg_wbegin_unlocked): the writes whose
 * correctness rests only on what PostgreSQL enforces row by row, not on a
 * count or a read-then-write across rows (the list and the rule at the
 * declaration). They run in parallel with each other and with the locked
 * writes, so the bound above is that of the rest.
 *
 * A connection is used by one thread at a time (checked out of the pool).
 * The write batch (store__batch_begin) keeps its connection and transaction
 * for the owner thread, whose calls join it as savepoints, as in SQLite.
 *
 * Statements: `sql` uses SQLite's placeholders, `?` (numbered in order) and
 * `?N`; they are rewritten to `$N` (outside quotes). Parameters are sent as
 * text with their types (int4, int8, float8; text left to the server to
 * infer from context). Results are read in text form.
 *
 * Errors inside a transaction: PostgreSQL aborts the whole transaction on a
 * failed statement, where SQLite only fails the statement. Code that expects
 * a statement to fail and goes on (insert, and on EEXIST update) uses
 * store__pg_try_exec, which runs the statement in its own savepoint; better
 * still, ON CONFLICT.
 */
#ifndef STREAM_STORE_PG_INTERNAL_H
#define STREAM_STORE_PG_INTERNAL_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "../../core/core.h"
#include "../store_internal.h"

/* One pooled connection. */
typedef struct pg_conn {
  PGconn *h;
  /* In a write transaction (wbegin..wend) or the batch: statements that fail
   * abort it, so store__pg_try_exec needs a savepoint. */
  bool in_txn;
  /* The write batch's connection, owned by the batch's thread. */
  bool batch;
  unsigned int sp_seq; /* store__pg_try_exec savepoint names */
} pg_conn;

typedef struct pg_store {
  char *conninfo;
  unsigned int lock_timeout_ms;
  bool sync_normal;
  pg_conn *conns;
  bool *busy;
  unsigned int nconns;
  pthread_mutex_t plock;
  pthread_cond_t pcond;
  /* write batch (see sqlite_internal.h): owner thread only */
  pg_conn *batch_conn;
  unsigned int batch_depth;
  struct pg_store *batch_prev;
  /* Held by the batch's owner thread from the outer begin to the end (SQLite's
   * wlock): the batch_* fields above are one thread's at a time. */
  pthread_mutex_t block;
} pg_store;

/* A statement's result, read row by row like an SQLite statement. */
typedef struct pg_stmt {
  PGresult *res;
  int row; /* current row; -1 before the first store__pg_step */
  int nrows;
} pg_stmt;

/* The schema of the PostgreSQL dialect: one list of statements per feature
 * (pg_schema_*.c), applied in one transaction on a fresh database, which is
 * then at version STORE__PG_BASELINE (the SQLite dialect's version with the
 * same tables). Later migrations: store__pg_migrations. */
extern const char *const *const store__pg_baseline[];
extern const int store__pg_baseline_count;
#define STORE__PG_BASELINE 14
/* The migrations after the baseline, in order: store__pg_migrations[i] brings
 * the schema to version STORE__PG_BASELINE + 1 + i, the SQLite dialect's
 * migration of that number in this dialect. A fresh database gets the baseline
 * and then these; a database at an older version gets the ones it lacks. */
extern const char *const *const store__pg_migrations[];
extern const int store__pg_migration_count;
/* Indexes a migration builds only on a small table, since a plain CREATE INDEX would hold up
 * every write for the whole build (schema_qoe_repair.c): on a larger one the operator runs
 * `sql` (CREATE INDEX CONCURRENTLY) and, until the valid index `name` exists, each open logs
 * one warning naming it. The store is right without them, only slower. */
typedef struct store__pg_deferred_index {
  const char *name;
  const char *sql;
} store__pg_deferred_index;
extern const store__pg_deferred_index store__pg_deferred_indexes[];
extern const int store__pg_deferred_index_count;

/* Open the backend on the URI `opts->path` (stream_store_open). */
int store__pg_open(void **out_impl, const stream_store_options *opts);
/* STREAM_EINVAL for a URI libpq cannot parse, or in which a password would reach libpq's or
 * the server's messages (a host or database name with an '@', a port not a number, a user
 * name with a ':'): pg_uri.c. The message never quotes the URI. */
int store__pg_check_uri(const char *uri);
extern const struct stream_store_backend store__pg_backend;

/* Write transaction: a pooled connection, BEGIN and the writers' advisory
 * lock (or, in this thread's batch, a savepoint on the batch's connection).
 * On success the caller must call store__pg_wend with the outcome, which
 * commits (rc == STREAM_OK) or rolls back, gives the connection back and
 * returns the final code. */
int store__pg_wbegin(pg_store *st, pg_conn **db);
int store__pg_wend(pg_store *st, pg_conn *db, int rc);

/* A write that needs no cross-row invariant: store__pg_wbegin without the
 * writers' lock (BEGIN READ COMMITTED only), ended by store__pg_wend. In this
 * thread's batch it is the same savepoint as store__pg_wbegin: the batch's
 * transaction holds the lock, and keeps it.
 *
 * The rule. A write may use it only when every statement it runs is correct
 * against any concurrent commit with nothing but PostgreSQL's own guarantees:
 * a primary or unique key (ON CONFLICT, or a conflict that is the caller's
 * error), a foreign key, and the row locks these take. Not when it counts
 * rows then inserts (profiles per account, screens, live subscriptions), reads
 * a row then writes another on what it read (the account check of
 * store__pg_account_live, a job claim, a single-use token spent in two
 * statements), or writes more rows than one whose sum must be consistent.
 * Those keep store__pg_wbegin: all of them serialize on the lock, and these
 * do not need to.
 *
 * Why the account close still wins: a write here that references a profile
 * inserts through a foreign key, whose check takes FOR KEY SHARE on the
 * profile row. The close deletes the profiles inside its locked transaction;
 * a write racing it either committed first (the close's DELETE waits for the
 * key-share lock, then its ON DELETE CASCADE, run after it with a fresh
 * snapshot, removes the row) or comes after the DELETE (its foreign-key check
 * waits for the close, then finds no profile: 23503, STREAM_ENOTFOUND, no
 * row). An ON CONFLICT update of an existing row takes no key-share lock, but
 * the cascade deletes that row: it waits for the update's row lock, or the
 * upsert waits on the deleted row's unique key and then inserts, failing the
 * foreign key as above. A read that a write here needs as a constraint (the
 * episode of a resume position belongs to its title) takes FOR KEY SHARE on
 * the rows it read, title first (the order in which a title delete cascades),
 * so a concurrent delete waits for the commit and its cascade or trigger
 * removes the row.
 *
 * Deadlocks: a write here holds at most one row it changed plus key-share
 * locks, and waits only on rows another transaction changes; against a
 * locked transaction that deletes or re-keys those rows in another order
 * PostgreSQL may find a cycle and roll one side back (40P01): the call fails
 * with STREAM_EBUSY "deadlock ... retry" and wrote nothing. lock_timeout
 * applies to its row locks as to the writers' lock (STREAM_EBUSY).
 *
 * Users (keep this list and docs/api/store.md "PostgreSQL" in step):
 * profiles.c progress upsert, My List add and remove, rating put and delete;
 * leases.c heartbeat (one conditional UPDATE of the lease's row: renewed only
 * while live and the account's; the acquire's screen count, under the lock,
 * counts a lease live at its snapshot whether or not it is renewed after) and
 * release (one DELETE of the lease's row); rate_buckets.c take (its own
 * buckets' rows only, made to exist and locked FOR UPDATE in (scope, key)
 * order, so concurrent takes of a bucket queue on its row) and reset (one
 * DELETE). Identity values (progress.seq,
 * my_list.seq) are then taken in statement order, not commit order: two such
 * writes of one profile in the same second may commit in the other order than
 * their seq (the recency tie-break). */
int store__pg_wbegin_unlocked(pg_store *st, pg_conn **db);

/* Borrow a connection for reads (blocks until one is free) and give it back.
 * In this thread's batch: the batch's connection (its uncommitted rows). */
pg_conn *store__pg_racquire(pg_store *st);
void store__pg_rrelease(pg_store *st, pg_conn *db);
/* One snapshot over several reads on a borrowed connection. */
int store__pg_rbegin(pg_conn *db);
void store__pg_rend(pg_conn *db);

/* Run `sql` with parameters described by `types` (store__sq_prepare's letters):
 *   t  const char *   text (NULL sends NULL)
 *   T  const char *   text, NULL or "" sends NULL
 *   i  int            int4
 *   I  int64_t        int8
 *   Z  int64_t        int8, 0 sends NULL
 *   d  double         float8
 * and keep its rows in *stmt for store__pg_step / store__pg_col_*. Free with
 * store__pg_release. On failure *stmt is NULL and the error is set. */
int store__pg_prepare(pg_conn *db, pg_stmt **stmt, const char *what, const char *sql,
                      const char *types, ...);
/* Advance to the next row: 1 = a row, 0 = no more. Never fails (the
 * statement already ran); the signature matches store__sq_step. */
int store__pg_step(pg_conn *db, pg_stmt *stmt, const char *what);
void store__pg_release(pg_conn *db, pg_stmt *stmt);
/* Run a statement whose rows are not needed. `changes` (may be NULL)
 * receives the rows it inserted, updated or deleted. */
int store__pg_exec(pg_conn *db, const char *what, int *changes, const char *sql, const char *types,
                   ...);
/* store__pg_exec in its own savepoint when inside a transaction: a failure
 * (its code returned and its message set) leaves the transaction usable. */
int store__pg_try_exec(pg_conn *db, const char *what, int *changes, const char *sql,
                       const char *types, ...);
/* Run parameterless SQL (several statements allowed). */
int store__pg_exec_plain(pg_conn *db, const char *what, const char *sql);

/* Columns of the current row. */
void store__pg_col_copy(char *dst, size_t cap, const pg_stmt *stmt, int col); /* "" for NULL */
int store__pg_col_dup(char **out, const pg_stmt *stmt, int col); /* *out NULL for NULL */
int64_t store__pg_col_i64(const pg_stmt *stmt, int col);         /* 0 for NULL */
int store__pg_col_int(const pg_stmt *stmt, int col);             /* 0 for NULL */
double store__pg_col_double(const pg_stmt *stmt, int col);       /* 0 for NULL */
bool store__pg_col_null(const pg_stmt *stmt, int col);

/* Map a failed result to a STREAM_E* code with a message naming `what`. */
int store__pg_fail(pg_conn *db, const PGresult *res, const char *what);

#define PG_TRY(expr)                                                                               \
  do {                                                                                             \
    int rc_ = (expr);                                                                              \
    if (rc_ != STREAM_OK)                                                                          \
      return rc_;                                                                                  \
  } while (0)

/* Entity tables (one file each, as in sqlite/). */
extern const struct stream_store_accounts_ops store__pg_accounts_ops;
extern const struct stream_store_refresh_ops store__pg_refresh_ops;
extern const struct stream_store_device_ops store__pg_device_ops;
extern const struct stream_store_profiles_ops store__pg_profiles_ops;
extern const struct stream_store_catalog_ops store__pg_catalog_ops;
extern const struct stream_store_viewing_ops store__pg_viewing_ops;
extern const struct stream_store_billing_ops store__pg_billing_ops;
extern const struct stream_store_upload_ops store__pg_upload_ops;
extern const struct stream_store_job_ops store__pg_job_ops;
extern const struct stream_store_lease_ops store__pg_lease_ops;
extern const struct stream_store_event_ops store__pg_event_ops;
extern const struct stream_store_recs_ops store__pg_recs_ops;
extern const struct stream_store_reset_ops store__pg_reset_ops;
/* reset_requests.c (store_reset_requests.h) */
extern const struct stream_store_reset_request_ops store__pg_reset_request_ops;
/* rate_buckets.c (store_rate.h) */
extern const struct stream_store_rate_ops store__pg_rate_ops;
int store__pg_purge(void *impl, stream_store_purge_counts *out, int64_t now,
                    const stream_store_purge_policy *p);
/* accounts.c: the account of an account-scoped write, read on `db` inside the
 * caller's write transaction (store__pg_wbegin), so the answer holds until its
 * commit: closing an account is a write too and waits for the writers' lock.
 * store__pg_account_live: STREAM_OK, or STREAM_ENOTFOUND "<what>: no account
 * with id <id>" when the row is missing or a tombstone (closed, deleted_at >
 * 0). store__pg_account_closed: for analytics rows, kept without the person
 * instead of refused: *closed is true only for a tombstone ("" and unknown
 * ids: false). As store__sq_account_live / store__sq_account_closed. */
int store__pg_account_live(pg_conn *db, const char *what, const char *account_id);
int store__pg_account_closed(pg_conn *db, bool *closed, const char *what, const char *account_id);

#endif
