/*
 * Writes a complete manifest set for the checker and the real parsers:
 * `manifest_fixture OUTDIR [video-only]` builds the hand-made index of
 * tests/unit/media/manifest_sample.h, creates stand-in files of the indexed
 * sizes (an `ftyp` init segment; segments whose key-frame byte ranges start
 * with a `moof` box header, as Apple 6.10 requires), then runs the HLS and
 * DASH writers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "stream/common.h"
#include "media/media_internal.h"
#include "media/package_util.h"
#include "../unit/media/manifest_sample.h"

static void box(unsigned char *at, uint64_t size, const char *type)
{
  uint32_t s = size > 0xffffffffu ? 1u : (uint32_t)size;
  at[0] = (unsigned char)(s >> 24);
  at[1] = (unsigned char)(s >> 16);
  at[2] = (unsigned char)(s >> 8);
  at[3] = (unsigned char)s;
  memcpy(at + 4, type, 4);
}

static int write_blob(const char *path, const unsigned char *data, size_t n)
{
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(data, 1, n, f) != n) {
    fprintf(stderr, "cannot write %s\n", path);
    if (f)
      fclose(f);
    return -1;
  }
  return fclose(f);
}

static int stand_in_files(const char *outdir, const media__rendition *r)
{
  char path[512];
  snprintf(path, sizeof(path), "%s/%s", outdir, r->dir);
  mkdir(path, 0755);
  unsigned char *init = calloc(1, r->init_bytes);
  box(init, r->init_bytes, "ftyp");
  snprintf(path, sizeof(path), "%s/%s/%s", outdir, r->dir, r->init_name);
  int rc = write_blob(path, init, r->init_bytes);
  free(init);
  for (size_t i = 0; i < r->segment_count && rc == 0; i++) {
    const media__segment *s = &r->segments[i];
    unsigned char *seg = calloc(1, s->bytes);
    box(seg, 24, "styp");
    box(seg + 24, SAMPLE_KF_OFFSET - 24, "sidx");
    for (size_t k = 0; k < r->keyframe_count; k++)
      if (r->keyframes[k].segment == i)
        box(seg + r->keyframes[k].offset, r->keyframes[k].length, "moof");
    if (!r->keyframe_count) /* audio: one fragment */
      box(seg + SAMPLE_KF_OFFSET, s->bytes - SAMPLE_KF_OFFSET, "moof");
    char name[128];
    if (media__segment_name(name, sizeof(name), r, i) != STREAM_OK) {
      free(seg);
      return -1;
    }
    snprintf(path, sizeof(path), "%s/%s/%s", outdir, r->dir, name);
    rc = write_blob(path, seg, s->bytes);
    free(seg);
  }
  return rc;
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "usage: %s OUTDIR [video-only]\n", argv[0]);
    return 2;
  }
  media__package p;
  sample_package(&p);
  if (argc > 2 && !strcmp(argv[2], "video-only")) {
    p.rendition_count = 3; /* drop the audio rendition (still freed below) */
  }
  media__package_measure(&p);
  int rc = 0;
  for (size_t k = 0; k < p.rendition_count && rc == 0; k++)
    rc = stand_in_files(argv[1], &p.renditions[k]);
  if (rc == 0 &&
      (media__write_hls(argv[1], &p) != STREAM_OK || media__write_dash(argv[1], &p) != STREAM_OK)) {
    fprintf(stderr, "manifest writer failed: %s\n", stream_error_last()->message);
    rc = 1;
  }
  p.rendition_count = 4;
  media__package_clear(&p);
  return rc ? 1 : 0;
}
