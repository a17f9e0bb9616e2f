/*
 * auth/tokens: password sign-in, access tokens (JWT, typ "at+jwt" as in
 * RFC 9068 so that no other JWT signed with the same keys passes as one),
 * refresh-token rotation with reuse detection, logout and RFC 7009
 * revocation.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../core/core.h"
#include "../store/store_internal.h"
#include "auth_internal.h"

#define ACCESS_TYP "at+jwt"
#define FAMILY_BYTES 16
#define REFRESH_BYTES 32
#define LOGIN_FAILED "invalid e-mail or password"

static const char *role_name(int role)
{
  return role == STREAM_AUTH_ROLE_OPERATOR ? "operator" : "viewer";
}

int auth__issue_tokens(stream_auth_tokens *out, stream_auth *a, const stream_store_account *acct,
                       const stream_store_profile *profile, const char *family, int64_t now)
{
  memset(out, 0, sizeof *out);
  cJSON *claims = cJSON_CreateObject();
  if (!claims || !cJSON_AddStringToObject(claims, "role", role_name(acct->role)) ||
      !cJSON_AddStringToObject(claims, "scope", a->scope) ||
      (profile && (!cJSON_AddStringToObject(claims, "pid", profile->id) ||
                   !cJSON_AddNumberToObject(claims, "kids", profile->kids ? 1 : 0) ||
                   !cJSON_AddNumberToObject(claims, "mat", profile->maturity_ceiling)))) {
    cJSON_Delete(claims);
    return stream__err(STREAM_ENOMEM, "auth: out of memory building claims");
  }
  char *cj = cJSON_PrintUnformatted(claims);
  cJSON_Delete(claims);
  if (!cj)
    return stream__err(STREAM_ENOMEM, "auth: out of memory building claims");

  stream_token_issue_options io = STREAM_TOKEN_ISSUE_OPTIONS_INIT;
  io.ttl = a->access_ttl;
  io.iss = a->issuer;
  io.aud = a->audience;
  io.sub = acct->id;
  io.jti = 1;
  io.now = now;
  io.typ = ACCESS_TYP;
  char *jwt = NULL;
  int rc = stream_token_issue(&jwt, a->keys, NULL, cj, &io);
  free(cj);
  if (rc != STREAM_OK)
    return rc;
  size_t jl = strlen(jwt);
  if (jl >= sizeof out->access_token) {
    stream_free(jwt);
    return stream__err(STREAM_EINTERNAL, "auth: access token of %zu bytes does not fit", jl);
  }
  memcpy(out->access_token, jwt, jl + 1);
  stream_free(jwt);

  stream_store_refresh row;
  memset(&row, 0, sizeof row);
  if (family) {
    auth__copy(row.family_id, sizeof row.family_id, family);
  } else if ((rc = auth__random_b64(row.family_id, FAMILY_BYTES)) != STREAM_OK) {
    goto fail;
  }
  if ((rc = auth__random_b64(out->refresh_token, REFRESH_BYTES)) != STREAM_OK ||
      (rc = auth__sha256_hex(row.token_hash, out->refresh_token, strlen(out->refresh_token))) !=
          STREAM_OK)
    goto fail;
  auth__copy(row.account_id, sizeof row.account_id, acct->id);
  if (profile)
    auth__copy(row.profile_id, sizeof row.profile_id, profile->id);
  row.created_at = now;
  row.expires_at = now + a->refresh_ttl;
  if ((rc = stream_store_refresh_insert(a->store, &row)) != STREAM_OK)
    goto fail;

  auth__copy(out->token_type, sizeof out->token_type, "Bearer");
  out->expires_in = a->access_ttl;
  out->refresh_expires_in = a->refresh_ttl;
  auth__copy(out->scope, sizeof out->scope, a->scope);
  auth__copy(out->account_id, sizeof out->account_id, acct->id);
  if (profile)
    auth__copy(out->profile_id, sizeof out->profile_id, profile->id);
  out->role = acct->role;
  return STREAM_OK;
fail:
  stream__wipe(out, sizeof *out);
  return rc;
}

/* ---- sign-in ----------------------------------------------------------------- */

