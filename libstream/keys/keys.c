/*
 * keys: immutable, reference-counted keys (HMAC secrets, Ed25519 key pairs,
 * and the RSA and ECDSA P-256 key pairs of pkey.c) loaded from bytes, text,
 * files or the environment, and key rings that hold several keys for
 * rotation. Secret bytes never reach a log or an error message and are wiped
 * when the last reference goes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "../core/core.h"
#include "keys_internal.h"

#define KEYFILE_MAX (16 * 1024)
#define RING_MAX 32

int keys__check_id(const char *id)
{
  if (!id || !*id)
    return stream__err(STREAM_EINVAL, "key id is empty");
  size_t n = strlen(id);
  if (n > STREAM_KEY_ID_MAX)
    return stream__err(STREAM_EINVAL, "key id is %zu characters long; the limit is %d", n,
                       STREAM_KEY_ID_MAX);
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.'))
      return stream__err(
          STREAM_EINVAL,
          "key id has an invalid character at offset %zu (allowed: A-Z a-z 0-9 . _ -)", i);
  }
  return STREAM_OK;
}

stream_key *keys__ref(const stream_key *key)
{
  stream_key *k = (stream_key *)key;
  atomic_fetch_add(&k->refs, 1);
  return k;
}

void stream_key_free(stream_key *key)
{
  if (!key)
    return;
  if (atomic_fetch_sub(&key->refs, 1) != 1)
    return;
  EVP_PKEY_free(key->pkey);
  stream__wipe(key, sizeof *key);
  free(key);
}

static int check_type(int type)
{
  if (type != STREAM_KEY_HMAC && type != STREAM_KEY_ED25519_PRIVATE &&
      type != STREAM_KEY_ED25519_PUBLIC && !keys__is_pkey_type(type))
    return stream__err(STREAM_EINVAL, "unknown key type %d", type);
  return STREAM_OK;
}

static int key_alloc(stream_key **out, int type, const char *id)
{
  int rc = check_type(type);
  if (rc)
    return rc;
  if ((rc = keys__check_id(id)))
    return rc;
  stream_key *k = stream__calloc(1, sizeof *k);
  if (!k)
    return STREAM_ENOMEM;
  atomic_init(&k->refs, 1);
  k->type = type;
  memcpy(k->id, id, strlen(id) + 1);
  *out = k;
  return STREAM_OK;
}

int keys__alloc(stream_key **out, int type, const char *id)
{
  return key_alloc(out, type, id);
}

/* Fill pkey and pub for an Ed25519 key whose bytes are set. */
static int key_finish_ed25519(stream_key *k)
{
  size_t publen = 32;
  if (k->type == STREAM_KEY_ED25519_PRIVATE) {
    k->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, k->secret, 32);
    if (!k->pkey || EVP_PKEY_get_raw_public_key(k->pkey, k->pub, &publen) != 1 || publen != 32) {
      ERR_clear_error();
      return stream__err(STREAM_ECRYPTO, "cannot build Ed25519 private key '%s'", k->id);
    }
  } else {
    k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, k->pub, 32);
    if (!k->pkey) {
      ERR_clear_error();
      return stream__err(STREAM_EINVAL, "'%s' is not a valid Ed25519 public key", k->id);
    }
  }
  return STREAM_OK;
}

