/*
 * cmcd: CTA-5004 (CMCD version 1) payloads. Owns the key table (name, value
 * type, header shard), the parser of the RFC 8941 dictionary subset CMCD
 * uses (one pass over the bytes, into a copy of the struct: a payload is at most
 * STREAM_CMCD_PAYLOAD_MAX bytes), and the formatter with the rounding rules
 * of CTA-5004 (shared/design/standards.md §8.1). Wire rules and the vector:
 * docs/api/cmcd.md; change both together.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "stream/cmcd.h"

#define INT_DIGITS_MAX 15 /* RFC 8941 §3.3.1 */
#define DEC_INT_DIGITS_MAX 12
#define DEC_FRAC_DIGITS_MAX 3
#define INT_MAX_VALUE 999999999999999LL
#define NOR_WIRE_MAX (STREAM_CMCD_NOR_MAX * 3)

/* Value types of the version 1 keys. */
typedef enum { T_INT, T_DUR, T_RATE, T_TOKEN, T_STRING, T_NOR, T_RANGE, T_BOOL } vtype;
/* Header shards, in the order STREAM_CMCD_HEADERS writes them. */
enum { SH_OBJECT, SH_REQUEST, SH_SESSION, SH_STATUS, SH_COUNT };
static const char *const shard_names[SH_COUNT] = {"CMCD-Object", "CMCD-Request", "CMCD-Session",
                                                  "CMCD-Status"};

/* The version 1 keys in alphabetical order (the order they are written in). */
typedef enum {
  K_BL,
  K_BR,
  K_BS,
  K_CID,
  K_D,
  K_DL,
  K_MTP,
  K_NOR,
  K_NRR,
  K_OT,
  K_PR,
  K_RTP,
  K_SF,
  K_SID,
  K_ST,
  K_SU,
  K_TB,
  K_V,
  K_COUNT
} key_id;

static const struct keydef {
  const char *name;
  vtype type;
  int shard;
} keys[K_COUNT] = {
    [K_BL] = {"bl", T_INT, SH_REQUEST},     [K_BR] = {"br", T_INT, SH_OBJECT},
    [K_BS] = {"bs", T_BOOL, SH_STATUS},     [K_CID] = {"cid", T_STRING, SH_SESSION},
    [K_D] = {"d", T_DUR, SH_OBJECT},        [K_DL] = {"dl", T_INT, SH_REQUEST},
    [K_MTP] = {"mtp", T_INT, SH_REQUEST},   [K_NOR] = {"nor", T_NOR, SH_REQUEST},
    [K_NRR] = {"nrr", T_RANGE, SH_REQUEST}, [K_OT] = {"ot", T_TOKEN, SH_OBJECT},
    [K_PR] = {"pr", T_RATE, SH_SESSION},    [K_RTP] = {"rtp", T_INT, SH_STATUS},
    [K_SF] = {"sf", T_TOKEN, SH_SESSION},   [K_SID] = {"sid", T_STRING, SH_SESSION},
    [K_ST] = {"st", T_TOKEN, SH_SESSION},   [K_SU] = {"su", T_BOOL, SH_REQUEST},
    [K_TB] = {"tb", T_INT, SH_OBJECT},      [K_V] = {"v", T_INT, SH_SESSION},
};

/* The token values each token key may take (CTA-5004; "ll" is CTA-5004-B's low-latency live). */
static const char *const ot_values[] = {"m", "a", "v", "av", "i", "c", "tt", "k", "o", NULL};
static const char *const sf_values[] = {"d", "h", "s", "o", NULL};
static const char *const st_values[] = {"v", "l", "ll", NULL};

static int key_lookup(const char *name, size_t n)
{
  for (int k = 0; k < K_COUNT; k++)
    if (strlen(keys[k].name) == n && memcmp(keys[k].name, name, n) == 0)
      return k;
  return -1;
}

static const char *const *token_set(int k)
{
  return k == K_OT ? ot_values : k == K_SF ? sf_values : st_values;
}

static int in_set(const char *const *set, const char *v, size_t n)
{
  for (; *set; set++)
    if (strlen(*set) == n && memcmp(*set, v, n) == 0)
      return 1;
  return 0;
}

/* ---- character classes (RFC 8941 §3.1.2, §3.3.4, RFC 9110 tchar) -------- */

