/* Store conformance case: text that is not valid UTF-8 (public API only, see
 * conformance.h). PostgreSQL refuses such text where SQLite would store it,
 * so the store refuses it before any backend sees it: STREAM_EINVAL naming
 * the field, and nothing stored. Valid multi-byte text (2, 3 and 4 bytes a
 * character) is kept byte for byte. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conformance.h"

#define T0 1700000000

/* Malformed by every rule of RFC 3629, each inside otherwise good text. */
static const char *const bad_text[] = {
    "bad \xff byte",             /* a byte that never occurs */
    "lone \x80 continuation",    /* continuation without a lead byte */
    "bad \xc3\x28 pair",         /* lead byte followed by ASCII */
    "overlong \xc0\xaf slash",   /* '/' in two bytes */
    "overlong \xe0\x80\xaf",     /* '/' in three bytes */
    "surrogate \xed\xa0\x80",    /* U+D800 */
    "past max \xf4\x90\x80\x80", /* U+110000 */
    "truncated \xe6\x97",        /* first two bytes of a three-byte character */
};
#define BAD_COUNT (sizeof bad_text / sizeof bad_text[0])

/* Valid: é (2 bytes), 日本 (3 bytes each), 🎬 (4 bytes). */
#define U8_NAME "Caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\xac"

static void expect_bad_utf8(int rc, const char *field)
{
  ck_assert_int_eq(rc, STREAM_EINVAL);
  const stream_error *e = stream_error_last();
  ck_assert_ptr_nonnull(e);
  ck_assert_int_eq(e->code, STREAM_EINVAL);
  char want[128];
  snprintf(want, sizeof want, "%s is not valid UTF-8", field);
  ck_assert_msg(strstr(e->message, want) != NULL, "message \"%s\" does not say \"%s\"", e->message,
                want);
}

static void utf8_accounts(stream_store *s)
{
  stream_store_account a, got;
  for (size_t i = 0; i < BAD_COUNT; i++) {
    memset(&a, 0, sizeof a);
    snprintf(a.id, sizeof a.id, "u8-acct-%zu", i);
    snprintf(a.email, sizeof a.email, "%s@u8.example", bad_text[i]);
    expect_bad_utf8(stream_store_account_create(NULL, s, &a, T0), "account email");
    ck_assert_int_eq(stream_store_account_get(&got, s, a.id), STREAM_ENOTFOUND);
    expect_bad_utf8(stream_store_account_get_by_email(&got, s, a.email), "email");
    snprintf(a.email, sizeof a.email, "u8-%zu@u8.example", i);
    snprintf(a.password_hash, sizeof a.password_hash, "$argon2id$%s", bad_text[i]);
    expect_bad_utf8(stream_store_account_create(NULL, s, &a, T0), "account password_hash");
    ck_assert_int_eq(stream_store_account_get(&got, s, a.id), STREAM_ENOTFOUND);
  }
  /* Valid multi-byte e-mail (EAI): kept byte for byte, found by it. */
  memset(&a, 0, sizeof a);
  snprintf(a.id, sizeof a.id, "u8-acct-ok");
  snprintf(a.email, sizeof a.email, "\xc3\xa9l\xc3\xa8ve@\xe6\x97\xa5\xe6\x9c\xac.example");
  snprintf(a.password_hash, sizeof a.password_hash, "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA");
  ck_assert_int_eq(stream_store_account_create(NULL, s, &a, T0), STREAM_OK);
  ck_assert_int_eq(stream_store_account_get_by_email(&got, s, a.email), STREAM_OK);
  ck_assert_str_eq(got.id, "u8-acct-ok");
  ck_assert_str_eq(got.email, a.email);
  /* An update with a bad hash changes nothing. */
  stream_store_account up = got;
  snprintf(up.password_hash, sizeof up.password_hash, "%s", bad_text[0]);
  up.disabled = 1;
  expect_bad_utf8(stream_store_account_update(s, &up), "account password_hash");
  ck_assert_int_eq(stream_store_account_get(&got, s, "u8-acct-ok"), STREAM_OK);
  ck_assert_str_eq(got.password_hash, a.password_hash);
  ck_assert_int_eq(got.disabled, 0);

  /* Password reset: the new hash is text too (checked before the token is looked up). */
  char hash[STREAM_STORE_TOKEN_HASH_LEN + 1];
  memset(hash, 'a', STREAM_STORE_TOKEN_HASH_LEN);
  hash[STREAM_STORE_TOKEN_HASH_LEN] = '\0';
  expect_bad_utf8(stream_store_password_reset_consume(NULL, NULL, s, hash, bad_text[3], T0),
                  "password_hash");
}

