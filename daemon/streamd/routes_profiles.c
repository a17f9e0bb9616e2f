/*
 * Profile routes: list, create, update, delete and switch (tokens scoped to a
 * profile, PIN-checked). The account comes from the viewer's access token.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "auth.h"
#include "json.h"
#include "routes.h"
#include "routes_util.h"
#include "stream/auth.h"

static cJSON *profile_json(const stream_auth_profile *p)
{
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  cJSON_AddStringToObject(o, "id", p->id);
  cJSON_AddStringToObject(o, "name", p->name);
  cJSON_AddStringToObject(o, "avatar", p->avatar);
  cJSON_AddBoolToObject(o, "kids", p->kids);
  cJSON_AddNumberToObject(o, "maturity_ceiling", p->maturity_ceiling);
  cJSON_AddBoolToObject(o, "has_pin", p->has_pin);
  cJSON_AddNumberToObject(o, "created_at", (double)p->created_at);
  return o;
}

static cJSON *profile_item(const void *p)
{
  return profile_json(p);
}

static streamd_app *begin(streamd_viewer *v, streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  return app && streamd_viewer_require(v, req, resp) == 0 ? app : NULL;
}

/* Creating, changing and deleting profiles: not with a token of a profile with parental
 * limits (it could lift its own limits, take the PIN off a locked profile, or create an
 * unlimited profile and switch to it). */
static streamd_app *begin_manage(streamd_viewer *v, streamd_request *req, streamd_response *resp)
{
  streamd_app *app = begin(v, req, resp);
  return app && streamd_viewer_require_unlimited(v, "create, change or delete profiles", req,
                                                 resp) == 0
             ? app
             : NULL;
}

/* The optional "password" member of `body` into `*password` (NULL when absent or null): a
 * non-empty string. 0 or an answered problem. */
static int password_member(const char **password, const cJSON *body, streamd_request *req,
                           streamd_response *resp)
{
  char detail[256] = "";
  *password = NULL;
  const cJSON *pw_item = cJSON_GetObjectItemCaseSensitive(body, "password");
  if (!pw_item || cJSON_IsNull(pw_item))
    return 0;
  int rc = streamd_json_get_string(password, body, "password", 1, STREAM_AUTH_PASSWORD_MAX, detail,
                                   sizeof(detail));
  if (rc == 0 && !**password) {
    snprintf(detail, sizeof(detail), "field 'password' must not be empty");
    rc = STREAM_EINVAL;
  }
  if (rc != 0) {
    *password = NULL;
    streamd_reply_problem(resp, req, STREAM_EINVAL, detail);
    return -1;
  }
  return 0;
}

/*
 * Read the profile fields of a create/update body into `in`. On update,
 * "pin": null removes the PIN, and a "pin" member (a string or null) needs the
 * account's "password" beside it (`*password`). "password" is also accepted
 * with "kids" or "maturity_ceiling" (a PIN-locked profile's limits need it:
 * the library decides, as only it reads the row), refused otherwise, and on
 * create. 0 or an answered problem.
 */
