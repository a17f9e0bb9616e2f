/* The event emitter when memory runs out while it decodes a batch read back from its spool
 * (unpack_oom.h: protobuf-c's unpack gets NULL from malloc): the batch is no damaged one, so it
 * stays in the spool, however many reads run out of memory (more than the 10 failed reads after
 * which an unreadable batch is given up), and is sent once memory is back, to a scripted ingest
 * on loopback (responder.h). It was taken for a batch that does not decode: dropped for good,
 * counted in spool_dropped, events the emitter had accepted lost. */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../responder.h"
#include "../unpack_oom.h"
#include "spool_fixture.h"
#include "stream/emitter.h"

#define N_EVENTS 3
#define OOM_READS 12 /* more than the emitter's limit of failed reads (10) */

static void setup(void)
{
  spool_fixture_setup("emitter-oom");
}

/* A batch of N_EVENTS heartbeats left in the spool by a previous run, as the emitter writes it. */
static void spool_batch(stream_event *ev)
{
  memset(ev, 0, N_EVENTS * sizeof *ev);
  for (int i = 0; i < N_EVENTS; i++) {
    snprintf(ev[i].id, sizeof ev[i].id, "%08x-0000-4000-8000-00000000000%d", 0xabc0 + i, i);
    strcpy(ev[i].view_id, "view-1");
    ev[i].type = STREAM_EVENT_HEARTBEAT;
    ev[i].client_ts = INT64_C(1700000000000) + i;
  }
  spool_fixture_put(ev, N_EVENTS);
}

/* Whether the n bytes at buf (NUL bytes among them) hold the string s. */
static bool holds(const char *buf, size_t n, const char *s)
{
  size_t k = strlen(s);
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(buf + i, s, k) == 0)
      return true;
  return false;
}

START_TEST(test_spooled_batch_kept_while_memory_runs_out)
{
  stream_event ev[N_EVENTS];
  spool_batch(ev);
  static const char *const script[] = {
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
      "Content-Length: 29\r\n\r\n{\"accepted\":3,\"duplicates\":0}"};
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
  o.no_gzip = 1; /* the body the server gets holds the ids as they are */
  o.spool_path = spool_fixture_path;
  o.on_batch = spool_fixture_on_batch;
  int before = unpack_oom_failed();
  unpack_oom_arm(OOM_READS); /* the emitter's first reads of the batch run out of memory */
  stream_emitter *em = NULL;
  ck_assert_int_eq(stream_emitter_new(&em, &o), STREAM_OK);
  int rc = stream_emitter_flush(em, 30000);
  ck_assert_msg(rc == STREAM_OK, "flush: %s (%s)", stream_strerror(rc),
                stream_error_last()->message);
  stream_emitter_stats st;
  ck_assert_int_eq(stream_emitter_stats_get(&st, em), STREAM_OK);
  ck_assert_msg(st.spool_dropped == 0,
                "%llu events dropped from the spool after %d reads ran out "
                "of memory",
                (unsigned long long)st.spool_dropped, unpack_oom_failed() - before);
  ck_assert_int_eq(unpack_oom_pending(), 0);
  ck_assert_int_eq(unpack_oom_failed() - before, OOM_READS);
  ck_assert_uint_eq(st.sent, N_EVENTS);
  ck_assert_uint_eq(st.rejected, 0);
  for (int i = 0; i < N_EVENTS; i++)
    ck_assert_msg(spool_fixture_acked(ev[i].id), "event %s was never acknowledged", ev[i].id);
  stream_emitter_free(em);
  test_responder_stop(&r);
  /* The server got them: one request, whose body holds every id. */
  ck_assert_int_eq(r.served, 1);
  const char *req = r.requests[0];
  const char *body = strstr(req, "\r\n\r\n");
  ck_assert_ptr_nonnull(body);
  for (int i = 0; i < N_EVENTS; i++)
    ck_assert_msg(holds(body, TEST_RESPONDER_REQUEST_MAX - (size_t)(body - req), ev[i].id),
                  "event %s is not in the body", ev[i].id);
  /* Acknowledged, it left the spool. */
  spool_fixture_assert_empty();
}
END_TEST

int main(void)
{
  Suite *s = suite_create("emitter-oom");
  TCase *tc = tcase_create("emitter-oom");
  tcase_add_checked_fixture(tc, setup, spool_fixture_teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_spooled_batch_kept_while_memory_runs_out);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
