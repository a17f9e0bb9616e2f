/* Unit tests for the emitter's spool file (libstream/client/spool.c, internal) in a temporary
 * directory: pending batches across reopen, a torn tail and a corrupt record cut off, the size
 * bound (oldest dropped), emptying and compaction; and the emitter's bounded ring (drop oldest,
 * counted) without a server. Also: a damaged record in the middle, a compaction cut by a full
 * disk, the file lock, the bound's count after a reopen; and the emitter against a scripted
 * loopback responder (a full disk under a failing server, a token replaced mid-request). Also:
 * only the ingest's JSON answer acknowledges (a captive portal's 200 or 302 is retried, logged
 * once), flush waits for the events emitted before it only, a spooled batch damaged on disk
 * after the scan is CRC-checked on read-back and counted, the spool's bound against the batch
 * size and its overflow. */
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/emitter_internal.h"
#include "client/spool.h"
#include "../responder.h"
#include "stream/emitter.h"

static char tmpdir[256];
static char path[300];

static void setup(void)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/stream-spool-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  snprintf(path, sizeof path, "%s/events.spool", tmpdir);
}

static void teardown(void)
{
  char p[320];
  remove(path);
  snprintf(p, sizeof p, "%s.tmp", path);
  remove(p);
  rmdir(tmpdir);
}

static off_t file_size(void)
{
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  return st.st_size;
}

static void append(emitter__spool *s, char fill, size_t len)
{
  uint8_t *buf = malloc(len);
  memset(buf, fill, len);
  uint64_t dropped = 99;
  ck_assert_int_eq(emitter__spool_append(s, buf, len, 10, &dropped), STREAM_OK);
  free(buf);
}

static void check_head(emitter__spool *s, char fill, size_t len)
{
  uint8_t *data;
  size_t n;
  uint64_t id;
  ck_assert_int_eq(emitter__spool_head(s, &data, &n, &id), STREAM_OK);
  ck_assert_uint_eq(n, len);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(data[i], (uint8_t)fill);
  free(data);
}

START_TEST(test_pending_across_reopen)
{
  emitter__spool s;
  ck_assert_int_eq(emitter__spool_open(&s, path, 1 << 20), STREAM_OK);
  append(&s, 'a', 100);
  append(&s, 'b', 200);
  append(&s, 'c', 300);
  ck_assert_int_eq(emitter__spool_ack(&s, s.recs[0].id), STREAM_OK);
  emitter__spool_close(&s);
  ck_assert_int_eq(emitter__spool_open(&s, path, 1 << 20), STREAM_OK);
  ck_assert_uint_eq(s.n, 2);
  check_head(&s, 'b', 200);
  /* Ids keep growing after the reopen. */
  uint64_t last = s.recs[1].id;
  append(&s, 'd', 10);
  ck_assert_uint_gt(s.recs[2].id, last);
  /* Everything acknowledged: the file is emptied. */
  while (s.n)
    ck_assert_int_eq(emitter__spool_ack(&s, s.recs[0].id), STREAM_OK);
  ck_assert_int_eq(file_size(), 0);
  uint8_t *data;
  size_t n;
  uint64_t id;
  ck_assert_int_eq(emitter__spool_head(&s, &data, &n, &id), STREAM_ENOTFOUND);
  emitter__spool_close(&s);
}
END_TEST

START_TEST(test_torn_tail_and_corrupt_record)
{
  emitter__spool s;
  ck_assert_int_eq(emitter__spool_open(&s, path, 1 << 20), STREAM_OK);
  append(&s, 'a', 100);
  append(&s, 'b', 100);
  off_t two = file_size();
  append(&s, 'c', 100);
  off_t three = file_size();
  emitter__spool_close(&s);
  /* A write cut short: the third record loses its last bytes. */
  ck_assert_int_eq(truncate(path, three - 5), 0);
  ck_assert_int_eq(emitter__spool_open(&s, path, 1 << 20), STREAM_OK);
  ck_assert_uint_eq(s.n, 2);
  ck_assert_int_eq(file_size(), two);
  emitter__spool_close(&s);
  /* A flipped byte in the second record's payload: the CRC cuts the file there. */
  int fd = open(path, O_RDWR);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(pwrite(fd, "X", 1, two - 10), 1);
  close(fd);
  ck_assert_int_eq(emitter__spool_open(&s, path, 1 << 20), STREAM_OK);
  ck_assert_uint_eq(s.n, 1);
  check_head(&s, 'a', 100);
  emitter__spool_close(&s);
  /* Garbage only (not a spool): emptied, not fatal. */
  fd = open(path, O_RDWR | O_TRUNC);
  ck_assert_int_eq(write(fd, "hello world, not a spool", 24), 24);
  close(fd);
  ck_assert_int_eq(emitter__spool_open(&s, path, 1 << 20), STREAM_OK);
  ck_assert_uint_eq(s.n, 0);
  ck_assert_int_eq(file_size(), 0);
  emitter__spool_close(&s);
}
END_TEST

