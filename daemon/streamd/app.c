/*
 * streamd's application state: it owns the data directory layout
 *
 *   <data_dir>/               0700
 *   <data_dir>/streamd.db     the SQLite store (plus -wal / -shm), unless store_url names a
 *                             PostgreSQL database
 *   <data_dir>/streamd.lock   with the SQLite store: an exclusive flock held while streamd
 *                             runs, so a second streamd on the same directory stops at start
 *   <data_dir>/keys/          0700
 *   <data_dir>/keys/access.key  HMAC-SHA256 access-token key, 32 bytes, base64url, 0600
 *                               (generation 1, kid access-1; access-<n>.key and
 *                               access-<n>.next.key are further generations, keyfile.h)
 *   <data_dir>/keys/rate.key    (store_url only) HMAC key naming the shared rate-limit
 *                               buckets, 32 bytes, base64url, 0600
 *   <data_dir>/demo-credentials.json  (--seed-demo only) 0600
 *
 * and creates the services on it. The signing key is generated on the first
 * start and loaded afterwards (with every generation of it an operator added);
 * it is never logged or printed. The process umask is 077 so the database
 * files are private too.
 */
#include "app.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "billing_job.h"
#include "ingest.h"
#include "keyfile.h"
#include "qoe_job.h"
#include "purge_job.h"
#include "recs_job.h"
#include "reader_job.h"
#include "relay_job.h"
#include "reset_queue.h"
#include "log.h"
#include "mail.h"
#include "problem.h"
#include "stream/common.h"
#include "stream/password.h"

static _Atomic(streamd_app *) current;

streamd_app *streamd_app_get(void)
{
  return atomic_load_explicit(&current, memory_order_acquire);
}

streamd_app *streamd_app_require(const streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_get();
  if (!app)
    streamd_reply_problem(resp, req, STREAM_EBUSY, "the daemon is starting");
  return app;
}

/* ---- flags ------------------------------------------------------------------ */

enum flag_kind { F_BOOL, F_STR, F_LONG };

typedef struct app_flag {
  const char *name;
  enum flag_kind kind;
  size_t off;
  size_t size;
  long min, max;
  const char *help;
} app_flag;

#define AOFF(f) offsetof(streamd_app_options, f)
#define ASZ(f) sizeof(((streamd_app_options *)0)->f)

static const app_flag flags[] = {
    {"seed-demo", F_BOOL, AOFF(seed_demo), 0, 0, 1,
     "import the demo catalog when the catalog is empty, create the demo account, print both"},
    {"demo-catalog", F_STR, AOFF(demo_catalog), ASZ(demo_catalog), 0, 0,
     "catalog import file for --seed-demo (default " STREAMD_DEFAULT_DEMO_CATALOG ")"},
    {"print-routes", F_BOOL, AOFF(print_routes), 0, 0, 1,
     "print the route table (METHOD PATH ROLE per line) and exit"},
    {"public-url", F_STR, AOFF(public_url), ASZ(public_url), 0, 0,
     "base URL users reach this server at (verification_uri); default http://<address>:<port>"},
    {"access-token-ttl", F_LONG, AOFF(access_ttl), 0, 1, 86400,
     "access-token lifetime in seconds (default 900)"},
    {"device-code-lifetime", F_LONG, AOFF(device_lifetime), 0, 60, 3600,
     "seconds a TV sign-in code lives (default 600)"},
    {"device-interval", F_LONG, AOFF(device_interval), 0, 1, 60,
     "minimum seconds between device polls (default 5)"},
    {"login-account-burst", F_LONG, AOFF(rate_account_burst), 0, 0, 1000000,
     "sign-in attempts per account in a burst; 0 = no limit (default 5)"},
    {"login-account-interval", F_LONG, AOFF(rate_account_interval), 0, 1, 86400,
     "seconds to regain one account attempt (default 60)"},
    {"login-address-burst", F_LONG, AOFF(rate_address_burst), 0, 0, 1000000,
     "sign-in attempts per client address in a burst; 0 = no limit (default 20)"},
    {"login-address-interval", F_LONG, AOFF(rate_address_interval), 0, 1, 86400,
     "seconds to regain one address attempt (default 6)"},
    {"trust-forwarded-for", F_BOOL, AOFF(trust_forwarded_for), 0, 0, 1,
     "rate-limit sign-ins by the last X-Forwarded-For address (only behind a proxy you run)"},
};

