/* The one table every request is matched against (see router.h). */
#include "routes.h"

static const streamd_route table[] = {
    {"GET", "/healthz", STREAMD_ROLE_PUBLIC, streamd_route_healthz, 0, 0},
    {"GET", "/readyz", STREAMD_ROLE_PUBLIC, streamd_route_readyz, 0, 0},
    {"GET", "/metrics", STREAMD_ROLE_PUBLIC, streamd_route_metrics, 0, 0},
    /* Diagnostic: exercises body limits, strict JSON and the operator role. */
    {"POST", "/v1/echo", STREAMD_ROLE_OPERATOR, streamd_route_echo, 0, STREAMD_ROUTE_JSON_BODY},
};

const streamd_route *streamd_routes(size_t *n)
{
  *n = sizeof(table) / sizeof(table[0]);
  return table;
}
