/* The event emitter against a hostile or broken ingest (review RV10), on a scripted responder on
 * loopback (responder.h): a 429/503 is never retried sooner than the backoff, whatever its
 * Retry-After says (0, "0.5", a padded or past value), an HTTP-date Retry-After is honoured, a new
 * token does not cut such a wait short; the Retry-After parser on its own; the duplicates counted
 * never exceed the events sent; only the media type application/problem+json (parameters
 * allowed) refuses a batch; tokens with characters outside printable ASCII and base URLs that
 * stream_client_new refuses are refused (STREAM_EINVAL).
 *
 * A wait the emitter must keep is checked by counting requests: the backoff (or the
 * Retry-After) is an hour, so within the test's flush no second request may come; without the
 * fix it comes at once and is acknowledged. */
#include <check.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../responder.h"
#include "client/emitter_internal.h"
#include "stream/emitter.h"

#define HOUR_MS 3600000u
#define ACK                                                                                        \
  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"                     \
  "Content-Length: 29\r\n\r\n{\"accepted\":1,\"duplicates\":0}"

static test_responder resp;
static char url[64];

static void serve(const char *const *script, int n)
{
  test_responder_start(&resp, script, n, -1);
  snprintf(url, sizeof url, "http://127.0.0.1:%d", resp.port);
}

static stream_emitter *start(unsigned int backoff_base_ms, unsigned int backoff_max_ms)
{
  stream_emitter_options o = STREAM_EMITTER_OPTIONS_INIT;
  o.base_url = url;
  o.access_token = "tok";
  o.backoff_base_ms = backoff_base_ms;
  o.backoff_max_ms = backoff_max_ms;
  o.timeout_ms = 5000;
  o.shutdown_ms = 50;      /* free() does not wait out the hour */
  o.flush_interval_ms = 1; /* an event is sent at once */
  stream_emitter *em = NULL;
  int rc = stream_emitter_new(&em, &o);
  ck_assert_msg(rc == STREAM_OK, "stream_emitter_new: %s", stream_error_last()->message);
  return em;
}

static void emit_one(stream_emitter *em)
{
  stream_event e;
  memset(&e, 0, sizeof e);
  e.type = STREAM_EVENT_HEARTBEAT;
  snprintf(e.view_id, sizeof e.view_id, "v1");
  e.playhead_ms = 1000;
  ck_assert_int_eq(stream_emitter_emit(NULL, em, &e), STREAM_OK);
}

static stream_emitter_stats stats(stream_emitter *em)
{
  stream_emitter_stats st;
  ck_assert_int_eq(stream_emitter_stats_get(&st, em), STREAM_OK);
  return st;
}

/* Until the first answer was taken for a failure and the wait before the next attempt set (both
 * under one lock hold). */
static void await_first_retry(stream_emitter *em)
{
  while (stats(em).retried == 0) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
}

/* One event; the first answer is `first` (a 429 or 503), the next ones acknowledge. Once that
 * answer is taken, the emitter must not send again within a flush of 1 s: it waits an hour. */
static void expect_wait(const char *first, unsigned int backoff_base_ms,
                        unsigned int backoff_max_ms)
{
  const char *ra = strstr(first, "Retry-After:");
  const char *script[] = {first, ACK};
  serve(script, 2);
  stream_emitter *em = start(backoff_base_ms, backoff_max_ms);
  emit_one(em);
  await_first_retry(em);
  int rc = stream_emitter_flush(em, 1000);
  stream_emitter_stats st = stats(em);
  int served = test_responder_served(&resp);
  stream_emitter_free(em);
  test_responder_stop(&resp);
  ck_assert_msg(served == 1 && rc == STREAM_ETIMEDOUT && st.sent == 0,
                "answered %.3s with '%.*s': %d requests, flush %s, %llu sent: retried without "
                "waiting",
                first + 9, (int)strcspn(ra, "\r"), ra, served, stream_strerror(rc),
                (unsigned long long)st.sent);
  ck_assert_uint_eq(st.retried, 1);
}

#define ANSWER(status, retry_after)                                                                \
  "HTTP/1.1 " status "\r\nRetry-After: " retry_after "\r\n"                                        \
  "Content-Type: application/problem+json\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}"

/* Retry-After: 0 to every attempt made a storm (8704 POSTs in 2 s): the delay has a floor of
 * backoff_base_ms. */
START_TEST(test_retry_after_zero_waits_the_backoff)
{
  expect_wait(ANSWER("503 Service Unavailable", "0"), HOUR_MS, HOUR_MS);
  expect_wait(ANSWER("429 Too Many Requests", "0"), HOUR_MS, HOUR_MS);
}
END_TEST

/* "0.5" is not delay-seconds: absent (the backoff), not 0. */
START_TEST(test_retry_after_fraction_is_absent)
{
  expect_wait(ANSWER("429 Too Many Requests", "0.5"), HOUR_MS, HOUR_MS);
}
END_TEST

/* A zero-padded value longer than the old 63-byte buffer is read whole: 3600 s, not 0. */
START_TEST(test_retry_after_read_whole)
{
  expect_wait(ANSWER("503 Service Unavailable",
                     "00000000000000000000000000000000000000000000000000000000000000003600"),
              10, 20);
}
END_TEST

/* An HTTP-date an hour ahead waits an hour (it was ignored: the backoff of 10..20 ms). */
START_TEST(test_retry_after_http_date)
{
  time_t t = time(NULL) + 3600;
  struct tm tm;
  gmtime_r(&t, &tm);
  char date[64], answer[512];
  strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  snprintf(answer, sizeof answer, ANSWER("503 Service Unavailable", "%s"), date);
  expect_wait(answer, 10, 20);
}
END_TEST

/* A new token lets a batch waiting out a 401 go at once, not one a 429 told to wait. */
START_TEST(test_new_token_does_not_cut_a_429_wait)
{
  const char *script[] = {ANSWER("429 Too Many Requests", "3600"), ACK};
  serve(script, 2);
  stream_emitter *em = start(10, 20);
  emit_one(em);
  await_first_retry(em);
  ck_assert_int_eq(stream_emitter_set_token(em, "tok2"), STREAM_OK);
  int rc = stream_emitter_flush(em, 1000);
  int served = test_responder_served(&resp);
  stream_emitter_free(em);
  test_responder_stop(&resp);
  ck_assert_msg(served == 1 && rc == STREAM_ETIMEDOUT,
                "%d requests, flush %s: the new token cut the 429's Retry-After short", served,
                stream_strerror(rc));
}
END_TEST

/* The parser on its own (now = the first example of RFC 9110 5.6.7 minus 10 s). */
START_TEST(test_retry_after_parser)
{
  const int64_t rfc_date_ms = INT64_C(784111777000); /* Sun, 06 Nov 1994 08:49:37 GMT */
  const int64_t now = rfc_date_ms - 10000;
  static const struct {
    const char *v;
    int64_t ms;
  } cases[] = {
      {" 0\r\n", 0},
      {" 120\r\n", 120000},
      {"\t7 \r\n", 7000},
      {" 000000000000000000000000000000000000000000000000000000000000000000000005\r\n", 5000},
      {" 99999999999999999999999999\r\n", EMITTER__RETRY_AFTER_MAX_MS},
      {" 3600\r\n", EMITTER__RETRY_AFTER_MAX_MS},
      {" 3601\r\n", EMITTER__RETRY_AFTER_MAX_MS},
      {" Sun, 06 Nov 1994 08:49:37 GMT\r\n", 10000},
      {" Sunday, 06-Nov-94 08:49:37 GMT\r\n", 10000},
      {" Sun Nov  6 08:49:37 1994\r\n", 10000},
      {" Sun, 06 Nov 1994 08:49:17 GMT\r\n", 0},                           /* in the past */
      {" Sun, 06 Nov 2094 08:49:37 GMT\r\n", EMITTER__RETRY_AFTER_MAX_MS}, /* capped */
      {" 0.5\r\n", -1},
      {" -3\r\n", -1},
      {" +3\r\n", -1},
      {" 3 s\r\n", -1},
      {" \r\n", -1},
      {"", -1},
      {" soon\r\n", -1},
      {" Sun, 06 Nov 1994 08:49:37 GMT x\r\n", -1},
      {" Sun, 06 Nov 1994 08:49:37 gmt\r\n", -1},
      {" Sun, 06 Nov 1994 08:49 GMT\r\n", -1},
      {" Sun, 30 Feb 1994 08:49:37 GMT\r\n", -1},
      {" Sun, 06 Nov 1994 24:49:37 GMT\r\n", -1},
      {" Sun Nov 6 08:49:37 1994\r\n", -1},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    int64_t got = emitter__retry_after_ms(cases[i].v, strlen(cases[i].v), now);
    ck_assert_msg(got == cases[i].ms, "Retry-After:%s gives %lld, expected %lld", cases[i].v,
                  (long long)got, (long long)cases[i].ms);
  }
}
END_TEST

/* A server answering more duplicates than the batch had events: `duplicates` is "of them". */
START_TEST(test_duplicates_capped_at_sent)
{
  const char *script[] = {
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: "
      "close\r\nContent-Length: 32\r\n\r\n{\"accepted\":0,\"duplicates\":1000}"};
  serve(script, 1);
  stream_emitter *em = start(10, 20);
  emit_one(em);
  ck_assert_int_eq(stream_emitter_flush(em, 30000), STREAM_OK);
  stream_emitter_stats st = stats(em);
  stream_emitter_free(em);
  test_responder_stop(&resp);
  ck_assert_uint_eq(st.sent, 1);
  ck_assert_msg(st.duplicates == 1, "%llu duplicates of 1 event sent",
                (unsigned long long)st.duplicates);
}
END_TEST

#define REFUSAL(ctype)                                                                             \
  "HTTP/1.1 400 Bad Request\r\nContent-Type: " ctype "\r\nConnection: close\r\n"                   \
  "Content-Length: 2\r\n\r\n{}"

/* A 4xx refuses the batch for good only as the media type application/problem+json. */
static void expect_outcome(const char *first, bool refused)
{
  const char *ct = strstr(first, "Content-Type:");
  const char *script[] = {first, ACK};
  serve(script, 2);
  stream_emitter *em = start(10, 20);
  emit_one(em);
  ck_assert_int_eq(stream_emitter_flush(em, 30000), STREAM_OK);
  stream_emitter_stats st = stats(em);
  stream_emitter_free(em);
  test_responder_stop(&resp);
  ck_assert_msg(st.rejected == (refused ? 1u : 0u) && st.sent == (refused ? 0u : 1u),
                "answered 400 with '%.*s': %llu rejected, %llu sent", (int)strcspn(ct, "\r"), ct,
                (unsigned long long)st.rejected, (unsigned long long)st.sent);
}

START_TEST(test_problem_json_whole_media_type)
{
  expect_outcome(REFUSAL("application/problem+jsonx"), false);
  expect_outcome(REFUSAL("application/problem+json-seq"), false);
  expect_outcome(REFUSAL("text/html"), false);
  expect_outcome(REFUSAL("application/problem+json"), true);
  expect_outcome(REFUSAL("Application/Problem+JSON; charset=utf-8"), true);
  expect_outcome(REFUSAL("application/problem+json ;charset=utf-8"), true);
}
END_TEST

/* A token goes into the Authorization header as it is: CR/LF would add header lines. */
START_TEST(test_token_characters_refused)
{
  static const char *const bad[] = {"A\r\nX-Injected: yes", "a b", "tab\there", "caf\xc3\xa9",
                                    "del\x7f"};
  stream_emitter_options o = STREAM_EMITTER_OPTIONS_INIT;
  o.base_url = "http://127.0.0.1:9";
  o.shutdown_ms = 10;
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    stream_emitter *em = (stream_emitter *)1;
    o.access_token = bad[i];
    ck_assert_msg(stream_emitter_new(&em, &o) == STREAM_EINVAL, "token %zu accepted", i);
    ck_assert_ptr_null(em);
    ck_assert_ptr_null(strstr(stream_error_last()->message, bad[i])); /* never the token */
  }
  o.access_token = "good.token-_~+/=";
  stream_emitter *em = NULL;
  ck_assert_int_eq(stream_emitter_new(&em, &o), STREAM_OK);
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    ck_assert_msg(stream_emitter_set_token(em, bad[i]) == STREAM_EINVAL,
                  "set_token accepted token %zu", i);
  ck_assert_int_eq(stream_emitter_set_token(em, "other.token"), STREAM_OK);
  ck_assert_int_eq(stream_emitter_set_token(em, NULL), STREAM_OK);
  ck_assert_int_eq(stream_emitter_set_token(em, ""), STREAM_OK);
  stream_emitter_free(em);
}
END_TEST

