/*
 * Unit tests of the delivery module (public API only) on a real transcoded
 * asset: a 2 s 1280x720 testsrc2 clip made with the ffmpeg CLI and
 * transcoded once (before the forked cases run) with stream_media_job into
 * a 720p + 360p ladder under a temporary media root.
 */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stream/delivery.h"
#include "stream/features.h"
#include "stream/media.h"
#include "stream/sign.h"

#define BASE "http://media.test:8080"
#define NOW INT64_C(1750000000)
#define ASSET "a1"

static char tmpdir[256];
static char media_root[300];
static stream_keyring *ring;
static stream_delivery *dl;

static const char *msg(void)
{
  const stream_error *e = stream_error_last();
  return e ? e->message : "(no message)";
}

static void make_asset(void)
{
  const char *base = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/stream-delivery-XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(tmpdir))
    abort();
  snprintf(media_root, sizeof media_root, "%s/media", tmpdir);
  mkdir(media_root, 0700);
  char cmd[4096], src[400], out[400];
  snprintf(src, sizeof src, "%s/src.mp4", tmpdir);
  snprintf(cmd, sizeof cmd,
           "ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=1280x720:rate=30 "
           "-f lavfi -i sine=frequency=440:sample_rate=44100 -t 2 -c:v libx264 -preset ultrafast "
           "-c:a aac -shortest %s",
           src);
  if (system(cmd) != 0)
    abort();
  snprintf(out, sizeof out, "%s/%s", media_root, ASSET);
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  o.input = src;
  o.outdir = out;
  o.ladder = "720p,360p";
  o.x264_preset = "ultrafast";
  o.segment_seconds = 2;
  o.thumbnails = 1;
  stream_media_job *job = NULL;
  if (stream_media_job_new(&job, &o) != STREAM_OK || stream_media_job_run(job) != STREAM_OK) {
    fprintf(stderr, "transcode failed: %s\n", msg());
    abort();
  }
  stream_media_job_free(job);
  /* Hostile extras: symlinks out of the root, a hidden file, a temp file. */
  snprintf(cmd, sizeof cmd,
           "cd %s && ln -s /etc evil && ln -s /etc/passwd v360p_365/link.m4s && "
           "echo secret > .hidden && echo part > v360p_365/seg_00009.m4s.tmp && "
           "ln -s %s %s/escape && mkdir -p %s/outside && echo x > %s/outside/seg.m4s && "
           "ln -s ../outside %s/ln",
           out, tmpdir, media_root, tmpdir, tmpdir, out);
  if (system(cmd) != 0)
    abort();
}

static void remove_asset(void)
{
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
  if (system(cmd) != 0)
    fprintf(stderr, "cannot remove %s\n", tmpdir);
}

static stream_delivery *new_handle(int format, stream_keyring *r)
{
  stream_delivery_options o = STREAM_DELIVERY_OPTIONS_INIT;
  o.base_url = BASE;
  o.media_root = media_root;
  o.keys = r;
  o.format = format;
  stream_delivery *d = NULL;
  ck_assert_msg(stream_delivery_new(&d, &o) == STREAM_OK, "%s", msg());
  return d;
}

/* A new key ring holding `k` alone, as its primary (the ring takes its own reference: the
 * caller still frees `k`; the ring is freed with stream_keyring_free). */
static stream_keyring *ring_of(const stream_key *k)
{
  stream_keyring *r = NULL;
  ck_assert_int_eq(stream_keyring_new(&r), STREAM_OK);
  ck_assert_int_eq(stream_keyring_add(r, k), STREAM_OK);
  ck_assert_int_eq(stream_keyring_set_primary(r, stream_key_id(k)), STREAM_OK);
  return r;
}

static void setup(void)
{
  unsigned char secret[32];
  for (int i = 0; i < 32; i++)
    secret[i] = (unsigned char)i;
  stream_key *k = NULL;
  ck_assert_int_eq(stream_key_from_bytes(&k, STREAM_KEY_HMAC, "k1", secret, 32), STREAM_OK);
  ring = ring_of(k);
  stream_key_free(k);
  dl = new_handle(0, ring);
}

static void teardown(void)
{
  stream_delivery_free(dl);
  stream_keyring_free(ring);
}

/* Open `path` (relative to BASE) as a GET; returns the status, fills *f. */
static int get(stream_delivery_file *f, stream_delivery *d, const char *path, const char *cookie,
               int64_t now)
{
  stream_delivery_request r = STREAM_DELIVERY_REQUEST_INIT;
  r.method = "GET";
  r.path = path;
  r.cookie = cookie;
  r.now = now;
  return stream_delivery_open(f, d, &r);
}

/* The path part of a signed URL, with "master.m3u8" replaced by `rest`. */
static void path_for(char *out, size_t n, const char *url, const char *rest)
{
  ck_assert_int_eq(strncmp(url, BASE, strlen(BASE)), 0);
  snprintf(out, n, "%s", url + strlen(BASE));
  char *m = strstr(out, "master.m3u8");
  ck_assert_ptr_nonnull(m);
  snprintf(m, n - (size_t)(m - out), "%s", rest);
}

static char *read_fd(int fd)
{
  static char buf[1 << 16];
  ssize_t r = pread(fd, buf, sizeof buf - 1, 0);
  ck_assert_int_ge(r, 0);
  buf[r] = '\0';
  return buf;
}

START_TEST(test_sign_path_token_and_open)
{
  stream_delivery_urls u;
  ck_assert_msg(stream_delivery_sign(&u, dl, ASSET, 0, NOW + 3600, NULL) == STREAM_OK, "%s", msg());
  ck_assert_str_eq(u.prefix, BASE "/v1/media/a1/h0/");
  ck_assert_ptr_null(u.cookie);
  ck_assert_int_eq(strncmp(u.hls_url, BASE "/v1/media/a1/h0/stream-token=Expires=1750003600&", 60),
                   0);
  ck_assert_ptr_nonnull(strstr(u.hls_url, "/master.m3u8"));
  ck_assert_ptr_nonnull(strstr(u.dash_url, "/manifest.mpd"));
  char path[2048];
  path_for(path, sizeof path, u.hls_url, "master.m3u8");
  stream_delivery_file f;
  ck_assert_msg(get(&f, dl, path, NULL, NOW) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(f.reason, STREAM_DELIVERY_OK);
  ck_assert_int_eq(f.kind, STREAM_DELIVERY_KIND_MASTER);
  ck_assert_int_ge(f.fd, 0);
  ck_assert_str_eq(f.content_type, "application/vnd.apple.mpegurl");
  ck_assert_str_eq(f.cache_control, "public, max-age=2");
  ck_assert_str_eq(f.asset_id, ASSET);
  ck_assert_str_eq(f.rel_path, "master.m3u8");
  ck_assert_int_eq(f.expires, NOW + 3600);
  ck_assert_int_eq(f.via_cookie, 0);
  char *text = read_fd(f.fd);
  ck_assert_ptr_nonnull(strstr(text, "RESOLUTION=1280x720"));
  stream_delivery_file_clear(&f);
  ck_assert_int_eq(f.fd, -1);

  /* Relative URIs inherit the token: segments, playlists, init, thumbnails. */
  const char *ok[] = {"v720p_3000/seg_00001.m4s", "v720p_3000/init.mp4", "v360p_365/index.m3u8",
                      "audio_und/seg_00001.m4s",  "manifest.mpd",        "thumbnails.vtt",
                      "sprites/sprite_000.jpg"};
  const int kinds[] = {STREAM_DELIVERY_KIND_SEGMENT,  STREAM_DELIVERY_KIND_SEGMENT,
                       STREAM_DELIVERY_KIND_PLAYLIST, STREAM_DELIVERY_KIND_SEGMENT,
                       STREAM_DELIVERY_KIND_MPD,      STREAM_DELIVERY_KIND_OTHER,
                       STREAM_DELIVERY_KIND_OTHER};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    path_for(path, sizeof path, u.hls_url, ok[i]);
    ck_assert_msg(get(&f, dl, path, NULL, NOW) == STREAM_OK, "%s: %s", ok[i], msg());
    ck_assert_int_eq(f.kind, kinds[i]);
    ck_assert_int_gt((long long)f.size, 0);
    stream_delivery_file_clear(&f);
  }
  path_for(path, sizeof path, u.hls_url, "v720p_3000/seg_00001.m4s");
  get(&f, dl, path, NULL, NOW);
  ck_assert_str_eq(f.content_type, "video/iso.segment");
  ck_assert_str_eq(f.cache_control, "public, max-age=31536000, immutable");
  stream_delivery_file_clear(&f);
  stream_delivery_urls_clear(&u);
  ck_assert_ptr_null(u.hls_url);
  stream_delivery_urls_clear(NULL);
}
END_TEST

