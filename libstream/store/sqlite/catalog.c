/*
 * SQLite backend: the catalog. Titles with genres (many-to-many through
 * title_genres) and regions (child table), seasons and episodes; keyset
 * pagination on (name ignoring ASCII case, id) or (created_at, id) with
 * row-value comparisons; full-text search through the titles_fts FTS5 table, which triggers keep in
 * step with titles. User search text never reaches FTS5 syntax unescaped: it
 * is cut into words and each word becomes a quoted prefix phrase.
 */
#include <stdlib.h>
#include <string.h>

#include "sqlite_internal.h"

#define TITLE_COLS                                                                                 \
  "t.id, t.kind, t.name, t.synopsis, t.year, t.runtime, t.maturity_rating, t.credits_json, "       \
  "t.artwork_json, t.available_from, t.available_until, t.created_at, t.updated_at"

/* Viewer filters: ?1 maturity ceiling, ?2 now, ?3 genre or NULL, ?4 region codes or NULL (the
 * comma-joined codes a title may list: store_internal.h; codes never hold a comma). The genre
 * matches whatever its ASCII case: NOCASE folds A-Z only, as the PostgreSQL backend's lower()
 * under COLLATE "C" does, and genres.name is unique under it (migrations/genre_fold.c). */
#define VIEW_FILTER                                                                                \
  " t.maturity_rating <= ?1"                                                                       \
  " AND (t.available_from IS NULL OR t.available_from <= ?2)"                                      \
  " AND (t.available_until IS NULL OR t.available_until > ?2)"                                     \
  " AND (?3 IS NULL OR EXISTS (SELECT 1 FROM title_genres tg JOIN genres g ON g.id = tg.genre_id"  \
  "      WHERE tg.title_id = t.id AND g.name = ?3 COLLATE NOCASE))"                                \
  " AND (?4 IS NULL OR NOT EXISTS (SELECT 1 FROM title_regions r WHERE r.title_id = t.id)"         \
  "      OR EXISTS (SELECT 1 FROM title_regions r WHERE r.title_id = t.id"                         \
  "      AND instr(',' || ?4 || ',', ',' || r.region || ',') > 0))"

/* ?5 limit, ?6/?7 the cursor's key and id. The name sort folds ASCII A-Z (NOCASE, as the genre
 * lists; the PostgreSQL backend's lower() under COLLATE "C" orders alike), then goes by id, so
 * names that differ only in case ("Alien", "alien") are ordered by id and the keyset cursor
 * (name, id) is a total order. The NOCASE goes on ?6, not on t.name: the comparison takes the
 * explicit collation either way, but only this form lets SQLite seek titles_by_name_fold
 * (migrations/title_name_fold.c) instead of scanning it. */
static const char sql_list_name_first[] = "SELECT " TITLE_COLS " FROM titles t WHERE" VIEW_FILTER
                                          " ORDER BY t.name COLLATE NOCASE, t.id LIMIT ?5";
static const char sql_list_name_after[] =
    "SELECT " TITLE_COLS " FROM titles t WHERE" VIEW_FILTER
    " AND (t.name, t.id) > (?6 COLLATE NOCASE, ?7) ORDER BY t.name COLLATE NOCASE, t.id LIMIT ?5";
static const char sql_list_new_first[] = "SELECT " TITLE_COLS " FROM titles t WHERE" VIEW_FILTER
                                         " ORDER BY t.created_at DESC, t.id DESC LIMIT ?5";
static const char sql_list_new_after[] =
    "SELECT " TITLE_COLS " FROM titles t WHERE" VIEW_FILTER " AND (t.created_at, t.id) < (?6, ?7)"
    " ORDER BY t.created_at DESC, t.id DESC LIMIT ?5";
/* ?6 the sanitized FTS5 query. Name matches weigh ten times synopsis ones. */
static const char sql_search[] =
    "SELECT " TITLE_COLS " FROM titles_fts JOIN titles t ON t.seq = titles_fts.rowid"
    " WHERE titles_fts MATCH ?6 AND" VIEW_FILTER
    " ORDER BY bm25(titles_fts, 10.0, 1.0), t.id LIMIT ?5";

/* ---- reading ------------------------------------------------------------- */

