/*
 * media pipeline: decode the input once and fan the frames out to one
 * encoder thread per rung (bounded queues: memory does not grow with the
 * title), to the thumbnails sink, and each selected audio stream to its
 * own AAC encoder (one audio.c instance per stream). Flushes decoder -> scalers -> encoders ->
 * writers at the end and fills the package index. A source with a display rotation (portrait phone
 * video) is turned upright once per decoded frame, before the rungs scale
 * it (rotate.c); a source without one takes the same path as before.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pipe_internal.h"

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct run_state {
  const media__plan *plan;
  AVFormatContext *in;
  AVCodecContext *dec;
  media__rung_enc *rungs[16];
  size_t nrungs;
  media__audio *audio[STREAM_MEDIA_MAX_AUDIO];
  size_t naudio;
  media__thumbs *thumbs;
  AVFrame *frame;
  AVPacket *pkt;
  media__rotator *rot; /* NULL: the source is shown as coded */
  AVFrame *upright;    /* the turned picture of `frame` */
  int64_t origin;      /* video stream pts of t = 0 */
  double frame_dur;    /* nominal video frame duration (s) */
  double duration;
  int64_t frames;
  double t0, last_report;
  media__progress_fn progress;
  void *ud;
  double last_t;
  int corrupt;     /* damaged frames skipped */
  double read_end; /* end of the last packet read of any stream (s, from the container's start) */
} run_state;

static void report(run_state *s, double t, int final)
{
  if (!s->progress)
    return;
  double now = now_s();
  if (!final && now - s->last_report < 0.2)
    return;
  s->last_report = now;
  double frac = s->duration > 0 ? t / s->duration : 0;
  if (frac > 1)
    frac = 1;
  if (frac < 0)
    frac = 0;
  if (final)
    frac = 1;
  double el = now - s->t0;
  double fps = el > 0 ? (double)s->frames / el : 0;
  double eta = final ? 0 : (frac > 0.001 ? el * (1 - frac) / frac : -1);
  s->progress(frac, fps, eta, s->ud);
}

static int fan_out(run_state *s, AVFrame *f)
{
  /* A decoded I-frame must not force a key frame in the outputs. */
  f->pict_type = AV_PICTURE_TYPE_NONE;
  f->key_frame = 0;
  int64_t bet = f->best_effort_timestamp;
  f->pts = bet != AV_NOPTS_VALUE ? bet : f->pts;
  if (f->pts == AV_NOPTS_VALUE)
    f->pts = s->origin + (int64_t)llround(s->frames * av_q2d(av_inv_q(s->dec->framerate)) /
                                          av_q2d(s->in->streams[s->plan->video_stream]->time_base));
  double t =
      (double)(f->pts - s->origin) * av_q2d(s->in->streams[s->plan->video_stream]->time_base);
  if (t < -0.0005)
    return STREAM_OK; /* before the start (edit list pre-roll) */
  s->frames++;
  s->last_t = t;
  for (size_t k = 0; k < s->naudio; k++)
    media__audio_video_at(s->audio[k], t + s->frame_dur);
  for (size_t i = 0; i < s->nrungs; i++) {
    if (media__rung_fed(s->rungs[i]))
      continue;
    int rc = media__rung_push(s->rungs[i], f);
    if (rc != STREAM_OK)
      return rc;
  }
  if (s->thumbs) {
    int rc = media__thumbs_push(s->thumbs, f, t);
    if (rc != STREAM_OK)
      return rc;
  }
  report(s, t, 0);
  return STREAM_OK;
}

static int decode_video(run_state *s, const AVPacket *pkt)
{
  char eb[128];
  int rc = avcodec_send_packet(s->dec, pkt);
  if (rc < 0 && rc != AVERROR_INVALIDDATA && rc != AVERROR_EOF)
    return stream__err(STREAM_EMEDIA, "media pipeline: video decoding failed: %s",
                       media__averr(rc, eb, sizeof eb));
  for (;;) {
    rc = avcodec_receive_frame(s->dec, s->frame);
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
      return STREAM_OK;
    if (rc == AVERROR_INVALIDDATA && ++s->corrupt <= MEDIA__MAX_DAMAGED)
      continue; /* a damaged frame: skip it like the ffmpeg CLI does */
    if (rc < 0)
      return stream__err(STREAM_EMEDIA,
                         "media pipeline: video decoding failed (corrupt or "
                         "truncated input?): %s",
                         media__averr(rc, eb, sizeof eb));
    if (s->rot) {
      rc = media__rotator_apply(s->rot, s->upright, s->frame);
      av_frame_unref(s->frame);
      if (rc == STREAM_OK)
        rc = fan_out(s, s->upright);
      av_frame_unref(s->upright);
    } else {
      rc = fan_out(s, s->frame);
      av_frame_unref(s->frame);
    }
    if (rc != STREAM_OK)
      return rc;
  }
}

