/*
 * player: a headless set-top style player on the libstream client SDK and the
 * player-event emitter (examples/player/README.md).
 *
 *   player --server URL (--tv | --email E --password-stdin)
 *          [--title ID] [--profile NAME] [--device ID] [--fast] [--max-kbps N]
 *          [--buffer-s N] [--heartbeat-s N] [--events-log FILE] [--spool FILE]
 *          [--timeout SECONDS]
 *
 * Signs in (password, or TV code: prints "Go to URL and enter CODE"), picks a
 * profile and a title, starts a playback session (POST /v1/playback), then a
 * downloader thread fetches the signed HLS multivariant and media playlists,
 * init segments and fMP4 segments with libcurl (relative URIs resolved against
 * the playlist URL, so the path token is inherited), choosing the rendition by
 * measured throughput (simple ABR) and optionally throttled (--max-kbps). The
 * main thread decodes every segment with libavcodec (init + segment in memory
 * through a custom AVIOContext) at real-time pace (or as fast as it can with
 * --fast), keeps the screen lease alive, and emits the player events through
 * the emitter: viewinit, playrequest, play, playing, rebufferstart/end,
 * renditionchange, heartbeat (every 10 s), error and ended, with CMCD-aligned
 * fields. It ends with a summary: startup time, rebuffers, and a JSON line
 * ("summary {...}") for scripts.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/mem.h>

#include "stream/client.h"
#include "stream/common.h"
#include "stream/emitter.h"
#include "stream/event.h"

#define MAX_RENDITIONS 16
#define MAX_SEGMENTS 100000
#define MAX_FILE (256u << 20) /* largest playlist or segment accepted */
#define FETCH_ATTEMPTS 3

static int cancel_flag;

static void on_sigint(int sig)
{
  (void)sig;
  __atomic_store_n(&cancel_flag, 1, __ATOMIC_RELEASE);
}

static int cancelled(void)
{
  return __atomic_load_n(&cancel_flag, __ATOMIC_ACQUIRE);
}

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms)
{
  if (ms <= 0)
    return;
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR && !cancelled())
    ;
}

/* ---- bytes --------------------------------------------------------------- */

typedef struct buf {
  unsigned char *p;
  size_t n, cap;
} buf;

static int buf_add(buf *b, const void *data, size_t n)
{
  if (n > MAX_FILE || b->n > MAX_FILE - n)
    return -1;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 16384;
    while (cap < b->n + n + 1)
      cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p)
      return -1;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, data, n);
  b->n += n;
  b->p[b->n] = '\0'; /* playlists are read as text */
  return 0;
}

static void buf_free(buf *b)
{
  free(b->p);
  memset(b, 0, sizeof(*b));
}

/* ---- the stream ---------------------------------------------------------- */

typedef struct segment {
  double start, dur; /* seconds */
  char *url;         /* absolute */
} segment;

typedef struct rendition {
  long bandwidth; /* bit/s, from the multivariant playlist */
  int width, height;
  char *url;      /* media playlist, absolute */
  char *init_url; /* EXT-X-MAP, absolute */
  segment *segs;
  size_t nsegs;
  buf init; /* downloaded init segment (downloader thread only) */
} rendition;

/* A downloaded segment waiting to be played: init + segment bytes. */
typedef struct chunk {
  int rend;
  double start, dur;
  buf data;
  struct chunk *next;
} chunk;

typedef struct options {
  const char *server, *email, *title, *profile, *device, *events_log, *spool;
  int password_stdin, tv, fast;
  long max_kbps, buffer_s, heartbeat_s, timeout_s;
} options;

typedef struct player {
  options o;
  stream_client *c;
  stream_emitter *em;
  FILE *events_log;
  char view_id[STREAM_EVENTS_ID_SIZE];
  char session_id[STREAM_EVENTS_ID_SIZE];
  char profile_id[STREAM_EVENTS_ID_SIZE];
  char title_id[STREAM_EVENTS_ID_SIZE];
  char device_id[STREAM_EVENTS_ID_SIZE];
  char hb_path[1024]; /* lease heartbeat, path part */
  int64_t lease_every_ms, next_lease, next_hb;
  char *master_url;
  rendition r[MAX_RENDITIONS];
  int nr;
  double duration; /* seconds */
  CURL *curl;      /* downloader thread's handle (playlists before it starts) */
  /* shared between the downloader and the player, under mu */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  chunk *head, *tail;
  double downloaded_end, playhead; /* seconds */
  int done, failed, stop;
  long fail_code;
  char fail_msg[STREAM_EVENTS_MESSAGE_MAX + 1];
  long mtp_kbps; /* measured throughput, EWMA */
  /* player thread */
  int cur;        /* rendition playing, -1 before the first frame */
  int started;    /* the first frame was shown */
  int stalled;    /* rebuffering */
  int64_t clock0; /* wall ms at which media time 0 is shown */
  int64_t t_request, t_playing;
  int rebuffers, switches;
  int64_t rebuffer_ms;
  long frames, segments, events;
  int status; /* exit status */
} player;

/* ---- events ---------------------------------------------------------------- */

