/*
 * Writes the seed corpora of the fuzz targets into DIR/<target>/ (normally
 * tests/fuzz/corpus): valid tokens and signatures made with the same fixed
 * test keys the targets use, tus metadata headers, event batches (protobuf,
 * JSON, both gzipped), small SRT / WebVTT files and origin requests (paths,
 * queries, cookies of signed sessions). Each file starts with the
 * target's mode byte. The output is deterministic (HMAC and Ed25519 are), so
 * re-running it changes nothing; regression inputs found by fuzzing are
 * committed next to these files by hand.
 *
 *   fuzz_gen_corpus DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../unit/keys/pem_fixtures.h"
#include "stream/keys.h"
#include "stream/sign.h"
#include "stream/token.h"

#if FUZZ_HAVE_SERVER
#include <openssl/evp.h>
#include <zlib.h>

#include "keys/keys_internal.h"
#include "proto/events.pb-c.h"
#include "stream/delivery.h"
#endif

#define NOW 1700000000

static const char *root;

static void die(const char *what)
{
  const stream_error *e = stream_error_last();
  fprintf(stderr, "gen_corpus: %s failed: %s\n", what, e ? e->message : "?");
  exit(1);
}

static void put(const char *target, const char *file, unsigned char mode, const void *data,
                size_t len)
{
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", root, target);
  if (mkdir(path, 0755) != 0 && errno != EEXIST)
    die(path);
  snprintf(path, sizeof path, "%s/%s/%s", root, target, file);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(&mode, 1, 1, f) != 1 || (len && fwrite(data, 1, len, f) != len) || fclose(f))
    die(path);
}

/* put() of the fields a, b, c... joined with '\n' (NULL ends the list). */
static void put_fields(const char *target, const char *file, unsigned char mode, const char *a,
                       const char *b, const char *c, const char *d, const char *e)
{
  const char *v[] = {a, b, c, d, e};
  char buf[16384];
  size_t n = 0;
  for (int i = 0; i < 5 && v[i]; i++) {
    int w = snprintf(buf + n, sizeof buf - n, "%s%s", i ? "\n" : "", v[i]);
    if (w < 0 || (size_t)w >= sizeof buf - n)
      die("field too long");
    n += (size_t)w;
  }
  put(target, file, mode, buf, n);
}

static stream_key *key(stream_key_type type, const char *id, unsigned char (*fn)(int), int len)
{
  unsigned char b[64];
  for (int i = 0; i < len; i++)
    b[i] = fn(i);
  stream_key *k = NULL;
  if (stream_key_from_bytes(&k, type, id, b, (size_t)len) != STREAM_OK)
    die("key");
  return k;
}

/* The byte patterns of the targets' keys (keep in step with fuzz_*.c). */
static unsigned char tok_hs(int i)
{
  return (unsigned char)(0x40 + i);
}
static unsigned char tok_ed(int i)
{
  return (unsigned char)(0x90 + i);
}
static unsigned char nat_k1(int i)
{
  return (unsigned char)(7 * i + 1);
}
static unsigned char g_cdn(int i)
{
  return (unsigned char)(0x11 * i);
}
static unsigned char g_edge(int i)
{
  return (unsigned char)(3 * i + 5);
}
static unsigned char g_tok(int i)
{
  return (unsigned char)(0xc0 ^ i);
}

static void gen_token(void)
{
  stream_key *hs = key(STREAM_KEY_HMAC, "hs-1", tok_hs, 32);
  stream_key *ed = key(STREAM_KEY_ED25519_PRIVATE, "ed-1", tok_ed, 32);
  const char *claims = "{\"sub\":\"acct-1\",\"iss\":\"https://issuer.example\",\"aud\":\"streamd\","
                       "\"exp\":1700000600,\"nbf\":1699999000,\"iat\":1699999990,\"jti\":\"j-1\"}";
  const char *hh = "{\"alg\":\"HS256\",\"kid\":\"hs-1\",\"typ\":\"JWT\"}";
  const char *he = "{\"alg\":\"EdDSA\",\"kid\":\"ed-1\"}";
  char *jws = NULL;
  if (stream_jws_sign(&jws, hs, hh, strlen(hh), claims, strlen(claims)) != STREAM_OK)
    die("jws hs");
  put("token", "valid_hs256", 0x00, jws, strlen(jws));
  put("token", "valid_hs256_iss_aud", 0x00 | (12 << 1), jws, strlen(jws));
  stream_free(jws);
  if (stream_jws_sign(&jws, ed, he, strlen(he), claims, strlen(claims)) != STREAM_OK)
    die("jws ed");
  put("token", "valid_eddsa", 0x02 | (8 << 1), jws, strlen(jws));
  stream_free(jws);
  char buf[1024];
  snprintf(buf, sizeof buf, "%s\n%s", hh, claims);
  put("token", "sign_hs256", 0x01 | (12 << 2), buf, strlen(buf));
  snprintf(buf, sizeof buf, "%s\n%s", he, claims);
  put("token", "sign_eddsa", 0x03 | (8 << 2), buf, strlen(buf));
  snprintf(buf, sizeof buf, "%s\n%s", hh,
           "{\"sub\":\"a\",\"aud\":[\"x\",\"streamd\"],\"exp\":1700000001,\"extra\":{\"n\":[1,2.5,"
           "null,true,\"\\u00e9\\ud83d\\ude00\"]}}");
  put("token", "sign_aud_array", 0x01 | (8 << 2), buf, strlen(buf));
  /* Branches a 6-minute libFuzzer run did not reach from the seeds above: the
   * member names are compared inside cJSON, which is not instrumented, so the
   * fuzzer cannot learn "crit" or "b64"; an "aud" array holding a non-string;
   * objects over DUP_PAIRWISE_MAX (32) members, whose duplicate check sorts. */
  snprintf(buf, sizeof buf, "%s\n%s", "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
           "{\"exp\":1700000600}");
  put("token", "cov_crit", 0x01, buf, strlen(buf));
  snprintf(buf, sizeof buf, "%s\n%s", "{\"alg\":\"HS256\",\"b64\":false}", "{\"exp\":1700000600}");
  put("token", "cov_b64", 0x01, buf, strlen(buf));
  snprintf(buf, sizeof buf, "%s\n%s", hh, "{\"aud\":[\"streamd\",7],\"exp\":1700000600}");
  put("token", "cov_aud_nonstring", 0x01, buf, strlen(buf));
  size_t n = (size_t)snprintf(buf, sizeof buf, "{\"alg\":\"HS256\",\"kid\":\"hs-1\"");
  for (int i = 0; i < 34; i++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, ",\"h%d\":%d", i, i);
  n += (size_t)snprintf(buf + n, sizeof buf - n, "}\n{\"exp\":1700000600");
  for (int i = 0; i < 34; i++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, ",\"c%d\":%d", i % 33, i);
  n += (size_t)snprintf(buf + n, sizeof buf - n, "}");
  put("token", "cov_many_members", 0x01, buf, n);
  stream_key_free(hs);
  stream_key_free(ed);
}