static void utf8_profiles(stream_store *s)
{
  stream_store_profile p, got;
  for (size_t i = 0; i < BAD_COUNT; i++) {
    memset(&p, 0, sizeof p);
    snprintf(p.id, sizeof p.id, "u8-prof-%zu", i);
    snprintf(p.account_id, sizeof p.account_id, "u8-acct-ok");
    snprintf(p.name, sizeof p.name, "%s", bad_text[i]);
    expect_bad_utf8(stream_store_profile_create(NULL, s, &p, T0), "profile name");
    ck_assert_int_eq(stream_store_profile_get(&got, s, p.id), STREAM_ENOTFOUND);
    snprintf(p.name, sizeof p.name, "u8 %zu", i);
    snprintf(p.avatar, sizeof p.avatar, "%s", bad_text[i]);
    expect_bad_utf8(stream_store_profile_create(NULL, s, &p, T0), "profile avatar");
    p.avatar[0] = '\0';
    snprintf(p.pin_hash, sizeof p.pin_hash, "%s", bad_text[i]);
    expect_bad_utf8(stream_store_profile_create(NULL, s, &p, T0), "profile pin_hash");
    ck_assert_int_eq(stream_store_profile_get(&got, s, p.id), STREAM_ENOTFOUND);
  }
  stream_store_profile *list = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_store_profile_list(&list, &n, s, "u8-acct-ok"), STREAM_OK);
  ck_assert_uint_eq(n, 0);
  stream_free(list);

  memset(&p, 0, sizeof p);
  snprintf(p.id, sizeof p.id, "u8-prof-ok");
  snprintf(p.account_id, sizeof p.account_id, "u8-acct-ok");
  snprintf(p.name, sizeof p.name, "%s", U8_NAME);
  snprintf(p.avatar, sizeof p.avatar, "\xf0\x9f\x90\xb1.png");
  ck_assert_int_eq(stream_store_profile_create(NULL, s, &p, T0), STREAM_OK);
  ck_assert_int_eq(stream_store_profile_get(&got, s, "u8-prof-ok"), STREAM_OK);
  ck_assert_int_eq(memcmp(got.name, U8_NAME, sizeof U8_NAME), 0);
  ck_assert_str_eq(got.avatar, p.avatar);
  stream_store_profile up = got;
  snprintf(up.name, sizeof up.name, "%s", bad_text[5]);
  expect_bad_utf8(stream_store_profile_update(s, &up), "profile name");
  ck_assert_int_eq(stream_store_profile_get(&got, s, "u8-prof-ok"), STREAM_OK);
  ck_assert_str_eq(got.name, U8_NAME);
}

