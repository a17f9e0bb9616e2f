/*
 * Account and token routes: register, login, refresh, logout, RFC 7009
 * revocation, the RFC 8628 device authorization endpoint and the token
 * endpoint (device_code and refresh_token grants). The OAuth endpoints take
 * form-encoded bodies (JSON too) and answer OAuth error bodies (RFC 6749
 * §5.2, RFC 8628 §3.5) instead of problem details, as their RFCs require.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "json.h"
#include "problem.h"
#include "reset_queue.h"
#include "routes.h"
#include "routes_util.h"
#include "stream/auth.h"

#define GRANT_DEVICE_CODE "urn:ietf:params:oauth:grant-type:device_code"
#define DEFAULT_CLIENT_ID "device"

/* ---- shared with activate.c and routes_profiles.c ----------------------------- */

void streamd_login_address(char *out, size_t n, const streamd_request *req)
{
  streamd_app *app = streamd_app_get();
  const char *xff =
      app && app->opts.trust_forwarded_for ? streamd_request_header(req, "X-Forwarded-For") : NULL;
  if (xff && *xff) {
    /* The proxy we trust appends the address it saw: take the last entry. */
    const char *last = strrchr(xff, ',');
    last = last ? last + 1 : xff;
    while (*last == ' ')
      last++;
    size_t len = strcspn(last, " ");
    if (len > 0 && len < n && len <= STREAM_AUTH_ADDRESS_MAX) {
      memcpy(out, last, len);
      out[len] = '\0';
      return;
    }
  }
  streamd_client_address(out, n, req);
}

void streamd_reply_rate_limited(streamd_response *resp, const streamd_request *req,
                                long long retry_after, const char *detail)
{
  if (retry_after < 1)
    retry_after = 1;
  /* problem.c has no 429 row (library code STREAM_EBUSY is 503 there): build it here. */
  cJSON *o = cJSON_CreateObject();
  char safe[512];
  streamd_utf8_sanitize(safe, sizeof(safe), detail ? detail : "too many attempts");
  if (o) {
    cJSON_AddStringToObject(o, "type", STREAMD_PROBLEM_TYPE_BASE "rate-limited");
    cJSON_AddStringToObject(o, "title", "Too many requests");
    cJSON_AddNumberToObject(o, "status", 429);
    cJSON_AddStringToObject(o, "detail", safe);
    cJSON_AddStringToObject(o, "instance", req->path);
    cJSON_AddStringToObject(o, "request_id", req->request_id);
    cJSON_AddNumberToObject(o, "retry_after", (double)retry_after);
  }
  char *text = o ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  if (!text) {
    streamd_reply_problem(resp, req, STREAM_ENOMEM, "rate limit answer");
    return;
  }
  streamd_reply_text(resp, 429, "application/problem+json", text, strlen(text));
  free(text);
  char ra[32];
  snprintf(ra, sizeof(ra), "%lld", retry_after);
  streamd_response_header(resp, "Retry-After", ra);
}

void streamd_reply_tokens(streamd_response *resp, const streamd_request *req, stream_auth_tokens *t)
{
  if (!t) {
    streamd_reply_problem(resp, req, STREAM_EINTERNAL, "no tokens");
    return;
  }
  cJSON *o = cJSON_CreateObject();
  if (o) {
    cJSON_AddStringToObject(o, "access_token", t->access_token);
    cJSON_AddStringToObject(o, "token_type", t->token_type[0] ? t->token_type : "Bearer");
    cJSON_AddNumberToObject(o, "expires_in", (double)t->expires_in);
    cJSON_AddStringToObject(o, "refresh_token", t->refresh_token);
    cJSON_AddNumberToObject(o, "refresh_expires_in", (double)t->refresh_expires_in);
    cJSON_AddStringToObject(o, "scope", t->scope);
    cJSON_AddStringToObject(o, "account_id", t->account_id);
    if (t->profile_id[0])
      cJSON_AddStringToObject(o, "profile_id", t->profile_id);
    cJSON_AddStringToObject(o, "role",
                            t->role == STREAM_AUTH_ROLE_OPERATOR ? "operator" : "viewer");
  }
  char *text = o ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  explicit_bzero(t, sizeof(*t));
  if (!text) {
    streamd_reply_problem(resp, req, STREAM_ENOMEM, "token answer");
    return;
  }
  streamd_reply_text(resp, 200, "application/json", text, strlen(text));
  explicit_bzero(text, strlen(text));
  free(text);
  streamd_response_header(resp, "Pragma", "no-cache");
}

