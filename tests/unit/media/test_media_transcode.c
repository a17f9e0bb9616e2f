/* End-to-end transcode on generated sources, checked with ffprobe: every
 * segment starts with an IDR, IDRs every 2 s in every rung, aligned
 * boundaries, durations within one frame of the source, audio/video agree,
 * measured bit rates; bad inputs and cancel leave nothing behind. */
#include <check.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media_check.h"
#include "media_gen.h"
#include "stream/stream.h"

static int exists(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0;
}

/* No OUTDIR and no OUTDIR.partial-* beside it. */
static void assert_nothing_left(const char *outdir)
{
  ck_assert(!exists(outdir));
  char cmd[600];
  snprintf(cmd, sizeof cmd, "ls -d %s.partial-* 2>/dev/null | wc -l", outdir);
  char *o = run_cmd(cmd);
  ck_assert_int_eq(atoi(o), 0);
  free(o);
}

/* Every descriptor of this process open on a file under `dir` (the job's output and its
 * .partial-* staging directory) is close-on-exec, so an application that starts a process
 * while a transcode runs does not hand it the job's files; returns how many were seen. */
static int check_cloexec_under(const char *dir)
{
  DIR *d = opendir("/proc/self/fd");
  ck_assert_ptr_nonnull(d);
  int seen = 0;
  size_t dl = strlen(dir);
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    int fd = atoi(e->d_name);
    if (e->d_name[0] == '.' || fd == dirfd(d))
      continue;
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
      continue; /* closed meanwhile by another thread */
    target[n] = '\0';
    if (strncmp(target, dir, dl) != 0)
      continue;
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0)
      continue;
    ck_assert_msg(flags & FD_CLOEXEC, "fd %d on %s is not close-on-exec", fd, target);
    seen++;
  }
  closedir(d);
  return seen;
}

static int progress_calls, cloexec_seen;
static double last_fraction;
static const char *job_outdir;
static void on_progress(double f, double fps, double eta, void *ud)
{
  (void)fps;
  (void)eta;
  (void)ud;
  ck_assert(f >= last_fraction - 1e-9 && f <= 1.0);
  last_fraction = f;
  progress_calls++;
  if (job_outdir)
    cloexec_seen += check_cloexec_under(job_outdir);
}

static cJSON *transcode(const char *input, const char *outdir, const char *ladder, int thumbs)
{
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  o.input = input;
  o.outdir = outdir;
  o.ladder = ladder;
  o.x264_preset = "ultrafast";
  o.thumbnails = thumbs;
  stream_media_job *j = NULL;
  ck_assert_int_eq(stream_media_job_new(&j, &o), STREAM_OK);
  ck_assert_int_eq(stream_media_job_set_progress(j, on_progress, NULL), STREAM_OK);
  progress_calls = 0;
  cloexec_seen = 0;
  last_fraction = 0;
  char abs_out[4096];
  ck_assert_ptr_nonnull(realpath(".", abs_out));
  job_outdir = outdir[0] == '/' ? outdir : abs_out;
  int rc = stream_media_job_run(j);
  job_outdir = NULL;
  ck_assert_msg(rc == STREAM_OK, "run: %s",
                stream_error_last() ? stream_error_last()->message : "?");
  ck_assert_int_eq(stream_media_job_state_get(j), STREAM_MEDIA_JOB_SUCCEEDED);
  ck_assert_int_gt(progress_calls, 0);
  /* The thumbnail track's file is open from the job's start to its end, so with thumbnails
   * the check saw at least that one; segment files are open only while their segment is
   * written, which a short job's progress calls may all miss. */
  if (thumbs)
    ck_assert_int_gt(cloexec_seen, 0);
  ck_assert(fabs(last_fraction - 1.0) < 1e-9);
  char *js = NULL;
  ck_assert_int_eq(stream_media_job_summary(&js, j), STREAM_OK);
  cJSON *s = cJSON_Parse(js);
  ck_assert_ptr_nonnull(s);
  stream_free(js);
  stream_media_job_free(j);
  char path[600];
  snprintf(path, sizeof path, "%s/summary.json", outdir);
  ck_assert(exists(path));
  return s;
}

