/*
 * relay: the event log (outbox) relayed to NATS JetStream (stream/relay.h).
 * It owns one nats.c connection (TLS when asked for: tls:// URLs or the
 * tls_* options, verification never skipped) and JetStream context per handle, the
 * publication of a round of events with their dedup ids, the bookkeeping of
 * the round's acknowledgements (delivered by nats.c on its own threads) and
 * the decision to advance the checkpoint only when every event of the round
 * is acknowledged, and the stream's re-creation (create_stream) when it
 * disappears under a running relay. It uses the events module's public API only. Its option
 * checks and its connection code are shared with reader.c, the consuming
 * half (relay_internal.h).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <nats/nats.h>

#include "../core/core.h"
#include "../proto/proto.h"
#include "relay_internal.h"
#include "stream/relay.h"

#define HDR_SEQ "Outbox-Seq"
#define HDR_TYPE "Event-Type"
#define SECRET_MAX 4096

struct stream_relay {
  stream_events *events;
  char *url; /* the list as given: for messages (it holds no credentials) */
  char *stream;
  char *prefix;
  char *consumer;
  unsigned int batch;
  unsigned int timeout_ms;
  int create_stream; /* re-create the stream when it disappears (stream_lost()) */
  natsConnection *nc;
  jsCtx *js;
  int published;      /* a js_PublishMsgAsync succeeded once: nats.c has its pending map */
  unsigned char *buf; /* encoding buffer */
  size_t buf_cap;
  /* The round in progress; written by the ack handler on nats.c's threads. */
  pthread_mutex_t mu;
  int active;
  const int64_t *seqs; /* the round's sequence numbers, ascending */
  size_t n;
  unsigned char *acked; /* per event of the round: 1 once JetStream acknowledged it */
  size_t n_acked;
  size_t n_dups;
  int err_set;
  natsStatus err_status;
  int err_code; /* JetStream error code, 0 when none */
  int64_t err_seq;
  char err_text[200];
};

/* ---- validation ------------------------------------------------------------- */

/* One entry of the URL list: nats://host:port or tls://host:port, without credentials. */
static int check_url_entry(const char *s, size_t n, url_info *ui)
{
  static const char nats[] = "nats://", tls[] = "tls://";
  size_t sl = 0;
  int is_tls = 0;
  /* First, so that no message below quotes credentials, whatever the scheme. */
  if (memchr(s, '@', n))
    return stream__err(STREAM_EINVAL,
                       "relay: a NATS URL must not carry credentials: use the user, password, "
                       "token, secret_file or creds_file options");
  if (n > sizeof nats - 1 && strncmp(s, nats, sizeof nats - 1) == 0) {
    sl = sizeof nats - 1;
  } else if (n > sizeof tls - 1 && strncmp(s, tls, sizeof tls - 1) == 0) {
    sl = sizeof tls - 1;
    is_tls = 1;
  } else {
    return stream__err(STREAM_EINVAL,
                       "relay: NATS URL '%.*s' is not nats://host:port or tls://host:port",
                       (int)(n > 80 ? 80 : n), s);
  }
  const char *host = s + sl;
  size_t hn = n - sl;
  for (size_t i = 0; i < hn; i++) {
    unsigned char c = (unsigned char)host[i];
    if (!(isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']'))
      return stream__err(STREAM_EINVAL,
                         "relay: NATS URL '%.*s' has a character outside a host:port",
                         (int)(n > 80 ? 80 : n), s);
  }
  /* The host without its port: [v6] or up to the first ':'. */
  const char *h = host;
  size_t l;
  if (hn && host[0] == '[') {
    const char *e = memchr(host, ']', hn);
    h = host + 1;
    l = e ? (size_t)(e - h) : hn - 1;
  } else {
    const char *e = memchr(host, ':', hn);
    l = e ? (size_t)(e - host) : hn;
  }
  if (l == 0 || l >= sizeof ui->host)
    return stream__err(STREAM_EINVAL, "relay: NATS URL '%.*s' has %s host", (int)(n > 80 ? 80 : n),
                       s, l ? "too long a" : "no");
  if (ui->n == 0) {
    memcpy(ui->host, h, l);
    ui->host[l] = '\0';
    ui->same_host = 1;
  } else if (strlen(ui->host) != l || strncasecmp(ui->host, h, l) != 0) {
    ui->same_host = 0;
  }
  ui->n++;
  ui->n_tls += is_tls;
  return STREAM_OK;
}

static int check_url(const char *url, url_info *ui)
{
  memset(ui, 0, sizeof *ui);
  if (!url || !*url)
    return stream__err(STREAM_EINVAL, "relay: the NATS URL is missing");
  if (strlen(url) > STREAM_RELAY_URL_MAX)
    return stream__err(STREAM_EINVAL, "relay: the NATS URL list is longer than %d bytes",
                       STREAM_RELAY_URL_MAX);
  const char *p = url;
  for (;;) {
    while (*p == ' ')
      p++;
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    while (n && p[n - 1] == ' ')
      n--;
    int rc = check_url_entry(p, n, ui);
    if (rc != STREAM_OK)
      return rc;
    if (!e)
      break;
    p = e + 1;
  }
  if (ui->n_tls && ui->n_tls != ui->n)
    return stream__err(STREAM_EINVAL,
                       "relay: the NATS URL list mixes tls:// and nats://: TLS is for the whole "
                       "connection, use tls:// for every server");
  return STREAM_OK;
}

