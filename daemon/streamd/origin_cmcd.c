/*
 * The origin's CMCD (origin_cmcd.h): one parse per media request with the
 * library's stream_cmcd_parse (headers, each shard into one struct) or
 * stream_cmcd_parse_query's rules on the decoded query value, then access-log
 * fields, and the counters once the request's signature verified. libmicrohttpd has already
 * URL-decoded the query argument (and turned '+' into ' ', which encodeURIComponent never leaves).
 */
#include "origin_cmcd.h"

#include <stdatomic.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "stream/cmcd.h"

/* The ot label values; the last slot counts requests without ot. */
static const char *const ot_labels[] = {"m", "a", "v", "av", "i", "c", "tt", "k", "o", "none"};
#define N_OT (sizeof(ot_labels) / sizeof(ot_labels[0]))

static atomic_ullong requests[N_OT];
static atomic_ullong invalid, starvation, startup;

static void count(atomic_ullong *c)
{
  atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static size_t ot_slot(const char *ot)
{
  for (size_t i = 0; i + 1 < N_OT; i++)
    if (strcmp(ot, ot_labels[i]) == 0)
      return i;
  return N_OT - 1;
}

static cJSON *access_object(streamd_request *req)
{
  if (!req->access_fields)
    req->access_fields = cJSON_CreateObject();
  return req->access_fields;
}

static void log_fields(streamd_request *req, const stream_cmcd *c)
{
  cJSON *f = access_object(req);
  cJSON *o = f ? cJSON_AddObjectToObject(f, "cmcd") : NULL;
  if (!o)
    return;
  /* Strings are printable ASCII (the parser refuses anything else); cJSON escapes them. */
  if (c->sid[0])
    cJSON_AddStringToObject(o, "sid", c->sid);
  if (c->cid[0])
    cJSON_AddStringToObject(o, "cid", c->cid);
  if (c->ot[0])
    cJSON_AddStringToObject(o, "ot", c->ot);
  if (c->br >= 0)
    cJSON_AddNumberToObject(o, "br", (double)c->br);
  if (c->bl >= 0)
    cJSON_AddNumberToObject(o, "bl", (double)c->bl);
  if (c->mtp >= 0)
    cJSON_AddNumberToObject(o, "mtp", (double)c->mtp);
  if (c->su)
    cJSON_AddBoolToObject(o, "su", 1);
  if (c->bs)
    cJSON_AddBoolToObject(o, "bs", 1);
  if (c->sf[0])
    cJSON_AddStringToObject(o, "sf", c->sf);
  if (c->st[0])
    cJSON_AddStringToObject(o, "st", c->st);
}

void streamd_origin_cmcd(streamd_request *req, streamd_origin_cmcd_tally *t)
{
  memset(t, 0, sizeof *t);
  static const char *const shards[] = {"CMCD-Object", "CMCD-Request", "CMCD-Session",
                                       "CMCD-Status"};
  stream_cmcd c;
  stream_cmcd_init(&c);
  int found = 0, rc = STREAM_OK;
  for (size_t i = 0; i < sizeof(shards) / sizeof(shards[0]) && rc == STREAM_OK; i++) {
    const char *v = streamd_request_header(req, shards[i]);
    if (!v)
      continue;
    found = 1;
    rc = stream_cmcd_parse(&c, v, strlen(v));
  }
  if (!found) {
    const char *q = streamd_request_query(req, "CMCD");
    if (!q)
      return;
    found = 1;
    rc = stream_cmcd_parse(&c, q, strlen(q));
  }
  if (rc != STREAM_OK) {
    t->kind = 2;
    cJSON *f = access_object(req);
    if (f)
      cJSON_AddStringToObject(f, "cmcd_error", stream_error_last()->message);
    stream_error_clear();
    return;
  }
  t->kind = 1;
  t->ot = (unsigned)ot_slot(c.ot);
  t->bs = c.bs != 0;
  t->su = c.su != 0;
  log_fields(req, &c);
}

void streamd_origin_cmcd_count(const streamd_origin_cmcd_tally *t)
{
  if (t->kind == 2) {
    count(&invalid);
    return;
  }
  if (t->kind != 1 || t->ot >= N_OT)
    return;
  count(&requests[t->ot]);
  if (t->bs)
    count(&starvation);
  if (t->su)
    count(&startup);
}

void streamd_origin_cmcd_render_metrics(FILE *f)
{
  fputs("# HELP streamd_origin_cmcd_requests_total Media requests with valid CMCD, by object "
        "type.\n"
        "# TYPE streamd_origin_cmcd_requests_total counter\n",
        f);
  for (size_t i = 0; i < N_OT; i++)
    fprintf(f, "streamd_origin_cmcd_requests_total{ot=\"%s\"} %llu\n", ot_labels[i],
            atomic_load_explicit(&requests[i], memory_order_relaxed));
  fprintf(f,
          "# HELP streamd_origin_cmcd_invalid_total Media requests whose CMCD was refused "
          "(ignored; the request is served).\n"
          "# TYPE streamd_origin_cmcd_invalid_total counter\n"
          "streamd_origin_cmcd_invalid_total %llu\n"
          "# HELP streamd_origin_cmcd_buffer_starvation_total Media requests whose CMCD "
          "reports buffer starvation (bs).\n"
          "# TYPE streamd_origin_cmcd_buffer_starvation_total counter\n"
          "streamd_origin_cmcd_buffer_starvation_total %llu\n"
          "# HELP streamd_origin_cmcd_startup_requests_total Media requests whose CMCD marks "
          "startup (su).\n"
          "# TYPE streamd_origin_cmcd_startup_requests_total counter\n"
          "streamd_origin_cmcd_startup_requests_total %llu\n",
          atomic_load_explicit(&invalid, memory_order_relaxed),
          atomic_load_explicit(&starvation, memory_order_relaxed),
          atomic_load_explicit(&startup, memory_order_relaxed));
}
