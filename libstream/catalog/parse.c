/*
 * Catalog documents: strict validation of title JSON (types, ranges, unknown
 * and duplicate fields, UTF-8) into the store's row types. Every message names
 * the field and what it must be, e.g. "title: field 'year' must be an integer
 * between 1888 and 2100".
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../core/json.h"
#include "catalog_internal.h"

/* A "\u0000" escape inside a JSON string would silently cut the string. */
static bool has_nul_escape(const char *s, size_t len)
{
  bool in_str = false;
  for (size_t i = 0; i < len; i++) {
    if (!in_str) {
      if (s[i] == '"')
        in_str = true;
      continue;
    }
    if (s[i] == '"') {
      in_str = false;
    } else if (s[i] == '\\' && i + 1 < len) {
      if (s[i + 1] == 'u' && i + 5 < len && memcmp(s + i + 2, "0000", 4) == 0)
        return true;
      i++;
    }
  }
  return false;
}

int cat_json_parse(cJSON **out, const char *text, size_t len, const char *what)
{
  *out = NULL;
  if (!stream__utf8_valid(text, len))
    return stream__err(STREAM_EINVAL, "%s is not valid UTF-8 (bad byte at offset %zu)", what,
                       stream__utf8_check(text, len));
  if (has_nul_escape(text, len))
    return stream__err(STREAM_EINVAL, "%s contains a \\u0000 escape in a string", what);
  size_t off = 0;
  enum stream__json_fail fail;
  cJSON *root = stream__json_parse_whole(text, len, &off, &fail);
  if (!root) {
    if (fail == STREAM__JSON_TRAILING)
      return stream__err(STREAM_EINVAL, "%s has trailing data at offset %zu", what, off);
    return stream__err(STREAM_EINVAL, "%s is not valid JSON (error near offset %zu)", what, off);
  }
  *out = root;
  return STREAM_OK;
}

/* ---- field helpers -------------------------------------------------------- */

static int check_fields(const cJSON *obj, const char *where, const char *const *allowed)
{
  for (const cJSON *f = obj->child; f; f = f->next) {
    if (!f->string)
      return stream__err(STREAM_EINVAL, "%s: field without a name", where);
    bool known = false;
    for (size_t i = 0; allowed[i]; i++)
      if (strcmp(allowed[i], f->string) == 0)
        known = true;
    if (!known)
      return stream__err(STREAM_EINVAL, "%s: unknown field '%.64s'", where, f->string);
    for (const cJSON *g = obj->child; g != f; g = g->next)
      if (strcmp(g->string, f->string) == 0)
        return stream__err(STREAM_EINVAL, "%s: duplicate field '%.64s'", where, f->string);
  }
  return STREAM_OK;
}

static bool is_int(const cJSON *v, double lo, double hi)
{
  if (!cJSON_IsNumber(v))
    return false;
  double d = v->valuedouble;
  return isfinite(d) && d == floor(d) && d >= lo && d <= hi;
}

/* Text: UTF-8 already checked; no control characters except, when
 * `multiline`, tab and newline. */
static int check_string(const char *where, const char *field, const char *s, size_t max,
                        bool multiline)
{
  size_t n = strlen(s);
  if (n == 0)
    return stream__err(STREAM_EINVAL, "%s: field '%s' must not be empty", where, field);
  if (n > max)
    return stream__err(STREAM_EINVAL, "%s: field '%s' is longer than %zu bytes", where, field, max);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == 0x7f || (*p < 0x20 && !(multiline && (*p == '\n' || *p == '\t' || *p == '\r'))))
      return stream__err(STREAM_EINVAL, "%s: field '%s' contains a control character", where,
                         field);
  }
  if (!stream__utf8_valid(s, n))
    return stream__err(STREAM_EINVAL, "%s: field '%s' is not valid UTF-8", where, field);
  return STREAM_OK;
}