/* Emit one event of `type` with the player's state as its fields. */
static void emit(player *p, int type, int error_code, const char *error_message)
{
  stream_event ev;
  memset(&ev, 0, sizeof(ev));
  ev.type = type;
  snprintf(ev.view_id, sizeof(ev.view_id), "%s", p->view_id);
  snprintf(ev.session_id, sizeof(ev.session_id), "%s", p->session_id);
  snprintf(ev.profile_id, sizeof(ev.profile_id), "%s", p->profile_id);
  snprintf(ev.title_id, sizeof(ev.title_id), "%s", p->title_id);
  snprintf(ev.device_id, sizeof(ev.device_id), "%s", p->device_id);
  pthread_mutex_lock(&p->mu);
  double head = p->playhead, ahead = p->downloaded_end - p->playhead;
  long mtp = p->mtp_kbps;
  pthread_mutex_unlock(&p->mu);
  ev.playhead_ms = (int64_t)(head * 1000.0);
  ev.bl = ahead > 0 ? (int64_t)(ahead * 1000.0) : 0;
  ev.mtp = mtp;
  if (p->cur >= 0) {
    ev.br = p->r[p->cur].bandwidth / 1000;
    ev.width = p->r[p->cur].width;
    ev.height = p->r[p->cur].height;
  }
  /* CMCD: sid is the player's playback session (the view), cid the content. */
  snprintf(ev.sid, sizeof(ev.sid), "%s", p->view_id);
  snprintf(ev.cid, sizeof(ev.cid), "%s", p->title_id);
  snprintf(ev.ot, sizeof(ev.ot), "%s", p->cur >= 0 ? "v" : "m");
  ev.su = !p->started || p->stalled;
  if (type == STREAM_EVENT_ERROR) {
    ev.error_code = error_code;
    ev.error_fatal = 1;
    snprintf(ev.error_message, sizeof(ev.error_message), "%s", error_message);
  }
  char id[STREAM_EVENTS_UUID_LEN + 1] = "";
  int rc = stream_emitter_emit(id, p->em, &ev);
  if (rc != STREAM_OK) {
    fprintf(stderr, "player: event %s: %s\n", stream_event_type_name(type),
            stream_error_last()->message);
    return;
  }
  p->events++;
  if (p->events_log) {
    fprintf(p->events_log, "%s %s\n", id, stream_event_type_name(type));
    fflush(p->events_log);
  }
}

/* A fatal error: the error event, a message, exit status 1. */
static void fatal(player *p, int code, const char *fmt, ...)
{
  char msg[STREAM_EVENTS_MESSAGE_MAX + 1];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  for (char *s = msg; *s; s++)
    if ((unsigned char)*s < 0x20)
      *s = ' ';
  fprintf(stderr, "player: %s\n", msg);
  if (p->em && p->view_id[0])
    emit(p, STREAM_EVENT_ERROR, code, msg);
  p->status = 1;
}

static int fail_rc(player *p, const char *what, int rc)
{
  const stream_error *e = stream_error_last();
  long http = stream_client_last_http_status();
  fatal(p, http > 0 ? (int)http : -rc, "%s: %s", what, e ? e->message : stream_strerror(rc));
  return 1;
}

/* Periodic work of the player thread: heartbeat events, the screen lease,
 * and the access token of the emitter (the client may have refreshed it). */
static void tick(player *p)
{
  int64_t t = now_ms();
  if (p->next_hb && t >= p->next_hb) {
    emit(p, STREAM_EVENT_HEARTBEAT, 0, NULL);
    p->next_hb += p->o.heartbeat_s * 1000;
    if (p->next_hb <= t) /* the thread was held up: no burst of heartbeats */
      p->next_hb = t + p->o.heartbeat_s * 1000;
  }
  if (p->hb_path[0] && t >= p->next_lease) {
    p->next_lease = t + p->lease_every_ms;
    char *json = NULL;
    int rc = stream_client_request(&json, p->c, "POST", p->hb_path, "{}");
    stream_free(json);
    if (rc != STREAM_OK)
      fprintf(stderr, "player: lease heartbeat: %s\n", stream_error_last()->message);
    char *access = NULL;
    if (stream_client_get_tokens(&access, NULL, p->c) == STREAM_OK && access) {
      stream_emitter_set_token(p->em, access);
      stream_free_secret(access, strlen(access));
    }
  }
}

/* ---- HTTP ------------------------------------------------------------------ */

/* Where a response body goes, and the bandwidth cap it obeys. */
typedef struct sink {
  buf *b;
  long kbps;    /* 0 = no cap */
  int64_t t0;   /* ms, start of the transfer */
  uint64_t got; /* bytes so far */
} sink;

/* Append to the buffer; with a cap, hold the transfer until the bytes so far
 * fit in it (the throttle: libcurl's own rate limit lets a small response
 * through at once on a fast link, so it is done here). */
static size_t on_body(char *data, size_t size, size_t n, void *userdata)
{
  sink *k = userdata;
  if (buf_add(k->b, data, size * n) != 0)
    return 0;
  k->got += size * n;
  if (k->kbps > 0) {
    int64_t due = k->t0 + (int64_t)(k->got * 8 / (uint64_t)k->kbps);
    for (int64_t left = due - now_ms(); left > 0 && !cancelled(); left = due - now_ms())
      sleep_ms(left < 100 ? left : 100);
  }
  return size * n;
}

/* GET `url` into `out` (appended), throttled to --max-kbps, with CMCD request
 * headers; retried on network errors and 5xx. Returns 0, or the HTTP status
 * (or 1 for a network error) with the message in `err`. */
