/*
 * Fuzz target: libstream's native signed URLs, prefixes, path tokens and
 * cookies (stream_sign_native_verify, stream_sign_native_verify_cookie). The
 * first byte picks a mode, the rest is '\n'-separated fields:
 *   0: url \n client_ip              -> verify
 *   1: url \n cookie \n client_ip    -> verify_cookie
 *   2: url \n ip-binding             -> sign the url (exact form), then verify
 *   3: prefix \n rest                -> sign a path token and a cookie, then verify
 * Invariants: the status matches the reason as documented on
 * stream_sign_reason; the strip range lies inside the URL; whatever we sign
 * verifies as VALID at a time inside its window.
 */
#include <string.h>

#include "fuzz_sign_util.h"
#include "fuzz_util.h"
#include "stream/keys.h"
#include "stream/sign.h"

#define NOW 1700000000

static stream_keyring *ring;

static void setup(void)
{
  if (ring)
    return;
  unsigned char a[32], b[20];
  for (int i = 0; i < 32; i++)
    a[i] = (unsigned char)(7 * i + 1);
  for (int i = 0; i < 20; i++)
    b[i] = (unsigned char)(0xa0 + i);
  stream_key *k1 = NULL, *k2 = NULL;
  if (stream_key_from_bytes(&k1, STREAM_KEY_HMAC, "k1", a, sizeof a) != STREAM_OK ||
      stream_key_from_bytes(&k2, STREAM_KEY_HMAC, "k2.old", b, sizeof b) != STREAM_OK ||
      stream_keyring_new(&ring) != STREAM_OK || stream_keyring_add(ring, k1) != STREAM_OK ||
      stream_keyring_add(ring, k2) != STREAM_OK || stream_keyring_set_primary(ring, "k1") != 0)
    abort();
  stream_key_free(k1);
  stream_key_free(k2);
}

static void check_result(int rc, const stream_native_result *r, const char *url, int cookie)
{
  fuzz_check_status(rc);
  FUZZ_ASSERT(fuzz_sign_status_of(r->reason) == rc);
  FUZZ_ASSERT(memchr(r->key_id, '\0', sizeof r->key_id) != NULL);
  FUZZ_ASSERT(memchr(r->ip, '\0', sizeof r->ip) != NULL);
  if (cookie)
    FUZZ_ASSERT(r->strip_offset == 0 && r->strip_len == 0);
  else
    FUZZ_ASSERT(r->strip_offset <= strlen(url) && r->strip_len <= strlen(url) - r->strip_offset);
  if (rc == STREAM_OK) {
    FUZZ_ASSERT(r->form != 0 && r->key_id[0] != '\0');
    FUZZ_ASSERT(r->expires > NOW - STREAM_NATIVE_LEEWAY_MAX);
  }
}

static int verify(stream_native_result *r, const char *url, const char *ip, unsigned flags)
{
  stream_native_verify_options o = STREAM_NATIVE_VERIFY_OPTIONS_INIT;
  o.leeway = (flags & 1) ? 30 : 0;
  o.forms = (flags >> 1) & 15;
  stream_error_clear();
  memset(r, 0x5a, sizeof *r);
  int rc = stream_sign_native_verify(r, ring, url, ip[0] ? ip : NULL, NOW, &o);
  check_result(rc, r, url, 0);
  return rc;
}

static int verify_cookie(stream_native_result *r, const char *url, const char *cookie,
                         const char *ip, unsigned flags)
{
  stream_native_verify_options o = STREAM_NATIVE_VERIFY_OPTIONS_INIT;
  o.leeway = (flags & 1) ? 30 : 0;
  o.forms = (flags >> 1) & 15;
  stream_error_clear();
  memset(r, 0x5a, sizeof *r);
  int rc = stream_sign_native_verify_cookie(r, ring, url, cookie, ip[0] ? ip : NULL, NOW, &o);
  check_result(rc, r, url, 1);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  setup();
  if (size < 1)
    return 0;
  unsigned mode = data[0] & 3, flags = data[0] >> 2;
  char *s = fuzz_cstr(data + 1, size - 1);
  size_t pos = 0;
  char *f1 = fuzz_field(s, &pos);
  char *f2 = fuzz_field(s, &pos);
  char *f3 = fuzz_field(s, &pos);
  stream_native_result r;
  if (mode == 0) {
    verify(&r, f1, f2, flags);
  } else if (mode == 1) {
    verify_cookie(&r, f1, f2, f3, flags);
  } else if (mode == 2) {
    stream_native_sign_options so = STREAM_NATIVE_SIGN_OPTIONS_INIT;
    so.expires = NOW + 60;
    so.not_before = (flags & 1) ? NOW - 60 : 0;
    so.ip = f2[0] ? f2 : NULL;
    char *signed_url = NULL;
    stream_error_clear();
    int rc = stream_sign_native_url(&signed_url, ring, f1, &so);
    fuzz_check_status(rc);
    if (rc == STREAM_OK) {
      /* Bound to an address: verify from that address (a CIDR's own text is
       * not an address, so only the exact-address case must be VALID). */
      int exact_ip = so.ip && !strchr(so.ip, '/');
      rc = verify(&r, signed_url, exact_ip ? so.ip : "", 0);
      if (!so.ip || exact_ip)
        FUZZ_ASSERT(rc == STREAM_OK);
      FUZZ_ASSERT(r.form == STREAM_NATIVE_FORM_URL || rc != STREAM_OK);
      stream_free(signed_url);
    } else {
      FUZZ_ASSERT(signed_url == NULL);
    }
  } else {
    stream_native_sign_options so = STREAM_NATIVE_SIGN_OPTIONS_INIT;
    so.expires = NOW + 3600;
    char *out = NULL;
    stream_error_clear();
    int rc = stream_sign_native_path(&out, ring, f1, f2, &so);
    fuzz_check_status(rc);
    if (rc == STREAM_OK) {
      rc = verify(&r, out, "", 0);
      FUZZ_ASSERT(rc == STREAM_OK && r.form == STREAM_NATIVE_FORM_PATH);
      stream_free(out);
      out = NULL;
    }
    stream_error_clear();
    rc = stream_sign_native_cookie(&out, ring, f1, &so);
    fuzz_check_status(rc);
    if (rc == STREAM_OK) {
      rc = verify_cookie(&r, f1, out, "", 0);
      FUZZ_ASSERT(rc == STREAM_OK && r.form == STREAM_NATIVE_FORM_COOKIE);
      stream_free(out);
    }
  }
  free(s);
  return 0;
}
