/* Audio stays in sync with the video when the source's tracks start at
 * different times. Generated sources carry a landmark on both tracks at the
 * same presentation time (a white frame in a black video, the onset of a
 * 1 kHz beep in silent audio): one whose audio starts 0.5 s after the video
 * (MP4 edit list), one whose video starts 0.5 s after the audio (MP4 empty
 * edit), one whose audio has a 0.5 s hole in its timestamps (Matroska), one
 * whose audio goes on 12 s after the video's end, one (MPEG-TS) whose audio
 * changes from 48 kHz stereo to 44.1 kHz mono and whose video changes size
 * half-way. After
 * the transcode, the flash (ffmpeg signalstats on the rung) and the beep
 * onset (decoded rendition) must be within max(1 video frame, 1 AAC frame)
 * of each other, and the audio rendition must last as long as the video
 * within one AAC frame (summary and ffprobe). After the format change the
 * beep must also be one unbroken 1 kHz tone (no samples cut or padded). */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media_check.h"
#include "media_gen.h"
#include "stream/stream.h"

#define AAC_FRAME (1024.0 / 48000)
#define VIDEO_FRAME (1.0 / 30)
#define SYNC_TOL (VIDEO_FRAME > AAC_FRAME ? VIDEO_FRAME : AAC_FRAME)

/* Black 640x360 at 30 fps for 4 s with one white frame (frame `n`). */
#define FLASH(n)                                                                                   \
  "-f lavfi -i \"color=c=black:s=640x360:r=30:d=4,drawbox=c=white:t=fill:enable='eq(n," #n ")'\" "
/* Silence at `rate` Hz for `d` s with a 1 kHz beep from `at` s to at + 0.2 s. */
#define BEEP(at, rate, d)                                                                          \
  "-f lavfi -i \"aevalsrc=exprs='if(between(t," #at "," #at                                        \
  "+0.2),0.5*sin(2*PI*1000*t),0)':s=" #rate ":d=" #d "\" "
#define ENC "-c:v libx264 -preset ultrafast -g 30 -c:a aac -fps_mode passthrough"

/* Audio from 0.5 s to 4.8 s (beep at 1.5 s of its own time = 2.0 s), video
 * 0..4 s with the flash at 2.0 s; 44.1 kHz: the resampler is in the path. */
#define AUDIO_LATE FLASH(60) "-itsoffset 0.5 " BEEP(1.5, 44100, 4.3) ENC
/* Video from 0.5 s to 4.5 s (flash at frame 45: 2.0 s), audio 0..3.3 s with
 * the beep at 2.0 s. */
#define VIDEO_LATE "-itsoffset 0.5 " FLASH(45) BEEP(2, 48000, 3.3) ENC
/* Audio with a hole: timestamps jump by 0.5 s at 1 s of audio (what the
 * container says is the truth: the beep at 1.5 s of samples is shown at
 * 2.0 s). Video 0..4 s, flash at 2.0 s. */
#define AUDIO_GAP                                                                                  \
  FLASH(60)                                                                                        \
  BEEP(1.5, 48000, 3.5)                                                                            \
  "-af \"asetpts='if(gte(T,1),PTS+0.5/TB,PTS)'\" -c:v libx264 -preset "                            \
  "ultrafast -g 30 -c:a "                                                                          \
  "pcm_s16le -fps_mode passthrough"

/* Audio that outlasts the video by 12 s: more than the pipeline holds back
 * waiting for the video (10 s), so the cut relies on the video's announced
 * duration. */
#define AUDIO_LONG FLASH(60) BEEP(2, 48000, 16) ENC

/* Transcode `in` into `out` (one 234p rung, one thread); the summary. */
static cJSON *transcode(const char *in, const char *out)
{
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  o.input = in;
  o.outdir = out;
  o.ladder = "234p";
  o.x264_preset = "ultrafast";
  o.thumbnails = 0;
  o.threads = 1;
  stream_media_job *j = NULL;
  ck_assert_int_eq(stream_media_job_new(&j, &o), STREAM_OK);
  cJSON *s = run_summary(j, NULL);
  return s;
}

