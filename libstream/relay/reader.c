/*
 * relay reader: the consuming half of the relay (stream/relay.h,
 * stream_relay_reader). It owns one nats.c connection (made by relay.c's
 * relay__connect(), so credentials and TLS work as for the relay), a
 * JetStream context, a durable pull consumer it creates or binds to, and the
 * round: fetch, decode and validate each payload, one trusted append of the
 * valid events to the destination event log (stream_events_append: one
 * transaction, de-duplicated by event id), then the acknowledgements; an
 * invalid payload is terminated so it is never delivered again. Acknowledging
 * only after the commit is what makes redelivery, and the log's de-duplication
 * of it, give exactly-once in the destination. A payload only a newer build
 * can read (version skew: an event type or a CMCD object type this build does
 * not know) is not terminated but deferred: negatively acknowledged with a
 * delay, so JetStream keeps it for an upgraded reader. Out of memory while
 * decoding is neither: the round's undecided messages are negatively
 * acknowledged and come again. It registers no callback with nats.c. It uses
 * the events module's public API only.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include "../core/core.h"
#include "../proto/proto.h"
#include "relay_internal.h"
#include "stream/relay.h"

struct stream_relay_reader {
  stream_events *events;
  char *url; /* for messages (it holds no credentials) */
  char *stream;
  char *durable;
  char *filter;
  unsigned int batch;
  unsigned int timeout_ms;
  unsigned int ack_wait_ms;
  unsigned int fetch_wait_ms;
  unsigned int defer_delay_ms;
  natsConnection *nc;
  jsCtx *js;
  natsSubscription *sub;
  char rejection[512]; /* why the last terminated message was */
  char **rejections;   /* the last round's, n_rejections of them (each malloc'd) */
  size_t n_rejections;
  char deferral[560]; /* why the last deferred message was */
  int64_t n_deferred; /* the last round's */
};

/* ---- options ------------------------------------------------------------------ */

/* A durable consumer name: 1..64 of [A-Za-z0-9_-] (JetStream refuses '.', '*', '>'). */
static int check_durable(const char *s)
{
  size_t n = strlen(s);
  if (n == 0 || n > STREAM_RELAY_NAME_MAX)
    return stream__err(STREAM_EINVAL, "relay reader: the durable name must be 1..%d characters",
                       STREAM_RELAY_NAME_MAX);
  for (size_t i = 0; i < n; i++)
    if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'))
      return stream__err(STREAM_EINVAL,
                         "relay reader: durable name '%.64s' has characters outside "
                         "[A-Za-z0-9_-]",
                         s);
  return STREAM_OK;
}

/* A filter subject: dot-separated tokens of [A-Za-z0-9_-], or '*', or '>' as the last. */
static int check_filter(const char *s)
{
  size_t n = strlen(s);
  if (n == 0 || n > STREAM_RELAY_SUBJECT_MAX)
    return stream__err(STREAM_EINVAL, "relay reader: the filter subject must be 1..%d characters",
                       STREAM_RELAY_SUBJECT_MAX);
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (s[i] != '.' && s[i] != '\0')
      continue;
    size_t len = i - start;
    const char *t = s + start;
    int ok = len > 0;
    if (ok && len == 1 && (t[0] == '*' || t[0] == '>'))
      ok = t[0] == '*' || s[i] == '\0';
    else
      for (size_t j = 0; ok && j < len; j++)
        ok = isalnum((unsigned char)t[j]) || t[j] == '_' || t[j] == '-';
    if (!ok)
      return stream__err(STREAM_EINVAL,
                         "relay reader: filter subject '%.256s' is not dot-separated tokens of "
                         "[A-Za-z0-9_-], '*', or a last '>'",
                         s);
    start = i + 1;
  }
  return STREAM_OK;
}

/* ---- set-up -------------------------------------------------------------------- */

static void clear_rejections(stream_relay_reader *r)
{
  for (size_t i = 0; i < r->n_rejections; i++)
    free(r->rejections[i]);
  free(r->rejections);
  r->rejections = NULL;
  r->n_rejections = 0;
}

