/*
 * streamctl keygen: generate an HMAC secret, or an Ed25519, RSA 2048 or ECDSA
 * P-256 key pair (the last two for Amazon CloudFront). The
 * secret goes to a new file with mode 0600 and reaches stdout only when the
 * operator asks for it explicitly with `--out -`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamctl.h"

static const cli_opt keygen_opts[] = {
    {"type", 1, "hmac|ed25519|rsa|ecdsa", "key type (default hmac; rsa, ecdsa: CloudFront)"},
    {"bytes", 1, "N", "HMAC secret length, 16..128 bytes (default 32; Cloud CDN uses 16)"},
    {"out", 1, "FILE", "write the secret to FILE (mode 0600); '-' prints it to stdout"},
    {"format", 1, "base64url|pem",
     "secret file format (default base64url; pem: not HMAC; rsa, ecdsa: pem only)"},
    {"public-out", 1, "FILE", "key pairs: write the public key to FILE (mode 0644) or '-'"},
    {"public-format", 1, "base64url|pem",
     "public key format (default base64url; rsa, ecdsa: pem, what CloudFront takes)"},
    {"id", 1, "ID", "key id / key name reported on stderr (default 'key')"},
    {"force", 0, NULL, "replace existing files"},
    {NULL, 0, NULL, NULL}};

static int parse_format(const char *s, stream_key_format *out)
{
  if (!s || strcmp(s, "base64url") == 0)
    *out = STREAM_KEY_FORMAT_BASE64URL;
  else if (strcmp(s, "pem") == 0)
    *out = STREAM_KEY_FORMAT_PEM;
  else
    return -1;
  return 0;
}

/* Export `key` and write it to `path` ("-" = stdout). */
static int emit(const cli_args *a, const stream_key *key, stream_key_format fmt, const char *path,
                unsigned int mode, int secret)
{
  char *txt = NULL;
  int rc = stream_key_export(&txt, key, fmt);
  if (rc)
    return lib_error(a, "cannot export the key", rc);
  size_t n = strlen(txt);
  int ret = 0;
  if (strcmp(path, "-") == 0) {
    fputs(txt, stdout);
    if (n == 0 || txt[n - 1] != '\n')
      fputc('\n', stdout);
    fflush(stdout);
  } else {
    /* Key files hold the text plus a newline (PEM already ends in one). */
    char *buf = malloc(n + 2);
    if (!buf) {
      fprintf(stderr, "streamctl keygen: out of memory\n");
      ret = EXIT_FAIL;
    } else {
      memcpy(buf, txt, n);
      size_t m = n;
      if (n == 0 || txt[n - 1] != '\n')
        buf[m++] = '\n';
      ret = write_new_file(a, path, buf, m, mode, cli_has(a, "force"));
      explicit_bzero(buf, n + 2);
      free(buf);
    }
  }
  if (secret)
    stream_free_secret(txt, n);
  else
    stream_free(txt);
  return ret;
}