START_TEST(test_cap_enforced)
{
  stream_delivery_urls u;
  ck_assert_int_eq(stream_delivery_sign(&u, dl, ASSET, 360, NOW + 3600, NULL), STREAM_OK);
  ck_assert_str_eq(u.prefix, BASE "/v1/media/a1/h360/");
  char path[2048];
  stream_delivery_file f;
  /* 360p and audio: fine. */
  path_for(path, sizeof path, u.hls_url, "v360p_365/seg_00001.m4s");
  ck_assert_msg(get(&f, dl, path, NULL, NOW) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(f.max_height, 360);
  stream_delivery_file_clear(&f);
  path_for(path, sizeof path, u.hls_url, "audio_und/init.mp4");
  ck_assert_int_eq(get(&f, dl, path, NULL, NOW), STREAM_OK);
  stream_delivery_file_clear(&f);
  /* Every file of the 720p rendition: refused, with a clear reason. */
  const char *bad[] = {"v720p_3000/seg_00001.m4s", "v720p_3000/init.mp4", "v720p_3000/index.m3u8",
                       "v720p_3000/iframes.m3u8"};
  for (size_t i = 0; i < 4; i++) {
    path_for(path, sizeof path, u.hls_url, bad[i]);
    ck_assert_int_eq(get(&f, dl, path, NULL, NOW), STREAM_EFORBIDDEN);
    ck_assert_int_eq(f.reason, STREAM_DELIVERY_ABOVE_CAP);
    ck_assert_int_eq(f.fd, -1);
    ck_assert_ptr_nonnull(strstr(msg(), "above the signed cap"));
  }
  /* Raising the cap in the URL breaks the signature. */
  path_for(path, sizeof path, u.hls_url, "v720p_3000/seg_00001.m4s");
  char *h = strstr(path, "/h360/");
  memcpy(h, "/h720/", 6);
  ck_assert_int_eq(get(&f, dl, path, NULL, NOW), STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.reason, STREAM_DELIVERY_SIGNATURE);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_BAD_SIGNATURE);
  memcpy(h, "/h0/", 4);
  memmove(h + 4, h + 6, strlen(h + 6) + 1);
  ck_assert_int_eq(get(&f, dl, path, NULL, NOW), STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.reason, STREAM_DELIVERY_SIGNATURE);

  /* The manifests served under the cap leave 720p out (I-frame entries too). */
  path_for(path, sizeof path, u.hls_url, "master.m3u8");
  ck_assert_int_eq(get(&f, dl, path, NULL, NOW), STREAM_OK);
  char *text = NULL;
  size_t len = 0;
  ck_assert_msg(stream_delivery_manifest(&text, &len, dl, &f) == STREAM_OK, "%s", msg());
  ck_assert_uint_eq(len, strlen(text));
  ck_assert_ptr_null(strstr(text, "720"));
  ck_assert_ptr_nonnull(strstr(text, "v360p_365/index.m3u8"));
  ck_assert_ptr_nonnull(strstr(text, "v360p_365/iframes.m3u8"));
  ck_assert_ptr_nonnull(strstr(text, "audio_und/index.m3u8"));
  stream_free(text);
  stream_delivery_file_clear(&f);
  path_for(path, sizeof path, u.hls_url, "manifest.mpd");
  ck_assert_int_eq(get(&f, dl, path, NULL, NOW), STREAM_OK);
  ck_assert_str_eq(f.content_type, "application/dash+xml");
  ck_assert_int_eq(stream_delivery_manifest(&text, &len, dl, &f), STREAM_OK);
  ck_assert_ptr_null(strstr(text, "v720p_3000"));
  ck_assert_ptr_null(strstr(text, "height=\"720\""));
  ck_assert_ptr_nonnull(strstr(text, "maxHeight=\"360\""));
  ck_assert_ptr_nonnull(strstr(text, "maxWidth=\"640\""));
  ck_assert_ptr_nonnull(strstr(text, "<Representation id=\"v360p_365\""));
  ck_assert_ptr_nonnull(strstr(text, "<Representation id=\"audio_und\""));
  ck_assert_ptr_nonnull(strstr(text, "</MPD>"));
  stream_free(text);
  /* A non-manifest cannot be "filtered". */
  stream_delivery_file_clear(&f);
  path_for(path, sizeof path, u.hls_url, "v360p_365/index.m3u8");
  ck_assert_int_eq(get(&f, dl, path, NULL, NOW), STREAM_OK);
  ck_assert_int_eq(stream_delivery_manifest(&text, &len, dl, &f), STREAM_EINVAL);
  stream_delivery_file_clear(&f);
  stream_delivery_urls_clear(&u);
}
END_TEST

START_TEST(test_uncapped_manifest_unchanged)
{
  stream_delivery_urls u;
  ck_assert_int_eq(stream_delivery_sign(&u, dl, ASSET, 1080, NOW + 60, NULL), STREAM_OK);
  char path[2048];
  stream_delivery_file f;
  path_for(path, sizeof path, u.hls_url, "master.m3u8");
  ck_assert_int_eq(get(&f, dl, path, NULL, NOW), STREAM_OK);
  char *text = NULL;
  ck_assert_int_eq(stream_delivery_manifest(&text, NULL, dl, &f), STREAM_OK);
  ck_assert_str_eq(text, read_fd(f.fd));
  stream_free(text);
  stream_delivery_file_clear(&f);
  path_for(path, sizeof path, u.hls_url, "v720p_3000/seg_00001.m4s");
  ck_assert_int_eq(get(&f, dl, path, NULL, NOW), STREAM_OK);
  stream_delivery_file_clear(&f);
  stream_delivery_urls_clear(&u);
}
END_TEST

START_TEST(test_expired_and_tampered)
{
  stream_delivery_urls u;
  ck_assert_int_eq(stream_delivery_sign(&u, dl, ASSET, 0, NOW + 60, NULL), STREAM_OK);
  char path[2048];
  stream_delivery_file f;
  path_for(path, sizeof path, u.hls_url, "master.m3u8");
  ck_assert_int_eq(get(&f, dl, path, NULL, NOW + 59), STREAM_OK);
  stream_delivery_file_clear(&f);
  ck_assert_int_eq(get(&f, dl, path, NULL, NOW + 60), STREAM_EEXPIRED);
  ck_assert_int_eq(f.reason, STREAM_DELIVERY_SIGNATURE);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_EXPIRED);
  ck_assert_int_eq(f.fd, -1);
  /* Another asset with this asset's token. */
  char other[2048];
  snprintf(other, sizeof other, "%s", path);
  memcpy(strstr(other, "/a1/"), "/a2/", 4);
  ck_assert_int_eq(get(&f, dl, other, NULL, NOW), STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_BAD_SIGNATURE);
  /* A flipped signature character; a longer expiry. */
  snprintf(other, sizeof other, "%s", path);
  char *sig = strstr(other, "Signature=") + 10;
  sig[3] = sig[3] == 'A' ? 'B' : 'A';
  ck_assert_int_eq(get(&f, dl, other, NULL, NOW), STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_BAD_SIGNATURE);
  snprintf(other, sizeof other, "%s", path);
  char *e = strstr(other, "Expires=1750000060");
  e[17] = '9';
  ck_assert_int_eq(get(&f, dl, other, NULL, NOW), STREAM_EFORBIDDEN);
  /* No signature at all. */
  ck_assert_int_eq(get(&f, dl, "/v1/media/a1/h0/master.m3u8", NULL, NOW), STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.reason, STREAM_DELIVERY_SIGNATURE);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_MISSING);
  /* Unknown key. */
  stream_key *k = NULL;
  ck_assert_int_eq(stream_key_generate(&k, STREAM_KEY_HMAC, "k2", 32), STREAM_OK);
  stream_keyring *r2 = ring_of(k);
  stream_key_free(k);
  stream_delivery *d2 = new_handle(0, r2);
  ck_assert_int_eq(get(&f, d2, path, NULL, NOW), STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_UNKNOWN_KEY);
  stream_delivery_free(d2);
  stream_keyring_free(r2);
  stream_delivery_urls_clear(&u);
}
END_TEST

/* A summary.json whose heights no rendition has (1e300, negative, a fraction of a pixel
 * over INT_MAX): each such rendition is above every cap and refused; the height is never
 * converted out of int's range (UBSan in the ASan run). */
