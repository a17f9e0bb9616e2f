/*
 * PostgreSQL backend: the catalog (sqlite/catalog.c in the PostgreSQL dialect,
 * same control flow and messages). Titles with genres (many-to-many through
 * title_genres) and regions (child table), seasons and episodes; keyset
 * pagination on (name ignoring ASCII case, id) or (created_at, id) with
 * row-value comparisons (byte order: those columns are COLLATE "C"); full-text search on the
 * titles.fts tsvector, which a trigger keeps in step with the name and
 * synopsis (schema_catalog.c). User search text never reaches tsquery syntax
 * unescaped: it is cut into words as for FTS5, each word is folded as the
 * index is (titles_fts_fold: no punctuation is left) and becomes a quoted
 * prefix term 'word':*, and the terms are ANDed.
 */
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

#define TITLE_COLS                                                                                 \
  "t.id, t.kind, t.name, t.synopsis, t.year, t.runtime, t.maturity_rating, t.credits_json, "       \
  "t.artwork_json, t.available_from, t.available_until, t.created_at, t.updated_at"

/* Viewer filters: ?1 maturity ceiling, ?2 now, ?3 genre or NULL, ?4 region codes or NULL (the
 * comma-joined codes a title may list: store_internal.h; codes never hold a comma). The genre
 * matches whatever its ASCII case, as on SQLite (NOCASE): lower() folds A-Z only under
 * COLLATE "C", which genres.name has and the parameter is given (under the database's default
 * collation lower() would fold "É" too); genres.name is unique under it (schema_genre_fold.c). */
#define VIEW_FILTER                                                                                \
  " t.maturity_rating <= ?1"                                                                       \
  " AND (t.available_from IS NULL OR t.available_from <= ?2)"                                      \
  " AND (t.available_until IS NULL OR t.available_until > ?2)"                                     \
  " AND (?3::text IS NULL OR EXISTS (SELECT 1 FROM title_genres tg JOIN genres g"                  \
  "      ON g.id = tg.genre_id WHERE tg.title_id = t.id"                                           \
  "      AND lower(g.name) = lower(?3::text COLLATE \"C\")))"                                      \
  " AND (?4::text IS NULL OR NOT EXISTS (SELECT 1 FROM title_regions r WHERE r.title_id = t.id)"   \
  "      OR EXISTS (SELECT 1 FROM title_regions r WHERE r.title_id = t.id"                         \
  "      AND r.region = ANY (string_to_array(?4::text, ','))))"

/* ?5 limit, ?6/?7 the cursor's key and id. The name sort is lower(name), which folds A-Z only
 * as titles.name is COLLATE "C" (the cursor's name is folded under "C" too: VIEW_FILTER says
 * why), then id: SQLite's NOCASE order, and a total order for the keyset cursor even between
 * names that differ only in case. lower(t.name), t.id is the index titles_by_name_fold
 * (schema_title_name_fold.c), written the same way so the planner matches it. */
static const char sql_list_name_first[] = "SELECT " TITLE_COLS " FROM titles t WHERE" VIEW_FILTER
                                          " ORDER BY lower(t.name), t.id LIMIT ?5";
static const char sql_list_name_after[] =
    "SELECT " TITLE_COLS " FROM titles t WHERE" VIEW_FILTER
    " AND (lower(t.name), t.id) > (lower(?6::text COLLATE \"C\"), ?7::text)"
    " ORDER BY lower(t.name), t.id LIMIT ?5";
static const char sql_list_new_first[] = "SELECT " TITLE_COLS " FROM titles t WHERE" VIEW_FILTER
                                         " ORDER BY t.created_at DESC, t.id DESC LIMIT ?5";
static const char sql_list_new_after[] =
    "SELECT " TITLE_COLS " FROM titles t WHERE" VIEW_FILTER
    " AND (t.created_at, t.id) < (?6, ?7::text) ORDER BY t.created_at DESC, t.id DESC LIMIT ?5";
/* ?6 the words, separated by single spaces (search_words). Each word is folded
 * like the index; a word that folds to nothing is left out (FTS5 drops an empty
 * phrase too), a word that folds to several becomes a phrase ('l':* <-> 'amour':*,
 * FTS5's "l’amour"*). No term at all: an empty tsquery, which matches nothing.
 * Name matches weigh ten times synopsis ones (weights D, C, B, A); normalization 1
 * divides by 1 + log(document length), which orders like FTS5's bm25 in the
 * common cases (schema_catalog.c). */
