/* Unit tests for the HLS/DASH manifest writers and the bit-rate measurement
 * (libstream/media/manifest_hls.c, manifest_dash.c, package_util.c) on
 * hand-built segment indexes. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "media/media_internal.h"
#include "media/package_util.h"
#include "manifest_sample.h"

static char *mkout(const media__package *p)
{
  char tmpl[] = "/tmp/stream-manifest-XXXXXX";
  char *d = mkdtemp(tmpl);
  ck_assert_ptr_nonnull(d);
  for (size_t k = 0; p && k < p->rendition_count; k++) {
    char sub[256];
    snprintf(sub, sizeof(sub), "%s/%s", d, p->renditions[k].dir);
    ck_assert_int_eq(mkdir(sub, 0755), 0);
  }
  return strdup(d);
}

static void rmout(char *dir)
{
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
  free(dir);
}

static char *slurp(const char *dir, const char *rel)
{
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", dir, rel);
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  ck_assert_uint_eq(fread(s, 1, (size_t)n, f), (size_t)n);
  s[n] = 0;
  fclose(f);
  return s;
}

static int exists(const char *dir, const char *rel)
{
  char path[512];
  struct stat st;
  snprintf(path, sizeof(path), "%s/%s", dir, rel);
  return stat(path, &st) == 0;
}

static void assert_file(const char *dir, const char *rel, const char *want)
{
  char *got = slurp(dir, rel);
  ck_assert_msg(got != NULL, "%s missing", rel);
  ck_assert_str_eq(got, want);
  free(got);
}

static void assert_contains(const char *dir, const char *rel, const char *line)
{
  char *got = slurp(dir, rel);
  ck_assert_msg(got != NULL, "%s missing", rel);
  ck_assert_msg(strstr(got, line) != NULL, "%s lacks <%s>:\n%s", rel, line, got);
  free(got);
}

static void assert_no_temp_files(const char *dir)
{
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  struct dirent *e;
  while ((e = readdir(d)))
    ck_assert_msg(strstr(e->d_name, ".tmp") == NULL, "leftover %s", e->d_name);
  closedir(d);
}

/* ---- measurement ----------------------------------------------------------- */

START_TEST(test_measure_rfc8216_peak_and_average)
{
  media__package p;
  sample_package(&p);
  ck_assert_int_eq(media__package_target(&p), 6);
  media__package_measure(&p);
  /* 1080p: segments 6.0/6.2/5.8 Mbit/s and a 2.002 s tail at 7.0 Mbit/s. The
   * tail alone is shorter than half the target (3 s), so it only counts with
   * its neighbour: (4354350+1751750)*8/8.008 = 6.1 Mbit/s. Peak = 6.2. */
  ck_assert_int_eq(p.renditions[0].peak_bitrate, 6200000);
  ck_assert_int_eq(p.renditions[0].average_bitrate, 6100000); /* 15265250*8/20.02 */
  ck_assert_int_eq(p.renditions[1].peak_bitrate, 360000);
  ck_assert_int_eq(p.renditions[1].average_bitrate, 360000);
  ck_assert_int_eq(p.renditions[2].peak_bitrate, 2100000);
  ck_assert_int_eq(p.renditions[2].average_bitrate, 2020000); /* 5055050*8/20.02 */
  /* audio: 128000, 130000, 127875 bit/s, tail 132000 bit/s over 2.005 s;
   * with its neighbour 128909*8/8.0 = 128909. Average 322925*8/20.032. */
  ck_assert_int_eq(p.renditions[3].peak_bitrate, 130000);
  ck_assert_int_eq(p.renditions[3].average_bitrate, 128964);
  /* I-frame spans: target 2, runs of 1..3 s = single key frames. */
  const media__rendition *v = &p.renditions[0];
  int it = media__span_target(v->keyframes, v->keyframe_count, media__keyframe_span, v->timescale);
  ck_assert_int_eq(it, 2);
  ck_assert_int_eq(
      media__span_peak(v->keyframes, v->keyframe_count, media__keyframe_span, v->timescale, it),
      800000);
  ck_assert_int_eq(
      media__span_average(v->keyframes, v->keyframe_count, media__keyframe_span, v->timescale),
      620000);
  media__package_clear(&p);
  ck_assert_ptr_null(p.renditions);
  ck_assert_uint_eq(p.rendition_count, 0);
  media__package_clear(&p); /* twice is fine */
  media__package_clear(NULL);
  media__package_measure(NULL);
}
END_TEST

