/*
 * media encode: one video rung on its own thread. Frames from the single
 * decoder arrive through a bounded queue (references, not copies), are
 * scaled by the rung's own SwsContext, retimed to the rung's frame rate,
 * encoded with libx264 (High, closed GOP, IDR forced every GOP, scene cut
 * off, VBV maxrate 1.1x / buffer 2x) and handed to the rung's CMAF writer.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

#include "pipe_internal.h"

#define QUEUE_CAP 6

struct media__rung_enc {
  media__rung rung;
  media__rendition *r;
  AVCodecContext *enc;
  struct SwsContext *sws;
  media__writer *writer;
  AVRational src_tb;
  int64_t origin;   /* source pts of time 0 */
  int64_t last_out; /* last output pts, -1 none */
  int gop;          /* frames per GOP */
  int src_w, src_h, src_fmt;
  AVFrame *scaled;
  AVBufferPool *pool; /* pictures of the rung's size: recycled, not page-faulted in anew */
  int pool_linesize[4];
  size_t pool_offset[4];
  media__rung_enc *children[16]; /* rungs scaled from this one's pictures (cascade) */
  size_t nchildren;
  int has_parent;
  AVPacket *pkt;
  pthread_t thread;
  int started;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  AVFrame *q[QUEUE_CAP];
  size_t qhead, qlen;
  int eof, abort, done, result;
  char errmsg[512]; /* the thread's error message (errors are thread-local) */
};

static int rung_err(int code, const char *what, int averr, const char *id)
{
  char eb[128];
  return stream__err(code, "media encode %s: %s: %s", id, what, media__averr(averr, eb, sizeof eb));
}

int media__rung_open(media__rung_enc **out, const media__plan *plan, const media__rung *rung,
                     const AVCodecContext *dec, AVRational src_tb, int64_t origin_pts, int threads,
                     media__rendition *r, double *seg_seconds_out)
{
  *out = NULL;
  media__rung_enc *e = calloc(1, sizeof *e);
  if (!e)
    return stream__err(STREAM_ENOMEM, "media encode: out of memory");
  pthread_mutex_init(&e->mu, NULL);
  pthread_cond_init(&e->cv, NULL);
  e->rung = *rung;
  e->r = r;
  e->src_tb = src_tb;
  e->origin = origin_pts;
  e->last_out = -1;
  int rc;
  const AVCodec *codec = avcodec_find_encoder_by_name("libx264");
  if (!codec) {
    rc = stream__err(STREAM_ENOTSUP, "media encode: libavcodec was built without libx264");
    goto fail;
  }
  e->enc = avcodec_alloc_context3(codec);
  e->pkt = av_packet_alloc();
  e->scaled = av_frame_alloc();
  if (!e->enc || !e->pkt || !e->scaled) {
    rc = stream__err(STREAM_ENOMEM, "media encode: out of memory");
    goto fail;
  }
  AVCodecContext *c = e->enc;
  c->width = rung->width;
  c->height = rung->height;
  c->pix_fmt = AV_PIX_FMT_YUV420P;
  c->sample_aspect_ratio = (AVRational){1, 1};
  c->framerate = (AVRational){rung->fps_num, rung->fps_den};
  c->time_base = (AVRational){rung->fps_den, rung->fps_num};
  double fps = (double)rung->fps_num / rung->fps_den;
  e->gop = (int)lround(plan->gop_seconds * fps);
  if (e->gop < 1)
    e->gop = 1;
  c->gop_size = e->gop;
  c->keyint_min = e->gop;
  c->bit_rate = rung->bitrate;
  c->rc_max_rate = rung->bitrate + rung->bitrate / 10;
  c->rc_buffer_size = (int)(rung->bitrate * 2 > INT32_MAX ? INT32_MAX : rung->bitrate * 2);
  c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER | AV_CODEC_FLAG_CLOSED_GOP;
  c->thread_count = threads > 0 ? threads : 1;
  c->color_range = AVCOL_RANGE_MPEG;
  av_opt_set(c->priv_data, "preset", plan->preset[0] ? plan->preset : "veryfast", 0);
  av_opt_set(c->priv_data, "profile", "high", 0);
  av_opt_set(c->priv_data, "forced-idr", "1", 0);
  av_opt_set(c, "sc_threshold", "0", AV_OPT_SEARCH_CHILDREN);
  av_opt_set(c->priv_data, "x264-params", "scenecut=0:open-gop=0", 0);
  rc = avcodec_open2(c, codec, NULL);
  if (rc < 0) {
    rc = rung_err(STREAM_EMEDIA, "cannot open libx264", rc, rung->id);
    goto fail;
  }
  e->src_w = dec->width;
  e->src_h = dec->height;
  e->src_fmt = dec->pix_fmt;
  snprintf(r->id, sizeof r->id, "%s", rung->id);
  snprintf(r->dir, sizeof r->dir, "%s", rung->id);
  r->kind = MEDIA__VIDEO;
  r->width = rung->width;
  r->height = rung->height;
  r->sar_num = 1;
  r->sar_den = 1;
  r->fps_num = rung->fps_num;
  r->fps_den = rung->fps_den;
  r->target_bitrate = rung->bitrate;
  media__avc_codecs(r->codecs, sizeof r->codecs, c->extradata, c->extradata_size);
  int per_seg = (int)lround(plan->segment_seconds / plan->gop_seconds);
  media__writer_config cfg = {1, per_seg < 1 ? 1 : per_seg, 0, 0};
  if (seg_seconds_out)
    *seg_seconds_out = (double)e->gop * cfg.keys_per_segment / fps;
  rc = media__writer_open(&e->writer, r, plan->outdir, c, &cfg);
  if (rc != STREAM_OK)
    goto fail;
  *out = e;
  return STREAM_OK;
fail:
  media__rung_free(e);
  return rc;
}

