/* stream_relay_free() while a JetStream ack handler of the relay is running (on
 * nats.c's thread): the free must wait for it, since the handler touches the
 * handle. A real store and a real nats-server -js on a loopback port; the
 * relay's own calls into nats.c are interposed with the linker's --wrap
 * (meson.build) only to park the first ack handler inside the relay at a known
 * point, and to see which nats.c call the free makes while it is parked; every
 * wrapper then calls the real nats.c function. Without the wait, free() goes
 * straight to jsCtx_Destroy (which, like natsConnection_Close/Destroy, does not
 * wait for a running handler) with the handler inside the relay: the test
 * records that and fails, letting the handler finish first so the failure is an
 * assertion, not a use after free. The store, its event log and nats-server are
 * relay_fixture.h's. Exits 77 without nats-server. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nats/nats.h>

#include "relay_fixture.h"
#include "stream/events.h"
#include "stream/relay.h"

/* ---- the interposed nats.c calls ----------------------------------------------- */

static pthread_mutex_t hmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hcv = PTHREAD_COND_INITIALIZER;
static int hold;      /* armed: the next ack handler parks inside the relay */
static int held;      /* a handler is parked (or was) */
static int freeing;   /* the test is inside stream_relay_free() */
static int waited_on; /* free() asked nats.c to wait for pending acks */
static int in_ack;    /* ack handlers between their first and last nats.c call */
static int violation; /* jsCtx_Destroy was entered with a handler inside the relay */
static __thread int ack_thread;

natsStatus __real_natsMsgHeader_Get(natsMsg *msg, const char *key, const char **value);
void __real_natsMsg_Destroy(natsMsg *msg);
natsStatus __real_js_PublishAsyncComplete(jsCtx *js, jsPubOptions *opts);
void __real_jsCtx_Destroy(jsCtx *js);

/* relay.c calls natsMsgHeader_Get only in its ack handler, as its first nats.c call. */
natsStatus __wrap_natsMsgHeader_Get(natsMsg *msg, const char *key, const char **value)
{
  pthread_mutex_lock(&hmu);
  ack_thread = 1;
  in_ack++;
  if (hold && !held) {
    held = 1;
    pthread_cond_broadcast(&hcv);
    while (!(freeing && waited_on))
      pthread_cond_wait(&hcv, &hmu);
  }
  pthread_mutex_unlock(&hmu);
  return __real_natsMsgHeader_Get(msg, key, value);
}

/* ... and natsMsg_Destroy of the acknowledged message as its last. */
void __wrap_natsMsg_Destroy(natsMsg *msg)
{
  if (ack_thread) {
    pthread_mutex_lock(&hmu);
    ack_thread = 0;
    in_ack--;
    pthread_cond_broadcast(&hcv);
    pthread_mutex_unlock(&hmu);
  }
  __real_natsMsg_Destroy(msg);
}

natsStatus __wrap_js_PublishAsyncComplete(jsCtx *js, jsPubOptions *opts)
{
  pthread_mutex_lock(&hmu);
  if (freeing) {
    waited_on = 1;
    pthread_cond_broadcast(&hcv);
  } else {
    while (hold && !held) /* the round's wait: only once a handler is parked */
      pthread_cond_wait(&hcv, &hmu);
  }
  pthread_mutex_unlock(&hmu);
  return __real_js_PublishAsyncComplete(js, opts);
}

void __wrap_jsCtx_Destroy(jsCtx *js)
{
  pthread_mutex_lock(&hmu);
  if (freeing) {
    if (in_ack > 0)
      violation = 1;
    waited_on = 1;
    pthread_cond_broadcast(&hcv);
    while (in_ack > 0) /* a clean failure: let the handler finish on a live handle */
      pthread_cond_wait(&hcv, &hmu);
  }
  pthread_mutex_unlock(&hmu);
  __real_jsCtx_Destroy(js);
}

/* ---- the test ----------------------------------------------------------------------- */

START_TEST(test_relay_free_waits_for_running_ack_handler)
{
  server_start();
  static const char body[] =
      "{\"events\":["
      "{\"id\":\"00000000-0000-4000-8000-000000000001\",\"viewId\":\"v\",\"type\":1,"
      "\"clientTs\":1700000000001},"
      "{\"id\":\"00000000-0000-4000-8000-000000000002\",\"viewId\":\"v\",\"type\":2,"
      "\"clientTs\":1700000000002},"
      "{\"id\":\"00000000-0000-4000-8000-000000000003\",\"viewId\":\"v\",\"type\":3,"
      "\"clientTs\":1700000000003}]}";
  stream_events_result res;
  ck_assert_msg(stream_events_ingest(events, &res, body, sizeof body - 1, STREAM_EVENTS_JSON, 0,
                                     "acct-1", NULL) == STREAM_OK,
                "ingest: %s", stream_error_last()->message);
  stream_relay_options o = STREAM_RELAY_OPTIONS_INIT;
  o.events = events;
  o.url = url;
  o.timeout_ms = 200;
  o.create_stream = 1;
  stream_relay *r = NULL;
  ck_assert_msg(stream_relay_new(&r, &o) == STREAM_OK, "stream_relay_new: %s",
                stream_error_last()->message);

  /* The first acknowledgement's handler parks inside the relay: the round sees too few
   * acks, gives up on the rest (its wait is bounded) and fails, the checkpoint unchanged. */
  pthread_mutex_lock(&hmu);
  hold = 1;
  pthread_mutex_unlock(&hmu);
  int64_t p = -1;
  ck_assert_int_eq(stream_relay_run_once(r, &p, NULL), STREAM_ETIMEDOUT);
  ck_assert_int_eq(p, 0);
  int64_t cp = -1;
  ck_assert_int_eq(stream_events_checkpoint(events, &cp, STREAM_RELAY_DEFAULT_CONSUMER), STREAM_OK);
  ck_assert_int_eq(cp, 0);
  pthread_mutex_lock(&hmu);
  ck_assert_int_eq(held, 1);
  ck_assert_int_eq(in_ack, 1); /* still inside the relay */
  freeing = 1;
  pthread_mutex_unlock(&hmu);

  /* The free: the parked handler is released once the free asks nats.c to wait; the
   * context is destroyed only after the handler left the relay. */
  stream_relay_free(r);
  pthread_mutex_lock(&hmu);
  freeing = 0;
  int v = violation, inside = in_ack;
  pthread_mutex_unlock(&hmu);
  ck_assert_msg(!v, "stream_relay_free destroyed the JetStream context while an ack handler was "
                    "running inside the relay (it would touch the freed handle)");
  ck_assert_int_eq(inside, 0);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("relay-free");
  TCase *tc = tcase_create("relay-free");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_relay_free_waits_for_running_ack_handler);
  suite_add_tcase(s, tc);
  return relay_suite_main(s);
}
