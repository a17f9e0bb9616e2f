/* Cross-check of the CloudFront format against AWS's own implementation,
 * @aws-sdk/cloudfront-signer (pinned in cloudfront_sdk/package-lock.json, run
 * by node through cloudfront_sdk/run_sdk.sh, which fails when node is missing).
 * For the same RSA key, URL, times, IP and resource, our signed URLs and
 * cookies must equal the SDK's byte for byte (RSA PKCS#1 v1.5 is
 * deterministic), canned and custom, SHA-1 and SHA-256; our verifier must
 * accept every SDK output, also ECDSA (random, so not comparable byte for
 * byte); and node's crypto.verify must accept our ECDSA and SHA-256
 * signatures. Usage: test_sign_cloudfront_sdk PATH/TO/sdk.mjs */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "../keys/pem_fixtures.h"
#include "stream/sign.h"

#define KID "K2JCJMDEHXQW5F"
#define EXP 2000000000
#define NOW 1999999999

static int failures;
#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      failures++;                                                                                  \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                         \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
    }                                                                                              \
  } while (0)

static char dir[] = "/tmp/cf-sdk-XXXXXX";

static char *write_file(const char *name, const char *text)
{
  static char paths[8][256];
  static int used;
  char *p = paths[used++];
  snprintf(p, 256, "%s/%s", dir, name);
  FILE *f = fopen(p, "w");
  if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
    perror(p);
    exit(1);
  }
  return p;
}

typedef struct tcase {
  const char *name;
  int cookies;
  const char *url; /* URL, or the cookie resource */
  int64_t starts;
  const char *ip;
  const char *resource; /* URL policy Resource (the SDK gets a policy built by JSON.stringify) */
  int sha256;
  int ec; /* ECDSA: not deterministic; the SDK's output is verified, not compared */
} tcase;

static const tcase cases[] = {
    {"canned URL", 0, "https://d111111abcdef8.cloudfront.net/v/abc/master.m3u8", 0, NULL, NULL, 0,
     0},
    {"canned URL with query", 0,
     "https://d111111abcdef8.cloudfront.net/images/image.jpg?color=red&size=medium", 0, NULL, NULL,
     0, 0},
    {"canned URL, SHA-256", 0, "https://d111111abcdef8.cloudfront.net/v/abc/master.m3u8", 0, NULL,
     NULL, 1, 0},
    {"custom URL: start and CIDR", 0, "https://d111111abcdef8.cloudfront.net/v/abc/720p.m3u8",
     1900000000, "203.0.113.0/24", NULL, 0, 0},
    {"custom URL: bare IP becomes /32, SHA-256", 0, "http://www.example.com/a/b.ts?x=1", 0,
     "203.0.113.7", NULL, 1, 0},
    {"custom URL: wildcard Resource", 0, "https://d111111abcdef8.cloudfront.net/v/abc/master.m3u8",
     0, NULL, "https://d111111abcdef8.cloudfront.net/v/abc/*", 0, 0},
    {"canned cookies", 1, "https://d111111abcdef8.cloudfront.net/v/abc/master.m3u8", 0, NULL, NULL,
     0, 0},
    {"custom cookies: per-title prefix", 1, "https://d111111abcdef8.cloudfront.net/v/abc/*",
     1900000000, NULL, NULL, 0, 0},
    {"custom cookies: prefix, IP, SHA-256", 1, "https://d111111abcdef8.cloudfront.net/v/abc/*",
     1900000000, "203.0.113.0/24", NULL, 1, 0},
    {"ECDSA canned URL", 0, "https://d111111abcdef8.cloudfront.net/v/abc/master.m3u8", 0, NULL,
     NULL, 0, 1},
    {"ECDSA custom cookies, SHA-256", 1, "https://d111111abcdef8.cloudfront.net/v/abc/*",
     1900000000, "203.0.113.0/24", NULL, 1, 1},
};
#define NCASES (sizeof cases / sizeof *cases)

/* A URL under the case's scope, for verification. */
static const char *request_url(const tcase *c)
{
  return strchr(c->url, '*') ? "https://d111111abcdef8.cloudfront.net/v/abc/720p/seg_001.ts"
                             : c->url;
}