static int profile_input(stream_auth_profile_input *in, const char **password, const cJSON *body,
                         int create, streamd_request *req, streamd_response *resp)
{
  char detail[256] = "";
  int rc, kids = -1;
  long long mat = -1;
  const char *name = NULL, *avatar = NULL, *pin = NULL;
  if ((rc = streamd_json_get_string(&name, body, "name", create, STREAM_AUTH_PROFILE_NAME_MAX,
                                    detail, sizeof(detail))) == STREAM_EINVAL ||
      (rc = streamd_json_get_string(&avatar, body, "avatar", 0, STREAM_AUTH_AVATAR_MAX, detail,
                                    sizeof(detail))) == STREAM_EINVAL ||
      (rc = streamd_json_get_bool(&kids, body, "kids", 0, detail, sizeof(detail))) ==
          STREAM_EINVAL ||
      (rc = streamd_json_get_int(&mat, body, "maturity_ceiling", 0, 0, STREAM_AUTH_MATURITY_MAX,
                                 detail, sizeof(detail))) == STREAM_EINVAL ||
      (rc = streamd_json_get_string(&pin, body, "pin", 0, 16, detail, sizeof(detail))) ==
          STREAM_EINVAL) {
    streamd_reply_problem(resp, req, STREAM_EINVAL, detail);
    return -1;
  }
  static const char *const create_fields[] = {"name", "avatar", "kids", "maturity_ceiling",
                                              "pin",  NULL};
  static const char *const update_fields[] = {"name", "avatar",   "kids", "maturity_ceiling",
                                              "pin",  "password", NULL};
  if (streamd_json_only_fields(body, create ? create_fields : update_fields, detail,
                               sizeof(detail)) != 0) {
    streamd_reply_problem(resp, req, STREAM_EINVAL, detail);
    return -1;
  }
  const cJSON *pin_item = cJSON_GetObjectItemCaseSensitive(body, "pin");
  if (!create && pin_item && cJSON_IsNull(pin_item))
    pin = "";
  else if (pin && !*pin) {
    streamd_reply_problem(resp, req, STREAM_EINVAL, "field 'pin' must be 4 digits");
    return -1;
  }
  if (create && name && !*name) {
    streamd_reply_problem(resp, req, STREAM_EINVAL, "field 'name' must not be empty");
    return -1;
  }
  if (!create) {
    /* A PIN keeps housemates out of a profile: changing it, and changing a locked profile's
     * limits, takes the account password. */
    const cJSON *pw_item = cJSON_GetObjectItemCaseSensitive(body, "password");
    if (pin && (!pw_item || cJSON_IsNull(pw_item))) {
      streamd_reply_problem(resp, req, STREAM_EINVAL,
                            "field 'password' (the account's) is required to set, change or "
                            "remove the PIN");
      return -1;
    }
    if (pw_item && !pin && kids == -1 && mat == -1) {
      streamd_reply_problem(resp, req, STREAM_EINVAL,
                            "field 'password' is only accepted with the field 'pin', 'kids' or "
                            "'maturity_ceiling'");
      return -1;
    }
    if (password_member(password, body, req, resp) != 0)
      return -1;
  }
  in->name = name;
  in->avatar = avatar;
  in->kids = kids;
  in->maturity_ceiling = (int)mat;
  in->pin = pin;
  return 0;
}

void streamd_route_profiles_list(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin(&v, req, resp);
  if (!app)
    return;
  stream_auth_profile list[STREAM_AUTH_PROFILES_MAX];
  size_t n = 0;
  int rc = stream_auth_profile_list(list, &n, app->auth, v.account_id);
  streamd_reply_list(resp, req, rc, "profiles", list, n, sizeof(list[0]), profile_item);
}

void streamd_route_profiles_create(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin_manage(&v, req, resp);
  if (!app)
    return;
  cJSON *body = NULL;
  if (streamd_body_object(&body, req, resp) != 0)
    return;
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  if (profile_input(&in, NULL, body, 1, req, resp) != 0) {
    cJSON_Delete(body);
    return;
  }
  stream_auth_profile p;
  int rc = stream_auth_profile_create(&p, app->auth, v.account_id, &in);
  cJSON_Delete(body);
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc);
    return;
  }
  char location[96];
  snprintf(location, sizeof(location), "/v1/profiles/%s", p.id);
  streamd_response_header(resp, "Location", location);
  streamd_reply_json(resp, 201, profile_json(&p));
}

/*
 * PATCH /v1/profiles/{id}: change the given fields. A "pin" (a new one, or null to remove
 * it) needs the account "password" in the same body, and so does a change of "kids" or
 * "maturity_ceiling" of a profile that has a PIN; checked like a sign-in (the same
 * Argon2id work and rate-limit buckets): missing 400, wrong 403 (the bearer is valid, as
 * for DELETE /v1/account), too many attempts 429 with Retry-After. Without it any adult
 * profile's token could take the PIN off another profile of the account, or lift a locked
 * profile's limits.
 */
