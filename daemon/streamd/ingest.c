/*
 * streamd ingest: uploads -> transcode jobs -> assets (see ingest.h).
 *
 * Retry and recovery: the asset directory is named after the job id, so every
 * attempt of a job targets the same directory. An attempt first removes the
 * staging directories a killed attempt left behind (<dir>.partial-*); when the
 * directory itself exists, an earlier attempt finished the transcode and died
 * before publishing, so this attempt only publishes it.
 */
#include "ingest.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "log.h"
#include "stream/features.h"
#include "ticker.h"
#if STREAM_HAVE_MEDIA
#include "stream/media.h"
#endif

#define INGEST_KIND "transcode"
#define SWEEP_INTERVAL_S 60

struct streamd_ingest {
  streamd_app *app;
  stream_uploads *uploads;
  stream_jobs *jobs;
  stream_jobs_pool *pool;
  char upload_dir[1100];
  streamd_ticker *sweeper; /* the upload sweeper thread (NULL when not started) */
};

stream_uploads *streamd_ingest_uploads(streamd_ingest *ing)
{
  return ing->uploads;
}

stream_jobs *streamd_ingest_jobs(streamd_ingest *ing)
{
  return ing->jobs;
}

int streamd_ingest_enqueue(char *out_job_id, streamd_ingest *ing, const stream_upload_info *u)
{
  cJSON *meta = cJSON_Parse(u->metadata ? u->metadata : "{}");
  cJSON *payload = cJSON_CreateObject();
  if (!meta || !payload) {
    cJSON_Delete(meta);
    cJSON_Delete(payload);
    return STREAM_ENOMEM;
  }
  cJSON_AddStringToObject(payload, "upload_id", u->id);
  const char *keys[] = {"title_id", "episode_id", "filename"};
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, keys[i]);
    if (cJSON_IsString(v) && v->valuestring[0])
      cJSON_AddStringToObject(payload, keys[i], v->valuestring);
  }
  cJSON_Delete(meta);
  char *text = cJSON_PrintUnformatted(payload);
  cJSON_Delete(payload);
  if (!text)
    return STREAM_ENOMEM;
  int created = 0;
  int rc = stream_jobs_enqueue(out_job_id, &created, ing->jobs, INGEST_KIND, text, u->id, 0);
  free(text);
  if (rc == STREAM_OK && created) {
    cJSON *f = cJSON_CreateObject();
    if (f) {
      cJSON_AddStringToObject(f, "job_id", out_job_id);
      cJSON_AddStringToObject(f, "upload_id", u->id);
    }
    streamd_log_event(STREAM_LOG_INFO, "transcode job enqueued", f);
    stream_jobs_pool_wake(ing->pool);
  }
  return rc;
}

/* ---- the transcode handler ------------------------------------------------------ */

/* rm -r of a directory tree we created (media output); symlinks are not followed. */
static void remove_tree(const char *path)
{
  DIR *d = opendir(path);
  if (d) {
    struct dirent *e;
    while ((e = readdir(d))) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      char sub[2048];
      snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
      struct stat sb;
      if (lstat(sub, &sb) == 0 && S_ISDIR(sb.st_mode))
        remove_tree(sub);
      else
        unlink(sub);
    }
    closedir(d);
  }
  rmdir(path);
}

/* Staging directories of killed attempts: <root>/<dir>.partial-* */
static void remove_partials(const char *root, const char *dir)
{
  DIR *d = opendir(root);
  if (!d)
    return;
  char prefix[256];
  snprintf(prefix, sizeof(prefix), "%s.partial-", dir);
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
      char p[2048];
      snprintf(p, sizeof(p), "%s/%s", root, e->d_name);
      streamd_logf(STREAM_LOG_INFO, "removing the staging directory %s of an interrupted attempt",
                   e->d_name);
      remove_tree(p);
    }
  }
  closedir(d);
}

static char *read_small_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len + 4096 + 1 > cap) {
      cap = cap ? cap * 2 : 8192;
      char *nb = cap <= STREAM_JOBS_JSON_MAX ? realloc(buf, cap) : NULL;
      if (!nb) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = nb;
    }
    size_t n = fread(buf + len, 1, cap - len - 1, f);
    len += n;
    if (n == 0)
      break;
  }
  fclose(f);
  buf[len] = '\0';
  return buf;
}

