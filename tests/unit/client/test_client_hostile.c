/*
 * The client SDK against a hostile server (internal view; review RV10): tokens and ids from token
 * responses that would inject header lines, a refresh in flight that must not overwrite tokens
 * stored meanwhile (a profile switch, a sign-in, set_tokens), the query string kept out of
 * messages and logs, 2xx bodies that are not JSON or not of the promised shape, out-of-range
 * numbers, the request() path sent as given and server text in messages.
 *
 * Sequential exchanges go through the scripted responder (responder.h). Two cases need what it
 * cannot do: answers with NUL bytes, and a request served while another one is held. For them,
 * `router` below serves every connection on its own thread and answers through a function of
 * the request; the function can hold the refresh until the test releases it.
 */
#include <arpa/inet.h>
#include <check.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/client_internal.h"
#include "../responder.h"

static stream_client *client_at(int port, size_t max_response, long timeout_ms)
{
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
  stream_client_options o = STREAM_CLIENT_OPTIONS_INIT;
  o.base_url = url;
  o.timeout_ms = timeout_ms ? timeout_ms : 5000;
  if (max_response)
    o.max_response_bytes = max_response;
  stream_client *c = NULL;
  ck_assert_int_eq(stream_client_new(&c, &o), STREAM_OK);
  return c;
}

static void assert_msg_lacks(const char *needle)
{
  const stream_error *e = stream_error_last();
  ck_assert_ptr_nonnull(e);
  if (strstr(e->message, needle))
    ck_abort_msg("message '%s' contains '%s'", e->message, needle);
}

static void assert_tokens(stream_client *c, const char *access, const char *refresh)
{
  char *a = NULL, *r = NULL;
  ck_assert_int_eq(stream_client_get_tokens(&a, &r, c), STREAM_OK);
  ck_assert_str_eq(a, access);
  ck_assert_str_eq(r, refresh);
  /* What get_tokens returns, set_tokens takes. */
  ck_assert_int_eq(stream_client_set_tokens(c, a, r), STREAM_OK);
  stream_free(a);
  stream_free(r);
}

#define JSON200(body)                                                                              \
  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" body

/* ---- 1: tokens and ids from the server ---------------------------------- */

START_TEST(test_token_response_characters)
{
  const char *script[] = {
      JSON200("{\"access_token\":\"A\\r\\nX-Injected: yes\",\"refresh_token\":\"R2\"}"),
      JSON200("{\"access_token\":\"A2\",\"refresh_token\":\"R\\nX-Injected: yes\"}"),
      JSON200("{\"access_token\":\"A 2\",\"refresh_token\":\"R2\"}"),
      JSON200("{\"access_token\":\"A\\u00e92\",\"refresh_token\":\"R2\"}"),
      JSON200("{\"access_token\":\"A2\",\"refresh_token\":\"R2\",\"account_id\":\"a\\r\\nb\"}"),
      JSON200("{\"access_token\":\"A2\",\"refresh_token\":\"R2\",\"profile_id\":\"p\\u007fq\"}"),
      JSON200("{\"access_token\":\"A2\",\"refresh_token\":\"R2\",\"profile_id\":\"p q\"}"),
      /* the same through a profile switch and a device poll */
      JSON200("{\"access_token\":\"A\\r\\nX-Injected: yes\",\"refresh_token\":\"R2\"}"),
      JSON200("{\"access_token\":\"A\\r\\nX-Injected: yes\",\"refresh_token\":\"R2\"}"),
      /* a 401 with the stored token, then a refresh answering a bad token */
      "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/problem+json\r\n"
      "Connection: close\r\n\r\n{}",
      JSON200("{\"access_token\":\"A\\r\\nX-Injected: yes\",\"refresh_token\":\"R2\"}"),
      JSON200("{\"genres\":[]}"),
  };
  test_responder r;
  test_responder_start(&r, script, 12, -1);
  stream_client *c = client_at(r.port, 0, 0);
  ck_assert_int_eq(stream_client_set_tokens(c, "OLD-A", "OLD-R"), STREAM_OK);
  stream_client_session s;
  for (int i = 0; i < 7; i++) {
    ck_assert_int_eq(stream_client_login(&s, c, "a@b.c", "hunter22"), STREAM_EPROTO);
    ck_assert_str_eq(s.account_id, "");
    assert_tokens(c, "OLD-A", "OLD-R"); /* nothing stored */
  }
  ck_assert_int_eq(stream_client_profile_switch(&s, c, "kid1", NULL), STREAM_EPROTO);
  assert_tokens(c, "OLD-A", "OLD-R");
  stream_client_device dev;
  memset(&dev, 0, sizeof dev);
  strcpy(dev.device_code, "devcode");
  strcpy(dev.user_code, "BCDF-GHJK");
  dev.interval = 5;
  int state = -1;
  ck_assert_int_eq(stream_client_device_poll(&state, c, &dev), STREAM_EPROTO);
  ck_assert_int_ne(state, STREAM_CLIENT_DEVICE_APPROVED);
  assert_tokens(c, "OLD-A", "OLD-R");
  char *j = NULL;
  ck_assert_int_eq(stream_client_genres(&j, c), STREAM_EPROTO);
  ck_assert_ptr_null(j);
  assert_tokens(c, "OLD-A", "OLD-R");
  /* Whatever was answered, no request carried an injected line. */
  ck_assert_int_eq(stream_client_genres(&j, c), STREAM_OK);
  stream_free(j);
  ck_assert_ptr_nonnull(strstr(r.last_request, "Authorization: Bearer OLD-A\r\n"));
  ck_assert_ptr_null(strstr(r.last_request, "X-Injected"));
  stream_client_free(c);
  test_responder_stop(&r);
}
END_TEST

