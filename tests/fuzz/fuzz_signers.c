/*
 * Fuzz target: the SIGNERS, fed application input (URLs, prefixes, paths,
 * token claims) rather than wire bytes. Signers must refuse what they cannot
 * sign safely and never sign more than asked, so every success is checked
 * against its own verifier:
 *   - a failure returns a known status with a message, and `*out` is NULL;
 *   - a success is deterministic (signed twice: the same bytes; the native
 *     stream_sign_native_into() gives the same bytes, and STREAM_ERANGE with
 *     the needed length in a buffer one byte short);
 *   - its own verifier accepts it at expiry - 1 (or from NOW for tokens), for
 *     the URL / prefix that was signed, and reports the scope that was asked
 *     (form, expiry, not-before, key id, IP binding, the URL around the strip
 *     range; a token's registered and custom claims);
 *   - it refuses it at expiry, before not-before, with another key of the same
 *     id, without the bound client address, outside the prefix (a sibling that
 *     shares all but the prefix's last byte; for the native format also a dot
 *     segment under it: its prefixes are plain string prefixes whose request
 *     paths must be free of dot segments, docs/api/sign.md; the Google formats
 *     compare bytes only), and, for the exact-URL forms, on a changed URL.
 *
 * Input: byte 0 picks the signer (mod 14), bytes 1 and 2 are flags (expiry,
 * not-before / Starts, key, IP, scope kind...), the rest is '\n'-separated
 * fields a, b, c, d, e, f... (empty fields mean NULL unless a flag says "").
 *   0 native url       a=url c=ip                    stream_sign_native_url
 *   1 native prefix    a=prefix b=url c=ip           stream_sign_native_prefix
 *   2 native cookie    a=prefix c=ip                 stream_sign_native_cookie
 *   3 native path      a=prefix b=rest c=ip          stream_sign_native_path
 *   4 native into      a=url b=prefix, any form int  stream_sign_native_into (argument contract)
 *   5 Cloud CDN url    a=url                         stream_cloudcdn_sign_url
 *   6 Cloud CDN prefix a=prefix b=url                stream_cloudcdn_sign_prefix
 *   7 Cloud CDN cookie a=prefix                      stream_cloudcdn_sign_cookie
 *   8 Media CDN url    a=url                         stream_mediacdn_sign_url
 *   9 Media CDN prefix a=prefix b=url                stream_mediacdn_sign_prefix
 *  10 Media CDN path   a=prefix b=filename           stream_mediacdn_sign_path_component
 *  11 Media CDN cookie a=prefix                      stream_mediacdn_sign_cookie
 *  12 Media CDN token  a=scope b=SessionID c=Data d=IPRanges e,f...=header "name:value"
 *                                                    stream_mediacdn_token_sign
 *  13 JWT              a=claims_json b=sub c=iss d=aud e=typ   stream_token_issue
 * stream_jws_sign is fuzzed by fuzz_token (its odd modes).
 */
#include <arpa/inet.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "fuzz_sign_util.h"
#include "fuzz_util.h"
#include "stream/keys.h"
#include "stream/sign.h"
#include "stream/token.h"

#define NOW 1700000000
#define GOOGLE_EXPIRES_MAX 999999999999LL
#define DATE_MAX ((int64_t)1 << 53)
#define NFIELDS 48
#define GOOGLE_TEXT_MAX 16384 /* longest URL, cookie or token verified */

/* ---- keys ------------------------------------------------------------------ */

/* Native: k1 (primary) and k2.old as in fuzz_sign_native, and an Ed25519 key
 * the native format must refuse. The *_other rings hold other secrets under
 * the same ids. */
static stream_keyring *nring, *nring_other;
/* Google: the keys of fuzz_sign_google, plus keys whose id or type a format
 * must refuse (a public key, names outside a format's key-name syntax). */
#define GKEYS 8
static stream_key *gkeys[GKEYS];
static stream_keyring *gring, *gring_other;
/* JWT: the keys of fuzz_token, a 16-byte HMAC key (too short for HS256) and
 * a public Ed25519 key. */
static stream_keyring *tring, *tring_other;

static stream_key *mk(stream_key_type type, const char *id, int len, int mul, int add)
{
  unsigned char b[64];
  for (int i = 0; i < len; i++)
    b[i] = (unsigned char)(mul * i + add);
  stream_key *k = NULL;
  if (stream_key_from_bytes(&k, type, id, b, (size_t)len) != STREAM_OK)
    abort();
  return k;
}

static stream_key *mk_pub(const char *id, int mul, int add)
{
  stream_key *priv = mk(STREAM_KEY_ED25519_PRIVATE, "tmp", 32, mul, add), *k = NULL;
  unsigned char pub[32];
  if (stream_key_public_bytes(pub, priv) != STREAM_OK ||
      stream_key_from_bytes(&k, STREAM_KEY_ED25519_PUBLIC, id, pub, 32) != STREAM_OK)
    abort();
  stream_key_free(priv);
  return k;
}

static void ring_add(stream_keyring *r, stream_key *k, int free_it)
{
  if (stream_keyring_add(r, k) != STREAM_OK)
    abort();
  if (free_it)
    stream_key_free(k);
}

static stream_keyring *ring_new(void)
{
  stream_keyring *r = NULL;
  if (stream_keyring_new(&r) != STREAM_OK)
    abort();
  return r;
}

