/*
 * media subtitles added after the transcode: stream_media_subtitles_add()
 * turns a packaged title plus one subtitle file into a new packaged title.
 *
 * The manifests are written by the same writers as a transcode job's
 * (manifest_hls.c, manifest_dash.c) from a media__package rebuilt out of the
 * source's summary.json, whose "packaging" entries (written here, for
 * job.c) keep the exact index: names, segment and key frame times in ticks,
 * byte sizes. The new track's WebVTT files come from subs.c / subs_vtt.c.
 * The unchanged files are hard-linked into a staging directory renamed into
 * place at the end, so the source asset is never touched and players holding
 * its manifests keep playing.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "package_util.h"
#include "stream/media.h"

#define SUMMARY_MAX (64u << 20) /* a day of 2 s segments in 16 renditions is ~ 10 MiB */

/* ---- shared with job.c ------------------------------------------------------ */

void media__text_id(media__text *t, const char *language, const media__text *others, size_t n)
{
  char base[32];
  size_t w = (size_t)snprintf(base, sizeof base, "sub_");
  for (const char *c = language; *c && w < 30; c++)
    base[w++] = *c == '-' ? '_' : (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') : *c;
  base[w] = 0;
  snprintf(t->id, sizeof t->id, "%s", base);
  for (unsigned dup = 2; dup < 100; dup++) {
    int taken = 0;
    for (size_t k = 0; k < n; k++)
      taken |= &others[k] != t && !strcmp(others[k].id, t->id);
    if (!taken)
      break;
    snprintf(t->id, sizeof t->id, "%.30s_%u", base, dup % 100u);
  }
  snprintf(t->vtt_name, sizeof t->vtt_name, "%s.vtt", t->id);
}

cJSON *media__text_json(const media__text *t, const char *source)
{
  cJSON *x = cJSON_CreateObject();
  char buf[128];
  if (!x)
    return NULL;
  cJSON_AddStringToObject(x, "id", t->id);
  cJSON_AddStringToObject(x, "kind", "text");
  cJSON_AddStringToObject(x, "dir", t->id);
  cJSON_AddStringToObject(x, "codecs", "wvtt");
  cJSON_AddStringToObject(x, "language", t->language);
  cJSON_AddStringToObject(x, "name", t->name);
  cJSON_AddBoolToObject(x, "default", t->is_default);
  cJSON_AddBoolToObject(x, "forced", t->forced);
  cJSON_AddStringToObject(x, "source", source ? source : "");
  cJSON_AddNumberToObject(x, "cues", (double)t->cue_count);
  cJSON_AddNumberToObject(x, "mpegts", (double)t->mpegts);
  cJSON_AddStringToObject(x, "vtt", t->vtt_name);
  snprintf(buf, sizeof buf, "%s/index.m3u8", t->id);
  cJSON_AddStringToObject(x, "playlist", buf);
  cJSON *segs = cJSON_AddArrayToObject(x, "segments");
  cJSON *files = cJSON_CreateArray();
  cJSON_AddItemToArray(files, cJSON_CreateString(t->vtt_name));
  for (size_t k = 0; k < t->segment_count; k++) {
    cJSON *sj = cJSON_CreateObject();
    snprintf(buf, sizeof buf, "%s/seg_%05u.vtt", t->id, (unsigned)(t->start_number + k));
    cJSON_AddStringToObject(sj, "file", buf);
    cJSON_AddNumberToObject(sj, "start", (double)t->segments[k].start / 1000.0);
    cJSON_AddNumberToObject(sj, "duration", (double)t->segments[k].duration / 1000.0);
    cJSON_AddNumberToObject(sj, "bytes", (double)t->segments[k].bytes);
    cJSON_AddItemToArray(segs, sj);
    cJSON_AddItemToArray(files, cJSON_CreateString(buf));
  }
  cJSON_AddItemToObject(x, "files", files);
  return x;
}

static cJSON *numbers(const double *v, int n)
{
  cJSON *a = cJSON_CreateArray();
  for (int i = 0; a && i < n; i++)
    cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
  return a;
}

cJSON *media__rendition_json(const media__rendition *r)
{
  cJSON *x = cJSON_CreateObject();
  if (!x)
    return NULL;
  cJSON_AddStringToObject(x, "init", r->init_name);
  cJSON_AddStringToObject(x, "pattern", r->segment_pattern);
  cJSON_AddNumberToObject(x, "start_number", r->start_number);
  cJSON_AddNumberToObject(x, "init_bytes", (double)r->init_bytes);
  cJSON_AddNumberToObject(x, "sar_num", r->sar_num);
  cJSON_AddNumberToObject(x, "sar_den", r->sar_den);
  cJSON_AddStringToObject(x, "language", r->language);
  cJSON_AddStringToObject(x, "name", r->name);
  /* [start, duration, bytes] and [time, duration, segment, offset, length]:
   * integers below 2^53, so the doubles of cJSON carry them exactly. */
  cJSON *segs = cJSON_AddArrayToObject(x, "segments");
  for (size_t i = 0; segs && i < r->segment_count; i++) {
    const media__segment *s = &r->segments[i];
    double v[3] = {(double)s->start, (double)s->duration, (double)s->bytes};
    cJSON_AddItemToArray(segs, numbers(v, 3));
  }
  cJSON *keys = cJSON_AddArrayToObject(x, "keyframes");
  for (size_t i = 0; keys && i < r->keyframe_count; i++) {
    const media__keyframe *k = &r->keyframes[i];
    double v[5] = {(double)k->time, (double)k->duration, (double)k->segment, (double)k->offset,
                   (double)k->length};
    cJSON_AddItemToArray(keys, numbers(v, 5));
  }
  return x;
}

/* ---- summary.json back into a media__package --------------------------------- */

typedef struct reader {
  const char *where; /* summary path, for messages */
  int rc;
} reader;

static int bad(reader *rd, const char *what)
{
  if (rd->rc == STREAM_OK)
    rd->rc = stream__err(STREAM_EMEDIA, "%s: %s", rd->where, what);
  return rd->rc;
}

static double num(reader *rd, const cJSON *o, const char *key, double lo, double hi)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsNumber(v) || !(v->valuedouble >= lo && v->valuedouble <= hi)) {
    char m[96];
    snprintf(m, sizeof m, "'%s' is missing or out of range", key);
    bad(rd, m);
    return 0;
  }
  return v->valuedouble;
}

