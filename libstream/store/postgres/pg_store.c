/*
 * PostgreSQL backend: the connection pool, write transactions under the
 * writers' advisory lock, the write batch, parameters and results, error
 * mapping, and the schema (baseline on a fresh database). pg_internal.h
 * explains the model.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

/* The writers' lock: pg_advisory_xact_lock(PG_LOCK_CLASS, PG_LOCK_WRITERS). The class
 * spells "STRM"; the migration runs under PG_LOCK_SCHEMA so that daemons starting
 * together apply it once. */
/* Decimal: hexadecimal integer literals are PostgreSQL 16+ (0x5354524d). */
#define PG_LOCK_CLASS 1398035021
#define PG_LOCK_WRITERS 1
#define PG_LOCK_SCHEMA 2
#define PG_MAX_PARAMS 32
#define STR_(x) #x
#define STR(x) STR_(x)

/* ---- errors ------------------------------------------------------------- */

int store__pg_fail(pg_conn *db, const PGresult *res, const char *what)
{
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *msg = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  if (!msg || !*msg)
    msg = db && db->h ? PQerrorMessage(db->h) : "no connection";
  if (!state)
    state = "";
  if (strcmp(state, "23505") == 0)
    return stream__err(STREAM_EEXIST, "%s: already exists (%s)", what, msg);
  if (strcmp(state, "23503") == 0)
    return stream__err(STREAM_ENOTFOUND, "%s: a referenced row does not exist", what);
  if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
    return stream__err(STREAM_EINVAL, "%s: constraint failed (%s)", what, msg);
  /* A deadlock: PostgreSQL rolled this transaction back to break a cycle of row locks (a
   * write without the writers' lock against a locked one, pg_internal.h). Nothing was
   * written; the same call again normally succeeds. */
  if (strcmp(state, "40P01") == 0)
    return stream__err(STREAM_EBUSY,
                       "%s: deadlock with a concurrent write, rolled back; retry (%s)", what, msg);
  if (strcmp(state, "55P03") == 0 || strcmp(state, "57014") == 0 || strcmp(state, "40001") == 0)
    return stream__err(STREAM_EBUSY, "%s: the database is busy beyond the lock timeout (%s)", what,
                       msg);
  if (strcmp(state, "53200") == 0)
    return stream__err(STREAM_ENOMEM, "%s: out of memory in PostgreSQL", what);
  return stream__err(STREAM_EIO, "%s: PostgreSQL error %s (%s)", what, state[0] ? state : "-", msg);
}

/* ---- statements ----------------------------------------------------------- */

/* SQLite placeholders to PostgreSQL ones: `?` takes the next number, `?N` is $N;
 * quoted text and identifiers are copied as they are. *out is malloc'd. */
static int rewrite(char **out, const char *sql)
{
  size_t n = strlen(sql);
  char *o = malloc(n * 3 + 1); /* "?" -> "$NN" at most triples */
  if (!o)
    return stream__err(STREAM_ENOMEM, "out of memory preparing SQL");
  size_t k = 0;
  int next = 0;
  char quote = 0;
  for (size_t i = 0; i < n; i++) {
    char c = sql[i];
    if (quote) {
      o[k++] = c;
      if (c == quote)
        quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      o[k++] = c;
      continue;
    }
    if (c != '?') {
      o[k++] = c;
      continue;
    }
    int num;
    if (sql[i + 1] >= '0' && sql[i + 1] <= '9') {
      num = 0;
      while (sql[i + 1] >= '0' && sql[i + 1] <= '9')
        num = num * 10 + (sql[++i] - '0');
      if (num > next)
        next = num;
    } else {
      num = ++next;
    }
    k += (size_t)sprintf(o + k, "$%d", num);
  }
  o[k] = '\0';
  *out = o;
  return STREAM_OK;
}

typedef struct params {
  int n;
  Oid types[PG_MAX_PARAMS];
  const char *values[PG_MAX_PARAMS];
  char num[PG_MAX_PARAMS][32];
} params;

