/* Unit tests of the password change (stream_auth_change_password) and the
 * forgotten-password flow (stream_auth_password_reset_start, its two halves
 * _prepare / _send, and _finish) over a real SQLite store in a temporary
 * directory, with an injected clock, cheap
 * Argon2id parameters, a mail hook that keeps the messages and a log callback
 * that keeps every log line (the token must never show up there). Raw SQL
 * only counts reset rows, which the public API does not list. Under
 * tests/pg/pg_run.sh the same cases run on PostgreSQL (store_path.h). */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../store_path.h"
#include "../store_raw.h"
#include "auth_fixture.h"
#include "stream/auth.h"
#include "stream/features.h"

#if STREAM_HAVE_POSTGRES
#include <libpq-fe.h>
#endif

#define T0 1769817600LL /* 2026-01-31T00:00:00Z */
#define PW "correct horse"
#define PW2 "battery staple"
#define BASE "https://app.test/#/reset?token="
#define EMAIL "ada@example.com"

static stream_store *store;
static stream_auth *auth;

/* The mail hook's outbox. */
#define MAILS_MAX 8
static struct {
  char to[256];
  char subject[128];
  char body[4096];
} mails[MAILS_MAX];
static int n_mails;
static int mail_result;

static int mail_hook(void *ud, const char *to, const char *subject, const char *body)
{
  ck_assert_ptr_eq(ud, &n_mails);
  if (n_mails < MAILS_MAX) {
    snprintf(mails[n_mails].to, sizeof mails[n_mails].to, "%s", to);
    snprintf(mails[n_mails].subject, sizeof mails[n_mails].subject, "%s", subject);
    snprintf(mails[n_mails].body, sizeof mails[n_mails].body, "%s", body);
  }
  n_mails++;
  return mail_result;
}

static void base_options(stream_auth_options *o)
{
  auth_fixture_options(o, store);
  o->send_mail = mail_hook;
  o->mail_userdata = &n_mails;
  o->reset_url_base = BASE;
}

static stream_auth *open_auth(unsigned int account_burst)
{
  stream_auth_options o;
  base_options(&o);
  o.rate_account_burst = account_burst;
  stream_auth *a = NULL;
  ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_OK);
  return a;
}

static void setup(void)
{
  auth_fixture_setup("pwreset", T0, true);
  store = auth_fixture_store();
  n_mails = 0;
  mail_result = 0;
  auth = open_auth(1000);
}

static void teardown(void)
{
  stream_auth_free(auth);
  auth = NULL;
  stream_store_close(store);
  store = NULL;
  auth_fixture_teardown(NULL);
}

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

static int login(stream_auth_tokens *t, const char *email, const char *password)
{
  return stream_auth_login(t, NULL, auth, email, password, "192.0.2.1");
}

/* The token of mail `i`: the 43 characters after the link base. */
static void token_of(char out[STREAM_AUTH_RESET_TOKEN_LEN + 1], int i)
{
  const char *p = strstr(mails[i].body, BASE);
  ck_assert_ptr_nonnull(p);
  p += strlen(BASE);
  memcpy(out, p, STREAM_AUTH_RESET_TOKEN_LEN);
  out[STREAM_AUTH_RESET_TOKEN_LEN] = '\0';
  ck_assert_uint_eq(strspn(out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                    STREAM_AUTH_RESET_TOKEN_LEN);
  /* The link ends there (a line end follows). */
  ck_assert_int_eq(p[STREAM_AUTH_RESET_TOKEN_LEN], '\n');
}

static void start_ok(const char *email)
{
  int64_t retry = -1;
  ck_assert_msg(stream_auth_password_reset_start(&retry, auth, email, "192.0.2.1") == STREAM_OK,
                "%s", msg());
  ck_assert_int_eq(retry, 0);
}

/* ---- change password --------------------------------------------------------- */

START_TEST(test_change_password)
{
  stream_auth_account acct = make_account(EMAIL);
  stream_auth_tokens t1, t2, t;
  ck_assert_int_eq(login(&t1, EMAIL, PW), STREAM_OK);
  ck_assert_int_eq(login(&t2, EMAIL, PW), STREAM_OK);

  /* Wrong current password: EAUTH and nothing changes. */
  ck_assert_int_eq(stream_auth_change_password(NULL, auth, acct.id, "not the password", PW2, NULL),
                   STREAM_EAUTH);
  ck_assert_str_eq(msg(), "auth: wrong password");
  ck_assert_int_eq(login(&t, EMAIL, PW), STREAM_OK);
  ck_assert_int_eq(stream_auth_refresh(&t, auth, t1.refresh_token), STREAM_OK);
  char live[STREAM_AUTH_REFRESH_TOKEN_SIZE];
  memcpy(live, t.refresh_token, sizeof live);

  /* A weak new password is refused before the current one is checked. */
  ck_assert_int_eq(stream_auth_change_password(NULL, auth, acct.id, PW, "short", NULL),
                   STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "new password must be at least 8 bytes"));

  int64_t retry = -1;
  ck_assert_int_eq(stream_auth_change_password(&retry, auth, acct.id, PW, PW2, "192.0.2.7"),
                   STREAM_OK);
  ck_assert_int_eq(retry, 0);
  /* Every refresh token of the account is revoked. */
  ck_assert_int_eq(stream_auth_refresh(&t, auth, live), STREAM_EAUTH);
  ck_assert_int_eq(stream_auth_refresh(&t, auth, t2.refresh_token), STREAM_EAUTH);
  /* The new password signs in, the old one does not. */
  ck_assert_int_eq(login(&t, EMAIL, PW), STREAM_EAUTH);
  ck_assert_int_eq(login(&t, EMAIL, PW2), STREAM_OK);
  ck_assert_str_eq(t.account_id, acct.id);
}
END_TEST

