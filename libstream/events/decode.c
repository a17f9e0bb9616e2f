/*
 * events: decoding of an event batch. gzip is inflated under a hard cap (a
 * small compressed body may not expand into a large allocation); protobuf
 * (events.proto's Batch) and JSON (the same field names, docs/api/events.md)
 * are turned into stream_event rows, and every row is validated here, so the
 * ingest either has a whole valid batch or an error naming the first bad
 * event and field.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <zlib.h>

#include "../core/core.h"
#include "../core/json.h"
#include "events_internal.h"
#include "proto/proto.h"

/* ---- gzip ---------------------------------------------------------------- */

int events__gunzip(unsigned char **out, size_t *out_len, const void *in, size_t len, size_t cap)
{
  *out = NULL;
  *out_len = 0;
  if (len > UINT_MAX)
    return stream__err(STREAM_ERANGE, "gzip body of %zu bytes is too large", len);
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
    return stream__err(STREAM_ENOMEM, "gzip: cannot initialise zlib");
  size_t bufcap = len * 4 + 1024;
  if (bufcap > cap + 1)
    bufcap = cap + 1;
  unsigned char *buf = malloc(bufcap);
  if (!buf) {
    inflateEnd(&z);
    return stream__err(STREAM_ENOMEM, "gzip: out of memory");
  }
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)len;
  size_t n = 0;
  int rc = STREAM_OK;
  for (;;) {
    if (n == bufcap) {
      if (bufcap > cap) {
        rc = stream__err(STREAM_ERANGE, "gzip body inflates to more than %zu bytes", cap);
        break;
      }
      size_t ncap = bufcap * 2 > cap + 1 ? cap + 1 : bufcap * 2;
      unsigned char *grown = realloc(buf, ncap);
      if (!grown) {
        rc = stream__err(STREAM_ENOMEM, "gzip: out of memory");
        break;
      }
      buf = grown;
      bufcap = ncap;
    }
    z.next_out = buf + n;
    z.avail_out = (uInt)(bufcap - n);
    int zr = inflate(&z, Z_NO_FLUSH);
    n = bufcap - z.avail_out;
    if (zr == Z_STREAM_END) {
      if (n > cap)
        rc = stream__err(STREAM_ERANGE, "gzip body inflates to more than %zu bytes", cap);
      else if (z.avail_in != 0)
        rc = stream__err(STREAM_EPROTO, "gzip body has %u bytes after its end", z.avail_in);
      break;
    }
    if (zr == Z_OK)
      continue;
    if (zr == Z_BUF_ERROR && z.avail_in == 0) {
      rc = stream__err(STREAM_EPROTO, "gzip body is truncated (%zu bytes in)", len);
      break;
    }
    if (zr == Z_BUF_ERROR && z.avail_out == 0)
      continue;
    rc = stream__err(zr == Z_MEM_ERROR ? STREAM_ENOMEM : STREAM_EPROTO, "gzip body is corrupt: %s",
                     z.msg ? z.msg : "inflate failed");
    break;
  }
  inflateEnd(&z);
  if (rc != STREAM_OK) {
    free(buf);
    return rc;
  }
  *out = buf;
  *out_len = n;
  return STREAM_OK;
}

/* ---- fields ---------------------------------------------------------------- */

enum { F_ID = PROTO_F_ID, F_TEXT = PROTO_F_TEXT };

static int bad(size_t idx, const char *field, const char *why)
{
  return stream__err(STREAM_EPROTO, "event %zu: field '%s' %s", idx, field, why);
}

/* Copy `src` (NULL = absent) into dst[cap]: an id is 0..64 characters of
 * [A-Za-z0-9._:-], a text field valid UTF-8 of at most cap - 1 bytes. */