/* An OAuth 2.0 error body (RFC 6749 §5.2) with status 400. */
static void reply_oauth_error(streamd_response *resp, const char *error, const char *description)
{
  cJSON *o = cJSON_CreateObject();
  if (o) {
    cJSON_AddStringToObject(o, "error", error);
    if (description && *description) {
      char safe[300];
      streamd_utf8_sanitize(safe, sizeof(safe), description);
      cJSON_AddStringToObject(o, "error_description", safe);
    }
  }
  streamd_reply_json(resp, 400, o);
  streamd_response_header(resp, "Pragma", "no-cache");
}

static const char *last_message(int code)
{
  const stream_error *e = stream_error_last();
  return e && e->code == code && e->message[0] ? e->message : stream_strerror(code);
}

/* {"email","password"} exactly; 0 or an answered problem. */
static int credentials(const char **email, const char **password, cJSON *body, streamd_request *req,
                       streamd_response *resp)
{
  char detail[256] = "";
  int rc;
  if ((rc = streamd_json_get_string(email, body, "email", 1, 1024, detail, sizeof(detail))) ||
      (rc = streamd_json_get_string(password, body, "password", 1, STREAM_AUTH_PASSWORD_MAX, detail,
                                    sizeof(detail)))) {
    streamd_reply_problem(resp, req, rc, detail);
    return -1;
  }
  if (cJSON_GetArraySize(body) != 2) {
    streamd_reply_problem(resp, req, STREAM_EINVAL,
                          "only the fields 'email' and 'password' are accepted");
    return -1;
  }
  return 0;
}

/*
 * The body's fields are exactly `names` (NULL-terminated), each a required
 * string of at most max[i] bytes, into out[i]. 0, or -1 after answering a 400
 * problem and freeing the body (the account and password-reset routes).
 */
static int required_strings(const char **out, cJSON *body, const char *const *names,
                            const size_t *max, streamd_request *req, streamd_response *resp)
{
  char detail[256] = "";
  int rc = streamd_json_only_fields(body, names, detail, sizeof(detail));
  for (size_t i = 0; !rc && names[i]; i++)
    rc = streamd_json_get_string(&out[i], body, names[i], 1, max[i], detail, sizeof(detail));
  if (rc) {
    cJSON_Delete(body);
    streamd_reply_problem(resp, req, rc, detail);
    return -1;
  }
  return 0;
}

/* ---- routes ---------------------------------------------------------------------- */

/* The public fields of an account (no password hash): register and GET /v1/account. */
static cJSON *account_json(const stream_auth_account *acct)
{
  cJSON *o = cJSON_CreateObject();
  if (o) {
    cJSON_AddStringToObject(o, "id", acct->id);
    cJSON_AddStringToObject(o, "email", acct->email);
    cJSON_AddStringToObject(o, "role",
                            acct->role == STREAM_AUTH_ROLE_OPERATOR ? "operator" : "viewer");
    cJSON_AddNumberToObject(o, "created_at", (double)acct->created_at);
  }
  return o;
}

void streamd_route_register(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  cJSON *body = NULL;
  if (streamd_body_object(&body, req, resp) != 0)
    return;
  const char *email = NULL, *password = NULL;
  if (credentials(&email, &password, body, req, resp) != 0) {
    cJSON_Delete(body);
    return;
  }
  stream_auth_account acct;
  int rc = stream_auth_register(&acct, app->auth, email, password);
  explicit_bzero((void *)password, strlen(password));
  cJSON_Delete(body);
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  cJSON *o = account_json(&acct);
  streamd_reply_json(resp, 201, o);
}

