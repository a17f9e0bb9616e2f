/*
 * stream_store_sqlite_memstatus_off(): SQLite's process-wide memory
 * statistics turned off before SQLite starts (sqlite3_memory_used() then
 * stays 0 through a store's whole life), refused with STREAM_EBUSY once a
 * store has initialized SQLite (the statistics keep counting). Process-wide
 * state, so every case runs in a child process of its own, whatever
 * CK_FORK says.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stream/store.h"

/* Open an in-memory store and write through it; the SQLite bytes in use while it is open. */
static sqlite3_int64 store_work(void)
{
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  o.path = ":memory:";
  stream_store *s = NULL;
  if (stream_store_open(&s, &o) != STREAM_OK) {
    fprintf(stderr, "open: %s\n", stream_error_last()->message);
    _exit(10);
  }
  stream_store_account a;
  memset(&a, 0, sizeof a);
  snprintf(a.email, sizeof a.email, "memstatus@example.com");
  snprintf(a.password_hash, sizeof a.password_hash, "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA");
  if (stream_store_account_create(NULL, s, &a, 1780000000) != STREAM_OK) {
    fprintf(stderr, "account: %s\n", stream_error_last()->message);
    _exit(11);
  }
  sqlite3_int64 used = sqlite3_memory_used();
  stream_store_close(s);
  return used;
}

/* Run `child` in a forked process; its exit status (0 = its checks passed). */
static int in_child(int (*child)(void))
{
  fflush(NULL);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0)
    _exit(child());
  int st = 0;
  ck_assert_int_eq(waitpid(pid, &st, 0), pid);
  ck_assert_msg(WIFEXITED(st), "the child died (status %d)", st);
  return WEXITSTATUS(st);
}

static int off_first(void)
{
  if (stream_store_sqlite_memstatus_off() != STREAM_OK)
    return 1;
  if (stream_store_sqlite_memstatus_off() != STREAM_OK) /* again, still before SQLite starts */
    return 2;
  sqlite3_int64 used = store_work();
  if (used != 0) {
    fprintf(stderr, "memory statistics still counting: %lld bytes\n", (long long)used);
    return 3;
  }
  /* SQLite now runs: a late call changes nothing and says why. */
  if (stream_store_sqlite_memstatus_off() != STREAM_EBUSY)
    return 4;
  if (!strstr(stream_error_last()->message, "before SQLite is first used"))
    return 5;
  return 0;
}

static int on_by_default_then_busy(void)
{
  sqlite3_int64 before = store_work();
  if (before <= 0) {
    fprintf(stderr, "memory statistics not counting by default: %lld\n", (long long)before);
    return 1;
  }
  if (stream_store_sqlite_memstatus_off() != STREAM_EBUSY)
    return 2;
  sqlite3_int64 after = store_work();
  if (after <= 0) {
    fprintf(stderr, "a refused call turned the statistics off: %lld\n", (long long)after);
    return 3;
  }
  return 0;
}

START_TEST(test_off_before_sqlite_starts)
{
  ck_assert_int_eq(in_child(off_first), 0);
}
END_TEST

START_TEST(test_refused_once_sqlite_runs)
{
  ck_assert_int_eq(in_child(on_by_default_then_busy), 0);
}
END_TEST

int main(void)
{
  /* A libsqlite3 built with the statistics off by default has nothing to turn off. */
  if (sqlite3_compileoption_used("DEFAULT_MEMSTATUS=0")) {
    printf("skipped: this libsqlite3 keeps no memory statistics by default\n");
    return 77;
  }
  Suite *s = suite_create("store-sqlite-memstatus");
  TCase *tc = tcase_create("memstatus");
  tcase_add_test(tc, test_off_before_sqlite_starts);
  tcase_add_test(tc, test_refused_once_sqlite_runs);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
