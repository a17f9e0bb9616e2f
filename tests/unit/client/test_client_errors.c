/*
 * Error mapping of the client SDK (internal view): the HTTP status +
 * problem+json / OAuth error -> stream_status table, URL escaping, and the
 * same mapping through the whole stack against a tiny scripted HTTP
 * responder on a loopback socket (canned error answers only; the real
 * behaviour is tested against streamd in tests/integration/). Malformed,
 * truncated and bit-flipped bodies always map to an error, never to success.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_internal.h"
#include "../responder.h"

/* ---- the pure mapping --------------------------------------------------- */

static const char *PJ = "application/problem+json";

static int map(long st, const char *ct, const char *body, int64_t ra)
{
  return client__map_error(st, ct, body, body ? strlen(body) : 0, ra, "GET /v1/x");
}

static void assert_msg_contains(const char *needle)
{
  const stream_error *e = stream_error_last();
  ck_assert_ptr_nonnull(e);
  if (!strstr(e->message, needle))
    ck_abort_msg("message '%s' does not contain '%s'", e->message, needle);
}

START_TEST(test_status_table)
{
  static const struct {
    long st;
    int code;
  } t[] = {{400, STREAM_EINVAL},    {401, STREAM_EAUTH},     {403, STREAM_EFORBIDDEN},
           {404, STREAM_ENOTFOUND}, {405, STREAM_EINVAL},    {409, STREAM_ECONFLICT},
           {410, STREAM_ENOTFOUND}, {413, STREAM_ERANGE},    {415, STREAM_EINVAL},
           {418, STREAM_EINVAL},    {429, STREAM_EBUSY},     {431, STREAM_ERANGE},
           {500, STREAM_EIO},       {501, STREAM_ENOTSUP},   {502, STREAM_EIO},
           {503, STREAM_EBUSY},     {504, STREAM_ETIMEDOUT}, {599, STREAM_EIO},
           {302, STREAM_EPROTO},    {100, STREAM_EPROTO},    {0, STREAM_EPROTO}};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    int code = map(t[i].st, NULL, NULL, 0);
    if (code != t[i].code)
      ck_abort_msg("HTTP %ld mapped to %d, expected %d", t[i].st, code, t[i].code);
    char want[32];
    snprintf(want, sizeof want, "HTTP %ld", t[i].st);
    assert_msg_contains(want);
  }
}
END_TEST

START_TEST(test_problem_details)
{
  ck_assert_int_eq(map(404, PJ,
                       "{\"type\":\"urn:libstream:problem:not-found\",\"title\":\"Not found\","
                       "\"status\":404,\"detail\":\"no title with id 'abc'\"}",
                       0),
                   STREAM_ENOTFOUND);
  assert_msg_contains("no title with id 'abc'");
  assert_msg_contains("GET /v1/x");
  ck_assert_int_eq(
      map(409, PJ, "{\"type\":\"urn:libstream:problem:already-exists\",\"status\":409}", 0),
      STREAM_EEXIST);
  ck_assert_int_eq(map(409, PJ, "{\"type\":\"urn:libstream:problem:conflict\"}", 0),
                   STREAM_ECONFLICT);
  ck_assert_int_eq(map(400, PJ,
                       "{\"type\":\"urn:libstream:problem:out-of-range\",\"detail\":\"an account "
                       "has at most 5 profiles\"}",
                       0),
                   STREAM_ERANGE);
  assert_msg_contains("at most 5 profiles");
  ck_assert_int_eq(map(400, PJ, "{\"type\":\"urn:libstream:problem:malformed-json\"}", 0),
                   STREAM_EINVAL);
  /* 401 is always EAUTH, whatever the slug says. */
  ck_assert_int_eq(map(401, PJ, "{\"type\":\"urn:libstream:problem:credential-expired\"}", 0),
                   STREAM_EAUTH);
  ck_assert_int_eq(map(401, PJ, "{\"type\":\"urn:libstream:problem:not-found\"}", 0), STREAM_EAUTH);
  /* A slug never moves an answer out of its status class. */
  ck_assert_int_eq(map(500, PJ, "{\"type\":\"urn:libstream:problem:not-found\"}", 0), STREAM_EIO);
  ck_assert_int_eq(map(503, PJ, "{\"type\":\"urn:libstream:problem:draining\"}", 0), STREAM_EBUSY);
  ck_assert_int_eq(map(400, PJ, "{\"type\":\"urn:libstream:problem:timed-out\"}", 0),
                   STREAM_EINVAL);
  /* Foreign problem types fall back to the status. */
  ck_assert_int_eq(map(409, PJ, "{\"type\":\"https://example.com/probs/already-exists\"}", 0),
                   STREAM_ECONFLICT);
  ck_assert_int_eq(map(409, PJ, "{\"type\":\"urn:libstream:problem:\"}", 0), STREAM_ECONFLICT);
  /* title when there is no detail */
  ck_assert_int_eq(map(403, PJ, "{\"title\":\"Forbidden here\"}", 0), STREAM_EFORBIDDEN);
  assert_msg_contains("Forbidden here");
  /* Retry-After is in the message. */
  ck_assert_int_eq(map(429, PJ,
                       "{\"type\":\"urn:libstream:problem:busy\",\"detail\":\"too many "
                       "login attempts\"}",
                       7),
                   STREAM_EBUSY);
  assert_msg_contains("too many login attempts");
  assert_msg_contains("retry after 7 s");
  /* Control characters from the server are neutralised. */
  ck_assert_int_eq(map(400, PJ, "{\"detail\":\"a\\nb\\u0007c\"}", 0), STREAM_EINVAL);
  assert_msg_contains("a b c");
  /* A JSON body with another content type is not trusted for details. */
  ck_assert_int_eq(map(404, "text/plain", "{\"detail\":\"secret\"}", 0), STREAM_ENOTFOUND);
  ck_assert_ptr_null(strstr(stream_error_last()->message, "secret"));
}
END_TEST

