/*
 * PostgreSQL backend: the player-event log and consumer checkpoints
 * (store_events.h), the port of sqlite/events.c. A batch is appended in one
 * write transaction with INSERT .. ON CONFLICT (id) DO NOTHING, so a
 * duplicate id (stored before, or earlier in the batch) is skipped by the
 * database itself and the batch is stored whole or not at all. Events and QoE
 * views of an account closed meanwhile are stored without account, profile
 * and device (read in the same transaction), like the ones the close
 * pseudonymized.
 *
 * seq is SQLite's AUTOINCREMENT rowid there; here the appending transaction
 * assigns it from event_log_seq (schema_events.c), the highest seq ever
 * taken, as SQLite's sqlite_sequence row, so the numbers are SQLite's: every
 * insert attempt takes the next one, a skipped duplicate too (SQLite leaves
 * that gap), a rolled-back batch none, and none is ever reused.
 */
#include <stdlib.h>
#include <string.h>

#include "../store_events.h"
#include "pg_internal.h"

#define EVENT_COLS                                                                                 \
  "seq, id, type, view_id, session_id, account_id, profile_id, title_id, episode_id, device_id, "  \
  "client_ts, server_ts, playhead_ms, br, width, height, bl, mtp, sid, cid, ot, su, error_code, "  \
  "error_fatal, error_message"

static void read_event(stream_event *e, const pg_stmt *st)
{
  memset(e, 0, sizeof *e);
  e->seq = store__pg_col_i64(st, 0);
  store__pg_col_copy(e->id, sizeof e->id, st, 1);
  e->type = store__pg_col_int(st, 2);
  store__pg_col_copy(e->view_id, sizeof e->view_id, st, 3);
  store__pg_col_copy(e->session_id, sizeof e->session_id, st, 4);
  store__pg_col_copy(e->account_id, sizeof e->account_id, st, 5);
  store__pg_col_copy(e->profile_id, sizeof e->profile_id, st, 6);
  store__pg_col_copy(e->title_id, sizeof e->title_id, st, 7);
  store__pg_col_copy(e->episode_id, sizeof e->episode_id, st, 8);
  store__pg_col_copy(e->device_id, sizeof e->device_id, st, 9);
  e->client_ts = store__pg_col_i64(st, 10);
  e->server_ts = store__pg_col_i64(st, 11);
  e->playhead_ms = store__pg_col_i64(st, 12);
  e->br = store__pg_col_i64(st, 13);
  e->width = store__pg_col_i64(st, 14);
  e->height = store__pg_col_i64(st, 15);
  e->bl = store__pg_col_i64(st, 16);
  e->mtp = store__pg_col_i64(st, 17);
  store__pg_col_copy(e->sid, sizeof e->sid, st, 18);
  store__pg_col_copy(e->cid, sizeof e->cid, st, 19);
  store__pg_col_copy(e->ot, sizeof e->ot, st, 20);
  e->su = store__pg_col_int(st, 21);
  e->error_code = store__pg_col_int(st, 22);
  e->error_fatal = store__pg_col_int(st, 23);
  store__pg_col_copy(e->error_message, sizeof e->error_message, st, 24);
}

/* One int64 of a one-row query without parameters, inside the caller's connection. */
static int read_i64(pg_conn *db, int64_t *out, const char *what, const char *sql)
{
  pg_stmt *st;
  PG_TRY(store__pg_prepare(db, &st, what, sql, ""));
  int r = store__pg_step(db, st, what);
  int rc = STREAM_OK;
  if (r == 1)
    *out = store__pg_col_i64(st, 0);
  else
    rc = r < 0 ? r : stream__err(STREAM_EINTERNAL, "%s: no row", what);
  store__pg_release(db, st);
  return rc;
}

