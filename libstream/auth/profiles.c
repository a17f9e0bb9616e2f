/*
 * auth/profiles: up to five profiles per account (name, avatar, kids flag,
 * maturity ceiling, optional 4-digit PIN stored as an Argon2id hash), the
 * profile switch that issues tokens scoped to one profile, and the viewer's
 * profile update and delete that ask for the account password before a PIN
 * changes, and before a PIN-locked profile's limits change or it is deleted (a
 * PIN set or changed signs the profile's sessions out).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "../store/store_internal.h"
#include "auth_internal.h"

#define PROFILE_EDIT_TRIES 8

static bool valid_ceiling(int c)
{
  return c == 0 || c == 7 || c == 13 || c == 16 || c == 18;
}

static int check_text(const char *what, const char *s, size_t min, size_t max)
{
  size_t n = auth__strnlen(s, max);
  if (n < min || n > max)
    return stream__err(STREAM_EINVAL, "auth: profile %s must be %zu..%zu bytes", what, min, max);
  const unsigned char *u = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    if (u[i] < 0x20 || u[i] == 0x7f)
      return stream__err(STREAM_EINVAL, "auth: profile %s has a control character at byte %zu",
                         what, i);
    size_t l = stream__utf8_seq(u + i, n - i);
    if (!l)
      return stream__err(STREAM_EINVAL, "auth: profile %s has invalid UTF-8 at byte %zu", what, i);
    i += l;
  }
  return STREAM_OK;
}

static int check_pin(const char *pin)
{
  size_t n = auth__strnlen(pin, STREAM_AUTH_PIN_LEN);
  bool ok = n == STREAM_AUTH_PIN_LEN;
  for (size_t i = 0; ok && i < n; i++)
    ok = pin[i] >= '0' && pin[i] <= '9';
  if (!ok)
    return stream__err(STREAM_EINVAL, "auth: a PIN is exactly %d ASCII digits",
                       STREAM_AUTH_PIN_LEN);
  return STREAM_OK;
}

static void profile_out(stream_auth_profile *out, const stream_store_profile *p)
{
  memset(out, 0, sizeof *out);
  auth__copy(out->id, sizeof out->id, p->id);
  auth__copy(out->account_id, sizeof out->account_id, p->account_id);
  auth__copy(out->name, sizeof out->name, p->name);
  auth__copy(out->avatar, sizeof out->avatar, p->avatar);
  out->kids = p->kids;
  out->maturity_ceiling = p->maturity_ceiling;
  out->has_pin = p->pin_hash[0] != '\0';
  out->created_at = p->created_at;
}

/* Validate `in` (create: a name is required). */
static int check_input(const stream_auth_profile_input *in, bool create)
{
  if (!in)
    return stream__err(STREAM_EINVAL, "auth: profile input is NULL");
  if (in->version != STREAM_AUTH_PROFILE_INPUT_VERSION)
    return stream__err(STREAM_EINVAL, "auth: unknown profile input version %u", in->version);
  int rc;
  if (create && !in->name)
    return stream__err(STREAM_EINVAL, "auth: profile name is required");
  if (in->name && (rc = check_text("name", in->name, 1, STREAM_AUTH_PROFILE_NAME_MAX)) != STREAM_OK)
    return rc;
  if (in->avatar && (rc = check_text("avatar", in->avatar, 0, STREAM_AUTH_AVATAR_MAX)) != STREAM_OK)
    return rc;
  if (in->kids != -1 && in->kids != 0 && in->kids != 1)
    return stream__err(STREAM_EINVAL, "auth: profile kids must be 0, 1 or -1 (got %d)", in->kids);
  if (in->maturity_ceiling != -1 && !valid_ceiling(in->maturity_ceiling))
    return stream__err(STREAM_EINVAL,
                       "auth: maturity ceiling %d is not one of 0, 7, 13, 16, 18 (or -1)",
                       in->maturity_ceiling);
  if (in->pin && *in->pin && (rc = check_pin(in->pin)) != STREAM_OK)
    return rc;
  return STREAM_OK;
}