static void gen_native(void)
{
  stream_key *k1 = key(STREAM_KEY_HMAC, "k1", nat_k1, 32);
  stream_keyring *ring = NULL;
  if (stream_keyring_new(&ring) || stream_keyring_add(ring, k1) ||
      stream_keyring_set_primary(ring, "k1"))
    die("native ring");
  stream_native_sign_options o = STREAM_NATIVE_SIGN_OPTIONS_INIT;
  o.expires = NOW + 600;
  char *out = NULL;
  if (stream_sign_native_url(&out, ring, "https://cdn.example/v/a.m3u8?x=1", &o))
    die("native url");
  put_fields("sign_native", "url", 0, out, "", NULL, NULL, NULL);
  stream_free(out);
  o.not_before = NOW - 60;
  o.ip = "203.0.113.7";
  if (stream_sign_native_url(&out, ring, "https://cdn.example/v/b.ts", &o))
    die("native url ip");
  put_fields("sign_native", "url_ip", 0, out, "203.0.113.7", NULL, NULL, NULL);
  stream_free(out);
  o.not_before = 0;
  o.ip = "2001:db8::/32";
  if (stream_sign_native_prefix(&out, ring, "https://cdn.example/v1/media/a1/h720/seg_1.m4s",
                                "https://cdn.example/v1/media/a1/", &o))
    die("native prefix");
  put_fields("sign_native", "prefix_ip6", 0, out, "2001:db8::1", NULL, NULL, NULL);
  stream_free(out);
  o.ip = NULL;
  if (stream_sign_native_path(&out, ring, "https://cdn.example/v1/media/a1/h720/", "master.m3u8",
                              &o))
    die("native path");
  put_fields("sign_native", "path", 0, out, "", NULL, NULL, NULL);
  stream_free(out);
  if (stream_sign_native_cookie(&out, ring, "https://cdn.example/v1/media/a1/", &o))
    die("native cookie");
  put_fields("sign_native", "cookie", 1, "https://cdn.example/v1/media/a1/h720/x.m4s", out, "",
             NULL, NULL);
  stream_free(out);
  put_fields("sign_native", "sign_url", 2 | (1 << 2), "https://cdn.example/v/a.m3u8?x=1",
             "203.0.113.0/24", NULL, NULL, NULL);
  put_fields("sign_native", "sign_path_cookie", 3, "https://cdn.example/v1/media/a1/h720/",
             "master.m3u8", NULL, NULL, NULL);
  /* Branches the fuzzer cannot reach by mutation because they sit behind a
   * valid signature: the time checks (every seed above is inside its window),
   * and an address block that ends inside a byte, reached from an IPv4-mapped
   * client address, and an IPv6 block of 100+ bits (printed in the result). */
  o.expires = NOW - 60;
  if (stream_sign_native_url(&out, ring, "https://cdn.example/v/a.m3u8", &o))
    die("native expired");
  put_fields("sign_native", "cov_expired", 0, out, "", NULL, NULL, NULL);
  stream_free(out);
  o.expires = NOW + 600;
  o.not_before = NOW + 60;
  if (stream_sign_native_url(&out, ring, "https://cdn.example/v/a.m3u8", &o))
    die("native not yet valid");
  put_fields("sign_native", "cov_not_yet_valid", 0, out, "", NULL, NULL, NULL);
  stream_free(out);
  o.not_before = 0;
  o.ip = "203.0.112.0/20";
  if (stream_sign_native_url(&out, ring, "https://cdn.example/v/a.m3u8", &o))
    die("native ip block");
  put_fields("sign_native", "cov_ip_block_mapped", 0, out, "::ffff:203.0.113.7", NULL, NULL, NULL);
  stream_free(out);
  o.ip = "2001:db8::/100";
  if (stream_sign_native_url(&out, ring, "https://cdn.example/v/a.m3u8", &o))
    die("native ip6 block");
  put_fields("sign_native", "cov_ip6_block_100", 0, out, "2001:db8::1", NULL, NULL, NULL);
  stream_free(out);
  stream_keyring_free(ring);
  stream_key_free(k1);
}