static int is_lcalpha(int c)
{
  return c >= 'a' && c <= 'z';
}
static int is_alpha(int c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static int is_digit(int c)
{
  return c >= '0' && c <= '9';
}
static int is_keychar(int c)
{
  return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '.' || c == '*';
}
static int is_tchar(int c)
{
  return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}
static int is_tokenchar(int c)
{
  return is_tchar(c) || c == ':' || c == '/';
}

static int key_name_ok(const char *s, size_t n)
{
  if (n == 0 || n > STREAM_CMCD_KEY_MAX || !(is_lcalpha((unsigned char)s[0]) || s[0] == '*'))
    return 0;
  for (size_t i = 1; i < n; i++)
    if (!is_keychar((unsigned char)s[i]))
      return 0;
  return 1;
}

static int token_ok(const char *s, size_t n)
{
  if (n == 0 || !(is_alpha((unsigned char)s[0]) || s[0] == '*'))
    return 0;
  for (size_t i = 1; i < n; i++)
    if (!is_tokenchar((unsigned char)s[i]))
      return 0;
  return 1;
}

/* nrr: "<start>-", "<start>-<end>" or "-<suffix>", digits only, start <= end. */
static int range_ok(const char *s, size_t n)
{
  const char *dash = memchr(s, '-', n);
  if (!dash)
    return 0;
  size_t a = (size_t)(dash - s), b = n - a - 1;
  if ((a == 0 && b == 0) || a > INT_DIGITS_MAX || b > INT_DIGITS_MAX)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (i != a && !is_digit((unsigned char)s[i]))
      return 0;
  if (a && b) {
    long long x = strtoll(s, NULL, 10), y = strtoll(dash + 1, NULL, 10);
    if (x > y)
      return 0;
  }
  return 1;
}

/* ---- parsing ------------------------------------------------------------ */

/* One bare item as read from the wire. */
typedef struct item {
  int type;                    /* stream_cmcd_type */
  int64_t i;                   /* INTEGER */
  double dec;                  /* DECIMAL (and INTEGER) */
  int boolean;                 /* BOOLEAN */
  char text[NOR_WIRE_MAX + 1]; /* STRING (unescaped), TOKEN, number text */
  size_t len;
} item;

typedef struct parser {
  const char *s;
  size_t n, pos;
  const char *key; /* the member being read, for messages */
  size_t key_len;
} parser;

static int perr(const parser *p, size_t at, const char *why)
{
  if (p->key)
    return stream__err(STREAM_EPROTO, "CMCD: offset %zu (key '%.*s'): %s", at, (int)p->key_len,
                       p->key, why);
  return stream__err(STREAM_EPROTO, "CMCD: offset %zu: %s", at, why);
}

static void skip_ows(parser *p)
{
  while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
    p->pos++;
}

static int parse_number(parser *p, item *it)
{
  size_t start = p->pos, digits = 0, frac = 0;
  int dot = 0;
  if (p->s[p->pos] == '-')
    p->pos++;
  if (p->pos >= p->n || !is_digit((unsigned char)p->s[p->pos]))
    return perr(p, p->pos, "a '-' not followed by a digit");
  while (p->pos < p->n) {
    char c = p->s[p->pos];
    if (is_digit((unsigned char)c)) {
      if (dot)
        frac++;
      else
        digits++;
    } else if (c == '.' && !dot) {
      if (digits > DEC_INT_DIGITS_MAX)
        return perr(p, p->pos, "a decimal with more than 12 integer digits");
      dot = 1;
    } else {
      break;
    }
    if (!dot && digits > INT_DIGITS_MAX)
      return perr(p, p->pos, "an integer with more than 15 digits");
    if (dot && frac > DEC_FRAC_DIGITS_MAX)
      return perr(p, p->pos, "a decimal with more than 3 fraction digits");
    p->pos++;
  }
  if (dot && frac == 0)
    return perr(p, p->pos, "a decimal without fraction digits");
  it->len = p->pos - start;
  memcpy(it->text, p->s + start, it->len);
  it->text[it->len] = '\0';
  it->dec = strtod(it->text, NULL);
  if (dot) {
    it->type = STREAM_CMCD_DECIMAL;
  } else {
    it->type = STREAM_CMCD_INTEGER;
    it->i = strtoll(it->text, NULL, 10);
  }
  return STREAM_OK;
}

static int parse_string(parser *p, item *it)
{
  size_t start = p->pos++;
  it->len = 0;
  while (p->pos < p->n) {
    unsigned char c = (unsigned char)p->s[p->pos];
    if (c == '"') {
      p->pos++;
      it->type = STREAM_CMCD_STRING;
      it->text[it->len] = '\0';
      return STREAM_OK;
    }
    if (c == '\\') {
      if (p->pos + 1 >= p->n)
        return perr(p, p->pos, "a string ends in a backslash");
      c = (unsigned char)p->s[p->pos + 1];
      if (c != '"' && c != '\\')
        return perr(p, p->pos, "a backslash escapes neither '\"' nor '\\'");
      p->pos++;
    } else if (c < 0x20 || c > 0x7e) {
      return perr(p, p->pos, "a string holds a control or non-ASCII byte");
    }
    if (it->len == NOR_WIRE_MAX)
      return perr(p, start, "a string is too long");
    it->text[it->len++] = (char)c;
    p->pos++;
  }
  return perr(p, start, "a string without its closing '\"'");
}

static void item_reset(item *it)
{
  it->type = 0;
  it->i = 0;
  it->dec = 0;
  it->boolean = 0;
  it->len = 0;
  it->text[0] = '\0';
}

static int parse_item(parser *p, item *it)
{
  item_reset(it);
  if (p->pos >= p->n)
    return perr(p, p->pos, "'=' without a value");
  unsigned char c = (unsigned char)p->s[p->pos];
  if (c == '-' || is_digit(c))
    return parse_number(p, it);
  if (c == '"')
    return parse_string(p, it);
  if (is_alpha(c) || c == '*') {
    size_t start = p->pos;
    while (p->pos < p->n && is_tokenchar((unsigned char)p->s[p->pos]))
      p->pos++;
    it->len = p->pos - start;
    if (it->len > STREAM_CMCD_STRING_MAX)
      return perr(p, start, "a token is longer than 64 characters");
    memcpy(it->text, p->s + start, it->len);
    it->text[it->len] = '\0';
    it->type = STREAM_CMCD_TOKEN;
    return STREAM_OK;
  }
  if (c == '?') {
    if (p->pos + 1 < p->n && (p->s[p->pos + 1] == '0' || p->s[p->pos + 1] == '1')) {
      it->type = STREAM_CMCD_BOOLEAN;
      it->boolean = p->s[p->pos + 1] == '1';
      p->pos += 2;
      return STREAM_OK;
    }
    return perr(p, p->pos, "a boolean that is neither ?0 nor ?1");
  }
  if (c == '(')
    return perr(p, p->pos, "an inner list (CMCD version 2 syntax) is not supported");
  if (c == ':')
    return perr(p, p->pos, "a byte sequence is not a CMCD value");
  return perr(p, p->pos, "not a value");
}

static const char *type_name(int t)
{
  switch (t) {
  case STREAM_CMCD_BOOLEAN:
    return "a boolean";
  case STREAM_CMCD_INTEGER:
    return "an integer";
  case STREAM_CMCD_DECIMAL:
    return "a decimal";
  case STREAM_CMCD_STRING:
    return "a string";
  default:
    return "a token";
  }
}

static int wrong_type(const parser *p, size_t at, const char *want, const item *it)
{
  char why[96];
  snprintf(why, sizeof why, "expected %s, got %s", want, type_name(it->type));
  return perr(p, at, why);
}

/* URL-decode nor (its wire form is a URL-encoded relative URL). */
static int decode_nor(const parser *p, size_t at, char *dst, const char *s, size_t n)
{
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
    if (c == '%') {
      int h = i + 2 < n ? stream__hex_val((unsigned char)s[i + 1]) : -1;
      int l = h >= 0 ? stream__hex_val((unsigned char)s[i + 2]) : -1;
      if (h < 0 || l < 0)
        return perr(p, at, "nor holds a '%' not followed by two hex digits");
      c = h * 16 + l;
      if (c < 0x20 || c == 0x7f)
        return perr(p, at, "nor decodes to a control byte");
      i += 2;
    }
    if (o == STREAM_CMCD_NOR_MAX)
      return perr(p, at, "nor is longer than 256 bytes");
    dst[o++] = (char)c;
  }
  dst[o] = '\0';
  if (!stream__utf8_valid(dst, o))
    return perr(p, at, "nor decodes to bytes that are not UTF-8");
  return STREAM_OK;
}

