/* Every audio track of the source in the ladder: a generated source with
 * three tones (440 Hz "eng", 1000 Hz "fra" marked default, 660 Hz without a
 * language but named "Commentary" in its MP4 handler) is transcoded into three AAC renditions
 * (ffprobe: AAC, 48 kHz, stereo, duration within one AAC frame and one
 * video frame of the video's, as the single track always was), the right tone in each
 * (zero-crossing rate of a decoded second), HLS EXT-X-MEDIA with BCP 47 LANGUAGE, unique NAMEs and
 * exactly one DEFAULT, BANDWIDTH covering the highest audio peak, hls_check.py and the npm parsers
 * pass, one DASH AdaptationSet per language with Role main once; selection by audio_tracks (order,
 * default falls back to the first); refused selections leave nothing behind;
 * stream_media_subtitles_add on a multi-audio title keeps every audio track. */
#include <check.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "media_check.h"
#include "media_gen.h"
#include "stream/stream.h"

#define AV_MULTI                                                                                   \
  "-f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=frequency=440:sample_rate=44100 "    \
  "-f lavfi -i sine=frequency=1000:sample_rate=48000 -f lavfi -i "                                 \
  "sine=frequency=660:sample_rate=44100 -map 0:v -map 1:a -map 2:a -map 3:a -t 4 -c:v libx264 "    \
  "-preset ultrafast -c:a aac -metadata:s:a:0 language=eng -metadata:s:a:1 language=fra "          \
  "-metadata:s:a:2 handler_name=Commentary -disposition:a:0 0 -disposition:a:1 default "           \
  "-disposition:a:2 0"

static int count(const char *hay, const char *needle)
{
  int n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

static int exists(const char *path)
{
  struct stat st;
  return stat(path, &st) == 0;
}

static const char *source(void)
{
  const char *in = gen("multi.mp4", AV_MULTI);
  ck_assert_ptr_nonnull(in);
  return in;
}

static stream_media_job_options options(const char *in, const char *out)
{
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  o.input = in;
  o.outdir = out;
  o.ladder = "360p,234p";
  o.x264_preset = "ultrafast";
  o.thumbnails = 0;
  o.threads = 2;
  return o;
}

static cJSON *run(const stream_media_job_options *o)
{
  stream_media_job *j = NULL;
  ck_assert_int_eq(stream_media_job_new(&j, o), STREAM_OK);
  cJSON *s = run_summary(j, NULL);
  return s;
}

/* The audio renditions of a summary, in order, into a[] (returns how many). */
static int audio_of(const cJSON *s, const cJSON **a, int cap, const cJSON **video)
{
  int n = 0;
  const cJSON *r;
  *video = NULL;
  cJSON_ArrayForEach(r, cJSON_GetObjectItem(s, "renditions"))
  {
    if (!strcmp(str(r, "kind"), "audio")) {
      ck_assert_int_lt(n, cap);
      a[n++] = r;
    } else if (!*video) {
      *video = r;
    }
  }
  return n;
}

/* Zero crossings per second of one second (1 s .. 2 s) of a rendition,
 * decoded by ffmpeg to mono 48 kHz; a tone of f Hz gives about 2f. Also
 * checks the stream with ffprobe: AAC, 48 kHz, 2 channels; returns its
 * duration in *dur. */
static double crossings(const char *outdir, const cJSON *r, double *dur)
{
  const char *dir = str(r, "dir");
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "cat %s/%s/init.mp4 %s/%s/seg_*.m4s > %s/%s.mp4", outdir, dir, outdir,
           dir, outdir, dir);
  ck_assert_int_eq(system(cmd), 0);
  snprintf(cmd, sizeof cmd,
           "ffprobe -v error -select_streams a:0 -show_entries "
           "stream=codec_name,profile,sample_rate,channels:format=duration -of "
           "default=nw=1 %s/%s.mp4",
           outdir, dir);
  char *o = run_cmd(cmd);
  ck_assert_ptr_nonnull(strstr(o, "codec_name=aac\n"));
  ck_assert_ptr_nonnull(strstr(o, "profile=LC\n"));
  ck_assert_ptr_nonnull(strstr(o, "sample_rate=48000\n"));
  ck_assert_ptr_nonnull(strstr(o, "channels=2\n"));
  const char *d = strstr(o, "duration=");
  ck_assert_ptr_nonnull(d);
  *dur = atof(d + 9);
  free(o);
  snprintf(cmd, sizeof cmd,
           "ffmpeg -hide_banner -loglevel error -nostdin -ss 1 -t 1 -i %s/%s.mp4 -ac 1 -ar 48000 "
           "-f s16le -",
           outdir, dir);
  FILE *p = popen(cmd, "r");
  ck_assert_ptr_nonnull(p);
  int16_t buf[4096];
  size_t n, total = 0;
  int prev = 0, zc = 0;
  while ((n = fread(buf, sizeof buf[0], 4096, p)) > 0)
    for (size_t i = 0; i < n; i++, total++) {
      int sgn = buf[i] > 0 ? 1 : buf[i] < 0 ? -1 : 0;
      if (sgn && prev && sgn != prev)
        zc++;
      if (sgn)
        prev = sgn;
    }
  pclose(p);
  ck_assert_int_gt(total, 40000);
  return zc * 48000.0 / (double)total;
}

