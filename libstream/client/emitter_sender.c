/*
 * The emitter's sender thread (emitter.c has the overview and the public
 * calls): it forms batches from the ring (count, bytes, age), encodes them
 * (protobuf, gzip), optionally spools them (spool.c), posts them
 * (emitter_http.c) and retries with capped exponential backoff and full
 * jitter, at least a 429's or 503's Retry-After.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/core.h"
#include "../proto/proto.h"
#include "emitter_internal.h"
#include "emitter_state.h"
#include "spool.h"

/* Reads of a spooled batch that fail (I/O error) before it is given up. A lack of memory does not
 * count: nothing is wrong with the batch, and memory comes back (the spool's bound still holds). */
#define SPOOL_READ_TRIES 10

static uint64_t next_rand(stream_emitter *em)
{
  /* xorshift64*: jitter only, not a secret. */
  uint64_t x = em->rng;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  em->rng = x;
  return x * 0x2545F4914F6CDD1DULL;
}

void emitter__batch_clear(em_batch *b)
{
  free(b->ev);
  free(b->body);
  memset(b, 0, sizeof *b);
}

/* The body to send: protobuf, gzip-compressed unless disabled. */
static int batch_encode(stream_emitter *em, em_batch *b, const uint8_t *pb, size_t len)
{
  if (!em->gzip) {
    b->body = malloc(len ? len : 1);
    if (!b->body)
      return stream__err(STREAM_ENOMEM, "emitter: out of memory");
    memcpy(b->body, pb, len);
    b->body_len = len;
    return STREAM_OK;
  }
  return emitter__gzip(&b->body, &b->body_len, pb, len);
}

/* ---- the ring (lock held) --------------------------------------------------- */

/* Move up to one batch worth of events out of the ring into b->ev. */
static int take_batch(stream_emitter *em, em_batch *b)
{
  size_t n = em->count < em->batch_max_events ? em->count : em->batch_max_events;
  b->ev = malloc((n ? n : 1) * sizeof *b->ev);
  if (!b->ev)
    return stream__err(STREAM_ENOMEM, "emitter: out of memory");
  b->seq = em->st.emitted - em->count + 1;
  if (b->seq < em->held_low) /* out of the ring, not yet in hand or spooled: still pending */
    em->held_low = b->seq;
  size_t bytes = 0, k = 0;
  while (k < n) {
    const stream_event *e = &em->ring[em->head];
    size_t sz = em->ring_sz[em->head];
    if (k > 0 && bytes + sz > em->batch_max_bytes)
      break;
    b->ev[k++] = *e;
    bytes += sz;
    em->head = (em->head + 1) % em->queue_max;
    em->count--;
  }
  b->count = k;
  return STREAM_OK;
}

static bool batch_ready(stream_emitter *em, int64_t now)
{
  if (em->count == 0)
    return false;
  if (em->count >= em->batch_max_events || em->stopping || em->flushers)
    return true;
  return now - em->ring_ts[em->head] >= em->flush_interval;
}

/* Whether the sender may form a batch now: without a spool only when it holds none; with one,
 * unless the batch in hand is not spooled (the spool failed: ENOSPC), since that one cannot be
 * put aside. */
static bool room_for_batch(const stream_emitter *em)
{
  return em->has_spool ? !(em->cur.valid && !em->cur.spooled) : !em->cur.valid;
}

/* What the sender holds outside the ring, for flush (see held_low); flushers are woken when it
 * moves on. Spooled batches are in emit order (no batch is formed while an unspooled one is in
 * hand), so the oldest one has the lowest number. */
static void publish_progress(stream_emitter *em)
{
  uint64_t low = em->cur.valid ? em->cur.seq : UINT64_MAX;
  if (em->has_spool && em->spool.n && em->spool.recs[0].seq < low)
    low = em->spool.recs[0].seq;
  if (low > em->held_low && em->flushers)
    pthread_cond_broadcast(&em->idle);
  em->held_low = low;
}

/* Exponential backoff with full jitter after `attempts` failures. */
static int64_t backoff_delay(stream_emitter *em, unsigned int attempts)
{
  int64_t cap = em->backoff_base << (attempts < 20 ? attempts : 20);
  if (cap > em->backoff_max || cap <= 0)
    cap = em->backoff_max;
  return (int64_t)(next_rand(em) % (uint64_t)(cap + 1));
}

/* ---- HTTP (emitter_http.c) ------------------------------------------------------- */

static bool should_abort(void *ud)
{
  stream_emitter *em = ud;
  pthread_mutex_lock(&em->lock);
  bool abort_now = em->stopping && stream__mono_ms() >= em->deadline;
  pthread_mutex_unlock(&em->lock);
  return abort_now;
}

