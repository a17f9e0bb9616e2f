/*
 * Thumbnails of a title (issue #4 item 5): a poster JPEG, JPEG sprite sheets of
 * small tiles taken every `interval` seconds, and a WebVTT thumbnail track whose
 * cues point into the sheets with `#xywh=` media fragments.
 *
 * The pipeline pushes every decoded source frame in presentation order; this
 * file owns picking frames (the first frame at or after k * interval), scaling
 * them with libswscale to full-range 4:2:0 (JPEG/JFIF: BT.601 matrix, full
 * range), composing sheets of columns x rows tiles, and encoding sheets and the
 * poster with libavcodec's mjpeg encoder. Memory is bounded: one sheet, one
 * tile and one poster image at a time; the VTT track is streamed to a
 * temporary file. Every file is written to "<name>.tmp" and renamed into place.
 *
 * Geometry decisions:
 * - The display aspect ratio (DAR = width * SAR / height) is kept. When the
 *   tile height (or width) is 0 it follows from the DAR (rounded to even), so
 *   tiles are exactly the picture. When both are given and the DAR differs,
 *   the picture is letterboxed (black bars, centred) inside the tile, never
 *   cropped, so the preview always shows the whole frame.
 * - The last sheet is trimmed to the tiles it holds: ceil(n / columns) rows,
 *   and n columns when n < columns. Full sheets are columns x rows tiles.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "core/core.h"
#include "media_internal.h"

#define THUMBS_EPS 1e-6 /* seconds: float slack when comparing times */
#define THUMBS_TILE_MIN 8
#define THUMBS_TILE_MAX 2048
#define THUMBS_SHEET_MAX 8192 /* pixels per sheet side */
#define THUMBS_POSTER_MAX 7680
#define THUMBS_POSTER_DEFAULT_CAP 1280
#define THUMBS_GRID_MAX 50
#define THUMBS_INTERVAL_MIN 0.1 /* keeps cue times distinct at ms resolution */
#define THUMBS_INTERVAL_MAX 3600.0
#define THUMBS_SRC_MAX 16384
#define THUMBS_Q_SPRITE 5 /* mjpeg qscale (2 best .. 31 worst) */
#define THUMBS_Q_POSTER 3

enum { POSTER_NONE = 0, POSTER_CANDIDATE = 1, POSTER_WRITTEN = 2 };

struct media__thumbs {
  char *outdir;
  /* geometry */
  int tile_w, tile_h;                             /* one cell of a sheet */
  int content_x, content_y, content_w, content_h; /* the picture inside a cell */
  int cols, rows;
  int poster_w, poster_h;
  double interval;
  double poster_time;
  double duration;
  /* scaling, rebuilt when the pushed frames change size or format */
  struct SwsContext *tile_sws, *poster_sws;
  int sws_w, sws_h, sws_fmt, sws_range, sws_space;
  AVFrame *tile;   /* content_w x content_h */
  AVFrame *sheet;  /* cols*tile_w x rows*tile_h */
  AVFrame *poster; /* poster_w x poster_h */
  int poster_state;
  /* progress */
  uint64_t tiles;          /* tiles captured so far (= index of the next tile) */
  unsigned int sheet_fill; /* tiles in the current sheet */
  unsigned int sheet_index;
  FILE *vtt;
  char *vtt_tmp;
  char *vtt_path;
  double last_t, prev_t;
  uint64_t frames;
  int finished;
};

/* ---- small helpers -------------------------------------------------------- */

static int even_round(double x)
{
  if (!(x > 0) || x > 1e9)
    return 0;
  long long v = llround(x / 2.0) * 2;
  return v < 2 ? 2 : (int)v;
}

static char *path_join(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  char *p = malloc(la + lb + 2);
  if (!p) {
    stream__err(STREAM_ENOMEM, "thumbnails: out of memory");
    return NULL;
  }
  memcpy(p, a, la);
  p[la] = '/';
  memcpy(p + la + 1, b, lb + 1);
  return p;
}

