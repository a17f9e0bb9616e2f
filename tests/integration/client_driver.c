/*
 * client_driver: drives a real streamd through the C client SDK. Started by
 * tests/integration/test_client.py against a daemon run with --seed-demo,
 * --access-token-ttl 2 and --device-interval 1:
 *
 *   client_driver URL SCENARIO
 *
 * Scenarios: accounts, refresh, concurrency, device, device-deny, profiles,
 * catalog, viewing, billing; ratelimit (against a daemon with --login-account-burst 2).
 * Each prints "ok <step>" lines and exits 0, or prints "FAIL file:line: ..."
 * with the status and message and exits 1.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "stream/stream.h"

static const char *base_url;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond))                                                                                   \
      die(__LINE__, "check failed: %s", #cond);                                                    \
  } while (0)

#define CHECK_RC(call, want)                                                                       \
  do {                                                                                             \
    int rc_ = (call);                                                                              \
    if (rc_ != (want))                                                                             \
      die(__LINE__, "%s returned %d (%s), expected %d (%s)", #call, rc_, stream_strerror(rc_),     \
          (want), stream_strerror(want));                                                          \
  } while (0)

static void die(int line, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stdout, "FAIL client_driver.c:%d: ", line);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  const stream_error *e = stream_error_last();
  fprintf(stdout, "\n  last error: %s; last HTTP status %ld\n", e ? e->message : "(none)",
          stream_client_last_http_status());
  fflush(stdout);
  exit(1);
}

static void ok(const char *step)
{
  printf("ok %s\n", step);
  fflush(stdout);
}

static stream_client *new_client(void)
{
  stream_client_options o = STREAM_CLIENT_OPTIONS_INIT;
  o.base_url = base_url;
  o.user_agent = "client-driver/1";
  stream_client *c = NULL;
  CHECK_RC(stream_client_new(&c, &o), STREAM_OK);
  return c;
}

static void unique_email(char *buf, size_t cap, const char *tag)
{
  unsigned char r[6];
  CHECK_RC(stream_random_bytes(r, sizeof r), STREAM_OK);
  snprintf(buf, cap, "%s-%02x%02x%02x%02x%02x%02x@example.test", tag, r[0], r[1], r[2], r[3], r[4],
           r[5]);
}

static const char *PASSWORD = "correct horse battery";

/* A fresh account, signed in on a fresh client. */
static stream_client *signed_in(char *email, size_t cap, const char *tag)
{
  unique_email(email, cap, tag);
  stream_client *c = new_client();
  CHECK_RC(stream_client_register(NULL, c, email, PASSWORD), STREAM_OK);
  CHECK_RC(stream_client_login(NULL, c, email, PASSWORD), STREAM_OK);
  return c;
}

static cJSON *parse(char *json)
{
  CHECK(json != NULL);
  cJSON *j = cJSON_Parse(json);
  stream_free(json);
  CHECK(j != NULL);
  return j;
}

static char *refresh_token_of(stream_client *c)
{
  char *r = NULL;
  CHECK_RC(stream_client_get_tokens(NULL, &r, c), STREAM_OK);
  CHECK(r != NULL);
  return r;
}

/* ---- scenarios ----------------------------------------------------------- */

static void accounts(void)
{
  char email[128];
  unique_email(email, sizeof email, "acct");
  stream_client *c = new_client();
  stream_client_account acct;
  CHECK_RC(stream_client_register(&acct, c, email, PASSWORD), STREAM_OK);
  CHECK(strlen(acct.id) == 22);
  CHECK(strcmp(acct.email, email) == 0);
  CHECK(stream_client_last_http_status() == 201);
  ok("register");
  int rc = stream_client_register(NULL, c, email, PASSWORD);
  CHECK(rc == STREAM_EEXIST || rc == STREAM_ECONFLICT);
  CHECK(stream_client_last_http_status() == 409);
  ok("register duplicate -> 409");

  stream_client_session s;
  CHECK_RC(stream_client_login(&s, c, email, "wrong password!"), STREAM_EAUTH);
  CHECK(stream_client_last_http_status() == 401);
  CHECK(strstr(stream_error_last()->message, "wrong password") == NULL);
  char other[128];
  unique_email(other, sizeof other, "nobody");
  CHECK_RC(stream_client_login(&s, c, other, PASSWORD), STREAM_EAUTH);
  ok("login failures -> EAUTH");

  CHECK_RC(stream_client_login(&s, c, email, PASSWORD), STREAM_OK);
  CHECK(strcmp(s.account_id, acct.id) == 0);
  CHECK(s.profile_id[0] == '\0');
  CHECK(s.expires_in == 2);
  stream_client_session info;
  CHECK_RC(stream_client_session_info(&info, c), STREAM_OK);
  CHECK(strcmp(info.account_id, acct.id) == 0);
  ok("login");

  /* An app persists the tokens and restores them in a new handle. */
  char *a = NULL, *r = NULL;
  CHECK_RC(stream_client_get_tokens(&a, &r, c), STREAM_OK);
  stream_client *c2 = new_client();
  CHECK_RC(stream_client_set_tokens(c2, a, r), STREAM_OK);
  stream_free_secret(a, strlen(a));
  char *j = NULL;
  CHECK_RC(stream_client_profiles(&j, c2), STREAM_OK);
  cJSON *doc = parse(j);
  CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "profiles")));
  cJSON_Delete(doc);
  ok("persisted tokens work in another handle");

  /* Rotation: the restored handle refreshes; the first handle's refresh
   * token is now used up, and presenting it again revokes the family. */
  CHECK_RC(stream_client_refresh(c2), STREAM_OK);
  char *r2 = refresh_token_of(c2);
  CHECK(strcmp(r, r2) != 0);
  ok("refresh rotates the refresh token");
  CHECK_RC(stream_client_refresh(c), STREAM_EAUTH);             /* reuse of r */
  CHECK_RC(stream_client_session_info(&info, c), STREAM_EAUTH); /* forgotten */
  ok("reuse of a used refresh token -> EAUTH, session forgotten");
  CHECK_RC(stream_client_refresh(c2), STREAM_EAUTH); /* whole family revoked */
  ok("reuse detection revoked the family");
  stream_free_secret(r, strlen(r));
  stream_free_secret(r2, strlen(r2));

  /* Logout revokes on the server. */
  CHECK_RC(stream_client_login(NULL, c, email, PASSWORD), STREAM_OK);
  r = refresh_token_of(c);
  CHECK_RC(stream_client_logout(c), STREAM_OK);
  CHECK_RC(stream_client_session_info(&info, c), STREAM_EAUTH);
  CHECK_RC(stream_client_genres(&j, c), STREAM_EAUTH);
  CHECK_RC(stream_client_set_tokens(c2, NULL, r), STREAM_OK);
  CHECK_RC(stream_client_genres(&j, c2), STREAM_EAUTH); /* refresh refused */
  stream_free_secret(r, strlen(r));
  CHECK_RC(stream_client_logout(c), STREAM_OK); /* signed out: no-op */
  ok("logout");
  stream_client_free(c);
  stream_client_free(c2);
}