static int put_str(char *dst, size_t cap, const char *src, int kind, size_t idx, const char *field)
{
  dst[0] = '\0';
  if (!src)
    return STREAM_OK;
  size_t n = strlen(src);
  if (n >= cap)
    return stream__err(STREAM_EPROTO, "event %zu: field '%s' is longer than %zu bytes", idx, field,
                       cap - 1);
  int rc = proto__check_str(src, n, kind, idx, field);
  if (rc != STREAM_OK)
    return rc;
  memcpy(dst, src, n + 1);
  return STREAM_OK;
}

/* ---- protobuf ---------------------------------------------------------------- */

static int from_proto(stream_event *e, const Libstream__Events__V1__Event *m, size_t idx)
{
  int rc = proto__event_pb_check(m, idx, PROTO_FROM_PLAYER);
  if (rc != STREAM_OK)
    return rc;
  proto__event_from_pb(e, m);
  return proto__event_validate(e, idx, m->error != NULL);
}

int events__decode_protobuf(stream_event **out, size_t *out_n, const void *body, size_t len,
                            size_t max_events)
{
  *out = NULL;
  *out_n = 0;
  proto__alloc alloc; /* a lack of memory is no malformed body: ENOMEM (503, retried), not 400 */
  proto__alloc_init(&alloc);
  Libstream__Events__V1__Batch *b =
      libstream__events__v1__batch__unpack(&alloc.pc, len, (const uint8_t *)body);
  if (!b && alloc.failed)
    return stream__err(STREAM_ENOMEM, "out of memory decoding a protobuf Batch of %zu bytes", len);
  if (!b)
    return stream__err(STREAM_EPROTO, "body is not a protobuf Batch (%zu bytes)", len);
  int rc = STREAM_OK;
  stream_event *rows = NULL;
  if (b->n_events == 0)
    rc = stream__err(STREAM_EPROTO, "batch has no events");
  else if (b->n_events > max_events)
    rc = stream__err(STREAM_ERANGE, "batch has %zu events, at most %zu are accepted", b->n_events,
                     max_events);
  else if (!(rows = malloc(b->n_events * sizeof *rows)))
    rc = stream__err(STREAM_ENOMEM, "decode batch: out of memory");
  for (size_t i = 0; rc == STREAM_OK && i < b->n_events; i++)
    rc = from_proto(&rows[i], b->events[i], i);
  size_t n = b->n_events;
  libstream__events__v1__batch__free_unpacked(b, &alloc.pc);
  if (rc != STREAM_OK) {
    free(rows);
    return rc;
  }
  *out = rows;
  *out_n = n;
  return STREAM_OK;
}

/* ---- JSON ------------------------------------------------------------------- */

/* The member `camel` (or its proto field name `snake`), NULL when absent or null. */
static const cJSON *member(const cJSON *obj, const char *camel, const char *snake)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, camel);
  if (!v && snake)
    v = cJSON_GetObjectItemCaseSensitive(obj, snake);
  return cJSON_IsNull(v) ? NULL : v;
}

static int json_str(char *dst, size_t cap, const cJSON *obj, const char *camel, const char *snake,
                    int kind, size_t idx)
{
  const cJSON *v = member(obj, camel, snake);
  if (!v) {
    dst[0] = '\0';
    return STREAM_OK;
  }
  if (!cJSON_IsString(v))
    return bad(idx, camel, "is not a string");
  return put_str(dst, cap, v->valuestring, kind, idx, camel);
}

/* An integer: a JSON number without fraction, or (proto3 JSON for 64-bit) a decimal string. */
static int json_int(int64_t *dst, const cJSON *obj, const char *camel, const char *snake,
                    size_t idx)
{
  const cJSON *v = member(obj, camel, snake);
  *dst = 0;
  if (!v)
    return STREAM_OK;
  if (cJSON_IsNumber(v)) {
    double d = v->valuedouble;
    if (d != d || d < -9.0e15 || d > 9.0e15 || d != (double)(int64_t)d)
      return bad(idx, camel, "is not an integer");
    *dst = (int64_t)d;
    return STREAM_OK;
  }
  if (cJSON_IsString(v)) {
    const char *s = v->valuestring;
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (!*s || *end || errno || !(isdigit((unsigned char)*s) || *s == '-'))
      return bad(idx, camel, "is not an integer");
    *dst = x;
    return STREAM_OK;
  }
  return bad(idx, camel, "is not an integer");
}