/* ffprobe checks of one video rendition; returns its duration. */
static double check_video(const char *outdir, const cJSON *r, double fps, double src_dur)
{
  const char *dir = cJSON_GetObjectItem(r, "dir")->valuestring;
  const cJSON *segs = cJSON_GetObjectItem(r, "segments");
  int nseg = cJSON_GetArraySize(segs);
  ck_assert_int_gt(nseg, 0);
  char cmd[2048];
  for (int i = 0; i < nseg; i++) {
    const char *file = cJSON_GetObjectItem(cJSON_GetArrayItem(segs, i), "file")->valuestring;
    snprintf(cmd, sizeof cmd,
             "cat %s/%s/init.mp4 %s/%s | ffprobe -v error -read_intervals %%+#1 -show_entries "
             "frame=key_frame,pict_type -of csv=p=0 - | head -1",
             outdir, dir, outdir, file);
    char *o = run_cmd(cmd);
    ck_assert_msg(strncmp(o, "1,I", 3) == 0, "%s does not start with an IDR: %s", file, o);
    free(o);
    double d = num(cJSON_GetArrayItem(segs, i), "duration");
    if (i + 1 < nseg)
      ck_assert_msg(fabs(d - 3 * round(2 * fps) / fps) < 1e-6, "segment %d lasts %f", i, d);
    ck_assert_int_gt((int)num(cJSON_GetArrayItem(segs, i), "bytes"), 0);
  }
  /* Key frames exactly every GOP (2 s of frames) across the whole rendition. */
  snprintf(cmd, sizeof cmd,
           "cat %s/%s/init.mp4 %s/%s/seg_*.m4s | ffprobe -v error -skip_frame nokey "
           "-show_entries frame=pts_time -of csv=p=0 -",
           outdir, dir, outdir, dir);
  char *o = run_cmd(cmd);
  double prev = -1, gop = round(2 * fps) / fps;
  int keys = 0;
  for (char *line = strtok(o, "\n"); line; line = strtok(NULL, "\n")) {
    double t = atof(line);
    if (prev >= 0)
      ck_assert_msg(fabs(t - prev - gop) < 0.002, "key frames at %f and %f", prev, t);
    prev = t;
    keys++;
  }
  free(o);
  ck_assert_int_eq(keys, (int)ceil(src_dur / gop - 1e-6));
  ck_assert_int_eq(keys, (int)num(r, "keyframes"));
  /* Frame count and duration within one frame of the source. */
  double dur = num(r, "duration");
  ck_assert_msg(fabs(dur - src_dur) <= 1.0 / fps + 1e-6, "duration %f vs source %f", dur, src_dur);
  ck_assert_int_gt((int)num(r, "average_bitrate"), 0);
  ck_assert(num(r, "peak_bitrate") >= num(r, "average_bitrate"));
  return dur;
}

static void check_package(const char *outdir, cJSON *s, double fps, double src_dur, int want_video,
                          int want_audio)
{
  const cJSON *rs = cJSON_GetObjectItem(s, "renditions");
  int nv = 0, na = 0;
  const cJSON *first = NULL;
  double vdur = 0;
  for (int i = 0; i < cJSON_GetArraySize(rs); i++) {
    const cJSON *r = cJSON_GetArrayItem(rs, i);
    if (strcmp(cJSON_GetObjectItem(r, "kind")->valuestring, "video") == 0) {
      vdur = check_video(outdir, r, fps, src_dur);
      /* Boundaries aligned across rungs. */
      if (first) {
        const cJSON *a = cJSON_GetObjectItem(first, "segments"),
                    *b = cJSON_GetObjectItem(r, "segments");
        ck_assert_int_eq(cJSON_GetArraySize(a), cJSON_GetArraySize(b));
        for (int k = 0; k < cJSON_GetArraySize(a); k++)
          ck_assert(fabs(num(cJSON_GetArrayItem(a, k), "start") -
                         num(cJSON_GetArrayItem(b, k), "start")) < 1e-6);
      } else {
        first = r;
      }
      nv++;
    } else {
      na++;
      ck_assert_str_eq(cJSON_GetObjectItem(r, "codecs")->valuestring, "mp4a.40.2");
      ck_assert_int_eq((int)num(r, "sample_rate"), 48000);
      ck_assert_int_eq((int)num(r, "channels"), 2);
      double ab = num(r, "average_bitrate");
      ck_assert_msg(ab > 100000 && ab < 160000, "audio bitrate %f", ab);
      /* Audio and video agree (sync): within one AAC frame + one video frame. */
      double adur = num(r, "duration");
      ck_assert_msg(fabs(adur - src_dur) < 1024.0 / 48000 + 1.0 / fps + 1e-3, "audio %f vs %f",
                    adur, src_dur);
      const cJSON *segs = cJSON_GetObjectItem(r, "segments");
      ck_assert_int_eq(cJSON_GetArraySize(segs),
                       cJSON_GetArraySize(cJSON_GetObjectItem(first ? first : r, "segments")));
    }
  }
  (void)vdur;
  ck_assert_int_eq(nv, want_video);
  ck_assert_int_eq(na, want_audio);
}

