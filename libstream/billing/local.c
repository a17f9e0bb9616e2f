/*
 * billing: the built-in local payment provider, for development and tests.
 * Outcomes are decided by test card numbers as in gateways' test modes (see
 * billing.h). Its ledger lives in memory under one mutex: the methods it
 * issued (by opaque token: the number is not in the token and is not kept,
 * only the behaviour it selects), and every charge and refund by the
 * caller's idempotency key, so a repeated call returns the first answer and
 * moves no money. A new ledger (a restarted streamd, or streamctl) still
 * charges methods and refunds charges that an earlier one issued: the tokens
 * name their behaviour and references are unique across ledgers; what it
 * cannot know is the earlier ledger's idempotency keys, which the billing
 * database covers (a settled payment is never charged again).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "../core/core.h"
#include "billing_internal.h"

enum { BEHAVE_OK, BEHAVE_DECLINE, BEHAVE_NOFUNDS, BEHAVE_FAIL, BEHAVE_FIRST_ONLY };

/* A method token is "pm_" + a behaviour tag + "_" + 24 random hex digits: it
 * names the behaviour the test card selected (never the number), so a ledger
 * created after a restart still knows how to answer for methods it issued
 * before (as a gateway's test mode does: its state outlives our process). */
static const char *const behave_tag[] = {"pm_ok_", "pm_dc_", "pm_nf_", "pm_pe_", "pm_f1_"};
#define BEHAVE_COUNT (sizeof behave_tag / sizeof behave_tag[0])

typedef struct local_method {
  char token[40];
  int behave;
  unsigned int charges; /* successful charges so far */
} local_method;

typedef struct local_entry {
  char *key;
  bool refund;
  stream_billing_provider_result result;
  int64_t amount;
  char charge_ref[65]; /* refunds: the charge refunded */
} local_entry;

struct stream_billing_local {
  pthread_mutex_t mu;
  local_method *methods;
  size_t nmethods, cap_methods;
  local_entry *entries;
  size_t nentries, cap_entries;
  unsigned long seq;
  size_t charges;
  int64_t charged;
  int64_t refunded;
};

int stream_billing_local_new(stream_billing_local **out)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "out is NULL");
  stream_billing_local *p = stream__calloc(1, sizeof *p);
  if (!p)
    return STREAM_ENOMEM;
  pthread_mutex_init(&p->mu, NULL);
  *out = p;
  return STREAM_OK;
}

void stream_billing_local_free(stream_billing_local *p)
{
  if (!p)
    return;
  for (size_t i = 0; i < p->nentries; i++)
    free(p->entries[i].key);
  free(p->entries);
  free(p->methods);
  pthread_mutex_destroy(&p->mu);
  free(p);
}

static bool luhn_ok(const char *d, size_t n)
{
  int sum = 0;
  for (size_t i = 0; i < n; i++) {
    int v = d[n - 1 - i] - '0';
    if (i % 2 == 1) {
      v *= 2;
      if (v > 9)
        v -= 9;
    }
    sum += v;
  }
  return sum % 10 == 0;
}

