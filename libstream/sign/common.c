/*
 * sign/common: what every signing format shares — the reason strings, a
 * per-thread cache of keyed HMAC contexts (SHA-1 and SHA-256) so that the hot
 * path neither allocates nor recomputes a key schedule, addresses and CIDR
 * blocks (IPv4/IPv6; native strict and Google lenient spellings), the URL
 * checks that keep a prefix-scoped signature inside its prefix, and strict
 * decimals.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "sign_internal.h"

const char *stream_sign_reason_str(int reason)
{
  switch (reason) {
  case STREAM_SIGN_VALID:
    return "valid";
  case STREAM_SIGN_EXPIRED:
    return "expired";
  case STREAM_SIGN_NOT_YET_VALID:
    return "not yet valid";
  case STREAM_SIGN_BAD_SIGNATURE:
    return "bad signature";
  case STREAM_SIGN_UNKNOWN_KEY:
    return "unknown key";
  case STREAM_SIGN_MALFORMED:
    return "malformed";
  case STREAM_SIGN_OUTSIDE_PREFIX:
    return "outside prefix";
  case STREAM_SIGN_IP_MISMATCH:
    return "IP mismatch";
  case STREAM_SIGN_MISSING:
    return "missing";
  default:
    return "unknown reason";
  }
}

/* ---- HMAC with cached key schedules ------------------------------------- */

/* A handful of slots: rotation keeps two or three keys live at once. A slot
 * is matched on the secret bytes themselves, not on the key's address, so a
 * freed key whose memory is reused can never hit a stale schedule. */
#define HMAC_SLOTS 4

typedef struct hmac_slot {
  EVP_MAC_CTX *ctx;
  sign__md md;
  size_t len;
  unsigned long used;
  unsigned char secret[STREAM_KEY_HMAC_MAX];
} hmac_slot;

typedef struct hmac_cache {
  unsigned long tick;
  hmac_slot slot[HMAC_SLOTS];
} hmac_cache;

static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;
static pthread_key_t hmac_tkey;
static EVP_MAC *hmac_mac;
static _Thread_local hmac_cache *hmac_tl;

static void hmac_cache_free(void *p)
{
  hmac_cache *c = p;
  if (!c)
    return;
  for (int i = 0; i < HMAC_SLOTS; i++)
    EVP_MAC_CTX_free(c->slot[i].ctx);
  stream__wipe(c, sizeof *c);
  free(c);
}

static void hmac_init_once(void)
{
  hmac_mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
  if (pthread_key_create(&hmac_tkey, hmac_cache_free) != 0) {
    EVP_MAC_free(hmac_mac);
    hmac_mac = NULL;
  }
}

static const char *md_name(sign__md md)
{
  return md == SIGN__SHA1 ? "SHA1" : "SHA256";
}

static int hmac_keyed(EVP_MAC_CTX *ctx, sign__md md, const stream_key *key)
{
  char digest[8];
  memcpy(digest, md_name(md), strlen(md_name(md)) + 1);
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  return EVP_MAC_init(ctx, key->secret, key->len, params) == 1;
}

static EVP_MAC_CTX *hmac_ctx_for(sign__md md, const stream_key *key)
{
  hmac_cache *c = hmac_tl;
  if (!c) {
    c = calloc(1, sizeof *c);
    if (!c)
      return NULL;
    if (pthread_setspecific(hmac_tkey, c) != 0) {
      free(c);
      return NULL;
    }
    hmac_tl = c;
  }
  c->tick++;
  hmac_slot *victim = &c->slot[0];
  for (int i = 0; i < HMAC_SLOTS; i++) {
    hmac_slot *s = &c->slot[i];
    /* Plain memcmp: both sides are our own secrets, no attacker input. */
    if (s->ctx && s->md == md && s->len == key->len &&
        memcmp(s->secret, key->secret, key->len) == 0) {
      s->used = c->tick;
      /* A NULL key restarts from the stored inner/outer pad states. */
      if (EVP_MAC_init(s->ctx, NULL, 0, NULL) == 1 || hmac_keyed(s->ctx, md, key))
        return s->ctx;
      return NULL;
    }
    if (s->used < victim->used)
      victim = s;
  }
  if (!victim->ctx && !(victim->ctx = EVP_MAC_CTX_new(hmac_mac)))
    return NULL;
  victim->len = 0;
  if (!hmac_keyed(victim->ctx, md, key))
    return NULL;
  memcpy(victim->secret, key->secret, key->len);
  victim->md = md;
  victim->len = key->len;
  victim->used = c->tick;
  return victim->ctx;
}