int stream_key_from_bytes(stream_key **out, stream_key_type type, const char *id, const void *bytes,
                          size_t len)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_key_from_bytes: out is NULL");
  *out = NULL;
  if (!bytes)
    return stream__err(STREAM_EINVAL, "stream_key_from_bytes: bytes is NULL");
  if (keys__is_pkey_type((int)type)) {
    int rc = keys__check_id(id);
    return rc ? rc : keys__pkey_from_der(out, (int)type, id, bytes, len);
  }
  stream_key *k = NULL;
  int rc = key_alloc(&k, (int)type, id);
  if (rc)
    return rc;
  if (type == STREAM_KEY_HMAC) {
    if (len < STREAM_KEY_HMAC_MIN || len > STREAM_KEY_HMAC_MAX) {
      stream_key_free(k);
      return stream__err(STREAM_EINVAL, "HMAC key '%s' is %zu bytes; it must be %d..%d bytes", id,
                         len, STREAM_KEY_HMAC_MIN, STREAM_KEY_HMAC_MAX);
    }
    memcpy(k->secret, bytes, len);
    k->len = len;
  } else {
    if (len != 32) {
      stream_key_free(k);
      return stream__err(STREAM_EINVAL, "Ed25519 key '%s' is %zu bytes; it must be 32 bytes", id,
                         len);
    }
    if (type == STREAM_KEY_ED25519_PRIVATE)
      memcpy(k->secret, bytes, 32);
    else
      memcpy(k->pub, bytes, 32);
    k->len = 32;
    if ((rc = key_finish_ed25519(k))) {
      stream_key_free(k);
      return rc;
    }
  }
  *out = k;
  return STREAM_OK;
}

int stream_key_generate(stream_key **out, stream_key_type type, const char *id, size_t hmac_len)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_key_generate: out is NULL");
  *out = NULL;
  if (type == STREAM_KEY_ED25519_PUBLIC || type == STREAM_KEY_RSA_PUBLIC ||
      type == STREAM_KEY_EC_PUBLIC)
    return stream__err(STREAM_EINVAL, "a public key cannot be generated; generate a private key "
                                      "and derive it with stream_key_public()");
  if (keys__is_pkey_type((int)type)) {
    int rc = keys__check_id(id);
    return rc ? rc : keys__pkey_generate(out, (int)type, id);
  }
  size_t len = type == STREAM_KEY_HMAC ? (hmac_len ? hmac_len : 32) : 32;
  if (type == STREAM_KEY_HMAC && (len < STREAM_KEY_HMAC_MIN || len > STREAM_KEY_HMAC_MAX))
    return stream__err(STREAM_EINVAL, "HMAC key length %zu is outside %d..%d", len,
                       STREAM_KEY_HMAC_MIN, STREAM_KEY_HMAC_MAX);
  unsigned char buf[STREAM_KEY_HMAC_MAX];
  int rc = stream_random_bytes(buf, len);
  if (!rc)
    rc = stream_key_from_bytes(out, type, id, buf, len);
  stream__wipe(buf, sizeof buf);
  return rc;
}

static bool is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int key_from_pem(stream_key **out, stream_key_type type, const char *id, const char *text)
{
  BIO *bio = BIO_new_mem_buf(text, -1);
  if (!bio)
    return stream__err(STREAM_ENOMEM, "out of memory reading PEM");
  EVP_PKEY *pk = type == STREAM_KEY_ED25519_PRIVATE ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)
                                                    : PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
  BIO_free(bio);
  ERR_clear_error();
  if (!pk)
    return stream__err(STREAM_EINVAL, "key '%s': PEM block cannot be parsed as an Ed25519 %s key",
                       id, type == STREAM_KEY_ED25519_PRIVATE ? "private" : "public");
  if (EVP_PKEY_get_base_id(pk) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(pk);
    return stream__err(STREAM_EINVAL, "key '%s': PEM holds a key that is not Ed25519", id);
  }
  unsigned char raw[32];
  size_t rl = sizeof raw;
  int ok = type == STREAM_KEY_ED25519_PRIVATE ? EVP_PKEY_get_raw_private_key(pk, raw, &rl)
                                              : EVP_PKEY_get_raw_public_key(pk, raw, &rl);
  EVP_PKEY_free(pk);
  ERR_clear_error();
  if (ok != 1 || rl != 32)
    return stream__err(STREAM_ECRYPTO, "key '%s': cannot read raw Ed25519 key from PEM", id);
  int rc = stream_key_from_bytes(out, type, id, raw, 32);
  stream__wipe(raw, sizeof raw);
  return rc;
}