static long fetch(player *p, buf *out, const char *url, const char *ot, long br_kbps, char *err,
                  size_t errlen)
{
  long status = 0;
  for (int attempt = 0; attempt < FETCH_ATTEMPTS && !cancelled(); attempt++) {
    size_t keep = out->n;
    sink k = {out, p->o.max_kbps, now_ms(), 0};
    CURL *h = p->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &k);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "libstream-player/1");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* gzip playlists */
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    /* CMCD (CTA-5004) as request headers: they do not touch the signed URL. */
    char object[96], request[96], session[200];
    pthread_mutex_lock(&p->mu);
    long bl = (long)((p->downloaded_end - p->playhead) * 1000.0), mtp = p->mtp_kbps;
    pthread_mutex_unlock(&p->mu);
    int su = !__atomic_load_n(&p->started, __ATOMIC_RELAXED) ||
             __atomic_load_n(&p->stalled, __ATOMIC_RELAXED);
    if (br_kbps > 0)
      snprintf(object, sizeof(object), "CMCD-Object: br=%ld,ot=%s", br_kbps, ot);
    else
      snprintf(object, sizeof(object), "CMCD-Object: ot=%s", ot);
    snprintf(request, sizeof(request), "CMCD-Request: bl=%ld,mtp=%ld%s", bl > 0 ? bl : 0L, mtp,
             su ? ",su" : "");
    snprintf(session, sizeof(session), "CMCD-Session: cid=\"%s\",sf=h,sid=\"%s\",st=v", p->title_id,
             p->view_id);
    struct curl_slist *hdrs = curl_slist_append(NULL, object);
    hdrs = curl_slist_append(hdrs, request);
    hdrs = curl_slist_append(hdrs, session);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    CURLcode cc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (cc == CURLE_OK && status == 200)
      return 0;
    out->n = keep;
    if (cc != CURLE_OK) {
      snprintf(err, errlen, "GET %s: %s", ot, curl_easy_strerror(cc));
      status = 1;
    } else {
      snprintf(err, errlen, "GET %s: HTTP %ld", ot, status);
      if (status < 500)
        return status; /* 403 (expired or refused signature), 404: retrying cannot help */
    }
    sleep_ms(200L << attempt);
  }
  return status ? status : 1;
}

