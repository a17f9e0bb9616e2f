/*
 * token/jwt: JSON Web Tokens (RFC 7519) on top of jws.c — the platform's
 * access tokens. Issuing picks the key from a ring (primary by default) and
 * writes the header and registered claims itself; verifying picks the key by
 * "kid", checks the signature, and only then parses and checks the claims
 * (exp, nbf, iat with leeway; iss and aud against the caller's policy).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/core.h"
#include "token_internal.h"

/* NumericDates and times are kept within the doubles' exact integers. */
#define DATE_LIMIT 9007199254740992.0 /* 2^53 */
#define DATE_LIMIT_I ((int64_t)1 << 53)
#define TYP_MAX 32
#define JTI_BYTES 16

/* ---- claim readers (shared by issue-time checks and verification) -------- */

static int claim_string(const char **val, const cJSON *claims, const char *name)
{
  *val = NULL;
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(claims, name);
  if (!c)
    return STREAM_OK;
  if (!cJSON_IsString(c))
    return stream__err(STREAM_EINVAL, "claim \"%s\" is not a string", name);
  size_t n = strlen(c->valuestring);
  if (n >= STREAM_TOKEN_CLAIM_MAX)
    return stream__err(STREAM_ERANGE, "claim \"%s\" is %zu bytes; the limit is %d", name, n,
                       STREAM_TOKEN_CLAIM_MAX - 1);
  *val = c->valuestring;
  return STREAM_OK;
}

/* A NumericDate. Fractions are rounded toward the stricter side: down for
 * exp, up for nbf and iat. */
static int claim_date(int64_t *val, int *has, const cJSON *claims, const char *name, bool up)
{
  *val = 0;
  *has = 0;
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(claims, name);
  if (!c)
    return STREAM_OK;
  if (!cJSON_IsNumber(c))
    return stream__err(STREAM_EINVAL, "claim \"%s\" is not a number", name);
  double d = c->valuedouble;
  if (!isfinite(d) || d < -DATE_LIMIT || d > DATE_LIMIT)
    return stream__err(STREAM_EINVAL, "claim \"%s\" is outside the range of a NumericDate", name);
  int64_t t = (int64_t)d; /* toward zero; exact within 2^53 */
  if (up && (double)t < d)
    t++;
  else if (!up && (double)t > d)
    t--;
  *val = t;
  *has = 1;
  return STREAM_OK;
}

/* "aud": one string or an array of strings, each under the claim limit. */
static int claim_aud(const cJSON **aud, const cJSON *claims)
{
  *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud");
  if (!*aud)
    return STREAM_OK;
  if (cJSON_IsString(*aud)) {
    if (strlen((*aud)->valuestring) >= STREAM_TOKEN_CLAIM_MAX)
      return stream__err(STREAM_ERANGE, "claim \"aud\" is over %d bytes",
                         STREAM_TOKEN_CLAIM_MAX - 1);
    return STREAM_OK;
  }
  if (!cJSON_IsArray(*aud))
    return stream__err(STREAM_EINVAL, "claim \"aud\" is neither a string nor an array");
  for (const cJSON *c = (*aud)->child; c; c = c->next) {
    if (!cJSON_IsString(c))
      return stream__err(STREAM_EINVAL, "claim \"aud\" holds a non-string");
    if (strlen(c->valuestring) >= STREAM_TOKEN_CLAIM_MAX)
      return stream__err(STREAM_ERANGE, "claim \"aud\" holds a value over %d bytes",
                         STREAM_TOKEN_CLAIM_MAX - 1);
  }
  return STREAM_OK;
}

/* The registered claims of a claims object, type-checked. */
typedef struct reg_claims {
  const char *iss, *sub, *jti;
  const cJSON *aud;
  int64_t exp, nbf, iat;
  int has_exp, has_nbf, has_iat;
} reg_claims;

static int read_claims(reg_claims *r, const cJSON *claims)
{
  int rc;
  if ((rc = claim_string(&r->iss, claims, "iss")) || (rc = claim_string(&r->sub, claims, "sub")) ||
      (rc = claim_string(&r->jti, claims, "jti")) || (rc = claim_aud(&r->aud, claims)) ||
      (rc = claim_date(&r->exp, &r->has_exp, claims, "exp", false)) ||
      (rc = claim_date(&r->nbf, &r->has_nbf, claims, "nbf", true)) ||
      (rc = claim_date(&r->iat, &r->has_iat, claims, "iat", true)))
    return rc;
  return STREAM_OK;
}