static void refresh_on_401(void)
{
  char email[128];
  stream_client *c = signed_in(email, sizeof email, "refresh");
  char *r1 = refresh_token_of(c);
  sleep(3); /* the access token (2 s) has expired */
  char *j = NULL;
  CHECK_RC(stream_client_genres(&j, c), STREAM_OK);
  CHECK(stream_client_last_http_status() == 200);
  cJSON *doc = parse(j);
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(doc, "genres")) > 0);
  cJSON_Delete(doc);
  char *r2 = refresh_token_of(c);
  CHECK(strcmp(r1, r2) != 0);
  ok("expired access token: refreshed once and retried");

  /* A garbage access token with a valid refresh token works the same way. */
  CHECK_RC(stream_client_set_tokens(c, "not.a.jwt", r2), STREAM_OK);
  CHECK_RC(stream_client_genres(&j, c), STREAM_OK);
  stream_free(j);
  ok("invalid access token: refreshed and retried");

  /* Only a refresh token (an app restoring a session): refresh first. */
  char *r3 = refresh_token_of(c);
  CHECK_RC(stream_client_set_tokens(c, NULL, r3), STREAM_OK);
  CHECK_RC(stream_client_genres(&j, c), STREAM_OK);
  stream_free(j);
  ok("refresh-token-only session");

  /* When the refresh is refused too, the call fails with EAUTH, once. */
  CHECK_RC(stream_client_set_tokens(c, "not.a.jwt", "not-a-refresh-token"), STREAM_OK);
  CHECK_RC(stream_client_genres(&j, c), STREAM_EAUTH);
  stream_client_session info;
  CHECK_RC(stream_client_session_info(&info, c), STREAM_EAUTH);
  ok("refused refresh -> EAUTH, session forgotten");
  stream_free_secret(r1, strlen(r1));
  stream_free_secret(r2, strlen(r2));
  stream_free_secret(r3, strlen(r3));
  stream_client_free(c);
}

typedef struct worker {
  stream_client *c;
  int rc[8];
} worker;

static void *work(void *arg)
{
  worker *w = arg;
  for (int i = 0; i < 8; i++) {
    char *j = NULL;
    w->rc[i] = stream_client_browse(&j, w->c, NULL, NULL, 5);
    stream_free(j);
  }
  return NULL;
}

static void concurrency(void)
{
  char email[128];
  stream_client *c = signed_in(email, sizeof email, "threads");
  /* Invalidate the access token: every thread meets a 401 at once. With
   * rotation + reuse detection, two refreshes with the same token would
   * revoke the session; the client must refresh exactly once. */
  char *r = refresh_token_of(c);
  CHECK_RC(stream_client_set_tokens(c, "expired.or.bad", r), STREAM_OK);
  stream_free_secret(r, strlen(r));
  enum { N = 8 };
  pthread_t th[N];
  worker w[N];
  for (int i = 0; i < N; i++) {
    memset(&w[i], 0, sizeof w[i]);
    w[i].c = c;
    CHECK(pthread_create(&th[i], NULL, work, &w[i]) == 0);
  }
  for (int i = 0; i < N; i++)
    pthread_join(th[i], NULL);
  for (int i = 0; i < N; i++)
    for (int k = 0; k < 8; k++)
      if (w[i].rc[k] != STREAM_OK)
        die(__LINE__, "thread %d call %d failed with %d", i, k, w[i].rc[k]);
  char *j = NULL;
  CHECK_RC(stream_client_refresh(c), STREAM_OK); /* the family is still alive */
  CHECK_RC(stream_client_genres(&j, c), STREAM_OK);
  stream_free(j);
  ok("8 threads x 8 calls on one handle after a 401: one refresh, all succeed");
  stream_client_free(c);
}