/* Store the value of v1 key `k` read at `at`. */
static int set_key(stream_cmcd *c, const parser *p, size_t at, int k, const item *it)
{
  switch (keys[k].type) {
  case T_INT:
  case T_DUR:
    if (it->type != STREAM_CMCD_INTEGER)
      return wrong_type(p, at, "an integer", it);
    if (it->i < 0)
      return perr(p, at, "a negative number");
    switch (k) {
    case K_BL:
      c->bl = it->i;
      break;
    case K_BR:
      c->br = it->i;
      break;
    case K_D:
      c->d = (double)it->i;
      break;
    case K_DL:
      c->dl = it->i;
      break;
    case K_MTP:
      c->mtp = it->i;
      break;
    case K_RTP:
      c->rtp = it->i;
      break;
    case K_TB:
      c->tb = it->i;
      break;
    default:
      c->v = it->i;
      break;
    }
    return STREAM_OK;
  case T_RATE:
    if (it->type != STREAM_CMCD_INTEGER && it->type != STREAM_CMCD_DECIMAL)
      return wrong_type(p, at, "a decimal", it);
    if (it->dec < 0)
      return perr(p, at, "a negative number");
    /* An integer pr may have 15 digits; a decimal, which pr is formatted as, only 12. */
    if (it->dec >= 1e12)
      return perr(p, at, "a rate of 10^12 or more (a decimal has at most 12 integer digits)");
    c->pr = it->dec;
    return STREAM_OK;
  case T_BOOL:
    if (it->type != STREAM_CMCD_BOOLEAN)
      return wrong_type(p, at, "a boolean", it);
    if (k == K_BS)
      c->bs = it->boolean;
    else
      c->su = it->boolean;
    return STREAM_OK;
  case T_TOKEN: {
    if (it->type != STREAM_CMCD_TOKEN)
      return wrong_type(p, at, "a token", it);
    if (!in_set(token_set(k), it->text, it->len))
      return perr(p, at, "a token outside the values CTA-5004 defines for this key");
    char *dst = k == K_OT ? c->ot : k == K_SF ? c->sf : c->st;
    memcpy(dst, it->text, it->len + 1);
    return STREAM_OK;
  }
  case T_NOR:
    if (it->type != STREAM_CMCD_STRING)
      return wrong_type(p, at, "a string", it);
    return decode_nor(p, at, c->nor, it->text, it->len);
  case T_RANGE:
    if (it->type != STREAM_CMCD_STRING)
      return wrong_type(p, at, "a string", it);
    if (it->len && !range_ok(it->text, it->len))
      return perr(p, at, "nrr is not \"<start>-\", \"<start>-<end>\" or \"-<suffix>\"");
    memcpy(c->nrr, it->text, it->len + 1);
    return STREAM_OK;
  default: /* T_STRING */
    if (it->type != STREAM_CMCD_STRING)
      return wrong_type(p, at, "a string", it);
    if (it->len > STREAM_CMCD_STRING_MAX)
      return perr(p, at, "a string longer than 64 characters");
    memcpy(k == K_SID ? c->sid : c->cid, it->text, it->len + 1);
    return STREAM_OK;
  }
}

