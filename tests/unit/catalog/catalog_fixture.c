/* See catalog_fixture.h. */
#include "catalog_fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../store_path.h"

const char *store_uri;
stream_store *st;
stream_catalog *cat;
int64_t clock_now = NOW;

static char tmpdir[256];
static char dbpath[300];
static char store_buf[512];

static int64_t test_clock(void *ud)
{
  (void)ud;
  return clock_now;
}

const char *msg(void)
{
  const stream_error *e = stream_error_last();
  return e ? e->message : "(no message)";
}

void catalog_fixture_setup(const char *name)
{
  const char *base = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/stream-%s-XXXXXX", base && *base ? base : "/tmp", name);
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  snprintf(dbpath, sizeof dbpath, "%s/store.db", tmpdir);
  store_uri = test_store_path(store_buf, sizeof store_buf, dbpath);
  clock_now = NOW;
  catalog_fixture_open();
}

void catalog_fixture_open(void)
{
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  o.path = store_uri;
  ck_assert_msg(stream_store_open(&st, &o) == STREAM_OK, "%s", msg());
  stream_catalog_options co = STREAM_CATALOG_OPTIONS_INIT;
  co.store = st;
  co.clock = test_clock;
  ck_assert_msg(stream_catalog_new(&cat, &co) == STREAM_OK, "%s", msg());
}

void catalog_fixture_close(void)
{
  stream_catalog_free(cat);
  cat = NULL;
  stream_store_close(st);
  st = NULL;
}

void catalog_fixture_teardown(void)
{
  catalog_fixture_close();
  const char *suffix[] = {"", "-wal", "-shm", "-journal"};
  char p[320];
  for (int i = 0; i < 4; i++) {
    snprintf(p, sizeof p, "%s%s", dbpath, suffix[i]);
    unlink(p);
  }
  rmdir(tmpdir);
}

void catalog_fixture_profiles(char adult[STREAM_STORE_ID_SIZE], char kid[STREAM_STORE_ID_SIZE])
{
  stream_store_account a;
  memset(&a, 0, sizeof a);
  strcpy(a.email, "viewer@example.com");
  ck_assert_msg(stream_store_account_create(&a, st, &a, NOW) == STREAM_OK, "%s", msg());
  stream_store_profile p;
  memset(&p, 0, sizeof p);
  strcpy(p.account_id, a.id);
  strcpy(p.name, "Grown-up");
  p.maturity_ceiling = 18;
  ck_assert_msg(stream_store_profile_create(&p, st, &p, NOW) == STREAM_OK, "%s", msg());
  strcpy(adult, p.id);
  memset(&p, 0, sizeof p);
  strcpy(p.account_id, a.id);
  strcpy(p.name, "Kid");
  p.kids = 1;
  p.maturity_ceiling = 18; /* the kids flag caps it at 7 */
  ck_assert_msg(stream_store_profile_create(&p, st, &p, NOW) == STREAM_OK, "%s", msg());
  strcpy(kid, p.id);
}
