/* stream_media_subtitles_add on real transcodes: a title packaged without
 * subtitles plus an SRT equals (manifests and WebVTT files byte-identical) a
 * one-shot transcode with that subtitle, passes hls_check.py, shares the
 * unchanged segment files by hard link and leaves the source untouched;
 * replacing a language, a second language as default, and the errors (bad
 * metadata, missing files, an asset without a packaging index, an existing
 * outdir) with nothing left behind. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "stream/stream.h"
#include "media_gen.h"

#define SRT_FR                                                                                     \
  "1\n00:00:00,500 --> 00:00:01,500\nBonjour <i>le monde</i>\n\n"                                  \
  "2\n00:00:01,800 --> 00:00:02,600\nAu-del\xc3\xa0 de la limite\n\n"                              \
  "3\n00:00:03,000 --> 00:00:03,900\nFin\n"

/* 1 when dir_a/rel and dir_b/rel exist with the same bytes (binary files too). */
static int same_file(const char *a, const char *b, const char *rel)
{
  char p[2][1024];
  snprintf(p[0], sizeof p[0], "%s/%s", a, rel);
  snprintf(p[1], sizeof p[1], "%s/%s", b, rel);
  FILE *f[2] = {fopen(p[0], "rb"), fopen(p[1], "rb")};
  int same = f[0] && f[1];
  while (same) {
    char x[4096], y[4096];
    size_t n = fread(x, 1, sizeof x, f[0]), m = fread(y, 1, sizeof y, f[1]);
    same = n == m && memcmp(x, y, n) == 0;
    if (n == 0)
      break;
  }
  for (int i = 0; i < 2; i++)
    if (f[i])
      fclose(f[i]);
  return same;
}

static const char *write_text(const char *name, const char *text)
{
  static char path[4][512];
  static int slot;
  char *p = path[slot++ % 4];
  snprintf(p, 512, "%s/%s", gen_tmpdir(), name);
  FILE *f = fopen(p, "wb");
  if (!f)
    return NULL;
  fputs(text, f);
  fclose(f);
  return p;
}

static const char *dir(const char *name)
{
  static char path[16][512];
  static int slot;
  char *p = path[slot++ % 16];
  snprintf(p, 512, "%s/%s", gen_tmpdir(), name);
  return p;
}

/* Transcode the 4 s source (one thread, so that two runs give the same bytes). */
static void transcode(const char *out, const stream_media_subtitle *sub)
{
  const char *in = gen("src4.mp4", "-f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i "
                                   "sine=frequency=440:sample_rate=48000 -t 4 -c:v libx264 "
                                   "-preset ultrafast -c:a aac -shortest");
  ck_assert_ptr_nonnull(in);
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  o.input = in;
  o.outdir = out;
  o.ladder = "360p,234p";
  o.x264_preset = "ultrafast";
  o.segment_seconds = 2;
  o.thumbnails = 0;
  o.threads = 1;
  if (sub) {
    o.subtitle_count = 1;
    o.subtitles[0] = *sub;
  }
  stream_media_job *j = NULL;
  ck_assert_int_eq(stream_media_job_new(&j, &o), STREAM_OK);
  ck_assert_msg(stream_media_job_run(j) == STREAM_OK, "%s", stream_error_last()->message);
  stream_media_job_free(j);
}

static int hls_check(const char *out)
{
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s --quiet %s", HLS_CHECK, out);
  return system(cmd);
}

static const char *const manifests[] = {"master.m3u8",
                                        "manifest.mpd",
                                        "v360p_365/index.m3u8",
                                        "v360p_365/iframes.m3u8",
                                        "v234p_145/index.m3u8",
                                        "v234p_145/iframes.m3u8",
                                        "audio_und/index.m3u8",
                                        "sub_fr/index.m3u8",
                                        "sub_fr/seg_00001.vtt",
                                        "sub_fr/seg_00002.vtt",
                                        "sub_fr.vtt"};

static void same_package(const char *a, const char *b)
{
  for (size_t i = 0; i < sizeof manifests / sizeof *manifests; i++)
    ck_assert_msg(same_file(a, b, manifests[i]), "%s differs between %s and %s", manifests[i], a,
                  b);
}

