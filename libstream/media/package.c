/*
 * media package: the CMAF writer of one rendition. libavformat's mp4 muxer
 * (movflags +cmaf+frag_custom+skip_trailer) writes through a custom AVIO
 * whose write callback counts bytes and switches files: init.mp4, then one
 * file per segment. Fragments are cut here at every IDR (video, 2 s) or on
 * the GOP grid (audio); a segment holds keys_per_segment fragments. The
 * writer records the index the manifests need: segment start/duration/bytes
 * and, per IDR, the byte range moof + mdat header + IDR sample.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavutil/opt.h>

#include "pipe_internal.h"

#define AVIO_BUF 65536

struct media__writer {
  media__rendition *r;
  media__writer_config cfg;
  AVFormatContext *oc;
  AVRational enc_tb;
  char dirpath[4096];
  FILE *f; /* current output file, NULL: discard */
  uint64_t file_bytes;
  int io_error;
  /* moof size capture at a fragment start */
  uint64_t cap_at;
  int cap_active, cap_got;
  unsigned char cap_buf[4];
  int64_t cur_key;         /* index in keyframes of the open fragment's IDR, -1 none */
  uint64_t cur_key_sample; /* converted size of that IDR */
  int frag_packets;        /* packets in the open fragment */
  int in_segment;          /* a segment file is open */
  unsigned int seg_no;
  int key_count;
  int64_t seg_start; /* stream tb */
  int64_t max_end;   /* stream tb */
  int64_t next_frag; /* audio: index of the next fragment boundary */
  int64_t next_seg;  /* audio: index of the next segment boundary */
  size_t seg_cap, key_cap;
  int have_packets;
};

static int write_cb(void *opaque, uint8_t *buf, int size)
{
  media__writer *w = opaque;
  if (w->cap_active && !w->cap_got) {
    for (int i = 0; i < size; i++) {
      uint64_t pos = w->file_bytes + (uint64_t)i;
      if (pos >= w->cap_at && pos < w->cap_at + 4)
        w->cap_buf[pos - w->cap_at] = buf[i];
      if (pos + 1 >= w->cap_at + 4) {
        w->cap_got = 1;
        break;
      }
    }
  }
  if (w->f && size > 0 && fwrite(buf, 1, (size_t)size, w->f) != (size_t)size)
    w->io_error = errno ? errno : EIO;
  w->file_bytes += (uint64_t)size;
  return size;
}

static int open_file(media__writer *w, const char *name)
{
  char path[4352];
  snprintf(path, sizeof path, "%s/%s", w->dirpath, name);
  w->f = fopen(path, "wbe");
  if (!w->f)
    return stream__err(STREAM_EIO, "media package: cannot create %s: %s", path, strerror(errno));
  w->file_bytes = 0;
  return STREAM_OK;
}

static int close_file(media__writer *w, uint64_t *bytes)
{
  avio_flush(w->oc->pb);
  int bad = w->io_error;
  if (w->f && fclose(w->f) != 0)
    bad = errno ? errno : EIO;
  w->f = NULL;
  if (bytes)
    *bytes = w->file_bytes;
  if (bad)
    return stream__err(STREAM_EIO, "media package: writing %s failed: %s", w->r->dir,
                       strerror(bad));
  return STREAM_OK;
}

void media__avc_codecs(char *dst, size_t cap, const uint8_t *x, int size)
{
  snprintf(dst, cap, "avc1.64001f");
  if (!x || size < 4)
    return;
  if (x[0] == 1 && size >= 4) { /* avcC */
    snprintf(dst, cap, "avc1.%02x%02x%02x", x[1], x[2], x[3]);
    return;
  }
  for (int i = 0; i + 6 < size; i++) {
    if (x[i] == 0 && x[i + 1] == 0 && x[i + 2] == 1 && (x[i + 3] & 0x1f) == 7) {
      snprintf(dst, cap, "avc1.%02x%02x%02x", x[i + 4], x[i + 5], x[i + 6]);
      return;
    }
  }
}

