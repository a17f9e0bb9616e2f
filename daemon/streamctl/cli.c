/*
 * streamctl command-line plumbing: option parsing for every verb, generated
 * help, error reporting with the exit-code contract (1 runtime, 2 usage),
 * durations, safe file creation and password input from stdin.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "streamctl.h"

static int find_opt(const cli_verb *v, const char *name, size_t n)
{
  for (int i = 0; v->opts[i].name; i++)
    if (strlen(v->opts[i].name) == n && strncmp(v->opts[i].name, name, n) == 0)
      return i;
  return -1;
}

int usage_error(const cli_args *a, const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "streamctl %s: ", a && a->verb ? a->verb->name : "");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'streamctl %s --help'.\n", a && a->verb ? a->verb->name : "");
  return EXIT_USAGE;
}

int lib_error(const cli_args *a, const char *what, int rc)
{
  const stream_error *e = stream_error_last();
  fprintf(stderr, "streamctl %s: %s: %s\n", a->verb->name, what,
          e && e->code == rc ? e->message : stream_strerror(rc));
  return EXIT_FAIL;
}

int cli_parse(cli_args *a, const cli_verb *verb, int argc, char **argv)
{
  memset(a, 0, sizeof *a);
  a->verb = verb;
  int only_pos = 0;
  for (int i = 0; i < argc; i++) {
    const char *s = argv[i];
    /* Options are long (--name) but for -h: any other word starting with a single '-' is an
     * argument. Ids are base64url, so one in 64 starts with '-' ("-OoROEEK..."); one starting
     * with "--" goes after "--" (the message below says so). */
    if (only_pos || s[0] != '-' || strcmp(s, "-") == 0 || (s[1] != '-' && strcmp(s, "-h") != 0)) {
      if (a->npos >= verb->max_pos || a->npos >= CLI_MAX_POS)
        return usage_error(a, "unexpected argument '%s'", s);
      a->pos[a->npos++] = s;
      continue;
    }
    if (strcmp(s, "--") == 0) {
      only_pos = 1;
      continue;
    }
    if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
      a->help = 1;
      continue;
    }
    const char *name = s + 2;
    const char *eq = strchr(name, '=');
    size_t n = eq ? (size_t)(eq - name) : strlen(name);
    int k = find_opt(verb, name, n);
    if (k < 0)
      return usage_error(a,
                         "unknown option '--%.*s' (an argument that starts with '-', such as an "
                         "id, goes after '--')",
                         (int)n, name);
    const cli_opt *o = &verb->opts[k];
    const char *val = NULL;
    if (o->arg) {
      if (eq)
        val = eq + 1;
      else if (i + 1 < argc)
        val = argv[++i];
      else
        return usage_error(a, "option '--%s' needs a value (%s)", o->name, o->metavar);
    } else if (eq) {
      return usage_error(a, "option '--%s' takes no value", o->name);
    }
    if (o->arg == 2) {
      if (a->nmulti >= CLI_MAX_MULTI)
        return usage_error(a, "too many '--%s' options (at most %d)", o->name, CLI_MAX_MULTI);
      a->multi[a->nmulti++] = val;
    } else if (a->set[k]) {
      return usage_error(a, "option '--%s' given twice", o->name);
    }
    a->set[k] = 1;
    a->val[k] = val;
  }
  if (!a->help && a->npos < verb->min_pos)
    return usage_error(a, "missing argument; usage: streamctl %s", verb->usage);
  return 0;
}

const char *cli_get(const cli_args *a, const char *name)
{
  int k = find_opt(a->verb, name, strlen(name));
  return k >= 0 && a->set[k] ? a->val[k] : NULL;
}

int cli_has(const cli_args *a, const char *name)
{
  int k = find_opt(a->verb, name, strlen(name));
  return k >= 0 && a->set[k];
}

void cli_print_help(const cli_verb *v)
{
  printf("Usage: streamctl %s\n\n%s\n", v->usage, v->summary);
  if (v->details)
    printf("\n%s", v->details);
  printf("\nOptions:\n");
  for (int i = 0; v->opts[i].name; i++) {
    char left[64];
    if (v->opts[i].arg)
      snprintf(left, sizeof left, "--%s %s", v->opts[i].name, v->opts[i].metavar);
    else
      snprintf(left, sizeof left, "--%s", v->opts[i].name);
    printf("  %-28s %s\n", left, v->opts[i].help);
  }
  printf("  %-28s %s\n", "--help", "show this help and exit");
}

int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
  if (!s || !*s)
    return -1;
  uint64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9')
      return -1;
    if (v > (max - (uint64_t)(*p - '0')) / 10)
      return -1;
    v = v * 10 + (uint64_t)(*p - '0');
  }
  *out = v;
  return 0;
}

int parse_duration(const char *s, int64_t *out)
{
  /* At most ~100 years, so that now + duration cannot overflow. */
  const int64_t max = INT64_C(100) * 366 * 86400;
  if (!s || !*s)
    return -1;
  int64_t total = 0;
  const char *p = s;
  while (*p) {
    if (*p < '0' || *p > '9')
      return -1;
    int64_t v = 0;
    while (*p >= '0' && *p <= '9') {
      v = v * 10 + (*p - '0');
      if (v > max)
        return -1;
      p++;
    }
    int64_t unit = 1;
    switch (*p) {
    case 's':
      unit = 1;
      p++;
      break;
    case 'm':
      unit = 60;
      p++;
      break;
    case 'h':
      unit = 3600;
      p++;
      break;
    case 'd':
      unit = 86400;
      p++;
      break;
    case '\0':
      if (p != s + strspn(s, "0123456789"))
        return -1; /* a bare number only as the whole string */
      break;
    default:
      return -1;
    }
    if (v > max / unit)
      return -1;
    total += v * unit;
    if (total > max)
      return -1;
  }
  if (total <= 0)
    return -1;
  *out = total;
  return 0;
}

