/*
 * streamctl sign-url / verify-url: every signed-URL format of stream/sign.h
 * (native HMAC-SHA256; Google Cloud CDN; Google Media CDN signatures and
 * tokens; Amazon CloudFront signed URLs and cookies), with flags in the spirit
 * of `gcloud compute sign-url` and `aws cloudfront sign`.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "streamctl.h"

enum { FMT_NATIVE = 1, FMT_CLOUD = 2, FMT_MEDIA = 3, FMT_CLOUDFRONT = 4 };

static const cli_opt sign_opts[] = {
    {"format", 1, "native|cloud-cdn|media-cdn|cloudfront", "signature format (default native)"},
    {"key-name", 1, "NAME", "key id (native KeyId, Google KeyName, CloudFront Key-Pair-Id)"},
    {"key-file", 1, "FILE", "file holding the key (base64url, or PEM for Ed25519, RSA, ECDSA)"},
    {"key-env", 1, "VAR", "environment variable holding the key (instead of --key-file)"},
    {"expires-in", 1, "DURATION", "validity from now: 90, 30s, 10m, 1h, 2d, 1h30m"},
    {"expires-at", 1, "UNIX", "absolute expiry in Unix seconds (instead of --expires-in)"},
    {"not-before", 1, "UNIX",
     "native NotBefore / Media CDN token Starts / CloudFront DateGreaterThan"},
    {"prefix", 1, "URL",
     "sign this URL prefix instead of the exact URL (cloudfront: the policy "
     "Resource, '*' and '?' wildcards)"},
    {"cookie", 0, NULL, "print a signed cookie for the prefix"},
    {"path-component", 0, NULL,
     "sign a path component (native stream-token, Media CDN edge-cache-token)"},
    {"token", 0, NULL, "media-cdn: print an edge-cache-token"},
    {"ip", 1, "ADDR[/BITS]",
     "native: bind to a client address or CIDR; token: IPRanges; cloudfront: IPv4 IpAddress"},
    {"hash", 1, "sha1|sha256", "cloudfront: hash of the signature (default sha1)"},
    {"custom", 0, NULL, "cloudfront: a custom policy even when a canned one would do"},
    {"hmac", 1, "sha1|sha256", "token: sign with an HMAC key instead of Ed25519"},
    {"full-path", 1, "PATH", "token: FullPath"},
    {"path-globs", 1, "GLOBS", "token: PathGlobs (up to 5, separated by ',' or '!')"},
    {"session-id", 1, "ID", "token: SessionID"},
    {"data", 1, "TEXT", "token: Data"},
    {"header", 2, "NAME=VALUE", "token: a required request header (repeatable)"},
    {NULL, 0, NULL, NULL}};

static const cli_opt verify_opts[] = {
    {"format", 1, "native|cloud-cdn|media-cdn|cloudfront", "signature format (default native)"},
    {"key-name", 1, "NAME", "key id (native KeyId, Google KeyName, CloudFront Key-Pair-Id)"},
    {"key-file", 1, "FILE", "file holding the key"},
    {"key-env", 1, "VAR", "environment variable holding the key (instead of --key-file)"},
    {"key-type", 1, "TYPE",
     "hmac, ed25519-public, ed25519-private, rsa-public, rsa-private, ec-public or ec-private "
     "(default by format)"},
    {"cookie", 1, "VALUE",
     "verify this cookie value (with or without its name) for URL; cloudfront: the Cookie "
     "header"},
    {"token", 0, NULL, "media-cdn: verify the edge-cache-token query parameter of URL"},
    {"token-value", 1, "TOKEN", "media-cdn: verify this token for URL"},
    {"ip", 1, "ADDR", "the client address of the request"},
    {"header", 2, "NAME=VALUE", "a request header (repeatable; for token Headers)"},
    {"now", 1, "UNIX", "verify as of this time (default: now)"},
    {NULL, 0, NULL, NULL}};

static int parse_fmt(const cli_args *a, int *out)
{
  const char *f = cli_get(a, "format");
  if (!f || strcmp(f, "native") == 0)
    *out = FMT_NATIVE;
  else if (strcmp(f, "cloud-cdn") == 0)
    *out = FMT_CLOUD;
  else if (strcmp(f, "media-cdn") == 0)
    *out = FMT_MEDIA;
  else if (strcmp(f, "cloudfront") == 0)
    *out = FMT_CLOUDFRONT;
  else
    return usage_error(a, "--format must be native, cloud-cdn, media-cdn or cloudfront, not '%s'",
                       f);
  return 0;
}

static int check_key_source(const cli_args *a)
{
  if (!cli_get(a, "key-name"))
    return usage_error(a, "--key-name is required");
  int nf = cli_has(a, "key-file"), ne = cli_has(a, "key-env");
  if (nf + ne != 1)
    return usage_error(a, "give exactly one of --key-file FILE and --key-env VAR");
  return 0;
}

static int load_key(const cli_args *a, stream_key **out, stream_key_type type)
{
  const char *name = cli_get(a, "key-name");
  const char *file = cli_get(a, "key-file");
  int rc = file ? stream_key_load_file(out, type, name, file)
                : stream_key_load_env(out, type, name, cli_get(a, "key-env"));
  return rc;
}

/* A ring holding just `key`. */
static int ring_of(const cli_args *a, stream_keyring **ring, const stream_key *key)
{
  int rc = stream_keyring_new(ring);
  if (!rc)
    rc = stream_keyring_add(*ring, key);
  if (rc) {
    stream_keyring_free(*ring);
    *ring = NULL;
    return lib_error(a, "cannot build the key ring", rc);
  }
  return 0;
}