START_TEST(test_summary_hostile_heights)
{
  char dir[600], cmd[5000];
  snprintf(dir, sizeof dir, "%s/a2", media_root);
  snprintf(cmd, sizeof cmd,
           "mkdir -p %s/vhuge %s/vneg %s/vok && echo x > %s/vhuge/seg.m4s && "
           "echo x > %s/vneg/seg.m4s && echo x > %s/vok/seg.m4s && "
           "printf '%%s' '{\"renditions\":[{\"kind\":\"video\",\"dir\":\"vhuge\","
           "\"height\":1e300},{\"kind\":\"video\",\"dir\":\"vneg\",\"height\":-3},"
           "{\"kind\":\"video\",\"dir\":\"vok\",\"height\":360}]}' > %s/summary.json",
           dir, dir, dir, dir, dir, dir, dir);
  ck_assert_int_eq(system(cmd), 0);
  stream_delivery_urls u;
  ck_assert_int_eq(stream_delivery_sign(&u, dl, "a2", 1080, NOW + 3600, NULL), STREAM_OK);
  char path[2048];
  stream_delivery_file f;
  path_for(path, sizeof path, u.hls_url, "vok/seg.m4s");
  ck_assert_msg(get(&f, dl, path, NULL, NOW) == STREAM_OK, "%s", msg());
  stream_delivery_file_clear(&f);
  const char *bad[] = {"vhuge/seg.m4s", "vneg/seg.m4s"};
  for (size_t i = 0; i < 2; i++) {
    path_for(path, sizeof path, u.hls_url, bad[i]);
    ck_assert_int_eq(get(&f, dl, path, NULL, NOW), STREAM_EFORBIDDEN);
    ck_assert_int_eq(f.reason, STREAM_DELIVERY_ABOVE_CAP);
    ck_assert_int_eq(f.fd, -1);
  }
  stream_delivery_urls_clear(&u);
}
END_TEST

/* A summary.json listing more video renditions than the origin keeps heights for (32), or one
 * whose directory name is too long to keep (64 bytes or more): such a rendition's height is
 * unknown, so its files are refused under a cap (they were served as if it had none). The
 * renditions the origin did keep are served as before. */
START_TEST(test_summary_untracked_renditions)
{
  char dir[600], file[700];
  snprintf(dir, sizeof dir, "%s/a4", media_root);
  ck_assert_int_eq(mkdir(dir, 0700), 0);
  const char *long_dir = "v1080p_6000_with_a_directory_name_that_is_longer_than_sixty_four_bytes";
  snprintf(file, sizeof file, "%s/summary.json", dir);
  FILE *sf = fopen(file, "w");
  ck_assert_ptr_nonnull(sf);
  fputs("{\"renditions\":[", sf);
  for (int i = 0; i < 32; i++)
    fprintf(sf, "{\"kind\":\"video\",\"dir\":\"v%02d\",\"height\":240},", i);
  fprintf(sf,
          "{\"kind\":\"video\",\"dir\":\"v33rd\",\"height\":1080},"
          "{\"kind\":\"video\",\"dir\":\"%s\",\"height\":1080}]}",
          long_dir);
  ck_assert_int_eq(fclose(sf), 0);
  const char *dirs[] = {"v00", "v33rd", long_dir};
  for (size_t i = 0; i < 3; i++) {
    snprintf(file, sizeof file, "%s/%s", dir, dirs[i]);
    ck_assert_int_eq(mkdir(file, 0700), 0);
    snprintf(file, sizeof file, "%s/%s/seg.m4s", dir, dirs[i]);
    FILE *seg = fopen(file, "w");
    ck_assert_ptr_nonnull(seg);
    ck_assert_int_eq(fclose(seg), 0);
  }
  stream_delivery_urls u;
  ck_assert_int_eq(stream_delivery_sign(&u, dl, "a4", 720, NOW + 3600, NULL), STREAM_OK);
  char path[2048], rest[200];
  stream_delivery_file f;
  path_for(path, sizeof path, u.hls_url, "v00/seg.m4s");
  ck_assert_msg(get(&f, dl, path, NULL, NOW) == STREAM_OK, "%s", msg());
  stream_delivery_file_clear(&f);
  for (size_t i = 1; i < 3; i++) {
    snprintf(rest, sizeof rest, "%s/seg.m4s", dirs[i]);
    path_for(path, sizeof path, u.hls_url, rest);
    ck_assert_msg(get(&f, dl, path, NULL, NOW) == STREAM_EFORBIDDEN, "served %s", dirs[i]);
    ck_assert_int_eq(f.reason, STREAM_DELIVERY_ABOVE_CAP);
    ck_assert_int_eq(f.fd, -1);
  }
  stream_delivery_urls_clear(&u);
}
END_TEST

/* Every one of these, appended after a valid token, must be refused. */
static const char *const traversal[] = {
    "../a1/master.m3u8",
    "v360p_365/../v720p_3000/seg_00001.m4s",
    "./master.m3u8",
    "%2e%2e/%2e%2e/etc/passwd",
    "%2E%2E/master.m3u8",
    ".%2e/master.m3u8",
    "v360p_365%2f..%2fmaster.m3u8",
    "master.m3u8%00.jpg",
    "v360p_365\\..\\master.m3u8",
    "..\\master.m3u8",
    "v360p_365//seg_00001.m4s",
    "",
    "v360p_365/",
    ".hidden",
    "summary.json",
    "evil/passwd",
    "v360p_365/link.m4s",
    "ln/seg.m4s",
    "v360p_365/seg_00009.m4s.tmp",
    "master.m3u8?x=1",
    "master.m3u8#f",
    "mas ter.m3u8",
    "m\xc3\xa4ster.m3u8",
    "master.m3u8\t",
    "v360p_365/seg_00001.m4s/..",
    "%252e%252e/master.m3u8",
    "....//master.m3u8",
    "a/b/c/d/e.m4s",
};

START_TEST(test_traversal)
{
  stream_delivery_urls u;
  ck_assert_int_eq(stream_delivery_sign(&u, dl, ASSET, 0, NOW + 60, NULL), STREAM_OK);
  char path[2048];
  stream_delivery_file f;
  path_for(path, sizeof path, u.hls_url, traversal[_i]);
  int rc = get(&f, dl, path, NULL, NOW);
  ck_assert_msg(rc != STREAM_OK, "served %s", traversal[_i]);
  ck_assert_int_eq(f.fd, -1);
  ck_assert_msg(f.reason == STREAM_DELIVERY_BAD_PATH || f.reason == STREAM_DELIVERY_NOT_FOUND,
                "%s: reason %d", traversal[_i], f.reason);
  stream_delivery_urls_clear(&u);
}
END_TEST

START_TEST(test_bad_prefix_paths)
{
  stream_delivery_file f;
  const char *bad[] = {"/v1/media/",         "/v1/media/a1",
                       "/v1/media/a1/",      "/v1/media/a1/720/x",
                       "/v1/media/a1/h07/x", "/v1/media/a1/h99999/x",
                       "/v1/media/../h0/x",  "/v1/media/escape/h0/outside/seg.m4s",
                       "/v1/mediax/a1/h0/x", "/v2/media/a1/h0/x",
                       "/v1/media/a.1/h0/x", "/v1/media/a1/hx/x"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ck_assert_int_ne(get(&f, dl, bad[i], NULL, NOW), STREAM_OK);
    ck_assert_int_eq(f.fd, -1);
  }
  /* A valid token for the asset "escape" (a symlink out of the root): still no file. */
  stream_delivery_urls u;
  ck_assert_int_eq(stream_delivery_sign(&u, dl, "escape", 0, NOW + 60, NULL), STREAM_OK);
  char path[2048];
  path_for(path, sizeof path, u.hls_url, "outside/seg.m4s");
  ck_assert_int_eq(get(&f, dl, path, NULL, NOW), STREAM_ENOTFOUND);
  ck_assert_int_eq(f.reason, STREAM_DELIVERY_NOT_FOUND);
  stream_delivery_urls_clear(&u);
  /* Method. */
  stream_delivery_request r = STREAM_DELIVERY_REQUEST_INIT;
  r.method = "POST";
  r.path = "/v1/media/a1/h0/master.m3u8";
  ck_assert_int_eq(stream_delivery_open(&f, dl, &r), STREAM_ENOTSUP);
  ck_assert_int_eq(f.reason, STREAM_DELIVERY_METHOD);
  r.version = 99;
  ck_assert_int_eq(stream_delivery_open(&f, dl, &r), STREAM_EINVAL);
  ck_assert_int_eq(stream_delivery_open(NULL, dl, &r), STREAM_EINVAL);
  ck_assert_int_eq(stream_delivery_open(&f, NULL, &r), STREAM_EINVAL);
}
END_TEST

