/*
 * Static DASH MPD (ISO/IEC 23009-1, isoff-live profile) over the same CMAF
 * segments as the HLS playlists: one video AdaptationSet, one audio
 * AdaptationSet per language, SegmentTemplate with $Number$ and a
 * SegmentTimeline rebuilt from the measured durations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "package_util.h"

static void xml_text(stream__buf *b, const char *s)
{
  for (; *s; s++) {
    switch (*s) {
    case '&':
      stream__buf_puts(b, "&amp;");
      break;
    case '<':
      stream__buf_puts(b, "&lt;");
      break;
    case '>':
      stream__buf_puts(b, "&gt;");
      break;
    case '"':
      stream__buf_puts(b, "&quot;");
      break;
    case '\'':
      stream__buf_puts(b, "&apos;");
      break;
    default:
      stream__buf_append(b, s, 1);
    }
  }
}

/* ISO 8601 duration as used by MPDs: PT[nH][nM]s.sssS. */
static void iso_duration(stream__buf *b, double seconds)
{
  long long ms = (long long)(seconds * 1000.0 + 0.5);
  long long h = ms / 3600000, m = (ms / 60000) % 60;
  stream__buf_puts(b, "PT");
  if (h)
    stream__buf_printf(b, "%lldH", h);
  if (h || m)
    stream__buf_printf(b, "%lldM", m);
  stream__buf_printf(b, "%lld.%03lldS", (ms / 1000) % 60, ms % 1000);
}

static long long gcd(long long a, long long b)
{
  while (b) {
    long long t = a % b;
    a = b;
    b = t;
  }
  return a;
}

static void rational(stream__buf *b, long long num, long long den, char sep)
{
  long long g = gcd(num, den);
  if (g <= 0)
    g = 1;
  num /= g;
  den /= g;
  if (sep == '/' && den == 1)
    stream__buf_printf(b, "%lld", num);
  else
    stream__buf_printf(b, "%lld%c%lld", num, sep, den);
}

static int segment_template(stream__buf *b, const media__rendition *r, const char *indent)
{
  char media[128];
  int rc = media__segment_template(media, sizeof(media), r);
  if (rc)
    return rc;
  stream__buf_printf(b,
                     "%s<SegmentTemplate timescale=\"%lld\" initialization=\"%s/%s\" "
                     "media=\"%s/%s\" startNumber=\"%u\">\n%s  <SegmentTimeline>\n",
                     indent, (long long)r->timescale, r->dir, r->init_name, r->dir, media,
                     r->start_number, indent);
  for (size_t i = 0; i < r->segment_count;) {
    const media__segment *s = &r->segments[i];
    size_t run = 1;
    while (i + run < r->segment_count && r->segments[i + run].duration == s->duration &&
           r->segments[i + run].start ==
               r->segments[i + run - 1].start + r->segments[i + run - 1].duration)
      run++;
    stream__buf_printf(b, "%s    <S", indent);
    if (i == 0 || s->start != r->segments[i - 1].start + r->segments[i - 1].duration)
      stream__buf_printf(b, " t=\"%lld\"", (long long)s->start);
    stream__buf_printf(b, " d=\"%lld\"", (long long)s->duration);
    if (run > 1)
      stream__buf_printf(b, " r=\"%zu\"", run - 1);
    stream__buf_puts(b, "/>\n");
    i += run;
  }
  stream__buf_printf(b, "%s  </SegmentTimeline>\n%s</SegmentTemplate>\n", indent, indent);
  return STREAM_OK;
}

static int same_timeline(const media__rendition *a, const media__rendition *b)
{
  if (a->segment_count != b->segment_count)
    return 0;
  for (size_t i = 0; i < a->segment_count; i++) {
    /* compare in seconds across timescales: a.start*b.ts == b.start*a.ts */
    if ((double)a->segments[i].start * (double)b->timescale !=
            (double)b->segments[i].start * (double)a->timescale ||
        (double)a->segments[i].duration * (double)b->timescale !=
            (double)b->segments[i].duration * (double)a->timescale)
      return 0;
  }
  return 1;
}

static double rendition_seconds(const media__rendition *r)
{
  const media__segment *last = &r->segments[r->segment_count - 1];
  return media__seconds(last->start + last->duration - r->segments[0].start, r->timescale);
}

