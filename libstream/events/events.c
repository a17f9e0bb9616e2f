/*
 * events: the server side of player analytics. This module owns the ingest
 * of event batches (decompress, decode and validate everything first, then
 * one write transaction with id de-duplication: a batch is stored whole or
 * not at all), reads of the append-only event log, and consumer checkpoints
 * (compare-and-set). Decoding lives in decode.c; storage goes through
 * libstream/store/store_events.h.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/core.h"
#include "../store/store_events.h"
#include "../proto/proto.h"
#include "events_internal.h"

static const struct stream_store_event_ops *ops(const stream_events *ev)
{
  return ev->store->backend->events;
}

static int64_t now_ms(const stream_events *ev)
{
  if (ev->now_ms)
    return ev->now_ms(ev->now_userdata);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int check_consumer(const char *name)
{
  if (!name || !name[0])
    return stream__err(STREAM_EINVAL, "consumer name is missing");
  size_t n = strlen(name);
  if (n > STREAM_EVENTS_CONSUMER_MAX)
    return stream__err(STREAM_EINVAL, "consumer name is longer than %d characters",
                       STREAM_EVENTS_CONSUMER_MAX);
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return stream__err(STREAM_EINVAL, "consumer name has characters outside [a-z0-9_.-]");
  }
  return STREAM_OK;
}

/* An id of the sender's credential: 0..64 characters without spaces or controls. */
static int check_sender_id(const char *id, const char *what, bool required)
{
  if (!id || !id[0])
    return required ? stream__err(STREAM_EINVAL, "%s is missing", what) : STREAM_OK;
  size_t n = strlen(id);
  if (n > STREAM_EVENTS_ID_MAX)
    return stream__err(STREAM_EINVAL, "%s is longer than %d characters", what,
                       STREAM_EVENTS_ID_MAX);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)id[i] <= 0x20 || (unsigned char)id[i] >= 0x7f)
      return stream__err(STREAM_EINVAL, "%s contains a space or a non-printable character", what);
  return STREAM_OK;
}

int stream_events_new(stream_events **out, const stream_events_options *opts)
{
  if (!out || !opts)
    return stream__err(STREAM_EINVAL, "stream_events_new: NULL argument");
  *out = NULL;
  if (opts->version != STREAM_EVENTS_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "stream_events_new: options version %u, expected %d",
                       opts->version, STREAM_EVENTS_OPTIONS_VERSION);
  if (!opts->store)
    return stream__err(STREAM_EINVAL, "stream_events_new: no store");
  if (opts->max_body > STREAM_EVENTS_BODY_MAX || opts->max_events > STREAM_EVENTS_BATCH_MAX)
    return stream__err(STREAM_EINVAL,
                       "stream_events_new: max_body at most %d bytes, max_events "
                       "at most %d",
                       STREAM_EVENTS_BODY_MAX, STREAM_EVENTS_BATCH_MAX);
  if (!opts->store->backend->events)
    return stream__err(STREAM_ENOTSUP, "the %s store backend has no event tables",
                       opts->store->backend->name);
  stream_events *ev = stream__calloc(1, sizeof *ev);
  if (!ev)
    return STREAM_ENOMEM;
  ev->store = opts->store;
  ev->max_body = opts->max_body ? opts->max_body : STREAM_EVENTS_BODY_MAX;
  ev->max_events = opts->max_events ? opts->max_events : STREAM_EVENTS_BATCH_MAX;
  ev->now_ms = opts->now_ms;
  ev->now_userdata = opts->now_userdata;
  *out = ev;
  return STREAM_OK;
}

void stream_events_free(stream_events *ev)
{
  free(ev);
}

int stream_events_ingest(stream_events *ev, stream_events_result *out, const void *body, size_t len,
                         int format, int gzip, const char *account_id, const char *profile_id)
{
  if (out)
    memset(out, 0, sizeof *out);
  if (!ev || !body)
    return stream__err(STREAM_EINVAL, "stream_events_ingest: NULL argument");
  if (format != STREAM_EVENTS_PROTOBUF && format != STREAM_EVENTS_JSON)
    return stream__err(STREAM_EINVAL, "stream_events_ingest: unknown format %d", format);
  if (len == 0)
    return stream__err(STREAM_EINVAL, "event batch body is empty");
  int rc = check_sender_id(account_id, "account id", true);
  if (rc == STREAM_OK)
    rc = check_sender_id(profile_id, "profile id", false);
  if (rc != STREAM_OK)
    return rc;
  if (len > ev->max_body)
    return stream__err(STREAM_ERANGE, "event batch body is %zu bytes, at most %zu are accepted",
                       len, ev->max_body);

  unsigned char *plain = NULL;
  if (gzip) {
    size_t plain_len;
    rc = events__gunzip(&plain, &plain_len, body, len, ev->max_body);
    if (rc != STREAM_OK)
      return rc;
    body = plain;
    len = plain_len;
  }
  stream_event *rows = NULL;
  size_t n = 0;
  rc = format == STREAM_EVENTS_PROTOBUF
           ? events__decode_protobuf(&rows, &n, body, len, ev->max_events)
           : events__decode_json(&rows, &n, body, len, ev->max_events);
  free(plain);
  if (rc != STREAM_OK)
    return rc;

  int64_t server_ts = now_ms(ev);
  bool has_profile = profile_id && profile_id[0];
  for (size_t i = 0; i < n; i++) {
    stream_event *e = &rows[i];
    if (has_profile) {
      if (e->profile_id[0] && strcmp(e->profile_id, profile_id) != 0) {
        free(rows);
        return stream__err(STREAM_EFORBIDDEN,
                           "event %zu names another profile than the credential's", i);
      }
      memcpy(e->profile_id, profile_id, strlen(profile_id) + 1);
    }
    memcpy(e->account_id, account_id, strlen(account_id) + 1);
    e->server_ts = server_ts;
    e->seq = 0;
  }
  size_t inserted = 0;
  rc = ops(ev)->append(ev->store->impl, &inserted, rows, n);
  free(rows);
  if (rc != STREAM_OK)
    return rc;
  if (out) {
    out->accepted = inserted;
    out->duplicates = n - inserted;
  }
  return STREAM_OK;
}

