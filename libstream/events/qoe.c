/*
 * events/qoe: the QoE consumer. It owns the per-view quality-of-experience
 * records (video startup time, rebuffering, failures, exits before video
 * start, time-weighted bitrate, watch time), their aggregates with exact
 * percentiles, and the concurrent-viewer count.
 *
 * Idempotence: each batch of the event log names the views it touches; each
 * of those records becomes what a rebuild from ALL the view's events up to
 * the batch's last seq (sorted by the player's clock, so late or spooled
 * events land where they happened) gives, and is stored in the same
 * transaction that advances the "qoe" checkpoint. The record is stored with
 * the state machine's accumulator (qoe_state), so when the view's new events
 * all come after its last seq and its last event, only they are folded in
 * (a view with heartbeats for hours is not re-read every run); a late event,
 * a new view or a replayed seq range rebuilds the view from the log. Running
 * the same seq range twice gives the same rows, never double counts.
 *
 * Ownership: view ids are chosen by players, so another account may send
 * events under a view id already in use (a reused or guessed id, a buggy
 * player). A view belongs to the account of its first event in log order
 * (lowest seq; the ingest stamps account_id from the credential), and only
 * that account's events are folded into it. The others stay in the log (the
 * raw record, exported as is) and are counted as the run's foreign events.
 * The fold and the rebuild apply the same rule, so the record stays a pure
 * function of the log: the fold goes on only while every new event is the
 * stored record's account's; one of another account rebuilds the view, and
 * the rebuild takes the owner from the log. Closing an account blanks its
 * account_id in the log and in its records alike (store account close), so
 * a closed owner's view is owned by "" and still refuses other accounts.
 * A record an older build merged from several accounts' events is marked
 * by schema migration 16 and rebuilt at the start of the next run, whether
 * or not its view has new events (qoe_repair()).
 *
 * The state machine and the choices where vendors differ are documented in
 * docs/api/events.md ("QoE").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/core.h"
#include "../store/store_events.h"
#include "events_internal.h"
#include "qoe_internal.h"

/* Events per batch of the consumer. */
#define QOE_BATCH 1000

enum qoe_state {
  Q_IDLE,    /* before the play request */
  Q_STARTUP, /* play request seen, no frame yet */
  Q_PLAYING, /* frames moving */
  Q_PAUSED,  /* not watch time */
  Q_REBUF,   /* stalled after start */
  Q_SEEKING, /* between seeking and seeked: the seek's own load */
  Q_WAITING, /* play after a pause, until playing */
  Q_DONE,    /* ended or fatal error: later events are ignored */
  /* paused after the play request, before the first frame: neither startup
   * nor watch time. Last, so the values stored in qoe_state keep meaning. */
  Q_START_PAUSED
};

static const struct stream_store_event_ops *ops(const stream_events *ev)
{
  return ev->store->backend->events;
}

