/*
 * Bearer-token authentication: the static operator token and the viewer
 * hook. The operator token is compared over a fixed-size, zero-padded buffer
 * with stream_ct_equal so the comparison time does not depend on how many
 * leading bytes of a guess are right.
 */
#include "auth.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "app.h"
#include "log.h"
#include "problem.h"
#include "routes_util.h"
#include "stream/common.h"

static int token_chars_ok(const unsigned char *t, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (t[i] <= 0x20 || t[i] >= 0x7F)
      return 0;
  return 1;
}

static int set_token(streamd_auth *a, const char *src, size_t n, const char *from, char *err,
                     size_t errlen)
{
  while (n && (src[n - 1] == '\n' || src[n - 1] == '\r' || src[n - 1] == ' ' || src[n - 1] == '\t'))
    n--;
  if (n < STREAMD_TOKEN_MIN || n > STREAMD_TOKEN_MAX) {
    snprintf(err, errlen, "operator token from %s must be %d..%d bytes, it has %zu", from,
             STREAMD_TOKEN_MIN, STREAMD_TOKEN_MAX, n);
    return -1;
  }
  if (!token_chars_ok((const unsigned char *)src, n)) {
    snprintf(err, errlen, "operator token from %s must be printable ASCII without spaces", from);
    return -1;
  }
  memset(a->operator_token, 0, sizeof(a->operator_token));
  memcpy(a->operator_token, src, n);
  a->operator_token_len = n;
  return 0;
}

