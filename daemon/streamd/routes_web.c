/*
 * Static files for the demo web player (examples/web): with `web_root` set,
 * a GET or HEAD of a path that no API route has lands here (http.c hands
 * such requests to the table's "*" row, so API routes always win). "/" is
 * index.html. Only regular files with a known extension are served, never
 * from a hidden segment ("." / ".." / ".git") or node_modules, and the
 * resolved path must stay under the resolved root (symlinks cannot escape).
 * Files are small (the page, its modules, the vendored player libraries), so
 * they are read into memory; a strong-enough ETag (size + mtime) answers 304.
 * Paths under /v1/ and everything when web_root is unset keep the API's 404.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app.h"
#include "problem.h"
#include "routes_util.h"
#include "routes.h"

#define WEB_MAX_FILE ((off_t)16 * 1024 * 1024)

static const struct {
  const char *ext;
  const char *type;
} mime[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".jpg", "image/jpeg"},
    {".jpeg", "image/jpeg"},
    {".webp", "image/webp"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *mime_type(const char *path)
{
  const char *slash = strrchr(path, '/');
  const char *dot = strrchr(slash ? slash : path, '.');
  if (!dot)
    return NULL;
  for (size_t i = 0; i < sizeof(mime) / sizeof(mime[0]); i++)
    if (strcmp(dot, mime[i].ext) == 0)
      return mime[i].type;
  return NULL;
}

/* Every segment is non-empty, does not start with '.', is not node_modules; no backslash. */
static int path_ok(const char *path)
{
  if (path[0] != '/' || strchr(path, '\\'))
    return 0;
  const char *s = path + 1;
  while (*s) {
    const char *e = strchr(s, '/');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    if (n == 0 || s[0] == '.' || (n == 12 && memcmp(s, "node_modules", 12) == 0))
      return 0;
    for (size_t i = 0; i < n; i++)
      if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
        return 0;
    if (!e)
      break;
    s = e + 1;
  }
  return 1;
}

static void not_found(streamd_response *resp, const streamd_request *req)
{
  char detail[128];
  snprintf(detail, sizeof(detail), "no route for path %.100s", req->path);
  streamd_reply_problem(resp, req, STREAMD_P_NO_ROUTE, detail);
}

void streamd_route_web(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_get();
  const char *root = app && app->cfg ? app->cfg->web_root : "";
  const char *path = req->path;
  if (!root[0] || strncmp(path, "/v1/", 4) == 0 || strcmp(path, "/v1") == 0 || !path_ok(path) ||
      strlen(path) > 1024) {
    not_found(resp, req);
    return;
  }
  const char *rel = strcmp(path, "/") == 0 ? "/index.html" : path;
  const char *type = mime_type(rel);
  if (!type) {
    not_found(resp, req);
    return;
  }
  char root_real[PATH_MAX], joined[PATH_MAX + 1100], file_real[PATH_MAX];
  if (!realpath(root, root_real)) {
    streamd_reply_problem(resp, req, STREAM_EIO, "web_root cannot be resolved");
    return;
  }
  snprintf(joined, sizeof(joined), "%s%s", root_real, rel);
  size_t rl = strlen(root_real);
  if (!realpath(joined, file_real) || strncmp(file_real, root_real, rl) != 0 ||
      file_real[rl] != '/') {
    not_found(resp, req);
    return;
  }
  int fd = open(file_real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > WEB_MAX_FILE) {
    if (fd >= 0)
      close(fd);
    not_found(resp, req);
    return;
  }
  char etag[96], cc[64];
  snprintf(etag, sizeof(etag), "\"%llx-%llx-%lx\"", (unsigned long long)st.st_size,
           (unsigned long long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
  /* The page revalidates every time (new builds show at once); the rest briefly. */
  snprintf(cc, sizeof(cc), "%s", strcmp(rel, "/index.html") == 0 ? "no-cache" : "max-age=60");
  if (streamd_etag_listed(streamd_request_header(req, "If-None-Match"), etag, 0)) {
    /* The file as the 200's body, sent without it: libmicrohttpd 0.9.75 writes the length of
     * the response it gets as a 304's Content-Length, and RFC 9110 8.6 allows only the 200's
     * there (the origin's 304s do the same, routes_media.c). */
    streamd_reply_fd(resp, 304, NULL, fd, 0, (uint64_t)st.st_size);
    streamd_response_header(resp, "ETag", etag);
    streamd_response_header(resp, "Cache-Control", cc);
    return;
  }
  size_t len = (size_t)st.st_size, got = 0;
  char *buf = malloc(len ? len : 1);
  while (buf && got < len) {
    ssize_t n = read(fd, buf + got, len - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  if (!buf || got != len) {
    free(buf);
    streamd_reply_problem(resp, req, STREAM_EIO, "cannot read a web_root file");
    return;
  }
  streamd_reply_text(resp, 200, type, buf, len);
  free(buf);
  streamd_response_header(resp, "ETag", etag);
  streamd_response_header(resp, "Cache-Control", cc);
  streamd_response_header(resp, "X-Content-Type-Options", "nosniff");
  if (strcmp(rel, "/index.html") == 0)
    streamd_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data: https: http:; "
                            "media-src 'self' blob:; worker-src 'self' blob:; "
                            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
}
