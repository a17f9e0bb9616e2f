/*
 * auth: the account service (floor 2). This file owns the handle (options,
 * the dummy hash that equalizes sign-in timing), e-mail normalization, the
 * account functions and the small helpers the other files share. Sign-in and
 * tokens live in tokens.c, the device grant in device.c, profiles in
 * profiles.c, the login rate limiter in ratelimit.c.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "../core/core.h"
#include "../keys/keys_internal.h"
#include "../store/store_internal.h"
#include "auth_internal.h"

#define ISSUER_MAX 255
#define ACCESS_TTL_MAX 86400
#define REFRESH_TTL_MIN 60
#define REFRESH_TTL_MAX 31536000
#define EMAIL_INPUT_MAX 1024 /* before trimming */
#define EMAIL_LOCAL_MAX 64

/* ---- shared helpers -------------------------------------------------------- */

int64_t auth__now(const stream_auth *a)
{
  return a->now ? a->now(a->now_ud) : stream__now();
}

size_t auth__strnlen(const char *s, size_t max)
{
  size_t n = 0;
  while (n <= max && s[n])
    n++;
  return n;
}

void auth__copy(char *dst, size_t dst_size, const char *src)
{
  size_t n = auth__strnlen(src, dst_size - 1);
  if (n > dst_size - 1)
    n = dst_size - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

int auth__sha256_hex(char *out, const char *s, size_t n)
{
  unsigned char md[32];
  unsigned int mdlen = 0;
  if (EVP_Digest(s, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
    return stream__err(STREAM_ECRYPTO, "auth: SHA-256 failed");
  stream__hex_into(out, md, 32);
  return STREAM_OK;
}

int auth__hmac_sha256_hex(char *out, const stream_key *key, const char *s, size_t n)
{
  unsigned char md[32];
  size_t mdlen = 0;
  if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key->secret, key->len,
                 (const unsigned char *)s, n, md, sizeof md, &mdlen) ||
      mdlen != 32) {
    ERR_clear_error();
    return stream__err(STREAM_ECRYPTO, "auth: HMAC-SHA256 with key '%s' failed", key->id);
  }
  stream__hex_into(out, md, 32);
  stream__wipe(md, sizeof md);
  return STREAM_OK;
}

int auth__random_b64(char *out, size_t n)
{
  unsigned char buf[64];
  if (n > sizeof buf)
    return stream__err(STREAM_EINTERNAL, "auth: random token too long");
  int rc = stream_random_bytes(buf, n);
  if (rc != STREAM_OK)
    return rc;
  stream__b64_encode_into(out, buf, n, STREAM_B64_URL | STREAM_B64_NOPAD);
  stream__wipe(buf, sizeof buf);
  return STREAM_OK;
}

static bool is_b64url_char(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

bool auth__is_b64url(const char *s, size_t len)
{
  for (size_t i = 0; i < len; i++)
    if (!is_b64url_char((unsigned char)s[i]))
      return false;
  return s[len] == '\0';
}

int auth__check_id(const char *what, const char *id)
{
  if (!id || !*id)
    return stream__err(STREAM_EINVAL, "auth: %s is required", what);
  size_t n = auth__strnlen(id, STREAM_STORE_ID_MAX);
  if (n > STREAM_STORE_ID_MAX)
    return stream__err(STREAM_EINVAL, "auth: %s is longer than %d characters", what,
                       STREAM_STORE_ID_MAX);
  if (!auth__is_b64url(id, n))
    return stream__err(STREAM_EINVAL, "auth: %s has characters outside [A-Za-z0-9_-]", what);
  return STREAM_OK;
}

int auth__load_active_account(stream_store_account *out, stream_auth *a, const char *account_id)
{
  int rc = stream_store_account_get(out, a->store, account_id);
  if (rc == STREAM_ENOTFOUND)
    return stream__err(STREAM_ENOTFOUND, "auth: no account with id %s", account_id);
  if (rc != STREAM_OK)
    return rc;
  if (out->disabled)
    return stream__err(STREAM_EFORBIDDEN, "auth: account %s is disabled", account_id);
  return STREAM_OK;
}

/* ---- options and handle ---------------------------------------------------- */

static int copy_opt_string(char **dst, const char *src, const char *what, size_t max)
{
  *dst = NULL;
  if (!src)
    return STREAM_OK;
  size_t n = auth__strnlen(src, max);
  if (n == 0 || n > max)
    return stream__err(STREAM_EINVAL, "auth options: %s must be 1..%zu bytes", what, max);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)src[i];
    if (c < 0x20 || c == 0x7f)
      return stream__err(STREAM_EINVAL, "auth options: %s contains a control character", what);
  }
  *dst = stream__strndup(src, n);
  return *dst ? STREAM_OK : STREAM_ENOMEM;
}

