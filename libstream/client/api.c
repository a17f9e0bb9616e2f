/*
 * client API calls that return the server's JSON: profiles, catalog (genres,
 * browse with cursors, search, title detail), viewing (progress, continue
 * watching, My List), and the generic stream_client_request() for routes the
 * SDK does not wrap. Each validates its arguments, builds the path with
 * escaped values and goes through client__call (401 -> refresh -> retry).
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "client_internal.h"

#define CURSOR_MAX 2048
#define GENRE_MAX 64
#define QUERY_MAX 256

static int path_detach(stream__buf *b, char **out)
{
  if (b->failed) {
    stream__buf_free(b);
    return stream__err(STREAM_ENOMEM, "out of memory building a request path");
  }
  return stream__buf_detach(b, out);
}

static int check_limit(int limit)
{
  if (limit < 0 || limit > 100)
    return stream__err(STREAM_EINVAL, "limit must be 0 (server default) or 1..100, got %d", limit);
  return STREAM_OK;
}

/* GET a JSON answer of the shape `want` (CLIENT__JSON_*, with `member`): anything else is
 * STREAM_EPROTO, so that what the header promises is what the caller gets. */
static int get_json(char **out_json, stream_client *c, const char *path, int want,
                    const char *member)
{
  return client__call_json_as(out_json, c, "GET", path, NULL, CLIENT__AUTH_BEARER, want, member);
}

/* ---- profiles ---------------------------------------------------------- */

int stream_client_profiles(char **out_json, stream_client *c)
{
  if (!out_json || !c)
    return stream__err(STREAM_EINVAL, "%s is NULL", out_json ? "client" : "out_json");
  *out_json = NULL;
  return get_json(out_json, c, "/v1/profiles", CLIENT__JSON_ARRAY_IN, "profiles");
}

static bool four_digits(const char *pin)
{
  if (strlen(pin) != 4)
    return false;
  for (int i = 0; i < 4; i++)
    if (pin[i] < '0' || pin[i] > '9')
      return false;
  return true;
}

int stream_client_profile_create(char **out_json, stream_client *c,
                                 const stream_client_profile_spec *spec)
{
  if (out_json)
    *out_json = NULL;
  if (!c || !spec)
    return stream__err(STREAM_EINVAL, "%s is NULL", c ? "spec" : "client");
  if (spec->version != 1)
    return stream__err(STREAM_EINVAL, "unknown stream_client_profile_spec version %u (expected 1)",
                       spec->version);
  int rc = client__check_text("profile name", spec->name, 64);
  if (rc != STREAM_OK)
    return rc;
  if (spec->avatar && (rc = client__check_text("avatar", spec->avatar, 1024)) != STREAM_OK)
    return rc;
  if (spec->maturity_ceiling != -1 && spec->maturity_ceiling != 0 && spec->maturity_ceiling != 7 &&
      spec->maturity_ceiling != 13 && spec->maturity_ceiling != 16 && spec->maturity_ceiling != 18)
    return stream__err(STREAM_EINVAL,
                       "maturity_ceiling must be 0, 7, 13, 16, 18 or -1 (default), got %d",
                       spec->maturity_ceiling);
  if (spec->kids != 0 && spec->kids != 1)
    return stream__err(STREAM_EINVAL, "kids must be 0 or 1, got %d", spec->kids);
  if (spec->pin && !four_digits(spec->pin))
    return stream__err(STREAM_EINVAL, "the PIN must be exactly 4 digits");
  cJSON *o = cJSON_CreateObject();
  if (o && (!cJSON_AddStringToObject(o, "name", spec->name) ||
            (spec->avatar && !cJSON_AddStringToObject(o, "avatar", spec->avatar)) ||
            !cJSON_AddBoolToObject(o, "kids", spec->kids) ||
            (spec->maturity_ceiling >= 0 &&
             !cJSON_AddNumberToObject(o, "maturity_ceiling", spec->maturity_ceiling)) ||
            (spec->pin && !cJSON_AddStringToObject(o, "pin", spec->pin)))) {
    cJSON_Delete(o);
    o = NULL;
  }
  char *body = client__print(o);
  if (!body)
    return STREAM_ENOMEM;
  rc = client__call_json_as(out_json, c, "POST", "/v1/profiles", body, CLIENT__AUTH_BEARER,
                            CLIENT__JSON_OBJECT, NULL);
  client__free_body(body);
  return rc;
}

