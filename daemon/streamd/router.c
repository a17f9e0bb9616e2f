/*
 * Route matching. Patterns and paths are compared segment by segment; a
 * "{name}" segment captures one non-empty path segment. Tables are small
 * (tens of routes), so a linear scan is simpler than a trie and fast enough.
 */
#include "router.h"

#include <stdio.h>
#include <string.h>

/* Match one pattern against a path; captures into m when m != NULL. */
static int match_pattern(const char *pattern, const char *path, streamd_match *m)
{
  const char *p = pattern, *s = path;
  size_t np = 0;
  char *out = m ? m->buf : NULL;
  while (*p && *s) {
    if (*p != '/' || *s != '/')
      return 0;
    p++, s++;
    const char *pe = strchr(p, '/'), *se = strchr(s, '/');
    size_t pl = pe ? (size_t)(pe - p) : strlen(p);
    size_t sl = se ? (size_t)(se - s) : strlen(s);
    if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
      if (sl == 0 || np >= STREAMD_MAX_PARAMS)
        return 0;
      if (m) {
        size_t nl = pl - 2 < sizeof(m->names[0]) - 1 ? pl - 2 : sizeof(m->names[0]) - 1;
        memcpy(m->names[np], p + 1, nl);
        m->names[np][nl] = '\0';
        memcpy(out, s, sl);
        out[sl] = '\0';
        m->values[np] = out;
        out += sl + 1;
      }
      np++;
    } else if (pl != sl || memcmp(p, s, pl) != 0) {
      return 0;
    }
    p += pl, s += sl;
  }
  if (*p || *s)
    return 0;
  if (m)
    m->n_params = np;
  return 1;
}

static int method_matches(const char *route_method, const char *method)
{
  if (strcmp(route_method, method) == 0)
    return 1;
  return strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0;
}

void streamd_router_allow(const streamd_route *table, size_t n, const char *path, char *allow,
                          size_t allow_len)
{
  size_t used = 0;
  if (allow_len)
    allow[0] = '\0';
  for (size_t i = 0; i < n; i++) {
    if (!match_pattern(table[i].pattern, path, NULL))
      continue;
    const char *ms[2] = {table[i].method, strcmp(table[i].method, "GET") == 0 ? "HEAD" : NULL};
    for (int k = 0; k < 2 && ms[k]; k++) {
      /* skip duplicates */
      const char *hit = strstr(allow, ms[k]);
      size_t ml = strlen(ms[k]);
      if (hit && (hit[ml] == '\0' || hit[ml] == ',') && (hit == allow || hit[-1] == ' '))
        continue;
      int w = snprintf(allow + used, allow_len - used, "%s%s", used ? ", " : "", ms[k]);
      if (w < 0 || (size_t)w >= allow_len - used)
        return;
      used += (size_t)w;
    }
  }
}

int streamd_router_match(streamd_match *m, const streamd_route *table, size_t n, const char *method,
                         const char *path, char *allow, size_t allow_len)
{
  memset(m, 0, sizeof(m->names) + sizeof(m->values));
  m->route = NULL;
  m->n_params = 0;
  if (strlen(path) > STREAMD_MAX_PATH || path[0] != '/')
    return STREAMD_MATCH_NO_PATH;
  int path_seen = 0;
  for (size_t i = 0; i < n; i++) {
    if (!match_pattern(table[i].pattern, path, NULL))
      continue;
    path_seen = 1;
    if (method_matches(table[i].method, method)) {
      match_pattern(table[i].pattern, path, m);
      m->route = &table[i];
      return STREAMD_MATCH_OK;
    }
  }
  if (!path_seen)
    return STREAMD_MATCH_NO_PATH;
  streamd_router_allow(table, n, path, allow, allow_len);
  return STREAMD_MATCH_NO_METHOD;
}
