/*
 * media ladder: plan the video rungs from Apple's H.264 table (HLS authoring
 * spec 1.25), a preset, a list of rung names or a custom ladder. Never
 * upscales, keeps the source's display aspect ratio with even dimensions,
 * caps the frame rate at the source's and at 60 (30 for the three lowest
 * Apple rungs).
 *
 * Orientation: the display size is the coded size with the SAR applied to
 * the width, turned for a 90/270 display rotation. A portrait source
 * (display height > width) is planned by transposition: the ladder is
 * planned for the same picture turned landscape, then every rung's width
 * and height are swapped (1080x1920 gets 1080x1920@6000k, 720x1280...), so
 * a rung's pixel budget and bitrate do not depend on the orientation.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pipe_internal.h"

typedef struct apple_rung {
  const char *name;
  int width, height;
  int64_t bitrate;
  int max_fps;
} apple_rung;

static const apple_rung apple[] = {
    {"1080p", 1920, 1080, 6000000, 60}, {"720p_hi", 1280, 720, 4500000, 60},
    {"720p", 1280, 720, 3000000, 60},   {"540p", 960, 540, 2000000, 60},
    {"432p", 768, 432, 730000, 30},     {"360p", 640, 360, 365000, 30},
    {"234p", 416, 234, 145000, 30}};
#define NAPPLE (sizeof apple / sizeof apple[0])

static const struct {
  const char *name;
  const char *list;
} presets[] = {{"apple", "1080p,720p_hi,720p,540p,432p,360p,234p"},
               {"web", "720p,360p"},
               {"small", "540p,360p,234p"}};

#define MAX_DIM 8192

static int even_round(double x)
{
  if (!(x < 1e9))
    return 1000000000; /* an absurd aspect ratio: over every size limit, no int overflow */
  long v = lround(x / 2.0) * 2;
  return v < 2 ? 2 : (int)v;
}

/* The size the ladder is planned for: the source's display size (SAR
 * applied to the width, turned for 90/270), landscape. */
typedef struct geom {
  double w, h;  /* display size, w >= h (or as shown when not portrait) */
  int portrait; /* 1: the display is taller than wide; rungs get swapped */
} geom;

static geom display_geom(const stream_media_info *info)
{
  double sar = info->sar_num > 0 && info->sar_den > 0 ? (double)info->sar_num / info->sar_den : 1.0;
  geom g = {info->width * sar, info->height, 0};
  if (info->rotation == 90 || info->rotation == 270) {
    g.w = info->height;
    g.h = info->width * sar;
  }
  if (g.h > g.w) {
    double t = g.w;
    g.w = g.h;
    g.h = t;
    g.portrait = 1;
  }
  return g;
}

static void cap_fps(const stream_media_info *info, int max_fps, int *num, int *den)
{
  int n = info->fps_num, d = info->fps_den;
  if (n <= 0 || d <= 0) {
    n = 30;
    d = 1;
  }
  /* Keep every k-th frame, k the smallest that fits (59.94 -> 29.97, 120 ->
   * 60 or 30, 90 -> 45 or 30, 75 -> 25, 144 -> 28.8): a regular cadence at
   * the highest rate allowed (halving again and again gave 75 -> 18.75). */
  int64_t k = 1;
  while ((double)n / ((double)d * (double)k) > max_fps + 0.01)
    k++;
  int64_t rn = n, rd = (int64_t)d * k, a = rn, b = rd;
  while (b) {
    int64_t t = a % b;
    a = b;
    b = t;
  }
  rn /= a;
  rd /= a;
  if (rd > INT32_MAX) { /* an absurd rate: the cap itself */
    rn = max_fps;
    rd = 1;
  }
  *num = (int)rn;
  *den = (int)rd;
}

