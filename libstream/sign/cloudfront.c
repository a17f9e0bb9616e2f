/*
 * sign/cloudfront: Amazon CloudFront signed URLs and signed cookies, signing
 * and verification. The policy JSON is built exactly as CloudFront's docs and
 * @aws-sdk/cloudfront-signer build it (no whitespace; Resource, then
 * Condition with DateLessThan, DateGreaterThan, IpAddress), signed with RSA
 * PKCS#1 v1.5 or ECDSA P-256 (DER) over SHA-1 or SHA-256 through OpenSSL 3
 * EVP, and carried in CloudFront's base64 ('+' -> '-', '=' -> '_', '/' ->
 * '~'). Verification parses a custom policy with cJSON only after its
 * signature matched. Wire format and sources: docs/api/sign.md, standards.md §3.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "../core/json.h"
#include "sign_internal.h"

#define CF_MAX STREAM_CLOUDFRONT_TEXT_MAX
#define CF_SIG_MAX 1024            /* RSA 8192 */
#define CF_TIME_MAX 999999999999LL /* as the Google formats */

/* ---- encoding -------------------------------------------------------------- */

void cloudfront__escape(char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    s[i] = s[i] == '+' ? '-' : s[i] == '=' ? '_' : s[i] == '/' ? '~' : s[i];
}

/* CloudFront's base64: standard alphabet and padding, then + = / -> - _ ~. */
static void buf_cf_b64(stream__buf *b, const void *data, size_t n)
{
  size_t len = stream__b64_len(n, STREAM_B64_STD);
  char *tmp = malloc(len + 1);
  if (!tmp) {
    b->failed = true;
    return;
  }
  stream__b64_encode_into(tmp, data, n, STREAM_B64_STD);
  cloudfront__escape(tmp, len);
  stream__buf_append(b, tmp, len);
  free(tmp);
}

/* Decode CloudFront base64 (canonical, padded) into a new buffer. */
static unsigned char *cf_b64_decode(const char *s, size_t n, size_t max, size_t *out_len)
{
  if (n == 0 || n > CF_MAX)
    return NULL;
  char *tmp = malloc(n + 1);
  unsigned char *dst = malloc(stream__b64_decoded_max(n) + 1);
  bool ok = tmp && dst;
  for (size_t i = 0; ok && i < n; i++) {
    char c = s[i];
    if (c == '+' || c == '/' || c == '=')
      ok = false; /* the standard characters are not CloudFront's */
    tmp[i] = c == '-' ? '+' : c == '_' ? '=' : c == '~' ? '/' : c;
  }
  size_t got = 0;
  if (ok)
    ok = stream__b64_decode_into(dst, stream__b64_decoded_max(n) + 1, &got, tmp, n, STREAM_B64_STD,
                                 true) == STREAM_OK &&
         got > 0 && got <= max;
  if (ok) {
    /* canonical only, as CloudFront writes it: padded ('_'), no stray bits in
     * the last character, so that one value has one text */
    size_t el = stream__b64_len(got, STREAM_B64_STD);
    char *re = malloc(el + 1);
    ok = re && el == n;
    if (ok) {
      stream__b64_encode_into(re, dst, got, STREAM_B64_STD);
      ok = memcmp(re, tmp, n) == 0;
    }
    free(re);
  }
  free(tmp);
  if (!ok) {
    free(dst);
    return NULL;
  }
  *out_len = got;
  return dst;
}

/* ---- policy ---------------------------------------------------------------- */

typedef struct cf_policy {
  const char *resource; /* NULL: none (custom policies only) */
  size_t resource_len;
  int64_t expires;
  int64_t starts; /* 0: none */
  const char *ip; /* NULL: none; text as it goes into AWS:SourceIp */
  size_t ip_len;
} cf_policy;

static void buf_policy(stream__buf *b, const cf_policy *p)
{
  stream__buf_puts(b, "{\"Statement\":[{");
  if (p->resource) {
    stream__buf_puts(b, "\"Resource\":\"");
    stream__buf_append(b, p->resource, p->resource_len);
    stream__buf_puts(b, "\",");
  }
  stream__buf_printf(b, "\"Condition\":{\"DateLessThan\":{\"AWS:EpochTime\":%lld}",
                     (long long)p->expires);
  if (p->starts)
    stream__buf_printf(b, ",\"DateGreaterThan\":{\"AWS:EpochTime\":%lld}", (long long)p->starts);
  if (p->ip) {
    stream__buf_puts(b, ",\"IpAddress\":{\"AWS:SourceIp\":\"");
    stream__buf_append(b, p->ip, p->ip_len);
    stream__buf_puts(b, "\"}");
  }
  stream__buf_puts(b, "}}]}");
}