START_TEST(test_bound_drops_oldest_and_compacts)
{
  emitter__spool s;
  const uint64_t max = 64 * 1024;
  ck_assert_int_eq(emitter__spool_open(&s, path, max), STREAM_OK);
  uint8_t buf[20000];
  memset(buf, 'z', sizeof buf);
  uint64_t dropped_total = 0;
  for (int i = 0; i < 10; i++) {
    uint64_t dropped = 0;
    ck_assert_int_eq(emitter__spool_append(&s, buf, sizeof buf, 7, &dropped), STREAM_OK);
    dropped_total += dropped;
    ck_assert_uint_le(s.pending_bytes, max);
  }
  ck_assert_uint_eq(s.n, 3);               /* 3 x 20000 fit in 64 KiB */
  ck_assert_uint_eq(dropped_total, 7 * 7); /* the 7 oldest batches of 7 events */
  /* The file never grows far past twice the bound: compaction rewrites it. */
  for (int i = 0; i < 30; i++) {
    uint64_t dropped;
    ck_assert_int_eq(emitter__spool_append(&s, buf, sizeof buf, 7, &dropped), STREAM_OK);
    ck_assert_int_le(file_size(), (off_t)(2 * max + 2 * sizeof buf));
  }
  uint64_t newest = s.recs[s.n - 1].id;
  emitter__spool_close(&s);
  ck_assert_int_eq(emitter__spool_open(&s, path, max), STREAM_OK);
  ck_assert_uint_eq(s.n, 3);
  ck_assert_uint_eq(s.recs[2].id, newest);
  emitter__spool_close(&s);
}
END_TEST

START_TEST(test_emitter_ring_drops_oldest)
{
  stream_emitter_options o = STREAM_EMITTER_OPTIONS_INIT;
  o.base_url = "http://127.0.0.1:9"; /* discard port: nothing listens */
  o.queue_max = 10;
  o.flush_interval_ms = 3600000; /* no batch forms before free() */
  o.shutdown_ms = 50;
  stream_emitter *em;
  ck_assert_int_eq(stream_emitter_new(&em, &o), STREAM_OK);
  stream_event e;
  memset(&e, 0, sizeof e);
  e.type = STREAM_EVENT_PLAY;
  strcpy(e.view_id, "v1");
  char first[STREAM_EVENTS_UUID_LEN + 1], id[STREAM_EVENTS_UUID_LEN + 1];
  for (int i = 0; i < 25; i++) {
    ck_assert_int_eq(stream_emitter_emit(i ? id : first, em, &e), STREAM_OK);
    if (i)
      ck_assert_str_ne(id, first);
  }
  ck_assert_uint_eq(strlen(first), 36);
  ck_assert_int_eq(first[14], '4');
  stream_emitter_stats st;
  ck_assert_int_eq(stream_emitter_stats_get(&st, em), STREAM_OK);
  ck_assert_uint_eq(st.emitted, 25);
  ck_assert_uint_eq(st.queued, 10);
  ck_assert_uint_eq(st.dropped, 15);
  /* Invalid events are refused at emit, with the ingest's rules. */
  e.type = 99;
  ck_assert_int_eq(stream_emitter_emit(NULL, em, &e), STREAM_EINVAL);
  ck_assert_msg(stream_error_last()->message[0] != '\0', "emit: an error without a message");
  e.type = STREAM_EVENT_PLAY;
  strcpy(e.view_id, "has space");
  ck_assert_int_eq(stream_emitter_emit(NULL, em, &e), STREAM_EINVAL);
  ck_assert_msg(strstr(stream_error_last()->message, "viewId"),
                "emit: '%s' does not name the field", stream_error_last()->message);
  ck_assert_int_eq(stream_emitter_flush(em, 10), STREAM_ETIMEDOUT);
  stream_emitter_free(em);
}
END_TEST

/* A damaged record in the middle (a bad sector, a write reordered by a crash) costs that record
 * only: the good records after it are still loaded, and new ones go after them. */
START_TEST(test_corrupt_middle_record_keeps_later_ones)
{
  emitter__spool s;
  ck_assert_int_eq(emitter__spool_open(&s, path, 1 << 20), STREAM_OK);
  append(&s, 'a', 100);
  off_t one = file_size();
  append(&s, 'b', 100);
  append(&s, 'c', 100);
  off_t three = file_size();
  emitter__spool_close(&s);
  int fd = open(path, O_RDWR);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(pwrite(fd, "X", 1, one + 40), 1); /* in b's payload */
  close(fd);
  ck_assert_int_eq(emitter__spool_open(&s, path, 1 << 20), STREAM_OK);
  ck_assert_uint_eq(s.n, 2);
  ck_assert_int_eq(file_size(), three);
  check_head(&s, 'a', 100);
  ck_assert_int_eq(emitter__spool_ack(&s, s.recs[0].id), STREAM_OK);
  check_head(&s, 'c', 100);
  append(&s, 'd', 50);
  emitter__spool_close(&s);
  /* A damaged length field too: the scan finds the next record by its magic. */
  fd = open(path, O_RDWR);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(pwrite(fd, "\xff\xff", 2, 8), 2); /* a's length */
  close(fd);
  ck_assert_int_eq(emitter__spool_open(&s, path, 1 << 20), STREAM_OK);
  ck_assert_uint_eq(s.n, 2);
  check_head(&s, 'c', 100);
  ck_assert_int_eq(emitter__spool_ack(&s, s.recs[0].id), STREAM_OK);
  check_head(&s, 'd', 50);
  emitter__spool_close(&s);
}
END_TEST

/* A compaction that fails half way (the disk fills up) keeps the old file and the index that
 * points into it: the pending batches still read back as they were. */
