/*
 * The origin: GET/HEAD /v1/media/<asset>/h<cap>/[token/]<file>. The delivery
 * library checks the signature, the cap and the path and opens the file;
 * this file speaks HTTP around it: conditional requests (ETag, Last-Modified),
 * one byte range (206 / 416), gzip for manifests, cache policy, CORS with
 * credentials for cookie sessions, and sendfile for file bodies. Also owns
 * the media state of the application (signing key, delivery handle).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <zlib.h>

#include "app.h"
#include "keyfile.h"
#include "log.h"
#include "origin_cmcd.h"
#include "problem.h"
#include "routes.h"
#include "routes_util.h"
#include "stream/delivery.h"
#include "stream/sign.h"

#define MEDIA_KEY_ROLE "media" /* keys/media.key (media-1), media-<n>[.next].key */
#define GZIP_MIN 256

/*
 * CloudFront: an RSA 2048 key generated on the first start (PKCS#8 PEM, 0600), or an RSA or
 * EC P-256 private key PEM the operator gives. Its public half (SubjectPublicKeyInfo PEM,
 * what CloudFront's "Create public key" takes; not a secret) is logged at start, for the
 * operator to register under the Key-Pair-Id media_key_name.
 */
static int cloudfront_key(stream_key **out, const char *path, int generate, const char *id)
{
  struct stat st;
  if (lstat(path, &st) != 0) {
    /* absent: generate (default file) or stop naming the file (media_key_file) */
    if (streamd_key_file(out, path, generate, STREAM_KEY_RSA_PRIVATE, id, 0, STREAM_KEY_FORMAT_PEM,
                         "media signing key") != 0)
      return -1;
  } else {
    /* Checked and read on one descriptor (keyfile.h), then parsed as RSA or else EC. */
    char *text = NULL;
    if (streamd_read_key_file(&text, path, generate) != 0)
      return -1;
    int rc = stream_key_from_text(out, STREAM_KEY_RSA_PRIVATE, id, text);
    if (rc != STREAM_OK)
      rc = stream_key_from_text(out, STREAM_KEY_EC_PRIVATE, id, text);
    stream_free_secret(text, strlen(text));
    if (rc != STREAM_OK) {
      streamd_logf(STREAM_LOG_ERROR, "loading %s (an RSA 2048 or EC P-256 private key PEM): %s",
                   path, stream_error_last()->message);
      return -1;
    }
  }
  stream_key *pub = NULL;
  char *text = NULL;
  if (stream_key_public(&pub, *out) == STREAM_OK &&
      stream_key_export(&text, pub, STREAM_KEY_FORMAT_PEM) == STREAM_OK)
    streamd_logf(STREAM_LOG_INFO,
                 "media signing: CloudFront Key-Pair-Id '%s' (%s), public key:\n%s", id,
                 stream_key_type_of(*out) == STREAM_KEY_EC_PRIVATE ? "EC P-256" : "RSA", text);
  if (text)
    stream_free_secret(text, strlen(text));
  stream_key_free(pub);
  return 0;
}

/*
 * The key of a CDN format, in the keys directory `dir` unless media_key_file
 * names it (the native formats' keys are streamd_key_generations()'s). Cloud
 * CDN: a 16-byte HMAC key in base64url (what
 * `gcloud compute backend-buckets add-signed-url-key --key-file` takes).
 * Media CDN: an Ed25519 private key (PEM); its public half goes in the
 * CDN's keyset and is logged at start (it is not a secret). Keys named by
 * media_key_file must exist; the default file under <data_dir>/keys is
 * generated on first start.
 */