static int check_stream(stream_relay_reader *r)
{
  jsStreamInfo *si = NULL;
  jsErrCode jerr = 0;
  natsStatus s = js_GetStreamInfo(&si, r->js, r->stream, NULL, &jerr);
  jsStreamInfo_Destroy(si);
  if (s == NATS_OK)
    return STREAM_OK;
  if (s == NATS_NO_RESPONDERS || s == NATS_TIMEOUT)
    return stream__err(s == NATS_NO_RESPONDERS ? STREAM_ENOTSUP : STREAM_ETIMEDOUT,
                       "relay reader: NATS at %s does not answer JetStream requests (%s): is it "
                       "started with JetStream (-js)?",
                       r->url, natsStatus_GetText(s));
  if (jerr == JSStreamNotFoundErr)
    return stream__err(STREAM_ENOTFOUND,
                       "relay reader: JetStream stream %s does not exist at %s (a relay with "
                       "create_stream makes it)",
                       r->stream, r->url);
  return stream__err(STREAM_EIO, "relay reader: JetStream stream %s at %s: %s", r->stream, r->url,
                     relay__nats_detail(s));
}

/* An existing durable must be what this reader would create: pull, explicit acks, our filter,
 * no limit on deliveries (a message whose append failed max_deliver times would be dropped by
 * JetStream: lost in the replica). Its ack wait may differ: ensure_consumer() updates it. */
static int check_consumer(stream_relay_reader *r, const jsConsumerInfo *ci)
{
  const jsConsumerConfig *c = ci->Config;
  const char *why = NULL;
  if (!c)
    why = "no configuration";
  else if (c->DeliverSubject && *c->DeliverSubject)
    why = "a push consumer";
  else if (c->AckPolicy != js_AckExplicit)
    why = "a consumer without explicit acknowledgements";
  else if (strcmp(c->FilterSubject ? c->FilterSubject : "", r->filter) != 0)
    why = "another filter subject";
  else if (c->MaxDeliver > 0)
    why = "a consumer with a limit on deliveries (max_deliver), which drops what the reader "
          "could not append that many times";
  if (!why)
    return STREAM_OK;
  return stream__err(STREAM_EPROTO,
                     "relay reader: durable consumer %s of stream %s at %s exists as %s (filter "
                     "'%.256s'): the reader needs a pull consumer with explicit acknowledgements "
                     "and filter '%s'; use another durable name or delete that one",
                     r->durable, r->stream, r->url, why,
                     c && c->FilterSubject ? c->FilterSubject : "", r->filter);
}