/* stream_client_new's base URL rule: "#x" posted to "/" and "?q=" to "/?q=/v1/events", whose 404
 * refused every batch for good; URLs libcurl cannot parse were retried for ever. */
START_TEST(test_base_url_refused)
{
  static const char *const bad[] = {
      "http://",      "https://",        "http:///v1", "http://a b/",       "http://h/#frag",
      "http://h/?q=", "http://u:p@h:9/", "http://@h/", "http://h\r\nX: y",  "http://h\n/",
      "http://:80/",  "ftp://h/",        "http//h/",   "http://h\xc3\xa9/", "http://[::1/"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    stream_emitter_options o = STREAM_EMITTER_OPTIONS_INIT;
    o.base_url = bad[i];
    o.shutdown_ms = 10;
    stream_emitter *em = (stream_emitter *)1;
    int rc = stream_emitter_new(&em, &o);
    if (rc == STREAM_OK)
      stream_emitter_free(em);
    ck_assert_msg(rc == STREAM_EINVAL, "base_url %zu ('%s') gives %s", i, bad[i],
                  stream_strerror(rc));
    ck_assert_ptr_null(em);
  }
}
END_TEST

/* What stream_client_new accepts still works: upper-case scheme, a prefix, trailing slashes. */
START_TEST(test_base_url_prefix_kept)
{
  const char *script[] = {ACK};
  serve(script, 1);
  char base[96];
  snprintf(base, sizeof base, "HTTP://127.0.0.1:%d/ingest//", resp.port);
  stream_emitter_options o = STREAM_EMITTER_OPTIONS_INIT;
  o.base_url = base;
  o.shutdown_ms = 50;
  stream_emitter *em = NULL;
  ck_assert_int_eq(stream_emitter_new(&em, &o), STREAM_OK);
  emit_one(em);
  ck_assert_int_eq(stream_emitter_flush(em, 30000), STREAM_OK);
  stream_emitter_free(em);
  test_responder_stop(&resp);
  ck_assert_msg(strncmp(resp.last_request, "POST /ingest/v1/events HTTP/1.1\r\n", 33) == 0,
                "request line: %.60s", resp.last_request);
}
END_TEST