/* `rel` resolved against `base` (RFC 3986, libcurl's URL API); malloc'ed. */
static char *resolve(const char *base, const char *rel)
{
  CURLU *u = curl_url();
  char *out = NULL, *s = NULL;
  if (u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
      curl_url_set(u, CURLUPART_URL, rel, 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK) {
    out = strdup(s);
    curl_free(s);
  }
  curl_url_cleanup(u);
  return out;
}

/* ---- playlists ------------------------------------------------------------- */

/* The value of attribute `name` in an HLS attribute list (quotes removed). */
static int hls_attr(char *out, size_t outlen, const char *list, const char *name)
{
  size_t nl = strlen(name);
  const char *s = list;
  while (*s) {
    const char *eq = strchr(s, '=');
    if (!eq)
      return -1;
    const char *v = eq + 1, *end;
    if (*v == '"') {
      v++;
      end = strchr(v, '"');
      if (!end)
        return -1;
    } else {
      end = v + strcspn(v, ",");
    }
    if ((size_t)(eq - s) == nl && strncmp(s, name, nl) == 0) {
      size_t n = (size_t)(end - v);
      if (n >= outlen)
        return -1;
      memcpy(out, v, n);
      out[n] = '\0';
      return 0;
    }
    s = end + (*end == '"');
    if (*s == ',')
      s++;
    else
      break;
  }
  return -1;
}

/* Next line of `*text` (NUL-terminated in place, CR removed), or NULL. */
static char *next_line(char **text)
{
  char *s = *text;
  if (!s || !*s)
    return NULL;
  char *nl = strchr(s, '\n');
  if (nl) {
    *nl = '\0';
    *text = nl + 1;
  } else {
    *text = s + strlen(s);
  }
  size_t n = strlen(s);
  if (n && s[n - 1] == '\r')
    s[n - 1] = '\0';
  return s;
}

static int by_bandwidth(const void *a, const void *b)
{
  const rendition *x = a, *y = b;
  return (x->bandwidth > y->bandwidth) - (x->bandwidth < y->bandwidth);
}

static int load_media_playlist(player *p, rendition *r)
{
  buf b = {0};
  char err[256];
  long st = fetch(p, &b, r->url, "m", 0, err, sizeof(err));
  if (st) {
    buf_free(&b);
    fatal(p, (int)st, "media playlist: %s", err);
    return -1;
  }
  char *text = (char *)b.p, *line;
  double pending = -1, t = 0;
  int rc = 0;
  while ((line = next_line(&text)) && !rc) {
    if (strncmp(line, "#EXT-X-MAP:", 11) == 0) {
      char uri[1024];
      if (hls_attr(uri, sizeof(uri), line + 11, "URI") != 0 ||
          !(r->init_url = resolve(r->url, uri)))
        rc = -1;
    } else if (strncmp(line, "#EXTINF:", 8) == 0) {
      pending = strtod(line + 8, NULL);
    } else if (line[0] && line[0] != '#' && pending >= 0) {
      if (r->nsegs >= MAX_SEGMENTS) {
        rc = -1;
        break;
      }
      segment *s = realloc(r->segs, (r->nsegs + 1) * sizeof(*s));
      if (!s) {
        rc = -1;
        break;
      }
      r->segs = s;
      s[r->nsegs].start = t;
      s[r->nsegs].dur = pending;
      s[r->nsegs].url = resolve(r->url, line);
      if (!s[r->nsegs].url)
        rc = -1;
      r->nsegs++;
      t += pending;
      pending = -1;
    }
  }
  buf_free(&b);
  if (rc || !r->init_url || r->nsegs == 0) {
    fatal(p, 1001, "media playlist of %dp: no EXT-X-MAP or no segments", r->height);
    return -1;
  }
  if (t > p->duration)
    p->duration = t;
  return 0;
}

static int load_master(player *p)
{
  buf b = {0};
  char err[256];
  long st = fetch(p, &b, p->master_url, "m", 0, err, sizeof(err));
  if (st) {
    buf_free(&b);
    fatal(p, (int)st, "multivariant playlist: %s", err);
    return -1;
  }
  char *text = (char *)b.p, *line, *inf = NULL;
  while ((line = next_line(&text))) {
    if (strncmp(line, "#EXT-X-STREAM-INF:", 18) == 0) {
      inf = line + 18;
    } else if (inf && line[0] && line[0] != '#') {
      if (p->nr < MAX_RENDITIONS) {
        rendition *r = &p->r[p->nr];
        char v[64];
        if (hls_attr(v, sizeof(v), inf, "BANDWIDTH") == 0)
          r->bandwidth = atol(v);
        if (hls_attr(v, sizeof(v), inf, "RESOLUTION") == 0)
          sscanf(v, "%dx%d", &r->width, &r->height);
        r->url = resolve(p->master_url, line);
        if (r->url && r->bandwidth > 0)
          p->nr++;
        else
          free(r->url);
      }
      inf = NULL;
    }
  }
  buf_free(&b);
  if (p->nr == 0) {
    fatal(p, 1001, "the multivariant playlist lists no video rendition");
    return -1;
  }
  qsort(p->r, (size_t)p->nr, sizeof(p->r[0]), by_bandwidth);
  for (int i = 0; i < p->nr; i++)
    if (load_media_playlist(p, &p->r[i]) != 0)
      return -1;
  return 0;
}

/* ---- the downloader thread --------------------------------------------------- */

/* ABR: the highest rendition whose bandwidth fits in 80 % of the measured
 * throughput; the lowest before any measurement or when none fits. */
static int choose(player *p, long mtp_kbps)
{
  int pick = 0;
  for (int i = 1; i < p->nr && mtp_kbps > 0; i++)
    if (p->r[i].bandwidth / 1000 <= mtp_kbps * 8 / 10)
      pick = i;
  return pick;
}

static void download_failed(player *p, long code, const char *msg)
{
  pthread_mutex_lock(&p->mu);
  p->failed = 1;
  p->fail_code = code;
  snprintf(p->fail_msg, sizeof(p->fail_msg), "%s", msg);
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

static void *downloader(void *arg)
{
  player *p = arg;
  double pos = 0;
  char err[256];
  while (pos < p->duration - 0.001) {
    err[0] = '\0';
    pthread_mutex_lock(&p->mu);
    while (!p->stop && p->downloaded_end - p->playhead > (double)p->o.buffer_s)
      pthread_cond_wait(&p->cv, &p->mu);
    int stop = p->stop;
    long mtp = p->mtp_kbps;
    pthread_mutex_unlock(&p->mu);
    if (stop || cancelled())
      break;
    int ri = choose(p, mtp);
    rendition *r = &p->r[ri];
    size_t si = 0;
    while (si + 1 < r->nsegs && r->segs[si].start + r->segs[si].dur <= pos + 0.001)
      si++;
    const segment *s = &r->segs[si];
    int64_t t0 = now_ms();
    size_t bytes = 0;
    long st = 0;
    if (!r->init.n) {
      st = fetch(p, &r->init, r->init_url, "i", r->bandwidth / 1000, err, sizeof(err));
      bytes += r->init.n;
    }
    chunk *c = calloc(1, sizeof(*c));
    if (!st && !c)
      st = 1;
    if (!st && buf_add(&c->data, r->init.p, r->init.n) != 0)
      st = 1;
    if (!st) {
      size_t before = c->data.n;
      st = fetch(p, &c->data, s->url, "v", r->bandwidth / 1000, err, sizeof(err));
      bytes += c->data.n - before;
    }
    if (st) {
      if (c)
        buf_free(&c->data);
      free(c);
      download_failed(p, st, st == 1 && !err[0] ? "out of memory" : err);
      return NULL;
    }
    int64_t ms = now_ms() - t0;
    long sample = (long)((double)bytes * 8.0 / (double)(ms > 0 ? ms : 1)); /* kbit/s */
    if (sample > 10000000)
      sample = 10000000;
    c->rend = ri;
    c->start = s->start;
    c->dur = s->dur;
    pthread_mutex_lock(&p->mu);
    p->mtp_kbps = p->mtp_kbps ? (p->mtp_kbps + sample) / 2 : sample;
    if (p->tail)
      p->tail->next = c;
    else
      p->head = c;
    p->tail = c;
    p->downloaded_end = s->start + s->dur;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    pos = s->start + s->dur;
  }
  pthread_mutex_lock(&p->mu);
  p->done = 1;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* ---- decoding ---------------------------------------------------------------- */

typedef struct memio {
  const unsigned char *p;
  size_t n, pos;
} memio;

static int mem_read(void *opaque, uint8_t *out, int size)
{
  memio *m = opaque;
  if (m->pos >= m->n)
    return AVERROR_EOF;
  size_t k = m->n - m->pos < (size_t)size ? m->n - m->pos : (size_t)size;
  memcpy(out, m->p + m->pos, k);
  m->pos += k;
  return (int)k;
}

static int64_t mem_seek(void *opaque, int64_t off, int whence)
{
  memio *m = opaque;
  if (whence == AVSEEK_SIZE)
    return (int64_t)m->n;
  whence &= ~AVSEEK_FORCE;
  int64_t base = whence == SEEK_CUR ? (int64_t)m->pos : whence == SEEK_END ? (int64_t)m->n : 0;
  if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
    return -1;
  if (base + off < 0 || base + off > (int64_t)m->n)
    return -1;
  m->pos = (size_t)(base + off);
  return (int64_t)m->pos;
}

/* Show a frame of media time `t` seconds: the first one starts playback,
 * the others wait for their time on the playback clock (unless --fast). */
static void on_frame(player *p, double t)
{
  p->frames++;
  if (!p->started) {
    p->t_playing = now_ms();
    p->clock0 = p->t_playing - (int64_t)(t * 1000.0);
    pthread_mutex_lock(&p->mu);
    p->playhead = t;
    pthread_mutex_unlock(&p->mu);
    emit(p, STREAM_EVENT_PLAYING, 0, NULL); /* su=1: the event that ends the startup */
    __atomic_store_n(&p->started, 1, __ATOMIC_RELAXED);
    return;
  }
  if (!p->o.fast) {
    int64_t due = p->clock0 + (int64_t)(t * 1000.0);
    for (int64_t left = due - now_ms(); left > 0 && !cancelled(); left = due - now_ms()) {
      sleep_ms(left < 100 ? left : 100);
      tick(p);
    }
  }
  pthread_mutex_lock(&p->mu);
  if (t > p->playhead)
    p->playhead = t;
  pthread_cond_broadcast(&p->cv); /* room in the buffer for the downloader */
  pthread_mutex_unlock(&p->mu);
  tick(p);
}

static int receive_frames(player *p, AVCodecContext *ctx, AVFrame *f, AVRational tb)
{
  for (;;) {
    int rc = avcodec_receive_frame(ctx, f);
    if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF)
      return 0;
    if (rc < 0)
      return rc;
    int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
    on_frame(p, ts == AV_NOPTS_VALUE ? 0 : (double)ts * av_q2d(tb));
    av_frame_unref(f);
    if (cancelled())
      return 0;
  }
}

/* Decode the video of init + segment `c`; 0 or an FFmpeg error. */
static int decode_chunk(player *p, const chunk *c, char *err, size_t errlen)
{
  memio m = {c->data.p, c->data.n, 0};
  AVFormatContext *fc = avformat_alloc_context();
  unsigned char *iobuf = av_malloc(65536);
  AVIOContext *io =
      iobuf ? avio_alloc_context(iobuf, 65536, 0, &m, mem_read, NULL, mem_seek) : NULL;
  AVCodecContext *ctx = NULL;
  AVPacket *pkt = av_packet_alloc();
  AVFrame *f = av_frame_alloc();
  const AVCodec *dec = NULL;
  int rc = AVERROR(ENOMEM), idx = -1;
  if (!fc || !io || !pkt || !f) {
    if (!io)
      av_free(iobuf);
    avformat_free_context(fc);
    fc = NULL;
    goto out;
  }
  fc->pb = io;
  fc->flags |= AVFMT_FLAG_CUSTOM_IO;
  rc = avformat_open_input(&fc, NULL, av_find_input_format("mp4"), NULL);
  if (rc < 0) /* fc was freed */
    goto out;
  idx = rc = av_find_best_stream(fc, AVMEDIA_TYPE_VIDEO, -1, -1, &dec, 0);
  if (rc < 0)
    goto out;
  ctx = avcodec_alloc_context3(dec);
  if (!ctx) {
    rc = AVERROR(ENOMEM);
    goto out;
  }
  if ((rc = avcodec_parameters_to_context(ctx, fc->streams[idx]->codecpar)) < 0 ||
      (rc = avcodec_open2(ctx, dec, NULL)) < 0)
    goto out;
  AVRational tb = fc->streams[idx]->time_base;
  while (!cancelled() && (rc = av_read_frame(fc, pkt)) >= 0) {
    if (pkt->stream_index == idx) {
      rc = avcodec_send_packet(ctx, pkt);
      if (rc >= 0)
        rc = receive_frames(p, ctx, f, tb);
    }
    av_packet_unref(pkt);
    if (rc < 0)
      break;
  }
  if (rc == AVERROR_EOF || rc >= 0) {
    rc = avcodec_send_packet(ctx, NULL);
    if (rc >= 0)
      rc = receive_frames(p, ctx, f, tb);
  }
out:
  if (rc < 0) {
    char e[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(rc, e, sizeof(e));
    snprintf(err, errlen, "decoding the %.3f s segment: %s", c->start, e);
  }
  avcodec_free_context(&ctx);
  av_frame_free(&f);
  av_packet_free(&pkt);
  if (fc)
    avformat_close_input(&fc);
  if (io) {
    av_freep(&io->buffer);
    avio_context_free(&io);
  }
  return rc < 0 ? rc : 0;
}

/* ---- playback ------------------------------------------------------------------ */

/* The next downloaded segment, waiting (a rebuffer, unless --fast or at
 * startup) when none is ready; NULL at the end, on failure or Ctrl-C. */
static chunk *next_chunk(player *p)
{
  pthread_mutex_lock(&p->mu);
  int waiting = 0;
  int64_t t0 = 0;
  while (!p->head && !p->done && !p->failed && !cancelled()) {
    if (!waiting && p->started && !p->o.fast) {
      waiting = 1;
      t0 = now_ms();
      pthread_mutex_unlock(&p->mu);
      __atomic_store_n(&p->stalled, 1, __ATOMIC_RELAXED);
      p->rebuffers++;
      emit(p, STREAM_EVENT_REBUFFERSTART, 0, NULL);
      printf("rebuffering at %.1f s\n", p->playhead);
      fflush(stdout);
      pthread_mutex_lock(&p->mu);
      continue;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 100000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&p->cv, &p->mu, &ts);
    pthread_mutex_unlock(&p->mu);
    tick(p);
    pthread_mutex_lock(&p->mu);
  }
  chunk *c = p->head;
  if (c) {
    p->head = c->next;
    if (!p->head)
      p->tail = NULL;
  }
  pthread_mutex_unlock(&p->mu);
  if (waiting) {
    int64_t stall = now_ms() - t0;
    p->rebuffer_ms += stall;
    p->clock0 += stall; /* the playback clock stood still */
    if (c)
      emit(p, STREAM_EVENT_REBUFFEREND, 0, NULL); /* still su=1: leaving the stall */
    __atomic_store_n(&p->stalled, 0, __ATOMIC_RELAXED);
  }
  return c;
}

static void play_loop(player *p)
{
  char err[300];
  for (;;) {
    chunk *c = next_chunk(p);
    if (!c)
      break;
    if (c->rend != p->cur) {
      int first = p->cur < 0;
      p->cur = c->rend;
      if (!first) {
        p->switches++;
        emit(p, STREAM_EVENT_RENDITIONCHANGE, 0, NULL);
        printf("switched to %dp (%ld kbit/s)\n", p->r[c->rend].height,
               p->r[c->rend].bandwidth / 1000);
      }
    }
    int rc = decode_chunk(p, c, err, sizeof(err));
    p->segments++;
    double end = c->start + c->dur;
    buf_free(&c->data);
    free(c);
    if (rc < 0) {
      fatal(p, 1002, "%s", err);
      return;
    }
    /* The last frame stays on screen for its duration. */
    if (!p->o.fast) {
      int64_t due = p->clock0 + (int64_t)(end * 1000.0);
      for (int64_t left = due - now_ms(); left > 0 && !cancelled(); left = due - now_ms()) {
        sleep_ms(left < 100 ? left : 100);
        tick(p);
      }
    }
    pthread_mutex_lock(&p->mu);
    p->playhead = end;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
  }
  pthread_mutex_lock(&p->mu);
  int failed = p->failed;
  long code = p->fail_code;
  char msg[sizeof(p->fail_msg)];
  snprintf(msg, sizeof(msg), "%s", p->fail_msg);
  pthread_mutex_unlock(&p->mu);
  if (failed)
    fatal(p, (int)code, "%s", msg);
  else if (cancelled())
    fprintf(stderr, "player: stopped\n");
  else
    emit(p, STREAM_EVENT_ENDED, 0, NULL);
}

/* ---- signing in, profile, title ------------------------------------------------ */

static int sign_in(player *p)
{
  stream_client *c = p->c;
  int rc;
  if (p->o.tv) {
    stream_client_device dev;
    rc = stream_client_device_start(&dev, c);
    if (rc != STREAM_OK)
      return fail_rc(p, "starting the TV sign-in", rc);
    printf("Go to %s and enter %s\n", dev.verification_uri, dev.user_code);
    printf("Waiting for approval (the code expires in %lld s)...\n", (long long)dev.expires_in);
    fflush(stdout);
    rc = stream_client_device_wait(c, &dev, p->o.timeout_s * 1000, &cancel_flag, NULL, NULL);
    if (rc != STREAM_OK)
      return fail_rc(p, "waiting for the TV sign-in", rc);
    printf("Signed in.\n");
    return 0;
  }
  char pw[1100];
  if (!fgets(pw, sizeof pw, stdin)) {
    fprintf(stderr, "player: --password-stdin: nothing on stdin\n");
    return 1;
  }
  pw[strcspn(pw, "\r\n")] = '\0';
  rc = stream_client_login(NULL, c, p->o.email, pw);
  memset(pw, 0, sizeof pw);
  if (rc != STREAM_OK)
    return fail_rc(p, "signing in", rc);
  printf("Signed in as %s.\n", p->o.email);
  return 0;
}

/* Switch to the profile named --profile, else the first one without a PIN
 * (playback needs a profile). */
static int choose_profile(player *p)
{
  char *json = NULL;
  int rc = stream_client_profiles(&json, p->c);
  if (rc != STREAM_OK)
    return fail_rc(p, "listing profiles", rc);
  cJSON *doc = cJSON_Parse(json);
  stream_free(json);
  const cJSON *it, *pick = NULL;
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, "profiles"))
  {
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
    if (p->o.profile ? cJSON_IsString(name) && strcmp(name->valuestring, p->o.profile) == 0
                     : !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "has_pin"))) {
      pick = it;
      break;
    }
  }
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(pick, "id");
  if (!cJSON_IsString(id)) {
    cJSON_Delete(doc);
    fprintf(stderr, "player: no profile to play with%s%s\n", p->o.profile ? " named " : "",
            p->o.profile ? p->o.profile : "");
    return 1;
  }
  stream_client_session s;
  rc = stream_client_profile_switch(&s, p->c, id->valuestring, NULL);
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(pick, "name");
  if (rc == STREAM_OK)
    printf("Profile: %s\n", cJSON_IsString(name) ? name->valuestring : s.profile_id);
  cJSON_Delete(doc);
  if (rc != STREAM_OK)
    return fail_rc(p, "switching profile", rc);
  snprintf(p->profile_id, sizeof(p->profile_id), "%s", s.profile_id);
  return 0;
}