static void setup(void)
{
  if (nring)
    return;
  nring = ring_new();
  ring_add(nring, mk(STREAM_KEY_HMAC, "k1", 32, 7, 1), 1);
  ring_add(nring, mk(STREAM_KEY_HMAC, "k2.old", 20, 1, 0xa0), 1);
  ring_add(nring, mk(STREAM_KEY_ED25519_PRIVATE, "ed", 32, 3, 5), 1);
  if (stream_keyring_set_primary(nring, "k1") != STREAM_OK)
    abort();
  nring_other = ring_new();
  ring_add(nring_other, mk(STREAM_KEY_HMAC, "k1", 32, 7, 2), 1);
  ring_add(nring_other, mk(STREAM_KEY_HMAC, "k2.old", 20, 1, 0xa1), 1);

  gkeys[0] = mk(STREAM_KEY_HMAC, "cdn-key", 16, 0x11, 0);
  gkeys[1] = mk(STREAM_KEY_ED25519_PRIVATE, "edge-key", 32, 3, 5);
  gkeys[2] = mk(STREAM_KEY_HMAC, "tok-key", 32, 1, 0xc0); /* not 0xc0 ^ i: any 32 bytes do */
  gkeys[3] = mk_pub("edge-pub", 3, 5);
  gkeys[4] = mk(STREAM_KEY_ED25519_PRIVATE, "Edge_Key2", 32, 5, 9); /* not a Cloud CDN name */
  gkeys[5] = mk(STREAM_KEY_HMAC, "9key", 16, 3, 1);                 /* neither format's name */
  gkeys[6] = mk(STREAM_KEY_HMAC, "bad-", 16, 5, 3);                 /* trailing '-': not Cloud */
  gkeys[7] = NULL;
  gring = ring_new();
  gring_other = ring_new();
  for (int i = 0; i < GKEYS; i++) {
    if (!gkeys[i])
      continue;
    ring_add(gring, gkeys[i], 0);
    int t = stream_key_type_of(gkeys[i]);
    const char *id = stream_key_id(gkeys[i]);
    if (t == STREAM_KEY_ED25519_PUBLIC)
      ring_add(gring_other, mk_pub(id, 11, 1), 1);
    else
      ring_add(gring_other, mk((stream_key_type)t, id, (int)stream_key_length(gkeys[i]), 13, i), 1);
  }

  tring = ring_new();
  ring_add(tring, mk(STREAM_KEY_HMAC, "hs-1", 32, 1, 0x40), 1);
  ring_add(tring, mk(STREAM_KEY_ED25519_PRIVATE, "ed-1", 32, 1, 0x90), 1);
  ring_add(tring, mk(STREAM_KEY_HMAC, "hs-short", 16, 1, 0x20), 1);
  ring_add(tring, mk_pub("ed-pub", 1, 0x90), 1);
  if (stream_keyring_set_primary(tring, "hs-1") != STREAM_OK)
    abort();
  tring_other = ring_new();
  ring_add(tring_other, mk(STREAM_KEY_HMAC, "hs-1", 32, 1, 0x41), 1);
  ring_add(tring_other, mk(STREAM_KEY_ED25519_PRIVATE, "ed-1", 32, 1, 0x91), 1);
}

/* ---- small helpers ------------------------------------------------------------ */

/* malloc'd concatenation of up to four strings (NULL = ""). */
static char *cat(const char *a, const char *b, const char *c, const char *d)
{
  const char *v[4] = {a, b, c, d};
  size_t n = 0;
  for (int i = 0; i < 4; i++)
    n += v[i] ? strlen(v[i]) : 0;
  char *s = malloc(n + 1);
  if (!s)
    abort();
  s[0] = '\0';
  for (int i = 0; i < 4; i++)
    if (v[i])
      strcat(s, v[i]);
  return s;
}

/* `s` with its last byte replaced by another one ('x', or 'y' if it was 'x'):
 * a sibling sharing everything but the last byte of a prefix. */
static char *sibling(const char *s)
{
  char *t = cat(s, NULL, NULL, NULL);
  size_t n = strlen(t);
  if (n)
    t[n - 1] = t[n - 1] == 'x' ? 'y' : 'x';
  return t;
}

/* `s` with `ins` inserted at offset `at`. */
static char *insert_at(const char *s, size_t at, const char *ins)
{
  size_t n = strlen(s), k = strlen(ins);
  char *t = malloc(n + k + 1);
  if (!t)
    abort();
  memcpy(t, s, at);
  memcpy(t + at, ins, k);
  memcpy(t + at + k, s + at, n - at + 1);
  return t;
}

/* The address part of "ADDR[/BITS]" (up to the first '/' or ','), malloc'd. */
static char *ip_base(const char *ip)
{
  size_t n = strcspn(ip, "/,");
  char *s = malloc(n + 1);
  if (!s)
    abort();
  memcpy(s, ip, n);
  s[n] = '\0';
  return s;
}

/* Parse "ADDR" or "ADDR/BITS" with inet_pton; bits default to the full length. */
static int parse_cidr(const char *s, int *family, unsigned char addr[16], int *bits)
{
  char *a = ip_base(s);
  memset(addr, 0, 16);
  int ok = 1;
  if (inet_pton(AF_INET, a, addr) == 1) {
    *family = 4;
    *bits = 32;
  } else if (inet_pton(AF_INET6, a, addr) == 1) {
    *family = 6;
    *bits = 128;
  } else {
    ok = 0;
  }
  const char *slash = strchr(s, '/');
  if (ok && slash)
    *bits = atoi(slash + 1);
  free(a);
  return ok;
}

/* The IP binding the verifier reports is the one that was asked for. */
static void check_same_ip(const char *asked, const char *reported)
{
  int fa = 0, fr = 0, ba = 0, br = 0;
  unsigned char aa[16], ar[16];
  FUZZ_ASSERT(parse_cidr(asked, &fa, aa, &ba));
  FUZZ_ASSERT(parse_cidr(reported, &fr, ar, &br));
  FUZZ_ASSERT(fa == fr && ba == br && memcmp(aa, ar, 16) == 0);
}

/* What every signer call must leave: a known status with a message on
 * failure, `*out` NULL then and non-NULL on success. */
static int signed_ok(int rc, const char *out)
{
  fuzz_check_status(rc);
  if (rc != STREAM_OK) {
    FUZZ_ASSERT(out == NULL);
    return 0;
  }
  FUZZ_ASSERT(out != NULL);
  return 1;
}

static const char *const SENTINEL = "sentinel: the signer did not set *out";

/* ---- native ---------------------------------------------------------------------- */

static int nverify(stream_native_result *r, const stream_keyring *ring, const char *url,
                   const char *cookie, const char *ip, int64_t now)
{
  stream_error_clear();
  memset(r, 0x5a, sizeof *r);
  int rc = cookie ? stream_sign_native_verify_cookie(r, ring, url, cookie, ip, now, NULL)
                  : stream_sign_native_verify(r, ring, url, ip, now, NULL);
  fuzz_check_status(rc);
  FUZZ_ASSERT(fuzz_sign_status_of(r->reason) == rc);
  return rc;
}

/* Refused as outside the prefix; a URL grown past the limit by the change
 * is refused as malformed instead. */