/* Options version 2 added ca_file / ca_path; a caller built against version 1 passes the shorter
 * struct, which must still work and must not be read past its end (the heap copy below ends
 * where version 1's struct did: ASan reports any read of ca_file). Other versions are refused,
 * and so are empty or oversized CA paths. */
START_TEST(test_options_versions_and_ca_paths)
{
  const char *script[] = {ACK};
  serve(script, 1);
  char base[64];
  snprintf(base, sizeof base, "http://127.0.0.1:%d", resp.port);
  stream_emitter_options full = STREAM_EMITTER_OPTIONS_INIT;
  ck_assert_uint_eq(full.version, 2);
  full.base_url = base;
  full.shutdown_ms = 50;
  size_t v1_size = offsetof(stream_emitter_options, ca_file);
  full.version = 1;
  unsigned char *v1 = malloc(v1_size);
  ck_assert_ptr_nonnull(v1);
  memcpy(v1, &full, v1_size);
  full.version = 2;
  stream_emitter *em = NULL;
  ck_assert_int_eq(stream_emitter_new(&em, (const stream_emitter_options *)(void *)v1), STREAM_OK);
  free(v1);
  emit_one(em);
  ck_assert_int_eq(stream_emitter_flush(em, 30000), STREAM_OK);
  stream_emitter_free(em);
  test_responder_stop(&resp);

  static const unsigned int bad_versions[] = {0, 3, 1000};
  for (size_t i = 0; i < sizeof bad_versions / sizeof *bad_versions; i++) {
    stream_emitter_options o = full;
    o.version = bad_versions[i];
    em = (stream_emitter *)1;
    ck_assert_int_eq(stream_emitter_new(&em, &o), STREAM_EINVAL);
    ck_assert_ptr_null(em);
    ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "expected 1 to 2"));
  }
  char long_path[4098];
  memset(long_path, 'a', sizeof long_path - 1);
  long_path[sizeof long_path - 1] = '\0';
  const char *bad_ca[][2] = {{"", NULL}, {NULL, ""}, {long_path, NULL}, {NULL, long_path}};
  for (size_t i = 0; i < sizeof bad_ca / sizeof *bad_ca; i++) {
    stream_emitter_options o = full;
    o.ca_file = bad_ca[i][0];
    o.ca_path = bad_ca[i][1];
    em = (stream_emitter *)1;
    ck_assert_int_eq(stream_emitter_new(&em, &o), STREAM_EINVAL);
    ck_assert_ptr_null(em);
    ck_assert_ptr_nonnull(strstr(stream_error_last()->message, o.ca_file ? "ca_file" : "ca_path"));
  }
}
END_TEST

int main(void)
{
  Suite *s = suite_create("emitter-http");
  TCase *tc = tcase_create("emitter-http");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_retry_after_zero_waits_the_backoff);
  tcase_add_test(tc, test_retry_after_fraction_is_absent);
  tcase_add_test(tc, test_retry_after_read_whole);
  tcase_add_test(tc, test_retry_after_http_date);
  tcase_add_test(tc, test_new_token_does_not_cut_a_429_wait);
  tcase_add_test(tc, test_retry_after_parser);
  tcase_add_test(tc, test_duplicates_capped_at_sent);
  tcase_add_test(tc, test_problem_json_whole_media_type);
  tcase_add_test(tc, test_token_characters_refused);
  tcase_add_test(tc, test_base_url_refused);
  tcase_add_test(tc, test_base_url_prefix_kept);
  tcase_add_test(tc, test_options_versions_and_ca_paths);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed_tests = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed_tests ? EXIT_FAILURE : EXIT_SUCCESS;
}