static void utf8_devices(stream_store *s)
{
  stream_store_device d, got;
  memset(&d, 0, sizeof d);
  memset(d.device_code_hash, 'b', STREAM_STORE_TOKEN_HASH_LEN);
  snprintf(d.user_code, sizeof d.user_code, "U8CODE-1");
  snprintf(d.client_id, sizeof d.client_id, "%s", bad_text[6]);
  d.interval = 5;
  d.created_at = T0;
  d.expires_at = T0 + 600;
  expect_bad_utf8(stream_store_device_insert(s, &d), "client_id");
  snprintf(d.client_id, sizeof d.client_id, "tv-app");
  snprintf(d.scope, sizeof d.scope, "%s", bad_text[7]);
  expect_bad_utf8(stream_store_device_insert(s, &d), "scope");
  ck_assert_int_eq(stream_store_device_get(&got, s, d.device_code_hash), STREAM_ENOTFOUND);
  snprintf(d.scope, sizeof d.scope, "lecture \xc3\xa9");
  ck_assert_int_eq(stream_store_device_insert(s, &d), STREAM_OK);
  ck_assert_int_eq(stream_store_device_get(&got, s, d.device_code_hash), STREAM_OK);
  ck_assert_str_eq(got.scope, d.scope);
}

static void fill_title(stream_store_title *t, const char *id, char *name, char **genre)
{
  memset(t, 0, sizeof *t);
  snprintf(t->id, sizeof t->id, "%s", id);
  t->kind = STREAM_STORE_TITLE_MOVIE;
  t->name = name;
  t->genres = genre;
  t->genre_count = 1;
}