typedef struct approver {
  char user_code[32];
  char email[128];
  int approve;
  int delay_ms;
  int rc;
} approver;

static void *approve_later(void *arg)
{
  approver *a = arg;
  struct timespec ts = {a->delay_ms / 1000, (long)(a->delay_ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  stream_client *c = new_client();
  a->rc = stream_client_activate(c, a->user_code, a->email, PASSWORD, a->approve);
  stream_client_free(c);
  return NULL;
}

static int polls;
static int count_polls(int state, int64_t interval, void *ud)
{
  (void)state;
  (void)interval;
  (void)ud;
  polls++;
  return 0;
}

static int is_code_char(char ch)
{
  return ch && strchr("BCDFGHJKLMNPQRSTVWXZ", ch) != NULL;
}

static void device(void)
{
  char email[128];
  stream_client *owner = signed_in(email, sizeof email, "tv");
  stream_client_session owner_s;
  CHECK_RC(stream_client_session_info(&owner_s, owner), STREAM_OK);

  stream_client *tv = new_client();
  stream_client_device dev;
  CHECK_RC(stream_client_device_start(&dev, tv), STREAM_OK);
  CHECK(strlen(dev.user_code) == 9 && dev.user_code[4] == '-');
  for (int i = 0; i < 9; i++)
    CHECK(i == 4 || is_code_char(dev.user_code[i]));
  CHECK(strstr(dev.verification_uri, "/activate") != NULL);
  CHECK(strstr(dev.verification_uri_complete, dev.user_code) != NULL);
  CHECK(dev.interval == 1);
  CHECK(dev.expires_in > 0);
  CHECK(strlen(dev.device_code) >= 32);
  ok("device start");

  /* Poll at once, twice: pending, then slow_down (+5 s). streamd counts whole seconds and the
   * interval is 1 s, so the second poll is "too fast" only within the first one's second: both go
   * right after a second begins (polls straddling a boundary are both pending). */
  struct timespec now_ts;
  clock_gettime(CLOCK_REALTIME, &now_ts);
  struct timespec to_next = {0, 1000000000L - now_ts.tv_nsec + 20000000L};
  if (to_next.tv_nsec >= 1000000000L) {
    to_next.tv_sec = 1;
    to_next.tv_nsec -= 1000000000L;
  }
  nanosleep(&to_next, NULL);
  int state = -1;
  CHECK_RC(stream_client_device_poll(&state, tv, &dev), STREAM_OK);
  CHECK(state == STREAM_CLIENT_DEVICE_PENDING || state == STREAM_CLIENT_DEVICE_SLOW_DOWN);
  int64_t before = dev.interval;
  CHECK_RC(stream_client_device_poll(&state, tv, &dev), STREAM_OK);
  CHECK(state == STREAM_CLIENT_DEVICE_SLOW_DOWN);
  CHECK(dev.interval >= before + 5);
  ok("polling too fast -> slow_down, interval raised by 5 s");

  /* Wrong credentials on the activate page do not approve anything. */
  stream_client *phone = new_client();
  CHECK_RC(stream_client_activate(phone, dev.user_code, email, "wrong password!", 1), STREAM_EAUTH);
  CHECK_RC(stream_client_activate(phone, "BBBB-BBBB", email, PASSWORD, 1), STREAM_EINVAL);
  ok("activate with bad credentials / unknown code refused");

  /* Approve from another thread after a while; the TV waits honouring the
   * raised interval. */
  approver ap;
  memset(&ap, 0, sizeof ap);
  snprintf(ap.user_code, sizeof ap.user_code, "%s", dev.user_code);
  snprintf(ap.email, sizeof ap.email, "%s", email);
  ap.approve = 1;
  ap.delay_ms = 1500;
  pthread_t th;
  CHECK(pthread_create(&th, NULL, approve_later, &ap) == 0);
  time_t t0 = time(NULL);
  polls = 0;
  CHECK_RC(stream_client_device_wait(tv, &dev, 60000, NULL, count_polls, NULL), STREAM_OK);
  time_t waited = time(NULL) - t0;
  pthread_join(th, NULL);
  CHECK_RC(ap.rc, STREAM_OK);
  /* The first poll came after the raised interval (>= 6 s), and the poll
   * that saw the approval was not another slow_down. */
  CHECK(waited >= 5);
  CHECK(polls >= 1 && polls <= 3);
  stream_client_session s;
  CHECK_RC(stream_client_session_info(&s, tv), STREAM_OK);
  CHECK(strcmp(s.account_id, owner_s.account_id) == 0);
  char *j = NULL;
  CHECK_RC(stream_client_genres(&j, tv), STREAM_OK);
  stream_free(j);
  ok("device wait -> approved, the TV is signed in to the approver's account");

  /* The device code is used up. */
  CHECK(stream_client_device_poll(&state, tv, &dev) < 0);
  ok("a used device code is refused");
  stream_client_free(tv);
  stream_client_free(phone);
  stream_client_free(owner);
}

static void device_deny(void)
{
  char email[128];
  stream_client *owner = signed_in(email, sizeof email, "deny");
  stream_client *tv = new_client();
  stream_client_device dev;
  CHECK_RC(stream_client_device_start(&dev, tv), STREAM_OK);
  CHECK_RC(stream_client_activate(owner, dev.user_code, email, PASSWORD, 0), STREAM_OK);
  CHECK_RC(stream_client_device_wait(tv, &dev, 30000, NULL, NULL, NULL), STREAM_EFORBIDDEN);
  stream_client_session s;
  CHECK_RC(stream_client_session_info(&s, tv), STREAM_EAUTH);
  ok("denied device -> EFORBIDDEN, not signed in");

  /* Cancelling the wait. */
  CHECK_RC(stream_client_device_start(&dev, tv), STREAM_OK);
  int cancel = 1;
  CHECK_RC(stream_client_device_wait(tv, &dev, 30000, &cancel, NULL, NULL), STREAM_ECANCELED);
  CHECK_RC(stream_client_device_wait(tv, &dev, 1500, NULL, NULL, NULL), STREAM_ETIMEDOUT);
  ok("device wait cancel and timeout");
  stream_client_free(tv);
  stream_client_free(owner);
}

static const char *profile_id_named(stream_client *c, const char *name, char *out, size_t cap)
{
  char *j = NULL;
  CHECK_RC(stream_client_profiles(&j, c), STREAM_OK);
  cJSON *doc = parse(j);
  const cJSON *p;
  out[0] = '\0';
  cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(doc, "profiles"))
  {
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(p, "name");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "id");
    if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0 && cJSON_IsString(id))
      snprintf(out, cap, "%s", id->valuestring);
  }
  cJSON_Delete(doc);
  return out[0] ? out : NULL;
}

