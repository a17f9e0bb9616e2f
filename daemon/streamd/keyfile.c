/* streamd's private directories and key files (keyfile.h). */
#include "keyfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "stream/common.h"

int streamd_ensure_dir(const char *dir)
{
  struct stat st;
  if (stat(dir, &st) != 0) {
    if (errno != ENOENT) {
      streamd_logf(STREAM_LOG_ERROR, "directory %s: %s", dir, strerror(errno));
      return -1;
    }
    if (mkdir(dir, 0700) == 0)
      return 0;
    /* Another process made it between the stat and the mkdir: check what it made. */
    if (errno != EEXIST || stat(dir, &st) != 0) {
      streamd_logf(STREAM_LOG_ERROR, "directory %s: %s", dir, strerror(errno));
      return -1;
    }
  }
  if (!S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0) {
    streamd_logf(STREAM_LOG_ERROR, "%s is not a writable directory", dir);
    return -1;
  }
  if (st.st_mode & 077)
    streamd_logf(STREAM_LOG_WARN, "directory %s is accessible by group or others", dir);
  return 0;
}

int streamd_write_private_file(const char *path, const char *text)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return -1;
  size_t len = strlen(text), done = 0;
  while (done < len) {
    ssize_t w = write(fd, text + done, len - done);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      int saved = errno ? errno : EIO;
      close(fd);
      unlink(path);
      errno = saved;
      return -1;
    }
    done += (size_t)w;
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    int saved = errno;
    unlink(path);
    errno = saved;
    return -1;
  }
  return 0;
}

/* Publish `text` as the new file `path` (0600) whole: written and synced under a temporary
 * name beside it, then hard-linked to `path`. 0 = published, 1 = `path` existed already
 * (another process published first: its file stands), -1 = error (errno set). */
static int publish_private_file(const char *path, const char *text)
{
  char tmp[4200];
  unsigned char r[6];
  if (stream_random_bytes(r, sizeof r) != STREAM_OK) {
    errno = EIO;
    return -1;
  }
  int n = snprintf(tmp, sizeof tmp, "%s.%02x%02x%02x%02x%02x%02x.tmp", path, r[0], r[1], r[2], r[3],
                   r[4], r[5]);
  if (n < 0 || (size_t)n >= sizeof tmp) {
    errno = ENAMETOOLONG;
    return -1;
  }
  if (streamd_write_private_file(tmp, text) != 0)
    return -1;
  int rc = link(tmp, path) == 0 ? 0 : errno == EEXIST ? 1 : -1;
  int saved = errno;
  unlink(tmp);
  errno = saved;
  return rc;
}

/* Seconds after which a publication's temporary file is taken as abandoned: publishing takes
 * milliseconds, so an older one belongs to a streamd killed between writing and linking it. */
#define STALE_TEMP_S 600

/* 1 when `name` is `base` + "." + 12 lower-case hex digits + ".tmp" (publish_private_file's). */
static int is_publish_temp(const char *name, const char *base)
{
  size_t bl = strlen(base);
  if (strncmp(name, base, bl) != 0 || name[bl] != '.')
    return 0;
  const char *p = name + bl + 1;
  for (int i = 0; i < 12; i++, p++)
    if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
      return 0;
  return strcmp(p, ".tmp") == 0;
}

/* Remove `path`'s abandoned temporary files (is_publish_temp, regular, older than
 * STALE_TEMP_S): each holds a key that was never used. Best effort: failures are logged. */
static void remove_stale_temps(const char *path)
{
  const char *slash = strrchr(path, '/');
  char dir[4096];
  const char *base = path;
  if (slash) {
    size_t dl = slash == path ? 1 : (size_t)(slash - path);
    if (dl >= sizeof dir)
      return;
    memcpy(dir, path, dl);
    dir[dl] = '\0';
    base = slash + 1;
  } else {
    strcpy(dir, ".");
  }
  DIR *d = opendir(dir);
  if (!d)
    return;
  time_t now = time(NULL);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    struct stat st;
    if (!is_publish_temp(e->d_name, base) ||
        fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
        now - st.st_mtime < STALE_TEMP_S)
      continue;
    if (unlinkat(dirfd(d), e->d_name, 0) == 0)
      streamd_logf(STREAM_LOG_WARN,
                   "removed %s/%s, a key file left half-published by a streamd "
                   "stopped while writing it",
                   dir, e->d_name);
    else if (errno != ENOENT)
      streamd_logf(STREAM_LOG_WARN, "removing %s/%s: %s", dir, e->d_name, strerror(errno));
  }
  closedir(d);
}

/* The most a key file may hold: stream_key_from_text()'s limit (keys.h, 16 KiB). */
#define KEY_TEXT_MAX (16 * 1024)

/* Open `path` for reading without following a symlink in its last component, without blocking
 * on a FIFO (O_NONBLOCK: a FIFO opens at once, and the fstat refuses it) and without a terminal
 * planted there becoming streamd's controlling terminal. */
static int open_key(const char *path)
{
  return open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
}

static const char *file_kind(mode_t m)
{
  return S_ISDIR(m)    ? "a directory"
         : S_ISFIFO(m) ? "a FIFO"
         : S_ISSOCK(m) ? "a socket"
         : S_ISCHR(m)  ? "a character device"
         : S_ISBLK(m)  ? "a block device"
                       : "not a regular file";
}

/* The checks and the read of streamd_read_key_file() on `fd`, the descriptor open_key() gave for
 * `path` (closed here): everything is decided on the open file, so what is checked is what is
 * read. */