/* ---- a server that serves connections concurrently ---------------------- */

#define ROUTER_CONNS 32

typedef struct router router;
/* The answer to `request` (a whole raw HTTP response of *len bytes), chosen by the test. */
typedef const char *(*route_fn)(router *rt, const char *request, size_t *len);

struct router {
  int fd, port;
  route_fn fn;
  pthread_t acceptor;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t conns[ROUTER_CONNS];
  int nconns;
  bool refresh_arrived, release; /* the held refresh (see race_route) */
  int refreshes;
  char last_genres[4096]; /* the last GET /v1/genres request */
};

typedef struct conn_arg {
  router *rt;
  int cfd;
} conn_arg;

static void read_head_and_body(int cfd, char *rec, size_t cap)
{
  size_t len = 0, want = SIZE_MAX;
  rec[0] = '\0';
  while (len < want && len + 1 < cap) {
    ssize_t got = recv(cfd, rec + len, cap - 1 - len, 0);
    if (got <= 0)
      return;
    len += (size_t)got;
    rec[len] = '\0';
    char *end = strstr(rec, "\r\n\r\n");
    if (want == SIZE_MAX && end) {
      const char *cl = strstr(rec, "\r\nContent-Length:");
      want = (size_t)(end + 4 - rec) + (cl && cl < end ? strtoull(cl + 17, NULL, 10) : 0);
    }
  }
}

static void *serve_conn(void *arg)
{
  conn_arg *a = arg;
  char req[4096];
  read_head_and_body(a->cfd, req, sizeof req);
  size_t len = 0;
  const char *resp = a->rt->fn(a->rt, req, &len);
  for (size_t off = 0; off < len;) {
    ssize_t w = send(a->cfd, resp + off, len - off, MSG_NOSIGNAL);
    if (w <= 0)
      break;
    off += (size_t)w;
  }
  shutdown(a->cfd, SHUT_WR);
  char sink[512];
  while (recv(a->cfd, sink, sizeof sink, 0) > 0) {
  }
  close(a->cfd);
  free(a);
  return NULL;
}

static void *router_accept(void *arg)
{
  router *rt = arg;
  for (;;) {
    int cfd = accept(rt->fd, NULL, NULL);
    if (cfd < 0)
      return NULL;
    conn_arg *a = malloc(sizeof *a);
    ck_assert_ptr_nonnull(a);
    a->rt = rt;
    a->cfd = cfd;
    pthread_mutex_lock(&rt->mu);
    ck_assert_int_lt(rt->nconns, ROUTER_CONNS);
    ck_assert_int_eq(pthread_create(&rt->conns[rt->nconns++], NULL, serve_conn, a), 0);
    pthread_mutex_unlock(&rt->mu);
  }
}

static void router_start(router *rt, route_fn fn)
{
  memset(rt, 0, sizeof *rt);
  rt->fn = fn;
  pthread_mutex_init(&rt->mu, NULL);
  pthread_cond_init(&rt->cv, NULL);
  rt->fd = test_listen_loopback(&rt->port);
  ck_assert_int_eq(pthread_create(&rt->acceptor, NULL, router_accept, rt), 0);
}

