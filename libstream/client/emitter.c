/*
 * The player-event emitter (stream/emitter.h): a bounded ring filled by
 * stream_emitter_emit() under a short lock, and one sender thread that forms
 * batches (count, bytes, age), encodes them (protobuf, gzip), optionally
 * spools them (spool.c), and posts them to POST /v1/events over one
 * keep-alive libcurl handle (emitter_http.c, which also decides what
 * acknowledges a batch), retrying with capped exponential backoff and full
 * jitter; a 429 or 503 waits at least backoff_base_ms, and at least its
 * Retry-After (which a new token does not cut short: the server asked for
 * the pause, whatever the token). stream_emitter_flush() waits for the
 * events emitted before it only, by their emit sequence numbers (held_low).
 *
 * Invariant: an event leaves the ring only into a batch that is either being
 * sent (`cur`) or written to the spool, so it is counted exactly once as
 * sent, rejected or dropped (or stays spooled for the next run).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "../core/core.h"
#include "../proto/proto.h"
#include "client_internal.h" /* the base URL and token rules of stream_client */
#include "emitter_internal.h"
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

/* Reads of a spooled batch that fail (I/O error) before it is given up. A lack of memory does not
 * count: nothing is wrong with the batch, and memory comes back (the spool's bound still holds). */
#define SPOOL_READ_TRIES 10

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
  curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void abs_time(struct timespec *out, int64_t mono_deadline)
{
  /* The condition variables use CLOCK_MONOTONIC (see stream_emitter_new). */
  out->tv_sec = (time_t)(mono_deadline / 1000);
  out->tv_nsec = (long)(mono_deadline % 1000) * 1000000L;
}

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

static void batch_clear(em_batch *b)
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
  batch_clear(b);
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
    batch_clear(b);
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
      batch_clear(nb);
      return;
    }
    stream__log(STREAM_LOG_WARN, "emitter", "spool append failed (%s): sending from memory",
                stream_error_last()->message);
    rc = STREAM_OK;
    /* nb becomes the batch in hand. One loaded from the spool can make room: it stays pending
     * there and is loaded again. (The sender forms no batch while it holds an unspooled one.) */
    if (em->cur.valid && em->cur.spooled) {
      batch_clear(&em->cur);
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
    batch_clear(nb);
    return;
  }
  nb->valid = true;
  em->cur = *nb;
  memset(nb, 0, sizeof *nb);
}

static void *sender_main(void *arg)
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
      abs_time(&ts, until);
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
      batch_clear(&em->cur);
    pthread_mutex_lock(&em->lock);
  }
  pthread_cond_broadcast(&em->idle);
  pthread_mutex_unlock(&em->lock);
  return NULL;
}

/* ---- public API ---------------------------------------------------------------- */

static void emitter_destroy(stream_emitter *em)
{
  if (em->curl)
    curl_easy_cleanup(em->curl);
  if (em->has_spool)
    emitter__spool_close(&em->spool);
  batch_clear(&em->cur);
  pthread_cond_destroy(&em->wake);
  pthread_cond_destroy(&em->idle);
  pthread_mutex_destroy(&em->lock);
  free(em->ring);
  free(em->ring_ts);
  free(em->ring_sz);
  if (em->token)
    stream__wipe(em->token, strlen(em->token));
  free(em->token);
  free(em->url);
  free(em);
}