static int get_string(const char **out, const cJSON *obj, const char *where, const char *field,
                      size_t max, bool required, bool multiline)
{
  *out = NULL;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (!v || (!required && cJSON_IsNull(v))) {
    if (required)
      return stream__err(STREAM_EINVAL, "%s: field '%s' is required", where, field);
    return STREAM_OK;
  }
  if (!cJSON_IsString(v) || !v->valuestring)
    return stream__err(STREAM_EINVAL, "%s: field '%s' must be a string%s", where, field,
                       required ? "" : " or null");
  TRY(check_string(where, field, v->valuestring, max, multiline));
  *out = v->valuestring;
  return STREAM_OK;
}

static int get_int(int64_t *out, bool *present, const cJSON *obj, const char *where,
                   const char *field, int64_t lo, int64_t hi, bool required)
{
  *present = false;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (!v || (!required && cJSON_IsNull(v))) {
    if (required)
      return stream__err(STREAM_EINVAL, "%s: field '%s' is required", where, field);
    return STREAM_OK;
  }
  if (!is_int(v, (double)lo, (double)hi))
    return stream__err(STREAM_EINVAL, "%s: field '%s' must be an integer between %lld and %lld%s",
                       where, field, (long long)lo, (long long)hi, required ? "" : " (or null)");
  *out = (int64_t)v->valuedouble;
  *present = true;
  return STREAM_OK;
}

static int get_id(char *out, const cJSON *obj, const char *where, const char *field)
{
  out[0] = 0;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (!v)
    return STREAM_OK;
  if (!cJSON_IsString(v) || !v->valuestring)
    return stream__err(STREAM_EINVAL, "%s: field '%s' must be a string", where, field);
  size_t n = strlen(v->valuestring);
  if (n < 1 || n > STREAM_STORE_ID_MAX)
    return stream__err(STREAM_EINVAL, "%s: field '%s' must be 1 to %d characters long", where,
                       field, STREAM_STORE_ID_MAX);
  for (size_t i = 0; i < n; i++) {
    char ch = v->valuestring[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
          ch == '-' || ch == '_'))
      return stream__err(STREAM_EINVAL,
                         "%s: field '%s' may only contain A-Z a-z 0-9 _ - (offset %zu)", where,
                         field, i);
  }
  memcpy(out, v->valuestring, n + 1);
  return STREAM_OK;
}

static const char *const maturity_values = "0, 7, 13, 16 or 18";

const char *stream_catalog_maturity_label(int rating)
{
  switch (rating) {
  case 0:
    return "All";
  case 7:
    return "7+";
  case 13:
    return "13+";
  case 16:
    return "16+";
  case 18:
    return "18+";
  default:
    return NULL;
  }
}

/* ---- arrays of strings: genres, regions ------------------------------------ */

static bool region_ok(const char *r)
{
  size_t n = strlen(r);
  if (n == 2)
    return r[0] >= 'A' && r[0] <= 'Z' && r[1] >= 'A' && r[1] <= 'Z';
  if (n == 3)
    return r[0] >= '0' && r[0] <= '9' && r[1] >= '0' && r[1] <= '9' && r[2] >= '0' && r[2] <= '9';
  return false;
}

int cat_genre_cmp(const char *a, const char *b)
{
  const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
  for (;; x++, y++) {
    int cx = *x >= 'A' && *x <= 'Z' ? *x + ('a' - 'A') : *x;
    int cy = *y >= 'A' && *y <= 'Z' ? *y + ('a' - 'A') : *y;
    if (cx != cy || !cx)
      return cx - cy;
  }
}