static void gen_google(void)
{
  stream_key *cdn = key(STREAM_KEY_HMAC, "cdn-key", g_cdn, 16);
  stream_key *edge = key(STREAM_KEY_ED25519_PRIVATE, "edge-key", g_edge, 32);
  stream_key *tok = key(STREAM_KEY_HMAC, "tok-key", g_tok, 32);
  stream_google_sign_options o = STREAM_GOOGLE_SIGN_OPTIONS_INIT;
  o.expires = NOW + 600;
  const char *url = "https://cdn.example/v/a.m3u8?x=1";
  const char *prefix = "https://cdn.example/v/";
  char *out = NULL;
  if (stream_cloudcdn_sign_url(&out, cdn, url, &o))
    die("cloudcdn url");
  put_fields("sign_google", "cloudcdn_url", 0, out, "", "", "", "");
  stream_free(out);
  if (stream_cloudcdn_sign_prefix(&out, cdn, "https://cdn.example/v/b.ts", prefix, &o))
    die("cloudcdn prefix");
  put_fields("sign_google", "cloudcdn_prefix", 0, out, "", "", "", "");
  stream_free(out);
  if (stream_cloudcdn_sign_cookie(&out, cdn, prefix, &o))
    die("cloudcdn cookie");
  put_fields("sign_google", "cloudcdn_cookie", 1, "https://cdn.example/v/c.ts", out, "", "", "");
  stream_free(out);
  if (stream_mediacdn_sign_url(&out, edge, url, &o))
    die("mediacdn url");
  put_fields("sign_google", "mediacdn_url", 2, out, "", "", "", "");
  stream_free(out);
  if (stream_mediacdn_sign_prefix(&out, edge, "https://cdn.example/v/b.ts", prefix, &o))
    die("mediacdn prefix");
  put_fields("sign_google", "mediacdn_prefix", 2, out, "", "", "", "");
  stream_free(out);
  if (stream_mediacdn_sign_path_component(&out, edge, prefix, "seg_1.m4s", &o))
    die("mediacdn path");
  put_fields("sign_google", "mediacdn_path", 2, out, "", "", "", "");
  stream_free(out);
  if (stream_mediacdn_sign_cookie(&out, edge, prefix, &o))
    die("mediacdn cookie");
  put_fields("sign_google", "mediacdn_cookie", 3, "https://cdn.example/v/c.ts", out, "", "", "");
  stream_free(out);

  stream_mediacdn_token_options t = STREAM_MEDIACDN_TOKEN_OPTIONS_INIT;
  const char *hn[] = {"X-Device"}, *hv[] = {"tv-1"};
  t.expires = NOW + 600;
  t.starts = NOW - 60;
  t.url_prefix = prefix;
  t.session_id = "sess-1";
  t.data = "plan=hd";
  t.header_names = hn;
  t.header_values = hv;
  t.header_count = 1;
  t.ip_ranges = "203.0.113.0/24,2001:db8::/32";
  if (stream_mediacdn_token_sign(&out, tok, &t))
    die("mediacdn token hmac");
  put_fields("sign_google", "token_hmac", 4, "https://cdn.example/v/a.m3u8", out, "203.0.113.9",
             "X-Device", "tv-1");
  stream_free(out);
  stream_mediacdn_token_options t2 = STREAM_MEDIACDN_TOKEN_OPTIONS_INIT;
  t2.expires = NOW + 600;
  t2.path_globs = "/v/*,/w/*.m4s";
  if (stream_mediacdn_token_sign(&out, edge, &t2))
    die("mediacdn token ed25519");
  put_fields("sign_google", "token_ed25519", 4, "/v/a.m3u8", out, "", "", "");
  stream_free(out);
  stream_mediacdn_token_options t3 = STREAM_MEDIACDN_TOKEN_OPTIONS_INIT;
  t3.expires = NOW + 600;
  t3.hmac = STREAM_MEDIACDN_HMAC_SHA1;
  t3.full_path = "/v/a.m3u8";
  if (stream_mediacdn_token_sign(&out, tok, &t3))
    die("mediacdn token sha1");
  put_fields("sign_google", "token_sha1_fullpath", 4, "https://cdn.example/v/a.m3u8", out, "", "",
             "");
  stream_free(out);
  put_fields("sign_google", "sign_roundtrip", 5, prefix, "seg_1.m4s", "", "", "");
  /* Behind a valid signature, so out of the mutator's reach: an expired URL,
   * a token before its Starts and an expired one, and a token bound to IP
   * ranges presented without a client address. */
  o.expires = NOW - 60;
  if (stream_cloudcdn_sign_url(&out, cdn, url, &o))
    die("cloudcdn expired");
  put_fields("sign_google", "cov_expired_url", 0, out, "", "", "", "");
  stream_free(out);
  t3.expires = NOW - 60;
  if (stream_mediacdn_token_sign(&out, tok, &t3))
    die("mediacdn token expired");
  put_fields("sign_google", "cov_token_expired", 4, "https://cdn.example/v/a.m3u8", out, "", "",
             "");
  stream_free(out);
  t3.expires = NOW + 600;
  t3.starts = NOW + 60;
  if (stream_mediacdn_token_sign(&out, tok, &t3))
    die("mediacdn token starts");
  put_fields("sign_google", "cov_token_starts", 4, "https://cdn.example/v/a.m3u8", out, "", "", "");
  stream_free(out);
  t3.starts = 0;
  t3.ip_ranges = "203.0.113.0/24";
  if (stream_mediacdn_token_sign(&out, tok, &t3))
    die("mediacdn token ip ranges");
  put_fields("sign_google", "cov_token_no_client_ip", 4, "https://cdn.example/v/a.m3u8", out, "",
             "", "");
  stream_free(out);
  stream_key_free(cdn);
  stream_key_free(edge);
  stream_key_free(tok);
}

static void gen_upload(void)
{
  static const char *const h[] = {
      "filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential",
      "filetype dmlkZW8vbXA0,title w6lww6k=,lang cHQtQlI",
      "",
      "a YQ==,b,c Yw==",
  };
  for (size_t i = 0; i < sizeof h / sizeof *h; i++) {
    char name[32];
    snprintf(name, sizeof name, "header_%zu", i);
    /* No mode byte for this target: write the header as is. */
    char path[4096];
    snprintf(path, sizeof path, "%s/upload_metadata", root);
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
      die(path);
    snprintf(path, sizeof path, "%s/upload_metadata/%s", root, name);
    FILE *f = fopen(path, "wb");
    if (!f || (h[i][0] && fwrite(h[i], 1, strlen(h[i]), f) != strlen(h[i])) || fclose(f))
      die(path);
  }
}

#if FUZZ_HAVE_SERVER
static size_t gzip(unsigned char *out, size_t cap, const void *in, size_t len)
{
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    die("deflateInit2");
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)len;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  if (deflate(&z, Z_FINISH) != Z_STREAM_END)
    die("deflate");
  size_t n = cap - z.avail_out;
  deflateEnd(&z);
  return n;
}