/* The PIN hash a checked `in` sets (empty: none, or the PIN is removed). Hashed once per
 * call, outside the update's compare-and-set retries: it is the slow part. */
static int input_pin_hash(char *out, size_t cap, stream_auth *a,
                          const stream_auth_profile_input *in)
{
  out[0] = '\0';
  if (!in->pin || !*in->pin)
    return STREAM_OK;
  char *h = NULL;
  int rc = stream_password_hash(&h, in->pin, STREAM_AUTH_PIN_LEN, &a->pw);
  if (rc != STREAM_OK)
    return rc;
  auth__copy(out, cap, h);
  stream_free(h);
  return STREAM_OK;
}

/* Apply a checked `in` to `p` (create: p zeroed, defaults applied after), with
 * `pin_hash` from input_pin_hash(). */
static int apply_input(stream_store_profile *p, const stream_auth_profile_input *in,
                       const char *pin_hash, bool create)
{
  if (in->name)
    auth__copy(p->name, sizeof p->name, in->name);
  if (in->avatar)
    auth__copy(p->avatar, sizeof p->avatar, in->avatar);
  if (in->kids != -1)
    p->kids = in->kids;
  if (in->maturity_ceiling != -1) {
    p->maturity_ceiling = in->maturity_ceiling;
  } else if (create) {
    p->maturity_ceiling = p->kids ? STREAM_AUTH_KIDS_CEILING : STREAM_AUTH_MATURITY_MAX;
  } else if (p->kids && p->maturity_ceiling > STREAM_AUTH_KIDS_CEILING) {
    p->maturity_ceiling = STREAM_AUTH_KIDS_CEILING;
  }
  if (p->kids && p->maturity_ceiling > STREAM_AUTH_KIDS_CEILING)
    return stream__err(STREAM_EINVAL, "auth: a kids profile's maturity ceiling is at most %d",
                       STREAM_AUTH_KIDS_CEILING);
  if (in->pin)
    auth__copy(p->pin_hash, sizeof p->pin_hash, pin_hash);
  return STREAM_OK;
}

static int store_error(int rc, const char *account_id)
{
  switch (rc) {
  case STREAM_EEXIST:
    return stream__err(rc, "auth: the account already has a profile with this name");
  case STREAM_ERANGE:
    return stream__err(rc, "auth: account %s already has %d profiles", account_id,
                       STREAM_AUTH_PROFILES_MAX);
  case STREAM_ENOTFOUND:
    return stream__err(rc, "auth: no account with id %s", account_id);
  default:
    return rc;
  }
}

/* The profile `profile_id` of `account_id`, or ENOTFOUND. */
static int owned_profile(stream_store_profile *p, stream_auth *a, const char *account_id,
                         const char *profile_id)
{
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  int rc = auth__check_id("account id", account_id);
  if (rc == STREAM_OK)
    rc = auth__check_id("profile id", profile_id);
  if (rc != STREAM_OK)
    return rc;
  rc = stream_store_profile_get(p, a->store, profile_id);
  if (rc == STREAM_ENOTFOUND || (rc == STREAM_OK && strcmp(p->account_id, account_id) != 0))
    return stream__err(STREAM_ENOTFOUND, "auth: account %s has no profile %s", account_id,
                       profile_id);
  return rc;
}

