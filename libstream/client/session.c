/*
 * client sessions: register, login, refresh (rotation: the new refresh token
 * replaces the old one), logout. The one place that turns a token response
 * into stored tokens, after checking them (printable ASCII only, so a server
 * cannot inject header lines through them). A refresh stores its result only
 * if no newer tokens were stored while it was in flight.
 *
 * Wiping: passwords and tokens are in the request bodies built here (printed
 * into one buffer that is wiped when freed, the cJSON tree's strings wiped
 * first), in the answers that carry tokens (the receive buffer's earlier
 * blocks, the body and the parsed tokens are wiped before they are freed),
 * in the Authorization header line (wiped) and in the handle (wiped when
 * replaced or freed). Not under this module's control: libcurl's internal
 * copies of what it sends and receives, and the copies handed to the caller
 * (stream_client_get_tokens()).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "client_internal.h"

#define EMAIL_MAX 254
#define PASSWORD_MAX 1024

/* An id the server sent: printable ASCII (it ends up in logs and applications' requests). */
static int check_server_id(const char *v, const char *name)
{
  if (client__check_token_chars(name, v) != STREAM_OK)
    return stream__err(STREAM_EPROTO,
                       "'%s' in the server's answer has a character outside printable ASCII", name);
  return STREAM_OK;
}

/* A token the server sent: 1..8192 bytes, printable ASCII (client__check_token_chars). */
static int check_server_token(const cJSON *t, const char *name)
{
  if (!cJSON_IsString(t) || !t->valuestring[0] || strlen(t->valuestring) > 8192)
    return stream__err(STREAM_EPROTO, "the token response has no usable %s", name);
  if (client__check_token_chars(name, t->valuestring) != STREAM_OK)
    return stream__err(STREAM_EPROTO,
                       "the token response's %s has a character outside printable ASCII", name);
  return STREAM_OK;
}

static int copy_field(char *dst, size_t cap, const cJSON *v, const char *name, bool required)
{
  dst[0] = '\0';
  if (!v || cJSON_IsNull(v)) {
    if (required)
      return stream__err(STREAM_EPROTO, "the server's answer lacks '%s'", name);
    return STREAM_OK;
  }
  if (!cJSON_IsString(v))
    return stream__err(STREAM_EPROTO, "'%s' in the server's answer is not a string", name);
  size_t n = strlen(v->valuestring);
  if (n >= cap || (required && n == 0))
    return stream__err(STREAM_EPROTO, "'%s' in the server's answer is %zu bytes (limit %zu)", name,
                       n, cap - 1);
  memcpy(dst, v->valuestring, n + 1);
  return STREAM_OK;
}

int client__take_token_response(stream_client *c, const client__response *r,
                                stream_client_session *session, bool keep_ids,
                                const char *if_refresh)
{
  cJSON *j = client__parse_json(r->body, r->len);
  if (!j || !cJSON_IsObject(j)) {
    cJSON_Delete(j);
    return stream__err(STREAM_EPROTO, "the token response (HTTP %ld) is not a JSON object",
                       r->status);
  }
  int rc = STREAM_OK;
  const cJSON *at = cJSON_GetObjectItemCaseSensitive(j, "access_token");
  const cJSON *rt = cJSON_GetObjectItemCaseSensitive(j, "refresh_token");
  const cJSON *ex = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
  const cJSON *tt = cJSON_GetObjectItemCaseSensitive(j, "token_type");
  stream_client_session s;
  memset(&s, 0, sizeof s);
  if ((rc = check_server_token(at, "access_token")) != STREAM_OK ||
      (rc = check_server_token(rt, "refresh_token")) != STREAM_OK)
    goto out;
  if (tt && (!cJSON_IsString(tt) || strcasecmp(tt->valuestring, "Bearer") != 0)) {
    rc = stream__err(STREAM_EPROTO, "the token response has a token_type other than Bearer");
    goto out;
  }
  if (cJSON_IsNumber(ex) && ex->valuedouble >= 0 && ex->valuedouble < 1e12)
    s.expires_in = (int64_t)ex->valuedouble;
  rc = copy_field(s.account_id, sizeof s.account_id,
                  cJSON_GetObjectItemCaseSensitive(j, "account_id"), "account_id", false);
  if (rc == STREAM_OK)
    rc = copy_field(s.profile_id, sizeof s.profile_id,
                    cJSON_GetObjectItemCaseSensitive(j, "profile_id"), "profile_id", false);
  if (rc == STREAM_OK)
    rc = check_server_id(s.account_id, "account_id");
  if (rc == STREAM_OK)
    rc = check_server_id(s.profile_id, "profile_id");
  if (rc != STREAM_OK)
    goto out;
  {
    const char *acct = s.account_id[0] || !keep_ids ? s.account_id : NULL;
    const char *prof = s.profile_id[0] || !keep_ids ? s.profile_id : NULL;
    rc = client__store_tokens(c, at->valuestring, rt->valuestring, s.expires_in, acct, prof,
                              if_refresh);
  }
  if (rc == STREAM_OK && session)
    rc = stream_client_session_info(session, c);
out:
  /* The parsed tree holds token copies. */
  if (cJSON_IsString(at))
    stream__wipe(at->valuestring, strlen(at->valuestring));
  if (cJSON_IsString(rt))
    stream__wipe(rt->valuestring, strlen(rt->valuestring));
  cJSON_Delete(j);
  return rc;
}

