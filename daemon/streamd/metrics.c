/*
 * Request counters and latency histograms, kept in two small arrays under a
 * mutex. The number of series is bounded (routes x methods x statuses), so
 * linear search is fine at this size.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double bounds[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                0.25,  0.5,   1.0,  2.5,   5.0,  10.0};
#define NB (sizeof(bounds) / sizeof(bounds[0]))

typedef struct counter {
  char route[128];
  char method[12];
  int status;
  unsigned long long n;
} counter;

typedef struct histo {
  char route[128];
  unsigned long long buckets[NB]; /* non-cumulative; rendered cumulative */
  unsigned long long count;
  double sum;
} histo;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static counter *counters;
static size_t n_counters, cap_counters;
static histo *histos;
static size_t n_histos, cap_histos;

static void *grow(void *arr, size_t *cap, size_t elem)
{
  size_t nc = *cap ? *cap * 2 : 16;
  void *p = realloc(arr, nc * elem);
  if (p)
    *cap = nc;
  return p;
}

void streamd_metrics_observe(const char *route, const char *method, int status, double seconds)
{
  pthread_mutex_lock(&mu);
  counter *c = NULL;
  for (size_t i = 0; i < n_counters; i++)
    if (counters[i].status == status && strcmp(counters[i].route, route) == 0 &&
        strcmp(counters[i].method, method) == 0) {
      c = &counters[i];
      break;
    }
  if (!c) {
    if (n_counters == cap_counters) {
      counter *p = grow(counters, &cap_counters, sizeof(*counters));
      if (!p)
        goto out;
      counters = p;
    }
    c = &counters[n_counters++];
    memset(c, 0, sizeof(*c));
    snprintf(c->route, sizeof(c->route), "%s", route);
    snprintf(c->method, sizeof(c->method), "%s", method);
    c->status = status;
  }
  c->n++;
  histo *h = NULL;
  for (size_t i = 0; i < n_histos; i++)
    if (strcmp(histos[i].route, route) == 0) {
      h = &histos[i];
      break;
    }
  if (!h) {
    if (n_histos == cap_histos) {
      histo *p = grow(histos, &cap_histos, sizeof(*histos));
      if (!p)
        goto out;
      histos = p;
    }
    h = &histos[n_histos++];
    memset(h, 0, sizeof(*h));
    snprintf(h->route, sizeof(h->route), "%s", route);
  }
  for (size_t b = 0; b < NB; b++)
    if (seconds <= bounds[b]) {
      h->buckets[b]++;
      break;
    }
  h->count++;
  h->sum += seconds;
out:
  pthread_mutex_unlock(&mu);
}

typedef struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
  if (b->oom)
    return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->oom = 1;
      return;
    }
    if (b->p && b->len + (size_t)n < b->cap) {
      b->len += (size_t)n;
      return;
    }
    size_t nc = b->cap ? b->cap * 2 : 4096;
    while (nc < b->len + (size_t)n + 1)
      nc *= 2;
    char *np = realloc(b->p, nc);
    if (!np) {
      b->oom = 1;
      return;
    }
    b->p = np;
    b->cap = nc;
  }
}

char *streamd_metrics_render(size_t *len, int in_flight, int draining)
{
  sbuf b = {0};
  pthread_mutex_lock(&mu);
  sb_printf(&b, "# HELP streamd_http_requests_total HTTP requests answered.\n"
                "# TYPE streamd_http_requests_total counter\n");
  for (size_t i = 0; i < n_counters; i++)
    sb_printf(&b, "streamd_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
              counters[i].route, counters[i].method, counters[i].status, counters[i].n);
  sb_printf(&b, "# HELP streamd_http_request_duration_seconds Time from request start to "
                "response queued.\n"
                "# TYPE streamd_http_request_duration_seconds histogram\n");
  for (size_t i = 0; i < n_histos; i++) {
    unsigned long long cum = 0;
    for (size_t k = 0; k < NB; k++) {
      cum += histos[i].buckets[k];
      sb_printf(&b, "streamd_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                histos[i].route, bounds[k], cum);
    }
    sb_printf(&b,
              "streamd_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n"
              "streamd_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
              "streamd_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
              histos[i].route, histos[i].count, histos[i].route, histos[i].sum, histos[i].route,
              histos[i].count);
  }
  pthread_mutex_unlock(&mu);
  sb_printf(&b,
            "# HELP streamd_http_in_flight_requests Requests being processed.\n"
            "# TYPE streamd_http_in_flight_requests gauge\n"
            "streamd_http_in_flight_requests %d\n"
            "# HELP streamd_draining 1 while the daemon drains after SIGTERM.\n"
            "# TYPE streamd_draining gauge\n"
            "streamd_draining %d\n",
            in_flight, draining);
  size_t ops_len = 0;
  char *ops = streamd_metrics_render_ops(&ops_len);
  if (ops)
    sb_printf(&b, "%.*s", (int)ops_len, ops);
  else
    b.oom = 1;
  free(ops);
  if (b.oom) {
    free(b.p);
    return NULL;
  }
  if (len)
    *len = b.len;
  return b.p;
}

void streamd_metrics_reset(void)
{
  pthread_mutex_lock(&mu);
  free(counters);
  free(histos);
  counters = NULL;
  histos = NULL;
  n_counters = cap_counters = n_histos = cap_histos = 0;
  pthread_mutex_unlock(&mu);
}
