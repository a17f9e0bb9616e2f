/*
 * Configuration loading. One table names every key once; the JSON file, the
 * STREAMD_<KEY> environment variables and the --<key> flags all go through
 * the same typed setter, applied in that order so later sources win.
 * Secrets are never taken from the config file or flags (they show up in
 * `ps` and in backups): the operator token comes from a file named here or
 * from the STREAMD_OPERATOR_TOKEN environment variable (see auth.c).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "stream/common.h"
#include "stream/store.h"

/* The data directory when no source sets one: the single place it is defined. */
#define STREAMD_DEFAULT_DATA_DIR "./data"

enum key_kind { K_STR, K_UINT, K_SIZE, K_LIST, K_LEVEL, K_SYNC };

typedef struct key_desc {
  const char *name; /* JSON key; env is STREAMD_<NAME>, flag is --<name with '-'> */
  enum key_kind kind;
  size_t off;
  size_t size;                 /* K_STR: buffer size */
  unsigned long long min, max; /* K_UINT / K_SIZE */
  const char *help;
} key_desc;

#define OFF(f) offsetof(streamd_config, f)
#define SZ(f) sizeof(((streamd_config *)0)->f)

static const key_desc keys[] = {
    {"listen_address", K_STR, OFF(listen_address), SZ(listen_address), 0, 0,
     "IPv4 or IPv6 address to listen on (default 127.0.0.1)"},
    {"port", K_UINT, OFF(port), 0, 0, 65535, "TCP port; 0 picks a free port (printed on stdout)"},
    {"data_dir", K_STR, OFF(data_dir), SZ(data_dir), 0, 0,
     "data directory (created 0700 if missing; default " STREAMD_DEFAULT_DATA_DIR ")"},
    {"threads", K_UINT, OFF(threads), 0, 1, 256,
     "SQLite readers; HTTP pool above 1024 connections (default 4)"},
    {"store_url", K_STR, OFF(store_url), SZ(store_url), 0, 0,
     "PostgreSQL store instead of <data_dir>/streamd.db: a libpq URI "
     "postgresql://[user@]host[:port]/dbname[?param=value...]; several streamd may share it. "
     "No password in it: libpq reads PGPASSFILE or PGPASSWORD"},
    {"store_sync", K_SYNC, OFF(store_sync), 0, 0, 0,
     "full|normal: full (default) syncs the database log at every commit, so an acknowledged "
     "write survives a power loss; normal only survives a crash of streamd"},
    {"max_connections", K_UINT, OFF(max_connections), 0, 1, 60000,
     "concurrent connections accepted (default 256)"},
    {"max_connections_per_ip", K_UINT, OFF(max_connections_per_ip), 0, 0, 60000,
     "concurrent connections from one client address; 0 = no limit (default). Behind a CDN or "
     "load balancer every client shares its few addresses: leave it 0 there"},
    {"connection_timeout", K_UINT, OFF(connection_timeout_s), 0, 1, 86400,
     "seconds a connection may stay idle (default 30)"},
    {"max_header_bytes", K_SIZE, OFF(max_header_bytes), 0, 1024, 1048576,
     "bytes of request line + headers; more gives 431 (default 8192)"},
    {"max_body_bytes", K_SIZE, OFF(max_body_bytes), 0, 1, 1073741824ULL,
     "default request body limit; more gives 413 (default 1048576)"},
    {"drain_timeout", K_UINT, OFF(drain_timeout_s), 0, 0, 3600,
     "seconds SIGTERM waits for in-flight requests (default 10)"},
    {"handler_max_delay_ms", K_UINT, OFF(handler_max_delay_ms), 0, 0, 60000,
     "cap of the diagnostic echo route's delay_ms (default 5000)"},
    {"cors_origins", K_LIST, 0, 0, 0, 0,
     "allowed CORS origins, comma separated (env/flag) or a JSON array; \"*\" = any (without "
     "credentials; refused with a cookie media_signing)"},
    {"log_level", K_LEVEL, OFF(log_level), 0, 0, 0, "debug|info|warn|error|off (default info)"},
    {"access_log", K_STR, OFF(access_log), SZ(access_log), 0, 0,
     "access log file (appended); \"-\" or empty = stderr"},
    {"operator_token_file", K_STR, OFF(operator_token_file), SZ(operator_token_file), 0, 0,
     "file holding the static operator bearer token"},
    {"billing_renew_interval", K_UINT, OFF(billing_renew_interval_s), 0, 0, 31536000,
     "seconds between runs of the billing renewal job; 0 = never (default 3600)"},
    {"web_root", K_STR, OFF(web_root), SZ(web_root), 0, 0,
     "directory of static files (the demo web player) served under /; empty = none"},
    {"region_header", K_STR, OFF(region_header), SZ(region_header), 0, 0,
     "request header set by the edge with the viewer's country (e.g. CloudFront-Viewer-Country); "
     "titles limited to regions then show only there (none = no region filter)"},
    {"qoe_interval", K_UINT, OFF(qoe_interval_s), 0, 0, 86400,
     "seconds between runs of the QoE consumer thread; 0 = only on stats requests (default 5)"},
    {"recs_interval", K_UINT, OFF(recs_interval_s), 0, 0, 31536000,
     "seconds between retrains of the recommendations model (the first at start when there is "
     "none); 0 = only on POST /v1/admin/recs/retrain (default 3600)"},
    {"purge_interval", K_UINT, OFF(purge_interval_s), 0, 0, 31536000,
     "seconds between retention purges of expired tokens, device codes, idempotency keys and "
     "screen leases (the first one at start-up); 0 = only on POST /v1/admin/purge "
     "(default 3600)"},
    {"recs_factors", K_UINT, OFF(recs_factors), 0, 1, 512,
     "latent factors of the recommendations model (default 64)"},
    {"recs_iterations", K_UINT, OFF(recs_iterations), 0, 1, 1000,
     "ALS sweeps per retrain of the recommendations model (default 15)"},
    {"lease_ttl", K_UINT, OFF(lease_ttl_s), 0, 10, 3600,
     "seconds a playback screen lease lives without a heartbeat (default 90)"},
    {"media_signing", K_STR, OFF(media_signing), SZ(media_signing), 0, 0,
     "how playback URLs are signed: path (token in the URL, default), cookie (Stream-Cookie), "
     "cloudcdn (Cloud-CDN-Cookie), mediacdn (Media CDN edge-cache-token path component) or "
     "cloudfront (CloudFront signed cookies)"},
    {"media_key_file", K_STR, OFF(media_key_file), SZ(media_key_file), 0, 0,
     "cloudcdn/mediacdn/cloudfront: the signing key file (must exist); empty = "
     "<data_dir>/keys/<format>.key (cloudfront: keys/cloudfront.pem, RSA 2048), generated on "
     "first start"},
    {"media_key_name", K_STR, OFF(media_key_name), SZ(media_key_name), 0, 0,
     "cloudcdn/mediacdn: the KeyName registered with the CDN; cloudfront: the public key id "
     "(Key-Pair-Id) (default streamd-media)"},
    {"media_hash", K_STR, OFF(media_hash), SZ(media_hash), 0, 0,
     "cloudfront: the signature hash, sha1 (default, no extra cookie) or sha256 "
     "(CloudFront-Hash-Algorithm=SHA256)"},
    {"media_url_ttl", K_UINT, OFF(media_url_ttl_s), 0, 60, 604800,
     "seconds signed playback URLs stay valid (default 21600)"},
    {"upload_max_bytes", K_SIZE, OFF(upload_max_bytes), 0, 1, 1099511627776ULL,
     "largest tus upload in bytes (default 10737418240)"},
    {"upload_expiry", K_UINT, OFF(upload_expiry_s), 0, 60, 31536000,
     "seconds before an incomplete upload is deleted (default 86400)"},
    {"transcode_workers", K_UINT, OFF(transcode_workers), 0, 0, 64,
     "transcode worker threads; 0 = none (default 1)"},
    {"job_lease", K_UINT, OFF(job_lease_s), 0, 1, 86400,
     "seconds a job stays claimed without a heartbeat (default 60)"},
    {"job_retry_backoff", K_UINT, OFF(job_retry_backoff_s), 0, 1, 86400,
     "first retry delay of a failed job in seconds, doubling (default 10)"},
    {"job_max_attempts", K_UINT, OFF(job_max_attempts), 0, 1, 100,
     "attempts before a job fails for good (default 3)"},
    {"job_max_runtime", K_UINT, OFF(job_max_runtime_s), 0, 0, 2592000,
     "seconds one attempt of a transcode or subtitles job may run before it is stopped and "
     "failed for good; 0 = no limit (default 21600)"},
    {"seed_media", K_STR, OFF(seed_media), SZ(seed_media), 0, 0,
     "TITLE_ID=PATH[,...]: at start, transcode PATH for each title without a ready asset"},
    {"mail_dir", K_STR, OFF(mail_dir), SZ(mail_dir), 0, 0,
     "outbox directory: each outgoing mail (password reset links) is written there as one "
     "RFC 5322 .eml file (mode 0600) for an MTA or relay to send; empty = <data_dir>/outbox"},
    {"mail_from", K_STR, OFF(mail_from), SZ(mail_from), 0, 0,
     "From header of outgoing mail (default \"streamd <no-reply@localhost>\")"},
    {"reset_url_base", K_STR, OFF(reset_url_base), SZ(reset_url_base), 0, 0,
     "absolute http(s) URL the password reset token is appended to in the e-mailed link; "
     "empty = <public-url>/#/reset?token="},
    {"nats_url", K_STR, OFF(nats_url), SZ(nats_url), 0, 0,
     "relay the event log to NATS JetStream at nats://host:port or tls://host:port "
     "(comma-separated list for a cluster; no credentials in it); empty = no relay (default)"},
    {"nats_stream", K_STR, OFF(nats_stream), SZ(nats_stream), 0, 0,
     "JetStream stream the relay publishes to, created when missing (default STREAM_EVENTS)"},
    {"nats_subject_prefix", K_STR, OFF(nats_subject_prefix), SZ(nats_subject_prefix), 0, 0,
     "subjects of relayed events: <prefix>.<event type> (default stream.events)"},
    {"nats_user", K_STR, OFF(nats_user), SZ(nats_user), 0, 0,
     "NATS user name of the relay and the reader; its password is the first line of "
     "nats_secret_file"},
    {"nats_secret_file", K_STR, OFF(nats_secret_file), SZ(nats_secret_file), 0, 0,
     "file whose first line is the NATS password (with nats_user) or else an auth token"},
    {"nats_creds_file", K_STR, OFF(nats_creds_file), SZ(nats_creds_file), 0, 0,
     "NATS credentials file (user JWT and NKey seed) for the relay and the reader"},
    {"nats_tls_ca_file", K_STR, OFF(nats_tls_ca_file), SZ(nats_tls_ca_file), 0, 0,
     "PEM file of the CA that signs the NATS server's certificate, trusted besides the "
     "system's; turns TLS on (as a tls:// URL does)"},
    {"nats_tls_cert_file", K_STR, OFF(nats_tls_cert_file), SZ(nats_tls_cert_file), 0, 0,
     "PEM client certificate of the relay and the reader for mutual TLS (with "
     "nats_tls_key_file)"},
    {"nats_tls_key_file", K_STR, OFF(nats_tls_key_file), SZ(nats_tls_key_file), 0, 0,
     "PEM private key (unencrypted) of nats_tls_cert_file"},
    {"nats_reader_url", K_STR, OFF(nats_reader_url), SZ(nats_reader_url), 0, 0,
     "read the JetStream stream nats_stream at nats://host:port or tls://host:port into this "
     "daemon's event log (an analytics replica; same credential and nats_tls_* keys); empty = "
     "no reader (default)"},
    {"nats_reader_durable", K_STR, OFF(nats_reader_durable), SZ(nats_reader_durable), 0, 0,
     "durable JetStream consumer of the reader, 1..64 of [A-Za-z0-9_-]; one per replica "
     "(default libstream-replica)"},
    {"nats_reader_filter", K_STR, OFF(nats_reader_filter), SZ(nats_reader_filter), 0, 0,
     "subjects the reader reads (tokens, '*', a last '>'); empty = <nats_subject_prefix>.> "
     "(default)"},
    {"nats_reader_ack_wait_ms", K_UINT, OFF(nats_reader_ack_wait_ms), 0, 1000, 3600000,
     "ack wait of the reader's durable consumer, milliseconds: messages fetched by a reader "
     "that died are delivered again after it (default 30000; an existing durable is updated)"},
    {"nats_reader_defer_delay_ms", K_UINT, OFF(nats_reader_defer_delay_ms), 0, 1000, 3600000,
     "how long the reader puts back a message only a newer streamd can read (an event type it "
     "does not know) before JetStream delivers it again, milliseconds (default 60000)"},
};

