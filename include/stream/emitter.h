/**
 * @file stream/emitter.h
 * @brief The player-event emitter (floor 3, client side of "events"): queue
 *        player events without ever blocking the player, batch them, and send
 *        them to streamd's POST /v1/events from a background thread.
 *
 * stream_emitter_emit() validates the event with the ingest's rules (an
 * invalid event would make the server refuse its whole batch), gives it an id
 * and a timestamp when missing, and copies it into a bounded in-memory ring
 * under a lock held only for that copy: it never waits for I/O or for the
 * sender. When the ring is full the oldest queued event is dropped (counted in
 * `dropped`).
 *
 * The sender thread forms a batch when `batch_max_events` are queued, when
 * the protobuf batch would exceed `batch_max_bytes`, or `flush_interval_ms`
 * after the oldest queued event; it posts the batch (protobuf, gzip) with the
 * access token, over one keep-alive connection. Only the ingest's answer
 * acknowledges the batch: a 2xx whose body is its JSON object with a numeric
 * "accepted" (0 when every event was a duplicate); the server has committed
 * it, and its event ids make a resend harmless. Network errors, 3xx
 * (redirects are not followed), 5xx, 401/403 (waiting for a new token), 408,
 * 429, and a 2xx with any other body (a captive portal or a proxy answering
 * for the server) are retried with exponential backoff and full jitter, capped
 * at `backoff_max_ms`. A 429 or 503 is never retried sooner than that backoff
 * nor than `backoff_base_ms`; its Retry-After header (delay-seconds, or an
 * HTTP-date in any of RFC 9110's three forms) makes the delay longer when it
 * asks for more, up to one hour (a larger value or a later date waits one
 * hour). A Retry-After that is neither, as a whole ("0.5", "-3", a date with
 * anything after it), counts as absent, not as 0; a date in the past as 0.
 * stream_emitter_set_token() does not cut such a wait short. An outage is
 * logged once (STREAM_LOG_WARN), not at every attempt.
 * Any other 4xx with an application/problem+json body (streamd's refusals)
 * refuses the batch for good (counted in `rejected`, logged, its spool record
 * acknowledged); without one (a portal's or a proxy's own 404 page) it is
 * retried like a network error. That is the media type itself, in any case,
 * parameters allowed ("application/problem+json; charset=utf-8"), not a
 * longer one ("application/problem+jsonx"). A 403 whose problem type is
 * urn:libstream:problem:event-profile-forbidden refuses the batch for good in
 * the same way: an event of it names a profile the token may not name (one
 * deleted since, or the profile before a switch to another), which no new
 * token changes, so that batch is dropped and the later ones are sent; a 403
 * of any other type (or without a problem body) is still retried, waiting
 * for a new token.
 *
 * Spool (optional, `spool_path`): every batch is appended to the spool file
 * and synced before it is sent, and an acknowledgement record is appended
 * after the server acknowledged it. Records carry a length and a CRC-32, so a
 * kill -9 in the middle of a write leaves a torn tail that the next open
 * discards (a damaged record in the middle is skipped, the good ones after it
 * are kept); unacknowledged batches are sent again after a restart (duplicates
 * are removed by the server). A batch read back to be sent has its CRC
 * checked again: one damaged on disk since, or that does not decode, is
 * dropped and counted in `spool_dropped` (and logged); a read error or a lack
 * of memory (also while decoding it) keeps it for a later attempt (with
 * backoff; after 10 read errors since its last successful read, lacks of
 * memory in between not resetting the count, it is dropped and counted; a
 * lack of memory never drops it; each batch has its own count, so the next
 * one starts afresh when the bound drops the failing one). The spool is bounded by
 * `spool_max_bytes` (at least twice `batch_max_bytes`): at
 * the bound the oldest unacknowledged batch other than the one being sent is
 * dropped (counted in `spool_dropped`). When a spool write fails (disk full),
 * the batch is sent from memory and no other batch is formed until it is
 * acknowledged. One emitter at a time may use a spool file (it is locked).
 * Without a spool, events still queued or in flight when the process dies are
 * lost.
 *
 * Memory bound: queue_max * (sizeof(stream_event) + 12) (about 1 KiB each)
 * for the ring, plus one batch in flight: batch_max_events * sizeof(stream_event) and
 * at most 2 * batch_max_bytes of encoded and compressed body, plus the spool's
 * index (32 bytes per unacknowledged batch). The defaults
 * (2000 events, 300 events / 256 KiB batches) stay under 3 MiB.
 *
 * Thread-safety: every function may be called from any thread at once, except
 * stream_emitter_free(), which no other call may overlap. The optional
 * callback runs on the sender thread.
 */
