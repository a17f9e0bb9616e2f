/*
 * events/export: warehouse exports. Batches of the event log after a
 * consumer's checkpoint become NDJSON or CSV files whose columns are exactly
 * those of docs/api/events-bigquery-schema.json (and the QoE view records
 * those of docs/api/views-bigquery-schema.json), so `bq load` takes them as
 * they are.
 *
 * Resumability: a batch file is written under a temporary name, flushed,
 * fsync'd and renamed (then the directory is fsync'd) BEFORE the checkpoint
 * moves. A crash between the rename and the checkpoint leaves a complete
 * file for the range after the checkpoint; the next run finds it by its name
 * (events-<first seq>-<last seq>) and adopts it instead of writing the range
 * again. So a resumed export has no gaps and no duplicates. Exports into one
 * directory take turns (an flock on the directory, export_lock()); holding
 * it, an export first removes the temporary batch files of a crashed run
 * (remove_stale_tmp()).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "../core/core.h"
#include "../store/store_events.h"
#include "events_internal.h"
#include "qoe_internal.h"

#define EXPORT_BATCH_DEFAULT 10000

/* C_TEXT: a free-text string a player chose (sid, cid, error message), which
 * in CSV must not start a spreadsheet formula (see put_csv_text). */
enum cell_kind { C_STR, C_INT, C_BOOL, C_TS, C_FLOAT, C_DATE, C_TEXT };

/* One column of one row. `null` writes JSON null / an empty CSV field. */
typedef struct cell {
  const char *name;
  int kind;
  const char *s;
  int64_t i;
  double f;
  bool null;
} cell;

#define EVENT_CELLS 25
#define VIEW_CELLS 29

static cell str_cell(const char *name, const char *s, bool required)
{
  return (cell){name, C_STR, s, 0, 0, !required && !s[0]};
}

static cell text_cell(const char *name, const char *s)
{
  return (cell){name, C_TEXT, s, 0, 0, !s[0]};
}

static cell int_cell(const char *name, int64_t v)
{
  return (cell){name, C_INT, NULL, v, 0, false};
}

static cell kind_cell(const char *name, int kind, int64_t v, bool null)
{
  return (cell){name, kind, NULL, v, 0, null};
}

static size_t event_cells(cell *c, const stream_event *e)
{
  size_t n = 0;
  bool err = e->type == STREAM_EVENT_ERROR;
  const char *type = stream_event_type_name(e->type);
  c[n++] = int_cell("seq", e->seq);
  c[n++] = str_cell("event_id", e->id, true);
  c[n++] = str_cell("type", type ? type : "", true);
  c[n++] = str_cell("view_id", e->view_id, true);
  c[n++] = str_cell("session_id", e->session_id, false);
  c[n++] = str_cell("account_id", e->account_id, false);
  c[n++] = str_cell("profile_id", e->profile_id, false);
  c[n++] = str_cell("title_id", e->title_id, false);
  c[n++] = str_cell("episode_id", e->episode_id, false);
  c[n++] = str_cell("device_id", e->device_id, false);
  c[n++] = kind_cell("client_ts", C_TS, e->client_ts, false);
  c[n++] = kind_cell("server_ts", C_TS, e->server_ts, false);
  c[n++] = int_cell("playhead_ms", e->playhead_ms);
  c[n++] = int_cell("br", e->br);
  c[n++] = int_cell("width", e->width);
  c[n++] = int_cell("height", e->height);
  c[n++] = int_cell("bl", e->bl);
  c[n++] = int_cell("mtp", e->mtp);
  c[n++] = text_cell("sid", e->sid);
  c[n++] = text_cell("cid", e->cid);
  c[n++] = str_cell("ot", e->ot, false);
  c[n++] = kind_cell("su", C_BOOL, e->su, false);
  c[n++] = kind_cell("error_code", C_INT, e->error_code, !err);
  c[n++] = kind_cell("error_fatal", C_BOOL, e->error_fatal, !err);
  c[n++] = text_cell("error_message", e->error_message);
  return n;
}