int stream_key_from_text(stream_key **out, stream_key_type type, const char *id, const char *text)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_key_from_text: out is NULL");
  *out = NULL;
  if (!text)
    return stream__err(STREAM_EINVAL, "stream_key_from_text: text is NULL");
  int rc = check_type((int)type);
  if (rc || (rc = keys__check_id(id)))
    return rc;
  while (is_space(*text))
    text++;
  size_t n = strlen(text);
  while (n && is_space(text[n - 1]))
    n--;
  if (n == 0)
    return stream__err(STREAM_EINVAL, "key '%s': text is empty", id);
  if (n > KEYFILE_MAX)
    return stream__err(STREAM_ERANGE, "key '%s': text is over %d bytes", id, KEYFILE_MAX);
  if (keys__is_pkey_type((int)type)) {
    if (strncmp(text, "-----BEGIN", 10) != 0)
      return stream__err(STREAM_EINVAL, "key '%s': RSA and ECDSA keys are read from PEM text", id);
    return keys__pkey_from_pem(out, (int)type, id, text, n);
  }
  if (strncmp(text, "-----BEGIN", 10) == 0) {
    if (type == STREAM_KEY_HMAC)
      return stream__err(STREAM_EINVAL, "key '%s': PEM is only for Ed25519, RSA and ECDSA keys",
                         id);
    return key_from_pem(out, type, id, text);
  }
  /* base64url or base64, padded or not: decide the alphabet by its characters. */
  unsigned int flags = STREAM_B64_URL;
  for (size_t i = 0; i < n; i++)
    if (text[i] == '+' || text[i] == '/')
      flags = STREAM_B64_STD;
  unsigned char raw[STREAM_KEY_HMAC_MAX + 3];
  size_t rl = 0;
  rc = stream__b64_decode_into(raw, sizeof raw, &rl, text, n, flags, true);
  if (rc == STREAM_ERANGE)
    return stream__err(STREAM_EINVAL, "key '%s': decoded key is longer than %d bytes", id,
                       STREAM_KEY_HMAC_MAX);
  if (rc)
    return stream__err(STREAM_EINVAL, "key '%s': text is neither base64url, base64 nor PEM", id);
  rc = stream_key_from_bytes(out, type, id, raw, rl);
  stream__wipe(raw, sizeof raw);
  return rc;
}

int stream_key_load_file(stream_key **out, stream_key_type type, const char *id, const char *path)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_key_load_file: out is NULL");
  *out = NULL;
  if (!path || !*path)
    return stream__err(STREAM_EINVAL, "stream_key_load_file: path is empty");
  FILE *f = fopen(path, "rbe");
  if (!f)
    return stream__err(STREAM_EIO, "cannot open key file %s: %s", path, strerror(errno));
  char *buf = malloc(KEYFILE_MAX + 2);
  if (!buf) {
    fclose(f);
    return stream__err(STREAM_ENOMEM, "out of memory reading key file");
  }
  size_t n = fread(buf, 1, KEYFILE_MAX + 1, f);
  int err = ferror(f);
  fclose(f);
  int rc;
  if (err)
    rc = stream__err(STREAM_EIO, "cannot read key file %s", path);
  else if (n > KEYFILE_MAX)
    rc = stream__err(STREAM_ERANGE, "key file %s is over %d bytes", path, KEYFILE_MAX);
  else if (memchr(buf, '\0', n))
    rc = stream__err(STREAM_EINVAL, "key file %s holds binary data; expected base64url or PEM text",
                     path);
  else {
    buf[n] = '\0';
    rc = stream_key_from_text(out, type, id, buf);
  }
  stream__wipe(buf, KEYFILE_MAX + 2);
  free(buf);
  return rc;
}

int stream_key_load_env(stream_key **out, stream_key_type type, const char *id, const char *name)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_key_load_env: out is NULL");
  *out = NULL;
  if (!name || !*name)
    return stream__err(STREAM_EINVAL, "stream_key_load_env: variable name is empty");
  const char *v = getenv(name);
  if (!v || !*v)
    return stream__err(STREAM_ENOTFOUND, "environment variable %s is not set", name);
  return stream_key_from_text(out, type, id, v);
}