static const app_flag *find_flag(const char *name, size_t n)
{
  for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
    if (strlen(flags[i].name) == n && strncmp(flags[i].name, name, n) == 0)
      return &flags[i];
  return NULL;
}

static int set_flag(streamd_app_options *o, const app_flag *f, const char *v, char *err,
                    size_t errlen)
{
  char *base = (char *)o;
  switch (f->kind) {
  case F_BOOL:
    if (!v || strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
      *(int *)(void *)(base + f->off) = 1;
    else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
      *(int *)(void *)(base + f->off) = 0;
    else {
      snprintf(err, errlen, "flag --%s: expected true or false, got '%.40s'", f->name, v);
      return -1;
    }
    return 0;
  case F_STR:
    if (!v || strlen(v) >= f->size) {
      snprintf(err, errlen, "flag --%s: needs a value of at most %zu bytes", f->name, f->size - 1);
      return -1;
    }
    memcpy(base + f->off, v, strlen(v) + 1);
    return 0;
  case F_LONG: {
    char *end = NULL;
    errno = 0;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || errno || *end || n < f->min || n > f->max) {
      snprintf(err, errlen, "flag --%s: must be an integer between %ld and %ld, got '%.40s'",
               f->name, f->min, f->max, v ? v : "");
      return -1;
    }
    *(long *)(void *)(base + f->off) = n;
    return 0;
  }
  }
  return -1;
}

int streamd_app_parse_args(streamd_app_options *o, int *argc, char **argv, char *err, size_t errlen)
{
  memset(o, 0, sizeof(*o));
  snprintf(o->demo_catalog, sizeof(o->demo_catalog), "%s", STREAMD_DEFAULT_DEMO_CATALOG);
  o->access_ttl = o->device_lifetime = o->device_interval = -1;
  o->rate_account_burst = o->rate_account_interval = -1;
  o->rate_address_burst = o->rate_address_interval = -1;
  int out = 1;
  for (int i = 1; i < *argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
      return 1;
    if (strncmp(a, "--", 2) != 0) {
      argv[out++] = argv[i];
      continue;
    }
    const char *eq = strchr(a, '=');
    size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    const app_flag *f = find_flag(a + 2, nl);
    if (!f) {
      /* A config.c flag: keep it and its separate value (if any) for streamd_config_load. */
      argv[out++] = argv[i];
      if (!eq && strcmp(a, "--version") != 0 && i + 1 < *argc)
        argv[out++] = argv[++i];
      continue;
    }
    const char *v = eq ? eq + 1 : NULL;
    if (!v && f->kind != F_BOOL) {
      if (i + 1 >= *argc) {
        snprintf(err, errlen, "flag --%s needs a value", f->name);
        return -1;
      }
      v = argv[++i];
    }
    if (set_flag(o, f, v, err, errlen) != 0)
      return -1;
  }
  argv[out] = NULL;
  *argc = out;
  return 0;
}

void streamd_app_usage(FILE *f)
{
  fprintf(f, "\nService flags (flags only):\n");
  for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
    fprintf(f, "  --%-24s %s\n", flags[i].name, flags[i].help);
}

/* ---- data directory and key -------------------------------------------------- */

/* With the SQLite store, one streamd per data directory: the store's rate limits, billing
 * ledger and background jobs assume one process. Hold an exclusive flock on
 * <data_dir>/streamd.lock (released by the kernel when the process ends, however it ends);
 * a second streamd on the directory stops at start instead of sharing the database. */
