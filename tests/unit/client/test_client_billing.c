/*
 * Unit tests of the client SDK's billing calls (libstream/client/billing.c)
 * without streamd: argument validation before any traffic, the 402 ->
 * STREAM_EPAYMENT mapping, and, against a scripted HTTP server on a loopback
 * port (tests/unit/responder.h), the Idempotency-Key header: the caller's key is sent
 * as given, a NULL key becomes a generated "cli-<32 hex>" key, and the
 * client's own retry after a session refresh (401 -> refresh -> again) sends
 * the same key as the first attempt. 409 answers of the lease calls become
 * STREAM_EBUSY / STREAM_EEXPIRED. The real routes are exercised in
 * tests/integration/ (client_driver.c "billing").
 */
#define _GNU_SOURCE /* strcasestr */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_internal.h"
#include "../responder.h"
#include "stream/stream.h"

static stream_client *make(const char *url)
{
  stream_client_options o = STREAM_CLIENT_OPTIONS_INIT;
  o.base_url = url;
  stream_client *c = NULL;
  ck_assert_int_eq(stream_client_new(&c, &o), STREAM_OK);
  return c;
}

/* ---- a scripted HTTP/1.1 server: one answer per connection (responder.h) --- */

#define MAX_EXCHANGES 4

typedef struct script {
  size_t n;                           /* answers to give */
  const char *answers[MAX_EXCHANGES]; /* "<status> <json>" */
  char raw[MAX_EXCHANGES][4096];      /* as sent: HTTP/1.1 answers */
  const char *resp[MAX_EXCHANGES];
  test_responder r; /* r.requests[i]: what arrived (head and body); r.served: how many */
} script;

static void script_start(script *s)
{
  for (size_t i = 0; i < s->n; i++) {
    int status = atoi(s->answers[i]);
    const char *json = strchr(s->answers[i], ' ') + 1;
    snprintf(s->raw[i], sizeof s->raw[i],
             "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n%s",
             status, status >= 400 ? "application/problem+json" : "application/json", strlen(json),
             json);
    s->resp[i] = s->raw[i];
  }
  test_responder_start(&s->r, s->resp, (int)s->n, -1);
}

static void script_join(script *s)
{
  test_responder_stop(&s->r);
}

/* The value of the Idempotency-Key header of request i ("" when absent). */
static void key_of(char *out, size_t cap, const script *s, size_t i)
{
  out[0] = '\0';
  const char *h = strcasestr(s->r.requests[i], "\r\nIdempotency-Key: ");
  if (!h)
    return;
  h += strlen("\r\nIdempotency-Key: ");
  size_t n = strcspn(h, "\r\n");
  snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), h);
}

static const char SUB_JSON[] =
    "201 {\"subscription\":{\"id\":\"s1\",\"plan_id\":\"basic\",\"status\":\"active\"},"
    "\"invoice_id\":\"i1\"}";

/* ---- tests ------------------------------------------------------------------ */