/* RFC 6749 §3.3: scope-token 1*( %x21 / %x23-5B / %x5D-7E ) separated by single spaces. */
int auth__check_scope(const char *s, size_t max, const char *what)
{
  size_t n = auth__strnlen(s, max);
  if (n > max)
    return stream__err(STREAM_EINVAL, "auth: %s is longer than %zu bytes", what, max);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == ' ') {
      if (i == 0 || i + 1 == n || s[i + 1] == ' ')
        return stream__err(STREAM_EINVAL, "auth: %s has an empty scope token at byte %zu", what, i);
      continue;
    }
    if (c < 0x21 || c > 0x7e || c == '"' || c == '\\')
      return stream__err(STREAM_EINVAL, "auth: %s has an invalid character at byte %zu", what, i);
  }
  return STREAM_OK;
}

static int check_uri(const char *uri)
{
  size_t n = auth__strnlen(uri, STREAM_AUTH_URI_MAX);
  if (n > STREAM_AUTH_URI_MAX)
    return stream__err(STREAM_EINVAL, "auth options: verification_uri is longer than %d bytes",
                       STREAM_AUTH_URI_MAX);
  if (strncmp(uri, "http://", 7) != 0 && strncmp(uri, "https://", 8) != 0)
    return stream__err(STREAM_EINVAL,
                       "auth options: verification_uri must be an absolute http(s) URI");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)uri[i];
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '#')
      return stream__err(STREAM_EINVAL,
                         "auth options: verification_uri has an invalid character at byte %zu", i);
  }
  const char *host = strstr(uri, "://") + 3;
  if (!*host || *host == '/' || *host == '?')
    return stream__err(STREAM_EINVAL, "auth options: verification_uri has no host");
  return STREAM_OK;
}

/* reset_url_base: an absolute http(s) URL prefix; '#', '?' and '=' are fine
 * (the token goes at the end, e.g. ".../#/reset?token="). */
static int check_reset_url(const char *uri)
{
  size_t n = auth__strnlen(uri, STREAM_AUTH_RESET_URL_MAX);
  if (n > STREAM_AUTH_RESET_URL_MAX)
    return stream__err(STREAM_EINVAL, "auth options: reset_url_base is longer than %d bytes",
                       STREAM_AUTH_RESET_URL_MAX);
  if (strncmp(uri, "http://", 7) != 0 && strncmp(uri, "https://", 8) != 0)
    return stream__err(STREAM_EINVAL,
                       "auth options: reset_url_base must be an absolute http(s) URL");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)uri[i];
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>')
      return stream__err(STREAM_EINVAL,
                         "auth options: reset_url_base has an invalid character at byte %zu", i);
  }
  const char *host = strstr(uri, "://") + 3;
  if (!*host || *host == '/' || *host == '?' || *host == '#')
    return stream__err(STREAM_EINVAL, "auth options: reset_url_base has no host");
  return STREAM_OK;
}