START_TEST(test_target_duration_rounding)
{
  media__segment s[3] = {{0, 60000, 1}, {60000, 64900, 1}, {124900, 5000, 1}};
  /* 6.0, 6.49, 0.5 s at 10 kHz -> nearest integers 6, 6, 1 (RFC 8216 §4.3.3.1) */
  ck_assert_int_eq(media__span_target(s, 3, media__segment_span, 10000), 6);
  s[1].duration = 65000; /* 6.5 rounds up */
  ck_assert_int_eq(media__span_target(s, 3, media__segment_span, 10000), 7);
  s[1].duration = 60060; /* 6.006 */
  ck_assert_int_eq(media__span_target(s, 3, media__segment_span, 10000), 6);
  s[0].duration = 3000; /* all short: at least 1 */
  s[1].duration = 3000;
  s[2].duration = 3000;
  ck_assert_int_eq(media__span_target(s, 3, media__segment_span, 10000), 1);
  ck_assert_int_eq(media__span_target(s, 0, media__segment_span, 10000), 1);
  /* no run in 0.5..1.5 target: the largest single span */
  ck_assert_int_eq(media__span_peak(s, 3, media__segment_span, 10000, 6), 27);
}
END_TEST

/* ---- HLS ------------------------------------------------------------------- */

static const char *master_a =
    "#EXTM3U\n"
    "#EXT-X-VERSION:7\n"
    "#EXT-X-INDEPENDENT-SEGMENTS\n"
    "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"English\",LANGUAGE=\"en\",DEFAULT=YES,"
    "AUTOSELECT=YES,CHANNELS=\"2\",URI=\"audio_en/index.m3u8\"\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=2230000,AVERAGE-BANDWIDTH=2148964,"
    "CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=960x540,FRAME-RATE=29.970,VIDEO-RANGE=SDR,AUDIO="
    "\"audio\"\n"
    "v540p2000/index.m3u8\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=6330000,AVERAGE-BANDWIDTH=6228964,"
    "CODECS=\"avc1.640028,mp4a.40.2\",RESOLUTION=1920x1080,FRAME-RATE=29.970,VIDEO-RANGE=SDR,AUDIO="
    "\"audio\"\n"
    "v1080p6000/index.m3u8\n"
    "#EXT-X-STREAM-INF:BANDWIDTH=490000,AVERAGE-BANDWIDTH=488964,"
    "CODECS=\"avc1.64001e,mp4a.40.2\",RESOLUTION=640x360,FRAME-RATE=29.970,VIDEO-RANGE=SDR,AUDIO="
    "\"audio\"\n"
    "v360p365/index.m3u8\n"
    "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=280000,AVERAGE-BANDWIDTH=208000,CODECS=\"avc1.64001f\","
    "RESOLUTION=960x540,URI=\"v540p2000/iframes.m3u8\"\n"
    "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=800000,AVERAGE-BANDWIDTH=620000,CODECS=\"avc1.640028\","
    "RESOLUTION=1920x1080,URI=\"v1080p6000/iframes.m3u8\"\n"
    "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100000,AVERAGE-BANDWIDTH=100000,CODECS=\"avc1.64001e\","
    "RESOLUTION=640x360,URI=\"v360p365/iframes.m3u8\"\n";

static const char *video_media_a = "#EXTM3U\n"
                                   "#EXT-X-VERSION:7\n"
                                   "#EXT-X-TARGETDURATION:6\n"
                                   "#EXT-X-PLAYLIST-TYPE:VOD\n"
                                   "#EXT-X-INDEPENDENT-SEGMENTS\n"
                                   "#EXT-X-MAP:URI=\"init.mp4\"\n"
                                   "#EXTINF:6.006000,\nseg_00001.m4s\n"
                                   "#EXTINF:6.006000,\nseg_00002.m4s\n"
                                   "#EXTINF:6.006000,\nseg_00003.m4s\n"
                                   "#EXTINF:2.002000,\nseg_00004.m4s\n"
                                   "#EXT-X-ENDLIST\n";

static const char *audio_media_a = "#EXTM3U\n"
                                   "#EXT-X-VERSION:7\n"
                                   "#EXT-X-TARGETDURATION:6\n"
                                   "#EXT-X-PLAYLIST-TYPE:VOD\n"
                                   "#EXT-X-INDEPENDENT-SEGMENTS\n"
                                   "#EXT-X-MAP:URI=\"init.mp4\"\n"
                                   "#EXTINF:6.016000,\nseg_00001.m4s\n"
                                   "#EXTINF:6.016000,\nseg_00002.m4s\n"
                                   "#EXTINF:5.994667,\nseg_00003.m4s\n"
                                   "#EXTINF:2.005333,\nseg_00004.m4s\n"
                                   "#EXT-X-ENDLIST\n";