static void utf8_catalog(stream_store *s)
{
  char *genre[1] = {"u8-genre"};
  stream_store_title t, got;
  memset(&got, 0, sizeof got);
  for (size_t i = 0; i < BAD_COUNT; i++) {
    char id[32];
    snprintf(id, sizeof id, "u8-title-%zu", i);
    char *bad = (char *)bad_text[i];
    fill_title(&t, id, bad, genre);
    expect_bad_utf8(stream_store_title_create(NULL, s, &t, T0), "title name");
    t.name = "u8 ok";
    t.synopsis = bad;
    expect_bad_utf8(stream_store_title_create(NULL, s, &t, T0), "title synopsis");
    t.synopsis = NULL;
    t.credits_json = bad;
    expect_bad_utf8(stream_store_title_create(NULL, s, &t, T0), "title credits_json");
    t.credits_json = NULL;
    t.artwork_json = bad;
    expect_bad_utf8(stream_store_title_create(NULL, s, &t, T0), "title artwork_json");
    t.artwork_json = NULL;
    char *bad_genre[1] = {bad};
    t.genres = bad_genre;
    expect_bad_utf8(stream_store_title_create(NULL, s, &t, T0), "genre");
    ck_assert_int_eq(stream_store_title_get(&got, s, id), STREAM_ENOTFOUND);

    stream_store_title_query q = STREAM_STORE_TITLE_QUERY_INIT;
    q.now = T0 + 10;
    q.genre = bad;
    stream_store_title_page pg;
    expect_bad_utf8(stream_store_title_list(&pg, s, &q), "genre");
    /* Search text is a query, never stored: any bytes, those that are not UTF-8 being
     * separators (search_hostile), the same on every backend. */
    q.genre = NULL;
    ck_assert_int_eq(stream_store_title_search(&pg, s, bad, &q), STREAM_OK);
    stream_store_title_page_clear(&pg);
  }
  /* No bad genre reached the store. */
  char **genres = NULL;
  size_t ng = 0;
  ck_assert_int_eq(stream_store_genre_list(&genres, &ng, s), STREAM_OK);
  for (size_t i = 0; i < ng; i++)
    for (size_t k = 0; k < BAD_COUNT; k++)
      ck_assert_str_ne(genres[i], bad_text[k]);
  stream_store_strings_free(genres, ng);

  /* Valid multi-byte text everywhere, read back byte for byte. */
  char name_a[] = "\xc3\x80 " U8_NAME; /* "À ...": sorts after "Caf..." by bytes */
  char name_b[] = U8_NAME;
  char synopsis[] = "Synopsis \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x98\x80";
  char credits[] = "{\"director\":\"\xe5\xae\xae\xe5\xb4\x8e \xe9\xa7\xbf\"}";
  char *mb_genre[1] = {"Cin\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac-u8"};
  fill_title(&t, "u8-title-a", name_a, mb_genre);
  t.synopsis = synopsis;
  t.credits_json = credits;
  char artwork[] = "{\"poster\":\"https://img.example/\xc3\xa9t\xc3\xa9.jpg\"}";
  t.artwork_json = artwork;
  ck_assert_int_eq(stream_store_title_create(NULL, s, &t, T0), STREAM_OK);
  fill_title(&t, "u8-title-b", name_b, mb_genre);
  t.kind = STREAM_STORE_TITLE_SERIES;
  ck_assert_int_eq(stream_store_title_create(NULL, s, &t, T0), STREAM_OK);
  ck_assert_int_eq(stream_store_title_get(&got, s, "u8-title-a"), STREAM_OK);
  ck_assert_str_eq(got.name, name_a);
  ck_assert_str_eq(got.synopsis, synopsis);
  ck_assert_str_eq(got.credits_json, credits);
  ck_assert_str_eq(got.artwork_json, artwork);
  ck_assert_uint_eq(got.genre_count, 1);
  ck_assert_str_eq(got.genres[0], mb_genre[0]);
  /* An update with bad text changes nothing. */
  stream_store_title up;
  fill_title(&up, "u8-title-a", name_a, mb_genre);
  up.synopsis = (char *)bad_text[2];
  expect_bad_utf8(stream_store_title_update(s, &up, T0 + 1), "title synopsis");
  stream_store_title_clear(&got);
  ck_assert_int_eq(stream_store_title_get(&got, s, "u8-title-a"), STREAM_OK);
  ck_assert_str_eq(got.synopsis, synopsis);
  stream_store_title_clear(&got);

  /* Keyset pages by name: the cursor carries the multi-byte name of the last row. */
  stream_store_title_query q = STREAM_STORE_TITLE_QUERY_INIT;
  q.now = T0 + 10;
  q.genre = mb_genre[0];
  q.limit = 1;
  stream_store_title_page pg;
  ck_assert_int_eq(stream_store_title_list(&pg, s, &q), STREAM_OK);
  ck_assert_uint_eq(pg.count, 1);
  ck_assert_str_eq(pg.items[0].name, name_b);
  ck_assert_ptr_nonnull(pg.next_cursor);
  char cursor[512];
  ck_assert_uint_lt(strlen(pg.next_cursor), sizeof cursor);
  snprintf(cursor, sizeof cursor, "%s", pg.next_cursor);
  stream_store_title_page_clear(&pg);
  q.cursor = cursor;
  ck_assert_int_eq(stream_store_title_list(&pg, s, &q), STREAM_OK);
  ck_assert_uint_eq(pg.count, 1);
  ck_assert_str_eq(pg.items[0].name, name_a);
  stream_store_title_page_clear(&pg);
  /* A forged cursor whose name is not UTF-8 is no cursor of the store: "0:<id>:\xff" in
   * unpadded base64url. */
  q.cursor = "MDp1OC10aXRsZS1hOv8";
  ck_assert_int_eq(stream_store_title_list(&pg, s, &q), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "cursor"));
  q.cursor = NULL;
  q.limit = 10;
  ck_assert_int_eq(stream_store_title_search(&pg, s, "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac", &q),
                   STREAM_OK);
  stream_store_title_page_clear(&pg);
  /* In a search, bytes that are not UTF-8 separate words, on every backend: the same titles. */
  const char *const spoiled[] = {"caf\xff",
                                 "\xe6\x97"
                                 "caf\xc3",
                                 "\xed\xa0\x80"
                                 "caf"};
  for (size_t i = 0; i < sizeof spoiled / sizeof spoiled[0]; i++) {
    ck_assert_int_eq(stream_store_title_search(&pg, s, spoiled[i], &q), STREAM_OK);
    ck_assert_msg(pg.count == 2, "search %zu found %zu titles", i, pg.count);
    stream_store_title_page_clear(&pg);
  }
  ck_assert_int_eq(stream_store_title_search(&pg, s, "\xff\xc0\xaf", &q), STREAM_OK);
  ck_assert_uint_eq(pg.count, 0);
  stream_store_title_page_clear(&pg);

  /* Episodes. */
  char season[STREAM_STORE_ID_SIZE];
  ck_assert_int_eq(stream_store_season_create(season, s, "u8-title-b", 1), STREAM_OK);
  stream_store_episode e;
  memset(&e, 0, sizeof e);
  snprintf(e.id, sizeof e.id, "u8-ep-1");
  snprintf(e.season_id, sizeof e.season_id, "%s", season);
  e.number = 1;
  e.name = (char *)bad_text[4];
  expect_bad_utf8(stream_store_episode_create(NULL, s, &e), "episode name");
  e.name = "ok";
  e.synopsis = (char *)bad_text[1];
  expect_bad_utf8(stream_store_episode_create(NULL, s, &e), "episode synopsis");
  stream_store_title_detail d;
  ck_assert_int_eq(stream_store_title_get_detail(&d, s, "u8-title-b"), STREAM_OK);
  ck_assert_uint_eq(d.season_count, 1);
  ck_assert_uint_eq(d.seasons[0].episode_count, 0);
  stream_store_title_detail_clear(&d);
  e.name = name_a;
  e.synopsis = synopsis;
  ck_assert_int_eq(stream_store_episode_create(NULL, s, &e), STREAM_OK);
  ck_assert_int_eq(stream_store_title_get_detail(&d, s, "u8-title-b"), STREAM_OK);
  ck_assert_uint_eq(d.seasons[0].episode_count, 1);
  ck_assert_str_eq(d.seasons[0].episodes[0].name, name_a);
  ck_assert_str_eq(d.seasons[0].episodes[0].synopsis, synopsis);
  stream_store_title_detail_clear(&d);
}

