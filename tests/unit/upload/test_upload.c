/* Unit tests for the upload module (public API only, through the shared
 * library) over a real SQLite store and data directory in a temporary
 * directory, with an injected clock: appends at offsets, checksums, crash
 * recovery of the data file, expiry sweep, sessions in progress, limits and
 * metadata. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../store_path.h"
#include "stream/upload.h"

#define T0 1700000000

static char tmpdir[256];
static char datadir[300];
static stream_store *store;
static stream_uploads *up;
static int64_t clock_now;

static int64_t fake_clock(void *ud)
{
  return *(int64_t *)ud;
}

static void open_up(int64_t max_length)
{
  stream_upload_options o = STREAM_UPLOAD_OPTIONS_INIT;
  o.store = store;
  o.dir = datadir;
  o.max_length = max_length;
  o.expiry_seconds = 3600;
  o.now = fake_clock;
  o.now_userdata = &clock_now;
  ck_assert_int_eq(stream_upload_new(&up, &o), STREAM_OK);
}

static void open_store(void)
{
  char path[300], uri[512];
  snprintf(path, sizeof path, "%s/db.sqlite", tmpdir);
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  so.path = test_store_path(uri, sizeof uri, path);
  ck_assert_int_eq(stream_store_open(&store, &so), STREAM_OK);
}

static void setup(void)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/stream-upload-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  snprintf(datadir, sizeof datadir, "%s/uploads", tmpdir);
  open_store();
  clock_now = T0;
  open_up(1000);
}

static void teardown(void)
{
  stream_upload_free(up);
  up = NULL;
  stream_store_close(store);
  store = NULL;
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  ck_assert_int_eq(system(cmd), 0);
}

static int64_t file_size(const char *id)
{
  char path[STREAM_UPLOAD_PATH_SIZE];
  ck_assert_int_eq(stream_upload_path(path, sizeof path, up, id), STREAM_OK);
  struct stat sb;
  if (stat(path, &sb) != 0)
    return -1;
  return (int64_t)sb.st_size;
}

/* One chunk in one piece. */
static int append(int64_t *out, const char *id, int64_t offset, const char *data,
                  const char *checksum)
{
  stream_upload_writer *w = NULL;
  int rc = stream_upload_begin(&w, up, id, offset, checksum);
  if (rc != STREAM_OK)
    return rc;
  rc = stream_upload_write(w, data, strlen(data));
  int e = stream_upload_end(out, w, 1);
  return rc != STREAM_OK ? rc : e;
}