#ifndef STREAM_EMITTER_H
#define STREAM_EMITTER_H

#include <stddef.h>
#include <stdint.h>

#include "stream/common.h"
#include "stream/event.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest base URL and access token accepted. */
#define STREAM_EMITTER_URL_MAX 1024
#define STREAM_EMITTER_TOKEN_MAX 8192
/** Bounds of the options (0 in the options means "the default"). */
#define STREAM_EMITTER_QUEUE_MAX 1000000
#define STREAM_EMITTER_BATCH_MAX 1000

/** What happened to a batch, as told to the callback. */
typedef enum stream_emitter_outcome {
  STREAM_EMITTER_ACKED = 1,   /**< the server committed it (2xx, the ingest's answer) */
  STREAM_EMITTER_REJECTED = 2 /**< the server refused it for good (4xx): dropped */
} stream_emitter_outcome;

/**
 * Called on the sender thread once per finished batch with its events
 * (borrowed for the call). Must be quick and must not call the emitter.
 */
typedef void (*stream_emitter_batch_fn)(void *userdata, int outcome, const stream_event *events,
                                        size_t count);

/** Options of stream_emitter_new(). Strings are copied. */
typedef struct stream_emitter_options {
  unsigned int version;             /**< STREAM_EMITTER_OPTIONS_VERSION */
  const char *base_url;             /**< streamd, e.g. "http://127.0.0.1:8080" (required) */
  const char *access_token;         /**< viewer access token; NULL = set later */
  size_t queue_max;                 /**< ring capacity in events, default 2000 */
  size_t batch_max_events;          /**< default 300, at most STREAM_EMITTER_BATCH_MAX */
  size_t batch_max_bytes;           /**< protobuf bytes per batch, default 256 KiB, at most 1 MiB */
  unsigned int flush_interval_ms;   /**< default 10000 */
  unsigned int backoff_base_ms;     /**< first retry delay, default 500 */
  unsigned int backoff_max_ms;      /**< retry delay cap, default 10000 */
  unsigned int timeout_ms;          /**< per request, default 10000 */
  unsigned int shutdown_ms;         /**< how long stream_emitter_free() flushes, default 2000 */
  int no_gzip;                      /**< 1 = send uncompressed */
  const char *spool_path;           /**< spool file, NULL = no spool */
  size_t spool_max_bytes;           /**< default 16 MiB, >= 64 KiB and >= 2 * batch_max_bytes */
  stream_emitter_batch_fn on_batch; /**< optional */
  void *userdata;
  /* Since version 2 (read only when `version` is 2 or more, so a caller built against
   * version 1, which lacks them, keeps working): */
  const char *ca_file; /**< https: PEM bundle of trusted CAs; NULL: the system's */
  const char *ca_path; /**< https: directory of hashed CA certificates; NULL: none */
} stream_emitter_options;

#define STREAM_EMITTER_OPTIONS_VERSION 2
#define STREAM_EMITTER_OPTIONS_INIT                                                                \
  {                                                                                                \
    STREAM_EMITTER_OPTIONS_VERSION, NULL, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0, NULL, NULL,    \
        NULL, NULL                                                                                 \
  }

/** Counters since stream_emitter_new() (queued is the current ring size). */
typedef struct stream_emitter_stats {
  uint64_t emitted;       /**< events accepted by emit */
  uint64_t queued;        /**< events in the ring now */
  uint64_t sent;          /**< events in acknowledged batches */
  uint64_t duplicates;    /**< of them, already stored at the server (resends); a server's
                               count above its batch's events is taken as the batch's count */
  uint64_t dropped;       /**< oldest events dropped from the full ring */
  uint64_t rejected;      /**< events in batches the server refused for good */
  uint64_t retried;       /**< batch sends retried */
  uint64_t spooled;       /**< events written to the spool */
  uint64_t spool_dropped; /**< events dropped from the full spool */
  uint64_t batches;       /**< batches acknowledged */
} stream_emitter_stats;

