/*
 * Private declarations shared by the pipeline's own files (probe.c, ladder.c,
 * job.c, pipeline.c, encode.c, audio.c, package.c, rotate.c). The interfaces with the
 * manifest writers and thumbnails live in media_internal.h.
 */
#ifndef STREAM_MEDIA_PIPE_INTERNAL_H
#define STREAM_MEDIA_PIPE_INTERNAL_H

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "../core/core.h"
#include "media_internal.h"
#include "stream/media.h"

/* Open `path` for demuxing with clear errors (ENOTFOUND, EMEDIA "empty file",
 * "cannot read ..."); caller closes with avformat_close_input. */
/* STREAM_OK when `path` is a non-empty regular file; else ENOTFOUND / EIO /
 * EMEDIA with a message naming it as `what` ("media input", "subtitle file"). */
int media__check_file(const char *what, const char *path);
int media__open_input(AVFormatContext **out, const char *path);
/* Fill `out` from an opened input; EMEDIA when there is no video stream. */
int media__describe(stream_media_info *out, AVFormatContext *fmt, const char *path);

/* Damaged frames (video) or refused packets (each audio track) skipped, as the
 * ffmpeg CLI does, before the input is given up. */
#define MEDIA__MAX_DAMAGED 100

/* RFC 6381 codecs string of an H.264 encoder from its extradata (SPS). */
void media__avc_codecs(char *dst, size_t cap, const uint8_t *extradata, int size);
/* Size of an Annex B H.264 access unit once converted to 4-byte length prefixes. */
size_t media__avcc_size(const uint8_t *data, size_t size);

/* ---- CMAF writer of one rendition (package.c) ---- */
typedef struct media__writer media__writer;
typedef struct media__writer_config {
  int video;            /* 1: cut fragments at key packets, segments every keys_per_segment keys */
  int keys_per_segment; /* video: 3 for 6 s segments of 2 s GOPs */
  double fragment_seconds; /* audio: fragment grid in seconds (the video GOP duration) */
  double segment_seconds;  /* audio: segment grid in seconds (the video segment duration) */
} media__writer_config;
/* Create <outdir>/<r->dir>/, the init segment, and get ready for packets.
 * `r` must have kind/id/dir filled; the writer fills names, timescale, init_bytes,
 * codecs (audio), and later segments/keyframes. `r` must outlive the writer. */
int media__writer_open(media__writer **out, media__rendition *r, const char *outdir,
                       const AVCodecContext *enc, const media__writer_config *cfg);
/* Write one encoded packet (timestamps in the encoder's time base). */
int media__writer_write(media__writer *w, AVPacket *pkt);
/* Flush the last fragment and segment; complete the index. */
int media__writer_finish(media__writer *w);
void media__writer_free(media__writer *w);

/* ---- audio (audio.c) ---- */
/* One instance per encoded audio stream: track `track` of the plan's
 * audio_streams (or audio_stream when audio_count is 0). Fills `r`: id/dir
 * "audio_<container tag>" ("_2".. when taken by others[0..n_others)),
 * language as BCP 47 ("und" when unknown), NAME (title tag, language name,
 * "Audio"/"Audio N"; unique among others). */
typedef struct media__audio media__audio;
/* `origin` (in `origin_tb`): the source time of the video's first frame,
 * t = 0 of the output; the samples keep their time relative to it.
 * `video_seconds`: the video's duration as its header announces it (0:
 * unknown), where audio that outlasts the video by more than the memory
 * bound is cut. */
int media__audio_open(media__audio **out, const media__plan *plan, size_t track,
                      AVFormatContext *in, media__rendition *r, const media__rendition *others,
                      size_t n_others, double frag_seconds, double seg_seconds, int64_t origin,
                      AVRational origin_tb, double video_seconds);
/* The input stream index the instance decodes. */
int media__audio_stream(const media__audio *a);
/* The video covers [0, t) seconds so far: audio up to t may be encoded. The
 * last value before the end of input is where the audio ends (cut, or
 * padded with silence). */