/* Follow next_cursor to the end; returns the number of titles, checks that
 * no title comes twice. */
static int browse_all(stream_client *c, const char *genre, int limit, int *pages)
{
  char *cursor = NULL;
  char seen[512][65];
  int n = 0;
  *pages = 0;
  for (;;) {
    char *j = NULL;
    CHECK_RC(stream_client_browse(&j, c, genre, cursor, limit), STREAM_OK);
    free(cursor);
    cursor = NULL;
    cJSON *doc = parse(j);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
    CHECK(cJSON_IsArray(items));
    CHECK(cJSON_GetArraySize(items) <= limit);
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
      const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
      CHECK(cJSON_IsString(id) && strlen(id->valuestring) <= 64);
      for (int k = 0; k < n; k++)
        if (strcmp(seen[k], id->valuestring) == 0)
          die(__LINE__, "title %s came twice while browsing", id->valuestring);
      CHECK(n < 512);
      snprintf(seen[n++], 65, "%s", id->valuestring);
    }
    (*pages)++;
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(doc, "next_cursor");
    if (cJSON_IsString(next))
      cursor = strdup(next->valuestring);
    cJSON_Delete(doc);
    if (!cursor)
      break;
    CHECK(*pages < 200);
  }
  return n;
}

static void profiles(void)
{
  char email[128];
  stream_client *c = signed_in(email, sizeof email, "prof");
  char *j = NULL;
  stream_client_profile_spec spec = STREAM_CLIENT_PROFILE_SPEC_INIT;
  spec.name = "Grown-up";
  CHECK_RC(stream_client_profile_create(&j, c, &spec), STREAM_OK);
  cJSON *p = parse(j);
  CHECK(strcmp(cJSON_GetObjectItemCaseSensitive(p, "name")->valuestring, "Grown-up") == 0);
  cJSON_Delete(p);
  spec.name = "Kids";
  spec.kids = 1;
  spec.maturity_ceiling = 7;
  CHECK_RC(stream_client_profile_create(NULL, c, &spec), STREAM_OK);
  spec.name = "Locked";
  spec.kids = 0;
  spec.maturity_ceiling = -1;
  spec.pin = "4321";
  CHECK_RC(stream_client_profile_create(&j, c, &spec), STREAM_OK);
  p = parse(j);
  CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "has_pin")));
  cJSON_Delete(p);
  spec.pin = NULL;
  int rc = stream_client_profile_create(NULL, c, &spec); /* same name */
  CHECK(rc == STREAM_ECONFLICT || rc == STREAM_EEXIST);
  ok("profile create (+ duplicate name refused)");

  char names[2][8] = {"Four", "Five"};
  for (int i = 0; i < 2; i++) {
    spec.name = names[i];
    CHECK_RC(stream_client_profile_create(NULL, c, &spec), STREAM_OK);
  }
  spec.name = "Six";
  CHECK_RC(stream_client_profile_create(NULL, c, &spec), STREAM_ERANGE);
  ok("at most 5 profiles -> ERANGE");

  char id[80], locked[80], kids[80];
  CHECK(profile_id_named(c, "Five", id, sizeof id));
  CHECK_RC(stream_client_profile_delete(c, id), STREAM_OK);
  CHECK_RC(stream_client_profile_delete(c, id), STREAM_ENOTFOUND);
  ok("profile delete");

  CHECK(profile_id_named(c, "Locked", locked, sizeof locked));
  stream_client_session s;
  rc = stream_client_profile_switch(&s, c, locked, NULL); /* PIN missing */
  CHECK(rc == STREAM_EAUTH || rc == STREAM_EFORBIDDEN);
  /* openapi.yaml says 401 for a wrong PIN; the auth service answers 403. */
  rc = stream_client_profile_switch(&s, c, locked, "0000"); /* wrong PIN */
  CHECK(rc == STREAM_EAUTH || rc == STREAM_EFORBIDDEN);
  CHECK(s.profile_id[0] == '\0');
  CHECK_RC(stream_client_profile_switch(&s, c, locked, "4321"), STREAM_OK);
  CHECK(strcmp(s.profile_id, locked) == 0);
  ok("switch to a PIN profile");

  /* Maturity filtering: the kids profile sees fewer titles. */
  int pages = 0;
  int adult = browse_all(c, NULL, 7, &pages);
  CHECK(kids == profile_id_named(c, "Kids", kids, sizeof kids));
  CHECK_RC(stream_client_profile_switch(&s, c, kids, NULL), STREAM_OK);
  CHECK(strcmp(s.profile_id, kids) == 0);
  int child = browse_all(c, NULL, 7, &pages);
  CHECK(child > 0 && child < adult);
  /* The profile scope survives a refresh. */
  CHECK_RC(stream_client_refresh(c), STREAM_OK);
  CHECK_RC(stream_client_session_info(&s, c), STREAM_OK);
  CHECK(strcmp(s.profile_id, kids) == 0);
  CHECK(browse_all(c, NULL, 7, &pages) == child);
  ok("maturity filtering by profile (kids sees fewer titles, also after refresh)");
  stream_client_free(c);
}