START_TEST(test_change_password_rate_limited)
{
  stream_auth_free(auth);
  auth = open_auth(2);
  stream_auth_account acct = make_account(EMAIL);
  for (int i = 0; i < 2; i++)
    ck_assert_int_eq(stream_auth_change_password(NULL, auth, acct.id, "wrong one", PW2, NULL),
                     STREAM_EAUTH);
  int64_t retry = 0;
  /* The bucket is the sign-in one: even the right password waits now. */
  ck_assert_int_eq(stream_auth_change_password(&retry, auth, acct.id, PW, PW2, NULL), STREAM_EBUSY);
  ck_assert_int_gt(retry, 0);
  stream_auth_tokens t;
  ck_assert_int_eq(login(&t, EMAIL, PW), STREAM_EBUSY);
  clock_now += retry;
  ck_assert_int_eq(stream_auth_change_password(&retry, auth, acct.id, PW, PW2, NULL), STREAM_OK);
}
END_TEST

START_TEST(test_change_password_args)
{
  stream_auth_account acct = make_account(EMAIL);
  stream_auth_account other = make_account("bob@example.com");
  ck_assert_int_eq(stream_auth_change_password(NULL, NULL, acct.id, PW, PW2, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_change_password(NULL, auth, NULL, PW, PW2, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_change_password(NULL, auth, "", PW, PW2, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_change_password(NULL, auth, "bad id!", PW, PW2, NULL),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_change_password(NULL, auth, acct.id, NULL, PW2, NULL),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_change_password(NULL, auth, acct.id, "", PW2, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_change_password(NULL, auth, acct.id, PW, NULL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_change_password(NULL, auth, acct.id, PW, "", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_change_password(NULL, auth, acct.id, PW, PW2, "bad address"),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_change_password(NULL, auth, "AAAAAAAAAAAAAAAAAAAAAA", PW, PW2, NULL),
                   STREAM_ENOTFOUND);
  /* The other account's password is not this one's. */
  ck_assert_int_eq(stream_auth_change_password(NULL, auth, other.id, "x" PW, PW2, NULL),
                   STREAM_EAUTH);
  /* Disabled: said only after the right password. */
  ck_assert_int_eq(stream_auth_account_set_disabled(auth, acct.id, 1), STREAM_OK);
  ck_assert_int_eq(stream_auth_change_password(NULL, auth, acct.id, PW, PW2, NULL),
                   STREAM_EFORBIDDEN);
}
END_TEST

/* A password change that commits between a sign-in's read of the account and the insert of
 * its refresh token. A trigger on refresh_tokens applies the change (the new password's hash,
 * every refresh token of the account revoked, as stream_auth_change_password() does) right
 * before the sign-in's insert: the moment a change by another thread or process could commit.
 * The sign-in with the old password must fail and leave no live session: before the fix it
 * answered STREAM_OK with a refresh token that outlived the change. */
START_TEST(test_login_racing_password_change)
{
  stream_auth_account acct = make_account(EMAIL);
  char *h = NULL;
  ck_assert_int_eq(stream_password_hash(&h, PW2, strlen(PW2), &cheap), STREAM_OK);
  char sql[2048];
  if (test_store_is_pg())
    snprintf(sql, sizeof sql,
             "CREATE FUNCTION password_change_race() RETURNS trigger LANGUAGE plpgsql AS $rv4$ "
             "BEGIN IF (SELECT password_hash FROM accounts WHERE id = NEW.account_id) <> '%s' "
             "THEN UPDATE accounts SET password_hash = '%s' WHERE id = NEW.account_id; "
             "UPDATE refresh_tokens SET revoked_at = NEW.created_at "
             "WHERE account_id = NEW.account_id AND revoked_at IS NULL; END IF; RETURN NEW; END "
             "$rv4$; CREATE TRIGGER password_change_race BEFORE INSERT ON refresh_tokens "
             "FOR EACH ROW EXECUTE FUNCTION password_change_race();",
             h, h);
  else
    snprintf(sql, sizeof sql,
             "CREATE TRIGGER password_change_race BEFORE INSERT ON refresh_tokens "
             "WHEN (SELECT password_hash FROM accounts WHERE id = NEW.account_id) <> '%s' BEGIN "
             "UPDATE accounts SET password_hash = '%s' WHERE id = NEW.account_id; "
             "UPDATE refresh_tokens SET revoked_at = NEW.created_at "
             "WHERE account_id = NEW.account_id AND revoked_at IS NULL; END;",
             h, h);
  stream_free(h);
  test_store_raw_exec(dbpath, sql);

  stream_auth_tokens t;
  ck_assert_int_eq(login(&t, EMAIL, PW), STREAM_EAUTH);
  ck_assert_str_eq(msg(), "invalid e-mail or password");
  ck_assert_str_eq(t.refresh_token, "");
  ck_assert_int_eq(raw_int("SELECT count(*) FROM refresh_tokens WHERE revoked_at IS NULL"), 0);
  /* The new password signs in (the trigger does nothing once the hash is the new one). */
  ck_assert_int_eq(login(&t, EMAIL, PW2), STREAM_OK);
  ck_assert_str_eq(t.account_id, acct.id);
  stream_auth_tokens t2;
  ck_assert_int_eq(stream_auth_refresh(&t2, auth, t.refresh_token), STREAM_OK);
}
END_TEST

/* An operator disables the account while its owner's password change is running: the
 * change read the account (enabled) before, and wrote its whole row back after, putting
 * `disabled` back to 0. The clock of the changing handle is the hook: the change reads the
 * clock once, after reading the account and before checking the password, and there the
 * operator's handle (its own clock) disables the account. */
static stream_auth *operator_auth;
static char race_account[STREAM_AUTH_ID_SIZE];
static int race_calls;

static int64_t racing_clock(void *ud)
{
  if (race_calls++ == 0)
    ck_assert_int_eq(stream_auth_account_set_disabled(operator_auth, race_account, 1), STREAM_OK);
  return *(int64_t *)ud;
}

START_TEST(test_change_password_keeps_concurrent_disable)
{
  stream_auth_account acct = make_account(EMAIL);
  operator_auth = auth; /* the fixture's handle: the system's own clock is not involved */
  memcpy(race_account, acct.id, sizeof race_account);
  race_calls = 0;
  stream_auth_options o;
  base_options(&o);
  o.now = racing_clock;
  stream_auth *owner = NULL;
  ck_assert_int_eq(stream_auth_new(&owner, &o), STREAM_OK);
  int rc = stream_auth_change_password(NULL, owner, acct.id, PW, PW2, NULL);
  ck_assert_int_ge(race_calls, 1);
  stream_auth_free(owner);
  /* The change lost to the disable (said like a disabled account's), and nothing undid it. */
  ck_assert_int_eq(rc, STREAM_EFORBIDDEN);
  stream_auth_account now;
  ck_assert_int_eq(stream_auth_account_get(&now, auth, acct.id), STREAM_OK);
  ck_assert_int_eq(now.disabled, 1);
  stream_auth_tokens t;
  ck_assert_int_eq(login(&t, EMAIL, PW), STREAM_EFORBIDDEN);
  /* Re-enabled by the operator, the account still has its old password. */
  ck_assert_int_eq(stream_auth_account_set_disabled(auth, acct.id, 0), STREAM_OK);
  ck_assert_int_eq(login(&t, EMAIL, PW), STREAM_OK);
}
END_TEST

/* ---- profile edits: compare-and-set --------------------------------------------- */

/* A profile "Teen" (not kids, ceiling 18, no PIN) of a new account, and a trigger that
 * plays another writer committing between a profile update's read and its write: right
 * before an UPDATE that changes the PIN hash of a row that is not a kids profile, it
 * applies `other` (a parent's edit of the same row) and skips the statement's own write
 * of that row (SQLite RAISE(IGNORE), PostgreSQL RETURN NULL; the trigger's own change
 * stays). A compare-and-set write that lost such a race writes nothing: that is what the
 * update sees. `other` must keep the trigger's WHEN true to fire on every try. */
static stream_auth_profile race_profile(const char *other)
{
  stream_auth_account acct = make_account(EMAIL);
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.name = "Teen";
  stream_auth_profile p;
  ck_assert_int_eq(stream_auth_profile_create(&p, auth, acct.id, &in), STREAM_OK);
  ck_assert_int_eq(p.kids, 0);
  ck_assert_int_eq(p.maturity_ceiling, 18);
  char sql[2048];
  if (test_store_is_pg())
    snprintf(sql, sizeof sql,
             "CREATE FUNCTION profile_edit_race() RETURNS trigger LANGUAGE plpgsql AS $pr$ "
             "BEGIN IF OLD.kids = 0 AND NEW.pin_hash IS DISTINCT FROM OLD.pin_hash THEN "
             "UPDATE profiles SET %s WHERE id = OLD.id; RETURN NULL; END IF; RETURN NEW; END "
             "$pr$; CREATE TRIGGER profile_edit_race BEFORE UPDATE ON profiles "
             "FOR EACH ROW EXECUTE FUNCTION profile_edit_race();",
             other);
  else
    snprintf(sql, sizeof sql,
             "CREATE TRIGGER profile_edit_race BEFORE UPDATE ON profiles "
             "WHEN OLD.kids = 0 AND NEW.pin_hash IS NOT OLD.pin_hash BEGIN "
             "UPDATE profiles SET %s WHERE id = OLD.id; SELECT RAISE(IGNORE); END;",
             other);
  test_store_raw_exec(dbpath, sql);
  return p;
}

/* A parent makes the profile a kids profile while a PIN change on it is running (the PIN
 * hashes between the change's read of the row and its write). Before the fix the PIN
 * change wrote back the whole row as it had read it, putting back kids = 0 and ceiling 18
 * (a race no test could force: here the write that lost it answered STREAM_ENOTFOUND). Now
 * the change is applied again to the row as it is now: the PIN is set and the parent's
 * limits stay. */
START_TEST(test_profile_pin_change_keeps_concurrent_kids)
{
  stream_auth_profile p = race_profile("kids = 1, maturity_ceiling = 7");
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.pin = "2468";
  stream_auth_profile out;
  ck_assert_msg(stream_auth_profile_update(&out, auth, p.account_id, p.id, &in) == STREAM_OK, "%s",
                msg());
  ck_assert_int_eq(out.kids, 1);
  ck_assert_int_eq(out.maturity_ceiling, 7);
  ck_assert_int_eq(out.has_pin, 1);
  /* The store holds the same: the parent's limits and the new PIN. */
  stream_auth_profile now;
  ck_assert_int_eq(stream_auth_profile_get(&now, auth, p.account_id, p.id), STREAM_OK);
  ck_assert_int_eq(now.kids, 1);
  ck_assert_int_eq(now.maturity_ceiling, 7);
  ck_assert_int_eq(now.has_pin, 1);
  stream_auth_tokens t;
  ck_assert_int_eq(stream_auth_switch_profile(&t, NULL, auth, p.account_id, p.id, NULL),
                   STREAM_EFORBIDDEN);
  ck_assert_int_eq(stream_auth_switch_profile(&t, NULL, auth, p.account_id, p.id, "2468"),
                   STREAM_OK);
  stream_auth_identity who;
  ck_assert_int_eq(stream_auth_verify_access(&who, auth, t.access_token), STREAM_OK);
  ck_assert_int_eq(who.kids, 1);
  ck_assert_int_eq(who.maturity_ceiling, 7);
}
END_TEST

/* A row that changes before every write: the update gives up after a bounded number of
 * tries (STREAM_EBUSY, named), and changes nothing of its own. */
START_TEST(test_profile_update_gives_up_on_a_row_that_keeps_changing)
{
  stream_auth_profile p = race_profile("avatar = avatar || 'x'");
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.pin = "2468";
  in.name = "Renamed";
  ck_assert_int_eq(stream_auth_profile_update(NULL, auth, p.account_id, p.id, &in), STREAM_EBUSY);
  ck_assert_msg(strstr(msg(), "changed 8 times while being updated") != NULL, "%s", msg());
  stream_auth_profile now;
  ck_assert_int_eq(stream_auth_profile_get(&now, auth, p.account_id, p.id), STREAM_OK);
  ck_assert_str_eq(now.name, "Teen");
  ck_assert_int_eq(now.has_pin, 0);
  ck_assert_str_eq(now.avatar, "xxxxxxxx"); /* one other edit per try */
}
END_TEST

#if STREAM_HAVE_POSTGRES
/* The same race with no trigger, on PostgreSQL, where the interleaving can be forced with
 * real writers: a second connection runs the parent's edit (kids on) in a transaction it
 * keeps open, holding the row's lock. The PIN change, on its own thread, reads the row
 * (the committed one: kids off), hashes, and its UPDATE waits for that lock; the test sees
 * the wait in pg_stat_activity and only then commits the parent's edit. Before the fix the
 * PIN change's UPDATE then wrote the row it had read (kids off, ceiling 18) over the
 * parent's; now its compare finds the row changed and it applies the PIN to the new row. */
struct pin_change {
  stream_auth_profile p, out;
  int rc;
  char err[512];
};

static void *pin_change_thread(void *arg)
{
  struct pin_change *pc = arg;
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.pin = "2468";
  pc->rc = stream_auth_profile_update(&pc->out, auth, pc->p.account_id, pc->p.id, &in);
  snprintf(pc->err, sizeof pc->err, "%s", pc->rc == STREAM_OK ? "" : msg());
  return NULL;
}

static void pg_ok(PGconn *c, const char *sql)
{
  PGresult *r = PQexec(c, sql);
  ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK, "%s: %s", sql, PQerrorMessage(c));
  PQclear(r);
}

START_TEST(test_profile_pin_change_waits_for_concurrent_kids_pg)
{
  stream_auth_account acct = make_account(EMAIL);
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.name = "Teen";
  struct pin_change pc;
  memset(&pc, 0, sizeof pc);
  ck_assert_int_eq(stream_auth_profile_create(&pc.p, auth, acct.id, &in), STREAM_OK);
  char uri[512];
  PGconn *parent = PQconnectdb(test_store_path(uri, sizeof uri, dbpath));
  ck_assert_msg(PQstatus(parent) == CONNECTION_OK, "%s", PQerrorMessage(parent));
  char sql[256];
  snprintf(sql, sizeof sql, "UPDATE profiles SET kids = 1, maturity_ceiling = 7 WHERE id = '%s'",
           pc.p.id);
  pg_ok(parent, "BEGIN");
  pg_ok(parent, sql);
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, pin_change_thread, &pc), 0);
  /* Until the PIN change's UPDATE waits for the parent's row lock (the test's timeout
   * bounds this if it never does); in this database only (other tests share the server). */
  while (raw_int("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                 "AND query LIKE 'UPDATE profiles%' AND datname = current_database()") == 0)
    usleep(1000);
  pg_ok(parent, "COMMIT");
  PQfinish(parent);
  ck_assert_int_eq(pthread_join(th, NULL), 0);
  ck_assert_msg(pc.rc == STREAM_OK, "%s", pc.err);
  stream_auth_profile now;
  ck_assert_int_eq(stream_auth_profile_get(&now, auth, acct.id, pc.p.id), STREAM_OK);
  ck_assert_int_eq(now.kids, 1);
  ck_assert_int_eq(now.maturity_ceiling, 7);
  ck_assert_int_eq(now.has_pin, 1);
  ck_assert_int_eq(pc.out.kids, 1);
  ck_assert_int_eq(pc.out.has_pin, 1);
}
END_TEST
#endif

/* ---- reset: start --------------------------------------------------------------- */

START_TEST(test_reset_unknown_email)
{
  make_account(EMAIL);
  start_ok("nobody@example.com");
  ck_assert_int_eq(n_mails, 0);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets"), 0);
}
END_TEST

START_TEST(test_reset_flow)
{
  stream_auth_account acct = make_account(EMAIL);
  stream_auth_tokens t1, t;
  ck_assert_int_eq(login(&t1, EMAIL, PW), STREAM_OK);
  start_ok("  Ada@Example.COM ");
  ck_assert_int_eq(n_mails, 1);
  ck_assert_str_eq(mails[0].to, EMAIL);
  ck_assert_str_eq(mails[0].subject, "Reset your password");
  ck_assert_ptr_nonnull(strstr(mails[0].body, "30 minutes"));
  char tok[STREAM_AUTH_RESET_TOKEN_LEN + 1];
  token_of(tok, 0);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets WHERE used_at = 0"), 1);
  /* Only a hash is stored: the token itself is nowhere in the table. */
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets WHERE expires_at = 1769819400 "
                           "AND length(token_hash) = 64"),
                   1);

  clock_now += 60;
  stream_auth_account out;
  ck_assert_msg(stream_auth_password_reset_finish(&out, auth, tok, PW2) == STREAM_OK, "%s", msg());
  ck_assert_str_eq(out.id, acct.id);
  ck_assert_str_eq(out.email, EMAIL);
  ck_assert_int_eq(login(&t, EMAIL, PW), STREAM_EAUTH);
  ck_assert_int_eq(login(&t, EMAIL, PW2), STREAM_OK);
  ck_assert_int_eq(stream_auth_refresh(&t, auth, t1.refresh_token), STREAM_EAUTH);
  /* A second use fails, and changes nothing. */
  ck_assert_int_eq(stream_auth_password_reset_finish(&out, auth, tok, "third password"),
                   STREAM_EAUTH);
  ck_assert_str_eq(out.id, "");
  ck_assert_int_eq(login(&t, EMAIL, PW2), STREAM_OK);
  /* An unknown token of the right shape: EAUTH too. */
  ck_assert_int_eq(stream_auth_password_reset_finish(
                       NULL, auth, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "third password"),
                   STREAM_EAUTH);

  /* The token never reached a log line or an error message. */
  ck_assert_ptr_null(strstr(logbuf, tok));
  ck_assert_ptr_nonnull(strstr(logbuf, "password reset link sent"));
  ck_assert_ptr_null(strstr(msg(), tok));
}
END_TEST

START_TEST(test_reset_expired)
{
  make_account(EMAIL);
  start_ok(EMAIL);
  char tok[STREAM_AUTH_RESET_TOKEN_LEN + 1];
  token_of(tok, 0);
  clock_now += 31 * 60;
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, PW2), STREAM_EEXPIRED);
  ck_assert_ptr_nonnull(strstr(msg(), "expired"));
  stream_auth_tokens t;
  ck_assert_int_eq(login(&t, EMAIL, PW), STREAM_OK);
  /* Exactly at the expiry it is expired already. */
  start_ok(EMAIL);
  token_of(tok, 1);
  clock_now += 1800;
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, PW2), STREAM_EEXPIRED);
  clock_now -= 1;
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, PW2), STREAM_OK);
}
END_TEST

