/**
 * @file stream/relay.h
 * @brief The event-log relay to NATS JetStream (floor 3, "relay"): the
 *        scale-out transport of the event pipeline. It reads the event log
 *        (outbox, stream/events.h) after its own consumer checkpoint and
 *        publishes every event to a JetStream stream, so consumers on other
 *        machines read the events from NATS instead of the store. The
 *        other half, stream_relay_reader (below), is such a consumer: it reads
 *        the stream into another event log (an analytics replica).
 *
 * Built only when libstream has the nats feature (STREAM_HAVE_NATS: nats.c,
 * `libnats`, and the server feature's events module).
 *
 * Guarantee: at-least-once from the outbox, exactly-once in the stream
 * within its duplicate window. One round (stream_relay_run_once()) publishes
 * a batch asynchronously, each message carrying the header `Nats-Msg-Id` =
 * the event id, waits for every JetStream acknowledgement and only then
 * advances the checkpoint (a compare-and-set, stream_events_commit()). An
 * event whose publication was not acknowledged stays after the checkpoint
 * and is published again by the next round; one that JetStream had stored
 * already is answered as a duplicate and not stored twice (JetStream keeps
 * message ids for the stream's duplicate window, 2 minutes for a stream
 * this module creates). Several relays over one store (several daemons on a
 * PostgreSQL store) exclude each other through the checkpoint; a relay that
 * lost the race republishes nothing new, and what it had published is
 * de-duplicated. Consumers that keep events longer than the window
 * de-duplicate by event id (the header, or the payload's id).
 *
 * Message format (docs/api/relay.md): subject `<subject_prefix>.<type
 * name>` ("stream.events.heartbeat"); headers `Nats-Msg-Id` (event id),
 * `Outbox-Seq` (the event's sequence number in the event log, decimal),
 * `Event-Type` (type name) and `Content-Type: application/x-protobuf`;
 * payload the event as the protobuf message libstream.events.v1.Event of
 * libstream/proto/events.proto, with the ingest's fields server_ts and
 * account_id set.
 *
 * Credentials (token, or user and password) come from the options or from a
 * file, or a NATS credentials file (JWT and NKey seed); they are never
 * logged and never part of an error message. The URL must not carry them.
 * Over nats:// they cross the network in clear: use TLS (tls:// URLs, the
 * tls_* options of version 2) when the network between the relay and NATS is
 * not trusted.
 *
 * Thread-safety: a stream_relay handle is used by one thread at a time
 * (nats.c delivers acknowledgements on its own threads; the handle guards
 * what they touch). Distinct handles may run in parallel, also over one
 * stream_events handle.
 */
#ifndef STREAM_RELAY_H
#define STREAM_RELAY_H

#include <stdint.h>

#include "stream/common.h"
#include "stream/events.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Default JetStream stream name. */
#define STREAM_RELAY_DEFAULT_STREAM "STREAM_EVENTS"
/** Default subject prefix: events go to <prefix>.<type name>. */
#define STREAM_RELAY_DEFAULT_PREFIX "stream.events"
/** Default consumer (checkpoint) name in the event log. */
#define STREAM_RELAY_DEFAULT_CONSUMER "relay.nats"
/** Default events per round. */
#define STREAM_RELAY_DEFAULT_BATCH 500
/** Default connect and acknowledgement timeout, milliseconds. */
#define STREAM_RELAY_DEFAULT_TIMEOUT_MS 5000
/** Longest timeout_ms accepted. */
#define STREAM_RELAY_TIMEOUT_MAX_MS 600000
/** Longest URL list, stream name and subject prefix, in bytes. */
#define STREAM_RELAY_URL_MAX 2048
#define STREAM_RELAY_NAME_MAX 64
#define STREAM_RELAY_PREFIX_MAX 128
/** Duplicate window of a stream created by the relay, seconds. */
#define STREAM_RELAY_DUPLICATE_WINDOW_S 120

/** A relay from one event log to one JetStream stream. See the file comment. */
typedef struct stream_relay stream_relay;

