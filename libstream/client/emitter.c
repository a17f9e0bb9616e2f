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
 *
 * This file has the public calls; the sender thread is emitter_sender.c, the
 * state both share emitter_state.h.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "../core/core.h"
#include "../proto/proto.h"
#include "client_internal.h" /* the base URL and token rules of stream_client */
#include "emitter_internal.h"
#include "emitter_state.h"
#include "spool.h"
#include "stream/emitter.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
  curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- public API ---------------------------------------------------------------- */

static void emitter_destroy(stream_emitter *em)
{
  if (em->curl)
    curl_easy_cleanup(em->curl);
  if (em->has_spool)
    emitter__spool_close(&em->spool);
  emitter__batch_clear(&em->cur);
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
  if (o->version < 1 || o->version > STREAM_EMITTER_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "stream_emitter_new: options version %u, expected 1 to %d",
                       o->version, STREAM_EMITTER_OPTIONS_VERSION);
  /* Version 1's struct ends before ca_file: not read. */
  const char *ca_file = o->version >= 2 ? o->ca_file : NULL;
  const char *ca_path = o->version >= 2 ? o->ca_path : NULL;
  if (ca_file && client__check_text("ca_file", ca_file, 4096) != STREAM_OK)
    return STREAM_EINVAL;
  if (ca_path && client__check_text("ca_path", ca_path, 4096) != STREAM_OK)
    return STREAM_EINVAL;
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
  /* Options of the handle, kept across requests (libcurl copies the strings; the request's own
   * options are set per post in emitter_http.c). */
  if (rc == STREAM_OK && ca_file && curl_easy_setopt(em->curl, CURLOPT_CAINFO, ca_file) != CURLE_OK)
    rc = stream__err(STREAM_ENOMEM, "stream_emitter_new: out of memory");
  if (rc == STREAM_OK && ca_path && curl_easy_setopt(em->curl, CURLOPT_CAPATH, ca_path) != CURLE_OK)
    rc = stream__err(STREAM_EINVAL, "stream_emitter_new: this libcurl does not support ca_path");
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
    if (pthread_create(&em->thread, NULL, emitter__sender_main, em) != 0)
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
    emitter__abs_time(&ts, deadline);
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
