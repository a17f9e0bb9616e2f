/* Unit tests of the crash-safe forgotten-password flow:
 * stream_auth_password_reset_request() (one committed row per accepted
 * request, whatever the address; nothing mailed), _process() (oldest first:
 * claim + account + reset row, mail, delete) and _pending(), over a real
 * SQLite store in a temporary directory, with an injected clock, cheap
 * Argon2id parameters, a mail hook that keeps the messages and a log callback
 * that keeps every log line. Raw SQL (store_raw.h) reads the request and reset rows,
 * which the public API does not list. The crash tests fork: the child
 * processes with its own store and auth handles and _exit()s inside the mail
 * hook (a processor killed mid-request); the parent then processes with a new
 * handle, as a restarted server does. Messages cross the fork in a file. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../store_path.h"
#include "../store_raw.h"
#include "auth_fixture.h"
#include "stream/auth.h"

#define T0 1769817600LL /* 2026-01-31T00:00:00Z */
#define PW "correct horse"
#define PW2 "battery staple"
#define BASE "https://app.test/#/reset?token="
#define EMAIL "ada@example.com"
#define ADDR "192.0.2.1"

static char mailfile[300];
static stream_store *store;
static stream_auth *auth;

/* The mail hook's outbox (a mutex: the concurrency test mails from two threads). */
#define MAILS_MAX 64
static struct {
  char to[256];
  char body[4096];
} mails[MAILS_MAX];
static int n_mails;
static int mail_result;
static pthread_mutex_t mail_mu = PTHREAD_MUTEX_INITIALIZER;

/* Fork tests: the hook appends "to token" lines to mailfile and, when
 * die_in_hook is set, _exit()s: after the line (1, the mail went out) or
 * before it (2, the processor died before the mail). */
static int die_in_hook;

static int mail_hook(void *ud, const char *to, const char *subject, const char *body)
{
  (void)ud;
  ck_assert_str_eq(subject, "Reset your password");
  pthread_mutex_lock(&mail_mu);
  if (n_mails < MAILS_MAX) {
    snprintf(mails[n_mails].to, sizeof mails[n_mails].to, "%s", to);
    snprintf(mails[n_mails].body, sizeof mails[n_mails].body, "%s", body);
  }
  n_mails++;
  pthread_mutex_unlock(&mail_mu);
  return mail_result;
}

/* The link token in a body (43 characters after BASE). */
static void token_in(char out[STREAM_AUTH_RESET_TOKEN_LEN + 1], const char *body)
{
  const char *p = strstr(body, BASE);
  ck_assert_ptr_nonnull(p);
  p += strlen(BASE);
  memcpy(out, p, STREAM_AUTH_RESET_TOKEN_LEN);
  out[STREAM_AUTH_RESET_TOKEN_LEN] = '\0';
  ck_assert_uint_eq(strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                    STREAM_AUTH_RESET_TOKEN_LEN);
}

static int file_hook(void *ud, const char *to, const char *subject, const char *body)
{
  (void)ud;
  (void)subject;
  if (die_in_hook == 2)
    _exit(0);
  char tok[STREAM_AUTH_RESET_TOKEN_LEN + 1];
  token_in(tok, body);
  FILE *f = fopen(mailfile, "a");
  ck_assert_ptr_nonnull(f);
  fprintf(f, "%s %s\n", to, tok);
  fclose(f);
  if (die_in_hook == 1)
    _exit(0);
  return 0;
}

static stream_auth *open_auth_on(stream_store *s, stream_auth_mail_fn hook)
{
  stream_auth_options o;
  auth_fixture_options(&o, s);
  o.send_mail = hook;
  o.reset_url_base = hook ? BASE : NULL;
  stream_auth *a = NULL;
  ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_OK);
  return a;
}