/* POST /v1/playback for `title`: 0, 1 (error), or 2 (no playable media). */
static int start_session(player *p, const char *title)
{
  cJSON *body = cJSON_CreateObject();
  cJSON_AddStringToObject(body, "title_id", title);
  cJSON_AddStringToObject(body, "device_id", p->device_id);
  cJSON_AddStringToObject(body, "device_name", "libstream player");
  cJSON_AddStringToObject(body, "format", "hls");
  char *text = cJSON_PrintUnformatted(body);
  cJSON_Delete(body);
  char *json = NULL;
  int rc = text ? stream_client_request(&json, p->c, "POST", "/v1/playback", text) : STREAM_ENOMEM;
  free(text);
  if (rc == STREAM_ENOTFOUND && !p->o.title)
    return 2;
  if (rc != STREAM_OK)
    return fail_rc(p, "starting playback", rc);
  cJSON *doc = cJSON_Parse(json);
  stream_free(json);
  const cJSON *sid = cJSON_GetObjectItemCaseSensitive(doc, "session_id");
  const cJSON *url = cJSON_GetObjectItemCaseSensitive(doc, "hls_url");
  const cJSON *lease = cJSON_GetObjectItemCaseSensitive(doc, "lease");
  const cJSON *hb = cJSON_GetObjectItemCaseSensitive(lease, "heartbeat_url");
  const cJSON *every = cJSON_GetObjectItemCaseSensitive(lease, "interval_s");
  if (!cJSON_IsString(sid) || !cJSON_IsString(url) || strlen(sid->valuestring) > 64) {
    cJSON_Delete(doc);
    fatal(p, 1001, "POST /v1/playback: no session_id or hls_url in the answer");
    return 1;
  }
  snprintf(p->session_id, sizeof(p->session_id), "%s", sid->valuestring);
  p->master_url = strdup(url->valuestring);
  if (cJSON_IsString(hb)) {
    /* The API is where the client is: keep the path (the daemon may name another host). */
    const char *s = strstr(hb->valuestring, "://");
    s = s ? strchr(s + 3, '/') : hb->valuestring;
    if (s && *s == '/')
      snprintf(p->hb_path, sizeof(p->hb_path), "%s", s);
    double e = cJSON_IsNumber(every) ? every->valuedouble : 30;
    p->lease_every_ms = (int64_t)((e < 1 ? 1 : e > 300 ? 300 : e) * 1000.0);
    p->next_lease = now_ms() + p->lease_every_ms;
  }
  cJSON_Delete(doc);
  snprintf(p->title_id, sizeof(p->title_id), "%s", title);
  return p->master_url ? 0 : 1;
}

