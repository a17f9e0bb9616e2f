/*
 * token/jws: the JWS compact serialization (RFC 7515 §7.1) with exactly two
 * algorithms, HS256 (RFC 7518 §3.2) and EdDSA over Ed25519 (RFC 8037). The
 * algorithm is a property of the key: the header's "alg" is only compared
 * with it, never used to choose how to verify, which rules out "alg: none"
 * and HMAC-with-a-public-key confusion by construction. This file owns
 * splitting, strict base64url, header rules, signing and constant-time
 * verification; jwt.c builds tokens and claim checks on top of it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "../core/core.h"
#include "token_internal.h"

#define HS256_LEN 32
#define ED25519_SIG_LEN 64
#define HS256_KEY_MIN 32 /* RFC 7518 §3.2: at least the hash size */
#define B64URL (STREAM_B64_URL | STREAM_B64_NOPAD)

static const char alg_hs256[] = "HS256";
static const char alg_eddsa[] = "EdDSA";

/* ---- crypto -------------------------------------------------------------- */

/* The HMAC implementation is fetched once; fetching per call costs more than
 * the MAC of a token. It stays for the life of the process. */
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;
static EVP_MAC *hmac_alg;

static void hmac_fetch(void)
{
  hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static int hs256(unsigned char out[HS256_LEN], const stream_key *key, const void *data, size_t n)
{
  pthread_once(&hmac_once, hmac_fetch);
  if (!hmac_alg)
    return stream__err(STREAM_ECRYPTO, "OpenSSL has no HMAC implementation");
  char digest[] = "SHA256";
  OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                          OSSL_PARAM_construct_end()};
  EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac_alg);
  size_t len = 0;
  int ok = ctx && EVP_MAC_init(ctx, key->secret, key->len, params) == 1 &&
           EVP_MAC_update(ctx, data, n) == 1 && EVP_MAC_final(ctx, out, &len, HS256_LEN) == 1 &&
           len == HS256_LEN;
  EVP_MAC_CTX_free(ctx);
  if (!ok) {
    ERR_clear_error();
    return stream__err(STREAM_ECRYPTO, "HMAC-SHA256 with key '%s' failed", key->id);
  }
  return STREAM_OK;
}

static int ed25519_sign(unsigned char out[ED25519_SIG_LEN], const stream_key *key, const void *data,
                        size_t n)
{
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  size_t len = ED25519_SIG_LEN;
  int ok = md && key->pkey && EVP_DigestSignInit(md, NULL, NULL, NULL, key->pkey) == 1 &&
           EVP_DigestSign(md, out, &len, data, n) == 1 && len == ED25519_SIG_LEN;
  EVP_MD_CTX_free(md);
  if (!ok) {
    ERR_clear_error();
    return stream__err(STREAM_ECRYPTO, "Ed25519 signing with key '%s' failed", key->id);
  }
  return STREAM_OK;
}

/* 1 valid, 0 invalid, negative status on failure to run. */
static int ed25519_verify(const stream_key *key, const unsigned char *sig, const void *data,
                          size_t n)
{
  EVP_MD_CTX *md = EVP_MD_CTX_new();
  if (!md)
    return stream__err(STREAM_ENOMEM, "out of memory verifying Ed25519");
  int rc = STREAM_ECRYPTO;
  if (key->pkey && EVP_DigestVerifyInit(md, NULL, NULL, NULL, key->pkey) == 1)
    rc = EVP_DigestVerify(md, sig, ED25519_SIG_LEN, data, n) == 1 ? 1 : 0;
  EVP_MD_CTX_free(md);
  ERR_clear_error();
  if (rc < 0)
    return stream__err(rc, "Ed25519 verification with key '%s' could not run", key->id);
  return rc;
}

/* ---- keys and headers ------------------------------------------------------ */

int token__key_alg(const char **alg, const stream_key *key, bool signing)
{
  *alg = NULL;
  if (!key)
    return stream__err(STREAM_EINVAL, "key is NULL");
  switch (key->type) {
  case STREAM_KEY_HMAC:
    if (key->len < HS256_KEY_MIN)
      return stream__err(STREAM_EINVAL,
                         "HMAC key '%s' is %zu bytes; HS256 needs at least %d (RFC 7518 §3.2)",
                         key->id, key->len, HS256_KEY_MIN);
    *alg = alg_hs256;
    return STREAM_OK;
  case STREAM_KEY_ED25519_PRIVATE:
    *alg = alg_eddsa;
    return STREAM_OK;
  case STREAM_KEY_ED25519_PUBLIC:
    if (signing)
      return stream__err(STREAM_EINVAL, "key '%s' is an Ed25519 public key and cannot sign",
                         key->id);
    *alg = alg_eddsa;
    return STREAM_OK;
  default:
    return stream__err(STREAM_EINVAL, "key '%s' has an unknown type %d", key->id, key->type);
  }
}

