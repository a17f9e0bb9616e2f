/*
 * auth/device: the OAuth 2.0 Device Authorization Grant (RFC 8628). A device
 * gets a high-entropy device code (kept only as a SHA-256 hash) and a short
 * user code; a signed-in person approves or denies the user code on the
 * activation page; the device polls, at most once per `interval`, until the
 * grant is approved (tokens, exactly once), denied or expired.
 */
#include <stdio.h>
#include <string.h>

#include "../core/core.h"
#include "auth_internal.h"

#define DEVICE_CODE_BYTES 32
#define USER_CODE_TRIES 8
#define USER_CODE_INPUT_MAX 64
#define SLOW_DOWN_STEP 5
#define INTERVAL_CAP 3600

static const char alphabet[] = STREAM_AUTH_USER_CODE_ALPHABET;

static int check_client_id(const char *id)
{
  if (!id || !*id)
    return stream__err(STREAM_EINVAL, "auth: client_id is required");
  size_t n = auth__strnlen(id, STREAM_AUTH_CLIENT_ID_MAX);
  if (n > STREAM_AUTH_CLIENT_ID_MAX)
    return stream__err(STREAM_EINVAL, "auth: client_id is longer than %d bytes",
                       STREAM_AUTH_CLIENT_ID_MAX);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)id[i];
    if (c < 0x20 || c > 0x7e)
      return stream__err(STREAM_EINVAL, "auth: client_id has a non-printable byte at %zu", i);
  }
  return STREAM_OK;
}

/* Canonical "XXXX-XXXX" from user input: case-insensitive, '-' and spaces ignored. */
static int canonical_user_code(char out[STREAM_AUTH_USER_CODE_SIZE], const char *in)
{
  if (!in || !*in)
    return stream__err(STREAM_EINVAL, "auth: user code is required");
  if (auth__strnlen(in, USER_CODE_INPUT_MAX) > USER_CODE_INPUT_MAX)
    return stream__err(STREAM_EINVAL, "auth: user code is too long");
  char letters[8];
  size_t k = 0;
  for (const char *p = in; *p; p++) {
    char c = *p;
    if (c == '-' || c == ' ' || c == '\t')
      continue;
    if (c >= 'a' && c <= 'z')
      c = (char)(c - 32);
    if (!strchr(alphabet, c) || c == '\0' || k == 8)
      return stream__err(STREAM_EINVAL, "auth: a user code is 8 letters of %s (XXXX-XXXX)",
                         alphabet);
    letters[k++] = c;
  }
  if (k != 8)
    return stream__err(STREAM_EINVAL, "auth: a user code is 8 letters of %s (XXXX-XXXX)", alphabet);
  memcpy(out, letters, 4);
  out[4] = '-';
  memcpy(out + 5, letters + 4, 4);
  out[9] = '\0';
  return STREAM_OK;
}

static int draw_user_code(char out[STREAM_AUTH_USER_CODE_SIZE])
{
  unsigned char buf[32];
  size_t k = 0;
  while (k < 8) {
    int rc = stream_random_bytes(buf, sizeof buf);
    if (rc != STREAM_OK)
      return rc;
    /* Rejection sampling keeps the 20 letters uniform (240 = 12 * 20). */
    for (size_t i = 0; i < sizeof buf && k < 8; i++) {
      if (buf[i] >= 240)
        continue;
      out[k < 4 ? k : k + 1] = alphabet[buf[i] % 20];
      k++;
    }
  }
  out[4] = '-';
  out[9] = '\0';
  return STREAM_OK;
}

int stream_auth_device_start(stream_auth_device_code *out, stream_auth *a, const char *client_id,
                             const char *scope)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "auth: out is NULL");
  memset(out, 0, sizeof *out);
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  if (!a->verification_uri)
    return stream__err(STREAM_ENOTSUP, "auth: device grant disabled (no verification_uri)");
  int rc = check_client_id(client_id);
  if (rc != STREAM_OK)
    return rc;
  if (scope && (rc = auth__check_scope(scope, STREAM_STORE_SCOPE_MAX, "scope")) != STREAM_OK)
    return rc;
  int64_t now = auth__now(a);
  stream_store_device d;
  memset(&d, 0, sizeof d);
  if ((rc = auth__random_b64(out->device_code, DEVICE_CODE_BYTES)) != STREAM_OK ||
      (rc = auth__sha256_hex(d.device_code_hash, out->device_code, strlen(out->device_code))) !=
          STREAM_OK)
    goto fail;
  auth__copy(d.client_id, sizeof d.client_id, client_id);
  auth__copy(d.scope, sizeof d.scope, scope ? scope : "");
  d.interval = a->device_interval;
  d.created_at = now;
  d.expires_at = now + a->device_lifetime;
  for (int i = 0;; i++) {
    if ((rc = draw_user_code(d.user_code)) != STREAM_OK)
      goto fail;
    rc = stream_store_device_insert(a->store, &d);
    if (rc == STREAM_OK)
      break;
    if (rc != STREAM_EEXIST)
      goto fail;
    if (i + 1 == USER_CODE_TRIES) {
      rc = stream__err(STREAM_EBUSY, "auth: no free user code after %d draws", USER_CODE_TRIES);
      goto fail;
    }
  }
  auth__copy(out->user_code, sizeof out->user_code, d.user_code);
  auth__copy(out->verification_uri, sizeof out->verification_uri, a->verification_uri);
  snprintf(out->verification_uri_complete, sizeof out->verification_uri_complete,
           "%s%cuser_code=%s", a->verification_uri, strchr(a->verification_uri, '?') ? '&' : '?',
           d.user_code);
  out->expires_in = a->device_lifetime;
  out->interval = a->device_interval;
  return STREAM_OK;
