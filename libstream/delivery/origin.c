/*
 * The origin's request check: parse /v1/media/<asset>/h<cap>/[token/]<rel>,
 * verify the signature over the /v1/media/<asset>/h<cap>/ prefix, enforce
 * the cap from the asset's summary.json, and open the file one component at
 * a time with O_NOFOLLOW below the media root (no '..', no encoded byte, no
 * symlink can leave it). Also serves capped manifests (filter.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <linux/openat2.h>

#include "core/core.h"
#include "delivery/delivery_internal.h"
#include "stream/delivery.h"
#include "stream/sign.h"

#define MEDIA_PREFIX STREAM_DELIVERY_PATH "/"
#define NATIVE_TOKEN STREAM_NATIVE_PATH_TOKEN "="
#define MEDIACDN_TOKEN "edge-cache-token="
#define MAX_DEPTH 4
#define SUMMARY_MAX (16u << 20)
#define MANIFEST_MAX (8u << 20)
#define HEIGHT_SLOW (-100000) /* the fast path cannot decide: take the component walk */

typedef struct parsed {
  const char *asset;
  size_t asset_len;
  int cap;
  int token; /* 0 none, 1 native path token, 2 Media CDN path component */
  const char *rel;
  size_t n_comp;
  size_t comp_off[MAX_DEPTH], comp_len[MAX_DEPTH];
} parsed;

static int fail(stream_delivery_file *out, int reason, int code, const char *fmt, ...)
    STREAM__PRINTF(4, 5);
static int fail(stream_delivery_file *out, int reason, int code, const char *fmt, ...)
{
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  out->reason = reason;
  if (out->fd >= 0)
    close(out->fd);
  out->fd = -1;
  return stream__err(code, "%s", msg);
}

static int name_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

/* The path grammar. Returns 0 or a short reason text. */
static const char *parse_path(parsed *p, const char *path)
{
  memset(p, 0, sizeof(*p));
  size_t n = strlen(path);
  if (n > STREAM_NATIVE_URL_MAX / 2)
    return "path too long";
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)path[i];
    if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '%' || c == '#' || c == '?')
      return "forbidden byte in path";
  }
  if (strncmp(path, MEDIA_PREFIX, strlen(MEDIA_PREFIX)) != 0)
    return "not under " MEDIA_PREFIX;
  const char *s = path + strlen(MEDIA_PREFIX);
  const char *slash = strchr(s, '/');
  if (!slash || !delivery__asset_id_ok(s, (size_t)(slash - s)))
    return "bad asset id";
  p->asset = s;
  p->asset_len = (size_t)(slash - s);
  s = slash + 1;
  if (*s != 'h' || s[1] < '0' || s[1] > '9' || (s[1] == '0' && s[2] != '/'))
    return "bad cap component";
  long cap = 0;
  for (s++; *s >= '0' && *s <= '9'; s++) {
    cap = cap * 10 + (*s - '0');
    if (cap > STREAM_DELIVERY_CAP_MAX)
      return "cap out of range";
  }
  if (*s != '/')
    return "bad cap component";
  p->cap = (int)cap;
  s++;
  if (strncmp(s, NATIVE_TOKEN, strlen(NATIVE_TOKEN)) == 0)
    p->token = 1;
  else if (strncmp(s, MEDIACDN_TOKEN, strlen(MEDIACDN_TOKEN)) == 0)
    p->token = 2;
  if (p->token) {
    slash = strchr(s, '/');
    if (!slash)
      return "nothing after the token";
    s = slash + 1;
  }
  p->rel = s;
  if (strlen(s) > STREAM_DELIVERY_REL_MAX)
    return "relative path too long";
  const char *c = s;
  while (1) {
    const char *e = c;
    while (*e && *e != '/')
      e++;
    size_t len = (size_t)(e - c);
    if (len == 0)
      return "empty path component";
    if (c[0] == '.')
      return "dot segment or hidden file";
    for (size_t i = 0; i < len; i++)
      if (!name_char(c[i]))
        return "forbidden character in file name";
    if (p->n_comp == MAX_DEPTH)
      return "path too deep";
    p->comp_off[p->n_comp] = (size_t)(c - s);
    p->comp_len[p->n_comp] = len;
    p->n_comp++;
    if (!*e)
      break;
    c = e + 1;
  }
  return NULL;
}