/* The EXT-X-MEDIA line of the audio rendition in `dir` (copied into line). */
static void media_line(char *line, size_t cap, const char *master, const char *dir)
{
  char uri[128];
  snprintf(uri, sizeof uri, "URI=\"%s/index.m3u8\"", dir);
  const char *u = strstr(master, uri);
  ck_assert_msg(u != NULL, "no EXT-X-MEDIA for %s", dir);
  const char *b = u;
  while (b > master && b[-1] != '\n')
    b--;
  ck_assert(!strncmp(b, "#EXT-X-MEDIA:TYPE=AUDIO,", 24));
  size_t len = (size_t)(strchr(u, '\n') - b);
  ck_assert_uint_lt(len, cap);
  memcpy(line, b, len);
  line[len] = 0;
}

/* BANDWIDTH / AVERAGE-BANDWIDTH of every variant: its video's measured peak
 * (average) plus the highest audio peak (average). */
static void check_bandwidth(const char *master, const cJSON *s)
{
  double apeak = 0, aavg = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, cJSON_GetObjectItem(s, "renditions"))
  {
    if (strcmp(str(r, "kind"), "audio"))
      continue;
    apeak = fmax(apeak, num(r, "peak_bitrate"));
    aavg = fmax(aavg, num(r, "average_bitrate"));
  }
  int variants = 0;
  cJSON_ArrayForEach(r, cJSON_GetObjectItem(s, "renditions"))
  {
    if (strcmp(str(r, "kind"), "video"))
      continue;
    char want[256];
    snprintf(want, sizeof want, "#EXT-X-STREAM-INF:BANDWIDTH=%lld,AVERAGE-BANDWIDTH=%lld,",
             (long long)(num(r, "peak_bitrate") + apeak),
             (long long)(num(r, "average_bitrate") + aavg));
    ck_assert_msg(strstr(master, want) != NULL, "no variant line %s", want);
    variants++;
  }
  ck_assert_int_eq(variants, 2);
  ck_assert_int_eq(count(master, "#EXT-X-STREAM-INF:"), 2);
}

static int hls_check(const char *out)
{
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s --quiet %s", HLS_CHECK, out);
  return system(cmd);
}

