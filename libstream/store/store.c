/*
 * store: the public entry points. This file owns argument validation (so every
 * backend sees the same checked input and callers get the same STREAM_EINVAL
 * messages whatever the backend), id generation, the opaque keyset cursor
 * format, and the release functions of catalog rows. Everything else is
 * dispatched to the backend's per-entity function tables (store_internal.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/m49.h" /* data only: the region filter's M49 areas */
#include "../core/core.h"
#include "stream/features.h"
#include "store_internal.h"
#include "store_recs.h"

/* ---- validation helpers ----------------------------------------------- */

static int check_store(const stream_store *s)
{
  if (!s)
    return stream__err(STREAM_EINVAL, "store handle is NULL");
  return STREAM_OK;
}

static bool id_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

/* A required id given as a C string (store_internal.h). */
int store__check_id(const char *what, const char *id)
{
  if (!id)
    return stream__err(STREAM_EINVAL, "%s is NULL", what);
  size_t n = strnlen(id, STREAM_STORE_ID_MAX + 1);
  if (n == 0)
    return stream__err(STREAM_EINVAL, "%s is empty", what);
  if (n > STREAM_STORE_ID_MAX)
    return stream__err(STREAM_EINVAL, "%s is longer than %d characters", what, STREAM_STORE_ID_MAX);
  for (size_t i = 0; i < n; i++)
    if (!id_char(id[i]))
      return stream__err(STREAM_EINVAL,
                         "%s has an invalid character at offset %zu (allowed: A-Z a-z 0-9 _ -)",
                         what, i);
  return STREAM_OK;
}

/* An optional id: NULL or "" mean none. */
static int check_opt_id(const char *what, const char *id)
{
  if (!id || !id[0])
    return STREAM_OK;
  return store__check_id(what, id);
}

/* Text the store keeps must be valid UTF-8 (store_internal.h): PostgreSQL
 * refuses anything else, and both backends must answer alike. */
static int check_utf8n(const char *what, const char *v, size_t n)
{
  size_t bad = stream__utf8_check(v, n);
  if (bad != n)
    return stream__err(STREAM_EINVAL, "%s is not valid UTF-8 (bad byte at offset %zu)", what, bad);
  return STREAM_OK;
}

int store__check_utf8(const char *what, const char *v)
{
  if (!v)
    return STREAM_OK;
  return check_utf8n(what, v, strlen(v));
}

/* A string held in a fixed-size field of `cap` bytes: it must be terminated
 * inside the field, valid UTF-8 and, when required, not empty. */
static int check_field(const char *what, const char *v, size_t cap, bool required)
{
  size_t n = strnlen(v, cap);
  if (n == cap)
    return stream__err(STREAM_EINVAL, "%s is not NUL-terminated within %zu bytes", what, cap);
  if (required && n == 0)
    return stream__err(STREAM_EINVAL, "%s is empty", what);
  return check_utf8n(what, v, n);
}

/* A heap/borrowed C string of at most `max` bytes, any bytes (a file path). */
static int check_bytes(const char *what, const char *v, size_t max, bool required)
{
  if (!v) {
    if (required)
      return stream__err(STREAM_EINVAL, "%s is NULL", what);
    return STREAM_OK;
  }
  size_t n = strnlen(v, max + 1);
  if (required && n == 0)
    return stream__err(STREAM_EINVAL, "%s is empty", what);
  if (n > max)
    return stream__err(STREAM_EINVAL, "%s is longer than %zu bytes", what, max);
  return STREAM_OK;
}

/* A heap/borrowed C string of at most `max` bytes of valid UTF-8. */
static int check_text(const char *what, const char *v, size_t max, bool required)
{
  int rc = check_bytes(what, v, max, required);
  if (rc != STREAM_OK || !v)
    return rc;
  return check_utf8n(what, v, strlen(v));
}

/* SHA-256 as exactly 64 lowercase hex digits (store_internal.h). */
int store__check_hash64(const char *what, const char *v)
{
  if (!v)
    return stream__err(STREAM_EINVAL, "%s is NULL", what);
  size_t n = strnlen(v, STREAM_STORE_TOKEN_HASH_LEN + 1);
  if (n != STREAM_STORE_TOKEN_HASH_LEN)
    return stream__err(STREAM_EINVAL, "%s must be %d lowercase hex digits, got %zu characters",
                       what, STREAM_STORE_TOKEN_HASH_LEN, n);
  for (size_t i = 0; i < n; i++)
    if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
      return stream__err(STREAM_EINVAL, "%s has a non-hex character at offset %zu", what, i);
  return STREAM_OK;
}

static int check_time(const char *what, int64_t t)
{
  if (t < 0)
    return stream__err(STREAM_EINVAL, "%s is negative (%" PRId64 ")", what, t);
  return STREAM_OK;
}

static int check_out(const void *out, const char *what)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "%s is NULL", what);
  return STREAM_OK;
}

#define TRY(expr)                                                                                  \
  do {                                                                                             \
    int rc_ = (expr);                                                                              \
    if (rc_ != STREAM_OK)                                                                          \
      return rc_;                                                                                  \
  } while (0)

int store__new_id(char out[STREAM_STORE_ID_SIZE])
{
  unsigned char raw[16];
  int rc = stream_random_bytes(raw, sizeof raw);
  if (rc != STREAM_OK)
    return rc;
  stream__b64_encode_into(out, raw, sizeof raw, STREAM_B64_URL | STREAM_B64_NOPAD);
  return STREAM_OK;
}

/* ---- write batch (store_internal.h) ------------------------------------ */

int store__batch_begin(stream_store *s)
{
  TRY(check_store(s));
  return s->backend->batch_begin(s->impl);
}

int store__batch_end(stream_store *s, int rc)
{
  if (!s)
    return rc != STREAM_OK ? rc : stream__err(STREAM_EINVAL, "store is NULL");
  return s->backend->batch_end(s->impl, rc);
}

/* ---- handle ------------------------------------------------------------ */