static void gen_events(void)
{
  Libstream__Events__V1__Batch b;
  Libstream__Events__V1__Event ev[2], *ptrs[2];
  Libstream__Events__V1__PlaybackError err;
  libstream__events__v1__batch__init(&b);
  libstream__events__v1__playback_error__init(&err);
  for (int i = 0; i < 2; i++) {
    Libstream__Events__V1__Event *e = &ev[i];
    libstream__events__v1__event__init(e);
    e->id = i ? "6f9619ff-8b86-d011-b42d-00c04fc96501" : "6F9619FF-8B86-D011-B42D-00C04FC964FF";
    e->view_id = "view-1";
    e->session_id = "sess-1";
    e->title_id = "title-1";
    e->device_id = "dev-1";
    e->client_ts = 1700000000000LL + i;
    e->type = LIBSTREAM__EVENTS__V1__EVENT_TYPE__EVENT_TYPE_HEARTBEAT;
    e->playhead_ms = 10000;
    e->br = 3000;
    e->width = 1280;
    e->height = 720;
    e->bl = 12000;
    e->mtp = 25000;
    e->sid = "sess-1";
    e->cid = "title-1";
    e->ot = "v";
    e->su = 1;
    ptrs[i] = e;
  }
  ev[1].type = LIBSTREAM__EVENTS__V1__EVENT_TYPE__EVENT_TYPE_ERROR;
  err.code = 7;
  err.message = "boom";
  err.fatal = 1;
  ev[1].error = &err;
  b.n_events = 2;
  b.events = ptrs;
  unsigned char pb[1024], gz[2048];
  size_t n = libstream__events__v1__batch__get_packed_size(&b);
  if (n > sizeof pb)
    die("protobuf size");
  libstream__events__v1__batch__pack(&b, pb);
  put("events", "batch_protobuf", 0, pb, n);
  put("events", "batch_protobuf_gzip", 2, gz, gzip(gz, sizeof gz, pb, n));
  const char *json =
      "{\"events\":["
      "{\"id\":\"6F9619FF-8B86-D011-B42D-00C04FC964FF\",\"viewId\":\"v-9\",\"type\":"
      "\"playrequest\",\"clientTs\":\"1700000000123\",\"titleId\":\"t-1\",\"profileId\":\"p-1\","
      "\"unknown\":1},"
      "{\"id\":\"6f9619ff-8b86-d011-b42d-00c04fc96500\",\"view_id\":\"v-9\","
      "\"type\":\"EVENT_TYPE_RENDITIONCHANGE\",\"client_ts\":1700000000200,\"br\":4500,"
      "\"width\":1920,\"height\":1080,\"playhead_ms\":3000,\"su\":true,\"ot\":\"av\"},"
      "{\"id\":\"6f9619ff-8b86-d011-b42d-00c04fc96501\",\"viewId\":\"v-9\",\"type\":11,"
      "\"clientTs\":1700000000300,\"error\":{\"code\":7,\"message\":\"boom\",\"fatal\":true}}"
      "]}";
  put("events", "batch_json", 1, json, strlen(json));
  put("events", "batch_json_gzip", 3, gz, gzip(gz, sizeof gz, json, strlen(json)));
  /* A limit a libFuzzer run did not reach: a batch over the target's 64 events
   * (JSON and protobuf: 65 empty events). A gzip body inflating past the
   * 256 KiB cap is left out on purpose: every mutated copy of it inflates
   * 256 KiB, which made CI's ASan run of this target six times slower. */
  char many[512];
  size_t m = (size_t)snprintf(many, sizeof many, "{\"events\":[{}");
  for (int i = 1; i < 65; i++)
    m += (size_t)snprintf(many + m, sizeof many - m, ",{}");
  m += (size_t)snprintf(many + m, sizeof many - m, "]}");
  put("events", "cov_json_too_many", 1, many, m);
  for (int i = 0; i < 65; i++) { /* field 1 (events), length 0 */
    pb[2 * i] = 0x0a;
    pb[2 * i + 1] = 0x00;
  }
  put("events", "cov_protobuf_too_many", 0, pb, 130);
}
#endif

static void gen_subs(void)
{
  const char *srt = "1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>Hello</i> &amp; world\r\n\r\n"
                    "2\r\n00:00:03,000 --> 00:00:04,000 X1:10 X2:20 Y1:5 Y2:6\r\n"
                    "{\\an8}second\r\nline\r\n\r\n";
  /* FFmpeg 5.1's WebVTT demuxer returns no cue at all for a file with a
   * STYLE block: subs.c drops the block first (its own seed, that path). */
  const char *style =
      "WEBVTT\n\nSTYLE\n::cue { color: red }\n\n00:00:01.000 --> 00:00:02.000\nHi\n";
  const char *vtt = "WEBVTT\n\nNOTE a note\n\n"
                    "c1\n00:00:01.000 --> 00:00:02.000 align:start line:0\n"
                    "<v Bob>Hi <b>there</b>\n\n"
                    "00:01.500 --> 00:00:03.000\n<c.yellow>two</c> &lt;tags&gt;\n";
  const char *ass = "{\\i1}Hello{\\i0}\\Nworld <b>&{\\b1\\u1}x{\\r}\\h{unterminated";
  put("subs", "cues.srt", 0, srt, strlen(srt));
  put("subs", "cues.vtt", 1, vtt, strlen(vtt));
  put("subs", "style.vtt", 1, style, strlen(style));
  const char *blocks = "\xef\xbb\xbfWEBVTT\r\n\r\nREGION\r\nid:r\r\n\r\nNOTE n\r\n\r\nSTYLE\r\n"
                       "::cue {}\r\n\r\nSTYLE\r\n00:00:01.000 --> 00:00:02.000\r\nHi\r\n";
  put("subs", "blocks.vtt", 1, blocks, strlen(blocks));
  put("subs", "ass_text", 2, ass, strlen(ass));
}

#if FUZZ_HAVE_SERVER
/* The path of `url` (after the base) with its last component replaced by `rest`. */
static void dl_path(char *out, size_t cap, const char *url, const char *rest)
{
  const char *p = strstr(url, "/v1/media/");
  const char *slash = p ? strrchr(p, '/') : NULL;
  if (!slash)
    die("delivery url");
  snprintf(out, cap, "%.*s/%s", (int)(slash - p), p, rest);
}

/* The Cookie header a browser sends for Set-Cookie lines ('\n'-separated): their name=value
 * parts joined with "; ", after `extra` (NULL for none). */
static void dl_cookie_header(char *out, size_t cap, const char *lines, const char *extra)
{
  size_t n = 0;
  if (extra)
    n = (size_t)snprintf(out, cap, "%s", extra);
  for (const char *l = lines; *l && n < cap;) {
    size_t len = strcspn(l, "\n"), nv = strcspn(l, ";\n");
    n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n ? "; " : "", (int)nv, l);
    l += len + (l[len] == '\n');
  }
  if (n >= cap)
    die("cookie header too long");
}

/* One CloudFront request for fuzz_delivery.c: mode byte with bits 5 and 6 (a second mode
 * byte follows), second byte `ext` (4: the CloudFront handle, | 1 no query, | 2 no cookie). */
static void put_dl_cf(const char *file, unsigned char mode, unsigned char ext, const char *path,
                      const char *cookie, const char *ip)
{
  char p[4096];
  if (snprintf(p, sizeof p, "%c%s", ext, path) >= (int)sizeof p)
    die("path too long");
  put_fields("delivery", file, (unsigned char)(mode | 96), p, "", cookie, ip, NULL);
}

/* CloudFront's base64 ('-' for '+', '~' for '/', '_' for '=') of data[0..n) into out. */
static void cf_b64(char *out, size_t cap, const unsigned char *data, size_t n)
{
  static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-~";
  size_t w = 0;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)data[i] << 16 | (i + 1 < n ? (unsigned)data[i + 1] << 8 : 0) |
                 (i + 2 < n ? data[i + 2] : 0);
    if (w + 5 > cap)
      die("cf_b64");
    out[w++] = alpha[v >> 18 & 63];
    out[w++] = alpha[v >> 12 & 63];
    out[w++] = i + 1 < n ? alpha[v >> 6 & 63] : '_';
    out[w++] = i + 2 < n ? alpha[v & 63] : '_';
  }
  out[w] = '\0';
}

/* The Cookie header of a custom policy signed by hand (RSA-SHA1, PKCS#1 v1.5, what
 * stream_cloudfront_sign_cookies does): policies our signer never writes. */