/* The first column of every row of the prepared `st` as strings (released here). */
static int collect_strings(sq_conn *db, sqlite3_stmt *st, char ***out, size_t *out_count,
                           const char *what)
{
  char **v = NULL;
  size_t n = 0, cap = 0;
  int rc = STREAM_OK, r = 0;
  while (rc == STREAM_OK && (r = store__sq_step(db, st, what)) == 1) {
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 8;
      char **p = realloc(v, ncap * sizeof *v);
      if (!p) {
        rc = stream__err(STREAM_ENOMEM, "%s: out of memory", what);
        break;
      }
      v = p;
      cap = ncap;
    }
    rc = store__sq_col_dup(&v[n], st, 0);
    if (rc == STREAM_OK && !v[n])
      rc = stream__err(STREAM_EINTERNAL, "%s: unexpected NULL", what);
    if (rc == STREAM_OK)
      n++;
  }
  if (rc == STREAM_OK && r < 0)
    rc = r;
  store__sq_release(db, st);
  if (rc != STREAM_OK) {
    stream_store_strings_free(v, n);
    return rc;
  }
  *out = v;
  *out_count = n;
  return STREAM_OK;
}

static int read_strings(sq_conn *db, char ***out, size_t *out_count, const char *sql,
                        const char *key, const char *what)
{
  sqlite3_stmt *st;
  *out = NULL;
  *out_count = 0;
  SQ_TRY(key ? store__sq_prepare(db, &st, what, sql, "t", key)
             : store__sq_prepare(db, &st, what, sql, ""));
  return collect_strings(db, st, out, out_count, what);
}

/* Fill `t` from a row of TITLE_COLS, with its genres and regions. On failure
 * `t` holds whatever was read and the caller clears it. */
static int read_title(sq_conn *db, stream_store_title *t, sqlite3_stmt *st)
{
  memset(t, 0, sizeof *t);
  store__sq_col_copy(t->id, sizeof t->id, st, 0);
  t->kind = sqlite3_column_int(st, 1);
  t->year = sqlite3_column_int(st, 4);
  t->runtime = sqlite3_column_int(st, 5);
  t->maturity_rating = sqlite3_column_int(st, 6);
  t->available_from = store__sq_col_i64(st, 9);
  t->available_until = store__sq_col_i64(st, 10);
  t->created_at = store__sq_col_i64(st, 11);
  t->updated_at = store__sq_col_i64(st, 12);
  int rc = store__sq_col_dup(&t->name, st, 2);
  if (rc == STREAM_OK)
    rc = store__sq_col_dup(&t->synopsis, st, 3);
  if (rc == STREAM_OK)
    rc = store__sq_col_dup(&t->credits_json, st, 7);
  if (rc == STREAM_OK)
    rc = store__sq_col_dup(&t->artwork_json, st, 8);
  if (rc == STREAM_OK)
    rc = read_strings(db, &t->genres, &t->genre_count,
                      "SELECT g.name FROM title_genres tg JOIN genres g ON g.id = tg.genre_id "
                      "WHERE tg.title_id = ? ORDER BY g.name COLLATE NOCASE",
                      t->id, "read title genres");
  if (rc == STREAM_OK)
    rc = read_strings(db, &t->regions, &t->region_count,
                      "SELECT region FROM title_regions WHERE title_id = ? ORDER BY region", t->id,
                      "read title regions");
  if (rc == STREAM_ENOMEM)
    stream__err(rc, "read title: out of memory");
  return rc;
}

static int get_title(sq_conn *db, stream_store_title *out, const char *id)
{
  const char *what = "get title";
  sqlite3_stmt *st;
  SQ_TRY(store__sq_prepare(db, &st, what, "SELECT " TITLE_COLS " FROM titles t WHERE t.id = ?", "t",
                           id));
  int r = store__sq_step(db, st, what);
  int rc = r < 0 ? r : STREAM_OK;
  if (r == 1)
    rc = read_title(db, out, st);
  else if (r == 0)
    rc = stream__err(STREAM_ENOTFOUND, "no title with id %s", id);
  store__sq_release(db, st);
  if (rc != STREAM_OK)
    stream_store_title_clear(out);
  return rc;
}

static int ct_title_get(void *impl, stream_store_title *out, const char *id)
{
  sq_conn *db = store__sq_racquire(impl);
  int rc = store__sq_rbegin(db);
  if (rc == STREAM_OK) {
    rc = get_title(db, out, id);
    store__sq_rend(db);
  }
  store__sq_rrelease(impl, db);
  return rc;
}