static int64_t integer(double d)
{
  return (int64_t)(d >= 0 ? d + 0.5 : d - 0.5);
}

static void str(reader *rd, char *dst, size_t cap, const cJSON *o, const char *key, int required)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  dst[0] = 0;
  if (!cJSON_IsString(v)) {
    if (required) {
      char m[96];
      snprintf(m, sizeof m, "'%s' is missing", key);
      bad(rd, m);
    }
    return;
  }
  if (strlen(v->valuestring) >= cap) {
    char m[96];
    snprintf(m, sizeof m, "'%s' is too long", key);
    bad(rd, m);
    return;
  }
  memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
}

/* One array item of `n` numbers. */
static int tuple(reader *rd, const cJSON *item, double *out, int n)
{
  if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) != n)
    return bad(rd, "a packaging index entry is malformed");
  const cJSON *v;
  int i = 0;
  cJSON_ArrayForEach(v, item)
  {
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9007199254740992.0)
      return bad(rd, "a packaging index entry is malformed");
    out[i++] = v->valuedouble;
  }
  return STREAM_OK;
}

static int read_rendition(reader *rd, media__rendition *r, const cJSON *x)
{
  char kind[16];
  str(rd, kind, sizeof kind, x, "kind", 1);
  r->kind = !strcmp(kind, "video") ? MEDIA__VIDEO : !strcmp(kind, "audio") ? MEDIA__AUDIO : 0;
  if (!r->kind)
    return bad(rd, "a rendition has an unknown kind");
  str(rd, r->id, sizeof r->id, x, "id", 1);
  str(rd, r->dir, sizeof r->dir, x, "dir", 1);
  str(rd, r->codecs, sizeof r->codecs, x, "codecs", 1);
  r->target_bitrate = integer(num(rd, x, "target_bitrate", 0, 1e12));
  r->average_bitrate = integer(num(rd, x, "average_bitrate", 0, 1e12));
  r->peak_bitrate = integer(num(rd, x, "peak_bitrate", 0, 1e12));
  r->timescale = integer(num(rd, x, "timescale", 1, 1e9));
  if (r->kind == MEDIA__VIDEO) {
    r->width = (int)num(rd, x, "width", 1, 16384);
    r->height = (int)num(rd, x, "height", 1, 16384);
    char fps[32];
    str(rd, fps, sizeof fps, x, "fps", 1);
    if (rd->rc == STREAM_OK && sscanf(fps, "%d/%d", &r->fps_num, &r->fps_den) != 2)
      return bad(rd, "a video rendition's 'fps' is not N/D");
  } else {
    r->sample_rate = (int)num(rd, x, "sample_rate", 0, 1e6);
    r->channels = (int)num(rd, x, "channels", 0, 64);
  }
  const cJSON *pk = cJSON_GetObjectItemCaseSensitive(x, "packaging");
  if (!cJSON_IsObject(pk))
    return bad(rd, "the renditions have no packaging index (the title was packaged by an older "
                   "libstream: transcode it again)");
  str(rd, r->init_name, sizeof r->init_name, pk, "init", 1);
  str(rd, r->segment_pattern, sizeof r->segment_pattern, pk, "pattern", 1);
  str(rd, r->language, sizeof r->language, pk, "language", 0);
  str(rd, r->name, sizeof r->name, pk, "name", 0);
  r->start_number = (unsigned)num(rd, pk, "start_number", 0, 1e9);
  r->init_bytes = (uint64_t)num(rd, pk, "init_bytes", 0, 9e15);
  r->sar_num = (int)num(rd, pk, "sar_num", 0, 1e6);
  r->sar_den = (int)num(rd, pk, "sar_den", 0, 1e6);
  if (rd->rc)
    return rd->rc;
  const cJSON *segs = cJSON_GetObjectItemCaseSensitive(pk, "segments");
  const cJSON *keys = cJSON_GetObjectItemCaseSensitive(pk, "keyframes");
  if (!cJSON_IsArray(segs) || !cJSON_IsArray(keys) || cJSON_GetArraySize(segs) < 1)
    return bad(rd, "a rendition's packaging index has no segments");
  size_t ns = (size_t)cJSON_GetArraySize(segs), nk = (size_t)cJSON_GetArraySize(keys);
  r->segments = calloc(ns, sizeof *r->segments);
  r->keyframes = nk ? calloc(nk, sizeof *r->keyframes) : NULL;
  if (!r->segments || (nk && !r->keyframes))
    return rd->rc = stream__err(STREAM_ENOMEM, "media subtitles: out of memory");
  const cJSON *it;
  double v[5];
  cJSON_ArrayForEach(it, segs)
  {
    if (tuple(rd, it, v, 3))
      return rd->rc;
    media__segment *s = &r->segments[r->segment_count++];
    s->start = integer(v[0]);
    s->duration = integer(v[1]);
    s->bytes = (uint64_t)integer(v[2]);
  }
  cJSON_ArrayForEach(it, keys)
  {
    if (tuple(rd, it, v, 5))
      return rd->rc;
    media__keyframe *k = &r->keyframes[r->keyframe_count++];
    k->time = integer(v[0]);
    k->duration = integer(v[1]);
    k->segment = (size_t)integer(v[2]);
    k->offset = (uint64_t)integer(v[3]);
    k->length = (uint64_t)integer(v[4]);
  }
  return STREAM_OK;
}

