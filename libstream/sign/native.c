/*
 * sign/native: libstream's own signed-URL format (HMAC-SHA256). Owns the
 * four wire forms (exact URL, query URL-prefix, cookie, path token), their
 * canonical string-to-sign, and verification with a precise reason. The wire
 * format is specified in docs/api/sign.md ("Native format"); change both
 * together.
 *
 * String-to-sign (LF = 0x0A; no field can contain LF or be empty-shifted):
 *   "stream-sign-v1" LF form LF scope LF Expires LF NotBefore LF IP LF KeyId
 * form is "url", "prefix", "cookie" or "path"; scope is the exact URL (url)
 * or the decoded / literal prefix; absent NotBefore and IP are empty.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sign_internal.h"

#define STS_MAGIC "stream-sign-v1"
#define SIG_B64_LEN 43 /* base64url, no padding, of 32 bytes */
#define STS_MAX (STREAM_NATIVE_URL_MAX + 256)
#define PREFIX_B64_MAX (STREAM_NATIVE_URL_MAX / 3 * 4 + 4)
#define TOKEN_COMPONENT "/" STREAM_NATIVE_PATH_TOKEN "="
#define TOKEN_COMPONENT_LEN (sizeof TOKEN_COMPONENT - 1)
#define FORMS_ALL                                                                                  \
  (STREAM_NATIVE_FORM_URL | STREAM_NATIVE_FORM_PREFIX | STREAM_NATIVE_FORM_COOKIE |                \
   STREAM_NATIVE_FORM_PATH)

/* Parameter names in their only allowed order. */
enum { P_PREFIX, P_EXPIRES, P_NOTBEFORE, P_IP, P_KEYID, P_SIGNATURE, P_COUNT };
static const char *const pnames[P_COUNT] = {"URLPrefix", "Expires", "NotBefore",
                                            "IP",        "KeyId",   "Signature"};

/* The signed fields of one signature. */
typedef struct native_fields {
  int form;
  const char *scope; /* exact URL or prefix text (not NUL-terminated) */
  size_t scope_len;
  int64_t expires;
  int64_t not_before; /* 0: absent */
  bool has_ip;
  sign__ip ip;
  char ip_wire[64]; /* canonical wire text (ADDR or ADDR_BITS) */
  size_t ip_wire_len;
  char key_id[STREAM_KEY_ID_MAX + 1];
} native_fields;

static const char *form_tag(int form)
{
  switch (form) {
  case STREAM_NATIVE_FORM_URL:
    return "url";
  case STREAM_NATIVE_FORM_PREFIX:
    return "prefix";
  case STREAM_NATIVE_FORM_COOKIE:
    return "cookie";
  default:
    return "path";
  }
}

/* A writer that counts past its capacity, so one pass gives the size. */
typedef struct wbuf {
  char *d;
  size_t cap;
  size_t len;
} wbuf;