int stream_key_public(stream_key **out, const stream_key *key)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_key_public: out is NULL");
  *out = NULL;
  if (key && (key->type == STREAM_KEY_RSA_PRIVATE || key->type == STREAM_KEY_EC_PRIVATE))
    return keys__pkey_public(out, key);
  if (!key || key->type != STREAM_KEY_ED25519_PRIVATE)
    return stream__err(STREAM_EINVAL,
                       "stream_key_public: not an Ed25519, RSA or ECDSA private key");
  return stream_key_from_bytes(out, STREAM_KEY_ED25519_PUBLIC, key->id, key->pub, 32);
}

int stream_key_public_bytes(unsigned char *out32, const stream_key *key)
{
  if (!out32 || !key)
    return stream__err(STREAM_EINVAL, "stream_key_public_bytes: NULL argument");
  if (key->type == STREAM_KEY_HMAC)
    return stream__err(STREAM_EINVAL, "key '%s' is an HMAC key; it has no public part", key->id);
  if (keys__is_pkey_type(key->type))
    return stream__err(STREAM_EINVAL,
                       "key '%s' is an RSA or ECDSA key; export its public key as PEM instead",
                       key->id);
  memcpy(out32, key->pub, 32);
  return STREAM_OK;
}

int stream_key_export(char **out, const stream_key *key, stream_key_format format)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_key_export: out is NULL");
  *out = NULL;
  if (!key)
    return stream__err(STREAM_EINVAL, "stream_key_export: key is NULL");
  if (format == STREAM_KEY_FORMAT_BASE64URL && keys__is_pkey_type(key->type))
    return stream__err(STREAM_ENOTSUP, "key '%s': RSA and ECDSA keys are exported as PEM only",
                       key->id);
  if (format == STREAM_KEY_FORMAT_BASE64URL) {
    const unsigned char *b = key->type == STREAM_KEY_ED25519_PUBLIC ? key->pub : key->secret;
    return stream_base64_encode(out, NULL, b, key->len, STREAM_B64_URL);
  }
  if (format != STREAM_KEY_FORMAT_PEM)
    return stream__err(STREAM_EINVAL, "unknown key format %d", (int)format);
  if (key->type == STREAM_KEY_HMAC)
    return stream__err(STREAM_ENOTSUP, "key '%s': PEM export is not for HMAC keys", key->id);
  BIO *bio = BIO_new(BIO_s_mem());
  if (!bio)
    return stream__err(STREAM_ENOMEM, "out of memory exporting key");
  int ok = keys__is_private_type(key->type)
               ? PEM_write_bio_PrivateKey(bio, key->pkey, NULL, NULL, 0, NULL, NULL)
               : PEM_write_bio_PUBKEY(bio, key->pkey);
  char *mem = NULL;
  long len = BIO_get_mem_data(bio, &mem);
  int rc = STREAM_OK;
  if (ok != 1 || len <= 0)
    rc = stream__err(STREAM_ECRYPTO, "cannot export key '%s' as PEM", key->id);
  else if (!(*out = stream__strndup(mem, (size_t)len)))
    rc = STREAM_ENOMEM;
  if (len > 0)
    stream__wipe(mem, (size_t)len);
  BIO_free(bio);
  ERR_clear_error();
  return rc;
}

const char *stream_key_id(const stream_key *key)
{
  return key ? key->id : NULL;
}
int stream_key_type_of(const stream_key *key)
{
  return key ? key->type : 0;
}
size_t stream_key_length(const stream_key *key)
{
  return key ? key->len : 0;
}

/* ---- key ring --------------------------------------------------------- */

struct stream_keyring {
  pthread_rwlock_t lock;
  stream_key *keys[RING_MAX];
  size_t count;
  int primary; /* index into keys, -1 when none */
};

int stream_keyring_new(stream_keyring **out)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_keyring_new: out is NULL");
  stream_keyring *r = stream__calloc(1, sizeof *r);
  if (!r)
    return STREAM_ENOMEM;
  if (pthread_rwlock_init(&r->lock, NULL) != 0) {
    free(r);
    return stream__err(STREAM_ENOMEM, "cannot create key ring lock");
  }
  r->primary = -1;
  *out = r;
  return STREAM_OK;
}

