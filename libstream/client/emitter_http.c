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
 * configured server only. "application/problem+json" is compared as a whole
 * media type (parameters allowed). A Retry-After is read whole, in both of
 * RFC 9110's forms, or not at all (emitter__retry_after_ms); emitter.c
 * decides what the wait is.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "../core/core.h"
#include "emitter_internal.h"

/* streamd's 403 that refuses the batch rather than the token (problem.c). */
#define PROBLEM_EVENT_PROFILE "urn:libstream:problem:event-profile-forbidden"

typedef struct post_ctx {
  emitter__post *p;
  char body[512]; /* the ingest's answer is far shorter: a longer body is not it */
  size_t len;
  bool cut;
  bool problem; /* Content-Type: application/problem+json, as every 4xx of streamd */
} post_ctx;

/* ---- Retry-After (RFC 9110 10.2.3: delay-seconds / HTTP-date) --------------------- */

static const char *const day_names[7] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *const day_names_long[7] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                              "Friday", "Saturday", "Sunday"};
static const char *const month_names[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* A cursor over the value: every reader consumes exactly what it names or fails. */
typedef struct cur {
  const char *s;
  size_t n;
} cur;

static bool lit(cur *c, const char *w)
{
  size_t k = strlen(w);
  if (c->n < k || memcmp(c->s, w, k) != 0) /* HTTP-date is case-sensitive */
    return false;
  c->s += k;
  c->n -= k;
  return true;
}

static bool digits(cur *c, size_t k, int *out)
{
  if (c->n < k)
    return false;
  int v = 0;
  for (size_t i = 0; i < k; i++) {
    if (c->s[i] < '0' || c->s[i] > '9')
      return false;
    v = v * 10 + (c->s[i] - '0');
  }
  c->s += k;
  c->n -= k;
  *out = v;
  return true;
}

static bool name_of(cur *c, const char *const *names, int count, int *out)
{
  for (int i = 0; i < count; i++)
    if (lit(c, names[i])) {
      *out = i;
      return true;
    }
  return false;
}

/* time-of-day = hour ":" minute ":" second (a leap second is 60) */
static bool time_of_day(cur *c, int *secs)
{
  int h, m, s;
  if (!digits(c, 2, &h) || !lit(c, ":") || !digits(c, 2, &m) || !lit(c, ":") || !digits(c, 2, &s) ||
      h > 23 || m > 59 || s > 60)
    return false;
  *secs = h * 3600 + m * 60 + s;
  return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static bool valid_day(int y, int mon, int d)
{
  static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d >= 1 && d <= mdays[mon] && !(mon == 1 && d == 29 && !leap);
}

/* One of the three HTTP-date forms, all of `c`, as seconds since the epoch: IMF-fixdate
 * ("Sun, 06 Nov 1994 08:49:37 GMT"), the obsolete RFC 850 form ("Sunday, 06-Nov-94 08:49:37 GMT")
 * and asctime's ("Sun Nov  6 08:49:37 1994"), which RFC 9110 5.6.7 makes recipients accept. */
static bool http_date(cur c, int64_t now_s, int64_t *out)
{
  int wd, d, mon, y, secs;
  cur f = c;
  bool ok = name_of(&f, day_names, 7, &wd) && lit(&f, ", ") && digits(&f, 2, &d) && lit(&f, " ") &&
            name_of(&f, month_names, 12, &mon) && lit(&f, " ") && digits(&f, 4, &y) &&
            lit(&f, " ") && time_of_day(&f, &secs) && lit(&f, " GMT") && f.n == 0;
  if (!ok) {
    f = c;
    ok = name_of(&f, day_names_long, 7, &wd) && lit(&f, ", ") && digits(&f, 2, &d) &&
         lit(&f, "-") && name_of(&f, month_names, 12, &mon) && lit(&f, "-") && digits(&f, 2, &y) &&
         lit(&f, " ") && time_of_day(&f, &secs) && lit(&f, " GMT") && f.n == 0;
    if (ok) {
      /* A two-digit year more than 50 years ahead is the latest past year with those digits. */
      int64_t this_year = 1970 + now_s / 31556952;
      int64_t full = this_year - this_year % 100 + y;
      if (full > this_year + 50)
        full -= 100;
      y = (int)full;
    }
  }
  if (!ok) {
    f = c;
    ok = name_of(&f, day_names, 7, &wd) && lit(&f, " ") && name_of(&f, month_names, 12, &mon) &&
         lit(&f, " ");
    if (ok && f.n && f.s[0] == ' ') { /* date3 = month SP ( 2DIGIT / ( SP DIGIT ) ) */
      f.s++;
      f.n--;
      ok = digits(&f, 1, &d);
    } else {
      ok = ok && digits(&f, 2, &d);
    }
    ok = ok && lit(&f, " ") && time_of_day(&f, &secs) && lit(&f, " ") && digits(&f, 4, &y) &&
         f.n == 0;
  }
  if (!ok || !valid_day(y, mon, d))
    return false;
  *out = days_from_civil(y, mon + 1, d) * 86400 + secs;
  return true;
}

int64_t emitter__retry_after_ms(const char *v, size_t len, int64_t now_wall_ms)
{
  while (len && (v[0] == ' ' || v[0] == '\t')) {
    v++;
    len--;
  }
  while (len &&
         (v[len - 1] == ' ' || v[len - 1] == '\t' || v[len - 1] == '\r' || v[len - 1] == '\n'))
    len--;
  if (len == 0)
    return -1;
  /* delay-seconds = 1*DIGIT, read whole however long (leading zeros included), capped. */
  size_t i = 0;
  int64_t s = 0;
  while (i < len && v[i] >= '0' && v[i] <= '9') {
    if (s <= EMITTER__RETRY_AFTER_MAX_MS / 1000)
      s = s * 10 + (v[i] - '0');
    i++;
  }
  if (i == len)
    return s > EMITTER__RETRY_AFTER_MAX_MS / 1000 ? EMITTER__RETRY_AFTER_MAX_MS : s * 1000;
  int64_t when;
  cur c = {v, len};
  if (!http_date(c, now_wall_ms / 1000, &when))
    return -1; /* "0.5", "-3", "soon", a date with trailing bytes: as if absent */
  int64_t now_s = now_wall_ms / 1000;
  if (when <= now_s) /* a date in the past: now (the caller's floor applies) */
    return 0;
  return when - now_s > EMITTER__RETRY_AFTER_MAX_MS / 1000 ? EMITTER__RETRY_AFTER_MAX_MS
                                                           : (when - now_s) * 1000;
}

/* ---- the exchange ----------------------------------------------------------------------- */

/* Whether a Content-Type value is the media type application/problem+json (parameters after a
 * ';' allowed; "application/problem+jsonx" is another type). */
static bool is_problem_json(const char *v, size_t len)
{
  static const char mt[] = "application/problem+json";
  size_t k = sizeof mt - 1, i = 0;
  while (i < len && (v[i] == ' ' || v[i] == '\t'))
    i++;
  if (len - i < k || strncasecmp(v + i, mt, k) != 0)
    return false;
  for (i += k; i < len && (v[i] == ' ' || v[i] == '\t'); i++)
    ;
  return i == len || v[i] == ';' || v[i] == '\r' || v[i] == '\n';
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
  post_ctx *c = ud;
  size_t len = size * n;
  if (len > 13 && strncasecmp(buf, "Content-Type:", 13) == 0)
    c->problem = is_problem_json(buf + 13, len - 13);
  if (len > 12 && strncasecmp(buf, "Retry-After:", 12) == 0)
    c->p->retry_after_ms = emitter__retry_after_ms(buf + 12, len - 12, stream__wall_ms());
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
