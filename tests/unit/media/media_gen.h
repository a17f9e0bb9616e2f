/* Test media generated with the ffmpeg CLI at test time (never committed). */
#ifndef TEST_MEDIA_GEN_H
#define TEST_MEDIA_GEN_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char gen_dir[256];

static const char *gen_tmpdir(void)
{
  if (!gen_dir[0]) {
    snprintf(gen_dir, sizeof gen_dir, "/tmp/stream-media-test-XXXXXX");
    if (!mkdtemp(gen_dir))
      abort();
  }
  return gen_dir;
}

/* Run a shell command; returns its exit status. */
static int sh(const char *fmt, const char *a, const char *b)
{
  char cmd[2048];
  snprintf(cmd, sizeof cmd, fmt, a, b ? b : "");
  int rc = system(cmd);
  return rc;
}

/* Generate `name` in the temp dir from ffmpeg input/encode arguments. */
static const char *gen(const char *name, const char *args)
{
  static char path[8][512];
  static int slot;
  char *p = path[slot++ % 8];
  snprintf(p, 512, "%s/%s", gen_tmpdir(), name);
  if (access(p, R_OK) != 0) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "ffmpeg -hide_banner -loglevel error -y %s %s", args, p);
    if (system(cmd) != 0)
      return NULL;
  }
  return p;
}

#define AV_720                                                                                     \
  "-f lavfi -i testsrc2=size=1280x720:rate=30 -f lavfi -i sine=frequency=440:sample_rate=44100 "   \
  "-t 8 -c:v libx264 -preset ultrafast -c:a aac -shortest"
#define AV_360                                                                                     \
  "-f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=frequency=440:sample_rate=44100 -t " \
  "6 -c:v libx264 -preset ultrafast -c:a aac -shortest"
#define V_ONLY "-f lavfi -i testsrc2=size=640x360:rate=25 -t 4 -c:v libx264 -preset ultrafast"
#define V_43                                                                                       \
  "-f lavfi -i testsrc2=size=640x480:rate=30 -f lavfi -i sine=frequency=300:sample_rate=48000 -t " \
  "4 -c:v libx264 -preset ultrafast -c:a aac -ac 1 -shortest"
#define V_2997                                                                                     \
  "-f lavfi -i testsrc2=size=640x360:rate=30000/1001 -f lavfi -i "                                 \
  "sine=frequency=500:sample_rate=22050 -t 7 -c:v libx264 -preset ultrafast -c:a libmp3lame "      \
  "-shortest -metadata:s:a:0 language=fra"
#define A_ONLY "-f lavfi -i sine=frequency=440:sample_rate=44100 -t 3 -c:a aac"

/* The standard output of a shell command (caller frees); aborts if it cannot
 * be started. */
static inline char *run_cmd(const char *cmd)
{
  FILE *p = popen(cmd, "r");
  if (!p)
    abort();
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  size_t n;
  while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
    len += n;
    if (len + 1 >= cap)
      buf = realloc(buf, cap *= 2);
  }
  buf[len] = 0;
  pclose(p);
  return buf;
}

/* dir/rel read whole (up to 1 MiB) as a string (caller frees), or NULL. */
static inline char *gen_slurp(const char *dir, const char *rel)
{
  char p[1024];
  snprintf(p, sizeof p, "%s/%s", dir, rel);
  FILE *f = fopen(p, "rb");
  if (!f)
    return NULL;
  char *b = malloc(1 << 20);
  size_t n = fread(b, 1, (1 << 20) - 1, f);
  b[n] = 0;
  fclose(f);
  return b;
}

#endif