static void w_put(wbuf *w, const char *s, size_t n)
{
  if (w->len + n < w->cap)
    memcpy(w->d + w->len, s, n);
  w->len += n;
}
static void w_str(wbuf *w, const char *s)
{
  w_put(w, s, strlen(s));
}
/* Decimal of a non-negative time; snprintf would dominate the hot path. */
static void w_int(wbuf *w, int64_t v)
{
  char t[24];
  size_t i = sizeof t;
  uint64_t u = v > 0 ? (uint64_t)v : 0;
  do {
    t[--i] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  w_put(w, t + i, sizeof t - i);
}

static size_t build_sts(char *dst, const native_fields *f)
{
  wbuf w = {dst, STS_MAX, 0};
  w_str(&w, STS_MAGIC "\n");
  w_str(&w, form_tag(f->form));
  w_put(&w, "\n", 1);
  w_put(&w, f->scope, f->scope_len);
  w_put(&w, "\n", 1);
  w_int(&w, f->expires);
  w_put(&w, "\n", 1);
  if (f->not_before)
    w_int(&w, f->not_before);
  w_put(&w, "\n", 1);
  w_put(&w, f->ip_wire, f->ip_wire_len);
  w_put(&w, "\n", 1);
  w_str(&w, f->key_id);
  return w.len; /* callers bound scope_len so that this fits */
}

/* The signed parameters after URLPrefix, without Signature. */
static void put_params(wbuf *w, const native_fields *f)
{
  w_str(w, "Expires=");
  w_int(w, f->expires);
  if (f->not_before) {
    w_str(w, "&NotBefore=");
    w_int(w, f->not_before);
  }
  if (f->has_ip) {
    w_str(w, "&IP=");
    w_put(w, f->ip_wire, f->ip_wire_len);
  }
  w_str(w, "&KeyId=");
  w_str(w, f->key_id);
}

/* ---- shared checks ---------------------------------------------------------- */

static bool name_is(const char *s, size_t n, const char *name, bool ignore_case)
{
  size_t k = strlen(name);
  if (n != k)
    return false;
  return ignore_case ? strncasecmp(s, name, k) == 0 : memcmp(s, name, k) == 0;
}

/* Index of a native parameter name (case-insensitive), or -1. */
static int reserved_name(const char *s, size_t n)
{
  int i;
  switch (n) { /* the names have distinct lengths, except none */
  case 9:
    i = (s[0] | 0x20) == 'u' ? P_PREFIX : (s[0] | 0x20) == 'n' ? P_NOTBEFORE : P_SIGNATURE;
    break;
  case 7:
    i = P_EXPIRES;
    break;
  case 2:
    i = P_IP;
    break;
  case 5:
    i = P_KEYID;
    break;
  default:
    return -1;
  }
  return name_is(s, n, pnames[i], true) ? i : -1;
}

/* Whether a query string (without '?') holds a native parameter name. */
static bool query_has_reserved(const char *q, size_t n)
{
  sign__param p;
  for (size_t pos = 0; sign__query_next(&p, q, n, &pos);)
    if (reserved_name(p.name, p.name_len) >= 0)
      return true;
  return false;
}

static const char *find_token_component(const char *s, size_t n)
{
  const char *end = s + n, *p = s;
  while ((p = memchr(p, '/', (size_t)(end - p))) != NULL) {
    if ((size_t)(end - p) < TOKEN_COMPONENT_LEN)
      return NULL;
    if (memcmp(p, TOKEN_COMPONENT, TOKEN_COMPONENT_LEN) == 0)
      return p;
    p++;
  }
  return NULL;
}
static bool has_token_component(const char *s, size_t n)
{
  return find_token_component(s, n) != NULL;
}

/* A prefix scope: absolute http(s) with a path, no query, no dot segments. */
static int check_prefix(const char *p, size_t n, bool slash_end, const char **why)
{
  size_t ps, q;
  if (n > STREAM_NATIVE_URL_MAX) {
    *why = "is too long";
    return STREAM_EINVAL;
  }
  if (sign__url_split(p, n, &ps, &q, why))
    return STREAM_EINVAL;
  if (q != n) {
    *why = "has a query ('?')";
    return STREAM_EINVAL;
  }
  if (ps == n) {
    *why = "has no path; it must reach at least the '/' after the host";
    return STREAM_EINVAL;
  }
  if (!sign__path_safe(p + ps, n - ps)) {
    *why = "has a dot segment or an encoded '/', '\\' or NUL";
    return STREAM_EINVAL;
  }
  if (has_token_component(p + ps, n - ps)) {
    *why = "holds a " STREAM_NATIVE_PATH_TOKEN "= component";
    return STREAM_EINVAL;
  }
  if (slash_end && p[n - 1] != '/') {
    *why = "does not end in '/'";
    return STREAM_EINVAL;
  }
  return STREAM_OK;
}

static int parse_time(int64_t *out, const char *s, size_t n)
{
  return sign__parse_decimal(out, s, n, 12, true, STREAM_NATIVE_TIME_MAX) ? STREAM_OK
                                                                          : STREAM_EINVAL;
}

/* ---- signing ------------------------------------------------------------------ */

static int fields_from_opts(native_fields *f, const stream_native_sign_options *o)
{
  if (!o)
    return stream__err(STREAM_EINVAL, "native sign: options are NULL");
  if (o->version != STREAM_NATIVE_SIGN_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "native sign: options version %u is not %d", o->version,
                       STREAM_NATIVE_SIGN_OPTIONS_VERSION);
  if (o->expires <= 0 || o->expires > STREAM_NATIVE_TIME_MAX)
    return stream__err(STREAM_EINVAL, "native sign: expires %lld is outside 1..%lld",
                       (long long)o->expires, (long long)STREAM_NATIVE_TIME_MAX);
  if (o->not_before < 0 || o->not_before >= o->expires)
    return stream__err(STREAM_EINVAL,
                       "native sign: not_before %lld must be 0 (none) or before expires %lld",
                       (long long)o->not_before, (long long)o->expires);
  f->expires = o->expires;
  f->not_before = o->not_before;
  if (o->ip) {
    const char *why = "";
    size_t n = strnlen(o->ip, 64);
    if (n == 64 || sign__ip_parse_block(&f->ip, o->ip, n, '/', true, &why))
      return stream__err(STREAM_EINVAL, "native sign: ip '%.63s': %s", o->ip,
                         n == 64 ? "too long" : why);
    f->has_ip = true;
    f->ip_wire_len = sign__ip_format(f->ip_wire, &f->ip, '_');
  }
  return STREAM_OK;
}

static int check_sign_url(const char *what, const char *url, size_t n)
{
  size_t ps, q;
  const char *why = "";
  if (n > STREAM_NATIVE_URL_MAX)
    return stream__err(STREAM_EINVAL, "native sign: %s is %zu bytes; the limit is %d", what, n,
                       STREAM_NATIVE_URL_MAX);
  if (sign__url_split(url, n, &ps, &q, &why))
    return stream__err(STREAM_EINVAL, "native sign: %s %s", what, why);
  if (url[n - 1] == '?' || url[n - 1] == '&')
    return stream__err(STREAM_EINVAL, "native sign: %s ends in '%c'", what, url[n - 1]);
  if (q < n && query_has_reserved(url + q + 1, n - q - 1))
    return stream__err(STREAM_EINVAL,
                       "native sign: %s already has a URLPrefix, Expires, NotBefore, IP, KeyId or "
                       "Signature parameter",
                       what);
  if (ps < n && has_token_component(url + ps, q - ps))
    return stream__err(STREAM_EINVAL,
                       "native sign: %s holds a " STREAM_NATIVE_PATH_TOKEN "= component", what);
  return STREAM_OK;
}

/* `rest` of a path token: a relative reference under the token component. */
static int check_rest(const char *rest, size_t n)
{
  if (n > STREAM_NATIVE_URL_MAX)
    return stream__err(STREAM_EINVAL, "native sign: rest is too long");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)rest[i];
    if (c <= 0x20 || c >= 0x7f || c == '#' || c == '\\')
      return stream__err(STREAM_EINVAL,
                         "native sign: rest has a space, control, non-ASCII, '#' or '\\' at offset "
                         "%zu",
                         i);
  }
  if (n && rest[0] == '/')
    return stream__err(STREAM_EINVAL, "native sign: rest must be relative (it starts with '/')");
  const char *qm = memchr(rest, '?', n);
  size_t pl = qm ? (size_t)(qm - rest) : n;
  /* rest follows a '/', so a leading "stream-token=" is a second token
   * component as well (found by fuzzing). */
  bool leading_token = pl >= TOKEN_COMPONENT_LEN - 1 &&
                       memcmp(rest, STREAM_NATIVE_PATH_TOKEN "=", TOKEN_COMPONENT_LEN - 1) == 0;
  if (!sign__path_safe(rest, pl) || has_token_component(rest, pl) || leading_token)
    return stream__err(STREAM_EINVAL, "native sign: rest has a dot segment, an encoded '/', '\\' "
                                      "or NUL, or a token component");
  /* Verification refuses a path token next to signature query parameters,
   * so such a URL must not be produced (found by fuzzing). */
  if (qm && query_has_reserved(qm + 1, n - pl - 1))
    return stream__err(STREAM_EINVAL,
                       "native sign: rest has a URLPrefix, Expires, NotBefore, IP, KeyId or "
                       "Signature query parameter");
  return STREAM_OK;
}

