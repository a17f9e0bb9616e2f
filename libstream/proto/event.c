/*
 * proto: what the two sides of the player-event pipeline share: event type
 * names, the validation of one event (the ingest refuses a batch with an
 * invalid event, so the emitter refuses it at emit time with the same rules),
 * and the mapping of stream_event onto the generated protobuf message.
 */
#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "../core/core.h"
#include "proto.h"

/* Bounds of the numeric fields (generous; they catch garbage, not players). */
#define TS_MAX INT64_C(4102444800000) /* 2100-01-01 in ms */
#define PLAYHEAD_MAX INT64_C(1000000000000)
#define KBPS_MAX INT64_C(100000000) /* 100 Gbit/s */
#define BL_MAX INT64_C(86400000)    /* a day of buffer */
#define PIXELS_MAX INT64_C(16384)

const char *stream_event_type_name(int type)
{
  static const char *const names[] = {
      NULL,      "viewinit", "playrequest",   "play",        "playing",         "pause",
      "seeking", "seeked",   "rebufferstart", "rebufferend", "renditionchange", "error",
      "ended",   "heartbeat"};
  if (type < STREAM_EVENT_VIEWINIT || type > STREAM_EVENT_HEARTBEAT)
    return NULL;
  return names[type];
}

bool proto__is_uuid(const char *s)
{
  if (!s || strlen(s) != STREAM_EVENTS_UUID_LEN)
    return false;
  for (int i = 0; i < STREAM_EVENTS_UUID_LEN; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-')
        return false;
    } else if (!isxdigit((unsigned char)s[i])) {
      return false;
    }
  }
  return true;
}

static int bad(size_t idx, const char *field, const char *why)
{
  return stream__err(STREAM_EPROTO, "event %zu: field '%s' %s", idx, field, why);
}

/* Strict UTF-8 without control characters. */
static bool utf8_text_ok(const unsigned char *s, size_t n)
{
  for (size_t i = 0; i < n;) {
    if (s[i] == 0x7f || s[i] < 0x20)
      return false;
    size_t len = stream__utf8_seq(s + i, n - i);
    if (len == 0)
      return false;
    i += len;
  }
  return true;
}

int proto__check_str(const char *s, size_t n, int kind, size_t idx, const char *field)
{
  if (kind == PROTO_F_ID) {
    for (size_t i = 0; i < n; i++) {
      char c = s[i];
      if (!(isalnum((unsigned char)c) || c == '.' || c == '_' || c == ':' || c == '-'))
        return bad(idx, field, "has characters outside [A-Za-z0-9._:-]");
    }
  } else if (!utf8_text_ok((const unsigned char *)s, n)) {
    return bad(idx, field, "is not UTF-8 text without control characters");
  }
  return STREAM_OK;
}

static int check_range(int64_t v, int64_t max, size_t idx, const char *field)
{
  if (v < 0 || v > max)
    return stream__err(STREAM_EPROTO, "event %zu: field '%s' is %lld, outside 0..%lld", idx, field,
                       (long long)v, (long long)max);
  return STREAM_OK;
}