static int check_options(const stream_auth_options *o)
{
  if (o->version != STREAM_AUTH_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "auth options: unknown version %u (expected 1..%d)",
                       o->version, STREAM_AUTH_OPTIONS_VERSION);
  if (o->reset_lifetime < 300 || o->reset_lifetime > 86400)
    return stream__err(STREAM_EINVAL, "auth options: reset_lifetime %d outside 300..86400",
                       o->reset_lifetime);
  if (o->send_mail && !o->reset_url_base)
    return stream__err(STREAM_EINVAL, "auth options: send_mail needs reset_url_base");
  if (o->reset_url_base) {
    int rc = check_reset_url(o->reset_url_base);
    if (rc != STREAM_OK)
      return rc;
  }
  if (!o->store)
    return stream__err(STREAM_EINVAL, "auth options: store is required");
  if (!o->keys)
    return stream__err(STREAM_EINVAL, "auth options: keys is required");
  if (o->access_ttl < 1 || o->access_ttl > ACCESS_TTL_MAX)
    return stream__err(STREAM_EINVAL, "auth options: access_ttl %lld outside 1..%d",
                       (long long)o->access_ttl, ACCESS_TTL_MAX);
  if (o->refresh_ttl < REFRESH_TTL_MIN || o->refresh_ttl > REFRESH_TTL_MAX)
    return stream__err(STREAM_EINVAL, "auth options: refresh_ttl %lld outside %d..%d",
                       (long long)o->refresh_ttl, REFRESH_TTL_MIN, REFRESH_TTL_MAX);
  if (o->password && o->password->salt)
    return stream__err(STREAM_EINVAL, "auth options: password->salt must be NULL (random salts)");
  if (o->rate_account_burst && o->rate_account_interval < 1)
    return stream__err(STREAM_EINVAL, "auth options: rate_account_interval must be >= 1");
  if (o->rate_address_burst && o->rate_address_interval < 1)
    return stream__err(STREAM_EINVAL, "auth options: rate_address_interval must be >= 1");
  if (o->rate_account_burst > 1000000 || o->rate_address_burst > 1000000)
    return stream__err(STREAM_EINVAL, "auth options: rate burst over 1000000");
  if (o->rate_account_interval > 86400 || o->rate_address_interval > 86400)
    return stream__err(STREAM_EINVAL, "auth options: rate interval over 86400 s");
  if (o->rate_in_store != 0 && o->rate_in_store != 1)
    return stream__err(STREAM_EINVAL, "auth options: rate_in_store must be 0 or 1, got %d",
                       o->rate_in_store);
  if (o->rate_key &&
      (stream_key_type_of(o->rate_key) != STREAM_KEY_HMAC || stream_key_length(o->rate_key) < 32))
    return stream__err(STREAM_EINVAL,
                       "auth options: rate_key must be an HMAC key of at least 32 bytes");
  if (o->rate_table_size < 64 || o->rate_table_size > 1048576)
    return stream__err(STREAM_EINVAL, "auth options: rate_table_size %u outside 64..1048576",
                       o->rate_table_size);
  if (o->device_interval < 1 || o->device_interval > 60)
    return stream__err(STREAM_EINVAL, "auth options: device_interval %d outside 1..60",
                       o->device_interval);
  if (o->device_lifetime < 60 || o->device_lifetime > 3600)
    return stream__err(STREAM_EINVAL, "auth options: device_lifetime %d outside 60..3600",
                       o->device_lifetime);
  if (o->verification_uri) {
    int rc = check_uri(o->verification_uri);
    if (rc != STREAM_OK)
      return rc;
  }
  if (o->scope) {
    if (!*o->scope)
      return stream__err(STREAM_EINVAL, "auth options: scope must not be empty");
    int rc = auth__check_scope(o->scope, STREAM_AUTH_SCOPE_MAX, "scope option");
    if (rc != STREAM_OK)
      return rc;
  }
  return STREAM_OK;
}

