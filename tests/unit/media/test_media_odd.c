/* Odd real-world inputs through the transcode job: each gives either a
 * complete, valid output (every rendition decodes, every video segment
 * starts with a key frame, the audio lasts as long as the video) or a clear
 * error with nothing left behind (no OUTDIR, no OUTDIR.partial-*).
 *
 * Fixed cases: Matroska whose audio outlasts the video (was refused as
 * "truncated": the container announces its longest stream's duration); a
 * bogus SAR that makes every rung wider than an encoder takes (x264 failed
 * to open, and leaked); very tall and very wide display aspect ratios with
 * thumbnails (the tile or poster geometry failed the title); an MPEG-TS
 * whose audio codec changes on the same PID (the decoder's refusal failed
 * the title); MP4 cut inside a 'moov' at the end (the audio track was
 * silently dropped), a fragmented MP4 and a faststart MP4 cut short (the
 * part before the cut was presented as the whole title).
 *
 * Cases that worked and must keep working: High 10 (yuv420p10le), yuv444p,
 * 7.1 audio, variable frame rate. */
#include <check.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "media_check.h"
#include "media_gen.h"
#include "stream/stream.h"

#define TINY "-f lavfi -i testsrc2=size=320x180:rate=25:duration=2 "
#define TONE(d) "-f lavfi -i sine=frequency=440:sample_rate=48000:duration=" #d " "
#define X264 "-c:v libx264 -preset ultrafast -g 25 "
#define AAC_FRAME (1024.0 / 48000)

static void out_path(char *p, size_t cap, const char *name)
{
  snprintf(p, cap, "%s/out-%s", gen_tmpdir(), name);
}

/* Neither OUTDIR nor a staging directory beside it. */
static void assert_nothing_left(const char *out)
{
  struct stat st;
  ck_assert_msg(stat(out, &st) != 0, "%s exists after a failure", out);
  const char *slash = strrchr(out, '/');
  char dir[512];
  snprintf(dir, sizeof dir, "%.*s", (int)(slash - out), out);
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  struct dirent *e;
  char prefix[300];
  snprintf(prefix, sizeof prefix, "%s.partial-", slash + 1);
  while ((e = readdir(d)))
    ck_assert_msg(strncmp(e->d_name, prefix, strlen(prefix)) != 0, "staging %s left", e->d_name);
  closedir(d);
}

static stream_media_job *job_for(const char *in, const char *out, int thumbs)
{
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  o.input = in;
  o.outdir = out;
  o.ladder = "234p";
  o.x264_preset = "ultrafast";
  o.thumbnails = thumbs;
  o.threads = 2;
  stream_media_job *j = NULL;
  ck_assert_int_eq(stream_media_job_new(&j, &o), STREAM_OK);
  return j;
}

/* Every segment of video rendition `r` (init + segment alone) starts with a
 * key frame; returns the joined rendition's path in `p`. */
static void check_rendition(char *p, size_t cap, const char *out, const cJSON *r)
{
  const char *dir = str(r, "dir");
  int video = !strcmp(str(r, "kind"), "video");
  const cJSON *seg;
  int n = 0;
  cJSON_ArrayForEach(seg, cJSON_GetObjectItem(r, "segments"))
  {
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "cat %s/%s/init.mp4 %s/%s > %s/one.mp4 && ffprobe -v error -select_streams 0 "
             "-show_entries packet=flags -read_intervals %%+#1 -of csv=p=0 %s/one.mp4",
             out, dir, out, str(seg, "file"), out, out);
    char *o = run_cmd(cmd);
    if (video)
      ck_assert_msg(o[0] == 'K', "%s: %s does not start with a key frame ('%s')", out,
                    str(seg, "file"), o);
    else
      ck_assert_msg(o[0] != 0, "%s: %s has no packet", out, str(seg, "file"));
    free(o);
    n++;
  }
  ck_assert_msg(n > 0, "%s: %s has no segments", out, dir);
  snprintf(p, cap, "%s/%s.mp4", out, dir);
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "cat %s/%s/init.mp4 %s/%s/seg_*.m4s > %s", out, dir, out, dir, p);
  ck_assert_int_eq(system(cmd), 0);
  /* the whole rendition decodes without an error */
  snprintf(cmd, sizeof cmd, "ffmpeg -nostdin -v error -i %s -f null - 2>&1", p);
  char *o = run_cmd(cmd);
  ck_assert_msg(o[0] == 0, "%s does not decode cleanly: %s", p, o);
  free(o);
}

/* Transcode `in`: it must succeed with a valid package; `audio` audio
 * renditions expected. Returns the summary (caller deletes). */