static size_t view_cells(cell *c, const stream_events_view *v)
{
  size_t n = 0;
  c[n++] = str_cell("view_id", v->view_id, true);
  c[n++] = str_cell("session_id", v->session_id, false);
  c[n++] = str_cell("account_id", v->account_id, false);
  c[n++] = str_cell("profile_id", v->profile_id, false);
  c[n++] = str_cell("title_id", v->title_id, false);
  c[n++] = str_cell("episode_id", v->episode_id, false);
  c[n++] = str_cell("device_id", v->device_id, false);
  c[n++] = (cell){"day", C_DATE, v->day, 0, 0, false};
  c[n++] = kind_cell("start_ts", C_TS, v->start_ts, false);
  c[n++] = kind_cell("last_ts", C_TS, v->last_ts, false);
  c[n++] = int_cell("last_seq", v->last_seq);
  c[n++] = int_cell("events", v->events);
  c[n++] = kind_cell("requested", C_BOOL, v->requested, false);
  c[n++] = kind_cell("started", C_BOOL, v->started, false);
  c[n++] = kind_cell("failed", C_BOOL, v->failed, false);
  c[n++] = kind_cell("start_failed", C_BOOL, v->start_failed, false);
  c[n++] = kind_cell("ended", C_BOOL, v->ended, false);
  c[n++] = kind_cell("exited_before_start", C_BOOL, v->exited_before_start, false);
  c[n++] = kind_cell("error_code", C_INT, v->error_code, !v->failed);
  c[n++] = kind_cell("startup_ms", C_INT, v->startup_ms, v->startup_ms < 0);
  c[n++] = int_cell("watch_ms", v->watch_ms);
  c[n++] = int_cell("playing_ms", v->playing_ms);
  c[n++] = int_cell("rebuffer_count", v->rebuffer_count);
  c[n++] = int_cell("rebuffer_ms", v->rebuffer_ms);
  c[n++] = (cell){"rebuffer_pct", C_FLOAT, NULL, 0, v->rebuffer_pct, false};
  c[n++] = (cell){"rebuffer_per_min", C_FLOAT, NULL, 0, v->rebuffer_per_min, false};
  c[n++] = (cell){"avg_br", C_FLOAT, NULL, 0, v->avg_br, v->br_ms == 0};
  c[n++] = int_cell("peak_br", v->peak_br);
  c[n++] = int_cell("br_ms", v->br_ms);
  return n;
}

/* RFC 3339 UTC with milliseconds: BigQuery's TIMESTAMP accepts it in JSON and CSV. */
static void put_ts(FILE *f, int64_t ms)
{
  int64_t s = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  time_t secs = (time_t)s;
  struct tm tm;
  if (!gmtime_r(&secs, &tm))
    memset(&tm, 0, sizeof tm);
  fprintf(f, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
          tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms - s * 1000));
}