static int get_time(const cli_args *a, const char *name, int64_t *out)
{
  const char *s = cli_get(a, name);
  uint64_t v;
  if (!s)
    return 0;
  if (parse_u64(s, (uint64_t)STREAM_NATIVE_TIME_MAX, &v) || v == 0)
    return usage_error(a, "--%s needs Unix seconds (1..%lld), not '%s'", name,
                       (long long)STREAM_NATIVE_TIME_MAX, s);
  *out = (int64_t)v;
  return 0;
}

static int get_expires(const cli_args *a, int64_t *out)
{
  int in = cli_has(a, "expires-in"), at = cli_has(a, "expires-at");
  if (in + at != 1)
    return usage_error(a, "give exactly one of --expires-in DURATION and --expires-at UNIX");
  if (at)
    return get_time(a, "expires-at", out);
  int64_t d;
  if (parse_duration(cli_get(a, "expires-in"), &d))
    return usage_error(a, "--expires-in: '%s' is not a duration (e.g. 90, 30s, 10m, 1h, 2d)",
                       cli_get(a, "expires-in"));
  *out = now_unix() + d;
  return 0;
}

/* Split the --header values into name and value arrays (pointing into `store`). */
typedef struct headers {
  char store[CLI_MAX_MULTI][512];
  const char *names[CLI_MAX_MULTI];
  const char *values[CLI_MAX_MULTI];
  size_t n;
} headers;

static int split_headers(const cli_args *a, headers *h)
{
  h->n = 0;
  for (int i = 0; i < a->nmulti; i++) {
    const char *s = a->multi[i];
    const char *eq = strchr(s, '=');
    if (!eq || eq == s || strlen(s) >= sizeof h->store[0])
      return usage_error(a, "--header needs NAME=VALUE (under 512 bytes), not '%s'", s);
    memcpy(h->store[i], s, strlen(s) + 1);
    h->store[i][eq - s] = 0;
    h->names[h->n] = h->store[i];
    h->values[h->n] = h->store[i] + (eq - s) + 1;
    h->n++;
  }
  return 0;
}

/* The path of an absolute URL ("/a/b" of "https://h/a/b?q"), in `buf`. */
static int url_path(const char *url, char *buf, size_t cap)
{
  const char *p = strstr(url, "://");
  if (!p)
    return -1;
  p = strchr(p + 3, '/');
  if (!p)
    return -1;
  size_t n = strcspn(p, "?#");
  if (n >= cap)
    return -1;
  memcpy(buf, p, n);
  buf[n] = 0;
  return 0;
}