static int local_tokenize(void *ud, stream_billing_card *out, char *out_method_token,
                          const char *client_token)
{
  stream_billing_local *p = ud;
  const char *bad = "malformed card token: expected tok_ and a 16-digit test card number";
  if (!client_token || strncmp(client_token, "tok_", 4) != 0)
    return stream__err(STREAM_EINVAL, "%s", bad);
  const char *num = client_token + 4;
  for (int i = 0; i < 16; i++)
    if (num[i] < '0' || num[i] > '9')
      return stream__err(STREAM_EINVAL, "%s", bad);
  int month = 12, year = 2034;
  if (num[16] == '_') {
    const char *e = num + 17;
    for (int i = 0; i < 4; i++)
      if (e[i] < '0' || e[i] > '9')
        return stream__err(STREAM_EINVAL, "malformed card expiry: expected _MMYY");
    if (e[4])
      return stream__err(STREAM_EINVAL, "malformed card expiry: expected _MMYY");
    month = (e[0] - '0') * 10 + (e[1] - '0');
    year = 2000 + (e[2] - '0') * 10 + (e[3] - '0');
    if (month < 1 || month > 12)
      return stream__err(STREAM_EINVAL, "card expiry month %d is not 1..12", month);
  } else if (num[16]) {
    return stream__err(STREAM_EINVAL, "%s", bad);
  }
  if (!luhn_ok(num, 16))
    return stream__err(STREAM_EINVAL, "card number fails the Luhn check");
  /* Expired once its month is over: compare (year, month) with today's. */
  char today[16];
  billing__date(today, sizeof today, stream__now());
  long long y = strtoll(today, NULL, 10);
  int m = (int)strtol(today + 5, NULL, 10);
  if (year < y || (year == y && month < m))
    return stream__err(STREAM_EINVAL, "card expired at the end of %02d/%d", month, year);

  int behave = BEHAVE_OK;
  if (strncmp(num, "4000000000000002", 16) == 0)
    behave = BEHAVE_DECLINE;
  else if (strncmp(num, "4000000000009995", 16) == 0)
    behave = BEHAVE_NOFUNDS;
  else if (strncmp(num, "4000000000000119", 16) == 0)
    behave = BEHAVE_FAIL;
  else if (strncmp(num, "4000000000000341", 16) == 0)
    behave = BEHAVE_FIRST_ONLY;
  const char *brand = num[0] == '4'   ? "visa"
                      : num[0] == '5' ? "mastercard"
                      : num[0] == '3' ? "amex"
                      : num[0] == '6' ? "discover"
                                      : "unknown";
  unsigned char rnd[12];
  if (RAND_bytes(rnd, sizeof rnd) != 1)
    return stream__err(STREAM_ECRYPTO, "local provider: no randomness");
  local_method mth = {0};
  memcpy(mth.token, behave_tag[behave], 6);
  stream__hex_into(mth.token + 6, rnd, sizeof rnd);
  mth.behave = behave;

  pthread_mutex_lock(&p->mu);
  int rc = STREAM_OK;
  if (p->nmethods == p->cap_methods) {
    size_t ncap = p->cap_methods ? p->cap_methods * 2 : 8;
    local_method *nm = realloc(p->methods, ncap * sizeof *nm);
    if (!nm)
      rc = stream__err(STREAM_ENOMEM, "local provider: out of memory");
    else {
      p->methods = nm;
      p->cap_methods = ncap;
    }
  }
  if (rc == STREAM_OK)
    p->methods[p->nmethods++] = mth;
  pthread_mutex_unlock(&p->mu);
  if (rc != STREAM_OK)
    return rc;
  snprintf(out->brand, sizeof out->brand, "%s", brand);
  memcpy(out->last4, num + 12, 4);
  out->last4[4] = '\0';
  out->exp_month = month;
  out->exp_year = year;
  snprintf(out_method_token, 128, "%s", mth.token);
  return STREAM_OK;
}

/* Under p->mu. */
static local_entry *find_entry(stream_billing_local *p, const char *key, bool refund)
{
  for (size_t i = 0; i < p->nentries; i++)
    if (p->entries[i].refund == refund && strcmp(p->entries[i].key, key) == 0)
      return &p->entries[i];
  return NULL;
}

/* Under p->mu: record an answer by key. */
static int add_entry(stream_billing_local *p, const char *key, bool refund,
                     const stream_billing_provider_result *r, int64_t amount,
                     const char *charge_ref)
{
  if (p->nentries == p->cap_entries) {
    size_t ncap = p->cap_entries ? p->cap_entries * 2 : 16;
    local_entry *ne = realloc(p->entries, ncap * sizeof *ne);
    if (!ne)
      return stream__err(STREAM_ENOMEM, "local provider: out of memory");
    p->entries = ne;
    p->cap_entries = ncap;
  }
  local_entry *e = &p->entries[p->nentries];
  memset(e, 0, sizeof *e);
  e->key = stream__strdup(key);
  if (!e->key)
    return STREAM_ENOMEM;
  e->refund = refund;
  e->result = *r;
  e->amount = amount;
  snprintf(e->charge_ref, sizeof e->charge_ref, "%s", charge_ref ? charge_ref : "");
  p->nentries++;
  return STREAM_OK;
}

/* Under p->mu: add a method issued by an earlier ledger (see behave_tag). A
 * "first charge only" card learned this way has been charged before. */
static int learn_method(stream_billing_local *p, const char *token)
{
  size_t n = strlen(token);
  int behave = -1;
  for (size_t i = 0; i < BEHAVE_COUNT; i++)
    if (strncmp(token, behave_tag[i], 6) == 0)
      behave = (int)i;
  if (behave < 0 || n != 6 + 24 || strspn(token + 6, "0123456789abcdef") != 24)
    return STREAM_ENOTFOUND;
  if (p->nmethods == p->cap_methods) {
    size_t ncap = p->cap_methods ? p->cap_methods * 2 : 8;
    local_method *nm = realloc(p->methods, ncap * sizeof *nm);
    if (!nm)
      return STREAM_ENOMEM;
    p->methods = nm;
    p->cap_methods = ncap;
  }
  local_method *m = &p->methods[p->nmethods++];
  memset(m, 0, sizeof *m);
  memcpy(m->token, token, n + 1);
  m->behave = behave;
  m->charges = behave == BEHAVE_FIRST_ONLY ? 1 : 0;
  return STREAM_OK;
}

/* A reference unique across ledgers: prefix, sequence and 8 random hex digits. */
static void new_reference(stream_billing_local *p, char *out, size_t cap, const char *prefix)
{
  unsigned char rnd[4] = {0};
  char hex[9] = "00000000";
  if (RAND_bytes(rnd, sizeof rnd) == 1)
    stream__hex_into(hex, rnd, sizeof rnd);
  snprintf(out, cap, "%s%lu_%s", prefix, ++p->seq, hex);
}