int stream_auth_profile_create(stream_auth_profile *out, stream_auth *a, const char *account_id,
                               const stream_auth_profile_input *in)
{
  if (out)
    memset(out, 0, sizeof *out);
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  int rc = auth__check_id("account id", account_id);
  if (rc != STREAM_OK)
    return rc;
  stream_store_profile p;
  memset(&p, 0, sizeof p);
  char pin_hash[sizeof p.pin_hash];
  if ((rc = check_input(in, true)) != STREAM_OK ||
      (rc = input_pin_hash(pin_hash, sizeof pin_hash, a, in)) != STREAM_OK ||
      (rc = apply_input(&p, in, pin_hash, true)) != STREAM_OK)
    return rc;
  auth__copy(p.account_id, sizeof p.account_id, account_id);
  /* A deleted account's tombstone row still exists for the foreign keys:
   * the store hides it, so ask it first. */
  stream_store_account acct;
  rc = stream_store_account_get(&acct, a->store, account_id);
  if (rc == STREAM_ENOTFOUND)
    return stream__err(STREAM_ENOTFOUND, "auth: no account with id %s", account_id);
  if (rc != STREAM_OK)
    return rc;
  stream_store_profile row;
  rc = stream_store_profile_create(&row, a->store, &p, auth__now(a));
  if (rc != STREAM_OK)
    return store_error(rc, account_id);
  if (out)
    profile_out(out, &row);
  return STREAM_OK;
}

int stream_auth_profile_list(stream_auth_profile *out, size_t *out_count, stream_auth *a,
                             const char *account_id)
{
  if (out_count)
    *out_count = 0;
  if (!out || !out_count)
    return stream__err(STREAM_EINVAL, "auth: out or out_count is NULL");
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  int rc = auth__check_id("account id", account_id);
  if (rc != STREAM_OK)
    return rc;
  stream_store_profile *rows = NULL;
  size_t n = 0;
  if ((rc = stream_store_profile_list(&rows, &n, a->store, account_id)) != STREAM_OK)
    return rc;
  if (n > STREAM_AUTH_PROFILES_MAX)
    n = STREAM_AUTH_PROFILES_MAX;
  for (size_t i = 0; i < n; i++)
    profile_out(&out[i], &rows[i]);
  stream_free(rows);
  *out_count = n;
  return STREAM_OK;
}

int stream_auth_profile_get(stream_auth_profile *out, stream_auth *a, const char *account_id,
                            const char *profile_id)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "auth: out is NULL");
  memset(out, 0, sizeof *out);
  stream_store_profile p;
  int rc = owned_profile(&p, a, account_id, profile_id);
  if (rc != STREAM_OK)
    return rc;
  profile_out(out, &p);
  return STREAM_OK;
}

/* What a viewer's request needs the account password for. */
typedef enum password_need {
  NEED_NOTHING = 0,
  NEED_PIN,    /* setting, changing or removing a PIN */
  NEED_LIMITS, /* changing the kids flag or ceiling of a PIN-locked profile */
  NEED_DELETE  /* deleting a PIN-locked profile */
} password_need;

/* What a viewer's edit of the row `p` needs the account password for. A PIN
 * keeps housemates out of a profile, so changing it (set, change, remove) always does; and on
 * a profile that has a PIN, so does changing what it may watch (kids, maturity ceiling): else
 * any adult token of the account could lift a locked profile's limits or turn it into a kids
 * profile. Fields given with their stored value change nothing and need nothing. */
static password_need edit_needs(const stream_auth_profile_input *in, const stream_store_profile *p)
{
  if (in->pin)
    return NEED_PIN;
  if (p->pin_hash[0] &&
      ((in->kids != -1 && in->kids != p->kids) ||
       (in->maturity_ceiling != -1 && in->maturity_ceiling != p->maturity_ceiling)))
    return NEED_LIMITS;
  return NEED_NOTHING;
}

static int password_missing(password_need need, const char *profile_id)
{
  switch (need) {
  case NEED_PIN:
    return stream__err(STREAM_EINVAL,
                       "auth: the account password is required to set, change or remove the "
                       "PIN of profile %s",
                       profile_id);
  case NEED_LIMITS:
    return stream__err(STREAM_EINVAL,
                       "auth: profile %s is locked with a PIN: the account password is required "
                       "to change its kids flag or maturity ceiling",
                       profile_id);
  default:
    return stream__err(STREAM_EINVAL,
                       "auth: profile %s is locked with a PIN: the account password is required "
                       "to delete it",
                       profile_id);
  }
}