static void fill_black(AVFrame *f)
{
  for (int y = 0; y < f->height; y++)
    memset(f->data[0] + (size_t)y * (size_t)f->linesize[0], 0, (size_t)f->width);
  int cw = (f->width + 1) / 2, ch = (f->height + 1) / 2;
  for (int p = 1; p <= 2; p++)
    for (int y = 0; y < ch; y++)
      memset(f->data[p] + (size_t)y * (size_t)f->linesize[p], 128, (size_t)cw);
}

static AVFrame *image_new(int w, int h)
{
  AVFrame *f = av_frame_alloc();
  if (!f)
    return NULL;
  f->format = AV_PIX_FMT_YUV420P;
  f->width = w;
  f->height = h;
  f->color_range = AVCOL_RANGE_JPEG;
  if (av_frame_get_buffer(f, 0) < 0) {
    av_frame_free(&f);
    return NULL;
  }
  fill_black(f);
  return f;
}

/* Write `size` bytes to path atomically: "<path>.tmp", fsync, rename. */
static int write_atomic(const char *path, const void *data, size_t size)
{
  size_t n = strlen(path);
  char *tmp = malloc(n + 5);
  if (!tmp)
    return stream__err(STREAM_ENOMEM, "thumbnails: out of memory");
  memcpy(tmp, path, n);
  memcpy(tmp + n, ".tmp", 5);
  FILE *f = fopen(tmp, "wbe");
  if (!f) {
    int e = errno;
    free(tmp);
    return stream__err(STREAM_EIO, "thumbnails: cannot create %s: %s", path, strerror(e));
  }
  int ok = fwrite(data, 1, size, f) == size && fflush(f) == 0 && fsync(fileno(f)) == 0;
  int e = errno;
  if (fclose(f) != 0 && ok) {
    ok = 0;
    e = errno;
  }
  if (ok && rename(tmp, path) != 0) {
    ok = 0;
    e = errno;
  }
  if (!ok) {
    unlink(tmp);
    free(tmp);
    return stream__err(STREAM_EIO, "thumbnails: cannot write %s: %s", path, strerror(e));
  }
  free(tmp);
  return STREAM_OK;
}

/* Encode the top-left w x h of `img` as a baseline JPEG into `path`. */
static int encode_jpeg(const char *path, const AVFrame *img, int w, int h, int qscale)
{
  const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (!codec)
    return stream__err(STREAM_ENOTSUP, "thumbnails: this FFmpeg has no mjpeg encoder");
  int rc = STREAM_OK;
  AVCodecContext *c = avcodec_alloc_context3(codec);
  AVFrame *f = av_frame_alloc();
  AVPacket *pkt = av_packet_alloc();
  if (!c || !f || !pkt) {
    rc = stream__err(STREAM_ENOMEM, "thumbnails: out of memory");
    goto done;
  }
  c->width = w;
  c->height = h;
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->color_range = AVCOL_RANGE_JPEG; /* full range, as JFIF expects */
  c->colorspace = AVCOL_SPC_BT470BG;
  c->time_base = (AVRational){1, 25};
  c->flags |= AV_CODEC_FLAG_QSCALE;
  c->global_quality = qscale * FF_QP2LAMBDA;
  c->thread_count = 1;
  int err = avcodec_open2(c, codec, NULL);
  if (err < 0) {
    rc = stream__err(STREAM_EMEDIA, "thumbnails: cannot open the mjpeg encoder for %dx%d: %s", w, h,
                     av_err2str(err));
    goto done;
  }
  /* A view of the image (no copy): same planes, possibly smaller size. */
  f->format = AV_PIX_FMT_YUV420P;
  f->width = w;
  f->height = h;
  f->color_range = AVCOL_RANGE_JPEG;
  for (int i = 0; i < 3; i++) {
    f->data[i] = img->data[i];
    f->linesize[i] = img->linesize[i];
  }
  f->pts = 0;
  f->quality = c->global_quality;
  err = avcodec_send_frame(c, f);
  if (err >= 0)
    err = avcodec_send_frame(c, NULL);
  if (err >= 0)
    err = avcodec_receive_packet(c, pkt);
  if (err < 0) {
    rc = stream__err(STREAM_EMEDIA, "thumbnails: JPEG encoding of %s failed: %s", path,
                     av_err2str(err));
    goto done;
  }
  rc = write_atomic(path, pkt->data, (size_t)pkt->size);
done:
  av_packet_free(&pkt);
  av_frame_free(&f);
  avcodec_free_context(&c);
  return rc;
}