static int json_bool(int *dst, const cJSON *obj, const char *name, size_t idx)
{
  const cJSON *v = member(obj, name, NULL);
  *dst = 0;
  if (!v)
    return STREAM_OK;
  if (!cJSON_IsBool(v))
    return bad(idx, name, "is not a boolean");
  *dst = cJSON_IsTrue(v) ? 1 : 0;
  return STREAM_OK;
}

static int json_type(int *dst, const cJSON *obj, size_t idx)
{
  const cJSON *v = member(obj, "type", NULL);
  *dst = 0;
  if (!v)
    return bad(idx, "type", "is missing");
  if (cJSON_IsNumber(v)) {
    double d = v->valuedouble;
    *dst = (d >= 0 && d <= 1000 && d == (double)(int)d) ? (int)d : -1;
    return STREAM_OK;
  }
  if (!cJSON_IsString(v))
    return bad(idx, "type", "is not a string or number");
  const char *s = v->valuestring;
  if (strncmp(s, "EVENT_TYPE_", 11) == 0) {
    char lower[32];
    size_t n = strlen(s + 11);
    if (n >= sizeof lower)
      return bad(idx, "type", "is not a known event type");
    for (size_t i = 0; i <= n; i++)
      lower[i] = (char)tolower((unsigned char)s[11 + i]);
    s = lower;
    for (int t = STREAM_EVENT_VIEWINIT; t <= STREAM_EVENT_HEARTBEAT; t++)
      if (strcmp(s, stream_event_type_name(t)) == 0) {
        *dst = t;
        return STREAM_OK;
      }
    return bad(idx, "type", "is not a known event type");
  }
  for (int t = STREAM_EVENT_VIEWINIT; t <= STREAM_EVENT_HEARTBEAT; t++)
    if (strcmp(s, stream_event_type_name(t)) == 0) {
      *dst = t;
      return STREAM_OK;
    }
  return bad(idx, "type", "is not a known event type");
}