/* The durable exists (checked) or is created; `again`: the creation lost a race already. */
static int ensure_consumer(stream_relay_reader *r, int again)
{
  jsConsumerInfo *ci = NULL;
  jsErrCode jerr = 0;
  natsStatus s = js_GetConsumerInfo(&ci, r->js, r->stream, r->durable, NULL, &jerr);
  if (s == NATS_OK) {
    int rc = check_consumer(r, ci);
    int64_t want = (int64_t)r->ack_wait_ms * 1000000;
    if (rc == STREAM_OK && ci->Config->AckWait != want) {
      /* Its own configuration with our ack wait: JetStream updates the ack wait in place (the
       * other fields, unchanged, are not an update). */
      ci->Config->AckWait = want;
      jsConsumerInfo *up = NULL;
      jerr = 0;
      s = js_UpdateConsumer(&up, r->js, r->stream, ci->Config, NULL, &jerr);
      jsConsumerInfo_Destroy(up);
      if (s != NATS_OK)
        rc = stream__err(STREAM_EPROTO,
                         "relay reader: JetStream at %s refused to set the ack wait of durable "
                         "consumer %s of stream %s to %u ms: %s",
                         r->url, r->durable, r->stream, r->ack_wait_ms, relay__nats_detail(s));
    }
    jsConsumerInfo_Destroy(ci);
    return rc;
  }
  if (jerr != JSConsumerNotFoundErr || again)
    return stream__err(STREAM_EIO, "relay reader: durable consumer %s of stream %s at %s: %s",
                       r->durable, r->stream, r->url, relay__nats_detail(s));
  jsConsumerConfig cfg;
  jsConsumerConfig_Init(&cfg);
  cfg.Durable = r->durable;
  cfg.DeliverPolicy = js_DeliverAll;
  cfg.AckPolicy = js_AckExplicit;
  cfg.AckWait = (int64_t)r->ack_wait_ms * 1000000;
  cfg.FilterSubject = r->filter;
  jerr = 0;
  s = js_AddConsumer(&ci, r->js, r->stream, &cfg, NULL, &jerr);
  jsConsumerInfo_Destroy(ci);
  if (s == NATS_OK)
    return STREAM_OK;
  if (jerr == JSConsumerNameExistErr || jerr == JSConsumerExistingActiveErr)
    return ensure_consumer(r, 1); /* another reader created it meanwhile */
  return stream__err(STREAM_EPROTO,
                     "relay reader: JetStream at %s refused to create durable consumer %s of "
                     "stream %s with filter '%s': %s",
                     r->url, r->durable, r->stream, r->filter, relay__nats_detail(s));
}

static int subscribe(stream_relay_reader *r)
{
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = r->stream;
  so.Consumer = r->durable; /* bind: nats.c neither creates nor, on unsubscribe, deletes it */
  jsErrCode jerr = 0;
  natsStatus s = js_PullSubscribe(&r->sub, r->js, r->filter, r->durable, NULL, &so, &jerr);
  if (s != NATS_OK)
    return stream__err(STREAM_EIO,
                       "relay reader: subscribing to durable consumer %s of stream %s at %s: %s",
                       r->durable, r->stream, r->url, relay__nats_detail(s));
  return STREAM_OK;
}