static int collect(params *p, const char *types, va_list ap)
{
  p->n = 0;
  for (int i = 0; types[i]; i++) {
    if (i >= PG_MAX_PARAMS)
      return stream__err(STREAM_EINTERNAL, "store: more than %d SQL parameters", PG_MAX_PARAMS);
    p->types[i] = 0;
    p->values[i] = NULL;
    switch (types[i]) {
    case 't':
      p->values[i] = va_arg(ap, const char *);
      break;
    case 'T': {
      const char *v = va_arg(ap, const char *);
      p->values[i] = v && v[0] ? v : NULL;
      break;
    }
    case 'i':
      p->types[i] = 23; /* int4 */
      snprintf(p->num[i], sizeof p->num[i], "%d", va_arg(ap, int));
      p->values[i] = p->num[i];
      break;
    case 'I':
    case 'Z': {
      int64_t v = va_arg(ap, int64_t);
      p->types[i] = 20; /* int8 */
      snprintf(p->num[i], sizeof p->num[i], "%lld", (long long)v);
      p->values[i] = types[i] == 'Z' && v == 0 ? NULL : p->num[i];
      break;
    }
    case 'd':
      p->types[i] = 701; /* float8 */
      snprintf(p->num[i], sizeof p->num[i], "%.17g", va_arg(ap, double));
      p->values[i] = p->num[i];
      break;
    default:
      return stream__err(STREAM_EINTERNAL, "store: unknown SQL parameter type '%c'", types[i]);
    }
    p->n = i + 1;
  }
  return STREAM_OK;
}

/* Run one statement; *out is the result (tuples or command OK) or NULL with the error set. */
static int run_va(pg_conn *db, PGresult **out, const char *what, const char *sql, const char *types,
                  va_list ap)
{
  *out = NULL;
  params p;
  PG_TRY(collect(&p, types, ap));
  char *q = NULL;
  PG_TRY(rewrite(&q, sql));
  PGresult *res = PQexecParams(db->h, q, p.n, p.types, p.values, NULL, NULL, 0);
  free(q);
  ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
    int rc = store__pg_fail(db, res, what);
    PQclear(res);
    return rc;
  }
  *out = res;
  return STREAM_OK;
}

int store__pg_prepare(pg_conn *db, pg_stmt **stmt, const char *what, const char *sql,
                      const char *types, ...)
{
  *stmt = NULL;
  pg_stmt *st = calloc(1, sizeof *st);
  if (!st)
    return stream__err(STREAM_ENOMEM, "%s: out of memory", what);
  va_list ap;
  va_start(ap, types);
  int rc = run_va(db, &st->res, what, sql, types, ap);
  va_end(ap);
  if (rc != STREAM_OK) {
    free(st);
    return rc;
  }
  st->row = -1;
  st->nrows = PQntuples(st->res);
  *stmt = st;
  return STREAM_OK;
}

int store__pg_step(pg_conn *db, pg_stmt *stmt, const char *what)
{
  (void)db;
  (void)what;
  if (stmt->row + 1 >= stmt->nrows) {
    stmt->row = stmt->nrows;
    return 0;
  }
  stmt->row++;
  return 1;
}

void store__pg_release(pg_conn *db, pg_stmt *stmt)
{
  (void)db;
  if (!stmt)
    return;
  PQclear(stmt->res);
  free(stmt);
}

static int exec_va(pg_conn *db, const char *what, int *changes, const char *sql, const char *types,
                   va_list ap)
{
  PGresult *res;
  PG_TRY(run_va(db, &res, what, sql, types, ap));
  if (changes) {
    const char *n = PQcmdTuples(res);
    *changes = n && *n ? atoi(n) : 0;
  }
  PQclear(res);
  return STREAM_OK;
}

int store__pg_exec(pg_conn *db, const char *what, int *changes, const char *sql, const char *types,
                   ...)
{
  va_list ap;
  va_start(ap, types);
  int rc = exec_va(db, what, changes, sql, types, ap);
  va_end(ap);
  return rc;
}

int store__pg_exec_plain(pg_conn *db, const char *what, const char *sql)
{
  PGresult *res = PQexec(db->h, sql);
  ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  int rc = STREAM_OK;
  if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK)
    rc = store__pg_fail(db, res, what);
  PQclear(res);
  return rc;
}

/* Parameterless SQL whose failure is not reported (rollbacks on the way out). */
static void exec_quiet(pg_conn *db, const char *sql)
{
  PQclear(PQexec(db->h, sql));
}

