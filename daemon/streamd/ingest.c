/*
 * streamd ingest: uploads -> transcode jobs -> assets (see ingest.h).
 *
 * Retry and recovery: the asset directory is named after the job id, so every
 * attempt of a job targets the same directory. An attempt first removes the
 * staging directories a killed attempt left behind (<dir>.partial-*); when the
 * directory itself exists, an earlier attempt finished the transcode and died
 * before publishing, so this attempt only publishes it. A transcode re-reads the
 * title's subtitle tracks when it publishes and applies the ones published while
 * it ran (resync_subtitles), staged in <dir>.partial-subs<N> as well.
 *
 * Publish rule: an asset is built on the title's current asset (a subtitles job adds a track
 * to it; a transcode carries and resyncs its tracks) and is published only while that asset
 * is still current (stream_jobs_asset_ready_if, one store transaction). When another publish
 * (a transcode, a subtitles job, a second streamd on the same database) came first, the job
 * rebuilds on the new current asset and tries again, at most PUBLISH_ROUNDS times, then fails
 * retryably: acknowledged work is never published on top of an asset it did not include. A
 * subtitles job's output directory found by a later attempt is rebuilt (its base asset is not
 * recorded and it takes seconds), unless its asset is already ready (then it is completed).
 */
#include "ingest.h"
#include "playable.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "log.h"
#include "problem.h"
#include "stream/features.h"
#include "ticker.h"
#if STREAM_HAVE_MEDIA
#include "stream/media.h"
#endif

#define INGEST_KIND "transcode"
#define SUBS_KIND "subtitles"
#define SWEEP_INTERVAL_S 60
#define PUBLISH_ROUNDS 3 /* publishes refused because another asset became current */

struct streamd_ingest {
  streamd_app *app;
  stream_uploads *uploads;
  stream_jobs *jobs;
  stream_jobs_pool *pool;
  stream_jobs_pool *subs_pool; /* one thread: subtitle jobs of a title apply one after another */
  char upload_dir[1100];
  streamd_ticker *sweeper; /* the upload sweeper thread (NULL when not started) */
  int64_t failed_swept;    /* sweeper thread: jobs that ended up to this time were handled */
};

stream_uploads *streamd_ingest_uploads(streamd_ingest *ing)
{
  return ing->uploads;
}

stream_jobs *streamd_ingest_jobs(streamd_ingest *ing)
{
  return ing->jobs;
}

/* A tus flag value: "", "1", "true", "yes" -> 1; "0", "false", "no" -> 0; else -1. */
static int flag_value(const cJSON *v)
{
  if (!v)
    return 0;
  if (!cJSON_IsString(v))
    return -1;
  const char *s = v->valuestring;
  if (!s[0] || !strcmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes"))
    return 1;
  if (!strcmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "no"))
    return 0;
  return -1;
}

static int is_subtitles(const cJSON *meta)
{
  const cJSON *k = cJSON_GetObjectItemCaseSensitive(meta, "kind");
  return cJSON_IsString(k) && strcmp(k->valuestring, "subtitles") == 0;
}

int streamd_ingest_check_metadata(const char *meta_json, long long length, char *detail,
                                  size_t dlen)
{
  cJSON *meta = cJSON_Parse(meta_json ? meta_json : "{}");
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(meta, "kind");
  int rc = STREAM_OK;
  if (kind && !(cJSON_IsString(kind) &&
                (!strcmp(kind->valuestring, "video") || !strcmp(kind->valuestring, "subtitles")))) {
    snprintf(detail, dlen, "Upload-Metadata kind must be video or subtitles");
    rc = STREAM_EINVAL;
  } else if (is_subtitles(meta)) {
    const cJSON *lang = cJSON_GetObjectItemCaseSensitive(meta, "language");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(meta, "name");
    int def = flag_value(cJSON_GetObjectItemCaseSensitive(meta, "default"));
    int forced = flag_value(cJSON_GetObjectItemCaseSensitive(meta, "forced"));
    if (length > STREAMD_SUBTITLES_MAX_BYTES) {
      snprintf(detail, dlen, "a subtitle file is at most %d bytes, Upload-Length is %lld",
               STREAMD_SUBTITLES_MAX_BYTES, length);
      rc = STREAMD_P_TOO_LARGE;
    } else if (!cJSON_IsString(lang) || !lang->valuestring[0]) {
      snprintf(detail, dlen,
               "Upload-Metadata of subtitles needs language (BCP 47, e.g. fr, pt-BR)");
      rc = STREAM_EINVAL;
    } else if (def < 0 || forced < 0) {
      snprintf(detail, dlen, "Upload-Metadata default and forced are true/false (or 1/0)");
      rc = STREAM_EINVAL;
    } else {
#if STREAM_HAVE_MEDIA
      stream_media_subtitle t = {
          NULL, lang->valuestring,
          cJSON_IsString(name) && name->valuestring[0] ? name->valuestring : NULL, def, forced};
      rc = stream_media_subtitle_check(&t);
      if (rc != STREAM_OK)
        snprintf(detail, dlen, "Upload-Metadata: %s", stream_error_last()->message);
#else
      (void)name;
      snprintf(detail, dlen, "this streamd was built without the media feature (FFmpeg)");
      rc = STREAM_ENOTSUP;
#endif
    }
  }
  cJSON_Delete(meta);
  return rc;
}