int stream_relay_reader_new(stream_relay_reader **out, const stream_relay_reader_options *opts)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "relay reader: out is NULL");
  *out = NULL;
  if (!opts)
    return stream__err(STREAM_EINVAL, "relay reader: options are NULL");
  /* A version-1 caller's struct ends before defer_delay_ms: copy what it has, the default
   * delay. */
  stream_relay_reader_options full = STREAM_RELAY_READER_OPTIONS_INIT;
  if (opts->version == 1) {
    memcpy(&full, opts, offsetof(stream_relay_reader_options, defer_delay_ms));
    full.version = STREAM_RELAY_READER_OPTIONS_VERSION;
    opts = &full;
  }
  if (opts->version != STREAM_RELAY_READER_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "relay reader: options version %u, expected 1 or %d",
                       opts->version, STREAM_RELAY_READER_OPTIONS_VERSION);
  const char *durable = opts->durable ? opts->durable : STREAM_RELAY_READER_DEFAULT_DURABLE;
  const char *filter =
      opts->filter_subject ? opts->filter_subject : STREAM_RELAY_DEFAULT_PREFIX ".>";
  /* The connection options are the relay's: checked and used by the relay's own code. */
  stream_relay_options conn = STREAM_RELAY_OPTIONS_INIT;
  conn.events = opts->events;
  conn.url = opts->url;
  conn.stream_name = opts->stream_name;
  conn.batch = opts->batch;
  conn.timeout_ms = opts->timeout_ms;
  conn.user = opts->user;
  conn.password = opts->password;
  conn.token = opts->token;
  conn.secret_file = opts->secret_file;
  conn.creds_file = opts->creds_file;
  conn.tls_ca_file = opts->tls_ca_file;
  conn.tls_cert_file = opts->tls_cert_file;
  conn.tls_key_file = opts->tls_key_file;
  url_info ui;
  int rc = relay__check_options(&conn, &ui);
  if (rc == STREAM_OK)
    rc = check_durable(durable);
  if (rc == STREAM_OK)
    rc = check_filter(filter);
  if (rc == STREAM_OK && opts->ack_wait_ms != 0 &&
      (opts->ack_wait_ms < STREAM_RELAY_READER_ACK_WAIT_MIN_MS ||
       opts->ack_wait_ms > STREAM_RELAY_READER_ACK_WAIT_MAX_MS))
    rc = stream__err(STREAM_EINVAL, "relay reader: ack_wait_ms %u is not 0 (default) or %d..%d",
                     opts->ack_wait_ms, STREAM_RELAY_READER_ACK_WAIT_MIN_MS,
                     STREAM_RELAY_READER_ACK_WAIT_MAX_MS);
  if (rc == STREAM_OK && opts->fetch_wait_ms > STREAM_RELAY_TIMEOUT_MAX_MS)
    rc = stream__err(STREAM_EINVAL, "relay reader: fetch_wait_ms %u is not 0 (timeout_ms) or 1..%d",
                     opts->fetch_wait_ms, STREAM_RELAY_TIMEOUT_MAX_MS);
  if (rc == STREAM_OK && opts->defer_delay_ms != 0 &&
      (opts->defer_delay_ms < STREAM_RELAY_READER_DEFER_DELAY_MIN_MS ||
       opts->defer_delay_ms > STREAM_RELAY_READER_DEFER_DELAY_MAX_MS))
    rc = stream__err(STREAM_EINVAL, "relay reader: defer_delay_ms %u is not 0 (default) or %d..%d",
                     opts->defer_delay_ms, STREAM_RELAY_READER_DEFER_DELAY_MIN_MS,
                     STREAM_RELAY_READER_DEFER_DELAY_MAX_MS);
  if (rc == STREAM_OK)
    rc = relay__check_files(&conn); /* after every STREAM_EINVAL above */
  if (rc != STREAM_OK)
    return rc;
  stream_relay_reader *r = stream__calloc(1, sizeof *r);
  if (!r)
    return STREAM_ENOMEM;
  r->events = opts->events;
  r->batch = opts->batch;
  r->timeout_ms = opts->timeout_ms;
  r->ack_wait_ms = opts->ack_wait_ms ? opts->ack_wait_ms : STREAM_RELAY_READER_DEFAULT_ACK_WAIT_MS;
  r->fetch_wait_ms = opts->fetch_wait_ms ? opts->fetch_wait_ms : opts->timeout_ms;
  r->defer_delay_ms =
      opts->defer_delay_ms ? opts->defer_delay_ms : STREAM_RELAY_READER_DEFAULT_DEFER_DELAY_MS;
  r->url = stream__strdup(opts->url);
  r->stream = stream__strdup(opts->stream_name ? opts->stream_name : STREAM_RELAY_DEFAULT_STREAM);
  r->durable = stream__strdup(durable);
  r->filter = stream__strdup(filter);
  if (!r->url || !r->stream || !r->durable || !r->filter) {
    stream_relay_reader_free(r);
    return STREAM_ENOMEM;
  }
  rc = relay__connect(&r->nc, &conn, &ui);
  if (rc == STREAM_OK) {
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.Wait = (int64_t)r->timeout_ms;
    natsStatus s = natsConnection_JetStream(&r->js, r->nc, &jo);
    if (s != NATS_OK)
      rc = stream__err(STREAM_EIO, "relay reader: JetStream context: %s", relay__nats_detail(s));
  }
  if (rc == STREAM_OK)
    rc = check_stream(r);
  if (rc == STREAM_OK)
    rc = ensure_consumer(r, 0);
  if (rc == STREAM_OK)
    rc = subscribe(r);
  if (rc != STREAM_OK) {
    stream_relay_reader_free(r);
    return rc;
  }
  *out = r;
  return STREAM_OK;
}

