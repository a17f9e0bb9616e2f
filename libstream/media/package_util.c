/*
 * The measured segment index shared by the packager and the manifest writers:
 * bit-rate measurement (RFC 8216 peak definition), validation of a
 * media__package before any manifest is written, segment naming and atomic
 * file writes.
 */
#include "package_util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MEDIA__MAX_RENDITIONS 64

void media__segment_span(const void *items, size_t i, uint64_t *bytes, int64_t *duration)
{
  const media__segment *s = (const media__segment *)items + i;
  *bytes = s->bytes;
  *duration = s->duration;
}

void media__keyframe_span(const void *items, size_t i, uint64_t *bytes, int64_t *duration)
{
  const media__keyframe *k = (const media__keyframe *)items + i;
  *bytes = k->length;
  *duration = k->duration;
}

double media__seconds(int64_t ticks, int64_t timescale)
{
  return timescale > 0 ? (double)ticks / (double)timescale : 0.0;
}

static int64_t rate_of(uint64_t bytes, int64_t ticks, int64_t timescale)
{
  if (ticks <= 0 || timescale <= 0)
    return 0;
  double r = (double)bytes * 8.0 * (double)timescale / (double)ticks;
  return r >= 9.2e18 ? INT64_MAX : (int64_t)(r + 0.5); /* nearest; no libm needed */
}

int media__span_target(const void *items, size_t n, media__span_fn get, int64_t timescale)
{
  int target = 1;
  for (size_t i = 0; i < n; i++) {
    uint64_t bytes;
    int64_t d;
    get(items, i, &bytes, &d);
    double s = media__seconds(d, timescale);
    if (s > 1e6)
      s = 1e6;
    int r = s > 0 ? (int)(s + 0.5) : 0; /* nearest integer */
    if (r > target)
      target = r;
  }
  return target;
}

int media__package_target(const media__package *p)
{
  int target = 1;
  for (size_t k = 0; p && k < p->rendition_count; k++) {
    const media__rendition *r = &p->renditions[k];
    int t = media__span_target(r->segments, r->segment_count, media__segment_span, r->timescale);
    if (t > target)
      target = t;
  }
  return target;
}

int64_t media__span_peak(const void *items, size_t n, media__span_fn get, int64_t timescale,
                         int target)
{
  int64_t peak = 0, single = 0;
  if (timescale <= 0 || target <= 0)
    return 0;
  /* Runs between 0.5 and 1.5 target durations, compared in ticks:
   * 2*sum >= target*ts and 2*sum <= 3*target*ts. */
  double lo = (double)target * (double)timescale, hi = 3.0 * lo;
  for (size_t i = 0; i < n; i++) {
    uint64_t bytes = 0, b;
    int64_t ticks = 0, d;
    get(items, i, &b, &d);
    if (d > 0) {
      int64_t r = rate_of(b, d, timescale);
      if (r > single)
        single = r;
    }
    for (size_t j = i; j < n; j++) {
      get(items, j, &b, &d);
      if (d <= 0)
        break;
      bytes += b;
      ticks += d;
      double twice = 2.0 * (double)ticks;
      if (twice > hi)
        break;
      if (twice >= lo) {
        int64_t r = rate_of(bytes, ticks, timescale);
        if (r > peak)
          peak = r;
      }
    }
  }
  return peak > 0 ? peak : single;
}

int64_t media__span_average(const void *items, size_t n, media__span_fn get, int64_t timescale)
{
  uint64_t bytes = 0;
  int64_t ticks = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t b;
    int64_t d;
    get(items, i, &b, &d);
    if (d <= 0)
      continue;
    bytes += b;
    ticks += d;
  }
  return rate_of(bytes, ticks, timescale);
}

int64_t media__rendition_peak(const media__rendition *r, int target)
{
  if (r->peak_bitrate > 0)
    return r->peak_bitrate;
  return media__span_peak(r->segments, r->segment_count, media__segment_span, r->timescale, target);
}

int64_t media__rendition_average(const media__rendition *r)
{
  if (r->average_bitrate > 0)
    return r->average_bitrate;
  return media__span_average(r->segments, r->segment_count, media__segment_span, r->timescale);
}