void streamd_config_defaults(streamd_config *cfg)
{
  memset(cfg, 0, sizeof(*cfg));
  snprintf(cfg->listen_address, sizeof(cfg->listen_address), "127.0.0.1");
  cfg->port = 8080;
  snprintf(cfg->data_dir, sizeof(cfg->data_dir), "%s", STREAMD_DEFAULT_DATA_DIR);
  snprintf(cfg->mail_from, sizeof(cfg->mail_from), "streamd <no-reply@localhost>");
  cfg->threads = 4;
  cfg->nats_reader_ack_wait_ms = 30000;    /* STREAM_RELAY_READER_DEFAULT_ACK_WAIT_MS */
  cfg->nats_reader_defer_delay_ms = 60000; /* STREAM_RELAY_READER_DEFAULT_DEFER_DELAY_MS */
  cfg->max_connections = 256;
  cfg->connection_timeout_s = 30;
  cfg->max_header_bytes = 8192;
  cfg->max_body_bytes = 1048576;
  cfg->drain_timeout_s = 10;
  cfg->handler_max_delay_ms = 5000;
  cfg->billing_renew_interval_s = 3600;
  cfg->lease_ttl_s = 90;
  cfg->qoe_interval_s = 5;
  cfg->recs_interval_s = 3600;
  cfg->purge_interval_s = 3600;
  cfg->recs_factors = 64;
  cfg->recs_iterations = 15;
  snprintf(cfg->media_signing, sizeof(cfg->media_signing), "path");
  snprintf(cfg->media_key_name, sizeof(cfg->media_key_name), "streamd-media");
  snprintf(cfg->media_hash, sizeof(cfg->media_hash), "sha1");
  cfg->media_url_ttl_s = 21600;
  cfg->upload_max_bytes = (size_t)10 * 1024 * 1024 * 1024;
  cfg->upload_expiry_s = 86400;
  cfg->transcode_workers = 1;
  cfg->job_lease_s = 60;
  cfg->job_retry_backoff_s = 10;
  cfg->job_max_attempts = 3;
  /* 6 h: hours of 4K on a slow CPU, yet a hung job frees its worker within the day. */
  cfg->job_max_runtime_s = 21600;
  cfg->log_level = STREAM_LOG_INFO;
  snprintf(cfg->access_log, sizeof(cfg->access_log), "-");
  snprintf(cfg->nats_stream, sizeof(cfg->nats_stream), "STREAM_EVENTS");
  snprintf(cfg->nats_subject_prefix, sizeof(cfg->nats_subject_prefix), "stream.events");
}

