/* Display rotation: the plane transpose against a naive reference on odd
 * sizes, the orientation chosen from display matrices (the ffmpeg CLI's
 * autorotate rules), whole frames in several pixel formats, portrait ladder
 * planning, and end-to-end transcodes of sources tagged 90/180/270 (and two
 * mirrored matrices) whose first frames are compared with the ffmpeg CLI's
 * own autorotated decode. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavutil/display.h>
#include <libavutil/frame.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>

#include "media/pipe_internal.h"
#include "media_check.h"
#include "media_gen.h"
#include "stream/stream.h"

/* ---- the plane kernel ---------------------------------------------------- */

static void naive(uint8_t *dst, ptrdiff_t dls, const uint8_t *src, ptrdiff_t sls, int sw, int sh,
                  size_t es, const media__orient *o)
{
  int dw = o->transpose ? sh : sw, dh = o->transpose ? sw : sh;
  for (int y = 0; y < dh; y++)
    for (int x = 0; x < dw; x++) {
      int u = o->transpose ? y : x, v = o->transpose ? x : y;
      int sx = o->flip_x ? sw - 1 - u : u, sy = o->flip_y ? sh - 1 - v : v;
      memcpy(dst + y * dls + (ptrdiff_t)x * (ptrdiff_t)es, src + sy * sls + (ptrdiff_t)sx * es, es);
    }
}

START_TEST(plane_matches_naive)
{
  static const int sizes[][2] = {{1, 1},   {1, 7},   {7, 1},   {3, 5},  {37, 23},
                                 {33, 65}, {64, 32}, {65, 31}, {100, 3}};
  static const size_t ess[] = {1, 2, 3, 4, 6, 8};
  unsigned seed = 12345;
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++)
    for (size_t ei = 0; ei < sizeof ess / sizeof ess[0]; ei++)
      for (int k = 0; k < 8; k++) {
        int sw = sizes[si][0], sh = sizes[si][1];
        size_t es = ess[ei];
        media__orient o = {k & 1, (k >> 1) & 1, (k >> 2) & 1, 0};
        ptrdiff_t sls = (ptrdiff_t)(sw * es + 5); /* odd padding: no alignment assumed */
        int n = sw > sh ? sw : sh;
        ptrdiff_t dls = (ptrdiff_t)(n * es + 3);
        uint8_t *src = malloc((size_t)sls * sh);
        uint8_t *got = calloc((size_t)dls * n, 1);
        uint8_t *want = calloc((size_t)dls * n, 1);
        ck_assert(src && got && want);
        for (ptrdiff_t i = 0; i < sls * sh; i++) {
          seed = seed * 1103515245u + 12345u;
          src[i] = (uint8_t)(seed >> 16);
        }
        ck_assert_int_eq(media__rotate_plane(got, dls, src, sls, sw, sh, es, &o), STREAM_OK);
        naive(want, dls, src, sls, sw, sh, es, &o);
        ck_assert_msg(memcmp(got, want, (size_t)dls * n) == 0, "%dx%d es %zu orient %d", sw, sh, es,
                      k);
        free(src);
        free(got);
        free(want);
      }
  media__orient o = {1, 0, 0, 0};
  uint8_t b[4];
  ck_assert_int_eq(media__rotate_plane(b, 2, b, 2, 0, 2, 1, &o), STREAM_EINVAL);
  ck_assert_int_eq(media__rotate_plane(b, 2, b, 2, 2, 2, 5, &o), STREAM_EINVAL);
  ck_assert_int_eq(media__rotate_plane(NULL, 2, b, 2, 2, 2, 1, &o), STREAM_EINVAL);
}
END_TEST

/* ---- orientation from display matrices ----------------------------------- */

static void matrix(int32_t m[9], int a, int b, int c, int d)
{
  memset(m, 0, 9 * sizeof *m);
  m[0] = a * 65536;
  m[1] = b * 65536;
  m[3] = c * 65536;
  m[4] = d * 65536;
  m[8] = 1 << 30;
}

