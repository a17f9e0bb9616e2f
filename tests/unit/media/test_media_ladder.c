/* Ladder planning from Apple's H.264 table: never upscale, keep the aspect
 * ratio with even sizes, cap the frame rate; presets, lists, custom rungs. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "stream/stream.h"

static stream_media_info src(int w, int h, int fn, int fd)
{
  stream_media_info i;
  memset(&i, 0, sizeof i);
  i.width = w;
  i.height = h;
  i.fps_num = fn;
  i.fps_den = fd;
  i.sar_num = i.sar_den = 1;
  return i;
}

START_TEST(apple_1080p30)
{
  stream_media_info in = src(1920, 1080, 30, 1);
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  stream_media_ladder l;
  ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_OK);
  ck_assert_uint_eq(l.count, 7);
  static const int w[] = {1920, 1280, 1280, 960, 768, 640, 416};
  static const int h[] = {1080, 720, 720, 540, 432, 360, 234};
  static const int64_t b[] = {6000000, 4500000, 3000000, 2000000, 730000, 365000, 145000};
  for (size_t i = 0; i < 7; i++) {
    ck_assert_int_eq(l.rungs[i].width, w[i]);
    ck_assert_int_eq(l.rungs[i].height, h[i]);
    ck_assert_int_eq(l.rungs[i].bitrate, b[i]);
    ck_assert_int_eq(l.rungs[i].fps_num, 30);
    ck_assert_int_eq(l.rungs[i].fps_den, 1);
  }
  ck_assert_str_eq(l.rungs[0].name, "1080p");
}
END_TEST

START_TEST(no_upscale_720p)
{
  stream_media_info in = src(1280, 720, 30, 1);
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  stream_media_ladder l;
  ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_OK);
  ck_assert_uint_eq(l.count, 6);
  ck_assert_int_eq(l.rungs[0].height, 720);
  o.ladder = "1080p";
  ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_OK);
  /* Everything above the source: one rung at the source's size. */
  ck_assert_uint_eq(l.count, 1);
  ck_assert_int_eq(l.rungs[0].width, 1280);
  ck_assert_int_eq(l.rungs[0].height, 720);
}
END_TEST

START_TEST(aspect_4_3_and_sar)
{
  stream_media_info in = src(640, 480, 25, 1);
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  stream_media_ladder l;
  ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_OK);
  ck_assert_uint_eq(l.count, 3);
  ck_assert_int_eq(l.rungs[0].width, 576);
  ck_assert_int_eq(l.rungs[0].height, 432);
  ck_assert_int_eq(l.rungs[1].width, 480);
  ck_assert_int_eq(l.rungs[2].width, 312);
  ck_assert_int_eq(l.rungs[0].fps_num, 25);
  /* Anamorphic 720x576 with SAR 16:15 displays as 768x576 (4:3). */
  in = src(720, 576, 25, 1);
  in.sar_num = 16;
  in.sar_den = 15;
  o.ladder = "360p";
  ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_OK);
  ck_assert_int_eq(l.rungs[0].width, 480);
  ck_assert_int_eq(l.rungs[0].height, 360);
  for (size_t i = 0; i < l.count; i++)
    ck_assert_int_eq(l.rungs[i].width % 2, 0);
}
END_TEST

START_TEST(fps_caps)
{
  stream_media_info in = src(1920, 1080, 60000, 1001);
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  stream_media_ladder l;
  ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_OK);
  ck_assert_int_eq(l.rungs[0].fps_num, 60000); /* 1080p keeps 59.94 */
  ck_assert_int_eq(l.rungs[0].fps_den, 1001);
  ck_assert_int_eq(l.rungs[5].fps_num, 30000); /* 360p: <= 30 */
  ck_assert_int_eq(l.rungs[5].fps_den, 1001);
  in = src(1280, 720, 120, 1);
  o.ladder = "720p";
  ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_OK);
  ck_assert_int_eq(l.rungs[0].fps_num, 60);
  ck_assert_int_eq(l.rungs[0].fps_den, 1);
  /* Every k-th frame, k the smallest that fits: not halving again and again. */
  static const struct {
    int fn, fd, max30_num, max30_den, max60_num, max60_den;
  } rates[] = {
      {90, 1, 30, 1, 45, 1},
      {75, 1, 25, 1, 75, 2},
      {144, 1, 144, 5, 48, 1},
      {100, 1, 25, 1, 50, 1},
      {1000, 1, 500, 17, 1000, 17},
      {50, 1, 25, 1, 50, 1},
      {24000, 1001, 24000, 1001, 24000, 1001},
      {240, 1, 30, 1, 60, 1},
  };
  o.ladder = "1080p,360p"; /* 60 and 30 at most */
  for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
    in = src(1920, 1080, rates[i].fn, rates[i].fd);
    ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_OK);
    ck_assert_uint_eq(l.count, 2);
    ck_assert_msg(l.rungs[0].fps_num == rates[i].max60_num &&
                      l.rungs[0].fps_den == rates[i].max60_den,
                  "%d/%d source: 1080p at %d/%d", rates[i].fn, rates[i].fd, l.rungs[0].fps_num,
                  l.rungs[0].fps_den);
    ck_assert_msg(l.rungs[1].fps_num == rates[i].max30_num &&
                      l.rungs[1].fps_den == rates[i].max30_den,
                  "%d/%d source: 360p at %d/%d", rates[i].fn, rates[i].fd, l.rungs[1].fps_num,
                  l.rungs[1].fps_den);
  }
}
END_TEST