START_TEST(test_oauth_errors)
{
  const char *ct = "application/json";
  ck_assert_int_eq(map(400, ct,
                       "{\"error\":\"invalid_grant\",\"error_description\":\"refresh "
                       "token was already used\"}",
                       0),
                   STREAM_EAUTH);
  assert_msg_contains("already used");
  ck_assert_int_eq(map(400, ct, "{\"error\":\"access_denied\"}", 0), STREAM_EFORBIDDEN);
  assert_msg_contains("access_denied");
  ck_assert_int_eq(map(400, ct, "{\"error\":\"expired_token\"}", 0), STREAM_EEXPIRED);
  ck_assert_int_eq(map(400, ct, "{\"error\":\"unsupported_grant_type\"}", 0), STREAM_EINVAL);
  ck_assert_int_eq(map(400, ct, "{\"error\":42}", 0), STREAM_EINVAL);
  /* OAuth codes only count on 4xx answers. */
  ck_assert_int_eq(map(500, ct, "{\"error\":\"invalid_grant\"}", 0), STREAM_EIO);
}
END_TEST

START_TEST(test_malformed_bodies_never_succeed)
{
  const char *good = "{\"type\":\"urn:libstream:problem:not-found\",\"title\":\"Not found\","
                     "\"status\":404,\"detail\":\"gone\"}";
  size_t n = strlen(good);
  char buf[256];
  /* every truncation */
  for (size_t i = 0; i <= n; i++) {
    memcpy(buf, good, i);
    buf[i] = '\0';
    int code = client__map_error(404, PJ, buf, i, 0, "t");
    ck_assert_int_eq(code, STREAM_ENOTFOUND);
  }
  /* every single bit flip */
  for (size_t i = 0; i < n; i++) {
    for (int bit = 0; bit < 8; bit++) {
      memcpy(buf, good, n + 1);
      buf[i] ^= (char)(1 << bit);
      int code = client__map_error(404, PJ, buf, n, 0, "t");
      ck_assert_int_lt(code, 0);
    }
  }
  /* random bytes, with every status class */
  srand(1234);
  static const long sts[] = {400, 401, 404, 409, 429, 500, 503};
  for (int round = 0; round < 2000; round++) {
    size_t len = (size_t)(rand() % 200);
    for (size_t i = 0; i < len; i++)
      buf[i] = (char)(rand() & 0xff);
    long st = sts[round % 7];
    int code = client__map_error(st, round % 2 ? PJ : "application/json", buf, len, 0, "t");
    ck_assert_int_lt(code, 0);
  }
  /* Deeply nested JSON does not crash the parser path. */
  char *deep = malloc(20001);
  for (int i = 0; i < 10000; i++)
    deep[i] = '[';
  for (int i = 10000; i < 20000; i++)
    deep[i] = ']';
  deep[20000] = '\0';
  ck_assert_int_eq(client__map_error(400, PJ, deep, 20000, 0, "t"), STREAM_EINVAL);
  free(deep);
}
END_TEST

