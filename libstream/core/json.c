/*
 * core/json: the one place that turns a JSON text into a cJSON tree as a
 * whole document. cJSON_ParseWithLength* stops after the first value and
 * ignores what follows, so `{"events":[...]} junk` or `{}{}` would pass as
 * the first value alone; every module that takes JSON from outside goes
 * through stream__json_parse_whole() instead, and adds its own checks
 * (UTF-8, "\u0000" escapes, shapes) and its own error code and message.
 */
#include <stdbool.h>
#include <string.h>

#include "json.h"

/* RFC 8259 section 2: the only insignificant whitespace. */
static bool is_json_ws(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static cJSON *refuse(size_t *err_off, enum stream__json_fail *fail, size_t off,
                     enum stream__json_fail why)
{
  *err_off = off;
  *fail = why;
  return NULL;
}

cJSON *stream__json_parse_whole(const char *text, size_t len, size_t *err_off,
                                enum stream__json_fail *fail)
{
  size_t off_unused;
  enum stream__json_fail fail_unused;
  if (!err_off)
    err_off = &off_unused;
  if (!fail)
    fail = &fail_unused;
  *err_off = 0;
  *fail = STREAM__JSON_OK;
  if (!text || len == 0)
    return refuse(err_off, fail, 0, STREAM__JSON_SYNTAX);
  /* cJSON would take a NUL as whitespace before a value and keep one raw in a
   * string (cutting it for every C reader of the tree). */
  const char *nul = memchr(text, '\0', len);
  if (nul)
    return refuse(err_off, fail, (size_t)(nul - text), STREAM__JSON_NUL);
  /* cJSON skips every byte <= 0x20 before the value; JSON allows four. */
  size_t i = len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
  while (i < len && is_json_ws(text[i]))
    i++;
  if (i < len && (unsigned char)text[i] < 0x20)
    return refuse(err_off, fail, i, STREAM__JSON_SYNTAX);
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
  if (!root) {
    /* On failure cJSON points the end at the error. */
    size_t at = end && end >= text && end <= text + len ? (size_t)(end - text) : 0;
    return refuse(err_off, fail, at, STREAM__JSON_SYNTAX);
  }
  size_t off = (size_t)(end - text);
  while (off < len && is_json_ws(text[off]))
    off++;
  if (off != len) {
    cJSON_Delete(root);
    return refuse(err_off, fail, off, STREAM__JSON_TRAILING);
  }
  return root;
}
