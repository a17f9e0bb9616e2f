/*
 * Unit tests for the thumbnail sink (libstream/media/thumbs.c): synthetic
 * frames whose colour changes every second are pushed without any input file;
 * the sheets, poster and WebVTT track are checked exactly, and the JPEGs are
 * decoded back with libavcodec to check sizes and that each tile shows the
 * frame of its time.
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>

#include "media/media_internal.h"
#include "stream/common.h"

/* ---- helpers --------------------------------------------------------------- */

static char tmpdir[256];

static void make_tmpdir(void)
{
  snprintf(tmpdir, sizeof tmpdir, "/tmp/test_thumbs_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_tree(const char *path)
{
  if (getenv("THUMBS_TEST_KEEP")) /* keep the output for a look */
    return;
  DIR *d = opendir(path);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
        continue;
      char sub[512];
      snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
      rm_tree(sub);
    }
    closedir(d);
    rmdir(path);
  } else {
    unlink(path);
  }
}

static int file_exists(const char *rel)
{
  char p[512];
  snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
  struct stat st;
  return stat(p, &st) == 0;
}

static char *read_all(const char *rel, size_t *len)
{
  char p[512];
  snprintf(p, sizeof p, "%s/%s", tmpdir, rel);
  FILE *f = fopen(p, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", p);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = 0;
  fclose(f);
  if (len)
    *len = (size_t)n;
  return buf;
}

/* No "*.tmp" left anywhere in the output. */
static int count_tmp(const char *path)
{
  int n = 0;
  DIR *d = opendir(path);
  if (!d)
    return 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    size_t l = strlen(e->d_name);
    if (l > 4 && !strcmp(e->d_name + l - 4, ".tmp"))
      n++;
    char sub[512];
    snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
    n += count_tmp(sub);
  }
  closedir(d);
  return n;
}

/* Colour of second s: limited-range YUV for YUV sources, RGB for RGB ones. */
static void yuv_of(int s, int *y, int *u, int *v)
{
  *y = 40 + (s * 37) % 180;
  *u = 60 + (s * 53) % 136;
  *v = 60 + (s * 71) % 136;
}

static void rgb_of(int s, int *r, int *g, int *b)
{
  *r = 20 + (s * 67) % 216;
  *g = 20 + (s * 101) % 216;
  *b = 20 + (s * 29) % 216;
}

/* Expected full-range BT.601 (JPEG) values of second s's colour. */
static void expect_of(enum AVPixelFormat fmt, int s, double *y, double *u, double *v)
{
  if (fmt == AV_PIX_FMT_RGB24) {
    int r, g, b;
    rgb_of(s, &r, &g, &b);
    *y = 0.299 * r + 0.587 * g + 0.114 * b;
    *u = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
    *v = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
  } else {
    int Y, U, V;
    yuv_of(s, &Y, &U, &V);
    *y = (Y - 16) * 255.0 / 219.0;
    *u = (U - 128) * 255.0 / 224.0 + 128;
    *v = (V - 128) * 255.0 / 224.0 + 128;
  }
}

static AVFrame *make_frame(enum AVPixelFormat fmt, int w, int h, int s)
{
  AVFrame *f = av_frame_alloc();
  ck_assert_ptr_nonnull(f);
  f->format = fmt;
  f->width = w;
  f->height = h;
  ck_assert_int_ge(av_frame_get_buffer(f, 0), 0);
  if (fmt == AV_PIX_FMT_RGB24) {
    int r, g, b;
    rgb_of(s, &r, &g, &b);
    for (int yy = 0; yy < h; yy++)
      for (int xx = 0; xx < w; xx++) {
        uint8_t *p = f->data[0] + yy * f->linesize[0] + 3 * xx;
        p[0] = (uint8_t)r;
        p[1] = (uint8_t)g;
        p[2] = (uint8_t)b;
      }
  } else {
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(fmt);
    int Y, U, V;
    yuv_of(s, &Y, &U, &V);
    int cw = AV_CEIL_RSHIFT(w, d->log2_chroma_w), ch = AV_CEIL_RSHIFT(h, d->log2_chroma_h);
    for (int yy = 0; yy < h; yy++)
      memset(f->data[0] + yy * f->linesize[0], Y, (size_t)w);
    for (int yy = 0; yy < ch; yy++) {
      memset(f->data[1] + yy * f->linesize[1], U, (size_t)cw);
      memset(f->data[2] + yy * f->linesize[2], V, (size_t)cw);
    }
  }
  return f;
}

