/*
 * Fuzz target: the origin's request check, stream_delivery_open() (server
 * feature): the request path /v1/media/<asset>/h<cap>/[token/]<rel>, the
 * query (Cloud CDN signed prefix) and the Cookie header, over a real media
 * root made once in $TMPDIR: asset a1 with a summary.json (720p and 360p
 * renditions, audio, thumbnails, subtitles) plus hostile extras (a symlink
 * out of the root, a symlink to summary.json, a FIFO, a hidden file, a .tmp
 * file), asset a2 without summary (heights from the directory names), and a3,
 * a symlink to a directory outside the root.
 *
 * The first byte picks the mode, the rest is '\n'-separated fields
 * path \n query \n cookie \n client_ip:
 *   bits 0-1: the handle's format (native path, native cookie, Cloud CDN,
 *             Media CDN; one key ring: k1, cdn-key, edge-key)
 *   bits 2-3: method GET, HEAD, POST, ""
 *   bit 4:    client_ip from the input (else NULL)
 *   bit 5:    query NULL     bit 6: cookie NULL
 *   bit 7:    now one hour after the seeds' Expires (else the seeds' now)
 *   bits 5 and 6 both set: a second byte follows (before the path), whose
 *             bits say instead: bit 0 query NULL, bit 1 cookie NULL, bit 2
 *             the CloudFront handle (signed cookies, custom policy over the
 *             session prefix; the fixture RSA key K2JCJMDEHXQW5F, whose
 *             public half alone is in its ring) in place of bits 0-1's. No
 *             seed without that byte has both bits: their meaning is as before.
 * Invariants: status and reason agree (as documented on stream_delivery_open);
 * a failure leaves fd -1 and a message; a success opens a regular file that
 * is one of the servable files of the root (never summary.json, a hidden or
 * .tmp file, a file reached through a symlink or outside the root), of a
 * rendition no taller than a non-zero cap, signed with an Expires in the
 * future; capped manifests filter (stream_delivery_manifest) without error.
 * CloudFront, on success: the path is under /v1/media/<asset_id>/h<max_height>/
 * and the first CloudFront-Policy cookie of the header, decoded here (blanks
 * between tokens dropped), is a policy whose Resource is that prefix + '*',
 * whose DateLessThan is the returned expires, bound to an address only when
 * the request has one.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/keys/pem_fixtures.h"
#include "fuzz_util.h"
#include "stream/delivery.h"
#include "stream/keys.h"
#include "stream/sign.h"

#define NOW 1700000000
#define BASE "https://media.test"

static char tmp[512];
static stream_keyring *ring, *cf_ring;
static stream_delivery *handles[4], *cf;

/* The files a request may open: inode and the height of their rendition. */
static struct {
  ino_t ino;
  int height;
} servable[32];
static size_t n_servable;

static const char master[] =
    "#EXTM3U\n#EXT-X-VERSION:7\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720,CODECS=\"avc1.64001f\"\n"
    "v720p_3000/index.m3u8\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360,CODECS=\"avc1.64001e\"\n"
    "v360p_800/index.m3u8\n";
static const char mpd[] =
    "<?xml version=\"1.0\"?>\n<MPD><Period><AdaptationSet contentType=\"video\">\n"
    "<Representation id=\"v720p_3000\" height=\"720\" bandwidth=\"3000000\"/>\n"
    "<Representation id=\"v360p_800\" height=\"360\" bandwidth=\"800000\"/>\n"
    "</AdaptationSet></Period></MPD>\n";
static const char summary[] =
    "{\"renditions\":[{\"kind\":\"video\",\"dir\":\"v720p_3000\",\"height\":720},"
    "{\"kind\":\"video\",\"dir\":\"v360p_800\",\"height\":360},"
    "{\"kind\":\"audio\",\"dir\":\"audio_und\"}]}";

static void put(const char *rel, const char *text, int height)
{
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", tmp, rel);
  FILE *f = fopen(p, "wb");
  if (!f || fputs(text, f) < 0 || fclose(f) != 0)
    abort();
  struct stat st;
  if (height >= 0) {
    if (stat(p, &st) != 0 || n_servable == sizeof servable / sizeof *servable)
      abort();
    servable[n_servable].ino = st.st_ino;
    servable[n_servable++].height = height;
  }
}

static void dir(const char *rel)
{
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", tmp, rel);
  if (mkdir(p, 0700) != 0)
    abort();
}

static void link_to(const char *target, const char *rel)
{
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", tmp, rel);
  if (symlink(target, p) != 0)
    abort();
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(p);
}