static int sws_space_of(int colorspace)
{
  switch (colorspace) {
  case AVCOL_SPC_BT709:
    return SWS_CS_ITU709;
  case AVCOL_SPC_FCC:
    return SWS_CS_FCC;
  case AVCOL_SPC_SMPTE240M:
    return SWS_CS_SMPTE240M;
  case AVCOL_SPC_BT2020_NCL:
  case AVCOL_SPC_BT2020_CL:
    return SWS_CS_BT2020;
  default:
    return SWS_CS_ITU601;
  }
}

/* A scaler from the pushed frames to full-range BT.601 YUV 4:2:0 (JPEG). */
static struct SwsContext *scaler_new(int sw, int sh, int sfmt, int srange, int sspace, int dw,
                                     int dh)
{
  struct SwsContext *s = sws_alloc_context();
  if (!s)
    return NULL;
  av_opt_set_int(s, "srcw", sw, 0);
  av_opt_set_int(s, "srch", sh, 0);
  av_opt_set_int(s, "src_format", sfmt, 0);
  av_opt_set_int(s, "dstw", dw, 0);
  av_opt_set_int(s, "dsth", dh, 0);
  av_opt_set_int(s, "dst_format", AV_PIX_FMT_YUV420P, 0);
  av_opt_set_int(s, "sws_flags", SWS_BICUBIC | SWS_ACCURATE_RND, 0);
  av_opt_set_int(s, "src_range", srange, 0);
  av_opt_set_int(s, "dst_range", 1, 0);
  if (sws_init_context(s, NULL, NULL) < 0) {
    sws_freeContext(s);
    return NULL;
  }
  sws_setColorspaceDetails(s, sws_getCoefficients(sspace), srange,
                           sws_getCoefficients(SWS_CS_ITU601), 1, 0, 1 << 16, 1 << 16);
  return s;
}

static int ensure_scalers(media__thumbs *th, const AVFrame *fr)
{
  const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fr->format);
  /* RGB and palette frames are full range; YUV and gray follow the frame. */
  int yuv = !(d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL));
  int full = !yuv || fr->color_range == AVCOL_RANGE_JPEG || fr->format == AV_PIX_FMT_YUVJ420P ||
             fr->format == AV_PIX_FMT_YUVJ422P || fr->format == AV_PIX_FMT_YUVJ444P ||
             fr->format == AV_PIX_FMT_YUVJ440P || fr->format == AV_PIX_FMT_YUVJ411P;
  int space = sws_space_of(fr->colorspace);
  if (th->tile_sws && th->sws_w == fr->width && th->sws_h == fr->height &&
      th->sws_fmt == fr->format && th->sws_range == full && th->sws_space == space)
    return STREAM_OK;
  sws_freeContext(th->tile_sws);
  sws_freeContext(th->poster_sws);
  th->tile_sws =
      scaler_new(fr->width, fr->height, fr->format, full, space, th->content_w, th->content_h);
  th->poster_sws =
      scaler_new(fr->width, fr->height, fr->format, full, space, th->poster_w, th->poster_h);
  if (!th->tile_sws || !th->poster_sws) {
    sws_freeContext(th->tile_sws);
    sws_freeContext(th->poster_sws);
    th->tile_sws = th->poster_sws = NULL;
    return stream__err(STREAM_EMEDIA, "thumbnails: cannot scale %dx%d %s frames", fr->width,
                       fr->height, d->name);
  }
  th->sws_w = fr->width;
  th->sws_h = fr->height;
  th->sws_fmt = fr->format;
  th->sws_range = full;
  th->sws_space = space;
  return STREAM_OK;
}