START_TEST(test_arguments_rejected_before_network)
{
  /* Port 1 on loopback: a request that left would fail with EIO. */
  stream_client *c = make("http://127.0.0.1:1");
  char *j = (char *)0x1;
  ck_assert_int_eq(stream_client_billing_plans(NULL, c), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_subscription(&j, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_subscribe(&j, c, NULL, NULL, "k1"), STREAM_EINVAL);
  ck_assert_ptr_null(j);
  ck_assert_int_eq(stream_client_billing_subscribe(&j, c, "bad plan", NULL, "k1"), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_subscribe(&j, c, "basic", "a/b", "k1"), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_subscribe(&j, c, "basic", NULL, ""), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_subscribe(&j, c, "basic", NULL, "has space"),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_subscribe(&j, c, "basic", NULL, "caf\xc3\xa9"),
                   STREAM_EINVAL);
  char longkey[300];
  memset(longkey, 'k', sizeof longkey - 1);
  longkey[sizeof longkey - 1] = '\0';
  ck_assert_int_eq(stream_client_billing_subscribe(&j, c, "basic", NULL, longkey), STREAM_EINVAL);
  longkey[255] = '\0'; /* 255 characters: accepted; then "not signed in" */
  ck_assert_int_eq(stream_client_billing_subscribe(&j, c, "basic", NULL, longkey), STREAM_EAUTH);
  ck_assert_int_eq(stream_client_billing_change_plan(&j, c, "", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_cancel(&j, NULL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_resume(&j, c, "tab\tkey"), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_invoices(NULL, c), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_card_add(&j, c, NULL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_card_add(&j, c, "", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_entitlement(&j, c, "t1", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_entitlement(&j, c, "t/1", "tv"), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_entitlement(&j, c, "t1", "tv\n1"), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_entitlement(NULL, c, "t1", "tv"), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_lease_acquire(&j, c, "t1", "", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_lease_acquire(&j, c, "", "tv", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_lease_heartbeat(&j, c, "../x"), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_lease_release(c, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_client_billing_lease_release(NULL, "l1"), STREAM_EINVAL);
  stream_client_free(c);
}
END_TEST

START_TEST(test_402_is_payment_error)
{
  const char *body = "{\"type\":\"urn:libstream:problem:payment-failed\",\"title\":\"Payment "
                     "failed\",\"status\":402,\"detail\":\"card declined\"}";
  ck_assert_int_eq(client__map_error(402, "application/problem+json", body, strlen(body), 0,
                                     "POST /v1/billing/subscription"),
                   STREAM_EPAYMENT);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "card declined"));
  ck_assert_int_eq(client__map_error(402, NULL, "", 0, 0, "POST /x"), STREAM_EPAYMENT);
}
END_TEST

START_TEST(test_given_key_is_sent)
{
  script s = {.n = 1, .answers = {SUB_JSON}};
  script_start(&s);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", s.r.port);
  stream_client *c = make(url);
  ck_assert_int_eq(stream_client_set_tokens(c, "access-1", "refresh-1"), STREAM_OK);
  char *j = NULL;
  ck_assert_int_eq(stream_client_billing_subscribe(&j, c, "basic", "card-1", "my-key_1"),
                   STREAM_OK);
  ck_assert_ptr_nonnull(strstr(j, "\"invoice_id\":\"i1\""));
  stream_free(j);
  script_join(&s);
  char k[300];
  key_of(k, sizeof k, &s, 0);
  ck_assert_str_eq(k, "my-key_1");
  ck_assert_ptr_nonnull(strstr(s.r.requests[0], "POST /v1/billing/subscription HTTP/1.1"));
  ck_assert_ptr_nonnull(strstr(s.r.requests[0], "{\"plan_id\":\"basic\",\"card_id\":\"card-1\"}"));
  stream_client_free(c);
}
END_TEST

START_TEST(test_generated_key_survives_refresh_retry)
{
  script s = {.n = 3,
              .answers = {"401 {\"type\":\"urn:libstream:problem:credential-expired\","
                          "\"title\":\"Credential expired\",\"status\":401}",
                          "200 {\"access_token\":\"access-2\",\"refresh_token\":\"refresh-2\","
                          "\"token_type\":\"Bearer\",\"expires_in\":900}",
                          SUB_JSON}};
  script_start(&s);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", s.r.port);
  stream_client *c = make(url);
  ck_assert_int_eq(stream_client_set_tokens(c, "access-1", "refresh-1"), STREAM_OK);
  ck_assert_int_eq(stream_client_billing_change_plan(NULL, c, "premium", NULL), STREAM_OK);
  script_join(&s);
  ck_assert_int_eq(s.r.served, 3);
  ck_assert_ptr_nonnull(strstr(s.r.requests[1], "POST /v1/auth/refresh"));
  char k1[300], k3[300];
  key_of(k1, sizeof k1, &s, 0);
  key_of(k3, sizeof k3, &s, 2);
  ck_assert_uint_eq(strlen(k1), 36);
  ck_assert_int_eq(strncmp(k1, "cli-", 4), 0);
  ck_assert_uint_eq(strspn(k1 + 4, "0123456789abcdef"), 32);
  ck_assert_str_eq(k1, k3); /* the retry carries the first attempt's key */
  ck_assert_ptr_nonnull(strstr(s.r.requests[2], "Authorization: Bearer access-2"));

  /* A second call without a key gets another one; reads send none. */
  script s2 = {.n = 2, .answers = {SUB_JSON, "200 {\"plans\":[]}"}};
  script_start(&s2);
  snprintf(url, sizeof url, "http://127.0.0.1:%d", s2.r.port);
  stream_client *c2 = make(url);
  ck_assert_int_eq(stream_client_set_tokens(c2, "access-1", "refresh-1"), STREAM_OK);
  ck_assert_int_eq(stream_client_billing_cancel(NULL, c2, NULL), STREAM_OK);
  char *j = NULL;
  ck_assert_int_eq(stream_client_billing_plans(&j, c2), STREAM_OK);
  stream_free(j);
  script_join(&s2);
  char k4[300], k5[300];
  key_of(k4, sizeof k4, &s2, 0);
  key_of(k5, sizeof k5, &s2, 1);
  ck_assert_uint_eq(strlen(k4), 36);
  ck_assert_str_ne(k4, k1);
  ck_assert_str_eq(k5, "");
  stream_client_free(c2);
  stream_client_free(c);
}
END_TEST

START_TEST(test_lease_conflicts_map_to_library_codes)
{
  script s = {.n = 3,
              .answers = {"409 {\"type\":\"urn:libstream:problem:conflict\",\"title\":\"Conflict\","
                          "\"status\":409,\"detail\":\"every screen is in use: Living room TV\","
                          "\"devices_in_use\":[]}",
                          "409 {\"type\":\"urn:libstream:problem:conflict\",\"title\":\"Conflict\","
                          "\"status\":409,\"detail\":\"the lease lapsed\"}",
                          "402 {\"type\":\"urn:libstream:problem:payment-failed\",\"title\":"
                          "\"Payment failed\",\"status\":402,\"detail\":\"insufficient funds\"}"}};
  script_start(&s);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", s.r.port);
  stream_client *c = make(url);
  ck_assert_int_eq(stream_client_set_tokens(c, "access-1", "refresh-1"), STREAM_OK);
  char *j = NULL;
  ck_assert_int_eq(stream_client_billing_lease_acquire(&j, c, "t1", "tv-2", "Kitchen"),
                   STREAM_EBUSY);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "Living room TV"));
  ck_assert_int_eq(stream_client_billing_lease_heartbeat(&j, c, "l1"), STREAM_EEXPIRED);
  ck_assert_int_eq(stream_client_billing_subscribe(&j, c, "basic", NULL, "k"), STREAM_EPAYMENT);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "insufficient funds"));
  ck_assert_int_eq(stream_client_last_http_status(), 402);
  script_join(&s);
  ck_assert_ptr_nonnull(strstr(s.r.requests[0], "\"device_name\":\"Kitchen\""));
  char k[300];
  key_of(k, sizeof k, &s, 0);
  ck_assert_str_eq(k, ""); /* leases take no key */
  stream_client_free(c);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("client-billing");
  TCase *tc = tcase_create("billing");
  tcase_add_test(tc, test_arguments_rejected_before_network);
  tcase_add_test(tc, test_402_is_payment_error);
  tcase_add_test(tc, test_given_key_is_sent);
  tcase_add_test(tc, test_generated_key_survives_refresh_retry);
  tcase_add_test(tc, test_lease_conflicts_map_to_library_codes);
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
