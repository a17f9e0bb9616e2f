/*
 * SQLite backend: opening the database (WAL, foreign keys, busy timeout),
 * applying the versioned migrations of the SQLite dialect in one
 * transaction, the writer/readers connection model with the write batch
 * (several store calls of one thread in one transaction), and the binding and
 * error-mapping helpers shared by the entity files (accounts.c, profiles.c,
 * catalog.c). All SQL is static text with bound parameters.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite_internal.h"

/* ---- helpers ------------------------------------------------------------ */

static int fail_h(sqlite3 *db, int rc, const char *what)
{
  int ext = db ? sqlite3_extended_errcode(db) : rc;
  const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  switch (ext) {
  case SQLITE_CONSTRAINT_UNIQUE:
  case SQLITE_CONSTRAINT_PRIMARYKEY:
    return stream__err(STREAM_EEXIST, "%s: already exists (%s)", what, msg);
  case SQLITE_CONSTRAINT_FOREIGNKEY:
    return stream__err(STREAM_ENOTFOUND, "%s: a referenced row does not exist", what);
  default:
    break;
  }
  switch (rc & 0xff) {
  case SQLITE_CONSTRAINT:
    return stream__err(STREAM_EINVAL, "%s: constraint failed (%s)", what, msg);
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return stream__err(STREAM_EBUSY, "%s: database is locked beyond the busy timeout", what);
  case SQLITE_NOMEM:
    return stream__err(STREAM_ENOMEM, "%s: out of memory in sqlite", what);
  default:
    return stream__err(STREAM_EIO, "%s: sqlite error %d (%s)", what, ext, msg);
  }
}

int store__sq_fail(sq_conn *db, int rc, const char *what)
{
  return fail_h(db ? db->h : NULL, rc, what);
}