size_t media__avcc_size(const uint8_t *d, size_t n)
{
  /* Count NAL units between Annex B start codes: each becomes 4 + payload. */
  size_t total = 0, i = 0, start = (size_t)-1;
  if (n >= 4 && !(d[0] == 0 && d[1] == 0 && (d[2] == 1 || (d[2] == 0 && d[3] == 1))))
    return n; /* already length-prefixed */
  while (i + 2 < n) {
    if (d[i] == 0 && d[i + 1] == 0 && d[i + 2] == 1) {
      if (start != (size_t)-1) {
        size_t end = i;
        while (end > start && d[end - 1] == 0)
          end--;
        total += 4 + (end - start);
      }
      i += 3;
      start = i;
    } else {
      i++;
    }
  }
  if (start != (size_t)-1 && start <= n)
    total += 4 + (n - start);
  return total;
}

static int grow(void **arr, size_t *cap, size_t count, size_t elem)
{
  if (count < *cap)
    return STREAM_OK;
  size_t nc = *cap ? *cap * 2 : 16;
  void *p = realloc(*arr, nc * elem);
  if (!p)
    return stream__err(STREAM_ENOMEM, "media package: out of memory");
  *arr = p;
  *cap = nc;
  return STREAM_OK;
}

int media__writer_open(media__writer **out, media__rendition *r, const char *outdir,
                       const AVCodecContext *enc, const media__writer_config *cfg)
{
  *out = NULL;
  media__writer *w = calloc(1, sizeof *w);
  if (!w)
    return stream__err(STREAM_ENOMEM, "media package: out of memory");
  w->r = r;
  w->cfg = *cfg;
  w->enc_tb = enc->time_base;
  w->cur_key = -1;
  snprintf(r->init_name, sizeof r->init_name, "init.mp4");
  snprintf(r->segment_pattern, sizeof r->segment_pattern, "seg_%%05u.m4s");
  r->start_number = 1;
  snprintf(w->dirpath, sizeof w->dirpath, "%s/%s", outdir, r->dir);
  char eb[128];
  int rc;
  if (mkdir(w->dirpath, 0755) != 0 && errno != EEXIST) {
    rc =
        stream__err(STREAM_EIO, "media package: cannot create %s: %s", w->dirpath, strerror(errno));
    goto fail;
  }
  rc = avformat_alloc_output_context2(&w->oc, NULL, "mp4", NULL);
  if (rc < 0 || !w->oc) {
    rc = stream__err(STREAM_EMEDIA, "media package: no mp4 muxer: %s",
                     media__averr(rc, eb, sizeof eb));
    goto fail;
  }
  unsigned char *iobuf = av_malloc(AVIO_BUF);
  if (!iobuf || !(w->oc->pb = avio_alloc_context(iobuf, AVIO_BUF, 1, w, NULL, write_cb, NULL))) {
    av_free(iobuf);
    rc = stream__err(STREAM_ENOMEM, "media package: out of memory");
    goto fail;
  }
  w->oc->flags |= AVFMT_FLAG_CUSTOM_IO;
  AVStream *st = avformat_new_stream(w->oc, NULL);
  if (!st) {
    rc = stream__err(STREAM_ENOMEM, "media package: out of memory");
    goto fail;
  }
  rc = avcodec_parameters_from_context(st->codecpar, enc);
  if (rc < 0) {
    rc = stream__err(STREAM_EMEDIA, "media package: %s", media__averr(rc, eb, sizeof eb));
    goto fail;
  }
  st->time_base = enc->time_base;
  if (r->kind == MEDIA__AUDIO && r->language[0])
    av_dict_set(&st->metadata, "language", r->language, 0);
  AVDictionary *o = NULL;
  av_dict_set(&o, "movflags", "+cmaf+frag_custom+skip_trailer+skip_sidx", 0);
  rc = open_file(w, r->init_name);
  if (rc != STREAM_OK) {
    av_dict_free(&o);
    goto fail;
  }
  rc = avformat_write_header(w->oc, &o);
  av_dict_free(&o);
  if (rc < 0) {
    rc = stream__err(STREAM_EMEDIA, "media package: cannot start the mp4 muxer for %s: %s", r->id,
                     media__averr(rc, eb, sizeof eb));
    goto fail;
  }
  rc = close_file(w, &r->init_bytes);
  if (rc != STREAM_OK)
    goto fail;
  r->timescale = w->oc->streams[0]->time_base.den /
                 (w->oc->streams[0]->time_base.num ? w->oc->streams[0]->time_base.num : 1);
  *out = w;
  return STREAM_OK;
fail:
  media__writer_free(w);
  return rc;
}

