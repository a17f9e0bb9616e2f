/* Check assertions shared by the media tests: summary JSON fields, ffprobe
 * numbers, a rendition joined into one file. Include after <check.h> and
 * "media_gen.h". */
#ifndef TEST_MEDIA_CHECK_H
#define TEST_MEDIA_CHECK_H
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media_gen.h"
#include "stream/stream.h"

/* A number field of a summary object (fails the test when missing). */
static inline double num(const cJSON *o, const char *k)
{
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
  ck_assert_msg(cJSON_IsNumber(x), "missing %s", k);
  return x->valuedouble;
}

/* A string field of a summary object (fails the test when missing). */
static inline const char *str(const cJSON *o, const char *k)
{
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
  ck_assert_msg(cJSON_IsString(x), "missing %s", k);
  return x->valuestring;
}

/* One number ffprobe prints for `entry` (e.g. "stream=duration") of the
 * streams `sel` ("v:0") of `path`; frames are counted for nb_read_*. */
static inline double probe_num(const char *path, const char *sel, const char *entry)
{
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "ffprobe -v error -select_streams %s %s -show_entries %s -of csv=p=0 %s", sel,
           strstr(entry, "nb_read") ? "-count_frames" : "", entry, path);
  char *o = run_cmd(cmd);
  ck_assert_ptr_nonnull(o);
  ck_assert_msg(o[0] >= '0' && o[0] <= '9', "ffprobe %s of %s: '%s'", entry, path, o);
  double v = atof(o);
  free(o);
  return v;
}

/* Join init + segments of rendition `r` of the output `out` into
 * <out>/<dir>.mp4 (its path in `p`). */
static inline void joined(char *p, size_t cap, const char *out, const cJSON *r)
{
  const char *dir = str(r, "dir");
  snprintf(p, cap, "%s/%s.mp4", out, dir);
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "cat %s/%s/init.mp4 %s/%s/seg_*.m4s > %s", out, dir, out, dir, p);
  ck_assert_int_eq(system(cmd), 0);
}

/* Run job `j` (it must succeed; `what` names it in the failure, NULL: "run"), parse its
 * summary and free the job. The caller frees the summary with cJSON_Delete. */
static inline cJSON *run_summary(stream_media_job *j, const char *what)
{
  int rc = stream_media_job_run(j);
  ck_assert_msg(rc == STREAM_OK, "%s: run: %d %s", what ? what : "run", rc,
                stream_error_last() ? stream_error_last()->message : "?");
  char *js = NULL;
  ck_assert_int_eq(stream_media_job_summary(&js, j), STREAM_OK);
  cJSON *s = cJSON_Parse(js);
  ck_assert_ptr_nonnull(s);
  stream_free(js);
  stream_media_job_free(j);
  return s;
}

/* main() of a media test: run suite `s` with every test's generated media in one temp dir
 * (made here, before Check forks the tests), then remove the dir. */
static inline int run_media_suite(Suite *s)
{
  gen_tmpdir();
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  int rm = sh("rm -rf %s%s", gen_tmpdir(), NULL);
  return failed || rm != 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
