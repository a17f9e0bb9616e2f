/*
 * media subtitles, the input side: read a sidecar subtitle file (WebVTT, SRT,
 * or any text subtitle format libavformat demuxes) through FFmpeg's demuxer
 * and subtitle decoder, which turn every format into ASS dialogue lines; each
 * becomes one cue (milliseconds, WebVTT text via media__ass_to_vtt). Bitmap
 * subtitles (DVD, PGS) are refused. The output side is subs_vtt.c.
 *
 * FFmpeg 5.1's WebVTT demuxer stops at the first block that is neither a cue
 * nor a NOTE, so a STYLE or REGION block (legal before the first cue, common
 * in exported files) left it with no cues at all, and a late one lost every
 * cue after it: a WebVTT file is read into memory first and, when it has
 * blocks other than its header and its cues, FFmpeg reads it without them,
 * every other byte as in the file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipe_internal.h"

#define MAX_CUES 100000    /* ~ a cue per second for a day: beyond that the file is not subtitles */
#define VTT_MAX (64 << 20) /* larger WebVTT files go to FFmpeg as they are */

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

/* ---- WebVTT blocks FFmpeg cannot skip -------------------------------------- */

/* Length of the line at s (terminator excluded: CRLF, LF or CR, as in the
 * WebVTT spec) and, in *next, the start of the following line. */
static size_t vtt_line(const char *s, const char *end, const char **next)
{
  const char *p = s;
  while (p < end && *p != '\n' && *p != '\r')
    p++;
  size_t n = (size_t)(p - s);
  if (p < end)
    p += (*p == '\r' && p + 1 < end && p[1] == '\n') ? 2 : 1;
  *next = p;
  return n;
}

static int vtt_arrow(const char *l, size_t n)
{
  for (size_t i = 0; i + 3 <= n; i++)
    if (l[i] == '-' && l[i + 1] == '-' && l[i + 2] == '>')
      return 1;
  return 0;
}

/* A copy of the WebVTT text `in` with only its header and its cues: every
 * other block (STYLE and REGION, legal before the first cue; NOTE; anything
 * else, which WebVTT parsers ignore) goes, with the line terminator ending
 * it, and a lone CR becomes an LF; *out NULL when there is nothing to change. A block with "-->" on
 * its first or second line is a cue (the first line then is its identifier) and is kept. */
static int vtt_strip(char **out, size_t *out_n, const char *in, size_t n)
{
  *out = NULL;
  char *o = malloc(n ? n : 1);
  if (!o)
    return stream__err(STREAM_ENOMEM, "media subtitles: out of memory");
  const char *p = in, *end = in + n, *next;
  while (p < end && vtt_line(p, end, &next) > 0) /* the header: up to its blank line */
    p = next;
  if (p < end)
    p = next;
  size_t w = (size_t)(p - in);
  memcpy(o, in, w);
  int dropped = 0;
  while (p < end) {
    const char *b = p, *q = p;
    size_t n1 = vtt_line(p, end, &next);
    if (n1 == 0) { /* blank lines between blocks */
      memcpy(o + w, b, (size_t)(next - b));
      w += (size_t)(next - b);
      p = next;
      continue;
    }
    const char *l2 = next;
    size_t n2 = l2 < end ? vtt_line(l2, end, &next) : 0;
    while (q < end && vtt_line(q, end, &next) > 0) /* the block and its blank line */
      q = next;
    if (q < end)
      q = next;
    int cue = vtt_arrow(b, n1) || vtt_arrow(l2, n2);
    /* FFmpeg 5.1 stops reading at a block that is not a cue (except NOTE). */
    int drop = !cue;
    dropped |= drop;
    if (!drop) {
      memcpy(o + w, b, (size_t)(q - b));
      w += (size_t)(q - b);
    }
    p = q;
  }
  /* A lone CR ends a line as well, but FFmpeg 5.1 loses the first cue of a
   * CR-only file: make each one an LF (same length, same lines). */
  for (size_t i = 0; i < w; i++)
    if (o[i] == '\r' && (i + 1 == w || o[i + 1] != '\n')) {
      o[i] = '\n';
      dropped = 1;
    }
  if (!dropped) {
    free(o);
    return STREAM_OK;
  }
  *out = o;
  *out_n = w;
  return STREAM_OK;
}

/* 1 when `h` starts like a WebVTT file: optional BOM, "WEBVTT", then the end,
 * a space, a tab or a line break. */