START_TEST(orient_rules)
{
  int32_t m[9];
  media__orient o;
  ck_assert_int_eq(media__orient_from_matrix(&o, NULL), 0);
  matrix(m, 1, 0, 0, 1); /* identity */
  ck_assert_int_eq(media__orient_from_matrix(&o, m), 0);
  /* A phone held upright (ffprobe rotation -90): the CLI's transpose=clock. */
  matrix(m, 0, 1, -1, 0);
  ck_assert_int_eq(media__orient_from_matrix(&o, m), 1);
  ck_assert(o.transpose && !o.flip_x && o.flip_y && o.degrees == 90);
  /* ffprobe rotation 90 (`-metadata:s:v rotate=90`): transpose=cclock. */
  matrix(m, 0, -1, 1, 0);
  ck_assert_int_eq(media__orient_from_matrix(&o, m), 1);
  ck_assert(o.transpose && o.flip_x && !o.flip_y && o.degrees == 270);
  matrix(m, -1, 0, 0, -1);
  ck_assert_int_eq(media__orient_from_matrix(&o, m), 1);
  ck_assert(!o.transpose && o.flip_x && o.flip_y && o.degrees == 180);
  /* Mirrors: hflip, vflip, and the two transposes with a mirror. */
  matrix(m, -1, 0, 0, 1);
  ck_assert_int_eq(media__orient_from_matrix(&o, m), 1);
  ck_assert(!o.transpose && o.flip_x && !o.flip_y);
  matrix(m, 1, 0, 0, -1);
  ck_assert_int_eq(media__orient_from_matrix(&o, m), 1);
  ck_assert(!o.transpose && !o.flip_x && o.flip_y);
  matrix(m, 0, 1, 1, 0); /* cclock_flip: a plain transpose */
  ck_assert_int_eq(media__orient_from_matrix(&o, m), 1);
  ck_assert(o.transpose && !o.flip_x && !o.flip_y);
  matrix(m, 0, -1, -1, 0); /* clock_flip */
  ck_assert_int_eq(media__orient_from_matrix(&o, m), 1);
  ck_assert(o.transpose && o.flip_x && o.flip_y);
  /* Not a right angle: not applied. */
  av_display_rotation_set(m, 45);
  ck_assert_int_eq(media__orient_from_matrix(&o, m), 0);
  /* av_display_rotation_set's angle is clockwise (its getter's is not). */
  av_display_rotation_set(m, 90);
  ck_assert_int_eq(media__orient_from_matrix(&o, m), 1);
  ck_assert_int_eq(o.degrees, 90);
}
END_TEST

/* ---- whole frames ------------------------------------------------------- */

static AVFrame *random_frame(int fmt, int w, int h, unsigned *seed)
{
  AVFrame *f = av_frame_alloc();
  ck_assert_ptr_nonnull(f);
  f->format = fmt;
  f->width = w;
  f->height = h;
  ck_assert_int_ge(av_frame_get_buffer(f, 0), 0);
  const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
  for (int p = 0; p < av_pix_fmt_count_planes(fmt); p++) {
    int ph = (p == 1 || p == 2) ? AV_CEIL_RSHIFT(h, d->log2_chroma_h) : h;
    for (int i = 0; i < f->linesize[p] * ph; i++) {
      *seed = *seed * 1103515245u + 12345u;
      f->data[p][i] = (uint8_t)(*seed >> 16);
    }
  }
  f->pts = 42;
  f->sample_aspect_ratio = (AVRational){4, 3};
  return f;
}

/* Turn a frame and compare every plane with the naive reference. */
static void check_frame(int fmt, int want_fmt, int w, int h, const media__orient *o)
{
  unsigned seed = 777;
  AVFrame *src = random_frame(fmt, w, h, &seed);
  AVFrame *dst = av_frame_alloc();
  media__rotator *r = NULL;
  ck_assert_int_eq(media__rotator_new(&r, o), STREAM_OK);
  for (int round = 0; round < 3; round++) { /* pooled pictures are reused */
    ck_assert_int_eq(media__rotator_apply(r, dst, src), STREAM_OK);
    ck_assert_int_eq(dst->format, want_fmt);
    ck_assert_int_eq(dst->width, o->transpose ? h : w);
    ck_assert_int_eq(dst->height, o->transpose ? w : h);
    ck_assert_int_eq(dst->pts, 42);
    ck_assert_int_eq(dst->sample_aspect_ratio.num, o->transpose ? 3 : 4);
    ck_assert_int_eq(dst->sample_aspect_ratio.den, o->transpose ? 4 : 3);
    ck_assert_ptr_nonnull(dst->buf[0]);
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    for (int p = 0; p < av_pix_fmt_count_planes(fmt); p++) {
      int sub = p == 1 || p == 2;
      int pw = sub ? AV_CEIL_RSHIFT(w, d->log2_chroma_w) : w;
      int ph = sub ? AV_CEIL_RSHIFT(h, d->log2_chroma_h) : h;
      int bw = av_image_get_linesize(fmt, w, p);
      size_t es = (size_t)bw / (size_t)pw;
      int dw = o->transpose ? ph : pw, dh = o->transpose ? pw : ph;
      uint8_t *want = malloc((size_t)dw * dh * es);
      naive(want, (ptrdiff_t)(dw * es), src->data[p], src->linesize[p], pw, ph, es, o);
      for (int y = 0; y < dh; y++)
        ck_assert_msg(memcmp(dst->data[p] + y * dst->linesize[p], want + y * dw * es, dw * es) == 0,
                      "%s plane %d row %d", d->name, p, y);
      free(want);
    }
    av_frame_unref(dst);
  }
  media__rotator_free(r);
  av_frame_free(&dst);
  av_frame_free(&src);
}

