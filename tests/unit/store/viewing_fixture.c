/* The viewing tests' starting rows (viewing_fixture.h). */
#include "viewing_fixture.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#define FIXTURE_OK(call)                                                                           \
  do {                                                                                             \
    int rc_ = (call);                                                                              \
    ck_assert_msg(rc_ == STREAM_OK, "%s: %d %s", #call, rc_, stream_error_last()->message);        \
  } while (0)

void test_viewing_fixture_create(test_viewing_fixture *f, stream_store *store, const char *email,
                                 int64_t now)
{
  memset(f, 0, sizeof *f);
  stream_store_account a, ain;
  memset(&ain, 0, sizeof ain);
  snprintf(ain.email, sizeof ain.email, "%s", email);
  FIXTURE_OK(stream_store_account_create(&a, store, &ain, now));
  memcpy(f->account_id, a.id, sizeof f->account_id);
  stream_store_profile p, pin;
  memset(&pin, 0, sizeof pin);
  snprintf(pin.account_id, sizeof pin.account_id, "%s", a.id);
  snprintf(pin.name, sizeof pin.name, "Main");
  pin.maturity_ceiling = 18;
  FIXTURE_OK(stream_store_profile_create(&p, store, &pin, now));
  memcpy(f->profile_id, p.id, sizeof f->profile_id);
  stream_store_title t;
  memset(&t, 0, sizeof t);
  t.name = "A Movie";
  FIXTURE_OK(stream_store_title_create(f->movie_id, store, &t, now));
  t.name = "Another Movie";
  FIXTURE_OK(stream_store_title_create(f->movie2_id, store, &t, now));
  t.name = "A Series";
  t.kind = STREAM_STORE_TITLE_SERIES;
  FIXTURE_OK(stream_store_title_create(f->series_id, store, &t, now));
  FIXTURE_OK(stream_store_season_create(f->season_id, store, f->series_id, 1));
  stream_store_episode e;
  memset(&e, 0, sizeof e);
  snprintf(e.season_id, sizeof e.season_id, "%s", f->season_id);
  e.number = 1;
  e.name = "Pilot";
  FIXTURE_OK(stream_store_episode_create(f->episode_id, store, &e));
}
