/*
 * The delivery module owns the playback side of a transcoded asset: it signs
 * the URL prefix of a playback session (native path token by default, native
 * cookie, or the Cloud CDN / Media CDN / CloudFront formats for deployments
 * with that CDN in front), and — in origin.c — checks every origin request against that
 * signature, the signed rendition cap and the media root before opening the
 * file. This file holds the handle, session signing, MIME types and reasons.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/core.h"
#include "delivery/delivery_internal.h"
#include "stream/delivery.h"
#include "stream/sign.h"

int delivery__asset_id_ok(const char *s, size_t n)
{
  if (n == 0 || n > STREAM_DELIVERY_ASSET_ID_MAX)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return 0;
  }
  return 1;
}

/* http(s)://host[:port], nothing after the authority. */
static int base_url_ok(const char *u)
{
  const char *h = NULL;
  if (strncmp(u, "http://", 7) == 0)
    h = u + 7;
  else if (strncmp(u, "https://", 8) == 0)
    h = u + 8;
  if (!h || !*h || strlen(u) > 512)
    return 0;
  for (const char *p = h; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c <= 0x20 || c >= 0x7f || c == '/' || c == '?' || c == '#' || c == '\\' || c == '@' ||
        c == '%')
      return 0;
  }
  return 1;
}

int stream_delivery_new(stream_delivery **out, const stream_delivery_options *opts)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_delivery_new: out is NULL");
  *out = NULL;
  if (!opts || opts->version < 1 || opts->version > STREAM_DELIVERY_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "stream_delivery_new: options missing or of an unknown "
                                      "version (use STREAM_DELIVERY_OPTIONS_INIT)");
  if (!opts->base_url || !base_url_ok(opts->base_url))
    return stream__err(STREAM_EINVAL, "stream_delivery_new: base_url must be http(s)://host[:port] "
                                      "without a path, query or trailing '/'");
  if (!opts->keys)
    return stream__err(STREAM_EINVAL, "stream_delivery_new: keys is NULL");
  int format = opts->format ? opts->format : STREAM_DELIVERY_NATIVE_PATH;
  if (format < STREAM_DELIVERY_NATIVE_PATH || format > STREAM_DELIVERY_CLOUDFRONT)
    return stream__err(STREAM_EINVAL, "stream_delivery_new: unknown format %d", opts->format);
  if (opts->leeway < 0 || opts->leeway > STREAM_NATIVE_LEEWAY_MAX)
    return stream__err(STREAM_EINVAL, "stream_delivery_new: leeway %lld outside 0..%d",
                       (long long)opts->leeway, STREAM_NATIVE_LEEWAY_MAX);
  int cf_hash = opts->version >= 2 ? opts->cloudfront_hash : 0; /* a version 1 struct ends before */
  if (cf_hash != 0 && cf_hash != STREAM_CLOUDFRONT_SHA1 && cf_hash != STREAM_CLOUDFRONT_SHA256)
    return stream__err(STREAM_EINVAL, "stream_delivery_new: unknown cloudfront_hash %d", cf_hash);
  if (opts->media_root && !*opts->media_root)
    return stream__err(STREAM_EINVAL, "stream_delivery_new: media_root is empty");
  stream_delivery *d = stream__calloc(1, sizeof(*d));
  if (!d)
    return STREAM_ENOMEM;
  d->root_fd = -1;
  d->base_url = stream__strdup(opts->base_url);
  d->media_root = opts->media_root ? stream__strdup(opts->media_root) : NULL;
  d->key_id = opts->key_id ? stream__strdup(opts->key_id) : NULL;
  if (!d->base_url || (opts->media_root && !d->media_root) || (opts->key_id && !d->key_id)) {
    stream_delivery_free(d);
    return STREAM_ENOMEM;
  }
  d->keys = opts->keys;
  d->format = format;
  d->cloudfront_hash = cf_hash;
  d->leeway = opts->leeway;
  snprintf(d->manifest_cc, sizeof(d->manifest_cc), "public, max-age=%u",
           opts->manifest_max_age ? opts->manifest_max_age : 2u);
  pthread_mutex_init(&d->lock, NULL);
  /* Opened once, so a request resolves its file with one openat2() below it (origin.c); when
   * the directory does not exist yet, requests open it themselves. */
  if (d->media_root)
    d->root_fd = open(d->media_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  *out = d;
  return STREAM_OK;
}

void stream_delivery_free(stream_delivery *d)
{
  if (!d)
    return;
  free(d->base_url);
  free(d->media_root);
  free(d->key_id);
  if (d->root_fd >= 0)
    close(d->root_fd);
  pthread_mutex_destroy(&d->lock);
  free(d);
}

void stream_delivery_urls_clear(stream_delivery_urls *u)
{
  if (!u)
    return;
  stream_free(u->prefix);
  stream_free(u->hls_url);
  stream_free(u->dash_url);
  stream_free(u->cookie);
  memset(u, 0, sizeof(*u));
}