static const char *iframes_1080 =
    "#EXTM3U\n"
    "#EXT-X-VERSION:7\n"
    "#EXT-X-TARGETDURATION:2\n"
    "#EXT-X-PLAYLIST-TYPE:VOD\n"
    "#EXT-X-I-FRAMES-ONLY\n"
    "#EXT-X-INDEPENDENT-SEGMENTS\n"
    "#EXT-X-MAP:URI=\"init.mp4\"\n"
    "#EXTINF:2.002000,\n#EXT-X-BYTERANGE:150150@100\nseg_00001.m4s\n"
    "#EXTINF:2.002000,\n#EXT-X-BYTERANGE:175175@1501600\nseg_00001.m4s\n"
    "#EXTINF:2.002000,\n#EXT-X-BYTERANGE:125125@3003100\nseg_00001.m4s\n"
    "#EXTINF:2.002000,\n#EXT-X-BYTERANGE:150150@100\nseg_00002.m4s\n"
    "#EXTINF:2.002000,\n#EXT-X-BYTERANGE:175175@1551650\nseg_00002.m4s\n"
    "#EXTINF:2.002000,\n#EXT-X-BYTERANGE:125125@3103200\nseg_00002.m4s\n"
    "#EXTINF:2.002000,\n#EXT-X-BYTERANGE:150150@100\nseg_00003.m4s\n"
    "#EXTINF:2.002000,\n#EXT-X-BYTERANGE:175175@1451550\nseg_00003.m4s\n"
    "#EXTINF:2.002000,\n#EXT-X-BYTERANGE:125125@2903000\nseg_00003.m4s\n"
    "#EXTINF:2.002000,\n#EXT-X-BYTERANGE:200200@100\nseg_00004.m4s\n"
    "#EXT-X-ENDLIST\n";

START_TEST(test_hls_ladder_with_audio)
{
  media__package p;
  sample_package(&p);
  media__package_measure(&p);
  char *out = mkout(&p);
  ck_assert_int_eq(media__write_hls(out, &p), STREAM_OK);
  assert_file(out, "master.m3u8", master_a);
  assert_file(out, "v540p2000/index.m3u8", video_media_a);
  assert_file(out, "v1080p6000/index.m3u8", video_media_a);
  assert_file(out, "audio_en/index.m3u8", audio_media_a);
  assert_file(out, "v1080p6000/iframes.m3u8", iframes_1080);
  assert_contains(out, "v360p365/iframes.m3u8", "#EXT-X-BYTERANGE:25025@180280\nseg_00003.m4s\n");
  ck_assert(!exists(out, "audio_en/iframes.m3u8"));
  assert_no_temp_files(out);
  char sub[512];
  snprintf(sub, sizeof(sub), "%s/v1080p6000", out);
  assert_no_temp_files(sub);
  /* EXTINF sums within one frame of the true duration */
  char *m = slurp(out, "v540p2000/index.m3u8");
  double sum = 0;
  for (char *s = strstr(m, "#EXTINF:"); s; s = strstr(s + 1, "#EXTINF:"))
    sum += strtod(s + 8, NULL);
  ck_assert_double_eq_tol(sum, 20.02, 1001.0 / 30000.0);
  free(m);
  /* unmeasured package (fields 0): computed on the fly, same output */
  for (size_t k = 0; k < p.rendition_count; k++)
    p.renditions[k].peak_bitrate = p.renditions[k].average_bitrate = 0;
  ck_assert_int_eq(media__write_hls(out, &p), STREAM_OK);
  assert_file(out, "master.m3u8", master_a);
  rmout(out);
  media__package_clear(&p);
}
END_TEST

static media__package video_only(void)
{
  media__package p;
  static const uint64_t b[4] = {300000, 300000, 300000, 100000};
  static const uint64_t kf[4] = {20000, 20000, 20000, 20000};
  memset(&p, 0, sizeof(p));
  p.rendition_count = 1;
  p.renditions = calloc(1, sizeof(media__rendition));
  sample_video(&p.renditions[0], "v360p", 640, 360, "avc1.64001e", 400000, b, kf);
  media__rendition *r = &p.renditions[0];
  /* 25 fps, 12800 Hz: 6 s segments and a 2 s tail; key frames every 2 s */
  r->fps_num = 25;
  r->fps_den = 1;
  r->timescale = 12800;
  for (size_t i = 0; i < 4; i++) {
    r->segments[i].start = (int64_t)i * 76800;
    r->segments[i].duration = i < 3 ? 76800 : 25600;
  }
  for (size_t k = 0; k < 10; k++) {
    r->keyframes[k].time = (int64_t)k * 25600;
    r->keyframes[k].duration = 25600;
  }
  p.duration = 20.0;
  return p;
}