static void expect_outside(int rc, const stream_native_result *r, const char *url)
{
  if (strlen(url) > STREAM_NATIVE_URL_MAX)
    FUZZ_ASSERT(rc == STREAM_EINVAL && r->reason == STREAM_SIGN_MALFORMED);
  else
    FUZZ_ASSERT(rc == STREAM_EFORBIDDEN && r->reason == STREAM_SIGN_OUTSIDE_PREFIX);
}

typedef struct native_args {
  int form;
  const char *url;    /* URL form: the url; PREFIX: the url (or NULL); PATH: the rest */
  const char *prefix; /* NULL for the URL form */
  stream_native_sign_options so;
} native_args;

static int native_sign(char **out, const native_args *a)
{
  *out = (char *)SENTINEL;
  stream_error_clear();
  switch (a->form) {
  case STREAM_NATIVE_FORM_URL:
    return stream_sign_native_url(out, nring, a->url, &a->so);
  case STREAM_NATIVE_FORM_PREFIX:
    return stream_sign_native_prefix(out, nring, a->url, a->prefix, &a->so);
  case STREAM_NATIVE_FORM_COOKIE:
    return stream_sign_native_cookie(out, nring, a->prefix, &a->so);
  default:
    return stream_sign_native_path(out, nring, a->prefix, a->url, &a->so);
  }
}

/* stream_sign_native_into gives the same bytes as the allocating signer,
 * and STREAM_ERANGE with the needed length in a buffer one byte short. */
static void native_into_same(const native_args *a, const char *out)
{
  size_t n = strlen(out), got = 12345;
  char *buf = malloc(n + 1);
  if (!buf)
    abort();
  const char *url = a->form == STREAM_NATIVE_FORM_PATH && a->url && !*a->url ? NULL : a->url;
  stream_error_clear();
  int rc =
      stream_sign_native_into(buf, n + 1, &got, a->form, nring,
                              a->form == STREAM_NATIVE_FORM_COOKIE ? NULL : url, a->prefix, &a->so);
  fuzz_check_status(rc);
  FUZZ_ASSERT(rc == STREAM_OK && got == n && memcmp(buf, out, n + 1) == 0);
  got = 0;
  stream_error_clear();
  rc =
      stream_sign_native_into(buf, n, &got, a->form, nring,
                              a->form == STREAM_NATIVE_FORM_COOKIE ? NULL : url, a->prefix, &a->so);
  fuzz_check_status(rc);
  FUZZ_ASSERT(rc == STREAM_ERANGE && got == n);
  free(buf);
}

static const char *const native_key_ids[8] = {NULL,      "k1", "k2.old", "missing",
                                              "bad id!", "ed", NULL,     "k1"};

