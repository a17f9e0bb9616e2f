/*
 * media rotate: turn decoded pictures upright according to the source's
 * display matrix, once per frame before the rungs scale them. libavfilter is
 * not a dependency, so the transpose is ours: a cache-blocked copy of each
 * plane (tiles of 32x32 samples), the 180-degree turn and the mirrors a
 * reversed row copy. The orientation follows the ffmpeg CLI's autorotate
 * rules (fftools' transpose/hflip/vflip choice from the matrix), so its own
 * autorotated decode is the reference the tests compare against.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "pipe_internal.h"

int media__orient_from_matrix(media__orient *o, const int32_t *m)
{
  memset(o, 0, sizeof *o);
  if (!m)
    return 0;
  double r = av_display_rotation_get(m);
  if (isnan(r))
    return 0;
  /* fftools' get_rotation(): the clockwise angle, rounded, in [0, 360). */
  double theta = -round(r);
  theta -= 360 * floor(theta / 360 + 0.9 / 360);
  if (fabs(theta - 90) < 1.0) {
    o->transpose = 1;
    o->flip_y = m[3] <= 0; /* "clock"; m[3] > 0: "cclock_flip", a plain transpose */
    o->degrees = 90;
  } else if (fabs(theta - 180) < 1.0) {
    o->flip_x = m[0] < 0;
    o->flip_y = m[4] < 0;
    o->degrees = 180;
  } else if (fabs(theta - 270) < 1.0) {
    o->transpose = 1;
    o->flip_x = 1; /* "cclock"; m[3] < 0: "clock_flip", both */
    o->flip_y = m[3] < 0;
    o->degrees = 270;
  } else if (fabs(theta) < 1.0) {
    o->flip_y = m[4] < 0;
  } else {
    return 0; /* not a right angle: reported by the probe, not applied */
  }
  return o->transpose || o->flip_x || o->flip_y;
}

int media__orient_of_stream(media__orient *o, const AVStream *st)
{
  const uint8_t *dm = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
  return media__orient_from_matrix(o, dm ? (const int32_t *)(const void *)dm : NULL);
}

#define TILE 32

/* 64-bit words for 8-bit samples where byte order and bswap are known. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && defined(__GNUC__)
#define FAST8 1
#endif

/* dst(x, y) = src(sx, sy) with (u, v) = transpose ? (y, x) : (x, y),
 * sx = flip_x ? sw - 1 - u : u, sy = flip_y ? sh - 1 - v : v; `es` bytes per
 * sample. Expressed as a start address and two steps: one dst column right
 * moves `sx_step` bytes in the source, one dst row down `sy_step`. */
#define DEFINE_KERNEL(NAME, ES)                                                                    \
  static void NAME(uint8_t *dst, ptrdiff_t dls, const uint8_t *start, ptrdiff_t step_x,            \
                   ptrdiff_t step_y, int dw, int dh)                                               \
  {                                                                                                \
    for (int ty = 0; ty < dh; ty += TILE) {                                                        \
      int ye = ty + TILE < dh ? ty + TILE : dh;                                                    \
      for (int tx = 0; tx < dw; tx += TILE) {                                                      \
        int xe = tx + TILE < dw ? tx + TILE : dw;                                                  \
        for (int y = ty; y < ye; y++) {                                                            \
          uint8_t *d = dst + y * dls + (ptrdiff_t)tx * (ES);                                       \
          const uint8_t *s = start + y * step_y + tx * step_x;                                     \
          for (int x = tx; x < xe; x++, d += (ES), s += step_x)                                    \
            memcpy(d, s, (ES));                                                                    \
        }                                                                                          \
      }                                                                                            \
    }                                                                                              \
  }

#ifndef FAST8
DEFINE_KERNEL(tile_es1, 1)
#endif
DEFINE_KERNEL(tile_es2, 2)
DEFINE_KERNEL(tile_es3, 3)
DEFINE_KERNEL(tile_es4, 4)
DEFINE_KERNEL(tile_es6, 6)
DEFINE_KERNEL(tile_es8, 8)

#ifdef FAST8
/* 8-bit samples, transposed: 8x8 blocks through eight 64-bit words (eight
 * source bytes that are contiguous in memory per dst column, an 8x8 byte
 * transpose in three mask-and-shift stages, eight stores), in 32x32 tiles;
 * the ragged right and bottom edges sample by sample. */
