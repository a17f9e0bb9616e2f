/*
 * The origin's CMCD (CTA-5004 v1, stream/cmcd.h): the client data a player
 * attaches to each media request, read from the CMCD-Object / -Request /
 * -Session / -Status headers or, when none of them is present, from the
 * `CMCD` query argument (headers win, CTA-5004 §2). It never changes the
 * answer: an invalid payload is ignored and counted. The access-log line of
 * the request gets a "cmcd" object with the player's sid, cid, ot, br, bl,
 * mtp, su, bs, sf and st (those sent), or "cmcd_error" naming what was wrong.
 * Metrics (metrics.h, rendered by metrics_ops.c), of requests whose signature verified:
 *   streamd_origin_cmcd_requests_total{ot}               counter: media requests
 *       with valid CMCD, by object type (m a v av i c tt k o, "none" without ot)
 *   streamd_origin_cmcd_invalid_total                    counter: media requests
 *       whose CMCD was refused (and ignored)
 *   streamd_origin_cmcd_buffer_starvation_total          counter: requests with bs
 *   streamd_origin_cmcd_startup_requests_total           counter: requests with su
 * Counters are lock-free; any worker thread may call these.
 */
#ifndef STREAMD_ORIGIN_CMCD_H
#define STREAMD_ORIGIN_CMCD_H

#include <stdio.h>

#include "http.h"

/* What one request's CMCD adds to the counters, once the request passed the origin's
 * signature check (counting before would let anyone move them with unsigned requests). */
typedef struct streamd_origin_cmcd_tally {
  int kind;    /* 0 none, 1 valid, 2 invalid */
  unsigned ot; /* slot of the ot label (valid) */
  int bs, su;  /* buffer starvation, startup (valid) */
} streamd_origin_cmcd_tally;

/* Read the CMCD of the media request `req` (if any) and attach its access-log fields to
 * req->access_fields (every request, refused ones too); `*t` receives what
 * streamd_origin_cmcd_count() adds. Never fails the request. */
void streamd_origin_cmcd(streamd_request *req, streamd_origin_cmcd_tally *t);

/* Add `t` to the counters: called for a request the origin verified. */
void streamd_origin_cmcd_count(const streamd_origin_cmcd_tally *t);

/* Append the CMCD families to a /metrics exposition. */
void streamd_origin_cmcd_render_metrics(FILE *f);

#endif