/* No directory `d` and no d.partial-* beside it. */
static void nothing_left(const char *d)
{
  struct stat st;
  ck_assert_int_ne(stat(d, &st), 0);
  DIR *dd = opendir(gen_tmpdir());
  ck_assert_ptr_nonnull(dd);
  const char *base = strrchr(d, '/') + 1;
  struct dirent *e;
  while ((e = readdir(dd)))
    ck_assert_msg(strncmp(e->d_name, base, strlen(base)) != 0 || strlen(e->d_name) == strlen(base),
                  "left behind: %s", e->d_name);
  closedir(dd);
}

START_TEST(add_equals_one_shot)
{
  stream_media_subtitle fr = {write_text("fr.srt", SRT_FR), "fr", NULL, 0, 0};
  const char *plain = dir("plain"), *oneshot = dir("oneshot"), *added = dir("added");
  transcode(plain, NULL);
  transcode(oneshot, &fr);
  char *before = gen_slurp(plain, "master.m3u8");
  ck_assert_ptr_nonnull(before);

  ck_assert_msg(stream_media_subtitles_add(plain, added, &fr) == STREAM_OK, "%s",
                stream_error_last()->message);
  ck_assert_int_eq(hls_check(added), 0);
  /* segment files equal (the encoder is deterministic on one thread), so the
   * manifests must be byte for byte the ones of the one-shot transcode */
  ck_assert(same_file(plain, oneshot, "v360p_365/seg_00002.m4s"));
  same_package(added, oneshot);
  char *master = gen_slurp(added, "master.m3u8");
  ck_assert_ptr_nonnull(strstr(master, "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"fr\","
                                       "LANGUAGE=\"fr\",DEFAULT=NO,AUTOSELECT=YES,FORCED=NO,"
                                       "URI=\"sub_fr/index.m3u8\"\n"));
  free(master);
  char *seg = gen_slurp(added, "sub_fr/seg_00002.vtt");
  ck_assert_ptr_nonnull(
      strstr(seg, "00:00:01.800 --> 00:00:02.600\nAu-del\xc3\xa0 de la limite\n"));
  free(seg);
  char *summary = gen_slurp(added, "summary.json");
  ck_assert_ptr_nonnull(strstr(summary, "\"sub_fr/seg_00002.vtt\""));
  ck_assert_ptr_nonnull(strstr(summary, added));
  free(summary);

  /* unchanged files are shared, the source is untouched */
  struct stat s1, s2;
  char p1[1024], p2[1024];
  snprintf(p1, sizeof p1, "%s/v234p_145/seg_00001.m4s", plain);
  snprintf(p2, sizeof p2, "%s/v234p_145/seg_00001.m4s", added);
  ck_assert_int_eq(stat(p1, &s1), 0);
  ck_assert_int_eq(stat(p2, &s2), 0);
  ck_assert(s1.st_ino == s2.st_ino);
  char *after = gen_slurp(plain, "master.m3u8");
  ck_assert_str_eq(before, after);
  free(before);
  free(after);
  snprintf(p1, sizeof p1, "%s/sub_fr", plain);
  ck_assert_int_ne(stat(p1, &s1), 0);

  /* the same call again: the output exists */
  ck_assert_int_eq(stream_media_subtitles_add(plain, added, &fr), STREAM_EEXIST);

  /* adding the same track to the one-shot output rewrites it identically */
  const char *again = dir("again");
  ck_assert_int_eq(stream_media_subtitles_add(oneshot, again, &fr), STREAM_OK);
  same_package(again, oneshot);
  ck_assert(same_file(again, oneshot, "summary.json") == 0); /* "outdir" differs */

  /* replace fr (new text, a name), then add en as the default */
  stream_media_subtitle fr2 = {
      write_text("fr2.vtt", "WEBVTT\n\n00:00:02.200 --> 00:00:03.000\nNouveau texte\n"), "FR",
      "Fran\xc3\xa7"
      "ais",
      1, 0};
  const char *replaced = dir("replaced"), *two = dir("two");
  ck_assert_msg(stream_media_subtitles_add(added, replaced, &fr2) == STREAM_OK, "%s",
                stream_error_last()->message);
  ck_assert_int_eq(hls_check(replaced), 0);
  master = gen_slurp(replaced, "master.m3u8");
  ck_assert_ptr_nonnull(strstr(master, "NAME=\"Fran\xc3\xa7"
                                       "ais\",LANGUAGE=\"FR\",DEFAULT=YES,"
                                       "AUTOSELECT=YES,FORCED=NO,URI=\"sub_fr/index.m3u8\"\n"));
  ck_assert_ptr_null(strstr(master, "NAME=\"fr\""));
  free(master);
  seg = gen_slurp(replaced, "sub_fr/seg_00002.vtt");
  ck_assert_ptr_nonnull(strstr(seg, "Nouveau texte"));
  ck_assert_ptr_null(strstr(seg, "limite"));
  free(seg);
  seg = gen_slurp(replaced, "sub_fr.vtt");
  ck_assert_ptr_null(strstr(seg, "Bonjour"));
  free(seg);
  seg = gen_slurp(added, "sub_fr/seg_00002.vtt"); /* the older asset keeps its files */
  ck_assert_ptr_nonnull(strstr(seg, "limite"));
  free(seg);

  stream_media_subtitle en = {write_text("en.srt", "1\n00:00:00,100 --> 00:00:00,900\nHello\n"),
                              "en-GB", "English", 1, 0};
  ck_assert_int_eq(stream_media_subtitles_add(replaced, two, &en), STREAM_OK);
  ck_assert_int_eq(hls_check(two), 0);
  master = gen_slurp(two, "master.m3u8");
  ck_assert_ptr_nonnull(strstr(master, "LANGUAGE=\"FR\",DEFAULT=NO,"));
  ck_assert_ptr_nonnull(
      strstr(master, "NAME=\"English\",LANGUAGE=\"en-GB\",DEFAULT=YES,AUTOSELECT=YES,FORCED=NO,"
                     "URI=\"sub_en_gb/index.m3u8\"\n"));
  free(master);
  char *mpd = gen_slurp(two, "manifest.mpd");
  ck_assert_ptr_nonnull(strstr(mpd, "<BaseURL>sub_en_gb.vtt</BaseURL>"));
  ck_assert_ptr_nonnull(strstr(mpd, "<BaseURL>sub_fr.vtt</BaseURL>"));
  free(mpd);
  /* a different language may not take an existing track's name */
  en.language = "de";
  en.is_default = 0;
  ck_assert_int_eq(stream_media_subtitles_add(two, dir("dup"), &en), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "English"));
  nothing_left(dir("dup"));
}
END_TEST

