/*
 * store: screen leases and the facts of an entitlement decision, used only by
 * the billing module (libstream/billing/entitlements.c and leases.c).
 *
 * The policy (who may play what) lives in billing; the store gathers the facts
 * and, for acquire, calls the policy back inside its write transaction so that
 * the check and the insert are atomic: concurrent starts on one account never
 * take more screens than the plan has.
 *
 * Rows use the public stream_billing_lease so the sizes stay in step with
 * billing.h. A lease is live while expires_at > now. Lapsed rows stay for a
 * day (so a late heartbeat answers "expired" rather than "unknown") and are
 * purged by the account's next acquire. Text arrives checked by billing: ids
 * [A-Za-z0-9_-], device_id printable ASCII, device_name valid UTF-8.
 */
#ifndef STREAM_STORE_LEASES_H
#define STREAM_STORE_LEASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream/billing.h"
#include "store_internal.h"

/* How long a lapsed lease row is kept before an acquire purges it. */
#define STORE__LEASE_KEEP_LAPSED 86400

/* What an entitlement decision needs, read in one snapshot at `now`. */
typedef struct store__lease_facts {
  bool subscribed;                      /* the account has a live subscription */
  int sub_status;                       /* its status (0 trialing, 1 active, 2 past_due) */
  char plan_id[STREAM_BILLING_ID_SIZE]; /* its plan */
  int screens;                          /* the plan's screens */
  int max_height;                       /* the plan's highest rendition */
  bool profile_ok;                      /* the profile exists and is the account's */
  int maturity_ceiling;                 /* its ceiling, when profile_ok */
  bool title_found;                     /* the title exists */
  int maturity_rating;                  /* its rating, when title_found */
  bool device_live;                     /* the device holds a live lease of the account */
  stream_billing_lease own;             /* that lease, when device_live */
  size_t in_use_total;                  /* live leases of other devices */
  size_t in_use_count;                  /* of them listed below, oldest first */
  stream_billing_lease in_use[STREAM_BILLING_SCREENS_MAX];
} store__lease_facts;

/* The policy applied inside the acquire transaction: STREAM_OK to take the
 * screen, or a negative code (message set) to refuse. Runs with the writer
 * held: it must be quick and must not call the store. */
typedef int (*store__lease_decide_fn)(void *userdata, const store__lease_facts *facts);

struct stream_store_lease_ops {
  /* Facts about (account, profile, title, device) at `now`, one read snapshot. */
  int (*facts)(void *impl, store__lease_facts *out, const char *account_id, const char *profile_id,
               const char *title_id, const char *device_id, int64_t now);
  /* One write transaction: gather the facts of `in` (account, profile, title,
   * device) at `now`, ask `decide`, then renew the device's live lease (same
   * id and started_at; profile, title and a non-empty name updated) or insert
   * a new one with id `in->id`, started_at = now; expires_at = now + ttl.
   * The device's own lapsed lease is replaced. `*facts` receives what was
   * decided on, also on refusal (decide's code is returned). */
  int (*acquire)(void *impl, stream_billing_lease *out, store__lease_facts *facts,
                 const stream_billing_lease *in, int64_t now, int ttl,
                 store__lease_decide_fn decide, void *userdata);
  /* Renew a live lease of the account: expires_at = now + ttl.
   * STREAM_ENOTFOUND (no such lease of the account), STREAM_EEXPIRED (lapsed). */
  int (*heartbeat)(void *impl, stream_billing_lease *out, const char *account_id,
                   const char *lease_id, int64_t now, int ttl);
  /* Delete a lease of the account (live or lapsed). STREAM_ENOTFOUND. */
  int (*release)(void *impl, const char *account_id, const char *lease_id);
  /* The account's live leases at `now`, oldest first; *out freed with free(),
   * NULL when there are none. */
  int (*list)(void *impl, stream_billing_lease **out, size_t *out_count, const char *account_id,
              int64_t now);
};

#endif