void stream_relay_reader_free(stream_relay_reader *r)
{
  if (!r)
    return;
  /* No callback of ours is registered with nats.c (a synchronous pull subscription, no
   * handlers), so nothing of its threads can reach the handle: no wait is needed, unlike
   * stream_relay_free(). The subscription is bound, so destroying it keeps the durable.
   * The connection is closed first: that removes the subscription from it and joins its
   * read loop, so a late fetch reply cannot reach a subscription being destroyed (nats.c
   * 3.4.1's use-after-free in that window: nats-io/nats.c#637, docs/relay.md). */
  if (r->nc)
    natsConnection_Close(r->nc);
  natsSubscription_Destroy(r->sub);
  jsCtx_Destroy(r->js);
  natsConnection_Destroy(r->nc);
  free(r->url);
  free(r->stream);
  free(r->durable);
  free(r->filter);
  clear_rejections(r);
  free(r);
}

/* ---- a round --------------------------------------------------------------------- */

/* After a fetch that brought nothing: caught up, or the durable is gone (deleted by an
 * operator, or a server that lost its JetStream state). JetStream answers nothing to a pull
 * request of a consumer that does not exist, so such a fetch looks like an idle stream: without
 * this check the reader would report "caught up" for ever while the replica falls behind. A
 * vanished durable is created again (it delivers the stream from its start: what the log holds
 * counts as duplicates; the bound subscription pulls from the same subject) and the round
 * reports it once as STREAM_ENOTFOUND. One API request per empty fetch. */
static int check_durable_alive(stream_relay_reader *r)
{
  jsConsumerInfo *ci = NULL;
  jsErrCode jerr = 0;
  natsStatus s = js_GetConsumerInfo(&ci, r->js, r->stream, r->durable, NULL, &jerr);
  jsConsumerInfo_Destroy(ci);
  if (s == NATS_OK)
    return STREAM_OK;
  if (jerr == JSStreamNotFoundErr)
    return stream__err(STREAM_ENOTFOUND,
                       "relay reader: JetStream stream %s at %s no longer exists (deleted, or the "
                       "server lost its JetStream state)",
                       r->stream, r->url);
  if (jerr != JSConsumerNotFoundErr)
    return stream__err(STREAM_EIO, "relay reader: durable consumer %s of stream %s at %s: %s",
                       r->durable, r->stream, r->url, relay__nats_detail(s));
  int rc = ensure_consumer(r, 0);
  if (rc != STREAM_OK)
    return rc;
  return stream__err(STREAM_ENOTFOUND,
                     "relay reader: durable consumer %s of stream %s at %s had disappeared "
                     "(deleted, or the server lost its JetStream state): created again, it "
                     "delivers the stream from its start (events the log holds count as "
                     "duplicates)",
                     r->durable, r->stream, r->url);
}

/* How far above the last event type this build knows a type may be and still be taken for a
 * newer build's (the schema adds types one by one): a type beyond it (999, a corrupt number) is
 * no newer schema, and deferring it would keep it in the stream for ever, holding one of the
 * durable's "max ack pending" places. */
#define READER_NEWER_TYPES 32

/* 1 when `ot` has the shape of a CMCD object type token (CTA-5004: one or two lower-case
 * letters: m a v av i c tt k o): one a newer build may know. */
static int newer_ot(const char *ot)
{
  size_t n = strlen(ot);
  if (n < 1 || n > 2)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (ot[i] < 'a' || ot[i] > 'z')
      return 0;
  return 1;
}

/* `e` failed stream_events_validate(): may a newer build read it? Yes when what this build
 * refuses is only what a newer one may add - an event type number at most READER_NEWER_TYPES
 * above the last it knows (the schema adds types upward and never renumbers), a CMCD object
 * type token of the standard's shape (newer_ot()) outside its list -
 * and the rest of the event is valid by this build's rules: STREAM_ENOTSUP with a message. Else
 * the event is invalid for every version: STREAM_EPROTO with the validation's message, naming a
 * field that fails whatever the type and the ot. */