void media__package_measure(media__package *p)
{
  if (!p || !p->renditions)
    return;
  int target = media__package_target(p);
  for (size_t k = 0; k < p->rendition_count; k++) {
    media__rendition *r = &p->renditions[k];
    r->peak_bitrate =
        media__span_peak(r->segments, r->segment_count, media__segment_span, r->timescale, target);
    r->average_bitrate =
        media__span_average(r->segments, r->segment_count, media__segment_span, r->timescale);
  }
}

void media__package_clear(media__package *p)
{
  if (!p)
    return;
  for (size_t k = 0; p->renditions && k < p->rendition_count; k++) {
    free(p->renditions[k].segments);
    free(p->renditions[k].keyframes);
  }
  free(p->renditions);
  for (size_t k = 0; p->texts && k < p->text_count; k++)
    media__text_clear(&p->texts[k]);
  free(p->texts);
  memset(p, 0, sizeof(*p));
}

/* ---- validation ---------------------------------------------------------- */

static int name_char(int c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

/* A NUL-terminated field of a fixed array, or NULL when it is not terminated. */
static const char *field(const char *a, size_t cap)
{
  return memchr(a, '\0', cap) ? a : NULL;
}

/* A path component: [A-Za-z0-9._-]+, not "." or "..". */
static int check_component(const char *what, const char *id, const char *a, size_t cap)
{
  const char *s = field(a, cap);
  if (!s)
    return stream__err(STREAM_EINVAL, "rendition '%s': %s is not NUL-terminated", id, what);
  if (!*s)
    return stream__err(STREAM_EINVAL, "rendition '%s': %s is empty", id, what);
  if (!strcmp(s, ".") || !strcmp(s, ".."))
    return stream__err(STREAM_EINVAL, "rendition '%s': %s '%s' is not a file name", id, what, s);
  for (const char *c = s; *c; c++)
    if (!name_char((unsigned char)*c))
      return stream__err(STREAM_EINVAL,
                         "rendition '%s': %s '%s' has a character outside [A-Za-z0-9._-]", id, what,
                         s);
  return STREAM_OK;
}

typedef struct pattern {
  size_t prefix_len;
  int zero;
  int width;
  const char *suffix;
} pattern;

/* "prefix%[0][width]usuffix", prefix and suffix made of name characters. */
static int parse_pattern(pattern *out, const char *s)
{
  const char *pct = strchr(s, '%');
  if (!pct)
    return -1;
  for (const char *c = s; c < pct; c++)
    if (!name_char((unsigned char)*c))
      return -1;
  const char *c = pct + 1;
  out->zero = 0;
  out->width = 0;
  if (*c == '0') {
    out->zero = 1;
    c++;
  }
  int digits = 0;
  while (*c >= '0' && *c <= '9') {
    out->width = out->width * 10 + (*c - '0');
    c++;
    if (++digits > 2)
      return -1;
  }
  if (*c != 'u' || (digits && !out->zero)) /* space padding is no file name */
    return -1;
  out->prefix_len = (size_t)(pct - s);
  out->suffix = c + 1;
  for (c = out->suffix; *c; c++)
    if (!name_char((unsigned char)*c))
      return -1;
  if (out->prefix_len + strlen(out->suffix) == 0)
    return -1;
  return 0;
}

int media__segment_name(char *out, size_t cap, const media__rendition *r, size_t i)
{
  pattern pt;
  if (parse_pattern(&pt, r->segment_pattern) != 0)
    return stream__err(STREAM_EINVAL, "rendition '%s': bad segment pattern", r->id);
  unsigned long long number = (unsigned long long)r->start_number + i;
  int n = pt.zero ? snprintf(out, cap, "%.*s%0*llu%s", (int)pt.prefix_len, r->segment_pattern,
                             pt.width, number, pt.suffix)
                  : snprintf(out, cap, "%.*s%*llu%s", (int)pt.prefix_len, r->segment_pattern,
                             pt.width, number, pt.suffix);
  if (n < 0 || (size_t)n >= cap)
    return stream__err(STREAM_EINVAL, "rendition '%s': segment name too long", r->id);
  return STREAM_OK;
}

int media__segment_template(char *out, size_t cap, const media__rendition *r)
{
  pattern pt;
  if (parse_pattern(&pt, r->segment_pattern) != 0)
    return stream__err(STREAM_EINVAL, "rendition '%s': bad segment pattern", r->id);
  int n;
  if (pt.width > 0)
    n = snprintf(out, cap, "%.*s$Number%%%s%dd$%s", (int)pt.prefix_len, r->segment_pattern,
                 pt.zero ? "0" : "", pt.width, pt.suffix);
  else
    n = snprintf(out, cap, "%.*s$Number$%s", (int)pt.prefix_len, r->segment_pattern, pt.suffix);
  if (n < 0 || (size_t)n >= cap)
    return stream__err(STREAM_EINVAL, "rendition '%s': segment template too long", r->id);
  return STREAM_OK;
}

/* Kind implied by an RFC 6381 codec string, 0 if unknown. */
static int codec_kind(const char *codecs)
{
  static const char *const video[] = {"avc1", "avc3", "hvc1", "hev1", "av01",
                                      "vp09", "dvh1", "dvhe", "dva1", "dvav"};
  static const char *const audio[] = {"mp4a", "ac-3", "ec-3", "ac-4", "opus", "fLaC", "alac"};
  for (size_t i = 0; i < sizeof(video) / sizeof(video[0]); i++)
    if (!strncmp(codecs, video[i], 4))
      return MEDIA__VIDEO;
  for (size_t i = 0; i < sizeof(audio) / sizeof(audio[0]); i++)
    if (!strncmp(codecs, audio[i], 4))
      return MEDIA__AUDIO;
  return 0;
}

static int check_segments(const media__rendition *r)
{
  if (!r->segments || r->segment_count == 0)
    return stream__err(STREAM_EINVAL, "rendition '%s' has no segments", r->id);
  if (r->segment_count - 1 > (size_t)(UINT_MAX - r->start_number))
    return stream__err(STREAM_EINVAL, "rendition '%s': segment numbers overflow", r->id);
  for (size_t i = 0; i < r->segment_count; i++) {
    const media__segment *s = &r->segments[i];
    if (s->duration <= 0)
      return stream__err(STREAM_EINVAL,
                         "rendition '%s': segment %zu has duration %lld (must be > 0)", r->id, i,
                         (long long)s->duration);
    if (s->bytes == 0)
      return stream__err(STREAM_EINVAL, "rendition '%s': segment %zu is empty (0 bytes)", r->id, i);
    if (s->start < 0)
      return stream__err(STREAM_EINVAL, "rendition '%s': segment %zu starts at %lld (negative)",
                         r->id, i, (long long)s->start);
    if (i > 0 && s->start <= r->segments[i - 1].start)
      return stream__err(STREAM_EINVAL,
                         "rendition '%s': segment %zu starts at %lld, not after segment %zu (%lld)",
                         r->id, i, (long long)s->start, i - 1, (long long)r->segments[i - 1].start);
  }
  return STREAM_OK;
}

static int check_keyframes(const media__rendition *r)
{
  if (r->kind == MEDIA__AUDIO) {
    if (r->keyframe_count)
      return stream__err(
          STREAM_EINVAL,
          "audio rendition '%s' has %zu key frames (only video has I-frame playlists)", r->id,
          r->keyframe_count);
    return STREAM_OK;
  }
  if (!r->keyframes || r->keyframe_count == 0)
    return stream__err(STREAM_EINVAL,
                       "video rendition '%s' has no key frames (needed for its I-frame playlist)",
                       r->id);
  for (size_t i = 0; i < r->keyframe_count; i++) {
    const media__keyframe *k = &r->keyframes[i];
    if (k->duration <= 0)
      return stream__err(STREAM_EINVAL, "rendition '%s': key frame %zu has duration %lld", r->id, i,
                         (long long)k->duration);
    if (k->segment >= r->segment_count)
      return stream__err(STREAM_EINVAL, "rendition '%s': key frame %zu is in segment %zu of %zu",
                         r->id, i, k->segment, r->segment_count);
    if (k->length == 0 || k->offset > r->segments[k->segment].bytes ||
        k->length > r->segments[k->segment].bytes - k->offset)
      return stream__err(STREAM_EINVAL,
                         "rendition '%s': key frame %zu byte range %llu@%llu is outside segment "
                         "%zu (%llu bytes)",
                         r->id, i, (unsigned long long)k->length, (unsigned long long)k->offset,
                         k->segment, (unsigned long long)r->segments[k->segment].bytes);
    if (i > 0 && (k->time <= r->keyframes[i - 1].time || k->segment < r->keyframes[i - 1].segment))
      return stream__err(STREAM_EINVAL, "rendition '%s': key frame %zu is out of order", r->id, i);
  }
  return STREAM_OK;
}

static int check_text(const media__rendition *r, const char *what, const char *a, size_t cap,
                      int lang)
{
  const char *s = field(a, cap);
  if (!s)
    return stream__err(STREAM_EINVAL, "rendition '%s': %s is not NUL-terminated", r->id, what);
  for (const char *c = s; *c; c++) {
    unsigned char u = (unsigned char)*c;
    int ok = lang ? ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
                     u == '-')
                  : (u >= 0x20 && u != 0x7f && u != '"');
    if (!ok)
      return stream__err(STREAM_EINVAL, "rendition '%s': %s has a forbidden character 0x%02x",
                         r->id, what, u);
  }
  return STREAM_OK;
}

