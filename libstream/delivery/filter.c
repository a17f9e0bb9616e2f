/*
 * Manifests served under a rendition cap: the multivariant HLS playlist and
 * the DASH MPD that media/ wrote, with every video rendition taller than the
 * cap left out. Text in, text out; the files on disk stay untouched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "stream/delivery.h"

/* Value of attribute `name` in an HLS attribute list (after the ':'), or NULL. */
static const char *hls_attr(const char *list, const char *end, const char *name, size_t *vlen)
{
  size_t nl = strlen(name);
  const char *p = list;
  while (p < end) {
    const char *eq = p;
    while (eq < end && *eq != '=' && *eq != ',')
      eq++;
    if (eq >= end || *eq != '=')
      return NULL;
    const char *v = eq + 1, *ve = v;
    if (ve < end && *ve == '"') {
      ve++;
      while (ve < end && *ve != '"')
        ve++;
      if (ve < end)
        ve++;
    } else {
      while (ve < end && *ve != ',')
        ve++;
    }
    if ((size_t)(eq - p) == nl && strncmp(p, name, nl) == 0) {
      *vlen = (size_t)(ve - v);
      return v;
    }
    p = ve < end ? ve + 1 : end;
  }
  return NULL;
}

/* Height of RESOLUTION=WxH in a tag line, 0 when absent. */
static long hls_height(const char *line, const char *end)
{
  const char *colon = memchr(line, ':', (size_t)(end - line));
  if (!colon)
    return 0;
  size_t vlen = 0;
  const char *v = hls_attr(colon + 1, end, "RESOLUTION", &vlen);
  if (!v)
    return 0;
  const char *x = memchr(v, 'x', vlen);
  return x ? strtol(x + 1, NULL, 10) : 0;
}

static int starts(const char *line, const char *end, const char *tag)
{
  size_t n = strlen(tag);
  return (size_t)(end - line) >= n && strncmp(line, tag, n) == 0;
}

int stream_delivery_filter_hls(char **out, const char *text, int max_height)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_delivery_filter_hls: out is NULL");
  *out = NULL;
  if (!text || max_height < 0)
    return stream__err(STREAM_EINVAL, "stream_delivery_filter_hls: %s",
                       !text ? "text is NULL" : "negative cap");
  if (strncmp(text, "#EXTM3U", 7) != 0)
    return stream__err(STREAM_EINVAL, "stream_delivery_filter_hls: not an HLS playlist");
  stream__buf b;
  stream__buf_init(&b);
  int skip_uri = 0;
  const char *line = text;
  while (*line) {
    const char *nl = strchr(line, '\n');
    const char *next = nl ? nl + 1 : line + strlen(line);
    const char *end = nl ? nl : next;
    if (end > line && end[-1] == '\r')
      end--;
    int keep = 1;
    if (skip_uri) {
      /* The URI line of a dropped EXT-X-STREAM-INF: the next line not starting with '#'. */
      if (end > line && line[0] != '#') {
        keep = 0;
        skip_uri = 0;
      } else if (end == line) {
        keep = 0;
      }
    } else if (max_height > 0 && starts(line, end, "#EXT-X-STREAM-INF:")) {
      if (hls_height(line, end) > max_height) {
        keep = 0;
        skip_uri = 1;
      }
    } else if (max_height > 0 && starts(line, end, "#EXT-X-I-FRAME-STREAM-INF:")) {
      if (hls_height(line, end) > max_height)
        keep = 0;
    }
    if (keep)
      stream__buf_append(&b, line, (size_t)(next - line));
    line = next;
  }
  return stream__buf_detach(&b, out);
}