/* POST the batch: the verdict (EMITTER__*), with the answer in *p and the generation of the
 * token it was sent with in *out_gen. */
static int post_batch(stream_emitter *em, const em_batch *b, emitter__post *p, uint64_t *out_gen)
{
  char auth[STREAM_EMITTER_TOKEN_MAX + 32] = "";
  pthread_mutex_lock(&em->lock);
  *out_gen = em->token_gen;
  if (em->token && em->token[0])
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", em->token);
  pthread_mutex_unlock(&em->lock);
  memset(p, 0, sizeof *p);
  p->url = em->url;
  p->auth = auth;
  p->gzip = em->gzip;
  p->timeout_ms = (long)em->timeout;
  p->body = b->body;
  p->body_len = b->body_len;
  p->should_abort = should_abort;
  p->userdata = em;
  int verdict = emitter__post_batch(em->curl, p);
  stream__wipe(auth, sizeof auth);
  p->auth = NULL;
  return verdict;
}

/* A failed attempt: logged once per outage (the first failure after an acknowledgement), so an
 * offline box does not log every retry. */
static void note_failure(stream_emitter *em, const emitter__post *p)
{
  if (em->outage) {
    stream__log(STREAM_LOG_DEBUG, "emitter", "batch not acknowledged: %s", p->why);
    return;
  }
  em->outage = true;
  stream__log(STREAM_LOG_WARN, "emitter",
              "events not acknowledged (%s): retrying with backoff until the server answers",
              p->why);
}

/* ---- the sender thread ---------------------------------------------------------- */

static void finish_batch(stream_emitter *em, int outcome, uint64_t dups)
{
  em_batch *b = &em->cur;
  if (em->on_batch)
    em->on_batch(em->userdata, outcome, b->ev, b->count);
  if (b->spooled && emitter__spool_ack(&em->spool, b->spool_id) != STREAM_OK)
    stream__log(STREAM_LOG_WARN, "emitter", "spool ack failed: %s", stream_error_last()->message);
  em->spool.busy = 0;
  pthread_mutex_lock(&em->lock);
  if (outcome == STREAM_EMITTER_ACKED) {
    em->st.sent += b->count;
    em->st.duplicates += dups < b->count ? dups : b->count; /* "of them": a server may say more */
    em->st.batches++;
  } else {
    em->st.rejected += b->count;
  }
  pthread_mutex_unlock(&em->lock);
  emitter__batch_clear(b);
}

/* Give up the oldest spooled batch (damaged, or unreadable every time): counted as dropped from
 * the spool, not lost silently. */
static void drop_spooled_head(stream_emitter *em, const char *why)
{
  emitter__spool_rec r = em->spool.recs[0];
  stream__log(STREAM_LOG_WARN, "emitter", "spooled batch %llu (%u events) dropped: %s",
              (unsigned long long)r.id, r.events, why);
  if (emitter__spool_ack(&em->spool, r.id) != STREAM_OK)
    stream__log(STREAM_LOG_WARN, "emitter", "spool ack failed: %s", stream_error_last()->message);
  em->spool_retries = 0;
  em->spool_errors = 0;
  pthread_mutex_lock(&em->lock);
  em->st.spool_dropped += r.events;
  pthread_mutex_unlock(&em->lock);
}

/* Load the oldest spooled batch into cur. One that fails its CRC on the way back (changed on disk
 * since it was written) or does not decode is dropped and counted (STREAM_EPROTO); a read error
 * or a lack of memory (STREAM_ENOMEM, also while decoding it: proto__alloc) leaves it in the spool
 * for a later attempt (that error). */
