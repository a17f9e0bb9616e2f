/*
 * Strict JSON request bodies on top of cJSON, and typed getters whose
 * failures read as a client would want them ("field 'email' must be a string").
 */
#ifndef STREAMD_JSON_H
#define STREAMD_JSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define STREAMD_JSON_MAX_DEPTH 32

/* 1 when `s[0..len)` is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF). */
int streamd_utf8_valid(const char *s, size_t len, size_t *bad_offset);

/*
 * Copy `src` into `dst` (size `n`, always NUL-terminated), replacing bytes
 * that are not valid UTF-8 or are control characters with '?', so that
 * untrusted text can be echoed in JSON and logs.
 */
void streamd_utf8_sanitize(char *dst, size_t n, const char *src);

/*
 * Parse a request body that must be one JSON object: valid UTF-8, no NUL
 * bytes, nesting at most STREAMD_JSON_MAX_DEPTH, no duplicate keys, nothing
 * after the value. Returns 0 and *out (free with cJSON_Delete) or a
 * streamd_problem_code / stream_status with a client-readable `detail`.
 */
int streamd_json_parse_object(cJSON **out, const char *body, size_t len, char *detail, size_t dlen);

/*
 * Typed getters. Return 0 when the field is present with the right type,
 * STREAM_ENOTFOUND when it is absent and `required` is 0, or STREAM_EINVAL
 * with `detail` naming the field and the expected type.
 */
int streamd_json_get_string(const char **out, const cJSON *obj, const char *field, int required,
                            size_t max_len, char *detail, size_t dlen);
int streamd_json_get_int(long long *out, const cJSON *obj, const char *field, int required,
                         long long min, long long max, char *detail, size_t dlen);
int streamd_json_get_bool(int *out, const cJSON *obj, const char *field, int required, char *detail,
                          size_t dlen);

/*
 * Strict bodies: 0 when every member of `obj` is named in `allowed` (a NULL-terminated
 * list), else STREAM_EINVAL with `detail` "unknown field '<name>'" (the name sanitized).
 */
int streamd_json_only_fields(const cJSON *obj, const char *const *allowed, char *detail,
                             size_t dlen);

#endif