static int print_result(const cli_args *a, char *out, int rc, const char *what)
{
  if (rc)
    return lib_error(a, what, rc);
  printf("%s\n", out);
  stream_free(out);
  return EXIT_OK;
}

/* ---- sign-url ----------------------------------------------------------- */

/* The signing forms every format shares, chosen by --cookie,
 * --path-component and --prefix; with what to say when one fails. */
enum { FORM_URL, FORM_PREFIX, FORM_COOKIE, FORM_PATH };
static const char *const form_failed[] = {"cannot sign the URL", "cannot sign the URL prefix",
                                          "cannot sign the cookie",
                                          "cannot sign the path component"};

static int sign_form(const cli_args *a, const char *prefix)
{
  if (cli_has(a, "cookie"))
    return FORM_COOKIE;
  if (cli_has(a, "path-component"))
    return FORM_PATH;
  return prefix ? FORM_PREFIX : FORM_URL;
}

static int load_signing_key(const cli_args *a, stream_key **out, stream_key_type type)
{
  int rc = load_key(a, out, type);
  return rc ? lib_error(a, "cannot load the key", rc) : 0;
}

static int sign_native(const cli_args *a, const char *url, const char *prefix, int64_t expires)
{
  if (cli_has(a, "token"))
    return usage_error(a, "--token is for --format media-cdn");
  stream_native_sign_options o = STREAM_NATIVE_SIGN_OPTIONS_INIT;
  o.expires = expires;
  int rc = get_time(a, "not-before", &o.not_before);
  if (rc)
    return rc;
  o.ip = cli_get(a, "ip");
  o.key_id = cli_get(a, "key-name");
  stream_key *key = NULL;
  if ((rc = load_signing_key(a, &key, STREAM_KEY_HMAC)))
    return rc;
  stream_keyring *ring = NULL;
  rc = ring_of(a, &ring, key);
  stream_key_free(key);
  if (rc)
    return rc;
  char *out = NULL;
  int form = sign_form(a, prefix);
  if (form == FORM_COOKIE) {
    rc = stream_sign_native_cookie(&out, ring, prefix, &o);
    if (!rc)
      printf("%s=", STREAM_NATIVE_COOKIE_NAME);
  } else if (form == FORM_PATH)
    rc = stream_sign_native_path(&out, ring, prefix, url ? url + strlen(prefix) : NULL, &o);
  else if (form == FORM_PREFIX)
    rc = stream_sign_native_prefix(&out, ring, url, prefix, &o);
  else
    rc = stream_sign_native_url(&out, ring, url, &o);
  int ret = print_result(a, out, rc, form_failed[form]);
  stream_keyring_free(ring);
  return ret;
}

/* Cloud CDN (HMAC key) or Media CDN (Ed25519 private key) signatures. */
static int sign_google(const cli_args *a, const char *url, const char *prefix, int64_t expires,
                       bool media)
{
  stream_google_sign_options o = STREAM_GOOGLE_SIGN_OPTIONS_INIT;
  o.expires = expires;
  stream_key *key = NULL;
  int rc = load_signing_key(a, &key, media ? STREAM_KEY_ED25519_PRIVATE : STREAM_KEY_HMAC);
  if (rc)
    return rc;
  char *out = NULL;
  int form = sign_form(a, prefix);
  if (form == FORM_COOKIE)
    rc = media ? stream_mediacdn_sign_cookie(&out, key, prefix, &o)
               : stream_cloudcdn_sign_cookie(&out, key, prefix, &o);
  else if (form == FORM_PATH) /* Media CDN only: refused earlier for Cloud CDN */
    rc = stream_mediacdn_sign_path_component(&out, key, prefix, url ? url + strlen(prefix) : NULL,
                                             &o);
  else if (form == FORM_PREFIX)
    rc = media ? stream_mediacdn_sign_prefix(&out, key, url, prefix, &o)
               : stream_cloudcdn_sign_prefix(&out, key, url, prefix, &o);
  else
    rc = media ? stream_mediacdn_sign_url(&out, key, url, &o)
               : stream_cloudcdn_sign_url(&out, key, url, &o);
  int ret = print_result(a, out, rc, form_failed[form]);
  stream_key_free(key);
  return ret;
}