static int check_now(int64_t now, const char *fn)
{
  if (now < 0 || now > DATE_LIMIT_I)
    return stream__err(STREAM_EINVAL, "%s: now %lld is out of range", fn, (long long)now);
  return STREAM_OK;
}

/* A caller-supplied claim value: non-empty, under the limit, clean UTF-8. */
static int check_opt_string(const char *s, const char *name, const char *fn)
{
  if (!s)
    return STREAM_OK;
  size_t n = strlen(s);
  if (n == 0)
    return stream__err(STREAM_EINVAL, "%s: %s is empty (use NULL for none)", fn, name);
  if (n >= STREAM_TOKEN_CLAIM_MAX)
    return stream__err(STREAM_ERANGE, "%s: %s is %zu bytes; the limit is %d", fn, name, n,
                       STREAM_TOKEN_CLAIM_MAX - 1);
  if (token__check_text((const unsigned char *)s, n) != n)
    return stream__err(STREAM_EINVAL, "%s: %s is not clean UTF-8", fn, name);
  return STREAM_OK;
}

static int check_typ(const char *typ, const char *fn)
{
  if (!typ)
    return STREAM_OK;
  size_t n = strlen(typ);
  if (n == 0 || n > TYP_MAX)
    return stream__err(STREAM_EINVAL, "%s: typ must be 1..%d characters", fn, TYP_MAX);
  for (size_t i = 0; i < n; i++)
    if (typ[i] < 0x21 || typ[i] > 0x7e || typ[i] == '"' || typ[i] == '\\')
      return stream__err(STREAM_EINVAL, "%s: typ has an invalid character at offset %zu", fn, i);
  return STREAM_OK;
}

static bool valid_kid(const char *id)
{
  size_t n = strlen(id);
  if (n == 0 || n > STREAM_KEY_ID_MAX)
    return false;
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.'))
      return false;
  }
  return true;
}

/* ---- issue ----------------------------------------------------------------- */

static int issue_options(stream_token_issue_options *o, const stream_token_issue_options *opts)
{
  static const char fn[] = "stream_token_issue";
  stream_token_issue_options d = STREAM_TOKEN_ISSUE_OPTIONS_INIT;
  if (opts && opts->version != STREAM_TOKEN_ISSUE_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "%s: options version %u is unknown", fn, opts->version);
  *o = opts ? *opts : d;
  int rc;
  if ((rc = check_now(o->now, fn)))
    return rc;
  if (o->ttl < 0 || o->exp < 0 || o->nbf < 0)
    return stream__err(STREAM_EINVAL, "%s: ttl, exp and nbf must not be negative", fn);
  if (o->ttl == 0 && o->exp == 0)
    return stream__err(STREAM_EINVAL, "%s: neither ttl nor exp is set; every token must expire",
                       fn);
  if (o->ttl > 0 && o->exp > 0)
    return stream__err(STREAM_EINVAL, "%s: both ttl and exp are set; choose one", fn);
  if (o->ttl > DATE_LIMIT_I || o->exp > DATE_LIMIT_I || o->nbf > DATE_LIMIT_I)
    return stream__err(STREAM_ERANGE, "%s: ttl, exp or nbf is out of range", fn);
  if ((rc = check_opt_string(o->iss, "iss", fn)) || (rc = check_opt_string(o->sub, "sub", fn)) ||
      (rc = check_opt_string(o->aud, "aud", fn)) || (rc = check_typ(o->typ, fn)))
    return rc;
  return STREAM_OK;
}

/* cJSON prints a double with "%1.15g" whenever that reads back within an
 * epsilon, so 2^53 became 9.00719925474099e+15 and 0.30000000000000004 became
 * 0.3: the token said other numbers than asked (found by fuzzing). Dates are
 * written as integers, other numbers in their shortest exact form. */
static bool add_date(cJSON *obj, const char *name, int64_t v)
{
  char t[24];
  snprintf(t, sizeof t, "%lld", (long long)v);
  return cJSON_AddRawToObject(obj, name, t) != NULL;
}