static int bindv(sqlite3_stmt *stmt, const char *types, va_list ap)
{
  int rc = SQLITE_OK;
  for (int i = 0; types[i] && rc == SQLITE_OK; i++) {
    int idx = i + 1;
    switch (types[i]) {
    case 't': {
      const char *v = va_arg(ap, const char *);
      rc = v ? sqlite3_bind_text(stmt, idx, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(stmt, idx);
      break;
    }
    case 'T': {
      const char *v = va_arg(ap, const char *);
      rc = (v && v[0]) ? sqlite3_bind_text(stmt, idx, v, -1, SQLITE_TRANSIENT)
                       : sqlite3_bind_null(stmt, idx);
      break;
    }
    case 'i':
      rc = sqlite3_bind_int(stmt, idx, va_arg(ap, int));
      break;
    case 'I':
      rc = sqlite3_bind_int64(stmt, idx, (sqlite3_int64)va_arg(ap, int64_t));
      break;
    case 'Z': {
      int64_t v = va_arg(ap, int64_t);
      rc = v ? sqlite3_bind_int64(stmt, idx, (sqlite3_int64)v) : sqlite3_bind_null(stmt, idx);
      break;
    }
    case 'd':
      rc = sqlite3_bind_double(stmt, idx, va_arg(ap, double));
      break;
    default:
      return SQLITE_MISUSE;
    }
  }
  return rc;
}

/* FNV-1a over the SQL text: the cache key (confirmed with strcmp). */
static uint32_t sql_hash(const char *sql)
{
  uint32_t h = 2166136261u;
  for (const unsigned char *p = (const unsigned char *)sql; *p; p++)
    h = (h ^ *p) * 16777619u;
  return h;
}

/* Find or prepare the statement for `sql` on `db` and mark it handed out.
 * Returns an SQLite code and sets no error message. */
static int stmt_get_raw(sq_conn *db, sqlite3_stmt **stmt, const char *sql)
{
  uint32_t h = sql_hash(sql);
  bool nested = false;
  *stmt = NULL;
  for (unsigned int i = 0; i < db->ncached; i++) {
    sq_cached *c = &db->cache[i];
    if (c->hash == h && strcmp(sqlite3_sql(c->stmt), sql) == 0) {
      if (c->busy) {
        nested = true; /* the same SQL is in use: a transient one below */
        break;
      }
      c->busy = true;
      *stmt = c->stmt;
      return SQLITE_OK;
    }
  }
  bool keep = !nested && db->ncached < SQ_STMT_CACHE_MAX;
  int rc = sqlite3_prepare_v3(db->h, sql, -1, keep ? SQLITE_PREPARE_PERSISTENT : 0, stmt, NULL);
  if (rc == SQLITE_OK && !*stmt)
    rc = SQLITE_MISUSE; /* empty SQL */
  if (rc != SQLITE_OK) {
    sqlite3_finalize(*stmt);
    *stmt = NULL;
    return rc;
  }
  if (keep)
    db->cache[db->ncached++] = (sq_cached){.stmt = *stmt, .hash = h, .busy = true};
  return SQLITE_OK;
}

static int stmt_get(sq_conn *db, sqlite3_stmt **stmt, const char *what, const char *sql)
{
  int rc = stmt_get_raw(db, stmt, sql);
  return rc == SQLITE_OK ? STREAM_OK : store__sq_fail(db, rc, what);
}

/* Run a statement ignoring its outcome and setting no error message. */
static void exec_quiet(sq_conn *db, const char *sql)
{
  sqlite3_stmt *stmt;
  if (stmt_get_raw(db, &stmt, sql) == SQLITE_OK) {
    sqlite3_step(stmt);
    store__sq_release(db, stmt);
  }
}

void store__sq_release(sq_conn *db, sqlite3_stmt *stmt)
{
  if (!stmt)
    return;
  for (unsigned int i = 0; i < db->ncached; i++) {
    if (db->cache[i].stmt == stmt) {
      sqlite3_reset(stmt);
      sqlite3_clear_bindings(stmt);
      db->cache[i].busy = false;
      return;
    }
  }
  sqlite3_finalize(stmt);
}

static void cache_clear(sq_conn *db)
{
  for (unsigned int i = 0; i < db->ncached; i++)
    sqlite3_finalize(db->cache[i].stmt);
  db->ncached = 0;
}

static int prepare_va(sq_conn *db, sqlite3_stmt **stmt, const char *what, const char *sql,
                      const char *types, va_list ap)
{
  *stmt = NULL;
  SQ_TRY(stmt_get(db, stmt, what, sql));
  int rc = bindv(*stmt, types, ap);
  if (rc != SQLITE_OK) {
    int e = store__sq_fail(db, rc, what);
    store__sq_release(db, *stmt);
    *stmt = NULL;
    return e;
  }
  return STREAM_OK;
}

int store__sq_prepare(sq_conn *db, sqlite3_stmt **stmt, const char *what, const char *sql,
                      const char *types, ...)
{
  va_list ap;
  va_start(ap, types);
  int rc = prepare_va(db, stmt, what, sql, types, ap);
  va_end(ap);
  return rc;
}

int store__sq_step(sq_conn *db, sqlite3_stmt *stmt, const char *what)
{
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW)
    return 1;
  if (rc == SQLITE_DONE)
    return 0;
  return store__sq_fail(db, rc, what);
}

int store__sq_exec(sq_conn *db, const char *what, int *changes, const char *sql, const char *types,
                   ...)
{
  sqlite3_stmt *stmt;
  va_list ap;
  va_start(ap, types);
  int rc = prepare_va(db, &stmt, what, sql, types, ap);
  va_end(ap);
  if (rc != STREAM_OK)
    return rc;
  int r;
  while ((r = store__sq_step(db, stmt, what)) == 1)
    ;
  /* Read before the release: sqlite3_changes() is not touched by reset. */
  if (r == 0 && changes)
    *changes = sqlite3_changes(db->h);
  store__sq_release(db, stmt);
  return r < 0 ? r : STREAM_OK;
}

