/* Store conformance case: closing an account (stream_store_account_close),
 * public API only (see conformance.h), so every backend gives the same
 * answers: the account and its personal rows are gone for every read, the
 * e-mail is free again, a second close is STREAM_ENOTFOUND, and another
 * account's rows are untouched. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "conformance.h"

#define T0 1700000000

static stream_store_account close_account_mk(stream_store *s, const char *email)
{
  stream_store_account in, out;
  memset(&in, 0, sizeof in);
  snprintf(in.email, sizeof in.email, "%s", email);
  snprintf(in.password_hash, sizeof in.password_hash, "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA");
  ck_assert_int_eq(stream_store_account_create(&out, s, &in, T0), STREAM_OK);
  return out;
}

/* A profile with a resume position, a My List entry, a rating and a
 * profile-bound refresh token (hash made of `tag`, 64 hex digits). */
static stream_store_profile close_profile_mk(stream_store *s, const char *account_id,
                                             const char *name, const char *title_id,
                                             const char *tag)
{
  stream_store_profile in, p;
  memset(&in, 0, sizeof in);
  snprintf(in.account_id, sizeof in.account_id, "%s", account_id);
  snprintf(in.name, sizeof in.name, "%s", name);
  in.maturity_ceiling = 18;
  ck_assert_int_eq(stream_store_profile_create(&p, s, &in, T0), STREAM_OK);
  stream_store_progress pr;
  memset(&pr, 0, sizeof pr);
  snprintf(pr.profile_id, sizeof pr.profile_id, "%s", p.id);
  snprintf(pr.title_id, sizeof pr.title_id, "%s", title_id);
  pr.position_ms = 1000;
  pr.duration_ms = 60000;
  ck_assert_int_eq(stream_store_progress_upsert(s, &pr, T0), STREAM_OK);
  ck_assert_int_eq(stream_store_mylist_add(s, p.id, title_id, T0), STREAM_OK);
  ck_assert_int_eq(stream_store_rating_put(s, p.id, title_id, -1, T0), STREAM_OK);
  stream_store_refresh t;
  memset(&t, 0, sizeof t);
  for (size_t i = 0; i < STREAM_STORE_TOKEN_HASH_LEN; i++)
    t.token_hash[i] = "0123456789abcdef"[(unsigned char)tag[i % strlen(tag)] % 16];
  snprintf(t.family_id, sizeof t.family_id, "fam-%s", tag);
  snprintf(t.account_id, sizeof t.account_id, "%s", account_id);
  snprintf(t.profile_id, sizeof t.profile_id, "%s", p.id);
  t.created_at = T0;
  t.expires_at = T0 + 3600;
  ck_assert_int_eq(stream_store_refresh_insert(s, &t), STREAM_OK);
  return p;
}

static size_t close_mylist_count(stream_store *s, const char *profile_id)
{
  stream_store_mylist_item *items = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_store_mylist_list(&items, &n, s, profile_id), STREAM_OK);
  stream_free(items);
  return n;
}

