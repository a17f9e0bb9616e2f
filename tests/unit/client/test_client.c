/*
 * Unit tests of the client SDK that need no server (public API only, through
 * the shared library): options validation, base URL normalisation, token
 * handling, argument validation of every call (failing before any network
 * traffic), and network errors against a closed loopback port. The real
 * behaviour against streamd is tested in tests/integration/test_client.py.
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "stream/stream.h"

static stream_client *make(const char *url)
{
  stream_client_options o = STREAM_CLIENT_OPTIONS_INIT;
  o.base_url = url;
  stream_client *c = NULL;
  ck_assert_int_eq(stream_client_new(&c, &o), STREAM_OK);
  ck_assert_ptr_nonnull(c);
  return c;
}

/* A loopback port that nothing listens on (bound, then closed). */
static int closed_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static void assert_msg_contains(const char *needle)
{
  const stream_error *e = stream_error_last();
  ck_assert_ptr_nonnull(e);
  if (!strstr(e->message, needle))
    ck_abort_msg("message '%s' does not contain '%s'", e->message, needle);
}

START_TEST(test_options_defaults)
{
  stream_client_options o = STREAM_CLIENT_OPTIONS_INIT;
  ck_assert_uint_eq(o.version, 1);
  ck_assert_ptr_null(o.base_url);
  ck_assert_int_eq(o.connect_timeout_ms, 10000);
  ck_assert_int_eq(o.timeout_ms, 30000);
  ck_assert_uint_eq(o.max_response_bytes, 8u * 1024 * 1024);
  ck_assert_ptr_null(o.user_agent);
  ck_assert_ptr_null(o.client_id);
}
END_TEST

