/*
 * core/encoding: base64 (RFC 4648 §4 and §5, padded or not) and hex. Decoding
 * is strict: one alphabet, no whitespace, correct or absent padding, zero
 * trailing bits — signatures and tokens must have exactly one spelling.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

#define B64_MAX_INPUT ((size_t)1 << 30)

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t stream__b64_len(size_t n, unsigned int flags)
{
  if (flags & STREAM_B64_NOPAD)
    return (n / 3) * 4 + (n % 3 ? n % 3 + 1 : 0);
  return (n + 2) / 3 * 4;
}

size_t stream__b64_encode_into(char *dst, const void *src, size_t n, unsigned int flags)
{
  const unsigned char *s = src;
  const char *alpha = (flags & STREAM_B64_URL) ? b64_url : b64_std;
  bool pad = !(flags & STREAM_B64_NOPAD);
  char *d = dst;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
    *d++ = alpha[v >> 18];
    *d++ = alpha[(v >> 12) & 63];
    *d++ = alpha[(v >> 6) & 63];
    *d++ = alpha[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)s[i] << 16;
    *d++ = alpha[v >> 18];
    *d++ = alpha[(v >> 12) & 63];
    if (pad) {
      *d++ = '=';
      *d++ = '=';
    }
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8;
    *d++ = alpha[v >> 18];
    *d++ = alpha[(v >> 12) & 63];
    *d++ = alpha[(v >> 6) & 63];
    if (pad)
      *d++ = '=';
  }
  *d = '\0';
  return (size_t)(d - dst);
}

size_t stream__b64_decoded_max(size_t n)
{
  return (n / 4) * 3 + 3;
}

static int b64_val(unsigned char c, bool url)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (url) {
    if (c == '-')
      return 62;
    if (c == '_')
      return 63;
  } else {
    if (c == '+')
      return 62;
    if (c == '/')
      return 63;
  }
  return -1;
}

int stream__b64_decode_into(unsigned char *dst, size_t cap, size_t *written, const char *src,
                            size_t n, unsigned int flags, bool quiet)
{
  bool url = flags & STREAM_B64_URL;
  const char *name = url ? "base64url" : "base64";
  size_t data = n;
  while (data > 0 && src[data - 1] == '=')
    data--;
  size_t npad = n - data;
  if (npad) {
    if (npad > 2 || n % 4 != 0)
      return quiet ? STREAM_EINVAL
                   : stream__err(STREAM_EINVAL, "%s: bad padding (%zu '=' in %zu characters)", name,
                                 npad, n);
    if ((data + npad) % 4 != 0 || (4 - data % 4) % 4 != npad)
      return quiet ? STREAM_EINVAL : stream__err(STREAM_EINVAL, "%s: bad padding", name);
  }
  if (data % 4 == 1)
    return quiet ? STREAM_EINVAL
                 : stream__err(STREAM_EINVAL, "%s: truncated input (%zu characters)", name, data);
  size_t out_len = data / 4 * 3 + (data % 4 ? data % 4 - 1 : 0);
  if (out_len > cap)
    return quiet ? STREAM_ERANGE : stream__err(STREAM_ERANGE, "%s: output buffer too small", name);
  uint32_t acc = 0;
  int bits = 0;
  size_t o = 0;
  for (size_t i = 0; i < data; i++) {
    int v = b64_val((unsigned char)src[i], url);
    if (v < 0)
      return quiet ? STREAM_EINVAL
                   : stream__err(STREAM_EINVAL, "%s: invalid character at offset %zu", name, i);
    acc = (acc << 6) | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      dst[o++] = (unsigned char)(acc >> bits);
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0)
    return quiet ? STREAM_EINVAL
                 : stream__err(STREAM_EINVAL, "%s: non-zero trailing bits (not canonical)", name);
  *written = o;
  return STREAM_OK;
}

int stream_base64_encode(char **out, size_t *out_len, const void *data, size_t len,
                         unsigned int flags)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_base64_encode: out is NULL");
  *out = NULL;
  if (!data && len)
    return stream__err(STREAM_EINVAL, "stream_base64_encode: data is NULL with length %zu", len);
  if (flags & ~(unsigned int)(STREAM_B64_URL | STREAM_B64_NOPAD))
    return stream__err(STREAM_EINVAL, "stream_base64_encode: unknown flags 0x%x", flags);
  if (len > B64_MAX_INPUT)
    return stream__err(STREAM_ERANGE, "stream_base64_encode: input of %zu bytes is over 1 GiB",
                       len);
  char *s = malloc(stream__b64_len(len, flags) + 1);
  if (!s)
    return stream__err(STREAM_ENOMEM, "out of memory encoding base64");
  size_t n = stream__b64_encode_into(s, data, len, flags);
  if (out_len)
    *out_len = n;
  *out = s;
  return STREAM_OK;
}

int stream_base64_decode(unsigned char **out, size_t *out_len, const char *text, size_t text_len,
                         unsigned int flags)
{
  if (!out || !out_len)
    return stream__err(STREAM_EINVAL, "stream_base64_decode: out or out_len is NULL");
  *out = NULL;
  *out_len = 0;
  if (!text && text_len)
    return stream__err(STREAM_EINVAL, "stream_base64_decode: text is NULL");
  if (flags & ~(unsigned int)(STREAM_B64_URL | STREAM_B64_NOPAD))
    return stream__err(STREAM_EINVAL, "stream_base64_decode: unknown flags 0x%x", flags);
  if (text_len > B64_MAX_INPUT)
    return stream__err(STREAM_ERANGE, "stream_base64_decode: input over 1 GiB");
  size_t cap = stream__b64_decoded_max(text_len);
  unsigned char *buf = malloc(cap + 1);
  if (!buf)
    return stream__err(STREAM_ENOMEM, "out of memory decoding base64");
  size_t n = 0;
  int rc = stream__b64_decode_into(buf, cap, &n, text ? text : "", text_len, flags, false);
  if (rc) {
    free(buf);
    return rc;
  }
  buf[n] = 0;
  *out = buf;
  *out_len = n;
  return STREAM_OK;
}

void stream__hex_into(char *dst, const void *src, size_t n)
{
  static const char hx[] = "0123456789abcdef";
  const unsigned char *s = src;
  for (size_t i = 0; i < n; i++) {
    dst[2 * i] = hx[s[i] >> 4];
    dst[2 * i + 1] = hx[s[i] & 15];
  }
  dst[2 * n] = '\0';
}

int stream_hex_encode(char **out, const void *data, size_t len)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_hex_encode: out is NULL");
  *out = NULL;
  if (!data && len)
    return stream__err(STREAM_EINVAL, "stream_hex_encode: data is NULL with length %zu", len);
  if (len > B64_MAX_INPUT)
    return stream__err(STREAM_ERANGE, "stream_hex_encode: input over 1 GiB");
  char *s = malloc(2 * len + 1);
  if (!s)
    return stream__err(STREAM_ENOMEM, "out of memory encoding hex");
  stream__hex_into(s, data, len);
  *out = s;
  return STREAM_OK;
}

int stream__hex_val(int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

int stream_hex_decode(unsigned char **out, size_t *out_len, const char *text, size_t text_len)
{
  if (!out || !out_len)
    return stream__err(STREAM_EINVAL, "stream_hex_decode: out or out_len is NULL");
  *out = NULL;
  *out_len = 0;
  if (!text && text_len)
    return stream__err(STREAM_EINVAL, "stream_hex_decode: text is NULL");
  if (text_len % 2)
    return stream__err(STREAM_EINVAL, "hex: odd length %zu", text_len);
  if (text_len > B64_MAX_INPUT)
    return stream__err(STREAM_ERANGE, "stream_hex_decode: input over 1 GiB");
  unsigned char *buf = malloc(text_len / 2 + 1);
  if (!buf)
    return stream__err(STREAM_ENOMEM, "out of memory decoding hex");
  for (size_t i = 0; i < text_len; i += 2) {
    int hi = stream__hex_val((unsigned char)text[i]),
        lo = stream__hex_val((unsigned char)text[i + 1]);
    if (hi < 0 || lo < 0) {
      free(buf);
      return stream__err(STREAM_EINVAL, "hex: invalid character at offset %zu", hi < 0 ? i : i + 1);
    }
    buf[i / 2] = (unsigned char)(hi << 4 | lo);
  }
  buf[text_len / 2] = 0;
  *out = buf;
  *out_len = text_len / 2;
  return STREAM_OK;
}
