/*
 * Internal interfaces between the parts of the media module (transcode
 * pipeline, CMAF packager, manifest writers, thumbnails). Not installed.
 *
 * The packager measures what it wrote into a media__package; the manifest
 * writers turn that index into HLS and DASH text without touching FFmpeg, so
 * they can be tested on hand-made indexes.
 */
#ifndef STREAM_MEDIA_INTERNAL_H
#define STREAM_MEDIA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "stream/common.h"

/* One CMAF segment file of a rendition (e.g. "video_720p/seg_00003.m4s"). */
typedef struct media__segment {
  int64_t start;    /* presentation time of the first sample, in the rendition's timescale */
  int64_t duration; /* in the rendition's timescale */
  uint64_t bytes;   /* file size */
} media__segment;

/* One IDR (key frame) of a video rendition, for I-frame playlists: the byte
 * range of its fragment's moof plus the mdat up to the end of the IDR sample
 * (Apple 6.10: fMP4 I-frame segments MUST include the moof). */
typedef struct media__keyframe {
  int64_t time;     /* presentation time, rendition timescale */
  int64_t duration; /* until the next key frame (or the end), rendition timescale */
  size_t segment;   /* index into the rendition's segments */
  uint64_t offset;  /* byte offset inside that segment file */
  uint64_t length;  /* bytes: moof + mdat header + the IDR sample */
} media__keyframe;

typedef enum media__kind { MEDIA__VIDEO = 1, MEDIA__AUDIO = 2 } media__kind;

/* One rendition (CMAF track): its files and what was measured. */
typedef struct media__rendition {
  int kind;           /* media__kind */
  char id[32];        /* e.g. "v720p3000", "audio_en" — unique, [a-z0-9_] */
  char dir[64];       /* sub-directory of the output dir holding its files, e.g. "v720p3000" */
  char init_name[64]; /* init segment file name inside dir, e.g. "init.mp4" */
  char segment_pattern[64];  /* printf pattern with one %u for the segment number, e.g.
                                "seg_%05u.m4s" */
  unsigned int start_number; /* number of the first segment (1) */
  char codecs[64];           /* RFC 6381 string, e.g. "avc1.64001f" or "mp4a.40.2" */
  int width, height;         /* video only */
  int sar_num, sar_den;      /* video only (1:1 normally) */
  int fps_num, fps_den;      /* video only, e.g. 30000/1001 */
  int sample_rate, channels; /* audio only */
  char language[16];         /* audio: BCP 47 ("en", "und") */
  char name[64];             /* audio: human name ("English") */
  int64_t target_bitrate;    /* bits/s requested from the encoder */
  int64_t timescale;         /* ticks per second of start/duration/time fields */
  uint64_t init_bytes;       /* size of the init segment */
  media__segment *segments;  /* owned array */
  size_t segment_count;
  media__keyframe *keyframes; /* video only; owned array */
  size_t keyframe_count;
  /* Measured over the segments (bits/s): peak = max over segments of
   * bytes*8/duration, average = total bytes*8/total duration. */
  int64_t peak_bitrate;
  int64_t average_bitrate;
} media__rendition;

/* One subtitle cue: times in milliseconds on the source timeline (0 = the
 * first video frame), text already WebVTT cue payload (escaped, no blank line). */
typedef struct media__cue {
  int64_t start, end; /* ms, end > start */
  char *text;         /* owned, UTF-8 */
} media__cue;

/* One subtitle track (subs.c): HLS SUBTITLES rendition + DASH text set.
 * Segments share the first video rendition's boundaries; times in ms. */
typedef struct media__text {
  char id[40];       /* "sub_en", "sub_pt_br_2": unique, [a-z0-9_], also the directory */
  char vtt_name[48]; /* whole-file WebVTT in the output dir: "<id>.vtt" */
  char language[36]; /* BCP 47 as given */
  char name[64];     /* NAME / Label */
  int is_default, forced;
  media__cue *cues; /* owned array, sorted by start */
  size_t cue_count;
  int64_t mpegts;           /* X-TIMESTAMP-MAP MPEGTS (90 kHz) for LOCAL 00:00:00.000 */
  media__segment *segments; /* owned; start/duration in ms (timescale 1000), bytes */
  size_t segment_count;
  unsigned int start_number; /* number of the first segment file (1): seg_%05u.vtt */
} media__text;