static void transpose8(uint8_t *dst, ptrdiff_t dls, const uint8_t *start, ptrdiff_t step_x,
                       ptrdiff_t step_y, int dw, int dh)
{
  int dw8 = dw & ~7, dh8 = dh & ~7;
  for (int ty = 0; ty < dh8; ty += TILE) {
    int ye = ty + TILE < dh8 ? ty + TILE : dh8;
    for (int tx = 0; tx < dw8; tx += TILE) {
      int xe = tx + TILE < dw8 ? tx + TILE : dw8;
      for (int by = ty; by < ye; by += 8)
        for (int bx = tx; bx < xe; bx += 8) {
          uint64_t r[8];
          for (int x = 0; x < 8; x++) {
            const uint8_t *p = start + (bx + x) * step_x + by * step_y;
            if (step_y > 0) {
              memcpy(&r[x], p, 8);
            } else {
              memcpy(&r[x], p - 7, 8);
              r[x] = __builtin_bswap64(r[x]);
            }
          }
          for (int i = 0; i < 8; i += 2) {
            uint64_t t = ((r[i] >> 8) ^ r[i + 1]) & 0x00FF00FF00FF00FFull;
            r[i + 1] ^= t;
            r[i] ^= t << 8;
          }
          for (int i = 0; i < 8; i += (i & 1) ? 3 : 1) {
            uint64_t t = ((r[i] >> 16) ^ r[i + 2]) & 0x0000FFFF0000FFFFull;
            r[i + 2] ^= t;
            r[i] ^= t << 16;
          }
          for (int i = 0; i < 4; i++) {
            uint64_t t = ((r[i] >> 32) ^ r[i + 4]) & 0x00000000FFFFFFFFull;
            r[i + 4] ^= t;
            r[i] ^= t << 32;
          }
          for (int y = 0; y < 8; y++)
            memcpy(dst + (by + y) * dls + bx, &r[y], 8);
        }
    }
  }
  for (int y = 0; y < dh; y++) {
    int x0 = y < dh8 ? dw8 : 0;
    uint8_t *d = dst + y * dls;
    const uint8_t *s = start + y * step_y;
    for (int x = x0; x < dw; x++)
      d[x] = s[x * step_x];
  }
}
#endif

/* Rows only (no transpose): each dst row is one source row, forwards
 * (memcpy) or backwards. */
static void rows_copy(uint8_t *dst, ptrdiff_t dls, const uint8_t *start, ptrdiff_t step_x,
                      ptrdiff_t step_y, int dw, int dh, size_t es)
{
  for (int y = 0; y < dh; y++) {
    uint8_t *d = dst + y * dls;
    const uint8_t *s = start + y * step_y;
    if (step_x == (ptrdiff_t)es) {
      memcpy(d, s, (size_t)dw * es);
      continue;
    }
    switch (es) {
    case 1: {
      int x = 0;
#ifdef FAST8
      for (; x + 8 <= dw; x += 8) {
        uint64_t v;
        memcpy(&v, s - x - 7, 8);
        v = __builtin_bswap64(v);
        memcpy(d + x, &v, 8);
      }
#endif
      for (; x < dw; x++)
        d[x] = s[-x];
      break;
    }
    case 2:
      for (int x = 0; x < dw; x++, d += 2, s -= 2)
        memcpy(d, s, 2);
      break;
    default:
      for (int x = 0; x < dw; x++, d += es, s -= es)
        memcpy(d, s, es);
      break;
    }
  }
}

int media__rotate_plane(uint8_t *dst, ptrdiff_t dst_linesize, const uint8_t *src,
                        ptrdiff_t src_linesize, int sw, int sh, size_t es, const media__orient *o)
{
  if (!dst || !src || !o || sw < 1 || sh < 1 || es < 1 || es > 8 || es == 5 || es == 7)
    return STREAM_EINVAL;
  ptrdiff_t e = (ptrdiff_t)es;
  const uint8_t *start =
      src + (o->flip_y ? (ptrdiff_t)(sh - 1) * src_linesize : 0) + (o->flip_x ? (sw - 1) * e : 0);
  ptrdiff_t col = o->flip_x ? -e : e;                       /* next source column */
  ptrdiff_t row = o->flip_y ? -src_linesize : src_linesize; /* next source row */
  int dw = o->transpose ? sh : sw, dh = o->transpose ? sw : sh;
  ptrdiff_t step_x = o->transpose ? row : col, step_y = o->transpose ? col : row;
  if (!o->transpose) {
    rows_copy(dst, dst_linesize, start, step_x, step_y, dw, dh, es);
    return STREAM_OK;
  }
  switch (es) {
  case 1:
#ifdef FAST8
    transpose8(dst, dst_linesize, start, step_x, step_y, dw, dh);
#else
    tile_es1(dst, dst_linesize, start, step_x, step_y, dw, dh);
#endif
    break;
  case 2:
    tile_es2(dst, dst_linesize, start, step_x, step_y, dw, dh);
    break;
  case 3:
    tile_es3(dst, dst_linesize, start, step_x, step_y, dw, dh);
    break;
  case 4:
    tile_es4(dst, dst_linesize, start, step_x, step_y, dw, dh);
    break;
  case 6:
    tile_es6(dst, dst_linesize, start, step_x, step_y, dw, dh);
    break;
  default:
    tile_es8(dst, dst_linesize, start, step_x, step_y, dw, dh);
    break;
  }
  return STREAM_OK;
}

