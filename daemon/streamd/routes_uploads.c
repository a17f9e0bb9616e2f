/*
 * tus 1.0 resumable uploads at /v1/uploads (operator role): creation,
 * creation-with-upload, termination, checksum (sha1, sha256) and expiration;
 * the protocol's OPTIONS discovery and the CORS/Tus-Resumable headers live in
 * http.c. PATCH bodies, and the first chunk a POST may carry
 * (creation-with-upload), are streamed (STREAMD_ROUTE_STREAM_BODY) piece by
 * piece into stream_upload_write(); the new offset is fsynced and committed by
 * stream_upload_end() before the 204 (or 201) goes out. A POST whose chunk
 * fails (checksum, I/O, cut connection) terminates the upload it created: the
 * client never got its Location, so it could not resume it anyway. A completed upload enqueues
 * its transcode job (ingest.c), or its subtitles job for metadata kind=subtitles (checked
 * at creation: language, flags, at most 10 MiB); HEAD of a completed upload enqueues it again
 * if a crash came between the last commit and the enqueue (idempotent).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "ingest.h"
#include "log.h"
#include "problem.h"
#include "routes.h"
#include "routes_util.h"

static streamd_ingest *ingest_require(const streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_require(req, resp);
  if (!app)
    return NULL;
  if (!app->ingest) {
    streamd_reply_problem(resp, req, STREAM_ENOTSUP, "uploads are not enabled");
    return NULL;
  }
  return app->ingest;
}

/* Tus-Resumable must name 1.0.0; otherwise 412 with Tus-Version. */
static int tus_version_ok(const streamd_request *req, streamd_response *resp)
{
  const char *v = streamd_request_header(req, "Tus-Resumable");
  if (v && strcmp(v, "1.0.0") == 0)
    return 1;
  streamd_reply_problem(resp, req, STREAMD_P_TUS_VERSION,
                        v ? "Tus-Resumable must be 1.0.0" : "the Tus-Resumable header is missing");
  streamd_response_header(resp, "Tus-Version", "1.0.0");
  return 0;
}

/* A non-negative decimal header value; -1 when absent or malformed. */
static long long header_offset(const streamd_request *req, const char *name)
{
  const char *v = streamd_request_header(req, name);
  if (!v || !*v || *v < '0' || *v > '9')
    return -1;
  char *end = NULL;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  return errno || *end ? -1 : n;
}

