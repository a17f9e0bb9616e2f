/*
 * bench_sign: signs/s and verifies/s of the native format (exact-URL form),
 * each as a ratio against a bare OpenSSL HMAC-SHA256 over the same
 * string-to-sign, measured in the same run. The baseline is the fastest
 * honest use of OpenSSL: one keyed EVP_MAC_CTX, re-initialised per message
 * from its stored key schedule. No thresholds: this prints, it does not judge.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "stream/sign.h"

#define URL "https://media.example.com/v/5f2c0a9e/1080p/master.m3u8"
#define EXPIRES 1700000000LL
/* docs/api/sign.md: the string-to-sign of the exact-URL form of URL. */
#define STS "stream-sign-v1\nurl\n" URL "\n1700000000\n\n\nk1"

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Run `fn` in batches until `secs` have passed; returns operations per second. */
static double rate(int (*fn)(void *), void *arg, double secs)
{
  long n = 0;
  double t0 = now_s(), t;
  do {
    for (int i = 0; i < 1000; i++)
      if (fn(arg)) {
        fprintf(stderr, "bench_sign: operation failed\n");
        exit(1);
      }
    n += 1000;
  } while ((t = now_s()) - t0 < secs);
  return (double)n / (t - t0);
}

static EVP_MAC_CTX *base_ctx;
static volatile unsigned char sink;

static int op_hmac(void *arg)
{
  (void)arg;
  unsigned char mac[32];
  size_t ml = 0;
  if (EVP_MAC_init(base_ctx, NULL, 0, NULL) != 1 ||
      EVP_MAC_update(base_ctx, (const unsigned char *)STS, sizeof STS - 1) != 1 ||
      EVP_MAC_final(base_ctx, mac, &ml, sizeof mac) != 1)
    return 1;
  sink ^= mac[0];
  return 0;
}

typedef struct ctx {
  stream_keyring *ring;
  stream_native_sign_options opts;
  char buf[512];
  const char *signed_url;
} ctx;

static int op_sign_into(void *arg)
{
  ctx *c = arg;
  size_t n = 0;
  int rc = stream_sign_native_into(c->buf, sizeof c->buf, &n, STREAM_NATIVE_FORM_URL, c->ring, URL,
                                   NULL, &c->opts);
  sink ^= (unsigned char)c->buf[n - 1];
  return rc;
}

static int op_sign_alloc(void *arg)
{
  ctx *c = arg;
  char *s = NULL;
  int rc = stream_sign_native_url(&s, c->ring, URL, &c->opts);
  stream_free(s);
  return rc;
}

static int op_verify(void *arg)
{
  ctx *c = arg;
  stream_native_result r;
  return stream_sign_native_verify(&r, c->ring, c->signed_url, NULL, EXPIRES - 10, NULL);
}