/* Find the value of cookie `name` in a Cookie header, starting after *pos. */
static int next_cookie(const char *hdr, const char *name, size_t *pos, const char **val,
                       size_t *vlen)
{
  size_t nl = strlen(name);
  const char *s = hdr + *pos;
  while (*s) {
    while (*s == ' ' || *s == ';')
      s++;
    const char *e = strchr(s, ';');
    size_t len = e ? (size_t)(e - s) : strlen(s);
    if (len > nl && strncmp(s, name, nl) == 0 && s[nl] == '=') {
      *val = s + nl + 1;
      *vlen = len - nl - 1;
      while (*vlen && (*val)[*vlen - 1] == ' ')
        (*vlen)--;
      *pos = (size_t)(s + len - hdr);
      return 1;
    }
    s += len;
  }
  *pos = (size_t)(s - hdr);
  return 0;
}

/* 1 when the base64url URLPrefix at the start of a cookie value (up to
 * `sep`) decodes to exactly `want`. */
static int cookie_prefix_is(const char *v, size_t vlen, char sep, const char *want)
{
  static const char key[] = "URLPrefix=";
  if (vlen < sizeof(key) - 1 || strncmp(v, key, sizeof(key) - 1) != 0)
    return 0;
  const char *b = v + sizeof(key) - 1;
  const char *e = memchr(b, sep, vlen - (sizeof(key) - 1));
  if (!e)
    return 0;
  unsigned char buf[1024];
  size_t w = 0;
  if (stream__b64_decode_into(buf, sizeof(buf), &w, b, (size_t)(e - b), STREAM_B64_URL, true) !=
      STREAM_OK)
    return 0;
  return w == strlen(want) && memcmp(buf, want, w) == 0;
}

/* The value of the one cookie `name` in a Cookie header (or in Set-Cookie lines, '\n'
 * separated, as stream_delivery_urls.cookie holds them); NULL when absent. */
static const char *cookie_value(const char *hdr, const char *name, size_t *vlen)
{
  size_t nl = strlen(name);
  for (const char *s = hdr; *s;) {
    while (*s == ' ' || *s == '\t' || *s == ';' || *s == '\n' || *s == '\r')
      s++;
    size_t len = strcspn(s, ";\n\r");
    if (len > nl && strncmp(s, name, nl) == 0 && s[nl] == '=') {
      *vlen = len - nl - 1;
      while (*vlen && (s[nl + *vlen] == ' ' || s[nl + *vlen] == '\t'))
        (*vlen)--;
      return s + nl + 1;
    }
    s += len;
  }
  return NULL;
}

/* 1 when the CloudFront-Policy cookie (already authenticated by its signature) holds one
 * statement whose Resource is exactly `prefix` followed by '*': a policy over a wider
 * pattern (another cap, every asset) is not this session's, even when it is validly
 * signed with the same key. */
static int cloudfront_resource_is(const char *cookies, const char *prefix)
{
  size_t vlen = 0;
  const char *v = cookie_value(cookies, "CloudFront-Policy", &vlen);
  if (!v || vlen == 0 || vlen > STREAM_CLOUDFRONT_TEXT_MAX)
    return 0;
  char *tmp = malloc(vlen + 1);
  unsigned char *json = malloc(stream__b64_decoded_max(vlen) + 1);
  size_t n = 0;
  int ok = tmp && json;
  for (size_t i = 0; ok && i < vlen; i++)
    tmp[i] = v[i] == '-' ? '+' : v[i] == '_' ? '=' : v[i] == '~' ? '/' : v[i];
  ok = ok && stream__b64_decode_into(json, stream__b64_decoded_max(vlen) + 1, &n, tmp, vlen,
                                     STREAM_B64_STD, true) == STREAM_OK;
  free(tmp);
  cJSON *root = ok ? cJSON_ParseWithLength((const char *)json, n) : NULL;
  free(json);
  const cJSON *st = cJSON_GetObjectItemCaseSensitive(root, "Statement");
  const cJSON *r = cJSON_GetArraySize(st) == 1
                       ? cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(st, 0), "Resource")
                       : NULL;
  size_t pl = strlen(prefix);
  ok = cJSON_IsString(r) && strlen(r->valuestring) == pl + 1 &&
       strncmp(r->valuestring, prefix, pl) == 0 && r->valuestring[pl] == '*';
  cJSON_Delete(root);
  return ok;
}

