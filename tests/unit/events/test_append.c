/* Unit tests for the trusted append of the events module (stream_events_append,
 * stream_events_validate) over a real SQLite store in a temporary directory
 * (or, run by tests/pg/pg_run.sh, a PostgreSQL database: store_path.h), with
 * an injected clock: the events keep the account, profile and server time
 * they carry (never the clock's); every event is validated like the ingest's
 * and an invalid one stores nothing of its batch; ids already stored (or
 * repeated) are counted as duplicates; bad arguments. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../store_path.h"
#include "stream/events.h"

#define T0_MS INT64_C(1700000000000)

static char tmpdir[256];
static stream_store *store;
static stream_events *events;
static int64_t clock_ms = T0_MS;

static int64_t fake_clock(void *ud)
{
  return *(int64_t *)ud;
}

static void setup(void)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/stream-append-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  char path[300], uri[512];
  snprintf(path, sizeof path, "%s/db.sqlite", tmpdir);
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  so.path = test_store_path(uri, sizeof uri, path);
  ck_assert_int_eq(stream_store_open(&store, &so), STREAM_OK);
  stream_events_options o = STREAM_EVENTS_OPTIONS_INIT;
  o.store = store;
  o.now_ms = fake_clock;
  o.now_userdata = &clock_ms;
  ck_assert_int_eq(stream_events_new(&events, &o), STREAM_OK);
}

static void teardown(void)
{
  stream_events_free(events);
  stream_store_close(store);
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0)
    fprintf(stderr, "cannot remove %s\n", tmpdir);
}

/* A valid event of another log: id ...-<i>, account acct-<i%2>, server time T0 - 1 h + i. */
static stream_event make(int i)
{
  stream_event e;
  memset(&e, 0, sizeof e);
  e.seq = 1000 + i; /* ignored */
  snprintf(e.id, sizeof e.id, "0000ABCD-0000-4000-8000-%012d", i);
  e.type = i % 13 + 1;
  snprintf(e.view_id, sizeof e.view_id, "view-%d", i / 4);
  snprintf(e.account_id, sizeof e.account_id, "acct-%d", i % 2);
  snprintf(e.profile_id, sizeof e.profile_id, "p+%d@home", i); /* a credential's profile */
  snprintf(e.title_id, sizeof e.title_id, "t-1");
  e.client_ts = T0_MS - 7200000 + i;
  e.server_ts = T0_MS - 3600000 + i;
  e.br = 3000;
  snprintf(e.sid, sizeof e.sid, "s %d", i);
  if (e.type == STREAM_EVENT_ERROR) {
    e.error_code = 4;
    e.error_fatal = 1;
    snprintf(e.error_message, sizeof e.error_message, "décodage");
  }
  return e;
}

static int64_t count(void)
{
  int64_t n = -1;
  ck_assert_int_eq(stream_events_stats(events, &n, NULL), STREAM_OK);
  return n;
}

START_TEST(test_append_keeps_fields)
{
  stream_event in[20];
  for (int i = 0; i < 20; i++)
    in[i] = make(i);
  stream_events_result r = {99, 99};
  ck_assert_int_eq(stream_events_append(events, &r, in, 20), STREAM_OK);
  ck_assert_uint_eq(r.accepted, 20);
  ck_assert_uint_eq(r.duplicates, 0);
  ck_assert_str_eq(in[3].id, "0000ABCD-0000-4000-8000-000000000003"); /* input untouched */
  stream_event *out = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_events_read(events, &out, &n, 0, 100), STREAM_OK);
  ck_assert_uint_eq(n, 20);
  for (int i = 0; i < 20; i++) {
    char id[40];
    snprintf(id, sizeof id, "0000abcd-0000-4000-8000-%012d", i);
    ck_assert_str_eq(out[i].id, id);
    ck_assert_int_eq(out[i].seq, i + 1); /* the log's, not the source's */
    ck_assert_int_eq(out[i].type, in[i].type);
    ck_assert_str_eq(out[i].account_id, in[i].account_id);
    ck_assert_str_eq(out[i].profile_id, in[i].profile_id);
    ck_assert_int_eq(out[i].server_ts, in[i].server_ts); /* not the clock */
    ck_assert_int_eq(out[i].client_ts, in[i].client_ts);
    ck_assert_str_eq(out[i].view_id, in[i].view_id);
    ck_assert_str_eq(out[i].sid, in[i].sid);
    ck_assert_int_eq(out[i].error_code, in[i].error_code);
    ck_assert_str_eq(out[i].error_message, in[i].error_message);
  }
  stream_free(out);
  /* No profile is fine too. */
  stream_event e = make(50);
  e.profile_id[0] = '\0';
  ck_assert_int_eq(stream_events_append(events, NULL, &e, 1), STREAM_OK);
  ck_assert_int_eq(count(), 21);
}
END_TEST

