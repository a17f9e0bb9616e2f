/*
 * Internal helpers of the sign module: a per-thread cache of keyed
 * HMAC-SHA256 contexts (the key schedule is computed once per key and
 * thread), client-address parsing and matching, and URL checks shared by the
 * formats that scope a signature to a URL prefix.
 */
#ifndef STREAM_SIGN_INTERNAL_H
#define STREAM_SIGN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream/sign.h"

#include "../keys/keys_internal.h"

/* HMAC-SHA256 of `len` bytes with an HMAC key into out32. No allocation once
 * the calling thread has used the key before. Sets the thread error and
 * returns STREAM_ECRYPTO / STREAM_ENOMEM on failure. */
int sign__hmac_sha256(unsigned char *out32, const stream_key *key, const void *data, size_t len);

/* An address or CIDR block. family is 4 or 6; bits is the prefix length
 * (32 / 128 for a single address). */
typedef struct sign__ip {
  int family;
  int bits;
  unsigned char addr[16];
} sign__ip;

/* Parse "ADDR" or "ADDR<sep>BITS" (sep '/' in the API, '_' on the native
 * wire) of `n` bytes. Refuses IPv4-mapped IPv6 blocks, bits out of range,
 * leading zeros in bits and host bits that are not zero. Quiet: returns
 * STREAM_EINVAL and sets *why to a static description. */
int sign__ip_parse_block(sign__ip *out, const char *s, size_t n, char sep, const char **why);
/* Parse a client address (no block); an IPv4-mapped IPv6 address becomes
 * IPv4. Quiet: STREAM_EINVAL. */
int sign__ip_parse_client(sign__ip *out, const char *s);
/* Canonical text: inet_ntop form, "<sep>BITS" appended unless the block is a
 * single address. `dst` must hold 64 bytes. Returns the length. */
size_t sign__ip_format(char *dst, const sign__ip *ip, char sep);
/* Whether the client address lies in the block. */
bool sign__ip_contains(const sign__ip *block, const sign__ip *client);

/* Offsets of an absolute http(s) URL of `n` bytes: path_start is the index of
 * the first '/' after the authority (n when absent), query is the index of
 * the first '?' (n when absent). Fails (quiet, STREAM_EINVAL, *why set) on a
 * scheme other than lowercase http/https, an empty host, a byte outside
 * printable ASCII (space excluded), '#' or '\\'. */
int sign__url_split(const char *s, size_t n, size_t *path_start, size_t *query, const char **why);
/* Whether all `n` bytes are printable ASCII other than space, '#', '\\'. */
bool sign__url_chars_ok(const char *s, size_t n);
/* Whether a path (bytes up to the query) is free of dot segments (".", "..",
 * also percent-encoded), encoded '/', encoded '\\' and encoded NUL. */
bool sign__path_safe(const char *path, size_t n);

#endif