static int lock_data_dir(streamd_app *app, const char *dir)
{
  char path[1200];
  snprintf(path, sizeof(path), "%s/streamd.lock", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    streamd_logf(STREAM_LOG_ERROR, "%s: %s", path, strerror(errno));
    return -1;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    char holder[32] = "";
    ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
    holder[n > 0 ? n : 0] = '\0';
    holder[strcspn(holder, "\n")] = '\0';
    close(fd);
    if (e == EWOULDBLOCK)
      streamd_logf(STREAM_LOG_ERROR,
                   "another streamd (pid %s) is running on the data directory %s: its SQLite "
                   "store serves one process; stop it, or give this one another data_dir (or a "
                   "shared PostgreSQL store_url)",
                   holder[0] ? holder : "?", dir);
    else
      streamd_logf(STREAM_LOG_ERROR, "locking %s: %s", path, strerror(e));
    return -1;
  }
  char pid[32];
  int len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len)
    streamd_logf(STREAM_LOG_WARN, "%s: cannot write the pid: %s", path, strerror(errno));
  app->lock_fd = fd;
  return 0;
}

/* <data_dir>/keys/<file> (rate.key): a 32-byte HMAC key `id`, generated on the first start
 * (keyfile.c: published whole, so daemons starting together on a shared data directory share
 * one) and loaded afterwards; `what` names it in the log. */
static int load_or_create_key(stream_key **out, const char *data_dir, const char *file,
                              const char *id, const char *what)
{
  char dir[1100], path[1200];
  snprintf(dir, sizeof(dir), "%s/keys", data_dir);
  snprintf(path, sizeof(path), "%s/%s", dir, file);
  if (streamd_ensure_dir(dir) != 0)
    return -1;
  return streamd_key_file(out, path, 1, STREAM_KEY_HMAC, id, 32, STREAM_KEY_FORMAT_BASE64URL, what);
}

int streamd_app_open(streamd_app *app, const streamd_config *cfg, const streamd_app_options *o)
{
  memset(app, 0, sizeof(*app));
  app->lock_fd = -1;
  app->cfg = cfg;
  app->opts = *o;
  umask(077);
  if (streamd_ensure_dir(cfg->data_dir) != 0)
    return -1;
  if (!cfg->store_url[0] && lock_data_dir(app, cfg->data_dir) != 0)
    return -1;

  char db[1200];
  snprintf(db, sizeof(db), "%s/streamd.db", cfg->data_dir);
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  /* store_url (checked to hold no password) names a shared PostgreSQL database. */
  so.path = cfg->store_url[0] ? cfg->store_url : db;
  so.readers = cfg->threads < 32 ? cfg->threads : 32;
  so.sync = cfg->store_sync;
  /* Logs show store_url redacted (no user information, no parameter values). */
  char shown[1200];
  if (cfg->store_url[0])
    streamd_config_redact_url(shown, sizeof(shown), cfg->store_url);
  else
    snprintf(shown, sizeof(shown), "%s", db);
  if (stream_store_open(&app->store, &so) != STREAM_OK) {
    streamd_logf(STREAM_LOG_ERROR, "opening %s: %s", shown, stream_error_last()->message);
    return -1;
  }
  streamd_logf(STREAM_LOG_INFO, "store: %s (%s)", stream_store_backend_name(app->store), shown);

  /* Every generation of the access-token key (keyfile.h): the highest active one signs, all
   * verify, so a key is replaced without refusing the tokens the one before signed. */
  char keys_dir[1100];
  snprintf(keys_dir, sizeof(keys_dir), "%s/keys", cfg->data_dir);
  if (streamd_ensure_dir(keys_dir) != 0 ||
      streamd_key_generations(&app->keys, keys_dir, STREAMD_ACCESS_KEY_ROLE,
                              "access-token signing key") != 0)
    return -1;

  stream_catalog_options co = STREAM_CATALOG_OPTIONS_INIT;
  co.store = app->store;
  if (stream_catalog_new(&app->catalog, &co) != STREAM_OK) {
    streamd_logf(STREAM_LOG_ERROR, "catalog: %s", stream_error_last()->message);
    return -1;
  }
  stream_events_options eo = STREAM_EVENTS_OPTIONS_INIT;
  eo.store = app->store;
  if (stream_events_new(&app->events, &eo) != STREAM_OK) {
    streamd_logf(STREAM_LOG_ERROR, "events: %s", stream_error_last()->message);
    return -1;
  }
  /* Billing: the local provider, the service, the default plans (billing_job.c). */
  if (streamd_billing_open(&app->billing_svc, app->store, app->cfg->lease_ttl_s) != 0)
    return -1;
  app->billing = streamd_billing_service(app->billing_svc);
  /* Recommendations: <data_dir>/recs/model.bin is served at once when present (recs_job.c). */
  if (streamd_recs_open(&app->recs_svc, app->store, app->catalog, app->events, cfg->data_dir,
                        cfg->recs_factors, cfg->recs_iterations) != 0)
    return -1;
  app->recs = streamd_recs_service(app->recs_svc);
  return 0;
}