START_TEST(frames_in_several_formats)
{
  media__orient t90 = {1, 0, 1, 90}, t270 = {1, 1, 0, 270}, r180 = {0, 1, 1, 180};
  check_frame(AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV420P, 35, 21, &t90);
  check_frame(AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV420P, 64, 36, &t270);
  check_frame(AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV420P, 35, 21, &r180);
  check_frame(AV_PIX_FMT_YUVJ420P, AV_PIX_FMT_YUVJ420P, 30, 18, &t90);
  /* 4:2:2 turned is 4:4:0 (the same chroma samples, subsampled vertically). */
  check_frame(AV_PIX_FMT_YUV422P, AV_PIX_FMT_YUV440P, 34, 19, &t90);
  check_frame(AV_PIX_FMT_YUV422P, AV_PIX_FMT_YUV422P, 34, 19, &r180);
  /* 16-bit samples. */
  check_frame(AV_PIX_FMT_YUV420P10LE, AV_PIX_FMT_YUV420P10LE, 33, 17, &t270);
  check_frame(AV_PIX_FMT_YUV422P10LE, AV_PIX_FMT_YUV440P10LE, 32, 18, &t90);
  /* Interleaved chroma pairs move as one 16-bit sample. */
  check_frame(AV_PIX_FMT_NV12, AV_PIX_FMT_NV12, 36, 22, &t90);
  check_frame(AV_PIX_FMT_RGB24, AV_PIX_FMT_RGB24, 13, 7, &t270);

  /* Packed 4:2:2 cannot be moved sample by sample: converted to yuv420p. */
  unsigned seed = 1;
  AVFrame *src = random_frame(AV_PIX_FMT_YUYV422, 32, 16, &seed);
  AVFrame *dst = av_frame_alloc();
  media__rotator *r = NULL;
  ck_assert_int_eq(media__rotator_new(&r, &t90), STREAM_OK);
  ck_assert_int_eq(media__rotator_apply(r, dst, src), STREAM_OK);
  ck_assert_int_eq(dst->format, AV_PIX_FMT_YUV420P);
  ck_assert_int_eq(dst->width, 16);
  ck_assert_int_eq(dst->height, 32);
  /* A size change mid-stream reconfigures. */
  AVFrame *src2 = random_frame(AV_PIX_FMT_YUV420P, 20, 10, &seed);
  ck_assert_int_eq(media__rotator_apply(r, dst, src2), STREAM_OK);
  ck_assert_int_eq(dst->format, AV_PIX_FMT_YUV420P);
  ck_assert_int_eq(dst->width, 10);
  ck_assert_int_eq(dst->height, 20);
  media__rotator_free(r);
  av_frame_free(&dst);
  av_frame_free(&src);
  av_frame_free(&src2);
  media__orient none = {0, 0, 0, 0};
  ck_assert_int_eq(media__rotator_new(&r, &none), STREAM_EINVAL);
}
END_TEST

/* ---- portrait ladders --------------------------------------------------- */

static stream_media_info info(int w, int h, int rotation)
{
  stream_media_info i;
  memset(&i, 0, sizeof i);
  i.width = w;
  i.height = h;
  i.rotation = rotation;
  i.fps_num = 30;
  i.fps_den = 1;
  i.sar_num = i.sar_den = 1;
  return i;
}