static cJSON *check_ok(const char *name, const char *in, int audio, int thumbs)
{
  ck_assert_msg(in != NULL, "cannot generate %s", name);
  char out[512];
  out_path(out, sizeof out, name);
  stream_media_job *j = job_for(in, out, thumbs);
  cJSON *s = run_summary(j, name);
  double vdur = -1;
  int naudio = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, cJSON_GetObjectItem(s, "renditions"))
  {
    char p[1024];
    check_rendition(p, sizeof p, out, r);
    if (!strcmp(str(r, "kind"), "video")) {
      ck_assert_msg(probe_num(p, "v:0", "stream=nb_read_frames") > 0, "%s: no frames", p);
      vdur = num(r, "duration");
    } else {
      naudio++;
      ck_assert_msg(fabs(num(r, "duration") - vdur) <= AAC_FRAME + 1e-6,
                    "%s: audio lasts %.4f s, video %.4f s", name, num(r, "duration"), vdur);
    }
  }
  ck_assert_msg(vdur > 0, "%s: no video rendition", name);
  ck_assert_int_eq(naudio, audio);
  char m[600];
  snprintf(m, sizeof m,
           "ffprobe -v error -show_entries format=duration -of csv=p=0 "
           "%s/master.m3u8 2>&1",
           out);
  char *o = run_cmd(m);
  ck_assert_msg(o[0] >= '0' && o[0] <= '9', "%s: master.m3u8: %s", name, o);
  free(o);
  if (thumbs) {
    snprintf(m, sizeof m, "%s/poster.jpg", out);
    ck_assert_msg(probe_num(m, "v:0", "stream=width") > 0, "%s: no poster", name);
  }
  return s;
}

/* Transcode `in`: it must fail with `code` and `needle` in the message,
 * leaving nothing behind. */
static void check_fail(const char *name, const char *in, int code, const char *needle)
{
  ck_assert_msg(in != NULL, "cannot generate %s", name);
  char out[512];
  out_path(out, sizeof out, name);
  stream_media_job *j = job_for(in, out, 0);
  int rc = stream_media_job_run(j);
  const char *msg = stream_error_last() ? stream_error_last()->message : "";
  ck_assert_msg(rc == code && strstr(msg, needle), "%s: %d '%s' (want %d '%s')", name, rc, msg,
                code, needle);
  ck_assert_int_eq(stream_media_job_state_get(j), STREAM_MEDIA_JOB_FAILED);
  stream_media_job_free(j);
  assert_nothing_left(out);
}

/* `src` cut to `keep` bytes (negative: that many fewer) as `name`. */
static const char *cut(const char *src, const char *name, long keep)
{
  ck_assert_ptr_nonnull(src);
  static char p[4][512];
  static int slot;
  char *dst = p[slot++ % 4];
  snprintf(dst, 512, "%s/%s", gen_tmpdir(), name);
  struct stat st;
  ck_assert_int_eq(stat(src, &st), 0);
  long n = keep < 0 ? (long)st.st_size + keep : keep;
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "head -c %ld %s > %s", n, src, dst);
  ck_assert_int_eq(system(cmd), 0);
  return dst;
}

/* Offset and size of the first top-level box `type` of an MP4. */
static void find_box(const char *path, const char *type, long *at, long *size)
{
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  unsigned char h[8];
  long off = 0;
  *at = -1;
  while (fseek(f, off, SEEK_SET) == 0 && fread(h, 1, 8, f) == 8) {
    long len = (long)h[0] << 24 | h[1] << 16 | h[2] << 8 | h[3];
    if (!memcmp(h + 4, type, 4)) {
      *at = off;
      *size = len;
      break;
    }
    if (len < 8)
      break;
    off += len;
  }
  fclose(f);
  ck_assert_msg(*at >= 0, "no %s box in %s", type, path);
}

/* ---- fixed ---------------------------------------------------------------- */

START_TEST(mkv_audio_outlasts_video)
{
  /* 1 s of video, 4 s of audio: the header says 4 s (its longest stream) */
  const char *in = gen("v1a4.mkv", "-f lavfi -i testsrc2=size=320x180:rate=25:duration=1 " TONE(4)
                                       X264 "-c:a aac");
  cJSON *s = check_ok("v1a4.mkv", in, 1, 0);
  ck_assert_msg(fabs(num(s, "duration") - 1.0) < 0.05, "title lasts %.3f s", num(s, "duration"));
  cJSON_Delete(s);
}
END_TEST

START_TEST(extreme_sar_refused)
{
  /* SAR 100:1: 320x180 is shown 32000 wide, every rung is wider than 8192 */
  const char *in = gen("sar100.mp4", TINY "-vf setsar=100 " X264);
  check_fail("sar100.mp4", in, STREAM_EMEDIA, "aspect ratio");
}
END_TEST

START_TEST(thumbs_very_tall)
{
  /* SAR 1:80: shown 4x180 (a 1280-wide poster would be 57600 high, tiles
   * 160x7200) */
  const char *in = gen("sar1_80.mp4", TINY "-vf setsar=1/80 " X264);
  cJSON *s = check_ok("sar1_80.mp4", in, 0, 1);
  cJSON_Delete(s);
}
END_TEST

START_TEST(thumbs_very_wide)
{
  /* 64x36 with SAR 40:1: shown 2560x36 (tiles would be 160x2) */
  const char *in =
      gen("sar40.mp4", "-f lavfi -i testsrc2=size=64x36:rate=25:duration=2 -vf setsar=40 " X264);
  cJSON *s = check_ok("sar40.mp4", in, 0, 1);
  cJSON_Delete(s);
}
END_TEST