START_TEST(test_append_dedup)
{
  stream_event in[6];
  for (int i = 0; i < 4; i++)
    in[i] = make(i);
  stream_events_result r;
  ck_assert_int_eq(stream_events_append(events, &r, in, 4), STREAM_OK);
  ck_assert_uint_eq(r.accepted, 4);
  /* Again, plus a new one and that one repeated (in lowercase): 1 stored, 5 duplicates. */
  in[4] = make(4);
  in[5] = make(4);
  for (char *p = in[5].id; *p; p++)
    *p = (char)(*p >= 'A' && *p <= 'F' ? *p + 32 : *p);
  in[5].server_ts = 1; /* a differing copy of a stored id is skipped whole */
  ck_assert_int_eq(stream_events_append(events, &r, in, 6), STREAM_OK);
  ck_assert_uint_eq(r.accepted, 1);
  ck_assert_uint_eq(r.duplicates, 5);
  ck_assert_int_eq(count(), 5);
  stream_event got;
  ck_assert_int_eq(stream_events_get(events, &got, in[4].id), STREAM_OK);
  ck_assert_int_eq(got.server_ts, in[4].server_ts);
}
END_TEST

/* Break event `e` as `what` says; returns the text the error must contain. */
static const char *breakit(stream_event *e, int what)
{
  switch (what) {
  case 0:
    e->account_id[0] = '\0';
    return "account id is missing";
  case 1:
    snprintf(e->account_id, sizeof e->account_id, "acct 1");
    return "account id contains a space";
  case 2:
    memset(e->account_id, 'a', sizeof e->account_id); /* no NUL */
    return "account id is not NUL-terminated";
  case 3:
    snprintf(e->profile_id, sizeof e->profile_id, "p\t1");
    return "profile id contains a space";
  case 4:
    e->server_ts = 0;
    return "'serverTs' is 0";
  case 5:
    e->server_ts = -5;
    return "'serverTs' is -5";
  case 6:
    snprintf(e->id, sizeof e->id, "not-a-uuid");
    return "'id' is not a UUID";
  case 7:
    e->type = 0;
    return "'type' is 0";
  case 8:
    e->view_id[0] = '\0';
    return "'viewId' is missing";
  case 9:
    e->client_ts = 0;
    return "'clientTs' is 0";
  case 10:
    e->type = STREAM_EVENT_PLAY;
    e->error_code = 3;
    return "'error' is only allowed on error events";
  case 11:
    snprintf(e->title_id, sizeof e->title_id, "t/1");
    return "'titleId' has characters outside";
  case 12:
    memset(e->sid, 'x', sizeof e->sid); /* no NUL */
    return "'sid' is not NUL-terminated";
  default:
    e->br = -1;
    return "'br' is -1";
  }
}

START_TEST(test_append_validates_all_or_nothing)
{
  for (int what = 0; what <= 13; what++) {
    stream_event in[3] = {make(0), make(1), make(2)};
    in[2].type = STREAM_EVENT_PLAY;
    const char *why = breakit(&in[2], what);
    stream_events_result r = {7, 7};
    ck_assert_int_eq(stream_events_append(events, &r, in, 3), STREAM_EPROTO);
    const char *msg = stream_error_last()->message;
    ck_assert_msg(strstr(msg, "event 2") && strstr(msg, why), "case %d: '%s' (expected %s)", what,
                  msg, why);
    ck_assert_uint_eq(r.accepted, 0);
    ck_assert_uint_eq(r.duplicates, 0);
    ck_assert_int_eq(count(), 0); /* nothing of the batch */
    /* stream_events_validate says the same of the event alone. */
    ck_assert_int_eq(stream_events_validate(&in[2]), STREAM_EPROTO);
    ck_assert_ptr_nonnull(strstr(stream_error_last()->message, why));
  }
  stream_event ok = make(1);
  ck_assert_int_eq(stream_events_validate(&ok), STREAM_OK);
  ck_assert_str_eq(ok.id, "0000abcd-0000-4000-8000-000000000001"); /* lowercased */
}
END_TEST

START_TEST(test_append_bad_arguments)
{
  stream_event e = make(0);
  stream_events_result r = {7, 7};
  ck_assert_int_eq(stream_events_append(NULL, &r, &e, 1), STREAM_EINVAL);
  ck_assert_uint_eq(r.accepted + r.duplicates, 0);
  ck_assert_int_eq(stream_events_append(events, &r, NULL, 1), STREAM_EINVAL);
  ck_assert_int_eq(stream_events_append(events, &r, &e, 0), STREAM_ERANGE);
  ck_assert_int_eq(stream_events_append(events, &r, &e, STREAM_EVENTS_READ_MAX + 1), STREAM_ERANGE);
  ck_assert_int_eq(stream_events_validate(NULL), STREAM_EINVAL);
  ck_assert_int_eq(count(), 0);
  ck_assert_int_eq(stream_events_append(events, NULL, &e, 1), STREAM_OK); /* out may be NULL */
  ck_assert_int_eq(count(), 1);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("events-append");
  TCase *tc = tcase_create("append");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_append_keeps_fields);
  tcase_add_test(tc, test_append_dedup);
  tcase_add_test(tc, test_append_validates_all_or_nothing);
  tcase_add_test(tc, test_append_bad_arguments);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