START_TEST(test_failed_compaction_keeps_index)
{
  emitter__spool s;
  const uint64_t max = 64 * 1024;
  ck_assert_int_eq(emitter__spool_open(&s, path, max), STREAM_OK);
  uint8_t buf[20000];
  char fill = 'A';
  while (s.size <= 2 * max) {
    memset(buf, fill++, sizeof buf);
    uint64_t dropped;
    ck_assert_int_eq(emitter__spool_append(&s, buf, sizeof buf, 7, &dropped), STREAM_OK);
  }
  ck_assert_uint_eq(s.n, 3);
  ck_assert_int_eq(emitter__spool_ack(&s, s.recs[0].id), STREAM_OK); /* room: no drop below */
  /* Writes past 30000 bytes fail: the second record of the compacted copy does not fit. */
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit old, lim;
  ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
  lim = old;
  lim.rlim_cur = 30000;
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  memset(buf, 'x', sizeof buf);
  uint64_t dropped;
  int rc = emitter__spool_append(&s, buf, sizeof buf, 7, &dropped);
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
  ck_assert_int_eq(rc, STREAM_EIO);
  ck_assert_uint_eq(dropped, 0);
  ck_assert_uint_eq(s.n, 2);
  check_head(&s, (char)(fill - 2), sizeof buf);
  ck_assert_int_eq(emitter__spool_ack(&s, s.recs[0].id), STREAM_OK);
  check_head(&s, (char)(fill - 1), sizeof buf);
  emitter__spool_close(&s);
  ck_assert_int_eq(emitter__spool_open(&s, path, max), STREAM_OK);
  ck_assert_uint_eq(s.n, 1);
  check_head(&s, (char)(fill - 1), sizeof buf);
  emitter__spool_close(&s);
}
END_TEST

/* Two emitters on one spool would write over each other's records: the second is refused,
 * also after a compaction replaced the file. */
START_TEST(test_spool_is_locked)
{
  emitter__spool s, t;
  ck_assert_int_eq(emitter__spool_open(&s, path, 64 * 1024), STREAM_OK);
  ck_assert_int_eq(emitter__spool_open(&t, path, 64 * 1024), STREAM_EBUSY);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "in use"));
  stream_emitter_options o = STREAM_EMITTER_OPTIONS_INIT;
  o.base_url = "http://127.0.0.1:9";
  o.spool_path = path;
  stream_emitter *em = NULL;
  ck_assert_int_eq(stream_emitter_new(&em, &o), STREAM_EBUSY);
  ck_assert_ptr_null(em);
  uint8_t buf[20000];
  memset(buf, 'q', sizeof buf);
  struct stat st0, st1;
  ck_assert_int_eq(stat(path, &st0), 0);
  /* Held open, the first file keeps its inode: a later compaction cannot reuse that number. */
  int first = open(path, O_RDONLY);
  ck_assert_int_ge(first, 0);
  for (int i = 0; i < 20; i++) { /* past twice the bound: compacted into a new file */
    uint64_t dropped;
    ck_assert_int_eq(emitter__spool_append(&s, buf, sizeof buf, 1, &dropped), STREAM_OK);
  }
  ck_assert_int_eq(stat(path, &st1), 0);
  ck_assert_uint_ne(st0.st_ino, st1.st_ino);
  close(first);
  ck_assert_int_eq(emitter__spool_open(&t, path, 64 * 1024), STREAM_EBUSY);
  emitter__spool_close(&s);
  ck_assert_int_eq(emitter__spool_open(&t, path, 64 * 1024), STREAM_OK);
  ck_assert_uint_eq(t.n, 3);
  emitter__spool_close(&t);
}
END_TEST

/* Batches dropped at the bound are counted in events, also those loaded from a previous run. */
START_TEST(test_bound_counts_events_after_reopen)
{
  stream_event ev[5];
  memset(ev, 0, sizeof ev);
  for (int i = 0; i < 5; i++) {
    snprintf(ev[i].id, sizeof ev[i].id, "%08x-0000-4000-8000-%012x", i, i);
    strcpy(ev[i].view_id, "v1");
    ev[i].type = STREAM_EVENT_HEARTBEAT;
    ev[i].client_ts = 1700000000000 + i;
  }
  uint8_t *pb;
  size_t len;
  ck_assert_int_eq(emitter__pack(&pb, &len, ev, 5), STREAM_OK);
  emitter__spool s;
  const uint64_t max = 64 * 1024;
  ck_assert_int_eq(emitter__spool_open(&s, path, max), STREAM_OK);
  uint64_t dropped;
  for (int i = 0; i < 3; i++)
    ck_assert_int_eq(emitter__spool_append(&s, pb, len, 5, &dropped), STREAM_OK);
  emitter__spool_close(&s);
  free(pb);
  ck_assert_int_eq(emitter__spool_open(&s, path, max), STREAM_OK);
  ck_assert_uint_eq(s.n, 3);
  uint8_t *big = calloc(1, max);
  ck_assert_int_eq(emitter__spool_append(&s, big, max - 10, 1, &dropped), STREAM_OK);
  free(big);
  ck_assert_uint_eq(s.n, 1);
  ck_assert_uint_eq(dropped, 15);
  emitter__spool_close(&s);
}
END_TEST

/* ---- the emitter against a scripted HTTP responder on loopback (responder.h) ----------------- */