/* Decode a JPEG of the output with libavcodec's mjpeg decoder. */
static AVFrame *decode_jpeg(const char *rel)
{
  size_t n = 0;
  char *data = read_all(rel, &n);
  ck_assert_uint_gt(n, 100);
  ck_assert_int_eq((unsigned char)data[0], 0xFF);
  ck_assert_int_eq((unsigned char)data[1], 0xD8);
  const AVCodec *codec = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
  ck_assert_ptr_nonnull(codec);
  AVCodecContext *c = avcodec_alloc_context3(codec);
  ck_assert_int_eq(avcodec_open2(c, codec, NULL), 0);
  AVPacket *pkt = av_packet_alloc();
  ck_assert_int_eq(av_new_packet(pkt, (int)n), 0);
  memcpy(pkt->data, data, n);
  free(data);
  AVFrame *f = av_frame_alloc();
  ck_assert_int_eq(avcodec_send_packet(c, pkt), 0);
  ck_assert_int_eq(avcodec_receive_frame(c, f), 0);
  av_packet_free(&pkt);
  avcodec_free_context(&c);
  ck_assert(f->format == AV_PIX_FMT_YUVJ420P ||
            (f->format == AV_PIX_FMT_YUV420P && f->color_range == AVCOL_RANGE_JPEG));
  return f;
}

/* Average Y, U, V over the rectangle (x, y, w, h) of a decoded 4:2:0 image. */
static void average(const AVFrame *f, int x, int y, int w, int h, double *Y, double *U, double *V)
{
  double sy = 0, su = 0, sv = 0;
  for (int r = y; r < y + h; r++)
    for (int c = x; c < x + w; c++)
      sy += f->data[0][r * f->linesize[0] + c];
  for (int r = y / 2; r < (y + h) / 2; r++)
    for (int c = x / 2; c < (x + w) / 2; c++) {
      su += f->data[1][r * f->linesize[1] + c];
      sv += f->data[2][r * f->linesize[2] + c];
    }
  *Y = sy / (w * h);
  *U = su / ((w / 2) * (h / 2));
  *V = sv / ((w / 2) * (h / 2));
}

#define TOL 6.0

/* The inner part of cell (x, y, w, h) shows second s of a `fmt` source. */
static void check_colour(const AVFrame *img, int x, int y, int w, int h, enum AVPixelFormat fmt,
                         int s, const char *what)
{
  double ey, eu, ev, gy, gu, gv;
  expect_of(fmt, s, &ey, &eu, &ev);
  average(img, x + w / 4, y + h / 4, w / 2, h / 2, &gy, &gu, &gv);
  ck_assert_msg(fabs(gy - ey) < TOL && fabs(gu - eu) < TOL && fabs(gv - ev) < TOL,
                "%s: got YUV %.1f,%.1f,%.1f, expected second %d = %.1f,%.1f,%.1f", what, gy, gu, gv,
                s, ey, eu, ev);
}

static void check_black(const AVFrame *img, int x, int y, int w, int h, const char *what)
{
  double gy, gu, gv;
  average(img, x, y, w, h, &gy, &gu, &gv);
  ck_assert_msg(gy < 4 && fabs(gu - 128) < 4 && fabs(gv - 128) < 4,
                "%s: expected black, got %.1f,%.1f,%.1f", what, gy, gu, gv);
}

/* Push n frames at fps (times offset + i / fps) of a w x h `fmt` source. */
static void push_frames(media__thumbs *th, enum AVPixelFormat fmt, int w, int h, int n, int fps,
                        double offset)
{
  for (int i = 0; i < n; i++) {
    double t = offset + (double)i / fps;
    AVFrame *f = make_frame(fmt, w, h, (int)floor(t));
    ck_assert_int_eq(media__thumbs_push(th, f, t), STREAM_OK);
    av_frame_free(&f);
  }
}

static media__thumbs_options opts_of(int tw, int tht, double interval, int cols, int rows,
                                     double poster_time, int poster_width)
{
  media__thumbs_options o;
  memset(&o, 0, sizeof o);
  o.tile_width = tw;
  o.tile_height = tht;
  o.interval = interval;
  o.columns = cols;
  o.rows = rows;
  o.poster_time = poster_time;
  o.poster_width = poster_width;
  return o;
}