/* Flush the open fragment; completes its key frame's byte range. */
static int flush_fragment(media__writer *w)
{
  if (w->frag_packets == 0)
    return STREAM_OK;
  uint64_t frag_start = w->file_bytes + (uint64_t)(w->oc->pb->buf_ptr - w->oc->pb->buffer);
  w->cap_at = frag_start;
  w->cap_active = 1;
  w->cap_got = 0;
  int rc = av_write_frame(w->oc, NULL);
  avio_flush(w->oc->pb);
  w->cap_active = 0;
  if (rc < 0) {
    char eb[128];
    return stream__err(STREAM_EMEDIA, "media package: fragment flush failed for %s: %s", w->r->id,
                       media__averr(rc, eb, sizeof eb));
  }
  if (w->cur_key >= 0 && w->cap_got) {
    uint32_t moof = (uint32_t)w->cap_buf[0] << 24 | (uint32_t)w->cap_buf[1] << 16 |
                    (uint32_t)w->cap_buf[2] << 8 | w->cap_buf[3];
    media__keyframe *k = &w->r->keyframes[w->cur_key];
    k->offset = frag_start;
    k->length = moof + 8 + w->cur_key_sample;
  }
  w->cur_key = -1;
  w->frag_packets = 0;
  return STREAM_OK;
}

static int end_segment(media__writer *w, int64_t next_start)
{
  int rc = flush_fragment(w);
  if (rc != STREAM_OK)
    return rc;
  if (!w->in_segment)
    return STREAM_OK;
  uint64_t bytes = 0;
  rc = close_file(w, &bytes);
  if (rc != STREAM_OK)
    return rc;
  media__rendition *r = w->r;
  rc = grow((void **)&r->segments, &w->seg_cap, r->segment_count, sizeof *r->segments);
  if (rc != STREAM_OK)
    return rc;
  media__segment *s = &r->segments[r->segment_count++];
  s->start = w->seg_start;
  s->duration = next_start - w->seg_start;
  s->bytes = bytes;
  w->in_segment = 0;
  return STREAM_OK;
}

static int begin_segment(media__writer *w, int64_t start)
{
  char name[80];
  w->seg_no++;
  snprintf(name, sizeof name, "seg_%05u.m4s", w->seg_no);
  int rc = open_file(w, name);
  if (rc != STREAM_OK)
    return rc;
  w->in_segment = 1;
  w->seg_start = start;
  return STREAM_OK;
}

