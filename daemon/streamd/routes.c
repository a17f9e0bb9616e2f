/* The one table every request is matched against (see router.h). */
#include "routes.h"

#include "stream/catalog.h"

#define PUBLIC STREAMD_ROLE_PUBLIC
#define VIEWER STREAMD_ROLE_VIEWER
#define OPERATOR STREAMD_ROLE_OPERATOR
#define JSON STREAMD_ROUTE_JSON_BODY
#define KIB(n) ((size_t)(n)*1024)

static const streamd_route table[] = {
    {"GET", "/healthz", PUBLIC, streamd_route_healthz, 0, 0},
    {"GET", "/readyz", PUBLIC, streamd_route_readyz, 0, 0},
    {"GET", "/metrics", PUBLIC, streamd_route_metrics, 0, 0},
    /* Diagnostic: exercises body limits, strict JSON and the operator role. */
    {"POST", "/v1/echo", OPERATOR, streamd_route_echo, 0, JSON},

    /* Accounts and tokens. The OAuth endpoints take form bodies (and JSON). */
    {"POST", "/v1/auth/register", PUBLIC, streamd_route_register, KIB(8), JSON},
    {"POST", "/v1/auth/login", PUBLIC, streamd_route_login, KIB(8), JSON},
    {"POST", "/v1/auth/refresh", PUBLIC, streamd_route_refresh, KIB(4), JSON},
    {"POST", "/v1/auth/logout", PUBLIC, streamd_route_logout, KIB(4), JSON},
    {"POST", "/v1/auth/revoke", PUBLIC, streamd_route_revoke, KIB(8), 0},
    {"POST", "/v1/auth/device", PUBLIC, streamd_route_device, KIB(4), 0},
    {"POST", "/v1/auth/token", PUBLIC, streamd_route_token, KIB(8), 0},
    {"GET", "/activate", PUBLIC, streamd_route_activate_get, 0, 0},
    {"POST", "/activate", PUBLIC, streamd_route_activate_post, KIB(8), 0},

    /* Profiles. */
    {"GET", "/v1/profiles", VIEWER, streamd_route_profiles_list, 0, 0},
    {"POST", "/v1/profiles", VIEWER, streamd_route_profiles_create, KIB(8), JSON},
    {"PATCH", "/v1/profiles/{id}", VIEWER, streamd_route_profiles_update, KIB(8), JSON},
    {"DELETE", "/v1/profiles/{id}", VIEWER, streamd_route_profiles_delete, 0, 0},
    {"POST", "/v1/profiles/{id}/switch", VIEWER, streamd_route_profiles_switch, KIB(1), JSON},

    /* Catalog and viewing. */
    {"GET", "/v1/genres", VIEWER, streamd_route_genres, 0, 0},
    {"GET", "/v1/browse", VIEWER, streamd_route_browse, 0, 0},
    {"GET", "/v1/search", VIEWER, streamd_route_search, 0, 0},
    {"GET", "/v1/titles/{id}", VIEWER, streamd_route_title, 0, 0},
    {"PUT", "/v1/progress", VIEWER, streamd_route_progress_put, KIB(4), JSON},
    {"GET", "/v1/continue-watching", VIEWER, streamd_route_continue_watching, 0, 0},
    {"GET", "/v1/my-list", VIEWER, streamd_route_mylist_get, 0, 0},
    {"PUT", "/v1/my-list/{title_id}", VIEWER, streamd_route_mylist_put, 0, 0},
    {"DELETE", "/v1/my-list/{title_id}", VIEWER, streamd_route_mylist_delete, 0, 0},

    /* Operator catalog management. */
    {"POST", "/v1/admin/titles", OPERATOR, streamd_route_admin_title_create,
     STREAM_CATALOG_TITLE_JSON_MAX, JSON},
    {"PUT", "/v1/admin/titles/{id}", OPERATOR, streamd_route_admin_title_put,
     STREAM_CATALOG_TITLE_JSON_MAX, JSON},
    {"DELETE", "/v1/admin/titles/{id}", OPERATOR, streamd_route_admin_title_delete, 0, 0},
    {"POST", "/v1/admin/import", OPERATOR, streamd_route_admin_import, STREAM_CATALOG_IMPORT_MAX,
     JSON},
};

const streamd_route *streamd_routes(size_t *n)
{
  *n = sizeof(table) / sizeof(table[0]);
  return table;
}

void streamd_routes_print(FILE *f)
{
  static const char *const roles[] = {"public", "viewer", "operator"};
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
    fprintf(f, "%s %s %s\n", table[i].method, table[i].pattern, roles[table[i].role]);
}