void store__sq_col_copy(char *dst, size_t cap, sqlite3_stmt *stmt, int col)
{
  const unsigned char *v = sqlite3_column_text(stmt, col);
  size_t n = v ? (size_t)sqlite3_column_bytes(stmt, col) : 0;
  if (n >= cap)
    n = cap - 1;
  if (n)
    memcpy(dst, v, n);
  dst[n] = '\0';
}

int store__sq_col_dup(char **out, sqlite3_stmt *stmt, int col)
{
  *out = NULL;
  if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
    return STREAM_OK;
  const unsigned char *v = sqlite3_column_text(stmt, col);
  size_t n = (size_t)sqlite3_column_bytes(stmt, col);
  *out = stream__strndup(v ? (const char *)v : "", n);
  return *out ? STREAM_OK : STREAM_ENOMEM;
}

int64_t store__sq_col_i64(sqlite3_stmt *stmt, int col)
{
  return (int64_t)sqlite3_column_int64(stmt, col);
}

/* ---- transactions and connections -------------------------------------- */

static int exec_plain(sqlite3 *db, const char *sql, const char *what)
{
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? STREAM_OK : fail_h(db, rc, what);
}

/* Transaction control through the statement cache (sqlite3_exec would
 * compile the statement on every call). */
static int exec_cached(sq_conn *db, const char *sql, const char *what)
{
  return store__sq_exec(db, what, NULL, sql, "");
}

/* ---- write batch ------------------------------------------------------ */

/* The stores on which this thread holds a write batch, innermost first,
 * linked through sq_store.batch_prev. Only the owner thread reads or writes
 * its chain, so no lock is needed; a thread without a batch pays one
 * thread-local load per call. */
static _Thread_local sq_store *tl_batch;

static bool in_batch(const sq_store *st)
{
  for (const sq_store *p = tl_batch; p; p = p->batch_prev)
    if (p == st)
      return true;
  return false;
}

/* One level inside the owner's batch: a savepoint (the same name at every
 * level: RELEASE and ROLLBACK TO act on the innermost one). */
static int sp_begin(sq_store *st)
{
  if (st->batch_lost)
    return stream__err(STREAM_EIO, "write batch: SQLite already rolled the transaction back after "
                                   "an earlier failure; nothing more can be written in it");
  SQ_TRY(exec_cached(&st->writer, "SAVEPOINT stream_batch", "open savepoint"));
  st->batch_depth++;
  return STREAM_OK;
}

/* SQLite rolls a whole transaction back by itself on some errors (disk full,
 * I/O error, out of memory): then the savepoints are gone and the connection
 * is in autocommit mode. Remember it, so that the batch fails. */
static bool check_lost(sq_store *st)
{
  if (sqlite3_get_autocommit(st->writer.h))
    st->batch_lost = true;
  return st->batch_lost;
}

static int sp_end(sq_store *st, int rc)
{
  sq_conn *db = &st->writer;
  st->batch_depth--;
  if (check_lost(st))
    return rc != STREAM_OK ? rc
                           : stream__err(STREAM_EIO, "write batch: SQLite rolled the transaction "
                                                     "back after a failure inside it");
  if (rc == STREAM_OK) {
    rc = exec_cached(db, "RELEASE stream_batch", "release savepoint");
    if (rc == STREAM_OK)
      return STREAM_OK;
  }
  /* Undo this level only; the outer levels go on. */
  exec_quiet(db, "ROLLBACK TO stream_batch");
  exec_quiet(db, "RELEASE stream_batch");
  check_lost(st);
  return rc;
}

static int sq_batch_begin(void *impl)
{
  sq_store *st = impl;
  if (in_batch(st))
    return sp_begin(st);
  pthread_mutex_lock(&st->wlock);
  int rc = exec_cached(&st->writer, "BEGIN IMMEDIATE", "begin write batch");
  if (rc != STREAM_OK) {
    pthread_mutex_unlock(&st->wlock);
    return rc;
  }
  st->writer.batch = true;
  st->batch_depth = 1;
  st->batch_lost = false;
  st->batch_prev = tl_batch;
  tl_batch = st;
  return STREAM_OK;
}