static int set_list(streamd_config *cfg, const char *v, char *err, size_t errlen)
{
  cfg->n_cors_origins = 0;
  const char *p = v;
  while (*p) {
    while (*p == ' ' || *p == ',')
      p++;
    if (!*p)
      break;
    const char *e = p;
    while (*e && *e != ',')
      e++;
    size_t n = (size_t)(e - p);
    while (n && p[n - 1] == ' ')
      n--;
    if (cfg->n_cors_origins >= STREAMD_MAX_ORIGINS) {
      snprintf(err, errlen, "cors_origins: more than %d origins", STREAMD_MAX_ORIGINS);
      return -1;
    }
    if (n >= sizeof(cfg->cors_origins[0])) {
      snprintf(err, errlen, "cors_origins: origin longer than %zu bytes",
               sizeof(cfg->cors_origins[0]) - 1);
      return -1;
    }
    memcpy(cfg->cors_origins[cfg->n_cors_origins], p, n);
    cfg->cors_origins[cfg->n_cors_origins][n] = '\0';
    cfg->n_cors_origins++;
    p = e;
  }
  return 0;
}

static int parse_level(const char *v)
{
  static const struct {
    const char *n;
    int l;
  } lv[] = {{"debug", STREAM_LOG_DEBUG},
            {"info", STREAM_LOG_INFO},
            {"warn", STREAM_LOG_WARN},
            {"error", STREAM_LOG_ERROR},
            {"off", STREAM_LOG_OFF}};
  for (size_t i = 0; i < sizeof(lv) / sizeof(lv[0]); i++)
    if (strcmp(v, lv[i].n) == 0)
      return lv[i].l;
  return -1;
}

