/*
 * media probe: open an input with libavformat and describe it (container,
 * codecs, duration, coded and display size, frame rate, SAR, rotation, audio tracks). Inputs
 * without a video stream are refused with an error that says so.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>

#include "pipe_internal.h"

const char *media__averr(int err, char *buf, size_t cap)
{
  if (av_strerror(err, buf, cap) < 0)
    snprintf(buf, cap, "error %d", err);
  return buf;
}

int media__check_file(const char *what, const char *path)
{
  struct stat st;
  if (stat(path, &st) != 0) {
    if (errno == ENOENT)
      return stream__err(STREAM_ENOTFOUND, "%s %s does not exist", what, path);
    return stream__err(STREAM_EIO, "cannot stat %s %s: %s", what, path, strerror(errno));
  }
  if (!S_ISREG(st.st_mode))
    return stream__err(STREAM_EMEDIA, "%s %s is not a regular file", what, path);
  if (st.st_size == 0)
    return stream__err(STREAM_EMEDIA, "%s %s is empty (0 bytes)", what, path);
  return STREAM_OK;
}

/* An ISO BMFF file (MP4, MOV) cut short: a top-level box that holds the
 * index or the media ('moov', 'mdat', 'moof') and ends past the end of the
 * file. FFmpeg reads such a file without complaint (a track missing from a
 * cut 'moov' is dropped, the samples after the cut are not there). Other
 * box types, a size of 0 (to the end) and what is not a box are left to
 * FFmpeg. */
static int check_boxes(const char *path)
{
  FILE *f = fopen(path, "rbe");
  if (!f)
    return STREAM_OK; /* FFmpeg reports it */
  int rc = STREAM_OK;
  struct stat st;
  if (fstat(fileno(f), &st) == 0) {
    int64_t at = 0, size = st.st_size;
    for (int n = 0; n < 100000 && at + 8 <= size; n++) {
      unsigned char h[16];
      if (fseeko(f, (off_t)at, SEEK_SET) != 0 || fread(h, 1, 8, f) != 8)
        break;
      uint64_t len = (uint64_t)h[0] << 24 | (uint64_t)h[1] << 16 | (uint64_t)h[2] << 8 | h[3];
      if (len == 1) {
        if (fread(h + 8, 1, 8, f) != 8)
          break;
        len = 0;
        for (int i = 8; i < 16; i++)
          len = len << 8 | h[i];
      }
      if (len == 0 || len < 8)
        break; /* to the end of the file, or not a box */
      char type[5] = {(char)h[4], (char)h[5], (char)h[6], (char)h[7], 0};
      if (len > (uint64_t)(size - at)) {
        if (!strcmp(type, "moov") || !strcmp(type, "mdat") || !strcmp(type, "moof"))
          rc = stream__err(STREAM_EMEDIA,
                           "media input %s is truncated: its '%s' box ends at byte %llu of a "
                           "%lld-byte file",
                           path, type, (unsigned long long)(at + len), (long long)size);
        break;
      }
      at += (int64_t)len;
    }
  }
  fclose(f);
  return rc;
}

int media__open_input(AVFormatContext **out, const char *path)
{
  *out = NULL;
  int rc = media__check_file("media input", path);
  if (rc != STREAM_OK)
    return rc;
  AVFormatContext *fmt = NULL;
  char eb[128];
  rc = avformat_open_input(&fmt, path, NULL, NULL);
  if (rc < 0)
    return stream__err(STREAM_EMEDIA, "cannot read media input %s: %s (unreadable or truncated)",
                       path, media__averr(rc, eb, sizeof eb));
  if (fmt->iformat && strstr(fmt->iformat->name, "mp4")) {
    rc = check_boxes(path);
    if (rc != STREAM_OK) {
      avformat_close_input(&fmt);
      return rc;
    }
  }
  rc = avformat_find_stream_info(fmt, NULL);
  if (rc < 0) {
    avformat_close_input(&fmt);
    return stream__err(STREAM_EMEDIA, "cannot find the streams of media input %s: %s", path,
                       media__averr(rc, eb, sizeof eb));
  }
  *out = fmt;
  return STREAM_OK;
}

static void copy_str(char *dst, size_t cap, const char *s)
{
  snprintf(dst, cap, "%s", s ? s : "");
}