static int sq_batch_end(void *impl, int rc)
{
  sq_store *st = impl;
  if (!in_batch(st))
    return rc != STREAM_OK
               ? rc
               : stream__err(STREAM_EINVAL, "write batch end without a begin on this thread");
  if (st->batch_depth > 1)
    return sp_end(st, rc);
  sq_conn *db = &st->writer;
  if (rc == STREAM_OK && check_lost(st))
    rc = stream__err(STREAM_EIO, "write batch: SQLite rolled the transaction back after a failure "
                                 "inside it; nothing was written");
  if (rc == STREAM_OK) {
    rc = exec_cached(db, "COMMIT", "commit write batch");
    if (rc != STREAM_OK)
      exec_quiet(db, "ROLLBACK");
  } else if (!sqlite3_get_autocommit(db->h)) {
    /* Keep the message of the failure, not of the rollback. */
    exec_quiet(db, "ROLLBACK");
  }
  db->batch = false;
  st->batch_depth = 0;
  st->batch_lost = false;
  for (sq_store **p = &tl_batch; *p; p = &(*p)->batch_prev) {
    if (*p == st) {
      *p = st->batch_prev;
      break;
    }
  }
  st->batch_prev = NULL;
  pthread_mutex_unlock(&st->wlock);
  return rc;
}

/* ---- single calls: writer and readers ------------------------------------ */

int store__sq_wbegin(sq_store *st, sq_conn **db)
{
  /* Inside this thread's batch: the writer is already ours and the
   * transaction open, so the call becomes a savepoint. */
  if (tl_batch && in_batch(st)) {
    SQ_TRY(sp_begin(st));
    *db = &st->writer;
    return STREAM_OK;
  }
  pthread_mutex_lock(&st->wlock);
  int rc = exec_cached(&st->writer, "BEGIN IMMEDIATE", "begin write transaction");
  if (rc != STREAM_OK) {
    pthread_mutex_unlock(&st->wlock);
    return rc;
  }
  *db = &st->writer;
  return STREAM_OK;
}

int store__sq_wend(sq_store *st, sq_conn *db, int rc)
{
  /* The caller holds the writer, so `batch` is set only by this thread. */
  if (db->batch)
    return sp_end(st, rc);
  if (rc == STREAM_OK) {
    rc = exec_cached(db, "COMMIT", "commit");
    if (rc != STREAM_OK)
      exec_quiet(db, "ROLLBACK");
  } else {
    /* Keep the message of the failure, not of the rollback. */
    exec_quiet(db, "ROLLBACK");
  }
  pthread_mutex_unlock(&st->wlock);
  return rc;
}

sq_conn *store__sq_racquire(sq_store *st)
{
  /* Inside this thread's batch: read the batch's own rows on the writer it
   * already holds (taking a reader would miss them; taking wlock would
   * deadlock). */
  if (tl_batch && in_batch(st))
    return &st->writer;
  if (st->nreaders == 0) {
    pthread_mutex_lock(&st->wlock);
    return &st->writer;
  }
  pthread_mutex_lock(&st->rlock);
  for (;;) {
    for (unsigned int i = 0; i < st->nreaders; i++) {
      if (!st->reader_busy[i]) {
        st->reader_busy[i] = true;
        pthread_mutex_unlock(&st->rlock);
        return &st->readers[i];
      }
    }
    pthread_cond_wait(&st->rcond, &st->rlock);
  }
}

void store__sq_rrelease(sq_store *st, sq_conn *db)
{
  /* The holder of a connection is the only thread that sees `batch` set. */
  if (db->batch)
    return;
  if (st->nreaders == 0) {
    pthread_mutex_unlock(&st->wlock);
    return;
  }
  pthread_mutex_lock(&st->rlock);
  for (unsigned int i = 0; i < st->nreaders; i++)
    if (&st->readers[i] == db)
      st->reader_busy[i] = false;
  pthread_cond_signal(&st->rcond);
  pthread_mutex_unlock(&st->rlock);
}