static int cmp_d(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n)
{
  double t[64];
  memcpy(t, v, (size_t)n * sizeof *v);
  qsort(t, (size_t)n, sizeof *t, cmp_d);
  return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

int main(int argc, char **argv)
{
  /* Seconds per operation in total (default 2), spread over the rounds. */
  double secs = argc > 1 ? atof(argv[1]) : 2.0;
  if (secs <= 0)
    secs = 2.0;
  unsigned char key[32];
  for (int i = 0; i < 32; i++)
    key[i] = (unsigned char)(i * 7 + 1);

  EVP_MAC *mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
  base_ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (!base_ctx || EVP_MAC_init(base_ctx, key, sizeof key, params) != 1) {
    fprintf(stderr, "bench_sign: OpenSSL HMAC unavailable\n");
    return 1;
  }

  ctx c;
  memset(&c, 0, sizeof c);
  stream_key *k = NULL;
  if (stream_keyring_new(&c.ring) || stream_key_from_bytes(&k, STREAM_KEY_HMAC, "k1", key, 32) ||
      stream_keyring_add(c.ring, k)) {
    fprintf(stderr, "bench_sign: setup failed: %s\n", stream_error_last()->message);
    return 1;
  }
  stream_key_free(k);
  stream_native_sign_options o = STREAM_NATIVE_SIGN_OPTIONS_INIT;
  o.expires = EXPIRES;
  c.opts = o;
  size_t n = 0;
  char signed_url[512];
  if (stream_sign_native_into(signed_url, sizeof signed_url, &n, STREAM_NATIVE_FORM_URL, c.ring,
                              URL, NULL, &c.opts) ||
      op_verify(&(ctx){.ring = c.ring, .signed_url = signed_url})) {
    fprintf(stderr, "bench_sign: sanity check failed: %s\n", stream_error_last()->message);
    return 1;
  }
  c.signed_url = signed_url;

  /* Cross-check that the baseline MACs the very bytes libstream signs. */
  unsigned char m[32];
  size_t ml = 0;
  EVP_MAC_init(base_ctx, NULL, 0, NULL);
  EVP_MAC_update(base_ctx, (const unsigned char *)STS, sizeof STS - 1);
  EVP_MAC_final(base_ctx, m, &ml, sizeof m);
  static const char b64u[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  char sig[44];
  for (int i = 0, j = 0; i < 32; i += 3) {
    unsigned v = (unsigned)m[i] << 16 | (i + 1 < 32 ? (unsigned)m[i + 1] << 8 : 0) |
                 (i + 2 < 32 ? m[i + 2] : 0);
    sig[j++] = b64u[v >> 18];
    sig[j++] = b64u[(v >> 12) & 63];
    if (i + 1 < 32)
      sig[j++] = b64u[(v >> 6) & 63];
    if (i + 2 < 32)
      sig[j++] = b64u[v & 63];
    sig[j] = '\0';
  }
  if (!strstr(signed_url, sig)) {
    fprintf(stderr, "bench_sign: baseline bytes differ from the string-to-sign\n");
    return 1;
  }

  printf("bench_sign: native format (HMAC-SHA256), exact-URL form, %zu-byte string-to-sign\n",
         sizeof STS - 1);
  printf("environment: %ld cores online, %s, compiler %s, libstream %s\n",
         sysconf(_SC_NPROCESSORS_ONLN), OpenSSL_version(OPENSSL_VERSION),
#if defined(__clang__)
         "clang " __clang_version__,
#elif defined(__GNUC__)
         "gcc " __VERSION__,
#else
         "unknown",
#endif
         stream_version());
  /* Interleaved rounds: each round measures the baseline and every variant
   * back to back, so load from other processes hits them alike; the figure
   * reported is the median of the per-round ratios. */
  enum { ROUNDS = 15 };
  double rh[ROUNDS], ri[ROUNDS], ra[ROUNDS], rv[ROUNDS];
  double qi[ROUNDS], qa[ROUNDS], qv[ROUNDS];
  double slice = secs / ROUNDS;
  for (int r = 0; r < ROUNDS; r++) {
    rh[r] = rate(op_hmac, NULL, slice);
    ri[r] = rate(op_sign_into, &c, slice);
    ra[r] = rate(op_sign_alloc, &c, slice);
    rv[r] = rate(op_verify, &c, slice);
    double h2 = rate(op_hmac, NULL, slice);
    rh[r] = (rh[r] + h2) / 2; /* baseline bracketing the variants */
    qi[r] = ri[r] / rh[r];
    qa[r] = ra[r] / rh[r];
    qv[r] = rv[r] / rh[r];
  }
  printf("%d interleaved rounds of %.2f s per operation; rates are medians, ratios are medians of "
         "per-round ratios\n",
         ROUNDS, slice);
  printf("baseline  bare OpenSSL HMAC-SHA256   %12.0f /s\n", median(rh, ROUNDS));
  printf("sign      stream_sign_native_into    %12.0f /s  ratio %.3f\n", median(ri, ROUNDS),
         median(qi, ROUNDS));
  printf("sign      stream_sign_native_url     %12.0f /s  ratio %.3f (allocates the result)\n",
         median(ra, ROUNDS), median(qa, ROUNDS));
  printf("verify    stream_sign_native_verify  %12.0f /s  ratio %.3f\n", median(rv, ROUNDS),
         median(qv, ROUNDS));
  stream_keyring_free(c.ring);
  EVP_MAC_CTX_free(base_ctx);
  EVP_MAC_free(mac);
  return 0;
}