int stream_auth_new(stream_auth **out, const stream_auth_options *opts)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_auth_new: out is NULL");
  *out = NULL;
  if (!opts)
    return stream__err(STREAM_EINVAL, "stream_auth_new: opts is NULL");
  /* A version-1 caller's struct ends before send_mail, a version-2 caller's
   * before rate_in_store, a version-3 caller's before rate_key: copy what it
   * has and take the defaults for the rest. */
  stream_auth_options full = STREAM_AUTH_OPTIONS_INIT;
  if (opts->version >= 1 && opts->version <= 3) {
    static const size_t ends[] = {offsetof(stream_auth_options, send_mail),
                                  offsetof(stream_auth_options, rate_in_store),
                                  offsetof(stream_auth_options, rate_key)};
    memcpy(&full, opts, ends[opts->version - 1]);
    full.version = STREAM_AUTH_OPTIONS_VERSION;
    opts = &full;
  }
  int rc = check_options(opts);
  if (rc != STREAM_OK)
    return rc;
  stream_auth *a = stream__calloc(1, sizeof *a);
  if (!a)
    return STREAM_ENOMEM;
  if (pthread_mutex_init(&a->reset_lock, NULL) != 0) {
    free(a);
    return stream__err(STREAM_ENOMEM, "stream_auth_new: cannot create a mutex");
  }
  a->store = opts->store;
  a->keys = opts->keys;
  a->access_ttl = opts->access_ttl;
  a->refresh_ttl = opts->refresh_ttl;
  a->device_interval = opts->device_interval;
  a->device_lifetime = opts->device_lifetime;
  a->now = opts->now;
  a->now_ud = opts->now_userdata;
  a->send_mail = opts->send_mail;
  a->mail_ud = opts->mail_userdata;
  a->reset_lifetime = opts->reset_lifetime;
  a->rate_in_store = opts->rate_in_store == 1;
  if (opts->rate_key)
    a->rate_key = keys__ref(opts->rate_key);
  if (opts->password) {
    a->pw = *opts->password;
  } else {
    stream_password_params d = STREAM_PASSWORD_PARAMS_INIT;
    a->pw = d;
  }
  a->pw.salt = NULL;
  bool rl_a = false, rl_b = false, rl_c = false, rl_d = false;
  if ((rc = copy_opt_string(&a->issuer, opts->issuer, "issuer", ISSUER_MAX)) != STREAM_OK ||
      (rc = copy_opt_string(&a->audience, opts->audience, "audience", ISSUER_MAX)) != STREAM_OK ||
      (rc = copy_opt_string(&a->scope, opts->scope ? opts->scope : "stream", "scope",
                            STREAM_AUTH_SCOPE_MAX)) != STREAM_OK ||
      (rc = copy_opt_string(&a->verification_uri, opts->verification_uri, "verification_uri",
                            STREAM_AUTH_URI_MAX)) != STREAM_OK ||
      (rc = copy_opt_string(&a->reset_url_base, opts->reset_url_base, "reset_url_base",
                            STREAM_AUTH_RESET_URL_MAX)) != STREAM_OK)
    goto fail;
  /* With the buckets in the store the memory tables are never read: one set each. */
  size_t table = a->rate_in_store ? AUTH__WAYS : opts->rate_table_size;
  if ((rc = auth__limiter_init(&a->rl_account, opts->rate_account_burst,
                               opts->rate_account_interval, table)) != STREAM_OK)
    goto fail;
  rl_a = true;
  if ((rc = auth__limiter_init(&a->rl_address, opts->rate_address_burst,
                               opts->rate_address_interval, table)) != STREAM_OK)
    goto fail;
  rl_b = true;
  if ((rc = auth__limiter_init(&a->rl_reset_email, STREAM_AUTH_RESET_EMAIL_BURST,
                               STREAM_AUTH_RESET_EMAIL_INTERVAL, table)) != STREAM_OK)
    goto fail;
  rl_c = true;
  if ((rc = auth__limiter_init(&a->rl_reset_address, STREAM_AUTH_RESET_ADDRESS_BURST,
                               STREAM_AUTH_RESET_ADDRESS_INTERVAL, table)) != STREAM_OK)
    goto fail;
  rl_d = true;
  /* The bucket scopes when the limits are kept in the store (ratelimit.c). */
  a->rl_account.scope = "signin-account";
  a->rl_address.scope = "signin-address";
  a->rl_reset_email.scope = "reset-email";
  a->rl_reset_address.scope = "reset-address";
  /* The dummy hash: a random password hashed with the same parameters, so an
   * unknown e-mail costs one Argon2id verification like a wrong password. */
  char pw[44];
  if ((rc = auth__random_b64(pw, 32)) != STREAM_OK)
    goto fail;
  rc = stream_password_hash(&a->dummy_hash, pw, strlen(pw), &a->pw);
  stream__wipe(pw, sizeof pw);
  if (rc != STREAM_OK)
    goto fail;
  *out = a;
  return STREAM_OK;