/* CloudFront signed cookies: verified against the request URL, then bound to the session
 * prefix (a canned policy names one URL and is not a session's). */
static int check_cloudfront(stream_delivery_file *out, stream_delivery *d,
                            const stream_delivery_request *req, const char *url, const char *prefix)
{
  if (!req->cookie || !strstr(req->cookie, "CloudFront-"))
    return STREAM_EINVAL;
  stream_cloudfront_request cr = STREAM_CLOUDFRONT_REQUEST_INIT;
  stream_cloudfront_verification cv;
  cr.url = url;
  cr.client_ip = req->client_ip;
  cr.now = req->now;
  out->via_cookie = 1;
  int rc = stream_cloudfront_verify_cookies(&cv, d->keys, req->cookie, &cr);
  out->sign_reason = cv.reason;
  out->expires = cv.expires;
  if (rc != STREAM_OK)
    return rc;
  if (!cv.custom || !cloudfront_resource_is(req->cookie, prefix)) {
    out->sign_reason = STREAM_SIGN_OUTSIDE_PREFIX;
    return STREAM_EFORBIDDEN;
  }
  return STREAM_OK;
}

/* The signature check. Returns STREAM_OK or the failure status (with out->sign_reason). */
static int check_signature(stream_delivery_file *out, stream_delivery *d,
                           const stream_delivery_request *req, const parsed *p, const char *url,
                           size_t url_path_end, const char *prefix)
{
  stream_native_verify_options vo = STREAM_NATIVE_VERIFY_OPTIONS_INIT;
  vo.leeway = d->leeway;
  stream_native_result nr;
  int rc = STREAM_EINVAL;
  out->sign_reason = STREAM_SIGN_MISSING;
  if (p->token == 1) {
    vo.forms = STREAM_NATIVE_FORM_PATH;
    rc = stream_sign_native_verify(&nr, d->keys, url, req->client_ip, req->now, &vo);
    out->sign_reason = nr.reason;
    out->expires = nr.expires;
    return rc;
  }
  if (p->token == 2) {
    if (d->format != STREAM_DELIVERY_MEDIACDN)
      return STREAM_EINVAL;
    stream_google_request gr = STREAM_GOOGLE_REQUEST_INIT;
    stream_google_verification gv;
    gr.url = url;
    gr.client_ip = req->client_ip;
    gr.now = req->now;
    rc = stream_mediacdn_verify_url(&gv, d->keys, &gr);
    out->sign_reason = gv.reason;
    out->expires = gv.expires;
    return rc;
  }
  if (d->format == STREAM_DELIVERY_CLOUDFRONT)
    return check_cloudfront(out, d, req, url, prefix);
  /* Cloud CDN signed prefix in the query (a URLPrefix item, not a name ending in it). */
  const char *q = NULL;
  if (d->format == STREAM_DELIVERY_CLOUDCDN && req->query) {
    if (strncmp(req->query, "URLPrefix=", 10) == 0)
      q = req->query;
    else if ((q = strstr(req->query, "&URLPrefix=")) != NULL)
      q++;
  }
  if (q) {
    if (!cookie_prefix_is(q, strlen(q), '&', prefix)) {
      out->sign_reason = STREAM_SIGN_OUTSIDE_PREFIX;
      return STREAM_EFORBIDDEN;
    }
    stream_google_request gr = STREAM_GOOGLE_REQUEST_INIT;
    stream_google_verification gv;
    gr.url = url;
    gr.client_ip = req->client_ip;
    gr.now = req->now;
    rc = stream_cloudcdn_verify_url(&gv, d->keys, &gr);
    out->sign_reason = gv.reason;
    out->expires = gv.expires;
    return rc;
  }
  if (!req->cookie)
    return STREAM_EINVAL;
  /* Cookies: the first one whose prefix is exactly this session prefix decides. */
  char path_url[STREAM_NATIVE_URL_MAX + 1];
  memcpy(path_url, url, url_path_end);
  path_url[url_path_end] = '\0';
  int cloud = d->format == STREAM_DELIVERY_CLOUDCDN;
  const char *name = cloud ? "Cloud-CDN-Cookie" : STREAM_NATIVE_COOKIE_NAME;
  size_t pos = 0;
  const char *v;
  size_t vlen;
  while (next_cookie(req->cookie, name, &pos, &v, &vlen)) {
    if (!cookie_prefix_is(v, vlen, cloud ? ':' : '&', prefix))
      continue;
    char value[STREAM_NATIVE_URL_MAX + 1];
    if (vlen > STREAM_NATIVE_URL_MAX)
      continue;
    memcpy(value, v, vlen);
    value[vlen] = '\0';
    out->via_cookie = 1;
    if (cloud) {
      stream_google_request gr = STREAM_GOOGLE_REQUEST_INIT;
      stream_google_verification gv;
      gr.url = path_url;
      gr.client_ip = req->client_ip;
      gr.now = req->now;
      rc = stream_cloudcdn_verify_cookie(&gv, d->keys, value, &gr);
      out->sign_reason = gv.reason;
      out->expires = gv.expires;
    } else {
      vo.forms = STREAM_NATIVE_FORM_COOKIE;
      rc = stream_sign_native_verify_cookie(&nr, d->keys, path_url, value, req->client_ip, req->now,
                                            &vo);
      out->sign_reason = nr.reason;
      out->expires = nr.expires;
    }
    return rc;
  }
  return STREAM_EINVAL;
}

