/**
 * @file stream/media.h
 * @brief Media: probe an input, plan an ABR ladder, transcode it into CMAF
 *        (fMP4) segments with HLS and DASH manifests and thumbnails.
 *
 * One decode feeds one scaler and one H.264 (libx264) encoder per ladder rung;
 * every audio track (or the selected ones) is encoded once to AAC-LC stereo,
 * one audio rendition per track. Every rendition gets its own
 * directory with an init segment and 6 s segments that serve both HLS and DASH.
 *
 * Thread-safety: stream_media_probe() and stream_media_ladder_plan() are
 * thread-safe. A job handle is used by one thread at a time, except
 * stream_media_job_cancel(), which may be called from any thread while
 * stream_media_job_run() is running.
 *
 * Available when the library was built with the FFmpeg libraries
 * (STREAM_HAVE_MEDIA in stream/features.h).
 */
#ifndef STREAM_MEDIA_H
#define STREAM_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "stream/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Most audio tracks described by stream_media_info. */
#define STREAM_MEDIA_MAX_AUDIO 8
/** Most rungs in a ladder. */
#define STREAM_MEDIA_MAX_RUNGS 16

/** One audio track of a probed input. */
typedef struct stream_media_audio_track {
  int index;         /**< stream index in the container */
  char codec[32];    /**< FFmpeg codec name, e.g. "aac" */
  char language[16]; /**< from the track metadata, "und" when absent */
  int sample_rate;   /**< Hz */
  int channels;      /**< channel count */
  int64_t bit_rate;  /**< bits/s, 0 when unknown */
} stream_media_audio_track;

/** What stream_media_probe() found in an input file. */
typedef struct stream_media_info {
  char container[64];   /**< FFmpeg demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2" */
  double duration;      /**< seconds */
  int64_t bit_rate;     /**< overall bits/s, 0 when unknown */
  int video_stream;     /**< stream index of the (first) video stream */
  char video_codec[32]; /**< e.g. "h264" */
  int width, height;    /**< coded picture size in pixels (before the rotation) */
  int fps_num, fps_den; /**< frame rate, e.g. 30000/1001 */
  int sar_num, sar_den; /**< sample aspect ratio, 1:1 when unknown */
  /** Clockwise display rotation in degrees from the display matrix (0, 90,
   *  180, 270; another angle is reported but not applied). The upright
   *  (display) picture is height x width for 90 and 270. */
  int rotation;
  char pix_fmt[32];   /**< e.g. "yuv420p" */
  size_t audio_count; /**< number of entries used in audio[] */
  stream_media_audio_track audio[STREAM_MEDIA_MAX_AUDIO];
} stream_media_info;

/**
 * Probe the media file at `path` into `*out`.
 * Errors: STREAM_EINVAL (NULL or empty argument), STREAM_ENOTFOUND (no such
 * file), STREAM_EIO (the file cannot be examined, e.g. a directory on its
 * path is not searchable), STREAM_EMEDIA with the reason (not a regular
 * file, empty file, unreadable or truncated container, no video stream —
 * audio-only inputs are refused, no decoder, unknown size or frame rate).
 * Thread-safe.
 */
STREAM_API int stream_media_probe(stream_media_info *out, const char *path);

/**
 * Probe `path` and describe it as JSON: {"container", "duration", "bit_rate",
 * "video": {"codec","width","height","fps","sar","rotation","display_width",
 * "display_height","pix_fmt"},
 * "audio": [{"index","codec","language","sample_rate","channels","bit_rate"}]}.
 * `*out_json` is NUL-terminated; the caller frees it with stream_free().
 * Errors: as stream_media_probe(), plus STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_media_probe_json(char **out_json, const char *path);

/** One video rung of a ladder. */
typedef struct stream_media_rung {
  char name[16];        /**< e.g. "720p"; generated when empty in a custom ladder */
  int width, height;    /**< even; width 0 in a custom rung: derived from the source aspect */
  int fps_num, fps_den; /**< output frame rate; 0/0 in a custom rung: the source's, capped at 60 */
  int64_t bitrate;      /**< target average bits/s (maxrate 1.1x, VBV buffer 2x) */
} stream_media_rung;

/** A planned ladder, highest rung first. */
typedef struct stream_media_ladder {
  size_t count;
  stream_media_rung rungs[STREAM_MEDIA_MAX_RUNGS];
} stream_media_ladder;

/** Most subtitle tracks attached to one job. */
#define STREAM_MEDIA_MAX_SUBTITLES 16

