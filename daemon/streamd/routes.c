/* The one table every request is matched against (see router.h). */
#include "routes.h"

#include "stream/catalog.h"
#include "stream/events.h"

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
    /* Static files (web_root): GET/HEAD of paths no route has; see routes_web.c. */
    {"GET", "*", PUBLIC, streamd_route_web, 0, 0},

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
    /* Account deletion (routes_auth.c): the viewer's own with the password, the operator's. */
    {"DELETE", "/v1/account", VIEWER, streamd_route_account_delete, KIB(4), JSON},
    {"DELETE", "/v1/admin/accounts/{id}", OPERATOR, streamd_route_admin_account_delete, 0, 0},
    /* Account self-service (routes_auth.c): read, sign out everywhere, password change and the
     * forgotten-password e-mail flow (202 whether or not the e-mail has an account). */
    {"GET", "/v1/account", VIEWER, streamd_route_account_get, 0, 0},
    {"POST", "/v1/account/logout-all", VIEWER, streamd_route_account_logout_all, 0, 0},
    {"POST", "/v1/account/password", VIEWER, streamd_route_account_password, KIB(4), JSON},
    {"POST", "/v1/auth/password-reset", PUBLIC, streamd_route_password_reset, KIB(4), JSON},
    {"POST", "/v1/auth/password-reset/confirm", PUBLIC, streamd_route_password_reset_confirm,
     KIB(4), JSON},

    /* Profiles. */
    {"GET", "/v1/profiles", VIEWER, streamd_route_profiles_list, 0, 0},
    {"POST", "/v1/profiles", VIEWER, streamd_route_profiles_create, KIB(8), JSON},
    {"PATCH", "/v1/profiles/{id}", VIEWER, streamd_route_profiles_update, KIB(8), JSON},
    {"DELETE", "/v1/profiles/{id}", VIEWER, streamd_route_profiles_delete, KIB(4), JSON},
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
    {"GET", "/v1/ratings/{title_id}", VIEWER, streamd_route_rating_get, 0, 0},
    {"PUT", "/v1/ratings/{title_id}", VIEWER, streamd_route_rating_put, KIB(1), JSON},
    {"DELETE", "/v1/ratings/{title_id}", VIEWER, streamd_route_rating_delete, 0, 0},

    /* Playback sessions and the signed origin (routes_playback.c, routes_media.c). The media
     * row takes every GET/HEAD under /v1/media/ at any depth (http.c). */
    {"POST", "/v1/playback", VIEWER, streamd_route_playback_start, KIB(4), JSON},
    {"POST", "/v1/playback/{session}/heartbeat", VIEWER, streamd_route_playback_heartbeat, KIB(1),
     0},
    {"DELETE", "/v1/playback/{session}", VIEWER, streamd_route_playback_stop, 0, 0},
    {"GET", "/v1/media/{path}", PUBLIC, streamd_route_media, 0, 0},
    /* Player events (routes_events.c): the body limit is the compressed size; the library caps
     * the inflated size too. Not JSON_BODY: protobuf is the main format. PUBLIC here: the
     * handler authenticates (a viewer access token or a playback session's events token). */
    {"POST", "/v1/events", PUBLIC, streamd_route_events_ingest, STREAM_EVENTS_BODY_MAX, 0},
    /* QoE statistics (routes_stats.c). */
    {"GET", "/v1/admin/stats/qoe", OPERATOR, streamd_route_admin_stats_qoe, 0, 0},
    {"GET", "/v1/admin/stats/concurrent", OPERATOR, streamd_route_admin_stats_concurrent, 0, 0},
    {"GET", "/v1/admin/stats/views/{view_id}", OPERATOR, streamd_route_admin_stats_view, 0, 0},
    /* Recommendations (routes_recs.c). */
    {"GET", "/v1/home", VIEWER, streamd_route_home, 0, 0},
    {"GET", "/v1/admin/recs", OPERATOR, streamd_route_admin_recs, 0, 0},
    {"POST", "/v1/admin/recs/retrain", OPERATOR, streamd_route_admin_recs_retrain, KIB(1), 0},

    /* Operator catalog management. */
    {"POST", "/v1/admin/titles", OPERATOR, streamd_route_admin_title_create,
     STREAM_CATALOG_TITLE_JSON_MAX, JSON},
    {"PUT", "/v1/admin/titles/{id}", OPERATOR, streamd_route_admin_title_put,
     STREAM_CATALOG_TITLE_JSON_MAX, JSON},
    {"DELETE", "/v1/admin/titles/{id}", OPERATOR, streamd_route_admin_title_delete, 0, 0},
    /* Retention purge now (routes_admin.c, purge_job.c); the thread runs it on a schedule. */
    {"POST", "/v1/admin/purge", OPERATOR, streamd_route_admin_purge, KIB(1), 0},
    {"POST", "/v1/admin/import", OPERATOR, streamd_route_admin_import, STREAM_CATALOG_IMPORT_MAX,
     JSON},

    /* tus 1.0 uploads (routes_uploads.c; OPTIONS discovery in http.c): PATCH bodies, and a
     * POST's first chunk (creation-with-upload), are streamed to the upload file, up to 1 GiB
     * per request. Jobs and assets (routes_jobs.c). */
    {"POST", "/v1/uploads", OPERATOR, streamd_route_uploads_create, (size_t)1 << 30,
     STREAMD_ROUTE_STREAM_BODY},
    {"GET", "/v1/uploads/{id}", OPERATOR, streamd_route_uploads_head, 0, 0},
    {"PATCH", "/v1/uploads/{id}", OPERATOR, streamd_route_uploads_patch, (size_t)1 << 30,
     STREAMD_ROUTE_STREAM_BODY},
    {"DELETE", "/v1/uploads/{id}", OPERATOR, streamd_route_uploads_delete, 0, 0},
    {"GET", "/v1/admin/jobs", OPERATOR, streamd_route_admin_jobs, 0, 0},
    {"GET", "/v1/admin/jobs/{id}", OPERATOR, streamd_route_admin_job, 0, 0},
    {"GET", "/v1/admin/assets", OPERATOR, streamd_route_admin_assets, 0, 0},

    /* Billing (routes_billing.c). Mutating calls take an Idempotency-Key header. */
    {"GET", "/v1/billing/plans", PUBLIC, streamd_route_billing_plans, 0, 0},
    {"GET", "/v1/billing/subscription", VIEWER, streamd_route_billing_subscription_get, 0, 0},
    {"POST", "/v1/billing/subscription", VIEWER, streamd_route_billing_subscribe, KIB(4), JSON},
    {"POST", "/v1/billing/subscription/change", VIEWER, streamd_route_billing_change, KIB(4), JSON},
    {"POST", "/v1/billing/subscription/cancel", VIEWER, streamd_route_billing_cancel, KIB(1), JSON},
    {"POST", "/v1/billing/subscription/resume", VIEWER, streamd_route_billing_resume, KIB(1), JSON},
    {"GET", "/v1/billing/invoices", VIEWER, streamd_route_billing_invoices, 0, 0},
    {"GET", "/v1/billing/invoices/{id}", VIEWER, streamd_route_billing_invoice, 0, 0},
    {"GET", "/v1/billing/payment-methods", VIEWER, streamd_route_billing_cards, 0, 0},
    {"POST", "/v1/billing/payment-methods", VIEWER, streamd_route_billing_card_add, KIB(4), JSON},
    {"DELETE", "/v1/billing/payment-methods/{id}", VIEWER, streamd_route_billing_card_delete, 0, 0},
    {"POST", "/v1/billing/payment-methods/{id}/default", VIEWER, streamd_route_billing_card_default,
     KIB(1), JSON},
    {"GET", "/v1/billing/entitlement", VIEWER, streamd_route_billing_entitlement, 0, 0},
    {"GET", "/v1/billing/leases", VIEWER, streamd_route_billing_leases, 0, 0},
    {"POST", "/v1/billing/leases", VIEWER, streamd_route_billing_lease_acquire, KIB(4), JSON},
    {"POST", "/v1/billing/leases/{id}/heartbeat", VIEWER, streamd_route_billing_lease_heartbeat,
     KIB(1), JSON},
    {"DELETE", "/v1/billing/leases/{id}", VIEWER, streamd_route_billing_lease_release, 0, 0},
    {"GET", "/v1/admin/billing/plans", OPERATOR, streamd_route_admin_billing_plans, 0, 0},
    {"PUT", "/v1/admin/billing/plans/{id}", OPERATOR, streamd_route_admin_billing_plan_put, KIB(4),
     JSON},
    {"GET", "/v1/admin/billing/subscriptions", OPERATOR, streamd_route_admin_billing_subscriptions,
     0, 0},
    {"POST", "/v1/admin/billing/renewals/run", OPERATOR, streamd_route_admin_billing_renewals,
     KIB(1), JSON},
    {"POST", "/v1/admin/billing/invoices/{id}/refund", OPERATOR, streamd_route_admin_billing_refund,
     KIB(1), JSON},
    {"GET", "/v1/admin/billing/books", OPERATOR, streamd_route_admin_billing_books, 0, 0},
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
    if (table[i].pattern[0] == '/') /* not the static-file fallback "*" */
      fprintf(f, "%s %s %s\n", table[i].method, table[i].pattern, roles[table[i].role]);
}