#define ANSWER(status)                                                                             \
  "HTTP/1.1 " status "\r\nContent-Type: application/json\r\nConnection: close\r\n"
#define OK_BODY "Content-Length: 31\r\n\r\n{\"accepted\":1,\"duplicates\":0}  "

static pthread_mutex_t acked_mu = PTHREAD_MUTEX_INITIALIZER;
static char acked_ids[64][STREAM_EVENTS_UUID_LEN + 1];
static int n_acked;

static void on_batch(void *ud, int outcome, const stream_event *ev, size_t n)
{
  (void)ud;
  pthread_mutex_lock(&acked_mu);
  for (size_t i = 0; outcome == STREAM_EMITTER_ACKED && i < n && n_acked < 64; i++)
    memcpy(acked_ids[n_acked++], ev[i].id, sizeof ev[i].id);
  pthread_mutex_unlock(&acked_mu);
}

static bool was_acked(const char *id)
{
  pthread_mutex_lock(&acked_mu);
  bool found = false;
  for (int i = 0; i < n_acked && !found; i++)
    found = strcmp(acked_ids[i], id) == 0;
  pthread_mutex_unlock(&acked_mu);
  return found;
}

/* Options for an emitter that posts to r, the rest at their defaults. */
static stream_emitter_options options_for(const test_responder *r)
{
  static char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", r->port);
  stream_emitter_options o = STREAM_EMITTER_OPTIONS_INIT;
  o.base_url = url;
  return o;
}

static stream_emitter *new_emitter(const stream_emitter_options *o)
{
  stream_emitter *em = NULL;
  ck_assert_int_eq(stream_emitter_new(&em, o), STREAM_OK);
  return em;
}

static stream_emitter *emitter_for(const test_responder *r, const char *spool)
{
  stream_emitter_options o = options_for(r);
  o.access_token = "old-token";
  o.batch_max_events = 5;
  o.flush_interval_ms = 3600000; /* batches form by count or flush only */
  o.backoff_base_ms = 50;
  o.backoff_max_ms = 100;
  o.timeout_ms = 5000;
  o.shutdown_ms = 100;
  o.spool_path = spool;
  o.on_batch = on_batch;
  return new_emitter(&o);
}

static void emit_heartbeat(stream_emitter *em, char *id)
{
  stream_event e;
  memset(&e, 0, sizeof e);
  e.type = STREAM_EVENT_HEARTBEAT;
  strcpy(e.view_id, "v1");
  ck_assert_int_eq(stream_emitter_emit(id, em, &e), STREAM_OK);
}

/* The server fails once, then accepts every batch. */
static const char *const unavailable_then_ok[] = {
    ANSWER("503 Service Unavailable") "Content-Length: 0\r\n\r\n", ANSWER("200 OK") OK_BODY};

/* The disk is full (/dev/full: every spool write is ENOSPC) and the server fails once: the first
 * batch stays in hand and is retried; the next one must not take its place. */
START_TEST(test_emitter_spool_full_keeps_batch_in_hand)
{
  test_responder r;
  test_responder_start(&r, unavailable_then_ok, 2, -1);
  stream_emitter *em = emitter_for(&r, "/dev/full");
  char ids[10][STREAM_EVENTS_UUID_LEN + 1];
  for (int i = 0; i < 10; i++)
    emit_heartbeat(em, ids[i]);
  ck_assert_int_eq(stream_emitter_flush(em, 10000), STREAM_OK);
  for (int i = 0; i < 10; i++)
    ck_assert_msg(was_acked(ids[i]), "event %d (%s) was never acknowledged", i, ids[i]);
  stream_emitter_stats st;
  ck_assert_int_eq(stream_emitter_stats_get(&st, em), STREAM_OK);
  ck_assert_uint_eq(st.sent, 10);
  ck_assert_uint_eq(st.spooled, 0);
  ck_assert_uint_ge(st.retried, 1);
  stream_emitter_free(em);
  test_responder_stop(&r);
}
END_TEST

/* A token set while a request is out (refused with 401 for the old token) is used at once, not
 * after the backoff. */
START_TEST(test_emitter_new_token_during_request)
{
  const char *script[] = {ANSWER("401 Unauthorized") "Content-Length: 0\r\n\r\n",
                          ANSWER("200 OK") OK_BODY};
  test_responder r;
  test_responder_start(&r, script, 2, 0);
  stream_emitter_options o = options_for(&r);
  o.access_token = "old-token";
  o.batch_max_events = 1;
  o.backoff_base_ms = 2000000000; /* a retry by backoff would come far too late */
  o.backoff_max_ms = 2000000000;
  o.shutdown_ms = 100;
  o.on_batch = on_batch;
  stream_emitter *em = new_emitter(&o);
  char id[STREAM_EVENTS_UUID_LEN + 1];
  emit_heartbeat(em, id);
  test_responder_wait_held(&r);
  ck_assert_ptr_nonnull(strstr(r.last_request, "Bearer old-token"));
  ck_assert_int_eq(stream_emitter_set_token(em, "new-token"), STREAM_OK);
  test_responder_release(&r);
  ck_assert_int_eq(stream_emitter_flush(em, 5000), STREAM_OK);
  ck_assert(was_acked(id));
  pthread_mutex_lock(&r.mu);
  ck_assert_ptr_nonnull(strstr(r.last_request, "Bearer new-token"));
  pthread_mutex_unlock(&r.mu);
  stream_emitter_free(em);
  test_responder_stop(&r);
}
END_TEST

