/*
 * media audio: one instance per selected audio stream (the pipeline routes
 * each stream's packets to its own instance). Decode the stream, convert it with
 * libswresample to 48 kHz stereo float planar whatever the input's format
 * and layout, regroup it in an AVAudioFifo into the 1024-sample frames the
 * AAC encoder needs, encode AAC-LC once and hand packets to the audio CMAF
 * writer (segments cut on the video's segment grid).
 */
#define _GNU_SOURCE /* strcasestr */
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
};

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
                      size_t n_others, double frag_seconds, double seg_seconds)
{
  *out = NULL;
  media__audio *a = calloc(1, sizeof *a);
  if (!a)
    return stream__err(STREAM_ENOMEM, "media audio: out of memory");
  a->r = r;
  int rc;
  a->stream = plan->audio_count ? plan->audio_streams[track] : plan->audio_stream;
  const char *tag = plan->audio_count ? plan->audio_languages[track] : plan->audio_language;
  AVStream *st = in->streams[a->stream];
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

int media__audio_stream(const media__audio *a)
{
  return a->stream;
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