int streamd_app_start(streamd_app *app, unsigned int port)
{
  const streamd_app_options *o = &app->opts;
  if (o->public_url[0]) {
    snprintf(app->public_url, sizeof(app->public_url), "%s", o->public_url);
    size_t n = strlen(app->public_url);
    while (n && app->public_url[n - 1] == '/')
      app->public_url[--n] = '\0';
  } else {
    const char *host = app->cfg->listen_address;
    if (strcmp(host, "0.0.0.0") == 0)
      host = "127.0.0.1";
    else if (strcmp(host, "::") == 0)
      host = "::1";
    if (strchr(host, ':'))
      snprintf(app->public_url, sizeof(app->public_url), "http://[%s]:%u", host, port);
    else
      snprintf(app->public_url, sizeof(app->public_url), "http://%s:%u", host, port);
  }
  char verification[600];
  snprintf(verification, sizeof(verification), "%s/activate", app->public_url);

  stream_auth_options ao = STREAM_AUTH_OPTIONS_INIT;
  ao.store = app->store;
  ao.keys = app->keys;
  ao.issuer = "streamd";
  ao.audience = "streamd";
  ao.verification_uri = verification;
  if (o->access_ttl > 0)
    ao.access_ttl = o->access_ttl;
  if (o->device_lifetime > 0)
    ao.device_lifetime = (int)o->device_lifetime;
  if (o->device_interval > 0)
    ao.device_interval = (int)o->device_interval;
  if (o->rate_account_burst >= 0)
    ao.rate_account_burst = (unsigned int)o->rate_account_burst;
  if (o->rate_account_interval > 0)
    ao.rate_account_interval = (unsigned int)o->rate_account_interval;
  if (o->rate_address_burst >= 0)
    ao.rate_address_burst = (unsigned int)o->rate_address_burst;
  if (o->rate_address_interval > 0)
    ao.rate_address_interval = (unsigned int)o->rate_address_interval;
  /* Password reset links go to the outbox directory (mail.c). */
  char mail_dir[1100], reset_base[1100];
  if (app->cfg->mail_dir[0])
    snprintf(mail_dir, sizeof(mail_dir), "%s", app->cfg->mail_dir);
  else
    snprintf(mail_dir, sizeof(mail_dir), "%s/outbox", app->cfg->data_dir);
  if (app->cfg->reset_url_base[0])
    snprintf(reset_base, sizeof(reset_base), "%s", app->cfg->reset_url_base);
  else
    snprintf(reset_base, sizeof(reset_base), "%s/#/reset?token=", app->public_url);
  if (streamd_mail_init(mail_dir, app->cfg->mail_from) != 0)
    return -1;
  ao.send_mail = streamd_mail_send;
  ao.reset_url_base = reset_base;
  /* Scale-out (store_url: several daemons on one database): the sign-in and reset limits
   * are kept in the store, so N daemons allow the configured burst in total, not N times. */
  ao.rate_in_store = app->cfg->store_url[0] ? 1 : 0;
  /* Their buckets are named by HMAC with <data_dir>/keys/rate.key (shared like access.key),
   * so the table does not give back an address or an e-mail to whoever guesses it. */
  if (ao.rate_in_store) {
    if (load_or_create_key(&app->rate_key, app->cfg->data_dir, "rate.key", "rate-1",
                           "rate-limit bucket key") != 0)
      return -1;
    ao.rate_key = app->rate_key;
  }
  if (stream_auth_new(&app->auth, &ao) != STREAM_OK) {
    streamd_logf(STREAM_LOG_ERROR, "auth: %s", stream_error_last()->message);
    return -1;
  }
  /* Reset links are sent by this queue's thread, off the request path; its first pass
   * processes the requests an earlier process accepted and did not finish. */
  if (streamd_reset_queue_start(&app->reset_queue, app->auth) != 0)
    return -1;
  if (streamd_media_open(app) != 0)
    return -1;
  /* Uploads, the job queue and the transcode workers (ingest.c); needs media_root. */
  if (streamd_ingest_open(&app->ingest, app) != 0)
    return -1;
  if (!o->seed_demo)
    streamd_ingest_seed(app->ingest); /* with --seed-demo: after the demo catalog import */
  if (streamd_billing_start_renewals(app->billing_svc, app->cfg->billing_renew_interval_s) != 0)
    return -1;
  if (streamd_qoe_start(&app->qoe, app->events, app->cfg->qoe_interval_s) != 0)
    return -1;
  /* Scale-out event pipeline: the event log relayed to NATS JetStream (nats_url). */
  if (streamd_relay_start(&app->relay, app->events, app->cfg) != 0)
    return -1;
  /* The analytics replica's half: JetStream read into this event log (nats_reader_url). */
  if (streamd_reader_start(&app->reader, app->events, app->cfg) != 0)
    return -1;
  if (streamd_recs_start(app->recs_svc, app->cfg->recs_interval_s) != 0)
    return -1;
  if (streamd_purge_start(&app->purge, app->store, app->cfg->purge_interval_s) != 0)
    return -1;
  atomic_store_explicit(&current, app, memory_order_release);
  return 0;
}

