/* Unit tests of entitlement checks and screen leases (public API only, through
 * the shared library), over a real SQLite store in a temporary directory (or,
 * under tests/pg/pg_run.sh, PostgreSQL: ../store_path.h), the built-in local
 * payment provider and an injected clock. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../store_path.h"
#include "stream/billing.h"

#define T0 1764547200 /* 2025-12-01T00:00:00Z */
#define TTL 90

static char tmpdir[256];
static stream_store *store;
static stream_billing_local *local;
static stream_billing *billing;
static int64_t clock_now;

/* Fixtures of every test: an account on the 2-screen "standard" plan with an
 * adult and a kids profile, a 16+ title and an all-ages title. */
static char account[STREAM_STORE_ID_SIZE];
static char adult[STREAM_STORE_ID_SIZE];
static char kids[STREAM_STORE_ID_SIZE];
static char title16[STREAM_STORE_ID_SIZE];
static char title0[STREAM_STORE_ID_SIZE];

static int64_t fake_clock(void *ud)
{
  return __atomic_load_n((int64_t *)ud, __ATOMIC_SEQ_CST);
}

static void advance(int64_t seconds)
{
  __atomic_add_fetch(&clock_now, seconds, __ATOMIC_SEQ_CST);
}

static const char *msg(void)
{
  const stream_error *e = stream_error_last();
  return e ? e->message : "";
}

static void new_account(char *id, const char *email)
{
  stream_store_account in, out;
  memset(&in, 0, sizeof in);
  snprintf(in.email, sizeof in.email, "%s", email);
  ck_assert_int_eq(stream_store_account_create(&out, store, &in, clock_now), STREAM_OK);
  memcpy(id, out.id, STREAM_STORE_ID_SIZE);
}

static void new_profile(char *id, const char *account_id, const char *name, int is_kids,
                        int ceiling)
{
  stream_store_profile in, out;
  memset(&in, 0, sizeof in);
  snprintf(in.account_id, sizeof in.account_id, "%s", account_id);
  snprintf(in.name, sizeof in.name, "%s", name);
  in.kids = is_kids;
  in.maturity_ceiling = ceiling;
  ck_assert_int_eq(stream_store_profile_create(&out, store, &in, clock_now), STREAM_OK);
  memcpy(id, out.id, STREAM_STORE_ID_SIZE);
}

static void new_title(char *id, const char *name, int rating)
{
  stream_store_title t;
  memset(&t, 0, sizeof t);
  t.kind = STREAM_STORE_TITLE_MOVIE;
  t.name = (char *)name;
  t.maturity_rating = rating;
  ck_assert_int_eq(stream_store_title_create(id, store, &t, clock_now), STREAM_OK);
}

static void put_plan(const char *id, int screens, int max_height)
{
  stream_billing_plan p;
  memset(&p, 0, sizeof p);
  snprintf(p.id, sizeof p.id, "%s", id);
  snprintf(p.name, sizeof p.name, "Plan %s", id);
  p.price = 1549;
  snprintf(p.currency, sizeof p.currency, "USD");
  p.period_months = 1;
  p.trial_days = 0;
  p.screens = screens;
  p.max_height = max_height;
  p.active = 1;
  ck_assert_msg(stream_billing_plan_put(billing, &p) == STREAM_OK, "%s", msg());
}

/* Subscribe `account_id` to `plan_id` with test card `card` (a tok_ token). */
static void subscribe(const char *account_id, const char *plan_id, const char *card)
{
  char key[96];
  stream_billing_card c;
  snprintf(key, sizeof key, "card-%s", account_id);
  ck_assert_msg(stream_billing_card_add(&c, billing, account_id, card, key) == STREAM_OK, "%s",
                msg());
  stream_billing_subscription s;
  snprintf(key, sizeof key, "sub-%s", account_id);
  ck_assert_msg(stream_billing_subscribe(&s, NULL, billing, account_id, plan_id, c.id, key) ==
                    STREAM_OK,
                "%s", msg());
  ck_assert_int_eq(s.status, STREAM_BILLING_ACTIVE);
}