/**
 * A sidecar subtitle file attached to a job (WebVTT, SRT, or any other text
 * subtitle format FFmpeg's libavformat reads). It becomes one HLS SUBTITLES
 * rendition (WebVTT segments on the video's segment boundaries) and one DASH
 * text AdaptationSet (a whole-file WebVTT). Strings are copied by
 * stream_media_job_new().
 */
typedef struct stream_media_subtitle {
  const char *path;     /**< subtitle file */
  const char *language; /**< BCP 47 tag, e.g. "en", "pt-BR", "zh-Hant" */
  const char *name;     /**< human name ("English"); NULL = the language tag */
  int is_default;       /**< 1: DEFAULT=YES (at most one track); 0: no */
  int forced;           /**< 1: forced narrative (FORCED=YES); 0: no */
} stream_media_subtitle;

/**
 * Version of stream_media_job_options understood by this header.
 * Version 1 ends before `subtitle_count`, version 2 before
 * `audio_track_count`; stream_media_job_new() accepts both (every audio
 * track is then encoded).
 */
#define STREAM_MEDIA_JOB_OPTIONS_VERSION 3u

/**
 * What to transcode and how. Start from STREAM_MEDIA_JOB_OPTIONS_INIT.
 *
 * Ladder selection, first match wins:
 * - `rung_count` > 0: the custom `rungs` (height and bitrate required);
 * - `ladder`: a preset name ("apple": Apple's full H.264 table, the default;
 *   "web": 720p + 360p; "small": 540p + 360p + 234p) or a comma-separated list
 *   of rung names from Apple's table: "1080p" (6000k), "720p_hi" (4500k),
 *   "720p" (3000k), "540p" (2000k), "432p" (730k), "360p" (365k), "234p" (145k).
 * Rungs above the source's height are dropped (never upscaled); when all are
 * above it, one rung at the source's size remains. Widths follow the source's
 * display aspect ratio (even numbers); frame rates are capped at the source's
 * and at 60 fps.
 *
 * Orientation: the transcode applies the source's display matrix (90, 180,
 * 270 degrees, and mirrors, as the ffmpeg CLI's autorotate does), so every
 * output is upright and carries no rotation. A portrait source (taller than
 * wide once turned) is planned by transposition: the ladder is planned for
 * the picture turned landscape, then each rung's width and height are
 * swapped (1080x1920 at 6000k, 720x1280 ...; custom rungs too, their height
 * naming the short side).
 *
 * Subtitles (`subtitle_count` > 0): each file is read before the video is
 * encoded; cues are converted to plain WebVTT text (ASS override tags are
 * dropped, italics/bold/underline kept as <i>/<b>/<u>). A cue starting at or
 * after the end of the video is dropped, one running past it ends there.
 *
 * Audio: every audio track of the input is encoded (AAC-LC, 48 kHz stereo,
 * `audio_bitrate` each) into its own rendition, unless `audio_track_count` >
 * 0 selects some: `audio_tracks` holds input stream indices as
 * stream_media_probe() reports them (audio[].index). Each rendition's
 * directory and id are "audio_" + the container's language tag ("audio_eng",
 * "audio_und"; "_2", "_3" ... when taken); its language is the BCP 47 tag
 * (eng -> en, fra/fre -> fr, deu/ger -> de, ...; two-letter tags kept; "und"
 * when absent or not a language tag); its NAME is the track's title tag, else the
 * language's own name ("English", "Français"), else "Audio" / "Audio N",
 * unique in the group. The track the container marks default is listed first
 * and is the one with DEFAULT=YES (DASH Role "main"); without one, the first
 * selected track. Every HLS variant's BANDWIDTH (AVERAGE-BANDWIDTH) counts
 * the highest audio rendition's peak (average). Each track keeps its source
 * presentation time relative to the video's first frame (t = 0): a track
 * that starts later gets silence in front, one that starts earlier loses what
 * lies before t = 0, and every track is cut or padded with silence to end
 * with the video (docs/api/media.md "Audio/video timing" names the one
 * exception: audio running over 10 s past a video whose end the container
 * does not announce).
 */