static void cleanup(void)
{
  for (int i = 0; i < 4; i++)
    stream_delivery_free(handles[i]);
  stream_delivery_free(cf);
  stream_keyring_free(ring);
  stream_keyring_free(cf_ring);
  nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void make_root(void)
{
  const char *t = getenv("TMPDIR");
  snprintf(tmp, sizeof tmp, "%s/fuzz-delivery-XXXXXX", t && *t ? t : "/tmp");
  if (!mkdtemp(tmp))
    abort();
  dir("media");
  dir("media/a1");
  put("media/a1/summary.json", summary, -1);
  put("media/a1/master.m3u8", master, 0);
  put("media/a1/manifest.mpd", mpd, 0);
  put("media/a1/poster.jpg", "jpg", 0);
  put("media/a1/.hidden", "secret", -1);
  dir("media/a1/v720p_3000");
  put("media/a1/v720p_3000/index.m3u8", "#EXTM3U\n", 720);
  put("media/a1/v720p_3000/init.mp4", "init", 720);
  put("media/a1/v720p_3000/seg_00001.m4s", "seg", 720);
  dir("media/a1/v360p_800");
  put("media/a1/v360p_800/index.m3u8", "#EXTM3U\n", 360);
  put("media/a1/v360p_800/seg_00001.m4s", "seg", 360);
  put("media/a1/v360p_800/seg_00002.m4s.tmp", "partial", -1);
  link_to("../summary.json", "media/a1/v360p_800/link.m4s");
  char p[1024];
  snprintf(p, sizeof p, "%s/media/a1/v360p_800/pipe.m4s", tmp);
  if (mkfifo(p, 0600) != 0)
    abort();
  dir("media/a1/audio_und");
  put("media/a1/audio_und/seg_00001.m4s", "aac", 0);
  dir("media/a1/thumbs");
  put("media/a1/thumbs/sprite.jpg", "jpg", 0);
  dir("media/a1/sub_en");
  put("media/a1/sub_en/seg_00001.vtt", "WEBVTT\n", 0);
  link_to("/etc", "media/a1/evil");
  dir("media/a2");
  put("media/a2/master.m3u8", master, 0);
  dir("media/a2/v1080p_5000");
  put("media/a2/v1080p_5000/seg_00001.m4s", "seg", 1080);
  dir("outside");
  put("outside/master.m3u8", "outside", -1);
  link_to("../outside", "media/a3");
}

static void setup(void)
{
  if (ring)
    return;
  make_root();
  unsigned char k1[32], cdn[16], edge[32];
  for (int i = 0; i < 32; i++) {
    k1[i] = (unsigned char)(7 * i + 1);
    edge[i] = (unsigned char)(3 * i + 5);
  }
  for (int i = 0; i < 16; i++)
    cdn[i] = (unsigned char)(0x11 * i);
  stream_key *a = NULL, *b = NULL, *c = NULL;
  if (stream_key_from_bytes(&a, STREAM_KEY_HMAC, "k1", k1, sizeof k1) != STREAM_OK ||
      stream_key_from_bytes(&b, STREAM_KEY_HMAC, "cdn-key", cdn, sizeof cdn) != STREAM_OK ||
      stream_key_from_bytes(&c, STREAM_KEY_ED25519_PRIVATE, "edge-key", edge, sizeof edge) !=
          STREAM_OK ||
      stream_keyring_new(&ring) != STREAM_OK || stream_keyring_add(ring, a) != STREAM_OK ||
      stream_keyring_add(ring, b) != STREAM_OK || stream_keyring_add(ring, c) != STREAM_OK ||
      stream_keyring_set_primary(ring, "k1") != STREAM_OK)
    abort();
  stream_key_free(a);
  stream_key_free(b);
  stream_key_free(c);
  static const char *const key_ids[4] = {NULL, NULL, "cdn-key", "edge-key"};
  char root[600];
  snprintf(root, sizeof root, "%s/media", tmp);
  for (int i = 0; i < 4; i++) {
    stream_delivery_options o = STREAM_DELIVERY_OPTIONS_INIT;
    o.base_url = BASE;
    o.media_root = root;
    o.keys = ring;
    o.format = STREAM_DELIVERY_NATIVE_PATH + i;
    o.key_id = key_ids[i];
    if (stream_delivery_new(&handles[i], &o) != STREAM_OK)
      abort();
  }
  /* CloudFront: the origin verifies with the public half (gen_corpus.c signs with the
   * private one; PKCS#1 v1.5 signatures are deterministic, so the seeds are too). */
  stream_key *pub = NULL;
  stream_delivery_options o = STREAM_DELIVERY_OPTIONS_INIT;
  o.base_url = BASE;
  o.media_root = root;
  o.format = STREAM_DELIVERY_CLOUDFRONT;
  if (stream_key_from_text(&pub, STREAM_KEY_RSA_PUBLIC, "K2JCJMDEHXQW5F", PEM_RSA_PUB) !=
          STREAM_OK ||
      stream_keyring_new(&cf_ring) != STREAM_OK || stream_keyring_add(cf_ring, pub) != STREAM_OK)
    abort();
  stream_key_free(pub);
  o.keys = cf_ring;
  if (stream_delivery_new(&cf, &o) != STREAM_OK)
    abort();
  atexit(cleanup);
}

/* Base64 as CloudFront writes it ('-' for '+', '~' for '/', '_' for '='), decoded into
 * out (NUL-terminated); 0 when `v` holds another byte or does not fit. Written here rather
 * than borrowed from libstream, so the check below does not share the origin's decoder. */
static int cf_b64(char *out, size_t cap, const char *v, size_t n)
{
  static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-~";
  unsigned acc = 0, bits = 0;
  size_t w = 0;
  for (size_t i = 0; i < n && v[i] != '_'; i++) {
    const char *c = v[i] ? strchr(alpha, v[i]) : NULL;
    if (!c)
      return 0;
    acc = (acc << 6) | (unsigned)(c - alpha);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (w + 1 >= cap)
        return 0;
      out[w++] = (char)((acc >> bits) & 0xff);
    }
  }
  out[w] = '\0';
  return 1;
}