struct media__rotator {
  media__orient o;
  int src_w, src_h, src_fmt; /* configured for these input frames */
  int work_fmt;              /* format that is rotated: src_fmt, or yuv420p after `conv` */
  int dst_fmt;               /* work_fmt, or its chroma-transposed twin (4:2:2 -> 4:4:0) */
  int dst_w, dst_h;
  int nb_planes;
  size_t es[4];     /* bytes per sample of each plane */
  int pw[4], ph[4]; /* source plane size in samples */
  struct SwsContext *conv;
  AVFrame *tmp; /* the converted picture (reused; not referenced after apply) */
  AVBufferPool *pool;
  int linesize[4];
  size_t offset[4];
};

/* Planes whose samples can be moved whole: no bitstream, palette or hardware
 * formats, no packed chroma subsampling (yuyv422). Fills es[] and returns
 * the plane count, or 0 when the format must be converted first. */
static int plane_layout(const AVPixFmtDescriptor *d, size_t es[4])
{
  if (!d || (d->flags & (AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_PAL |
                         AV_PIX_FMT_FLAG_BAYER)))
    return 0;
  int n = av_pix_fmt_count_planes(av_pix_fmt_desc_get_id(d));
  if (n < 1 || n > 4)
    return 0;
  if (n == 1 && (d->log2_chroma_w || d->log2_chroma_h) && d->nb_components > 1)
    return 0;
  for (int p = 0; p < 4; p++)
    es[p] = 0;
  for (int c = 0; c < d->nb_components; c++) {
    int p = d->comp[c].plane;
    if (p < 0 || p >= n || d->comp[c].step < 1)
      return 0;
    if ((size_t)d->comp[c].step > es[p])
      es[p] = (size_t)d->comp[c].step;
  }
  for (int p = 0; p < n; p++)
    if (es[p] < 1 || es[p] > 8 || es[p] == 5 || es[p] == 7)
      return 0;
  return n;
}

/* The format whose chroma subsampling is `d`'s turned by 90 degrees, with
 * the same samples (yuv422p -> yuv440p, yuv422p10le -> yuv440p10le). */
static int transposed_format(const AVPixFmtDescriptor *d)
{
  if (d->log2_chroma_w == d->log2_chroma_h)
    return av_pix_fmt_desc_get_id(d);
  for (const AVPixFmtDescriptor *x = av_pix_fmt_desc_next(NULL); x; x = av_pix_fmt_desc_next(x)) {
    if (x->nb_components != d->nb_components || x->flags != d->flags ||
        x->log2_chroma_w != d->log2_chroma_h || x->log2_chroma_h != d->log2_chroma_w)
      continue;
    if (memcmp(x->comp, d->comp, sizeof d->comp) == 0)
      return av_pix_fmt_desc_get_id(x);
  }
  return AV_PIX_FMT_NONE;
}

static void release(media__rotator *r)
{
  sws_freeContext(r->conv);
  r->conv = NULL;
  av_frame_free(&r->tmp);
  av_buffer_pool_uninit(&r->pool);
}