typedef struct stream_media_job_options {
  unsigned int version; /**< STREAM_MEDIA_JOB_OPTIONS_VERSION */
  const char *input;    /**< input file (copied) */
  const char *outdir;   /**< output directory; must not exist yet (copied) */
  const char *ladder;   /**< preset or rung list; NULL = "apple" (copied) */
  size_t rung_count;    /**< number of custom rungs in rungs[], 0 = none */
  stream_media_rung rungs[STREAM_MEDIA_MAX_RUNGS];
  const char *x264_preset; /**< x264 preset name; NULL = "veryfast" (copied) */
  double segment_seconds;  /**< segment duration, a multiple of 2 s in 2..60; 0 = 6 */
  int thumbnails;          /**< 1: poster, sprite sheets and WebVTT track; 0: none */
  int threads;             /**< encoder threads in total, 0..256; 0 = number of cores */
  int64_t audio_bitrate;   /**< AAC bits/s, 32000..320000; 0 = 128000 */
  /* version 2 */
  size_t subtitle_count; /**< entries used in subtitles[], 0 = none */
  stream_media_subtitle subtitles[STREAM_MEDIA_MAX_SUBTITLES]; /**< sidecar subtitle files */
  /* version 3 */
  size_t audio_track_count; /**< entries used in audio_tracks[]; 0 = every audio track */
  int audio_tracks[STREAM_MEDIA_MAX_AUDIO]; /**< input stream indices of the audio tracks */
} stream_media_job_options;

/** Defaults: Apple ladder, veryfast, 6 s segments, thumbnails, 128 kbit/s audio. */
#define STREAM_MEDIA_JOB_OPTIONS_INIT                                                              \
  {                                                                                                \
    STREAM_MEDIA_JOB_OPTIONS_VERSION, NULL, NULL, NULL, 0, {{{0}, 0, 0, 0, 0, 0}}, NULL, 0.0, 1,   \
        0, 0, 0, {{NULL, NULL, NULL, 0, 0}}, 0,                                                    \
    {                                                                                              \
      0                                                                                            \
    }                                                                                              \
  }

/**
 * Plan the ladder `opts` asks for (only its ladder fields are read) for the
 * probed source `info` into `*out`.
 * Errors: STREAM_EINVAL (NULL argument, unknown preset or rung name, custom
 * rung without height or bitrate, odd or oversized dimensions, too many rungs;
 * the message names it). Thread-safe.
 */
STREAM_API int stream_media_ladder_plan(stream_media_ladder *out, const stream_media_info *info,
                                        const stream_media_job_options *opts);

/** A transcode job (opaque). */
typedef struct stream_media_job stream_media_job;

/** State of a job. */
typedef enum stream_media_job_state {
  STREAM_MEDIA_JOB_PENDING = 1,   /**< created, not run */
  STREAM_MEDIA_JOB_RUNNING = 2,   /**< stream_media_job_run() in progress */
  STREAM_MEDIA_JOB_SUCCEEDED = 3, /**< output complete in outdir */
  STREAM_MEDIA_JOB_FAILED = 4,    /**< failed; nothing left in outdir */
  STREAM_MEDIA_JOB_CANCELED = 5   /**< canceled; nothing left in outdir */
} stream_media_job_state;

/**
 * Progress callback: `fraction` 0..1 of the source processed, `fps` source
 * frames per second so far, `eta` estimated seconds remaining (< 0 unknown).
 * Called on the thread running stream_media_job_run().
 */
typedef void (*stream_media_progress_fn)(double fraction, double fps, double eta, void *userdata);

/**
 * Create a job from `opts` (strings are copied). Nothing is read or written
 * until stream_media_job_run(). On success `*out` belongs to the caller, who
 * frees it with stream_media_job_free().
 * Errors: STREAM_EINVAL (NULL, empty input/outdir, bad version, segment
 * duration not a multiple of 2 s in 2..60, unknown x264 preset, threads
 * outside 0..256, audio_bitrate outside 32000..320000, thumbnails not 0 or
 * 1, bad ladder, bad
 * subtitle entry: empty path, language not shaped like BCP 47, name with a
 * double quote or control character, duplicate names, more than one
 * default; more than STREAM_MEDIA_MAX_AUDIO audio tracks, a negative or
 * repeated audio track index), STREAM_ENOMEM. Subtitle files are only read by
 * stream_media_job_run().
 */
STREAM_API int stream_media_job_new(stream_media_job **out, const stream_media_job_options *opts);

/**
 * Install (or with NULL remove) the progress callback. Not while running.
 * Errors: STREAM_EINVAL (NULL job), STREAM_EBUSY (job running).
 */
STREAM_API int stream_media_job_set_progress(stream_media_job *job, stream_media_progress_fn fn,
                                             void *userdata);

