/*
 * bench/store: the PostgreSQL store against the SQLite store, same workload,
 * same run (docs/bench.md "Store: PostgreSQL vs SQLite"). A benchmark, not a
 * test: it prints, it does not judge (exit status 1 only when a store call
 * fails).
 *
 * Backends, each a fresh store seeded alike:
 *   sqlite-full    a file in a temporary directory, STREAM_STORE_SYNC_FULL (the
 *                  default: one fdatasync of the WAL per commit);
 *   sqlite-normal  the same with STREAM_STORE_SYNC_NORMAL (no sync per commit);
 *   postgres       a fresh database on the server STREAM_TEST_PG names,
 *                  STREAM_STORE_SYNC_FULL (synchronous_commit on). The test
 *                  server of tests/pg/pg_run.sh runs with fsync=off: the bench
 *                  prints the server's settings.
 *
 * Workloads (public API only), each for a fixed time, every worker thread of
 * every process started together:
 *   write  stream_store_progress_upsert(): one resume position, one commit
 *          (the player's heartbeat); each worker has its own profile and
 *          cycles over 50 movies. On PostgreSQL it takes no writers' lock
 *          (postgres/pg_internal.h, store__pg_wbegin_unlocked, since
 *          2026-12-06);
 *   wlock  stream_store_profile_update() of the worker's own profile: one
 *          single-row UPDATE, one commit, as small as the upsert but under the
 *          writers' lock on PostgreSQL (what every other write still pays);
 *   read   stream_store_title_get_detail() of a series (2 seasons of 6
 *          episodes, one snapshot) and stream_store_continue_watching() of the
 *          worker's profile (limit 20), alternately; one call is one op.
 * Shapes: 1 process x 1 thread, 1 process x 4 threads (one store handle shared
 * by the threads), 2 processes x 2 threads (fork: a store handle per process
 * on the same file / database, the scale-out question: the same total of 4
 * workers as 1 x 4). Every shape runs in forked children, so the parent never
 * holds a connection across fork().
 *
 * Prints ops/s per backend and shape, the ratios postgres / sqlite-full and
 * postgres / sqlite-normal, and per backend the scaling ratios 1x4 / 1x1 and
 * 2x2 / 1x4. To tell what bounds a figure it also prints the machine's CPU
 * busy during each shape (/proc/stat: all processes, the PostgreSQL server
 * included) and, for PostgreSQL writes, samples of the writers' advisory lock
 * in pg_locks every 10 ms (share of samples in which it was held, mean number
 * of writers waiting for it: near 0 for `write`, which does not take it, the
 * bound of `wlock`). No thresholds.
 *
 * Usage: bench_store [--seconds S] [--rounds N] [--quick] [--sqlite-memstatus-off]
 *   --seconds  time per shape and backend in a round (default 1; quick 0.3)
 *   --rounds   rounds over every shape and backend (default 5, at most 20; quick 1); the
 *              tables give the median of the rounds, and the spread max / min of ops/s
 *              (the machine's other load moves single rounds)
 *   --sqlite-memstatus-off
 *              stream_store_sqlite_memstatus_off() first, as streamd does: SQLite's memory
 *              statistics (on by default) take one process-wide mutex per allocation,
 *              which the SQLite store's reader threads contend on (docs/bench.md)
 *   --quick    quick mode (also when the environment variable CI is set and
 *              non-empty, as on the CI machine)
 * Needs STREAM_TEST_PG (bench/store/run.sh runs it under tests/pg/pg_run.sh).
 * SQLite files go to $TMPDIR (default /tmp): put it on the disk to measure.
 */
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "stream/stream.h"

#define WORKERS 4  /* workers of the widest shape: one profile each */
#define MOVIES 50  /* write targets */
#define SERIES 10  /* read targets */
#define SEASONS 2  /* per series */
#define EPISODES 6 /* per season */
#define WARMUP 20  /* ops per process before the clock starts */
#define NOW 1700000000
#define ROUNDS_MAX 20
#define SHAPES_MAX 9