/* Presentation time of the first bright frame of the rung. */
static double flash_time(const char *video)
{
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "ffmpeg -hide_banner -loglevel error -nostdin -i %s -map 0:v -vf "
           "\"signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-\" -f null -",
           video);
  char *o = run_cmd(cmd);
  ck_assert_ptr_nonnull(o);
  double t = -1;
  for (const char *p = strstr(o, "pts_time:"); p; p = strstr(p + 1, "pts_time:")) {
    const char *y = strstr(p, "YAVG=");
    if (y && atof(y + 5) > 128) {
      t = atof(p + 9);
      break;
    }
  }
  free(o);
  ck_assert_msg(t >= 0, "no flash frame in %s", video);
  return t;
}

/* Presentation time of the first loud sample of the rendition (the beep). */
static double beep_time(const char *audio)
{
  double start = probe_num(audio, "a:0", "stream=start_time");
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "ffmpeg -hide_banner -loglevel error -nostdin -i %s -map 0:a -ac 1 -ar 48000 -f s16le -",
           audio);
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  int16_t buf[4096];
  size_t n, total = 0, onset = 0;
  int found = 0;
  while ((n = fread(buf, sizeof buf[0], 4096, p)) > 0)
    for (size_t i = 0; i < n; i++, total++)
      if (!found && abs(buf[i]) > 6000) {
        found = 1;
        onset = total;
      }
  pclose(p);
  ck_assert_msg(found, "no beep in %s", audio);
  return start + (double)onset / 48000;
}

/* Two MPEG-TS parts played one after the other (`cat`, as a capture or a
 * spliced stream): 0..2 s black 640x360 with 48 kHz stereo silence, then
 * 2..4 s black 480x270 with the flash at 3.0 s (frame 30 of the part) and
 * 44.1 kHz mono silence with a 0.6 s 1 kHz beep from 3.0 s. The muxer packs
 * several AAC frames into one PES: the demuxer makes up the timestamps of
 * the others from the header's 48 kHz. (Both parts are offset so that no
 * timestamp is negative: the muxer would shift the first part by its AAC
 * priming, off the second part's frame grid.) */
#define PART_A                                                                                     \
  "-f lavfi -i color=c=black:s=640x360:r=30:d=2 -f lavfi -i "                                      \
  "anullsrc=r=48000:cl=stereo:d=2 -c:v libx264 -preset ultrafast -g 30 -c:a aac "                  \
  "-output_ts_offset 1 "                                                                           \
  "-f mpegts"
#define PART_B                                                                                     \
  "-f lavfi -i \"color=c=black:s=480x270:r=30:d=2,drawbox=c=white:t=fill:enable='eq(n,30)'\" "     \
  "-f lavfi -i \"aevalsrc=exprs='if(between(t,1,1.6),0.5*sin(2*PI*1000*t),0)':s=44100:d=2\" "      \
  "-c:v libx264 -preset ultrafast -g 30 -c:a aac -output_ts_offset 3 -f mpegts"

/* The beep (from `onset`, `len` s) is one 1 kHz tone: its zero crossings
 * give 1 kHz within 1 %, and no stretch of it is silent for 1 ms or more. */
static void check_tone(const char *audio, double onset, double len)
{
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "ffmpeg -hide_banner -loglevel error -nostdin -i %s -map 0:a -ac 1 -ar 48000 -f s16le -",
           audio);
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  double start = probe_num(audio, "a:0", "stream=start_time");
  size_t from = (size_t)((onset - start + 0.02) * 48000),
         to = from + (size_t)((len - 0.04) * 48000);
  int16_t buf[4096];
  size_t n, at = 0, crossings = 0, quiet = 0, longest = 0;
  int prev = 0;
  while ((n = fread(buf, sizeof buf[0], 4096, p)) > 0)
    for (size_t i = 0; i < n; i++, at++) {
      if (at < from || at >= to)
        continue;
      int neg = buf[i] < 0;
      if (at > from && neg != prev)
        crossings++;
      prev = neg;
      quiet = abs(buf[i]) < 300 ? quiet + 1 : 0;
      if (quiet > longest)
        longest = quiet;
    }
  pclose(p);
  ck_assert_msg(at >= to, "%s: the audio ends at %.3f s, inside the beep", audio,
                start + (double)at / 48000);
  double hz = crossings / 2.0 / ((double)(to - from) / 48000);
  ck_assert_msg(fabs(hz - 1000) <= 10, "%s: the beep is %.1f Hz, not 1 kHz", audio, hz);
  ck_assert_msg(longest < 48, "%s: %zu silent samples inside the beep", audio, longest);
}

