/*
 * The catalog service: explicit ratings (thumbs up/down per profile and
 * title, a recommendations signal) and rendering a given list of titles for a
 * viewer (the rows of the recommendations service). Everything goes through
 * the public store API, like catalog.c.
 */
#include <string.h>

#include "catalog_internal.h"

/* STREAM_ENOTFOUND unless the title exists. */
static int title_exists(stream_catalog *c, const char *title_id)
{
  stream_store_title t;
  int rc = stream_store_title_get(&t, c->store, title_id);
  if (rc == STREAM_OK)
    stream_store_title_clear(&t);
  return rc;
}

/* ---- ratings ------------------------------------------------------------- */

int stream_catalog_rating_put(stream_catalog *c, const char *profile_id, const char *title_id,
                              int value)
{
  TRY(cat_check_handle(c));
  TRY(cat_check_id("profile id", profile_id));
  TRY(cat_check_id("title id", title_id));
  if (value < -1 || value > 1)
    return stream__err(STREAM_EINVAL, "rating %d: must be 1 (up), -1 (down) or 0 (clear)", value);
  if (value != 0)
    return stream_store_rating_put(c->store, profile_id, title_id, value, cat_now(c));
  TRY(title_exists(c, title_id));
  return stream_store_rating_delete(c->store, profile_id, title_id);
}

int stream_catalog_rating_get(int *out, stream_catalog *c, const char *profile_id,
                              const char *title_id)
{
  TRY(out ? STREAM_OK : stream__err(STREAM_EINVAL, "out is NULL"));
  *out = 0;
  TRY(cat_check_handle(c));
  TRY(cat_check_id("profile id", profile_id));
  TRY(cat_check_id("title id", title_id));
  int v = 0;
  TRY(stream_store_rating_get(&v, c->store, profile_id, title_id));
  /* A stored rating implies the title (ratings go with their title). */
  if (v == 0)
    TRY(title_exists(c, title_id));
  *out = v;
  return STREAM_OK;
}

/* ---- a given list of titles ---------------------------------------------- */

int stream_catalog_titles_get(char **out_json, stream_catalog *c, const char *const *ids, size_t n,
                              const stream_catalog_viewer *viewer)
{
  if (!out_json)
    return stream__err(STREAM_EINVAL, "out_json is NULL");
  *out_json = NULL;
  TRY(cat_check_handle(c));
  if (n > STREAM_STORE_PAGE_MAX)
    return stream__err(STREAM_EINVAL, "%zu title ids: at most %d", n, STREAM_STORE_PAGE_MAX);
  if (n > 0 && !ids)
    return stream__err(STREAM_EINVAL, "ids is NULL");
  for (size_t i = 0; i < n; i++)
    TRY(cat_check_id("title id", ids[i]));
  cat_filter f;
  TRY(cat_filter_from_viewer(&f, viewer, false));
  int64_t now = cat_now(c);
  cJSON *root = cJSON_CreateObject();
  cJSON *items = root ? cJSON_AddArrayToObject(root, "items") : NULL;
  int rc = items ? STREAM_OK : stream__err(STREAM_ENOMEM, "out of memory");
  for (size_t i = 0; rc == STREAM_OK && i < n; i++) {
    bool dup = false;
    for (size_t k = 0; k < i && !dup; k++)
      dup = strcmp(ids[k], ids[i]) == 0;
    if (dup)
      continue;
    stream_store_title t;
    rc = stream_store_title_get(&t, c->store, ids[i]);
    if (rc == STREAM_ENOTFOUND) {
      stream_error_clear();
      rc = STREAM_OK;
      continue;
    }
    if (rc)
      break;
    if (!viewer || cat_visible(&t, &f, now)) {
      cJSON *o = cat_render_title(&t);
      if (!o || !cJSON_AddItemToArray(items, o)) {
        cJSON_Delete(o);
        rc = stream__err(STREAM_ENOMEM, "out of memory");
      }
    }
    stream_store_title_clear(&t);
  }
  if (rc) {
    cJSON_Delete(root);
    return rc;
  }
  return cat_print(out_json, root);
}