START_TEST(all_tracks)
{
  const char *in = source();
  char out[512];
  snprintf(out, sizeof out, "%s/all", gen_tmpdir());
  stream_media_job_options o = options(in, out);
  /* A version-2 caller: the fields after subtitles are not read (all tracks). */
  o.version = 2;
  o.audio_track_count = 1;
  o.audio_tracks[0] = 1;
  cJSON *s = run(&o);
  const cJSON *a[8], *v;
  ck_assert_int_eq(audio_of(s, a, 8, &v), 3);
  /* the default-marked French track first, then the input's order */
  const char *dirs[] = {"audio_fra", "audio_eng", "audio_und"};
  const char *langs[] = {"fr", "en", "und"};
  const double hz[] = {1000, 440, 660};
  double vdur = num(v, "duration");
  for (int i = 0; i < 3; i++) {
    ck_assert_str_eq(str(a[i], "dir"), dirs[i]);
    ck_assert_str_eq(str(a[i], "language"), langs[i]);
    ck_assert_str_eq(str(a[i], "codecs"), "mp4a.40.2");
    double dur = 0, zc = crossings(out, a[i], &dur);
    ck_assert_msg(fabs(zc - 2 * hz[i]) < 0.05 * 2 * hz[i], "%s: %f crossings/s, want %f", dirs[i],
                  zc, 2 * hz[i]);
    ck_assert_msg(fabs(dur - vdur) <= 1024.0 / 48000 + 1.0 / 30 + 1e-3, "%s lasts %f, video %f",
                  dirs[i], dur, vdur);
    ck_assert_msg(fabs(num(a[i], "duration") - vdur) <= 1024.0 / 48000 + 1.0 / 30 + 1e-3,
                  "%s: %f vs %f", dirs[i], num(a[i], "duration"), vdur);
  }
  char *m = gen_slurp(out, "master.m3u8");
  ck_assert_ptr_nonnull(m);
  ck_assert_int_eq(count(m, "#EXT-X-MEDIA:TYPE=AUDIO,"), 3);
  ck_assert_int_eq(count(m, "TYPE=AUDIO,GROUP-ID=\"audio\""), 3);
  ck_assert_int_eq(count(m, "DEFAULT=YES"), 1);
  ck_assert_int_eq(count(m, "AUTOSELECT=YES"), 3);
  char line[512];
  media_line(line, sizeof line, m, "audio_fra");
  ck_assert_str_eq(line, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"Fran\xc3\xa7"
                         "ais\",LANGUAGE=\"fr\",DEFAULT=YES,AUTOSELECT=YES,CHANNELS=\"2\","
                         "URI=\"audio_fra/index.m3u8\"");
  media_line(line, sizeof line, m, "audio_eng");
  ck_assert_str_eq(line, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"English\","
                         "LANGUAGE=\"en\",DEFAULT=NO,AUTOSELECT=YES,CHANNELS=\"2\","
                         "URI=\"audio_eng/index.m3u8\"");
  media_line(line, sizeof line, m, "audio_und");
  ck_assert_str_eq(line, "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"Commentary\","
                         "LANGUAGE=\"und\",DEFAULT=NO,AUTOSELECT=YES,CHANNELS=\"2\","
                         "URI=\"audio_und/index.m3u8\"");
  check_bandwidth(m, s);
  free(m);
  char *d = gen_slurp(out, "manifest.mpd");
  ck_assert_ptr_nonnull(d);
  ck_assert_int_eq(count(d, "contentType=\"audio\""), 3);
  ck_assert_int_eq(count(d, "lang=\"fr\""), 1);
  ck_assert_int_eq(count(d, "lang=\"en\""), 1);
  ck_assert_int_eq(count(d, "lang=\"und\""), 1);
  ck_assert_int_eq(count(d, "value=\"main\""), 1); /* the French set only */
  const char *fr = strstr(d, "lang=\"fr\"");
  ck_assert_ptr_nonnull(strstr(fr, "value=\"main\""));
  ck_assert(strstr(fr, "value=\"main\"") < strstr(d, "lang=\"en\""));
  free(d);
  ck_assert_int_eq(hls_check(out), 0);
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "bash %s --dir %s > /dev/null", RUN_PARSERS, out);
  ck_assert_int_eq(system(cmd), 0);
  cJSON_Delete(s);

  /* Subtitles added later keep every audio track and its attributes. */
  char srt[512], added[512];
  snprintf(srt, sizeof srt, "%s/fr.srt", gen_tmpdir());
  FILE *f = fopen(srt, "w");
  ck_assert_ptr_nonnull(f);
  fputs("1\n00:00:00,500 --> 00:00:01,500\nBonjour\n", f);
  fclose(f);
  snprintf(added, sizeof added, "%s/all_subs", gen_tmpdir());
  stream_media_subtitle t = {srt, "fr",
                             "Fran\xc3\xa7"
                             "ais",
                             1, 0};
  ck_assert_msg(stream_media_subtitles_add(out, added, &t) == STREAM_OK, "%s",
                stream_error_last()->message);
  char *m1 = gen_slurp(out, "master.m3u8"), *m2 = gen_slurp(added, "master.m3u8");
  ck_assert_int_eq(count(m2, "#EXT-X-MEDIA:TYPE=SUBTITLES,"), 1);
  for (const char *p = m1; (p = strstr(p, "#EXT-X-MEDIA:TYPE=AUDIO,")) != NULL; p++) {
    size_t len = (size_t)(strchr(p, '\n') - p + 1);
    char l2[512];
    ck_assert_uint_lt(len, sizeof l2);
    memcpy(l2, p, len);
    l2[len] = 0;
    ck_assert_msg(strstr(m2, l2) != NULL, "lost %s", l2);
  }
  free(m1);
  free(m2);
  ck_assert_int_eq(hls_check(added), 0);
  snprintf(cmd, sizeof cmd, "bash %s --dir %s 1 > /dev/null", RUN_PARSERS, added);
  ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(selected_tracks)
{
  const char *in = source();
  char out[512];
  snprintf(out, sizeof out, "%s/sel", gen_tmpdir());
  stream_media_job_options o = options(in, out);
  o.audio_track_count = 2;
  o.audio_tracks[0] = 3; /* the untagged 660 Hz track, then English */
  o.audio_tracks[1] = 1;
  cJSON *s = run(&o);
  const cJSON *a[8], *v;
  ck_assert_int_eq(audio_of(s, a, 8, &v), 2);
  ck_assert_str_eq(str(a[0], "dir"), "audio_und");
  ck_assert_str_eq(str(a[1], "dir"), "audio_eng");
  double dur;
  ck_assert(fabs(crossings(out, a[0], &dur) - 1320) < 66);
  ck_assert(fabs(crossings(out, a[1], &dur) - 880) < 44);
  char *m = gen_slurp(out, "master.m3u8");
  ck_assert_int_eq(count(m, "#EXT-X-MEDIA:TYPE=AUDIO,"), 2);
  ck_assert_int_eq(count(m, "DEFAULT=YES"), 1);
  char line[512];
  media_line(line, sizeof line, m, "audio_und");
  ck_assert_ptr_nonnull(strstr(line, "DEFAULT=YES"));
  char path[600];
  snprintf(path, sizeof path, "%s/audio_fra", out);
  ck_assert(!exists(path));
  check_bandwidth(m, s);
  free(m);
  ck_assert_int_eq(hls_check(out), 0);
  cJSON_Delete(s);
}
END_TEST