static void utf8_viewing(stream_store *s)
{
  stream_store_progress p, got;
  memset(&p, 0, sizeof p);
  snprintf(p.profile_id, sizeof p.profile_id, "u8-prof-\xc3");
  snprintf(p.title_id, sizeof p.title_id, "u8-title-a");
  p.position_ms = 1000;
  p.duration_ms = 60000;
  expect_bad_utf8(stream_store_progress_upsert(s, &p, T0), "progress profile_id");
  snprintf(p.profile_id, sizeof p.profile_id, "u8-prof-ok");
  snprintf(p.title_id, sizeof p.title_id, "u8-title-\xed\xa0\x80");
  expect_bad_utf8(stream_store_progress_upsert(s, &p, T0), "progress title_id");
  snprintf(p.title_id, sizeof p.title_id, "u8-title-b");
  snprintf(p.episode_id, sizeof p.episode_id, "u8-ep-\xff");
  expect_bad_utf8(stream_store_progress_upsert(s, &p, T0), "progress episode_id");
  stream_store_progress *cw = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_store_continue_watching(&cw, &n, s, "u8-prof-ok", 10), STREAM_OK);
  ck_assert_uint_eq(n, 0);
  stream_free(cw);
  snprintf(p.episode_id, sizeof p.episode_id, "u8-ep-1");
  ck_assert_int_eq(stream_store_progress_upsert(s, &p, T0), STREAM_OK);
  ck_assert_int_eq(stream_store_progress_get(&got, s, "u8-prof-ok", "u8-title-b", "u8-ep-1"),
                   STREAM_OK);
  ck_assert_int_eq(got.position_ms, 1000);
}

void store_case_utf8(stream_store *s)
{
  utf8_accounts(s);
  utf8_profiles(s);
  utf8_devices(s);
  utf8_catalog(s);
  utf8_viewing(s);
}
