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

/* ---- key generations ------------------------------------------------------- */

/* One key file of a role found in the keys directory. */
typedef struct key_gen {
  unsigned int gen; /* 1 = <role>.key */
  int next;         /* <role>-<n>.next.key: accepted only */
  char name[256];
} key_gen;

/* The most names listed in a refusal: more than STREAMD_KEY_GENERATIONS_MAX are counted. */
#define KEY_GEN_LISTED 32

/* What `name` is for `role`: 0 not one of its names, 1 a generation (`*gen`, `*next`), -1 a
 * <role>-*.key name whose generation is not 2..STREAMD_KEY_GENERATION_LAST without a leading
 * zero. */
static int parse_key_gen(const char *name, const char *role, unsigned int *gen, int *next)
{
  size_t rl = strlen(role);
  *gen = 0;
  *next = 0;
  if (strncmp(name, role, rl) != 0)
    return 0;
  const char *rest = name + rl;
  if (strcmp(rest, ".key") == 0) {
    *gen = 1;
    return 1;
  }
  size_t len = strlen(rest);
  if (rest[0] != '-' || len < 5 || strcmp(rest + len - 4, ".key") != 0)
    return 0;
  const char *num = rest + 1;
  size_t nl = len - 5;
  if (nl >= 5 && memcmp(num + nl - 5, ".next", 5) == 0) {
    *next = 1;
    nl -= 5;
  }
  if (nl == 0 || nl > 4 || num[0] == '0')
    return -1;
  unsigned int v = 0;
  for (size_t i = 0; i < nl; i++) {
    if (num[i] < '0' || num[i] > '9')
      return -1;
    v = v * 10 + (unsigned int)(num[i] - '0');
  }
  if (v < 2 || v > STREAMD_KEY_GENERATION_LAST)
    return -1;
  *gen = v;
  return 1;
}

static int key_gen_cmp(const void *a, const void *b)
{
  const key_gen *x = a, *y = b;
  if (x->gen != y->gen)
    return x->gen < y->gen ? -1 : 1;
  return x->next - y->next;
}

/* ", "-separated names of `g[0..n)` into `buf`. */
static void list_names(char *buf, size_t len, const key_gen *g, size_t n)
{
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < n && used < len; i++) {
    int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", g[i].name);
    if (w < 0)
      break;
    used += (size_t)w;
  }
}

/* The files of `role` in `dir`, sorted by generation (active before next) into `g` (at most
 * KEY_GEN_LISTED); `*total` counts them all. 0, or -1 after logging why (a bad name, an
 * unreadable directory). */
static int scan_key_gens(key_gen *g, size_t *total, const char *dir, const char *role)
{
  *total = 0;
  DIR *d = opendir(dir);
  if (!d) {
    streamd_logf(STREAM_LOG_ERROR, "directory %s: %s", dir, strerror(errno));
    return -1;
  }
  int rc = 0;
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(d);
    if (!e) {
      if (errno != 0) {
        streamd_logf(STREAM_LOG_ERROR, "reading directory %s: %s", dir, strerror(errno));
        rc = -1;
      }
      break;
    }
    unsigned int gen;
    int next;
    int kind = parse_key_gen(e->d_name, role, &gen, &next);
    if (kind < 0) {
      streamd_logf(STREAM_LOG_ERROR,
                   "%s/%s is not a key file name streamd takes: expected %s.key (generation 1), "
                   "%s-<n>.key or %s-<n>.next.key with n a decimal number from 2 to %d without "
                   "leading zeros; rename or remove it",
                   dir, e->d_name, role, role, role, STREAMD_KEY_GENERATION_LAST);
      rc = -1;
      continue;
    }
    if (kind == 0)
      continue;
    if (*total < KEY_GEN_LISTED) {
      key_gen *k = &g[*total];
      k->gen = gen;
      k->next = next;
      snprintf(k->name, sizeof k->name, "%s", e->d_name);
    }
    (*total)++;
  }
  closedir(d);
  size_t n = *total < KEY_GEN_LISTED ? *total : KEY_GEN_LISTED;
  qsort(g, n, sizeof *g, key_gen_cmp);
  return rc;
}

/* Load `path` (checked as a generated file) as HMAC key `id` and add it to `ring`. */
static int add_key_file(stream_keyring *ring, const char *path, const char *id)
{
  char *text = NULL;
  if (streamd_read_key_file(&text, path, 1) != 0)
    return -1;
  stream_key *key = NULL;
  int rc = stream_key_from_text(&key, STREAM_KEY_HMAC, id, text);
  stream_free_secret(text, strlen(text));
  if (rc == STREAM_OK)
    rc = stream_keyring_add(ring, key);
  stream_key_free(key);
  if (rc != STREAM_OK) {
    streamd_logf(STREAM_LOG_ERROR, "loading %s: %s", path, stream_error_last()->message);
    return -1;
  }
  return 0;
}

