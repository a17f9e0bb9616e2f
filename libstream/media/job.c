/*
 * media job: the public transcode job. Validates options, probes the input,
 * plans the ladder, runs the pipeline into a staging directory
 * OUTDIR.partial-XXXXXX, writes manifests and summary.json, and renames the
 * staging directory to OUTDIR only when everything succeeded; a failed or
 * canceled run removes the staging directory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "pipe_internal.h"

cJSON *media__info_json(const stream_media_info *in);

struct stream_media_job {
  stream_media_job_options opts;
  char *input, *outdir, *ladder, *preset;
  char *sub_strs[STREAM_MEDIA_MAX_SUBTITLES][3]; /* path, language, name copies */
  stream_media_progress_fn progress;
  void *ud;
  volatile int cancel;
  volatile int state;
  char *summary;
};

static const char *const x264_presets[] = {"ultrafast", "superfast", "veryfast", "faster",
                                           "fast",      "medium",    "slow",     "slower",
                                           "veryslow",  "placebo"};

/* BCP 47 shape (RFC 5646 §2.1, not the registry): a primary subtag of 2-8
 * letters (or "x"/"i" for private use and grandfathered tags), then subtags
 * of 1-8 letters or digits, separated by '-'; at most 35 characters. */
static int bcp47_shaped(const char *s)
{
  size_t n = strlen(s);
  if (n < 1 || n > 35)
    return 0;
  size_t len = 0, idx = 0;
  int alpha_only = 1;
  for (size_t i = 0; i <= n; i++) {
    char c = s[i];
    if (c == '-' || c == '\0') {
      if (len == 0 || len > 8)
        return 0;
      if (idx == 0 &&
          !(alpha_only && (len >= 2 || s[0] == 'x' || s[0] == 'X' || s[0] == 'i' || s[0] == 'I')))
        return 0;
      if (idx == 0 && len == 1 && c == '\0')
        return 0;
      idx++;
      len = 0;
      alpha_only = 1;
      continue;
    }
    int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (!alpha && !(c >= '0' && c <= '9'))
      return 0;
    alpha_only &= alpha;
    len++;
  }
  return 1;
}

int media__subtitle_check(const stream_media_subtitle *t, size_t i, int need_path)
{
  char who[48];
  if (i)
    snprintf(who, sizeof who, "media job: subtitle %zu", i);
  else
    snprintf(who, sizeof who, "media subtitles: the track");
  if (!t)
    return stream__err(STREAM_EINVAL, "%s is NULL", who);
  if (need_path && (!t->path || !*t->path))
    return stream__err(STREAM_EINVAL, "%s: path is NULL or empty", who);
  if (t->path && strlen(t->path) > 4000)
    return stream__err(STREAM_EINVAL, "%s: path is too long", who);
  if (!t->language || !bcp47_shaped(t->language))
    return stream__err(STREAM_EINVAL,
                       "%s (%.200s): language '%.40s' is not a BCP 47 tag "
                       "(e.g. en, pt-BR, zh-Hant)",
                       who, t->path ? t->path : "no file", t->language ? t->language : "(null)");
  const char *name = t->name ? t->name : t->language;
  size_t nl = strlen(name);
  if (nl == 0 || nl > 63)
    return stream__err(STREAM_EINVAL, "%s: name must be 1..63 bytes", who);
  for (const unsigned char *c = (const unsigned char *)name; *c; c++)
    if (*c < 0x20 || *c == 0x7f || *c == '"')
      return stream__err(STREAM_EINVAL, "%s: name has a double quote or a control character", who);
  if ((t->is_default != 0 && t->is_default != 1) || (t->forced != 0 && t->forced != 1))
    return stream__err(STREAM_EINVAL, "%s: is_default and forced are 0 or 1", who);
  return STREAM_OK;
}

int stream_media_subtitle_check(const stream_media_subtitle *track)
{
  return media__subtitle_check(track, 0, 0);
}

