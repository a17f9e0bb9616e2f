/*
 * events: the server side of player analytics. This module owns the ingest of event batches
 * (decompress, decode and validate everything first, then one write transaction with id
 * de-duplication: a batch is stored whole or not at all; an event's profileId must be the
 * credential's profile or, for an account credential without one, a profile of that account,
 * looked up in the store once per batch and profile), reads of the append-only event log, and
 * consumer checkpoints (compare-and-set), and the trusted append (stream_events_append: events
 * of another log, kept with their account, profile and server time, through the same validation
 * and store append). Decoding lives in decode.c; storage goes through
 * libstream/store/store_events.h.
 */
#include <stdio.h>
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

/* Append the validated `rows` (n of them; freed here) in one write transaction, skipping ids
 * the log holds; `*out` (may be NULL) receives the counts. Shared by the ingest and the trusted
 * append. */
static int append_rows(stream_events *ev, stream_events_result *out, stream_event *rows, size_t n)
{
  size_t inserted = 0;
  int rc = ops(ev)->append(ev->store->impl, &inserted, rows, n);
  free(rows);
  if (rc != STREAM_OK)
    return rc;
  if (out) {
    out->accepted = inserted;
    out->duplicates = n - inserted;
  }
  return STREAM_OK;
}

/* The profiles of one batch found to be the credential account's: a batch names one profile,
 * or a few, so each costs one store lookup per batch. A full cache only costs lookups again. */
#define OWN_PROFILES_CACHED 8
typedef struct own_profiles {
  char id[OWN_PROFILES_CACHED][STREAM_EVENTS_ID_SIZE];
  size_t n, next;
} own_profiles;

/* Event `idx` of an account credential without a profile names `profile_id`: STREAM_OK when it
 * is a profile of `account_id`. Another account's profile and an unknown one (also an id the
 * store could never hold) get the same STREAM_EFORBIDDEN and message, so a sender cannot probe
 * which profile ids exist; the store's own failures (EIO, EBUSY, ENOMEM) are passed on. */
static int check_own_profile(stream_events *ev, own_profiles *own, const char *account_id,
                             const char *profile_id, size_t idx)
{
  for (size_t k = 0; k < own->n; k++)
    if (strcmp(own->id[k], profile_id) == 0)
      return STREAM_OK;
  stream_store_profile p;
  int rc = stream_store_profile_get(&p, ev->store, profile_id);
  if (rc == STREAM_OK && strcmp(p.account_id, account_id) != 0)
    rc = STREAM_ENOTFOUND;
  if (rc == STREAM_ENOTFOUND || rc == STREAM_EINVAL)
    return stream__err(STREAM_EFORBIDDEN,
                       "event %zu names a profile the credential's account does not have", idx);
  if (rc != STREAM_OK)
    return rc;
  memcpy(own->id[own->next], profile_id, strlen(profile_id) + 1);
  own->next = (own->next + 1) % OWN_PROFILES_CACHED;
  if (own->n < OWN_PROFILES_CACHED)
    own->n++;
  return STREAM_OK;
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
  own_profiles own = {0};
  for (size_t i = 0; i < n; i++) {
    stream_event *e = &rows[i];
    if (has_profile) {
      if (e->profile_id[0] && strcmp(e->profile_id, profile_id) != 0) {
        free(rows);
        return stream__err(STREAM_EFORBIDDEN,
                           "event %zu names another profile than the credential's", i);
      }
      memcpy(e->profile_id, profile_id, strlen(profile_id) + 1);
    } else if (e->profile_id[0]) {
      rc = check_own_profile(ev, &own, account_id, e->profile_id, i);
      if (rc != STREAM_OK) {
        free(rows);
        return rc;
      }
    }
    memcpy(e->account_id, account_id, strlen(account_id) + 1);
    e->server_ts = server_ts;
    e->seq = 0;
  }
  return append_rows(ev, out, rows, n);
}

/* ---- trusted append ---------------------------------------------------------- */

/* Latest server_ts accepted: 2100-01-01 in ms (proto/event.c bounds client_ts the same way). */
#define SERVER_TS_MAX INT64_C(4102444800000)