void stream_keyring_free(stream_keyring *ring)
{
  if (!ring)
    return;
  for (size_t i = 0; i < ring->count; i++)
    stream_key_free(ring->keys[i]);
  pthread_rwlock_destroy(&ring->lock);
  free(ring);
}

static int ring_find(const stream_keyring *r, const char *id)
{
  for (size_t i = 0; i < r->count; i++)
    if (strcmp(r->keys[i]->id, id) == 0)
      return (int)i;
  return -1;
}

int stream_keyring_add(stream_keyring *ring, const stream_key *key)
{
  if (!ring || !key)
    return stream__err(STREAM_EINVAL, "stream_keyring_add: NULL argument");
  int rc = STREAM_OK;
  pthread_rwlock_wrlock(&ring->lock);
  if (ring_find(ring, key->id) >= 0)
    rc = stream__err(STREAM_EEXIST, "key ring already holds a key with id '%s'", key->id);
  else if (ring->count == RING_MAX)
    rc = stream__err(STREAM_ERANGE, "key ring is full (%d keys)", RING_MAX);
  else {
    ring->keys[ring->count] = keys__ref(key);
    if (ring->primary < 0)
      ring->primary = (int)ring->count;
    ring->count++;
  }
  pthread_rwlock_unlock(&ring->lock);
  return rc;
}

int stream_keyring_remove(stream_keyring *ring, const char *id)
{
  if (!ring || !id)
    return stream__err(STREAM_EINVAL, "stream_keyring_remove: NULL argument");
  stream_key *gone = NULL;
  pthread_rwlock_wrlock(&ring->lock);
  int i = ring_find(ring, id);
  if (i >= 0) {
    gone = ring->keys[i];
    memmove(&ring->keys[i], &ring->keys[i + 1],
            (ring->count - (size_t)i - 1) * sizeof(stream_key *));
    ring->count--;
    if (ring->primary == i)
      ring->primary = -1;
    else if (ring->primary > i)
      ring->primary--;
  }
  pthread_rwlock_unlock(&ring->lock);
  if (!gone)
    return stream__err(STREAM_ENOTFOUND, "key ring has no key with id '%s'", id);
  stream_key_free(gone);
  return STREAM_OK;
}

int stream_keyring_set_primary(stream_keyring *ring, const char *id)
{
  if (!ring || !id)
    return stream__err(STREAM_EINVAL, "stream_keyring_set_primary: NULL argument");
  pthread_rwlock_wrlock(&ring->lock);
  int i = ring_find(ring, id);
  if (i >= 0)
    ring->primary = i;
  pthread_rwlock_unlock(&ring->lock);
  return i >= 0 ? STREAM_OK : stream__err(STREAM_ENOTFOUND, "key ring has no key with id '%s'", id);
}

size_t stream_keyring_count(const stream_keyring *ring)
{
  if (!ring)
    return 0;
  pthread_rwlock_rdlock((pthread_rwlock_t *)&ring->lock);
  size_t n = ring->count;
  pthread_rwlock_unlock((pthread_rwlock_t *)&ring->lock);
  return n;
}

int stream_keyring_get(stream_key **out, const stream_keyring *ring, const char *id)
{
  if (!out || !ring)
    return stream__err(STREAM_EINVAL, "stream_keyring_get: NULL argument");
  *out = NULL;
  pthread_rwlock_t *lock = (pthread_rwlock_t *)&ring->lock;
  pthread_rwlock_rdlock(lock);
  int i = id ? ring_find(ring, id) : ring->primary;
  if (i >= 0)
    *out = keys__ref(ring->keys[i]);
  pthread_rwlock_unlock(lock);
  if (i < 0)
    return id ? stream__err(STREAM_ENOTFOUND, "unknown key id '%.64s'", id)
              : stream__err(STREAM_ENOTFOUND, "key ring has no primary key");
  return STREAM_OK;
}
