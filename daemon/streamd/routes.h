/*
 * streamd's route table. Each service area adds its handlers in its own
 * file (routes_<area>.c) and its rows to the table in routes.c.
 */
#ifndef STREAMD_ROUTES_H
#define STREAMD_ROUTES_H

#include "http.h"

/* The complete, static route table. */
const streamd_route *streamd_routes(size_t *n);

/* routes_ops.c: health, readiness, metrics and the diagnostic echo. */
void streamd_route_healthz(streamd_request *req, streamd_response *resp);
void streamd_route_readyz(streamd_request *req, streamd_response *resp);
void streamd_route_metrics(streamd_request *req, streamd_response *resp);
void streamd_route_echo(streamd_request *req, streamd_response *resp);

#endif