/* DELETE /v1/profiles/{id}, with {"password": ...} as its body when `password` is given. */
static int profile_delete(stream_client *c, const char *profile_id, const char *password)
{
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  int rc = client__check_id("profile id", profile_id);
  if (rc != STREAM_OK)
    return rc;
  char *body = NULL;
  if (password) {
    if ((rc = client__check_text("password", password, 1024)) != STREAM_OK)
      return rc;
    if (!*password)
      return stream__err(STREAM_EINVAL, "password is empty");
    cJSON *o = cJSON_CreateObject();
    if (o && !cJSON_AddStringToObject(o, "password", password)) {
      cJSON_Delete(o);
      o = NULL;
    }
    if (!(body = client__print(o)))
      return STREAM_ENOMEM;
  }
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_puts(&b, "/v1/profiles/");
  client__escape(&b, profile_id);
  char *path;
  if ((rc = path_detach(&b, &path)) != STREAM_OK) {
    client__free_body(body);
    return rc;
  }
  rc = client__call_json(NULL, c, "DELETE", path, body, CLIENT__AUTH_BEARER);
  free(path);
  client__free_body(body);
  return rc;
}

int stream_client_profile_delete(stream_client *c, const char *profile_id)
{
  return profile_delete(c, profile_id, NULL);
}

int stream_client_profile_delete_locked(stream_client *c, const char *profile_id,
                                        const char *password)
{
  if (!password)
    return stream__err(STREAM_EINVAL, "password is NULL");
  return profile_delete(c, profile_id, password);
}

int stream_client_profile_switch(stream_client_session *out, stream_client *c,
                                 const char *profile_id, const char *pin)
{
  if (out)
    memset(out, 0, sizeof *out);
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  int rc = client__check_id("profile id", profile_id);
  if (rc != STREAM_OK)
    return rc;
  if (pin && !four_digits(pin))
    return stream__err(STREAM_EINVAL, "the PIN must be exactly 4 digits");
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_puts(&b, "/v1/profiles/");
  client__escape(&b, profile_id);
  stream__buf_puts(&b, "/switch");
  char *path;
  if ((rc = path_detach(&b, &path)) != STREAM_OK)
    return rc;
  cJSON *o = cJSON_CreateObject();
  if (o && pin && !cJSON_AddStringToObject(o, "pin", pin)) {
    cJSON_Delete(o);
    o = NULL;
  }
  char *body = client__print(o);
  if (!body) {
    free(path);
    return STREAM_ENOMEM;
  }
  client__response r;
  rc = client__call(&r, c, "POST", path, CLIENT__BODY_JSON, body, CLIENT__AUTH_BEARER);
  client__free_body(body);
  free(path);
  if (rc != STREAM_OK)
    return rc;
  rc = client__take_token_response(c, &r, out, false, NULL);
  client__response_free_secret(&r);
  return rc;
}

/* ---- catalog ----------------------------------------------------------- */

int stream_client_genres(char **out_json, stream_client *c)
{
  if (!out_json || !c)
    return stream__err(STREAM_EINVAL, "%s is NULL", out_json ? "client" : "out_json");
  *out_json = NULL;
  return get_json(out_json, c, "/v1/genres", CLIENT__JSON_ARRAY_IN, "genres");
}

int stream_client_browse(char **out_json, stream_client *c, const char *genre, const char *cursor,
                         int limit)
{
  if (!out_json || !c)
    return stream__err(STREAM_EINVAL, "%s is NULL", out_json ? "client" : "out_json");
  *out_json = NULL;
  int rc;
  if (genre && (rc = client__check_text("genre", genre, GENRE_MAX)) != STREAM_OK)
    return rc;
  if (cursor && (rc = client__check_text("cursor", cursor, CURSOR_MAX)) != STREAM_OK)
    return rc;
  if ((rc = check_limit(limit)) != STREAM_OK)
    return rc;
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_puts(&b, "/v1/browse");
  if (genre)
    client__query(&b, "genre", genre);
  if (cursor)
    client__query(&b, "cursor", cursor);
  if (limit)
    client__query_int(&b, "limit", limit);
  char *path;
  if ((rc = path_detach(&b, &path)) != STREAM_OK)
    return rc;
  rc = get_json(out_json, c, path, CLIENT__JSON_PAGE, NULL);
  free(path);
  return rc;
}

