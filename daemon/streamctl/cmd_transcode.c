/*
 * streamctl transcode: run a libstream media job (ABR ladder of CMAF
 * segments with HLS/DASH manifests and thumbnails) from the command line,
 * with a progress bar on a terminal and plain lines otherwise. Ctrl-C
 * cancels the job, which leaves no output behind.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "streamctl.h"

static const cli_opt transcode_opts[] = {
    {"ladder", 1, "LIST",
     "rungs (1080p,720p_hi,720p,540p,432p,360p,234p), a preset, or custom rungs "
     "WxH@RATE (e.g. 1280x720@3000k,640x360@800k; xH@RATE: width from the aspect)"},
    {"preset", 1, "NAME", "ladder preset: apple (default), web, small"},
    {"x264-preset", 1, "NAME", "x264 speed preset (default veryfast)"},
    {"segment", 1, "SECONDS", "segment duration, a multiple of 2 (default 6)"},
    {"threads", 1, "N", "encoder threads in total (default: number of cores)"},
    {"no-thumbnails", 0, NULL, "do not write the poster, sprite sheets and WebVTT track"},
    {"subtitle", 2, "PATH:LANG[:NAME][:default][:forced]",
     "attach a WebVTT/SRT subtitle file (repeatable; LANG is BCP 47, e.g. en, pt-BR)"},
    {"audio-track", 1, "N[,N...]",
     "encode only these audio streams (input stream indices, as ffprobe and the media probe "
     "number them, in this order; default: every audio track)"},
    {"json", 0, NULL, "print the job summary as JSON at the end"},
    {NULL, 0, NULL, NULL}};

#if STREAM_HAVE_MEDIA

static stream_media_job *volatile current;

static void on_signal(int sig)
{
  (void)sig;
  if (current)
    stream_media_job_cancel(current);
}

typedef struct prog_state {
  int tty;
  int last_pct;
} prog_state;

static void on_progress(double f, double fps, double eta, void *ud)
{
  prog_state *p = ud;
  int pct = (int)(f * 100.0 + 0.5);
  if (p->tty) {
    int w = 40, fill = (int)(f * w + 0.5);
    char bar[64];
    for (int i = 0; i < w; i++)
      bar[i] = i < fill ? '#' : '-';
    bar[w] = 0;
    if (eta >= 0)
      fprintf(stderr, "\r[%s] %3d%%  %6.1f fps  ETA %5.0f s ", bar, pct, fps, eta);
    else
      fprintf(stderr, "\r[%s] %3d%%  %6.1f fps  ETA   ?   ", bar, pct, fps);
    fflush(stderr);
  } else if (pct / 10 != p->last_pct / 10 || pct == 100) {
    if (pct != p->last_pct)
      fprintf(stderr, "progress %d%% fps %.1f eta %.0f\n", pct, fps, eta);
  }
  p->last_pct = pct;
}

/* Custom rungs "WxH@RATE[,...]": W optional ("x720@3000k": width from the
 * source's aspect), RATE in bit/s with an optional k or M suffix. Returns 1
 * when `spec` uses this syntax (filled into `o`), 0 when it does not (rung
 * names or a preset), -1 (with `why`) when it is malformed. */
static int parse_custom_ladder(stream_media_job_options *o, const char *spec, char *why, size_t cap)
{
  if (!strchr(spec, '@'))
    return 0;
  const char *p = spec;
  o->rung_count = 0;
  while (*p) {
    if (o->rung_count >= STREAM_MEDIA_MAX_RUNGS) {
      snprintf(why, cap, "at most %d rungs", STREAM_MEDIA_MAX_RUNGS);
      return -1;
    }
    stream_media_rung *r = &o->rungs[o->rung_count];
    memset(r, 0, sizeof *r);
    char *end;
    long w = 0;
    if (*p >= '0' && *p <= '9') {
      w = strtol(p, &end, 10);
      p = end;
    }
    if (*p != 'x' || !(p[1] >= '0' && p[1] <= '9')) {
      snprintf(why, cap, "rung %zu: want WxH@RATE (e.g. 1280x720@3000k)", o->rung_count + 1);
      return -1;
    }
    long h = strtol(p + 1, &end, 10);
    p = end;
    if (*p != '@' || !(p[1] >= '0' && p[1] <= '9')) {
      snprintf(why, cap, "rung %zu: want @RATE after the size (e.g. @3000k)", o->rung_count + 1);
      return -1;
    }
    double rate = strtod(p + 1, &end);
    p = end;
    if (*p == 'k' || *p == 'K') {
      rate *= 1e3;
      p++;
    } else if (*p == 'm' || *p == 'M') {
      rate *= 1e6;
      p++;
    }
    if (*p != ',' && *p != '\0') {
      snprintf(why, cap, "rung %zu: unexpected '%c'", o->rung_count + 1, *p);
      return -1;
    }
    if (w < 0 || w > 16384 || h <= 0 || h > 16384 || !(rate >= 1 && rate <= 1e9)) {
      snprintf(why, cap, "rung %zu: size or rate out of range", o->rung_count + 1);
      return -1;
    }
    r->width = (int)w;
    r->height = (int)h;
    r->bitrate = (int64_t)(rate + 0.5);
    o->rung_count++;
    if (*p == ',')
      p++;
  }
  return o->rung_count > 0 ? 1 : 0;
}

