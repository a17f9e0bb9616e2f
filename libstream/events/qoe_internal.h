/*
 * Internal interface of the QoE consumer (qoe.c) shared with the exports
 * (export.c) and the unit tests. Not installed.
 */
#ifndef STREAM_EVENTS_QOE_INTERNAL_H
#define STREAM_EVENTS_QOE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream/events.h"

/* The QoE state machine's variables between two events of a view: with the
 * view's record they are everything needed to fold in later events. */
typedef struct events__qoe_acc {
  int state;        /* the state machine's state (enum in qoe.c) */
  int pre_seek;     /* state to return to after a seek */
  bool seek_stall;  /* a stall began during the seek and has not ended */
  bool have_start;  /* start_ts was set by a play request or the first frame */
  int64_t prev;     /* client_ts of the previous event (time is accounted from it) */
  int64_t br;       /* the current rendition's bitrate, kbit/s, 0 unknown */
  int64_t first_ts; /* client_ts of the view's first event (start_ts fallback) */
} events__qoe_acc;

/* Start an empty record and accumulator. */
void events__qoe_init(stream_events_view *v, events__qoe_acc *a);

/* Fold one event into the record; events come in (client_ts, seq) order.
 * Events after an ended/fatal error still count (events, last_seq, last_ts). */
void events__qoe_step(stream_events_view *v, events__qoe_acc *a, const stream_event *e);

/* Finish the stored fields after the last step (start_ts fallback, day). May
 * be followed by more steps and another end. */
void events__qoe_end(stream_events_view *v, const events__qoe_acc *a);

/* Rebuild one view's record from its events, sorted by (client_ts, seq):
 * init + a step for each event of the owner's account (that of the event with
 * the lowest seq; the others are left out) + end. `n` > 0. Derived fields are filled by
 * events__qoe_finish(). */
void events__qoe_compute(stream_events_view *out, const stream_event *ev, size_t n);

/* Fill the derived fields (ratios, averages, exited_before_start at `now_ms`). */
void events__qoe_finish(stream_events_view *v, int64_t now_ms);

/* The handle's clock, ms. */
int64_t events__qoe_now(const stream_events *ev);

/* NULL, "" or a YYYY-MM-DD day; else STREAM_EINVAL. */
int events__check_day(const char *day);

/* Exact nearest-rank percentile `p` (0 < p <= 100) of `n` > 0 sorted values. */
size_t events__rank(size_t n, int p);

#endif