static int run_keygen(const cli_args *a)
{
  const char *type_s = cli_get(a, "type");
  const char *out = cli_get(a, "out");
  const char *pub_out = cli_get(a, "public-out");
  const char *id = cli_get(a, "id");
  stream_key_type type;
  if (!type_s || strcmp(type_s, "hmac") == 0)
    type = STREAM_KEY_HMAC;
  else if (strcmp(type_s, "ed25519") == 0)
    type = STREAM_KEY_ED25519_PRIVATE;
  else if (strcmp(type_s, "rsa") == 0)
    type = STREAM_KEY_RSA_PRIVATE;
  else if (strcmp(type_s, "ecdsa") == 0 || strcmp(type_s, "ec") == 0)
    type = STREAM_KEY_EC_PRIVATE;
  else
    return usage_error(a, "--type must be hmac, ed25519, rsa or ecdsa, not '%s'", type_s);
  int pem_only = type == STREAM_KEY_RSA_PRIVATE || type == STREAM_KEY_EC_PRIVATE;
  stream_key_format fmt, pub_fmt;
  if (parse_format(cli_get(a, "format"), &fmt))
    return usage_error(a, "--format must be base64url or pem");
  if (parse_format(cli_get(a, "public-format"), &pub_fmt))
    return usage_error(a, "--public-format must be base64url or pem");
  if (pem_only) {
    if ((cli_has(a, "format") && fmt != STREAM_KEY_FORMAT_PEM) ||
        (cli_has(a, "public-format") && pub_fmt != STREAM_KEY_FORMAT_PEM))
      return usage_error(a, "RSA and ECDSA keys are written as PEM only");
    fmt = pub_fmt = STREAM_KEY_FORMAT_PEM;
  }
  if (!out)
    return usage_error(a, "--out FILE is required (use '--out -' to print the secret to stdout)");
  uint64_t bytes = 32;
  if (cli_has(a, "bytes")) {
    if (type != STREAM_KEY_HMAC)
      return usage_error(a, "--bytes applies to HMAC keys only");
    if (parse_u64(cli_get(a, "bytes"), 1024, &bytes) || bytes < STREAM_KEY_HMAC_MIN ||
        bytes > STREAM_KEY_HMAC_MAX)
      return usage_error(a, "--bytes must be %d..%d", STREAM_KEY_HMAC_MIN, STREAM_KEY_HMAC_MAX);
  }
  if (type == STREAM_KEY_HMAC && (pub_out || cli_has(a, "public-format")))
    return usage_error(a, "--public-out and --public-format apply to Ed25519 keys only");
  if (type == STREAM_KEY_HMAC && fmt == STREAM_KEY_FORMAT_PEM)
    return usage_error(a, "HMAC secrets have no PEM form; use --format base64url");
  if (pub_out && strcmp(out, "-") == 0 && strcmp(pub_out, "-") == 0)
    return usage_error(a, "--out and --public-out cannot both be '-'");

  stream_key *key = NULL;
  int rc = stream_key_generate(&key, type, id ? id : "key", (size_t)bytes);
  if (rc)
    return lib_error(a, "cannot generate the key", rc);
  int ret = emit(a, key, fmt, out, 0600, 1);
  if (!ret && type != STREAM_KEY_HMAC) {
    stream_key *pub = NULL;
    rc = stream_key_public(&pub, key);
    if (rc)
      ret = lib_error(a, "cannot derive the public key", rc);
    else
      ret = emit(a, pub, pub_fmt, pub_out ? pub_out : "-", 0644, 0);
    stream_key_free(pub);
  }
  if (!ret) {
    if (type == STREAM_KEY_HMAC)
      fprintf(stderr, "streamctl keygen: HMAC key '%s' (%u bytes) written to %s\n",
              stream_key_id(key), (unsigned)bytes, strcmp(out, "-") ? out : "stdout");
    else
      fprintf(stderr,
              "streamctl keygen: %s key '%s': private key written to %s, public key to %s\n",
              type == STREAM_KEY_ED25519_PRIVATE ? "Ed25519"
              : type == STREAM_KEY_RSA_PRIVATE   ? "RSA 2048"
                                                 : "ECDSA P-256",
              stream_key_id(key), strcmp(out, "-") ? out : "stdout",
              pub_out && strcmp(pub_out, "-") ? pub_out : "stdout");
  }
  stream_key_free(key);
  return ret;
}

const cli_verb verb_keygen = {
    "keygen",
    "Generate an HMAC secret or an Ed25519, RSA or ECDSA key pair.",
    "keygen [--type hmac|ed25519|rsa|ecdsa] [--bytes N] --out FILE|- [--public-out FILE|-] [--id "
    "ID] "
    "[--force]",
    "The secret is written to a new file created with mode 0600; an existing file is\n"
    "kept unless --force is given. The secret is printed to stdout only with '--out -'.\n"
    "For key pairs the public key goes to --public-out, or to stdout when that is absent\n"
    "(after the secret when '--out -' is used). Key files hold base64url text (what\n"
    "gcloud key files and Media CDN keysets use) or PEM, followed by a newline.\n"
    "rsa (2048 bits) and ecdsa (P-256) are the key pairs Amazon CloudFront takes: upload\n"
    "the public PEM (SubjectPublicKeyInfo) to CloudFront and sign with the private PEM\n"
    "(PKCS#8) and the public key id CloudFront assigns, e.g. --id K2JCJMDEHXQW5F.\n"
    "The id is only reported; key ids are given again when the key is used.\n",
    keygen_opts,
    0,
    0,
    run_keygen};
