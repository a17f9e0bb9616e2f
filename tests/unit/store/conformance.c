/* Store conformance cases: public API only (see conformance.h). */
#include "conformance.h"

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1700000000

/* ---- helpers -------------------------------------------------------------- */

static void expect_err(int rc, int want)
{
  ck_assert_int_eq(rc, want);
  const stream_error *e = stream_error_last();
  ck_assert_ptr_nonnull(e);
  ck_assert_int_eq(e->code, want);
  ck_assert(e->message[0] != '\0');
}

static stream_store_account mk_account(stream_store *s, const char *email)
{
  stream_store_account in, out;
  memset(&in, 0, sizeof in);
  snprintf(in.email, sizeof in.email, "%s", email);
  snprintf(in.password_hash, sizeof in.password_hash,
           "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA");
  ck_assert_int_eq(stream_store_account_create(&out, s, &in, T0), STREAM_OK);
  return out;
}

static void fill_profile(stream_store_profile *p, const char *account_id, const char *name)
{
  memset(p, 0, sizeof *p);
  snprintf(p->account_id, sizeof p->account_id, "%s", account_id);
  snprintf(p->name, sizeof p->name, "%s", name);
  p->maturity_ceiling = 18;
}

static stream_store_profile mk_profile(stream_store *s, const char *account_id, const char *name)
{
  stream_store_profile in, out;
  fill_profile(&in, account_id, name);
  ck_assert_int_eq(stream_store_profile_create(&out, s, &in, T0), STREAM_OK);
  return out;
}

/* A 64-hex-digit "hash" unique per label: the label's bytes in hex, padded. */
static void hash_of(char out[STREAM_STORE_TOKEN_HASH_LEN + 1], const char *label)
{
  static const char hex[] = "0123456789abcdef";
  size_t n = strlen(label);
  ck_assert_uint_le(n, 32);
  memset(out, '0', STREAM_STORE_TOKEN_HASH_LEN);
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hex[(unsigned char)label[i] >> 4];
    out[2 * i + 1] = hex[(unsigned char)label[i] & 15];
  }
  out[STREAM_STORE_TOKEN_HASH_LEN] = '\0';
}

static void mk_title(char *out_id, stream_store *s, const char *name, const char *synopsis,
                     const char *genre, int maturity, int64_t created_at)
{
  stream_store_title t;
  memset(&t, 0, sizeof t);
  t.kind = STREAM_STORE_TITLE_MOVIE;
  t.name = (char *)name;
  t.synopsis = (char *)synopsis;
  t.maturity_rating = maturity;
  char *genres[1] = {(char *)genre};
  if (genre) {
    t.genres = genres;
    t.genre_count = 1;
  }
  ck_assert_int_eq(stream_store_title_create(out_id, s, &t, created_at), STREAM_OK);
}

static stream_store_title_query query(const char *genre, int sort, unsigned int limit)
{
  stream_store_title_query q = STREAM_STORE_TITLE_QUERY_INIT;
  q.genre = genre;
  q.sort = sort;
  q.limit = limit;
  q.now = T0 + 1000000;
  return q;
}

/* Run `fn(arg, i)` on `n` threads started together; return how many returned
 * each code through `rcs`. */
typedef struct race {
  stream_store *s;
  void *arg;
  int index;
  int (*fn)(stream_store *s, void *arg, int index);
  pthread_barrier_t *barrier;
  int rc;
} race;

static void *race_main(void *p)
{
  race *r = p;
  pthread_barrier_wait(r->barrier);
  r->rc = r->fn(r->s, r->arg, r->index);
  return NULL;
}

#define RACERS 8
static void run_race(stream_store *s, void *arg, int (*fn)(stream_store *, void *, int),
                     int rcs[RACERS])
{
  pthread_t th[RACERS];
  race r[RACERS];
  pthread_barrier_t b;
  pthread_barrier_init(&b, NULL, RACERS);
  for (int i = 0; i < RACERS; i++) {
    r[i] = (race){s, arg, i, fn, &b, 0};
    ck_assert_int_eq(pthread_create(&th[i], NULL, race_main, &r[i]), 0);
  }
  for (int i = 0; i < RACERS; i++) {
    pthread_join(th[i], NULL);
    rcs[i] = r[i].rc;
  }
  pthread_barrier_destroy(&b);
}

static int count_rc(const int rcs[RACERS], int want)
{
  int n = 0;
  for (int i = 0; i < RACERS; i++)
    n += rcs[i] == want;
  return n;
}

/* ---- accounts --------------------------------------------------------------- */

static void case_accounts(stream_store *s)
{
  stream_store_account a = mk_account(s, "alice@accounts.test");
  ck_assert_uint_eq(strlen(a.id), 22);
  ck_assert_int_eq(a.created_at, T0);
  stream_store_account got;
  ck_assert_int_eq(stream_store_account_get(&got, s, a.id), STREAM_OK);
  ck_assert_str_eq(got.email, "alice@accounts.test");
  ck_assert_str_eq(got.password_hash, a.password_hash);
  ck_assert_int_eq(got.role, STREAM_STORE_ROLE_VIEWER);
  ck_assert_int_eq(got.disabled, 0);
  ck_assert_int_eq(stream_store_account_get_by_email(&got, s, "alice@accounts.test"), STREAM_OK);
  ck_assert_str_eq(got.id, a.id);

  /* Uniqueness: same e-mail, or same explicit id. */
  stream_store_account dup;
  memset(&dup, 0, sizeof dup);
  strcpy(dup.email, "alice@accounts.test");
  expect_err(stream_store_account_create(NULL, s, &dup, T0), STREAM_EEXIST);
  strcpy(dup.email, "other@accounts.test");
  strcpy(dup.id, a.id);
  expect_err(stream_store_account_create(NULL, s, &dup, T0), STREAM_EEXIST);
  strcpy(dup.id, "chosen-id_1");
  ck_assert_int_eq(stream_store_account_create(&got, s, &dup, T0), STREAM_OK);
  ck_assert_str_eq(got.id, "chosen-id_1");

  expect_err(stream_store_account_get(&got, s, "nobody"), STREAM_ENOTFOUND);
  expect_err(stream_store_account_get_by_email(&got, s, "nobody@accounts.test"), STREAM_ENOTFOUND);

  a.disabled = 1;
  a.role = STREAM_STORE_ROLE_OPERATOR;
  strcpy(a.password_hash, "$argon2id$new");
  ck_assert_int_eq(stream_store_account_update(s, &a), STREAM_OK);
  ck_assert_int_eq(stream_store_account_get(&got, s, a.id), STREAM_OK);
  ck_assert_int_eq(got.disabled, 1);
  ck_assert_int_eq(got.role, STREAM_STORE_ROLE_OPERATOR);
  ck_assert_str_eq(got.password_hash, "$argon2id$new");
  strcpy(a.id, "missing");
  expect_err(stream_store_account_update(s, &a), STREAM_ENOTFOUND);

  /* Compare-and-set: written only while the row is still as `expect`. */
  stream_store_account before, next;
  ck_assert_int_eq(stream_store_account_get(&before, s, got.id), STREAM_OK);
  next = before;
  strcpy(next.password_hash, "$argon2id$cas1");
  ck_assert_int_eq(stream_store_account_update_if(s, &next, &before), STREAM_OK);
  /* `before` is stale now: a second writer that read it is refused, the row keeps the first. */
  stream_store_account late = before;
  late.disabled = 0;
  late.role = STREAM_STORE_ROLE_VIEWER;
  strcpy(late.password_hash, "$argon2id$late");
  expect_err(stream_store_account_update_if(s, &late, &before), STREAM_ECONFLICT);
  ck_assert_int_eq(stream_store_account_get(&got, s, before.id), STREAM_OK);
  ck_assert_str_eq(got.password_hash, "$argon2id$cas1");
  /* Each compared field counts: disabled, role. */
  stream_store_account stale = got;
  stale.disabled = !got.disabled;
  expect_err(stream_store_account_update_if(s, &late, &stale), STREAM_ECONFLICT);
  stale = got;
  stale.role =
      got.role == STREAM_STORE_ROLE_VIEWER ? STREAM_STORE_ROLE_OPERATOR : STREAM_STORE_ROLE_VIEWER;
  expect_err(stream_store_account_update_if(s, &late, &stale), STREAM_ECONFLICT);
  ck_assert_int_eq(stream_store_account_update_if(s, &late, &got), STREAM_OK);
  ck_assert_int_eq(stream_store_account_get(&got, s, before.id), STREAM_OK);
  ck_assert_str_eq(got.password_hash, "$argon2id$late");
  ck_assert_int_eq(got.disabled, 0);
  /* Bad arguments and an account that is not there. */
  expect_err(stream_store_account_update_if(s, &late, NULL), STREAM_EINVAL);
  expect_err(stream_store_account_update_if(s, &late, &dup), STREAM_EINVAL); /* another id */
  strcpy(late.id, "missing");
  strcpy(stale.id, "missing");
  expect_err(stream_store_account_update_if(s, &late, &stale), STREAM_ECONFLICT);
}

/* ---- profiles --------------------------------------------------------------- */

static void case_profiles(stream_store *s)
{
  stream_store_account a = mk_account(s, "p@profiles.test");
  stream_store_account b = mk_account(s, "q@profiles.test");
  stream_store_profile p1 = mk_profile(s, a.id, "Mum");
  stream_store_profile in;
  fill_profile(&in, a.id, "Mum");
  expect_err(stream_store_profile_create(NULL, s, &in, T0), STREAM_EEXIST);
  mk_profile(s, b.id, "Mum"); /* unique per account only */
  fill_profile(&in, a.id, "Kid");
  in.kids = 1;
  in.maturity_ceiling = 7;
  strcpy(in.pin_hash, "$argon2id$pin");
  strcpy(in.avatar, "fox.png");
  stream_store_profile p2;
  ck_assert_int_eq(stream_store_profile_create(&p2, s, &in, T0 + 5), STREAM_OK);
  fill_profile(&in, "no-such-account", "X");
  expect_err(stream_store_profile_create(NULL, s, &in, T0), STREAM_ENOTFOUND);

  stream_store_profile *list = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_store_profile_list(&list, &n, s, a.id), STREAM_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(list[0].name, "Mum");
  ck_assert_str_eq(list[1].name, "Kid");
  ck_assert_int_eq(list[1].kids, 1);
  ck_assert_int_eq(list[1].maturity_ceiling, 7);
  ck_assert_str_eq(list[1].pin_hash, "$argon2id$pin");
  ck_assert_str_eq(list[1].avatar, "fox.png");
  ck_assert_int_eq(list[1].created_at, T0 + 5);
  stream_free(list);
  ck_assert_int_eq(stream_store_profile_list(&list, &n, s, "empty-account"), STREAM_OK);
  ck_assert_uint_eq(n, 0);
  ck_assert_ptr_null(list);

  p2.pin_hash[0] = '\0';
  strcpy(p2.name, "Kiddo");
  ck_assert_int_eq(stream_store_profile_update(s, &p2), STREAM_OK);
  stream_store_profile got;
  ck_assert_int_eq(stream_store_profile_get(&got, s, p2.id), STREAM_OK);
  ck_assert_str_eq(got.name, "Kiddo");
  ck_assert_str_eq(got.pin_hash, "");
  ck_assert_str_eq(got.account_id, a.id);
  strcpy(p2.name, "Mum");
  expect_err(stream_store_profile_update(s, &p2), STREAM_EEXIST);

  /* Compare-and-set: written only while the row is still as `expect`. */
  stream_store_profile before, next;
  ck_assert_int_eq(stream_store_profile_get(&before, s, p2.id), STREAM_OK);
  next = before;
  next.kids = 0;
  next.maturity_ceiling = 18;
  ck_assert_int_eq(stream_store_profile_update_if(s, &next, &before), STREAM_OK);
  stream_store_profile late = before; /* read before that write: stale */
  strcpy(late.pin_hash, "$argon2id$pin2");
  expect_err(stream_store_profile_update_if(s, &late, &before), STREAM_ECONFLICT);
  ck_assert_int_eq(stream_store_profile_get(&got, s, p2.id), STREAM_OK);
  ck_assert_int_eq(got.kids, 0);
  ck_assert_int_eq(got.maturity_ceiling, 18);
  ck_assert_str_eq(got.pin_hash, "");
  /* Each compared field counts: name, avatar, kids, ceiling, PIN hash. */
  for (int f = 0; f < 5; f++) {
    stream_store_profile stale = got;
    if (f == 0)
      strcpy(stale.name, "Other");
    else if (f == 1)
      strcpy(stale.avatar, "other.png");
    else if (f == 2)
      stale.kids = !got.kids;
    else if (f == 3)
      stale.maturity_ceiling = got.maturity_ceiling - 1;
    else
      strcpy(stale.pin_hash, "$argon2id$x");
    expect_err(stream_store_profile_update_if(s, &late, &stale), STREAM_ECONFLICT);
  }
  late = got;
  strcpy(late.pin_hash, "$argon2id$pin2");
  ck_assert_int_eq(stream_store_profile_update_if(s, &late, &got), STREAM_OK);
  ck_assert_int_eq(stream_store_profile_get(&got, s, p2.id), STREAM_OK);
  ck_assert_str_eq(got.pin_hash, "$argon2id$pin2");
  ck_assert_int_eq(got.maturity_ceiling, 18);
  /* A taken name is still EEXIST; bad arguments EINVAL. */
  stream_store_profile taken = got;
  strcpy(taken.name, "Mum");
  expect_err(stream_store_profile_update_if(s, &taken, &got), STREAM_EEXIST);
  expect_err(stream_store_profile_update_if(s, &taken, NULL), STREAM_EINVAL);
  expect_err(stream_store_profile_update_if(s, &taken, &p1), STREAM_EINVAL); /* another id */

  ck_assert_int_eq(stream_store_profile_delete(s, p1.id), STREAM_OK);
  expect_err(stream_store_profile_get(&got, s, p1.id), STREAM_ENOTFOUND);
  expect_err(stream_store_profile_delete(s, p1.id), STREAM_ENOTFOUND);
}