/* ---- crypto ---------------------------------------------------------------- */

static bool is_cf_key(const stream_key *k, bool need_private)
{
  if (k->type == STREAM_KEY_RSA_PRIVATE || k->type == STREAM_KEY_EC_PRIVATE)
    return true;
  return !need_private && (k->type == STREAM_KEY_RSA_PUBLIC || k->type == STREAM_KEY_EC_PUBLIC);
}

static const EVP_MD *cf_md(int hash)
{
  return hash == STREAM_CLOUDFRONT_SHA256 ? EVP_sha256() : EVP_sha1();
}

static int cf_sign(stream__buf *out, const stream_key *key, int hash, const void *data, size_t n)
{
  unsigned char sig[CF_SIG_MAX + 16];
  size_t sl = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  int ok = ctx && EVP_DigestSignInit(ctx, NULL, cf_md(hash), NULL, key->pkey) == 1 &&
           EVP_DigestSign(ctx, NULL, &sl, data, n) == 1 && sl <= sizeof sig &&
           EVP_DigestSign(ctx, sig, &sl, data, n) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) {
    ERR_clear_error();
    return stream__err(STREAM_ECRYPTO, "CloudFront signing with key '%s' failed", key->id);
  }
  buf_cf_b64(out, sig, sl);
  return STREAM_OK;
}

static bool cf_verify_sig(const stream_key *key, int hash, const unsigned char *sig, size_t sl,
                          const void *data, size_t n)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, cf_md(hash), NULL, key->pkey) == 1 &&
            EVP_DigestVerify(ctx, sig, sl, data, n) == 1;
  EVP_MD_CTX_free(ctx);
  ERR_clear_error();
  return ok;
}

/* ---- argument checks ------------------------------------------------------- */

static const char *const cf_params[] = {"Expires", "Policy", "Signature", "Key-Pair-Id",
                                        "Hash-Algorithm"};
#define CF_NPARAMS (sizeof cf_params / sizeof *cf_params)

static int cf_param_index(const sign__param *p)
{
  for (size_t i = 0; i < CF_NPARAMS; i++)
    if (p->name_len == strlen(cf_params[i]) && memcmp(p->name, cf_params[i], p->name_len) == 0)
      return (int)i;
  return -1;
}

static int check_url(const char *url, const char *fn)
{
  if (!url || !*url)
    return stream__err(STREAM_EINVAL, "%s: URL is NULL or empty", fn);
  size_t n = strnlen(url, CF_MAX + 1);
  if (n > CF_MAX)
    return stream__err(STREAM_ERANGE, "%s: URL is over %d bytes", fn, CF_MAX);
  size_t path = 0, query = 0;
  const char *why = NULL;
  if (sign__url_split(url, n, &path, &query, &why))
    return stream__err(STREAM_EINVAL, "%s: URL is not an absolute http(s) URL: %s", fn, why);
  if (url[n - 1] == '?' || url[n - 1] == '&')
    return stream__err(STREAM_EINVAL, "%s: URL ends with a bare '%c'", fn, url[n - 1]);
  if (query < n) {
    sign__param p;
    for (size_t pos = 0; sign__query_next(&p, url + query + 1, n - query - 1, &pos);) {
      int i = cf_param_index(&p);
      if (i >= 0)
        return stream__err(STREAM_EINVAL,
                           "%s: URL already has a %s query parameter, which CloudFront reserves",
                           fn, cf_params[i]);
    }
  }
  return STREAM_OK;
}

static int check_resource(const char *r, const char *what, const char *fn)
{
  if (!r || !*r)
    return stream__err(STREAM_EINVAL, "%s: %s is NULL or empty", fn, what);
  size_t n = strnlen(r, CF_MAX + 1);
  if (n > CF_MAX)
    return stream__err(STREAM_ERANGE, "%s: %s is over %d bytes", fn, what, CF_MAX);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)r[i];
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\')
      return stream__err(STREAM_EINVAL,
                         "%s: %s has a space, quote, backslash, control or non-ASCII byte at "
                         "offset %zu (percent-encode it)",
                         fn, what, i);
    if (c == '#')
      return stream__err(STREAM_EINVAL, "%s: %s has a fragment ('#' at offset %zu)", fn, what, i);
  }
  return STREAM_OK;
}