START_TEST(transcode_720p_ladder)
{
  const char *in = gen("t720.mp4", AV_720);
  char out[512];
  snprintf(out, sizeof out, "%s/out720", gen_tmpdir());
  cJSON *s = transcode(in, out, "720p,360p,234p", 1);
  check_package(out, s, 30, 8.0, 3, 1);
  char path[700];
  snprintf(path, sizeof path, "%s/master.m3u8", out);
  ck_assert(exists(path));
  snprintf(path, sizeof path, "%s/manifest.mpd", out);
  ck_assert(exists(path));
  snprintf(path, sizeof path, "%s/thumbnails.vtt", out);
  ck_assert(exists(path));
  cJSON_Delete(s);
  /* OUTDIR exists now: a second job refuses to replace it. */
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  o.input = in;
  o.outdir = out;
  stream_media_job *j = NULL;
  ck_assert_int_eq(stream_media_job_new(&j, &o), STREAM_OK);
  ck_assert_int_eq(stream_media_job_run(j), STREAM_EEXIST);
  stream_media_job_free(j);
}
END_TEST

START_TEST(transcode_video_only_25fps)
{
  const char *in = gen("tv.mp4", V_ONLY);
  char out[512];
  snprintf(out, sizeof out, "%s/outv", gen_tmpdir());
  cJSON *s = transcode(in, out, NULL, 0);
  check_package(out, s, 25, 4.0, 2, 0); /* 360p and 234p of a 640x360 source */
  cJSON_Delete(s);
}
END_TEST

START_TEST(transcode_2997_mp3_4x3)
{
  const char *in = gen("t2997.mp4", V_2997);
  char out[512];
  snprintf(out, sizeof out, "%s/out2997", gen_tmpdir());
  cJSON *s = transcode(in, out, "360p", 0);
  check_package(out, s, 30000.0 / 1001, 7.0 * 1001 / 1001, 1, 1);
  const cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "renditions"), 1);
  ck_assert_str_eq(cJSON_GetObjectItem(a, "language")->valuestring, "fr"); /* BCP 47 of "fra" */
  cJSON_Delete(s);
  in = gen("t43.mp4", V_43);
  snprintf(out, sizeof out, "%s/out43", gen_tmpdir());
  s = transcode(in, out, "360p", 0);
  check_package(out, s, 30, 4.0, 1, 1);
  const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "renditions"), 0);
  ck_assert_int_eq((int)num(v, "width"), 480);
  ck_assert_int_eq((int)num(v, "height"), 360);
  cJSON_Delete(s);
}
END_TEST

/* PSNR (dB, luma+chroma average) of a rendition against the source scaled
 * to its size by ffmpeg (bicubic), both timelines from 0. */
static double rung_psnr(const char *src, const char *outdir, const cJSON *r)
{
  const char *dir = cJSON_GetObjectItem(r, "dir")->valuestring;
  int w = (int)num(r, "width"), h = (int)num(r, "height");
  char cmd[8192];
  snprintf(cmd, sizeof cmd,
           "cat %s/%s/init.mp4 %s/%s/seg_*.m4s > %s/%s.mp4 && ffmpeg -hide_banner -nostdin "
           "-nostats -i %s/%s.mp4 -i %s -lavfi \"[0:v]setpts=PTS-STARTPTS[a];[1:v]scale=w=%d:h=%d,"
           "setpts=PTS-STARTPTS[b];[a][b]psnr\" -f null - 2>&1 | sed -n "
           "'s/.*PSNR y:.* average:\\([0-9.inf]*\\).*/\\1/p' | tail -n1",
           outdir, dir, outdir, dir, outdir, dir, outdir, dir, src, w, h);
  char *o = run_cmd(cmd);
  double v = atof(o);
  free(o);
  return v;
}

/* Rungs fed by other rungs (cascade scaling; a second rung of the same size
 * shares the first one's pictures): same frames, same timing, and pictures
 * of the source, not of a neighbour frame or an empty buffer. */