typedef struct backend {
  const char *name;
  char path[1024];
  unsigned int sync;
  /* per round and shape: */
  double r_ops[ROUNDS_MAX][SHAPES_MAX];     /* ops/s */
  double r_cpu[ROUNDS_MAX][SHAPES_MAX];     /* the machine's CPU busy, % of all cores */
  double r_held[ROUNDS_MAX][SHAPES_MAX];    /* postgres writes: % of samples in which a
                                               writer held the writers' lock */
  double r_waiting[ROUNDS_MAX][SHAPES_MAX]; /* postgres writes: writers waiting for it, mean */
  /* per shape, the medians over the rounds, and max / min of ops/s */
  double ops[SHAPES_MAX], cpu[SHAPES_MAX], held[SHAPES_MAX], waiting[SHAPES_MAX],
      spread[SHAPES_MAX];
} backend;

typedef struct shape {
  const char *label;
  int write; /* 1 write (progress upsert), 2 wlock (profile update), 0 read */
  int procs;
  int threads;
} shape;

static const shape shapes[] = {
    {"write 1 proc x 1 thread ", 1, 1, 1},  {"write 1 proc x 4 threads", 1, 1, 4},
    {"write 2 procs x 2 threads", 1, 2, 2}, {"read  1 proc x 1 thread ", 0, 1, 1},
    {"read  1 proc x 4 threads", 0, 1, 4},  {"read  2 procs x 2 threads", 0, 2, 2},
    {"wlock 1 proc x 1 thread ", 2, 1, 1},  {"wlock 1 proc x 4 threads", 2, 1, 4},
    {"wlock 2 procs x 2 threads", 2, 2, 2},
};
#define SHAPES (sizeof shapes / sizeof shapes[0])
_Static_assert(SHAPES == SHAPES_MAX, "shapes[] and SHAPES_MAX disagree");

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
  fprintf(stderr, "bench_store: %s failed: %s (%s)\n", what, stream_error_last()->message,
          stream_strerror(rc));
  exit(1);
}

#define CHECK(what, call)                                                                          \
  do {                                                                                             \
    int rc_ = (call);                                                                              \
    if (rc_ != STREAM_OK)                                                                          \
      die(what, rc_);                                                                              \
  } while (0)

static stream_store *open_store(const backend *b)
{
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  o.path = b->path;
  o.readers = 4;
  o.busy_timeout_ms = 60000;
  o.sync = b->sync;
  stream_store *s = NULL;
  CHECK(b->path, stream_store_open(&s, &o));
  return s;
}

/* ---- seeding: WORKERS accounts with a profile each, MOVIES movies, SERIES series ---- */

static void seed(const backend *b)
{
  stream_store *s = open_store(b);
  static char *genres[] = {"Drama", "Thriller"};
  for (int w = 0; w < WORKERS; w++) {
    stream_store_account a;
    memset(&a, 0, sizeof a);
    snprintf(a.id, sizeof a.id, "acct%d", w);
    snprintf(a.email, sizeof a.email, "bench%d@example.com", w);
    CHECK("account create", stream_store_account_create(NULL, s, &a, NOW));
    stream_store_profile p;
    memset(&p, 0, sizeof p);
    snprintf(p.id, sizeof p.id, "prof%d", w);
    snprintf(p.account_id, sizeof p.account_id, "acct%d", w);
    snprintf(p.name, sizeof p.name, "Viewer %d", w);
    p.maturity_ceiling = 18;
    CHECK("profile create", stream_store_profile_create(NULL, s, &p, NOW));
  }
  char name[64];
  for (int m = 0; m < MOVIES + SERIES; m++) {
    stream_store_title t;
    memset(&t, 0, sizeof t);
    int series = m >= MOVIES;
    if (series)
      snprintf(t.id, sizeof t.id, "series%d", m - MOVIES);
    else
      snprintf(t.id, sizeof t.id, "movie%d", m);
    snprintf(name, sizeof name, "%s %d", series ? "Series" : "Movie", m);
    t.kind = series ? STREAM_STORE_TITLE_SERIES : STREAM_STORE_TITLE_MOVIE;
    t.name = name;
    t.synopsis = "A benchmark title with a synopsis of a realistic length, about one sentence or "
                 "two, as a catalog would hold for every title.";
    t.year = 2000 + m % 25;
    t.runtime = 95;
    t.maturity_rating = 12;
    t.genres = genres;
    t.genre_count = 2;
    t.credits_json = "{\"cast\":[\"A. Actor\",\"B. Actress\"],\"director\":\"C. Director\"}";
    t.artwork_json = "{\"poster\":\"https://img.example/poster.jpg\"}";
    CHECK("title create", stream_store_title_create(NULL, s, &t, NOW));
    if (!series)
      continue;
    for (int se = 1; se <= SEASONS; se++) {
      char season_id[STREAM_STORE_ID_SIZE];
      CHECK("season create", stream_store_season_create(season_id, s, t.id, se));
      for (int ep = 1; ep <= EPISODES; ep++) {
        stream_store_episode e;
        memset(&e, 0, sizeof e);
        snprintf(e.season_id, sizeof e.season_id, "%s", season_id);
        e.number = ep;
        snprintf(name, sizeof name, "Episode %d", ep);
        e.name = name;
        e.synopsis = "What happens in this episode, in a sentence.";
        e.runtime = 45;
        CHECK("episode create", stream_store_episode_create(NULL, s, &e));
      }
    }
  }
  stream_store_close(s);
}