int stream_sign_native_into(char *dst, size_t dst_cap, size_t *out_len, int form,
                            const stream_keyring *ring, const char *url, const char *prefix,
                            const stream_native_sign_options *opts)
{
  if (!out_len)
    return stream__err(STREAM_EINVAL, "native sign: out_len is NULL");
  *out_len = 0;
  if (!dst && dst_cap)
    return stream__err(STREAM_EINVAL, "native sign: dst is NULL with a capacity");
  if (!ring)
    return stream__err(STREAM_EINVAL, "native sign: key ring is NULL");
  native_fields f;
  memset(&f, 0, sizeof f);
  f.form = form;
  int rc = fields_from_opts(&f, opts);
  if (rc)
    return rc;
  if (opts->key_id && !sign__key_id_ok(opts->key_id, strnlen(opts->key_id, STREAM_KEY_ID_MAX + 1)))
    return stream__err(STREAM_EINVAL, "native sign: key_id is not 1..%d of [A-Za-z0-9._-]",
                       STREAM_KEY_ID_MAX);

  size_t ul = url ? strnlen(url, STREAM_NATIVE_URL_MAX + 1) : 0;
  size_t pl = prefix ? strnlen(prefix, STREAM_NATIVE_URL_MAX + 1) : 0;
  const char *why = "";
  switch (form) {
  case STREAM_NATIVE_FORM_URL:
    if (!url || prefix)
      return stream__err(STREAM_EINVAL, "native sign: the URL form takes a url and no prefix");
    if ((rc = check_sign_url("url", url, ul)))
      return rc;
    f.scope = url;
    f.scope_len = ul;
    break;
  case STREAM_NATIVE_FORM_PREFIX:
  case STREAM_NATIVE_FORM_COOKIE:
  case STREAM_NATIVE_FORM_PATH:
    if (!prefix)
      return stream__err(STREAM_EINVAL, "native sign: prefix is NULL");
    if (check_prefix(prefix, pl, form == STREAM_NATIVE_FORM_PATH, &why))
      return stream__err(STREAM_EINVAL, "native sign: prefix %s", why);
    f.scope = prefix;
    f.scope_len = pl;
    if (form == STREAM_NATIVE_FORM_COOKIE && url)
      return stream__err(STREAM_EINVAL, "native sign: the cookie form takes no url");
    if (form == STREAM_NATIVE_FORM_PREFIX && url) {
      if ((rc = check_sign_url("url", url, ul)))
        return rc;
      size_t q = 0, ps = 0;
      (void)sign__url_split(url, ul, &ps, &q, &why);
      if (q < pl || memcmp(url, prefix, pl) != 0 || !sign__path_safe(url + ps, q - ps))
        return stream__err(STREAM_EINVAL, "native sign: url is not under prefix (or has a dot "
                                          "segment or an encoded '/', '\\' or NUL)");
    }
    if (form == STREAM_NATIVE_FORM_PATH && url && (rc = check_rest(url, ul)))
      return rc;
    break;
  default:
    return stream__err(STREAM_EINVAL, "native sign: unknown form %d", form);
  }

  stream_key *key = NULL;
  if ((rc = stream_keyring_get(&key, ring, opts->key_id)))
    return rc;
  if (key->type != STREAM_KEY_HMAC) {
    rc = stream__err(STREAM_EINVAL, "native sign: key '%s' is not an HMAC key", key->id);
    stream_key_free(key);
    return rc;
  }
  memcpy(f.key_id, key->id, strlen(key->id) + 1);

  char sts[STS_MAX];
  unsigned char mac[SIGN__SHA256_LEN];
  size_t sl = build_sts(sts, &f), ml = 0;
  rc = sign__hmac(mac, &ml, SIGN__SHA256, key, sts, sl);
  stream_key_free(key);
  if (rc)
    return rc;
  char sig[SIG_B64_LEN + 1];
  stream__b64_encode_into(sig, mac, 32, STREAM_B64_URL | STREAM_B64_NOPAD);

  wbuf w = {dst, dst_cap, 0};
  switch (form) {
  case STREAM_NATIVE_FORM_URL:
    w_put(&w, url, ul);
    w_put(&w, memchr(url, '?', ul) ? "&" : "?", 1);
    put_params(&w, &f);
    break;
  case STREAM_NATIVE_FORM_PREFIX:
  case STREAM_NATIVE_FORM_COOKIE: {
    if (url) {
      w_put(&w, url, ul);
      w_put(&w, memchr(url, '?', ul) ? "&" : "?", 1);
    }
    char b64[PREFIX_B64_MAX];
    size_t bl = stream__b64_encode_into(b64, prefix, pl, STREAM_B64_URL | STREAM_B64_NOPAD);
    w_str(&w, "URLPrefix=");
    w_put(&w, b64, bl);
    w_put(&w, "&", 1);
    put_params(&w, &f);
    break;
  }
  default:
    w_put(&w, prefix, pl);
    w_str(&w, STREAM_NATIVE_PATH_TOKEN "=");
    put_params(&w, &f);
    break;
  }
  w_str(&w, "&Signature=");
  w_put(&w, sig, SIG_B64_LEN);
  if (form == STREAM_NATIVE_FORM_PATH) {
    w_put(&w, "/", 1);
    if (url)
      w_put(&w, url, ul);
  }
  /* What no verifier would take is not produced: the request URL (the result, or for a prefix
   * without a url the prefix, '?' and the result) must fit STREAM_NATIVE_URL_MAX. */
  size_t request_len = form == STREAM_NATIVE_FORM_PREFIX && !url ? pl + 1 + w.len
                       : form == STREAM_NATIVE_FORM_COOKIE       ? 0
                                                                 : w.len;
  if (request_len > STREAM_NATIVE_URL_MAX)
    return stream__err(STREAM_EINVAL,
                       "native sign: the signed URL would be %zu bytes; verification takes at "
                       "most %d",
                       request_len, STREAM_NATIVE_URL_MAX);
  *out_len = w.len;
  if (w.len >= dst_cap)
    return stream__err(STREAM_ERANGE,
                       "native sign: result needs %zu bytes plus NUL; buffer has %zu", w.len,
                       dst_cap);
  dst[w.len] = '\0';
  return STREAM_OK;
}

