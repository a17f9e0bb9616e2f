/*
 * main() for the fuzz targets when they are not linked with libFuzzer (the
 * normal and ASan builds, where they run as the meson "fuzz" suite). It
 * (1) runs every file of the seed corpus directories and files named on the
 * command line through LLVMFuzzerTestOneInput, then (2) runs a deterministic
 * mutation loop over those seeds: a fixed-seed xorshift PRNG picks bit flips,
 * byte inserts, deletes and overwrites, "interesting" values, duplicated
 * blocks and splices of two corpus entries. The same binary and arguments
 * always run the same inputs, so a failure in CI reproduces with the same
 * command line; a crash or broken invariant saves the input in
 * `fuzz-crash-<target>` in the current directory (from a signal handler, so
 * sanitizers must abort: abort_on_error=1, as the meson test sets).
 *
 *   fuzz_<name> [-n ITERATIONS] [-s SEED] [-m MAXLEN] PATH...
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
  uint8_t *data;
  size_t len;
} entry;

static entry *corpus;
static size_t corpus_n, corpus_cap;
static uint64_t rng_state;
static char crash_path[512];

static uint64_t rnd(void)
{
  uint64_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  rng_state = x;
  return x;
}

static size_t below(size_t n)
{
  return n ? (size_t)(rnd() % n) : 0;
}

static int add_entry(const uint8_t *data, size_t len)
{
  if (corpus_n == corpus_cap) {
    size_t cap = corpus_cap ? corpus_cap * 2 : 64;
    entry *c = realloc(corpus, cap * sizeof *c);
    if (!c)
      return -1;
    corpus = c;
    corpus_cap = cap;
  }
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy)
    return -1;
  if (len)
    memcpy(copy, data, len);
  corpus[corpus_n].data = copy;
  corpus[corpus_n].len = len;
  corpus_n++;
  return 0;
}

/* The input being run, for the crash handler. */
static const uint8_t *volatile cur_data;
static volatile size_t cur_len;

/* On abort (a broken invariant, ASan/UBSan with abort_on_error) or a fatal
 * signal: save the input, say where, and die with the same signal. Only
 * async-signal-safe calls. */
static void on_fatal(int sig)
{
  int fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    size_t off = 0;
    while (off < cur_len) {
      ssize_t w = write(fd, (const uint8_t *)cur_data + off, cur_len - off);
      if (w <= 0)
        break;
      off += (size_t)w;
    }
    close(fd);
  }
  static const char msg[] = "fuzz: failing input saved in ";
  if (write(2, msg, sizeof msg - 1) < 0 || write(2, crash_path, strlen(crash_path)) < 0 ||
      write(2, "\n", 1) < 0) {
    /* nothing more to do */
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

static void install_handlers(void)
{
  static const int sigs[] = {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
    signal(sigs[i], on_fatal);
}

static void run_one(const uint8_t *data, size_t len)
{
  /* A private copy so that reads past `len` are caught by ASan. */
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy) {
    fprintf(stderr, "fuzz: out of memory\n");
    exit(2);
  }
  if (len)
    memcpy(copy, data, len);
  cur_data = data;
  cur_len = len;
  LLVMFuzzerTestOneInput(copy, len);
  free(copy);
}

static int load_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "fuzz: cannot open %s\n", path);
    return -1;
  }
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 4096;
      uint8_t *b = realloc(buf, cap);
      if (!b) {
        free(buf);
        fclose(f);
        return -1;
      }
      buf = b;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    if (n == 0)
      break;
    len += n;
  }
  fclose(f);
  run_one(buf, len);
  int rc = add_entry(buf, len);
  free(buf);
  return rc;
}

static int cmp_str(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of `dir`, in name order (readdir order is not stable). */
static int load_dir(const char *dir)
{
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "fuzz: cannot open directory %s\n", dir);
    return -1;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *de;
  int rc = 0;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      char **nn = realloc(names, cap * sizeof *nn);
      if (!nn) {
        rc = -1;
        break;
      }
      names = nn;
    }
    names[n] = strdup(de->d_name);
    if (!names[n]) {
      rc = -1;
      break;
    }
    n++;
  }
  closedir(d);
  if (n)
    qsort(names, n, sizeof *names, cmp_str);
  for (size_t i = 0; i < n; i++) {
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
      rc = load_file(path);
    free(names[i]);
  }
  free(names);
  return rc;
}

static const int64_t interesting[] = {
    0, 1, -1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fffffff, INT64_MIN, INT64_MAX};
static const char *const tokens[] = {"=",
                                     "&",
                                     "?",
                                     "/",
                                     "%",
                                     "%00",
                                     "~",
                                     ",",
                                     ":",
                                     ".",
                                     "..",
                                     "-",
                                     "\"",
                                     "\\",
                                     "{",
                                     "}",
                                     "[",
                                     "]",
                                     "\n",
                                     "\r\n",
                                     " ",
                                     "\t",
                                     "0",
                                     "9999999999999999999",
                                     "-1",
                                     "1e308",
                                     "null",
                                     "true",
                                     "\xc3\xa9",
                                     "\xed\xa0\x80",
                                     "\xff",
                                     "-->",
                                     "<b>",
                                     "{\\i1}",
                                     "\\N",
                                     "Expires=",
                                     "Signature=",
                                     "KeyName=",
                                     "URLPrefix=",
                                     "KeyId=",
                                     "IP=",
                                     "NotBefore=",
                                     "stream-token="};