static void run_native(int form, unsigned f1, unsigned f2, char **fl)
{
  native_args a;
  memset(&a, 0, sizeof a);
  a.form = form;
  stream_native_sign_options init = STREAM_NATIVE_SIGN_OPTIONS_INIT;
  a.so = init;
  static const int64_t exp_choice[4] = {NOW + 600, 2, STREAM_NATIVE_TIME_MAX, 0};
  a.so.expires = exp_choice[f1 & 3];
  switch ((f1 >> 2) & 3) {
  case 1:
    a.so.not_before = a.so.expires - 1;
    break;
  case 2:
    a.so.not_before = NOW - 60;
    break;
  case 3:
    a.so.not_before = a.so.expires; /* refused: not before expires */
    break;
  default:
    break;
  }
  a.so.key_id = native_key_ids[(f1 >> 4) & 7];
  a.so.ip = fl[2][0] || (f1 & 0x80) ? fl[2] : NULL;
  if (form == STREAM_NATIVE_FORM_URL) {
    a.url = fl[0];
  } else {
    a.prefix = fl[0];
    if (form == STREAM_NATIVE_FORM_PREFIX)
      a.url = fl[1][0] ? fl[1] : NULL;
    else if (form == STREAM_NATIVE_FORM_PATH)
      a.url = fl[1][0] || (f2 & 1) ? fl[1] : NULL;
  }

  char *out = NULL;
  int rc = native_sign(&out, &a);
  if (!signed_ok(rc, out))
    return;

  /* Deterministic, and the same through the non-allocating variant. */
  char *again = NULL;
  FUZZ_ASSERT(native_sign(&again, &a) == STREAM_OK && strcmp(again, out) == 0);
  stream_free(again);
  native_into_same(&a, out);

  /* The request that carries it, and the cookie. */
  char *req = NULL;
  const char *cookie = NULL;
  if (form == STREAM_NATIVE_FORM_PREFIX && !a.url)
    req = cat(a.prefix, "?", out, NULL);
  else if (form == STREAM_NATIVE_FORM_COOKIE) {
    req = cat(a.prefix, NULL, NULL, NULL);
    cookie = out;
  } else
    req = cat(out, NULL, NULL, NULL);
  char *client = a.so.ip ? ip_base(a.so.ip) : NULL;
  const int64_t t = a.so.expires - 1;
  stream_native_result r;
  /* Signing refuses what verification would refuse as too long: the request URL fits. */
  FUZZ_ASSERT(strlen(req) <= STREAM_NATIVE_URL_MAX);

  /* 1. Valid before expiry, with the scope that was asked. */
  rc = nverify(&r, nring, req, cookie, client, t);
  FUZZ_ASSERT(rc == STREAM_OK);
  FUZZ_ASSERT(r.form == form && r.expires == a.so.expires && r.not_before == a.so.not_before);
  FUZZ_ASSERT(strcmp(r.key_id, a.so.key_id ? a.so.key_id : "k1") == 0);
  if (a.so.ip)
    check_same_ip(a.so.ip, r.ip);
  else
    FUZZ_ASSERT(r.ip[0] == '\0');
  size_t rl = strlen(req);
  if (form == STREAM_NATIVE_FORM_URL || (form == STREAM_NATIVE_FORM_PREFIX && a.url)) {
    /* The signature is the tail; before it, exactly the URL given. */
    FUZZ_ASSERT(r.strip_offset == strlen(a.url) && r.strip_offset + r.strip_len == rl);
    FUZZ_ASSERT(memcmp(req, a.url, r.strip_offset) == 0);
  } else if (form == STREAM_NATIVE_FORM_PATH) {
    /* Without the token component: prefix + rest. */
    size_t pl = strlen(a.prefix), tl = a.url ? strlen(a.url) : 0;
    FUZZ_ASSERT(r.strip_offset == pl && r.strip_offset + r.strip_len + tl == rl);
    FUZZ_ASSERT(memcmp(req, a.prefix, pl) == 0);
    FUZZ_ASSERT(tl == 0 || memcmp(req + rl - tl, a.url, tl) == 0);
  }

  /* 2. Expired at Expires; not valid before NotBefore (now 0 would mean the clock). */
  rc = nverify(&r, nring, req, cookie, client, a.so.expires);
  FUZZ_ASSERT(rc == STREAM_EEXPIRED && r.reason == STREAM_SIGN_EXPIRED);
  if (a.so.not_before > 1) {
    rc = nverify(&r, nring, req, cookie, client, a.so.not_before - 1);
    FUZZ_ASSERT(rc == STREAM_EEXPIRED && r.reason == STREAM_SIGN_NOT_YET_VALID);
  }
  /* 3. Another secret under the same key id. */
  rc = nverify(&r, nring_other, req, cookie, client, t);
  FUZZ_ASSERT(rc == STREAM_EAUTH && r.reason == STREAM_SIGN_BAD_SIGNATURE);
  /* 4. Bound to an address: refused without one. */
  if (a.so.ip) {
    rc = nverify(&r, nring, req, cookie, NULL, t);
    FUZZ_ASSERT(rc == STREAM_EFORBIDDEN && r.reason == STREAM_SIGN_IP_MISMATCH);
  }
  /* 5. Never more than asked. */
  if (form == STREAM_NATIVE_FORM_URL) {
    char *other = insert_at(req, r.strip_offset, "x");
    FUZZ_ASSERT(nverify(&r, nring, other, NULL, client, t) != STREAM_OK);
    free(other);
  } else if (form == STREAM_NATIVE_FORM_PATH) {
    /* A dot segment after the token, and another prefix before it. */
    nverify(&r, nring, req, NULL, client, t);
    char *head = cat(req, NULL, NULL, NULL);
    head[r.strip_offset + r.strip_len] = '\0';
    char *dots = cat(head, "../x", NULL, NULL);
    rc = nverify(&r, nring, dots, NULL, client, t);
    expect_outside(rc, &r, dots);
    size_t pl = strlen(a.prefix);
    if (pl >= 2 && a.prefix[pl - 2] != '/') {
      char *moved = cat(req, NULL, NULL, NULL);
      moved[pl - 2] = moved[pl - 2] == 'x' ? 'y' : 'x';
      FUZZ_ASSERT(nverify(&r, nring, moved, NULL, client, t) != STREAM_OK);
      free(moved);
    }
    free(dots);
    free(head);
  } else {
    /* PREFIX (request URL + params) and COOKIE (request URL): a sibling of
     * the prefix, and a dot segment under it. */
    const char *params = NULL;
    if (form == STREAM_NATIVE_FORM_PREFIX) {
      nverify(&r, nring, req, NULL, client, t);
      params = req + r.strip_offset + 1;
    }
    size_t pl = strlen(a.prefix);
    const char *slash = a.prefix[pl - 1] == '/' ? "" : "/";
    char *sib = sibling(a.prefix);
    char *dot = cat(a.prefix, slash, "../x", NULL);
    char *u1 = params ? cat(sib, "?", params, NULL) : cat(sib, NULL, NULL, NULL);
    char *u2 = params ? cat(dot, "?", params, NULL) : cat(dot, NULL, NULL, NULL);
    rc = nverify(&r, nring, u1, cookie, client, t);
    expect_outside(rc, &r, u1);
    rc = nverify(&r, nring, u2, cookie, client, t);
    expect_outside(rc, &r, u2);
    /* A signature made for one form never verifies in the other. */
    if (form == STREAM_NATIVE_FORM_COOKIE) {
      char *as_query = cat(a.prefix, "?", out, NULL);
      FUZZ_ASSERT(nverify(&r, nring, as_query, NULL, client, t) != STREAM_OK);
      free(as_query);
    } else {
      FUZZ_ASSERT(nverify(&r, nring, a.prefix, params, client, t) != STREAM_OK);
    }
    free(u2);
    free(u1);
    free(dot);
    free(sib);
  }
  free(client);
  free(req);
  stream_free(out);
}

/* stream_sign_native_into with any form number and NULL or given arguments:
 * its own contract, and the same result as the allocating signer. */
static void run_native_into(unsigned f1, unsigned f2, char **fl)
{
  native_args a;
  memset(&a, 0, sizeof a);
  stream_native_sign_options init = STREAM_NATIVE_SIGN_OPTIONS_INIT;
  a.so = init;
  a.so.expires = NOW + 600;
  a.so.key_id = native_key_ids[(f1 >> 4) & 7];
  a.so.ip = fl[2][0] ? fl[2] : NULL;
  a.form = (int)(f1 & 15);
  a.url = (f2 & 1) ? NULL : fl[0];
  a.prefix = (f2 & 2) ? NULL : fl[1];
  static const size_t caps[4] = {0, 1, 64, 32768};
  size_t cap = caps[(f2 >> 2) & 3], got = 12345;
  char *buf = cap ? malloc(cap) : NULL;
  if (cap && !buf)
    abort();
  stream_error_clear();
  int rc = stream_sign_native_into(buf, cap, &got, a.form, nring, a.url, a.prefix, &a.so);
  fuzz_check_status(rc);
  if (rc == STREAM_OK)
    FUZZ_ASSERT(got < cap && strlen(buf) == got);
  else if (rc == STREAM_ERANGE)
    FUZZ_ASSERT(got >= cap && got > 0);
  else
    FUZZ_ASSERT(got == 0);
  /* When it signs (or only lacks room), the allocating signer of the form
   * with the same arguments gives the same bytes. */
  int alloc_form = (a.form == STREAM_NATIVE_FORM_URL && !a.prefix) ||
                   (a.form == STREAM_NATIVE_FORM_COOKIE && !a.url) ||
                   a.form == STREAM_NATIVE_FORM_PREFIX ||
                   (a.form == STREAM_NATIVE_FORM_PATH && (!a.url || *a.url));
  if ((rc == STREAM_OK || rc == STREAM_ERANGE) && alloc_form) {
    char *out = NULL;
    FUZZ_ASSERT(native_sign(&out, &a) == STREAM_OK && strlen(out) == got);
    FUZZ_ASSERT(rc != STREAM_OK || strcmp(out, buf) == 0);
    stream_free(out);
  }
  free(buf);
}

