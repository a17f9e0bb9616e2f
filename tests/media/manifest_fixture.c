/*
 * Writes a complete manifest set for the checker and the real parsers:
 * `manifest_fixture OUTDIR [video-only]` builds the hand-made index of
 * tests/unit/media/manifest_sample.h, creates stand-in files of the indexed
 * sizes (an `ftyp` init segment; segments whose key-frame byte ranges start
 * with a `moof` box header, as Apple 6.10 requires), then runs the HLS and
 * DASH writers. `subs` adds two subtitle tracks (media__subs_write).
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

/* "subs": two subtitle tracks (English default, forced French) whose cues
 * sit before, across and after the first 6 s boundary. */
static int add_subtitles(media__package *p)
{
  static const struct {
    int64_t a, b;
    const char *text;
  } cues[] = {
      {1000, 3000, "Hello"}, {5000, 7500, "<i>Across</i> the boundary"}, {13000, 15000, "Café"}};
  p->texts = calloc(2, sizeof(*p->texts));
  if (!p->texts)
    return -1;
  p->text_count = 2;
  const char *ids[2] = {"sub_en", "sub_fr"}, *langs[2] = {"en", "fr"},
             *names[2] = {"English", "Français (forced)"};
  for (size_t k = 0; k < 2; k++) {
    media__text *t = &p->texts[k];
    snprintf(t->id, sizeof(t->id), "%s", ids[k]);
    snprintf(t->vtt_name, sizeof(t->vtt_name), "%s.vtt", ids[k]);
    snprintf(t->language, sizeof(t->language), "%s", langs[k]);
    snprintf(t->name, sizeof(t->name), "%s", names[k]);
    t->is_default = k == 0;
    t->forced = k == 1;
    t->cues = calloc(3, sizeof(*t->cues));
    if (!t->cues)
      return -1;
    for (size_t i = 0; i < 3; i++) {
      t->cues[i].start = cues[i].a;
      t->cues[i].end = cues[i].b;
      t->cues[i].text = strdup(cues[i].text);
      if (!t->cues[i].text)
        return -1;
      t->cue_count++;
    }
  }
  return 0;
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
  if (rc == 0 && argc > 2 && !strcmp(argv[2], "subs") && add_subtitles(&p) != 0)
    rc = 1;
  if (rc == 0 && p.text_count && media__subs_write(argv[1], &p) != STREAM_OK) {
    fprintf(stderr, "subtitle writer failed: %s\n", stream_error_last()->message);
    rc = 1;
  }
  if (rc == 0 &&
      (media__write_hls(argv[1], &p) != STREAM_OK || media__write_dash(argv[1], &p) != STREAM_OK)) {
    fprintf(stderr, "manifest writer failed: %s\n", stream_error_last()->message);
    rc = 1;
  }
  p.rendition_count = 4;
  media__package_clear(&p);
  return rc ? 1 : 0;
}
