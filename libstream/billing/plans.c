/*
 * billing: plans (operator calls) and the default seed. A plan is its own
 * key, so plan_put is idempotent without an idempotency key.
 */
#include <string.h>

#include "../core/core.h"
#include "../store/store_billing.h"
#include "../store/store_internal.h"
#include "billing_internal.h"

int stream_billing_plan_put(stream_billing *b, const stream_billing_plan *plan)
{
  if (!b)
    return stream__err(STREAM_EINVAL, "billing is NULL");
  int rc = billing__check_plan(plan);
  if (rc != STREAM_OK)
    return rc;
  const struct stream_store_billing_ops *ops = billing__ops(b);
  if (!ops)
    return STREAM_ENOTSUP;
  return ops->plan_put(b->store->impl, plan, billing__now(b));
}

int stream_billing_plan_get(stream_billing_plan *out, stream_billing *b, const char *plan_id)
{
  if (!out || !b)
    return stream__err(STREAM_EINVAL, "out or billing is NULL");
  int rc = billing__check_id(plan_id, "plan_id");
  if (rc != STREAM_OK)
    return rc;
  const struct stream_store_billing_ops *ops = billing__ops(b);
  if (!ops)
    return STREAM_ENOTSUP;
  return ops->plan_get(b->store->impl, out, plan_id);
}

int stream_billing_plan_list(stream_billing_plan **out, size_t *out_count, stream_billing *b,
                             int include_inactive)
{
  if (!out || !out_count || !b)
    return stream__err(STREAM_EINVAL, "out, out_count or billing is NULL");
  *out = NULL;
  *out_count = 0;
  const struct stream_store_billing_ops *ops = billing__ops(b);
  if (!ops)
    return STREAM_ENOTSUP;
  return ops->plan_list(b->store->impl, out, out_count, !include_inactive);
}

int stream_billing_plans_seed(size_t *out_inserted, stream_billing *b)
{
  if (out_inserted)
    *out_inserted = 0;
  if (!b)
    return stream__err(STREAM_EINVAL, "billing is NULL");
  const struct stream_store_billing_ops *ops = billing__ops(b);
  if (!ops)
    return STREAM_ENOTSUP;
  stream_billing_plan *have = NULL;
  size_t n = 0;
  int rc = ops->plan_list(b->store->impl, &have, &n, false);
  stream_free(have);
  if (rc != STREAM_OK || n > 0)
    return rc;
  static const stream_billing_plan seed[] = {
      {"basic", "Basic", 799, "USD", 1, 7, 1, 720, 1},
      {"standard", "Standard", 1549, "USD", 1, 7, 2, 1080, 1},
      {"premium", "Premium", 2299, "USD", 1, 7, 4, 2160, 1},
  };
  return ops->plan_seed(b->store->impl, out_inserted, seed, sizeof seed / sizeof *seed,
                        billing__now(b));
}
