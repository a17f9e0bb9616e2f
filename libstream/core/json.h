/*
 * Internal (core/json.c): one JSON text parsed as a whole document. Kept out
 * of core.h so that only the modules that parse JSON see cJSON.
 */
#ifndef STREAM_CORE_JSON_H
#define STREAM_CORE_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Why stream__json_parse_whole() refused a text. */
enum stream__json_fail {
  STREAM__JSON_OK = 0,
  STREAM__JSON_SYNTAX = 1,   /* not JSON at *err_off (cJSON's error position; also empty text,
                                only whitespace, a control byte before the value, out of memory) */
  STREAM__JSON_TRAILING = 2, /* one value, then a byte other than JSON whitespace at *err_off */
  STREAM__JSON_NUL = 3       /* a NUL byte at *err_off (never valid in JSON text) */
};

/*
 * Parse the `len` bytes at `text` (no NUL terminator needed) as exactly one
 * JSON value with optional JSON whitespace (RFC 8259: space, tab, LF, CR)
 * before and after it. cJSON stops after the first value and ignores the
 * rest; this refuses `{} x`, `{}{}` and `{}\0`. A NUL byte anywhere in the
 * `len` bytes is refused (raw, it is neither whitespace nor allowed inside a
 * string, and cJSON would cut the string at it). A UTF-8 byte order mark at
 * the start is skipped (cJSON does; RFC 8259 section 8.1 allows it).
 *
 * Not checked here (callers that care do): UTF-8 validity, "\u0000" escapes,
 * raw control bytes inside strings and between tokens, duplicate members.
 *
 * Returns the tree (the caller frees it with cJSON_Delete) and sets *fail to
 * STREAM__JSON_OK; or NULL with *fail the reason and *err_off the offset in
 * `text` where it is not one JSON value. `fail` and `err_off` may be NULL.
 * Sets no thread error: each caller words its own message and code.
 * Thread-safety: that of cJSON's parser (no state of its own).
 */
cJSON *stream__json_parse_whole(const char *text, size_t len, size_t *err_off,
                                enum stream__json_fail *fail);

#endif