START_TEST(test_reset_second_start_invalidates_first)
{
  make_account(EMAIL);
  start_ok(EMAIL);
  start_ok(EMAIL);
  ck_assert_int_eq(n_mails, 2);
  char tok1[STREAM_AUTH_RESET_TOKEN_LEN + 1], tok2[STREAM_AUTH_RESET_TOKEN_LEN + 1];
  token_of(tok1, 0);
  token_of(tok2, 1);
  ck_assert_str_ne(tok1, tok2);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets"), 1);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok1, PW2), STREAM_EAUTH);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok2, PW2), STREAM_OK);
}
END_TEST

typedef struct race_arg {
  const char *token;
  const char *password;
  int rc;
} race_arg;

static void *race_finish(void *p)
{
  race_arg *r = p;
  r->rc = stream_auth_password_reset_finish(NULL, auth, r->token, r->password);
  return NULL;
}

START_TEST(test_reset_race)
{
  make_account(EMAIL);
  for (int round = 0; round < 4; round++) {
    start_ok(EMAIL);
    char tok[STREAM_AUTH_RESET_TOKEN_LEN + 1];
    token_of(tok, round);
    race_arg r[2] = {{tok, "password-one", -999}, {tok, "password-two", -999}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
      ck_assert_int_eq(pthread_create(&th[i], NULL, race_finish, &r[i]), 0);
    for (int i = 0; i < 2; i++)
      pthread_join(th[i], NULL);
    int wins = (r[0].rc == STREAM_OK) + (r[1].rc == STREAM_OK);
    ck_assert_int_eq(wins, 1);
    ck_assert_int_eq(r[0].rc == STREAM_OK ? r[1].rc : r[0].rc, STREAM_EAUTH);
    /* The winner's password is the one that works. */
    const char *won = r[0].rc == STREAM_OK ? r[0].password : r[1].password;
    const char *lost = r[0].rc == STREAM_OK ? r[1].password : r[0].password;
    stream_auth_tokens t;
    ck_assert_int_eq(login(&t, EMAIL, lost), STREAM_EAUTH);
    ck_assert_int_eq(login(&t, EMAIL, won), STREAM_OK);
    clock_now += STREAM_AUTH_RESET_EMAIL_INTERVAL; /* one more request in the e-mail's bucket */
  }
}
END_TEST

START_TEST(test_reset_deleted_and_disabled_accounts)
{
  stream_auth_account gone = make_account("gone@example.com");
  stream_auth_account off = make_account("off@example.com");
  ck_assert_int_eq(stream_auth_account_delete_admin(auth, gone.id), STREAM_OK);
  ck_assert_int_eq(stream_auth_account_set_disabled(auth, off.id, 1), STREAM_OK);
  start_ok("gone@example.com");
  start_ok("off@example.com");
  ck_assert_int_eq(n_mails, 0);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets"), 0);

  /* A link sent before the account was disabled stops working. */
  ck_assert_int_eq(stream_auth_account_set_disabled(auth, off.id, 0), STREAM_OK);
  start_ok("off@example.com");
  char tok[STREAM_AUTH_RESET_TOKEN_LEN + 1];
  token_of(tok, 0);
  ck_assert_int_eq(stream_auth_account_set_disabled(auth, off.id, 1), STREAM_OK);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, PW2), STREAM_EFORBIDDEN);
  /* Deleting the account deletes its reset tokens. */
  ck_assert_int_eq(stream_auth_account_delete_admin(auth, off.id), STREAM_OK);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets"), 0);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, PW2), STREAM_EAUTH);
}
END_TEST

