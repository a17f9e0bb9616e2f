/* The emitter spool tests' shared fixture: spool_fixture.h. */
#include "spool_fixture.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/emitter_internal.h"
#include "client/spool.h"

#define ACKED_MAX 256

char spool_fixture_path[300];
static char tmpdir[256];

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char acked[ACKED_MAX][STREAM_EVENTS_UUID_LEN + 1];
static int n_acked;

void spool_fixture_setup(const char *name)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/stream-%s-XXXXXX", name);
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  snprintf(spool_fixture_path, sizeof spool_fixture_path, "%s/events.spool", tmpdir);
  pthread_mutex_lock(&mu);
  n_acked = 0;
  pthread_mutex_unlock(&mu);
}

void spool_fixture_teardown(void)
{
  char p[320];
  remove(spool_fixture_path);
  snprintf(p, sizeof p, "%s.tmp", spool_fixture_path);
  remove(p);
  rmdir(tmpdir);
}

void spool_fixture_on_batch(void *ud, int outcome, const stream_event *ev, size_t n)
{
  (void)ud;
  pthread_mutex_lock(&mu);
  for (size_t i = 0; outcome == STREAM_EMITTER_ACKED && i < n && n_acked < ACKED_MAX; i++)
    memcpy(acked[n_acked++], ev[i].id, sizeof ev[i].id);
  pthread_mutex_unlock(&mu);
}

bool spool_fixture_acked(const char *id)
{
  pthread_mutex_lock(&mu);
  bool found = false;
  for (int i = 0; i < n_acked && !found; i++)
    found = strcmp(acked[i], id) == 0;
  pthread_mutex_unlock(&mu);
  return found;
}

size_t spool_fixture_put(const stream_event *ev, size_t n)
{
  uint8_t *pb = NULL;
  size_t len = 0;
  ck_assert_int_eq(emitter__pack(&pb, &len, ev, n), STREAM_OK);
  emitter__spool s;
  ck_assert_int_eq(emitter__spool_open(&s, spool_fixture_path, 1 << 20), STREAM_OK);
  uint64_t dropped = 0;
  ck_assert_int_eq(emitter__spool_append(&s, pb, len, (uint32_t)n, &dropped), STREAM_OK);
  emitter__spool_close(&s);
  free(pb);
  return len;
}

void spool_fixture_assert_empty(void)
{
  emitter__spool s;
  ck_assert_int_eq(emitter__spool_open(&s, spool_fixture_path, 1 << 20), STREAM_OK);
  ck_assert_uint_eq(s.n, 0);
  emitter__spool_close(&s);
}