/* Append an episode from columns 3..8 of the seasons-episodes row. */
static int add_episode(stream_store_season *se, size_t *cap, sqlite3_stmt *st, const char *what)
{
  if (se->episode_count == *cap) {
    size_t ncap = *cap ? *cap * 2 : 8;
    stream_store_episode *p = realloc(se->episodes, ncap * sizeof *p);
    if (!p)
      return stream__err(STREAM_ENOMEM, "%s: out of memory", what);
    se->episodes = p;
    *cap = ncap;
  }
  stream_store_episode *e = &se->episodes[se->episode_count];
  memset(e, 0, sizeof *e);
  se->episode_count++;
  store__sq_col_copy(e->id, sizeof e->id, st, 3);
  store__sq_col_copy(e->season_id, sizeof e->season_id, st, 4);
  e->number = sqlite3_column_int(st, 5);
  e->runtime = sqlite3_column_int(st, 8);
  int rc = store__sq_col_dup(&e->name, st, 6);
  if (rc == STREAM_OK)
    rc = store__sq_col_dup(&e->synopsis, st, 7);
  return rc;
}

/* Seasons and their episodes in one statement: one row per episode (or one
 * with NULL episode columns for an empty season), ordered by season number
 * then episode number (both unique), so a season's rows are consecutive. */
static int read_seasons(sq_conn *db, stream_store_title_detail *out, const char *id)
{
  const char *what = "read seasons";
  sqlite3_stmt *st;
  SQ_TRY(store__sq_prepare(db, &st, what,
                           "SELECT s.id, s.title_id, s.number, e.id, e.season_id, e.number, e.name,"
                           " e.synopsis, e.runtime FROM seasons s"
                           " LEFT JOIN episodes e ON e.season_id = s.id"
                           " WHERE s.title_id = ? ORDER BY s.number, e.number",
                           "t", id));
  size_t cap = 0, ecap = 0;
  int rc = STREAM_OK, r = 0;
  stream_store_season *se = NULL;
  while (rc == STREAM_OK && (r = store__sq_step(db, st, what)) == 1) {
    const char *sid = (const char *)sqlite3_column_text(st, 0);
    if (!se || !sid || strcmp(se->id, sid) != 0) {
      if (out->season_count == cap) {
        size_t ncap = cap ? cap * 2 : 8;
        stream_store_season *p = realloc(out->seasons, ncap * sizeof *p);
        if (!p) {
          rc = stream__err(STREAM_ENOMEM, "%s: out of memory", what);
          break;
        }
        out->seasons = p;
        cap = ncap;
      }
      se = &out->seasons[out->season_count++];
      memset(se, 0, sizeof *se);
      ecap = 0;
      store__sq_col_copy(se->id, sizeof se->id, st, 0);
      store__sq_col_copy(se->title_id, sizeof se->title_id, st, 1);
      se->number = sqlite3_column_int(st, 2);
    }
    if (sqlite3_column_type(st, 3) != SQLITE_NULL)
      rc = add_episode(se, &ecap, st, "read episodes");
  }
  if (rc == STREAM_OK && r < 0)
    rc = r;
  store__sq_release(db, st);
  return rc;
}

static int ct_title_detail(void *impl, stream_store_title_detail *out, const char *id)
{
  sq_conn *db = store__sq_racquire(impl);
  int rc = store__sq_rbegin(db);
  if (rc != STREAM_OK) {
    store__sq_rrelease(impl, db);
    return rc;
  }
  rc = get_title(db, &out->title, id);
  if (rc == STREAM_OK)
    rc = read_seasons(db, out, id);
  store__sq_rend(db);
  store__sq_rrelease(impl, db);
  if (rc != STREAM_OK)
    stream_store_title_detail_clear(out);
  return rc;
}

/* Run a title query whose parameters are bound by the caller's types. */
static int collect_titles(sq_conn *db, sqlite3_stmt *st, stream_store_title_page *out, size_t max,
                          bool *more, const char *what)
{
  int rc = STREAM_OK, r = 0;
  size_t cap = 0;
  *more = false;
  while (rc == STREAM_OK && (r = store__sq_step(db, st, what)) == 1) {
    if (out->count == max) {
      *more = true;
      break;
    }
    if (out->count == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      stream_store_title *p = realloc(out->items, ncap * sizeof *p);
      if (!p) {
        rc = stream__err(STREAM_ENOMEM, "%s: out of memory", what);
        break;
      }
      out->items = p;
      cap = ncap;
    }
    stream_store_title *t = &out->items[out->count++];
    rc = read_title(db, t, st);
  }
  if (rc == STREAM_OK && r < 0)
    rc = r;
  return rc;
}