static int read_key_fd(char **out, int fd, const char *path, int generated)
{
  struct stat st;
  if (fstat(fd, &st) != 0) {
    streamd_logf(STREAM_LOG_ERROR, "key file %s: %s", path, strerror(errno));
    close(fd);
    return -1;
  }
  uid_t euid = geteuid();
  if (!S_ISREG(st.st_mode)) {
    streamd_logf(STREAM_LOG_ERROR, "%s must be a regular file of mode 0600 (it is %s)", path,
                 file_kind(st.st_mode));
    close(fd);
    return -1;
  }
  if (st.st_mode & 077) {
    streamd_logf(STREAM_LOG_ERROR, "%s must be a regular file of mode 0600 (chmod 600 it)", path);
    close(fd);
    return -1;
  }
  if (generated && st.st_uid != euid) {
    streamd_logf(STREAM_LOG_ERROR,
                 "%s is owned by uid %u, not by this streamd's uid %u: a key file in streamd's "
                 "keys directory must be its own (chown it)",
                 path, (unsigned)st.st_uid, (unsigned)euid);
    close(fd);
    return -1;
  }
  if (!generated && st.st_uid != euid && st.st_uid != 0) {
    streamd_logf(STREAM_LOG_ERROR,
                 "%s is owned by uid %u: a key file must be owned by this streamd's uid %u or by "
                 "root (chown it)",
                 path, (unsigned)st.st_uid, (unsigned)euid);
    close(fd);
    return -1;
  }
  char *buf = malloc(KEY_TEXT_MAX + 2);
  if (!buf) {
    streamd_logf(STREAM_LOG_ERROR, "reading %s: %s", path, strerror(ENOMEM));
    close(fd);
    return -1;
  }
  size_t n = 0;
  int err = 0;
  while (n <= KEY_TEXT_MAX) {
    ssize_t r = read(fd, buf + n, KEY_TEXT_MAX + 1 - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      err = errno;
    if (r <= 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  const char *why = err                    ? strerror(err)
                    : n > KEY_TEXT_MAX     ? "over 16 KiB, not a key file"
                    : memchr(buf, '\0', n) ? "binary data; expected base64url or PEM text"
                                           : NULL;
  if (why) {
    streamd_logf(STREAM_LOG_ERROR, "reading %s: %s", path, why);
    stream_free_secret(buf, n);
    return -1;
  }
  buf[n] = '\0';
  *out = buf;
  return 0;
}

int streamd_read_key_file(char **out, const char *path, int generated)
{
  *out = NULL;
  int fd = open_key(path);
  if (fd < 0) {
    if (errno == ELOOP || errno == EMLINK)
      streamd_logf(STREAM_LOG_ERROR, "%s must be a regular file of mode 0600, not a symlink", path);
    else
      streamd_logf(STREAM_LOG_ERROR, "key file %s: %s", path, strerror(errno));
    return -1;
  }
  return read_key_fd(out, fd, path, generated);
}

int streamd_key_file(stream_key **out, const char *path, int generate, stream_key_type type,
                     const char *id, size_t gen_len, stream_key_format fmt, const char *what)
{
  *out = NULL;
  int fd = open_key(path);
  if (fd < 0 && errno == ENOENT && generate) {
    stream_key *k = NULL;
    char *text = NULL;
    int rc = stream_key_generate(&k, type, id, gen_len);
    if (rc == STREAM_OK)
      rc = stream_key_export(&text, k, fmt);
    stream_key_free(k);
    if (rc != STREAM_OK) {
      streamd_logf(STREAM_LOG_ERROR, "generating the %s: %s", what, stream_error_last()->message);
      return -1;
    }
    /* One line for the base64url forms; PEM already ends with a newline. */
    size_t tl = strlen(text);
    int nl = tl && text[tl - 1] == '\n';
    char *file = malloc(tl + 2);
    int wr = -1;
    if (file) {
      memcpy(file, text, tl);
      file[tl] = '\n';
      file[tl + !nl] = '\0';
      wr = publish_private_file(path, file);
      stream_free_secret(file, tl + 1);
    } else {
      errno = ENOMEM;
    }
    stream_free_secret(text, tl);
    if (wr < 0) {
      streamd_logf(STREAM_LOG_ERROR, "writing %s: %s", path, strerror(errno));
      return -1;
    }
    if (wr == 0)
      streamd_logf(STREAM_LOG_INFO, "generated the %s %s (mode 0600)", what, path);
    else
      streamd_logf(STREAM_LOG_INFO, "%s: another streamd made it at the same moment; using it",
                   path);
    /* Loaded like an existing file: what holds the name now (ours, another streamd's, or
     * anything planted meanwhile) gets the same checks on the descriptor that is read. */
    fd = open_key(path);
  }
  if (fd < 0) {
    if (errno == ELOOP || errno == EMLINK)
      streamd_logf(STREAM_LOG_ERROR, "%s must be a regular file of mode 0600, not a symlink", path);
    else
      streamd_logf(STREAM_LOG_ERROR, "%s %s: %s", what, path, strerror(errno));
    return -1;
  }
  char *text = NULL;
  if (read_key_fd(&text, fd, path, generate) != 0)
    return -1;
  if (generate)
    remove_stale_temps(path);
  int rc = stream_key_from_text(out, type, id, text);
  stream_free_secret(text, strlen(text));
  if (rc != STREAM_OK) {
    streamd_logf(STREAM_LOG_ERROR, "loading %s: %s", path, stream_error_last()->message);
    return -1;
  }
  return 0;
}
