/*
 * Fuzz target: the Google Cloud CDN and Media CDN compatible formats
 * (libstream/sign/cloudcdn.c, mediacdn.c). The first byte picks a mode, the
 * rest is '\n'-separated fields: url \n credential \n client_ip \n header
 * name \n header value.
 *   0: Cloud CDN verify url        1: Cloud CDN verify cookie (credential)
 *   2: Media CDN verify url        3: Media CDN verify cookie (credential)
 *   4: Media CDN token (credential) with the HMAC and Ed25519 key names
 *   5: sign url with each format (and a Media CDN path component), verify
 * Invariants: `*out` is filled with a reason whose status is the return
 * code, and what we sign verifies as VALID.
 */
#include <string.h>

#include "fuzz_sign_util.h"
#include "fuzz_util.h"
#include "stream/keys.h"
#include "stream/sign.h"

#define NOW 1700000000

static stream_keyring *ring;
static stream_key *hmac, *ed;

static void setup(void)
{
  if (ring)
    return;
  unsigned char a[16], seed[32];
  for (int i = 0; i < 16; i++)
    a[i] = (unsigned char)(0x11 * i);
  for (int i = 0; i < 32; i++)
    seed[i] = (unsigned char)(3 * i + 5);
  stream_key *hmac256 = NULL;
  unsigned char c[32];
  for (int i = 0; i < 32; i++)
    c[i] = (unsigned char)(0xc0 ^ i);
  if (stream_key_from_bytes(&hmac, STREAM_KEY_HMAC, "cdn-key", a, sizeof a) != STREAM_OK ||
      stream_key_from_bytes(&hmac256, STREAM_KEY_HMAC, "tok-key", c, sizeof c) != STREAM_OK ||
      stream_key_from_bytes(&ed, STREAM_KEY_ED25519_PRIVATE, "edge-key", seed, sizeof seed) !=
          STREAM_OK ||
      stream_keyring_new(&ring) != STREAM_OK || stream_keyring_add(ring, hmac) != STREAM_OK ||
      stream_keyring_add(ring, hmac256) != STREAM_OK || stream_keyring_add(ring, ed) != STREAM_OK)
    abort();
  stream_key_free(hmac256);
}

static void check(int rc, const stream_google_verification *v)
{
  fuzz_check_status(rc);
  FUZZ_ASSERT(fuzz_sign_status_of(v->reason) == rc);
  FUZZ_ASSERT(memchr(v->key_name, '\0', sizeof v->key_name) != NULL);
  if (rc == STREAM_OK)
    FUZZ_ASSERT(v->key_name[0] != '\0' && v->expires > NOW);
}

typedef int (*verify_url_fn)(stream_google_verification *, const stream_keyring *,
                             const stream_google_request *);
typedef int (*verify_cred_fn)(stream_google_verification *, const stream_keyring *, const char *,
                              const stream_google_request *);

static int run_url(verify_url_fn fn, const stream_google_request *req)
{
  stream_google_verification v;
  memset(&v, 0x5a, sizeof v);
  stream_error_clear();
  int rc = fn(&v, ring, req);
  check(rc, &v);
  return rc;
}

static int run_cred(verify_cred_fn fn, const char *cred, const stream_google_request *req)
{
  stream_google_verification v;
  memset(&v, 0x5a, sizeof v);
  stream_error_clear();
  int rc = fn(&v, ring, cred, req);
  check(rc, &v);
  return rc;
}

typedef int (*sign_fn)(char **, const stream_key *, const char *,
                       const stream_google_sign_options *);

static void roundtrip(sign_fn sign, verify_url_fn verify, const stream_key *key, const char *url)
{
  stream_google_sign_options so = STREAM_GOOGLE_SIGN_OPTIONS_INIT;
  so.expires = NOW + 600;
  char *out = NULL;
  stream_error_clear();
  int rc = sign(&out, key, url, &so);
  fuzz_check_status(rc);
  if (rc != STREAM_OK) {
    FUZZ_ASSERT(out == NULL);
    return;
  }
  stream_google_request req = STREAM_GOOGLE_REQUEST_INIT;
  req.url = out;
  req.now = NOW;
  FUZZ_ASSERT(run_url(verify, &req) == STREAM_OK);
  stream_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  setup();
  if (size < 1)
    return 0;
  unsigned mode = data[0] % 6;
  char *s = fuzz_cstr(data + 1, size - 1);
  size_t pos = 0;
  char *url = fuzz_field(s, &pos);
  char *cred = fuzz_field(s, &pos);
  char *ip = fuzz_field(s, &pos);
  const char *hname = fuzz_field(s, &pos);
  const char *hvalue = fuzz_field(s, &pos);
  static const char *const names[] = {"tok-key", "edge-key", "cdn-key"};
  stream_google_request req = STREAM_GOOGLE_REQUEST_INIT;
  req.url = url;
  req.client_ip = ip[0] ? ip : NULL;
  req.header_names = &hname;
  req.header_values = &hvalue;
  req.header_count = hname[0] ? 1 : 0;
  req.key_names = names;
  req.key_name_count = 3;
  req.now = NOW;
  switch (mode) {
  case 0:
    run_url(stream_cloudcdn_verify_url, &req);
    break;
  case 1:
    run_cred(stream_cloudcdn_verify_cookie, cred, &req);
    break;
  case 2:
    run_url(stream_mediacdn_verify_url, &req);
    break;
  case 3:
    run_cred(stream_mediacdn_verify_cookie, cred, &req);
    break;
  case 4:
    run_cred(stream_mediacdn_token_verify, cred, &req);
    break;
  default: {
    roundtrip(stream_cloudcdn_sign_url, stream_cloudcdn_verify_url, hmac, url);
    roundtrip(stream_mediacdn_sign_url, stream_mediacdn_verify_url, ed, url);
    stream_google_sign_options so = STREAM_GOOGLE_SIGN_OPTIONS_INIT;
    so.expires = NOW + 600;
    char *out = NULL;
    stream_error_clear();
    int rc = stream_mediacdn_sign_path_component(&out, ed, url, cred, &so);
    fuzz_check_status(rc);
    if (rc == STREAM_OK) {
      stream_google_request r2 = STREAM_GOOGLE_REQUEST_INIT;
      r2.url = out;
      r2.now = NOW;
      FUZZ_ASSERT(run_url(stream_mediacdn_verify_url, &r2) == STREAM_OK);
      stream_free(out);
    }
    break;
  }
  }
  free(s);
  return 0;
}