void streamd_route_login(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  cJSON *body = NULL;
  if (streamd_body_object(&body, req, resp) != 0)
    return;
  const char *email = NULL, *password = NULL;
  if (credentials(&email, &password, body, req, resp) != 0) {
    cJSON_Delete(body);
    return;
  }
  char addr[STREAM_AUTH_ADDRESS_MAX + 1];
  streamd_login_address(addr, sizeof(addr), req);
  stream_auth_tokens t;
  int64_t retry = 0;
  int rc = stream_auth_login(&t, &retry, app->auth, email, password, addr);
  explicit_bzero((void *)password, strlen(password));
  cJSON_Delete(body);
  /* Rate limited: EBUSY with a wait. EBUSY without one is the store (a lock timeout, a
   * deadlock, also in the limiter's own write with shared limits): 503, not 429. */
  if (rc == STREAM_EBUSY && retry > 0)
    streamd_reply_rate_limited(resp, req, retry, last_message(rc));
  else if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    streamd_reply_tokens(resp, req, &t);
}

/* {"refresh_token": "..."} exactly. */
static const char *refresh_field(cJSON **body, streamd_request *req, streamd_response *resp)
{
  if (streamd_body_object(body, req, resp) != 0)
    return NULL;
  char detail[256] = "";
  const char *rt = NULL;
  int rc = streamd_json_get_string(&rt, *body, "refresh_token", 1, 512, detail, sizeof(detail));
  if (!rc && cJSON_GetArraySize(*body) != 1) {
    rc = STREAM_EINVAL;
    snprintf(detail, sizeof(detail), "only the field 'refresh_token' is accepted");
  }
  if (rc) {
    streamd_reply_problem(resp, req, rc, detail);
    cJSON_Delete(*body);
    *body = NULL;
    return NULL;
  }
  return rt;
}

void streamd_route_refresh(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  cJSON *body = NULL;
  const char *rt = refresh_field(&body, req, resp);
  if (!rt)
    return;
  stream_auth_tokens t;
  int rc = stream_auth_refresh(&t, app->auth, rt);
  cJSON_Delete(body);
  if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    streamd_reply_tokens(resp, req, &t);
}

void streamd_route_logout(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  cJSON *body = NULL;
  const char *rt = refresh_field(&body, req, resp);
  if (!rt)
    return;
  int rc = stream_auth_logout(app->auth, rt);
  cJSON_Delete(body);
  if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    streamd_reply_empty(resp, 204);
}

void streamd_route_revoke(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  streamd_form f;
  char detail[256] = "";
  int rc = streamd_form_parse(&f, req, 0, detail, sizeof(detail));
  if (rc == STREAMD_P_MEDIA_TYPE || rc == STREAM_ENOMEM) {
    streamd_reply_problem(resp, req, rc, detail);
    return;
  }
  if (rc) {
    reply_oauth_error(resp, "invalid_request", detail);
    return;
  }
  const char *token = streamd_form_get(&f, "token");
  if (!token || !*token) {
    streamd_form_free(&f);
    reply_oauth_error(resp, "invalid_request", "the 'token' parameter is required");
    return;
  }
  rc = stream_auth_revoke(app->auth, token, streamd_form_get(&f, "token_type_hint"));
  streamd_form_free(&f);
  if (rc == STREAM_EINVAL) {
    reply_oauth_error(resp, "invalid_request", last_message(rc));
    return;
  }
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  streamd_reply_json(resp, 200, cJSON_CreateObject());
}

