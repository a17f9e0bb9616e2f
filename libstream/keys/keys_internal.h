/*
 * Internal view of keys for the modules that sign and verify (sign/, token/).
 * Keys are immutable and reference counted; a key obtained from a ring stays
 * valid until released with stream_key_free(), even if the ring drops it.
 */
#ifndef STREAM_KEYS_INTERNAL_H
#define STREAM_KEYS_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>

#include <openssl/evp.h>

#include "stream/keys.h"

struct stream_key {
  atomic_int refs;
  int type; /* stream_key_type */
  char id[STREAM_KEY_ID_MAX + 1];
  size_t len;                                /* bytes used in `secret` (HMAC) or 32 */
  unsigned char secret[STREAM_KEY_HMAC_MAX]; /* HMAC secret or Ed25519 seed; zero for public keys */
  unsigned char pub[32];                     /* Ed25519 public key */
  EVP_PKEY *pkey; /* Ed25519, RSA or EC key (private or public), NULL for HMAC */
};

/* Take another reference (never fails). */
stream_key *keys__ref(const stream_key *key);

/* Check an id: 1..64 of [A-Za-z0-9._-]. Sets the thread error on failure. */
int keys__check_id(const char *id);

/* A new key of `type` with `id` and one reference, fields zero (checks both). */
int keys__alloc(stream_key **out, int type, const char *id);

/* pkey.c: RSA and ECDSA P-256 keys (CloudFront), held only in `pkey`; `len`
 * is the RSA modulus size in bytes or 32 (P-256). */
bool keys__is_pkey_type(int type);
bool keys__is_private_type(int type);
int keys__pkey_from_pem(stream_key **out, int type, const char *id, const char *text, size_t n);
int keys__pkey_from_der(stream_key **out, int type, const char *id, const void *der, size_t n);
int keys__pkey_generate(stream_key **out, int type, const char *id);
int keys__pkey_public(stream_key **out, const stream_key *key);

#endif