static int check_subtitles(const stream_media_job_options *opts)
{
  if (opts->subtitle_count > STREAM_MEDIA_MAX_SUBTITLES)
    return stream__err(STREAM_EINVAL, "media job: %zu subtitle tracks (at most %d)",
                       opts->subtitle_count, STREAM_MEDIA_MAX_SUBTITLES);
  int defaults = 0;
  for (size_t i = 0; i < opts->subtitle_count; i++) {
    const stream_media_subtitle *t = &opts->subtitles[i];
    int rc = media__subtitle_check(t, i + 1, 1);
    if (rc != STREAM_OK)
      return rc;
    const char *name = t->name ? t->name : t->language;
    defaults += t->is_default;
    for (size_t k = 0; k < i; k++) {
      const stream_media_subtitle *o = &opts->subtitles[k];
      if (!strcmp(o->name ? o->name : o->language, name))
        return stream__err(STREAM_EINVAL,
                           "media job: subtitles %zu and %zu have the same name '%s' (HLS needs "
                           "distinct NAMEs in a group)",
                           k + 1, i + 1, name);
    }
  }
  if (defaults > 1)
    return stream__err(STREAM_EINVAL,
                       "media job: %d subtitle tracks are marked default (at most 1)", defaults);
  return STREAM_OK;
}