/* Stop accepting and join every connection (the client calls have returned by then). */
static void router_stop(router *rt)
{
  pthread_mutex_lock(&rt->mu);
  rt->release = true;
  pthread_cond_broadcast(&rt->cv);
  pthread_mutex_unlock(&rt->mu);
  shutdown(rt->fd, SHUT_RDWR);
  pthread_join(rt->acceptor, NULL);
  for (int i = 0; i < rt->nconns; i++)
    pthread_join(rt->conns[i], NULL);
  close(rt->fd);
  pthread_cond_destroy(&rt->cv);
  pthread_mutex_destroy(&rt->mu);
}

static bool starts(const char *req, const char *line)
{
  return strncmp(req, line, strlen(line)) == 0;
}

static const char *whole(const char *s, size_t *len)
{
  *len = strlen(s);
  return s;
}

/* ---- 2: a refresh in flight does not overwrite newer tokens ------------- */

/* GET /v1/genres with the old access token gets 401; the refresh that follows is held until the
 * test releases it, and then answers the old account's rotated tokens. Meanwhile the test
 * switches profile, signs in to another account, or sets tokens. */
static const char *race_route(router *rt, const char *req, size_t *len)
{
  if (starts(req, "POST /v1/auth/refresh ")) {
    pthread_mutex_lock(&rt->mu);
    rt->refreshes++;
    rt->refresh_arrived = true;
    pthread_cond_broadcast(&rt->cv);
    while (!rt->release)
      pthread_cond_wait(&rt->cv, &rt->mu);
    pthread_mutex_unlock(&rt->mu);
    return whole(JSON200("{\"access_token\":\"ACCOUNT-A2\",\"refresh_token\":\"ACCOUNT-R2\","
                         "\"account_id\":\"acct\"}"),
                 len);
  }
  if (starts(req, "POST /v1/profiles/kid1/switch "))
    return whole(JSON200("{\"access_token\":\"PROFILE-P\",\"refresh_token\":\"PROFILE-RP\","
                         "\"account_id\":\"acct\",\"profile_id\":\"kid1\"}"),
                 len);
  if (starts(req, "POST /v1/auth/login "))
    return whole(JSON200("{\"access_token\":\"LOGIN-B\",\"refresh_token\":\"LOGIN-RB\","
                         "\"account_id\":\"other\"}"),
                 len);
  if (starts(req, "GET /v1/genres ")) {
    pthread_mutex_lock(&rt->mu);
    size_t n = strnlen(req, sizeof rt->last_genres - 1);
    memcpy(rt->last_genres, req, n);
    rt->last_genres[n] = '\0';
    pthread_mutex_unlock(&rt->mu);
    if (strstr(req, "\r\nAuthorization: Bearer ACCOUNT-A1\r\n"))
      return whole("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/problem+json\r\n"
                   "Connection: close\r\n\r\n{}",
                   len);
    return whole(JSON200("{\"genres\":[]}"), len);
  }
  return whole("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", len);
}

typedef struct genres_call {
  stream_client *c;
  int rc;
} genres_call;

static void *call_genres(void *arg)
{
  genres_call *g = arg;
  char *j = NULL;
  g->rc = stream_client_genres(&j, g->c);
  stream_free(j);
  return NULL;
}

/* One interleaving: A's call meets a 401 and refreshes (held); `second` runs to completion on
 * this thread; the refresh is let go; A retries. */