static int sign_cloud(const cli_args *a, const char *url, const char *prefix, int64_t expires)
{
  if (cli_has(a, "ip") || cli_has(a, "not-before") || cli_has(a, "path-component") ||
      cli_has(a, "token"))
    return usage_error(
        a, "Cloud CDN signatures have no --ip, --not-before, --path-component or --token");
  return sign_google(a, url, prefix, expires, false);
}

static int sign_media_token(const cli_args *a, const char *url, const char *prefix, int64_t expires)
{
  stream_mediacdn_token_options o = STREAM_MEDIACDN_TOKEN_OPTIONS_INIT;
  o.expires = expires;
  int rc = get_time(a, "not-before", &o.starts);
  if (rc)
    return rc;
  stream_key_type type = STREAM_KEY_ED25519_PRIVATE;
  const char *hm = cli_get(a, "hmac");
  if (hm) {
    type = STREAM_KEY_HMAC;
    if (strcmp(hm, "sha256") == 0)
      o.hmac = STREAM_MEDIACDN_HMAC_SHA256;
    else if (strcmp(hm, "sha1") == 0)
      o.hmac = STREAM_MEDIACDN_HMAC_SHA1;
    else
      return usage_error(a, "--hmac must be sha1 or sha256, not '%s'", hm);
  }
  char path[4096];
  o.url_prefix = prefix;
  o.full_path = cli_get(a, "full-path");
  o.path_globs = cli_get(a, "path-globs");
  int scopes = !!o.url_prefix + !!o.full_path + !!o.path_globs;
  if (scopes > 1)
    return usage_error(a, "give only one of --prefix, --full-path and --path-globs");
  if (scopes == 0) {
    if (!url || url_path(url, path, sizeof path))
      return usage_error(a, "a token needs --prefix, --full-path, --path-globs or an absolute URL");
    o.full_path = path;
  }
  o.session_id = cli_get(a, "session-id");
  o.data = cli_get(a, "data");
  o.ip_ranges = cli_get(a, "ip");
  headers h;
  if ((rc = split_headers(a, &h)))
    return rc;
  o.header_names = h.names;
  o.header_values = h.values;
  o.header_count = h.n;
  stream_key *key = NULL;
  if ((rc = load_signing_key(a, &key, type)))
    return rc;
  char *tok = NULL;
  rc = stream_mediacdn_token_sign(&tok, key, &o);
  stream_key_free(key);
  if (rc)
    return lib_error(a, "cannot sign the token", rc);
  if (url)
    printf("%s%cedge-cache-token=%s\n", url, strchr(url, '?') ? '&' : '?', tok);
  else
    printf("%s\n", tok);
  stream_free(tok);
  return EXIT_OK;
}

static int sign_media(const cli_args *a, const char *url, const char *prefix, int64_t expires)
{
  if (cli_has(a, "token"))
    return sign_media_token(a, url, prefix, expires);
  if (cli_has(a, "ip") || cli_has(a, "not-before"))
    return usage_error(
        a, "Media CDN signatures have no --ip or --not-before (tokens do: add --token)");
  return sign_google(a, url, prefix, expires, true);
}

/* CloudFront: an RSA or ECDSA private key (PEM; the type is found from the file). */
static int load_cloudfront_key(const cli_args *a, stream_key **out, bool private_key)
{
  stream_key_type types[2] = {private_key ? STREAM_KEY_RSA_PRIVATE : STREAM_KEY_RSA_PUBLIC,
                              private_key ? STREAM_KEY_EC_PRIVATE : STREAM_KEY_EC_PUBLIC};
  int rc = load_key(a, out, types[0]);
  if (rc == STREAM_EINVAL && stream_error_last() &&
      strstr(stream_error_last()->message, "not an RSA key"))
    rc = load_key(a, out, types[1]);
  return rc;
}