/* Whether v1 key `k` already holds a value in `c` (false booleans cannot be told apart). */
static int key_present(const stream_cmcd *c, int k)
{
  switch (k) {
  case K_BL:
    return c->bl >= 0;
  case K_BR:
    return c->br >= 0;
  case K_BS:
    return c->bs != 0;
  case K_CID:
    return c->cid[0] != '\0';
  case K_D:
    return c->d >= 0;
  case K_DL:
    return c->dl >= 0;
  case K_MTP:
    return c->mtp >= 0;
  case K_NOR:
    return c->nor[0] != '\0';
  case K_NRR:
    return c->nrr[0] != '\0';
  case K_OT:
    return c->ot[0] != '\0';
  case K_PR:
    return c->pr >= 0;
  case K_RTP:
    return c->rtp >= 0;
  case K_SF:
    return c->sf[0] != '\0';
  case K_SID:
    return c->sid[0] != '\0';
  case K_ST:
    return c->st[0] != '\0';
  case K_SU:
    return c->su != 0;
  case K_TB:
    return c->tb >= 0;
  default:
    return c->v >= 0;
  }
}

static int set_extra(stream_cmcd *c, const parser *p, size_t at, const item *it)
{
  for (size_t i = 0; i < c->n_extra && i < STREAM_CMCD_EXTRA_MAX; i++)
    if (strlen(c->extra[i].key) == p->key_len && memcmp(c->extra[i].key, p->key, p->key_len) == 0)
      return perr(p, at, "the key is given twice");
  if (it->type == STREAM_CMCD_STRING && it->len > STREAM_CMCD_STRING_MAX)
    return perr(p, at, "a string longer than 64 characters");
  if (c->n_extra < STREAM_CMCD_EXTRA_MAX) {
    stream_cmcd_extra *e = &c->extra[c->n_extra];
    memcpy(e->key, p->key, p->key_len);
    e->key[p->key_len] = '\0';
    e->type = it->type;
    if (it->type == STREAM_CMCD_BOOLEAN) {
      if (!it->boolean)
        return STREAM_OK; /* false is the same as absent */
      e->value[0] = '\0';
    } else {
      memcpy(e->value, it->text, it->len + 1);
    }
  } else if (it->type == STREAM_CMCD_BOOLEAN && !it->boolean) {
    return STREAM_OK;
  }
  c->n_extra++;
  return STREAM_OK;
}