static int sign_alloc(char **out, int form, const stream_keyring *ring, const char *url,
                      const char *prefix, const stream_native_sign_options *opts)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "native sign: out is NULL");
  *out = NULL;
  /* An upper bound of the result: url + prefix (literal or base64) + the
   * parameters (names, two times, IP, key id, separators) + signature. */
  size_t ul = url ? strnlen(url, STREAM_NATIVE_URL_MAX + 1) : 0;
  size_t pl = prefix ? strnlen(prefix, STREAM_NATIVE_URL_MAX + 1) : 0;
  size_t cap = ul + pl + stream__b64_len(pl, STREAM_B64_NOPAD) + 256 + SIG_B64_LEN;
  char *buf = malloc(cap);
  if (!buf)
    return stream__err(STREAM_ENOMEM, "native sign: out of memory");
  size_t n = 0;
  int rc = stream_sign_native_into(buf, cap, &n, form, ring, url, prefix, opts);
  if (rc) {
    free(buf);
    return rc == STREAM_ERANGE ? stream__err(STREAM_EINTERNAL, "native sign: size bound too small")
                               : rc;
  }
  *out = buf;
  return STREAM_OK;
}

int stream_sign_native_url(char **out, const stream_keyring *ring, const char *url,
                           const stream_native_sign_options *opts)
{
  if (!url)
    return stream__err(STREAM_EINVAL, "native sign: url is NULL");
  return sign_alloc(out, STREAM_NATIVE_FORM_URL, ring, url, NULL, opts);
}

