/*
 * media subtitles, the output side: ASS dialogue text to WebVTT cue text, and
 * the WebVTT files of a subtitle track — one segment per video segment (same
 * boundaries, so HLS players fetch them in step; a cue spanning a boundary is
 * repeated in both segments with its full times, as RFC 8216 §3.5 allows) and
 * one whole-file WebVTT for DASH sidecar text. No FFmpeg here: the reading
 * side is subs.c.
 *
 * Timing: every segment starts with X-TIMESTAMP-MAP=MPEGTS:<t0>,LOCAL:0, where
 * t0 is the first video frame's presentation time in the 90 kHz clock. Our
 * CMAF video uses negative composition offsets (trun v1, movflags +cmaf), so
 * the first frame is presented at its tfdt, 0: t0 = 0, the same origin hls.js
 * takes as initPTS for fMP4, and cue time c plays at media time c.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "package_util.h"

/* ---- ASS to WebVTT text ---------------------------------------------------- */

typedef struct tagstack {
  char open[8]; /* 'i', 'b', 'u' in opening order */
  int n;
} tagstack;

static void tag_set(stream__buf *b, tagstack *st, char tag, int on)
{
  int at = -1;
  for (int i = 0; i < st->n; i++)
    if (st->open[i] == tag)
      at = i;
  if (on && at < 0 && st->n < (int)sizeof(st->open)) {
    stream__buf_printf(b, "<%c>", tag);
    st->open[st->n++] = tag;
  } else if (!on && at >= 0) {
    /* close the tags above it, it, then reopen the others: keeps nesting valid */
    for (int i = st->n - 1; i >= at; i--)
      stream__buf_printf(b, "</%c>", st->open[i]);
    for (int i = at + 1; i < st->n; i++) {
      st->open[i - 1] = st->open[i];
      stream__buf_printf(b, "<%c>", st->open[i]);
    }
    st->n--;
  }
}

/* One override block "{...}" (without braces): only \i, \b, \u matter. */
static void override_block(stream__buf *b, tagstack *st, const char *s, size_t n)
{
  for (size_t i = 0; i + 1 < n; i++) {
    if (s[i] != '\\')
      continue;
    char t = s[i + 1];
    if (t != 'i' && t != 'b' && t != 'u')
      continue;
    /* \i1 \i0 \b1 \b0 \b700 \u1; but not \iclip, \bord, \blur, \be ... */
    size_t j = i + 2;
    long v = 0;
    int digits = 0;
    while (j < n && s[j] >= '0' && s[j] <= '9' && digits < 6) {
      v = v * 10 + (s[j] - '0');
      j++;
      digits++;
    }
    if (j < n && s[j] != '\\' && s[j] != '}')
      continue;
    tag_set(b, st, t, digits ? v != 0 : 0);
  }
}

char *media__ass_to_vtt(const char *ass)
{
  stream__buf b;
  tagstack st = {{0}, 0};
  stream__buf_init(&b);
  for (const char *s = ass; *s; s++) {
    if (*s == '{') {
      const char *e = strchr(s, '}');
      if (!e)
        break; /* unterminated block: drop the rest, as renderers do */
      override_block(&b, &st, s + 1, (size_t)(e - s - 1));
      s = e;
    } else if (*s == '\\' && (s[1] == 'N' || s[1] == 'n')) {
      stream__buf_puts(&b, "\n");
      s++;
    } else if (*s == '\\' && s[1] == 'h') {
      stream__buf_puts(&b, "\xc2\xa0");
      s++;
    } else if (*s == '&') {
      stream__buf_puts(&b, "&amp;");
    } else if (*s == '<') {
      stream__buf_puts(&b, "&lt;");
    } else if (*s == '>') {
      stream__buf_puts(&b, "&gt;");
    } else if (*s == '\r') {
      continue;
    } else {
      stream__buf_append(&b, s, 1);
    }
  }
  while (st.n > 0)
    tag_set(&b, &st, st.open[st.n - 1], 0);
  char *raw = NULL;
  if (stream__buf_detach(&b, &raw) != STREAM_OK)
    return NULL;
  /* A blank line would end the cue: squeeze newlines, trim them at both ends,
   * and drop spaces before a line break. */
  size_t w = 0;
  for (size_t r = 0; raw[r]; r++) {
    if (raw[r] == '\n') {
      while (w > 0 && (raw[w - 1] == ' ' || raw[w - 1] == '\t'))
        w--;
      if (w == 0 || raw[w - 1] == '\n')
        continue;
    }
    raw[w++] = raw[r];
  }
  while (w > 0 && (raw[w - 1] == '\n' || raw[w - 1] == ' ' || raw[w - 1] == '\t'))
    w--;
  raw[w] = 0;
  return raw;
}

/* ---- WebVTT files -------------------------------------------------------- */

