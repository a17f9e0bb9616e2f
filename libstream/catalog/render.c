/*
 * Catalog rendering: store rows to the JSON shapes of docs/api/catalog.md.
 * One title object everywhere (browse, search, detail, My List, continue
 * watching); detail adds "seasons". Optional values are null, never absent.
 */
#include <string.h>

#include "catalog_internal.h"

static bool add_opt_int(cJSON *o, const char *k, int64_t v)
{
  return v ? cJSON_AddNumberToObject(o, k, (double)v) != NULL : cJSON_AddNullToObject(o, k) != NULL;
}

static bool add_opt_str(cJSON *o, const char *k, const char *v)
{
  return v ? cJSON_AddStringToObject(o, k, v) != NULL : cJSON_AddNullToObject(o, k) != NULL;
}

static bool add_strings(cJSON *o, const char *k, char **v, size_t n)
{
  cJSON *a = cJSON_AddArrayToObject(o, k);
  if (!a)
    return false;
  for (size_t i = 0; i < n; i++) {
    cJSON *s = cJSON_CreateString(v[i]);
    if (!s || !cJSON_AddItemToArray(a, s)) {
      cJSON_Delete(s);
      return false;
    }
  }
  return true;
}

/* Stored JSON text (written by this module) back into the tree; a row written
 * by something else that does not parse, or has the wrong type, renders as the
 * empty value rather than failing the whole page. */
static bool add_stored_json(cJSON *o, const char *k, const char *text, bool array)
{
  cJSON *v = text ? cJSON_Parse(text) : NULL;
  if (v && (array ? !cJSON_IsArray(v) : !cJSON_IsObject(v))) {
    cJSON_Delete(v);
    v = NULL;
  }
  if (!v)
    v = array ? cJSON_CreateArray() : cJSON_CreateObject();
  if (!v)
    return false;
  if (!cJSON_AddItemToObject(o, k, v)) {
    cJSON_Delete(v);
    return false;
  }
  return true;
}

cJSON *cat_render_title(const stream_store_title *t)
{
  cJSON *o = cJSON_CreateObject();
  const char *label = stream_catalog_maturity_label(t->maturity_rating);
  if (!o || !cJSON_AddStringToObject(o, "id", t->id) ||
      !cJSON_AddStringToObject(o, "kind",
                               t->kind == STREAM_STORE_TITLE_SERIES ? "series" : "movie") ||
      !cJSON_AddStringToObject(o, "name", t->name ? t->name : "") ||
      !add_opt_str(o, "synopsis", t->synopsis) || !add_opt_int(o, "year", t->year) ||
      !add_opt_int(o, "runtime_minutes", t->runtime) ||
      !cJSON_AddNumberToObject(o, "maturity_rating", t->maturity_rating) ||
      !add_opt_str(o, "maturity_label", label) ||
      !add_strings(o, "genres", t->genres, t->genre_count) ||
      !add_stored_json(o, "credits", t->credits_json, true) ||
      !add_stored_json(o, "artwork", t->artwork_json, false) ||
      !add_strings(o, "regions", t->regions, t->region_count) ||
      !add_opt_int(o, "available_from", t->available_from) ||
      !add_opt_int(o, "available_until", t->available_until) ||
      !cJSON_AddNumberToObject(o, "created_at", (double)t->created_at) ||
      !cJSON_AddNumberToObject(o, "updated_at", (double)t->updated_at)) {
    cJSON_Delete(o);
    stream__err(STREAM_ENOMEM, "out of memory rendering title");
    return NULL;
  }
  return o;
}

static cJSON *render_episode(const stream_store_episode *e)
{
  cJSON *o = cJSON_CreateObject();
  if (!o || !cJSON_AddStringToObject(o, "id", e->id) ||
      !cJSON_AddNumberToObject(o, "number", e->number) ||
      !cJSON_AddStringToObject(o, "name", e->name ? e->name : "") ||
      !add_opt_str(o, "synopsis", e->synopsis) || !add_opt_int(o, "runtime_minutes", e->runtime)) {
    cJSON_Delete(o);
    return NULL;
  }
  return o;
}

cJSON *cat_render_detail(const stream_store_title_detail *d)
{
  cJSON *o = cat_render_title(&d->title);
  if (!o)
    return NULL;
  cJSON *seasons = cJSON_AddArrayToObject(o, "seasons");
  if (!seasons)
    goto oom;
  for (size_t i = 0; i < d->season_count; i++) {
    const stream_store_season *s = &d->seasons[i];
    cJSON *so = cJSON_CreateObject();
    if (!so || !cJSON_AddItemToArray(seasons, so)) {
      cJSON_Delete(so);
      goto oom;
    }
    if (!cJSON_AddStringToObject(so, "id", s->id) ||
        !cJSON_AddNumberToObject(so, "number", s->number))
      goto oom;
    cJSON *eps = cJSON_AddArrayToObject(so, "episodes");
    if (!eps)
      goto oom;
    for (size_t k = 0; k < s->episode_count; k++) {
      cJSON *eo = render_episode(&s->episodes[k]);
      if (!eo || !cJSON_AddItemToArray(eps, eo)) {
        cJSON_Delete(eo);
        goto oom;
      }
    }
  }
  return o;
oom:
  cJSON_Delete(o);
  stream__err(STREAM_ENOMEM, "out of memory rendering title detail");
  return NULL;
}

int cat_print(char **out, cJSON *root)
{
  *out = NULL;
  if (!root)
    return STREAM_ENOMEM;
  char *txt = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  if (!txt)
    return stream__err(STREAM_ENOMEM, "out of memory printing JSON");
  /* Hand out memory that stream_free() releases, whatever cJSON's allocator. */
  *out = stream__strdup(txt);
  cJSON_free(txt);
  return *out ? STREAM_OK : STREAM_ENOMEM;
}