/* A JetStream stream name: 1..64 of [A-Za-z0-9_-]. */
static int check_stream_name(const char *s)
{
  size_t n = strlen(s);
  if (n == 0 || n > STREAM_RELAY_NAME_MAX)
    return stream__err(STREAM_EINVAL, "relay: the stream name must be 1..%d characters",
                       STREAM_RELAY_NAME_MAX);
  for (size_t i = 0; i < n; i++)
    if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '-'))
      return stream__err(STREAM_EINVAL,
                         "relay: stream name '%.64s' has characters outside [A-Za-z0-9_-]", s);
  return STREAM_OK;
}

/* A subject prefix: dot-separated non-empty tokens of [A-Za-z0-9_-] (no wildcards). */
static int check_prefix(const char *s)
{
  size_t n = strlen(s);
  if (n == 0 || n > STREAM_RELAY_PREFIX_MAX)
    return stream__err(STREAM_EINVAL, "relay: the subject prefix must be 1..%d characters",
                       STREAM_RELAY_PREFIX_MAX);
  int tok = 0;
  for (size_t i = 0; i <= n; i++) {
    char c = s[i];
    if (c == '.' || c == '\0') {
      if (tok == 0)
        return stream__err(STREAM_EINVAL, "relay: subject prefix '%.128s' has an empty token", s);
      tok = 0;
    } else if (isalnum((unsigned char)c) || c == '_' || c == '-') {
      tok++;
    } else {
      return stream__err(STREAM_EINVAL,
                         "relay: subject prefix '%.128s' has characters outside [A-Za-z0-9_-.]", s);
    }
  }
  return STREAM_OK;
}

/* nats.c 3.4 puts the user, password and token into the JSON of its CONNECT line as they are,
 * unescaped: a quote or a backslash breaks that JSON (the server closes the connection, which
 * nats.c reports as a "Protocol Error") and a CR or LF ends the protocol line early. Such a
 * credential is refused up front; the message never shows it. */
static int check_credential(const char *s, const char *what)
{
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
      return stream__err(STREAM_EINVAL,
                         "relay: the NATS %s has a quote, backslash or control character, which "
                         "the NATS client cannot send",
                         what);
  return STREAM_OK;
}

static int has(const char *s)
{
  return s && *s;
}

/* TLS is asked for by tls:// URLs or by any TLS file. */
static int wants_tls(const stream_relay_options *o, const url_info *ui)
{
  return ui->n_tls > 0 || has(o->tls_ca_file) || has(o->tls_cert_file) || has(o->tls_key_file);
}

/* A TLS or credentials file can be opened (nats.c's own message for a missing TLS file is
 * OpenSSL's "system library" reason, which does not say which file; it reads a credentials
 * file only once connected, so a missing one would hide behind NATS being down). */
static int check_readable(const char *path, const char *what)
{
  FILE *f = fopen(path, "rbe");
  if (!f)
    return stream__err(STREAM_EIO, "relay: %s %s: %s", what, path, strerror(errno));
  fclose(f);
  return STREAM_OK;
}

static int check_tls(const stream_relay_options *o, const url_info *ui)
{
  if (has(o->tls_cert_file) != has(o->tls_key_file))
    return stream__err(STREAM_EINVAL,
                       "relay: a TLS client certificate needs both tls_cert_file and "
                       "tls_key_file (%s is missing)",
                       has(o->tls_cert_file) ? "tls_key_file" : "tls_cert_file");
  if (wants_tls(o, ui) && !ui->same_host)
    return stream__err(STREAM_EINVAL,
                       "relay: with TLS every NATS URL must name the same host (the server "
                       "certificate is checked against one host name), not %s and others",
                       ui->host);
  return STREAM_OK;
}