static void setup(void)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/stream-leases-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
  char path[300], uri[512];
  snprintf(path, sizeof path, "%s/db.sqlite", tmpdir);
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  so.path = test_store_path(uri, sizeof uri, path);
  ck_assert_int_eq(stream_store_open(&store, &so), STREAM_OK);
  ck_assert_int_eq(stream_billing_local_new(&local), STREAM_OK);
  stream_billing_provider prov;
  ck_assert_int_eq(stream_billing_local_provider(&prov, local), STREAM_OK);
  clock_now = T0;
  stream_billing_options o = STREAM_BILLING_OPTIONS_INIT;
  o.store = store;
  o.provider = &prov;
  o.now = fake_clock;
  o.now_userdata = &clock_now;
  o.lease_ttl = TTL;
  ck_assert_msg(stream_billing_new(&billing, &o) == STREAM_OK, "%s", msg());

  put_plan("standard", 2, 1080);
  new_account(account, "viewer@example.com");
  new_profile(adult, account, "Alex", 0, 18);
  new_profile(kids, account, "Kim", 1, 7);
  new_title(title16, "Night Shift", 16);
  new_title(title0, "Puffin Island", 0);
}

static void teardown(void)
{
  stream_billing_free(billing);
  billing = NULL;
  stream_billing_local_free(local);
  local = NULL;
  stream_store_close(store);
  store = NULL;
  const char *files[] = {"db.sqlite", "db.sqlite-wal", "db.sqlite-shm", "db.sqlite-journal"};
  char path[300];
  for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
    snprintf(path, sizeof path, "%s/%s", tmpdir, files[i]);
    remove(path);
  }
  rmdir(tmpdir);
}

static int acquire(stream_billing_lease *out, const char *device_id, const char *device_name)
{
  return stream_billing_lease_acquire(out, NULL, NULL, billing, account, adult, title0, device_id,
                                      device_name);
}

static size_t live_leases(const char *account_id)
{
  stream_billing_lease *arr = NULL;
  size_t n = 99;
  ck_assert_int_eq(stream_billing_lease_list(&arr, &n, billing, account_id), STREAM_OK);
  stream_free(arr);
  return n;
}

/* ---- entitlement answers ------------------------------------------------- */

START_TEST(test_no_subscription)
{
  stream_billing_entitlement e;
  ck_assert_int_eq(stream_billing_entitlement_check(&e, billing, account, adult, title0, "tv-1"),
                   STREAM_OK);
  ck_assert_int_eq(e.allowed, 0);
  ck_assert_int_eq(e.reason, STREAM_BILLING_NO_SUBSCRIPTION);
  ck_assert_str_eq(stream_billing_reason_name(e.reason), "no_subscription");
  ck_assert_str_eq(e.plan_id, "");
  ck_assert_int_eq(e.max_height, 0);
  ck_assert_ptr_nonnull(strstr(e.message, "no live subscription"));

  stream_billing_lease l;
  ck_assert_int_eq(acquire(&l, "tv-1", "TV"), STREAM_EFORBIDDEN);
  ck_assert_ptr_nonnull(strstr(msg(), "no live subscription"));
  ck_assert_uint_eq(live_leases(account), 0);
}
END_TEST

START_TEST(test_allowed_answer)
{
  subscribe(account, "standard", "tok_4242424242424242");
  stream_billing_entitlement e;
  ck_assert_int_eq(stream_billing_entitlement_check(&e, billing, account, adult, title16, "tv-1"),
                   STREAM_OK);
  ck_assert_msg(e.allowed == 1, "%s", e.message);
  ck_assert_int_eq(e.reason, STREAM_BILLING_OK);
  ck_assert_str_eq(e.plan_id, "standard");
  ck_assert_int_eq(e.max_height, 1080);
  ck_assert_int_eq(e.screens, 2);
  ck_assert_int_eq(e.screens_in_use, 0);
  ck_assert_ptr_nonnull(strstr(e.message, "1080p"));
  /* The check is read-only: it takes no screen. */
  ck_assert_uint_eq(live_leases(account), 0);
}
END_TEST