/* A height from a directory name like "v720p_3000" (fallback without summary.json). */
static int height_from_name(const char *dir)
{
  if (dir[0] != 'v' || dir[1] < '0' || dir[1] > '9')
    return 0;
  long h = strtol(dir + 1, NULL, 10);
  return h > 0 && h <= STREAM_DELIVERY_CAP_MAX ? (int)h : 0;
}

static int load_summary(delivery__asset *a, int fd, const struct stat *st)
{
  if (st->st_size <= 0 || (uint64_t)st->st_size > SUMMARY_MAX)
    return STREAM_EIO;
  size_t n = (size_t)st->st_size;
  char *text = malloc(n + 1);
  if (!text)
    return STREAM_ENOMEM;
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd, text + got, n - got, (off_t)got);
    if (r <= 0) {
      free(text);
      return STREAM_EIO;
    }
    got += (size_t)r;
  }
  text[n] = '\0';
  cJSON *j = cJSON_Parse(text);
  free(text);
  if (!j)
    return STREAM_EIO;
  a->n = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(j, "renditions"))
  {
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(r, "kind");
    const cJSON *dir = cJSON_GetObjectItemCaseSensitive(r, "dir");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(r, "height");
    if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "video") != 0 || !cJSON_IsString(dir) ||
        !cJSON_IsNumber(h))
      continue;
    if (a->n == DELIVERY__RENDITIONS_MAX || strlen(dir->valuestring) >= sizeof(a->dirs[0])) {
      a->overflow = 1; /* its height is not kept: fail closed (delivery__asset) */
      continue;
    }
    snprintf(a->dirs[a->n], sizeof(a->dirs[0]), "%s", dir->valuestring);
    /* A height no rendition has (negative, huge, not a number) is above every cap: the
     * rendition is refused, and the cast stays defined. */
    double v = h->valuedouble;
    a->heights[a->n] = v >= 0 && v <= 100000 ? (int)v : INT_MAX;
    a->n++;
  }
  cJSON_Delete(j);
  return STREAM_OK;
}

/* The cached height of rendition `dir` when the cache holds this version (inode, size,
 * mtime) of the asset's summary.json; -1 on a miss. */