static int credentials_body(char **out, const char *email, const char *password)
{
  *out = NULL;
  cJSON *o = cJSON_CreateObject();
  if (o && (!cJSON_AddStringToObject(o, "email", email) ||
            !cJSON_AddStringToObject(o, "password", password))) {
    cJSON_Delete(o);
    o = NULL;
  }
  *out = client__print(o);
  return *out ? STREAM_OK : STREAM_ENOMEM;
}

static int check_email(const char *email)
{
  return client__check_text("email", email, EMAIL_MAX);
}

int stream_client_register(stream_client_account *out, stream_client *c, const char *email,
                           const char *password)
{
  if (out)
    memset(out, 0, sizeof *out);
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  int rc = check_email(email);
  if (rc != STREAM_OK)
    return rc;
  if (!password)
    return stream__err(STREAM_EINVAL, "password is NULL");
  size_t n = strlen(password);
  if (n < 8 || n > PASSWORD_MAX)
    return stream__err(STREAM_EINVAL, "password is %zu bytes long; it must be 8..%d", n,
                       PASSWORD_MAX);
  char *body;
  if ((rc = credentials_body(&body, email, password)) != STREAM_OK)
    return rc;
  client__response r;
  rc = client__call(&r, c, "POST", "/v1/auth/register", CLIENT__BODY_JSON, body, CLIENT__AUTH_NONE);
  client__free_body(body);
  if (rc != STREAM_OK)
    return rc;
  if (out) {
    cJSON *j = client__parse_json(r.body, r.len);
    if (!j || !cJSON_IsObject(j)) {
      rc = stream__err(STREAM_EPROTO, "the register response is not a JSON object");
    } else {
      rc = copy_field(out->id, sizeof out->id, cJSON_GetObjectItemCaseSensitive(j, "id"), "id",
                      true);
      if (rc == STREAM_OK)
        rc = check_server_id(out->id, "id");
      if (rc == STREAM_OK)
        rc = copy_field(out->email, sizeof out->email, cJSON_GetObjectItemCaseSensitive(j, "email"),
                        "email", false);
      const cJSON *ca = cJSON_GetObjectItemCaseSensitive(j, "created_at");
      if (rc == STREAM_OK && ca && !cJSON_IsNull(ca)) {
        /* Unix seconds up to the year 9999; anything else (1e300 would not fit an int64_t). */
        if (!cJSON_IsNumber(ca) || !(ca->valuedouble >= 0 && ca->valuedouble <= 253402300799.0))
          rc = stream__err(STREAM_EPROTO,
                           "'created_at' in the server's answer is not a time in seconds");
        else
          out->created_at = (int64_t)ca->valuedouble;
      }
    }
    cJSON_Delete(j);
    if (rc != STREAM_OK)
      memset(out, 0, sizeof *out);
  }
  client__response_free(&r);
  return rc;
}

int stream_client_login(stream_client_session *out, stream_client *c, const char *email,
                        const char *password)
{
  if (out)
    memset(out, 0, sizeof *out);
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  int rc = check_email(email);
  if (rc != STREAM_OK)
    return rc;
  if ((rc = client__check_text("password", password, PASSWORD_MAX)) != STREAM_OK)
    return rc;
  char *body;
  if ((rc = credentials_body(&body, email, password)) != STREAM_OK)
    return rc;
  client__response r;
  rc = client__call(&r, c, "POST", "/v1/auth/login", CLIENT__BODY_JSON, body, CLIENT__AUTH_NONE);
  client__free_body(body);
  if (rc != STREAM_OK)
    return rc;
  rc = client__take_token_response(c, &r, out, false, NULL);
  client__response_free_secret(&r);
  return rc;
}

