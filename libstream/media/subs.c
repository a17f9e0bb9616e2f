/*
 * media subtitles, the input side: read a sidecar subtitle file (WebVTT, SRT,
 * or any text subtitle format libavformat demuxes) through FFmpeg's demuxer
 * and subtitle decoder, which turn every format into ASS dialogue lines; each
 * becomes one cue (milliseconds, WebVTT text via media__ass_to_vtt). Bitmap
 * subtitles (DVD, PGS) are refused. The output side is subs_vtt.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipe_internal.h"

#define MAX_CUES 100000 /* ~ a cue per second for a day: beyond that the file is not subtitles */

static int add_cue(media__text *t, size_t *cap, int64_t start, int64_t end, char *text)
{
  if (t->cue_count >= MAX_CUES) {
    free(text);
    return stream__err(STREAM_EMEDIA, "too many cues (more than %d)", MAX_CUES);
  }
  if (t->cue_count == *cap) {
    size_t nc = *cap ? *cap * 2 : 64;
    media__cue *n = realloc(t->cues, nc * sizeof(*n));
    if (!n) {
      free(text);
      return stream__err(STREAM_ENOMEM, "media subtitles: out of memory");
    }
    t->cues = n;
    *cap = nc;
  }
  media__cue *c = &t->cues[t->cue_count++];
  c->start = start;
  c->end = end;
  c->text = text;
  return STREAM_OK;
}

/* The text of an ASS event as decoded by FFmpeg 5.1:
 * "ReadOrder,Layer,Style,Name,MarginL,MarginR,MarginV,Effect,Text". */
static const char *ass_text(const char *ass)
{
  const char *s = ass;
  for (int i = 0; i < 8 && s; i++) {
    s = strchr(s, ',');
    if (s)
      s++;
  }
  return s ? s : ass;
}

/* Append the rects of one decoded subtitle as one cue. */
static int take_subtitle(media__text *t, size_t *cap, const AVSubtitle *sub, int64_t start,
                         int64_t end)
{
  stream__buf b;
  stream__buf_init(&b);
  for (unsigned i = 0; i < sub->num_rects; i++) {
    const AVSubtitleRect *r = sub->rects[i];
    const char *src = r->type == SUBTITLE_ASS && r->ass     ? ass_text(r->ass)
                      : r->type == SUBTITLE_TEXT && r->text ? r->text
                                                            : NULL;
    if (!src)
      continue;
    char *v = media__ass_to_vtt(src);
    if (!v) {
      stream__buf_free(&b);
      return stream__err(STREAM_ENOMEM, "media subtitles: out of memory");
    }
    if (*v)
      stream__buf_printf(&b, "%s%s", b.len ? "\n" : "", v);
    free(v);
  }
  char *text = NULL;
  int rc = stream__buf_detach(&b, &text);
  if (rc)
    return rc;
  if (!*text || end <= start) {
    free(text); /* empty or zero-length cues carry nothing to show */
    return STREAM_OK;
  }
  return add_cue(t, cap, start, end, text);
}

static int cue_cmp(const void *a, const void *b)
{
  const media__cue *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start ? 1 : (x->end > y->end) - (x->end < y->end);
}

