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
 * Durability (SQLite backend, WAL): with the store's default
 * STREAM_STORE_SYNC_FULL a committed batch survives the process being killed
 * (kill -9), an operating-system crash and a power loss; a store opened with
 * STREAM_STORE_SYNC_NORMAL keeps it through a process crash only (an OS crash
 * or power loss may roll back the last committed batches, never a part of
 * one). See docs/api/events.md and stream_store_sync in stream/store.h.
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
 * or ""): they are stored with every event. With a `profile_id`, an event
 * naming another profile is refused. Without one (an account credential), an
 * event's own profile id is kept only when the handle's store holds that
 * profile in account `account_id` (stream_store_profile_get(), one lookup per
 * batch and profile); another account's profile, an unknown one and an id no
 * profile can have are refused alike, with the same message, so the answer
 * does not tell which profile ids exist. All-or-nothing (see the file
 * comment). `*out` (may be NULL) receives the counts.
 * Errors, all storing nothing: STREAM_EINVAL (NULL argument, bad format,
 * empty body, `account_id` missing, `account_id` or `profile_id` over 64
 * characters or holding a space or a non-printable character),
 * STREAM_EPROTO (truncated or corrupt gzip, malformed protobuf
 * or JSON, an invalid event: the message names the event's index and field),
 * STREAM_ERANGE (body over the cap before or after decompression, too many
 * events), STREAM_EFORBIDDEN (an event of another profile than the
 * credential's, or, without one, of no profile of `account_id`: the only
 * cause of this code here, never storage, so the caller may take it as a
 * refusal of the batch for good rather than of the credential; streamd
 * answers it 403 urn:libstream:problem:event-profile-forbidden),
 * STREAM_EBUSY / STREAM_EIO (storage, the profile lookup too),
 * STREAM_ENOMEM (also out of memory while inflating or decoding protobuf:
 * the batch may be good, try again; JSON's parser cannot tell a lack of
 * memory from bad JSON, that is STREAM_EPROTO). Thread-safe.
 */
STREAM_API int stream_events_ingest(stream_events *ev, stream_events_result *out, const void *body,
                                    size_t len, int format, int gzip, const char *account_id,
                                    const char *profile_id);

/**
 * Append `n` (1..STREAM_EVENTS_READ_MAX) events from a TRUSTED source, such
 * as the relay's reader (stream/relay.h) filling a replica from another
 * event log: unlike stream_events_ingest(), the events keep the account_id,
 * profile_id and server_ts they carry (the ingest takes the first two from
 * the sender's credential and the last from its clock, and ignores what an
 * event says). Never expose it to players. Every event is validated first,
 * as stream_events_validate() does; then all of them are appended in ONE
 * write transaction, skipping ids the log already holds (also earlier in the
 * array): all-or-nothing and idempotent, like the ingest. An event whose id
 * is stored already is skipped whole, even when its other fields differ.
 * `seq` is ignored (the log assigns it). `events` is not modified (ids are
 * lowercased in a copy). `*out` (may be NULL) receives the counts (accepted:
 * events newly stored; duplicates: the others).
 * Errors, all storing nothing: STREAM_EINVAL (NULL argument), STREAM_ERANGE
 * (n 0 or over STREAM_EVENTS_READ_MAX), STREAM_EPROTO (an invalid event: the
 * message names its index and field), STREAM_EBUSY / STREAM_EIO (storage),
 * STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_events_append(stream_events *ev, stream_events_result *out,
                                    const stream_event *events, size_t n);

/**
 * Check one event as stream_events_append() does, without storing it: every
 * player field with the ingest's rules (docs/api/events.md "Validation"),
 * account_id (required) and profile_id (optional) with the rules of a
 * credential's ids (1..64 printable ASCII characters without spaces), and
 * server_ts (milliseconds since the epoch, > 0). Lowercases `e->id`. For a
 * trusted source that sets invalid events apart before an all-or-nothing
 * append. Errors: STREAM_EINVAL (NULL), STREAM_EPROTO (the message names
 * the field). Thread-safe (pure).
 */
STREAM_API int stream_events_validate(stream_event *e);

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
 * into `*out_last_seq` (either may be NULL; 0 when the log is empty). The
 * count reads the whole log; with `out` NULL it is skipped where the store
 * can (SQLite: one index lookup). The last sequence number minus a
 * checkpoint is NOT the number of events after it (sequence numbers skip:
 * a duplicate id takes one, deleted events leave holes): a consumer's lag
 * is stream_events_lag().
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
 * A consumer's lag: the number of events in the log after `consumer`'s
 * checkpoint (stream_events_checkpoint()), counted up to `max` (> 0), so
 * `*out` = min(lag, max). Events are counted, not sequence numbers
 * subtracted (those skip). Cost: an index range scan of at most `max`
 * entries, cheap enough for a metrics scrape with a bounded `max`.
 * Errors: STREAM_EINVAL (NULL argument, bad consumer name, max <= 0),
 * STREAM_ENOTSUP (a store backend without the count), STREAM_EIO.
 * Thread-safe.
 */
STREAM_API int stream_events_lag(stream_events *ev, int64_t *out, const char *consumer,
                                 int64_t max);

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
 * Errors: STREAM_EINVAL (NULL handle, bad name, from_seq < 0, to_seq <
 * from_seq, to_seq beyond the log's last sequence number), STREAM_ECONFLICT
 * (the checkpoint moved: another instance committed first; poll again),
 * STREAM_EBUSY (the store's write lock), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_events_commit(stream_events *ev, const char *consumer, int64_t from_seq,
                                    int64_t to_seq);

/* ---- QoE: per-view quality of experience and its aggregates -------------
 * Definitions (docs/api/events.md, "QoE"): they follow Mux Data / Conviva
 * (shared design analytics.md); where vendors differ the choice is written
 * there. Times are milliseconds of the player's clock (client_ts).
 */

/** Consumer name (checkpoint) of the QoE consumer, stream_events_qoe_run(). */
#define STREAM_EVENTS_QOE_CONSUMER "qoe"
/** Concurrent viewers: views with a playing or heartbeat event received (server
 * clock) in this many ms, and no ended or fatal error after it. Three heartbeats.
 * Counted per account and view id: only the account's own ended or fatal error
 * ends its viewer (stream_events_concurrent()). */
#define STREAM_EVENTS_CONCURRENT_WINDOW_MS 30000
/** A view with no event for this long is over (Mux keeps a view 60 minutes). */
#define STREAM_EVENTS_VIEW_TIMEOUT_MS 3600000
/** Default consumer name of stream_events_export(). */
#define STREAM_EVENTS_EXPORT_CONSUMER "export"

/**
 * One view's QoE record, rebuilt from its events by the QoE consumer. Plain data.
 *
 * A view belongs to one account: that of its first event in the log (lowest
 * seq). Events another account sends under the same view id (a reused or
 * guessed id, a buggy player) are not folded into the record: they stay in
 * the event log and its exports, and the consumer counts them
 * (stream_events_qoe_run_ex()). Every field below is computed from the
 * owner's events only. Closing an account blanks its account_id in the log
 * and in its records alike, so the view of a closed account is owned by ""
 * and still leaves other accounts' events out; only when both accounts were
 * closed can their events no longer be told apart.
 */
typedef struct stream_events_view {
  char view_id[STREAM_EVENTS_ID_SIZE];
  char session_id[STREAM_EVENTS_ID_SIZE];
  char account_id[STREAM_EVENTS_ID_SIZE]; /**< the owner ("" once its account was closed) */
  char profile_id[STREAM_EVENTS_ID_SIZE];
  char title_id[STREAM_EVENTS_ID_SIZE];
  char episode_id[STREAM_EVENTS_ID_SIZE];
  char device_id[STREAM_EVENTS_ID_SIZE];
  char day[11];     /**< UTC day of start_ts, YYYY-MM-DD */
  int64_t start_ts; /**< ms: the play request (else the view's first event) */
  int64_t last_ts;  /**< ms: the view's last event */
  int64_t last_seq; /**< highest event-log seq folded into this record */
  int64_t events;   /**< events of the view folded in (the owner's) */
  int requested;    /**< 1: a playrequest (or play) was seen */
  int started;      /**< 1: the first frame played (a playing event) */
  int failed;       /**< 1: a fatal error (Playback Failure) */
  int start_failed; /**< 1: the fatal error came before the first frame (Video Start Failure) */
  int ended;        /**< 1: an ended event, a fatal error, or two events of the started view
                         STREAM_EVENTS_VIEW_TIMEOUT_MS or more apart closed the view */
  int exited_before_start; /**< 1: EBVS: requested, no failure, never started, and over (ended
                              or STREAM_EVENTS_VIEW_TIMEOUT_MS without events) */
  int error_code;          /**< code of the fatal error, 0 when none */
  int64_t startup_ms;      /**< Video Startup Time: play request to first playing, less a
                                pause in between; -1 unknown */
  int64_t watch_ms;        /**< play request to end, less pauses (startup + playing +
                                rebuffering + seeking + resume waits) */
  int64_t playing_ms;      /**< time in the playing state */
  int64_t rebuffer_count;
  int64_t rebuffer_ms;
  int64_t peak_br;         /**< highest rendition bitrate played, kbit/s */
  int64_t br_ms;           /**< playing time with a known bitrate (the weight of avg_br) */
  int64_t br_sum;          /**< sum of bitrate (kbit/s) x ms over br_ms: bits played */
  double rebuffer_pct;     /**< 100 * rebuffer_ms / watch_ms (0 when no watch time) */
  double rebuffer_per_min; /**< rebuffer_count per minute of watch time */
  double avg_br;           /**< time-weighted over playing time with a known bitrate, kbit/s */
} stream_events_view;

/** Aggregates of the views matching a filter (stream_events_qoe_stats()). Plain data. */
typedef struct stream_events_qoe_summary {
  int64_t views;              /**< views matching: records with a play request, a first frame
                                   or a fatal error (a view begins at the play request) */
  int64_t started;            /**< views that reached the first frame */
  int64_t failures;           /**< views with a fatal error */
  int64_t start_failures;     /**< fatal error before the first frame */
  int64_t exits_before_start; /**< EBVS views */
  double failure_pct;         /**< 100 * failures / views */
  double start_failure_pct;   /**< 100 * start_failures / views */
  double ebvs_pct;            /**< 100 * exits_before_start / views */
  int64_t startup_ms_p50;     /**< over started views with a known startup; -1 when none */
  int64_t startup_ms_p95;
  int64_t watch_ms; /**< sums over all views */
  int64_t playing_ms;
  int64_t rebuffer_count;
  int64_t rebuffer_ms;
  /* Rebuffering is defined only for started views (a first frame, as Mux):
   * the four rebuffer ratios below leave the other views out. */
  double rebuffer_pct;     /**< 100 * sum(rebuffer_ms) / sum(watch_ms), over started views */
  double rebuffer_per_min; /**< sum(rebuffer_count) per minute of sum(watch_ms), started views */
  double rebuffer_pct_p50; /**< per-view rebuffer_pct over started views with watch time;
                                0 when none */
  double rebuffer_pct_p95;
  double avg_br; /**< time-weighted over all playing time with a bitrate */
} stream_events_qoe_summary;

/** What one run of the QoE consumer did (stream_events_qoe_run_ex()). Plain data. */
typedef struct stream_events_qoe_run_result {
  unsigned int version;   /**< STREAM_EVENTS_QOE_RUN_RESULT_VERSION, set by the caller */
  int64_t events;         /**< events read from the log */
  int64_t views;          /**< view records written */
  int64_t foreign_events; /**< of the events read, those not folded into their view because
                               the view belongs to another account (stream_events_view) */
  /* version 2 */
  int64_t repair_failed; /**< failures of the repair of marked views (a view not rebuilt, a
                              page of marks not listed or stored), each logged as a warning;
                              their marks are kept and the next run tries again */
} stream_events_qoe_run_result;

#define STREAM_EVENTS_QOE_RUN_RESULT_VERSION 2
#define STREAM_EVENTS_QOE_RUN_RESULT_INIT                                                          \
  {                                                                                                \
    STREAM_EVENTS_QOE_RUN_RESULT_VERSION, 0, 0, 0, 0                                               \
  }

/**
 * Run the QoE consumer until it has caught up with the event log: read the
 * events after the "qoe" checkpoint in batches and update the record of every
 * view a batch touches. A view whose new events all come after its stored
 * state (higher seq, client time not earlier) and are all of the record's
 * account is folded on from that state; a new view, a late event, a replayed
 * range or an event of another account rebuilds the view from ALL its events
 * up to the batch's last seq (the owner's only: see stream_events_view).
 * Records, per-view state and the new checkpoint are stored in one
 * transaction, so reprocessing a seq range never double counts. Before the
 * batches, each record the store marked for a rebuild (one an older build
 * merged from several accounts' events, marked by schema migration 16) is
 * rebuilt from its view's events up to the checkpoint, new events or not,
 * and stored with the checkpoint unchanged (counted in `views`), 64 views
 * per commit. A view that cannot be rebuilt (say its events do not fit in
 * memory), or a page of marks that cannot be listed or stored, does not stop
 * the run: it is logged (STREAM_LOG_WARN) and counted in `repair_failed`,
 * its mark is kept for the next run, and the batches run as usual; the
 * return value is theirs (so a view that always fails cannot hold up the
 * consumer, nor fail every caller). `out` (set
 * `out->version`, e.g. with STREAM_EVENTS_QOE_RUN_RESULT_INIT) receives the
 * counts of the batches committed, also when a later batch fails; the
 * fields its version has are written, the others never.
 * Errors: STREAM_EINVAL (NULL argument, unknown `out->version`),
 * STREAM_ECONFLICT (another instance moved the checkpoint; nothing of this
 * batch, or of this page of the repair, stored; run again), STREAM_EBUSY,
 * STREAM_EIO, STREAM_ENOMEM (of a batch).
 * Thread-safe (instances exclude each other by the checkpoint's
 * compare-and-set).
 */
STREAM_API int stream_events_qoe_run_ex(stream_events *ev, stream_events_qoe_run_result *out);

/**
 * stream_events_qoe_run_ex() with two of its counts: `*out_events` and
 * `*out_views` (either may be NULL) receive the events read and records
 * written. Errors and thread-safety: as stream_events_qoe_run_ex().
 */
STREAM_API int stream_events_qoe_run(stream_events *ev, int64_t *out_events, int64_t *out_views);

/**
 * The QoE record of view `view_id` into `*out` (exited_before_start is
 * evaluated at the handle's clock). Errors: STREAM_EINVAL, STREAM_ENOTFOUND
 * (no such view, or the consumer has not reached it yet), STREAM_EIO.
 * Thread-safe.
 */
STREAM_API int stream_events_view_get(stream_events *ev, stream_events_view *out,
                                      const char *view_id);

/**
 * Aggregate the view records whose title, UTC day (YYYY-MM-DD of the view's
 * start) and device match; NULL or "" matches any. Percentiles are exact,
 * nearest-rank over the per-view values. Errors: STREAM_EINVAL (NULL
 * argument, bad day, a title or device filter over 64 characters or holding
 * a space or a non-printable character), STREAM_EIO, STREAM_ENOMEM.
 * Thread-safe.
 */
STREAM_API int stream_events_qoe_stats(stream_events *ev, stream_events_qoe_summary *out,
                                       const char *title_id, const char *day,
                                       const char *device_id);

/**
 * Concurrent viewers now (the handle's clock): see
 * STREAM_EVENTS_CONCURRENT_WINDOW_MS. A viewer is an (account_id, view_id)
 * pair: another account's events under a view id in use (stream_events_view)
 * neither end that view (its ended or fatal error) nor revive it once ended
 * (its heartbeat counts as that account's own viewer). Read from the event
 * log directly, so it does not wait for the QoE consumer. Errors:
 * STREAM_EINVAL, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_events_concurrent(stream_events *ev, int64_t *out);

/* ---- exports -------------------------------------------------------------- */

/** File formats of stream_events_export(). */
typedef enum stream_events_export_format {
  STREAM_EVENTS_EXPORT_NDJSON = 1, /**< newline-delimited JSON, one event per line */
  STREAM_EVENTS_EXPORT_CSV = 2     /**< RFC 4180 CSV with a header row */
} stream_events_export_format;

/** Options of stream_events_export(). */
typedef struct stream_events_export_options {
  unsigned int version;   /**< STREAM_EVENTS_EXPORT_OPTIONS_VERSION */
  const char *dir;        /**< existing directory for the batch files */
  int format;             /**< a stream_events_export_format */
  const char *consumer;   /**< checkpoint name, NULL = STREAM_EVENTS_EXPORT_CONSUMER */
  unsigned int batch_max; /**< events per file, 0 = 10000 (at most STREAM_EVENTS_READ_MAX) */
  unsigned int max_files; /**< stop after this many files, 0 = until caught up */
} stream_events_export_options;

#define STREAM_EVENTS_EXPORT_OPTIONS_VERSION 1
#define STREAM_EVENTS_EXPORT_OPTIONS_INIT                                                          \
  {                                                                                                \
    STREAM_EVENTS_EXPORT_OPTIONS_VERSION, NULL, STREAM_EVENTS_EXPORT_NDJSON, NULL, 0, 0            \
  }

/** What one stream_events_export() call wrote. */
typedef struct stream_events_export_result {
  int64_t events;   /**< events written */
  int64_t files;    /**< batch files written */
  int64_t from_seq; /**< checkpoint before the call */
  int64_t to_seq;   /**< checkpoint after the call */
} stream_events_export_result;

/**
 * Export the events after the consumer's checkpoint as batch files named
 * events-<first seq>-<last seq>.ndjson|.csv (seqs zero-padded to 20 digits)
 * in `opts->dir`, with the columns of docs/api/events-bigquery-schema.json.
 * Each file is written to a temporary name, synced and renamed, then the
 * checkpoint advances: a crash leaves either no file or a complete one, and a
 * complete file found for the next range on restart is adopted rather than
 * written again, so a resumed export has no gaps and no duplicates. Holding
 * the directory's lock, it first removes the temporary batch files
 * (.events-<seq>-<seq>.<ext>.tmp) a crashed run left; nothing else.
 * `*out` (may be NULL) receives the counts. Errors: STREAM_EINVAL,
 * STREAM_EIO (the directory or a file), STREAM_ECONFLICT (another exporter
 * running into the same directory, which it holds with an flock; or, into
 * another directory, one that committed first), STREAM_EBUSY (storage: the
 * checkpoint's commit), STREAM_ENOMEM. Thread-safe;
 * exports into one directory take turns (the second fails at once).
 */
STREAM_API int stream_events_export(stream_events *ev, stream_events_export_result *out,
                                    const stream_events_export_options *opts);

/**
 * Write the QoE view records of UTC day `day` (NULL or "" = all days) to
 * `path` (atomically: temporary file, sync, rename) in `format`, with the
 * columns of docs/api/views-bigquery-schema.json. `*out_count` (may be NULL)
 * receives the rows written. Errors: STREAM_EINVAL, STREAM_EIO,
 * STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_events_export_views(stream_events *ev, int64_t *out_count, const char *path,
                                          int format, const char *day);

#ifdef __cplusplus
}
#endif
#endif /* STREAM_EVENTS_H */
