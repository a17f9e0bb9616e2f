/* Subtitles: option validation (BCP 47 shape, names, defaults, version 1 of
 * the options), ASS markup to WebVTT text, reading SRT/WebVTT files with
 * FFmpeg and the errors for bad files, and a real transcode whose WebVTT
 * segments are parsed back (cue times, boundary cue in both segments,
 * X-TIMESTAMP-MAP, playlists); WebVTT files with STYLE / REGION blocks and NOTE
 * comments (read, and packaged). */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "media/media_internal.h"
#include "stream/stream.h"
#include "media_gen.h"

static stream_media_job_options base_opts(void)
{
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  o.input = "in.mp4";
  o.outdir = "out";
  o.subtitle_count = 1;
  o.subtitles[0].path = "a.srt";
  o.subtitles[0].language = "en";
  return o;
}

static int job_new_rc(const stream_media_job_options *o)
{
  stream_media_job *j = NULL;
  int rc = stream_media_job_new(&j, o);
  stream_media_job_free(j);
  return rc;
}

START_TEST(validation)
{
  stream_media_job_options o = base_opts();
  ck_assert_int_eq(job_new_rc(&o), STREAM_OK);
  static const char *good[] = {"en",         "pt-BR",     "zh-Hant", "es-419",
                               "sr-Latn-RS", "x-klingon", "fil"};
  for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
    o.subtitles[0].language = good[i];
    ck_assert_msg(job_new_rc(&o) == STREAM_OK, "%s refused", good[i]);
  }
  static const char *bad[] = {"",      "e",  "english!",         "en-", "-en", "en--US",
                              "en_US", "12", "en-toolongsubtag", "x"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    o.subtitles[0].language = bad[i];
    ck_assert_msg(job_new_rc(&o) == STREAM_EINVAL, "%s accepted", bad[i]);
    ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "BCP 47"));
  }
  o = base_opts();
  o.subtitles[0].language = NULL;
  ck_assert_int_eq(job_new_rc(&o), STREAM_EINVAL);
  o = base_opts();
  o.subtitles[0].path = "";
  ck_assert_int_eq(job_new_rc(&o), STREAM_EINVAL);
  o = base_opts();
  o.subtitles[0].name = "say \"hi\"";
  ck_assert_int_eq(job_new_rc(&o), STREAM_EINVAL);
  o.subtitles[0].name = "line\nbreak";
  ck_assert_int_eq(job_new_rc(&o), STREAM_EINVAL);
  o = base_opts();
  o.subtitles[0].is_default = 2;
  ck_assert_int_eq(job_new_rc(&o), STREAM_EINVAL);
  /* two defaults; duplicate names (the language stands in for a missing name) */
  o = base_opts();
  o.subtitle_count = 2;
  o.subtitles[1] = o.subtitles[0];
  ck_assert_int_eq(job_new_rc(&o), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "same name"));
  o.subtitles[1].name = "English (SDH)";
  ck_assert_int_eq(job_new_rc(&o), STREAM_OK);
  o.subtitles[0].is_default = o.subtitles[1].is_default = 1;
  ck_assert_int_eq(job_new_rc(&o), STREAM_EINVAL);
  o = base_opts();
  o.subtitle_count = STREAM_MEDIA_MAX_SUBTITLES + 1;
  ck_assert_int_eq(job_new_rc(&o), STREAM_EINVAL);
}
END_TEST

START_TEST(version_1_accepted)
{
  /* A version-1 caller's struct ends before subtitle_count: whatever follows
   * it in memory must not be read as subtitles. */
  stream_media_job_options *o = malloc(sizeof *o);
  ck_assert_ptr_nonnull(o);
  memset(o, 0xff, sizeof *o);
  stream_media_job_options init = STREAM_MEDIA_JOB_OPTIONS_INIT;
  memcpy(o, &init, offsetof(stream_media_job_options, subtitle_count));
  o->version = 1;
  o->input = "in.mp4";
  o->outdir = "out";
  ck_assert_int_eq(job_new_rc(o), STREAM_OK);
  o->version = 3;
  ck_assert_int_eq(job_new_rc(o), STREAM_EINVAL);
  free(o);
}
END_TEST

