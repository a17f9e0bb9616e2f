/* See auth_fixture.h. */
#include "auth_fixture.h"

#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../store_path.h"

char tmpdir[256];
char dbpath[300];
stream_keyring *ring;
int64_t clock_now;
char logbuf[65536];
const stream_password_params cheap = {STREAM_PASSWORD_PARAMS_VERSION, 8, 1, 1, 16, 8, NULL};

static size_t loglen;
static bool logging;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

int64_t fake_clock(void *ud)
{
  return *(int64_t *)ud;
}

const char *msg(void)
{
  const stream_error *e = stream_error_last();
  return e ? e->message : "";
}

static void log_hook(int level, const char *module, const char *message, void *ud)
{
  (void)level;
  (void)ud;
  pthread_mutex_lock(&log_mu);
  int n = snprintf(logbuf + loglen, sizeof logbuf - loglen, "%s: %s\n", module, message);
  if (n > 0 && (size_t)n < sizeof logbuf - loglen)
    loglen += (size_t)n;
  pthread_mutex_unlock(&log_mu);
}

void auth_fixture_setup(const char *name, int64_t t0, bool log)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/stream-%s-XXXXXX", name);
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  snprintf(dbpath, sizeof dbpath, "%s/db.sqlite", tmpdir);
  ck_assert_int_eq(stream_keyring_new(&ring), STREAM_OK);
  stream_key *k = NULL;
  ck_assert_int_eq(stream_key_generate(&k, STREAM_KEY_HMAC, "k1", 32), STREAM_OK);
  ck_assert_int_eq(stream_keyring_add(ring, k), STREAM_OK);
  stream_key_free(k);
  clock_now = t0;
  loglen = 0;
  logbuf[0] = '\0';
  logging = log;
  if (log)
    stream_log_set_callback(log_hook, NULL, STREAM_LOG_DEBUG);
}

stream_store *auth_fixture_store(void)
{
  char uri[512];
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  so.path = test_store_path(uri, sizeof uri, dbpath);
  stream_store *s = NULL;
  ck_assert_int_eq(stream_store_open(&s, &so), STREAM_OK);
  return s;
}

void auth_fixture_options(stream_auth_options *o, stream_store *s)
{
  stream_auth_options d = STREAM_AUTH_OPTIONS_INIT;
  *o = d;
  o->store = s;
  o->keys = ring;
  o->password = &cheap;
  o->now = fake_clock;
  o->now_userdata = &clock_now;
  o->rate_account_burst = 1000;
  o->rate_address_burst = 1000;
}

void auth_fixture_teardown(const char *extra)
{
  if (logging)
    stream_log_set_callback(NULL, NULL, STREAM_LOG_INFO);
  logging = false;
  stream_keyring_free(ring);
  ring = NULL;
  const char *files[] = {"db.sqlite", "db.sqlite-wal", "db.sqlite-shm", "db.sqlite-journal", extra};
  char path[320];
  for (size_t i = 0; i < sizeof files / sizeof *files && files[i]; i++) {
    snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
    remove(path);
  }
  rmdir(tmpdir);
}