static int from_json(stream_event *e, const cJSON *o, size_t idx)
{
  memset(e, 0, sizeof *e);
  if (!cJSON_IsObject(o))
    return stream__err(STREAM_EPROTO, "event %zu is not a JSON object", idx);
  int rc = json_str(e->id, sizeof e->id, o, "id", NULL, F_ID, idx);
  if (rc == STREAM_OK)
    rc = json_str(e->view_id, sizeof e->view_id, o, "viewId", "view_id", F_ID, idx);
  if (rc == STREAM_OK)
    rc = json_str(e->session_id, sizeof e->session_id, o, "sessionId", "session_id", F_ID, idx);
  if (rc == STREAM_OK)
    rc = json_str(e->profile_id, sizeof e->profile_id, o, "profileId", "profile_id", F_ID, idx);
  if (rc == STREAM_OK)
    rc = json_str(e->title_id, sizeof e->title_id, o, "titleId", "title_id", F_ID, idx);
  if (rc == STREAM_OK)
    rc = json_str(e->episode_id, sizeof e->episode_id, o, "episodeId", "episode_id", F_ID, idx);
  if (rc == STREAM_OK)
    rc = json_str(e->device_id, sizeof e->device_id, o, "deviceId", "device_id", F_ID, idx);
  if (rc == STREAM_OK)
    rc = json_str(e->sid, sizeof e->sid, o, "sid", NULL, F_TEXT, idx);
  if (rc == STREAM_OK)
    rc = json_str(e->cid, sizeof e->cid, o, "cid", NULL, F_TEXT, idx);
  if (rc == STREAM_OK)
    rc = json_str(e->ot, sizeof e->ot, o, "ot", NULL, F_ID, idx);
  if (rc == STREAM_OK)
    rc = json_type(&e->type, o, idx);
  if (rc == STREAM_OK)
    rc = json_int(&e->client_ts, o, "clientTs", "client_ts", idx);
  if (rc == STREAM_OK)
    rc = json_int(&e->playhead_ms, o, "playheadMs", "playhead_ms", idx);
  if (rc == STREAM_OK)
    rc = json_int(&e->br, o, "br", NULL, idx);
  if (rc == STREAM_OK)
    rc = json_int(&e->width, o, "width", NULL, idx);
  if (rc == STREAM_OK)
    rc = json_int(&e->height, o, "height", NULL, idx);
  if (rc == STREAM_OK)
    rc = json_int(&e->bl, o, "bl", NULL, idx);
  if (rc == STREAM_OK)
    rc = json_int(&e->mtp, o, "mtp", NULL, idx);
  if (rc == STREAM_OK)
    rc = json_bool(&e->su, o, "su", idx);
  const cJSON *err = member(o, "error", NULL);
  if (rc == STREAM_OK && err) {
    if (!cJSON_IsObject(err))
      return bad(idx, "error", "is not an object");
    int64_t code = 0;
    rc = json_int(&code, err, "code", NULL, idx);
    if (rc == STREAM_OK && (code < INT32_MIN || code > INT32_MAX))
      rc = bad(idx, "error.code", "is outside the 32-bit range");
    e->error_code = (int)code;
    if (rc == STREAM_OK)
      rc = json_str(e->error_message, sizeof e->error_message, err, "message", NULL, F_TEXT, idx);
    if (rc == STREAM_OK)
      rc = json_bool(&e->error_fatal, err, "fatal", idx);
  }
  if (rc != STREAM_OK)
    return rc;
  return proto__event_validate(e, idx, err != NULL);
}

int events__decode_json(stream_event **out, size_t *out_n, const void *body, size_t len,
                        size_t max_events)
{
  *out = NULL;
  *out_n = 0;
  size_t off = 0;
  enum stream__json_fail fail;
  cJSON *root = stream__json_parse_whole((const char *)body, len, &off, &fail);
  if (!root) {
    if (fail == STREAM__JSON_TRAILING)
      return stream__err(STREAM_EPROTO,
                         "body is not one JSON value: unexpected bytes after it at offset %zu",
                         off);
    if (fail == STREAM__JSON_NUL)
      return stream__err(STREAM_EPROTO, "body is not valid JSON (NUL byte at offset %zu)", off);
    return stream__err(STREAM_EPROTO, "body is not valid JSON (error near offset %zu)", off);
  }
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "events");
  int rc = STREAM_OK;
  stream_event *rows = NULL;
  size_t n = 0;
  if (!cJSON_IsObject(root) || !cJSON_IsArray(arr))
    rc = stream__err(STREAM_EPROTO, "body is not a JSON object with an \"events\" array");
  else if ((n = (size_t)cJSON_GetArraySize(arr)) == 0)
    rc = stream__err(STREAM_EPROTO, "batch has no events");
  else if (n > max_events)
    rc =
        stream__err(STREAM_ERANGE, "batch has %zu events, at most %zu are accepted", n, max_events);
  else if (!(rows = malloc(n * sizeof *rows)))
    rc = stream__err(STREAM_ENOMEM, "decode batch: out of memory");
  size_t i = 0;
  const cJSON *it;
  if (rc == STREAM_OK) {
    cJSON_ArrayForEach(it, arr)
    {
      rc = from_json(&rows[i], it, i);
      if (rc != STREAM_OK)
        break;
      i++;
    }
  }
  cJSON_Delete(root);
  if (rc != STREAM_OK) {
    free(rows);
    return rc;
  }
  *out = rows;
  *out_n = n;
  return STREAM_OK;
}