START_TEST(test_native_cookie)
{
  stream_delivery *d = new_handle(STREAM_DELIVERY_NATIVE_COOKIE, ring);
  stream_delivery_urls u;
  ck_assert_int_eq(stream_delivery_sign(&u, d, ASSET, 360, NOW + 600, NULL), STREAM_OK);
  ck_assert_str_eq(u.hls_url, BASE "/v1/media/a1/h360/master.m3u8");
  ck_assert_str_eq(u.dash_url, BASE "/v1/media/a1/h360/manifest.mpd");
  ck_assert_ptr_nonnull(u.cookie);
  ck_assert_int_eq(strncmp(u.cookie, "Stream-Cookie=URLPrefix=", 24), 0);
  ck_assert_ptr_nonnull(strstr(u.cookie, "; Path=/v1/media/a1/h360/;"));
  ck_assert_ptr_nonnull(strstr(u.cookie, "HttpOnly"));
  /* The Cookie header a browser sends back: name=value, among others. */
  char cookie[2048];
  size_t nv = strcspn(u.cookie, ";");
  snprintf(cookie, sizeof cookie, "theme=dark; %.*s; other=1", (int)nv, u.cookie);
  stream_delivery_file f;
  ck_assert_msg(get(&f, d, "/v1/media/a1/h360/v360p_365/seg_00001.m4s", cookie, NOW) == STREAM_OK,
                "%s", msg());
  ck_assert_int_eq(f.via_cookie, 1);
  stream_delivery_file_clear(&f);
  ck_assert_int_eq(get(&f, d, "/v1/media/a1/h360/v720p_3000/seg_00001.m4s", cookie, NOW),
                   STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.reason, STREAM_DELIVERY_ABOVE_CAP);
  /* The cookie of the h360 prefix does not open h720 or another asset. */
  ck_assert_int_eq(get(&f, d, "/v1/media/a1/h720/v720p_3000/seg_00001.m4s", cookie, NOW),
                   STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.reason, STREAM_DELIVERY_SIGNATURE);
  ck_assert_int_eq(get(&f, d, "/v1/media/a1/h0/master.m3u8", cookie, NOW), STREAM_EFORBIDDEN);
  ck_assert_int_eq(get(&f, d, "/v1/media/a1/h360/master.m3u8", cookie, NOW + 600), STREAM_EEXPIRED);
  ck_assert_int_eq(get(&f, d, "/v1/media/a1/h360/master.m3u8", "theme=dark", NOW),
                   STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_MISSING);
  stream_delivery_urls_clear(&u);
  stream_delivery_free(d);
}
END_TEST