int store__sq_rbegin(sq_conn *db)
{
  /* In a batch the open transaction is the snapshot (no BEGIN inside it). */
  if (db->batch)
    return STREAM_OK;
  return exec_cached(db, "BEGIN", "begin read transaction");
}

void store__sq_rend(sq_conn *db)
{
  if (db->batch)
    return;
  exec_quiet(db, "COMMIT");
}

static int open_conn(sqlite3 **out, const char *path, bool create, unsigned int busy_ms,
                     bool reader)
{
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  sqlite3 *db = NULL;
  int rc = sqlite3_open_v2(path, &db, flags, NULL);
  if (rc != SQLITE_OK) {
    int e = db ? fail_h(db, rc, "open database")
               : stream__err(STREAM_ENOMEM, "open database: out of memory");
    sqlite3_close(db);
    return e;
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, (int)busy_ms);
  int e = exec_plain(db, "PRAGMA foreign_keys = ON", "enable foreign keys");
  if (e == STREAM_OK && reader)
    e = exec_plain(db, "PRAGMA query_only = ON", "make reader read-only");
  if (e != STREAM_OK) {
    sqlite3_close(db);
    return e;
  }
  *out = db;
  return STREAM_OK;
}

/* The highest applied version, 0 for a fresh database. */
static int read_version(sq_conn *db, int *out)
{
  sqlite3_stmt *stmt;
  *out = 0;
  int has = 0;
  SQ_TRY(store__sq_prepare(db, &stmt, "read schema version",
                           "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
                           "t", "schema_version"));
  if (store__sq_step(db, stmt, "read schema version") == 1)
    has = sqlite3_column_int(stmt, 0);
  store__sq_release(db, stmt);
  if (!has)
    return STREAM_OK;
  SQ_TRY(store__sq_prepare(db, &stmt, "read schema version",
                           "SELECT coalesce(max(version), 0) FROM schema_version", ""));
  int r = store__sq_step(db, stmt, "read schema version");
  if (r == 1)
    *out = sqlite3_column_int(stmt, 0);
  store__sq_release(db, stmt);
  return r < 0 ? r : STREAM_OK;
}

static int migrate(sq_store *st)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(st, &db));
  int rc = exec_plain(db->h,
                      "CREATE TABLE IF NOT EXISTS schema_version ("
                      " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
                      "create schema_version");
  int have = 0;
  if (rc == STREAM_OK)
    rc = read_version(db, &have);
  if (rc == STREAM_OK && have > store__sq_migration_count)
    rc = stream__err(STREAM_ENOTSUP,
                     "database schema version %d is newer than this libstream supports (%d); "
                     "upgrade libstream",
                     have, store__sq_migration_count);
  for (int v = have; rc == STREAM_OK && v < store__sq_migration_count; v++) {
    for (const char *const *sql = store__sq_migrations[v]; rc == STREAM_OK && *sql; sql++)
      rc = exec_plain(db->h, *sql, "apply migration");
    if (rc != STREAM_OK)
      stream__err(rc, "applying schema migration %d failed: %s", v + 1, sqlite3_errmsg(db->h));
    else
      rc = store__sq_exec(db, "record migration", NULL,
                          "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", "iI",
                          v + 1, stream__now());
  }
  return store__sq_wend(st, db, rc);
}

static void sq_close(void *impl)
{
  sq_store *st = impl;
  if (!st)
    return;
  /* Every cached statement is finalized first, or sqlite3_close would fail. */
  for (unsigned int i = 0; i < st->nreaders; i++) {
    cache_clear(&st->readers[i]);
    sqlite3_close(st->readers[i].h);
  }
  free(st->readers);
  free(st->reader_busy);
  cache_clear(&st->writer);
  sqlite3_close(st->writer.h);
  pthread_mutex_destroy(&st->wlock);
  pthread_mutex_destroy(&st->rlock);
  pthread_cond_destroy(&st->rcond);
  free(st);
}