START_TEST(test_maturity)
{
  subscribe(account, "standard", "tok_4242424242424242");
  stream_billing_entitlement e;
  ck_assert_int_eq(stream_billing_entitlement_check(&e, billing, account, kids, title16, "tablet"),
                   STREAM_OK);
  ck_assert_int_eq(e.allowed, 0);
  ck_assert_int_eq(e.reason, STREAM_BILLING_MATURITY);
  ck_assert_str_eq(stream_billing_reason_name(e.reason), "maturity");
  ck_assert_int_eq(e.max_height, 0);
  ck_assert_ptr_nonnull(strstr(e.message, "rated 16"));
  /* The same profile may play an all-ages title. */
  ck_assert_int_eq(stream_billing_entitlement_check(&e, billing, account, kids, title0, "tablet"),
                   STREAM_OK);
  ck_assert_int_eq(e.allowed, 1);

  stream_billing_lease l;
  ck_assert_int_eq(stream_billing_lease_acquire(&l, NULL, NULL, billing, account, kids, title16,
                                                "tablet", "Tablet"),
                   STREAM_EFORBIDDEN);
  ck_assert_uint_eq(live_leases(account), 0);
}
END_TEST

START_TEST(test_profile_mismatch_and_unknown_title)
{
  subscribe(account, "standard", "tok_4242424242424242");
  char other[STREAM_STORE_ID_SIZE], other_profile[STREAM_STORE_ID_SIZE];
  new_account(other, "other@example.com");
  new_profile(other_profile, other, "Sam", 0, 18);

  stream_billing_entitlement e;
  ck_assert_int_eq(
      stream_billing_entitlement_check(&e, billing, account, other_profile, title0, "tv-1"),
      STREAM_OK);
  ck_assert_int_eq(e.allowed, 0);
  ck_assert_int_eq(e.reason, STREAM_BILLING_PROFILE_MISMATCH);
  ck_assert_str_eq(stream_billing_reason_name(e.reason), "profile_mismatch");
  /* A profile id that does not exist at all is no profile of the account either. */
  ck_assert_int_eq(stream_billing_entitlement_check(&e, billing, account, "nope", title0, "tv-1"),
                   STREAM_OK);
  ck_assert_int_eq(e.reason, STREAM_BILLING_PROFILE_MISMATCH);

  ck_assert_int_eq(
      stream_billing_entitlement_check(&e, billing, account, adult, "no-such-title", "tv-1"),
      STREAM_OK);
  ck_assert_int_eq(e.allowed, 0);
  ck_assert_int_eq(e.reason, STREAM_BILLING_UNKNOWN_TITLE);
  ck_assert_str_eq(stream_billing_reason_name(e.reason), "unknown_title");

  stream_billing_lease l;
  ck_assert_int_eq(stream_billing_lease_acquire(&l, NULL, NULL, billing, account, other_profile,
                                                title0, "tv-1", NULL),
                   STREAM_EFORBIDDEN);
  ck_assert_int_eq(stream_billing_lease_acquire(&l, NULL, NULL, billing, account, adult,
                                                "no-such-title", "tv-1", NULL),
                   STREAM_EFORBIDDEN);
  ck_assert_uint_eq(live_leases(account), 0);
}
END_TEST

/* ---- screens ------------------------------------------------------------- */