int stream_emitter_new(stream_emitter **out, const stream_emitter_options *o)
{
  if (!out || !o)
    return stream__err(STREAM_EINVAL, "stream_emitter_new: NULL argument");
  *out = NULL;
  if (o->version != STREAM_EMITTER_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "stream_emitter_new: options version %u, expected %d",
                       o->version, STREAM_EMITTER_OPTIONS_VERSION);
  if (!o->base_url || !o->base_url[0] || strlen(o->base_url) > STREAM_EMITTER_URL_MAX)
    return stream__err(STREAM_EINVAL, "stream_emitter_new: base_url missing or over %d bytes",
                       STREAM_EMITTER_URL_MAX);
  if (o->access_token && strlen(o->access_token) > STREAM_EMITTER_TOKEN_MAX)
    return stream__err(STREAM_EINVAL, "stream_emitter_new: access token over %d bytes",
                       STREAM_EMITTER_TOKEN_MAX);
  /* It goes into the Authorization header as it is: a CR or LF would add header lines. */
  if (o->access_token && client__check_token_chars("access token", o->access_token) != STREAM_OK)
    return STREAM_EINVAL;
  if (o->queue_max > STREAM_EMITTER_QUEUE_MAX || o->batch_max_events > STREAM_EMITTER_BATCH_MAX ||
      o->batch_max_bytes > 1024 * 1024 || (o->spool_max_bytes && o->spool_max_bytes < 64 * 1024))
    return stream__err(STREAM_EINVAL,
                       "stream_emitter_new: queue_max at most %d, batch_max_events at most %d, "
                       "batch_max_bytes at most 1 MiB, spool_max_bytes at least 64 KiB",
                       STREAM_EMITTER_QUEUE_MAX, STREAM_EMITTER_BATCH_MAX);
  /* A smaller spool would evict every older batch for each new one (or hold none at all). */
  size_t batch_bytes = o->batch_max_bytes ? o->batch_max_bytes : 256 * 1024;
  size_t spool_bytes = o->spool_max_bytes ? o->spool_max_bytes : 16u << 20;
  if (spool_bytes / 2 < batch_bytes)
    return stream__err(STREAM_EINVAL,
                       "stream_emitter_new: spool_max_bytes (%zu) must be at least twice "
                       "batch_max_bytes (%zu)",
                       spool_bytes, batch_bytes);
  pthread_once(&curl_once, curl_init);
  if (curl_init_rc != CURLE_OK)
    return stream__err(STREAM_EIO, "curl_global_init failed: %s", curl_easy_strerror(curl_init_rc));
  /* stream_client_new's rule: no query, fragment, credentials, spaces, control bytes or empty
   * host, and libcurl must parse it. A fragment or a query would move the events elsewhere
   * ("/#x" posts to "/"), where the 404 refuses every batch for good; a URL libcurl cannot parse
   * would be retried for ever. */
  char *base = NULL;
  int urc = client__normalize_base_url(&base, o->base_url);
  if (urc != STREAM_OK)
    return urc;
  stream_emitter *em = stream__calloc(1, sizeof *em);
  if (!em) {
    free(base);
    return STREAM_ENOMEM;
  }
  em->queue_max = o->queue_max ? o->queue_max : 2000;
  em->batch_max_events = o->batch_max_events ? o->batch_max_events : 300;
  em->batch_max_bytes = batch_bytes;
  em->flush_interval = o->flush_interval_ms ? o->flush_interval_ms : 10000;
  em->backoff_base = o->backoff_base_ms ? o->backoff_base_ms : 500;
  em->backoff_max = o->backoff_max_ms ? o->backoff_max_ms : 10000;
  if (em->backoff_max < em->backoff_base)
    em->backoff_max = em->backoff_base;
  em->timeout = o->timeout_ms ? o->timeout_ms : 10000;
  em->shutdown = o->shutdown_ms ? o->shutdown_ms : 2000;
  em->gzip = !o->no_gzip;
  em->on_batch = o->on_batch;
  em->userdata = o->userdata;
  pthread_mutex_init(&em->lock, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&em->wake, &ca);
  pthread_cond_init(&em->idle, &ca);
  pthread_condattr_destroy(&ca);
  size_t ulen = strlen(base); /* without its trailing slashes */
  em->url = malloc(ulen + sizeof "/v1/events");
  em->ring = calloc(em->queue_max, sizeof *em->ring);
  em->ring_ts = calloc(em->queue_max, sizeof *em->ring_ts);
  em->ring_sz = calloc(em->queue_max, sizeof *em->ring_sz);
  em->curl = curl_easy_init();
  int rc = STREAM_OK;
  if (!em->url || !em->ring || !em->ring_ts || !em->ring_sz || !em->curl)
    rc = stream__err(STREAM_ENOMEM, "stream_emitter_new: out of memory");
  if (rc == STREAM_OK) {
    memcpy(em->url, base, ulen);
    memcpy(em->url + ulen, "/v1/events", sizeof "/v1/events");
    if (o->access_token && o->access_token[0] && !(em->token = stream__strdup(o->access_token)))
      rc = STREAM_ENOMEM;
  }
  if (rc == STREAM_OK && (stream_random_bytes(&em->rng, sizeof em->rng) != STREAM_OK ||
                          stream_random_bytes(em->id_base, sizeof em->id_base) != STREAM_OK))
    rc = STREAM_ECRYPTO;
  em->rng |= 1;
  if (rc == STREAM_OK && o->spool_path && o->spool_path[0]) {
    rc = emitter__spool_open(&em->spool, o->spool_path, spool_bytes);
    em->has_spool = rc == STREAM_OK;
  }
  free(base);
  em->held_low = em->has_spool && em->spool.n ? 0 : UINT64_MAX; /* a previous run's batches */
  if (rc == STREAM_OK) {
    if (pthread_create(&em->thread, NULL, sender_main, em) != 0)
      rc = stream__err(STREAM_ENOMEM, "stream_emitter_new: cannot start the sender thread");
    else
      em->thread_started = true;
  }
  if (rc != STREAM_OK) {
    emitter_destroy(em);
    return rc;
  }
  *out = em;
  return STREAM_OK;
}