/* The account password of a viewer's request, checked like stream_auth_change_password's
 * current password (the sign-in steps: same Argon2id work and buckets), for `need`. */
static int check_account_password(int64_t *out_retry_after, stream_auth *a, const char *account_id,
                                  const char *profile_id, const char *password,
                                  const char *client_address, password_need need)
{
  if (!password || !*password)
    return password_missing(need, profile_id);
  size_t plen = 0;
  int rc = auth__check_password_args(&plen, password, client_address);
  if (rc != STREAM_OK)
    return rc;
  stream_store_account acct;
  rc = auth__reauthenticate(&acct, out_retry_after, a, account_id, password, plen, client_address);
  if (rc != STREAM_OK)
    return rc;
  if (acct.disabled)
    return stream__err(STREAM_EFORBIDDEN, "auth: account %s is disabled", acct.id);
  return STREAM_OK;
}

/* A viewer's password for update_row(): `checked` false is the caller-vouches variant. */
typedef struct profile_auth {
  bool checked;
  bool verified; /* the password was checked during this call */
  const char *password;
  const char *client_address;
  int64_t *out_retry_after;
} profile_auth;

/* Check the password when the edit of row `p` needs it (and it was not checked yet). */
static int profile_auth_check(profile_auth *pa, stream_auth *a, const char *account_id,
                              const char *profile_id, const stream_auth_profile_input *in,
                              const stream_store_profile *p)
{
  password_need need = pa->checked && !pa->verified ? edit_needs(in, p) : NEED_NOTHING;
  if (need == NEED_NOTHING)
    return STREAM_OK;
  int rc = check_account_password(pa->out_retry_after, a, account_id, profile_id, pa->password,
                                  pa->client_address, need);
  if (rc == STREAM_OK)
    pa->verified = true;
  return rc;
}

/* The update of a checked `in` on the row `p` as read (owned_profile), the PIN hashed once. */
static int update_row(stream_auth_profile *out, stream_auth *a, const char *account_id,
                      const char *profile_id, const stream_auth_profile_input *in,
                      stream_store_profile *p, profile_auth *pa)
{
  /* The password first: a wrong one hashes and writes nothing. */
  int rc = profile_auth_check(pa, a, account_id, profile_id, in, p);
  if (rc != STREAM_OK)
    return rc;
  char pin_hash[sizeof p->pin_hash];
  if ((rc = input_pin_hash(pin_hash, sizeof pin_hash, a, in)) != STREAM_OK)
    return rc;
  /* Compare-and-set: only the row as read is replaced. When another edit landed between
   * the read and the write (a parent setting `kids` while this PIN change was hashing),
   * the edit is applied again to the row as it is now instead of putting the old fields
   * back; and whether it needs the password is decided again on that row (a PIN set
   * meanwhile locks the limits this edit changes). */
  for (int i = 0;; i++) {
    stream_store_profile before = *p;
    if ((rc = apply_input(p, in, pin_hash, false)) != STREAM_OK)
      return rc;
    rc = stream_store_profile_update_if(a->store, p, &before);
    if (rc == STREAM_OK)
      break;
    if (rc != STREAM_ECONFLICT)
      return store_error(rc, account_id);
    if (i + 1 == PROFILE_EDIT_TRIES)
      return stream__err(STREAM_EBUSY, "auth: profile %s changed %d times while being updated",
                         profile_id, PROFILE_EDIT_TRIES);
    if ((rc = owned_profile(p, a, account_id, profile_id)) != STREAM_OK ||
        (rc = profile_auth_check(pa, a, account_id, profile_id, in, p)) != STREAM_OK)
      return rc;
  }
  /* A new PIN locks out whoever entered the profile before it: their refresh tokens die
   * now (after the write, so a switch must show the new PIN from here on); their access
   * tokens run out by themselves. A refresh racing this finds its rotated token revoked
   * and revokes the family it just extended (stream_auth_refresh); a switch racing it
   * reads the profile again after storing its family (switch_issue). Removing the PIN
   * locks no one out; other fields revoke nothing. */
  if (in->pin && *in->pin) {
    rc = stream_store_refresh_revoke_profile(NULL, a->store, profile_id, auth__now(a));
    if (rc != STREAM_OK) {
      const stream_error *e = stream_error_last();
      char why[sizeof e->message];
      auth__copy(why, sizeof why, e && e->code == rc ? e->message : stream_strerror(rc));
      return stream__err(rc,
                         "auth: the PIN of profile %s was set but its sessions were not signed "
                         "out (%s); repeat the change",
                         profile_id, why);
    }
  }
  if (out)
    profile_out(out, p);
  return STREAM_OK;
}