void store_case_account_close(stream_store *s)
{
  stream_store_title t;
  memset(&t, 0, sizeof t);
  t.name = "Close Case Title";
  char title_id[STREAM_STORE_ID_SIZE];
  ck_assert_int_eq(stream_store_title_create(title_id, s, &t, T0), STREAM_OK);
  stream_store_account a = close_account_mk(s, "leaving@close.test");
  stream_store_account b = close_account_mk(s, "staying@close.test");
  stream_store_profile a1 = close_profile_mk(s, a.id, "One", title_id, "closea1");
  stream_store_profile a2 = close_profile_mk(s, a.id, "Two", title_id, "closea2");
  stream_store_profile b1 = close_profile_mk(s, b.id, "One", title_id, "closeb1");
  size_t revoked = 0;

  stream_store_account_close_counts c;
  memset(&c, 0xff, sizeof c);
  ck_assert_int_eq(stream_store_account_close(&c, s, a.id, T0 + 10), STREAM_OK);
  ck_assert_uint_eq(c.profiles, 2);
  ck_assert_uint_eq(c.refresh_tokens, 2);
  ck_assert_uint_eq(c.device_authorizations, 0);
  ck_assert_uint_eq(c.cards, 0);
  ck_assert_uint_eq(c.subscriptions, 0);

  /* Gone for every read and write of the account API. */
  stream_store_account got;
  ck_assert_int_eq(stream_store_account_get(&got, s, a.id), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_store_account_get_by_email(&got, s, "leaving@close.test"),
                   STREAM_ENOTFOUND);
  char tomb[STREAM_STORE_EMAIL_MAX + 1];
  snprintf(tomb, sizeof tomb, "deleted-%s@invalid", a.id);
  ck_assert_int_eq(stream_store_account_get_by_email(&got, s, tomb), STREAM_ENOTFOUND);
  a.disabled = 0;
  ck_assert_int_eq(stream_store_account_update(s, &a), STREAM_ENOTFOUND);
  stream_store_profile p;
  ck_assert_int_eq(stream_store_profile_get(&p, s, a1.id), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_store_profile_get(&p, s, a2.id), STREAM_ENOTFOUND);
  stream_store_profile *list = NULL;
  size_t n = 9;
  ck_assert_int_eq(stream_store_profile_list(&list, &n, s, a.id), STREAM_OK);
  ck_assert_uint_eq(n, 0);
  stream_free(list);
  stream_store_progress pr;
  ck_assert_int_eq(stream_store_progress_get(&pr, s, a1.id, title_id, NULL), STREAM_ENOTFOUND);
  ck_assert_uint_eq(close_mylist_count(s, a1.id), 0);
  int v = 5;
  ck_assert_int_eq(stream_store_rating_get(&v, s, a2.id, title_id), STREAM_OK);
  ck_assert_int_eq(v, 0);
  ck_assert_int_eq(stream_store_refresh_revoke_account(&revoked, s, a.id, T0 + 11), STREAM_OK);
  ck_assert_uint_eq(revoked, 0);

  /* Twice: not found, and nothing counted. */
  ck_assert_int_eq(stream_store_account_close(&c, s, a.id, T0 + 20), STREAM_ENOTFOUND);
  ck_assert_uint_eq(c.profiles + c.refresh_tokens, 0);
  ck_assert_int_eq(stream_store_account_close(NULL, s, "no-such-account", T0), STREAM_ENOTFOUND);

  /* The e-mail is free; the other account is untouched. */
  stream_store_account again = close_account_mk(s, "leaving@close.test");
  ck_assert_str_ne(again.id, a.id);
  ck_assert_int_eq(stream_store_account_get(&got, s, b.id), STREAM_OK);
  ck_assert_int_eq(stream_store_profile_get(&p, s, b1.id), STREAM_OK);
  ck_assert_int_eq(stream_store_progress_get(&pr, s, b1.id, title_id, NULL), STREAM_OK);
  ck_assert_uint_eq(close_mylist_count(s, b1.id), 1);
  ck_assert_int_eq(stream_store_rating_get(&v, s, b1.id, title_id), STREAM_OK);
  ck_assert_int_eq(v, -1);
  ck_assert_int_eq(stream_store_refresh_revoke_account(&revoked, s, b.id, T0 + 11), STREAM_OK);
  ck_assert_uint_eq(revoked, 1);

  /* Bad arguments change nothing. */
  ck_assert_int_eq(stream_store_account_close(&c, NULL, b.id, T0), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_account_close(&c, s, NULL, T0), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_account_close(&c, s, "", T0), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_account_close(&c, s, "bad id", T0), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_account_close(&c, s, b.id, 0), STREAM_EINVAL);
  ck_assert_int_eq(stream_store_account_get(&got, s, b.id), STREAM_OK);
}