static void setup(void)
{
  auth_fixture_setup("resetreq", T0, true);
  snprintf(mailfile, sizeof mailfile, "%s/mails.txt", tmpdir);
  store = auth_fixture_store();
  n_mails = 0;
  mail_result = 0;
  die_in_hook = 0;
  auth = open_auth_on(store, mail_hook);
}

static void teardown(void)
{
  stream_auth_free(auth);
  auth = NULL;
  stream_store_close(store);
  store = NULL;
  auth_fixture_teardown("mails.txt");
}

/* A count on the test's store (the SQLite file or its PostgreSQL database: store_raw.h). */
static int64_t raw_int(const char *sql)
{
  return test_store_raw_int(dbpath, sql, NULL);
}

static stream_auth_account make_account(const char *email)
{
  stream_auth_account acct;
  ck_assert_int_eq(stream_auth_register(&acct, auth, email, PW), STREAM_OK);
  return acct;
}

static void request_ok(const char *email)
{
  int64_t retry = -1;
  ck_assert_msg(stream_auth_password_reset_request(&retry, auth, email, ADDR) == STREAM_OK, "%s",
                msg());
  ck_assert_int_eq(retry, 0);
}

static size_t process_ok(stream_auth *a, size_t max)
{
  size_t done = 12345;
  ck_assert_msg(stream_auth_password_reset_process(&done, a, max) == STREAM_OK, "%s", msg());
  return done;
}

static size_t pending(void)
{
  size_t n = 12345;
  ck_assert_int_eq(stream_auth_password_reset_pending(&n, auth), STREAM_OK);
  return n;
}

static void token_of(char out[STREAM_AUTH_RESET_TOKEN_LEN + 1], int i)
{
  token_in(out, mails[i].body);
}

/* ---- request --------------------------------------------------------------------- */

START_TEST(test_request_stores_a_row_and_mails_nothing)
{
  make_account(EMAIL);
  stream_auth_account off = make_account("off@example.com");
  ck_assert_int_eq(stream_auth_account_set_disabled(auth, off.id, 1), STREAM_OK);
  /* Known, unknown, disabled: the same answer and the same row, and nothing else. */
  request_ok("  Ada@Example.COM ");
  request_ok("nobody@example.com");
  request_ok("off@example.com");
  ck_assert_int_eq(n_mails, 0);
  ck_assert_uint_eq(pending(), 3);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_reset_requests"), 3);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_reset_requests WHERE email IN "
                           "('ada@example.com', 'nobody@example.com', 'off@example.com') AND "
                           "requested_at = 1769817600 AND attempts = 0 AND claimed_until = 0"),
                   3);
  /* No token is stored: the table has no column for one, and no reset row exists yet. */
  ck_assert_int_eq(
      raw_int(test_store_is_pg()
                  ? "SELECT count(*) FROM information_schema.columns WHERE "
                    "table_name = 'password_reset_requests'"
                  : "SELECT count(*) FROM pragma_table_info('password_reset_requests')"),
      5);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets"), 0);
  /* Committed: another connection (another process) sees the rows. */
  stream_store *s2 = auth_fixture_store();
  stream_auth *a2 = open_auth_on(s2, mail_hook);
  size_t n = 0;
  ck_assert_int_eq(stream_auth_password_reset_pending(&n, a2), STREAM_OK);
  ck_assert_uint_eq(n, 3);
  stream_auth_free(a2);
  stream_store_close(s2);
}
END_TEST