int token__check_header(const cJSON *hdr, const char **alg, const char **kid, const char **typ)
{
  char v[40];
  *alg = *kid = *typ = NULL;
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(hdr, "alg");
  if (!a)
    return stream__err(STREAM_EINVAL, "JWS header has no \"alg\"");
  if (!cJSON_IsString(a))
    return stream__err(STREAM_EINVAL, "JWS header \"alg\" is not a string");
  if (strcasecmp(a->valuestring, "none") == 0)
    return stream__err(STREAM_EAUTH,
                       "JWS header \"alg\" is '%s': unsecured tokens are never "
                       "accepted",
                       token__printable(v, sizeof v, a->valuestring));
  const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(hdr, "b64");
  if (b64) {
    if (!cJSON_IsBool(b64))
      return stream__err(STREAM_EINVAL, "JWS header \"b64\" is not a boolean");
    if (cJSON_IsFalse(b64))
      return stream__err(
          STREAM_ENOTSUP,
          "JWS header \"b64\": false (unencoded payload, RFC 7797) is not supported");
  }
  const cJSON *crit = cJSON_GetObjectItemCaseSensitive(hdr, "crit");
  if (crit) {
    if (!cJSON_IsArray(crit) || !crit->child)
      return stream__err(STREAM_EINVAL, "JWS header \"crit\" is not a non-empty array");
    for (const cJSON *c = crit->child; c; c = c->next)
      if (!cJSON_IsString(c))
        return stream__err(STREAM_EINVAL, "JWS header \"crit\" holds a non-string");
    return stream__err(STREAM_ENOTSUP, "JWS header \"crit\" names '%s', which is not supported",
                       token__printable(v, sizeof v, crit->child->valuestring));
  }
  const cJSON *k = cJSON_GetObjectItemCaseSensitive(hdr, "kid");
  if (k && !cJSON_IsString(k))
    return stream__err(STREAM_EINVAL, "JWS header \"kid\" is not a string");
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(hdr, "typ");
  if (t && !cJSON_IsString(t))
    return stream__err(STREAM_EINVAL, "JWS header \"typ\" is not a string");
  *alg = a->valuestring;
  *kid = k ? k->valuestring : NULL;
  *typ = t ? t->valuestring : NULL;
  return STREAM_OK;
}

/* ---- parsing --------------------------------------------------------------- */

void token__jws_free(token__jws *j)
{
  cJSON_Delete(j->hdr);
  free(j->buf);
  memset(j, 0, sizeof *j);
}

static int decode_segment(unsigned char *dst, size_t cap, size_t *written, const char *seg,
                          size_t n, const char *name)
{
  const char *pad = memchr(seg, '=', n);
  if (pad)
    return stream__err(STREAM_EINVAL,
                       "token %s segment: '=' padding at offset %zu (JWS base64url is unpadded)",
                       name, (size_t)(pad - seg));
  if (stream__b64_decode_into(dst, cap, written, seg, n, STREAM_B64_URL, false) != STREAM_OK) {
    char why[200];
    const stream_error *e = stream_error_last();
    snprintf(why, sizeof why, "%.190s", e ? e->message : "bad base64url");
    return stream__err(STREAM_EINVAL, "token %s segment: %s", name, why);
  }
  dst[*written] = '\0';
  return STREAM_OK;
}