static int check_options(const stream_relay_options *o, url_info *ui)
{
  if (o->version != STREAM_RELAY_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "relay: options version %u, expected 1..%d", o->version,
                       STREAM_RELAY_OPTIONS_VERSION);
  if (!o->events)
    return stream__err(STREAM_EINVAL, "relay: options.events is NULL");
  int rc = check_url(o->url, ui);
  if (rc == STREAM_OK)
    rc = check_stream_name(o->stream_name ? o->stream_name : STREAM_RELAY_DEFAULT_STREAM);
  if (rc == STREAM_OK)
    rc = check_prefix(o->subject_prefix ? o->subject_prefix : STREAM_RELAY_DEFAULT_PREFIX);
  if (rc != STREAM_OK)
    return rc;
  if (o->batch == 0 || o->batch > STREAM_EVENTS_READ_MAX)
    return stream__err(STREAM_EINVAL, "relay: batch is %u, it must be 1..%d", o->batch,
                       STREAM_EVENTS_READ_MAX);
  if (o->timeout_ms == 0 || o->timeout_ms > STREAM_RELAY_TIMEOUT_MAX_MS)
    return stream__err(STREAM_EINVAL, "relay: timeout_ms is %u, it must be 1..%d", o->timeout_ms,
                       STREAM_RELAY_TIMEOUT_MAX_MS);
  int has_user = o->user && *o->user;
  int has_token = o->token && *o->token;
  int has_pw = o->password && *o->password;
  int has_file = o->secret_file && *o->secret_file;
  if (has_token && (has_user || has_pw))
    return stream__err(STREAM_EINVAL, "relay: give either a token or a user, not both");
  if (has_user && !has_pw && !has_file)
    return stream__err(STREAM_EINVAL, "relay: user '%.64s' needs a password or a secret_file",
                       o->user);
  if (has_pw && !has_user)
    return stream__err(STREAM_EINVAL, "relay: a password needs a user");
  if (has_file && (has_token || has_pw))
    return stream__err(STREAM_EINVAL,
                       "relay: secret_file replaces the password or token; give one of them");
  int rc2 = has_user ? check_credential(o->user, "user name") : STREAM_OK;
  if (rc2 == STREAM_OK && has_pw)
    rc2 = check_credential(o->password, "password");
  if (rc2 == STREAM_OK && has_token)
    rc2 = check_credential(o->token, "token");
  if (rc2 == STREAM_OK)
    rc2 = check_tls(o, ui);
  return rc2;
}

int relay__check_options(const stream_relay_options *o, url_info *ui)
{
  return check_options(o, ui);
}

/* The files of `o` open. Checked after every option error (STREAM_EINVAL, the callers' own
 * too): a caller such as streamd refuses to start on STREAM_EINVAL only and retries
 * anything else, so an unreadable file must not hide a configuration error behind it. */
static int check_files(const stream_relay_options *o)
{
  int rc = has(o->creds_file) ? check_readable(o->creds_file, "NATS credentials file") : STREAM_OK;
  if (rc == STREAM_OK && has(o->tls_ca_file))
    rc = check_readable(o->tls_ca_file, "TLS CA file");
  if (rc == STREAM_OK && has(o->tls_cert_file))
    rc = check_readable(o->tls_cert_file, "TLS certificate file");
  if (rc == STREAM_OK && has(o->tls_key_file))
    rc = check_readable(o->tls_key_file, "TLS key file");
  return rc;
}

int relay__check_files(const stream_relay_options *o)
{
  return check_files(o);
}

/* ---- connection -------------------------------------------------------------- */

/* The first line of `path` (a password or token) into a new string; wipe and free it. */
static int read_secret(char **out, const char *path)
{
  *out = NULL;
  FILE *f = fopen(path, "rbe");
  if (!f)
    return stream__err(STREAM_EIO, "relay: secret file %s: %s", path, strerror(errno));
  setvbuf(f, NULL, _IONBF, 0); /* no copy in a stdio buffer, which fclose frees unwiped */
  char *s = stream__calloc(1, SECRET_MAX + 1);
  if (!s) {
    fclose(f);
    return STREAM_ENOMEM;
  }
  size_t n = fread(s, 1, SECRET_MAX, f);
  int bad = ferror(f);
  fclose(f);
  s[n] = '\0';
  size_t line = strcspn(s, "\r\n");
  stream__wipe(s + line, SECRET_MAX + 1 - line); /* the rest of the file: the caller wipes
                                                  * strlen() bytes */
  s[line] = '\0';
  if (!bad && *s && check_credential(s, "secret") != STREAM_OK) {
    stream__wipe(s, SECRET_MAX + 1);
    free(s);
    return stream__err(STREAM_EINVAL,
                       "relay: the first line of secret file %s has a quote, backslash or "
                       "control character, which the NATS client cannot send",
                       path);
  }
  if (bad || !*s) {
    stream__wipe(s, SECRET_MAX + 1);
    free(s);
    return stream__err(STREAM_EIO, "relay: secret file %s is %s", path,
                       bad ? "unreadable" : "empty");
  }
  *out = s;
  return STREAM_OK;
}

/* nats.c's text for `s` plus its last error detail (it never holds our credentials). */
static const char *nats_detail(natsStatus s)
{
  natsStatus last = NATS_OK;
  const char *t = nats_GetLastError(&last);
  return (t && *t) ? t : natsStatus_GetText(s);
}

const char *relay__nats_detail(natsStatus s)
{
  return nats_detail(s);
}

int relay__down(natsConnection *nc)
{
  return natsConnection_Status(nc) != NATS_CONN_STATUS_CONNECTED;
}

int relay__not_connected(const char *who, const char *url)
{
  return stream__err(STREAM_EIO, "%s: not connected to NATS at %s (reconnecting)", who, url);
}

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure);

static int set_servers(natsOptions *no, const char *url)
{
  char *copy = stream__strdup(url);
  const char *list[64];
  int n = 0;
  if (!copy)
    return STREAM_ENOMEM;
  for (char *p = copy; p && n < 64;) {
    char *e = strchr(p, ',');
    if (e)
      *e = '\0';
    while (*p == ' ')
      p++;
    size_t l = strlen(p);
    while (l && p[l - 1] == ' ')
      p[--l] = '\0';
    list[n++] = p;
    p = e ? e + 1 : NULL;
  }
  natsStatus s = natsOptions_SetServers(no, list, n);
  free(copy);
  return s == NATS_OK
             ? STREAM_OK
             : stream__err(STREAM_EINVAL, "relay: NATS URL list: %s", natsStatus_GetText(s));
}