void streamd_route_device(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  streamd_form f;
  char detail[256] = "";
  int rc = streamd_form_parse(&f, req, 1, detail, sizeof(detail));
  if (rc) {
    streamd_reply_problem(resp, req, rc, detail);
    return;
  }
  const char *client_id = streamd_form_get(&f, "client_id");
  stream_auth_device_code dc;
  rc = stream_auth_device_start(&dc, app->auth, client_id ? client_id : DEFAULT_CLIENT_ID,
                                streamd_form_get(&f, "scope"));
  streamd_form_free(&f);
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  cJSON *o = cJSON_CreateObject();
  if (o) {
    cJSON_AddStringToObject(o, "device_code", dc.device_code);
    cJSON_AddStringToObject(o, "user_code", dc.user_code);
    cJSON_AddStringToObject(o, "verification_uri", dc.verification_uri);
    cJSON_AddStringToObject(o, "verification_uri_complete", dc.verification_uri_complete);
    cJSON_AddNumberToObject(o, "expires_in", (double)dc.expires_in);
    cJSON_AddNumberToObject(o, "interval", (double)dc.interval);
  }
  explicit_bzero(&dc, sizeof(dc));
  streamd_reply_json(resp, 200, o);
}

static void token_device_code(streamd_app *app, const streamd_form *f, streamd_request *req,
                              streamd_response *resp)
{
  const char *code = streamd_form_get(f, "device_code");
  const char *client_id = streamd_form_get(f, "client_id");
  if (!code || !*code) {
    reply_oauth_error(resp, "invalid_request", "the 'device_code' parameter is required");
    return;
  }
  stream_auth_tokens t;
  int status = STREAM_AUTH_POLL_ERROR;
  int rc = stream_auth_device_poll(&t, &status, app->auth, code,
                                   client_id ? client_id : DEFAULT_CLIENT_ID);
  static const char *const errors[] = {
      [STREAM_AUTH_POLL_PENDING] = "authorization_pending",
      [STREAM_AUTH_POLL_SLOW_DOWN] = "slow_down",
      [STREAM_AUTH_POLL_EXPIRED] = "expired_token",
      [STREAM_AUTH_POLL_DENIED] = "access_denied",
      [STREAM_AUTH_POLL_INVALID_GRANT] = "invalid_grant",
      [STREAM_AUTH_POLL_INVALID_REQUEST] = "invalid_request",
  };
  if (rc == STREAM_OK && status == STREAM_AUTH_POLL_SUCCESS) {
    streamd_reply_tokens(resp, req, &t);
    return;
  }
  if (status > STREAM_AUTH_POLL_SUCCESS && status < STREAM_AUTH_POLL_ERROR && errors[status]) {
    reply_oauth_error(resp, errors[status], last_message(rc));
    return;
  }
  streamd_reply_service_error(resp, req, rc ? rc : STREAM_EINTERNAL);
}

static void token_refresh(streamd_app *app, const streamd_form *f, streamd_request *req,
                          streamd_response *resp)
{
  const char *rt = streamd_form_get(f, "refresh_token");
  if (!rt || !*rt) {
    reply_oauth_error(resp, "invalid_request", "the 'refresh_token' parameter is required");
    return;
  }
  stream_auth_tokens t;
  int rc = stream_auth_refresh(&t, app->auth, rt);
  if (rc == STREAM_OK)
    streamd_reply_tokens(resp, req, &t);
  else if (rc == STREAM_EINVAL)
    reply_oauth_error(resp, "invalid_request", last_message(rc));
  else if (rc == STREAM_EAUTH || rc == STREAM_EEXPIRED || rc == STREAM_EFORBIDDEN)
    reply_oauth_error(resp, "invalid_grant", last_message(rc));
  else
    streamd_reply_service_error(resp, req, rc);
}

void streamd_route_token(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  streamd_form f;
  char detail[256] = "";
  int rc = streamd_form_parse(&f, req, 0, detail, sizeof(detail));
  if (rc == STREAMD_P_MEDIA_TYPE || rc == STREAM_ENOMEM) {
    streamd_reply_problem(resp, req, rc, detail);
    return;
  }
  if (rc) {
    reply_oauth_error(resp, "invalid_request", detail);
    return;
  }
  const char *grant = streamd_form_get(&f, "grant_type");
  if (!grant || !*grant)
    reply_oauth_error(resp, "invalid_request", "the 'grant_type' parameter is required");
  else if (strcmp(grant, GRANT_DEVICE_CODE) == 0)
    token_device_code(app, &f, req, resp);
  else if (strcmp(grant, "refresh_token") == 0)
    token_refresh(app, &f, req, resp);
  else
    reply_oauth_error(resp, "unsupported_grant_type",
                      "grant_type must be " GRANT_DEVICE_CODE " or refresh_token");
  streamd_form_free(&f);
}