START_TEST(ass_to_vtt)
{
  static const char *cases[][2] = {
      {"plain", "plain"},
      {"{\\an8}top", "top"},
      {"{\\i1}it{\\i0} and {\\b1}bold{\\b0}", "<i>it</i> and <b>bold</b>"},
      {"one\\Ntwo\\ntwo b", "one\ntwo\ntwo b"},
      {"a < b & c > d", "a &lt; b &amp; c &gt; d"},
      {"{\\i1}open", "<i>open</i>"},
      {"{\\i1}{\\b1}x{\\i0}y{\\b0}", "<i><b>x</b></i><b>y</b>"},
      {"{\\bord2\\blur3\\c&H0000FF&}colour", "colour"},
      {"\\N\\Nblank\\N\\Nlines\\N", "blank\nlines"},
      {"caf\xc3\xa9\\hd\xc3\xa9j\xc3\xa0", "caf\xc3\xa9\xc2\xa0\x64\xc3\xa9j\xc3\xa0"},
      {"no end {\\i1", "no end"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char *v = media__ass_to_vtt(cases[i][0]);
    ck_assert_ptr_nonnull(v);
    ck_assert_msg(strcmp(v, cases[i][1]) == 0, "'%s' -> '%s', want '%s'", cases[i][0], v,
                  cases[i][1]);
    free(v);
  }
}
END_TEST

static const char *write_text(const char *name, const char *text)
{
  static char path[4][512];
  static int slot;
  char *p = path[slot++ % 4];
  snprintf(p, 512, "%s/%s", gen_tmpdir(), name);
  FILE *f = fopen(p, "wb");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
  return p;
}

#define SRT                                                                                        \
  "1\n00:00:01,000 --> 00:00:02,500\nCaf\xc3\xa9 <i>d\xc3\xa9j\xc3\xa0</i> vu\n\n"                 \
  "2\n00:00:05,000 --> 00:00:07,250\n{\\an8}Across\nthe boundary\n\n"                              \
  "3\n00:00:11,000 --> 00:00:20,000\nPast the end\n\n"                                             \
  "4\n00:00:30,000 --> 00:00:31,000\nNever shown\n"

START_TEST(read_files)
{
  media__text t;
  memset(&t, 0, sizeof t);
  ck_assert_int_eq(media__subs_read(&t, write_text("a.srt", SRT)), STREAM_OK);
  ck_assert_uint_eq(t.cue_count, 4);
  ck_assert_int_eq(t.cues[0].start, 1000);
  ck_assert_int_eq(t.cues[0].end, 2500);
  ck_assert_str_eq(t.cues[0].text, "Caf\xc3\xa9 <i>d\xc3\xa9j\xc3\xa0</i> vu");
  ck_assert_str_eq(t.cues[1].text, "Across\nthe boundary");
  ck_assert_int_eq(t.cues[1].end, 7250);
  media__text_clear(&t);
  ck_assert_int_eq(media__subs_read(&t, write_text("b.vtt", "WEBVTT\n\n00:00.500 --> "
                                                            "00:01.000\n<b>x</b> &amp; y\n")),
                   STREAM_OK);
  ck_assert_uint_eq(t.cue_count, 1);
  ck_assert_int_eq(t.cues[0].start, 500);
  ck_assert_str_eq(t.cues[0].text, "<b>x</b> &amp; y");
  media__text_clear(&t);
  /* bad files, each named in the message */
  ck_assert_int_eq(media__subs_read(&t, "/nonexistent/x.srt"), STREAM_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "/nonexistent/x.srt"));
  ck_assert_int_eq(media__subs_read(&t, write_text("empty.vtt", "")), STREAM_EMEDIA);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "empty.vtt is empty"));
  ck_assert_int_eq(media__subs_read(&t, write_text("nocue.vtt", "WEBVTT\n\n")), STREAM_EMEDIA);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "has no cues"));
  const char *png =
      gen("img.png", "-f lavfi -i color=c=red:s=16x16 -frames:v 1 -c:v png -f image2");
  ck_assert_ptr_nonnull(png);
  char renamed[600];
  snprintf(renamed, sizeof renamed, "%s/img.srt", gen_tmpdir());
  ck_assert_int_eq(sh("cp %s %s", png, renamed), 0);
  ck_assert_int_eq(media__subs_read(&t, renamed), STREAM_EMEDIA);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "img.srt is not a subtitle file"));
  ck_assert_ptr_null(t.cues);
  /* a video file is not subtitles either */
  const char *v = gen("v.mp4", V_ONLY);
  ck_assert_int_eq(media__subs_read(&t, v), STREAM_EMEDIA);
}
END_TEST