static void put_json_str(FILE *f, const char *s)
{
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

/* RFC 4180: quote a field holding a comma, a quote or a line break; double the quotes. */
static void put_csv_str(FILE *f, const char *s)
{
  if (!s[0] || !strpbrk(s, ",\"\r\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"')
      fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

/* CSV injection (CWE-1236, OWASP's rule): a spreadsheet opening the file runs
 * a cell starting with = + - @ (or a tab / CR) as a formula, so such free text
 * is written after a single quote, which shows it as text. Ids cannot carry a
 * formula (their alphabet has no parentheses), so only C_TEXT gets this, and
 * only in CSV: NDJSON keeps every value as it is. */
static void put_csv_text(FILE *f, const char *s)
{
  if (!s[0] || !strchr("=+-@\t\r", s[0])) { /* strchr finds the NUL too */
    put_csv_str(f, s);
    return;
  }
  bool quote = strpbrk(s, ",\"\r\n") != NULL;
  fputs(quote ? "\"'" : "'", f);
  for (; *s; s++) {
    if (quote && *s == '"')
      fputc('"', f);
    fputc(*s, f);
  }
  if (quote)
    fputc('"', f);
}

static void put_value(FILE *f, const cell *c, bool json)
{
  switch (c->kind) {
  case C_STR:
  case C_DATE:
  case C_TEXT:
    if (json)
      put_json_str(f, c->s);
    else if (c->kind == C_TEXT)
      put_csv_text(f, c->s);
    else
      put_csv_str(f, c->s);
    break;
  case C_INT:
    fprintf(f, "%" PRId64, c->i);
    break;
  case C_BOOL:
    fputs(c->i ? "true" : "false", f);
    break;
  case C_FLOAT:
    fprintf(f, "%.17g", c->f);
    break;
  case C_TS:
    if (json)
      fputc('"', f);
    put_ts(f, c->i);
    if (json)
      fputc('"', f);
    break;
  default:
    break;
  }
}

static void put_row(FILE *f, const cell *c, size_t n, int format)
{
  bool json = format == STREAM_EVENTS_EXPORT_NDJSON;
  if (json)
    fputc('{', f);
  for (size_t i = 0; i < n; i++) {
    if (i > 0)
      fputc(',', f);
    if (json)
      fprintf(f, "\"%s\":", c[i].name);
    if (c[i].null) {
      if (json)
        fputs("null", f);
    } else {
      put_value(f, &c[i], json);
    }
  }
  fputs(json ? "}\n" : "\r\n", f);
}

static void put_header(FILE *f, const cell *c, size_t n, int format)
{
  if (format != STREAM_EVENTS_EXPORT_CSV)
    return;
  for (size_t i = 0; i < n; i++)
    fprintf(f, "%s%s", i ? "," : "", c[i].name);
  fputs("\r\n", f);
}

/* ---- atomic files ----------------------------------------------------------- */

typedef struct afile {
  FILE *f;
  char tmp[4200];
  char path[4200];
} afile;

static int afile_open(afile *a, const char *path)
{
  a->f = NULL;
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash ? (size_t)(slash - path + 1) : 0;
  if (strlen(path) >= sizeof a->path - 16)
    return stream__err(STREAM_EINVAL, "export path is too long");
  snprintf(a->path, sizeof a->path, "%s", path);
  snprintf(a->tmp, sizeof a->tmp, "%.*s.%s.tmp", (int)dirlen, path, path + dirlen);
  int fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return stream__err(STREAM_EIO, "cannot create export file %s: %s", a->tmp, strerror(errno));
  a->f = fdopen(fd, "w");
  if (!a->f) {
    close(fd);
    unlink(a->tmp);
    return stream__err(STREAM_ENOMEM, "export: out of memory");
  }
  return STREAM_OK;
}

static int fsync_dir_of(const char *path)
{
  char dir[4200];
  const char *slash = strrchr(path, '/');
  if (slash)
    snprintf(dir, sizeof dir, "%.*s", (int)(slash - path + (slash == path)), path);
  else
    snprintf(dir, sizeof dir, ".");
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return stream__err(STREAM_EIO, "cannot open directory %s: %s", dir, strerror(errno));
  int r = fsync(fd);
  close(fd);
  return r == 0 ? STREAM_OK : stream__err(STREAM_EIO, "fsync of %s failed", dir);
}

/* Flush, fsync, close and rename into place, then fsync the directory. */
static int afile_commit(afile *a)
{
  FILE *f = a->f;
  a->f = NULL;
  bool ok = !ferror(f) && fflush(f) == 0 && fsync(fileno(f)) == 0;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(a->tmp, a->path) != 0) {
    int e = errno;
    unlink(a->tmp);
    return stream__err(STREAM_EIO, "cannot write export file %s: %s", a->path, strerror(e));
  }
  return fsync_dir_of(a->path);
}

/* Give up: close and remove the temporary file (the target is untouched). */
static void afile_abort(afile *a)
{
  if (a->f)
    fclose(a->f);
  a->f = NULL;
  unlink(a->tmp);
}

/* ---- event batches ------------------------------------------------------------ */

static const char *ext_of(int format)
{
  return format == STREAM_EVENTS_EXPORT_CSV ? "csv" : "ndjson";
}

/* A complete batch file for the range starting at first_seq, left by a run
 * that crashed before its checkpoint moved: *out_to its last seq, 0 if none. */
static int find_batch(int64_t *out_to, const char *dir, int64_t first_seq, int format)
{
  *out_to = 0;
  char prefix[64];
  snprintf(prefix, sizeof prefix, "events-%020" PRId64 "-", first_seq);
  size_t plen = strlen(prefix);
  const char *ext = ext_of(format);
  DIR *d = opendir(dir);
  if (!d)
    return stream__err(STREAM_EIO, "cannot open export directory %s: %s", dir, strerror(errno));
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    const char *name = de->d_name;
    if (strncmp(name, prefix, plen) != 0)
      continue;
    const char *rest = name + plen;
    char *end;
    long long to = strtoll(rest, &end, 10);
    if (end != rest + 20 || *end != '.' || strcmp(end + 1, ext) != 0 || to < first_seq)
      continue;
    *out_to = to;
    break;
  }
  closedir(d);
  return STREAM_OK;
}

static int write_batch(const char *dir, const stream_event *rows, size_t n, int format)
{
  char path[4200];
  int w = snprintf(path, sizeof path, "%s/events-%020" PRId64 "-%020" PRId64 ".%s", dir,
                   rows[0].seq, rows[n - 1].seq, ext_of(format));
  if (w < 0 || (size_t)w >= sizeof path - 16)
    return stream__err(STREAM_EINVAL, "export directory path is too long");
  afile a;
  int rc = afile_open(&a, path);
  if (rc != STREAM_OK)
    return rc;
  cell c[EVENT_CELLS];
  for (size_t i = 0; i < n; i++) {
    size_t nc = event_cells(c, &rows[i]);
    if (i == 0)
      put_header(a.f, c, nc, format);
    put_row(a.f, c, nc, format);
  }
  return afile_commit(&a);
}

/* Exports into one directory take turns: the checkpoint's compare-and-set
 * alone lets two runs that read the same range both rename a file into place
 * before one loses the commit, and the loser's file (for a longer or shorter
 * range than the winner's) then exports its events twice. An flock on the
 * directory itself (no lock file left among the batches) makes the second
 * run fail at once; exporters of different consumers into one directory
 * would share (adopt) each other's files anyway. *out_fd: the lock. */
static int export_lock(int *out_fd, const char *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return stream__err(STREAM_EIO, "cannot open export directory %s: %s", dir, strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(fd);
    if (e == EWOULDBLOCK)
      return stream__err(STREAM_ECONFLICT, "another export into %s is running", dir);
    return stream__err(STREAM_EIO, "cannot lock export directory %s: %s", dir, strerror(e));
  }
  *out_fd = fd;
  return STREAM_OK;
}

/* `name` is the temporary name of a batch file as afile_open() makes it:
 * .events-<20 digits>-<20 digits>.ndjson|csv.tmp, nothing else. */
static bool is_batch_tmp(const char *name)
{
  static const char pre[] = ".events-";
  if (strncmp(name, pre, sizeof pre - 1) != 0)
    return false;
  const char *p = name + sizeof pre - 1;
  for (int part = 0; part < 2; part++) {
    for (int i = 0; i < 20; i++, p++)
      if (*p < '0' || *p > '9')
        return false;
    if (*p++ != (part == 0 ? '-' : '.'))
      return false;
  }
  return strcmp(p, "ndjson.tmp") == 0 || strcmp(p, "csv.tmp") == 0;
}

/* Remove the temporary batch files a crashed run left (it died between
 * afile_open and the rename). Only under the directory's lock: then no other
 * export is writing one. Completed batch files and anything else are left
 * alone; a file that cannot be removed is left for the next run (the export
 * does not need it gone: a new temporary file is created with O_TRUNC). */
static int remove_stale_tmp(int dir_fd, const char *dir)
{
  DIR *d = opendir(dir);
  if (!d)
    return stream__err(STREAM_EIO, "cannot open export directory %s: %s", dir, strerror(errno));
  struct dirent *de;
  while ((de = readdir(d)) != NULL)
    if (is_batch_tmp(de->d_name))
      (void)unlinkat(dir_fd, de->d_name, 0);
  closedir(d);
  return STREAM_OK;
}

int stream_events_export(stream_events *ev, stream_events_export_result *out,
                         const stream_events_export_options *opts)
{
  if (out)
    memset(out, 0, sizeof *out);
  if (!ev || !opts)
    return stream__err(STREAM_EINVAL, "stream_events_export: NULL argument");
  if (opts->version != STREAM_EVENTS_EXPORT_OPTIONS_VERSION)
    return stream__err(STREAM_EINVAL, "stream_events_export: options version %u, expected %d",
                       opts->version, STREAM_EVENTS_EXPORT_OPTIONS_VERSION);
  if (!opts->dir || !opts->dir[0])
    return stream__err(STREAM_EINVAL, "export directory is missing");
  if (strlen(opts->dir) > 4000)
    return stream__err(STREAM_EINVAL, "export directory path is too long");
  if (opts->format != STREAM_EVENTS_EXPORT_NDJSON && opts->format != STREAM_EVENTS_EXPORT_CSV)
    return stream__err(STREAM_EINVAL, "unknown export format %d", opts->format);
  if (opts->batch_max > STREAM_EVENTS_READ_MAX)
    return stream__err(STREAM_EINVAL, "batch_max is at most %d", STREAM_EVENTS_READ_MAX);
  const char *consumer = opts->consumer ? opts->consumer : STREAM_EVENTS_EXPORT_CONSUMER;
  unsigned int batch = opts->batch_max ? opts->batch_max : EXPORT_BATCH_DEFAULT;
  int64_t from = 0;
  int lock_fd = -1;
  int rc = export_lock(&lock_fd, opts->dir);
  if (rc != STREAM_OK)
    return rc;
  rc = remove_stale_tmp(lock_fd, opts->dir);
  if (rc == STREAM_OK)
    rc = stream_events_checkpoint(ev, &from, consumer);
  if (rc != STREAM_OK) {
    close(lock_fd);
    return rc;
  }
  if (out)
    out->from_seq = out->to_seq = from;
  int64_t files = 0;
  while (opts->max_files == 0 || files < (int64_t)opts->max_files) {
    stream_event *rows = NULL;
    size_t n = 0;
    rc = stream_events_read(ev, &rows, &n, from, batch);
    if (rc != STREAM_OK || n == 0)
      break;
    int64_t to = 0;
    rc = find_batch(&to, opts->dir, rows[0].seq, opts->format);
    if (rc == STREAM_OK && to == 0) {
      rc = write_batch(opts->dir, rows, n, opts->format);
      to = rows[n - 1].seq;
      if (rc == STREAM_OK && out) {
        out->events += (int64_t)n;
        out->files++;
      }
    }
    free(rows);
    if (rc == STREAM_OK)
      rc = stream_events_commit(ev, consumer, from, to);
    if (rc != STREAM_OK)
      break;
    from = to;
    files++;
    if (out)
      out->to_seq = from;
  }
  close(lock_fd);
  return rc;
}

/* ---- view records ------------------------------------------------------------ */

/* Writes one view record per call of the store's scan. */
typedef struct view_writer {
  FILE *f;
  int format;
  int64_t now;
  int64_t n;
  cell c[VIEW_CELLS];
} view_writer;

static int view_row(void *ud, stream_events_view *v)
{
  view_writer *w = ud;
  events__qoe_finish(v, w->now);
  put_row(w->f, w->c, view_cells(w->c, v), w->format);
  w->n++;
  return STREAM_OK;
}

int stream_events_export_views(stream_events *ev, int64_t *out_count, const char *path, int format,
                               const char *day)
{
  if (out_count)
    *out_count = 0;
  if (!ev || !path)
    return stream__err(STREAM_EINVAL, "stream_events_export_views: NULL argument");
  if (!path[0] || strlen(path) > 4000)
    return stream__err(STREAM_EINVAL, "export path is empty or too long");
  if (format != STREAM_EVENTS_EXPORT_NDJSON && format != STREAM_EVENTS_EXPORT_CSV)
    return stream__err(STREAM_EINVAL, "unknown export format %d", format);
  int rc = events__check_day(day);
  if (rc != STREAM_OK)
    return rc;
  afile a;
  rc = afile_open(&a, path);
  if (rc != STREAM_OK)
    return rc;
  view_writer w;
  memset(&w, 0, sizeof w);
  w.f = a.f;
  w.format = format;
  w.now = events__qoe_now(ev);
  stream_events_view empty;
  memset(&empty, 0, sizeof empty);
  put_header(a.f, w.c, view_cells(w.c, &empty), format);
  rc =
      ev->store->backend->events->views_each(ev->store->impl, "", day ? day : "", "", view_row, &w);
  if (rc != STREAM_OK) {
    afile_abort(&a);
    return rc;
  }
  rc = afile_commit(&a);
  if (rc == STREAM_OK && out_count)
    *out_count = w.n;
  return rc;
}