START_TEST(portrait_ladder)
{
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  stream_media_ladder l, c;
  static const int w[] = {1080, 720, 720, 540, 432, 360, 234};
  static const int h[] = {1920, 1280, 1280, 960, 768, 640, 416};
  static const int64_t b[] = {6000000, 4500000, 3000000, 2000000, 730000, 365000, 145000};
  /* A phone video: coded 1920x1080, shown turned by 90 or 270. */
  for (int rot = 90; rot <= 270; rot += 180) {
    stream_media_info in = info(1920, 1080, rot);
    ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_OK);
    ck_assert_uint_eq(l.count, 7);
    for (size_t i = 0; i < 7; i++) {
      ck_assert_int_eq(l.rungs[i].width, w[i]);
      ck_assert_int_eq(l.rungs[i].height, h[i]);
      ck_assert_int_eq(l.rungs[i].bitrate, b[i]);
    }
    ck_assert_str_eq(l.rungs[0].name, "1080p");
  }
  /* The same plan for a picture coded upright (1080x1920, no rotation). */
  stream_media_info up = info(1080, 1920, 0);
  ck_assert_int_eq(stream_media_ladder_plan(&c, &up, &o), STREAM_OK);
  ck_assert_mem_eq(&c, &l, sizeof l);
  /* 180 keeps the size; a landscape source is planned as before. */
  stream_media_info r180 = info(1920, 1080, 180);
  ck_assert_int_eq(stream_media_ladder_plan(&l, &r180, &o), STREAM_OK);
  ck_assert_int_eq(l.rungs[0].width, 1920);
  ck_assert_int_eq(l.rungs[0].height, 1080);
  /* Never upscaled: a 1280x720 rotated source starts at 720x1280. */
  stream_media_info small = info(1280, 720, 90);
  ck_assert_int_eq(stream_media_ladder_plan(&l, &small, &o), STREAM_OK);
  ck_assert_uint_eq(l.count, 6);
  ck_assert_int_eq(l.rungs[0].width, 720);
  ck_assert_int_eq(l.rungs[0].height, 1280);
  /* All rungs above it: one rung at the source's (upright) size. */
  stream_media_info tiny = info(320, 180, 270);
  o.ladder = "web";
  ck_assert_int_eq(stream_media_ladder_plan(&l, &tiny, &o), STREAM_OK);
  ck_assert_uint_eq(l.count, 1);
  ck_assert_int_eq(l.rungs[0].width, 180);
  ck_assert_int_eq(l.rungs[0].height, 320);
  ck_assert_str_eq(l.rungs[0].name, "180p");
  /* Custom rungs are turned the same way: height = the short side. */
  stream_media_job_options cu = STREAM_MEDIA_JOB_OPTIONS_INIT;
  cu.rung_count = 2;
  cu.rungs[0].height = 480;
  cu.rungs[0].bitrate = 1200000;
  cu.rungs[1].width = 1280;
  cu.rungs[1].height = 720;
  cu.rungs[1].bitrate = 3000000;
  stream_media_info ph = info(1920, 1080, 90);
  ck_assert_int_eq(stream_media_ladder_plan(&l, &ph, &cu), STREAM_OK);
  ck_assert_uint_eq(l.count, 2);
  ck_assert_int_eq(l.rungs[0].width, 480);
  ck_assert_int_eq(l.rungs[0].height, 854);
  ck_assert_int_eq(l.rungs[1].width, 720);
  ck_assert_int_eq(l.rungs[1].height, 1280);
  /* A rotation that is not a right angle is not applied. */
  stream_media_info odd = info(1920, 1080, 45);
  o.ladder = NULL;
  ck_assert_int_eq(stream_media_ladder_plan(&l, &odd, &o), STREAM_OK);
  ck_assert_int_eq(l.rungs[0].width, 1920);
}
END_TEST

/* ---- end to end ---------------------------------------------------------- */

/* Read the first frame ffmpeg decodes with `args` as w x h gray; return the
 * bounding box of the blue corner (luma well below the red's). */
typedef struct box {
  int x0, y0, x1, y1;
} box;