fail:
  stream__wipe(out, sizeof *out);
  return rc;
}

/* SHA-256 (hex) of the profile's PIN hash as read ("" hashed for no PIN): what an approval
 * for the profile records and what the poll compares. Not the hash itself, which stays in
 * the profiles table only. */
static int pin_digest(char out[STREAM_STORE_TOKEN_HASH_LEN + 1], const stream_store_profile *p)
{
  return auth__sha256_hex(out, p->pin_hash, strnlen(p->pin_hash, sizeof p->pin_hash));
}

#define POLL_RETURN(st, code, ...)                                                                 \
  do {                                                                                             \
    if (out_status)                                                                                \
      *out_status = (st);                                                                          \
    return stream__err((code), __VA_ARGS__);                                                       \
  } while (0)

int stream_auth_device_poll(stream_auth_tokens *out, int *out_status, stream_auth *a,
                            const char *device_code, const char *client_id)
{
  if (out_status)
    *out_status = STREAM_AUTH_POLL_INVALID_REQUEST;
  if (!out)
    return stream__err(STREAM_EINVAL, "auth: out is NULL");
  memset(out, 0, sizeof *out);
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  if (!device_code || !*device_code)
    return stream__err(STREAM_EINVAL, "auth: device_code is required");
  int rc = check_client_id(client_id);
  if (rc != STREAM_OK)
    return rc;
  size_t n = auth__strnlen(device_code, STREAM_AUTH_DEVICE_CODE_SIZE);
  if (n >= STREAM_AUTH_DEVICE_CODE_SIZE)
    return stream__err(STREAM_EINVAL, "auth: device_code is longer than %d characters",
                       STREAM_AUTH_DEVICE_CODE_SIZE - 1);
  if (n != STREAM_AUTH_REFRESH_TOKEN_LEN || !auth__is_b64url(device_code, n))
    POLL_RETURN(STREAM_AUTH_POLL_INVALID_GRANT, STREAM_EAUTH, "auth: malformed device code");
  char hash[STREAM_STORE_TOKEN_HASH_LEN + 1];
  if ((rc = auth__sha256_hex(hash, device_code, n)) != STREAM_OK) {
    if (out_status)
      *out_status = STREAM_AUTH_POLL_ERROR;
    return rc;
  }
  stream_store_device d;
  rc = stream_store_device_get(&d, a->store, hash);
  if (rc == STREAM_ENOTFOUND)
    POLL_RETURN(STREAM_AUTH_POLL_INVALID_GRANT, STREAM_EAUTH, "auth: unknown device code");
  if (rc != STREAM_OK) {
    if (out_status)
      *out_status = STREAM_AUTH_POLL_ERROR;
    return rc;
  }
  if (strcmp(d.client_id, client_id) != 0)
    POLL_RETURN(STREAM_AUTH_POLL_INVALID_GRANT, STREAM_EAUTH,
                "auth: the device code was issued to another client");
  if (d.status == STREAM_STORE_DEVICE_CONSUMED)
    POLL_RETURN(STREAM_AUTH_POLL_INVALID_GRANT, STREAM_EAUTH, "auth: the device code was used");
  int64_t now = auth__now(a);
  if (d.status == STREAM_STORE_DEVICE_EXPIRED || now >= d.expires_at)
    POLL_RETURN(STREAM_AUTH_POLL_EXPIRED, STREAM_EEXPIRED, "auth: the device code expired at %lld",
                (long long)d.expires_at);
  int64_t prev = 0;
  if ((rc = stream_store_device_record_poll(&prev, a->store, hash, 0, now)) != STREAM_OK) {
    if (out_status)
      *out_status = STREAM_AUTH_POLL_ERROR;
    return rc;
  }
  if (prev != 0 && now - prev < d.interval) {
    int next =
        d.interval + SLOW_DOWN_STEP > INTERVAL_CAP ? INTERVAL_CAP : d.interval + SLOW_DOWN_STEP;
    int64_t ignored;
    if ((rc = stream_store_device_record_poll(&ignored, a->store, hash, next, now)) != STREAM_OK) {
      if (out_status)
        *out_status = STREAM_AUTH_POLL_ERROR;
      return rc;
    }
    POLL_RETURN(STREAM_AUTH_POLL_SLOW_DOWN, STREAM_EBUSY,
                "auth: slow_down: polled %lld s after the previous poll; interval is now %d s",
                (long long)(now - prev), next);
  }
  if (d.status == STREAM_STORE_DEVICE_DENIED)
    POLL_RETURN(STREAM_AUTH_POLL_DENIED, STREAM_EFORBIDDEN, "auth: access_denied by the user");
  if (d.status == STREAM_STORE_DEVICE_PENDING)
    POLL_RETURN(STREAM_AUTH_POLL_PENDING, STREAM_EBUSY,
                "auth: authorization_pending: the user has not approved yet");

  rc = stream_store_device_consume(&d, a->store, hash, now);
  if (rc == STREAM_ECONFLICT)
    POLL_RETURN(STREAM_AUTH_POLL_INVALID_GRANT, STREAM_EAUTH, "auth: the device code was used");
  if (rc == STREAM_EEXPIRED)
    POLL_RETURN(STREAM_AUTH_POLL_EXPIRED, STREAM_EEXPIRED, "auth: the device code expired");
  if (rc != STREAM_OK) {
    if (out_status)
      *out_status = STREAM_AUTH_POLL_ERROR;
    return rc;
  }
  stream_store_account acct;
  if (auth__load_active_account(&acct, a, d.account_id) != STREAM_OK)
    POLL_RETURN(STREAM_AUTH_POLL_DENIED, STREAM_EFORBIDDEN,
                "auth: access_denied: the approving account is gone or disabled");
  if (d.profile_id[0] == '\0' && d.profile_pin_digest[0] == '\0') { /* the whole account */
    rc = auth__issue_tokens(out, a, &acct, NULL, NULL, now);
    if (out_status)
      *out_status = rc == STREAM_OK ? STREAM_AUTH_POLL_SUCCESS : STREAM_AUTH_POLL_ERROR;
    return rc;
  }
  /* Approved for a profile. A digest without a profile id: deleting the profile cleared the
   * id (ON DELETE SET NULL), which must not turn the approval into one of the whole account. */
  stream_store_profile prof;
  if (d.profile_id[0] == '\0' ||
      stream_store_profile_get(&prof, a->store, d.profile_id) != STREAM_OK)
    POLL_RETURN(STREAM_AUTH_POLL_DENIED, STREAM_EFORBIDDEN,
                "auth: access_denied: the approved profile was deleted");
  /* The approval was checked against the profile's PIN as it was then; a PIN set, changed or
   * removed since (whose revocation of the profile's sessions cannot reach tokens issued
   * now) voids it. An approval that recorded no PIN state cannot be checked. */
  char digest[STREAM_STORE_TOKEN_HASH_LEN + 1];
  if ((rc = pin_digest(digest, &prof)) != STREAM_OK) {
    if (out_status)
      *out_status = STREAM_AUTH_POLL_ERROR;
    return rc;
  }
  if (strcmp(digest, d.profile_pin_digest) != 0)
    POLL_RETURN(
        STREAM_AUTH_POLL_DENIED, STREAM_EFORBIDDEN,
        d.profile_pin_digest[0] &&
                strcmp(d.profile_pin_digest, STREAM_STORE_DEVICE_PIN_UNCHECKED) != 0
            ? "auth: access_denied: the PIN of profile %s was set, changed or removed "
              "after the approval; approve the device again"
            : "auth: access_denied: the approval for profile %s recorded no PIN state "
              "(approved without a PIN check, or by an older libstream); approve the device again",
        d.profile_id);
  /* A PIN edit from here on: the re-read after the family is stored (or the edit's own
   * revocation) catches it, as for a profile switch. */
  rc = auth__issue_profile_tokens(out, a, &acct, &prof, now);
  if (rc == STREAM_EFORBIDDEN || rc == STREAM_ENOTFOUND)
    POLL_RETURN(STREAM_AUTH_POLL_DENIED, STREAM_EFORBIDDEN,
                "auth: access_denied: the PIN of profile %s changed, or the profile was "
                "deleted, while the device's tokens were issued; approve the device again",
                d.profile_id);
  if (out_status)
    *out_status = rc == STREAM_OK ? STREAM_AUTH_POLL_SUCCESS : STREAM_AUTH_POLL_ERROR;
  return rc;
}