static int refresh_body(char **out, const char *refresh)
{
  cJSON *o = cJSON_CreateObject();
  if (o && !cJSON_AddStringToObject(o, "refresh_token", refresh)) {
    cJSON_Delete(o);
    o = NULL;
  }
  *out = client__print(o);
  return *out ? STREAM_OK : STREAM_ENOMEM;
}

static void free_secret(char *s)
{
  if (s) {
    stream__wipe(s, strlen(s));
    free(s);
  }
}

int client__refresh(stream_client *c, uint64_t seen_gen)
{
  pthread_mutex_lock(&c->refresh_mu);
  pthread_mutex_lock(&c->tok_mu);
  if (c->tok_gen != seen_gen) {
    /* Another thread refreshed (or signed in) since our request left. */
    pthread_mutex_unlock(&c->tok_mu);
    pthread_mutex_unlock(&c->refresh_mu);
    return STREAM_OK;
  }
  char *refresh = c->refresh_token ? strdup(c->refresh_token) : NULL;
  bool had = c->refresh_token != NULL;
  pthread_mutex_unlock(&c->tok_mu);
  int rc;
  if (!had) {
    rc = stream__err(STREAM_EAUTH, "not signed in (no refresh token)");
    goto out;
  }
  if (!refresh) {
    rc = stream__err(STREAM_ENOMEM, "out of memory copying the refresh token");
    goto out;
  }
  char *body;
  rc = refresh_body(&body, refresh);
  if (rc != STREAM_OK)
    goto out;
  client__response r;
  rc = client__exchange(&r, c, "POST", "/v1/auth/refresh", CLIENT__BODY_JSON, body,
                        CLIENT__AUTH_NONE);
  client__free_body(body);
  if (rc != STREAM_OK)
    goto out; /* network: keep the tokens, the caller may retry */
  if (r.status >= 200 && r.status < 300) {
    /* Stored only while the handle still holds the refresh token sent: a session stored while
     * the refresh was in flight (a sign-in, a profile switch or set_tokens of other tokens on
     * another thread) wins, and the caller's retry uses it. */
    rc = client__take_token_response(c, &r, NULL, true, refresh);
  } else if (r.status >= 400 && r.status < 500 && r.status != 408 && r.status != 429) {
    /* The refresh token is used up, revoked or expired: the session is over. */
    client__fail(&r, "POST", "/v1/auth/refresh");
    const stream_error *e = stream_error_last();
    char why[400];
    snprintf(why, sizeof why, "%.399s", e ? e->message : "refused");
    pthread_mutex_lock(&c->tok_mu);
    bool same = c->refresh_token && strcmp(c->refresh_token, refresh) == 0;
    pthread_mutex_unlock(&c->tok_mu);
    if (same)
      client__clear_tokens(c);
    rc = stream__err(STREAM_EAUTH, "session expired or revoked; sign in again (%s)", why);
  } else {
    rc = client__fail(&r, "POST", "/v1/auth/refresh");
  }
  client__response_free_secret(&r);
out:
  free_secret(refresh);
  pthread_mutex_unlock(&c->refresh_mu);
  return rc;
}

int stream_client_refresh(stream_client *c)
{
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  pthread_mutex_lock(&c->tok_mu);
  uint64_t gen = c->tok_gen;
  pthread_mutex_unlock(&c->tok_mu);
  return client__refresh(c, gen);
}

int stream_client_logout(stream_client *c)
{
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  /* Forget first: whatever the server says, this handle is signed out. */
  pthread_mutex_lock(&c->refresh_mu);
  pthread_mutex_lock(&c->tok_mu);
  char *refresh = c->refresh_token;
  c->refresh_token = NULL;
  pthread_mutex_unlock(&c->tok_mu);
  client__clear_tokens(c);
  pthread_mutex_unlock(&c->refresh_mu);
  if (!refresh)
    return STREAM_OK;
  char *body;
  int rc = refresh_body(&body, refresh);
  free_secret(refresh);
  if (rc != STREAM_OK)
    return rc;
  client__response r;
  rc = client__call(&r, c, "POST", "/v1/auth/logout", CLIENT__BODY_JSON, body, CLIENT__AUTH_NONE);
  client__free_body(body);
  if (rc == STREAM_OK)
    client__response_free(&r);
  return rc;
}