static int check_rendition(const media__rendition *r, size_t k)
{
  int rc;
  const char *id = field(r->id, sizeof(r->id));
  if (!id || !*id)
    return stream__err(STREAM_EINVAL, "rendition %zu has no id", k);
  for (const char *c = id; *c; c++)
    if (!name_char((unsigned char)*c) || *c == '.')
      return stream__err(STREAM_EINVAL, "rendition id '%s' has a character outside [A-Za-z0-9_-]",
                         id);
  if (r->kind != MEDIA__VIDEO && r->kind != MEDIA__AUDIO)
    return stream__err(STREAM_EINVAL, "rendition '%s' has unknown kind %d", id, r->kind);
  const char *kind = r->kind == MEDIA__VIDEO ? "video" : "audio";
  if ((rc = check_component("dir", id, r->dir, sizeof(r->dir))) ||
      (rc = check_component("init_name", id, r->init_name, sizeof(r->init_name))))
    return rc;
  const char *pat = field(r->segment_pattern, sizeof(r->segment_pattern));
  pattern pt;
  if (!pat || parse_pattern(&pt, pat) != 0)
    return stream__err(STREAM_EINVAL,
                       "rendition '%s': segment_pattern must be a file name with one %%u "
                       "(e.g. seg_%%05u.m4s)",
                       id);
  const char *codecs = field(r->codecs, sizeof(r->codecs));
  if (!codecs || !*codecs)
    return stream__err(STREAM_EINVAL, "rendition '%s' has no codecs string (RFC 6381)", id);
  for (const char *c = codecs; *c; c++)
    if (!name_char((unsigned char)*c) && *c != '+')
      return stream__err(STREAM_EINVAL, "rendition '%s': codecs '%s' is not one RFC 6381 codec", id,
                         codecs);
  int ck = codec_kind(codecs);
  if (ck && ck != r->kind)
    return stream__err(STREAM_EINVAL, "rendition '%s' is %s but its codec '%s' is %s", id, kind,
                       codecs, ck == MEDIA__VIDEO ? "video" : "audio");
  if (r->timescale <= 0)
    return stream__err(STREAM_EINVAL, "rendition '%s' has timescale %lld (must be > 0)", id,
                       (long long)r->timescale);
  if (r->peak_bitrate < 0 || r->average_bitrate < 0)
    return stream__err(STREAM_EINVAL, "rendition '%s' has a negative measured bit rate", id);
  if (r->kind == MEDIA__VIDEO) {
    if (r->width <= 0 || r->height <= 0 || r->width > 16384 || r->height > 16384)
      return stream__err(STREAM_EINVAL, "video rendition '%s' has size %dx%d", id, r->width,
                         r->height);
    if (r->fps_num <= 0 || r->fps_den <= 0)
      return stream__err(STREAM_EINVAL, "video rendition '%s' has frame rate %d/%d", id, r->fps_num,
                         r->fps_den);
    if (r->sar_num < 0 || r->sar_den < 0 || (r->sar_num == 0) != (r->sar_den == 0))
      return stream__err(STREAM_EINVAL, "video rendition '%s' has sample aspect ratio %d:%d", id,
                         r->sar_num, r->sar_den);
  } else {
    if (r->sample_rate < 0 || r->channels < 0)
      return stream__err(STREAM_EINVAL, "audio rendition '%s' has %d Hz, %d channels", id,
                         r->sample_rate, r->channels);
    if (r->width || r->height || r->fps_num)
      return stream__err(STREAM_EINVAL,
                         "audio rendition '%s' has video fields (size %dx%d, fps %d/%d)", id,
                         r->width, r->height, r->fps_num, r->fps_den);
  }
  if ((rc = check_text(r, "language", r->language, sizeof(r->language), 1)) ||
      (rc = check_text(r, "name", r->name, sizeof(r->name), 0)))
    return rc;
  if ((rc = check_segments(r)) || (rc = check_keyframes(r)))
    return rc;
  return STREAM_OK;
}

