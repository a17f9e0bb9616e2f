/*
 * sign/mediacdn: Google Media CDN compatible credentials, signing and
 * verification — Ed25519 signed URLs, URL prefixes, path components and
 * `Edge-Cache-Cookie` values, and `edge-cache-token` tokens signed with
 * Ed25519, HMAC-SHA1 or HMAC-SHA256. String-to-sign and vectors:
 * shared/design/standards.md §2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "sign_internal.h"

#define TOKEN_FIELD_MAX 4096
#define PATH_GLOBS_MAX 5
#define IP_RANGES_MAX (TOKEN_FIELD_MAX / 4 * 3) /* its base64url fills TOKEN_FIELD_MAX */

/* ---- signatures (Ed25519); the flows are shared with Cloud CDN ---------- */

/* Verification reads a "/edge-cache-token=" in the path as a path component
 * signature, so a URL holding one cannot carry a query signature (found by
 * fuzzing: such URLs were signed and never verified). */
static int path_has_component(char **out, const char *url, const char *fn)
{
  if (!url)
    return STREAM_OK;
  size_t path_end = strcspn(url, "?#");
  const char *p = strstr(url, "/edge-cache-token=");
  if (p && (size_t)(p - url) < path_end) {
    if (out)
      *out = NULL;
    return stream__err(STREAM_EINVAL, "%s: URL path has an edge-cache-token component", fn);
  }
  return STREAM_OK;
}

int stream_mediacdn_sign_url(char **out, const stream_key *key, const char *url,
                             const stream_google_sign_options *opts)
{
  if (path_has_component(out, url, "stream_mediacdn_sign_url"))
    return STREAM_EINVAL;
  return google__sign(out, GOOGLE_FORM_URL, key, url, NULL, opts, true, "stream_mediacdn_sign_url");
}

int stream_mediacdn_sign_prefix(char **out, const stream_key *key, const char *url,
                                const char *url_prefix, const stream_google_sign_options *opts)
{
  if (path_has_component(out, url, "stream_mediacdn_sign_prefix") ||
      path_has_component(out, url_prefix, "stream_mediacdn_sign_prefix"))
    return STREAM_EINVAL;
  return google__sign(out, GOOGLE_FORM_PREFIX, key, url, url_prefix, opts, true,
                      "stream_mediacdn_sign_prefix");
}

int stream_mediacdn_sign_cookie(char **out, const stream_key *key, const char *url_prefix,
                                const stream_google_sign_options *opts)
{
  return google__sign(out, GOOGLE_FORM_COOKIE, key, NULL, url_prefix, opts, true,
                      "stream_mediacdn_sign_cookie");
}

int stream_mediacdn_sign_path_component(char **out, const stream_key *key, const char *url_prefix,
                                        const char *filename,
                                        const stream_google_sign_options *opts)
{
  static const char fn[] = "stream_mediacdn_sign_path_component";
  if (!out)
    return stream__err(STREAM_EINVAL, "%s: out is NULL", fn);
  *out = NULL;
  int64_t expires = 0;
  int rc = google__check_sign_key(key, true, fn);
  if (rc || (rc = google__check_prefix(url_prefix, "URL prefix")) ||
      (rc = google__expiry(&expires, opts, fn)))
    return rc;
  size_t pl = strlen(url_prefix);
  if (url_prefix[pl - 1] != '/')
    return stream__err(STREAM_EINVAL, "%s: URL prefix must end with '/'", fn);
  if (strstr(url_prefix, "edge-cache-token="))
    return stream__err(STREAM_EINVAL, "%s: URL prefix already has an edge-cache-token component",
                       fn);
  if (!filename)
    filename = "";
  size_t fl = strnlen(filename, GOOGLE_TEXT_MAX + 1);
  if (fl > GOOGLE_TEXT_MAX)
    return stream__err(STREAM_ERANGE, "%s: filename is over %d bytes", fn, GOOGLE_TEXT_MAX);
  for (size_t i = 0; i < fl; i++) {
    unsigned char c = (unsigned char)filename[i];
    if (c <= 0x20 || c >= 0x7f || c == '?' || c == '#')
      return stream__err(STREAM_EINVAL,
                         "%s: filename has a space, control, non-ASCII, '?' or '#' at offset %zu",
                         fn, i);
  }
  if (filename[0] == '/')
    return stream__err(STREAM_EINVAL, "%s: filename must not start with '/'", fn);
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_puts(&b, url_prefix);
  stream__buf_printf(&b, "edge-cache-token=Expires=%lld&KeyName=%s", (long long)expires, key->id);
  rc = google__append_signature(&b, key, 0, '&', true);
  stream__buf_puts(&b, "/");
  stream__buf_append(&b, filename, fl);
  if (!rc)
    rc = google__check_fits(&b, 0, "signed URL", fn);
  return google__finish(&b, out, rc);
}

