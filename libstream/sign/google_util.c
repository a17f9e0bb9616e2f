/*
 * sign/google_util: what the Google Cloud CDN and Media CDN formats share —
 * URL and key-name checks, lenient (padded or not) base64url, Ed25519
 * through OpenSSL 3, CIDR ranges, path globs, the verification outcome
 * (reason + status + message), and the signing and verification flows of
 * the signed field lists (URL, prefix, cookie), parameterized by format.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "sign_internal.h"

static bool ip_ok(const char *ip);

int google__expiry(int64_t *out, const stream_google_sign_options *opts, const char *fn)
{
  if (!opts)
    return stream__err(STREAM_EINVAL, "%s: options are NULL (set expires or ttl)", fn);
  if (opts->version != STREAM_GOOGLE_SIGN_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "%s: unknown options version %u", fn, opts->version);
  if (opts->expires > 0) {
    if (opts->expires > (int64_t)999999999999)
      return stream__err(STREAM_ERANGE, "%s: expires %lld is too far in the future", fn,
                         (long long)opts->expires);
    *out = opts->expires;
    return STREAM_OK;
  }
  if (opts->expires < 0)
    return stream__err(STREAM_EINVAL, "%s: expires %lld is negative", fn, (long long)opts->expires);
  if (opts->ttl <= 0 || opts->ttl > (int64_t)100 * 365 * 86400)
    return stream__err(STREAM_EINVAL, "%s: set expires, or a ttl of 1 s to 100 years (got %lld)",
                       fn, (long long)opts->ttl);
  *out = stream__now() + opts->ttl;
  return STREAM_OK;
}

static bool is_lower(char c)
{
  return c >= 'a' && c <= 'z';
}
static bool is_alpha(char c)
{
  return is_lower(c) || (c >= 'A' && c <= 'Z');
}
static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

bool google__cloud_key_name_ok(const char *s, size_t n)
{
  if (n < 1 || n > 63 || !is_lower(s[0]) || s[n - 1] == '-')
    return false;
  for (size_t i = 1; i < n; i++)
    if (!is_lower(s[i]) && !is_digit(s[i]) && s[i] != '-')
      return false;
  return true;
}

bool google__media_key_name_ok(const char *s, size_t n)
{
  if (n < 1 || n > 64 || !is_alpha(s[0]))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-' && s[i] != '_')
      return false;
  return true;
}

/* Length of "http://" or "https://" (any case) at the start of s, or 0. */
static size_t scheme_len(const char *s)
{
  if (strncasecmp(s, "http://", 7) == 0)
    return 7;
  if (strncasecmp(s, "https://", 8) == 0)
    return 8;
  return 0;
}

static int check_common(const char *url, const char *what, size_t *len)
{
  if (!url || !*url)
    return stream__err(STREAM_EINVAL, "%s is NULL or empty", what);
  size_t n = strnlen(url, GOOGLE_TEXT_MAX + 1);
  if (n > GOOGLE_TEXT_MAX)
    return stream__err(STREAM_ERANGE, "%s is over %d bytes", what, GOOGLE_TEXT_MAX);
  size_t sl = scheme_len(url);
  if (!sl)
    return stream__err(STREAM_EINVAL, "%s must start with http:// or https://", what);
  if (url[sl] == '\0' || url[sl] == '/' || url[sl] == '?' || url[sl] == '#')
    return stream__err(STREAM_EINVAL, "%s has no host", what);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)url[i];
    if (c <= 0x20 || c >= 0x7f)
      return stream__err(
          STREAM_EINVAL,
          "%s has a space, control or non-ASCII byte at offset %zu (percent-encode it)", what, i);
    if (c == '#')
      return stream__err(STREAM_EINVAL, "%s has a fragment ('#' at offset %zu)", what, i);
  }
  *len = n;
  return STREAM_OK;
}