static int scale_into(struct SwsContext *s, const AVFrame *src, AVFrame *dst)
{
  int h = sws_scale(s, (const uint8_t *const *)src->data, src->linesize, 0, src->height, dst->data,
                    dst->linesize);
  if (h <= 0)
    return stream__err(STREAM_EMEDIA, "thumbnails: scaling a %dx%d frame failed", src->width,
                       src->height);
  return STREAM_OK;
}

/* ---- sheets and cues ------------------------------------------------------ */

static unsigned int per_sheet(const media__thumbs *th)
{
  return (unsigned int)th->cols * (unsigned int)th->rows;
}

static int write_sheet(media__thumbs *th)
{
  unsigned int n = th->sheet_fill;
  unsigned int cols = n < (unsigned int)th->cols ? n : (unsigned int)th->cols;
  unsigned int rows = (n + (unsigned int)th->cols - 1) / (unsigned int)th->cols;
  char name[64];
  snprintf(name, sizeof name, "sprites/sprite_%03u.jpg", th->sheet_index);
  char *path = path_join(th->outdir, name);
  if (!path)
    return STREAM_ENOMEM;
  int rc =
      encode_jpeg(path, th->sheet, (int)cols * th->tile_w, (int)rows * th->tile_h, THUMBS_Q_SPRITE);
  free(path);
  if (rc != STREAM_OK)
    return rc;
  th->sheet_index++;
  th->sheet_fill = 0;
  fill_black(th->sheet);
  return STREAM_OK;
}

static void fmt_time(char *out, size_t cap, double sec)
{
  long long ms = llround(sec * 1000.0);
  if (ms < 0)
    ms = 0;
  snprintf(out, cap, "%02lld:%02lld:%02lld.%03lld", ms / 3600000, (ms / 60000) % 60,
           (ms / 1000) % 60, ms % 1000);
}

/* Cue for tile `k`, shown from k*interval until `end`. */
static int write_cue(media__thumbs *th, uint64_t k, double end)
{
  unsigned int ps = per_sheet(th);
  unsigned int sheet = (unsigned int)(k / ps), idx = (unsigned int)(k % ps);
  int x = (int)(idx % (unsigned int)th->cols) * th->tile_w;
  int y = (int)(idx / (unsigned int)th->cols) * th->tile_h;
  char a[32], b[32];
  fmt_time(a, sizeof a, (double)k * th->interval);
  fmt_time(b, sizeof b, end);
  if (fprintf(th->vtt, "%s --> %s\nsprites/sprite_%03u.jpg#xywh=%d,%d,%d,%d\n\n", a, b, sheet, x, y,
              th->tile_w, th->tile_h) < 0)
    return stream__err(STREAM_EIO, "thumbnails: cannot write %s: %s", th->vtt_tmp, strerror(errno));
  return STREAM_OK;
}

static int open_outputs(media__thumbs *th)
{
  char *dir = path_join(th->outdir, "sprites");
  if (!dir)
    return STREAM_ENOMEM;
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    int e = errno;
    stream__err(STREAM_EIO, "thumbnails: cannot create %s: %s", dir, strerror(e));
    free(dir);
    return STREAM_EIO;
  }
  free(dir);
  th->vtt = fopen(th->vtt_tmp, "we");
  if (!th->vtt)
    return stream__err(STREAM_EIO, "thumbnails: cannot create %s: %s", th->vtt_tmp,
                       strerror(errno));
  if (fputs("WEBVTT\n\n", th->vtt) < 0)
    return stream__err(STREAM_EIO, "thumbnails: cannot write %s", th->vtt_tmp);
  return STREAM_OK;
}