/* Profiles come back in creation order, also within one second and after an
 * update (the ids and names sort against that order). */
static void case_profile_order(stream_store *s)
{
  stream_store_account a = mk_account(s, "order@profiles.test");
  const char *ids[] = {"ord-c", "ord-b", "ord-a"};
  const char *names[] = {"Zed", "Yan", "Xia"};
  for (int i = 0; i < 3; i++) {
    stream_store_profile in;
    fill_profile(&in, a.id, names[i]);
    strcpy(in.id, ids[i]);
    ck_assert_int_eq(stream_store_profile_create(NULL, s, &in, T0), STREAM_OK);
  }
  stream_store_profile p;
  ck_assert_int_eq(stream_store_profile_get(&p, s, "ord-c"), STREAM_OK);
  strcpy(p.name, "Zoe");
  ck_assert_int_eq(stream_store_profile_update(s, &p), STREAM_OK);
  stream_store_profile *list = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_store_profile_list(&list, &n, s, a.id), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  for (int i = 0; i < 3; i++)
    ck_assert_str_eq(list[i].id, ids[i]);
  ck_assert_str_eq(list[0].name, "Zoe");
  stream_free(list);
}

typedef struct limit_arg {
  char account_id[STREAM_STORE_ID_SIZE];
} limit_arg;

static int create_profile_racer(stream_store *s, void *arg, int i)
{
  limit_arg *la = arg;
  stream_store_profile in;
  char name[16];
  snprintf(name, sizeof name, "racer %d", i);
  fill_profile(&in, la->account_id, name);
  return stream_store_profile_create(NULL, s, &in, T0 + i);
}

static void case_profile_limit_concurrent(stream_store *s)
{
  stream_store_account a = mk_account(s, "limit@profiles.test");
  limit_arg la;
  strcpy(la.account_id, a.id);
  int rcs[RACERS];
  run_race(s, &la, create_profile_racer, rcs);
  ck_assert_int_eq(count_rc(rcs, STREAM_OK), STREAM_STORE_PROFILES_MAX);
  ck_assert_int_eq(count_rc(rcs, STREAM_ERANGE), RACERS - STREAM_STORE_PROFILES_MAX);
  stream_store_profile *list = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_store_profile_list(&list, &n, s, a.id), STREAM_OK);
  ck_assert_uint_eq(n, STREAM_STORE_PROFILES_MAX);
  stream_free(list);
  stream_store_profile in;
  fill_profile(&in, a.id, "one too many");
  expect_err(stream_store_profile_create(NULL, s, &in, T0), STREAM_ERANGE);
  ck_assert(strstr(stream_error_last()->message, "limit") != NULL);
}

/* ---- refresh tokens --------------------------------------------------------- */

static int mark_used_racer(stream_store *s, void *arg, int i)
{
  return stream_store_refresh_mark_used(s, arg, T0 + 100 + i);
}