START_TEST(test_create_append_complete)
{
  stream_upload_info u;
  ck_assert_int_eq(stream_upload_create(&u, up, 11, "acct1", "{\"filename\":\"a.mp4\"}"),
                   STREAM_OK);
  ck_assert_int_eq(strlen(u.id), 22);
  ck_assert_int_eq(u.length, 11);
  ck_assert_int_eq(u.offset, 0);
  ck_assert_str_eq(u.owner, "acct1");
  ck_assert_str_eq(u.metadata, "{\"filename\":\"a.mp4\"}");
  ck_assert_int_eq(u.expires_at, T0 + 3600);
  ck_assert_int_eq(u.completed_at, 0);
  ck_assert_int_eq(file_size(u.id), 0);
  int64_t off = -1;
  /* in pieces, as the daemon feeds a PATCH body */
  stream_upload_writer *w;
  ck_assert_int_eq(stream_upload_begin(&w, up, u.id, 0, NULL), STREAM_OK);
  ck_assert_int_eq(stream_upload_write(w, "hel", 3), STREAM_OK);
  ck_assert_int_eq(stream_upload_write(w, "lo ", 3), STREAM_OK);
  ck_assert_int_eq(stream_upload_end(&off, w, 1), STREAM_OK);
  ck_assert_int_eq(off, 6);
  ck_assert_int_eq(append(&off, u.id, 6, "world", NULL), STREAM_OK);
  ck_assert_int_eq(off, 11);
  stream_upload_info g;
  ck_assert_int_eq(stream_upload_get(&g, up, u.id), STREAM_OK);
  ck_assert_int_eq(g.offset, 11);
  ck_assert_int_eq(g.completed_at, T0);
  stream_upload_info_clear(&g);
  char path[STREAM_UPLOAD_PATH_SIZE];
  ck_assert_int_eq(stream_upload_path(path, sizeof path, up, u.id), STREAM_OK);
  FILE *f = fopen(path, "rb");
  char buf[32] = "";
  ck_assert_uint_eq(fread(buf, 1, sizeof buf, f), 11);
  fclose(f);
  ck_assert_str_eq(buf, "hello world");
  /* complete: no more appends */
  ck_assert_int_eq(append(&off, u.id, 11, "x", NULL), STREAM_ECONFLICT);
  /* a completed upload never expires */
  clock_now += 7200;
  size_t n = 9;
  ck_assert_int_eq(stream_upload_sweep(&n, up), STREAM_OK);
  ck_assert_uint_eq(n, 0);
  ck_assert_int_eq(stream_upload_terminate(up, u.id), STREAM_OK);
  ck_assert_int_eq(file_size(u.id), -1);
  ck_assert_int_eq(stream_upload_get(&g, up, u.id), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_upload_terminate(up, u.id), STREAM_ENOTFOUND);
  stream_upload_info_clear(&u);
}
END_TEST

START_TEST(test_wrong_offset_and_overflow)
{
  stream_upload_info u;
  ck_assert_int_eq(stream_upload_create(&u, up, 5, NULL, NULL), STREAM_OK);
  ck_assert_str_eq(u.metadata, "{}");
  int64_t off = -1;
  ck_assert_int_eq(append(&off, u.id, 1, "ab", NULL), STREAM_ECONFLICT);
  ck_assert(strstr(stream_error_last()->message, "offset 0") != NULL);
  ck_assert_int_eq(append(&off, u.id, 0, "ab", NULL), STREAM_OK);
  ck_assert_int_eq(append(&off, u.id, 0, "ab", NULL), STREAM_ECONFLICT); /* replay */
  /* more than declared: the whole chunk is discarded */
  ck_assert_int_eq(append(&off, u.id, 2, "cdefg", NULL), STREAM_ERANGE);
  ck_assert_int_eq(off, 2);
  ck_assert_int_eq(file_size(u.id), 2);
  /* one writer at a time */
  stream_upload_writer *w1, *w2;
  ck_assert_int_eq(stream_upload_begin(&w1, up, u.id, 2, NULL), STREAM_OK);
  ck_assert_int_eq(stream_upload_begin(&w2, up, u.id, 2, NULL), STREAM_EBUSY);
  ck_assert_int_eq(stream_upload_terminate(up, u.id), STREAM_EBUSY);
  ck_assert_int_eq(stream_upload_end(&off, w1, 1), STREAM_OK);
  ck_assert_int_eq(off, 2);
  ck_assert_int_eq(append(&off, u.id, 0, "x", NULL), STREAM_ECONFLICT);
  ck_assert_int_eq(append(&off, "unknownid", 0, "x", NULL), STREAM_ENOTFOUND);
  ck_assert_int_eq(append(&off, "../etc", 0, "x", NULL), STREAM_EINVAL);
  stream_upload_info_clear(&u);
}
END_TEST