START_TEST(test_escaping)
{
  stream__buf b;
  stream__buf_init(&b);
  client__escape(&b, "a b/\xc3\xbc?&=%~._-Z9");
  char *s = NULL;
  ck_assert_int_eq(stream__buf_detach(&b, &s), STREAM_OK);
  ck_assert_str_eq(s, "a%20b%2F%C3%BC%3F%26%3D%25~._-Z9");
  free(s);
  stream__buf_init(&b);
  stream__buf_puts(&b, "/v1/browse");
  client__query(&b, "genre", "Sci-Fi & Fantasy");
  client__query_int(&b, "limit", 5);
  ck_assert_int_eq(stream__buf_detach(&b, &s), STREAM_OK);
  ck_assert_str_eq(s, "/v1/browse?genre=Sci-Fi%20%26%20Fantasy&limit=5");
  free(s);
  ck_assert_int_eq(client__check_id("id", "q2Ww7dC1QPiBhKr3vFaSgA"), STREAM_OK);
  ck_assert_int_eq(client__check_id("id", "q2Ww7dC1QPiB/Kr3vFaSgA"), STREAM_EINVAL);
  ck_assert_int_eq(client__check_id("id", "%2e%2e"), STREAM_EINVAL);
}
END_TEST

/* ---- through the stack, against a scripted responder (responder.h) ------ */

static stream_client *client_for(const test_responder *r, size_t max_response)
{
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", r->port);
  stream_client_options o = STREAM_CLIENT_OPTIONS_INIT;
  o.base_url = url;
  o.timeout_ms = 5000;
  if (max_response)
    o.max_response_bytes = max_response;
  stream_client *c = NULL;
  ck_assert_int_eq(stream_client_new(&c, &o), STREAM_OK);
  return c;
}

#define PROBLEM(status, reason, slug, detail, extra)                                               \
  "HTTP/1.1 " #status " " reason "\r\nContent-Type: application/problem+json\r\n" extra            \
  "Connection: close\r\n\r\n{\"type\":\"urn:libstream:problem:" slug "\",\"title\":\"t\","         \
  "\"status\":" #status ",\"detail\":\"" detail "\"}"

START_TEST(test_responder_error_mapping)
{
  static char big[6000];
  snprintf(big, sizeof big,
           "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
           "Connection: close\r\n\r\n[");
  size_t n = strlen(big);
  memset(big + n, '1', sizeof big - n - 3);
  big[sizeof big - 3] = ']';
  big[sizeof big - 2] = '\0';
  const char *script[] = {
      PROBLEM(404, "Not Found", "not-found", "no title with id 'zzz'", ""),
      PROBLEM(429, "Too Many Requests", "busy", "slow down please", "Retry-After: 7\r\n"),
      PROBLEM(409, "Conflict", "already-exists", "email already registered", ""),
      "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
      "<h1>oops</h1>",
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nnot json",
      big,
      /* a login answer without a refresh token */
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
      "{\"access_token\":\"a.b.c\",\"token_type\":\"Bearer\",\"expires_in\":900}",
  };
  test_responder r;
  test_responder_start(&r, script, 7, -1);
  stream_client *c = client_for(&r, 4096);
  ck_assert_int_eq(stream_client_set_tokens(c, "access.token.x", "refresh-x"), STREAM_OK);
  char *j = (char *)0x1;
  ck_assert_int_eq(stream_client_title(&j, c, "zzz"), STREAM_ENOTFOUND);
  ck_assert_ptr_null(j);
  assert_msg_contains("no title with id 'zzz'");
  ck_assert_int_eq(stream_client_last_http_status(), 404);
  ck_assert(strstr(r.last_request, "GET /v1/titles/zzz HTTP/1.1\r\n") == r.last_request);
  ck_assert_ptr_nonnull(strstr(r.last_request, "\r\nAuthorization: Bearer access.token.x\r\n"));

  stream_client_session s;
  ck_assert_int_eq(stream_client_login(&s, c, "a@b.c", "hunter22"), STREAM_EBUSY);
  ck_assert_int_eq(stream_client_retry_after(), 7);
  ck_assert_ptr_null(strstr(r.last_request, "Authorization")); /* login sends no token */
  ck_assert_int_eq(stream_client_last_http_status(), 429);
  assert_msg_contains("slow down please");
  ck_assert_ptr_null(strstr(stream_error_last()->message, "hunter22"));

  stream_client_account acct;
  ck_assert_int_eq(stream_client_register(&acct, c, "a@b.c", "hunter22!"), STREAM_EEXIST);
  assert_msg_contains("email already registered");
  ck_assert_str_eq(acct.id, "");

  ck_assert_int_eq(stream_client_request(&j, c, "GET", "/v1/anything", NULL), STREAM_EIO);
  assert_msg_contains("HTTP 500");
  ck_assert_int_eq(stream_client_retry_after(), 0);

  ck_assert_int_eq(stream_client_request(&j, c, "GET", "/v1/anything", NULL), STREAM_EPROTO);
  ck_assert_ptr_null(j);

  ck_assert_int_eq(stream_client_request(&j, c, "GET", "/v1/big", NULL), STREAM_ERANGE);
  assert_msg_contains("4096");

  ck_assert_int_eq(stream_client_login(&s, c, "a@b.c", "hunter22"), STREAM_EPROTO);
  /* Nothing stored: the earlier session is intact. */
  char *rt = NULL;
  ck_assert_int_eq(stream_client_get_tokens(NULL, &rt, c), STREAM_OK);
  ck_assert_str_eq(rt, "refresh-x");
  stream_free(rt);
  stream_client_free(c);
  test_responder_stop(&r);
}
END_TEST

