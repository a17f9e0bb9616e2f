/*
 * Helpers shared by the fuzz targets: a NUL-terminated copy of the input,
 * splitting an input into fields, and the invariants every libstream call
 * must keep whatever the bytes (an error carries its code and a non-empty
 * message; a status is one of the known codes). A broken invariant aborts,
 * which libFuzzer and the standalone runner both report as a failure.
 */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond)                                                                          \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", __FILE__, __LINE__, #cond);            \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* A malloc'd NUL-terminated copy of data[0..size). Embedded NULs stay: C string
 * APIs see the text up to the first one, as they would from a real caller. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1);
  if (!s)
    abort();
  if (size)
    memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

/* Cut `s` (NUL-terminated, as from fuzz_cstr) at the first '\n' at or after
 * *pos: returns the field and moves *pos past it; the last field runs to
 * the end. Lets one input carry several strings (url\ncookie\nip). */
static inline char *fuzz_field(char *s, size_t *pos)
{
  char *start = s + *pos;
  char *nl = strchr(start, '\n');
  if (nl) {
    *nl = '\0';
    *pos = (size_t)(nl - s) + 1;
  } else {
    *pos += strlen(start);
  }
  return start;
}

/* Every failing call must leave its code and a message for the caller.
 * FUZZ_TRACE=1 in the environment prints each status (to see what a seed reaches). */
static inline void fuzz_check_status(int rc)
{
  static int trace = -1;
  if (trace < 0)
    trace = getenv("FUZZ_TRACE") != NULL;
  if (trace) {
    const stream_error *le = stream_error_last();
    fprintf(stderr, "fuzz: status %d%s%s\n", rc, rc && le ? ": " : "", rc && le ? le->message : "");
  }
  FUZZ_ASSERT(rc <= 0 && rc >= STREAM_EPAYMENT);
  if (rc != STREAM_OK) {
    const stream_error *e = stream_error_last();
    FUZZ_ASSERT(e != NULL);
    FUZZ_ASSERT(e->code == rc);
    FUZZ_ASSERT(e->message[0] != '\0');
    FUZZ_ASSERT(memchr(e->message, '\0', sizeof e->message) != NULL);
  }
}

#endif