int auth__check_address(const char *addr)
{
  size_t n = auth__strnlen(addr, STREAM_AUTH_ADDRESS_MAX);
  if (n > STREAM_AUTH_ADDRESS_MAX)
    return stream__err(STREAM_EINVAL, "auth: client address is longer than %d bytes",
                       STREAM_AUTH_ADDRESS_MAX);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)addr[i];
    if (c < 0x21 || c > 0x7e)
      return stream__err(STREAM_EINVAL, "auth: client address has an invalid byte at %zu", i);
  }
  return STREAM_OK;
}

int auth__check_password_args(size_t *out_len, const char *password, const char *client_address)
{
  if (!password || !*password)
    return stream__err(STREAM_EINVAL, "auth: password is required");
  *out_len = auth__strnlen(password, STREAM_AUTH_PASSWORD_MAX);
  if (*out_len > STREAM_AUTH_PASSWORD_MAX)
    return stream__err(STREAM_EINVAL, "auth: password must be at most %d bytes",
                       STREAM_AUTH_PASSWORD_MAX);
  if (client_address && *client_address)
    return auth__check_address(client_address);
  return STREAM_OK;
}

int auth__signin_limit(stream_auth *a, int64_t *out_retry_after, char *key_out, size_t key_size,
                       const char *norm_email, const char *client_address, int64_t now,
                       const char *what)
{
  snprintf(key_out, key_size, "e:%s", norm_email);
  int64_t wait = 0;
  int rc = auth__limit_take(&wait, a, &a->rl_account, key_out, &a->rl_address,
                            client_address && *client_address ? client_address : NULL, now);
  if (rc != STREAM_OK)
    return rc;
  if (wait <= 0)
    return STREAM_OK;
  if (out_retry_after)
    *out_retry_after = wait;
  return stream__err(STREAM_EBUSY, "auth: too many %s attempts; retry in %lld s", what,
                     (long long)wait);
}

int auth__verify_password(stream_auth *a, const stream_store_account *acct, const char *password,
                          size_t plen, const char *fail_message)
{
  bool known = acct && acct->password_hash[0];
  int vrc = stream_password_verify(known ? acct->password_hash : a->dummy_hash, password, plen);
  if (known && vrc == STREAM_OK)
    return STREAM_OK;
  if (known && vrc != STREAM_EAUTH)
    stream__log(STREAM_LOG_WARN, "auth", "stored password hash of account %s is unusable (%s)",
                acct->id, stream_strerror(vrc));
  return stream__err(STREAM_EAUTH, "%s", fail_message);
}

int auth__reauthenticate(stream_store_account *acct, int64_t *out_retry_after, stream_auth *a,
                         const char *account_id, const char *password, size_t plen,
                         const char *client_address)
{
  int rc = stream_store_account_get(acct, a->store, account_id);
  if (rc == STREAM_ENOTFOUND)
    return stream__err(STREAM_ENOTFOUND, "auth: no account with id %s", account_id);
  if (rc != STREAM_OK)
    return rc;
  char acct_key[STREAM_AUTH_EMAIL_SIZE + 2];
  rc = auth__signin_limit(a, out_retry_after, acct_key, sizeof acct_key, acct->email,
                          client_address, auth__now(a), "password");
  if (rc == STREAM_OK)
    rc = auth__verify_password(a, acct, password, plen, "auth: wrong password");
  if (rc == STREAM_OK)
    auth__limit_forgive(a, &a->rl_account, acct_key);
  return rc;
}

/*
 * A password change (or reset, or an operator's set_password) that committed
 * between our read of the account and the insert of the new session's refresh
 * token would not sign that session out: its revocation of every refresh token
 * ran before the token existed. So after the insert the account is read again:
 * when its hash is no longer the one `password` was checked against, the
 * password is checked against the current hash; if that fails (or the account
 * is gone or disabled) the new session's family is revoked and the sign-in
 * fails as a wrong password would. A change committed after this read revokes
 * the session itself (it revokes after writing the hash), so none slips
 * through. The second Argon2id check only happens in that race or when another
 * sign-in upgraded the hash meanwhile.
 */