static box box_of(FILE *p, const char *what, int w, int h)
{
  size_t need = (size_t)w * h;
  uint8_t *px = malloc(need + 1);
  size_t got = fread(px, 1, need + 1, p);
  ck_assert_msg(got == need, "%s: %zu bytes, want %dx%d", what, got, w, h);
  box b = {w, h, -1, -1};
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      if (px[y * w + x] < 61) { /* blue: Y ~41, red: Y ~81 */
        b.x0 = x < b.x0 ? x : b.x0;
        b.y0 = y < b.y0 ? y : b.y0;
        b.x1 = x > b.x1 ? x : b.x1;
        b.y1 = y > b.y1 ? y : b.y1;
      }
  free(px);
  ck_assert_msg(b.x1 >= 0, "no blue corner in %s", what);
  return b;
}

static box blue_box(const char *args, int w, int h)
{
  char cmd[2400];
  snprintf(cmd, sizeof cmd,
           "ffmpeg -v error %s -frames:v 1 -f rawvideo -pix_fmt gray - 2>/dev/null", args);
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  box b = box_of(p, cmd, w, h);
  pclose(p);
  return b;
}

/* The same from a raw gray file written by an earlier ffmpeg run. */
static box blue_box_file(const char *path, int w, int h)
{
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "no %s", path);
  box b = box_of(f, path, w, h);
  fclose(f);
  return b;
}

static void assert_box_near(box a, box b, int tol, const char *what)
{
  ck_assert_msg(abs(a.x0 - b.x0) <= tol && abs(a.y0 - b.y0) <= tol && abs(a.x1 - b.x1) <= tol &&
                    abs(a.y1 - b.y1) <= tol,
                "%s: blue corner at (%d,%d)-(%d,%d), the ffmpeg CLI has (%d,%d)-(%d,%d)", what,
                a.x0, a.y0, a.x1, a.y1, b.x0, b.y0, b.x1, b.y1);
}

#define SRC_RED_BLUE(PIXFMT)                                                                       \
  "-f lavfi -i color=red:s=640x360:r=25,drawbox=x=0:y=0:w=160:h=90:color=blue:t=fill -t 1 "        \
  "-c:v libx264 -preset ultrafast -pix_fmt " PIXFMT

/* `src` re-muxed (no re-encoding) with the display matrix of `rotate`. */
static const char *tagged(const char *src, const char *name, int rotate)
{
  static char out[4][512];
  static int slot;
  char *p = out[slot++ % 4];
  snprintf(p, 512, "%s/%s", gen_tmpdir(), name);
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "ffmpeg -hide_banner -loglevel error -y -i %s -c copy -metadata:s:v:0 rotate=%d %s", src,
           rotate, p);
  ck_assert_int_eq(system(cmd), 0);
  return p;
}

/* Rewrite the 2x2 part of the (only) tkhd matrix: a mirrored orientation,
 * which FFmpeg 5.1's CLI cannot write. `from`/`to`: a, b, c, d in units. */
static void patch_matrix(const char *path, const int from[4], const int to[4])
{
  FILE *f = fopen(path, "r+b");
  ck_assert_ptr_nonnull(f);
  static uint8_t buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf, f);
  ck_assert(n > 0 && n < sizeof buf);
  uint8_t pat[20], rep[20];
  const int *v[2] = {from, to};
  uint8_t *dst[2] = {pat, rep};
  for (int k = 0; k < 2; k++) {
    int32_t m[5] = {v[k][0] * 65536, v[k][1] * 65536, 0, v[k][2] * 65536, v[k][3] * 65536};
    for (int i = 0; i < 5; i++) {
      uint32_t u = (uint32_t)m[i];
      dst[k][4 * i] = (uint8_t)(u >> 24);
      dst[k][4 * i + 1] = (uint8_t)(u >> 16);
      dst[k][4 * i + 2] = (uint8_t)(u >> 8);
      dst[k][4 * i + 3] = (uint8_t)u;
    }
  }
  int hits = 0;
  for (size_t i = 0; i + 20 <= n; i++)
    if (memcmp(buf + i, pat, 20) == 0) {
      memcpy(buf + i, rep, 20);
      hits++;
    }
  ck_assert_int_eq(hits, 1);
  ck_assert_int_eq(fseek(f, 0, SEEK_SET), 0);
  ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
  fclose(f);
}