/* ---- demo seeding -------------------------------------------------------------- */

static char *read_file(const char *path, size_t max)
{
  FILE *f = fopen(path, "rbe");
  if (!f)
    return NULL;
  char *buf = NULL;
  size_t len = 0, cap = 0;
  int err = 0;
  for (;;) {
    if (len == cap) {
      if (cap > max) { /* read max + 1 bytes: too large */
        err = EFBIG;
        break;
      }
      size_t ncap = cap ? cap * 2 : 65536;
      if (ncap > max + 1)
        ncap = max + 1;
      char *nb = realloc(buf, ncap + 1);
      if (!nb) {
        err = ENOMEM;
        break;
      }
      buf = nb;
      cap = ncap;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (n == 0) {
      if (ferror(f))
        err = EIO;
      break;
    }
  }
  fclose(f);
  if (err || !buf) {
    free(buf);
    errno = err ? err : EIO;
    return NULL;
  }
  buf[len] = '\0';
  return buf;
}

static int catalog_is_empty(streamd_app *app)
{
  char *json = NULL;
  if (stream_catalog_browse(&json, app->catalog, NULL, NULL, 1, NULL) != STREAM_OK)
    return -1;
  cJSON *root = cJSON_Parse(json);
  stream_free(json);
  const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
  int empty = cJSON_IsArray(items) ? cJSON_GetArraySize(items) == 0 : -1;
  cJSON_Delete(root);
  return empty;
}

static int seed_catalog(streamd_app *app)
{
  int empty = catalog_is_empty(app);
  if (empty < 0) {
    streamd_logf(STREAM_LOG_ERROR, "demo: cannot read the catalog: %s",
                 stream_error_last()->message);
    return -1;
  }
  if (!empty) {
    streamd_logf(STREAM_LOG_INFO, "demo: the catalog has titles; not importing");
    return 0;
  }
  const char *path = app->opts.demo_catalog;
  char *doc = read_file(path, STREAM_CATALOG_IMPORT_MAX);
  if (!doc) {
    streamd_logf(STREAM_LOG_ERROR, "demo: cannot read %s: %s", path, strerror(errno));
    return -1;
  }
  stream_catalog_import_result r;
  int rc = stream_catalog_import(&r, app->catalog, doc);
  free(doc);
  if (rc != STREAM_OK) {
    streamd_logf(STREAM_LOG_ERROR, "demo: importing %s: %s", path, stream_error_last()->message);
    stream_catalog_import_result_clear(&r);
    return -1;
  }
  streamd_logf(STREAM_LOG_INFO, "demo: imported %s: %zu titles (%zu created, %zu updated)", path,
               r.total, r.created, r.updated);
  stream_catalog_import_result_clear(&r);
  return 0;
}

static int random_password(char *out, size_t len)
{
  static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  unsigned char r[64];
  if (len > sizeof(r) || stream_random_bytes(r, len) != STREAM_OK)
    return -1;
  for (size_t i = 0; i < len; i++)
    out[i] = alphabet[r[i] % (sizeof(alphabet) - 1)];
  out[len] = '\0';
  explicit_bzero(r, sizeof(r));
  return 0;
}

/* Read the saved demo password (0 = found). */
static int read_saved_password(char *out, size_t n, const char *path)
{
  char *text = read_file(path, 4096);
  if (!text)
    return -1;
  cJSON *root = cJSON_Parse(text);
  explicit_bzero(text, strlen(text));
  free(text);
  const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "password");
  int rc = -1;
  if (cJSON_IsString(p) && strlen(p->valuestring) >= STREAM_AUTH_PASSWORD_MIN &&
      strlen(p->valuestring) < n) {
    snprintf(out, n, "%s", p->valuestring);
    rc = 0;
  }
  cJSON_Delete(root);
  return rc;
}