static void catalog(void)
{
  char email[128];
  stream_client *c = signed_in(email, sizeof email, "cat");
  char *j = NULL;
  CHECK_RC(stream_client_genres(&j, c), STREAM_OK);
  cJSON *genres = parse(j);
  const cJSON *gl = cJSON_GetObjectItemCaseSensitive(genres, "genres");
  CHECK(cJSON_GetArraySize(gl) >= 3);
  ok("genres");

  int pages = 0;
  int all = browse_all(c, NULL, 3, &pages);
  CHECK(all >= 20);
  CHECK(pages >= 7);
  ok("browse every page (>= 20 titles, no duplicates)");
  int sum = 0, nonempty = 0;
  const cJSON *g;
  cJSON_ArrayForEach(g, gl)
  {
    int n = browse_all(c, g->valuestring, 4, &pages);
    CHECK(n <= all);
    nonempty += n > 0;
    sum += n;
  }
  CHECK(nonempty >= 3);
  CHECK(sum >= all); /* every title has at least one genre */
  CHECK_RC(stream_client_browse(&j, c, "No Such Genre", NULL, 5), STREAM_OK);
  cJSON *none = parse(j);
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(none, "items")) == 0);
  cJSON_Delete(none);
  cJSON_Delete(genres);
  ok("browse by genre");

  CHECK_RC(stream_client_search(&j, c, "lantern", 5), STREAM_OK);
  cJSON *res = parse(j);
  const cJSON *items = cJSON_GetObjectItemCaseSensitive(res, "items");
  CHECK(cJSON_GetArraySize(items) >= 1);
  const cJSON *first = cJSON_GetArrayItem(items, 0);
  CHECK(strcmp(cJSON_GetObjectItemCaseSensitive(first, "name")->valuestring, "Lantern Road") == 0);
  char title_id[80];
  snprintf(title_id, sizeof title_id, "%s",
           cJSON_GetObjectItemCaseSensitive(first, "id")->valuestring);
  cJSON_Delete(res);
  CHECK_RC(stream_client_search(&j, c, "LANTE", 5), STREAM_OK); /* prefix, case folded */
  res = parse(j);
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(res, "items")) >= 1);
  cJSON_Delete(res);
  CHECK_RC(stream_client_search(&j, c, "'; DROP TABLE titles; --", 5), STREAM_OK);
  stream_free(j);
  CHECK_RC(stream_client_search(&j, c, "zzzzqqqxxy", 5), STREAM_OK);
  res = parse(j);
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(res, "items")) == 0);
  cJSON_Delete(res);
  ok("search (ranked, prefix, SQL metacharacters are just text)");

  CHECK_RC(stream_client_title(&j, c, title_id), STREAM_OK);
  cJSON *t = parse(j);
  CHECK(strcmp(cJSON_GetObjectItemCaseSensitive(t, "name")->valuestring, "Lantern Road") == 0);
  cJSON_Delete(t);
  CHECK_RC(stream_client_title(&j, c, "no-such-title-xyz"), STREAM_ENOTFOUND);
  CHECK(stream_client_last_http_status() == 404);
  ok("title detail (+ 404 -> ENOTFOUND)");

  /* A series has seasons with episodes. */
  int found = 0;
  char *cursor = NULL;
  do {
    CHECK_RC(stream_client_browse(&j, c, NULL, cursor, 50), STREAM_OK);
    free(cursor);
    cursor = NULL;
    cJSON *page = parse(j);
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(page, "items"))
    {
      const cJSON *kind = cJSON_GetObjectItemCaseSensitive(it, "kind");
      if (found || !cJSON_IsString(kind) || strcmp(kind->valuestring, "series") != 0)
        continue;
      CHECK_RC(stream_client_title(&j, c, cJSON_GetObjectItemCaseSensitive(it, "id")->valuestring),
               STREAM_OK);
      cJSON *detail = parse(j);
      const cJSON *seasons = cJSON_GetObjectItemCaseSensitive(detail, "seasons");
      if (cJSON_GetArraySize(seasons) >= 2) {
        const cJSON *eps =
            cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(seasons, 0), "episodes");
        CHECK(cJSON_GetArraySize(eps) >= 1);
        found = 1;
      }
      cJSON_Delete(detail);
    }
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(page, "next_cursor");
    if (cJSON_IsString(next))
      cursor = strdup(next->valuestring);
    cJSON_Delete(page);
  } while (cursor);
  CHECK(found);
  ok("a series with two seasons and episodes");

  /* The generic call reaches routes the SDK does not wrap. */
  CHECK_RC(stream_client_request(&j, c, "GET", "/healthz", NULL), STREAM_OK);
  cJSON *h = parse(j);
  CHECK(strcmp(cJSON_GetObjectItemCaseSensitive(h, "status")->valuestring, "ok") == 0);
  cJSON_Delete(h);
  CHECK_RC(stream_client_request(&j, c, "GET", "/v1/no-such-route", NULL), STREAM_ENOTFOUND);
  CHECK_RC(stream_client_browse(&j, c, NULL, "garbage-cursor!!", 5), STREAM_EINVAL);
  CHECK(stream_client_last_http_status() == 400);
  ok("generic request and bad cursor -> EINVAL");
  stream_client_free(c);
}