START_TEST(transcode_cascaded_rungs)
{
  const char *in = gen("t720.mp4", AV_720);
  char out[512];
  snprintf(out, sizeof out, "%s/outcascade", gen_tmpdir());
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  o.input = in;
  o.outdir = out;
  o.x264_preset = "ultrafast";
  o.thumbnails = 0;
  /* 540p from the source; 360p (x2) from 540p; 180p from 360p */
  const struct {
    int w, h;
    int64_t bits;
  } want[] = {{960, 540, 2000000}, {640, 360, 900000}, {640, 360, 600000}, {320, 180, 300000}};
  for (size_t i = 0; i < 4; i++) {
    o.rungs[i].width = want[i].w;
    o.rungs[i].height = want[i].h;
    o.rungs[i].bitrate = want[i].bits;
  }
  o.rung_count = 4;
  stream_media_job *j = NULL;
  ck_assert_int_eq(stream_media_job_new(&j, &o), STREAM_OK);
  cJSON *s = run_summary(j, NULL);
  check_package(out, s, 30, 8.0, 4, 1);
  const cJSON *rs = cJSON_GetObjectItem(s, "renditions");
  for (int i = 0; i < 4; i++) {
    const cJSON *r = cJSON_GetArrayItem(rs, i);
    ck_assert_int_eq((int)num(r, "width"), want[i].w);
    ck_assert_int_eq((int)num(r, "height"), want[i].h);
    /* testsrc2 moves: a picture one frame off scores far lower (< 25 dB) */
    double p = rung_psnr(in, out, r);
    ck_assert_msg(p > 30, "%dx%d: PSNR %.2f dB against the source", want[i].w, want[i].h, p);
  }
  cJSON_Delete(s);
}
END_TEST

static void expect_failure(const char *input, const char *name, int code, const char *needle)
{
  char out[512];
  snprintf(out, sizeof out, "%s/%s", gen_tmpdir(), name);
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  o.input = input;
  o.outdir = out;
  stream_media_job *j = NULL;
  ck_assert_int_eq(stream_media_job_new(&j, &o), STREAM_OK);
  ck_assert_int_eq(stream_media_job_run(j), code);
  ck_assert_msg(strstr(stream_error_last()->message, needle), "message: %s",
                stream_error_last()->message);
  ck_assert_int_eq(stream_media_job_state_get(j), STREAM_MEDIA_JOB_FAILED);
  char *js = NULL;
  ck_assert_int_eq(stream_media_job_summary(&js, j), STREAM_ENOTFOUND);
  stream_media_job_free(j);
  assert_nothing_left(out);
}

START_TEST(bad_inputs)
{
  char path[512];
  snprintf(path, sizeof path, "%s/empty.mp4", gen_tmpdir());
  fclose(fopen(path, "wb"));
  expect_failure(path, "o_empty", STREAM_EMEDIA, "empty");
  expect_failure(gen("ao.m4a", A_ONLY), "o_audio", STREAM_EMEDIA, "no video stream");
  const char *full = gen("tr_src.mp4", AV_360);
  snprintf(path, sizeof path, "%s/trunc.mp4", gen_tmpdir());
  ck_assert_int_eq(sh("head -c 40000 %s > %s", full, path), 0);
  expect_failure(path, "o_trunc", STREAM_EMEDIA, "truncated");
  expect_failure("/nonexistent/in.mp4", "o_missing", STREAM_ENOTFOUND, "does not exist");
  /* Index first (faststart), media data cut: reads to a clean EOF early. */
  const char *fs = gen("fs.mp4", AV_360 " -movflags +faststart");
  snprintf(path, sizeof path, "%s/trunc_fs.mp4", gen_tmpdir());
  ck_assert_int_eq(sh("head -c 120000 %s > %s", fs, path), 0);
  expect_failure(path, "o_trunc_fs", STREAM_EMEDIA, "truncated");
}
END_TEST

static void *cancel_later(void *arg)
{
  stream_media_job *j = arg;
  while (stream_media_job_state_get(j) != STREAM_MEDIA_JOB_RUNNING)
    usleep(1000);
  usleep(150000);
  stream_media_job_cancel(j);
  return NULL;
}

START_TEST(cancel_from_thread)
{
  const char *in = gen("t720.mp4", AV_720);
  char out[512];
  snprintf(out, sizeof out, "%s/ocancel", gen_tmpdir());
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  o.input = in;
  o.outdir = out;
  o.x264_preset = "medium"; /* slow enough to be canceled midway */
  stream_media_job *j = NULL;
  ck_assert_int_eq(stream_media_job_new(&j, &o), STREAM_OK);
  pthread_t t;
  pthread_create(&t, NULL, cancel_later, j);
  int rc = stream_media_job_run(j);
  pthread_join(t, NULL);
  ck_assert_int_eq(rc, STREAM_ECANCELED);
  ck_assert_int_eq(stream_media_job_state_get(j), STREAM_MEDIA_JOB_CANCELED);
  stream_media_job_free(j);
  assert_nothing_left(out);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("media_transcode");
  TCase *tc = tcase_create("transcode");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, transcode_720p_ladder);
  tcase_add_test(tc, transcode_video_only_25fps);
  tcase_add_test(tc, transcode_2997_mp3_4x3);
  tcase_add_test(tc, transcode_cascaded_rungs);
  tcase_add_test(tc, bad_inputs);
  tcase_add_test(tc, cancel_from_thread);
  suite_add_tcase(s, tc);
  return run_media_suite(s);
}