START_TEST(errors)
{
  stream_media_subtitle fr = {write_text("e.srt", SRT_FR), "fr", NULL, 0, 0};
  const char *src = dir("esrc"), *out = dir("eout");
  ck_assert_int_eq(stream_media_subtitles_add(NULL, out, &fr), STREAM_EINVAL);
  ck_assert_int_eq(stream_media_subtitles_add(src, "", &fr), STREAM_EINVAL);
  ck_assert_int_eq(stream_media_subtitles_add(src, out, NULL), STREAM_EINVAL);
  stream_media_subtitle badlang = fr;
  badlang.language = "fr_FR";
  ck_assert_int_eq(stream_media_subtitles_add(src, out, &badlang), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "BCP 47"));
  ck_assert_int_eq(stream_media_subtitle_check(&badlang), STREAM_EINVAL);
  stream_media_subtitle meta = {NULL, "pt-BR", "Portugu\xc3\xaas", 1, 1};
  ck_assert_int_eq(stream_media_subtitle_check(&meta), STREAM_OK);
  meta.forced = 2;
  ck_assert_int_eq(stream_media_subtitle_check(&meta), STREAM_EINVAL);
  ck_assert_int_eq(stream_media_subtitle_check(NULL), STREAM_EINVAL);
  stream_media_subtitle nopath = fr;
  nopath.path = NULL;
  ck_assert_int_eq(stream_media_subtitles_add(src, out, &nopath), STREAM_EINVAL);

  /* no source */
  ck_assert_int_eq(stream_media_subtitles_add(src, out, &fr), STREAM_ENOTFOUND);
  /* a source whose summary has no packaging index (older libstream) */
  ck_assert_int_eq(mkdir(src, 0755), 0);
  write_text("esrc/summary.json",
             "{\"duration\":4,\"segment_target\":2,\"renditions\":[{\"id\":\"v\",\"kind\":"
             "\"video\",\"dir\":\"v\",\"codecs\":\"avc1.64001e\",\"width\":640,\"height\":360,"
             "\"fps\":\"25/1\",\"target_bitrate\":1,\"average_bitrate\":1,\"peak_bitrate\":1,"
             "\"timescale\":12800}],\"subtitles\":[]}");
  ck_assert_int_eq(stream_media_subtitles_add(src, out, &fr), STREAM_EMEDIA);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "packaging index"));
  nothing_left(out);
  write_text("esrc/summary.json", "not json");
  ck_assert_int_eq(stream_media_subtitles_add(src, out, &fr), STREAM_EMEDIA);
  nothing_left(out);

  /* a real source; a missing or non-subtitle file fails before anything is written */
  const char *real = dir("ereal");
  transcode(real, NULL);
  stream_media_subtitle missing = {"/nonexistent/x.srt", "fr", NULL, 0, 0};
  ck_assert_int_eq(stream_media_subtitles_add(real, out, &missing), STREAM_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "/nonexistent/x.srt"));
  nothing_left(out);
  stream_media_subtitle notsubs = {write_text("e.txt", "just some text\nno cues\n"), "fr", NULL, 0,
                                   0};
  ck_assert_int_eq(stream_media_subtitles_add(real, out, &notsubs), STREAM_EMEDIA);
  nothing_left(out);
  /* an existing output directory */
  ck_assert_int_eq(stream_media_subtitles_add(real, real, &fr), STREAM_EEXIST);
}
END_TEST