/* ---- tests ----------------------------------------------------------------- */

START_TEST(test_yuv420p_21s)
{
  make_tmpdir();
  media__thumbs_options o = opts_of(160, 90, 2.0, 5, 2, -1.0, 0);
  media__thumbs *th = NULL;
  ck_assert_int_eq(media__thumbs_new(&th, tmpdir, &o, 320, 180, AV_PIX_FMT_YUV420P, 1, 1, 21.0),
                   STREAM_OK);
  push_frames(th, AV_PIX_FMT_YUV420P, 320, 180, 210, 10, 0.0);
  ck_assert_int_eq(media__thumbs_finish(th), STREAM_OK);
  media__thumbs_free(th);

  const char *expect_vtt =
      "WEBVTT\n\n"
      "00:00:00.000 --> 00:00:02.000\nsprites/sprite_000.jpg#xywh=0,0,160,90\n\n"
      "00:00:02.000 --> 00:00:04.000\nsprites/sprite_000.jpg#xywh=160,0,160,90\n\n"
      "00:00:04.000 --> 00:00:06.000\nsprites/sprite_000.jpg#xywh=320,0,160,90\n\n"
      "00:00:06.000 --> 00:00:08.000\nsprites/sprite_000.jpg#xywh=480,0,160,90\n\n"
      "00:00:08.000 --> 00:00:10.000\nsprites/sprite_000.jpg#xywh=640,0,160,90\n\n"
      "00:00:10.000 --> 00:00:12.000\nsprites/sprite_000.jpg#xywh=0,90,160,90\n\n"
      "00:00:12.000 --> 00:00:14.000\nsprites/sprite_000.jpg#xywh=160,90,160,90\n\n"
      "00:00:14.000 --> 00:00:16.000\nsprites/sprite_000.jpg#xywh=320,90,160,90\n\n"
      "00:00:16.000 --> 00:00:18.000\nsprites/sprite_000.jpg#xywh=480,90,160,90\n\n"
      "00:00:18.000 --> 00:00:20.000\nsprites/sprite_000.jpg#xywh=640,90,160,90\n\n"
      "00:00:20.000 --> 00:00:21.000\nsprites/sprite_001.jpg#xywh=0,0,160,90\n\n";
  char *vtt = read_all("thumbnails.vtt", NULL);
  ck_assert_str_eq(vtt, expect_vtt);
  free(vtt);
  ck_assert(!file_exists("sprites/sprite_002.jpg"));
  ck_assert_int_eq(count_tmp(tmpdir), 0);

  AVFrame *s0 = decode_jpeg("sprites/sprite_000.jpg");
  ck_assert_int_eq(s0->width, 800);
  ck_assert_int_eq(s0->height, 180);
  for (int k = 0; k < 10; k++) {
    char what[32];
    snprintf(what, sizeof what, "tile %d", k);
    check_colour(s0, (k % 5) * 160, (k / 5) * 90, 160, 90, AV_PIX_FMT_YUV420P, 2 * k, what);
  }
  av_frame_free(&s0);
  AVFrame *s1 = decode_jpeg("sprites/sprite_001.jpg");
  ck_assert_int_eq(s1->width, 160); /* last sheet trimmed to its one tile */
  ck_assert_int_eq(s1->height, 90);
  check_colour(s1, 0, 0, 160, 90, AV_PIX_FMT_YUV420P, 20, "tile 10");
  av_frame_free(&s1);
  /* Poster at 10 % of 21 s = 2.1 s (second 2), source width (320 < 1280). */
  AVFrame *p = decode_jpeg("poster.jpg");
  ck_assert_int_eq(p->width, 320);
  ck_assert_int_eq(p->height, 180);
  check_colour(p, 0, 0, 320, 180, AV_PIX_FMT_YUV420P, 2, "poster");
  av_frame_free(&p);
  rm_tree(tmpdir);
}
END_TEST

/* RGB24 4:3 source, tile height from the aspect, timestamps off the grid,
 * unknown duration, explicit poster time. */
