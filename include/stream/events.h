/**
 * @file stream/events.h
 * @brief Player events, server side (floor 2, "events"): ingest of event
 *        batches with validation and de-duplication, the append-only event
 *        log (outbox) and consumer checkpoints.
 *
 * A batch arrives as protobuf (libstream/proto/events.proto, message Batch)
 * or as JSON with the same field names (docs/api/events.md), optionally
 * gzip-compressed. Ingest is all-or-nothing: the body is decompressed under a
 * hard size cap, decoded, and every event validated (sizes, enums, ids)
 * before anything is written; one malformed event refuses the whole batch.
 * The accepted events are then appended to the event log in ONE write
 * transaction, skipping event ids the log already holds (duplicates, also
 * within the batch). A STREAM_OK return means that transaction committed, so
 * a sender may retry any batch that got no answer: retries are idempotent.
 *
 * Durability (SQLite backend: WAL, synchronous = NORMAL): a committed batch
 * survives the process being killed (kill -9) at any moment; an operating
 * system crash or power loss may roll back the last transactions committed
 * before the last WAL checkpoint sync (never a partial batch, never
 * corruption). See docs/api/events.md.
 *
 * The event log gives every stored event a sequence number that only grows.
 * A consumer reads the events after its checkpoint with
 * stream_events_poll() and advances the checkpoint with
 * stream_events_commit(), a compare-and-set, so two instances of a consumer
 * never both advance from the same position; a consumer that crashes
 * between the two calls sees the same events again (at-least-once: consumers
 * must be idempotent, e.g. keyed by event id).
 *
 * Thread-safety: a stream_events handle may be used by any number of threads
 * at once (its configuration is immutable; the store is thread-safe).
 */
#ifndef STREAM_EVENTS_H
#define STREAM_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "stream/common.h"
#include "stream/event.h"
#include "stream/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most events in one batch. */
#define STREAM_EVENTS_BATCH_MAX 1000
/** Largest batch body after decompression (and before, when not compressed), bytes. */
#define STREAM_EVENTS_BODY_MAX (1024 * 1024)
/** Most events one poll / read returns. */
#define STREAM_EVENTS_READ_MAX 10000
/** Longest consumer name (characters of [a-z0-9_.-]). */
#define STREAM_EVENTS_CONSUMER_MAX 64

/** Body formats of stream_events_ingest(). */
typedef enum stream_events_format {
  STREAM_EVENTS_PROTOBUF = 1, /**< application/x-protobuf: a serialized Batch */
  STREAM_EVENTS_JSON = 2      /**< application/json: {"events": [...]} */
} stream_events_format;

/** The outcome of one ingested batch. */
typedef struct stream_events_result {
  size_t accepted;   /**< events newly stored */
  size_t duplicates; /**< events whose id was already stored (or repeated in the batch) */
} stream_events_result;

/** Returns the current time in milliseconds since the epoch (injectable clock). */
typedef int64_t (*stream_events_clock_fn)(void *userdata);

/** An event-ingest handle. Thread-safe (see the file comment). */
typedef struct stream_events stream_events;

/** Options of stream_events_new(). */
typedef struct stream_events_options {
  unsigned int version;          /**< STREAM_EVENTS_OPTIONS_VERSION */
  stream_store *store;           /**< borrowed; must outlive the handle */
  size_t max_body;               /**< decompressed body cap, 0 = STREAM_EVENTS_BODY_MAX */
  size_t max_events;             /**< events per batch, 0 = STREAM_EVENTS_BATCH_MAX */
  stream_events_clock_fn now_ms; /**< NULL = the system clock */
  void *now_userdata;
} stream_events_options;

#define STREAM_EVENTS_OPTIONS_VERSION 1
#define STREAM_EVENTS_OPTIONS_INIT                                                                 \
  {                                                                                                \
    STREAM_EVENTS_OPTIONS_VERSION, NULL, 0, 0, NULL, NULL                                          \
  }

