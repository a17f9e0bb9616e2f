/*
 * Fuzz target: subtitle ingest (libstream/media/subs.c, subs_vtt.c; media
 * feature only). The first byte picks the file extension (bit 0: .vtt, else
 * .srt) and bit 1 feeds the rest straight to the ASS-to-WebVTT cue converter;
 * otherwise the rest is written to a temporary file and read with
 * media__subs_read(), which demuxes and decodes it with FFmpeg and converts
 * every cue. Invariants: success gives cues sorted by start, each with
 * 0 <= start <= end and WebVTT-safe text (no "-->", no blank line); failure
 * gives no cues and a message.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libavutil/log.h>

#include "fuzz_util.h"
#include "media/media_internal.h"

static void check_cue_text(const char *text)
{
  FUZZ_ASSERT(text != NULL);
  FUZZ_ASSERT(strstr(text, "-->") == NULL);
  FUZZ_ASSERT(strstr(text, "\n\n") == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static char path[2][128];
  if (!path[0][0]) {
    av_log_set_level(AV_LOG_QUIET);
    const char *dir = getenv("TMPDIR");
    dir = dir && dir[0] ? dir : "/tmp";
    snprintf(path[0], sizeof path[0], "%s/fuzz_subs_%ld.srt", dir, (long)getpid());
    snprintf(path[1], sizeof path[1], "%s/fuzz_subs_%ld.vtt", dir, (long)getpid());
  }
  if (size < 1)
    return 0;
  if (data[0] & 2) {
    char *s = fuzz_cstr(data + 1, size - 1);
    char *vtt = media__ass_to_vtt(s);
    if (vtt)
      check_cue_text(vtt);
    free(vtt);
    free(s);
    return 0;
  }
  const char *p = path[data[0] & 1];
  FILE *f = fopen(p, "wb");
  if (!f)
    abort();
  if (size > 1)
    fwrite(data + 1, 1, size - 1, f);
  fclose(f);
  media__text t;
  memset(&t, 0, sizeof t);
  stream_error_clear();
  int rc = media__subs_read(&t, p);
  fuzz_check_status(rc);
  if (rc == STREAM_OK) {
    FUZZ_ASSERT(t.cue_count > 0 && t.cues != NULL);
    for (size_t i = 0; i < t.cue_count; i++) {
      FUZZ_ASSERT(t.cues[i].start >= 0 && t.cues[i].end >= t.cues[i].start);
      FUZZ_ASSERT(i == 0 || t.cues[i - 1].start <= t.cues[i].start);
      check_cue_text(t.cues[i].text);
    }
  } else {
    FUZZ_ASSERT(t.cues == NULL && t.cue_count == 0);
  }
  media__text_clear(&t);
  remove(p);
  return 0;
}