START_TEST(test_screens_full_then_lapse)
{
  subscribe(account, "standard", "tok_4242424242424242");
  stream_billing_lease a, p, c;
  ck_assert_int_eq(acquire(&a, "tv-1", "Living room TV"), STREAM_OK);
  ck_assert_uint_eq(strlen(a.id), 22);
  ck_assert_str_eq(a.account_id, account);
  ck_assert_str_eq(a.device_name, "Living room TV");
  ck_assert_int_eq(a.started_at, T0);
  ck_assert_int_eq(a.expires_at, T0 + TTL);
  advance(5);
  ck_assert_int_eq(acquire(&p, "phone-7", "Phone"), STREAM_OK);
  ck_assert_str_ne(a.id, p.id);

  stream_billing_lease in_use[STREAM_BILLING_SCREENS_MAX];
  size_t n = 99;
  ck_assert_int_eq(stream_billing_lease_acquire(&c, in_use, &n, billing, account, adult, title0,
                                                "laptop", "Laptop"),
                   STREAM_EBUSY);
  ck_assert_str_eq(msg(), "all 2 screens of plan \"standard\" are in use: Living room TV, Phone");
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(in_use[0].id, a.id);
  ck_assert_str_eq(in_use[1].id, p.id);
  ck_assert_str_eq(in_use[1].device_id, "phone-7");
  ck_assert_str_eq(c.id, "");

  /* The check agrees, and a device holding a screen is not counted against itself. */
  stream_billing_entitlement e;
  ck_assert_int_eq(stream_billing_entitlement_check(&e, billing, account, adult, title0, "laptop"),
                   STREAM_OK);
  ck_assert_int_eq(e.allowed, 0);
  ck_assert_int_eq(e.reason, STREAM_BILLING_SCREENS);
  ck_assert_str_eq(stream_billing_reason_name(e.reason), "screens");
  ck_assert_int_eq(e.screens_in_use, 2);
  ck_assert_str_eq(e.message,
                   "all 2 screens of plan \"standard\" are in use: Living room TV, Phone");
  ck_assert_int_eq(stream_billing_entitlement_check(&e, billing, account, adult, title0, "tv-1"),
                   STREAM_OK);
  ck_assert_int_eq(e.allowed, 1);
  ck_assert_int_eq(e.screens_in_use, 1);

  /* No heartbeat for the TTL: both lapse, the third device gets a screen. */
  advance(TTL - 5);                          /* T0 + TTL */
  ck_assert_int_eq(live_leases(account), 1); /* phone-7 started 5 s later: still live */
  advance(5);
  ck_assert_int_eq(live_leases(account), 0);
  ck_assert_msg(stream_billing_lease_acquire(&c, in_use, &n, billing, account, adult, title0,
                                             "laptop", "Laptop") == STREAM_OK,
                "%s", msg());
  ck_assert_uint_eq(n, 0);
  ck_assert_int_eq(live_leases(account), 1);

  /* A heartbeat after the lapse is refused: the player must acquire again. */
  stream_billing_lease h;
  ck_assert_int_eq(stream_billing_lease_heartbeat(&h, billing, account, a.id), STREAM_EEXPIRED);
  ck_assert_str_eq(h.id, "");
  stream_billing_lease a2;
  ck_assert_int_eq(acquire(&a2, "tv-1", "Living room TV"), STREAM_OK);
  ck_assert_str_ne(a2.id, a.id);
  ck_assert_int_eq(a2.started_at, clock_now);
  ck_assert_int_eq(live_leases(account), 2);
}
END_TEST

START_TEST(test_heartbeat_renews)
{
  subscribe(account, "standard", "tok_4242424242424242");
  stream_billing_lease a, h;
  ck_assert_int_eq(acquire(&a, "tv-1", "TV"), STREAM_OK);
  for (int i = 0; i < 5; i++) {
    advance(60); /* within the TTL each time, well past it in total */
    ck_assert_msg(stream_billing_lease_heartbeat(&h, billing, account, a.id) == STREAM_OK, "%s",
                  msg());
    ck_assert_str_eq(h.id, a.id);
    ck_assert_int_eq(h.started_at, T0);
    ck_assert_int_eq(h.expires_at, clock_now + TTL);
  }
  ck_assert_int_eq(live_leases(account), 1);
  /* Another account cannot renew it, nor release it; unknown ids are not found. */
  char other[STREAM_STORE_ID_SIZE];
  new_account(other, "other@example.com");
  ck_assert_int_eq(stream_billing_lease_heartbeat(&h, billing, other, a.id), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_billing_lease_release(billing, other, a.id), STREAM_ENOTFOUND);
  ck_assert_int_eq(stream_billing_lease_heartbeat(&h, billing, account, "AAAAAAAAAAAAAAAAAAAAAA"),
                   STREAM_ENOTFOUND);
  ck_assert_int_eq(live_leases(account), 1);
}
END_TEST