static void case_refresh_tokens(stream_store *s)
{
  stream_store_account a = mk_account(s, "rt@refresh.test");
  stream_store_profile p = mk_profile(s, a.id, "Main");
  stream_store_refresh t;
  memset(&t, 0, sizeof t);
  hash_of(t.token_hash, "rt-1");
  strcpy(t.family_id, "fam-1");
  strcpy(t.account_id, a.id);
  strcpy(t.profile_id, p.id);
  t.created_at = T0;
  t.expires_at = T0 + 3600;
  t.used_at = 99; /* ignored on insert */
  ck_assert_int_eq(stream_store_refresh_insert(s, &t), STREAM_OK);
  expect_err(stream_store_refresh_insert(s, &t), STREAM_EEXIST);
  stream_store_refresh got;
  ck_assert_int_eq(stream_store_refresh_get(&got, s, t.token_hash), STREAM_OK);
  ck_assert_str_eq(got.family_id, "fam-1");
  ck_assert_str_eq(got.profile_id, p.id);
  ck_assert_int_eq(got.used_at, 0);
  ck_assert_int_eq(got.revoked_at, 0);
  ck_assert_int_eq(got.expires_at, T0 + 3600);

  /* Exactly one of eight concurrent rotations wins. */
  int rcs[RACERS];
  run_race(s, t.token_hash, mark_used_racer, rcs);
  ck_assert_int_eq(count_rc(rcs, STREAM_OK), 1);
  ck_assert_int_eq(count_rc(rcs, STREAM_ECONFLICT), RACERS - 1);
  expect_err(stream_store_refresh_mark_used(s, t.token_hash, T0 + 999), STREAM_ECONFLICT);
  ck_assert_int_eq(stream_store_refresh_get(&got, s, t.token_hash), STREAM_OK);
  ck_assert_int_ge(got.used_at, T0 + 100);
  ck_assert_int_lt(got.used_at, T0 + 100 + RACERS);
  char h[STREAM_STORE_TOKEN_HASH_LEN + 1];
  hash_of(h, "rt-missing");
  expect_err(stream_store_refresh_mark_used(s, h, T0), STREAM_ENOTFOUND);
  expect_err(stream_store_refresh_get(&got, s, h), STREAM_ENOTFOUND);

  /* A second token in the family (no profile), one in another family. */
  hash_of(t.token_hash, "rt-2");
  t.profile_id[0] = '\0';
  ck_assert_int_eq(stream_store_refresh_insert(s, &t), STREAM_OK);
  hash_of(t.token_hash, "rt-3");
  strcpy(t.family_id, "fam-2");
  ck_assert_int_eq(stream_store_refresh_insert(s, &t), STREAM_OK);
  ck_assert_int_eq(stream_store_refresh_get(&got, s, t.token_hash), STREAM_OK);
  ck_assert_str_eq(got.profile_id, "");
  size_t n = 99;
  ck_assert_int_eq(stream_store_refresh_revoke_family(&n, s, "fam-1", T0 + 500), STREAM_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert_int_eq(stream_store_refresh_revoke_family(&n, s, "fam-1", T0 + 600), STREAM_OK);
  ck_assert_uint_eq(n, 0);
  hash_of(h, "rt-1");
  ck_assert_int_eq(stream_store_refresh_get(&got, s, h), STREAM_OK);
  ck_assert_int_eq(got.revoked_at, T0 + 500);
  ck_assert_int_eq(stream_store_refresh_revoke_account(&n, s, a.id, T0 + 700), STREAM_OK);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(stream_store_refresh_revoke_account(NULL, s, a.id, T0 + 800), STREAM_OK);

  /* By profile: only the live tokens bound to it (rt-1 is already revoked). */
  hash_of(t.token_hash, "rt-5");
  strcpy(t.family_id, "fam-3");
  strcpy(t.profile_id, p.id);
  ck_assert_int_eq(stream_store_refresh_insert(s, &t), STREAM_OK);
  hash_of(t.token_hash, "rt-6");
  strcpy(t.family_id, "fam-4");
  t.profile_id[0] = '\0';
  ck_assert_int_eq(stream_store_refresh_insert(s, &t), STREAM_OK);
  ck_assert_int_eq(stream_store_refresh_revoke_profile(&n, s, p.id, T0 + 900), STREAM_OK);
  ck_assert_uint_eq(n, 1);
  ck_assert_int_eq(stream_store_refresh_get(&got, s, t.token_hash), STREAM_OK);
  ck_assert_int_eq(got.revoked_at, 0);
  hash_of(h, "rt-5");
  ck_assert_int_eq(stream_store_refresh_get(&got, s, h), STREAM_OK);
  ck_assert_int_eq(got.revoked_at, T0 + 900);
  ck_assert_int_eq(stream_store_refresh_revoke_profile(NULL, s, p.id, T0 + 950), STREAM_OK);
  expect_err(stream_store_refresh_revoke_profile(&n, s, "", T0 + 950), STREAM_EINVAL);

  /* Unknown account: foreign key. */
  hash_of(t.token_hash, "rt-4");
  strcpy(t.account_id, "ghost");
  expect_err(stream_store_refresh_insert(s, &t), STREAM_ENOTFOUND);
}

/* ---- device authorizations --------------------------------------------------- */

static void fill_device(stream_store_device *d, const char *label, const char *user_code,
                        int64_t created)
{
  memset(d, 0, sizeof *d);
  hash_of(d->device_code_hash, label);
  strcpy(d->user_code, user_code);
  strcpy(d->client_id, "tv-app");
  strcpy(d->scope, "openid profile");
  d->interval = 5;
  d->created_at = created;
  d->expires_at = created + 600;
}

static int consume_racer(stream_store *s, void *arg, int i)
{
  (void)i;
  return stream_store_device_consume(NULL, s, arg, T0 + 50);
}

typedef struct decide_arg {
  const char *code;
  const char *account_id;
} decide_arg;

static int decide_racer(stream_store *s, void *arg, int i)
{
  decide_arg *d = arg;
  if (i % 2)
    return stream_store_device_deny(s, d->code, T0 + 10);
  return stream_store_device_approve(s, d->code, d->account_id, NULL, T0 + 10);
}

static void case_device_flow(stream_store *s)
{
  stream_store_account a = mk_account(s, "tv@device.test");
  stream_store_account b = mk_account(s, "other@device.test");
  stream_store_profile p = mk_profile(s, a.id, "Living room");
  stream_store_profile pb = mk_profile(s, b.id, "Elsewhere");
  stream_store_device d, got;
  fill_device(&d, "dev-1", "WDJB-MJHT", T0);
  ck_assert_int_eq(stream_store_device_insert(s, &d), STREAM_OK);
  expect_err(stream_store_device_insert(s, &d), STREAM_EEXIST);
  /* The user code is held by a live pending row. */
  stream_store_device d2;
  fill_device(&d2, "dev-2", "WDJB-MJHT", T0 + 1);
  expect_err(stream_store_device_insert(s, &d2), STREAM_EEXIST);

  ck_assert_int_eq(stream_store_device_get(&got, s, d.device_code_hash), STREAM_OK);
  ck_assert_int_eq(got.status, STREAM_STORE_DEVICE_PENDING);
  ck_assert_str_eq(got.scope, "openid profile");
  ck_assert_str_eq(got.client_id, "tv-app");
  ck_assert_int_eq(got.interval, 5);
  ck_assert_str_eq(got.account_id, "");
  ck_assert_int_eq(stream_store_device_get_by_user_code(&got, s, "WDJB-MJHT"), STREAM_OK);
  ck_assert_str_eq(got.device_code_hash, d.device_code_hash);

  int64_t prev = -1;
  ck_assert_int_eq(stream_store_device_record_poll(&prev, s, d.device_code_hash, 0, T0 + 5),
                   STREAM_OK);
  ck_assert_int_eq(prev, 0);
  ck_assert_int_eq(stream_store_device_record_poll(&prev, s, d.device_code_hash, 10, T0 + 7),
                   STREAM_OK);
  ck_assert_int_eq(prev, T0 + 5);
  ck_assert_int_eq(stream_store_device_get(&got, s, d.device_code_hash), STREAM_OK);
  ck_assert_int_eq(got.interval, 10);
  ck_assert_int_eq(got.last_poll_at, T0 + 7);

  /* Not approved yet. */
  expect_err(stream_store_device_consume(&got, s, d.device_code_hash, T0 + 8), STREAM_ECONFLICT);
  /* A profile of another account is refused. */
  expect_err(stream_store_device_approve(s, "WDJB-MJHT", a.id, pb.id, T0 + 9), STREAM_ENOTFOUND);
  expect_err(stream_store_device_approve(s, "NOPE-NOPE", a.id, NULL, T0 + 9), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_store_device_approve(s, "WDJB-MJHT", a.id, p.id, T0 + 9), STREAM_OK);
  expect_err(stream_store_device_approve(s, "WDJB-MJHT", a.id, p.id, T0 + 9), STREAM_ECONFLICT);
  expect_err(stream_store_device_deny(s, "WDJB-MJHT", T0 + 9), STREAM_ECONFLICT);

  /* Eight pollers race to consume: exactly one gets the grant. */
  int rcs[RACERS];
  run_race(s, d.device_code_hash, consume_racer, rcs);
  ck_assert_int_eq(count_rc(rcs, STREAM_OK), 1);
  ck_assert_int_eq(count_rc(rcs, STREAM_ECONFLICT), RACERS - 1);
  ck_assert_int_eq(stream_store_device_get(&got, s, d.device_code_hash), STREAM_OK);
  ck_assert_int_eq(got.status, STREAM_STORE_DEVICE_CONSUMED);
  ck_assert_str_eq(got.account_id, a.id);
  ck_assert_str_eq(got.profile_id, p.id);

  /* Consume returns the approved row. */
  fill_device(&d2, "dev-3", "AAAA-BBBB", T0);
  ck_assert_int_eq(stream_store_device_insert(s, &d2), STREAM_OK);
  ck_assert_int_eq(stream_store_device_approve(s, "AAAA-BBBB", b.id, "", T0 + 1), STREAM_OK);
  ck_assert_int_eq(stream_store_device_consume(&got, s, d2.device_code_hash, T0 + 2), STREAM_OK);
  ck_assert_str_eq(got.account_id, b.id);
  ck_assert_str_eq(got.profile_id, "");
  ck_assert_int_eq(got.status, STREAM_STORE_DEVICE_CONSUMED);

  /* Expiry: approve and consume after expires_at fail with EEXPIRED. */
  fill_device(&d2, "dev-4", "CCCC-DDDD", T0);
  ck_assert_int_eq(stream_store_device_insert(s, &d2), STREAM_OK);
  expect_err(stream_store_device_approve(s, "CCCC-DDDD", a.id, NULL, T0 + 600), STREAM_EEXPIRED);
  fill_device(&d2, "dev-5", "EEEE-FFFF", T0);
  ck_assert_int_eq(stream_store_device_insert(s, &d2), STREAM_OK);
  ck_assert_int_eq(stream_store_device_approve(s, "EEEE-FFFF", a.id, NULL, T0 + 10), STREAM_OK);
  expect_err(stream_store_device_consume(NULL, s, d2.device_code_hash, T0 + 601), STREAM_EEXPIRED);

  /* An expired pending row frees its user code for a new authorization. */
  fill_device(&d2, "dev-6", "CCCC-DDDD", T0 + 700);
  ck_assert_int_eq(stream_store_device_insert(s, &d2), STREAM_OK);
  ck_assert_int_eq(stream_store_device_get_by_user_code(&got, s, "CCCC-DDDD"), STREAM_OK);
  ck_assert_str_eq(got.device_code_hash, d2.device_code_hash);
  hash_of(d2.device_code_hash, "dev-4");
  ck_assert_int_eq(stream_store_device_get(&got, s, d2.device_code_hash), STREAM_OK);
  ck_assert_int_eq(got.status, STREAM_STORE_DEVICE_EXPIRED);

  /* Approve and deny racing on one code: exactly one decision sticks. */
  fill_device(&d2, "dev-7", "GGGG-HHHH", T0);
  ck_assert_int_eq(stream_store_device_insert(s, &d2), STREAM_OK);
  decide_arg da = {"GGGG-HHHH", a.id};
  run_race(s, &da, decide_racer, rcs);
  ck_assert_int_eq(count_rc(rcs, STREAM_OK), 1);
  ck_assert_int_eq(count_rc(rcs, STREAM_ECONFLICT), RACERS - 1);

  hash_of(d2.device_code_hash, "dev-missing");
  expect_err(stream_store_device_get(&got, s, d2.device_code_hash), STREAM_ENOTFOUND);
  expect_err(stream_store_device_record_poll(&prev, s, d2.device_code_hash, 0, T0),
             STREAM_ENOTFOUND);
  expect_err(stream_store_device_consume(NULL, s, d2.device_code_hash, T0), STREAM_ENOTFOUND);
}

/* stream_store_device_approve_profile(): the approved profile's PIN digest goes with the
 * approval (migration 19) and comes back with every read of the row; without one it reads "";
 * it outlives the profile's deletion (the row's profile id is cleared) and goes with the row. */
static void case_device_pin_digest(stream_store *s)
{
  stream_store_account a = mk_account(s, "tv@pin-digest.test");
  stream_store_profile p = mk_profile(s, a.id, "Locked den");
  char digest[STREAM_STORE_TOKEN_HASH_LEN + 1];
  hash_of(digest, "pin state of Locked den");
  stream_store_device d, got;
  fill_device(&d, "pin-dev-1", "PINS-0001", T0);
  ck_assert_int_eq(stream_store_device_insert(s, &d), STREAM_OK);
  ck_assert_int_eq(stream_store_device_get(&got, s, d.device_code_hash), STREAM_OK);
  ck_assert_str_eq(got.profile_pin_digest, "");

  /* Refused before anything is written. */
  char upper[STREAM_STORE_TOKEN_HASH_LEN + 1];
  memcpy(upper, digest, sizeof upper);
  upper[0] = 'A';
  expect_err(stream_store_device_approve_profile(s, "PINS-0001", a.id, p.id, upper, T0 + 1),
             STREAM_EINVAL);
  expect_err(stream_store_device_approve_profile(s, "PINS-0001", a.id, p.id, "abc", T0 + 1),
             STREAM_EINVAL);
  expect_err(stream_store_device_approve_profile(s, "PINS-0001", a.id, NULL, digest, T0 + 1),
             STREAM_EINVAL);
  expect_err(stream_store_device_approve_profile(s, "PINS-0001", a.id, "", digest, T0 + 1),
             STREAM_EINVAL);
  ck_assert_int_eq(stream_store_device_get(&got, s, d.device_code_hash), STREAM_OK);
  ck_assert_int_eq(got.status, STREAM_STORE_DEVICE_PENDING);

  ck_assert_int_eq(stream_store_device_approve_profile(s, "PINS-0001", a.id, p.id, digest, T0 + 1),
                   STREAM_OK);
  ck_assert_int_eq(stream_store_device_get(&got, s, d.device_code_hash), STREAM_OK);
  ck_assert_str_eq(got.profile_pin_digest, digest);
  ck_assert_int_eq(stream_store_device_get_by_user_code(&got, s, "PINS-0001"), STREAM_OK);
  ck_assert_str_eq(got.profile_pin_digest, digest);
  /* A second decision changes nothing. */
  char other[STREAM_STORE_TOKEN_HASH_LEN + 1];
  hash_of(other, "another pin state");
  expect_err(stream_store_device_approve_profile(s, "PINS-0001", a.id, p.id, other, T0 + 2),
             STREAM_ECONFLICT);
  ck_assert_int_eq(stream_store_device_consume(&got, s, d.device_code_hash, T0 + 3), STREAM_OK);
  ck_assert_str_eq(got.profile_id, p.id);
  ck_assert_str_eq(got.profile_pin_digest, digest);

  /* Without a digest (NULL or ""), or without a profile: none. */
  stream_store_device d2;
  fill_device(&d2, "pin-dev-2", "PINS-0002", T0);
  ck_assert_int_eq(stream_store_device_insert(s, &d2), STREAM_OK);
  ck_assert_int_eq(stream_store_device_approve_profile(s, "PINS-0002", a.id, p.id, "", T0 + 1),
                   STREAM_OK);
  ck_assert_int_eq(stream_store_device_get(&got, s, d2.device_code_hash), STREAM_OK);
  ck_assert_str_eq(got.profile_id, p.id);
  /* A profile approval given no digest records the "unchecked" one: the row must still read
   * as a profile approval once the profile's deletion clears its id. */
  ck_assert_str_eq(got.profile_pin_digest, STREAM_STORE_DEVICE_PIN_UNCHECKED);
  ck_assert_int_eq(stream_store_profile_delete(s, p.id), STREAM_OK);
  ck_assert_int_eq(stream_store_device_get(&got, s, d2.device_code_hash), STREAM_OK);
  ck_assert_str_eq(got.profile_id, "");
  ck_assert_str_eq(got.profile_pin_digest, STREAM_STORE_DEVICE_PIN_UNCHECKED);
  p = mk_profile(s, a.id, "Locked den again");
  fill_device(&d2, "pin-dev-3", "PINS-0003", T0);
  ck_assert_int_eq(stream_store_device_insert(s, &d2), STREAM_OK);
  ck_assert_int_eq(stream_store_device_approve_profile(s, "PINS-0003", a.id, NULL, NULL, T0 + 1),
                   STREAM_OK);
  ck_assert_int_eq(stream_store_device_get(&got, s, d2.device_code_hash), STREAM_OK);
  ck_assert_str_eq(got.profile_pin_digest, "");
  /* An expired code records nothing. */
  fill_device(&d2, "pin-dev-4", "PINS-0004", T0);
  ck_assert_int_eq(stream_store_device_insert(s, &d2), STREAM_OK);
  expect_err(stream_store_device_approve_profile(s, "PINS-0004", a.id, p.id, digest, T0 + 600),
             STREAM_EEXPIRED);
  ck_assert_int_eq(stream_store_device_get(&got, s, d2.device_code_hash), STREAM_OK);
  ck_assert_str_eq(got.profile_pin_digest, "");

  /* The profile deleted: the row keeps its digest, its profile id is cleared. */
  fill_device(&d2, "pin-dev-5", "PINS-0005", T0);
  ck_assert_int_eq(stream_store_device_insert(s, &d2), STREAM_OK);
  ck_assert_int_eq(stream_store_device_approve_profile(s, "PINS-0005", a.id, p.id, digest, T0 + 1),
                   STREAM_OK);
  ck_assert_int_eq(stream_store_profile_delete(s, p.id), STREAM_OK);
  ck_assert_int_eq(stream_store_device_get(&got, s, d2.device_code_hash), STREAM_OK);
  ck_assert_str_eq(got.profile_id, "");
  ck_assert_str_eq(got.profile_pin_digest, digest);

  /* The digest goes with its row: after the account's close deleted the rows, the same device
   * code hash stored again reads without one. */
  ck_assert_int_eq(stream_store_account_close(NULL, s, a.id, T0 + 5), STREAM_OK);
  expect_err(stream_store_device_get(&got, s, d2.device_code_hash), STREAM_ENOTFOUND);
  stream_store_account b = mk_account(s, "tv2@pin-digest.test");
  fill_device(&d2, "pin-dev-5", "PINS-0006", T0 + 10);
  ck_assert_int_eq(stream_store_device_insert(s, &d2), STREAM_OK);
  ck_assert_int_eq(stream_store_device_approve(s, "PINS-0006", b.id, NULL, T0 + 11), STREAM_OK);
  ck_assert_int_eq(stream_store_device_get(&got, s, d2.device_code_hash), STREAM_OK);
  ck_assert_str_eq(got.profile_pin_digest, "");
}

/* ---- catalog ------------------------------------------------------------------ */

static void case_catalog_crud(stream_store *s)
{
  char *genres[] = {"Drama", "Comedy", "Drama"};
  char *regions[] = {"US", "GB"};
  stream_store_title t;
  memset(&t, 0, sizeof t);
  t.kind = STREAM_STORE_TITLE_SERIES;
  t.name = "The Crud Show";
  t.synopsis = "A show about tables.";
  t.year = 2020;
  t.runtime = 45;
  t.maturity_rating = 12;
  t.genres = genres;
  t.genre_count = 3;
  t.regions = regions;
  t.region_count = 2;
  t.credits_json = "{\"cast\":[\"A\"]}";
  t.artwork_json = "{\"poster\":\"https://img.test/p.jpg\"}";
  t.available_from = T0 - 10;
  t.available_until = T0 + 10;
  char id[STREAM_STORE_ID_SIZE];
  ck_assert_int_eq(stream_store_title_create(id, s, &t, T0), STREAM_OK);
  strcpy(t.id, id);
  expect_err(stream_store_title_create(NULL, s, &t, T0), STREAM_EEXIST);

  stream_store_title got;
  ck_assert_int_eq(stream_store_title_get(&got, s, id), STREAM_OK);
  ck_assert_str_eq(got.name, "The Crud Show");
  ck_assert_str_eq(got.synopsis, "A show about tables.");
  ck_assert_int_eq(got.kind, STREAM_STORE_TITLE_SERIES);
  ck_assert_int_eq(got.year, 2020);
  ck_assert_int_eq(got.runtime, 45);
  ck_assert_int_eq(got.maturity_rating, 12);
  ck_assert_uint_eq(got.genre_count, 2);
  ck_assert_str_eq(got.genres[0], "Comedy");
  ck_assert_str_eq(got.genres[1], "Drama");
  ck_assert_uint_eq(got.region_count, 2);
  ck_assert_str_eq(got.regions[0], "GB");
  ck_assert_str_eq(got.regions[1], "US");
  ck_assert_str_eq(got.credits_json, "{\"cast\":[\"A\"]}");
  ck_assert_str_eq(got.artwork_json, "{\"poster\":\"https://img.test/p.jpg\"}");
  ck_assert_int_eq(got.available_from, T0 - 10);
  ck_assert_int_eq(got.available_until, T0 + 10);
  ck_assert_int_eq(got.created_at, T0);
  ck_assert_int_eq(got.updated_at, T0);
  stream_store_title_clear(&got);
  stream_store_title_clear(NULL);

  char s1[STREAM_STORE_ID_SIZE], s2[STREAM_STORE_ID_SIZE], e1[STREAM_STORE_ID_SIZE];
  ck_assert_int_eq(stream_store_season_create(s2, s, id, 2), STREAM_OK);
  ck_assert_int_eq(stream_store_season_create(s1, s, id, 1), STREAM_OK);
  expect_err(stream_store_season_create(NULL, s, id, 1), STREAM_EEXIST);
  expect_err(stream_store_season_create(NULL, s, "no-title", 1), STREAM_ENOTFOUND);
  stream_store_episode ep;
  memset(&ep, 0, sizeof ep);
  strcpy(ep.season_id, s1);
  ep.number = 2;
  ep.name = "Second";
  ep.runtime = 44;
  ck_assert_int_eq(stream_store_episode_create(NULL, s, &ep), STREAM_OK);
  ep.number = 1;
  ep.name = "Pilot";
  ep.synopsis = "It begins.";
  ck_assert_int_eq(stream_store_episode_create(e1, s, &ep), STREAM_OK);
  expect_err(stream_store_episode_create(NULL, s, &ep), STREAM_EEXIST);
  strcpy(ep.season_id, "no-season");
  ep.number = 3;
  expect_err(stream_store_episode_create(NULL, s, &ep), STREAM_ENOTFOUND);

  stream_store_title_detail det;
  ck_assert_int_eq(stream_store_title_get_detail(&det, s, id), STREAM_OK);
  ck_assert_str_eq(det.title.name, "The Crud Show");
  ck_assert_uint_eq(det.season_count, 2);
  ck_assert_int_eq(det.seasons[0].number, 1);
  ck_assert_str_eq(det.seasons[0].id, s1);
  ck_assert_int_eq(det.seasons[1].number, 2);
  ck_assert_uint_eq(det.seasons[1].episode_count, 0);
  ck_assert_uint_eq(det.seasons[0].episode_count, 2);
  ck_assert_str_eq(det.seasons[0].episodes[0].name, "Pilot");
  ck_assert_str_eq(det.seasons[0].episodes[0].id, e1);
  ck_assert_str_eq(det.seasons[0].episodes[0].synopsis, "It begins.");
  ck_assert_ptr_null(det.seasons[0].episodes[1].synopsis);
  ck_assert_int_eq(det.seasons[0].episodes[1].runtime, 44);
  stream_store_title_detail_clear(&det);

  memset(&ep, 0, sizeof ep);
  strcpy(ep.id, e1);
  ep.number = 1;
  ep.name = "Pilot (director's cut)";
  ck_assert_int_eq(stream_store_episode_update(s, &ep), STREAM_OK);
  ep.number = 2;
  expect_err(stream_store_episode_update(s, &ep), STREAM_EEXIST);
  ck_assert_int_eq(stream_store_season_delete(s, s2), STREAM_OK);
  expect_err(stream_store_season_delete(s, s2), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_store_title_get_detail(&det, s, id), STREAM_OK);
  ck_assert_uint_eq(det.season_count, 1);
  ck_assert_str_eq(det.seasons[0].episodes[0].name, "Pilot (director's cut)");
  stream_store_title_detail_clear(&det);

  /* Update replaces genres and regions and bumps updated_at only. */
  char *g2[] = {"Thriller"};
  t.name = "The Crud Show Returns";
  t.genres = g2;
  t.genre_count = 1;
  t.region_count = 0;
  t.synopsis = NULL;
  ck_assert_int_eq(stream_store_title_update(s, &t, T0 + 50), STREAM_OK);
  ck_assert_int_eq(stream_store_title_get(&got, s, id), STREAM_OK);
  ck_assert_str_eq(got.name, "The Crud Show Returns");
  ck_assert_ptr_null(got.synopsis);
  ck_assert_uint_eq(got.genre_count, 1);
  ck_assert_str_eq(got.genres[0], "Thriller");
  ck_assert_uint_eq(got.region_count, 0);
  ck_assert_int_eq(got.created_at, T0);
  ck_assert_int_eq(got.updated_at, T0 + 50);
  stream_store_title_clear(&got);

  char **gl = NULL;
  size_t gn = 0;
  ck_assert_int_eq(stream_store_genre_list(&gl, &gn, s), STREAM_OK);
  bool thriller = false;
  for (size_t i = 0; i < gn; i++) {
    thriller |= strcmp(gl[i], "Thriller") == 0;
    ck_assert_str_ne(gl[i], "Comedy"); /* no title uses it any more */
    if (i)
      ck_assert(strcmp(gl[i - 1], gl[i]) < 0);
  }
  ck_assert(thriller);
  stream_store_strings_free(gl, gn);

  /* Seasons only on series. */
  char movie[STREAM_STORE_ID_SIZE];
  mk_title(movie, s, "Crud: The Movie", NULL, NULL, 0, T0);
  expect_err(stream_store_season_create(NULL, s, movie, 1), STREAM_EINVAL);

  ck_assert_int_eq(stream_store_title_delete(s, id), STREAM_OK);
  expect_err(stream_store_title_get(&got, s, id), STREAM_ENOTFOUND);
  expect_err(stream_store_title_get_detail(&det, s, id), STREAM_ENOTFOUND);
  expect_err(stream_store_title_delete(s, id), STREAM_ENOTFOUND);
  /* Seasons and episodes went with the title. */
  expect_err(stream_store_season_delete(s, s1), STREAM_ENOTFOUND);
  expect_err(stream_store_episode_delete(s, e1), STREAM_ENOTFOUND);
  strcpy(t.id, "missing-title");
  expect_err(stream_store_title_update(s, &t, T0), STREAM_ENOTFOUND);
}

static void case_fk_cascade(stream_store *s)
{
  stream_store_account a = mk_account(s, "fk@cascade.test");
  stream_store_profile p = mk_profile(s, a.id, "Casc");
  char t1[STREAM_STORE_ID_SIZE], t2[STREAM_STORE_ID_SIZE];
  mk_title(t1, s, "Cascade One", NULL, NULL, 0, T0);
  mk_title(t2, s, "Cascade Two", NULL, NULL, 0, T0);
  stream_store_progress pg;
  memset(&pg, 0, sizeof pg);
  strcpy(pg.profile_id, p.id);
  strcpy(pg.title_id, t1);
  pg.position_ms = 10;
  pg.duration_ms = 100;
  ck_assert_int_eq(stream_store_progress_upsert(s, &pg, T0), STREAM_OK);
  strcpy(pg.title_id, t2);
  ck_assert_int_eq(stream_store_progress_upsert(s, &pg, T0), STREAM_OK);
  ck_assert_int_eq(stream_store_mylist_add(s, p.id, t1, T0), STREAM_OK);
  ck_assert_int_eq(stream_store_mylist_add(s, p.id, t2, T0), STREAM_OK);
  stream_store_refresh rt;
  memset(&rt, 0, sizeof rt);
  hash_of(rt.token_hash, "fk-rt");
  strcpy(rt.family_id, "fk-fam");
  strcpy(rt.account_id, a.id);
  strcpy(rt.profile_id, p.id);
  rt.created_at = T0;
  rt.expires_at = T0 + 1;
  ck_assert_int_eq(stream_store_refresh_insert(s, &rt), STREAM_OK);

  /* Deleting a title removes its progress and list entries. */
  ck_assert_int_eq(stream_store_title_delete(s, t1), STREAM_OK);
  expect_err(stream_store_progress_get(&pg, s, p.id, t1, NULL), STREAM_ENOTFOUND);
  stream_store_mylist_item *items = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_store_mylist_list(&items, &n, s, p.id), STREAM_OK);
  ck_assert_uint_eq(n, 1);
  ck_assert_str_eq(items[0].title_id, t2);
  stream_free(items);

  /* Deleting the profile removes the rest, tokens included. */
  ck_assert_int_eq(stream_store_profile_delete(s, p.id), STREAM_OK);
  expect_err(stream_store_progress_get(&pg, s, p.id, t2, ""), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_store_mylist_list(&items, &n, s, p.id), STREAM_OK);
  ck_assert_uint_eq(n, 0);
  expect_err(stream_store_refresh_get(&rt, s, rt.token_hash), STREAM_ENOTFOUND);

  /* References to missing rows are refused. */
  expect_err(stream_store_mylist_add(s, p.id, t2, T0), STREAM_ENOTFOUND);
  strcpy(pg.profile_id, p.id);
  expect_err(stream_store_progress_upsert(s, &pg, T0), STREAM_ENOTFOUND);
}

