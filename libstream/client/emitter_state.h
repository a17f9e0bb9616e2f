/*
 * Internal (client/emitter.c, client/emitter_sender.c): the emitter's state,
 * shared by the public calls (emitter.c) and the sender thread
 * (emitter_sender.c). Which fields are immutable, under `lock` or the sender
 * thread's own is said in the struct.
 */
#ifndef STREAM_CLIENT_EMITTER_STATE_H
#define STREAM_CLIENT_EMITTER_STATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>

#include "spool.h"
#include "stream/emitter.h"

typedef struct em_batch {
  bool valid;
  stream_event *ev; /* count events */
  size_t count;
  uint8_t *body; /* encoded (and compressed) body */
  size_t body_len;
  bool spooled;
  uint64_t spool_id;
  uint64_t seq; /* emit sequence number of its first event (they follow on); 0 = a previous run */
  unsigned int attempts;
} em_batch;

struct stream_emitter {
  /* configuration (immutable after new) */
  char *url;
  size_t queue_max, batch_max_events, batch_max_bytes;
  int64_t flush_interval, backoff_base, backoff_max, timeout, shutdown;
  bool gzip;
  stream_emitter_batch_fn on_batch;
  void *userdata;

  pthread_mutex_t lock;
  pthread_cond_t wake; /* the sender: events, flush, stop */
  pthread_cond_t idle; /* flush waiters: a batch finished */
  pthread_t thread;
  bool thread_started;

  /* under lock */
  stream_event *ring;
  int64_t *ring_ts;  /* monotonic ms when each slot was queued */
  uint32_t *ring_sz; /* its encoded size in a batch, computed by emit */
  size_t head, count;
  char *token;
  uint64_t token_gen; /* bumped by set_token */
  int64_t not_before; /* monotonic ms: a 429/503's wait, which set_token does not cut short */
  bool stopping;
  int64_t deadline; /* when stopping */
  unsigned int flushers;
  /* Events get emit sequence numbers 1, 2, ... (st.emitted after their emit), so the ring holds
   * st.emitted - count + 1 .. st.emitted. held_low is the lowest one the sender holds outside
   * the ring (being placed, in hand or spooled; 0 for batches of a previous run), UINT64_MAX for
   * none: a flush is done when both are past the last event emitted before it. */
  uint64_t held_low;
  stream_emitter_stats st;
  uint64_t rng;
  unsigned char id_base[16]; /* random; event ids are this XOR a counter */
  atomic_uint_fast64_t id_counter;

  /* sender thread only */
  em_batch cur;
  emitter__spool spool;
  bool has_spool;
  CURL *curl;
  int64_t next_send;          /* monotonic ms */
  bool outage;                /* a failure was logged, no acknowledgement since */
  int64_t spool_retry_at;     /* after a failed read of the oldest spooled batch */
  unsigned int spool_retries; /* failed reads of it in a row (the backoff) */
  unsigned int spool_errors;  /* read errors since its last load (the limit) */
  uint64_t spool_errors_of;   /* the spooled batch the two counts above are for */
};

/* The sender thread (emitter_sender.c): started by stream_emitter_new() with the emitter as
 * `arg`; returns once `stopping` is set and nothing is left to send or `deadline` has passed
 * (what is left then goes to the spool, when there is one). */
void *emitter__sender_main(void *arg);

/* Frees a batch's events and body; the batch is empty (not valid) afterwards. */
void emitter__batch_clear(em_batch *b);

/* A deadline in monotonic ms as the timespec pthread_cond_timedwait() takes (the emitter's
 * condition variables use CLOCK_MONOTONIC: see stream_emitter_new). */
static inline void emitter__abs_time(struct timespec *out, int64_t mono_deadline)
{
  out->tv_sec = (time_t)(mono_deadline / 1000);
  out->tv_nsec = (long)(mono_deadline % 1000) * 1000000L;
}

#endif