START_TEST(test_cloudcdn_format)
{
  unsigned char secret[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  stream_key *k = NULL;
  ck_assert_int_eq(stream_key_from_bytes(&k, STREAM_KEY_HMAC, "cdn-key", secret, 16), STREAM_OK);
  stream_keyring *r = ring_of(k);
  stream_delivery *d = new_handle(STREAM_DELIVERY_CLOUDCDN, r);
  stream_delivery_urls u;
  ck_assert_msg(stream_delivery_sign(&u, d, ASSET, 360, NOW + 600, NULL) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(strncmp(u.cookie, "Cloud-CDN-Cookie=URLPrefix=", 27), 0);
  char cookie[2048];
  snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn(u.cookie, ";"), u.cookie);
  stream_delivery_file f;
  ck_assert_msg(get(&f, d, "/v1/media/a1/h360/v360p_365/seg_00001.m4s", cookie, NOW) == STREAM_OK,
                "%s", msg());
  stream_delivery_file_clear(&f);
  ck_assert_int_eq(get(&f, d, "/v1/media/a1/h720/v720p_3000/seg_00001.m4s", cookie, NOW),
                   STREAM_EFORBIDDEN);
  /* The query URL-prefix form of the same prefix. */
  char *q = NULL;
  stream_google_sign_options go = STREAM_GOOGLE_SIGN_OPTIONS_INIT;
  go.expires = NOW + 600;
  ck_assert_int_eq(stream_cloudcdn_sign_prefix(&q, k, NULL, BASE "/v1/media/a1/h360/", &go),
                   STREAM_OK);
  stream_delivery_request rq = STREAM_DELIVERY_REQUEST_INIT;
  rq.method = "HEAD";
  rq.path = "/v1/media/a1/h360/v360p_365/init.mp4";
  rq.query = q;
  rq.now = NOW;
  ck_assert_msg(stream_delivery_open(&f, d, &rq) == STREAM_OK, "%s", msg());
  stream_delivery_file_clear(&f);
  rq.path = "/v1/media/a1/h720/v720p_3000/init.mp4";
  ck_assert_int_eq(stream_delivery_open(&f, d, &rq), STREAM_EFORBIDDEN);
  stream_free(q);
  stream_key_free(k);
  stream_delivery_urls_clear(&u);
  stream_delivery_free(d);
  stream_keyring_free(r);
}
END_TEST

START_TEST(test_mediacdn_format)
{
  stream_key *k = NULL;
  ck_assert_int_eq(stream_key_generate(&k, STREAM_KEY_ED25519_PRIVATE, "edge-key", 0), STREAM_OK);
  stream_keyring *r = ring_of(k);
  stream_key_free(k);
  stream_delivery *d = new_handle(STREAM_DELIVERY_MEDIACDN, r);
  stream_delivery_urls u;
  ck_assert_msg(stream_delivery_sign(&u, d, ASSET, 360, NOW + 600, NULL) == STREAM_OK, "%s", msg());
  ck_assert_ptr_nonnull(strstr(u.hls_url, "/h360/edge-cache-token=Expires="));
  char path[2048];
  stream_delivery_file f;
  path_for(path, sizeof path, u.hls_url, "v360p_365/seg_00001.m4s");
  ck_assert_msg(get(&f, d, path, NULL, NOW) == STREAM_OK, "%s", msg());
  stream_delivery_file_clear(&f);
  path_for(path, sizeof path, u.hls_url, "v720p_3000/seg_00001.m4s");
  ck_assert_int_eq(get(&f, d, path, NULL, NOW), STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.reason, STREAM_DELIVERY_ABOVE_CAP);
  stream_delivery_urls_clear(&u);
  stream_delivery_free(d);
  stream_keyring_free(r);
}
END_TEST

/* The Cookie header a browser sends back for Set-Cookie lines: "name=value; name=value". */
static void cookie_header(char *out, size_t n, const char *lines, const char *extra)
{
  size_t w = (size_t)snprintf(out, n, "%s", extra ? extra : "");
  for (const char *l = lines; *l;) {
    size_t nv = strcspn(l, ";\n");
    w += (size_t)snprintf(out + w, n - w, "%s%.*s", w ? "; " : "", (int)nv, l);
    ck_assert_uint_lt(w, n);
    const char *e = strchr(l, '\n');
    l = e ? e + 1 : l + strlen(l);
  }
}

static int get_ip(stream_delivery_file *f, stream_delivery *d, const char *path, const char *cookie,
                  const char *ip)
{
  stream_delivery_request r = STREAM_DELIVERY_REQUEST_INIT;
  r.method = "GET";
  r.path = path;
  r.cookie = cookie;
  r.client_ip = ip;
  r.now = NOW;
  return stream_delivery_open(f, d, &r);
}

START_TEST(test_cloudfront_format)
{
  stream_key *k = NULL;
  ck_assert_int_eq(stream_key_generate(&k, _i ? STREAM_KEY_EC_PRIVATE : STREAM_KEY_RSA_PRIVATE,
                                       "K2JCJMDEHXQW5F", 0),
                   STREAM_OK);
  stream_keyring *r = ring_of(k);
  stream_delivery *d = new_handle(STREAM_DELIVERY_CLOUDFRONT, r);
  stream_delivery_urls u;
  ck_assert_msg(stream_delivery_sign(&u, d, ASSET, 360, NOW + 600, NULL) == STREAM_OK, "%s", msg());
  ck_assert_str_eq(u.hls_url, BASE "/v1/media/a1/h360/master.m3u8");
  ck_assert_str_eq(u.dash_url, BASE "/v1/media/a1/h360/manifest.mpd");
  /* Three Set-Cookie values, one per line, the AWS SDK's names, each with the delivery's
   * attributes. */
  const char *names[] = {"CloudFront-Policy=", "CloudFront-Signature=", "CloudFront-Key-Pair-Id="};
  const char *l = u.cookie;
  for (int i = 0; i < 3; i++) {
    ck_assert_msg(strncmp(l, names[i], strlen(names[i])) == 0, "line %d: %s", i, l);
    const char *e = strchr(l, '\n');
    size_t n = e ? (size_t)(e - l) : strlen(l);
    char line[2048];
    snprintf(line, sizeof line, "%.*s", (int)n, l);
    ck_assert_ptr_nonnull(strstr(line, "; Path=/v1/media/a1/h360/; Max-Age="));
    ck_assert_ptr_nonnull(strstr(line, "; HttpOnly; SameSite=Lax"));
    l = e ? e + 1 : l + n;
    ck_assert_int_eq(e == NULL, i == 2);
  }
  ck_assert_ptr_nonnull(strstr(u.cookie, "CloudFront-Key-Pair-Id=K2JCJMDEHXQW5F;"));
  char cookie[8192];
  cookie_header(cookie, sizeof cookie, u.cookie, "theme=dark");
  stream_delivery_file f;
  ck_assert_msg(get(&f, d, "/v1/media/a1/h360/v360p_365/seg_00001.m4s", cookie, NOW) == STREAM_OK,
                "%s", msg());
  ck_assert_int_eq(f.via_cookie, 1);
  ck_assert_int_eq(f.expires, NOW + 600);
  stream_delivery_file_clear(&f);
  ck_assert_msg(get(&f, d, "/v1/media/a1/h360/master.m3u8", cookie, NOW) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(f.kind, STREAM_DELIVERY_KIND_MASTER);
  stream_delivery_file_clear(&f);
  /* Above the cap, another cap, another asset, expired. */
  ck_assert_int_eq(get(&f, d, "/v1/media/a1/h360/v720p_3000/seg_00001.m4s", cookie, NOW),
                   STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.reason, STREAM_DELIVERY_ABOVE_CAP);
  ck_assert_int_eq(get(&f, d, "/v1/media/a1/h720/v720p_3000/seg_00001.m4s", cookie, NOW),
                   STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.reason, STREAM_DELIVERY_SIGNATURE);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_OUTSIDE_PREFIX);
  ck_assert_int_eq(get(&f, d, "/v1/media/a1/h0/master.m3u8", cookie, NOW), STREAM_EFORBIDDEN);
  ck_assert_int_eq(get(&f, d, "/v1/media/a2/h360/master.m3u8", cookie, NOW), STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_OUTSIDE_PREFIX);
  ck_assert_int_eq(get(&f, d, "/v1/media/a1/h360/master.m3u8", cookie, NOW + 600), STREAM_EEXPIRED);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_EXPIRED);
  /* Tampered signature; tampered policy (another cap written into it). */
  char bad[8192];
  snprintf(bad, sizeof bad, "%s", cookie);
  char *sig = strstr(bad, "CloudFront-Signature=") + strlen("CloudFront-Signature=");
  sig[5] = sig[5] == 'A' ? 'B' : 'A';
  ck_assert_int_eq(get(&f, d, "/v1/media/a1/h360/master.m3u8", bad, NOW), STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_BAD_SIGNATURE);
  char *wide = NULL;
  stream_cloudfront_sign_options co = STREAM_CLOUDFRONT_SIGN_OPTIONS_INIT;
  co.expires = NOW + 600;
  ck_assert_int_eq(stream_cloudfront_sign_cookies(&wide, k, BASE "/v1/media/a1/h720/*", &co),
                   STREAM_OK);
  /* the h720 policy with the h360 signature */
  snprintf(bad, sizeof bad, "%.*s; %s", (int)strcspn(wide, "\n"), wide,
           strstr(cookie, "CloudFront-Signature="));
  ck_assert_int_eq(get(&f, d, "/v1/media/a1/h720/master.m3u8", bad, NOW), STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_BAD_SIGNATURE);
  stream_free(wide);
  /* Missing cookies. */
  ck_assert_int_eq(get(&f, d, "/v1/media/a1/h360/master.m3u8", NULL, NOW), STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_MISSING);
  ck_assert_int_eq(get(&f, d, "/v1/media/a1/h360/master.m3u8", "theme=dark", NOW),
                   STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_MISSING);
  snprintf(bad, sizeof bad, "%s", cookie);
  *strstr(bad, "; CloudFront-Signature=") = '\0';
  ck_assert_int_eq(get(&f, d, "/v1/media/a1/h360/master.m3u8", bad, NOW), STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_MISSING);
  /* A validly signed policy over a wider Resource (every cap of the asset, every asset) or a
   * canned policy is not a session's: the signed resource must be exactly the prefix. */
  static const char *const wider[] = {BASE "/v1/media/a1/h*", BASE "/v1/media/a1/*",
                                      BASE "/v1/media/*", BASE "/v1/media/a1/h720/*?"};
  for (size_t i = 0; i < sizeof wider / sizeof wider[0]; i++) {
    ck_assert_int_eq(stream_cloudfront_sign_cookies(&wide, k, wider[i], &co), STREAM_OK);
    cookie_header(bad, sizeof bad, wide, NULL);
    ck_assert_int_eq(get(&f, d, "/v1/media/a1/h720/v720p_3000/seg_00001.m4s", bad, NOW),
                     STREAM_EFORBIDDEN);
    ck_assert_int_eq(f.reason, STREAM_DELIVERY_SIGNATURE);
    ck_assert_int_eq(f.sign_reason, STREAM_SIGN_OUTSIDE_PREFIX);
    stream_free(wide);
  }
  ck_assert_int_eq(
      stream_cloudfront_sign_cookies(&wide, k, BASE "/v1/media/a1/h720/master.m3u8", &co),
      STREAM_OK);
  ck_assert_int_eq(strncmp(wide, "CloudFront-Expires=", 19), 0); /* canned */
  cookie_header(bad, sizeof bad, wide, NULL);
  ck_assert_int_eq(get(&f, d, "/v1/media/a1/h720/master.m3u8", bad, NOW), STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_OUTSIDE_PREFIX);
  stream_free(wide);
  /* The h720 session's own cookies open h720 (the check above is not a blanket refusal). */
  stream_delivery_urls u720;
  ck_assert_int_eq(stream_delivery_sign(&u720, d, ASSET, 720, NOW + 600, NULL), STREAM_OK);
  cookie_header(bad, sizeof bad, u720.cookie, NULL);
  ck_assert_msg(get(&f, d, "/v1/media/a1/h720/v720p_3000/seg_00001.m4s", bad, NOW) == STREAM_OK,
                "%s", msg());
  stream_delivery_file_clear(&f);
  /* Two cookie sets in one Cookie header (only when cookies of another Path also match the
   * request, e.g. a parent path's): a CloudFront cookie given twice is refused as malformed. */
  char two[16384];
  cookie_header(two, sizeof two, u720.cookie, cookie);
  ck_assert_int_eq(get(&f, d, "/v1/media/a1/h360/master.m3u8", two, NOW), STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_MALFORMED);
  stream_delivery_urls_clear(&u720);
  /* An IPv4 client binds as <ip>/32; IPv6 is refused (CloudFront policies hold IPv4 only). */
  stream_delivery_urls_clear(&u);
  ck_assert_msg(stream_delivery_sign(&u, d, ASSET, 360, NOW + 600, "203.0.113.7") == STREAM_OK,
                "%s", msg());
  cookie_header(cookie, sizeof cookie, u.cookie, NULL);
  ck_assert_msg(get_ip(&f, d, "/v1/media/a1/h360/master.m3u8", cookie, "203.0.113.7") == STREAM_OK,
                "%s", msg());
  stream_delivery_file_clear(&f);
  ck_assert_int_eq(get_ip(&f, d, "/v1/media/a1/h360/master.m3u8", cookie, "::ffff:203.0.113.7"),
                   STREAM_OK);
  stream_delivery_file_clear(&f);
  ck_assert_int_eq(get_ip(&f, d, "/v1/media/a1/h360/master.m3u8", cookie, "203.0.113.8"),
                   STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_IP_MISMATCH);
  ck_assert_int_eq(get_ip(&f, d, "/v1/media/a1/h360/master.m3u8", cookie, NULL), STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_IP_MISMATCH);
  stream_delivery_urls_clear(&u);
  ck_assert_int_eq(stream_delivery_sign(&u, d, ASSET, 360, NOW + 600, "2001:db8::1"),
                   STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "IPv4"));
  ck_assert_int_eq(stream_delivery_sign(&u, d, ASSET, 360, NOW + 600, "not-an-ip"), STREAM_EINVAL);
  stream_key_free(k);
  stream_delivery_free(d);
  /* A key CloudFront cannot use (HMAC) fails at signing. */
  d = new_handle(STREAM_DELIVERY_CLOUDFRONT, ring);
  ck_assert_int_eq(stream_delivery_sign(&u, d, ASSET, 360, NOW + 600, NULL), STREAM_EINVAL);
  ck_assert_ptr_null(u.cookie);
  stream_delivery_free(d);
  stream_keyring_free(r);
}
END_TEST