static int media_key(stream_key **out, const streamd_config *cfg, const char *dir, int format)
{
  char path[1200];
  int cloud = format == STREAM_DELIVERY_CLOUDCDN;
  int generate = !cfg->media_key_file[0];
  if (generate && format == STREAM_DELIVERY_CLOUDFRONT)
    snprintf(path, sizeof(path), "%s/cloudfront.pem", dir);
  else if (generate)
    snprintf(path, sizeof(path), "%s/%s.key", dir, cloud ? "cloudcdn" : "mediacdn");
  else
    snprintf(path, sizeof(path), "%s", cfg->media_key_file);
  if (!cfg->media_key_name[0]) {
    streamd_logf(STREAM_LOG_ERROR, "media_key_name must not be empty with media_signing %s",
                 cfg->media_signing);
    return -1;
  }
  if (format == STREAM_DELIVERY_CLOUDFRONT)
    return cloudfront_key(out, path, generate, cfg->media_key_name);
  if (cloud)
    return streamd_key_file(out, path, generate, STREAM_KEY_HMAC, cfg->media_key_name, 16,
                            STREAM_KEY_FORMAT_BASE64URL, "media signing key");
  if (streamd_key_file(out, path, generate, STREAM_KEY_ED25519_PRIVATE, cfg->media_key_name, 0,
                       STREAM_KEY_FORMAT_PEM, "media signing key") != 0)
    return -1;
  stream_key *pub = NULL;
  char *text = NULL;
  if (stream_key_public(&pub, *out) == STREAM_OK &&
      stream_key_export(&text, pub, STREAM_KEY_FORMAT_BASE64URL) == STREAM_OK)
    streamd_logf(STREAM_LOG_INFO, "media signing: Media CDN key '%s', public key %s",
                 cfg->media_key_name, text);
  if (text)
    stream_free_secret(text, strlen(text));
  stream_key_free(pub);
  return 0;
}

int streamd_media_open(streamd_app *app)
{
  static const struct {
    const char *name;
    int format;
  } formats[] = {{"path", STREAM_DELIVERY_NATIVE_PATH},
                 {"cookie", STREAM_DELIVERY_NATIVE_COOKIE},
                 {"cloudcdn", STREAM_DELIVERY_CLOUDCDN},
                 {"mediacdn", STREAM_DELIVERY_MEDIACDN},
                 {"cloudfront", STREAM_DELIVERY_CLOUDFRONT}};
  int format = 0;
  for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
    if (strcmp(app->cfg->media_signing, formats[i].name) == 0)
      format = formats[i].format;
  if (!format) {
    streamd_logf(STREAM_LOG_ERROR,
                 "media_signing must be \"path\", \"cookie\", \"cloudcdn\", \"mediacdn\" or "
                 "\"cloudfront\", not \"%s\"",
                 app->cfg->media_signing);
    return -1;
  }
  snprintf(app->media_root, sizeof(app->media_root), "%s/media", app->cfg->data_dir);
  if (mkdir(app->media_root, 0700) != 0 && errno != EEXIST) {
    streamd_logf(STREAM_LOG_ERROR, "%s: %s", app->media_root, strerror(errno));
    return -1;
  }
  int sha256 = strcmp(app->cfg->media_hash, "sha256") == 0;
  if (!sha256 && strcmp(app->cfg->media_hash, "sha1") != 0) {
    streamd_logf(STREAM_LOG_ERROR, "media_hash must be \"sha1\" or \"sha256\", not \"%s\"",
                 app->cfg->media_hash);
    return -1;
  }
  char dir[1100];
  snprintf(dir, sizeof(dir), "%s/keys", app->cfg->data_dir);
  if (streamd_ensure_dir(dir) != 0)
    return -1;
  int rc = STREAM_OK;
  if (format == STREAM_DELIVERY_NATIVE_PATH || format == STREAM_DELIVERY_NATIVE_COOKIE) {
    /* keys/media.key and its generations (keyfile.h): the highest active one signs new
     * sessions, every one verifies the URLs and cookies in flight. */
    if (streamd_key_generations(&app->media_keys, dir, MEDIA_KEY_ROLE, "media signing key") != 0)
      return -1;
  } else {
    stream_key *key = NULL;
    if (media_key(&key, app->cfg, dir, format) != 0)
      return -1;
    rc = stream_keyring_new(&app->media_keys);
    if (rc == STREAM_OK)
      rc = stream_keyring_add(app->media_keys, key);
    if (rc == STREAM_OK)
      rc = stream_keyring_set_primary(app->media_keys, stream_key_id(key));
    stream_key_free(key);
  }
  stream_delivery_options o = STREAM_DELIVERY_OPTIONS_INIT;
  o.base_url = app->public_url;
  o.media_root = app->media_root;
  o.keys = app->media_keys;
  o.format = format;
  o.leeway = 30;
  o.cloudfront_hash = sha256 ? STREAM_CLOUDFRONT_SHA256 : STREAM_CLOUDFRONT_SHA1;
  if (rc == STREAM_OK)
    rc = stream_delivery_new(&app->delivery, &o);
  if (rc == STREAM_OK) {
    /* Sign once now, so a key the format cannot use (a KeyName outside the CDN's grammar)
     * stops the start instead of failing every playback. */
    stream_delivery_urls u;
    rc =
        stream_delivery_sign(&u, app->delivery, "startup-check", 0, (int64_t)time(NULL) + 60, NULL);
    stream_delivery_urls_clear(&u);
  }
  stream_jobs_options jo = STREAM_JOBS_OPTIONS_INIT;
  jo.store = app->store;
  if (rc == STREAM_OK)
    rc = stream_jobs_new(&app->media_jobs, &jo);
  if (rc != STREAM_OK) {
    streamd_logf(STREAM_LOG_ERROR, "delivery (media_signing %s): %s", app->cfg->media_signing,
                 stream_error_last()->message);
    return -1;
  }
  return 0;
}