int google__check_url(const char *url, const char *what, bool check_params)
{
  size_t n = 0;
  int rc = check_common(url, what, &n);
  if (rc)
    return rc;
  const char *q = strchr(url, '?');
  if (!q)
    return STREAM_OK;
  if (url[n - 1] == '?' || url[n - 1] == '&')
    return stream__err(STREAM_EINVAL, "%s ends with a bare '%c'", what, url[n - 1]);
  if (!check_params)
    return STREAM_OK;
  static const char *const reserved[] = {"Expires", "KeyName", "Signature", "URLPrefix"};
  sign__param p;
  for (size_t pos = 0; sign__query_next(&p, q + 1, strlen(q + 1), &pos);)
    for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
      if (strlen(reserved[i]) == p.name_len && memcmp(reserved[i], p.name, p.name_len) == 0)
        return stream__err(STREAM_EINVAL, "%s already has a %s query parameter", what, reserved[i]);
  return STREAM_OK;
}

int google__check_prefix(const char *prefix, const char *what)
{
  size_t n = 0;
  int rc = check_common(prefix, what, &n);
  if (rc)
    return rc;
  if (strchr(prefix, '?'))
    return stream__err(STREAM_EINVAL, "%s must not contain a query ('?')", what);
  return STREAM_OK;
}

bool google__b64url_decode(unsigned char *dst, size_t cap, size_t *written, const char *s, size_t n)
{
  return stream__b64_decode_into(dst, cap, written, s, n, STREAM_B64_URL, true) == STREAM_OK;
}

void google__buf_b64(stream__buf *b, const void *data, size_t n, bool pad)
{
  unsigned int flags = STREAM_B64_URL | (pad ? 0u : STREAM_B64_NOPAD);
  size_t len = stream__b64_len(n, flags);
  char small[256];
  char *tmp = len < sizeof small ? small : malloc(len + 1);
  if (!tmp) {
    b->failed = true;
    return;
  }
  stream__b64_encode_into(tmp, data, n, flags);
  stream__buf_append(b, tmp, len);
  if (tmp != small)
    free(tmp);
}

int google__ed25519_sign(unsigned char *sig, const stream_key *key, const void *data, size_t n)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  size_t sl = GOOGLE_ED25519_SIG_LEN;
  int ok = ctx && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
           EVP_DigestSign(ctx, sig, &sl, data, n) == 1 && sl == GOOGLE_ED25519_SIG_LEN;
  EVP_MD_CTX_free(ctx);
  if (!ok) {
    ERR_clear_error();
    return stream__err(STREAM_ECRYPTO, "Ed25519 signing with key '%s' failed", key->id);
  }
  return STREAM_OK;
}

bool google__ed25519_verify(const stream_key *key, const unsigned char *sig, const void *data,
                            size_t n)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key->pkey) == 1 &&
            EVP_DigestVerify(ctx, sig, GOOGLE_ED25519_SIG_LEN, data, n) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

int google__check_request(const stream_google_request *req, int64_t *now, bool need_url)
{
  if (!req)
    return stream__err(STREAM_EINVAL, "request is NULL");
  if (req->version != STREAM_GOOGLE_REQUEST_VERSION)
    return stream__err(STREAM_EINVAL, "unknown stream_google_request version %u", req->version);
  if (need_url || req->url) {
    if (!req->url || !*req->url)
      return stream__err(STREAM_EINVAL, "request URL is NULL or empty");
    if (strnlen(req->url, GOOGLE_TEXT_MAX + 1) > GOOGLE_TEXT_MAX)
      return stream__err(STREAM_ERANGE, "request URL is over %d bytes", GOOGLE_TEXT_MAX);
  }
  if (req->header_count && (!req->header_names || !req->header_values))
    return stream__err(STREAM_EINVAL, "request has %zu headers but no name or value array",
                       req->header_count);
  for (size_t i = 0; i < req->header_count; i++)
    if (!req->header_names[i] || !req->header_values[i])
      return stream__err(STREAM_EINVAL, "request header %zu has a NULL name or value", i);
  if (req->key_name_count && !req->key_names)
    return stream__err(STREAM_EINVAL, "request has %zu key names but no array",
                       req->key_name_count);
  for (size_t i = 0; i < req->key_name_count; i++)
    if (!req->key_names[i])
      return stream__err(STREAM_EINVAL, "request key name %zu is NULL", i);
  if (req->client_ip && !ip_ok(req->client_ip))
    return stream__err(STREAM_EINVAL, "client IP is not an IPv4 or IPv6 address");
  if (req->now < 0)
    return stream__err(STREAM_EINVAL, "now is negative");
  *now = req->now ? req->now : stream__now();
  return STREAM_OK;
}