/* Fetch pages of `q` until the end, inserting rows through `between` after
 * the first page; record every id seen. */
typedef void (*between_fn)(stream_store *s, int page);

static size_t walk_pages(stream_store *s, stream_store_title_query q, between_fn between,
                         char ids[][STREAM_STORE_ID_SIZE], size_t cap)
{
  size_t n = 0;
  char *cursor = NULL;
  for (int page = 0;; page++) {
    stream_store_title_page pg;
    q.cursor = cursor;
    ck_assert_int_eq(stream_store_title_list(&pg, s, &q), STREAM_OK);
    ck_assert_uint_le(pg.count, q.limit);
    for (size_t i = 0; i < pg.count; i++) {
      ck_assert_uint_lt(n, cap);
      strcpy(ids[n++], pg.items[i].id);
    }
    free(cursor);
    cursor = pg.next_cursor ? strdup(pg.next_cursor) : NULL;
    stream_store_title_page_clear(&pg);
    if (!cursor)
      break;
    if (between)
      between(s, page);
    ck_assert_int_lt(page, 100);
  }
  return n;
}

static void insert_interleaved(stream_store *s, int page)
{
  char name[64], id[STREAM_STORE_ID_SIZE];
  /* Before, inside and after the current position, newer and older. */
  const char *prefixes[] = {"Keyset 000", "Keyset 010a", "Keyset 013a", "Keyset 999", "Keyset 0"};
  for (int i = 0; i < 5; i++) {
    snprintf(name, sizeof name, "%s p%d", prefixes[i], page);
    mk_title(id, s, name, NULL, "keyset-genre", 0, i % 2 ? T0 + 5000 + page : T0 - 5000 - page);
  }
}