/* Cascade scaling: a rung is scaled from a larger rung's picture instead of
 * the source when that rung is at least `ratio` times its size (or the same
 * size: then it shares the picture). Scaling cost grows with the input's
 * pixel count, so 480p/360p from 720p cost about half of what they cost from
 * 1080p. Only between rungs of the same frame rate (same frames). */
static int plan_cascade(run_state *s, int sw, int sh)
{
  const media__plan *plan = s->plan;
  const double ratio = 1.4; /* 1280x720 feeds 854x480 and 640x360 */
  for (size_t c = 0; c < plan->rung_count; c++) {
    const media__rung *cr = &plan->rungs[c];
    size_t best = plan->rung_count;
    for (size_t p = 0; p < plan->rung_count; p++) {
      const media__rung *pr = &plan->rungs[p];
      if (p == c || pr->fps_num != cr->fps_num || pr->fps_den != cr->fps_den)
        continue;
      if (pr->width >= sw && pr->height >= sh)
        continue; /* the source itself: nothing to gain */
      int same = pr->width == cr->width && pr->height == cr->height;
      if (same && p > c)
        continue; /* of two equal rungs the first one feeds the other */
      if (!same && (pr->width < ratio * cr->width || pr->height < ratio * cr->height))
        continue;
      if (best == plan->rung_count ||
          (double)pr->width * pr->height <
              (double)plan->rungs[best].width * plan->rungs[best].height)
        best = p;
    }
    if (best < plan->rung_count) {
      int rc = media__rung_attach(s->rungs[best], s->rungs[c]);
      if (rc != STREAM_OK)
        return rc;
    }
  }
  return STREAM_OK;
}