/* The spool reaches its bound while its oldest batch is being sent (the server is slow): that
 * batch is not dropped (it is sent anyway), so every event is counted once, as sent or as
 * dropped from the spool. */
START_TEST(test_emitter_bound_spares_batch_in_flight)
{
  test_responder r;
  test_responder_start(&r, unavailable_then_ok, 2, 0);
  stream_emitter_options o = options_for(&r);
  o.queue_max = 5000;
  o.batch_max_events = 5;
  o.flush_interval_ms = 3600000;
  o.backoff_base_ms = 50;
  o.backoff_max_ms = 100;
  o.shutdown_ms = 100;
  o.spool_path = path;
  o.spool_max_bytes = 64 * 1024;
  o.batch_max_bytes = 16 * 1024; /* the spool must hold two full batches */
  o.on_batch = on_batch;
  stream_emitter *em = new_emitter(&o);
  char first[5][STREAM_EVENTS_UUID_LEN + 1], id[STREAM_EVENTS_UUID_LEN + 1];
  for (int i = 0; i < 5; i++)
    emit_heartbeat(em, first[i]);
  test_responder_wait_held(&r);  /* the first batch is spooled and out */
  for (int i = 0; i < 2000; i++) /* about twice the spool's bound */
    emit_heartbeat(em, id);
  test_responder_release(&r);
  ck_assert_int_eq(stream_emitter_flush(em, 60000), STREAM_OK);
  for (int i = 0; i < 5; i++)
    ck_assert(was_acked(first[i]));
  stream_emitter_stats st;
  ck_assert_int_eq(stream_emitter_stats_get(&st, em), STREAM_OK);
  ck_assert_uint_gt(st.spool_dropped, 0);
  ck_assert_uint_eq(st.dropped, 0);
  ck_assert_uint_eq(st.sent + st.spool_dropped, 2005);
  stream_emitter_free(em);
  test_responder_stop(&r);
}
END_TEST