/* An upload exported by a subtitle tool: BOM, CRLF, REGION and STYLE blocks and
 * NOTE comments before the cues (FFmpeg 5.1 alone found no cues in it). */
START_TEST(add_vtt_with_style)
{
  stream_media_subtitle de = {
      write_text("styled.vtt", "\xef\xbb\xbfWEBVTT\r\n\r\nNOTE exported\r\n\r\nREGION\r\nid:r1\r\n"
                               "width:40%\r\n\r\nSTYLE\r\n::cue { color: yellow }\r\n\r\n"
                               "1\r\n00:00:00.500 --> 00:00:01.500 region:r1 align:start\r\n"
                               "Hallo <b>Welt</b>\r\n\r\nNOTE between cues\r\n\r\n"
                               "2\r\n00:00:02.200 --> 00:00:03.100\r\nZweite\r\nZeile\r\n"),
      "de", NULL, 0, 0};
  const char *plain = dir("splain"), *added = dir("sadded");
  transcode(plain, NULL);
  ck_assert_msg(stream_media_subtitles_add(plain, added, &de) == STREAM_OK, "%s",
                stream_error_last()->message);
  ck_assert_int_eq(hls_check(added), 0);
  char *whole = gen_slurp(added, "sub_de.vtt");
  ck_assert_ptr_nonnull(whole);
  ck_assert_str_eq(whole, "WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nHallo <b>Welt</b>\n"
                          "\n00:00:02.200 --> 00:00:03.100\nZweite\nZeile\n");
  free(whole);
  char *s1 = gen_slurp(added, "sub_de/seg_00001.vtt"),
       *s2 = gen_slurp(added, "sub_de/seg_00002.vtt");
  ck_assert_ptr_nonnull(strstr(s1, "\n00:00:00.500 --> 00:00:01.500\nHallo <b>Welt</b>\n"));
  ck_assert_ptr_null(strstr(s1, "Zweite"));
  ck_assert_ptr_nonnull(strstr(s2, "\n00:00:02.200 --> 00:00:03.100\nZweite\nZeile\n"));
  free(s1);
  free(s2);
  char *summary = gen_slurp(added, "summary.json");
  ck_assert_ptr_nonnull(strstr(summary, "\"sub_de/seg_00002.vtt\""));
  free(summary);
}
END_TEST

int main(void)
{
  gen_tmpdir(); /* created before forking, so every test shares (and we remove) it */
  Suite *s = suite_create("media_subtitles_add");
  TCase *tc = tcase_create("subtitles_add");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, add_equals_one_shot);
  tcase_add_test(tc, errors);
  tcase_add_test(tc, add_vtt_with_style);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  sh("rm -rf %s%s", gen_tmpdir(), NULL);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
