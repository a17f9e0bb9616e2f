/*
 * Catalog writes (operator): create or update a title from a validated
 * document, reconcile its seasons and episodes with the stored ones, and the
 * bulk import. A title is written in several store calls (title row with its
 * genres and regions, seasons, episodes) inside ONE store write batch
 * (store__batch_begin/end): the read of the stored title, every write and the
 * commit are one transaction, so a failure anywhere leaves the title as it
 * was and no reader ever sees a half-written title. An import writes one
 * batch per title.
 */
#include <stdlib.h>
#include <string.h>

#include "../store/store_internal.h"
#include "catalog_internal.h"

/* ---- comparing a document with the stored title ------------------------- */

static bool str_eq(const char *a, const char *b)
{
  if (!a || !b)
    return a == b;
  return strcmp(a, b) == 0;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_genre(const void *a, const void *b)
{
  return cat_genre_cmp(*(char *const *)a, *(char *const *)b);
}

/* Same set of strings (order ignored) under `cmp`, over elements of type char *. Neither set
 * repeats an element under `cmp`: the document's genres and regions are checked for repeats
 * (parse.c), the store's come from unique rows. */
static bool set_eq(char **a, size_t na, char **b, size_t nb, int (*cmp)(const void *, const void *))
{
  if (na != nb)
    return false;
  if (na == 0)
    return true;
  char **x = malloc(na * sizeof *x), **y = malloc(nb * sizeof *y);
  bool eq = false;
  if (x && y) {
    memcpy(x, a, na * sizeof *x);
    memcpy(y, b, nb * sizeof *y);
    qsort(x, na, sizeof *x, cmp);
    qsort(y, nb, sizeof *y, cmp);
    eq = true;
    for (size_t i = 0; i < na && eq; i++)
      eq = cmp(&x[i], &y[i]) == 0;
  }
  free(x);
  free(y);
  return eq;
}

static bool title_fields_eq(const stream_store_title *a, const stream_store_title *b)
{
  return a->kind == b->kind && str_eq(a->name, b->name) && str_eq(a->synopsis, b->synopsis) &&
         a->year == b->year && a->runtime == b->runtime &&
         a->maturity_rating == b->maturity_rating && str_eq(a->credits_json, b->credits_json) &&
         str_eq(a->artwork_json, b->artwork_json) && a->available_from == b->available_from &&
         a->available_until == b->available_until &&
         /* a genre spelled otherwise than stored is the stored genre (stream_store_title_create) */
         set_eq(a->genres, a->genre_count, b->genres, b->genre_count, cmp_genre) &&
         set_eq(a->regions, a->region_count, b->regions, b->region_count, cmp_str);
}

static const stream_store_season *find_season(const stream_store_title_detail *d, int number)
{
  for (size_t i = 0; i < d->season_count; i++)
    if (d->seasons[i].number == number)
      return &d->seasons[i];
  return NULL;
}

/* The ids the document gives its episodes (any season), sorted: a stored
 * episode whose id is among them is claimed by id and never matched by
 * number. Borrowed from the document. */
typedef struct {
  const char **ids;
  size_t n;
} cat_claims;

static int cmp_cstr(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int claims_make(cat_claims *cl, const cat_doc *doc)
{
  cl->ids = NULL;
  cl->n = 0;
  size_t n = 0;
  for (size_t i = 0; i < doc->season_count; i++)
    for (size_t k = 0; k < doc->seasons[i].episode_count; k++)
      n += doc->seasons[i].episodes[k].id[0] != '\0';
  if (n == 0)
    return STREAM_OK;
  cl->ids = stream__calloc(n, sizeof *cl->ids);
  if (!cl->ids)
    return stream__err(STREAM_ENOMEM, "out of memory");
  for (size_t i = 0; i < doc->season_count; i++)
    for (size_t k = 0; k < doc->seasons[i].episode_count; k++)
      if (doc->seasons[i].episodes[k].id[0])
        cl->ids[cl->n++] = doc->seasons[i].episodes[k].id;
  qsort(cl->ids, cl->n, sizeof *cl->ids, cmp_cstr);
  return STREAM_OK;
}

static bool claimed(const cat_claims *cl, const char *id)
{
  return cl->n && bsearch(&id, cl->ids, cl->n, sizeof *cl->ids, cmp_cstr) != NULL;
}

/* The stored episode of season `s` (NULL: none) each episode of the document
 * season `in` stands for, into m[0..in->episode_count) (NULL: a new one): by
 * id when it has one, else by number among the stored episodes that no
 * episode of the document claims by id. An episode whose id the document puts
 * in another season moves there, so its number here is free. (Before, only
 * the claims of the same season counted: a document moving an episode out of
 * a season that it kept with another episode of that number renamed the
 * moving one in place, then failed to create it in its new season.) Stored
 * numbers are unique in a season and document ids in a document, so no two
 * document episodes get the same stored one. */
static void match_season(const stream_store_episode **m, const stream_store_season *s,
                         const cat_claims *cl, const cat_season *in)
{
  for (size_t k = 0; k < in->episode_count; k++) {
    const cat_episode *e = &in->episodes[k];
    m[k] = NULL;
    for (size_t i = 0; s && i < s->episode_count && !m[k]; i++) {
      const stream_store_episode *st = &s->episodes[i];
      if (e->id[0] ? strcmp(st->id, e->id) == 0 : st->number == e->number && !claimed(cl, st->id))
        m[k] = st;
    }
  }
}

/* match_season() into a new array (stream_free()); NULL when out of memory
 * (the error set). A season without episodes gets a non-NULL empty array. */
static const stream_store_episode **match_new(const stream_store_season *s, const cat_claims *cl,
                                              const cat_season *in)
{
  const stream_store_episode **m =
      stream__calloc(in->episode_count ? in->episode_count : 1, sizeof *m);
  if (!m) {
    stream__err(STREAM_ENOMEM, "out of memory");
    return NULL;
  }
  match_season(m, s, cl, in);
  return m;
}

static bool episode_eq(const stream_store_episode *s, const cat_episode *e)
{
  return s->number == e->number && str_eq(s->name, e->name) && str_eq(s->synopsis, e->synopsis) &&
         s->runtime == e->runtime;
}

/* Are the stored seasons those of the document? Out of memory reads as "no"
 * (the write that follows reports it). */
static bool seasons_eq(const stream_store_title_detail *d, const cat_doc *doc, const cat_claims *cl)
{
  if (!doc->has_seasons)
    return true;
  if (d->season_count != doc->season_count)
    return false;
  for (size_t i = 0; i < doc->season_count; i++) {
    const cat_season *in = &doc->seasons[i];
    const stream_store_season *s = find_season(d, in->number);
    if (!s || s->episode_count != in->episode_count)
      return false;
    const stream_store_episode **m = match_new(s, cl, in);
    if (!m) {
      stream_error_clear();
      return false;
    }
    bool eq = true;
    for (size_t k = 0; eq && k < in->episode_count; k++)
      eq = m[k] && episode_eq(m[k], &in->episodes[k]);
    stream_free(m);
    if (!eq)
      return false;
  }
  return true;
}

/* ---- writing seasons ---------------------------------------------------- */

static void fill_episode(stream_store_episode *row, const char *season_id, const cat_episode *e)
{
  memset(row, 0, sizeof *row);
  memcpy(row->season_id, season_id, strlen(season_id) + 1);
  memcpy(row->id, e->id, sizeof row->id);
  row->number = e->number;
  row->name = (char *)e->name;
  row->synopsis = (char *)e->synopsis;
  row->runtime = e->runtime;
}

/* Write the document season `in` over the stored season `s` (NULL: new),
 * whose episodes the document no longer has are already deleted. */
static int sync_season(stream_catalog *c, const char *title_id, const stream_store_season *s,
                       const cat_claims *cl, const cat_season *in)
{
  char season_id[STREAM_STORE_ID_SIZE];
  if (!s)
    TRY(stream_store_season_create(season_id, c->store, title_id, in->number));
  else
    memcpy(season_id, s->id, sizeof season_id);
  const stream_store_episode **m = match_new(s, cl, in);
  if (!m)
    return STREAM_ENOMEM;
  int rc = STREAM_OK;
  /* Renumber in two steps (through numbers the documents cannot use) so
   * that swapping two episode numbers never collides. */
  for (size_t k = 0; rc == STREAM_OK && k < in->episode_count; k++) {
    if (m[k] && m[k]->number != in->episodes[k].number) {
      stream_store_episode row = *m[k];
      row.number = CAT_EPISODE_NUMBER_MAX + 1 + (int)k;
      rc = stream_store_episode_update(c->store, &row);
    }
  }
  for (size_t k = 0; rc == STREAM_OK && k < in->episode_count; k++) {
    const cat_episode *e = &in->episodes[k];
    stream_store_episode row;
    fill_episode(&row, season_id, e);
    if (m[k]) {
      memcpy(row.id, m[k]->id, sizeof row.id);
      if (!episode_eq(m[k], e))
        rc = stream_store_episode_update(c->store, &row);
    } else {
      rc = stream_store_episode_create(NULL, c->store, &row);
    }
  }
  stream_free(m);
  return rc;
}

/* Drop the stored episodes of `s` that the document season `in` no longer
 * has (moved to another season by id, or gone). */
static int drop_episodes(stream_catalog *c, const stream_store_season *s, const cat_claims *cl,
                         const cat_season *in)
{
  if (s->episode_count == 0)
    return STREAM_OK;
  const stream_store_episode **m = match_new(s, cl, in);
  bool *kept = m ? stream__calloc(s->episode_count, sizeof *kept) : NULL;
  int rc = kept ? STREAM_OK : stream__err(STREAM_ENOMEM, "out of memory");
  for (size_t k = 0; kept && k < in->episode_count; k++)
    if (m[k])
      kept[m[k] - s->episodes] = true;
  for (size_t i = 0; rc == STREAM_OK && i < s->episode_count; i++)
    if (!kept[i])
      rc = stream_store_episode_delete(c->store, s->episodes[i].id);
  stream_free(kept);
  stream_free(m);
  return rc;
}

static int sync_seasons(stream_catalog *c, const char *title_id, const stream_store_title_detail *d,
                        const cat_doc *doc, const cat_claims *cl)
{
  if (!doc->has_seasons)
    return STREAM_OK;
  /* Every deletion first (stored seasons the document no longer has, and the
   * episodes of kept seasons it no longer has there), then the writes: an
   * episode that the document moves to another season by its id is deleted
   * from its old season before it is created in the new one, whatever the
   * order of the seasons in the document (before, a document listing the new
   * season first failed with STREAM_EEXIST). */
  for (size_t i = 0; d && i < d->season_count; i++) {
    const cat_season *in = NULL;
    for (size_t k = 0; k < doc->season_count && !in; k++)
      if (doc->seasons[k].number == d->seasons[i].number)
        in = &doc->seasons[k];
    if (!in)
      TRY(stream_store_season_delete(c->store, d->seasons[i].id));
    else
      TRY(drop_episodes(c, &d->seasons[i], cl, in));
  }
  for (size_t k = 0; k < doc->season_count; k++)
    TRY(sync_season(c, title_id, d ? find_season(d, doc->seasons[k].number) : NULL, cl,
                    &doc->seasons[k]));
  return STREAM_OK;
}

static int write_doc_claims(char *out_id, const char **status, stream_catalog *c,
                            const cat_doc *doc, const cat_claims *cl)
{
  *status = "failed";
  int64_t now = cat_now(c);
  stream_store_title_detail d;
  int rc = STREAM_ENOTFOUND;
  if (doc->t.id[0]) {
    rc = stream_store_title_get_detail(&d, c->store, doc->t.id);
    if (rc != STREAM_OK && rc != STREAM_ENOTFOUND)
      return rc;
  }
  if (rc == STREAM_ENOTFOUND) {
    char id[STREAM_STORE_ID_SIZE];
    stream_error_clear();
    TRY(stream_store_title_create(id, c->store, &doc->t, now));
    /* A failure rolls the whole batch back, the title row included. */
    TRY(sync_seasons(c, id, NULL, doc, cl));
    memcpy(out_id, id, STREAM_STORE_ID_SIZE);
    *status = "created";
    return STREAM_OK;
  }
  memcpy(out_id, doc->t.id, STREAM_STORE_ID_SIZE);
  if (d.title.kind != doc->t.kind && d.season_count > 0) {
    stream_store_title_detail_clear(&d);
    return stream__err(STREAM_ECONFLICT,
                       "title %s is a series with seasons; delete it before making it a movie",
                       doc->t.id);
  }
  if (title_fields_eq(&d.title, &doc->t) && seasons_eq(&d, doc, cl)) {
    stream_store_title_detail_clear(&d);
    *status = "unchanged";
    return STREAM_OK;
  }
  rc = stream_store_title_update(c->store, &doc->t, now);
  if (rc == STREAM_OK)
    rc = sync_seasons(c, doc->t.id, &d, doc, cl);
  stream_store_title_detail_clear(&d);
  if (rc == STREAM_OK)
    *status = "updated";
  return rc;
}

static int write_doc(char *out_id, const char **status, stream_catalog *c, const cat_doc *doc)
{
  *status = "failed";
  cat_claims cl;
  TRY(claims_make(&cl, doc));
  int rc = write_doc_claims(out_id, status, c, doc, &cl);
  stream_free(cl.ids);
  return rc;
}

/* Every write of a title document ends here: one store batch around the
 * whole title (all or nothing), then the detail cache is invalidated. */
int cat_write_doc(char *out_id, const char **status, stream_catalog *c, const cat_doc *doc)
{
  *status = "failed";
  int rc = store__batch_begin(c->store);
  if (rc == STREAM_OK) {
    const char *done = "failed";
    rc = store__batch_end(c->store, write_doc(out_id, &done, c, doc));
    if (rc == STREAM_OK)
      *status = done;
    else if (strcmp(done, "created") == 0)
      out_id[0] = '\0'; /* only the commit failed: the new id names nothing */
  }
  cat_invalidate(c);
  return rc;
}

/* ---- public: put, delete, import ---------------------------------------- */

int stream_catalog_title_put(char **out_json, int *out_created, stream_catalog *c,
                             const char *title_json)
{
  if (out_json)
    *out_json = NULL;
  if (out_created)
    *out_created = 0;
  TRY(cat_check_handle(c));
  if (!title_json)
    return stream__err(STREAM_EINVAL, "title JSON is NULL");
  size_t len = strnlen(title_json, STREAM_CATALOG_TITLE_JSON_MAX + 1);
  if (len > STREAM_CATALOG_TITLE_JSON_MAX)
    return stream__err(STREAM_ERANGE, "title JSON is larger than %d bytes",
                       STREAM_CATALOG_TITLE_JSON_MAX);
  cJSON *root;
  TRY(cat_json_parse(&root, title_json, len, "title JSON"));
  cat_doc doc;
  int rc = cat_doc_from_json(&doc, root, "title");
  char id[STREAM_STORE_ID_SIZE];
  const char *status = "failed";
  if (rc == STREAM_OK)
    rc = cat_write_doc(id, &status, c, &doc);
  cat_doc_clear(&doc);
  cJSON_Delete(root);
  if (rc)
    return rc;
  if (out_created)
    *out_created = strcmp(status, "created") == 0;
  if (out_json)
    return stream_catalog_title_get(out_json, c, id, NULL);
  return STREAM_OK;
}

int stream_catalog_title_delete(stream_catalog *c, const char *id)
{
  TRY(cat_check_handle(c));
  int rc = stream_store_title_delete(c->store, id);
  cat_invalidate(c);
  return rc;
}

void stream_catalog_import_result_clear(stream_catalog_import_result *r)
{
  if (!r)
    return;
  stream_free(r->report_json);
  memset(r, 0, sizeof *r);
}

static int report_item(cJSON *items, size_t index, const char *id, const char *status,
                       const char *error)
{
  cJSON *o = cJSON_CreateObject();
  if (!o || !cJSON_AddItemToArray(items, o)) {
    cJSON_Delete(o);
    return stream__err(STREAM_ENOMEM, "out of memory");
  }
  if (!cJSON_AddNumberToObject(o, "index", (double)index) ||
      !(id && id[0] ? cJSON_AddStringToObject(o, "id", id) : cJSON_AddNullToObject(o, "id")) ||
      !cJSON_AddStringToObject(o, "status", status) ||
      (error && !cJSON_AddStringToObject(o, "error", error)))
    return stream__err(STREAM_ENOMEM, "out of memory");
  return STREAM_OK;
}

static int finish_report(stream_catalog_import_result *out, cJSON *report, cJSON *items, int rc)
{
  stream_error saved = {0, {0}};
  if (rc && stream_error_last())
    saved = *stream_error_last();
  cJSON_DetachItemViaPointer(report, items);
  if (!cJSON_AddNumberToObject(report, "total", (double)out->total) ||
      !cJSON_AddNumberToObject(report, "created", (double)out->created) ||
      !cJSON_AddNumberToObject(report, "updated", (double)out->updated) ||
      !cJSON_AddNumberToObject(report, "unchanged", (double)out->unchanged) ||
      !cJSON_AddNumberToObject(report, "failed", (double)out->failed) ||
      !cJSON_AddItemToObject(report, "items", items)) {
    cJSON_Delete(report);
    return stream__err(STREAM_ENOMEM, "out of memory");
  }
  int prc = cat_print(&out->report_json, report);
  if (prc)
    return prc;
  if (rc)
    return stream__err(rc, "%s", saved.message);
  return STREAM_OK;
}

int stream_catalog_import(stream_catalog_import_result *out, stream_catalog *c,
                          const char *json_document)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "import result is NULL");
  memset(out, 0, sizeof *out);
  TRY(cat_check_handle(c));
  if (!json_document)
    return stream__err(STREAM_EINVAL, "import document is NULL");
  size_t len = strnlen(json_document, STREAM_CATALOG_IMPORT_MAX + 1);
  if (len > STREAM_CATALOG_IMPORT_MAX)
    return stream__err(STREAM_ERANGE, "import document is larger than %d bytes",
                       STREAM_CATALOG_IMPORT_MAX);
  cJSON *root;
  TRY(cat_json_parse(&root, json_document, len, "import document"));
  static const char *const top[] = {"titles", NULL};
  const cJSON *titles = cJSON_GetObjectItemCaseSensitive(root, "titles");
  int rc = STREAM_OK;
  if (!cJSON_IsObject(root))
    rc = stream__err(STREAM_EINVAL, "import document must be an object {\"titles\": [...]}");
  for (const cJSON *f = rc ? NULL : root->child; f && rc == STREAM_OK; f = f->next) {
    bool ok = false;
    for (size_t i = 0; top[i]; i++)
      ok = ok || strcmp(f->string, top[i]) == 0;
    if (!ok)
      rc = stream__err(STREAM_EINVAL, "import document: unknown field '%.64s'", f->string);
  }
  if (rc == STREAM_OK && !cJSON_IsArray(titles))
    rc = stream__err(STREAM_EINVAL, "import document: field 'titles' must be an array");
  size_t n = rc ? 0 : (size_t)cJSON_GetArraySize(titles);
  if (rc == STREAM_OK && n > STREAM_CATALOG_IMPORT_TITLES_MAX)
    rc = stream__err(STREAM_ERANGE, "import document has %zu titles (at most %d)", n,
                     STREAM_CATALOG_IMPORT_TITLES_MAX);
  if (rc) {
    cJSON_Delete(root);
    return rc;
  }
  out->total = n;
  cat_doc *docs = n ? stream__calloc(n, sizeof *docs) : NULL;
  cJSON *report = cJSON_CreateObject();
  cJSON *items = report ? cJSON_AddArrayToObject(report, "items") : NULL;
  if ((n && !docs) || !items) {
    stream_free(docs);
    cJSON_Delete(report);
    cJSON_Delete(root);
    return stream__err(STREAM_ENOMEM, "out of memory");
  }

  /* Pass 1: validate everything; nothing is written if anything is wrong. */
  int first_rc = STREAM_OK;
  stream_error first_err = {0, {0}};
  size_t i = 0;
  for (const cJSON *t = titles->child; t; t = t->next, i++) {
    char where[48];
    snprintf(where, sizeof where, "titles[%zu]", i);
    int r = cat_doc_from_json(&docs[i], t, where);
    if (r == STREAM_OK && docs[i].t.id[0]) {
      for (size_t k = 0; k < i && r == STREAM_OK; k++)
        if (strcmp(docs[k].t.id, docs[i].t.id) == 0)
          r = stream__err(STREAM_EINVAL, "%s: id \"%s\" is also the id of titles[%zu]", where,
                          docs[i].t.id, k);
    }
    if (r == STREAM_ENOMEM) {
      first_rc = r;
      first_err = *stream_error_last();
      break;
    }
    if (r) {
      if (!first_rc) {
        first_rc = r;
        first_err = *stream_error_last();
      }
      out->failed++;
      const cJSON *idv = cJSON_GetObjectItemCaseSensitive(t, "id");
      const char *id = cJSON_IsString(idv) && idv->valuestring && strlen(idv->valuestring) <= 64
                           ? idv->valuestring
                           : NULL;
      if (report_item(items, i, id, "invalid", stream_error_last()->message)) {
        first_rc = STREAM_ENOMEM;
        break;
      }
    } else if (report_item(items, i, docs[i].t.id, "valid", NULL)) {
      first_rc = STREAM_ENOMEM;
      break;
    }
  }
  if (first_rc) {
    /* Nothing written: valid items are reported as skipped. */
    for (cJSON *it = items->child; it; it = it->next) {
      cJSON *st = cJSON_GetObjectItemCaseSensitive(it, "status");
      if (st && strcmp(st->valuestring, "valid") == 0)
        cJSON_ReplaceItemInObjectCaseSensitive(it, "status", cJSON_CreateString("skipped"));
    }
    for (size_t k = 0; k < n; k++)
      cat_doc_clear(&docs[k]);
    stream_free(docs);
    cJSON_Delete(root);
    stream__err(first_rc, "%s", first_err.message);
    return finish_report(out, report, items, first_rc);
  }

  /* Pass 2: write title by title. */
  cJSON *it = items->child;
  for (i = 0; i < n; i++, it = it->next) {
    char id[STREAM_STORE_ID_SIZE] = {0};
    const char *status = "failed";
    int r = cat_write_doc(id, &status, c, &docs[i]);
    const char *err = NULL;
    if (r) {
      if (!first_rc) {
        first_rc = r;
        first_err = *stream_error_last();
      }
      err = stream_error_last()->message;
      out->failed++;
    } else if (strcmp(status, "created") == 0) {
      out->created++;
    } else if (strcmp(status, "updated") == 0) {
      out->updated++;
    } else {
      out->unchanged++;
    }
    cJSON_ReplaceItemInObjectCaseSensitive(it, "status", cJSON_CreateString(status));
    if (id[0])
      cJSON_ReplaceItemInObjectCaseSensitive(it, "id", cJSON_CreateString(id));
    if (err)
      cJSON_AddStringToObject(it, "error", err);
  }
  for (size_t k = 0; k < n; k++)
    cat_doc_clear(&docs[k]);
  stream_free(docs);
  cJSON_Delete(root);
  if (first_rc)
    stream__err(first_rc, "%s", first_err.message);
  return finish_report(out, report, items, first_rc);
}