static int drain(media__rung_enc *e)
{
  for (;;) {
    int rc = avcodec_receive_packet(e->enc, e->pkt);
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
      return STREAM_OK;
    if (rc < 0)
      return rung_err(STREAM_EMEDIA, "encoding failed", rc, e->rung.id);
    rc = media__writer_write(e->writer, e->pkt);
    av_packet_unref(e->pkt);
    if (rc != STREAM_OK)
      return rc;
  }
}

/* A picture of the rung's size from the rung's pool (64-byte aligned rows). */
static int pool_picture(media__rung_enc *e, AVFrame *f)
{
  if (!e->pool) {
    int w = e->rung.width, h = e->rung.height;
    ptrdiff_t ls[4];
    size_t sizes[4];
    if (av_image_fill_linesizes(e->pool_linesize, AV_PIX_FMT_YUV420P, FFALIGN(w, 64)) < 0)
      return STREAM_EINVAL;
    for (int i = 0; i < 4; i++)
      ls[i] = e->pool_linesize[i];
    if (av_image_fill_plane_sizes(sizes, AV_PIX_FMT_YUV420P, h, ls) < 0)
      return STREAM_EINVAL;
    size_t total = 0;
    for (int i = 0; i < 4; i++) {
      e->pool_offset[i] = total;
      total += FFALIGN(sizes[i], 64);
    }
    /* + padding: SIMD code may read a little past the last row */
    e->pool = av_buffer_pool_init(total + 256, NULL);
    if (!e->pool)
      return STREAM_ENOMEM;
  }
  av_frame_unref(f);
  f->buf[0] = av_buffer_pool_get(e->pool);
  if (!f->buf[0])
    return STREAM_ENOMEM;
  for (int i = 0; i < 3; i++) {
    f->data[i] = f->buf[0]->data + e->pool_offset[i];
    f->linesize[i] = e->pool_linesize[i];
  }
  f->format = AV_PIX_FMT_YUV420P;
  f->width = e->rung.width;
  f->height = e->rung.height;
  return STREAM_OK;
}

/* `dst` = the pixels of `src` (new references, no copy), without its
 * properties or side data: the encoder sees the same input as after a
 * scaler. */
static int ref_picture(AVFrame *dst, const AVFrame *src)
{
  av_frame_unref(dst);
  for (int i = 0; i < AV_NUM_DATA_POINTERS && src->buf[i]; i++) {
    dst->buf[i] = av_buffer_ref(src->buf[i]);
    if (!dst->buf[i]) {
      av_frame_unref(dst);
      return STREAM_ENOMEM;
    }
  }
  if (!dst->buf[0])
    return STREAM_EINVAL; /* not reference-counted: cannot share */
  for (int i = 0; i < AV_NUM_DATA_POINTERS; i++) {
    dst->data[i] = src->data[i];
    dst->linesize[i] = src->linesize[i];
  }
  dst->format = src->format;
  dst->width = src->width;
  dst->height = src->height;
  return STREAM_OK;
}