/* Checks shared by both formats, once the row is filled. */
int proto__event_validate(stream_event *e, size_t idx, bool has_error)
{
  static const struct {
    size_t off, cap;
    int kind;
    const char *name;
  } strs[] = {
      {offsetof(stream_event, view_id), STREAM_EVENTS_ID_SIZE, PROTO_F_ID, "viewId"},
      {offsetof(stream_event, session_id), STREAM_EVENTS_ID_SIZE, PROTO_F_ID, "sessionId"},
      {offsetof(stream_event, profile_id), STREAM_EVENTS_ID_SIZE, PROTO_F_ID, "profileId"},
      {offsetof(stream_event, title_id), STREAM_EVENTS_ID_SIZE, PROTO_F_ID, "titleId"},
      {offsetof(stream_event, episode_id), STREAM_EVENTS_ID_SIZE, PROTO_F_ID, "episodeId"},
      {offsetof(stream_event, device_id), STREAM_EVENTS_ID_SIZE, PROTO_F_ID, "deviceId"},
      {offsetof(stream_event, sid), STREAM_EVENTS_ID_SIZE, PROTO_F_TEXT, "sid"},
      {offsetof(stream_event, cid), STREAM_EVENTS_ID_SIZE, PROTO_F_TEXT, "cid"},
      {offsetof(stream_event, ot), 4, PROTO_F_ID, "ot"},
      {offsetof(stream_event, error_message), STREAM_EVENTS_MESSAGE_MAX + 1, PROTO_F_TEXT,
       "error.message"},
  };
  for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
    const char *s = (const char *)e + strs[i].off;
    size_t n = strnlen(s, strs[i].cap);
    if (n == strs[i].cap)
      return bad(idx, strs[i].name, "is not NUL-terminated");
    int rc = proto__check_str(s, n, strs[i].kind, idx, strs[i].name);
    if (rc != STREAM_OK)
      return rc;
  }
  if (!e->id[0])
    return bad(idx, "id", "is missing");
  if (!proto__is_uuid(e->id))
    return bad(idx, "id", "is not a UUID (8-4-4-4-12 hex digits)");
  for (char *p = e->id; *p; p++)
    *p = (char)tolower((unsigned char)*p);
  if (!e->view_id[0])
    return bad(idx, "viewId", "is missing");
  if (e->type < STREAM_EVENT_VIEWINIT || e->type > STREAM_EVENT_HEARTBEAT)
    return stream__err(STREAM_EPROTO, "event %zu: field 'type' is %d, not a known event type", idx,
                       e->type);
  if (e->client_ts <= 0 || e->client_ts > TS_MAX)
    return stream__err(STREAM_EPROTO,
                       "event %zu: field 'clientTs' is %lld, not milliseconds since the epoch", idx,
                       (long long)e->client_ts);
  int rc = check_range(e->playhead_ms, PLAYHEAD_MAX, idx, "playheadMs");
  if (rc == STREAM_OK)
    rc = check_range(e->br, KBPS_MAX, idx, "br");
  if (rc == STREAM_OK)
    rc = check_range(e->mtp, KBPS_MAX, idx, "mtp");
  if (rc == STREAM_OK)
    rc = check_range(e->bl, BL_MAX, idx, "bl");
  if (rc == STREAM_OK)
    rc = check_range(e->width, PIXELS_MAX, idx, "width");
  if (rc == STREAM_OK)
    rc = check_range(e->height, PIXELS_MAX, idx, "height");
  if (rc != STREAM_OK)
    return rc;
  static const char *const ots[] = {"m", "a", "v", "av", "i", "c", "tt", "k", "o"};
  if (e->ot[0]) {
    bool ok = false;
    for (size_t i = 0; i < sizeof ots / sizeof ots[0]; i++)
      ok = ok || strcmp(e->ot, ots[i]) == 0;
    if (!ok)
      return bad(idx, "ot", "is not a CMCD object type (m a v av i c tt k o)");
  }
  if (e->type == STREAM_EVENT_ERROR && !has_error)
    return bad(idx, "error", "is missing on an error event");
  if (e->type != STREAM_EVENT_ERROR && has_error)
    return bad(idx, "error", "is only allowed on error events");
  return STREAM_OK;
}

void proto__event_to_pb(Libstream__Events__V1__Event *m, Libstream__Events__V1__PlaybackError *err,
                        const stream_event *e)
{
  libstream__events__v1__event__init(m);
  /* protobuf-c's packer only reads through these pointers. */
  m->id = (char *)(uintptr_t)e->id;
  m->view_id = (char *)(uintptr_t)e->view_id;
  m->session_id = (char *)(uintptr_t)e->session_id;
  m->profile_id = (char *)(uintptr_t)e->profile_id;
  m->title_id = (char *)(uintptr_t)e->title_id;
  m->episode_id = (char *)(uintptr_t)e->episode_id;
  m->device_id = (char *)(uintptr_t)e->device_id;
  m->client_ts = e->client_ts;
  m->type = (Libstream__Events__V1__EventType)e->type;
  m->playhead_ms = e->playhead_ms;
  m->br = (uint32_t)e->br;
  m->width = (uint32_t)e->width;
  m->height = (uint32_t)e->height;
  m->bl = (uint32_t)e->bl;
  m->mtp = (uint32_t)e->mtp;
  m->sid = (char *)(uintptr_t)e->sid;
  m->cid = (char *)(uintptr_t)e->cid;
  m->ot = (char *)(uintptr_t)e->ot;
  m->su = e->su ? 1 : 0;
  if (e->type == STREAM_EVENT_ERROR) {
    libstream__events__v1__playback_error__init(err);
    err->code = e->error_code;
    err->message = (char *)(uintptr_t)e->error_message;
    err->fatal = e->error_fatal ? 1 : 0;
    m->error = err;
  }
}