int streamd_ingest_enqueue(char *out_job_id, streamd_ingest *ing, const stream_upload_info *u)
{
  out_job_id[0] = '\0';
  /* Creation refuses Upload-Length 0; one made before that (or by another tool) would only
   * enqueue a job that cannot succeed. */
  if (u->length <= 0) {
    streamd_logf(STREAM_LOG_WARN, "upload %s is empty (0 bytes): no job is enqueued", u->id);
    return STREAM_EINVAL;
  }
  cJSON *meta = cJSON_Parse(u->metadata ? u->metadata : "{}");
  cJSON *payload = cJSON_CreateObject();
  if (!meta || !payload) {
    cJSON_Delete(meta);
    cJSON_Delete(payload);
    return STREAM_ENOMEM;
  }
  cJSON_AddStringToObject(payload, "upload_id", u->id);
  const char *keys[] = {"title_id", "episode_id", "filename", "language", "name"};
  int subs = is_subtitles(meta);
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]) - (subs ? 0 : 2); i++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, keys[i]);
    if (cJSON_IsString(v) && v->valuestring[0])
      cJSON_AddStringToObject(payload, keys[i], v->valuestring);
  }
  if (subs) {
    cJSON_AddBoolToObject(payload, "default",
                          flag_value(cJSON_GetObjectItemCaseSensitive(meta, "default")) == 1);
    cJSON_AddBoolToObject(payload, "forced",
                          flag_value(cJSON_GetObjectItemCaseSensitive(meta, "forced")) == 1);
  }
  cJSON_Delete(meta);
  const char *kind = subs ? SUBS_KIND : INGEST_KIND;
  char *text = cJSON_PrintUnformatted(payload);
  cJSON_Delete(payload);
  if (!text)
    return STREAM_ENOMEM;
  int created = 0;
  int rc = stream_jobs_enqueue(out_job_id, &created, ing->jobs, kind, text, u->id, 0);
  free(text);
  if (rc == STREAM_OK && created) {
    cJSON *f = cJSON_CreateObject();
    if (f) {
      cJSON_AddStringToObject(f, "job_id", out_job_id);
      cJSON_AddStringToObject(f, "upload_id", u->id);
    }
    streamd_log_event(STREAM_LOG_INFO, subs ? "subtitles job enqueued" : "transcode job enqueued",
                      f);
    stream_jobs_pool_wake(subs ? ing->subs_pool : ing->pool);
  }
  return rc;
}

/* ---- errors shown to operators -------------------------------------------------------- */

static int path_char(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '/';
}

/* Length of `root` without trailing slashes; 0 when there is nothing to replace. */
static size_t root_len(const char *root)
{
  size_t n = root ? strlen(root) : 0;
  while (n > 0 && root[n - 1] == '/')
    n--;
  return n;
}

/* 1 when `root` (`n` bytes) starts at text[i] as a whole path: not inside a longer name, and
 * followed by '/' (a relative root) or by '/', the end or a non-path character (absolute). */
static int root_at(const char *text, size_t i, const char *root, size_t n)
{
  if (!n || strncmp(text + i, root, n) != 0 || (i > 0 && path_char(text[i - 1])))
    return 0;
  char next = text[i + n];
  return next == '/' || (root[0] == '/' && (next == '\0' || !path_char(next)));
}

char *streamd_ingest_scrub_paths(char *out, size_t cap, const char *text, const char *data_dir,
                                 const char *media_root)
{
  if (!cap)
    return out;
  const char *roots[2] = {media_root, data_dir}, *names[2] = {"<media_root>", "<data_dir>"};
  size_t lens[2] = {root_len(media_root), root_len(data_dir)};
  if (lens[1] > lens[0]) { /* the longer root first: it is the more precise name */
    const char *t = roots[0], *nm = names[0];
    size_t l = lens[0];
    roots[0] = roots[1], names[0] = names[1], lens[0] = lens[1];
    roots[1] = t, names[1] = nm, lens[1] = l;
  }
  size_t o = 0;
  for (size_t i = 0; text && text[i] && o + 1 < cap;) {
    int k = root_at(text, i, roots[0], lens[0]) ? 0 : root_at(text, i, roots[1], lens[1]) ? 1 : -1;
    if (k < 0) {
      out[o++] = text[i++];
      continue;
    }
    o += (size_t)snprintf(out + o, cap - o, "%s", names[k]);
    if (o >= cap)
      o = cap - 1;
    i += lens[k];
  }
  out[o] = '\0';
  return out;
}

/* The job the handler of this thread runs, and whether it recorded its error through
 * job_error() (set by run_handler). */
static _Thread_local const stream_job *current_job;
static _Thread_local int job_error_set;

/* The failure text of the running job: logged in full, stored (and so shown by the admin
 * routes) with the server's paths relative to the data directory / media root. */
static void job_error(stream_jobs_ctx *ctx, streamd_ingest *ing, const char *text, int retry)
{
  char shown[STREAM_JOBS_ERROR_MAX + 1];
  const stream_job *job = current_job;
  streamd_logf(retry ? STREAM_LOG_INFO : STREAM_LOG_WARN, "job %s (attempt %d of %d) failed%s: %s",
               job ? job->id : "?", job ? job->attempts : 0, job ? job->max_attempts : 0,
               retry ? "" : " for good", text);
  streamd_ingest_scrub_paths(shown, sizeof(shown), text, ing->app->cfg->data_dir,
                             ing->app->media_root);
  stream_jobs_ctx_set_error(ctx, shown, retry);
  job_error_set = 1;
}