int stream_mediacdn_verify_url(stream_google_verification *out, const stream_keyring *ring,
                               const stream_google_request *req)
{
  int64_t now = 0;
  int rc = google__verify_start(out, ring, req, &now, "stream_mediacdn_verify_url");
  if (rc)
    return rc;
  const char *url = req->url;
  size_t path_end = strcspn(url, "?");
  /* Path component: everything before "/edge-cache-token=" is in scope. */
  const char *comp = NULL;
  for (const char *p = url; (p = strstr(p, "/edge-cache-token=")) != NULL; p++)
    if ((size_t)(p - url) < path_end) {
      comp = p;
      break;
    }
  if (comp) {
    google__signed in = {.sep = '&', .media = true, .text = comp + 18, .signed_start = url};
    in.len = strcspn(in.text, "/?");
    return google__verify_signed(out, ring, &in, now);
  }
  return google__verify_query(out, ring, url, strlen(url), now, true);
}

int stream_mediacdn_verify_cookie(stream_google_verification *out, const stream_keyring *ring,
                                  const char *cookie, const stream_google_request *req)
{
  return google__verify_cookie(out, ring, cookie, req, true, "stream_mediacdn_verify_cookie");
}

/* ---- tokens ------------------------------------------------------------- */

/* A token field value: printable ASCII without '~', 1..TOKEN_FIELD_MAX. */
static int check_value(const char *v, const char *what, const char *extra_bad)
{
  size_t n = strnlen(v, TOKEN_FIELD_MAX + 1);
  if (n == 0)
    return stream__err(STREAM_EINVAL, "token %s is empty", what);
  if (n > TOKEN_FIELD_MAX)
    return stream__err(STREAM_ERANGE, "token %s is over %d bytes", what, TOKEN_FIELD_MAX);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)v[i];
    if (c < 0x20 || c >= 0x7f || c == '~' || (extra_bad && strchr(extra_bad, c)))
      return stream__err(STREAM_EINVAL, "token %s has an invalid character at offset %zu", what, i);
  }
  return STREAM_OK;
}

static int check_globs(const char *g)
{
  /* A request path ends at '?' or '#': a glob holding one matches nothing. */
  int rc = check_value(g, "PathGlobs", " ?#");
  if (rc)
    return rc;
  size_t count = 0;
  for (const char *p = g;; p++) {
    if (*p != '/')
      return stream__err(STREAM_EINVAL, "token PathGlobs: each glob must start with '/'");
    count++;
    p += strcspn(p, ",!");
    if (!*p)
      break;
  }
  if (count > PATH_GLOBS_MAX)
    return stream__err(STREAM_EINVAL, "token PathGlobs has %zu globs; at most %d", count,
                       PATH_GLOBS_MAX);
  return STREAM_OK;
}