/* The asset of this job: its directory is the job id (one per job, every attempt). */
static int job_asset(char *asset_id, streamd_ingest *ing, const stream_job *job,
                     const char *title_id, const char *episode_id)
{
  int rc = stream_jobs_asset_create(asset_id, ing->jobs, title_id, episode_id, job->id, job->id);
  if (rc != STREAM_EEXIST)
    return rc;
  stream_asset *list = NULL;
  size_t n = 0;
  rc = stream_jobs_asset_list(&list, &n, ing->jobs, title_id, STREAM_JOBS_LIST_MAX);
  if (rc != STREAM_OK)
    return rc;
  rc = STREAM_ENOTFOUND;
  for (size_t i = 0; i < n; i++)
    if (strcmp(list[i].dir, job->id) == 0) {
      memcpy(asset_id, list[i].id, STREAM_JOBS_ID_SIZE);
      rc = STREAM_OK;
    }
  stream_asset_list_free(list, n);
  return rc;
}

#if STREAM_HAVE_MEDIA
typedef struct progress_state {
  stream_jobs_ctx *ctx;
  stream_media_job *mj;
} progress_state;

static void on_progress(double fraction, double fps, double eta, void *ud)
{
  (void)fps;
  (void)eta;
  progress_state *ps = ud;
  if (stream_jobs_ctx_progress(ps->ctx, fraction * 0.99) == STREAM_ECANCELED)
    stream_media_job_cancel(ps->mj);
}
#endif

/* Publish `outdir` (complete on disk) as the ready asset; result and cleanup. */
static int publish(stream_jobs_ctx *ctx, streamd_ingest *ing, const char *asset_id,
                   const char *outdir, const char *upload_id)
{
  char path[1400];
  snprintf(path, sizeof(path), "%s/summary.json", outdir);
  char *summary = read_small_file(path);
  int rc = stream_jobs_asset_ready(ing->jobs, asset_id, summary);
  free(summary);
  if (rc != STREAM_OK)
    return rc;
  char result[256];
  snprintf(result, sizeof(result), "{\"asset_id\":\"%s\",\"dir\":\"%s\"}", asset_id,
           strrchr(outdir, '/') + 1);
  stream_jobs_ctx_set_result(ctx, result);
  if (!upload_id[0])
    return STREAM_OK; /* a seeded local file: not ours to delete */
  int t = stream_upload_terminate(ing->uploads, upload_id);
  if (t != STREAM_OK && t != STREAM_ENOTFOUND)
    streamd_logf(STREAM_LOG_WARN, "deleting upload %s after its transcode: %s", upload_id,
                 stream_error_last()->message);
  return STREAM_OK;
}