static bool contains(char ids[][STREAM_STORE_ID_SIZE], size_t n, const char *id)
{
  for (size_t i = 0; i < n; i++)
    if (strcmp(ids[i], id) == 0)
      return true;
  return false;
}

static void case_keyset_pagination(stream_store *s)
{
  enum { N = 25 };
  static char orig[N][STREAM_STORE_ID_SIZE];
  static char seen[400][STREAM_STORE_ID_SIZE];
  for (int i = 0; i < N; i++) {
    char name[32];
    snprintf(name, sizeof name, "Keyset %03d", i);
    /* Equal created_at for pairs: ties are broken by id. */
    mk_title(orig[i], s, name, NULL, "keyset-genre", 0, T0 + i / 2);
  }
  /* Another genre must not show up. */
  char other[STREAM_STORE_ID_SIZE];
  mk_title(other, s, "Keyset 005 elsewhere", NULL, "other-genre", 0, T0);

  /* Without concurrent inserts: exactly the rows, in order. */
  for (int sort = STREAM_STORE_SORT_NAME; sort <= STREAM_STORE_SORT_NEWEST; sort++) {
    stream_store_title_query q = query("keyset-genre", sort, 7);
    size_t n = walk_pages(s, q, NULL, seen, 400);
    ck_assert_uint_eq(n, N);
    for (int i = 0; i < N; i++) {
      if (sort == STREAM_STORE_SORT_NAME)
        ck_assert_str_eq(seen[i], orig[i]);
      else
        ck_assert(contains(seen, n, orig[i]));
    }
    for (size_t i = 0; i < n; i++)
      for (size_t j = i + 1; j < n; j++)
        ck_assert_str_ne(seen[i], seen[j]);
  }
  /* With inserts between pages (before, at and after the cursor position):
   * no duplicates, and every pre-existing row exactly once. */
  for (int sort = STREAM_STORE_SORT_NAME; sort <= STREAM_STORE_SORT_NEWEST; sort++) {
    stream_store_title_query q = query("keyset-genre", sort, 7);
    size_t n = walk_pages(s, q, insert_interleaved, seen, 400);
    for (size_t i = 0; i < n; i++)
      for (size_t j = i + 1; j < n; j++)
        ck_assert_str_ne(seen[i], seen[j]);
    for (int i = 0; i < N; i++)
      ck_assert_msg(contains(seen, n, orig[i]), "row %d skipped (sort %d)", i, sort);
    ck_assert(!contains(seen, n, other));
  }

  /* Cursors are opaque and checked. */
  stream_store_title_query q = query("keyset-genre", STREAM_STORE_SORT_NAME, 3);
  stream_store_title_page pg;
  ck_assert_int_eq(stream_store_title_list(&pg, s, &q), STREAM_OK);
  ck_assert_ptr_nonnull(pg.next_cursor);
  char *cur = strdup(pg.next_cursor);
  stream_store_title_page_clear(&pg);
  q.sort = STREAM_STORE_SORT_NEWEST;
  q.cursor = cur;
  expect_err(stream_store_title_list(&pg, s, &q), STREAM_EINVAL);
  ck_assert_uint_eq(pg.count, 0);
  q.sort = STREAM_STORE_SORT_NAME;
  /* "", not base64, NUL bytes, "1:x", "0::x", "1:abc:-1", "1:abc:12x", "0:b d:x" */
  const char *bad[] = {"",       "!!!",         "AAAA",         "MTp4",
                       "MDo6eA", "MTphYmM6LTE", "MTphYmM6MTJ4", "MDpiIGQ6eA"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    q.cursor = bad[i];
    q.sort = (i == 5 || i == 6) ? STREAM_STORE_SORT_NEWEST : STREAM_STORE_SORT_NAME;
    expect_err(stream_store_title_list(&pg, s, &q), STREAM_EINVAL);
  }
  /* Flip each character of a real cursor: an error or a valid page, never a crash. */
  for (size_t i = 0; cur[i]; i++) {
    char *m = strdup(cur);
    m[i] = m[i] == 'A' ? 'B' : 'A';
    q.cursor = m;
    q.sort = STREAM_STORE_SORT_NAME;
    int rc = stream_store_title_list(&pg, s, &q);
    ck_assert(rc == STREAM_OK || rc == STREAM_EINVAL);
    stream_store_title_page_clear(&pg);
    free(m);
  }
  free(cur);
}

static void case_list_filters(stream_store *s)
{
  char *us[] = {"US"};
  stream_store_title t;
  char kid[STREAM_STORE_ID_SIZE], adult[STREAM_STORE_ID_SIZE], future[STREAM_STORE_ID_SIZE],
      ended[STREAM_STORE_ID_SIZE], usonly[STREAM_STORE_ID_SIZE], window[STREAM_STORE_ID_SIZE];
  mk_title(kid, s, "Filter kid", NULL, "filter-genre", 7, T0);
  mk_title(adult, s, "Filter adult", NULL, "filter-genre", 18, T0);
  memset(&t, 0, sizeof t);
  char *g[] = {"filter-genre"};
  t.genres = g;
  t.genre_count = 1;
  t.name = "Filter future";
  t.available_from = T0 + 100;
  ck_assert_int_eq(stream_store_title_create(future, s, &t, T0), STREAM_OK);
  t.name = "Filter ended";
  t.available_from = 0;
  t.available_until = T0;
  ck_assert_int_eq(stream_store_title_create(ended, s, &t, T0), STREAM_OK);
  t.name = "Filter window";
  t.available_from = T0 - 1;
  t.available_until = T0 + 1;
  ck_assert_int_eq(stream_store_title_create(window, s, &t, T0), STREAM_OK);
  t.name = "Filter US only";
  t.available_from = t.available_until = 0;
  t.regions = us;
  t.region_count = 1;
  ck_assert_int_eq(stream_store_title_create(usonly, s, &t, T0), STREAM_OK);

  stream_store_title_query q = query("filter-genre", STREAM_STORE_SORT_NAME, 100);
  q.now = T0;
  q.maturity_ceiling = 12;
  q.region = "FR";
  stream_store_title_page pg;
  ck_assert_int_eq(stream_store_title_list(&pg, s, &q), STREAM_OK);
  ck_assert_uint_eq(pg.count, 2); /* kid, window */
  ck_assert_str_eq(pg.items[0].id, kid);
  ck_assert_str_eq(pg.items[1].id, window);
  ck_assert_ptr_null(pg.next_cursor);
  stream_store_title_page_clear(&pg);
  q.region = "US";
  q.maturity_ceiling = 18;
  q.now = T0 + 100; /* future is on, window ended */
  ck_assert_int_eq(stream_store_title_list(&pg, s, &q), STREAM_OK);
  ck_assert_uint_eq(pg.count, 4); /* ASCII case folded: "adult" < "future" < "kid" < "US only" */
  ck_assert_str_eq(pg.items[0].id, adult);
  ck_assert_str_eq(pg.items[1].id, future);
  ck_assert_str_eq(pg.items[2].id, kid);
  ck_assert_str_eq(pg.items[3].id, usonly);
  ck_assert_uint_eq(pg.items[3].region_count, 1);
  stream_store_title_page_clear(&pg);
  stream_store_title_page_clear(NULL);
  q.genre = "no-such-genre";
  ck_assert_int_eq(stream_store_title_list(&pg, s, &q), STREAM_OK);
  ck_assert_uint_eq(pg.count, 0);
  ck_assert_ptr_null(pg.next_cursor);
  stream_store_title_page_clear(&pg);
}

/* Whether `name` is among the visible genres of `q`; and every genre listed
 * lists at least one title with the same filters (the point of the call). */
static bool visible_genre(stream_store *s, const stream_store_title_query *q, const char *name)
{
  char **gl = NULL;
  size_t gn = 0;
  ck_assert_int_eq(stream_store_genre_list_visible(&gl, &gn, s, q), STREAM_OK);
  bool found = false;
  for (size_t i = 0; i < gn; i++) {
    if (i)
      ck_assert(strcmp(gl[i - 1], gl[i]) < 0);
    found |= strcmp(gl[i], name) == 0;
    stream_store_title_query one = *q;
    one.genre = gl[i];
    one.limit = 1;
    stream_store_title_page pg;
    ck_assert_int_eq(stream_store_title_list(&pg, s, &one), STREAM_OK);
    ck_assert_msg(pg.count == 1, "visible genre %s lists no title", gl[i]);
    stream_store_title_page_clear(&pg);
  }
  stream_store_strings_free(gl, gn);
  return found;
}