static char *ours(const tcase *c, const stream_key *key)
{
  stream_cloudfront_sign_options o = STREAM_CLOUDFRONT_SIGN_OPTIONS_INIT;
  o.expires = EXP;
  o.starts = c->starts;
  o.ip = c->ip;
  o.resource = c->resource;
  o.hash = c->sha256 ? STREAM_CLOUDFRONT_SHA256 : STREAM_CLOUDFRONT_SHA1;
  char *out = NULL;
  int rc = c->cookies ? stream_cloudfront_sign_cookies(&out, key, c->url, &o)
                      : stream_cloudfront_sign_url(&out, key, c->url, &o);
  if (rc) {
    fprintf(stderr, "%s: libstream cannot sign: %s\n", c->name, stream_error_last()->message);
    exit(1);
  }
  return out;
}

/* Cookie lines "A=x\nB=y\n" -> JSON object text {"A":"x","B":"y"} (values are [A-Za-z0-9_~-]). */
static cJSON *cookie_lines_json(const char *lines)
{
  cJSON *o = cJSON_CreateObject();
  char *copy = strdup(lines), *save = NULL;
  for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
    char *eq = strchr(l, '=');
    *eq = '\0';
    cJSON_AddStringToObject(o, l, eq + 1);
  }
  free(copy);
  return o;
}

/* A cookie value of the SDK's answer as text (CloudFront-Expires is a number there). */
static const char *value_text(const cJSON *v)
{
  static char num[32];
  if (cJSON_IsString(v))
    return v->valuestring;
  if (cJSON_IsNumber(v)) {
    snprintf(num, sizeof num, "%lld", (long long)v->valuedouble);
    return num;
  }
  return "(not a string or number)";
}

/* SDK cookies object -> a Cookie header value. */
static char *cookie_header(const cJSON *obj)
{
  size_t cap = 8192, n = 0;
  char *s = calloc(1, cap);
  for (const cJSON *c = obj->child; c; c = c->next)
    n += (size_t)snprintf(s + n, cap - n, "%s%s=%s", n ? "; " : "", c->string, value_text(c));
  return s;
}

/* The policy a signature covers: decoded Policy, or the canned JSON. */
static char *signed_policy(const char *resource, const char *policy_b64)
{
  char *out = calloc(1, 8192);
  if (!policy_b64) {
    snprintf(out, 8192,
             "{\"Statement\":[{\"Resource\":\"%s\",\"Condition\":{\"DateLessThan\":{\"AWS:"
             "EpochTime\":%d}}}]}",
             resource, EXP);
    return out;
  }
  char *t = strdup(policy_b64);
  for (char *p = t; *p; p++)
    *p = *p == '-' ? '+' : *p == '_' ? '=' : *p == '~' ? '/' : *p;
  unsigned char *raw = NULL;
  size_t rl = 0;
  if (stream_base64_decode(&raw, &rl, t, strlen(t), STREAM_B64_STD) == STREAM_OK) {
    memcpy(out, raw, rl < 8191 ? rl : 8191);
    stream_free(raw);
  }
  free(t);
  return out;
}

static char *param(const char *s, const char *name, char sep)
{
  size_t nl = strlen(name);
  for (const char *p = s; (p = strstr(p, name)) != NULL; p++)
    if ((p == s || p[-1] == '?' || p[-1] == sep) && p[nl] == '=') {
      size_t n = strcspn(p + nl + 1, sep == '&' ? "&" : "\n");
      return strndup(p + nl + 1, n);
    }
  return NULL;
}