/** Options of stream_relay_new(). Start from STREAM_RELAY_OPTIONS_INIT. */
typedef struct stream_relay_options {
  unsigned int version;       /**< STREAM_RELAY_OPTIONS_VERSION */
  stream_events *events;      /**< borrowed; must outlive the relay */
  const char *url;            /**< "nats://host:port" or "tls://host:port", or several
                                   separated by commas */
  const char *stream_name;    /**< JetStream stream; NULL = STREAM_RELAY_DEFAULT_STREAM */
  const char *subject_prefix; /**< dot-separated tokens; NULL = STREAM_RELAY_DEFAULT_PREFIX */
  const char *consumer;       /**< checkpoint name; NULL = STREAM_RELAY_DEFAULT_CONSUMER */
  unsigned int batch;         /**< events per round, 1..STREAM_EVENTS_READ_MAX */
  unsigned int timeout_ms;    /**< connect, API and ack wait, 1..STREAM_RELAY_TIMEOUT_MAX_MS */
  int create_stream;          /**< nonzero: create the stream when missing (file storage, subjects
                                   <prefix>.>, duplicate window STREAM_RELAY_DUPLICATE_WINDOW_S),
                                   at stream_relay_new() and again when it disappears under the
                                   running relay (stream_relay_run_once()) */
  const char *user;           /**< user name (with password or secret_file); NULL = none */
  const char *password;       /**< the user's password; NULL = none (or from secret_file) */
  const char *token;          /**< an authentication token instead of a user; NULL = none */
  const char *secret_file;    /**< file whose first line is the password (with `user`) or
                                   else the token; NULL = none */
  const char *creds_file;     /**< NATS credentials file (user JWT + NKey seed, as nsc writes
                                   it; decentralized auth); NULL = none. stream_relay_new()
                                   checks that it opens; nats.c reads it as it connects */
  /* ---- version 2: TLS ----
   * TLS is on when the URLs are tls://host:port (all of them: a list does not mix tls:// and
   * nats://) or when any of the three files below is given (then nats:// URLs use TLS too).
   * With TLS the server's certificate is always verified (never skipped): its chain against
   * the trusted CAs, and its names against the URL's host (DNS names, or IP addresses for an
   * IP host; nats.c 3.4 checks one host name per connection, so every URL of a TLS list names
   * the same host). A server that does not require TLS (one taking plain clients too) is
   * refused rather than used without it. Without TLS asked for, a server that requires it is
   * refused with a message saying so. The paths are copied; the files are read by
   * stream_relay_new() (nats.c keeps what they hold for reconnections): a file changed later
   * takes effect with the next stream_relay_new(). */
  /** PEM file of the CA certificate(s) that sign the server's certificate (a private CA),
   *  trusted in addition to the system's CAs (nats.c adds them to OpenSSL's default store);
   *  NULL = the system's CAs only. */
  const char *tls_ca_file;
  /** PEM client certificate (chain: the certificate first) for mutual TLS, with tls_key_file:
   *  both or neither; NULL = no client certificate. */
  const char *tls_cert_file;
  /** PEM private key of tls_cert_file (unencrypted: nats.c asks for no passphrase); it is
   *  never logged or part of a message. NULL = none. */
  const char *tls_key_file;
} stream_relay_options;

/** 2 added tls_ca_file, tls_cert_file and tls_key_file. A version-1 struct (which ends before
 *  tls_ca_file) is still accepted, without TLS. */
#define STREAM_RELAY_OPTIONS_VERSION 2
#define STREAM_RELAY_OPTIONS_INIT                                                                  \
  {                                                                                                \
    STREAM_RELAY_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, STREAM_RELAY_DEFAULT_BATCH,        \
        STREAM_RELAY_DEFAULT_TIMEOUT_MS, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL         \
  }