static void cf_hand_signed(char *out, size_t cap, const stream_key *k, const char *policy)
{
  unsigned char sig[512];
  size_t sl = sizeof sig;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha1(), NULL, k->pkey) != 1 ||
      EVP_DigestSign(ctx, sig, &sl, (const unsigned char *)policy, strlen(policy)) != 1)
    die("cloudfront hand signature");
  EVP_MD_CTX_free(ctx);
  char p64[2048], s64[1024];
  cf_b64(p64, sizeof p64, (const unsigned char *)policy, strlen(policy));
  cf_b64(s64, sizeof s64, sig, sl);
  if (snprintf(out, cap, "CloudFront-Policy=%s; CloudFront-Signature=%s; CloudFront-Key-Pair-Id=%s",
               p64, s64, k->id) >= (int)cap)
    die("cloudfront hand cookie");
}

/* CloudFront seeds for fuzz_delivery.c: the handle's signed cookies (a custom policy over
 * the session prefix, RSA PKCS#1 v1.5, deterministic) for the sessions the other formats
 * have, and validly signed cookies the origin must refuse, so that the mutation loop works
 * behind the signature: another cap's session, wider policies, a canned policy, expired,
 * not yet valid, bound to an address. */
static void gen_delivery_cloudfront(void)
{
  stream_key *k = NULL;
  stream_keyring *ring = NULL;
  if (stream_key_from_text(&k, STREAM_KEY_RSA_PRIVATE, "K2JCJMDEHXQW5F", PEM_RSA_PKCS1) ||
      stream_keyring_new(&ring) || stream_keyring_add(ring, k) ||
      stream_keyring_set_primary(ring, "K2JCJMDEHXQW5F"))
    die("cloudfront delivery key");
  const char *base = "https://media.test";
  static const char *const rests[] = {
      "master.m3u8",          "manifest.mpd",         "v720p_3000/seg_00001.m4s",
      "v360p_800/index.m3u8", "sub_en/seg_00001.vtt", "v360p_800/link.m4s",
      "summary.json",         "evil/passwd",          "v360p_800/seg_00002.m4s.tmp",
  };
  static const struct {
    const char *asset;
    int cap;
  } sessions[] = {{"a1", 720}, {"a1", 360}, {"a1", 0}, {"a2", 720}, {"a3", 0}};
  char name[64], path[4096], cookie[8192], c360[8192] = "";
  for (int sha = 0; sha < 2; sha++) {
    stream_delivery_options o = STREAM_DELIVERY_OPTIONS_INIT;
    o.base_url = base;
    o.keys = ring;
    o.format = STREAM_DELIVERY_CLOUDFRONT;
    o.cloudfront_hash = sha ? STREAM_CLOUDFRONT_SHA256 : 0;
    stream_delivery *d = NULL;
    if (stream_delivery_new(&d, &o) != STREAM_OK)
      die("stream_delivery_new cloudfront");
    for (size_t si = 0; si < sizeof sessions / sizeof *sessions; si++) {
      if (sha && si > 0)
        break; /* SHA-256: the one session */
      stream_delivery_urls u;
      if (stream_delivery_sign(&u, d, sessions[si].asset, sessions[si].cap, NOW + 3600, NULL) !=
          STREAM_OK)
        die("stream_delivery_sign cloudfront");
      dl_cookie_header(cookie, sizeof cookie, u.cookie, si == 0 ? "theme=dark" : NULL);
      if (si == 1)
        snprintf(c360, sizeof c360, "%s", cookie);
      for (size_t ri = 0; ri < sizeof rests / sizeof *rests; ri++) {
        if ((si > 0 || sha) && ri > 2)
          continue; /* the hostile names once */
        const char *rest = rests[ri];
        if (sessions[si].asset[1] == '2' && ri == 2)
          rest = "v1080p_5000/seg_00001.m4s";
        dl_path(path, sizeof path, u.hls_url, rest);
        snprintf(name, sizeof name, "cf%s_%s_h%d_%zu", sha ? "256" : "", sessions[si].asset,
                 sessions[si].cap, ri);
        put_dl_cf(name, 0, 4, path, cookie, "");
      }
      if (si == 0 && !sha) { /* HEAD, POST, expired, no cookie, no CloudFront cookie */
        dl_path(path, sizeof path, u.hls_url, "master.m3u8");
        put_dl_cf("cf_head", 4, 4, path, cookie, "");
        put_dl_cf("cf_post", 8, 4, path, cookie, "");
        put_dl_cf("cf_expired", 128, 4, path, cookie, "");
        put_dl_cf("cf_no_cookie", 0, 4 | 2, path, cookie, "");
        put_dl_cf("cf_other_cookie", 0, 4, path, "theme=dark", "");
      }
      stream_delivery_urls_clear(&u);
    }
    if (!sha) { /* a session bound to a client address, from it and from another one */
      stream_delivery_urls u;
      if (stream_delivery_sign(&u, d, "a1", 720, NOW + 3600, "192.0.2.7") != STREAM_OK)
        die("stream_delivery_sign cloudfront ip");
      dl_cookie_header(cookie, sizeof cookie, u.cookie, NULL);
      dl_path(path, sizeof path, u.hls_url, "v720p_3000/index.m3u8");
      put_dl_cf("cf_ip", 16, 4, path, cookie, "192.0.2.7");
      put_dl_cf("cf_ip_other", 16, 4, path, cookie, "192.0.2.8");
      stream_delivery_urls_clear(&u);
    }
    stream_delivery_free(d);
  }
  /* Another cap's session: h360's cookies on an h720 path. */
  put_dl_cf("cf_other_cap", 0, 4, "/v1/media/a1/h720/v720p_3000/seg_00001.m4s", c360, "");
  /* Validly signed, not this session's: wider custom policies, a canned one; a policy not
   * valid yet. */
  static const struct {
    const char *file, *resource;
    int64_t starts;
  } others[] = {
      {"cf_wide_caps", "https://media.test/v1/media/a1/h*", 0},
      {"cf_wide_asset", "https://media.test/v1/media/a1/*", 0},
      {"cf_wide_all", "https://media.test/v1/media/*", 0},
      {"cf_wide_query", "https://media.test/v1/media/a1/h720/*?", 0},
      {"cf_wide_char", "https://media.test/v1/media/a1/h?20/*", 0}, /* the prefix's length */
      {"cf_canned", "https://media.test/v1/media/a1/h720/master.m3u8", 0},
      {"cf_not_yet_valid", "https://media.test/v1/media/a1/h720/*", NOW + 60},
  };
  for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
    stream_cloudfront_sign_options co = STREAM_CLOUDFRONT_SIGN_OPTIONS_INIT;
    co.expires = NOW + 3600;
    co.starts = others[i].starts;
    char *lines = NULL;
    if (stream_cloudfront_sign_cookies(&lines, k, others[i].resource, &co) != STREAM_OK)
      die("stream_cloudfront_sign_cookies");
    dl_cookie_header(cookie, sizeof cookie, lines, NULL);
    put_dl_cf(others[i].file, 0, 4, "/v1/media/a1/h720/master.m3u8", cookie, "");
    stream_free(lines);
  }
  /* A custom policy over the prefix and one more byte ('?'), the length of the session's. */
  stream_cloudfront_sign_options one = STREAM_CLOUDFRONT_SIGN_OPTIONS_INIT;
  one.expires = NOW + 3600;
  one.custom = 1;
  char *lines = NULL;
  if (stream_cloudfront_sign_cookies(&lines, k, "https://media.test/v1/media/a1/h720/?", &one) !=
      STREAM_OK)
    die("stream_cloudfront_sign_cookies one");
  dl_cookie_header(cookie, sizeof cookie, lines, NULL);
  put_dl_cf("cf_wide_one_byte", 0, 4, "/v1/media/a1/h720/x", cookie, "");
  stream_free(lines);
  /* Hand-signed policies: no Resource (valid for CloudFront, every URL; the origin must
   * refuse it), two statements, a Resource that is not a string, an IPv6 AWS:SourceIp, and
   * the session's policy with blanks between the JSON tokens (valid: it opens). */
  static const struct {
    const char *file, *policy;
  } hand[] = {
      {"cf_hand_no_resource",
       "{\"Statement\":[{\"Condition\":{\"DateLessThan\":{\"AWS:EpochTime\":1700003600}}}]}"},
      {"cf_hand_two_statements",
       "{\"Statement\":[{\"Resource\":\"https://media.test/v1/media/a1/h720/*\",\"Condition\":"
       "{\"DateLessThan\":{\"AWS:EpochTime\":1700003600}}},{\"Resource\":\"x\"}]}"},
      {"cf_hand_resource_number",
       "{\"Statement\":[{\"Resource\":720,\"Condition\":{\"DateLessThan\":{\"AWS:EpochTime\":"
       "1700003600}}}]}"},
      {"cf_hand_ipv6",
       "{\"Statement\":[{\"Resource\":\"https://media.test/v1/media/a1/h720/*\",\"Condition\":"
       "{\"DateLessThan\":{\"AWS:EpochTime\":1700003600},\"IpAddress\":{\"AWS:SourceIp\":"
       "\"2001:db8::/32\"}}}]}"},
      {"cf_hand_blanks",
       "{ \"Statement\" : [ {\n  \"Resource\" : \"https://media.test/v1/media/a1/h720/*\",\n"
       "  \"Condition\" : { \"DateLessThan\" : { \"AWS:EpochTime\" : 1700003600 } }\n} ] }"},
  };
  for (size_t i = 0; i < sizeof hand / sizeof *hand; i++) {
    cf_hand_signed(cookie, sizeof cookie, k, hand[i].policy);
    put_dl_cf(hand[i].file, 16, 4, "/v1/media/a1/h720/master.m3u8", cookie, "192.0.2.7");
  }
  /* The other formats' handles through the second mode byte (native cookie, query and cookie
   * NULL: what bits 5 and 6 alone meant). */
  put_fields("delivery", "x_f1_none", 1 | 96, "\x03/v1/media/a1/h0/master.m3u8", "", "", "", NULL);
  stream_key_free(k);
  stream_keyring_free(ring);
}