/* "<name>=<value>; Path=<path>; Max-Age=N; HttpOnly; ..." from "name=value". */
static int set_cookie(char **out, const stream_delivery *d, const char *name_value,
                      const char *asset_id, int cap, int64_t max_age)
{
  int https = strncmp(d->base_url, "https://", 8) == 0;
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_printf(&b, "%s; Path=%s/%s/h%d/; Max-Age=%lld; HttpOnly; %s", name_value,
                     STREAM_DELIVERY_PATH, asset_id, cap, (long long)(max_age > 0 ? max_age : 0),
                     https ? "Secure; SameSite=None" : "SameSite=Lax");
  return stream__buf_detach(&b, out);
}

/*
 * CloudFront signed cookies over the session prefix: a custom policy with
 * Resource "<prefix>*" (relative URIs in the manifests inherit cookies, where a
 * signed query would not reach the segments), one Set-Cookie value per
 * cookie, joined with '\n' in u->cookie (a Set-Cookie value never holds a
 * newline, and stream_delivery_urls has no room for a list without an ABI
 * break). A client address binds as <ipv4>/32: CloudFront policies hold IPv4
 * blocks only.
 */
static int sign_cloudfront(stream_delivery_urls *u, stream_delivery *d, const char *asset_id,
                           int cap, int64_t expires, int64_t now, const char *client_ip)
{
  char ip4[INET_ADDRSTRLEN] = "";
  if (client_ip) {
    unsigned char a[16];
    const char *v4 = strncasecmp(client_ip, "::ffff:", 7) == 0 ? client_ip + 7 : client_ip;
    if (strlen(v4) < sizeof(ip4) && inet_pton(AF_INET, v4, a) == 1)
      snprintf(ip4, sizeof(ip4), "%s", v4);
    else if (inet_pton(AF_INET6, client_ip, a) == 1)
      return stream__err(STREAM_EINVAL, "stream_delivery_sign: CloudFront policies bind IPv4 "
                                        "addresses only, not the IPv6 client address");
    else
      return stream__err(STREAM_EINVAL, "stream_delivery_sign: client_ip is not an IP address");
  }
  stream_key *key = NULL;
  int rc = stream_keyring_get(&key, d->keys, d->key_id);
  if (rc != STREAM_OK)
    return rc;
  char *resource = NULL, *lines = NULL;
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_printf(&b, "%s*", u->prefix);
  rc = stream__buf_detach(&b, &resource);
  stream_cloudfront_sign_options co = STREAM_CLOUDFRONT_SIGN_OPTIONS_INIT;
  co.expires = expires;
  co.ip = ip4[0] ? ip4 : NULL;
  co.custom = 1;
  co.hash = d->cloudfront_hash;
  if (rc == STREAM_OK)
    rc = stream_cloudfront_sign_cookies(&lines, key, resource, &co);
  stream_key_free(key);
  stream_free(resource);
  stream__buf_init(&b);
  for (const char *l = lines; rc == STREAM_OK && l && *l;) {
    const char *e = strchr(l, '\n');
    size_t n = e ? (size_t)(e - l) : strlen(l);
    char *nv = stream__strndup(l, n), *sc = NULL;
    rc = nv ? set_cookie(&sc, d, nv, asset_id, cap, expires - now) : STREAM_ENOMEM;
    if (rc == STREAM_OK)
      stream__buf_printf(&b, "%s%s", b.len ? "\n" : "", sc);
    stream_free(sc);
    free(nv);
    l = e ? e + 1 : l + n;
  }
  stream_free(lines);
  if (rc != STREAM_OK) {
    stream__buf_free(&b);
    return rc;
  }
  return stream__buf_detach(&b, &u->cookie);
}