static int password_still_current(stream_auth_tokens *out, stream_auth *a,
                                  const stream_store_account *checked, const char *password,
                                  size_t plen)
{
  stream_store_account now_acct;
  int rc = stream_store_account_get(&now_acct, a->store, checked->id);
  if (rc == STREAM_OK && now_acct.disabled)
    rc = stream__err(STREAM_EFORBIDDEN, "auth: account %s is disabled", checked->id);
  else if (rc == STREAM_OK && strcmp(now_acct.password_hash, checked->password_hash) != 0)
    rc = auth__verify_password(a, &now_acct, password, plen, LOGIN_FAILED);
  else if (rc == STREAM_ENOTFOUND)
    rc = stream__err(STREAM_EAUTH, "%s", LOGIN_FAILED);
  if (rc == STREAM_OK)
    return STREAM_OK;
  const stream_error *e = stream_error_last();
  char why[sizeof e->message];
  auth__copy(why, sizeof why, e && e->code == rc ? e->message : stream_strerror(rc));
  if (stream_auth_logout(a, out->refresh_token) != STREAM_OK)
    stream__log(STREAM_LOG_WARN, "auth",
                "could not revoke the session of account %s after its password changed during "
                "the sign-in",
                checked->id);
  stream__wipe(out, sizeof *out);
  return stream__err(rc, "%s", why);
}

int stream_auth_login(stream_auth_tokens *out, int64_t *out_retry_after, stream_auth *a,
                      const char *email, const char *password, const char *client_address)
{
  if (out_retry_after)
    *out_retry_after = 0;
  if (!out)
    return stream__err(STREAM_EINVAL, "auth: out is NULL");
  memset(out, 0, sizeof *out);
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  char norm[STREAM_AUTH_EMAIL_SIZE];
  int rc = stream_auth_email_normalize(norm, sizeof norm, email);
  if (rc != STREAM_OK)
    return rc;
  size_t plen = 0;
  if ((rc = auth__check_password_args(&plen, password, client_address)) != STREAM_OK)
    return rc;

  int64_t now = auth__now(a);
  char acct_key[STREAM_AUTH_EMAIL_SIZE + 2];
  rc = auth__signin_limit(a, out_retry_after, acct_key, sizeof acct_key, norm, client_address, now,
                          "sign-in");
  if (rc != STREAM_OK)
    return rc;

  stream_store_account acct;
  rc = stream_store_account_get_by_email(&acct, a->store, norm);
  if (rc != STREAM_OK && rc != STREAM_ENOTFOUND)
    return rc;
  /* Unknown e-mail: the same Argon2id work against the dummy hash, same answer. */
  rc = auth__verify_password(a, rc == STREAM_OK ? &acct : NULL, password, plen, LOGIN_FAILED);
  if (rc != STREAM_OK)
    return rc;
  if (acct.disabled)
    return stream__err(STREAM_EFORBIDDEN, "auth: account %s is disabled", acct.id);
  auth__limit_forgive(a, &a->rl_account, acct_key);

  int stale = 0;
  if (stream_password_needs_rehash(&stale, acct.password_hash, &a->pw) == STREAM_OK && stale) {
    char *h = NULL;
    if (stream_password_hash(&h, password, plen, &a->pw) == STREAM_OK &&
        strlen(h) <= STREAM_STORE_HASH_MAX) {
      stream_store_account up = acct;
      auth__copy(up.password_hash, sizeof up.password_hash, h);
      /* Only over the hash just checked: never put back a password changed meanwhile. */
      if (stream_store_account_update_if(a->store, &up, &acct) != STREAM_OK)
        stream__log(STREAM_LOG_WARN, "auth", "could not upgrade the password hash of %s", acct.id);
      else
        acct = up; /* the hash the session below was granted against */
    }
    stream_free(h);
  }
  if ((rc = auth__issue_tokens(out, a, &acct, NULL, NULL, now)) != STREAM_OK)
    return rc;
  return password_still_current(out, a, &acct, password, plen);
}