static void first_title(stream_client *c, const char *kind, char *id, size_t cap, char *episode,
                        size_t ecap)
{
  char *j = NULL;
  CHECK_RC(stream_client_browse(&j, c, NULL, NULL, 100), STREAM_OK);
  cJSON *page = parse(j);
  const cJSON *it;
  id[0] = '\0';
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(page, "items"))
  {
    if (strcmp(cJSON_GetObjectItemCaseSensitive(it, "kind")->valuestring, kind) == 0) {
      snprintf(id, cap, "%s", cJSON_GetObjectItemCaseSensitive(it, "id")->valuestring);
      break;
    }
  }
  cJSON_Delete(page);
  CHECK(id[0]);
  if (!episode)
    return;
  CHECK_RC(stream_client_title(&j, c, id), STREAM_OK);
  cJSON *t = parse(j);
  const cJSON *s0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(t, "seasons"), 0);
  const cJSON *e0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(s0, "episodes"), 0);
  snprintf(episode, ecap, "%s", cJSON_GetObjectItemCaseSensitive(e0, "id")->valuestring);
  cJSON_Delete(t);
}

static int row_has(stream_client *c, int mylist, const char *title_id)
{
  char *j = NULL;
  if (mylist)
    CHECK_RC(stream_client_mylist(&j, c), STREAM_OK);
  else
    CHECK_RC(stream_client_continue_watching(&j, c, 20), STREAM_OK);
  cJSON *doc = parse(j);
  int found = 0, pos = 0, at = -1;
  const cJSON *it;
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, "items"))
  {
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "title");
    if (strcmp(cJSON_GetObjectItemCaseSensitive(t, "id")->valuestring, title_id) == 0) {
      found = 1;
      at = pos;
    }
    pos++;
  }
  cJSON_Delete(doc);
  return found ? at : -1;
}