int stream_media_job_new(stream_media_job **out, const stream_media_job_options *opts_in)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "media job: out is NULL");
  *out = NULL;
  if (!opts_in)
    return stream__err(STREAM_EINVAL, "media job: options is NULL");
  if (opts_in->version < 1 || opts_in->version > STREAM_MEDIA_JOB_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL,
                       "media job: options version %u is not supported (expected 1..%u)",
                       opts_in->version, STREAM_MEDIA_JOB_OPTIONS_VERSION);
  /* A version-1 caller's struct ends before subtitle_count, a version-2
   * one before audio_track_count: copy what it has. */
  stream_media_job_options full;
  memset(&full, 0, sizeof full);
  memcpy(&full, opts_in,
         opts_in->version == 1   ? offsetof(stream_media_job_options, subtitle_count)
         : opts_in->version == 2 ? offsetof(stream_media_job_options, audio_track_count)
                                 : sizeof(stream_media_job_options));
  full.version = STREAM_MEDIA_JOB_OPTIONS_VERSION;
  const stream_media_job_options *opts = &full;
  if (!opts->input || !*opts->input)
    return stream__err(STREAM_EINVAL, "media job: input is NULL or empty");
  if (!opts->outdir || !*opts->outdir)
    return stream__err(STREAM_EINVAL, "media job: outdir is NULL or empty");
  if (strlen(opts->input) > 4000 || strlen(opts->outdir) > 3900)
    return stream__err(STREAM_EINVAL, "media job: input or outdir path is too long");
  double seg = opts->segment_seconds == 0 ? 6.0 : opts->segment_seconds;
  if (!(seg >= 2 && seg <= 60) || fabs(seg / 2 - round(seg / 2)) > 1e-9)
    return stream__err(STREAM_EINVAL,
                       "media job: segment duration %g s must be a multiple of 2 s in 2..60",
                       opts->segment_seconds);
  if (opts->x264_preset) {
    int ok = 0;
    for (size_t i = 0; i < sizeof x264_presets / sizeof x264_presets[0]; i++)
      ok |= strcmp(opts->x264_preset, x264_presets[i]) == 0;
    if (!ok)
      return stream__err(STREAM_EINVAL,
                         "media job: unknown x264 preset '%.32s' (ultrafast .. placebo)",
                         opts->x264_preset);
  }
  if (opts->threads < 0 || opts->threads > 256)
    return stream__err(STREAM_EINVAL, "media job: threads %d must be in 0..256", opts->threads);
  if (opts->audio_bitrate != 0 && (opts->audio_bitrate < 32000 || opts->audio_bitrate > 320000))
    return stream__err(STREAM_EINVAL, "media job: audio bitrate %lld must be in 32000..320000",
                       (long long)opts->audio_bitrate);
  if (opts->thumbnails != 0 && opts->thumbnails != 1)
    return stream__err(STREAM_EINVAL, "media job: thumbnails must be 0 or 1");
  int src = check_subtitles(opts);
  if (src != STREAM_OK)
    return src;
  if (opts->audio_track_count > STREAM_MEDIA_MAX_AUDIO)
    return stream__err(STREAM_EINVAL, "media job: %zu audio tracks selected (at most %d)",
                       opts->audio_track_count, STREAM_MEDIA_MAX_AUDIO);
  for (size_t i = 0; i < opts->audio_track_count; i++) {
    if (opts->audio_tracks[i] < 0)
      return stream__err(STREAM_EINVAL, "media job: audio track %zu: stream index %d is negative",
                         i + 1, opts->audio_tracks[i]);
    for (size_t k = 0; k < i; k++)
      if (opts->audio_tracks[k] == opts->audio_tracks[i])
        return stream__err(STREAM_EINVAL, "media job: audio stream %d is selected twice",
                           opts->audio_tracks[i]);
  }
  /* Check the ladder's syntax against a nominal 4K source. */
  stream_media_info big;
  memset(&big, 0, sizeof big);
  big.width = 3840;
  big.height = 2160;
  big.fps_num = 60;
  big.fps_den = 1;
  big.sar_num = big.sar_den = 1;
  stream_media_ladder lad;
  int rc = stream_media_ladder_plan(&lad, &big, opts);
  if (rc != STREAM_OK)
    return rc;
  stream_media_job *j = calloc(1, sizeof *j);
  if (!j)
    return stream__err(STREAM_ENOMEM, "media job: out of memory");
  j->opts = *opts;
  j->opts.segment_seconds = seg;
  j->input = stream__strdup(opts->input);
  j->outdir = stream__strdup(opts->outdir);
  j->ladder = stream__strdup(opts->ladder ? opts->ladder : "apple");
  j->preset = stream__strdup(opts->x264_preset ? opts->x264_preset : "veryfast");
  if (!j->input || !j->outdir || !j->ladder || !j->preset) {
    stream_media_job_free(j);
    return stream__err(STREAM_ENOMEM, "media job: out of memory");
  }
  /* Strip trailing slashes so OUTDIR.partial-X is a sibling. */
  for (size_t n = strlen(j->outdir); n > 1 && j->outdir[n - 1] == '/'; n--)
    j->outdir[n - 1] = 0;
  j->opts.input = j->input;
  j->opts.outdir = j->outdir;
  j->opts.ladder = j->ladder;
  j->opts.x264_preset = j->preset;
  for (size_t i = 0; i < opts->subtitle_count; i++) {
    stream_media_subtitle *t = &j->opts.subtitles[i];
    char **c = j->sub_strs[i];
    c[0] = stream__strdup(t->path);
    c[1] = stream__strdup(t->language);
    c[2] = stream__strdup(t->name ? t->name : t->language);
    if (!c[0] || !c[1] || !c[2]) {
      stream_media_job_free(j);
      return stream__err(STREAM_ENOMEM, "media job: out of memory");
    }
    t->path = c[0];
    t->language = c[1];
    t->name = c[2];
  }
  j->state = STREAM_MEDIA_JOB_PENDING;
  *out = j;
  return STREAM_OK;
}

int stream_media_job_set_progress(stream_media_job *job, stream_media_progress_fn fn, void *ud)
{
  if (!job)
    return stream__err(STREAM_EINVAL, "media job: job is NULL");
  if (job->state == STREAM_MEDIA_JOB_RUNNING)
    return stream__err(STREAM_EBUSY, "media job: cannot change the callback while running");
  job->progress = fn;
  job->ud = ud;
  return STREAM_OK;
}

int stream_media_job_cancel(stream_media_job *job)
{
  if (!job)
    return stream__err(STREAM_EINVAL, "media job: job is NULL");
  __atomic_store_n(&job->cancel, 1, __ATOMIC_SEQ_CST);
  return STREAM_OK;
}