int stream_auth_device_lookup(stream_auth_device_info *out, stream_auth *a, const char *user_code)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "auth: out is NULL");
  memset(out, 0, sizeof *out);
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  char code[STREAM_AUTH_USER_CODE_SIZE];
  int rc = canonical_user_code(code, user_code);
  if (rc != STREAM_OK)
    return rc;
  stream_store_device d;
  rc = stream_store_device_get_by_user_code(&d, a->store, code);
  if (rc == STREAM_ENOTFOUND)
    return stream__err(STREAM_ENOTFOUND, "auth: no device authorization with user code %s", code);
  if (rc != STREAM_OK)
    return rc;
  auth__copy(out->user_code, sizeof out->user_code, code);
  auth__copy(out->client_id, sizeof out->client_id, d.client_id);
  auth__copy(out->scope, sizeof out->scope, d.scope);
  out->status = d.status;
  if (d.status == STREAM_STORE_DEVICE_PENDING && auth__now(a) >= d.expires_at)
    out->status = STREAM_STORE_DEVICE_EXPIRED;
  out->expires_at = d.expires_at;
  return STREAM_OK;
}

static int decide_error(int rc, const char *code)
{
  switch (rc) {
  case STREAM_ENOTFOUND:
    return stream__err(rc, "auth: no device authorization with user code %s", code);
  case STREAM_EEXPIRED:
    return stream__err(rc, "auth: user code %s has expired", code);
  case STREAM_ECONFLICT:
    return stream__err(rc, "auth: user code %s was already approved, denied or used", code);
  default:
    return rc;
  }
}