static int sign_urls(stream_delivery_urls *u, stream_delivery *d, const char *asset_id, int cap,
                     int64_t expires, const char *client_ip)
{
  int rc = STREAM_OK;
  int64_t now = stream__now();
  stream_native_sign_options so = STREAM_NATIVE_SIGN_OPTIONS_INIT;
  so.expires = expires;
  so.ip = client_ip;
  so.key_id = d->key_id;
  stream_google_sign_options go = STREAM_GOOGLE_SIGN_OPTIONS_INIT;
  go.expires = expires;
  stream_key *key = NULL;
  char *tmp = NULL;
  switch (d->format) {
  case STREAM_DELIVERY_NATIVE_PATH:
    rc = stream_sign_native_path(&u->hls_url, d->keys, u->prefix, "master.m3u8", &so);
    if (rc == STREAM_OK)
      rc = stream_sign_native_path(&u->dash_url, d->keys, u->prefix, "manifest.mpd", &so);
    return rc;
  case STREAM_DELIVERY_NATIVE_COOKIE:
    rc = stream_sign_native_cookie(&tmp, d->keys, u->prefix, &so);
    if (rc == STREAM_OK) {
      char *nv = NULL;
      stream__buf b;
      stream__buf_init(&b);
      stream__buf_printf(&b, "%s=%s", STREAM_NATIVE_COOKIE_NAME, tmp);
      rc = stream__buf_detach(&b, &nv);
      if (rc == STREAM_OK)
        rc = set_cookie(&u->cookie, d, nv, asset_id, cap, expires - now);
      stream_free(nv);
    }
    break;
  case STREAM_DELIVERY_CLOUDFRONT:
    rc = sign_cloudfront(u, d, asset_id, cap, expires, now, client_ip);
    break;
  default:
    if (client_ip)
      return stream__err(STREAM_EINVAL, "stream_delivery_sign: the CDN formats cannot bind a "
                                        "client address");
    rc = stream_keyring_get(&key, d->keys, d->key_id);
    if (rc != STREAM_OK)
      return rc;
    if (d->format == STREAM_DELIVERY_MEDIACDN) {
      rc = stream_mediacdn_sign_path_component(&u->hls_url, key, u->prefix, "master.m3u8", &go);
      if (rc == STREAM_OK)
        rc = stream_mediacdn_sign_path_component(&u->dash_url, key, u->prefix, "manifest.mpd", &go);
      stream_key_free(key);
      return rc;
    }
    rc = stream_cloudcdn_sign_cookie(&tmp, key, u->prefix, &go);
    if (rc == STREAM_OK)
      rc = set_cookie(&u->cookie, d, tmp, asset_id, cap, expires - now);
    stream_key_free(key);
    break;
  }
  stream_free(tmp);
  if (rc != STREAM_OK)
    return rc;
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_printf(&b, "%smaster.m3u8", u->prefix);
  rc = stream__buf_detach(&b, &u->hls_url);
  if (rc == STREAM_OK) {
    stream__buf_init(&b);
    stream__buf_printf(&b, "%smanifest.mpd", u->prefix);
    rc = stream__buf_detach(&b, &u->dash_url);
  }
  return rc;
}

int stream_delivery_sign(stream_delivery_urls *out, stream_delivery *d, const char *asset_id,
                         int max_height, int64_t expires, const char *client_ip)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_delivery_sign: out is NULL");
  memset(out, 0, sizeof(*out));
  if (!d || !asset_id)
    return stream__err(STREAM_EINVAL, "stream_delivery_sign: %s is NULL",
                       !d ? "the handle" : "asset_id");
  if (!delivery__asset_id_ok(asset_id, strlen(asset_id)))
    return stream__err(STREAM_EINVAL,
                       "stream_delivery_sign: asset id must be 1..%d characters of [A-Za-z0-9_-]",
                       STREAM_DELIVERY_ASSET_ID_MAX);
  if (max_height < 0 || max_height > STREAM_DELIVERY_CAP_MAX)
    return stream__err(STREAM_EINVAL, "stream_delivery_sign: max_height %d outside 0..%d",
                       max_height, STREAM_DELIVERY_CAP_MAX);
  if (expires <= 0 || expires > STREAM_NATIVE_TIME_MAX)
    return stream__err(STREAM_EINVAL, "stream_delivery_sign: expires %lld out of range",
                       (long long)expires);
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_printf(&b, "%s%s/%s/h%d/", d->base_url, STREAM_DELIVERY_PATH, asset_id, max_height);
  int rc = stream__buf_detach(&b, &out->prefix);
  if (rc == STREAM_OK)
    rc = sign_urls(out, d, asset_id, max_height, expires, client_ip);
  if (rc != STREAM_OK) {
    stream_delivery_urls_clear(out);
    return rc;
  }
  out->expires = expires;
  return STREAM_OK;
}

const char *stream_delivery_mime_type(const char *name)
{
  static const struct {
    const char *ext, *type;
  } types[] = {
      {".m3u8", "application/vnd.apple.mpegurl"},
      {".mpd", "application/dash+xml"},
      {".m4s", "video/iso.segment"},
      {".mp4", "video/mp4"},
      {".m4v", "video/mp4"},
      {".m4a", "audio/mp4"},
      {".vtt", "text/vtt"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".png", "image/png"},
      {".json", "application/json"},
  };
  if (!name)
    return "application/octet-stream";
  const char *dot = strrchr(name, '.');
  const char *slash = strrchr(name, '/');
  if (dot && (!slash || dot > slash))
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
      if (strcasecmp(dot, types[i].ext) == 0)
        return types[i].type;
  return "application/octet-stream";
}

const char *stream_delivery_reason_str(int reason)
{
  switch (reason) {
  case STREAM_DELIVERY_OK:
    return "ok";
  case STREAM_DELIVERY_BAD_PATH:
    return "malformed media path";
  case STREAM_DELIVERY_SIGNATURE:
    return "missing or invalid signature";
  case STREAM_DELIVERY_ABOVE_CAP:
    return "rendition above the signed cap";
  case STREAM_DELIVERY_NOT_FOUND:
    return "no such file";
  case STREAM_DELIVERY_METHOD:
    return "method not allowed";
  default:
    return "unknown reason";
  }
}