static int check_token_options(const stream_mediacdn_token_options *o, const stream_key *key,
                               int64_t *expires)
{
  static const char fn[] = "stream_mediacdn_token_sign";
  if (!key)
    return stream__err(STREAM_EINVAL, "%s: key is NULL", fn);
  if (key->type != STREAM_KEY_ED25519_PRIVATE && key->type != STREAM_KEY_HMAC)
    return stream__err(STREAM_EINVAL, "%s: key '%s' must be an Ed25519 private or an HMAC key", fn,
                       key->id);
  if (!o)
    return stream__err(STREAM_EINVAL, "%s: options are NULL", fn);
  if (o->version != STREAM_MEDIACDN_TOKEN_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "%s: unknown options version %u", fn, o->version);
  if (o->hmac != 0 && o->hmac != STREAM_MEDIACDN_HMAC_SHA256 &&
      o->hmac != STREAM_MEDIACDN_HMAC_SHA1)
    return stream__err(STREAM_EINVAL, "%s: unknown HMAC algorithm %d", fn, o->hmac);
  stream_google_sign_options so = {STREAM_GOOGLE_SIGN_OPTIONS_VERSION, o->expires, o->ttl};
  int rc = google__expiry(expires, &so, fn);
  if (rc)
    return rc;
  if (o->starts < 0 || (o->starts > 0 && o->starts >= *expires))
    return stream__err(STREAM_EINVAL, "%s: starts %lld must be before expires %lld", fn,
                       (long long)o->starts, (long long)*expires);
  int scopes = (o->url_prefix != NULL) + (o->full_path != NULL) + (o->path_globs != NULL);
  if (scopes != 1)
    return stream__err(STREAM_EINVAL, "%s: set exactly one of url_prefix, full_path, path_globs",
                       fn);
  if (o->url_prefix && (rc = google__check_prefix(o->url_prefix, "token URLPrefix")))
    return rc;
  /* Verification signs the request's path, which ends at '?' or '#', so a
   * FullPath holding one never verified (found by fuzzing). */
  if (o->full_path && ((rc = check_value(o->full_path, "FullPath", " ?#")) ||
                       (o->full_path[0] != '/' &&
                        (rc = stream__err(STREAM_EINVAL, "token FullPath must start with '/'")))))
    return rc;
  if (o->path_globs && (rc = check_globs(o->path_globs)))
    return rc;
  /* Both are written into the token, which verification refuses when it
   * holds a space (found by fuzzing); header values are only signed. */
  if (o->session_id && (rc = check_value(o->session_id, "SessionID", " ")))
    return rc;
  if (o->data && (rc = check_value(o->data, "Data", " ")))
    return rc;
  if (o->header_count && (!o->header_names || !o->header_values))
    return stream__err(STREAM_EINVAL, "%s: %zu headers but no name or value array", fn,
                       o->header_count);
  if (o->header_count > 32)
    return stream__err(STREAM_EINVAL, "%s: %zu headers; at most 32", fn, o->header_count);
  for (size_t i = 0; i < o->header_count; i++) {
    if (!o->header_names[i] || !o->header_values[i])
      return stream__err(STREAM_EINVAL, "%s: header %zu has a NULL name or value", fn, i);
    if ((rc = check_value(o->header_names[i], "header name", " ,=:")))
      return rc;
    if (o->header_values[i][0] && (rc = check_value(o->header_values[i], "header value", ",")))
      return rc;
    /* Verification binds each name to the request's first header of that
     * name, so a name given twice never verifies (found by fuzzing). */
    for (size_t j = 0; j < i; j++)
      if (strcasecmp(o->header_names[i], o->header_names[j]) == 0)
        return stream__err(STREAM_EINVAL, "%s: header name '%.64s' is given twice", fn,
                           o->header_names[i]);
  }
  /* Verification decodes at most TOKEN_FIELD_MAX base64url characters of
   * IPRanges; a longer list was signed (its tail unchecked) and never
   * verified. */
  if (o->ip_ranges && strnlen(o->ip_ranges, IP_RANGES_MAX + 1) > IP_RANGES_MAX)
    return stream__err(STREAM_ERANGE, "%s: ip_ranges is over %d bytes", fn, IP_RANGES_MAX);
  if (o->ip_ranges && !google__ranges_ok(o->ip_ranges, strlen(o->ip_ranges)))
    return stream__err(STREAM_EINVAL, "%s: ip_ranges is not a comma-separated list of CIDR ranges",
                       fn);
  return STREAM_OK;
}

/* Append the same text to the token and to the signed value. */
static void both(stream__buf *t, stream__buf *s, const char *text)
{
  stream__buf_puts(t, text);
  stream__buf_puts(s, text);
}

/* Append `name` and the unpadded base64url of `value` to both. */
static void both_b64(stream__buf *t, stream__buf *s, const char *name, const char *value)
{
  both(t, s, name);
  google__buf_b64(t, value, strlen(value), false);
  google__buf_b64(s, value, strlen(value), false);
}

