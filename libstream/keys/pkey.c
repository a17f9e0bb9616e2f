/*
 * keys/pkey: the RSA and ECDSA P-256 keys that Amazon CloudFront signs with
 * ("RSA 2048 or ECDSA 256"). They live in the key's EVP_PKEY only (OpenSSL 3
 * EVP and decoder APIs; no deprecated RSA_* / EC_KEY_* calls), load from PEM
 * (PKCS#1, SEC1, PKCS#8, SubjectPublicKeyInfo) or DER, and are refused when
 * weaker than CloudFront accepts: RSA under 2048 bits, curves other than P-256.
 * OpenSSL clears the private numbers when the EVP_PKEY is freed.
 */
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "../core/core.h"
#include "keys_internal.h"

#define RSA_BITS_MIN 2048
#define RSA_BITS_MAX 8192

bool keys__is_pkey_type(int type)
{
  return type == STREAM_KEY_RSA_PRIVATE || type == STREAM_KEY_RSA_PUBLIC ||
         type == STREAM_KEY_EC_PRIVATE || type == STREAM_KEY_EC_PUBLIC;
}

bool keys__is_private_type(int type)
{
  return type == STREAM_KEY_ED25519_PRIVATE || type == STREAM_KEY_RSA_PRIVATE ||
         type == STREAM_KEY_EC_PRIVATE;
}

static bool is_rsa_type(int type)
{
  return type == STREAM_KEY_RSA_PRIVATE || type == STREAM_KEY_RSA_PUBLIC;
}

static const char *type_word(int type)
{
  return is_rsa_type(type) ? "RSA" : "ECDSA P-256";
}

/* Never prompt on a terminal for the passphrase of an encrypted PEM. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
  (void)buf;
  (void)size;
  (void)rwflag;
  (void)u;
  return -1;
}

/* Check that pk is what `type` promises and wrap it into a new key (takes pk). */
static int adopt(stream_key **out, int type, const char *id, EVP_PKEY *pk)
{
  int rc = STREAM_OK;
  int base = EVP_PKEY_get_base_id(pk);
  if (is_rsa_type(type)) {
    int bits = EVP_PKEY_get_bits(pk);
    if (base != EVP_PKEY_RSA)
      rc = stream__err(STREAM_EINVAL, "key '%s' is not an RSA key (PKCS#1 v1.5 RSA expected)", id);
    else if (bits < RSA_BITS_MIN || bits > RSA_BITS_MAX)
      rc = stream__err(STREAM_EINVAL,
                       "RSA key '%s' has %d bits; %d..%d bits are accepted (CloudFront "
                       "takes RSA 2048)",
                       id, bits, RSA_BITS_MIN, RSA_BITS_MAX);
  } else {
    char group[64] = "";
    size_t gl = 0;
    if (base != EVP_PKEY_EC)
      rc = stream__err(STREAM_EINVAL, "key '%s' is not an elliptic-curve (ECDSA) key", id);
    else if (EVP_PKEY_get_group_name(pk, group, sizeof group, &gl) != 1 ||
             OBJ_txt2nid(group) != NID_X9_62_prime256v1)
      rc = stream__err(STREAM_EINVAL,
                       "EC key '%s' is on curve '%s'; only P-256 (prime256v1) is accepted", id,
                       group[0] ? group : "unknown");
  }
  if (!rc && keys__is_private_type(type)) {
    /* a public-only EVP_PKEY cannot stand in for a private key */
    BIGNUM *priv = NULL;
    const char *param = is_rsa_type(type) ? OSSL_PKEY_PARAM_RSA_D : OSSL_PKEY_PARAM_PRIV_KEY;
    if (EVP_PKEY_get_bn_param(pk, param, &priv) != 1 || !priv)
      rc = stream__err(STREAM_EINVAL, "key '%s' holds no private %s key", id, type_word(type));
    BN_clear_free(priv);
  }
  if (!rc && !keys__is_private_type(type)) {
    /* a public key keeps nothing private, whatever it was decoded from */
    unsigned char *der = NULL;
    int n = i2d_PUBKEY(pk, &der);
    const unsigned char *p = der;
    EVP_PKEY *pub = n > 0 ? d2i_PUBKEY(NULL, &p, n) : NULL;
    OPENSSL_free(der);
    if (!pub)
      rc = stream__err(STREAM_ECRYPTO, "cannot read the public part of key '%s'", id);
    else {
      EVP_PKEY_free(pk);
      pk = pub;
    }
  }
  ERR_clear_error();
  if (!rc) {
    stream_key *k = NULL;
    rc = keys__alloc(&k, type, id);
    if (!rc) {
      k->pkey = pk;
      k->len = is_rsa_type(type) ? (size_t)EVP_PKEY_get_size(pk) : 32;
      *out = k;
      return STREAM_OK;
    }
  }
  EVP_PKEY_free(pk);
  return rc;
}