/* ---- Google Cloud CDN / Media CDN ---------------------------------------------- */

static int gverify(stream_google_verification *v, const stream_keyring *ring, int which,
                   const char *cred, const stream_google_request *req)
{
  stream_error_clear();
  memset(v, 0x5a, sizeof *v);
  int rc;
  switch (which) {
  case 0:
    rc = stream_cloudcdn_verify_url(v, ring, req);
    break;
  case 1:
    rc = stream_cloudcdn_verify_cookie(v, ring, cred, req);
    break;
  case 2:
    rc = stream_mediacdn_verify_url(v, ring, req);
    break;
  case 3:
    rc = stream_mediacdn_verify_cookie(v, ring, cred, req);
    break;
  default:
    rc = stream_mediacdn_token_verify(v, ring, cred, req);
    break;
  }
  fuzz_check_status(rc);
  FUZZ_ASSERT(fuzz_sign_status_of(v->reason) == rc);
  FUZZ_ASSERT(memchr(v->key_name, '\0', sizeof v->key_name) != NULL);
  return rc;
}

static stream_google_request greq(const char *url, int64_t now)
{
  stream_google_request r = STREAM_GOOGLE_REQUEST_INIT;
  r.url = url;
  r.now = now;
  return r;
}

/* Expiry options: absolute times (the first and the largest accepted), a
 * ttl on the clock, and refused ones. */
static int google_options(stream_google_sign_options *o, unsigned choice)
{
  stream_google_sign_options init = STREAM_GOOGLE_SIGN_OPTIONS_INIT;
  *o = init;
  switch (choice & 7) {
  case 0:
    o->expires = NOW + 600;
    break;
  case 1:
    o->expires = 2;
    break;
  case 2:
    o->expires = GOOGLE_EXPIRES_MAX;
    break;
  case 3:
    o->expires = GOOGLE_EXPIRES_MAX + 1; /* STREAM_ERANGE */
    break;
  case 4:
    o->ttl = 600; /* on the clock */
    break;
  case 5:
    break; /* neither: STREAM_EINVAL */
  case 6:
    o->expires = -1;
    break;
  default:
    return 0; /* NULL options */
  }
  return 1;
}

/* The expiry the verifier reports is the one asked for; with a ttl, within
 * the clock readings taken around the signer. Returns the expiry. */
static int64_t check_expiry(const stream_google_sign_options *o, int64_t reported, int64_t t0,
                            int64_t t1)
{
  if (o->expires > 0)
    FUZZ_ASSERT(reported == o->expires);
  else
    FUZZ_ASSERT(reported >= t0 + o->ttl && reported <= t1 + o->ttl);
  return reported;
}

static void run_google(int mode, unsigned f1, unsigned f2, char **fl)
{
  const int media = mode >= 8;
  const int form = media ? mode - 8 : mode - 5; /* 0 url, 1 prefix, 2 path (Media) / cookie, 3 */
  const int cookie_form = media ? form == 3 : form == 2;
  stream_google_sign_options o;
  const stream_google_sign_options *op = google_options(&o, f1) ? &o : NULL;
  const stream_key *key = gkeys[(((f1 >> 3) & 7) + (unsigned)media) % GKEYS];
  const char *a = fl[0];
  const char *b = fl[1][0] || (f2 & 1) ? fl[1] : NULL;

  char *out = (char *)SENTINEL;
  int64_t t0 = (int64_t)time(NULL);
  stream_error_clear();
  int rc;
  if (!media)
    rc = form == 0   ? stream_cloudcdn_sign_url(&out, key, a, op)
         : form == 1 ? stream_cloudcdn_sign_prefix(&out, key, b, a, op)
                     : stream_cloudcdn_sign_cookie(&out, key, a, op);
  else
    rc = form == 0   ? stream_mediacdn_sign_url(&out, key, a, op)
         : form == 1 ? stream_mediacdn_sign_prefix(&out, key, b, a, op)
         : form == 2 ? stream_mediacdn_sign_path_component(&out, key, a, b, op)
                     : stream_mediacdn_sign_cookie(&out, key, a, op);
  int64_t t1 = (int64_t)time(NULL);
  if (!signed_ok(rc, out))
    return;
  const char *id = stream_key_id(key);

  /* Deterministic (HMAC and Ed25519 are) for an absolute expiry. */
  if (o.expires > 0) {
    char *again = NULL;
    if (!media)
      rc = form == 0   ? stream_cloudcdn_sign_url(&again, key, a, op)
           : form == 1 ? stream_cloudcdn_sign_prefix(&again, key, b, a, op)
                       : stream_cloudcdn_sign_cookie(&again, key, a, op);
    else
      rc = form == 0   ? stream_mediacdn_sign_url(&again, key, a, op)
           : form == 1 ? stream_mediacdn_sign_prefix(&again, key, b, a, op)
           : form == 2 ? stream_mediacdn_sign_path_component(&again, key, a, b, op)
                       : stream_mediacdn_sign_cookie(&again, key, a, op);
    FUZZ_ASSERT(rc == STREAM_OK && strcmp(again, out) == 0);
    stream_free(again);
  }

  const int which = (media ? 2 : 0) + cookie_form;
  char *url = NULL;
  const char *cred = NULL;
  if (cookie_form) {
    url = cat(a, NULL, NULL, NULL);
    cred = out;
  } else if (form == 1 && !b) {
    url = cat(a, "?", out, NULL);
  } else {
    url = cat(out, NULL, NULL, NULL);
  }
  /* Google's URLPrefix is a plain byte prefix: a prefix-form URL signed
   * onto a URL outside its prefix grants nothing there. */
  const int outside = form == 1 && b && strncmp(b, a, strlen(a)) != 0;
  stream_google_verification v;
  /* Signing refuses what verification would refuse as too long: the request
   * URL and the cookie fit. */
  FUZZ_ASSERT(strlen(url) <= GOOGLE_TEXT_MAX && (!cred || strlen(cred) <= GOOGLE_TEXT_MAX));

  /* 1. Valid just before expiry (or OUTSIDE_PREFIX, see above), for the key
   * and expiry asked. The expiry comes from the first verification when it
   * was a ttl. */
  int64_t t = (o.expires > 0 ? o.expires : t0 + o.ttl) - 1;
  stream_google_request q = greq(url, t);
  rc = gverify(&v, gring, which, cred, &q);
  if (outside)
    FUZZ_ASSERT(rc == STREAM_EFORBIDDEN && v.reason == STREAM_SIGN_OUTSIDE_PREFIX);
  else
    FUZZ_ASSERT(rc == STREAM_OK);
  FUZZ_ASSERT(strcmp(v.key_name, id) == 0);
  int64_t expires = check_expiry(&o, v.expires, t0, t1);

  /* 2. Expired at Expires. */
  q = greq(url, expires);
  rc = gverify(&v, gring, which, cred, &q);
  FUZZ_ASSERT(rc == STREAM_EEXPIRED && v.reason == STREAM_SIGN_EXPIRED);
  /* 3. Another secret under the same KeyName. */
  q = greq(url, t);
  rc = gverify(&v, gring_other, which, cred, &q);
  FUZZ_ASSERT(rc == STREAM_EAUTH && v.reason == STREAM_SIGN_BAD_SIGNATURE);
  /* 4. Never more than asked. */
  if (form == 0) {
    char *other = insert_at(url, strlen(a), "x");
    q = greq(other, t);
    FUZZ_ASSERT(gverify(&v, gring, which, cred, &q) != STREAM_OK);
    free(other);
  } else if (media && form == 2) {
    /* The component signs the literal prefix: another one fails. */
    char *moved = cat(url, NULL, NULL, NULL);
    size_t pl = strlen(a);
    moved[pl - 2] = moved[pl - 2] == 'x' ? 'y' : 'x';
    q = greq(moved, t);
    FUZZ_ASSERT(gverify(&v, gring, which, cred, &q) != STREAM_OK);
    free(moved);
  } else if (cookie_form || !b) {
    /* Prefix form (parameters after the prefix) and cookies: a sibling. */
    char *sib = sibling(a);
    char *other = cookie_form ? cat(sib, NULL, NULL, NULL) : cat(sib, url + strlen(a), NULL, NULL);
    q = greq(other, t);
    rc = gverify(&v, gring, which, cred, &q);
    FUZZ_ASSERT(rc == STREAM_EFORBIDDEN && v.reason == STREAM_SIGN_OUTSIDE_PREFIX);
    free(other);
    free(sib);
  }
  free(url);
  stream_free(out);
}