static void case_genres_visible(stream_store *s)
{
  char *us[] = {"US"};
  char id[STREAM_STORE_ID_SIZE];
  mk_title(id, s, "Gv kid", NULL, "gv-kid", 7, T0);
  mk_title(id, s, "Gv adult", NULL, "gv-adult", 18, T0);
  mk_title(id, s, "Gv adult too", NULL, "gv-kid", 18, T0);
  stream_store_title t;
  memset(&t, 0, sizeof t);
  char *g[] = {"gv-future"};
  t.genres = g;
  t.genre_count = 1;
  t.name = "Gv future";
  t.available_from = T0 + 100;
  ck_assert_int_eq(stream_store_title_create(id, s, &t, T0), STREAM_OK);
  g[0] = "gv-ended";
  t.name = "Gv ended";
  t.available_from = 0;
  t.available_until = T0;
  ck_assert_int_eq(stream_store_title_create(id, s, &t, T0), STREAM_OK);
  g[0] = "gv-us";
  t.name = "Gv US only";
  t.available_until = 0;
  t.regions = us;
  t.region_count = 1;
  ck_assert_int_eq(stream_store_title_create(id, s, &t, T0), STREAM_OK);

  /* The unfiltered list has them all. */
  char **gl = NULL;
  size_t gn = 0;
  ck_assert_int_eq(stream_store_genre_list(&gl, &gn, s), STREAM_OK);
  int all = 0;
  for (size_t i = 0; i < gn; i++)
    all += strncmp(gl[i], "gv-", 3) == 0;
  ck_assert_int_eq(all, 5);
  stream_store_strings_free(gl, gn);

  stream_store_title_query q = query(NULL, STREAM_STORE_SORT_NAME, 20);
  q.now = T0;
  q.maturity_ceiling = 7; /* a kids viewer */
  ck_assert(visible_genre(s, &q, "gv-kid"));
  ck_assert(!visible_genre(s, &q, "gv-adult"));
  ck_assert(!visible_genre(s, &q, "gv-future")); /* not yet */
  ck_assert(!visible_genre(s, &q, "gv-ended"));  /* until is exclusive */
  ck_assert(visible_genre(s, &q, "gv-us"));      /* no region filter */
  q.maturity_ceiling = 18;
  ck_assert(visible_genre(s, &q, "gv-adult"));
  q.region = "FR";
  ck_assert(!visible_genre(s, &q, "gv-us"));
  ck_assert(visible_genre(s, &q, "gv-kid"));
  q.region = "US";
  ck_assert(visible_genre(s, &q, "gv-us"));
  q.now = T0 + 100; /* the future title is on */
  ck_assert(visible_genre(s, &q, "gv-future"));
  q.now = T0 - 1; /* before the end of the ended one */
  ck_assert(visible_genre(s, &q, "gv-ended"));
  ck_assert(!visible_genre(s, &q, "gv-future"));

  /* Validated like a list query. */
  expect_err(stream_store_genre_list_visible(NULL, &gn, s, &q), STREAM_EINVAL);
  expect_err(stream_store_genre_list_visible(&gl, NULL, s, &q), STREAM_EINVAL);
  expect_err(stream_store_genre_list_visible(&gl, &gn, NULL, &q), STREAM_EINVAL);
  expect_err(stream_store_genre_list_visible(&gl, &gn, s, NULL), STREAM_EINVAL);
  q.maturity_ceiling = -1;
  expect_err(stream_store_genre_list_visible(&gl, &gn, s, &q), STREAM_EINVAL);
  ck_assert_ptr_null(gl);
  ck_assert_uint_eq(gn, 0);
  q.maturity_ceiling = 7;
  q.region = "fr";
  expect_err(stream_store_genre_list_visible(&gl, &gn, s, &q), STREAM_EINVAL);
}

/* ---- search ------------------------------------------------------------------ */

static void case_search(stream_store *s)
{
  char amelie[STREAM_STORE_ID_SIZE], sw[STREAM_STORE_ID_SIZE], sl[STREAM_STORE_ID_SIZE],
      quest[STREAM_STORE_ID_SIZE], mature[STREAM_STORE_ID_SIZE];
  mk_title(amelie, s, "Amélie", "Une jeune serveuse à Montmartre.", "search-genre", 12, T0);
  mk_title(quest, s, "Galaxy Quest", "An actor becomes a star of a real crew.", "search-genre", 7,
           T0);
  mk_title(sw, s, "Star Wars", "A farm boy joins a rebellion.", "search-genre", 12, T0);
  mk_title(sl, s, "Starlight", "Light from a distant sun.", "search-genre", 7, T0);
  mk_title(mature, s, "Starkly Adult", "Not for kids.", "search-genre", 18, T0);

  stream_store_title_query q = query(NULL, 0, 20);
  q.maturity_ceiling = 12;
  stream_store_title_page pg;
  const char *spellings[] = {"amelie", "AMELIE", "Amélie", "amél", "AMÉLIE"};
  for (size_t i = 0; i < 5; i++) {
    ck_assert_int_eq(stream_store_title_search(&pg, s, spellings[i], &q), STREAM_OK);
    ck_assert_msg(pg.count == 1, "%s: %zu hits", spellings[i], pg.count);
    ck_assert_str_eq(pg.items[0].id, amelie);
    ck_assert_str_eq(pg.items[0].name, "Amélie");
    ck_assert_ptr_null(pg.next_cursor);
    stream_store_title_page_clear(&pg);
  }
  /* Prefix: "star" finds both names (ranked first) and the synopsis hit
   * last; the mature title is filtered out by the ceiling. */
  ck_assert_int_eq(stream_store_title_search(&pg, s, "star", &q), STREAM_OK);
  ck_assert_uint_eq(pg.count, 3);
  ck_assert(strcmp(pg.items[0].id, sw) == 0 || strcmp(pg.items[0].id, sl) == 0);
  ck_assert(strcmp(pg.items[1].id, sw) == 0 || strcmp(pg.items[1].id, sl) == 0);
  ck_assert_str_ne(pg.items[0].id, pg.items[1].id);
  ck_assert_str_eq(pg.items[2].id, quest);
  stream_store_title_page_clear(&pg);
  q.maturity_ceiling = 18;
  ck_assert_int_eq(stream_store_title_search(&pg, s, "star", &q), STREAM_OK);
  ck_assert_uint_eq(pg.count, 4);
  stream_store_title_page_clear(&pg);
  /* Every word must match. */
  ck_assert_int_eq(stream_store_title_search(&pg, s, "star wars", &q), STREAM_OK);
  ck_assert_uint_eq(pg.count, 1);
  ck_assert_str_eq(pg.items[0].id, sw);
  stream_store_title_page_clear(&pg);
  ck_assert_int_eq(stream_store_title_search(&pg, s, "wars-star!", &q), STREAM_OK);
  ck_assert_uint_eq(pg.count, 1);
  stream_store_title_page_clear(&pg);
  q.limit = 1;
  ck_assert_int_eq(stream_store_title_search(&pg, s, "star", &q), STREAM_OK);
  ck_assert_uint_eq(pg.count, 1);
  stream_store_title_page_clear(&pg);
  /* Updates and deletes reach the index. */
  stream_store_title t;
  ck_assert_int_eq(stream_store_title_get(&t, s, sl), STREAM_OK);
  free(t.name);
  t.name = strdup("Moonlight");
  ck_assert_int_eq(stream_store_title_update(s, &t, T0 + 1), STREAM_OK);
  stream_store_title_clear(&t);
  q.limit = 20;
  ck_assert_int_eq(stream_store_title_search(&pg, s, "starl", &q), STREAM_OK);
  ck_assert_uint_eq(pg.count, 0);
  stream_store_title_page_clear(&pg);
  ck_assert_int_eq(stream_store_title_search(&pg, s, "moonli", &q), STREAM_OK);
  ck_assert_uint_eq(pg.count, 1);
  stream_store_title_page_clear(&pg);
  ck_assert_int_eq(stream_store_title_delete(s, sw), STREAM_OK);
  ck_assert_int_eq(stream_store_title_search(&pg, s, "wars", &q), STREAM_OK);
  ck_assert_uint_eq(pg.count, 0);
  stream_store_title_page_clear(&pg);
}

static void case_search_hostile(stream_store *s)
{
  char id[STREAM_STORE_ID_SIZE];
  mk_title(id, s, "Hostile Hero", "Quotes \" and stars * inside.", NULL, 0, T0);
  stream_store_title_query q = query(NULL, 0, 20);
  stream_store_title_page pg;
  const char *hostile[] = {
      "\"",
      "*",
      "AND",
      "OR",
      "NOT",
      "-",
      "NEAR(",
      "NEAR(a b, 2)",
      "name:hero",
      "^hostile",
      "hero\"*",
      "\"hero",
      "'); DROP TABLE titles; --",
      "(((",
      ")",
      "{name synopsis}: hero",
      "hero AND",
      "AND hero",
      "- hero",
      "hero -",
      "\"\"\"",
      "+",
      "",
      "   ",
      "\t\n",
      "%_",
      "\\",
      "hero*",
      "h\xc3",
      "\xff\xfe",
      "\xe2\x80\xa6",
      "NEAR(hero hostile)",
      "hostile NOT hero",
      "col:hero OR *",
      "?",
      "$1",
      "\x01\x02",
  };
  for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
    int rc = stream_store_title_search(&pg, s, hostile[i], &q);
    ck_assert_msg(rc == STREAM_OK, "search %zu failed: %s", i, stream_error_last()->message);
    stream_store_title_page_clear(&pg);
  }
  /* Words surrounded by syntax still find the title. */
  const char *wrapped[] = {"\"hero\"", "(hero",   "hero*)", "-hostile",
                           "^hero",    "hero\"*", "{hero}", "hostile:"};
  for (size_t i = 0; i < sizeof wrapped / sizeof wrapped[0]; i++) {
    ck_assert_int_eq(stream_store_title_search(&pg, s, wrapped[i], &q), STREAM_OK);
    ck_assert_msg(pg.count >= 1, "%s found nothing", wrapped[i]);
    stream_store_title_page_clear(&pg);
  }
  /* Random bytes. */
  unsigned int seed = 12345;
  for (int round = 0; round < 300; round++) {
    char buf[STREAM_STORE_SEARCH_MAX + 1];
    size_t n = (size_t)(rand_r(&seed) % STREAM_STORE_SEARCH_MAX);
    for (size_t i = 0; i < n; i++) {
      buf[i] = (char)(rand_r(&seed) % 255 + 1);
    }
    buf[n] = '\0';
    ck_assert_int_eq(stream_store_title_search(&pg, s, buf, &q), STREAM_OK);
    stream_store_title_page_clear(&pg);
  }
  /* Oversized text is refused. */
  char big[STREAM_STORE_SEARCH_MAX + 2];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  expect_err(stream_store_title_search(&pg, s, big, &q), STREAM_EINVAL);
  /* The table is intact. */
  stream_store_title t;
  ck_assert_int_eq(stream_store_title_get(&t, s, id), STREAM_OK);
  stream_store_title_clear(&t);
}

/* Words are runs of letters and digits in every backend: punctuation inside
 * a name (hyphen, slash, dot, apostrophe, markup) separates words and never
 * makes a token of its own kind (a host, a version number, a tag); case and
 * diacritics fold beyond ASCII too (final sigma included); a query word that
 * is punctuation only is no condition. */
static void case_search_tokens(stream_store *s)
{
  static const char *const names[] = {
      "Spider-Man",  "AC/DC Live", "9.5 Weeks", "www.example.com", "<b>Bold</b> Move",
      "L’amour fou", "Naïve Café", "ΤΙΤΛΟΣ",    "Привет Мир",      "v1.2.3 Release"};
  enum { N = sizeof names / sizeof names[0] };
  char ids[N][STREAM_STORE_ID_SIZE];
  for (int i = 0; i < N; i++)
    mk_title(ids[i], s, names[i], NULL, "tokens-genre", 0, T0);
  static const struct {
    const char *text;
    int title; /* index in names, -1: no hit */
  } want[] = {
      {"spider", 0},  {"MAN", 0},        {"spider-man", 0}, {"dc", 1},       {"ac/dc", 1},
      {"5", 2},       {"9.5", 2},        {"example", 3},    {"com", 3},      {"bold", 4},
      {"move", 4},    {"amour", 5},      {"l’am", 5},       {"l'amour", 5},  {"naive", 6},
      {"CAFE", 6},    {"café", 6},       {"τιτλος", 7},     {"мир", 8},      {"2", 9},
      {"release", 9}, {"spiderman", -1}, {"…", -1},         {"… spider", 0}, {"spider …", 0},
  };
  stream_store_title_query q = query("tokens-genre", 0, 20);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    stream_store_title_page pg;
    ck_assert_int_eq(stream_store_title_search(&pg, s, want[i].text, &q), STREAM_OK);
    if (want[i].title < 0) {
      ck_assert_msg(pg.count == 0, "%s: %zu hits, want none", want[i].text, pg.count);
    } else {
      ck_assert_msg(pg.count == 1, "%s: %zu hits, want 1", want[i].text, pg.count);
      ck_assert_str_eq(pg.items[0].id, ids[want[i].title]);
    }
    stream_store_title_page_clear(&pg);
  }
}

