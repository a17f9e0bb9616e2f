/*
 * streamctl catalog: operator access to the catalog of a streamd data
 * directory, opening its SQLite store directly (WAL lets this run while
 * streamd is serving), or of the store --db names (a file or a PostgreSQL URI). Sub-commands:
 * import FILE, list, get ID, delete ID, genres, search TEXT. Everything goes through the catalog
 * service (stream/catalog.h); without the server feature the verb only says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "streamctl.h"

static const cli_opt catalog_opts[] = {
    {"data-dir", 1, "DIR", "streamd data directory (the store is DIR/streamd.db); or --db"},
    {"db", 1, "PATH", "the store: a file, or a streamd's postgresql:// URI; or --data-dir"},
    {"genre", 1, "NAME", "list: only titles of this genre"},
    {"json", 0, NULL, "print JSON (import: the full report; list: an array of titles)"},
    {NULL, 0, NULL, NULL}};

#if STREAM_HAVE_SERVER

#include <cjson/cJSON.h>

static char *read_all(const cli_args *a, const char *path, int *ret)
{
  FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rbe");
  if (!f) {
    fprintf(stderr, "streamctl catalog: cannot open %s: %s\n", path, strerror(errno));
    *ret = EXIT_FAIL;
    return NULL;
  }
  size_t cap = 65536, len = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (len + 1 >= cap) {
      if (cap > (size_t)STREAM_CATALOG_IMPORT_MAX) {
        fprintf(stderr, "streamctl catalog: %s is larger than %d bytes\n", path,
                STREAM_CATALOG_IMPORT_MAX);
        free(buf);
        buf = NULL;
        break;
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
    size_t n = fread(buf + len, 1, cap - 1 - len, f);
    len += n;
    if (n == 0)
      break;
  }
  if (buf && ferror(f)) {
    fprintf(stderr, "streamctl catalog: cannot read %s\n", path);
    free(buf);
    buf = NULL;
  }
  if (f != stdin)
    fclose(f);
  if (!buf) {
    *ret = EXIT_FAIL;
    return NULL;
  }
  if (memchr(buf, 0, len)) {
    fprintf(stderr, "streamctl catalog: %s contains a NUL byte\n", path);
    free(buf);
    *ret = EXIT_FAIL;
    return NULL;
  }
  buf[len] = 0;
  (void)a;
  return buf;
}

/* The store of --data-dir DIR (DIR/streamd.db; import creates DIR and the store). */
static int open_data_dir(const cli_args *a, stream_store **st, int create)
{
  const char *dir = cli_get(a, "data-dir");
  if (!dir || !dir[0])
    return usage_error(a, "--data-dir DIR (or --db PATH) is required");
  char path[4096];
  if ((size_t)snprintf(path, sizeof path, "%s/streamd.db", dir) >= sizeof path)
    return usage_error(a, "--data-dir is too long");
  struct stat sb;
  if (create) {
    if (stat(dir, &sb) != 0 && mkdir(dir, 0700) != 0) {
      fprintf(stderr, "streamctl catalog: cannot create %s: %s\n", dir, strerror(errno));
      return EXIT_FAIL;
    }
  } else if (stat(path, &sb) != 0) {
    fprintf(stderr, "streamctl catalog: no store at %s (import a catalog or start streamd first)\n",
            path);
    return EXIT_FAIL;
  }
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  so.path = path;
  so.readers = 1;
  int rc = stream_store_open(st, &so);
  if (rc)
    return lib_error(a, "cannot open the store", rc);
  return 0;
}

/* --db PATH: an existing store file or a PostgreSQL URI, as the other store verbs take it
 * (open_daemon_store); else --data-dir. */