/* ---- account deletion ------------------------------------------------------------ */

/*
 * The answer of an account call that re-checked the viewer's password
 * (deletion, password change): on success the account's cached token
 * verifications are dropped and the answer is 204; a wrong password is 403
 * with `wrong` (the bearer token is valid: a 401 would make clients refresh or
 * sign out), too many attempts 429 with Retry-After.
 */
static void reply_password_checked(streamd_response *resp, streamd_request *req, int rc,
                                   int64_t retry, const char *account_id, const char *wrong)
{
  if (streamd_reply_password_error(resp, req, rc, retry, wrong))
    return;
  streamd_auth_forget_account(account_id);
  streamd_reply_empty(resp, 204);
}

/*
 * DELETE /v1/account {"password": "..."}: the signed-in viewer deletes their
 * own account (profile-scoped tokens too: the account is the token's). The
 * password is checked like a sign-in (same Argon2id work, same rate-limit
 * buckets: 429 with Retry-After). A wrong password answers 403, not 401: the
 * bearer token is valid, and a 401 would make clients refresh or sign out
 * (the profile PIN answers 403 for the same reason).
 */
void streamd_route_account_delete(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  streamd_viewer v;
  if (streamd_viewer_require(&v, req, resp) != 0)
    return;
  cJSON *body = NULL;
  if (streamd_body_object(&body, req, resp) != 0)
    return;
  static const char *const names[] = {"password", NULL};
  static const size_t max[] = {STREAM_AUTH_PASSWORD_MAX};
  const char *f[1];
  if (required_strings(f, body, names, max, req, resp) != 0)
    return;
  const char *password = f[0];
  char addr[STREAM_AUTH_ADDRESS_MAX + 1];
  streamd_login_address(addr, sizeof(addr), req);
  int64_t retry = 0;
  int rc = stream_auth_account_delete(&retry, app->auth, v.account_id, password, addr);
  explicit_bzero((void *)password, strlen(password));
  cJSON_Delete(body);
  reply_password_checked(resp, req, rc, retry, v.account_id, "the password is not right");
}

/* DELETE /v1/admin/accounts/{id}: the operator deletes an account (no password). */
void streamd_route_admin_account_delete(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  if (streamd_body_none(req, resp) != 0)
    return;
  const char *id = streamd_request_param(req, "id");
  int rc = stream_auth_account_delete_admin(app->auth, id);
  if (rc == STREAM_OK)
    streamd_auth_forget_account(id);
  streamd_reply_service_empty(resp, req, rc);
}

/* ---- account self-service: read, sign out everywhere, password ------------------- */

/* GET /v1/account: the signed-in viewer's account (no password hash). */
void streamd_route_account_get(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  streamd_viewer v;
  if (streamd_viewer_require(&v, req, resp) != 0)
    return;
  stream_auth_account acct;
  int rc = stream_auth_account_get(&acct, app->auth, v.account_id);
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  cJSON *o = account_json(&acct);
  streamd_reply_json(resp, 200, o);
  streamd_response_header(resp, "Cache-Control", "no-store");
}

/*
 * POST /v1/account/logout-all: revoke every refresh token of the account and
 * drop its cached access-token verifications. Access tokens themselves are
 * stateless and stay valid until they expire (at most access_ttl, 15 min).
 */
void streamd_route_account_logout_all(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  streamd_viewer v;
  if (streamd_viewer_require(&v, req, resp) != 0)
    return;
  if (streamd_body_none(req, resp) != 0)
    return;
  size_t n = 0;
  int rc = stream_auth_logout_all(&n, app->auth, v.account_id);
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  streamd_auth_forget_account(v.account_id);
  cJSON *o = cJSON_CreateObject();
  if (o)
    cJSON_AddNumberToObject(o, "revoked", (double)n);
  streamd_reply_json(resp, 200, o);
}