static void race(const char *second, const char *want_access, const char *want_refresh,
                 const char *want_account, const char *want_profile)
{
  router rt;
  router_start(&rt, race_route);
  stream_client *c = client_at(rt.port, 0, 0);
  ck_assert_int_eq(stream_client_set_tokens(c, "ACCOUNT-A1", "ACCOUNT-R1"), STREAM_OK);
  genres_call g = {c, 1};
  pthread_t a;
  ck_assert_int_eq(pthread_create(&a, NULL, call_genres, &g), 0);
  pthread_mutex_lock(&rt.mu);
  while (!rt.refresh_arrived)
    pthread_cond_wait(&rt.cv, &rt.mu);
  pthread_mutex_unlock(&rt.mu);
  /* The refresh is in flight (its answer held): now the newer tokens. */
  stream_client_session s;
  if (strcmp(second, "switch") == 0)
    ck_assert_int_eq(stream_client_profile_switch(&s, c, "kid1", NULL), STREAM_OK);
  else if (strcmp(second, "login") == 0)
    ck_assert_int_eq(stream_client_login(&s, c, "b@x.y", "password123"), STREAM_OK);
  else if (strcmp(second, "restore") == 0) /* the same tokens again: no other session */
    ck_assert_int_eq(stream_client_set_tokens(c, "ACCOUNT-A1", "ACCOUNT-R1"), STREAM_OK);
  else
    ck_assert_int_eq(stream_client_set_tokens(c, "SET-A", "SET-R"), STREAM_OK);
  pthread_mutex_lock(&rt.mu);
  rt.release = true;
  pthread_cond_broadcast(&rt.cv);
  pthread_mutex_unlock(&rt.mu);
  pthread_join(a, NULL);
  ck_assert_int_eq(g.rc, STREAM_OK);
  /* The newer tokens stayed, and A's retry used them. */
  char bearer[64];
  snprintf(bearer, sizeof bearer, "\r\nAuthorization: Bearer %s\r\n", want_access);
  ck_assert_ptr_nonnull(strstr(rt.last_genres, bearer));
  ck_assert_int_eq(stream_client_session_info(&s, c), STREAM_OK);
  ck_assert_str_eq(s.account_id, want_account);
  ck_assert_str_eq(s.profile_id, want_profile);
  assert_tokens(c, want_access, want_refresh);
  router_stop(&rt);
  ck_assert_int_eq(rt.refreshes, 1);
  stream_client_free(c);
}

START_TEST(test_refresh_in_flight_loses_to_newer_tokens)
{
  race("switch", "PROFILE-P", "PROFILE-RP", "acct", "kid1");
  race("login", "LOGIN-B", "LOGIN-RB", "other", "");
  race("set_tokens", "SET-A", "SET-R", "", "");
}
END_TEST

/* Review RV12: an application that restores the very tokens it saved while a refresh is in
 * flight starts no other session. The server has used ACCOUNT-R1 up by then, so the refresh's
 * answer must replace it (keeping R1 made the next refresh a reuse, which revokes the session). */
START_TEST(test_refresh_in_flight_kept_over_the_same_tokens)
{
  race("restore", "ACCOUNT-A2", "ACCOUNT-R2", "acct", "");
}
END_TEST

/* ---- 4: the query string stays out of messages and logs ----------------- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_text[16384];

static void capture_log(int level, const char *module, const char *message, void *ud)
{
  (void)level;
  (void)ud;
  pthread_mutex_lock(&log_mu);
  size_t n = strlen(log_text);
  snprintf(log_text + n, sizeof log_text - n, "%s: %s\n", module, message);
  pthread_mutex_unlock(&log_mu);
}

START_TEST(test_query_not_in_messages_or_logs)
{
  log_text[0] = '\0';
  stream_log_set_callback(capture_log, NULL, STREAM_LOG_DEBUG);
  static char big[3000];
  snprintf(big, sizeof big, "%s", JSON200("{\"items\":[\""));
  size_t n = strlen(big);
  memset(big + n, 'x', sizeof big - n - 4);
  memcpy(big + sizeof big - 4, "\"]}", 4);
  const char *script[] = {
      "HTTP/1.1 404 Not Found\r\nContent-Type: application/problem+json\r\n"
      "Connection: close\r\n\r\n{\"detail\":\"nothing\"}",
      big,
      JSON200("{\"query\":\"q\",\"items\":[]}"),
      JSON200("{\"query\":\"q\",\"items\":[]}"),
  };
  test_responder r;
  test_responder_start(&r, script, 4, 3);
  stream_client *c = client_at(r.port, 1024, 0);
  ck_assert_int_eq(stream_client_set_tokens(c, "ACC", "REF"), STREAM_OK);
  char *j = NULL;
  ck_assert_int_eq(stream_client_search(&j, c, "my secret query", 0), STREAM_ENOTFOUND);
  assert_msg_lacks("secret");
  ck_assert_int_eq(stream_client_search(&j, c, "my secret query", 0), STREAM_ERANGE);
  assert_msg_lacks("secret");
  ck_assert_int_eq(stream_client_search(&j, c, "my secret query", 0), STREAM_OK);
  stream_free(j);
  j = NULL;
  stream_client_free(c);
  /* A timeout: the fourth answer is held until the client has given up. */
  c = client_at(r.port, 0, 300);
  ck_assert_int_eq(stream_client_set_tokens(c, "ACC", "REF"), STREAM_OK);
  ck_assert_int_eq(stream_client_search(&j, c, "my secret query", 0), STREAM_ETIMEDOUT);
  assert_msg_lacks("secret");
  stream_client_free(c);
  test_responder_stop(&r);
  /* A connection failure: nothing listens on the port any more. */
  c = client_at(r.port, 0, 0);
  ck_assert_int_eq(stream_client_set_tokens(c, "ACC", "REF"), STREAM_OK);
  ck_assert_int_eq(stream_client_search(&j, c, "my secret query", 0), STREAM_EIO);
  assert_msg_lacks("secret");
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "GET /v1/search"));
  stream_client_free(c);
  stream_log_set_callback(NULL, NULL, STREAM_LOG_OFF);
  pthread_mutex_lock(&log_mu);
  ck_assert_ptr_nonnull(strstr(log_text, "GET /v1/search"));
  if (strstr(log_text, "secret") || strstr(log_text, "?q="))
    ck_abort_msg("the log shows the query:\n%s", log_text);
  pthread_mutex_unlock(&log_mu);
}
END_TEST