static int transcode_handler(stream_jobs_ctx *ctx, const stream_job *job, void *userdata)
{
  streamd_ingest *ing = userdata;
  cJSON *p = cJSON_Parse(job->payload);
  const cJSON *up = cJSON_GetObjectItemCaseSensitive(p, "upload_id");
  const cJSON *file = cJSON_GetObjectItemCaseSensitive(p, "input"); /* seed_media */
  const cJSON *title = cJSON_GetObjectItemCaseSensitive(p, "title_id");
  const cJSON *ep = cJSON_GetObjectItemCaseSensitive(p, "episode_id");
  if (!(cJSON_IsString(up) || cJSON_IsString(file)) || !cJSON_IsString(title)) {
    cJSON_Delete(p);
    stream_jobs_ctx_set_error(ctx, "the job payload lacks upload_id (or input) or title_id", 0);
    return STREAM_EINVAL;
  }
  char upload_id[STREAM_UPLOAD_ID_SIZE] = "", title_id[STREAM_JOBS_ID_SIZE],
       episode_id[STREAM_JOBS_ID_SIZE];
  char input[STREAM_UPLOAD_PATH_SIZE] = "";
  if (cJSON_IsString(up))
    snprintf(upload_id, sizeof(upload_id), "%s", up->valuestring);
  else
    snprintf(input, sizeof(input), "%s", file->valuestring);
  snprintf(title_id, sizeof(title_id), "%s", title->valuestring);
  snprintf(episode_id, sizeof(episode_id), "%s", cJSON_IsString(ep) ? ep->valuestring : "");
  cJSON_Delete(p);

  char asset_id[STREAM_JOBS_ID_SIZE];
  int rc = job_asset(asset_id, ing, job, title_id, episode_id);
  if (rc != STREAM_OK) {
    if (rc == STREAM_ENOTFOUND || rc == STREAM_EINVAL)
      stream_jobs_ctx_set_error(ctx, "the title of the upload does not exist any more", 0);
    return rc;
  }
  const char *root = ing->app->media_root;
  char outdir[1400];
  snprintf(outdir, sizeof(outdir), "%s/%s", root, job->id);
  remove_partials(root, job->id);
  struct stat sb;
  if (stat(outdir, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    /* An earlier attempt transcoded and died before publishing. */
    streamd_logf(STREAM_LOG_INFO, "job %s: publishing the output of an earlier attempt", job->id);
    return publish(ctx, ing, asset_id, outdir, upload_id);
  }
  if (upload_id[0]) {
    rc = stream_upload_path(input, sizeof(input), ing->uploads, upload_id);
    if (rc != STREAM_OK)
      return rc;
  }
#if STREAM_HAVE_MEDIA
  stream_media_job_options mo = STREAM_MEDIA_JOB_OPTIONS_INIT;
  mo.input = input;
  mo.outdir = outdir;
  stream_media_job *mj = NULL;
  rc = stream_media_job_new(&mj, &mo);
  progress_state ps = {ctx, mj};
  if (rc == STREAM_OK)
    rc = stream_media_job_set_progress(mj, on_progress, &ps);
  if (rc == STREAM_OK) {
    streamd_logf(STREAM_LOG_INFO, "job %s: transcoding %s (attempt %d of %d)", job->id, input,
                 job->attempts, job->max_attempts);
    rc = stream_media_job_run(mj);
  }
  char msg[512];
  snprintf(msg, sizeof(msg), "%s", rc != STREAM_OK ? stream_error_last()->message : "");
  stream_media_job_free(mj);
  if (rc == STREAM_OK)
    return publish(ctx, ing, asset_id, outdir, upload_id);
  if (rc == STREAM_ECANCELED && stream_jobs_ctx_canceled(ctx))
    return STREAM_ECANCELED;
  /* Bad input never gets better: fail for good. */
  int final = rc == STREAM_EMEDIA || rc == STREAM_ENOTFOUND || rc == STREAM_EINVAL ||
              job->attempts >= job->max_attempts;
  char err[600];
  snprintf(err, sizeof(err), "transcode failed: %s", msg);
  stream_jobs_ctx_set_error(ctx, err, !final);
  if (final)
    stream_jobs_asset_failed(ing->jobs, asset_id, err);
  return rc;
#else
  stream_jobs_ctx_set_error(ctx, "this streamd was built without the media feature (FFmpeg)", 0);
  stream_jobs_asset_failed(ing->jobs, asset_id, "built without the media feature");
  return STREAM_ENOTSUP;
#endif
}

/* ---- seed_media: "TITLE_ID=PATH[,TITLE_ID=PATH...]" ------------------------------------- */

/* Enqueue a transcode of a local file for a title that has no ready asset yet (make run's
 * generated demo source). Idempotent across starts: dedup key "seed:<title>". */
static void seed_one(streamd_ingest *ing, const char *title_id, const char *path)
{
  stream_asset a;
  if (stream_jobs_asset_for_title(&a, ing->jobs, title_id, NULL) == STREAM_OK) {
    stream_asset_clear(&a);
    return; /* already playable */
  }
  if (access(path, R_OK) != 0) {
    streamd_logf(STREAM_LOG_WARN, "seed_media: cannot read %s for title %s", path, title_id);
    return;
  }
  cJSON *p = cJSON_CreateObject();
  if (!p)
    return;
  cJSON_AddStringToObject(p, "input", path);
  cJSON_AddStringToObject(p, "title_id", title_id);
  char *text = cJSON_PrintUnformatted(p);
  cJSON_Delete(p);
  char key[STREAM_JOBS_KEY_SIZE], id[STREAM_JOBS_ID_SIZE];
  snprintf(key, sizeof(key), "seed:%s", title_id);
  int created = 0;
  if (!text || stream_jobs_enqueue(id, &created, ing->jobs, INGEST_KIND, text, key, 0) != STREAM_OK)
    streamd_logf(STREAM_LOG_WARN, "seed_media: enqueueing %s failed: %s", title_id,
                 text ? stream_error_last()->message : "out of memory");
  else if (created)
    streamd_logf(STREAM_LOG_INFO, "seed_media: transcode job %s for title %s from %s", id, title_id,
                 path);
  free(text);
}

void streamd_ingest_seed(streamd_ingest *ing)
{
  const char *spec = ing->app->cfg->seed_media;
  if (!spec[0])
    return;
  char buf[sizeof(((streamd_config *)0)->seed_media)];
  snprintf(buf, sizeof(buf), "%s", spec);
  char *save = NULL;
  for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(item, '=');
    if (!eq || eq == item || !eq[1]) {
      streamd_logf(STREAM_LOG_WARN, "seed_media: '%s' is not TITLE_ID=PATH", item);
      continue;
    }
    *eq = '\0';
    seed_one(ing, item, eq + 1);
  }
}

