/*
 * recs/model_file: stream_recs_model_save() and _load().
 *
 * Format (little-endian): a 56-byte header — magic "STRECS01", u32 format
 * version, u32 flags (0), u64 body length, SHA-256 of the body — then the
 * body: model scalars, options, user and item ids (u32 length + bytes),
 * factors, the training history CSR, item neighbours and popularity.
 * save() streams the body through the digest into a temporary file of the
 * same directory and writes the header last, then fsync, rename and a
 * directory fsync. load() maps the file, checks the header and the digest,
 * then bounds every count by the bytes left before allocating anything, so
 * a damaged or truncated file is STREAM_EPROTO, never a crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/core.h"
#include "recs_internal.h"

#define RECS_MAGIC "STRECS01"
#define RECS_FORMAT 1
#define RECS_HEADER 56

/* ------------------------------------------------------------------------ */
/* Save                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct wr {
  int fd;
  int failed; /* errno of the first failure, or -1 for a digest failure */
  EVP_MD_CTX *md;
  uint64_t body;
  size_t len;
  unsigned char buf[1 << 16];
} wr;

static void wr_flush(wr *w)
{
  size_t off = 0;
  while (!w->failed && off < w->len) {
    ssize_t n = write(w->fd, w->buf + off, w->len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      w->failed = n < 0 ? errno : EIO;
    else
      off += (size_t)n;
  }
  w->len = 0;
}

static void wr_bytes(wr *w, const void *p, size_t n)
{
  const unsigned char *s = p;
  if (!w->failed && n && EVP_DigestUpdate(w->md, s, n) != 1)
    w->failed = -1;
  w->body += n;
  while (n && !w->failed) {
    size_t room = sizeof w->buf - w->len, c = n < room ? n : room;
    memcpy(w->buf + w->len, s, c);
    w->len += c;
    s += c;
    n -= c;
    if (w->len == sizeof w->buf)
      wr_flush(w);
  }
}

static void put_le(unsigned char *b, uint64_t v, int n)
{
  for (int i = 0; i < n; i++)
    b[i] = (unsigned char)(v >> (8 * i));
}

static void wr_u32(wr *w, uint32_t v)
{
  unsigned char b[4];
  put_le(b, v, 4);
  wr_bytes(w, b, 4);
}

static void wr_u64(wr *w, uint64_t v)
{
  unsigned char b[8];
  put_le(b, v, 8);
  wr_bytes(w, b, 8);
}

static void wr_f64(wr *w, double d)
{
  uint64_t v;
  memcpy(&v, &d, 8);
  wr_u64(w, v);
}

static void wr_f32s(wr *w, const float *f, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    uint32_t v;
    memcpy(&v, &f[i], 4);
    wr_u32(w, v);
  }
}

static void wr_strtab(wr *w, const recs__strtab *t)
{
  wr_u64(w, t->count);
  for (size_t i = 0; i < t->count; i++) {
    size_t n = strlen(t->names[i]);
    wr_u32(w, (uint32_t)n);
    wr_bytes(w, t->names[i], n);
  }
}

static void wr_body(wr *w, const stream_recs_model *m)
{
  const stream_recs_options *o = &m->opts;
  size_t nu = m->users.count, ni = m->items.count, k = m->factors;
  wr_u64(w, m->version);
  wr_u64(w, (uint64_t)m->trained_at_ms);
  wr_u64(w, (uint64_t)m->train_ms);
  wr_f64(w, m->loss);
  wr_u32(w, o->version);
  wr_u32(w, o->factors);
  wr_f64(w, o->regularization);
  wr_f64(w, o->alpha);
  wr_u32(w, o->iterations);
  wr_u32(w, o->cg_steps);
  wr_u32(w, o->threads);
  wr_u64(w, o->seed);
  wr_u32(w, o->neighbours);
  wr_f64(w, o->half_life_days);
  wr_u64(w, (uint64_t)o->now);
  wr_u64(w, o->model_version);
  wr_u64(w, m->pairs);
  wr_strtab(w, &m->users);
  wr_strtab(w, &m->items);
  wr_f32s(w, m->x, nu * k);
  wr_f32s(w, m->y, ni * k);
  size_t nnz = m->ui.ptr[nu];
  wr_u64(w, nnz);
  for (size_t u = 0; u <= nu; u++)
    wr_u64(w, m->ui.ptr[u]);
  for (size_t n = 0; n < nnz; n++)
    wr_u32(w, m->ui.idx[n]);
  wr_f32s(w, m->ui.val, nnz);
  size_t nb = m->nbr_idx ? ni * m->nbr_k : 0;
  wr_u32(w, nb ? m->nbr_k : 0);
  for (size_t n = 0; n < nb; n++)
    wr_u32(w, m->nbr_idx[n]);
  wr_f32s(w, m->nbr_sim, nb);
  for (size_t i = 0; i < ni; i++)
    wr_f64(w, m->pop ? m->pop[i] : 0);
}