/* An IPv4 address or block; *len gets the length of the text written to
 * `norm` ("a.b.c.d/nn", "/32" added to a bare address). */
static int check_ip(const char *ip, char *norm, size_t *len, const char *fn)
{
  size_t n = strnlen(ip, 64);
  sign__ip block;
  const char *why = NULL;
  if (n == 0 || n >= 40 || sign__ip_parse_block(&block, ip, n, '/', false, &why) != STREAM_OK)
    return stream__err(STREAM_EINVAL, "%s: ip is not an IPv4 address or CIDR block", fn);
  if (block.family != 4)
    return stream__err(STREAM_EINVAL, "%s: ip '%s' is IPv6; CloudFront policies take IPv4 only", fn,
                       ip);
  *len = (size_t)snprintf(norm, 48, "%s%s", ip, memchr(ip, '/', n) ? "" : "/32");
  return STREAM_OK;
}

/* Check key and options; fill the policy times and IP. */
static int check_common(const stream_key *key, const stream_cloudfront_sign_options *opts,
                        cf_policy *p, char *ipbuf, const char *fn)
{
  if (!key)
    return stream__err(STREAM_EINVAL, "%s: key is NULL", fn);
  if (!is_cf_key(key, true))
    return stream__err(STREAM_EINVAL,
                       "%s: key '%s' is not an RSA or ECDSA P-256 private key; CloudFront signs "
                       "with those only",
                       fn, key->id);
  if (!opts)
    return stream__err(STREAM_EINVAL, "%s: options are NULL (set expires or ttl)", fn);
  if (opts->version != STREAM_CLOUDFRONT_SIGN_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "%s: unknown options version %u", fn, opts->version);
  if (opts->hash != 0 && opts->hash != STREAM_CLOUDFRONT_SHA1 &&
      opts->hash != STREAM_CLOUDFRONT_SHA256)
    return stream__err(STREAM_EINVAL, "%s: unknown hash %d", fn, opts->hash);
  if (opts->expires > 0) {
    if (opts->expires > CF_TIME_MAX)
      return stream__err(STREAM_ERANGE, "%s: expires %lld is too far in the future", fn,
                         (long long)opts->expires);
    p->expires = opts->expires;
  } else if (opts->expires < 0) {
    return stream__err(STREAM_EINVAL, "%s: expires %lld is negative", fn, (long long)opts->expires);
  } else if (opts->ttl <= 0 || opts->ttl > (int64_t)100 * 365 * 86400) {
    return stream__err(STREAM_EINVAL, "%s: set expires, or a ttl of 1 s to 100 years (got %lld)",
                       fn, (long long)opts->ttl);
  } else {
    p->expires = stream__now() + opts->ttl;
  }
  if (opts->starts < 0 || (opts->starts && opts->starts >= p->expires))
    return stream__err(STREAM_EINVAL, "%s: starts %lld must be 0 or before expires %lld", fn,
                       (long long)opts->starts, (long long)p->expires);
  p->starts = opts->starts;
  if (opts->ip) {
    int rc = check_ip(opts->ip, ipbuf, &p->ip_len, fn);
    if (rc)
      return rc;
    p->ip = ipbuf;
  }
  return STREAM_OK;
}

/* Sign the policy and append the parameters, `sep` between them and
 * `prefix` before each name ("" for URLs, "CloudFront-" for cookies). */