/* TLS on `no`: verification of the server's chain and host name (never skipped), the extra
 * CA, the client certificate. Without TLS asked for, the host name is set all the same when
 * there is one: nats.c switches to TLS by itself when a server requires it, and would then
 * check the chain only; the connect fails anyway unless the server's certificate is valid
 * for that name. */
static int set_tls(natsOptions *no, const stream_relay_options *o, const url_info *ui)
{
  natsStatus s = NATS_OK;
  if (wants_tls(o, ui)) {
    s = natsOptions_SetSecure(no, true);
    if (s == NATS_OK)
      s = natsOptions_SkipServerVerification(no, false);
    if (s != NATS_OK)
      return stream__err(STREAM_ENOTSUP, "relay: TLS is not available in this nats.c: %s",
                         nats_detail(s));
  }
  if (ui->same_host) {
    s = natsOptions_SetExpectedHostname(no, ui->host);
    if (s != NATS_OK && wants_tls(o, ui))
      return stream__err(STREAM_EINVAL, "relay: TLS host name %s: %s", ui->host, nats_detail(s));
  }
  if (has(o->tls_ca_file)) {
    s = natsOptions_LoadCATrustedCertificates(no, o->tls_ca_file);
    if (s != NATS_OK)
      return stream__err(STREAM_EIO, "relay: TLS CA file %s holds no usable PEM certificate: %s",
                         o->tls_ca_file, nats_detail(s));
  }
  if (has(o->tls_cert_file)) {
    s = natsOptions_LoadCertificatesChain(no, o->tls_cert_file, o->tls_key_file);
    if (s != NATS_OK)
      return stream__err(STREAM_EIO,
                         "relay: TLS client certificate %s with key %s: not a PEM certificate "
                         "and its unencrypted PEM key, or they do not match: %s",
                         o->tls_cert_file, o->tls_key_file, nats_detail(s));
  }
  return STREAM_OK;
}

static int make_nats_options(natsOptions **out, const stream_relay_options *o, const url_info *ui)
{
  natsOptions *no = NULL;
  if (natsOptions_Create(&no) != NATS_OK)
    return stream__err(STREAM_ENOMEM, "relay: out of memory (NATS options)");
  int rc = set_servers(no, o->url);
  natsStatus s = NATS_OK;
  if (rc == STREAM_OK) {
    s = natsOptions_SetName(no, "libstream-relay");
    if (s == NATS_OK)
      s = natsOptions_SetTimeout(no, (int64_t)o->timeout_ms);
    /* Reconnect for ever, quickly: a round fails while NATS is away and the next one after
     * its return publishes again (publications buffered meanwhile are de-duplicated). */
    if (s == NATS_OK)
      s = natsOptions_SetMaxReconnect(no, -1);
    if (s == NATS_OK)
      s = natsOptions_SetReconnectWait(no, 250);
  }
  char *secret = NULL;
  if (rc == STREAM_OK && s == NATS_OK && o->secret_file && *o->secret_file)
    rc = read_secret(&secret, o->secret_file);
  if (rc == STREAM_OK && s == NATS_OK) {
    if (o->user && *o->user)
      s = natsOptions_SetUserInfo(no, o->user, secret ? secret : o->password);
    else if (secret || (o->token && *o->token))
      s = natsOptions_SetToken(no, secret ? secret : o->token);
  }
  if (secret) {
    stream__wipe(secret, strlen(secret));
    free(secret);
  }
  if (rc == STREAM_OK && s == NATS_OK && o->creds_file && *o->creds_file) {
    s = natsOptions_SetUserCredentialsFromFiles(no, o->creds_file, NULL);
    if (s != NATS_OK)
      rc = stream__err(STREAM_EIO, "relay: NATS credentials file %s: %s", o->creds_file,
                       natsStatus_GetText(s));
  }
  if (rc == STREAM_OK && s != NATS_OK)
    rc = stream__err(STREAM_EINVAL, "relay: NATS options: %s", natsStatus_GetText(s));
  if (rc == STREAM_OK)
    rc = set_tls(no, o, ui);
  if (rc != STREAM_OK) {
    natsOptions_Destroy(no);
    return rc;
  }
  *out = no;
  return STREAM_OK;
}