static void copy_str(char *dst, size_t cap, const char *src)
{
  size_t n = src ? strnlen(src, cap - 1) : 0;
  if (n)
    memcpy(dst, src, n);
  dst[n] = '\0';
}

void proto__event_from_pb(stream_event *e, const Libstream__Events__V1__Event *m)
{
  memset(e, 0, sizeof *e);
  copy_str(e->id, sizeof e->id, m->id);
  copy_str(e->view_id, sizeof e->view_id, m->view_id);
  copy_str(e->session_id, sizeof e->session_id, m->session_id);
  copy_str(e->profile_id, sizeof e->profile_id, m->profile_id);
  copy_str(e->title_id, sizeof e->title_id, m->title_id);
  copy_str(e->episode_id, sizeof e->episode_id, m->episode_id);
  copy_str(e->device_id, sizeof e->device_id, m->device_id);
  copy_str(e->sid, sizeof e->sid, m->sid);
  copy_str(e->cid, sizeof e->cid, m->cid);
  copy_str(e->ot, sizeof e->ot, m->ot);
  e->type = (int)m->type;
  e->client_ts = m->client_ts;
  e->playhead_ms = m->playhead_ms;
  e->br = m->br;
  e->width = m->width;
  e->height = m->height;
  e->bl = m->bl;
  e->mtp = m->mtp;
  e->su = m->su ? 1 : 0;
  if (m->error) {
    e->error_code = m->error->code;
    e->error_fatal = m->error->fatal ? 1 : 0;
    copy_str(e->error_message, sizeof e->error_message, m->error->message);
  }
}

int proto__event_pb_check(const Libstream__Events__V1__Event *m, size_t idx, int from)
{
  enum { BY_SIZE = -1 }; /* a credential's id: its rules are stream_events_validate()'s */
  bool relayed = from == PROTO_FROM_LOG;
  const struct {
    const char *s;
    size_t cap;
    int kind;
    const char *name;
  } f[] = {
      {m->id, STREAM_EVENTS_UUID_LEN + 1, PROTO_F_ID, "id"},
      {m->view_id, STREAM_EVENTS_ID_SIZE, PROTO_F_ID, "viewId"},
      {m->session_id, STREAM_EVENTS_ID_SIZE, PROTO_F_ID, "sessionId"},
      {m->profile_id, STREAM_EVENTS_ID_SIZE, relayed ? BY_SIZE : PROTO_F_ID, "profileId"},
      {m->title_id, STREAM_EVENTS_ID_SIZE, PROTO_F_ID, "titleId"},
      {m->episode_id, STREAM_EVENTS_ID_SIZE, PROTO_F_ID, "episodeId"},
      {m->device_id, STREAM_EVENTS_ID_SIZE, PROTO_F_ID, "deviceId"},
      {m->sid, STREAM_EVENTS_ID_SIZE, PROTO_F_TEXT, "sid"},
      {m->cid, STREAM_EVENTS_ID_SIZE, PROTO_F_TEXT, "cid"},
      {m->ot, 4, PROTO_F_ID, "ot"},
      {relayed ? m->account_id : NULL, STREAM_EVENTS_ID_SIZE, BY_SIZE, "accountId"},
      {m->error ? m->error->message : NULL, STREAM_EVENTS_MESSAGE_MAX + 1, PROTO_F_TEXT,
       "error.message"},
  };
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
    if (!f[i].s)
      continue;
    size_t n = strnlen(f[i].s, f[i].cap);
    if (n == f[i].cap)
      return stream__err(STREAM_EPROTO, "event %zu: field '%s' is longer than %zu bytes", idx,
                         f[i].name, f[i].cap - 1);
    if (f[i].kind != BY_SIZE) {
      int rc = proto__check_str(f[i].s, n, f[i].kind, idx, f[i].name);
      if (rc != STREAM_OK)
        return rc;
    }
  }
  return STREAM_OK;
}