/* fsync the directory holding `path`, so the rename is durable. */
static int sync_dir(const char *path)
{
  const char *slash = strrchr(path, '/');
  char *dir = slash ? stream__strndup(path, slash == path ? 1 : (size_t)(slash - path))
                    : stream__strdup(".");
  if (!dir)
    return STREAM_ENOMEM;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc = STREAM_OK;
  if (fd < 0 || fsync(fd) != 0)
    rc = stream__err(STREAM_EIO, "cannot sync directory %s: %s", dir, strerror(errno));
  if (fd >= 0)
    close(fd);
  free(dir);
  return rc;
}

int stream_recs_model_save(const stream_recs_model *m, const char *path)
{
  if (!m || !path || !*path)
    return stream__err(STREAM_EINVAL, "stream_recs_model_save: NULL argument");
  size_t plen = strlen(path);
  char *tmp = stream__calloc(plen + 16, 1);
  wr *w = stream__calloc(1, sizeof *w);
  if (!tmp || !w) {
    free(tmp);
    free(w);
    return STREAM_ENOMEM;
  }
  snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
  int rc = STREAM_OK;
  w->fd = mkstemp(tmp);
  if (w->fd < 0) {
    rc =
        stream__err(STREAM_EIO, "cannot create a temporary file for %s: %s", path, strerror(errno));
    goto out;
  }
  unsigned char head[RECS_HEADER] = {0};
  w->md = EVP_MD_CTX_new();
  if (!w->md || EVP_DigestInit_ex(w->md, EVP_sha256(), NULL) != 1) {
    rc = stream__err(STREAM_ENOMEM, "cannot start a SHA-256 digest");
    goto fail;
  }
  /* the header is written last, once the body's length and digest exist */
  if (lseek(w->fd, RECS_HEADER, SEEK_SET) != RECS_HEADER) {
    rc = stream__err(STREAM_EIO, "cannot write %s: %s", path, strerror(errno));
    goto fail;
  }
  wr_body(w, m);
  wr_flush(w);
  unsigned int dlen = 0;
  if (!w->failed && EVP_DigestFinal_ex(w->md, head + 24, &dlen) != 1)
    w->failed = -1;
  if (w->failed) {
    rc = w->failed < 0 ? stream__err(STREAM_ENOMEM, "SHA-256 digest failed")
                       : stream__err(STREAM_EIO, "cannot write %s: %s", path, strerror(w->failed));
    goto fail;
  }
  memcpy(head, RECS_MAGIC, 8);
  put_le(head + 8, RECS_FORMAT, 4);
  put_le(head + 16, w->body, 8);
  if (pwrite(w->fd, head, sizeof head, 0) != (ssize_t)sizeof head || fchmod(w->fd, 0644) != 0 ||
      fsync(w->fd) != 0) {
    rc = stream__err(STREAM_EIO, "cannot finish %s: %s", path, strerror(errno));
    goto fail;
  }
  int fd = w->fd;
  w->fd = -1;
  if (close(fd) != 0) {
    rc = stream__err(STREAM_EIO, "cannot close %s: %s", path, strerror(errno));
    goto fail;
  }
  if (rename(tmp, path) != 0) {
    rc = stream__err(STREAM_EIO, "cannot rename %s into place: %s", path, strerror(errno));
    goto fail;
  }
  rc = sync_dir(path);
  goto out;
fail:
  if (w->fd >= 0)
    close(w->fd);
  unlink(tmp);
out:
  EVP_MD_CTX_free(w->md);
  free(w);
  free(tmp);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Load                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct rd {
  const unsigned char *p;
  size_t left;
  int bad;
} rd;

static uint64_t get_le(const unsigned char *b, int n)
{
  uint64_t v = 0;
  for (int i = n; i-- > 0;)
    v = (v << 8) | b[i];
  return v;
}

static uint64_t rd_le(rd *r, int n)
{
  if (r->bad || r->left < (size_t)n) {
    r->bad = 1;
    return 0;
  }
  uint64_t v = get_le(r->p, n);
  r->p += n;
  r->left -= (size_t)n;
  return v;
}

static uint32_t rd_u32(rd *r)
{
  return (uint32_t)rd_le(r, 4);
}

static uint64_t rd_u64(rd *r)
{
  return rd_le(r, 8);
}

static double rd_f64(rd *r)
{
  uint64_t v = rd_u64(r);
  double d;
  memcpy(&d, &v, 8);
  return d;
}

/* `count` elements of `size` bytes fit in what is left. */
static int rd_fits(rd *r, uint64_t count, size_t size)
{
  if (r->bad || count > r->left / size)
    r->bad = 1;
  return !r->bad;
}

static float *rd_f32s(rd *r, uint64_t n)
{
  if (!rd_fits(r, n, 4))
    return NULL;
  float *f = stream__calloc(n ? n : 1, sizeof *f);
  if (!f)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    uint32_t v = rd_u32(r);
    memcpy(&f[i], &v, 4);
  }
  return f;
}