/* The one typed setter all three sources use. `src` names the source for messages. */
static int set_value(streamd_config *cfg, const key_desc *k, const char *v, const char *src,
                     char *err, size_t errlen)
{
  char *base = (char *)cfg;
  switch (k->kind) {
  case K_STR:
    if (strlen(v) >= k->size) {
      snprintf(err, errlen, "%s: %s is longer than %zu bytes", src, k->name, k->size - 1);
      return -1;
    }
    memcpy(base + k->off, v, strlen(v) + 1);
    return 0;
  case K_UINT:
  case K_SIZE: {
    if (!*v || !isdigit((unsigned char)v[0])) {
      snprintf(err, errlen, "%s: %s must be a non-negative integer, got '%.40s'", src, k->name, v);
      return -1;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end) {
      snprintf(err, errlen, "%s: %s must be a non-negative integer, got '%.40s'", src, k->name, v);
      return -1;
    }
    if (n < k->min || n > k->max) {
      snprintf(err, errlen, "%s: %s must be between %llu and %llu, got %llu", src, k->name, k->min,
               k->max, n);
      return -1;
    }
    if (k->kind == K_UINT)
      *(unsigned int *)(void *)(base + k->off) = (unsigned int)n;
    else
      *(size_t *)(void *)(base + k->off) = (size_t)n;
    return 0;
  }
  case K_LIST:
    if (set_list(cfg, v, err, errlen) != 0)
      return -1;
    return 0;
  case K_SYNC:
    if (strcmp(v, "full") == 0)
      cfg->store_sync = STREAM_STORE_SYNC_FULL;
    else if (strcmp(v, "normal") == 0)
      cfg->store_sync = STREAM_STORE_SYNC_NORMAL;
    else {
      snprintf(err, errlen, "%s: store_sync must be full or normal, got '%.40s'", src, v);
      return -1;
    }
    return 0;
  case K_LEVEL: {
    int l = parse_level(v);
    if (l < 0) {
      snprintf(err, errlen, "%s: log_level must be debug, info, warn, error or off, got '%.40s'",
               src, v);
      return -1;
    }
    cfg->log_level = l;
    return 0;
  }
  }
  return -1;
}

static const key_desc *find_key(const char *name, int flag_style)
{
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    const char *a = keys[i].name, *b = name;
    while (*a && *b && (*a == *b || (flag_style && *a == '_' && *b == '-')))
      a++, b++;
    if (!*a && !*b)
      return &keys[i];
  }
  return NULL;
}