/* What a CloudFront success must be: the session of the path's prefix, per the signed
 * policy in the Cookie header (the first CloudFront-Policy, as cookies split on ';'). */
static void check_cloudfront_session(const stream_delivery_request *r,
                                     const stream_delivery_file *f)
{
  char want[1024];
  snprintf(want, sizeof want, "/v1/media/%s/h%d/", f->asset_id, f->max_height);
  FUZZ_ASSERT(f->via_cookie == 1);
  FUZZ_ASSERT(strncmp(r->path, want, strlen(want)) == 0);
  const char *v = NULL;
  size_t n = 0;
  for (const char *c = r->cookie; c && *c && !v;) {
    c += strspn(c, " \t;\r");
    size_t len = strcspn(c, ";\r");
    if (len > 18 && strncmp(c, "CloudFront-Policy=", 18) == 0) {
      v = c + 18;
      n = len - 18;
      while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    }
    c += len;
  }
  FUZZ_ASSERT(v != NULL);
  static char json[STREAM_CLOUDFRONT_TEXT_MAX * 2];
  FUZZ_ASSERT(cf_b64(json, sizeof json, v, n));
  size_t w = 0; /* drop the blanks between JSON tokens (AWS's policy examples have them) */
  for (size_t i = 0, in_str = 0; json[i]; i++) {
    if (json[i] == '"' && (i == 0 || json[i - 1] != '\\'))
      in_str = !in_str;
    if (in_str || !strchr(" \t\r\n", json[i]))
      json[w++] = json[i];
  }
  json[w] = '\0';
  char res[1200], lt[96];
  snprintf(res, sizeof res, "\"Resource\":\"%s%s*\"", BASE, want);
  snprintf(lt, sizeof lt, "\"DateLessThan\":{\"AWS:EpochTime\":%lld}", (long long)f->expires);
  FUZZ_ASSERT(strstr(json, res) != NULL);
  FUZZ_ASSERT(strstr(json, lt) != NULL);
  FUZZ_ASSERT(r->client_ip != NULL || strstr(json, "AWS:SourceIp") == NULL);
}

