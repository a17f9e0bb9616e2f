/*
 * The emitter's HTTP exchange (declared in emitter_internal.h): one POST of a
 * batch to /v1/events, and the verdict on the answer. Only the ingest's own
 * answer acknowledges a batch: a 2xx whose body is the JSON object streamd's
 * routes_events.c sends ({"accepted":N,"duplicates":M}; N is 0 for a batch of
 * duplicates only). A captive portal or a misconfigured proxy answers 200
 * text/html (or 302 to its login page) to everything; taking that for an
 * acknowledgement would lose the batch, so it is retried like a network error.
 * Likewise only a 4xx that is the ingest's problem+json refuses a batch for
 * good; a portal's 404 page is retried. 401 and 403 are about the token
 * (retried until a new one works), except a 403 whose problem type is
 * event-profile-forbidden: an event of the batch names a profile the token
 * may not name (one deleted since, or the profile before a switch), which no
 * token will change, so that batch is refused for good.
 * Redirects are not followed: the events (and the bearer token) go to the
 * configured server only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "../core/core.h"
#include "emitter_internal.h"

#define RETRY_AFTER_MAX_MS 3600000LL
/* streamd's 403 that refuses the batch rather than the token (problem.c). */
#define PROBLEM_EVENT_PROFILE "urn:libstream:problem:event-profile-forbidden"

typedef struct post_ctx {
  emitter__post *p;
  char body[512]; /* the ingest's answer is far shorter: a longer body is not it */
  size_t len;
  bool cut;
  bool problem; /* Content-Type: application/problem+json, as every 4xx of streamd */
} post_ctx;

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
  post_ctx *c = ud;
  size_t len = size * n;
  if (len > 13 && strncasecmp(buf, "Content-Type:", 13) == 0) {
    size_t i = 13;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
      i++;
    c->problem = len - i >= 24 && strncasecmp(buf + i, "application/problem+json", 24) == 0;
  }
  if (len > 12 && strncasecmp(buf, "Retry-After:", 12) == 0) {
    char tmp[64];
    size_t k = len - 12 < sizeof tmp - 1 ? len - 12 : sizeof tmp - 1;
    memcpy(tmp, buf + 12, k);
    tmp[k] = '\0';
    char *end;
    long long s = strtoll(tmp, &end, 10);
    if (end != tmp && s >= 0) /* s * 1000 may overflow: compare before multiplying */
      c->p->retry_after_ms = s > RETRY_AFTER_MAX_MS / 1000 ? RETRY_AFTER_MAX_MS : s * 1000;
  }
  return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
  post_ctx *c = ud;
  size_t len = size * n, room = sizeof c->body - 1 - c->len;
  size_t k = len < room ? len : room;
  memcpy(c->body + c->len, buf, k);
  c->len += k;
  c->body[c->len] = '\0';
  if (k < len)
    c->cut = true;
  return len;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t cc, curl_off_t d)
{
  (void)a;
  (void)b;
  (void)cc;
  (void)d;
  const emitter__post *p = ud;
  return p->should_abort && p->should_abort(p->userdata) ? 1 : 0;
}

/* Whether `body` is the ingest's answer; its duplicates in *dups. */
static bool ingest_answer(const char *body, uint64_t *dups)
{
  cJSON *j = cJSON_ParseWithOpts(body, NULL, 1); /* nothing but the object (and spaces) */
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "accepted");
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "duplicates");
  bool ok = cJSON_IsObject(j) && cJSON_IsNumber(a) && isfinite(a->valuedouble) &&
            a->valuedouble >= 0 && (!d || cJSON_IsNumber(d));
  if (ok && d && isfinite(d->valuedouble) && d->valuedouble >= 0 && d->valuedouble < 1e18)
    *dups = (uint64_t)d->valuedouble;
  cJSON_Delete(j);
  return ok;
}

/* Whether `body` is a problem object whose "type" is `type`. */
static bool problem_type_is(const char *body, const char *type)
{
  cJSON *j = cJSON_ParseWithOpts(body, NULL, 1);
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "type");
  bool is = cJSON_IsObject(j) && cJSON_IsString(t) && strcmp(t->valuestring, type) == 0;
  cJSON_Delete(j);
  return is;
}

int emitter__post_batch(CURL *curl, emitter__post *p)
{
  CURL *h = curl;
  p->status = 0;
  p->duplicates = 0;
  p->retry_after_ms = -1;
  p->why[0] = '\0';
  struct curl_slist *hdrs = NULL;
  hdrs = curl_slist_append(hdrs, "Content-Type: application/x-protobuf");
  if (p->gzip)
    hdrs = curl_slist_append(hdrs, "Content-Encoding: gzip");
  hdrs = curl_slist_append(hdrs, "Expect:");
  if (p->auth && p->auth[0])
    hdrs = curl_slist_append(hdrs, p->auth);
  post_ctx c;
  c.p = p;
  c.len = 0;
  c.body[0] = '\0';
  c.cut = false;
  c.problem = false;
  curl_easy_setopt(h, CURLOPT_URL, p->url);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  /* libcurl's default, set on purpose: a 3xx (a captive portal's 302 to its login page) is
   * retried, never followed with the events and the token to another host. */
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)p->timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)p->timeout_ms);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)p->body);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)p->body_len);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &c);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &c);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, p);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  CURLcode cc = curl_easy_perform(h);
  if (cc == CURLE_OK)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &p->status);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(hdrs);
  long s = p->status;
  if (cc != CURLE_OK) {
    snprintf(p->why, sizeof p->why, "no answer: %s", curl_easy_strerror(cc));
    return EMITTER__RETRY;
  }
  if (s >= 200 && s < 300) {
    if (!c.cut && ingest_answer(c.body, &p->duplicates))
      return EMITTER__ACKED;
    snprintf(p->why, sizeof p->why,
             "HTTP %ld whose body is not the ingest's answer (a captive portal or a proxy?)", s);
    return EMITTER__RETRY;
  }
  if (s == 403 && c.problem && !c.cut && problem_type_is(c.body, PROBLEM_EVENT_PROFILE)) {
    snprintf(p->why, sizeof p->why,
             "an event names a profile the token may not name (event-profile-forbidden)");
    return EMITTER__REFUSED;
  }
  if (s >= 400 && s < 500 && s != 401 && s != 403 && s != 408 && s != 429) {
    /* streamd refuses with application/problem+json; a portal's or a proxy's own 4xx page
     * (404 text/html) says nothing about the batch: retried, not dropped. */
    if (c.problem)
      return EMITTER__REFUSED;
    snprintf(p->why, sizeof p->why,
             "HTTP %ld without application/problem+json: not the ingest's refusal (a captive "
             "portal or a proxy?)",
             s);
    return EMITTER__RETRY;
  }
  snprintf(p->why, sizeof p->why, "HTTP %ld%s", s,
           s >= 300 && s < 400 ? " (a redirect: not followed)" : "");
  return EMITTER__RETRY;
}
