/*
 * Strict JSON for request bodies. cJSON is lenient about bytes inside
 * strings and has a large nesting limit, so this file checks UTF-8, depth and
 * duplicate keys itself before and after handing the text to cJSON.
 */
#include "json.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "problem.h"
#include "stream/common.h"

/* Length of the UTF-8 sequence at s (bounded by len), or 0 when malformed. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
  unsigned char c = s[0];
  if (c < 0x80)
    return 1;
  size_t n;
  unsigned int cp;
  if (c >= 0xC2 && c <= 0xDF)
    n = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF)
    n = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4)
    n = 4, cp = c & 0x07;
  else
    return 0;
  if (len < n)
    return 0;
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

int streamd_utf8_valid(const char *s, size_t len, size_t *bad_offset)
{
  const unsigned char *u = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    size_t n = utf8_seq(u + i, len - i);
    if (!n) {
      if (bad_offset)
        *bad_offset = i;
      return 0;
    }
    i += n;
  }
  return 1;
}

void streamd_utf8_sanitize(char *dst, size_t n, const char *src)
{
  if (!n)
    return;
  size_t j = 0, len = src ? strlen(src) : 0;
  const unsigned char *u = (const unsigned char *)src;
  for (size_t i = 0; i < len && j + 1 < n;) {
    size_t k = utf8_seq(u + i, len - i);
    if (!k || u[i] < 0x20 || u[i] == 0x7F) {
      dst[j++] = '?';
      i += k ? k : 1;
      continue;
    }
    if (j + k >= n)
      break;
    memcpy(dst + j, u + i, k);
    j += k;
    i += k;
  }
  dst[j] = '\0';
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Find a duplicate key anywhere in the tree; returns it or NULL. */
static const char *find_duplicate(const cJSON *node)
{
  if (cJSON_IsObject(node)) {
    size_t n = (size_t)cJSON_GetArraySize(node);
    if (n > 1) {
      const char **names = malloc(n * sizeof(*names));
      if (!names)
        return "";
      size_t i = 0;
      for (const cJSON *c = node->child; c; c = c->next)
        names[i++] = c->string ? c->string : "";
      qsort(names, n, sizeof(*names), cmp_str);
      const char *dup = NULL;
      for (i = 1; i < n && !dup; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
          dup = names[i];
      free(names);
      if (dup)
        return dup;
    }
  }
  if (cJSON_IsObject(node) || cJSON_IsArray(node))
    for (const cJSON *c = node->child; c; c = c->next) {
      const char *d = find_duplicate(c);
      if (d)
        return d;
    }
  return NULL;
}

static int has_nonfinite(const cJSON *node)
{
  if (cJSON_IsNumber(node))
    return !isfinite(node->valuedouble);
  for (const cJSON *c = node->child; c; c = c->next)
    if (has_nonfinite(c))
      return 1;
  return 0;
}

int streamd_json_parse_object(cJSON **out, const char *body, size_t len, char *detail, size_t dlen)
{
  *out = NULL;
  if (!body || len == 0) {
    snprintf(detail, dlen, "the request body must be a JSON object; it is empty");
    return STREAMD_P_BAD_JSON;
  }
  if (memchr(body, '\0', len)) {
    snprintf(detail, dlen, "the request body contains a NUL byte");
    return STREAMD_P_BAD_JSON;
  }
  size_t bad = 0;
  if (!streamd_utf8_valid(body, len, &bad)) {
    snprintf(detail, dlen, "the request body is not valid UTF-8 (byte offset %zu)", bad);
    return STREAMD_P_BAD_JSON;
  }
  /*
   * Lexical pre-scan: nesting depth (so cJSON never recurses deeper than we
   * allow) and the strictness cJSON lacks: raw control characters inside
   * strings, "\u0000" (which would silently cut a string short) and numbers
   * with leading zeros.
   */
  int depth = 0, in_str = 0;
  size_t first = len;
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)body[i];
    if (in_str) {
      if (c < 0x20) {
        snprintf(detail, dlen, "control character in a JSON string at byte offset %zu", i);
        return STREAMD_P_BAD_JSON;
      }
      if (c == '\\') {
        if (i + 5 < len && body[i + 1] == 'u' && memcmp(body + i + 2, "0000", 4) == 0) {
          snprintf(detail, dlen, "\\u0000 in a JSON string at byte offset %zu", i);
          return STREAMD_P_BAD_JSON;
        }
        i++;
      } else if (c == '"') {
        in_str = 0;
      }
      continue;
    }
    if (first == len && c != ' ' && c != '\t' && c != '\r' && c != '\n')
      first = i;
    if (c == '"') {
      in_str = 1;
    } else if (c == '{' || c == '[') {
      if (++depth > STREAMD_JSON_MAX_DEPTH) {
        snprintf(detail, dlen, "JSON nesting deeper than %d levels", STREAMD_JSON_MAX_DEPTH);
        return STREAMD_P_BAD_JSON;
      }
    } else if (c == '}' || c == ']') {
      depth--;
    } else if (c == '0' && i + 1 < len && isdigit((unsigned char)body[i + 1])) {
      char p = i ? body[i - 1] : ' ';
      int in_number = isdigit((unsigned char)p) || p == '.' || p == 'e' || p == 'E' || p == '+' ||
                      (p == '-' && i >= 2 && (body[i - 2] == 'e' || body[i - 2] == 'E'));
      if (!in_number) {
        snprintf(detail, dlen, "number with a leading zero at byte offset %zu", i);
        return STREAMD_P_BAD_JSON;
      }
    }
  }
  if (first == len || body[first] != '{') {
    snprintf(detail, dlen, "the request body must be a JSON object");
    return STREAMD_P_BAD_JSON;
  }
  /* cJSON wants NUL-terminated text; the body buffer from http.c is, but copy to be safe. */
  char *text = malloc(len + 1);
  if (!text)
    return STREAM_ENOMEM;
  memcpy(text, body, len);
  text[len] = '\0';
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
  if (!root) {
    size_t off = end && end >= text ? (size_t)(end - text) : 0;
    free(text);
    snprintf(detail, dlen, "malformed JSON near byte offset %zu", off);
    return STREAMD_P_BAD_JSON;
  }
  free(text);
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    snprintf(detail, dlen, "the request body must be a JSON object");
    return STREAMD_P_BAD_JSON;
  }
  if (has_nonfinite(root)) {
    cJSON_Delete(root);
    snprintf(detail, dlen, "a number in the JSON body is out of range");
    return STREAMD_P_BAD_JSON;
  }
  const char *dup = find_duplicate(root);
  if (dup) {
    char safe[80];
    streamd_utf8_sanitize(safe, sizeof(safe), dup);
    snprintf(detail, dlen, "duplicate key '%s' in JSON object", safe);
    cJSON_Delete(root);
    return STREAMD_P_BAD_JSON;
  }
  *out = root;
  return 0;
}

