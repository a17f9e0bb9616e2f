/*
 * proto: the protobuf-c allocator of every unpack in libstream. protobuf-c's
 * unpack answers NULL both for bytes that are no message and when an
 * allocation failed; this allocator records the failure, so that a caller
 * answers STREAM_ENOMEM (try again later) instead of STREAM_EPROTO (the
 * bytes are bad: dropped, refused with a 400) for a lack of memory.
 */
#include <stdlib.h>

#include "proto.h"

static void *alloc_fn(void *data, size_t size)
{
  void *p = malloc(size ? size : 1); /* malloc(0) may answer NULL: not a failure */
  if (!p)
    ((proto__alloc *)data)->failed = true;
  return p;
}

static void free_fn(void *data, void *p)
{
  (void)data;
  free(p);
}

void proto__alloc_init(proto__alloc *a)
{
  a->pc.alloc = alloc_fn;
  a->pc.free = free_fn;
  a->pc.allocator_data = a;
  a->failed = false;
}