static void demo_profiles(streamd_app *app, const char *account_id)
{
  stream_auth_profile_input in = STREAM_AUTH_PROFILE_INPUT_INIT;
  in.name = "Demo";
  if (stream_auth_profile_create(NULL, app->auth, account_id, &in) != STREAM_OK)
    streamd_logf(STREAM_LOG_WARN, "demo: profile Demo: %s", stream_error_last()->message);
  stream_auth_profile_input kids = STREAM_AUTH_PROFILE_INPUT_INIT;
  kids.name = "Kids";
  kids.kids = 1;
  if (stream_auth_profile_create(NULL, app->auth, account_id, &kids) != STREAM_OK)
    streamd_logf(STREAM_LOG_WARN, "demo: profile Kids: %s", stream_error_last()->message);
}

/* The demo account: created with a random password saved in demo-credentials.json, or the
 * saved one. *changed = 1 when the account's password is no longer the saved one (changed
 * through the API or the web player since): it is kept, and not printed. */
static int seed_account(streamd_app *app, char *password, size_t pwlen, int *changed)
{
  *changed = 0;
  char path[1200];
  snprintf(path, sizeof(path), "%s/demo-credentials.json", app->cfg->data_dir);
  int saved = read_saved_password(password, pwlen, path) == 0;
  if (!saved && random_password(password, 16) != 0) {
    streamd_logf(STREAM_LOG_ERROR, "demo: no randomness for the demo password");
    return -1;
  }
  stream_store_account acct;
  int rc = stream_store_account_get_by_email(&acct, app->store, STREAMD_DEMO_EMAIL);
  if (rc == STREAM_ENOTFOUND) {
    stream_auth_account created;
    if (stream_auth_register(&created, app->auth, STREAMD_DEMO_EMAIL, password) != STREAM_OK) {
      streamd_logf(STREAM_LOG_ERROR, "demo: creating the demo account: %s",
                   stream_error_last()->message);
      return -1;
    }
    demo_profiles(app, created.id);
  } else if (rc == STREAM_OK) {
    if (!saved && stream_auth_account_set_password(app->auth, acct.id, password) != STREAM_OK) {
      streamd_logf(STREAM_LOG_ERROR, "demo: resetting the demo password: %s",
                   stream_error_last()->message);
      return -1;
    }
    if (saved &&
        stream_password_verify(acct.password_hash, password, strlen(password)) == STREAM_EAUTH) {
      *changed = 1;
      explicit_bzero(password, pwlen);
      streamd_logf(STREAM_LOG_INFO,
                   "demo: the demo account's password was changed since %s was written; it is "
                   "kept (delete the file and restart to get a new random one)",
                   path);
    }
    explicit_bzero(acct.password_hash, sizeof(acct.password_hash));
  } else {
    streamd_logf(STREAM_LOG_ERROR, "demo: %s", stream_error_last()->message);
    return -1;
  }
  if (!saved) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "email", STREAMD_DEMO_EMAIL);
    cJSON_AddStringToObject(o, "password", password);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    unlink(path);
    int wr = text ? streamd_write_private_file(path, text) : -1;
    if (text) {
      explicit_bzero(text, strlen(text));
      free(text);
    }
    if (wr != 0)
      streamd_logf(STREAM_LOG_WARN, "demo: cannot save %s: %s", path, strerror(errno));
  }
  return 0;
}