/**
 * Create an ingest handle over `opts->store`. On success `*out` belongs to
 * the caller, who frees it with stream_events_free().
 * Errors: STREAM_EINVAL (NULL argument, wrong version, max_body over
 * STREAM_EVENTS_BODY_MAX, max_events over STREAM_EVENTS_BATCH_MAX),
 * STREAM_ENOTSUP (the store backend has no event tables), STREAM_ENOMEM.
 */
STREAM_API int stream_events_new(stream_events **out, const stream_events_options *opts);

/** Free the handle (not the store). NULL is a no-op. */
STREAM_API void stream_events_free(stream_events *ev);

/**
 * Ingest one batch: `body` of `len` bytes in `format` (a stream_events_format),
 * gzip-compressed when `gzip` is nonzero. `account_id` and `profile_id`
 * identify the sender (from its verified credential; profile_id may be NULL
 * or ""): they are stored with every event; an event naming another profile
 * than the credential's is refused. All-or-nothing (see the file comment).
 * `*out` (may be NULL) receives the counts.
 * Errors, all storing nothing: STREAM_EINVAL (NULL argument, bad format,
 * empty body), STREAM_EPROTO (truncated or corrupt gzip, malformed protobuf
 * or JSON, an invalid event: the message names the event's index and field),
 * STREAM_ERANGE (body over the cap before or after decompression, too many
 * events), STREAM_EFORBIDDEN (an event of another profile), STREAM_EBUSY /
 * STREAM_EIO (storage), STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_events_ingest(stream_events *ev, stream_events_result *out, const void *body,
                                    size_t len, int format, int gzip, const char *account_id,
                                    const char *profile_id);

/**
 * Read up to `limit` (1..STREAM_EVENTS_READ_MAX) events of the log with
 * sequence number greater than `after_seq`, in sequence order. `*out`
 * (caller frees with stream_free(); NULL when none) holds `*out_count`
 * events. Errors: STREAM_EINVAL, STREAM_EIO, STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_events_read(stream_events *ev, stream_event **out, size_t *out_count,
                                  int64_t after_seq, unsigned int limit);

/**
 * The stored event with id `id` (a UUID, either case) into `*out`.
 * Errors: STREAM_EINVAL, STREAM_ENOTFOUND, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_events_get(stream_events *ev, stream_event *out, const char *id);

/**
 * Number of events in the log into `*out` and the highest sequence number
 * into `*out_last_seq` (either may be NULL; 0 when the log is empty).
 * Errors: STREAM_EINVAL, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_events_stats(stream_events *ev, int64_t *out, int64_t *out_last_seq);

/**
 * A consumer's checkpoint: the sequence number of the last event it has
 * processed, 0 for a consumer that never committed. `consumer` is 1..64
 * characters of [a-z0-9_.-]. Errors: STREAM_EINVAL, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_events_checkpoint(stream_events *ev, int64_t *out, const char *consumer);

/**
 * Read up to `limit` events after `consumer`'s checkpoint: like
 * stream_events_read() from stream_events_checkpoint(). `*out_from`
 * receives the checkpoint read (pass it to stream_events_commit()).
 * `*out` (caller frees with stream_free(); NULL when none) holds
 * `*out_count` events. Errors: as stream_events_read(). Thread-safe.
 */
STREAM_API int stream_events_poll(stream_events *ev, stream_event **out, size_t *out_count,
                                  int64_t *out_from, const char *consumer, unsigned int limit);

/**
 * Advance `consumer`'s checkpoint from `from_seq` to `to_seq` atomically:
 * only when the stored checkpoint still equals `from_seq` (compare-and-set).
 * Errors: STREAM_EINVAL (bad name, to_seq < from_seq, to_seq beyond the
 * log's last sequence number), STREAM_ECONFLICT (the checkpoint moved:
 * another instance committed first; poll again), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_events_commit(stream_events *ev, const char *consumer, int64_t from_seq,
                                    int64_t to_seq);

#ifdef __cplusplus
}
#endif
#endif /* STREAM_EVENTS_H */