static int append_signed(stream__buf *b, const stream_key *key, const cf_policy *p, bool custom,
                         int hash, bool cookie)
{
  stream__buf policy;
  stream__buf_init(&policy);
  buf_policy(&policy, p);
  if (policy.failed) {
    stream__buf_free(&policy);
    return stream__err(STREAM_ENOMEM, "out of memory building a CloudFront policy");
  }
  stream__buf sig;
  stream__buf_init(&sig);
  int rc = cf_sign(&sig, key, hash, policy.data, policy.len);
  if (!rc) {
    const char *pre = cookie ? "CloudFront-" : "";
    char sep = cookie ? '\n' : '&';
    if (custom) {
      stream__buf_printf(b, "%sPolicy=", pre);
      buf_cf_b64(b, policy.data, policy.len);
    } else {
      stream__buf_printf(b, "%sExpires=%lld", pre, (long long)p->expires);
    }
    /* URLs: the order of @aws-sdk/cloudfront-signer; cookies: the docs' order */
    if (cookie) {
      stream__buf_printf(b, "%c%sSignature=", sep, pre);
      stream__buf_append(b, sig.data, sig.len);
      stream__buf_printf(b, "%c%sKey-Pair-Id=%s", sep, pre, key->id);
    } else {
      stream__buf_printf(b, "%c%sKey-Pair-Id=%s", sep, pre, key->id);
      stream__buf_printf(b, "%c%sSignature=", sep, pre);
      stream__buf_append(b, sig.data, sig.len);
    }
    if (hash == STREAM_CLOUDFRONT_SHA256)
      stream__buf_printf(b, "%c%sHash-Algorithm=SHA256", sep, pre);
    if (cookie)
      stream__buf_puts(b, "\n");
    if (b->failed || sig.failed)
      rc = stream__err(STREAM_ENOMEM, "out of memory building a CloudFront signature");
  }
  stream__buf_free(&sig);
  stream__buf_free(&policy);
  return rc;
}

static int finish(stream__buf *b, char **out, int rc)
{
  if (rc) {
    stream__buf_free(b);
    return rc;
  }
  return stream__buf_detach(b, out);
}

int stream_cloudfront_sign_url(char **out, const stream_key *key, const char *url,
                               const stream_cloudfront_sign_options *opts)
{
  static const char fn[] = "stream_cloudfront_sign_url";
  if (!out)
    return stream__err(STREAM_EINVAL, "%s: out is NULL", fn);
  *out = NULL;
  cf_policy p = {0};
  char ipbuf[48];
  /* The URL goes into the policy JSON too (the canned policy's Resource, or a custom one's
   * without opts->resource): no quote or backslash may end its string early. */
  int rc = check_url(url, fn);
  if (rc || (rc = check_resource(url, "URL", fn)) || (rc = check_common(key, opts, &p, ipbuf, fn)))
    return rc;
  const char *resource = url;
  if (opts->resource) {
    if ((rc = check_resource(opts->resource, "resource", fn)))
      return rc;
    resource = opts->resource;
  }
  p.resource = resource;
  p.resource_len = strlen(resource);
  /* Wildcards come only from opts->resource: a '*' in the URL itself is a literal byte of a
   * canned policy (as @aws-sdk/cloudfront-signer signs it), and refused when the URL would
   * become a custom policy's Resource, where CloudFront reads it as "any run". */
  bool custom = opts->custom || p.starts || p.ip ||
                (opts->resource && (strchr(resource, '*') || strcmp(resource, url) != 0));
  if (custom && !opts->resource && strchr(url, '*'))
    return stream__err(STREAM_EINVAL,
                       "%s: the URL holds '*', which a custom policy's Resource reads as a "
                       "wildcard; give the Resource (pattern) in opts->resource",
                       fn);
  int hash = opts->hash ? opts->hash : STREAM_CLOUDFRONT_SHA1;
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_puts(&b, url);
  stream__buf_puts(&b, strchr(url, '?') ? "&" : "?");
  rc = finish(&b, out, append_signed(&b, key, &p, custom, hash, false));
  if (rc == STREAM_OK && strlen(*out) > CF_MAX) { /* the verifiers' limit: it could not verify */
    stream_free(*out);
    *out = NULL;
    return stream__err(STREAM_ERANGE, "%s: the signed URL would be over %d bytes", fn, CF_MAX);
  }
  return rc;
}

int stream_cloudfront_sign_cookies(char **out, const stream_key *key, const char *resource,
                                   const stream_cloudfront_sign_options *opts)
{
  static const char fn[] = "stream_cloudfront_sign_cookies";
  if (!out)
    return stream__err(STREAM_EINVAL, "%s: out is NULL", fn);
  *out = NULL;
  cf_policy p = {0};
  char ipbuf[48];
  int rc = check_resource(resource, "resource", fn);
  if (rc || (rc = check_common(key, opts, &p, ipbuf, fn)))
    return rc;
  if (opts->resource)
    return stream__err(STREAM_EINVAL,
                       "%s: opts->resource is for URLs; pass the cookie's resource as the "
                       "resource argument",
                       fn);
  p.resource = resource;
  p.resource_len = strlen(resource);
  bool custom = opts->custom || p.starts || p.ip || strchr(resource, '*');
  int hash = opts->hash ? opts->hash : STREAM_CLOUDFRONT_SHA1;
  stream__buf b;
  stream__buf_init(&b);
  return finish(&b, out, append_signed(&b, key, &p, custom, hash, true));
}