/* Genres repeat when they are one genre in the store (cat_genre_cmp), regions when equal. */
static int get_string_list(char ***out, size_t *out_count, const cJSON *obj, const char *where,
                           const char *field, size_t max_items, bool regions)
{
  *out = NULL;
  *out_count = 0;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (!v || cJSON_IsNull(v))
    return STREAM_OK;
  if (!cJSON_IsArray(v))
    return stream__err(STREAM_EINVAL, "%s: field '%s' must be an array of strings", where, field);
  size_t n = (size_t)cJSON_GetArraySize(v);
  if (n > max_items)
    return stream__err(STREAM_EINVAL, "%s: field '%s' has %zu items (at most %zu)", where, field, n,
                       max_items);
  if (n == 0)
    return STREAM_OK;
  char **arr = stream__calloc(n, sizeof *arr);
  if (!arr)
    return STREAM_ENOMEM;
  size_t i = 0;
  for (const cJSON *e = v->child; e; e = e->next, i++) {
    char label[48];
    snprintf(label, sizeof label, "%s[%zu]", field, i);
    int rc = STREAM_OK;
    if (!cJSON_IsString(e) || !e->valuestring)
      rc = stream__err(STREAM_EINVAL, "%s: field '%s' must be a string", where, label);
    else if (regions && !region_ok(e->valuestring))
      rc = stream__err(STREAM_EINVAL,
                       "%s: field '%s' must be an ISO 3166-1 alpha-2 code (\"FR\") or a UN M49 "
                       "numeric code (\"419\")",
                       where, label);
    else if (!regions)
      rc = check_string(where, label, e->valuestring, STREAM_STORE_GENRE_MAX, false);
    for (size_t k = 0; rc == STREAM_OK && k < i; k++)
      if (strcmp(arr[k], e->valuestring) == 0)
        rc = stream__err(STREAM_EINVAL, "%s: field '%s' repeats \"%.64s\"", where, field,
                         e->valuestring);
      else if (!regions && cat_genre_cmp(arr[k], e->valuestring) == 0)
        rc = stream__err(STREAM_EINVAL,
                         "%s: field '%s' repeats \"%.64s\" as \"%.64s\" (genres ignore ASCII case)",
                         where, field, arr[k], e->valuestring);
    if (rc) {
      stream_free(arr);
      return rc;
    }
    arr[i] = e->valuestring;
  }
  *out = arr;
  *out_count = n;
  return STREAM_OK;
}

/* ---- credits and artwork: validated, then stored as canonical JSON --------- */

static int get_credits(char **out, const cJSON *obj, const char *where)
{
  *out = NULL;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "credits");
  if (!v || cJSON_IsNull(v))
    return STREAM_OK;
  if (!cJSON_IsArray(v))
    return stream__err(STREAM_EINVAL, "%s: field 'credits' must be an array of objects", where);
  size_t n = (size_t)cJSON_GetArraySize(v);
  if (n > CAT_CREDITS_MAX)
    return stream__err(STREAM_EINVAL, "%s: field 'credits' has %zu items (at most %d)", where, n,
                       CAT_CREDITS_MAX);
  static const char *const allowed[] = {"name", "role", "character", NULL};
  cJSON *arr = cJSON_CreateArray();
  if (!arr)
    return stream__err(STREAM_ENOMEM, "out of memory");
  size_t i = 0;
  int rc = STREAM_OK;
  for (const cJSON *e = v->child; e && rc == STREAM_OK; e = e->next, i++) {
    char w[96];
    snprintf(w, sizeof w, "%s.credits[%zu]", where, i);
    if (!cJSON_IsObject(e)) {
      rc = stream__err(STREAM_EINVAL, "%s: must be an object {name, role, character}", w);
      break;
    }
    const char *name, *role, *character;
    if ((rc = check_fields(e, w, allowed)) ||
        (rc = get_string(&name, e, w, "name", CAT_CREDIT_TEXT_MAX, true, false)) ||
        (rc = get_string(&role, e, w, "role", CAT_ROLE_MAX, true, false)) ||
        (rc = get_string(&character, e, w, "character", CAT_CREDIT_TEXT_MAX, false, false)))
      break;
    for (const char *p = role; *p; p++)
      if (!((*p >= 'a' && *p <= 'z') || *p == '_')) {
        rc = stream__err(STREAM_EINVAL,
                         "%s: field 'role' must be lowercase letters and '_' (e.g. \"director\")",
                         w);
        break;
      }
    if (rc)
      break;
    cJSON *c = cJSON_CreateObject();
    if (c && !cJSON_AddItemToArray(arr, c)) {
      cJSON_Delete(c);
      c = NULL;
    }
    if (!c || !cJSON_AddStringToObject(c, "name", name) ||
        !cJSON_AddStringToObject(c, "role", role) ||
        (character && !cJSON_AddStringToObject(c, "character", character)))
      rc = stream__err(STREAM_ENOMEM, "out of memory");
  }
  if (rc == STREAM_OK) {
    *out = cJSON_PrintUnformatted(arr);
    if (!*out)
      rc = stream__err(STREAM_ENOMEM, "out of memory");
    else if (strlen(*out) > STREAM_STORE_JSON_MAX) {
      cJSON_free(*out);
      *out = NULL;
      rc = stream__err(STREAM_EINVAL, "%s: field 'credits' is larger than %d bytes as JSON", where,
                       STREAM_STORE_JSON_MAX);
    }
  }
  cJSON_Delete(arr);
  return rc;
}