static int read_text(reader *rd, media__text *t, const cJSON *x)
{
  str(rd, t->id, sizeof t->id, x, "id", 1);
  str(rd, t->vtt_name, sizeof t->vtt_name, x, "vtt", 1);
  str(rd, t->language, sizeof t->language, x, "language", 1);
  str(rd, t->name, sizeof t->name, x, "name", 1);
  t->is_default = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "default"));
  t->forced = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(x, "forced"));
  t->mpegts = integer(num(rd, x, "mpegts", 0, 9e15));
  t->start_number = 1;
  /* the id names a directory and the vtt a file of the output: nothing else */
  char want[sizeof t->vtt_name];
  snprintf(want, sizeof want, "%.40s.vtt", t->id);
  int ok = t->id[0] != 0 && strcmp(want, t->vtt_name) == 0;
  for (const char *c = t->id; *c && ok; c++)
    ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_';
  if (!rd->rc && !ok)
    return bad(rd, "a subtitle track id is not [a-z0-9_] or its vtt is not <id>.vtt");
  const cJSON *segs = cJSON_GetObjectItemCaseSensitive(x, "segments");
  if (rd->rc || !cJSON_IsArray(segs) || cJSON_GetArraySize(segs) < 1)
    return bad(rd, "a subtitle track has no segments");
  t->segments = calloc((size_t)cJSON_GetArraySize(segs), sizeof *t->segments);
  if (!t->segments)
    return rd->rc = stream__err(STREAM_ENOMEM, "media subtitles: out of memory");
  const cJSON *it;
  cJSON_ArrayForEach(it, segs)
  {
    media__segment *s = &t->segments[t->segment_count++];
    s->start = integer(num(rd, it, "start", 0, 1e9) * 1000.0);
    s->duration = integer(num(rd, it, "duration", 0, 1e9) * 1000.0);
    s->bytes = (uint64_t)num(rd, it, "bytes", 0, 9e15);
  }
  return rd->rc;
}