START_TEST(test_rgb24_offset_unknown_duration)
{
  make_tmpdir();
  media__thumbs_options o = opts_of(160, 0, 2.0, 3, 3, 5.5, 0);
  media__thumbs *th = NULL;
  ck_assert_int_eq(media__thumbs_new(&th, tmpdir, &o, 200, 150, AV_PIX_FMT_RGB24, 0, 0, 0.0),
                   STREAM_OK);
  push_frames(th, AV_PIX_FMT_RGB24, 200, 150, 210, 10, 0.05);
  ck_assert_int_eq(media__thumbs_finish(th), STREAM_OK);
  media__thumbs_free(th);

  char *vtt = read_all("thumbnails.vtt", NULL);
  ck_assert(strncmp(vtt,
                    "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n"
                    "sprites/sprite_000.jpg#xywh=0,0,160,120\n\n",
                    strlen("WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n"
                           "sprites/sprite_000.jpg#xywh=0,0,160,120\n\n")) == 0);
  ck_assert_ptr_nonnull(strstr(vtt, "00:00:16.000 --> 00:00:18.000\n"
                                    "sprites/sprite_000.jpg#xywh=320,240,160,120\n\n"
                                    "00:00:18.000 --> 00:00:20.000\n"
                                    "sprites/sprite_001.jpg#xywh=0,0,160,120\n\n"
                                    "00:00:20.000 --> 00:00:21.050\n"
                                    "sprites/sprite_001.jpg#xywh=160,0,160,120\n\n"));
  size_t len = strlen(vtt);
  ck_assert(len > 2 && strcmp(vtt + len - 2, "\n\n") == 0);
  int cues = 0;
  for (const char *q = vtt; (q = strstr(q, " --> ")) != NULL; q++)
    cues++;
  ck_assert_int_eq(cues, 11);
  free(vtt);

  AVFrame *s0 = decode_jpeg("sprites/sprite_000.jpg");
  ck_assert_int_eq(s0->width, 480);
  ck_assert_int_eq(s0->height, 360);
  for (int k = 0; k < 9; k++) {
    char what[32];
    snprintf(what, sizeof what, "rgb tile %d", k);
    /* first frame at/after 2k s is 2k + 0.05 s: colour of second 2k */
    check_colour(s0, (k % 3) * 160, (k / 3) * 120, 160, 120, AV_PIX_FMT_RGB24, 2 * k, what);
  }
  av_frame_free(&s0);
  AVFrame *s1 = decode_jpeg("sprites/sprite_001.jpg");
  ck_assert_int_eq(s1->width, 320);
  ck_assert_int_eq(s1->height, 120);
  check_colour(s1, 0, 0, 160, 120, AV_PIX_FMT_RGB24, 18, "rgb tile 9");
  check_colour(s1, 160, 0, 160, 120, AV_PIX_FMT_RGB24, 20, "rgb tile 10");
  av_frame_free(&s1);
  AVFrame *p = decode_jpeg("poster.jpg");
  ck_assert_int_eq(p->width, 200);
  ck_assert_int_eq(p->height, 150);
  check_colour(p, 0, 0, 200, 150, AV_PIX_FMT_RGB24, 5, "poster at 5.5 s");
  av_frame_free(&p);
  ck_assert_int_eq(count_tmp(tmpdir), 0);
  rm_tree(tmpdir);
}
END_TEST

