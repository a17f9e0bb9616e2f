/* Unit tests for the events module over a real SQLite store in a temporary
 * directory (or, run by tests/pg/pg_run.sh, a PostgreSQL database:
 * store_path.h), with an injected clock: protobuf and JSON batches, gzip, the
 * all-or-nothing rule (malformed protobuf, truncated gzip, huge batches,
 * wrong enums and bad fields store nothing), de-duplication, the event log
 * and consumer checkpoints, the profiles an account credential without a
 * profile may name (its account's only; real accounts and profiles); out of
 * memory while decoding is STREAM_ENOMEM, not a malformed body
 * (unpack_oom.h). Batches are built with the generated protobuf-c code
 * (internal), so the test links the static library. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "../store_path.h"
#include "../unpack_oom.h"
#include "proto/events.pb-c.h"
#include "stream/events.h"

#define T0_MS INT64_C(1700000000000)

static char tmpdir[256];
static char dbpath[300];
static stream_store *store;
static stream_events *events;
static int64_t clock_ms = T0_MS;

static int64_t fake_clock(void *ud)
{
  return *(int64_t *)ud;
}

static void open_all(void)
{
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  char uri[512];
  so.path = test_store_path(uri, sizeof uri, dbpath);
  ck_assert_int_eq(stream_store_open(&store, &so), STREAM_OK);
  stream_events_options o = STREAM_EVENTS_OPTIONS_INIT;
  o.store = store;
  o.now_ms = fake_clock;
  o.now_userdata = &clock_ms;
  ck_assert_int_eq(stream_events_new(&events, &o), STREAM_OK);
}

static void close_all(void)
{
  stream_events_free(events);
  events = NULL;
  stream_store_close(store);
  store = NULL;
}

static void setup(void)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/stream-events-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  snprintf(dbpath, sizeof dbpath, "%s/db.sqlite", tmpdir);
  clock_ms = T0_MS;
  open_all();
}

static void teardown(void)
{
  close_all();
  const char *files[] = {"db.sqlite", "db.sqlite-wal", "db.sqlite-shm", "db.sqlite-journal"};
  char path[300];
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
    remove(path);
  }
  rmdir(tmpdir);
}

/* ---- batch builders ------------------------------------------------------ */

typedef struct pb_batch {
  Libstream__Events__V1__Batch b;
  Libstream__Events__V1__Event *ptrs[1100];
  Libstream__Events__V1__Event ev[1100];
  Libstream__Events__V1__PlaybackError err;
  char ids[1100][40];
} pb_batch;

static void uuid_of(char *out, unsigned int n)
{
  snprintf(out, 40, "%08x-0000-4000-8000-%012x", n, n * 7u);
}

/* n heartbeat events with ids base..base+n-1 in view "view-1". */
static pb_batch *pb_new(size_t n, unsigned int base)
{
  pb_batch *pb = calloc(1, sizeof *pb);
  ck_assert_ptr_nonnull(pb);
  libstream__events__v1__batch__init(&pb->b);
  libstream__events__v1__playback_error__init(&pb->err);
  for (size_t i = 0; i < n; i++) {
    Libstream__Events__V1__Event *e = &pb->ev[i];
    libstream__events__v1__event__init(e);
    uuid_of(pb->ids[i], base + (unsigned int)i);
    e->id = pb->ids[i];
    e->view_id = "view-1";
    e->session_id = "sess-1";
    e->title_id = "title-1";
    e->device_id = "dev-1";
    e->client_ts = T0_MS - 1000 + (int64_t)i;
    e->type = LIBSTREAM__EVENTS__V1__EVENT_TYPE__EVENT_TYPE_HEARTBEAT;
    e->playhead_ms = 10000 + (int64_t)i;
    e->br = 3000;
    e->width = 1280;
    e->height = 720;
    e->bl = 12000;
    e->mtp = 25000;
    e->sid = "sess-1";
    e->cid = "title-1";
    e->ot = "v";
    pb->ptrs[i] = e;
  }
  pb->b.n_events = n;
  pb->b.events = pb->ptrs;
  return pb;
}