int store__pg_try_exec(pg_conn *db, const char *what, int *changes, const char *sql,
                       const char *types, ...)
{
  char sp[48] = "";
  if (db->in_txn) {
    snprintf(sp, sizeof sp, "stream_try_%u", ++db->sp_seq);
    char q[80];
    snprintf(q, sizeof q, "SAVEPOINT %s", sp);
    PG_TRY(store__pg_exec_plain(db, what, q));
  }
  va_list ap;
  va_start(ap, types);
  int rc = exec_va(db, what, changes, sql, types, ap);
  va_end(ap);
  if (sp[0]) {
    char q[120];
    if (rc == STREAM_OK) {
      snprintf(q, sizeof q, "RELEASE SAVEPOINT %s", sp);
      int e = store__pg_exec_plain(db, what, q);
      if (e != STREAM_OK)
        rc = e;
    } else {
      snprintf(q, sizeof q, "ROLLBACK TO SAVEPOINT %s; RELEASE SAVEPOINT %s", sp, sp);
      exec_quiet(db, q);
    }
  }
  return rc;
}

/* ---- columns ---------------------------------------------------------------- */

static const char *col(const pg_stmt *st, int c)
{
  if (st->row < 0 || st->row >= st->nrows || PQgetisnull(st->res, st->row, c))
    return NULL;
  return PQgetvalue(st->res, st->row, c);
}

void store__pg_col_copy(char *dst, size_t cap, const pg_stmt *stmt, int c)
{
  const char *v = col(stmt, c);
  if (cap)
    snprintf(dst, cap, "%s", v ? v : "");
}

int store__pg_col_dup(char **out, const pg_stmt *stmt, int c)
{
  const char *v = col(stmt, c);
  *out = NULL;
  if (!v)
    return STREAM_OK;
  *out = stream__strdup(v);
  return *out ? STREAM_OK : stream__err(STREAM_ENOMEM, "out of memory copying a column");
}

int64_t store__pg_col_i64(const pg_stmt *stmt, int c)
{
  const char *v = col(stmt, c);
  if (!v)
    return 0;
  if (strcmp(v, "t") == 0)
    return 1;
  if (strcmp(v, "f") == 0)
    return 0;
  return (int64_t)strtoll(v, NULL, 10);
}

int store__pg_col_int(const pg_stmt *stmt, int c)
{
  return (int)store__pg_col_i64(stmt, c);
}

double store__pg_col_double(const pg_stmt *stmt, int c)
{
  const char *v = col(stmt, c);
  return v ? strtod(v, NULL) : 0.0;
}

bool store__pg_col_null(const pg_stmt *stmt, int c)
{
  return col(stmt, c) == NULL;
}

/* ---- the pool ---------------------------------------------------------------- */

/* What libpq leaves to the kernel when the URI does not say: without these a server that
 * accepts the TCP connection and never answers, or a path that drops packets, blocks the
 * caller (store open, a request thread, the jobs keeper) for as long as TCP retries, that is
 * for ever while the peer's kernel still acknowledges. They come before the URI in
 * connect_one's arrays, so the URI (or, for connect_timeout, PGCONNECT_TIMEOUT) wins.
 * - connect_timeout 10 s: the whole of each connection attempt (TCP, TLS, authentication)
 *   per host address; a healthy server answers in milliseconds, a loaded one well within.
 * - keepalives after 30 s idle, every 10 s, 3 unanswered: a server or path that vanished
 *   under an idle connection, or under one waiting for a long query's result, is noticed
 *   within about a minute; a live server's kernel answers the probes however long the
 *   query runs, so no query is cut short.
 * - tcp_user_timeout 30 s: sent data unacknowledged that long (the path died while a
 *   request was in flight, where keepalives do not probe) ends the connection.
 * Unix-socket connections ignore the keepalive and TCP settings. A server that
 * acknowledges but never answers a query is not covered: that is lock_timeout's and the
 * server's business. store.h and docs/api/store.md list them. */
static const char *const pg_default_keys[] = {"connect_timeout",  "keepalives",
                                              "keepalives_idle",  "keepalives_interval",
                                              "keepalives_count", "tcp_user_timeout"};
static const char *const pg_default_values[] = {"10", "1", "30", "10", "3", "30000"};
#define PG_NDEFAULTS (sizeof pg_default_keys / sizeof pg_default_keys[0])

/* The connect_timeout a failed connection had (its effective options), for the message:
 * "" when there is none. */
static void effective_connect_timeout(char *out, size_t cap, PGconn *h)
{
  out[0] = '\0';
  PQconninfoOption *opts = PQconninfo(h);
  for (PQconninfoOption *o = opts; o && o->keyword; o++)
    if (strcmp(o->keyword, "connect_timeout") == 0 && o->val && *o->val)
      snprintf(out, cap, "%s", o->val);
  PQconninfoFree(opts);
}