/* Transcode, then compare the landmarks and the durations; returns the
 * beep's time in the audio rendition, joined into `ap`. */
static double check_sync_of(const char *name, const char *in, char *ap, size_t apcap)
{
  char out[512];
  snprintf(out, sizeof out, "%s/out-%s", gen_tmpdir(), name);
  cJSON *s = transcode(in, out);
  const cJSON *v = NULL, *a = NULL, *r;
  cJSON_ArrayForEach(r, cJSON_GetObjectItem(s, "renditions"))
  {
    if (!strcmp(str(r, "kind"), "audio") && !a)
      a = r;
    else if (!strcmp(str(r, "kind"), "video") && !v)
      v = r;
  }
  ck_assert_ptr_nonnull(v);
  ck_assert_ptr_nonnull(a);
  char vp[1024];
  joined(vp, sizeof vp, out, v);
  joined(ap, apcap, out, a);

  double flash = flash_time(vp), beep = beep_time(ap);
  ck_assert_msg(fabs(beep - flash) <= SYNC_TOL + 1e-6,
                "%s: beep at %.4f s, flash at %.4f s (%.1f ms apart, at most %.1f)", name, beep,
                flash, (beep - flash) * 1000, SYNC_TOL * 1000);

  double vdur = num(v, "duration"), adur = num(a, "duration");
  ck_assert_msg(fabs(vdur - 4.0) <= VIDEO_FRAME + 1e-6, "%s: video lasts %.4f s", name, vdur);
  ck_assert_msg(fabs(adur - vdur) <= AAC_FRAME + 1e-6,
                "%s: summary: audio lasts %.4f s, video %.4f s", name, adur, vdur);
  double pv = probe_num(vp, "v:0", "stream=duration"), pa = probe_num(ap, "a:0", "stream=duration");
  ck_assert_msg(fabs(pa - pv) <= AAC_FRAME + 1e-6, "%s: ffprobe: audio lasts %.4f s, video %.4f s",
                name, pa, pv);
  /* The presentation lasts as long as the video (MPD, summary). */
  ck_assert_msg(fabs(num(s, "duration") - vdur) <= AAC_FRAME + 1e-6,
                "%s: title duration %.4f s, video %.4f s", name, num(s, "duration"), vdur);
  cJSON_Delete(s);
  return beep;
}

static void check_sync(const char *name, const char *args)
{
  const char *in = gen(name, args);
  ck_assert_msg(in != NULL, "cannot generate %s", name);
  char ap[1024];
  check_sync_of(name, in, ap, sizeof ap);
}

START_TEST(audio_starts_late)
{
  check_sync("audio_late.mp4", AUDIO_LATE);
}
END_TEST

START_TEST(video_starts_late)
{
  check_sync("video_late.mp4", VIDEO_LATE);
}
END_TEST

START_TEST(audio_gap_filled)
{
  check_sync("audio_gap.mkv", AUDIO_GAP);
}
END_TEST

START_TEST(audio_outlasts_video)
{
  check_sync("audio_long.mp4", AUDIO_LONG);
}
END_TEST

START_TEST(audio_format_changes)
{
  const char *a = gen("fmt_a.ts", PART_A), *b = gen("fmt_b.ts", PART_B);
  ck_assert_msg(a && b, "cannot generate the two parts");
  char in[600], cmd[2048];
  snprintf(in, sizeof in, "%s/fmt_ab.ts", gen_tmpdir());
  snprintf(cmd, sizeof cmd, "cat %s %s > %s", a, b, in);
  ck_assert_int_eq(system(cmd), 0);
  char ap[1024];
  double beep = check_sync_of("fmt_ab.ts", in, ap, sizeof ap);
  check_tone(ap, beep, 0.6);
}
END_TEST

static Suite *suite(void)
{
  Suite *s = suite_create("media_avsync");
  TCase *tc = tcase_create("sync");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, audio_starts_late);
  tcase_add_test(tc, video_starts_late);
  tcase_add_test(tc, audio_gap_filled);
  tcase_add_test(tc, audio_outlasts_video);
  tcase_add_test(tc, audio_format_changes);
  suite_add_tcase(s, tc);
  return s;
}

int main(void)
{
  return run_media_suite(suite());
}