static int load_file(streamd_config *cfg, const char *path, char *err, size_t errlen)
{
  FILE *f = fopen(path, "rbe");
  if (!f) {
    snprintf(err, errlen, "config file %s: %s", path, strerror(errno));
    return -1;
  }
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len + 4096 + 1 > cap) {
      cap = cap ? cap * 2 : 8192;
      if (cap > (1u << 20)) {
        snprintf(err, errlen, "config file %s: larger than 1 MiB", path);
        free(buf);
        fclose(f);
        return -1;
      }
      char *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        fclose(f);
        snprintf(err, errlen, "config file %s: out of memory", path);
        return -1;
      }
      buf = nb;
    }
    size_t n = fread(buf + len, 1, 4096, f);
    len += n;
    if (n < 4096)
      break;
  }
  fclose(f);
  buf[len] = '\0';
  cJSON *root = cJSON_ParseWithLength(buf, len);
  free(buf);
  if (!root || !cJSON_IsObject(root)) {
    snprintf(err, errlen, "config file %s: not a JSON object", path);
    cJSON_Delete(root);
    return -1;
  }
  char src[1100];
  snprintf(src, sizeof(src), "config file %s", path);
  int rc = 0;
  const cJSON *it = NULL;
  cJSON_ArrayForEach(it, root)
  {
    const key_desc *k = find_key(it->string ? it->string : "", 0);
    if (!k) {
      snprintf(err, errlen, "%s: unknown key '%.60s'", src, it->string ? it->string : "");
      rc = -1;
      break;
    }
    char num[32];
    const char *v = NULL;
    char joined[STREAMD_MAX_ORIGINS * 258];
    if (cJSON_IsString(it)) {
      v = it->valuestring;
    } else if (cJSON_IsNumber(it) && (k->kind == K_UINT || k->kind == K_SIZE)) {
      double d = it->valuedouble;
      if (d < 0 || d > 1e15 || d != (double)(unsigned long long)d) {
        snprintf(err, errlen, "%s: %s must be a non-negative integer", src, k->name);
        rc = -1;
        break;
      }
      snprintf(num, sizeof(num), "%llu", (unsigned long long)d);
      v = num;
    } else if (cJSON_IsArray(it) && k->kind == K_LIST) {
      size_t jl = 0;
      joined[0] = '\0';
      const cJSON *o = NULL;
      cJSON_ArrayForEach(o, it)
      {
        if (!cJSON_IsString(o) || strchr(o->valuestring, ',') ||
            jl + strlen(o->valuestring) + 2 > sizeof(joined)) {
          snprintf(err, errlen, "%s: %s must be an array of origin strings", src, k->name);
          rc = -1;
          break;
        }
        jl += (size_t)snprintf(joined + jl, sizeof(joined) - jl, "%s%s", jl ? "," : "",
                               o->valuestring);
      }
      if (rc)
        break;
      v = joined;
    } else {
      snprintf(err, errlen, "%s: %s has the wrong type", src, k->name);
      rc = -1;
      break;
    }
    if (set_value(cfg, k, v, src, err, errlen) != 0) {
      rc = -1;
      break;
    }
  }
  cJSON_Delete(root);
  if (rc == 0)
    snprintf(cfg->config_file, sizeof(cfg->config_file), "%s", path);
  return rc;
}

static void env_name(char *out, size_t n, const char *key)
{
  size_t j = (size_t)snprintf(out, n, "STREAMD_");
  for (size_t i = 0; key[i] && j + 1 < n; i++)
    out[j++] = (char)toupper((unsigned char)key[i]);
  out[j] = '\0';
}

void streamd_config_usage(void *fp)
{
  FILE *f = fp;
  fprintf(f, "usage: streamd [--config FILE] [--KEY VALUE | --KEY=VALUE]...\n\n"
             "Sources, later wins: built-in defaults < JSON config file (--config or\n"
             "STREAMD_CONFIG) < environment STREAMD_<KEY> < flags --<key>.\n\n");
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    char flag[64], env[64];
    size_t j = 0;
    for (; keys[i].name[j] && j + 1 < sizeof(flag); j++)
      flag[j] = keys[i].name[j] == '_' ? '-' : keys[i].name[j];
    flag[j] = '\0';
    env_name(env, sizeof(env), keys[i].name);
    fprintf(f, "  --%-22s %-30s %s\n", flag, env, keys[i].help);
  }
  fprintf(f, "\n  STREAMD_OPERATOR_TOKEN (env only) the operator token itself, instead of a file\n"
             "  --help, --version\n");
}

/* s[0..n) with its percent escapes decoded (an invalid one is kept as written), NUL-ended
 * in `out` (cut at `cap`): libpq decodes user information and parameter names. */