/**
 * Connect to NATS at `opts->url` and check the stream `opts->stream_name`
 * (creating it when missing and `opts->create_stream` is set). Strings of
 * `opts` are copied. On success `*out` belongs to the caller, who frees it
 * with stream_relay_free(); on failure it is NULL.
 * Errors: STREAM_EINVAL (NULL argument, unknown version, a URL that is not
 * nats://host:port or tls://host:port or carries credentials, a list mixing
 * nats:// and tls:// or naming several hosts with TLS, tls_cert_file without
 * tls_key_file or the reverse, an empty or malformed stream
 * name, subject prefix or consumer name, batch 0 or over
 * STREAM_EVENTS_READ_MAX, timeout_ms 0 or too large, both a token and a
 * user, a user without a password, a password without a user, a secret_file
 * as well as a password or token, a user, password or token, or a secret
 * file's first line, with a quote, backslash or control character: nats.c
 * sends credentials unescaped; the options are checked before any file is
 * opened, so an option error is STREAM_EINVAL even when a file is missing
 * too), STREAM_EIO (the secret or credentials file cannot be read, or the
 * credentials file holds no seed or one that does not decode, whatever the
 * server's authorization: nats.c decodes the seed at every connect; the
 * message names the path, never the seed; a TLS file
 * cannot be read or is not PEM of its kind,
 * or the key does not match the certificate: the message names the path,
 * never the key; NATS unreachable: the message names the URL; the TLS
 * handshake failed, e.g. the server's certificate is not signed by a trusted
 * CA or does not carry the URL's host name, or the server refused the client
 * certificate or its absence: the message says so and names the URL; the
 * server requires TLS and none was asked for),
 * STREAM_EAUTH (the server refused the credentials; those of a credentials
 * file, e.g. a user of an account it does not know: the message names the
 * file), STREAM_ENOTFOUND (no
 * such stream and create_stream is 0), STREAM_ENOTSUP (the server has no
 * JetStream), STREAM_EPROTO (the stream exists without the prefix's
 * subjects, or JetStream refused to create it), STREAM_ENOMEM.
 */
STREAM_API int stream_relay_new(stream_relay **out, const stream_relay_options *opts);

/** Close the connection and free the relay (not the events handle). NULL is a
 *  no-op. Publications still awaiting an acknowledgement are dropped; an
 *  acknowledgement handler running on a nats.c thread is waited for, so none
 *  touches the handle after this returns. */
STREAM_API void stream_relay_free(stream_relay *r);

/**
 * One round: read up to `batch` events after the relay's checkpoint, publish
 * them all asynchronously, wait for every acknowledgement (at most
 * timeout_ms after the last publication), and when ALL were acknowledged
 * advance the checkpoint to the batch's last event. `*out_published` (may
 * be NULL) receives the events the round moved past (0 when the log had
 * nothing new, or when another relay instance advanced the checkpoint first:
 * then the call still returns STREAM_OK and the caller simply runs again);
 * `*out_duplicates` (may be NULL) how many of those JetStream already held.
 * Both are 0 on error. On error the checkpoint is unchanged: the round's
 * events are published again by the next one (and de-duplicated).
 *
 * A stream that disappeared (deleted by an operator, or a server restarted
 * without its JetStream store) shows as a round that nothing answered ("no
 * responders"); the round then asks JetStream for the stream. With
 * create_stream it is created again as at stream_relay_new() and the round
 * returns STREAM_ENOTFOUND once ("... had disappeared ...: created again"):
 * nothing of the round was acknowledged, so the next round publishes every
 * event after the checkpoint into the new stream, each once. What was
 * relayed before went with the old stream (the relay does not republish
 * it; a relay with another consumer name, whose checkpoint starts at 0,
 * would). Without create_stream every round fails with STREAM_ENOTFOUND
 * ("... no longer exists ...") until an operator creates it; nothing is
 * marked relayed meanwhile.
 *
 * Errors: STREAM_EINVAL, STREAM_EIO (not connected to NATS: "relay: not
 * connected to NATS at <url> (reconnecting)", the one message of a
 * connection that is down, also for a round it went away during; or a
 * publication failed), STREAM_ETIMEDOUT (acknowledgements missing after
 * timeout_ms), STREAM_EPROTO (JetStream refused a message: the message
 * names the event and JetStream's reason), STREAM_ENOTFOUND (the stream
 * disappeared, above), the event log's errors (stream_events_poll(),
 * stream_events_commit()), STREAM_ENOMEM.
 */
