/* See store_raw.h. */
#include "store_raw.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_path.h"
#include "stream/features.h"

#if STREAM_HAVE_POSTGRES
#include <libpq-fe.h>
#endif

static void die(const char *sql, const char *msg)
{
  fprintf(stderr, "test_store_raw_exec: %.200s: %s\n", sql, msg);
  abort();
}

static bool is_uri(const char *path)
{
  return strncmp(path, "postgres://", 11) == 0 || strncmp(path, "postgresql://", 13) == 0;
}

/* The store `path` names: itself when it is already a PostgreSQL URI, else test_store_path(). */
static bool on_pg(char *buf, size_t cap, const char **path)
{
  if (is_uri(*path))
    return true;
  if (!test_store_is_pg())
    return false;
  *path = test_store_path(buf, cap, *path);
  return true;
}

int64_t test_store_raw_exec(const char *sqlite_path, const char *sql)
{
  char uri[512];
  if (on_pg(uri, sizeof uri, &sqlite_path)) {
#if STREAM_HAVE_POSTGRES
    PGconn *c = PQconnectdb(sqlite_path);
    if (PQstatus(c) != CONNECTION_OK)
      die(sql, PQerrorMessage(c));
    PGresult *r = PQexec(c, sql); /* several statements: the last one's result */
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
      die(sql, PQerrorMessage(c));
    int64_t n = strtoll(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    PQfinish(c);
    return n;
#else
    die(sql, "a PostgreSQL store, but libstream has no PostgreSQL");
#endif
  }
  sqlite3 *db = NULL;
  if (sqlite3_open(sqlite_path, &db) != SQLITE_OK)
    die(sql, db ? sqlite3_errmsg(db) : "out of memory");
  sqlite3_busy_timeout(db, 5000);
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
    die(sql, err ? err : sqlite3_errmsg(db));
  int64_t n = sqlite3_changes(db);
  sqlite3_close(db);
  return n;
}

/* The first column of the first row of `sql` into out[cap]; *is_null for SQL NULL. */
static void raw_first(char *out, size_t cap, bool *is_null, const char *sqlite_path,
                      const char *sql, const char *arg)
{
  *is_null = false;
  char uri[512];
  if (on_pg(uri, sizeof uri, &sqlite_path)) {
#if STREAM_HAVE_POSTGRES
    /* "?" (outside quotes) is the one parameter, $1. */
    size_t n = strlen(sql);
    char *q = malloc(n * 2 + 1);
    if (!q)
      die(sql, "out of memory");
    size_t k = 0;
    char quote = 0;
    for (size_t i = 0; i < n; i++) {
      char c = sql[i];
      if (quote && c == quote)
        quote = 0;
      else if (!quote && (c == '\'' || c == '"'))
        quote = c;
      if (!quote && c == '?') {
        q[k++] = '$';
        q[k++] = '1';
      } else {
        q[k++] = c;
      }
    }
    q[k] = '\0';
    PGconn *c = PQconnectdb(sqlite_path);
    if (PQstatus(c) != CONNECTION_OK)
      die(sql, PQerrorMessage(c));
    const char *values[1] = {arg};
    PGresult *r = PQexecParams(c, q, arg ? 1 : 0, NULL, values, NULL, NULL, 0);
    free(q);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
      die(sql, PQerrorMessage(c));
    if (PQntuples(r) < 1)
      die(sql, "no row");
    *is_null = PQgetisnull(r, 0, 0);
    snprintf(out, cap, "%s", *is_null ? "" : PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return;
#else
    die(sql, "a PostgreSQL store, but libstream has no PostgreSQL");
#endif
  }
  sqlite3 *db = NULL;
  if (sqlite3_open(sqlite_path, &db) != SQLITE_OK)
    die(sql, db ? sqlite3_errmsg(db) : "out of memory");
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    die(sql, sqlite3_errmsg(db));
  for (int i = 1; arg && i <= sqlite3_bind_parameter_count(st); i++)
    sqlite3_bind_text(st, i, arg, -1, SQLITE_TRANSIENT);
  if (sqlite3_step(st) != SQLITE_ROW)
    die(sql, "no row");
  const unsigned char *t = sqlite3_column_text(st, 0);
  *is_null = t == NULL;
  snprintf(out, cap, "%s", t ? (const char *)t : "");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

int64_t test_store_raw_int(const char *sqlite_path, const char *sql, const char *arg)
{
  char v[64];
  bool is_null;
  raw_first(v, sizeof v, &is_null, sqlite_path, sql, arg);
  /* PostgreSQL's booleans read as integers, as SQLite's comparisons do */
  if (strcmp(v, "t") == 0)
    return 1;
  return is_null || strcmp(v, "f") == 0 ? 0 : strtoll(v, NULL, 10);
}

void test_store_raw_text(char *out, size_t cap, const char *sqlite_path, const char *sql,
                         const char *arg)
{
  bool is_null;
  raw_first(out, cap, &is_null, sqlite_path, sql, arg);
}

struct test_store_raw_conn {
  sqlite3 *db;
#if STREAM_HAVE_POSTGRES
  PGconn *pg;
#endif
};

test_store_raw_conn *test_store_raw_open(const char *sqlite_path, const char *sql)
{
  test_store_raw_conn *c = calloc(1, sizeof *c);
  if (!c)
    die(sql, "out of memory");
  char uri[512];
  if (on_pg(uri, sizeof uri, &sqlite_path)) {
#if STREAM_HAVE_POSTGRES
    c->pg = PQconnectdb(sqlite_path);
    if (PQstatus(c->pg) != CONNECTION_OK)
      die(sql, PQerrorMessage(c->pg));
    PGresult *r = PQexec(c->pg, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
      die(sql, PQerrorMessage(c->pg));
    PQclear(r);
    return c;
#else
    die(sql, "a PostgreSQL store, but libstream has no PostgreSQL");
#endif
  }
  if (sqlite3_open(sqlite_path, &c->db) != SQLITE_OK)
    die(sql, c->db ? sqlite3_errmsg(c->db) : "out of memory");
  sqlite3_busy_timeout(c->db, 5000);
  char *err = NULL;
  if (sqlite3_exec(c->db, sql, NULL, NULL, &err) != SQLITE_OK)
    die(sql, err ? err : sqlite3_errmsg(c->db));
  return c;
}

void test_store_raw_close(test_store_raw_conn *c)
{
  if (!c)
    return;
#if STREAM_HAVE_POSTGRES
  if (c->pg) {
    PQclear(PQexec(c->pg, "ROLLBACK"));
    PQfinish(c->pg);
  }
#endif
  if (c->db) {
    sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(c->db);
  }
  free(c);
}