/* ---- verification -------------------------------------------------------- */

static int outcome(stream_cloudfront_verification *out, int reason, const char *fmt, ...)
    STREAM__PRINTF(3, 4);
static int outcome(stream_cloudfront_verification *out, int reason, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int rc = sign__outcome_v(&out->reason, reason, fmt, ap);
  va_end(ap);
  return rc;
}

/* The CloudFront fields found in a URL query or in cookies. */
typedef struct cf_fields {
  const char *v[CF_NPARAMS]; /* indexed like cf_params; NULL when absent */
  size_t len[CF_NPARAMS];
} cf_fields;
enum { F_EXPIRES, F_POLICY, F_SIGNATURE, F_KEY, F_HASH };

/* An integer AWS:EpochTime inside {"AWS:EpochTime":N}, the only member. */
static bool epoch_of(const cJSON *cond, int64_t *out)
{
  if (!cJSON_IsObject(cond) || !cond->child || cond->child->next)
    return false;
  const cJSON *t = cond->child;
  if (!t->string || strcmp(t->string, "AWS:EpochTime") != 0 || !cJSON_IsNumber(t))
    return false;
  double d = t->valuedouble;
  if (!(d >= 0 && d <= (double)CF_TIME_MAX) || (double)(int64_t)d != d)
    return false;
  *out = (int64_t)d;
  return true;
}

/* Parse a custom policy (already authenticated) into the result and p. */
static int parse_policy(stream_cloudfront_verification *out, const char *json, size_t n,
                        cf_policy *p)
{
  cJSON *root = stream__json_parse_whole(json, n, NULL, NULL); /* NULL: not one JSON value */
  const char *bad = NULL;
  const cJSON *st = root ? cJSON_GetObjectItemCaseSensitive(root, "Statement") : NULL;
  if (!cJSON_IsObject(root) || !root->child || root->child->next || !cJSON_IsArray(st))
    bad = "policy is not {\"Statement\":[...]}";
  else if (cJSON_GetArraySize(st) != 1 || !cJSON_IsObject(st->child))
    bad = "policy must hold exactly one statement";
  bool has_lt = false, has_gt = false, has_cond = false;
  for (const cJSON *f = bad ? NULL : st->child->child; f && !bad; f = f->next) {
    if (f->string && strcmp(f->string, "Resource") == 0 && cJSON_IsString(f) && !p->resource) {
      p->resource = f->valuestring;
      p->resource_len = strlen(f->valuestring);
    } else if (f->string && strcmp(f->string, "Condition") == 0 && cJSON_IsObject(f) && !has_cond) {
      has_cond = true;
      for (const cJSON *c = f->child; c && !bad; c = c->next) {
        if (c->string && strcmp(c->string, "DateLessThan") == 0 && !has_lt) {
          if (!epoch_of(c, &p->expires) || p->expires == 0)
            bad = "DateLessThan is not {\"AWS:EpochTime\":<seconds>}";
          has_lt = true;
        } else if (c->string && strcmp(c->string, "DateGreaterThan") == 0 && !has_gt) {
          if (!epoch_of(c, &p->starts))
            bad = "DateGreaterThan is not {\"AWS:EpochTime\":<seconds>}";
          has_gt = true;
        } else if (c->string && strcmp(c->string, "IpAddress") == 0 && !p->ip) {
          const cJSON *a = c->child;
          if (!cJSON_IsObject(c) || !a || a->next || !a->string ||
              strcmp(a->string, "AWS:SourceIp") != 0 || !cJSON_IsString(a) ||
              strlen(a->valuestring) >= sizeof out->ip)
            bad = "IpAddress is not {\"AWS:SourceIp\":\"a.b.c.d/n\"}";
          else {
            p->ip = a->valuestring;
            p->ip_len = strlen(a->valuestring);
          }
        } else {
          bad = "policy Condition has an unknown or repeated member";
        }
      }
      if (!bad && !has_lt)
        bad = "policy Condition has no DateLessThan";
    } else {
      bad = "policy statement has an unknown, repeated or mistyped member";
    }
  }
  if (!bad && !has_lt)
    bad = "policy has no Condition";
  int rc = STREAM_OK;
  if (bad) {
    p->resource = NULL; /* pointed into the tree */
    p->ip = NULL;
    rc = outcome(out, STREAM_SIGN_MALFORMED, "%s", bad);
  } else {
    out->expires = p->expires;
    out->starts = p->starts;
    if (p->ip)
      memcpy(out->ip, p->ip, p->ip_len + 1);
    /* keep the strings: copy the resource out of the tree */
    if (p->resource) {
      char *r = stream__strndup(p->resource, p->resource_len);
      if (!r)
        rc = stream__err(STREAM_ENOMEM, "out of memory reading a CloudFront policy");
      p->resource = r;
    }
    if (p->ip)
      p->ip = out->ip;
  }
  cJSON_Delete(root);
  return rc;
}