static int vtt_magic(const char *h, size_t n)
{
  if (n >= 3 && !memcmp(h, "\xef\xbb\xbf", 3)) {
    h += 3;
    n -= 3;
  }
  return n >= 6 && !memcmp(h, "WEBVTT", 6) &&
         (n == 6 || h[6] == ' ' || h[6] == '\t' || h[6] == '\n' || h[6] == '\r');
}

/* The file's text without the blocks vtt_strip drops, in *out (caller frees);
 * *out NULL when the file is not WebVTT, has none of them, or is too big. */
static int vtt_prepare(char **out, size_t *out_n, const char *path)
{
  *out = NULL;
  FILE *f = fopen(path, "rbe");
  if (!f)
    return stream__err(STREAM_EIO, "cannot open subtitle file %s: %s", path, strerror(errno));
  char head[10];
  size_t hn = fread(head, 1, sizeof head, f);
  char *text = NULL;
  size_t n = 0;
  long size = vtt_magic(head, hn) && fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  int rc = STREAM_OK;
  if (size > 0 && size <= VTT_MAX && fseek(f, 0, SEEK_SET) == 0) {
    text = malloc((size_t)size);
    if (!text)
      rc = stream__err(STREAM_ENOMEM, "media subtitles: out of memory");
    else
      n = fread(text, 1, (size_t)size, f);
  }
  fclose(f);
  if (text && vtt_magic(text, n))
    rc = vtt_strip(out, out_n, text, n);
  free(text);
  return rc;
}

/* libavformat reading from memory. */
typedef struct membuf {
  const char *data;
  size_t size, pos;
} membuf;

static int mem_read(void *opaque, uint8_t *buf, int size)
{
  membuf *m = opaque;
  size_t left = m->size - m->pos, k = size > 0 ? (size_t)size : 0;
  if (left == 0)
    return AVERROR_EOF;
  if (k > left)
    k = left;
  memcpy(buf, m->data + m->pos, k);
  m->pos += k;
  return (int)k;
}

static int64_t mem_seek(void *opaque, int64_t off, int whence)
{
  membuf *m = opaque;
  if (whence & AVSEEK_SIZE)
    return (int64_t)m->size;
  whence &= ~AVSEEK_FORCE;
  int64_t base = whence == SEEK_SET   ? 0
                 : whence == SEEK_CUR ? (int64_t)m->pos
                 : whence == SEEK_END ? (int64_t)m->size
                                      : -1;
  if (base < 0 || off < -base || off > (int64_t)m->size - base)
    return AVERROR(EINVAL);
  m->pos = (size_t)(base + off);
  return (int64_t)m->pos;
}

int media__subs_read(media__text *t, const char *path)
{
  int rc = media__check_file("subtitle file", path);
  if (rc != STREAM_OK)
    return rc;
  char *vtt = NULL;
  membuf mb = {NULL, 0, 0};
  if ((rc = vtt_prepare(&vtt, &mb.size, path)) != STREAM_OK)
    return rc;
  AVFormatContext *fmt = NULL;
  AVIOContext *pb = NULL;
  const AVInputFormat *forced = NULL;
  char eb[128];
  int e = 0;
  if (vtt) {
    mb.data = vtt;
    unsigned char *iob = av_malloc(4096);
    fmt = avformat_alloc_context();
    pb = iob ? avio_alloc_context(iob, 4096, 0, &mb, mem_read, NULL, mem_seek) : NULL;
    forced = av_find_input_format("webvtt");
    if (!pb)
      av_free(iob);
    if (!fmt || !pb) {
      avformat_free_context(fmt);
      avio_context_free(&pb);
      free(vtt);
      return stream__err(STREAM_ENOMEM, "media subtitles: out of memory");
    }
    fmt->pb = pb;
  }
  e = avformat_open_input(&fmt, path, forced, NULL);
  if (e < 0) {
    if (pb)
      av_freep(&pb->buffer);
    avio_context_free(&pb);
    free(vtt);
    return stream__err(STREAM_EMEDIA,
                       "cannot read subtitle file %s: %s (not a subtitle format FFmpeg knows)",
                       path, media__averr(e, eb, sizeof eb));
  }
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
  if (pb)
    av_freep(&pb->buffer);
  avio_context_free(&pb);
  free(vtt);
  if (rc)
    media__text_clear(t);
  return rc;
}
