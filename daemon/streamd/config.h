/*
 * streamd configuration: defaults < JSON file < STREAMD_* environment < flags.
 * Every key is described once in the table in config.c, which drives all
 * three sources and the --help text.
 */
#ifndef STREAMD_CONFIG_H
#define STREAMD_CONFIG_H

#include <stddef.h>

#define STREAMD_MAX_ORIGINS 32

typedef struct streamd_config {
  char listen_address[64]; /* IPv4 or IPv6 literal */
  unsigned int port;       /* 0 = ephemeral; the bound port is printed */
  char data_dir[1024];
  char store_url[1024];    /* "" = SQLite at <data_dir>/streamd.db; else a postgresql:// URI */
  unsigned int threads;    /* SQLite readers; MHD pool when max_connections > 1024 */
  unsigned int store_sync; /* stream_store_sync: STREAM_STORE_SYNC_FULL (default) or _NORMAL */
  unsigned int max_connections;
  unsigned int max_connections_per_ip; /* per client address; 0 = no limit */
  unsigned int connection_timeout_s;   /* idle timeout per connection */
  size_t max_header_bytes;             /* request line + headers; over -> 431 */
  size_t max_body_bytes;               /* default body limit; over -> 413 */
  unsigned int drain_timeout_s;        /* SIGTERM: wait this long for in-flight requests */
  unsigned int handler_max_delay_ms;   /* cap of the echo route's delay_ms */
  char cors_origins[STREAMD_MAX_ORIGINS][256];
  size_t n_cors_origins; /* "*" allows any origin, never with credentials */
  int log_level;         /* stream_log_level value */
  char access_log[1024]; /* "-" or "" = stderr, else a file path (appended) */
  char operator_token_file[1024];
  char web_root[1024]; /* static files (examples/web) served under "/"; "" = none */
  /* The request header in which a trusted edge (CDN, load balancer) names the viewer's country
   * (CloudFront-Viewer-Country, CF-IPCountry); "" = none: no region filter. routes_util.c. */
  char region_header[65];
  unsigned int billing_renew_interval_s; /* seconds between renewal runs; 0 = never */
  unsigned int lease_ttl_s;              /* screen lease lifetime without a heartbeat */
  unsigned int qoe_interval_s;           /* seconds between QoE consumer runs; 0 = never */
  unsigned int recs_interval_s;          /* seconds between recs retrains; 0 = no thread */
  unsigned int purge_interval_s;         /* seconds between retention purges; 0 = no thread */
  unsigned int recs_factors;             /* ALS latent factors */
  unsigned int recs_iterations;          /* ALS sweeps */
  char media_signing[16];    /* playback URLs: "path" (token), "cookie", "cloudcdn", "mediacdn" */
  char media_key_file[1024]; /* CDN formats: signing key file; "" = <data_dir>/keys/<fmt>.key */
  char media_key_name[65];   /* CDN formats: the KeyName the CDN knows the key by */
  char media_hash[8];        /* cloudfront: "sha1" (default) or "sha256" */
  unsigned int media_url_ttl_s; /* lifetime of signed playback URLs */
  char config_file[1024];       /* informational: the file that was loaded */
  /* Uploads and transcode jobs (ingest.c). */
  size_t upload_max_bytes;          /* largest tus upload (Tus-Max-Size) */
  unsigned int upload_expiry_s;     /* an incomplete upload is deleted after this */
  unsigned int transcode_workers;   /* transcode worker threads; 0 = none */
  unsigned int job_lease_s;         /* lease of a claimed job (heartbeat every lease/3) */
  unsigned int job_retry_backoff_s; /* first retry delay of a failed job (doubles) */
  unsigned int job_max_attempts;    /* attempts before a job fails for good */
  unsigned int job_max_runtime_s;   /* longest run of one job attempt; 0 = no limit */
  char seed_media[2048]; /* "TITLE_ID=PATH,...": transcode at start when the title has no asset */
  /* Mail (mail.c) and the forgotten-password link. */
  char mail_dir[1024];       /* outbox of .eml files; "" = <data_dir>/outbox */
  char mail_from[256];       /* From header of outgoing mail */
  char reset_url_base[1024]; /* reset link = this + token; "" = <public_url>/#/reset?token= */
  /* The event-log relay to NATS JetStream (relay_job.c); off while nats_url is "". */
  char nats_url[2048];           /* nats://host:port[,nats://...] */
  char nats_stream[65];          /* JetStream stream name */
  char nats_subject_prefix[129]; /* subjects <prefix>.<event type> */
  char nats_user[128];           /* with nats_secret_file: user and password */
  char nats_secret_file[1024];   /* first line: the password (with nats_user) or a token */
  char nats_creds_file[1024];    /* NATS credentials file (JWT + NKey seed) */
  char nats_tls_ca_file[1024];   /* PEM CA of the NATS server's certificate (TLS) */
  char nats_tls_cert_file[1024]; /* PEM client certificate for mutual TLS */
  char nats_tls_key_file[1024];  /* its PEM private key */
  /* The JetStream reader into the event log (reader_job.c); off while nats_reader_url is "".
   * It reads nats_stream with the credential and nats_tls_* keys above. */
  char nats_reader_url[2048];   /* nats://host:port[,nats://...] */
  char nats_reader_durable[65]; /* durable consumer; "" = the library's default */
  char nats_reader_filter[257]; /* subjects read; "" = <nats_subject_prefix>.> */
  /* Ack wait of the reader's durable consumer, ms (default 30000; an existing one is updated). */
  unsigned int nats_reader_ack_wait_ms;
  /* How long a message only a newer build can read is put back, ms (default 60000). */
  unsigned int nats_reader_defer_delay_ms;
} streamd_config;

/* Fill `cfg` with the built-in defaults. */
void streamd_config_defaults(streamd_config *cfg);

/*
 * Build the configuration from argv and the environment. Returns 0 on
 * success, 1 when the process should exit 0 (--help, --version), -1 on an
 * error (message written to `err`).
 */
int streamd_config_load(streamd_config *cfg, int argc, char **argv, char *err, size_t errlen);

/*
 * `url` (store_url, or a NATS URL list) as logs may show it: scheme://host[:port][/path]
 * and the query's parameter names, without user information (user:password@) or values;
 * "(not a URL: not shown)" for an entry without a scheme. Written to `out` (cut at `cap`).
 */
void streamd_config_redact_url(char *out, size_t cap, const char *url);

/*
 * 1 when `cfg`'s media_signing hands the viewer cookies (cookie, cloudcdn, cloudfront): media
 * requests then carry credentials, and a cross-origin player needs
 * Access-Control-Allow-Credentials (http.c, routes_media.c).
 */
int streamd_config_media_cookies(const streamd_config *cfg);

/* Print the flag/env/key reference to `f` (FILE *). */
void streamd_config_usage(void *f);

#endif