/* ---- one process of a shape ---------------------------------------------- */

typedef struct worker {
  stream_store *s;
  int write;
  int index; /* 0..WORKERS-1: the profile */
  double deadline;
  pthread_barrier_t *start;
  uint64_t ops;
  double end;
} worker;

static void one_op(stream_store *s, int is_write, int index, uint64_t i)
{
  char profile[STREAM_STORE_ID_SIZE];
  snprintf(profile, sizeof profile, "prof%d", index);
  if (is_write == 1) {
    stream_store_progress p;
    memset(&p, 0, sizeof p);
    memcpy(p.profile_id, profile, sizeof profile);
    snprintf(p.title_id, sizeof p.title_id, "movie%d", (int)(i % MOVIES));
    p.position_ms = (int64_t)(i % 5000) * 1000;
    p.duration_ms = 5700000;
    CHECK("progress upsert", stream_store_progress_upsert(s, &p, NOW + (int64_t)(i / 100)));
  } else if (is_write == 2) {
    stream_store_profile p;
    memset(&p, 0, sizeof p);
    memcpy(p.id, profile, sizeof profile);
    snprintf(p.account_id, sizeof p.account_id, "acct%d", index);
    snprintf(p.name, sizeof p.name, "Viewer %d", index);
    p.maturity_ceiling = 12 + (int)(i % 7); /* a new value each time */
    CHECK("profile update", stream_store_profile_update(s, &p));
  } else if (i % 2 == 0) {
    char id[STREAM_STORE_ID_SIZE];
    snprintf(id, sizeof id, "series%d", (int)(i / 2 % SERIES));
    stream_store_title_detail d;
    CHECK("title get detail", stream_store_title_get_detail(&d, s, id));
    stream_store_title_detail_clear(&d);
  } else {
    stream_store_progress *rows = NULL;
    size_t n = 0;
    CHECK("continue watching", stream_store_continue_watching(&rows, &n, s, profile, 20));
    stream_free(rows);
  }
}

static void *worker_main(void *arg)
{
  worker *w = arg;
  pthread_barrier_wait(w->start);
  /* Each worker starts at another offset, so that the threads do not upsert the same row
   * in lockstep (rows are per profile anyway) nor read the same title. */
  uint64_t i = (uint64_t)w->index * 7;
  while (now_s() < w->deadline) {
    one_op(w->s, w->write, w->index, i++);
    w->ops++;
  }
  w->end = now_s();
  return NULL;
}

/* Child: open, warm up, report ready, wait for "go" (its start time), run, report
 * "ops seconds". */
static void child(const backend *b, const shape *sh, int proc, double seconds, int ready_fd,
                  int go_fd, int result_fd)
{
  stream_store *s = open_store(b);
  for (uint64_t i = 0; i < WARMUP; i++)
    one_op(s, sh->write, proc * sh->threads, i);
  if (write(ready_fd, "r", 1) != 1)
    exit(1);
  char go;
  if (read(go_fd, &go, 1) != 1)
    exit(1);
  double t0 = now_s();
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, (unsigned)sh->threads);
  worker ws[WORKERS];
  pthread_t th[WORKERS];
  for (int t = 0; t < sh->threads; t++) {
    ws[t] = (worker){s, sh->write, proc * sh->threads + t, t0 + seconds, &start, 0, 0};
    if (pthread_create(&th[t], NULL, worker_main, &ws[t]) != 0) {
      fprintf(stderr, "bench_store: pthread_create failed\n");
      exit(1);
    }
  }
  uint64_t ops = 0;
  double end = t0;
  for (int t = 0; t < sh->threads; t++) {
    pthread_join(th[t], NULL);
    ops += ws[t].ops;
    if (ws[t].end > end)
      end = ws[t].end;
  }
  pthread_barrier_destroy(&start);
  stream_store_close(s);
  char line[128];
  int n = snprintf(line, sizeof line, "%" PRIu64 " %.6f\n", ops, end - t0);
  if (write(result_fd, line, (size_t)n) != n)
    exit(1);
  exit(0);
}