START_TEST(test_release_frees_at_once)
{
  subscribe(account, "standard", "tok_4242424242424242");
  stream_billing_lease a, p, c;
  ck_assert_int_eq(acquire(&a, "tv-1", "TV"), STREAM_OK);
  ck_assert_int_eq(acquire(&p, "phone-7", "Phone"), STREAM_OK);
  ck_assert_int_eq(acquire(&c, "laptop", NULL), STREAM_EBUSY);
  ck_assert_int_eq(stream_billing_lease_release(billing, account, a.id), STREAM_OK);
  ck_assert_int_eq(acquire(&c, "laptop", NULL), STREAM_OK);
  ck_assert_str_eq(c.device_name, "");
  ck_assert_int_eq(stream_billing_lease_release(billing, account, a.id), STREAM_ENOTFOUND);
  stream_billing_lease h;
  ck_assert_int_eq(stream_billing_lease_heartbeat(&h, billing, account, a.id), STREAM_ENOTFOUND);

  stream_billing_lease *arr = NULL;
  size_t n = 0;
  ck_assert_int_eq(stream_billing_lease_list(&arr, &n, billing, account), STREAM_OK);
  ck_assert_uint_eq(n, 2);
  ck_assert_str_eq(arr[0].id, p.id); /* oldest first */
  ck_assert_str_eq(arr[1].id, c.id);
  stream_free(arr);
  /* A device without a name is listed by its id. */
  ck_assert_int_eq(acquire(&a, "tv-1", "TV"), STREAM_EBUSY);
  ck_assert_str_eq(msg(), "all 2 screens of plan \"standard\" are in use: Phone, laptop");
}
END_TEST

START_TEST(test_same_device_reacquires)
{
  subscribe(account, "standard", "tok_4242424242424242");
  stream_billing_lease a, b2, p;
  ck_assert_int_eq(acquire(&a, "tv-1", "TV"), STREAM_OK);
  ck_assert_int_eq(acquire(&p, "phone-7", "Phone"), STREAM_OK);
  advance(30);
  /* Plan full, but the TV holds a screen: it gets the same one back, renewed. */
  ck_assert_msg(stream_billing_lease_acquire(&b2, NULL, NULL, billing, account, adult, title16,
                                             "tv-1", "") == STREAM_OK,
                "%s", msg());
  ck_assert_str_eq(b2.id, a.id);
  ck_assert_str_eq(b2.title_id, title16);
  ck_assert_str_eq(b2.device_name, "TV"); /* "" keeps the name */
  ck_assert_int_eq(b2.started_at, T0);
  ck_assert_int_eq(b2.expires_at, T0 + 30 + TTL);
  ck_assert_int_eq(live_leases(account), 2);
}
END_TEST

/* ---- concurrency --------------------------------------------------------- */

#define RACERS 8
#define ROUNDS 20

static pthread_barrier_t start_line;

typedef struct racer {
  pthread_t th;
  char device[32];
  int rc;
} racer;

static void *race(void *arg)
{
  racer *r = arg;
  stream_billing_lease l;
  pthread_barrier_wait(&start_line);
  r->rc = stream_billing_lease_acquire(&l, NULL, NULL, billing, account, adult, title0, r->device,
                                       r->device);
  return NULL;
}

/* Rounds of 8 devices released at once from a barrier; between rounds every
 * lease lapses. Each round must give exactly the plan's 2 screens. */
START_TEST(test_concurrent_starts_never_exceed_plan)
{
  subscribe(account, "standard", "tok_4242424242424242");
  for (int round = 0; round < ROUNDS; round++) {
    racer r[RACERS];
    ck_assert_int_eq(pthread_barrier_init(&start_line, NULL, RACERS), 0);
    for (int i = 0; i < RACERS; i++) {
      snprintf(r[i].device, sizeof r[i].device, "device-%d-%d", round, i);
      ck_assert_int_eq(pthread_create(&r[i].th, NULL, race, &r[i]), 0);
    }
    int ok = 0, busy = 0;
    for (int i = 0; i < RACERS; i++) {
      pthread_join(r[i].th, NULL);
      if (r[i].rc == STREAM_OK)
        ok++;
      else if (r[i].rc == STREAM_EBUSY)
        busy++;
    }
    pthread_barrier_destroy(&start_line);
    ck_assert_msg(ok == 2 && busy == RACERS - 2, "round %d: %d started, %d busy", round, ok, busy);
    ck_assert_uint_eq(live_leases(account), 2);
    advance(TTL);
  }
}
END_TEST

/* ---- bad input ----------------------------------------------------------- */