int stream_store_open(stream_store **out, const stream_store_options *opts)
{
  TRY(check_out(out, "out"));
  *out = NULL;
  TRY(check_out(opts, "options"));
  if (opts->version != 1 && opts->version != STREAM_STORE_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "store options version %u is not supported (expected 1..%d)",
                       opts->version, STREAM_STORE_OPTIONS_VERSION);
  /* A version-1 caller's struct ends before `sync`: copy what it has, the rest
   * keeps the defaults. */
  stream_store_options full = STREAM_STORE_OPTIONS_INIT;
  memcpy(&full, opts,
         opts->version == 1 ? offsetof(stream_store_options, sync) : sizeof(stream_store_options));
  full.version = STREAM_STORE_OPTIONS_VERSION;
  opts = &full;
  if (opts->sync != STREAM_STORE_SYNC_FULL && opts->sync != STREAM_STORE_SYNC_NORMAL)
    return stream__err(STREAM_EINVAL, "store sync is %u; allowed %d (FULL) or %d (NORMAL)",
                       opts->sync, STREAM_STORE_SYNC_FULL, STREAM_STORE_SYNC_NORMAL);
  TRY(check_bytes("store path", opts->path, 4096, true));
  if (strcmp(opts->path, ":memory:") != 0 && (opts->readers < 1 || opts->readers > 32))
    return stream__err(STREAM_EINVAL, "store readers is %u; allowed 1..32", opts->readers);
  if (opts->busy_timeout_ms > 600000)
    return stream__err(STREAM_EINVAL, "store busy_timeout_ms is %u; allowed 0..600000",
                       opts->busy_timeout_ms);
  bool pg =
      strncmp(opts->path, "postgres://", 11) == 0 || strncmp(opts->path, "postgresql://", 13) == 0;
#if !STREAM_HAVE_POSTGRES
  if (pg)
    return stream__err(STREAM_ENOTSUP, "this libstream was built without the PostgreSQL store "
                                       "backend (meson -Dpostgres=enabled, libpq)");
#endif
  stream_store *s = stream__calloc(1, sizeof *s);
  if (!s)
    return STREAM_ENOMEM;
  int rc;
#if STREAM_HAVE_POSTGRES
  if (pg) {
    rc = store__pg_open(&s->impl, opts);
    s->backend = &store__pg_backend;
  } else
#endif
  {
    rc = store__sqlite_open(&s->impl, opts);
    s->backend = &store__sqlite_backend;
  }
  if (rc != STREAM_OK) {
    free(s);
    return rc;
  }
  *out = s;
  return STREAM_OK;
}

void stream_store_close(stream_store *s)
{
  if (!s)
    return;
  s->backend->close(s->impl);
  free(s);
}

int stream_store_schema_version(int *out, stream_store *s)
{
  TRY(check_out(out, "out"));
  TRY(check_store(s));
  return s->backend->schema_version(s->impl, out);
}

const char *stream_store_backend_name(const stream_store *s)
{
  return s ? s->backend->name : NULL;
}

int stream_store_sqlite_memstatus_off(void)
{
  return store__sqlite_memstatus_off();
}

/* ---- accounts ---------------------------------------------------------- */

static int check_account(const stream_store_account *a, bool need_id)
{
  if (!a)
    return stream__err(STREAM_EINVAL, "account is NULL");
  TRY(check_field("account id", a->id, sizeof a->id, need_id));
  if (a->id[0])
    TRY(store__check_id("account id", a->id));
  TRY(check_field("account email", a->email, sizeof a->email, true));
  if (!strchr(a->email, '@'))
    return stream__err(STREAM_EINVAL, "account email has no '@'");
  TRY(check_field("account password_hash", a->password_hash, sizeof a->password_hash, false));
  if (a->disabled != 0 && a->disabled != 1)
    return stream__err(STREAM_EINVAL, "account disabled flag is %d; expected 0 or 1", a->disabled);
  if (a->role != STREAM_STORE_ROLE_VIEWER && a->role != STREAM_STORE_ROLE_OPERATOR)
    return stream__err(STREAM_EINVAL, "account role %d is unknown", a->role);
  return STREAM_OK;
}

int stream_store_account_create(stream_store_account *out, stream_store *s,
                                const stream_store_account *in, int64_t now)
{
  TRY(check_store(s));
  TRY(check_account(in, false));
  TRY(check_time("now", now));
  stream_store_account row = *in;
  if (!row.id[0])
    TRY(store__new_id(row.id));
  row.created_at = now;
  TRY(s->backend->accounts->create(s->impl, &row));
  if (out)
    *out = row;
  return STREAM_OK;
}

int stream_store_account_get(stream_store_account *out, stream_store *s, const char *id)
{
  TRY(check_out(out, "out"));
  TRY(check_store(s));
  TRY(store__check_id("account id", id));
  return s->backend->accounts->get_by_id(s->impl, out, id);
}

int stream_store_account_get_by_email(stream_store_account *out, stream_store *s, const char *email)
{
  TRY(check_out(out, "out"));
  TRY(check_store(s));
  TRY(check_text("email", email, STREAM_STORE_EMAIL_MAX, true));
  return s->backend->accounts->get_by_email(s->impl, out, email);
}

int stream_store_account_update(stream_store *s, const stream_store_account *a)
{
  TRY(check_store(s));
  TRY(check_account(a, true));
  return s->backend->accounts->update(s->impl, a, NULL);
}

int stream_store_account_update_if(stream_store *s, const stream_store_account *a,
                                   const stream_store_account *expect)
{
  TRY(check_store(s));
  TRY(check_account(a, true));
  if (!expect || strcmp(expect->id, a->id) != 0)
    return stream__err(STREAM_EINVAL, "update account: the expected row is not the account's");
  return s->backend->accounts->update(s->impl, a, expect);
}

/* ---- refresh tokens ---------------------------------------------------- */

