/*
 * bench/events: sustained durable ingest of player events and the emitter's
 * CPU cost per event (issue #7 "Performance"). Driven by run.sh.
 *
 *   bench_events http URL SECONDS CONNECTIONS
 *       POST batches of 100 fresh events (protobuf, not compressed) over
 *       keep-alive connections for SECONDS; prints events/s acknowledged.
 *       The viewer token comes from the environment (BENCH_TOKEN).
 *   bench_events library DIR SECONDS [full|normal]
 *       the baseline: stream_events_ingest() of the same batches in-process
 *       into a fresh store under DIR, events/s; the store's sync mode is
 *       full (streamd's default, the same SQLite settings) unless "normal".
 *   bench_events emitter URL COUNT
 *       emit COUNT events through the emitter (gzip, batches of 300) and
 *       flush; prints the process CPU per event, and the CPU per event of
 *       the baseline: encoding and compressing the same batches in a loop.
 *
 * Prints "key value" lines; run.sh computes the ratios. Not a test: no thresholds.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <zlib.h>

#include "proto/events.pb-c.h"
#include "stream/stream.h"

#define BATCH 100

static atomic_uint_fast64_t next_id;
static atomic_uint_fast64_t acked;
static atomic_int stop;

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

/* A protobuf Batch of n heartbeats with fresh ids; *out malloc'd. */
static size_t make_batch(uint8_t **out, size_t n)
{
  Libstream__Events__V1__Event ev[BATCH * 3];
  Libstream__Events__V1__Event *ptrs[BATCH * 3];
  char ids[BATCH * 3][40];
  char views[BATCH * 3][40];
  for (size_t i = 0; i < n; i++) {
    uint64_t k = atomic_fetch_add(&next_id, 1);
    /* About two hours of heartbeats per view, as real players send: the QoE consumer rebuilds
     * a view from all its events, so one endless view is not a realistic load. */
    snprintf(views[i], sizeof views[i], "bench-view-%llu", (unsigned long long)(k / 720));
    snprintf(ids[i], sizeof ids[i], "%08x-%04x-4000-8000-%012llx", (unsigned)(k >> 32),
             (unsigned)(getpid() & 0xffff), (unsigned long long)(k & 0xffffffffffffULL));
    libstream__events__v1__event__init(&ev[i]);
    ev[i].id = ids[i];
    ev[i].view_id = views[i];
    ev[i].title_id = "bench-title";
    ev[i].session_id = "bench-session";
    ev[i].client_ts = 1700000000000LL + (int64_t)k;
    ev[i].type = LIBSTREAM__EVENTS__V1__EVENT_TYPE__EVENT_TYPE_HEARTBEAT;
    ev[i].playhead_ms = (int64_t)k * 10;
    ev[i].br = 3000;
    ev[i].width = 1280;
    ev[i].height = 720;
    ev[i].bl = 12000;
    ev[i].mtp = 20000;
    ev[i].ot = "v";
    ptrs[i] = &ev[i];
  }
  Libstream__Events__V1__Batch b;
  libstream__events__v1__batch__init(&b);
  b.n_events = n;
  b.events = ptrs;
  size_t len = libstream__events__v1__batch__get_packed_size(&b);
  *out = malloc(len);
  libstream__events__v1__batch__pack(&b, *out);
  return len;
}

static size_t discard(char *p, size_t s, size_t n, void *ud)
{
  (void)p;
  (void)ud;
  return s * n;
}

static const char *g_url;

static void *http_worker(void *arg)
{
  (void)arg;
  CURL *h = curl_easy_init();
  char url[1200], auth[8300];
  snprintf(url, sizeof url, "%s/v1/events", g_url);
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", getenv("BENCH_TOKEN"));
  struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
  hd = curl_slist_append(hd, auth);
  hd = curl_slist_append(hd, "Expect:");
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  while (!atomic_load(&stop)) {
    uint8_t *body;
    size_t len = make_batch(&body, BATCH);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    long status = 0;
    if (curl_easy_perform(h) == CURLE_OK)
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    free(body);
    if (status == 200)
      atomic_fetch_add(&acked, BATCH);
    else {
      fprintf(stderr, "bench: HTTP %ld\n", status);
      break;
    }
  }
  curl_slist_free_all(hd);
  curl_easy_cleanup(h);
  return NULL;
}

