/*
 * password: Argon2id password hashing through libargon2's argon2_ctx(), PHC
 * string encoding and strict parsing, constant-time verification and the
 * "needs rehash" check. The parser bounds every cost parameter before any
 * memory is allocated, so a hostile stored string cannot exhaust memory or
 * CPU; the bounds are documented in include/stream/password.h.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>

#include "../core/core.h"
#include "stream/password.h"

#define PHC_PREFIX "$argon2id$"
#define RAW_OUT_MIN 4
#define RAW_OUT_MAX 1024
#define RAW_SECRET_MAX 64
#define RAW_AD_MAX 4096

/* A parsed PHC string. */
typedef struct phc_parts {
  uint32_t version;
  uint32_t m, t, p;
  unsigned char salt[STREAM_PASSWORD_SALT_MAX];
  size_t salt_len;
  unsigned char hash[STREAM_PASSWORD_HASH_MAX];
  size_t hash_len;
} phc_parts;

static int check_params(const stream_password_params *pp, const char *fn)
{
  if (pp->version != STREAM_PASSWORD_PARAMS_VERSION)
    return stream__err(STREAM_EINVAL, "%s: params->version is %u; expected %d", fn, pp->version,
                       STREAM_PASSWORD_PARAMS_VERSION);
  if (pp->parallelism < 1 || pp->parallelism > STREAM_PASSWORD_P_MAX)
    return stream__err(STREAM_ERANGE, "%s: parallelism %u is outside 1..%d", fn, pp->parallelism,
                       STREAM_PASSWORD_P_MAX);
  if (pp->t_cost < 1 || pp->t_cost > STREAM_PASSWORD_T_MAX)
    return stream__err(STREAM_ERANGE, "%s: t_cost %u is outside 1..%d", fn, pp->t_cost,
                       STREAM_PASSWORD_T_MAX);
  if (pp->m_cost < 8 * pp->parallelism || pp->m_cost > STREAM_PASSWORD_M_MAX)
    return stream__err(STREAM_ERANGE, "%s: m_cost %u KiB is outside %u..%d KiB", fn, pp->m_cost,
                       8 * pp->parallelism, STREAM_PASSWORD_M_MAX);
  return STREAM_OK;
}

static int check_lengths(const stream_password_params *pp, const char *fn)
{
  if (pp->hash_len < STREAM_PASSWORD_HASH_MIN || pp->hash_len > STREAM_PASSWORD_HASH_MAX)
    return stream__err(STREAM_ERANGE, "%s: hash_len %u is outside %d..%d bytes", fn, pp->hash_len,
                       STREAM_PASSWORD_HASH_MIN, STREAM_PASSWORD_HASH_MAX);
  if (pp->salt_len < STREAM_PASSWORD_SALT_MIN || pp->salt_len > STREAM_PASSWORD_SALT_MAX)
    return stream__err(STREAM_ERANGE, "%s: salt_len %u is outside %d..%d bytes", fn, pp->salt_len,
                       STREAM_PASSWORD_SALT_MIN, STREAM_PASSWORD_SALT_MAX);
  return STREAM_OK;
}

/* libargon2 takes non-const pointers but does not write through them unless
 * asked to clear the password/secret (we never set those flags). */
static uint8_t *unconst(const void *p)
{
  return (uint8_t *)(uintptr_t)p;
}

/* Run Argon2id; every length has been bounded by the caller. */
static int run_argon2id(unsigned char *out, size_t out_len, const void *pwd, size_t pwd_len,
                        const void *salt, size_t salt_len, const void *secret, size_t secret_len,
                        const void *ad, size_t ad_len, uint32_t m, uint32_t t, uint32_t p,
                        uint32_t version)
{
  argon2_context ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.out = out;
  ctx.outlen = (uint32_t)out_len;
  ctx.pwd = unconst(pwd);
  ctx.pwdlen = (uint32_t)pwd_len;
  ctx.salt = unconst(salt);
  ctx.saltlen = (uint32_t)salt_len;
  ctx.secret = secret_len ? unconst(secret) : NULL;
  ctx.secretlen = (uint32_t)secret_len;
  ctx.ad = ad_len ? unconst(ad) : NULL;
  ctx.adlen = (uint32_t)ad_len;
  ctx.t_cost = t;
  ctx.m_cost = m;
  ctx.lanes = p;
  ctx.threads = p;
  ctx.version = version;
  ctx.flags = ARGON2_DEFAULT_FLAGS;
  /* An empty password is legal for the raw function; libargon2 wants a
   * non-NULL pointer only when the length is non-zero. */
  static const uint8_t empty[1] = {0};
  if (!pwd_len)
    ctx.pwd = unconst(empty);
  int rc = argon2_ctx(&ctx, Argon2_id);
  if (rc == ARGON2_OK)
    return STREAM_OK;
  stream__wipe(out, out_len);
  if (rc == ARGON2_MEMORY_ALLOCATION_ERROR)
    return stream__err(STREAM_ENOMEM, "argon2id: cannot allocate %u KiB", m);
  return stream__err(STREAM_ECRYPTO, "argon2id failed: %s", argon2_error_message(rc));
}