/* 4:3 YUV422P source into fixed 16:9 tiles: pillarboxed, not stretched. */
START_TEST(test_yuv422p_4x3_letterbox)
{
  make_tmpdir();
  media__thumbs_options o = opts_of(160, 90, 2.0, 10, 10, 1.0, 100);
  media__thumbs *th = NULL;
  ck_assert_int_eq(media__thumbs_new(&th, tmpdir, &o, 240, 180, AV_PIX_FMT_YUV422P, 1, 1, 5.0),
                   STREAM_OK);
  push_frames(th, AV_PIX_FMT_YUV422P, 240, 180, 50, 10, 0.0);
  ck_assert_int_eq(media__thumbs_finish(th), STREAM_OK);
  media__thumbs_free(th);

  char *vtt = read_all("thumbnails.vtt", NULL);
  ck_assert_str_eq(vtt,
                   "WEBVTT\n\n"
                   "00:00:00.000 --> 00:00:02.000\nsprites/sprite_000.jpg#xywh=0,0,160,90\n\n"
                   "00:00:02.000 --> 00:00:04.000\nsprites/sprite_000.jpg#xywh=160,0,160,90\n\n"
                   "00:00:04.000 --> 00:00:05.000\nsprites/sprite_000.jpg#xywh=320,0,160,90\n\n");
  free(vtt);
  AVFrame *s0 = decode_jpeg("sprites/sprite_000.jpg");
  ck_assert_int_eq(s0->width, 480);
  ck_assert_int_eq(s0->height, 90);
  for (int k = 0; k < 3; k++) {
    char what[32];
    snprintf(what, sizeof what, "422 tile %d", k);
    /* picture: 120x90 at x = 20 inside each 160x90 cell; bars either side */
    check_colour(s0, k * 160 + 20, 0, 120, 90, AV_PIX_FMT_YUV422P, 2 * k, what);
    check_black(s0, k * 160 + 2, 4, 14, 82, "left bar");
    check_black(s0, k * 160 + 144, 4, 14, 82, "right bar");
  }
  av_frame_free(&s0);
  AVFrame *p = decode_jpeg("poster.jpg");
  ck_assert_int_eq(p->width, 100);
  ck_assert_int_eq(p->height, 76); /* 100 * 3/4 = 75, rounded to even */
  check_colour(p, 0, 0, 100, 76, AV_PIX_FMT_YUV422P, 1, "poster at 1 s");
  av_frame_free(&p);
  rm_tree(tmpdir);
}
END_TEST

/* Anamorphic 480x360 with SAR 4:3 displays as 16:9. */
START_TEST(test_sar_anamorphic)
{
  make_tmpdir();
  media__thumbs_options o = opts_of(160, 0, 2.0, 10, 10, -1.0, 0);
  media__thumbs *th = NULL;
  ck_assert_int_eq(media__thumbs_new(&th, tmpdir, &o, 480, 360, AV_PIX_FMT_YUV420P, 4, 3, 4.0),
                   STREAM_OK);
  push_frames(th, AV_PIX_FMT_YUV420P, 480, 360, 40, 10, 0.0);
  ck_assert_int_eq(media__thumbs_finish(th), STREAM_OK);
  media__thumbs_free(th);
  char *vtt = read_all("thumbnails.vtt", NULL);
  ck_assert_str_eq(vtt,
                   "WEBVTT\n\n"
                   "00:00:00.000 --> 00:00:02.000\nsprites/sprite_000.jpg#xywh=0,0,160,90\n\n"
                   "00:00:02.000 --> 00:00:04.000\nsprites/sprite_000.jpg#xywh=160,0,160,90\n\n");
  free(vtt);
  AVFrame *s0 = decode_jpeg("sprites/sprite_000.jpg");
  ck_assert_int_eq(s0->width, 320);
  ck_assert_int_eq(s0->height, 90);
  check_colour(s0, 0, 0, 160, 90, AV_PIX_FMT_YUV420P, 0, "sar tile 0");
  check_colour(s0, 160, 0, 160, 90, AV_PIX_FMT_YUV420P, 2, "sar tile 1");
  av_frame_free(&s0);
  /* Poster widened to the display size: 480 * 4/3 = 640 x 360; at 0.4 s. */
  AVFrame *p = decode_jpeg("poster.jpg");
  ck_assert_int_eq(p->width, 640);
  ck_assert_int_eq(p->height, 360);
  check_colour(p, 0, 0, 640, 360, AV_PIX_FMT_YUV420P, 0, "sar poster");
  av_frame_free(&p);

  /* Same source into fixed 160x90 tiles: no bars (the picture fills the tile). */
  rm_tree(tmpdir);
  make_tmpdir();
  o = opts_of(160, 90, 2.0, 10, 10, -1.0, 0);
  ck_assert_int_eq(media__thumbs_new(&th, tmpdir, &o, 480, 360, AV_PIX_FMT_YUV420P, 4, 3, 2.0),
                   STREAM_OK);
  push_frames(th, AV_PIX_FMT_YUV420P, 480, 360, 20, 10, 0.0);
  ck_assert_int_eq(media__thumbs_finish(th), STREAM_OK);
  media__thumbs_free(th);
  s0 = decode_jpeg("sprites/sprite_000.jpg");
  ck_assert_int_eq(s0->width, 160);
  ck_assert_int_eq(s0->height, 90);
  double y, u, v;
  average(s0, 2, 2, 12, 86, &y, &u, &v);
  ck_assert_msg(y > 20, "left edge should be picture, not a bar (Y %.1f)", y);
  av_frame_free(&s0);
  rm_tree(tmpdir);
}
END_TEST

