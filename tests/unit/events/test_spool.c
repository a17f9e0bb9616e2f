/* Unit tests for the emitter's spool file (libstream/client/spool.c, internal) in a temporary
 * directory: pending batches across reopen, a torn tail and a corrupt record cut off, the size
 * bound (oldest dropped), emptying and compaction; and the emitter's bounded ring (drop oldest,
 * counted) without a server. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/spool.h"
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