/* Fill `p` (renditions and texts, room for one more text) from `summary`. */
static int read_package(media__package *p, const cJSON *summary, const char *where)
{
  reader rd = {where, STREAM_OK};
  memset(p, 0, sizeof *p);
  p->duration = num(&rd, summary, "duration", 0, 1e9);
  p->segment_target = num(&rd, summary, "segment_target", 0, 1e6);
  const cJSON *rs = cJSON_GetObjectItemCaseSensitive(summary, "renditions");
  const cJSON *ts = cJSON_GetObjectItemCaseSensitive(summary, "subtitles");
  if (rd.rc || !cJSON_IsArray(rs) || cJSON_GetArraySize(rs) < 1 || cJSON_GetArraySize(rs) > 64)
    return bad(&rd, "no renditions");
  if (ts && !cJSON_IsArray(ts))
    return bad(&rd, "'subtitles' is not an array");
  size_t nt = ts ? (size_t)cJSON_GetArraySize(ts) : 0;
  if (nt > STREAM_MEDIA_MAX_SUBTITLES)
    return bad(&rd, "too many subtitle tracks");
  p->renditions = calloc((size_t)cJSON_GetArraySize(rs), sizeof *p->renditions);
  p->texts = calloc(nt + 1, sizeof *p->texts);
  if (!p->renditions || !p->texts)
    return stream__err(STREAM_ENOMEM, "media subtitles: out of memory");
  const cJSON *it;
  cJSON_ArrayForEach(it, rs)
  {
    if (read_rendition(&rd, &p->renditions[p->rendition_count++], it))
      return rd.rc;
  }
  cJSON_ArrayForEach(it, ts)
  {
    if (read_text(&rd, &p->texts[p->text_count++], it))
      return rd.rc;
  }
  return STREAM_OK;
}

/* ---- files ------------------------------------------------------------------ */

static char *read_file(const char *path, int *rc)
{
  FILE *f = fopen(path, "rbe");
  if (!f) {
    *rc = stream__err(errno == ENOENT ? STREAM_ENOTFOUND : STREAM_EIO,
                      "media subtitles: cannot read %s: %s", path, strerror(errno));
    return NULL;
  }
  stream__buf b;
  stream__buf_init(&b);
  char chunk[16384];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b.len <= SUMMARY_MAX)
    stream__buf_append(&b, chunk, n);
  fclose(f);
  char *text = NULL;
  if (b.len > SUMMARY_MAX) {
    stream__buf_free(&b);
    *rc = stream__err(STREAM_EMEDIA, "media subtitles: %s is too large", path);
    return NULL;
  }
  *rc = stream__buf_detach(&b, &text);
  return text;
}

static int copy_file(const char *from, const char *to)
{
  int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = STREAM_OK;
  if (in >= 0)
    out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  char buf[65536];
  ssize_t n = 0;
  while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n) {
      n = -1;
      break;
    }
  if (in < 0 || out < 0 || n < 0)
    rc = stream__err(STREAM_EIO, "media subtitles: cannot copy %s: %s", from, strerror(errno));
  if (in >= 0)
    close(in);
  if (out >= 0 && close(out) != 0 && rc == STREAM_OK)
    rc = stream__err(STREAM_EIO, "media subtitles: cannot write %s", to);
  return rc;
}