static void http_date(char *out, size_t n, int64_t t)
{
  time_t tt = (time_t)t;
  struct tm tm;
  gmtime_r(&tt, &tm);
  strftime(out, n, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static void add_int_header(streamd_response *resp, const char *name, long long v)
{
  char buf[32];
  snprintf(buf, sizeof(buf), "%lld", v);
  streamd_response_header(resp, name, buf);
}

static void add_expires(streamd_response *resp, const stream_upload_info *u)
{
  if (u->completed_at || !u->expires_at)
    return;
  char d[64];
  http_date(d, sizeof(d), u->expires_at);
  streamd_response_header(resp, "Upload-Expires", d);
}

/* tus: HEAD repeats the creation's Upload-Metadata ("key base64,..."), re-encoded from the
 * stored JSON (at most STREAM_UPLOAD_METADATA_MAX bytes, so a few KiB of header). */
static void add_metadata(streamd_response *resp, const char *json)
{
  cJSON *m = cJSON_Parse(json ? json : "{}");
  size_t cap = 256, len = 0;
  char *out = malloc(cap);
  int ok = out != NULL;
  const cJSON *it;
  if (ok)
    out[0] = '\0';
  cJSON_ArrayForEach(it, m)
  {
    if (!ok)
      break;
    if (!cJSON_IsString(it))
      continue;
    char *b64 = NULL;
    size_t blen = 0;
    const char *v = it->valuestring;
    if (v[0] && stream_base64_encode(&b64, &blen, v, strlen(v), 0) != STREAM_OK) {
      ok = 0;
      break;
    }
    size_t need = len + 1 + strlen(it->string) + 1 + (v[0] ? blen : 0) + 1;
    if (need > cap) {
      size_t ncap = need * 2;
      char *grown = realloc(out, ncap);
      if (!grown) {
        stream_free(b64);
        ok = 0;
        break;
      }
      out = grown;
      cap = ncap;
    }
    len += (size_t)snprintf(out + len, cap - len, "%s%s%s%s", len ? "," : "", it->string,
                            v[0] ? " " : "", v[0] ? b64 : "");
    stream_free(b64);
  }
  cJSON_Delete(m);
  if (ok && len)
    streamd_response_header(resp, "Upload-Metadata", out);
  free(out);
}

/* The library's code as a tus answer: expired uploads are 410 Gone. */
static void reply_upload_error(streamd_response *resp, const streamd_request *req, int rc)
{
  if (rc == STREAM_EEXPIRED)
    streamd_reply_problem(resp, req, STREAMD_P_GONE, stream_error_last()->message);
  else if (rc == STREAM_EPROTO)
    streamd_reply_problem(resp, req, STREAMD_P_CHECKSUM, stream_error_last()->message);
  else if (rc == STREAM_ENOTSUP || rc == STREAM_ERANGE)
    streamd_reply_problem(resp, req, rc == STREAM_ERANGE ? STREAMD_P_TOO_LARGE : STREAM_EINVAL,
                          stream_error_last()->message);
  else if (rc == STREAM_EBUSY)
    streamd_reply_problem(resp, req, STREAM_ECONFLICT, stream_error_last()->message);
  else
    streamd_reply_service_error(resp, req, rc);
}

/* PATCH's media type, also the one of a creation request's body (creation-with-upload). */
static int is_chunk_type(const char *ct)
{
  return ct && strncmp(ct, "application/offset+octet-stream", 31) == 0;
}

/* A completed upload's job (transcode or subtitles); a failure is logged, the upload stays
 * complete and HEAD enqueues it again. `job_id` gets the job's id or "". */
static void enqueue_completed(char *job_id, streamd_ingest *ing, const stream_upload_info *u)
{
  job_id[0] = '\0';
  /* An empty upload is refused by the enqueue (which logs why). */
  if (u->completed_at && streamd_ingest_enqueue(job_id, ing, u) != STREAM_OK && u->length > 0) {
    streamd_logf(STREAM_LOG_ERROR, "upload %s complete but enqueueing its job failed: %s", u->id,
                 stream_error_last()->message);
    job_id[0] = '\0';
  }
}

/* 201 for a creation (with or without a first chunk): JSON, Location, Upload-Offset. */
static void reply_created(streamd_response *resp, streamd_ingest *ing, const stream_upload_info *u)
{
  char job_id[STREAM_JOBS_ID_SIZE];
  enqueue_completed(job_id, ing, u);
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", u->id);
  cJSON_AddNumberToObject(o, "length", (double)u->length);
  cJSON_AddNumberToObject(o, "offset", (double)u->offset);
  cJSON_AddNumberToObject(o, "expires_at", (double)u->expires_at);
  if (job_id[0])
    cJSON_AddStringToObject(o, "job_id", job_id);
  streamd_reply_json(resp, 201, o);
  char location[128];
  snprintf(location, sizeof(location), "/v1/uploads/%s", u->id);
  streamd_response_header(resp, "Location", location);
  streamd_response_header(resp, "Tus-Resumable", "1.0.0");
  add_int_header(resp, "Upload-Offset", u->offset);
  add_expires(resp, u);
}

/* ---- Bodies (PATCH, and POST's first chunk) stream into a writer ------------------- */

typedef struct patch_state {
  stream_upload_writer *w;
  int creating; /* POST (creation-with-upload): answer 201, terminate on failure */
  char id[STREAM_UPLOAD_ID_SIZE];
} patch_state;

static void reply_patched(streamd_response *resp, const streamd_request *req, streamd_ingest *ing,
                          const patch_state *ps)
{
  stream_upload_info u;
  int rc = stream_upload_get(&u, streamd_ingest_uploads(ing), ps->id);
  if (rc != STREAM_OK) {
    reply_upload_error(resp, req, rc);
    return;
  }
  if (ps->creating) {
    reply_created(resp, ing, &u);
  } else {
    char job_id[STREAM_JOBS_ID_SIZE];
    enqueue_completed(job_id, ing, &u);
    streamd_reply_empty(resp, 204);
    add_int_header(resp, "Upload-Offset", u.offset);
    add_expires(resp, &u);
  }
  stream_upload_info_clear(&u);
}

/* The chunk failed (or its connection dropped): a creation's upload goes with it. */
static void chunk_failed(patch_state *ps)
{
  streamd_app *app = streamd_app_get();
  if (ps->creating && app && app->ingest &&
      stream_upload_terminate(streamd_ingest_uploads(app->ingest), ps->id) != STREAM_OK)
    streamd_logf(STREAM_LOG_WARN, "upload %s: terminating after its creation chunk failed: %s",
                 ps->id, stream_error_last()->message);
}

static int patch_body(streamd_request *req, streamd_response *resp, const char *data, size_t len,
                      int phase)
{
  patch_state *ps = req->body_state;
  if (phase == STREAMD_BODY_DATA) {
    if (stream_upload_write(ps->w, data, len) == STREAM_OK)
      return 0;
    /* Overflow or I/O error: end now (the chunk is discarded) and answer. */
    int rc = stream_upload_end(NULL, ps->w, 1);
    reply_upload_error(resp, req, rc != STREAM_OK ? rc : STREAM_EIO);
    chunk_failed(ps);
    free(ps);
    req->body_state = NULL;
    return 1;
  }
  if (phase == STREAMD_BODY_ABORT) {
    /* The connection dropped mid-body: keep what arrived unless a checksum covers the chunk
     * (PATCH); a creation's client never saw the upload's Location, so it goes. */
    stream_upload_end(NULL, ps->w, 0);
    chunk_failed(ps);
    free(ps);
    req->body_state = NULL;
    return 0;
  }
  int64_t off = 0;
  int rc = stream_upload_end(&off, ps->w, 1);
  streamd_app *app = streamd_app_get();
  if (rc != STREAM_OK) {
    reply_upload_error(resp, req, rc);
    chunk_failed(ps);
  } else if (app && app->ingest) {
    reply_patched(resp, req, app->ingest, ps);
  } else {
    streamd_reply_problem(resp, req, STREAM_EINTERNAL, "ingest closed");
  }
  free(ps);
  req->body_state = NULL;
  return 0;
}

/* Open the writer for a chunk at `offset` of upload `id` and route the body to it; on failure
 * answer (and a creation's upload goes). 0 or -1. */
static int begin_chunk(streamd_request *req, streamd_response *resp, streamd_ingest *ing,
                       const char *id, int64_t offset, int creating)
{
  patch_state *ps = calloc(1, sizeof(*ps));
  int rc = STREAM_ENOMEM;
  if (ps)
    rc = stream_upload_begin(&ps->w, streamd_ingest_uploads(ing), id, offset,
                             streamd_request_header(req, "Upload-Checksum"));
  if (rc != STREAM_OK) {
    if (ps)
      reply_upload_error(resp, req, rc);
    else
      streamd_reply_problem(resp, req, STREAM_ENOMEM, "out of memory");
    if (creating)
      stream_upload_terminate(streamd_ingest_uploads(ing), id);
    free(ps);
    return -1;
  }
  ps->creating = creating;
  snprintf(ps->id, sizeof(ps->id), "%s", id);
  req->body_state = ps;
  req->body_fn = patch_body;
  return 0;
}

/* title_id must exist; episode_id, when given, must be one of its episodes. */
static int check_target(const streamd_app *app, const char *title_id, const char *episode_id,
                        char *detail, size_t dlen)
{
  stream_store_title_detail d;
  int rc = stream_store_title_get_detail(&d, app->store, title_id);
  if (rc != STREAM_OK) {
    snprintf(detail, dlen, "Upload-Metadata title_id '%.64s' is not a title", title_id);
    return rc == STREAM_ENOTFOUND ? STREAM_EINVAL : rc;
  }
  int found = !episode_id || !episode_id[0];
  for (size_t i = 0; i < d.season_count && !found; i++)
    for (size_t k = 0; k < d.seasons[i].episode_count && !found; k++)
      found = strcmp(d.seasons[i].episodes[k].id, episode_id) == 0;
  stream_store_title_detail_clear(&d);
  if (!found) {
    snprintf(detail, dlen, "Upload-Metadata episode_id '%.64s' is not an episode of the title",
             episode_id);
    return STREAM_EINVAL;
  }
  return STREAM_OK;
}

void streamd_route_uploads_create(streamd_request *req, streamd_response *resp)
{
  streamd_ingest *ing = ingest_require(req, resp);
  if (!ing || !tus_version_ok(req, resp))
    return;
  streamd_app *app = streamd_app_get();
  /* creation-with-upload: a body is the upload's first chunk, in PATCH's media type. */
  long long body_len = header_offset(req, "Content-Length");
  int with_body = body_len > 0 || streamd_request_header(req, "Transfer-Encoding") != NULL;
  if (with_body && !is_chunk_type(streamd_request_header(req, "Content-Type"))) {
    streamd_reply_problem(resp, req, STREAMD_P_MEDIA_TYPE,
                          "a creation request's body is the upload's first chunk: it must be "
                          "application/offset+octet-stream (or send no body)");
    return;
  }
  if (streamd_request_header(req, "Upload-Defer-Length")) {
    streamd_reply_problem(resp, req, STREAM_EINVAL,
                          "Upload-Defer-Length is not supported: send Upload-Length");
    return;
  }
  long long length = header_offset(req, "Upload-Length");
  if (length < 0) {
    streamd_reply_problem(resp, req, STREAM_EINVAL, "Upload-Length must be a non-negative integer");
    return;
  }
  /* An empty file can only fail its transcode (or give an empty track): refuse it here, where a
   * tus client reports it, rather than as a failed job. 400 (the tus spec's status for a bad
   * Upload-Length) is final for tus clients, which retry only 409, 423 and 5xx. */
  if (length == 0) {
    streamd_reply_problem(resp, req, STREAM_EINVAL,
                          "Upload-Length is 0: an empty file cannot be transcoded or used as "
                          "subtitles; send the file's bytes");
    return;
  }
  if (with_body && body_len > length) {
    char msg[160];
    snprintf(msg, sizeof(msg),
             "the creation request's body (%lld bytes) is longer than Upload-Length (%lld bytes)",
             body_len, length);
    streamd_reply_problem(resp, req, STREAMD_P_TOO_LARGE, msg);
    return;
  }
  char *meta = NULL;
  int rc = stream_upload_metadata_parse(&meta, streamd_request_header(req, "Upload-Metadata"));
  if (rc != STREAM_OK) {
    streamd_reply_service_error(resp, req, rc == STREAM_ERANGE ? STREAM_EINVAL : rc);
    return;
  }
  cJSON *m = cJSON_Parse(meta);
  const cJSON *title = cJSON_GetObjectItemCaseSensitive(m, "title_id");
  const cJSON *ep = cJSON_GetObjectItemCaseSensitive(m, "episode_id");
  char detail[200] = "";
  if (!cJSON_IsString(title) || !title->valuestring[0]) {
    rc = STREAM_EINVAL;
    snprintf(detail, sizeof(detail), "Upload-Metadata needs title_id");
  } else {
    rc = check_target(app, title->valuestring, cJSON_IsString(ep) ? ep->valuestring : NULL, detail,
                      sizeof(detail));
  }
  cJSON_Delete(m);
  if (rc == STREAM_OK)
    rc = streamd_ingest_check_metadata(meta, length, detail, sizeof(detail));
  if (rc != STREAM_OK) {
    stream_free(meta);
    streamd_reply_problem(resp, req, rc, detail);
    return;
  }
  stream_upload_info u;
  rc = stream_upload_create(&u, streamd_ingest_uploads(ing), length, req->identity.subject, meta);
  stream_free(meta);
  if (rc != STREAM_OK) {
    reply_upload_error(resp, req, rc);
    return;
  }
  if (with_body && !u.completed_at) {
    begin_chunk(req, resp, ing, u.id, 0, 1); /* the body's end answers (patch_body) */
    stream_upload_info_clear(&u);
    return;
  }
  reply_created(resp, ing, &u);
  stream_upload_info_clear(&u);
}

/* tus HEAD (GET also works and adds a JSON body). */
void streamd_route_uploads_head(streamd_request *req, streamd_response *resp)
{
  streamd_ingest *ing = ingest_require(req, resp);
  if (!ing)
    return;
  /* HEAD must carry Tus-Resumable; a plain GET from a browser or curl may omit it. */
  if (strcmp(req->method, "HEAD") == 0 && !tus_version_ok(req, resp))
    return;
  stream_upload_info u;
  int rc = stream_upload_get(&u, streamd_ingest_uploads(ing), streamd_request_param(req, "id"));
  if (rc != STREAM_OK) {
    reply_upload_error(resp, req, rc);
    return;
  }
  char job_id[STREAM_JOBS_ID_SIZE] = "";
  if (u.completed_at && streamd_ingest_enqueue(job_id, ing, &u) != STREAM_OK)
    job_id[0] = '\0';
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "id", u.id);
  cJSON_AddNumberToObject(o, "length", (double)u.length);
  cJSON_AddNumberToObject(o, "offset", (double)u.offset);
  cJSON_AddItemToObject(o, "metadata", cJSON_Parse(u.metadata));
  cJSON_AddNumberToObject(o, "created_at", (double)u.created_at);
  cJSON_AddNumberToObject(o, "expires_at", (double)u.expires_at);
  cJSON_AddNumberToObject(o, "completed_at", (double)u.completed_at);
  if (job_id[0])
    cJSON_AddStringToObject(o, "job_id", job_id);
  streamd_reply_json(resp, 200, o);
  add_int_header(resp, "Upload-Offset", u.offset);
  add_int_header(resp, "Upload-Length", u.length);
  streamd_response_header(resp, "Cache-Control", "no-store");
  add_metadata(resp, u.metadata);
  add_expires(resp, &u);
  stream_upload_info_clear(&u);
}

void streamd_route_uploads_patch(streamd_request *req, streamd_response *resp)
{
  streamd_ingest *ing = ingest_require(req, resp);
  if (!ing || !tus_version_ok(req, resp))
    return;
  if (!is_chunk_type(streamd_request_header(req, "Content-Type"))) {
    streamd_reply_problem(resp, req, STREAMD_P_MEDIA_TYPE,
                          "PATCH bodies must be application/offset+octet-stream");
    return;
  }
  long long offset = header_offset(req, "Upload-Offset");
  if (offset < 0) {
    streamd_reply_problem(resp, req, STREAM_EINVAL, "Upload-Offset must be a non-negative integer");
    return;
  }
  begin_chunk(req, resp, ing, streamd_request_param(req, "id"), offset, 0);
}

void streamd_route_uploads_delete(streamd_request *req, streamd_response *resp)
{
  streamd_ingest *ing = ingest_require(req, resp);
  if (!ing || !tus_version_ok(req, resp))
    return;
  int rc = stream_upload_terminate(streamd_ingest_uploads(ing), streamd_request_param(req, "id"));
  if (rc != STREAM_OK)
    reply_upload_error(resp, req, rc);
  else
    streamd_reply_empty(resp, 204);
}