int media__describe(stream_media_info *out, AVFormatContext *fmt, const char *path)
{
  memset(out, 0, sizeof *out);
  copy_str(out->container, sizeof out->container, fmt->iformat ? fmt->iformat->name : "");
  out->bit_rate = fmt->bit_rate > 0 ? fmt->bit_rate : 0;
  out->video_stream = -1;
  for (unsigned int i = 0; i < fmt->nb_streams; i++) {
    AVStream *s = fmt->streams[i];
    const AVCodecParameters *par = s->codecpar;
    if (par->codec_type == AVMEDIA_TYPE_VIDEO && out->video_stream < 0 &&
        !(s->disposition & AV_DISPOSITION_ATTACHED_PIC))
      out->video_stream = (int)i;
    if (par->codec_type == AVMEDIA_TYPE_AUDIO && out->audio_count < STREAM_MEDIA_MAX_AUDIO) {
      stream_media_audio_track *t = &out->audio[out->audio_count++];
      t->index = (int)i;
      copy_str(t->codec, sizeof t->codec, avcodec_get_name(par->codec_id));
      const AVDictionaryEntry *lang = av_dict_get(s->metadata, "language", NULL, 0);
      copy_str(t->language, sizeof t->language,
               lang && lang->value[0] && strlen(lang->value) < sizeof t->language ? lang->value
                                                                                  : "und");
      t->sample_rate = par->sample_rate;
      t->channels = par->ch_layout.nb_channels;
      t->bit_rate = par->bit_rate > 0 ? par->bit_rate : 0;
    }
  }
  if (out->video_stream < 0) {
    if (out->audio_count > 0)
      return stream__err(STREAM_EMEDIA,
                         "media input %s has no video stream (audio-only input with %zu audio "
                         "track%s); a video stream is required",
                         path, out->audio_count, out->audio_count == 1 ? "" : "s");
    return stream__err(STREAM_EMEDIA, "media input %s has no video stream", path);
  }
  AVStream *vs = fmt->streams[out->video_stream];
  const AVCodecParameters *vp = vs->codecpar;
  copy_str(out->video_codec, sizeof out->video_codec, avcodec_get_name(vp->codec_id));
  if (!avcodec_find_decoder(vp->codec_id))
    return stream__err(STREAM_EMEDIA, "media input %s: no decoder for video codec %s", path,
                       out->video_codec);
  out->width = vp->width;
  out->height = vp->height;
  if (out->width <= 0 || out->height <= 0)
    return stream__err(STREAM_EMEDIA, "media input %s: the video size is unknown (truncated?)",
                       path);
  const char *pf = av_get_pix_fmt_name((enum AVPixelFormat)vp->format);
  copy_str(out->pix_fmt, sizeof out->pix_fmt, pf ? pf : "unknown");
  AVRational fr = av_guess_frame_rate(fmt, vs, NULL);
  if (fr.num <= 0 || fr.den <= 0)
    return stream__err(STREAM_EMEDIA, "media input %s: the video frame rate is unknown", path);
  av_reduce(&out->fps_num, &out->fps_den, fr.num, fr.den, 1000000);
  AVRational sar = av_guess_sample_aspect_ratio(fmt, vs, NULL);
  if (sar.num <= 0 || sar.den <= 0)
    sar = (AVRational){1, 1};
  av_reduce(&out->sar_num, &out->sar_den, sar.num, sar.den, 65535);
  const uint8_t *dm = av_stream_get_side_data(vs, AV_PKT_DATA_DISPLAYMATRIX, NULL);
  if (dm) {
    double r = -av_display_rotation_get((const int32_t *)(const void *)dm);
    if (!isnan(r)) {
      long deg = lround(r);
      deg %= 360;
      if (deg < 0)
        deg += 360;
      out->rotation = (int)deg;
    }
  }
  double d = 0;
  if (fmt->duration > 0)
    d = (double)fmt->duration / AV_TIME_BASE;
  else if (vs->duration > 0)
    d = (double)vs->duration * av_q2d(vs->time_base);
  if (!(d > 0)) {
    /* Say why when the reason is the format: a picture is not a video, a raw
     * elementary stream has no timestamps. */
    if (fmt->iformat && strstr(fmt->iformat->name, "_pipe"))
      return stream__err(STREAM_EMEDIA,
                         "media input %s: the duration is unknown: a still %s image is not a "
                         "video",
                         path, out->video_codec);
    if (fmt->iformat && fmt->iformat->raw_codec_id)
      return stream__err(STREAM_EMEDIA,
                         "media input %s: the duration is unknown: a raw %s stream has no "
                         "timestamps (mux it into MP4, MOV or Matroska first, e.g. ffmpeg "
                         "-framerate 25 -i INPUT -c copy OUTPUT.mp4)",
                         path, out->video_codec);
    return stream__err(STREAM_EMEDIA, "media input %s: the duration is unknown (truncated?)", path);
  }
  out->duration = d;
  return STREAM_OK;
}

