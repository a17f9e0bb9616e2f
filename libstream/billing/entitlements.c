/*
 * billing: entitlement checks. One read snapshot of the store gives the facts
 * (live subscription and plan, profile, title, the account's live leases);
 * the policy here turns them into an answer: allowed or not, why, and the
 * rendition cap. leases.c applies the same policy inside its acquire
 * transaction, so a check and a start never disagree on the rules.
 * Not allowed is an answer (STREAM_OK, allowed = 0), never an error.
 */
#include <stdio.h>
#include <string.h>

#include "../core/core.h"
#include "leases_internal.h"

int billing__check_device(const char *device_id)
{
  if (!device_id)
    return stream__err(STREAM_EINVAL, "device_id is NULL");
  size_t n = strnlen(device_id, STREAM_BILLING_DEVICE_SIZE);
  if (n == 0)
    return stream__err(STREAM_EINVAL, "device_id is empty");
  if (n >= STREAM_BILLING_DEVICE_SIZE)
    return stream__err(STREAM_EINVAL, "device_id is longer than %d characters",
                       STREAM_BILLING_DEVICE_SIZE - 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)device_id[i];
    if (c < 0x20 || c > 0x7e)
      return stream__err(STREAM_EINVAL,
                         "device_id has a character that is not printable ASCII at offset %zu", i);
  }
  return STREAM_OK;
}

int billing__check_device_name(const char *name)
{
  if (!name)
    return STREAM_OK;
  size_t n = strnlen(name, STREAM_BILLING_DEVICE_SIZE);
  if (n >= STREAM_BILLING_DEVICE_SIZE)
    return stream__err(STREAM_EINVAL, "device_name is longer than %d bytes",
                       STREAM_BILLING_DEVICE_SIZE - 1);
  const unsigned char *s = (const unsigned char *)name;
  for (size_t i = 0; i < n;) {
    if (s[i] < 0x20 || s[i] == 0x7f)
      return stream__err(STREAM_EINVAL, "device_name has a control character at offset %zu", i);
    size_t len = stream__utf8_seq(s + i, n - i);
    if (len == 0)
      return stream__err(STREAM_EINVAL, "device_name is not valid UTF-8 at offset %zu", i);
    i += len;
  }
  return STREAM_OK;
}

const struct stream_store_lease_ops *billing__lease_ops(const stream_billing *b)
{
  const struct stream_store_lease_ops *ops = b->store->backend->leases;
  if (!ops)
    stream__err(STREAM_ENOTSUP, "the %s store keeps no screen leases", b->store->backend->name);
  return ops;
}

/* "Living room TV, Phone": names, or ids of devices without one. */
static void devices_in_use(char *dst, size_t cap, const store__lease_facts *f)
{
  size_t len = 0;
  dst[0] = '\0';
  for (size_t i = 0; i < f->in_use_count && len < cap; i++) {
    const stream_billing_lease *l = &f->in_use[i];
    int w = snprintf(dst + len, cap - len, "%s%s", i ? ", " : "",
                     l->device_name[0] ? l->device_name : l->device_id);
    if (w < 0)
      return;
    len += (size_t)w;
  }
  if (f->in_use_total > f->in_use_count && len < cap)
    snprintf(dst + len, cap - len, " and %zu more", f->in_use_total - f->in_use_count);
}

void billing__entitle(stream_billing_entitlement *out, char *msg, size_t cap,
                      const store__lease_facts *f, const char *account_id, const char *profile_id,
                      const char *title_id)
{
  memset(out, 0, sizeof *out);
  if (f->subscribed) {
    snprintf(out->plan_id, sizeof out->plan_id, "%s", f->plan_id);
    out->screens = f->screens;
  }
  out->screens_in_use = (int)f->in_use_total;
  if (!f->profile_ok) {
    out->reason = STREAM_BILLING_PROFILE_MISMATCH;
    snprintf(msg, cap, "profile %s is not a profile of account %s", profile_id, account_id);
  } else if (!f->subscribed) {
    out->reason = STREAM_BILLING_NO_SUBSCRIPTION;
    snprintf(msg, cap, "account %s has no live subscription: subscribe to a plan to play",
             account_id);
  } else if (!f->title_found) {
    out->reason = STREAM_BILLING_UNKNOWN_TITLE;
    snprintf(msg, cap, "no title with id %s", title_id);
  } else if (f->maturity_rating > f->maturity_ceiling) {
    out->reason = STREAM_BILLING_MATURITY;
    snprintf(msg, cap, "title %s is rated %d, above this profile's maturity ceiling of %d",
             title_id, f->maturity_rating, f->maturity_ceiling);
  } else if (!f->device_live && f->in_use_total >= (size_t)f->screens) {
    out->reason = STREAM_BILLING_SCREENS;
    char list[STREAM_BILLING_SCREENS_MAX * STREAM_BILLING_DEVICE_SIZE + 32];
    devices_in_use(list, sizeof list, f);
    if (f->screens == 1)
      snprintf(msg, cap, "the only screen of plan \"%s\" is in use: %s", f->plan_id, list);
    else
      snprintf(msg, cap, "all %d screens of plan \"%s\" are in use: %s", f->screens, f->plan_id,
               list);
  } else {
    out->allowed = 1;
    out->reason = STREAM_BILLING_OK;
    out->max_height = f->max_height;
    snprintf(msg, cap, "allowed on plan \"%s\" up to %dp (%zu of %d screens used by other devices)",
             f->plan_id, f->max_height, f->in_use_total, f->screens);
  }
  snprintf(out->message, sizeof out->message, "%s", msg);
}

int stream_billing_entitlement_check(stream_billing_entitlement *out, stream_billing *b,
                                     const char *account_id, const char *profile_id,
                                     const char *title_id, const char *device_id)
{
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
  if (rc != STREAM_OK)
    return rc;
  const struct stream_store_lease_ops *ops = billing__lease_ops(b);
  if (!ops)
    return STREAM_ENOTSUP;
  store__lease_facts f;
  rc = ops->facts(b->store->impl, &f, account_id, profile_id, title_id, device_id, billing__now(b));
  if (rc != STREAM_OK)
    return rc;
  char msg[512];
  billing__entitle(out, msg, sizeof msg, &f, account_id, profile_id, title_id);
  return STREAM_OK;
}

const char *stream_billing_reason_name(int reason)
{
  switch (reason) {
  case STREAM_BILLING_OK:
    return "ok";
  case STREAM_BILLING_NO_SUBSCRIPTION:
    return "no_subscription";
  case STREAM_BILLING_PROFILE_MISMATCH:
    return "profile_mismatch";
  case STREAM_BILLING_MATURITY:
    return "maturity";
  case STREAM_BILLING_UNKNOWN_TITLE:
    return "unknown_title";
  case STREAM_BILLING_SCREENS:
    return "screens";
  default:
    return NULL;
  }
}