static int connect_one(pg_store *st, pg_conn *c)
{
  if (c->h)
    PQfinish(c->h);
  const char *keys[PG_NDEFAULTS + 2], *values[PG_NDEFAULTS + 2];
  /* The environment is libpq's default too: an operator's PGCONNECT_TIMEOUT is kept. */
  const char *env_timeout = getenv("PGCONNECT_TIMEOUT");
  size_t n = 0;
  for (size_t i = 0; i < PG_NDEFAULTS; i++) {
    if (strcmp(pg_default_keys[i], "connect_timeout") == 0 && env_timeout && *env_timeout)
      continue;
    keys[n] = pg_default_keys[i];
    values[n++] = pg_default_values[i];
  }
  /* expand_dbname: the URI's own parameters come after the defaults, and win. */
  keys[n] = "dbname";
  values[n++] = st->conninfo;
  keys[n] = NULL;
  values[n] = NULL;
  c->h = PQconnectdbParams(keys, values, 1);
  if (!c->h)
    return stream__err(STREAM_ENOMEM, "connect to PostgreSQL: out of memory");
  if (PQstatus(c->h) != CONNECTION_OK) {
    /* libpq's message names host and reason, never the password (store__pg_check_uri
     * refused a URI libpq cannot parse, and one whose password spills into the host). */
    char msg[512], timeout[16];
    snprintf(msg, sizeof msg, "%s", PQerrorMessage(c->h));
    size_t len = strlen(msg);
    while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
      msg[--len] = '\0';
    effective_connect_timeout(timeout, sizeof timeout, c->h);
    PQfinish(c->h);
    c->h = NULL;
    if (strstr(msg, "timeout expired") && timeout[0])
      return stream__err(STREAM_EIO, "connect to PostgreSQL: %s (connect_timeout %s s)", msg,
                         timeout);
    return stream__err(STREAM_EIO, "connect to PostgreSQL: %s", msg);
  }
  char set[256];
  snprintf(set, sizeof set,
           "SET lock_timeout = %u; SET synchronous_commit = %s; SET client_min_messages = warning;"
           " SET TIME ZONE 'UTC'",
           st->lock_timeout_ms ? st->lock_timeout_ms : 1, st->sync_normal ? "off" : "on");
  return store__pg_exec_plain(c, "configure the connection", set);
}

static pg_conn *checkout(pg_store *st)
{
  pthread_mutex_lock(&st->plock);
  for (;;) {
    for (unsigned int i = 0; i < st->nconns; i++) {
      if (!st->busy[i]) {
        st->busy[i] = true;
        pthread_mutex_unlock(&st->plock);
        pg_conn *c = &st->conns[i];
        /* A connection the server dropped (restart, idle timeout) is made again; if that
         * fails the statements fail with the reason. */
        if (!c->h || PQstatus(c->h) != CONNECTION_OK)
          connect_one(st, c);
        return c;
      }
    }
    pthread_cond_wait(&st->pcond, &st->plock);
  }
}

static void checkin(pg_store *st, pg_conn *c)
{
  pthread_mutex_lock(&st->plock);
  st->busy[c - st->conns] = false;
  pthread_cond_signal(&st->pcond);
  pthread_mutex_unlock(&st->plock);
}

/* ---- write batch --------------------------------------------------------------- */

static _Thread_local pg_store *tl_batch;

static bool in_batch(const pg_store *st)
{
  for (const pg_store *p = tl_batch; p; p = p->batch_prev)
    if (p == st)
      return true;
  return false;
}

static int sp_begin(pg_store *st)
{
  PG_TRY(store__pg_exec_plain(st->batch_conn, "open savepoint", "SAVEPOINT stream_batch"));
  st->batch_depth++;
  return STREAM_OK;
}

static int sp_end(pg_store *st, int rc)
{
  pg_conn *db = st->batch_conn;
  st->batch_depth--;
  if (rc == STREAM_OK) {
    rc = store__pg_exec_plain(db, "release savepoint", "RELEASE SAVEPOINT stream_batch");
    if (rc == STREAM_OK)
      return STREAM_OK;
  }
  exec_quiet(db, "ROLLBACK TO SAVEPOINT stream_batch; RELEASE SAVEPOINT stream_batch");
  return rc;
}