/* ---- sweeper ------------------------------------------------------------------------ */

/* One sweep on the ticker's thread (at start, then every SWEEP_INTERVAL_S). */
static void sweep_uploads(void *arg)
{
  streamd_ingest *ing = arg;
  size_t n = 0;
  if (stream_upload_sweep(&n, ing->uploads) != STREAM_OK)
    streamd_logf(STREAM_LOG_WARN, "upload sweep: %s", stream_error_last()->message);
  else if (n)
    streamd_logf(STREAM_LOG_INFO, "upload sweep: deleted %zu expired uploads", n);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

int streamd_ingest_open(streamd_ingest **out, streamd_app *app)
{
  const streamd_config *cfg = app->cfg;
  streamd_ingest *ing = calloc(1, sizeof(*ing));
  if (!ing)
    return -1;
  ing->app = app;
  snprintf(ing->upload_dir, sizeof(ing->upload_dir), "%s/uploads", cfg->data_dir);
  stream_upload_options uo = STREAM_UPLOAD_OPTIONS_INIT;
  uo.store = app->store;
  uo.dir = ing->upload_dir;
  uo.max_length = (int64_t)cfg->upload_max_bytes;
  uo.expiry_seconds = cfg->upload_expiry_s;
  int rc = stream_upload_new(&ing->uploads, &uo);
  stream_jobs_options jo = STREAM_JOBS_OPTIONS_INIT;
  jo.store = app->store;
  jo.lease_seconds = (int)cfg->job_lease_s;
  jo.backoff_seconds = (int)cfg->job_retry_backoff_s;
  jo.max_attempts = (int)cfg->job_max_attempts;
  if (rc == STREAM_OK)
    rc = stream_jobs_new(&ing->jobs, &jo);
  if (rc == STREAM_OK && cfg->transcode_workers > 0) {
    stream_jobs_pool_options po = STREAM_JOBS_POOL_OPTIONS_INIT;
    po.threads = cfg->transcode_workers;
    po.kind = INGEST_KIND;
    po.worker_prefix = "streamd";
    po.handler = transcode_handler;
    po.userdata = ing;
    rc = stream_jobs_pool_start(&ing->pool, ing->jobs, &po);
  }
  if (rc != STREAM_OK) {
    streamd_logf(STREAM_LOG_ERROR, "ingest: %s", stream_error_last()->message);
    streamd_ingest_close(ing);
    return -1;
  }
  if (streamd_ticker_start(&ing->sweeper, SWEEP_INTERVAL_S, sweep_uploads, sweep_uploads, ing) !=
      0) {
    streamd_logf(STREAM_LOG_ERROR, "ingest: cannot start the upload sweeper thread");
    streamd_ingest_close(ing);
    return -1;
  }
  *out = ing;
  return 0;
}

void streamd_ingest_close(streamd_ingest *ing)
{
  if (!ing)
    return;
  streamd_ticker_stop(ing->sweeper);
  stream_jobs_pool_stop(ing->pool);
  stream_jobs_free(ing->jobs);
  stream_upload_free(ing->uploads);
  free(ing);
}