START_TEST(test_hls_video_only)
{
  media__package p = video_only();
  media__package_measure(&p);
  /* 300000*8/6 = 400000; tail 100000*8/2 = 400000; average 1000000*8/20 */
  ck_assert_int_eq(p.renditions[0].peak_bitrate, 400000);
  ck_assert_int_eq(p.renditions[0].average_bitrate, 400000);
  char *out = mkout(&p);
  ck_assert_int_eq(media__write_hls(out, &p), STREAM_OK);
  assert_file(out, "master.m3u8",
              "#EXTM3U\n"
              "#EXT-X-VERSION:7\n"
              "#EXT-X-INDEPENDENT-SEGMENTS\n"
              "#EXT-X-STREAM-INF:BANDWIDTH=400000,AVERAGE-BANDWIDTH=400000,"
              "CODECS=\"avc1.64001e\",RESOLUTION=640x360,FRAME-RATE=25.000,VIDEO-RANGE=SDR\n"
              "v360p/index.m3u8\n"
              "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=80000,AVERAGE-BANDWIDTH=80000,"
              "CODECS=\"avc1.64001e\",RESOLUTION=640x360,URI=\"v360p/iframes.m3u8\"\n");
  assert_contains(out, "v360p/index.m3u8",
                  "#EXTINF:6.000000,\nseg_00003.m4s\n#EXTINF:2.000000,\nseg_00004.m4s\n"
                  "#EXT-X-ENDLIST\n");
  ck_assert_int_eq(media__write_dash(out, &p), STREAM_OK);
  assert_file(out, "manifest.mpd",
              "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" "
              "profiles=\"urn:mpeg:dash:profile:isoff-live:2011\" type=\"static\" "
              "mediaPresentationDuration=\"PT20.000S\" maxSegmentDuration=\"PT6.000S\" "
              "minBufferTime=\"PT6S\">\n"
              "  <Period id=\"0\" start=\"PT0S\">\n"
              "    <AdaptationSet id=\"0\" contentType=\"video\" mimeType=\"video/mp4\" "
              "segmentAlignment=\"true\" startWithSAP=\"1\" par=\"16:9\" maxWidth=\"640\" "
              "maxHeight=\"360\">\n"
              "      <Representation id=\"v360p\" bandwidth=\"400000\" codecs=\"avc1.64001e\" "
              "width=\"640\" height=\"360\" frameRate=\"25\" sar=\"1:1\">\n"
              "        <SegmentTemplate timescale=\"12800\" initialization=\"v360p/init.mp4\" "
              "media=\"v360p/seg_$Number%05d$.m4s\" startNumber=\"1\">\n"
              "          <SegmentTimeline>\n"
              "            <S t=\"0\" d=\"76800\" r=\"2\"/>\n"
              "            <S d=\"25600\"/>\n"
              "          </SegmentTimeline>\n"
              "        </SegmentTemplate>\n"
              "      </Representation>\n"
              "    </AdaptationSet>\n"
              "  </Period>\n"
              "</MPD>\n");
  rmout(out);
  media__package_clear(&p);
}
END_TEST

START_TEST(test_hls_variant_order)
{
  /* Without a 2000k rung: the highest at or below 2000k first, then by BANDWIDTH. */
  media__package p = video_only();
  media__rendition *r = p.renditions;
  p.renditions = calloc(3, sizeof(media__rendition));
  p.rendition_count = 3;
  static const int64_t rates[3] = {3000000, 730000, 1100000};
  static const char *ids[3] = {"v720p", "v432a", "v432b"};
  for (size_t k = 0; k < 3; k++) {
    p.renditions[k] = *r;
    snprintf(p.renditions[k].id, sizeof(p.renditions[k].id), "%s", ids[k]);
    snprintf(p.renditions[k].dir, sizeof(p.renditions[k].dir), "%s", ids[k]);
    p.renditions[k].target_bitrate = rates[k];
    p.renditions[k].peak_bitrate = rates[k] + 1000;
    p.renditions[k].average_bitrate = rates[k];
    p.renditions[k].segments = malloc(4 * sizeof(media__segment));
    memcpy(p.renditions[k].segments, r->segments, 4 * sizeof(media__segment));
    p.renditions[k].keyframes = malloc(10 * sizeof(media__keyframe));
    memcpy(p.renditions[k].keyframes, r->keyframes, 10 * sizeof(media__keyframe));
  }
  free(r->segments);
  free(r->keyframes);
  free(r);
  char *out = mkout(&p);
  ck_assert_int_eq(media__write_hls(out, &p), STREAM_OK);
  char *m = slurp(out, "master.m3u8");
  char *a = strstr(m, "v432b/index.m3u8"), *b = strstr(m, "v720p/index.m3u8"),
       *c = strstr(m, "v432a/index.m3u8");
  ck_assert(a && b && c && a < b && b < c);
  ck_assert_ptr_nonnull(strstr(m, "BANDWIDTH=1101000,AVERAGE-BANDWIDTH=1100000,"));
  free(m);
  /* all above 2000k: the lowest first */
  p.renditions[1].target_bitrate = 4500000;
  p.renditions[1].peak_bitrate = 4501000;
  p.renditions[2].target_bitrate = 6000000;
  p.renditions[2].peak_bitrate = 6001000;
  ck_assert_int_eq(media__write_hls(out, &p), STREAM_OK);
  m = slurp(out, "master.m3u8");
  a = strstr(m, "v720p/index.m3u8");
  b = strstr(m, "v432b/index.m3u8");
  c = strstr(m, "v432a/index.m3u8");
  ck_assert(a && b && c && a < b && b < c);
  free(m);
  rmout(out);
  media__package_clear(&p);
}
END_TEST