static int encode_frame(media__rung_enc *e, AVFrame *in)
{
  /* Output time: the source time on the rung's frame grid; drop frames that
   * land on an already used slot (frame rate reduction). */
  int64_t spts = in->pts != AV_NOPTS_VALUE ? in->pts : 0;
  double t = (double)(spts - e->origin) * av_q2d(e->src_tb);
  /* floor(x + 0.25): exact for an equal rate even with millisecond-rounded
   * timestamps, and keeps every n-th frame when the rung's rate is lower. */
  int64_t opts = (int64_t)floor(t * e->rung.fps_num / e->rung.fps_den + 0.25);
  if (opts < 0)
    opts = 0;
  if (e->last_out >= 0 && opts <= e->last_out)
    return STREAM_OK;
  AVFrame *f = e->scaled;
  int rc;
  if (in->width == e->rung.width && in->height == e->rung.height &&
      in->format == AV_PIX_FMT_YUV420P && ref_picture(f, in) == STREAM_OK) {
    /* same size and format: the encoder copies the picture itself */
  } else {
    if (!e->sws || e->src_w != in->width || e->src_h != in->height || e->src_fmt != in->format) {
      sws_freeContext(e->sws);
      e->src_w = in->width;
      e->src_h = in->height;
      e->src_fmt = in->format;
      e->sws = sws_getContext(in->width, in->height, (enum AVPixelFormat)in->format, e->rung.width,
                              e->rung.height, AV_PIX_FMT_YUV420P, SWS_BICUBIC, NULL, NULL, NULL);
      if (!e->sws)
        return stream__err(STREAM_EMEDIA, "media encode %s: cannot scale %dx%d to %dx%d",
                           e->rung.id, in->width, in->height, e->rung.width, e->rung.height);
    }
    rc = pool_picture(e, f);
    if (rc != STREAM_OK)
      return stream__err(rc, "media encode %s: frame allocation failed", e->rung.id);
    sws_scale(e->sws, (const uint8_t *const *)in->data, in->linesize, 0, in->height, f->data,
              f->linesize);
  }
  /* Rungs scaled from this picture get it with the source's timestamp. */
  if (e->nchildren) {
    f->pts = in->pts;
    for (size_t i = 0; i < e->nchildren; i++) {
      rc = media__rung_push(e->children[i], f);
      if (rc != STREAM_OK)
        return rc;
    }
  }
  /* Gaps in the source: keep the IDR grid by forcing a key frame whenever
   * a GOP boundary was crossed since the last frame. */
  int64_t prev_gop = e->last_out < 0 ? -1 : e->last_out / e->gop;
  e->last_out = opts;
  f->pts = opts;
  f->pict_type = (opts / e->gop != prev_gop) ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
  f->key_frame = 0;
  f->sample_aspect_ratio = (AVRational){1, 1};
  rc = avcodec_send_frame(e->enc, f);
  av_frame_unref(f);
  if (rc < 0)
    return rung_err(STREAM_EMEDIA, "encoding failed", rc, e->rung.id);
  return drain(e);
}

static void *rung_main(void *arg)
{
  media__rung_enc *e = arg;
  int rc = STREAM_OK;
  char name[16]; /* "tx-" + the rung id, shown by top -H, perf, gdb */
  snprintf(name, sizeof name, "tx-%.12s", e->rung.id);
  pthread_setname_np(pthread_self(), name);
  for (;;) {
    pthread_mutex_lock(&e->mu);
    while (e->qlen == 0 && !e->eof && !e->abort)
      pthread_cond_wait(&e->cv, &e->mu);
    if (e->abort) {
      pthread_mutex_unlock(&e->mu);
      rc = STREAM_ECANCELED;
      break;
    }
    if (e->qlen == 0 && e->eof) {
      pthread_mutex_unlock(&e->mu);
      break;
    }
    AVFrame *f = e->q[e->qhead];
    e->q[e->qhead] = NULL;
    e->qhead = (e->qhead + 1) % QUEUE_CAP;
    e->qlen--;
    pthread_cond_broadcast(&e->cv);
    pthread_mutex_unlock(&e->mu);
    rc = encode_frame(e, f);
    av_frame_free(&f);
    if (rc != STREAM_OK)
      break;
  }
  /* The rungs fed by this one end with it: the end of their input, or an
   * abort when this one failed (they would wait for frames forever). */
  for (size_t i = 0; i < e->nchildren; i++) {
    if (rc != STREAM_OK || media__rung_push(e->children[i], NULL) != STREAM_OK)
      media__rung_abort(e->children[i]);
  }
  if (rc == STREAM_OK) {
    int r2 = avcodec_send_frame(e->enc, NULL);
    rc = r2 < 0 ? rung_err(STREAM_EMEDIA, "flushing the encoder failed", r2, e->rung.id) : drain(e);
    if (rc == STREAM_OK)
      rc = media__writer_finish(e->writer);
  }
  pthread_mutex_lock(&e->mu);
  e->done = 1;
  e->result = rc;
  if (rc != STREAM_OK) {
    const stream_error *er = stream_error_last();
    snprintf(e->errmsg, sizeof e->errmsg, "%s", er ? er->message : "failed");
  }
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
  return NULL;
}