int stream_auth_profile_update(stream_auth_profile *out, stream_auth *a, const char *account_id,
                               const char *profile_id, const stream_auth_profile_input *in)
{
  if (out)
    memset(out, 0, sizeof *out);
  stream_store_profile p;
  int rc = owned_profile(&p, a, account_id, profile_id);
  if (rc != STREAM_OK)
    return rc;
  if ((rc = check_input(in, false)) != STREAM_OK)
    return rc;
  profile_auth pa = {false, false, NULL, NULL, NULL};
  return update_row(out, a, account_id, profile_id, in, &p, &pa);
}

int stream_auth_profile_update_checked(stream_auth_profile *out, int64_t *out_retry_after,
                                       stream_auth *a, const char *account_id,
                                       const char *profile_id, const stream_auth_profile_input *in,
                                       const char *password, const char *client_address)
{
  if (out_retry_after)
    *out_retry_after = 0;
  if (out)
    memset(out, 0, sizeof *out);
  stream_store_profile p;
  int rc = owned_profile(&p, a, account_id, profile_id);
  if (rc != STREAM_OK)
    return rc;
  if ((rc = check_input(in, false)) != STREAM_OK)
    return rc;
  profile_auth pa = {true, false, password, client_address, out_retry_after};
  return update_row(out, a, account_id, profile_id, in, &p, &pa);
}

int stream_auth_profile_delete(stream_auth *a, const char *account_id, const char *profile_id)
{
  stream_store_profile p;
  int rc = owned_profile(&p, a, account_id, profile_id);
  if (rc != STREAM_OK)
    return rc;
  rc = stream_store_profile_delete(a->store, profile_id);
  if (rc == STREAM_ENOTFOUND)
    return stream__err(rc, "auth: account %s has no profile %s", account_id, profile_id);
  return rc;
}

/* Deleting a PIN-locked profile takes its progress, My List and ratings: the account
 * password first, as for a PIN change. The decision is made on the row that is deleted: the
 * store deletes it only while its PIN hash is still the one read (compare-and-delete), and
 * a PIN that appeared meanwhile sends the call round again, where it now needs the password. */
int stream_auth_profile_delete_checked(int64_t *out_retry_after, stream_auth *a,
                                       const char *account_id, const char *profile_id,
                                       const char *password, const char *client_address)
{
  if (out_retry_after)
    *out_retry_after = 0;
  bool verified = false;
  for (int i = 0;; i++) {
    stream_store_profile p;
    int rc = owned_profile(&p, a, account_id, profile_id);
    if (rc != STREAM_OK)
      return rc;
    if (p.pin_hash[0] && !verified) {
      rc = check_account_password(out_retry_after, a, account_id, profile_id, password,
                                  client_address, NEED_DELETE);
      if (rc != STREAM_OK)
        return rc;
      verified = true;
    }
    rc = stream_store_profile_delete_if(a->store, &p);
    if (rc != STREAM_ECONFLICT)
      return rc;
    if (i + 1 == PROFILE_EDIT_TRIES)
      return stream__err(STREAM_EBUSY, "auth: profile %s changed %d times while being deleted",
                         profile_id, PROFILE_EDIT_TRIES);
  }
}