/* Hard-link (or copy) the tree `src` into `dst` (existing), minus `skip` at the top. */
static int link_tree(const char *src, const char *dst, const char *const *skip, size_t nskip)
{
  DIR *d = opendir(src);
  if (!d)
    return stream__err(STREAM_EIO, "media subtitles: cannot list %s: %s", src, strerror(errno));
  int rc = STREAM_OK;
  struct dirent *e;
  while (rc == STREAM_OK && (e = readdir(d))) {
    const char *n = e->d_name;
    int skipped = !strcmp(n, ".") || !strcmp(n, "..") || strstr(n, ".tmp") != NULL;
    for (size_t i = 0; i < nskip && !skipped; i++)
      skipped = skip[i] && !strcmp(n, skip[i]);
    if (skipped)
      continue;
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/%s", src, n);
    snprintf(b, sizeof b, "%s/%s", dst, n);
    struct stat st;
    if (lstat(a, &st) != 0)
      rc = stream__err(STREAM_EIO, "media subtitles: cannot stat %s: %s", a, strerror(errno));
    else if (S_ISDIR(st.st_mode)) {
      if (mkdir(b, 0755) != 0)
        rc = stream__err(STREAM_EIO, "media subtitles: cannot create %s: %s", b, strerror(errno));
      else
        rc = link_tree(a, b, NULL, 0);
    } else if (S_ISREG(st.st_mode) && link(a, b) != 0) {
      rc = copy_file(a, b); /* another file system, or no hard links there */
    }
  }
  closedir(d);
  return rc;
}

/* ---- the call ------------------------------------------------------------------ */

/* Which track `t` replaces (same language), or p->text_count for a new one. */
static size_t slot_for(const media__package *p, const char *language)
{
  for (size_t k = 0; k < p->text_count; k++)
    if (!strcasecmp(p->texts[k].language, language))
      return k;
  return p->text_count;
}

/* The new summary: the source's with "outdir", the defaults and the track updated. */
static int new_summary(char **out, cJSON *summary, const media__package *p, size_t slot,
                       const char *outdir, const char *source)
{
  cJSON *subs = cJSON_GetObjectItemCaseSensitive(summary, "subtitles");
  if (!subs) {
    subs = cJSON_AddArrayToObject(summary, "subtitles");
    if (!subs)
      return stream__err(STREAM_ENOMEM, "media subtitles: out of memory");
  }
  cJSON *entry = media__text_json(&p->texts[slot], source);
  cJSON *od = cJSON_CreateString(outdir);
  if (!entry || !od) {
    cJSON_Delete(entry);
    cJSON_Delete(od);
    return stream__err(STREAM_ENOMEM, "media subtitles: out of memory");
  }
  cJSON_ReplaceItemInObjectCaseSensitive(summary, "outdir", od);
  if ((int)slot < cJSON_GetArraySize(subs))
    cJSON_ReplaceItemInArray(subs, (int)slot, entry);
  else
    cJSON_AddItemToArray(subs, entry);
  for (size_t k = 0; k < p->text_count; k++)
    cJSON_ReplaceItemInObjectCaseSensitive(cJSON_GetArrayItem(subs, (int)k), "default",
                                           cJSON_CreateBool(p->texts[k].is_default));
  *out = cJSON_Print(summary);
  return *out ? STREAM_OK : stream__err(STREAM_ENOMEM, "media subtitles: out of memory");
}

static int build(const char *srcdir, const char *outdir, const char *staging,
                 const stream_media_subtitle *track, cJSON *summary, media__package *p,
                 media__text *fresh)
{
  char where[4200];
  snprintf(where, sizeof where, "%s/summary.json", srcdir);
  int rc = read_package(p, summary, where);
  if (rc)
    return rc;
  size_t slot = slot_for(p, track->language);
  const char *name = track->name ? track->name : track->language;
  for (size_t k = 0; k < p->text_count; k++)
    if (k != slot && !strcmp(p->texts[k].name, name))
      return stream__err(STREAM_EINVAL,
                         "media subtitles: the %s track already has the name '%s' (HLS needs "
                         "distinct NAMEs in a group)",
                         p->texts[k].language, name);
  if (slot == p->text_count && p->text_count >= STREAM_MEDIA_MAX_SUBTITLES)
    return stream__err(STREAM_EINVAL, "media subtitles: the title already has %d tracks",
                       STREAM_MEDIA_MAX_SUBTITLES);
  char old_dir[sizeof fresh->id] = "", old_vtt[sizeof fresh->vtt_name] = "";
  if (slot < p->text_count) {
    memcpy(old_dir, p->texts[slot].id, sizeof old_dir);
    memcpy(old_vtt, p->texts[slot].vtt_name, sizeof old_vtt);
    memcpy(fresh->id, old_dir, sizeof old_dir);
    memcpy(fresh->vtt_name, old_vtt, sizeof old_vtt);
    media__text_clear(&p->texts[slot]);
  } else {
    media__text_id(fresh, track->language, p->texts, p->text_count);
    p->text_count++;
  }
  p->texts[slot] = *fresh; /* the package owns the cues from here */
  memset(fresh, 0, sizeof *fresh);
  for (size_t k = 0; track->is_default && k < p->text_count; k++)
    p->texts[k].is_default = k == slot;

  const char *skip[] = {"master.m3u8", "manifest.mpd", "summary.json", old_dir[0] ? old_dir : NULL,
                        old_vtt[0] ? old_vtt : NULL};
  if ((rc = link_tree(srcdir, staging, skip, sizeof skip / sizeof *skip)))
    return rc;
  media__package one = *p; /* write only the new track's files */
  one.texts = &p->texts[slot];
  one.text_count = 1;
  if ((rc = media__subs_write(staging, &one)) || (rc = media__write_hls(staging, p)) ||
      (rc = media__write_dash(staging, p)))
    return rc;
  char *text = NULL;
  if ((rc = new_summary(&text, summary, p, slot, outdir, track->path)))
    return rc;
  rc = media__write_file(staging, "summary.json", text, strlen(text));
  cJSON_free(text);
  return rc;
}