int main(int argc, char **argv)
{
  if (argc != 2) {
    fprintf(stderr, "usage: %s PATH/TO/sdk.mjs\n", argv[0]);
    return 2;
  }
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  const char *rsa_file = write_file("rsa.pem", PEM_RSA_PKCS1);
  const char *ec_file = write_file("ec.pem", PEM_EC_SEC1);
  const char *rsa_pub = write_file("rsa_pub.pem", PEM_RSA_PUB);
  const char *ec_pub = write_file("ec_pub.pem", PEM_EC_PUB);
  stream_key *rsa = NULL, *ec = NULL;
  if (stream_key_from_text(&rsa, STREAM_KEY_RSA_PRIVATE, KID, PEM_RSA_PKCS1) ||
      stream_key_from_text(&ec, STREAM_KEY_EC_PRIVATE, KID, PEM_EC_SEC1)) {
    fprintf(stderr, "cannot load the fixture keys\n");
    return 1;
  }

  /* libstream's outputs, and the request for the SDK */
  char *mine[NCASES];
  cJSON *req = cJSON_CreateObject(), *sign = cJSON_AddArrayToObject(req, "sign"),
        *ver = cJSON_AddArrayToObject(req, "verify");
  for (size_t i = 0; i < NCASES; i++) {
    const tcase *c = &cases[i];
    mine[i] = ours(c, c->ec ? ec : rsa);
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "kind", c->cookies ? "cookies" : "url");
    cJSON_AddStringToObject(s, "url", c->url);
    cJSON_AddStringToObject(s, "keyPairId", KID);
    cJSON_AddStringToObject(s, "keyFile", c->ec ? ec_file : rsa_file);
    cJSON_AddNumberToObject(s, "dateLessThan", EXP);
    if (c->starts)
      cJSON_AddNumberToObject(s, "dateGreaterThan", (double)c->starts);
    if (c->ip)
      cJSON_AddStringToObject(s, "ipAddress", c->ip);
    if (c->resource)
      cJSON_AddStringToObject(s, "policyResource", c->resource);
    if (c->sha256)
      cJSON_AddStringToObject(s, "algorithm", "SHA256");
    cJSON_AddItemToArray(sign, s);
    /* node's crypto.verify on our signature */
    char sep = c->cookies ? '\n' : '&';
    const char *pre = c->cookies ? "CloudFront-" : "";
    char name[64];
    snprintf(name, sizeof name, "%sPolicy", pre);
    char *pol = param(mine[i], name, sep);
    snprintf(name, sizeof name, "%sSignature", pre);
    char *sig = param(mine[i], name, sep);
    char *data = signed_policy(c->url, pol);
    cJSON *v = cJSON_CreateObject();
    cJSON_AddStringToObject(v, "keyFile", c->ec ? ec_pub : rsa_pub);
    cJSON_AddStringToObject(v, "data", data);
    cJSON_AddStringToObject(v, "signature", sig ? sig : "");
    cJSON_AddStringToObject(v, "algorithm", c->sha256 ? "SHA256" : "SHA1");
    cJSON_AddItemToArray(ver, v);
    free(pol);
    free(sig);
    free(data);
  }
  char *req_text = cJSON_PrintUnformatted(req);
  const char *req_file = write_file("request.json", req_text);
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "node '%s' < '%s'", argv[1], req_file);
  FILE *p = popen(cmd, "r");
  size_t cap = 1 << 20, n = 0;
  char *answer = calloc(1, cap);
  while (p && n < cap - 1) {
    size_t got = fread(answer + n, 1, cap - 1 - n, p);
    if (got == 0)
      break;
    n += got;
  }
  int status = p ? pclose(p) : -1;
  if (status != 0 || n == 0) {
    fprintf(stderr, "running the SDK failed (status %d): %s\n", status, cmd);
    return 1;
  }
  cJSON *ans = cJSON_Parse(answer);
  const cJSON *sdk = cJSON_GetObjectItem(ans, "sign"), *nv = cJSON_GetObjectItem(ans, "verify");
  if (!cJSON_IsArray(sdk) || cJSON_GetArraySize(sdk) != (int)NCASES || !cJSON_IsArray(nv)) {
    fprintf(stderr, "unexpected SDK answer: %s\n", answer);
    return 1;
  }

  stream_keyring *ring = NULL;
  stream_key *rsa_p = NULL, *ec_p = NULL;
  stream_keyring_new(&ring);
  stream_key_from_text(&rsa_p, STREAM_KEY_RSA_PUBLIC, KID, PEM_RSA_PUB);
  stream_key_from_text(&ec_p, STREAM_KEY_EC_PUBLIC, "K2JCJMDEHXQW5E", PEM_EC_PUB);
  stream_keyring_add(ring, rsa_p);
  stream_keyring *ec_ring = NULL;
  stream_keyring_new(&ec_ring);
  stream_key *ec_p2 = NULL;
  stream_key_from_text(&ec_p2, STREAM_KEY_EC_PUBLIC, KID, PEM_EC_PUB);
  stream_keyring_add(ec_ring, ec_p2);

  for (size_t i = 0; i < NCASES; i++) {
    const tcase *c = &cases[i];
    const cJSON *theirs = cJSON_GetArrayItem(sdk, (int)i);
    int failures_before = failures;
    stream_cloudfront_request q = STREAM_CLOUDFRONT_REQUEST_INIT;
    q.now = NOW;
    q.client_ip = "203.0.113.7";
    stream_cloudfront_verification v;
    int rc;
    if (!c->cookies) {
      CHECK(cJSON_IsString(theirs), "%s: SDK gave no URL", c->name);
      if (!cJSON_IsString(theirs))
        continue;
      if (!c->ec)
        CHECK(strcmp(mine[i], theirs->valuestring) == 0,
              "%s: differs from the SDK\n  ours: %s\n  sdk:  %s", c->name, mine[i],
              theirs->valuestring);
      q.url = theirs->valuestring;
      if (c->resource) { /* the SDK's query on another URL under the Resource */
        static char other[8192];
        snprintf(other, sizeof other, "%s%s",
                 "https://d111111abcdef8.cloudfront.net/v/abc/720p/index.m3u8",
                 strchr(theirs->valuestring, '?'));
        q.url = other;
      }
      rc = stream_cloudfront_verify_url(&v, c->ec ? ec_ring : ring, &q);
    } else {
      CHECK(cJSON_IsObject(theirs), "%s: SDK gave no cookies", c->name);
      if (!cJSON_IsObject(theirs))
        continue;
      cJSON *mj = cookie_lines_json(mine[i]);
      if (!c->ec) {
        char *a = cJSON_PrintUnformatted(mj);
        /* same names and values (the order of cookies does not matter) */
        CHECK(cJSON_GetArraySize(mj) == cJSON_GetArraySize(theirs), "%s: cookie count", c->name);
        for (const cJSON *t = theirs->child; t; t = t->next) {
          const cJSON *m = cJSON_GetObjectItemCaseSensitive(mj, t->string);
          CHECK(m && strcmp(m->valuestring, value_text(t)) == 0,
                "%s: cookie %s differs\n  ours: %s\n  sdk:  %s", c->name, t->string, a,
                cJSON_PrintUnformatted(theirs));
        }
        free(a);
      }
      cJSON_Delete(mj);
      char *hdr = cookie_header(theirs);
      q.url = request_url(c);
      rc = stream_cloudfront_verify_cookies(&v, c->ec ? ec_ring : ring, hdr, &q);
      free(hdr);
    }
    CHECK(rc == STREAM_OK && v.reason == STREAM_SIGN_VALID,
          "%s: our verifier refuses the SDK's output: %s", c->name,
          rc ? stream_error_last()->message : "");
    CHECK(v.hash == (c->sha256 ? STREAM_CLOUDFRONT_SHA256 : STREAM_CLOUDFRONT_SHA1), "%s: hash %d",
          c->name, v.hash);
    const cJSON *ok = cJSON_GetArrayItem(nv, (int)i);
    CHECK(cJSON_IsTrue(ok), "%s: node crypto.verify refuses our signature", c->name);
    printf("%s - %s%s\n", failures == failures_before ? "ok" : "not ok", c->name,
           c->ec ? " (SDK output verified; ours verified by node)" : " (byte for byte)");
  }
  for (size_t i = 0; i < NCASES; i++)
    stream_free(mine[i]);
  stream_keyring_free(ring);
  stream_keyring_free(ec_ring);
  stream_key_free(rsa);
  stream_key_free(ec);
  stream_key_free(rsa_p);
  stream_key_free(ec_p);
  stream_key_free(ec_p2);
  cJSON_Delete(req);
  cJSON_Delete(ans);
  free(req_text);
  free(answer);
  char rm[300];
  snprintf(rm, sizeof rm, "rm -rf '%s'", dir);
  if (system(rm) != 0)
    fprintf(stderr, "cannot remove %s\n", dir);
  if (failures)
    fprintf(stderr, "%d check(s) failed\n", failures);
  return failures ? 1 : 0;
}