/* ---- refresh, logout, revoke ------------------------------------------------- */

static int check_refresh_token(const char *t)
{
  if (!t || !*t)
    return stream__err(STREAM_EINVAL, "auth: refresh token is required");
  size_t n = auth__strnlen(t, STREAM_AUTH_REFRESH_TOKEN_LEN);
  if (n != STREAM_AUTH_REFRESH_TOKEN_LEN || !auth__is_b64url(t, n))
    return stream__err(STREAM_EINVAL,
                       "auth: malformed refresh token (expected %d base64url "
                       "characters)",
                       STREAM_AUTH_REFRESH_TOKEN_LEN);
  return STREAM_OK;
}

static int revoke_family(stream_auth *a, const char *family, int64_t now)
{
  return stream_store_refresh_revoke_family(NULL, a->store, family, now);
}

static int reuse_detected(stream_auth *a, const stream_store_refresh *row, int64_t now)
{
  int rc = revoke_family(a, row->family_id, now);
  stream__log(STREAM_LOG_WARN, "auth", "refresh token reuse on account %s: family %s revoked",
              row->account_id, row->family_id);
  if (rc != STREAM_OK)
    return rc;
  return stream__err(STREAM_EAUTH,
                     "auth: refresh token reuse detected; every token of this session was revoked");
}

int stream_auth_refresh(stream_auth_tokens *out, stream_auth *a, const char *refresh_token)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "auth: out is NULL");
  memset(out, 0, sizeof *out);
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  int rc = check_refresh_token(refresh_token);
  if (rc != STREAM_OK)
    return rc;
  char hash[STREAM_STORE_TOKEN_HASH_LEN + 1];
  if ((rc = auth__sha256_hex(hash, refresh_token, STREAM_AUTH_REFRESH_TOKEN_LEN)) != STREAM_OK)
    return rc;
  stream_store_refresh row;
  rc = stream_store_refresh_get(&row, a->store, hash);
  if (rc == STREAM_ENOTFOUND)
    return stream__err(STREAM_EAUTH, "auth: unknown refresh token");
  if (rc != STREAM_OK)
    return rc;
  int64_t now = auth__now(a);
  if (row.revoked_at)
    return stream__err(STREAM_EAUTH, "auth: refresh token was revoked at %lld",
                       (long long)row.revoked_at);
  if (row.used_at)
    return reuse_detected(a, &row, now);
  if (row.expires_at <= now)
    return stream__err(STREAM_EEXPIRED, "auth: refresh token expired at %lld, now %lld",
                       (long long)row.expires_at, (long long)now);

  stream_store_account acct;
  rc = auth__load_active_account(&acct, a, row.account_id);
  if (rc == STREAM_EFORBIDDEN) {
    revoke_family(a, row.family_id, now);
    return stream__err(STREAM_EFORBIDDEN, "auth: account %s is disabled", row.account_id);
  }
  if (rc == STREAM_ENOTFOUND)
    return stream__err(STREAM_EAUTH, "auth: the account of this refresh token no longer exists");
  if (rc != STREAM_OK)
    return rc;
  stream_store_profile prof;
  bool has_prof = row.profile_id[0] != '\0';
  if (has_prof) {
    rc = stream_store_profile_get(&prof, a->store, row.profile_id);
    if (rc == STREAM_ENOTFOUND)
      return stream__err(STREAM_EAUTH, "auth: the profile of this refresh token was deleted");
    if (rc != STREAM_OK)
      return rc;
  }

  /* The store decides the race: exactly one caller marks the token used. */
  rc = stream_store_refresh_mark_used(a->store, hash, now);
  if (rc == STREAM_ECONFLICT)
    return reuse_detected(a, &row, now);
  if (rc == STREAM_ENOTFOUND)
    return stream__err(STREAM_EAUTH, "auth: unknown refresh token");
  if (rc != STREAM_OK)
    return rc;
  rc = auth__issue_tokens(out, a, &acct, has_prof ? &prof : NULL, row.family_id, now);
  if (rc != STREAM_OK)
    return rc;
  /* A concurrent reuse may have revoked the family between our mark_used and
   * our insert; revoke again so the new token cannot outlive that decision
   * (the outcome is then as if the reuse came right after this rotation). */
  stream_store_refresh again;
  if (stream_store_refresh_get(&again, a->store, hash) == STREAM_OK && again.revoked_at)
    revoke_family(a, row.family_id, now);
  return STREAM_OK;
}