static int ct_title_list(void *impl, stream_store_title_page *out, bool *out_more,
                         const stream_store_title_query *q, const store__cursor *after)
{
  const char *what = "list titles";
  bool by_name = q->sort == STREAM_STORE_SORT_NAME;
  sq_conn *db = store__sq_racquire(impl);
  int rc = store__sq_rbegin(db);
  sqlite3_stmt *st = NULL;
  int lim = (int)q->limit + 1; /* one more tells whether there is a next page */
  if (rc == STREAM_OK) {
    if (!after)
      rc = store__sq_prepare(db, &st, what, by_name ? sql_list_name_first : sql_list_new_first,
                             "iItti", q->maturity_ceiling, q->now, q->genre, q->region, lim);
    else if (by_name)
      rc = store__sq_prepare(db, &st, what, sql_list_name_after,
                             "iItti"
                             "tt",
                             q->maturity_ceiling, q->now, q->genre, q->region, lim, after->key_text,
                             after->id);
    else
      rc = store__sq_prepare(db, &st, what, sql_list_new_after,
                             "iItti"
                             "It",
                             q->maturity_ceiling, q->now, q->genre, q->region, lim, after->key_num,
                             after->id);
    if (rc == STREAM_OK) {
      rc = collect_titles(db, st, out, q->limit, out_more, what);
      store__sq_release(db, st);
    }
    store__sq_rend(db);
  }
  store__sq_rrelease(impl, db);
  return rc;
}

/* Length of the word character at p: an ASCII letter or digit, or a
 * well-formed non-ASCII character (the tokenizer splits further); 0 for a
 * separator. Bytes that are not UTF-8 are separators, as in the PostgreSQL
 * backend (which cannot send them as text), so both find the same titles. */
static size_t word_char(const unsigned char *p)
{
  unsigned char c = *p;
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
    return 1;
  return c >= 0x80 ? stream__utf8_seq(p, strnlen((const char *)p, 4)) : 0;
}

/* Turn free text into an FTS5 query: every run of letters/digits (any
 * non-ASCII character counts as a letter; the tokenizer splits further)
 * becomes a quoted prefix phrase "word"*, and the phrases are ANDed. Quotes,
 * operators, parentheses, column filters and the like are separators, so
 * nothing the user types can be FTS5 syntax. *out is NULL when the text has
 * no word. */
#define SEARCH_WORDS_MAX 16
static int fts_query(char **out, const char *text)
{
  *out = NULL;
  stream__buf b;
  stream__buf_init(&b);
  const unsigned char *p = (const unsigned char *)text;
  int words = 0;
  while (*p && words < SEARCH_WORDS_MAX) {
    while (*p && !word_char(p))
      p++;
    if (!*p)
      break;
    const unsigned char *w = p;
    for (size_t n; *p && (n = word_char(p)) > 0;)
      p += n;
    if (words++)
      stream__buf_puts(&b, " ");
    stream__buf_puts(&b, "\"");
    stream__buf_append(&b, (const char *)w, (size_t)(p - w));
    stream__buf_puts(&b, "\"*");
  }
  if (!words) {
    stream__buf_free(&b);
    return STREAM_OK;
  }
  return stream__buf_detach(&b, out);
}

static int ct_title_search(void *impl, stream_store_title_page *out, const char *text,
                           const stream_store_title_query *q)
{
  const char *what = "search titles";
  char *fq = NULL;
  SQ_TRY(fts_query(&fq, text));
  if (!fq)
    return STREAM_OK; /* nothing to look for: an empty page */
  sq_conn *db = store__sq_racquire(impl);
  int rc = store__sq_rbegin(db);
  if (rc == STREAM_OK) {
    sqlite3_stmt *st;
    rc = store__sq_prepare(db, &st, what, sql_search,
                           "iItti"
                           "t",
                           q->maturity_ceiling, q->now, q->genre, q->region, (int)q->limit, fq);
    if (rc == STREAM_OK) {
      bool more;
      rc = collect_titles(db, st, out, q->limit, &more, what);
      store__sq_release(db, st);
    }
    store__sq_rend(db);
  }
  store__sq_rrelease(impl, db);
  free(fq);
  return rc;
}