START_TEST(test_options_rejected)
{
  stream_client *c = (stream_client *)0x1;
  stream_client_options o = STREAM_CLIENT_OPTIONS_INIT;
  ck_assert_int_eq(stream_client_new(NULL, &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_new(&c, NULL), STREAM_EINVAL);
  ck_assert_ptr_null(c);
  /* no base URL */
  ck_assert_int_eq(stream_client_new(&c, &o), STREAM_EINVAL);
  assert_msg_contains("base_url");

  static const char *bad[] = {
      "", "127.0.0.1:8080", "ftp://example.com", "file:///etc/passwd", "http://", "http:///path",
      "http://host name", "http://example.com/?q=1", "http://example.com/#frag",
      "http://user:pw@example.com", "http://ex\x01mple.com", "http://exampl\xc3\xa9.com",
      "javascript:alert(1)",
      /* dot segments: sent as given, libcurl would not remove them */
      "http://example.com/api/../", "http://example.com/./api", "http://example.com/api/..",
      "http://example.com/%2e%2E/v", "http://example.com/a/.%2e/"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    o.base_url = bad[i];
    c = (stream_client *)0x1;
    if (stream_client_new(&c, &o) != STREAM_EINVAL)
      ck_abort_msg("base_url '%s' was accepted", bad[i]);
    ck_assert_ptr_null(c);
  }
  char longurl[3000];
  memset(longurl, 'a', sizeof longurl - 1);
  memcpy(longurl, "http://", 7);
  longurl[sizeof longurl - 1] = '\0';
  o.base_url = longurl;
  ck_assert_int_eq(stream_client_new(&c, &o), STREAM_EINVAL);

  o.base_url = "http://127.0.0.1:1";
  o.version = 2;
  ck_assert_int_eq(stream_client_new(&c, &o), STREAM_EINVAL);
  assert_msg_contains("version 2");
  o.version = 1;
  o.timeout_ms = 0;
  ck_assert_int_eq(stream_client_new(&c, &o), STREAM_EINVAL);
  o.timeout_ms = 1000;
  o.connect_timeout_ms = -5;
  ck_assert_int_eq(stream_client_new(&c, &o), STREAM_EINVAL);
  o.connect_timeout_ms = 1000;
  o.max_response_bytes = 100;
  ck_assert_int_eq(stream_client_new(&c, &o), STREAM_EINVAL);
  o.max_response_bytes = 4096;
  o.user_agent = "bad\r\nX-Injected: 1";
  ck_assert_int_eq(stream_client_new(&c, &o), STREAM_EINVAL);
  o.user_agent = "";
  ck_assert_int_eq(stream_client_new(&c, &o), STREAM_EINVAL);
  o.user_agent = "tv-app/1.0";
  o.client_id = "id\n";
  ck_assert_int_eq(stream_client_new(&c, &o), STREAM_EINVAL);
  o.client_id = "tv-app";
  ck_assert_int_eq(stream_client_new(&c, &o), STREAM_OK);
  stream_client_free(c);
  stream_client_free(NULL);
}
END_TEST

START_TEST(test_base_url_normalised)
{
  stream_client *c = make("HTTP://127.0.0.1:8080///");
  ck_assert_str_eq(stream_client_base_url(c), "http://127.0.0.1:8080");
  stream_client_free(c);
  c = make("https://api.example.com/streamd/");
  ck_assert_str_eq(stream_client_base_url(c), "https://api.example.com/streamd");
  stream_client_free(c);
  c = make("http://[::1]:8080");
  ck_assert_str_eq(stream_client_base_url(c), "http://[::1]:8080");
  stream_client_free(c);
  /* Dots inside a segment are no dot segment. */
  c = make("http://h/a.b/..c/.../%2e%2ex/");
  ck_assert_str_eq(stream_client_base_url(c), "http://h/a.b/..c/.../%2e%2ex");
  stream_client_free(c);
  ck_assert_ptr_null(stream_client_base_url(NULL));
}
END_TEST

START_TEST(test_tokens_roundtrip)
{
  stream_client *c = make("http://127.0.0.1:1");
  stream_client_session s;
  char *a = (char *)0x1, *r = (char *)0x1;
  ck_assert_int_eq(stream_client_session_info(&s, c), STREAM_EAUTH);
  ck_assert_int_eq(stream_client_get_tokens(&a, &r, c), STREAM_OK);
  ck_assert_ptr_null(a);
  ck_assert_ptr_null(r);

  ck_assert_int_eq(stream_client_set_tokens(c, "aaa.bbb.ccc", "refresh-1"), STREAM_OK);
  ck_assert_int_eq(stream_client_get_tokens(&a, &r, c), STREAM_OK);
  ck_assert_str_eq(a, "aaa.bbb.ccc");
  ck_assert_str_eq(r, "refresh-1");
  stream_free_secret(a, strlen(a));
  stream_free_secret(r, strlen(r));
  ck_assert_int_eq(stream_client_session_info(&s, c), STREAM_OK);
  ck_assert_str_eq(s.account_id, "");
  ck_assert_str_eq(s.profile_id, "");

  /* Only a refresh token: allowed (the next call refreshes first). */
  ck_assert_int_eq(stream_client_set_tokens(c, NULL, "refresh-2"), STREAM_OK);
  ck_assert_int_eq(stream_client_get_tokens(&a, NULL, c), STREAM_OK);
  ck_assert_ptr_null(a);
  ck_assert_int_eq(stream_client_get_tokens(NULL, &r, c), STREAM_OK);
  ck_assert_str_eq(r, "refresh-2");
  stream_free(r);

  /* Bad tokens are refused and leave the session as it was. */
  ck_assert_int_eq(stream_client_set_tokens(c, "", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_set_tokens(c, "a b", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_set_tokens(c, "ok", "line\nbreak"), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_set_tokens(c, "caf\xc3\xa9", NULL), STREAM_EINVAL);
  char *huge = malloc(9000);
  memset(huge, 'x', 8999);
  huge[8999] = '\0';
  ck_assert_int_eq(stream_client_set_tokens(c, huge, NULL), STREAM_EINVAL);
  free(huge);
  ck_assert_int_eq(stream_client_get_tokens(NULL, &r, c), STREAM_OK);
  ck_assert_str_eq(r, "refresh-2");
  stream_free(r);

  ck_assert_int_eq(stream_client_set_tokens(c, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(stream_client_session_info(&s, c), STREAM_EAUTH);
  ck_assert_int_eq(stream_client_set_tokens(NULL, "a", "b"), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_get_tokens(&a, &r, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_session_info(NULL, c), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_session_info(&s, NULL), STREAM_EINVAL);
  /* Logout while signed out is a no-op, and sends nothing. */
  ck_assert_int_eq(stream_client_logout(c), STREAM_OK);
  stream_client_free(c);
}
END_TEST

START_TEST(test_arguments_rejected_before_network)
{
  /* Port 1 on loopback: any request that left would fail with EIO, so
   * EINVAL proves validation happened first. */
  stream_client *c = make("http://127.0.0.1:1");
  char *j = (char *)0x1;
  stream_client_session s;
  stream_client_account acct;
  ck_assert_int_eq(stream_client_login(&s, c, NULL, "password1"), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_login(&s, c, "a@b.c", ""), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_login(&s, NULL, "a@b.c", "password1"), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_register(&acct, c, "a@b.c", "short"), STREAM_EINVAL);
  assert_msg_contains("8..1024");
  char big[1100];
  memset(big, 'p', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  ck_assert_int_eq(stream_client_register(&acct, c, "a@b.c", big), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_register(&acct, c, "", "password1"), STREAM_EINVAL);

  ck_assert_int_eq(stream_client_title(&j, c, NULL), STREAM_EINVAL);
  ck_assert_ptr_null(j);
  ck_assert_int_eq(stream_client_title(&j, c, ""), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_title(&j, c, "../admin"), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_title(&j, c, "abc/def"), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_title(&j, c, "abc?x=1"), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_title(
                       &j, c, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
                   STREAM_EINVAL); /* 65 characters */
  ck_assert_int_eq(stream_client_title(NULL, c, "abc"), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_browse(&j, c, NULL, NULL, -1), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_browse(&j, c, NULL, NULL, 101), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_browse(&j, c, "", NULL, 10), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_browse(&j, c, NULL, "", 10), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_search(&j, c, "", 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_search(&j, c, NULL, 0), STREAM_EINVAL);
  char q[300];
  memset(q, 'q', sizeof q - 1);
  q[sizeof q - 1] = '\0';
  ck_assert_int_eq(stream_client_search(&j, c, q, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_progress_put(c, "t1", NULL, 10, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_progress_put(c, "t1", NULL, -1, 100), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_progress_put(c, "t1", NULL, 101, 100), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_progress_put(c, "t1", NULL, 1, 604801), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_progress_put(c, "t1", "bad id", 1, 100), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_continue_watching(&j, c, 1000), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_mylist_add(c, "a/b"), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_mylist_remove(c, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_mylist(NULL, c), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_profile_switch(&s, c, "p1", "12345"), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_profile_switch(&s, c, "p1", "12a4"), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_profile_switch(&s, c, "p 1", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_profile_delete(c, ""), STREAM_EINVAL);

  stream_client_profile_spec spec = STREAM_CLIENT_PROFILE_SPEC_INIT;
  ck_assert_int_eq(spec.maturity_ceiling, -1);
  ck_assert_int_eq(stream_client_profile_create(&j, c, &spec), STREAM_EINVAL); /* no name */
  spec.name = "Kids";
  spec.maturity_ceiling = 12;
  ck_assert_int_eq(stream_client_profile_create(&j, c, &spec), STREAM_EINVAL);
  spec.maturity_ceiling = 7;
  spec.pin = "000";
  ck_assert_int_eq(stream_client_profile_create(&j, c, &spec), STREAM_EINVAL);
  spec.pin = NULL;
  spec.kids = 2;
  ck_assert_int_eq(stream_client_profile_create(&j, c, &spec), STREAM_EINVAL);
  spec.kids = 1;
  spec.version = 0;
  ck_assert_int_eq(stream_client_profile_create(&j, c, &spec), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_profile_create(&j, c, NULL), STREAM_EINVAL);

  ck_assert_int_eq(stream_client_request(&j, c, "TRACE", "/v1/x", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_request(&j, c, "GET", "v1/x", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_request(&j, c, "GET", "/v1/x y", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_request(&j, c, "GET", "/v1/x\r\nHost: evil", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_request(&j, c, "POST", "/v1/x", "{not json"), STREAM_EINVAL);

  stream_client_device dev;
  memset(&dev, 0, sizeof dev);
  int state = -1;
  ck_assert_int_eq(stream_client_device_poll(&state, c, &dev), STREAM_EINVAL); /* no code */
  ck_assert_int_eq(stream_client_device_poll(NULL, c, &dev), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_device_start(NULL, c), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_device_wait(c, &dev, 0, NULL, NULL, NULL), STREAM_EINVAL);
  strcpy(dev.device_code, "dc");
  dev.interval = 1;
  ck_assert_int_eq(stream_client_device_wait(c, &dev, -1, NULL, NULL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_activate(c, "", "a@b.c", "pw", 1), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_activate(c, "BCDF-GHJK", "a@b.c", NULL, 1), STREAM_EINVAL);
  stream_client_free(c);
}
END_TEST

START_TEST(test_not_signed_in_is_eauth_without_network)
{
  stream_client *c = make("http://127.0.0.1:1");
  char *j = (char *)0x1;
  ck_assert_int_eq(stream_client_genres(&j, c), STREAM_EAUTH);
  ck_assert_ptr_null(j);
  assert_msg_contains("not signed in");
  ck_assert_int_eq(stream_client_refresh(c), STREAM_EAUTH);
  stream_client_free(c);
}
END_TEST

START_TEST(test_network_error_is_eio_with_curl_message)
{
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", closed_port());
  stream_client *c = make(url);
  stream_client_session s;
  ck_assert_int_eq(stream_client_login(&s, c, "a@b.c", "password1"), STREAM_EIO);
  assert_msg_contains("POST /v1/auth/login");
  ck_assert_int_eq(stream_client_last_http_status(), 0);
  /* The password never shows up in the message. */
  ck_assert_ptr_null(strstr(stream_error_last()->message, "password1"));
  stream_client_device dev;
  ck_assert_int_eq(stream_client_device_start(&dev, c), STREAM_EIO);
  /* With tokens set, a network failure keeps them. */
  ck_assert_int_eq(stream_client_set_tokens(c, "acc", "ref"), STREAM_OK);
  char *j = NULL;
  ck_assert_int_eq(stream_client_genres(&j, c), STREAM_EIO);
  char *r = NULL;
  ck_assert_int_eq(stream_client_get_tokens(NULL, &r, c), STREAM_OK);
  ck_assert_str_eq(r, "ref");
  stream_free(r);
  /* Logout forgets locally even when the server cannot be reached. */
  ck_assert_int_eq(stream_client_logout(c), STREAM_EIO);
  stream_client_session info;
  ck_assert_int_eq(stream_client_session_info(&info, c), STREAM_EAUTH);
  stream_client_free(c);
}
END_TEST

START_TEST(test_device_wait_cancel_and_timeout)
{
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", closed_port());
  stream_client *c = make(url);
  stream_client_device dev;
  memset(&dev, 0, sizeof dev);
  strcpy(dev.device_code, "device-code");
  strcpy(dev.user_code, "BCDF-GHJK");
  dev.interval = 1;
  dev.expires_in = 600;
  dev.started_at = (int64_t)time(NULL);
  int cancel = 1;
  ck_assert_int_eq(stream_client_device_wait(c, &dev, 0, &cancel, NULL, NULL), STREAM_ECANCELED);
  cancel = 0;
  /* Network errors back off; the timeout ends the wait. */
  ck_assert_int_eq(stream_client_device_wait(c, &dev, 1500, &cancel, NULL, NULL), STREAM_ETIMEDOUT);
  /* Codes already expired. */
  dev.started_at = (int64_t)time(NULL) - 700;
  ck_assert_int_eq(stream_client_device_wait(c, &dev, 0, NULL, NULL, NULL), STREAM_EEXPIRED);
  stream_client_free(c);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("client");
  TCase *tc = tcase_create("offline");
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_options_defaults);
  tcase_add_test(tc, test_options_rejected);
  tcase_add_test(tc, test_base_url_normalised);
  tcase_add_test(tc, test_tokens_roundtrip);
  tcase_add_test(tc, test_arguments_rejected_before_network);
  tcase_add_test(tc, test_not_signed_in_is_eauth_without_network);
  tcase_add_test(tc, test_network_error_is_eio_with_curl_message);
  tcase_add_test(tc, test_device_wait_cancel_and_timeout);
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