static void viewing(void)
{
  char email[128];
  stream_client *c = signed_in(email, sizeof email, "view");
  char movie[80], series[80], episode[80];
  first_title(c, "movie", movie, sizeof movie, NULL, 0);
  first_title(c, "series", series, sizeof series, episode, sizeof episode);

  /* Account-level tokens cannot write progress. */
  char *j = NULL;
  CHECK_RC(stream_client_progress_put(c, movie, NULL, 60, 6000), STREAM_EFORBIDDEN);
  CHECK_RC(stream_client_continue_watching(&j, c, 0), STREAM_EFORBIDDEN);
  ok("viewing needs a profile -> EFORBIDDEN");

  stream_client_profile_spec spec = STREAM_CLIENT_PROFILE_SPEC_INIT;
  spec.name = "Me";
  CHECK_RC(stream_client_profile_create(&j, c, &spec), STREAM_OK);
  cJSON *p = parse(j);
  char pid[80];
  snprintf(pid, sizeof pid, "%s", cJSON_GetObjectItemCaseSensitive(p, "id")->valuestring);
  cJSON_Delete(p);
  CHECK_RC(stream_client_profile_switch(NULL, c, pid, NULL), STREAM_OK);

  CHECK(row_has(c, 0, movie) < 0);
  CHECK_RC(stream_client_progress_put(c, movie, NULL, 1200, 6000), STREAM_OK);
  CHECK(row_has(c, 0, movie) == 0);
  sleep(1); /* recency has second resolution */
  CHECK_RC(stream_client_progress_put(c, series, episode, 300, 1500), STREAM_OK);
  CHECK(row_has(c, 0, series) == 0); /* most recent first */
  CHECK(row_has(c, 0, movie) == 1);
  CHECK_RC(stream_client_progress_put(c, series, NULL, 300, 1500), STREAM_EINVAL); /* no episode */
  CHECK_RC(stream_client_progress_put(c, "no-such-title-xyz", NULL, 1, 100), STREAM_ENOTFOUND);
  CHECK_RC(stream_client_progress_put(c, movie, NULL, 5800, 6000), STREAM_OK); /* 96.7 % */
  CHECK(row_has(c, 0, movie) < 0);
  ok("progress + continue watching (most recent first, >= 95 % drops out)");

  CHECK(row_has(c, 1, movie) < 0);
  CHECK_RC(stream_client_mylist_add(c, movie), STREAM_OK);
  CHECK_RC(stream_client_mylist_add(c, movie), STREAM_OK); /* idempotent */
  sleep(1);
  CHECK_RC(stream_client_mylist_add(c, series), STREAM_OK);
  CHECK(row_has(c, 1, series) == 0);
  CHECK(row_has(c, 1, movie) == 1);
  CHECK_RC(stream_client_mylist_add(c, "no-such-title-xyz"), STREAM_ENOTFOUND);
  CHECK_RC(stream_client_mylist_remove(c, movie), STREAM_OK);
  CHECK_RC(stream_client_mylist_remove(c, movie), STREAM_OK); /* idempotent */
  CHECK(row_has(c, 1, movie) < 0);
  CHECK(row_has(c, 1, series) == 0);
  ok("My List add / list / remove");

  int rating = 9;
  CHECK_RC(stream_client_rating_get(&rating, c, movie), STREAM_OK);
  CHECK(rating == 0);
  CHECK_RC(stream_client_rating_put(c, movie, 1), STREAM_OK);
  CHECK_RC(stream_client_rating_get(&rating, c, movie), STREAM_OK);
  CHECK(rating == 1);
  CHECK_RC(stream_client_rating_put(c, movie, -1), STREAM_OK);
  CHECK_RC(stream_client_rating_get(&rating, c, movie), STREAM_OK);
  CHECK(rating == -1);
  CHECK_RC(stream_client_rating_put(c, movie, 0), STREAM_OK);
  CHECK_RC(stream_client_rating_put(c, movie, 0), STREAM_OK); /* idempotent */
  CHECK_RC(stream_client_rating_get(&rating, c, movie), STREAM_OK);
  CHECK(rating == 0);
  CHECK_RC(stream_client_rating_put(c, movie, 2), STREAM_EINVAL);
  CHECK_RC(stream_client_rating_put(c, "no-such-title-xyz", 1), STREAM_ENOTFOUND);
  CHECK_RC(stream_client_rating_get(&rating, c, "no-such-title-xyz"), STREAM_ENOTFOUND);
  ok("ratings up / down / clear");
  stream_client_free(c);
}

/* A string member of a JSON object (or of its `sub` object when sub is not NULL), or "". */
static const char *jstr(const cJSON *o, const char *sub, const char *name)
{
  if (sub)
    o = cJSON_GetObjectItemCaseSensitive(o, sub);
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *name)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

/* Billing through the SDK: plans, a payment method, subscribe (and its idempotent replay),
 * entitlement, screen leases on the 1-screen plan, plan change, cancel / resume, invoices. */