static int read_cues(media__text *t, AVFormatContext *fmt, int si, AVCodecContext *dec,
                     const char *path)
{
  AVPacket *pkt = av_packet_alloc();
  if (!pkt)
    return stream__err(STREAM_ENOMEM, "media subtitles: out of memory");
  AVRational tb = fmt->streams[si]->time_base, ms = {1, 1000};
  size_t cap = 0;
  char eb[128];
  int rc = STREAM_OK;
  for (;;) {
    int e = av_read_frame(fmt, pkt);
    if (e == AVERROR_EOF)
      break;
    if (e < 0) {
      rc = stream__err(STREAM_EMEDIA, "subtitle file %s: read error: %s", path,
                       media__averr(e, eb, sizeof eb));
      break;
    }
    if (pkt->stream_index != si || pkt->pts == AV_NOPTS_VALUE) {
      av_packet_unref(pkt);
      continue;
    }
    int64_t pts = av_rescale_q(pkt->pts, tb, ms);
    int64_t dur = pkt->duration > 0 ? av_rescale_q(pkt->duration, tb, ms) : 0;
    AVSubtitle sub;
    int got = 0;
    memset(&sub, 0, sizeof sub);
    e = avcodec_decode_subtitle2(dec, &sub, &got, pkt);
    av_packet_unref(pkt);
    if (e < 0) {
      rc = stream__err(STREAM_EMEDIA, "subtitle file %s: cannot decode a cue at %lld ms: %s", path,
                       (long long)pts, media__averr(e, eb, sizeof eb));
      break;
    }
    if (!got)
      continue;
    int64_t start = pts + sub.start_display_time;
    int64_t end =
        dur > 0 ? pts + dur
        : sub.end_display_time > sub.start_display_time && sub.end_display_time != UINT32_MAX
            ? pts + sub.end_display_time
            : start;
    rc = take_subtitle(t, &cap, &sub, start < 0 ? 0 : start, end);
    avsubtitle_free(&sub);
    if (rc) {
      const stream_error *le = stream_error_last();
      char why[sizeof le->message];
      snprintf(why, sizeof why, "%s", le ? le->message : "failed");
      stream__err(rc, "subtitle file %s: %s", path, why);
      break;
    }
  }
  av_packet_free(&pkt);
  if (rc == STREAM_OK && t->cue_count == 0)
    rc = stream__err(STREAM_EMEDIA, "subtitle file %s has no cues", path);
  if (rc == STREAM_OK)
    qsort(t->cues, t->cue_count, sizeof(*t->cues), cue_cmp);
  return rc;
}

int media__subs_read(media__text *t, const char *path)
{
  int rc = media__check_file("subtitle file", path);
  if (rc != STREAM_OK)
    return rc;
  AVFormatContext *fmt = NULL;
  char eb[128];
  int e = avformat_open_input(&fmt, path, NULL, NULL);
  if (e < 0)
    return stream__err(STREAM_EMEDIA,
                       "cannot read subtitle file %s: %s (not a subtitle format FFmpeg knows)",
                       path, media__averr(e, eb, sizeof eb));
  rc = STREAM_OK;
  AVCodecContext *dec = NULL;
  int si = -1;
  for (unsigned i = 0; i < fmt->nb_streams && si < 0; i++)
    if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_SUBTITLE)
      si = (int)i;
  if (si < 0) {
    rc = stream__err(STREAM_EMEDIA, "%s is not a subtitle file (format %s, no subtitle stream)",
                     path, fmt->iformat ? fmt->iformat->name : "?");
    goto out;
  }
  const AVCodecParameters *par = fmt->streams[si]->codecpar;
  const AVCodecDescriptor *desc = avcodec_descriptor_get(par->codec_id);
  if (!desc || !(desc->props & AV_CODEC_PROP_TEXT_SUB)) {
    rc = stream__err(STREAM_EMEDIA, "subtitle file %s holds %s subtitles, not text", path,
                     desc ? desc->name : "unknown");
    goto out;
  }
  const AVCodec *codec = avcodec_find_decoder(par->codec_id);
  if (!codec || !(dec = avcodec_alloc_context3(codec))) {
    rc = stream__err(STREAM_EMEDIA, "subtitle file %s: no decoder for %s", path, desc->name);
    goto out;
  }
  if ((e = avcodec_parameters_to_context(dec, par)) < 0 ||
      (dec->pkt_timebase = fmt->streams[si]->time_base,
       (e = avcodec_open2(dec, codec, NULL)) < 0)) {
    rc = stream__err(STREAM_EMEDIA, "subtitle file %s: cannot open the %s decoder: %s", path,
                     desc->name, media__averr(e, eb, sizeof eb));
    goto out;
  }
  rc = read_cues(t, fmt, si, dec, path);
out:
  avcodec_free_context(&dec);
  avformat_close_input(&fmt);
  if (rc)
    media__text_clear(t);
  return rc;
}