int stream_store_refresh_insert(stream_store *s, const stream_store_refresh *t)
{
  TRY(check_store(s));
  if (!t)
    return stream__err(STREAM_EINVAL, "refresh token is NULL");
  TRY(check_field("token_hash", t->token_hash, sizeof t->token_hash, true));
  TRY(store__check_hash64("token_hash", t->token_hash));
  TRY(check_field("family_id", t->family_id, sizeof t->family_id, true));
  TRY(store__check_id("family_id", t->family_id));
  TRY(check_field("account_id", t->account_id, sizeof t->account_id, true));
  TRY(store__check_id("account_id", t->account_id));
  TRY(check_field("profile_id", t->profile_id, sizeof t->profile_id, false));
  TRY(check_opt_id("profile_id", t->profile_id));
  TRY(check_time("created_at", t->created_at));
  if (t->expires_at <= t->created_at)
    return stream__err(STREAM_EINVAL,
                       "refresh token expires_at %" PRId64 " is not after created_at %" PRId64,
                       t->expires_at, t->created_at);
  return s->backend->refresh->insert(s->impl, t);
}

int stream_store_refresh_get(stream_store_refresh *out, stream_store *s, const char *token_hash)
{
  TRY(check_out(out, "out"));
  TRY(check_store(s));
  TRY(store__check_hash64("token_hash", token_hash));
  return s->backend->refresh->get(s->impl, out, token_hash);
}

int stream_store_refresh_mark_used(stream_store *s, const char *token_hash, int64_t now)
{
  TRY(check_store(s));
  TRY(store__check_hash64("token_hash", token_hash));
  TRY(check_time("now", now));
  return s->backend->refresh->mark_used(s->impl, token_hash, now);
}

int stream_store_refresh_revoke_family(size_t *out_count, stream_store *s, const char *family_id,
                                       int64_t now)
{
  TRY(check_store(s));
  TRY(store__check_id("family_id", family_id));
  TRY(check_time("now", now));
  size_t n = 0;
  TRY(s->backend->refresh->revoke_family(s->impl, &n, family_id, now));
  if (out_count)
    *out_count = n;
  return STREAM_OK;
}

int stream_store_refresh_revoke_account(size_t *out_count, stream_store *s, const char *account_id,
                                        int64_t now)
{
  TRY(check_store(s));
  TRY(store__check_id("account_id", account_id));
  TRY(check_time("now", now));
  size_t n = 0;
  TRY(s->backend->refresh->revoke_account(s->impl, &n, account_id, now));
  if (out_count)
    *out_count = n;
  return STREAM_OK;
}

int stream_store_refresh_revoke_profile(size_t *out_count, stream_store *s, const char *profile_id,
                                        int64_t now)
{
  TRY(check_store(s));
  TRY(store__check_id("profile_id", profile_id));
  TRY(check_time("now", now));
  size_t n = 0;
  TRY(s->backend->refresh->revoke_profile(s->impl, &n, profile_id, now));
  if (out_count)
    *out_count = n;
  return STREAM_OK;
}

/* ---- device authorizations --------------------------------------------- */

static int check_user_code(const char *v)
{
  TRY(check_text("user_code", v, STREAM_STORE_USER_CODE_MAX, true));
  for (const char *p = v; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
          *p == '-'))
      return stream__err(STREAM_EINVAL, "user_code has an invalid character at offset %zu",
                         (size_t)(p - v));
  return STREAM_OK;
}

int stream_store_device_insert(stream_store *s, const stream_store_device *d)
{
  TRY(check_store(s));
  if (!d)
    return stream__err(STREAM_EINVAL, "device authorization is NULL");
  TRY(check_field("device_code_hash", d->device_code_hash, sizeof d->device_code_hash, true));
  TRY(store__check_hash64("device_code_hash", d->device_code_hash));
  TRY(check_field("user_code", d->user_code, sizeof d->user_code, true));
  TRY(check_user_code(d->user_code));
  TRY(check_field("client_id", d->client_id, sizeof d->client_id, true));
  TRY(check_field("scope", d->scope, sizeof d->scope, false));
  if (d->interval < 1 || d->interval > 3600)
    return stream__err(STREAM_EINVAL, "device interval %d is outside 1..3600 seconds", d->interval);
  TRY(check_time("created_at", d->created_at));
  if (d->expires_at <= d->created_at)
    return stream__err(STREAM_EINVAL,
                       "device expires_at %" PRId64 " is not after created_at %" PRId64,
                       d->expires_at, d->created_at);
  return s->backend->device->insert(s->impl, d);
}

int stream_store_device_get(stream_store_device *out, stream_store *s, const char *device_code_hash)
{
  TRY(check_out(out, "out"));
  TRY(check_store(s));
  TRY(store__check_hash64("device_code_hash", device_code_hash));
  return s->backend->device->get(s->impl, out, device_code_hash);
}

int stream_store_device_get_by_user_code(stream_store_device *out, stream_store *s,
                                         const char *user_code)
{
  TRY(check_out(out, "out"));
  TRY(check_store(s));
  TRY(check_user_code(user_code));
  return s->backend->device->get_by_user_code(s->impl, out, user_code);
}

int stream_store_device_approve(stream_store *s, const char *user_code, const char *account_id,
                                const char *profile_id, int64_t now)
{
  return stream_store_device_approve_profile(s, user_code, account_id, profile_id, NULL, now);
}

int stream_store_device_approve_profile(stream_store *s, const char *user_code,
                                        const char *account_id, const char *profile_id,
                                        const char *profile_pin_digest, int64_t now)
{
  TRY(check_store(s));
  TRY(check_user_code(user_code));
  TRY(store__check_id("account_id", account_id));
  TRY(check_opt_id("profile_id", profile_id));
  TRY(check_time("now", now));
  bool digest = profile_pin_digest && profile_pin_digest[0];
  if (digest && !(profile_id && profile_id[0]))
    return stream__err(STREAM_EINVAL, "approve device authorization: a profile PIN digest "
                                      "without a profile");
  if (digest)
    TRY(store__check_hash64("profile_pin_digest", profile_pin_digest));
  /* A profile approval always records a digest, the "unchecked" one when given none: after
   * the profile's deletion clears profile_id, the row must still read as a profile approval
   * (auth refuses it), never as an approval of the whole account. */
  bool profile = profile_id && profile_id[0];
  const char *record = digest    ? profile_pin_digest
                       : profile ? STREAM_STORE_DEVICE_PIN_UNCHECKED
                                 : "";
  return s->backend->device->decide(s->impl, user_code, STREAM_STORE_DEVICE_APPROVED, account_id,
                                    profile ? profile_id : "", record, now);
}