static double cpu_seconds(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* While the batch in hand waits out a Retry-After, events older than the flush interval wait in
 * the ring: the sender sleeps, it does not spin (an offline player's battery). */
START_TEST(test_emitter_sleeps_while_backing_off)
{
  const char *script[] = {ANSWER("503 Service Unavailable") "Retry-After: 3\r\n"
                                                            "Content-Length: 0\r\n\r\n"};
  test_responder r;
  test_responder_start(&r, script, 1, -1);
  stream_emitter_options o = options_for(&r);
  o.batch_max_events = 1;
  o.flush_interval_ms = 20;
  o.shutdown_ms = 50;
  stream_emitter *em = new_emitter(&o);
  char id[STREAM_EVENTS_UUID_LEN + 1];
  emit_heartbeat(em, id);
  for (int i = 0; i < 500 && !test_responder_served(&r); i++) /* until the first answer came */
    usleep(10000);
  usleep(100000);
  emit_heartbeat(em, id); /* waits in the ring behind the batch in hand */
  usleep(100000);
  double before = cpu_seconds();
  usleep(1000000);
  double used = cpu_seconds() - before;
  ck_assert_msg(used < 0.3, "the sender used %.2f s of CPU in 1 s while waiting", used);
  stream_emitter_free(em);
  test_responder_stop(&r);
}
END_TEST

/* ---- what acknowledges a batch --------------------------------------------------------------- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static int n_warnings;

static void count_warnings(int level, const char *module, const char *message, void *ud)
{
  (void)message;
  (void)ud;
  pthread_mutex_lock(&log_mu);
  if (level >= STREAM_LOG_WARN && strcmp(module, "emitter") == 0)
    n_warnings++;
  pthread_mutex_unlock(&log_mu);
}

/* A captive portal (200 text/html, or 302 to its login page on another host), a proxy's own JSON,
 * a 204: none of them is the ingest's answer, so the batch is retried (with backoff, one warning
 * for the outage) until the ingest answers, here that all of it was stored already. The redirect
 * is not followed. */
START_TEST(test_emitter_only_ingest_answer_acks)
{
  const char *portal_script[] = {ANSWER("200 OK") OK_BODY};
  test_responder portal;
  test_responder_start(&portal, portal_script, 1, -1);
  static char redirect[256];
  snprintf(redirect, sizeof redirect,
           "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:%d/login\r\n"
           "Connection: close\r\nContent-Length: 0\r\n\r\n",
           portal.port);
  const char *script[] = {
      "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
      "<html><body>Welcome to the hotel Wi-Fi: please log in</body></html>",
      redirect,
      ANSWER("200 OK") "Content-Length: 20\r\n\r\n{\"error\":\"no route\"}",
      "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
      "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
      "<html><body>Not found (portal)</body></html>",
      ANSWER("200 OK") "Content-Length: 29\r\n\r\n{\"accepted\":0,\"duplicates\":5}",
      "HTTP/1.1 400 Bad Request\r\nContent-Type: application/problem+json\r\n"
      "Connection: close\r\n\r\n{\"status\":400,\"detail\":\"bad batch\"}"};
  test_responder r;
  test_responder_start(&r, script, 7, -1);
  stream_log_set_callback(count_warnings, NULL, STREAM_LOG_DEBUG);
  stream_emitter *em = emitter_for(&r, NULL);
  char ids[5][STREAM_EVENTS_UUID_LEN + 1];
  for (int i = 0; i < 5; i++)
    emit_heartbeat(em, ids[i]);
  ck_assert_int_eq(stream_emitter_flush(em, 10000), STREAM_OK);
  stream_emitter_stats st;
  ck_assert_int_eq(stream_emitter_stats_get(&st, em), STREAM_OK);
  ck_assert_int_eq(test_responder_served(&r), 6);
  ck_assert_uint_eq(st.retried, 5);
  ck_assert_uint_eq(st.sent, 5);
  ck_assert_uint_eq(st.rejected, 0); /* the portal's 404 page refused nothing */
  ck_assert_uint_eq(st.duplicates, 5);
  ck_assert_uint_eq(st.batches, 1);
  for (int i = 0; i < 5; i++)
    ck_assert(was_acked(ids[i]));
  ck_assert_int_eq(test_responder_served(&portal), 0); /* the 302 was not followed */
  pthread_mutex_lock(&log_mu);
  ck_assert_int_eq(n_warnings, 1);
  pthread_mutex_unlock(&log_mu);
  /* The ingest's own refusal (problem+json) is final: the batch is dropped as rejected. */
  for (int i = 0; i < 5; i++)
    emit_heartbeat(em, NULL);
  ck_assert_int_eq(stream_emitter_flush(em, 10000), STREAM_OK);
  ck_assert_int_eq(stream_emitter_stats_get(&st, em), STREAM_OK);
  ck_assert_int_eq(test_responder_served(&r), 7);
  ck_assert_uint_eq(st.rejected, 5);
  ck_assert_uint_eq(st.retried, 5);
  stream_emitter_free(em);
  stream_log_set_callback(NULL, NULL, STREAM_LOG_OFF);
  test_responder_stop(&r);
  test_responder_stop(&portal);
}
END_TEST

/* A 403 is about the token (retried until a new one works) unless its problem type says the
 * batch names a profile the token may not name (RV7): that batch is refused for good and the
 * next one goes out. */
START_TEST(test_emitter_403_profile_refuses_batch)
{
  const char *script[] = {
      "HTTP/1.1 403 Forbidden\r\nContent-Type: application/problem+json\r\n"
      "Connection: close\r\n\r\n"
      "{\"type\":\"urn:libstream:problem:forbidden\",\"title\":\"Forbidden\",\"status\":403}",
      "HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
      "<html><body>{\"type\":\"urn:libstream:problem:event-profile-forbidden\"}</body></html>",
      "HTTP/1.1 403 Forbidden\r\nContent-Type: application/problem+json\r\n"
      "Connection: close\r\n\r\n"
      "{\"type\":\"urn:libstream:problem:event-profile-forbidden\",\"title\":\"Event profile "
      "forbidden\",\"status\":403,\"detail\":\"event 0 names a profile the credential's account "
      "does not have\",\"instance\":\"/v1/events\"}",
      ANSWER("200 OK") OK_BODY};
  test_responder r;
  test_responder_start(&r, script, 4, -1);
  stream_emitter *em = emitter_for(&r, NULL);
  for (int i = 0; i < 5; i++)
    emit_heartbeat(em, NULL);
  ck_assert_int_eq(stream_emitter_flush(em, 10000), STREAM_OK);
  stream_emitter_stats st;
  ck_assert_int_eq(stream_emitter_stats_get(&st, em), STREAM_OK);
  ck_assert_int_eq(test_responder_served(&r), 3);
  ck_assert_uint_eq(st.retried, 2); /* the plain 403 and the proxy's 403 page */
  ck_assert_uint_eq(st.rejected, 5);
  ck_assert_uint_eq(st.sent, 0);
  char id[STREAM_EVENTS_UUID_LEN + 1];
  emit_heartbeat(em, id);
  for (int i = 0; i < 4; i++)
    emit_heartbeat(em, NULL);
  ck_assert_int_eq(stream_emitter_flush(em, 10000), STREAM_OK);
  ck_assert_int_eq(stream_emitter_stats_get(&st, em), STREAM_OK);
  ck_assert_int_eq(test_responder_served(&r), 4);
  ck_assert_uint_eq(st.sent, 5);
  ck_assert_uint_eq(st.rejected, 5);
  ck_assert(was_acked(id));
  stream_emitter_free(em);
  test_responder_stop(&r);
}
END_TEST

/* ---- flush ----------------------------------------------------------------------------------- */

typedef struct steady {
  stream_emitter *em;
  test_responder *r;
  atomic_int emitted;
  atomic_bool stop;
} steady;

/* Starts once the flush is under way (100 ms), lets the held answer to the earlier events go at
 * 300 ms, and emits every 10 ms until stopped. */
static void *emit_steadily(void *arg)
{
  steady *sd = arg;
  usleep(100000);
  for (int t = 100; !atomic_load(&sd->stop); t += 10) {
    emit_heartbeat(sd->em, NULL);
    atomic_fetch_add(&sd->emitted, 1);
    if (t == 300)
      test_responder_release(sd->r);
    usleep(10000);
  }
  return NULL;
}

/* Another thread emits all along the flush, and its events cannot be acknowledged for long (the
 * server answers them with a 503 and Retry-After: 10): flush still returns as soon as the events
 * emitted before it are acknowledged. (It waited for an empty emitter, and timed out.) */
START_TEST(test_emitter_flush_ignores_later_events)
{
  const char *script[] = {
      ANSWER("200 OK") OK_BODY,
      ANSWER("503 Service Unavailable") "Retry-After: 10\r\nContent-Length: 0\r\n\r\n"};
  test_responder r;
  test_responder_start(&r, script, 2, 0);
  stream_emitter_options o = options_for(&r);
  o.batch_max_events = 5;
  o.flush_interval_ms = 3600000;
  o.shutdown_ms = 100;
  o.on_batch = on_batch;
  stream_emitter *em = new_emitter(&o);
  char ids[5][STREAM_EVENTS_UUID_LEN + 1];
  for (int i = 0; i < 5; i++)
    emit_heartbeat(em, ids[i]);
  test_responder_wait_held(&r); /* their batch is out; the answer waits for the thread */
  steady sd;
  sd.em = em;
  sd.r = &r;
  atomic_init(&sd.emitted, 0);
  atomic_init(&sd.stop, false);
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, emit_steadily, &sd), 0);
  int rc = stream_emitter_flush(em, 5000);
  int later = atomic_load(&sd.emitted);
  stream_emitter_stats st;
  ck_assert_int_eq(stream_emitter_stats_get(&st, em), STREAM_OK);
  atomic_store(&sd.stop, true);
  pthread_join(th, NULL);
  ck_assert_msg(rc == STREAM_OK, "flush: %s", stream_strerror(rc));
  for (int i = 0; i < 5; i++)
    ck_assert(was_acked(ids[i]));
  ck_assert_int_gt(later, 0); /* events were emitted during the flush */
  ck_assert_uint_eq(st.sent, 5);
  stream_emitter_free(em);
  test_responder_stop(&r);
}
END_TEST