STREAM_API int stream_relay_run_once(stream_relay *r, int64_t *out_published,
                                     int64_t *out_duplicates);

/**
 * The log's last sequence number minus the relay's checkpoint (0 when caught
 * up) into `*out`: an upper bound of the events not yet relayed, not their
 * count, since sequence numbers skip (a duplicate id takes one, deleted
 * events leave holes; see stream_events_stats()). stream_events_lag() with
 * the relay's consumer name counts them.
 * Errors: STREAM_EINVAL, STREAM_EIO.
 */
STREAM_API int stream_relay_lag(stream_relay *r, int64_t *out);

/* ---- the consuming half: JetStream into another event log -----------------
 *
 * A stream_relay_reader is the other end of the pipeline: on another machine,
 * with its own store (the analytics replica), it reads the events a relay
 * published through a durable JetStream pull consumer and appends them to
 * its own event log (stream_events_append(): the events keep their id,
 * account, profile and server time), so the embedded consumers (QoE,
 * recommendations, exports) run there unchanged.
 *
 * Guarantee: exactly-once in the replica. A round (stream_relay_reader_run_once())
 * fetches up to `batch` messages, appends their events in ONE transaction
 * with de-duplication by event id, and only after that commit acknowledges
 * each message. A crash (or a lost connection) after the commit and before
 * the acknowledgements reached JetStream means those messages are delivered
 * again (after the consumer's ack wait): the event log already holds their
 * ids, so they are counted as duplicates and stored nothing. A round that
 * fails before the commit acknowledges nothing: its messages are delivered
 * again (at once: they are negatively acknowledged when the append fails).
 * De-duplication in the event log is by id for ever, not within a window.
 *
 * A message whose payload no version of libstream can read (it does not
 * decode as an Event, or an event field, the account or the server time is
 * invalid) is terminated (natsMsg_Term: JetStream never delivers it again),
 * counted in `*out_rejected` and described by stream_relay_reader_rejection();
 * it does not hold back the valid messages of its batch.
 *
 * Version skew (a rolling upgrade: a newer streamd relays what this older
 * build does not know): an event valid by this build's rules but for an
 * event type number above the last it knows (STREAM_EVENT_HEARTBEAT; the
 * schema only adds types, upward), by at most 32, or a CMCD object type
 * token (`ot`) of one or two lower-case letters outside its list is not
 * terminated but deferred (a type further up, or an `ot` of another shape,
 * is no newer schema's: terminated, as deferred it would stay in the stream
 * for ever): negatively acknowledged with a
 * delay (natsMsg_NakWithDelay, stream_relay_reader_options.defer_delay_ms,
 * 60 s by default), so JetStream keeps it and delivers it again after the
 * delay, for ever (the durable has no limit on deliveries; one that has is
 * refused by stream_relay_reader_new()), until an upgraded reader stores
 * it. The round counts it (stream_relay_reader_deferred(): each delivery is
 * counted again) and describes it (stream_relay_reader_deferral()); it is
 * not appended and holds back nothing else. A deferred message stays
 * unacknowledged: stream_relay_reader_lag() counts it, and it takes one of
 * the durable's "max ack pending" places (JetStream's default 1000): with
 * that many messages deferred, JetStream delivers only those again, and the
 * reader stores nothing new until it is upgraded (nothing is lost; the lag
 * grows). Fields a newer schema added to a known type are not a deferral:
 * protobuf skips fields it does not know, and the event is stored without
 * them.
 *
 * Out of memory while decoding a payload is not a bad payload: the round
 * stops there, negatively acknowledges (natsMsg_Nak) every message it has
 * not terminated or deferred, appends nothing, and returns STREAM_ENOMEM;
 * the messages come again at once.
 *
 * Thread-safety: a reader is used by one thread at a time. It registers no
 * callback with nats.c, so no nats.c thread ever touches the handle.
 * Distinct readers (on distinct durables, or on one durable: JetStream then
 * shares the messages out) may run in parallel, also over one stream_events.
 */

