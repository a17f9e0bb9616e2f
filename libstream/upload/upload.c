/*
 * upload: durable resumable-upload sessions (the storage side of tus 1.0).
 * Owns the data files `<dir>/<id>.part` and the upload rows (through
 * store_uploads.h). The invariant: the committed offset in the store is never
 * ahead of the bytes fsynced to the data file. A writer appends past the
 * committed offset, and only stream_upload_end() fsyncs and then commits;
 * bytes after the committed offset (a crash between write and commit, a
 * discarded chunk) are cut off at the next begin. One writer per session in
 * this process (the `busy` list), and one in any process sharing the
 * directory (an exclusive flock() on the data file from begin to end: daemons
 * on one database and one shared data directory). The offset is read again
 * once the lock is held, so a writer never starts from an offset another one
 * has since moved, and never cuts bytes another one committed. The sweep and
 * termination take the same lock, and the sweep checks the session is still
 * expired under it. The offset compare-and-set in the store stays the last
 * guard.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "../core/core.h"
#include "../core/json.h"
#include "../store/store_uploads.h"

#define UPLOAD_TRY(expr)                                                                           \
  do {                                                                                             \
    int rc_ = (expr);                                                                              \
    if (rc_ != STREAM_OK)                                                                          \
      return rc_;                                                                                  \
  } while (0)

#define UPLOAD_DEFAULT_MAX ((int64_t)10 * 1024 * 1024 * 1024)
#define UPLOAD_SWEEP_BATCH 256

typedef struct busy_id {
  struct busy_id *next;
  char id[STREAM_UPLOAD_ID_SIZE];
} busy_id;

struct stream_uploads {
  stream_store *store;
  char *dir;
  int64_t max_length;
  int64_t expiry; /* seconds; 0 = never */
  stream_upload_clock_fn now;
  void *now_userdata;
  pthread_mutex_t lock;
  busy_id *busy;
};

struct stream_upload_writer {
  stream_uploads *u;
  char id[STREAM_UPLOAD_ID_SIZE];
  int fd;
  int64_t base;   /* committed offset at begin */
  int64_t length; /* declared length */
  int64_t written;
  int64_t completed_at;
  EVP_MD_CTX *md; /* NULL without checksum */
  unsigned char want[EVP_MAX_MD_SIZE];
  size_t want_len;
  int overflow;
  int io_error;
};

static const struct stream_store_upload_ops *ops(const stream_uploads *u)
{
  return u->store->backend->uploads;
}

static int64_t now_of(const stream_uploads *u)
{
  return u->now ? u->now(u->now_userdata) : (int64_t)time(NULL);
}

