/*
 * streamd's route table. Each service area adds its handlers in its own
 * file (routes_<area>.c) and its rows to the table in routes.c.
 */
#ifndef STREAMD_ROUTES_H
#define STREAMD_ROUTES_H

#include <stdio.h>

#include "http.h"
#include "stream/auth.h"

/* The complete, static route table. */
const streamd_route *streamd_routes(size_t *n);

/* Print the table, one "METHOD PATTERN ROLE" line per route (streamd --print-routes). */
void streamd_routes_print(FILE *f);

/* routes_ops.c: health, readiness, metrics and the diagnostic echo. */
void streamd_route_healthz(streamd_request *req, streamd_response *resp);
void streamd_route_readyz(streamd_request *req, streamd_response *resp);
void streamd_route_metrics(streamd_request *req, streamd_response *resp);
void streamd_route_echo(streamd_request *req, streamd_response *resp);

/* routes_auth.c: accounts, sessions, RFC 7009 revocation, RFC 8628 device grant. */
void streamd_route_register(streamd_request *req, streamd_response *resp);
void streamd_route_login(streamd_request *req, streamd_response *resp);
void streamd_route_refresh(streamd_request *req, streamd_response *resp);
void streamd_route_logout(streamd_request *req, streamd_response *resp);
void streamd_route_revoke(streamd_request *req, streamd_response *resp);
void streamd_route_device(streamd_request *req, streamd_response *resp);
void streamd_route_token(streamd_request *req, streamd_response *resp);
/* Account deletion: the viewer's own (password), the operator's (by id). */
void streamd_route_account_delete(streamd_request *req, streamd_response *resp);
void streamd_route_admin_account_delete(streamd_request *req, streamd_response *resp);
/* Account self-service: read it, sign out everywhere, change or reset the password. */
void streamd_route_account_get(streamd_request *req, streamd_response *resp);
void streamd_route_account_logout_all(streamd_request *req, streamd_response *resp);
void streamd_route_account_password(streamd_request *req, streamd_response *resp);
void streamd_route_password_reset(streamd_request *req, streamd_response *resp);
void streamd_route_password_reset_confirm(streamd_request *req, streamd_response *resp);

/* Shared by the auth-facing routes (defined in routes_auth.c). */
/* The address sign-in attempts are rate-limited by: the peer, or X-Forwarded-For if trusted. */
void streamd_login_address(char *out, size_t n, const streamd_request *req);
/* 429 problem with Retry-After (seconds, at least 1). */
void streamd_reply_rate_limited(streamd_response *resp, const streamd_request *req,
                                long long retry_after, const char *detail);
/* 200 token response (RFC 6749 §5.1 plus account/profile ids); wipes `t`. */
void streamd_reply_tokens(streamd_response *resp, const streamd_request *req,
                          stream_auth_tokens *t);

/* activate.c: the TV sign-in page. */
void streamd_route_activate_get(streamd_request *req, streamd_response *resp);
void streamd_route_activate_post(streamd_request *req, streamd_response *resp);

/* routes_profiles.c */
void streamd_route_profiles_list(streamd_request *req, streamd_response *resp);
void streamd_route_profiles_create(streamd_request *req, streamd_response *resp);
void streamd_route_profiles_update(streamd_request *req, streamd_response *resp);
void streamd_route_profiles_delete(streamd_request *req, streamd_response *resp);
void streamd_route_profiles_switch(streamd_request *req, streamd_response *resp);

/* routes_catalog.c */
void streamd_route_genres(streamd_request *req, streamd_response *resp);
void streamd_route_browse(streamd_request *req, streamd_response *resp);
void streamd_route_search(streamd_request *req, streamd_response *resp);
void streamd_route_title(streamd_request *req, streamd_response *resp);
void streamd_route_progress_put(streamd_request *req, streamd_response *resp);
void streamd_route_continue_watching(streamd_request *req, streamd_response *resp);
void streamd_route_mylist_get(streamd_request *req, streamd_response *resp);
void streamd_route_mylist_put(streamd_request *req, streamd_response *resp);
void streamd_route_mylist_delete(streamd_request *req, streamd_response *resp);

/* routes_ratings.c: thumbs up/down of the token's profile. */
void streamd_route_rating_get(streamd_request *req, streamd_response *resp);
void streamd_route_rating_put(streamd_request *req, streamd_response *resp);
void streamd_route_rating_delete(streamd_request *req, streamd_response *resp);

/* routes_admin.c (operator) */
void streamd_route_admin_title_create(streamd_request *req, streamd_response *resp);
void streamd_route_admin_title_put(streamd_request *req, streamd_response *resp);
void streamd_route_admin_title_delete(streamd_request *req, streamd_response *resp);
void streamd_route_admin_import(streamd_request *req, streamd_response *resp);
void streamd_route_admin_purge(streamd_request *req, streamd_response *resp);