static void expect_refused(int at_new, const int *tracks, size_t n, int code, const char *msg)
{
  const char *in = source();
  char out[512];
  snprintf(out, sizeof out, "%s/bad", gen_tmpdir());
  stream_media_job_options o = options(in, out);
  o.audio_track_count = n;
  for (size_t i = 0; i < n && i < STREAM_MEDIA_MAX_AUDIO; i++)
    o.audio_tracks[i] = tracks[i];
  stream_media_job *j = NULL;
  int rc = stream_media_job_new(&j, &o);
  if (at_new) {
    ck_assert_int_eq(rc, code);
    ck_assert_ptr_null(j);
  } else {
    ck_assert_int_eq(rc, STREAM_OK);
    rc = stream_media_job_run(j);
    ck_assert_int_eq(rc, code);
    ck_assert_int_eq(stream_media_job_state_get(j), STREAM_MEDIA_JOB_FAILED);
    stream_media_job_free(j);
  }
  ck_assert_msg(strstr(stream_error_last()->message, msg) != NULL, "message '%s' lacks '%s'",
                stream_error_last()->message, msg);
  ck_assert(!exists(out));
  char cmd[600];
  snprintf(cmd, sizeof cmd, "ls -d %s.partial-* 2>/dev/null | wc -l", out);
  char *c = run_cmd(cmd);
  ck_assert_int_eq(atoi(c), 0);
  free(c);
}

START_TEST(bad_selections)
{
  const int dup[] = {2, 1, 2}, neg[] = {-1}, video[] = {1, 0}, none[] = {7};
  const int many[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  expect_refused(1, dup, 3, STREAM_EINVAL, "audio stream 2 is selected twice");
  expect_refused(1, neg, 1, STREAM_EINVAL, "stream index -1 is negative");
  expect_refused(1, many, 9, STREAM_EINVAL, "9 audio tracks selected (at most 8)");
  expect_refused(0, video, 2, STREAM_EINVAL, "stream 0 of");
  expect_refused(0, video, 2, STREAM_EINVAL, "is not an audio track (audio tracks: 1, 2, 3)");
  expect_refused(0, none, 1, STREAM_EINVAL, "stream 7 of");
}
END_TEST

int main(void)
{
  Suite *s = suite_create("media_multiaudio");
  TCase *tc = tcase_create("multiaudio");
  tcase_set_timeout(tc, 180);
  tcase_add_test(tc, all_tracks);
  tcase_add_test(tc, selected_tracks);
  tcase_add_test(tc, bad_selections);
  suite_add_tcase(s, tc);
  return run_media_suite(s);
}
