/*
 * The periodic-job thread of streamd's background jobs (billing renewals,
 * recs retrain, retention purge, QoE consumer, upload sweeper): a thread that
 * calls a function every `interval_s` seconds until it is stopped. It sleeps
 * on a condition variable with a CLOCK_MONOTONIC deadline, so stopping it is
 * immediate (wall-clock changes do not move the schedule); the function runs
 * with no lock held, and a call in progress is finished before stop returns.
 */
#ifndef STREAMD_TICKER_H
#define STREAMD_TICKER_H

typedef struct streamd_ticker streamd_ticker;

/* Start a thread that calls first(ud) at once (when `first` is not NULL), then fn(ud) one
 * interval later and every interval_s seconds after the end of the previous call, until
 * streamd_ticker_stop. `ud` is borrowed: it must outlive the ticker. interval_s 0 or a NULL
 * `fn` is refused. 0 or -1 (not logged: the caller names its thread); `*out` is NULL on -1. */
int streamd_ticker_start(streamd_ticker **out, unsigned int interval_s, void (*first)(void *ud),
                         void (*fn)(void *ud), void *ud);

/* Ask for a call of fn now (after the one in progress, if any); the next interval counts from
 * its end. Thread-safe. NULL is a no-op. */
void streamd_ticker_kick(streamd_ticker *t);

/* Wake the thread and join it (a call in progress finishes first), free. NULL is a no-op. Not
 * thread-safe against another stop or kick of the same ticker. */
void streamd_ticker_stop(streamd_ticker *t);

#endif