/* ---- Media CDN tokens ------------------------------------------------------------ */

static void run_token_google(unsigned f1, unsigned f2, char **fl, int nf)
{
  stream_google_sign_options g;
  const int have_opts = google_options(&g, f1);
  stream_mediacdn_token_options o = STREAM_MEDIACDN_TOKEN_OPTIONS_INIT;
  o.expires = g.expires;
  o.ttl = g.ttl;
  const stream_key *key = gkeys[(((f1 >> 3) & 7) + 1) % GKEYS];
  const char *a = fl[0];
  switch ((f1 >> 6) & 3) {
  case 0:
    o.url_prefix = a;
    break;
  case 1:
    o.full_path = a;
    break;
  case 2:
    o.path_globs = a;
    break;
  default:
    o.url_prefix = a; /* two scopes: refused */
    o.full_path = "/x";
    break;
  }
  int64_t e = o.expires > 0 ? o.expires : NOW;
  switch (f2 & 3) {
  case 1:
    o.starts = NOW - 60;
    break;
  case 2:
    o.starts = e - 1;
    break;
  case 3:
    o.starts = e; /* refused: not before expires */
    break;
  default:
    break;
  }
  static const int hmacs[4] = {0, STREAM_MEDIACDN_HMAC_SHA256, STREAM_MEDIACDN_HMAC_SHA1, 7};
  o.hmac = hmacs[(f2 >> 2) & 3];
  const int keep_empty = (f2 >> 4) & 1;
  o.session_id = fl[1][0] || keep_empty ? fl[1] : NULL;
  o.data = fl[2][0] || keep_empty ? fl[2] : NULL;
  o.ip_ranges = fl[3][0] || keep_empty ? fl[3] : NULL;
  /* Headers: the remaining fields, "name:value" each. */
  const char *names[NFIELDS], *values[NFIELDS];
  char *hbuf[NFIELDS];
  size_t hn = 0;
  for (int i = 4; i < nf && fl[i][0]; i++) {
    char *h = cat(fl[i], NULL, NULL, NULL);
    char *colon = strchr(h, ':');
    if (colon)
      *colon = '\0';
    hbuf[hn] = h;
    names[hn] = h;
    values[hn] = colon ? colon + 1 : "";
    hn++;
  }
  o.header_names = names;
  o.header_values = values;
  o.header_count = hn;

  char *tok = (char *)SENTINEL;
  int64_t t0 = (int64_t)time(NULL);
  stream_error_clear();
  int rc = stream_mediacdn_token_sign(&tok, key, have_opts ? &o : NULL);
  int64_t t1 = (int64_t)time(NULL);
  if (!signed_ok(rc, tok))
    goto done;
  if (o.expires > 0) {
    char *again = NULL;
    FUZZ_ASSERT(stream_mediacdn_token_sign(&again, key, &o) == STREAM_OK &&
                strcmp(again, tok) == 0);
    stream_free(again);
  }

  /* A request inside the scope: the prefix itself, the full path, or the
   * first glob with its '*' matching nothing. */
  char *url;
  if (o.url_prefix) {
    url = cat(a, NULL, NULL, NULL);
  } else if (o.full_path) {
    url = cat("https://media.example", a, NULL, NULL);
  } else {
    url = cat("https://media.example", a, NULL, NULL);
    size_t at = strlen("https://media.example");
    url[at + strcspn(url + at, ",!")] = '\0';
    char *w = url;
    for (char *p = url; *p; p++)
      if (*p != '*')
        *w++ = *p;
    *w = '\0';
  }
  char *client = o.ip_ranges ? ip_base(o.ip_ranges) : NULL;
  const char *id = stream_key_id(key);
  stream_google_request q = STREAM_GOOGLE_REQUEST_INIT;
  q.url = url;
  q.client_ip = client;
  q.header_names = names;
  q.header_values = values;
  q.header_count = hn;
  q.key_names = &id;
  q.key_name_count = 1;
  q.now = (o.expires > 0 ? o.expires : t0 + o.ttl) - 1;

  stream_google_verification v;
  /* Signing refuses a token verification would refuse as too long. */
  FUZZ_ASSERT(strlen(tok) <= GOOGLE_TEXT_MAX);
  /* 1. Valid before expiry, for the key, expiry and Starts asked. */
  rc = gverify(&v, gring, 4, tok, &q);
  FUZZ_ASSERT(rc == STREAM_OK);
  FUZZ_ASSERT(strcmp(v.key_name, id) == 0 && v.starts == o.starts);
  stream_google_sign_options eo = {STREAM_GOOGLE_SIGN_OPTIONS_VERSION, o.expires, o.ttl};
  int64_t expires = check_expiry(&eo, v.expires, t0, t1), t = q.now;

  /* 2. The time window. */
  q.now = expires;
  rc = gverify(&v, gring, 4, tok, &q);
  FUZZ_ASSERT(rc == STREAM_EEXPIRED && v.reason == STREAM_SIGN_EXPIRED);
  if (o.starts > 1) {
    q.now = o.starts - 1;
    rc = gverify(&v, gring, 4, tok, &q);
    FUZZ_ASSERT(rc == STREAM_EEXPIRED && v.reason == STREAM_SIGN_NOT_YET_VALID);
  }
  q.now = t;
  /* 3. Another secret under the same name. */
  rc = gverify(&v, gring_other, 4, tok, &q);
  FUZZ_ASSERT(rc == STREAM_EAUTH && v.reason == STREAM_SIGN_BAD_SIGNATURE);
  /* 4. Bound to ranges: refused without a client address. */
  if (o.ip_ranges) {
    q.client_ip = NULL;
    rc = gverify(&v, gring, 4, tok, &q);
    FUZZ_ASSERT(rc == STREAM_EFORBIDDEN && v.reason == STREAM_SIGN_IP_MISMATCH);
    q.client_ip = client;
  }
  /* 5. Bound to headers: another value of the first one fails. */
  if (hn) {
    const char *saved = values[0];
    char *changed = cat(saved, "x", NULL, NULL);
    values[0] = changed;
    FUZZ_ASSERT(gverify(&v, gring, 4, tok, &q) != STREAM_OK);
    values[0] = saved;
    free(changed);
  }
  /* 6. Outside the scope: a sibling of the prefix, a longer full path. */
  if (o.url_prefix || o.full_path) {
    char *other = o.url_prefix ? sibling(url) : cat(url, "x", NULL, NULL);
    q.url = other;
    rc = gverify(&v, gring, 4, tok, &q);
    FUZZ_ASSERT(rc != STREAM_OK);
    FUZZ_ASSERT(!o.url_prefix || v.reason == STREAM_SIGN_OUTSIDE_PREFIX);
    q.url = url;
    free(other);
  }
  free(client);
  free(url);
  stream_free(tok);
done:
  for (size_t i = 0; i < hn; i++)
    free(hbuf[i]);
}