/* A gap in the source repeats its next frame over the tile times it spans;
 * late frames are ignored; a poster time past the end falls back to the last
 * tile frame. */
START_TEST(test_gap_and_poster_fallback)
{
  make_tmpdir();
  media__thumbs_options o = opts_of(64, 36, 2.0, 10, 1, 100.0, 64);
  media__thumbs *th = NULL;
  ck_assert_int_eq(media__thumbs_new(&th, tmpdir, &o, 64, 36, AV_PIX_FMT_YUV420P, 1, 1, 9.0),
                   STREAM_OK);
  const double times[] = {0.0, 7.0, 3.0 /* late: ignored */, 7.5, 8.0, 8.5};
  for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
    AVFrame *f = make_frame(AV_PIX_FMT_YUV420P, 64, 36, (int)times[i]);
    ck_assert_int_eq(media__thumbs_push(th, f, times[i]), STREAM_OK);
    av_frame_free(&f);
  }
  ck_assert_int_eq(media__thumbs_finish(th), STREAM_OK);
  ck_assert_int_eq(media__thumbs_finish(th), STREAM_EINVAL);
  AVFrame *f = make_frame(AV_PIX_FMT_YUV420P, 64, 36, 9);
  ck_assert_int_eq(media__thumbs_push(th, f, 9.0), STREAM_EINVAL);
  av_frame_free(&f);
  media__thumbs_free(th);
  char *vtt = read_all("thumbnails.vtt", NULL);
  ck_assert_str_eq(vtt,
                   "WEBVTT\n\n"
                   "00:00:00.000 --> 00:00:02.000\nsprites/sprite_000.jpg#xywh=0,0,64,36\n\n"
                   "00:00:02.000 --> 00:00:04.000\nsprites/sprite_000.jpg#xywh=64,0,64,36\n\n"
                   "00:00:04.000 --> 00:00:06.000\nsprites/sprite_000.jpg#xywh=128,0,64,36\n\n"
                   "00:00:06.000 --> 00:00:08.000\nsprites/sprite_000.jpg#xywh=192,0,64,36\n\n"
                   "00:00:08.000 --> 00:00:09.000\nsprites/sprite_000.jpg#xywh=256,0,64,36\n\n");
  free(vtt);
  AVFrame *s0 = decode_jpeg("sprites/sprite_000.jpg");
  ck_assert_int_eq(s0->width, 320);
  ck_assert_int_eq(s0->height, 36);
  const int secs[] = {0, 7, 7, 7, 8};
  for (int k = 0; k < 5; k++)
    check_colour(s0, k * 64, 0, 64, 36, AV_PIX_FMT_YUV420P, secs[k], "gap tile");
  av_frame_free(&s0);
  AVFrame *p = decode_jpeg("poster.jpg");
  ck_assert_int_eq(p->width, 64);
  ck_assert_int_eq(p->height, 36);
  check_colour(p, 0, 0, 64, 36, AV_PIX_FMT_YUV420P, 8, "fallback poster");
  av_frame_free(&p);
  rm_tree(tmpdir);
}
END_TEST

/* A full last sheet is not trimmed; a second format mid-stream is scaled too;
 * defaults (NULL options) are 160x90, 2 s, 10x10. */