START_TEST(test_reset_rate_limit)
{
  make_account(EMAIL);
  for (int i = 0; i < STREAM_AUTH_RESET_EMAIL_BURST; i++)
    start_ok(EMAIL);
  int64_t retry = 0;
  ck_assert_int_eq(stream_auth_password_reset_start(&retry, auth, EMAIL, "192.0.2.1"),
                   STREAM_EBUSY);
  ck_assert_int_eq(retry, STREAM_AUTH_RESET_EMAIL_INTERVAL);
  ck_assert_int_eq(n_mails, STREAM_AUTH_RESET_EMAIL_BURST);
  /* Unknown e-mails draw from their bucket the same way (no enumeration by 429). */
  for (int i = 0; i < STREAM_AUTH_RESET_EMAIL_BURST; i++)
    start_ok("nobody@example.com");
  ck_assert_int_eq(stream_auth_password_reset_start(&retry, auth, "nobody@example.com", NULL),
                   STREAM_EBUSY);
  /* Per address: 10 in a burst across e-mails (6 used above from 192.0.2.1). */
  char e[64];
  for (int i = 0; i < STREAM_AUTH_RESET_ADDRESS_BURST - 2 * STREAM_AUTH_RESET_EMAIL_BURST; i++) {
    snprintf(e, sizeof e, "x%d@example.com", i);
    start_ok(e);
  }
  ck_assert_int_eq(stream_auth_password_reset_start(&retry, auth, "y@example.com", "192.0.2.1"),
                   STREAM_EBUSY);
  ck_assert_int_eq(stream_auth_password_reset_start(&retry, auth, "y@example.com", "192.0.2.2"),
                   STREAM_OK);
  /* Sign-in is not affected by reset requests. */
  stream_auth_tokens t;
  ck_assert_int_eq(login(&t, EMAIL, PW), STREAM_OK);
  clock_now += STREAM_AUTH_RESET_EMAIL_INTERVAL;
  start_ok(EMAIL);
}
END_TEST