static int parse_into(stream_cmcd *c, parser *p)
{
  unsigned int seen = 0; /* v1 keys of this payload */
  while (p->pos < p->n && p->s[p->pos] == ' ')
    p->pos++;
  size_t end = p->n;
  while (end > p->pos && p->s[end - 1] == ' ')
    end--;
  p->n = end;
  if (p->pos == p->n)
    return STREAM_OK; /* an empty dictionary */
  for (;;) {
    size_t at = p->pos;
    p->key = NULL;
    while (p->pos < p->n && is_keychar((unsigned char)p->s[p->pos]))
      p->pos++;
    size_t kl = p->pos - at;
    if (kl == 0 || !key_name_ok(p->s + at, kl))
      return perr(p, at,
                  kl > STREAM_CMCD_KEY_MAX
                      ? "a key longer than 64 characters"
                      : "expected a key (lowercase letter or '*', then [a-z0-9_.*-])");
    p->key = p->s + at;
    p->key_len = kl;
    item it;
    if (p->pos < p->n && p->s[p->pos] == '=') {
      p->pos++;
      int rc = parse_item(p, &it);
      if (rc)
        return rc;
    } else {
      item_reset(&it);
      it.type = STREAM_CMCD_BOOLEAN;
      it.boolean = 1;
    }
    if (p->pos < p->n && p->s[p->pos] == ';')
      return perr(p, p->pos, "parameters (';') are not part of CMCD");
    int k = key_lookup(p->key, kl);
    if (k >= 0) {
      if ((seen & (1u << k)) || key_present(c, k))
        return perr(p, at, "the key is given twice");
      seen |= 1u << k;
      int rc = set_key(c, p, at, k, &it);
      if (rc)
        return rc;
    } else {
      int rc = set_extra(c, p, at, &it);
      if (rc)
        return rc;
    }
    p->key = NULL;
    skip_ows(p);
    if (p->pos == p->n)
      return STREAM_OK;
    if (p->s[p->pos] != ',')
      return perr(p, p->pos, "expected ',' between members");
    p->pos++;
    skip_ows(p);
    if (p->pos == p->n)
      return perr(p, p->pos, "a trailing ','");
  }
}

int stream_cmcd_init(stream_cmcd *c)
{
  if (!c)
    return stream__err(STREAM_EINVAL, "stream_cmcd_init: c is NULL");
  memset(c, 0, sizeof *c);
  c->version = STREAM_CMCD_VERSION;
  c->br = c->tb = c->bl = c->dl = c->mtp = c->rtp = c->v = -1;
  c->d = -1;
  c->pr = -1;
  return STREAM_OK;
}

int stream_cmcd_parse(stream_cmcd *c, const char *payload, size_t len)
{
  if (!c || !payload)
    return stream__err(STREAM_EINVAL, "stream_cmcd_parse: %s is NULL", c ? "payload" : "c");
  if (c->version != STREAM_CMCD_VERSION)
    return stream__err(STREAM_EINVAL,
                       "stream_cmcd_parse: c has version %u, not %d (set it up with "
                       "stream_cmcd_init)",
                       c->version, STREAM_CMCD_VERSION);
  if (len > STREAM_CMCD_PAYLOAD_MAX)
    return stream__err(STREAM_EPROTO, "CMCD: payload of %zu bytes is over the %d-byte maximum", len,
                       STREAM_CMCD_PAYLOAD_MAX);
  /* Parse into a copy, so that a refused payload leaves `c` as it was. */
  stream_cmcd *tmp = malloc(sizeof *tmp);
  if (!tmp)
    return stream__err(STREAM_ENOMEM, "stream_cmcd_parse: out of memory");
  *tmp = *c;
  parser p = {payload, len, 0, NULL, 0};
  int rc = parse_into(tmp, &p);
  if (rc == STREAM_OK)
    *c = *tmp;
  free(tmp);
  return rc;
}

int stream_cmcd_parse_query(stream_cmcd *c, const char *query)
{
  if (!c || !query)
    return stream__err(STREAM_EINVAL, "stream_cmcd_parse_query: %s is NULL", c ? "query" : "c");
  const char *arg = NULL;
  size_t arg_len = 0;
  for (const char *s = query; *s;) {
    size_t n = strcspn(s, "&");
    if ((n == 4 || (n > 4 && s[4] == '=')) && memcmp(s, "CMCD", 4) == 0) {
      if (arg)
        return stream__err(STREAM_EPROTO, "CMCD: the query has more than one CMCD argument");
      arg = n > 4 ? s + 5 : s + 4;
      arg_len = n > 4 ? n - 5 : 0;
    }
    s += n;
    if (*s == '&')
      s++;
  }
  if (!arg)
    return stream__err(STREAM_ENOTFOUND, "CMCD: the query has no CMCD argument");
  if (arg_len > STREAM_CMCD_PAYLOAD_MAX * 3)
    return stream__err(STREAM_EPROTO, "CMCD: the CMCD argument is over %d bytes",
                       STREAM_CMCD_PAYLOAD_MAX * 3);
  char buf[STREAM_CMCD_PAYLOAD_MAX + 1];
  size_t o = 0;
  for (size_t i = 0; i < arg_len; i++) {
    int ch = (unsigned char)arg[i];
    if (ch == '%') {
      int h = -1;
      if (i + 2 < arg_len) {
        h = stream__hex_val((unsigned char)arg[i + 1]);
        int l = h >= 0 ? stream__hex_val((unsigned char)arg[i + 2]) : -1;
        h = l >= 0 ? h * 16 + l : -1;
      }
      if (h < 0)
        return stream__err(STREAM_EPROTO,
                           "CMCD: offset %zu of the CMCD argument: '%%' not followed by two hex "
                           "digits",
                           i);
      ch = h;
      i += 2;
    }
    if (o == STREAM_CMCD_PAYLOAD_MAX)
      return stream__err(STREAM_EPROTO, "CMCD: the decoded CMCD argument is over %d bytes",
                         STREAM_CMCD_PAYLOAD_MAX);
    buf[o++] = (char)ch;
  }
  buf[o] = '\0';
  return stream_cmcd_parse(c, buf, o);
}