static int run_http(const char *url, double seconds, int conns)
{
  g_url = url;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  pthread_t t[64];
  if (conns < 1 || conns > 64)
    return 2;
  double t0 = now_s();
  for (int i = 0; i < conns; i++)
    pthread_create(&t[i], NULL, http_worker, NULL);
  while (now_s() - t0 < seconds)
    usleep(50000);
  atomic_store(&stop, 1);
  for (int i = 0; i < conns; i++)
    pthread_join(t[i], NULL);
  double el = now_s() - t0;
  printf("http_events_per_s %.0f\n", (double)atomic_load(&acked) / el);
  return 0;
}

static int run_library(const char *dir, double seconds, const char *sync)
{
  char path[1024];
  snprintf(path, sizeof path, "%s/bench.db", dir);
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  so.path = path;
  so.sync = strcmp(sync, "normal") == 0 ? STREAM_STORE_SYNC_NORMAL : STREAM_STORE_SYNC_FULL;
  stream_store *st;
  if (stream_store_open(&st, &so) != STREAM_OK)
    return 1;
  stream_events_options eo = STREAM_EVENTS_OPTIONS_INIT;
  eo.store = st;
  stream_events *ev;
  if (stream_events_new(&ev, &eo) != STREAM_OK)
    return 1;
  double t0 = now_s();
  uint64_t n = 0;
  while (now_s() - t0 < seconds) {
    uint8_t *body;
    size_t len = make_batch(&body, BATCH);
    stream_events_result r;
    int rc = stream_events_ingest(ev, &r, body, len, STREAM_EVENTS_PROTOBUF, 0, "bench", NULL);
    free(body);
    if (rc != STREAM_OK) {
      fprintf(stderr, "ingest: %s\n", stream_error_last()->message);
      return 1;
    }
    n += r.accepted;
  }
  printf("library_events_per_s %.0f\n", (double)n / (now_s() - t0));
  stream_events_free(ev);
  stream_store_close(st);
  return 0;
}

static int run_emitter(const char *url, long count)
{
  stream_emitter_options o = STREAM_EMITTER_OPTIONS_INIT;
  o.base_url = url;
  o.access_token = getenv("BENCH_TOKEN");
  o.queue_max = (size_t)count + 10;
  o.flush_interval_ms = 200;
  stream_emitter *em;
  if (stream_emitter_new(&em, &o) != STREAM_OK)
    return 1;
  stream_event e;
  memset(&e, 0, sizeof e);
  e.type = STREAM_EVENT_HEARTBEAT;
  snprintf(e.title_id, sizeof e.title_id, "bench-title");
  e.br = 3000;
  double c0 = cpu_s(), t0 = now_s();
  for (long i = 0; i < count; i++) {
    if (i % 720 == 0) /* a new view every ~2 hours of heartbeats, as above */
      snprintf(e.view_id, sizeof e.view_id, "bench-emit-%ld", i / 720);
    e.playhead_ms = i * 10;
    stream_emitter_emit(NULL, em, &e);
  }
  double c_emit = cpu_s() - c0, t_emit = now_s() - t0;
  int rc = stream_emitter_flush(em, 120000);
  double c_all = cpu_s() - c0;
  stream_emitter_stats s;
  stream_emitter_stats_get(&s, em);
  stream_emitter_free(em);
  printf("emitter_flush %d\nemitter_sent %llu\n", rc, (unsigned long long)s.sent);
  printf("emit_call_us %.3f\n", t_emit / (double)count * 1e6);
  printf("emit_cpu_us %.3f\n", c_emit / (double)count * 1e6);
  printf("emitter_cpu_us_per_event %.3f\n", c_all / (double)count * 1e6);
  /* Baseline: protobuf + gzip of the same batches, nothing else. */
  c0 = cpu_s();
  for (long done = 0; done < count; done += 300) {
    uint8_t *body;
    size_t len = make_batch(&body, 300);
    uLongf zcap = compressBound(len) + 64;
    uint8_t *z = malloc(zcap);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
    zs.next_in = body;
    zs.avail_in = (uInt)len;
    zs.next_out = z;
    zs.avail_out = (uInt)zcap;
    deflate(&zs, Z_FINISH);
    deflateEnd(&zs);
    free(z);
    free(body);
  }
  printf("encode_gzip_cpu_us_per_event %.3f\n", (cpu_s() - c0) / (double)count * 1e6);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc == 5 && strcmp(argv[1], "http") == 0)
    return run_http(argv[2], atof(argv[3]), atoi(argv[4]));
  if ((argc == 4 || argc == 5) && strcmp(argv[1], "library") == 0)
    return run_library(argv[2], atof(argv[3]), argc == 5 ? argv[4] : "full");
  if (argc == 4 && strcmp(argv[1], "emitter") == 0)
    return run_emitter(argv[2], atol(argv[3]));
  fprintf(stderr, "usage: see the file comment\n");
  return 2;
}
