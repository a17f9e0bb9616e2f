/*
 * billing: the billing service (floor 2). This file owns the handle (options,
 * clock, the per-account lock stripes), argument checks shared by the other
 * files, the UTC calendar used for billing periods, proration arithmetic and
 * the status names. Plans live in plans.c, payment methods in cards.c, the
 * subscription calls in subscriptions.c, invoices/payments/refunds and the
 * books check in invoices.c, the renewal job in renewals.c, idempotency keys
 * in idempotency.c, the local test provider in local.c; entitlements and
 * screen leases in entitlements.c and leases.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "../store/store_billing.h"
#include "../store/store_internal.h"
#include "billing_internal.h"

/* ---- handle ----------------------------------------------------------------- */

int64_t billing__now(const stream_billing *b)
{
  return b->now ? b->now(b->now_userdata) : stream__now();
}

static unsigned int stripe_of(const char *account_id)
{
  uint32_t h = 2166136261u; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)account_id; *p; p++)
    h = (h ^ *p) * 16777619u;
  return h % BILLING__LOCK_STRIPES;
}

void billing__lock(stream_billing *b, const char *account_id)
{
  pthread_mutex_lock(&b->locks[stripe_of(account_id)]);
}

void billing__unlock(stream_billing *b, const char *account_id)
{
  pthread_mutex_unlock(&b->locks[stripe_of(account_id)]);
}

int billing__check_id(const char *id, const char *what)
{
  if (!id)
    return stream__err(STREAM_EINVAL, "%s is NULL", what);
  size_t n = 0;
  for (; id[n] && n <= 64; n++) {
    char c = id[n];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return stream__err(STREAM_EINVAL, "%s contains a character outside [A-Za-z0-9_-]", what);
  }
  if (n == 0)
    return stream__err(STREAM_EINVAL, "%s is empty", what);
  if (n > 64)
    return stream__err(STREAM_EINVAL, "%s is longer than 64 characters", what);
  return STREAM_OK;
}

const struct stream_store_billing_ops *billing__ops(const stream_billing *b)
{
  const struct stream_store_billing_ops *ops = b->store->backend->billing;
  if (!ops)
    stream__err(STREAM_ENOTSUP, "store backend %s has no billing tables", b->store->backend->name);
  return ops;
}

int billing__new_id(char out[STREAM_BILLING_ID_SIZE])
{
  return store__new_id(out);
}

int stream_billing_new(stream_billing **out, const stream_billing_options *opts)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "out is NULL");
  *out = NULL;
  if (!opts)
    return stream__err(STREAM_EINVAL, "options are NULL");
  if (opts->version != STREAM_BILLING_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "options version %u is not %u", opts->version,
                       STREAM_BILLING_OPTIONS_VERSION);
  if (!opts->store)
    return stream__err(STREAM_EINVAL, "options.store is NULL");
  const stream_billing_provider *p = opts->provider;
  if (!p || !p->tokenize || !p->charge || !p->refund)
    return stream__err(STREAM_EINVAL,
                       "options.provider is NULL or lacks tokenize, charge or refund");
  if (opts->lease_ttl < 10 || opts->lease_ttl > 3600)
    return stream__err(STREAM_EINVAL, "options.lease_ttl %d is outside 10..3600", opts->lease_ttl);
  if (opts->dunning_retries < 0 || opts->dunning_retries > 10)
    return stream__err(STREAM_EINVAL, "options.dunning_retries %d is outside 0..10",
                       opts->dunning_retries);
  if (opts->dunning_span_days < 1 || opts->dunning_span_days > 60)
    return stream__err(STREAM_EINVAL, "options.dunning_span_days %d is outside 1..60",
                       opts->dunning_span_days);
  if (!opts->store->backend->billing)
    return stream__err(STREAM_ENOTSUP, "store backend %s has no billing tables",
                       opts->store->backend->name);
  stream_billing *b = stream__calloc(1, sizeof *b);
  if (!b)
    return STREAM_ENOMEM;
  b->store = opts->store;
  b->provider = *p;
  b->now = opts->now;
  b->now_userdata = opts->now_userdata;
  b->lease_ttl = opts->lease_ttl;
  b->dunning_retries = opts->dunning_retries;
  b->dunning_span_days = opts->dunning_span_days;
  for (int i = 0; i < BILLING__LOCK_STRIPES; i++)
    pthread_mutex_init(&b->locks[i], NULL);
  *out = b;
  return STREAM_OK;
}

void stream_billing_free(stream_billing *b)
{
  if (!b)
    return;
  for (int i = 0; i < BILLING__LOCK_STRIPES; i++)
    pthread_mutex_destroy(&b->locks[i]);
  free(b);
}