int stream_media_job_state_get(const stream_media_job *job)
{
  return job ? __atomic_load_n(&job->state, __ATOMIC_SEQ_CST) : 0;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
  (void)sb;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

void media__rm_tree(const char *dir)
{
  nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void progress_tramp(double fraction, double fps, double eta, void *ud)
{
  stream_media_job *j = ud;
  if (j->progress)
    j->progress(fraction, fps, eta, j->ud);
}

static cJSON *subtitles_json(const stream_media_job *j, const media__package *pkg);

static cJSON *summary_json(const stream_media_job *j, const stream_media_info *info,
                           const media__package *pkg, int manifests, double elapsed, int thumbs)
{
  cJSON *o = cJSON_CreateObject();
  if (!o)
    return NULL;
  cJSON_AddStringToObject(o, "input", j->input);
  cJSON_AddStringToObject(o, "outdir", j->outdir);
  cJSON_AddNumberToObject(o, "duration", pkg->duration);
  cJSON_AddNumberToObject(o, "segment_target", pkg->segment_target);
  cJSON_AddItemToObject(o, "source", media__info_json(info));
  cJSON *arr = cJSON_AddArrayToObject(o, "renditions");
  char buf[128];
  for (size_t i = 0; arr && i < pkg->rendition_count; i++) {
    const media__rendition *r = &pkg->renditions[i];
    cJSON *x = cJSON_CreateObject();
    if (!x)
      break;
    cJSON_AddStringToObject(x, "id", r->id);
    cJSON_AddStringToObject(x, "kind", r->kind == MEDIA__VIDEO ? "video" : "audio");
    cJSON_AddStringToObject(x, "dir", r->dir);
    cJSON_AddStringToObject(x, "codecs", r->codecs);
    if (r->kind == MEDIA__VIDEO) {
      cJSON_AddNumberToObject(x, "width", r->width);
      cJSON_AddNumberToObject(x, "height", r->height);
      snprintf(buf, sizeof buf, "%d/%d", r->fps_num, r->fps_den);
      cJSON_AddStringToObject(x, "fps", buf);
      cJSON_AddNumberToObject(x, "keyframes", (double)r->keyframe_count);
    } else {
      cJSON_AddStringToObject(x, "language", r->language);
      cJSON_AddNumberToObject(x, "sample_rate", r->sample_rate);
      cJSON_AddNumberToObject(x, "channels", r->channels);
    }
    cJSON_AddNumberToObject(x, "target_bitrate", (double)r->target_bitrate);
    cJSON_AddNumberToObject(x, "average_bitrate", (double)r->average_bitrate);
    cJSON_AddNumberToObject(x, "peak_bitrate", (double)r->peak_bitrate);
    cJSON_AddNumberToObject(x, "timescale", (double)r->timescale);
    double dur = 0;
    cJSON *segs = cJSON_AddArrayToObject(x, "segments");
    cJSON *files = cJSON_CreateArray();
    snprintf(buf, sizeof buf, "%s/%s", r->dir, r->init_name);
    cJSON_AddItemToArray(files, cJSON_CreateString(buf));
    for (size_t k = 0; k < r->segment_count; k++) {
      const media__segment *s = &r->segments[k];
      double d = r->timescale ? (double)s->duration / (double)r->timescale : 0;
      dur += d;
      cJSON *sj = cJSON_CreateObject();
      snprintf(buf, sizeof buf, "%s/", r->dir);
      size_t n = strlen(buf);
      snprintf(buf + n, sizeof buf - n, r->segment_pattern, (unsigned)(r->start_number + k));
      cJSON_AddStringToObject(sj, "file", buf);
      cJSON_AddNumberToObject(sj, "start",
                              r->timescale ? (double)s->start / (double)r->timescale : 0);
      cJSON_AddNumberToObject(sj, "duration", d);
      cJSON_AddNumberToObject(sj, "bytes", (double)s->bytes);
      cJSON_AddItemToArray(segs, sj);
      cJSON_AddItemToArray(files, cJSON_CreateString(buf));
    }
    cJSON_AddNumberToObject(x, "duration", dur);
    cJSON_AddItemToObject(x, "files", files);
    cJSON_AddItemToObject(x, "packaging", media__rendition_json(r));
    cJSON_AddItemToArray(arr, x);
  }
  cJSON_AddItemToObject(o, "subtitles", subtitles_json(j, pkg));
  cJSON *m = cJSON_AddArrayToObject(o, "manifests");
  if (manifests & 1)
    cJSON_AddItemToArray(m, cJSON_CreateString("master.m3u8"));
  if (manifests & 2)
    cJSON_AddItemToArray(m, cJSON_CreateString("manifest.mpd"));
  cJSON_AddBoolToObject(o, "thumbnails", thumbs);
  cJSON_AddNumberToObject(o, "elapsed", elapsed);
  cJSON_AddNumberToObject(o, "speed", elapsed > 0 ? pkg->duration / elapsed : 0);
  return o;
}

/* Read every attached subtitle file (before any video work, so a bad file
 * fails fast) into `*out` (count j->opts.subtitle_count) with unique ids. */
static int load_subtitles(stream_media_job *j, media__text **out)
{
  *out = NULL;
  size_t n = j->opts.subtitle_count;
  if (n == 0)
    return STREAM_OK;
  media__text *t = calloc(n, sizeof *t);
  if (!t)
    return stream__err(STREAM_ENOMEM, "media job: out of memory");
  for (size_t i = 0; i < n; i++) {
    const stream_media_subtitle *s = &j->opts.subtitles[i];
    media__text_id(&t[i], s->language, t, i);
    snprintf(t[i].language, sizeof t[i].language, "%s", s->language);
    snprintf(t[i].name, sizeof t[i].name, "%s", s->name);
    t[i].is_default = s->is_default;
    t[i].forced = s->forced;
    int rc = media__subs_read(&t[i], s->path);
    if (rc != STREAM_OK) {
      for (size_t k = 0; k < i; k++)
        media__text_clear(&t[k]);
      free(t);
      return rc;
    }
  }
  *out = t;
  return STREAM_OK;
}

static cJSON *subtitles_json(const stream_media_job *j, const media__package *pkg)
{
  cJSON *arr = cJSON_CreateArray();
  for (size_t i = 0; arr && i < pkg->text_count; i++) {
    cJSON *x = media__text_json(&pkg->texts[i], j->opts.subtitles[i].path);
    if (!x)
      break;
    cJSON_AddItemToArray(arr, x);
  }
  return arr;
}

static int write_file(const char *dir, const char *name, const char *text)
{
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wbe");
  if (!f)
    return stream__err(STREAM_EIO, "media job: cannot create %s: %s", path, strerror(errno));
  size_t n = strlen(text);
  int bad = fwrite(text, 1, n, f) != n;
  bad |= fclose(f) != 0;
  if (bad)
    return stream__err(STREAM_EIO, "media job: writing %s failed", path);
  return STREAM_OK;
}

static int do_run(stream_media_job *j, char *staging, size_t staging_cap)
{
  struct stat st;
  if (stat(j->outdir, &st) == 0)
    return stream__err(STREAM_EEXIST, "media job: output directory %s already exists", j->outdir);
  stream_media_info info;
  int rc = stream_media_probe(&info, j->input);
  if (rc != STREAM_OK)
    return rc;
  stream_media_ladder lad;
  rc = stream_media_ladder_plan(&lad, &info, &j->opts);
  if (rc != STREAM_OK)
    return rc;
  media__text *texts = NULL;
  rc = load_subtitles(j, &texts);
  if (rc != STREAM_OK)
    return rc;
  media__plan *plan = calloc(1, sizeof *plan);
  if (!plan) {
    for (size_t i = 0; texts && i < j->opts.subtitle_count; i++)
      media__text_clear(&texts[i]);
    free(texts);
    return stream__err(STREAM_ENOMEM, "media job: out of memory");
  }
  snprintf(staging, staging_cap, "%s.partial-XXXXXX", j->outdir);
  if (!mkdtemp(staging)) {
    int e = errno;
    staging[0] = 0;
    for (size_t i = 0; texts && i < j->opts.subtitle_count; i++)
      media__text_clear(&texts[i]);
    free(texts);
    free(plan);
    return stream__err(STREAM_EIO, "media job: cannot create a staging directory beside %s: %s",
                       j->outdir, strerror(e));
  }
  chmod(staging, 0755);
  plan->input = j->input;
  plan->outdir = staging;
  for (size_t i = 0; i < lad.count; i++) {
    media__rung *r = &plan->rungs[i];
    const stream_media_rung *s = &lad.rungs[i];
    snprintf(r->id, sizeof r->id, "v%.12s_%lld", s->name, (long long)(s->bitrate / 1000));
    for (size_t k = 0; k < i; k++)
      if (strcmp(plan->rungs[k].id, r->id) == 0)
        snprintf(r->id, sizeof r->id, "v%.8s_%lld_%u", s->name,
                 (long long)(s->bitrate / 1000) % 1000000, (unsigned)i % 100u);
    r->width = s->width;
    r->height = s->height;
    r->fps_num = s->fps_num;
    r->fps_den = s->fps_den;
    r->bitrate = s->bitrate;
  }
  plan->rung_count = lad.count;
  plan->video_stream = info.video_stream;
  /* Audio: the selected tracks (checked against the probe), else all. */
  for (size_t i = 0;
       i < j->opts.audio_track_count || (!j->opts.audio_track_count && i < info.audio_count); i++) {
    size_t hit = info.audio_count;
    if (!j->opts.audio_track_count)
      hit = i;
    else
      for (size_t k = 0; k < info.audio_count; k++)
        if (info.audio[k].index == j->opts.audio_tracks[i])
          hit = k;
    if (hit == info.audio_count) {
      char have[128] = "";
      for (size_t k = 0; k < info.audio_count; k++) {
        size_t u = strlen(have);
        snprintf(have + u, sizeof have - u, "%s%d", k ? ", " : "", info.audio[k].index);
      }
      rc = stream__err(STREAM_EINVAL,
                       "media job: stream %d of %s is not an audio track (audio tracks: %s)",
                       j->opts.audio_tracks[i], j->input, have[0] ? have : "none");
      media__rm_tree(staging);
      staging[0] = 0;
      for (size_t k = 0; texts && k < j->opts.subtitle_count; k++)
        media__text_clear(&texts[k]);
      free(texts);
      free(plan);
      return rc;
    }
    plan->audio_streams[i] = info.audio[hit].index;
    snprintf(plan->audio_languages[i], sizeof plan->audio_languages[i], "%s",
             info.audio[hit].language);
    plan->audio_count = i + 1;
  }
  plan->audio = plan->audio_count > 0;
  plan->audio_stream = plan->audio ? plan->audio_streams[0] : -1;
  plan->audio_bitrate = j->opts.audio_bitrate > 0 ? j->opts.audio_bitrate : 128000;
  plan->audio_sample_rate = 48000;
  snprintf(plan->audio_language, sizeof plan->audio_language, "%s",
           plan->audio ? plan->audio_languages[0] : "und");
  plan->segment_seconds = j->opts.segment_seconds;
  plan->gop_seconds = 2.0;
  snprintf(plan->preset, sizeof plan->preset, "%s", j->preset);
  plan->threads = j->opts.threads;
  plan->thumbnails = j->opts.thumbnails;
  plan->thumbs.tile_width = 160;
  plan->thumbs.tile_height = 0;
  plan->thumbs.interval = 2.0;
  plan->thumbs.columns = 10;
  plan->thumbs.rows = 10;
  plan->thumbs.poster_time = -1;
  plan->thumbs.poster_width = 0;

  struct timespec ts0, ts1;
  clock_gettime(CLOCK_MONOTONIC, &ts0);
  media__package pkg;
  memset(&pkg, 0, sizeof pkg);
  rc = media__pipeline_run(&pkg, plan, progress_tramp, j, &j->cancel);
  /* the package owns the subtitle tracks from here (media__package_clear) */
  pkg.texts = texts;
  pkg.text_count = texts ? j->opts.subtitle_count : 0;
  if (rc == STREAM_OK)
    rc = media__subs_write(staging, &pkg);
  int manifests = 0;
  if (rc == STREAM_OK) {
    rc = media__write_hls(staging, &pkg);
    manifests |= 1;
  }
  if (rc == STREAM_OK) {
    rc = media__write_dash(staging, &pkg);
    manifests |= 2;
  }
  if (rc == STREAM_OK && j->cancel)
    rc = stream__err(STREAM_ECANCELED, "media job: canceled");
  if (rc == STREAM_OK) {
    clock_gettime(CLOCK_MONOTONIC, &ts1);
    double el = (double)(ts1.tv_sec - ts0.tv_sec) + (ts1.tv_nsec - ts0.tv_nsec) / 1e9;
    cJSON *o = summary_json(j, &info, &pkg, manifests, el, plan->thumbnails);
    char *txt = o ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (!txt)
      rc = stream__err(STREAM_ENOMEM, "media job: out of memory");
    else {
      rc = write_file(staging, "summary.json", txt);
      if (rc == STREAM_OK) {
        j->summary = stream__strdup(txt);
        if (!j->summary)
          rc = STREAM_ENOMEM;
      }
      cJSON_free(txt);
    }
  }
  media__package_clear(&pkg);
  free(plan);
  if (rc != STREAM_OK)
    return rc;
  if (renameat2(AT_FDCWD, staging, AT_FDCWD, j->outdir, RENAME_NOREPLACE) != 0) {
    int e = errno;
    free(j->summary);
    j->summary = NULL;
    if (e == EEXIST || e == ENOTEMPTY)
      return stream__err(STREAM_EEXIST, "media job: output directory %s appeared meanwhile",
                         j->outdir);
    return stream__err(STREAM_EIO, "media job: cannot rename %s to %s: %s", staging, j->outdir,
                       strerror(e));
  }
  staging[0] = 0;
  return STREAM_OK;
}

int stream_media_job_run(stream_media_job *job)
{
  if (!job)
    return stream__err(STREAM_EINVAL, "media job: job is NULL");
  if (job->state != STREAM_MEDIA_JOB_PENDING)
    return stream__err(STREAM_EINVAL, "media job: a job runs once (state %d)", job->state);
  __atomic_store_n(&job->state, STREAM_MEDIA_JOB_RUNNING, __ATOMIC_SEQ_CST);
  /* FFmpeg logs to stderr at INFO by default; a library should not chat.
   * Applications that set their own level keep it. */
  if (av_log_get_level() == AV_LOG_INFO)
    av_log_set_level(AV_LOG_ERROR);
  char staging[4200];
  staging[0] = 0;
  int rc = do_run(job, staging, sizeof staging);
  if (rc != STREAM_OK && staging[0])
    media__rm_tree(staging);
  __atomic_store_n(&job->state,
                   rc == STREAM_OK          ? STREAM_MEDIA_JOB_SUCCEEDED
                   : rc == STREAM_ECANCELED ? STREAM_MEDIA_JOB_CANCELED
                                            : STREAM_MEDIA_JOB_FAILED,
                   __ATOMIC_SEQ_CST);
  return rc;
}

int stream_media_job_summary(char **out_json, const stream_media_job *job)
{
  if (!out_json)
    return stream__err(STREAM_EINVAL, "media job: out_json is NULL");
  *out_json = NULL;
  if (!job)
    return stream__err(STREAM_EINVAL, "media job: job is NULL");
  if (!job->summary)
    return stream__err(STREAM_ENOTFOUND, "media job: no summary (the job has not succeeded)");
  *out_json = stream__strdup(job->summary);
  return *out_json ? STREAM_OK : stream__err(STREAM_ENOMEM, "media job: out of memory");
}

void stream_media_job_free(stream_media_job *job)
{
  if (!job)
    return;
  free(job->input);
  free(job->outdir);
  free(job->ladder);
  free(job->preset);
  free(job->summary);
  for (size_t i = 0; i < STREAM_MEDIA_MAX_SUBTITLES; i++)
    for (size_t k = 0; k < 3; k++)
      free(job->sub_strs[i][k]);
  free(job);
}