int stream_sign_native_prefix(char **out, const stream_keyring *ring, const char *url,
                              const char *prefix, const stream_native_sign_options *opts)
{
  return sign_alloc(out, STREAM_NATIVE_FORM_PREFIX, ring, url, prefix, opts);
}

int stream_sign_native_cookie(char **out, const stream_keyring *ring, const char *prefix,
                              const stream_native_sign_options *opts)
{
  return sign_alloc(out, STREAM_NATIVE_FORM_COOKIE, ring, NULL, prefix, opts);
}

int stream_sign_native_path(char **out, const stream_keyring *ring, const char *prefix,
                            const char *rest, const stream_native_sign_options *opts)
{
  return sign_alloc(out, STREAM_NATIVE_FORM_PATH, ring, rest && *rest ? rest : NULL, prefix, opts);
}

/* ---- verification ------------------------------------------------------------- */

typedef struct parsed {
  native_fields f;
  unsigned char sig[32];
  char prefix[STREAM_NATIVE_URL_MAX + 4]; /* decoded URLPrefix */
} parsed;

static int malformed(stream_native_result *out, const char *what)
{
  out->reason = STREAM_SIGN_MALFORMED;
  return stream__err(STREAM_EINVAL, "native signature malformed: %s", what);
}

/* base64url digit values, 64 for anything else. The signature is decoded
 * here rather than by core's stream__b64_decode_into: this table decoder of
 * exactly 43 characters is what keeps verification near bare HMAC speed
 * (bench/sign); it accepts exactly what core's decoder accepts there. */
static const unsigned char b64u_val[256] = {
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 62, 64, 64,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 64, 64, 64, 64, 64, 64, 64, 0,  1,  2,  3,  4,  5,  6,
    7,  8,  9,  10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 64, 64, 64, 64, 63,
    64, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48,
    49, 50, 51, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64,
};

/* Exactly 43 base64url characters to 32 bytes, canonical (zero trailing bits). */
static bool decode_sig(unsigned char *out, const char *s)
{
  unsigned int bad = 0;
  size_t o = 0;
  for (size_t i = 0; i < 40; i += 4) {
    unsigned int a = b64u_val[(unsigned char)s[i]], b = b64u_val[(unsigned char)s[i + 1]],
                 c = b64u_val[(unsigned char)s[i + 2]], d = b64u_val[(unsigned char)s[i + 3]];
    bad |= (a | b | c | d) & 64;
    unsigned int v = a << 18 | b << 12 | c << 6 | d;
    out[o++] = (unsigned char)(v >> 16);
    out[o++] = (unsigned char)(v >> 8);
    out[o++] = (unsigned char)v;
  }
  unsigned int a = b64u_val[(unsigned char)s[40]], b = b64u_val[(unsigned char)s[41]],
               c = b64u_val[(unsigned char)s[42]];
  bad |= (a | b | c) & 64;
  bad |= c & 3; /* the last character carries 4 bits; the other 2 must be zero */
  unsigned int v = a << 18 | b << 12 | c << 6;
  out[30] = (unsigned char)(v >> 16);
  out[31] = (unsigned char)(v >> 8);
  return bad == 0;
}

/* Parse "Name=value&Name=value..." of `n` bytes: native parameters only, in
 * canonical order, each once, Signature last. `with_prefix`: 1 URLPrefix
 * required, 0 forbidden, -1 either (query form). */
