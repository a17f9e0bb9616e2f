/*
 * Fuzz target: the Amazon CloudFront format (libstream/sign/cloudfront.c).
 * The first byte picks a mode, the second sets signing options (bit 0 SHA-256,
 * bit 1 custom policy, bit 2 ECDSA key, bit 3 a start time); the rest is
 * '\n'-separated fields: url \n cookies-or-resource \n client_ip.
 *   0: verify url                  1: verify cookies (field 2) for url
 *   2: sign url (field 2: resource, field 3: ip), verify it
 *   3: sign cookies for the resource url (field 3: ip), verify them
 * Invariants: `*out` is filled with a reason whose status is the return code,
 * a valid result is in its time window, and what we sign verifies as VALID.
 */
#include <string.h>

#include "../unit/keys/pem_fixtures.h"
#include "fuzz_sign_util.h"
#include "fuzz_util.h"
#include "stream/keys.h"
#include "stream/sign.h"

#define NOW 1700000000

static stream_keyring *ring;
static stream_key *rsa, *ec;

static void setup(void)
{
  if (ring)
    return;
  stream_key *pub = NULL;
  if (stream_key_from_text(&rsa, STREAM_KEY_RSA_PRIVATE, "K2JCJMDEHXQW5F", PEM_RSA_PKCS1) ||
      stream_key_from_text(&ec, STREAM_KEY_EC_PRIVATE, "KECDSA0000001", PEM_EC_SEC1) ||
      stream_key_from_text(&pub, STREAM_KEY_EC_PUBLIC, "KECDSA0000001", PEM_EC_PUB) ||
      stream_keyring_new(&ring) || stream_keyring_add(ring, rsa) || stream_keyring_add(ring, pub))
    abort();
  stream_key_free(pub);
}

static int check(int rc, const stream_cloudfront_verification *v)
{
  fuzz_check_status(rc);
  FUZZ_ASSERT(fuzz_sign_status_of(v->reason) == rc);
  FUZZ_ASSERT(memchr(v->key_pair_id, '\0', sizeof v->key_pair_id) != NULL);
  FUZZ_ASSERT(memchr(v->ip, '\0', sizeof v->ip) != NULL);
  if (rc == STREAM_OK)
    FUZZ_ASSERT(v->key_pair_id[0] && v->expires > NOW && v->starts <= NOW);
  return rc;
}

static int verify(const char *url, const char *cookies, const char *ip)
{
  stream_cloudfront_request req = STREAM_CLOUDFRONT_REQUEST_INIT;
  req.url = url;
  req.client_ip = ip && ip[0] ? ip : NULL;
  req.now = NOW;
  stream_cloudfront_verification v;
  memset(&v, 0x5a, sizeof v);
  stream_error_clear();
  int rc = cookies ? stream_cloudfront_verify_cookies(&v, ring, cookies, &req)
                   : stream_cloudfront_verify_url(&v, ring, &req);
  return check(rc, &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  setup();
  if (size < 2)
    return 0;
  unsigned mode = data[0] % 4, flags = data[1];
  char *s = fuzz_cstr(data + 2, size - 2);
  size_t pos = 0;
  char *url = fuzz_field(s, &pos);
  char *cred = fuzz_field(s, &pos);
  char *ip = fuzz_field(s, &pos);
  if (mode == 0) {
    verify(url, NULL, ip);
  } else if (mode == 1) {
    verify(url, cred, ip);
  } else {
    stream_cloudfront_sign_options o = STREAM_CLOUDFRONT_SIGN_OPTIONS_INIT;
    o.expires = NOW + 600;
    o.hash = flags & 1 ? STREAM_CLOUDFRONT_SHA256 : STREAM_CLOUDFRONT_SHA1;
    o.custom = (flags >> 1) & 1;
    o.starts = flags & 8 ? NOW - 60 : 0;
    o.ip = ip[0] ? ip : NULL;
    const stream_key *key = flags & 4 ? ec : rsa;
    char *out = NULL;
    stream_error_clear();
    int rc;
    if (mode == 2) {
      o.resource = cred[0] ? cred : NULL;
      rc = stream_cloudfront_sign_url(&out, key, url, &o);
    } else {
      rc = stream_cloudfront_sign_cookies(&out, key, url, &o);
    }
    fuzz_check_status(rc);
    if (rc != STREAM_OK) {
      FUZZ_ASSERT(out == NULL);
    } else {
      /* a bound policy verifies from inside its block: the block's own address */
      char client[64] = "";
      if (o.ip) {
        size_t n = strcspn(o.ip, "/");
        memcpy(client, o.ip, n < 63 ? n : 63);
        client[n < 63 ? n : 63] = '\0';
      }
      if (mode == 2 && !o.resource)
        FUZZ_ASSERT(verify(out, NULL, client) == STREAM_OK);
      else if (mode == 3)
        FUZZ_ASSERT(verify(url, out, client) == STREAM_OK); /* the resource matches itself */
      stream_free(out);
    }
  }
  free(s);
  return 0;
}
