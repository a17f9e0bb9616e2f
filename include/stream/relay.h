/**
 * @file stream/relay.h
 * @brief The event-log relay to NATS JetStream (floor 3, "relay"): the
 *        scale-out transport of the event pipeline. It reads the event log
 *        (outbox, stream/events.h) after its own consumer checkpoint and
 *        publishes every event to a JetStream stream, so consumers on other
 *        machines read the events from NATS instead of the store.
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
                                   <prefix>.>, duplicate window STREAM_RELAY_DUPLICATE_WINDOW_S) */
  const char *user;           /**< user name (with password or secret_file); NULL = none */
  const char *password;       /**< the user's password; NULL = none (or from secret_file) */
  const char *token;          /**< an authentication token instead of a user; NULL = none */
  const char *secret_file;    /**< file whose first line is the password (with `user`) or
                                   else the token; NULL = none */
  const char *creds_file;     /**< NATS credentials file (user JWT + NKey seed); NULL = none */
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
 * user, a user without a password, a user, password or token, or a secret
 * file's first line, with a quote, backslash or control character: nats.c
 * sends credentials unescaped), STREAM_EIO (the secret or credentials
 * file cannot be read; a TLS file cannot be read or is not PEM of its kind,
 * or the key does not match the certificate: the message names the path,
 * never the key; NATS unreachable: the message names the URL; the TLS
 * handshake failed, e.g. the server's certificate is not signed by a trusted
 * CA or does not carry the URL's host name, or the server refused the client
 * certificate or its absence: the message says so and names the URL; the
 * server requires TLS and none was asked for),
 * STREAM_EAUTH (the server refused the credentials), STREAM_ENOTFOUND (no
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
 * Errors: STREAM_EINVAL, STREAM_EIO (not connected to NATS, or a
 * publication failed), STREAM_ETIMEDOUT (acknowledgements missing after
 * timeout_ms), STREAM_EPROTO (JetStream refused a message: the message
 * names the event and JetStream's reason), the event log's errors
 * (stream_events_poll(), stream_events_commit()), STREAM_ENOMEM.
 */
STREAM_API int stream_relay_run_once(stream_relay *r, int64_t *out_published,
                                     int64_t *out_duplicates);

/**
 * Events in the log after the relay's checkpoint (the last sequence number
 * minus the checkpoint; 0 when caught up) into `*out`.
 * Errors: STREAM_EINVAL, STREAM_EIO.
 */
STREAM_API int stream_relay_lag(stream_relay *r, int64_t *out);

#ifdef __cplusplus
}
#endif
#endif /* STREAM_RELAY_H */
