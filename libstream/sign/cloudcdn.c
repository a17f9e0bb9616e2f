/*
 * sign/cloudcdn: Google Cloud CDN compatible signed URLs, signed URL prefixes
 * and `Cloud-CDN-Cookie` values (HMAC-SHA1 with a 16-byte key, padded
 * base64url), signing and verification. String-to-sign and vectors:
 * shared/design/standards.md §1.
 */
#include <string.h>

#include "google_internal.h"

/* Checks shared by the signing functions: key type and KeyName syntax. */
static int check_key(const stream_key *key, const char *fn)
{
  if (!key)
    return stream__err(STREAM_EINVAL, "%s: key is NULL", fn);
  if (key->type != STREAM_KEY_HMAC)
    return stream__err(STREAM_EINVAL, "%s: key '%s' is not an HMAC key", fn, key->id);
  if (!google__cloud_key_name_ok(key->id, strlen(key->id)))
    return stream__err(STREAM_EINVAL,
                       "%s: key id '%s' is not a Cloud CDN key name ([a-z]([-a-z0-9]*[a-z0-9])?, "
                       "1..63 characters)",
                       fn, key->id);
  return STREAM_OK;
}

/* Append `<sep>Signature=<padded base64url HMAC-SHA1 of the signed bytes>`. */
static void append_signature(stream__buf *b, const stream_key *key, size_t from, char sep, int *rc)
{
  unsigned char mac[GOOGLE_SHA256_LEN];
  size_t ml = 0;
  if (b->failed) {
    *rc = stream__err(STREAM_ENOMEM, "out of memory building a signed URL");
    return;
  }
  *rc = google__hmac(mac, &ml, "SHA1", key, b->data + from, b->len - from);
  if (*rc)
    return;
  stream__buf_append(b, &sep, 1);
  stream__buf_puts(b, "Signature=");
  google__buf_b64(b, mac, ml, true);
  stream__wipe(mac, sizeof mac);
}

/* The policy `URLPrefix=..<sep>Expires=..<sep>KeyName=..`. */
static void append_policy(stream__buf *b, const char *prefix, int64_t expires, const char *name,
                          char sep)
{
  stream__buf_puts(b, "URLPrefix=");
  google__buf_b64(b, prefix, strlen(prefix), true);
  stream__buf_printf(b, "%cExpires=%lld%cKeyName=%s", sep, (long long)expires, sep, name);
}

static int finish(stream__buf *b, char **out, int rc)
{
  if (rc) {
    stream__buf_free(b);
    return rc;
  }
  return stream__buf_detach(b, out);
}

int stream_cloudcdn_sign_url(char **out, const stream_key *key, const char *url,
                             const stream_google_sign_options *opts)
{
  static const char fn[] = "stream_cloudcdn_sign_url";
  if (!out)
    return stream__err(STREAM_EINVAL, "%s: out is NULL", fn);
  *out = NULL;
  int64_t expires = 0;
  int rc = check_key(key, fn);
  if (rc || (rc = google__check_url(url, "URL", true)) || (rc = google__expiry(&expires, opts, fn)))
    return rc;
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_puts(&b, url);
  stream__buf_printf(&b, "%cExpires=%lld&KeyName=%s", strchr(url, '?') ? '&' : '?',
                     (long long)expires, key->id);
  append_signature(&b, key, 0, '&', &rc);
  return finish(&b, out, rc);
}

int stream_cloudcdn_sign_prefix(char **out, const stream_key *key, const char *url,
                                const char *url_prefix, const stream_google_sign_options *opts)
{
  static const char fn[] = "stream_cloudcdn_sign_prefix";
  if (!out)
    return stream__err(STREAM_EINVAL, "%s: out is NULL", fn);
  *out = NULL;
  int64_t expires = 0;
  int rc = check_key(key, fn);
  if (rc || (url && (rc = google__check_url(url, "URL", true))) ||
      (rc = google__check_prefix(url_prefix, "URL prefix")) ||
      (rc = google__expiry(&expires, opts, fn)))
    return rc;
  stream__buf b;
  stream__buf_init(&b);
  if (url) {
    stream__buf_puts(&b, url);
    stream__buf_puts(&b, strchr(url, '?') ? "&" : "?");
  }
  size_t from = b.len;
  append_policy(&b, url_prefix, expires, key->id, '&');
  append_signature(&b, key, from, '&', &rc);
  return finish(&b, out, rc);
}