static void url_decode(char *out, size_t cap, const char *s, size_t n)
{
  size_t k = 0;
  for (size_t i = 0; i < n && k + 1 < cap; i++) {
    if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
        isxdigit((unsigned char)s[i + 2])) {
      char hex[3] = {s[i + 1], s[i + 2], '\0'};
      out[k++] = (char)strtol(hex, NULL, 16);
      i += 2;
    } else {
      out[k++] = s[i];
    }
  }
  out[k] = '\0';
}

/* Whether a libpq URI holds a password, however written: user information "user:password@"
 * (its ':' escaped or not), a query parameter whose decoded name holds "password" in any
 * case (password, sslpassword, pass%77ord, PASSWORD), or ?user=name:password. The split is
 * libpq's: the user information ends at the first '@' before any '/'. (A password holding an
 * unescaped '/' puts its '@' past that '/': url_at_past_host() refuses any such '@'.) */
static int url_has_password(const char *u)
{
  const char *p = strstr(u, "://");
  p = p ? p + 3 : u;
  char dec[1024];
  size_t ui = strcspn(p, "@/");
  if (p[ui] == '@') {
    url_decode(dec, sizeof(dec), p, ui);
    if (strchr(dec, ':'))
      return 1;
  }
  const char *q = strchr(p, '?');
  while (q) {
    q++;
    size_t n = strcspn(q, "&="); /* a parameter's name */
    url_decode(dec, sizeof(dec), q, n);
    for (char *c = dec; *c; c++)
      *c = (char)tolower((unsigned char)*c);
    if (strstr(dec, "password"))
      return 1;
    if (strcmp(dec, "user") == 0 && q[n] == '=') {
      url_decode(dec, sizeof(dec), q + n + 1, strcspn(q + n + 1, "&"));
      if (strchr(dec, ':'))
        return 1;
    }
    q = strchr(q, '&');
  }
  return 0;
}

/* Whether a libpq URI has an '@' after the first '/' of its authority. It may end the user
 * information of a password holding an unescaped '/' (libpq then reads the password's parts as
 * the port and the database name, or as query parameters, and quotes them), or belong to a
 * value (?application_name=a@b): the two cannot be told apart, with a port or without. */
static int url_at_past_host(const char *u)
{
  const char *p = strstr(u, "://");
  p = p ? p + 3 : u;
  size_t ui = strcspn(p, "@/");
  return p[ui] == '/' && strchr(p + ui, '@') != NULL;
}

/* One URL of `u` appended redacted to out[*k..cap): with `split`, up to a ',' that starts
 * another URL (a NATS URL list), else all of `u` (a libpq URI: libpq has no URL lists, and a
 * split would show what follows a password's or a value's ",x://" as a URL of its own). */
static const char *redact_one(char *out, size_t cap, size_t *k, const char *u, int split)
{
#define PUT(...)                                                                                   \
  do {                                                                                             \
    if (*k < cap)                                                                                  \
      *k += (size_t)snprintf(out + *k, cap - *k, __VA_ARGS__);                                     \
  } while (0)
  while (*u == ' ')
    u++;
  /* The end: the next ',' whose text goes on with a scheme (a NATS server list). */
  const char *end = u + strlen(u);
  for (const char *c = split ? strchr(u, ',') : NULL; c; c = strchr(c + 1, ',')) {
    size_t seg = strcspn(c + 1, ",");
    const char *sch = strstr(c + 1, "://");
    if (sch && sch < c + 1 + seg) {
      end = c;
      break;
    }
  }
  const char *sch = strstr(u, "://");
  size_t sl = sch && sch < end ? (size_t)(sch - u) : 0;
  for (size_t i = 0; i < sl; i++)
    if (!isalnum((unsigned char)u[i]) && u[i] != '+' && u[i] != '-' && u[i] != '.')
      sl = 0;
  if (!sl) {
    PUT("(not a URL: not shown)");
    return end;
  }
  const char *rest = sch + 3;
  size_t rn = (size_t)(end - rest);
  size_t hp = strcspn(rest, "?#"); /* host list and path */
  if (hp > rn)
    hp = rn;
  /* The user information ends at the last '@' before the first '/', '?' or '#' (libpq's
   * split). An '@' after that point (a password holding an unescaped '/', '?' or '#' puts its
   * user information there, or a value holds one) leaves no part of the URL surely free of
   * it: none is shown. */
  size_t auth = strcspn(rest, "/?#");
  if (auth > rn)
    auth = rn;
  if (memchr(rest + auth, '@', rn - auth)) {
    PUT("%.*s://(not shown: it holds an '@' outside a user information)", (int)sl, u);
    return end;
  }
  const char *host = rest;
  for (const char *c = rest; c < rest + auth; c++)
    if (*c == '@') /* the last one: a password's unescaped '@' stays hidden too */
      host = c + 1;
  PUT("%.*s://%.*s", (int)sl, u, (int)(rest + hp - host), host);
  if (hp < rn && rest[hp] == '?') {
    const char *q = rest + hp + 1;
    const char *qe = q + strcspn(q, "#");
    if (qe > end)
      qe = end;
    char sep = '?';
    while (q < qe) {
      size_t n = strcspn(q, "&");
      if (q + n > qe)
        n = (size_t)(qe - q);
      const char *eq = memchr(q, '=', n);
      size_t kn = eq ? (size_t)(eq - q) : 0;
      int ok = kn > 0 && kn <= 64;
      for (size_t i = 0; ok && i < kn; i++)
        ok = isalnum((unsigned char)q[i]) || q[i] == '_' || q[i] == '%';
      if (ok)
        PUT("%c%.*s=...", sep, (int)kn, q);
      else
        PUT("%c...", sep);
      sep = '&';
      q += n + (q + n < qe);
    }
  }
  return end;
#undef PUT
}

