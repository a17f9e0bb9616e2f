/*
 * Authentication for streamd routes. The route table names the role a route
 * needs; http.c asks the streamd_authenticate_fn hook who the caller is.
 *
 * Today: the operator role is a static bearer token (file named by
 * operator_token_file / STREAMD_OPERATOR_TOKEN_FILE, or the
 * STREAMD_OPERATOR_TOKEN variable), compared in constant time. Viewer
 * authentication is a hook (viewer_hook) that answers 401 until the auth
 * service exists; the auth module will install its JWT verifier there.
 */
#ifndef STREAMD_AUTH_H
#define STREAMD_AUTH_H

#include <stddef.h>

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

/* The placeholder viewer hook: always STREAM_EAUTH ("not available yet"). */
int streamd_auth_viewer_unavailable(streamd_identity *out, const streamd_request *req,
                                    void *userdata, char *detail, size_t dlen);

#endif
