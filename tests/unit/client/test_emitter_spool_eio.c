/* The event emitter's limit of 10 read errors per spooled batch when the spool's bound drops the
 * batch that was failing: the next batch starts with a count of its own. Reads of the spool fail
 * with EIO on the emitter's sender thread (pread64 interposed with -Wl,--wrap): batch A, left by a
 * previous run, fails 9 reads; while its 9th read is in progress the player emits batch B, whose
 * spooling drops A (the bound holds one of them); B's first read fails too, the next succeeds.
 * B inherited A's 9 errors: its first error made 10, and B (events the emitter had accepted) was
 * dropped for good. The ingest is a scripted responder on loopback (responder.h). */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "../responder.h"
#include "spool_fixture.h"
#include "stream/emitter.h"

#define N_A 60              /* batch A's events: about 50 KB packed */
#define N_B 25              /* batch B's events: about 20 KB */
#define A_FAILS 9           /* one under the limit of 10 */
#define FAILS (A_FAILS + 1) /* and B's first read */
#define SPOOL_MAX (64 * 1024)

/* pread64 on the emitter's thread fails with EIO for the first FAILS calls; the A_FAILS-th call
 * waits for the test to emit batch B before it fails. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_t main_thread;
static int failed;
static bool b_emitted;

ssize_t __real_pread64(int fd, void *buf, size_t n, off_t off);
ssize_t __wrap_pread64(int fd, void *buf, size_t n, off_t off);

ssize_t __wrap_pread64(int fd, void *buf, size_t n, off_t off)
{
  if (pthread_equal(pthread_self(), main_thread))
    return __real_pread64(fd, buf, n, off);
  pthread_mutex_lock(&mu);
  bool fail = failed < FAILS;
  if (fail && ++failed == A_FAILS) {
    pthread_cond_broadcast(&cv);
    while (!b_emitted)
      pthread_cond_wait(&cv, &mu);
  }
  pthread_mutex_unlock(&mu);
  if (!fail)
    return __real_pread64(fd, buf, n, off);
  errno = EIO;
  return -1;
}

static void setup(void)
{
  main_thread = pthread_self();
  spool_fixture_setup("emitter-eio");
}

/* An event with every text field long, so a few dozen make tens of KB. */
static void make_event(stream_event *e, char tag, int i)
{
  memset(e, 0, sizeof *e);
  snprintf(e->id, sizeof e->id, "%08x-0000-4000-8000-%012x", 0xe10 + (tag == 'B'), i);
  e->type = STREAM_EVENT_ERROR;
  e->error_code = 1000 + i;
  char *fields[] = {e->view_id,    e->session_id, e->profile_id, e->title_id,
                    e->episode_id, e->device_id,  e->sid,        e->cid};
  for (size_t k = 0; k < sizeof fields / sizeof *fields; k++) {
    memset(fields[k], 'a' + (int)k, STREAM_EVENTS_ID_SIZE - 1);
    fields[k][0] = tag;
    fields[k][STREAM_EVENTS_ID_SIZE - 1] = '\0';
  }
  memset(e->error_message, 'm', STREAM_EVENTS_MESSAGE_MAX);
  e->error_message[STREAM_EVENTS_MESSAGE_MAX] = '\0';
  e->client_ts = INT64_C(1700000000000) + i;
}

START_TEST(test_dropped_head_does_not_pass_its_read_errors_on)
{
  /* Batch A, spooled by a previous run. */
  static stream_event a[N_A];
  for (int i = 0; i < N_A; i++)
    make_event(&a[i], 'A', i);
  size_t len = spool_fixture_put(a, N_A);
  ck_assert_msg(len < SPOOL_MAX && len > SPOOL_MAX / 2, "batch A is %zu bytes", len);

  static const char *const script[] = {
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
      "Content-Length: 30\r\n\r\n{\"accepted\":25,\"duplicates\":0}"};
  test_responder r;
  test_responder_start(&r, script, 1, -1);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", r.port);
  stream_emitter_options o = STREAM_EMITTER_OPTIONS_INIT;
  o.base_url = url;
  o.backoff_base_ms = 10; /* reads again after 0..20 ms */
  o.backoff_max_ms = 20;
  o.timeout_ms = 5000;
  o.shutdown_ms = 100;
  o.batch_max_events = N_B; /* B is formed as soon as its events are queued */
  o.batch_max_bytes = SPOOL_MAX / 2;
  o.spool_path = spool_fixture_path;
  o.spool_max_bytes = SPOOL_MAX; /* A and B together are over it */
  o.on_batch = spool_fixture_on_batch;
  stream_emitter *em = NULL;
  ck_assert_int_eq(stream_emitter_new(&em, &o), STREAM_OK);

  /* While A's 9th read is held, the player emits B. */
  pthread_mutex_lock(&mu);
  while (failed < A_FAILS)
    pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  static stream_event b[N_B];
  for (int i = 0; i < N_B; i++) {
    make_event(&b[i], 'B', i);
    ck_assert_int_eq(stream_emitter_emit(NULL, em, &b[i]), STREAM_OK);
  }
  pthread_mutex_lock(&mu);
  b_emitted = true;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);

  int rc = stream_emitter_flush(em, 30000);
  ck_assert_msg(rc == STREAM_OK, "flush: %s (%s)", stream_strerror(rc),
                stream_error_last()->message);
  stream_emitter_stats st;
  ck_assert_int_eq(stream_emitter_stats_get(&st, em), STREAM_OK);
  pthread_mutex_lock(&mu);
  int fails = failed;
  pthread_mutex_unlock(&mu);
  ck_assert_int_eq(fails, FAILS); /* A's 9 and B's first */
  /* A was dropped by the bound (counted), B was not dropped after one read error. */
  ck_assert_msg(st.spool_dropped == N_A,
                "%llu events dropped from the spool (batch A's %d expected): batch B was given "
                "up after its first read error",
                (unsigned long long)st.spool_dropped, N_A);
  ck_assert_uint_eq(st.sent, N_B);
  ck_assert_uint_eq(st.rejected, 0);
  for (int i = 0; i < N_B; i++)
    ck_assert_msg(spool_fixture_acked(b[i].id), "event %s of batch B was never acknowledged",
                  b[i].id);
  stream_emitter_free(em);
  test_responder_stop(&r);
  ck_assert_int_eq(r.served, 1);
  spool_fixture_assert_empty();
}
END_TEST

int main(void)
{
  Suite *s = suite_create("emitter-spool-eio");
  TCase *tc = tcase_create("emitter-spool-eio");
  tcase_add_checked_fixture(tc, setup, spool_fixture_teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_dropped_head_does_not_pass_its_read_errors_on);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed_tests = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed_tests ? EXIT_FAILURE : EXIT_SUCCESS;
}
