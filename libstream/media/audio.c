/*
 * media audio: one instance per selected audio stream (the pipeline routes
 * each stream's packets to its own instance). Decode the stream, convert it with
 * libswresample to 48 kHz stereo float planar whatever the input's format
 * and layout, regroup it in an AVAudioFifo into the 1024-sample frames the
 * AAC encoder needs, encode AAC-LC once and hand packets to the audio CMAF
 * writer (segments cut on the video's segment grid).
 *
 * Timing: the video's first frame is t = 0 and every sample keeps its
 * source presentation time relative to it. Audio that starts later gets
 * silence in front, audio that starts earlier loses what comes before t = 0
 * (sample-accurate, at the FIFO); a timestamp jump of more than one AAC frame
 * inside the stream is filled with silence (or, backwards, dropped) so audio
 * never drifts against the video; smaller jitter is ignored. Samples are
 * encoded only once the video has reached them, so that the end can be cut
 * where the video ends (or padded with silence up to it).
 */
#define _GNU_SOURCE /* strcasestr */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
  int stream;       /* input stream index */
  int64_t next_pts; /* samples sent to the encoder */
  int swr_ready;
  /* The input format the resampler was set up for: a stream may change its
   * rate, layout or sample format mid-stream (MPEG-TS captures, ad breaks). */
  int in_fmt, in_rate;
  AVChannelLayout in_layout;
  /* Timeline, in output samples from t = 0 (the video's first frame): the
   * FIFO holds [next_pts, next_pts + fifo size). */
  AVRational tb;      /* input stream time base */
  int64_t origin;     /* t = 0 in output samples of the source clock */
  int placed;         /* the first decoded frame has been placed */
  int64_t drop;       /* resampled samples still to discard (before t = 0, overlaps) */
  int64_t video_end;  /* output samples the video covers so far (the end, at the end) */
  int64_t expect_end; /* output samples of the video's announced end, 0: unknown */
  int hdr_rate;       /* the stream header's sample rate (what the demuxer assumes) */
  int64_t prev_pts;   /* the previous decoded frame's timestamp, as given */
  int prev_samples;   /* and its sample count */
  int beyond;         /* past the announced end while holding too much: discard the rest */
  int64_t discarded;  /* samples discarded that way (they keep their place on the timeline) */
  int damaged;        /* packets the decoder refused (skipped) */
};

/* Audio held back waiting for the video (audio that outlasts the video,
 * badly interleaved input): beyond this, memory stays bounded by discarding
 * what lies past the video's announced end and encoding what lies before. */
#define HOLD_SECONDS 10

static int aerr(int code, const char *what, int averr)
{
  char eb[128];
  return stream__err(code, "media audio: %s: %s", what, media__averr(averr, eb, sizeof eb));
}

/* ISO 639-2 (bibliographic and terminology codes) to the shortest BCP 47
 * tag, with the language's own name for NAME / Label. */
static const struct {
  const char *iso2[2];
  const char *bcp47;
  const char *name;
} languages[] = {
    {{"eng", NULL}, "en", "English"},        {{"fra", "fre"}, "fr", "Français"},
    {{"deu", "ger"}, "de", "Deutsch"},       {{"spa", NULL}, "es", "Español"},
    {{"ita", NULL}, "it", "Italiano"},       {{"por", NULL}, "pt", "Português"},
    {{"jpn", NULL}, "ja", "日本語"},         {{"zho", "chi"}, "zh", "中文"},
    {{"kor", NULL}, "ko", "한국어"},         {{"rus", NULL}, "ru", "Русский"},
    {{"ara", NULL}, "ar", "العربية"},        {{"hin", NULL}, "hi", "हिन्दी"},
    {{"nld", "dut"}, "nl", "Nederlands"},    {{"swe", NULL}, "sv", "Svenska"},
    {{"nor", NULL}, "no", "Norsk"},          {{"nob", NULL}, "nb", "Norsk bokmål"},
    {{"dan", NULL}, "da", "Dansk"},          {{"fin", NULL}, "fi", "Suomi"},
    {{"pol", NULL}, "pl", "Polski"},         {{"tur", NULL}, "tr", "Türkçe"},
    {{"ces", "cze"}, "cs", "Čeština"},       {{"ell", "gre"}, "el", "Ελληνικά"},
    {{"heb", NULL}, "he", "עברית"},          {{"hun", NULL}, "hu", "Magyar"},
    {{"ukr", NULL}, "uk", "Українська"},     {{"tha", NULL}, "th", "ไทย"},
    {{"vie", NULL}, "vi", "Tiếng Việt"},     {{"ind", NULL}, "id", "Bahasa Indonesia"},
    {{"msa", "may"}, "ms", "Bahasa Melayu"}, {{"ron", "rum"}, "ro", "Română"},
    {{"cat", NULL}, "ca", "Català"},         {{"hrv", NULL}, "hr", "Hrvatski"},
    {{"slk", "slo"}, "sk", "Slovenčina"},    {{"bul", NULL}, "bg", "Български"},
    {{"fas", "per"}, "fa", "فارسی"},         {{"isl", "ice"}, "is", "Íslenska"},
};