/* Parse a decimal uint32 without sign or leading zeros, up to `stop`. */
static bool parse_u32(const char **sp, char stop, uint32_t *out)
{
  const char *s = *sp;
  if (*s < '0' || *s > '9')
    return false;
  if (*s == '0' && s[1] >= '0' && s[1] <= '9')
    return false;
  uint64_t v = 0;
  size_t n = 0;
  while (*s >= '0' && *s <= '9') {
    v = v * 10 + (uint64_t)(*s - '0');
    if (v > UINT32_MAX || ++n > 10)
      return false;
    s++;
  }
  if (*s != stop)
    return false;
  *out = (uint32_t)v;
  *sp = s + 1;
  return true;
}

/* Decode one unpadded, canonical, standard-alphabet base64 field ending at
 * '$' (or at the end of the string when `last`). */
static int parse_b64(const char **sp, bool last, unsigned char *dst, size_t cap, size_t min,
                     size_t *written, const char *what)
{
  const char *s = *sp;
  const char *end = last ? s + strlen(s) : strchr(s, '$');
  if (!end)
    return stream__err(STREAM_EINVAL, "PHC string: missing '$' after the %s", what);
  size_t n = (size_t)(end - s);
  if (n == 0)
    return stream__err(STREAM_EINVAL, "PHC string: empty %s", what);
  if (memchr(s, '=', n))
    return stream__err(STREAM_EINVAL, "PHC string: the %s has base64 padding", what);
  int rc = stream__b64_decode_into(dst, cap, written, s, n, STREAM_B64_STD, true);
  if (rc == STREAM_ERANGE)
    return stream__err(STREAM_ERANGE, "PHC string: the %s is longer than %zu bytes", what, cap);
  if (rc)
    return stream__err(STREAM_EINVAL, "PHC string: the %s is not canonical unpadded base64", what);
  if (*written < min)
    return stream__err(STREAM_ERANGE, "PHC string: the %s is %zu bytes; the minimum is %zu", what,
                       *written, min);
  *sp = last ? end : end + 1;
  return STREAM_OK;
}

/* Strict parser. Accepts version 16 or 19 (the caller decides which it
 * supports); everything else must match exactly. */
static int phc_parse(phc_parts *pr, const char *phc)
{
  memset(pr, 0, sizeof *pr);
  size_t total = strnlen(phc, 512);
  if (total >= 512)
    return stream__err(STREAM_EINVAL, "PHC string is longer than 511 characters");
  if (strncmp(phc, PHC_PREFIX, strlen(PHC_PREFIX)) != 0) {
    if (strncmp(phc, "$argon2i$", 9) == 0 || strncmp(phc, "$argon2d$", 9) == 0)
      return stream__err(STREAM_ENOTSUP, "PHC string: only argon2id is supported");
    return stream__err(STREAM_EINVAL, "PHC string does not start with '" PHC_PREFIX "'");
  }
  const char *s = phc + strlen(PHC_PREFIX);
  if (strncmp(s, "v=", 2) != 0)
    return stream__err(STREAM_EINVAL, "PHC string: missing version field 'v='");
  s += 2;
  if (!parse_u32(&s, '$', &pr->version))
    return stream__err(STREAM_EINVAL, "PHC string: malformed version");
  if (pr->version != ARGON2_VERSION_13 && pr->version != ARGON2_VERSION_10)
    return stream__err(STREAM_ENOTSUP, "PHC string: unknown argon2 version %u", pr->version);
  if (strncmp(s, "m=", 2) != 0)
    return stream__err(STREAM_EINVAL, "PHC string: expected 'm=' after the version");
  s += 2;
  if (!parse_u32(&s, ',', &pr->m))
    return stream__err(STREAM_EINVAL, "PHC string: malformed m");
  if (strncmp(s, "t=", 2) != 0)
    return stream__err(STREAM_EINVAL, "PHC string: expected 't=' after m");
  s += 2;
  if (!parse_u32(&s, ',', &pr->t))
    return stream__err(STREAM_EINVAL, "PHC string: malformed t");
  if (strncmp(s, "p=", 2) != 0)
    return stream__err(STREAM_EINVAL, "PHC string: expected 'p=' after t");
  s += 2;
  if (!parse_u32(&s, '$', &pr->p))
    return stream__err(STREAM_EINVAL, "PHC string: malformed p (or extra parameters)");
  if (pr->p < 1 || pr->p > STREAM_PASSWORD_P_MAX)
    return stream__err(STREAM_ERANGE, "PHC string: p=%u is outside 1..%d", pr->p,
                       STREAM_PASSWORD_P_MAX);
  if (pr->t < 1 || pr->t > STREAM_PASSWORD_T_MAX)
    return stream__err(STREAM_ERANGE, "PHC string: t=%u is outside 1..%d", pr->t,
                       STREAM_PASSWORD_T_MAX);
  if (pr->m < 8 * pr->p || pr->m > STREAM_PASSWORD_M_MAX)
    return stream__err(STREAM_ERANGE, "PHC string: m=%u KiB is outside %u..%d KiB", pr->m,
                       8 * pr->p, STREAM_PASSWORD_M_MAX);
  int rc = parse_b64(&s, false, pr->salt, sizeof pr->salt, STREAM_PASSWORD_SALT_MIN, &pr->salt_len,
                     "salt");
  if (rc)
    return rc;
  rc = parse_b64(&s, true, pr->hash, sizeof pr->hash, STREAM_PASSWORD_HASH_MIN, &pr->hash_len,
                 "hash");
  if (rc)
    return rc;
  return STREAM_OK;
}

