/*
 * Out of memory inside protobuf-c's unpack, for tests of what libstream does
 * when decoding a message runs out of memory (link unpack_oom_src with
 * unpack_oom_link_args: malloc and protobuf_c_message_unpack interposed with
 * -Wl,--wrap, so the calls of the test's objects and of the static libstream
 * go through here; each wrapper calls the real function).
 *
 * An unpack the test armed runs with every malloc of its thread failing until
 * it returns: protobuf-c's allocations for the message (through the allocator
 * its caller passed, or through malloc for the default one, which protobuf-c's
 * own default would do out of reach of --wrap) get NULL, so the unpack answers
 * NULL as it does for a lack of memory. Nothing else fails.
 *
 * Threads: the unpack may run in any thread (an emitter's sender).
 */
#ifndef STREAM_TEST_UNPACK_OOM_H
#define STREAM_TEST_UNPACK_OOM_H

/* The next `n` unpacks (of any thread) run out of memory. */
void unpack_oom_arm(int n);

/* Unpacks armed and not yet run (the others ran out of memory). */
int unpack_oom_pending(void);

/* Unpacks that ran out of memory since the start of the process. */
int unpack_oom_failed(void);

#endif