static cJSON *transcode(const char *input, const char *outdir, const char *ladder)
{
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  o.input = input;
  o.outdir = outdir;
  o.ladder = ladder;
  o.x264_preset = "ultrafast";
  stream_media_job *j = NULL;
  ck_assert_int_eq(stream_media_job_new(&j, &o), STREAM_OK);
  cJSON *s = run_summary(j, input);
  return s;
}

/* `b` (found in a w x h picture) scaled to a tw x th picture. */
static box scaled(box b, int w, int h, int tw, int th)
{
  box r = {(int)lround((double)b.x0 * tw / w), (int)lround((double)b.y0 * th / h),
           (int)lround((double)(b.x1 + 1) * tw / w) - 1,
           (int)lround((double)(b.y1 + 1) * th / h) - 1};
  return r;
}

static char *slurp(const char *path)
{
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  return buf;
}

/* Transcode `input` (a tagged 640x360 source) and compare every rung's
 * first frame and the poster with the ffmpeg CLI's autorotated decode (the
 * top rung's size; the box scaled for the others). */
static void check_upright(const char *input, const char *tag, int turned)
{
  char outdir[600], args[2048];
  snprintf(outdir, sizeof outdir, "%s/out-%s", gen_tmpdir(), tag);
  cJSON *s = transcode(input, outdir, "360p,234p");
  const cJSON *v = cJSON_GetObjectItem(cJSON_GetObjectItem(s, "source"), "video");
  ck_assert_int_eq(cJSON_GetObjectItem(v, "width")->valueint, 640);
  ck_assert_int_eq(cJSON_GetObjectItem(v, "display_width")->valueint, turned ? 360 : 640);
  ck_assert_int_eq(cJSON_GetObjectItem(v, "display_height")->valueint, turned ? 640 : 360);
  int uw = turned ? 360 : 640, uh = turned ? 640 : 360; /* upright source size */
  snprintf(args, sizeof args, "-i %s", input);
  box ref = blue_box(args, uw, uh);
  snprintf(args, sizeof args, "%s/master.m3u8", outdir);
  const char *master = slurp(args);
  const cJSON *rs = cJSON_GetObjectItem(s, "renditions");
  int videos = 0, sizes[3][2];
  /* One ffmpeg run decodes the first frame of each rung and the poster. */
  char dec[4096] = "ffmpeg -v error -y", outs[2048] = "";
  size_t dl = strlen(dec), ol = 0;
  for (int i = 0; i < cJSON_GetArraySize(rs); i++) {
    const cJSON *r = cJSON_GetArrayItem(rs, i);
    if (strcmp(cJSON_GetObjectItem(r, "kind")->valuestring, "video") != 0)
      continue;
    ck_assert_int_lt(videos, 2);
    int w = cJSON_GetObjectItem(r, "width")->valueint,
        h = cJSON_GetObjectItem(r, "height")->valueint;
    int want_w = videos == 0 ? 640 : 416, want_h = videos == 0 ? 360 : 234;
    ck_assert_int_eq(w, turned ? want_h : want_w);
    ck_assert_int_eq(h, turned ? want_w : want_h);
    const char *dir = cJSON_GetObjectItem(r, "dir")->valuestring;
    if (videos == 0) {
      /* The coded size of the output as a player sees it, no display matrix. */
      snprintf(args, sizeof args,
               "cat %s/%s/init.mp4 %s/%s/seg_00001.m4s | ffprobe -v error -show_entries "
               "stream=width,height:stream_side_data=rotation -of csv=p=0 -",
               outdir, dir, outdir, dir);
      char *o = run_cmd(args), want[64];
      snprintf(want, sizeof want, "%d,%d\n", w, h);
      ck_assert_str_eq(o, want);
      free(o);
    }
    dl += (size_t)snprintf(dec + dl, sizeof dec - dl,
                           " -noautorotate -i concat:%s/%s/init.mp4\\|%s/%s/seg_00001.m4s", outdir,
                           dir, outdir, dir);
    ol += (size_t)snprintf(outs + ol, sizeof outs - ol,
                           " -map %d:v -frames:v 1 -f rawvideo -pix_fmt gray %s/f%d.gray", videos,
                           outdir, videos);
    sizes[videos][0] = w;
    sizes[videos][1] = h;
    /* RESOLUTION in the multivariant playlist. */
    char res[64];
    snprintf(res, sizeof res, "RESOLUTION=%dx%d,", w, h);
    ck_assert_msg(strstr(master, res), "no %s in master.m3u8", res);
    videos++;
  }
  ck_assert_int_eq(videos, 2);
  /* The poster: upright, the source's size (under 1280 wide). */
  sizes[2][0] = uw;
  sizes[2][1] = uh;
  dl += (size_t)snprintf(dec + dl, sizeof dec - dl, " -i %s/poster.jpg", outdir);
  snprintf(dec + dl, sizeof dec - dl,
           "%s -map 2:v -frames:v 1 -f rawvideo -pix_fmt gray %s/f2.gray", outs, outdir);
  ck_assert_msg(system(dec) == 0, "%s", dec);
  static const char *what[] = {"top rung", "second rung", "poster"};
  for (int k = 0; k < 3; k++) {
    char path[700];
    snprintf(path, sizeof path, "%s/f%d.gray", outdir, k);
    int w = sizes[k][0], h = sizes[k][1];
    assert_box_near(blue_box_file(path, w, h), scaled(ref, uw, uh, w, h), k == 2 ? 3 : 2, what[k]);
  }
  cJSON_Delete(s);
}