int media__writer_write(media__writer *w, AVPacket *pkt)
{
  AVStream *st = w->oc->streams[0];
  if (pkt->duration <= 0 && w->r->kind == MEDIA__VIDEO)
    pkt->duration = 1;
  av_packet_rescale_ts(pkt, w->enc_tb, st->time_base);
  pkt->stream_index = 0;
  int64_t pts = pkt->pts;
  int rc;
  int key = (pkt->flags & AV_PKT_FLAG_KEY) != 0;
  if (w->cfg.video) {
    if (!w->have_packets && !key)
      return stream__err(STREAM_EINTERNAL, "media package: %s does not start with a key frame",
                         w->r->id);
    if (key) {
      int newseg = !w->in_segment || (w->key_count % w->cfg.keys_per_segment) == 0;
      if (newseg) {
        rc = end_segment(w, pts);
        if (rc == STREAM_OK)
          rc = begin_segment(w, pts);
      } else {
        rc = flush_fragment(w);
      }
      if (rc != STREAM_OK)
        return rc;
      w->key_count++;
      media__rendition *r = w->r;
      rc = grow((void **)&r->keyframes, &w->key_cap, r->keyframe_count, sizeof *r->keyframes);
      if (rc != STREAM_OK)
        return rc;
      media__keyframe *k = &r->keyframes[r->keyframe_count];
      memset(k, 0, sizeof *k);
      k->time = pts;
      k->segment = r->segment_count; /* the open segment's index once recorded */
      if (r->keyframe_count > 0)
        r->keyframes[r->keyframe_count - 1].duration =
            pts - r->keyframes[r->keyframe_count - 1].time;
      w->cur_key = (int64_t)r->keyframe_count++;
      w->cur_key_sample = media__avcc_size(pkt->data, (size_t)pkt->size);
    }
  } else {
    double t = pts * av_q2d(st->time_base);
    if (!w->in_segment) {
      rc = begin_segment(w, pts);
      if (rc != STREAM_OK)
        return rc;
      w->next_seg = 1;
      w->next_frag = 1;
    } else if (t >= w->next_seg * w->cfg.segment_seconds - 1e-9) {
      while (t >= w->next_seg * w->cfg.segment_seconds - 1e-9)
        w->next_seg++;
      while (t >= w->next_frag * w->cfg.fragment_seconds - 1e-9)
        w->next_frag++;
      rc = end_segment(w, pts);
      if (rc == STREAM_OK)
        rc = begin_segment(w, pts);
      if (rc != STREAM_OK)
        return rc;
    } else if (t >= w->next_frag * w->cfg.fragment_seconds - 1e-9) {
      while (t >= w->next_frag * w->cfg.fragment_seconds - 1e-9)
        w->next_frag++;
      rc = flush_fragment(w);
      if (rc != STREAM_OK)
        return rc;
    }
  }
  int64_t end = pts + (pkt->duration > 0 ? pkt->duration : 0);
  if (!w->have_packets || end > w->max_end)
    w->max_end = end;
  w->have_packets = 1;
  rc = av_write_frame(w->oc, pkt);
  if (rc < 0) {
    char eb[128];
    return stream__err(STREAM_EMEDIA, "media package: writing a packet of %s failed: %s", w->r->id,
                       media__averr(rc, eb, sizeof eb));
  }
  w->frag_packets++;
  if (w->io_error)
    return stream__err(STREAM_EIO, "media package: writing %s failed: %s", w->r->id,
                       strerror(w->io_error));
  return STREAM_OK;
}

int media__writer_finish(media__writer *w)
{
  if (!w->have_packets)
    return stream__err(STREAM_EMEDIA, "media package: no packets were encoded for %s", w->r->id);
  int rc = end_segment(w, w->max_end);
  if (rc != STREAM_OK)
    return rc;
  media__rendition *r = w->r;
  if (r->keyframe_count > 0)
    r->keyframes[r->keyframe_count - 1].duration =
        w->max_end - r->keyframes[r->keyframe_count - 1].time;
  /* Nothing more reaches a file: skip_trailer, and f is NULL. */
  rc = av_write_trailer(w->oc);
  if (rc < 0) {
    char eb[128];
    return stream__err(STREAM_EMEDIA, "media package: finishing %s failed: %s", r->id,
                       media__averr(rc, eb, sizeof eb));
  }
  return STREAM_OK;
}

void media__writer_free(media__writer *w)
{
  if (!w)
    return;
  if (w->oc) {
    if (w->oc->pb) {
      av_freep(&w->oc->pb->buffer);
      avio_context_free(&w->oc->pb);
    }
    avformat_free_context(w->oc);
  }
  if (w->f)
    fclose(w->f);
  free(w);
}
