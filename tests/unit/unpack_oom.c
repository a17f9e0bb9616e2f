/* Out of memory inside protobuf-c's unpack (unpack_oom.h). */
#include "unpack_oom.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include <protobuf-c/protobuf-c.h>

void *__real_malloc(size_t size);
void *__wrap_malloc(size_t size);
ProtobufCMessage *__real_protobuf_c_message_unpack(const ProtobufCMessageDescriptor *desc,
                                                   ProtobufCAllocator *allocator, size_t len,
                                                   const uint8_t *data);
ProtobufCMessage *__wrap_protobuf_c_message_unpack(const ProtobufCMessageDescriptor *desc,
                                                   ProtobufCAllocator *allocator, size_t len,
                                                   const uint8_t *data);

static atomic_int armed;              /* unpacks still to fail */
static atomic_int failed;             /* unpacks that failed */
static _Thread_local bool in_failing; /* this thread runs an armed unpack */

void unpack_oom_arm(int n)
{
  atomic_store(&armed, n);
}

int unpack_oom_pending(void)
{
  return atomic_load(&armed);
}

int unpack_oom_failed(void)
{
  return atomic_load(&failed);
}

void *__wrap_malloc(size_t size)
{
  return in_failing ? NULL : __real_malloc(size);
}

/* protobuf-c's default allocator (a NULL allocator) is malloc and free, called inside
 * libprotobuf-c where --wrap does not reach: the same here, through __wrap_malloc. */
static void *default_alloc(void *data, size_t size)
{
  (void)data;
  return malloc(size);
}

static void default_free(void *data, void *p)
{
  (void)data;
  free(p);
}

ProtobufCMessage *__wrap_protobuf_c_message_unpack(const ProtobufCMessageDescriptor *desc,
                                                   ProtobufCAllocator *allocator, size_t len,
                                                   const uint8_t *data)
{
  int n = atomic_load(&armed);
  while (n > 0 && !atomic_compare_exchange_weak(&armed, &n, n - 1))
    ;
  if (n <= 0)
    return __real_protobuf_c_message_unpack(desc, allocator, len, data);
  ProtobufCAllocator dflt = {default_alloc, default_free, NULL};
  in_failing = true;
  ProtobufCMessage *m =
      __real_protobuf_c_message_unpack(desc, allocator ? allocator : &dflt, len, data);
  in_failing = false;
  atomic_fetch_add(&failed, 1);
  return m;
}