static int sign_cloudfront(const cli_args *a, const char *url, const char *prefix, int64_t expires)
{
  if (cli_has(a, "path-component") || cli_has(a, "token"))
    return usage_error(a, "CloudFront signs URLs and cookies: no --path-component or --token");
  stream_cloudfront_sign_options o = STREAM_CLOUDFRONT_SIGN_OPTIONS_INIT;
  o.expires = expires;
  int rc = get_time(a, "not-before", &o.starts);
  if (rc)
    return rc;
  o.ip = cli_get(a, "ip");
  o.custom = cli_has(a, "custom");
  const char *h = cli_get(a, "hash");
  if (!h || strcmp(h, "sha1") == 0)
    o.hash = STREAM_CLOUDFRONT_SHA1;
  else if (strcmp(h, "sha256") == 0)
    o.hash = STREAM_CLOUDFRONT_SHA256;
  else
    return usage_error(a, "--hash must be sha1 or sha256, not '%s'", h);
  bool cookie = cli_has(a, "cookie");
  if (!cookie && !url)
    return usage_error(a, "give the URL to sign; --prefix sets its policy Resource");
  stream_key *key = NULL;
  if ((rc = load_cloudfront_key(a, &key, true)))
    return lib_error(a, "cannot load the RSA or ECDSA private key", rc);
  char *out = NULL;
  if (cookie) {
    rc = stream_cloudfront_sign_cookies(&out, key, prefix, &o);
    if (!rc) { /* one NAME=VALUE line per cookie, already '\n'-terminated */
      fputs(out, stdout);
      stream_free(out);
    }
  } else {
    o.resource = prefix;
    rc = stream_cloudfront_sign_url(&out, key, url, &o);
    if (!rc) {
      printf("%s\n", out);
      stream_free(out);
    }
  }
  stream_key_free(key);
  return rc ? lib_error(a, cookie ? "cannot sign the cookies" : "cannot sign the URL", rc)
            : EXIT_OK;
}

static int run_sign(const cli_args *a)
{
  int fmt = 0, rc;
  if ((rc = parse_fmt(a, &fmt)) || (rc = check_key_source(a)))
    return rc;
  const char *url = a->npos ? a->pos[0] : NULL;
  const char *prefix = cli_get(a, "prefix");
  int cookie = cli_has(a, "cookie"), pathc = cli_has(a, "path-component"),
      token = cli_has(a, "token");
  if (cookie + pathc + token > 1)
    return usage_error(a, "give at most one of --cookie, --path-component and --token");
  if (!token && (cli_has(a, "hmac") || cli_has(a, "full-path") || cli_has(a, "path-globs") ||
                 cli_has(a, "session-id") || cli_has(a, "data") || a->nmulti))
    return usage_error(a, "--hmac, --full-path, --path-globs, --session-id, --data and --header "
                          "are token options (add --token)");
  if (token && fmt != FMT_MEDIA)
    return usage_error(a, "--token is for --format media-cdn");
  if (fmt != FMT_CLOUDFRONT && (cli_has(a, "hash") || cli_has(a, "custom")))
    return usage_error(a, "--hash and --custom are for --format cloudfront");
  if (fmt == FMT_CLOUDFRONT && !cookie) {
    int64_t expires = 0;
    if ((rc = get_expires(a, &expires)))
      return rc;
    return sign_cloudfront(a, url, prefix, expires);
  }
  if (cookie) {
    /* A cookie covers a prefix: --prefix, or the URL given as the prefix. */
    if (prefix && url)
      return usage_error(a, "--cookie signs the prefix only; drop the URL or --prefix");
    if (!prefix)
      prefix = url;
    url = NULL;
    if (!prefix)
      return usage_error(a, "--cookie needs --prefix URL");
  } else if (pathc) {
    /* The prefix is --prefix, or the URL up to its last '/'. */
    static char derived[STREAM_NATIVE_URL_MAX + 1];
    if (!prefix) {
      const char *slash = url ? strrchr(url, '/') : NULL;
      if (!slash || (size_t)(slash - url + 1) > STREAM_NATIVE_URL_MAX)
        return usage_error(a, "--path-component needs --prefix URL/ or a URL");
      memcpy(derived, url, (size_t)(slash - url + 1));
      derived[slash - url + 1] = 0;
      prefix = derived;
    } else if (url && strncmp(url, prefix, strlen(prefix)) != 0) {
      return usage_error(a, "the URL does not start with --prefix");
    }
  } else if (!url && !prefix && !token) {
    return usage_error(a, "give a URL to sign (or --prefix URL)");
  }
  int64_t expires = 0;
  if ((rc = get_expires(a, &expires)))
    return rc;
  switch (fmt) {
  case FMT_NATIVE:
    return sign_native(a, url, prefix, expires);
  case FMT_CLOUD:
    return sign_cloud(a, url, prefix, expires);
  case FMT_CLOUDFRONT:
    return sign_cloudfront(a, url, prefix, expires);
  default:
    return sign_media(a, url, prefix, expires);
  }
}