void media__text_clear(media__text *t)
{
  if (!t)
    return;
  for (size_t i = 0; t->cues && i < t->cue_count; i++)
    free(t->cues[i].text);
  free(t->cues);
  free(t->segments);
  t->cues = NULL;
  t->segments = NULL;
  t->cue_count = t->segment_count = 0;
}

static void vtt_time(stream__buf *b, int64_t ms)
{
  if (ms < 0)
    ms = 0;
  stream__buf_printf(b, "%02" PRId64 ":%02" PRId64 ":%02" PRId64 ".%03" PRId64, ms / 3600000,
                     (ms / 60000) % 60, (ms / 1000) % 60, ms % 1000);
}

static void vtt_cue(stream__buf *b, int64_t start, int64_t end, const char *text)
{
  stream__buf_puts(b, "\n");
  vtt_time(b, start);
  stream__buf_puts(b, " --> ");
  vtt_time(b, end);
  stream__buf_printf(b, "\n%s\n", text);
}

static int64_t ticks_ms(int64_t ticks, int64_t timescale)
{
  /* round to nearest, exact for integer ms */
  return timescale > 0 ? (ticks * 1000 + timescale / 2) / timescale : 0;
}

static int write_buf(const char *outdir, const char *rel, stream__buf *b, uint64_t *bytes)
{
  char *text = NULL;
  int rc = stream__buf_detach(b, &text);
  if (rc)
    return rc;
  size_t n = strlen(text);
  rc = media__write_file(outdir, rel, text, n);
  free(text);
  if (bytes)
    *bytes = n;
  return rc;
}

static int write_track(const char *outdir, media__text *t, const media__rendition *v)
{
  int64_t t0 = ticks_ms(v->segments[0].start, v->timescale);
  const media__segment *last = &v->segments[v->segment_count - 1];
  int64_t vend = ticks_ms(last->start + last->duration, v->timescale);
  /* Cues on the output timeline (ms): source time + t0; drop/clip at the end. */
  size_t kept = 0;
  for (size_t i = 0; i < t->cue_count; i++) {
    media__cue c = t->cues[i];
    c.start += t0;
    c.end += t0;
    if (c.start >= vend) {
      free(c.text);
      continue;
    }
    if (c.end > vend)
      c.end = vend;
    t->cues[kept++] = c;
  }
  t->cue_count = kept;
  t->mpegts = (t0 * 90) & ((INT64_C(1) << 33) - 1);
  free(t->segments);
  t->segments = calloc(v->segment_count, sizeof(*t->segments));
  if (!t->segments)
    return stream__err(STREAM_ENOMEM, "media subtitles: out of memory");
  t->segment_count = v->segment_count;
  t->start_number = 1;
  char rel[4200];
  snprintf(rel, sizeof(rel), "%s/%s", outdir, t->id);
  if (mkdir(rel, 0755) != 0 && errno != EEXIST)
    return stream__err(STREAM_EIO, "media subtitles: cannot create %s: %s", rel, strerror(errno));
  int rc = STREAM_OK;
  for (size_t s = 0; s < v->segment_count && !rc; s++) {
    int64_t a = ticks_ms(v->segments[s].start, v->timescale);
    int64_t e = ticks_ms(v->segments[s].start + v->segments[s].duration, v->timescale);
    t->segments[s].start = a;
    t->segments[s].duration = e - a;
    stream__buf b;
    stream__buf_init(&b);
    stream__buf_printf(&b, "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:%" PRId64 ",LOCAL:00:00:00.000\n",
                       t->mpegts);
    for (size_t i = 0; i < t->cue_count; i++) {
      const media__cue *c = &t->cues[i];
      if (c->start < e && c->end > a) /* local times: minus t0, LOCAL 0 = MPEGTS t0 */
        vtt_cue(&b, c->start - t0, c->end - t0, c->text);
    }
    snprintf(rel, sizeof(rel), "%s/seg_%05u.vtt", t->id, (unsigned)(t->start_number + s));
    rc = write_buf(outdir, rel, &b, &t->segments[s].bytes);
  }
  if (rc)
    return rc;
  /* Whole file for DASH: times on the presentation timeline (period start 0). */
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_puts(&b, "WEBVTT\n");
  for (size_t i = 0; i < t->cue_count; i++)
    vtt_cue(&b, t->cues[i].start, t->cues[i].end, t->cues[i].text);
  return write_buf(outdir, t->vtt_name, &b, NULL);
}

int media__subs_write(const char *outdir, media__package *p)
{
  const media__rendition *v = NULL;
  for (size_t k = 0; k < p->rendition_count && !v; k++)
    if (p->renditions[k].kind == MEDIA__VIDEO && p->renditions[k].segment_count > 0)
      v = &p->renditions[k];
  if (p->text_count == 0)
    return STREAM_OK;
  if (!v)
    return stream__err(STREAM_EINVAL, "media subtitles: no video segments to align to");
  for (size_t k = 0; k < p->text_count; k++) {
    int rc = write_track(outdir, &p->texts[k], v);
    if (rc)
      return rc;
  }
  return STREAM_OK;
}