/* Replace the numbers cJSON would print inexactly under `node` by raw text
 * that reads back exactly; refuse infinities ("1e999" parses as one). */
static int exact_numbers(cJSON *node)
{
  for (cJSON *c = node->child, *next; c; c = next) {
    next = c->next;
    if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
      int rc = exact_numbers(c);
      if (rc)
        return rc;
      continue;
    }
    if (!cJSON_IsNumber(c))
      continue;
    double d = c->valuedouble;
    if (!isfinite(d))
      return stream__err(STREAM_EINVAL, "claims_json: a number is out of the range of a double");
    char t[32];
    snprintf(t, sizeof t, "%1.15g", d);
    if (d == (double)c->valueint || strtod(t, NULL) == d)
      continue; /* cJSON prints these exactly */
    for (int prec = 16; prec <= 17; prec++) {
      snprintf(t, sizeof t, "%1.*g", prec, d);
      if (strtod(t, NULL) == d)
        break;
    }
    for (char *q = t; *q; q++)
      if (*q == ',') /* a locale's decimal comma: JSON has a point */
        *q = '.';
    cJSON *raw = cJSON_CreateRaw(t);
    if (raw && c->string) {
      raw->string = c->string; /* the member name moves to the replacement */
      c->string = NULL;
    }
    if (!raw || !cJSON_ReplaceItemViaPointer(node, c, raw)) {
      cJSON_Delete(raw);
      return stream__err(STREAM_ENOMEM, "out of memory building token claims");
    }
  }
  return STREAM_OK;
}

/* claims_json may carry registered claims the options leave unset. */
static int issue_claims(cJSON **out, const char *claims_json, const stream_token_issue_options *o,
                        int64_t exp)
{
  *out = NULL;
  if (!claims_json)
    return STREAM_OK;
  /* Base64url only grows it: anything this long cannot fit in a token. */
  size_t len = strnlen(claims_json, STREAM_TOKEN_SIZE_DEFAULT + 1);
  if (len > STREAM_TOKEN_SIZE_DEFAULT)
    return stream__err(STREAM_ERANGE, "claims_json is over %d bytes; tokens are limited to %d",
                       STREAM_TOKEN_SIZE_DEFAULT, STREAM_TOKEN_SIZE_DEFAULT);
  cJSON *c = NULL;
  int rc = token__json_object(&c, claims_json, len, "claims_json");
  if (rc)
    return rc;
  const char *clash = NULL;
  if (cJSON_GetObjectItemCaseSensitive(c, "iat"))
    clash = "iat";
  else if (cJSON_GetObjectItemCaseSensitive(c, "exp"))
    clash = "exp";
  if (clash) {
    cJSON_Delete(c);
    return stream__err(STREAM_EINVAL,
                       "claims_json carries \"%s\", which only the options set (now, ttl, exp)",
                       clash);
  }
  struct {
    const char *name;
    bool set;
  } regs[] = {{"iss", o->iss != NULL},
              {"sub", o->sub != NULL},
              {"aud", o->aud != NULL},
              {"nbf", o->nbf != 0}};
  for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++)
    if (regs[i].set && cJSON_GetObjectItemCaseSensitive(c, regs[i].name)) {
      cJSON_Delete(c);
      return stream__err(STREAM_EINVAL,
                         "claim \"%s\" is given both in claims_json and in the options",
                         regs[i].name);
    }
  reg_claims r;
  if ((rc = read_claims(&r, c)) || (rc = exact_numbers(c))) {
    cJSON_Delete(c);
    return rc;
  }
  /* Verification takes a non-empty audience, and without one refuses any
   * "aud": an "aud" of "" or [] (or only "") never verified (found by fuzzing). */
  bool aud_ok = !r.aud || (cJSON_IsString(r.aud) && r.aud->valuestring[0]);
  for (const cJSON *a = cJSON_IsArray(r.aud) ? r.aud->child : NULL; a && !aud_ok; a = a->next)
    aud_ok = a->valuestring[0] != '\0';
  if (!aud_ok) {
    cJSON_Delete(c);
    return stream__err(STREAM_EINVAL, "claims_json: \"aud\" holds no non-empty audience; no "
                                      "verifier could accept the token");
  }
  /* As the options' nbf: a token valid from exp on is never valid. */
  if (r.has_nbf && r.nbf >= exp) {
    cJSON_Delete(c);
    return stream__err(STREAM_EINVAL, "claims_json: nbf %lld is not before exp %lld",
                       (long long)r.nbf, (long long)exp);
  }
  *out = c;
  return STREAM_OK;
}