/* Numeric value of XML attribute `name` inside a start tag [tag, end), or -1. */
static long xml_attr(const char *tag, const char *end, const char *name)
{
  size_t nl = strlen(name);
  for (const char *p = tag + 1; p + nl + 2 < end; p++) {
    if ((p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n') && strncmp(p, name, nl) == 0 &&
        p[nl] == '=' && p[nl + 1] == '"')
      return strtol(p + nl + 2, NULL, 10);
  }
  return -1;
}

/* End of the start tag beginning at `lt` (just past '>'), quotes respected. */
static const char *tag_end(const char *lt)
{
  int q = 0;
  for (const char *p = lt; *p; p++) {
    if (*p == '"')
      q = !q;
    else if (*p == '>' && !q)
      return p + 1;
  }
  return NULL;
}

/* Append a start tag, replacing the values of maxWidth / maxHeight when given (>= 0). */
static void put_set_tag(stream__buf *b, const char *tag, const char *end, long mw, long mh)
{
  const char *p = tag;
  while (p < end) {
    const char *hit = NULL;
    long val = 0;
    size_t nl = 0;
    for (const char *s = p; s < end; s++) {
      if (mw >= 0 && strncmp(s, " maxWidth=\"", 11) == 0) {
        hit = s, val = mw, nl = 11;
        break;
      }
      if (mh >= 0 && strncmp(s, " maxHeight=\"", 12) == 0) {
        hit = s, val = mh, nl = 12;
        break;
      }
    }
    if (!hit) {
      stream__buf_append(b, p, (size_t)(end - p));
      return;
    }
    stream__buf_append(b, p, (size_t)(hit - p) + nl);
    stream__buf_printf(b, "%ld\"", val);
    const char *q = memchr(hit + nl, '"', (size_t)(end - hit - (ptrdiff_t)nl));
    p = q ? q + 1 : end;
  }
}

int stream_delivery_filter_dash(char **out, const char *text, int max_height)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "stream_delivery_filter_dash: out is NULL");
  *out = NULL;
  if (!text || max_height < 0)
    return stream__err(STREAM_EINVAL, "stream_delivery_filter_dash: %s",
                       !text ? "text is NULL" : "negative cap");
  if (!strstr(text, "<MPD"))
    return stream__err(STREAM_EINVAL, "stream_delivery_filter_dash: not a DASH MPD");
  stream__buf b;
  stream__buf_init(&b);
  const char *p = text;
  while (max_height > 0) {
    const char *set = strstr(p, "<AdaptationSet");
    if (!set)
      break;
    const char *set_tag_end = tag_end(set);
    const char *set_close = set_tag_end ? strstr(set_tag_end, "</AdaptationSet>") : NULL;
    if (!set_close)
      break;
    /* Copy up to the set's line start, then rebuild the set. */
    const char *line_start = set;
    while (line_start > p && (line_start[-1] == ' ' || line_start[-1] == '\t'))
      line_start--;
    stream__buf_append(&b, p, (size_t)(line_start - p));
    stream__buf body;
    stream__buf_init(&body);
    long mw = 0, mh = 0;
    size_t kept = 0, dropped = 0;
    const char *q = set_tag_end;
    while (1) {
      const char *rep = strstr(q, "<Representation");
      if (!rep || rep > set_close)
        break;
      const char *rep_tag_end = tag_end(rep);
      if (!rep_tag_end || rep_tag_end > set_close)
        break;
      const char *rep_end = rep_tag_end;
      if (rep_tag_end[-2] != '/') {
        const char *c = strstr(rep_tag_end, "</Representation>");
        if (!c || c > set_close)
          break;
        rep_end = c + strlen("</Representation>");
      }
      const char *rs = rep;
      while (rs > q && (rs[-1] == ' ' || rs[-1] == '\t'))
        rs--;
      const char *re = rep_end;
      if (*re == '\n')
        re++;
      long h = xml_attr(rep, rep_tag_end, "height");
      stream__buf_append(&body, q, (size_t)(rs - q));
      if (h > max_height) {
        dropped++;
      } else {
        kept++;
        long w = xml_attr(rep, rep_tag_end, "width");
        if (h > mh)
          mh = h;
        if (w > mw)
          mw = w;
        stream__buf_append(&body, rs, (size_t)(re - rs));
      }
      q = re;
    }
    const char *set_end = set_close + strlen("</AdaptationSet>");
    if (*set_end == '\n')
      set_end++;
    if (kept > 0 || dropped == 0) {
      stream__buf_append(&b, line_start, (size_t)(set - line_start));
      put_set_tag(&b, set, set_tag_end, dropped ? mw : -1, dropped ? mh : -1);
      if (body.data)
        stream__buf_append(&b, body.data, body.len);
      stream__buf_append(&b, q, (size_t)(set_end - q));
    }
    if (body.failed)
      b.failed = true;
    stream__buf_free(&body);
    p = set_end;
  }
  stream__buf_puts(&b, p);
  return stream__buf_detach(&b, out);
}