/* stream_jobs_asset_failed() with the same scrubbing. */
static void asset_failed(streamd_ingest *ing, const char *asset_id, const char *text)
{
  char shown[STREAM_JOBS_ERROR_MAX + 1];
  streamd_ingest_scrub_paths(shown, sizeof(shown), text, ing->app->cfg->data_dir,
                             ing->app->media_root);
  stream_jobs_asset_failed(ing->jobs, asset_id, shown);
}

typedef int (*handler_fn)(stream_jobs_ctx *ctx, const stream_job *job, streamd_ingest *ing);

/* Run a handler; a failure it did not describe gets the text the pool would have stored (the
 * status and the thread's last error message, which may name a file), scrubbed. */
static int run_handler(handler_fn fn, stream_jobs_ctx *ctx, const stream_job *job,
                       streamd_ingest *ing)
{
  current_job = job;
  job_error_set = 0;
  stream_error_clear();
  int rc = fn(ctx, job, ing);
  if (rc != STREAM_OK && !job_error_set &&
      !(rc == STREAM_ECANCELED && stream_jobs_ctx_canceled(ctx))) {
    char text[STREAM_JOBS_ERROR_MAX + 1];
    const stream_error *last = stream_error_last();
    snprintf(text, sizeof(text), "%s: %s", stream_strerror(rc),
             last && last->message[0] ? last->message : "handler failed");
    job_error(ctx, ing, text, 1);
  }
  current_job = NULL;
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

/* fsync a file or directory without following symlinks; with `deep`, a directory's files and
 * subdirectories first. 0 or -1 (errno). */
static int sync_path(const char *path, int deep)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return -1;
  struct stat sb;
  int rc = fstat(fd, &sb);
  if (rc == 0 && deep && S_ISDIR(sb.st_mode)) {
    DIR *d = opendir(path);
    struct dirent *e;
    while (rc == 0 && d && (e = readdir(d))) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      char sub[2048];
      snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
      struct stat lb;
      if (lstat(sub, &lb) == 0 && (S_ISDIR(lb.st_mode) || S_ISREG(lb.st_mode)))
        rc = sync_path(sub, 1);
    }
    if (d)
      closedir(d);
    else
      rc = -1;
  }
  int e = errno;
  if (rc == 0)
    rc = fsync(fd);
  else
    errno = e;
  close(fd);
  return rc;
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
  FILE *f = fopen(path, "rbe");
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
/* A new video of a title keeps the subtitle tracks of its current asset: their whole-file
 * WebVTT (presentation times = source times) becomes a sidecar input of the transcode.
 * `paths` holds the file names; returns the number of tracks set in `mo`. */
static size_t carry_subtitles(stream_media_job_options *mo, char (*paths)[1400], cJSON **meta,
                              streamd_ingest *ing, const char *title_id, const char *episode_id)
{
  stream_asset a;
  *meta = NULL;
  if (stream_jobs_asset_for_title(&a, ing->jobs, title_id, episode_id) != STREAM_OK)
    return 0;
  *meta = cJSON_Parse(a.summary ? a.summary : "{}");
  const cJSON *subs = cJSON_GetObjectItemCaseSensitive(*meta, "subtitles"), *t;
  size_t n = 0;
  cJSON_ArrayForEach(t, subs)
  {
    const cJSON *vtt = cJSON_GetObjectItemCaseSensitive(t, "vtt");
    const cJSON *lang = cJSON_GetObjectItemCaseSensitive(t, "language");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
    if (n >= STREAM_MEDIA_MAX_SUBTITLES || !cJSON_IsString(vtt) || !cJSON_IsString(lang) ||
        strchr(vtt->valuestring, '/'))
      continue;
    snprintf(paths[n], sizeof(paths[n]), "%s/%s/%s", ing->app->media_root, a.dir, vtt->valuestring);
    if (access(paths[n], R_OK) != 0)
      continue;
    stream_media_subtitle *st = &mo->subtitles[n++];
    st->path = paths[n - 1];
    st->language = lang->valuestring;
    st->name = cJSON_IsString(name) ? name->valuestring : NULL;
    st->is_default = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "default"));
    st->forced = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "forced"));
  }
  if (n)
    streamd_logf(STREAM_LOG_INFO, "keeping the %zu subtitle tracks of asset %s", n, a.id);
  stream_asset_clear(&a);
  mo->subtitle_count = n;
  return n;
}

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

/* ---- subtitle tracks published while a transcode ran ------------------------------- */

#define RESYNC_ROUNDS 3

/* 1 when both files can be read and have the same bytes. */
static int same_content(const char *a, const char *b)
{
  if (strcmp(a, b) == 0)
    return access(a, R_OK) == 0;
  FILE *fa = fopen(a, "rbe"), *fb = fopen(b, "rbe");
  int same = fa && fb;
  while (same) {
    char ba[8192], bb[8192];
    size_t na = fread(ba, 1, sizeof(ba), fa), nb = fread(bb, 1, sizeof(bb), fb);
    same = na == nb && memcmp(ba, bb, na) == 0;
    if (na == 0)
      break;
  }
  if (fa)
    fclose(fa);
  if (fb)
    fclose(fb);
  return same;
}

/* The "subtitles" entry of `summary` with this language (case-insensitive, the key
 * stream_media_subtitles_add replaces by), or NULL. */
static const cJSON *track_of(const cJSON *summary, const char *language)
{
  const cJSON *t;
  cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(summary, "subtitles"))
  {
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(t, "language");
    if (cJSON_IsString(l) && strcasecmp(l->valuestring, language) == 0)
      return t;
  }
  return NULL;
}

