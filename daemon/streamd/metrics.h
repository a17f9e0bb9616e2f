/*
 * Prometheus text exposition (format 0.0.4) of the HTTP metrics:
 *   streamd_http_requests_total{route,method,status}      counter
 *   streamd_http_request_duration_seconds{route}          histogram
 *   streamd_http_in_flight_requests                       gauge
 *   streamd_draining                                      gauge (0/1)
 * `route` is the route pattern ("/v1/titles/{id}") or "unmatched", so label
 * cardinality stays bounded by the route table. Mutex-guarded.
 */
#ifndef STREAMD_METRICS_H
#define STREAMD_METRICS_H

#include <stddef.h>

void streamd_metrics_observe(const char *route, const char *method, int status, double seconds);

/* Render the exposition text; malloc'd (caller frees with free()), NULL on ENOMEM. */
char *streamd_metrics_render(size_t *len, int in_flight, int draining);

/* Release all series (at exit, for leak checkers). */
void streamd_metrics_reset(void);

#endif
