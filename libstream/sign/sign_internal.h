/*
 * The internal header of the sign module, shared by the native format
 * (native.c), Google Cloud CDN (cloudcdn.c) and Google Media CDN
 * (mediacdn.c). common.c owns what every format uses: HMAC with a per-thread
 * cache of keyed contexts, addresses and CIDR blocks, URL and query scanning,
 * strict decimals. google_util.c owns what the two Google formats share:
 * argument checks, the signed field lists and their signing and verification
 * flows, IP ranges, path globs and the verification outcome.
 */
#ifndef STREAM_SIGN_INTERNAL_H
#define STREAM_SIGN_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stream/sign.h"

#include "../core/core.h"
#include "../keys/keys_internal.h"

/* ---- common.c: crypto ---------------------------------------------------- */

typedef enum sign__md { SIGN__SHA1 = 1, SIGN__SHA256 = 2 } sign__md;
#define SIGN__SHA1_LEN 20
#define SIGN__SHA256_LEN 32

/* HMAC-SHA1 or HMAC-SHA256 of `len` bytes with an HMAC key into `out`
 * (room for 32 bytes); *out_len gets 20 or 32. The keyed context is cached per
 * thread, so a key the thread has used before costs no key schedule and no
 * allocation. Sets the thread error and returns STREAM_ECRYPTO on failure. */
int sign__hmac(unsigned char *out, size_t *out_len, sign__md md, const stream_key *key,
               const void *data, size_t len);

/* ---- common.c: addresses ------------------------------------------------- */

/* An address or CIDR block. family is 4 or 6; bits is the prefix length
 * (32 / 128 for a single address). */
typedef struct sign__ip {
  int family;
  int bits;
  unsigned char addr[16];
} sign__ip;

/* Parse an address of `n` bytes (no block, no mapping). `lenient` also
 * accepts an IPv6 prefix written without "::" and with fewer than 8 groups
 * (Google's "2001:db8:4a7f:a732"): the missing groups are zero. Quiet:
 * returns STREAM_EINVAL. */
int sign__ip_parse_addr(sign__ip *out, const char *s, size_t n, bool lenient);
/* Parse "ADDR" or "ADDR<sep>BITS" (sep '/' in the API, '_' on the native
 * wire) of `n` bytes. `strict` (native): refuses IPv4-mapped IPv6 blocks,
 * leading zeros in bits and host bits that are not zero. Not strict
 * (Google): lenient IPv6, any 1..3 digits of bits. Bits out of range are
 * always refused. Quiet: returns STREAM_EINVAL and sets *why to a static
 * description. */
int sign__ip_parse_block(sign__ip *out, const char *s, size_t n, char sep, bool strict,
                         const char **why);
/* Parse a client address (no block, strict); an IPv4-mapped IPv6 address
 * becomes IPv4. Quiet: STREAM_EINVAL. */
int sign__ip_parse_client(sign__ip *out, const char *s);
/* If `ip` is an IPv4-mapped IPv6 address, store its IPv4 form in `v4` and
 * return true. */
bool sign__ip_unmap(sign__ip *v4, const sign__ip *ip);
/* Canonical text: inet_ntop form, "<sep>BITS" appended unless the block is a
 * single address. `dst` must hold 64 bytes. Returns the length. */
size_t sign__ip_format(char *dst, const sign__ip *ip, char sep);
/* Whether the client address lies in the block (same family only). */
bool sign__ip_contains(const sign__ip *block, const sign__ip *client);

/* ---- common.c: URLs, queries, numbers -------------------------------------- */

/* Offsets of an absolute http(s) URL of `n` bytes: path_start is the index of
 * the first '/' after the authority (n when absent), query is the index of
 * the first '?' (n when absent). Fails (quiet, STREAM_EINVAL, *why set) on a
 * scheme other than lowercase http/https, an empty host, a byte outside
 * printable ASCII (space excluded), '#' or '\\'. */
int sign__url_split(const char *s, size_t n, size_t *path_start, size_t *query, const char **why);
/* Whether all `n` bytes are printable ASCII other than space, '#', '\\'. */
bool sign__url_chars_ok(const char *s, size_t n);
/* Whether a path (bytes up to the query) is free of dot segments (".", "..",
 * also percent-encoded), encoded '/', encoded '\\' and encoded NUL. */
bool sign__path_safe(const char *path, size_t n);

/* The status a verification reason returns: STREAM_OK for VALID, STREAM_EEXPIRED
 * (expired, not yet valid), STREAM_EAUTH (bad signature, unknown key),
 * STREAM_EFORBIDDEN (outside the prefix, IP mismatch), else STREAM_EINVAL. */
int sign__reason_code(int reason);

/* Match s[0..sn) against the pattern g[0..gn): '*' matches any run of
 * characters (also none); with `question`, '?' matches exactly one; every
 * other byte itself. Linear backtracking over the last '*' (O(gn * sn) worst
 * case; callers bound both lengths). */
bool sign__wildcard_match(const char *g, size_t gn, const char *s, size_t sn, bool question);

/* Store `reason` in *out_reason and return sign__reason_code(reason), with the
 * thread's error message formatted from `fmt` when that is not STREAM_OK (the
 * outcome of every verifier; each wraps it for its own result struct). */
int sign__outcome_v(int *out_reason, int reason, const char *fmt, va_list ap);

/* A key id as the formats carry it: 1..STREAM_KEY_ID_MAX of [A-Za-z0-9._-]. */
bool sign__key_id_ok(const char *s, size_t n);

/* A positive decimal of 1..max_digits digits, at most `max`; `canonical`
 * refuses leading zeros. false on anything else (*out untouched). */
bool sign__parse_decimal(int64_t *out, const char *s, size_t n, size_t max_digits, bool canonical,
                         int64_t max);