int relay__connect(natsConnection **out, const stream_relay_options *o, const url_info *ui)
{
  *out = NULL;
  natsOptions *no = NULL;
  int rc = make_nats_options(&no, o, ui);
  if (rc != STREAM_OK)
    return rc;
  natsStatus s = natsConnection_Connect(out, no);
  natsOptions_Destroy(no);
  if ((s == NATS_NOT_PERMITTED || s == NATS_CONNECTION_AUTH_FAILED) && has(o->creds_file))
    return stream__err(STREAM_EAUTH,
                       "relay: NATS at %s refused the credentials of NATS credentials file %s "
                       "(a user JWT of an account the server does not know, expired or revoked, "
                       "or a seed that is not that user's): %s",
                       o->url, o->creds_file, nats_detail(s));
  if (s == NATS_NOT_PERMITTED || s == NATS_CONNECTION_AUTH_FAILED)
    return stream__err(STREAM_EAUTH, "relay: NATS at %s refused the credentials: %s", o->url,
                       nats_detail(s));
  /* nats.c reads the credentials file as it connects; one it cannot use (unreadable, no seed,
   * a seed that does not decode) fails the connect with NATS_ERR, its detail naming the file or
   * the flaw, never the seed. Not NATS being away (NATS_NO_SERVER). */
  if (s == NATS_ERR && has(o->creds_file))
    return stream__err(STREAM_EIO,
                       "relay: NATS credentials file %s cannot be used (it holds a user JWT and "
                       "its NKey seed, as nsc writes them): %s",
                       o->creds_file, nats_detail(s));
  int tls = wants_tls(o, ui);
  if (!tls && (s == NATS_SSL_ERROR || s == NATS_SECURE_CONNECTION_REQUIRED))
    return stream__err(STREAM_EIO,
                       "relay: NATS at %s requires TLS: use tls:// URLs (and tls_ca_file for a "
                       "private CA): %s",
                       o->url, nats_detail(s));
  if (tls && s == NATS_SECURE_CONNECTION_WANTED)
    return stream__err(STREAM_EIO,
                       "relay: NATS at %s does not require TLS (it takes plain clients too), so "
                       "it offers none: TLS was asked for, the relay does not go on without",
                       o->url);
  if (tls && s == NATS_SSL_ERROR)
    return stream__err(STREAM_EIO,
                       "relay: TLS handshake with NATS at %s failed (the server's certificate "
                       "is not signed by a trusted CA or not valid for %s, or the client "
                       "certificate was refused): %s",
                       o->url, ui->host, nats_detail(s));
  /* With TLS 1.3 the client's handshake ends before the server has checked the client's
   * certificate: a refusal shows up as the connection closed right after it. */
  if (tls && (s == NATS_PROTOCOL_ERROR || s == NATS_IO_ERROR || s == NATS_CONNECTION_CLOSED))
    return stream__err(STREAM_EIO,
                       "relay: NATS at %s closed the TLS connection as it was set up (a server "
                       "that asks for a client certificate does so without one its CA signed: "
                       "tls_cert_file, tls_key_file): %s",
                       o->url, nats_detail(s));
  if (s != NATS_OK)
    return stream__err(STREAM_EIO, "relay: cannot connect to NATS at %s: %s", o->url,
                       nats_detail(s));
  return STREAM_OK;
}

static int connect_nats(stream_relay *r, const stream_relay_options *o, const url_info *ui)
{
  int rc = relay__connect(&r->nc, o, ui);
  if (rc != STREAM_OK)
    return rc;
  natsStatus s;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = (int64_t)r->timeout_ms;
  jo.PublishAsync.AckHandler = on_ack;
  jo.PublishAsync.AckHandlerClosure = r;
  s = natsConnection_JetStream(&r->js, r->nc, &jo);
  if (s != NATS_OK)
    return stream__err(STREAM_EIO, "relay: JetStream context: %s", nats_detail(s));
  return STREAM_OK;
}

/* The stream exists with our subjects, or is created. */
static int ensure_stream(stream_relay *r, int create)
{
  char subjects[STREAM_RELAY_PREFIX_MAX + 3];
  snprintf(subjects, sizeof subjects, "%s.>", r->prefix);
  jsStreamInfo *si = NULL;
  jsErrCode jerr = 0;
  natsStatus s = js_GetStreamInfo(&si, r->js, r->stream, NULL, &jerr);
  if (s == NATS_OK) {
    int found = 0;
    for (int i = 0; si->Config && i < si->Config->SubjectsLen; i++)
      found = found || strcmp(si->Config->Subjects[i], subjects) == 0;
    jsStreamInfo_Destroy(si);
    if (!found)
      return stream__err(STREAM_EPROTO,
                         "relay: JetStream stream %s at %s does not take the subjects %s",
                         r->stream, r->url, subjects);
    return STREAM_OK;
  }
  if (s == NATS_NO_RESPONDERS || s == NATS_TIMEOUT)
    return stream__err(s == NATS_NO_RESPONDERS ? STREAM_ENOTSUP : STREAM_ETIMEDOUT,
                       "relay: NATS at %s does not answer JetStream requests (%s): is it started "
                       "with JetStream (-js)?",
                       r->url, natsStatus_GetText(s));
  if (jerr != JSStreamNotFoundErr)
    return stream__err(STREAM_EIO, "relay: JetStream stream %s at %s: %s", r->stream, r->url,
                       nats_detail(s));
  if (!create)
    return stream__err(STREAM_ENOTFOUND,
                       "relay: JetStream stream %s does not exist at %s (create it, or set "
                       "create_stream)",
                       r->stream, r->url);
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const char *subj[1] = {subjects};
  cfg.Name = r->stream;
  cfg.Subjects = subj;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  cfg.Duplicates = (int64_t)STREAM_RELAY_DUPLICATE_WINDOW_S * 1000000000;
  jerr = 0;
  s = js_AddStream(&si, r->js, &cfg, NULL, &jerr);
  jsStreamInfo_Destroy(si);
  /* Another relay may have created it between our two requests. */
  if (s != NATS_OK && jerr == JSStreamNameExistErr)
    return ensure_stream(r, 0);
  if (s != NATS_OK)
    return stream__err(STREAM_EPROTO, "relay: creating JetStream stream %s at %s: %s", r->stream,
                       r->url, nats_detail(s));
  return STREAM_OK;
}