/* The checks shared by URLs and cookies. `base` is what a canned policy's
 * Resource is and what a custom policy's Resource must match. */
static int verify_fields(stream_cloudfront_verification *out, const stream_keyring *ring,
                         const cf_fields *f, const char *base, size_t base_len,
                         const char *client_ip, int64_t now)
{
  if (!f->v[F_SIGNATURE])
    return outcome(out, STREAM_SIGN_MISSING, "no CloudFront Signature");
  if (!f->v[F_EXPIRES] == !f->v[F_POLICY])
    return outcome(out, STREAM_SIGN_MALFORMED, "exactly one of Expires and Policy must be given");
  if (!f->v[F_KEY])
    return outcome(out, STREAM_SIGN_MALFORMED, "Key-Pair-Id is missing");
  int hash = STREAM_CLOUDFRONT_SHA1;
  if (f->v[F_HASH]) {
    if (f->len[F_HASH] == 6 && memcmp(f->v[F_HASH], "SHA256", 6) == 0)
      hash = STREAM_CLOUDFRONT_SHA256;
    else if (!(f->len[F_HASH] == 4 && memcmp(f->v[F_HASH], "SHA1", 4) == 0))
      return outcome(out, STREAM_SIGN_MALFORMED, "Hash-Algorithm is neither SHA1 nor SHA256");
  }
  out->hash = hash;
  out->custom = f->v[F_POLICY] != NULL;
  if (!sign__key_id_ok(f->v[F_KEY], f->len[F_KEY]))
    return outcome(out, STREAM_SIGN_MALFORMED, "Key-Pair-Id has an invalid syntax");
  memcpy(out->key_pair_id, f->v[F_KEY], f->len[F_KEY]);
  out->key_pair_id[f->len[F_KEY]] = '\0';
  cf_policy p = {0};
  if (f->v[F_EXPIRES]) {
    if (!sign__parse_decimal(&p.expires, f->v[F_EXPIRES], f->len[F_EXPIRES], 12, false,
                             CF_TIME_MAX) ||
        p.expires == 0)
      return outcome(out, STREAM_SIGN_MALFORMED, "Expires is not a positive decimal number");
    out->expires = p.expires;
  }
  size_t sl = 0, pl = 0;
  unsigned char *sig = cf_b64_decode(f->v[F_SIGNATURE], f->len[F_SIGNATURE], CF_SIG_MAX, &sl);
  if (!sig)
    return outcome(out, STREAM_SIGN_MALFORMED, "Signature is not CloudFront base64");
  unsigned char *policy = NULL;
  stream__buf canned;
  stream__buf_init(&canned);
  const unsigned char *msg;
  size_t msg_len;
  int rc = STREAM_OK;
  if (f->v[F_POLICY]) {
    policy = cf_b64_decode(f->v[F_POLICY], f->len[F_POLICY], CF_MAX, &pl);
    if (!policy) {
      free(sig);
      return outcome(out, STREAM_SIGN_MALFORMED, "Policy is not CloudFront base64");
    }
    msg = policy;
    msg_len = pl;
  } else {
    p.resource = base;
    p.resource_len = base_len;
    buf_policy(&canned, &p);
    if (canned.failed) {
      free(sig);
      stream__buf_free(&canned);
      return stream__err(STREAM_ENOMEM, "out of memory rebuilding a CloudFront policy");
    }
    msg = (const unsigned char *)canned.data;
    msg_len = canned.len;
  }
  stream_key *key = NULL;
  if (stream_keyring_get(&key, ring, out->key_pair_id) != STREAM_OK)
    rc = outcome(out, STREAM_SIGN_UNKNOWN_KEY, "unknown Key-Pair-Id '%s'", out->key_pair_id);
  else if (!is_cf_key(key, false))
    rc = outcome(out, STREAM_SIGN_UNKNOWN_KEY, "key '%s' is not an RSA or ECDSA key",
                 out->key_pair_id);
  else if (!cf_verify_sig(key, hash, sig, sl, msg, msg_len))
    rc = outcome(out, STREAM_SIGN_BAD_SIGNATURE, "signature does not match (key '%s')",
                 out->key_pair_id);
  stream_key_free(key);
  free(sig);
  stream__buf_free(&canned);
  if (rc) {
    free(policy);
    return rc;
  }
  char *owned_resource = NULL;
  if (policy) {
    p.resource = NULL;
    rc = parse_policy(out, (const char *)policy, pl, &p);
    owned_resource = (char *)p.resource;
    free(policy);
    if (rc) {
      free(owned_resource);
      return rc;
    }
  }
  if (now >= p.expires)
    rc = outcome(out, STREAM_SIGN_EXPIRED, "CloudFront signature expired at %lld, now %lld",
                 (long long)p.expires, (long long)now);
  else if (p.starts && now < p.starts)
    rc =
        outcome(out, STREAM_SIGN_NOT_YET_VALID, "CloudFront signature is valid from %lld, now %lld",
                (long long)p.starts, (long long)now);
  else if (owned_resource &&
           !sign__wildcard_match(owned_resource, p.resource_len, base, base_len, true))
    rc = outcome(out, STREAM_SIGN_OUTSIDE_PREFIX, "request URL is outside the policy's Resource");
  else if (p.ip) {
    sign__ip block, ip, ip4;
    const char *why = NULL;
    if (sign__ip_parse_block(&block, p.ip, p.ip_len, '/', false, &why) != STREAM_OK ||
        block.family != 4)
      rc = outcome(out, STREAM_SIGN_MALFORMED, "policy AWS:SourceIp is not an IPv4 block");
    else if (!client_ip)
      rc = outcome(out, STREAM_SIGN_IP_MISMATCH,
                   "policy is bound to %s and the client address is unknown", out->ip);
    else if (sign__ip_parse_addr(&ip, client_ip, strlen(client_ip), false) != STREAM_OK)
      rc = outcome(out, STREAM_SIGN_IP_MISMATCH, "client address is not an IP address");
    else if (!sign__ip_contains(&block, &ip) &&
             !(sign__ip_unmap(&ip4, &ip) && sign__ip_contains(&block, &ip4)))
      rc = outcome(out, STREAM_SIGN_IP_MISMATCH, "client address is outside %s", out->ip);
    else
      rc = outcome(out, STREAM_SIGN_VALID, "valid");
  } else {
    rc = outcome(out, STREAM_SIGN_VALID, "valid");
  }
  free(owned_resource);
  return rc;
}