static int load_spooled(stream_emitter *em)
{
  uint8_t *pb = NULL;
  size_t len = 0;
  uint64_t id = 0;
  int rc = emitter__spool_head(&em->spool, &pb, &len, &id);
  Libstream__Events__V1__Batch *m = NULL;
  proto__alloc alloc;
  proto__alloc_init(&alloc);
  if (rc == STREAM_OK && !(m = libstream__events__v1__batch__unpack(&alloc.pc, len, pb)))
    rc = alloc.failed
             ? stream__err(STREAM_ENOMEM,
                           "emitter: out of memory decoding a spooled batch of %zu bytes", len)
             : stream__err(STREAM_EPROTO, "it does not decode as a Batch");
  if (rc == STREAM_EPROTO)
    drop_spooled_head(em, stream_error_last()->message);
  if (rc != STREAM_OK) {
    free(pb);
    return rc;
  }
  em_batch *b = &em->cur;
  b->ev = calloc(m->n_events ? m->n_events : 1, sizeof *b->ev);
  if (!b->ev)
    rc = stream__err(STREAM_ENOMEM, "emitter: out of memory");
  for (size_t i = 0; rc == STREAM_OK && i < m->n_events; i++)
    proto__event_from_pb(&b->ev[i], m->events[i]);
  b->count = m->n_events;
  libstream__events__v1__batch__free_unpacked(m, &alloc.pc);
  if (rc == STREAM_OK)
    rc = batch_encode(em, b, pb, len);
  free(pb);
  if (rc != STREAM_OK) {
    emitter__batch_clear(b);
    return rc;
  }
  b->valid = true;
  b->spooled = true;
  b->spool_id = id;
  b->seq = em->spool.recs[0].seq;
  em->spool.busy = id; /* the bound must not count it as dropped: it is being sent */
  em->spool_retries = 0;
  em->spool_errors = 0;
  return STREAM_OK;
}

/* A batch formed from the ring (lock NOT held): spool it, or make it cur. */
static void place_batch(stream_emitter *em, em_batch *nb)
{
  uint8_t *pb = NULL;
  size_t len = 0;
  int rc = emitter__pack(&pb, &len, nb->ev, nb->count);
  if (rc == STREAM_OK && em->has_spool) {
    uint64_t dropped = 0;
    rc = emitter__spool_append(&em->spool, pb, len, (uint32_t)nb->count, &dropped);
    pthread_mutex_lock(&em->lock);
    em->st.spool_dropped += dropped;
    if (rc == STREAM_OK) {
      em->st.spooled += nb->count;
      em->spool.recs[em->spool.n - 1].seq = nb->seq; /* the record just appended */
    }
    pthread_mutex_unlock(&em->lock);
    if (rc == STREAM_OK) {
      free(pb);
      emitter__batch_clear(nb);
      return;
    }
    stream__log(STREAM_LOG_WARN, "emitter", "spool append failed (%s): sending from memory",
                stream_error_last()->message);
    rc = STREAM_OK;
    /* nb becomes the batch in hand. One loaded from the spool can make room: it stays pending
     * there and is loaded again. (The sender forms no batch while it holds an unspooled one.) */
    if (em->cur.valid && em->cur.spooled) {
      emitter__batch_clear(&em->cur);
      em->spool.busy = 0;
    }
  }
  if (rc == STREAM_OK)
    rc = batch_encode(em, nb, pb, len);
  free(pb);
  if (rc != STREAM_OK) {
    pthread_mutex_lock(&em->lock);
    em->st.dropped += nb->count;
    pthread_mutex_unlock(&em->lock);
    emitter__batch_clear(nb);
    return;
  }
  nb->valid = true;
  em->cur = *nb;
  memset(nb, 0, sizeof *nb);
}