int stream_relay_new(stream_relay **out, const stream_relay_options *opts)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "relay: out is NULL");
  *out = NULL;
  if (!opts)
    return stream__err(STREAM_EINVAL, "relay: options are NULL");
  /* A version-1 caller's struct ends before tls_ca_file: copy what it has, no TLS. */
  stream_relay_options full = STREAM_RELAY_OPTIONS_INIT;
  if (opts->version == 1) {
    memcpy(&full, opts, offsetof(stream_relay_options, tls_ca_file));
    full.version = STREAM_RELAY_OPTIONS_VERSION;
    opts = &full;
  }
  url_info ui;
  int rc = check_options(opts, &ui);
  if (rc != STREAM_OK)
    return rc;
  const char *consumer = opts->consumer ? opts->consumer : STREAM_RELAY_DEFAULT_CONSUMER;
  int64_t cp = 0;
  rc = stream_events_checkpoint(opts->events, &cp, consumer); /* validates the name too */
  if (rc == STREAM_OK)
    rc = check_files(opts);
  if (rc != STREAM_OK)
    return rc;
  stream_relay *r = stream__calloc(1, sizeof *r);
  if (!r)
    return STREAM_ENOMEM;
  pthread_mutex_init(&r->mu, NULL);
  r->events = opts->events;
  r->batch = opts->batch;
  r->timeout_ms = opts->timeout_ms;
  r->create_stream = opts->create_stream;
  r->url = stream__strdup(opts->url);
  r->stream = stream__strdup(opts->stream_name ? opts->stream_name : STREAM_RELAY_DEFAULT_STREAM);
  r->prefix =
      stream__strdup(opts->subject_prefix ? opts->subject_prefix : STREAM_RELAY_DEFAULT_PREFIX);
  r->consumer = stream__strdup(consumer);
  r->acked = stream__calloc(opts->batch, 1);
  if (!r->url || !r->stream || !r->prefix || !r->consumer || !r->acked) {
    stream_relay_free(r);
    return STREAM_ENOMEM;
  }
  rc = connect_nats(r, opts, &ui);
  if (rc == STREAM_OK)
    rc = ensure_stream(r, opts->create_stream);
  if (rc != STREAM_OK) {
    stream_relay_free(r);
    return rc;
  }
  *out = r;
  return STREAM_OK;
}

void stream_relay_free(stream_relay *r)
{
  if (!r)
    return;
  /* No ack handler may touch the handle once this returns, and neither jsCtx_Destroy nor
   * natsConnection_Close/Destroy waits for one that is running (nats.c 3.4 calls the
   * handler outside its lock). So: take every publication still pending out of the
   * context (no handler starts for those), then wait for the pending count to reach 0:
   * nats.c lowers it only after a running handler returned, and the drain lowered it for
   * the rest, so the wait ends as soon as the handlers already inside the relay are done.
   * (nats.c's pending list call needs its pending map, made by the first publication.) */
  if (r->js && r->published) {
    natsMsgList pending;
    memset(&pending, 0, sizeof pending);
    if (js_PublishAsyncGetPendingList(&pending, r->js) == NATS_OK)
      natsMsgList_Destroy(&pending);
    js_PublishAsyncComplete(r->js, NULL);
  }
  /* Close before destroying the context: natsConnection_Close removes the connection's
   * subscriptions (the context's reply inbox among them) and joins its read loop, so no
   * late acknowledgement can reach a subscription being destroyed (nats.c 3.4.1 locks a
   * destroyed subscription in that window: nats-io/nats.c#637, docs/relay.md). */
  if (r->nc)
    natsConnection_Close(r->nc);
  jsCtx_Destroy(r->js);
  natsConnection_Destroy(r->nc);
  pthread_mutex_destroy(&r->mu);
  free(r->url);
  free(r->stream);
  free(r->prefix);
  free(r->consumer);
  free(r->acked);
  free(r->buf);
  free(r);
}

/* ---- a round --------------------------------------------------------------------- */

/* Acknowledgement (or failure) of one publication, on a nats.c thread. The event is found
 * by its Outbox-Seq header in the round in progress; a late answer to an earlier round of
 * the same events counts too: a positive one means the event is in the stream. */
static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure)
{
  (void)js;
  stream_relay *r = closure;
  const char *v = NULL;
  int64_t seq = -1;
  if (natsMsgHeader_Get(msg, HDR_SEQ, &v) == NATS_OK && v)
    seq = strtoll(v, NULL, 10);
  pthread_mutex_lock(&r->mu);
  if (r->active && seq > 0) {
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (r->seqs[mid] < seq)
        lo = mid + 1;
      else
        hi = mid;
    }
    if (lo < r->n && r->seqs[lo] == seq) {
      if (pa && !r->acked[lo]) {
        r->acked[lo] = 1;
        r->n_acked++;
        if (pa->Duplicate)
          r->n_dups++;
      } else if (!pa && pae && !r->err_set) {
        r->err_set = 1;
        r->err_status = pae->Err;
        r->err_code = (int)pae->ErrCode;
        r->err_seq = seq;
        snprintf(r->err_text, sizeof r->err_text, "%s",
                 pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
      }
    }
  }
  pthread_mutex_unlock(&r->mu);
  natsMsg_Destroy(msg);
}