/* ---- formatting --------------------------------------------------------- */

typedef struct member {
  const char *name;
  int shard;
  char text[NOR_WIRE_MAX + STREAM_CMCD_KEY_MAX + 8]; /* "name=value" or "name" */
} member;

/* To the nearest 100, half up; the top 50 values, which would round to 10^15 (16 digits, past
 * what an RFC 8941 integer can hold and the parser takes), go down to the last multiple below. */
static int64_t round100(int64_t x)
{
  int64_t r = (x + 50) / 100 * 100;
  return r > INT_MAX_VALUE ? r - 100 : r;
}

/* encodeURIComponent: everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ) as %XX. */
static size_t uri_encode(char *dst, const char *s, size_t n)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (is_alpha(c) || is_digit(c) || (c && strchr("-_.!~*'()", c))) {
      dst[o++] = (char)c;
    } else {
      dst[o++] = '%';
      dst[o++] = hex[c >> 4];
      dst[o++] = hex[c & 15];
    }
  }
  dst[o] = '\0';
  return o;
}

static int put_string(char *dst, size_t cap, const char *name, const char *v)
{
  size_t o = (size_t)snprintf(dst, cap, "%s=\"", name);
  for (; *v; v++) {
    if (*v == '"' || *v == '\\')
      dst[o++] = '\\';
    dst[o++] = *v;
  }
  dst[o++] = '"';
  dst[o] = '\0';
  return STREAM_OK;
}

static int printable_ok(const char *v)
{
  for (; *v; v++)
    if ((unsigned char)*v < 0x20 || (unsigned char)*v > 0x7e)
      return 0;
  return 1;
}

static int int_ok(const char *v)
{
  size_t i = v[0] == '-' ? 1 : 0, d = 0;
  for (; v[i]; i++, d++)
    if (!is_digit((unsigned char)v[i]))
      return 0;
  return d >= 1 && d <= INT_DIGITS_MAX;
}

static int dec_ok(const char *v)
{
  const char *dot = strchr(v, '.');
  if (!dot)
    return 0;
  size_t i = v[0] == '-' ? 1 : 0, a = (size_t)(dot - v) - i, f = strlen(dot + 1);
  if (a < 1 || a > DEC_INT_DIGITS_MAX || f < 1 || f > DEC_FRAC_DIGITS_MAX)
    return 0;
  for (; v[i]; i++)
    if (v + i != dot && !is_digit((unsigned char)v[i]))
      return 0;
  return 1;
}

static int bad(const char *key, const char *why)
{
  return stream__err(STREAM_EINVAL, "stream_cmcd_format: %s %s", key, why);
}