static const char sql_search[] =
    "SELECT " TITLE_COLS " FROM titles t, to_tsquery('simple', coalesce(("
    "  SELECT string_agg('''' || w || ''':*', ' & ') FROM ("
    "   SELECT btrim(titles_fts_fold(x)) AS w FROM regexp_split_to_table(?6::text, ' ') AS x) f"
    "  WHERE w <> ''), '')) AS query"
    " WHERE t.fts @@ query AND" VIEW_FILTER
    " ORDER BY ts_rank('{0.1, 0.2, 0.4, 1.0}', t.fts, query, 1) DESC, t.id LIMIT ?5";

/* ---- reading ------------------------------------------------------------- */

static int push_string(char ***v, size_t *n, size_t *cap, const pg_stmt *st, int col,
                       const char *what)
{
  if (*n == *cap) {
    size_t ncap = *cap ? *cap * 2 : 8;
    char **p = realloc(*v, ncap * sizeof *p);
    if (!p)
      return stream__err(STREAM_ENOMEM, "%s: out of memory", what);
    *v = p;
    *cap = ncap;
  }
  int rc = store__pg_col_dup(&(*v)[*n], st, col);
  if (rc == STREAM_OK && !(*v)[*n])
    rc = stream__err(STREAM_EINTERNAL, "%s: unexpected NULL", what);
  if (rc == STREAM_OK)
    (*n)++;
  return rc;
}

static int read_strings(pg_conn *db, char ***out, size_t *out_count, const char *sql,
                        const char *what)
{
  pg_stmt *st;
  *out = NULL;
  *out_count = 0;
  PG_TRY(store__pg_prepare(db, &st, what, sql, ""));
  char **v = NULL;
  size_t n = 0, cap = 0;
  int rc = STREAM_OK;
  while (rc == STREAM_OK && store__pg_step(db, st, what) == 1)
    rc = push_string(&v, &n, &cap, st, 0, what);
  store__pg_release(db, st);
  if (rc != STREAM_OK) {
    stream_store_strings_free(v, n);
    return rc;
  }
  *out = v;
  *out_count = n;
  return STREAM_OK;
}

/* A title's genres (by name, ignoring ASCII case as the genre lists do) and regions (by code)
 * in one round trip: rows (0, genre) then (1, region). */
static int read_children(pg_conn *db, stream_store_title *t)
{
  const char *what = "read title genres and regions";
  pg_stmt *st;
  PG_TRY(
      store__pg_prepare(db, &st, what,
                        "SELECT k, v FROM (SELECT 0 AS k, g.name AS v FROM title_genres tg"
                        " JOIN genres g ON g.id = tg.genre_id WHERE tg.title_id = ?1::text"
                        " UNION ALL SELECT 1, region FROM title_regions WHERE title_id = ?1::text)"
                        " u ORDER BY k, lower(v COLLATE \"C\"), v",
                        "t", t->id));
  size_t gcap = 0, rcap = 0;
  int rc = STREAM_OK;
  while (rc == STREAM_OK && store__pg_step(db, st, what) == 1) {
    if (store__pg_col_int(st, 0) == 0)
      rc = push_string(&t->genres, &t->genre_count, &gcap, st, 1, "read title genres");
    else
      rc = push_string(&t->regions, &t->region_count, &rcap, st, 1, "read title regions");
  }
  store__pg_release(db, st);
  return rc;
}

/* Fill `t` from a row of TITLE_COLS, with its genres and regions. On failure
 * `t` holds whatever was read and the caller clears it. */
static int read_title(pg_conn *db, stream_store_title *t, const pg_stmt *st)
{
  memset(t, 0, sizeof *t);
  store__pg_col_copy(t->id, sizeof t->id, st, 0);
  t->kind = store__pg_col_int(st, 1);
  t->year = store__pg_col_int(st, 4);
  t->runtime = store__pg_col_int(st, 5);
  t->maturity_rating = store__pg_col_int(st, 6);
  t->available_from = store__pg_col_i64(st, 9);
  t->available_until = store__pg_col_i64(st, 10);
  t->created_at = store__pg_col_i64(st, 11);
  t->updated_at = store__pg_col_i64(st, 12);
  int rc = store__pg_col_dup(&t->name, st, 2);
  if (rc == STREAM_OK)
    rc = store__pg_col_dup(&t->synopsis, st, 3);
  if (rc == STREAM_OK)
    rc = store__pg_col_dup(&t->credits_json, st, 7);
  if (rc == STREAM_OK)
    rc = store__pg_col_dup(&t->artwork_json, st, 8);
  if (rc == STREAM_OK)
    rc = read_children(db, t);
  if (rc == STREAM_ENOMEM)
    stream__err(rc, "read title: out of memory");
  return rc;
}