/* ---- damaged spooled batches ----------------------------------------------------------------- */

/* A record damaged after the open's scan (the disk changed it) fails its CRC when read back to be
 * sent; it stays pending until the emitter drops it. */
START_TEST(test_spool_head_rechecks_crc)
{
  emitter__spool s;
  ck_assert_int_eq(emitter__spool_open(&s, path, 1 << 20), STREAM_OK);
  append(&s, 'a', 100);
  append(&s, 'b', 100);
  int fd = open(path, O_RDWR);
  ck_assert_int_ge(fd, 0);
  ck_assert_int_eq(pwrite(fd, "X", 1, 40), 1); /* in a's payload */
  close(fd);
  uint8_t *data = NULL;
  size_t n;
  uint64_t id;
  ck_assert_int_eq(emitter__spool_head(&s, &data, &n, &id), STREAM_EPROTO);
  ck_assert_ptr_null(data);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "CRC"));
  ck_assert_uint_eq(s.n, 2);
  ck_assert_int_eq(emitter__spool_ack(&s, s.recs[0].id), STREAM_OK);
  check_head(&s, 'b', 100);
  emitter__spool_close(&s);
}
END_TEST

/* The emitter counts such a batch as dropped from the spool (it was lost silently, or sent with
 * the damage in it), and sends the others. */
START_TEST(test_emitter_counts_batch_damaged_in_spool)
{
  const char *script[] = {ANSWER("503 Service Unavailable") "Retry-After: 1\r\n"
                                                            "Content-Length: 0\r\n\r\n",
                          ANSWER("200 OK") OK_BODY};
  test_responder r;
  test_responder_start(&r, script, 2, -1);
  stream_emitter *em = emitter_for(&r, path);
  for (int i = 0; i < 5; i++)
    emit_heartbeat(em, NULL);
  for (int i = 0; i < 500 && !test_responder_served(&r); i++) /* the first batch waits 1 s */
    usleep(10000);
  for (int i = 0; i < 5; i++)
    emit_heartbeat(em, NULL);
  stream_emitter_stats st;
  for (int i = 0; i < 500; i++) { /* until the second batch is spooled */
    ck_assert_int_eq(stream_emitter_stats_get(&st, em), STREAM_OK);
    if (st.spooled == 10)
      break;
    usleep(1000);
  }
  ck_assert_uint_eq(st.spooled, 10);
  ck_assert_int_eq(test_responder_served(&r), 1); /* still waiting out the Retry-After */
  /* Flip the last byte of the file: in the second batch's payload. */
  int fd = open(path, O_RDWR);
  ck_assert_int_ge(fd, 0);
  off_t end = lseek(fd, 0, SEEK_END);
  unsigned char c;
  ck_assert_int_eq(pread(fd, &c, 1, end - 1), 1);
  c ^= 0x01;
  ck_assert_int_eq(pwrite(fd, &c, 1, end - 1), 1);
  close(fd);
  ck_assert_int_eq(stream_emitter_flush(em, 10000), STREAM_OK);
  ck_assert_int_eq(stream_emitter_stats_get(&st, em), STREAM_OK);
  ck_assert_uint_eq(st.sent, 5);
  ck_assert_uint_eq(st.spool_dropped, 5);
  ck_assert_int_eq(test_responder_served(&r), 2);
  stream_emitter_free(em);
  test_responder_stop(&r);
}
END_TEST

/* A stored batch that passes its CRC but does not decode (three events whose contents are not
 * events) is dropped and counted, not acked away silently. */