/* Render the present v1 keys and the extras into m[]; *count set. */
static int collect(member *m, size_t *count, const stream_cmcd *c)
{
  size_t n = 0;
  for (int k = 0; k < K_COUNT; k++) {
    const char *name = keys[k].name;
    member *e = &m[n];
    e->name = name;
    e->shard = keys[k].shard;
    const size_t cap = sizeof e->text;
    int64_t iv = -2;
    switch (k) {
    case K_BL:
      iv = c->bl;
      break;
    case K_BR:
      iv = c->br;
      break;
    case K_DL:
      iv = c->dl;
      break;
    case K_MTP:
      iv = c->mtp;
      break;
    case K_RTP:
      iv = c->rtp;
      break;
    case K_TB:
      iv = c->tb;
      break;
    case K_V:
      iv = c->v;
      break;
    default:
      break;
    }
    if (iv != -2) {
      if (iv == -1 || (k == K_V && iv == 1))
        continue;
      if (iv < 0 || iv > INT_MAX_VALUE)
        return bad(name, "is neither -1 (absent) nor 0..999999999999999");
      if (k == K_BL || k == K_DL || k == K_MTP || k == K_RTP)
        iv = round100(iv);
      snprintf(e->text, cap, "%s=%lld", name, (long long)iv);
      n++;
      continue;
    }
    switch (k) {
    case K_D:
      if (c->d == -1)
        continue;
      if (!(c->d >= 0 && c->d < 999999999999999.5))
        return bad(name, "is neither -1 (absent) nor a duration of 0..999999999999999 ms");
      snprintf(e->text, cap, "d=%lld", (long long)floor(c->d + 0.5));
      break;
    case K_PR: {
      if (c->pr == -1 || c->pr == 1)
        continue;
      if (!(c->pr >= 0 && c->pr < 999999999999.9995))
        return bad(name, "is neither -1 (absent) nor a rate of 0..999999999999.999");
      char num[64];
      snprintf(num, sizeof num, "%.3f", c->pr);
      size_t l = strlen(num);
      while (num[l - 1] == '0' && num[l - 2] != '.')
        num[--l] = '\0';
      snprintf(e->text, cap, "pr=%s", num);
      break;
    }
    case K_BS:
    case K_SU: {
      int b = k == K_BS ? c->bs : c->su;
      if (b != 0 && b != 1)
        return bad(name, "is neither 0 nor 1");
      if (!b)
        continue;
      snprintf(e->text, cap, "%s", name);
      break;
    }
    case K_OT:
    case K_SF:
    case K_ST: {
      const char *v = k == K_OT ? c->ot : k == K_SF ? c->sf : c->st;
      size_t cap_v = k == K_SF ? sizeof c->sf : sizeof c->ot;
      size_t l = strnlen(v, cap_v);
      if (l == cap_v)
        return bad(name, "is not NUL-terminated");
      if (l == 0)
        continue;
      if (!in_set(token_set(k), v, l))
        return bad(name, "is not one of the values CTA-5004 defines for it");
      snprintf(e->text, cap, "%s=%s", name, v);
      break;
    }
    case K_NOR: {
      size_t l = strnlen(c->nor, sizeof c->nor);
      if (l == sizeof c->nor)
        return bad(name, "is not NUL-terminated");
      if (l == 0)
        continue;
      if (!stream__utf8_valid(c->nor, l))
        return bad(name, "is not UTF-8");
      for (size_t i = 0; i < l; i++)
        if ((unsigned char)c->nor[i] < 0x20 || c->nor[i] == 0x7f)
          return bad(name, "holds a control byte");
      char enc[NOR_WIRE_MAX + 1];
      uri_encode(enc, c->nor, l);
      snprintf(e->text, cap, "nor=\"%s\"", enc);
      break;
    }
    default: { /* cid, nrr, sid */
      const char *v = k == K_CID ? c->cid : k == K_NRR ? c->nrr : c->sid;
      size_t l = strnlen(v, STREAM_CMCD_STRING_MAX + 1);
      if (l > STREAM_CMCD_STRING_MAX)
        return bad(name, "is not NUL-terminated");
      if (l == 0)
        continue;
      if (!printable_ok(v))
        return bad(name, "holds a control or non-ASCII byte");
      if (k == K_NRR && !range_ok(v, l))
        return bad(name, "is not \"<start>-\", \"<start>-<end>\" or \"-<suffix>\"");
      put_string(e->text, cap, name, v);
      break;
    }
    }
    n++;
  }
  /* n_extra counts the keys the parser saw; only the kept ones are written. */
  size_t ne = c->n_extra < STREAM_CMCD_EXTRA_MAX ? c->n_extra : STREAM_CMCD_EXTRA_MAX;
  for (size_t i = 0; i < ne; i++) {
    const stream_cmcd_extra *x = &c->extra[i];
    size_t kl = strnlen(x->key, sizeof x->key);
    if (kl == sizeof x->key || !key_name_ok(x->key, kl))
      return stream__err(STREAM_EINVAL, "stream_cmcd_format: extra key %zu is not a valid key name",
                         i);
    if (key_lookup(x->key, kl) >= 0)
      return stream__err(STREAM_EINVAL,
                         "stream_cmcd_format: extra key '%s' is a version 1 key; set its field",
                         x->key);
    for (size_t j = 0; j < i; j++)
      if (strcmp(c->extra[j].key, x->key) == 0)
        return stream__err(STREAM_EINVAL, "stream_cmcd_format: extra key '%s' is given twice",
                           x->key);
    size_t vl = strnlen(x->value, sizeof x->value);
    if (vl == sizeof x->value)
      return stream__err(STREAM_EINVAL, "stream_cmcd_format: extra key '%s': value not terminated",
                         x->key);
    member *e = &m[n];
    e->name = x->key;
    e->shard = SH_REQUEST;
    const size_t cap = sizeof e->text;
    switch (x->type) {
    case STREAM_CMCD_BOOLEAN:
      snprintf(e->text, cap, "%s", x->key);
      break;
    case STREAM_CMCD_INTEGER:
      if (!int_ok(x->value))
        return stream__err(STREAM_EINVAL, "stream_cmcd_format: extra key '%s': not an integer",
                           x->key);
      snprintf(e->text, cap, "%s=%s", x->key, x->value);
      break;
    case STREAM_CMCD_DECIMAL:
      if (!dec_ok(x->value))
        return stream__err(STREAM_EINVAL, "stream_cmcd_format: extra key '%s': not a decimal",
                           x->key);
      snprintf(e->text, cap, "%s=%s", x->key, x->value);
      break;
    case STREAM_CMCD_STRING:
      if (!printable_ok(x->value))
        return stream__err(STREAM_EINVAL,
                           "stream_cmcd_format: extra key '%s': control or non-ASCII byte", x->key);
      if (vl == 0)
        continue;
      put_string(e->text, cap, x->key, x->value);
      break;
    case STREAM_CMCD_TOKEN:
      if (!token_ok(x->value, vl))
        return stream__err(STREAM_EINVAL, "stream_cmcd_format: extra key '%s': not a token",
                           x->key);
      snprintf(e->text, cap, "%s=%s", x->key, x->value);
      break;
    default:
      return stream__err(STREAM_EINVAL, "stream_cmcd_format: extra key '%s': unknown type %d",
                         x->key, x->type);
    }
    n++;
  }
  *count = n;
  return STREAM_OK;
}

