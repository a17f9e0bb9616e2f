/*
 * Helpers shared by the manifest writers (manifest_hls.c, manifest_dash.c)
 * and media__package_measure (package_util.c). Internal to the media module.
 */
#ifndef STREAM_MEDIA_PACKAGE_UTIL_H
#define STREAM_MEDIA_PACKAGE_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "../core/core.h"
#include "media_internal.h"

/* A run of timed byte spans: segments or key frames. */
typedef void (*media__span_fn)(const void *items, size_t i, uint64_t *bytes, int64_t *duration);
void media__segment_span(const void *items, size_t i, uint64_t *bytes, int64_t *duration);
void media__keyframe_span(const void *items, size_t i, uint64_t *bytes, int64_t *duration);

/* RFC 8216 §4.3.3.1 target duration of a run: the largest duration rounded to
 * the nearest integer second (at least 1). */
int media__span_target(const void *items, size_t n, media__span_fn get, int64_t timescale);
/* Target duration shared by every media playlist of the package (Apple 8.2). */
int media__package_target(const media__package *p);

/* RFC 8216 §4.3.4.2 peak segment bit rate: the largest bit rate of any
 * contiguous run of spans lasting 0.5 to 1.5 times `target` seconds (the
 * largest single span if no run qualifies). bits/s, rounded to nearest. */
int64_t media__span_peak(const void *items, size_t n, media__span_fn get, int64_t timescale,
                         int target);
/* Total bytes * 8 / total duration, bits/s rounded to nearest. */
int64_t media__span_average(const void *items, size_t n, media__span_fn get, int64_t timescale);

/* Peak and average of a rendition: the measured fields when set (> 0),
 * computed from the segments otherwise. */
int64_t media__rendition_peak(const media__rendition *r, int target);
int64_t media__rendition_average(const media__rendition *r);

/* Check everything the writers rely on; STREAM_EINVAL naming the problem. */
int media__package_validate(const char *outdir, const media__package *p);

/* File name of segment `i` (0-based) of `r` from its validated pattern. */
int media__segment_name(char *out, size_t cap, const media__rendition *r, size_t i);
/* The pattern as a DASH template ("seg_%05u.m4s" -> "seg_$Number%05d$.m4s"). */
int media__segment_template(char *out, size_t cap, const media__rendition *r);

/* Write `len` bytes to outdir/rel atomically (temp file in the same directory,
 * then rename). STREAM_EIO naming the path on failure. */
int media__write_file(const char *outdir, const char *rel, const char *data, size_t len);

/* Seconds of `ticks` at `timescale`. */
double media__seconds(int64_t ticks, int64_t timescale);

#endif