void stream_emitter_free(stream_emitter *em)
{
  if (!em)
    return;
  pthread_mutex_lock(&em->lock);
  em->stopping = true;
  em->deadline = stream__mono_ms() + em->shutdown;
  pthread_cond_broadcast(&em->wake);
  pthread_mutex_unlock(&em->lock);
  if (em->thread_started)
    pthread_join(em->thread, NULL);
  emitter_destroy(em);
}

static void uuid_v4(char out[STREAM_EVENTS_UUID_LEN + 1], const unsigned char r[16])
{
  unsigned char b[16];
  memcpy(b, r, 16);
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  static const char hex[] = "0123456789abcdef";
  size_t k = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out[k++] = '-';
    out[k++] = hex[b[i] >> 4];
    out[k++] = hex[b[i] & 15];
  }
  out[k] = '\0';
}

int stream_emitter_emit(char *out_id, stream_emitter *em, const stream_event *ev)
{
  if (!em || !ev)
    return stream__err(STREAM_EINVAL, "stream_emitter_emit: NULL argument");
  stream_event e = *ev;
  e.seq = 0;
  e.server_ts = 0;
  e.account_id[0] = '\0';
  if (!e.id[0] || strnlen(e.id, sizeof e.id) == sizeof e.id) {
    if (e.id[0])
      return stream__err(STREAM_EINVAL, "event: field 'id' is not NUL-terminated");
    /* 122 random bits per emitter, made unique per event by a counter: no RNG call (and no
     * lock) per event, and ids never repeat within an emitter. */
    unsigned char r[16];
    memcpy(r, em->id_base, sizeof r);
    uint64_t k = atomic_fetch_add(&em->id_counter, 1);
    for (int i = 0; i < 8; i++)
      r[15 - i] ^= (unsigned char)(k >> (8 * i));
    uuid_v4(e.id, r);
  }
  if (e.client_ts == 0)
    e.client_ts = stream__wall_ms();
  if (e.type != STREAM_EVENT_ERROR) {
    e.error_code = 0;
    e.error_fatal = 0;
    e.error_message[0] = '\0';
  }
  int rc = proto__event_validate(&e, 0, e.type == STREAM_EVENT_ERROR);
  if (rc != STREAM_OK) {
    /* The message is re-raised as EINVAL: copy it first, stream__err() writes the same
     * thread-local buffer (an overlapping vsnprintf left it empty). */
    char msg[sizeof stream_error_last()->message];
    snprintf(msg, sizeof msg, "%s", stream_error_last()->message);
    return stream__err(STREAM_EINVAL, "%s", msg);
  }
  uint32_t size = (uint32_t)emitter__packed_size(&e);
  int64_t now = stream__mono_ms();
  pthread_mutex_lock(&em->lock);
  if (em->stopping) {
    pthread_mutex_unlock(&em->lock);
    return stream__err(STREAM_ECANCELED, "the emitter is shutting down");
  }
  if (em->count == em->queue_max) {
    em->head = (em->head + 1) % em->queue_max;
    em->count--;
    em->st.dropped++;
    if (em->flushers) /* that event is done with, for a flush */
      pthread_cond_broadcast(&em->idle);
  }
  size_t slot = (em->head + em->count) % em->queue_max;
  em->ring[slot] = e;
  em->ring_ts[slot] = now;
  em->ring_sz[slot] = size;
  em->count++;
  em->st.emitted++;
  if (em->count == 1 || em->count == em->batch_max_events)
    pthread_cond_signal(&em->wake);
  pthread_mutex_unlock(&em->lock);
  if (out_id)
    memcpy(out_id, e.id, sizeof e.id);
  return STREAM_OK;
}