static int ev_append(void *impl, size_t *out_inserted, const stream_event *ev, size_t n)
{
  const char *what = "append events";
  pg_conn *db;
  *out_inserted = 0;
  PG_TRY(store__pg_wbegin(impl, &db));
  /* The highest seq assigned so far: stable under the writers' lock. */
  int64_t seq = 0;
  int rc = read_i64(db, &seq, what, "SELECT seq FROM event_log_seq WHERE one = 1");
  size_t inserted = 0;
  /* A batch is one viewer's: the account is looked up once per distinct id. */
  const char *checked = NULL;
  bool closed = false;
  for (size_t i = 0; rc == STREAM_OK && i < n; i++) {
    const stream_event *e = &ev[i];
    /* An event of an account closed meanwhile is kept without the person,
     * as the close left its earlier events. */
    if (!checked || strcmp(checked, e->account_id) != 0) {
      rc = store__pg_account_closed(db, &closed, what, e->account_id);
      checked = e->account_id;
    }
    if (rc != STREAM_OK)
      break;
    int changes = 0;
    rc = store__pg_exec(
        db, what, &changes,
        "INSERT INTO event_log (seq, id, type, view_id, session_id, account_id, profile_id, "
        "title_id, episode_id, device_id, client_ts, server_ts, playhead_ms, br, width, height, "
        "bl, mtp, sid, cid, ot, su, error_code, error_fatal, error_message) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO NOTHING",
        "ItitttttttIIIIIIIItttiiit", seq + 1, e->id, e->type, e->view_id, e->session_id,
        closed ? "" : e->account_id, closed ? "" : e->profile_id, e->title_id, e->episode_id,
        closed ? "" : e->device_id, e->client_ts, e->server_ts, e->playhead_ms, e->br, e->width,
        e->height, e->bl, e->mtp, e->sid, e->cid, e->ot, e->su, e->error_code, e->error_fatal,
        e->error_message);
    if (rc == STREAM_OK) {
      seq++; /* taken even when the row was a duplicate, as by SQLite's AUTOINCREMENT */
      if (changes > 0)
        inserted++;
    }
  }
  if (rc == STREAM_OK && n > 0)
    rc = store__pg_exec(db, what, NULL, "UPDATE event_log_seq SET seq = ? WHERE one = 1", "I", seq);
  rc = store__pg_wend(impl, db, rc);
  if (rc == STREAM_OK)
    *out_inserted = inserted;
  return rc;
}

static int ev_read(void *impl, stream_event **out, size_t *out_count, int64_t after,
                   unsigned int limit)
{
  const char *what = "read events";
  *out = NULL;
  *out_count = 0;
  pg_conn *db = store__pg_racquire(impl);
  pg_stmt *st;
  /* LIMIT as int8: an unsigned limit above INT_MAX stays a limit. */
  int rc = store__pg_prepare(db, &st, what,
                             "SELECT " EVENT_COLS " FROM event_log WHERE seq > ? ORDER BY seq "
                             "LIMIT ?",
                             "II", after, (int64_t)limit);
  stream_event *rows = NULL;
  size_t n = 0, cap = 0;
  while (rc == STREAM_OK) {
    int r = store__pg_step(db, st, what);
    if (r <= 0) {
      rc = r;
      break;
    }
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      if (ncap > limit)
        ncap = limit;
      stream_event *grown = realloc(rows, ncap * sizeof *rows);
      if (!grown) {
        rc = stream__err(STREAM_ENOMEM, "read events: out of memory");
        break;
      }
      rows = grown;
      cap = ncap;
    }
    read_event(&rows[n++], st);
  }
  store__pg_release(db, st);
  store__pg_rrelease(impl, db);
  if (rc != STREAM_OK || n == 0) {
    free(rows);
    return rc;
  }
  *out = rows;
  *out_count = n;
  return STREAM_OK;
}

/* One row by key: `sql` binds `key` as its only parameter; `row` fills `out`
 * from the row; no row is STREAM_ENOTFOUND with `missing` (a format taking the key). */
static int read_one(void *impl, const char *what, const char *sql, const char *key,
                    void (*row)(void *out, const pg_stmt *st), void *out, const char *missing)
{
  pg_conn *db = store__pg_racquire(impl);
  pg_stmt *st;
  int rc = store__pg_prepare(db, &st, what, sql, "t", key);
  if (rc == STREAM_OK) {
    int r = store__pg_step(db, st, what);
    if (r == 1)
      row(out, st);
    else
      rc = r < 0 ? r : stream__err(STREAM_ENOTFOUND, missing, key);
    store__pg_release(db, st);
  }
  store__pg_rrelease(impl, db);
  return rc;
}