/* WebVTT files with STYLE / REGION blocks and NOTE comments (FFmpeg 5.1's
 * demuxer alone returns no cues once it meets a STYLE or REGION block); each
 * has the same two cues. */
#define VTT_CUES(nl)                                                                               \
  "00:00:00.500 --> 00:00:01.500" nl "Hello <i>there</i>" nl nl                                    \
  "00:00:02.000 --> 00:00:03.000 line:10% position:20% align:start" nl "World" nl
static const struct {
  const char *lang, *text;
} vtt_blocks[] = {
    {"en", "WEBVTT\n\nSTYLE\n::cue { color: yellow }\n::cue(b) { color: red }\n\n" VTT_CUES("\n")},
    {"de", "WEBVTT\n\nREGION\nid:fred\nwidth:40%\nlines:3\n\n" VTT_CUES("\n")},
    {"it", "WEBVTT - exported\n\nNOTE made by a tool\nover two lines\n\nSTYLE\n::cue { color: "
           "lime }\n\nNOTE\nbetween blocks\n\n00:00:00.500 --> 00:00:01.500\nHello "
           "<i>there</i>\n\nNOTE in the middle\n\n00:00:02.000 --> 00:00:03.000 line:10% "
           "position:20% align:start\nWorld\n"},
    {"fr", "\xef\xbb\xbfWEBVTT\r\n\r\nSTYLE\r\n::cue { color: yellow }\r\n\r\n" VTT_CUES("\r\n")},
    {"pt", "WEBVTT\r\n\r\nREGION\r\nid:r1\r\n\r\nSTYLE\r\n::cue {}\r\n\r\n" VTT_CUES("\r\n")},
    /* a cue whose identifier is "STYLE" is a cue: kept */
    {"ja", "WEBVTT\n\nSTYLE\n::cue {}\n\n\n\nSTYLE\n00:00:00.500 --> 00:00:01.500\nHello "
           "<i>there</i>\n\n2\n00:00:02.000 --> 00:00:03.000 line:10% position:20% "
           "align:start\nWorld"},
};