int stream_emitter_set_token(stream_emitter *em, const char *access_token)
{
  if (!em)
    return stream__err(STREAM_EINVAL, "stream_emitter_set_token: NULL argument");
  if (access_token && strlen(access_token) > STREAM_EMITTER_TOKEN_MAX)
    return stream__err(STREAM_EINVAL, "access token over %d bytes", STREAM_EMITTER_TOKEN_MAX);
  if (access_token && client__check_token_chars("access token", access_token) != STREAM_OK)
    return STREAM_EINVAL;
  char *copy = NULL;
  if (access_token && access_token[0] && !(copy = stream__strdup(access_token)))
    return STREAM_ENOMEM;
  pthread_mutex_lock(&em->lock);
  char *old = em->token;
  em->token = copy;
  em->token_gen++;
  /* A batch waiting out a 401 backoff may go now; one told to wait by a 429 or 503 may not. */
  em->next_send = em->not_before;
  pthread_cond_signal(&em->wake);
  pthread_mutex_unlock(&em->lock);
  if (old) {
    stream__wipe(old, strlen(old));
    free(old);
  }
  return STREAM_OK;
}

int stream_emitter_flush(stream_emitter *em, unsigned int timeout_ms)
{
  if (!em)
    return stream__err(STREAM_EINVAL, "stream_emitter_flush: NULL argument");
  int64_t deadline = stream__mono_ms() + timeout_ms;
  pthread_mutex_lock(&em->lock);
  /* Only the events emitted so far: under steady emission from other threads, waiting for an
   * empty emitter could time out although all of these were acknowledged. */
  uint64_t last = em->st.emitted;
  em->flushers++;
  pthread_cond_signal(&em->wake);
  int rc = STREAM_OK;
  for (;;) {
    uint64_t low = em->count ? em->st.emitted - em->count + 1 : UINT64_MAX;
    if (em->held_low < low)
      low = em->held_low;
    if (low > last)
      break;
    if (stream__mono_ms() >= deadline) {
      rc = stream__err(STREAM_ETIMEDOUT,
                       "flush: events emitted before it still unacknowledged after %u ms "
                       "(%zu queued, the others in hand, retrying or spooled)",
                       timeout_ms, em->count);
      break;
    }
    struct timespec ts;
    abs_time(&ts, deadline);
    pthread_cond_timedwait(&em->idle, &em->lock, &ts);
  }
  em->flushers--;
  pthread_mutex_unlock(&em->lock);
  return rc;
}

int stream_emitter_stats_get(stream_emitter_stats *out, stream_emitter *em)
{
  if (!out || !em)
    return stream__err(STREAM_EINVAL, "stream_emitter_stats_get: NULL argument");
  pthread_mutex_lock(&em->lock);
  *out = em->st;
  out->queued = em->count;
  pthread_mutex_unlock(&em->lock);
  return STREAM_OK;
}