/*
 * POST /v1/account/password {"current_password", "new_password"}: change the
 * password; every refresh token of the account is revoked (204). Like the
 * account deletion: a wrong current password is 403 (the bearer is valid),
 * too many attempts 429 with Retry-After, a weak new password 400.
 */
void streamd_route_account_password(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  streamd_viewer v;
  if (streamd_viewer_require(&v, req, resp) != 0)
    return;
  cJSON *body = NULL;
  if (streamd_body_object(&body, req, resp) != 0)
    return;
  static const char *const names[] = {"current_password", "new_password", NULL};
  static const size_t max[] = {STREAM_AUTH_PASSWORD_MAX, STREAM_AUTH_PASSWORD_MAX};
  const char *f[2];
  if (required_strings(f, body, names, max, req, resp) != 0)
    return;
  const char *current = f[0], *next = f[1];
  char addr[STREAM_AUTH_ADDRESS_MAX + 1];
  streamd_login_address(addr, sizeof(addr), req);
  int64_t retry = 0;
  int rc = stream_auth_change_password(&retry, app->auth, v.account_id, current, next, addr);
  explicit_bzero((void *)current, strlen(current));
  explicit_bzero((void *)next, strlen(next));
  cJSON_Delete(body);
  reply_password_checked(resp, req, rc, retry, v.account_id, "the current password is not right");
}

/*
 * POST /v1/auth/password-reset {"email"}: 202 with one fixed body whether or
 * not the address has an account (no enumeration). The answer follows
 * stream_auth_password_reset_request(): the request is committed to the store
 * (the same work for every address), so a 202 survives a crash; the account
 * lookup, the reset row and the mail (mail.c) run on the reset queue's thread
 * (reset_queue.c), so the answer time does not depend on the address either.
 * 429 with Retry-After over the per-e-mail or per-address limit; a store
 * failure answers 500/503 (nothing was accepted).
 */
void streamd_route_password_reset(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  cJSON *body = NULL;
  if (streamd_body_object(&body, req, resp) != 0)
    return;
  static const char *const names[] = {"email", NULL};
  static const size_t max[] = {1024};
  const char *f[1];
  if (required_strings(f, body, names, max, req, resp) != 0)
    return;
  char addr[STREAM_AUTH_ADDRESS_MAX + 1];
  streamd_login_address(addr, sizeof(addr), req);
  int64_t retry = 0;
  int rc = stream_auth_password_reset_request(&retry, app->auth, f[0], addr);
  cJSON_Delete(body);
  if (rc == STREAM_EBUSY && retry > 0) {
    streamd_reply_rate_limited(resp, req, retry, last_message(rc));
    return;
  }
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  cJSON *o = cJSON_CreateObject();
  if (o) {
    cJSON_AddStringToObject(o, "status", "accepted");
    cJSON_AddStringToObject(o, "detail",
                            "If an account uses this e-mail address, a link to reset its "
                            "password has been sent to it.");
  }
  streamd_reply_json(resp, 202, o);
}

/*
 * POST /v1/auth/password-reset/confirm {"token", "new_password"}: set the
 * new password with the e-mailed token (once); every refresh token of the
 * account is revoked and its cached verifications dropped. 204: the client
 * signs in with the new password. Unknown or used token 401, expired 401
 * (credential-expired), weak password 400.
 */
void streamd_route_password_reset_confirm(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  cJSON *body = NULL;
  if (streamd_body_object(&body, req, resp) != 0)
    return;
  static const char *const names[] = {"token", "new_password", NULL};
  static const size_t max[] = {256, STREAM_AUTH_PASSWORD_MAX};
  const char *f[2];
  if (required_strings(f, body, names, max, req, resp) != 0)
    return;
  const char *token = f[0], *next = f[1];
  stream_auth_account acct;
  int rc = stream_auth_password_reset_finish(&acct, app->auth, token, next);
  explicit_bzero((void *)token, strlen(token));
  explicit_bzero((void *)next, strlen(next));
  cJSON_Delete(body);
  if (rc == STREAM_OK)
    streamd_auth_forget_account(acct.id);
  streamd_reply_service_empty(resp, req, rc);
}