int google__outcome(stream_google_verification *out, int reason, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = sign__outcome_v(&out->reason, reason, fmt, ap);
  va_end(ap);
  return rc;
}

static void result_init(stream_google_verification *out)
{
  memset(out, 0, sizeof *out);
  out->reason = STREAM_SIGN_MALFORMED;
}

void google__result_set_key(stream_google_verification *out, const char *s, size_t n)
{
  if (n > STREAM_KEY_ID_MAX)
    n = STREAM_KEY_ID_MAX;
  memcpy(out->key_name, s, n);
  out->key_name[n] = '\0';
}

static stream_key *ring_key(const stream_keyring *ring, const char *name, size_t n)
{
  char id[STREAM_KEY_ID_MAX + 1];
  if (n == 0 || n > STREAM_KEY_ID_MAX)
    return NULL;
  memcpy(id, name, n);
  id[n] = '\0';
  stream_key *k = NULL;
  /* a miss is reported by the caller with its own message */
  if (stream_keyring_get(&k, ring, id) != STREAM_OK)
    k = NULL;
  return k;
}

bool google__url_path(const char *url, const char **path, size_t *len)
{
  const char *p = url;
  size_t sl = scheme_len(url);
  if (sl) {
    p = url + sl;
    while (*p && *p != '/' && *p != '?')
      p++;
    if (*p != '/')
      return false;
  } else if (*p != '/') {
    return false;
  }
  size_t n = strcspn(p, "?#");
  *path = p;
  *len = n;
  return true;
}

/* ---- IP ranges --------------------------------------------------------- */

/* Google accepts IPv6 prefixes written without "::" (its own sample
 * "2001:db8:4a7f:a732/64"): lenient parsing throughout. */
static bool ip_ok(const char *ip)
{
  sign__ip a;
  size_t n = strnlen(ip, 64);
  return n < 64 && sign__ip_parse_addr(&a, ip, n, true) == STREAM_OK;
}

/* Parse the next comma-separated range at *pos; false when it cannot be parsed. */
static bool next_range(sign__ip *block, const char *ranges, size_t n, size_t *pos)
{
  size_t i = *pos, e = i;
  while (e < n && ranges[e] != ',')
    e++;
  *pos = e + 1;
  const char *why = NULL;
  return sign__ip_parse_block(block, ranges + i, e - i, '/', false, &why) == STREAM_OK;
}

bool google__ranges_ok(const char *ranges, size_t n)
{
  if (n == 0)
    return false;
  sign__ip block;
  for (size_t i = 0; i <= n;)
    if (!next_range(&block, ranges, n, &i))
      return false;
  return true;
}

bool google__ip_in_ranges(const char *client_ip, const char *ranges, size_t n, bool *bad)
{
  sign__ip ip, ip4, block;
  *bad = false;
  if (sign__ip_parse_addr(&ip, client_ip, strlen(client_ip), true)) {
    *bad = true;
    return false;
  }
  /* An IPv4-mapped IPv6 client address also matches IPv4 ranges. */
  bool mapped = sign__ip_unmap(&ip4, &ip);
  bool hit = false;
  for (size_t i = 0; i <= n;) {
    if (!next_range(&block, ranges, n, &i)) {
      *bad = true;
      return false;
    }
    if (sign__ip_contains(&block, &ip) || (mapped && sign__ip_contains(&block, &ip4)))
      hit = true;
  }
  return hit;
}