int stream_password_hash(char **out, const void *pwd, size_t pwd_len,
                         const stream_password_params *params)
{
  static const char fn[] = "stream_password_hash";
  if (!out)
    return stream__err(STREAM_EINVAL, "%s: out is NULL", fn);
  *out = NULL;
  if (!pwd)
    return stream__err(STREAM_EINVAL, "%s: pwd is NULL", fn);
  if (pwd_len < STREAM_PASSWORD_LEN_MIN || pwd_len > STREAM_PASSWORD_LEN_MAX)
    return stream__err(STREAM_ERANGE, "%s: password is %zu bytes; it must be %d..%d bytes", fn,
                       pwd_len, STREAM_PASSWORD_LEN_MIN, STREAM_PASSWORD_LEN_MAX);
  stream_password_params defaults = STREAM_PASSWORD_PARAMS_INIT;
  const stream_password_params *pp = params ? params : &defaults;
  int rc = check_params(pp, fn);
  if (!rc)
    rc = check_lengths(pp, fn);
  if (rc)
    return rc;

  unsigned char salt[STREAM_PASSWORD_SALT_MAX];
  unsigned char tag[STREAM_PASSWORD_HASH_MAX];
  if (pp->salt)
    memcpy(salt, pp->salt, pp->salt_len);
  else if ((rc = stream_random_bytes(salt, pp->salt_len)))
    return rc;
  rc = run_argon2id(tag, pp->hash_len, pwd, pwd_len, salt, pp->salt_len, NULL, 0, NULL, 0,
                    pp->m_cost, pp->t_cost, pp->parallelism, ARGON2_VERSION_13);
  if (rc)
    return rc;

  char salt_b64[STREAM_PASSWORD_SALT_MAX * 2];
  char tag_b64[STREAM_PASSWORD_HASH_MAX * 2];
  unsigned int fl = STREAM_B64_STD | STREAM_B64_NOPAD;
  stream__b64_encode_into(salt_b64, salt, pp->salt_len, fl);
  stream__b64_encode_into(tag_b64, tag, pp->hash_len, fl);
  stream__wipe(tag, sizeof tag);
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_printf(&b, "%sv=%d$m=%u,t=%u,p=%u$%s$%s", PHC_PREFIX, ARGON2_VERSION_13, pp->m_cost,
                     pp->t_cost, pp->parallelism, salt_b64, tag_b64);
  return stream__buf_detach(&b, out);
}

