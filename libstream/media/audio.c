/*
 * media audio: decode the selected audio stream, convert it with
 * libswresample to 48 kHz stereo float planar whatever the input's format
 * and layout, regroup it in an AVAudioFifo into the 1024-sample frames the
 * AAC encoder needs, encode AAC-LC once and hand packets to the audio CMAF
 * writer (segments cut on the video's segment grid).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include "pipe_internal.h"

struct media__audio {
  AVCodecContext *dec, *enc;
  SwrContext *swr;
  AVAudioFifo *fifo;
  AVFrame *in, *out;
  AVPacket *pkt;
  media__writer *writer;
  media__rendition *r;
  int64_t next_pts; /* samples sent to the encoder */
  int swr_ready;
};

static int aerr(int code, const char *what, int averr)
{
  char eb[128];
  return stream__err(code, "media audio: %s: %s", what, media__averr(averr, eb, sizeof eb));
}

int media__audio_open(media__audio **out, const media__plan *plan, AVFormatContext *in,
                      media__rendition *r, double frag_seconds, double seg_seconds)
{
  *out = NULL;
  media__audio *a = calloc(1, sizeof *a);
  if (!a)
    return stream__err(STREAM_ENOMEM, "media audio: out of memory");
  a->r = r;
  int rc;
  AVStream *st = in->streams[plan->audio_stream];
  const AVCodec *dc = avcodec_find_decoder(st->codecpar->codec_id);
  if (!dc) {
    rc = stream__err(STREAM_EMEDIA, "media audio: no decoder for audio codec %s",
                     avcodec_get_name(st->codecpar->codec_id));
    goto fail;
  }
  const AVCodec *ec = avcodec_find_encoder(AV_CODEC_ID_AAC);
  a->dec = avcodec_alloc_context3(dc);
  a->enc = ec ? avcodec_alloc_context3(ec) : NULL;
  a->in = av_frame_alloc();
  a->out = av_frame_alloc();
  a->pkt = av_packet_alloc();
  if (!ec) {
    rc = stream__err(STREAM_ENOTSUP, "media audio: no AAC encoder in libavcodec");
    goto fail;
  }
  if (!a->dec || !a->enc || !a->in || !a->out || !a->pkt) {
    rc = stream__err(STREAM_ENOMEM, "media audio: out of memory");
    goto fail;
  }
  rc = avcodec_parameters_to_context(a->dec, st->codecpar);
  if (rc >= 0) {
    a->dec->pkt_timebase = st->time_base;
    rc = avcodec_open2(a->dec, dc, NULL);
  }
  if (rc < 0) {
    rc = aerr(STREAM_EMEDIA, "cannot open the audio decoder", rc);
    goto fail;
  }
  AVCodecContext *c = a->enc;
  c->sample_rate = plan->audio_sample_rate > 0 ? plan->audio_sample_rate : 48000;
  av_channel_layout_default(&c->ch_layout, 2);
  c->sample_fmt = AV_SAMPLE_FMT_FLTP;
  c->bit_rate = plan->audio_bitrate > 0 ? plan->audio_bitrate : 128000;
  c->time_base = (AVRational){1, c->sample_rate};
  c->profile = FF_PROFILE_AAC_LOW;
  c->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  rc = avcodec_open2(c, ec, NULL);
  if (rc < 0) {
    rc = aerr(STREAM_EMEDIA, "cannot open the AAC encoder", rc);
    goto fail;
  }
  a->fifo = av_audio_fifo_alloc(c->sample_fmt, c->ch_layout.nb_channels, c->frame_size * 4);
  if (!a->fifo) {
    rc = stream__err(STREAM_ENOMEM, "media audio: out of memory");
    goto fail;
  }
  r->kind = MEDIA__AUDIO;
  snprintf(r->language, sizeof r->language, "%s",
           plan->audio_language[0] ? plan->audio_language : "und");
  snprintf(r->id, sizeof r->id, "audio_%s", strcmp(r->language, "und") ? r->language : "und");
  for (char *p = r->id; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
      *p = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : '_';
  snprintf(r->dir, sizeof r->dir, "%s", r->id);
  snprintf(r->codecs, sizeof r->codecs, "mp4a.40.2");
  r->sample_rate = c->sample_rate;
  r->channels = 2;
  r->target_bitrate = c->bit_rate;
  if (!r->name[0])
    snprintf(r->name, sizeof r->name, "%s", strcmp(r->language, "und") ? r->language : "Audio");
  media__writer_config cfg = {0, 0, frag_seconds, seg_seconds};
  rc = media__writer_open(&a->writer, r, plan->outdir, c, &cfg);
  if (rc != STREAM_OK)
    goto fail;
  *out = a;
  return STREAM_OK;
fail:
  media__audio_free(a);
  return rc;
}

static int drain_enc(media__audio *a)
{
  for (;;) {
    int rc = avcodec_receive_packet(a->enc, a->pkt);
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
      return STREAM_OK;
    if (rc < 0)
      return aerr(STREAM_EMEDIA, "AAC encoding failed", rc);
    /* The AAC encoder's priming samples start at -initial_padding; CMAF
     * tracks start at 0 (no edit list), so the audio is shifted by them
     * (1024 samples, 21 ms: below one video frame). */
    if (a->pkt->pts != AV_NOPTS_VALUE)
      a->pkt->pts += a->enc->initial_padding;
    if (a->pkt->dts != AV_NOPTS_VALUE)
      a->pkt->dts += a->enc->initial_padding;
    rc = media__writer_write(a->writer, a->pkt);
    av_packet_unref(a->pkt);
    if (rc != STREAM_OK)
      return rc;
  }
}

/* Encode whole frames from the FIFO (and the remainder when `last`). */
static int encode_fifo(media__audio *a, int last)
{
  int fs = a->enc->frame_size;
  while (av_audio_fifo_size(a->fifo) >= fs || (last && av_audio_fifo_size(a->fifo) > 0)) {
    int n = av_audio_fifo_size(a->fifo);
    if (n > fs)
      n = fs;
    AVFrame *f = a->out;
    av_frame_unref(f);
    f->nb_samples = n;
    f->format = a->enc->sample_fmt;
    f->sample_rate = a->enc->sample_rate;
    int rc = av_channel_layout_copy(&f->ch_layout, &a->enc->ch_layout);
    if (rc >= 0)
      rc = av_frame_get_buffer(f, 0);
    if (rc < 0)
      return aerr(STREAM_ENOMEM, "frame allocation failed", rc);
    if (av_audio_fifo_read(a->fifo, (void **)f->data, n) < n)
      return stream__err(STREAM_EINTERNAL, "media audio: FIFO underrun");
    f->pts = a->next_pts;
    a->next_pts += n;
    rc = avcodec_send_frame(a->enc, f);
    if (rc < 0)
      return aerr(STREAM_EMEDIA, "AAC encoding failed", rc);
    rc = drain_enc(a);
    if (rc != STREAM_OK)
      return rc;
  }
  return STREAM_OK;
}

static int convert(media__audio *a, const AVFrame *in)
{
  if (!a->swr_ready) {
    if (!in)
      return STREAM_OK;
    int rc = swr_alloc_set_opts2(&a->swr, &a->enc->ch_layout, a->enc->sample_fmt,
                                 a->enc->sample_rate, (AVChannelLayout *)&in->ch_layout,
                                 (enum AVSampleFormat)in->format, in->sample_rate, 0, NULL);
    if (rc >= 0)
      rc = swr_init(a->swr);
    if (rc < 0)
      return aerr(STREAM_EMEDIA, "cannot convert the audio format", rc);
    a->swr_ready = 1;
  }
  int max_out = swr_get_out_samples(a->swr, in ? in->nb_samples : 0);
  if (max_out <= 0)
    return STREAM_OK;
  uint8_t **buf = NULL;
  int rc = av_samples_alloc_array_and_samples(&buf, NULL, a->enc->ch_layout.nb_channels, max_out,
                                              a->enc->sample_fmt, 0);
  if (rc < 0)
    return aerr(STREAM_ENOMEM, "sample allocation failed", rc);
  int got = swr_convert(a->swr, buf, max_out, in ? (const uint8_t **)in->extended_data : NULL,
                        in ? in->nb_samples : 0);
  if (got < 0) {
    av_freep(&buf[0]);
    av_freep(&buf);
    return aerr(STREAM_EMEDIA, "audio conversion failed", got);
  }
  if (got > 0 && av_audio_fifo_write(a->fifo, (void **)buf, got) < got) {
    av_freep(&buf[0]);
    av_freep(&buf);
    return stream__err(STREAM_ENOMEM, "media audio: out of memory");
  }
  av_freep(&buf[0]);
  av_freep(&buf);
  return encode_fifo(a, 0);
}

static int drain_dec(media__audio *a)
{
  for (;;) {
    int rc = avcodec_receive_frame(a->dec, a->in);
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
      return STREAM_OK;
    if (rc < 0)
      return aerr(STREAM_EMEDIA, "audio decoding failed", rc);
    rc = convert(a, a->in);
    av_frame_unref(a->in);
    if (rc != STREAM_OK)
      return rc;
  }
}

int media__audio_packet(media__audio *a, const AVPacket *pkt)
{
  int rc = avcodec_send_packet(a->dec, pkt);
  if (rc < 0 && rc != AVERROR_INVALIDDATA && rc != AVERROR_EOF)
    return aerr(STREAM_EMEDIA, "audio decoding failed", rc);
  rc = drain_dec(a);
  if (rc != STREAM_OK || pkt)
    return rc;
  /* End: flush the resampler, the FIFO, the encoder, the writer. */
  if (a->swr_ready) {
    rc = convert(a, NULL);
    if (rc != STREAM_OK)
      return rc;
  }
  rc = encode_fifo(a, 1);
  if (rc != STREAM_OK)
    return rc;
  rc = avcodec_send_frame(a->enc, NULL);
  if (rc < 0)
    return aerr(STREAM_EMEDIA, "flushing the AAC encoder failed", rc);
  rc = drain_enc(a);
  if (rc != STREAM_OK)
    return rc;
  return media__writer_finish(a->writer);
}

void media__audio_free(media__audio *a)
{
  if (!a)
    return;
  media__writer_free(a->writer);
  avcodec_free_context(&a->dec);
  avcodec_free_context(&a->enc);
  swr_free(&a->swr);
  if (a->fifo)
    av_audio_fifo_free(a->fifo);
  av_frame_free(&a->in);
  av_frame_free(&a->out);
  av_packet_free(&a->pkt);
  free(a);
}