/* 0 ok, STREAM_EPROTO damaged, STREAM_ENOMEM. */
static int rd_strtab(rd *r, recs__strtab *t)
{
  uint64_t n = rd_u64(r);
  if (!rd_fits(r, n, 5) || n >= UINT32_MAX)
    return STREAM_EPROTO;
  char name[STREAM_RECS_ID_MAX + 1];
  for (uint64_t i = 0; i < n; i++) {
    uint32_t len = rd_u32(r);
    if (r->bad || len < 1 || len > STREAM_RECS_ID_MAX || len > r->left)
      return STREAM_EPROTO;
    memcpy(name, r->p, len);
    name[len] = 0;
    r->p += len;
    r->left -= len;
    if (strlen(name) != len)
      return STREAM_EPROTO;
    uint32_t idx;
    if (recs__strtab_intern(t, name, &idx) != STREAM_OK)
      return STREAM_ENOMEM;
    if (idx != i) /* a duplicate id */
      return STREAM_EPROTO;
  }
  return STREAM_OK;
}

static int rd_body(rd *r, stream_recs_model *m)
{
  stream_recs_options *o = &m->opts;
  m->version = rd_u64(r);
  m->trained_at_ms = (int64_t)rd_u64(r);
  m->train_ms = (int64_t)rd_u64(r);
  m->loss = rd_f64(r);
  o->version = rd_u32(r);
  o->factors = rd_u32(r);
  o->regularization = rd_f64(r);
  o->alpha = rd_f64(r);
  o->iterations = rd_u32(r);
  o->cg_steps = rd_u32(r);
  o->threads = rd_u32(r);
  o->seed = rd_u64(r);
  o->neighbours = rd_u32(r);
  o->half_life_days = rd_f64(r);
  o->now = (int64_t)rd_u64(r);
  o->model_version = rd_u64(r);
  m->pairs = rd_u64(r);
  if (r->bad || recs__check_options(o, STREAM_EPROTO) != STREAM_OK)
    return STREAM_EPROTO;
  m->factors = o->factors;
  int rc;
  if ((rc = rd_strtab(r, &m->users)) != STREAM_OK || (rc = rd_strtab(r, &m->items)) != STREAM_OK)
    return rc;
  size_t nu = m->users.count, ni = m->items.count, k = m->factors;
  if (!rd_fits(r, nu, 4 * k) || !(m->x = rd_f32s(r, nu * k)))
    return r->bad ? STREAM_EPROTO : STREAM_ENOMEM;
  if (!rd_fits(r, ni, 4 * k) || !(m->y = rd_f32s(r, ni * k)))
    return r->bad ? STREAM_EPROTO : STREAM_ENOMEM;
  uint64_t nnz = rd_u64(r);
  if (!rd_fits(r, nu + 1, 8) || nnz != m->pairs)
    return STREAM_EPROTO;
  m->ui.rows = nu;
  if (!(m->ui.ptr = stream__calloc(nu + 1, sizeof *m->ui.ptr)))
    return STREAM_ENOMEM;
  for (size_t u = 0; u <= nu; u++) {
    uint64_t p = rd_u64(r);
    if ((u == 0 && p != 0) || (u > 0 && p < m->ui.ptr[u - 1]) || p > nnz)
      return STREAM_EPROTO;
    m->ui.ptr[u] = (size_t)p;
  }
  if (m->ui.ptr[nu] != nnz || !rd_fits(r, nnz, 8))
    return STREAM_EPROTO;
  if (!(m->ui.idx = stream__calloc(nnz ? nnz : 1, sizeof *m->ui.idx)))
    return STREAM_ENOMEM;
  for (size_t u = 0; u < nu; u++)
    for (size_t n = m->ui.ptr[u]; n < m->ui.ptr[u + 1]; n++) {
      m->ui.idx[n] = rd_u32(r);
      if (m->ui.idx[n] >= ni || (n > m->ui.ptr[u] && m->ui.idx[n] <= m->ui.idx[n - 1]))
        return STREAM_EPROTO;
    }
  if (!(m->ui.val = rd_f32s(r, nnz)))
    return r->bad ? STREAM_EPROTO : STREAM_ENOMEM;
  for (size_t n = 0; n < nnz; n++)
    if (!(m->ui.val[n] >= 0 && m->ui.val[n] <= 1e12f))
      return STREAM_EPROTO;
  m->nbr_k = rd_u32(r);
  if (r->bad || m->nbr_k > 1000 || !rd_fits(r, ni, (size_t)8 * (m->nbr_k ? m->nbr_k : 1)))
    return STREAM_EPROTO;
  if (m->nbr_k) {
    size_t nb = ni * m->nbr_k;
    if (!(m->nbr_idx = stream__calloc(nb ? nb : 1, sizeof *m->nbr_idx)))
      return STREAM_ENOMEM;
    for (size_t n = 0; n < nb; n++) {
      m->nbr_idx[n] = rd_u32(r);
      if (m->nbr_idx[n] >= ni && m->nbr_idx[n] != UINT32_MAX)
        return STREAM_EPROTO;
    }
    if (!(m->nbr_sim = rd_f32s(r, nb)))
      return r->bad ? STREAM_EPROTO : STREAM_ENOMEM;
  }
  if (!rd_fits(r, ni, 8) || !(m->pop = stream__calloc(ni ? ni : 1, sizeof *m->pop)))
    return r->bad ? STREAM_EPROTO : STREAM_ENOMEM;
  for (size_t i = 0; i < ni; i++)
    m->pop[i] = rd_f64(r);
  if (r->bad || r->left != 0)
    return STREAM_EPROTO;
  return recs__als_gram(m);
}