START_TEST(test_reset_mail_failure_same_answer)
{
  make_account(EMAIL);
  mail_result = -1;
  start_ok(EMAIL);
  ck_assert_int_eq(n_mails, 1);
  ck_assert_ptr_nonnull(strstr(logbuf, "was not accepted"));
  char tok[STREAM_AUTH_RESET_TOKEN_LEN + 1];
  token_of(tok, 0);
  ck_assert_ptr_null(strstr(logbuf, tok));
}
END_TEST

START_TEST(test_reset_args)
{
  stream_auth_account acct = make_account(EMAIL);
  (void)acct;
  ck_assert_int_eq(stream_auth_password_reset_start(NULL, NULL, EMAIL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_password_reset_start(NULL, auth, NULL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_password_reset_start(NULL, auth, "", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_password_reset_start(NULL, auth, "no-at-sign", NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_password_reset_start(NULL, auth, EMAIL, "bad address"),
                   STREAM_EINVAL);
  ck_assert_int_eq(n_mails, 0);
  start_ok(EMAIL);
  char tok[STREAM_AUTH_RESET_TOKEN_LEN + 1];
  token_of(tok, 0);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, NULL, tok, PW2), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, NULL, PW2), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, "", PW2), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, "short", PW2), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_password_reset_finish(
                       NULL, auth, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA!", PW2),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, ""), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, "1234567"), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "new password"));
  /* None of these used the token. */
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, PW2), STREAM_OK);
}
END_TEST