fail:
  if (rl_a)
    auth__limiter_free(&a->rl_account);
  if (rl_b)
    auth__limiter_free(&a->rl_address);
  if (rl_c)
    auth__limiter_free(&a->rl_reset_email);
  if (rl_d)
    auth__limiter_free(&a->rl_reset_address);
  free(a->issuer);
  free(a->audience);
  free(a->scope);
  free(a->verification_uri);
  free(a->reset_url_base);
  stream_key_free(a->rate_key);
  pthread_mutex_destroy(&a->reset_lock);
  free(a);
  return rc;
}

void stream_auth_free(stream_auth *a)
{
  if (!a)
    return;
  auth__limiter_free(&a->rl_account);
  auth__limiter_free(&a->rl_address);
  auth__limiter_free(&a->rl_reset_email);
  auth__limiter_free(&a->rl_reset_address);
  free(a->issuer);
  free(a->audience);
  free(a->scope);
  free(a->verification_uri);
  free(a->reset_url_base);
  stream_free(a->dummy_hash);
  stream_key_free(a->rate_key);
  pthread_mutex_destroy(&a->reset_lock);
  free(a);
}

/* ---- e-mail ------------------------------------------------------------------ */

static bool is_ws(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int stream_auth_email_normalize(char *out, size_t out_size, const char *email)
{
  if (!out || out_size == 0)
    return stream__err(STREAM_EINVAL, "auth: e-mail output buffer is NULL or empty");
  out[0] = '\0';
  if (!email)
    return stream__err(STREAM_EINVAL, "auth: e-mail is NULL");
  size_t n = auth__strnlen(email, EMAIL_INPUT_MAX);
  if (n > EMAIL_INPUT_MAX)
    return stream__err(STREAM_EINVAL, "auth: e-mail is longer than %d bytes",
                       STREAM_AUTH_EMAIL_MAX);
  const unsigned char *s = (const unsigned char *)email;
  while (n && is_ws(s[0])) {
    s++;
    n--;
  }
  while (n && is_ws(s[n - 1]))
    n--;
  if (n == 0)
    return stream__err(STREAM_EINVAL, "auth: e-mail is empty");
  if (n > STREAM_AUTH_EMAIL_MAX)
    return stream__err(STREAM_EINVAL, "auth: e-mail is %zu bytes, longer than %d", n,
                       STREAM_AUTH_EMAIL_MAX);
  if (n + 1 > out_size)
    return stream__err(STREAM_ERANGE, "auth: e-mail output buffer of %zu bytes is too small",
                       out_size);
  size_t at = n, ats = 0;
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    if (c >= 0x80) {
      size_t l = stream__utf8_seq(s + i, n - i);
      if (!l)
        return stream__err(STREAM_EINVAL, "auth: e-mail has invalid UTF-8 at byte %zu", i);
      i += l;
      continue;
    }
    if (c < 0x21 || c == 0x7f)
      return stream__err(STREAM_EINVAL, "auth: e-mail has a space or control character at byte %zu",
                         i);
    if (strchr("\"(),:;<>[]\\", c))
      return stream__err(STREAM_EINVAL, "auth: e-mail has a forbidden character '%c' at byte %zu",
                         c, i);
    if (c == '@') {
      ats++;
      at = i;
    }
    i++;
  }
  if (ats != 1)
    return stream__err(STREAM_EINVAL, "auth: e-mail must contain exactly one '@' (found %zu)", ats);
  if (at == 0)
    return stream__err(STREAM_EINVAL, "auth: e-mail has an empty local part");
  if (at > EMAIL_LOCAL_MAX)
    return stream__err(STREAM_EINVAL, "auth: e-mail local part is longer than %d bytes",
                       EMAIL_LOCAL_MAX);
  if (at + 1 == n)
    return stream__err(STREAM_EINVAL, "auth: e-mail has an empty domain");
  /* Domain: labels of letters, digits, '-' (or UTF-8), separated by single dots. */
  size_t label = 0;
  for (size_t i = at + 1; i < n; i++) {
    unsigned char c = s[i];
    if (c == '.') {
      if (label == 0)
        return stream__err(STREAM_EINVAL, "auth: e-mail domain has an empty label");
      label = 0;
      continue;
    }
    if (c < 0x80 &&
        !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return stream__err(STREAM_EINVAL, "auth: e-mail domain has a forbidden character '%c'", c);
    label++;
  }
  if (label == 0)
    return stream__err(STREAM_EINVAL, "auth: e-mail domain has an empty label");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = s[i];
    out[i] = (char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
  }
  out[n] = '\0';
  return STREAM_OK;
}

/* ---- accounts ---------------------------------------------------------------- */

int auth__check_password(const char *what, const char *password, size_t *len)
{
  if (!password)
    return stream__err(STREAM_EINVAL, "auth: %s is NULL", what);
  size_t n = auth__strnlen(password, STREAM_AUTH_PASSWORD_MAX);
  if (n < STREAM_AUTH_PASSWORD_MIN)
    return stream__err(STREAM_EINVAL, "auth: %s must be at least %d bytes (got %zu)", what,
                       STREAM_AUTH_PASSWORD_MIN, n);
  if (n > STREAM_AUTH_PASSWORD_MAX)
    return stream__err(STREAM_EINVAL, "auth: %s must be at most %d bytes", what,
                       STREAM_AUTH_PASSWORD_MAX);
  *len = n;
  return STREAM_OK;
}

int auth__hash_into(char *out, size_t out_size, stream_auth *a, const char *password, size_t n)
{
  char *hash = NULL;
  int rc = stream_password_hash(&hash, password, n, &a->pw);
  if (rc != STREAM_OK)
    return rc;
  size_t hl = strlen(hash);
  if (hl >= out_size) {
    stream_free(hash);
    return stream__err(STREAM_EINVAL, "auth: password parameters give a hash over %zu bytes",
                       out_size - 1);
  }
  memcpy(out, hash, hl + 1);
  stream_free(hash);
  return STREAM_OK;
}

void auth__account_out(stream_auth_account *out, const stream_store_account *r)
{
  memset(out, 0, sizeof *out);
  auth__copy(out->id, sizeof out->id, r->id);
  auth__copy(out->email, sizeof out->email, r->email);
  out->role = r->role;
  out->disabled = r->disabled;
  out->created_at = r->created_at;
}

int stream_auth_account_create(stream_auth_account *out, stream_auth *a, const char *email,
                               const char *password, int role)
{
  if (out)
    memset(out, 0, sizeof *out);
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  if (role != STREAM_AUTH_ROLE_VIEWER && role != STREAM_AUTH_ROLE_OPERATOR)
    return stream__err(STREAM_EINVAL, "auth: unknown role %d", role);
  stream_store_account in;
  memset(&in, 0, sizeof in);
  int rc = stream_auth_email_normalize(in.email, sizeof in.email, email);
  if (rc != STREAM_OK)
    return rc;
  /* Deleted accounts keep "deleted-<id>@invalid": nobody may take one. */
  size_t elen = strlen(in.email);
  if ((elen >= 8 && strcmp(in.email + elen - 8, "@invalid") == 0) ||
      (elen >= 8 && strcmp(in.email + elen - 8, ".invalid") == 0))
    return stream__err(STREAM_EINVAL, "auth: e-mail domain \"invalid\" is reserved (RFC 2606)");
  size_t plen = 0;
  if ((rc = auth__check_password("password", password, &plen)) != STREAM_OK)
    return rc;
  if ((rc = auth__hash_into(in.password_hash, sizeof in.password_hash, a, password, plen)) !=
      STREAM_OK)
    return rc;
  in.role = role;
  stream_store_account row;
  rc = stream_store_account_create(&row, a->store, &in, auth__now(a));
  if (rc == STREAM_EEXIST)
    return stream__err(STREAM_EEXIST, "auth: an account with this e-mail already exists");
  if (rc != STREAM_OK)
    return rc;
  if (out)
    auth__account_out(out, &row);
  return STREAM_OK;
}

int stream_auth_register(stream_auth_account *out, stream_auth *a, const char *email,
                         const char *password)
{
  return stream_auth_account_create(out, a, email, password, STREAM_AUTH_ROLE_VIEWER);
}

int stream_auth_account_get(stream_auth_account *out, stream_auth *a, const char *account_id)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "auth: out is NULL");
  memset(out, 0, sizeof *out);
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  int rc = auth__check_id("account id", account_id);
  if (rc != STREAM_OK)
    return rc;
  stream_store_account row;
  rc = stream_store_account_get(&row, a->store, account_id);
  if (rc == STREAM_ENOTFOUND)
    return stream__err(STREAM_ENOTFOUND, "auth: no account with id %s", account_id);
  if (rc != STREAM_OK)
    return rc;
  auth__account_out(out, &row);
  return STREAM_OK;
}