static int parse_params(stream_native_result *out, parsed *p, const char *s, size_t n,
                        int with_prefix)
{
  const char *val[P_COUNT] = {0};
  size_t vlen[P_COUNT] = {0};
  int last = -1;
  size_t i = 0;
  while (i < n || last < 0) {
    const char *amp = memchr(s + i, '&', n - i);
    size_t j = amp ? (size_t)(amp - s) : n;
    const char *eq = memchr(s + i, '=', j - i);
    if (!eq)
      return malformed(out, "a parameter has no '='");
    size_t nl = (size_t)(eq - (s + i));
    int k = reserved_name(s + i, nl);
    if (k < 0)
      return malformed(out, "an unknown parameter follows the signature parameters");
    if (!name_is(s + i, nl, pnames[k], false))
      return malformed(out, "a parameter name is not spelled in its canonical case");
    if (k <= last)
      return malformed(out, k == last ? "a parameter is repeated"
                                      : "parameters are out of canonical order or repeated");
    if (last == P_SIGNATURE)
      return malformed(out, "a parameter follows Signature");
    last = k;
    val[k] = eq + 1;
    vlen[k] = (size_t)(s + j - (eq + 1));
    /* No percent-decoding: each value's own parser below refuses '%' and '='. */
    if (j >= n)
      break;
    i = j + 1;
    if (i == n)
      return malformed(out, "empty parameter at the end");
  }
  if (last != P_SIGNATURE)
    return malformed(out, "Signature is not the last parameter");
  if (!val[P_EXPIRES] || !val[P_KEYID])
    return malformed(out, "Expires or KeyId is missing");
  if (with_prefix == 1 && !val[P_PREFIX])
    return malformed(out, "URLPrefix is missing");
  if (with_prefix == 0 && val[P_PREFIX])
    return malformed(out, "URLPrefix is not allowed in a path token");

  native_fields *f = &p->f;
  if (parse_time(&f->expires, val[P_EXPIRES], vlen[P_EXPIRES]))
    return malformed(out, "Expires is not a canonical decimal time");
  out->expires = f->expires;
  if (val[P_NOTBEFORE]) {
    if (parse_time(&f->not_before, val[P_NOTBEFORE], vlen[P_NOTBEFORE]))
      return malformed(out, "NotBefore is not a canonical decimal time");
    if (f->not_before >= f->expires)
      return malformed(out, "NotBefore is not before Expires");
    out->not_before = f->not_before;
  }
  if (!sign__key_id_ok(val[P_KEYID], vlen[P_KEYID]))
    return malformed(out, "KeyId is not 1..64 of [A-Za-z0-9._-]");
  memcpy(f->key_id, val[P_KEYID], vlen[P_KEYID]);
  f->key_id[vlen[P_KEYID]] = '\0';
  memcpy(out->key_id, f->key_id, vlen[P_KEYID] + 1);
  if (val[P_IP]) {
    const char *why = "";
    char canon[64];
    if (vlen[P_IP] >= sizeof canon ||
        sign__ip_parse_block(&f->ip, val[P_IP], vlen[P_IP], '_', true, &why))
      return malformed(out, "IP is not an address or block");
    f->ip_wire_len = sign__ip_format(canon, &f->ip, '_');
    if (f->ip_wire_len != vlen[P_IP] || memcmp(canon, val[P_IP], vlen[P_IP]) != 0)
      return malformed(out, "IP is not in canonical form");
    memcpy(f->ip_wire, canon, f->ip_wire_len + 1);
    f->has_ip = true;
    sign__ip_format(out->ip, &f->ip, '/');
  }
  size_t w = 0;
  if (vlen[P_SIGNATURE] != SIG_B64_LEN || !decode_sig(p->sig, val[P_SIGNATURE]))
    return malformed(out, "Signature is not 43 characters of unpadded base64url");
  if (val[P_PREFIX]) {
    const char *why = "";
    size_t bl = vlen[P_PREFIX];
    if (bl == 0 || bl > PREFIX_B64_MAX || (bl > 0 && val[P_PREFIX][bl - 1] == '=') ||
        stream__b64_decode_into((unsigned char *)p->prefix, STREAM_NATIVE_URL_MAX, &w,
                                val[P_PREFIX], bl, STREAM_B64_URL, true) != STREAM_OK)
      return malformed(out, "URLPrefix is not unpadded base64url of at most 8192 bytes");
    if (check_prefix(p->prefix, w, false, &why))
      return malformed(out, "URLPrefix is not a valid prefix");
    f->scope = p->prefix;
    f->scope_len = w;
  }
  return STREAM_OK;
}