static const char *const artwork_kinds[] = {"poster",    "backdrop", "logo",
                                            "thumbnail", "banner",   NULL};

static int check_url(const char *where, const char *field, const char *u)
{
  size_t n = strlen(u);
  if (n == 0 || n > CAT_URL_MAX)
    return stream__err(STREAM_EINVAL, "%s: artwork '%s' must be 1 to %d bytes", where, field,
                       CAT_URL_MAX);
  if (!(u[0] == '/' || strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0))
    return stream__err(STREAM_EINVAL,
                       "%s: artwork '%s' must be an absolute path (\"/static/art/x.jpg\") or an "
                       "http(s) URL",
                       where, field);
  for (const unsigned char *p = (const unsigned char *)u; *p; p++)
    if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '<' || *p == '>' || *p == '\\')
      return stream__err(STREAM_EINVAL,
                         "%s: artwork '%s' contains a character not allowed in a URL at offset "
                         "%zu (percent-encode it)",
                         where, field, (size_t)(p - (const unsigned char *)u));
  return STREAM_OK;
}

static int get_artwork(char **out, const cJSON *obj, const char *where)
{
  *out = NULL;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "artwork");
  if (!v || cJSON_IsNull(v))
    return STREAM_OK;
  char w[96];
  snprintf(w, sizeof w, "%s.artwork", where);
  if (!cJSON_IsObject(v))
    return stream__err(STREAM_EINVAL, "%s: field 'artwork' must be an object of URLs", where);
  TRY(check_fields(v, w, artwork_kinds));
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return stream__err(STREAM_ENOMEM, "out of memory");
  int rc = STREAM_OK;
  /* Canonical order: the order of artwork_kinds. */
  for (size_t i = 0; artwork_kinds[i] && rc == STREAM_OK; i++) {
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(v, artwork_kinds[i]);
    if (!u)
      continue;
    if (!cJSON_IsString(u) || !u->valuestring)
      rc = stream__err(STREAM_EINVAL, "%s: field '%s' must be a string", w, artwork_kinds[i]);
    else if ((rc = check_url(where, artwork_kinds[i], u->valuestring)) == STREAM_OK &&
             !cJSON_AddStringToObject(o, artwork_kinds[i], u->valuestring))
      rc = stream__err(STREAM_ENOMEM, "out of memory");
  }
  if (rc == STREAM_OK && !(*out = cJSON_PrintUnformatted(o)))
    rc = stream__err(STREAM_ENOMEM, "out of memory");
  cJSON_Delete(o);
  return rc;
}

/* ---- seasons and episodes ------------------------------------------------ */

