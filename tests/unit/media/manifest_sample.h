/*
 * Hand-built segment indexes shared by test_manifest.c and the parser/checker
 * fixture (tests/media/manifest_fixture.c). The byte counts are chosen so that
 * the bit rates come out round: e.g. 4504500 bytes over 6.006 s = 6 000 000 bit/s.
 */
#ifndef TEST_MANIFEST_SAMPLE_H
#define TEST_MANIFEST_SAMPLE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "media/media_internal.h"

#define SAMPLE_KF_OFFSET 100 /* styp + sidx before the first moof */

/* A 29.97 fps video rendition: 3 segments of 6.006 s and a short 2.002 s tail,
 * a key frame every 2.002 s (3 per full segment, 1 in the tail). */
static void sample_video(media__rendition *r, const char *id, int w, int h, const char *codecs,
                         int64_t target, const uint64_t seg_bytes[4], const uint64_t kf_len[4])
{
  memset(r, 0, sizeof(*r));
  r->kind = MEDIA__VIDEO;
  snprintf(r->id, sizeof(r->id), "%s", id);
  snprintf(r->dir, sizeof(r->dir), "%s", id);
  snprintf(r->init_name, sizeof(r->init_name), "init.mp4");
  snprintf(r->segment_pattern, sizeof(r->segment_pattern), "seg_%%05u.m4s");
  snprintf(r->codecs, sizeof(r->codecs), "%s", codecs);
  r->start_number = 1;
  r->width = w;
  r->height = h;
  r->sar_num = r->sar_den = 1;
  r->fps_num = 30000;
  r->fps_den = 1001;
  r->target_bitrate = target;
  r->timescale = 30000;
  r->init_bytes = 800;
  r->segment_count = 4;
  r->segments = calloc(4, sizeof(media__segment));
  r->keyframe_count = 10;
  r->keyframes = calloc(10, sizeof(media__keyframe));
  for (size_t i = 0; i < 4; i++) {
    r->segments[i].start = (int64_t)i * 180180;
    r->segments[i].duration = i < 3 ? 180180 : 60060;
    r->segments[i].bytes = seg_bytes[i];
  }
  for (size_t k = 0; k < 10; k++) {
    media__keyframe *kf = &r->keyframes[k];
    size_t seg = k / 3, j = k % 3;
    kf->time = (int64_t)k * 60060;
    kf->duration = 60060;
    kf->segment = seg;
    kf->offset = SAMPLE_KF_OFFSET + j * (seg_bytes[seg] / 3);
    kf->length = seg < 3 ? kf_len[j] : kf_len[3];
  }
}

/* AAC 48 kHz: segments of 282, 282, 281 and 94 frames of 1024 samples. */
static void sample_audio(media__rendition *r, const char *id, const char *lang, const char *name)
{
  static const int64_t dur[4] = {288768, 288768, 287744, 96256};
  static const uint64_t bytes[4] = {96256, 97760, 95821, 33088};
  memset(r, 0, sizeof(*r));
  r->kind = MEDIA__AUDIO;
  snprintf(r->id, sizeof(r->id), "%s", id);
  snprintf(r->dir, sizeof(r->dir), "%s", id);
  snprintf(r->init_name, sizeof(r->init_name), "init.mp4");
  snprintf(r->segment_pattern, sizeof(r->segment_pattern), "seg_%%05u.m4s");
  snprintf(r->codecs, sizeof(r->codecs), "mp4a.40.2");
  snprintf(r->language, sizeof(r->language), "%s", lang);
  snprintf(r->name, sizeof(r->name), "%s", name);
  r->start_number = 1;
  r->sample_rate = 48000;
  r->channels = 2;
  r->target_bitrate = 128000;
  r->timescale = 48000;
  r->init_bytes = 700;
  r->segment_count = 4;
  r->segments = calloc(4, sizeof(media__segment));
  int64_t t = 0;
  for (size_t i = 0; i < 4; i++) {
    r->segments[i].start = t;
    r->segments[i].duration = dur[i];
    r->segments[i].bytes = bytes[i];
    t += dur[i];
  }
}

/* Three rungs (1080p 6000k, 360p 365k, 540p 2000k, in that order) + English audio. */
static void sample_package(media__package *p)
{
  static const uint64_t b1080[4] = {4504500, 4654650, 4354350, 1751750};
  static const uint64_t k1080[4] = {150150, 175175, 125125, 200200};
  static const uint64_t b360[4] = {270270, 270270, 270270, 90090};
  static const uint64_t k360[4] = {25025, 25025, 25025, 25025};
  static const uint64_t b540[4] = {1501500, 1576575, 1426425, 550550};
  static const uint64_t k540[4] = {50050, 60060, 40040, 70070};
  memset(p, 0, sizeof(*p));
  p->rendition_count = 4;
  p->renditions = calloc(4, sizeof(media__rendition));
  sample_video(&p->renditions[0], "v1080p6000", 1920, 1080, "avc1.640028", 6000000, b1080, k1080);
  sample_video(&p->renditions[1], "v360p365", 640, 360, "avc1.64001e", 365000, b360, k360);
  sample_video(&p->renditions[2], "v540p2000", 960, 540, "avc1.64001f", 2000000, b540, k540);
  sample_audio(&p->renditions[3], "audio_en", "en", "English");
  p->duration = 20.02;
  p->segment_target = 6.0;
}

#endif