static uint8_t *pb_pack(const pb_batch *pb, size_t *len)
{
  *len = libstream__events__v1__batch__get_packed_size(&pb->b);
  uint8_t *buf = malloc(*len ? *len : 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(libstream__events__v1__batch__pack(&pb->b, buf), *len);
  return buf;
}

static uint8_t *gzip_of(const void *data, size_t len, size_t *out_len)
{
  z_stream z;
  memset(&z, 0, sizeof z);
  ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  size_t cap = deflateBound(&z, (uLong)len) + 32;
  uint8_t *out = malloc(cap);
  ck_assert_ptr_nonnull(out);
  z.next_in = (Bytef *)(uintptr_t)data;
  z.avail_in = (uInt)len;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
  *out_len = cap - z.avail_out;
  deflateEnd(&z);
  return out;
}

static int64_t stored(void)
{
  int64_t n = -1;
  ck_assert_int_eq(stream_events_stats(events, &n, NULL), STREAM_OK);
  return n;
}

static int ingest_pb(const pb_batch *pb, stream_events_result *r)
{
  size_t len;
  uint8_t *buf = pb_pack(pb, &len);
  int rc = stream_events_ingest(events, r, buf, len, STREAM_EVENTS_PROTOBUF, 0, "acct-1", NULL);
  free(buf);
  return rc;
}

/* ---- tests ------------------------------------------------------------------ */

START_TEST(test_protobuf_roundtrip_and_dedup)
{
  pb_batch *pb = pb_new(3, 1);
  pb->ev[2].type = LIBSTREAM__EVENTS__V1__EVENT_TYPE__EVENT_TYPE_ERROR;
  pb->err.code = 4001;
  pb->err.message = "manifest 403 \xc3\xa9";
  pb->err.fatal = 1;
  pb->ev[2].error = &pb->err;
  pb->ev[0].su = 1;
  stream_events_result r;
  ck_assert_int_eq(ingest_pb(pb, &r), STREAM_OK);
  ck_assert_uint_eq(r.accepted, 3);
  ck_assert_uint_eq(r.duplicates, 0);

  /* The same batch again (a retry): stored once. */
  clock_ms += 5000;
  ck_assert_int_eq(ingest_pb(pb, &r), STREAM_OK);
  ck_assert_uint_eq(r.accepted, 0);
  ck_assert_uint_eq(r.duplicates, 3);
  int64_t last = 0;
  ck_assert_int_eq(stream_events_stats(events, NULL, &last), STREAM_OK);
  ck_assert_int_eq(stored(), 3);
  ck_assert_int_eq(last, 3);

  stream_event *rows = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_events_read(events, &rows, &n, 0, 100), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_int_eq(rows[0].seq, 1);
  ck_assert_str_eq(rows[0].id, "00000001-0000-4000-8000-000000000007");
  ck_assert_int_eq(rows[0].type, STREAM_EVENT_HEARTBEAT);
  ck_assert_str_eq(rows[0].view_id, "view-1");
  ck_assert_str_eq(rows[0].account_id, "acct-1");
  ck_assert_str_eq(rows[0].profile_id, "");
  ck_assert_int_eq(rows[0].client_ts, T0_MS - 1000);
  ck_assert_int_eq(rows[0].server_ts, T0_MS); /* the first ingest's clock */
  ck_assert_int_eq(rows[0].br, 3000);
  ck_assert_int_eq(rows[0].width, 1280);
  ck_assert_int_eq(rows[0].height, 720);
  ck_assert_int_eq(rows[0].bl, 12000);
  ck_assert_int_eq(rows[0].mtp, 25000);
  ck_assert_str_eq(rows[0].ot, "v");
  ck_assert_str_eq(rows[0].sid, "sess-1");
  ck_assert_int_eq(rows[0].su, 1);
  ck_assert_int_eq(rows[2].type, STREAM_EVENT_ERROR);
  ck_assert_int_eq(rows[2].error_code, 4001);
  ck_assert_int_eq(rows[2].error_fatal, 1);
  ck_assert_str_eq(rows[2].error_message, "manifest 403 \xc3\xa9");
  stream_free(rows);

  /* Read after a sequence number; get by id in either case. */
  ck_assert_int_eq(stream_events_read(events, &rows, &n, 2, 100), STREAM_OK);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(rows[0].seq, 3);
  stream_free(rows);
  ck_assert_int_eq(stream_events_read(events, &rows, &n, 3, 100), STREAM_OK);
  ck_assert_uint_eq(n, 0);
  ck_assert_ptr_null(rows);
  stream_event one;
  ck_assert_int_eq(stream_events_get(events, &one, "00000002-0000-4000-8000-00000000000E"),
                   STREAM_OK);
  ck_assert_int_eq(one.seq, 2);
  ck_assert_int_eq(stream_events_get(events, &one, "00000009-0000-4000-8000-00000000000e"),
                   STREAM_ENOTFOUND);
  free(pb);
}
END_TEST

START_TEST(test_duplicate_within_batch_and_partial_overlap)
{
  pb_batch *pb = pb_new(4, 10);
  pb->ev[3].id = pb->ids[1]; /* repeated inside the batch */
  stream_events_result r;
  ck_assert_int_eq(ingest_pb(pb, &r), STREAM_OK);
  ck_assert_uint_eq(r.accepted, 3);
  ck_assert_uint_eq(r.duplicates, 1);
  free(pb);
  /* A batch overlapping the stored ids: only the new ones are added. */
  pb = pb_new(5, 11); /* ids 11..15: 11, 12 stored */
  ck_assert_int_eq(ingest_pb(pb, &r), STREAM_OK);
  ck_assert_uint_eq(r.accepted, 3);
  ck_assert_uint_eq(r.duplicates, 2);
  ck_assert_int_eq(stored(), 6);
  free(pb);
  /* Sequence numbers are SQLite's AUTOINCREMENT's on every backend: each insert attempt takes
   * the next one, a skipped duplicate too (4 in the first batch, 5 and 6 in the second). */
  static const int64_t seqs[] = {1, 2, 3, 7, 8, 9};
  stream_event *rows = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_events_read(events, &rows, &n, 0, 100), STREAM_OK);
  ck_assert_uint_eq(n, 6);
  for (size_t i = 0; i < n; i++)
    ck_assert_int_eq(rows[i].seq, seqs[i]);
  ck_assert_str_eq(rows[3].id, "0000000d-0000-4000-8000-00000000005b"); /* id 13 */
  stream_free(rows);
  /* A batch of duplicates only takes numbers too (10, 11): the next event is 12. */
  pb = pb_new(2, 14); /* 14, 15 stored */
  ck_assert_int_eq(ingest_pb(pb, &r), STREAM_OK);
  ck_assert_uint_eq(r.duplicates, 2);
  free(pb);
  pb = pb_new(1, 16);
  ck_assert_int_eq(ingest_pb(pb, &r), STREAM_OK);
  ck_assert_uint_eq(r.accepted, 1);
  free(pb);
  int64_t last = 0;
  ck_assert_int_eq(stream_events_stats(events, NULL, &last), STREAM_OK);
  ck_assert_int_eq(last, 12);
}
END_TEST