/* ---- path globs -------------------------------------------------------- */

bool google__path_globs_match(const char *globs, size_t n, const char *path, size_t plen)
{
  size_t i = 0;
  while (i <= n) {
    size_t e = i;
    while (e < n && globs[e] != ',' && globs[e] != '!')
      e++;
    if (e > i && sign__wildcard_match(globs + i, e - i, path, plen, false))
      return true;
    i = e + 1;
  }
  return false;
}

int google__prefix_match(const char *b64, size_t n, const char *url, size_t url_len)
{
  unsigned char small[1024];
  size_t cap = stream__b64_decoded_max(n);
  unsigned char *p = cap <= sizeof small ? small : malloc(cap);
  if (!p)
    return -1;
  size_t pl = 0;
  int r;
  if (!google__b64url_decode(p, cap, &pl, b64, n) || pl == 0)
    r = -1;
  else
    r = url && url_len >= pl && memcmp(url, p, pl) == 0;
  if (p != small)
    free(p);
  return r;
}

/* ---- signed field lists ------------------------------------------------ */

/* If s[*pos..] starts with `name=`, set the value span up to the next sep (or
 * the end when last) and advance past it. */
static bool take_field(const char *s, size_t n, size_t *pos, const char *name, char sep, bool last,
                       const char **v, size_t *vl)
{
  size_t nl = strlen(name);
  size_t p = *pos;
  if (n - p < nl + 1 || memcmp(s + p, name, nl) != 0 || s[p + nl] != '=')
    return false;
  p += nl + 1;
  size_t e = p;
  while (e < n && s[e] != sep)
    e++;
  if (last && e != n)
    return false;
  if (!last && e == n)
    return false;
  *v = s + p;
  *vl = e - p;
  *pos = last ? e : e + 1;
  return true;
}