START_TEST(read_vtt_blocks)
{
  for (size_t i = 0; i < sizeof vtt_blocks / sizeof *vtt_blocks; i++) {
    media__text t;
    memset(&t, 0, sizeof t);
    char name[32];
    snprintf(name, sizeof name, "blocks_%s.vtt", vtt_blocks[i].lang);
    int rc = media__subs_read(&t, write_text(name, vtt_blocks[i].text));
    ck_assert_msg(rc == STREAM_OK, "%s: %s", name, stream_error_last()->message);
    ck_assert_msg(t.cue_count == 2, "%s: %zu cues", name, t.cue_count);
    ck_assert_int_eq(t.cues[0].start, 500);
    ck_assert_int_eq(t.cues[0].end, 1500);
    ck_assert_str_eq(t.cues[0].text, "Hello <i>there</i>");
    ck_assert_int_eq(t.cues[1].start, 2000);
    ck_assert_int_eq(t.cues[1].end, 3000);
    ck_assert_str_eq(t.cues[1].text, "World");
    media__text_clear(&t);
  }
  /* only NOTE comments: FFmpeg skips them itself; still two cues */
  media__text t;
  memset(&t, 0, sizeof t);
  ck_assert_int_eq(media__subs_read(&t, write_text("note.vtt", "WEBVTT\n\nNOTE hi\n\n" VTT_CUES(
                                                                   "\n") "\nNOTE end\n")),
                   STREAM_OK);
  ck_assert_uint_eq(t.cue_count, 2);
  media__text_clear(&t);
  /* after the first cue a block without "-->" is not a cue and is ignored
   * (WebVTT parser rules): a late STYLE block or stray text loses nothing */
  ck_assert_int_eq(
      media__subs_read(&t,
                       write_text("late.vtt", "WEBVTT\n\n00:00:00.500 --> 00:00:01.500\nHello "
                                              "<i>there</i>\n\nSTYLE\n::cue {}\n\nstray "
                                              "words\n\n00:00:02.000 --> 00:00:03.000\nWorld\n")),
      STREAM_OK);
  ck_assert_uint_eq(t.cue_count, 2);
  ck_assert_str_eq(t.cues[1].text, "World");
  media__text_clear(&t);
  /* so is an unknown block before the first cue (some exporters' "Kind:" lines) */
  ck_assert_int_eq(
      media__subs_read(&t, write_text("kind.vtt", "WEBVTT\n\nKind: captions\nLanguage: "
                                                  "en\n\n" VTT_CUES("\n"))),
      STREAM_OK);
  ck_assert_uint_eq(t.cue_count, 2);
  media__text_clear(&t);
  /* CR-only line ends (old Mac exports): FFmpeg alone loses the first cue */
  ck_assert_int_eq(media__subs_read(&t, write_text("cr.vtt", "WEBVTT\r\r" VTT_CUES("\r"))),
                   STREAM_OK);
  ck_assert_uint_eq(t.cue_count, 2);
  ck_assert_int_eq(t.cues[0].start, 500);
  ck_assert_str_eq(t.cues[0].text, "Hello <i>there</i>");
  ck_assert_str_eq(t.cues[1].text, "World");
  media__text_clear(&t);
  /* a STYLE block and no cue is still a file without cues */
  ck_assert_int_eq(
      media__subs_read(&t, write_text("style_only.vtt", "WEBVTT\n\nSTYLE\n::cue {}\n")),
      STREAM_EMEDIA);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "has no cues"));
  ck_assert_ptr_null(t.cues);
}
END_TEST

static char *slurp(const char *dir, const char *rel)
{
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  FILE *f = fopen(p, "rb");
  if (!f)
    return NULL;
  static char buf[8][65536];
  static int slot;
  char *b = buf[slot++ % 8];
  size_t n = fread(b, 1, sizeof buf[0] - 1, f);
  b[n] = 0;
  fclose(f);
  return b;
}