static int cache_lookup(stream_delivery *d, const char *asset, const struct stat *st,
                        const char *dir)
{
  int64_t mns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
  int height = -1;
  pthread_mutex_lock(&d->lock);
  for (size_t i = 0; i < DELIVERY__CACHE_SLOTS; i++) {
    delivery__asset *a = &d->cache[i];
    if (strcmp(a->id, asset) == 0 && a->ino == (uint64_t)st->st_ino &&
        a->size == (uint64_t)st->st_size && a->mtime_ns == mns) {
      height = a->overflow ? INT_MAX : 0;
      for (size_t k = 0; k < a->n; k++)
        if (strcmp(a->dirs[k], dir) == 0)
          height = a->heights[k];
      break;
    }
  }
  pthread_mutex_unlock(&d->lock);
  return height;
}

/* Parse the summary open at `fd` (stat `st`) into the cache; the height of `dir` or a status. */
static int cache_fill(stream_delivery *d, const char *asset, int fd, const struct stat *st,
                      const char *dir)
{
  delivery__asset *a = stream__calloc(1, sizeof(*a));
  if (!a)
    return STREAM_ENOMEM;
  int rc = load_summary(a, fd, st);
  if (rc != STREAM_OK) {
    free(a);
    return rc;
  }
  snprintf(a->id, sizeof(a->id), "%s", asset);
  a->ino = (uint64_t)st->st_ino;
  a->size = (uint64_t)st->st_size;
  a->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
  int height = a->overflow ? INT_MAX : 0;
  for (size_t k = 0; k < a->n; k++)
    if (strcmp(a->dirs[k], dir) == 0)
      height = a->heights[k];
  pthread_mutex_lock(&d->lock);
  d->cache[d->next_slot] = *a;
  d->next_slot = (d->next_slot + 1) % DELIVERY__CACHE_SLOTS;
  pthread_mutex_unlock(&d->lock);
  free(a);
  return height;
}

/* Height of rendition directory `dir` of the asset open at `asset_fd`
 * (0 = not a video rendition). Negative status on error. */
static int rendition_height(stream_delivery *d, int asset_fd, const char *asset, const char *dir)
{
  int fd = openat(asset_fd, "summary.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return height_from_name(dir);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return STREAM_EIO;
  }
  int height = cache_lookup(d, asset, &st, dir);
  if (height < 0)
    height = cache_fill(d, asset, fd, &st, dir);
  close(fd);
  return height;
}