/* Put the (already scaled) tile into the next cell; cue the previous tile. */
static int add_tile(media__thumbs *th)
{
  if (th->tiles == 0) {
    int rc = open_outputs(th);
    if (rc != STREAM_OK)
      return rc;
  } else {
    int rc = write_cue(th, th->tiles - 1, (double)th->tiles * th->interval);
    if (rc != STREAM_OK)
      return rc;
  }
  unsigned int idx = th->sheet_fill;
  int x = (int)(idx % (unsigned int)th->cols) * th->tile_w + th->content_x;
  int y = (int)(idx / (unsigned int)th->cols) * th->tile_h + th->content_y;
  for (int r = 0; r < th->content_h; r++)
    memcpy(th->sheet->data[0] + (size_t)(y + r) * (size_t)th->sheet->linesize[0] + (size_t)x,
           th->tile->data[0] + (size_t)r * (size_t)th->tile->linesize[0], (size_t)th->content_w);
  for (int p = 1; p <= 2; p++)
    for (int r = 0; r < th->content_h / 2; r++)
      memcpy(th->sheet->data[p] + (size_t)(y / 2 + r) * (size_t)th->sheet->linesize[p] +
                 (size_t)(x / 2),
             th->tile->data[p] + (size_t)r * (size_t)th->tile->linesize[p],
             (size_t)(th->content_w / 2));
  th->tiles++;
  th->sheet_fill++;
  if (th->sheet_fill == per_sheet(th))
    return write_sheet(th);
  return STREAM_OK;
}

/* ---- public (internal) API ----------------------------------------------- */

static int check_opts(const media__thumbs_options *o)
{
  if (o->tile_width != 0 &&
      (o->tile_width < THUMBS_TILE_MIN || o->tile_width > THUMBS_TILE_MAX || o->tile_width % 2))
    return stream__err(STREAM_EINVAL,
                       "thumbnails: tile_width %d must be 0 (default) or even in %d..%d",
                       o->tile_width, THUMBS_TILE_MIN, THUMBS_TILE_MAX);
  if (o->tile_height != 0 &&
      (o->tile_height < THUMBS_TILE_MIN || o->tile_height > THUMBS_TILE_MAX || o->tile_height % 2))
    return stream__err(STREAM_EINVAL,
                       "thumbnails: tile_height %d must be 0 (from the aspect) or even in %d..%d",
                       o->tile_height, THUMBS_TILE_MIN, THUMBS_TILE_MAX);
  if (!(o->interval >= THUMBS_INTERVAL_MIN && o->interval <= THUMBS_INTERVAL_MAX))
    return stream__err(STREAM_EINVAL, "thumbnails: interval %g s must be in %g..%g s", o->interval,
                       THUMBS_INTERVAL_MIN, THUMBS_INTERVAL_MAX);
  if (o->columns < 1 || o->columns > THUMBS_GRID_MAX)
    return stream__err(STREAM_EINVAL, "thumbnails: columns %d must be in 1..%d", o->columns,
                       THUMBS_GRID_MAX);
  if (o->rows < 1 || o->rows > THUMBS_GRID_MAX)
    return stream__err(STREAM_EINVAL, "thumbnails: rows %d must be in 1..%d", o->rows,
                       THUMBS_GRID_MAX);
  if (isnan(o->poster_time) || isinf(o->poster_time))
    return stream__err(STREAM_EINVAL, "thumbnails: poster_time must be a finite number");
  if (o->poster_width != 0 && (o->poster_width < THUMBS_TILE_MIN ||
                               o->poster_width > THUMBS_POSTER_MAX || o->poster_width % 2))
    return stream__err(STREAM_EINVAL,
                       "thumbnails: poster_width %d must be 0 (default) or even in %d..%d",
                       o->poster_width, THUMBS_TILE_MIN, THUMBS_POSTER_MAX);
  return STREAM_OK;
}