/* Play --title, or the first title of the genre rows that streamd says is playable. */
static int pick_and_start(player *p)
{
  if (p->o.title)
    return start_session(p, p->o.title);
  char *json = NULL;
  int rc = stream_client_genres(&json, p->c);
  if (rc != STREAM_OK)
    return fail_rc(p, "listing genres", rc);
  cJSON *genres = cJSON_Parse(json);
  stream_free(json);
  int status = 2;
  const cJSON *g;
  cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(genres, "genres"))
  {
    if (!cJSON_IsString(g) || stream_client_browse(&json, p->c, g->valuestring, NULL, 50))
      continue;
    cJSON *row = cJSON_Parse(json);
    stream_free(json);
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(row, "items"))
    {
      const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "id");
      /* streamd marks titles without published media "playable": false: skip them instead
       * of asking for a session that can only be refused (a daemon without the flag: try). */
      if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(t, "playable")))
        continue;
      if (cJSON_IsString(id) && strlen(id->valuestring) <= 64 &&
          (status = start_session(p, id->valuestring)) != 2)
        break;
    }
    cJSON_Delete(row);
    if (status != 2)
      break;
  }
  cJSON_Delete(genres);
  if (status == 2)
    fprintf(stderr, "player: no title has playable media\n");
  return status ? 1 : 0;
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
  fprintf(f, "usage: player --server URL (--tv | --email EMAIL --password-stdin)\n"
             "              [--title ID] [--profile NAME] [--device ID] [--fast]\n"
             "              [--max-kbps N] [--buffer-s N] [--heartbeat-s N]\n"
             "              [--events-log FILE] [--spool FILE] [--timeout SECONDS]\n"
             "Plays a title's HLS stream headless and reports player events to streamd.\n");
}

