/*
 * client: the stream_client handle (options, the shared libcurl connection
 * and DNS caches, process-wide libcurl initialisation) and its session state
 * (access + refresh tokens under a mutex, with a generation counter so a
 * refresh happens once however many threads saw the 401). Also the small
 * argument checks and URL escaping shared by the endpoint files.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client_internal.h"

#define URL_MAX 2048
#define UA_MAX 256
#define TOKEN_MAX 8192

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
  curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userptr)
{
  (void)h;
  (void)access;
  stream_client *c = userptr;
  if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
    pthread_mutex_lock(&c->share_mu[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userptr)
{
  (void)h;
  stream_client *c = userptr;
  if ((int)data >= 0 && data < CURL_LOCK_DATA_LAST)
    pthread_mutex_unlock(&c->share_mu[data]);
}

/* ---- argument checks and URL pieces ------------------------------------ */

int client__check_text(const char *what, const char *s, size_t max)
{
  if (!s)
    return stream__err(STREAM_EINVAL, "%s is NULL", what);
  size_t n = strlen(s);
  if (n == 0)
    return stream__err(STREAM_EINVAL, "%s is empty", what);
  if (n > max)
    return stream__err(STREAM_EINVAL, "%s is %zu bytes long; the limit is %zu", what, n, max);
  return STREAM_OK;
}

int client__check_id(const char *what, const char *id)
{
  int rc = client__check_text(what, id, STREAM_CLIENT_ID_MAX);
  if (rc != STREAM_OK)
    return rc;
  for (size_t i = 0; id[i]; i++) {
    unsigned char ch = (unsigned char)id[i];
    if (!(isalnum(ch) || ch == '-' || ch == '_'))
      return stream__err(STREAM_EINVAL,
                         "%s has an invalid character at offset %zu (ids are base64url)", what, i);
  }
  return STREAM_OK;
}

static bool printable_ascii(const char *s)
{
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
      return false;
  return true;
}

void client__escape(stream__buf *b, const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
      stream__buf_append(b, (const char *)p, 1);
    } else {
      char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      stream__buf_append(b, e, 3);
    }
  }
}

void client__query(stream__buf *b, const char *name, const char *value)
{
  bool first = !b->data || !memchr(b->data, '?', b->len);
  stream__buf_puts(b, first ? "?" : "&");
  client__escape(b, name);
  stream__buf_puts(b, "=");
  client__escape(b, value);
}

void client__query_int(stream__buf *b, const char *name, long long value)
{
  char v[32];
  snprintf(v, sizeof v, "%lld", value);
  client__query(b, name, v);
}

/* "." or "..", each dot also as %2e (RFC 3986 5.2.4 removes them). */
static bool dot_segment(const char *seg, size_t len)
{
  size_t dots = 0;
  for (size_t i = 0; i < len; dots++) {
    if (seg[i] == '.')
      i++;
    else if (len - i >= 3 && strncasecmp(seg + i, "%2e", 3) == 0)
      i += 3;
    else
      return false;
  }
  return dots == 1 || dots == 2;
}

int client__normalize_base_url(char **out, const char *url)
{
  *out = NULL;
  int rc = client__check_text("base_url", url, URL_MAX);
  if (rc != STREAM_OK)
    return rc;
  size_t skip;
  if (strncasecmp(url, "http://", 7) == 0)
    skip = 7;
  else if (strncasecmp(url, "https://", 8) == 0)
    skip = 8;
  else
    return stream__err(STREAM_EINVAL, "base_url must start with http:// or https://");
  for (size_t i = 0; url[i]; i++) {
    unsigned char ch = (unsigned char)url[i];
    if (ch <= 0x20 || ch >= 0x7f)
      return stream__err(STREAM_EINVAL,
                         "base_url has a space, control or non-ASCII byte at offset %zu", i);
    if (ch == '?' || ch == '#')
      return stream__err(STREAM_EINVAL, "base_url must not have a query or fragment (offset %zu)",
                         i);
  }
  const char *host = url + skip;
  size_t hostlen = strcspn(host, "/");
  if (hostlen == 0 || host[0] == ':' || host[0] == '@')
    return stream__err(STREAM_EINVAL, "base_url has no host");
  if (memchr(host, '@', hostlen))
    return stream__err(STREAM_EINVAL, "base_url must not carry credentials");
  /* Paths are sent as given (CURLOPT_PATH_AS_IS), so a dot segment in the prefix would reach the
   * server, where the emitter's libcurl would have removed it: one meaning for both, none. */
  for (const char *seg = host + hostlen; *seg == '/';) {
    seg++;
    size_t sl = strcspn(seg, "/");
    if (dot_segment(seg, sl))
      return stream__err(STREAM_EINVAL, "base_url's path must not have a '.' or '..' segment");
    seg += sl;
  }
  /* Let libcurl confirm it can parse what we accept. */
  CURLU *u = curl_url();
  if (!u)
    return stream__err(STREAM_ENOMEM, "out of memory parsing base_url");
  CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
  curl_url_cleanup(u);
  if (uc != CURLUE_OK)
    return stream__err(STREAM_EINVAL, "base_url cannot be parsed: %s", curl_url_strerror(uc));
  size_t n = strlen(url);
  while (n > skip && url[n - 1] == '/')
    n--;
  *out = stream__strndup(url, n);
  if (!*out)
    return STREAM_ENOMEM;
  /* Lowercase the scheme so the path concatenation stays uniform. */
  for (size_t i = 0; i < skip; i++)
    (*out)[i] = (char)tolower((unsigned char)(*out)[i]);
  return STREAM_OK;
}