/* A libpq URI (store_url) is one URL, never split; so is any text holding an '@' (a NATS
 * URL list holds none: check_nats_url refuses it). */
void streamd_config_redact_url(char *out, size_t cap, const char *url)
{
  size_t k = 0;
  out[0] = '\0';
  const char *t = url + strspn(url, " ");
  int split = strncmp(t, "postgresql://", 13) != 0 && strncmp(t, "postgres://", 11) != 0 &&
              !strchr(url, '@');
  for (const char *u = url; *u;) {
    if (u != url && k < cap)
      k += (size_t)snprintf(out + k, cap - k, ",");
    u = redact_one(out, cap, &k, u, split);
    if (*u == ',')
      u++;
  }
}

/* store_url: a postgres(ql):// URI without a password (secrets never come from the config
 * file, the environment's STREAMD_* or flags; libpq takes it from PGPASSFILE / PGPASSWORD).
 * Messages show it redacted: it may hold one. */
static int check_store_url(const char *u, char *err, size_t errlen)
{
  if (!u[0])
    return 0;
  if (strncmp(u, "postgresql://", 13) != 0 && strncmp(u, "postgres://", 11) != 0) {
    char shown[256];
    size_t k = 0;
    shown[0] = '\0';
    redact_one(shown, sizeof(shown), &k, u, 0); /* one URL, whatever its scheme */
    snprintf(err, errlen, "store_url must be a postgresql:// URI (libpq), got %s", shown);
    return -1;
  }
  if (url_has_password(u)) {
    snprintf(err, errlen,
             "store_url must not hold a password (user:password@, ?user=name:password, or a "
             "password parameter however written): put it in a PGPASSFILE (or PGPASSWORD) for "
             "libpq instead");
    return -1;
  }
  if (url_at_past_host(u)) {
    snprintf(err, errlen,
             "store_url has an '@' past the host: write an '@' of a value as %%40, a "
             "password's '/' as %%2F (and the password itself in a PGPASSFILE or PGPASSWORD, "
             "not in store_url)");
    return -1;
  }
  return 0;
}

/* region_header: a header field name (RFC 9110 token characters), or "" for none. */
static int check_region_header(const char *h, char *err, size_t errlen)
{
  for (const char *c = h; *c; c++)
    if (!isalnum((unsigned char)*c) && !strchr("!#$%&'*+-.^_`|~", *c)) {
      snprintf(err, errlen,
               "region_header must be a header name (letters, digits, '-' and the token "
               "characters !#$%%&'*+.^_`|~), got '%.64s'",
               h);
      return -1;
    }
  return 0;
}

/* nats_url, nats_reader_url: no credentials (user:password@host, token@host); they come from
 * nats_user / nats_secret_file / nats_creds_file. Refused here, before any message of the
 * relay (which quotes its URL) or of the daemon can show them. */
static int check_nats_url(const char *name, const char *u, char *err, size_t errlen)
{
  if (!strchr(u, '@'))
    return 0;
  snprintf(err, errlen,
           "%s must not carry credentials (user:password@ or token@): use nats_user with "
           "nats_secret_file, or nats_creds_file",
           name);
  return -1;
}

/* Whether two NATS subjects (tokens, '*' for one token, a last '>' for one or more) match a
 * common subject. */
static int subjects_overlap(const char *a, const char *b)
{
  for (;;) {
    size_t la = strcspn(a, "."), lb = strcspn(b, ".");
    if ((la == 1 && a[0] == '>') || (lb == 1 && b[0] == '>'))
      return 1; /* the other has a token here: '>' takes it and the rest */
    if (!(la == 1 && a[0] == '*') && !(lb == 1 && b[0] == '*') &&
        (la != lb || memcmp(a, b, la) != 0))
      return 0;
    a += la;
    b += lb;
    if (!*a || !*b)
      return !*a && !*b;
    a++, b++;
  }
}

/* The relay publishes <nats_subject_prefix>.> to nats_stream, the reader reads nats_stream:
 * both in one daemon, with subjects in common, would publish the replicated events again into
 * the stream they come from (checked whatever the URLs say: two names of one server look
 * different). */