START_TEST(presets_lists_custom)
{
  stream_media_info in = src(1920, 1080, 24, 1);
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  stream_media_ladder l;
  o.ladder = "web";
  ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_OK);
  ck_assert_uint_eq(l.count, 2);
  ck_assert_int_eq(l.rungs[0].height, 720);
  ck_assert_int_eq(l.rungs[1].height, 360);
  o.ladder = "1080p,540p";
  ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_OK);
  ck_assert_uint_eq(l.count, 2);
  ck_assert_int_eq(l.rungs[1].bitrate, 2000000);
  o.ladder = "1080p,999p";
  ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_EINVAL);
  ck_assert_ptr_nonnull(strstr(stream_error_last()->message, "999p"));
  o.ladder = "720p,720p";
  ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_EINVAL);
  o.ladder = ",";
  ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_EINVAL);
  o.ladder = NULL;
  o.rung_count = 2;
  o.rungs[0].height = 480;
  o.rungs[0].bitrate = 1200000;
  o.rungs[1].height = 2160; /* above the source: dropped */
  o.rungs[1].bitrate = 16000000;
  ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_OK);
  ck_assert_uint_eq(l.count, 1);
  ck_assert_int_eq(l.rungs[0].width, 854);
  ck_assert_str_eq(l.rungs[0].name, "480p");
  o.rungs[0].height = 481;
  ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_EINVAL);
  o.rungs[0].height = 480;
  o.rungs[0].bitrate = 0;
  ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_EINVAL);
  o.rungs[0].bitrate = 1000000;
  o.rungs[0].fps_num = -1;
  ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_EINVAL);
  o.rungs[0].fps_num = 0;
  o.rung_count = STREAM_MEDIA_MAX_RUNGS + 1;
  ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_EINVAL);
  o.rung_count = 1;
  o.version = 99;
  ck_assert_int_eq(stream_media_ladder_plan(&l, &in, &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_media_ladder_plan(NULL, &in, &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_media_ladder_plan(&l, NULL, &o), STREAM_EINVAL);
}
END_TEST

START_TEST(job_new_validation)
{
  stream_media_job *j = (stream_media_job *)1;
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  ck_assert_int_eq(stream_media_job_new(&j, &o), STREAM_EINVAL); /* no input */
  ck_assert_ptr_null(j);
  o.input = "in.mp4";
  ck_assert_int_eq(stream_media_job_new(&j, &o), STREAM_EINVAL); /* no outdir */
  o.outdir = "out";
  o.segment_seconds = 5;
  ck_assert_int_eq(stream_media_job_new(&j, &o), STREAM_EINVAL);
  o.segment_seconds = 0;
  o.x264_preset = "warp";
  ck_assert_int_eq(stream_media_job_new(&j, &o), STREAM_EINVAL);
  o.x264_preset = NULL;
  o.ladder = "nope";
  ck_assert_int_eq(stream_media_job_new(&j, &o), STREAM_EINVAL);
  o.ladder = NULL;
  o.thumbnails = 7;
  ck_assert_int_eq(stream_media_job_new(&j, &o), STREAM_EINVAL);
  o.thumbnails = 0;
  ck_assert_int_eq(stream_media_job_new(&j, &o), STREAM_OK);
  ck_assert_int_eq(stream_media_job_state_get(j), STREAM_MEDIA_JOB_PENDING);
  char *js = (char *)1;
  ck_assert_int_eq(stream_media_job_summary(&js, j), STREAM_ENOTFOUND);
  ck_assert_ptr_null(js);
  ck_assert_int_eq(stream_media_job_run(j), STREAM_ENOTFOUND); /* in.mp4 does not exist */
  ck_assert_int_eq(stream_media_job_state_get(j), STREAM_MEDIA_JOB_FAILED);
  ck_assert_int_eq(stream_media_job_run(j), STREAM_EINVAL); /* runs once */
  stream_media_job_free(j);
  stream_media_job_free(NULL);
  ck_assert_int_eq(stream_media_job_new(NULL, &o), STREAM_EINVAL);
  ck_assert_int_eq(stream_media_job_cancel(NULL), STREAM_EINVAL);
  ck_assert_int_eq(stream_media_job_set_progress(NULL, NULL, NULL), STREAM_EINVAL);
}
END_TEST

int main(void)
{
  Suite *s = suite_create("media_ladder");
  TCase *tc = tcase_create("ladder");
  tcase_add_test(tc, apple_1080p30);
  tcase_add_test(tc, no_upscale_720p);
  tcase_add_test(tc, aspect_4_3_and_sar);
  tcase_add_test(tc, fps_caps);
  tcase_add_test(tc, presets_lists_custom);
  tcase_add_test(tc, job_new_validation);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