/*
 * routes_web.c: static files under web_root (the demo web player). The table's
 * "*" row: never matched by the router; http.c gives it GET/HEAD requests for
 * paths no route has, when web_root is set. Not an API route (not printed).
 */
void streamd_route_web(streamd_request *req, streamd_response *resp);

/* routes_playback.c: playback sessions (entitlement, screen lease, signed URLs). */
void streamd_route_playback_start(streamd_request *req, streamd_response *resp);
void streamd_route_playback_heartbeat(streamd_request *req, streamd_response *resp);
void streamd_route_playback_stop(streamd_request *req, streamd_response *resp);
/* routes_media.c: the signed origin under /v1/media/ (Range, ETag, gzip, sendfile). */
void streamd_route_media(streamd_request *req, streamd_response *resp);

/* routes_uploads.c: tus 1.0 uploads (operator); routes_jobs.c: jobs and assets (operator). */
void streamd_route_uploads_create(streamd_request *req, streamd_response *resp);
void streamd_route_uploads_head(streamd_request *req, streamd_response *resp);
void streamd_route_uploads_patch(streamd_request *req, streamd_response *resp);
void streamd_route_uploads_delete(streamd_request *req, streamd_response *resp);
void streamd_route_admin_jobs(streamd_request *req, streamd_response *resp);
void streamd_route_admin_job(streamd_request *req, streamd_response *resp);
void streamd_route_admin_assets(streamd_request *req, streamd_response *resp);

/* routes_events.c: player event batches (protobuf or JSON, gzip), stored all-or-nothing. */
void streamd_route_events_ingest(streamd_request *req, streamd_response *resp);
/*
 * The events token of a playback session (routes_playback.c): a JWT signed
 * with the access-token key ring (typ "events+jwt", aud "streamd-events",
 * sub = account, pid, sid, scope "events"), valid until `exp`; accepted only
 * by POST /v1/events. `*out` is freed with stream_free(). STREAM_OK or an error.
 */
struct streamd_app;
int streamd_events_token_issue(char **out, struct streamd_app *app, const char *account_id,
                               const char *profile_id, const char *session_id, int64_t exp);

/* routes_stats.c: operator QoE statistics (aggregates, concurrent viewers, one view). */
void streamd_route_admin_stats_qoe(streamd_request *req, streamd_response *resp);
void streamd_route_admin_stats_concurrent(streamd_request *req, streamd_response *resp);
void streamd_route_admin_stats_view(streamd_request *req, streamd_response *resp);

/* routes_recs.c: home-screen rows (viewer with a profile), the served model and retrain (operator).
 */
void streamd_route_home(streamd_request *req, streamd_response *resp);
void streamd_route_admin_recs(streamd_request *req, streamd_response *resp);
void streamd_route_admin_recs_retrain(streamd_request *req, streamd_response *resp);

/* routes_billing.c: plans, subscription, invoices, payment methods, entitlement, leases. */
void streamd_route_billing_plans(streamd_request *req, streamd_response *resp);
void streamd_route_billing_subscription_get(streamd_request *req, streamd_response *resp);
void streamd_route_billing_subscribe(streamd_request *req, streamd_response *resp);
void streamd_route_billing_change(streamd_request *req, streamd_response *resp);
void streamd_route_billing_cancel(streamd_request *req, streamd_response *resp);
void streamd_route_billing_resume(streamd_request *req, streamd_response *resp);
void streamd_route_billing_invoices(streamd_request *req, streamd_response *resp);
void streamd_route_billing_invoice(streamd_request *req, streamd_response *resp);
void streamd_route_billing_cards(streamd_request *req, streamd_response *resp);
void streamd_route_billing_card_add(streamd_request *req, streamd_response *resp);
void streamd_route_billing_card_delete(streamd_request *req, streamd_response *resp);
void streamd_route_billing_card_default(streamd_request *req, streamd_response *resp);
void streamd_route_billing_entitlement(streamd_request *req, streamd_response *resp);
void streamd_route_billing_leases(streamd_request *req, streamd_response *resp);
void streamd_route_billing_lease_acquire(streamd_request *req, streamd_response *resp);
void streamd_route_billing_lease_heartbeat(streamd_request *req, streamd_response *resp);
void streamd_route_billing_lease_release(streamd_request *req, streamd_response *resp);
/* routes_billing.c (operator) */
void streamd_route_admin_billing_plans(streamd_request *req, streamd_response *resp);
void streamd_route_admin_billing_plan_put(streamd_request *req, streamd_response *resp);
void streamd_route_admin_billing_subscriptions(streamd_request *req, streamd_response *resp);
void streamd_route_admin_billing_renewals(streamd_request *req, streamd_response *resp);
void streamd_route_admin_billing_refund(streamd_request *req, streamd_response *resp);
void streamd_route_admin_billing_books(streamd_request *req, streamd_response *resp);

#endif