/* Sign `value` with key: Ed25519 -> "Signature=<b64>", HMAC -> "hmac=<hex>". */
static int append_token_sig(stream__buf *t, const stream__buf *s, const stream_key *key, int hmac)
{
  if (key->type == STREAM_KEY_ED25519_PRIVATE) {
    unsigned char sig[GOOGLE_ED25519_SIG_LEN];
    int rc = google__ed25519_sign(sig, key, s->data, s->len);
    if (rc)
      return rc;
    stream__buf_puts(t, "~Signature=");
    google__buf_b64(t, sig, sizeof sig, false);
    return STREAM_OK;
  }
  unsigned char mac[SIGN__SHA256_LEN];
  char hex[2 * SIGN__SHA256_LEN + 1];
  size_t ml = 0;
  int rc = sign__hmac(mac, &ml, hmac == STREAM_MEDIACDN_HMAC_SHA1 ? SIGN__SHA1 : SIGN__SHA256, key,
                      s->data, s->len);
  if (rc)
    return rc;
  stream__hex_into(hex, mac, ml);
  stream__buf_puts(t, "~hmac=");
  stream__buf_puts(t, hex);
  stream__wipe(mac, sizeof mac);
  return STREAM_OK;
}

int stream_mediacdn_token_sign(char **out, const stream_key *key,
                               const stream_mediacdn_token_options *opts)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_mediacdn_token_sign: out is NULL");
  *out = NULL;
  int64_t expires = 0;
  int rc = check_token_options(opts, key, &expires);
  if (rc)
    return rc;
  stream__buf t, s;
  stream__buf_init(&t);
  stream__buf_init(&s);
  if (opts->url_prefix) {
    both_b64(&t, &s, "URLPrefix=", opts->url_prefix);
  } else if (opts->full_path) {
    stream__buf_puts(&t, "FullPath");
    stream__buf_puts(&s, "FullPath=");
    stream__buf_puts(&s, opts->full_path);
  } else {
    both(&t, &s, "PathGlobs=");
    both(&t, &s, opts->path_globs);
  }
  char num[40];
  if (opts->starts > 0) {
    snprintf(num, sizeof num, "~Starts=%lld", (long long)opts->starts);
    both(&t, &s, num);
  }
  snprintf(num, sizeof num, "~Expires=%lld", (long long)expires);
  both(&t, &s, num);
  if (opts->session_id) {
    both(&t, &s, "~SessionID=");
    both(&t, &s, opts->session_id);
  }
  if (opts->data) {
    both(&t, &s, "~Data=");
    both(&t, &s, opts->data);
  }
  if (opts->header_count) {
    both(&t, &s, "~Headers=");
    for (size_t i = 0; i < opts->header_count; i++) {
      if (i)
        both(&t, &s, ",");
      both(&t, &s, opts->header_names[i]);
      stream__buf_puts(&s, "=");
      stream__buf_puts(&s, opts->header_values[i]);
    }
  }
  if (opts->ip_ranges)
    both_b64(&t, &s, "~IPRanges=", opts->ip_ranges);
  if (t.failed || s.failed)
    rc = stream__err(STREAM_ENOMEM, "out of memory building a token");
  else
    rc = append_token_sig(&t, &s, key, opts->hmac);
  if (!rc)
    rc = google__check_fits(&t, 0, "token", "stream_mediacdn_token_sign");
  if (s.data)
    stream__wipe(s.data, s.len);
  stream__buf_free(&s);
  return google__finish(&t, out, rc);
}

/* Parsed token: spans into the token text. */
typedef struct token_fields {
  const char *v[11];
  size_t l[11];
  bool has[11];
  size_t sig_at; /* offset of the '~' before Signature= / hmac= */
} token_fields;

enum {
  F_FULLPATH,
  F_PATHGLOBS,
  F_URLPREFIX,
  F_STARTS,
  F_EXPIRES,
  F_SESSIONID,
  F_DATA,
  F_HEADERS,
  F_IPRANGES,
  F_SIGNATURE,
  F_HMAC
};
static const char *const field_names[11] = {"FullPath", "PathGlobs", "URLPrefix", "Starts",
                                            "Expires",  "SessionID", "Data",      "Headers",
                                            "IPRanges", "Signature", "hmac"};