/* BCP 47 tag of a container language tag: the table, else a tag made of
 * letters, digits and '-' starting with 2 or 3 letters passed through
 * (lower case primary subtag), else "und". `*name` gets the language's name
 * (NULL when unknown). */
static void bcp47_of(char *dst, size_t cap, const char **name, const char *tag)
{
  *name = NULL;
  for (size_t i = 0; i < sizeof languages / sizeof languages[0]; i++)
    for (size_t k = 0; k < 2; k++)
      if (languages[i].iso2[k] && !strcasecmp(tag, languages[i].iso2[k])) {
        snprintf(dst, cap, "%s", languages[i].bcp47);
        *name = languages[i].name;
        return;
      }
  size_t n = strlen(tag), alpha = 0;
  while (alpha < n &&
         ((tag[alpha] >= 'a' && tag[alpha] <= 'z') || (tag[alpha] >= 'A' && tag[alpha] <= 'Z')))
    alpha++;
  int ok = (alpha == 2 || alpha == 3) && n < cap && (tag[alpha] == '\0' || tag[alpha] == '-');
  for (size_t i = alpha; ok && i < n; i++)
    ok = (tag[i] >= 'a' && tag[i] <= 'z') || (tag[i] >= 'A' && tag[i] <= 'Z') ||
         (tag[i] >= '0' && tag[i] <= '9') || (tag[i] == '-' && tag[i - 1] != '-' && tag[i + 1]);
  if (!ok || !strncasecmp(tag, "und", 4)) {
    snprintf(dst, cap, "und");
    return;
  }
  for (size_t i = 0; i <= n; i++)
    dst[i] = (char)(i < alpha && tag[i] >= 'A' && tag[i] <= 'Z' ? tag[i] - 'A' + 'a' : tag[i]);
  for (size_t i = 0; i < sizeof languages / sizeof languages[0]; i++)
    if (!strcmp(dst, languages[i].bcp47))
      *name = languages[i].name;
}

static int taken(const media__rendition *others, size_t n, const char *id, const char *name)
{
  for (size_t i = 0; i < n; i++)
    if ((id && !strcmp(others[i].id, id)) || (name && !strcmp(others[i].name, name)))
      return 1;
  return 0;
}

/* Fill the rendition's language (BCP 47), id and dir ("audio_" + the tag
 * as in the container, so a single-track output keeps its names; "_2".. when
 * taken) and NAME (the stream's title, else the language's name, else
 * "Audio" / "Audio N"; " (2)".. when taken): unique among others[0..n). */