static void event_row(void *out, const pg_stmt *st)
{
  read_event(out, st);
}

static int ev_get(void *impl, stream_event *out, const char *id)
{
  return read_one(impl, "get event", "SELECT " EVENT_COLS " FROM event_log WHERE id = ?", id,
                  event_row, out, "no event with id %s");
}

static int ev_stats(void *impl, int64_t *out_count, int64_t *out_last_seq)
{
  const char *what = "count events";
  pg_conn *db = store__pg_racquire(impl);
  pg_stmt *st;
  int rc =
      store__pg_prepare(db, &st, what, "SELECT count(*), coalesce(max(seq), 0) FROM event_log", "");
  if (rc == STREAM_OK) {
    int r = store__pg_step(db, st, what);
    if (r == 1) {
      *out_count = store__pg_col_i64(st, 0);
      *out_last_seq = store__pg_col_i64(st, 1);
    } else {
      rc = r < 0 ? r : stream__err(STREAM_EINTERNAL, "count events: no row");
    }
    store__pg_release(db, st);
  }
  store__pg_rrelease(impl, db);
  return rc;
}

/* max() of the primary key is one b-tree descent; count(*) above reads the whole log. */
static int ev_last_seq(void *impl, int64_t *out_last_seq)
{
  pg_conn *db = store__pg_racquire(impl);
  int rc = read_i64(db, out_last_seq, "read the last event",
                    "SELECT coalesce(max(seq), 0) FROM event_log");
  store__pg_rrelease(impl, db);
  return rc;
}

/* The seqs skip (an id already stored still takes one, deleted events leave
 * holes), so a lag is counted, not subtracted; the LIMIT bounds the scan. */
static int ev_count_after(void *impl, int64_t *out, int64_t after, int64_t limit)
{
  const char *what = "count events after a checkpoint";
  pg_conn *db = store__pg_racquire(impl);
  pg_stmt *st;
  int rc = store__pg_prepare(db, &st, what,
                             "SELECT count(*) FROM (SELECT 1 FROM event_log WHERE seq > ? "
                             "ORDER BY seq LIMIT ?) AS lag",
                             "II", after, limit);
  if (rc == STREAM_OK) {
    int r = store__pg_step(db, st, what);
    if (r == 1)
      *out = store__pg_col_i64(st, 0);
    else
      rc = r < 0 ? r : stream__err(STREAM_EINTERNAL, "%s: no row", what);
    store__pg_release(db, st);
  }
  store__pg_rrelease(impl, db);
  return rc;
}

static int checkpoint_on(pg_conn *db, int64_t *out, const char *consumer, const char *what)
{
  pg_stmt *st;
  PG_TRY(store__pg_prepare(db, &st, what, "SELECT seq FROM event_consumers WHERE name = ?", "t",
                           consumer));
  int r = store__pg_step(db, st, what);
  *out = r == 1 ? store__pg_col_i64(st, 0) : 0;
  store__pg_release(db, st);
  return r < 0 ? r : STREAM_OK;
}

static int ev_checkpoint_get(void *impl, int64_t *out, const char *consumer)
{
  pg_conn *db = store__pg_racquire(impl);
  int rc = checkpoint_on(db, out, consumer, "read checkpoint");
  store__pg_rrelease(impl, db);
  return rc;
}

/* The compare-and-set of a checkpoint, inside an open write transaction. */
static int checkpoint_cas(pg_conn *db, const char *consumer, int64_t from, int64_t to, int64_t now,
                          const char *what)
{
  int64_t cur = 0, last = 0;
  int rc = checkpoint_on(db, &cur, consumer, what);
  if (rc == STREAM_OK && cur != from)
    rc = stream__err(STREAM_ECONFLICT,
                     "checkpoint of consumer %s is %lld, not %lld: another instance committed",
                     consumer, (long long)cur, (long long)from);
  if (rc == STREAM_OK)
    rc = read_i64(db, &last, what, "SELECT coalesce(max(seq), 0) FROM event_log");
  if (rc == STREAM_OK && to > last)
    rc = stream__err(STREAM_EINVAL, "checkpoint %lld is beyond the log's last event %lld",
                     (long long)to, (long long)last);
  if (rc == STREAM_OK)
    rc = store__pg_exec(db, what, NULL,
                        "INSERT INTO event_consumers (name, seq, updated_at) VALUES (?, ?, ?) "
                        "ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, "
                        "updated_at = excluded.updated_at",
                        "tII", consumer, to, now);
  return rc;
}