/* --subtitle PATH:LANG[:NAME][:default][:forced] into o->subtitles; the
 * pieces point into `store` (one copy of each value). 0, or -1 with `why`. */
static int parse_subtitles(stream_media_job_options *o, const cli_args *a, char *store, size_t cap,
                           char *why, size_t why_cap)
{
  size_t used = 0;
  for (int i = 0; i < a->nmulti; i++) {
    if (o->subtitle_count >= STREAM_MEDIA_MAX_SUBTITLES) {
      snprintf(why, why_cap, "at most %d subtitle files", STREAM_MEDIA_MAX_SUBTITLES);
      return -1;
    }
    size_t n = strlen(a->multi[i]) + 1;
    if (used + n > cap) {
      snprintf(why, why_cap, "subtitle arguments too long");
      return -1;
    }
    char *v = memcpy(store + used, a->multi[i], n);
    used += n;
    stream_media_subtitle *t = &o->subtitles[o->subtitle_count];
    memset(t, 0, sizeof *t);
    char *save = NULL, *tok = strtok_r(v, ":", &save);
    t->path = tok;
    t->language = tok ? strtok_r(NULL, ":", &save) : NULL;
    if (!t->path || !t->language) {
      snprintf(why, why_cap, "'%.200s': want PATH:LANG[:NAME][:default][:forced]", a->multi[i]);
      return -1;
    }
    while ((tok = strtok_r(NULL, ":", &save))) {
      if (!strcmp(tok, "default"))
        t->is_default = 1;
      else if (!strcmp(tok, "forced"))
        t->forced = 1;
      else if (!t->name)
        t->name = tok;
      else {
        snprintf(why, why_cap, "'%.200s': unexpected '%.40s' (NAME given twice?)", a->multi[i],
                 tok);
        return -1;
      }
    }
    o->subtitle_count++;
  }
  return 0;
}

/* --audio-track N[,N...] into o->audio_tracks. 0, or -1 with `why`. */
static int parse_audio_tracks(stream_media_job_options *o, const char *spec, char *why, size_t cap)
{
  const char *p = spec;
  while (*p) {
    if (o->audio_track_count >= STREAM_MEDIA_MAX_AUDIO) {
      snprintf(why, cap, "at most %d audio tracks", STREAM_MEDIA_MAX_AUDIO);
      return -1;
    }
    char *end;
    if (!(*p >= '0' && *p <= '9')) {
      snprintf(why, cap, "want stream indices N[,N...] (e.g. 1,2)");
      return -1;
    }
    long v = strtol(p, &end, 10);
    if (v > 4096 || (*end != ',' && *end != '\0') || (*end == ',' && end[1] == '\0')) {
      snprintf(why, cap, "want stream indices N[,N...] (e.g. 1,2)");
      return -1;
    }
    o->audio_tracks[o->audio_track_count++] = (int)v;
    p = *end == ',' ? end + 1 : end;
  }
  if (o->audio_track_count == 0) {
    snprintf(why, cap, "want stream indices N[,N...] (e.g. 1,2)");
    return -1;
  }
  return 0;
}

