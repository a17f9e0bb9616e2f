/*
 * The player-event emitter against the real streamd, driven by
 * test_events.py. The access token comes from the environment
 * (EVENTS_TOKEN), never from argv.
 *
 *   events_driver flood URL COUNT EMITTED_FILE ACKED_FILE [SPOOL]
 *       emit COUNT heartbeats as fast as possible (ids to EMITTED_FILE), write
 *       the ids of every acknowledged batch to ACKED_FILE as the sender
 *       reports them, flush for up to 120 s, print the stats as JSON.
 *   events_driver spool URL COUNT EMITTED_FILE SPOOL
 *       emit COUNT events with a spool while URL is unreachable, wait until
 *       all are spooled, print "spooled" and sleep (the test kills it).
 *   events_driver drain URL SPOOL ACKED_FILE
 *       open the spool and flush what it holds for up to 60 s; print stats.
 *   events_driver profiles URL EMITTED_FILE ACKED_FILE SPOOL PROFILE...
 *       emit one heartbeat per PROFILE ("-": none), each its own batch, with
 *       a spool; flush for up to 60 s; print stats. With EVENTS_TOKEN_NEXT
 *       set, the emitter starts with EVENTS_TOKEN, and EVENTS_TOKEN_NEXT is
 *       set once a batch was retried (a refused token), before the flush.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stream/stream.h"

static FILE *acked;

static void on_batch(void *ud, int outcome, const stream_event *ev, size_t n)
{
  (void)ud;
  if (outcome != STREAM_EMITTER_ACKED || !acked)
    return;
  for (size_t i = 0; i < n; i++)
    fprintf(acked, "%s\n", ev[i].id);
  fflush(acked);
}

static void print_stats(stream_emitter *em, int flush_rc)
{
  stream_emitter_stats s;
  stream_emitter_stats_get(&s, em);
  printf("{\"flush\":%d,\"emitted\":%llu,\"queued\":%llu,\"sent\":%llu,\"duplicates\":%llu,"
         "\"dropped\":%llu,\"rejected\":%llu,\"retried\":%llu,\"spooled\":%llu,"
         "\"spool_dropped\":%llu,\"batches\":%llu}\n",
         flush_rc, (unsigned long long)s.emitted, (unsigned long long)s.queued,
         (unsigned long long)s.sent, (unsigned long long)s.duplicates,
         (unsigned long long)s.dropped, (unsigned long long)s.rejected,
         (unsigned long long)s.retried, (unsigned long long)s.spooled,
         (unsigned long long)s.spool_dropped, (unsigned long long)s.batches);
  fflush(stdout);
}

static stream_emitter *open_emitter_n(const char *url, const char *spool, size_t batch_max)
{
  stream_emitter_options o = STREAM_EMITTER_OPTIONS_INIT;
  o.base_url = url;
  o.access_token = getenv("EVENTS_TOKEN");
  o.queue_max = 200000; /* the flood must not drop: every event is checked */
  o.batch_max_events = batch_max;
  o.flush_interval_ms = 50;
  o.backoff_base_ms = 50;
  o.backoff_max_ms = 500;
  o.timeout_ms = 3000;
  o.shutdown_ms = 1000;
  o.spool_path = spool;
  o.on_batch = on_batch;
  stream_emitter *em = NULL;
  if (stream_emitter_new(&em, &o) != STREAM_OK) {
    fprintf(stderr, "emitter: %s\n", stream_error_last()->message);
    exit(2);
  }
  return em;
}

static stream_emitter *open_emitter(const char *url, const char *spool)
{
  return open_emitter_n(url, spool, 100);
}

static void emit_n(stream_emitter *em, long count, const char *emitted_file)
{
  FILE *f = fopen(emitted_file, "w");
  if (!f) {
    perror(emitted_file);
    exit(2);
  }
  stream_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = STREAM_EVENT_HEARTBEAT;
  snprintf(ev.view_id, sizeof ev.view_id, "view-%ld", (long)getpid());
  snprintf(ev.title_id, sizeof ev.title_id, "title-1");
  snprintf(ev.ot, sizeof ev.ot, "v");
  ev.br = 3000;
  for (long i = 0; i < count; i++) {
    char id[STREAM_EVENTS_UUID_LEN + 1];
    ev.playhead_ms = i * 10;
    if (stream_emitter_emit(id, em, &ev) != STREAM_OK) {
      fprintf(stderr, "emit: %s\n", stream_error_last()->message);
      exit(2);
    }
    fprintf(f, "%s\n", id);
  }
  fclose(f);
}

