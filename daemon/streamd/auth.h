/*
 * Authentication for streamd routes. The route table names the role a route
 * needs; http.c asks the streamd_authenticate_fn hook who the caller is.
 *
 * The operator role is a static bearer token (file named by
 * operator_token_file / STREAMD_OPERATOR_TOKEN_FILE, or the
 * STREAMD_OPERATOR_TOKEN variable), compared in constant time. Any other
 * bearer token goes to the viewer hook (viewer_hook), which verifies it as an
 * access token of the auth service (streamd_auth_viewer_jwt).
 */
#ifndef STREAMD_AUTH_H
#define STREAMD_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "http.h"

#define STREAMD_TOKEN_MAX 255
#define STREAMD_TOKEN_MIN 16

typedef struct streamd_auth {
  unsigned char operator_token[STREAMD_TOKEN_MAX + 1]; /* zero padded */
  size_t operator_token_len;                           /* 0 = no operator token configured */
  streamd_authenticate_fn viewer_hook; /* bearer tokens that are not the operator's */
  void *viewer_userdata;
} streamd_auth;

/* Load the operator token. 0, or -1 with `err` (never containing the token). */
int streamd_auth_init(streamd_auth *a, const streamd_config *cfg, char *err, size_t errlen);

/* Wipe the token. */
void streamd_auth_clear(streamd_auth *a);

/* The streamd_authenticate_fn installed on the server; userdata is a streamd_auth *. */
int streamd_auth_authenticate(streamd_identity *out, const streamd_request *req, void *userdata,
                              char *detail, size_t dlen);

/*
 * The viewer hook: verifies a JWT access token with the auth service
 * (stream_auth_verify_access). The identity's subject is "<account_id>" or,
 * for a profile-scoped token, "<account_id>/<profile_id>/<kids>/<ceiling>"
 * (see routes_util.h). Expired tokens give STREAM_EEXPIRED, others STREAM_EAUTH.
 */
int streamd_auth_viewer_jwt(streamd_identity *out, const streamd_request *req, void *userdata,
                            char *detail, size_t dlen);

/* Forget every cached verification of `account_id`'s access tokens (after the
 * account was deleted), so the next request verifies again and fails at once
 * instead of up to the cache's 5 s later. Thread-safe. */
void streamd_auth_forget_account(const char *account_id);

/* After a playback session's events token verified against the key ring
 * (routes_events.c): is its account still there and enabled? One
 * primary-key read (stream_auth_account_get), remembered in the
 * verified-token cache like an access token's (under its own kind, so an
 * events token never passes as an access token) for at most 5 s and never
 * past `exp`; streamd_auth_forget_account() drops it. STREAM_OK,
 * STREAM_EAUTH (deleted or disabled), or the store's error. Thread-safe. */
int streamd_auth_events_account(const char *token, const char *account_id, int64_t exp);

/* The placeholder viewer hook: always STREAM_EAUTH ("not available yet"). */
int streamd_auth_viewer_unavailable(streamd_identity *out, const streamd_request *req,
                                    void *userdata, char *detail, size_t dlen);

#endif