/* ---- 5 and 6: 2xx bodies that are not JSON, or not of the promised shape -- */

/* Bodies that are not one JSON document, with their lengths (some hold NUL bytes). */
static const struct {
  const char *body;
  size_t len;
} not_json[] = {
    {"{\"id\":\"t1\"} junk", 16},   {"{\"id\":\"t1\"}{}", 13},
    {"{\"id\":\"t1\"}\0xyz", 15}, /* a NUL after the document */
    {"{\"id\":\"t\0\"}", 11},     /* a raw NUL inside a string */
    {"{\"rating\":\"up\"}xyz", 18},
};
#define NOT_JSON_N (sizeof not_json / sizeof not_json[0])

/* Answer the body the query names: GET /v1/x?n=<i>. */
static const char *not_json_route(router *rt, const char *req, size_t *len)
{
  static char resp[NOT_JSON_N][256];
  const char *p = strstr(req, "?n=");
  size_t i = p ? (size_t)atoi(p + 3) : 0;
  ck_assert_uint_lt(i, NOT_JSON_N);
  (void)rt;
  int h = snprintf(resp[i], sizeof resp[i],
                   "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n",
                   not_json[i].len);
  memcpy(resp[i] + h, not_json[i].body, not_json[i].len);
  *len = (size_t)h + not_json[i].len;
  return resp[i];
}

START_TEST(test_bodies_not_json)
{
  router rt;
  router_start(&rt, not_json_route);
  stream_client *c = client_at(rt.port, 0, 0);
  char path[64];
  char *j = NULL;
  for (size_t i = 0; i < NOT_JSON_N; i++) {
    snprintf(path, sizeof path, "/v1/x?n=%zu", i);
    int rc = stream_client_request(&j, c, "GET", path, NULL);
    if (rc != STREAM_EPROTO)
      ck_abort_msg("body %zu: request() gave %d (%s), expected STREAM_EPROTO", i, rc,
                   j ? j : "no body");
    ck_assert_ptr_null(j);
  }
  stream_client_free(c);
  router_stop(&rt);
}
END_TEST

