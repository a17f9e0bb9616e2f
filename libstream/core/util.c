/*
 * core/util: memory, version, time, constant-time compare, randomness, and the
 * bounded string builder the signing code assembles URLs with.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "core.h"

void stream_free(void *ptr)
{
  free(ptr);
}

void stream__wipe(void *p, size_t n)
{
  if (p && n)
    OPENSSL_cleanse(p, n);
}

void stream_free_secret(void *ptr, size_t len)
{
  if (!ptr)
    return;
  stream__wipe(ptr, len);
  free(ptr);
}

const char *stream_version(void)
{
  return STREAM_VERSION_STRING;
}
unsigned int stream_version_number(void)
{
  return STREAM_VERSION_NUMBER;
}

void *stream__calloc(size_t n, size_t size)
{
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (!p)
    stream__err(STREAM_ENOMEM, "out of memory allocating %zu bytes", n * size);
  return p;
}

char *stream__strndup(const char *s, size_t n)
{
  char *p = malloc(n + 1);
  if (!p) {
    stream__err(STREAM_ENOMEM, "out of memory copying a %zu-byte string", n);
    return NULL;
  }
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *stream__strdup(const char *s)
{
  return stream__strndup(s, strlen(s));
}

int64_t stream__now(void)
{
  return (int64_t)time(NULL);
}

static int64_t clock_ms(clockid_t id)
{
  struct timespec ts;
  clock_gettime(id, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t stream__wall_ms(void)
{
  return clock_ms(CLOCK_REALTIME);
}

int64_t stream__mono_ms(void)
{
  return clock_ms(CLOCK_MONOTONIC);
}

int stream_ct_equal(const void *a, const void *b, size_t len)
{
  if (!a || !b)
    return 0;
  return CRYPTO_memcmp(a, b, len) == 0;
}

int stream_random_bytes(void *buf, size_t len)
{
  if (!buf && len)
    return stream__err(STREAM_EINVAL, "stream_random_bytes: buf is NULL");
  while (len) {
    int chunk = len > INT_MAX ? INT_MAX : (int)len;
    if (RAND_bytes(buf, chunk) != 1)
      return stream__err(STREAM_ECRYPTO, "the CSPRNG (OpenSSL RAND_bytes) failed");
    buf = (unsigned char *)buf + chunk;
    len -= (size_t)chunk;
  }
  return STREAM_OK;
}

void stream__buf_init(stream__buf *b)
{
  memset(b, 0, sizeof *b);
}

void stream__buf_free(stream__buf *b)
{
  free(b->data);
  stream__buf_init(b);
}

static bool buf_reserve(stream__buf *b, size_t extra)
{
  if (b->failed)
    return false;
  if (b->len + extra + 1 <= b->cap)
    return true;
  size_t cap = b->cap ? b->cap : 128;
  while (cap < b->len + extra + 1) {
    if (cap > SIZE_MAX / 2) {
      b->failed = true;
      return false;
    }
    cap *= 2;
  }
  char *p = realloc(b->data, cap);
  if (!p) {
    b->failed = true;
    return false;
  }
  b->data = p;
  b->cap = cap;
  return true;
}

void stream__buf_append(stream__buf *b, const char *s, size_t n)
{
  if (!buf_reserve(b, n))
    return;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void stream__buf_puts(stream__buf *b, const char *s)
{
  stream__buf_append(b, s, strlen(s));
}

void stream__buf_printf(stream__buf *b, const char *fmt, ...)
{
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || !buf_reserve(b, (size_t)n)) {
    b->failed = true;
    va_end(ap2);
    return;
  }
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  b->len += (size_t)n;
}

int stream__buf_detach(stream__buf *b, char **out)
{
  if (b->failed || !buf_reserve(b, 0)) {
    stream__buf_free(b);
    return stream__err(STREAM_ENOMEM, "out of memory building a string");
  }
  b->data[b->len] = '\0'; /* a buffer nothing was appended to gets its first byte here */
  *out = b->data;
  stream__buf_init(b);
  return STREAM_OK;
}