/* ---- calendar --------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static int month_days(int64_t y, int m)
{
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[m - 1];
}

static int64_t floor_div(int64_t a, int64_t b)
{
  return a / b - (a % b != 0 && ((a < 0) != (b < 0)));
}

int64_t billing__add_months(int64_t t, int months)
{
  int64_t days = floor_div(t, 86400);
  int64_t secs = t - days * 86400;
  int64_t y;
  int m, d;
  civil_from_days(days, &y, &m, &d);
  int64_t mi = y * 12 + (m - 1) + months;
  y = floor_div(mi, 12);
  m = (int)(mi - y * 12) + 1;
  int md = month_days(y, m);
  if (d > md)
    d = md;
  return days_from_civil(y, m, d) * 86400 + secs;
}

void billing__date(char *out, size_t cap, int64_t t)
{
  int64_t y;
  int m, d;
  civil_from_days(floor_div(t, 86400), &y, &m, &d);
  snprintf(out, cap, "%04lld-%02d-%02d", (long long)y, m, d);
}

/* diff * rem / len rounded half up, without a 128-bit product: with
 * diff = q * len + r (0 <= r < len), diff * rem / len = q * rem + r * rem / len,
 * and r * rem < len^2, which fits for any period of at most a few years. */
int64_t billing__prorate(int64_t diff, int64_t rem, int64_t len)
{
  if (diff < 0)
    return -billing__prorate(-diff, rem, len);
  int64_t q = diff / len, r = diff % len;
  return q * rem + (2 * r * rem + len) / (2 * len);
}

/* ---- checks ----------------------------------------------------------------- */

int billing__check_currency(const char *c)
{
  if (!c)
    return stream__err(STREAM_EINVAL, "currency is NULL");
  for (int i = 0; i < 3; i++)
    if (c[i] < 'A' || c[i] > 'Z')
      return stream__err(STREAM_EINVAL, "currency must be three uppercase letters (ISO 4217)");
  if (c[3])
    return stream__err(STREAM_EINVAL, "currency must be three uppercase letters (ISO 4217)");
  return STREAM_OK;
}

int billing__check_plan(const stream_billing_plan *p)
{
  if (!p)
    return stream__err(STREAM_EINVAL, "plan is NULL");
  if (memchr(p->id, 0, sizeof p->id) == NULL)
    return stream__err(STREAM_EINVAL, "plan id is not terminated");
  if (!p->id[0])
    return stream__err(STREAM_EINVAL, "plan id is empty");
  for (const char *c = p->id; *c; c++)
    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
      return stream__err(STREAM_EINVAL, "plan id must be 1..64 of [a-z0-9_-]");
  size_t nl = strnlen(p->name, sizeof p->name);
  if (nl == 0 || nl >= sizeof p->name)
    return stream__err(STREAM_EINVAL, "plan name must be 1..64 bytes");
  for (size_t i = 0; i < nl; i++)
    if ((unsigned char)p->name[i] < 0x20 || p->name[i] == 0x7f)
      return stream__err(STREAM_EINVAL, "plan name contains a control character");
  if (!stream__utf8_valid(p->name, nl))
    return stream__err(STREAM_EINVAL, "plan name is not valid UTF-8");
  if (p->price < 0 || p->price > STREAM_BILLING_AMOUNT_MAX)
    return stream__err(STREAM_EINVAL, "plan price %lld is outside 0..%lld", (long long)p->price,
                       (long long)STREAM_BILLING_AMOUNT_MAX);
  if (memchr(p->currency, 0, sizeof p->currency) == NULL)
    return stream__err(STREAM_EINVAL, "currency must be three uppercase letters (ISO 4217)");
  int rc = billing__check_currency(p->currency);
  if (rc != STREAM_OK)
    return rc;
  if (p->period_months < 1 || p->period_months > 12)
    return stream__err(STREAM_EINVAL, "plan period_months %d is outside 1..12", p->period_months);
  if (p->trial_days < 0 || p->trial_days > 90)
    return stream__err(STREAM_EINVAL, "plan trial_days %d is outside 0..90", p->trial_days);
  if (p->screens < 1 || p->screens > STREAM_BILLING_SCREENS_MAX)
    return stream__err(STREAM_EINVAL, "plan screens %d is outside 1..%d", p->screens,
                       STREAM_BILLING_SCREENS_MAX);
  if (p->max_height < 480 || p->max_height > 4320)
    return stream__err(STREAM_EINVAL, "plan max_height %d is outside 480..4320", p->max_height);
  if (p->active != 0 && p->active != 1)
    return stream__err(STREAM_EINVAL, "plan active must be 0 or 1");
  return STREAM_OK;
}

/* ---- names ------------------------------------------------------------------ */

const char *stream_billing_status_name(int status)
{
  switch (status) {
  case STREAM_BILLING_TRIALING:
    return "trialing";
  case STREAM_BILLING_ACTIVE:
    return "active";
  case STREAM_BILLING_PAST_DUE:
    return "past_due";
  case STREAM_BILLING_CANCELED:
    return "canceled";
  case STREAM_BILLING_EXPIRED:
    return "expired";
  default:
    return NULL;
  }
}

const char *stream_billing_invoice_status_name(int status)
{
  switch (status) {
  case STREAM_BILLING_INVOICE_OPEN:
    return "open";
  case STREAM_BILLING_INVOICE_PAID:
    return "paid";
  case STREAM_BILLING_INVOICE_VOID:
    return "void";
  case STREAM_BILLING_INVOICE_UNCOLLECTIBLE:
    return "uncollectible";
  default:
    return NULL;
  }
}