static int verify_start(stream_cloudfront_verification *out, const stream_keyring *ring,
                        const stream_cloudfront_request *req, int64_t *now, size_t *url_len,
                        const char *fn)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "%s: out is NULL", fn);
  memset(out, 0, sizeof *out);
  out->reason = STREAM_SIGN_MALFORMED;
  if (!ring)
    return stream__err(STREAM_EINVAL, "%s: key ring is NULL", fn);
  if (!req)
    return stream__err(STREAM_EINVAL, "%s: request is NULL", fn);
  if (req->version != STREAM_CLOUDFRONT_REQUEST_VERSION)
    return stream__err(STREAM_EINVAL, "%s: unknown stream_cloudfront_request version %u", fn,
                       req->version);
  if (!req->url || !*req->url)
    return stream__err(STREAM_EINVAL, "%s: request URL is NULL or empty", fn);
  *url_len = strnlen(req->url, CF_MAX + 1);
  if (*url_len > CF_MAX)
    return stream__err(STREAM_ERANGE, "%s: request URL is over %d bytes", fn, CF_MAX);
  if (req->client_ip) {
    sign__ip a;
    size_t n = strnlen(req->client_ip, 64);
    if (n == 0 || n >= 64 || sign__ip_parse_addr(&a, req->client_ip, n, false) != STREAM_OK)
      return stream__err(STREAM_EINVAL, "%s: client IP is not an IPv4 or IPv6 address", fn);
  }
  if (req->now < 0)
    return stream__err(STREAM_EINVAL, "%s: now is negative", fn);
  *now = req->now ? req->now : stream__now();
  return STREAM_OK;
}