int media__package_validate(const char *outdir, const media__package *p)
{
  if (!outdir || !*outdir)
    return stream__err(STREAM_EINVAL, "output directory is NULL or empty");
  if (!p)
    return stream__err(STREAM_EINVAL, "package is NULL");
  if (!p->renditions || p->rendition_count == 0)
    return stream__err(STREAM_EINVAL, "package has no renditions");
  if (p->rendition_count > MEDIA__MAX_RENDITIONS)
    return stream__err(STREAM_EINVAL, "package has %zu renditions (at most %d)", p->rendition_count,
                       MEDIA__MAX_RENDITIONS);
  if (!(p->duration >= 0.0) || !isfinite(p->duration))
    return stream__err(STREAM_EINVAL, "package duration %g is not a finite value >= 0",
                       p->duration);
  size_t videos = 0;
  for (size_t k = 0; k < p->rendition_count; k++) {
    const media__rendition *r = &p->renditions[k];
    int rc = check_rendition(r, k);
    if (rc)
      return rc;
    videos += r->kind == MEDIA__VIDEO;
    for (size_t j = 0; j < k; j++) {
      const media__rendition *o = &p->renditions[j];
      if (!strcmp(o->id, r->id))
        return stream__err(STREAM_EINVAL, "two renditions have the id '%s'", r->id);
      if (!strcmp(o->dir, r->dir))
        return stream__err(STREAM_EINVAL, "renditions '%s' and '%s' share the directory '%s'",
                           o->id, r->id, r->dir);
      if (r->kind == MEDIA__AUDIO && o->kind == MEDIA__AUDIO && r->name[0] &&
          !strcmp(o->name, r->name) && !strcmp(o->language, r->language))
        return stream__err(STREAM_EINVAL, "audio renditions '%s' and '%s' have the same name '%s'",
                           o->id, r->id, r->name);
    }
  }
  if (!videos)
    return stream__err(STREAM_EINVAL, "package has no video rendition");
  return STREAM_OK;
}