/* ---- the handle -------------------------------------------------------- */

int stream_client_new(stream_client **out, const stream_client_options *opts)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "out is NULL");
  *out = NULL;
  if (!opts)
    return stream__err(STREAM_EINVAL, "options are NULL");
  if (opts->version != 1)
    return stream__err(STREAM_EINVAL, "unknown stream_client_options version %u (expected 1)",
                       opts->version);
  if (opts->connect_timeout_ms <= 0)
    return stream__err(STREAM_EINVAL, "connect_timeout_ms must be positive, got %ld",
                       opts->connect_timeout_ms);
  if (opts->timeout_ms <= 0)
    return stream__err(STREAM_EINVAL, "timeout_ms must be positive, got %ld", opts->timeout_ms);
  if (opts->max_response_bytes < 1024)
    return stream__err(STREAM_EINVAL, "max_response_bytes must be at least 1024, got %zu",
                       opts->max_response_bytes);
  if (opts->user_agent &&
      (client__check_text("user_agent", opts->user_agent, UA_MAX) != STREAM_OK ||
       !printable_ascii(opts->user_agent)))
    return stream__err(STREAM_EINVAL, "user_agent must be 1..%d printable ASCII bytes", UA_MAX);
  if (opts->client_id && (client__check_text("client_id", opts->client_id, 128) != STREAM_OK ||
                          !printable_ascii(opts->client_id)))
    return stream__err(STREAM_EINVAL, "client_id must be 1..128 printable ASCII bytes");
  if (opts->ca_file && client__check_text("ca_file", opts->ca_file, 4096) != STREAM_OK)
    return STREAM_EINVAL;
  if (opts->ca_path && client__check_text("ca_path", opts->ca_path, 4096) != STREAM_OK)
    return STREAM_EINVAL;

  pthread_once(&curl_once, curl_init);
  if (curl_init_rc != CURLE_OK)
    return stream__err(STREAM_EIO, "curl_global_init failed: %s", curl_easy_strerror(curl_init_rc));

  stream_client *c = stream__calloc(1, sizeof *c);
  if (!c)
    return STREAM_ENOMEM;
  int rc = client__normalize_base_url(&c->base_url, opts->base_url);
  if (rc != STREAM_OK) {
    free(c);
    return rc;
  }
  char ua[64];
  snprintf(ua, sizeof ua, "libstream/%s", stream_version());
  c->user_agent = stream__strdup(opts->user_agent ? opts->user_agent : ua);
  c->client_id = stream__strdup(opts->client_id ? opts->client_id : "libstream");
  c->ca_file = opts->ca_file ? stream__strdup(opts->ca_file) : NULL;
  c->ca_path = opts->ca_path ? stream__strdup(opts->ca_path) : NULL;
  c->connect_timeout_ms = opts->connect_timeout_ms;
  c->timeout_ms = opts->timeout_ms;
  c->max_response_bytes = opts->max_response_bytes;
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_init(&c->share_mu[i], NULL);
  pthread_mutex_init(&c->tok_mu, NULL);
  pthread_mutex_init(&c->refresh_mu, NULL);
  c->share = curl_share_init();
  if (!c->user_agent || !c->client_id || (opts->ca_file && !c->ca_file) ||
      (opts->ca_path && !c->ca_path) || !c->share) {
    stream_client_free(c);
    return stream__err(STREAM_ENOMEM, "out of memory creating the client");
  }
  curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
  curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
  curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
  curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  if (curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK)
    stream__log(STREAM_LOG_WARN, "client",
                "this libcurl cannot share connections; each call opens its own");
  *out = c;
  return STREAM_OK;
}

static void free_secret(char **p)
{
  if (*p) {
    stream__wipe(*p, strlen(*p));
    free(*p);
    *p = NULL;
  }
}

void stream_client_free(stream_client *c)
{
  if (!c)
    return;
  if (c->share)
    curl_share_cleanup(c->share);
  free_secret(&c->access_token);
  free_secret(&c->refresh_token);
  for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
    pthread_mutex_destroy(&c->share_mu[i]);
  pthread_mutex_destroy(&c->tok_mu);
  pthread_mutex_destroy(&c->refresh_mu);
  free(c->base_url);
  free(c->user_agent);
  free(c->client_id);
  free(c->ca_file);
  free(c->ca_path);
  stream__wipe(c, sizeof *c);
  free(c);
}

const char *stream_client_base_url(const stream_client *c)
{
  return c ? c->base_url : NULL;
}

/* ---- tokens ------------------------------------------------------------ */