static void billing(void)
{
  char email[128];
  stream_client *c = signed_in(email, sizeof email, "bill");
  char *j = NULL;
  CHECK_RC(stream_client_billing_plans(&j, c), STREAM_OK);
  CHECK(strstr(j, "\"basic\"") && strstr(j, "\"premium\""));
  stream_free(j);
  CHECK_RC(stream_client_billing_subscription(&j, c), STREAM_ENOTFOUND);
  CHECK(stream_client_last_http_status() == 404);
  ok("plans; no subscription yet -> ENOTFOUND");

  CHECK_RC(stream_client_billing_card_add(&j, c, "tok_4242424242424242", NULL), STREAM_OK);
  cJSON *card = parse(j);
  CHECK(strcmp(jstr(card, NULL, "last4"), "4242") == 0);
  cJSON_Delete(card);
  CHECK_RC(stream_client_billing_card_add(NULL, c, "tok_4242424242424242", "has space"),
           STREAM_EINVAL);
  CHECK_RC(stream_client_billing_card_add(NULL, c, "tok_1234", NULL), STREAM_EINVAL);
  ok("payment method from a test token; bad key and bad token -> EINVAL");

  /* Subscribe, then the same key again: the first answer, once. The access token lives 2 s
   * here, so the sleep makes the replay go through a refresh and the client's retry. */
  CHECK_RC(stream_client_billing_subscribe(&j, c, "basic", NULL, "drv-sub-1"), STREAM_OK);
  cJSON *s1 = parse(j);
  sleep(3);
  CHECK_RC(stream_client_billing_subscribe(&j, c, "basic", NULL, "drv-sub-1"), STREAM_OK);
  cJSON *s2 = parse(j);
  CHECK(strcmp(jstr(s1, "subscription", "id"), jstr(s2, "subscription", "id")) == 0);
  CHECK(strcmp(jstr(s1, "subscription", "status"), "trialing") == 0); /* first subscription */
  cJSON_Delete(s1);
  cJSON_Delete(s2);
  CHECK_RC(stream_client_billing_subscribe(NULL, c, "premium", NULL, "drv-sub-1"),
           STREAM_ECONFLICT);
  CHECK_RC(stream_client_billing_subscribe(NULL, c, "basic", NULL, NULL), STREAM_ECONFLICT);
  CHECK_RC(stream_client_billing_subscription(&j, c), STREAM_OK);
  cJSON *sub = parse(j);
  CHECK(strcmp(jstr(sub, "subscription", "plan_id"), "basic") == 0);
  cJSON_Delete(sub);
  ok("subscribe; same key -> same subscription; other body or second one -> ECONFLICT");

  stream_client_profile_spec spec = STREAM_CLIENT_PROFILE_SPEC_INIT;
  spec.name = "Viewer";
  CHECK_RC(stream_client_profile_create(&j, c, &spec), STREAM_OK);
  cJSON *p = parse(j);
  char pid[80];
  snprintf(pid, sizeof pid, "%s", jstr(p, NULL, "id"));
  cJSON_Delete(p);
  CHECK_RC(stream_client_profile_switch(NULL, c, pid, NULL), STREAM_OK);
  char movie[80];
  first_title(c, "movie", movie, sizeof movie, NULL, 0);
  CHECK_RC(stream_client_billing_entitlement(&j, c, movie, "tv-1"), STREAM_OK);
  cJSON *e = parse(j);
  CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "allowed")));
  CHECK(jnum(e, "max_height") == 720 && jnum(e, "screens") == 1);
  cJSON_Delete(e);
  ok("entitlement: allowed, 720p, 1 screen");

  CHECK_RC(stream_client_billing_lease_acquire(&j, c, movie, "tv-1", "Living room TV"), STREAM_OK);
  cJSON *l = parse(j);
  char lease[80];
  snprintf(lease, sizeof lease, "%s", jstr(l, NULL, "id"));
  cJSON_Delete(l);
  CHECK_RC(stream_client_billing_lease_acquire(&j, c, movie, "phone-1", NULL), STREAM_EBUSY);
  CHECK(stream_client_last_http_status() == 409);
  CHECK(strstr(stream_error_last()->message, "Living room TV") != NULL);
  CHECK_RC(stream_client_billing_lease_heartbeat(&j, c, lease), STREAM_OK);
  stream_free(j);
  CHECK_RC(stream_client_billing_lease_release(c, lease), STREAM_OK);
  CHECK_RC(stream_client_billing_lease_acquire(&j, c, movie, "phone-1", NULL), STREAM_OK);
  stream_free(j);
  ok("leases: one screen; the second device -> EBUSY naming the first; heartbeat, release");

  CHECK_RC(stream_client_billing_change_plan(&j, c, "premium", NULL), STREAM_OK);
  sub = parse(j);
  CHECK(strcmp(jstr(sub, "subscription", "plan_id"), "premium") == 0); /* trial: at once */
  cJSON_Delete(sub);
  CHECK_RC(stream_client_billing_cancel(&j, c, NULL), STREAM_OK);
  sub = parse(j);
  CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(sub, "subscription"), "cancel_at_period_end")));
  cJSON_Delete(sub);
  CHECK_RC(stream_client_billing_resume(&j, c, NULL), STREAM_OK);
  stream_free(j);
  CHECK_RC(stream_client_billing_resume(NULL, c, NULL), STREAM_ECONFLICT);
  CHECK_RC(stream_client_billing_invoices(&j, c), STREAM_OK);
  CHECK(strstr(j, "\"invoices\"") != NULL);
  stream_free(j);
  ok("change plan, cancel, resume (twice -> ECONFLICT), invoices");
  stream_client_free(c);
}

/* Against a daemon run with --login-account-burst 2. */
static void ratelimit(void)
{
  char email[128];
  unique_email(email, sizeof email, "rate");
  stream_client *c = new_client();
  CHECK_RC(stream_client_register(NULL, c, email, PASSWORD), STREAM_OK);
  int rc = STREAM_OK;
  for (int i = 0; i < 5 && rc != STREAM_EBUSY; i++)
    rc = stream_client_login(NULL, c, email, "wrong password!");
  CHECK_RC(rc, STREAM_EBUSY);
  CHECK(stream_client_last_http_status() == 429);
  CHECK(stream_client_retry_after() >= 1);
  CHECK(strstr(stream_error_last()->message, "retry after") != NULL);
  /* Even the right password waits now. */
  CHECK_RC(stream_client_login(NULL, c, email, PASSWORD), STREAM_EBUSY);
  ok("login rate limit -> EBUSY with Retry-After");
  stream_client_free(c);
}

int main(int argc, char **argv)
{
  if (argc != 3) {
    fprintf(stderr, "usage: client_driver URL SCENARIO\n");
    return 2;
  }
  base_url = argv[1];
  const char *s = argv[2];
  if (strcmp(s, "accounts") == 0)
    accounts();
  else if (strcmp(s, "refresh") == 0)
    refresh_on_401();
  else if (strcmp(s, "concurrency") == 0)
    concurrency();
  else if (strcmp(s, "device") == 0)
    device();
  else if (strcmp(s, "device-deny") == 0)
    device_deny();
  else if (strcmp(s, "profiles") == 0)
    profiles();
  else if (strcmp(s, "catalog") == 0)
    catalog();
  else if (strcmp(s, "viewing") == 0)
    viewing();
  else if (strcmp(s, "ratelimit") == 0)
    ratelimit();
  else if (strcmp(s, "billing") == 0)
    billing();
  else {
    fprintf(stderr, "client_driver: unknown scenario %s\n", s);
    return 2;
  }
  printf("done %s\n", s);
  return 0;
}