/** Default durable consumer of a reader (JetStream names exclude '.'). */
#define STREAM_RELAY_READER_DEFAULT_DURABLE "libstream-replica"
/** Ack wait of the durable consumer a reader creates, seconds: a message fetched and neither
 *  acknowledged nor terminated within it is delivered again. The default of
 *  stream_relay_reader_options.ack_wait_ms (STREAM_RELAY_READER_DEFAULT_ACK_WAIT_MS). */
#define STREAM_RELAY_READER_ACK_WAIT_S 30
#define STREAM_RELAY_READER_DEFAULT_ACK_WAIT_MS (STREAM_RELAY_READER_ACK_WAIT_S * 1000)
/** Range of stream_relay_reader_options.ack_wait_ms (1 s .. 1 h). */
#define STREAM_RELAY_READER_ACK_WAIT_MIN_MS 1000
#define STREAM_RELAY_READER_ACK_WAIT_MAX_MS 3600000
/** Longest filter subject, bytes. */
#define STREAM_RELAY_SUBJECT_MAX 256
/** Default of stream_relay_reader_options.defer_delay_ms: a deferred message (one only a newer
 *  libstream can read) comes again once a minute: cheap while it waits, and stored within a
 *  minute of the reader's upgrade. */
#define STREAM_RELAY_READER_DEFAULT_DEFER_DELAY_MS 60000
/** Range of stream_relay_reader_options.defer_delay_ms (1 s .. 1 h). */
#define STREAM_RELAY_READER_DEFER_DELAY_MIN_MS 1000
#define STREAM_RELAY_READER_DEFER_DELAY_MAX_MS 3600000

/** A reader of a JetStream stream into an event log. See the comment above. */
typedef struct stream_relay_reader stream_relay_reader;

/** Options of stream_relay_reader_new(). Start from STREAM_RELAY_READER_OPTIONS_INIT. The
 *  connection options (url, credentials, TLS) mean what they mean in stream_relay_options and
 *  are checked the same way. */
typedef struct stream_relay_reader_options {
  unsigned int version;       /**< STREAM_RELAY_READER_OPTIONS_VERSION */
  stream_events *events;      /**< the destination event log; borrowed, must outlive the reader */
  const char *url;            /**< as stream_relay_options.url */
  const char *stream_name;    /**< JetStream stream; NULL = STREAM_RELAY_DEFAULT_STREAM */
  const char *durable;        /**< durable consumer, 1..64 of [A-Za-z0-9_-];
                                   NULL = STREAM_RELAY_READER_DEFAULT_DURABLE */
  const char *filter_subject; /**< subjects to read (tokens, '*', a last '>');
                                   NULL = STREAM_RELAY_DEFAULT_PREFIX ".>" */
  unsigned int batch;         /**< messages per round, 1..STREAM_EVENTS_READ_MAX */
  unsigned int timeout_ms;    /**< connect, API requests, and the wait for a round's first
                                   message unless fetch_wait_ms is set,
                                   1..STREAM_RELAY_TIMEOUT_MAX_MS */
  const char *user;           /**< as stream_relay_options */
  const char *password;
  const char *token;
  const char *secret_file;
  const char *creds_file;
  const char *tls_ca_file;
  const char *tls_cert_file;
  const char *tls_key_file;
  /** Ack wait of the durable consumer, milliseconds: a message fetched and neither acknowledged
   *  nor terminated within it is delivered again (after a crash of the reader, that is how
   *  long its unacknowledged messages wait). STREAM_RELAY_READER_ACK_WAIT_MIN_MS..
   *  STREAM_RELAY_READER_ACK_WAIT_MAX_MS; 0 = STREAM_RELAY_READER_DEFAULT_ACK_WAIT_MS. Applied
   *  when the durable is created; an existing durable with another ack wait is updated to this
   *  one (js_UpdateConsumer), so readers sharing a durable should use one value. Keep it above
   *  the time a round takes to append a batch: a shorter one only costs redeliveries
   *  (duplicates). */
  unsigned int ack_wait_ms;
  /** How long one round's fetch waits for a first message, milliseconds (a long poll: an idle
   *  stream costs one pull request per wait, and it bounds how long a round of an idle reader
   *  takes, e.g. to stop a thread running rounds). 1..STREAM_RELAY_TIMEOUT_MAX_MS; 0 =
   *  timeout_ms. */
  unsigned int fetch_wait_ms;
  /** How long JetStream waits before it delivers a deferred message again (one that only a
   *  newer libstream can read: see above), milliseconds. STREAM_RELAY_READER_DEFER_DELAY_MIN_MS..
   *  STREAM_RELAY_READER_DEFER_DELAY_MAX_MS; 0 = STREAM_RELAY_READER_DEFAULT_DEFER_DELAY_MS.
   *  Shorter: an upgraded reader stores it sooner, and each deferred message costs a delivery
   *  that often. Since version 2. */
  unsigned int defer_delay_ms;
} stream_relay_reader_options;