/* The machine's busy and total CPU time (all cores, clock ticks) from /proc/stat: 0 when
 * unreadable (not Linux). Includes whatever else runs on the machine. */
static void cpu_ticks(unsigned long long *busy, unsigned long long *total)
{
  unsigned long long v[8] = {0};
  *busy = *total = 0;
  FILE *f = fopen("/proc/stat", "r");
  if (!f)
    return;
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                 &v[4], &v[5], &v[6], &v[7]);
  fclose(f);
  if (n < 5)
    return;
  for (int i = 0; i < 8; i++)
    *total += v[i];
  *busy = *total - v[3] - v[4]; /* minus idle and iowait */
}

/* Samples of the writers' lock of the store (libstream/store/postgres/pg_store.c:
 * pg_advisory_xact_lock(1398035021, 1)) in the bench's database. */
static const char lock_sql[] =
    "SELECT count(*) FILTER (WHERE granted), count(*) FILTER (WHERE NOT granted) FROM pg_locks "
    "WHERE locktype = 'advisory' AND classid = 1398035021 AND objid = 1 AND objsubid = 2 AND "
    "database = (SELECT oid FROM pg_database WHERE datname = current_database())";

/* Run shape i on one backend in round r: total ops/s of its processes into b->r_ops[r][i],
 * the machine's CPU into b->r_cpu[r][i]; with `sampler` (a connection to the bench's
 * PostgreSQL database), samples of the writers' lock every 10 ms while the workers run
 * into b->r_held[r][i] and b->r_waiting[r][i]. */
