/*
 * JSON logging. Callers pass only fields that are safe to log: the access
 * log gets method, route, path (without query string, signed path segments
 * redacted: streamd_log_path), status, sizes and timing; never Authorization
 * headers, tokens or bodies.
 */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "stream/common.h"

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static FILE *access_fp;
static int access_owned;
static int min_level = STREAM_LOG_INFO;

int streamd_log_open(const char *access_path, int level)
{
  min_level = level;
  if (!access_path || !*access_path || strcmp(access_path, "-") == 0) {
    access_fp = stderr;
    access_owned = 0;
    return 0;
  }
  FILE *f = fopen(access_path, "ae");
  if (!f) {
    streamd_logf(STREAM_LOG_ERROR, "cannot open access log %s: %s", access_path, strerror(errno));
    return -1;
  }
  access_fp = f;
  access_owned = 1;
  return 0;
}

void streamd_log_close(void)
{
  pthread_mutex_lock(&log_mu);
  if (access_owned && access_fp)
    fclose(access_fp);
  access_fp = NULL;
  access_owned = 0;
  pthread_mutex_unlock(&log_mu);
}

static const char *level_name(int level)
{
  if (level >= STREAM_LOG_ERROR)
    return "error";
  if (level >= STREAM_LOG_WARN)
    return "warn";
  if (level >= STREAM_LOG_INFO)
    return "info";
  return "debug";
}

static void now_rfc3339(char *buf, size_t n)
{
  /* The date part changes once a second: format it once per second per thread. */
  static _Thread_local time_t last_sec = (time_t)-1;
  static _Thread_local char base[32];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  if (ts.tv_sec != last_sec) {
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    last_sec = ts.tv_sec;
  }
  snprintf(buf, n, "%s.%03ldZ", base, ts.tv_nsec / 1000000L);
}

static void put_line(FILE *out, const char *line, size_t len)
{
  pthread_mutex_lock(&log_mu);
  if (!out)
    out = access_fp ? access_fp : stderr;
  fwrite(line, 1, len, out);
  fflush(out);
  pthread_mutex_unlock(&log_mu);
}

static void write_line(int to_access, int level, const char *msg, cJSON *fields)
{
  cJSON *o = cJSON_CreateObject();
  char t[48];
  now_rfc3339(t, sizeof(t));
  char *line = NULL;
  if (o && cJSON_AddStringToObject(o, "time", t) &&
      cJSON_AddStringToObject(o, "level", level_name(level)) &&
      cJSON_AddStringToObject(o, "msg", msg)) {
    if (fields) {
      cJSON *c = fields->child;
      while (c) {
        cJSON *next = c->next;
        cJSON *d = cJSON_DetachItemViaPointer(fields, c);
        cJSON_AddItemToObject(o, d->string, d);
        c = next;
      }
    }
    line = cJSON_PrintUnformatted(o);
  }
  cJSON_Delete(o);
  cJSON_Delete(fields);
  if (!line)
    return;
  pthread_mutex_lock(&log_mu);
  FILE *out = to_access && access_fp ? access_fp : stderr;
  fputs(line, out);
  fputc('\n', out);
  fflush(out);
  pthread_mutex_unlock(&log_mu);
  free(line);
}

void streamd_log_event(int level, const char *msg, cJSON *fields)
{
  if (level < min_level) {
    cJSON_Delete(fields);
    return;
  }
  write_line(0, level, msg, fields);
}

void streamd_logf(int level, const char *fmt, ...)
{
  if (level < min_level)
    return;
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  write_line(0, level, buf, NULL);
}

/* The access line is written once per request: print `fields` into a
 * per-thread buffer and put the fixed head in front of it, instead of moving
 * every field into a new object and allocating the printed line. Same bytes
 * as write_line(): {"time":...,"level":"info","msg":"access",<fields>}. */
#define ACCESS_LINE_MAX 4096
void streamd_log_access(cJSON *fields)
{
  static _Thread_local char body[ACCESS_LINE_MAX];
  static _Thread_local char line[ACCESS_LINE_MAX + 128];
  /* cJSON asks for 5 bytes of slack in a preallocated buffer. */
  if (!fields || !cJSON_PrintPreallocated(fields, body, (int)sizeof(body) - 5, 0) ||
      body[0] != '{') {
    write_line(1, STREAM_LOG_INFO, "access", fields);
    return;
  }
  cJSON_Delete(fields);
  char t[48];
  now_rfc3339(t, sizeof(t));
  int n =
      snprintf(line, sizeof(line), "{\"time\":\"%s\",\"level\":\"info\",\"msg\":\"access\"%s%s\n",
               t, body[1] == '}' ? "" : ",", body[1] == '}' ? "}" : body + 1);
  if (n < 0 || (size_t)n >= sizeof(line))
    return; /* cannot happen: body fits in ACCESS_LINE_MAX */
  put_line(NULL, line, (size_t)n);
}

void streamd_log_library(int level, const char *module, const char *message, void *userdata)
{
  (void)userdata;
  cJSON *fields = cJSON_CreateObject();
  if (fields)
    cJSON_AddStringToObject(fields, "module", module ? module : "");
  streamd_log_event(level, message ? message : "", fields);
}

/* 1 when the path segment s[0..len) carries a signature. */
static int signed_segment(const char *s, size_t len)
{
  static const char *const names[] = {"stream-token=", "edge-cache-token="};
  for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    size_t nl = strlen(names[i]);
    if (len >= nl && strncmp(s, names[i], nl) == 0)
      return 1;
  }
  static const char sig[] = "Signature=";
  for (size_t i = 0; i + sizeof(sig) - 1 <= len; i++)
    if (memcmp(s + i, sig, sizeof(sig) - 1) == 0)
      return 1;
  return 0;
}

void streamd_log_path(char *dst, size_t n, const char *path)
{
  if (!n)
    return;
  char buf[2048];
  size_t j = 0;
  const char *s = path ? path : "";
  while (*s && j + 1 < sizeof(buf)) {
    const char *e = strchr(s, '/');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    const char *eq = memchr(s, '=', len);
    size_t keep = len;
    const char *tail = "";
    if (eq && signed_segment(s, len)) {
      keep = (size_t)(eq - s) + 1; /* "<name>=" */
      tail = "redacted";
    }
    int w = snprintf(buf + j, sizeof(buf) - j, "%.*s%s%s", (int)keep, s, tail, e ? "/" : "");
    if (w < 0 || (size_t)w >= sizeof(buf) - j) {
      j = sizeof(buf) - 1;
      break;
    }
    j += (size_t)w;
    s += len + (e ? 1 : 0);
  }
  buf[j < sizeof(buf) ? j : sizeof(buf) - 1] = '\0';
  streamd_utf8_sanitize(dst, n, buf);
}