/** 2: defer_delay_ms added. A version-1 struct (ending at fetch_wait_ms; ack_wait_ms and
 *  fetch_wait_ms were added before any release, so version 1 has them) is accepted, with the
 *  default defer delay. A struct from STREAM_RELAY_READER_OPTIONS_INIT (or zeroed) has the
 *  defaults. */
#define STREAM_RELAY_READER_OPTIONS_VERSION 2
#define STREAM_RELAY_READER_OPTIONS_INIT                                                           \
  {                                                                                                \
    STREAM_RELAY_READER_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, STREAM_RELAY_DEFAULT_BATCH, \
        STREAM_RELAY_DEFAULT_TIMEOUT_MS, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0   \
  }

/**
 * Connect to NATS at `opts->url`, check that the stream `opts->stream_name`
 * exists, and create the durable pull consumer `opts->durable` (explicit
 * acknowledgement, ack wait `opts->ack_wait_ms`, delivery of the whole
 * stream, no limit on deliveries, filter `opts->filter_subject`) or bind to
 * it when it exists (it resumes where that durable stopped; its ack wait is
 * updated to `opts->ack_wait_ms` when it differs). Strings of `opts` are copied. On
 * success `*out` belongs to the caller, who frees it with
 * stream_relay_reader_free(); on failure it is NULL.
 * Errors: STREAM_EINVAL (NULL argument, unknown version, a bad durable name,
 * filter subject, ack_wait_ms, fetch_wait_ms or defer_delay_ms, and every
 * option error of stream_relay_new(); all before any file is opened),
 * STREAM_EIO, STREAM_EAUTH (as stream_relay_new(): connection, credentials,
 * TLS), STREAM_ENOTFOUND (no such stream: a relay creates it with
 * create_stream), STREAM_ENOTSUP (no JetStream), STREAM_EPROTO (the durable
 * exists as another kind of consumer: push, another filter subject or
 * acknowledgement policy, or a limit on deliveries (max_deliver: JetStream
 * would drop a message the reader could not append that many times, a loss
 * in the replica); or JetStream refused to create it or to update its ack
 * wait: the message says why), STREAM_ETIMEDOUT, STREAM_ENOMEM.
 */
STREAM_API int stream_relay_reader_new(stream_relay_reader **out,
                                       const stream_relay_reader_options *opts);

/** Close the connection and free the reader (not the events handle, not the durable consumer:
 *  a later reader on the same durable resumes). NULL is a no-op. Messages fetched by a round
 *  that did not finish are delivered again after the ack wait. */
STREAM_API void stream_relay_reader_free(stream_relay_reader *r);