int client__check_token_chars(const char *what, const char *t)
{
  for (size_t i = 0; t[i]; i++)
    if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
      return stream__err(STREAM_EINVAL, "%s has a character outside printable ASCII at offset %zu",
                         what, i);
  return STREAM_OK;
}

static int check_token(const char *what, const char *t)
{
  int rc = client__check_text(what, t, TOKEN_MAX);
  if (rc != STREAM_OK)
    return rc;
  return client__check_token_chars(what, t);
}

static void copy_id(char dst[STREAM_CLIENT_ID_MAX + 1], const char *src)
{
  dst[0] = '\0';
  if (src && strlen(src) <= STREAM_CLIENT_ID_MAX)
    memcpy(dst, src, strlen(src) + 1);
}

int client__store_tokens(stream_client *c, const char *access, const char *refresh,
                         int64_t expires_in, const char *account_id, const char *profile_id,
                         const char *if_refresh)
{
  char *a = NULL, *r = NULL;
  if (access && !(a = strdup(access)))
    return stream__err(STREAM_ENOMEM, "out of memory storing the tokens");
  if (refresh && !(r = strdup(refresh))) {
    free_secret(&a);
    return stream__err(STREAM_ENOMEM, "out of memory storing the tokens");
  }
  pthread_mutex_lock(&c->tok_mu);
  if (if_refresh && !(c->refresh_token && strcmp(c->refresh_token, if_refresh) == 0)) {
    /* Another session was stored meanwhile (sign-in, profile switch, set_tokens of other
     * tokens): it stays. The same refresh token set again (an application restoring what it
     * saved) is no other session: that token is used up now, so the answer replaces it. */
    pthread_mutex_unlock(&c->tok_mu);
    free_secret(&a);
    free_secret(&r);
    stream__log(STREAM_LOG_DEBUG, "client", "tokens of an older session discarded");
    return STREAM_OK;
  }
  free_secret(&c->access_token);
  free_secret(&c->refresh_token);
  c->access_token = a;
  c->refresh_token = r;
  c->access_expires_in = expires_in;
  if (account_id)
    copy_id(c->account_id, account_id);
  if (profile_id)
    copy_id(c->profile_id, profile_id);
  c->tok_gen++;
  pthread_mutex_unlock(&c->tok_mu);
  return STREAM_OK;
}

void client__clear_tokens(stream_client *c)
{
  pthread_mutex_lock(&c->tok_mu);
  free_secret(&c->access_token);
  free_secret(&c->refresh_token);
  c->access_expires_in = 0;
  c->account_id[0] = '\0';
  c->profile_id[0] = '\0';
  c->tok_gen++;
  pthread_mutex_unlock(&c->tok_mu);
}

int stream_client_set_tokens(stream_client *c, const char *access_token, const char *refresh_token)
{
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  int rc;
  if (access_token && (rc = check_token("access token", access_token)) != STREAM_OK)
    return rc;
  if (refresh_token && (rc = check_token("refresh token", refresh_token)) != STREAM_OK)
    return rc;
  if (!access_token && !refresh_token) {
    client__clear_tokens(c);
    return STREAM_OK;
  }
  /* Who the tokens belong to is unknown until the server says so. */
  rc = client__store_tokens(c, access_token, refresh_token, 0, "", "", NULL);
  return rc;
}

int stream_client_get_tokens(char **out_access, char **out_refresh, stream_client *c)
{
  if (out_access)
    *out_access = NULL;
  if (out_refresh)
    *out_refresh = NULL;
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  char *a = NULL, *r = NULL;
  int rc = STREAM_OK;
  pthread_mutex_lock(&c->tok_mu);
  if (out_access && c->access_token && !(a = strdup(c->access_token)))
    rc = STREAM_ENOMEM;
  if (out_refresh && c->refresh_token && !(r = strdup(c->refresh_token)))
    rc = STREAM_ENOMEM;
  pthread_mutex_unlock(&c->tok_mu);
  if (rc != STREAM_OK) {
    free_secret(&a);
    free_secret(&r);
    return stream__err(STREAM_ENOMEM, "out of memory copying the tokens");
  }
  if (out_access)
    *out_access = a;
  if (out_refresh)
    *out_refresh = r;
  return STREAM_OK;
}

int stream_client_session_info(stream_client_session *out, const stream_client *c)
{
  if (!out || !c)
    return stream__err(STREAM_EINVAL, "%s is NULL", out ? "client" : "out");
  memset(out, 0, sizeof *out);
  stream_client *m = (stream_client *)c; /* the mutex is not part of the value */
  pthread_mutex_lock(&m->tok_mu);
  bool signed_in = m->access_token || m->refresh_token;
  memcpy(out->account_id, m->account_id, sizeof out->account_id);
  memcpy(out->profile_id, m->profile_id, sizeof out->profile_id);
  out->expires_in = m->access_expires_in;
  pthread_mutex_unlock(&m->tok_mu);
  if (!signed_in) {
    memset(out, 0, sizeof *out);
    return stream__err(STREAM_EAUTH, "not signed in");
  }
  return STREAM_OK;
}