static int parse_token(stream_google_verification *out, token_fields *f, const char *s, size_t n)
{
  memset(f, 0, sizeof *f);
  size_t i = 0;
  while (i <= n) {
    size_t e = i;
    while (e < n && s[e] != '~')
      e++;
    const char *fs = s + i;
    size_t fl = e - i;
    const char *eq = memchr(fs, '=', fl);
    size_t nl = eq ? (size_t)(eq - fs) : fl;
    int id = -1;
    for (int k = 0; k < 11; k++)
      if (strlen(field_names[k]) == nl && memcmp(field_names[k], fs, nl) == 0)
        id = k;
    if (id < 0)
      return google__outcome(out, STREAM_SIGN_MALFORMED, "token has an unknown field at offset %zu",
                             i);
    if (f->has[id])
      return google__outcome(out, STREAM_SIGN_MALFORMED, "token repeats the field %s",
                             field_names[id]);
    if ((id == F_FULLPATH) != (eq == NULL))
      return google__outcome(out, STREAM_SIGN_MALFORMED, "token field %s has a bad form",
                             field_names[id]);
    f->has[id] = true;
    f->v[id] = eq ? eq + 1 : fs;
    f->l[id] = eq ? fl - nl - 1 : 0;
    if (eq && f->l[id] == 0)
      return google__outcome(out, STREAM_SIGN_MALFORMED, "token field %s is empty",
                             field_names[id]);
    if (id == F_SIGNATURE || id == F_HMAC) {
      if (e != n || i == 0)
        return google__outcome(out, STREAM_SIGN_MALFORMED,
                               "token signature must be the last field, after the others");
      f->sig_at = i - 1;
    }
    i = e + 1;
  }
  if (!f->has[F_SIGNATURE] && !f->has[F_HMAC])
    return google__outcome(out, STREAM_SIGN_MISSING, "token has no Signature or hmac field");
  if (!f->has[F_EXPIRES])
    return google__outcome(out, STREAM_SIGN_MALFORMED, "token has no Expires field");
  if (f->has[F_FULLPATH] + f->has[F_PATHGLOBS] + f->has[F_URLPREFIX] != 1)
    return google__outcome(out, STREAM_SIGN_MALFORMED,
                           "token must have exactly one of FullPath, PathGlobs, URLPrefix");
  return STREAM_OK;
}

static const char *find_header(const stream_google_request *req, const char *name, size_t n)
{
  for (size_t i = 0; i < req->header_count; i++)
    if (strlen(req->header_names[i]) == n && strncasecmp(req->header_names[i], name, n) == 0)
      return req->header_values[i];
  return NULL;
}

/* Rebuild the signed value from the token text. */
static int signed_value(stream_google_verification *out, stream__buf *s, const char *tok,
                        const token_fields *f, const stream_google_request *req)
{
  size_t i = 0, n = f->sig_at;
  while (i < n) {
    size_t e = i;
    while (e < n && tok[e] != '~')
      e++;
    if (i)
      stream__buf_puts(s, "~");
    const char *fs = tok + i;
    if (fs == f->v[F_FULLPATH]) {
      const char *path = NULL;
      size_t pl = 0;
      if (!google__url_path(req->url, &path, &pl))
        return google__outcome(out, STREAM_SIGN_OUTSIDE_PREFIX, "request URL has no path");
      stream__buf_puts(s, "FullPath=");
      stream__buf_append(s, path, pl);
    } else if (f->has[F_HEADERS] && fs + 8 == f->v[F_HEADERS]) {
      stream__buf_puts(s, "Headers=");
      const char *h = f->v[F_HEADERS], *end = h + f->l[F_HEADERS];
      while (h < end) {
        const char *c = memchr(h, ',', (size_t)(end - h));
        if (!c)
          c = end;
        const char *val = find_header(req, h, (size_t)(c - h));
        if (c == h)
          return google__outcome(out, STREAM_SIGN_MALFORMED, "token Headers has an empty name");
        if (!val)
          return google__outcome(out, STREAM_SIGN_BAD_SIGNATURE,
                                 "request lacks the header '%.*s' the token is bound to",
                                 (int)(c - h > 64 ? 64 : c - h), h);
        if (h != f->v[F_HEADERS])
          stream__buf_puts(s, ",");
        stream__buf_append(s, h, (size_t)(c - h));
        stream__buf_puts(s, "=");
        stream__buf_puts(s, val);
        h = c + 1;
      }
    } else {
      stream__buf_append(s, fs, e - i);
    }
    i = e + 1;
  }
  if (s->failed) {
    out->reason = STREAM_SIGN_MALFORMED;
    return stream__err(STREAM_ENOMEM, "out of memory rebuilding a token's signed value");
  }
  return STREAM_OK;
}