int google__verify_signed(stream_google_verification *out, const stream_keyring *ring,
                          const google__signed *in, int64_t now)
{
  const char *s = in->text;
  size_t n = in->len, pos = 0;
  const char *pv = NULL, *ev = NULL, *kv = NULL, *sv = NULL;
  size_t pl = 0, el = 0, kl = 0, sl = 0;
  bool has_prefix = take_field(s, n, &pos, "URLPrefix", in->sep, false, &pv, &pl);
  if (!has_prefix && in->need_prefix)
    return google__outcome(out, STREAM_SIGN_MALFORMED,
                           "signed value does not start with URLPrefix=");
  if (!take_field(s, n, &pos, "Expires", in->sep, false, &ev, &el))
    return google__outcome(out, STREAM_SIGN_MALFORMED, "Expires is missing or out of order");
  if (!take_field(s, n, &pos, "KeyName", in->sep, false, &kv, &kl))
    return google__outcome(out, STREAM_SIGN_MALFORMED, "KeyName is missing or out of order");
  size_t sig_field = pos; /* offset of "Signature=" */
  if (!take_field(s, n, &pos, "Signature", in->sep, true, &sv, &sl))
    return google__outcome(out, STREAM_SIGN_MALFORMED,
                           "Signature is missing or not the last parameter");
  int64_t expires = 0;
  if (!sign__parse_decimal(&expires, ev, el, 18, false, INT64_MAX))
    return google__outcome(out, STREAM_SIGN_MALFORMED, "Expires is not a positive decimal number");
  out->expires = expires;
  bool name_ok = in->media ? google__media_key_name_ok(kv, kl) : google__cloud_key_name_ok(kv, kl);
  if (!name_ok)
    return google__outcome(out, STREAM_SIGN_MALFORMED, "KeyName has an invalid syntax");
  google__result_set_key(out, kv, kl);
  unsigned char sig[GOOGLE_ED25519_SIG_LEN + 3];
  size_t want = in->media ? GOOGLE_ED25519_SIG_LEN : SIGN__SHA1_LEN, got = 0;
  if (!google__b64url_decode(sig, sizeof sig, &got, sv, sl) || got != want)
    return google__outcome(out, STREAM_SIGN_MALFORMED,
                           "Signature is not base64url of a %zu-byte %s", want,
                           in->media ? "Ed25519 signature" : "HMAC-SHA1");
  stream_key *key = ring_key(ring, kv, kl);
  if (!key)
    return google__outcome(out, STREAM_SIGN_UNKNOWN_KEY, "unknown KeyName '%s'", out->key_name);
  const unsigned char *msg = (const unsigned char *)in->signed_start;
  size_t msg_len = (size_t)(s + sig_field - 1 - in->signed_start);
  int rc = STREAM_OK;
  bool good = false;
  if (in->media) {
    if (key->type != STREAM_KEY_ED25519_PRIVATE && key->type != STREAM_KEY_ED25519_PUBLIC)
      rc = google__outcome(out, STREAM_SIGN_UNKNOWN_KEY, "key '%s' is not an Ed25519 key",
                           out->key_name);
    else
      good = google__ed25519_verify(key, sig, msg, msg_len);
  } else {
    unsigned char mac[SIGN__SHA256_LEN];
    size_t ml = 0;
    if (key->type != STREAM_KEY_HMAC)
      rc = google__outcome(out, STREAM_SIGN_UNKNOWN_KEY, "key '%s' is not an HMAC key",
                           out->key_name);
    else if ((rc = sign__hmac(mac, &ml, SIGN__SHA1, key, msg, msg_len)) == STREAM_OK)
      good = CRYPTO_memcmp(mac, sig, SIGN__SHA1_LEN) == 0;
    stream__wipe(mac, sizeof mac);
  }
  stream_key_free(key);
  if (rc)
    return rc;
  if (!good)
    return google__outcome(out, STREAM_SIGN_BAD_SIGNATURE, "signature does not match (key '%s')",
                           out->key_name);
  if (now >= expires)
    return google__outcome(out, STREAM_SIGN_EXPIRED, "signature expired at %lld, now %lld",
                           (long long)expires, (long long)now);
  if (has_prefix) {
    int m = google__prefix_match(pv, pl, in->scope, in->scope ? in->scope_len : 0);
    if (m < 0)
      return google__outcome(out, STREAM_SIGN_MALFORMED, "URLPrefix is not base64url");
    if (m == 0)
      return google__outcome(out, STREAM_SIGN_OUTSIDE_PREFIX,
                             "request URL is outside the signed URLPrefix");
  }
  return google__outcome(out, STREAM_SIGN_VALID, "valid");
}

/* Locate the signing parameters in the query of `url`: the first parameter
 * named URLPrefix, else the first named Expires. NULL when absent. Sets
 * *has_sig when a Signature parameter is present anywhere. */
static const char *find_query_fields(const char *url, size_t n, bool *has_sig)
{
  *has_sig = false;
  const char *q = memchr(url, '?', n);
  if (!q)
    return NULL;
  const char *prefix = NULL, *expires = NULL;
  size_t qn = n - (size_t)(q + 1 - url);
  sign__param p;
  for (size_t pos = 0; sign__query_next(&p, q + 1, qn, &pos);) {
    if (!prefix && sign__param_is(&p, "URLPrefix", 9))
      prefix = p.name;
    if (!expires && sign__param_is(&p, "Expires", 7))
      expires = p.name;
    if (sign__param_is(&p, "Signature", 9))
      *has_sig = true;
  }
  return prefix ? prefix : expires;
}

/* ---- signing and verification flows ------------------------------------ */