/* The protobuf Event of `e` into r->buf; its length into *len. */
static int encode_event(stream_relay *r, const stream_event *e, size_t *len)
{
  Libstream__Events__V1__Event m;
  Libstream__Events__V1__PlaybackError err;
  proto__event_to_pb(&m, &err, e);
  m.server_ts = e->server_ts;
  m.account_id = (char *)(uintptr_t)e->account_id; /* packing only reads it */
  size_t n = libstream__events__v1__event__get_packed_size(&m);
  if (n > r->buf_cap) {
    unsigned char *nb = realloc(r->buf, n);
    if (!nb)
      return stream__err(STREAM_ENOMEM, "relay: out of memory");
    r->buf = nb;
    r->buf_cap = n;
  }
  *len = libstream__events__v1__event__pack(&m, r->buf);
  return STREAM_OK;
}

static int publish_one(stream_relay *r, const stream_event *e)
{
  size_t len = 0;
  int rc = encode_event(r, e, &len);
  if (rc != STREAM_OK)
    return rc;
  const char *tname = stream_event_type_name(e->type);
  char subject[STREAM_RELAY_PREFIX_MAX + 32];
  snprintf(subject, sizeof subject, "%s.%s", r->prefix, tname ? tname : "unknown");
  char seq[24];
  snprintf(seq, sizeof seq, "%" PRId64, e->seq);
  natsMsg *m = NULL;
  natsStatus s = natsMsg_Create(&m, subject, NULL, (const char *)r->buf, (int)len);
  if (s == NATS_OK)
    s = natsMsgHeader_Set(m, HDR_SEQ, seq);
  if (s == NATS_OK)
    s = natsMsgHeader_Set(m, HDR_TYPE, tname ? tname : "unknown");
  if (s == NATS_OK)
    s = natsMsgHeader_Set(m, "Content-Type", "application/x-protobuf");
  if (s == NATS_OK) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = e->id; /* the Nats-Msg-Id header: JetStream's dedup key */
    po.ExpectStream = r->stream;
    po.MaxWait = (int64_t)r->timeout_ms;
    s = js_PublishMsgAsync(r->js, &m, &po);
    if (s == NATS_OK)
      r->published = 1;
  }
  natsMsg_Destroy(m); /* NULL (a no-op) when the library took it */
  if (s != NATS_OK)
    return stream__err(STREAM_EIO, "relay: publishing event seq %" PRId64 " to NATS at %s: %s",
                       e->seq, r->url, nats_detail(s));
  return STREAM_OK;
}

/* After a round that found nothing listening on the stream's subjects ("no responders"): the
 * stream is gone when JetStream says so (deleted by an operator, or a server restarted without
 * its JetStream store). With create_stream it is created again as at stream_relay_new(), and
 * the round reports that once (STREAM_ENOTFOUND): the checkpoint did not move, so the next
 * round publishes every event not yet acknowledged into the new stream. Without it every round
 * fails with STREAM_ENOTFOUND saying who must create it. When the stream is there (made again
 * meanwhile) or JetStream does not answer, the round's own error `rc` stands. */
static int stream_lost(stream_relay *r, int rc)
{
  jsStreamInfo *si = NULL;
  jsErrCode jerr = 0;
  natsStatus s = js_GetStreamInfo(&si, r->js, r->stream, NULL, &jerr);
  jsStreamInfo_Destroy(si);
  if (s == NATS_OK || jerr != JSStreamNotFoundErr)
    return rc;
  if (!r->create_stream)
    return stream__err(STREAM_ENOTFOUND,
                       "relay: JetStream stream %s no longer exists at %s (deleted, or the server "
                       "lost its JetStream state): nothing is relayed until it is created again "
                       "(by an operator, or by a relay with create_stream)",
                       r->stream, r->url);
  int crc = ensure_stream(r, 1);
  if (crc != STREAM_OK)
    return crc;
  return stream__err(STREAM_ENOTFOUND,
                     "relay: JetStream stream %s at %s had disappeared (deleted, or the server "
                     "lost its JetStream state): created again; the events not yet relayed go "
                     "to it from the next round (those relayed before went with the old stream)",
                     r->stream, r->url);
}