void streamd_media_close(streamd_app *app)
{
  stream_jobs_free(app->media_jobs);
  app->media_jobs = NULL;
  stream_delivery_free(app->delivery);
  app->delivery = NULL;
  stream_keyring_free(app->media_keys);
  app->media_keys = NULL;
}

/* ---- HTTP helpers ----------------------------------------------------------- */

static void http_date(char *out, size_t n, int64_t t)
{
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(out, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* IMF-fixdate only (what every current client sends); -1 when unparsable. */
static int64_t parse_http_date(const char *s)
{
  struct tm tm;
  memset(&tm, 0, sizeof(tm));
  const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end)
    return -1;
  return (int64_t)timegm(&tm);
}

enum { RANGE_NONE = 0, RANGE_OK = 1, RANGE_BAD = 2 };

/* The digits at p as a number saturated at UINT64_MAX (*over set when it did not fit). */
static uint64_t range_pos(const char *p, const char **end, int *over)
{
  uint64_t v = 0;
  *over = 0;
  for (; *p >= '0' && *p <= '9'; p++) {
    unsigned int d = (unsigned int)(*p - '0');
    if (*over || v > (UINT64_MAX - d) / 10)
      *over = 1;
    else
      v = v * 10 + d;
  }
  *end = p;
  return *over ? UINT64_MAX : v;
}

/* strcmp for two decimal numbers of any length (digits a[0..an), b[0..bn)). */
static int digits_cmp(const char *a, size_t an, const char *b, size_t bn)
{
  while (an > 1 && *a == '0')
    a++, an--;
  while (bn > 1 && *b == '0')
    b++, bn--;
  if (an != bn)
    return an < bn ? -1 : 1;
  return memcmp(a, b, an);
}

/*
 * One "bytes=" range against `size` (RFC 9110 14.1.2; the unit without case). Multiple ranges,
 * other units and invalid ranges (signs, spaces, last < first) are ignored: RANGE_NONE, the
 * whole file. A first position at or past the end is RANGE_BAD (416) however large, also too
 * large for 64 bits; a last position past the end, however large, means "to the end", and so
 * does a suffix longer than the file.
 */
static int parse_range(const char *h, uint64_t size, uint64_t *off, uint64_t *len)
{
  if (strncasecmp(h, "bytes=", 6) != 0 || strchr(h, ','))
    return RANGE_NONE;
  const char *p = h + 6;
  while (*p == ' ')
    p++;
  const char *end = NULL;
  int over = 0;
  /* Digits only: strtoull would take a sign or spaces ("bytes=--5", "0-+5"). */
  if (*p == '-') {
    if (p[1] < '0' || p[1] > '9')
      return RANGE_NONE;
    uint64_t n = range_pos(p + 1, &end, &over);
    if (*end)
      return RANGE_NONE;
    if (n == 0 || size == 0)
      return RANGE_BAD;
    if (n > size)
      n = size;
    *off = size - n;
    *len = n;
    return RANGE_OK;
  }
  if (*p < '0' || *p > '9')
    return RANGE_NONE;
  uint64_t a = range_pos(p, &end, &over);
  const char *a_digits = p;
  size_t a_n = (size_t)(end - p);
  int a_over = over;
  if (*end != '-')
    return RANGE_NONE;
  const char *q = end + 1;
  uint64_t b = UINT64_MAX; /* "a-": to the end */
  if (*q) {
    if (*q < '0' || *q > '9')
      return RANGE_NONE;
    b = range_pos(q, &end, &over);
    if (*end)
      return RANGE_NONE;
    if (a_over && over ? digits_cmp(q, (size_t)(end - q), a_digits, a_n) < 0 : b < a)
      return RANGE_NONE;
  }
  if (a >= size)
    return RANGE_BAD;
  if (b >= size)
    b = size - 1;
  *off = a;
  *len = b - a + 1;
  return RANGE_OK;
}

/* A qvalue ("0", "0.5", "1.000") above zero; a malformed one counts as zero. */
static int qvalue_positive(const char *v, size_t n)
{
  if (n == 0 || v[0] < '0' || v[0] > '9')
    return 0;
  for (size_t i = 0; i < n; i++)
    if (v[i] >= '1' && v[i] <= '9')
      return 1;
  return 0;
}

/*
 * 1 when Accept-Encoding allows gzip (RFC 9110 12.5.3): "gzip" (or its alias "x-gzip") listed
 * with a weight above zero, or not listed and "*" with a weight above zero. Codings are whole
 * tokens without case ("x-gzipfoo" is not gzip); OWS may surround ';' and '=' ("gzip ; q = 0").
 */
static int accepts_gzip(const char *ae)
{
  if (!ae)
    return 0;
  int gzip = -1, star = -1; /* not listed, or whether listed with q > 0 */
  const char *p = ae;
  while (*p) {
    while (streamd_ows(*p) || *p == ',')
      p++;
    if (!*p)
      break;
    const char *t = p;
    while (*p && *p != ',' && *p != ';' && !streamd_ows(*p))
      p++;
    size_t tn = (size_t)(p - t);
    int q = 1;
    for (;;) { /* parameters: OWS ";" OWS name OWS "=" OWS value */
      while (streamd_ows(*p))
        p++;
      if (*p != ';')
        break;
      for (p++; streamd_ows(*p); p++) {
      }
      const char *name = p;
      while (*p && *p != '=' && *p != ',' && *p != ';' && !streamd_ows(*p))
        p++;
      size_t nn = (size_t)(p - name);
      while (streamd_ows(*p))
        p++;
      if (*p != '=')
        continue;
      for (p++; streamd_ows(*p); p++) {
      }
      const char *v = p;
      while (*p && *p != ',' && *p != ';' && !streamd_ows(*p))
        p++;
      if (nn == 1 && (*name == 'q' || *name == 'Q'))
        q = qvalue_positive(v, (size_t)(p - v));
    }
    while (*p && *p != ',')
      p++;
    if ((tn == 4 && strncasecmp(t, "gzip", 4) == 0) ||
        (tn == 6 && strncasecmp(t, "x-gzip", 6) == 0))
      gzip = gzip == 1 || q;
    else if (tn == 1 && *t == '*')
      star = q;
  }
  return gzip >= 0 ? gzip : star == 1;
}

/* gzip `in` into a malloc'd buffer; NULL on failure. */
static char *gzip_text(const char *in, size_t n, size_t *out_len)
{
  z_stream z;
  memset(&z, 0, sizeof(z));
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return NULL;
  size_t cap = deflateBound(&z, (uLong)n) + 32;
  char *out = malloc(cap);
  if (!out) {
    deflateEnd(&z);
    return NULL;
  }
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)n;
  z.next_out = (Bytef *)out;
  z.avail_out = (uInt)cap;
  int rc = deflate(&z, Z_FINISH);
  *out_len = cap - z.avail_out;
  deflateEnd(&z);
  if (rc != Z_STREAM_END) {
    free(out);
    return NULL;
  }
  return out;
}