int streamd_auth_init(streamd_auth *a, const streamd_config *cfg, char *err, size_t errlen)
{
  memset(a, 0, sizeof(*a));
  a->viewer_hook = streamd_auth_viewer_jwt;
  if (cfg->operator_token_file[0]) {
    FILE *f = fopen(cfg->operator_token_file, "rbe");
    if (!f) {
      snprintf(err, errlen, "operator token file %s: %s", cfg->operator_token_file,
               strerror(errno));
      return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
      streamd_logf(STREAM_LOG_WARN, "operator token file %s is readable by group or others",
                   cfg->operator_token_file);
    char buf[STREAMD_TOKEN_MAX + 64];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    int rc = set_token(a, buf, n, "file", err, errlen);
    explicit_bzero(buf, sizeof(buf));
    return rc;
  }
  const char *env = getenv("STREAMD_OPERATOR_TOKEN");
  if (env && *env) {
    int rc = set_token(a, env, strlen(env), "STREAMD_OPERATOR_TOKEN", err, errlen);
    unsetenv("STREAMD_OPERATOR_TOKEN"); /* keep it out of any child's environment */
    return rc;
  }
  streamd_logf(STREAM_LOG_WARN, "no operator token configured: operator routes answer 401");
  return 0;
}

void streamd_auth_clear(streamd_auth *a)
{
  explicit_bzero(a->operator_token, sizeof(a->operator_token));
  a->operator_token_len = 0;
}

int streamd_auth_viewer_unavailable(streamd_identity *out, const streamd_request *req,
                                    void *userdata, char *detail, size_t dlen)
{
  (void)out, (void)req, (void)userdata;
  snprintf(detail, dlen, "the bearer token is not valid (viewer sign-in is not available yet)");
  return STREAM_EAUTH;
}

/*
 * Verified-token cache: the bearer of a session repeats the same access token
 * on every request, so a successful stream_auth_verify_access() is remembered
 * for VCACHE_TTL_S seconds, never past the token's `exp`. Direct-mapped by a
 * seeded hash of the token; a hit needs the whole token to match
 * (stream_ct_equal), so a hash collision can only evict, never authenticate.
 * Failures are not cached. Consequence: a key removed from the key ring
 * stops authenticating tokens already seen within at most VCACHE_TTL_S.
 * Playback sessions' events tokens share the cache (streamd_auth_events_account)
 * under their own kind: a hit needs the kind to match too, so an events token
 * never passes as an access token (or the reverse).
 */
#define VCACHE_SLOTS 64
#define VCACHE_TTL_S 5
#define VCACHE_TOKEN_MAX 1024

enum { VC_ACCESS = 0, VC_EVENTS = 1 };

typedef struct vc_entry {
  uint64_t hash;
  size_t len; /* 0 = empty */
  int kind;   /* VC_ACCESS or VC_EVENTS */
  int64_t until;
  unsigned char token[VCACHE_TOKEN_MAX];
  stream_auth_identity id;
} vc_entry;

static vc_entry vcache[VCACHE_SLOTS];
static pthread_mutex_t vc_mu = PTHREAD_MUTEX_INITIALIZER;
/* Bumped (under vc_mu) by every streamd_auth_forget_account(): a verification that started
 * before a forget does not put its (possibly stale) identity back afterwards. */
static uint64_t vc_gen;
static pthread_once_t vc_once = PTHREAD_ONCE_INIT;
static uint64_t vc_seed;

static void vc_init(void)
{
  if (stream_random_bytes(&vc_seed, sizeof(vc_seed)) != STREAM_OK)
    vc_seed = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ull;
}

static uint64_t vc_hash(const char *t, size_t n)
{
  uint64_t h = 14695981039346656037ull ^ vc_seed;
  for (size_t i = 0; i < n; i++)
    h = (h ^ (unsigned char)t[i]) * 1099511628211ull;
  return h;
}

static int vc_get(stream_auth_identity *out, int kind, const char *tok, size_t n, uint64_t h,
                  int64_t now)
{
  vc_entry *e = &vcache[h % VCACHE_SLOTS];
  int hit = 0;
  pthread_mutex_lock(&vc_mu);
  if (e->len == n && e->kind == kind && e->hash == h && now < e->until &&
      stream_ct_equal(e->token, tok, n)) {
    *out = e->id;
    hit = 1;
  }
  pthread_mutex_unlock(&vc_mu);
  return hit;
}

/* The generation to pass to vc_put: read before the verification it caches. */
static uint64_t vc_generation(void)
{
  pthread_mutex_lock(&vc_mu);
  uint64_t g = vc_gen;
  pthread_mutex_unlock(&vc_mu);
  return g;
}

static void vc_put(const stream_auth_identity *id, int kind, const char *tok, size_t n, uint64_t h,
                   int64_t now, uint64_t gen)
{
  int64_t until = now + VCACHE_TTL_S;
  if (id->expires_at < until)
    until = id->expires_at;
  if (until <= now)
    return;
  vc_entry *e = &vcache[h % VCACHE_SLOTS];
  pthread_mutex_lock(&vc_mu);
  if (gen != vc_gen) { /* an account was forgotten while this token was being verified */
    pthread_mutex_unlock(&vc_mu);
    return;
  }
  explicit_bzero(e->token, e->len);
  e->hash = h;
  e->len = n;
  e->kind = kind;
  e->until = until;
  memcpy(e->token, tok, n);
  e->id = *id;
  pthread_mutex_unlock(&vc_mu);
}

void streamd_auth_forget_account(const char *account_id)
{
  if (!account_id || !*account_id)
    return;
  pthread_mutex_lock(&vc_mu);
  vc_gen++;
  for (size_t i = 0; i < VCACHE_SLOTS; i++) {
    vc_entry *e = &vcache[i];
    if (e->len && strcmp(e->id.account_id, account_id) == 0) {
      explicit_bzero(e->token, e->len);
      e->len = 0;
    }
  }
  pthread_mutex_unlock(&vc_mu);
}

int streamd_auth_viewer_jwt(streamd_identity *out, const streamd_request *req, void *userdata,
                            char *detail, size_t dlen)
{
  (void)userdata;
  streamd_app *app = streamd_app_get();
  if (!app) {
    snprintf(detail, dlen, "the daemon is starting");
    return STREAM_EBUSY;
  }
  const char *tok = streamd_request_header(req, "Authorization") + 7;
  while (*tok == ' ')
    tok++;
  stream_auth_identity id;
  size_t n = strlen(tok);
  int64_t now = (int64_t)time(NULL);
  uint64_t h = 0;
  int cacheable = n > 0 && n <= VCACHE_TOKEN_MAX;
  if (cacheable) {
    pthread_once(&vc_once, vc_init);
    h = vc_hash(tok, n);
  }
  int rc = STREAM_OK;
  if (!cacheable || !vc_get(&id, VC_ACCESS, tok, n, h, now)) {
    uint64_t gen = vc_generation();
    rc = stream_auth_verify_access(&id, app->auth, tok);
    if (rc == STREAM_OK && cacheable)
      vc_put(&id, VC_ACCESS, tok, n, h, now, gen);
  }
  if (rc == STREAM_EEXPIRED) {
    snprintf(detail, dlen, "the access token has expired");
    return STREAM_EEXPIRED;
  }
  if (rc != STREAM_OK) {
    snprintf(detail, dlen, "the bearer token is not valid");
    return rc == STREAM_ENOMEM || rc == STREAM_EIO ? rc : STREAM_EAUTH;
  }
  /* Every signed-in account is a viewer here; the operator role is the static token. */
  out->role = STREAMD_ROLE_VIEWER;
  streamd_viewer_to_subject(out->subject, sizeof(out->subject), id.account_id, id.profile_id,
                            id.kids, id.maturity_ceiling);
  return 0;
}

int streamd_auth_events_account(const char *token, const char *account_id, int64_t exp)
{
  streamd_app *app = streamd_app_get();
  if (!app)
    return STREAM_EBUSY;
  size_t n = strlen(token);
  int64_t now = (int64_t)time(NULL);
  uint64_t h = 0;
  int cacheable = n > 0 && n <= VCACHE_TOKEN_MAX;
  stream_auth_identity id;
  if (cacheable) {
    pthread_once(&vc_once, vc_init);
    h = vc_hash(token, n);
    if (vc_get(&id, VC_EVENTS, token, n, h, now))
      return STREAM_OK;
  }
  /* The same primary-key read stream_auth_verify_access() makes for access tokens. */
  uint64_t gen = vc_generation();
  stream_auth_account acct;
  int rc = stream_auth_account_get(&acct, app->auth, account_id);
  if (rc == STREAM_ENOMEM || rc == STREAM_EIO || rc == STREAM_EBUSY)
    return rc;
  if (rc != STREAM_OK || acct.disabled) /* gone, disabled, or a `sub` that is no account id */
    return STREAM_EAUTH;
  if (cacheable) {
    memset(&id, 0, sizeof(id));
    snprintf(id.account_id, sizeof(id.account_id), "%s", account_id);
    id.expires_at = exp;
    vc_put(&id, VC_EVENTS, token, n, h, now, gen);
  }
  return STREAM_OK;
}

int streamd_auth_authenticate(streamd_identity *out, const streamd_request *req, void *userdata,
                              char *detail, size_t dlen)
{
  streamd_auth *a = userdata;
  const char *h = streamd_request_header(req, "Authorization");
  if (!h || !*h) {
    snprintf(detail, dlen, "missing Authorization: Bearer credentials");
    return STREAMD_P_UNAUTHENTICATED;
  }
  if (strncasecmp(h, "Bearer ", 7) != 0) {
    snprintf(detail, dlen, "the Authorization scheme must be Bearer");
    return STREAMD_P_UNAUTHENTICATED;
  }
  const char *tok = h + 7;
  while (*tok == ' ')
    tok++;
  size_t n = strlen(tok);
  if (a->operator_token_len && n <= STREAMD_TOKEN_MAX) {
    unsigned char presented[STREAMD_TOKEN_MAX + 1];
    memset(presented, 0, sizeof(presented));
    memcpy(presented, tok, n);
    int same = stream_ct_equal(presented, a->operator_token, sizeof(presented));
    explicit_bzero(presented, sizeof(presented));
    if (same & (n == a->operator_token_len)) {
      out->role = STREAMD_ROLE_OPERATOR;
      snprintf(out->subject, sizeof(out->subject), "operator");
      return 0;
    }
  }
  if (a->viewer_hook)
    return a->viewer_hook(out, req, a->viewer_userdata, detail, dlen);
  snprintf(detail, dlen, "the bearer token is not valid");
  return STREAM_EAUTH;
}