/* ---- reset: prepare / send (the constant-time split) ---------------------------- */

static stream_auth_reset *prepare_ok(const char *email)
{
  stream_auth_reset *r = NULL;
  int64_t retry = -1;
  ck_assert_msg(stream_auth_password_reset_prepare(&r, &retry, auth, email, "192.0.2.1") ==
                    STREAM_OK,
                "%s", msg());
  ck_assert_ptr_nonnull(r);
  ck_assert_int_eq(retry, 0);
  return r;
}

START_TEST(test_reset_prepare_does_no_account_work)
{
  make_account(EMAIL);
  stream_auth_account off = make_account("off@example.com");
  ck_assert_int_eq(stream_auth_account_set_disabled(auth, off.id, 1), STREAM_OK);
  /* Known, unknown, disabled: prepare answers alike and stores and mails nothing. */
  stream_auth_reset *known = prepare_ok("  Ada@Example.COM ");
  stream_auth_reset *unknown = prepare_ok("nobody@example.com");
  stream_auth_reset *disabled = prepare_ok("off@example.com");
  ck_assert_int_eq(n_mails, 0);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets"), 0);

  /* Send does the account-dependent part: one row and one mail for the known one. */
  ck_assert_msg(stream_auth_password_reset_send(auth, unknown) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(stream_auth_password_reset_send(auth, disabled), STREAM_OK);
  ck_assert_int_eq(n_mails, 0);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets"), 0);
  ck_assert_msg(stream_auth_password_reset_send(auth, known) == STREAM_OK, "%s", msg());
  ck_assert_int_eq(n_mails, 1);
  ck_assert_str_eq(mails[0].to, EMAIL);
  ck_assert_str_eq(mails[0].subject, "Reset your password");
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets WHERE used_at = 0"), 1);
  /* At most once: a second send is refused and changes nothing. */
  ck_assert_int_eq(stream_auth_password_reset_send(auth, known), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "sent already"));
  ck_assert_int_eq(stream_auth_password_reset_send(auth, unknown), STREAM_EINVAL);
  ck_assert_int_eq(n_mails, 1);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets"), 1);
  stream_auth_reset_free(known);
  stream_auth_reset_free(unknown);
  stream_auth_reset_free(disabled);

  /* The mailed link finishes the reset. */
  char tok[STREAM_AUTH_RESET_TOKEN_LEN + 1];
  token_of(tok, 0);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, PW2), STREAM_OK);
  stream_auth_tokens t;
  ck_assert_int_eq(login(&t, EMAIL, PW2), STREAM_OK);
  ck_assert_ptr_null(strstr(logbuf, tok));
}
END_TEST