/* ---- verify-url --------------------------------------------------------- */

static int report(int rc, int reason, const char *key, int64_t expires)
{
  if (rc == STREAM_OK && reason == STREAM_SIGN_VALID) {
    printf("VALID key=%s expires=%lld\n", key, (long long)expires);
    return EXIT_OK;
  }
  const stream_error *e = stream_error_last();
  printf("INVALID: %s", stream_sign_reason_str(reason));
  if (e && e->code == rc && e->message[0])
    printf(" (%s)", e->message);
  printf("\n");
  return EXIT_FAIL;
}

static int parse_key_type(const cli_args *a, stream_key_type dflt, stream_key_type *out,
                          int *explicit_type)
{
  const char *t = cli_get(a, "key-type");
  *explicit_type = t != NULL;
  if (!t)
    *out = dflt;
  else if (strcmp(t, "hmac") == 0)
    *out = STREAM_KEY_HMAC;
  else if (strcmp(t, "ed25519-public") == 0 || strcmp(t, "ed25519") == 0)
    *out = STREAM_KEY_ED25519_PUBLIC;
  else if (strcmp(t, "ed25519-private") == 0)
    *out = STREAM_KEY_ED25519_PRIVATE;
  else if (strcmp(t, "rsa-public") == 0)
    *out = STREAM_KEY_RSA_PUBLIC;
  else if (strcmp(t, "rsa-private") == 0)
    *out = STREAM_KEY_RSA_PRIVATE;
  else if (strcmp(t, "ec-public") == 0 || strcmp(t, "ecdsa-public") == 0)
    *out = STREAM_KEY_EC_PUBLIC;
  else if (strcmp(t, "ec-private") == 0 || strcmp(t, "ecdsa-private") == 0)
    *out = STREAM_KEY_EC_PRIVATE;
  else
    return usage_error(a, "--key-type must be hmac, ed25519-public, ed25519-private, rsa-public, "
                          "rsa-private, ec-public or ec-private");
  return 0;
}

/* Copy `url` without its edge-cache-token query parameter into `dst`; the
 * token (borrowed from `dst`'s second half) goes to *token. */
static int take_token(const char *url, char *dst, size_t cap, char **token)
{
  size_t n = strlen(url);
  if (2 * n + 2 > cap)
    return -1;
  const char *q = strchr(url, '?');
  if (!q)
    return -1;
  char *tok = dst + n + 1;
  size_t o = (size_t)(q - url);
  memcpy(dst, url, o);
  char sep = '?';
  const char *p = q + 1;
  *token = NULL;
  while (*p) {
    size_t len = strcspn(p, "&");
    if (len > 17 && strncmp(p, "edge-cache-token=", 17) == 0 && !*token) {
      memcpy(tok, p + 17, len - 17);
      tok[len - 17] = 0;
      *token = tok;
    } else if (len) {
      dst[o++] = sep;
      sep = '&';
      memcpy(dst + o, p, len);
      o += len;
    }
    p += len;
    if (*p == '&')
      p++;
  }
  dst[o] = 0;
  return *token ? 0 : -1;
}