static bool add_string(cJSON *obj, const char *name, const char *v)
{
  return !v || cJSON_AddStringToObject(obj, name, v) != NULL;
}

static int issue_payload(char **out, const stream_token_issue_options *o, cJSON *claims,
                         int64_t now, int64_t exp)
{
  *out = NULL;
  char jti[32] = {0};
  if (o->jti && !cJSON_GetObjectItemCaseSensitive(claims, "jti")) {
    unsigned char raw[JTI_BYTES];
    int rc = stream_random_bytes(raw, sizeof raw);
    if (rc)
      return rc;
    stream__b64_encode_into(jti, raw, sizeof raw, STREAM_B64_URL | STREAM_B64_NOPAD);
  }
  cJSON *p = cJSON_CreateObject();
  bool ok = p && add_string(p, "iss", o->iss) && add_string(p, "sub", o->sub) &&
            add_string(p, "aud", o->aud) && add_date(p, "iat", now) &&
            (!o->nbf || add_date(p, "nbf", o->nbf)) && add_date(p, "exp", exp) &&
            add_string(p, "jti", jti[0] ? jti : NULL);
  /* The caller's claims follow, in their order. */
  cJSON *c;
  while (ok && claims && (c = claims->child)) {
    cJSON_DetachItemViaPointer(claims, c);
    if (!cJSON_AddItemToObject(p, c->string, c)) {
      cJSON_Delete(c);
      ok = false;
    }
  }
  char *s = ok ? cJSON_PrintUnformatted(p) : NULL;
  cJSON_Delete(p);
  if (!s)
    return stream__err(STREAM_ENOMEM, "out of memory building token claims");
  *out = s;
  return STREAM_OK;
}

int stream_token_issue(char **out, const stream_keyring *ring, const char *kid,
                       const char *claims_json, const stream_token_issue_options *opts)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_token_issue: out is NULL");
  *out = NULL;
  if (!ring)
    return stream__err(STREAM_EINVAL, "stream_token_issue: ring is NULL");
  if (kid && !valid_kid(kid))
    return stream__err(STREAM_EINVAL,
                       "stream_token_issue: kid is not a valid key id (1..%d of "
                       "A-Z a-z 0-9 . _ -)",
                       STREAM_KEY_ID_MAX);
  stream_token_issue_options o = STREAM_TOKEN_ISSUE_OPTIONS_INIT;
  int rc = issue_options(&o, opts);
  if (rc)
    return rc;
  int64_t now = o.now ? o.now : stream__now();
  int64_t exp = o.ttl ? now + o.ttl : o.exp;
  if (exp > DATE_LIMIT_I)
    return stream__err(STREAM_ERANGE, "stream_token_issue: exp is out of range");
  if (exp <= now)
    return stream__err(STREAM_EINVAL, "stream_token_issue: exp %lld is not after now %lld",
                       (long long)exp, (long long)now);
  if (o.nbf && o.nbf >= exp)
    return stream__err(STREAM_EINVAL, "stream_token_issue: nbf %lld is not before exp %lld",
                       (long long)o.nbf, (long long)exp);
  cJSON *claims = NULL;
  if ((rc = issue_claims(&claims, claims_json, &o, exp)))
    return rc;
  stream_key *key = NULL;
  char *payload = NULL, *tok = NULL;
  const char *alg;
  if ((rc = stream_keyring_get(&key, ring, kid)) || (rc = token__key_alg(&alg, key, true)) ||
      (rc = issue_payload(&payload, &o, claims, now, exp)))
    goto done;
  /* The id's alphabet ([A-Za-z0-9._-]) and check_typ() make escaping moot. */
  char header[64 + TYP_MAX + STREAM_KEY_ID_MAX];
  int hl = snprintf(header, sizeof header, "{\"alg\":\"%s\",\"typ\":\"%s\",\"kid\":\"%s\"}", alg,
                    o.typ ? o.typ : "JWT", key->id);
  if (hl < 0 || (size_t)hl >= sizeof header) {
    rc = stream__err(STREAM_EINTERNAL, "stream_token_issue: header does not fit");
    goto done;
  }
  if ((rc = token__jws_build(&tok, key, header, (size_t)hl, payload, strlen(payload))))
    goto done;
  size_t n = strlen(tok);
  if (n > STREAM_TOKEN_SIZE_DEFAULT) {
    free(tok);
    rc = stream__err(STREAM_ERANGE,
                     "stream_token_issue: the token would be %zu bytes; the limit is %d", n,
                     STREAM_TOKEN_SIZE_DEFAULT);
    goto done;
  }
  *out = tok;