/**
 * Run the job, blocking: probe, plan, transcode and package into a staging
 * directory `OUTDIR.partial-XXXXXX` beside OUTDIR, write the manifests,
 * thumbnails and summary.json, then rename the staging directory to OUTDIR.
 * A failed or canceled run removes its staging directory, so OUTDIR exists
 * only when complete. A job runs once.
 * Errors: STREAM_EINVAL (NULL, job already run), STREAM_EEXIST (OUTDIR
 * exists), STREAM_EINVAL (an `audio_tracks` index that is not an audio
 * track of the input, named), STREAM_ENOTFOUND / STREAM_EMEDIA (input or
 * subtitle file problem, named: missing, unreadable, not a subtitle format,
 * no cues), checked before any video is encoded,
 * STREAM_ECANCELED, STREAM_EIO, STREAM_ENOMEM.
 */
STREAM_API int stream_media_job_run(stream_media_job *job);

/**
 * Ask a running (or not yet started) job to stop; stream_media_job_run() then
 * returns STREAM_ECANCELED soon. Safe from any thread and from the progress
 * callback. Errors: STREAM_EINVAL (NULL job).
 */
STREAM_API int stream_media_job_cancel(stream_media_job *job);

/** The job's state. Thread-safe. NULL gives 0. */
STREAM_API int stream_media_job_state_get(const stream_media_job *job);

/**
 * The summary of a succeeded job as JSON (the same as OUTDIR/summary.json):
 * {"input", "outdir", "duration", "source":{...probe...}, "renditions":[{"id",
 * "kind", "dir", "codecs", "width", "height", "fps" (video), "language" (BCP 47),
 * "sample_rate", "channels" (audio; its NAME in "packaging"), "target_bitrate",
 * "average_bitrate", "peak_bitrate", "segments", "duration", "files":[...],
 * "packaging":{exact index in ticks, read by stream_media_subtitles_add()}}],
 * "subtitles":[{"id", "kind":"text", "dir", "codecs":"wvtt", "language",
 * "name", "default", "forced", "source", "cues", "segments", "vtt",
 * "files":[...]}],
 * "manifests":[...], "thumbnails", "elapsed" (seconds), "speed" (x realtime)}.
 * `*out_json` is NUL-terminated; the caller frees it with stream_free().
 * Errors: STREAM_EINVAL (NULL), STREAM_ENOTFOUND (job has not succeeded),
 * STREAM_ENOMEM. Not concurrently with stream_media_job_run().
 */
STREAM_API int stream_media_job_summary(char **out_json, const stream_media_job *job);

/** Free a job that is not running. NULL is a no-op. */
STREAM_API void stream_media_job_free(stream_media_job *job);

/**
 * Check the metadata of one subtitle track without reading anything: the
 * language is shaped like BCP 47, the name (or the language standing in for
 * it) is 1..63 bytes without a double quote or control character, and
 * is_default / forced are 0 or 1. `track->path` may be NULL here (a service
 * checks an upload's metadata before the file arrives).
 * Errors: STREAM_EINVAL naming the problem. Thread-safe.
 */
STREAM_API int stream_media_subtitle_check(const stream_media_subtitle *track);

/**
 * Add one subtitle track to a packaged title, as a new asset: read the
 * summary.json of `srcdir` (the output of a stream_media_job_run() or of an
 * earlier call), build `outdir` with the same segment files (hard links, or
 * copies across file systems), the track's WebVTT segments on the video's
 * segment boundaries and whole-file WebVTT, and master.m3u8, the media
 * playlists, manifest.mpd and summary.json rewritten — exactly what a job
 * with that subtitle among its `subtitles` would have written. A track of
 * the same language (compared case-insensitively) is replaced, keeping its
 * place and directory; a new one is appended. A track with is_default 1
 * clears the other tracks' default. `srcdir` is never modified, so a player
 * holding its manifests keeps working.
 *
 * Staged like stream_media_job_run(): `OUTDIR.partial-XXXXXX`, renamed to
 * `outdir` when complete; on failure nothing is left.
 * Strings are only read during the call.
 * Errors: STREAM_EINVAL (NULL or empty argument, bad track metadata as
 * stream_media_subtitle_check(), path missing, a different track already has
 * the name, more than STREAM_MEDIA_MAX_SUBTITLES tracks), STREAM_ENOTFOUND
 * (no `srcdir`/summary.json, or no subtitle file), STREAM_EMEDIA (the
 * summary lacks the packaging index — assets written before this call
 * existed must be transcoded again — or the subtitle file is unreadable, not
 * a text subtitle format, has no cues), STREAM_EEXIST (`outdir` exists),
 * STREAM_EIO, STREAM_ENOMEM. Thread-safe for distinct `outdir`s.
 */
STREAM_API int stream_media_subtitles_add(const char *srcdir, const char *outdir,
                                          const stream_media_subtitle *track);

#ifdef __cplusplus
}
#endif

#endif