static int run_verify(const cli_args *a)
{
  int fmt = 0, rc;
  if ((rc = parse_fmt(a, &fmt)) || (rc = check_key_source(a)))
    return rc;
  const char *url = a->pos[0];
  const char *cookie = cli_get(a, "cookie");
  const char *token = cli_get(a, "token-value");
  int want_token = cli_has(a, "token") || token;
  if (want_token && fmt != FMT_MEDIA)
    return usage_error(a, "--token and --token-value are for --format media-cdn");
  if (want_token && cookie)
    return usage_error(a, "give either --cookie or --token");
  int64_t now = 0;
  if ((rc = get_time(a, "now", &now)))
    return rc;
  headers h;
  if ((rc = split_headers(a, &h)))
    return rc;
  stream_key_type dflt = fmt == FMT_MEDIA ? STREAM_KEY_ED25519_PUBLIC : STREAM_KEY_HMAC;
  stream_key_type type = dflt;
  int explicit_type = 0;
  if ((rc = parse_key_type(a, dflt, &type, &explicit_type)))
    return rc;
  stream_key *key = NULL;
  if (fmt == FMT_CLOUDFRONT && !explicit_type) {
    /* a public key PEM, else a private one; RSA or ECDSA, found from the file */
    rc = load_cloudfront_key(a, &key, false);
    if (rc)
      rc = load_cloudfront_key(a, &key, true);
  } else {
    rc = load_key(a, &key, type);
  }
  if (rc && !explicit_type && type == STREAM_KEY_ED25519_PUBLIC)
    rc = load_key(a, &key, STREAM_KEY_ED25519_PRIVATE); /* e.g. a PRIVATE KEY PEM */
  if (rc)
    return lib_error(a, "cannot load the key", rc);
  stream_keyring *ring = NULL;
  rc = ring_of(a, &ring, key);
  stream_key_free(key);
  if (rc)
    return rc;
  const char *name = cli_get(a, "key-name");
  const char *ip = cli_get(a, "ip");
  int ret;
  if (fmt == FMT_NATIVE) {
    stream_native_result res;
    const char *cv = cookie;
    size_t cn = strlen(STREAM_NATIVE_COOKIE_NAME);
    if (cv && strncmp(cv, STREAM_NATIVE_COOKIE_NAME, cn) == 0 && cv[cn] == '=')
      cv += cn + 1;
    if (cookie)
      rc = stream_sign_native_verify_cookie(&res, ring, url, cv, ip, now, NULL);
    else
      rc = stream_sign_native_verify(&res, ring, url, ip, now, NULL);
    ret = report(rc, res.reason, res.key_id, res.expires);
  } else if (fmt == FMT_CLOUDFRONT) {
    stream_cloudfront_verification res;
    stream_cloudfront_request req = STREAM_CLOUDFRONT_REQUEST_INIT;
    req.url = url;
    req.client_ip = ip;
    req.now = now;
    rc = cookie ? stream_cloudfront_verify_cookies(&res, ring, cookie, &req)
                : stream_cloudfront_verify_url(&res, ring, &req);
    ret = report(rc, res.reason, res.key_pair_id, res.expires);
  } else {
    stream_google_verification res;
    memset(&res, 0, sizeof res);
    stream_google_request req = STREAM_GOOGLE_REQUEST_INIT;
    req.url = url;
    req.client_ip = ip;
    req.now = now;
    req.header_names = h.names;
    req.header_values = h.values;
    req.header_count = h.n;
    req.key_names = &name;
    req.key_name_count = 1;
    char *buf = NULL;
    if (want_token && !token) {
      size_t cap = 2 * strlen(url) + 2;
      char *tok = NULL;
      buf = malloc(cap);
      if (!buf || take_token(url, buf, cap, &tok)) {
        free(buf);
        stream_keyring_free(ring);
        printf("INVALID: %s (no edge-cache-token query parameter in the URL)\n",
               stream_sign_reason_str(STREAM_SIGN_MISSING));
        return EXIT_FAIL;
      }
      req.url = buf;
      token = tok;
    }
    if (want_token)
      rc = stream_mediacdn_token_verify(&res, ring, token, &req);
    else if (fmt == FMT_CLOUD)
      rc = cookie ? stream_cloudcdn_verify_cookie(&res, ring, cookie, &req)
                  : stream_cloudcdn_verify_url(&res, ring, &req);
    else
      rc = cookie ? stream_mediacdn_verify_cookie(&res, ring, cookie, &req)
                  : stream_mediacdn_verify_url(&res, ring, &req);
    ret = report(rc, res.reason, res.key_name, res.expires);
    free(buf);
  }
  stream_keyring_free(ring);
  return ret;
}