START_TEST(test_defaults_and_format_change)
{
  make_tmpdir();
  media__thumbs *th = NULL;
  ck_assert_int_eq(media__thumbs_new(&th, tmpdir, NULL, 320, 240, AV_PIX_FMT_YUV420P, 1, 1, 4.0),
                   STREAM_OK);
  push_frames(th, AV_PIX_FMT_YUV420P, 320, 240, 20, 10, 0.0);
  push_frames(th, AV_PIX_FMT_RGB24, 640, 480, 20, 10, 2.0);
  ck_assert_int_eq(media__thumbs_finish(th), STREAM_OK);
  media__thumbs_free(th);
  AVFrame *s0 = decode_jpeg("sprites/sprite_000.jpg");
  ck_assert_int_eq(s0->width, 320);
  ck_assert_int_eq(s0->height, 90);
  check_colour(s0, 20, 0, 120, 90, AV_PIX_FMT_YUV420P, 0, "tile 0 (yuv)");
  check_colour(s0, 180, 0, 120, 90, AV_PIX_FMT_RGB24, 2, "tile 1 (rgb)");
  check_black(s0, 162, 4, 14, 82, "pillarbox");
  av_frame_free(&s0);
  AVFrame *p = decode_jpeg("poster.jpg"); /* 10 % of 4 s = 0.4 s */
  ck_assert_int_eq(p->width, 320);
  ck_assert_int_eq(p->height, 240);
  av_frame_free(&p);
  rm_tree(tmpdir);

  make_tmpdir();
  media__thumbs_options o = opts_of(32, 18, 1.0, 2, 2, 0.0, 0);
  ck_assert_int_eq(media__thumbs_new(&th, tmpdir, &o, 64, 36, AV_PIX_FMT_YUV420P, 1, 1, 4.0),
                   STREAM_OK);
  push_frames(th, AV_PIX_FMT_YUV420P, 64, 36, 40, 10, 0.0);
  ck_assert_int_eq(media__thumbs_finish(th), STREAM_OK);
  media__thumbs_free(th);
  s0 = decode_jpeg("sprites/sprite_000.jpg");
  ck_assert_int_eq(s0->width, 64);
  ck_assert_int_eq(s0->height, 36);
  check_colour(s0, 32, 18, 32, 18, AV_PIX_FMT_YUV420P, 3, "tile 3");
  av_frame_free(&s0);
  ck_assert(!file_exists("sprites/sprite_001.jpg"));
  rm_tree(tmpdir);
}
END_TEST

static void expect_einval(const media__thumbs_options *o, int w, int h, int fmt, int sn, int sd,
                          double dur)
{
  media__thumbs *th = (media__thumbs *)&th; /* must be reset to NULL */
  stream_error_clear();
  ck_assert_int_eq(media__thumbs_new(&th, tmpdir, o, w, h, fmt, sn, sd, dur), STREAM_EINVAL);
  ck_assert_ptr_null(th);
  const stream_error *e = stream_error_last();
  ck_assert_ptr_nonnull(e);
  ck_assert_int_eq(e->code, STREAM_EINVAL);
  ck_assert(strstr(e->message, "thumbnails:") != NULL);
}