/* 1 when the output (`out`, a summary) lacks the track `t` of the latest asset, or holds an
 * older version of it: the output's track was made from a file (its "source", the carried
 * sub_<lang>.vtt of the asset the transcode started from) whose bytes differ from the latest
 * asset's whole-file WebVTT `latest_vtt` (a replaced track; unchanged tracks are hard links). */
static int track_stale(const cJSON *out, const cJSON *t, const char *latest_vtt)
{
  const cJSON *lang = cJSON_GetObjectItemCaseSensitive(t, "language");
  const cJSON *o = track_of(out, lang->valuestring);
  if (!o)
    return 1;
  const cJSON *src = cJSON_GetObjectItemCaseSensitive(o, "source");
  if (!cJSON_IsString(src) || access(src->valuestring, R_OK) != 0)
    return 0; /* nothing to compare with: keep the output's version */
  return !same_content(src->valuestring, latest_vtt);
}

/* Point summary.json's "outdir" of the staged output at the directory it is renamed to. */
static int fix_outdir(const char *staged, const char *outdir)
{
  char path[1500], tmp[1500];
  snprintf(path, sizeof(path), "%s/summary.json", staged);
  snprintf(tmp, sizeof(tmp), "%s/summary.json.tmp", staged);
  char *text = read_small_file(path);
  cJSON *s = text ? cJSON_Parse(text) : NULL;
  free(text);
  if (!s)
    return STREAM_EIO;
  cJSON_ReplaceItemInObjectCaseSensitive(s, "outdir", cJSON_CreateString(outdir));
  char *out = cJSON_Print(s);
  cJSON_Delete(s);
  FILE *f = out ? fopen(tmp, "wbe") : NULL;
  int ok = f && fwrite(out, 1, strlen(out), f) == strlen(out);
  if (f)
    ok = fclose(f) == 0 && ok;
  free(out);
  if (!ok || rename(tmp, path) != 0) {
    unlink(tmp);
    return STREAM_EIO;
  }
  return STREAM_OK;
}

/* Apply to the finished transcode output `outdir` every subtitle track of the title's latest
 * ready asset that the output lacks (or has an older version of): such a track was published
 * (a subtitles job, another streamd) after this transcode read the title's tracks at its start,
 * and publishing without it would drop it from the newest asset. Each track goes through
 * stream_media_subtitles_add into <job id>.partial-subs<N> (the previous intermediate is
 * removed); the latest asset is read again after every round that applied something, at most
 * RESYNC_ROUNDS times. The final staged output then replaces `outdir`: rename outdir to
 * <job id>.partial-old, rename the staged one to outdir, remove the old. Every intermediate
 * is a <job id>.partial-* directory, so an attempt killed anywhere here leaves either the
 * complete output in outdir (the next attempt publishes it, re-running this check) or no
 * outdir (the next attempt transcodes again: the upload is deleted only after publishing).
 * `base` (STREAM_JOBS_ID_SIZE bytes) receives the id of the latest asset read last, whose
 * tracks the output now has ("" = the title has none): the expected current asset of the
 * publish. */
static int resync_subtitles(char *why, size_t wlen, char *base, streamd_ingest *ing,
                            const stream_job *job, const char *title_id, const char *episode_id,
                            const char *outdir)
{
  const char *root = ing->app->media_root;
  char cur[1400];
  snprintf(cur, sizeof(cur), "%s", outdir);
  base[0] = '\0';
  int rc = STREAM_OK, step = 0, round = 0;
  for (; round < RESYNC_ROUNDS && rc == STREAM_OK; round++) {
    stream_asset a;
    int r = stream_jobs_asset_for_title(&a, ing->jobs, title_id, episode_id);
    if (r == STREAM_ENOTFOUND) {
      base[0] = '\0'; /* the title has no ready asset yet (its first video) */
      break;
    }
    if (r != STREAM_OK) {
      snprintf(why, wlen, "%s", stream_error_last()->message);
      rc = r;
      break;
    }
    snprintf(base, STREAM_JOBS_ID_SIZE, "%s", a.id);
    char path[1500];
    snprintf(path, sizeof(path), "%s/summary.json", cur);
    char *text = read_small_file(path);
    cJSON *out = text ? cJSON_Parse(text) : NULL;
    free(text);
    cJSON *latest = strcmp(a.dir, job->id) != 0 && a.summary ? cJSON_Parse(a.summary) : NULL;
    if (!out) {
      snprintf(why, wlen, "cannot read the summary.json of the output");
      rc = STREAM_EIO;
    }
    int applied = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(latest, "subtitles"))
    {
      if (rc != STREAM_OK)
        break;
      const cJSON *vtt = cJSON_GetObjectItemCaseSensitive(t, "vtt");
      const cJSON *lang = cJSON_GetObjectItemCaseSensitive(t, "language");
      const cJSON *name = cJSON_GetObjectItemCaseSensitive(t, "name");
      if (!cJSON_IsString(vtt) || !cJSON_IsString(lang) || strchr(vtt->valuestring, '/'))
        continue;
      char src[1400];
      snprintf(src, sizeof(src), "%s/%s/%s", root, a.dir, vtt->valuestring);
      if (access(src, R_OK) != 0 || !track_stale(out, t, src))
        continue;
      stream_media_subtitle st = {src, lang->valuestring,
                                  cJSON_IsString(name) ? name->valuestring : NULL,
                                  cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "default")),
                                  cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "forced"))};
      char next[1400];
      snprintf(next, sizeof(next), "%s/%s.partial-subs%d", root, job->id, ++step);
      remove_tree(next);
      streamd_logf(STREAM_LOG_INFO,
                   "job %s: applying the %s subtitles of asset %s, published while it ran", job->id,
                   lang->valuestring, a.id);
      r = stream_media_subtitles_add(cur, next, &st);
      if (r == STREAM_EINVAL) { /* e.g. its NAME clashes with a track of the new video */
        streamd_logf(STREAM_LOG_WARN, "job %s: cannot apply the %s subtitles of asset %s: %s",
                     job->id, lang->valuestring, a.id, stream_error_last()->message);
        continue;
      }
      if (r != STREAM_OK) {
        snprintf(why, wlen, "%s", stream_error_last()->message);
        rc = r;
        break;
      }
      if (strcmp(cur, outdir) != 0)
        remove_tree(cur);
      snprintf(cur, sizeof(cur), "%s", next);
      applied++;
    }
    cJSON_Delete(out);
    cJSON_Delete(latest);
    stream_asset_clear(&a);
    if (!applied)
      break;
  }
  if (rc == STREAM_OK && round == RESYNC_ROUNDS)
    streamd_logf(STREAM_LOG_WARN,
                 "job %s: the subtitle tracks of title %s kept changing; publishing after %d "
                 "rounds",
                 job->id, title_id, RESYNC_ROUNDS);
  if (strcmp(cur, outdir) == 0)
    return rc;
  if (rc == STREAM_OK && (rc = fix_outdir(cur, outdir)) != STREAM_OK)
    snprintf(why, wlen, "cannot rewrite the summary.json of the output");
  if (rc == STREAM_OK) {
    char old[1400];
    snprintf(old, sizeof(old), "%s/%s.partial-old", root, job->id);
    remove_tree(old);
    if (rename(outdir, old) != 0 || rename(cur, outdir) != 0) {
      snprintf(why, wlen, "cannot move the output with the subtitle tracks into place");
      rc = STREAM_EIO;
    } else {
      remove_tree(old);
    }
  }
  if (rc != STREAM_OK)
    remove_tree(cur);
  return rc;
}
#endif

