/*
 * Helpers shared by the Google Cloud CDN and Google Media CDN formats
 * (cloudcdn.c, mediacdn.c): URL and query checks, strict integers, base64url
 * that accepts padded and unpadded text, HMAC and Ed25519 through OpenSSL 3,
 * CIDR matching, path globs and the verification outcome. Module-internal.
 */
#ifndef STREAM_SIGN_GOOGLE_INTERNAL_H
#define STREAM_SIGN_GOOGLE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "../keys/keys_internal.h"
#include "stream/sign.h"

/* Longest URL, cookie or token accepted, in bytes. */
#define GOOGLE_TEXT_MAX 16384
#define GOOGLE_SHA1_LEN 20
#define GOOGLE_SHA256_LEN 32
#define GOOGLE_ED25519_SIG_LEN 64

/* Resolve opts->expires / opts->ttl into an absolute time (> 0). */
int google__expiry(int64_t *out, const stream_google_sign_options *opts, const char *fn);

/* Key name syntax: Cloud CDN `[a-z]([-a-z0-9]*[a-z0-9])?` of 1..63 characters;
 * Media CDN `[a-zA-Z][a-zA-Z0-9_-]*` of 1..64 characters. */
bool google__cloud_key_name_ok(const char *s, size_t n);
bool google__media_key_name_ok(const char *s, size_t n);

/* Check a URL to sign: http/https scheme, a host, printable ASCII, no
 * fragment, length limit, no trailing bare '?' or '&', and (when
 * check_params) no existing Expires / KeyName / Signature / URLPrefix query
 * parameter. `what` names the argument in messages. */
int google__check_url(const char *url, const char *what, bool check_params);
/* Check a URL prefix: like a URL, and without a query. */
int google__check_prefix(const char *prefix, const char *what);

/* Parse n characters as a positive decimal (1..18 digits, no sign). */
bool google__parse_time(const char *s, size_t n, int64_t *out);

/* Decode base64url, padded or unpadded, into dst. Returns false on any error. */
bool google__b64url_decode(unsigned char *dst, size_t cap, size_t *written, const char *s,
                           size_t n);

/* Does url start with the base64url-decoded prefix b64? 1 yes, 0 no, -1 when b64
 * is not base64url or decodes to nothing (or memory ran out). */
int google__prefix_match(const char *b64, size_t n, const char *url, size_t url_len);

/* Append base64url of data (padded or not) to b. */
void google__buf_b64(stream__buf *b, const void *data, size_t n, bool pad);

/* HMAC with "SHA1" or "SHA256". out must hold 32 bytes. */
int google__hmac(unsigned char *out, size_t *out_len, const char *digest, const stream_key *key,
                 const void *data, size_t n);
/* Ed25519 over data with a private key; sig gets 64 bytes. */
int google__ed25519_sign(unsigned char *sig, const stream_key *key, const void *data, size_t n);
/* true when sig (64 bytes) is a valid Ed25519 signature of data by key. */
bool google__ed25519_verify(const stream_key *key, const unsigned char *sig, const void *data,
                            size_t n);

/* Validate the request struct and resolve `now`. */
int google__check_request(const stream_google_request *req, int64_t *now, bool need_url);

/* Fill the verification outcome: sets reason, the status code that goes with
 * it, and the thread's error message (for failures). Returns the code. */
int google__outcome(stream_google_verification *out, int reason, const char *fmt, ...)
    STREAM__PRINTF(3, 4);
void google__result_init(stream_google_verification *out);
void google__result_set_key(stream_google_verification *out, const char *s, size_t n);

/* Look up a key by name in the ring. Returns NULL when absent (no error set). */
stream_key *google__ring_key(const stream_keyring *ring, const char *name, size_t n);

/* Find the value of query parameter `name` in the query `q` (text after '?',
 * up to its end or n). Returns a pointer into q and sets *vlen, or NULL. */
const char *google__query_param(const char *q, size_t n, const char *name, size_t *vlen);

/* The path of an absolute URL or of a path ("/a/b"): start and length,
 * without the query. false when the URL has no path part. */
bool google__url_path(const char *url, const char **path, size_t *len);

/* true when client_ip lies in one of the comma-separated CIDR ranges.
 * *bad is set when a range cannot be parsed. */
bool google__ip_in_ranges(const char *client_ip, const char *ranges, size_t n, bool *bad);
/* Check comma-separated CIDR ranges for syntax. */
bool google__ranges_ok(const char *ranges, size_t n);
/* Check a client IP for syntax. */
bool google__ip_ok(const char *ip);

/* true when path matches one of the ','- or '!'-separated globs ('*' = any
 * run of characters). */
bool google__path_globs_match(const char *globs, size_t n, const char *path, size_t plen);

/* A signed field list `[URLPrefix=P]<sep>Expires=E<sep>KeyName=K<sep>Signature=S`
 * (a query string, a path component or a cookie) and what it is checked
 * against. The signed bytes run from `signed_start` to just before
 * `<sep>Signature=`; `signed_start` is `text` for policies and the start of
 * the URL for exact URLs and path components. */
typedef struct google__signed {
  const char *text;
  size_t len;
  char sep;
  bool media;       /* Ed25519 (Media CDN) instead of HMAC-SHA1 (Cloud CDN) */
  bool need_prefix; /* URLPrefix required (cookies, prefix form) */
  const char *signed_start;
  const char *scope; /* request URL checked against URLPrefix */
  size_t scope_len;
} google__signed;

int google__verify_signed(stream_google_verification *out, const stream_keyring *ring,
                          const google__signed *in, int64_t now);

/* Locate the signing parameters in the query of `url`: the first parameter
 * named URLPrefix, else the first named Expires. NULL when absent. Sets
 * *has_sig when a Signature parameter is present anywhere. */
const char *google__find_query_fields(const char *url, size_t n, bool *has_sig);

#endif