static int plan_geometry(media__thumbs *th, const media__thumbs_options *o, int sw, int sh,
                         int sar_num, int sar_den)
{
  double sar = (double)sar_num / (double)sar_den;
  double dar = (double)sw * sar / (double)sh;
  int tw = o->tile_width, tht = o->tile_height;
  if (tw == 0 && tht == 0)
    tw = 160;
  if (tht == 0)
    tht = even_round(tw / dar);
  else if (tw == 0)
    tw = even_round(tht * dar);
  if (tw < THUMBS_TILE_MIN || tw > THUMBS_TILE_MAX || tht < THUMBS_TILE_MIN ||
      tht > THUMBS_TILE_MAX)
    return stream__err(STREAM_EINVAL,
                       "thumbnails: a %dx%d source with SAR %d:%d gives %dx%d tiles, outside "
                       "%d..%d",
                       sw, sh, sar_num, sar_den, tw, tht, THUMBS_TILE_MIN, THUMBS_TILE_MAX);
  th->tile_w = tw;
  th->tile_h = tht;
  /* Letterbox the picture inside fixed tiles of another shape. */
  int cw = tw, ch = even_round(tw / dar);
  if (ch > tht) {
    ch = tht;
    cw = even_round(tht * dar);
    if (cw > tw)
      cw = tw;
  }
  th->content_w = cw;
  th->content_h = ch;
  th->content_x = ((tw - cw) / 2) & ~1;
  th->content_y = ((tht - ch) / 2) & ~1;
  if ((long)o->columns * tw > THUMBS_SHEET_MAX || (long)o->rows * tht > THUMBS_SHEET_MAX)
    return stream__err(STREAM_EINVAL,
                       "thumbnails: a sheet of %dx%d tiles of %dx%d exceeds %d pixels a side",
                       o->columns, o->rows, tw, tht, THUMBS_SHEET_MAX);
  /* Poster: display aspect, never squeezed (anamorphic sources are widened). */
  int pw = o->poster_width;
  if (pw == 0) {
    pw = even_round(sar > 1.0 ? sw * sar : (double)sw);
    if (pw > THUMBS_POSTER_DEFAULT_CAP)
      pw = THUMBS_POSTER_DEFAULT_CAP;
  }
  int ph = even_round(pw / dar);
  if (ph < 2 || ph > THUMBS_SHEET_MAX)
    return stream__err(STREAM_EINVAL, "thumbnails: a poster %d wide would be %d high", pw, ph);
  th->poster_w = pw;
  th->poster_h = ph;
  return STREAM_OK;
}

void media__thumbs_fit(media__thumbs_options *o, int src_width, int src_height, int sar_num,
                       int sar_den)
{
  if (!o || src_width < 1 || src_height < 1 || sar_num < 1 || sar_den < 1 || o->columns < 1 ||
      o->rows < 1)
    return; /* media__thumbs_new reports these */
  double sar = (double)sar_num / (double)sar_den;
  double dar = (double)src_width * sar / (double)src_height;
  if (o->tile_width > 0 && o->tile_height == 0) { /* the height plan_geometry would derive */
    double d = o->tile_width / dar;
    int th = d > 1e9 ? INT_MAX : even_round(d);
    int max =
        THUMBS_SHEET_MAX / o->rows < THUMBS_TILE_MAX ? THUMBS_SHEET_MAX / o->rows : THUMBS_TILE_MAX;
    if (th < THUMBS_TILE_MIN)
      o->tile_height = THUMBS_TILE_MIN;
    else if (th > max)
      o->tile_height = max & ~1;
  }
  if (o->poster_width == 0) { /* the default width plan_geometry would take */
    double pw = sar > 1.0 ? src_width * sar : (double)src_width;
    if (pw > THUMBS_POSTER_DEFAULT_CAP)
      pw = THUMBS_POSTER_DEFAULT_CAP;
    if (pw / dar > THUMBS_SHEET_MAX) {
      int fit = (int)(THUMBS_SHEET_MAX * dar) & ~1;
      o->poster_width = fit < THUMBS_TILE_MIN ? THUMBS_TILE_MIN : fit;
    }
  }
}

