/*
 * Fuzz target: JWT / JWS verification (libstream/token). The first byte picks
 * a mode, the rest is the input:
 *   even: the rest is a compact token for stream_token_verify() (against a
 *         ring with an HS256 and an EdDSA key) and stream_jws_verify();
 *   odd:  the rest is "header JSON\npayload", signed with one of the ring's
 *         keys by stream_jws_sign(), so that the claims JSON path behind the
 *         signature check is reached; the result must verify with
 *         stream_jws_verify() to the same payload (round trip), and
 *         stream_token_verify() must keep its output contract.
 */
#include <string.h>

#include "fuzz_util.h"
#include "stream/keys.h"
#include "stream/token.h"

static stream_keyring *ring;
static stream_key *hs, *ed;

static void setup(void)
{
  if (ring)
    return;
  unsigned char secret[32], seed[32];
  for (int i = 0; i < 32; i++) {
    secret[i] = (unsigned char)(0x40 + i);
    seed[i] = (unsigned char)(0x90 + i);
  }
  if (stream_key_from_bytes(&hs, STREAM_KEY_HMAC, "hs-1", secret, sizeof secret) != STREAM_OK ||
      stream_key_from_bytes(&ed, STREAM_KEY_ED25519_PRIVATE, "ed-1", seed, sizeof seed) !=
          STREAM_OK ||
      stream_keyring_new(&ring) != STREAM_OK || stream_keyring_add(ring, hs) != STREAM_OK ||
      stream_keyring_add(ring, ed) != STREAM_OK)
    abort();
}

static void verify_token(const char *token, unsigned int flags)
{
  stream_token_verify_options o = STREAM_TOKEN_VERIFY_OPTIONS_INIT;
  o.now = 1700000000;
  o.leeway = (flags & 1) ? 60 : 0;
  o.require_exp = (flags & 2) ? 0 : 1;
  o.iss = (flags & 4) ? "https://issuer.example" : NULL;
  o.aud = (flags & 8) ? "streamd" : NULL;
  o.max_size = (flags & 16) ? STREAM_TOKEN_SIZE_MAX : 0;
  char *claims_json = (char *)"sentinel";
  stream_token_claims c;
  memset(&c, 0x5a, sizeof c);
  stream_error_clear();
  int rc = stream_token_verify(&claims_json, &c, ring, token, &o);
  fuzz_check_status(rc);
  if (rc == STREAM_OK) {
    FUZZ_ASSERT(claims_json != NULL);
    /* The payload exactly as signed: JSON whitespace may precede the object. */
    FUZZ_ASSERT(claims_json[strspn(claims_json, " \t\r\n")] == '{');
    FUZZ_ASSERT(strcmp(c.kid, "hs-1") == 0 || strcmp(c.kid, "ed-1") == 0);
    FUZZ_ASSERT(!o.require_exp || c.has_exp);
    FUZZ_ASSERT(c.has_exp || c.exp == 0);
    FUZZ_ASSERT(!c.has_exp || o.now < c.exp + o.leeway);
    FUZZ_ASSERT(memchr(c.sub, '\0', sizeof c.sub) && memchr(c.iss, '\0', sizeof c.iss));
    FUZZ_ASSERT(memchr(c.aud, '\0', sizeof c.aud) && memchr(c.jti, '\0', sizeof c.jti));
    FUZZ_ASSERT(!o.iss || strcmp(c.iss, o.iss) == 0);
    FUZZ_ASSERT(!o.aud || strcmp(c.aud, o.aud) == 0);
    stream_free(claims_json);
  } else {
    stream_token_claims zero;
    memset(&zero, 0, sizeof zero);
    FUZZ_ASSERT(claims_json == NULL);
    FUZZ_ASSERT(memcmp(&c, &zero, sizeof c) == 0);
  }
}

static void verify_jws(const char *jws, const stream_key *key, const unsigned char *expect,
                       size_t expect_len)
{
  stream_jws_options o = STREAM_JWS_OPTIONS_INIT;
  o.max_size = STREAM_TOKEN_SIZE_MAX;
  unsigned char *payload = (unsigned char *)"sentinel";
  size_t len = 12345;
  stream_error_clear();
  int rc = stream_jws_verify(&payload, &len, key, jws, &o);
  fuzz_check_status(rc);
  if (rc == STREAM_OK) {
    FUZZ_ASSERT(payload != NULL && payload[len] == '\0');
    if (expect)
      FUZZ_ASSERT(len == expect_len && memcmp(payload, expect, len) == 0);
    stream_free(payload);
  } else {
    FUZZ_ASSERT(payload == NULL && len == 0);
    /* A token we signed ourselves must verify, unless its header names another key. */
    FUZZ_ASSERT(!expect || rc == STREAM_EAUTH);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  setup();
  if (size < 1)
    return 0;
  unsigned int mode = data[0];
  char *s = fuzz_cstr(data + 1, size - 1);
  if ((mode & 1) == 0) {
    verify_token(s, mode >> 1);
    verify_jws(s, (mode & 2) ? ed : hs, NULL, 0);
  } else {
    /* header \n payload; the payload keeps any bytes after the first '\n'. */
    const uint8_t *body = data + 1;
    size_t n = size - 1;
    const uint8_t *nl = memchr(body, '\n', n);
    size_t hlen = nl ? (size_t)(nl - body) : n;
    const uint8_t *payload = nl ? nl + 1 : body + n;
    size_t plen = n - hlen - (nl ? 1 : 0);
    const stream_key *key = (mode & 2) ? ed : hs;
    char *jws = NULL;
    stream_error_clear();
    int rc = stream_jws_sign(&jws, key, (const char *)body, hlen, payload, plen);
    fuzz_check_status(rc);
    if (rc == STREAM_OK) {
      FUZZ_ASSERT(jws != NULL);
      verify_jws(jws, key, payload, plen);
      verify_token(jws, mode >> 2);
      stream_free(jws);
    } else {
      FUZZ_ASSERT(jws == NULL);
    }
  }
  free(s);
  return 0;
}