/* BEGIN and the writers' lock on a checked-out connection. */
static int begin_write(pg_conn *db, const char *what)
{
  int rc = store__pg_exec_plain(
      db, what,
      "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT "
      "pg_advisory_xact_lock(" STR(PG_LOCK_CLASS) ", " STR(PG_LOCK_WRITERS) ")");
  if (rc != STREAM_OK) {
    exec_quiet(db, "ROLLBACK");
    return rc;
  }
  db->in_txn = true;
  return STREAM_OK;
}

static int end_write(pg_conn *db, int rc, const char *what)
{
  if (rc == STREAM_OK) {
    rc = store__pg_exec_plain(db, what, "COMMIT");
    if (rc != STREAM_OK)
      exec_quiet(db, "ROLLBACK");
  } else {
    exec_quiet(db, "ROLLBACK"); /* keep the failure's message */
  }
  db->in_txn = false;
  return rc;
}

static int pg_batch_begin(void *impl)
{
  pg_store *st = impl;
  if (in_batch(st))
    return sp_begin(st);
  /* Another thread's batch on this store ends (and clears the batch_* fields)
   * before this one sets them. */
  pthread_mutex_lock(&st->block);
  pg_conn *db = checkout(st);
  int rc = begin_write(db, "begin write batch");
  if (rc != STREAM_OK) {
    checkin(st, db);
    pthread_mutex_unlock(&st->block);
    return rc;
  }
  db->batch = true;
  st->batch_conn = db;
  st->batch_depth = 1;
  st->batch_prev = tl_batch;
  tl_batch = st;
  return STREAM_OK;
}

static int pg_batch_end(void *impl, int rc)
{
  pg_store *st = impl;
  if (!in_batch(st))
    return rc != STREAM_OK
               ? rc
               : stream__err(STREAM_EINVAL, "write batch end without a begin on this thread");
  if (st->batch_depth > 1)
    return sp_end(st, rc);
  pg_conn *db = st->batch_conn;
  rc = end_write(db, rc, "commit write batch");
  db->batch = false;
  st->batch_conn = NULL;
  st->batch_depth = 0;
  for (pg_store **p = &tl_batch; *p; p = &(*p)->batch_prev) {
    if (*p == st) {
      *p = st->batch_prev;
      break;
    }
  }
  st->batch_prev = NULL;
  checkin(st, db);
  pthread_mutex_unlock(&st->block);
  return rc;
}

/* ---- single calls --------------------------------------------------------------- */

int store__pg_wbegin(pg_store *st, pg_conn **db)
{
  if (tl_batch && in_batch(st)) {
    PG_TRY(sp_begin(st));
    *db = st->batch_conn;
    return STREAM_OK;
  }
  pg_conn *c = checkout(st);
  int rc = begin_write(c, "begin write transaction");
  if (rc != STREAM_OK) {
    checkin(st, c);
    return rc;
  }
  *db = c;
  return STREAM_OK;
}

/* No advisory lock: BEGIN READ COMMITTED only (pg_internal.h says which writes may). In this
 * thread's batch, a savepoint as store__pg_wbegin: the batch's transaction holds the lock. */
int store__pg_wbegin_unlocked(pg_store *st, pg_conn **db)
{
  if (tl_batch && in_batch(st)) {
    PG_TRY(sp_begin(st));
    *db = st->batch_conn;
    return STREAM_OK;
  }
  pg_conn *c = checkout(st);
  int rc =
      store__pg_exec_plain(c, "begin write transaction", "BEGIN ISOLATION LEVEL READ COMMITTED");
  if (rc != STREAM_OK) {
    exec_quiet(c, "ROLLBACK");
    checkin(st, c);
    return rc;
  }
  c->in_txn = true;
  *db = c;
  return STREAM_OK;
}

int store__pg_wend(pg_store *st, pg_conn *db, int rc)
{
  if (db->batch)
    return sp_end(st, rc);
  rc = end_write(db, rc, "commit");
  checkin(st, db);
  return rc;
}

pg_conn *store__pg_racquire(pg_store *st)
{
  if (tl_batch && in_batch(st))
    return st->batch_conn;
  return checkout(st);
}

void store__pg_rrelease(pg_store *st, pg_conn *db)
{
  if (db->batch)
    return;
  checkin(st, db);
}