/* ---- JWT ----------------------------------------------------------------------- */

static const char *json_string(const cJSON *obj, const char *name)
{
  const cJSON *c = obj ? cJSON_GetObjectItemCaseSensitive(obj, name) : NULL;
  return cJSON_IsString(c) ? c->valuestring : NULL;
}

/* Exactly the same JSON value: numbers compared with == (cJSON_Compare
 * allows an epsilon, which is what hid cJSON's inexact printing). */
static int json_same(const cJSON *a, const cJSON *b)
{
  if ((a->type & 0xff) != (b->type & 0xff))
    return 0;
  if (cJSON_IsNumber(a))
    return a->valuedouble == b->valuedouble;
  if (cJSON_IsString(a))
    return strcmp(a->valuestring, b->valuestring) == 0;
  if (cJSON_IsArray(a)) {
    const cJSON *x = a->child, *y = b->child;
    for (; x && y; x = x->next, y = y->next)
      if (!json_same(x, y))
        return 0;
    return !x && !y;
  }
  if (cJSON_IsObject(a)) {
    if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
      return 0;
    for (const cJSON *x = a->child; x; x = x->next) {
      const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
      if (!y || !json_same(x, y))
        return 0;
    }
  }
  return 1;
}

static int token_verify(stream_token_claims *c, char **json, const stream_keyring *ring,
                        const char *tok, const stream_token_verify_options *vo)
{
  stream_error_clear();
  memset(c, 0x5a, sizeof *c);
  *json = (char *)SENTINEL;
  int rc = stream_token_verify(json, c, ring, tok, vo);
  fuzz_check_status(rc);
  FUZZ_ASSERT(rc == STREAM_OK ? *json != NULL : *json == NULL);
  return rc;
}

