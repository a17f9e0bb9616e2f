/*
 * sign/cloudcdn: Google Cloud CDN compatible signed URLs, signed URL prefixes
 * and `Cloud-CDN-Cookie` values (HMAC-SHA1 with a 16-byte key, padded
 * base64url), signing and verification. String-to-sign and vectors:
 * shared/design/standards.md §1. The flows are shared with Media CDN
 * (google_util.c); this file names the Cloud CDN variant.
 */
#include "sign_internal.h"

int stream_cloudcdn_sign_url(char **out, const stream_key *key, const char *url,
                             const stream_google_sign_options *opts)
{
  return google__sign(out, GOOGLE_FORM_URL, key, url, NULL, opts, false,
                      "stream_cloudcdn_sign_url");
}

int stream_cloudcdn_sign_prefix(char **out, const stream_key *key, const char *url,
                                const char *url_prefix, const stream_google_sign_options *opts)
{
  return google__sign(out, GOOGLE_FORM_PREFIX, key, url, url_prefix, opts, false,
                      "stream_cloudcdn_sign_prefix");
}

int stream_cloudcdn_sign_cookie(char **out, const stream_key *key, const char *url_prefix,
                                const stream_google_sign_options *opts)
{
  return google__sign(out, GOOGLE_FORM_COOKIE, key, NULL, url_prefix, opts, false,
                      "stream_cloudcdn_sign_cookie");
}

int stream_cloudcdn_verify_url(stream_google_verification *out, const stream_keyring *ring,
                               const stream_google_request *req)
{
  int64_t now = 0;
  int rc = google__verify_start(out, ring, req, &now, "stream_cloudcdn_verify_url");
  if (rc)
    return rc;
  return google__verify_query(out, ring, req->url, strlen(req->url), now, false);
}

int stream_cloudcdn_verify_cookie(stream_google_verification *out, const stream_keyring *ring,
                                  const char *cookie, const stream_google_request *req)
{
  return google__verify_cookie(out, ring, cookie, req, false, "stream_cloudcdn_verify_cookie");
}
