/*
 * Operational routes: /healthz (the process answers), /readyz (it accepts
 * work: 503 while draining), /metrics (Prometheus text), and the diagnostic
 * POST /v1/echo (operator only) that validates and echoes a JSON object.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "metrics.h"
#include "problem.h"
#include "routes.h"
#include "stream/common.h"

static void reply_status(streamd_response *resp, int code, const char *status)
{
  cJSON *o = cJSON_CreateObject();
  if (o)
    cJSON_AddStringToObject(o, "status", status);
  streamd_reply_json(resp, code, o);
}

void streamd_route_healthz(streamd_request *req, streamd_response *resp)
{
  (void)req;
  reply_status(resp, 200, "ok");
}

void streamd_route_readyz(streamd_request *req, streamd_response *resp)
{
  if (atomic_load(&req->server->draining)) {
    streamd_reply_problem(resp, req, STREAMD_P_DRAINING, "the daemon is draining and will exit");
    return;
  }
  reply_status(resp, 200, "ready");
}

void streamd_route_metrics(streamd_request *req, streamd_response *resp)
{
  size_t len = 0;
  char *text = streamd_metrics_render(&len, atomic_load(&req->server->in_flight),
                                      atomic_load(&req->server->draining));
  if (!text) {
    streamd_reply_problem(resp, req, STREAM_ENOMEM, "rendering metrics");
    return;
  }
  free(resp->body);
  resp->status = 200;
  resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
  resp->body = text;
  resp->body_len = len;
}

void streamd_route_echo(streamd_request *req, streamd_response *resp)
{
  char detail[256] = "";
  /* Optional ?delay_ms=N (0..handler_max_delay_ms): lets tests hold a request in flight. */
  const char *d = streamd_request_query(req, "delay_ms");
  unsigned long delay = 0;
  if (d) {
    char *end = NULL;
    errno = 0;
    delay = strtoul(d, &end, 10);
    if (errno || !*d || *end || d[0] == '-' || delay > req->server->cfg->handler_max_delay_ms) {
      snprintf(detail, sizeof(detail), "query 'delay_ms' must be an integer from 0 to %u",
               req->server->cfg->handler_max_delay_ms);
      streamd_reply_problem(resp, req, STREAM_EINVAL, detail);
      return;
    }
  }
  cJSON *body = NULL;
  int rc = streamd_json_parse_object(&body, req->body, req->body_len, detail, sizeof(detail));
  if (rc) {
    streamd_reply_problem(resp, req, rc, detail);
    return;
  }
  /* Known optional fields are type-checked, to exercise the typed getters. */
  const char *message = NULL;
  long long repeat = 0;
  int flag = 0;
  if ((rc = streamd_json_get_string(&message, body, "message", 0, 1024, detail, sizeof(detail))) ==
          STREAM_EINVAL ||
      (rc = streamd_json_get_int(&repeat, body, "repeat", 0, 0, 100, detail, sizeof(detail))) ==
          STREAM_EINVAL ||
      (rc = streamd_json_get_bool(&flag, body, "flag", 0, detail, sizeof(detail))) ==
          STREAM_EINVAL) {
    cJSON_Delete(body);
    streamd_reply_problem(resp, req, STREAM_EINVAL, detail);
    return;
  }
  if (delay) {
    struct timespec ts = {(time_t)(delay / 1000), (long)(delay % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
  }
  cJSON *out = cJSON_CreateObject();
  if (!out) {
    cJSON_Delete(body);
    streamd_reply_problem(resp, req, STREAM_ENOMEM, "echo");
    return;
  }
  cJSON_AddItemToObject(out, "echo", body);
  cJSON_AddStringToObject(out, "request_id", req->request_id);
  cJSON_AddStringToObject(out, "subject", req->identity.subject);
  streamd_reply_json(resp, 200, out);
}