/* The shape checks of the calls that promise one, through the scripted responder. */
START_TEST(test_promised_shapes)
{
  const char *script[] = {
      JSON200("{\"id\":\"t1\"} junk"), /* title */
      JSON200("[1,2,3]"),              /* title */
      JSON200("{\"rating\":\"up\"}xyz"),
      JSON200("{\"genres\":[1,2,3]}"), /* the contents are passed through */
      JSON200("{\"genres\":{}}"),
      JSON200("{}"),
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
      JSON200("{\"items\":[],\"next_cursor\":5}"),
      JSON200("{\"items\":[],\"next_cursor\":null}"),
      JSON200("{\"profiles\":null}"),
      JSON200("{\"subscription\":[]}"),
      JSON200("{\"plans\":\"all\"}"),
      JSON200("{\"items\":{}}"), /* my list */
      JSON200("{\"rows\":[]}\r\n\t "),
      JSON200("[1,2,3]"), /* request(): any JSON */
      "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
  };
  test_responder r;
  test_responder_start(&r, script, 16, -1);
  stream_client *c = client_at(r.port, 0, 0);
  ck_assert_int_eq(stream_client_set_tokens(c, "ACC", "REF"), STREAM_OK);
  char *j = NULL;
  int v = 7;
  ck_assert_int_eq(stream_client_title(&j, c, "t1"), STREAM_EPROTO);
  ck_assert_int_eq(stream_client_title(&j, c, "t1"), STREAM_EPROTO);
  ck_assert_int_eq(stream_client_rating_get(&v, c, "t1"), STREAM_EPROTO);
  ck_assert_int_eq(stream_client_genres(&j, c), STREAM_OK);
  ck_assert_str_eq(j, "{\"genres\":[1,2,3]}");
  stream_free(j);
  ck_assert_int_eq(stream_client_genres(&j, c), STREAM_EPROTO);
  ck_assert_ptr_null(j);
  ck_assert_int_eq(stream_client_genres(&j, c), STREAM_EPROTO);
  ck_assert_int_eq(stream_client_genres(&j, c), STREAM_EPROTO);
  ck_assert_int_eq(stream_client_browse(&j, c, NULL, NULL, 0), STREAM_EPROTO);
  ck_assert_int_eq(stream_client_browse(&j, c, NULL, NULL, 0), STREAM_OK);
  stream_free(j);
  ck_assert_int_eq(stream_client_profiles(&j, c), STREAM_EPROTO);
  ck_assert_int_eq(stream_client_billing_subscription(&j, c), STREAM_EPROTO);
  ck_assert_int_eq(stream_client_billing_plans(&j, c), STREAM_EPROTO);
  ck_assert_int_eq(stream_client_mylist(&j, c), STREAM_EPROTO);
  ck_assert_int_eq(stream_client_home(&j, c, 0), STREAM_OK); /* trailing whitespace is fine */
  stream_free(j);
  ck_assert_int_eq(stream_client_request(&j, c, "GET", "/v1/any", NULL), STREAM_OK);
  ck_assert_str_eq(j, "[1,2,3]");
  stream_free(j);
  ck_assert_int_eq(stream_client_request(&j, c, "DELETE", "/v1/any", NULL), STREAM_OK);
  ck_assert_str_eq(j, "null");
  stream_free(j);
  stream_client_free(c);
  test_responder_stop(&r);
}
END_TEST

/* ---- 8: numbers out of range -------------------------------------------- */

START_TEST(test_register_created_at)
{
  const char *script[] = {
      JSON200("{\"id\":\"acct1\",\"email\":\"a@b.c\",\"created_at\":1e300}"),
      JSON200("{\"id\":\"acct1\",\"email\":\"a@b.c\",\"created_at\":-1e300}"),
      JSON200("{\"id\":\"acct1\",\"email\":\"a@b.c\",\"created_at\":\"today\"}"),
      JSON200("{\"id\":\"acct\\r\\n1\",\"email\":\"a@b.c\"}"),
      JSON200("{\"id\":\"acct1\",\"email\":\"a@b.c\",\"created_at\":1700000000}"),
      JSON200("{\"id\":\"acct1\",\"email\":\"a@b.c\"}"),
  };
  test_responder r;
  test_responder_start(&r, script, 6, -1);
  stream_client *c = client_at(r.port, 0, 0);
  stream_client_account a;
  for (int i = 0; i < 4; i++) {
    ck_assert_int_eq(stream_client_register(&a, c, "a@b.c", "hunter22!"), STREAM_EPROTO);
    ck_assert_str_eq(a.id, "");
    ck_assert_int_eq(a.created_at, 0);
  }
  ck_assert_int_eq(stream_client_register(&a, c, "a@b.c", "hunter22!"), STREAM_OK);
  ck_assert_str_eq(a.id, "acct1");
  ck_assert_int_eq(a.created_at, 1700000000);
  ck_assert_int_eq(stream_client_register(&a, c, "a@b.c", "hunter22!"), STREAM_OK);
  ck_assert_int_eq(a.created_at, 0);
  stream_client_free(c);
  test_responder_stop(&r);
}
END_TEST

/* ---- request()'s path; server text in messages --------------------------- */

