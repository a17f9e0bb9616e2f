/*
 * token/json: strict JSON objects for JOSE headers and JWT claims. cJSON is
 * lenient where tokens must not be: it keeps duplicate members (so two
 * parsers could disagree on which "alg" or "sub" counts), cuts strings at an
 * escaped NUL, and accepts raw control bytes and invalid UTF-8. Everything
 * here closes those gaps before a value is looked at.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "../core/json.h"
#include "token_internal.h"

/* Small objects are checked pairwise; larger ones are sorted. */
#define DUP_PAIRWISE_MAX 32

const char *token__printable(char *dst, size_t cap, const char *src)
{
  size_t n = strlen(src), i = 0;
  bool cut = n > cap - 1;
  size_t keep = cut ? cap - 4 : n;
  for (; i < keep; i++) {
    unsigned char c = (unsigned char)src[i];
    dst[i] = (c >= 0x20 && c < 0x7f && c != '\'') ? (char)c : '?';
  }
  if (cut) {
    memcpy(dst + i, "...", 3);
    i += 3;
  }
  dst[i] = '\0';
  return dst;
}

/* Returns the offset of the first bad byte, or len when the text is clean
 * UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF) without NUL and
 * without control bytes other than tab, LF and CR. */
size_t token__check_text(const unsigned char *s, size_t len)
{
  size_t i = 0;
  while (i < len) {
    unsigned char c = s[i];
    if (c < 0x80) {
      if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
        return i;
      i++;
      continue;
    }
    size_t n = stream__utf8_seq(s + i, len - i);
    if (n == 0)
      return i;
    i += n;
  }
  return len;
}

/* Offset of an escaped NUL ("\u0000" in any case) or len. A backslash only
 * occurs inside strings in valid JSON, so no string tracking is needed. */
static size_t find_escaped_nul(const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++) {
    if (s[i] != '\\')
      continue;
    if (i + 5 < len && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0)
      return i;
    i++; /* skip the escaped character, so "\\u0000" is not an escape */
  }
  return len;
}

static int cmp_names(const void *a, const void *b)
{
  const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
  return strcmp(x->string, y->string);
}

/* Sets *dup to a duplicated member name inside `node` (any depth) or NULL. */
static int find_duplicate(const cJSON *node, const char **dup)
{
  if (!cJSON_IsObject(node) && !cJSON_IsArray(node))
    return STREAM_OK;
  size_t n = 0;
  for (const cJSON *c = node->child; c; c = c->next) {
    int rc = find_duplicate(c, dup);
    if (rc || *dup)
      return rc;
    n++;
  }
  if (!cJSON_IsObject(node) || n < 2)
    return STREAM_OK;
  if (n <= DUP_PAIRWISE_MAX) {
    for (const cJSON *a = node->child; a; a = a->next)
      for (const cJSON *b = a->next; b; b = b->next)
        if (strcmp(a->string, b->string) == 0) {
          *dup = a->string;
          return STREAM_OK;
        }
    return STREAM_OK;
  }
  const cJSON **v = malloc(n * sizeof *v);
  if (!v)
    return stream__err(STREAM_ENOMEM, "out of memory checking JSON members");
  size_t i = 0;
  for (const cJSON *c = node->child; c; c = c->next)
    v[i++] = c;
  qsort(v, n, sizeof *v, cmp_names);
  for (i = 1; i < n; i++)
    if (strcmp(v[i - 1]->string, v[i]->string) == 0) {
      *dup = v[i]->string;
      break;
    }
  free(v);
  return STREAM_OK;
}

int token__json_object(cJSON **out, const char *text, size_t len, const char *what)
{
  *out = NULL;
  size_t bad = token__check_text((const unsigned char *)text, len);
  if (bad != len)
    return stream__err(STREAM_EINVAL,
                       "%s: invalid UTF-8 or control byte at offset %zu (of %zu bytes)", what, bad,
                       len);
  if ((bad = find_escaped_nul(text, len)) != len)
    return stream__err(STREAM_EINVAL, "%s: escaped NUL character at offset %zu", what, bad);
  size_t at = 0;
  enum stream__json_fail fail;
  cJSON *j = stream__json_parse_whole(text, len, &at, &fail);
  if (!j) {
    if (fail == STREAM__JSON_TRAILING)
      return stream__err(STREAM_EINVAL, "%s: unexpected bytes after the JSON value at offset %zu",
                         what, at);
    return stream__err(STREAM_EINVAL, "%s: not valid JSON (error near offset %zu)", what, at);
  }
  if (!cJSON_IsObject(j)) {
    cJSON_Delete(j);
    return stream__err(STREAM_EINVAL, "%s: not a JSON object", what);
  }
  const char *dup = NULL;
  int rc = find_duplicate(j, &dup);
  if (!rc && dup) {
    char name[48];
    rc = stream__err(STREAM_EINVAL, "%s: duplicate member '%s'", what,
                     token__printable(name, sizeof name, dup));
  }
  if (rc) {
    cJSON_Delete(j);
    return rc;
  }
  *out = j;
  return STREAM_OK;
}