int main(int argc, char **argv)
{
  if (argc < 2)
    return 2;
  if (strcmp(argv[1], "flood") == 0 && (argc == 6 || argc == 7)) {
    acked = fopen(argv[5], "w");
    stream_emitter *em = open_emitter(argv[2], argc == 7 ? argv[6] : NULL);
    emit_n(em, atol(argv[3]), argv[4]);
    int rc = stream_emitter_flush(em, 120000);
    print_stats(em, rc);
    stream_emitter_free(em);
    fclose(acked);
    return rc == STREAM_OK ? 0 : 1;
  }
  if (strcmp(argv[1], "spool") == 0 && argc == 6) {
    long count = atol(argv[3]);
    stream_emitter *em = open_emitter(argv[2], argv[5]);
    emit_n(em, count, argv[4]);
    for (int i = 0; i < 6000; i++) {
      stream_emitter_stats s;
      stream_emitter_stats_get(&s, em);
      if ((long)s.spooled >= count)
        break;
      struct timespec ts = {0, 10 * 1000000L};
      nanosleep(&ts, NULL);
    }
    print_stats(em, 0);
    printf("spooled\n");
    fflush(stdout);
    for (;;)
      pause(); /* killed by the test */
  }
  if (strcmp(argv[1], "drain") == 0 && argc == 5) {
    acked = fopen(argv[4], "w");
    stream_emitter *em = open_emitter(argv[2], argv[3]);
    int rc = stream_emitter_flush(em, 60000);
    print_stats(em, rc);
    stream_emitter_free(em);
    fclose(acked);
    return rc == STREAM_OK ? 0 : 1;
  }
  if (strcmp(argv[1], "profiles") == 0 && argc >= 7) {
    acked = fopen(argv[4], "w");
    FILE *f = fopen(argv[3], "w");
    if (!acked || !f) {
      perror("profiles");
      return 2;
    }
    stream_emitter *em = open_emitter_n(argv[2], argv[5], 1);
    for (int i = 6; i < argc; i++) {
      stream_event ev;
      memset(&ev, 0, sizeof ev);
      ev.type = STREAM_EVENT_HEARTBEAT;
      snprintf(ev.view_id, sizeof ev.view_id, "view-profiles-%ld-%d", (long)getpid(), i);
      snprintf(ev.title_id, sizeof ev.title_id, "title-1");
      if (strcmp(argv[i], "-") != 0)
        snprintf(ev.profile_id, sizeof ev.profile_id, "%s", argv[i]);
      char id[STREAM_EVENTS_UUID_LEN + 1];
      if (stream_emitter_emit(id, em, &ev) != STREAM_OK) {
        fprintf(stderr, "emit: %s\n", stream_error_last()->message);
        return 2;
      }
      fprintf(f, "%s\n", id);
    }
    fclose(f);
    const char *next = getenv("EVENTS_TOKEN_NEXT");
    if (next) {
      stream_emitter_stats s = {0};
      for (int i = 0; i < 6000 && s.retried == 0; i++) { /* up to 60 s */
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
        stream_emitter_stats_get(&s, em);
      }
      if (s.retried == 0) {
        print_stats(em, -1);
        fprintf(stderr, "no batch was retried with the first token\n");
        return 1;
      }
      if (stream_emitter_set_token(em, next) != STREAM_OK)
        return 2;
    }
    int rc = stream_emitter_flush(em, 60000);
    print_stats(em, rc);
    stream_emitter_free(em);
    fclose(acked);
    return rc == STREAM_OK ? 0 : 1;
  }
  fprintf(stderr, "usage: see the file comment\n");
  return 2;
}