/* Apply one random mutation to buf[0..*len) (capacity `max`). */
static void mutate_once(uint8_t *buf, size_t *len, size_t max)
{
  size_t n = *len;
  switch (below(9)) {
  case 0: /* flip a bit */
    if (n)
      buf[below(n)] ^= (uint8_t)(1u << below(8));
    break;
  case 1: /* overwrite a byte */
    if (n)
      buf[below(n)] = (uint8_t)rnd();
    break;
  case 2: /* insert a byte */
    if (n < max) {
      size_t at = below(n + 1);
      memmove(buf + at + 1, buf + at, n - at);
      buf[at] = (uint8_t)rnd();
      *len = n + 1;
    }
    break;
  case 3: /* delete a run */
    if (n) {
      size_t at = below(n), k = 1 + below(n - at < 16 ? n - at : 16);
      memmove(buf + at, buf + at + k, n - at - k);
      *len = n - k;
    }
    break;
  case 4: { /* an interesting value, little or big endian, 1..8 bytes */
    size_t w = (size_t)1 << below(4);
    if (n >= w) {
      uint64_t v = (uint64_t)interesting[below(sizeof interesting / sizeof *interesting)];
      size_t at = below(n - w + 1);
      int be = (int)below(2);
      for (size_t i = 0; i < w; i++)
        buf[at + i] = (uint8_t)(v >> (8 * (be ? w - 1 - i : i)));
    }
    break;
  }
  case 5: { /* insert a token that matters to our parsers */
    const char *t = tokens[below(sizeof tokens / sizeof *tokens)];
    size_t k = strlen(t);
    if (n + k <= max) {
      size_t at = below(n + 1);
      memmove(buf + at + k, buf + at, n - at);
      memcpy(buf + at, t, k);
      *len = n + k;
    }
    break;
  }
  case 6: { /* duplicate a block */
    if (n) {
      size_t at = below(n), k = 1 + below(n - at);
      if (n + k <= max) {
        size_t to = below(n + 1);
        uint8_t tmp[256];
        if (k > sizeof tmp)
          k = sizeof tmp;
        memcpy(tmp, buf + at, k);
        memmove(buf + to + k, buf + to, n - to);
        memcpy(buf + to, tmp, k);
        *len = n + k;
      }
    }
    break;
  }
  case 7: { /* splice: our head + the tail of another corpus entry */
    const entry *o = &corpus[below(corpus_n)];
    size_t cut = below(n + 1), from = below(o->len + 1), k = o->len - from;
    if (cut + k > max)
      k = max - cut;
    memcpy(buf + cut, o->data + from, k);
    *len = cut + k;
    break;
  }
  default: /* truncate */
    if (n)
      *len = below(n);
    break;
  }
}

int main(int argc, char **argv)
{
  unsigned long iterations = 10000;
  unsigned long long seed = 0x5eed1234abcdULL;
  size_t max = 16384;
  const char *name = strrchr(argv[0], '/');
  name = name ? name + 1 : argv[0];
  snprintf(crash_path, sizeof crash_path, "fuzz-crash-%s", name);
  install_handlers();

  int i = 1;
  for (; i < argc && argv[i][0] == '-'; i += 2) {
    if (i + 1 >= argc) {
      fprintf(stderr, "usage: %s [-n ITERATIONS] [-s SEED] [-m MAXLEN] PATH...\n", argv[0]);
      return 2;
    }
    if (strcmp(argv[i], "-n") == 0)
      iterations = strtoul(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "-s") == 0)
      seed = strtoull(argv[i + 1], NULL, 0);
    else if (strcmp(argv[i], "-m") == 0)
      max = strtoul(argv[i + 1], NULL, 10);
    else {
      fprintf(stderr, "fuzz: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  for (; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "fuzz: no such file or directory: %s\n", argv[i]);
      return 2;
    }
    if ((S_ISDIR(st.st_mode) ? load_dir(argv[i]) : load_file(argv[i])) != 0)
      return 2;
  }
  size_t seeds = corpus_n;
  if (corpus_n == 0 && add_entry((const uint8_t *)"", 0) != 0)
    return 2;
  for (size_t k = 0; k < corpus_n; k++)
    if (corpus[k].len > max)
      max = corpus[k].len;

  rng_state = seed ? seed : 1;
  uint8_t *buf = malloc(max);
  if (!buf)
    return 2;
  for (unsigned long it = 0; it < iterations; it++) {
    const entry *e = &corpus[below(corpus_n)];
    size_t len = e->len;
    memcpy(buf, e->data, len);
    size_t rounds = 1 + below(4);
    for (size_t r = 0; r < rounds; r++)
      mutate_once(buf, &len, max);
    run_one(buf, len);
  }
  free(buf);
  for (size_t k = 0; k < corpus_n; k++)
    free(corpus[k].data);
  free(corpus);
  printf("%s: %zu seed inputs, %lu mutated inputs, no failure\n", name, seeds, iterations);
  return 0;
}