/* ---- progress and My List -------------------------------------------------------- */

static void put_progress(stream_store *s, const char *profile, const char *title,
                         const char *episode, int64_t pos, int64_t dur, int64_t now)
{
  stream_store_progress p;
  memset(&p, 0, sizeof p);
  strcpy(p.profile_id, profile);
  strcpy(p.title_id, title);
  if (episode)
    strcpy(p.episode_id, episode);
  p.position_ms = pos;
  p.duration_ms = dur;
  ck_assert_int_eq(stream_store_progress_upsert(s, &p, now), STREAM_OK);
}

static void case_continue_watching(stream_store *s)
{
  stream_store_account a = mk_account(s, "cw@viewing.test");
  stream_store_profile p = mk_profile(s, a.id, "Watcher");
  char half[STREAM_STORE_ID_SIZE], done[STREAM_STORE_ID_SIZE], edge[STREAM_STORE_ID_SIZE],
      almost[STREAM_STORE_ID_SIZE], series[STREAM_STORE_ID_SIZE], season[STREAM_STORE_ID_SIZE],
      ep1[STREAM_STORE_ID_SIZE], ep2[STREAM_STORE_ID_SIZE];
  mk_title(half, s, "CW half", NULL, NULL, 0, T0);
  mk_title(done, s, "CW done", NULL, NULL, 0, T0);
  mk_title(edge, s, "CW edge", NULL, NULL, 0, T0);
  mk_title(almost, s, "CW almost", NULL, NULL, 0, T0);
  stream_store_title t;
  memset(&t, 0, sizeof t);
  t.kind = STREAM_STORE_TITLE_SERIES;
  t.name = "CW series";
  ck_assert_int_eq(stream_store_title_create(series, s, &t, T0), STREAM_OK);
  ck_assert_int_eq(stream_store_season_create(season, s, series, 1), STREAM_OK);
  stream_store_episode e;
  memset(&e, 0, sizeof e);
  strcpy(e.season_id, season);
  e.number = 1;
  e.name = "One";
  ck_assert_int_eq(stream_store_episode_create(ep1, s, &e), STREAM_OK);
  e.number = 2;
  e.name = "Two";
  ck_assert_int_eq(stream_store_episode_create(ep2, s, &e), STREAM_OK);

  put_progress(s, p.id, half, NULL, 1000, 2000, T0 + 1);
  put_progress(s, p.id, done, NULL, 1960, 2000, T0 + 2);   /* 98 % */
  put_progress(s, p.id, edge, NULL, 1900, 2000, T0 + 3);   /* exactly 95 %: excluded */
  put_progress(s, p.id, almost, NULL, 1899, 2000, T0 + 4); /* 94.95 % */
  put_progress(s, p.id, series, ep1, 2000, 2000, T0 + 5);  /* finished episode 1 */
  put_progress(s, p.id, series, ep2, 100, 2000, T0 + 6);   /* then started episode 2 */
  /* Upsert replaces. */
  put_progress(s, p.id, half, NULL, 1200, 2000, T0 + 7);

  stream_store_progress got;
  ck_assert_int_eq(stream_store_progress_get(&got, s, p.id, half, NULL), STREAM_OK);
  ck_assert_int_eq(got.position_ms, 1200);
  ck_assert_int_eq(got.updated_at, T0 + 7);
  ck_assert_int_eq(stream_store_progress_get(&got, s, p.id, series, ep1), STREAM_OK);
  ck_assert_int_eq(got.position_ms, 2000);
  expect_err(stream_store_progress_get(&got, s, p.id, series, NULL), STREAM_ENOTFOUND);

  stream_store_progress *cw = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_store_continue_watching(&cw, &n, s, p.id, 10), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(cw[0].title_id, half);
  ck_assert_str_eq(cw[1].title_id, series);
  ck_assert_str_eq(cw[1].episode_id, ep2);
  ck_assert_str_eq(cw[2].title_id, almost);
  stream_free(cw);
  ck_assert_int_eq(stream_store_continue_watching(&cw, &n, s, p.id, 1), STREAM_OK);
  ck_assert_uint_eq(n, 1);
  stream_free(cw);
  /* Finishing the latest episode drops the series. */
  put_progress(s, p.id, series, ep2, 1950, 2000, T0 + 8);
  ck_assert_int_eq(stream_store_continue_watching(&cw, &n, s, p.id, 10), STREAM_OK);
  ck_assert_uint_eq(n, 2);
  stream_free(cw);

  /* An episode of another title is refused; deleting an episode drops its progress. */
  stream_store_progress bad;
  memset(&bad, 0, sizeof bad);
  strcpy(bad.profile_id, p.id);
  strcpy(bad.title_id, half);
  strcpy(bad.episode_id, ep1);
  bad.duration_ms = 1;
  expect_err(stream_store_progress_upsert(s, &bad, T0), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_store_episode_delete(s, ep1), STREAM_OK);
  expect_err(stream_store_progress_get(&got, s, p.id, series, ep1), STREAM_ENOTFOUND);
}

static void case_mylist(stream_store *s)
{
  stream_store_account a = mk_account(s, "ml@viewing.test");
  stream_store_profile p = mk_profile(s, a.id, "Lister");
  char t1[STREAM_STORE_ID_SIZE], t2[STREAM_STORE_ID_SIZE];
  mk_title(t1, s, "ML one", NULL, NULL, 0, T0);
  mk_title(t2, s, "ML two", NULL, NULL, 0, T0);
  ck_assert_int_eq(stream_store_mylist_add(s, p.id, t1, T0 + 1), STREAM_OK);
  ck_assert_int_eq(stream_store_mylist_add(s, p.id, t1, T0 + 9), STREAM_OK);
  ck_assert_int_eq(stream_store_mylist_add(s, p.id, t2, T0 + 2), STREAM_OK);
  stream_store_mylist_item *items = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_store_mylist_list(&items, &n, s, p.id), STREAM_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(items[0].title_id, t2);
  ck_assert_str_eq(items[1].title_id, t1);
  ck_assert_int_eq(items[1].added_at, T0 + 1); /* the first add is kept */
  stream_free(items);
  ck_assert_int_eq(stream_store_mylist_remove(s, p.id, t2), STREAM_OK);
  ck_assert_int_eq(stream_store_mylist_remove(s, p.id, t2), STREAM_OK);
  ck_assert_int_eq(stream_store_mylist_list(&items, &n, s, p.id), STREAM_OK);
  ck_assert_uint_eq(n, 1);
  stream_free(items);
  expect_err(stream_store_mylist_add(s, p.id, "no-such-title", T0), STREAM_ENOTFOUND);
  expect_err(stream_store_mylist_add(s, "no-such-profile", t1, T0), STREAM_ENOTFOUND);
}

/* A movie with a caller-chosen id, so that a tie broken by id instead of by
 * write order would show (ids sort opposite to the write order below). */
static void mk_title_id(stream_store *s, const char *id, const char *name)
{
  stream_store_title t;
  memset(&t, 0, sizeof t);
  strcpy(t.id, id);
  t.kind = STREAM_STORE_TITLE_MOVIE;
  t.name = (char *)name;
  char got[STREAM_STORE_ID_SIZE];
  ck_assert_int_eq(stream_store_title_create(got, s, &t, T0), STREAM_OK);
  ck_assert_str_eq(got, id);
}

/* Timestamps are whole seconds: writes within one second must still come back
 * latest first, deterministically. */