static int open_catalog(const cli_args *a, stream_store **st, stream_catalog **cat, int create)
{
  const char *db = cli_get(a, "db");
  int ret = db ? open_daemon_store(a, st) : open_data_dir(a, st, create);
  if (ret)
    return ret;
  stream_catalog_options co = STREAM_CATALOG_OPTIONS_INIT;
  co.store = *st;
  int rc = stream_catalog_new(cat, &co);
  if (rc) {
    stream_store_close(*st);
    return lib_error(a, "cannot start the catalog", rc);
  }
  return 0;
}

static int print_report_errors(const char *report)
{
  cJSON *r = cJSON_Parse(report);
  const cJSON *items = cJSON_GetObjectItemCaseSensitive(r, "items");
  for (const cJSON *it = items ? items->child : NULL; it; it = it->next) {
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(it, "error");
    if (cJSON_IsString(err))
      fprintf(stderr, "  %s\n", err->valuestring);
  }
  cJSON_Delete(r);
  return 0;
}

static int do_import(const cli_args *a, stream_catalog *cat)
{
  if (a->npos != 2)
    return usage_error(a, "import needs a FILE (or - for stdin)");
  int ret = 0;
  char *doc = read_all(a, a->pos[1], &ret);
  if (!doc)
    return ret;
  stream_catalog_import_result r;
  int rc = stream_catalog_import(&r, cat, doc);
  free(doc);
  if (rc) {
    ret = lib_error(a, "import failed", rc);
    if (r.report_json) {
      print_report_errors(r.report_json);
      if (cli_has(a, "json"))
        printf("%s\n", r.report_json);
    }
  } else if (cli_has(a, "json")) {
    printf("%s\n", r.report_json);
  } else {
    printf("imported %zu titles: %zu created, %zu updated, %zu unchanged, %zu failed\n", r.total,
           r.created, r.updated, r.unchanged, r.failed);
  }
  stream_catalog_import_result_clear(&r);
  return ret;
}

static void print_title_line(const cJSON *t)
{
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "id");
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(t, "kind");
  const cJSON *lab = cJSON_GetObjectItemCaseSensitive(t, "maturity_label");
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
  printf("%s\t%s\t%s\t%s\n", cJSON_IsString(id) ? id->valuestring : "?",
         cJSON_IsString(kind) ? kind->valuestring : "?",
         cJSON_IsString(lab) ? lab->valuestring : "-",
         cJSON_IsString(name) ? name->valuestring : "?");
}

static int do_list(const cli_args *a, stream_catalog *cat)
{
  if (a->npos != 1)
    return usage_error(a, "list takes no argument");
  cJSON *all = cJSON_CreateArray();
  char *cursor = NULL;
  int ret = 0;
  for (;;) {
    char *out = NULL;
    int rc =
        stream_catalog_browse(&out, cat, cli_get(a, "genre"), cursor, STREAM_STORE_PAGE_MAX, NULL);
    free(cursor);
    cursor = NULL;
    if (rc) {
      ret = lib_error(a, "cannot list titles", rc);
      break;
    }
    cJSON *page = cJSON_Parse(out);
    stream_free(out);
    cJSON *items = cJSON_GetObjectItemCaseSensitive(page, "items");
    cJSON *it;
    while (items && (it = cJSON_DetachItemFromArray(items, 0)))
      if (cli_has(a, "json"))
        cJSON_AddItemToArray(all, it);
      else {
        print_title_line(it);
        cJSON_Delete(it);
      }
    const cJSON *nc = cJSON_GetObjectItemCaseSensitive(page, "next_cursor");
    if (cJSON_IsString(nc))
      cursor = strdup(nc->valuestring);
    cJSON_Delete(page);
    if (!cursor)
      break;
  }
  if (!ret && cli_has(a, "json")) {
    char *txt = cJSON_PrintUnformatted(all);
    printf("%s\n", txt ? txt : "[]");
    cJSON_free(txt);
  }
  cJSON_Delete(all);
  return ret;
}