/* Publish `outdir` (complete on disk) as the ready asset if the title's current asset is still
 * `expected` (the asset it was built on, "" = none); result and cleanup. STREAM_ECONFLICT (set,
 * nothing published) when another asset became current: rebuild on it. */
static int publish(stream_jobs_ctx *ctx, streamd_ingest *ing, const char *asset_id,
                   const char *outdir, const char *upload_id, const char *expected)
{
  char path[1400];
  snprintf(path, sizeof(path), "%s/summary.json", outdir);
  /* Durable before it is published and its upload deleted: the media module writes segments
   * through stdio without fsync and renames the staging directory into place, so a power cut
   * after the publish could leave a ready asset with missing files and no upload to transcode
   * again. fsync the tree, then the media root (the rename). */
  if (sync_path(outdir, 1) != 0 || sync_path(ing->app->media_root, 0) != 0) {
    char err[300];
    snprintf(err, sizeof(err), "syncing the output %s to disk failed: %s", strrchr(outdir, '/') + 1,
             strerror(errno));
    job_error(ctx, ing, err, 1);
    return STREAM_EIO;
  }
  char *summary = read_small_file(path);
  int rc = stream_jobs_asset_ready_if(ing->jobs, asset_id, summary, expected);
  free(summary);
  if (rc != STREAM_OK)
    return rc;
  streamd_playable_forget(); /* "playable" flags answer from the registry again */
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

/* Publish a finished transcode output, first applying the subtitle tracks the title got while
 * it ran (resync_subtitles), on the condition that the asset it resynced with is still current;
 * when another publish came in between, resync with the new one (PUBLISH_ROUNDS times). A
 * failure there is retried like a failed transcode. */
static int publish_transcode(stream_jobs_ctx *ctx, streamd_ingest *ing, const stream_job *job,
                             const char *asset_id, const char *outdir, const char *upload_id,
                             const char *title_id, const char *episode_id)
{
  char base[STREAM_JOBS_ID_SIZE] = "";
#if STREAM_HAVE_MEDIA
  /* An attempt killed after its asset became ready: its directory is served, leave it be. */
  stream_asset mine;
  int served = 0;
  if (stream_jobs_asset_get(&mine, ing->jobs, asset_id) == STREAM_OK) {
    served = mine.status == STREAM_ASSET_READY;
    stream_asset_clear(&mine);
  }
  if (served) /* stream_jobs_asset_ready_if leaves a ready asset as it is */
    return publish(ctx, ing, asset_id, outdir, upload_id, base);
  for (int round = 1;; round++) {
    char why[600] = "";
    int rc = resync_subtitles(why, sizeof(why), base, ing, job, title_id, episode_id, outdir);
    if (rc != STREAM_OK) {
      int final = job->attempts >= job->max_attempts;
      char err[700];
      snprintf(err, sizeof(err), "applying the title's newer subtitle tracks failed: %s", why);
      job_error(ctx, ing, err, !final);
      if (final)
        asset_failed(ing, asset_id, err);
      return rc;
    }
    rc = publish(ctx, ing, asset_id, outdir, upload_id, base);
    if (rc != STREAM_ECONFLICT)
      return rc;
    char err[700];
    snprintf(err, sizeof(err), "another asset of title %s became current while publishing: %s",
             title_id, stream_error_last()->message);
    if (round >= PUBLISH_ROUNDS) { /* the output stays: the next attempt resyncs it again */
      job_error(ctx, ing, err, 1);
      return rc;
    }
    streamd_logf(STREAM_LOG_INFO, "job %s: %s; applying its subtitle tracks again", job->id, err);
  }
#else
  (void)job;
  stream_asset a;
  if (stream_jobs_asset_for_title(&a, ing->jobs, title_id, episode_id) == STREAM_OK) {
    snprintf(base, sizeof(base), "%s", a.id);
    stream_asset_clear(&a);
  }
  return publish(ctx, ing, asset_id, outdir, upload_id, base);
#endif
}

static int transcode_job(stream_jobs_ctx *ctx, const stream_job *job, streamd_ingest *ing)
{
  cJSON *p = cJSON_Parse(job->payload);
  const cJSON *up = cJSON_GetObjectItemCaseSensitive(p, "upload_id");
  const cJSON *file = cJSON_GetObjectItemCaseSensitive(p, "input"); /* seed_media */
  const cJSON *title = cJSON_GetObjectItemCaseSensitive(p, "title_id");
  const cJSON *ep = cJSON_GetObjectItemCaseSensitive(p, "episode_id");
  if (!(cJSON_IsString(up) || cJSON_IsString(file)) || !cJSON_IsString(title)) {
    cJSON_Delete(p);
    job_error(ctx, ing, "the job payload lacks upload_id (or input) or title_id", 0);
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
      job_error(ctx, ing, "the title of the upload does not exist any more", 0);
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
    return publish_transcode(ctx, ing, job, asset_id, outdir, upload_id, title_id, episode_id);
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
  char(*sub_paths)[1400] = calloc(STREAM_MEDIA_MAX_SUBTITLES, sizeof(*sub_paths));
  cJSON *old_summary = NULL; /* owns the carried tracks' strings until the job has copied them */
  if (!sub_paths)
    return STREAM_ENOMEM;
  carry_subtitles(&mo, sub_paths, &old_summary, ing, title_id, episode_id);
  stream_media_job *mj = NULL;
  rc = stream_media_job_new(&mj, &mo);
  cJSON_Delete(old_summary);
  free(sub_paths);
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
    return publish_transcode(ctx, ing, job, asset_id, outdir, upload_id, title_id, episode_id);
  if (rc == STREAM_ECANCELED && stream_jobs_ctx_canceled(ctx)) {
    /* A shutdown or a lost lease: the job runs again (here or elsewhere), the asset stays
     * processing. Past the runtime limit it never runs again (the pool fails it for good):
     * its staging directory goes and the asset says why it will not become ready. */
    if (stream_jobs_ctx_timed_out(ctx)) {
      remove_partials(root, job->id);
      asset_failed(ing, asset_id,
                   "transcode failed: the job exceeded its runtime limit (job_max_runtime)");
    }
    return STREAM_ECANCELED;
  }
  /* Bad input never gets better: fail for good. */
  int final = rc == STREAM_EMEDIA || rc == STREAM_ENOTFOUND || rc == STREAM_EINVAL ||
              job->attempts >= job->max_attempts;
  char err[600];
  snprintf(err, sizeof(err), "transcode failed: %s", msg);
  job_error(ctx, ing, err, !final);
  if (final)
    asset_failed(ing, asset_id, err);
  return rc;
#else
  job_error(ctx, ing, "this streamd was built without the media feature (FFmpeg)", 0);
  asset_failed(ing, asset_id, "built without the media feature");
  return STREAM_ENOTSUP;
#endif
}

/* ---- the subtitles handler --------------------------------------------------------- */

/* 1 when a transcode of the title (and episode) is queued or running: its asset would be
 * published after ours without the new track, so the track waits for it. */
static int transcode_in_flight(streamd_ingest *ing, const char *title_id, const char *episode_id)
{
  stream_asset *list = NULL;
  size_t n = 0;
  if (stream_jobs_asset_list(&list, &n, ing->jobs, title_id, STREAM_JOBS_LIST_MAX) != STREAM_OK)
    return 0;
  int busy = 0;
  for (size_t i = 0; i < n && !busy; i++) {
    stream_job jb;
    if (list[i].status != STREAM_ASSET_PROCESSING || strcmp(list[i].episode_id, episode_id) != 0 ||
        !list[i].job_id[0] || stream_jobs_get(&jb, ing->jobs, list[i].job_id) != STREAM_OK)
      continue;
    busy = strcmp(jb.kind, INGEST_KIND) == 0 &&
           (jb.status == STREAM_JOB_QUEUED || jb.status == STREAM_JOB_RUNNING);
    stream_job_clear(&jb);
  }
  stream_asset_list_free(list, n);
  return busy;
}

/* Add the uploaded track to the title's current asset: a new asset in <media_root>/<job id>
 * (stream_media_subtitles_add stages it and hard-links the unchanged files). While the title
 * has no ready asset, or a transcode of it is in flight, the job is retried with the jobs
 * module's backoff (job_retry_backoff, doubling) and fails after job_max_attempts. */
static int subtitles_job(stream_jobs_ctx *ctx, const stream_job *job, streamd_ingest *ing)
{
  cJSON *p = cJSON_Parse(job->payload);
  const cJSON *up = cJSON_GetObjectItemCaseSensitive(p, "upload_id");
  const cJSON *title = cJSON_GetObjectItemCaseSensitive(p, "title_id");
  const cJSON *ep = cJSON_GetObjectItemCaseSensitive(p, "episode_id");
  const cJSON *lang = cJSON_GetObjectItemCaseSensitive(p, "language");
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(p, "name");
  if (!cJSON_IsString(up) || !cJSON_IsString(title) || !cJSON_IsString(lang)) {
    cJSON_Delete(p);
    job_error(ctx, ing, "the job payload lacks upload_id, title_id or language", 0);
    return STREAM_EINVAL;
  }
  char upload_id[STREAM_UPLOAD_ID_SIZE], title_id[STREAM_JOBS_ID_SIZE],
      episode_id[STREAM_JOBS_ID_SIZE], language[40], label[64];
  snprintf(upload_id, sizeof(upload_id), "%s", up->valuestring);
  snprintf(title_id, sizeof(title_id), "%s", title->valuestring);
  snprintf(episode_id, sizeof(episode_id), "%s", cJSON_IsString(ep) ? ep->valuestring : "");
  snprintf(language, sizeof(language), "%s", lang->valuestring);
  snprintf(label, sizeof(label), "%s", cJSON_IsString(name) ? name->valuestring : "");
  int is_default = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "default"));
  int forced = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "forced"));
  cJSON_Delete(p);

  const char *root = ing->app->media_root;
  char outdir[1400];
  snprintf(outdir, sizeof(outdir), "%s/%s", root, job->id);
  remove_partials(root, job->id);
  struct stat sb;
  char asset_id[STREAM_JOBS_ID_SIZE];
  int rc;
  if (stat(outdir, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    /* An earlier attempt built the output and died: done if its asset was published, else the
     * output is rebuilt on the current asset (the asset it was built on is not recorded). */
    int ready = 0;
    if (job_asset(asset_id, ing, job, title_id, episode_id) == STREAM_OK) {
      stream_asset mine;
      if (stream_jobs_asset_get(&mine, ing->jobs, asset_id) == STREAM_OK) {
        ready = mine.status == STREAM_ASSET_READY;
        stream_asset_clear(&mine);
      }
    }
    if (ready) {
      streamd_logf(STREAM_LOG_INFO, "job %s: completing the output an earlier attempt published",
                   job->id);
      return publish(ctx, ing, asset_id, outdir, upload_id, "");
    }
    streamd_logf(STREAM_LOG_INFO, "job %s: rebuilding the unpublished output of an earlier attempt",
                 job->id);
    remove_tree(outdir);
  }
  stream_asset src;
  memset(&src, 0, sizeof(src));
  char err[800];
  rc = STREAM_OK;
  if (transcode_in_flight(ing, title_id, episode_id)) {
    snprintf(err, sizeof(err), "a transcode of title %s is in progress: the %s track waits for it",
             title_id, language);
    rc = STREAM_EBUSY;
  } else if ((rc = stream_jobs_asset_for_title(&src, ing->jobs, title_id, episode_id)) !=
             STREAM_OK) {
    snprintf(err, sizeof(err), "title %s%s%s has no ready asset to add the %s track to", title_id,
             episode_id[0] ? " episode " : "", episode_id, language);
  }
  if (rc != STREAM_OK) {
    job_error(ctx, ing, err, rc == STREAM_ENOTFOUND || rc == STREAM_EBUSY);
    return rc;
  }
  /* The asset the track is added to: the publish expects it to be still current. */
  char base[STREAM_JOBS_ID_SIZE], srcdir[1400];
  snprintf(base, sizeof(base), "%s", src.id);
  snprintf(srcdir, sizeof(srcdir), "%s/%s", root, src.dir);
  stream_asset_clear(&src);
  rc = job_asset(asset_id, ing, job, title_id, episode_id);
  if (rc != STREAM_OK) {
    if (rc == STREAM_ENOTFOUND || rc == STREAM_EINVAL)
      job_error(ctx, ing, "the title of the upload does not exist any more", 0);
    return rc;
  }
  char input[STREAM_UPLOAD_PATH_SIZE];
  rc = stream_upload_path(input, sizeof(input), ing->uploads, upload_id);
  if (rc != STREAM_OK) {
    job_error(ctx, ing, "the subtitle upload is gone", 0);
    asset_failed(ing, asset_id, "the subtitle upload is gone");
    return rc;
  }
#if STREAM_HAVE_MEDIA
  stream_media_subtitle t = {input, language, label[0] ? label : NULL, is_default, forced};
  for (int round = 1;; round++) {
    streamd_logf(STREAM_LOG_INFO,
                 "job %s: adding the %s subtitles to asset %s (directory %s) as asset %s "
                 "(attempt %d of %d)",
                 job->id, language, base, strrchr(srcdir, '/') + 1, asset_id, job->attempts,
                 job->max_attempts);
    stream_jobs_ctx_progress(ctx, 0.1);
    rc = stream_media_subtitles_add(srcdir, outdir, &t);
    if (rc != STREAM_OK)
      break;
    rc = publish(ctx, ing, asset_id, outdir, upload_id, base);
    if (rc != STREAM_ECONFLICT)
      return rc;
    /* Another asset of the title (e.g. a new video) was published while the track was added:
     * publishing ours would replace it with the old video. Add the track to it instead. */
    snprintf(err, sizeof(err),
             "another asset of title %s became current while the %s track "
             "was added: %s",
             title_id, language, stream_error_last()->message);
    remove_tree(outdir);
    if (round >= PUBLISH_ROUNDS) {
      int final = job->attempts >= job->max_attempts;
      job_error(ctx, ing, err, !final);
      if (final)
        asset_failed(ing, asset_id, err);
      return rc;
    }
    streamd_logf(STREAM_LOG_INFO, "job %s: %s; adding it to that asset", job->id, err);
    if ((rc = stream_jobs_asset_for_title(&src, ing->jobs, title_id, episode_id)) != STREAM_OK) {
      snprintf(err, sizeof(err), "reading the current asset of title %s: %s", title_id,
               stream_error_last()->message);
      job_error(ctx, ing, err, 1);
      return rc;
    }
    snprintf(base, sizeof(base), "%s", src.id);
    snprintf(srcdir, sizeof(srcdir), "%s/%s", root, src.dir);
    stream_asset_clear(&src);
  }
  int final = rc == STREAM_EMEDIA || rc == STREAM_ENOTFOUND || rc == STREAM_EINVAL ||
              job->attempts >= job->max_attempts;
  snprintf(err, sizeof(err), "adding subtitles failed: %s", stream_error_last()->message);
  job_error(ctx, ing, err, !final);
  if (final)
    asset_failed(ing, asset_id, err);
  return rc;
#else
  (void)is_default;
  (void)forced;
  (void)base;
  (void)srcdir;
  job_error(ctx, ing, "this streamd was built without the media feature (FFmpeg)", 0);
  asset_failed(ing, asset_id, "built without the media feature");
  return STREAM_ENOTSUP;
#endif
}