/* Everything the manifests describe. */
typedef struct media__package {
  media__rendition *renditions; /* owned array: videos (highest first or any order) then audio */
  size_t rendition_count;
  double duration;       /* presentation duration in seconds */
  double segment_target; /* nominal segment duration in seconds (6) */
  media__text *texts;    /* owned array of subtitle tracks (may be NULL) */
  size_t text_count;
} media__package;

/* Fill peak/average bitrates of every rendition from its segments. */
void media__package_measure(media__package *p);
/* Free the arrays owned by the package (not the struct itself). */
void media__package_clear(media__package *p);

/* Manifest writers (manifest_hls.c, manifest_dash.c). They write atomically
 * (temp file + rename) into `outdir`:
 *   master.m3u8, <dir>/index.m3u8 per rendition, <dir>/iframes.m3u8 per video rendition;
 *   manifest.mpd.
 * Errors: STREAM_EINVAL (inconsistent index, with the reason), STREAM_EIO. */
int media__write_hls(const char *outdir, const media__package *p);
int media__write_dash(const char *outdir, const media__package *p);

/* Subtitles (subs.c). Convert one ASS dialogue text (FFmpeg's decoded
 * subtitle form, without the "ReadOrder,...,Effect," prefix) into WebVTT cue
 * text: override blocks dropped except italic/bold/underline (<i>, <b>, <u>),
 * \N and \n to line breaks, \h to U+00A0, & < > escaped, blank lines removed.
 * Returns a malloc'd string or NULL (out of memory). */
char *media__ass_to_vtt(const char *ass);
/* Read every cue of the subtitle file `path` into `t` (cues, cue_count).
 * STREAM_ENOTFOUND / STREAM_EMEDIA naming the file: missing, unreadable, not
 * a text subtitle stream, no cues. */
int media__subs_read(media__text *t, const char *path);
/* Write the segments (<id>/seg_NNNNN.vtt on the video's segment boundaries)
 * and the whole-file <id>.vtt of every text track of `p` into `outdir`,
 * filling their segments and mpegts. Cues starting at or after the end of the
 * video are dropped, cues running past it end there. Needs a video rendition. */
int media__subs_write(const char *outdir, media__package *p);
/* Free one track's cues and segments. */
void media__text_clear(media__text *t);

/* Remove a directory tree (a staging directory), not following links (job.c). */
void media__rm_tree(const char *dir);

/* Shared by the transcode job (job.c) and stream_media_subtitles_add
 * (subs_add.c). */
struct stream_media_subtitle;
struct cJSON;
/* Check one track's language (BCP 47 shape), name and flags, and its path
 * when `need_path`. `i` > 0 names it "media job: subtitle <i>" in messages. */
int media__subtitle_check(const struct stream_media_subtitle *t, size_t i, int need_path);
/* Set t->id ("sub_<language>", lower case, '-' as '_', a _2.._99 suffix when
 * taken by others[0..n)) and t->vtt_name ("<id>.vtt"). */
void media__text_id(media__text *t, const char *language, const media__text *others, size_t n);
/* The summary.json entry of a subtitle track ("source": the file it came
 * from), and of a rendition's exact packaging index ("packaging": names,
 * segment and key frame ticks and bytes) that stream_media_subtitles_add
 * reads back to rewrite the manifests. NULL when out of memory. */
struct cJSON *media__text_json(const media__text *t, const char *source);
struct cJSON *media__rendition_json(const media__rendition *r);

/* Thumbnails (thumbs.c): fed every decoded source frame in presentation
 * order; writes poster.jpg, sprites/sprite_%03u.jpg and thumbnails.vtt. */