static int get_episodes(cat_season *s, const cJSON *arr, const char *where)
{
  if (!cJSON_IsArray(arr))
    return stream__err(STREAM_EINVAL, "%s: field 'episodes' must be an array", where);
  size_t n = (size_t)cJSON_GetArraySize(arr);
  if (n > CAT_EPISODES_MAX)
    return stream__err(STREAM_EINVAL, "%s: field 'episodes' has %zu items (at most %d)", where, n,
                       CAT_EPISODES_MAX);
  if (n == 0)
    return STREAM_OK;
  s->episodes = stream__calloc(n, sizeof *s->episodes);
  if (!s->episodes)
    return STREAM_ENOMEM;
  s->episode_count = n;
  static const char *const allowed[] = {"id",       "number",          "name",
                                        "synopsis", "runtime_minutes", NULL};
  size_t i = 0;
  for (const cJSON *e = arr->child; e; e = e->next, i++) {
    char w[128];
    snprintf(w, sizeof w, "%s.episodes[%zu]", where, i);
    if (!cJSON_IsObject(e))
      return stream__err(STREAM_EINVAL, "%s: must be an object", w);
    cat_episode *ep = &s->episodes[i];
    int64_t v = 0;
    bool present;
    TRY(check_fields(e, w, allowed));
    TRY(get_id(ep->id, e, w, "id"));
    TRY(get_int(&v, &present, e, w, "number", 1, CAT_EPISODE_NUMBER_MAX, true));
    ep->number = (int)v;
    TRY(get_string(&ep->name, e, w, "name", STREAM_STORE_TITLE_NAME_MAX, true, false));
    TRY(get_string(&ep->synopsis, e, w, "synopsis", STREAM_STORE_SYNOPSIS_MAX, false, true));
    TRY(get_int(&v, &present, e, w, "runtime_minutes", 1, CAT_RUNTIME_MAX, false));
    ep->runtime = present ? (int)v : 0;
    for (size_t k = 0; k < i; k++) {
      if (s->episodes[k].number == ep->number)
        return stream__err(STREAM_EINVAL, "%s: episode number %d appears twice in the season", w,
                           ep->number);
      if (ep->id[0] && strcmp(s->episodes[k].id, ep->id) == 0)
        return stream__err(STREAM_EINVAL, "%s: episode id \"%s\" appears twice", w, ep->id);
    }
  }
  return STREAM_OK;
}

static int get_seasons(cat_doc *d, const cJSON *obj, const char *where)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "seasons");
  if (!v)
    return STREAM_OK;
  if (d->t.kind != STREAM_STORE_TITLE_SERIES)
    return stream__err(STREAM_EINVAL, "%s: field 'seasons' is only allowed when kind is \"series\"",
                       where);
  if (!cJSON_IsArray(v))
    return stream__err(STREAM_EINVAL, "%s: field 'seasons' must be an array", where);
  d->has_seasons = true;
  size_t n = (size_t)cJSON_GetArraySize(v);
  if (n > CAT_SEASONS_MAX)
    return stream__err(STREAM_EINVAL, "%s: field 'seasons' has %zu items (at most %d)", where, n,
                       CAT_SEASONS_MAX);
  if (n == 0)
    return STREAM_OK;
  d->seasons = stream__calloc(n, sizeof *d->seasons);
  if (!d->seasons)
    return STREAM_ENOMEM;
  d->season_count = n;
  static const char *const allowed[] = {"number", "episodes", NULL};
  size_t i = 0;
  for (const cJSON *s = v->child; s; s = s->next, i++) {
    char w[96];
    snprintf(w, sizeof w, "%s.seasons[%zu]", where, i);
    if (!cJSON_IsObject(s))
      return stream__err(STREAM_EINVAL, "%s: must be an object {number, episodes}", w);
    TRY(check_fields(s, w, allowed));
    int64_t num = 0;
    bool present;
    TRY(get_int(&num, &present, s, w, "number", 0, CAT_SEASON_NUMBER_MAX, true));
    d->seasons[i].number = (int)num;
    for (size_t k = 0; k < i; k++)
      if (d->seasons[k].number == (int)num)
        return stream__err(STREAM_EINVAL, "%s: season number %d appears twice", w, (int)num);
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(s, "episodes");
    if (!eps)
      return stream__err(STREAM_EINVAL, "%s: field 'episodes' is required", w);
    TRY(get_episodes(&d->seasons[i], eps, w));
  }
  /* Episode ids are unique across the whole title. */
  for (size_t a = 0; a < n; a++)
    for (size_t e = 0; e < d->seasons[a].episode_count; e++) {
      const char *id = d->seasons[a].episodes[e].id;
      if (!id[0])
        continue;
      for (size_t b = a + 1; b < n; b++)
        for (size_t f = 0; f < d->seasons[b].episode_count; f++)
          if (strcmp(id, d->seasons[b].episodes[f].id) == 0)
            return stream__err(STREAM_EINVAL, "%s: episode id \"%s\" appears in two seasons", where,
                               id);
    }
  return STREAM_OK;
}

/* ---- the title ----------------------------------------------------------- */