done:
  cJSON_free(payload);
  cJSON_Delete(claims);
  stream_key_free(key);
  return rc;
}

/* ---- verify ---------------------------------------------------------------- */

static int verify_options(stream_token_verify_options *o, size_t *max,
                          const stream_token_verify_options *opts)
{
  static const char fn[] = "stream_token_verify";
  stream_token_verify_options d = STREAM_TOKEN_VERIFY_OPTIONS_INIT;
  if (opts && opts->version != STREAM_TOKEN_VERIFY_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "%s: options version %u is unknown", fn, opts->version);
  *o = opts ? *opts : d;
  int rc;
  if ((rc = check_now(o->now, fn)))
    return rc;
  if (o->leeway < 0 || o->leeway > STREAM_TOKEN_LEEWAY_MAX)
    return stream__err(STREAM_EINVAL, "%s: leeway %lld is outside 0..%d seconds", fn,
                       (long long)o->leeway, STREAM_TOKEN_LEEWAY_MAX);
  if (o->max_size > STREAM_TOKEN_SIZE_MAX)
    return stream__err(STREAM_EINVAL, "%s: max_size %zu is over %d bytes", fn, o->max_size,
                       STREAM_TOKEN_SIZE_MAX);
  *max = o->max_size ? o->max_size : STREAM_TOKEN_SIZE_DEFAULT;
  if ((rc = check_opt_string(o->iss, "iss", fn)) || (rc = check_opt_string(o->aud, "aud", fn)) ||
      (rc = check_typ(o->typ, fn)))
    return rc;
  return STREAM_OK;
}

/* Key by kid, alg bound to the key, signature. */
static int verify_signature(const token__jws *j, const stream_keyring *ring)
{
  if (!j->kid)
    return stream__err(STREAM_EAUTH, "token has no \"kid\"; cannot choose a key");
  if (!valid_kid(j->kid))
    return stream__err(STREAM_EAUTH, "token \"kid\" is not a valid key id");
  stream_key *key = NULL;
  int rc = stream_keyring_get(&key, ring, j->kid);
  if (rc == STREAM_ENOTFOUND)
    return stream__err(STREAM_EAUTH, "token \"kid\" '%s' is not in the key ring", j->kid);
  if (rc)
    return rc;
  if (!(rc = token__jws_check_key(j, key)))
    rc = token__jws_verify_sig(j, key);
  stream_key_free(key);
  return rc;
}

static int check_times(const reg_claims *r, const stream_token_verify_options *o, int64_t now)
{
  int64_t lw = o->leeway;
  if (!r->has_exp && o->require_exp)
    return stream__err(STREAM_EINVAL, "token has no \"exp\" claim");
  if (r->has_exp && now >= r->exp + lw)
    return stream__err(STREAM_EEXPIRED, "token expired: exp %lld, now %lld, leeway %lld s",
                       (long long)r->exp, (long long)now, (long long)lw);
  if (r->has_nbf && now < r->nbf - lw)
    return stream__err(STREAM_EEXPIRED, "token not yet valid: nbf %lld, now %lld, leeway %lld s",
                       (long long)r->nbf, (long long)now, (long long)lw);
  if (r->has_iat && r->iat > now + lw)
    return stream__err(STREAM_EEXPIRED,
                       "token issued in the future: iat %lld, now %lld, leeway "
                       "%lld s",
                       (long long)r->iat, (long long)now, (long long)lw);
  return STREAM_OK;
}