static int transcode_handler(stream_jobs_ctx *ctx, const stream_job *job, void *userdata)
{
  return run_handler(transcode_job, ctx, job, userdata);
}

static int subtitles_handler(stream_jobs_ctx *ctx, const stream_job *job, void *userdata)
{
  return run_handler(subtitles_job, ctx, job, userdata);
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

/* The upload of a job that ended failed or canceled is kept upload_expiry seconds after the
 * job ended, as long as a client has to resume an upload (an operator can inspect the file,
 * <data_dir>/uploads/<id>.part), then deleted here: nothing else would (the library's sweep
 * never deletes a completed upload). Each sweep looks at the jobs that ended in
 * (failed_swept, now - upload_expiry]; the first one after a start, at every such job among the
 * STREAM_JOBS_LIST_MAX newest of each status. A deletion that fails (EBUSY, EIO) holds the
 * mark back so the next sweep tries again. Returns the number of uploads deleted. */
static size_t sweep_failed_uploads(streamd_ingest *ing, int64_t now)
{
  int64_t until = now - (int64_t)ing->app->cfg->upload_expiry_s, mark = until;
  if (until <= ing->failed_swept)
    return 0;
  size_t deleted = 0;
  const int statuses[] = {STREAM_JOB_FAILED, STREAM_JOB_CANCELED};
  for (size_t s = 0; s < sizeof(statuses) / sizeof(statuses[0]); s++) {
    stream_job *list = NULL;
    size_t n = 0;
    if (stream_jobs_list(&list, &n, ing->jobs, statuses[s], STREAM_JOBS_LIST_MAX) != STREAM_OK) {
      streamd_logf(STREAM_LOG_WARN, "upload sweep: listing ended jobs: %s",
                   stream_error_last()->message);
      return deleted; /* the mark stays: all of it again next time */
    }
    for (size_t i = 0; i < n; i++) {
      const stream_job *jb = &list[i];
      if ((strcmp(jb->kind, INGEST_KIND) != 0 && strcmp(jb->kind, SUBS_KIND) != 0) ||
          jb->finished_at <= ing->failed_swept || jb->finished_at > until)
        continue;
      cJSON *p = cJSON_Parse(jb->payload);
      const cJSON *up = cJSON_GetObjectItemCaseSensitive(p, "upload_id");
      if (cJSON_IsString(up)) { /* not a seed_media job (a local file, not ours) */
        int rc = stream_upload_terminate(ing->uploads, up->valuestring);
        if (rc == STREAM_OK) {
          deleted++;
          streamd_logf(STREAM_LOG_INFO, "upload sweep: deleted upload %s of %s job %s",
                       up->valuestring, stream_job_status_name(jb->status), jb->id);
        } else if (rc != STREAM_ENOTFOUND) {
          streamd_logf(STREAM_LOG_WARN, "upload sweep: deleting upload %s of job %s: %s",
                       up->valuestring, jb->id, stream_error_last()->message);
          if (jb->finished_at - 1 < mark)
            mark = jb->finished_at - 1;
        }
      }
      cJSON_Delete(p);
    }
    stream_job_list_free(list, n);
  }
  ing->failed_swept = mark;
  return deleted;
}

/* One sweep on the ticker's thread (at start, then every SWEEP_INTERVAL_S). */
static void sweep_uploads(void *arg)
{
  streamd_ingest *ing = arg;
  size_t n = 0;
  if (stream_upload_sweep(&n, ing->uploads) != STREAM_OK)
    streamd_logf(STREAM_LOG_WARN, "upload sweep: %s", stream_error_last()->message);
  else if (n)
    streamd_logf(STREAM_LOG_INFO, "upload sweep: deleted %zu expired uploads", n);
  n = sweep_failed_uploads(ing, (int64_t)time(NULL));
  if (n)
    streamd_logf(STREAM_LOG_INFO, "upload sweep: deleted %zu uploads of failed or canceled jobs",
                 n);
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
    po.max_runtime_seconds = cfg->job_max_runtime_s;
    rc = stream_jobs_pool_start(&ing->pool, ing->jobs, &po);
    po.threads = 1;
    po.kind = SUBS_KIND;
    po.handler = subtitles_handler;
    if (rc == STREAM_OK)
      rc = stream_jobs_pool_start(&ing->subs_pool, ing->jobs, &po);
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
  stream_jobs_pool_stop(ing->subs_pool);
  stream_jobs_free(ing->jobs);
  stream_upload_free(ing->uploads);
  free(ing);
}