int stream_auth_logout(stream_auth *a, const char *refresh_token)
{
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  int rc = check_refresh_token(refresh_token);
  if (rc != STREAM_OK)
    return rc;
  char hash[STREAM_STORE_TOKEN_HASH_LEN + 1];
  if ((rc = auth__sha256_hex(hash, refresh_token, STREAM_AUTH_REFRESH_TOKEN_LEN)) != STREAM_OK)
    return rc;
  stream_store_refresh row;
  rc = stream_store_refresh_get(&row, a->store, hash);
  if (rc == STREAM_ENOTFOUND)
    return stream__err(STREAM_EAUTH, "auth: unknown refresh token");
  if (rc != STREAM_OK)
    return rc;
  return revoke_family(a, row.family_id, auth__now(a));
}

int stream_auth_logout_all(size_t *out_count, stream_auth *a, const char *account_id)
{
  if (out_count)
    *out_count = 0;
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  int rc = auth__check_id("account id", account_id);
  if (rc != STREAM_OK)
    return rc;
  return stream_store_refresh_revoke_account(out_count, a->store, account_id, auth__now(a));
}

int stream_auth_revoke(stream_auth *a, const char *token, const char *token_type_hint)
{
  (void)token_type_hint; /* RFC 7009 §2.1: a hint only; an invalid one is ignored */
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  if (!token || !*token)
    return stream__err(STREAM_EINVAL, "auth: token is required");
  size_t n = auth__strnlen(token, STREAM_AUTH_REFRESH_TOKEN_LEN);
  if (n != STREAM_AUTH_REFRESH_TOKEN_LEN || !auth__is_b64url(token, n))
    return STREAM_OK; /* an access token or garbage: nothing to revoke */
  char hash[STREAM_STORE_TOKEN_HASH_LEN + 1];
  int rc = auth__sha256_hex(hash, token, n);
  if (rc != STREAM_OK)
    return rc;
  stream_store_refresh row;
  rc = stream_store_refresh_get(&row, a->store, hash);
  if (rc == STREAM_ENOTFOUND)
    return STREAM_OK;
  if (rc != STREAM_OK)
    return rc;
  return revoke_family(a, row.family_id, auth__now(a));
}

/* ---- access tokens ----------------------------------------------------------- */

/* The account a verified token speaks for must still exist (a deleted
 * account is absent from the store) and be enabled: one primary-key read,
 * so deleting or disabling an account takes effect at once instead of when
 * its access tokens expire. */
static int account_live(stream_auth *a, const char *account_id)
{
  stream_store_account acct;
  int rc = stream_store_account_get(&acct, a->store, account_id);
  if (rc == STREAM_ENOTFOUND)
    return stream__err(STREAM_EAUTH, "auth: the account of this access token no longer exists");
  if (rc != STREAM_OK)
    return rc;
  if (acct.disabled)
    return stream__err(STREAM_EFORBIDDEN, "auth: account %s is disabled", account_id);
  return STREAM_OK;
}

/* The token's profile must still exist in its account; its kids flag and maturity ceiling
 * are the profile's current ones (a parent's change applies at once, not at the token's
 * expiry). */
static int profile_live(stream_auth *a, stream_auth_identity *out)
{
  stream_store_profile prof;
  int rc = stream_store_profile_get(&prof, a->store, out->profile_id);
  if (rc == STREAM_ENOTFOUND || (rc == STREAM_OK && strcmp(prof.account_id, out->account_id) != 0))
    return stream__err(STREAM_EAUTH, "auth: the profile of this access token was deleted");
  if (rc != STREAM_OK)
    return rc;
  out->kids = prof.kids != 0;
  out->maturity_ceiling = prof.maturity_ceiling;
  return STREAM_OK;
}