typedef struct media__thumbs media__thumbs;
typedef struct media__thumbs_options {
  int tile_width, tile_height; /* 160x90 default (height follows the source aspect if 0) */
  double interval;             /* seconds between tiles (2.0) */
  int columns, rows;           /* tiles per sprite sheet (10x10) */
  double poster_time;          /* seconds into the title for the poster (10% of duration if < 0) */
  int poster_width;            /* poster width (source width, capped at 1280, if 0) */
} media__thumbs_options;
struct AVFrame;
int media__thumbs_new(media__thumbs **out, const char *outdir, const media__thumbs_options *opts,
                      int src_width, int src_height, int src_pix_fmt, int sar_num, int sar_den,
                      double duration);
/* Fit `o` to a src_width x src_height source of sample aspect sar_num:sar_den: a tile height
 * or a default poster width that would follow from an extreme display aspect (a strip, a bogus
 * SAR) beyond media__thumbs_new's limits is set explicitly within them, so that the picture is
 * letterboxed in its tile instead of being refused. Other options are left as they are (bad
 * ones are still reported by media__thumbs_new). */
void media__thumbs_fit(media__thumbs_options *o, int src_width, int src_height, int sar_num,
                       int sar_den);
/* `t` is the frame's presentation time in seconds. The frame is not kept. */
int media__thumbs_push(media__thumbs *th, const struct AVFrame *frame, double t);
/* Write remaining sheets, the poster (if not yet), and the VTT track. */
int media__thumbs_finish(media__thumbs *th);
void media__thumbs_free(media__thumbs *th);

/* ---- pipeline (pipeline.c, encode.c, audio.c, package.c) ------------------ */

/* One video rung to encode. */
typedef struct media__rung {
  char id[32];          /* rendition id and directory, e.g. "v720p3000" */
  int width, height;    /* even, aspect of the source kept */
  int fps_num, fps_den; /* output frame rate (<= source's, <= 60) */
  int64_t bitrate;      /* target average bits/s; maxrate 1.1x, bufsize 2x */
} media__rung;

/* What to do, decided by the planner (job.c/ladder.c) from the probe and the options. */
typedef struct media__plan {
  const char *input;  /* path */
  const char *outdir; /* existing, empty staging directory */
  media__rung rungs[16];
  size_t rung_count;
  int audio;               /* 1: encode the (first/selected) audio stream once */
  int audio_stream;        /* index in the input of the audio stream to use */
  int64_t audio_bitrate;   /* 128000 */
  int audio_sample_rate;   /* 48000 */
  char audio_language[16]; /* from the input's metadata, "und" if none */
  /* Every audio stream to encode, in output order (audio_streams[0] ==
   * audio_stream); 0 with audio = 1: audio_stream alone. */
  size_t audio_count;
  int audio_streams[16];
  char audio_languages[16][16]; /* as tagged in the input ("eng", "fra", "und") */
  int video_stream;             /* index of the video stream */
  double segment_seconds;       /* 6.0 */
  double gop_seconds;           /* 2.0: IDR every 2 s, forced on segment boundaries */
  char preset[16];              /* x264 preset, "veryfast" */
  int threads;                  /* encoder threads in total (0 = number of cores) */
  int thumbnails;               /* 1: feed media__thumbs */
  media__thumbs_options thumbs;
} media__plan;

/* Progress from the pipeline: fraction 0..1 of the source decoded, frames per
 * second of source frames, seconds remaining (estimate, <0 unknown). */
typedef void (*media__progress_fn)(double fraction, double fps, double eta, void *ud);

/* Decode once, scale per rung, encode concurrently, package CMAF segments into
 * plan->outdir, fill `pkg` with the measured index (caller clears it with
 * media__package_clear). Returns STREAM_ECANCELED when *cancel becomes non-zero
 * (checked between frames), STREAM_EMEDIA with the input's problem named. */
int media__pipeline_run(media__package *pkg, const media__plan *plan, media__progress_fn progress,
                        void *ud, const volatile int *cancel);

#endif