START_TEST(test_request_rate_limits)
{
  make_account(EMAIL);
  for (int i = 0; i < STREAM_AUTH_RESET_EMAIL_BURST; i++)
    request_ok(EMAIL);
  int64_t retry = 0;
  ck_assert_int_eq(stream_auth_password_reset_request(&retry, auth, EMAIL, ADDR), STREAM_EBUSY);
  ck_assert_int_eq(retry, STREAM_AUTH_RESET_EMAIL_INTERVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "too many password reset requests"));
  /* A refused request stores nothing. */
  ck_assert_uint_eq(pending(), STREAM_AUTH_RESET_EMAIL_BURST);
  /* Unknown e-mails are charged the same way. */
  for (int i = 0; i < STREAM_AUTH_RESET_EMAIL_BURST; i++)
    request_ok("nobody@example.com");
  ck_assert_int_eq(
      stream_auth_password_reset_request(&retry, auth, "nobody@example.com", "192.0.2.9"),
      STREAM_EBUSY);
  /* And so is the address (10 per burst; 6 used by ADDR above). */
  char e[64];
  for (int i = 0; i < STREAM_AUTH_RESET_ADDRESS_BURST - 2 * STREAM_AUTH_RESET_EMAIL_BURST; i++) {
    snprintf(e, sizeof e, "x%d@example.com", i);
    request_ok(e);
  }
  ck_assert_int_eq(stream_auth_password_reset_request(&retry, auth, "y@example.com", ADDR),
                   STREAM_EBUSY);
  ck_assert_int_gt(retry, 0);
  ck_assert_int_eq(stream_auth_password_reset_request(&retry, auth, "y@example.com", "192.0.2.2"),
                   STREAM_OK);
  ck_assert_uint_eq(pending(), STREAM_AUTH_RESET_ADDRESS_BURST + 1);
  /* The buckets are the ones of prepare/start: they share the limit. */
  stream_auth_reset *r = NULL;
  ck_assert_int_eq(stream_auth_password_reset_prepare(&r, &retry, auth, EMAIL, "192.0.2.3"),
                   STREAM_EBUSY);
  clock_now += STREAM_AUTH_RESET_EMAIL_INTERVAL;
  request_ok(EMAIL);
  ck_assert_int_eq(n_mails, 0);
}
END_TEST