/* One '&'-separated parameter of a query string: the name runs to the first
 * '=' (or the end of the parameter); value is NULL when there is no '='.
 * start / end are the parameter's offsets in the query. */
typedef struct sign__param {
  const char *name;
  size_t name_len;
  const char *value;
  size_t value_len;
  size_t start, end;
} sign__param;

/* Step through the parameters of the query `q` of `n` bytes (text after
 * '?'): start with *pos = 0; false when none is left. Inline: the native
 * verifier runs this on every request. */
static inline bool sign__query_next(sign__param *p, const char *q, size_t n, size_t *pos)
{
  size_t i = *pos;
  if (i >= n)
    return false;
  const char *amp = memchr(q + i, '&', n - i);
  size_t j = amp ? (size_t)(amp - q) : n;
  const char *eq = memchr(q + i, '=', j - i);
  p->name = q + i;
  p->name_len = eq ? (size_t)(eq - (q + i)) : j - i;
  p->value = eq ? eq + 1 : NULL;
  p->value_len = eq ? (size_t)(q + j - (eq + 1)) : 0;
  p->start = i;
  p->end = j;
  *pos = j + 1;
  return true;
}

/* Whether the parameter is exactly `name=` something. */
static inline bool sign__param_is(const sign__param *p, const char *name, size_t name_len)
{
  return p->value && p->name_len == name_len && memcmp(p->name, name, name_len) == 0;
}

/* ---- google_util.c: Cloud CDN and Media CDN ---------------------------------- */

/* Longest URL, cookie or token accepted, in bytes. */
#define GOOGLE_TEXT_MAX 16384
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

/* Decode base64url, padded or unpadded, into dst. Returns false on any error. */
bool google__b64url_decode(unsigned char *dst, size_t cap, size_t *written, const char *s,
                           size_t n);

/* Does url start with the base64url-decoded prefix b64? 1 yes, 0 no, -1 when b64
 * is not base64url or decodes to nothing (or memory ran out). */
int google__prefix_match(const char *b64, size_t n, const char *url, size_t url_len);

/* Append base64url of data (padded or not) to b. */
void google__buf_b64(stream__buf *b, const void *data, size_t n, bool pad);

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
void google__result_set_key(stream_google_verification *out, const char *s, size_t n);

/* The path of an absolute URL or of a path ("/a/b"): start and length,
 * without the query. false when the URL has no path part. */
bool google__url_path(const char *url, const char **path, size_t *len);

/* true when client_ip lies in one of the comma-separated CIDR ranges.
 * *bad is set when a range cannot be parsed. */
bool google__ip_in_ranges(const char *client_ip, const char *ranges, size_t n, bool *bad);
/* Check comma-separated CIDR ranges for syntax. */
bool google__ranges_ok(const char *ranges, size_t n);

/* true when path matches one of the ','- or '!'-separated globs ('*' = any
 * run of characters). */
bool google__path_globs_match(const char *globs, size_t n, const char *path, size_t plen);

/* Signing with the signature formats (not tokens). `media` selects Media CDN
 * (Ed25519 private key, unpadded base64url signature, Media CDN key names)
 * over Cloud CDN (HMAC key, HMAC-SHA1, padded base64url, Cloud CDN key
 * names). */

/* Key type and KeyName syntax of a signing key. */
int google__check_sign_key(const stream_key *key, bool media, const char *fn);
/* Sign b->data[from..] and append `<sep>Signature=<base64url>`. */
int google__append_signature(stream__buf *b, const stream_key *key, size_t from, char sep,
                             bool media);
/* STREAM_EINVAL (naming `what` and the limit) when `extra` bytes and b's text are over
 * GOOGLE_TEXT_MAX, what verification takes: signers do not make what no verifier accepts. */
int google__check_fits(const stream__buf *b, size_t extra, const char *what, const char *fn);
/* Hand over the built string, or free it when rc is an error. */
int google__finish(stream__buf *b, char **out, int rc);

typedef enum google__form { GOOGLE_FORM_URL, GOOGLE_FORM_PREFIX, GOOGLE_FORM_COOKIE } google__form;
/* The URL, prefix and cookie forms: `url` for URL (required) and prefix
 * (optional), `prefix` for prefix and cookie. `fn` names the public function
 * in messages. */
int google__sign(char **out, google__form form, const stream_key *key, const char *url,
                 const char *prefix, const stream_google_sign_options *opts, bool media,
                 const char *fn);

/* Common start of the verifiers: reset *out, check ring and request. */
int google__verify_start(stream_google_verification *out, const stream_keyring *ring,
                         const stream_google_request *req, int64_t *now, const char *fn);
/* google__verify_start, then `text` (named `what`) is present and within
 * GOOGLE_TEXT_MAX; *n gets its length. */
int google__verify_text_start(stream_google_verification *out, const stream_keyring *ring,
                              const stream_google_request *req, int64_t *now, const char *text,
                              const char *what, size_t *n, const char *fn);
/* Verify the signature fields in the query of url (n bytes). */
int google__verify_query(stream_google_verification *out, const stream_keyring *ring,
                         const char *url, size_t n, int64_t now, bool media);
/* Verify a cookie value (with or without its name) for req->url. */
int google__verify_cookie(stream_google_verification *out, const stream_keyring *ring,
                          const char *cookie, const stream_google_request *req, bool media,
                          const char *fn);

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

/* ---- cloudfront.c ------------------------------------------------------------ */

/* CloudFront's substitution on base64 text, in place: '+' -> '-', '=' -> '_',
 * '/' -> '~' (the AWS docs' `tr -- '+=/' '-_~'`). */
void cloudfront__escape(char *s, size_t n);

#endif