int media__thumbs_new(media__thumbs **out, const char *outdir, const media__thumbs_options *opts,
                      int src_width, int src_height, int src_pix_fmt, int sar_num, int sar_den,
                      double duration)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "thumbnails: out is NULL");
  *out = NULL;
  if (!outdir || !*outdir)
    return stream__err(STREAM_EINVAL, "thumbnails: output directory is NULL or empty");
  if (strlen(outdir) > 4000)
    return stream__err(STREAM_EINVAL, "thumbnails: output directory path is too long");
  media__thumbs_options defaults = {160, 90, 2.0, 10, 10, -1.0, 0};
  const media__thumbs_options *o = opts ? opts : &defaults;
  int rc = check_opts(o);
  if (rc != STREAM_OK)
    return rc;
  if (src_width < 1 || src_width > THUMBS_SRC_MAX || src_height < 1 || src_height > THUMBS_SRC_MAX)
    return stream__err(STREAM_EINVAL, "thumbnails: source size %dx%d must be in 1..%d", src_width,
                       src_height, THUMBS_SRC_MAX);
  const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)src_pix_fmt);
  if (!d || (d->flags & AV_PIX_FMT_FLAG_HWACCEL) ||
      !sws_isSupportedInput((enum AVPixelFormat)src_pix_fmt))
    return stream__err(STREAM_EINVAL, "thumbnails: source pixel format %d (%s) cannot be scaled",
                       src_pix_fmt, d ? d->name : "unknown");
  if (sar_num < 0 || sar_den < 0 || (sar_num > 0) != (sar_den > 0))
    return stream__err(STREAM_EINVAL, "thumbnails: sample aspect ratio %d:%d is invalid", sar_num,
                       sar_den);
  if (sar_num == 0) { /* unknown: square pixels */
    sar_num = 1;
    sar_den = 1;
  }
  if (isnan(duration) || isinf(duration) || duration < 0)
    return stream__err(STREAM_EINVAL, "thumbnails: duration %g must be >= 0 (0 = unknown)",
                       duration);
  struct stat st;
  if (stat(outdir, &st) != 0 || !S_ISDIR(st.st_mode))
    return stream__err(STREAM_ENOTFOUND, "thumbnails: output directory %s does not exist", outdir);

  media__thumbs *th = stream__calloc(1, sizeof *th);
  if (!th)
    return STREAM_ENOMEM;
  rc = plan_geometry(th, o, src_width, src_height, sar_num, sar_den);
  if (rc != STREAM_OK) {
    free(th);
    return rc;
  }
  th->cols = o->columns;
  th->rows = o->rows;
  th->interval = o->interval;
  th->duration = duration;
  th->poster_time = o->poster_time >= 0 ? o->poster_time : 0.1 * duration;
  th->outdir = stream__strdup(outdir);
  th->vtt_path = th->outdir ? path_join(outdir, "thumbnails.vtt") : NULL;
  th->vtt_tmp = th->outdir ? path_join(outdir, "thumbnails.vtt.tmp") : NULL;
  th->tile = image_new(th->content_w, th->content_h);
  th->sheet = image_new(th->cols * th->tile_w, th->rows * th->tile_h);
  th->poster = image_new(th->poster_w, th->poster_h);
  if (!th->outdir || !th->vtt_path || !th->vtt_tmp || !th->tile || !th->sheet || !th->poster) {
    media__thumbs_free(th);
    return stream__err(STREAM_ENOMEM, "thumbnails: out of memory");
  }
  *out = th;
  return STREAM_OK;
}

int media__thumbs_push(media__thumbs *th, const struct AVFrame *frame, double t)
{
  if (!th || !frame)
    return stream__err(STREAM_EINVAL, "thumbnails: %s is NULL", th ? "frame" : "handle");
  if (th->finished)
    return stream__err(STREAM_EINVAL, "thumbnails: push after finish");
  if (isnan(t) || isinf(t))
    return stream__err(STREAM_EINVAL, "thumbnails: frame time is not finite");
  const AVPixFmtDescriptor *d = av_pix_fmt_desc_get((enum AVPixelFormat)frame->format);
  if (!d || frame->width < 1 || frame->height < 1 || !frame->data[0])
    return stream__err(STREAM_EINVAL, "thumbnails: frame at %.3f s has no picture", t);
  if ((d->flags & AV_PIX_FMT_FLAG_HWACCEL) ||
      !sws_isSupportedInput((enum AVPixelFormat)frame->format))
    return stream__err(STREAM_EMEDIA,
                       "thumbnails: frames in %s cannot be scaled (download "
                       "hardware frames first)",
                       d->name);
  /* Out-of-order frames (broken timestamps) are ignored rather than fatal. */
  if (th->frames > 0 && t < th->last_t)
    return STREAM_OK;
  int want_tile = t + THUMBS_EPS >= (double)th->tiles * th->interval;
  int want_poster = th->poster_state != POSTER_WRITTEN && t + THUMBS_EPS >= th->poster_time;
  th->prev_t = th->frames > 0 ? th->last_t : t;
  th->last_t = t;
  th->frames++;
  if (!want_tile && !want_poster)
    return STREAM_OK;
  int rc = ensure_scalers(th, frame);
  if (rc != STREAM_OK)
    return rc;
  if (want_tile) {
    rc = scale_into(th->tile_sws, frame, th->tile);
    if (rc != STREAM_OK)
      return rc;
    /* A gap in the source fills every tile time it spans with this frame. */
    while (t + THUMBS_EPS >= (double)th->tiles * th->interval) {
      rc = add_tile(th);
      if (rc != STREAM_OK)
        return rc;
    }
  }
  if (want_poster || (want_tile && th->poster_state != POSTER_WRITTEN)) {
    /* Before the poster time, each tile frame is a fallback candidate in
     * case the title ends early (a wrong duration). */
    rc = scale_into(th->poster_sws, frame, th->poster);
    if (rc != STREAM_OK)
      return rc;
    th->poster_state = POSTER_CANDIDATE;
    if (want_poster) {
      char *path = path_join(th->outdir, "poster.jpg");
      if (!path)
        return STREAM_ENOMEM;
      rc = encode_jpeg(path, th->poster, th->poster_w, th->poster_h, THUMBS_Q_POSTER);
      free(path);
      if (rc != STREAM_OK)
        return rc;
      th->poster_state = POSTER_WRITTEN;
    }
  }
  return STREAM_OK;
}