static int add_rung(stream_media_ladder *out, const stream_media_info *info, const geom *g,
                    const char *name, int height, int width, int64_t bitrate, int max_fps,
                    int fps_num, int fps_den)
{
  double sw = g->w, sh = g->h;
  if (out->count >= STREAM_MEDIA_MAX_RUNGS)
    return stream__err(STREAM_EINVAL, "media ladder: more than %d rungs", STREAM_MEDIA_MAX_RUNGS);
  stream_media_rung *r = &out->rungs[out->count];
  memset(r, 0, sizeof *r);
  snprintf(r->name, sizeof r->name, "%s", name);
  r->height = height;
  r->width = width > 0 ? width : even_round(height * sw / sh);
  r->bitrate = bitrate;
  if (fps_num > 0 && fps_den > 0) {
    double f = (double)fps_num / fps_den, src = (double)info->fps_num / info->fps_den;
    if (f > src + 0.001 || f > 60.001) {
      int n, d;
      cap_fps(info, 60, &n, &d);
      r->fps_num = n;
      r->fps_den = d;
    } else {
      r->fps_num = fps_num;
      r->fps_den = fps_den;
    }
  } else {
    cap_fps(info, max_fps, &r->fps_num, &r->fps_den);
  }
  out->count++;
  return STREAM_OK;
}

static int fits(const geom *g, int width, int height)
{
  return height <= g->h + 0.5 && width <= g->w + 1.5;
}

/* A source whose display aspect ratio (its SAR, most often a bogus one)
 * makes even its smallest rung wider than an encoder takes. */
static int aspect_err(const stream_media_info *info, const geom *g, int w, int h)
{
  return stream__err(STREAM_EMEDIA,
                     "media ladder: the source's display aspect ratio (%dx%d, SAR %d:%d: %s%.1f%s) "
                     "is too extreme: a rung would be %dx%d (at most %d a side)",
                     info->width, info->height, info->sar_num, info->sar_den,
                     g->portrait ? "1:" : "", g->w / g->h, g->portrait ? "" : ":1",
                     g->portrait ? h : w, g->portrait ? w : h, MAX_DIM);
}

static int plan_names(stream_media_ladder *out, const stream_media_info *info, const geom *g,
                      const char *list)
{
  char buf[256];
  if (strlen(list) >= sizeof buf)
    return stream__err(STREAM_EINVAL, "media ladder: the rung list is too long");
  for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
    if (strcmp(list, presets[i].name) == 0)
      list = presets[i].list;
  snprintf(buf, sizeof buf, "%s", list);
  int any = 0, too_wide = 0;
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    const apple_rung *a = NULL;
    for (size_t i = 0; i < NAPPLE; i++)
      if (strcmp(tok, apple[i].name) == 0)
        a = &apple[i];
    if (!a)
      return stream__err(STREAM_EINVAL,
                         "media ladder: unknown rung or preset '%s' (presets: apple, web, small; "
                         "rungs: 1080p, 720p_hi, 720p, 540p, 432p, 360p, 234p)",
                         tok);
    any = 1;
    for (size_t k = 0; k < out->count; k++)
      if (strcmp(out->rungs[k].name, a->name) == 0)
        return stream__err(STREAM_EINVAL, "media ladder: rung '%s' is listed twice", tok);
    int w = even_round(a->height * g->w / g->h);
    if (!fits(g, w, a->height)) {
      continue; /* never upscale */
    }
    if (w > MAX_DIM) {
      too_wide = 1; /* an extreme display aspect ratio: no encoder takes that width */
      continue;
    }
    int rc = add_rung(out, info, g, a->name, a->height, 0, a->bitrate, a->max_fps, 0, 0);
    if (rc != STREAM_OK)
      return rc;
  }
  if (!any)
    return stream__err(STREAM_EINVAL, "media ladder: the rung list is empty");
  if (out->count == 0) {
    /* Every rung is above the source: one rung at the source's size, with the
     * bitrate of the lowest Apple rung at or above it. */
    int h = (int)g->h & ~1;
    if (h < 2)
      h = 2;
    int64_t br = apple[NAPPLE - 1].bitrate;
    for (size_t i = 0; i < NAPPLE; i++)
      if (apple[i].height >= h)
        br = apple[i].bitrate * h / apple[i].height;
    char name[16];
    snprintf(name, sizeof name, "%dp", h);
    if (too_wide || even_round(h * g->w / g->h) > MAX_DIM)
      return aspect_err(info, g, even_round(h * g->w / g->h), h);
    return add_rung(out, info, g, name, h, 0, br < 100000 ? 100000 : br, 30, 0, 0);
  }
  return STREAM_OK;
}