int google__check_sign_key(const stream_key *key, bool media, const char *fn)
{
  if (!key)
    return stream__err(STREAM_EINVAL, "%s: key is NULL", fn);
  if (media) {
    if (key->type != STREAM_KEY_ED25519_PRIVATE)
      return stream__err(STREAM_EINVAL, "%s: key '%s' is not an Ed25519 private key", fn, key->id);
    if (!google__media_key_name_ok(key->id, strlen(key->id)))
      return stream__err(STREAM_EINVAL,
                         "%s: key id '%s' is not a Media CDN key name ([a-zA-Z][a-zA-Z0-9_-]*)", fn,
                         key->id);
    return STREAM_OK;
  }
  if (key->type != STREAM_KEY_HMAC)
    return stream__err(STREAM_EINVAL, "%s: key '%s' is not an HMAC key", fn, key->id);
  if (!google__cloud_key_name_ok(key->id, strlen(key->id)))
    return stream__err(STREAM_EINVAL,
                       "%s: key id '%s' is not a Cloud CDN key name ([a-z]([-a-z0-9]*[a-z0-9])?, "
                       "1..63 characters)",
                       fn, key->id);
  return STREAM_OK;
}

int google__append_signature(stream__buf *b, const stream_key *key, size_t from, char sep,
                             bool media)
{
  if (b->failed)
    return stream__err(STREAM_ENOMEM, "out of memory building a signed URL");
  unsigned char sig[GOOGLE_ED25519_SIG_LEN];
  size_t sl = GOOGLE_ED25519_SIG_LEN;
  int rc = media ? google__ed25519_sign(sig, key, b->data + from, b->len - from)
                 : sign__hmac(sig, &sl, SIGN__SHA1, key, b->data + from, b->len - from);
  if (rc)
    return rc;
  stream__buf_append(b, &sep, 1);
  stream__buf_puts(b, "Signature=");
  google__buf_b64(b, sig, sl, !media);
  stream__wipe(sig, sizeof sig);
  return STREAM_OK;
}

int google__check_fits(const stream__buf *b, size_t extra, const char *what, const char *fn)
{
  size_t n = extra + b->len;
  if (b->failed || n <= GOOGLE_TEXT_MAX)
    return STREAM_OK;
  return stream__err(STREAM_EINVAL, "%s: the %s would be %zu bytes; verification takes at most %d",
                     fn, what, n, GOOGLE_TEXT_MAX);
}

int google__finish(stream__buf *b, char **out, int rc)
{
  if (rc) {
    stream__buf_free(b);
    return rc;
  }
  return stream__buf_detach(b, out);
}

int google__sign(char **out, google__form form, const stream_key *key, const char *url,
                 const char *prefix, const stream_google_sign_options *opts, bool media,
                 const char *fn)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "%s: out is NULL", fn);
  *out = NULL;
  int64_t expires = 0;
  int rc = google__check_sign_key(key, media, fn);
  if (rc || ((form == GOOGLE_FORM_URL || url) && (rc = google__check_url(url, "URL", true))) ||
      (form != GOOGLE_FORM_URL && (rc = google__check_prefix(prefix, "URL prefix"))) ||
      (rc = google__expiry(&expires, opts, fn)))
    return rc;
  stream__buf b;
  stream__buf_init(&b);
  if (form == GOOGLE_FORM_URL) {
    stream__buf_puts(&b, url);
    stream__buf_printf(&b, "%cExpires=%lld&KeyName=%s", strchr(url, '?') ? '&' : '?',
                       (long long)expires, key->id);
    rc = google__append_signature(&b, key, 0, '&', media);
    if (!rc)
      rc = google__check_fits(&b, 0, "signed URL", fn);
    return google__finish(&b, out, rc);
  }
  char sep = '&';
  if (form == GOOGLE_FORM_COOKIE) {
    stream__buf_puts(&b, media ? "Edge-Cache-Cookie=" : "Cloud-CDN-Cookie=");
    sep = ':';
  } else if (url) {
    stream__buf_puts(&b, url);
    stream__buf_puts(&b, strchr(url, '?') ? "&" : "?");
  }
  /* The policy `URLPrefix=..<sep>Expires=..<sep>KeyName=..` is what is signed. */
  size_t from = b.len;
  stream__buf_puts(&b, "URLPrefix=");
  google__buf_b64(&b, prefix, strlen(prefix), true);
  stream__buf_printf(&b, "%cExpires=%lld%cKeyName=%s", sep, (long long)expires, sep, key->id);
  rc = google__append_signature(&b, key, from, sep, media);
  /* What verification would refuse as too long is not made: the cookie, the URL signed with a
   * prefix, or for a prefix without a url the request URL it starts (prefix, '?', result). */
  if (!rc && form == GOOGLE_FORM_COOKIE)
    rc = google__check_fits(&b, 0, "cookie", fn);
  else if (!rc && url)
    rc = google__check_fits(&b, 0, "signed URL", fn);
  else if (!rc)
    rc = google__check_fits(&b, strlen(prefix) + 1, "URL prefix, '?' and signed query", fn);
  return google__finish(&b, out, rc);
}

