/*
 * browse: a tiny TV app on the libstream client SDK.
 *
 *   browse --server URL                      sign in by TV code (device flow)
 *   browse --server URL --email E --password-stdin
 *          [--search TEXT] [--limit N] [--profile NAME] [--timeout SECONDS]
 *
 * Signs in (by default it prints "Go to URL and enter CODE" and waits for
 * the approval), picks a profile, then prints the home rows: every genre
 * with its first page of titles, continue watching and My List, and the
 * results of --search. Ctrl-C stops the wait for approval.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "stream/stream.h"

static int cancel_flag;

static void on_sigint(int sig)
{
  (void)sig;
  __atomic_store_n(&cancel_flag, 1, __ATOMIC_RELEASE);
}

static int fail(const char *what, int rc)
{
  const stream_error *e = stream_error_last();
  fprintf(stderr, "browse: %s: %s (%s)\n", what, e ? e->message : stream_strerror(rc),
          stream_strerror(rc));
  return 1;
}

static void usage(FILE *f)
{
  fprintf(f, "usage: browse --server URL [--email EMAIL --password-stdin] [--search TEXT]\n"
             "              [--limit N] [--profile NAME] [--timeout SECONDS]\n"
             "Signs in by TV code unless --email is given, then prints the home rows.\n");
}

static int on_poll(int state, int64_t interval, void *userdata)
{
  (void)userdata;
  if (state == STREAM_CLIENT_DEVICE_SLOW_DOWN)
    fprintf(stderr, "(the server asked to poll less often: every %lld s)\n", (long long)interval);
  return 0;
}

static void print_titles(const cJSON *items, const char *indent)
{
  const cJSON *it;
  int n = 0;
  cJSON_ArrayForEach(it, items)
  {
    /* continue watching and My List wrap the title in {"title": ...} */
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "title");
    if (!cJSON_IsObject(t))
      t = it;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
    const cJSON *year = cJSON_GetObjectItemCaseSensitive(t, "year");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(t, "kind");
    const cJSON *prog = cJSON_GetObjectItemCaseSensitive(it, "progress");
    printf("%s%s", indent, cJSON_IsString(name) ? name->valuestring : "?");
    if (cJSON_IsNumber(year))
      printf(" (%d)", year->valueint);
    if (cJSON_IsString(kind) && strcmp(kind->valuestring, "series") == 0)
      printf(" [series]");
    if (cJSON_IsNumber(prog))
      printf(" %.0f%%", prog->valuedouble * 100);
    printf("\n");
    n++;
  }
  if (n == 0)
    printf("%s(empty)\n", indent);
}

/* Parse `json` (freed here) and print its "items" array. */
static void print_row(const char *heading, char *json)
{
  cJSON *doc = cJSON_Parse(json);
  stream_free(json);
  printf("%s\n", heading);
  print_titles(cJSON_GetObjectItemCaseSensitive(doc, "items"), "  ");
  cJSON_Delete(doc);
}

static int sign_in_by_code(stream_client *c, long timeout_s)
{
  stream_client_device dev;
  int rc = stream_client_device_start(&dev, c);
  if (rc != STREAM_OK)
    return fail("starting the TV sign-in", rc);
  printf("Go to %s and enter %s\n", dev.verification_uri, dev.user_code);
  if (dev.verification_uri_complete[0])
    printf("(or open %s)\n", dev.verification_uri_complete);
  printf("Waiting for approval (the code expires in %lld s)...\n", (long long)dev.expires_in);
  fflush(stdout);
  signal(SIGINT, on_sigint);
  rc = stream_client_device_wait(c, &dev, (int64_t)timeout_s * 1000, &cancel_flag, on_poll, NULL);
  signal(SIGINT, SIG_DFL);
  if (rc != STREAM_OK)
    return fail("waiting for the TV sign-in", rc);
  printf("Signed in.\n");
  return 0;
}

static int sign_in_by_password(stream_client *c, const char *email)
{
  char pw[1100];
  if (!fgets(pw, sizeof pw, stdin)) {
    fprintf(stderr, "browse: --password-stdin: nothing on stdin\n");
    return 1;
  }
  pw[strcspn(pw, "\r\n")] = '\0';
  stream_client_session s;
  int rc = stream_client_login(&s, c, email, pw);
  memset(pw, 0, sizeof pw);
  if (rc != STREAM_OK)
    return fail("signing in", rc);
  printf("Signed in as %s.\n", email);
  return 0;
}

/* Switch to the profile called `want`, or else the first grown-up profile
 * without a PIN, or else the first without a PIN. */