/* openat2() below `dirfd`: no '..' out of it, no symlink (or /proc magic link) at any depth. */
static int open_beneath(int dirfd, const char *rel, int flags)
{
  struct open_how how;
  memset(&how, 0, sizeof(how));
  how.flags = (uint64_t)(unsigned int)(flags | O_NOFOLLOW | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
}

/* The fast path's cap lookup from the root fd: a stat of summary.json, parsed only when the
 * cache does not hold that version. HEIGHT_SLOW when there is no summary to stat (no asset,
 * or an asset without summary: the walk decides, with the same answers as before). */
static int rendition_height_root(stream_delivery *d, const char *asset, const char *dir)
{
  char rel[STREAM_DELIVERY_ASSET_ID_MAX + 16];
  snprintf(rel, sizeof(rel), "%s/summary.json", asset);
  struct stat st;
  if (fstatat(d->root_fd, rel, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
    return HEIGHT_SLOW;
  int height = cache_lookup(d, asset, &st, dir);
  if (height >= 0)
    return height;
  int fd = open_beneath(d->root_fd, rel, O_RDONLY);
  if (fd < 0)
    return HEIGHT_SLOW;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return HEIGHT_SLOW;
  }
  height = cache_fill(d, asset, fd, &st, dir);
  close(fd);
  return height;
}

static int kind_of(const parsed *p, const char *last)
{
  if (p->n_comp == 1 && strcmp(last, "master.m3u8") == 0)
    return STREAM_DELIVERY_KIND_MASTER;
  if (p->n_comp == 1 && strcmp(last, "manifest.mpd") == 0)
    return STREAM_DELIVERY_KIND_MPD;
  const char *dot = strrchr(last, '.');
  if (!dot)
    return STREAM_DELIVERY_KIND_OTHER;
  if (strcmp(dot, ".m3u8") == 0 || strcmp(dot, ".mpd") == 0)
    return STREAM_DELIVERY_KIND_PLAYLIST;
  if (strcmp(dot, ".m4s") == 0 || strcmp(dot, ".mp4") == 0 || strcmp(dot, ".m4a") == 0 ||
      strcmp(dot, ".m4v") == 0)
    return STREAM_DELIVERY_KIND_SEGMENT;
  return STREAM_DELIVERY_KIND_OTHER;
}

void stream_delivery_file_clear(stream_delivery_file *f)
{
  if (!f)
    return;
  if (f->fd >= 0)
    close(f->fd);
  f->fd = -1;
}

static int walk_open(stream_delivery_file *out, stream_delivery *d, const parsed *pp,
                     char comp[][STREAM_DELIVERY_REL_MAX + 1]);

static int is_cmcd_arg(const char *s, size_t len)
{
  return (len == 4 || (len > 4 && s[4] == '=')) && strncmp(s, "CMCD", 4) == 0;
}

/* "?<query>" into dst (cap bytes) without its CMCD arguments: CTA-5004 client data that a
 * player appends to every media request, after any signature (docs/api/cmcd.md). They are
 * never part of what is signed, and leaving them out only takes text away from what the
 * verifier sees: a URL that verifies without them verified before. Nothing is written when
 * no argument is left. 0 when it does not fit. */
static int append_query(char *dst, size_t cap, const char *q)
{
  int any = 0;
  for (const char *s = q; *s && !any; s += *s == '&') {
    size_t len = strcspn(s, "&");
    any = is_cmcd_arg(s, len);
    s += len;
  }
  if (!any) { /* the query exactly as received */
    int m = snprintf(dst, cap, "?%s", q);
    return m >= 0 && (size_t)m < cap;
  }
  size_t o = 0;
  dst[0] = '\0';
  for (const char *s = q; *s; s += *s == '&') {
    size_t len = strcspn(s, "&");
    if (!is_cmcd_arg(s, len)) {
      if (o + len + 2 > cap)
        return 0;
      char sep = o ? '&' : '?';
      dst[o++] = sep;
      memcpy(dst + o, s, len);
      o += len;
      dst[o] = '\0';
    }
    s += len;
  }
  return 1;
}

int stream_delivery_open(stream_delivery_file *out, stream_delivery *d,
                         const stream_delivery_request *req)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_delivery_open: out is NULL");
  memset(out, 0, sizeof(*out));
  out->fd = -1;
  out->content_type = "application/octet-stream";
  out->cache_control = "no-store";
  if (!d || !req || req->version != STREAM_DELIVERY_REQUEST_VERSION || !req->path || !req->method)
    return fail(out, STREAM_DELIVERY_BAD_PATH, STREAM_EINVAL,
                "stream_delivery_open: NULL argument or unknown request version");
  if (!d->media_root)
    return fail(out, STREAM_DELIVERY_NOT_FOUND, STREAM_ENOTFOUND,
                "stream_delivery_open: the handle has no media_root");
  if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0)
    return fail(out, STREAM_DELIVERY_METHOD, STREAM_ENOTSUP, "media: method %.16s not allowed",
                req->method);
  parsed p;
  const char *why = parse_path(&p, req->path);
  if (why)
    return fail(out, STREAM_DELIVERY_BAD_PATH, STREAM_EINVAL, "media path refused: %s", why);
  memcpy(out->asset_id, p.asset, p.asset_len);
  out->asset_id[p.asset_len] = '\0';
  out->max_height = p.cap;
  snprintf(out->rel_path, sizeof(out->rel_path), "%s", p.rel);

  /* The URL as signed: base_url + path as received (+ query). */
  char url[STREAM_NATIVE_URL_MAX + 1];
  int n = snprintf(url, sizeof(url), "%s%s", d->base_url, req->path);
  if (n < 0 || (size_t)n >= sizeof(url))
    return fail(out, STREAM_DELIVERY_BAD_PATH, STREAM_EINVAL, "media path refused: too long");
  size_t path_end = (size_t)n;
  if (req->query && *req->query && !append_query(url + n, sizeof(url) - (size_t)n, req->query))
    return fail(out, STREAM_DELIVERY_BAD_PATH, STREAM_EINVAL, "media path refused: too long");
  char prefix[STREAM_NATIVE_URL_MAX + 1];
  snprintf(prefix, sizeof(prefix), "%s%s%s/h%d/", d->base_url, MEDIA_PREFIX, out->asset_id, p.cap);
  int rc = check_signature(out, d, req, &p, url, path_end, prefix);
  if (rc != STREAM_OK)
    return fail(out, STREAM_DELIVERY_SIGNATURE,
                rc == STREAM_EEXPIRED ? STREAM_EEXPIRED : STREAM_EFORBIDDEN, "media signature: %s",
                stream_sign_reason_str(out->sign_reason));

  char comp[MAX_DEPTH][STREAM_DELIVERY_REL_MAX + 1];
  for (size_t i = 0; i < p.n_comp; i++) {
    memcpy(comp[i], p.rel + p.comp_off[i], p.comp_len[i]);
    comp[i][p.comp_len[i]] = '\0';
  }
  const char *last = comp[p.n_comp - 1];
  size_t ll = strlen(last);
  if ((p.n_comp == 1 && strcmp(last, "summary.json") == 0) ||
      (ll > 4 && strcmp(last + ll - 4, ".tmp") == 0))
    return fail(out, STREAM_DELIVERY_NOT_FOUND, STREAM_ENOTFOUND, "media: %s is not served",
                out->rel_path);

  /* Fast path: from the root fd the handle keeps, the cap from a stat of summary.json (parsed
   * only when it changed) and the file with one openat2() that refuses '..' and symlinks at
   * every depth: 3 system calls where the walk below makes 14, and on virtualised hosts the
   * system calls are most of a request's cost here. */
  int fd = -1;
  if (d->root_fd >= 0 && !atomic_load_explicit(&d->openat2_missing, memory_order_relaxed)) {
    int h = p.cap > 0 && p.n_comp > 1 ? rendition_height_root(d, out->asset_id, comp[0]) : 0;
    if (h != HEIGHT_SLOW) {
      if (h < 0)
        return fail(out, STREAM_DELIVERY_NOT_FOUND, h, "media: summary of asset %s unreadable",
                    out->asset_id);
      if (h > p.cap)
        return fail(out, STREAM_DELIVERY_ABOVE_CAP, STREAM_EFORBIDDEN,
                    "media: rendition %s (%dp) is above the signed cap of %dp", comp[0], h, p.cap);
      char rel[STREAM_DELIVERY_ASSET_ID_MAX + STREAM_DELIVERY_REL_MAX + 2];
      snprintf(rel, sizeof(rel), "%s/%s", out->asset_id, p.rel);
      fd = open_beneath(d->root_fd, rel, O_RDONLY | O_NONBLOCK);
      if (fd < 0) {
        if (errno != ENOSYS && errno != EPERM && errno != EINVAL && errno != E2BIG)
          return fail(out, STREAM_DELIVERY_NOT_FOUND,
                      errno == ENOENT || errno == ELOOP || errno == ENOTDIR || errno == EXDEV
                          ? STREAM_ENOTFOUND
                          : STREAM_EIO,
                      "media: no such file %s", out->rel_path);
        atomic_store_explicit(&d->openat2_missing, 1, memory_order_relaxed);
      }
    }
  }
  if (fd < 0) {
    fd = walk_open(out, d, &p, comp);
    if (fd < 0)
      return fd;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return fail(out, STREAM_DELIVERY_NOT_FOUND, STREAM_ENOTFOUND, "media: %s is not a file",
                out->rel_path);
  }
  /* The fd keeps O_NONBLOCK (it kept a planted FIFO from blocking the open): it has no effect
   * on regular files, and clearing it would cost two more system calls per request. */
  out->fd = fd;
  out->size = (uint64_t)st.st_size;
  out->mtime = (int64_t)st.st_mtim.tv_sec;
  int64_t mns = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
  snprintf(out->etag, sizeof(out->etag), "\"%llx-%llx-%llx\"", (unsigned long long)st.st_ino,
           (unsigned long long)st.st_size, (unsigned long long)mns);
  out->kind = kind_of(&p, last);
  out->content_type = stream_delivery_mime_type(last);
  switch (out->kind) {
  case STREAM_DELIVERY_KIND_SEGMENT:
    out->cache_control = "public, max-age=31536000, immutable";
    break;
  case STREAM_DELIVERY_KIND_OTHER:
    out->cache_control = "public, max-age=86400";
    break;
  default:
    out->cache_control = d->manifest_cc;
    break;
  }
  out->reason = STREAM_DELIVERY_OK;
  return STREAM_OK;
}