static int ev_checkpoint_set(void *impl, const char *consumer, int64_t from, int64_t to,
                             int64_t now)
{
  pg_conn *db;
  PG_TRY(store__pg_wbegin(impl, &db));
  int rc = checkpoint_cas(db, consumer, from, to, now, "commit checkpoint");
  return store__pg_wend(impl, db, rc);
}

/* ---- QoE view records ------------------------------------------------------ */

/* Collect the rows of a prepared event query into a malloc'd array. */
static int read_events(pg_conn *db, pg_stmt *st, const char *what, stream_event **out,
                       size_t *out_count)
{
  stream_event *rows = NULL;
  size_t n = 0, cap = 0;
  int rc = STREAM_OK;
  for (;;) {
    int r = store__pg_step(db, st, what);
    if (r <= 0) {
      rc = r;
      break;
    }
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      stream_event *grown = realloc(rows, ncap * sizeof *rows);
      if (!grown) {
        rc = stream__err(STREAM_ENOMEM, "%s: out of memory", what);
        break;
      }
      rows = grown;
      cap = ncap;
    }
    read_event(&rows[n++], st);
  }
  if (rc != STREAM_OK || n == 0) {
    free(rows);
    return rc;
  }
  *out = rows;
  *out_count = n;
  return STREAM_OK;
}

static int ev_view_events(void *impl, stream_event **out, size_t *out_count, const char *view_id,
                          int64_t max_seq)
{
  const char *what = "read the events of a view";
  *out = NULL;
  *out_count = 0;
  pg_conn *db = store__pg_racquire(impl);
  pg_stmt *st;
  int rc = store__pg_prepare(db, &st, what,
                             "SELECT " EVENT_COLS " FROM event_log WHERE view_id = ? AND seq <= ? "
                             "ORDER BY client_ts, seq",
                             "tI", view_id, max_seq);
  if (rc == STREAM_OK) {
    rc = read_events(db, st, what, out, out_count);
    store__pg_release(db, st);
  }
  store__pg_rrelease(impl, db);
  return rc;
}

#define VIEW_COLS                                                                                  \
  "view_id, session_id, account_id, profile_id, title_id, episode_id, device_id, day, start_ts, "  \
  "last_ts, last_seq, events, requested, started, failed, start_failed, ended, error_code, "       \
  "startup_ms, watch_ms, playing_ms, rebuffer_count, rebuffer_ms, peak_br, br_ms, br_sum"

static void read_view(stream_events_view *v, const pg_stmt *st)
{
  memset(v, 0, sizeof *v);
  store__pg_col_copy(v->view_id, sizeof v->view_id, st, 0);
  store__pg_col_copy(v->session_id, sizeof v->session_id, st, 1);
  store__pg_col_copy(v->account_id, sizeof v->account_id, st, 2);
  store__pg_col_copy(v->profile_id, sizeof v->profile_id, st, 3);
  store__pg_col_copy(v->title_id, sizeof v->title_id, st, 4);
  store__pg_col_copy(v->episode_id, sizeof v->episode_id, st, 5);
  store__pg_col_copy(v->device_id, sizeof v->device_id, st, 6);
  store__pg_col_copy(v->day, sizeof v->day, st, 7);
  v->start_ts = store__pg_col_i64(st, 8);
  v->last_ts = store__pg_col_i64(st, 9);
  v->last_seq = store__pg_col_i64(st, 10);
  v->events = store__pg_col_i64(st, 11);
  v->requested = store__pg_col_int(st, 12);
  v->started = store__pg_col_int(st, 13);
  v->failed = store__pg_col_int(st, 14);
  v->start_failed = store__pg_col_int(st, 15);
  v->ended = store__pg_col_int(st, 16);
  v->error_code = store__pg_col_int(st, 17);
  v->startup_ms = store__pg_col_i64(st, 18);
  v->watch_ms = store__pg_col_i64(st, 19);
  v->playing_ms = store__pg_col_i64(st, 20);
  v->rebuffer_count = store__pg_col_i64(st, 21);
  v->rebuffer_ms = store__pg_col_i64(st, 22);
  v->peak_br = store__pg_col_i64(st, 23);
  v->br_ms = store__pg_col_i64(st, 24);
  v->br_sum = store__pg_col_i64(st, 25);
}