int google__verify_start(stream_google_verification *out, const stream_keyring *ring,
                         const stream_google_request *req, int64_t *now, const char *fn)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "%s: out is NULL", fn);
  result_init(out);
  if (!ring)
    return stream__err(STREAM_EINVAL, "%s: key ring is NULL", fn);
  return google__check_request(req, now, true);
}

int google__verify_query(stream_google_verification *out, const stream_keyring *ring,
                         const char *url, size_t n, int64_t now, bool media)
{
  bool has_sig = false;
  const char *fields = find_query_fields(url, n, &has_sig);
  if (!has_sig)
    return google__outcome(out, STREAM_SIGN_MISSING, "URL has no Signature parameter");
  if (!fields)
    return google__outcome(out, STREAM_SIGN_MALFORMED, "URL has a Signature but no Expires");
  google__signed in = {
      .text = fields, .len = n - (size_t)(fields - url), .sep = '&', .media = media};
  if (strncmp(fields, "URLPrefix=", 10) == 0) {
    in.need_prefix = true;
    in.signed_start = fields;
    in.scope = url;
    in.scope_len = (size_t)(fields - 1 - url); /* without "?URLPrefix=..." */
  } else {
    in.signed_start = url;
  }
  return google__verify_signed(out, ring, &in, now);
}

int google__verify_text_start(stream_google_verification *out, const stream_keyring *ring,
                              const stream_google_request *req, int64_t *now, const char *text,
                              const char *what, size_t *n, const char *fn)
{
  int rc = google__verify_start(out, ring, req, now, fn);
  if (rc)
    return rc;
  if (!text || !*text)
    return google__outcome(out, STREAM_SIGN_MISSING, "%s is NULL or empty", what);
  *n = strnlen(text, GOOGLE_TEXT_MAX + 1);
  if (*n > GOOGLE_TEXT_MAX)
    return google__outcome(out, STREAM_SIGN_MALFORMED, "%s is over %d bytes", what,
                           GOOGLE_TEXT_MAX);
  return STREAM_OK;
}

int google__verify_cookie(stream_google_verification *out, const stream_keyring *ring,
                          const char *cookie, const stream_google_request *req, bool media,
                          const char *fn)
{
  int64_t now = 0;
  size_t n = 0;
  int rc = google__verify_text_start(out, ring, req, &now, cookie, "cookie", &n, fn);
  if (rc)
    return rc;
  const char *name = media ? "Edge-Cache-Cookie=" : "Cloud-CDN-Cookie=";
  size_t nl = strlen(name);
  if (strncmp(cookie, name, nl) == 0) {
    cookie += nl;
    n -= nl;
  }
  google__signed in = {.text = cookie,
                       .len = n,
                       .sep = ':',
                       .media = media,
                       .need_prefix = true,
                       .signed_start = cookie,
                       .scope = req->url,
                       .scope_len = strlen(req->url)};
  return google__verify_signed(out, ring, &in, now);
}