/* Decode with OpenSSL's decoders: input "PEM" or "DER", any structure
 * (PKCS#1, SEC1, PKCS#8, SubjectPublicKeyInfo). */
static EVP_PKEY *decode(const void *data, size_t len, const char *input, bool private_key)
{
  EVP_PKEY *pk = NULL;
  int selection = private_key ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
  OSSL_DECODER_CTX *dctx =
      OSSL_DECODER_CTX_new_for_pkey(&pk, input, NULL, NULL, selection, NULL, NULL);
  if (!dctx)
    return NULL;
  const unsigned char *p = data;
  size_t left = len;
  if (OSSL_DECODER_from_data(dctx, &p, &left) != 1) {
    EVP_PKEY_free(pk);
    pk = NULL;
  }
  OSSL_DECODER_CTX_free(dctx);
  return pk;
}

int keys__pkey_from_pem(stream_key **out, int type, const char *id, const char *text, size_t n)
{
  bool priv = keys__is_private_type(type);
  EVP_PKEY *pk = NULL;
  if (!priv && strstr(text, "PRIVATE KEY-----"))
    return stream__err(STREAM_EINVAL,
                       "key '%s': PEM holds a private key; load it as a private key and derive "
                       "the public key with stream_key_public()",
                       id);
  if (strstr(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
      strstr(text, "Proc-Type: 4,ENCRYPTED"))
    return stream__err(STREAM_EINVAL,
                       "key '%s': PEM is encrypted; decrypt it first (no passphrase is asked)", id);
  BIO *bio = BIO_new_mem_buf(text, (int)n);
  if (!bio)
    return stream__err(STREAM_ENOMEM, "out of memory reading PEM");
  /* PEM_read_bio_* skip blocks of other kinds, e.g. the "EC PARAMETERS" block
   * that `openssl ecparam -genkey` writes before "EC PRIVATE KEY". */
  pk = priv ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
            : PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
  BIO_free(bio);
  if (!pk) /* e.g. "RSA PUBLIC KEY" (PKCS#1), which PEM_read_bio_PUBKEY does not read */
    pk = decode(text, n, "PEM", priv);
  ERR_clear_error();
  if (!pk)
    return stream__err(STREAM_EINVAL,
                       "key '%s': PEM block cannot be parsed as an unencrypted %s %s key", id,
                       type_word(type), priv ? "private" : "public");
  return adopt(out, type, id, pk);
}

int keys__pkey_from_der(stream_key **out, int type, const char *id, const void *der, size_t n)
{
  if (n == 0 || n > 16384)
    return stream__err(STREAM_EINVAL, "key '%s': DER is %zu bytes; expected 1..16384", id, n);
  EVP_PKEY *pk = decode(der, n, "DER", keys__is_private_type(type));
  ERR_clear_error();
  if (!pk)
    return stream__err(STREAM_EINVAL, "key '%s': bytes are not a DER %s %s key", id,
                       type_word(type), keys__is_private_type(type) ? "private" : "public");
  return adopt(out, type, id, pk);
}

int keys__pkey_generate(stream_key **out, int type, const char *id)
{
  EVP_PKEY *pk = is_rsa_type(type) ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RSA_BITS_MIN)
                                   : EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  if (!pk) {
    ERR_clear_error();
    return stream__err(STREAM_ECRYPTO, "cannot generate %s key '%s'", type_word(type), id);
  }
  return adopt(out, type, id, pk);
}

int keys__pkey_public(stream_key **out, const stream_key *key)
{
  unsigned char *der = NULL;
  int n = i2d_PUBKEY(key->pkey, &der);
  if (n <= 0) {
    ERR_clear_error();
    return stream__err(STREAM_ECRYPTO, "cannot derive the public key of '%s'", key->id);
  }
  const unsigned char *p = der;
  EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, n);
  OPENSSL_free(der);
  ERR_clear_error();
  if (!pk)
    return stream__err(STREAM_ECRYPTO, "cannot derive the public key of '%s'", key->id);
  int type = is_rsa_type(key->type) ? STREAM_KEY_RSA_PUBLIC : STREAM_KEY_EC_PUBLIC;
  return adopt(out, type, key->id, pk);
}
