/*
 * The rows a viewing test starts from, made through the store API: an account
 * (`email`), its 18+ profile "Main", two movies ("A Movie", "Another Movie")
 * and a series ("A Series") with season 1 and its episode 1 ("Pilot"). Used by
 * the PostgreSQL writers' lock and account-close interleaving tests; any
 * backend works. Aborts the test (Check) when a call fails.
 */
#ifndef STREAM_TEST_VIEWING_FIXTURE_H
#define STREAM_TEST_VIEWING_FIXTURE_H

#include <stdint.h>

#include "stream/store.h"

typedef struct test_viewing_fixture {
  char account_id[STREAM_STORE_ID_SIZE];
  char profile_id[STREAM_STORE_ID_SIZE];
  char movie_id[STREAM_STORE_ID_SIZE];
  char movie2_id[STREAM_STORE_ID_SIZE];
  char series_id[STREAM_STORE_ID_SIZE];
  char season_id[STREAM_STORE_ID_SIZE];
  char episode_id[STREAM_STORE_ID_SIZE];
} test_viewing_fixture;

void test_viewing_fixture_create(test_viewing_fixture *f, stream_store *store, const char *email,
                                 int64_t now);

#endif