int stream_auth_switch_profile(stream_auth_tokens *out, int64_t *out_retry_after, stream_auth *a,
                               const char *account_id, const char *profile_id, const char *pin)
{
  if (out_retry_after)
    *out_retry_after = 0;
  if (!out)
    return stream__err(STREAM_EINVAL, "auth: out is NULL");
  memset(out, 0, sizeof *out);
  stream_store_profile p;
  int rc = owned_profile(&p, a, account_id, profile_id);
  if (rc != STREAM_OK)
    return rc;
  if (pin && *pin && (rc = check_pin(pin)) != STREAM_OK)
    return rc;
  stream_store_account acct;
  if ((rc = auth__load_active_account(&acct, a, account_id)) != STREAM_OK)
    return rc;
  if ((rc = auth__profile_pin_check(out_retry_after, a, &p, pin)) != STREAM_OK)
    return rc;
  return auth__issue_profile_tokens(out, a, &acct, &p, auth__now(a));
}

/* A PIN set after the check above but whose revocation (update_row) ran before the family was
 * stored would leave this session in a locked profile. The profile is read again after the
 * store: a write of the PIN before that read shows a different hash here; one after it
 * revokes the family, since update_row revokes after writing. Either way the session does
 * not outlive the new PIN. (A PIN set and removed again before the read compares equal: the
 * profile is then open, as it was when checked.) */
int auth__issue_profile_tokens(stream_auth_tokens *out, stream_auth *a,
                               const stream_store_account *acct, const stream_store_profile *p,
                               int64_t now)
{
  int rc = auth__issue_tokens(out, a, acct, p, NULL, now);
  if (rc != STREAM_OK)
    return rc;
  stream_store_profile again;
  rc = stream_store_profile_get(&again, a->store, p->id);
  if (rc == STREAM_OK && strcmp(again.pin_hash, p->pin_hash) == 0)
    return STREAM_OK;
  /* Never handed out; the family is revoked all the same (a failure there is moot: no one
   * holds the refresh token). */
  (void)stream_auth_logout(a, out->refresh_token);
  stream__wipe(out, sizeof *out);
  if (rc == STREAM_ENOTFOUND)
    return stream__err(rc, "auth: profile %s was deleted while switching to it", p->id);
  if (rc != STREAM_OK)
    return rc;
  return stream__err(STREAM_EFORBIDDEN,
                     "auth: the PIN of profile %s changed while switching to it; it requires its "
                     "PIN",
                     p->id);
}

int auth__profile_pin_check(int64_t *out_retry_after, stream_auth *a, const stream_store_profile *p,
                            const char *pin)
{
  if (!p->pin_hash[0])
    return STREAM_OK;
  if (!pin || !*pin)
    return stream__err(STREAM_EFORBIDDEN, "auth: profile %s requires its PIN", p->id);
  int rc = check_pin(pin);
  if (rc != STREAM_OK)
    return rc;
  char key[STREAM_STORE_ID_SIZE + 2];
  snprintf(key, sizeof key, "p:%s", p->id);
  int64_t wait = 0;
  if ((rc = auth__limit_take(&wait, a, &a->rl_account, key, NULL, NULL, auth__now(a))) != STREAM_OK)
    return rc;
  if (wait > 0) {
    if (out_retry_after)
      *out_retry_after = wait;
    return stream__err(STREAM_EBUSY, "auth: too many PIN attempts; retry in %lld s",
                       (long long)wait);
  }
  rc = stream_password_verify(p->pin_hash, pin, STREAM_AUTH_PIN_LEN);
  if (rc == STREAM_EAUTH)
    return stream__err(STREAM_EFORBIDDEN, "auth: wrong PIN for profile %s", p->id);
  if (rc != STREAM_OK)
    return rc;
  auth__limit_forgive(a, &a->rl_account, key);
  return STREAM_OK;
}