static int video_set(stream__buf *b, const media__package *p, int target)
{
  const media__rendition *first = NULL;
  int aligned = 1, same_par = 1, max_w = 0, max_h = 0;
  long long par_w = 0, par_h = 0;
  for (size_t k = 0; k < p->rendition_count; k++) {
    const media__rendition *r = &p->renditions[k];
    if (r->kind != MEDIA__VIDEO)
      continue;
    long long sn = r->sar_num ? r->sar_num : 1, sd = r->sar_den ? r->sar_den : 1;
    long long w = (long long)r->width * sn, h = (long long)r->height * sd, g = gcd(w, h);
    w /= g;
    h /= g;
    if (!first) {
      first = r;
      par_w = w;
      par_h = h;
    } else {
      aligned = aligned && same_timeline(first, r);
      same_par = same_par && w == par_w && h == par_h;
    }
    max_w = r->width > max_w ? r->width : max_w;
    max_h = r->height > max_h ? r->height : max_h;
  }
  stream__buf_printf(b,
                     "    <AdaptationSet id=\"0\" contentType=\"video\" mimeType=\"video/mp4\" "
                     "segmentAlignment=\"%s\" startWithSAP=\"1\"",
                     aligned ? "true" : "false");
  if (same_par)
    stream__buf_printf(b, " par=\"%lld:%lld\"", par_w, par_h);
  stream__buf_printf(b, " maxWidth=\"%d\" maxHeight=\"%d\">\n", max_w, max_h);
  for (size_t k = 0; k < p->rendition_count; k++) {
    const media__rendition *r = &p->renditions[k];
    if (r->kind != MEDIA__VIDEO)
      continue;
    stream__buf_printf(b,
                       "      <Representation id=\"%s\" bandwidth=\"%lld\" codecs=\"%s\" "
                       "width=\"%d\" height=\"%d\" frameRate=\"",
                       r->id, (long long)media__rendition_peak(r, target), r->codecs, r->width,
                       r->height);
    rational(b, r->fps_num, r->fps_den, '/');
    stream__buf_puts(b, "\" sar=\"");
    rational(b, r->sar_num ? r->sar_num : 1, r->sar_den ? r->sar_den : 1, ':');
    stream__buf_puts(b, "\">\n");
    int rc = segment_template(b, r, "        ");
    if (rc)
      return rc;
    stream__buf_puts(b, "      </Representation>\n");
  }
  stream__buf_puts(b, "    </AdaptationSet>\n");
  return STREAM_OK;
}

/* Audio renditions of one AdaptationSet: same language and name. */
static int same_track(const media__rendition *a, const media__rendition *r)
{
  return a->kind == MEDIA__AUDIO && r->kind == MEDIA__AUDIO && !strcmp(a->language, r->language) &&
         !strcmp(a->name, r->name);
}

static int audio_sets(stream__buf *b, const media__package *p, int target)
{
  int set_id = 1;
  for (size_t k = 0; k < p->rendition_count; k++) {
    const media__rendition *r = &p->renditions[k];
    if (r->kind != MEDIA__AUDIO)
      continue;
    int seen = 0; /* one AdaptationSet per track (language and name), opened at its first
                     rendition: two tracks of one language (main, commentary) are not
                     interchangeable bitrates of one set */
    for (size_t j = 0; j < k && !seen; j++)
      seen = same_track(&p->renditions[j], r);
    if (seen)
      continue;
    const char *lang = r->language[0] ? r->language : "und";
    stream__buf_printf(b,
                       "    <AdaptationSet id=\"%d\" contentType=\"audio\" mimeType=\"audio/mp4\" "
                       "lang=\"%s\" segmentAlignment=\"true\" startWithSAP=\"1\">\n",
                       set_id, lang);
    if (r->name[0]) {
      stream__buf_puts(b, "      <Label>");
      xml_text(b, r->name);
      stream__buf_puts(b, "</Label>\n");
    }
    stream__buf_printf(b, "      <Role schemeIdUri=\"urn:mpeg:dash:role:2011\" value=\"%s\"/>\n",
                       set_id == 1 ? "main" : "alternate");
    for (size_t j = k; j < p->rendition_count; j++) {
      const media__rendition *a = &p->renditions[j];
      if (!same_track(a, r))
        continue;
      stream__buf_printf(b, "      <Representation id=\"%s\" bandwidth=\"%lld\" codecs=\"%s\"",
                         a->id, (long long)media__rendition_peak(a, target), a->codecs);
      if (a->sample_rate > 0)
        stream__buf_printf(b, " audioSamplingRate=\"%d\"", a->sample_rate);
      stream__buf_puts(b, ">\n");
      if (a->channels > 0)
        stream__buf_printf(b,
                           "        <AudioChannelConfiguration schemeIdUri=\"urn:mpeg:dash:23003:"
                           "3:audio_channel_configuration:2011\" value=\"%d\"/>\n",
                           a->channels);
      int rc = segment_template(b, a, "        ");
      if (rc)
        return rc;
      stream__buf_puts(b, "      </Representation>\n");
    }
    stream__buf_puts(b, "    </AdaptationSet>\n");
    set_id++;
  }
  return STREAM_OK;
}