static int get_title(pg_conn *db, stream_store_title *out, const char *id)
{
  const char *what = "get title";
  pg_stmt *st;
  PG_TRY(store__pg_prepare(db, &st, what, "SELECT " TITLE_COLS " FROM titles t WHERE t.id = ?", "t",
                           id));
  int rc = STREAM_OK;
  if (store__pg_step(db, st, what) == 1)
    rc = read_title(db, out, st);
  else
    rc = stream__err(STREAM_ENOTFOUND, "no title with id %s", id);
  store__pg_release(db, st);
  if (rc != STREAM_OK)
    stream_store_title_clear(out);
  return rc;
}

static int ct_title_get(void *impl, stream_store_title *out, const char *id)
{
  pg_conn *db = store__pg_racquire(impl);
  int rc = store__pg_rbegin(db);
  if (rc == STREAM_OK) {
    rc = get_title(db, out, id);
    store__pg_rend(db);
  }
  store__pg_rrelease(impl, db);
  return rc;
}

/* Append an episode from columns 3..8 of the seasons-episodes row. */
static int add_episode(stream_store_season *se, size_t *cap, const pg_stmt *st, const char *what)
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
  store__pg_col_copy(e->id, sizeof e->id, st, 3);
  store__pg_col_copy(e->season_id, sizeof e->season_id, st, 4);
  e->number = store__pg_col_int(st, 5);
  e->runtime = store__pg_col_int(st, 8);
  int rc = store__pg_col_dup(&e->name, st, 6);
  if (rc == STREAM_OK)
    rc = store__pg_col_dup(&e->synopsis, st, 7);
  return rc;
}

/* Seasons and their episodes in one statement: one row per episode (or one
 * with NULL episode columns for an empty season), ordered by season number
 * then episode number (both unique), so a season's rows are consecutive. */
static int read_seasons(pg_conn *db, stream_store_title_detail *out, const char *id)
{
  const char *what = "read seasons";
  pg_stmt *st;
  PG_TRY(store__pg_prepare(db, &st, what,
                           "SELECT s.id, s.title_id, s.number, e.id, e.season_id, e.number, e.name,"
                           " e.synopsis, e.runtime FROM seasons s"
                           " LEFT JOIN episodes e ON e.season_id = s.id"
                           " WHERE s.title_id = ? ORDER BY s.number, e.number",
                           "t", id));
  size_t cap = 0, ecap = 0;
  int rc = STREAM_OK;
  stream_store_season *se = NULL;
  char sid[STREAM_STORE_ID_SIZE];
  while (rc == STREAM_OK && store__pg_step(db, st, what) == 1) {
    store__pg_col_copy(sid, sizeof sid, st, 0);
    if (!se || strcmp(se->id, sid) != 0) {
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
      store__pg_col_copy(se->id, sizeof se->id, st, 0);
      store__pg_col_copy(se->title_id, sizeof se->title_id, st, 1);
      se->number = store__pg_col_int(st, 2);
    }
    if (!store__pg_col_null(st, 3))
      rc = add_episode(se, &ecap, st, "read episodes");
  }
  store__pg_release(db, st);
  return rc;
}

static int ct_title_detail(void *impl, stream_store_title_detail *out, const char *id)
{
  pg_conn *db = store__pg_racquire(impl);
  int rc = store__pg_rbegin(db);
  if (rc != STREAM_OK) {
    store__pg_rrelease(impl, db);
    return rc;
  }
  rc = get_title(db, &out->title, id);
  if (rc == STREAM_OK)
    rc = read_seasons(db, out, id);
  store__pg_rend(db);
  store__pg_rrelease(impl, db);
  if (rc != STREAM_OK)
    stream_store_title_detail_clear(out);
  return rc;
}