int64_t events__qoe_now(const stream_events *ev)
{
  if (ev->now_ms)
    return ev->now_ms(ev->now_userdata);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void copy_if_empty(char *dst, const char *src)
{
  if (!dst[0] && src[0])
    memcpy(dst, src, strlen(src) + 1);
}

/* Time spent in `state` for `dt` ms at bitrate `br`. */
static void account(stream_events_view *v, int state, int64_t dt, int64_t br)
{
  if (dt <= 0)
    return;
  switch (state) {
  case Q_STARTUP:
  case Q_SEEKING:
  case Q_WAITING:
    v->watch_ms += dt;
    break;
  case Q_PLAYING:
    v->watch_ms += dt;
    v->playing_ms += dt;
    if (br > 0) {
      v->br_ms += dt;
      v->br_sum += br * dt;
      if (br > v->peak_br)
        v->peak_br = br;
    }
    break;
  case Q_REBUF:
    v->watch_ms += dt;
    v->rebuffer_ms += dt;
    break;
  default:
    break;
  }
}

void events__qoe_init(stream_events_view *v, events__qoe_acc *a)
{
  memset(v, 0, sizeof *v);
  v->startup_ms = -1;
  memset(a, 0, sizeof *a);
  a->state = Q_IDLE;
  a->pre_seek = Q_PLAYING;
}

void events__qoe_step(stream_events_view *v, events__qoe_acc *a, const stream_event *e)
{
  copy_if_empty(v->view_id, e->view_id);
  copy_if_empty(v->session_id, e->session_id);
  copy_if_empty(v->account_id, e->account_id);
  copy_if_empty(v->profile_id, e->profile_id);
  copy_if_empty(v->title_id, e->title_id);
  copy_if_empty(v->episode_id, e->episode_id);
  copy_if_empty(v->device_id, e->device_id);
  int64_t t = e->client_ts;
  if (v->events == 0)
    a->first_ts = t;
  if (v->events == 0 || t > v->last_ts)
    v->last_ts = t;
  v->events++;
  if (e->seq > v->last_seq)
    v->last_seq = e->seq;
  if (a->state == Q_DONE)
    return;
  if (a->state != Q_IDLE && t - a->prev >= STREAM_EVENTS_VIEW_TIMEOUT_MS) {
    /* No event for the view timeout: the view was over at the previous
     * event (Mux ends a view after 60 min without events). The gap is not
     * watch time (a device asleep while "playing", a client clock jumping
     * by years, which would also overflow br * dt), and neither is what
     * follows: later events of this view id are ignored, as after ended. */
    v->ended = 1;
    a->state = Q_DONE;
    return;
  }
  if (a->state != Q_IDLE)
    account(v, a->state, t - a->prev, a->br);
  a->prev = t;
  if (e->br > 0)
    a->br = e->br; /* the rendition of this event applies from now on */
  bool started_before = v->started;
  switch (e->type) {
  case STREAM_EVENT_PLAYREQUEST:
  case STREAM_EVENT_PLAY:
    if (a->state == Q_IDLE) {
      v->requested = 1;
      v->start_ts = t;
      a->have_start = true;
      a->state = Q_STARTUP;
    } else if (a->state == Q_PAUSED && e->type == STREAM_EVENT_PLAY) {
      a->state = Q_WAITING;
    } else if (a->state == Q_START_PAUSED && e->type == STREAM_EVENT_PLAY) {
      a->state = Q_STARTUP;
    } else if (a->state == Q_SEEKING && a->pre_seek == Q_PAUSED && e->type == STREAM_EVENT_PLAY) {
      a->pre_seek = Q_WAITING; /* resumed during the seek */
    }
    break;
  case STREAM_EVENT_PLAYING:
    if (a->state == Q_IDLE) { /* no request seen: startup unknown */
      v->start_ts = t;
      a->have_start = true;
    } else if (a->state == Q_STARTUP || a->state == Q_START_PAUSED) {
      /* the time in Q_STARTUP, the only watch time before the first frame:
       * the request to the first frame less a pause in between */
      v->startup_ms = v->watch_ms;
    }
    v->started = 1;
    a->state = Q_PLAYING;
    break;
  case STREAM_EVENT_PAUSE:
    if (a->state == Q_PLAYING || a->state == Q_WAITING || a->state == Q_REBUF)
      a->state = Q_PAUSED;
    else if (a->state == Q_STARTUP)
      a->state = Q_START_PAUSED;
    else if (a->state == Q_SEEKING)
      a->pre_seek = Q_PAUSED;
    break;
  case STREAM_EVENT_SEEKING:
    if (started_before && a->state != Q_SEEKING) {
      a->pre_seek = a->state == Q_PAUSED ? Q_PAUSED : Q_PLAYING;
      a->seek_stall = false;
      a->state = Q_SEEKING;
    }
    break;
  case STREAM_EVENT_SEEKED:
    if (a->state == Q_SEEKING) {
      if (a->seek_stall && a->pre_seek != Q_PAUSED) { /* the stall outlasted the seek's load */
        v->rebuffer_count++;
        a->state = Q_REBUF;
      } else { /* no stall, or paused: loading while nothing plays is no stall */
        a->seek_stall = false;
        a->state = a->pre_seek;
      }
    }
    break;
  case STREAM_EVENT_REBUFFERSTART:
    if (a->state == Q_PLAYING || a->state == Q_WAITING) {
      v->rebuffer_count++;
      a->state = Q_REBUF;
    } else if (a->state == Q_SEEKING) {
      a->seek_stall = true;
    }
    break;
  case STREAM_EVENT_REBUFFEREND:
    if (a->state == Q_REBUF)
      a->state = Q_PLAYING;
    else if (a->state == Q_SEEKING)
      a->seek_stall = false;
    break;
  case STREAM_EVENT_ERROR:
    if (e->error_fatal) {
      v->failed = 1;
      v->error_code = e->error_code;
      v->start_failed = v->started ? 0 : 1;
      v->ended = 1;
      a->state = Q_DONE;
    }
    break;
  case STREAM_EVENT_ENDED:
    v->ended = 1;
    a->state = Q_DONE;
    break;
  default: /* viewinit, heartbeat, renditionchange: no state change */
    break;
  }
}

void events__qoe_end(stream_events_view *v, const events__qoe_acc *a)
{
  if (!a->have_start)
    v->start_ts = a->first_ts;
  time_t secs = (time_t)(v->start_ts / 1000);
  struct tm tm;
  if (gmtime_r(&secs, &tm))
    snprintf(v->day, sizeof v->day, "%04u-%02u-%02u", (unsigned)(tm.tm_year + 1900) % 10000u,
             (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u);
}

/* The account a view of `n` > 0 events belongs to: that of the event with the lowest seq (the
 * first in log order, whatever its client_ts). */
static const char *qoe_owner(const stream_event *ev, size_t n)
{
  size_t first = 0;
  for (size_t i = 1; i < n; i++)
    if (ev[i].seq < ev[first].seq)
      first = i;
  return ev[first].account_id;
}

/* A whole view from its sorted events, the owner's only (qoe_owner());
 * `a` keeps the accumulator for later steps. */
static void compute_acc(stream_events_view *v, events__qoe_acc *a, const stream_event *ev, size_t n)
{
  const char *owner = qoe_owner(ev, n);
  events__qoe_init(v, a);
  for (size_t i = 0; i < n; i++)
    if (strcmp(ev[i].account_id, owner) == 0)
      events__qoe_step(v, a, &ev[i]);
  events__qoe_end(v, a);
}

void events__qoe_compute(stream_events_view *v, const stream_event *ev, size_t n)
{
  events__qoe_acc a;
  compute_acc(v, &a, ev, n);
}

void events__qoe_finish(stream_events_view *v, int64_t now_ms)
{
  v->rebuffer_pct = v->watch_ms > 0 ? 100.0 * (double)v->rebuffer_ms / (double)v->watch_ms : 0;
  v->rebuffer_per_min =
      v->watch_ms > 0 ? (double)v->rebuffer_count * 60000.0 / (double)v->watch_ms : 0;
  v->avg_br = v->br_ms > 0 ? (double)v->br_sum / (double)v->br_ms : 0;
  bool over = v->ended || now_ms - v->last_ts >= STREAM_EVENTS_VIEW_TIMEOUT_MS;
  v->exited_before_start = v->requested && !v->started && !v->failed && over;
}

size_t events__rank(size_t n, int p)
{
  /* nearest rank: the smallest value with at least p % of the values <= it */
  size_t r = ((size_t)p * n + 99) / 100;
  return r == 0 ? 0 : r - 1;
}

/* ---- the consumer ----------------------------------------------------------- */

/* Rows of a batch by (view id, client_ts, seq): each view's new events, in
 * the order the state machine folds them. */
static int cmp_row(const void *a, const void *b)
{
  const stream_event *x = *(const stream_event *const *)a, *y = *(const stream_event *const *)b;
  int c = strcmp(x->view_id, y->view_id);
  if (c != 0)
    return c;
  if (x->client_ts != y->client_ts)
    return (x->client_ts > y->client_ts) - (x->client_ts < y->client_ts);
  return (x->seq > y->seq) - (x->seq < y->seq);
}

static void acc_to_state(stream_store_qoe_state *s, const events__qoe_acc *a)
{
  s->state = a->state;
  s->pre_seek = a->pre_seek;
  s->seek_stall = a->seek_stall;
  s->have_start = a->have_start;
  s->prev = a->prev;
  s->br = a->br;
  s->first_ts = a->first_ts;
}

static void state_to_acc(events__qoe_acc *a, const stream_store_qoe_state *s)
{
  a->state = (int)s->state;
  a->pre_seek = (int)s->pre_seek;
  a->seek_stall = s->seek_stall != 0;
  a->have_start = s->have_start != 0;
  a->prev = s->prev;
  a->br = s->br;
  a->first_ts = s->first_ts;
}

/* One view of the batch: its `n` new events `e` (sorted by client_ts, seq),
 * the batch being the log's events after `from` up to `to`. When the stored
 * record and accumulator cover every earlier event of the view (the new
 * events all come after its last seq), no new event is earlier than its last
 * event and every new event is of the record's account, fold only the new
 * events in; otherwise (a new view, no accumulator, a late event, a replayed
 * seq range, an event of another account) rebuild the view from all its
 * events up to `to`, and the log names the owner. So an event that is not
 * the record's account's is never judged against the record alone: the
 * record may have been read after the owner's account was closed (its
 * account_id blanked) and the batch before (the owner's events still
 * carrying the id); the log holds either both blanked or neither.
 * `*foreign` grows by the batch's events of the view that were not folded. */
static int qoe_view(stream_events *ev, stream_events_view *v, stream_store_qoe_state *state,
                    const stream_event *const *e, size_t n, int64_t from, int64_t to,
                    int64_t *foreign)
{
  const char *id = e[0]->view_id;
  events__qoe_acc a;
  stream_store_qoe_state stored;
  int rc = ops(ev)->state_get(ev->store->impl, v, &stored, id);
  if (rc == STREAM_OK) {
    bool incremental = e[0]->client_ts >= v->last_ts;
    for (size_t i = 0; incremental && i < n; i++)
      if (e[i]->seq <= v->last_seq || strcmp(e[i]->account_id, v->account_id) != 0)
        incremental = false;
    if (incremental) {
      state_to_acc(&a, &stored);
      for (size_t i = 0; i < n; i++)
        events__qoe_step(v, &a, e[i]);
      events__qoe_end(v, &a);
      acc_to_state(state, &a);
      return STREAM_OK;
    }
  } else if (rc != STREAM_ENOTFOUND) {
    return rc;
  }
  stream_event *vev = NULL;
  size_t vn = 0;
  rc = ops(ev)->view_events(ev->store->impl, &vev, &vn, id, to);
  if (rc == STREAM_OK && vn == 0)
    rc = stream__err(STREAM_EINTERNAL, "QoE: view %s has no events", id);
  if (rc == STREAM_OK) {
    compute_acc(v, &a, vev, vn);
    acc_to_state(state, &a);
    /* the batch's events of the view, as the log holds them now */
    const char *owner = qoe_owner(vev, vn);
    for (size_t i = 0; i < vn; i++)
      if (vev[i].seq > from && strcmp(vev[i].account_id, owner) != 0)
        (*foreign)++;
  }
  free(vev);
  return rc;
}

/* Process one batch after `from`. *out_n = events read (0: caught up);
 * *out_foreign = of them, those of another account than their view's. */
static int qoe_batch(stream_events *ev, int64_t *out_n, int64_t *out_views, int64_t *out_foreign)
{
  const char *consumer = STREAM_EVENTS_QOE_CONSUMER;
  stream_event *rows = NULL;
  size_t n = 0;
  int64_t from = 0, foreign = 0;
  *out_n = 0;
  *out_views = 0;
  *out_foreign = 0;
  int rc = stream_events_poll(ev, &rows, &n, &from, consumer, QOE_BATCH);
  if (rc != STREAM_OK || n == 0)
    return rc;
  int64_t to = rows[n - 1].seq;
  /* the batch's rows grouped by view */
  const stream_event **sorted = malloc(n * sizeof *sorted);
  stream_events_view *views = NULL;
  stream_store_qoe_state *states = NULL;
  if (!sorted) {
    free(rows);
    return stream__err(STREAM_ENOMEM, "QoE: out of memory");
  }
  for (size_t i = 0; i < n; i++)
    sorted[i] = &rows[i];
  qsort(sorted, n, sizeof *sorted, cmp_row);
  size_t nv = 0;
  for (size_t i = 0; i < n; i++)
    if (i == 0 || strcmp(sorted[i - 1]->view_id, sorted[i]->view_id) != 0)
      nv++;
  views = calloc(nv, sizeof *views);
  states = calloc(nv, sizeof *states);
  if (!views || !states)
    rc = stream__err(STREAM_ENOMEM, "QoE: out of memory");
  size_t vi = 0;
  for (size_t i = 0; rc == STREAM_OK && i < n; vi++) {
    size_t j = i + 1;
    while (j < n && strcmp(sorted[j]->view_id, sorted[i]->view_id) == 0)
      j++;
    rc = qoe_view(ev, &views[vi], &states[vi], &sorted[i], j - i, from, to, &foreign);
    i = j;
  }
  if (rc == STREAM_OK)
    rc = ops(ev)->views_commit(ev->store->impl, views, states, nv, consumer, from, to,
                               events__qoe_now(ev) / 1000);
  if (rc == STREAM_OK) {
    *out_n = (int64_t)n;
    *out_views = (int64_t)nv;
    *out_foreign = foreign;
  }
  free(states);
  free(views);
  free(sorted);
  free(rows);
  return rc;
}

/* Marked views per repair page. A page is committed with the checkpoint unchanged, a
 * compare-and-set that any concurrent instance's batch makes fail (ECONFLICT): the page's
 * rebuilds are then lost, so a page is kept small, unlike QOE_BATCH. */
#define QOE_REPAIR_PAGE 64

/* A repair failure that does not end the run (qoe_repair): counted and logged. */
static void repair_failed(int64_t *failed, const char *what, const char *view_id)
{
  (*failed)++;
  stream__log(STREAM_LOG_WARN, "events",
              "repair of the views marked by schema migration 16: %s%s%s failed (%s); the marks "
              "are kept for the next run",
              what, view_id ? " " : "", view_id ? view_id : "", stream_error_last()->message);
}

/* Views marked for a rebuild (rebuild_list: records an older build merged from several
 * accounts' events; their accumulators were deleted with the mark, so a batch with new events
 * of one rebuilds it too). A mark stays until a commit stores the view, and a marked view may
 * have no new events ever (it ended), so each run first rebuilds the marked views from their
 * events up to the checkpoint and stores them with the checkpoint unchanged (the
 * compare-and-set still excludes another instance's batch), which drops their marks. A marked
 * view without events up to the checkpoint (a checkpoint moved back) is left to the batch that
 * reads them; the keyset paging passes over it.
 * A failure must not stop the consumer for good (a view whose events do not fit in memory
 * would fail at every run, and the batches behind it would never run): a view that cannot be
 * rebuilt is skipped and the rest of its page stored; a page that cannot be listed or stored
 * ends the pass. Either is logged and counted in *out_failed (one per view skipped, per page
 * not stored or listed), its marks stay for the next run and the run goes on with its batches.
 * Only ECONFLICT (another instance moved the checkpoint: it is running) is returned.
 * *out_views = records written. */
static int qoe_repair(stream_events *ev, int64_t *out_views, int64_t *out_failed)
{
  const char *consumer = STREAM_EVENTS_QOE_CONSUMER;
  char after[STREAM_EVENTS_ID_SIZE] = "";
  *out_views = 0;
  *out_failed = 0;
  for (;;) {
    stream_store_qoe_mark *marks = NULL;
    size_t n = 0;
    int rc = ops(ev)->rebuild_list(ev->store->impl, &marks, &n, after, QOE_REPAIR_PAGE);
    if (rc != STREAM_OK)
      repair_failed(out_failed, "listing the marks", NULL);
    if (rc != STREAM_OK || n == 0)
      return STREAM_OK;
    int64_t cp = 0;
    rc = ops(ev)->checkpoint_get(ev->store->impl, &cp, consumer);
    stream_events_view *views = calloc(n, sizeof *views);
    stream_store_qoe_state *states = calloc(n, sizeof *states);
    if (rc == STREAM_OK && (!views || !states))
      rc = stream__err(STREAM_ENOMEM, "QoE: out of memory");
    size_t nv = 0;
    for (size_t i = 0; rc == STREAM_OK && i < n; i++) {
      stream_event *vev = NULL;
      size_t vn = 0;
      int vrc = ops(ev)->view_events(ev->store->impl, &vev, &vn, marks[i].view_id, cp);
      if (vrc != STREAM_OK) {
        repair_failed(out_failed, "rebuilding view", marks[i].view_id);
      } else if (vn > 0) {
        events__qoe_acc a;
        compute_acc(&views[nv], &a, vev, vn);
        acc_to_state(&states[nv], &a);
        nv++;
      }
      free(vev);
    }
    if (rc == STREAM_OK && nv > 0)
      rc = ops(ev)->views_commit(ev->store->impl, views, states, nv, consumer, cp, cp,
                                 events__qoe_now(ev) / 1000);
    if (rc == STREAM_OK)
      *out_views += (int64_t)nv;
    memcpy(after, marks[n - 1].view_id, sizeof after);
    free(states);
    free(views);
    free(marks);
    if (rc == STREAM_ECONFLICT)
      return rc;
    if (rc != STREAM_OK) {
      repair_failed(out_failed, "a page of marked views", NULL);
      return STREAM_OK;
    }
  }
}

int stream_events_qoe_run_ex(stream_events *ev, stream_events_qoe_run_result *out)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_events_qoe_run_ex: NULL argument");
  if (out->version < 1 || out->version > STREAM_EVENTS_QOE_RUN_RESULT_VERSION)
    return stream__err(STREAM_EINVAL,
                       "stream_events_qoe_run_ex: result version %u (this library knows 1..%d)",
                       out->version, STREAM_EVENTS_QOE_RUN_RESULT_VERSION);
  out->events = out->views = out->foreign_events = 0;
  if (out->version >= 2)
    out->repair_failed = 0;
  if (!ev)
    return stream__err(STREAM_EINVAL, "stream_events_qoe_run_ex: NULL argument");
  /* Counts of the batches committed so far, also when a later one fails. A repair failure
   * other than ECONFLICT is counted, not returned (qoe_repair): the run's result is its
   * batches'. */
  int64_t repaired = 0, failed = 0;
  int rc = qoe_repair(ev, &repaired, &failed);
  out->views += repaired;
  if (out->version >= 2)
    out->repair_failed = failed;
  if (rc != STREAM_OK)
    return rc;
  for (;;) {
    int64_t n = 0, nv = 0, nf = 0;
    rc = qoe_batch(ev, &n, &nv, &nf);
    if (rc != STREAM_OK)
      return rc;
    if (n == 0)
      break;
    out->events += n;
    out->views += nv;
    out->foreign_events += nf;
  }
  return STREAM_OK;
}

int stream_events_qoe_run(stream_events *ev, int64_t *out_events, int64_t *out_views)
{
  stream_events_qoe_run_result r = STREAM_EVENTS_QOE_RUN_RESULT_INIT;
  int rc = ev ? stream_events_qoe_run_ex(ev, &r)
              : stream__err(STREAM_EINVAL, "stream_events_qoe_run: NULL argument");
  if (out_events)
    *out_events = r.events;
  if (out_views)
    *out_views = r.views;
  return rc;
}

/* ---- reads -------------------------------------------------------------------- */

static int check_filter(const char *s, const char *what)
{
  if (!s || !s[0])
    return STREAM_OK;
  size_t n = strlen(s);
  if (n > STREAM_EVENTS_ID_MAX)
    return stream__err(STREAM_EINVAL, "%s is longer than %d characters", what,
                       STREAM_EVENTS_ID_MAX);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
      return stream__err(STREAM_EINVAL, "%s contains a space or a non-printable character", what);
  return STREAM_OK;
}

int events__check_day(const char *day)
{
  if (!day || !day[0])
    return STREAM_OK;
  int y, m, d;
  char tail;
  if (strlen(day) != 10 || day[4] != '-' || day[7] != '-' ||
      sscanf(day, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
    return stream__err(STREAM_EINVAL, "day must be YYYY-MM-DD");
  for (int i = 0; i < 10; i++)
    if (i != 4 && i != 7 && (day[i] < '0' || day[i] > '9'))
      return stream__err(STREAM_EINVAL, "day must be YYYY-MM-DD");
  return STREAM_OK;
}

int stream_events_view_get(stream_events *ev, stream_events_view *out, const char *view_id)
{
  if (!ev || !out || !view_id)
    return stream__err(STREAM_EINVAL, "stream_events_view_get: NULL argument");
  memset(out, 0, sizeof *out);
  if (!view_id[0])
    return stream__err(STREAM_EINVAL, "view id is missing");
  int rc = check_filter(view_id, "view id");
  if (rc != STREAM_OK)
    return rc;
  rc = ops(ev)->view_get(ev->store->impl, out, view_id);
  if (rc == STREAM_OK)
    events__qoe_finish(out, events__qoe_now(ev));
  return rc;
}

static int cmp_i64(const void *a, const void *b)
{
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static int cmp_dbl(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Accumulator of stream_events_qoe_stats over the store's scan: sums in the
 * summary, and only the two per-view values the percentiles need (16 bytes a
 * view instead of the whole record). */
typedef struct qoe_acc {
  stream_events_qoe_summary *out;
  int64_t now;
  int64_t *startup;
  size_t ns, cap_s;
  double *rpct;
  size_t nr, cap_r;
  int64_t br_ms, br_sum;
  int64_t started_watch_ms; /* the rebuffer ratios' denominator */
} qoe_acc;

static int grow(void **arr, size_t *cap, size_t elem)
{
  size_t ncap = *cap ? *cap * 2 : 256;
  void *p = realloc(*arr, ncap * elem);
  if (!p)
    return stream__err(STREAM_ENOMEM, "QoE stats: out of memory");
  *arr = p;
  *cap = ncap;
  return STREAM_OK;
}

static int qoe_acc_add(void *ud, stream_events_view *w)
{
  qoe_acc *a = ud;
  stream_events_qoe_summary *out = a->out;
  /* A view begins when the player is asked to play (analytics.md): a record
   * of a player never asked (only viewinit, heartbeats, ...) that neither
   * played nor failed is no view, and must not dilute the percentages. */
  if (!w->requested && !w->started && !w->failed)
    return STREAM_OK;
  events__qoe_finish(w, a->now);
  out->views++;
  out->started += w->started;
  out->failures += w->failed;
  out->start_failures += w->start_failed;
  out->exits_before_start += w->exited_before_start;
  out->watch_ms += w->watch_ms;
  out->playing_ms += w->playing_ms;
  out->rebuffer_count += w->rebuffer_count;
  out->rebuffer_ms += w->rebuffer_ms;
  a->br_ms += w->br_ms;
  a->br_sum += w->br_sum;
  if (w->started && w->startup_ms >= 0) {
    if (a->ns == a->cap_s && grow((void **)&a->startup, &a->cap_s, sizeof *a->startup) != STREAM_OK)
      return STREAM_ENOMEM;
    a->startup[a->ns++] = w->startup_ms;
  }
  /* Rebuffering is defined only for views that reached the first frame (Mux):
   * a view that never started (EBVS, a start failure) has startup time but
   * could not stall, and its 0 % would pull the percentiles and ratios down. */
  if (w->started)
    a->started_watch_ms += w->watch_ms;
  if (w->started && w->watch_ms > 0) {
    if (a->nr == a->cap_r && grow((void **)&a->rpct, &a->cap_r, sizeof *a->rpct) != STREAM_OK)
      return STREAM_ENOMEM;
    a->rpct[a->nr++] = w->rebuffer_pct;
  }
  return STREAM_OK;
}

int stream_events_qoe_stats(stream_events *ev, stream_events_qoe_summary *out, const char *title_id,
                            const char *day, const char *device_id)
{
  if (!ev || !out)
    return stream__err(STREAM_EINVAL, "stream_events_qoe_stats: NULL argument");
  memset(out, 0, sizeof *out);
  out->startup_ms_p50 = out->startup_ms_p95 = -1;
  int rc = check_filter(title_id, "title id");
  if (rc == STREAM_OK)
    rc = check_filter(device_id, "device id");
  if (rc == STREAM_OK)
    rc = events__check_day(day);
  if (rc != STREAM_OK)
    return rc;
  qoe_acc a;
  memset(&a, 0, sizeof a);
  a.out = out;
  a.now = events__qoe_now(ev);
  rc = ops(ev)->views_each(ev->store->impl, title_id ? title_id : "", day ? day : "",
                           device_id ? device_id : "", qoe_acc_add, &a);
  if (rc == STREAM_OK && out->views > 0) {
    double views = (double)out->views;
    out->failure_pct = 100.0 * (double)out->failures / views;
    out->start_failure_pct = 100.0 * (double)out->start_failures / views;
    out->ebvs_pct = 100.0 * (double)out->exits_before_start / views;
    if (a.started_watch_ms > 0) {
      double watch = (double)a.started_watch_ms;
      out->rebuffer_pct = 100.0 * (double)out->rebuffer_ms / watch;
      out->rebuffer_per_min = (double)out->rebuffer_count * 60000.0 / watch;
    }
    out->avg_br = a.br_ms > 0 ? (double)a.br_sum / (double)a.br_ms : 0;
    if (a.ns > 0) {
      qsort(a.startup, a.ns, sizeof *a.startup, cmp_i64);
      out->startup_ms_p50 = a.startup[events__rank(a.ns, 50)];
      out->startup_ms_p95 = a.startup[events__rank(a.ns, 95)];
    }
    if (a.nr > 0) {
      qsort(a.rpct, a.nr, sizeof *a.rpct, cmp_dbl);
      out->rebuffer_pct_p50 = a.rpct[events__rank(a.nr, 50)];
      out->rebuffer_pct_p95 = a.rpct[events__rank(a.nr, 95)];
    }
  }
  free(a.startup);
  free(a.rpct);
  if (rc != STREAM_OK) {
    memset(out, 0, sizeof *out);
    out->startup_ms_p50 = out->startup_ms_p95 = -1;
  }
  return rc;
}

int stream_events_concurrent(stream_events *ev, int64_t *out)
{
  if (!ev || !out)
    return stream__err(STREAM_EINVAL, "stream_events_concurrent: NULL argument");
  *out = 0;
  return ops(ev)->concurrent(ev->store->impl, out,
                             events__qoe_now(ev) - STREAM_EVENTS_CONCURRENT_WINDOW_MS);
}