static void check_cstr(const char *s, size_t cap)
{
  FUZZ_ASSERT(memchr(s, '\0', cap) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  setup();
  if (size < 1)
    return 0;
  unsigned mode = data[0], ext = 0;
  size_t skip = 1;
  if ((mode & 96) == 96) { /* the second mode byte: query / cookie NULL, CloudFront */
    if (size < 2)
      return 0;
    ext = data[1];
    skip = 2;
  }
  char *s = fuzz_cstr(data + skip, size - skip);
  size_t pos = 0;
  char *path = fuzz_field(s, &pos);
  char *query = fuzz_field(s, &pos);
  char *cookie = fuzz_field(s, &pos);
  char *ip = fuzz_field(s, &pos);
  static const char *const methods[4] = {"GET", "HEAD", "POST", ""};
  stream_delivery_request r = STREAM_DELIVERY_REQUEST_INIT;
  r.method = methods[(mode >> 2) & 3];
  r.path = path;
  r.query = (skip == 2 ? (ext & 1) : (mode & 32)) ? NULL : query;
  r.cookie = (skip == 2 ? (ext & 2) : (mode & 64)) ? NULL : cookie;
  r.client_ip = (mode & 16) ? ip : NULL;
  r.now = (mode & 128) ? NOW + 7200 : NOW;
  stream_delivery *d = (ext & 4) ? cf : handles[mode & 3];

  stream_delivery_file f;
  memset(&f, 0x5a, sizeof f);
  stream_error_clear();
  int rc = stream_delivery_open(&f, d, &r);
  fuzz_check_status(rc);
  check_cstr(f.asset_id, sizeof f.asset_id);
  check_cstr(f.rel_path, sizeof f.rel_path);
  check_cstr(f.etag, sizeof f.etag);
  FUZZ_ASSERT(f.content_type != NULL && f.cache_control != NULL);
  FUZZ_ASSERT(f.kind >= STREAM_DELIVERY_KIND_OTHER && f.kind <= STREAM_DELIVERY_KIND_SEGMENT);
  switch (f.reason) {
  case STREAM_DELIVERY_OK:
    FUZZ_ASSERT(rc == STREAM_OK);
    break;
  case STREAM_DELIVERY_BAD_PATH:
    FUZZ_ASSERT(rc == STREAM_EINVAL);
    break;
  case STREAM_DELIVERY_SIGNATURE:
    FUZZ_ASSERT(rc == STREAM_EFORBIDDEN || rc == STREAM_EEXPIRED);
    break;
  case STREAM_DELIVERY_ABOVE_CAP:
    FUZZ_ASSERT(rc == STREAM_EFORBIDDEN && f.max_height > 0);
    break;
  case STREAM_DELIVERY_NOT_FOUND:
    FUZZ_ASSERT(rc == STREAM_ENOTFOUND || rc == STREAM_EIO || rc == STREAM_ENOMEM);
    break;
  case STREAM_DELIVERY_METHOD:
    FUZZ_ASSERT(rc == STREAM_ENOTSUP);
    break;
  default:
    FUZZ_ASSERT(!"unknown reason");
  }
  if (rc != STREAM_OK) {
    FUZZ_ASSERT(f.fd == -1);
  } else {
    FUZZ_ASSERT(f.fd >= 0);
    FUZZ_ASSERT(strcmp(r.method, "GET") == 0 || strcmp(r.method, "HEAD") == 0);
    FUZZ_ASSERT(f.expires >= r.now); /* leeway 0 */
    FUZZ_ASSERT(f.max_height >= 0 && f.max_height <= STREAM_DELIVERY_CAP_MAX);
    FUZZ_ASSERT(strstr(path, f.rel_path) != NULL && f.rel_path[0] != '.');
    FUZZ_ASSERT(strstr(f.rel_path, "/.") == NULL && strstr(f.rel_path, "..") == NULL);
    struct stat st;
    FUZZ_ASSERT(fstat(f.fd, &st) == 0 && S_ISREG(st.st_mode));
    FUZZ_ASSERT(f.size == (uint64_t)st.st_size);
    size_t i = 0;
    while (i < n_servable && servable[i].ino != st.st_ino)
      i++;
    FUZZ_ASSERT(i < n_servable); /* never summary.json, a hidden/.tmp file, or outside */
    FUZZ_ASSERT(f.max_height == 0 || servable[i].height <= f.max_height);
    if (d == cf)
      check_cloudfront_session(&r, &f);
    if (f.kind == STREAM_DELIVERY_KIND_MASTER || f.kind == STREAM_DELIVERY_KIND_MPD) {
      char *body = NULL;
      size_t len = 0;
      stream_error_clear();
      int mrc = stream_delivery_manifest(&body, &len, d, &f);
      fuzz_check_status(mrc);
      FUZZ_ASSERT(mrc == STREAM_OK && body != NULL && strlen(body) == len);
      if (f.max_height > 0 && f.max_height < 720)
        FUZZ_ASSERT(strstr(body, "v720p_3000") == NULL);
      stream_free(body);
    }
  }
  stream_delivery_file_clear(&f);
  FUZZ_ASSERT(f.fd == -1);
  free(s);
  return 0;
}