/* The checks on the generations found (sorted): a generation both active and next, too many,
 * none active. The index of the signing one, or -1 after logging why. */
static int signing_gen(const key_gen *g, size_t total, const char *dir, const char *role,
                       const char *what)
{
  char names[KEY_GEN_LISTED * 40];
  if (total > STREAMD_KEY_GENERATIONS_MAX) {
    list_names(names, sizeof names, g, total < KEY_GEN_LISTED ? total : KEY_GEN_LISTED);
    streamd_logf(STREAM_LOG_ERROR,
                 "%s: %zu %s key files (%s%s); at most %d are loaded: remove the generations no "
                 "longer accepted",
                 dir, total, role, names, total > KEY_GEN_LISTED ? ", ..." : "",
                 STREAMD_KEY_GENERATIONS_MAX);
    return -1;
  }
  for (size_t i = 1; i < total; i++)
    if (g[i].gen == g[i - 1].gen) {
      streamd_logf(STREAM_LOG_ERROR,
                   "%s: both %s and %s hold generation %u of the %s: keep one (%s once it "
                   "signs, or %s while it is only accepted)",
                   dir, g[i - 1].name, g[i].name, g[i].gen, what, g[i - 1].name, g[i].name);
      return -1;
    }
  int sign = -1;
  for (size_t i = 0; i < total; i++)
    if (!g[i].next)
      sign = (int)i;
  if (sign < 0) {
    const key_gen *last = &g[total - 1];
    list_names(names, sizeof names, g, total);
    streamd_logf(STREAM_LOG_ERROR,
                 "%s: no active %s: %s %s accepted only (a .next.key file verifies, never "
                 "signs); rename %s/%s to %s-%u.key (or put %s.key back)",
                 dir, what, names, total > 1 ? "are" : "is", dir, last->name, role, last->gen,
                 role);
    return -1;
  }
  return sign;
}

int streamd_key_generations(stream_keyring **out, const char *dir, const char *role,
                            const char *what)
{
  *out = NULL;
  key_gen g[KEY_GEN_LISTED];
  size_t total = 0;
  char path[4200], id[STREAM_KEY_ID_MAX + 1];
  if (scan_key_gens(g, &total, dir, role) != 0)
    return -1;
  stream_keyring *ring = NULL;
  if (stream_keyring_new(&ring) != STREAM_OK) {
    streamd_logf(STREAM_LOG_ERROR, "key ring: %s", stream_error_last()->message);
    return -1;
  }
  snprintf(path, sizeof path, "%s/%s.key", dir, role);
  snprintf(id, sizeof id, "%s-1", role);
  if (total == 0) {
    /* The first start (or every key gone): generation 1, published whole (streamd_key_file). */
    stream_key *key = NULL;
    if (streamd_key_file(&key, path, 1, STREAM_KEY_HMAC, id, 32, STREAM_KEY_FORMAT_BASE64URL,
                         what) != 0) {
      stream_keyring_free(ring);
      return -1;
    }
    int rc = stream_keyring_add(ring, key);
    if (rc == STREAM_OK)
      rc = stream_keyring_set_primary(ring, id);
    stream_key_free(key);
    if (rc != STREAM_OK) {
      streamd_logf(STREAM_LOG_ERROR, "key ring: %s", stream_error_last()->message);
      stream_keyring_free(ring);
      return -1;
    }
    streamd_logf(STREAM_LOG_INFO, "%s: %s signs; accepted: %s", what, id, id);
    *out = ring;
    return 0;
  }
  int sign = signing_gen(g, total, dir, role, what);
  if (sign < 0) {
    stream_keyring_free(ring);
    return -1;
  }
  char accepted[STREAMD_KEY_GENERATIONS_MAX * (STREAM_KEY_ID_MAX + 10)] = "";
  size_t used = 0;
  for (size_t i = 0; i < total; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, g[i].name);
    snprintf(id, sizeof id, "%s-%u", role, g[i].gen);
    if (add_key_file(ring, path, id) != 0) {
      stream_keyring_free(ring);
      return -1;
    }
    int w = snprintf(accepted + used, sizeof accepted - used, "%s%s%s", i ? ", " : "", id,
                     g[i].next ? " (next)" : "");
    if (w > 0 && (size_t)w < sizeof accepted - used)
      used += (size_t)w;
  }
  snprintf(id, sizeof id, "%s-%u", role, g[sign].gen);
  if (stream_keyring_set_primary(ring, id) != STREAM_OK) {
    streamd_logf(STREAM_LOG_ERROR, "key ring: %s", stream_error_last()->message);
    stream_keyring_free(ring);
    return -1;
  }
  /* As streamd_key_file() does for the file it may generate: a publication of <role>.key
   * abandoned by a streamd killed while writing it. */
  snprintf(path, sizeof path, "%s/%s.key", dir, role);
  remove_stale_temps(path);
  streamd_logf(STREAM_LOG_INFO, "%s: %s signs; accepted: %s", what, id, accepted);
  *out = ring;
  return 0;
}