void cat_doc_clear(cat_doc *d)
{
  if (!d)
    return;
  stream_free(d->t.genres);
  stream_free(d->t.regions);
  cJSON_free(d->t.credits_json);
  cJSON_free(d->t.artwork_json);
  for (size_t i = 0; i < d->season_count; i++)
    stream_free(d->seasons[i].episodes);
  stream_free(d->seasons);
  memset(d, 0, sizeof *d);
}

static int doc_fill(cat_doc *d, const cJSON *obj, const char *where)
{
  static const char *const allowed[] = {"id",
                                        "kind",
                                        "name",
                                        "synopsis",
                                        "year",
                                        "runtime_minutes",
                                        "genres",
                                        "credits",
                                        "artwork",
                                        "regions",
                                        "maturity_rating",
                                        "available_from",
                                        "available_until",
                                        "seasons",
                                        NULL};
  if (!cJSON_IsObject(obj))
    return stream__err(STREAM_EINVAL, "%s: must be a JSON object", where);
  TRY(check_fields(obj, where, allowed));
  stream_store_title *t = &d->t;
  TRY(get_id(t->id, obj, where, "id"));

  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(obj, "kind");
  if (!kind)
    return stream__err(STREAM_EINVAL, "%s: field 'kind' is required", where);
  if (cJSON_IsString(kind) && strcmp(kind->valuestring, "movie") == 0)
    t->kind = STREAM_STORE_TITLE_MOVIE;
  else if (cJSON_IsString(kind) && strcmp(kind->valuestring, "series") == 0)
    t->kind = STREAM_STORE_TITLE_SERIES;
  else
    return stream__err(STREAM_EINVAL, "%s: field 'kind' must be \"movie\" or \"series\"", where);

  const char *s;
  TRY(get_string(&s, obj, where, "name", STREAM_STORE_TITLE_NAME_MAX, true, false));
  t->name = (char *)s;
  TRY(get_string(&s, obj, where, "synopsis", STREAM_STORE_SYNOPSIS_MAX, false, true));
  t->synopsis = (char *)s;

  int64_t v = 0;
  bool present;
  TRY(get_int(&v, &present, obj, where, "year", CAT_YEAR_MIN, CAT_YEAR_MAX, false));
  t->year = present ? (int)v : 0;
  TRY(get_int(&v, &present, obj, where, "runtime_minutes", 1, CAT_RUNTIME_MAX, false));
  t->runtime = present ? (int)v : 0;

  const cJSON *m = cJSON_GetObjectItemCaseSensitive(obj, "maturity_rating");
  if (!m)
    return stream__err(STREAM_EINVAL, "%s: field 'maturity_rating' is required", where);
  if (!is_int(m, 0, STREAM_CATALOG_MATURITY_MAX) ||
      !stream_catalog_maturity_label((int)m->valuedouble))
    return stream__err(STREAM_EINVAL, "%s: field 'maturity_rating' must be one of %s", where,
                       maturity_values);
  t->maturity_rating = (int)m->valuedouble;

  TRY(get_int(&v, &present, obj, where, "available_from", 0, CAT_TIME_MAX, false));
  t->available_from = present ? v : 0;
  TRY(get_int(&v, &present, obj, where, "available_until", 1, CAT_TIME_MAX, false));
  t->available_until = present ? v : 0;
  if (t->available_until && t->available_until <= t->available_from)
    return stream__err(STREAM_EINVAL,
                       "%s: field 'available_until' must be later than 'available_from'", where);

  TRY(get_string_list(&t->genres, &t->genre_count, obj, where, "genres",
                      STREAM_STORE_GENRES_PER_TITLE, false));
  TRY(get_string_list(&t->regions, &t->region_count, obj, where, "regions",
                      STREAM_STORE_REGIONS_PER_TITLE, true));
  TRY(get_credits(&t->credits_json, obj, where));
  TRY(get_artwork(&t->artwork_json, obj, where));
  TRY(get_seasons(d, obj, where));
  return STREAM_OK;
}

int cat_doc_from_json(cat_doc *out, const cJSON *obj, const char *where)
{
  memset(out, 0, sizeof *out);
  int rc = doc_fill(out, obj, where);
  if (rc)
    cat_doc_clear(out);
  return rc;
}