static void choose_profile(stream_client *c, const char *want)
{
  char *json = NULL;
  int rc = stream_client_profiles(&json, c);
  if (rc != STREAM_OK) {
    fail("listing profiles", rc);
    return;
  }
  cJSON *doc = cJSON_Parse(json);
  stream_free(json);
  const cJSON *p, *pick = NULL, *fallback = NULL;
  cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(doc, "profiles"))
  {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
    const cJSON *pin = cJSON_GetObjectItemCaseSensitive(p, "has_pin");
    const cJSON *kids = cJSON_GetObjectItemCaseSensitive(p, "kids");
    if (want) {
      if (cJSON_IsString(name) && strcmp(name->valuestring, want) == 0) {
        pick = p;
        break;
      }
    } else if (!cJSON_IsTrue(pin)) {
      if (!cJSON_IsTrue(kids)) {
        pick = p;
        break;
      }
      if (!fallback)
        fallback = p;
    }
  }
  if (!pick)
    pick = fallback;
  if (!pick) {
    printf("No profile to switch to%s%s; showing the account's view.\n", want ? " named " : "",
           want ? want : "");
  } else {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(pick, "id");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(pick, "name");
    stream_client_session s;
    rc = stream_client_profile_switch(&s, c, cJSON_IsString(id) ? id->valuestring : "", NULL);
    if (rc != STREAM_OK)
      fail("switching profile", rc);
    else
      printf("Profile: %s\n", cJSON_IsString(name) ? name->valuestring : s.profile_id);
  }
  cJSON_Delete(doc);
}

static int home(stream_client *c, int limit)
{
  char *json = NULL;
  int rc = stream_client_genres(&json, c);
  if (rc != STREAM_OK)
    return fail("listing genres", rc);
  cJSON *genres = cJSON_Parse(json);
  stream_free(json);
  const cJSON *g;
  cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(genres, "genres"))
  {
    if (!cJSON_IsString(g))
      continue;
    rc = stream_client_browse(&json, c, g->valuestring, NULL, limit);
    if (rc != STREAM_OK) {
      fail(g->valuestring, rc);
      continue;
    }
    print_row(g->valuestring, json);
  }
  cJSON_Delete(genres);

  rc = stream_client_continue_watching(&json, c, limit);
  if (rc == STREAM_OK)
    print_row("Continue watching", json);
  else if (rc == STREAM_EFORBIDDEN)
    printf("Continue watching\n  (needs a profile)\n");
  else
    fail("continue watching", rc);
  rc = stream_client_mylist(&json, c);
  if (rc == STREAM_OK)
    print_row("My List", json);
  else if (rc != STREAM_EFORBIDDEN)
    fail("My List", rc);
  return 0;
}

int main(int argc, char **argv)
{
  const char *server = NULL, *email = NULL, *search = NULL, *profile = NULL;
  int password_stdin = 0, limit = 10;
  long timeout_s = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      return 0;
    } else if (strcmp(a, "--password-stdin") == 0) {
      password_stdin = 1;
      continue;
    }
    if (!v) {
      usage(stderr);
      return 2;
    }
    if (strcmp(a, "--server") == 0)
      server = v;
    else if (strcmp(a, "--email") == 0)
      email = v;
    else if (strcmp(a, "--search") == 0)
      search = v;
    else if (strcmp(a, "--profile") == 0)
      profile = v;
    else if (strcmp(a, "--limit") == 0)
      limit = atoi(v);
    else if (strcmp(a, "--timeout") == 0)
      timeout_s = atol(v);
    else {
      fprintf(stderr, "browse: unknown option %s\n", a);
      usage(stderr);
      return 2;
    }
    i++;
  }
  if (!server || (email && !password_stdin) || (!email && password_stdin) || limit < 1 ||
      limit > 100 || timeout_s < 0) {
    usage(stderr);
    return 2;
  }

  stream_client_options o = STREAM_CLIENT_OPTIONS_INIT;
  o.base_url = server;
  o.user_agent = "libstream-browse/1";
  stream_client *c = NULL;
  int rc = stream_client_new(&c, &o);
  if (rc != STREAM_OK)
    return fail("--server", rc);

  int status = email ? sign_in_by_password(c, email) : sign_in_by_code(c, timeout_s);
  if (status == 0) {
    choose_profile(c, profile);
    status = home(c, limit);
  }
  if (status == 0 && search) {
    char *json = NULL;
    rc = stream_client_search(&json, c, search, limit);
    if (rc != STREAM_OK) {
      status = fail("search", rc);
    } else {
      char heading[300];
      snprintf(heading, sizeof heading, "Search: %s", search);
      print_row(heading, json);
    }
  }
  stream_client_free(c); /* the session stays valid on the server until it expires */
  return status;
}