START_TEST(transcode_rotated_sources)
{
  const char *src = gen("redblue.mp4", SRC_RED_BLUE("yuv420p"));
  ck_assert_ptr_nonnull(src);
  static const int rots[] = {90, 180, 270};
  for (size_t i = 0; i < 3; i++) {
    char name[32], tag[32];
    snprintf(name, sizeof name, "rot%d.mp4", rots[i]);
    snprintf(tag, sizeof tag, "rot%d", rots[i]);
    const char *in = tagged(src, name, rots[i]);
    /* The display matrix is really there. */
    char cmd[700];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -select_streams v:0 -show_entries stream_side_data=rotation "
             "-of csv=p=0 %s",
             in);
    char *o = run_cmd(cmd);
    ck_assert_msg(atoi(o) != 0, "%s has no display matrix: '%s'", in, o);
    free(o);
    stream_media_info info;
    ck_assert_int_eq(stream_media_probe(&info, in), STREAM_OK);
    /* FFmpeg's `rotate` tag is counter-clockwise; the probe reports the
     * clockwise angle to turn the picture by, like the CLI's autorotate. */
    ck_assert_int_eq(info.rotation, (360 - rots[i]) % 360);
    check_upright(in, tag, rots[i] != 180);
  }
}
END_TEST

START_TEST(transcode_mirrored_sources)
{
  const char *src = gen("redblue.mp4", SRC_RED_BLUE("yuv420p"));
  ck_assert_ptr_nonnull(src);
  /* A horizontal mirror (what rotate=180 writes, with d turned positive). */
  const char *h = tagged(src, "hflip.mp4", 180);
  patch_matrix(h, (const int[]){-1, 0, 0, -1}, (const int[]){-1, 0, 0, 1});
  check_upright(h, "hflip", 0);
  /* A transpose without a turn (the CLI's cclock_flip). */
  const char *t = tagged(src, "transpose.mp4", 90);
  patch_matrix(t, (const int[]){0, -1, 1, 0}, (const int[]){0, 1, 1, 0});
  check_upright(t, "transpose", 1);
}
END_TEST

START_TEST(transcode_rotated_422_and_10bit)
{
  /* A 4:2:2 source is turned into 4:4:0 before the scalers; a 10-bit one at
   * 16-bit sample width. */
  const char *s422 = gen("redblue422.mp4", SRC_RED_BLUE("yuv422p"));
  ck_assert_ptr_nonnull(s422);
  check_upright(tagged(s422, "rot422.mp4", 90), "rot422", 1);
  const char *s10 = gen("redblue10.mp4", SRC_RED_BLUE("yuv420p10le"));
  ck_assert_ptr_nonnull(s10);
  check_upright(tagged(s10, "rot10.mp4", 270), "rot10", 1);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("media_rotate");
  TCase *tc = tcase_create("rotate");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, plane_matches_naive);
  tcase_add_test(tc, orient_rules);
  tcase_add_test(tc, frames_in_several_formats);
  tcase_add_test(tc, portrait_ladder);
  tcase_add_test(tc, transcode_rotated_sources);
  tcase_add_test(tc, transcode_mirrored_sources);
  tcase_add_test(tc, transcode_rotated_422_and_10bit);
  suite_add_tcase(s, tc);
  return run_media_suite(s);
}
