/*
 * JSON log lines. Application messages go to stderr; access lines go to the
 * configured access log (stderr by default). One line per event, written
 * under a mutex so lines from worker threads never interleave.
 */
#ifndef STREAMD_LOG_H
#define STREAMD_LOG_H

#include <stddef.h>

#include <cjson/cJSON.h>

/* Open the access log ("-" or "" = stderr) and set the minimum level. 0 or -1. */
int streamd_log_open(const char *access_path, int min_level);
void streamd_log_close(void);

/* Write {"time","level","msg",...fields} to stderr. Takes ownership of `fields` (may be NULL). */
void streamd_log_event(int level, const char *msg, cJSON *fields);

/* Printf-style convenience for streamd_log_event without fields. */
void streamd_logf(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Write one access line (fields: request_id, method, route, ...). Takes ownership of `fields`. */
void streamd_log_access(cJSON *fields);

/* The request path as the access log shows it, into dst (n bytes, always
 * terminated): a path segment that carries a signature (one holding
 * "Signature=", or a "stream-token=" / "edge-cache-token=" component) is
 * logged as "<name>=redacted", so signed playback URLs, which are bearer
 * credentials until they expire, never reach a log file; then sanitized
 * (streamd_utf8_sanitize). */
void streamd_log_path(char *dst, size_t n, const char *path);

/* Forward libstream's own log messages into the JSON log. */
void streamd_log_library(int level, const char *module, const char *message, void *userdata);

#endif
