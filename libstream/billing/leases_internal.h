/*
 * Internal helpers shared by entitlements.c and leases.c (billing): argument
 * checks for devices and the entitlement policy applied to the facts the store
 * gathered (libstream/store/store_leases.h). Not installed.
 */
#ifndef STREAM_BILLING_LEASES_INTERNAL_H
#define STREAM_BILLING_LEASES_INTERNAL_H

#include <stddef.h>

#include "../store/store_leases.h"
#include "billing_internal.h"

/* A device id: non-NULL, 1..128 characters of printable ASCII (0x20..0x7e).
 * STREAM_OK or STREAM_EINVAL. */
int billing__check_device(const char *device_id);

/* A device name: NULL or at most 128 bytes of UTF-8 without control
 * characters. STREAM_OK or STREAM_EINVAL. */
int billing__check_device_name(const char *name);

/* The leases table of the store's backend, or NULL with STREAM_ENOTSUP set. */
const struct stream_store_lease_ops *billing__lease_ops(const stream_billing *b);

/* Apply the policy to `f`: fill `*out` (allowed, reason, plan, cap, screens)
 * and write the human-readable message into `msg` (`cap` bytes, may be
 * longer than out->message, which receives a truncated copy). The rules, in
 * order: the profile is the account's, a live subscription, the title
 * exists, its rating is within the profile's ceiling, a free screen (a
 * device holding a live lease keeps its own). */
void billing__entitle(stream_billing_entitlement *out, char *msg, size_t cap,
                      const store__lease_facts *f, const char *account_id, const char *profile_id,
                      const char *title_id);

#endif