START_TEST(test_checksums)
{
  stream_upload_info u;
  ck_assert_int_eq(stream_upload_create(&u, up, 22, NULL, NULL), STREAM_OK);
  int64_t off = -1;
  /* tus spec example: sha1 of "hello world" */
  ck_assert_int_eq(append(&off, u.id, 0, "hello world", "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0="),
                   STREAM_OK);
  ck_assert_int_eq(off, 11);
  /* mismatch: discarded, offset and file unchanged */
  ck_assert_int_eq(append(&off, u.id, 11, "hello wOrld", "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0="),
                   STREAM_EPROTO);
  ck_assert(strstr(stream_error_last()->message, "checksum mismatch") != NULL);
  ck_assert_int_eq(off, 11);
  ck_assert_int_eq(file_size(u.id), 11);
  /* sha256 of "hello world" */
  ck_assert_int_eq(
      append(&off, u.id, 11, "hello world", "sha256 uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="),
      STREAM_OK);
  ck_assert_int_eq(off, 22);
  stream_upload_info_clear(&u);
  ck_assert_int_eq(stream_upload_create(&u, up, 22, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(append(&off, u.id, 0, "x", "md5 XrY7u+Ae7tCTyyK7j1rNww=="), STREAM_ENOTSUP);
  ck_assert_int_eq(append(&off, u.id, 0, "x", "sha1 notbase64!"), STREAM_EINVAL);
  ck_assert_int_eq(append(&off, u.id, 0, "x", "sha1"), STREAM_EINVAL);
  /* a checksummed chunk cut short is discarded; an unchecked one is kept */
  stream_upload_writer *w;
  ck_assert_int_eq(stream_upload_begin(&w, up, u.id, 0, "sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0="),
                   STREAM_OK);
  ck_assert_int_eq(stream_upload_write(w, "hello", 5), STREAM_OK);
  ck_assert_int_eq(stream_upload_end(&off, w, 0), STREAM_OK);
  ck_assert_int_eq(off, 0);
  ck_assert_int_eq(file_size(u.id), 0);
  ck_assert_int_eq(stream_upload_begin(&w, up, u.id, 0, NULL), STREAM_OK);
  ck_assert_int_eq(stream_upload_write(w, "hello", 5), STREAM_OK);
  ck_assert_int_eq(stream_upload_end(&off, w, 0), STREAM_OK);
  ck_assert_int_eq(off, 5);
  stream_upload_info_clear(&u);
}
END_TEST

START_TEST(test_crash_leftovers_truncated_on_reopen)
{
  stream_upload_info u;
  ck_assert_int_eq(stream_upload_create(&u, up, 100, NULL, NULL), STREAM_OK);
  int64_t off = -1;
  ck_assert_int_eq(append(&off, u.id, 0, "committed-", NULL), STREAM_OK);
  /* A crash after write() and before the commit leaves extra bytes. */
  char path[STREAM_UPLOAD_PATH_SIZE];
  ck_assert_int_eq(stream_upload_path(path, sizeof path, up, u.id), STREAM_OK);
  FILE *f = fopen(path, "ab");
  fputs("uncommitted-garbage", f);
  fclose(f);
  ck_assert_int_eq(file_size(u.id), 29);
  /* restart: a new store handle and service over the same files */
  stream_upload_free(up);
  stream_store_close(store);
  open_store();
  open_up(1000);
  stream_upload_info g;
  ck_assert_int_eq(stream_upload_get(&g, up, u.id), STREAM_OK);
  ck_assert_int_eq(g.offset, 10);
  stream_upload_info_clear(&g);
  ck_assert_int_eq(append(&off, u.id, 10, "more", NULL), STREAM_OK);
  ck_assert_int_eq(off, 14);
  f = fopen(path, "rb");
  char buf[64] = "";
  ck_assert_uint_eq(fread(buf, 1, sizeof buf, f), 14);
  fclose(f);
  ck_assert_str_eq(buf, "committed-more");
  /* A data file shorter than the committed offset is refused, not papered over. */
  ck_assert_int_eq(truncate(path, 3), 0);
  ck_assert_int_eq(append(&off, u.id, 14, "x", NULL), STREAM_EIO);
  stream_upload_info_clear(&u);
}
END_TEST

START_TEST(test_expiry_sweep)
{
  stream_upload_info a, b, c;
  ck_assert_int_eq(stream_upload_create(&a, up, 10, NULL, NULL), STREAM_OK);
  clock_now += 100;
  ck_assert_int_eq(stream_upload_create(&b, up, 10, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(stream_upload_create(&c, up, 0, NULL, NULL), STREAM_OK); /* complete */
  ck_assert_int_ne(c.completed_at, 0);
  int64_t off;
  ck_assert_int_eq(append(&off, a.id, 0, "abc", NULL), STREAM_OK);
  clock_now = T0 + 3600; /* a expires now, b not yet */
  stream_upload_info g;
  ck_assert_int_eq(stream_upload_get(&g, up, a.id), STREAM_EEXPIRED);
  ck_assert_int_eq(append(&off, a.id, 3, "d", NULL), STREAM_EEXPIRED);
  size_t n = 0;
  ck_assert_int_eq(stream_upload_sweep(&n, up), STREAM_OK);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(file_size(a.id), -1);
  ck_assert_int_eq(stream_upload_get(&g, up, a.id), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_upload_get(&g, up, b.id), STREAM_OK);
  stream_upload_info_clear(&g);
  clock_now += 1000;
  ck_assert_int_eq(stream_upload_sweep(&n, up), STREAM_OK);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(file_size(b.id), -1);
  ck_assert_int_eq(stream_upload_get(&g, up, c.id), STREAM_OK);
  stream_upload_info_clear(&g);
  stream_upload_info_clear(&a);
  stream_upload_info_clear(&b);
  stream_upload_info_clear(&c);
}
END_TEST

/* Sessions in progress: incomplete and not expired, however many were made before. */
START_TEST(test_count_active)
{
  int64_t n = -1;
  ck_assert_int_eq(stream_upload_count_active(&n, up), STREAM_OK);
  ck_assert_int_eq(n, 0);
  stream_upload_info a, b, c;
  ck_assert_int_eq(stream_upload_create(&a, up, 4, NULL, NULL), STREAM_OK);
  clock_now += 100;
  ck_assert_int_eq(stream_upload_create(&b, up, 10, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(stream_upload_create(&c, up, 0, NULL, NULL), STREAM_OK); /* complete */
  ck_assert_int_eq(stream_upload_count_active(&n, up), STREAM_OK);
  ck_assert_int_eq(n, 2);
  int64_t off;
  ck_assert_int_eq(append(&off, b.id, 0, "abc", NULL), STREAM_OK); /* still in progress */
  ck_assert_int_eq(stream_upload_count_active(&n, up), STREAM_OK);
  ck_assert_int_eq(n, 2);
  ck_assert_int_eq(append(&off, a.id, 0, "abcd", NULL), STREAM_OK); /* complete */
  ck_assert_int_eq(stream_upload_count_active(&n, up), STREAM_OK);
  ck_assert_int_eq(n, 1);
  clock_now = T0 + 100 + 3600; /* b expires now: not in progress, before the sweep too */
  ck_assert_int_eq(stream_upload_count_active(&n, up), STREAM_OK);
  ck_assert_int_eq(n, 0);
  clock_now = T0 + 100;
  ck_assert_int_eq(stream_upload_terminate(up, b.id), STREAM_OK);
  ck_assert_int_eq(stream_upload_count_active(&n, up), STREAM_OK);
  ck_assert_int_eq(n, 0);
  /* Never-expiring sessions (expiry < 0: expires_at 0) are in progress for good. */
  stream_upload_free(up);
  stream_upload_options o = STREAM_UPLOAD_OPTIONS_INIT;
  o.store = store;
  o.dir = datadir;
  o.expiry_seconds = -1;
  o.now = fake_clock;
  o.now_userdata = &clock_now;
  ck_assert_int_eq(stream_upload_new(&up, &o), STREAM_OK);
  stream_upload_info d;
  ck_assert_int_eq(stream_upload_create(&d, up, 10, NULL, NULL), STREAM_OK);
  ck_assert_int_eq(d.expires_at, 0);
  clock_now += 1000000;
  ck_assert_int_eq(stream_upload_count_active(&n, up), STREAM_OK);
  ck_assert_int_eq(n, 1);
  /* Arguments */
  n = 5;
  ck_assert_int_eq(stream_upload_count_active(&n, NULL), STREAM_EINVAL);
  ck_assert_int_eq(n, 0);
  ck_assert_int_eq(stream_upload_count_active(NULL, up), STREAM_EINVAL);
  stream_upload_info_clear(&a);
  stream_upload_info_clear(&b);
  stream_upload_info_clear(&c);
  stream_upload_info_clear(&d);
}
END_TEST

START_TEST(test_limits_and_bad_input)
{
  stream_upload_info u;
  ck_assert_int_eq(stream_upload_create(&u, up, 1001, NULL, NULL), STREAM_ERANGE);
  ck_assert_int_eq(stream_upload_create(&u, up, -1, NULL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_upload_create(&u, up, 1000, NULL, NULL), STREAM_OK);
  stream_upload_info_clear(&u);
  ck_assert_int_eq(stream_upload_create(&u, up, 1, NULL, "[1]"), STREAM_EINVAL);
  ck_assert_int_eq(stream_upload_create(&u, up, 1, NULL, "{\"a\":1}"), STREAM_EINVAL);
  ck_assert_int_eq(stream_upload_create(&u, up, 1, NULL, "{bad"), STREAM_EINVAL);
  /* One JSON object, nothing after it but whitespace (stored as given: the rest would be kept). */
  ck_assert_int_eq(stream_upload_create(&u, up, 1, NULL, "{\"a\":\"b\"} x"), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "unexpected bytes at offset 10"));
  ck_assert_int_eq(stream_upload_create(&u, up, 1, NULL, "{}{}"), STREAM_EINVAL);
  ck_assert_int_eq(stream_upload_create(&u, up, 1, NULL, " {\"a\":\"b\"}\n"), STREAM_OK);
  stream_upload_info_clear(&u);
  ck_assert_int_eq(stream_upload_create(&u, up, 1, "bad owner", NULL), STREAM_EINVAL);
  /* Metadata is stored as text: not UTF-8 (in a value or a key) is refused on every backend,
   * multi-byte text is kept byte for byte. */
  ck_assert_int_eq(stream_upload_create(&u, up, 1, NULL, "{\"filename\":\"a\xff.mp4\"}"),
                   STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "not valid UTF-8"));
  ck_assert_int_eq(stream_upload_create(&u, up, 1, NULL, "{\"k\xed\xa0\x80\":\"v\"}"),
                   STREAM_EINVAL);
  const char *mb = "{\"filename\":\"\xc3\xa9t\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x8e\xac.mp4\"}";
  ck_assert_int_eq(stream_upload_create(&u, up, 1, NULL, mb), STREAM_OK);
  char id[sizeof u.id];
  memcpy(id, u.id, sizeof id);
  stream_upload_info_clear(&u);
  ck_assert_int_eq(stream_upload_get(&u, up, id), STREAM_OK);
  ck_assert_str_eq(u.metadata, mb);
  stream_upload_info_clear(&u);
  ck_assert_int_eq(stream_upload_max_length(up), 1000);
  stream_uploads *other = NULL;
  stream_upload_options o = STREAM_UPLOAD_OPTIONS_INIT;
  o.store = store;
  ck_assert_int_eq(stream_upload_new(&other, &o), STREAM_EINVAL); /* no dir */
  o.dir = "/proc/definitely/not/here";
  ck_assert_int_eq(stream_upload_new(&other, &o), STREAM_EIO);
  ck_assert_ptr_null(other);
  char small[8];
  ck_assert_int_eq(stream_upload_path(small, sizeof small, up, "abc"), STREAM_ERANGE);
}
END_TEST

START_TEST(test_metadata_parse)
{
  char *json = NULL;
  /* tus spec example */
  ck_assert_int_eq(stream_upload_metadata_parse(
                       &json, "filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential"),
                   STREAM_OK);
  ck_assert_str_eq(json, "{\"filename\":\"world_domination_plan.pdf\",\"is_confidential\":\"\"}");
  stream_free(json);
  ck_assert_int_eq(stream_upload_metadata_parse(&json, "title_id dDE=, filename YS5tcDQ="),
                   STREAM_OK);
  ck_assert_str_eq(json, "{\"title_id\":\"t1\",\"filename\":\"a.mp4\"}");
  stream_free(json);
  ck_assert_int_eq(stream_upload_metadata_parse(&json, NULL), STREAM_OK);
  ck_assert_str_eq(json, "{}");
  stream_free(json);
  ck_assert_int_eq(stream_upload_metadata_parse(&json, "a YQ==,a Yg=="), STREAM_EINVAL);
  ck_assert(strstr(stream_error_last()->message, "repeated") != NULL);
  ck_assert_int_eq(stream_upload_metadata_parse(&json, "a !!!"), STREAM_EINVAL);
  ck_assert_int_eq(stream_upload_metadata_parse(&json, "a YQ==,,b"), STREAM_EINVAL);
  ck_assert_int_eq(stream_upload_metadata_parse(&json, "a YQ== b"), STREAM_EINVAL);
  ck_assert_int_eq(stream_upload_metadata_parse(&json, "a /w=="), STREAM_EINVAL); /* 0xff */
  ck_assert_int_eq(stream_upload_metadata_parse(&json, "a YQBi"), STREAM_EINVAL); /* a\0b */
  ck_assert_ptr_null(json);
}
END_TEST

/* A second service over the same store and directory: another streamd of a scale-out (one
 * database, one shared data_dir), whose in-process writer list knows nothing of ours. */
static stream_uploads *open_other(void)
{
  stream_upload_options o = STREAM_UPLOAD_OPTIONS_INIT;
  o.store = store;
  o.dir = datadir;
  o.max_length = 1000;
  o.expiry_seconds = 3600;
  o.now = fake_clock;
  o.now_userdata = &clock_now;
  stream_uploads *other = NULL;
  ck_assert_int_eq(stream_upload_new(&other, &o), STREAM_OK);
  return other;
}

static void read_data(char *out, size_t cap, const char *id)
{
  char path[STREAM_UPLOAD_PATH_SIZE];
  ck_assert_int_eq(stream_upload_path(path, sizeof path, up, id), STREAM_OK);
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  size_t n = fread(out, 1, cap - 1, f);
  out[n] = '\0';
  fclose(f);
}

/* Two PATCHes of one upload at the same offset through two daemons: the second is refused
 * while the first writes (409), and the first's committed bytes stay. Before the data file was
 * locked, both wrote over each other and the loser of the offset compare-and-set cut the file
 * back to the old offset, below the winner's acknowledged one. */
START_TEST(test_two_daemons_one_writer)
{
  stream_uploads *other = open_other();
  stream_upload_info u;
  ck_assert_int_eq(stream_upload_create(&u, up, 8, NULL, NULL), STREAM_OK);
  stream_upload_writer *a = NULL, *b = NULL;
  ck_assert_int_eq(stream_upload_begin(&a, up, u.id, 0, NULL), STREAM_OK);
  int rc = stream_upload_begin(&b, other, u.id, 0, NULL);
  if (rc == STREAM_OK) { /* the old behaviour: show what it costs, then fail */
    ck_assert_int_eq(stream_upload_write(a, "aaaa", 4), STREAM_OK);
    ck_assert_int_eq(stream_upload_write(b, "bb", 2), STREAM_OK);
    int64_t off = -1;
    ck_assert_int_eq(stream_upload_end(&off, a, 1), STREAM_OK);
    ck_assert_int_eq(off, 4);
    stream_upload_end(NULL, b, 1);
    ck_assert_msg(0,
                  "a second writer began on another handle; the file now holds %lld of the "
                  "4 acknowledged bytes",
                  (long long)file_size(u.id));
  }
  ck_assert_int_eq(rc, STREAM_EBUSY);
  ck_assert_ptr_null(b);
  /* termination and the sweep through the other daemon wait for the writer too */
  ck_assert_int_eq(stream_upload_terminate(other, u.id), STREAM_EBUSY);
  ck_assert_int_eq(stream_upload_write(a, "aaaa", 4), STREAM_OK);
  int64_t off = -1;
  ck_assert_int_eq(stream_upload_end(&off, a, 1), STREAM_OK);
  ck_assert_int_eq(off, 4);
  /* the lock went with the writer: the other daemon continues from the committed offset */
  ck_assert_int_eq(stream_upload_begin(&b, other, u.id, 0, NULL), STREAM_ECONFLICT);
  ck_assert_int_eq(stream_upload_begin(&b, other, u.id, 4, NULL), STREAM_OK);
  ck_assert_int_eq(stream_upload_write(b, "bbbb", 4), STREAM_OK);
  ck_assert_int_eq(stream_upload_end(&off, b, 1), STREAM_OK);
  ck_assert_int_eq(off, 8);
  char data[16];
  read_data(data, sizeof data, u.id);
  ck_assert_str_eq(data, "aaaabbbb");
  stream_upload_info_clear(&u);
  stream_upload_free(other);
}
END_TEST

/* The sweep of one daemon skips an upload another daemon is writing, even past its expiry:
 * the writer began in time and its last chunk completes the upload. Before, the sweep deleted
 * the row and the file under the writer, and the completed upload was lost. */
START_TEST(test_sweep_skips_writer_of_other_daemon)
{
  stream_uploads *other = open_other();
  stream_upload_info u;
  ck_assert_int_eq(stream_upload_create(&u, up, 4, NULL, NULL), STREAM_OK);
  stream_upload_writer *w = NULL;
  ck_assert_int_eq(stream_upload_begin(&w, other, u.id, 0, NULL), STREAM_OK);
  ck_assert_int_eq(stream_upload_write(w, "data", 4), STREAM_OK);
  clock_now = T0 + 3600; /* expired while the chunk arrives */
  size_t n = 99;
  ck_assert_int_eq(stream_upload_sweep(&n, up), STREAM_OK);
  ck_assert_int_eq(n, 0);
  int64_t off = -1;
  ck_assert_int_eq(stream_upload_end(&off, w, 1), STREAM_OK);
  ck_assert_int_eq(off, 4);
  stream_upload_info g;
  ck_assert_int_eq(stream_upload_get(&g, up, u.id), STREAM_OK); /* complete: never expires */
  ck_assert_int_eq(g.completed_at, T0 + 3600);
  stream_upload_info_clear(&g);
  ck_assert_int_eq(stream_upload_sweep(&n, up), STREAM_OK);
  ck_assert_int_eq(n, 0);
  char data[16];
  read_data(data, sizeof data, u.id);
  ck_assert_str_eq(data, "data");
  stream_upload_info_clear(&u);
  stream_upload_free(other);
}
END_TEST

static Suite *upload_suite(void)
{
  Suite *s = suite_create("upload");
  TCase *tc = tcase_create("upload");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_create_append_complete);
  tcase_add_test(tc, test_wrong_offset_and_overflow);
  tcase_add_test(tc, test_checksums);
  tcase_add_test(tc, test_crash_leftovers_truncated_on_reopen);
  tcase_add_test(tc, test_expiry_sweep);
  tcase_add_test(tc, test_count_active);
  tcase_add_test(tc, test_limits_and_bad_input);
  tcase_add_test(tc, test_metadata_parse);
  tcase_add_test(tc, test_two_daemons_one_writer);
  tcase_add_test(tc, test_sweep_skips_writer_of_other_daemon);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(upload_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