START_TEST(test_bad_options)
{
  make_tmpdir();
  const media__thumbs_options good = opts_of(160, 90, 2.0, 10, 10, -1.0, 0);
  media__thumbs_options o;
  const int Y = AV_PIX_FMT_YUV420P;
  o = good;
  o.tile_width = 161;
  expect_einval(&o, 640, 360, Y, 1, 1, 10);
  o = good;
  o.tile_width = 4;
  expect_einval(&o, 640, 360, Y, 1, 1, 10);
  o = good;
  o.tile_width = -2;
  expect_einval(&o, 640, 360, Y, 1, 1, 10);
  o = good;
  o.tile_height = 4096;
  expect_einval(&o, 640, 360, Y, 1, 1, 10);
  o = good;
  o.tile_height = 91;
  expect_einval(&o, 640, 360, Y, 1, 1, 10);
  o = good;
  o.interval = 0;
  expect_einval(&o, 640, 360, Y, 1, 1, 10);
  o = good;
  o.interval = -2;
  expect_einval(&o, 640, 360, Y, 1, 1, 10);
  o = good;
  o.interval = NAN;
  expect_einval(&o, 640, 360, Y, 1, 1, 10);
  o = good;
  o.interval = INFINITY;
  expect_einval(&o, 640, 360, Y, 1, 1, 10);
  o = good;
  o.columns = 0;
  expect_einval(&o, 640, 360, Y, 1, 1, 10);
  o = good;
  o.columns = 51;
  expect_einval(&o, 640, 360, Y, 1, 1, 10);
  o = good;
  o.rows = 0;
  expect_einval(&o, 640, 360, Y, 1, 1, 10);
  o = good;
  o.rows = 51;
  expect_einval(&o, 640, 360, Y, 1, 1, 10);
  o = good;
  o.poster_time = NAN;
  expect_einval(&o, 640, 360, Y, 1, 1, 10);
  o = good;
  o.poster_width = 101;
  expect_einval(&o, 640, 360, Y, 1, 1, 10);
  o = good;
  o.poster_width = 100000;
  expect_einval(&o, 640, 360, Y, 1, 1, 10);
  /* sheet larger than 8192 a side */
  o = good;
  o.tile_width = 2048;
  o.tile_height = 0;
  o.columns = 5;
  expect_einval(&o, 640, 360, Y, 1, 1, 10);
  /* extreme aspect: tile height from the aspect falls outside 8..2048 */
  o = good;
  o.tile_height = 0;
  expect_einval(&o, 16000, 16, Y, 1, 1, 10);
  /* source description */
  expect_einval(&good, 0, 360, Y, 1, 1, 10);
  expect_einval(&good, 640, -1, Y, 1, 1, 10);
  expect_einval(&good, 640, 360, -1, 1, 1, 10);
  expect_einval(&good, 640, 360, 100000, 1, 1, 10);
  expect_einval(&good, 640, 360, AV_PIX_FMT_VAAPI, 1, 1, 10);
  expect_einval(&good, 640, 360, Y, -1, 1, 10);
  expect_einval(&good, 640, 360, Y, 1, 0, 10);
  expect_einval(&good, 640, 360, Y, 1, 1, -1);
  expect_einval(&good, 640, 360, Y, 1, 1, NAN);

  media__thumbs *th = NULL;
  ck_assert_int_eq(media__thumbs_new(NULL, tmpdir, &good, 640, 360, Y, 1, 1, 10), STREAM_EINVAL);
  ck_assert_int_eq(media__thumbs_new(&th, NULL, &good, 640, 360, Y, 1, 1, 10), STREAM_EINVAL);
  ck_assert_int_eq(media__thumbs_new(&th, "", &good, 640, 360, Y, 1, 1, 10), STREAM_EINVAL);
  ck_assert_int_eq(media__thumbs_new(&th, "/nonexistent/dir/xyz", &good, 640, 360, Y, 1, 1, 10),
                   STREAM_ENOTFOUND);
  ck_assert_ptr_null(th);

  /* push/finish misuse */
  ck_assert_int_eq(media__thumbs_new(&th, tmpdir, &good, 64, 36, Y, 1, 1, 10), STREAM_OK);
  ck_assert_int_eq(media__thumbs_push(NULL, NULL, 0), STREAM_EINVAL);
  ck_assert_int_eq(media__thumbs_push(th, NULL, 0), STREAM_EINVAL);
  AVFrame *empty = av_frame_alloc();
  ck_assert_int_eq(media__thumbs_push(th, empty, 0), STREAM_EINVAL);
  av_frame_free(&empty);
  AVFrame *f = make_frame(AV_PIX_FMT_YUV420P, 64, 36, 0);
  ck_assert_int_eq(media__thumbs_push(th, f, NAN), STREAM_EINVAL);
  ck_assert_int_eq(media__thumbs_push(th, f, -0.5), STREAM_OK); /* before 0: no tile */
  av_frame_free(&f);
  ck_assert_int_eq(media__thumbs_finish(th), STREAM_EMEDIA); /* no frame at or after 0 */
  media__thumbs_free(th);
  ck_assert_int_eq(media__thumbs_finish(NULL), STREAM_EINVAL);
  media__thumbs_free(NULL);
  ck_assert(!file_exists("thumbnails.vtt"));
  ck_assert_int_eq(count_tmp(tmpdir), 0);

  /* Freed before finish: the temporary track is removed, nothing is presented. */
  ck_assert_int_eq(media__thumbs_new(&th, tmpdir, &good, 64, 36, Y, 1, 1, 10), STREAM_OK);
  push_frames(th, AV_PIX_FMT_YUV420P, 64, 36, 30, 10, 0.0);
  media__thumbs_free(th);
  ck_assert(!file_exists("thumbnails.vtt"));
  ck_assert_int_eq(count_tmp(tmpdir), 0);
  rm_tree(tmpdir);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("media_thumbs");
  TCase *tc = tcase_create("thumbs");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_yuv420p_21s);
  tcase_add_test(tc, test_rgb24_offset_unknown_duration);
  tcase_add_test(tc, test_yuv422p_4x3_letterbox);
  tcase_add_test(tc, test_sar_anamorphic);
  tcase_add_test(tc, test_gap_and_poster_fallback);
  tcase_add_test(tc, test_defaults_and_format_change);
  tcase_add_test(tc, test_bad_options);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