START_TEST(test_reset_free_unsent)
{
  make_account(EMAIL);
  stream_auth_reset *r = prepare_ok(EMAIL);
  stream_auth_reset_free(r);
  stream_auth_reset_free(NULL);
  ck_assert_int_eq(n_mails, 0);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets"), 0);
  /* The dropped request still counted against the e-mail's bucket. */
  for (int i = 1; i < STREAM_AUTH_RESET_EMAIL_BURST; i++)
    stream_auth_reset_free(prepare_ok(EMAIL));
  static char sentinel;
  stream_auth_reset *busy = (stream_auth_reset *)(void *)&sentinel; /* must be set to NULL */
  ck_assert_int_eq(stream_auth_password_reset_prepare(&busy, NULL, auth, EMAIL, NULL),
                   STREAM_EBUSY);
  ck_assert_ptr_null(busy);
  ck_assert_int_eq(n_mails, 0);
}
END_TEST

START_TEST(test_reset_prepare_rate_limit)
{
  make_account(EMAIL);
  stream_auth_reset *r[STREAM_AUTH_RESET_EMAIL_BURST];
  for (int i = 0; i < STREAM_AUTH_RESET_EMAIL_BURST; i++)
    r[i] = prepare_ok(EMAIL);
  /* The limit is hit at prepare, before anything was sent. */
  stream_auth_reset *out = NULL;
  int64_t retry = 0;
  ck_assert_int_eq(stream_auth_password_reset_prepare(&out, &retry, auth, EMAIL, "192.0.2.1"),
                   STREAM_EBUSY);
  ck_assert_int_eq(retry, STREAM_AUTH_RESET_EMAIL_INTERVAL);
  ck_assert_ptr_null(out);
  ck_assert_ptr_nonnull(strstr(msg(), "too many password reset requests"));
  ck_assert_int_eq(n_mails, 0);
  /* Unknown e-mails are charged the same way. */
  for (int i = 0; i < STREAM_AUTH_RESET_EMAIL_BURST; i++)
    stream_auth_reset_free(prepare_ok("nobody@example.com"));
  ck_assert_int_eq(
      stream_auth_password_reset_prepare(&out, &retry, auth, "nobody@example.com", "192.0.2.9"),
      STREAM_EBUSY);
  /* And so is the address (10 per burst; 6 used by 192.0.2.1 above). */
  char e[64];
  for (int i = 0; i < STREAM_AUTH_RESET_ADDRESS_BURST - 2 * STREAM_AUTH_RESET_EMAIL_BURST; i++) {
    snprintf(e, sizeof e, "x%d@example.com", i);
    stream_auth_reset_free(prepare_ok(e));
  }
  ck_assert_int_eq(
      stream_auth_password_reset_prepare(&out, &retry, auth, "y@example.com", "192.0.2.1"),
      STREAM_EBUSY);
  ck_assert_int_gt(retry, 0);
  /* The ones prepared in time are still sent, in order: the newest link is the live one. */
  for (int i = 0; i < STREAM_AUTH_RESET_EMAIL_BURST; i++) {
    ck_assert_int_eq(stream_auth_password_reset_send(auth, r[i]), STREAM_OK);
    stream_auth_reset_free(r[i]);
  }
  ck_assert_int_eq(n_mails, STREAM_AUTH_RESET_EMAIL_BURST);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets"), 1);
  char tok[STREAM_AUTH_RESET_TOKEN_LEN + 1];
  token_of(tok, 0);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, PW2), STREAM_EAUTH);
  token_of(tok, STREAM_AUTH_RESET_EMAIL_BURST - 1);
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, PW2), STREAM_OK);
}
END_TEST

START_TEST(test_reset_lifetime_counts_from_prepare)
{
  make_account(EMAIL);
  stream_auth_reset *r = prepare_ok(EMAIL);
  clock_now += 600; /* a queue held it for 10 minutes */
  ck_assert_int_eq(stream_auth_password_reset_send(auth, r), STREAM_OK);
  stream_auth_reset_free(r);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets WHERE created_at = 1769817600 "
                           "AND expires_at = 1769819400"),
                   1);
  char tok[STREAM_AUTH_RESET_TOKEN_LEN + 1];
  token_of(tok, 0);
  clock_now = T0 + 1800;
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, PW2), STREAM_EEXPIRED);
  clock_now = T0 + 1799;
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, PW2), STREAM_OK);
}
END_TEST

static void *send_on_thread(void *p)
{
  stream_auth_reset *r = p;
  intptr_t rc = stream_auth_password_reset_send(auth, r);
  stream_auth_reset_free(r);
  return (void *)rc;
}

START_TEST(test_reset_send_on_another_thread)
{
  make_account(EMAIL);
  stream_auth_reset *r = prepare_ok(EMAIL);
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, send_on_thread, r), 0);
  void *rc = NULL;
  ck_assert_int_eq(pthread_join(th, &rc), 0);
  ck_assert_int_eq((int)(intptr_t)rc, STREAM_OK);
  ck_assert_int_eq(n_mails, 1);
  ck_assert_str_eq(mails[0].to, EMAIL);
  ck_assert_int_eq(raw_int("SELECT count(*) FROM password_resets"), 1);
}
END_TEST

