/*
 * The emitter's wire encoding: a batch of stream_event as events.proto's
 * Batch, gzip (RFC 1952) of a body, and the encoded size of one event (for
 * the batch byte limit). Declared in emitter_internal.h.
 */
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "../core/core.h"
#include "../proto/proto.h"
#include "emitter_internal.h"

/* ---- encoding ------------------------------------------------------------- */

int emitter__gzip(uint8_t **out, size_t *out_len, const uint8_t *in, size_t len)
{
  z_stream z;
  memset(&z, 0, sizeof z);
  int zi = deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  if (zi != Z_OK) /* only Z_MEM_ERROR is a lack of memory (a spooled batch is kept for it) */
    return stream__err(zi == Z_MEM_ERROR ? STREAM_ENOMEM : STREAM_EINTERNAL,
                       "emitter: cannot initialise zlib (%d)", zi);
  size_t cap = deflateBound(&z, (uLong)len) + 64;
  uint8_t *buf = malloc(cap);
  if (!buf) {
    deflateEnd(&z);
    return stream__err(STREAM_ENOMEM, "emitter: out of memory");
  }
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)len;
  z.next_out = buf;
  z.avail_out = (uInt)cap;
  int zr = deflate(&z, Z_FINISH);
  size_t n = cap - z.avail_out;
  deflateEnd(&z);
  if (zr != Z_STREAM_END) {
    free(buf);
    return stream__err(STREAM_EINTERNAL, "emitter: deflate did not finish");
  }
  *out = buf;
  *out_len = n;
  return STREAM_OK;
}

/* Protobuf Batch of `n` events into *out (malloc'd). */
int emitter__pack(uint8_t **out, size_t *out_len, const stream_event *ev, size_t n)
{
  Libstream__Events__V1__Event *msgs = calloc(n ? n : 1, sizeof *msgs);
  Libstream__Events__V1__PlaybackError *errs = calloc(n ? n : 1, sizeof *errs);
  Libstream__Events__V1__Event **ptrs = calloc(n ? n : 1, sizeof *ptrs);
  int rc = STREAM_OK;
  if (!msgs || !errs || !ptrs) {
    rc = stream__err(STREAM_ENOMEM, "emitter: out of memory");
  } else {
    for (size_t i = 0; i < n; i++) {
      proto__event_to_pb(&msgs[i], &errs[i], &ev[i]);
      ptrs[i] = &msgs[i];
    }
    Libstream__Events__V1__Batch b;
    libstream__events__v1__batch__init(&b);
    b.n_events = n;
    b.events = ptrs;
    size_t len = libstream__events__v1__batch__get_packed_size(&b);
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
      rc = stream__err(STREAM_ENOMEM, "emitter: out of memory");
    } else {
      libstream__events__v1__batch__pack(&b, buf);
      *out = buf;
      *out_len = len;
    }
  }
  free(msgs);
  free(errs);
  free(ptrs);
  return rc;
}

size_t emitter__packed_size(const stream_event *e)
{
  Libstream__Events__V1__Event m;
  Libstream__Events__V1__PlaybackError err;
  proto__event_to_pb(&m, &err, e);
  return libstream__events__v1__event__get_packed_size(&m) + 4; /* tag + length */
}