int stream_auth_device_approve(stream_auth *a, const char *user_code, const char *account_id,
                               const char *profile_id)
{
  /* No PIN: a PIN-locked profile is refused (STREAM_EFORBIDDEN "requires its PIN"). */
  return stream_auth_device_approve_pin(NULL, a, user_code, account_id, profile_id, NULL);
}

int stream_auth_device_approve_pin(int64_t *out_retry_after, stream_auth *a, const char *user_code,
                                   const char *account_id, const char *profile_id, const char *pin)
{
  if (out_retry_after)
    *out_retry_after = 0;
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  char code[STREAM_AUTH_USER_CODE_SIZE];
  int rc = canonical_user_code(code, user_code);
  if (rc != STREAM_OK)
    return rc;
  if ((rc = auth__check_id("account id", account_id)) != STREAM_OK)
    return rc;
  bool has_prof = profile_id && *profile_id;
  if (has_prof && (rc = auth__check_id("profile id", profile_id)) != STREAM_OK)
    return rc;
  if (!has_prof && pin && *pin)
    return stream__err(STREAM_EINVAL, "auth: a PIN was given without a profile");
  stream_store_account acct;
  if ((rc = auth__load_active_account(&acct, a, account_id)) != STREAM_OK)
    return rc;
  char digest[STREAM_STORE_TOKEN_HASH_LEN + 1] = "";
  if (has_prof) {
    stream_store_profile p;
    rc = stream_store_profile_get(&p, a->store, profile_id);
    if (rc == STREAM_ENOTFOUND || (rc == STREAM_OK && strcmp(p.account_id, account_id) != 0))
      return stream__err(STREAM_ENOTFOUND, "auth: account %s has no profile %s", account_id,
                         profile_id);
    if (rc != STREAM_OK)
      return rc;
    /* The device gets tokens scoped to this profile: the same PIN gate as a profile switch
     * (and its attempt limit), so an approval is no way around a locked profile. */
    if ((rc = auth__profile_pin_check(out_retry_after, a, &p, pin)) != STREAM_OK)
      return rc;
    /* The PIN state this check read goes with the approval: the poll refuses the approval
     * if the PIN changed since (stream_auth_device_poll). */
    if ((rc = pin_digest(digest, &p)) != STREAM_OK)
      return rc;
  }
  rc = stream_store_device_approve_profile(a->store, code, account_id, has_prof ? profile_id : NULL,
                                           has_prof ? digest : NULL, auth__now(a));
  return rc == STREAM_OK ? STREAM_OK : decide_error(rc, code);
}

int stream_auth_device_deny(stream_auth *a, const char *user_code)
{
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  char code[STREAM_AUTH_USER_CODE_SIZE];
  int rc = canonical_user_code(code, user_code);
  if (rc != STREAM_OK)
    return rc;
  rc = stream_store_device_deny(a->store, code, auth__now(a));
  return rc == STREAM_OK ? STREAM_OK : decide_error(rc, code);
}