START_TEST(test_reset_prepare_send_args)
{
  make_account(EMAIL);
  stream_auth_reset *r = NULL;
  int64_t retry = -1;
  ck_assert_int_eq(stream_auth_password_reset_prepare(NULL, &retry, auth, EMAIL, NULL),
                   STREAM_EINVAL);
  ck_assert_int_eq(retry, 0);
  ck_assert_int_eq(stream_auth_password_reset_prepare(&r, NULL, NULL, EMAIL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_password_reset_prepare(&r, NULL, auth, NULL, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_password_reset_prepare(&r, NULL, auth, "no-at-sign", NULL),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_password_reset_prepare(&r, NULL, auth, EMAIL, "bad address"),
                   STREAM_EINVAL);
  ck_assert_ptr_null(r);

  /* No mail hook: refused at prepare. */
  stream_auth_options o;
  base_options(&o);
  o.send_mail = NULL;
  stream_auth *nomail = NULL;
  ck_assert_int_eq(stream_auth_new(&nomail, &o), STREAM_OK);
  ck_assert_int_eq(stream_auth_password_reset_prepare(&r, NULL, nomail, EMAIL, NULL),
                   STREAM_ENOTSUP);
  ck_assert_ptr_null(r);

  r = prepare_ok(EMAIL);
  ck_assert_int_eq(stream_auth_password_reset_send(NULL, r), STREAM_EINVAL);
  ck_assert_int_eq(stream_auth_password_reset_send(auth, NULL), STREAM_EINVAL);
  /* Sent through another handle: refused (its link base and lifetime may differ). */
  ck_assert_int_eq(stream_auth_password_reset_send(nomail, r), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "another auth handle"));
  stream_auth_free(nomail);
  ck_assert_int_eq(n_mails, 0);
  /* None of these used up the request. */
  ck_assert_int_eq(stream_auth_password_reset_send(auth, r), STREAM_OK);
  ck_assert_int_eq(n_mails, 1);
  stream_auth_reset_free(r);
}
END_TEST

/* ---- options ---------------------------------------------------------------------- */

START_TEST(test_reset_options)
{
  stream_auth_options o;
  stream_auth *a = NULL;
  /* No hook: the flow is off. */
  base_options(&o);
  o.send_mail = NULL;
  ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_OK);
  ck_assert_int_eq(stream_auth_password_reset_start(NULL, a, EMAIL, NULL), STREAM_ENOTSUP);
  ck_assert_ptr_nonnull(strstr(msg(), "send_mail"));
  stream_auth_free(a);
  /* A hook needs a link base. */
  base_options(&o);
  o.reset_url_base = NULL;
  ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "reset_url_base"));
  base_options(&o);
  o.reset_url_base = "ftp://app.test/reset?token=";
  ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_EINVAL);
  o.reset_url_base = "https:///reset";
  ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_EINVAL);
  o.reset_url_base = "https://app.test/re set?token=";
  ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_EINVAL);
  base_options(&o);
  o.reset_lifetime = 299;
  ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_EINVAL);
  o.reset_lifetime = 86401;
  ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_EINVAL);
  o.reset_lifetime = 600;
  ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_OK);
  stream_auth_free(a);
  o.version = STREAM_AUTH_OPTIONS_VERSION + 1;
  ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_EINVAL);
  /* A version-1 caller: its struct ends before the version-2 fields, whose
   * bytes here are garbage that must not be read. */
  base_options(&o);
  o.version = 1;
  memset(&o.send_mail, 0xA5,
         sizeof o - ((const char *)&o.send_mail - (const char *)&o)); /* past the v1 struct */
  ck_assert_int_eq(stream_auth_new(&a, &o), STREAM_OK);
  ck_assert_int_eq(stream_auth_password_reset_start(NULL, a, EMAIL, NULL), STREAM_ENOTSUP);
  stream_auth_free(a);
}
END_TEST

START_TEST(test_reset_lifetime_option)
{
  stream_auth_free(auth);
  stream_auth_options o;
  base_options(&o);
  o.reset_lifetime = 600;
  ck_assert_int_eq(stream_auth_new(&auth, &o), STREAM_OK);
  make_account(EMAIL);
  start_ok(EMAIL);
  ck_assert_ptr_nonnull(strstr(mails[0].body, "10 minutes"));
  char tok[STREAM_AUTH_RESET_TOKEN_LEN + 1];
  token_of(tok, 0);
  clock_now += 600;
  ck_assert_int_eq(stream_auth_password_reset_finish(NULL, auth, tok, PW2), STREAM_EEXPIRED);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("auth-password");
  TCase *tc = tcase_create("password");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_change_password);
  tcase_add_test(tc, test_change_password_rate_limited);
  tcase_add_test(tc, test_change_password_args);
  tcase_add_test(tc, test_login_racing_password_change);
  tcase_add_test(tc, test_change_password_keeps_concurrent_disable);
  tcase_add_test(tc, test_profile_pin_change_keeps_concurrent_kids);
  tcase_add_test(tc, test_profile_update_gives_up_on_a_row_that_keeps_changing);
#if STREAM_HAVE_POSTGRES
  if (test_store_is_pg())
    tcase_add_test(tc, test_profile_pin_change_waits_for_concurrent_kids_pg);
#endif
  tcase_add_test(tc, test_reset_unknown_email);
  tcase_add_test(tc, test_reset_flow);
  tcase_add_test(tc, test_reset_expired);
  tcase_add_test(tc, test_reset_second_start_invalidates_first);
  tcase_add_test(tc, test_reset_race);
  tcase_add_test(tc, test_reset_deleted_and_disabled_accounts);
  tcase_add_test(tc, test_reset_rate_limit);
  tcase_add_test(tc, test_reset_mail_failure_same_answer);
  tcase_add_test(tc, test_reset_args);
  tcase_add_test(tc, test_reset_prepare_does_no_account_work);
  tcase_add_test(tc, test_reset_free_unsent);
  tcase_add_test(tc, test_reset_prepare_rate_limit);
  tcase_add_test(tc, test_reset_lifetime_counts_from_prepare);
  tcase_add_test(tc, test_reset_send_on_another_thread);
  tcase_add_test(tc, test_reset_prepare_send_args);
  tcase_add_test(tc, test_reset_options);
  tcase_add_test(tc, test_reset_lifetime_option);
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