int stream_store_device_deny(stream_store *s, const char *user_code, int64_t now)
{
  TRY(check_store(s));
  TRY(check_user_code(user_code));
  TRY(check_time("now", now));
  return s->backend->device->decide(s->impl, user_code, STREAM_STORE_DEVICE_DENIED, "", "", "",
                                    now);
}

int stream_store_device_record_poll(int64_t *out_prev, stream_store *s,
                                    const char *device_code_hash, int new_interval, int64_t now)
{
  TRY(check_out(out_prev, "out_prev"));
  TRY(check_store(s));
  TRY(store__check_hash64("device_code_hash", device_code_hash));
  if (new_interval < 0 || new_interval > 3600)
    return stream__err(STREAM_EINVAL, "new_interval %d is outside 0..3600 seconds", new_interval);
  TRY(check_time("now", now));
  return s->backend->device->record_poll(s->impl, out_prev, device_code_hash, new_interval, now);
}

int stream_store_device_consume(stream_store_device *out, stream_store *s,
                                const char *device_code_hash, int64_t now)
{
  TRY(check_store(s));
  TRY(store__check_hash64("device_code_hash", device_code_hash));
  TRY(check_time("now", now));
  stream_store_device tmp;
  return s->backend->device->consume(s->impl, out ? out : &tmp, device_code_hash, now);
}

/* ---- profiles ---------------------------------------------------------- */

static int check_profile(const stream_store_profile *p, bool need_id)
{
  if (!p)
    return stream__err(STREAM_EINVAL, "profile is NULL");
  TRY(check_field("profile id", p->id, sizeof p->id, need_id));
  if (p->id[0])
    TRY(store__check_id("profile id", p->id));
  TRY(check_field("profile account_id", p->account_id, sizeof p->account_id, !need_id));
  if (!need_id)
    TRY(store__check_id("profile account_id", p->account_id));
  TRY(check_field("profile name", p->name, sizeof p->name, true));
  TRY(check_field("profile avatar", p->avatar, sizeof p->avatar, false));
  TRY(check_field("profile pin_hash", p->pin_hash, sizeof p->pin_hash, false));
  if (p->kids != 0 && p->kids != 1)
    return stream__err(STREAM_EINVAL, "profile kids flag is %d; expected 0 or 1", p->kids);
  if (p->maturity_ceiling < 0)
    return stream__err(STREAM_EINVAL, "profile maturity_ceiling %d is negative",
                       p->maturity_ceiling);
  return STREAM_OK;
}

int stream_store_profile_create(stream_store_profile *out, stream_store *s,
                                const stream_store_profile *in, int64_t now)
{
  TRY(check_store(s));
  TRY(check_profile(in, false));
  TRY(check_time("now", now));
  stream_store_profile row = *in;
  if (!row.id[0])
    TRY(store__new_id(row.id));
  row.created_at = now;
  TRY(s->backend->profiles->create(s->impl, &row, STREAM_STORE_PROFILES_MAX));
  if (out)
    *out = row;
  return STREAM_OK;
}

int stream_store_profile_get(stream_store_profile *out, stream_store *s, const char *id)
{
  TRY(check_out(out, "out"));
  TRY(check_store(s));
  TRY(store__check_id("profile id", id));
  return s->backend->profiles->get(s->impl, out, id);
}

int stream_store_profile_list(stream_store_profile **out, size_t *out_count, stream_store *s,
                              const char *account_id)
{
  TRY(check_out(out, "out"));
  TRY(check_out(out_count, "out_count"));
  *out = NULL;
  *out_count = 0;
  TRY(check_store(s));
  TRY(store__check_id("account_id", account_id));
  return s->backend->profiles->list(s->impl, out, out_count, account_id);
}

int stream_store_profile_update(stream_store *s, const stream_store_profile *p)
{
  TRY(check_store(s));
  TRY(check_profile(p, true));
  return s->backend->profiles->update(s->impl, p, NULL);
}

int stream_store_profile_update_if(stream_store *s, const stream_store_profile *p,
                                   const stream_store_profile *expect)
{
  TRY(check_store(s));
  TRY(check_profile(p, true));
  if (!expect || strcmp(expect->id, p->id) != 0)
    return stream__err(STREAM_EINVAL, "update profile: the expected row is not the profile's");
  return s->backend->profiles->update(s->impl, p, expect);
}

int stream_store_profile_delete(stream_store *s, const char *id)
{
  TRY(check_store(s));
  TRY(store__check_id("profile id", id));
  return s->backend->profiles->remove(s->impl, id, NULL);
}

int stream_store_profile_delete_if(stream_store *s, const stream_store_profile *expect)
{
  TRY(check_store(s));
  if (!expect)
    return stream__err(STREAM_EINVAL, "delete profile: the expected row is NULL");
  TRY(store__check_id("profile id", expect->id));
  if (strnlen(expect->pin_hash, sizeof expect->pin_hash) >= sizeof expect->pin_hash)
    return stream__err(STREAM_EINVAL, "delete profile: the expected PIN hash is not terminated");
  return s->backend->profiles->remove(s->impl, expect->id, expect->pin_hash);
}

/* ---- catalog ----------------------------------------------------------- */