int store__sqlite_memstatus_off(void)
{
  /* SQLite refuses any sqlite3_config() once initialized (SQLITE_MISUSE). */
  if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK)
    return stream__err(STREAM_EBUSY, "SQLite's memory statistics can only be turned off before "
                                     "SQLite is first used in the process (a store was opened, "
                                     "or something else initialized SQLite)");
  return STREAM_OK;
}

int store__sqlite_open(void **out_impl, const stream_store_options *opts)
{
  bool memory = strcmp(opts->path, ":memory:") == 0;
  /* Connections are handed between threads: SQLite must be built thread-safe. */
  if (!sqlite3_threadsafe())
    return stream__err(STREAM_ENOTSUP,
                       "the linked SQLite library was built without thread support");
  sq_store *st = stream__calloc(1, sizeof *st);
  if (!st)
    return STREAM_ENOMEM;
  pthread_mutex_init(&st->wlock, NULL);
  pthread_mutex_init(&st->rlock, NULL);
  pthread_cond_init(&st->rcond, NULL);
  int rc = open_conn(&st->writer.h, opts->path, true, opts->busy_timeout_ms, false);
  if (rc == STREAM_OK && !memory) {
    sqlite3_stmt *stmt;
    rc = store__sq_prepare(&st->writer, &stmt, "enable WAL", "PRAGMA journal_mode = WAL", "");
    if (rc == STREAM_OK) {
      char mode[16] = "";
      if (store__sq_step(&st->writer, stmt, "enable WAL") == 1)
        store__sq_col_copy(mode, sizeof mode, stmt, 0);
      store__sq_release(&st->writer, stmt);
      if (strcmp(mode, "wal") != 0)
        rc =
            stream__err(STREAM_EIO, "enable WAL: the database stayed in journal mode \"%s\"", mode);
    }
    if (rc == STREAM_OK)
      rc = exec_plain(st->writer.h,
                      opts->sync == STREAM_STORE_SYNC_NORMAL ? "PRAGMA synchronous = NORMAL"
                                                             : "PRAGMA synchronous = FULL",
                      "set synchronous");
  }
  if (rc == STREAM_OK)
    rc = migrate(st);
  if (rc == STREAM_OK && !memory) {
    st->readers = stream__calloc(opts->readers, sizeof *st->readers);
    st->reader_busy = stream__calloc(opts->readers, sizeof *st->reader_busy);
    if (!st->readers || !st->reader_busy)
      rc = STREAM_ENOMEM;
    for (unsigned int i = 0; rc == STREAM_OK && i < opts->readers; i++) {
      rc = open_conn(&st->readers[i].h, opts->path, false, opts->busy_timeout_ms, true);
      if (rc == STREAM_OK)
        st->nreaders++;
    }
  }
  if (rc != STREAM_OK) {
    sq_close(st);
    return rc;
  }
  *out_impl = st;
  return STREAM_OK;
}

static int sq_schema_version(void *impl, int *out)
{
  sq_store *st = impl;
  sq_conn *db = store__sq_racquire(st);
  int rc = read_version(db, out);
  store__sq_rrelease(st, db);
  return rc;
}

/* password_resets.c */
extern const struct stream_store_reset_ops store__sq_reset_ops;

const struct stream_store_backend store__sqlite_backend = {
    .name = "sqlite",
    .close = sq_close,
    .schema_version = sq_schema_version,
    .batch_begin = sq_batch_begin,
    .batch_end = sq_batch_end,
    .accounts = &store__sq_accounts_ops,
    .refresh = &store__sq_refresh_ops,
    .device = &store__sq_device_ops,
    .profiles = &store__sq_profiles_ops,
    .catalog = &store__sq_catalog_ops,
    .viewing = &store__sq_viewing_ops,
    .billing = &store__sq_billing_ops,
    .uploads = &store__sq_upload_ops,
    .jobs = &store__sq_job_ops,
    .leases = &store__sq_lease_ops,
    .events = &store__sq_event_ops,
    .recs = &store__sq_recs_ops,
    .resets = &store__sq_reset_ops,
    .reset_requests = &store__sq_reset_request_ops,
    .purge = store__sq_purge,
    .rates = &store__sq_rate_ops,
};