static int ct_genre_list(void *impl, char ***out, size_t *out_count)
{
  sq_conn *db = store__sq_racquire(impl);
  int rc = read_strings(db, out, out_count,
                        "SELECT g.name FROM genres g WHERE EXISTS "
                        "(SELECT 1 FROM title_genres tg WHERE tg.genre_id = g.id) "
                        "ORDER BY g.name COLLATE NOCASE",
                        NULL, "list genres");
  store__sq_rrelease(impl, db);
  return rc;
}

/* The genres of the titles a viewer may see: VIEW_FILTER with no genre (?3
 * NULL), so a genre listed here is one stream_store_title_list() finds titles
 * in with the same filters. */
static int ct_genre_list_visible(void *impl, char ***out, size_t *out_count,
                                 const stream_store_title_query *q)
{
  const char *what = "list visible genres";
  *out = NULL;
  *out_count = 0;
  sq_conn *db = store__sq_racquire(impl);
  int rc = store__sq_rbegin(db);
  if (rc != STREAM_OK) {
    store__sq_rrelease(impl, db);
    return rc;
  }
  sqlite3_stmt *st = NULL;
  rc = store__sq_prepare(
      db, &st, what,
      "SELECT g.name FROM genres g WHERE EXISTS (SELECT 1 FROM title_genres tg2"
      " JOIN titles t ON t.id = tg2.title_id WHERE tg2.genre_id = g.id AND" VIEW_FILTER
      ") ORDER BY g.name COLLATE NOCASE",
      "iIt"
      "t",
      q->maturity_ceiling, q->now, (const char *)NULL, q->region);
  if (rc == STREAM_OK)
    rc = collect_strings(db, st, out, out_count, what);
  store__sq_rend(db);
  store__sq_rrelease(impl, db);
  return rc;
}

/* ---- writing ------------------------------------------------------------- */

static int write_children(sq_conn *db, const stream_store_title *t)
{
  const char *what = "save title genres and regions";
  SQ_TRY(store__sq_exec(db, what, NULL, "DELETE FROM title_genres WHERE title_id = ?", "t", t->id));
  SQ_TRY(
      store__sq_exec(db, what, NULL, "DELETE FROM title_regions WHERE title_id = ?", "t", t->id));
  /* A genre that differs from an existing one only in ASCII case is that genre, spelled as it
   * was first: the insert meets the unique index on the folded name and does nothing. Two
   * spellings in one title give one link. */
  for (size_t i = 0; i < t->genre_count; i++) {
    SQ_TRY(store__sq_exec(db, what, NULL,
                          "INSERT INTO genres (name) VALUES (?) ON CONFLICT DO NOTHING", "t",
                          t->genres[i]));
    SQ_TRY(store__sq_exec(db, what, NULL,
                          "INSERT INTO title_genres (genre_id, title_id) SELECT id, ? FROM genres"
                          " WHERE name = ? COLLATE NOCASE ON CONFLICT DO NOTHING",
                          "tt", t->id, t->genres[i]));
  }
  for (size_t i = 0; i < t->region_count; i++)
    SQ_TRY(store__sq_exec(db, what, NULL,
                          "INSERT INTO title_regions (title_id, region) VALUES (?, ?) "
                          "ON CONFLICT DO NOTHING",
                          "tt", t->id, t->regions[i]));
  return STREAM_OK;
}

static int ct_title_create(void *impl, const stream_store_title *in, int64_t now)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int rc =
      store__sq_exec(db, "create title", NULL,
                     "INSERT INTO titles (id, kind, name, synopsis, year, runtime, maturity_rating,"
                     " credits_json, artwork_json, available_from, available_until, created_at,"
                     " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     "tittiiittZZII", in->id, in->kind, in->name, in->synopsis, in->year,
                     in->runtime, in->maturity_rating, in->credits_json, in->artwork_json,
                     in->available_from, in->available_until, now, now);
  if (rc == STREAM_OK)
    rc = write_children(db, in);
  return store__sq_wend(impl, db, rc);
}