static int run_catalog(const cli_args *a)
{
  const char *sub = a->pos[0];
  static const char *const subs[] = {"import", "list", "get", "delete", "genres", "search", NULL};
  int known = 0;
  for (size_t i = 0; subs[i]; i++)
    known = known || strcmp(sub, subs[i]) == 0;
  if (!known)
    return usage_error(a, "unknown sub-command '%s' (import, list, get, delete, genres, search)",
                       sub);
  int need_arg =
      strcmp(sub, "get") == 0 || strcmp(sub, "delete") == 0 || strcmp(sub, "search") == 0;
  if (need_arg && a->npos != 2)
    return usage_error(a, "%s needs an argument", sub);
  if (strcmp(sub, "genres") == 0 && a->npos != 1)
    return usage_error(a, "genres takes no argument");
  stream_store *st = NULL;
  stream_catalog *cat = NULL;
  int ret = open_catalog(a, &st, &cat, strcmp(sub, "import") == 0);
  if (ret)
    return ret;
  char *out = NULL;
  int rc;
  if (strcmp(sub, "import") == 0) {
    ret = do_import(a, cat);
  } else if (strcmp(sub, "list") == 0) {
    ret = do_list(a, cat);
  } else if (strcmp(sub, "get") == 0) {
    if ((rc = stream_catalog_title_get(&out, cat, a->pos[1], NULL)))
      ret = lib_error(a, "cannot get the title", rc);
    else
      printf("%s\n", out);
  } else if (strcmp(sub, "delete") == 0) {
    if ((rc = stream_catalog_title_delete(cat, a->pos[1])))
      ret = lib_error(a, "cannot delete the title", rc);
    else
      printf("deleted %s\n", a->pos[1]);
  } else if (strcmp(sub, "genres") == 0) {
    if ((rc = stream_catalog_genres(&out, cat))) {
      ret = lib_error(a, "cannot list genres", rc);
    } else {
      cJSON *g = cJSON_Parse(out);
      const cJSON *arr = cJSON_GetObjectItemCaseSensitive(g, "genres");
      for (const cJSON *e = arr ? arr->child : NULL; e; e = e->next)
        if (cJSON_IsString(e))
          printf("%s\n", e->valuestring);
      cJSON_Delete(g);
    }
  } else {
    if ((rc = stream_catalog_search(&out, cat, a->pos[1], STREAM_STORE_PAGE_MAX, NULL))) {
      ret = lib_error(a, "cannot search", rc);
    } else if (cli_has(a, "json")) {
      printf("%s\n", out);
    } else {
      cJSON *r = cJSON_Parse(out);
      const cJSON *items = cJSON_GetObjectItemCaseSensitive(r, "items");
      for (const cJSON *e = items ? items->child : NULL; e; e = e->next)
        print_title_line(e);
      cJSON_Delete(r);
    }
  }
  stream_free(out);
  stream_catalog_free(cat);
  stream_store_close(st);
  return ret;
}

#else

#define run_catalog not_built_server

#endif

const cli_verb verb_catalog = {
    "catalog",
    "Import, list, show, delete or search catalog titles of a data directory.",
    "catalog import FILE|- | list [--genre NAME] | get ID | delete ID | genres | search TEXT "
    "(--data-dir DIR | --db PATH) [--json]",
    "Opens the store DIR/streamd.db directly (safe while streamd runs: SQLite WAL), or\n"
    "--db: an existing store file, or the postgresql:// URI of a streamd with store_url.\n"
    "import FILE reads a document {\"titles\": [...]} (see docs/api/catalog.md and\n"
    "examples/data/demo-catalog.json). The whole document is validated first; if any\n"
    "title is invalid nothing is written and every error is listed. Titles with an\n"
    "\"id\" are updated in place, so importing the same file again changes nothing.\n"
    "list prints the titles available now (id, kind, rating, name; --json for JSON);\n"
    "titles outside their availability window are shown by 'get ID' only.\n",
    catalog_opts,
    1,
    2,
    run_catalog};