int sign__hmac(unsigned char *out, size_t *out_len, sign__md md, const stream_key *key,
               const void *data, size_t len)
{
  pthread_once(&hmac_once, hmac_init_once);
  if (!hmac_mac) {
    ERR_clear_error();
    return stream__err(STREAM_ECRYPTO, "HMAC is not available from OpenSSL");
  }
  size_t want = md == SIGN__SHA1 ? SIGN__SHA1_LEN : SIGN__SHA256_LEN;
  EVP_MAC_CTX *ctx = hmac_ctx_for(md, key);
  size_t outl = 0;
  if (!ctx || EVP_MAC_update(ctx, data, len) != 1 ||
      EVP_MAC_final(ctx, out, &outl, SIGN__SHA256_LEN) != 1 || outl != want) {
    ERR_clear_error();
    return stream__err(STREAM_ECRYPTO, "HMAC-%s with key '%s' failed", md_name(md), key->id);
  }
  *out_len = outl;
  return STREAM_OK;
}

/* ---- addresses ------------------------------------------------------------ */

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int sign__ip_parse_addr(sign__ip *out, const char *s, size_t n, bool lenient)
{
  char buf[64];
  if (n == 0 || n >= sizeof buf - 3)
    return STREAM_EINVAL;
  memcpy(buf, s, n);
  buf[n] = '\0';
  memset(out, 0, sizeof *out);
  if (!memchr(buf, ':', n)) {
    if (inet_pton(AF_INET, buf, out->addr) != 1)
      return STREAM_EINVAL;
    out->family = 4;
    out->bits = 32;
    return STREAM_OK;
  }
  out->family = 6;
  out->bits = 128;
  if (inet_pton(AF_INET6, buf, out->addr) == 1)
    return STREAM_OK;
  if (!lenient || strstr(buf, "::") || buf[n - 1] == ':' || buf[0] == ':')
    return STREAM_EINVAL;
  size_t colons = 0;
  for (size_t i = 0; i < n; i++)
    colons += buf[i] == ':';
  if (colons >= 7)
    return STREAM_EINVAL;
  memcpy(buf + n, "::", 3);
  return inet_pton(AF_INET6, buf, out->addr) == 1 ? STREAM_OK : STREAM_EINVAL;
}

int sign__ip_parse_block(sign__ip *out, const char *s, size_t n, char sep, bool strict,
                         const char **why)
{
  const char *cut = memchr(s, sep, n);
  size_t alen = cut ? (size_t)(cut - s) : n;
  if (sign__ip_parse_addr(out, s, alen, !strict)) {
    *why = "not an IPv4 or IPv6 address";
    return STREAM_EINVAL;
  }
  if (strict && out->family == 6 && memcmp(out->addr, v4mapped, 12) == 0) {
    *why = "IPv4-mapped IPv6 address; write the IPv4 form";
    return STREAM_EINVAL;
  }
  if (!cut)
    return STREAM_OK;
  const char *b = cut + 1;
  size_t bl = n - alen - 1;
  int max = out->family == 4 ? 32 : 128, v = 0;
  if (bl == 0 || bl > 3 || (strict && bl > 1 && b[0] == '0')) {
    *why = "bad prefix length";
    return STREAM_EINVAL;
  }
  for (size_t i = 0; i < bl; i++) {
    if (b[i] < '0' || b[i] > '9') {
      *why = "bad prefix length";
      return STREAM_EINVAL;
    }
    v = v * 10 + (b[i] - '0');
  }
  if (v > max) {
    *why = "prefix length too long for the address family";
    return STREAM_EINVAL;
  }
  out->bits = v;
  if (!strict)
    return STREAM_OK;
  int bytes = out->family == 4 ? 4 : 16;
  for (int i = 0; i < bytes; i++) {
    int keep = v - i * 8;
    unsigned char mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (unsigned char)(0xff << (8 - keep));
    if (out->addr[i] & (unsigned char)~mask) {
      *why = "address has bits set beyond the prefix length";
      return STREAM_EINVAL;
    }
  }
  return STREAM_OK;
}