static int local_charge(void *ud, stream_billing_provider_result *out, const char *method_token,
                        int64_t amount, const char *currency, const char *key)
{
  stream_billing_local *p = ud;
  if (!out || !method_token || !currency || !key || amount <= 0)
    return stream__err(STREAM_EINVAL, "local provider: bad charge arguments");
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&p->mu);
  local_entry *e = find_entry(p, key, false);
  if (e) {
    *out = e->result;
    pthread_mutex_unlock(&p->mu);
    return STREAM_OK;
  }
  local_method *m = NULL;
  for (size_t i = 0; i < p->nmethods && !m; i++)
    if (strcmp(p->methods[i].token, method_token) == 0)
      m = &p->methods[i];
  if (!m && learn_method(p, method_token) == STREAM_OK)
    m = &p->methods[p->nmethods - 1];
  if (!m) {
    out->outcome = STREAM_BILLING_DECLINED;
    snprintf(out->message, sizeof out->message, "unknown payment method");
  } else if (m->behave == BEHAVE_DECLINE || (m->behave == BEHAVE_FIRST_ONLY && m->charges > 0)) {
    out->outcome = STREAM_BILLING_DECLINED;
    snprintf(out->message, sizeof out->message, "card declined");
  } else if (m->behave == BEHAVE_NOFUNDS) {
    out->outcome = STREAM_BILLING_DECLINED;
    snprintf(out->message, sizeof out->message, "insufficient funds");
  } else if (m->behave == BEHAVE_FAIL) {
    out->outcome = STREAM_BILLING_FAILED;
    snprintf(out->message, sizeof out->message, "processing error");
  } else {
    out->outcome = STREAM_BILLING_SUCCEEDED;
    new_reference(p, out->reference, sizeof out->reference, "ch_local_");
  }
  int rc = add_entry(p, key, false, out, amount, NULL);
  if (rc == STREAM_OK && out->outcome == STREAM_BILLING_SUCCEEDED) {
    m->charges++;
    p->charges++;
    p->charged += amount;
  }
  pthread_mutex_unlock(&p->mu);
  return rc;
}

static int local_refund(void *ud, stream_billing_provider_result *out, const char *reference,
                        int64_t amount, const char *currency, const char *key)
{
  stream_billing_local *p = ud;
  if (!out || !reference || !currency || !key || amount <= 0)
    return stream__err(STREAM_EINVAL, "local provider: bad refund arguments");
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&p->mu);
  local_entry *e = find_entry(p, key, true);
  if (e) {
    *out = e->result;
    pthread_mutex_unlock(&p->mu);
    return STREAM_OK;
  }
  int64_t charged = -1, refunded = 0;
  for (size_t i = 0; i < p->nentries; i++) {
    const local_entry *x = &p->entries[i];
    if (!x->refund && x->result.outcome == STREAM_BILLING_SUCCEEDED &&
        strcmp(x->result.reference, reference) == 0)
      charged = x->amount;
    if (x->refund && x->result.outcome == STREAM_BILLING_SUCCEEDED &&
        strcmp(x->charge_ref, reference) == 0)
      refunded += x->amount;
  }
  /* A charge this ledger never saw but that has the local format was made
   * before a restart: the billing database bounds what it refunds. */
  if (charged < 0 && strncmp(reference, "ch_local_", 9) == 0)
    charged = refunded + amount;
  if (charged < 0) {
    out->outcome = STREAM_BILLING_DECLINED;
    snprintf(out->message, sizeof out->message, "no such charge");
  } else if (refunded + amount > charged) {
    out->outcome = STREAM_BILLING_DECLINED;
    snprintf(out->message, sizeof out->message, "refund exceeds the charge");
  } else {
    out->outcome = STREAM_BILLING_SUCCEEDED;
    new_reference(p, out->reference, sizeof out->reference, "re_local_");
  }
  int rc = add_entry(p, key, true, out, amount, reference);
  if (rc == STREAM_OK && out->outcome == STREAM_BILLING_SUCCEEDED)
    p->refunded += amount;
  pthread_mutex_unlock(&p->mu);
  return rc;
}

int stream_billing_local_provider(stream_billing_provider *out, stream_billing_local *p)
{
  if (!out || !p)
    return stream__err(STREAM_EINVAL, "out or provider is NULL");
  memset(out, 0, sizeof *out);
  out->name = "local";
  out->tokenize = local_tokenize;
  out->charge = local_charge;
  out->refund = local_refund;
  out->userdata = p;
  return STREAM_OK;
}

int stream_billing_local_totals(stream_billing_local *p, size_t *out_charges, int64_t *out_charged,
                                int64_t *out_refunded)
{
  if (!p)
    return stream__err(STREAM_EINVAL, "provider is NULL");
  pthread_mutex_lock(&p->mu);
  if (out_charges)
    *out_charges = p->charges;
  if (out_charged)
    *out_charged = p->charged;
  if (out_refunded)
    *out_refunded = p->refunded;
  pthread_mutex_unlock(&p->mu);
  return STREAM_OK;
}