START_TEST(test_cloudfront_sha256)
{
  stream_key *k = NULL;
  ck_assert_int_eq(stream_key_generate(&k, STREAM_KEY_RSA_PRIVATE, "KSHA256", 0), STREAM_OK);
  stream_keyring *r = ring_of(k);
  stream_key_free(k);
  stream_delivery_options o = STREAM_DELIVERY_OPTIONS_INIT;
  o.base_url = BASE;
  o.media_root = media_root;
  o.keys = r;
  o.format = STREAM_DELIVERY_CLOUDFRONT;
  o.cloudfront_hash = STREAM_CLOUDFRONT_SHA256;
  stream_delivery *d = NULL;
  ck_assert_msg(stream_delivery_new(&d, &o) == STREAM_OK, "%s", msg());
  stream_delivery_urls u;
  ck_assert_msg(stream_delivery_sign(&u, d, ASSET, 360, NOW + 600, NULL) == STREAM_OK, "%s", msg());
  /* Four Set-Cookie lines, the last CloudFront-Hash-Algorithm=SHA256. */
  int lines = 1;
  for (const char *c = u.cookie; *c; c++)
    lines += *c == '\n';
  ck_assert_int_eq(lines, 4);
  ck_assert_ptr_nonnull(
      strstr(u.cookie, "\nCloudFront-Hash-Algorithm=SHA256; Path=/v1/media/a1/h360/;"));
  char cookie[8192];
  cookie_header(cookie, sizeof cookie, u.cookie, NULL);
  stream_delivery_file f;
  ck_assert_msg(get(&f, d, "/v1/media/a1/h360/master.m3u8", cookie, NOW) == STREAM_OK, "%s", msg());
  stream_delivery_file_clear(&f);
  /* Without the algorithm cookie the signature is checked as SHA-1 and fails. */
  *strstr(cookie, "; CloudFront-Hash-Algorithm=") = '\0';
  ck_assert_int_eq(get(&f, d, "/v1/media/a1/h360/master.m3u8", cookie, NOW), STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_BAD_SIGNATURE);
  stream_delivery_urls_clear(&u);
  stream_delivery_free(d);
  stream_keyring_free(r);
}
END_TEST

START_TEST(test_etag)
{
  stream_delivery_urls u;
  ck_assert_int_eq(stream_delivery_sign(&u, dl, ASSET, 0, NOW + 60, NULL), STREAM_OK);
  char path[2048];
  stream_delivery_file f;
  path_for(path, sizeof path, u.hls_url, "v360p_365/seg_00001.m4s");
  ck_assert_int_eq(get(&f, dl, path, NULL, NOW), STREAM_OK);
  char e1[64];
  snprintf(e1, sizeof e1, "%s", f.etag);
  ck_assert_int_eq(e1[0], '"');
  ck_assert_int_eq(e1[strlen(e1) - 1], '"');
  struct stat st;
  ck_assert_int_eq(fstat(f.fd, &st), 0);
  ck_assert_int_eq(f.size, (uint64_t)st.st_size);
  ck_assert_int_eq(f.mtime, st.st_mtim.tv_sec);
  stream_delivery_file_clear(&f);
  ck_assert_int_eq(get(&f, dl, path, NULL, NOW), STREAM_OK);
  ck_assert_str_eq(f.etag, e1); /* stable */
  stream_delivery_file_clear(&f);
  /* Another file has another tag; a touched file gets a new one. */
  path_for(path, sizeof path, u.hls_url, "v360p_365/init.mp4");
  ck_assert_int_eq(get(&f, dl, path, NULL, NOW), STREAM_OK);
  ck_assert_str_ne(f.etag, e1);
  char e2[64];
  snprintf(e2, sizeof e2, "%s", f.etag);
  struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
  stream_delivery_file_clear(&f);
  char file[600];
  snprintf(file, sizeof file, "%s/%s/v360p_365/init.mp4", media_root, ASSET);
  ck_assert_int_eq(utimensat(AT_FDCWD, file, ts, 0), 0);
  ck_assert_int_eq(get(&f, dl, path, NULL, NOW), STREAM_OK);
  ck_assert_str_ne(f.etag, e2);
  ck_assert_int_eq(f.mtime, 1000000000);
  stream_delivery_file_clear(&f);
  stream_delivery_urls_clear(&u);
}
END_TEST

START_TEST(test_mime)
{
  ck_assert_str_eq(stream_delivery_mime_type("master.m3u8"), "application/vnd.apple.mpegurl");
  ck_assert_str_eq(stream_delivery_mime_type("a/manifest.mpd"), "application/dash+xml");
  ck_assert_str_eq(stream_delivery_mime_type("v/seg_00001.m4s"), "video/iso.segment");
  ck_assert_str_eq(stream_delivery_mime_type("v/init.mp4"), "video/mp4");
  ck_assert_str_eq(stream_delivery_mime_type("a.m4a"), "audio/mp4");
  ck_assert_str_eq(stream_delivery_mime_type("thumbnails.vtt"), "text/vtt");
  ck_assert_str_eq(stream_delivery_mime_type("sprites/sprite_000.jpg"), "image/jpeg");
  ck_assert_str_eq(stream_delivery_mime_type("POSTER.JPG"), "image/jpeg");
  ck_assert_str_eq(stream_delivery_mime_type("x.bin"), "application/octet-stream");
  ck_assert_str_eq(stream_delivery_mime_type("m3u8"), "application/octet-stream");
  ck_assert_str_eq(stream_delivery_mime_type("a.m3u8/x"), "application/octet-stream");
  ck_assert_str_eq(stream_delivery_mime_type(NULL), "application/octet-stream");
  ck_assert_str_eq(stream_delivery_reason_str(STREAM_DELIVERY_ABOVE_CAP),
                   "rendition above the signed cap");
  ck_assert_str_eq(stream_delivery_reason_str(77), "unknown reason");
}
END_TEST

START_TEST(test_filters)
{
  const char *hls =
      "#EXTM3U\n#EXT-X-VERSION:7\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS=\"avc1,mp4a\",RESOLUTION=1920x1080\n"
      "v1080/index.m3u8\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=2,RESOLUTION=1280x720\r\n"
      "v720/index.m3u8\r\n"
      "#EXT-X-STREAM-INF:BANDWIDTH=3,CODECS=\"RESOLUTION=9x9999\",RESOLUTION=640x360\n"
      "\n"
      "v360/index.m3u8\n"
      "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=4,RESOLUTION=1920x1080,URI=\"v1080/i\"\n"
      "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=5,RESOLUTION=640x360,URI=\"v360/i\"\n";
  char *out = NULL;
  ck_assert_int_eq(stream_delivery_filter_hls(&out, hls, 720), STREAM_OK);
  ck_assert_str_eq(out,
                   "#EXTM3U\n#EXT-X-VERSION:7\n"
                   "#EXT-X-STREAM-INF:BANDWIDTH=2,RESOLUTION=1280x720\r\n"
                   "v720/index.m3u8\r\n"
                   "#EXT-X-STREAM-INF:BANDWIDTH=3,CODECS=\"RESOLUTION=9x9999\",RESOLUTION=640x360\n"
                   "\n"
                   "v360/index.m3u8\n"
                   "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=5,RESOLUTION=640x360,URI=\"v360/i\"\n");
  stream_free(out);
  ck_assert_int_eq(stream_delivery_filter_hls(&out, hls, 0), STREAM_OK);
  ck_assert_str_eq(out, hls);
  stream_free(out);
  ck_assert_int_eq(stream_delivery_filter_hls(&out, "<MPD/>", 720), STREAM_EINVAL);
  ck_assert_int_eq(stream_delivery_filter_hls(&out, hls, -1), STREAM_EINVAL);
  ck_assert_int_eq(stream_delivery_filter_hls(NULL, hls, 1), STREAM_EINVAL);
  const char *mpd = "<MPD>\n<Period>\n"
                    "  <AdaptationSet id=\"0\" maxWidth=\"1920\" maxHeight=\"1080\">\n"
                    "    <Representation id=\"a\" width=\"1920\" height=\"1080\">\n"
                    "      <SegmentTemplate/>\n    </Representation>\n"
                    "    <Representation id=\"b\" width=\"1280\" height=\"720\"/>\n"
                    "  </AdaptationSet>\n"
                    "  <AdaptationSet id=\"1\" lang=\"en\">\n"
                    "    <Representation id=\"aud\" bandwidth=\"1\"/>\n"
                    "  </AdaptationSet>\n"
                    "</Period>\n</MPD>\n";
  ck_assert_int_eq(stream_delivery_filter_dash(&out, mpd, 720), STREAM_OK);
  ck_assert_str_eq(out, "<MPD>\n<Period>\n"
                        "  <AdaptationSet id=\"0\" maxWidth=\"1280\" maxHeight=\"720\">\n"
                        "    <Representation id=\"b\" width=\"1280\" height=\"720\"/>\n"
                        "  </AdaptationSet>\n"
                        "  <AdaptationSet id=\"1\" lang=\"en\">\n"
                        "    <Representation id=\"aud\" bandwidth=\"1\"/>\n"
                        "  </AdaptationSet>\n"
                        "</Period>\n</MPD>\n");
  stream_free(out);
  /* A cap below every video rendition drops the whole video set. */
  ck_assert_int_eq(stream_delivery_filter_dash(&out, mpd, 480), STREAM_OK);
  ck_assert_ptr_null(strstr(out, "AdaptationSet id=\"0\""));
  ck_assert_ptr_nonnull(strstr(out, "id=\"aud\""));
  stream_free(out);
  ck_assert_int_eq(stream_delivery_filter_dash(&out, mpd, 0), STREAM_OK);
  ck_assert_str_eq(out, mpd);
  stream_free(out);
  ck_assert_int_eq(stream_delivery_filter_dash(&out, "#EXTM3U", 0), STREAM_EINVAL);
}
END_TEST