bool sign__ip_unmap(sign__ip *v4, const sign__ip *ip)
{
  if (ip->family != 6 || memcmp(ip->addr, v4mapped, 12) != 0)
    return false;
  memset(v4, 0, sizeof *v4);
  memcpy(v4->addr, ip->addr + 12, 4);
  v4->family = 4;
  v4->bits = 32;
  return true;
}

int sign__ip_parse_client(sign__ip *out, const char *s)
{
  size_t n = strnlen(s, INET6_ADDRSTRLEN + 1);
  if (sign__ip_parse_addr(out, s, n, false))
    return STREAM_EINVAL;
  sign__ip v4;
  if (sign__ip_unmap(&v4, out))
    *out = v4;
  return STREAM_OK;
}

size_t sign__ip_format(char *dst, const sign__ip *ip, char sep)
{
  char buf[INET6_ADDRSTRLEN];
  if (!inet_ntop(ip->family == 4 ? AF_INET : AF_INET6, ip->addr, buf, sizeof buf))
    buf[0] = '\0';
  size_t n = strlen(buf);
  memcpy(dst, buf, n);
  if (ip->bits != (ip->family == 4 ? 32 : 128)) {
    dst[n++] = sep;
    int b = ip->bits;
    if (b >= 100)
      dst[n++] = (char)('0' + b / 100);
    if (b >= 10)
      dst[n++] = (char)('0' + b / 10 % 10);
    dst[n++] = (char)('0' + b % 10);
  }
  dst[n] = '\0';
  return n;
}

bool sign__ip_contains(const sign__ip *block, const sign__ip *client)
{
  if (block->family != client->family)
    return false;
  int full = block->bits / 8, rest = block->bits % 8;
  if (memcmp(block->addr, client->addr, (size_t)full) != 0)
    return false;
  if (rest) {
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    if ((block->addr[full] & mask) != (client->addr[full] & mask))
      return false;
  }
  return true;
}

/* ---- URLs ------------------------------------------------------------------- */

/* 1 for bytes allowed in a URL we sign or verify: printable ASCII without
 * space, '#' and '\\'. A table: this runs over every byte of every request. */