int store__pg_rbegin(pg_conn *db)
{
  if (db->batch)
    return STREAM_OK;
  return store__pg_exec_plain(db, "begin read transaction",
                              "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

void store__pg_rend(pg_conn *db)
{
  if (db->batch)
    return;
  exec_quiet(db, "COMMIT");
}

/* ---- schema ------------------------------------------------------------------------ */

static int read_version(pg_conn *db, int *out)
{
  pg_stmt *s;
  *out = 0;
  PG_TRY(store__pg_prepare(db, &s, "read schema version",
                           "SELECT coalesce(max(version), 0) FROM schema_version", ""));
  if (store__pg_step(db, s, "read schema version") == 1)
    *out = store__pg_col_int(s, 0);
  store__pg_release(db, s);
  return STREAM_OK;
}

/* Run one list of schema statements; a failure names the statement. */
static int apply_schema(pg_conn *db, const char *const *list, const char *what)
{
  int rc = STREAM_OK;
  for (const char *const *sql = list; rc == STREAM_OK && *sql; sql++)
    if ((rc = store__pg_exec_plain(db, what, *sql)) != STREAM_OK) {
      /* The message is formatted from a copy: stream__err writes the buffer it reads. */
      char cause[512];
      snprintf(cause, sizeof cause, "%s", stream_error_last()->message);
      stream__err(rc, "%s failed at \"%.80s\": %s", what, *sql, cause);
    }
  return rc;
}

static int record_version(pg_conn *db, int v)
{
  return store__pg_exec(db, "record migration", NULL,
                        "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", "iI", v,
                        stream__now());
}

/* On a fresh database: the baseline schema, recorded as versions 1..STORE__PG_BASELINE
 * (the SQLite dialect's history up to it has no PostgreSQL past); then, on a fresh
 * database or one at an older version, the migrations after the baseline it lacks, each
 * recorded. Under the schema lock, so that daemons starting together apply it once. */
static int migrate(pg_store *st)
{
  const int latest = STORE__PG_BASELINE + store__pg_migration_count;
  pg_conn *db = checkout(st);
  int rc = store__pg_exec_plain(
      db, "lock the schema",
      "BEGIN; SELECT pg_advisory_xact_lock(" STR(PG_LOCK_CLASS) ", " STR(PG_LOCK_SCHEMA) ")");
  db->in_txn = rc == STREAM_OK;
  if (rc == STREAM_OK)
    rc = store__pg_exec_plain(db, "create schema_version",
                              "CREATE TABLE IF NOT EXISTS schema_version ("
                              " version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)");
  int have = 0;
  if (rc == STREAM_OK)
    rc = read_version(db, &have);
  if (rc == STREAM_OK && have > latest)
    rc = stream__err(STREAM_ENOTSUP,
                     "database schema version %d is newer than this libstream supports (%d); "
                     "upgrade libstream",
                     have, latest);
  if (rc == STREAM_OK && have == 0) {
    for (int f = 0; rc == STREAM_OK && f < store__pg_baseline_count; f++)
      rc = apply_schema(db, store__pg_baseline[f], "applying the PostgreSQL schema");
    for (int v = 1; rc == STREAM_OK && v <= STORE__PG_BASELINE; v++)
      rc = record_version(db, v);
    have = STORE__PG_BASELINE;
  } else if (rc == STREAM_OK && have < STORE__PG_BASELINE) {
    rc = stream__err(STREAM_ENOTSUP,
                     "database schema version %d: a PostgreSQL store starts at version %d", have,
                     STORE__PG_BASELINE);
  }
  for (int v = have + 1; rc == STREAM_OK && v <= latest; v++) {
    char what[64];
    snprintf(what, sizeof what, "PostgreSQL migration %d", v);
    rc = apply_schema(db, store__pg_migrations[v - STORE__PG_BASELINE - 1], what);
    if (rc == STREAM_OK)
      rc = record_version(db, v);
  }
  rc = end_write(db, rc, "commit the schema");
  checkin(st, db);
  return rc;
}

/* One warning per open for each deferred index (pg_internal.h) that is not there, or that a
 * failed CREATE INDEX CONCURRENTLY left invalid. No error: the store works without them. */
static void warn_deferred_indexes(pg_store *st)
{
  const char *what = "check the deferred indexes";
  pg_conn *db = checkout(st);
  for (int i = 0; i < store__pg_deferred_index_count; i++) {
    const store__pg_deferred_index *x = &store__pg_deferred_indexes[i];
    pg_stmt *s;
    /* 1 valid, 0 invalid, -1 none */
    if (store__pg_prepare(
            db, &s, what,
            "SELECT coalesce((SELECT indisvalid::int FROM pg_index WHERE indexrelid = "
            "to_regclass(?::text)), -1)",
            "t", x->name) != STREAM_OK)
      continue;
    int state = store__pg_step(db, s, what) == 1 ? store__pg_col_int(s, 0) : 1;
    store__pg_release(db, s);
    if (state == 0)
      stream__log(STREAM_LOG_WARN, "store",
                  "PostgreSQL: index %s is invalid (a concurrent build failed): the store works "
                  "without it, slower; run DROP INDEX CONCURRENTLY %s; then %s",
                  x->name, x->name, x->sql);
    else if (state < 0)
      stream__log(STREAM_LOG_WARN, "store",
                  "PostgreSQL: index %s is missing (its migration builds it only on a small "
                  "table, since the build would hold up every write): the store works without "
                  "it, slower; build it without blocking writes: %s",
                  x->name, x->sql);
  }
  checkin(st, db);
}

/* ---- open / close ------------------------------------------------------------------ */

static void pg_close(void *impl)
{
  pg_store *st = impl;
  if (!st)
    return;
  for (unsigned int i = 0; i < st->nconns; i++)
    if (st->conns[i].h)
      PQfinish(st->conns[i].h);
  free(st->conns);
  free(st->busy);
  free(st->conninfo);
  pthread_mutex_destroy(&st->plock);
  pthread_mutex_destroy(&st->block);
  pthread_cond_destroy(&st->pcond);
  free(st);
}

int store__pg_open(void **out_impl, const stream_store_options *opts)
{
  if (!PQisthreadsafe())
    return stream__err(STREAM_ENOTSUP, "the linked libpq was built without thread support");
  pg_store *st = stream__calloc(1, sizeof *st);
  if (!st)
    return STREAM_ENOMEM;
  pthread_mutex_init(&st->plock, NULL);
  pthread_mutex_init(&st->block, NULL);
  pthread_cond_init(&st->pcond, NULL);
  st->conninfo = stream__strdup(opts->path);
  st->lock_timeout_ms = opts->busy_timeout_ms;
  st->sync_normal = opts->sync == STREAM_STORE_SYNC_NORMAL;
  st->nconns = opts->readers + 1;
  st->conns = stream__calloc(st->nconns, sizeof *st->conns);
  st->busy = stream__calloc(st->nconns, sizeof *st->busy);
  int rc = st->conninfo && st->conns && st->busy ? STREAM_OK : STREAM_ENOMEM;
  if (rc == STREAM_OK)
    rc = store__pg_check_uri(st->conninfo);
  for (unsigned int i = 0; rc == STREAM_OK && i < st->nconns; i++)
    rc = connect_one(st, &st->conns[i]);
  if (rc == STREAM_OK)
    rc = migrate(st);
  if (rc != STREAM_OK) {
    pg_close(st);
    return rc;
  }
  warn_deferred_indexes(st);
  *out_impl = st;
  return STREAM_OK;
}

static int pg_schema_version(void *impl, int *out)
{
  pg_store *st = impl;
  pg_conn *db = store__pg_racquire(st);
  int rc = read_version(db, out);
  store__pg_rrelease(st, db);
  return rc;
}

const struct stream_store_backend store__pg_backend = {
    .name = "postgres",
    .close = pg_close,
    .schema_version = pg_schema_version,
    .batch_begin = pg_batch_begin,
    .batch_end = pg_batch_end,
    .accounts = &store__pg_accounts_ops,
    .refresh = &store__pg_refresh_ops,
    .device = &store__pg_device_ops,
    .profiles = &store__pg_profiles_ops,
    .catalog = &store__pg_catalog_ops,
    .viewing = &store__pg_viewing_ops,
    .billing = &store__pg_billing_ops,
    .uploads = &store__pg_upload_ops,
    .jobs = &store__pg_job_ops,
    .leases = &store__pg_lease_ops,
    .events = &store__pg_event_ops,
    .recs = &store__pg_recs_ops,
    .resets = &store__pg_reset_ops,
    .reset_requests = &store__pg_reset_request_ops,
    .purge = store__pg_purge,
    .rates = &store__pg_rate_ops,
};