START_TEST(test_args)
{
  stream_delivery *d = NULL;
  stream_delivery_options o = STREAM_DELIVERY_OPTIONS_INIT;
  o.keys = ring;
  const char *bad_urls[] = {NULL,         "",           "ftp://x",
                            "http://",    "http://h/",  "http://h/path",
                            "http://h?x", "http://u@h", "https://h#f"};
  for (size_t i = 0; i < sizeof bad_urls / sizeof bad_urls[0]; i++) {
    o.base_url = bad_urls[i];
    ck_assert_int_eq(stream_delivery_new(&d, &o), STREAM_EINVAL);
    ck_assert_ptr_null(d);
  }
  o.base_url = "https://cdn.example.com:8443";
  o.format = 9;
  ck_assert_int_eq(stream_delivery_new(&d, &o), STREAM_EINVAL);
  o.format = 0;
  o.leeway = 4000;
  ck_assert_int_eq(stream_delivery_new(&d, &o), STREAM_EINVAL);
  o.leeway = 0;
  o.keys = NULL;
  ck_assert_int_eq(stream_delivery_new(&d, &o), STREAM_EINVAL);
  o.keys = ring;
  o.version = 7;
  ck_assert_int_eq(stream_delivery_new(&d, &o), STREAM_EINVAL);
  o.version = 0;
  ck_assert_int_eq(stream_delivery_new(&d, &o), STREAM_EINVAL);
  o.version = STREAM_DELIVERY_OPTIONS_VERSION;
  o.cloudfront_hash = 9;
  ck_assert_int_eq(stream_delivery_new(&d, &o), STREAM_EINVAL);
  /* A version 1 struct ends before cloudfront_hash: the field is not read. */
  o.version = 1;
  ck_assert_msg(stream_delivery_new(&d, &o) == STREAM_OK, "%s", msg());
  stream_delivery_free(d);
  d = NULL;
  o.version = STREAM_DELIVERY_OPTIONS_VERSION;
  o.cloudfront_hash = 0;
  ck_assert_int_eq(stream_delivery_new(NULL, &o), STREAM_EINVAL);
  stream_delivery_urls u;
  const char *bad_ids[] = {"", "a/b", "..", "a.b", "a b", "%41"};
  for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++)
    ck_assert_int_eq(stream_delivery_sign(&u, dl, bad_ids[i], 0, NOW, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_delivery_sign(&u, dl, ASSET, -1, NOW, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_delivery_sign(&u, dl, ASSET, 9000, NOW, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_delivery_sign(&u, dl, ASSET, 0, 0, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_delivery_sign(&u, dl, NULL, 0, NOW, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_delivery_sign(NULL, dl, ASSET, 0, NOW, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_delivery_sign(&u, dl, ASSET, 0, NOW, "not-an-ip"), STREAM_EINVAL);
  ck_assert_ptr_null(u.prefix);
  /* Bound to a client address: only that address may use it. */
  ck_assert_int_eq(stream_delivery_sign(&u, dl, ASSET, 0, NOW + 60, "203.0.113.7"), STREAM_OK);
  char path[2048];
  path_for(path, sizeof path, u.hls_url, "master.m3u8");
  stream_delivery_request r = STREAM_DELIVERY_REQUEST_INIT;
  r.method = "GET";
  r.path = path;
  r.now = NOW;
  r.client_ip = "203.0.113.7";
  stream_delivery_file f;
  ck_assert_int_eq(stream_delivery_open(&f, dl, &r), STREAM_OK);
  stream_delivery_file_clear(&f);
  r.client_ip = "203.0.113.8";
  ck_assert_int_eq(stream_delivery_open(&f, dl, &r), STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.sign_reason, STREAM_SIGN_IP_MISMATCH);
  stream_delivery_urls_clear(&u);
  stream_delivery_free(NULL);
  stream_delivery_file_clear(NULL);
}
END_TEST

/* A handle whose media root did not exist when it was created keeps no root fd and takes the
 * component walk (as on kernels without openat2): same answers as the fast path. */
START_TEST(test_walk_without_root_fd)
{
  char late[400];
  snprintf(late, sizeof late, "%s/late-root-%d", tmpdir, (int)getpid());
  stream_delivery_options o = STREAM_DELIVERY_OPTIONS_INIT;
  o.base_url = BASE;
  o.media_root = late;
  o.keys = ring;
  stream_delivery *d = NULL;
  ck_assert_msg(stream_delivery_new(&d, &o) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(symlink(media_root, late), 0);
  stream_delivery_urls u;
  ck_assert_int_eq(stream_delivery_sign(&u, d, ASSET, 360, NOW + 3600, NULL), STREAM_OK);
  char path[2048];
  stream_delivery_file f;
  path_for(path, sizeof path, u.hls_url, "v360p_365/seg_00001.m4s");
  ck_assert_msg(get(&f, d, path, NULL, NOW) == STREAM_OK, "%s", msg());
  ck_assert_int_ge(f.fd, 0);
  ck_assert_int_eq(f.kind, STREAM_DELIVERY_KIND_SEGMENT);
  stream_delivery_file_clear(&f);
  path_for(path, sizeof path, u.hls_url, "v720p_3000/seg_00001.m4s");
  ck_assert_int_eq(get(&f, d, path, NULL, NOW), STREAM_EFORBIDDEN);
  ck_assert_int_eq(f.reason, STREAM_DELIVERY_ABOVE_CAP);
  for (size_t i = 0; i < sizeof traversal / sizeof traversal[0]; i++) {
    path_for(path, sizeof path, u.hls_url, traversal[i]);
    ck_assert_msg(get(&f, d, path, NULL, NOW) != STREAM_OK, "served %s", traversal[i]);
    ck_assert_int_eq(f.fd, -1);
  }
  stream_delivery_urls_clear(&u);
  stream_delivery_free(d);
  unlink(late);
}
END_TEST

/* A CMCD query argument (CTA-5004; players append it to every media request, after any
 * signature) does not stop a signed request from verifying in any format, and a tampered
 * request with one still fails. */
#define CMCD_ARG "CMCD=bl%3D21300%2Cbr%3D365%2Cot%3Dv%2Csid%3D%22s-1%22%2Csu"

static int get_q(stream_delivery_file *f, stream_delivery *d, const char *path, const char *query,
                 const char *cookie)
{
  stream_delivery_request r = STREAM_DELIVERY_REQUEST_INIT;
  r.method = "GET";
  r.path = path;
  r.query = query;
  r.cookie = cookie;
  r.now = NOW;
  int rc = stream_delivery_open(f, d, &r);
  stream_delivery_file_clear(f);
  return rc;
}

START_TEST(test_cmcd_query_every_format)
{
  const char *seg = "/v1/media/a1/h360/v360p_365/seg_00001.m4s";
  char path[2048], q[4096];
  stream_delivery_file f;
  stream_delivery_urls u;
  /* Native path token: the signature is in the path; CMCD is the whole query. */
  ck_assert_int_eq(stream_delivery_sign(&u, dl, ASSET, 360, NOW + 600, NULL), STREAM_OK);
  path_for(path, sizeof path, u.hls_url, "v360p_365/seg_00001.m4s");
  ck_assert_msg(get_q(&f, dl, path, CMCD_ARG, NULL) == STREAM_OK, "%s", msg());
  ck_assert_msg(get_q(&f, dl, path, "x=1&" CMCD_ARG, NULL) == STREAM_OK, "%s", msg());
  char *tok = strstr(path, "Signature=") + 10;
  tok[3] = tok[3] == 'A' ? 'B' : 'A';
  ck_assert_int_eq(get_q(&f, dl, path, CMCD_ARG, NULL), STREAM_EFORBIDDEN);
  stream_delivery_urls_clear(&u);

  /* Native cookie: the URL is plain, the query is CMCD only. */
  stream_delivery *d = new_handle(STREAM_DELIVERY_NATIVE_COOKIE, ring);
  ck_assert_int_eq(stream_delivery_sign(&u, d, ASSET, 360, NOW + 600, NULL), STREAM_OK);
  char cookie[8192];
  snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn(u.cookie, ";"), u.cookie);
  ck_assert_msg(get_q(&f, d, seg, CMCD_ARG, cookie) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(get_q(&f, d, "/v1/media/a1/h720/v720p_3000/seg_00001.m4s", CMCD_ARG, cookie),
                   STREAM_EFORBIDDEN);
  stream_delivery_urls_clear(&u);
  stream_delivery_free(d);

  /* Cloud CDN: the signed URL prefix in the query, CMCD after Signature (as hls.js and dash.js
   * append it) or before URLPrefix; and the cookie form. */
  unsigned char secret[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
  stream_key *k = NULL;
  ck_assert_int_eq(stream_key_from_bytes(&k, STREAM_KEY_HMAC, "cdn-key", secret, 16), STREAM_OK);
  stream_keyring *r = ring_of(k);
  d = new_handle(STREAM_DELIVERY_CLOUDCDN, r);
  char *signed_q = NULL;
  stream_google_sign_options go = STREAM_GOOGLE_SIGN_OPTIONS_INIT;
  go.expires = NOW + 600;
  ck_assert_int_eq(stream_cloudcdn_sign_prefix(&signed_q, k, NULL, BASE "/v1/media/a1/h360/", &go),
                   STREAM_OK);
  ck_assert_msg(get_q(&f, d, seg, signed_q, NULL) == STREAM_OK, "%s", msg());
  snprintf(q, sizeof q, "%s&%s", signed_q, CMCD_ARG);
  ck_assert_msg(get_q(&f, d, seg, q, NULL) == STREAM_OK, "after Signature: %s", msg());
  snprintf(q, sizeof q, "%s&%s", CMCD_ARG, signed_q);
  ck_assert_msg(get_q(&f, d, seg, q, NULL) == STREAM_OK, "before URLPrefix: %s", msg());
  snprintf(q, sizeof q, "%s&CMCD=", signed_q);
  ck_assert_msg(get_q(&f, d, seg, q, NULL) == STREAM_OK, "empty CMCD: %s", msg());
  /* Only an argument named exactly CMCD is left out: another one after Signature still fails. */
  snprintf(q, sizeof q, "%s&CMCDx=1", signed_q);
  ck_assert_int_eq(get_q(&f, d, seg, q, NULL), STREAM_EFORBIDDEN);
  snprintf(q, sizeof q, "%s&cmcd=1", signed_q);
  ck_assert_int_eq(get_q(&f, d, seg, q, NULL), STREAM_EFORBIDDEN);
  /* Every argument named CMCD goes, with or without '=', wherever it stands (even between
   * KeyName and Signature: it is never signed, and the URL without it verifies on its own);
   * nothing else does: not a percent-encoded name (the query is taken as given; streamd
   * decodes names first), not "CMCD" inside another argument, not after ';' (no separator). */
  snprintf(q, sizeof q, "CMCD=a&%s&CMCD=b&CMCD", signed_q);
  ck_assert_msg(get_q(&f, d, seg, q, NULL) == STREAM_OK, "repeated: %s", msg());
  snprintf(q, sizeof q, "%.*s&CMCD=x%s", (int)(strstr(signed_q, "&Signature=") - signed_q),
           signed_q, strstr(signed_q, "&Signature="));
  ck_assert_msg(get_q(&f, d, seg, q, NULL) == STREAM_OK, "before Signature: %s", msg());
  static const char *const kept[] = {"&%43MCD=x", "&x=CMCD=1", ";CMCD=x", "#&CMCD=x"};
  for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
    snprintf(q, sizeof q, "%s%s", signed_q, kept[i]);
    ck_assert_msg(get_q(&f, d, seg, q, NULL) == STREAM_EFORBIDDEN, "%s", q);
  }
  /* Tampered: a flipped signature, another cap, with CMCD present. */
  snprintf(q, sizeof q, "%s&%s", signed_q, CMCD_ARG);
  char *sig = strstr(q, "Signature=") + 10;
  sig[2] = sig[2] == 'A' ? 'B' : 'A';
  ck_assert_int_eq(get_q(&f, d, seg, q, NULL), STREAM_EFORBIDDEN);
  snprintf(q, sizeof q, "%s&%s", signed_q, CMCD_ARG);
  ck_assert_int_eq(get_q(&f, d, "/v1/media/a1/h720/v720p_3000/seg_00001.m4s", q, NULL),
                   STREAM_EFORBIDDEN);
  /* CMCD cannot stand in for a signature: CMCD alone is refused. */
  ck_assert_int_eq(get_q(&f, d, seg, CMCD_ARG, NULL), STREAM_EFORBIDDEN);
  ck_assert_int_eq(stream_delivery_sign(&u, d, ASSET, 360, NOW + 600, NULL), STREAM_OK);
  snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn(u.cookie, ";"), u.cookie);
  ck_assert_msg(get_q(&f, d, seg, CMCD_ARG, cookie) == STREAM_OK, "%s", msg());
  stream_delivery_urls_clear(&u);
  stream_free(signed_q);
  stream_key_free(k);
  stream_delivery_free(d);
  stream_keyring_free(r);

  /* Media CDN: the signature is a path component. */
  ck_assert_int_eq(stream_key_generate(&k, STREAM_KEY_ED25519_PRIVATE, "edge-key", 0), STREAM_OK);
  r = ring_of(k);
  stream_key_free(k);
  d = new_handle(STREAM_DELIVERY_MEDIACDN, r);
  ck_assert_int_eq(stream_delivery_sign(&u, d, ASSET, 360, NOW + 600, NULL), STREAM_OK);
  path_for(path, sizeof path, u.hls_url, "v360p_365/seg_00001.m4s");
  ck_assert_msg(get_q(&f, d, path, CMCD_ARG, NULL) == STREAM_OK, "%s", msg());
  sig = strstr(path, "Signature=") + 10;
  sig[2] = sig[2] == 'A' ? 'B' : 'A';
  ck_assert_int_eq(get_q(&f, d, path, CMCD_ARG, NULL), STREAM_EFORBIDDEN);
  stream_delivery_urls_clear(&u);
  stream_delivery_free(d);
  stream_keyring_free(r);

  /* CloudFront signed cookies: the policy's Resource is the prefix and '*'. */
  ck_assert_int_eq(stream_key_generate(&k, STREAM_KEY_EC_PRIVATE, "K2JCJMDEHXQW5F", 0), STREAM_OK);
  r = ring_of(k);
  stream_key_free(k);
  d = new_handle(STREAM_DELIVERY_CLOUDFRONT, r);
  ck_assert_int_eq(stream_delivery_sign(&u, d, ASSET, 360, NOW + 600, NULL), STREAM_OK);
  cookie_header(cookie, sizeof cookie, u.cookie, NULL);
  ck_assert_msg(get_q(&f, d, seg, CMCD_ARG, cookie) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(get_q(&f, d, "/v1/media/a1/h720/v720p_3000/seg_00001.m4s", CMCD_ARG, cookie),
                   STREAM_EFORBIDDEN);
  stream_delivery_urls_clear(&u);
  stream_delivery_free(d);
  stream_keyring_free(r);
}
END_TEST

int main(void)
{
  make_asset();
  Suite *s = suite_create("delivery");
  TCase *tc = tcase_create("delivery");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_sign_path_token_and_open);
  tcase_add_test(tc, test_cap_enforced);
  tcase_add_test(tc, test_summary_hostile_heights);
  tcase_add_test(tc, test_summary_untracked_renditions);
  tcase_add_test(tc, test_uncapped_manifest_unchanged);
  tcase_add_test(tc, test_expired_and_tampered);
  tcase_add_loop_test(tc, test_traversal, 0, (int)(sizeof traversal / sizeof traversal[0]));
  tcase_add_test(tc, test_bad_prefix_paths);
  tcase_add_test(tc, test_native_cookie);
  tcase_add_test(tc, test_cloudcdn_format);
  tcase_add_test(tc, test_mediacdn_format);
  tcase_add_loop_test(tc, test_cloudfront_format, 0, 2); /* RSA, EC P-256 */
  tcase_add_test(tc, test_cloudfront_sha256);
  tcase_add_test(tc, test_etag);
  tcase_add_test(tc, test_mime);
  tcase_add_test(tc, test_filters);
  tcase_add_test(tc, test_args);
  tcase_add_test(tc, test_walk_without_root_fd);
  tcase_add_test(tc, test_cmcd_query_every_format);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  remove_asset();
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