static size_t count(const char *s, const char *needle)
{
  size_t n = 0;
  for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

START_TEST(transcode_with_subtitles)
{
  /* 13 s source at 30 fps: video segments 6 + 6 + 1 s */
  const char *in = gen("src13.mp4", "-f lavfi -i testsrc2=size=640x360:rate=30 -t 13 -c:v libx264 "
                                    "-preset ultrafast");
  ck_assert_ptr_nonnull(in);
  char out[512], bad[512];
  snprintf(out, sizeof out, "%s/out", gen_tmpdir());
  snprintf(bad, sizeof bad, "%s/bad", gen_tmpdir());
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  o.input = in;
  o.outdir = out;
  o.ladder = "234p";
  o.x264_preset = "veryfast"; /* B-frames: the first PTS must still map to MPEGTS 0 */
  o.thumbnails = 0;
  o.subtitle_count = 2;
  o.subtitles[0].path = write_text("t.srt", SRT);
  o.subtitles[0].language = "fr";
  o.subtitles[0].name = "Fran\xc3\xa7"
                        "ais";
  o.subtitles[0].is_default = 1;
  o.subtitles[1].path = write_text("t.vtt", "WEBVTT\n\n00:00:06.500 --> 00:00:08.000\nSegundo\n");
  o.subtitles[1].language = "es";
  o.subtitles[1].forced = 1;
  stream_media_job *j = NULL;
  ck_assert_int_eq(stream_media_job_new(&j, &o), STREAM_OK);
  ck_assert_msg(stream_media_job_run(j) == STREAM_OK, "%s", stream_error_last()->message);
  char *js = NULL;
  ck_assert_int_eq(stream_media_job_summary(&js, j), STREAM_OK);
  ck_assert_ptr_nonnull(strstr(js, "\"subtitles\""));
  ck_assert_ptr_nonnull(strstr(js, "\"sub_fr/seg_00003.vtt\""));
  stream_free(js);
  stream_media_job_free(j);

  const char *video = slurp(out, "v234p_145/index.m3u8");
  ck_assert_ptr_nonnull(video);
  ck_assert_uint_eq(count(video, "#EXTINF"), 3);
  const char *pl = slurp(out, "sub_fr/index.m3u8");
  ck_assert_ptr_nonnull(pl);
  ck_assert_uint_eq(count(pl, "#EXTINF"), 3);
  ck_assert_ptr_nonnull(strstr(pl, "#EXT-X-PLAYLIST-TYPE:VOD\n"));
  ck_assert_ptr_nonnull(strstr(pl, "#EXT-X-ENDLIST\n"));
  const char *hdr = "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n";
  const char *s1 = slurp(out, "sub_fr/seg_00001.vtt"), *s2 = slurp(out, "sub_fr/seg_00002.vtt"),
             *s3 = slurp(out, "sub_fr/seg_00003.vtt");
  ck_assert_ptr_nonnull(s3);
  ck_assert_int_eq(strncmp(s1, hdr, strlen(hdr)), 0);
  ck_assert_int_eq(strncmp(s2, hdr, strlen(hdr)), 0);
  ck_assert_int_eq(strncmp(s3, hdr, strlen(hdr)), 0);
  ck_assert_ptr_nonnull(
      strstr(s1, "00:00:01.000 --> 00:00:02.500\nCaf\xc3\xa9 <i>d\xc3\xa9j\xc3\xa0"));
  /* the boundary cue, with its full times, in both segments */
  const char *across = "00:00:05.000 --> 00:00:07.250\nAcross\nthe boundary\n";
  ck_assert_ptr_nonnull(strstr(s1, across));
  ck_assert_ptr_nonnull(strstr(s2, across));
  ck_assert_ptr_null(strstr(s3, "Across"));
  /* past the end: clipped to the video's end (13 s), the later cue dropped */
  ck_assert_ptr_nonnull(strstr(s3, "00:00:11.000 --> 00:00:13.000\nPast the end"));
  ck_assert_ptr_nonnull(strstr(s2, "00:00:11.000 --> 00:00:13.000\nPast the end"));
  ck_assert_ptr_null(strstr(slurp(out, "sub_fr.vtt"), "Never shown"));
  const char *es2 = slurp(out, "sub_es/seg_00002.vtt");
  ck_assert_ptr_nonnull(strstr(es2, "00:00:06.500 --> 00:00:08.000\nSegundo"));
  ck_assert_ptr_null(strstr(slurp(out, "sub_es/seg_00001.vtt"), "Segundo"));
  const char *master = slurp(out, "master.m3u8");
  ck_assert_ptr_nonnull(strstr(master, "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subs\",NAME=\"Fran"
                                       "\xc3\xa7"
                                       "ais\",LANGUAGE=\"fr\",DEFAULT=YES,AUTOSELECT=YES,"
                                       "FORCED=NO,URI=\"sub_fr/index.m3u8\"\n"));
  ck_assert_ptr_nonnull(strstr(master, "NAME=\"es\",LANGUAGE=\"es\",DEFAULT=NO,AUTOSELECT=YES,"
                                       "FORCED=YES,URI=\"sub_es/index.m3u8\"\n"));
  ck_assert_uint_eq(count(master, "#EXT-X-STREAM-INF:"), count(master, "SUBTITLES=\"subs\"\n"));
  const char *mpd = slurp(out, "manifest.mpd");
  ck_assert_ptr_nonnull(strstr(mpd, "contentType=\"text\" mimeType=\"text/vtt\" lang=\"fr\""));
  ck_assert_ptr_nonnull(strstr(mpd, "<BaseURL>sub_fr.vtt</BaseURL>"));

  /* a bad subtitle file fails the job before any output is presented */
  o.outdir = bad;
  o.subtitles[1].path = "/nonexistent/s.vtt";
  ck_assert_int_eq(stream_media_job_new(&j, &o), STREAM_OK);
  ck_assert_int_eq(stream_media_job_run(j), STREAM_ENOTFOUND);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "/nonexistent/s.vtt"));
  stream_media_job_free(j);
  struct stat st;
  ck_assert_int_ne(stat(bad, &st), 0);
}
END_TEST