const cli_verb verb_sign_url = {
    "sign-url",
    "Sign a URL, URL prefix, cookie, path component or token.",
    "sign-url [URL] --key-name NAME (--key-file FILE | --key-env VAR)\n"
    "         (--expires-in DURATION | --expires-at UNIX)\n"
    "         [--format native|cloud-cdn|media-cdn|cloudfront]\n"
    "         [--prefix URL] [--cookie | --path-component | --token] [--ip ADDR] ...",
    "Forms by format:\n"
    "  native     URL; --prefix [URL]; --cookie --prefix; --path-component (HMAC-SHA256 key)\n"
    "  cloud-cdn  URL; --prefix [URL]; --cookie --prefix                 (HMAC key, 16 bytes)\n"
    "  media-cdn  URL; --prefix [URL]; --cookie --prefix; --path-component (Ed25519 private key)\n"
    "             --token [URL] with --prefix | --full-path | --path-globs (Ed25519, or HMAC\n"
    "             with --hmac sha1|sha256)\n"
    "  cloudfront URL [--prefix RESOURCE]; --cookie --prefix RESOURCE (RSA or ECDSA private\n"
    "             key PEM; --key-name is the Key-Pair-Id). Canned policy, or a custom one\n"
    "             with --not-before, --ip A.B.C.D[/N], a RESOURCE other than the URL or with\n"
    "             '*', or --custom. --hash sha256 adds Hash-Algorithm=SHA256. Cookies are\n"
    "             printed one CloudFront-NAME=VALUE per line (one Set-Cookie header each).\n"
    "With --path-component the prefix is --prefix, or the URL up to its last '/'; the rest of\n"
    "the URL follows the signed component. With --token and a URL, the URL is printed with\n"
    "?edge-cache-token=TOKEN appended; without --prefix/--full-path/--path-globs the URL's\n"
    "path becomes the token's FullPath. Cookies are printed as NAME=VALUE.\n"
    "Example:\n"
    "  streamctl sign-url https://cdn.example.com/v/a.mp4 --format cloud-cdn \\\n"
    "      --key-name my-key --key-file key.b64 --expires-in 1h\n"
    "  streamctl sign-url --format cloudfront --cookie \\\n"
    "      --prefix 'https://d111111abcdef8.cloudfront.net/v/abc/*' \\\n"
    "      --key-name K2JCJMDEHXQW5F --key-file cf_private.pem --expires-in 6h\n",
    sign_opts,
    0,
    1,
    run_sign};

const cli_verb verb_verify_url = {
    "verify-url",
    "Verify a signed URL, cookie or token; print VALID or the reason.",
    "verify-url URL --key-name NAME (--key-file FILE | --key-env VAR)\n"
    "         [--format native|cloud-cdn|media-cdn|cloudfront]\n"
    "         [--cookie VALUE | --token | --token-value T]\n"
    "         [--ip ADDR] [--header NAME=VALUE]... [--now UNIX]",
    "Prints 'VALID key=NAME expires=UNIX' and exits 0, or 'INVALID: <reason> (<detail>)'\n"
    "and exits 1 (expired, not yet valid, bad signature, unknown key, malformed,\n"
    "outside prefix, IP mismatch, missing). For media-cdn the key is read as an Ed25519\n"
    "public key (a PRIVATE KEY PEM is also accepted); use --key-type for a raw private\n"
    "seed or an HMAC token key. For cloudfront the key is an RSA or ECDSA public key PEM (a\n"
    "private key PEM is also accepted), --key-name the Key-Pair-Id, and --cookie the Cookie\n"
    "header (CloudFront-Policy or -Expires, -Signature, -Key-Pair-Id[, -Hash-Algorithm]).\n",
    verify_opts,
    1,
    1,
    run_verify};