int stream_password_verify(const char *phc, const void *pwd, size_t pwd_len)
{
  if (!phc)
    return stream__err(STREAM_EINVAL, "stream_password_verify: phc is NULL");
  if (!pwd)
    return stream__err(STREAM_EINVAL, "stream_password_verify: pwd is NULL");
  phc_parts pr;
  int rc = phc_parse(&pr, phc);
  if (rc)
    return rc;
  if (pr.version != ARGON2_VERSION_13)
    return stream__err(STREAM_ENOTSUP,
                       "PHC string: argon2 version %u is not accepted for verification (only 19)",
                       pr.version);
  if (pwd_len < STREAM_PASSWORD_LEN_MIN || pwd_len > STREAM_PASSWORD_LEN_MAX)
    return stream__err(STREAM_EAUTH, "password does not match (length %zu is outside %d..%d)",
                       pwd_len, STREAM_PASSWORD_LEN_MIN, STREAM_PASSWORD_LEN_MAX);
  unsigned char tag[STREAM_PASSWORD_HASH_MAX];
  rc = run_argon2id(tag, pr.hash_len, pwd, pwd_len, pr.salt, pr.salt_len, NULL, 0, NULL, 0, pr.m,
                    pr.t, pr.p, pr.version);
  if (rc)
    return rc;
  int eq = stream_ct_equal(tag, pr.hash, pr.hash_len);
  stream__wipe(tag, sizeof tag);
  stream__wipe(&pr, sizeof pr);
  return eq ? STREAM_OK : stream__err(STREAM_EAUTH, "password does not match");
}

int stream_password_needs_rehash(int *out, const char *phc, const stream_password_params *params)
{
  static const char fn[] = "stream_password_needs_rehash";
  if (!out)
    return stream__err(STREAM_EINVAL, "%s: out is NULL", fn);
  *out = 0;
  if (!phc)
    return stream__err(STREAM_EINVAL, "%s: phc is NULL", fn);
  stream_password_params defaults = STREAM_PASSWORD_PARAMS_INIT;
  const stream_password_params *pp = params ? params : &defaults;
  int rc = check_params(pp, fn);
  if (!rc)
    rc = check_lengths(pp, fn);
  if (rc)
    return rc;
  phc_parts pr;
  if ((rc = phc_parse(&pr, phc)))
    return rc;
  *out = pr.version != ARGON2_VERSION_13 || pr.m != pp->m_cost || pr.t != pp->t_cost ||
         pr.p != pp->parallelism || pr.hash_len != pp->hash_len || pr.salt_len != pp->salt_len;
  return STREAM_OK;
}

int stream_password_argon2id_raw(unsigned char *out, size_t out_len, const void *pwd,
                                 size_t pwd_len, const void *salt, size_t salt_len,
                                 const void *secret, size_t secret_len, const void *ad,
                                 size_t ad_len, const stream_password_params *params)
{
  static const char fn[] = "stream_password_argon2id_raw";
  if (!out)
    return stream__err(STREAM_EINVAL, "%s: out is NULL", fn);
  if (out_len < RAW_OUT_MIN || out_len > RAW_OUT_MAX)
    return stream__err(STREAM_ERANGE, "%s: out_len %zu is outside %d..%d", fn, out_len, RAW_OUT_MIN,
                       RAW_OUT_MAX);
  if (!pwd && pwd_len)
    return stream__err(STREAM_EINVAL, "%s: pwd is NULL with length %zu", fn, pwd_len);
  if (pwd_len > STREAM_PASSWORD_LEN_MAX)
    return stream__err(STREAM_ERANGE, "%s: password is %zu bytes; the limit is %d", fn, pwd_len,
                       STREAM_PASSWORD_LEN_MAX);
  if (!salt)
    return stream__err(STREAM_EINVAL, "%s: salt is NULL", fn);
  if (salt_len < STREAM_PASSWORD_SALT_MIN || salt_len > STREAM_PASSWORD_SALT_MAX)
    return stream__err(STREAM_ERANGE, "%s: salt is %zu bytes; it must be %d..%d", fn, salt_len,
                       STREAM_PASSWORD_SALT_MIN, STREAM_PASSWORD_SALT_MAX);
  if (!secret && secret_len)
    return stream__err(STREAM_EINVAL, "%s: secret is NULL with length %zu", fn, secret_len);
  if (secret_len > RAW_SECRET_MAX)
    return stream__err(STREAM_ERANGE, "%s: secret is %zu bytes; the limit is %d", fn, secret_len,
                       RAW_SECRET_MAX);
  if (!ad && ad_len)
    return stream__err(STREAM_EINVAL, "%s: ad is NULL with length %zu", fn, ad_len);
  if (ad_len > RAW_AD_MAX)
    return stream__err(STREAM_ERANGE, "%s: associated data is %zu bytes; the limit is %d", fn,
                       ad_len, RAW_AD_MAX);
  stream_password_params defaults = STREAM_PASSWORD_PARAMS_INIT;
  const stream_password_params *pp = params ? params : &defaults;
  int rc = check_params(pp, fn);
  if (rc)
    return rc;
  return run_argon2id(out, out_len, pwd, pwd_len, salt, salt_len, secret, secret_len, ad, ad_len,
                      pp->m_cost, pp->t_cost, pp->parallelism, ARGON2_VERSION_13);
}