#define OAUTH(body)                                                                                \
  "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" body

START_TEST(test_responder_device_poll_errors)
{
  const char *script[] = {
      OAUTH("{\"error\":\"authorization_pending\"}"),
      OAUTH("{\"error\":\"slow_down\"}"),
      OAUTH("{\"error\":\"slow_down\",\"interval\":30}"),
      OAUTH("{\"error\":\"access_denied\"}"),
      OAUTH("{\"error\":\"expired_token\"}"),
      OAUTH("{\"error\":\"invalid_grant\",\"error_description\":\"unknown device code\"}"),
      OAUTH("not even json"),
  };
  test_responder r;
  test_responder_start(&r, script, 7, -1);
  stream_client *c = client_for(&r, 0);
  stream_client_device dev;
  memset(&dev, 0, sizeof dev);
  strcpy(dev.device_code, "dev code+/=");
  strcpy(dev.user_code, "BCDF-GHJK");
  dev.interval = 5;
  int state = -1;
  ck_assert_int_eq(stream_client_device_poll(&state, c, &dev), STREAM_OK);
  ck_assert_int_eq(state, STREAM_CLIENT_DEVICE_PENDING);
  ck_assert_int_eq(dev.interval, 5);
  /* the form body, escaped */
  ck_assert_ptr_nonnull(strstr(r.last_request, "Content-Type: application/x-www-form-urlencoded"));
  ck_assert_ptr_nonnull(strstr(r.last_request,
                               "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"
                               "&device_code=dev%20code%2B%2F%3D&client_id=libstream"));
  ck_assert_int_eq(stream_client_device_poll(&state, c, &dev), STREAM_OK);
  ck_assert_int_eq(state, STREAM_CLIENT_DEVICE_SLOW_DOWN);
  ck_assert_int_eq(dev.interval, 10); /* +5 s */
  ck_assert_int_eq(stream_client_device_poll(&state, c, &dev), STREAM_OK);
  ck_assert_int_eq(state, STREAM_CLIENT_DEVICE_SLOW_DOWN);
  ck_assert_int_eq(dev.interval, 30); /* the server's larger value */
  ck_assert_int_eq(stream_client_device_poll(&state, c, &dev), STREAM_EFORBIDDEN);
  ck_assert_int_eq(stream_client_device_poll(&state, c, &dev), STREAM_EEXPIRED);
  ck_assert_int_eq(stream_client_device_poll(&state, c, &dev), STREAM_EAUTH);
  assert_msg_contains("unknown device code");
  ck_assert_int_eq(stream_client_device_poll(&state, c, &dev), STREAM_EINVAL);
  stream_client_free(c);
  test_responder_stop(&r);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("client-errors");
  TCase *tc = tcase_create("mapping");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_status_table);
  tcase_add_test(tc, test_problem_details);
  tcase_add_test(tc, test_oauth_errors);
  tcase_add_test(tc, test_malformed_bodies_never_succeed);
  tcase_add_test(tc, test_escaping);
  tcase_add_test(tc, test_responder_error_mapping);
  tcase_add_test(tc, test_responder_device_poll_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