static int check_audience(const reg_claims *r, const stream_token_verify_options *o)
{
  char v[72];
  if (r->iss && o->iss && strcmp(r->iss, o->iss) != 0)
    return stream__err(STREAM_EFORBIDDEN, "token \"iss\" is '%s'; expected '%s'",
                       token__printable(v, sizeof v, r->iss), o->iss);
  if (!r->iss && o->iss)
    return stream__err(STREAM_EFORBIDDEN, "token has no \"iss\"; expected '%s'", o->iss);
  if (!o->aud) {
    if (r->aud)
      return stream__err(STREAM_EFORBIDDEN, "token has an \"aud\" claim but no audience was "
                                            "given to check it against");
    return STREAM_OK;
  }
  if (!r->aud)
    return stream__err(STREAM_EFORBIDDEN, "token has no \"aud\"; expected '%s'", o->aud);
  if (cJSON_IsString(r->aud)) {
    if (strcmp(r->aud->valuestring, o->aud) != 0)
      return stream__err(STREAM_EFORBIDDEN, "token \"aud\" is '%s'; expected '%s'",
                         token__printable(v, sizeof v, r->aud->valuestring), o->aud);
    return STREAM_OK;
  }
  for (const cJSON *c = r->aud->child; c; c = c->next)
    if (strcmp(c->valuestring, o->aud) == 0)
      return STREAM_OK;
  return stream__err(STREAM_EFORBIDDEN, "token \"aud\" array does not contain '%s'", o->aud);
}

static void copy_claim(char dst[STREAM_TOKEN_CLAIM_MAX], const char *src)
{
  if (src)
    memcpy(dst, src, strlen(src) + 1); /* read_claims() bounded the length */
}

int stream_token_verify(char **out_claims_json, stream_token_claims *out,
                        const stream_keyring *ring, const char *token,
                        const stream_token_verify_options *opts)
{
  if (out_claims_json)
    *out_claims_json = NULL;
  if (out)
    memset(out, 0, sizeof *out);
  if (!ring || !token)
    return stream__err(STREAM_EINVAL, "stream_token_verify: ring or token is NULL");
  stream_token_verify_options o = STREAM_TOKEN_VERIFY_OPTIONS_INIT;
  size_t max = 0;
  int rc = verify_options(&o, &max, opts);
  if (rc)
    return rc;
  int64_t now = o.now ? o.now : stream__now();
  token__jws j;
  if ((rc = token__jws_parse(&j, token, max)))
    return rc;
  cJSON *claims = NULL;
  if ((rc = verify_signature(&j, ring)))
    goto done;
  if (o.typ ? (!j.typ || strcasecmp(j.typ, o.typ) != 0)
            : (j.typ && strcasecmp(j.typ, "JWT") != 0)) {
    char v[40];
    rc =
        stream__err(STREAM_EFORBIDDEN, "token \"typ\" is '%s'; expected '%s'",
                    j.typ ? token__printable(v, sizeof v, j.typ) : "(none)", o.typ ? o.typ : "JWT");
    goto done;
  }
  if ((rc = token__json_object(&claims, (const char *)j.payload, j.payload_len, "token claims")))
    goto done;
  reg_claims r;
  if ((rc = read_claims(&r, claims)) || (rc = check_times(&r, &o, now)) ||
      (rc = check_audience(&r, &o)))
    goto done;
  if (out) {
    copy_claim(out->sub, r.sub);
    copy_claim(out->iss, r.iss);
    copy_claim(out->jti, r.jti);
    copy_claim(out->aud, o.aud ? o.aud : NULL);
    memcpy(out->kid, j.kid, strlen(j.kid) + 1);
    out->exp = r.exp;
    out->nbf = r.nbf;
    out->iat = r.iat;
    out->has_exp = r.has_exp;
    out->has_nbf = r.has_nbf;
    out->has_iat = r.has_iat;
  }
  if (out_claims_json) {
    /* Hand the decoding buffer over, the claims moved to its start. */
    memmove(j.buf, j.payload, j.payload_len);
    j.buf[j.payload_len] = '\0';
    *out_claims_json = (char *)j.buf;
    j.buf = NULL;
  }
done:
  cJSON_Delete(claims);
  token__jws_free(&j);
  return rc;
}
