/*
 * Internal interface of the token module: strict JSON parsing (json.c) and
 * the JWS compact serialization with key-bound algorithms (jws.c), shared by
 * the JWT layer (jwt.c).
 */
#ifndef STREAM_TOKEN_INTERNAL_H
#define STREAM_TOKEN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "../keys/keys_internal.h"
#include "stream/token.h"

/* Parse `len` bytes of JSON text into an object. Rejects invalid UTF-8,
 * escaped NULs (cJSON would silently cut the string there), trailing bytes,
 * non-objects and duplicate member names at any depth. `what` names the text
 * in the message ("JWS header", "claims"). Sets the thread error
 * (STREAM_EINVAL or STREAM_ENOMEM). */
int token__json_object(cJSON **out, const char *text, size_t len, const char *what);

/* Offset of the first byte that is not clean UTF-8 (or is NUL or a control
 * byte other than tab, LF, CR), or `len` when there is none. */
size_t token__check_text(const unsigned char *s, size_t len);

/* Copy `src` into `dst` (capacity cap >= 4) for an error message: at most
 * cap-1 bytes, non-printable bytes replaced by '?', "..." when cut. */
const char *token__printable(char *dst, size_t cap, const char *src);

/* A parsed compact JWS: one allocation holds the decoded header, payload and
 * signature (each NUL-terminated); `hdr` is the parsed header. */
typedef struct token__jws {
  const char *signing_input; /* points into the caller's token */
  size_t signing_input_len;
  unsigned char *buf;
  const char *header;
  size_t header_len;
  unsigned char *payload;
  size_t payload_len;
  unsigned char *sig;
  size_t sig_len;
  cJSON *hdr;
  const char *alg; /* borrowed from hdr */
  const char *kid; /* borrowed from hdr; NULL when absent */
  const char *typ; /* borrowed from hdr; NULL when absent */
} token__jws;

/* Split, decode and check a NUL-terminated compact JWS of at most max_size
 * bytes: three canonical unpadded base64url segments, a header passing
 * token__check_header(). No key is involved yet. */
int token__jws_parse(token__jws *j, const char *jws, size_t max_size);
void token__jws_free(token__jws *j);

/* Header rules shared by signing and verification: "alg" a string and not
 * "none" (EAUTH), no "crit" (ENOTSUP), "b64" absent or true, "kid" and
 * "typ" strings. Fills alg/kid/typ (borrowed from hdr). */
int token__check_header(const cJSON *hdr, const char **alg, const char **kid, const char **typ);

/* The JWS "alg" a key implies ("HS256" or "EdDSA"); checks the key is usable
 * (HMAC of at least 32 bytes; for signing, not a public key). */
int token__key_alg(const char **alg, const stream_key *key, bool signing);

/* The header's alg must be the key's: STREAM_EAUTH otherwise. */
int token__jws_check_key(const token__jws *j, const stream_key *key);

/* Verify the signature of a parsed JWS with `key` (after jws_check_key). */
int token__jws_verify_sig(const token__jws *j, const stream_key *key);

/* Sign header bytes and payload bytes with `key` (whose alg the header has
 * already been checked against). `*out` is freed with stream_free(). */
int token__jws_build(char **out, const stream_key *key, const char *header, size_t header_len,
                     const void *payload, size_t payload_len);

#endif