START_TEST(test_emitter_counts_batch_that_does_not_decode)
{
  /* Batch field 1 (events) three times, each an Event with an invalid wire type inside. */
  const uint8_t bad[] = {0x0a, 0x02, 0x0f, 0x00, 0x0a, 0x02, 0x0f, 0x00, 0x0a, 0x02, 0x0f, 0x00};
  emitter__spool s;
  ck_assert_int_eq(emitter__spool_open(&s, path, 1 << 20), STREAM_OK);
  uint64_t dropped;
  ck_assert_int_eq(emitter__spool_append(&s, bad, sizeof bad, 3, &dropped), STREAM_OK);
  emitter__spool_close(&s);
  const char *script[] = {ANSWER("200 OK") OK_BODY};
  test_responder r;
  test_responder_start(&r, script, 1, -1);
  stream_emitter *em = emitter_for(&r, path);
  ck_assert_int_eq(stream_emitter_flush(em, 10000), STREAM_OK);
  stream_emitter_stats st;
  ck_assert_int_eq(stream_emitter_stats_get(&st, em), STREAM_OK);
  ck_assert_uint_eq(st.spool_dropped, 3);
  ck_assert_uint_eq(st.sent, 0);
  ck_assert_int_eq(test_responder_served(&r), 0);
  stream_emitter_free(em);
  test_responder_stop(&r);
}
END_TEST

/* ---- the spool's bound ----------------------------------------------------------------------- */

/* A spool that cannot hold two full batches would evict every older batch for each new one. */
START_TEST(test_emitter_spool_smaller_than_batches_refused)
{
  stream_emitter_options o = STREAM_EMITTER_OPTIONS_INIT;
  o.base_url = "http://127.0.0.1:9";
  o.spool_path = path;
  o.spool_max_bytes = 64 * 1024; /* batch_max_bytes: 256 KiB by default */
  stream_emitter *em = NULL;
  ck_assert_int_eq(stream_emitter_new(&em, &o), STREAM_EINVAL);
  ck_assert_ptr_null(em);
  const char *msg = stream_error_last()->message;
  ck_assert_msg(strstr(msg, "spool_max_bytes") && strstr(msg, "batch_max_bytes"),
                "'%s' does not name both options", msg);
  o.batch_max_bytes = 1024 * 1024;
  o.spool_max_bytes = 0; /* 16 MiB */
  ck_assert_int_eq(stream_emitter_new(&em, &o), STREAM_OK);
  stream_emitter_free(em);
  o.spool_max_bytes = 2 * 1024 * 1024 - 1;
  ck_assert_int_eq(stream_emitter_new(&em, &o), STREAM_EINVAL);
  o.batch_max_bytes = 32 * 1024;
  o.spool_max_bytes = 64 * 1024;
  ck_assert_int_eq(stream_emitter_new(&em, &o), STREAM_OK);
  stream_emitter_free(em);
}
END_TEST

/* Twice a huge bound overflows: the spool would compact (rewrite the file) on every append. */
START_TEST(test_spool_huge_bound_does_not_compact)
{
  emitter__spool s;
  ck_assert_int_eq(emitter__spool_open(&s, path, (UINT64_C(1) << 63) + 1), STREAM_OK);
  append(&s, 'a', 100);
  struct stat st0, st1;
  ck_assert_int_eq(stat(path, &st0), 0);
  append(&s, 'b', 100);
  append(&s, 'c', 100);
  ck_assert_int_eq(stat(path, &st1), 0);
  ck_assert_uint_eq(st0.st_ino, st1.st_ino);
  ck_assert_uint_eq(s.n, 3);
  emitter__spool_close(&s);
}
END_TEST

static Suite *spool_suite(void)
{
  Suite *s = suite_create("spool");
  TCase *tc = tcase_create("spool");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 30);
  tcase_add_test(tc, test_pending_across_reopen);
  tcase_add_test(tc, test_torn_tail_and_corrupt_record);
  tcase_add_test(tc, test_bound_drops_oldest_and_compacts);
  tcase_add_test(tc, test_emitter_ring_drops_oldest);
  tcase_add_test(tc, test_corrupt_middle_record_keeps_later_ones);
  tcase_add_test(tc, test_failed_compaction_keeps_index);
  tcase_add_test(tc, test_spool_is_locked);
  tcase_add_test(tc, test_bound_counts_events_after_reopen);
  tcase_add_test(tc, test_emitter_spool_full_keeps_batch_in_hand);
  tcase_add_test(tc, test_emitter_new_token_during_request);
  tcase_add_test(tc, test_emitter_bound_spares_batch_in_flight);
  tcase_add_test(tc, test_emitter_sleeps_while_backing_off);
  tcase_add_test(tc, test_emitter_only_ingest_answer_acks);
  tcase_add_test(tc, test_emitter_403_profile_refuses_batch);
  tcase_add_test(tc, test_emitter_flush_ignores_later_events);
  tcase_add_test(tc, test_spool_head_rechecks_crc);
  tcase_add_test(tc, test_emitter_counts_batch_damaged_in_spool);
  tcase_add_test(tc, test_emitter_counts_batch_that_does_not_decode);
  tcase_add_test(tc, test_emitter_spool_smaller_than_batches_refused);
  tcase_add_test(tc, test_spool_huge_bound_does_not_compact);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(spool_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