START_TEST(test_json_batch)
{
  const char *json =
      "{\"events\":["
      "{\"id\":\"6F9619FF-8B86-D011-B42D-00C04FC964FF\",\"viewId\":\"v-9\",\"type\":"
      "\"playrequest\","
      "\"clientTs\":\"1700000000123\",\"titleId\":\"t-1\",\"profileId\":\"p-1\",\"unknown\":1},"
      "{\"id\":\"6f9619ff-8b86-d011-b42d-00c04fc96500\",\"view_id\":\"v-9\","
      "\"type\":\"EVENT_TYPE_RENDITIONCHANGE\",\"client_ts\":1700000000200,\"br\":4500,"
      "\"width\":1920,\"height\":1080,\"playhead_ms\":3000,\"su\":true},"
      "{\"id\":\"6f9619ff-8b86-d011-b42d-00c04fc96501\",\"viewId\":\"v-9\",\"type\":11,"
      "\"clientTs\":1700000000300,\"error\":{\"code\":7,\"message\":\"boom\",\"fatal\":true}}"
      "]}";
  stream_events_result r;
  ck_assert_int_eq(
      stream_events_ingest(events, &r, json, strlen(json), STREAM_EVENTS_JSON, 0, "acct-1", "p-1"),
      STREAM_OK);
  ck_assert_uint_eq(r.accepted, 3);
  stream_event *rows;
  size_t n;
  ck_assert_int_eq(stream_events_read(events, &rows, &n, 0, 10), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(rows[0].id, "6f9619ff-8b86-d011-b42d-00c04fc964ff"); /* lowercased */
  ck_assert_int_eq(rows[0].type, STREAM_EVENT_PLAYREQUEST);
  ck_assert_int_eq(rows[0].client_ts, INT64_C(1700000000123));
  ck_assert_str_eq(rows[0].profile_id, "p-1");
  ck_assert_str_eq(rows[1].profile_id, "p-1"); /* filled from the credential */
  ck_assert_int_eq(rows[1].type, STREAM_EVENT_RENDITIONCHANGE);
  ck_assert_int_eq(rows[1].br, 4500);
  ck_assert_int_eq(rows[1].height, 1080);
  ck_assert_int_eq(rows[1].playhead_ms, 3000);
  ck_assert_int_eq(rows[1].su, 1);
  ck_assert_int_eq(rows[2].type, STREAM_EVENT_ERROR);
  ck_assert_int_eq(rows[2].error_code, 7);
  ck_assert_str_eq(rows[2].error_message, "boom");
  stream_free(rows);
  ck_assert_str_eq(stream_event_type_name(STREAM_EVENT_REBUFFERSTART), "rebufferstart");
  ck_assert_ptr_null(stream_event_type_name(14));
}
END_TEST

/* Every refused batch: the code, and nothing stored. */
static void refuse_json(const char *json, int code)
{
  stream_events_result r = {7, 7};
  ck_assert_int_eq(
      stream_events_ingest(events, &r, json, strlen(json), STREAM_EVENTS_JSON, 0, "acct-1", "p-1"),
      code);
  ck_assert_uint_eq(r.accepted, 0);
  ck_assert_int_eq(stored(), 0);
}

#define GOOD                                                                                       \
  "{\"id\":\"00000000-0000-4000-8000-000000000001\",\"viewId\":\"v\",\"type\":\"play\","           \
  "\"clientTs\":1700000000000}"
#define EV(extra) "{\"id\":\"00000000-0000-4000-8000-000000000002\",\"viewId\":\"v\"," extra "}"

START_TEST(test_json_invalid_events_store_nothing)
{
  refuse_json("", STREAM_EINVAL);
  refuse_json("{\"events\":[" GOOD ",", STREAM_EPROTO);
  refuse_json("{\"events\":[]}", STREAM_EPROTO);
  refuse_json("[" GOOD "]", STREAM_EPROTO);
  /* One bad event after a good one: the good one is not stored either. */
  refuse_json("{\"events\":[" GOOD "," EV("\"type\":\"dance\",\"clientTs\":1") "]}", STREAM_EPROTO);
  refuse_json("{\"events\":[" GOOD "," EV("\"type\":99,\"clientTs\":1") "]}", STREAM_EPROTO);
  refuse_json("{\"events\":[" GOOD "," EV("\"type\":\"play\"") "]}", STREAM_EPROTO);
  refuse_json("{\"events\":[" GOOD "," EV("\"type\":\"play\",\"clientTs\":1.5") "]}",
              STREAM_EPROTO);
  refuse_json("{\"events\":[" GOOD "," EV("\"type\":\"play\",\"clientTs\":1,\"br\":-1") "]}",
              STREAM_EPROTO);
  refuse_json("{\"events\":[" GOOD "," EV("\"type\":\"play\",\"clientTs\":1,\"ot\":\"x\"") "]}",
              STREAM_EPROTO);
  refuse_json("{\"events\":[" GOOD "," EV("\"type\":\"error\",\"clientTs\":1") "]}", STREAM_EPROTO);
  refuse_json("{\"events\":[" GOOD "," EV("\"type\":\"play\",\"clientTs\":1,\"error\":{}") "]}",
              STREAM_EPROTO);
  refuse_json("{\"events\":[" GOOD ",{\"id\":\"not-a-uuid\",\"viewId\":\"v\",\"type\":\"play\","
              "\"clientTs\":1}]}",
              STREAM_EPROTO);
  refuse_json("{\"events\":[" GOOD ",{\"id\":\"00000000-0000-4000-8000-000000000002\","
              "\"viewId\":\"v w\",\"type\":\"play\",\"clientTs\":1}]}",
              STREAM_EPROTO);
  refuse_json("{\"events\":[" GOOD
              "," EV("\"type\":\"play\",\"clientTs\":1,\"profileId\":\"p-2\"") "]}",
              STREAM_EFORBIDDEN);
  const stream_error *e = stream_error_last();
  ck_assert_ptr_nonnull(e);
  ck_assert_ptr_nonnull(strstr(e->message, "event 1"));
}
END_TEST

/* The body is exactly one JSON object: bytes after it (other than JSON whitespace) make the whole
 * batch malformed, as the daemon's other JSON bodies are; nothing of the first object is stored. */
START_TEST(test_json_trailing_bytes_store_nothing)
{
  refuse_json("{\"events\":[" GOOD "]} junk", STREAM_EPROTO);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "at offset"));
  refuse_json("{\"events\":[" GOOD "]}{\"events\":[" GOOD "]}", STREAM_EPROTO);
  refuse_json("{\"events\":[" GOOD "]}\f", STREAM_EPROTO);
  refuse_json("\v{\"events\":[" GOOD "]}", STREAM_EPROTO);
  /* A NUL byte inside the length (after the object, or before it) is not JSON either. */
  static const char nul_after[] = "{\"events\":[" GOOD "]}\0";
  static const char nul_before[] = "\0{\"events\":[" GOOD "]}";
  const char *const with_nul[] = {nul_after, nul_before};
  for (size_t i = 0; i < 2; i++) {
    stream_events_result r = {7, 7};
    ck_assert_int_eq(stream_events_ingest(events, &r, with_nul[i], sizeof nul_after - 1,
                                          STREAM_EVENTS_JSON, 0, "acct-1", "p-1"),
                     STREAM_EPROTO);
    ck_assert_uint_eq(r.accepted, 0);
    ck_assert_int_eq(stored(), 0);
  }
  /* JSON whitespace around the object is fine. */
  const char *spaced = " \r\n\t{\"events\":[" GOOD "]} \r\n\t";
  stream_events_result r;
  ck_assert_int_eq(stream_events_ingest(events, &r, spaced, strlen(spaced), STREAM_EVENTS_JSON, 0,
                                        "acct-1", "p-1"),
                   STREAM_OK);
  ck_assert_uint_eq(r.accepted, 1);
  ck_assert_int_eq(stored(), 1);
}
END_TEST