/* ---- atomic writes ------------------------------------------------------- */

int media__write_file(const char *outdir, const char *rel, const char *data, size_t len)
{
  size_t need = strlen(outdir) + strlen(rel) + 16;
  char *path = malloc(need), *tmp = malloc(need);
  int rc = STREAM_OK, fd = -1;
  if (!path || !tmp) {
    rc = stream__err(STREAM_ENOMEM, "out of memory writing %s", rel);
    goto out;
  }
  snprintf(path, need, "%s/%s", outdir, rel);
  snprintf(tmp, need, "%s.tmpXXXXXX", path);
  fd = mkstemp(tmp);
  if (fd < 0) {
    rc =
        stream__err(STREAM_EIO, "cannot create a temporary file for %s: %s", path, strerror(errno));
    goto out;
  }
  size_t off = 0;
  while (off < len) {
    ssize_t n = write(fd, data + off, len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      rc = stream__err(STREAM_EIO, "cannot write %s: %s", path, strerror(n < 0 ? errno : EIO));
      goto fail;
    }
    off += (size_t)n;
  }
  if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
    rc = stream__err(STREAM_EIO, "cannot finish %s: %s", path, strerror(errno));
    goto fail;
  }
  if (close(fd) != 0) {
    fd = -1;
    rc = stream__err(STREAM_EIO, "cannot close %s: %s", path, strerror(errno));
    goto fail;
  }
  fd = -1;
  if (rename(tmp, path) != 0) {
    rc = stream__err(STREAM_EIO, "cannot rename %s into place: %s", path, strerror(errno));
    goto fail;
  }
  goto out;
fail:
  if (fd >= 0)
    close(fd);
  unlink(tmp);
out:
  free(path);
  free(tmp);
  return rc;
}