/* One text AdaptationSet per subtitle track: the whole-file WebVTT as the
 * Representation's BaseURL (sidecar text, as dash.js and Shaka play it). */
static void text_sets(stream__buf *b, const media__package *p, int first_id)
{
  for (size_t k = 0; k < p->text_count; k++) {
    const media__text *t = &p->texts[k];
    stream__buf_printf(b,
                       "    <AdaptationSet id=\"%d\" contentType=\"text\" mimeType=\"text/vtt\" "
                       "lang=\"%s\">\n",
                       first_id + (int)k, t->language);
    stream__buf_puts(b, "      <Label>");
    xml_text(b, t->name[0] ? t->name : t->language);
    stream__buf_puts(b, "</Label>\n");
    stream__buf_printf(b, "      <Role schemeIdUri=\"urn:mpeg:dash:role:2011\" value=\"%s\"/>\n",
                       t->forced ? "forced-subtitle" : "subtitle");
    uint64_t bytes = 0;
    for (size_t i = 0; i < t->segment_count; i++)
      bytes += t->segments[i].bytes;
    double secs = p->duration > 0 ? p->duration : 1.0;
    long long bw = (long long)((double)bytes * 8.0 / secs + 0.5);
    stream__buf_printf(b,
                       "      <Representation id=\"%s\" bandwidth=\"%lld\" codecs=\"wvtt\">\n"
                       "        <BaseURL>",
                       t->id, bw > 0 ? bw : 1);
    xml_text(b, t->vtt_name);
    stream__buf_puts(b, "</BaseURL>\n      </Representation>\n    </AdaptationSet>\n");
  }
}

int media__write_dash(const char *outdir, const media__package *p)
{
  int rc = media__package_validate(outdir, p);
  if (rc)
    return rc;
  int target = media__package_target(p);
  double duration = p->duration, max_seg = 0.0;
  for (size_t k = 0; k < p->rendition_count; k++) {
    const media__rendition *r = &p->renditions[k];
    if (p->duration <= 0.0 && rendition_seconds(r) > duration)
      duration = rendition_seconds(r);
    for (size_t i = 0; i < r->segment_count; i++) {
      double d = media__seconds(r->segments[i].duration, r->timescale);
      max_seg = d > max_seg ? d : max_seg;
    }
  }
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                       "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" "
                       "profiles=\"urn:mpeg:dash:profile:isoff-live:2011\" type=\"static\" "
                       "mediaPresentationDuration=\"");
  iso_duration(&b, duration);
  stream__buf_puts(&b, "\" maxSegmentDuration=\"");
  iso_duration(&b, max_seg);
  stream__buf_printf(&b, "\" minBufferTime=\"PT%dS\">\n  <Period id=\"0\" start=\"PT0S\">\n",
                     target);
  if ((rc = video_set(&b, p, target)) || (rc = audio_sets(&b, p, target))) {
    stream__buf_free(&b);
    return rc;
  }
  size_t audio_sets_n = 0;
  for (size_t k = 0; k < p->rendition_count; k++) {
    int seen = 0;
    for (size_t j = 0; j < k && !seen; j++)
      seen = same_track(&p->renditions[j], &p->renditions[k]);
    audio_sets_n += p->renditions[k].kind == MEDIA__AUDIO && !seen;
  }
  text_sets(&b, p, 1 + (int)audio_sets_n);
  stream__buf_puts(&b, "  </Period>\n</MPD>\n");
  char *text = NULL;
  if ((rc = stream__buf_detach(&b, &text)))
    return rc;
  rc = media__write_file(outdir, "manifest.mpd", text, strlen(text));
  free(text);
  return rc;
}
