/* See store_path.h. */
#include "store_path.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream/features.h"

#if STREAM_HAVE_POSTGRES
#include <libpq-fe.h>

#include "stream/store.h"
#endif

bool test_store_is_pg(void)
{
  const char *pg = getenv("STREAM_TEST_PG");
  return pg && *pg;
}

#if STREAM_HAVE_POSTGRES
static uint64_t fnv(const char *s)
{
  uint64_t h = 1469598103934665603ULL;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

static void die(const char *what, const char *detail)
{
  fprintf(stderr, "test_store_path: %s: %s\n", what, detail);
  abort();
}
#endif

#if STREAM_HAVE_POSTGRES
static void exec_ok(PGconn *c, const char *sql, const char *what)
{
  PGresult *r = PQexec(c, sql);
  ExecStatusType st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    die(what, PQerrorMessage(c));
  PQclear(r);
}

/* The schema version this libstream creates (the SQLite dialect's: the dialects move together,
 * test_store_pg's test_schema_once checks it). */
static int latest_schema_version(void)
{
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  o.path = ":memory:";
  stream_store *s = NULL;
  int v = 0;
  if (stream_store_open(&s, &o) != STREAM_OK || stream_store_schema_version(&v, s) != STREAM_OK)
    die("schema version", stream_error_last()->message);
  stream_store_close(s);
  return v;
}

/* The database every test database is copied from: one the store itself migrated to this
 * libstream's schema, built once per server by the first test that needs it (under an advisory
 * lock of the base database; built under a name of its own and renamed when complete, so a test
 * killed while building leaves no half template). Measured on the 37 -pg suites (pg_run.sh on
 * tmpfs, FILE_COPY): the server's backends spent 292 s of CPU migrating every database, 192 s
 * copying this one (328 s with neither). */
static const char *template_db(PGconn *c, const char *query)
{
  static char name[64];
  if (name[0])
    return name;
  char want[64];
  snprintf(want, sizeof want, "stream_tpl_v%d", latest_schema_version());
  /* No notice for the DROP DATABASE IF EXISTS below. */
  exec_ok(c, "SET client_min_messages = warning", "template session");
  exec_ok(c, "SELECT pg_advisory_lock(29301, 1)", "template lock");
  const char *params[1] = {want};
  PGresult *r = PQexecParams(c, "SELECT 1 FROM pg_database WHERE datname = $1", 1, NULL, params,
                             NULL, NULL, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK)
    die("template lookup", PQerrorMessage(c));
  bool exists = PQntuples(r) == 1;
  PQclear(r);
  if (!exists) {
    char tmp[64], sql[256], uri[1024];
    snprintf(tmp, sizeof tmp, "stream_tplb_%ld", (long)getpid());
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", tmp);
    exec_ok(c, sql, "template build");
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", tmp);
    exec_ok(c, sql, "template build");
    snprintf(uri, sizeof uri, "postgresql:///%s%s", tmp, query);
    stream_store_options o = STREAM_STORE_OPTIONS_INIT;
    o.path = uri;
    stream_store *s = NULL;
    if (stream_store_open(&s, &o) != STREAM_OK)
      die("template migration", stream_error_last()->message);
    stream_store_close(s);
    snprintf(sql, sizeof sql, "ALTER DATABASE %s RENAME TO %s", tmp, want);
    exec_ok(c, sql, "template rename");
  }
  exec_ok(c, "SELECT pg_advisory_unlock(29301, 1)", "template unlock");
  snprintf(name, sizeof name, "%s", want);
  return name;
}

static const char *pg_path(char *buf, size_t cap, const char *sqlite_path, bool fresh)
{
  static unsigned int memory_seq;
  const char *base = getenv("STREAM_TEST_PG"); /* postgresql:///DB?QUERY */
  const char *q = strchr(base, '?');
  if (strncmp(base, "postgresql:///", 14) != 0 || !q)
    die("unexpected STREAM_TEST_PG", base);
  char name[64];
  if (strcmp(sqlite_path, ":memory:") == 0)
    snprintf(name, sizeof name, "m_%ld_%u", (long)getpid(), ++memory_seq);
  else
    snprintf(name, sizeof name, "t_%016llx", (unsigned long long)fnv(sqlite_path));
  PGconn *c = PQconnectdb(base);
  if (PQstatus(c) != CONNECTION_OK)
    die("connect", PQerrorMessage(c));
  /* PostgreSQL 15's default strategy writes the whole copy to the WAL; copying the files costs
   * the server less than half the CPU on tmpfs (pg_run.sh's server is a throwaway, fsync off). */
  char sql[192];
  snprintf(sql, sizeof sql, "CREATE DATABASE %s TEMPLATE %s%s", name,
           fresh ? "template1" : template_db(c, q),
           PQserverVersion(c) >= 150000 ? " STRATEGY FILE_COPY" : "");
  PGresult *r = PQexec(c, sql);
  const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  if (PQresultStatus(r) != PGRES_COMMAND_OK && !(state && strcmp(state, "42P04") == 0))
    die("create database", PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
  snprintf(buf, cap, "postgresql:///%s%s", name, q);
  return buf;
}
#endif

static const char *store_path(char *buf, size_t cap, const char *sqlite_path, bool fresh)
{
  if (!test_store_is_pg())
    return sqlite_path;
#if !STREAM_HAVE_POSTGRES
  (void)buf;
  (void)cap;
  (void)fresh;
  fprintf(stderr, "test_store_path: STREAM_TEST_PG is set but libstream has no PostgreSQL\n");
  abort();
#else
  return pg_path(buf, cap, sqlite_path, fresh);
#endif
}

const char *test_store_path(char *buf, size_t cap, const char *sqlite_path)
{
  return store_path(buf, cap, sqlite_path, false);
}

const char *test_store_path_fresh(char *buf, size_t cap, const char *sqlite_path)
{
  return store_path(buf, cap, sqlite_path, true);
}