START_TEST(test_target_shared_by_audio_and_video)
{
  /* Apple 8.2: one target duration for all media playlists. Audio segment of
   * 6.6 s rounds to 7, so the video playlist says 7 too. */
  media__package p;
  sample_package(&p);
  p.renditions[3].segments[0].duration = 316800; /* 6.6 s */
  p.renditions[3].segments[1].start = 316800;
  char *out = mkout(&p);
  ck_assert_int_eq(media__write_hls(out, &p), STREAM_OK);
  assert_contains(out, "v540p2000/index.m3u8", "#EXT-X-TARGETDURATION:7\n");
  assert_contains(out, "audio_en/index.m3u8",
                  "#EXT-X-TARGETDURATION:7\n#EXT-X-PLAYLIST-TYPE:VOD\n");
  assert_contains(out, "audio_en/index.m3u8", "#EXTINF:6.600000,\nseg_00001.m4s\n");
  assert_contains(out, "v540p2000/iframes.m3u8", "#EXT-X-TARGETDURATION:2\n");
  rmout(out);
  media__package_clear(&p);
}
END_TEST

START_TEST(test_hls_two_languages)
{
  media__package p;
  sample_package(&p);
  media__rendition *more = realloc(p.renditions, 5 * sizeof(media__rendition));
  ck_assert_ptr_nonnull(more);
  p.renditions = more;
  p.rendition_count = 5;
  sample_audio(&p.renditions[4], "audio_fr", "fr",
               "Fran\xc3\xa7"
               "ais");
  p.renditions[4].segments[1].bytes = 105280; /* 140000 bit/s peak */
  p.renditions[4].codecs[8] = '5';            /* mp4a.40.5 */
  char *out = mkout(&p);
  ck_assert_int_eq(media__write_hls(out, &p), STREAM_OK);
  assert_contains(out, "master.m3u8",
                  "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"Fran\xc3\xa7"
                  "ais\","
                  "LANGUAGE=\"fr\",DEFAULT=NO,AUTOSELECT=YES,CHANNELS=\"2\","
                  "URI=\"audio_fr/index.m3u8\"\n");
  /* BANDWIDTH takes the largest audio peak of the group (9.13) */
  assert_contains(out, "master.m3u8",
                  "#EXT-X-STREAM-INF:BANDWIDTH=2240000,AVERAGE-BANDWIDTH=2151967,"
                  "CODECS=\"avc1.64001f,mp4a.40.2,mp4a.40.5\"");
  ck_assert_int_eq(media__write_dash(out, &p), STREAM_OK);
  assert_contains(out, "manifest.mpd",
                  "<AdaptationSet id=\"2\" contentType=\"audio\" mimeType=\"audio/mp4\" "
                  "lang=\"fr\" segmentAlignment=\"true\" startWithSAP=\"1\">\n"
                  "      <Label>Fran\xc3\xa7"
                  "ais</Label>\n"
                  "      <Role schemeIdUri=\"urn:mpeg:dash:role:2011\" value=\"alternate\"/>\n");
  rmout(out);
  media__package_clear(&p);
}
END_TEST

/* ---- DASH ------------------------------------------------------------------ */