START_TEST(test_malformed_protobuf_stores_nothing)
{
  pb_batch *pb = pb_new(3, 100);
  size_t len;
  uint8_t *buf = pb_pack(pb, &len);
  /* Truncated in the middle of the last event. */
  ck_assert_int_eq(
      stream_events_ingest(events, NULL, buf, len - 7, STREAM_EVENTS_PROTOBUF, 0, "acct-1", NULL),
      STREAM_EPROTO);
  /* A field tag with wire type 7 (invalid). */
  uint8_t junk[] = {0x0a, 0x03, 0x0f, 0xff, 0xff};
  ck_assert_int_eq(stream_events_ingest(events, NULL, junk, sizeof junk, STREAM_EVENTS_PROTOBUF, 0,
                                        "acct-1", NULL),
                   STREAM_EPROTO);
  /* JSON sent as protobuf. */
  const char *j = "{\"events\":[]}";
  ck_assert_int_eq(
      stream_events_ingest(events, NULL, j, strlen(j), STREAM_EVENTS_PROTOBUF, 0, "acct-1", NULL),
      STREAM_EPROTO);
  free(buf);
  /* A wrong enum value in one event. */
  pb->ev[1].type = (Libstream__Events__V1__EventType)42;
  ck_assert_int_eq(ingest_pb(pb, NULL), STREAM_EPROTO);
  pb->ev[1].type = LIBSTREAM__EVENTS__V1__EVENT_TYPE__EVENT_TYPE_UNSPECIFIED;
  ck_assert_int_eq(ingest_pb(pb, NULL), STREAM_EPROTO);
  pb->ev[1].type = LIBSTREAM__EVENTS__V1__EVENT_TYPE__EVENT_TYPE_PAUSE;
  pb->ev[2].id = "";
  ck_assert_int_eq(ingest_pb(pb, NULL), STREAM_EPROTO);
  ck_assert_int_eq(stored(), 0);
  pb->ev[2].id = pb->ids[2];
  ck_assert_int_eq(ingest_pb(pb, NULL), STREAM_OK);
  ck_assert_int_eq(stored(), 3);
  free(pb);
}
END_TEST