static void case_recency_same_second(stream_store *s)
{
  stream_store_account a = mk_account(s, "tie@viewing.test");
  stream_store_profile p = mk_profile(s, a.id, "Tied");
  mk_title_id(s, "tie-a", "Tie A");
  mk_title_id(s, "tie-b", "Tie B");
  mk_title_id(s, "tie-c", "Tie C");
  const int64_t now = T0 + 100;

  /* Written a, b, c in one second: c (the last written) first. */
  put_progress(s, p.id, "tie-a", NULL, 10, 2000, now);
  put_progress(s, p.id, "tie-b", NULL, 10, 2000, now);
  put_progress(s, p.id, "tie-c", NULL, 10, 2000, now);
  stream_store_progress *cw = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_store_continue_watching(&cw, &n, s, p.id, 10), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(cw[0].title_id, "tie-c");
  ck_assert_str_eq(cw[1].title_id, "tie-b");
  ck_assert_str_eq(cw[2].title_id, "tie-a");
  stream_free(cw);
  /* Updating a in the same second moves it to the front. */
  put_progress(s, p.id, "tie-a", NULL, 20, 2000, now);
  ck_assert_int_eq(stream_store_continue_watching(&cw, &n, s, p.id, 10), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(cw[0].title_id, "tie-a");
  ck_assert_int_eq(cw[0].position_ms, 20);
  ck_assert_str_eq(cw[1].title_id, "tie-c");
  ck_assert_str_eq(cw[2].title_id, "tie-b");
  stream_free(cw);
  /* The limit cuts the same order. */
  ck_assert_int_eq(stream_store_continue_watching(&cw, &n, s, p.id, 2), STREAM_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(cw[0].title_id, "tie-a");
  ck_assert_str_eq(cw[1].title_id, "tie-c");
  stream_free(cw);
  /* A later second still beats any write order. */
  put_progress(s, p.id, "tie-b", NULL, 30, 2000, now + 1);
  put_progress(s, p.id, "tie-c", NULL, 40, 2000, now);
  ck_assert_int_eq(stream_store_continue_watching(&cw, &n, s, p.id, 10), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(cw[0].title_id, "tie-b");
  ck_assert_str_eq(cw[1].title_id, "tie-c");
  ck_assert_str_eq(cw[2].title_id, "tie-a");
  stream_free(cw);

  /* Episodes of one series in one second: the last written episode is the
   * series' entry (ids "tie-e2" > "tie-e1" sort against the write order). */
  stream_store_title t;
  memset(&t, 0, sizeof t);
  strcpy(t.id, "tie-series");
  t.kind = STREAM_STORE_TITLE_SERIES;
  t.name = "Tie series";
  char series[STREAM_STORE_ID_SIZE], season[STREAM_STORE_ID_SIZE], ep[STREAM_STORE_ID_SIZE];
  ck_assert_int_eq(stream_store_title_create(series, s, &t, T0), STREAM_OK);
  ck_assert_int_eq(stream_store_season_create(season, s, series, 1), STREAM_OK);
  stream_store_episode e;
  memset(&e, 0, sizeof e);
  strcpy(e.season_id, season);
  strcpy(e.id, "tie-e1");
  e.number = 1;
  e.name = "One";
  ck_assert_int_eq(stream_store_episode_create(ep, s, &e), STREAM_OK);
  ck_assert_str_eq(ep, "tie-e1");
  strcpy(e.id, "tie-e2");
  e.number = 2;
  e.name = "Two";
  ck_assert_int_eq(stream_store_episode_create(ep, s, &e), STREAM_OK);
  ck_assert_str_eq(ep, "tie-e2");
  put_progress(s, p.id, series, "tie-e2", 500, 2000, now + 2);
  put_progress(s, p.id, series, "tie-e1", 700, 2000, now + 2);
  ck_assert_int_eq(stream_store_continue_watching(&cw, &n, s, p.id, 10), STREAM_OK);
  ck_assert_uint_eq(n, 4);
  ck_assert_str_eq(cw[0].title_id, series);
  ck_assert_str_eq(cw[0].episode_id, "tie-e1");
  ck_assert_int_eq(cw[0].position_ms, 700);
  ck_assert_str_eq(cw[1].title_id, "tie-b");
  stream_free(cw);
  /* Finishing that last-written episode in the same second drops the series,
   * even though the other episode is unfinished and written in that second. */
  put_progress(s, p.id, series, "tie-e1", 2000, 2000, now + 2);
  ck_assert_int_eq(stream_store_continue_watching(&cw, &n, s, p.id, 10), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(cw[0].title_id, "tie-b");
  stream_free(cw);

  /* My List: added c, b, a... in one second comes back latest first. */
  ck_assert_int_eq(stream_store_mylist_add(s, p.id, "tie-a", now), STREAM_OK);
  ck_assert_int_eq(stream_store_mylist_add(s, p.id, "tie-b", now), STREAM_OK);
  ck_assert_int_eq(stream_store_mylist_add(s, p.id, "tie-c", now), STREAM_OK);
  stream_store_mylist_item *items = NULL;
  ck_assert_int_eq(stream_store_mylist_list(&items, &n, s, p.id), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(items[0].title_id, "tie-c");
  ck_assert_str_eq(items[1].title_id, "tie-b");
  ck_assert_str_eq(items[2].title_id, "tie-a");
  stream_free(items);
  /* Adding again changes nothing (the first add stays)... */
  ck_assert_int_eq(stream_store_mylist_add(s, p.id, "tie-a", now), STREAM_OK);
  ck_assert_int_eq(stream_store_mylist_list(&items, &n, s, p.id), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(items[0].title_id, "tie-c");
  ck_assert_str_eq(items[2].title_id, "tie-a");
  stream_free(items);
  /* ...but removing and adding again in the same second is a new, latest add. */
  ck_assert_int_eq(stream_store_mylist_remove(s, p.id, "tie-a"), STREAM_OK);
  ck_assert_int_eq(stream_store_mylist_add(s, p.id, "tie-a", now), STREAM_OK);
  ck_assert_int_eq(stream_store_mylist_list(&items, &n, s, p.id), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(items[0].title_id, "tie-a");
  ck_assert_str_eq(items[1].title_id, "tie-c");
  ck_assert_str_eq(items[2].title_id, "tie-b");
  stream_free(items);
  /* Another profile's writes do not disturb this order. */
  stream_store_profile q = mk_profile(s, a.id, "Tied too");
  ck_assert_int_eq(stream_store_mylist_add(s, q.id, "tie-b", now), STREAM_OK);
  ck_assert_int_eq(stream_store_mylist_list(&items, &n, s, p.id), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  ck_assert_str_eq(items[0].title_id, "tie-a");
  stream_free(items);
}

/* ---- bad arguments ------------------------------------------------------------------ */

static void case_bad_arguments(stream_store *s)
{
  stream_store_account a;
  memset(&a, 0, sizeof a);
  strcpy(a.email, "x@bad.test");
  expect_err(stream_store_account_create(NULL, NULL, &a, T0), STREAM_EINVAL);
  expect_err(stream_store_account_create(NULL, s, NULL, T0), STREAM_EINVAL);
  expect_err(stream_store_account_create(NULL, s, &a, -1), STREAM_EINVAL);
  a.email[0] = '\0';
  expect_err(stream_store_account_create(NULL, s, &a, T0), STREAM_EINVAL);
  strcpy(a.email, "no-at-sign");
  expect_err(stream_store_account_create(NULL, s, &a, T0), STREAM_EINVAL);
  memset(a.email, 'a', sizeof a.email); /* not terminated: oversized */
  expect_err(stream_store_account_create(NULL, s, &a, T0), STREAM_EINVAL);
  strcpy(a.email, "x@bad.test");
  a.role = 7;
  expect_err(stream_store_account_create(NULL, s, &a, T0), STREAM_EINVAL);
  a.role = 0;
  strcpy(a.id, "bad id");
  expect_err(stream_store_account_create(NULL, s, &a, T0), STREAM_EINVAL);
  ck_assert(strstr(stream_error_last()->message, "account id") != NULL);

  stream_store_account got;
  char long_id[STREAM_STORE_ID_MAX + 2];
  memset(long_id, 'x', sizeof long_id - 1);
  long_id[sizeof long_id - 1] = '\0';
  expect_err(stream_store_account_get(NULL, s, "abc"), STREAM_EINVAL);
  expect_err(stream_store_account_get(&got, s, NULL), STREAM_EINVAL);
  expect_err(stream_store_account_get(&got, s, ""), STREAM_EINVAL);
  expect_err(stream_store_account_get(&got, s, long_id), STREAM_EINVAL);
  expect_err(stream_store_account_get(&got, s, "a/b"), STREAM_EINVAL);
  expect_err(stream_store_account_get_by_email(&got, s, ""), STREAM_EINVAL);

  stream_store_refresh r;
  expect_err(stream_store_refresh_get(&r, s, "abc"), STREAM_EINVAL);
  char upper[STREAM_STORE_TOKEN_HASH_LEN + 1];
  memset(upper, 'A', STREAM_STORE_TOKEN_HASH_LEN);
  upper[STREAM_STORE_TOKEN_HASH_LEN] = '\0';
  expect_err(stream_store_refresh_mark_used(s, upper, T0), STREAM_EINVAL);
  expect_err(stream_store_refresh_mark_used(s, NULL, T0), STREAM_EINVAL);
  memset(&r, 0, sizeof r);
  hash_of(r.token_hash, "bad");
  strcpy(r.family_id, "f");
  strcpy(r.account_id, "a");
  r.created_at = T0;
  r.expires_at = T0;
  expect_err(stream_store_refresh_insert(s, &r), STREAM_EINVAL);
  expect_err(stream_store_refresh_revoke_family(NULL, s, "", T0), STREAM_EINVAL);

  stream_store_device d;
  fill_device(&d, "bad", "AB CD", T0);
  expect_err(stream_store_device_insert(s, &d), STREAM_EINVAL);
  fill_device(&d, "bad", "ABCD", T0);
  d.interval = 0;
  expect_err(stream_store_device_insert(s, &d), STREAM_EINVAL);
  expect_err(stream_store_device_approve(s, "ABCD", NULL, NULL, T0), STREAM_EINVAL);
  expect_err(stream_store_device_approve(s, "", "acc", NULL, T0), STREAM_EINVAL);
  expect_err(stream_store_device_record_poll(NULL, s, d.device_code_hash, 0, T0), STREAM_EINVAL);
  int64_t prev;
  expect_err(stream_store_device_record_poll(&prev, s, d.device_code_hash, -1, T0), STREAM_EINVAL);

  stream_store_profile p;
  fill_profile(&p, "acc", "name");
  p.maturity_ceiling = -1;
  expect_err(stream_store_profile_create(NULL, s, &p, T0), STREAM_EINVAL);
  fill_profile(&p, "acc", "");
  expect_err(stream_store_profile_create(NULL, s, &p, T0), STREAM_EINVAL);
  stream_store_profile *pl = NULL;
  size_t pn;
  expect_err(stream_store_profile_list(&pl, NULL, s, "acc"), STREAM_EINVAL);
  expect_err(stream_store_profile_list(&pl, &pn, s, NULL), STREAM_EINVAL);

  stream_store_title t;
  memset(&t, 0, sizeof t);
  expect_err(stream_store_title_create(NULL, s, &t, T0), STREAM_EINVAL); /* no name */
  t.name = "";
  expect_err(stream_store_title_create(NULL, s, &t, T0), STREAM_EINVAL);
  char big[STREAM_STORE_TITLE_NAME_MAX + 2];
  memset(big, 'n', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  t.name = big;
  expect_err(stream_store_title_create(NULL, s, &t, T0), STREAM_EINVAL);
  t.name = "ok";
  t.kind = 5;
  expect_err(stream_store_title_create(NULL, s, &t, T0), STREAM_EINVAL);
  t.kind = 0;
  t.genre_count = 1; /* with a NULL array */
  expect_err(stream_store_title_create(NULL, s, &t, T0), STREAM_EINVAL);
  char *lower[] = {"us"};
  t.genre_count = 0;
  t.regions = lower;
  t.region_count = 1;
  expect_err(stream_store_title_create(NULL, s, &t, T0), STREAM_EINVAL);
  t.region_count = 0;
  t.available_from = 10;
  t.available_until = 5;
  expect_err(stream_store_title_create(NULL, s, &t, T0), STREAM_EINVAL);

  stream_store_title_query q = query(NULL, 0, 0);
  stream_store_title_page pg;
  expect_err(stream_store_title_list(&pg, s, &q), STREAM_EINVAL);
  q.limit = STREAM_STORE_PAGE_MAX + 1;
  expect_err(stream_store_title_list(&pg, s, &q), STREAM_EINVAL);
  q.limit = 10;
  q.version = 99;
  expect_err(stream_store_title_list(&pg, s, &q), STREAM_EINVAL);
  q.version = STREAM_STORE_TITLE_QUERY_VERSION;
  q.sort = 9;
  expect_err(stream_store_title_list(&pg, s, &q), STREAM_EINVAL);
  q.sort = 0;
  q.maturity_ceiling = -3;
  expect_err(stream_store_title_list(&pg, s, &q), STREAM_EINVAL);
  q.maturity_ceiling = 10;
  expect_err(stream_store_title_list(NULL, s, &q), STREAM_EINVAL);
  expect_err(stream_store_title_list(&pg, s, NULL), STREAM_EINVAL);
  expect_err(stream_store_title_search(&pg, s, NULL, &q), STREAM_EINVAL);
  expect_err(stream_store_season_create(NULL, s, "t", -1), STREAM_EINVAL);
  stream_store_episode e;
  memset(&e, 0, sizeof e);
  strcpy(e.season_id, "s");
  e.name = "x";
  expect_err(stream_store_episode_create(NULL, s, &e), STREAM_EINVAL); /* number 0 */
  char **gl;
  expect_err(stream_store_genre_list(&gl, NULL, s), STREAM_EINVAL);

  stream_store_progress pr;
  memset(&pr, 0, sizeof pr);
  strcpy(pr.profile_id, "p");
  strcpy(pr.title_id, "t");
  expect_err(stream_store_progress_upsert(s, &pr, T0), STREAM_EINVAL); /* duration 0 */
  stream_store_progress *cw;
  size_t cn;
  expect_err(stream_store_continue_watching(&cw, &cn, s, "p", 0), STREAM_EINVAL);
  expect_err(stream_store_mylist_add(s, "p", "", T0), STREAM_EINVAL);
  expect_err(stream_store_mylist_remove(s, NULL, "t"), STREAM_EINVAL);
  int v;
  expect_err(stream_store_schema_version(&v, NULL), STREAM_EINVAL);
  expect_err(stream_store_schema_version(NULL, s), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_schema_version(&v, s), STREAM_OK);
  ck_assert_int_ge(v, 1);
  ck_assert_ptr_null(stream_store_backend_name(NULL));
  ck_assert_ptr_nonnull(stream_store_backend_name(s));
}

const store_case store_conformance_cases[] = {
    {"accounts", case_accounts},
    {"profiles", case_profiles},
    {"profile_limit_concurrent", case_profile_limit_concurrent},
    {"refresh_tokens", case_refresh_tokens},
    {"device_flow", case_device_flow},
    {"device_pin_digest", case_device_pin_digest},
    {"catalog_crud", case_catalog_crud},
    {"fk_cascade", case_fk_cascade},
    {"keyset_pagination", case_keyset_pagination},
    {"list_filters", case_list_filters},
    {"search", case_search},
    {"search_hostile", case_search_hostile},
    {"continue_watching", case_continue_watching},
    {"mylist", case_mylist},
    {"recency_same_second", case_recency_same_second},
    {"bad_arguments", case_bad_arguments},
    {"account_close", store_case_account_close},
    {"password_reset", store_case_password_reset},
    {"search_tokens", case_search_tokens},
    {"profile_order", case_profile_order},
    {"utf8", store_case_utf8},
    {"rate", store_case_rate},
    {"genres_visible", case_genres_visible},
};
const size_t store_conformance_count =
    sizeof store_conformance_cases / sizeof store_conformance_cases[0];

void store_conformance_run_all(stream_store *s)
{
  for (size_t i = 0; i < store_conformance_count; i++)
    store_conformance_cases[i].run(s);
}