static char *read_whole(int fd, uint64_t size)
{
  if (size > (8u << 20))
    return NULL;
  char *buf = malloc((size_t)size + 1);
  if (!buf)
    return NULL;
  size_t got = 0;
  while (got < size) {
    ssize_t r = pread(fd, buf + got, (size_t)size - got, (off_t)got);
    if (r <= 0) {
      free(buf);
      return NULL;
    }
    got += (size_t)r;
  }
  buf[size] = '\0';
  return buf;
}

/* The raw query rebuilt from libmicrohttpd's arguments (only the Cloud CDN format uses it). */
struct query_acc {
  char *buf;
  size_t len, cap;
};

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
  (void)kind;
  struct query_acc *q = cls;
  /* CMCD is never signed (stream_delivery_open leaves it out too); skipped here as well, as
   * its decoded value may hold '&' and make the rebuilt query too long. */
  if (key && strcmp(key, "CMCD") == 0)
    return MHD_YES;
  int n = snprintf(q->buf + q->len, q->cap - q->len, "%s%s%s%s", q->len ? "&" : "", key,
                   value ? "=" : "", value ? value : "");
  if (n < 0 || (size_t)n >= q->cap - q->len)
    return MHD_NO;
  q->len += (size_t)n;
  return MHD_YES;
}