START_TEST(transcode_vtt_blocks)
{
  /* every file of vtt_blocks as one track of a 4 s title (one 6 s segment) */
  const char *in = gen("src4.mp4", "-f lavfi -i testsrc2=size=416x234:rate=25 -t 4 -c:v libx264 "
                                   "-preset ultrafast");
  ck_assert_ptr_nonnull(in);
  char out[512];
  snprintf(out, sizeof out, "%s/out_blocks", gen_tmpdir());
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  o.input = in;
  o.outdir = out;
  o.ladder = "234p";
  o.x264_preset = "ultrafast";
  o.thumbnails = 0;
  size_t n = sizeof vtt_blocks / sizeof *vtt_blocks;
  o.subtitle_count = (int)n;
  for (size_t i = 0; i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "pkg_%s.vtt", vtt_blocks[i].lang);
    const char *p = write_text(name, vtt_blocks[i].text);
    o.subtitles[i].path = strcpy(malloc(strlen(p) + 1), p);
    o.subtitles[i].language = vtt_blocks[i].lang;
  }
  stream_media_job *j = NULL;
  ck_assert_msg(stream_media_job_new(&j, &o) == STREAM_OK, "%s", stream_error_last()->message);
  ck_assert_msg(stream_media_job_run(j) == STREAM_OK, "%s", stream_error_last()->message);
  stream_media_job_free(j);
  const char *want = "\n00:00:00.500 --> 00:00:01.500\nHello <i>there</i>\n"
                     "\n00:00:02.000 --> 00:00:03.000\nWorld\n";
  for (size_t i = 0; i < n; i++) {
    char rel[64];
    snprintf(rel, sizeof rel, "sub_%s.vtt", vtt_blocks[i].lang);
    const char *whole = slurp(out, rel);
    ck_assert_ptr_nonnull(whole);
    ck_assert_msg(strcmp(whole, "WEBVTT\n") != 0 && strstr(whole, want), "%s: %s", rel, whole);
    ck_assert_ptr_null(strstr(whole, "::cue"));
    snprintf(rel, sizeof rel, "sub_%s/seg_00001.vtt", vtt_blocks[i].lang);
    const char *seg = slurp(out, rel);
    ck_assert_ptr_nonnull(seg);
    ck_assert_msg(strstr(seg, want) != NULL, "%s: %s", rel, seg);
    free((char *)o.subtitles[i].path);
  }
  const char *master = slurp(out, "master.m3u8");
  ck_assert_ptr_nonnull(strstr(master, "LANGUAGE=\"ja\""));
}
END_TEST

int main(void)
{
  gen_tmpdir(); /* created before forking, so every test shares (and we remove) it */
  Suite *s = suite_create("media_subtitles");
  TCase *tc = tcase_create("subtitles");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, validation);
  tcase_add_test(tc, version_1_accepted);
  tcase_add_test(tc, ass_to_vtt);
  tcase_add_test(tc, read_files);
  tcase_add_test(tc, transcode_with_subtitles);
  tcase_add_test(tc, read_vtt_blocks);
  tcase_add_test(tc, transcode_vtt_blocks);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  sh("rm -rf %s%s", gen_tmpdir(), NULL);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