/* Try one key. 1 = verified, 0 = not, -1 = wrong type for this token. */
static int try_key(const stream_key *key, const token_fields *f, const unsigned char *sig,
                   size_t sig_len, const stream__buf *s)
{
  if (f->has[F_SIGNATURE]) {
    if (key->type != STREAM_KEY_ED25519_PRIVATE && key->type != STREAM_KEY_ED25519_PUBLIC)
      return -1;
    return google__ed25519_verify(key, sig, s->data, s->len) ? 1 : 0;
  }
  if (key->type != STREAM_KEY_HMAC)
    return -1;
  unsigned char mac[SIGN__SHA256_LEN];
  size_t ml = 0;
  if (sign__hmac(mac, &ml, sig_len == SIGN__SHA1_LEN ? SIGN__SHA1 : SIGN__SHA256, key, s->data,
                 s->len) != STREAM_OK)
    return 0;
  int ok = ml == sig_len && CRYPTO_memcmp(mac, sig, sig_len) == 0;
  stream__wipe(mac, sizeof mac);
  return ok;
}

static int decode_sig(stream_google_verification *out, const token_fields *f, unsigned char *sig,
                      size_t *sig_len)
{
  if (f->has[F_SIGNATURE]) {
    if (!google__b64url_decode(sig, GOOGLE_ED25519_SIG_LEN + 3, sig_len, f->v[F_SIGNATURE],
                               f->l[F_SIGNATURE]) ||
        *sig_len != GOOGLE_ED25519_SIG_LEN)
      return google__outcome(out, STREAM_SIGN_MALFORMED,
                             "token Signature is not base64url of 64 bytes");
    return STREAM_OK;
  }
  size_t hl = f->l[F_HMAC];
  if (hl != 2 * SIGN__SHA1_LEN && hl != 2 * SIGN__SHA256_LEN)
    return google__outcome(out, STREAM_SIGN_MALFORMED,
                           "token hmac is not 40 (SHA-1) or 64 (SHA-256) hex digits");
  /* Lowercase only: one spelling per token (core's decoder takes both cases). */
  for (size_t i = 0; i < hl; i++)
    if (!memchr("0123456789abcdef", f->v[F_HMAC][i], 16))
      return google__outcome(out, STREAM_SIGN_MALFORMED, "token hmac is not lowercase hex");
  unsigned char *raw = NULL;
  int rc = stream_hex_decode(&raw, sig_len, f->v[F_HMAC], hl);
  if (rc) /* only out of memory is left; out->reason stays MALFORMED */
    return rc;
  memcpy(sig, raw, *sig_len);
  stream_free(raw);
  return STREAM_OK;
}

/* Verify the signature with the candidate keys. */
static int check_token_sig(stream_google_verification *out, const stream_keyring *ring,
                           const stream_google_request *req, const token_fields *f,
                           const unsigned char *sig, size_t sig_len, const stream__buf *s)
{
  size_t count = req->key_names ? req->key_name_count : 1;
  size_t tried = 0;
  for (size_t i = 0; i < count; i++) {
    stream_key *key = NULL;
    const char *id = req->key_names ? req->key_names[i] : NULL;
    if (stream_keyring_get(&key, ring, id) != STREAM_OK)
      continue;
    int r = try_key(key, f, sig, sig_len, s);
    if (r >= 0) {
      tried++;
      google__result_set_key(out, key->id, strlen(key->id));
    }
    stream_key_free(key);
    if (r == 1)
      return STREAM_OK;
  }
  const char *kind = f->has[F_SIGNATURE] ? "Ed25519" : "HMAC";
  if (!tried) {
    out->key_name[0] = '\0';
    return google__outcome(out, STREAM_SIGN_UNKNOWN_KEY, "no %s key to verify the token with",
                           kind);
  }
  out->key_name[0] = '\0';
  return google__outcome(out, STREAM_SIGN_BAD_SIGNATURE,
                         "token signature does not match any of %zu %s key(s)", tried, kind);
}