void *emitter__sender_main(void *arg)
{
  stream_emitter *em = arg;
  pthread_mutex_lock(&em->lock);
  for (;;) {
    int64_t now = stream__mono_ms();
    publish_progress(em);
    /* 1. Form a batch from the ring when one is due and there is room for it. */
    if (batch_ready(em, now) && room_for_batch(em)) {
      em_batch nb;
      memset(&nb, 0, sizeof nb);
      int rc = take_batch(em, &nb);
      pthread_mutex_unlock(&em->lock);
      if (rc == STREAM_OK)
        place_batch(em, &nb);
      pthread_mutex_lock(&em->lock);
      continue;
    }
    /* 2. Without a batch in hand, take the oldest spooled one. */
    if (!em->cur.valid && em->has_spool && em->spool.n && now >= em->spool_retry_at) {
      pthread_mutex_unlock(&em->lock);
      int lrc = load_spooled(em);
      int64_t retry_at = 0;
      if (lrc != STREAM_OK && lrc != STREAM_EPROTO && em->spool.n) {
        char why[sizeof stream_error_last()->message];
        snprintf(why, sizeof why, "%s", stream_error_last()->message);
        /* The counts are the head's own: when the spool's bound dropped the batch they were
         * for, the next one starts afresh (it would inherit up to 9 read errors otherwise). */
        if (em->spool.recs[0].id != em->spool_errors_of) {
          em->spool_errors_of = em->spool.recs[0].id;
          em->spool_retries = 0;
          em->spool_errors = 0;
        }
        em->spool_retries++;
        if (lrc != STREAM_ENOMEM && ++em->spool_errors >= SPOOL_READ_TRIES) {
          drop_spooled_head(em, why);
        } else {
          stream__log(em->spool_retries == 1 ? STREAM_LOG_WARN : STREAM_LOG_DEBUG, "emitter",
                      "spooled batch unreadable (%s): kept, read again later", why);
          pthread_mutex_lock(&em->lock);
          retry_at = stream__mono_ms() + backoff_delay(em, em->spool_retries);
          pthread_mutex_unlock(&em->lock);
        }
      }
      em->spool_retry_at = retry_at;
      pthread_mutex_lock(&em->lock);
      em->next_send = now;
      continue;
    }
    /* 3. Send the batch in hand when its time has come. */
    if (em->cur.valid && now >= em->next_send) {
      if (em->stopping && now >= em->deadline)
        break;
      pthread_mutex_unlock(&em->lock);
      emitter__post p;
      uint64_t gen = 0;
      int verdict = post_batch(em, &em->cur, &p, &gen);
      int64_t after = stream__mono_ms(), next = after, not_before = 0;
      bool retry = false;
      unsigned int a = 0;
      if (verdict == EMITTER__ACKED) {
        if (em->outage)
          stream__log(STREAM_LOG_INFO, "emitter", "the server acknowledges events again");
        em->outage = false;
        finish_batch(em, STREAM_EMITTER_ACKED, p.duplicates);
      } else if (verdict == EMITTER__REFUSED) {
        stream__log(STREAM_LOG_WARN, "emitter",
                    "server refused a batch of %zu events: HTTP %ld%s%s", em->cur.count, p.status,
                    p.why[0] ? ": " : "", p.why);
        finish_batch(em, STREAM_EMITTER_REJECTED, 0);
      } else {
        note_failure(em, &p);
        a = em->cur.attempts++;
        retry = true;
      }
      /* Under the lock: set_token writes next_send too, and `retried` is seen with its wait. */
      pthread_mutex_lock(&em->lock);
      if (retry) {
        int64_t delay = backoff_delay(em, a); /* full jitter */
        if (p.status == 429 || p.status == 503) {
          /* Never sooner than the backoff: a Retry-After of 0 (or a past date) answered to
           * every attempt would otherwise make a storm of requests. */
          if (delay < em->backoff_base)
            delay = em->backoff_base;
          if (p.retry_after_ms > delay)
            delay = p.retry_after_ms;
          not_before = after + delay;
        } else if (em->token_gen != gen) { /* a new token came during the request: try it now */
          delay = 0;
        }
        em->st.retried++;
        next = after + delay;
      }
      em->next_send = next;
      em->not_before = not_before;
      continue;
    }
    bool empty = !em->cur.valid && em->count == 0 && !(em->has_spool && em->spool.n);
    if (em->stopping && (empty || now >= em->deadline))
      break;
    /* 4. Sleep until something is due. */
    int64_t until = INT64_MAX;
    if (em->cur.valid)
      until = em->next_send;
    else if (em->has_spool && em->spool.n && em->spool_retry_at < until)
      until = em->spool_retry_at;
    /* The ring's age matters only when a batch could be formed: otherwise that deadline, once
     * past, would make this wait return at once until the batch in hand is done (a spin). */
    if (em->count && !em->flushers && room_for_batch(em))
      until = until < em->ring_ts[em->head] + em->flush_interval
                  ? until
                  : em->ring_ts[em->head] + em->flush_interval;
    if (em->stopping && em->deadline < until)
      until = em->deadline;
    if (until == INT64_MAX) {
      pthread_cond_wait(&em->wake, &em->lock);
    } else {
      struct timespec ts;
      emitter__abs_time(&ts, until);
      pthread_cond_timedwait(&em->wake, &em->lock, &ts);
    }
  }
  /* Shutting down: what is still in memory goes to the spool, if any, first a batch in hand that
   * the spool refused earlier (it may take it now). */
  while (em->has_spool && (em->count || (em->cur.valid && !em->cur.spooled))) {
    em_batch nb;
    memset(&nb, 0, sizeof nb);
    if (em->cur.valid && !em->cur.spooled) {
      nb = em->cur;
      memset(&em->cur, 0, sizeof em->cur);
      free(nb.body);
      nb.body = NULL;
      nb.body_len = 0;
      nb.valid = false;
    } else if (take_batch(em, &nb) != STREAM_OK) {
      break;
    }
    pthread_mutex_unlock(&em->lock);
    place_batch(em, &nb);
    if (em->cur.valid && !em->cur.spooled) /* the spool failed: nothing more to do */
      emitter__batch_clear(&em->cur);
    pthread_mutex_lock(&em->lock);
  }
  pthread_cond_broadcast(&em->idle);
  pthread_mutex_unlock(&em->lock);
  return NULL;
}