int media__thumbs_finish(media__thumbs *th)
{
  if (!th)
    return stream__err(STREAM_EINVAL, "thumbnails: handle is NULL");
  if (th->finished)
    return stream__err(STREAM_EINVAL, "thumbnails: finish called twice");
  th->finished = 1;
  if (th->tiles == 0)
    return stream__err(STREAM_EMEDIA, "thumbnails: no video frame at or after 0 s was pushed");
  int rc = STREAM_OK;
  if (th->sheet_fill > 0 && (rc = write_sheet(th)) != STREAM_OK)
    return rc;
  if (th->poster_state == POSTER_CANDIDATE) {
    char *path = path_join(th->outdir, "poster.jpg");
    if (!path)
      return STREAM_ENOMEM;
    rc = encode_jpeg(path, th->poster, th->poster_w, th->poster_h, THUMBS_Q_POSTER);
    free(path);
    if (rc != STREAM_OK)
      return rc;
    th->poster_state = POSTER_WRITTEN;
  }
  /* The last cue lasts until the end of the title: the duration when known
   * and plausible, else one frame after the last frame. */
  uint64_t k = th->tiles - 1;
  double start = (double)k * th->interval;
  double gap = th->last_t > th->prev_t ? th->last_t - th->prev_t : 0;
  double title_end = th->duration > th->last_t ? th->duration : th->last_t + gap;
  double end = start + th->interval;
  if (title_end < end)
    end = title_end;
  if (llround(end * 1000.0) <= llround(start * 1000.0))
    end = start + th->interval;
  if ((rc = write_cue(th, k, end)) != STREAM_OK)
    return rc;
  FILE *f = th->vtt;
  th->vtt = NULL;
  int ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
  int e = errno;
  if (fclose(f) != 0 && ok) {
    ok = 0;
    e = errno;
  }
  if (ok && rename(th->vtt_tmp, th->vtt_path) != 0) {
    ok = 0;
    e = errno;
  }
  if (!ok)
    return stream__err(STREAM_EIO, "thumbnails: cannot write %s: %s", th->vtt_path, strerror(e));
  return STREAM_OK;
}

void media__thumbs_free(media__thumbs *th)
{
  if (!th)
    return;
  if (th->vtt) { /* not finished: leave no half-written track behind */
    fclose(th->vtt);
    unlink(th->vtt_tmp);
  }
  sws_freeContext(th->tile_sws);
  sws_freeContext(th->poster_sws);
  av_frame_free(&th->tile);
  av_frame_free(&th->sheet);
  av_frame_free(&th->poster);
  free(th->vtt_tmp);
  free(th->vtt_path);
  free(th->outdir);
  free(th);
}