static int classify_invalid(const stream_event *e)
{
  stream_event probe = *e;
  bool new_type = e->type > STREAM_EVENT_HEARTBEAT &&
                  e->type <= STREAM_EVENT_HEARTBEAT + READER_NEWER_TYPES,
       new_ot = false;
  if (new_type) /* the rules of a known type, with or without an error part as the event has */
    probe.type = probe.error_code || probe.error_fatal || probe.error_message[0]
                     ? STREAM_EVENT_ERROR
                     : STREAM_EVENT_HEARTBEAT;
  int rc = stream_events_validate(&probe);
  if (rc != STREAM_OK && newer_ot(probe.ot)) {
    probe.ot[0] = '\0';
    rc = stream_events_validate(&probe);
    new_ot = rc == STREAM_OK;
  }
  if (rc != STREAM_OK)
    return rc;
  if (new_type && new_ot)
    return stream__err(STREAM_ENOTSUP,
                       "event type %d and CMCD object type '%s' are unknown to this build of "
                       "libstream (it knows types %d..%d): a newer one relayed them",
                       e->type, e->ot, STREAM_EVENT_VIEWINIT, STREAM_EVENT_HEARTBEAT);
  if (new_type)
    return stream__err(STREAM_ENOTSUP,
                       "event type %d is unknown to this build of libstream (it knows %d..%d): a "
                       "newer one relayed it",
                       e->type, STREAM_EVENT_VIEWINIT, STREAM_EVENT_HEARTBEAT);
  if (new_ot)
    return stream__err(STREAM_ENOTSUP,
                       "field 'ot' is '%s', a CMCD object type unknown to this build of "
                       "libstream: a newer one relayed it",
                       e->ot);
  return stream__err(STREAM_EPROTO, "event failed its validation"); /* not reached */
}

/* The event of message `m` into `e`, validated as the trusted append will (so an invalid one
 * is set apart instead of failing the batch's append). STREAM_EPROTO (no version can read it),
 * STREAM_ENOTSUP (only a newer build can: classify_invalid()) or STREAM_ENOMEM, with a
 * message. */
static int decode_msg(stream_event *e, natsMsg *m)
{
  int len = natsMsg_GetDataLength(m);
  const uint8_t *data = (const uint8_t *)natsMsg_GetData(m);
  if (len <= 0 || !data)
    return stream__err(STREAM_EPROTO, "payload is empty");
  proto__alloc alloc; /* tells a lack of memory from a payload that is no Event */
  proto__alloc_init(&alloc);
  Libstream__Events__V1__Event *pb =
      libstream__events__v1__event__unpack(&alloc.pc, (size_t)len, data);
  if (!pb && alloc.failed)
    return stream__err(STREAM_ENOMEM, "out of memory decoding a payload of %d bytes", len);
  if (!pb)
    return stream__err(STREAM_EPROTO,
                       "payload is not a protobuf libstream.events.v1.Event (%d bytes)", len);
  int rc = proto__event_pb_check(pb, 0, PROTO_FROM_LOG);
  if (rc == STREAM_OK) {
    proto__event_from_pb(e, pb); /* the player fields */
    if (pb->account_id)
      memcpy(e->account_id, pb->account_id, strlen(pb->account_id) + 1); /* size checked */
    e->server_ts = pb->server_ts;
  }
  libstream__events__v1__event__free_unpacked(pb, &alloc.pc);
  if (rc == STREAM_OK && stream_events_validate(e) != STREAM_OK)
    rc = classify_invalid(e);
  return rc;
}

/* "stream seq <n> (subject <s>): <why>" into `buf`. */
static void describe(char *buf, size_t cap, natsMsg *m, const char *why)
{
  jsMsgMetaData *meta = NULL;
  uint64_t seq = 0;
  if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
    seq = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
  }
  const char *subj = natsMsg_GetSubject(m);
  snprintf(buf, cap, "stream seq %" PRIu64 " (subject %.128s): %.300s", seq, subj ? subj : "", why);
}