START_TEST(ts_audio_codec_changes)
{
  /* Two MPEG-TS parts on the same PIDs: AAC, then MP2 (an ad break, a
   * channel switch in a capture). The AAC decoder refuses the MP2 packets:
   * they are skipped and their time is silence. */
  const char *a = gen("cc_a.ts", "-f lavfi -i testsrc2=size=160x90:rate=25 " TONE(2) X264
                      "-c:a aac -t 2 -output_ts_offset 1 -f mpegts");
  const char *b = gen("cc_b.ts", "-f lavfi -i testsrc2=size=160x90:rate=25 " TONE(2) X264
                      "-c:a mp2 -t 2 -output_ts_offset 3 -f mpegts");
  ck_assert_msg(a && b, "cannot generate the parts");
  char in[600], cmd[1400];
  snprintf(in, sizeof in, "%s/cc_ab.ts", gen_tmpdir());
  snprintf(cmd, sizeof cmd, "cat %s %s > %s", a, b, in);
  ck_assert_int_eq(system(cmd), 0);
  cJSON *s = check_ok("cc_ab.ts", in, 1, 0);
  ck_assert_msg(num(s, "duration") > 3.9, "title lasts %.3f s", num(s, "duration"));
  cJSON_Delete(s);
}
END_TEST

START_TEST(mp4_cut_in_moov_at_end)
{
  /* moov after mdat (not faststart); the upload stops half-way through the
   * moov: FFmpeg still finds the video track, the audio track was lost */
  const char *full = gen("me.mp4", TINY TONE(2) X264 "-c:a aac");
  long at, size;
  find_box(full, "moov", &at, &size);
  check_fail("me_cut.mp4", cut(full, "me_cut.mp4", at + size / 2), STREAM_EMEDIA, "truncated");
}
END_TEST

START_TEST(fragmented_mp4_cut)
{
  const char *full =
      gen("frag.mp4", TINY TONE(2) X264 "-c:a aac -movflags frag_keyframe+empty_moov");
  check_fail("frag_cut.mp4", cut(full, "frag_cut.mp4", -20000), STREAM_EMEDIA, "truncated");
}
END_TEST

START_TEST(faststart_mp4_cut_near_end)
{
  /* less than 1 s missing: under the duration check's tolerance */
  const char *full = gen("fs3.mp4", TINY TONE(2) X264 "-c:a aac -movflags +faststart");
  check_fail("fs3_cut.mp4", cut(full, "fs3_cut.mp4", -6000), STREAM_EMEDIA, "truncated");
}
END_TEST

/* ---- worked, must keep working -------------------------------------------- */

START_TEST(high10)
{
  cJSON *s = check_ok("hi10.mp4",
                      gen("hi10.mp4", TINY TONE(2) "-pix_fmt yuv420p10le " X264 "-c:a aac"), 1, 0);
  cJSON_Delete(s);
}
END_TEST

START_TEST(yuv444)
{
  cJSON *s = check_ok("yuv444.mp4", gen("yuv444.mp4", TINY "-pix_fmt yuv444p " X264), 0, 0);
  cJSON_Delete(s);
}
END_TEST

START_TEST(audio_7_1)
{
  cJSON *s = check_ok("ch71.mkv",
                      gen("ch71.mkv", TINY TONE(2) X264
                          "-af \"pan=7.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0|c6=c0|c7=c0\" "
                          "-c:a flac"),
                      1, 0);
  const cJSON *a = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "renditions"), 1);
  ck_assert_int_eq((int)num(a, "channels"), 2);
  cJSON_Delete(s);
}
END_TEST

START_TEST(variable_frame_rate)
{
  /* frame times jitter by up to 30 ms */
  cJSON *s = check_ok("vfr.mkv",
                      gen("vfr.mkv", TINY TONE(2) "-vf \"setpts='PTS+random(0)*0.03/TB'\" "
                                                  "-fps_mode passthrough " X264 "-c:a aac"),
                      1, 0);
  cJSON_Delete(s);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("media_odd");
  TCase *fixed = tcase_create("fixed");
  tcase_set_timeout(fixed, 120);
  tcase_add_test(fixed, mkv_audio_outlasts_video);
  tcase_add_test(fixed, extreme_sar_refused);
  tcase_add_test(fixed, thumbs_very_tall);
  tcase_add_test(fixed, thumbs_very_wide);
  tcase_add_test(fixed, ts_audio_codec_changes);
  tcase_add_test(fixed, mp4_cut_in_moov_at_end);
  tcase_add_test(fixed, fragmented_mp4_cut);
  tcase_add_test(fixed, faststart_mp4_cut_near_end);
  suite_add_tcase(s, fixed);
  TCase *kept = tcase_create("kept");
  tcase_set_timeout(kept, 120);
  tcase_add_test(kept, high10);
  tcase_add_test(kept, yuv444);
  tcase_add_test(kept, audio_7_1);
  tcase_add_test(kept, variable_frame_rate);
  suite_add_tcase(s, kept);
  return s;
}

int main(void)
{
  return run_media_suite(suite());
}