/** An event emitter. Thread-safe (see the file comment). */
typedef struct stream_emitter stream_emitter;

/**
 * Create an emitter and start its sender thread. With a spool, batches left
 * unacknowledged by a previous run are loaded and sent first (a torn last
 * record is discarded). On success `*out` belongs to the caller, who frees it
 * with stream_emitter_free().
 * `base_url` follows stream_client_new()'s rule: http:// or https:// (any
 * case), a host, an optional path prefix (trailing slashes dropped; events go
 * to <base_url>/v1/events), no query, fragment, user:password@ or "." / ".."
 * path segment, no space, control or non-ASCII byte, and libcurl must parse
 * it.
 * https certificates are verified (peer and host name) against `ca_file` /
 * `ca_path` when given, else the system's trust store, as stream_client_new()
 * does; libcurl also honours the proxy environment variables (`https_proxy`,
 * `http_proxy`, `no_proxy`, ...) for the emitter as for the client.
 * Errors: STREAM_EINVAL (NULL, a version other than 1 or 2, a base URL missing, over
 * STREAM_EMITTER_URL_MAX or against that rule, an access token over
 * STREAM_EMITTER_TOKEN_MAX or with a byte outside printable ASCII 0x21..0x7e
 * (it goes into the Authorization header as it is; the message gives the
 * offset, never the token), a ca_file or ca_path that is empty or over 4096
 * bytes, options out of range, spool_max_bytes under
 * twice batch_max_bytes, both named in the message), STREAM_EIO (spool
 * cannot be opened or read; libcurl cannot be initialised), STREAM_EBUSY (the
 * spool file is in use by another emitter), STREAM_ECRYPTO (no random bytes
 * for the event ids), STREAM_ENOMEM.
 */
STREAM_API int stream_emitter_new(stream_emitter **out, const stream_emitter_options *opts);

/**
 * Flush for at most the options' shutdown_ms, stop the sender and free the
 * emitter. Events not acknowledged by then are lost, unless spooled (they are
 * sent by the next emitter on the same spool). NULL is a no-op.
 */
STREAM_API void stream_emitter_free(stream_emitter *em);

/**
 * Queue a copy of `ev` (its seq, account_id and server_ts are ignored, and so
 * are the error fields of an event that is not STREAM_EVENT_ERROR: they are
 * cleared, not refused). An empty id gets a random UUID (version 4), a zero
 * client_ts the current time.
 * `out_id` (may be NULL; STREAM_EVENTS_UUID_LEN + 1 bytes) receives the id.
 * Never blocks on I/O; when the ring is full the oldest event is dropped.
 * Errors: STREAM_EINVAL (NULL, or an event the ingest would refuse: the
 * message names the field), STREAM_ECANCELED (the emitter is shutting down).
 */
STREAM_API int stream_emitter_emit(char *out_id, stream_emitter *em, const stream_event *ev);

/**
 * Replace the access token used from the next request on (e.g. after a
 * refresh). NULL or "" clears it. A batch waiting out a 401/403 (or any
 * other backoff) is sent at once with it, one waiting out a 429 or 503 is
 * not. Errors: STREAM_EINVAL (over-long, or a byte outside printable ASCII
 * 0x21..0x7e: the token in use stays), STREAM_ENOMEM.
 */
STREAM_API int stream_emitter_set_token(stream_emitter *em, const char *access_token);

/**
 * Send everything emitted before this call (by any thread, and batches left in
 * the spool by a previous run) now, and wait until all of it is acknowledged,
 * refused or dropped (full ring, spool bound), for at most `timeout_ms`.
 * Events emitted during the call are sent as well but not waited for, so
 * steady emission from other threads does not delay it.
 * Errors: STREAM_EINVAL, STREAM_ETIMEDOUT (still unacknowledged: queued,
 * retrying or spooled; nothing is lost by the timeout itself).
 */
STREAM_API int stream_emitter_flush(stream_emitter *em, unsigned int timeout_ms);

/** Copy the counters into `*out`. Errors: STREAM_EINVAL. */
STREAM_API int stream_emitter_stats_get(stream_emitter_stats *out, stream_emitter *em);

#ifdef __cplusplus
}
#endif
#endif /* STREAM_EMITTER_H */
