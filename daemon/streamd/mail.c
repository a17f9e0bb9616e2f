/*
 * The outbox (mail.h): one .eml file per message, written to a hidden
 * temporary name and renamed, so a reader of the directory never sees half a
 * message. Only the header fields are checked (no CR/LF: no header
 * injection); the body is the caller's text with its LFs turned into CRLFs.
 */
#include "mail.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "keyfile.h"
#include "log.h"
#include "stream/common.h"

static char outbox[1100];
static char sender[320];

int streamd_mail_init(const char *dir, const char *from)
{
  if (!dir || !*dir || strlen(dir) >= sizeof(outbox) - 64) {
    streamd_logf(STREAM_LOG_ERROR, "mail_dir is empty or too long");
    return -1;
  }
  if (!from || !*from || strlen(from) >= sizeof(sender) || strpbrk(from, "\r\n")) {
    streamd_logf(STREAM_LOG_ERROR, "mail_from is empty, too long or has a line break");
    return -1;
  }
  if (streamd_ensure_dir(dir) != 0) /* made 0700 when missing (keyfile.c) */
    return -1;
  snprintf(outbox, sizeof(outbox), "%s", dir);
  snprintf(sender, sizeof(sender), "%s", from);
  return 0;
}

static int write_all(int fd, const char *p, size_t n)
{
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* The body with every bare LF as CRLF (RFC 5322 §2.3). */
static int write_body(int fd, const char *body)
{
  const char *p = body;
  while (*p) {
    size_t n = strcspn(p, "\r\n");
    if (write_all(fd, p, n) != 0 || (p[n] && write_all(fd, "\r\n", 2) != 0))
      return -1;
    p += n;
    if (*p == '\r')
      p++;
    if (*p == '\n')
      p++;
  }
  return 0;
}

/* The rename's directory entry on disk. */
static int sync_dir(void)
{
  int dfd = open(outbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return -1;
  int rc = fsync(dfd);
  int e = errno;
  close(dfd);
  errno = e;
  return rc;
}

int streamd_mail_send(void *userdata, const char *to, const char *subject, const char *text_body)
{
  (void)userdata;
  if (!outbox[0] || !to || !subject || !text_body || strpbrk(to, "\r\n") ||
      strpbrk(subject, "\r\n")) {
    streamd_logf(STREAM_LOG_ERROR, "mail: not sent (no outbox, or a header with a line break)");
    return -1;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  unsigned char rnd[8];
  if (stream_random_bytes(rnd, sizeof(rnd)) != STREAM_OK)
    return -1;
  char id[17];
  for (size_t i = 0; i < sizeof(rnd); i++)
    snprintf(id + 2 * i, 3, "%02x", rnd[i]);
  char name[1200], tmp[1200];
  snprintf(name, sizeof(name), "%s/%" PRId64 "-%s.eml", outbox, ms, id);
  snprintf(tmp, sizeof(tmp), "%s/.%" PRId64 "-%s.tmp", outbox, ms, id);

  char date[64];
  struct tm tm;
  time_t secs = ts.tv_sec;
  gmtime_r(&secs, &tm);
  strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
  char head[2048];
  int hn = snprintf(head, sizeof(head),
                    "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\n"
                    "Message-ID: <%" PRId64 ".%s@streamd>\r\nMIME-Version: 1.0\r\n"
                    "Content-Type: text/plain; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: 8bit\r\n\r\n",
                    sender, to, subject, date, ms, id);
  if (hn < 0 || (size_t)hn >= sizeof(head)) {
    streamd_logf(STREAM_LOG_ERROR, "mail: headers too long");
    return -1;
  }
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    streamd_logf(STREAM_LOG_ERROR, "mail: %s: %s", tmp, strerror(errno));
    return -1;
  }
  int rc = write_all(fd, head, (size_t)hn) == 0 && write_body(fd, text_body) == 0 ? 0 : -1;
  /* Durable before 0 is returned: the caller deletes the request it came from. */
  if (rc == 0 && fsync(fd) != 0)
    rc = -1;
  if (close(fd) != 0)
    rc = -1;
  if (rc == 0 && rename(tmp, name) != 0)
    rc = -1;
  if (rc == 0 && sync_dir() != 0) {
    /* In place but maybe not on disk: the caller retries (a second copy is allowed). */
    streamd_logf(STREAM_LOG_ERROR, "mail: syncing %s failed: %s", outbox, strerror(errno));
    return -1;
  }
  if (rc != 0) {
    streamd_logf(STREAM_LOG_ERROR, "mail: writing %s failed: %s", name, strerror(errno));
    unlink(tmp);
    return -1;
  }
  streamd_logf(STREAM_LOG_INFO, "mail: queued %s", strrchr(name, '/') + 1);
  return 0;
}
