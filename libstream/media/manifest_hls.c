/*
 * HLS manifests from the measured segment index (Apple's HLS Authoring
 * Specification, RFC 8216): one media playlist per CMAF track, one I-frame
 * playlist per video track (byte ranges of the key frames' fragments), and
 * the multivariant playlist with measured BANDWIDTH / AVERAGE-BANDWIDTH.
 * Nothing here touches FFmpeg; the index comes from the packager.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "package_util.h"

#define HLS_VERSION 7 /* fMP4 with EXT-X-MAP (RFC 8216 §7: >= 6; Apple uses 7) */
#define AUDIO_GROUP "audio"
#define SUBS_GROUP "subs"
#define DEFAULT_VARIANT_BPS 2000000 /* Apple 1.32: list the 2000 kbit/s variant first */

static int finish(stream__buf *b, const char *outdir, const char *rel)
{
  char *text = NULL;
  int rc = stream__buf_detach(b, &text);
  if (rc)
    return rc;
  rc = media__write_file(outdir, rel, text, strlen(text));
  free(text);
  return rc;
}

static void header(stream__buf *b, int target)
{
  stream__buf_printf(b, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-TARGETDURATION:%d\n", HLS_VERSION,
                     target);
  stream__buf_puts(b, "#EXT-X-PLAYLIST-TYPE:VOD\n");
}

static int media_playlist(const char *outdir, const media__rendition *r, int target)
{
  stream__buf b;
  char name[128], rel[160];
  int rc = STREAM_OK;
  stream__buf_init(&b);
  header(&b, target);
  stream__buf_puts(&b, "#EXT-X-INDEPENDENT-SEGMENTS\n");
  stream__buf_printf(&b, "#EXT-X-MAP:URI=\"%s\"\n", r->init_name);
  for (size_t i = 0; i < r->segment_count && !rc; i++) {
    rc = media__segment_name(name, sizeof(name), r, i);
    stream__buf_printf(&b, "#EXTINF:%.6f,\n%s\n",
                       media__seconds(r->segments[i].duration, r->timescale), name);
  }
  stream__buf_puts(&b, "#EXT-X-ENDLIST\n");
  if (rc) {
    stream__buf_free(&b);
    return rc;
  }
  snprintf(rel, sizeof(rel), "%s/index.m3u8", r->dir);
  return finish(&b, outdir, rel);
}

/* WebVTT media playlist of a subtitle track: the video's segment durations. */
static int text_playlist(const char *outdir, const media__text *t, int target)
{
  stream__buf b;
  char rel[160];
  stream__buf_init(&b);
  header(&b, target);
  for (size_t i = 0; i < t->segment_count; i++)
    stream__buf_printf(&b, "#EXTINF:%.6f,\nseg_%05u.vtt\n",
                       media__seconds(t->segments[i].duration, 1000),
                       (unsigned)(t->start_number + i));
  stream__buf_puts(&b, "#EXT-X-ENDLIST\n");
  snprintf(rel, sizeof(rel), "%s/index.m3u8", t->id);
  return finish(&b, outdir, rel);
}

static int iframe_playlist(const char *outdir, const media__rendition *r)
{
  stream__buf b;
  char name[128], rel[160];
  int rc = STREAM_OK;
  int target =
      media__span_target(r->keyframes, r->keyframe_count, media__keyframe_span, r->timescale);
  stream__buf_init(&b);
  header(&b, target);
  stream__buf_puts(&b, "#EXT-X-I-FRAMES-ONLY\n#EXT-X-INDEPENDENT-SEGMENTS\n");
  stream__buf_printf(&b, "#EXT-X-MAP:URI=\"%s\"\n", r->init_name);
  for (size_t i = 0; i < r->keyframe_count && !rc; i++) {
    const media__keyframe *k = &r->keyframes[i];
    rc = media__segment_name(name, sizeof(name), r, k->segment);
    stream__buf_printf(&b, "#EXTINF:%.6f,\n#EXT-X-BYTERANGE:%llu@%llu\n%s\n",
                       media__seconds(k->duration, r->timescale), (unsigned long long)k->length,
                       (unsigned long long)k->offset, name);
  }
  stream__buf_puts(&b, "#EXT-X-ENDLIST\n");
  if (rc) {
    stream__buf_free(&b);
    return rc;
  }
  snprintf(rel, sizeof(rel), "%s/iframes.m3u8", r->dir);
  return finish(&b, outdir, rel);
}