static int check_genre(const char *g)
{
  TRY(check_text("genre", g, STREAM_STORE_GENRE_MAX, true));
  for (const unsigned char *p = (const unsigned char *)g; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return stream__err(STREAM_EINVAL, "genre has a control character");
  return STREAM_OK;
}

static int check_region(const char *r)
{
  TRY(check_text("region", r, STREAM_STORE_REGION_MAX, true));
  for (const char *p = r; *p; p++)
    if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
      return stream__err(STREAM_EINVAL, "region \"%s\" must be uppercase letters or digits", r);
  return STREAM_OK;
}

static int check_title(const stream_store_title *t, bool need_id)
{
  if (!t)
    return stream__err(STREAM_EINVAL, "title is NULL");
  TRY(check_field("title id", t->id, sizeof t->id, need_id));
  if (t->id[0])
    TRY(store__check_id("title id", t->id));
  if (t->kind != STREAM_STORE_TITLE_MOVIE && t->kind != STREAM_STORE_TITLE_SERIES)
    return stream__err(STREAM_EINVAL, "title kind %d is unknown", t->kind);
  TRY(check_text("title name", t->name, STREAM_STORE_TITLE_NAME_MAX, true));
  TRY(check_text("title synopsis", t->synopsis, STREAM_STORE_SYNOPSIS_MAX, false));
  TRY(check_text("title credits_json", t->credits_json, STREAM_STORE_JSON_MAX, false));
  TRY(check_text("title artwork_json", t->artwork_json, STREAM_STORE_JSON_MAX, false));
  if (t->year < 0 || t->year > 9999)
    return stream__err(STREAM_EINVAL, "title year %d is outside 0..9999", t->year);
  if (t->runtime < 0 || t->maturity_rating < 0)
    return stream__err(STREAM_EINVAL, "title runtime and maturity_rating must not be negative");
  if (t->available_from < 0 || t->available_until < 0 ||
      (t->available_until && t->available_until <= t->available_from))
    return stream__err(STREAM_EINVAL,
                       "title availability window [%" PRId64 ", %" PRId64 ") is invalid",
                       t->available_from, t->available_until);
  if (t->genre_count > STREAM_STORE_GENRES_PER_TITLE || (t->genre_count && !t->genres))
    return stream__err(STREAM_EINVAL, "title has %zu genres (limit %d) or a NULL genre array",
                       t->genre_count, STREAM_STORE_GENRES_PER_TITLE);
  for (size_t i = 0; i < t->genre_count; i++)
    TRY(check_genre(t->genres[i]));
  if (t->region_count > STREAM_STORE_REGIONS_PER_TITLE || (t->region_count && !t->regions))
    return stream__err(STREAM_EINVAL, "title has %zu regions (limit %d) or a NULL region array",
                       t->region_count, STREAM_STORE_REGIONS_PER_TITLE);
  for (size_t i = 0; i < t->region_count; i++)
    TRY(check_region(t->regions[i]));
  return STREAM_OK;
}

int stream_store_title_create(char *out_id, stream_store *s, const stream_store_title *in,
                              int64_t now)
{
  TRY(check_store(s));
  TRY(check_title(in, false));
  TRY(check_time("now", now));
  stream_store_title row = *in;
  if (!row.id[0])
    TRY(store__new_id(row.id));
  TRY(s->backend->catalog->title_create(s->impl, &row, now));
  if (out_id)
    memcpy(out_id, row.id, sizeof row.id);
  return STREAM_OK;
}

int stream_store_title_update(stream_store *s, const stream_store_title *t, int64_t now)
{
  TRY(check_store(s));
  TRY(check_title(t, true));
  TRY(check_time("now", now));
  return s->backend->catalog->title_update(s->impl, t, now);
}

int stream_store_title_delete(stream_store *s, const char *id)
{
  TRY(check_store(s));
  TRY(store__check_id("title id", id));
  return s->backend->catalog->title_delete(s->impl, id);
}

int stream_store_title_get(stream_store_title *out, stream_store *s, const char *id)
{
  TRY(check_out(out, "out"));
  memset(out, 0, sizeof *out);
  TRY(check_store(s));
  TRY(store__check_id("title id", id));
  return s->backend->catalog->title_get(s->impl, out, id);
}

int stream_store_title_get_detail(stream_store_title_detail *out, stream_store *s, const char *id)
{
  TRY(check_out(out, "out"));
  memset(out, 0, sizeof *out);
  TRY(check_store(s));
  TRY(store__check_id("title id", id));
  return s->backend->catalog->title_detail(s->impl, out, id);
}

int stream_store_season_create(char *out_id, stream_store *s, const char *title_id, int number)
{
  TRY(check_store(s));
  TRY(store__check_id("title id", title_id));
  if (number < 0 || number > 100000)
    return stream__err(STREAM_EINVAL, "season number %d is outside 0..100000", number);
  char id[STREAM_STORE_ID_SIZE];
  TRY(store__new_id(id));
  TRY(s->backend->catalog->season_create(s->impl, id, title_id, number));
  if (out_id)
    memcpy(out_id, id, sizeof id);
  return STREAM_OK;
}

int stream_store_season_delete(stream_store *s, const char *id)
{
  TRY(check_store(s));
  TRY(store__check_id("season id", id));
  return s->backend->catalog->season_delete(s->impl, id);
}

static int check_episode(const stream_store_episode *e, bool need_id)
{
  if (!e)
    return stream__err(STREAM_EINVAL, "episode is NULL");
  TRY(check_field("episode id", e->id, sizeof e->id, need_id));
  if (e->id[0])
    TRY(store__check_id("episode id", e->id));
  if (!need_id) {
    TRY(check_field("episode season_id", e->season_id, sizeof e->season_id, true));
    TRY(store__check_id("episode season_id", e->season_id));
  }
  if (e->number < 1 || e->number > 100000)
    return stream__err(STREAM_EINVAL, "episode number %d is outside 1..100000", e->number);
  TRY(check_text("episode name", e->name, STREAM_STORE_TITLE_NAME_MAX, true));
  TRY(check_text("episode synopsis", e->synopsis, STREAM_STORE_SYNOPSIS_MAX, false));
  if (e->runtime < 0)
    return stream__err(STREAM_EINVAL, "episode runtime %d is negative", e->runtime);
  return STREAM_OK;
}

int stream_store_episode_create(char *out_id, stream_store *s, const stream_store_episode *in)
{
  TRY(check_store(s));
  TRY(check_episode(in, false));
  stream_store_episode row = *in;
  if (!row.id[0])
    TRY(store__new_id(row.id));
  TRY(s->backend->catalog->episode_create(s->impl, &row));
  if (out_id)
    memcpy(out_id, row.id, sizeof row.id);
  return STREAM_OK;
}

int stream_store_episode_update(stream_store *s, const stream_store_episode *e)
{
  TRY(check_store(s));
  TRY(check_episode(e, true));
  return s->backend->catalog->episode_update(s->impl, e);
}

int stream_store_episode_delete(stream_store *s, const char *id)
{
  TRY(check_store(s));
  TRY(store__check_id("episode id", id));
  return s->backend->catalog->episode_delete(s->impl, id);
}

static int check_query(const stream_store_title_query *q)
{
  if (!q)
    return stream__err(STREAM_EINVAL, "title query is NULL");
  if (q->version != STREAM_STORE_TITLE_QUERY_VERSION)
    return stream__err(STREAM_EINVAL, "title query version %u is not supported (expected %d)",
                       q->version, STREAM_STORE_TITLE_QUERY_VERSION);
  if (q->genre)
    TRY(check_genre(q->genre));
  if (q->region)
    TRY(check_region(q->region));
  if (q->maturity_ceiling < 0)
    return stream__err(STREAM_EINVAL, "maturity_ceiling %d is negative", q->maturity_ceiling);
  TRY(check_time("query now", q->now));
  if (q->limit < 1 || q->limit > STREAM_STORE_PAGE_MAX)
    return stream__err(STREAM_EINVAL, "limit %u is outside 1..%d", q->limit, STREAM_STORE_PAGE_MAX);
  if (q->sort != STREAM_STORE_SORT_NAME && q->sort != STREAM_STORE_SORT_NEWEST)
    return stream__err(STREAM_EINVAL, "sort order %d is unknown", q->sort);
  return STREAM_OK;
}

/* Cursor: unpadded base64url of "<sort>:<id>:<key>", where key is the name
 * (sort by name) or the decimal created_at (newest first). Ids never hold ':'
 * so the first two separators are unambiguous. */
static int cursor_encode(char **out, int sort, const stream_store_title *last)
{
  stream__buf b;
  stream__buf_init(&b);
  if (sort == STREAM_STORE_SORT_NAME)
    stream__buf_printf(&b, "%d:%s:%s", sort, last->id, last->name);
  else
    stream__buf_printf(&b, "%d:%s:%" PRId64, sort, last->id, last->created_at);
  char *plain = NULL;
  TRY(stream__buf_detach(&b, &plain));
  size_t n = strlen(plain);
  int rc = stream_base64_encode(out, NULL, plain, n, STREAM_B64_URL | STREAM_B64_NOPAD);
  free(plain);
  return rc;
}

static int cursor_decode(store__cursor *c, const char *text, int sort)
{
  memset(c, 0, sizeof *c);
  TRY(check_text("cursor", text, STREAM_STORE_CURSOR_MAX, true));
  unsigned char *raw = NULL;
  size_t n = 0;
  if (stream_base64_decode(&raw, &n, text, strlen(text), STREAM_B64_URL) != STREAM_OK)
    return stream__err(STREAM_EINVAL, "cursor is not a cursor returned by the store");
  int rc = STREAM_EINVAL;
  char *p = (char *)raw, *end = p + n;
  if (memchr(raw, 0, n))
    goto bad;
  if (n < 4 || p[1] != ':' || (p[0] - '0') != sort) {
    if (n >= 2 && p[1] == ':' && (p[0] == '0' || p[0] == '1')) {
      free(raw);
      return stream__err(STREAM_EINVAL, "cursor belongs to another sort order");
    }
    goto bad;
  }
  p += 2;
  char *colon = memchr(p, ':', (size_t)(end - p));
  if (!colon || colon == p || (size_t)(colon - p) > STREAM_STORE_ID_MAX)
    goto bad;
  memcpy(c->id, p, (size_t)(colon - p));
  c->id[colon - p] = '\0';
  for (char *q = c->id; *q; q++)
    if (!id_char(*q))
      goto bad;
  p = colon + 1;
  c->sort = sort;
  if (sort == STREAM_STORE_SORT_NAME) {
    /* the name sent back as SQL text: a forged cursor must not carry bad UTF-8 */
    if (!stream__utf8_valid(p, (size_t)(end - p)))
      goto bad;
    c->key_text = stream__strndup(p, (size_t)(end - p));
    if (!c->key_text) {
      rc = STREAM_ENOMEM;
      goto out;
    }
  } else {
    char *e = NULL;
    if (p == end || *p == '-')
      goto bad;
    long long v = strtoll(p, &e, 10);
    if (e != end || v < 0)
      goto bad;
    c->key_num = (int64_t)v;
  }
  rc = STREAM_OK;
  goto out;
bad:
  rc = stream__err(STREAM_EINVAL, "cursor is not a cursor returned by the store");
out:
  free(raw);
  return rc;
}

/* The backends take q->region as the comma-joined codes a title may list for the viewer (its own
 * and, for a country, the UN M49 areas containing it: core/m49.h), `codes` holding them. */
static const stream_store_title_query *region_codes(stream_store_title_query *copy, char *codes,
                                                    const stream_store_title_query *q)
{
  if (!q->region)
    return q;
  *copy = *q;
  stream__region_codes(codes, q->region);
  copy->region = codes;
  return copy;
}

int stream_store_title_list(stream_store_title_page *out, stream_store *s,
                            const stream_store_title_query *q)
{
  TRY(check_out(out, "out"));
  memset(out, 0, sizeof *out);
  TRY(check_store(s));
  TRY(check_query(q));
  store__cursor cur;
  bool have_cursor = q->cursor != NULL;
  if (have_cursor)
    TRY(cursor_decode(&cur, q->cursor, q->sort));
  bool more = false;
  stream_store_title_query rq;
  char codes[STREAM__REGION_CODES_SIZE];
  int rc = s->backend->catalog->title_list(s->impl, out, &more, region_codes(&rq, codes, q),
                                           have_cursor ? &cur : NULL);
  if (have_cursor)
    free(cur.key_text);
  if (rc == STREAM_OK && more && out->count > 0)
    rc = cursor_encode(&out->next_cursor, q->sort, &out->items[out->count - 1]);
  if (rc != STREAM_OK)
    stream_store_title_page_clear(out);
  return rc;
}

int stream_store_title_search(stream_store_title_page *out, stream_store *s, const char *text,
                              const stream_store_title_query *q)
{
  TRY(check_out(out, "out"));
  memset(out, 0, sizeof *out);
  TRY(check_store(s));
  /* Any bytes: a query, never stored; each backend turns it into words, bytes that are not
   * UTF-8 being separators (docs/api/store.md "Search"), so both answer alike. */
  TRY(check_bytes("search text", text, STREAM_STORE_SEARCH_MAX, false));
  if (!text)
    return stream__err(STREAM_EINVAL, "search text is NULL");
  TRY(check_query(q));
  stream_store_title_query rq;
  char codes[STREAM__REGION_CODES_SIZE];
  int rc = s->backend->catalog->title_search(s->impl, out, text, region_codes(&rq, codes, q));
  if (rc != STREAM_OK)
    stream_store_title_page_clear(out);
  return rc;
}

int stream_store_genre_list(char ***out, size_t *out_count, stream_store *s)
{
  TRY(check_out(out, "out"));
  TRY(check_out(out_count, "out_count"));
  *out = NULL;
  *out_count = 0;
  TRY(check_store(s));
  return s->backend->catalog->genre_list(s->impl, out, out_count);
}

int stream_store_genre_list_visible(char ***out, size_t *out_count, stream_store *s,
                                    const stream_store_title_query *q)
{
  TRY(check_out(out, "out"));
  TRY(check_out(out_count, "out_count"));
  *out = NULL;
  *out_count = 0;
  TRY(check_store(s));
  TRY(check_query(q));
  stream_store_title_query rq;
  char codes[STREAM__REGION_CODES_SIZE];
  return s->backend->catalog->genre_list_visible(s->impl, out, out_count,
                                                 region_codes(&rq, codes, q));
}

void stream_store_strings_free(char **v, size_t count)
{
  if (!v)
    return;
  for (size_t i = 0; i < count; i++)
    free(v[i]);
  free(v);
}

void stream_store_title_clear(stream_store_title *t)
{
  if (!t)
    return;
  free(t->name);
  free(t->synopsis);
  free(t->credits_json);
  free(t->artwork_json);
  stream_store_strings_free(t->genres, t->genre_count);
  stream_store_strings_free(t->regions, t->region_count);
  memset(t, 0, sizeof *t);
}

void stream_store_title_detail_clear(stream_store_title_detail *d)
{
  if (!d)
    return;
  stream_store_title_clear(&d->title);
  for (size_t i = 0; i < d->season_count; i++) {
    stream_store_season *se = &d->seasons[i];
    for (size_t j = 0; j < se->episode_count; j++) {
      free(se->episodes[j].name);
      free(se->episodes[j].synopsis);
    }
    free(se->episodes);
  }
  free(d->seasons);
  memset(d, 0, sizeof *d);
}

void stream_store_title_page_clear(stream_store_title_page *p)
{
  if (!p)
    return;
  for (size_t i = 0; i < p->count; i++)
    stream_store_title_clear(&p->items[i]);
  free(p->items);
  free(p->next_cursor);
  memset(p, 0, sizeof *p);
}

/* ---- resume positions and My List -------------------------------------- */

int stream_store_progress_upsert(stream_store *s, const stream_store_progress *p, int64_t now)
{
  TRY(check_store(s));
  if (!p)
    return stream__err(STREAM_EINVAL, "progress is NULL");
  TRY(check_field("progress profile_id", p->profile_id, sizeof p->profile_id, true));
  TRY(store__check_id("progress profile_id", p->profile_id));
  TRY(check_field("progress title_id", p->title_id, sizeof p->title_id, true));
  TRY(store__check_id("progress title_id", p->title_id));
  TRY(check_field("progress episode_id", p->episode_id, sizeof p->episode_id, false));
  TRY(check_opt_id("progress episode_id", p->episode_id));
  if (p->position_ms < 0 || p->duration_ms <= 0)
    return stream__err(STREAM_EINVAL,
                       "progress position %" PRId64 " / duration %" PRId64
                       " ms: position must be >= 0 and duration > 0",
                       p->position_ms, p->duration_ms);
  TRY(check_time("now", now));
  return s->backend->viewing->progress_upsert(s->impl, p, now);
}

int stream_store_progress_get(stream_store_progress *out, stream_store *s, const char *profile_id,
                              const char *title_id, const char *episode_id)
{
  TRY(check_out(out, "out"));
  TRY(check_store(s));
  TRY(store__check_id("profile_id", profile_id));
  TRY(store__check_id("title_id", title_id));
  TRY(check_opt_id("episode_id", episode_id));
  return s->backend->viewing->progress_get(s->impl, out, profile_id, title_id,
                                           episode_id ? episode_id : "");
}

int stream_store_continue_watching(stream_store_progress **out, size_t *out_count, stream_store *s,
                                   const char *profile_id, unsigned int limit)
{
  TRY(check_out(out, "out"));
  TRY(check_out(out_count, "out_count"));
  *out = NULL;
  *out_count = 0;
  TRY(check_store(s));
  TRY(store__check_id("profile_id", profile_id));
  if (limit < 1 || limit > STREAM_STORE_PAGE_MAX)
    return stream__err(STREAM_EINVAL, "limit %u is outside 1..%d", limit, STREAM_STORE_PAGE_MAX);
  return s->backend->viewing->continue_watching(s->impl, out, out_count, profile_id, limit);
}

int stream_store_mylist_add(stream_store *s, const char *profile_id, const char *title_id,
                            int64_t now)
{
  TRY(check_store(s));
  TRY(store__check_id("profile_id", profile_id));
  TRY(store__check_id("title_id", title_id));
  TRY(check_time("now", now));
  return s->backend->viewing->mylist_add(s->impl, profile_id, title_id, now);
}

int stream_store_mylist_remove(stream_store *s, const char *profile_id, const char *title_id)
{
  TRY(check_store(s));
  TRY(store__check_id("profile_id", profile_id));
  TRY(store__check_id("title_id", title_id));
  return s->backend->viewing->mylist_remove(s->impl, profile_id, title_id);
}

int stream_store_mylist_list(stream_store_mylist_item **out, size_t *out_count, stream_store *s,
                             const char *profile_id)
{
  TRY(check_out(out, "out"));
  TRY(check_out(out_count, "out_count"));
  *out = NULL;
  *out_count = 0;
  TRY(check_store(s));
  TRY(store__check_id("profile_id", profile_id));
  return s->backend->viewing->mylist_list(s->impl, out, out_count, profile_id);
}

int stream_store_rating_put(stream_store *s, const char *profile_id, const char *title_id,
                            int value, int64_t now)
{
  TRY(check_store(s));
  TRY(store__check_id("profile_id", profile_id));
  TRY(store__check_id("title_id", title_id));
  if (value != 1 && value != -1)
    return stream__err(STREAM_EINVAL, "rating value %d: must be 1 (up) or -1 (down)", value);
  TRY(check_time("now", now));
  return s->backend->viewing->rating_put(s->impl, profile_id, title_id, value, now);
}

int stream_store_rating_delete(stream_store *s, const char *profile_id, const char *title_id)
{
  TRY(check_store(s));
  TRY(store__check_id("profile_id", profile_id));
  TRY(store__check_id("title_id", title_id));
  return s->backend->viewing->rating_delete(s->impl, profile_id, title_id);
}

int stream_store_rating_get(int *out_value, stream_store *s, const char *profile_id,
                            const char *title_id)
{
  TRY(check_out(out_value, "out_value"));
  *out_value = 0;
  TRY(check_store(s));
  TRY(store__check_id("profile_id", profile_id));
  TRY(store__check_id("title_id", title_id));
  return s->backend->viewing->rating_get(s->impl, out_value, profile_id, title_id);
}

/* ---- recommendations (store_recs.h) ------------------------------------ */

void store__recs_titles_free(store__recs_title *t, size_t n)
{
  if (!t)
    return;
  for (size_t i = 0; i < n; i++)
    free(t[i].regions);
  free(t);
}

/* ---- retention ----------------------------------------------------------- */

void stream_store_purge_policy_default(stream_store_purge_policy *p)
{
  if (!p)
    return;
  memset(p, 0, sizeof *p);
  p->version = STREAM_STORE_PURGE_POLICY_VERSION;
  p->refresh_grace = 7 * 86400;
  p->device_grace = 86400;
  p->idempotency_retention = 7 * 86400;
  p->lease_grace = 86400;
  p->batch_size = 1000;
  p->reset_grace = 86400;
}

static int check_grace(const char *what, int64_t v)
{
  if (v < 0)
    return stream__err(STREAM_EINVAL, "purge policy: %s is negative (%lld)", what, (long long)v);
  return STREAM_OK;
}

int stream_store_purge(stream_store_purge_counts *out, stream_store *s, int64_t now,
                       const stream_store_purge_policy *p)
{
  /* A caller built against the version-1 header (its policy says 1, or it passes NULL) has
   * counts that end before password_resets, a version-2 caller's end before rate_buckets:
   * never write past them. */
  size_t out_size = p && p->version >= 3   ? sizeof(stream_store_purge_counts)
                    : p && p->version == 2 ? offsetof(stream_store_purge_counts, rate_buckets)
                                           : offsetof(stream_store_purge_counts, password_resets);
  if (out)
    memset(out, 0, out_size);
  TRY(check_store(s));
  stream_store_purge_policy def;
  if (!p) {
    stream_store_purge_policy_default(&def);
    p = &def;
  } else if (p->version == 1) {
    /* The version-1 struct ends before reset_grace: copy what it has. */
    stream_store_purge_policy_default(&def);
    memcpy(&def, p, offsetof(stream_store_purge_policy, reset_grace));
    def.version = STREAM_STORE_PURGE_POLICY_VERSION;
    p = &def;
  } else if (p->version == 2) {
    /* Version 3 added no policy field: the same struct. */
    def = *p;
    def.version = STREAM_STORE_PURGE_POLICY_VERSION;
    p = &def;
  }
  if (p->version != STREAM_STORE_PURGE_POLICY_VERSION)
    return stream__err(STREAM_EINVAL, "purge policy: unknown version %u (expected 1..%u)",
                       p->version, STREAM_STORE_PURGE_POLICY_VERSION);
  if (now <= 0)
    return stream__err(STREAM_EINVAL, "purge: now must be a positive Unix time, got %lld",
                       (long long)now);
  TRY(check_grace("refresh_grace", p->refresh_grace));
  TRY(check_grace("device_grace", p->device_grace));
  TRY(check_grace("lease_grace", p->lease_grace));
  TRY(check_grace("reset_grace", p->reset_grace));
  if (p->idempotency_retention < STREAM_STORE_IDEMPOTENCY_RETENTION_MIN)
    return stream__err(STREAM_EINVAL,
                       "purge policy: idempotency_retention %lld s is under the promised %d s",
                       (long long)p->idempotency_retention, STREAM_STORE_IDEMPOTENCY_RETENTION_MIN);
  if (p->batch_size < 1 || p->batch_size > STREAM_STORE_PURGE_BATCH_MAX)
    return stream__err(STREAM_EINVAL, "purge policy: batch_size %u is outside 1..%d", p->batch_size,
                       STREAM_STORE_PURGE_BATCH_MAX);
  /* The backend deletes below now - duration: a duration of at least `now`
   * (a cutoff at or before the epoch) is clamped, which deletes nothing and
   * keeps the subtraction defined. */
  stream_store_purge_policy c = *p;
  c.refresh_grace = c.refresh_grace > now ? now : c.refresh_grace;
  c.device_grace = c.device_grace > now ? now : c.device_grace;
  c.lease_grace = c.lease_grace > now ? now : c.lease_grace;
  c.reset_grace = c.reset_grace > now ? now : c.reset_grace;
  c.idempotency_retention = c.idempotency_retention > now ? now : c.idempotency_retention;
  stream_store_purge_counts tmp;
  memset(&tmp, 0, sizeof tmp);
  int rc = s->backend->purge(s->impl, &tmp, now, &c);
  if (out)
    memcpy(out, &tmp, out_size);
  return rc;
}