START_TEST(test_request_args)
{
  int64_t retry = -1;
  ck_assert_int_eq(stream_auth_password_reset_request(&retry, NULL, EMAIL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(retry, 0);
  ck_assert_int_eq(stream_auth_password_reset_request(NULL, auth, NULL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_password_reset_request(NULL, auth, "", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_password_reset_request(NULL, auth, "no-at-sign", NULL),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_password_reset_request(NULL, auth, EMAIL, "bad address"),
                   STREAM_EINVAL);
  ck_assert_uint_eq(pending(), 0);
  /* NULL and "" address: unknown (no address bucket). */
  ck_assert_int_eq(stream_auth_password_reset_request(NULL, auth, EMAIL, NULL), STREAM_OK);
  ck_assert_int_eq(stream_auth_password_reset_request(NULL, auth, "b@example.com", ""), STREAM_OK);
  ck_assert_uint_eq(pending(), 2);

  /* No mail hook: reset disabled, for request and process. */
  stream_auth *nomail = open_auth_on(store, NULL);
  ck_assert_int_eq(stream_auth_password_reset_request(NULL, nomail, EMAIL, NULL), STREAM_ENOTSUP);
  ck_assert_ptr_nonnull(strstr(msg(), "send_mail"));
  size_t done = 99;
  ck_assert_int_eq(stream_auth_password_reset_process(&done, nomail, SIZE_MAX), STREAM_ENOTSUP);
  ck_assert_uint_eq(done, 0);
  stream_auth_free(nomail);

  ck_assert_int_eq(stream_auth_password_reset_process(&done, NULL, 1), STREAM_EINVAL);
  ck_assert_uint_eq(done, 0);
  ck_assert_int_eq(stream_auth_password_reset_pending(NULL, auth), STREAM_EINVAL);
  size_t n = 99;
  ck_assert_int_eq(stream_auth_password_reset_pending(&n, NULL), STREAM_EINVAL);
  ck_assert_uint_eq(n, 0);
  /* max 0: nothing processed; out_done may be NULL. */
  ck_assert_int_eq(stream_auth_password_reset_process(&done, auth, 0), STREAM_OK);
  ck_assert_uint_eq(done, 0);
  ck_assert_uint_eq(pending(), 2);
  ck_assert_int_eq(stream_auth_password_reset_process(NULL, auth, SIZE_MAX), STREAM_OK);
  ck_assert_uint_eq(pending(), 0);
}
END_TEST

/* ---- process --------------------------------------------------------------------- */

START_TEST(test_process_mails_once_and_deletes)
{
  stream_auth_account acct = make_account(EMAIL);
  stream_auth_tokens t1, t;
  ck_assert_int_eq(stream_auth_login(&t1, NULL, auth, EMAIL, PW, ADDR), STREAM_OK);
  request_ok("nobody@example.com");
  request_ok(EMAIL);
  ck_assert_uint_eq(process_ok(auth, SIZE_MAX), 2);
  ck_assert_int_eq(n_mails, 1);
  ck_assert_str_eq(mails[0].to, EMAIL);
  ck_assert_ptr_nonnull(strstr(mails[0].body, "30 minutes"));
  ck_assert_uint_eq(pending(), 0);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_reset_requests"), 0);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets WHERE used_at = 0 AND "
                           "created_at = 1769817600 AND expires_at = 1769819400"),
                   1);
  /* Processing again does nothing. */
  ck_assert_uint_eq(process_ok(auth, SIZE_MAX), 0);
  ck_assert_int_eq(n_mails, 1);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets"), 1);

  /* The mailed link finishes the reset. */
  char tok[STREAM_AUTH_RESET_TOKEN_LEN + 1];
  token_of(tok, 0);
  stream_auth_account out;
  ck_assert_msg(stream_auth_password_reset_finish(&out, auth, tok, PW2) == STREAM_OK, "%s", msg());
  ck_assert_str_eq(out.id, acct.id);
  ck_assert_int_eq(stream_auth_login(&t, NULL, auth, EMAIL, PW2, ADDR), STREAM_OK);
  ck_assert_int_eq(stream_auth_refresh(&t, auth, t1.refresh_token), STREAM_EAUTH);
  /* The token reached no log line and no error message. */
  ck_assert_ptr_null(strstr(logbuf, tok));
  ck_assert_ptr_nonnull(strstr(logbuf, "password reset link sent"));
  ck_assert_ptr_null(strstr(msg(), tok));
}
END_TEST

START_TEST(test_process_unknown_disabled_deleted_without_mail)
{
  stream_auth_account off = make_account("off@example.com");
  stream_auth_account gone = make_account("gone@example.com");
  ck_assert_int_eq(stream_auth_account_set_disabled(auth, off.id, 1), STREAM_OK);
  request_ok("nobody@example.com");
  request_ok("off@example.com");
  request_ok("gone@example.com");
  /* Deleted after the request was accepted: processed as unknown. */
  ck_assert_int_eq(stream_auth_account_delete_admin(auth, gone.id), STREAM_OK);
  ck_assert_uint_eq(process_ok(auth, SIZE_MAX), 3);
  ck_assert_int_eq(n_mails, 0);
  ck_assert_uint_eq(pending(), 0);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets"), 0);
}
END_TEST

START_TEST(test_process_oldest_first_and_max)
{
  make_account("a@example.com");
  make_account("b@example.com");
  make_account("c@example.com");
  request_ok("a@example.com");
  clock_now += 1;
  request_ok("b@example.com");
  request_ok("c@example.com");
  ck_assert_uint_eq(process_ok(auth, 1), 1);
  ck_assert_int_eq(n_mails, 1);
  ck_assert_str_eq(mails[0].to, "a@example.com");
  ck_assert_uint_eq(pending(), 2);
  ck_assert_uint_eq(process_ok(auth, SIZE_MAX), 2);
  ck_assert_int_eq(n_mails, 3);
  ck_assert_str_eq(mails[1].to, "b@example.com");
  ck_assert_str_eq(mails[2].to, "c@example.com");
}
END_TEST

/* Three requests for one address: three mails in order; only the newest link works. */
START_TEST(test_process_burst_newest_link_works)
{
  make_account(EMAIL);
  for (int i = 0; i < 3; i++)
    request_ok(EMAIL);
  ck_assert_uint_eq(process_ok(auth, SIZE_MAX), 3);
  ck_assert_int_eq(n_mails, 3);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets"), 1);
  char tok[STREAM_AUTH_RESET_TOKEN_LEN + 1];
  token_of(tok, 1);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, PW2), STREAM_EAUTH);
  token_of(tok, 2);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, PW2), STREAM_OK);
}
END_TEST