/* Terminate `m` (never delivered again) and remember why: the reader's last rejection, and
 * the round's list (`list` has room for every message of the fetch; a copy that cannot be
 * allocated is left out of the list, the last rejection still says it). */
static void reject(stream_relay_reader *r, natsMsg *m, const char *why, char **list)
{
  describe(r->rejection, sizeof r->rejection, m, why);
  char *copy = list ? stream__strdup(r->rejection) : NULL;
  if (copy)
    list[r->n_rejections++] = copy;
  natsMsg_Term(m, NULL); /* a failure leaves it to the ack wait: it comes again, and goes */
}

/* Put `m` back for defer_delay_ms (only a newer build can read it: JetStream keeps it, for
 * ever, the durable having no limit on deliveries) and remember why. */
static void defer(stream_relay_reader *r, natsMsg *m, const char *why)
{
  char what[512];
  describe(what, sizeof what, m, why);
  snprintf(r->deferral, sizeof r->deferral, "%s; delivered again in %u ms", what,
           r->defer_delay_ms);
  /* A failure leaves it to the ack wait: it comes again, and is deferred again. */
  natsMsg_NakWithDelay(m, (int64_t)r->defer_delay_ms, NULL);
}

int stream_relay_reader_run_once(stream_relay_reader *r, int64_t *out_appended,
                                 int64_t *out_duplicates, int64_t *out_rejected)
{
  if (out_appended)
    *out_appended = 0;
  if (out_duplicates)
    *out_duplicates = 0;
  if (out_rejected)
    *out_rejected = 0;
  if (!r)
    return stream__err(STREAM_EINVAL, "relay reader: handle is NULL");
  clear_rejections(r);
  r->n_deferred = 0;
  if (relay__down(r->nc))
    return relay__not_connected("relay reader", r->url);
  natsMsgList list;
  memset(&list, 0, sizeof list);
  jsErrCode jerr = 0;
  natsStatus s =
      natsSubscription_Fetch(&list, r->sub, (int)r->batch, (int64_t)r->fetch_wait_ms, &jerr);
  /* Nothing came, or the fetch failed: a connection that went away meanwhile is said as at a
   * round's start (one wording for the whole outage). */
  if (s != NATS_OK && relay__down(r->nc))
    return relay__not_connected("relay reader", r->url);
  if (s == NATS_TIMEOUT) { /* nothing came: caught up, or the durable is gone */
    int rc = check_durable_alive(r);
    return rc != STREAM_OK && relay__down(r->nc) ? relay__not_connected("relay reader", r->url)
                                                 : rc;
  }
  if (s != NATS_OK)
    return stream__err(STREAM_EIO,
                       "relay reader: fetching from durable consumer %s of stream %s at %s: %s",
                       r->durable, r->stream, r->url, relay__nats_detail(s));
  size_t n = (size_t)list.Count, k = 0, i = 0;
  int64_t rejected = 0;
  stream_event *evs = n ? stream__calloc(n, sizeof *evs) : NULL;
  natsMsg **good = n ? stream__calloc(n, sizeof *good) : NULL;
  if (n && (!evs || !good)) {
    free(evs);
    free(good);
    for (i = 0; i < n; i++)
      natsMsg_Nak(list.Msgs[i], NULL); /* to come again at once, not after the ack wait */
    natsConnection_FlushTimeout(r->nc, (int64_t)r->timeout_ms);
    natsMsgList_Destroy(&list);
    return stream__err(STREAM_ENOMEM, "relay reader: out of memory");
  }
  r->rejections = n ? stream__calloc(n, sizeof *r->rejections) : NULL; /* NULL: none listed */
  bool oom = false;
  for (i = 0; i < n && !oom; i++) {
    natsMsg *m = list.Msgs[i];
    int drc = decode_msg(&evs[k], m);
    if (drc == STREAM_OK) {
      good[k++] = m;
    } else if (drc == STREAM_ENOTSUP) {
      defer(r, m, stream_error_last()->message);
      r->n_deferred++;
    } else if (drc == STREAM_ENOMEM) {
      oom = true; /* not the payload's fault: it comes again, as every message not yet judged */
      natsMsg_Nak(m, NULL);
    } else {
      reject(r, m, stream_error_last()->message, r->rejections);
      rejected++;
    }
  }
  for (; i < n; i++)
    natsMsg_Nak(list.Msgs[i], NULL);
  stream_events_result res = {0, 0};
  int rc = STREAM_OK;
  if (oom)
    rc = stream__err(STREAM_ENOMEM,
                     "relay reader: out of memory decoding a message of durable consumer %s: "
                     "nothing of the round stored, its messages come again",
                     r->durable);
  else if (k)
    rc = stream_events_append(r->events, &res, evs, k);
  /* Only now, the events committed, are their messages acknowledged: a crash before this
   * leaves them to be delivered again and de-duplicated by the log. On failure they are
   * negatively acknowledged, to come again without waiting for the ack wait. */
  for (i = 0; i < k; i++)
    if (rc == STREAM_OK)
      natsMsg_Ack(good[i], NULL);
    else
      natsMsg_Nak(good[i], NULL);
  free(evs);
  free(good);
  /* Acks, naks and terms are published messages: the flush (a PING answered after the server read
   * them) means JetStream has them. A failure is not an error of the round: the events are
   * stored, and their messages, delivered again, are duplicates. */
  natsConnection_FlushTimeout(r->nc, (int64_t)r->timeout_ms);
  natsMsgList_Destroy(&list);
  /* The terminated messages are gone from the stream whether the append worked or not: they
   * are counted (and listed) either way, or a round that failed would lose their trace (the
   * deferred ones too, in r->n_deferred). */
  if (out_rejected)
    *out_rejected = rejected;
  if (rc != STREAM_OK)
    return rc;
  if (out_appended)
    *out_appended = (int64_t)res.accepted;
  if (out_duplicates)
    *out_duplicates = (int64_t)res.duplicates;
  return STREAM_OK;
}