/* Out of memory while the ingest decodes a protobuf batch (unpack_oom.h: protobuf-c's unpack gets
 * NULL from malloc) is STREAM_ENOMEM, which streamd answers with 503 and the emitter retries, not
 * STREAM_EPROTO (a 400: the emitter drops the batch for good). Plain and gzip'd; nothing is
 * stored, and the same body is accepted once memory is back. */
START_TEST(test_protobuf_out_of_memory_is_enomem)
{
  pb_batch *pb = pb_new(3, 200);
  size_t len, zlen;
  uint8_t *buf = pb_pack(pb, &len);
  uint8_t *gz = gzip_of(buf, len, &zlen);
  int before = unpack_oom_failed();
  unpack_oom_arm(1);
  int rc = stream_events_ingest(events, NULL, buf, len, STREAM_EVENTS_PROTOBUF, 0, "acct-1", NULL);
  ck_assert_msg(rc == STREAM_ENOMEM, "ingest: %s (%s), STREAM_ENOMEM expected", stream_strerror(rc),
                stream_error_last()->message);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "out of memory"));
  unpack_oom_arm(1);
  rc = stream_events_ingest(events, NULL, gz, zlen, STREAM_EVENTS_PROTOBUF, 1, "acct-1", NULL);
  ck_assert_msg(rc == STREAM_ENOMEM, "gzip'd ingest: %s (%s), STREAM_ENOMEM expected",
                stream_strerror(rc), stream_error_last()->message);
  ck_assert_int_eq(unpack_oom_pending(), 0);
  ck_assert_int_eq(unpack_oom_failed() - before, 2); /* both decodes ran out of memory */
  ck_assert_int_eq(stored(), 0);
  stream_events_result r;
  ck_assert_int_eq(
      stream_events_ingest(events, &r, gz, zlen, STREAM_EVENTS_PROTOBUF, 1, "acct-1", NULL),
      STREAM_OK);
  ck_assert_uint_eq(r.accepted, 3);
  ck_assert_int_eq(stored(), 3);
  free(gz);
  free(buf);
  free(pb);
}
END_TEST

/* A player's protobuf event: a bad field is refused naming the event and the field, for its
 * size and for its characters (the profile as an event field, [A-Za-z0-9._:-]); an account it
 * carries is not the player's and is not read (the credential's is stored). */
