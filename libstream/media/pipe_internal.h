/*
 * Private declarations shared by the pipeline's own files (probe.c, ladder.c,
 * job.c, pipeline.c, encode.c, audio.c, package.c). The interfaces with the
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
typedef struct media__audio media__audio;
int media__audio_open(media__audio **out, const media__plan *plan, AVFormatContext *in,
                      media__rendition *r, double frag_seconds, double seg_seconds);
/* A packet of the selected audio stream (NULL: end of input, flush everything). */
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

#endif