#define STATE_COLS "view_id, state, pre_seek, seek_stall, have_start, prev, br, first_ts"

typedef struct state_out {
  stream_events_view *view;
  stream_store_qoe_state *state;
} state_out;

static void state_row(void *out, const pg_stmt *st)
{
  state_out *o = out;
  read_view(o->view, st);
  o->state->state = store__pg_col_i64(st, 26);
  o->state->pre_seek = store__pg_col_i64(st, 27);
  o->state->seek_stall = store__pg_col_i64(st, 28);
  o->state->have_start = store__pg_col_i64(st, 29);
  o->state->prev = store__pg_col_i64(st, 30);
  o->state->br = store__pg_col_i64(st, 31);
  o->state->first_ts = store__pg_col_i64(st, 32);
}

static int ev_state_get(void *impl, stream_events_view *out_view, stream_store_qoe_state *out_state,
                        const char *view_id)
{
  state_out o = {out_view, out_state};
  return read_one(impl, "get QoE view state",
                  "SELECT " VIEW_COLS ", s.state, s.pre_seek, s.seek_stall, "
                  "s.have_start, s.prev, s.br, s.first_ts FROM qoe_views "
                  "JOIN qoe_state s USING (view_id) WHERE view_id = ?",
                  view_id, state_row, &o, "no QoE state of view %s");
}

/* Whether any view is marked for a rebuild (rebuild_list). Marks are made once, by schema
 * migration 16, and only dropped after, so once the repair is done this one read of an empty
 * table per commit replaces a DELETE per stored view. */
static int any_rebuild_mark(pg_conn *db, bool *out, const char *what)
{
  pg_stmt *st;
  *out = false;
  int rc = store__pg_prepare(db, &st, what, "SELECT 1 FROM qoe_rebuild LIMIT 1", "");
  if (rc != STREAM_OK)
    return rc;
  int r = store__pg_step(db, st, what);
  store__pg_release(db, st);
  if (r < 0)
    return r;
  *out = r == 1;
  return STREAM_OK;
}