static void run_token_issue(unsigned f1, unsigned f2, char **fl)
{
  static const char *const kids[8] = {NULL,     "hs-1",    "ed-1",     "hs-short",
                                      "ed-pub", "missing", "bad kid!", "ed-1"};
  const char *kid = kids[f1 & 7];
  stream_token_issue_options o = STREAM_TOKEN_ISSUE_OPTIONS_INIT;
  o.now = NOW;
  switch ((f1 >> 3) & 7) {
  case 0:
    break; /* ttl 900 */
  case 1:
    o.ttl = 0;
    o.exp = NOW + 600;
    break;
  case 2:
    o.ttl = 0;
    o.exp = DATE_MAX;
    break;
  case 3:
    o.ttl = 0; /* neither: refused */
    break;
  case 4:
    o.ttl = 0;
    o.exp = NOW; /* not after now: refused */
    break;
  case 5:
    o.ttl = DATE_MAX; /* exp out of range */
    break;
  case 6:
    o.ttl = 1;
    break;
  default:
    o.exp = NOW + 600; /* both: refused */
    break;
  }
  o.jti = (f1 >> 6) & 1;
  const char *claims_json = (f1 & 0x80) ? NULL : fl[0];
  int64_t exp = o.ttl ? NOW + o.ttl : o.exp;
  switch (f2 & 3) {
  case 1:
    o.nbf = NOW - 60;
    break;
  case 2:
    o.nbf = exp - 1;
    break;
  case 3:
    o.nbf = NOW + 10;
    break;
  default:
    break;
  }
  const int keep_empty = (f2 >> 2) & 1;
  o.sub = fl[1][0] || keep_empty ? fl[1] : NULL;
  o.iss = fl[2][0] || keep_empty ? fl[2] : NULL;
  o.aud = fl[3][0] || keep_empty ? fl[3] : NULL;
  o.typ = fl[4][0] || keep_empty ? fl[4] : NULL;

  char *tok = (char *)SENTINEL;
  stream_error_clear();
  int rc = stream_token_issue(&tok, tring, kid, claims_json, &o);
  if (!signed_ok(rc, tok))
    return;
  FUZZ_ASSERT(strlen(tok) <= STREAM_TOKEN_SIZE_DEFAULT);
  if (!o.jti) {
    char *again = NULL;
    FUZZ_ASSERT(stream_token_issue(&again, tring, kid, claims_json, &o) == STREAM_OK &&
                strcmp(again, tok) == 0);
    stream_free(again);
  }

  /* What the token must say: the options, and what claims_json adds. */
  cJSON *in = claims_json ? cJSON_Parse(claims_json) : NULL;
  FUZZ_ASSERT(!claims_json || cJSON_IsObject(in));
  const char *sub = o.sub ? o.sub : json_string(in, "sub");
  const char *iss = o.iss ? o.iss : json_string(in, "iss");
  /* The audience to verify with: the first non-empty one. */
  const cJSON *aud_in = in ? cJSON_GetObjectItemCaseSensitive(in, "aud") : NULL;
  const char *aud = o.aud ? o.aud : cJSON_IsString(aud_in) ? aud_in->valuestring : NULL;
  for (const cJSON *m = cJSON_IsArray(aud_in) ? aud_in->child : NULL; m && !aud; m = m->next)
    if (cJSON_IsString(m) && m->valuestring[0])
      aud = m->valuestring;
  int64_t nbf = o.nbf;
  const cJSON *nbf_in = in ? cJSON_GetObjectItemCaseSensitive(in, "nbf") : NULL;
  if (!o.nbf && cJSON_IsNumber(nbf_in)) {
    double d = nbf_in->valuedouble;
    nbf = (int64_t)d;
    if ((double)nbf < d)
      nbf++; /* the verifier rounds nbf up */
  }
  const int has_nbf = o.nbf != 0 || nbf_in != NULL;

  /* 1. Valid from when it may be used, with what was asked. */
  stream_token_verify_options vo = STREAM_TOKEN_VERIFY_OPTIONS_INIT;
  vo.now = has_nbf && nbf > NOW ? nbf : NOW;
  FUZZ_ASSERT(vo.now < exp); /* a token that is never valid must be refused */
  vo.iss = iss;
  vo.aud = aud;
  vo.typ = o.typ;
  stream_token_claims c;
  char *json = NULL;
  rc = token_verify(&c, &json, tring, tok, &vo);
  FUZZ_ASSERT(rc == STREAM_OK);
  FUZZ_ASSERT(strcmp(c.kid, kid ? kid : "hs-1") == 0);
  FUZZ_ASSERT(c.has_exp && c.exp == exp && c.has_iat && c.iat == NOW);
  FUZZ_ASSERT(c.has_nbf == has_nbf && (!has_nbf || c.nbf == nbf));
  FUZZ_ASSERT(strcmp(c.sub, sub ? sub : "") == 0 && strcmp(c.iss, iss ? iss : "") == 0);
  FUZZ_ASSERT(!o.jti || json_string(in, "jti") || strlen(c.jti) == 22);
  /* Every claim given is in the token unchanged; nothing else but the
   * registered claims is added. */
  cJSON *got = cJSON_Parse(json);
  FUZZ_ASSERT(cJSON_IsObject(got));
  for (const cJSON *m = in ? in->child : NULL; m; m = m->next) {
    const cJSON *g = cJSON_GetObjectItemCaseSensitive(got, m->string);
    FUZZ_ASSERT(g != NULL && json_same(m, g));
  }
  static const char *const registered[] = {"iss", "sub", "aud", "iat", "nbf", "exp", "jti"};
  for (const cJSON *m = got->child; m; m = m->next) {
    int known = in && cJSON_GetObjectItemCaseSensitive(in, m->string) != NULL;
    for (size_t i = 0; !known && i < sizeof registered / sizeof *registered; i++)
      known = strcmp(m->string, registered[i]) == 0;
    FUZZ_ASSERT(known);
  }
  cJSON_Delete(got);
  stream_free(json);
  int64_t t = vo.now;

  /* 2. Expired at exp; 3. another secret under the same kid. */
  vo.now = exp;
  FUZZ_ASSERT(token_verify(&c, &json, tring, tok, &vo) == STREAM_EEXPIRED);
  vo.now = t;
  FUZZ_ASSERT(token_verify(&c, &json, tring_other, tok, &vo) == STREAM_EAUTH);
  /* 4. Another audience or issuer. */
  if (aud) {
    char *other = cat(strlen(aud) < 255 ? aud : NULL, "x", NULL, NULL);
    vo.aud = other;
    FUZZ_ASSERT(token_verify(&c, &json, tring, tok, &vo) == STREAM_EFORBIDDEN);
    vo.aud = aud;
    free(other);
  }
  if (iss) {
    char *other = cat(strlen(iss) < 255 ? iss : NULL, "x", NULL, NULL);
    vo.iss = other;
    FUZZ_ASSERT(token_verify(&c, &json, tring, tok, &vo) == STREAM_EFORBIDDEN);
    vo.iss = iss;
    free(other);
  }
  cJSON_Delete(in);
  stream_free(tok);
}

/* ---- entry ------------------------------------------------------------------------ */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  setup();
  if (size < 3)
    return 0;
  unsigned mode = data[0] % 14, f1 = data[1], f2 = data[2];
  char *s = fuzz_cstr(data + 3, size - 3);
  char *fl[NFIELDS];
  size_t pos = 0;
  for (int i = 0; i < NFIELDS; i++)
    fl[i] = fuzz_field(s, &pos);
  switch (mode) {
  case 0:
    run_native(STREAM_NATIVE_FORM_URL, f1, f2, fl);
    break;
  case 1:
    run_native(STREAM_NATIVE_FORM_PREFIX, f1, f2, fl);
    break;
  case 2:
    run_native(STREAM_NATIVE_FORM_COOKIE, f1, f2, fl);
    break;
  case 3:
    run_native(STREAM_NATIVE_FORM_PATH, f1, f2, fl);
    break;
  case 4:
    run_native_into(f1, f2, fl);
    break;
  case 12:
    run_token_google(f1, f2, fl, NFIELDS);
    break;
  case 13:
    run_token_issue(f1, f2, fl);
    break;
  default:
    run_google((int)mode, f1, f2, fl);
    break;
  }
  free(s);
  return 0;
}