static void media_problem(streamd_response *resp, const streamd_request *req,
                          const stream_delivery_file *f)
{
  const char *why = stream_error_last()->message;
  switch (f->reason) {
  case STREAM_DELIVERY_SIGNATURE:
  case STREAM_DELIVERY_ABOVE_CAP:
    streamd_reply_problem(resp, req, STREAM_EFORBIDDEN, why);
    break;
  case STREAM_DELIVERY_BAD_PATH:
  case STREAM_DELIVERY_NOT_FOUND:
    streamd_reply_problem(resp, req, STREAM_ENOTFOUND, why);
    break;
  default:
    streamd_reply_problem(resp, req, STREAM_EIO, why);
    break;
  }
}

void streamd_route_media(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return;
  if (!app->delivery) {
    streamd_reply_problem(resp, req, STREAM_EBUSY, "the origin is not configured");
    return;
  }
  streamd_origin_cmcd_tally cmcd; /* the player's CMCD: logged, never an error */
  streamd_origin_cmcd(req, &cmcd);
  char client[64];
  streamd_client_address(client, sizeof(client), req);
  char query[4096];
  struct query_acc qa = {query, 0, sizeof(query)};
  query[0] = '\0';
  MHD_get_connection_values((struct MHD_Connection *)req->conn, MHD_GET_ARGUMENT_KIND, add_arg,
                            &qa);
  stream_delivery_request dr = STREAM_DELIVERY_REQUEST_INIT;
  dr.method = req->method;
  dr.path = req->path;
  dr.query = query;
  dr.cookie = streamd_request_header(req, "Cookie");
  dr.client_ip = client[0] ? client : NULL;
  stream_delivery_file f;
  if (stream_delivery_open(&f, app->delivery, &dr) != STREAM_OK) {
    media_problem(resp, req, &f);
    stream_delivery_file_clear(&f);
    return;
  }
  streamd_origin_cmcd_count(&cmcd); /* counted once the request is known to be signed */

  int manifest = f.kind == STREAM_DELIVERY_KIND_MASTER || f.kind == STREAM_DELIVERY_KIND_MPD ||
                 f.kind == STREAM_DELIVERY_KIND_PLAYLIST;
  int gz = manifest && accepts_gzip(streamd_request_header(req, "Accept-Encoding"));
  /* A representation's tag: the file's, plus the cap for filtered manifests and -gz. */
  char suffix[24] = "";
  if ((f.kind == STREAM_DELIVERY_KIND_MASTER || f.kind == STREAM_DELIVERY_KIND_MPD) && f.max_height)
    snprintf(suffix, sizeof(suffix), "-c%d", f.max_height);
  char etag[96];
  snprintf(etag, sizeof(etag), "%.*s%s%s\"", (int)(strlen(f.etag) - 1), f.etag, suffix,
           gz ? "-gz" : "");
  char lm[64];
  http_date(lm, sizeof(lm), f.mtime);

  /* Conditional requests in RFC 9110 13.2.2's order, before Range. First the preconditions a
   * download manager or a CDN sends to be sure it still fetches the representation it started
   * with: If-Match (strong comparison; "*" matches any file), else If-Unmodified-Since (a date
   * that does not parse is ignored). When one fails: 412, an error like the 416 (no-store, no
   * validators). */
  const char *im = streamd_request_header(req, "If-Match");
  const char *ius = im ? NULL : streamd_request_header(req, "If-Unmodified-Since");
  int64_t ius_t = ius ? parse_http_date(ius) : -1;
  if ((im && !streamd_etag_listed(im, etag, 1)) || (ius_t >= 0 && f.mtime > ius_t)) {
    int via_cookie = f.via_cookie;
    stream_delivery_file_clear(&f);
    streamd_reply_problem(resp, req, STREAMD_P_PRECONDITION,
                          im ? "If-Match does not list the file's current ETag"
                             : "the file was modified after If-Unmodified-Since");
    if (via_cookie)
      streamd_response_header(resp, "Access-Control-Allow-Credentials", "true");
    return;
  }
  /* Then If-None-Match, which wins over If-Modified-Since. A 304 is built like the 200 it stands
   * for, then sent without its body: libmicrohttpd 0.9.75 writes the response's own size as
   * Content-Length even on a 304, and RFC 9110 8.6 allows only the 200's length there. */
  const char *inm = streamd_request_header(req, "If-None-Match");
  const char *ims = streamd_request_header(req, "If-Modified-Since");
  int not_modified = 0;
  if (inm)
    not_modified = streamd_etag_listed(inm, etag, 0);
  else if (ims) {
    int64_t t = parse_http_date(ims);
    not_modified = t >= 0 && f.mtime <= t;
  }

  /* Files: one range at most; If-Range with another validator means the whole file. */
  uint64_t off = 0, len = f.size;
  int status = 200;
  const char *range = manifest || not_modified ? NULL : streamd_request_header(req, "Range");
  const char *if_range = streamd_request_header(req, "If-Range");
  if (range && (!if_range || strcmp(if_range, f.etag) == 0 || strcmp(if_range, etag) == 0)) {
    int r = parse_range(range, f.size, &off, &len);
    if (r == RANGE_BAD) {
      /* An error like the origin's others (no-store, no validators: a cache must not keep
       * it for the file), with the length a client needs to ask again. */
      char cr[64];
      snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)f.size);
      int via_cookie = f.via_cookie;
      stream_delivery_file_clear(&f);
      streamd_reply_problem(resp, req, STREAMD_P_RANGE, "the requested range is not satisfiable");
      streamd_response_header(resp, "Content-Range", cr);
      if (via_cookie)
        streamd_response_header(resp, "Access-Control-Allow-Credentials", "true");
      streamd_response_header(resp, "Access-Control-Expose-Headers", "Content-Range");
      return;
    }
    if (r == RANGE_OK) {
      char cr[96];
      snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)off,
               (unsigned long long)(off + len - 1), (unsigned long long)f.size);
      streamd_response_header(resp, "Content-Range", cr);
      status = 206;
    } else {
      off = 0;
      len = f.size;
    }
  }

  streamd_response_header(resp, "Cache-Control", f.cache_control);
  streamd_response_header(resp, "ETag", etag);
  streamd_response_header(resp, "Last-Modified", lm);
  if (manifest)
    streamd_response_header(resp, "Vary", "Accept-Encoding");
  else
    streamd_response_header(resp, "Accept-Ranges", "bytes");
  /* http.c sends it only to an origin cors_origins names itself. */
  if (f.via_cookie)
    streamd_response_header(resp, "Access-Control-Allow-Credentials", "true");
  streamd_response_header(resp, "Access-Control-Expose-Headers",
                          "Content-Length, Content-Range, ETag");

  if (manifest) {
    char *text = NULL;
    size_t tlen = 0;
    int rc = STREAM_OK;
    if (f.kind == STREAM_DELIVERY_KIND_PLAYLIST) {
      text = read_whole(f.fd, f.size);
      tlen = text ? (size_t)f.size : 0;
      rc = text ? STREAM_OK : STREAM_EIO;
    } else {
      rc = stream_delivery_manifest(&text, &tlen, app->delivery, &f);
    }
    stream_delivery_file_clear(&f);
    if (rc != STREAM_OK) {
      streamd_reply_service_error(resp, req, rc);
      return;
    }
    status = not_modified ? 304 : 200;
    if (gz && tlen >= GZIP_MIN) {
      size_t zl = 0;
      char *z = gzip_text(text, tlen, &zl);
      if (z) {
        if (!not_modified)
          streamd_response_header(resp, "Content-Encoding", "gzip");
        streamd_reply_text(resp, status, not_modified ? NULL : f.content_type, z, zl);
        free(z);
        stream_free(text);
        return;
      }
    }
    streamd_reply_text(resp, status, not_modified ? NULL : f.content_type, text, tlen);
    stream_free(text);
    return;
  }

  int fd = f.fd;
  f.fd = -1; /* the response owns it now */
  /* A 304 names no Content-Type (RFC 9110 15.4.5: the validators and cache fields only). */
  streamd_reply_fd(resp, not_modified ? 304 : status, not_modified ? NULL : f.content_type, fd, off,
                   len);
}