const char *stream_relay_reader_rejection(const stream_relay_reader *r)
{
  return r ? r->rejection : NULL;
}

int stream_relay_reader_deferred(const stream_relay_reader *r, int64_t *out)
{
  if (out)
    *out = 0;
  if (!r || !out)
    return stream__err(STREAM_EINVAL, "relay reader: %s is NULL", r ? "out" : "handle");
  *out = r->n_deferred;
  return STREAM_OK;
}

const char *stream_relay_reader_deferral(const stream_relay_reader *r)
{
  return r ? r->deferral : NULL;
}

const char *const *stream_relay_reader_rejections(const stream_relay_reader *r, size_t *out_count)
{
  size_t n = r ? r->n_rejections : 0;
  if (out_count)
    *out_count = n;
  return n ? (const char *const *)r->rejections : NULL;
}

int stream_relay_reader_lag(stream_relay_reader *r, int64_t *out)
{
  if (out)
    *out = 0;
  if (!r || !out)
    return stream__err(STREAM_EINVAL, "relay reader: %s is NULL", r ? "out" : "handle");
  /* Down: at once (a request would wait timeout_ms in nats.c's reconnect buffer), and in the
   * rounds' words. */
  if (relay__down(r->nc))
    return relay__not_connected("relay reader", r->url);
  jsConsumerInfo *ci = NULL;
  jsErrCode jerr = 0;
  natsStatus s = js_GetConsumerInfo(&ci, r->js, r->stream, r->durable, NULL, &jerr);
  if (s != NATS_OK && relay__down(r->nc))
    return relay__not_connected("relay reader", r->url);
  if (s != NATS_OK)
    return stream__err(STREAM_EIO, "relay reader: durable consumer %s of stream %s at %s: %s",
                       r->durable, r->stream, r->url, relay__nats_detail(s));
  *out = (int64_t)ci->NumPending + (int64_t)ci->NumAckPending;
  jsConsumerInfo_Destroy(ci);
  return STREAM_OK;
}