int stream_cloudcdn_sign_cookie(char **out, const stream_key *key, const char *url_prefix,
                                const stream_google_sign_options *opts)
{
  static const char fn[] = "stream_cloudcdn_sign_cookie";
  if (!out)
    return stream__err(STREAM_EINVAL, "%s: out is NULL", fn);
  *out = NULL;
  int64_t expires = 0;
  int rc = check_key(key, fn);
  if (rc || (rc = google__check_prefix(url_prefix, "URL prefix")) ||
      (rc = google__expiry(&expires, opts, fn)))
    return rc;
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_puts(&b, "Cloud-CDN-Cookie=");
  size_t from = b.len;
  append_policy(&b, url_prefix, expires, key->id, ':');
  append_signature(&b, key, from, ':', &rc);
  return finish(&b, out, rc);
}

static int verify_start(stream_google_verification *out, const stream_keyring *ring,
                        const stream_google_request *req, int64_t *now, const char *fn)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "%s: out is NULL", fn);
  google__result_init(out);
  if (!ring)
    return stream__err(STREAM_EINVAL, "%s: key ring is NULL", fn);
  return google__check_request(req, now, true);
}

int stream_cloudcdn_verify_url(stream_google_verification *out, const stream_keyring *ring,
                               const stream_google_request *req)
{
  int64_t now = 0;
  int rc = verify_start(out, ring, req, &now, "stream_cloudcdn_verify_url");
  if (rc)
    return rc;
  size_t n = strlen(req->url);
  bool has_sig = false;
  const char *fields = google__find_query_fields(req->url, n, &has_sig);
  if (!has_sig)
    return google__outcome(out, STREAM_SIGN_MISSING, "URL has no Signature parameter");
  if (!fields)
    return google__outcome(out, STREAM_SIGN_MALFORMED, "URL has a Signature but no Expires");
  google__signed in = {.text = fields, .len = n - (size_t)(fields - req->url), .sep = '&'};
  if (strncmp(fields, "URLPrefix=", 10) == 0) {
    in.need_prefix = true;
    in.signed_start = fields;
    in.scope = req->url;
    in.scope_len = (size_t)(fields - 1 - req->url); /* without "?URLPrefix=..." */
  } else {
    in.signed_start = req->url;
  }
  return google__verify_signed(out, ring, &in, now);
}

int stream_cloudcdn_verify_cookie(stream_google_verification *out, const stream_keyring *ring,
                                  const char *cookie, const stream_google_request *req)
{
  int64_t now = 0;
  int rc = verify_start(out, ring, req, &now, "stream_cloudcdn_verify_cookie");
  if (rc)
    return rc;
  if (!cookie || !*cookie)
    return google__outcome(out, STREAM_SIGN_MISSING, "cookie is NULL or empty");
  size_t n = strnlen(cookie, GOOGLE_TEXT_MAX + 1);
  if (n > GOOGLE_TEXT_MAX)
    return google__outcome(out, STREAM_SIGN_MALFORMED, "cookie is over %d bytes", GOOGLE_TEXT_MAX);
  if (strncmp(cookie, "Cloud-CDN-Cookie=", 17) == 0) {
    cookie += 17;
    n -= 17;
  }
  google__signed in = {.text = cookie,
                       .len = n,
                       .sep = ':',
                       .need_prefix = true,
                       .signed_start = cookie,
                       .scope = req->url,
                       .scope_len = strlen(req->url)};
  return google__verify_signed(out, ring, &in, now);
}