static void run_shape(backend *b, size_t r, size_t i, double seconds, PGconn *sampler)
{
  const shape *sh = &shapes[i];
  int ready[2], go[2], result[2];
  if (pipe(ready) || pipe(go) || pipe(result)) {
    perror("bench_store: pipe");
    exit(1);
  }
  fflush(NULL);
  pid_t pids[2];
  for (int p = 0; p < sh->procs; p++) {
    pids[p] = fork();
    if (pids[p] < 0) {
      perror("bench_store: fork");
      exit(1);
    }
    if (pids[p] == 0) {
      close(ready[0]);
      close(go[1]);
      close(result[0]);
      child(b, sh, p, seconds, ready[1], go[0], result[1]);
    }
  }
  close(ready[1]);
  close(go[0]);
  close(result[1]);
  /* A worker that dies before it is ready (its store did not open) must not leave the
   * parent waiting for it and the others waiting for "go": look for the dead between
   * polls; exit() closes "go", which ends the others. */
  for (int ready_count = 0; ready_count < sh->procs;) {
    struct pollfd pf = {ready[0], POLLIN, 0};
    char c;
    if (poll(&pf, 1, 200) > 0 && read(ready[0], &c, 1) == 1) {
      ready_count++;
      continue;
    }
    for (int p = 0; p < sh->procs; p++) {
      int st;
      if (waitpid(pids[p], &st, WNOHANG) == pids[p]) {
        fprintf(stderr, "bench_store: a worker process failed to start (%s)\n", b->name);
        exit(1);
      }
    }
  }
  unsigned long long busy0, total0, busy1, total1;
  cpu_ticks(&busy0, &total0);
  double deadline = now_s() + seconds;
  if (write(go[1], "gg", (size_t)sh->procs) != sh->procs) {
    perror("bench_store: write");
    exit(1);
  }
  unsigned long samples = 0, held = 0, waiting = 0;
  while (sampler && now_s() < deadline) {
    PGresult *res = PQexec(sampler, lock_sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
      fprintf(stderr, "bench_store: sampling pg_locks: %s", PQerrorMessage(sampler));
      exit(1);
    }
    samples++;
    held += strtoul(PQgetvalue(res, 0, 0), NULL, 10) > 0;
    waiting += strtoul(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    usleep(10000);
  }
  /* Each child writes one short line (< PIPE_BUF: never interleaved). */
  char buf[512];
  size_t have = 0;
  ssize_t n;
  while (have < sizeof buf - 1 && (n = read(result[0], buf + have, sizeof buf - 1 - have)) > 0)
    have += (size_t)n;
  buf[have] = '\0';
  cpu_ticks(&busy1, &total1);
  int failed = 0;
  for (int p = 0; p < sh->procs; p++) {
    int st;
    if (waitpid(pids[p], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
      failed = 1;
  }
  close(ready[0]);
  close(go[1]);
  close(result[0]);
  if (failed) {
    fprintf(stderr, "bench_store: a worker process failed (%s, %s)\n", b->name, sh->label);
    exit(1);
  }
  double total = 0;
  char *line = buf;
  for (int p = 0; p < sh->procs; p++) {
    unsigned long long ops;
    double secs;
    if (sscanf(line, "%llu %lf", &ops, &secs) != 2 || secs <= 0) {
      fprintf(stderr, "bench_store: bad result from a worker: %s\n", buf);
      exit(1);
    }
    total += (double)ops / secs;
    line = strchr(line, '\n');
    if (!line)
      break;
    line++;
  }
  b->r_ops[r][i] = total;
  b->r_cpu[r][i] =
      total1 > total0 ? 100.0 * (double)(busy1 - busy0) / (double)(total1 - total0) : 0;
  b->r_held[r][i] = samples ? 100.0 * (double)held / (double)samples : 0;
  b->r_waiting[r][i] = samples ? (double)waiting / (double)samples : 0;
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median of v[0..n) (copied: v keeps its order). */
static double median(double v[ROUNDS_MAX][SHAPES_MAX], size_t n, size_t i)
{
  double c[ROUNDS_MAX];
  for (size_t r = 0; r < n; r++)
    c[r] = v[r][i];
  qsort(c, n, sizeof c[0], cmp_double);
  return n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
}

/* ---- PostgreSQL: a fresh database and the server's settings --------------- */

static PGconn *pg_connect(const char *uri)
{
  PGconn *c = PQconnectdb(uri);
  if (PQstatus(c) != CONNECTION_OK) {
    fprintf(stderr, "bench_store: connect to %s: %s", uri, PQerrorMessage(c));
    exit(1);
  }
  return c;
}

static void pg_exec(PGconn *c, const char *sql)
{
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    fprintf(stderr, "bench_store: %s: %s", sql, PQerrorMessage(c));
    exit(1);
  }
  PQclear(r);
}

static void pg_show(char *out, size_t cap, PGconn *c, const char *setting)
{
  char sql[64];
  snprintf(sql, sizeof sql, "SHOW %s", setting);
  PGresult *r = PQexec(c, sql);
  snprintf(out, cap, "%s", PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "?");
  PQclear(r);
}

/* ---- cleanup: the temporary directory and the database, also when a call fails ---- */

static pid_t parent_pid;
static char tmp_dir[512];
static backend backends[3];
static PGconn *admin;
static char dbname[64];

static void cleanup(void)
{
  if (getpid() != parent_pid)
    return; /* a worker process exiting */
  for (size_t k = 0; k < 2; k++) {
    static const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
      char f[1100];
      snprintf(f, sizeof f, "%s%s", backends[k].path, suffix[i]);
      unlink(f);
    }
  }
  if (tmp_dir[0])
    rmdir(tmp_dir);
  if (admin && dbname[0]) {
    char sql[128];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", dbname);
    PQclear(PQexec(admin, sql));
  }
  PQfinish(admin);
  admin = NULL;
}

/* ---- main ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
  const char *ci = getenv("CI");
  int quick = ci && *ci;
  double seconds = 0;
  size_t rounds = 0;
  int memstatus_off = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0)
      quick = 1;
    else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
      seconds = atof(argv[++i]);
    else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
      rounds = (size_t)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--sqlite-memstatus-off") == 0)
      memstatus_off = 1;
    else {
      fprintf(stderr, "usage: bench_store [--seconds S] [--rounds N] [--quick] "
                      "[--sqlite-memstatus-off]\n");
      return 2;
    }
  }
  if (seconds <= 0)
    seconds = quick ? 0.3 : 1.0;
  if (rounds == 0)
    rounds = quick ? 1 : 5;
  if (rounds > ROUNDS_MAX)
    rounds = ROUNDS_MAX;
  /* Before anything initializes SQLite in this process (the children inherit it). */
  if (memstatus_off && stream_store_sqlite_memstatus_off() != STREAM_OK) {
    fprintf(stderr, "bench_store: %s\n", stream_error_last()->message);
    return 1;
  }
  const char *base = getenv("STREAM_TEST_PG"); /* postgresql:///DB?QUERY */
  if (!base || !*base) {
    printf("bench-store: skipped: STREAM_TEST_PG is not set (run bench/store/run.sh)\n");
    return 0;
  }
  const char *query = strchr(base, '?');
  if (strncmp(base, "postgresql:///", 14) != 0 || !query) {
    fprintf(stderr, "bench_store: unexpected STREAM_TEST_PG %s\n", base);
    return 1;
  }

  const char *tmpdir = getenv("TMPDIR");
  snprintf(tmp_dir, sizeof tmp_dir, "%s/bench-store.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
  if (!mkdtemp(tmp_dir)) {
    perror("bench_store: mkdtemp");
    return 1;
  }
  parent_pid = getpid();
  atexit(cleanup);
  admin = pg_connect(base);
  char sql[256];
  snprintf(sql, sizeof sql, "CREATE DATABASE bench_store_%ld", (long)getpid());
  pg_exec(admin, sql);
  snprintf(dbname, sizeof dbname, "bench_store_%ld", (long)getpid());
  char pg_version[64], fsync_on[16], fpw[16];
  pg_show(pg_version, sizeof pg_version, admin, "server_version");
  pg_show(fsync_on, sizeof fsync_on, admin, "fsync");
  pg_show(fpw, sizeof fpw, admin, "full_page_writes");

  backends[0].name = "sqlite-full";
  snprintf(backends[0].path, sizeof backends[0].path, "%s/full.db", tmp_dir);
  backends[0].sync = STREAM_STORE_SYNC_FULL;
  backends[1].name = "sqlite-normal";
  snprintf(backends[1].path, sizeof backends[1].path, "%s/normal.db", tmp_dir);
  backends[1].sync = STREAM_STORE_SYNC_NORMAL;
  backends[2].name = "postgres";
  snprintf(backends[2].path, sizeof backends[2].path, "postgresql:///%s%s", dbname, query);
  backends[2].sync = STREAM_STORE_SYNC_FULL;

  struct utsname u;
  uname(&u);
  printf("bench-store: %ld cores (shared with whatever else runs), %s %s, libstream %s, "
         "sqlite %s, PostgreSQL server %s (fsync %s, full_page_writes %s; the store sets "
         "synchronous_commit on for sync full), libpq %d\n",
         sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release, stream_version(),
         sqlite3_libversion(), pg_version, fsync_on, fpw, PQlibVersion());
  printf("bench-store: %zu round%s of %.1f s per shape and backend%s%s; write = progress upsert "
         "(one commit; PostgreSQL: without the writers' lock), wlock = profile update (one "
         "commit; PostgreSQL: under the writers' lock), read = title detail (%d seasons x %d "
         "episodes) or continue watching, alternately; SQLite files in %s\n",
         rounds, rounds > 1 ? "s" : "", seconds, quick ? " (quick mode)" : "",
         rounds > 1 ? ", tables give the medians" : "", SEASONS, EPISODES, tmp_dir);
  if (memstatus_off)
    printf("bench-store: SQLite's memory statistics off (SQLITE_CONFIG_MEMSTATUS 0: no global "
           "mutex per allocation)\n");
  if (strcmp(fsync_on, "off") == 0)
    printf("bench-store: NOTE the PostgreSQL server runs with fsync=off: its commits never wait "
           "for the disk, unlike sqlite-full; compare it with sqlite-normal too\n");

  for (size_t k = 0; k < 3; k++)
    seed(&backends[k]);
  /* Shape by shape, the backends one after the other: load from elsewhere on the machine
   * hits the three alike. */
  PGconn *sampler = pg_connect(backends[2].path);
  for (size_t r = 0; r < rounds; r++)
    for (size_t sh = 0; sh < SHAPES; sh++)
      for (size_t k = 0; k < 3; k++)
        run_shape(&backends[k], r, sh, seconds, k == 2 && shapes[sh].write ? sampler : NULL);
  PQfinish(sampler);
  for (size_t k = 0; k < 3; k++) {
    backend *b = &backends[k];
    for (size_t sh = 0; sh < SHAPES; sh++) {
      b->ops[sh] = median(b->r_ops, rounds, sh);
      b->cpu[sh] = median(b->r_cpu, rounds, sh);
      b->held[sh] = median(b->r_held, rounds, sh);
      b->waiting[sh] = median(b->r_waiting, rounds, sh);
      double lo = b->r_ops[0][sh], hi = lo;
      for (size_t r = 1; r < rounds; r++) {
        lo = b->r_ops[r][sh] < lo ? b->r_ops[r][sh] : lo;
        hi = b->r_ops[r][sh] > hi ? b->r_ops[r][sh] : hi;
      }
      b->spread[sh] = lo > 0 ? hi / lo : 0;
    }
  }

  printf("\n%-26s %13s %13s %13s %9s %9s\n", "ops/s", "sqlite-full", "sqlite-normal", "postgres",
         "pg/full", "pg/normal");
  for (size_t sh = 0; sh < SHAPES; sh++)
    printf("%-26s %13.0f %13.0f %13.0f %9.2f %9.2f\n", shapes[sh].label, backends[0].ops[sh],
           backends[1].ops[sh], backends[2].ops[sh], backends[2].ops[sh] / backends[0].ops[sh],
           backends[2].ops[sh] / backends[1].ops[sh]);
  printf("\n%-26s %13s %13s %13s %9s %9s\n", "machine CPU busy %", "sqlite-full", "sqlite-normal",
         "postgres", "pg lock", "pg wait");
  for (size_t sh = 0; sh < SHAPES; sh++) {
    printf("%-26s %13.0f %13.0f %13.0f", shapes[sh].label, backends[0].cpu[sh], backends[1].cpu[sh],
           backends[2].cpu[sh]);
    if (shapes[sh].write)
      printf(" %8.0f%% %9.2f", backends[2].held[sh], backends[2].waiting[sh]);
    printf("\n");
  }
  printf("(CPU: all cores, every process of the machine, PostgreSQL's server included; pg lock: "
         "share of 10 ms samples of pg_locks in which a writer held the writers' lock, which the "
         "progress upsert (write) does not take and the profile update (wlock) does; pg wait: "
         "writers waiting for it, mean)\n");
  if (rounds > 1) {
    printf("\n%-26s %13s %13s %13s\n", "ops/s max / min of rounds", "sqlite-full", "sqlite-normal",
           "postgres");
    for (size_t sh = 0; sh < SHAPES; sh++)
      printf("%-26s %13.2f %13.2f %13.2f\n", shapes[sh].label, backends[0].spread[sh],
             backends[1].spread[sh], backends[2].spread[sh]);
  }
  printf("\n");
  static const char *keys[] = {"write_1x1", "write_1x4", "write_2x2", "read_1x1", "read_1x4",
                               "read_2x2",  "wlock_1x1", "wlock_1x4", "wlock_2x2"};
  for (size_t sh = 0; sh < SHAPES; sh++) {
    printf("BENCH store %s postgres/sqlite-full ratio %.2f\n", keys[sh],
           backends[2].ops[sh] / backends[0].ops[sh]);
    printf("BENCH store %s postgres/sqlite-normal ratio %.2f\n", keys[sh],
           backends[2].ops[sh] / backends[1].ops[sh]);
  }
  /* The writers' lock's cost in this run: the same size of write without it and with it. */
  for (size_t sh = 0; sh < 3; sh++)
    printf("BENCH store %s postgres write/wlock (no writers' lock / writers' lock) ratio %.2f\n",
           keys[sh], backends[2].ops[sh] / backends[2].ops[sh + 6]);
  for (size_t k = 0; k < 3; k++) {
    const double *o = backends[k].ops;
    printf("BENCH store %s scaling: write 1x4/1x1 ratio %.2f, write 2x2/1x4 ratio %.2f, "
           "read 1x4/1x1 ratio %.2f, read 2x2/1x4 ratio %.2f, wlock 1x4/1x1 ratio %.2f, "
           "wlock 2x2/1x4 ratio %.2f\n",
           backends[k].name, o[1] / o[0], o[2] / o[1], o[4] / o[3], o[5] / o[4], o[7] / o[6],
           o[8] / o[7]);
  }
  return 0;
}