/* Signature, time window, then scope and address. */
static int check_signed(stream_native_result *out, const parsed *p, const stream_keyring *ring,
                        const char *url, size_t ul, const sign__ip *client, bool have_client,
                        int64_t now, int64_t leeway)
{
  const native_fields *f = &p->f;
  stream_key *key = NULL;
  if (stream_keyring_get(&key, ring, f->key_id) != STREAM_OK) {
    out->reason = STREAM_SIGN_UNKNOWN_KEY;
    return stream__err(STREAM_EAUTH, "native signature: unknown key id '%s'", f->key_id);
  }
  if (key->type != STREAM_KEY_HMAC) {
    stream_key_free(key);
    out->reason = STREAM_SIGN_UNKNOWN_KEY;
    return stream__err(STREAM_EAUTH, "native signature: key '%s' is not an HMAC key", f->key_id);
  }
  char sts[STS_MAX];
  unsigned char mac[SIGN__SHA256_LEN];
  size_t sl = build_sts(sts, f), ml = 0;
  int rc = sign__hmac(mac, &ml, SIGN__SHA256, key, sts, sl);
  stream_key_free(key);
  if (rc) {
    out->reason = STREAM_SIGN_BAD_SIGNATURE;
    return rc;
  }
  bool eq = stream_ct_equal(mac, p->sig, 32);
  stream__wipe(mac, sizeof mac);
  if (!eq) {
    out->reason = STREAM_SIGN_BAD_SIGNATURE;
    return stream__err(STREAM_EAUTH, "native signature does not match (key '%s')", f->key_id);
  }
  if (now >= f->expires + leeway) {
    out->reason = STREAM_SIGN_EXPIRED;
    return stream__err(STREAM_EEXPIRED, "native signature expired at %lld, now %lld",
                       (long long)f->expires, (long long)now);
  }
  if (f->not_before && now + leeway < f->not_before) {
    out->reason = STREAM_SIGN_NOT_YET_VALID;
    return stream__err(STREAM_EEXPIRED, "native signature not valid before %lld, now %lld",
                       (long long)f->not_before, (long long)now);
  }
  if (f->form != STREAM_NATIVE_FORM_URL) {
    size_t ps = 0, q = 0;
    const char *why = "";
    bool inside = sign__url_split(url, ul, &ps, &q, &why) == STREAM_OK && ps < q &&
                  q >= f->scope_len && memcmp(url, f->scope, f->scope_len) == 0 &&
                  sign__path_safe(url + ps, q - ps);
    if (!inside) {
      out->reason = STREAM_SIGN_OUTSIDE_PREFIX;
      return stream__err(STREAM_EFORBIDDEN,
                         "request URL is outside the signed prefix (or has a dot segment or an "
                         "encoded '/', '\\' or NUL in its path)");
    }
  }
  if (f->has_ip) {
    if (!have_client || !sign__ip_contains(&f->ip, client)) {
      out->reason = STREAM_SIGN_IP_MISMATCH;
      return stream__err(STREAM_EFORBIDDEN, "native signature is bound to %s; client %s", out->ip,
                         have_client ? "is outside it" : "address not given");
    }
  }
  out->reason = STREAM_SIGN_VALID;
  return STREAM_OK;
}