static int run_transcode(const cli_args *a)
{
  stream_media_job_options o = STREAM_MEDIA_JOB_OPTIONS_INIT;
  char sub_store[16384];
  o.input = a->pos[0];
  o.outdir = a->pos[1];
  if (cli_has(a, "ladder") && cli_has(a, "preset"))
    return usage_error(a, "--ladder and --preset are exclusive");
  o.ladder = cli_has(a, "ladder") ? cli_get(a, "ladder") : cli_get(a, "preset");
  if (cli_has(a, "ladder")) {
    char why[96];
    int custom = parse_custom_ladder(&o, cli_get(a, "ladder"), why, sizeof why);
    if (custom < 0)
      return usage_error(a, "--ladder %s: %s", cli_get(a, "ladder"), why);
    if (custom > 0)
      o.ladder = NULL; /* rungs[] wins; the library checks sizes and rates */
  }
  o.x264_preset = cli_get(a, "x264-preset");
  o.thumbnails = cli_has(a, "no-thumbnails") ? 0 : 1;
  if (cli_has(a, "segment")) {
    uint64_t v;
    if (parse_u64(cli_get(a, "segment"), 60, &v) != 0)
      return usage_error(a, "--segment wants seconds, a multiple of 2 up to 60");
    o.segment_seconds = (double)v;
  }
  if (cli_has(a, "threads")) {
    uint64_t v;
    if (parse_u64(cli_get(a, "threads"), 256, &v) != 0)
      return usage_error(a, "--threads wants a number 0..256");
    o.threads = (int)v;
  }
  if (cli_has(a, "audio-track")) {
    char why[96];
    if (parse_audio_tracks(&o, cli_get(a, "audio-track"), why, sizeof why) != 0)
      return usage_error(a, "--audio-track %s: %s", cli_get(a, "audio-track"), why);
  }
  char sub_why[300];
  if (parse_subtitles(&o, a, sub_store, sizeof sub_store, sub_why, sizeof sub_why) != 0)
    return usage_error(a, "--subtitle %s", sub_why);
  stream_media_job *job = NULL;
  int rc = stream_media_job_new(&job, &o);
  if (rc)
    return lib_error(a, "invalid job", rc);
  prog_state ps = {isatty(STDERR_FILENO), -1};
  stream_media_job_set_progress(job, on_progress, &ps);
  current = job;
  struct sigaction sa, old_int, old_term;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  rc = stream_media_job_run(job);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  current = NULL;
  if (ps.tty)
    fputc('\n', stderr);
  if (rc) {
    int ret = lib_error(a, rc == STREAM_ECANCELED ? "canceled" : "transcode failed", rc);
    stream_media_job_free(job);
    return ret;
  }
  char *js = NULL;
  if (cli_has(a, "json") && stream_media_job_summary(&js, job) == STREAM_OK) {
    puts(js);
    stream_free(js);
  } else {
    printf("transcoded %s into %s\n", o.input, o.outdir);
  }
  stream_media_job_free(job);
  return EXIT_OK;
}

#else

static int run_transcode(const cli_args *a)
{
  (void)a;
  fprintf(stderr, "streamctl transcode: not built (libstream was built without the media "
                  "feature: FFmpeg libraries not found)\n");
  return EXIT_FAIL;
}

#endif

const cli_verb verb_transcode = {
    "transcode",
    "transcode a video into an ABR ladder (CMAF, HLS, DASH, thumbnails)",
    "transcode INPUT OUTDIR [--ladder 1080p,720p,...|WxH@RATE,...|--preset NAME] "
    "[--x264-preset veryfast] [--no-thumbnails] [--audio-track N[,N...]] [--subtitle "
    "PATH:LANG[:NAME][:default][:forced]]...",
    "Decodes INPUT once and encodes every rung of the ladder into OUTDIR (which must not\n"
    "exist): one directory per rendition with init.mp4 and 6 s segments, master.m3u8,\n"
    "manifest.mpd, thumbnails and summary.json. Every audio track (or those --audio-track\n"
    "names) becomes one AAC rendition (audio_<lang>/) of the one HLS audio group, with\n"
    "its BCP 47 LANGUAGE and NAME; the source's default track is DEFAULT=YES. Each --subtitle file "
    "(WebVTT, SRT) becomes\n"
    "an HLS SUBTITLES rendition (sub_LANG/, WebVTT segments on the video's boundaries)\n"
    "and a DASH text track (sub_LANG.vtt). Output is staged in OUTDIR.partial-* and\n"
    "renamed at the end; a failed or interrupted run (Ctrl-C) leaves nothing behind.",
    transcode_opts,
    2,
    2,
    run_transcode};