static int configure(media__rotator *r, int w, int h, int fmt)
{
  release(r);
  r->src_w = w;
  r->src_h = h;
  r->src_fmt = fmt;
  const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)fmt);
  int n = plane_layout(d, r->es);
  int dst_fmt = n ? (r->o.transpose ? transposed_format(d) : fmt) : AV_PIX_FMT_NONE;
  r->work_fmt = fmt;
  if (dst_fmt == AV_PIX_FMT_NONE) {
    /* No way to move this format's samples whole (or no format for its
     * turned subsampling): convert to yuv420p, what the encoders take. */
    r->work_fmt = AV_PIX_FMT_YUV420P;
    dst_fmt = AV_PIX_FMT_YUV420P;
    d = av_pix_fmt_desc_get(AV_PIX_FMT_YUV420P);
    n = plane_layout(d, r->es);
    r->conv = sws_getContext(w, h, (enum AVPixelFormat)fmt, w, h, AV_PIX_FMT_YUV420P, SWS_BICUBIC,
                             NULL, NULL, NULL);
    r->tmp = av_frame_alloc();
    if (!r->conv || !r->tmp)
      return stream__err(STREAM_EMEDIA, "media rotate: cannot convert %dx%d %s frames", w, h,
                         av_get_pix_fmt_name((enum AVPixelFormat)fmt));
    r->tmp->format = AV_PIX_FMT_YUV420P;
    r->tmp->width = w;
    r->tmp->height = h;
    if (av_frame_get_buffer(r->tmp, 0) < 0)
      return stream__err(STREAM_ENOMEM, "media rotate: out of memory");
  }
  r->dst_fmt = dst_fmt;
  r->nb_planes = n;
  r->dst_w = r->o.transpose ? h : w;
  r->dst_h = r->o.transpose ? w : h;
  const AVPixFmtDescriptor *dd = av_pix_fmt_desc_get((enum AVPixelFormat)dst_fmt);
  size_t total = 0;
  for (int p = 0; p < n; p++) {
    int sub = p == 1 || p == 2; /* av_image_fill_linesizes' rule */
    r->pw[p] = sub ? AV_CEIL_RSHIFT(w, d->log2_chroma_w) : w;
    r->ph[p] = sub ? AV_CEIL_RSHIFT(h, d->log2_chroma_h) : h;
    int dpw = sub ? AV_CEIL_RSHIFT(r->dst_w, dd->log2_chroma_w) : r->dst_w;
    int dph = sub ? AV_CEIL_RSHIFT(r->dst_h, dd->log2_chroma_h) : r->dst_h;
    if (dpw != (r->o.transpose ? r->ph[p] : r->pw[p]) ||
        dph != (r->o.transpose ? r->pw[p] : r->ph[p]))
      return stream__err(STREAM_EINTERNAL, "media rotate: plane %d of %s does not turn", p,
                         dd->name);
    r->linesize[p] = FFALIGN(dpw * (int)r->es[p], 64);
    r->offset[p] = total;
    total += FFALIGN((size_t)r->linesize[p] * (size_t)dph, 64);
  }
  /* + padding: SIMD readers may go a little past the last row */
  r->pool = av_buffer_pool_init(total + 256, av_buffer_allocz);
  if (!r->pool)
    return stream__err(STREAM_ENOMEM, "media rotate: out of memory");
  return STREAM_OK;
}

int media__rotator_new(media__rotator **out, const media__orient *o)
{
  *out = NULL;
  if (!o || !(o->transpose || o->flip_x || o->flip_y))
    return stream__err(STREAM_EINVAL, "media rotate: no rotation to apply");
  media__rotator *r = calloc(1, sizeof *r);
  if (!r)
    return stream__err(STREAM_ENOMEM, "media rotate: out of memory");
  r->o = *o;
  r->src_fmt = AV_PIX_FMT_NONE;
  *out = r;
  return STREAM_OK;
}

int media__rotator_apply(media__rotator *r, AVFrame *dst, const AVFrame *src)
{
  if (!r || !dst || !src || src->width < 1 || src->height < 1 || !src->data[0])
    return stream__err(STREAM_EINVAL, "media rotate: no picture");
  if (!r->pool || r->src_w != src->width || r->src_h != src->height || r->src_fmt != src->format) {
    int rc = configure(r, src->width, src->height, src->format);
    if (rc != STREAM_OK) {
      release(r);
      return rc;
    }
  }
  const uint8_t *const *in = (const uint8_t *const *)src->data;
  const int *in_ls = src->linesize;
  if (r->conv) {
    sws_scale(r->conv, in, in_ls, 0, src->height, r->tmp->data, r->tmp->linesize);
    in = (const uint8_t *const *)r->tmp->data;
    in_ls = r->tmp->linesize;
  }
  av_frame_unref(dst);
  dst->buf[0] = av_buffer_pool_get(r->pool);
  if (!dst->buf[0])
    return stream__err(STREAM_ENOMEM, "media rotate: out of memory");
  for (int p = 0; p < r->nb_planes; p++) {
    dst->data[p] = dst->buf[0]->data + r->offset[p];
    dst->linesize[p] = r->linesize[p];
    media__rotate_plane(dst->data[p], dst->linesize[p], in[p], in_ls[p], r->pw[p], r->ph[p],
                        r->es[p], &r->o);
  }
  int rc = av_frame_copy_props(dst, src);
  if (rc < 0) {
    av_frame_unref(dst);
    return stream__err(STREAM_ENOMEM, "media rotate: out of memory");
  }
  /* The picture is upright now: a player must not turn it again. */
  av_frame_remove_side_data(dst, AV_FRAME_DATA_DISPLAYMATRIX);
  dst->format = r->dst_fmt;
  dst->width = r->dst_w;
  dst->height = r->dst_h;
  if (r->o.transpose && src->sample_aspect_ratio.num > 0 && src->sample_aspect_ratio.den > 0)
    dst->sample_aspect_ratio =
        (AVRational){src->sample_aspect_ratio.den, src->sample_aspect_ratio.num};
  if (r->conv)
    dst->color_range = AVCOL_RANGE_MPEG; /* swscale's yuv420p output is limited range */
  return STREAM_OK;
}

void media__rotator_free(media__rotator *r)
{
  if (!r)
    return;
  release(r);
  free(r);
}