/* Requests for fuzz_delivery.c (mode byte: format index | method << 2 | 16 ip | 32 no query |
 * 64 no cookie | 128 expired; 32 | 64 together: a second mode byte, see fuzz_delivery.c),
 * signed with its keys for its base URL and time. */
static void gen_delivery(void)
{
  stream_keyring *ring = NULL;
  stream_key *k1 = key(STREAM_KEY_HMAC, "k1", nat_k1, 32);
  stream_key *cdn = key(STREAM_KEY_HMAC, "cdn-key", g_cdn, 16);
  stream_key *edge = key(STREAM_KEY_ED25519_PRIVATE, "edge-key", g_edge, 32);
  if (stream_keyring_new(&ring) != STREAM_OK || stream_keyring_add(ring, k1) != STREAM_OK ||
      stream_keyring_add(ring, cdn) != STREAM_OK || stream_keyring_add(ring, edge) != STREAM_OK ||
      stream_keyring_set_primary(ring, "k1") != STREAM_OK)
    die("delivery keyring");
  static const char *const key_ids[4] = {NULL, NULL, "cdn-key", "edge-key"};
  static const char *const rests[] = {
      "master.m3u8",          "manifest.mpd",         "v720p_3000/seg_00001.m4s",
      "v360p_800/index.m3u8", "sub_en/seg_00001.vtt", "v360p_800/link.m4s",
      "summary.json",         "evil/passwd",          "v360p_800/seg_00002.m4s.tmp",
  };
  char name[64], path[4096], cookie[4096];
  for (int f = 0; f < 4; f++) {
    stream_delivery_options o = STREAM_DELIVERY_OPTIONS_INIT;
    o.base_url = "https://media.test";
    o.keys = ring;
    o.format = STREAM_DELIVERY_NATIVE_PATH + f;
    o.key_id = key_ids[f];
    stream_delivery *d = NULL;
    if (stream_delivery_new(&d, &o) != STREAM_OK)
      die("stream_delivery_new");
    static const struct {
      const char *asset;
      int cap;
    } sessions[] = {{"a1", 720}, {"a1", 360}, {"a1", 0}, {"a2", 720}, {"a3", 0}};
    for (size_t si = 0; si < sizeof sessions / sizeof *sessions; si++) {
      stream_delivery_urls u;
      if (stream_delivery_sign(&u, d, sessions[si].asset, sessions[si].cap, NOW + 3600, NULL) !=
          STREAM_OK)
        die("stream_delivery_sign");
      cookie[0] = 0;
      if (u.cookie) /* "name=value; Path=...": the Cookie header sends name=value */
        snprintf(cookie, sizeof cookie, "%.*s", (int)strcspn(u.cookie, ";"), u.cookie);
      for (size_t ri = 0; ri < sizeof rests / sizeof *rests; ri++) {
        if (si > 0 && ri > 2)
          continue; /* the hostile names once per format */
        const char *rest = rests[ri];
        if (sessions[si].asset[1] == '2' && ri == 2)
          rest = "v1080p_5000/seg_00001.m4s";
        dl_path(path, sizeof path, u.hls_url, rest);
        snprintf(name, sizeof name, "f%d_%s_h%d_%zu", f, sessions[si].asset, sessions[si].cap, ri);
        put_fields("delivery", name, (unsigned char)f, path, "", cookie, "", NULL);
      }
      if (f == 2 && si == 0) { /* Cloud CDN: the signed prefix in the query instead */
        stream_google_sign_options go = STREAM_GOOGLE_SIGN_OPTIONS_INIT;
        go.expires = NOW + 3600;
        char *q = NULL;
        if (stream_cloudcdn_sign_prefix(&q, cdn, NULL, u.prefix, &go) != STREAM_OK)
          die("stream_cloudcdn_sign_prefix");
        dl_path(path, sizeof path, u.hls_url, "v720p_3000/seg_00001.m4s");
        put_fields("delivery", "f2_query", 2 | 64, path, q, "", "", NULL);
        stream_free(q);
      }
      if (si == 0) { /* HEAD, POST, expired */
        dl_path(path, sizeof path, u.hls_url, "master.m3u8");
        snprintf(name, sizeof name, "f%d_head", f);
        put_fields("delivery", name, (unsigned char)(f | 4), path, "", cookie, "", NULL);
        snprintf(name, sizeof name, "f%d_post", f);
        put_fields("delivery", name, (unsigned char)(f | 8), path, "", cookie, "", NULL);
        snprintf(name, sizeof name, "f%d_expired", f);
        put_fields("delivery", name, (unsigned char)(f | 128), path, "", cookie, "", NULL);
      }
      stream_delivery_urls_clear(&u);
    }
    if (f == 0) { /* a session bound to a client address */
      stream_delivery_urls u;
      if (stream_delivery_sign(&u, d, "a1", 720, NOW + 3600, "192.0.2.7") != STREAM_OK)
        die("stream_delivery_sign ip");
      dl_path(path, sizeof path, u.hls_url, "v720p_3000/index.m3u8");
      put_fields("delivery", "f0_ip", 16, path, "", "", "192.0.2.7", NULL);
      stream_delivery_urls_clear(&u);
    }
    stream_delivery_free(d);
  }
  put_fields("delivery", "dotdot", 0, "/v1/media/a1/h0/st=x/../summary.json", "", "", "", NULL);
  put_fields("delivery", "encoded", 1, "/v1/media/a1/h720/%2e%2e/master.m3u8", "", "", "", NULL);
  stream_key_free(k1);
  stream_key_free(cdn);
  stream_key_free(edge);
  stream_keyring_free(ring);
  gen_delivery_cloudfront();
}
#endif