static int ev_views_commit(void *impl, const stream_events_view *v,
                           const stream_store_qoe_state *states, size_t n, const char *consumer,
                           int64_t from, int64_t to, int64_t now)
{
  const char *what = "store QoE views";
  pg_conn *db;
  PG_TRY(store__pg_wbegin(impl, &db));
  bool marked = false;
  int rc = any_rebuild_mark(db, &marked, what);
  for (size_t i = 0; rc == STREAM_OK && i < n; i++) {
    const stream_events_view *w = &v[i];
    /* Built from events read before an account was closed: keep the view
     * without the person, as the close left the account's other views. */
    bool closed = false;
    rc = store__pg_account_closed(db, &closed, what, w->account_id);
    if (rc != STREAM_OK)
      break;
    rc = store__pg_exec(
        db, what, NULL,
        "INSERT INTO qoe_views (" VIEW_COLS ", updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (view_id) DO UPDATE SET "
        "session_id = excluded.session_id, account_id = excluded.account_id, "
        "profile_id = excluded.profile_id, title_id = excluded.title_id, "
        "episode_id = excluded.episode_id, device_id = excluded.device_id, day = excluded.day, "
        "start_ts = excluded.start_ts, last_ts = excluded.last_ts, last_seq = excluded.last_seq, "
        "events = excluded.events, requested = excluded.requested, started = excluded.started, "
        "failed = excluded.failed, start_failed = excluded.start_failed, ended = excluded.ended, "
        "error_code = excluded.error_code, startup_ms = excluded.startup_ms, "
        "watch_ms = excluded.watch_ms, playing_ms = excluded.playing_ms, "
        "rebuffer_count = excluded.rebuffer_count, rebuffer_ms = excluded.rebuffer_ms, "
        "peak_br = excluded.peak_br, br_ms = excluded.br_ms, br_sum = excluded.br_sum, "
        "updated_at = excluded.updated_at",
        "ttttttttIIIIiiiiiiIIIIIIIII", w->view_id, w->session_id, closed ? "" : w->account_id,
        closed ? "" : w->profile_id, w->title_id, w->episode_id, closed ? "" : w->device_id, w->day,
        w->start_ts, w->last_ts, w->last_seq, w->events, w->requested, w->started, w->failed,
        w->start_failed, w->ended, w->error_code, w->startup_ms, w->watch_ms, w->playing_ms,
        w->rebuffer_count, w->rebuffer_ms, w->peak_br, w->br_ms, w->br_sum, now);
    const stream_store_qoe_state *q = &states[i];
    if (rc == STREAM_OK)
      rc = store__pg_exec(db, what, NULL,
                          "INSERT INTO qoe_state (" STATE_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                          "ON CONFLICT (view_id) DO UPDATE SET state = excluded.state, "
                          "pre_seek = excluded.pre_seek, seek_stall = excluded.seek_stall, "
                          "have_start = excluded.have_start, prev = excluded.prev, "
                          "br = excluded.br, first_ts = excluded.first_ts",
                          "tIIIIIII", w->view_id, q->state, q->pre_seek, q->seek_stall,
                          q->have_start, q->prev, q->br, q->first_ts);
    if (rc == STREAM_OK && marked)
      rc = store__pg_exec(db, what, NULL, "DELETE FROM qoe_rebuild WHERE view_id = ?", "t",
                          w->view_id);
  }
  if (rc == STREAM_OK)
    rc = checkpoint_cas(db, consumer, from, to, now, what);
  return store__pg_wend(impl, db, rc);
}

/* Keyset paging over the primary key (bytewise: COLLATE "C"). */
static int ev_rebuild_list(void *impl, stream_store_qoe_mark **out, size_t *out_count,
                           const char *after, unsigned int limit)
{
  const char *what = "list the QoE views to rebuild";
  *out = NULL;
  *out_count = 0;
  pg_conn *db = store__pg_racquire(impl);
  pg_stmt *st;
  int rc = store__pg_prepare(db, &st, what,
                             "SELECT view_id FROM qoe_rebuild WHERE view_id > ? ORDER BY view_id "
                             "LIMIT ?",
                             "tI", after, (int64_t)limit);
  stream_store_qoe_mark *rows = NULL;
  size_t n = 0;
  while (rc == STREAM_OK) {
    int r = store__pg_step(db, st, what);
    if (r <= 0) {
      rc = r;
      break;
    }
    if (!rows && !(rows = malloc(limit * sizeof *rows))) {
      rc = stream__err(STREAM_ENOMEM, "%s: out of memory", what);
      break;
    }
    store__pg_col_copy(rows[n].view_id, sizeof rows[n].view_id, st, 0);
    n++;
  }
  store__pg_release(db, st);
  store__pg_rrelease(impl, db);
  if (rc != STREAM_OK || n == 0) {
    free(rows);
    return rc;
  }
  *out = rows;
  *out_count = n;
  return STREAM_OK;
}

static void view_row(void *out, const pg_stmt *st)
{
  read_view(out, st);
}

static int ev_view_get(void *impl, stream_events_view *out, const char *view_id)
{
  return read_one(impl, "get QoE view", "SELECT " VIEW_COLS " FROM qoe_views WHERE view_id = ?",
                  view_id, view_row, out, "no QoE record of view %s");
}

/* Through a cursor, VIEWS_EACH_FETCH rows at a time, so memory does not grow with the number
 * of views; the connection is held meanwhile, as SQLite holds its reader. Ties of start_ts are
 * ordered by view_id bytewise (COLLATE "C"), as SQLite compares text. */