void streamd_route_profiles_update(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin_manage(&v, req, resp);
  if (!app)
    return;
  cJSON *body = NULL;
  if (streamd_body_object(&body, req, resp) != 0)
    return;
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  const char *password = NULL;
  if (profile_input(&in, &password, body, 0, req, resp) != 0) {
    cJSON_Delete(body);
    return;
  }
  char addr[STREAM_AUTH_ADDRESS_MAX + 1];
  streamd_login_address(addr, sizeof(addr), req);
  stream_auth_profile p;
  int64_t retry = 0;
  int rc = stream_auth_profile_update_checked(
      &p, &retry, app->auth, v.account_id, streamd_request_param(req, "id"), &in, password, addr);
  if (password)
    explicit_bzero((void *)password, strlen(password));
  cJSON_Delete(body);
  if (streamd_reply_password_error(resp, req, rc, retry, "the password is not right"))
    return;
  /* The account's tokens carry the profile's kids flag and ceiling as read at verification:
   * drop the ones verified in the last seconds, so the change applies to the next request. */
  streamd_auth_forget_account(v.account_id);
  streamd_reply_json(resp, 200, profile_json(&p));
}

/*
 * DELETE /v1/profiles/{id}, optional body {"password": "..."}: a profile that has a PIN
 * (its progress, My List and ratings go with it) is deleted only with the account password,
 * checked as for PATCH (missing 400 saying the profile is locked, wrong 403, 429 with
 * Retry-After); one without a PIN needs no body, and a password sent for it is ignored.
 */
void streamd_route_profiles_delete(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin_manage(&v, req, resp);
  if (!app)
    return;
  const char *password = NULL;
  cJSON *body = NULL;
  if (req->body_len > 0) {
    if (streamd_body_object(&body, req, resp) != 0)
      return;
    static const char *const fields[] = {"password", NULL};
    char detail[256] = "";
    if (streamd_json_only_fields(body, fields, detail, sizeof(detail)) != 0) {
      cJSON_Delete(body);
      streamd_reply_problem(resp, req, STREAM_EINVAL, detail);
      return;
    }
    if (password_member(&password, body, req, resp) != 0) {
      cJSON_Delete(body);
      return;
    }
  }
  char addr[STREAM_AUTH_ADDRESS_MAX + 1];
  streamd_login_address(addr, sizeof(addr), req);
  int64_t retry = 0;
  int rc = stream_auth_profile_delete_checked(&retry, app->auth, v.account_id,
                                              streamd_request_param(req, "id"), password, addr);
  if (password)
    explicit_bzero((void *)password, strlen(password));
  cJSON_Delete(body);
  if (streamd_reply_password_error(resp, req, rc, retry, "the password is not right"))
    return;
  /* the deleted profile's tokens fail from the next request on */
  streamd_auth_forget_account(v.account_id);
  streamd_reply_empty(resp, 204);
}

void streamd_route_profiles_switch(streamd_request *req, streamd_response *resp)
{
  streamd_viewer v;
  streamd_app *app = begin(&v, req, resp);
  if (!app)
    return;
  const char *pin = NULL;
  cJSON *body = NULL;
  if (req->body_len > 0) {
    if (streamd_body_object(&body, req, resp) != 0)
      return;
    char detail[256] = "";
    int rc = streamd_json_get_string(&pin, body, "pin", 0, 16, detail, sizeof(detail));
    if (rc == STREAM_EINVAL || cJSON_GetArraySize(body) > (pin ? 1 : 0)) {
      cJSON_Delete(body);
      streamd_reply_problem(resp, req, STREAM_EINVAL,
                            rc == STREAM_EINVAL ? detail : "only the field 'pin' is accepted");
      return;
    }
  }
  stream_auth_tokens t;
  int64_t retry = 0;
  int rc = stream_auth_switch_profile(&t, &retry, app->auth, v.account_id,
                                      streamd_request_param(req, "id"), pin);
  cJSON_Delete(body);
  if (rc == STREAM_EBUSY && retry > 0) /* EBUSY without a wait: the store, 503 */
    streamd_reply_rate_limited(resp, req, retry, "too many PIN attempts");
  else if (rc != STREAM_OK)
    streamd_reply_service_error(resp, req, rc);
  else
    streamd_reply_tokens(resp, req, &t);
}
