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
  stream_media_progress_fn progress;
  void *ud;
  volatile int cancel;
  volatile int state;
  char *summary;
};

static const char *const x264_presets[] = {"ultrafast", "superfast", "veryfast", "faster",
                                           "fast",      "medium",    "slow",     "slower",
                                           "veryslow",  "placebo"};

int stream_media_job_new(stream_media_job **out, const stream_media_job_options *opts)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "media job: out is NULL");
  *out = NULL;
  if (!opts)
    return stream__err(STREAM_EINVAL, "media job: options is NULL");
  if (opts->version != STREAM_MEDIA_JOB_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "media job: options version %u is not supported (want %u)",
                       opts->version, STREAM_MEDIA_JOB_OPTIONS_VERSION);
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

static void rm_tree(const char *dir)
{
  nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static void progress_tramp(double fraction, double fps, double eta, void *ud)
{
  stream_media_job *j = ud;
  if (j->progress)
    j->progress(fraction, fps, eta, j->ud);
}

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
    cJSON_AddItemToArray(arr, x);
  }
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

static int write_file(const char *dir, const char *name, const char *text)
{
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
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
  media__plan *plan = calloc(1, sizeof *plan);
  if (!plan)
    return stream__err(STREAM_ENOMEM, "media job: out of memory");
  snprintf(staging, staging_cap, "%s.partial-XXXXXX", j->outdir);
  if (!mkdtemp(staging)) {
    int e = errno;
    staging[0] = 0;
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
  plan->audio = info.audio_count > 0;
  plan->audio_stream = info.audio_count > 0 ? info.audio[0].index : -1;
  plan->audio_bitrate = j->opts.audio_bitrate > 0 ? j->opts.audio_bitrate : 128000;
  plan->audio_sample_rate = 48000;
  snprintf(plan->audio_language, sizeof plan->audio_language, "%s",
           info.audio_count > 0 ? info.audio[0].language : "und");
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
    rm_tree(staging);
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
  free(job);
}