START_TEST(test_request_path_as_given)
{
  const char *script[] = {JSON200("{}")};
  test_responder r;
  test_responder_start(&r, script, 1, -1);
  stream_client *c = client_at(r.port, 0, 0);
  char *j = NULL;
  ck_assert_int_eq(stream_client_request(&j, c, "GET", "/v1/a/../b/./c/..", NULL), STREAM_OK);
  stream_free(j);
  if (!starts(r.last_request, "GET /v1/a/../b/./c/.. HTTP/1.1\r\n"))
    ck_abort_msg("sent: %.60s", r.last_request);
  /* A body with bytes after the JSON is not JSON either. */
  ck_assert_int_eq(stream_client_request(&j, c, "POST", "/v1/x", "{} junk"), STREAM_EINVAL);
  stream_client_free(c);
  test_responder_stop(&r);
}
END_TEST

#define OAUTH(body)                                                                                \
  "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" body

START_TEST(test_user_code_in_messages)
{
  const char *script[] = {
      JSON200("{\"device_code\":\"d\",\"user_code\":\"AB\\r\\nX-Y: z\",\"verification_uri\":"
              "\"http://x/activate\",\"expires_in\":600,\"interval\":1}"),
      JSON200("{\"device_code\":\"d\",\"user_code\":\"ABCD\",\"verification_uri\":"
              "\"http://x/\\u001b[2Jactivate\",\"expires_in\":600,\"interval\":1}"),
      OAUTH("{\"error\":\"expired_token\"}"),
  };
  test_responder r;
  test_responder_start(&r, script, 3, -1);
  stream_client *c = client_at(r.port, 0, 0);
  stream_client_device dev;
  ck_assert_int_eq(stream_client_device_start(&dev, c), STREAM_EPROTO);
  ck_assert_str_eq(dev.user_code, "");
  ck_assert_int_eq(stream_client_device_start(&dev, c), STREAM_EPROTO);
  /* A struct the application filled in itself still gets a clean message. */
  memset(&dev, 0, sizeof dev);
  strcpy(dev.device_code, "d");
  strcpy(dev.user_code, "AB\r\nX\x1b[2J");
  dev.interval = 1;
  int state;
  ck_assert_int_eq(stream_client_device_poll(&state, c, &dev), STREAM_EEXPIRED);
  const char *m = stream_error_last()->message;
  for (const char *p = m; *p; p++)
    if ((unsigned char)*p < 0x20)
      ck_abort_msg("control character in '%s'", m);
  ck_assert_ptr_nonnull(strstr(m, "AB  X [2J"));
  stream_client_free(c);
  test_responder_stop(&r);
}
END_TEST

/* client__print (one preallocated buffer) prints what cJSON's own printer prints. */
START_TEST(test_print_matches_cjson)
{
  char ctl[40];
  for (int i = 0; i < 31; i++)
    ctl[i] = (char)(i + 1);
  ctl[31] = '\0';
  const char *texts[] = {"", "plain", "\"\\/\b\f\n\r\t", ctl, "\xc3\xa9\xe2\x82\xac"};
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, texts[i], texts[i]);
    cJSON_AddNumberToObject(o, "n", -1.2345678901234567e-300);
    cJSON_AddNumberToObject(o, "m", 1e308);
    cJSON *arr = cJSON_AddArrayToObject(o, ctl);
    cJSON_AddItemToArray(arr, cJSON_CreateString(ctl));
    cJSON_AddItemToArray(arr, cJSON_CreateNull());
    cJSON_AddItemToArray(arr, cJSON_CreateTrue());
    cJSON_AddItemToArray(arr, cJSON_CreateObject());
    char *want = cJSON_PrintUnformatted(o);
    char *got = client__print(o);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
    client__free_body(got);
    free(want);
  }
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("client-hostile");
  TCase *tc = tcase_create("hostile");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_token_response_characters);
  tcase_add_test(tc, test_refresh_in_flight_loses_to_newer_tokens);
  tcase_add_test(tc, test_refresh_in_flight_kept_over_the_same_tokens);
  tcase_add_test(tc, test_query_not_in_messages_or_logs);
  tcase_add_test(tc, test_bodies_not_json);
  tcase_add_test(tc, test_promised_shapes);
  tcase_add_test(tc, test_register_created_at);
  tcase_add_test(tc, test_request_path_as_given);
  tcase_add_test(tc, test_user_code_in_messages);
  tcase_add_test(tc, test_print_matches_cjson);
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