static int check_nats(const streamd_config *cfg, char *err, size_t errlen)
{
  if (!cfg->nats_url[0] || !cfg->nats_reader_url[0])
    return 0;
  char relay[sizeof(cfg->nats_subject_prefix) + 2];
  snprintf(relay, sizeof(relay), "%s.>", cfg->nats_subject_prefix);
  const char *reader = cfg->nats_reader_filter[0] ? cfg->nats_reader_filter : relay;
  if (!subjects_overlap(relay, reader))
    return 0;
  snprintf(err, errlen,
           "nats_url and nats_reader_url: the relay would publish the events the reader "
           "appends back into stream %s (relay subjects %s, reader subjects %s); run the "
           "reader on a daemon without nats_url (the analytics replica), or give them "
           "subjects with nothing in common",
           cfg->nats_stream, relay, reader);
  return -1;
}

int streamd_config_media_cookies(const streamd_config *cfg)
{
  return strcmp(cfg->media_signing, "cookie") == 0 || strcmp(cfg->media_signing, "cloudcdn") == 0 ||
         strcmp(cfg->media_signing, "cloudfront") == 0;
}

/* Cookie-signed media with cors_origins "*": a cross-origin player sends the viewer's cookies,
 * so its origin must be named. "*" never allows credentials (http.c), so the player would fail;
 * allowing them for any origin would let every web site read a signed-in viewer's media. */
static int check_cors_cookies(const streamd_config *cfg, char *err, size_t errlen)
{
  if (!streamd_config_media_cookies(cfg))
    return 0;
  for (size_t i = 0; i < cfg->n_cors_origins; i++)
    if (strcmp(cfg->cors_origins[i], "*") == 0) {
      snprintf(err, errlen,
               "media_signing %s with cors_origins \"*\": cookie-signed media needs credentials, "
               "which are never allowed for \"*\" (any web site could read a signed-in viewer's "
               "media); list the player's origins in cors_origins instead (e.g. "
               "https://player.example)",
               cfg->media_signing);
      return -1;
    }
  return 0;
}

int streamd_config_load(streamd_config *cfg, int argc, char **argv, char *err, size_t errlen)
{
  streamd_config_defaults(cfg);
  /* Pass 1: find --config / --help / --version and reject unknown flags early. */
  const char *config_path = getenv("STREAMD_CONFIG");
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      streamd_config_usage(stdout);
      return 1;
    }
    if (strcmp(a, "--version") == 0) {
      printf("streamd (libstream %s)\n", stream_version());
      return 1;
    }
    if (strncmp(a, "--", 2) != 0) {
      snprintf(err, errlen, "unexpected argument '%.60s' (see --help)", a);
      return -1;
    }
    const char *eq = strchr(a, '=');
    char name[64];
    size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    if (nl >= sizeof(name))
      nl = sizeof(name) - 1;
    memcpy(name, a + 2, nl);
    name[nl] = '\0';
    int is_config = strcmp(name, "config") == 0;
    if (!is_config && !find_key(name, 1)) { /* before its value: `--bogus` alone is unknown too */
      snprintf(err, errlen, "unknown flag --%s (see --help)", name);
      return -1;
    }
    const char *val = eq ? eq + 1 : NULL;
    if (!val) {
      if (i + 1 >= argc) {
        snprintf(err, errlen, "flag --%s needs a value", name);
        return -1;
      }
      val = argv[++i];
    }
    if (is_config)
      config_path = val;
  }
  if (config_path && *config_path && load_file(cfg, config_path, err, errlen) != 0)
    return -1;
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    char env[64];
    env_name(env, sizeof(env), keys[i].name);
    const char *v = getenv(env);
    if (v && set_value(cfg, &keys[i], v, env, err, errlen) != 0)
      return -1;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *eq = strchr(a, '=');
    char name[64];
    size_t nl = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    if (nl >= sizeof(name))
      nl = sizeof(name) - 1;
    memcpy(name, a + 2, nl);
    name[nl] = '\0';
    const char *val = eq ? eq + 1 : argv[++i];
    if (strcmp(name, "config") == 0)
      continue;
    char src[80];
    snprintf(src, sizeof(src), "flag --%s", name);
    if (set_value(cfg, find_key(name, 1), val, src, err, errlen) != 0)
      return -1;
  }
  if (!cfg->data_dir[0]) {
    snprintf(err, errlen, "data_dir must not be empty");
    return -1;
  }
  if (check_region_header(cfg->region_header, err, errlen) != 0 ||
      check_cors_cookies(cfg, err, errlen) != 0)
    return -1;
  if (check_nats_url("nats_url", cfg->nats_url, err, errlen) != 0 ||
      check_nats_url("nats_reader_url", cfg->nats_reader_url, err, errlen) != 0 ||
      check_nats(cfg, err, errlen) != 0)
    return -1;
  return check_store_url(cfg->store_url, err, errlen);
}