static int64_t nominal(const media__rendition *r)
{
  return r->target_bitrate > 0 ? r->target_bitrate : media__rendition_average(r);
}

/* Video renditions in listing order: the 2000 kbit/s one first (or the
 * highest at or below it, else the lowest), then by BANDWIDTH descending. */
static size_t order_videos(size_t *idx, const media__package *p, int target)
{
  size_t n = 0, first = 0;
  int have = 0;
  for (size_t k = 0; k < p->rendition_count; k++)
    if (p->renditions[k].kind == MEDIA__VIDEO)
      idx[n++] = k;
  for (size_t i = 0; i < n; i++) {
    int64_t v = nominal(&p->renditions[idx[i]]);
    int64_t best = have ? nominal(&p->renditions[idx[first]]) : 0;
    if (v == DEFAULT_VARIANT_BPS) {
      first = i;
      have = 2;
      break;
    }
    if (v < DEFAULT_VARIANT_BPS && (!have || v > best)) {
      first = i;
      have = 1;
    }
  }
  if (!have)
    for (size_t i = 1; i < n; i++)
      if (nominal(&p->renditions[idx[i]]) < nominal(&p->renditions[idx[first]]))
        first = i;
  size_t f = idx[first];
  memmove(idx + 1, idx, first * sizeof(*idx));
  idx[0] = f;
  /* insertion sort of the rest, stable */
  for (size_t i = 2; i < n; i++) {
    size_t v = idx[i], j = i;
    int64_t bw = media__rendition_peak(&p->renditions[v], target);
    while (j > 1 && media__rendition_peak(&p->renditions[idx[j - 1]], target) < bw) {
      idx[j] = idx[j - 1];
      j--;
    }
    idx[j] = v;
  }
  return n;
}