int token__jws_parse(token__jws *j, const char *jws, size_t max_size)
{
  memset(j, 0, sizeof *j);
  size_t n = strnlen(jws, max_size + 1);
  if (n > max_size)
    return stream__err(STREAM_ERANGE, "token is over the %zu-byte limit", max_size);
  if (n == 0)
    return stream__err(STREAM_EINVAL, "token is empty");
  const char *d1 = memchr(jws, '.', n);
  const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - jws)) : NULL;
  if (!d2)
    return stream__err(STREAM_EINVAL, "token has %d segment%s; a compact JWS has 3", d1 ? 2 : 1,
                       d1 ? "s" : "");
  const char *end = jws + n;
  if (memchr(d2 + 1, '.', (size_t)(end - (d2 + 1))))
    return stream__err(STREAM_EINVAL, "token has more than 3 segments; a compact JWS has 3 "
                                      "(encrypted JWE tokens are not supported)");
  size_t hl = (size_t)(d1 - jws), pl = (size_t)(d2 - d1 - 1), sl = (size_t)(end - d2 - 1);
  if (hl == 0)
    return stream__err(STREAM_EINVAL, "token header segment is empty");
  size_t hcap = stream__b64_decoded_max(hl), pcap = stream__b64_decoded_max(pl),
         scap = stream__b64_decoded_max(sl);
  j->buf = malloc(hcap + pcap + scap + 3);
  if (!j->buf)
    return stream__err(STREAM_ENOMEM, "out of memory decoding a %zu-byte token", n);
  unsigned char *h = j->buf, *p = h + hcap + 1, *s = p + pcap + 1;
  int rc;
  if ((rc = decode_segment(h, hcap, &j->header_len, jws, hl, "header")) ||
      (rc = decode_segment(p, pcap, &j->payload_len, d1 + 1, pl, "payload")) ||
      (rc = decode_segment(s, scap, &j->sig_len, d2 + 1, sl, "signature")))
    goto fail;
  j->header = (const char *)h;
  j->payload = p;
  j->sig = s;
  j->signing_input = jws;
  j->signing_input_len = (size_t)(d2 - jws);
  if ((rc = token__json_object(&j->hdr, j->header, j->header_len, "JWS header")))
    goto fail;
  if ((rc = token__check_header(j->hdr, &j->alg, &j->kid, &j->typ)))
    goto fail;
  return STREAM_OK;
fail:
  token__jws_free(j);
  return rc;
}

int token__jws_check_key(const token__jws *j, const stream_key *key)
{
  const char *alg;
  int rc = token__key_alg(&alg, key, false);
  if (rc)
    return rc;
  if (strcmp(j->alg, alg) != 0) {
    char v[40];
    return stream__err(STREAM_EAUTH, "token \"alg\" is '%s' but key '%s' only verifies %s",
                       token__printable(v, sizeof v, j->alg), key->id, alg);
  }
  return STREAM_OK;
}

int token__jws_verify_sig(const token__jws *j, const stream_key *key)
{
  if (key->type == STREAM_KEY_HMAC) {
    if (j->sig_len != HS256_LEN)
      return stream__err(STREAM_EAUTH, "token signature is %zu bytes; HS256 gives %d", j->sig_len,
                         HS256_LEN);
    unsigned char mac[HS256_LEN];
    int rc = hs256(mac, key, j->signing_input, j->signing_input_len);
    if (rc)
      return rc;
    int equal = CRYPTO_memcmp(mac, j->sig, HS256_LEN) == 0;
    stream__wipe(mac, sizeof mac);
    if (!equal)
      return stream__err(STREAM_EAUTH, "token signature does not match key '%s'", key->id);
    return STREAM_OK;
  }
  if (j->sig_len != ED25519_SIG_LEN)
    return stream__err(STREAM_EAUTH, "token signature is %zu bytes; EdDSA gives %d", j->sig_len,
                       ED25519_SIG_LEN);
  int ok = ed25519_verify(key, j->sig, j->signing_input, j->signing_input_len);
  if (ok < 0)
    return ok;
  if (!ok)
    return stream__err(STREAM_EAUTH, "token signature does not match key '%s'", key->id);
  return STREAM_OK;
}

/* ---- signing --------------------------------------------------------------- */

int token__jws_build(char **out, const stream_key *key, const char *header, size_t header_len,
                     const void *payload, size_t payload_len)
{
  const char *alg;
  int rc = token__key_alg(&alg, key, true);
  if (rc)
    return rc;
  size_t siglen = key->type == STREAM_KEY_HMAC ? HS256_LEN : ED25519_SIG_LEN;
  size_t hb = stream__b64_len(header_len, B64URL), pb = stream__b64_len(payload_len, B64URL),
         sb = stream__b64_len(siglen, B64URL);
  char *buf = malloc(hb + pb + sb + 3);
  if (!buf)
    return stream__err(STREAM_ENOMEM, "out of memory building a token");
  stream__b64_encode_into(buf, header, header_len, B64URL);
  buf[hb] = '.';
  stream__b64_encode_into(buf + hb + 1, payload, payload_len, B64URL);
  unsigned char sig[ED25519_SIG_LEN];
  if (key->type == STREAM_KEY_HMAC)
    rc = hs256(sig, key, buf, hb + 1 + pb);
  else
    rc = ed25519_sign(sig, key, buf, hb + 1 + pb);
  if (rc) {
    free(buf);
    return rc;
  }
  buf[hb + 1 + pb] = '.';
  stream__b64_encode_into(buf + hb + 1 + pb + 1, sig, siglen, B64URL);
  *out = buf;
  return STREAM_OK;
}