/* The round's failure as a status and message (called with the round closed). */
static int round_error(stream_relay *r, size_t n, const stream_event *evs)
{
  if (!r->err_set)
    return stream__err(STREAM_ETIMEDOUT,
                       "relay: %zu of %zu events not acknowledged by JetStream at %s within %u ms",
                       n - r->n_acked, n, r->url, r->timeout_ms);
  const char *id = "";
  for (size_t i = 0; i < n; i++)
    if (evs[i].seq == r->err_seq)
      id = evs[i].id;
  if (r->err_status == NATS_TIMEOUT)
    return stream__err(STREAM_ETIMEDOUT,
                       "relay: no acknowledgement from JetStream at %s within %u ms for event seq "
                       "%" PRId64 " (%s); %zu of %zu acknowledged",
                       r->url, r->timeout_ms, r->err_seq, id, r->n_acked, n);
  if (r->err_status == NATS_NO_RESPONDERS)
    return stream__err(STREAM_EIO,
                       "relay: nothing at NATS %s took event seq %" PRId64 " (%s) (no responders: "
                       "JetStream or its stream %s is not there)",
                       r->url, r->err_seq, id, r->stream);
  if (r->err_code != 0)
    return stream__err(STREAM_EPROTO,
                       "relay: JetStream at %s refused event seq %" PRId64 " (%s): %s (error %d)",
                       r->url, r->err_seq, id, r->err_text, r->err_code);
  return stream__err(STREAM_EIO, "relay: publishing event seq %" PRId64 " (%s) to NATS at %s: %s",
                     r->err_seq, id, r->url, r->err_text);
}

int stream_relay_run_once(stream_relay *r, int64_t *out_published, int64_t *out_duplicates)
{
  if (out_published)
    *out_published = 0;
  if (out_duplicates)
    *out_duplicates = 0;
  if (!r)
    return stream__err(STREAM_EINVAL, "relay: handle is NULL");
  stream_event *evs = NULL;
  size_t n = 0;
  int64_t from = 0;
  int rc = stream_events_poll(r->events, &evs, &n, &from, r->consumer, r->batch);
  if (rc != STREAM_OK || n == 0) {
    stream_free(evs);
    return rc;
  }
  if (relay__down(r->nc)) {
    stream_free(evs);
    return relay__not_connected("relay", r->url);
  }
  int64_t *seqs = stream__calloc(n, sizeof *seqs);
  if (!seqs) {
    stream_free(evs);
    return STREAM_ENOMEM;
  }
  for (size_t i = 0; i < n; i++)
    seqs[i] = evs[i].seq;
  pthread_mutex_lock(&r->mu);
  r->active = 1;
  r->seqs = seqs;
  r->n = n;
  memset(r->acked, 0, n);
  r->n_acked = r->n_dups = 0;
  r->err_set = 0;
  pthread_mutex_unlock(&r->mu);

  int pub_rc = STREAM_OK;
  for (size_t i = 0; i < n && pub_rc == STREAM_OK; i++)
    pub_rc = publish_one(r, &evs[i]);
  /* Each publication times out on its own after timeout_ms (its MaxWait); the wait for all of
   * them is bounded as well, in case an answer is lost without a timeout firing. */
  jsPubOptions co;
  jsPubOptions_Init(&co);
  co.MaxWait = (int64_t)r->timeout_ms + 1000;
  if (js_PublishAsyncComplete(r->js, &co) == NATS_TIMEOUT) {
    natsMsgList pending;
    memset(&pending, 0, sizeof pending);
    if (js_PublishAsyncGetPendingList(&pending, r->js) == NATS_OK)
      natsMsgList_Destroy(&pending); /* they go again with the next round */
  }

  pthread_mutex_lock(&r->mu);
  r->active = 0;
  r->seqs = NULL;
  size_t acked = r->n_acked, dups = r->n_dups;
  int missing = 0; /* JetStream had no stream for the round's subjects */
  if (pub_rc == STREAM_OK && acked < n) {
    pub_rc = round_error(r, n, evs);
    missing =
        r->err_set && (r->err_status == NATS_NO_RESPONDERS || r->err_code == JSStreamNotFoundErr);
  }
  pthread_mutex_unlock(&r->mu);
  free(seqs);
  int64_t last = evs[n - 1].seq;
  stream_free(evs);
  /* The connection went away during the round (publications failed, acknowledgements never
   * came): said as at a round's start, so an outage reads the same from beginning to end. */
  if (pub_rc != STREAM_OK && relay__down(r->nc))
    return relay__not_connected("relay", r->url);
  if (pub_rc != STREAM_OK && missing)
    return stream_lost(r, pub_rc);
  if (pub_rc != STREAM_OK)
    return pub_rc;

  rc = stream_events_commit(r->events, r->consumer, from, last);
  if (rc == STREAM_ECONFLICT) /* another relay advanced first: nothing lost, poll again */
    return STREAM_OK;
  if (rc != STREAM_OK)
    return rc;
  if (out_published)
    *out_published = (int64_t)n;
  if (out_duplicates)
    *out_duplicates = (int64_t)dups;
  return STREAM_OK;
}

int stream_relay_lag(stream_relay *r, int64_t *out)
{
  if (out)
    *out = 0;
  if (!r || !out)
    return stream__err(STREAM_EINVAL, "relay: %s is NULL", r ? "out" : "handle");
  int64_t last = 0, done = 0;
  int rc = stream_events_stats(r->events, NULL, &last);
  if (rc == STREAM_OK)
    rc = stream_events_checkpoint(r->events, &done, r->consumer);
  if (rc != STREAM_OK)
    return rc;
  *out = last > done ? last - done : 0;
  return STREAM_OK;
}