/* Collect the rows of a title query into `out`, at most `max`; *more tells
 * whether a row beyond them came back. */
static int collect_titles(pg_conn *db, pg_stmt *st, stream_store_title_page *out, size_t max,
                          bool *more, const char *what)
{
  int rc = STREAM_OK;
  size_t cap = 0;
  *more = false;
  while (rc == STREAM_OK && store__pg_step(db, st, what) == 1) {
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
  return rc;
}

static int ct_title_list(void *impl, stream_store_title_page *out, bool *out_more,
                         const stream_store_title_query *q, const store__cursor *after)
{
  const char *what = "list titles";
  bool by_name = q->sort == STREAM_STORE_SORT_NAME;
  pg_conn *db = store__pg_racquire(impl);
  int rc = store__pg_rbegin(db);
  pg_stmt *st = NULL;
  int lim = (int)q->limit + 1; /* one more tells whether there is a next page */
  if (rc == STREAM_OK) {
    if (!after)
      rc = store__pg_prepare(db, &st, what, by_name ? sql_list_name_first : sql_list_new_first,
                             "iItti", q->maturity_ceiling, q->now, q->genre, q->region, lim);
    else if (by_name)
      rc = store__pg_prepare(db, &st, what, sql_list_name_after,
                             "iItti"
                             "tt",
                             q->maturity_ceiling, q->now, q->genre, q->region, lim, after->key_text,
                             after->id);
    else
      rc = store__pg_prepare(db, &st, what, sql_list_new_after,
                             "iItti"
                             "It",
                             q->maturity_ceiling, q->now, q->genre, q->region, lim, after->key_num,
                             after->id);
    if (rc == STREAM_OK) {
      rc = collect_titles(db, st, out, q->limit, out_more, what);
      store__pg_release(db, st);
    }
    store__pg_rend(db);
  }
  store__pg_rrelease(impl, db);
  return rc;
}

/* Length of the well-formed UTF-8 sequence at p (as PostgreSQL accepts it: no
 * overlong forms, no surrogates, at most U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p)
{
  unsigned char c = p[0];
  size_t n;
  unsigned char lo = 0x80, hi = 0xbf; /* the second byte's range */
  if (c >= 0xc2 && c <= 0xdf)
    n = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    if (c == 0xe0)
      lo = 0xa0;
    else if (c == 0xed)
      hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    if (c == 0xf0)
      lo = 0x90;
    else if (c == 0xf4)
      hi = 0x8f;
  } else
    return 0;
  if (p[1] < lo || p[1] > hi)
    return 0;
  for (size_t i = 2; i < n; i++)
    if (p[i] < 0x80 || p[i] > 0xbf)
      return 0;
  return n;
}

/* Length of the word character at p: an ASCII letter or digit, or a
 * well-formed non-ASCII character (the parser splits further); 0 for a
 * separator (ASCII punctuation, space, controls, and bytes that are not UTF-8,
 * which PostgreSQL would refuse as text). */
static size_t word_char(const unsigned char *p)
{
  unsigned char c = *p;
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
    return 1;
  return c >= 0x80 ? utf8_len(p) : 0;
}

/* Turn free text into the search's words (sql_search ?6): every run of word
 * characters is a word, as for the FTS5 query of the SQLite backend, and the
 * words are joined by single spaces. Quotes, operators, parentheses and the
 * like are separators, so nothing the user types can be tsquery syntax.
 * *out is NULL when the text has no word. */