static int setup(run_state *s, media__package *pkg)
{
  const media__plan *plan = s->plan;
  char eb[128];
  int rc = media__open_input(&s->in, plan->input);
  if (rc != STREAM_OK)
    return rc;
  if (plan->video_stream < 0 || (unsigned)plan->video_stream >= s->in->nb_streams ||
      s->in->streams[plan->video_stream]->codecpar->codec_type != AVMEDIA_TYPE_VIDEO)
    return stream__err(STREAM_EMEDIA, "media pipeline: stream %d of %s is not a video stream",
                       plan->video_stream, plan->input);
  size_t naudio = !plan->audio ? 0 : plan->audio_count ? plan->audio_count : 1;
  if (naudio > STREAM_MEDIA_MAX_AUDIO)
    return stream__err(STREAM_EINVAL, "media pipeline: %zu audio streams (at most %d)", naudio,
                       STREAM_MEDIA_MAX_AUDIO);
  /* Output order: the stream marked default first (DEFAULT=YES, DASH Role
   * main), then the others in the plan's order. */
  size_t order[STREAM_MEDIA_MAX_AUDIO];
  size_t def = 0;
  for (size_t k = 0; k < naudio; k++) {
    int idx = plan->audio_count ? plan->audio_streams[k] : plan->audio_stream;
    if (idx < 0 || (unsigned)idx >= s->in->nb_streams ||
        s->in->streams[idx]->codecpar->codec_type != AVMEDIA_TYPE_AUDIO)
      return stream__err(STREAM_EMEDIA, "media pipeline: stream %d of %s is not an audio stream",
                         idx, plan->input);
    for (size_t j = 0; j < k; j++)
      if ((plan->audio_count ? plan->audio_streams[j] : plan->audio_stream) == idx)
        return stream__err(STREAM_EINVAL, "media pipeline: audio stream %d selected twice", idx);
    if (def == 0 && k > 0 && !(s->in->streams[order[0]]->disposition & AV_DISPOSITION_DEFAULT) &&
        (s->in->streams[idx]->disposition & AV_DISPOSITION_DEFAULT))
      def = k;
    order[k] = (size_t)idx;
  }
  if (def > 0) {
    size_t d = order[def];
    memmove(order + 1, order, def * sizeof *order);
    order[0] = d;
  }
  AVStream *vs = s->in->streams[plan->video_stream];
  const AVCodec *dc = avcodec_find_decoder(vs->codecpar->codec_id);
  if (!dc)
    return stream__err(STREAM_EMEDIA, "media pipeline: no decoder for %s",
                       avcodec_get_name(vs->codecpar->codec_id));
  s->dec = avcodec_alloc_context3(dc);
  s->frame = av_frame_alloc();
  s->pkt = av_packet_alloc();
  if (!s->dec || !s->frame || !s->pkt)
    return stream__err(STREAM_ENOMEM, "media pipeline: out of memory");
  rc = avcodec_parameters_to_context(s->dec, vs->codecpar);
  if (rc >= 0) {
    s->dec->pkt_timebase = vs->time_base;
    s->dec->framerate = av_guess_frame_rate(s->in, vs, NULL);
    s->dec->thread_count = 0;
    rc = avcodec_open2(s->dec, dc, NULL);
  }
  if (rc < 0)
    return stream__err(STREAM_EMEDIA, "media pipeline: cannot open the %s decoder: %s", dc->name,
                       media__averr(rc, eb, sizeof eb));
  /* Upright size: what the rungs and the thumbnails see. */
  int dw = s->dec->width, dh = s->dec->height;
  media__orient orient;
  if (media__orient_of_stream(&orient, vs)) {
    rc = media__rotator_new(&s->rot, &orient);
    if (rc != STREAM_OK)
      return rc;
    s->upright = av_frame_alloc();
    if (!s->upright)
      return stream__err(STREAM_ENOMEM, "media pipeline: out of memory");
    if (orient.transpose) {
      dw = s->dec->height;
      dh = s->dec->width;
    }
  }
  s->origin = vs->start_time != AV_NOPTS_VALUE ? vs->start_time : 0;
  s->frame_dur = s->dec->framerate.num > 0 ? av_q2d(av_inv_q(s->dec->framerate)) : 0.04;
  s->duration = s->in->duration > 0 ? (double)s->in->duration / AV_TIME_BASE : 0;
  pkg->duration = s->duration;
  pkg->segment_target = plan->segment_seconds;

  size_t n = plan->rung_count + naudio;
  pkg->renditions = calloc(n, sizeof *pkg->renditions);
  if (!pkg->renditions)
    return stream__err(STREAM_ENOMEM, "media pipeline: out of memory");
  pkg->rendition_count = n;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  int total = plan->threads > 0 ? plan->threads : (int)(cores > 0 ? cores : 1);
  /* x264 threads by share of the pixel rate (total = cores): rungs encode
   * concurrently, so a rung needs frame threads only for its share of the
   * cores; extra x264 threads cost synchronisation (futex waits) and
   * lookahead threads. A rung with 40 % of the pixels or more gets two, so
   * that it does not hold the others back (bounded queues: a single-threaded
   * 1080p encoder near a full core stalls the whole ladder). */
  double sum = 0;
  for (size_t i = 0; i < plan->rung_count; i++)
    sum += (double)plan->rungs[i].width * plan->rungs[i].height * plan->rungs[i].fps_num /
           plan->rungs[i].fps_den;
  double seg_seconds = plan->segment_seconds;
  for (size_t i = 0; i < plan->rung_count; i++) {
    double ss = 0;
    const media__rung *ru = &plan->rungs[i];
    double share = sum > 0 ? (double)ru->width * ru->height * ru->fps_num / ru->fps_den / sum : 1;
    int per = (int)lround(total * share);
    if (share >= 0.4 && per < 2)
      per = 2;
    if (per > total)
      per = total;
    if (per < 1)
      per = 1;
    rc = media__rung_open(&s->rungs[i], plan, ru, s->dec, vs->time_base, s->origin, per,
                          &pkg->renditions[i], &ss);
    if (rc != STREAM_OK)
      return rc;
    s->nrungs = i + 1;
    if (i == 0)
      seg_seconds = ss;
  }
  if (orient.transpose)
    rc = plan_cascade(s, vs->codecpar->height, vs->codecpar->width);
  else
    rc = plan_cascade(s, vs->codecpar->width, vs->codecpar->height);
  if (rc != STREAM_OK)
    return rc;
  for (size_t k = 0; k < naudio; k++) {
    size_t track = 0; /* position of order[k] in the plan's list */
    for (size_t j = 0; j < naudio; j++)
      if ((size_t)(plan->audio_count ? plan->audio_streams[j] : plan->audio_stream) == order[k])
        track = j;
    media__rendition *ar = &pkg->renditions[plan->rung_count + k];
    rc = media__audio_open(
        &s->audio[k], plan, track, s->in, ar, pkg->renditions, plan->rung_count + k,
        seg_seconds / (plan->segment_seconds / plan->gop_seconds), seg_seconds, s->origin,
        vs->time_base, vs->duration > 0 ? (double)vs->duration * av_q2d(vs->time_base) : 0);
    if (rc != STREAM_OK)
      return rc;
    s->naudio = k + 1;
  }
  if (plan->thumbnails) {
    AVRational sar = av_guess_sample_aspect_ratio(s->in, vs, NULL);
    if (s->rot && orient.transpose)
      sar = (AVRational){sar.den, sar.num}; /* a transposed pixel */
    int sn = sar.num > 0 ? sar.num : 1, sd = sar.den > 0 ? sar.den : 1;
    media__thumbs_options to = plan->thumbs;
    media__thumbs_fit(&to, dw, dh, sn, sd);
    rc = media__thumbs_new(&s->thumbs, plan->outdir, &to, dw, dh, s->dec->pix_fmt, sn, sd,
                           s->duration);
    if (rc != STREAM_OK)
      return rc;
  }
  for (size_t i = 0; i < s->nrungs; i++) {
    rc = media__rung_start(s->rungs[i]);
    if (rc != STREAM_OK)
      return rc;
  }
  return STREAM_OK;
}