START_TEST(test_expiry_counts_from_the_request)
{
  make_account(EMAIL);
  request_ok(EMAIL);
  clock_now += 600; /* processed 10 minutes later */
  ck_assert_uint_eq(process_ok(auth, SIZE_MAX), 1);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets WHERE created_at = 1769817600 "
                           "AND expires_at = 1769819400"),
                   1);
  /* The message says how long the link is still valid. */
  ck_assert_ptr_nonnull(strstr(mails[0].body, "20 minutes"));
  char tok[STREAM_AUTH_RESET_TOKEN_LEN + 1];
  token_of(tok, 0);
  clock_now = T0 + 1800;
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, PW2), STREAM_EEXPIRED);
  clock_now = T0 + 1799;
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, PW2), STREAM_OK);
}
END_TEST

/* A request older than the lifetime is dropped without a message: pending
 * requests do not pile up, and nobody gets a dead link. */
START_TEST(test_expired_request_is_dropped)
{
  make_account(EMAIL);
  request_ok(EMAIL);
  clock_now += 1799;
  request_ok(EMAIL); /* still valid one second */
  clock_now += 1;
  ck_assert_uint_eq(process_ok(auth, SIZE_MAX), 2);
  ck_assert_int_eq(n_mails, 1);
  ck_assert_ptr_nonnull(strstr(mails[0].body, "30 minutes")); /* 1799 s, rounded up */
  ck_assert_uint_eq(pending(), 0);
  ck_assert_ptr_nonnull(strstr(logbuf, "expired before it was processed"));
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets WHERE created_at = 1769819399"),
                   1);
}
END_TEST

/* A refused message is not lost: the request stays, is not retried before its
 * claim runs out, and then goes out with a new link (the first one is dead). */
START_TEST(test_refused_mail_is_retried)
{
  make_account(EMAIL);
  make_account("b@example.com");
  request_ok(EMAIL);
  request_ok("b@example.com");
  mail_result = -1;
  size_t done = 99;
  ck_assert_int_eq(stream_auth_password_reset_process(&done, auth, SIZE_MAX), STREAM_EIO);
  ck_assert_ptr_nonnull(strstr(msg(), "refused 2 password reset message(s)"));
  ck_assert_uint_eq(done, 0);
  ck_assert_int_eq(n_mails, 2);
  ck_assert_uint_eq(pending(), 2);
  ck_assert_ptr_nonnull(strstr(logbuf, "was not accepted"));
  /* Claimed: not taken again before the claim runs out. */
  mail_result = 0;
  clock_now += STREAM_AUTH_RESET_CLAIM_SECONDS - 1;
  ck_assert_uint_eq(process_ok(auth, SIZE_MAX), 0);
  ck_assert_int_eq(n_mails, 2);
  clock_now += 1;
  ck_assert_uint_eq(process_ok(auth, SIZE_MAX), 2);
  ck_assert_int_eq(n_mails, 4);
  ck_assert_str_eq(mails[2].to, EMAIL); /* still in request order */
  ck_assert_str_eq(mails[3].to, "b@example.com");
  ck_assert_uint_eq(pending(), 0);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets"), 2);
  char tok[STREAM_AUTH_RESET_TOKEN_LEN + 1];
  token_of(tok, 0);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, PW2), STREAM_EAUTH);
  token_of(tok, 2);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, PW2), STREAM_OK);
}
END_TEST