int stream_cloudfront_verify_url(stream_cloudfront_verification *out, const stream_keyring *ring,
                                 const stream_cloudfront_request *req)
{
  int64_t now = 0;
  size_t n = 0;
  int rc = verify_start(out, ring, req, &now, &n, "stream_cloudfront_verify_url");
  if (rc)
    return rc;
  const char *url = req->url;
  const char *q = memchr(url, '?', n);
  if (!q)
    return outcome(out, STREAM_SIGN_MISSING, "URL has no query and so no CloudFront Signature");
  size_t qs = (size_t)(q + 1 - url), qn = n - qs;
  cf_fields f = {0};
  size_t first = (size_t)-1; /* offset in the query of the first CloudFront parameter */
  sign__param p;
  for (size_t pos = 0; sign__query_next(&p, q + 1, qn, &pos);) {
    int i = cf_param_index(&p);
    if (i < 0) {
      if (first != (size_t)-1)
        return outcome(out, STREAM_SIGN_MALFORMED,
                       "CloudFront parameters must be the last ones of the query");
      continue;
    }
    if (!p.value)
      return outcome(out, STREAM_SIGN_MALFORMED, "%s has no value", cf_params[i]);
    if (f.v[i])
      return outcome(out, STREAM_SIGN_MALFORMED, "%s is given twice", cf_params[i]);
    if (first == (size_t)-1)
      first = p.start;
    f.v[i] = p.value;
    f.len[i] = p.value_len;
  }
  if (first == (size_t)-1 || !f.v[F_SIGNATURE])
    return outcome(out, STREAM_SIGN_MISSING, "URL has no CloudFront Signature parameter");
  /* the base URL ends before the '?' or '&' in front of the first parameter */
  size_t base_len = qs + first - 1;
  return verify_fields(out, ring, &f, url, base_len, req->client_ip, now);
}

int stream_cloudfront_verify_cookies(stream_cloudfront_verification *out,
                                     const stream_keyring *ring, const char *cookies,
                                     const stream_cloudfront_request *req)
{
  int64_t now = 0;
  size_t un = 0;
  int rc = verify_start(out, ring, req, &now, &un, "stream_cloudfront_verify_cookies");
  if (rc)
    return rc;
  if (!cookies || !*cookies)
    return outcome(out, STREAM_SIGN_MISSING, "Cookie header is NULL or empty");
  size_t n = strnlen(cookies, CF_MAX * 2 + 1);
  if (n > CF_MAX * 2)
    return outcome(out, STREAM_SIGN_MALFORMED, "Cookie header is over %d bytes", CF_MAX * 2);
  cf_fields f = {0};
  for (size_t i = 0; i < n;) {
    while (i < n && (cookies[i] == ' ' || cookies[i] == '\t' || cookies[i] == ';' ||
                     cookies[i] == '\n' || cookies[i] == '\r'))
      i++;
    size_t e = i;
    while (e < n && cookies[e] != ';' && cookies[e] != '\n' && cookies[e] != '\r')
      e++;
    const char *eq = memchr(cookies + i, '=', e - i);
    static const char pre[] = "CloudFront-";
    size_t pl = sizeof pre - 1;
    if (eq && (size_t)(eq - (cookies + i)) > pl && memcmp(cookies + i, pre, pl) == 0) {
      sign__param prm = {.name = cookies + i + pl, .name_len = (size_t)(eq - cookies - i) - pl};
      int k = cf_param_index(&prm);
      if (k >= 0) {
        size_t vl = (size_t)(cookies + e - (eq + 1));
        while (vl && (eq[vl] == ' ' || eq[vl] == '\t'))
          vl--;
        if (f.v[k])
          return outcome(out, STREAM_SIGN_MALFORMED, "cookie CloudFront-%s is given twice",
                         cf_params[k]);
        f.v[k] = eq + 1;
        f.len[k] = vl;
      }
    }
    i = e;
  }
  return verify_fields(out, ring, &f, req->url, un, req->client_ip, now);
}