/* `nbytes` random bytes as hex into `out` (2 * nbytes + 1 bytes). */
static int random_hex(char *out, size_t nbytes)
{
  unsigned char r[32];
  if (nbytes > sizeof(r) || stream_random_bytes(r, nbytes) != STREAM_OK)
    return -1;
  for (size_t i = 0; i < nbytes; i++)
    sprintf(out + 2 * i, "%02x", r[i]);
  return 0;
}

static int parse_args(options *o, int argc, char **argv)
{
  o->buffer_s = 30;
  o->heartbeat_s = 10;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage(stdout);
      exit(0);
    } else if (strcmp(a, "--password-stdin") == 0) {
      o->password_stdin = 1;
      continue;
    } else if (strcmp(a, "--tv") == 0) {
      o->tv = 1;
      continue;
    } else if (strcmp(a, "--fast") == 0) {
      o->fast = 1;
      continue;
    }
    if (!v)
      return -1;
    if (strcmp(a, "--server") == 0)
      o->server = v;
    else if (strcmp(a, "--email") == 0)
      o->email = v;
    else if (strcmp(a, "--title") == 0)
      o->title = v;
    else if (strcmp(a, "--profile") == 0)
      o->profile = v;
    else if (strcmp(a, "--device") == 0)
      o->device = v;
    else if (strcmp(a, "--events-log") == 0)
      o->events_log = v;
    else if (strcmp(a, "--spool") == 0)
      o->spool = v;
    else if (strcmp(a, "--max-kbps") == 0)
      o->max_kbps = atol(v);
    else if (strcmp(a, "--buffer-s") == 0)
      o->buffer_s = atol(v);
    else if (strcmp(a, "--heartbeat-s") == 0)
      o->heartbeat_s = atol(v);
    else if (strcmp(a, "--timeout") == 0)
      o->timeout_s = atol(v);
    else {
      fprintf(stderr, "player: unknown option %s\n", a);
      return -1;
    }
    i++;
  }
  if (!o->server || (o->email && !o->password_stdin) || (!o->email && o->password_stdin) ||
      (!o->email && !o->tv) || (o->email && o->tv) || o->max_kbps < 0 || o->buffer_s < 1 ||
      o->buffer_s > 600 || o->heartbeat_s < 1 || o->heartbeat_s > 3600 || o->timeout_s < 0 ||
      (o->title && strlen(o->title) > 64) || (o->device && strlen(o->device) > 64))
    return -1;
  return 0;
}

static void summary(player *p)
{
  stream_emitter_stats es;
  memset(&es, 0, sizeof(es));
  if (p->em)
    stream_emitter_stats_get(&es, p->em);
  int64_t startup = p->started ? p->t_playing - p->t_request : -1;
  printf("Startup: %lld ms, rebuffers: %d (%lld ms), rendition changes: %d, frames: %ld, "
         "events: %ld emitted, %llu acknowledged\n",
         (long long)startup, p->rebuffers, (long long)p->rebuffer_ms, p->switches, p->frames,
         p->events, (unsigned long long)es.sent);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "status", p->status ? "error" : cancelled() ? "stopped" : "ended");
  cJSON_AddStringToObject(o, "view_id", p->view_id);
  cJSON_AddStringToObject(o, "session_id", p->session_id);
  cJSON_AddStringToObject(o, "title_id", p->title_id);
  cJSON_AddNumberToObject(o, "startup_ms", (double)startup);
  cJSON_AddNumberToObject(o, "rebuffers", p->rebuffers);
  cJSON_AddNumberToObject(o, "rebuffer_ms", (double)p->rebuffer_ms);
  cJSON_AddNumberToObject(o, "rendition_changes", p->switches);
  cJSON_AddNumberToObject(o, "frames", (double)p->frames);
  cJSON_AddNumberToObject(o, "segments", (double)p->segments);
  cJSON_AddNumberToObject(o, "duration_ms", p->duration * 1000.0);
  cJSON_AddNumberToObject(o, "events", (double)p->events);
  cJSON_AddNumberToObject(o, "events_sent", (double)es.sent);
  cJSON_AddNumberToObject(o, "events_dropped", (double)(es.dropped + es.rejected));
  cJSON *rs = cJSON_AddArrayToObject(o, "renditions");
  for (int i = 0; i < p->nr; i++) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "bandwidth", (double)p->r[i].bandwidth);
    cJSON_AddNumberToObject(r, "width", p->r[i].width);
    cJSON_AddNumberToObject(r, "height", p->r[i].height);
    cJSON_AddItemToArray(rs, r);
  }
  char *text = cJSON_PrintUnformatted(o);
  if (text)
    printf("summary %s\n", text);
  free(text);
  cJSON_Delete(o);
  fflush(stdout);
}