/**
 * One round: fetch up to `batch` messages (waiting at most fetch_wait_ms for
 * the first; fewer when the stream has no more), decode each payload (protobuf
 * Event, with account_id and server_ts), append the valid events to the event
 * log in one transaction (stream_events_append(): de-duplicated by id), then
 * acknowledge their messages; invalid payloads are terminated, those only a
 * newer libstream can read are deferred (see above).
 * `*out_appended` receives the events newly stored, `*out_duplicates` those
 * the log held already (redeliveries), `*out_rejected` the messages
 * terminated; each may be NULL, all are 0 when nothing came and on error,
 * except `*out_rejected` when the error is the append's or STREAM_ENOMEM:
 * the round's invalid messages were terminated before it, and are counted
 * (and listed by stream_relay_reader_rejections()) all the same. The
 * messages deferred are counted by stream_relay_reader_deferred() (also
 * after such an error).
 * Acknowledgements are sent and flushed after the commit; one that is lost
 * all the same only makes JetStream deliver the message again (a duplicate).
 * Errors: STREAM_EINVAL, STREAM_EIO (not connected to NATS: "relay reader:
 * not connected to NATS at <url> (reconnecting)", also for a round whose
 * fetch the connection left: one message for the whole outage; the
 * connection reconnects by itself; or the fetch failed), STREAM_ENOTFOUND
 * (nothing came and the durable no longer exists — deleted, or a server that lost its
 * JetStream state: JetStream answers nothing to its pull requests, so an
 * empty fetch is checked against the durable — then it was created again
 * and the next round reads the stream from its start, as duplicates up to
 * where the log is; or the stream no longer exists), the event log's errors
 * (stream_events_append(): STREAM_EBUSY, STREAM_EIO; nothing is acknowledged
 * and the messages are delivered again), STREAM_ENOMEM (also out of memory
 * while decoding a payload: nothing is appended, the messages not terminated
 * or deferred are negatively acknowledged and come again).
 */
STREAM_API int stream_relay_reader_run_once(stream_relay_reader *r, int64_t *out_appended,
                                            int64_t *out_duplicates, int64_t *out_rejected);

/**
 * Why the reader last terminated a message ("stream seq 12 (subject
 * stream.events.play): payload is not a protobuf libstream.events.v1.Event
 * (5 bytes)"), "" when it never did. Borrowed from the reader: valid until
 * its next run_once or free. NULL for a NULL reader.
 */
STREAM_API const char *stream_relay_reader_rejection(const stream_relay_reader *r);

/**
 * Every message the last round terminated, in fetch order, each described
 * as by stream_relay_reader_rejection(): `*out_count` (may be NULL)
 * receives how many (the round's `*out_rejected`, fewer only when memory for
 * a copy ran out; 0 after a round that terminated none or failed before its
 * fetch) and the result is an array of that many strings, borrowed from the
 * reader like stream_relay_reader_rejection()'s (valid until its next
 * run_once or free); NULL when there are none or `r` is NULL.
 */
STREAM_API const char *const *stream_relay_reader_rejections(const stream_relay_reader *r,
                                                             size_t *out_count);

/**
 * How many messages the last round deferred (see above: payloads only a newer
 * libstream can read, negatively acknowledged with defer_delay_ms and
 * delivered again then) into `*out`: 0 after a round that deferred none or
 * failed before its fetch. A message that stays deferred is counted again
 * by each round it comes back to. The counterpart of `*out_rejected`, which
 * stream_relay_reader_run_once() cannot gain without an ABI break.
 * Errors: STREAM_EINVAL (`r` or `out` NULL; `*out` is then 0 when `out` is
 * not NULL).
 */
STREAM_API int stream_relay_reader_deferred(const stream_relay_reader *r, int64_t *out);

/**
 * Why the reader last deferred a message ("stream seq 31 (subject
 * stream.events.play): event type 14 is unknown to this build of libstream
 * (it knows 1..13): a newer one relayed it; delivered again in 60000 ms"),
 * "" when it never did. Borrowed from the reader: valid until its next
 * run_once or free. NULL for a NULL reader.
 */
STREAM_API const char *stream_relay_reader_deferral(const stream_relay_reader *r);

/**
 * Messages of the stream the reader's durable has not had acknowledged yet
 * (JetStream's pending plus delivered-and-unacknowledged counts, deferred
 * messages included; 0 when caught up) into `*out`. Errors: STREAM_EINVAL, STREAM_EIO (NATS; not
 * connected: at once, with the rounds' message, rather than after
 * timeout_ms).
 */
STREAM_API int stream_relay_reader_lag(stream_relay_reader *r, int64_t *out);

#ifdef __cplusplus
}
#endif
#endif /* STREAM_RELAY_H */