/* A child process processes with its own handles and dies in the mail hook
 * (die = 1: after the mail went out; 2: before). Returns after it exited. */
static void process_in_child_and_die(int die)
{
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    stream_store *s = auth_fixture_store();
    stream_auth *a = open_auth_on(s, file_hook);
    die_in_hook = die;
    size_t done = 0;
    stream_auth_password_reset_process(&done, a, SIZE_MAX);
    _exit(3); /* not reached: the hook exits */
  }
  int status = 0;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert(WIFEXITED(status));
  ck_assert_int_eq(WEXITSTATUS(status), 0);
}

/* Lines of the mail file: "to token". */
static int read_mails(char to[][64], char tok[][STREAM_AUTH_RESET_TOKEN_LEN + 1], int max)
{
  FILE *f = fopen(mailfile, "r");
  if (!f)
    return 0;
  int n = 0;
  while (n < max && fscanf(f, "%63s %43s", to[n], tok[n]) == 2)
    n++;
  fclose(f);
  return n;
}

/* Killed after the mail, before the delete: the next processor (a new handle,
 * at once, without waiting for the claim) mails again; only that link works. */
START_TEST(test_killed_after_mail_mails_again)
{
  make_account(EMAIL);
  make_account("b@example.com");
  request_ok(EMAIL);
  request_ok("b@example.com");
  process_in_child_and_die(1);
  char to[8][64], tok[8][STREAM_AUTH_RESET_TOKEN_LEN + 1];
  ck_assert_int_eq(read_mails(to, tok, 8), 1);
  ck_assert_str_eq(to[0], EMAIL);
  ck_assert_uint_eq(pending(), 2);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_reset_requests WHERE claimed_until > 0"),
                   1);

  /* A restarted server: new store and auth handles, same clock second. */
  stream_store *s2 = auth_fixture_store();
  stream_auth *a2 = open_auth_on(s2, file_hook);
  ck_assert_uint_eq(process_ok(a2, SIZE_MAX), 2);
  ck_assert_ptr_nonnull(strstr(logbuf, "took back 1 password reset request"));
  ck_assert_int_eq(read_mails(to, tok, 8), 3);
  ck_assert_str_eq(to[1], EMAIL); /* the duplicate: at least once */
  ck_assert_str_eq(to[2], "b@example.com");
  ck_assert_str_ne(tok[0], tok[1]);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, a2, tok[0], PW2), STREAM_EAUTH);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, a2, tok[1], PW2), STREAM_OK);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, a2, tok[2], PW2), STREAM_OK);
  size_t n = 99;
  ck_assert_int_eq(stream_auth_password_reset_pending(&n, a2), STREAM_OK);
  ck_assert_uint_eq(n, 0);
  stream_auth_free(a2);
  stream_store_close(s2);
}
END_TEST

/* Killed before the mail: the reset row of the dead claim was stored but never
 * mailed; the next processor mails a new link, once. */
START_TEST(test_killed_before_mail_mails_once)
{
  make_account(EMAIL);
  request_ok(EMAIL);
  process_in_child_and_die(2);
  char to[8][64], tok[8][STREAM_AUTH_RESET_TOKEN_LEN + 1];
  ck_assert_int_eq(read_mails(to, tok, 8), 0);
  ck_assert_uint_eq(pending(), 1);
  stream_store *s2 = auth_fixture_store();
  stream_auth *a2 = open_auth_on(s2, file_hook);
  ck_assert_uint_eq(process_ok(a2, SIZE_MAX), 1);
  ck_assert_int_eq(read_mails(to, tok, 8), 1);
  ck_assert_str_eq(to[0], EMAIL);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets"), 1);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, a2, tok[0], PW2), STREAM_OK);
  stream_auth_free(a2);
  stream_store_close(s2);
}
END_TEST