int main(int argc, char **argv)
{
  static player pl;
  player *p = &pl;
  memset(p, 0, sizeof(*p));
  if (parse_args(&p->o, argc, argv) != 0) {
    usage(stderr);
    return 2;
  }
  p->cur = -1;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  signal(SIGINT, on_sigint);
  memcpy(p->device_id, "player-", 7);
  if (random_hex(p->view_id, 16) != 0 || random_hex(p->device_id + 7, 8) != 0) {
    fprintf(stderr, "player: no random bytes: %s\n", stream_error_last()->message);
    return 1;
  }
  if (p->o.device)
    snprintf(p->device_id, sizeof(p->device_id), "%s", p->o.device);

  stream_client_options co = STREAM_CLIENT_OPTIONS_INIT;
  co.base_url = p->o.server;
  co.user_agent = "libstream-player/1";
  int rc = stream_client_new(&p->c, &co);
  if (rc != STREAM_OK) {
    fprintf(stderr, "player: --server: %s\n", stream_error_last()->message);
    return 1;
  }
  if (p->o.events_log && !(p->events_log = fopen(p->o.events_log, "w"))) {
    fprintf(stderr, "player: --events-log %s: %s\n", p->o.events_log, strerror(errno));
    stream_client_free(p->c);
    return 1;
  }
  p->curl = curl_easy_init();
  int status = p->curl ? sign_in(p) : 1;
  if (status == 0)
    status = choose_profile(p);
  char *access = NULL;
  if (status == 0 && stream_client_get_tokens(&access, NULL, p->c) != STREAM_OK)
    status = 1;
  if (status == 0) {
    stream_emitter_options eo = STREAM_EMITTER_OPTIONS_INIT;
    eo.base_url = p->o.server;
    eo.access_token = access;
    eo.spool_path = p->o.spool;
    eo.shutdown_ms = 5000;
    rc = stream_emitter_new(&p->em, &eo);
    if (rc != STREAM_OK) {
      fprintf(stderr, "player: emitter: %s\n", stream_error_last()->message);
      status = 1;
    }
  }
  if (access)
    stream_free_secret(access, strlen(access));

  pthread_t th;
  int running = 0;
  if (status == 0) {
    if (p->o.title)
      snprintf(p->title_id, sizeof(p->title_id), "%s", p->o.title);
    emit(p, STREAM_EVENT_VIEWINIT, 0, NULL);
    p->t_request = now_ms();
    emit(p, STREAM_EVENT_PLAYREQUEST, 0, NULL);
    p->next_hb = p->t_request + p->o.heartbeat_s * 1000;
    status = pick_and_start(p);
    if (status == 0) {
      printf("Playing %s (session %s)\n", p->title_id, p->session_id);
      emit(p, STREAM_EVENT_PLAY, 0, NULL);
      status = load_master(p);
    }
    if (status == 0) {
      for (int i = 0; i < p->nr; i++)
        printf("rendition %dx%d %ld kbit/s, %zu segments\n", p->r[i].width, p->r[i].height,
               p->r[i].bandwidth / 1000, p->r[i].nsegs);
      fflush(stdout);
      running = pthread_create(&th, NULL, downloader, p) == 0;
      if (!running)
        fatal(p, 1003, "cannot start the downloader thread");
      else
        play_loop(p);
    }
    if (running) {
      pthread_mutex_lock(&p->mu);
      p->stop = 1;
      pthread_cond_broadcast(&p->cv);
      pthread_mutex_unlock(&p->mu);
      pthread_join(th, NULL);
    }
    if (p->session_id[0]) {
      char path[200];
      snprintf(path, sizeof(path), "/v1/playback/%.64s", p->session_id);
      stream_client_request(NULL, p->c, "DELETE", path, NULL);
    }
    status = status || p->status;
    if (stream_emitter_flush(p->em, 15000) != STREAM_OK)
      fprintf(stderr, "player: events not all acknowledged: %s\n", stream_error_last()->message);
  }
  status = status || p->status;
  p->status = status;
  if (p->view_id[0] && p->em)
    summary(p);
  stream_emitter_free(p->em);
  for (chunk *c = p->head, *n; c; c = n) {
    n = c->next;
    buf_free(&c->data);
    free(c);
  }
  for (int i = 0; i < p->nr; i++) {
    free(p->r[i].url);
    free(p->r[i].init_url);
    for (size_t k = 0; k < p->r[i].nsegs; k++)
      free(p->r[i].segs[k].url);
    free(p->r[i].segs);
    buf_free(&p->r[i].init);
  }
  free(p->master_url);
  if (p->curl)
    curl_easy_cleanup(p->curl);
  if (p->events_log)
    fclose(p->events_log);
  stream_client_free(p->c);
  return status ? 1 : 0;
}
