/*
 * relay: what relay.c (the publishing half) shares with reader.c (the
 * consuming half, stream_relay_reader): the validation of the connection
 * options and the connection to NATS (servers, credentials, TLS, and the
 * mapping of nats.c's failures to statuses and messages), so both halves
 * connect the same way. Internal.
 */
#ifndef STREAM_RELAY_INTERNAL_H
#define STREAM_RELAY_INTERNAL_H

#include <nats/nats.h>

#include "stream/relay.h"

/* What the URL list says about TLS: the scheme of its entries and their one host. */
typedef struct url_info {
  int n;         /* entries */
  int n_tls;     /* of which tls:// */
  int same_host; /* every entry names host[] */
  char host[256];
} url_info;

/* The option checks of stream_relay_new() on a current-version `o` (URL list, names, batch,
 * timeout, credentials, TLS certificate and key given together, one host with TLS); fills
 * `ui`. STREAM_EINVAL with a message. Opens no file: relay__check_files() does. */
int relay__check_options(const stream_relay_options *o, url_info *ui);

/* That the credentials and TLS files of `o` open: STREAM_EIO naming the path. Called after
 * every STREAM_EINVAL check of the caller (its own included), so that a missing file never
 * hides an option error (streamd refuses to start on STREAM_EINVAL, retries the rest). */
int relay__check_files(const stream_relay_options *o);

/* Connect to NATS as `o` says (checked by relay__check_options(); `ui` from it): servers,
 * reconnection for ever every 250 ms, credentials, TLS. `*out` is the caller's
 * (natsConnection_Close + natsConnection_Destroy); NULL on failure. Errors as
 * stream_relay_new()'s connection errors (STREAM_EIO, STREAM_EAUTH, ...), naming o->url. */
int relay__connect(natsConnection **out, const stream_relay_options *o, const url_info *ui);

/* nats.c's text for `s`, or its last error detail (never a credential of ours). */
const char *relay__nats_detail(natsStatus s);

/* Nonzero when `nc` is not connected (nats.c is reconnecting: it does so for ever). */
int relay__down(natsConnection *nc);

/* The one failure of a call that found the connection down, whatever noticed it (a round's
 * start, a fetch or a request that waited in vain, acknowledgements that never came): STREAM_EIO
 * with "<who>: not connected to NATS at <url> (reconnecting)". One wording for the whole outage,
 * so streamd, which logs an error again only when its message changes, logs an outage once. */
int relay__not_connected(const char *who, const char *url);

#endif