START_TEST(test_dash_ladder)
{
  media__package p;
  sample_package(&p);
  media__package_measure(&p);
  char *out = mkout(&p);
  ck_assert_int_eq(media__write_dash(out, &p), STREAM_OK);
  const char *mpd = "manifest.mpd";
  assert_contains(out, mpd,
                  "<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" "
                  "profiles=\"urn:mpeg:dash:profile:isoff-live:2011\" type=\"static\" "
                  "mediaPresentationDuration=\"PT20.020S\" maxSegmentDuration=\"PT6.016S\" "
                  "minBufferTime=\"PT6S\">\n");
  assert_contains(out, mpd,
                  "<AdaptationSet id=\"0\" contentType=\"video\" mimeType=\"video/mp4\" "
                  "segmentAlignment=\"true\" startWithSAP=\"1\" par=\"16:9\" maxWidth=\"1920\" "
                  "maxHeight=\"1080\">\n");
  assert_contains(out, mpd,
                  "<Representation id=\"v540p2000\" bandwidth=\"2100000\" codecs=\"avc1.64001f\" "
                  "width=\"960\" height=\"540\" frameRate=\"30000/1001\" sar=\"1:1\">\n"
                  "        <SegmentTemplate timescale=\"30000\" "
                  "initialization=\"v540p2000/init.mp4\" media=\"v540p2000/seg_$Number%05d$.m4s\" "
                  "startNumber=\"1\">\n"
                  "          <SegmentTimeline>\n"
                  "            <S t=\"0\" d=\"180180\" r=\"2\"/>\n"
                  "            <S d=\"60060\"/>\n"
                  "          </SegmentTimeline>\n");
  assert_contains(out, mpd,
                  "<AdaptationSet id=\"1\" contentType=\"audio\" mimeType=\"audio/mp4\" "
                  "lang=\"en\" segmentAlignment=\"true\" startWithSAP=\"1\">\n"
                  "      <Label>English</Label>\n"
                  "      <Role schemeIdUri=\"urn:mpeg:dash:role:2011\" value=\"main\"/>\n"
                  "      <Representation id=\"audio_en\" bandwidth=\"130000\" "
                  "codecs=\"mp4a.40.2\" audioSamplingRate=\"48000\">\n"
                  "        <AudioChannelConfiguration "
                  "schemeIdUri=\"urn:mpeg:dash:23003:3:audio_channel_configuration:2011\" "
                  "value=\"2\"/>\n");
  assert_contains(out, mpd,
                  "            <S t=\"0\" d=\"288768\" r=\"1\"/>\n"
                  "            <S d=\"287744\"/>\n"
                  "            <S d=\"96256\"/>\n");
  /* a gap in the timeline gets an explicit t; unaligned rungs are declared so;
   * a long title gets hours and minutes */
  p.renditions[1].segments[3].start += 1001;
  p.duration = 3725.5;
  p.renditions[1].segment_pattern[4] = 0; /* "seg_" + no number -> invalid */
  ck_assert_int_eq(media__write_dash(out, &p), STREAM_EINVAL);
  snprintf(p.renditions[1].segment_pattern, sizeof(p.renditions[1].segment_pattern), "%%u.m4s");
  ck_assert_int_eq(media__write_dash(out, &p), STREAM_OK);
  assert_contains(out, mpd, "mediaPresentationDuration=\"PT1H2M5.500S\"");
  assert_contains(out, mpd, "segmentAlignment=\"false\"");
  assert_contains(out, mpd, "media=\"v360p365/$Number$.m4s\"");
  assert_contains(out, mpd,
                  "<S t=\"0\" d=\"180180\" r=\"2\"/>\n            <S t=\"541541\" d=\"60060\"/>\n");
  assert_no_temp_files(out);
  rmout(out);
  media__package_clear(&p);
}
END_TEST

/* ---- invalid indexes ------------------------------------------------------- */