/* Where the input has been read to, whatever the stream: a container that
 * announces no per-stream duration (Matroska, WebM, FLV) announces its
 * longest stream's, which may be audio that outlasts the video. */
static void note_read(run_state *s, const AVPacket *pkt)
{
  const AVStream *st = s->in->streams[pkt->stream_index];
  int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
  if (ts == AV_NOPTS_VALUE)
    return;
  double t = (double)(ts + (pkt->duration > 0 ? pkt->duration : 0)) * av_q2d(st->time_base);
  if (s->in->start_time != AV_NOPTS_VALUE)
    t -= (double)s->in->start_time / AV_TIME_BASE;
  if (t > s->read_end)
    s->read_end = t;
}

static int run(run_state *s, const volatile int *cancel)
{
  const media__plan *plan = s->plan;
  char eb[128];
  int rc;
  for (;;) {
    if (cancel && *cancel)
      return stream__err(STREAM_ECANCELED, "media pipeline: canceled");
    rc = av_read_frame(s->in, s->pkt);
    if (rc == AVERROR_EOF)
      break;
    if (rc < 0) {
      if (rc == AVERROR(EAGAIN))
        continue;
      /* A read error mid-file: treat like the end only if it is an EOF-like
       * truncation; report anything else. */
      if (avio_feof(s->in->pb))
        break;
      return stream__err(STREAM_EMEDIA, "media pipeline: reading %s failed: %s", plan->input,
                         media__averr(rc, eb, sizeof eb));
    }
    note_read(s, s->pkt);
    if (s->pkt->stream_index == plan->video_stream)
      rc = decode_video(s, s->pkt);
    else {
      rc = STREAM_OK;
      for (size_t k = 0; k < s->naudio; k++)
        if (s->pkt->stream_index == media__audio_stream(s->audio[k])) {
          rc = media__audio_packet(s->audio[k], s->pkt);
          break;
        }
    }
    av_packet_unref(s->pkt);
    if (rc != STREAM_OK)
      return rc;
  }
  rc = decode_video(s, NULL);
  if (rc != STREAM_OK)
    return rc;
  if (s->frames == 0)
    return stream__err(STREAM_EMEDIA, "media pipeline: %s has no decodable video frame",
                       plan->input);
  /* A file cut short after its index (e.g. a faststart MP4 missing the end
   * of its media data) reads to a clean EOF: compare with the announced
   * video duration so that a partial title is not presented as complete. */
  AVStream *vs = s->in->streams[plan->video_stream];
  double frame = s->frame_dur;
  if (vs->duration > 0) {
    double announced = (double)vs->duration * av_q2d(vs->time_base);
    if (s->last_t + frame < announced - 1.0)
      return stream__err(STREAM_EMEDIA,
                         "media pipeline: %s is truncated: video ends at %.3f s of the %.3f s "
                         "its header announces",
                         plan->input, s->last_t + frame, announced);
  } else if (s->duration > 0 && s->in->duration_estimation_method != AVFMT_DURATION_FROM_BITRATE &&
             s->read_end < s->duration - 1.0) {
    /* Only the container's duration is known: it is its longest stream's,
     * so compare with where any stream got to (the video may end first). */
    return stream__err(STREAM_EMEDIA,
                       "media pipeline: %s is truncated: its streams end at %.3f s of the "
                       "%.3f s its header announces",
                       plan->input, s->read_end, s->duration);
  }
  for (size_t k = 0; k < s->naudio; k++) {
    rc = media__audio_packet(s->audio[k], NULL);
    if (rc != STREAM_OK)
      return rc;
  }
  for (size_t i = 0; i < s->nrungs; i++) {
    if (media__rung_fed(s->rungs[i]))
      continue;
    rc = media__rung_push(s->rungs[i], NULL);
    if (rc != STREAM_OK)
      return rc;
  }
  int first = STREAM_OK;
  for (size_t i = 0; i < s->nrungs; i++) {
    rc = media__rung_join(s->rungs[i]);
    if (rc != STREAM_OK && first == STREAM_OK)
      first = rc;
  }
  if (first != STREAM_OK)
    return first;
  if (cancel && *cancel)
    return stream__err(STREAM_ECANCELED, "media pipeline: canceled");
  /* The presentation is the video's timeline (audio is cut or padded to
   * it), not the container's longest stream. */
  s->duration = s->last_t + frame;
  if (s->thumbs) {
    rc = media__thumbs_finish(s->thumbs);
    if (rc != STREAM_OK)
      return rc;
  }
  report(s, s->last_t, 1);
  return STREAM_OK;
}

