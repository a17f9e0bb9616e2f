/*
 * core/utf8: strict UTF-8 (RFC 3629) checks shared by the modules. Strict
 * because PostgreSQL is: a text parameter with an overlong form, a surrogate,
 * a code point past U+10FFFF or a cut sequence is refused by the server, so
 * whatever the store accepts must already be well-formed for every backend to
 * behave alike.
 */
#include <string.h>

#include "core.h"

size_t stream__utf8_seq(const void *p, size_t n)
{
  const unsigned char *s = p;
  if (n == 0)
    return 0;
  unsigned char c = s[0];
  if (c < 0x80)
    return 1;
  size_t len;
  uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0; /* a continuation byte, 0xc0/0xc1 (overlong) or 0xf5.. (past U+10FFFF) */
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

size_t stream__utf8_check(const void *p, size_t n)
{
  const unsigned char *s = p;
  size_t i = 0;
  while (i < n) {
    if (s[i] < 0x80) {
      i++;
      continue;
    }
    size_t len = stream__utf8_seq(s + i, n - i);
    if (len == 0)
      return i;
    i += len;
  }
  return n;
}

bool stream__utf8_valid(const void *s, size_t n)
{
  return stream__utf8_check(s, n) == n;
}

size_t stream__utf8_scrub(char *s)
{
  unsigned char *u = (unsigned char *)s;
  size_t replaced = 0;
  size_t n = strlen(s);
  for (size_t i = 0; i < n;) {
    size_t len = u[i] < 0x80 ? 1 : stream__utf8_seq(u + i, n - i);
    if (len == 0) {
      u[i++] = '?';
      replaced++;
    } else {
      i += len;
    }
  }
  return replaced;
}