#define VIEWS_EACH_FETCH "256"

static int ev_views_each(void *impl, const char *title_id, const char *day, const char *device_id,
                         int (*fn)(void *ud, stream_events_view *v), void *ud)
{
  const char *what = "list QoE views";
  pg_conn *db = store__pg_racquire(impl);
  int rc = store__pg_rbegin(db);
  bool open = false;
  if (rc == STREAM_OK) {
    rc = store__pg_exec(db, what, NULL,
                        "DECLARE stream_views_each NO SCROLL CURSOR FOR SELECT " VIEW_COLS
                        " FROM qoe_views WHERE (?1::text = '' OR title_id = ?1) AND "
                        "(?2::text = '' OR day = ?2) AND (?3::text = '' OR device_id = ?3) "
                        "ORDER BY start_ts, view_id COLLATE \"C\"",
                        "ttt", title_id, day, device_id);
    open = rc == STREAM_OK;
  }
  stream_events_view row;
  bool more = true;
  while (rc == STREAM_OK && more) {
    pg_stmt *st;
    rc = store__pg_prepare(db, &st, what, "FETCH " VIEWS_EACH_FETCH " FROM stream_views_each", "");
    if (rc != STREAM_OK)
      break;
    more = st->nrows > 0;
    while (rc == STREAM_OK && store__pg_step(db, st, what) == 1) {
      read_view(&row, st);
      rc = fn(ud, &row);
    }
    store__pg_release(db, st);
  }
  if (open) {
    int c = store__pg_exec_plain(db, what, "CLOSE stream_views_each");
    if (rc == STREAM_OK)
      rc = c;
  }
  store__pg_rend(db);
  store__pg_rrelease(impl, db);
  return rc;
}

/* A viewer is an (account, view id) pair, ended only by its own account's `ended` or fatal
 * error: the view id is the player's choice, so another account may send events under one in
 * use (stream_events_view), and its `ended` must not hide a live view nor its heartbeat revive
 * an ended one. event_log_live finds the window's rows; the partial index event_log_view_end
 * (view_id, account_id, seq; migration 16), whose WHERE is the subquery's type predicate
 * verbatim (keep them equal, or the planner cannot use it), finds a later ended or fatal error
 * of the same account in one descent, without reading the view's other events. */
static int ev_concurrent(void *impl, int64_t *out, int64_t since_ms)
{
  const char *what = "count concurrent viewers";
  pg_conn *db = store__pg_racquire(impl);
  pg_stmt *st;
  int rc = store__pg_prepare(
      db, &st, what,
      "SELECT count(*) FROM (SELECT DISTINCT e.account_id, e.view_id FROM event_log e "
      "WHERE e.type IN (4, 13) AND e.server_ts >= ? AND NOT EXISTS (SELECT 1 FROM event_log x "
      "WHERE x.view_id = e.view_id AND x.seq > e.seq AND x.account_id = e.account_id AND "
      "(x.type = 12 OR (x.type = 11 AND x.error_fatal = 1)))) live",
      "I", since_ms);
  if (rc == STREAM_OK) {
    int r = store__pg_step(db, st, what);
    *out = r == 1 ? store__pg_col_i64(st, 0) : 0;
    rc = r < 0 ? r : STREAM_OK;
    store__pg_release(db, st);
  }
  store__pg_rrelease(impl, db);
  return rc;
}

const struct stream_store_event_ops store__pg_event_ops = {
    .append = ev_append,
    .read = ev_read,
    .get = ev_get,
    .stats = ev_stats,
    .last_seq = ev_last_seq,
    .count_after = ev_count_after,
    .checkpoint_get = ev_checkpoint_get,
    .checkpoint_set = ev_checkpoint_set,
    .view_events = ev_view_events,
    .state_get = ev_state_get,
    .views_commit = ev_views_commit,
    .rebuild_list = ev_rebuild_list,
    .view_get = ev_view_get,
    .views_each = ev_views_each,
    .concurrent = ev_concurrent,
};