static void describe(media__rendition *r, const AVStream *st, const char *tag, size_t track,
                     const media__rendition *others, size_t n)
{
  const char *lname = NULL;
  bcp47_of(r->language, sizeof r->language, &lname, tag[0] ? tag : "und");
  char base[24];
  snprintf(base, sizeof base, "audio_%.16s", tag[0] ? tag : "und");
  for (char *p = base; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
      *p = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : '_';
  snprintf(r->id, sizeof r->id, "%s", base);
  for (unsigned k = 2; taken(others, n, r->id, NULL) && k < 100; k++)
    snprintf(r->id, sizeof r->id, "%s_%u", base, k);
  snprintf(r->dir, sizeof r->dir, "%s", r->id);
  /* NAME: printable UTF-8 without '"' (HLS attribute), at most 48 bytes. */
  const AVDictionaryEntry *title = av_dict_get(st->metadata, "title", NULL, 0);
  if (!title || !title->value[0]) {
    /* MP4 keeps a track's name in its handler box, where muxers otherwise
     * put generic names ("SoundHandler", "Core Media Audio"). */
    title = av_dict_get(st->metadata, "handler_name", NULL, 0);
    if (title && (strcasestr(title->value, "handler") || strcasestr(title->value, "media")))
      title = NULL;
  }
  char name[64] = "";
  if (title && title->value[0]) {
    size_t w = 0;
    const unsigned char *c = (const unsigned char *)title->value;
    for (; *c && w < 48; c++)
      name[w++] = (char)(*c < 0x20 || *c == 0x7f ? ' ' : *c == '"' ? '\'' : *c);
    while (*c && w > 0 && ((unsigned char)name[w - 1] & 0xC0) == 0x80)
      w--; /* do not cut a UTF-8 sequence: drop its continuation bytes ... */
    if (*c && w > 0 && ((unsigned char)name[w - 1] & 0xC0) == 0xC0)
      w--; /* ... and its lead byte */
    name[w] = 0;
    while (w > 0 && name[w - 1] == ' ')
      name[--w] = 0;
  }
  if (!name[0] && lname)
    snprintf(name, sizeof name, "%s", lname);
  if (!name[0] && strcmp(r->language, "und"))
    snprintf(name, sizeof name, "%s", r->language);
  if (!name[0] && track == 0)
    snprintf(name, sizeof name, "Audio");
  if (!name[0])
    snprintf(name, sizeof name, "Audio %zu", track + 1);
  snprintf(r->name, sizeof r->name, "%s", name);
  for (unsigned k = 2; taken(others, n, NULL, r->name) && k < 100; k++)
    snprintf(r->name, sizeof r->name, "%.48s (%u)", name, k);
}

int media__audio_open(media__audio **out, const media__plan *plan, size_t track,
                      AVFormatContext *in, media__rendition *r, const media__rendition *others,
                      size_t n_others, double frag_seconds, double seg_seconds, int64_t origin,
                      AVRational origin_tb, double video_seconds)
{
  *out = NULL;
  media__audio *a = calloc(1, sizeof *a);
  if (!a)
    return stream__err(STREAM_ENOMEM, "media audio: out of memory");
  a->r = r;
  int rc;
  a->stream = plan->audio_count ? plan->audio_streams[track] : plan->audio_stream;
  a->tb = in->streams[a->stream]->time_base;
  a->hdr_rate = in->streams[a->stream]->codecpar->sample_rate;
  a->prev_pts = AV_NOPTS_VALUE;
  const char *tag = plan->audio_count ? plan->audio_languages[track] : plan->audio_language;
  AVStream *st = in->streams[a->stream];
  const AVCodec *dc = avcodec_find_decoder(st->codecpar->codec_id);
  if (!dc) {
    rc = stream__err(STREAM_EMEDIA, "media audio: stream %d of %s: no decoder for audio codec %s",
                     a->stream, plan->input, avcodec_get_name(st->codecpar->codec_id));
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
  a->origin = av_rescale_q(origin, origin_tb, (AVRational){1, c->sample_rate});
  a->expect_end = video_seconds > 0 ? (int64_t)llround(video_seconds * c->sample_rate) : 0;
  r->kind = MEDIA__AUDIO;
  describe(r, st, tag, track, others, n_others);
  snprintf(r->codecs, sizeof r->codecs, "mp4a.40.2");
  r->sample_rate = c->sample_rate;
  r->channels = 2;
  r->target_bitrate = c->bit_rate;
  media__writer_config cfg = {0, 0, frag_seconds, seg_seconds};
  /* The init segment's mdhd keeps the container's ISO 639-2 code (the MP4
   * field's own format, and the bytes a single-track output always had);
   * the manifests get the BCP 47 tag. */
  char bcp47[sizeof r->language];
  memcpy(bcp47, r->language, sizeof bcp47);
  snprintf(r->language, sizeof r->language, "%s", tag[0] ? tag : "und");
  rc = media__writer_open(&a->writer, r, plan->outdir, c, &cfg);
  memcpy(r->language, bcp47, sizeof bcp47);
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

/* Where the kept samples end: the encoder's priming delays every sample by
 * initial_padding in the output, so the output ends with the video when
 * the samples end that much before it. */
static int64_t stop_at(const media__audio *a)
{
  return a->video_end - a->enc->initial_padding;
}

/* Encode whole frames from the FIFO that the video has reached (when more
 * than HOLD_SECONDS wait: those before the video's announced end, and the
 * rest is discarded). `last`: everything up to the end of the video, the
 * remainder as a short frame; what lies beyond is dropped. */
static int encode_fifo(media__audio *a, int last)
{
  int fs = a->enc->frame_size;
  int64_t hold = (int64_t)HOLD_SECONDS * a->enc->sample_rate;
  for (;;) {
    int64_t n = av_audio_fifo_size(a->fifo);
    if (last) {
      if (n > stop_at(a) - a->next_pts)
        n = stop_at(a) - a->next_pts;
      if (n <= 0)
        break;
    } else if (n < fs) {
      break;
    } else if (a->next_pts + fs > stop_at(a)) { /* not reached by the video yet */
      if (n <= hold)
        break;
      if (a->expect_end > 0 && a->next_pts + fs > a->expect_end - a->enc->initial_padding) {
        a->beyond = 1;
        a->discarded += n;
        av_audio_fifo_reset(a->fifo);
        break;
      }
    }
    if (n > fs)
      n = fs;
    AVFrame *f = a->out;
    av_frame_unref(f);
    f->nb_samples = (int)n;
    f->format = a->enc->sample_fmt;
    f->sample_rate = a->enc->sample_rate;
    int rc = av_channel_layout_copy(&f->ch_layout, &a->enc->ch_layout);
    if (rc >= 0)
      rc = av_frame_get_buffer(f, 0);
    if (rc < 0)
      return aerr(STREAM_ENOMEM, "frame allocation failed", rc);
    if (av_audio_fifo_read(a->fifo, (void **)f->data, (int)n) < n)
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
  if (last)
    av_audio_fifo_reset(a->fifo); /* beyond the end of the video */
  return STREAM_OK;
}

/* Append `n` samples of silence to the FIFO (encoding as it fills). */
static int fifo_silence(media__audio *a, int64_t n)
{
  const int chunk = 4096;
  int ch = a->enc->ch_layout.nb_channels;
  uint8_t **buf = NULL;
  int rc = av_samples_alloc_array_and_samples(&buf, NULL, ch, chunk, a->enc->sample_fmt, 0);
  if (rc < 0)
    return aerr(STREAM_ENOMEM, "sample allocation failed", rc);
  av_samples_set_silence(buf, 0, chunk, ch, a->enc->sample_fmt);
  rc = STREAM_OK;
  while (n > 0 && rc == STREAM_OK) {
    int k = n > chunk ? chunk : (int)n;
    if (av_audio_fifo_write(a->fifo, (void **)buf, k) < k)
      rc = stream__err(STREAM_ENOMEM, "media audio: out of memory");
    else
      rc = encode_fifo(a, 0);
    n -= k;
  }
  av_freep(&buf[0]);
  av_freep(&buf);
  return rc;
}

/* Append resampled samples to the FIFO, first discarding what `drop` says. */
static int fifo_put(media__audio *a, uint8_t **buf, int got)
{
  int skip = a->drop < got ? (int)a->drop : got;
  a->drop -= skip;
  if (a->beyond)
    a->discarded += got - skip;
  if (got == skip || a->beyond)
    return STREAM_OK;
  enum AVSampleFormat fmt = a->enc->sample_fmt;
  int ch = a->enc->ch_layout.nb_channels;
  int planar = av_sample_fmt_is_planar(fmt);
  size_t step = (size_t)skip * (size_t)av_get_bytes_per_sample(fmt) * (planar ? 1 : (size_t)ch);
  void *planes[AV_NUM_DATA_POINTERS];
  for (int i = 0; i < (planar ? ch : 1) && i < AV_NUM_DATA_POINTERS; i++)
    planes[i] = buf[i] + step;
  if (av_audio_fifo_write(a->fifo, planes, got - skip) < got - skip)
    return stream__err(STREAM_ENOMEM, "media audio: out of memory");
  return STREAM_OK;
}

static int convert(media__audio *a, const AVFrame *in);

/* The resampler for `in`'s format. When the decoded format changes
 * mid-stream, what the old resampler still holds is flushed first (it keeps
 * its place on the timeline), then a new one is set up. */
static int setup_swr(media__audio *a, const AVFrame *in)
{
  if (a->swr_ready) {
    if (in->format == a->in_fmt && in->sample_rate == a->in_rate &&
        !av_channel_layout_compare(&in->ch_layout, &a->in_layout))
      return STREAM_OK;
    int rc = convert(a, NULL);
    if (rc != STREAM_OK)
      return rc;
    swr_free(&a->swr);
    av_channel_layout_uninit(&a->in_layout);
    a->swr_ready = 0;
  }
  if (in->sample_rate <= 0 || in->ch_layout.nb_channels <= 0)
    return stream__err(STREAM_EMEDIA,
                       "media audio: a decoded frame has no sample rate or channels");
  int rc = swr_alloc_set_opts2(&a->swr, &a->enc->ch_layout, a->enc->sample_fmt, a->enc->sample_rate,
                               (AVChannelLayout *)&in->ch_layout, (enum AVSampleFormat)in->format,
                               in->sample_rate, 0, NULL);
  if (rc >= 0)
    rc = swr_init(a->swr);
  if (rc >= 0)
    rc = av_channel_layout_copy(&a->in_layout, &in->ch_layout);
  if (rc < 0)
    return aerr(STREAM_EMEDIA, "cannot convert the audio format", rc);
  a->in_fmt = in->format;
  a->in_rate = in->sample_rate;
  a->swr_ready = 1;
  return STREAM_OK;
}

static int convert(media__audio *a, const AVFrame *in)
{
  if (!a->swr_ready && !in)
    return STREAM_OK;
  if (in) {
    int rc = setup_swr(a, in);
    if (rc != STREAM_OK)
      return rc;
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
  rc = got > 0 ? fifo_put(a, buf, got) : STREAM_OK;
  av_freep(&buf[0]);
  av_freep(&buf);
  if (rc != STREAM_OK)
    return rc;
  return encode_fifo(a, 0);
}

/* Silence in the decoded frame's format, `n` samples at its rate, through
 * the resampler (after what it still holds). */
static int feed_silence(media__audio *a, const AVFrame *like, int64_t n)
{
  AVFrame *f = av_frame_alloc();
  if (!f)
    return stream__err(STREAM_ENOMEM, "media audio: out of memory");
  int rc = STREAM_OK;
  while (n > 0 && rc == STREAM_OK) {
    av_frame_unref(f);
    f->nb_samples = n > 4096 ? 4096 : (int)n;
    f->format = like->format;
    f->sample_rate = like->sample_rate;
    int e = av_channel_layout_copy(&f->ch_layout, &like->ch_layout);
    if (e >= 0)
      e = av_frame_get_buffer(f, 0);
    if (e < 0) {
      rc = aerr(STREAM_ENOMEM, "frame allocation failed", e);
      break;
    }
    av_samples_set_silence(f->extended_data, 0, f->nb_samples, f->ch_layout.nb_channels,
                           (enum AVSampleFormat)f->format);
    n -= f->nb_samples;
    rc = convert(a, f);
  }
  av_frame_free(&f);
  return rc;
}

/* Put a decoded frame at its presentation time: silence before the first
 * one when it starts after t = 0, drop what lies before t = 0, fill (or
 * drop) timestamp jumps of more than one AAC frame. */
static int place(media__audio *a, const AVFrame *f)
{
  int64_t pts = f->pts != AV_NOPTS_VALUE ? f->pts : f->best_effort_timestamp;
  int sr = a->enc->sample_rate;
  /* A demuxer gives a packet without a timestamp of its own (several audio
   * frames in one MPEG-TS PES) the previous one's plus a duration computed
   * from the stream header's sample rate. After a mid-stream rate change
   * that duration is wrong, and trusting it would cut and pad the audio
   * every few frames: such a made-up timestamp is not used. */
  int64_t given = pts;
  if (pts != AV_NOPTS_VALUE && a->prev_pts != AV_NOPTS_VALUE && a->hdr_rate > 0 &&
      f->sample_rate != a->hdr_rate) {
    int64_t made_up =
        a->prev_pts + av_rescale_q(a->prev_samples, (AVRational){1, a->hdr_rate}, a->tb);
    if (llabs(pts - made_up) <= 1)
      pts = AV_NOPTS_VALUE;
  }
  a->prev_pts = given;
  a->prev_samples = f->nb_samples;
  if (pts == AV_NOPTS_VALUE || f->sample_rate <= 0) {
    a->placed = 1; /* no time: right after the previous samples */
    return STREAM_OK;
  }
  int64_t at = av_rescale_q(pts, a->tb, (AVRational){1, sr}) - a->origin;
  if (!a->placed) {
    a->placed = 1;
    if (at < 0)
      a->drop = -at;
    return at > 0 ? fifo_silence(a, at) : STREAM_OK;
  }
  /* Where the frame lands if it follows the previous samples: after the
   * FIFO and what the resampler still holds, minus what is to be dropped. */
  int64_t delay = a->swr_ready ? swr_get_delay(a->swr, sr) : 0;
  int64_t gap = at - (a->next_pts + av_audio_fifo_size(a->fifo) + a->discarded + delay - a->drop);
  if (gap > a->enc->frame_size)
    return feed_silence(a, f, av_rescale(gap, f->sample_rate, sr));
  if (gap < -a->enc->frame_size)
    a->drop += -gap;
  return STREAM_OK;
}

static int drain_dec(media__audio *a)
{
  for (;;) {
    int rc = avcodec_receive_frame(a->dec, a->in);
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
      return STREAM_OK;
    if (rc < 0)
      return aerr(STREAM_EMEDIA, "audio decoding failed", rc);
    rc = place(a, a->in);
    if (rc == STREAM_OK)
      rc = convert(a, a->in);
    av_frame_unref(a->in);
    if (rc != STREAM_OK)
      return rc;
  }
}

int media__audio_packet(media__audio *a, const AVPacket *pkt)
{
  int rc = avcodec_send_packet(a->dec, pkt);
  if (rc == AVERROR(ENOMEM))
    return aerr(STREAM_ENOMEM, "audio decoding failed", rc);
  /* A packet the decoder refuses (damaged bytes; decoders report them as
   * INVALIDDATA, PATCHWELCOME, EPERM...) is skipped as the ffmpeg CLI does:
   * the next packet's timestamp puts silence in its place. Many of them
   * mean the stream is not what its header says. */
  if (rc < 0 && rc != AVERROR_EOF && rc != AVERROR(EAGAIN) && ++a->damaged > MEDIA__MAX_DAMAGED) {
    char eb[128];
    return stream__err(STREAM_EMEDIA,
                       "media audio: stream %d: more than %d packets cannot be decoded as %s "
                       "(damaged, or the codec changes mid-stream): %s",
                       a->stream, MEDIA__MAX_DAMAGED, a->dec->codec->name,
                       media__averr(rc, eb, sizeof eb));
  }
  rc = drain_dec(a);
  if (rc != STREAM_OK || pkt)
    return rc;
  /* End: flush the resampler, the FIFO, the encoder, the writer. */
  if (a->swr_ready) {
    rc = convert(a, NULL);
    if (rc != STREAM_OK)
      return rc;
  }
  /* Shorter than the video: silence up to its end (longer: encode_fifo
   * drops the rest). */
  int64_t queued = a->next_pts + av_audio_fifo_size(a->fifo);
  if (queued < stop_at(a)) {
    rc = fifo_silence(a, stop_at(a) - queued);
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

int media__audio_stream(const media__audio *a)
{
  return a->stream;
}

void media__audio_video_at(media__audio *a, double t)
{
  int64_t n = (int64_t)llround(t * a->enc->sample_rate);
  if (n > a->video_end)
    a->video_end = n;
}

void media__audio_free(media__audio *a)
{
  if (!a)
    return;
  media__writer_free(a->writer);
  avcodec_free_context(&a->dec);
  avcodec_free_context(&a->enc);
  swr_free(&a->swr);
  av_channel_layout_uninit(&a->in_layout);
  if (a->fifo)
    av_audio_fifo_free(a->fifo);
  av_frame_free(&a->in);
  av_frame_free(&a->out);
  av_packet_free(&a->pkt);
  free(a);
}