/* ---- public JWS API -------------------------------------------------------- */

int stream_jws_sign(char **out, const stream_key *key, const char *header_json, size_t header_len,
                    const void *payload, size_t payload_len)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_jws_sign: out is NULL");
  *out = NULL;
  if (!key)
    return stream__err(STREAM_EINVAL, "stream_jws_sign: key is NULL");
  if (!header_json || header_len == 0)
    return stream__err(STREAM_EINVAL, "stream_jws_sign: header is NULL or empty");
  if (!payload && payload_len)
    return stream__err(STREAM_EINVAL, "stream_jws_sign: payload is NULL with length %zu",
                       payload_len);
  if (header_len > STREAM_TOKEN_SIZE_MAX || payload_len > STREAM_TOKEN_SIZE_MAX)
    return stream__err(STREAM_ERANGE, "stream_jws_sign: header or payload over %d bytes",
                       STREAM_TOKEN_SIZE_MAX);
  const char *key_alg, *alg, *kid, *typ;
  int rc = token__key_alg(&key_alg, key, true);
  if (rc)
    return rc;
  cJSON *hdr = NULL;
  if ((rc = token__json_object(&hdr, header_json, header_len, "JWS header")))
    return rc;
  if ((rc = token__check_header(hdr, &alg, &kid, &typ)))
    goto done;
  char v[40];
  if (strcmp(alg, key_alg) != 0) {
    rc = stream__err(STREAM_EAUTH, "JWS header \"alg\" is '%s' but key '%s' signs with %s",
                     token__printable(v, sizeof v, alg), key->id, key_alg);
    goto done;
  }
  if (kid && strcmp(kid, key->id) != 0) {
    rc = stream__err(STREAM_EINVAL, "JWS header \"kid\" is '%s' but the key's id is '%s'",
                     token__printable(v, sizeof v, kid), key->id);
    goto done;
  }
  rc = token__jws_build(out, key, header_json, header_len, payload, payload_len);
done:
  cJSON_Delete(hdr);
  return rc;
}

static int jws_max_size(size_t *max, size_t requested, const char *fn)
{
  if (requested > STREAM_TOKEN_SIZE_MAX)
    return stream__err(STREAM_EINVAL, "%s: max_size %zu is over %d bytes", fn, requested,
                       STREAM_TOKEN_SIZE_MAX);
  *max = requested ? requested : STREAM_TOKEN_SIZE_DEFAULT;
  return STREAM_OK;
}

int stream_jws_verify(unsigned char **out_payload, size_t *out_len, const stream_key *key,
                      const char *jws, const stream_jws_options *opts)
{
  if (!out_payload || !out_len)
    return stream__err(STREAM_EINVAL, "stream_jws_verify: out_payload or out_len is NULL");
  *out_payload = NULL;
  *out_len = 0;
  if (!key || !jws)
    return stream__err(STREAM_EINVAL, "stream_jws_verify: key or jws is NULL");
  stream_jws_options o = STREAM_JWS_OPTIONS_INIT;
  if (opts) {
    if (opts->version != STREAM_JWS_OPTIONS_VERSION)
      return stream__err(STREAM_EINVAL, "stream_jws_verify: options version %u is unknown",
                         opts->version);
    o = *opts;
  }
  size_t max = 0;
  int rc = jws_max_size(&max, o.max_size, "stream_jws_verify");
  if (rc)
    return rc;
  token__jws j;
  if ((rc = token__jws_parse(&j, jws, max)))
    return rc;
  if ((rc = token__jws_check_key(&j, key)))
    goto done;
  if (j.kid && strcmp(j.kid, key->id) != 0) {
    char v[40];
    rc = stream__err(STREAM_EAUTH, "token \"kid\" is '%s' but the key's id is '%s'",
                     token__printable(v, sizeof v, j.kid), key->id);
    goto done;
  }
  if ((rc = token__jws_verify_sig(&j, key)))
    goto done;
  /* Hand the decoding buffer over, payload moved to its start. */
  memmove(j.buf, j.payload, j.payload_len);
  j.buf[j.payload_len] = '\0';
  *out_payload = j.buf;
  *out_len = j.payload_len;
  j.buf = NULL;
done:
  token__jws_free(&j);
  return rc;
}