static const cJSON *get_field(const cJSON *obj, const char *field, int required, int *rc,
                              char *detail, size_t dlen)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (!v || cJSON_IsNull(v)) {
    if (required) {
      snprintf(detail, dlen, "field '%s' is required", field);
      *rc = STREAM_EINVAL;
    } else {
      *rc = STREAM_ENOTFOUND;
    }
    return NULL;
  }
  *rc = 0;
  return v;
}

int streamd_json_get_string(const char **out, const cJSON *obj, const char *field, int required,
                            size_t max_len, char *detail, size_t dlen)
{
  int rc;
  const cJSON *v = get_field(obj, field, required, &rc, detail, dlen);
  if (!v)
    return rc;
  if (!cJSON_IsString(v) || !v->valuestring) {
    snprintf(detail, dlen, "field '%s' must be a string", field);
    return STREAM_EINVAL;
  }
  if (max_len && strlen(v->valuestring) > max_len) {
    snprintf(detail, dlen, "field '%s' must be at most %zu bytes long", field, max_len);
    return STREAM_EINVAL;
  }
  *out = v->valuestring;
  return 0;
}

int streamd_json_get_int(long long *out, const cJSON *obj, const char *field, int required,
                         long long min, long long max, char *detail, size_t dlen)
{
  int rc;
  const cJSON *v = get_field(obj, field, required, &rc, detail, dlen);
  if (!v)
    return rc;
  double d = v->valuedouble;
  if (!cJSON_IsNumber(v) || !isfinite(d) || d != floor(d) || fabs(d) > 9007199254740991.0) {
    snprintf(detail, dlen, "field '%s' must be an integer", field);
    return STREAM_EINVAL;
  }
  if ((long long)d < min || (long long)d > max) {
    snprintf(detail, dlen, "field '%s' must be between %lld and %lld", field, min, max);
    return STREAM_EINVAL;
  }
  *out = (long long)d;
  return 0;
}

int streamd_json_get_bool(int *out, const cJSON *obj, const char *field, int required, char *detail,
                          size_t dlen)
{
  int rc;
  const cJSON *v = get_field(obj, field, required, &rc, detail, dlen);
  if (!v)
    return rc;
  if (!cJSON_IsBool(v)) {
    snprintf(detail, dlen, "field '%s' must be a boolean", field);
    return STREAM_EINVAL;
  }
  *out = cJSON_IsTrue(v) ? 1 : 0;
  return 0;
}

int streamd_json_only_fields(const cJSON *obj, const char *const *allowed, char *detail,
                             size_t dlen)
{
  for (const cJSON *it = obj->child; it; it = it->next) {
    int known = 0;
    for (size_t i = 0; allowed[i] && !known; i++)
      known = strcmp(it->string, allowed[i]) == 0;
    if (!known) {
      char safe[64];
      streamd_utf8_sanitize(safe, sizeof(safe), it->string);
      snprintf(detail, dlen, "unknown field '%s'", safe);
      return STREAM_EINVAL;
    }
  }
  return 0;
}