static int claim_fail(const char *what)
{
  return stream__err(STREAM_EAUTH, "auth: not an access token of this service (%s)", what);
}

int stream_auth_verify_access(stream_auth_identity *out, stream_auth *a, const char *token)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "auth: out is NULL");
  memset(out, 0, sizeof *out);
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  if (!token || !*token)
    return stream__err(STREAM_EINVAL, "auth: access token is required");
  stream_token_verify_options vo = STREAM_TOKEN_VERIFY_OPTIONS_INIT;
  vo.iss = a->issuer;
  vo.aud = a->audience;
  vo.now = auth__now(a);
  vo.typ = ACCESS_TYP;
  stream_token_claims reg;
  char *json = NULL;
  int rc = stream_token_verify(&json, &reg, a->keys, token, &vo);
  if (rc != STREAM_OK)
    return rc;
  cJSON *c = cJSON_Parse(json);
  stream_free(json);
  if (!c)
    return claim_fail("claims do not parse");
  const cJSON *role = cJSON_GetObjectItemCaseSensitive(c, "role");
  const cJSON *scope = cJSON_GetObjectItemCaseSensitive(c, "scope");
  const cJSON *pid = cJSON_GetObjectItemCaseSensitive(c, "pid");
  const cJSON *kids = cJSON_GetObjectItemCaseSensitive(c, "kids");
  const cJSON *mat = cJSON_GetObjectItemCaseSensitive(c, "mat");
  rc = STREAM_OK;
  if (!cJSON_IsString(role) ||
      (strcmp(role->valuestring, "viewer") != 0 && strcmp(role->valuestring, "operator") != 0))
    rc = claim_fail("role");
  else if (!cJSON_IsString(scope) ||
           auth__strnlen(scope->valuestring, STREAM_AUTH_SCOPE_MAX) > STREAM_AUTH_SCOPE_MAX)
    rc = claim_fail("scope");
  else if (!reg.sub[0] || auth__check_id("sub", reg.sub) != STREAM_OK)
    rc = claim_fail("sub");
  else if (pid && (!cJSON_IsString(pid) || auth__check_id("pid", pid->valuestring) != STREAM_OK))
    rc = claim_fail("pid");
  else if (pid && (!cJSON_IsNumber(kids) || (kids->valuedouble != 0 && kids->valuedouble != 1)))
    rc = claim_fail("kids");
  else if (pid && (!cJSON_IsNumber(mat) || mat->valuedouble < 0 ||
                   mat->valuedouble > STREAM_AUTH_MATURITY_MAX))
    rc = claim_fail("mat");
  if (rc == STREAM_OK) {
    auth__copy(out->account_id, sizeof out->account_id, reg.sub);
    out->role = strcmp(role->valuestring, "operator") == 0 ? STREAM_AUTH_ROLE_OPERATOR
                                                           : STREAM_AUTH_ROLE_VIEWER;
    auth__copy(out->scope, sizeof out->scope, scope->valuestring);
    auth__copy(out->jti, sizeof out->jti, reg.jti);
    out->issued_at = reg.iat;
    out->expires_at = reg.exp;
    out->maturity_ceiling = STREAM_AUTH_MATURITY_MAX;
    if (pid) {
      auth__copy(out->profile_id, sizeof out->profile_id, pid->valuestring);
      out->kids = kids->valuedouble == 1;
      out->maturity_ceiling = (int)mat->valuedouble;
    }
  }
  cJSON_Delete(c);
  if (rc == STREAM_OK)
    rc = account_live(a, out->account_id);
  if (rc == STREAM_OK && out->profile_id[0])
    rc = profile_live(a, out);
  if (rc != STREAM_OK)
    memset(out, 0, sizeof *out);
  return rc;
}