static int plan(stream_media_ladder *out, const stream_media_info *info,
                const stream_media_job_options *opts)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "media ladder: out is NULL");
  memset(out, 0, sizeof *out);
  if (!info || !opts)
    return stream__err(STREAM_EINVAL, "media ladder: info or options is NULL");
  if (opts->version != STREAM_MEDIA_JOB_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "media ladder: options version %u is not supported (want %u)",
                       opts->version, STREAM_MEDIA_JOB_OPTIONS_VERSION);
  if (info->width <= 0 || info->height <= 0 || info->fps_num <= 0 || info->fps_den <= 0)
    return stream__err(STREAM_EINVAL, "media ladder: the source info has no size or frame rate");
  if (opts->rung_count > STREAM_MEDIA_MAX_RUNGS)
    return stream__err(STREAM_EINVAL, "media ladder: rung_count %zu is over the limit of %d",
                       opts->rung_count, STREAM_MEDIA_MAX_RUNGS);
  geom gm = display_geom(info);
  const geom *g = &gm;
  int too_wide_w = 0, too_wide_h = 0;
  if (opts->rung_count == 0)
    return plan_names(out, info, g, opts->ladder && *opts->ladder ? opts->ladder : "apple");
  for (size_t i = 0; i < opts->rung_count; i++) {
    const stream_media_rung *c = &opts->rungs[i];
    if (memchr(c->name, 0, sizeof c->name) == NULL)
      return stream__err(STREAM_EINVAL, "media ladder: rung %zu: name is not NUL-terminated", i);
    if (c->height <= 0 || c->height > MAX_DIM || c->height % 2)
      return stream__err(STREAM_EINVAL,
                         "media ladder: rung %zu: height %d must be even and in 2..%d", i,
                         c->height, MAX_DIM);
    if (c->width < 0 || c->width > MAX_DIM || c->width % 2)
      return stream__err(STREAM_EINVAL,
                         "media ladder: rung %zu: width %d must be even and in 0..%d (0: from "
                         "the aspect ratio)",
                         i, c->width, MAX_DIM);
    if (c->bitrate < 10000 || c->bitrate > 800000000)
      return stream__err(STREAM_EINVAL,
                         "media ladder: rung %zu: bitrate %lld must be in 10000..800000000", i,
                         (long long)c->bitrate);
    if ((c->fps_num != 0 || c->fps_den != 0) && (c->fps_num <= 0 || c->fps_den <= 0))
      return stream__err(STREAM_EINVAL, "media ladder: rung %zu: frame rate %d/%d is invalid", i,
                         c->fps_num, c->fps_den);
    for (const char *p = c->name; *p; p++)
      if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
        return stream__err(STREAM_EINVAL,
                           "media ladder: rung %zu: name '%s' may only hold a-z 0-9 _", i, c->name);
    int w = c->width > 0 ? c->width : even_round(c->height * g->w / g->h);
    if (!fits(g, w, c->height))
      continue; /* never upscale */
    if (w > MAX_DIM) {
      too_wide_w = w;
      too_wide_h = c->height;
      continue; /* the width from an extreme display aspect ratio */
    }
    char name[16];
    if (c->name[0])
      snprintf(name, sizeof name, "%s", c->name);
    else
      snprintf(name, sizeof name, "%dp", c->height);
    int rc =
        add_rung(out, info, g, name, c->height, c->width, c->bitrate, 60, c->fps_num, c->fps_den);
    if (rc != STREAM_OK)
      return rc;
  }
  if (out->count == 0 && too_wide_w)
    return aspect_err(info, g, too_wide_w, too_wide_h);
  if (out->count == 0)
    return stream__err(STREAM_EINVAL,
                       "media ladder: every custom rung is larger than the %dx%d source",
                       info->width, info->height);
  return STREAM_OK;
}

int stream_media_ladder_plan(stream_media_ladder *out, const stream_media_info *info,
                             const stream_media_job_options *opts)
{
  int rc = plan(out, info, opts);
  if (rc != STREAM_OK || !display_geom(info).portrait)
    return rc;
  for (size_t i = 0; i < out->count; i++) {
    int t = out->rungs[i].width;
    out->rungs[i].width = out->rungs[i].height;
    out->rungs[i].height = t;
  }
  return STREAM_OK;
}