static int load_for_update(stream_store_account *row, stream_auth *a, const char *account_id)
{
  if (!a)
    return stream__err(STREAM_EINVAL, "auth: handle is NULL");
  int rc = auth__check_id("account id", account_id);
  if (rc != STREAM_OK)
    return rc;
  rc = stream_store_account_get(row, a->store, account_id);
  if (rc == STREAM_ENOTFOUND)
    return stream__err(STREAM_ENOTFOUND, "auth: no account with id %s", account_id);
  return rc;
}

#define ACCOUNT_EDIT_TRIES 8

int auth__account_edit(stream_auth *a, const char *account_id, auth__account_edit_fn edit, void *ud)
{
  for (int i = 0; i < ACCOUNT_EDIT_TRIES; i++) {
    stream_store_account row;
    int rc = load_for_update(&row, a, account_id);
    if (rc != STREAM_OK)
      return rc;
    stream_store_account before = row;
    if ((rc = edit(&row, ud)) != STREAM_OK)
      return rc;
    rc = stream_store_account_update_if(a->store, &row, &before);
    if (rc != STREAM_ECONFLICT)
      return rc;
  }
  return stream__err(STREAM_EBUSY, "auth: account %s changed %d times while being updated",
                     account_id, ACCOUNT_EDIT_TRIES);
}