/* fuzz_signers seeds: the signer byte, two flag bytes, then up to 40 fields
 * joined by '\n' (NULL ends the list). The target signs them itself. */
static void put_signer(const char *file, unsigned char mode, unsigned char f1, unsigned char f2,
                       const char *const *fields)
{
  static char buf[16384];
  size_t n = 0;
  buf[n++] = (char)f1;
  buf[n++] = (char)f2;
  for (int i = 0; i < 40 && fields[i]; i++) {
    int w = snprintf(buf + n, sizeof buf - n, "%s%s", i ? "\n" : "", fields[i]);
    if (w < 0 || (size_t)w >= sizeof buf - n)
      die("signer seed too long");
    n += (size_t)w;
  }
  put("signers", file, mode, buf, n);
}

#define SIGNER(file, mode, f1, f2, ...)                                                            \
  do {                                                                                             \
    const char *const fields_[] = {__VA_ARGS__, NULL};                                             \
    put_signer(file, mode, f1, f2, fields_);                                                       \
  } while (0)

static void gen_signers(void)
{
  const char *pfx = "https://cdn.example/v1/media/a1/";
  /* native: f1 = expiry (bits 0-1), not-before (2-3), key id (4-6), ip "" (7) */
  SIGNER("native_url", 0, 0, 0, "https://cdn.example/v/a.m3u8?x=1");
  SIGNER("native_url_ip_nbf", 0, 0x08, 0, "https://cdn.example/v/b.ts", "", "203.0.113.0/24");
  SIGNER("native_url_k2_ip6", 0, 0x20, 0, "https://cdn.example/v/b.ts", "", "2001:db8::/32");
  SIGNER("native_prefix_url", 1, 0, 0, pfx, "https://cdn.example/v1/media/a1/h720/seg_1.m4s",
         "2001:db8::1");
  SIGNER("native_prefix_params", 1, 0x04, 0, "https://cdn.example/v1/media/a", "");
  SIGNER("native_cookie_ip", 2, 0x10, 0, pfx, "", "203.0.113.7");
  SIGNER("native_path", 3, 0, 0, "https://cdn.example/v1/media/a1/h720/", "master.m3u8");
  SIGNER("native_path_empty_rest", 3, 0x02, 1, pfx, "");
  /* native into: f1 = form number (bits 0-3), key id (4-6); f2 = NULL url (0), NULL
   * prefix (1), capacity (2-3) */
  SIGNER("native_into_url", 4, 1, 2 | (3 << 2), "https://cdn.example/v/a.m3u8", "");
  SIGNER("native_into_prefix_short", 4, 2, 1 << 2, "https://cdn.example/v/a.m3u8", pfx);
  SIGNER("native_into_cookie", 4, 4, 1 | (2 << 2), "", pfx);
  SIGNER("native_into_path", 4, 8, 3 << 2, "master.m3u8", "https://cdn.example/v1/");
  /* Google: f1 = expiry (bits 0-2), key (3-5); f2 bit 0: an empty second field is "" */
  SIGNER("cloud_url", 5, 0, 0, "http://www.example.com/some/path?some=query&another=param");
  SIGNER("cloud_prefix_url", 6, 0, 0, "http://www.example.com/some/",
         "http://www.example.com/some/x.ts");
  SIGNER("cloud_prefix_params", 6, 1, 0, "http://www.example.com/some/");
  SIGNER("cloud_cookie", 7, 2, 0, "http://www.example.com/some/");
  SIGNER("media_url", 8, 0, 0, "https://media.example.com/v/abc/master.m3u8");
  SIGNER("media_prefix", 9, 0, 0, "https://media.example.com/v/abc/",
         "https://media.example.com/v/abc/720p/seg_1.ts");
  SIGNER("media_path", 10, 0, 0, "https://media.example.com/v/abc/", "master.m3u8");
  SIGNER("media_path_no_file", 10, 4, 1, "https://media.example.com/v/abc/", "");
  SIGNER("media_cookie_key2", 11, 3 << 3, 0, "https://media.example.com/v/abc/");
  /* Media CDN tokens: f1 = expiry (0-2), key (3-5), scope (6-7: prefix, full path,
   * globs, two); f2 = Starts (0-1), HMAC (2-3), empty fields are "" (4) */
  SIGNER("token_prefix_all", 12, 0, 1, "https://media.example.com/v/abc/", "session-1", "data-1",
         "203.0.113.0/24,2001:db8:4a7f:a732/64", "User-Agent:curl/8.0 (x86_64)", "X-Foo:bar");
  SIGNER("token_full_path_hmac", 12, (1 << 3) | (1 << 6), 2 | (1 << 2), "/tv/master.m3u8");
  SIGNER("token_globs_sha1", 12, (1 << 3) | (2 << 6), 2 << 2, "/tv/*.ts!/tv/*.m3u8");
  SIGNER("token_ttl", 12, 4, 0, "https://media.example.com/", "", "", "::1/128");
  /* JWT: f1 = kid (0-2), expiry (3-5), jti (6), NULL claims (7); f2 = nbf (0-1),
   * empty fields are "" (2) */
  SIGNER("jwt_claims", 13, 0, 0, "{\"pid\":\"p1\",\"scope\":\"play\",\"n\":3}", "acct-1",
         "https://issuer.example", "streamd", "");
  SIGNER("jwt_ed_aud_array", 13, 2 | (1 << 3), 1, "{\"aud\":[\"a\",\"b\"],\"x\":[1,{\"y\":null}]}",
         "", "", "", "at+jwt");
  SIGNER("jwt_no_claims_jti", 13, 0x40 | 0x80 | (6 << 3), 3, "", "acct-2");
  /* Branches out of the mutator's reach: the member names and numbers cJSON
   * compares or prints (numbers that "%1.15g" cannot carry), a header list
   * over the limit, an IPRanges list at its size limit and one byte over. */
  SIGNER("cov_jwt_inexact_numbers", 13, 2 << 3, 0,
         "{\"n\":9007199254740991,\"f\":0.30000000000000004,\"a\":[1e300,-2.5e-300],"
         "\"nbf\":1699999999.5}");
  static const char *many[40];
  static char hdr[34][16];
  many[0] = "https://media.example.com/";
  many[1] = many[2] = many[3] = "";
  for (int i = 0; i < 33; i++) {
    snprintf(hdr[i], sizeof hdr[i], "H%d:v", i);
    many[4 + i] = hdr[i];
  }
  many[37] = NULL;
  put_signer("cov_token_33_headers", 12, 0, 0, many);
  static char ranges[3100];
  ranges[0] = '\0';
  for (int i = 0; i < 204; i++)
    strcat(ranges, "203.0.113.0/24,");
  strcat(ranges, "203.0.113.77"); /* 3072 bytes: the most IPRanges may hold */
  SIGNER("cov_token_ip_ranges_max", 12, 0, 0, "https://media.example.com/", "", "", ranges);
  strcpy(ranges + strlen(ranges) - 2, "177"); /* 3073 bytes, still valid */
  SIGNER("cov_token_ip_ranges_over", 12, 0, 0, "https://media.example.com/", "", "", ranges);
}