int stream_media_probe(stream_media_info *out, const char *path)
{
  if (!out)
    return stream__err(STREAM_EINVAL, "media probe: out is NULL");
  memset(out, 0, sizeof *out);
  if (!path || !*path)
    return stream__err(STREAM_EINVAL, "media probe: path is NULL or empty");
  AVFormatContext *fmt = NULL;
  int rc = media__open_input(&fmt, path);
  if (rc != STREAM_OK)
    return rc;
  rc = media__describe(out, fmt, path);
  avformat_close_input(&fmt);
  if (rc != STREAM_OK)
    memset(out, 0, sizeof *out);
  return rc;
}

cJSON *media__info_json(const stream_media_info *in);
cJSON *media__info_json(const stream_media_info *in)
{
  cJSON *o = cJSON_CreateObject();
  cJSON *v = cJSON_CreateObject();
  cJSON *a = cJSON_CreateArray();
  if (!o || !v || !a) {
    cJSON_Delete(o);
    cJSON_Delete(v);
    cJSON_Delete(a);
    return NULL;
  }
  char buf[64];
  cJSON_AddStringToObject(o, "container", in->container);
  cJSON_AddNumberToObject(o, "duration", in->duration);
  cJSON_AddNumberToObject(o, "bit_rate", (double)in->bit_rate);
  cJSON_AddNumberToObject(v, "index", in->video_stream);
  cJSON_AddStringToObject(v, "codec", in->video_codec);
  cJSON_AddNumberToObject(v, "width", in->width);
  cJSON_AddNumberToObject(v, "height", in->height);
  snprintf(buf, sizeof buf, "%d/%d", in->fps_num, in->fps_den);
  cJSON_AddStringToObject(v, "fps", buf);
  cJSON_AddNumberToObject(v, "fps_value", in->fps_den ? (double)in->fps_num / in->fps_den : 0);
  snprintf(buf, sizeof buf, "%d:%d", in->sar_num, in->sar_den);
  cJSON_AddStringToObject(v, "sar", buf);
  cJSON_AddNumberToObject(v, "rotation", in->rotation);
  /* The upright picture the transcode produces: width and height are the
   * coded size, turned here for a 90/270 rotation. */
  int turned = in->rotation == 90 || in->rotation == 270;
  cJSON_AddNumberToObject(v, "display_width", turned ? in->height : in->width);
  cJSON_AddNumberToObject(v, "display_height", turned ? in->width : in->height);
  cJSON_AddStringToObject(v, "pix_fmt", in->pix_fmt);
  cJSON_AddItemToObject(o, "video", v);
  for (size_t i = 0; i < in->audio_count; i++) {
    const stream_media_audio_track *t = &in->audio[i];
    cJSON *x = cJSON_CreateObject();
    if (!x)
      break;
    cJSON_AddNumberToObject(x, "index", t->index);
    cJSON_AddStringToObject(x, "codec", t->codec);
    cJSON_AddStringToObject(x, "language", t->language);
    cJSON_AddNumberToObject(x, "sample_rate", t->sample_rate);
    cJSON_AddNumberToObject(x, "channels", t->channels);
    cJSON_AddNumberToObject(x, "bit_rate", (double)t->bit_rate);
    cJSON_AddItemToArray(a, x);
  }
  cJSON_AddItemToObject(o, "audio", a);
  return o;
}

int stream_media_probe_json(char **out_json, const char *path)
{
  if (!out_json)
    return stream__err(STREAM_EINVAL, "media probe: out_json is NULL");
  *out_json = NULL;
  stream_media_info info;
  int rc = stream_media_probe(&info, path);
  if (rc != STREAM_OK)
    return rc;
  cJSON *o = media__info_json(&info);
  char *txt = o ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  if (!txt)
    return stream__err(STREAM_ENOMEM, "media probe: out of memory");
  *out_json = stream__strdup(txt);
  cJSON_free(txt);
  return *out_json ? STREAM_OK : STREAM_ENOMEM;
}