static int by_name(const void *a, const void *b)
{
  return strcmp(((const member *)a)->name, ((const member *)b)->name);
}

/* Join the members of `shard` (-1: all) with ','. */
static size_t join(char *dst, const member *m, size_t n, int shard)
{
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (shard >= 0 && m[i].shard != shard)
      continue;
    size_t l = strlen(m[i].text);
    if (o + l + 1 > STREAM_CMCD_PAYLOAD_MAX + 1)
      return STREAM_CMCD_PAYLOAD_MAX + 1;
    if (o)
      dst[o++] = ',';
    memcpy(dst + o, m[i].text, l);
    o += l;
  }
  dst[o] = '\0';
  return o;
}

int stream_cmcd_format(char **out, const stream_cmcd *c, int mode)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_cmcd_format: out is NULL");
  *out = NULL;
  if (!c)
    return stream__err(STREAM_EINVAL, "stream_cmcd_format: c is NULL");
  if (mode != STREAM_CMCD_PAYLOAD && mode != STREAM_CMCD_QUERY && mode != STREAM_CMCD_HEADERS)
    return stream__err(STREAM_EINVAL, "stream_cmcd_format: unknown mode %d", mode);
  if (c->version != STREAM_CMCD_VERSION)
    return stream__err(STREAM_EINVAL,
                       "stream_cmcd_format: c has version %u, not %d (set it up with "
                       "stream_cmcd_init)",
                       c->version, STREAM_CMCD_VERSION);
  member *m = malloc(sizeof(member) * (K_COUNT + STREAM_CMCD_EXTRA_MAX));
  char *payload = malloc(STREAM_CMCD_PAYLOAD_MAX + 2);
  if (!m || !payload) {
    free(m);
    free(payload);
    return stream__err(STREAM_ENOMEM, "stream_cmcd_format: out of memory");
  }
  size_t n = 0;
  int rc = collect(m, &n, c);
  stream__buf b;
  stream__buf_init(&b);
  if (rc == STREAM_OK) {
    qsort(m, n, sizeof *m, by_name);
    size_t pl = join(payload, m, n, -1);
    if (pl > STREAM_CMCD_PAYLOAD_MAX)
      rc = stream__err(STREAM_ERANGE, "stream_cmcd_format: the payload is over %d bytes",
                       STREAM_CMCD_PAYLOAD_MAX);
    else if (mode == STREAM_CMCD_PAYLOAD)
      stream__buf_append(&b, payload, pl);
    else if (mode == STREAM_CMCD_QUERY && pl) {
      char *enc = malloc(pl * 3 + 1);
      if (!enc) {
        rc = stream__err(STREAM_ENOMEM, "stream_cmcd_format: out of memory");
      } else {
        size_t el = uri_encode(enc, payload, pl);
        stream__buf_puts(&b, "CMCD=");
        stream__buf_append(&b, enc, el);
        free(enc);
      }
    } else if (mode == STREAM_CMCD_HEADERS) {
      for (int s = 0; s < SH_COUNT; s++) {
        size_t sl = join(payload, m, n, s);
        if (!sl)
          continue;
        if (b.len)
          stream__buf_puts(&b, "\n");
        stream__buf_printf(&b, "%s: %s", shard_names[s], payload);
      }
    }
  }
  free(m);
  free(payload);
  if (rc != STREAM_OK) {
    stream__buf_free(&b);
    return rc;
  }
  if (b.len == 0) {
    stream__buf_free(&b);
    *out = stream__strdup("");
    return *out ? STREAM_OK : stream__err(STREAM_ENOMEM, "stream_cmcd_format: out of memory");
  }
  return stream__buf_detach(&b, out);
}
