/* Probe: container, codecs, size, frame rate, audio tracks; clear errors for
 * missing, empty, truncated, garbage and audio-only inputs. */
#include <check.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "media_check.h"
#include "media_gen.h"
#include "stream/stream.h"

START_TEST(probe_720p)
{
  const char *p = gen("p720.mp4", AV_720);
  ck_assert_ptr_nonnull(p);
  stream_media_info info;
  ck_assert_int_eq(stream_media_probe(&info, p), STREAM_OK);
  ck_assert_int_eq(info.width, 1280);
  ck_assert_int_eq(info.height, 720);
  ck_assert_int_eq(info.fps_num, 30);
  ck_assert_int_eq(info.fps_den, 1);
  ck_assert_int_eq(info.sar_num, 1);
  ck_assert_int_eq(info.sar_den, 1);
  ck_assert_int_eq(info.rotation, 0);
  ck_assert_str_eq(info.video_codec, "h264");
  ck_assert_ptr_nonnull(strstr(info.container, "mp4"));
  ck_assert(info.duration > 7.9 && info.duration < 8.1);
  ck_assert_uint_eq(info.audio_count, 1);
  ck_assert_str_eq(info.audio[0].codec, "aac");
  ck_assert_int_eq(info.audio[0].sample_rate, 44100);
  ck_assert_int_eq(info.audio[0].channels, 1);
}
END_TEST

START_TEST(probe_2997_language_json)
{
  const char *p = gen("p2997.mp4", V_2997);
  ck_assert_ptr_nonnull(p);
  stream_media_info info;
  ck_assert_int_eq(stream_media_probe(&info, p), STREAM_OK);
  ck_assert_int_eq(info.fps_num, 30000);
  ck_assert_int_eq(info.fps_den, 1001);
  ck_assert_str_eq(info.audio[0].language, "fra");
  ck_assert_str_eq(info.audio[0].codec, "mp3");
  char *js = NULL;
  ck_assert_int_eq(stream_media_probe_json(&js, p), STREAM_OK);
  ck_assert_ptr_nonnull(strstr(js, "\"fps\":\"30000/1001\""));
  ck_assert_ptr_nonnull(strstr(js, "\"language\":\"fra\""));
  stream_free(js);
}
END_TEST

START_TEST(probe_video_only)
{
  const char *p = gen("vonly.mp4", V_ONLY);
  stream_media_info info;
  ck_assert_int_eq(stream_media_probe(&info, p), STREAM_OK);
  ck_assert_uint_eq(info.audio_count, 0);
  ck_assert_int_eq(info.fps_num, 25);
}
END_TEST

START_TEST(probe_errors)
{
  stream_media_info info;
  ck_assert_int_eq(stream_media_probe(NULL, "x"), STREAM_EINVAL);
  ck_assert_int_eq(stream_media_probe(&info, NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_media_probe(&info, ""), STREAM_EINVAL);
  ck_assert_int_eq(stream_media_probe(&info, "/nonexistent/x.mp4"), STREAM_ENOTFOUND);

  char path[512];
  snprintf(path, sizeof path, "%s/empty.mp4", gen_tmpdir());
  FILE *f = fopen(path, "wb");
  fclose(f);
  ck_assert_int_eq(stream_media_probe(&info, path), STREAM_EMEDIA);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "empty"));

  const char *a = gen("aonly.m4a", A_ONLY);
  ck_assert_int_eq(stream_media_probe(&info, a), STREAM_EMEDIA);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "audio-only"));

  /* Truncated: the moov box sits at the end, so half a file cannot be read. */
  const char *full = gen("trunc_src.mp4", AV_360);
  snprintf(path, sizeof path, "%s/trunc.mp4", gen_tmpdir());
  ck_assert_int_eq(sh("head -c 30000 %s > %s", full, path), 0);
  ck_assert_int_eq(stream_media_probe(&info, path), STREAM_EMEDIA);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "trunc"));

  /* A raw elementary stream and a still image: the error says what to do. */
  const char *raw = gen("raw.h264", "-f lavfi -i testsrc2=size=320x180:rate=25 -t 1 -c:v libx264 "
                                    "-preset ultrafast -f h264");
  ck_assert_ptr_nonnull(raw);
  ck_assert_int_eq(stream_media_probe(&info, raw), STREAM_EMEDIA);
  ck_assert_msg(strstr(stream_error_last()->message, "raw h264 stream has no timestamps") &&
                    strstr(stream_error_last()->message, "-c copy"),
                "%s", stream_error_last()->message);
  const char *png = gen("still.png", "-f lavfi -i testsrc2=size=320x180 -frames:v 1 -f image2pipe "
                                     "-c:v png");
  ck_assert_ptr_nonnull(png);
  ck_assert_int_eq(stream_media_probe(&info, png), STREAM_EMEDIA);
  ck_assert_msg(strstr(stream_error_last()->message, "still png image is not a video"), "%s",
                stream_error_last()->message);

  /* Random bytes. */
  snprintf(path, sizeof path, "%s/random.mp4", gen_tmpdir());
  ck_assert_int_eq(sh("head -c 65536 /dev/urandom > %s%s", path, NULL), 0);
  ck_assert_int_eq(stream_media_probe(&info, path), STREAM_EMEDIA);

  /* Bit flips in the header area: an error or a description, never a crash. */
  for (int i = 0; i < 8; i++) {
    char cmd[2400];
    snprintf(path, sizeof path, "%s/flip%d.mp4", gen_tmpdir(), i);
    snprintf(cmd, sizeof cmd,
             "cp %s %s && printf '\\x%02x' | dd of=%s bs=1 seek=%d conv=notrunc status=none", full,
             path, 0x5a + i, path, 8 + i * 37);
    ck_assert_int_eq(system(cmd), 0);
    int rc = stream_media_probe(&info, path);
    ck_assert(rc == STREAM_OK || rc == STREAM_EMEDIA);
  }
  char *js = (char *)1;
  ck_assert_int_eq(stream_media_probe_json(&js, "/nonexistent"), STREAM_ENOTFOUND);
  ck_assert_ptr_null(js);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("media_probe");
  TCase *tc = tcase_create("probe");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, probe_720p);
  tcase_add_test(tc, probe_2997_language_json);
  tcase_add_test(tc, probe_video_only);
  tcase_add_test(tc, probe_errors);
  suite_add_tcase(s, tc);
  return run_media_suite(s);
}