int stream_recs_model_load(stream_recs_model **out, const char *path)
{
  if (!out || !path)
    return stream__err(STREAM_EINVAL, "stream_recs_model_load: NULL argument");
  *out = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return stream__err(errno == ENOENT ? STREAM_ENOTFOUND : STREAM_EIO, "cannot open %s: %s", path,
                       strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return stream__err(STREAM_EIO, "cannot stat %s: %s", path, strerror(e));
  }
  if (!S_ISREG(st.st_mode) || st.st_size < RECS_HEADER) {
    close(fd);
    return stream__err(STREAM_EPROTO, "%s is not a recs model file (too short)", path);
  }
  size_t size = (size_t)st.st_size;
  void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd);
  if (map == MAP_FAILED)
    return stream__err(STREAM_EIO, "cannot map %s: %s", path, strerror(e));
  const unsigned char *b = map;
  int rc = STREAM_OK;
  stream_recs_model *m = NULL;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  if (memcmp(b, RECS_MAGIC, 8) != 0) {
    rc = stream__err(STREAM_EPROTO, "%s is not a recs model file (bad magic)", path);
  } else if (get_le(b + 8, 4) > RECS_FORMAT) {
    rc = stream__err(STREAM_ENOTSUP, "%s has recs model format %u; this build reads up to %d", path,
                     (unsigned)get_le(b + 8, 4), RECS_FORMAT);
  } else if (get_le(b + 8, 4) < 1 || get_le(b + 12, 4) != 0 ||
             get_le(b + 16, 8) != size - RECS_HEADER) {
    rc = stream__err(STREAM_EPROTO, "%s: recs model header does not match the file (truncated?)",
                     path);
  } else if (EVP_Digest(b + RECS_HEADER, size - RECS_HEADER, digest, &dlen, EVP_sha256(), NULL) !=
             1) {
    rc = stream__err(STREAM_ENOMEM, "SHA-256 digest failed");
  } else if (dlen != 32 || memcmp(digest, b + 24, 32) != 0) {
    rc = stream__err(STREAM_EPROTO, "%s: recs model checksum mismatch", path);
  } else if (!(m = stream__calloc(1, sizeof *m))) {
    rc = STREAM_ENOMEM;
  } else {
    rd r = {b + RECS_HEADER, size - RECS_HEADER, 0};
    rc = rd_body(&r, m);
    if (rc == STREAM_EPROTO)
      stream__err(rc, "%s: recs model body is malformed", path);
  }
  munmap(map, size);
  if (rc != STREAM_OK) {
    stream_recs_model_free(m);
    return rc;
  }
  *out = m;
  return STREAM_OK;
}