static const unsigned char url_ok[256] = {
    ['!'] = 1, ['"'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['('] = 1, [')'] = 1,
    ['*'] = 1, ['+'] = 1, [','] = 1, ['-'] = 1, ['.'] = 1, ['/'] = 1,  ['0'] = 1, ['1'] = 1,
    ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,  ['8'] = 1, ['9'] = 1,
    [':'] = 1, [';'] = 1, ['<'] = 1, ['='] = 1, ['>'] = 1, ['?'] = 1,  ['@'] = 1, ['A'] = 1,
    ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,  ['H'] = 1, ['I'] = 1,
    ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1,  ['P'] = 1, ['Q'] = 1,
    ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1,  ['X'] = 1, ['Y'] = 1,
    ['Z'] = 1, ['['] = 1, [']'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1,  ['a'] = 1, ['b'] = 1,
    ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,  ['i'] = 1, ['j'] = 1,
    ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,  ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,  ['y'] = 1, ['z'] = 1,
    ['{'] = 1, ['|'] = 1, ['}'] = 1, ['~'] = 1};

/* Eight bytes at a time (SWAR): any byte < 0x21, > 0x7e, '#' or '\\'. */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
static uint64_t bad_bytes(uint64_t x)
{
  uint64_t lt = (x - ONES * 0x21) & ~x;
  uint64_t gt = (x + ONES * (127 - 0x7e)) | x;
  uint64_t h = x ^ (ONES * '#'), b = x ^ (ONES * '\\');
  return (lt | gt | ((h - ONES) & ~h) | ((b - ONES) & ~b)) & HIGHS;
}

bool sign__url_chars_ok(const char *s, size_t n)
{
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    memcpy(&x, s + i, 8);
    if (bad_bytes(x))
      return false;
  }
  unsigned char acc = 1;
  for (; i < n; i++)
    acc &= url_ok[(unsigned char)s[i]];
  return acc;
}

int sign__url_split(const char *s, size_t n, size_t *path_start, size_t *query, const char **why)
{
  size_t p;
  if (n >= 8 && memcmp(s, "https://", 8) == 0)
    p = 8;
  else if (n >= 7 && memcmp(s, "http://", 7) == 0)
    p = 7;
  else {
    *why = "not an absolute http:// or https:// URL (lowercase scheme)";
    return STREAM_EINVAL;
  }
  if (!sign__url_chars_ok(s, n)) {
    *why = "contains a space, control, non-ASCII, '#' or '\\' character";
    return STREAM_EINVAL;
  }
  size_t a = p;
  while (a < n && s[a] != '/' && s[a] != '?')
    a++;
  if (a == p) {
    *why = "has an empty host";
    return STREAM_EINVAL;
  }
  const char *q = memchr(s + a, '?', n - a);
  *query = q ? (size_t)(q - s) : n;
  *path_start = a < *query ? a : n;
  return STREAM_OK;
}

/* Whether a segment, once percent-decoded, is "." or "..". */
static bool dot_segment(const char *s, size_t n)
{
  size_t dots = 0;
  for (size_t i = 0; i < n;) {
    if (s[i] == '.')
      i++;
    else if (s[i] == '%' && i + 3 <= n && s[i + 1] == '2' && (s[i + 2] == 'e' || s[i + 2] == 'E'))
      i += 3;
    else
      return false;
    dots++;
  }
  return dots == 1 || dots == 2;
}

bool sign__path_safe(const char *path, size_t n)
{
  /* "%2F" ('/'), "%5C" ('\\') and "%00" in either case of the hex digit. */
  for (size_t i = 0; i + 2 < n; i++) {
    if (path[i] != '%')
      continue;
    char hi = path[i + 1], lo = (char)(path[i + 2] | 0x20);
    if ((hi == '2' && lo == 'f') || (hi == '5' && lo == 'c') || (hi == '0' && path[i + 2] == '0'))
      return false;
  }
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || path[i] == '/') {
      if (dot_segment(path + start, i - start))
        return false;
      start = i + 1;
    }
  }
  return true;
}

bool sign__parse_decimal(int64_t *out, const char *s, size_t n, size_t max_digits, bool canonical,
                         int64_t max)
{
  if (n == 0 || n > max_digits || (canonical && s[0] == '0'))
    return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return false;
    v = v * 10 + (s[i] - '0');
  }
  if (v <= 0 || v > max)
    return false;
  *out = v;
  return true;
}

int sign__reason_code(int reason)
{
  switch (reason) {
  case STREAM_SIGN_VALID:
    return STREAM_OK;
  case STREAM_SIGN_EXPIRED:
  case STREAM_SIGN_NOT_YET_VALID:
    return STREAM_EEXPIRED;
  case STREAM_SIGN_BAD_SIGNATURE:
  case STREAM_SIGN_UNKNOWN_KEY:
    return STREAM_EAUTH;
  case STREAM_SIGN_OUTSIDE_PREFIX:
  case STREAM_SIGN_IP_MISMATCH:
    return STREAM_EFORBIDDEN;
  default:
    return STREAM_EINVAL;
  }
}

bool sign__key_id_ok(const char *s, size_t n)
{
  if (n == 0 || n > STREAM_KEY_ID_MAX)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.'))
      return false;
  }
  return true;
}

bool sign__wildcard_match(const char *g, size_t gn, const char *s, size_t sn, bool question)
{
  size_t gi = 0, si = 0, star = (size_t)-1, mark = 0;
  while (si < sn) {
    if (gi < gn && g[gi] == '*') {
      star = gi++;
      mark = si;
    } else if (gi < gn && ((question && g[gi] == '?') || g[gi] == s[si])) {
      gi++;
      si++;
    } else if (star != (size_t)-1) {
      gi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (gi < gn && g[gi] == '*')
    gi++;
  return gi == gn;
}

int sign__outcome_v(int *out_reason, int reason, const char *fmt, va_list ap)
{
  *out_reason = reason;
  int code = sign__reason_code(reason);
  if (code == STREAM_OK)
    return STREAM_OK;
  char msg[400];
  vsnprintf(msg, sizeof msg, fmt, ap);
  return stream__err(code, "%s", msg);
}