int stream_client_search(char **out_json, stream_client *c, const char *query, int limit)
{
  if (!out_json || !c)
    return stream__err(STREAM_EINVAL, "%s is NULL", out_json ? "client" : "out_json");
  *out_json = NULL;
  int rc;
  if ((rc = client__check_text("search query", query, QUERY_MAX)) != STREAM_OK ||
      (rc = check_limit(limit)) != STREAM_OK)
    return rc;
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_puts(&b, "/v1/search");
  client__query(&b, "q", query);
  if (limit)
    client__query_int(&b, "limit", limit);
  char *path;
  if ((rc = path_detach(&b, &path)) != STREAM_OK)
    return rc;
  rc = get_json(out_json, c, path, CLIENT__JSON_ARRAY_IN, "items");
  free(path);
  return rc;
}

static int id_path(char **out, const char *prefix, const char *what, const char *id)
{
  *out = NULL;
  int rc = client__check_id(what, id);
  if (rc != STREAM_OK)
    return rc;
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_puts(&b, prefix);
  client__escape(&b, id);
  return path_detach(&b, out);
}

int stream_client_title(char **out_json, stream_client *c, const char *title_id)
{
  if (!out_json || !c)
    return stream__err(STREAM_EINVAL, "%s is NULL", out_json ? "client" : "out_json");
  *out_json = NULL;
  char *path;
  int rc = id_path(&path, "/v1/titles/", "title id", title_id);
  if (rc != STREAM_OK)
    return rc;
  rc = get_json(out_json, c, path, CLIENT__JSON_OBJECT, NULL);
  free(path);
  return rc;
}

/* ---- viewing ----------------------------------------------------------- */

int stream_client_progress_put(stream_client *c, const char *title_id, const char *episode_id,
                               int64_t position_s, int64_t duration_s)
{
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  int rc = client__check_id("title id", title_id);
  if (rc != STREAM_OK)
    return rc;
  if (episode_id && (rc = client__check_id("episode id", episode_id)) != STREAM_OK)
    return rc;
  if (duration_s < 1 || duration_s > 604800)
    return stream__err(STREAM_EINVAL, "duration_s must be 1..604800, got %lld",
                       (long long)duration_s);
  if (position_s < 0 || position_s > duration_s)
    return stream__err(STREAM_EINVAL, "position_s must be 0..duration_s (%lld), got %lld",
                       (long long)duration_s, (long long)position_s);
  cJSON *o = cJSON_CreateObject();
  if (o && (!cJSON_AddStringToObject(o, "title_id", title_id) ||
            (episode_id && !cJSON_AddStringToObject(o, "episode_id", episode_id)) ||
            !cJSON_AddNumberToObject(o, "position_s", (double)position_s) ||
            !cJSON_AddNumberToObject(o, "duration_s", (double)duration_s))) {
    cJSON_Delete(o);
    o = NULL;
  }
  char *body = client__print(o);
  if (!body)
    return STREAM_ENOMEM;
  rc = client__call_json(NULL, c, "PUT", "/v1/progress", body, CLIENT__AUTH_BEARER);
  client__free_body(body);
  return rc;
}

int stream_client_continue_watching(char **out_json, stream_client *c, int limit)
{
  if (!out_json || !c)
    return stream__err(STREAM_EINVAL, "%s is NULL", out_json ? "client" : "out_json");
  *out_json = NULL;
  int rc = check_limit(limit);
  if (rc != STREAM_OK)
    return rc;
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_puts(&b, "/v1/continue-watching");
  if (limit)
    client__query_int(&b, "limit", limit);
  char *path;
  if ((rc = path_detach(&b, &path)) != STREAM_OK)
    return rc;
  rc = get_json(out_json, c, path, CLIENT__JSON_ARRAY_IN, "items");
  free(path);
  return rc;
}

int stream_client_mylist(char **out_json, stream_client *c)
{
  if (!out_json || !c)
    return stream__err(STREAM_EINVAL, "%s is NULL", out_json ? "client" : "out_json");
  *out_json = NULL;
  return get_json(out_json, c, "/v1/my-list", CLIENT__JSON_ARRAY_IN, "items");
}

static int mylist_change(stream_client *c, const char *method, const char *title_id)
{
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  char *path;
  int rc = id_path(&path, "/v1/my-list/", "title id", title_id);
  if (rc != STREAM_OK)
    return rc;
  rc = client__call_json(NULL, c, method, path, NULL, CLIENT__AUTH_BEARER);
  free(path);
  return rc;
}

int stream_client_mylist_add(stream_client *c, const char *title_id)
{
  return mylist_change(c, "PUT", title_id);
}

int stream_client_mylist_remove(stream_client *c, const char *title_id)
{
  return mylist_change(c, "DELETE", title_id);
}

/* ---- ratings (thumbs up/down) ------------------------------------------ */