int media__pipeline_run(media__package *pkg, const media__plan *plan, media__progress_fn progress,
                        void *ud, const volatile int *cancel)
{
  if (!pkg || !plan || !plan->input || !plan->outdir)
    return stream__err(STREAM_EINVAL, "media pipeline: NULL argument");
  memset(pkg, 0, sizeof *pkg);
  if (plan->rung_count == 0 || plan->rung_count > 16)
    return stream__err(STREAM_EINVAL, "media pipeline: %zu rungs (1..16)", plan->rung_count);
  if (!(plan->gop_seconds > 0) || !(plan->segment_seconds >= plan->gop_seconds))
    return stream__err(STREAM_EINVAL, "media pipeline: bad GOP/segment durations");
  run_state s;
  memset(&s, 0, sizeof s);
  s.plan = plan;
  s.progress = progress;
  s.ud = ud;
  s.t0 = now_s();
  int rc = setup(&s, pkg);
  if (rc == STREAM_OK)
    rc = run(&s, cancel);
  if (rc != STREAM_OK) {
    for (size_t i = 0; i < s.nrungs; i++)
      media__rung_abort(s.rungs[i]);
    /* Every thread ends before any rung is freed: a rung feeds others. */
    for (size_t i = 0; i < s.nrungs; i++)
      media__rung_join(s.rungs[i]);
  }
  for (size_t i = 0; i < s.nrungs; i++)
    media__rung_free(s.rungs[i]);
  for (size_t k = 0; k < s.naudio; k++)
    media__audio_free(s.audio[k]);
  if (s.thumbs)
    media__thumbs_free(s.thumbs);
  av_frame_free(&s.frame);
  av_frame_free(&s.upright);
  media__rotator_free(s.rot);
  av_packet_free(&s.pkt);
  avcodec_free_context(&s.dec);
  avformat_close_input(&s.in);
  if (rc != STREAM_OK) {
    media__package_clear(pkg);
    return rc;
  }
  pkg->duration = s.duration;
  media__package_measure(pkg);
  return STREAM_OK;
}
