/*
 * Internal interface of the QoE consumer (qoe.c) shared with the exports
 * (export.c) and the unit tests. Not installed.
 */
#ifndef STREAM_EVENTS_QOE_INTERNAL_H
#define STREAM_EVENTS_QOE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "stream/events.h"

/* Rebuild one view's record from its events, sorted by (client_ts, seq).
 * `n` > 0. Derived fields are filled by events__qoe_finish(). */
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