static int master_playlist(const char *outdir, const media__package *p, int target)
{
  stream__buf b;
  size_t idx[64];
  /* Apple: a variant's BANDWIDTH covers its worst rendition combination, so
   * the highest audio peak (and, separately, the highest audio average). */
  int64_t audio_peak = 0, audio_avg = 0;
  int audio = 0;
  char audio_codecs[256] = "";
  stream__buf_init(&b);
  stream__buf_printf(&b, "#EXTM3U\n#EXT-X-VERSION:%d\n#EXT-X-INDEPENDENT-SEGMENTS\n", HLS_VERSION);
  for (size_t k = 0; k < p->rendition_count; k++) {
    const media__rendition *r = &p->renditions[k];
    if (r->kind != MEDIA__AUDIO)
      continue;
    /* One group: DEFAULT=YES on the first (the packager lists the source's
     * default track first), AUTOSELECT on all. */
    const char *name = r->name[0] ? r->name : r->language[0] ? r->language : r->id;
    stream__buf_printf(&b, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"" AUDIO_GROUP "\",NAME=\"%s\"",
                       name);
    /* "und" (undetermined, a registered BCP 47 tag) when unknown: Apple's
     * authoring rules want LANGUAGE on every audio rendition. */
    stream__buf_printf(&b, ",LANGUAGE=\"%s\"", r->language[0] ? r->language : "und");
    stream__buf_printf(&b, ",DEFAULT=%s,AUTOSELECT=YES", audio ? "NO" : "YES");
    if (r->channels > 0)
      stream__buf_printf(&b, ",CHANNELS=\"%d\"", r->channels);
    stream__buf_printf(&b, ",URI=\"%s/index.m3u8\"\n", r->dir);
    int64_t pk = media__rendition_peak(r, target), av = media__rendition_average(r);
    audio_peak = pk > audio_peak ? pk : audio_peak;
    audio_avg = av > audio_avg ? av : audio_avg;
    /* CODECS lists every audio format of the group once */
    size_t cl = strlen(r->codecs);
    const char *hit = strstr(audio_codecs, r->codecs);
    if (!(hit && (hit[cl] == ',' || hit[cl] == '\0') && (hit == audio_codecs || hit[-1] == ','))) {
      size_t used = strlen(audio_codecs);
      snprintf(audio_codecs + used, sizeof(audio_codecs) - used, ",%s", r->codecs);
    }
    audio++;
  }
  int64_t text_peak = 0, text_avg = 0; /* the largest track: one plays at a time */
  for (size_t k = 0; k < p->text_count; k++) {
    const media__text *t = &p->texts[k];
    int64_t pk = media__span_peak(t->segments, t->segment_count, media__segment_span, 1000, target);
    int64_t av = media__span_average(t->segments, t->segment_count, media__segment_span, 1000);
    text_peak = pk > text_peak ? pk : text_peak;
    text_avg = av > text_avg ? av : text_avg;
    /* AUTOSELECT=YES on every track (RFC 8216: required with DEFAULT=YES; lets
     * players pick by the user's language); FORCED only here (TYPE=SUBTITLES). */
    stream__buf_printf(&b,
                       "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"" SUBS_GROUP
                       "\",NAME=\"%s\",LANGUAGE=\"%s\",DEFAULT=%s,AUTOSELECT=YES,FORCED=%s,"
                       "URI=\"%s/index.m3u8\"\n",
                       t->name[0] ? t->name : t->language, t->language,
                       t->is_default ? "YES" : "NO", t->forced ? "YES" : "NO", t->id);
  }
  size_t n = order_videos(idx, p, target);
  for (size_t i = 0; i < n; i++) {
    const media__rendition *r = &p->renditions[idx[i]];
    stream__buf_printf(&b,
                       "#EXT-X-STREAM-INF:BANDWIDTH=%lld,AVERAGE-BANDWIDTH=%lld,CODECS=\"%s%s\","
                       "RESOLUTION=%dx%d,FRAME-RATE=%.3f,VIDEO-RANGE=SDR",
                       (long long)(media__rendition_peak(r, target) + audio_peak + text_peak),
                       (long long)(media__rendition_average(r) + audio_avg + text_avg), r->codecs,
                       audio_codecs, r->width, r->height, (double)r->fps_num / (double)r->fps_den);
    if (audio)
      stream__buf_puts(&b, ",AUDIO=\"" AUDIO_GROUP "\"");
    if (p->text_count)
      stream__buf_puts(&b, ",SUBTITLES=\"" SUBS_GROUP "\"");
    stream__buf_printf(&b, "\n%s/index.m3u8\n", r->dir);
  }
  for (size_t i = 0; i < n; i++) {
    const media__rendition *r = &p->renditions[idx[i]];
    int it =
        media__span_target(r->keyframes, r->keyframe_count, media__keyframe_span, r->timescale);
    stream__buf_printf(
        &b,
        "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=%lld,AVERAGE-BANDWIDTH=%lld,CODECS=\"%s\","
        "RESOLUTION=%dx%d,URI=\"%s/iframes.m3u8\"\n",
        (long long)media__span_peak(r->keyframes, r->keyframe_count, media__keyframe_span,
                                    r->timescale, it),
        (long long)media__span_average(r->keyframes, r->keyframe_count, media__keyframe_span,
                                       r->timescale),
        r->codecs, r->width, r->height, r->dir);
  }
  return finish(&b, outdir, "master.m3u8");
}

int media__write_hls(const char *outdir, const media__package *p)
{
  int rc = media__package_validate(outdir, p);
  if (rc)
    return rc;
  int target = media__package_target(p);
  for (size_t k = 0; k < p->rendition_count; k++) {
    const media__rendition *r = &p->renditions[k];
    if ((rc = media_playlist(outdir, r, target)))
      return rc;
    if (r->kind == MEDIA__VIDEO && (rc = iframe_playlist(outdir, r)))
      return rc;
  }
  for (size_t k = 0; k < p->text_count; k++)
    if ((rc = text_playlist(outdir, &p->texts[k], target)))
      return rc;
  /* last, so that a master playlist on disk always points at complete files */
  return master_playlist(outdir, p, target);
}