int64_t now_unix(void)
{
  return (int64_t)time(NULL);
}

int write_new_file(const cli_args *a, const char *path, const char *data, size_t len,
                   unsigned int mode, int force)
{
  if (force && unlink(path) != 0 && errno != ENOENT) {
    fprintf(stderr, "streamctl %s: cannot replace '%s': %s\n", a->verb->name, path,
            strerror(errno));
    return EXIT_FAIL;
  }
  /* O_EXCL: never follow a planted symlink, never clobber by accident. */
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
  if (fd < 0) {
    if (errno == EEXIST)
      fprintf(stderr, "streamctl %s: '%s' exists; use --force to replace it\n", a->verb->name,
              path);
    else
      fprintf(stderr, "streamctl %s: cannot create '%s': %s\n", a->verb->name, path,
              strerror(errno));
    return EXIT_FAIL;
  }
  /* The umask may have removed bits but never adds any; make the mode exact. */
  int ok = fchmod(fd, (mode_t)mode) == 0;
  size_t off = 0;
  while (ok && off < len) {
    ssize_t w = write(fd, data + off, len - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      ok = 0;
      break;
    }
    off += (size_t)w;
  }
  if (close(fd) != 0)
    ok = 0;
  if (!ok) {
    fprintf(stderr, "streamctl %s: cannot write '%s': %s\n", a->verb->name, path, strerror(errno));
    unlink(path);
    return EXIT_FAIL;
  }
  return 0;
}

int read_password(const cli_args *a, char *buf, size_t cap, size_t *len)
{
  struct termios old, quiet;
  int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    fprintf(stderr, "Password: ");
    fflush(stderr);
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  size_t n = 0;
  int err = 0, too_long = 0;
  for (;;) {
    char c;
    ssize_t r = read(STDIN_FILENO, &c, 1);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      err = errno;
      break;
    }
    if (r == 0 || (tty && c == '\n'))
      break;
    if (n >= cap) {
      too_long = 1;
      if (tty)
        continue;
      break;
    }
    buf[n++] = c;
  }
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    fprintf(stderr, "\n");
  }
  if (err) {
    fprintf(stderr, "streamctl %s: cannot read the password from stdin: %s\n", a->verb->name,
            strerror(err));
    return EXIT_FAIL;
  }
  /* One trailing newline (as `echo` adds) is not part of the password. */
  if (!too_long && n > 0 && buf[n - 1] == '\n') {
    n--;
    if (n > 0 && buf[n - 1] == '\r')
      n--;
  }
  if (too_long || n > STREAM_PASSWORD_LEN_MAX) {
    fprintf(stderr, "streamctl %s: the password on stdin is longer than %d bytes\n", a->verb->name,
            STREAM_PASSWORD_LEN_MAX);
    return EXIT_FAIL;
  }
  if (n == 0) {
    fprintf(stderr, "streamctl %s: no password on stdin\n", a->verb->name);
    return EXIT_FAIL;
  }
  *len = n;
  return 0;
}

int not_built_server(const cli_args *a)
{
  fprintf(stderr,
          "streamctl %s: not built (this libstream has no server feature: configure "
          "with -Dserver=enabled)\n",
          a->verb->name);
  return EXIT_FAIL;
}

#if STREAM_HAVE_SERVER
int open_daemon_store(const cli_args *a, stream_store **out)
{
  *out = NULL;
  const char *db = cli_get(a, "db"), *dir = cli_get(a, "data-dir");
  char path[4096];
  if (db && dir)
    return usage_error(a, "give --db PATH or --data-dir DIR, not both");
  if (db && *db) {
    if ((size_t)snprintf(path, sizeof path, "%s", db) >= sizeof path)
      return usage_error(a, "--db is too long");
  } else if (dir && *dir) {
    if ((size_t)snprintf(path, sizeof path, "%s/streamd.db", dir) >= sizeof path)
      return usage_error(a, "--data-dir is too long");
  } else {
    return usage_error(a, "--db PATH (or --data-dir DIR) is required");
  }
  /* A libpq URI (a streamd with store_url) names a database, not a file. */
  int uri = strncmp(path, "postgres://", 11) == 0 || strncmp(path, "postgresql://", 13) == 0;
  struct stat sb;
  if (!uri && stat(path, &sb) != 0) {
    /* A URL with a misspelt scheme ("postgressql://user:password@...") is not echoed. */
    if (strstr(path, "://") || strchr(path, '@'))
      fprintf(stderr,
              "streamctl %s: no store at --db: neither a file nor a postgresql:// URI (not "
              "shown: it may hold a password)\n",
              a->verb->name);
    else
      fprintf(stderr, "streamctl %s: no store at %s (start streamd first)\n", a->verb->name, path);
    return EXIT_FAIL;
  }
  stream_store_options so = STREAM_STORE_OPTIONS_INIT;
  so.path = path;
  so.readers = 1;
  int rc = stream_store_open(out, &so);
  if (rc)
    return lib_error(a, "cannot open the store", rc);
  return 0;
}
#endif