int media__rung_attach(media__rung_enc *parent, media__rung_enc *child)
{
  if (!parent || !child || parent == child || child->has_parent || parent->started ||
      parent->nchildren >= sizeof parent->children / sizeof parent->children[0])
    return stream__err(STREAM_EINTERNAL, "media encode: cannot feed a rung from another");
  parent->children[parent->nchildren++] = child;
  child->has_parent = 1;
  return STREAM_OK;
}

int media__rung_fed(const media__rung_enc *e)
{
  return e->has_parent;
}

int media__rung_start(media__rung_enc *e)
{
  int rc = pthread_create(&e->thread, NULL, rung_main, e);
  if (rc != 0)
    return stream__err(STREAM_ENOMEM, "media encode %s: cannot start a thread", e->rung.id);
  e->started = 1;
  return STREAM_OK;
}

int media__rung_push(media__rung_enc *e, const AVFrame *frame)
{
  AVFrame *ref = NULL;
  if (frame) {
    ref = av_frame_clone(frame);
    if (!ref)
      return stream__err(STREAM_ENOMEM, "media encode: out of memory");
  }
  pthread_mutex_lock(&e->mu);
  while (e->qlen == QUEUE_CAP && !e->done && !e->abort)
    pthread_cond_wait(&e->cv, &e->mu);
  if (e->done || e->abort) {
    int rc = e->done ? e->result : STREAM_ECANCELED;
    char msg[512];
    snprintf(msg, sizeof msg, "%s", e->errmsg);
    pthread_mutex_unlock(&e->mu);
    av_frame_free(&ref);
    if (rc == STREAM_OK) /* finished early: cannot happen before eof */
      return stream__err(STREAM_EINTERNAL, "media encode %s: frame after the end", e->rung.id);
    return rc == STREAM_ECANCELED ? rc : stream__err(rc, "%s", msg);
  }
  if (ref) {
    e->q[(e->qhead + e->qlen) % QUEUE_CAP] = ref;
    e->qlen++;
  } else {
    e->eof = 1;
  }
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
  return STREAM_OK;
}

void media__rung_abort(media__rung_enc *e)
{
  if (!e)
    return;
  pthread_mutex_lock(&e->mu);
  e->abort = 1;
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
}

int media__rung_join(media__rung_enc *e)
{
  if (!e->started)
    return STREAM_OK;
  pthread_join(e->thread, NULL);
  e->started = 0;
  if (e->result != STREAM_OK && e->result != STREAM_ECANCELED)
    return stream__err(e->result, "%s", e->errmsg);
  return e->result;
}

void media__rung_free(media__rung_enc *e)
{
  if (!e)
    return;
  if (e->started) {
    media__rung_abort(e);
    pthread_join(e->thread, NULL);
  }
  for (size_t i = 0; i < e->qlen; i++)
    av_frame_free(&e->q[(e->qhead + i) % QUEUE_CAP]);
  media__writer_free(e->writer);
  avcodec_free_context(&e->enc);
  sws_freeContext(e->sws);
  av_frame_free(&e->scaled);
  av_buffer_pool_uninit(&e->pool);
  av_packet_free(&e->pkt);
  pthread_mutex_destroy(&e->mu);
  pthread_cond_destroy(&e->cv);
  free(e);
}