static int ct_title_update(void *impl, const stream_store_title *t, int64_t now)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int n = 0;
  int rc = store__sq_exec(
      db, "update title", &n,
      "UPDATE titles SET kind = ?, name = ?, synopsis = ?, year = ?, runtime = ?,"
      " maturity_rating = ?, credits_json = ?, artwork_json = ?, available_from = ?,"
      " available_until = ?, updated_at = ? WHERE id = ?",
      "ittiiittZZIt", t->kind, t->name, t->synopsis, t->year, t->runtime, t->maturity_rating,
      t->credits_json, t->artwork_json, t->available_from, t->available_until, now, t->id);
  if (rc == STREAM_OK && n == 0)
    rc = stream__err(STREAM_ENOTFOUND, "update title: no title with id %s", t->id);
  if (rc == STREAM_OK)
    rc = write_children(db, t);
  return store__sq_wend(impl, db, rc);
}

static int delete_by_id(void *impl, const char *sql, const char *id, const char *what,
                        const char *noun)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int n = 0;
  int rc = store__sq_exec(db, what, &n, sql, "t", id);
  if (rc == STREAM_OK && n == 0)
    rc = stream__err(STREAM_ENOTFOUND, "%s: no %s with id %s", what, noun, id);
  return store__sq_wend(impl, db, rc);
}

static int ct_title_delete(void *impl, const char *id)
{
  return delete_by_id(impl, "DELETE FROM titles WHERE id = ?", id, "delete title", "title");
}

static int ct_season_create(void *impl, const char *id, const char *title_id, int number)
{
  const char *what = "create season";
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  sqlite3_stmt *st;
  int rc = store__sq_prepare(db, &st, what, "SELECT kind FROM titles WHERE id = ?", "t", title_id);
  if (rc == STREAM_OK) {
    int r = store__sq_step(db, st, what);
    int kind = r == 1 ? sqlite3_column_int(st, 0) : -1;
    store__sq_release(db, st);
    if (r < 0)
      rc = r;
    else if (r == 0)
      rc = stream__err(STREAM_ENOTFOUND, "%s: no title with id %s", what, title_id);
    else if (kind != STREAM_STORE_TITLE_SERIES)
      rc = stream__err(STREAM_EINVAL, "%s: title %s is a movie, not a series", what, title_id);
  }
  if (rc == STREAM_OK)
    rc = store__sq_exec(db, what, NULL,
                        "INSERT INTO seasons (id, title_id, number) VALUES (?, ?, ?)", "tti", id,
                        title_id, number);
  return store__sq_wend(impl, db, rc);
}

static int ct_season_delete(void *impl, const char *id)
{
  return delete_by_id(impl, "DELETE FROM seasons WHERE id = ?", id, "delete season", "season");
}

static int ct_episode_create(void *impl, const stream_store_episode *in)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int rc = store__sq_exec(db, "create episode", NULL,
                          "INSERT INTO episodes (id, season_id, number, name, synopsis, runtime) "
                          "VALUES (?, ?, ?, ?, ?, ?)",
                          "ttitti", in->id, in->season_id, in->number, in->name, in->synopsis,
                          in->runtime);
  return store__sq_wend(impl, db, rc);
}

static int ct_episode_update(void *impl, const stream_store_episode *e)
{
  sq_conn *db;
  SQ_TRY(store__sq_wbegin(impl, &db));
  int n = 0;
  int rc = store__sq_exec(db, "update episode", &n,
                          "UPDATE episodes SET number = ?, name = ?, synopsis = ?, runtime = ? "
                          "WHERE id = ?",
                          "ittit", e->number, e->name, e->synopsis, e->runtime, e->id);
  if (rc == STREAM_OK && n == 0)
    rc = stream__err(STREAM_ENOTFOUND, "update episode: no episode with id %s", e->id);
  return store__sq_wend(impl, db, rc);
}

static int ct_episode_delete(void *impl, const char *id)
{
  return delete_by_id(impl, "DELETE FROM episodes WHERE id = ?", id, "delete episode", "episode");
}

const struct stream_store_catalog_ops store__sq_catalog_ops = {
    .title_create = ct_title_create,
    .title_update = ct_title_update,
    .title_delete = ct_title_delete,
    .title_get = ct_title_get,
    .title_detail = ct_title_detail,
    .season_create = ct_season_create,
    .season_delete = ct_season_delete,
    .episode_create = ct_episode_create,
    .episode_update = ct_episode_update,
    .episode_delete = ct_episode_delete,
    .title_list = ct_title_list,
    .title_search = ct_title_search,
    .genre_list = ct_genre_list,
    .genre_list_visible = ct_genre_list_visible,
};