static int verify_common(stream_native_result *out, const stream_keyring *ring, const char *url,
                         const char *cookie, bool is_cookie, const char *client_ip, int64_t now,
                         const stream_native_verify_options *opts)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "native verify: out is NULL");
  memset(out, 0, sizeof *out);
  out->reason = STREAM_SIGN_MALFORMED;
  if (!ring || !url)
    return stream__err(STREAM_EINVAL, "native verify: %s is NULL", ring ? "url" : "key ring");
  int64_t leeway = 0;
  unsigned int forms = FORMS_ALL;
  if (opts) {
    if (opts->version != STREAM_NATIVE_VERIFY_OPTIONS_VERSION)
      return stream__err(STREAM_EINVAL, "native verify: options version %u is not %d",
                         opts->version, STREAM_NATIVE_VERIFY_OPTIONS_VERSION);
    if (opts->leeway < 0 || opts->leeway > STREAM_NATIVE_LEEWAY_MAX)
      return stream__err(STREAM_EINVAL, "native verify: leeway %lld is outside 0..%d",
                         (long long)opts->leeway, STREAM_NATIVE_LEEWAY_MAX);
    if (opts->forms & ~(unsigned int)FORMS_ALL)
      return stream__err(STREAM_EINVAL, "native verify: forms mask 0x%x has unknown bits",
                         opts->forms);
    leeway = opts->leeway;
    if (opts->forms)
      forms = opts->forms;
  }
  if (now < 0 || now > STREAM_NATIVE_TIME_MAX)
    return stream__err(STREAM_EINVAL, "native verify: now %lld is out of range", (long long)now);
  if (!now)
    now = stream__now();
  sign__ip client;
  bool have_client = false;
  if (client_ip) {
    if (sign__ip_parse_client(&client, client_ip))
      return stream__err(STREAM_EINVAL, "native verify: client_ip is not an IPv4 or IPv6 address");
    have_client = true;
  }
  size_t ul = strnlen(url, STREAM_NATIVE_URL_MAX + 1);
  if (ul > STREAM_NATIVE_URL_MAX)
    return malformed(out, "request URL is longer than 8192 bytes");
  size_t ps, q;
  const char *why = "";
  if (sign__url_split(url, ul, &ps, &q, &why))
    return malformed(out, "request URL is not an absolute http(s) URL of printable ASCII");

  parsed pbuf; /* on the stack: verification does not allocate */
  parsed *p = &pbuf;
  memset(&p->f, 0, sizeof p->f);
  int rc;
  if (is_cookie) {
    size_t cl = cookie ? strnlen(cookie, STREAM_NATIVE_URL_MAX * 2 + 1) : 0;
    p->f.form = STREAM_NATIVE_FORM_COOKIE;
    if (cl == 0) {
      out->reason = STREAM_SIGN_MISSING;
      rc = stream__err(STREAM_EINVAL, "native verify: no %s cookie value",
                       STREAM_NATIVE_COOKIE_NAME);
    } else if (cl > STREAM_NATIVE_URL_MAX * 2) {
      rc = malformed(out, "cookie value is too long");
    } else {
      out->form = STREAM_NATIVE_FORM_COOKIE;
      rc = parse_params(out, p, cookie, cl, 1);
    }
  } else {
    /* Locate the signature: a path token, or the native parameters that
     * end the query string. Never both. */
    const char *tok = ps < q ? find_token_component(url + ps, q - ps) : NULL;
    if (tok && find_token_component(tok + 1, (size_t)(url + q - (tok + 1))))
      tok = url;       /* marker: twice */
    size_t first = ul; /* start of the first native query parameter */
    sign__param prm;
    for (size_t pos = 0; q < ul && sign__query_next(&prm, url + q + 1, ul - q - 1, &pos);)
      if (reserved_name(prm.name, prm.name_len) >= 0) {
        first = q + 1 + prm.start;
        break;
      }
    if (tok == url)
      rc = malformed(out, "more than one " STREAM_NATIVE_PATH_TOKEN "= component");
    else if (tok && first < ul)
      rc = malformed(out, "both a path token and signature query parameters");
    else if (tok) {
      size_t ts = (size_t)(tok - url) + 1, vs = ts + TOKEN_COMPONENT_LEN - 1;
      const char *end = memchr(url + vs, '/', q - vs);
      out->form = p->f.form = STREAM_NATIVE_FORM_PATH;
      if (!end)
        rc = malformed(out, "the path token is not followed by '/'");
      else {
        size_t te = (size_t)(end - url);
        rc = parse_params(out, p, url + vs, te - vs, 0);
        p->f.scope = url;
        p->f.scope_len = ts;
        out->strip_offset = ts;
        out->strip_len = te + 1 - ts;
      }
    } else if (first == ul) {
      out->reason = STREAM_SIGN_MISSING;
      rc = stream__err(STREAM_EINVAL, "request URL carries no native signature");
    } else {
      size_t sep = first - 1; /* the '?' or '&' before it */
      bool pfx = url[first] == 'U' || url[first] == 'u';
      out->form = p->f.form = pfx ? STREAM_NATIVE_FORM_PREFIX : STREAM_NATIVE_FORM_URL;
      out->strip_offset = sep;
      out->strip_len = ul - sep;
      if (!pfx && (url[sep - 1] == '?' || url[sep - 1] == '&'))
        rc = malformed(out, "empty parameter before the signature parameters");
      else {
        rc = parse_params(out, p, url + first, ul - first, pfx ? 1 : 0);
        if (!pfx) {
          p->f.scope = url;
          p->f.scope_len = sep;
        }
      }
    }
  }
  if (rc == STREAM_OK && !(forms & (unsigned int)p->f.form))
    rc = malformed(out, "this form is not accepted here");
  if (rc == STREAM_OK)
    rc = check_signed(out, p, ring, url, ul, &client, have_client, now, leeway);
  return rc;
}

int stream_sign_native_verify(stream_native_result *out, const stream_keyring *ring,
                              const char *url, const char *client_ip, int64_t now,
                              const stream_native_verify_options *opts)
{
  return verify_common(out, ring, url, NULL, false, client_ip, now, opts);
}

int stream_sign_native_verify_cookie(stream_native_result *out, const stream_keyring *ring,
                                     const char *url, const char *cookie_value,
                                     const char *client_ip, int64_t now,
                                     const stream_native_verify_options *opts)
{
  return verify_common(out, ring, url, cookie_value, true, client_ip, now, opts);
}