typedef void (*breaker)(media__package *p);
static void b_no_renditions(media__package *p)
{
  p->rendition_count = 0;
}
static void b_no_segments(media__package *p)
{
  p->renditions[2].segment_count = 0;
}
static void b_zero_duration(media__package *p)
{
  p->renditions[3].segments[2].duration = 0;
}
static void b_negative_duration(media__package *p)
{
  p->renditions[0].segments[0].duration = -5;
}
static void b_unknown_kind(media__package *p)
{
  p->renditions[1].kind = 3;
}
static void b_audio_codec_on_video(media__package *p)
{
  snprintf(p->renditions[0].codecs, sizeof(p->renditions[0].codecs), "mp4a.40.2");
}
static void b_video_as_audio(media__package *p)
{
  p->renditions[3].kind = MEDIA__VIDEO;
}
static void b_audio_with_keyframes(media__package *p)
{
  p->renditions[3].keyframes = calloc(1, sizeof(media__keyframe));
  p->renditions[3].keyframe_count = 1;
}
static void b_no_keyframes(media__package *p)
{
  p->renditions[2].keyframe_count = 0;
}
static void b_keyframe_outside(media__package *p)
{
  p->renditions[0].keyframes[9].length = 1751700;
}
static void b_keyframe_segment(media__package *p)
{
  p->renditions[0].keyframes[9].segment = 4;
}
static void b_bad_pattern(media__package *p)
{
  snprintf(p->renditions[0].segment_pattern, 64, "seg_%%s.m4s");
}
static void b_two_numbers(media__package *p)
{
  snprintf(p->renditions[0].segment_pattern, 64, "%%u_%%u.m4s");
}
static void b_space_pattern(media__package *p)
{
  snprintf(p->renditions[0].segment_pattern, 64, "seg%%5u.m4s");
}
static void b_dir_escape(media__package *p)
{
  snprintf(p->renditions[0].dir, 64, "../x");
}
static void b_dir_dotdot(media__package *p)
{
  snprintf(p->renditions[0].dir, 64, "..");
}
static void b_unterminated(media__package *p)
{
  memset(p->renditions[0].init_name, 'a', 64);
}
static void b_dup_id(media__package *p)
{
  snprintf(p->renditions[1].id, 32, "v1080p6000");
}
static void b_dup_dir(media__package *p)
{
  snprintf(p->renditions[1].dir, 64, "v1080p6000");
}
static void b_no_video(media__package *p)
{
  media__rendition t = p->renditions[0];
  p->renditions[0] = p->renditions[3];
  p->renditions[3] = t;
  p->rendition_count = 1;
}
static void b_quote_name(media__package *p)
{
  snprintf(p->renditions[3].name, 64, "Eng\"lish");
}
static void b_bad_language(media__package *p)
{
  snprintf(p->renditions[3].language, 16, "en,US");
}
static void b_timescale(media__package *p)
{
  p->renditions[1].timescale = 0;
}
static void b_fps(media__package *p)
{
  p->renditions[1].fps_den = 0;
}
static void b_size(media__package *p)
{
  p->renditions[1].height = 0;
}
static void b_no_codecs(media__package *p)
{
  p->renditions[1].codecs[0] = 0;
}
static void b_two_codecs(media__package *p)
{
  snprintf(p->renditions[1].codecs, 64, "avc1.64001e,mp4a.40.2");
}
static void b_order(media__package *p)
{
  p->renditions[1].segments[2].start = 0;
}
static void b_empty_segment(media__package *p)
{
  p->renditions[1].segments[1].bytes = 0;
}
static void b_neg_rate(media__package *p)
{
  p->renditions[1].peak_bitrate = -1;
}
static void b_duration_nan(media__package *p)
{
  p->duration = -1.0;
}

static const struct {
  breaker fn;
  const char *msg;
} breakers[] = {
    {b_no_renditions, "package has no renditions"},
    {b_no_segments, "rendition 'v540p2000' has no segments"},
    {b_zero_duration, "rendition 'audio_en': segment 2 has duration 0"},
    {b_negative_duration, "segment 0 has duration -5"},
    {b_unknown_kind, "rendition 'v360p365' has unknown kind 3"},
    {b_audio_codec_on_video, "rendition 'v1080p6000' is video but its codec 'mp4a.40.2' is audio"},
    {b_video_as_audio, "rendition 'audio_en' is video but its codec 'mp4a.40.2' is audio"},
    {b_audio_with_keyframes, "audio rendition 'audio_en' has 1 key frames"},
    {b_no_keyframes, "video rendition 'v540p2000' has no key frames"},
    {b_keyframe_outside, "key frame 9 byte range 1751700@100 is outside segment 3"},
    {b_keyframe_segment, "key frame 9 is in segment 4 of 4"},
    {b_bad_pattern, "segment_pattern must be a file name with one %u"},
    {b_two_numbers, "segment_pattern"},
    {b_space_pattern, "segment_pattern"},
    {b_dir_escape, "dir '../x' has a character outside"},
    {b_dir_dotdot, "dir '..' is not a file name"},
    {b_unterminated, "init_name is not NUL-terminated"},
    {b_dup_id, "two renditions have the id 'v1080p6000'"},
    {b_dup_dir, "share the directory 'v1080p6000'"},
    {b_no_video, "package has no video rendition"},
    {b_quote_name, "name has a forbidden character 0x22"},
    {b_bad_language, "language has a forbidden character 0x2c"},
    {b_timescale, "timescale 0"},
    {b_fps, "frame rate 30000/0"},
    {b_size, "size 640x0"},
    {b_no_codecs, "has no codecs string"},
    {b_two_codecs, "is not one RFC 6381 codec"},
    {b_order, "segment 2 starts at 0, not after segment 1"},
    {b_empty_segment, "segment 1 is empty (0 bytes)"},
    {b_neg_rate, "negative measured bit rate"},
    {b_duration_nan, "package duration"},
};

START_TEST(test_invalid_indexes_rejected)
{
  media__package p;
  sample_package(&p);
  breakers[_i].fn(&p);
  char *out = mkout(NULL);
  for (int dash = 0; dash < 2; dash++) {
    stream_error_clear();
    int rc = dash ? media__write_dash(out, &p) : media__write_hls(out, &p);
    ck_assert_int_eq(rc, STREAM_EINVAL);
    const stream_error *e = stream_error_last();
    ck_assert_ptr_nonnull(e);
    ck_assert_msg(strstr(e->message, breakers[_i].msg) != NULL, "case %d: got '%s', want '%s'", _i,
                  e->message, breakers[_i].msg);
  }
  /* nothing written */
  ck_assert(!exists(out, "master.m3u8"));
  ck_assert(!exists(out, "manifest.mpd"));
  rmout(out);
  p.rendition_count = 4; /* so that clear frees every array */
  media__package_clear(&p);
}
END_TEST