#define SEARCH_WORDS_MAX 16
static int search_words(char **out, const char *text)
{
  *out = NULL;
  stream__buf b;
  stream__buf_init(&b);
  const unsigned char *p = (const unsigned char *)text;
  int words = 0;
  while (*p && words < SEARCH_WORDS_MAX) {
    size_t k;
    while (*p && !word_char(p))
      p++;
    if (!*p)
      break;
    const unsigned char *w = p;
    while (*p && (k = word_char(p)) > 0)
      p += k;
    if (words++)
      stream__buf_puts(&b, " ");
    stream__buf_append(&b, (const char *)w, (size_t)(p - w));
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
  char *words = NULL;
  PG_TRY(search_words(&words, text));
  if (!words)
    return STREAM_OK; /* nothing to look for: an empty page */
  pg_conn *db = store__pg_racquire(impl);
  int rc = store__pg_rbegin(db);
  if (rc == STREAM_OK) {
    pg_stmt *st;
    rc = store__pg_prepare(db, &st, what, sql_search,
                           "iItti"
                           "t",
                           q->maturity_ceiling, q->now, q->genre, q->region, (int)q->limit, words);
    if (rc == STREAM_OK) {
      bool more;
      rc = collect_titles(db, st, out, q->limit, &more, what);
      store__pg_release(db, st);
    }
    store__pg_rend(db);
  }
  store__pg_rrelease(impl, db);
  free(words);
  return rc;
}

static int ct_genre_list(void *impl, char ***out, size_t *out_count)
{
  pg_conn *db = store__pg_racquire(impl);
  int rc = read_strings(db, out, out_count,
                        "SELECT g.name FROM genres g WHERE EXISTS "
                        "(SELECT 1 FROM title_genres tg WHERE tg.genre_id = g.id) "
                        "ORDER BY lower(g.name)",
                        "list genres");
  store__pg_rrelease(impl, db);
  return rc;
}

/* The genres of the titles a viewer may see: VIEW_FILTER with no genre (?3
 * NULL), so a genre listed here is one stream_store_title_list() finds titles
 * in with the same filters. One statement: one snapshot. */
static int ct_genre_list_visible(void *impl, char ***out, size_t *out_count,
                                 const stream_store_title_query *q)
{
  const char *what = "list visible genres";
  *out = NULL;
  *out_count = 0;
  pg_conn *db = store__pg_racquire(impl);
  pg_stmt *st = NULL;
  int rc = store__pg_prepare(db, &st, what,
                             "SELECT g.name FROM genres g WHERE EXISTS (SELECT 1 FROM title_genres"
                             " tg2 JOIN titles t ON t.id = tg2.title_id WHERE tg2.genre_id = g.id"
                             " AND" VIEW_FILTER ") ORDER BY lower(g.name)",
                             "iIt"
                             "t",
                             q->maturity_ceiling, q->now, (const char *)NULL, q->region);
  char **v = NULL;
  size_t n = 0, cap = 0;
  while (rc == STREAM_OK && store__pg_step(db, st, what) == 1)
    rc = push_string(&v, &n, &cap, st, 0, what);
  if (st)
    store__pg_release(db, st);
  store__pg_rrelease(impl, db);
  if (rc != STREAM_OK) {
    stream_store_strings_free(v, n);
    return rc;
  }
  *out = v;
  *out_count = n;
  return STREAM_OK;
}

/* ---- writing ------------------------------------------------------------- */

static int write_children(pg_conn *db, const stream_store_title *t)
{
  const char *what = "save title genres and regions";
  PG_TRY(store__pg_exec(db, what, NULL, "DELETE FROM title_genres WHERE title_id = ?", "t", t->id));
  PG_TRY(
      store__pg_exec(db, what, NULL, "DELETE FROM title_regions WHERE title_id = ?", "t", t->id));
  /* A genre that differs from an existing one only in ASCII case is that genre, spelled as it
   * was first: the insert meets the unique index on lower(name) and does nothing (VIEW_FILTER
   * says why the parameter is folded under COLLATE "C"). Two spellings in one title give one
   * link. */
  for (size_t i = 0; i < t->genre_count; i++) {
    PG_TRY(store__pg_exec(db, what, NULL,
                          "INSERT INTO genres (name) VALUES (?) ON CONFLICT DO NOTHING", "t",
                          t->genres[i]));
    PG_TRY(store__pg_exec(db, what, NULL,
                          "INSERT INTO title_genres (genre_id, title_id) SELECT id, ?::text FROM"
                          " genres WHERE lower(name) = lower(?::text COLLATE \"C\")"
                          " ON CONFLICT DO NOTHING",
                          "tt", t->id, t->genres[i]));
  }
  for (size_t i = 0; i < t->region_count; i++)
    PG_TRY(store__pg_exec(db, what, NULL,
                          "INSERT INTO title_regions (title_id, region) VALUES (?, ?) "
                          "ON CONFLICT DO NOTHING",
                          "tt", t->id, t->regions[i]));
  return STREAM_OK;
}

static int ct_title_create(void *impl, const stream_store_title *in, int64_t now)
{
  pg_conn *db;
  PG_TRY(store__pg_wbegin(impl, &db));
  int rc =
      store__pg_exec(db, "create title", NULL,
                     "INSERT INTO titles (id, kind, name, synopsis, year, runtime, maturity_rating,"
                     " credits_json, artwork_json, available_from, available_until, created_at,"
                     " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     "tittiiittZZII", in->id, in->kind, in->name, in->synopsis, in->year,
                     in->runtime, in->maturity_rating, in->credits_json, in->artwork_json,
                     in->available_from, in->available_until, now, now);
  if (rc == STREAM_OK)
    rc = write_children(db, in);
  return store__pg_wend(impl, db, rc);
}

static int ct_title_update(void *impl, const stream_store_title *t, int64_t now)
{
  pg_conn *db;
  PG_TRY(store__pg_wbegin(impl, &db));
  int n = 0;
  int rc = store__pg_exec(
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
  return store__pg_wend(impl, db, rc);
}

static int delete_by_id(void *impl, const char *sql, const char *id, const char *what,
                        const char *noun)
{
  pg_conn *db;
  PG_TRY(store__pg_wbegin(impl, &db));
  int n = 0;
  int rc = store__pg_exec(db, what, &n, sql, "t", id);
  if (rc == STREAM_OK && n == 0)
    rc = stream__err(STREAM_ENOTFOUND, "%s: no %s with id %s", what, noun, id);
  return store__pg_wend(impl, db, rc);
}

static int ct_title_delete(void *impl, const char *id)
{
  return delete_by_id(impl, "DELETE FROM titles WHERE id = ?", id, "delete title", "title");
}

static int ct_season_create(void *impl, const char *id, const char *title_id, int number)
{
  const char *what = "create season";
  pg_conn *db;
  PG_TRY(store__pg_wbegin(impl, &db));
  pg_stmt *st;
  int rc = store__pg_prepare(db, &st, what, "SELECT kind FROM titles WHERE id = ?", "t", title_id);
  if (rc == STREAM_OK) {
    int r = store__pg_step(db, st, what);
    int kind = r == 1 ? store__pg_col_int(st, 0) : -1;
    store__pg_release(db, st);
    if (r == 0)
      rc = stream__err(STREAM_ENOTFOUND, "%s: no title with id %s", what, title_id);
    else if (kind != STREAM_STORE_TITLE_SERIES)
      rc = stream__err(STREAM_EINVAL, "%s: title %s is a movie, not a series", what, title_id);
  }
  if (rc == STREAM_OK)
    rc = store__pg_exec(db, what, NULL,
                        "INSERT INTO seasons (id, title_id, number) VALUES (?, ?, ?)", "tti", id,
                        title_id, number);
  return store__pg_wend(impl, db, rc);
}

static int ct_season_delete(void *impl, const char *id)
{
  return delete_by_id(impl, "DELETE FROM seasons WHERE id = ?", id, "delete season", "season");
}

static int ct_episode_create(void *impl, const stream_store_episode *in)
{
  pg_conn *db;
  PG_TRY(store__pg_wbegin(impl, &db));
  int rc = store__pg_exec(db, "create episode", NULL,
                          "INSERT INTO episodes (id, season_id, number, name, synopsis, runtime) "
                          "VALUES (?, ?, ?, ?, ?, ?)",
                          "ttitti", in->id, in->season_id, in->number, in->name, in->synopsis,
                          in->runtime);
  return store__pg_wend(impl, db, rc);
}

static int ct_episode_update(void *impl, const stream_store_episode *e)
{
  pg_conn *db;
  PG_TRY(store__pg_wbegin(impl, &db));
  int n = 0;
  int rc = store__pg_exec(db, "update episode", &n,
                          "UPDATE episodes SET number = ?, name = ?, synopsis = ?, runtime = ? "
                          "WHERE id = ?",
                          "ittit", e->number, e->name, e->synopsis, e->runtime, e->id);
  if (rc == STREAM_OK && n == 0)
    rc = stream__err(STREAM_ENOTFOUND, "update episode: no episode with id %s", e->id);
  return store__pg_wend(impl, db, rc);
}

static int ct_episode_delete(void *impl, const char *id)
{
  return delete_by_id(impl, "DELETE FROM episodes WHERE id = ?", id, "delete episode", "episode");
}

const struct stream_store_catalog_ops store__pg_catalog_ops = {
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
