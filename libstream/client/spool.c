/*
 * The emitter's spool file: append-only records with length and CRC so that
 * a write cut short by kill -9 is detected and discarded at the next open.
 * Format and policy in spool.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "../core/core.h"
#include "spool.h"

#define SPOOL_MAGIC 0x314c5053u /* "SPL1" little-endian */
#define HDR 16
#define REC_MAX (64u << 20)

static void put32(uint8_t *p, uint32_t v)
{
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put64(uint8_t *p, uint64_t v)
{
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static uint32_t rec_crc(const uint8_t *hdr, const uint8_t *payload, size_t len)
{
  uLong c = crc32(0L, Z_NULL, 0);
  c = crc32(c, hdr, 12);
  c = crc32(c, payload, (uInt)len);
  return (uint32_t)c;
}

static int write_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
  while (n) {
    ssize_t w = pwrite(fd, p, n, (off_t)off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return stream__err(STREAM_EIO, "spool: write failed: %s", strerror(errno));
    p += w;
    n -= (size_t)w;
    off += (uint64_t)w;
  }
  return STREAM_OK;
}

/* STREAM_EIO on a read error (errno set), STREAM_EPROTO when the file ends first. */
static int read_all(int fd, uint8_t *p, size_t n, uint64_t off)
{
  while (n) {
    ssize_t r = pread(fd, p, n, (off_t)off);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return STREAM_EIO;
    if (r == 0)
      return STREAM_EPROTO;
    p += r;
    n -= (size_t)r;
    off += (uint64_t)r;
  }
  return STREAM_OK;
}

static int push_rec(emitter__spool *s, emitter__spool_rec r)
{
  if (s->n == s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 16;
    emitter__spool_rec *g = realloc(s->recs, ncap * sizeof *g);
    if (!g)
      return stream__err(STREAM_ENOMEM, "spool: out of memory");
    s->recs = g;
    s->cap = ncap;
  }
  s->recs[s->n++] = r;
  s->pending_bytes += r.len;
  return STREAM_OK;
}

static void drop_rec(emitter__spool *s, uint64_t id)
{
  for (size_t i = 0; i < s->n; i++) {
    if (s->recs[i].id == id) {
      s->pending_bytes -= s->recs[i].len;
      memmove(&s->recs[i], &s->recs[i + 1], (s->n - i - 1) * sizeof s->recs[0]);
      s->n--;
      return;
    }
  }
}

/* Append one record at the end of the file (not synced). */
static int append_rec(emitter__spool *s, char kind, uint64_t id, const void *data, size_t len,
                      uint64_t *out_off)
{
  size_t plen = 8 + len;
  uint8_t *buf = malloc(HDR + plen);
  if (!buf)
    return stream__err(STREAM_ENOMEM, "spool: out of memory");
  memset(buf, 0, HDR);
  put32(buf, SPOOL_MAGIC);
  buf[4] = (uint8_t)kind;
  put32(buf + 8, (uint32_t)plen);
  put64(buf + HDR, id);
  if (len)
    memcpy(buf + HDR + 8, data, len);
  put32(buf + 12, rec_crc(buf, buf + HDR, plen));
  int rc = write_all(s->fd, buf, HDR + plen, s->size);
  free(buf);
  if (rc != STREAM_OK) {
    /* A partial record (ENOSPC) would sit between good ones: cut it off (best effort). */
    if (ftruncate(s->fd, (off_t)s->size) != 0)
      stream__log(STREAM_LOG_DEBUG, "emitter", "spool: truncate after a failed write failed");
    return rc;
  }
  if (out_off)
    *out_off = s->size;
  s->size += HDR + plen;
  return STREAM_OK;
}

/* The number of events (field 1) in a protobuf Batch; 0 when it does not parse. The record does
 * not store it, and the bound must count what it drops after a reopen too. A walk over the
 * top-level fields, not protobuf-c's unpack: opening a spool counts every record, and unpacking
 * would allocate and decode every event of every batch to count them; it also counts a batch
 * whose events do not all decode (still events the bound drops, test_emitter_counts_batch_that_
 * does_not_decode), which unpack would call 0. */
static uint32_t count_events(const uint8_t *p, size_t len)
{
  uint32_t n = 0;
  size_t i = 0;
  while (i < len) {
    uint64_t v[2] = {0, 0};
    int parts = 1;
    for (int k = 0; k < parts; k++) {
      unsigned shift = 0;
      for (;;) {
        if (i >= len || shift > 63)
          return 0;
        uint8_t c = p[i++];
        v[k] |= (uint64_t)(c & 0x7f) << shift;
        shift += 7;
        if (!(c & 0x80))
          break;
      }
      if (k == 0 && ((v[0] & 7) == 0 || (v[0] & 7) == 2))
        parts = 2; /* a value or a length follows */
    }
    switch (v[0] & 7) {
    case 0:
      break;
    case 1:
      i += 8;
      break;
    case 2:
      if (v[1] > len - i)
        return 0;
      i += (size_t)v[1];
      if (v[0] >> 3 == 1)
        n++;
      break;
    case 5:
      i += 4;
      break;
    default:
      return 0;
    }
  }
  return i == len ? n : 0;
}

/* The record at `off`: 1 and its header and payload (in *payload, grown as needed) when it is
 * complete and passes its CRC, 0 when not, < 0 on error. */
static int read_rec(emitter__spool *s, uint64_t off, uint64_t end, uint8_t hdr[HDR],
                    uint8_t **payload)
{
  if (off + HDR > end || read_all(s->fd, hdr, HDR, off) != STREAM_OK)
    return 0;
  uint32_t plen = get32(hdr + 8);
  if (get32(hdr) != SPOOL_MAGIC || (hdr[4] != 'B' && hdr[4] != 'A') || plen < 8 || plen > REC_MAX ||
      off + HDR + plen > end)
    return 0;
  uint8_t *p = realloc(*payload, plen);
  if (!p)
    return stream__err(STREAM_ENOMEM, "spool: out of memory");
  *payload = p;
  if (read_all(s->fd, p, plen, off + HDR) != STREAM_OK || rec_crc(hdr, p, plen) != get32(hdr + 12))
    return 0;
  return 1;
}

/* The offset of the next magic at or after `off` (a candidate record), or `end`. */
static uint64_t next_magic(emitter__spool *s, uint64_t off, uint64_t end)
{
  uint8_t buf[65536];
  while (off + 4 <= end) {
    size_t n = end - off < sizeof buf ? (size_t)(end - off) : sizeof buf;
    if (read_all(s->fd, buf, n, off) != STREAM_OK)
      return end;
    for (size_t i = 0; i + 4 <= n; i++)
      if (get32(buf + i) == SPOOL_MAGIC)
        return off + i;
    off += n - 3; /* a magic may straddle two reads */
  }
  return end;
}

/* Scan the file, loading pending batches. A damaged record (a write cut by a crash, or a bad
 * sector) is skipped up to the next record that passes its CRC, so that one bad record does not
 * lose the good ones after it; bytes after the last good record (a torn tail) are cut off. */
static int scan(emitter__spool *s)
{
  struct stat stt;
  if (fstat(s->fd, &stt) != 0)
    return stream__err(STREAM_EIO, "spool: stat failed: %s", strerror(errno));
  uint64_t end = (uint64_t)stt.st_size, off = 0, good_end = 0, skipped = 0;
  uint8_t hdr[HDR];
  uint8_t *payload = NULL;
  int rc = STREAM_OK;
  while (off < end) {
    int r = read_rec(s, off, end, hdr, &payload);
    if (r < 0) {
      rc = r;
      break;
    }
    if (r == 0) {
      uint64_t next = next_magic(s, off + 1, end);
      if (next < end)
        skipped += next - off;
      off = next;
      continue;
    }
    uint32_t plen = get32(hdr + 8);
    uint64_t id = get64(payload);
    if (hdr[4] == 'B') {
      emitter__spool_rec rec = {id, off, plen - 8, count_events(payload + 8, plen - 8), 0};
      rc = push_rec(s, rec);
      if (rc != STREAM_OK)
        break;
    } else {
      drop_rec(s, id);
    }
    if (id >= s->next_id)
      s->next_id = id + 1;
    off += HDR + plen;
    good_end = off;
  }
  free(payload);
  if (rc != STREAM_OK)
    return rc;
  if (skipped)
    stream__log(STREAM_LOG_WARN, "emitter", "spool %s: skipped %llu damaged bytes", s->path,
                (unsigned long long)skipped);
  if (good_end < end) {
    stream__log(STREAM_LOG_WARN, "emitter", "spool %s: discarding %llu torn bytes at %llu", s->path,
                (unsigned long long)(end - good_end), (unsigned long long)good_end);
    if (ftruncate(s->fd, (off_t)good_end) != 0)
      return stream__err(STREAM_EIO, "spool: truncate failed: %s", strerror(errno));
  }
  s->size = good_end;
  return STREAM_OK;
}

/* Make a file creation or rename in the spool's directory durable: without it, a power cut can
 * forget the new name while the data synced to its inode is lost with it. */
static int sync_dir(const char *path)
{
  const char *slash = strrchr(path, '/');
  char *dir = slash ? malloc((size_t)(slash - path) + 2) : NULL;
  if (slash && !dir)
    return stream__err(STREAM_ENOMEM, "spool: out of memory");
  if (dir) {
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    memcpy(dir, path, n);
    dir[n] = '\0';
  }
  int fd = open(dir ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc = STREAM_OK;
  if (fd < 0 || fsync(fd) != 0)
    rc = stream__err(STREAM_EIO, "spool: cannot sync the directory of %s: %s", path,
                     strerror(errno));
  if (fd >= 0)
    close(fd);
  free(dir);
  return rc;
}

/* One emitter per spool file: two would append over each other's records. */
static int lock_spool(int fd, const char *path)
{
  if (flock(fd, LOCK_EX | LOCK_NB) == 0)
    return STREAM_OK;
  if (errno == EWOULDBLOCK)
    return stream__err(STREAM_EBUSY, "spool: %s is in use by another emitter", path);
  return stream__err(STREAM_EIO, "spool: cannot lock %s: %s", path, strerror(errno));
}

int emitter__spool_open(emitter__spool *s, const char *path, uint64_t max)
{
  memset(s, 0, sizeof *s);
  s->fd = -1;
  s->max = max;
  s->next_id = 1;
  s->path = stream__strdup(path);
  if (!s->path)
    return STREAM_ENOMEM;
  bool created = false;
  s->fd = open(path, O_RDWR | O_CLOEXEC);
  if (s->fd < 0 && errno == ENOENT) {
    s->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    created = s->fd >= 0;
  }
  if (s->fd < 0) {
    int rc = stream__err(STREAM_EIO, "spool: cannot open %s: %s", path, strerror(errno));
    emitter__spool_close(s);
    return rc;
  }
  int rc = lock_spool(s->fd, path);
  if (rc == STREAM_OK && created)
    rc = sync_dir(path);
  if (rc == STREAM_OK)
    rc = scan(s);
  if (rc != STREAM_OK)
    emitter__spool_close(s);
  return rc;
}

void emitter__spool_close(emitter__spool *s)
{
  if (s->fd >= 0)
    close(s->fd);
  free(s->path);
  free(s->recs);
  memset(s, 0, sizeof *s);
  s->fd = -1;
}

/* Rewrite the pending batches into a fresh file that replaces the spool. */
static int compact(emitter__spool *s)
{
  size_t plen = strlen(s->path);
  char *tmp = malloc(plen + 5);
  if (!tmp)
    return stream__err(STREAM_ENOMEM, "spool: out of memory");
  memcpy(tmp, s->path, plen);
  memcpy(tmp + plen, ".tmp", 5);
  emitter__spool n;
  memset(&n, 0, sizeof n);
  /* The new offsets replace the index only once the new file is in place: a failure half way
   * (ENOSPC) leaves the old file and its offsets in use. */
  uint64_t *offs = malloc((s->n ? s->n : 1) * sizeof *offs);
  n.fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int rc = n.fd < 0 ? stream__err(STREAM_EIO, "spool: cannot create %s: %s", tmp, strerror(errno))
                    : STREAM_OK;
  if (rc == STREAM_OK && !offs)
    rc = stream__err(STREAM_ENOMEM, "spool: out of memory");
  if (rc == STREAM_OK)
    rc = lock_spool(n.fd, tmp);
  for (size_t i = 0; rc == STREAM_OK && i < s->n; i++) {
    uint8_t *data = malloc(s->recs[i].len ? s->recs[i].len : 1);
    if (!data) {
      rc = stream__err(STREAM_ENOMEM, "spool: out of memory");
      break;
    }
    rc = read_all(s->fd, data, s->recs[i].len, s->recs[i].off + HDR + 8);
    if (rc != STREAM_OK)
      rc = stream__err(STREAM_EIO, "spool: read failed");
    uint64_t off = 0;
    if (rc == STREAM_OK)
      rc = append_rec(&n, 'B', s->recs[i].id, data, s->recs[i].len, &off);
    free(data);
    offs[i] = off;
  }
  if (rc == STREAM_OK && fdatasync(n.fd) != 0)
    rc = stream__err(STREAM_EIO, "spool: sync failed: %s", strerror(errno));
  if (rc == STREAM_OK && rename(tmp, s->path) != 0)
    rc = stream__err(STREAM_EIO, "spool: rename failed: %s", strerror(errno));
  if (rc == STREAM_OK) {
    close(s->fd);
    s->fd = n.fd;
    s->size = n.size;
    for (size_t i = 0; i < s->n; i++)
      s->recs[i].off = offs[i];
    /* The new file is in use from here on; a failed directory sync only weakens durability
     * across a power cut, so it is reported but does not undo the compaction. */
    if (sync_dir(s->path) != STREAM_OK)
      stream__log(STREAM_LOG_WARN, "emitter", "%s", stream_error_last()->message);
  } else if (n.fd >= 0) {
    close(n.fd);
    unlink(tmp);
  }
  free(offs);
  free(tmp);
  return rc;
}

int emitter__spool_append(emitter__spool *s, const void *data, size_t len, uint32_t events,
                          uint64_t *out_dropped)
{
  *out_dropped = 0;
  while (s->pending_bytes + len > s->max) {
    size_t i = 0;
    while (i < s->n && s->recs[i].id == s->busy)
      i++;
    if (i == s->n)
      break;
    *out_dropped += s->recs[i].events;
    int rc = emitter__spool_ack(s, s->recs[i].id);
    if (rc != STREAM_OK)
      return rc;
  }
  if (s->max <= UINT64_MAX / 2 && s->size > 2 * s->max && s->n) { /* 2 * a huge max overflows */
    int rc = compact(s);
    if (rc != STREAM_OK)
      return rc;
  }
  uint64_t id = s->next_id++, off = 0;
  int rc = append_rec(s, 'B', id, data, len, &off);
  if (rc == STREAM_OK && fdatasync(s->fd) != 0)
    rc = stream__err(STREAM_EIO, "spool: sync failed: %s", strerror(errno));
  if (rc != STREAM_OK)
    return rc;
  emitter__spool_rec r = {id, off, (uint32_t)len, events, 0};
  return push_rec(s, r);
}

int emitter__spool_head(emitter__spool *s, uint8_t **out, size_t *out_len, uint64_t *out_id)
{
  *out = NULL;
  *out_len = 0;
  if (!s->n)
    return STREAM_ENOTFOUND;
  emitter__spool_rec *r = &s->recs[0];
  size_t plen = 8 + (size_t)r->len;
  uint8_t *rec = malloc(HDR + plen);
  if (!rec)
    return stream__err(STREAM_ENOMEM, "spool: out of memory");
  /* The whole record, CRC checked again: the disk may have changed it since the scan. */
  int rc = read_all(s->fd, rec, HDR + plen, r->off);
  if (rc == STREAM_EIO)
    rc = stream__err(STREAM_EIO, "spool: read failed: %s", strerror(errno));
  else if (rc != STREAM_OK)
    rc = stream__err(STREAM_EPROTO, "spooled batch %llu is cut short (the file shrank)",
                     (unsigned long long)r->id);
  else if (get32(rec) != SPOOL_MAGIC || rec[4] != 'B' || get32(rec + 8) != plen ||
           get64(rec + HDR) != r->id || rec_crc(rec, rec + HDR, plen) != get32(rec + 12))
    rc = stream__err(STREAM_EPROTO, "spooled batch %llu fails its CRC check on read-back",
                     (unsigned long long)r->id);
  if (rc != STREAM_OK) {
    free(rec);
    return rc;
  }
  memmove(rec, rec + HDR + 8, r->len);
  *out = rec;
  *out_len = r->len;
  *out_id = r->id;
  return STREAM_OK;
}

int emitter__spool_ack(emitter__spool *s, uint64_t id)
{
  drop_rec(s, id);
  if (s->n == 0) {
    /* Nothing pending: start over with an empty file. */
    if (ftruncate(s->fd, 0) != 0)
      return stream__err(STREAM_EIO, "spool: truncate failed: %s", strerror(errno));
    s->size = 0;
    return STREAM_OK;
  }
  return append_rec(s, 'A', id, NULL, 0, NULL);
}