START_TEST(test_bad_arguments_and_io)
{
  media__package p;
  sample_package(&p);
  ck_assert_int_eq(media__write_hls(NULL, &p), STREAM_EINVAL);
  ck_assert_int_eq(media__write_hls("", &p), STREAM_EINVAL);
  ck_assert_int_eq(media__write_hls("/tmp", NULL), STREAM_EINVAL);
  ck_assert_int_eq(media__write_dash(NULL, &p), STREAM_EINVAL);
  ck_assert_int_eq(media__write_dash("/tmp", NULL), STREAM_EINVAL);
  /* missing output directory: I/O error naming the path */
  ck_assert_int_eq(media__write_dash("/nonexistent-stream-dir", &p), STREAM_EIO);
  ck_assert_ptr_nonnull(
      strstr(stream_error_last()->message, "/nonexistent-stream-dir/manifest.mpd"));
  ck_assert_int_eq(media__write_hls("/nonexistent-stream-dir", &p), STREAM_EIO);
  /* a rendition directory missing: EIO, and no master playlist */
  char *out = mkout(NULL);
  ck_assert_int_eq(media__write_hls(out, &p), STREAM_EIO);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "v1080p6000/index.m3u8"));
  ck_assert(!exists(out, "master.m3u8"));
  assert_no_temp_files(out);
  rmout(out);
  media__package_clear(&p);
}
END_TEST

/* Random corruption of a valid index: always OK or STREAM_EINVAL, never a crash. */
START_TEST(test_random_indexes)
{
  srand(12345);
  char *out = NULL;
  {
    media__package p;
    sample_package(&p);
    out = mkout(&p);
    media__package_clear(&p);
  }
  int ok = 0, bad = 0;
  for (int iter = 0; iter < 300; iter++) {
    media__package p;
    sample_package(&p);
    int edits = 1 + rand() % 3;
    for (int e = 0; e < edits; e++) {
      media__rendition *r = &p.renditions[rand() % 4];
      int64_t v = (int64_t)(rand() % 400000) - 1000;
      switch (rand() % 10) {
      case 0:
        r->segments[rand() % 4].duration = v;
        break;
      case 1:
        r->segments[rand() % 4].bytes = (uint64_t)(rand() % 5000000);
        break;
      case 2:
        r->segments[rand() % 4].start = v;
        break;
      case 3:
        if (r->keyframe_count)
          r->keyframes[rand() % 10].offset = (uint64_t)(rand() % 5000000);
        break;
      case 4:
        if (r->keyframe_count)
          r->keyframes[rand() % 10].segment = (size_t)(rand() % 6);
        break;
      case 5:
        r->timescale = v % 3;
        break;
      case 6:
        r->segment_pattern[rand() % 14] = (char)(rand() % 256);
        break;
      case 7:
        r->codecs[rand() % 12] = (char)(rand() % 256);
        break;
      case 8:
        r->start_number = (unsigned int)rand() * 2u;
        break;
      default:
        r->keyframe_count = 0;
        break;
      }
    }
    int rc1 = media__write_hls(out, &p), rc2 = media__write_dash(out, &p);
    ck_assert(rc1 == STREAM_OK || rc1 == STREAM_EINVAL);
    ck_assert_int_eq(rc1, rc2);
    rc1 == STREAM_OK ? ok++ : bad++;
    for (size_t k = 0; k < 4; k++)
      if (p.renditions[k].kind == MEDIA__VIDEO)
        p.renditions[k].keyframe_count = 10;
    media__package_clear(&p);
  }
  ck_assert_int_gt(ok, 0);
  ck_assert_int_gt(bad, 0);
  rmout(out);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("media-manifest");
  TCase *tc = tcase_create("manifest");
  tcase_add_test(tc, test_measure_rfc8216_peak_and_average);
  tcase_add_test(tc, test_target_duration_rounding);
  tcase_add_test(tc, test_hls_ladder_with_audio);
  tcase_add_test(tc, test_hls_video_only);
  tcase_add_test(tc, test_hls_variant_order);
  tcase_add_test(tc, test_target_shared_by_audio_and_video);
  tcase_add_test(tc, test_hls_two_languages);
  tcase_add_test(tc, test_dash_ladder);
  tcase_add_loop_test(tc, test_invalid_indexes_rejected, 0,
                      (int)(sizeof(breakers) / sizeof(breakers[0])));
  tcase_add_test(tc, test_bad_arguments_and_io);
  tcase_add_test(tc, test_random_indexes);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