/* The "rating" member of a /v1/ratings answer: 1, -1 or 0 (null). */
static int rating_value(int *out, const char *json)
{
  cJSON *o = client__parse_json(json, json ? strlen(json) : 0);
  const cJSON *r = o ? cJSON_GetObjectItemCaseSensitive(o, "rating") : NULL;
  int rc = STREAM_OK;
  if (cJSON_IsString(r) && strcmp(r->valuestring, "up") == 0)
    *out = 1;
  else if (cJSON_IsString(r) && strcmp(r->valuestring, "down") == 0)
    *out = -1;
  else if (cJSON_IsNull(r))
    *out = 0;
  else
    rc = stream__err(STREAM_EPROTO, "rating answer has no valid \"rating\" member");
  cJSON_Delete(o);
  return rc;
}

int stream_client_rating_put(stream_client *c, const char *title_id, int value)
{
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  if (value < -1 || value > 1)
    return stream__err(STREAM_EINVAL, "rating %d: must be 1 (up), -1 (down) or 0 (clear)", value);
  char *path;
  int rc = id_path(&path, "/v1/ratings/", "title id", title_id);
  if (rc != STREAM_OK)
    return rc;
  if (value == 0)
    rc = client__call_json(NULL, c, "DELETE", path, NULL, CLIENT__AUTH_BEARER);
  else
    rc = client__call_json(NULL, c, "PUT", path,
                           value > 0 ? "{\"rating\":\"up\"}" : "{\"rating\":\"down\"}",
                           CLIENT__AUTH_BEARER);
  free(path);
  return rc;
}

int stream_client_rating_get(int *out_value, stream_client *c, const char *title_id)
{
  if (!out_value || !c)
    return stream__err(STREAM_EINVAL, "%s is NULL", out_value ? "client" : "out_value");
  *out_value = 0;
  char *path;
  int rc = id_path(&path, "/v1/ratings/", "title id", title_id);
  if (rc != STREAM_OK)
    return rc;
  char *json = NULL;
  rc = get_json(&json, c, path, CLIENT__JSON_OBJECT, NULL);
  free(path);
  if (rc == STREAM_OK)
    rc = rating_value(out_value, json);
  stream_free(json);
  return rc;
}

int stream_client_home(char **out_json, stream_client *c, unsigned int per_row)
{
  if (!out_json || !c)
    return stream__err(STREAM_EINVAL, "%s is NULL", out_json ? "client" : "out_json");
  *out_json = NULL;
  if (per_row > 50)
    return stream__err(STREAM_EINVAL, "per_row must be 0 (server default) or 1..50, got %u",
                       per_row);
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_puts(&b, "/v1/home");
  if (per_row)
    client__query_int(&b, "per_row", per_row);
  char *path;
  int rc = path_detach(&b, &path);
  if (rc != STREAM_OK)
    return rc;
  rc = get_json(out_json, c, path, CLIENT__JSON_ARRAY_IN, "rows");
  free(path);
  return rc;
}

/* ---- anything else ----------------------------------------------------- */

int stream_client_request(char **out_json, stream_client *c, const char *method, const char *path,
                          const char *json_body)
{
  if (out_json)
    *out_json = NULL;
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  if (!method ||
      (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0 &&
       strcmp(method, "PATCH") != 0 && strcmp(method, "DELETE") != 0))
    return stream__err(STREAM_EINVAL, "method must be GET, POST, PUT, PATCH or DELETE");
  int rc = client__check_text("path", path, 4096);
  if (rc != STREAM_OK)
    return rc;
  if (path[0] != '/')
    return stream__err(STREAM_EINVAL, "path must start with '/'");
  for (size_t i = 0; path[i]; i++)
    if ((unsigned char)path[i] <= 0x20 || (unsigned char)path[i] >= 0x7f || path[i] == '#')
      return stream__err(STREAM_EINVAL,
                         "path has a space, control, '#' or non-ASCII byte at offset %zu", i);
  if (json_body) {
    cJSON *j = client__parse_json(json_body, strlen(json_body));
    if (!j)
      return stream__err(STREAM_EINVAL, "json_body is not valid JSON");
    cJSON_Delete(j);
  }
  pthread_mutex_lock(&c->tok_mu);
  bool signed_in = c->access_token || c->refresh_token;
  pthread_mutex_unlock(&c->tok_mu);
  return client__call_json(out_json, c, method, path, json_body,
                           signed_in ? CLIENT__AUTH_BEARER : CLIENT__AUTH_NONE);
}