int streamd_app_seed_demo(streamd_app *app, char **out_line)
{
  *out_line = NULL;
  if (seed_catalog(app) != 0)
    return -1;
  char password[80];
  int changed = 0;
  if (seed_account(app, password, sizeof(password), &changed) != 0)
    return -1;
  /* A second stdout line, only in demo mode: where to go and how to sign in. */
  cJSON *o = cJSON_CreateObject();
  char activate[600];
  snprintf(activate, sizeof(activate), "%s/activate", app->public_url);
  cJSON_AddStringToObject(o, "event", "demo");
  cJSON_AddStringToObject(o, "url", app->public_url);
  cJSON_AddStringToObject(o, "activate", activate);
  cJSON_AddStringToObject(o, "email", STREAMD_DEMO_EMAIL);
  if (changed) /* the owner's own password: not known here, never printed */
    cJSON_AddNullToObject(o, "password");
  else
    cJSON_AddStringToObject(o, "password", password);
  cJSON_AddBoolToObject(o, "password_changed", changed != 0);
  char *line = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  explicit_bzero(password, sizeof(password));
  if (!line)
    return -1;
  streamd_ingest_seed(app->ingest); /* seed_media titles exist now */
  streamd_recs_kick(app->recs_svc); /* retrain with the demo titles (when the thread runs) */
  *out_line = line;
  return 0;
}

void streamd_app_close(streamd_app *app)
{
  atomic_store_explicit(&current, NULL, memory_order_release);
  /* Every accepted reset request that can be sent is sent before auth and store go (the
   * server is stopped: nothing is accepted any more; what cannot be sent stays in the store). */
  streamd_reset_queue_stop(app->reset_queue);
  app->reset_queue = NULL;
  streamd_purge_stop(app->purge); /* the retention thread uses the store */
  app->purge = NULL;
  streamd_ingest_close(app->ingest); /* stops the transcode workers first */
  app->ingest = NULL;
  streamd_media_close(app);
  streamd_billing_close(app->billing_svc); /* stops the renewal thread first */
  streamd_recs_close(app->recs_svc);       /* stops the retrain thread; uses events, catalog */
  streamd_qoe_stop(app->qoe);              /* before the events handle it uses */
  streamd_relay_stop(app->relay);          /* likewise */
  app->relay = NULL;
  streamd_reader_stop(app->reader); /* likewise */
  app->reader = NULL;
  stream_auth_free(app->auth);
  stream_catalog_free(app->catalog);
  stream_events_free(app->events);
  stream_keyring_free(app->keys);
  stream_key_free(app->rate_key);
  stream_store_close(app->store);
  if (app->lock_fd >= 0) /* last: the next streamd on the directory opens a closed store */
    close(app->lock_fd);
  memset(app, 0, sizeof(*app));
  app->lock_fd = -1;
}