int stream_events_read(stream_events *ev, stream_event **out, size_t *out_count, int64_t after_seq,
                       unsigned int limit)
{
  if (out)
    *out = NULL;
  if (out_count)
    *out_count = 0;
  if (!ev || !out || !out_count)
    return stream__err(STREAM_EINVAL, "stream_events_read: NULL argument");
  if (after_seq < 0)
    return stream__err(STREAM_EINVAL, "stream_events_read: negative sequence number");
  if (limit == 0 || limit > STREAM_EVENTS_READ_MAX)
    return stream__err(STREAM_EINVAL, "stream_events_read: limit must be 1..%d",
                       STREAM_EVENTS_READ_MAX);
  return ops(ev)->read(ev->store->impl, out, out_count, after_seq, limit);
}

int stream_events_get(stream_events *ev, stream_event *out, const char *id)
{
  if (!ev || !out || !id)
    return stream__err(STREAM_EINVAL, "stream_events_get: NULL argument");
  if (!proto__is_uuid(id))
    return stream__err(STREAM_EINVAL, "event id is not a UUID");
  char lower[STREAM_EVENTS_UUID_LEN + 1];
  for (size_t i = 0; i <= STREAM_EVENTS_UUID_LEN; i++)
    lower[i] = (char)((id[i] >= 'A' && id[i] <= 'F') ? id[i] - 'A' + 'a' : id[i]);
  return ops(ev)->get(ev->store->impl, out, lower);
}

int stream_events_stats(stream_events *ev, int64_t *out, int64_t *out_last_seq)
{
  if (!ev)
    return stream__err(STREAM_EINVAL, "stream_events_stats: NULL argument");
  int64_t count = 0, last = 0;
  int rc = !out && ops(ev)->last_seq ? ops(ev)->last_seq(ev->store->impl, &last)
                                     : ops(ev)->stats(ev->store->impl, &count, &last);
  if (rc != STREAM_OK)
    return rc;
  if (out)
    *out = count;
  if (out_last_seq)
    *out_last_seq = last;
  return STREAM_OK;
}

int stream_events_checkpoint(stream_events *ev, int64_t *out, const char *consumer)
{
  if (!ev || !out)
    return stream__err(STREAM_EINVAL, "stream_events_checkpoint: NULL argument");
  *out = 0;
  int rc = check_consumer(consumer);
  if (rc != STREAM_OK)
    return rc;
  return ops(ev)->checkpoint_get(ev->store->impl, out, consumer);
}

int stream_events_poll(stream_events *ev, stream_event **out, size_t *out_count, int64_t *out_from,
                       const char *consumer, unsigned int limit)
{
  if (out)
    *out = NULL;
  if (out_count)
    *out_count = 0;
  if (!ev || !out || !out_count || !out_from)
    return stream__err(STREAM_EINVAL, "stream_events_poll: NULL argument");
  int rc = stream_events_checkpoint(ev, out_from, consumer);
  if (rc != STREAM_OK)
    return rc;
  return stream_events_read(ev, out, out_count, *out_from, limit);
}

int stream_events_commit(stream_events *ev, const char *consumer, int64_t from_seq, int64_t to_seq)
{
  if (!ev)
    return stream__err(STREAM_EINVAL, "stream_events_commit: NULL argument");
  int rc = check_consumer(consumer);
  if (rc != STREAM_OK)
    return rc;
  if (from_seq < 0 || to_seq < from_seq)
    return stream__err(STREAM_EINVAL, "checkpoint may only move forward (%lld to %lld)",
                       (long long)from_seq, (long long)to_seq);
  return ops(ev)->checkpoint_set(ev->store->impl, consumer, from_seq, to_seq, now_ms(ev) / 1000);
}
