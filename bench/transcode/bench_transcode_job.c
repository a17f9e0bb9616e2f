/*
 * bench_transcode_job: the bench/transcode driver for libstream's transcoder.
 *
 * Does what `streamctl transcode INPUT OUTDIR --x264-preset P --no-thumbnails`
 * does (stream_media_job_new + stream_media_job_run, no progress callback),
 * but takes a custom ladder, which streamctl's --ladder (Apple rung names
 * only) cannot express: the ffmpeg baseline of media.md §5.1 encodes
 * 854x480 @ 1500k and 640x360 @ 800k, which are not in Apple's table.
 *
 *   bench_transcode_job --version
 *   bench_transcode_job INPUT OUTDIR WxH:BITS[,WxH:BITS...] X264_PRESET
 *
 * Exit status 0 on success, 1 on error (message on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stream/common.h>
#include <stream/features.h>
#include <stream/media.h>

static int parse_rungs(stream_media_job_options *o, const char *spec)
{
  const char *p = spec;
  while (*p) {
    if (o->rung_count >= STREAM_MEDIA_MAX_RUNGS)
      return -1;
    stream_media_rung *r = &o->rungs[o->rung_count];
    char *end;
    long w = strtol(p, &end, 10);
    if (end == p || *end != 'x' || w <= 0 || w > 16384)
      return -1;
    p = end + 1;
    long h = strtol(p, &end, 10);
    if (end == p || *end != ':' || h <= 0 || h > 16384)
      return -1;
    p = end + 1;
    long long bits = strtoll(p, &end, 10);
    if (end == p || bits <= 0 || (*end != ',' && *end != '\0'))
      return -1;
    r->width = (int)w;
    r->height = (int)h;
    r->bitrate = (int64_t)bits;
    snprintf(r->name, sizeof r->name, "%ldp", h);
    o->rung_count++;
    p = *end == ',' ? end + 1 : end;
  }
  return o->rung_count > 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
  if (argc == 2 && strcmp(argv[1], "--version") == 0) {
    printf("libstream %s\n", stream_version());
    return 0;
  }
  if (argc != 5) {
    fprintf(stderr, "usage: %s INPUT OUTDIR WxH:BITS[,...] X264_PRESET | --version\n", argv[0]);
    return 1;
  }
#if STREAM_HAVE_MEDIA
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  o.input = argv[1];
  o.outdir = argv[2];
  o.x264_preset = argv[4];
  o.thumbnails = 0;
  if (parse_rungs(&o, argv[3]) != 0) {
    fprintf(stderr, "bad ladder %s (want WxH:BITS,...)\n", argv[3]);
    return 1;
  }
  stream_media_job *job = NULL;
  if (stream_media_job_new(&job, &o) != STREAM_OK) {
    fprintf(stderr, "job: %s\n", stream_error_last()->message);
    return 1;
  }
  if (stream_media_job_run(job) != STREAM_OK) {
    fprintf(stderr, "transcode: %s\n", stream_error_last()->message);
    stream_media_job_free(job);
    return 1;
  }
  stream_media_job_free(job);
  return 0;
#else
  fprintf(stderr, "libstream built without the media feature\n");
  return 1;
#endif
}