void media__audio_video_at(media__audio *a, double t);
/* A packet of its audio stream (NULL: end of input, flush everything). */
int media__audio_packet(media__audio *a, const AVPacket *pkt);
void media__audio_free(media__audio *a);

/* ---- video rung (encode.c): runs on its own thread ---- */
typedef struct media__rung_enc media__rung_enc;
int media__rung_open(media__rung_enc **out, const media__plan *plan, const media__rung *rung,
                     const AVCodecContext *dec, AVRational src_tb, int64_t origin_pts, int threads,
                     media__rendition *r, double *seg_seconds_out);
/* Cascade: `child` gets its frames from `parent` (the parent's scaled
 * picture, source timestamps) instead of from the decoder; the parent passes
 * on the end and aborts the child when it fails. Before starting either. */
int media__rung_attach(media__rung_enc *parent, media__rung_enc *child);
/* 1 when the rung is fed by another rung (do not push decoded frames). */
int media__rung_fed(const media__rung_enc *e);
/* Start the thread. */
int media__rung_start(media__rung_enc *e);
/* Queue a decoded frame (a new reference is taken); NULL = end. Blocks while
 * the queue is full. Returns the rung's error if it failed. */
int media__rung_push(media__rung_enc *e, const AVFrame *frame);
/* Make the thread stop as soon as possible (error or cancel elsewhere). */
void media__rung_abort(media__rung_enc *e);
/* Wait for the thread; returns its result (STREAM_OK or an error). */
int media__rung_join(media__rung_enc *e);
void media__rung_free(media__rung_enc *e);

/* Make an FFmpeg error readable. */
const char *media__averr(int err, char *buf, size_t cap);

/* ---- display rotation (rotate.c) ---- */
/* How to turn a decoded picture upright: dst(x, y) = src(sx, sy) with
 * (u, v) = transpose ? (y, x) : (x, y), sx = flip_x ? w-1-u : u,
 * sy = flip_y ? h-1-v : v. The ffmpeg CLI's autorotate choice. */
typedef struct media__orient {
  int transpose;      /* 90 or 270 degrees (with or without a mirror): W x H -> H x W */
  int flip_x, flip_y; /* read source columns / rows backwards */
  int degrees;        /* clockwise display rotation: 0, 90, 180, 270 */
} media__orient;
/* From a display matrix (NULL: none). Returns 1 when the picture must be
 * turned or mirrored, 0 when it is shown as coded (also for angles that are
 * not multiples of 90, which are not applied). */
int media__orient_from_matrix(media__orient *o, const int32_t *matrix);
/* The same from a stream's AV_PKT_DATA_DISPLAYMATRIX side data. */
int media__orient_of_stream(media__orient *o, const AVStream *st);
/* Turn one plane of sw x sh samples of `es` bytes (1, 2, 3, 4, 6 or 8) into
 * `dst` (sh x sw when transposed): cache-blocked 32x32 tiles for a
 * transpose, row copies otherwise. STREAM_EINVAL on bad arguments. */
int media__rotate_plane(uint8_t *dst, ptrdiff_t dst_linesize, const uint8_t *src,
                        ptrdiff_t src_linesize, int sw, int sh, size_t es, const media__orient *o);
/* Turns whole frames: planar and packed formats whose samples can be moved
 * whole are turned as they are (4:2:2 becomes 4:4:0 when transposed: same
 * samples); others are converted to yuv420p first. Pictures come from an
 * AVBufferPool; properties are copied, the SAR inverted when transposed, and
 * the frame's display matrix dropped. One thread at a time. */
typedef struct media__rotator media__rotator;
int media__rotator_new(media__rotator **out, const media__orient *o);
/* `dst` (unreferenced first) gets the upright picture of `src`. */
int media__rotator_apply(media__rotator *r, AVFrame *dst, const AVFrame *src);
void media__rotator_free(media__rotator *r);

#endif
