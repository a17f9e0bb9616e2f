/*
 * store: the player-event log (outbox) and consumer checkpoints, used only by
 * libstream/events/. Rows are the public stream_event. The log is append
 * only: a row's seq is assigned by the backend, grows strictly and is never
 * reused; the event id is unique, which is the de-duplication. Text arrives
 * checked by the events module (libstream/proto/event.c: ids of
 * [A-Za-z0-9._:-], other text UTF-8 without control characters; consumer
 * names and filters ASCII), so it is valid UTF-8 as the store requires.
 */
#ifndef STREAM_STORE_EVENTS_H
#define STREAM_STORE_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "stream/events.h"
#include "store_internal.h"

/* The QoE consumer's state machine between two events of a view (the
 * accumulator of libstream/events/qoe.c), stored next to the view's record so
 * later in-order events are folded in without re-reading the view. */
typedef struct stream_store_qoe_state {
  int64_t state;
  int64_t pre_seek;
  int64_t seek_stall;
  int64_t have_start;
  int64_t prev;
  int64_t br;
  int64_t first_ts;
} stream_store_qoe_state;

/* A view marked for a rebuild by the QoE consumer (rebuild_list). */
typedef struct stream_store_qoe_mark {
  char view_id[STREAM_EVENTS_ID_SIZE];
} stream_store_qoe_mark;

struct stream_store_event_ops {
  /* Append `n` validated events (seq ignored) in ONE write transaction,
   * skipping ids already stored (or earlier in the same array).
   * *out_inserted = rows added. Nothing is stored on failure. */
  int (*append)(void *impl, size_t *out_inserted, const stream_event *ev, size_t n);
  /* Up to `limit` rows with seq > after, in seq order; *out freed with free(),
   * NULL when none. */
  int (*read)(void *impl, stream_event **out, size_t *out_count, int64_t after, unsigned int limit);
  /* The row of `id` (lowercase UUID). STREAM_ENOTFOUND. */
  int (*get)(void *impl, stream_event *out, const char *id);
  /* Row count and highest seq (0, 0 when empty). */
  int (*stats)(void *impl, int64_t *out_count, int64_t *out_last_seq);
  /* Optional (NULL: stats() serves): the highest seq alone (0 when empty), without the row
   * count, which reads the whole log. */
  int (*last_seq)(void *impl, int64_t *out_last_seq);
  /* Rows with seq > after, counted up to `limit` (*out = min(count, limit)): a range scan
   * of the seq index that reads at most `limit` entries. */
  int (*count_after)(void *impl, int64_t *out, int64_t after, int64_t limit);
  /* The consumer's checkpoint, 0 when it has none. */
  int (*checkpoint_get)(void *impl, int64_t *out, const char *consumer);
  /* Compare-and-set in one write transaction: STREAM_ECONFLICT when the
   * stored checkpoint is not `from`, STREAM_EINVAL when `to` is beyond the
   * log's highest seq. */
  int (*checkpoint_set)(void *impl, const char *consumer, int64_t from, int64_t to, int64_t now);

  /* QoE (libstream/events/qoe.c). All events of one view with seq <= max_seq,
   * ordered by (client_ts, seq); *out freed with free(), NULL when none. */
  int (*view_events)(void *impl, stream_event **out, size_t *out_count, const char *view_id,
                     int64_t max_seq);
  /* The record of a view and its stored accumulator. STREAM_ENOTFOUND when
   * either is absent. Derived fields are left 0. */
  int (*state_get)(void *impl, stream_events_view *out_view, stream_store_qoe_state *out_state,
                   const char *view_id);
  /* Upsert `n` view records with their accumulators (`states[i]` belongs to
   * `v[i]`), drop their rebuild marks (rebuild_list) and move `consumer`'s
   * checkpoint from `from` to `to` (the compare-and-set of checkpoint_set) in
   * ONE write transaction. */
  int (*views_commit)(void *impl, const stream_events_view *v, const stream_store_qoe_state *states,
                      size_t n, const char *consumer, int64_t from, int64_t to, int64_t now);
  /* Views marked for a rebuild from the log (table qoe_rebuild: records an
   * older build merged from several accounts' events, schema migration 16;
   * their accumulators are gone): up to `limit` with a view id greater than
   * `after` (bytewise), in that order. *out freed with free(), NULL when none. */
  int (*rebuild_list)(void *impl, stream_store_qoe_mark **out, size_t *out_count, const char *after,
                      unsigned int limit);
  /* The record of a view. STREAM_ENOTFOUND. Derived fields are left 0. */
  int (*view_get)(void *impl, stream_events_view *out, const char *view_id);
  /* Call `fn` with every record matching the filters ("" = any), in
   * start_ts order, one row at a time (memory does not grow with the number
   * of views). The record is the callee's to modify; a non-OK return from
   * `fn` stops the scan and is returned. `fn` must not call the store (a
   * reader connection, or the writer of a ":memory:" store, is held). */
  int (*views_each)(void *impl, const char *title_id, const char *day, const char *device_id,
                    int (*fn)(void *ud, stream_events_view *v), void *ud);
  /* Distinct (account_id, view_id) pairs with a playing/heartbeat event of
   * server_ts >= since_ms and no later ended or fatal error of the same
   * account under that view id. */
  int (*concurrent)(void *impl, int64_t *out, int64_t since_ms);
};

#endif