START_TEST(test_bad_input)
{
  subscribe(account, "standard", "tok_4242424242424242");
  stream_billing_lease l, *arr = NULL;
  stream_billing_entitlement e;
  size_t n = 0;
  char long_device[STREAM_BILLING_DEVICE_SIZE + 1];
  memset(long_device, 'd', sizeof long_device - 1);
  long_device[sizeof long_device - 1] = '\0'; /* 129 characters */

  ck_assert_int_eq(
      stream_billing_lease_acquire(NULL, NULL, NULL, billing, account, adult, title0, "tv", NULL),
      STREAM_EINVAL);
  ck_assert_int_eq(
      stream_billing_lease_acquire(&l, NULL, NULL, NULL, account, adult, title0, "tv", NULL),
      STREAM_EINVAL);
  ck_assert_int_eq(
      stream_billing_lease_acquire(&l, NULL, NULL, billing, NULL, adult, title0, "tv", NULL),
      STREAM_EINVAL);
  ck_assert_int_eq(
      stream_billing_lease_acquire(&l, NULL, NULL, billing, "", adult, title0, "tv", NULL),
      STREAM_EINVAL);
  ck_assert_int_eq(
      stream_billing_lease_acquire(&l, NULL, NULL, billing, account, "bad id!", title0, "tv", NULL),
      STREAM_EINVAL);
  ck_assert_int_eq(
      stream_billing_lease_acquire(&l, NULL, NULL, billing, account, adult, NULL, "tv", NULL),
      STREAM_EINVAL);
  ck_assert_int_eq(
      stream_billing_lease_acquire(&l, NULL, NULL, billing, account, adult, title0, NULL, NULL),
      STREAM_EINVAL);
  ck_assert_int_eq(acquire(&l, "", NULL), STREAM_EINVAL);
  ck_assert_int_eq(acquire(&l, long_device, NULL), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(msg(), "device_id is longer than 128"));
  long_device[128] = '\0'; /* exactly 128: accepted */
  ck_assert_int_eq(acquire(&l, long_device, NULL), STREAM_OK);
  ck_assert_int_eq(stream_billing_lease_release(billing, account, l.id), STREAM_OK);
  ck_assert_int_eq(acquire(&l, "tv\x01", NULL), STREAM_EINVAL);
  ck_assert_int_eq(acquire(&l, "tv\n", NULL), STREAM_EINVAL);
  ck_assert_int_eq(acquire(&l, "t\xc3\xa9l\xc3\xa9", NULL), STREAM_EINVAL); /* not ASCII */
  ck_assert_int_eq(acquire(&l, "tv", "bad \xff name"), STREAM_EINVAL);
  ck_assert_int_eq(acquire(&l, "tv", "line\nbreak"), STREAM_EINVAL);
  char long_name[STREAM_BILLING_DEVICE_SIZE + 1];
  memset(long_name, 'n', sizeof long_name - 1);
  long_name[sizeof long_name - 1] = '\0';
  ck_assert_int_eq(acquire(&l, "tv", long_name), STREAM_EINVAL);
  ck_assert_uint_eq(live_leases(account), 0); /* nothing stored */
  ck_assert_int_eq(acquire(&l, "tv", "T\xc3\xa9l\xc3\xa9 du salon"), STREAM_OK); /* UTF-8 name */
  ck_assert_str_eq(l.device_name, "T\xc3\xa9l\xc3\xa9 du salon");

  ck_assert_int_eq(stream_billing_entitlement_check(NULL, billing, account, adult, title0, "tv"),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_entitlement_check(&e, NULL, account, adult, title0, "tv"),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_entitlement_check(&e, billing, account, adult, title0, ""),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_entitlement_check(&e, billing, account, NULL, title0, "tv"),
                   STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_lease_heartbeat(NULL, billing, account, l.id), STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_lease_heartbeat(&l, billing, account, ""), STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_lease_release(billing, account, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_lease_release(NULL, account, "x"), STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_lease_list(NULL, &n, billing, account), STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_lease_list(&arr, NULL, billing, account), STREAM_EINVAL);
  ck_assert_int_eq(stream_billing_lease_list(&arr, &n, billing, "bad/id"), STREAM_EINVAL);
  ck_assert_ptr_null(arr);
  ck_assert_uint_eq(live_leases(account), 1);
  ck_assert_ptr_null(stream_billing_reason_name(6));
  ck_assert_ptr_null(stream_billing_reason_name(-1));
  ck_assert_str_eq(stream_billing_reason_name(STREAM_BILLING_OK), "ok");
}
END_TEST

/* ---- subscription states ------------------------------------------------- */

static int entitled(void)
{
  stream_billing_entitlement e;
  ck_assert_int_eq(stream_billing_entitlement_check(&e, billing, account, adult, title0, "tv-1"),
                   STREAM_OK);
  return e.allowed;
}

START_TEST(test_canceled_not_entitled)
{
  subscribe(account, "standard", "tok_4242424242424242");
  stream_billing_subscription s;
  ck_assert_int_eq(stream_billing_cancel(&s, billing, account, "cancel-1"), STREAM_OK);
  ck_assert_int_eq(entitled(), 1); /* until the period ends */
  clock_now = s.period_end + 1;
  ck_assert_int_eq(stream_billing_run_renewals(NULL, billing), STREAM_OK);
  ck_assert_int_eq(stream_billing_subscription_get(&s, billing, account), STREAM_OK);
  ck_assert_int_eq(s.status, STREAM_BILLING_CANCELED);
  stream_billing_entitlement e;
  ck_assert_int_eq(stream_billing_entitlement_check(&e, billing, account, adult, title0, "tv-1"),
                   STREAM_OK);
  ck_assert_int_eq(e.allowed, 0);
  ck_assert_int_eq(e.reason, STREAM_BILLING_NO_SUBSCRIPTION);
  stream_billing_lease l;
  ck_assert_int_eq(acquire(&l, "tv-1", "TV"), STREAM_EFORBIDDEN);
  ck_assert_uint_eq(live_leases(account), 0);
}
END_TEST

START_TEST(test_past_due_entitled_expired_not)
{
  /* First charge succeeds, every later one is declined. */
  subscribe(account, "standard", "tok_4000000000000341");
  stream_billing_subscription s;
  ck_assert_int_eq(stream_billing_subscription_get(&s, billing, account), STREAM_OK);
  clock_now = s.period_end;
  ck_assert_int_eq(stream_billing_run_renewals(NULL, billing), STREAM_OK);
  ck_assert_int_eq(stream_billing_subscription_get(&s, billing, account), STREAM_OK);
  ck_assert_int_eq(s.status, STREAM_BILLING_PAST_DUE);
  ck_assert_int_eq(entitled(), 1);
  stream_billing_lease l;
  ck_assert_int_eq(acquire(&l, "tv-1", "TV"), STREAM_OK);

  /* Dunning runs out over its 7-day span. */
  for (int day = 0; day < 10 && s.status == STREAM_BILLING_PAST_DUE; day++) {
    advance(86400);
    ck_assert_int_eq(stream_billing_run_renewals(NULL, billing), STREAM_OK);
    ck_assert_int_eq(stream_billing_subscription_get(&s, billing, account), STREAM_OK);
  }
  ck_assert_int_eq(s.status, STREAM_BILLING_EXPIRED);
  ck_assert_int_eq(entitled(), 0);
  ck_assert_int_eq(acquire(&l, "tv-1", "TV"), STREAM_EFORBIDDEN);
  ck_assert_int_eq(acquire(&l, "phone", "Phone"), STREAM_EFORBIDDEN);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("billing-leases");
  TCase *tc = tcase_create("leases");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_no_subscription);
  tcase_add_test(tc, test_allowed_answer);
  tcase_add_test(tc, test_maturity);
  tcase_add_test(tc, test_profile_mismatch_and_unknown_title);
  tcase_add_test(tc, test_screens_full_then_lapse);
  tcase_add_test(tc, test_heartbeat_renews);
  tcase_add_test(tc, test_release_frees_at_once);
  tcase_add_test(tc, test_same_device_reacquires);
  tcase_add_test(tc, test_concurrent_starts_never_exceed_plan);
  tcase_add_test(tc, test_bad_input);
  tcase_add_test(tc, test_canceled_not_entitled);
  tcase_add_test(tc, test_past_due_entitled_expired_not);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
