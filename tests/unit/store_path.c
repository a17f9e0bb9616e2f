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

const char *test_store_path(char *buf, size_t cap, const char *sqlite_path)
{
  if (!test_store_is_pg())
    return sqlite_path;
#if !STREAM_HAVE_POSTGRES
  (void)buf;
  (void)cap;
  fprintf(stderr, "test_store_path: STREAM_TEST_PG is set but libstream has no PostgreSQL\n");
  abort();
#else
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
  char sql[128];
  snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
  PGresult *r = PQexec(c, sql);
  const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  if (PQresultStatus(r) != PGRES_COMMAND_OK && !(state && strcmp(state, "42P04") == 0))
    die("create database", PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
  snprintf(buf, cap, "postgresql:///%s%s", name, q);
  return buf;
#endif
}
