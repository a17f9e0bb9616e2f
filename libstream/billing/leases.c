/*
 * billing: screen leases. Starting playback takes one of the plan's screens;
 * a heartbeat renews it for lease_ttl seconds; silence lets it lapse; release
 * frees it at once. The entitlement policy of entitlements.c runs inside the
 * store's acquire transaction (libstream/store/store_leases.h), so the check
 * and the insert are atomic and concurrent starts never exceed the plan.
 */
#include <string.h>

#include "../core/core.h"
#include "leases_internal.h"

/* State of the policy callback run inside the acquire transaction. */
typedef struct acquire_ctx {
  const char *account_id;
  const char *profile_id;
  const char *title_id;
} acquire_ctx;

static int decide(void *userdata, const store__lease_facts *f)
{
  const acquire_ctx *c = userdata;
  stream_billing_entitlement ent;
  char msg[512];
  billing__entitle(&ent, msg, sizeof msg, f, c->account_id, c->profile_id, c->title_id);
  if (ent.allowed)
    return STREAM_OK;
  return stream__err(ent.reason == STREAM_BILLING_SCREENS ? STREAM_EBUSY : STREAM_EFORBIDDEN, "%s",
                     msg);
}

int stream_billing_lease_acquire(stream_billing_lease *out, stream_billing_lease *out_in_use,
                                 size_t *out_in_use_count, stream_billing *b,
                                 const char *account_id, const char *profile_id,
                                 const char *title_id, const char *device_id,
                                 const char *device_name)
{
  if (out_in_use_count)
    *out_in_use_count = 0;
  if (!out)
    return stream__err(STREAM_EINVAL, "out is NULL");
  memset(out, 0, sizeof *out);
  if (!b)
    return stream__err(STREAM_EINVAL, "billing handle is NULL");
  int rc = billing__check_id(account_id, "account_id");
  if (rc == STREAM_OK)
    rc = billing__check_id(profile_id, "profile_id");
  if (rc == STREAM_OK)
    rc = billing__check_id(title_id, "title_id");
  if (rc == STREAM_OK)
    rc = billing__check_device(device_id);
  if (rc == STREAM_OK)
    rc = billing__check_device_name(device_name);
  if (rc != STREAM_OK)
    return rc;
  const struct stream_store_lease_ops *ops = billing__lease_ops(b);
  if (!ops)
    return STREAM_ENOTSUP;

  stream_billing_lease in;
  memset(&in, 0, sizeof in);
  rc = store__new_id(in.id);
  if (rc != STREAM_OK)
    return rc;
  /* Lengths were checked above: every copy fits. */
  memcpy(in.account_id, account_id, strlen(account_id) + 1);
  memcpy(in.profile_id, profile_id, strlen(profile_id) + 1);
  memcpy(in.title_id, title_id, strlen(title_id) + 1);
  memcpy(in.device_id, device_id, strlen(device_id) + 1);
  if (device_name)
    memcpy(in.device_name, device_name, strlen(device_name) + 1);

  acquire_ctx ctx = {account_id, profile_id, title_id};
  store__lease_facts f;
  rc = ops->acquire(b->store->impl, out, &f, &in, billing__now(b), b->lease_ttl, decide, &ctx);
  if (rc == STREAM_EBUSY) {
    if (out_in_use)
      memcpy(out_in_use, f.in_use, f.in_use_count * sizeof *out_in_use);
    if (out_in_use_count)
      *out_in_use_count = f.in_use_count;
  }
  if (rc != STREAM_OK)
    memset(out, 0, sizeof *out);
  return rc;
}

int stream_billing_lease_heartbeat(stream_billing_lease *out, stream_billing *b,
                                   const char *account_id, const char *lease_id)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "out is NULL");
  memset(out, 0, sizeof *out);
  if (!b)
    return stream__err(STREAM_EINVAL, "billing handle is NULL");
  int rc = billing__check_id(account_id, "account_id");
  if (rc == STREAM_OK)
    rc = billing__check_id(lease_id, "lease_id");
  if (rc != STREAM_OK)
    return rc;
  const struct stream_store_lease_ops *ops = billing__lease_ops(b);
  if (!ops)
    return STREAM_ENOTSUP;
  rc = ops->heartbeat(b->store->impl, out, account_id, lease_id, billing__now(b), b->lease_ttl);
  if (rc != STREAM_OK)
    memset(out, 0, sizeof *out);
  return rc;
}

int stream_billing_lease_release(stream_billing *b, const char *account_id, const char *lease_id)
{
  if (!b)
    return stream__err(STREAM_EINVAL, "billing handle is NULL");
  int rc = billing__check_id(account_id, "account_id");
  if (rc == STREAM_OK)
    rc = billing__check_id(lease_id, "lease_id");
  if (rc != STREAM_OK)
    return rc;
  const struct stream_store_lease_ops *ops = billing__lease_ops(b);
  if (!ops)
    return STREAM_ENOTSUP;
  return ops->release(b->store->impl, account_id, lease_id);
}

int stream_billing_lease_list(stream_billing_lease **out, size_t *out_count, stream_billing *b,
                              const char *account_id)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "out is NULL");
  *out = NULL;
  if (!out_count)
    return stream__err(STREAM_EINVAL, "out_count is NULL");
  *out_count = 0;
  if (!b)
    return stream__err(STREAM_EINVAL, "billing handle is NULL");
  int rc = billing__check_id(account_id, "account_id");
  if (rc != STREAM_OK)
    return rc;
  const struct stream_store_lease_ops *ops = billing__lease_ops(b);
  if (!ops)
    return STREAM_ENOTSUP;
  return ops->list(b->store->impl, out, out_count, account_id, billing__now(b));
}