/* An old handle's later calls do not take back claims (only a handle's first
 * call does): a live processor's request is not mailed twice by its peer. */
START_TEST(test_claims_are_taken_back_only_once_per_handle)
{
  make_account(EMAIL);
  ck_assert_uint_eq(process_ok(auth, SIZE_MAX), 0); /* this handle's first call */
  request_ok(EMAIL);
  process_in_child_and_die(2); /* leaves a claim */
  ck_assert_uint_eq(process_ok(auth, SIZE_MAX), 0);
  ck_assert_int_eq(n_mails, 0);
  clock_now += STREAM_AUTH_RESET_CLAIM_SECONDS;
  ck_assert_uint_eq(process_ok(auth, SIZE_MAX), 1);
  ck_assert_int_eq(n_mails, 1);
}
END_TEST

typedef struct proc_arg {
  stream_auth *a;
  size_t done;
  int rc;
} proc_arg;

static void *process_thread(void *p)
{
  proc_arg *x = p;
  x->rc = stream_auth_password_reset_process(&x->done, x->a, SIZE_MAX);
  return NULL;
}

/* Two processors at once (two handles on two store connections, one thread
 * each): every request is mailed exactly once. */
START_TEST(test_two_processors_mail_each_request_once)
{
  enum { N = 40 };
  char e[N][64];
  for (int i = 0; i < N; i++) {
    snprintf(e[i], sizeof e[i], "user%d@example.com", i);
    make_account(e[i]);
    ck_assert_int_eq(stream_auth_password_reset_request(NULL, auth, e[i], NULL), STREAM_OK);
  }
  stream_store *s2 = auth_fixture_store();
  stream_auth *a2 = open_auth_on(s2, mail_hook);
  /* Both handles' first calls done before the race (each takes back claims once). */
  ck_assert_uint_eq(process_ok(auth, 0), 0);
  ck_assert_uint_eq(process_ok(a2, 0), 0);
  proc_arg x[2] = {{auth, 0, -999}, {a2, 0, -999}};
  pthread_t th[2];
  for (int i = 0; i < 2; i++)
    ck_assert_int_eq(pthread_create(&th[i], NULL, process_thread, &x[i]), 0);
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
  ck_assert_int_eq(x[0].rc, STREAM_OK);
  ck_assert_int_eq(x[1].rc, STREAM_OK);
  ck_assert_uint_eq(x[0].done + x[1].done, N);
  ck_assert_int_eq(n_mails, N);
  for (int i = 0; i < N; i++) {
    int seen = 0;
    for (int j = 0; j < N; j++)
      seen += strcmp(mails[j].to, e[i]) == 0;
    ck_assert_msg(seen == 1, "%s mailed %d times", e[i], seen);
  }
  ck_assert_uint_eq(pending(), 0);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets"), N);
  stream_auth_free(a2);
  stream_store_close(s2);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("auth-reset-requests");
  TCase *tc = tcase_create("reset-requests");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_request_stores_a_row_and_mails_nothing);
  tcase_add_test(tc, test_request_rate_limits);
  tcase_add_test(tc, test_request_args);
  tcase_add_test(tc, test_process_mails_once_and_deletes);
  tcase_add_test(tc, test_process_unknown_disabled_deleted_without_mail);
  tcase_add_test(tc, test_process_oldest_first_and_max);
  tcase_add_test(tc, test_process_burst_newest_link_works);
  tcase_add_test(tc, test_expiry_counts_from_the_request);
  tcase_add_test(tc, test_expired_request_is_dropped);
  tcase_add_test(tc, test_refused_mail_is_retried);
  tcase_add_test(tc, test_killed_after_mail_mails_again);
  tcase_add_test(tc, test_killed_before_mail_mails_once);
  tcase_add_test(tc, test_claims_are_taken_back_only_once_per_handle);
  tcase_add_test(tc, test_two_processors_mail_each_request_once);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