/* The portable way (kernels without openat2): walk down from the root one component at a
 * time without following any symlink. Returns the open fd, or the failure status (out filled). */
static int walk_open(stream_delivery_file *out, stream_delivery *d, const parsed *pp,
                     char comp[][STREAM_DELIVERY_REL_MAX + 1])
{
  const parsed p = *pp;
  const char *last = comp[p.n_comp - 1];
  int dir = open(d->media_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return fail(out, STREAM_DELIVERY_NOT_FOUND, STREAM_ENOTFOUND, "media root not available");
  int asset_fd = openat(dir, out->asset_id, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  close(dir);
  if (asset_fd < 0)
    return fail(out, STREAM_DELIVERY_NOT_FOUND, STREAM_ENOTFOUND, "media: no asset %s",
                out->asset_id);
  if (p.cap > 0 && p.n_comp > 1) {
    int h = rendition_height(d, asset_fd, out->asset_id, comp[0]);
    if (h < 0) {
      close(asset_fd);
      return fail(out, STREAM_DELIVERY_NOT_FOUND, h, "media: summary of asset %s unreadable",
                  out->asset_id);
    }
    if (h > p.cap) {
      close(asset_fd);
      return fail(out, STREAM_DELIVERY_ABOVE_CAP, STREAM_EFORBIDDEN,
                  "media: rendition %s (%dp) is above the signed cap of %dp", comp[0], h, p.cap);
    }
  }
  dir = asset_fd;
  for (size_t i = 0; i + 1 < p.n_comp; i++) {
    int next = openat(dir, comp[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(dir);
    if (next < 0)
      return fail(out, STREAM_DELIVERY_NOT_FOUND, STREAM_ENOTFOUND, "media: no such file %s",
                  out->rel_path);
    dir = next;
  }
  int fd = openat(dir, last, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  close(dir);
  if (fd < 0)
    return fail(out, STREAM_DELIVERY_NOT_FOUND,
                errno == ENOENT || errno == ELOOP || errno == ENOTDIR ? STREAM_ENOTFOUND
                                                                      : STREAM_EIO,
                "media: no such file %s", out->rel_path);
  return fd;
}

int stream_delivery_manifest(char **out, size_t *out_len, stream_delivery *d,
                             const stream_delivery_file *f)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_delivery_manifest: out is NULL");
  *out = NULL;
  if (out_len)
    *out_len = 0;
  if (!d || !f || f->fd < 0 ||
      (f->kind != STREAM_DELIVERY_KIND_MASTER && f->kind != STREAM_DELIVERY_KIND_MPD))
    return stream__err(STREAM_EINVAL, "stream_delivery_manifest: not an open manifest");
  if (f->size > MANIFEST_MAX)
    return stream__err(STREAM_EIO, "stream_delivery_manifest: %s is larger than %u bytes",
                       f->rel_path, MANIFEST_MAX);
  size_t n = (size_t)f->size;
  char *text = malloc(n + 1);
  if (!text)
    return stream__err(STREAM_ENOMEM, "stream_delivery_manifest: out of memory");
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(f->fd, text + got, n - got, (off_t)got);
    if (r <= 0) {
      free(text);
      return stream__err(STREAM_EIO, "stream_delivery_manifest: cannot read %s", f->rel_path);
    }
    got += (size_t)r;
  }
  text[n] = '\0';
  int rc = f->kind == STREAM_DELIVERY_KIND_MASTER
               ? stream_delivery_filter_hls(out, text, f->max_height)
               : stream_delivery_filter_dash(out, text, f->max_height);
  free(text);
  if (rc == STREAM_OK && out_len)
    *out_len = strlen(*out);
  return rc;
}