/* Starts/Expires, scope and client address, after the signature. */
static int check_token_claims(stream_google_verification *out, const token_fields *f,
                              const stream_google_request *req, int64_t now)
{
  if (now >= out->expires)
    return google__outcome(out, STREAM_SIGN_EXPIRED, "token expired at %lld, now %lld",
                           (long long)out->expires, (long long)now);
  if (out->starts && out->starts > now)
    return google__outcome(out, STREAM_SIGN_NOT_YET_VALID, "token starts at %lld, now %lld",
                           (long long)out->starts, (long long)now);
  if (f->has[F_URLPREFIX]) {
    int m = google__prefix_match(f->v[F_URLPREFIX], f->l[F_URLPREFIX], req->url, strlen(req->url));
    if (m < 0)
      return google__outcome(out, STREAM_SIGN_MALFORMED, "token URLPrefix is not base64url");
    if (m == 0)
      return google__outcome(out, STREAM_SIGN_OUTSIDE_PREFIX,
                             "request URL is outside the token's URLPrefix");
  }
  if (f->has[F_PATHGLOBS]) {
    const char *path = NULL;
    size_t pl = 0;
    if (!google__url_path(req->url, &path, &pl) ||
        !google__path_globs_match(f->v[F_PATHGLOBS], f->l[F_PATHGLOBS], path, pl))
      return google__outcome(out, STREAM_SIGN_OUTSIDE_PREFIX,
                             "request path matches none of the token's PathGlobs");
  }
  if (f->has[F_IPRANGES]) {
    char ranges[TOKEN_FIELD_MAX + 4];
    size_t rl = 0;
    if (f->l[F_IPRANGES] > TOKEN_FIELD_MAX ||
        !google__b64url_decode((unsigned char *)ranges, TOKEN_FIELD_MAX, &rl, f->v[F_IPRANGES],
                               f->l[F_IPRANGES]))
      return google__outcome(out, STREAM_SIGN_MALFORMED, "token IPRanges is not base64url");
    bool bad = false;
    if (!req->client_ip)
      return google__outcome(out, STREAM_SIGN_IP_MISMATCH,
                             "token is bound to IP ranges and no client IP was given");
    bool hit = google__ip_in_ranges(req->client_ip, ranges, rl, &bad);
    if (bad)
      return google__outcome(out, STREAM_SIGN_MALFORMED, "token IPRanges cannot be parsed");
    if (!hit)
      return google__outcome(out, STREAM_SIGN_IP_MISMATCH,
                             "client IP is outside the token's IPRanges");
  }
  return google__outcome(out, STREAM_SIGN_VALID, "valid");
}

int stream_mediacdn_token_verify(stream_google_verification *out, const stream_keyring *ring,
                                 const char *token, const stream_google_request *req)
{
  int64_t now = 0;
  size_t n = 0;
  int rc = google__verify_text_start(out, ring, req, &now, token, "token", &n,
                                     "stream_mediacdn_token_verify");
  if (rc)
    return rc;
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)token[i] <= 0x20 || (unsigned char)token[i] >= 0x7f)
      return google__outcome(out, STREAM_SIGN_MALFORMED,
                             "token has a space, control or non-ASCII byte at offset %zu", i);
  token_fields f;
  if ((rc = parse_token(out, &f, token, n)))
    return rc;
  if (!sign__parse_decimal(&out->expires, f.v[F_EXPIRES], f.l[F_EXPIRES], 18, false, INT64_MAX))
    return google__outcome(out, STREAM_SIGN_MALFORMED, "token Expires is not a number");
  if (f.has[F_STARTS] &&
      !sign__parse_decimal(&out->starts, f.v[F_STARTS], f.l[F_STARTS], 18, false, INT64_MAX))
    return google__outcome(out, STREAM_SIGN_MALFORMED, "token Starts is not a number");
  unsigned char sig[GOOGLE_ED25519_SIG_LEN + 3];
  size_t sig_len = 0;
  if ((rc = decode_sig(out, &f, sig, &sig_len)))
    return rc;
  stream__buf s;
  stream__buf_init(&s);
  rc = signed_value(out, &s, token, &f, req);
  if (!rc)
    rc = check_token_sig(out, ring, req, &f, sig, sig_len, &s);
  stream__buf_free(&s);
  if (rc)
    return rc;
  return check_token_claims(out, &f, req, now);
}