START_TEST(test_protobuf_field_errors)
{
  char long_id[100], long_uuid[] = "00000001-0000-4000-8000-0000000000071";
  memset(long_id, 'a', sizeof long_id - 1);
  long_id[sizeof long_id - 1] = '\0';
  pb_batch *pb = pb_new(2, 200);
  Libstream__Events__V1__Event *ev = &pb->ev[1];
  const struct {
    char **field;
    char *value;
    const char *message;
  } cases[] = {
      {&ev->id, long_uuid, "event 1: field 'id' is longer than 36 bytes"},
      {&ev->view_id, "v w", "event 1: field 'viewId' has characters outside [A-Za-z0-9._:-]"},
      {&ev->title_id, long_id, "event 1: field 'titleId' is longer than 64 bytes"},
      {&ev->profile_id, "user@example.org",
       "event 1: field 'profileId' has characters outside [A-Za-z0-9._:-]"},
      {&ev->profile_id, long_id, "event 1: field 'profileId' is longer than 64 bytes"},
      {&ev->sid, "s\xff", "event 1: field 'sid' is not UTF-8 text without control characters"},
      {&ev->ot, "avx2", "event 1: field 'ot' is longer than 3 bytes"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *was = *cases[i].field;
    *cases[i].field = cases[i].value;
    ck_assert_int_eq(ingest_pb(pb, NULL), STREAM_EPROTO);
    ck_assert_str_eq(stream_error_last()->message, cases[i].message);
    *cases[i].field = was;
  }
  ck_assert_int_eq(stored(), 0);
  ev->account_id = long_id;
  stream_events_result r;
  ck_assert_int_eq(ingest_pb(pb, &r), STREAM_OK);
  ck_assert_uint_eq(r.accepted, 2);
  stream_event one;
  ck_assert_int_eq(stream_events_get(events, &one, pb->ids[1]), STREAM_OK);
  ck_assert_str_eq(one.account_id, "acct-1");
  free(pb);

  /* The error message: 256 bytes at most. */
  char message[STREAM_EVENTS_MESSAGE_MAX + 2];
  memset(message, 'm', sizeof message - 1);
  message[sizeof message - 1] = '\0';
  pb = pb_new(1, 300);
  pb->ev[0].type = LIBSTREAM__EVENTS__V1__EVENT_TYPE__EVENT_TYPE_ERROR;
  pb->err.code = 1;
  pb->err.message = message;
  pb->ev[0].error = &pb->err;
  ck_assert_int_eq(ingest_pb(pb, NULL), STREAM_EPROTO);
  ck_assert_str_eq(stream_error_last()->message,
                   "event 0: field 'error.message' is longer than 256 bytes");
  message[STREAM_EVENTS_MESSAGE_MAX] = '\0';
  ck_assert_int_eq(ingest_pb(pb, NULL), STREAM_OK);
  ck_assert_int_eq(stored(), 3);
  free(pb);
}
END_TEST

START_TEST(test_gzip_truncated_trailing_and_bomb)
{
  pb_batch *pb = pb_new(50, 200);
  size_t len, zlen;
  uint8_t *buf = pb_pack(pb, &len);
  uint8_t *z = gzip_of(buf, len, &zlen);
  /* Truncated gzip (cut before the trailer, then mid-stream). */
  ck_assert_int_eq(
      stream_events_ingest(events, NULL, z, zlen - 4, STREAM_EVENTS_PROTOBUF, 1, "acct-1", NULL),
      STREAM_EPROTO);
  ck_assert_int_eq(
      stream_events_ingest(events, NULL, z, zlen / 2, STREAM_EVENTS_PROTOBUF, 1, "acct-1", NULL),
      STREAM_EPROTO);
  /* Not gzip at all. */
  ck_assert_int_eq(
      stream_events_ingest(events, NULL, buf, len, STREAM_EVENTS_PROTOBUF, 1, "acct-1", NULL),
      STREAM_EPROTO);
  /* Bytes after the gzip member. */
  uint8_t *zz = malloc(zlen + 3);
  memcpy(zz, z, zlen);
  memcpy(zz + zlen, "abc", 3);
  ck_assert_int_eq(
      stream_events_ingest(events, NULL, zz, zlen + 3, STREAM_EVENTS_PROTOBUF, 1, "acct-1", NULL),
      STREAM_EPROTO);
  free(zz);
  ck_assert_int_eq(stored(), 0);
  stream_events_result r;
  ck_assert_int_eq(
      stream_events_ingest(events, &r, z, zlen, STREAM_EVENTS_PROTOBUF, 1, "acct-1", NULL),
      STREAM_OK);
  ck_assert_uint_eq(r.accepted, 50);
  free(z);
  free(buf);
  /* A gzip bomb: 8 MiB of zeros compress to a few KiB but inflate past the cap. */
  size_t big = 8u << 20;
  uint8_t *zeros = calloc(1, big);
  z = gzip_of(zeros, big, &zlen);
  ck_assert_uint_lt(zlen, 64 * 1024);
  ck_assert_int_eq(
      stream_events_ingest(events, NULL, z, zlen, STREAM_EVENTS_PROTOBUF, 1, "acct-1", NULL),
      STREAM_ERANGE);
  free(z);
  free(zeros);
  ck_assert_int_eq(stored(), 50);
  free(pb);
}
END_TEST

START_TEST(test_huge_batches_refused)
{
  pb_batch *pb = pb_new(STREAM_EVENTS_BATCH_MAX + 1, 1000);
  ck_assert_int_eq(ingest_pb(pb, NULL), STREAM_ERANGE);
  ck_assert_int_eq(stored(), 0);
  pb->b.n_events = STREAM_EVENTS_BATCH_MAX;
  stream_events_result r;
  ck_assert_int_eq(ingest_pb(pb, &r), STREAM_OK);
  ck_assert_uint_eq(r.accepted, STREAM_EVENTS_BATCH_MAX);
  free(pb);
  /* A body over the byte cap, before any decoding. */
  size_t big = STREAM_EVENTS_BODY_MAX + 1;
  char *body = malloc(big);
  memset(body, ' ', big);
  ck_assert_int_eq(
      stream_events_ingest(events, NULL, body, big, STREAM_EVENTS_JSON, 0, "acct-1", NULL),
      STREAM_ERANGE);
  free(body);
  ck_assert_int_eq(stored(), STREAM_EVENTS_BATCH_MAX);
}
END_TEST

START_TEST(test_bad_arguments)
{
  const char *j = "{}";
  ck_assert_int_eq(stream_events_ingest(NULL, NULL, j, 2, STREAM_EVENTS_JSON, 0, "acct-1", NULL),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_events_ingest(events, NULL, j, 2, 3, 0, "acct-1", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_events_ingest(events, NULL, j, 2, STREAM_EVENTS_JSON, 0, "", NULL),
                   STREAM_EINVAL);
  stream_event *rows;
  size_t n;
  ck_assert_int_eq(stream_events_read(events, &rows, &n, 0, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_events_read(events, &rows, &n, -1, 10), STREAM_EINVAL);
  int64_t cp;
  ck_assert_int_eq(stream_events_checkpoint(events, &cp, "Bad Name"), STREAM_EINVAL);
  stream_events_options o = STREAM_EVENTS_OPTIONS_INIT;
  stream_events *ev2;
  ck_assert_int_eq(stream_events_new(&ev2, &o), STREAM_EINVAL);
  o.store = store;
  o.max_events = STREAM_EVENTS_BATCH_MAX + 1;
  ck_assert_int_eq(stream_events_new(&ev2, &o), STREAM_EINVAL);
  stream_events_free(NULL);
}
END_TEST

START_TEST(test_consumer_checkpoints)
{
  pb_batch *pb = pb_new(10, 300);
  ck_assert_int_eq(ingest_pb(pb, NULL), STREAM_OK);
  free(pb);
  int64_t from = -1;
  stream_event *rows;
  size_t n;
  ck_assert_int_eq(stream_events_poll(events, &rows, &n, &from, "qoe", 4), STREAM_OK);
  ck_assert_int_eq(from, 0);
  ck_assert_uint_eq(n, 4);
  ck_assert_int_eq(rows[3].seq, 4);
  ck_assert_int_eq(stream_events_commit(events, "qoe", from, rows[n - 1].seq), STREAM_OK);
  /* A second instance that polled from 0 too loses the race. */
  ck_assert_int_eq(stream_events_commit(events, "qoe", 0, 2), STREAM_ECONFLICT);
  stream_free(rows);
  int64_t cp;
  ck_assert_int_eq(stream_events_checkpoint(events, &cp, "qoe"), STREAM_OK);
  ck_assert_int_eq(cp, 4);
  /* Another consumer is independent. */
  ck_assert_int_eq(stream_events_checkpoint(events, &cp, "export"), STREAM_OK);
  ck_assert_int_eq(cp, 0);
  /* Not beyond the log, not backwards. */
  ck_assert_int_eq(stream_events_commit(events, "qoe", 4, 11), STREAM_EINVAL);
  ck_assert_int_eq(stream_events_commit(events, "qoe", 4, 3), STREAM_EINVAL);
  /* The checkpoint survives a reopen; the rest of the log follows. */
  close_all();
  open_all();
  ck_assert_int_eq(stream_events_poll(events, &rows, &n, &from, "qoe", 100), STREAM_OK);
  ck_assert_int_eq(from, 4);
  ck_assert_uint_eq(n, 6);
  ck_assert_int_eq(rows[0].seq, 5);
  ck_assert_int_eq(stream_events_commit(events, "qoe", from, rows[n - 1].seq), STREAM_OK);
  stream_free(rows);
  ck_assert_int_eq(stream_events_poll(events, &rows, &n, &from, "qoe", 100), STREAM_OK);
  ck_assert_int_eq(from, 10);
  ck_assert_uint_eq(n, 0);
  /* Sequence numbers keep growing after the reopen. */
  pb = pb_new(2, 400);
  ck_assert_int_eq(ingest_pb(pb, NULL), STREAM_OK);
  free(pb);
  int64_t last;
  ck_assert_int_eq(stream_events_stats(events, NULL, &last), STREAM_OK);
  ck_assert_int_eq(last, 12);
}
END_TEST

/* ---- an account credential without a profile ------------------------------------ */

/* Account acct-1 with profiles p-own and p-own2, account acct-2 with profile p-other. */
static void make_accounts(void)
{
  const char *acct[2][3] = {{"acct-1", "p-own", "p-own2"}, {"acct-2", "p-other", NULL}};
  for (size_t i = 0; i < 2; i++) {
    stream_store_account a;
    memset(&a, 0, sizeof a);
    snprintf(a.id, sizeof a.id, "%s", acct[i][0]);
    snprintf(a.email, sizeof a.email, "%s@example.com", acct[i][0]);
    ck_assert_int_eq(stream_store_account_create(NULL, store, &a, T0_MS / 1000), STREAM_OK);
    for (size_t k = 1; k < 3 && acct[i][k]; k++) {
      stream_store_profile p;
      memset(&p, 0, sizeof p);
      snprintf(p.id, sizeof p.id, "%s", acct[i][k]);
      snprintf(p.account_id, sizeof p.account_id, "%s", a.id);
      snprintf(p.name, sizeof p.name, "%s", acct[i][k]);
      p.maturity_ceiling = 18;
      ck_assert_int_eq(stream_store_profile_create(NULL, store, &p, T0_MS / 1000), STREAM_OK);
    }
  }
}

#define EV_OF(n, profile)                                                                          \
  "{\"id\":\"00000000-0000-4000-8000-00000000000" #n "\",\"viewId\":\"v\",\"type\":\"play\","      \
  "\"clientTs\":1700000000000,\"profileId\":\"" profile "\"}"

/* An account credential without a profile (`account`, profile NULL) refused with
 * STREAM_EFORBIDDEN and nothing stored; the message into `msg`. */
static void refuse_as(const char *account, const char *json, char *msg, size_t cap)
{
  stream_events_result r = {7, 7};
  ck_assert_int_eq(
      stream_events_ingest(events, &r, json, strlen(json), STREAM_EVENTS_JSON, 0, account, NULL),
      STREAM_EFORBIDDEN);
  ck_assert_uint_eq(r.accepted, 0);
  ck_assert_int_eq(stored(), 0);
  snprintf(msg, cap, "%s", stream_error_last()->message);
}

/* The account's own profiles are accepted (JSON and protobuf), kept as the events name them. */
START_TEST(test_account_credential_own_profile)
{
  make_accounts();
  const char *json = "{\"events\":[" GOOD "," EV_OF(2, "p-own") "," EV_OF(3, "p-own2") "]}";
  stream_events_result r;
  ck_assert_int_eq(
      stream_events_ingest(events, &r, json, strlen(json), STREAM_EVENTS_JSON, 0, "acct-1", NULL),
      STREAM_OK);
  ck_assert_uint_eq(r.accepted, 3);
  pb_batch *pb = pb_new(500, 1000);
  for (size_t i = 0; i < 500; i++)
    pb->ev[i].profile_id = i % 2 ? "p-own" : "p-own2";
  ck_assert_int_eq(ingest_pb(pb, &r), STREAM_OK); /* as acct-1 without a profile */
  ck_assert_uint_eq(r.accepted, 500);
  free(pb);

  stream_event *rows;
  size_t n;
  ck_assert_int_eq(stream_events_read(events, &rows, &n, 0, 1000), STREAM_OK);
  ck_assert_uint_eq(n, 503);
  ck_assert_str_eq(rows[0].profile_id, "");
  ck_assert_str_eq(rows[1].profile_id, "p-own");
  ck_assert_str_eq(rows[2].profile_id, "p-own2");
  ck_assert_str_eq(rows[4].profile_id, "p-own");
  for (size_t i = 0; i < n; i++)
    ck_assert_str_eq(rows[i].account_id, "acct-1");
  stream_free(rows);
}
END_TEST

/* Another account's profile, an unknown one, and an id no store profile can have: the same
 * refusal as a profile token naming another profile (STREAM_EFORBIDDEN, the whole batch), in
 * the same words, so the answer does not tell which profile ids exist. */
START_TEST(test_account_credential_other_profile_refused)
{
  make_accounts();
  char other[512], unknown[512], odd[512], msg[512]; /* stream_error.message */
  refuse_as("acct-1", "{\"events\":[" GOOD "," EV_OF(2, "p-other") "]}", other, sizeof other);
  ck_assert_ptr_nonnull(strstr(other, "event 1"));
  refuse_as("acct-1", "{\"events\":[" GOOD "," EV_OF(2, "p-nosuch") "]}", unknown, sizeof unknown);
  ck_assert_str_eq(unknown, other);
  refuse_as("acct-1", "{\"events\":[" GOOD "," EV_OF(2, "p.own") "]}", odd, sizeof odd);
  ck_assert_str_eq(odd, other);
  /* A batch mixing the account's profile with another account's: refused whole. */
  refuse_as("acct-1", "{\"events\":[" EV_OF(1, "p-own") "," EV_OF(2, "p-other") "]}", msg,
            sizeof msg);
  ck_assert_str_eq(msg, other);
  /* An account the store does not hold owns no profile. */
  refuse_as("acct-9", "{\"events\":[" EV_OF(1, "p-own") "]}", msg, sizeof msg);
  ck_assert_ptr_nonnull(strstr(msg, "event 0"));
  /* Protobuf: the 500th event names acct-2's profile, after 499 of acct-1's own. */
  pb_batch *pb = pb_new(500, 2000);
  for (size_t i = 0; i < 500; i++)
    pb->ev[i].profile_id = i == 499 ? "p-other" : "p-own";
  ck_assert_int_eq(ingest_pb(pb, NULL), STREAM_EFORBIDDEN);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "event 499"));
  ck_assert_int_eq(stored(), 0);
  free(pb);
  /* acct-2's own credential may name it. */
  const char *json = "{\"events\":[" EV_OF(2, "p-other") "]}";
  ck_assert_int_eq(
      stream_events_ingest(events, NULL, json, strlen(json), STREAM_EVENTS_JSON, 0, "acct-2", ""),
      STREAM_OK);
  ck_assert_int_eq(stored(), 1);
}
END_TEST

static Suite *events_suite(void)
{
  Suite *s = suite_create("events");
  TCase *tc = tcase_create("events");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_protobuf_roundtrip_and_dedup);
  tcase_add_test(tc, test_duplicate_within_batch_and_partial_overlap);
  tcase_add_test(tc, test_json_batch);
  tcase_add_test(tc, test_json_invalid_events_store_nothing);
  tcase_add_test(tc, test_json_trailing_bytes_store_nothing);
  tcase_add_test(tc, test_malformed_protobuf_stores_nothing);
  tcase_add_test(tc, test_protobuf_out_of_memory_is_enomem);
  tcase_add_test(tc, test_protobuf_field_errors);
  tcase_add_test(tc, test_gzip_truncated_trailing_and_bomb);
  tcase_add_test(tc, test_huge_batches_refused);
  tcase_add_test(tc, test_bad_arguments);
  tcase_add_test(tc, test_consumer_checkpoints);
  tcase_add_test(tc, test_account_credential_own_profile);
  tcase_add_test(tc, test_account_credential_other_profile_refused);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(events_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