static int edit_password(stream_store_account *row, void *ud)
{
  auth__copy(row->password_hash, sizeof row->password_hash, ud);
  return STREAM_OK;
}

static int edit_role(stream_store_account *row, void *ud)
{
  row->role = *(const int *)ud;
  return STREAM_OK;
}

static int edit_disabled(stream_store_account *row, void *ud)
{
  row->disabled = *(const int *)ud;
  return STREAM_OK;
}

int stream_auth_account_set_password(stream_auth *a, const char *account_id, const char *password)
{
  stream_store_account row;
  int rc = load_for_update(&row, a, account_id);
  if (rc != STREAM_OK)
    return rc;
  size_t plen = 0;
  if ((rc = auth__check_password("password", password, &plen)) != STREAM_OK)
    return rc;
  char hash[sizeof row.password_hash];
  if ((rc = auth__hash_into(hash, sizeof hash, a, password, plen)) != STREAM_OK)
    return rc;
  if ((rc = auth__account_edit(a, account_id, edit_password, hash)) != STREAM_OK)
    return rc;
  return stream_store_refresh_revoke_account(NULL, a->store, account_id, auth__now(a));
}

int stream_auth_account_set_role(stream_auth *a, const char *account_id, int role)
{
  if (role != STREAM_AUTH_ROLE_VIEWER && role != STREAM_AUTH_ROLE_OPERATOR)
    return stream__err(STREAM_EINVAL, "auth: unknown role %d", role);
  return auth__account_edit(a, account_id, edit_role, &role);
}

int stream_auth_account_set_disabled(stream_auth *a, const char *account_id, int disabled)
{
  if (disabled != 0 && disabled != 1)
    return stream__err(STREAM_EINVAL, "auth: disabled must be 0 or 1 (got %d)", disabled);
  int rc = auth__account_edit(a, account_id, edit_disabled, &disabled);
  if (rc != STREAM_OK)
    return rc;
  if (disabled)
    return stream_store_refresh_revoke_account(NULL, a->store, account_id, auth__now(a));
  return STREAM_OK;
}