/* Ids name files: only the store's id alphabet. */
static int check_id(const char *id, const char *what)
{
  if (!id || !id[0])
    return stream__err(STREAM_EINVAL, "%s is missing", what);
  size_t n = strlen(id);
  if (n > STREAM_UPLOAD_ID_SIZE - 1)
    return stream__err(STREAM_EINVAL, "%s is longer than %d characters", what,
                       STREAM_UPLOAD_ID_SIZE - 1);
  for (size_t i = 0; i < n; i++) {
    char c = id[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return stream__err(STREAM_EINVAL, "%s has characters outside [A-Za-z0-9_-]", what);
  }
  return STREAM_OK;
}

static int busy_take(stream_uploads *u, const char *id)
{
  pthread_mutex_lock(&u->lock);
  for (busy_id *b = u->busy; b; b = b->next) {
    if (strcmp(b->id, id) == 0) {
      pthread_mutex_unlock(&u->lock);
      return stream__err(STREAM_EBUSY, "upload %s is being written by another request", id);
    }
  }
  busy_id *b = calloc(1, sizeof *b);
  if (!b) {
    pthread_mutex_unlock(&u->lock);
    return stream__err(STREAM_ENOMEM, "out of memory");
  }
  memcpy(b->id, id, strlen(id) + 1);
  b->next = u->busy;
  u->busy = b;
  pthread_mutex_unlock(&u->lock);
  return STREAM_OK;
}

static void busy_drop(stream_uploads *u, const char *id)
{
  pthread_mutex_lock(&u->lock);
  for (busy_id **pp = &u->busy; *pp; pp = &(*pp)->next) {
    if (strcmp((*pp)->id, id) == 0) {
      busy_id *b = *pp;
      *pp = b->next;
      free(b);
      break;
    }
  }
  pthread_mutex_unlock(&u->lock);
}

static int fsync_dir(const char *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return stream__err(STREAM_EIO, "open upload directory: %s", strerror(errno));
  int r = fsync(fd);
  int e = errno;
  close(fd);
  return r == 0 ? STREAM_OK : stream__err(STREAM_EIO, "sync upload directory: %s", strerror(e));
}

/* ---- handle --------------------------------------------------------------- */

int stream_upload_new(stream_uploads **out, const stream_upload_options *opts)
{
  if (!out || !opts)
    return stream__err(STREAM_EINVAL, "stream_upload_new: NULL argument");
  *out = NULL;
  if (opts->version != STREAM_UPLOAD_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "stream_upload_new: options version %u, expected %d",
                       opts->version, STREAM_UPLOAD_OPTIONS_VERSION);
  if (!opts->store || !opts->dir || !opts->dir[0])
    return stream__err(STREAM_EINVAL, "stream_upload_new: store and dir are required");
  if (opts->max_length < 0)
    return stream__err(STREAM_EINVAL, "stream_upload_new: negative max_length");
  if (strlen(opts->dir) > STREAM_UPLOAD_PATH_SIZE - STREAM_UPLOAD_ID_SIZE - 8)
    return stream__err(STREAM_EINVAL, "stream_upload_new: directory path too long");
  if (!opts->store->backend->uploads)
    return stream__err(STREAM_ENOTSUP, "the %s store backend has no upload tables",
                       opts->store->backend->name);
  if (mkdir(opts->dir, 0700) != 0 && errno != EEXIST)
    return stream__err(STREAM_EIO, "create upload directory %s: %s", opts->dir, strerror(errno));
  struct stat sb;
  if (stat(opts->dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return stream__err(STREAM_EIO, "upload directory %s is not a directory", opts->dir);
  stream_uploads *u = stream__calloc(1, sizeof *u);
  if (!u)
    return STREAM_ENOMEM;
  u->dir = stream__strdup(opts->dir);
  if (!u->dir) {
    free(u);
    return STREAM_ENOMEM;
  }
  u->store = opts->store;
  u->max_length = opts->max_length ? opts->max_length : UPLOAD_DEFAULT_MAX;
  u->expiry =
      opts->expiry_seconds == 0 ? 86400 : (opts->expiry_seconds < 0 ? 0 : opts->expiry_seconds);
  u->now = opts->now;
  u->now_userdata = opts->now_userdata;
  pthread_mutex_init(&u->lock, NULL);
  *out = u;
  return STREAM_OK;
}

void stream_upload_free(stream_uploads *u)
{
  if (!u)
    return;
  while (u->busy) {
    busy_id *b = u->busy;
    u->busy = b->next;
    free(b);
  }
  pthread_mutex_destroy(&u->lock);
  free(u->dir);
  free(u);
}

int64_t stream_upload_max_length(const stream_uploads *u)
{
  return u ? u->max_length : 0;
}

void stream_upload_info_clear(stream_upload_info *info)
{
  if (!info)
    return;
  free(info->metadata);
  memset(info, 0, sizeof *info);
}

int stream_upload_path(char *out, size_t cap, const stream_uploads *u, const char *id)
{
  if (!out || !u || cap == 0)
    return stream__err(STREAM_EINVAL, "stream_upload_path: NULL argument");
  out[0] = '\0';
  UPLOAD_TRY(check_id(id, "upload id"));
  int n = snprintf(out, cap, "%s/%s.part", u->dir, id);
  if (n < 0 || (size_t)n >= cap) {
    out[0] = '\0';
    return stream__err(STREAM_ERANGE, "stream_upload_path: buffer of %zu bytes is too small", cap);
  }
  return STREAM_OK;
}

/* ---- metadata ------------------------------------------------------------- */

static int check_metadata(const char *json)
{
  if (strlen(json) > STREAM_UPLOAD_METADATA_MAX)
    return stream__err(STREAM_ERANGE, "upload metadata is longer than %d bytes",
                       STREAM_UPLOAD_METADATA_MAX);
  /* Stored as text: UTF-8 only, as PostgreSQL requires (cJSON copies string bytes unchecked). */
  if (!stream__utf8_valid(json, strlen(json)))
    return stream__err(STREAM_EINVAL, "upload metadata is not valid UTF-8");
  size_t off = 0;
  enum stream__json_fail fail;
  cJSON *doc = stream__json_parse_whole(json, strlen(json), &off, &fail);
  if (!doc && fail == STREAM__JSON_TRAILING)
    return stream__err(STREAM_EINVAL,
                       "upload metadata is not one JSON object (unexpected bytes at offset %zu)",
                       off);
  if (!doc || !cJSON_IsObject(doc)) {
    cJSON_Delete(doc);
    return stream__err(STREAM_EINVAL, "upload metadata must be a JSON object");
  }
  int rc = STREAM_OK;
  const cJSON *it;
  cJSON_ArrayForEach(it, doc)
  {
    if (!cJSON_IsString(it)) {
      rc = stream__err(STREAM_EINVAL, "upload metadata value of \"%.64s\" is not a string",
                       it->string);
      break;
    }
  }
  cJSON_Delete(doc);
  return rc;
}

/* A metadata key: printable ASCII without space or comma. */
static int key_ok(const char *k)
{
  for (; *k; k++)
    if ((unsigned char)*k <= 0x20 || (unsigned char)*k >= 0x7f || *k == ',')
      return 0;
  return 1;
}

int stream_upload_metadata_parse(char **out_json, const char *header)
{
  if (!out_json)
    return stream__err(STREAM_EINVAL, "stream_upload_metadata_parse: NULL argument");
  *out_json = NULL;
  cJSON *obj = cJSON_CreateObject();
  if (!obj)
    return stream__err(STREAM_ENOMEM, "out of memory");
  int rc = STREAM_OK;
  const char *p = header ? header : "";
  int pair = 0;
  while (rc == STREAM_OK && *p) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    pair++;
    /* trim the blanks around a pair */
    const char *s = p, *e = p + n;
    while (s < e && (*s == ' ' || *s == '\t'))
      s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
      e--;
    if (s == e) {
      rc = stream__err(STREAM_EINVAL, "Upload-Metadata pair %d is empty", pair);
      break;
    }
    const char *sp = memchr(s, ' ', (size_t)(e - s));
    size_t klen = sp ? (size_t)(sp - s) : (size_t)(e - s);
    char key[256];
    if (klen == 0 || klen >= sizeof key) {
      rc = stream__err(STREAM_EINVAL, "Upload-Metadata pair %d has an empty or too long key", pair);
      break;
    }
    memcpy(key, s, klen);
    key[klen] = '\0';
    if (!key_ok(key) || cJSON_GetObjectItemCaseSensitive(obj, key)) {
      rc =
          stream__err(STREAM_EINVAL, "Upload-Metadata key \"%.64s\" is malformed or repeated", key);
      break;
    }
    const char *v = sp ? sp + 1 : e;
    size_t vlen = (size_t)(e - v);
    unsigned char *val = malloc(stream__b64_decoded_max(vlen) + 1);
    size_t got = 0;
    if (!val) {
      rc = stream__err(STREAM_ENOMEM, "out of memory");
      break;
    }
    if (vlen && stream__b64_decode_into(val, stream__b64_decoded_max(vlen) + 1, &got, v, vlen, 0,
                                        true) != STREAM_OK) {
      free(val);
      rc = stream__err(STREAM_EINVAL, "Upload-Metadata value of \"%.64s\" is not base64", key);
      break;
    }
    val[got] = '\0';
    if (memchr(val, '\0', got) || !stream__utf8_valid(val, got)) {
      free(val);
      rc = stream__err(STREAM_EINVAL,
                       "Upload-Metadata value of \"%.64s\" is not UTF-8 text without NUL", key);
      break;
    }
    if (!cJSON_AddStringToObject(obj, key, (char *)val))
      rc = stream__err(STREAM_ENOMEM, "out of memory");
    free(val);
    p = end ? end + 1 : p + n;
    /* A trailing ',' is an empty last pair, refused like an empty middle one
     * (found by fuzzing: "a YQ==," was accepted, "a YQ==,,b" was not). */
    if (rc == STREAM_OK && end && !*p)
      rc = stream__err(STREAM_EINVAL, "Upload-Metadata pair %d is empty", pair + 1);
  }
  char *text = NULL;
  if (rc == STREAM_OK) {
    text = cJSON_PrintUnformatted(obj);
    if (!text)
      rc = stream__err(STREAM_ENOMEM, "out of memory");
    else if (strlen(text) > STREAM_UPLOAD_METADATA_MAX)
      rc = stream__err(STREAM_ERANGE, "upload metadata is longer than %d bytes",
                       STREAM_UPLOAD_METADATA_MAX);
  }
  cJSON_Delete(obj);
  if (rc != STREAM_OK) {
    cJSON_free(text);
    return rc;
  }
  /* Hand out memory the caller frees with stream_free (plain free). */
  *out_json = stream__strdup(text);
  cJSON_free(text);
  return *out_json ? STREAM_OK : stream__err(STREAM_ENOMEM, "out of memory");
}

/* ---- sessions ------------------------------------------------------------- */

static void unlink_data(const stream_uploads *u, const char *id)
{
  char path[STREAM_UPLOAD_PATH_SIZE];
  if (stream_upload_path(path, sizeof path, u, id) == STREAM_OK)
    unlink(path);
}

/* Open the data file of `id` and take its exclusive writer lock without waiting (released by
 * closing the descriptor). The lock is the one between processes sharing the directory; within
 * this process the busy list comes first. *out_fd is the descriptor. Errors: STREAM_EBUSY (held
 * by another writer, sweep or termination), STREAM_ENOTFOUND (no file and `create` 0),
 * STREAM_EIO. A file system without flock() (ENOLCK, EOPNOTSUPP) leaves only the busy list
 * and the store's compare-and-set, as before the lock existed. */
static int lock_data(int *out_fd, const stream_uploads *u, const char *id, int create)
{
  *out_fd = -1;
  char path[STREAM_UPLOAD_PATH_SIZE];
  UPLOAD_TRY(stream_upload_path(path, sizeof path, u, id));
  int fd = open(path, O_WRONLY | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
  if (fd < 0) {
    if (errno == ENOENT && !create)
      return STREAM_ENOTFOUND;
    return stream__err(STREAM_EIO, "open upload file: %s", strerror(errno));
  }
  for (;;) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
      break;
    int e = errno;
    if (e == EINTR)
      continue;
    if (e == ENOLCK || e == EOPNOTSUPP || e == EINVAL)
      break;
    close(fd);
    if (e == EWOULDBLOCK)
      return stream__err(STREAM_EBUSY, "upload %s is being written by another request", id);
    return stream__err(STREAM_EIO, "lock upload file: %s", strerror(e));
  }
  *out_fd = fd;
  return STREAM_OK;
}

int stream_upload_create(stream_upload_info *out, stream_uploads *u, int64_t length,
                         const char *owner, const char *metadata)
{
  if (!out || !u)
    return stream__err(STREAM_EINVAL, "stream_upload_create: NULL argument");
  memset(out, 0, sizeof *out);
  if (length < 0)
    return stream__err(STREAM_EINVAL, "upload length %lld is negative", (long long)length);
  if (length > u->max_length)
    return stream__err(STREAM_ERANGE, "upload length %lld is above the limit of %lld bytes",
                       (long long)length, (long long)u->max_length);
  if (owner && owner[0])
    UPLOAD_TRY(check_id(owner, "upload owner"));
  const char *meta = metadata ? metadata : "{}";
  UPLOAD_TRY(check_metadata(meta));
  stream_upload_info in;
  memset(&in, 0, sizeof in);
  UPLOAD_TRY(store__new_id(in.id));
  if (owner)
    memcpy(in.owner, owner, strlen(owner) + 1);
  in.length = length;
  in.metadata = (char *)meta;
  in.created_at = now_of(u);
  in.expires_at = u->expiry ? in.created_at + u->expiry : 0;
  in.completed_at = length == 0 ? in.created_at : 0;
  UPLOAD_TRY(ops(u)->insert(u->store->impl, &in));
  char path[STREAM_UPLOAD_PATH_SIZE];
  int rc = stream_upload_path(path, sizeof path, u, in.id);
  if (rc == STREAM_OK) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
      rc = stream__err(STREAM_EIO, "create upload file: %s", strerror(errno));
    else
      close(fd);
  }
  if (rc == STREAM_OK)
    rc = fsync_dir(u->dir);
  if (rc == STREAM_OK)
    rc = ops(u)->get(u->store->impl, out, in.id);
  if (rc != STREAM_OK) {
    unlink_data(u, in.id);
    ops(u)->remove(u->store->impl, in.id);
    memset(out, 0, sizeof *out);
  }
  return rc;
}

static int expired(const stream_uploads *u, const stream_upload_info *info)
{
  return !info->completed_at && info->expires_at > 0 && info->expires_at <= now_of(u);
}

int stream_upload_get(stream_upload_info *out, stream_uploads *u, const char *id)
{
  if (!out || !u)
    return stream__err(STREAM_EINVAL, "stream_upload_get: NULL argument");
  memset(out, 0, sizeof *out);
  UPLOAD_TRY(check_id(id, "upload id"));
  UPLOAD_TRY(ops(u)->get(u->store->impl, out, id));
  if (expired(u, out)) {
    int64_t at = out->expires_at;
    stream_upload_info_clear(out);
    return stream__err(STREAM_EEXPIRED, "upload %s expired at %lld", id, (long long)at);
  }
  return STREAM_OK;
}

/* "sha1 <base64>" / "sha256 <base64>" */
static int parse_checksum(stream_upload_writer *w, const char *checksum)
{
  const char *sp = strchr(checksum, ' ');
  if (!sp)
    return stream__err(STREAM_EINVAL, "Upload-Checksum must be \"<algorithm> <base64 digest>\"");
  size_t alen = (size_t)(sp - checksum);
  const EVP_MD *md = NULL;
  if (alen == 4 && memcmp(checksum, "sha1", 4) == 0)
    md = EVP_sha1();
  else if (alen == 6 && memcmp(checksum, "sha256", 6) == 0)
    md = EVP_sha256();
  else
    return stream__err(STREAM_ENOTSUP,
                       "checksum algorithm \"%.*s\" is not supported (sha1, sha256)",
                       (int)(alen > 32 ? 32 : alen), checksum);
  const char *b64 = sp + 1;
  size_t got = 0;
  if (stream__b64_decode_into(w->want, sizeof w->want, &got, b64, strlen(b64), 0, true) !=
          STREAM_OK ||
      got != (size_t)EVP_MD_get_size(md))
    return stream__err(STREAM_EINVAL, "Upload-Checksum digest is not %d bytes of base64",
                       EVP_MD_get_size(md));
  w->want_len = got;
  w->md = EVP_MD_CTX_new();
  if (!w->md || EVP_DigestInit_ex(w->md, md, NULL) != 1)
    return stream__err(STREAM_ENOMEM, "cannot start the checksum digest");
  return STREAM_OK;
}

static void writer_free(stream_upload_writer *w)
{
  if (w->fd >= 0)
    close(w->fd);
  EVP_MD_CTX_free(w->md);
  free(w);
}

/* The session as a writer at `offset` needs it: present, not expired, incomplete, at that
 * offset. Sets the writer's base and length. */
static int writer_session(stream_upload_writer *w, stream_uploads *u, int64_t offset)
{
  stream_upload_info info;
  UPLOAD_TRY(stream_upload_get(&info, u, w->id));
  int rc = STREAM_OK;
  if (info.completed_at)
    rc = stream__err(STREAM_ECONFLICT, "upload %s is already complete (%lld bytes)", w->id,
                     (long long)info.length);
  else if (offset != info.offset)
    rc = stream__err(STREAM_ECONFLICT, "upload %s is at offset %lld, the request says %lld", w->id,
                     (long long)info.offset, (long long)offset);
  w->base = info.offset;
  w->length = info.length;
  stream_upload_info_clear(&info);
  return rc;
}

int stream_upload_begin(stream_upload_writer **out, stream_uploads *u, const char *id,
                        int64_t offset, const char *checksum)
{
  if (!out || !u)
    return stream__err(STREAM_EINVAL, "stream_upload_begin: NULL argument");
  *out = NULL;
  UPLOAD_TRY(check_id(id, "upload id"));
  if (offset < 0)
    return stream__err(STREAM_EINVAL, "upload offset %lld is negative", (long long)offset);
  stream_upload_writer *w = stream__calloc(1, sizeof *w);
  if (!w)
    return STREAM_ENOMEM;
  w->fd = -1;
  w->u = u;
  memcpy(w->id, id, strlen(id) + 1);
  int rc = checksum ? parse_checksum(w, checksum) : STREAM_OK;
  /* A first look (unknown, expired, complete, wrong offset) before touching the file. */
  if (rc == STREAM_OK)
    rc = writer_session(w, u, offset);
  if (rc == STREAM_OK)
    rc = busy_take(u, id);
  if (rc != STREAM_OK) {
    writer_free(w);
    return rc;
  }
  rc = lock_data(&w->fd, u, id, 1);
  if (rc == STREAM_OK) {
    /* Under the lock the offset cannot move: read it again, since a writer in another process
     * may have committed (or the session gone) between the first look and the lock. */
    rc = writer_session(w, u, offset);
    if (rc == STREAM_ENOTFOUND)
      unlink_data(u, id); /* the open may have created the file of a session now gone */
  }
  struct stat sb;
  if (rc == STREAM_OK && fstat(w->fd, &sb) != 0)
    rc = stream__err(STREAM_EIO, "stat upload file: %s", strerror(errno));
  if (rc == STREAM_OK && sb.st_size < w->base)
    rc =
        stream__err(STREAM_EIO, "upload file of %s holds %lld bytes, fewer than the committed %lld",
                    id, (long long)sb.st_size, (long long)w->base);
  if (rc == STREAM_OK && sb.st_size > w->base) {
    /* Bytes written after the last commit (a crash, a discarded chunk). */
    if (ftruncate(w->fd, w->base) != 0 || fsync(w->fd) != 0)
      rc = stream__err(STREAM_EIO, "truncate upload file: %s", strerror(errno));
  }
  if (rc == STREAM_OK && lseek(w->fd, w->base, SEEK_SET) < 0)
    rc = stream__err(STREAM_EIO, "seek upload file: %s", strerror(errno));
  if (rc != STREAM_OK) {
    writer_free(w); /* closes the file, so its lock goes before the busy entry */
    busy_drop(u, id);
    return rc;
  }
  *out = w;
  return STREAM_OK;
}

int stream_upload_write(stream_upload_writer *w, const void *data, size_t len)
{
  if (!w || (!data && len))
    return stream__err(STREAM_EINVAL, "stream_upload_write: NULL argument");
  if (w->overflow || w->io_error)
    return stream__err(w->overflow ? STREAM_ERANGE : STREAM_EIO,
                       "upload %s: the chunk already failed", w->id);
  if ((int64_t)len > w->length - w->base - w->written) {
    w->overflow = 1;
    return stream__err(STREAM_ERANGE, "upload %s: the data passes the declared length of %lld",
                       w->id, (long long)w->length);
  }
  const unsigned char *p = data;
  size_t left = len;
  while (left) {
    ssize_t n = write(w->fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      w->io_error = 1;
      return stream__err(STREAM_EIO, "write upload file: %s", strerror(errno));
    }
    p += n;
    left -= (size_t)n;
  }
  if (w->md && EVP_DigestUpdate(w->md, data, len) != 1) {
    w->io_error = 1;
    return stream__err(STREAM_EIO, "checksum digest failed");
  }
  w->written += (int64_t)len;
  return STREAM_OK;
}

int stream_upload_end(int64_t *out_offset, stream_upload_writer *w, int complete)
{
  if (!w)
    return stream__err(STREAM_EINVAL, "stream_upload_end: NULL writer");
  stream_uploads *u = w->u;
  int rc = STREAM_OK;
  int keep = 1;
  if (w->overflow) {
    rc = stream__err(STREAM_ERANGE,
                     "upload %s: the chunk passed the declared length of %lld; "
                     "discarded",
                     w->id, (long long)w->length);
    keep = 0;
  } else if (w->io_error) {
    rc = stream__err(STREAM_EIO, "upload %s: writing the chunk failed; discarded", w->id);
    keep = 0;
  } else if (w->md && !complete) {
    keep = 0; /* a partial chunk cannot be verified */
  } else if (w->md) {
    unsigned char got[EVP_MAX_MD_SIZE];
    unsigned int glen = 0;
    if (EVP_DigestFinal_ex(w->md, got, &glen) != 1 || glen != w->want_len ||
        CRYPTO_memcmp(got, w->want, glen) != 0) {
      rc = stream__err(STREAM_EPROTO, "upload %s: checksum mismatch; the chunk was discarded",
                       w->id);
      keep = 0;
    }
  }
  int64_t committed = w->base;
  if (keep && w->written > 0) {
    if (fsync(w->fd) != 0) {
      rc = stream__err(STREAM_EIO, "sync upload file: %s", strerror(errno));
      keep = 0;
    } else {
      int64_t next = w->base + w->written;
      rc = ops(u)->set_offset(u->store->impl, w->id, w->base, next,
                              next == w->length ? now_of(u) : 0);
      if (rc == STREAM_OK)
        committed = next;
      else
        keep = 0;
    }
  }
  /* A discarded chunk is cut off (the next begin would do it too), except after a lost
   * compare-and-set: another writer moved the offset, and its bytes past ours are not ours
   * to cut. */
  if (!keep && w->written > 0 && rc != STREAM_ECONFLICT && ftruncate(w->fd, w->base) != 0)
    stream__log(STREAM_LOG_WARN, "upload", "upload %s: truncating a discarded chunk failed: %s",
                w->id, strerror(errno));
  if (out_offset)
    *out_offset = committed;
  close(w->fd); /* the file lock first: the next writer may come as soon as the busy entry goes */
  w->fd = -1;
  busy_drop(u, w->id);
  writer_free(w);
  return rc;
}

int stream_upload_terminate(stream_uploads *u, const char *id)
{
  if (!u)
    return stream__err(STREAM_EINVAL, "stream_upload_terminate: NULL handle");
  UPLOAD_TRY(check_id(id, "upload id"));
  UPLOAD_TRY(busy_take(u, id));
  int fd = -1;
  int rc = lock_data(&fd, u, id, 0); /* a writer in another process: busy too */
  if (rc != STREAM_EBUSY)
    rc = STREAM_OK; /* no data file (a crash right after the row's insert): the row still goes */
  if (rc == STREAM_OK)
    rc = ops(u)->remove(u->store->impl, id);
  if (rc == STREAM_OK)
    unlink_data(u, id);
  if (fd >= 0)
    close(fd);
  busy_drop(u, id);
  return rc;
}

int stream_upload_sweep(size_t *out_count, stream_uploads *u)
{
  if (out_count)
    *out_count = 0;
  if (!u)
    return stream__err(STREAM_EINVAL, "stream_upload_sweep: NULL handle");
  char(*ids)[STREAM_UPLOAD_ID_SIZE] = NULL;
  size_t n = 0, done = 0;
  UPLOAD_TRY(ops(u)->list_expired(u->store->impl, &ids, &n, now_of(u), UPLOAD_SWEEP_BATCH));
  int rc = STREAM_OK;
  for (size_t i = 0; i < n && rc == STREAM_OK; i++) {
    if (busy_take(u, ids[i]) != STREAM_OK)
      continue; /* a writer is open: the next sweep */
    int fd = -1;
    int r = lock_data(&fd, u, ids[i], 0);
    if (r == STREAM_EBUSY) { /* a writer in another process: the next sweep */
      busy_drop(u, ids[i]);
      continue;
    }
    /* Still expired now that no writer can commit: one that began before the expiry may have
     * committed (even completed the upload) since the list was read. */
    stream_upload_info info;
    int g = ops(u)->get(u->store->impl, &info, ids[i]);
    int still = g == STREAM_OK && expired(u, &info);
    if (g == STREAM_OK)
      stream_upload_info_clear(&info);
    else if (g != STREAM_ENOTFOUND)
      rc = g;
    if (rc == STREAM_OK && still) {
      r = ops(u)->remove(u->store->impl, ids[i]);
      if (r == STREAM_OK) {
        unlink_data(u, ids[i]);
        done++;
      } else if (r != STREAM_ENOTFOUND) {
        rc = r;
      }
    }
    if (fd >= 0)
      close(fd);
    busy_drop(u, ids[i]);
  }
  free(ids);
  if (out_count)
    *out_count = done;
  return rc;
}

int stream_upload_count_active(int64_t *out, stream_uploads *u)
{
  if (out)
    *out = 0;
  if (!out || !u)
    return stream__err(STREAM_EINVAL, "stream_upload_count_active: NULL argument");
  if (!ops(u)->count_active)
    return stream__err(STREAM_ENOTSUP, "the %s store backend cannot count uploads",
                       u->store->backend->name);
  return ops(u)->count_active(u->store->impl, out, now_of(u));
}