/* An id the ingest takes from a credential (check_sender_id's rules), as a field of event
 * `idx`: the ingest's message, prefixed with the event. */
static int check_log_id(const char *id, size_t cap, const char *what, bool required, size_t idx)
{
  if (strnlen(id, cap) == cap)
    return stream__err(STREAM_EPROTO, "event %zu: %s is not NUL-terminated", idx, what);
  if (check_sender_id(id, what, required) == STREAM_OK)
    return STREAM_OK;
  char why[200]; /* the message is rewritten into the buffer it is read from: a copy first */
  snprintf(why, sizeof why, "%.190s", stream_error_last()->message);
  return stream__err(STREAM_EPROTO, "event %zu: %s", idx, why);
}

/* The validation of a trusted event: the player fields as the ingest checks them
 * (proto__event_validate), the fields the ingest sets itself as it would set them. */
static int validate_log_event(stream_event *e, size_t idx)
{
  int rc = check_log_id(e->account_id, sizeof e->account_id, "account id", true, idx);
  if (rc == STREAM_OK)
    rc = check_log_id(e->profile_id, sizeof e->profile_id, "profile id", false, idx);
  if (rc != STREAM_OK)
    return rc;
  if (e->server_ts <= 0 || e->server_ts > SERVER_TS_MAX)
    return stream__err(STREAM_EPROTO,
                       "event %zu: field 'serverTs' is %lld, not milliseconds since the epoch", idx,
                       (long long)e->server_ts);
  /* The profile follows a credential's rules (checked above), which are wider than an event
   * field's: the player fields are checked on a copy without it. */
  stream_event copy = *e;
  copy.profile_id[0] = '\0';
  bool has_error =
      e->type == STREAM_EVENT_ERROR || e->error_code || e->error_fatal || e->error_message[0];
  rc = proto__event_validate(&copy, idx, has_error);
  if (rc == STREAM_OK)
    memcpy(e->id, copy.id, sizeof e->id); /* lowercased */
  return rc;
}

int stream_events_validate(stream_event *e)
{
  if (!e)
    return stream__err(STREAM_EINVAL, "stream_events_validate: NULL argument");
  return validate_log_event(e, 0);
}

int stream_events_append(stream_events *ev, stream_events_result *out, const stream_event *events,
                         size_t n)
{
  if (out)
    memset(out, 0, sizeof *out);
  if (!ev || !events)
    return stream__err(STREAM_EINVAL, "stream_events_append: NULL argument");
  if (n == 0 || n > STREAM_EVENTS_READ_MAX)
    return stream__err(STREAM_ERANGE, "stream_events_append: %zu events, it takes 1..%d", n,
                       STREAM_EVENTS_READ_MAX);
  stream_event *rows = malloc(n * sizeof *rows);
  if (!rows)
    return stream__err(STREAM_ENOMEM, "stream_events_append: out of memory");
  memcpy(rows, events, n * sizeof *rows);
  int rc = STREAM_OK;
  for (size_t i = 0; i < n && rc == STREAM_OK; i++) {
    rc = validate_log_event(&rows[i], i);
    rows[i].seq = 0;
  }
  if (rc != STREAM_OK) {
    free(rows);
    return rc;
  }
  return append_rows(ev, out, rows, n);
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

int stream_events_lag(stream_events *ev, int64_t *out, const char *consumer, int64_t max)
{
  if (out)
    *out = 0;
  if (!ev || !out)
    return stream__err(STREAM_EINVAL, "stream_events_lag: NULL argument");
  if (max <= 0)
    return stream__err(STREAM_EINVAL, "stream_events_lag: max must be positive, got %lld",
                       (long long)max);
  int64_t from = 0;
  int rc = stream_events_checkpoint(ev, &from, consumer);
  if (rc != STREAM_OK)
    return rc;
  if (!ops(ev)->count_after)
    return stream__err(STREAM_ENOTSUP, "stream_events_lag: the store cannot count events");
  return ops(ev)->count_after(ev->store->impl, out, from, max);
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