int stream_media_subtitles_add(const char *srcdir, const char *outdir,
                               const stream_media_subtitle *track)
{
  if (!srcdir || !*srcdir || !outdir || !*outdir)
    return stream__err(STREAM_EINVAL, "media subtitles: srcdir or outdir is NULL or empty");
  if (strlen(srcdir) > 3900 || strlen(outdir) > 3900)
    return stream__err(STREAM_EINVAL, "media subtitles: srcdir or outdir path is too long");
  int rc = media__subtitle_check(track, 0, 1);
  if (rc)
    return rc;
  char out[4000], path[4200];
  snprintf(out, sizeof out, "%s", outdir);
  for (size_t n = strlen(out); n > 1 && out[n - 1] == '/'; n--)
    out[n - 1] = 0; /* so that OUTDIR.partial-X is a sibling */
  struct stat st;
  if (stat(out, &st) == 0)
    return stream__err(STREAM_EEXIST, "media subtitles: output directory %s already exists", out);
  snprintf(path, sizeof path, "%s/summary.json", srcdir);
  char *text = read_file(path, &rc);
  if (!text)
    return rc;
  cJSON *summary = cJSON_Parse(text);
  free(text);
  if (!cJSON_IsObject(summary)) {
    cJSON_Delete(summary);
    return stream__err(STREAM_EMEDIA, "media subtitles: %s is not a JSON object", path);
  }
  /* Read the subtitle file before writing anything: a bad file fails fast. */
  media__text fresh;
  memset(&fresh, 0, sizeof fresh);
  snprintf(fresh.language, sizeof fresh.language, "%s", track->language);
  snprintf(fresh.name, sizeof fresh.name, "%s", track->name ? track->name : track->language);
  fresh.is_default = track->is_default;
  fresh.forced = track->forced;
  if ((rc = media__subs_read(&fresh, track->path))) {
    cJSON_Delete(summary);
    return rc;
  }
  char staging[4100];
  snprintf(staging, sizeof staging, "%s.partial-XXXXXX", out);
  if (!mkdtemp(staging)) {
    int e = errno;
    media__text_clear(&fresh);
    cJSON_Delete(summary);
    return stream__err(STREAM_EIO,
                       "media subtitles: cannot create a staging directory beside %s: %s", out,
                       strerror(e));
  }
  chmod(staging, 0755);
  media__package p;
  memset(&p, 0, sizeof p);
  rc = build(srcdir, out, staging, track, summary, &p, &fresh);
  media__package_clear(&p);
  media__text_clear(&fresh);
  cJSON_Delete(summary);
  if (rc == STREAM_OK && renameat2(AT_FDCWD, staging, AT_FDCWD, out, RENAME_NOREPLACE) != 0) {
    int e = errno;
    rc = e == EEXIST || e == ENOTEMPTY
             ? stream__err(STREAM_EEXIST, "media subtitles: output directory %s appeared meanwhile",
                           out)
             : stream__err(STREAM_EIO, "media subtitles: cannot rename %s to %s: %s", staging, out,
                           strerror(e));
  }
  if (rc != STREAM_OK)
    media__rm_tree(staging);
  return rc;
}