/* CloudFront seeds: mode byte, flags byte, then url \n cookies-or-resource \n ip,
 * signed with the RSA fixture key (PKCS#1 v1.5 is deterministic). */
static void put_cf(const char *file, unsigned char mode, unsigned char flags, const char *a,
                   const char *b, const char *c)
{
  char buf[16384];
  int n = snprintf(buf, sizeof buf, "%c%s\n%s\n%s", flags, a, b, c);
  put("sign_cloudfront", file, mode, buf, (size_t)n);
}

static void gen_cloudfront(void)
{
  stream_key *k = NULL;
  if (stream_key_from_text(&k, STREAM_KEY_RSA_PRIVATE, "K2JCJMDEHXQW5F", PEM_RSA_PKCS1))
    die("cloudfront key");
  stream_cloudfront_sign_options o = STREAM_CLOUDFRONT_SIGN_OPTIONS_INIT;
  o.expires = NOW + 600;
  const char *url = "https://d111111abcdef8.cloudfront.net/v/abc/master.m3u8?x=1";
  const char *prefix = "https://d111111abcdef8.cloudfront.net/v/abc/*";
  char *out = NULL;
  if (stream_cloudfront_sign_url(&out, k, url, &o))
    die("cloudfront url");
  put_cf("canned_url", 0, 0, out, "", "");
  stream_free(out);
  o.starts = NOW - 60;
  o.ip = "203.0.113.0/24";
  o.resource = prefix;
  o.hash = STREAM_CLOUDFRONT_SHA256;
  if (stream_cloudfront_sign_url(&out, k, url, &o))
    die("cloudfront custom url");
  put_cf("custom_url", 0, 0, out, "", "203.0.113.9");
  stream_free(out);
  o.resource = NULL;
  if (stream_cloudfront_sign_cookies(&out, k, prefix, &o))
    die("cloudfront cookies");
  put_cf("cookies", 1, 0, "https://d111111abcdef8.cloudfront.net/v/abc/seg.ts", out, "203.0.113.9");
  for (char *p = out; (p = strchr(p, '\n')) != NULL && p[1];)
    *p = ';';
  put_cf("cookie_header", 1, 0, "https://d111111abcdef8.cloudfront.net/v/abc/seg.ts", out,
         "203.0.113.9");
  stream_free(out);
  put_cf("sign_url", 2, 3, url, prefix, "203.0.113.0/24");
  put_cf("sign_cookies", 3, 9, prefix, "", "203.0.113.7");
  /* Behind a valid signature, out of the mutator's reach: an expired canned
   * URL, a custom policy before its DateGreaterThan, and a policy bound to a
   * block that ends inside a byte, checked against an IPv4-mapped client. */
  stream_cloudfront_sign_options e = STREAM_CLOUDFRONT_SIGN_OPTIONS_INIT;
  e.expires = NOW - 60;
  if (stream_cloudfront_sign_url(&out, k, url, &e))
    die("cloudfront expired");
  put_cf("cov_expired", 0, 0, out, "", "");
  stream_free(out);
  e.expires = NOW + 600;
  e.starts = NOW + 60;
  if (stream_cloudfront_sign_url(&out, k, url, &e))
    die("cloudfront not yet valid");
  put_cf("cov_not_yet_valid", 0, 0, out, "", "");
  stream_free(out);
  e.starts = 0;
  e.ip = "203.0.112.0/20";
  if (stream_cloudfront_sign_url(&out, k, url, &e))
    die("cloudfront ip block");
  put_cf("cov_ip_mapped_client", 0, 0, out, "", "::ffff:203.0.113.9");
  stream_free(out);
  stream_key_free(k);
}

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  root = argv[1];
  if (mkdir(root, 0755) != 0 && errno != EEXIST)
    die(root);
  gen_token();
  gen_native();
  gen_google();
  gen_cloudfront();
  gen_signers();
  gen_upload();
#if FUZZ_HAVE_SERVER
  gen_events();
  gen_delivery();
#endif
  gen_subs();
  return 0;
}
