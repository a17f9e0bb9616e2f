/* The scripted loopback HTTP responder of the unit tests (responder.h). */
#define _GNU_SOURCE /* strcasestr */
#include "responder.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Read one request into rec[cap] (NUL-terminated, cut at cap - 1 bytes); a longer body is read
 * on and dropped, so that the answer only goes once the whole request is in. */
static void read_request(int cfd, char *rec, size_t cap)
{
  char scratch[16384];
  size_t len = 0, total = 0, want = SIZE_MAX;
  rec[0] = '\0';
  while (total < want) {
    bool keep = len + 1 < cap;
    ssize_t got = recv(cfd, keep ? rec + len : scratch, keep ? cap - 1 - len : sizeof scratch, 0);
    if (got <= 0)
      return;
    total += (size_t)got;
    if (keep) {
      len += (size_t)got;
      rec[len] = '\0';
    }
    if (want != SIZE_MAX)
      continue;
    char *end = strstr(rec, "\r\n\r\n");
    if (!end) {
      if (len + 1 >= cap) /* a head over the cap: answered as it is */
        return;
      continue;
    }
    size_t head = (size_t)(end + 4 - rec);
    char save = rec[head];
    rec[head] = '\0'; /* Content-Length of the head only */
    const char *cl = strcasestr(rec, "\r\ncontent-length:");
    want = head + (cl ? (size_t)strtoull(cl + 17, NULL, 10) : 0);
    rec[head] = save;
  }
}

static void answer(int cfd, const char *resp)
{
  size_t off = 0, len = strlen(resp);
  while (off < len) {
    ssize_t w = send(cfd, resp + off, len - off, MSG_NOSIGNAL);
    if (w <= 0)
      break;
    off += (size_t)w;
  }
  shutdown(cfd, SHUT_WR);
  /* Until the client closes: closing with its bytes unread would reset the connection. */
  char sink[512];
  while (recv(cfd, sink, sizeof sink, 0) > 0) {
  }
}

static void *serve(void *arg)
{
  test_responder *r = arg;
  char req[TEST_RESPONDER_REQUEST_MAX];
  for (;;) {
    int cfd = accept(r->fd, NULL, NULL);
    if (cfd < 0)
      return NULL;
    pthread_mutex_lock(&r->mu);
    bool stopping = r->stopping;
    if (!stopping)
      r->cfd = cfd;
    pthread_mutex_unlock(&r->mu);
    if (stopping) {
      close(cfd);
      return NULL;
    }
    read_request(cfd, req, sizeof req);
    pthread_mutex_lock(&r->mu);
    int i = r->served++;
    memcpy(r->last_request, req, sizeof req);
    if (i < TEST_RESPONDER_KEEP)
      memcpy(r->requests[i], req, sizeof req);
    if (i == r->hold) {
      r->held = true;
      pthread_cond_broadcast(&r->cv);
      while (!r->release)
        pthread_cond_wait(&r->cv, &r->mu);
    }
    pthread_mutex_unlock(&r->mu);
    answer(cfd, r->script[i < r->n ? i : r->n - 1]);
    pthread_mutex_lock(&r->mu);
    r->cfd = -1;
    pthread_mutex_unlock(&r->mu);
    close(cfd);
  }
}

int test_listen_loopback(int *port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(fd, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t alen = sizeof a;
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
  *port = ntohs(a.sin_port);
  ck_assert_int_eq(listen(fd, 16), 0);
  return fd;
}

void test_responder_start(test_responder *r, const char *const *script, int n, int hold)
{
  ck_assert_int_ge(n, 1);
  memset(r, 0, sizeof *r);
  r->script = script;
  r->n = n;
  r->hold = hold;
  r->cfd = -1;
  pthread_mutex_init(&r->mu, NULL);
  pthread_cond_init(&r->cv, NULL);
  r->fd = test_listen_loopback(&r->port);
  ck_assert_int_eq(pthread_create(&r->th, NULL, serve, r), 0);
}

void test_responder_wait_held(test_responder *r)
{
  pthread_mutex_lock(&r->mu);
  while (!r->held)
    pthread_cond_wait(&r->cv, &r->mu);
  pthread_mutex_unlock(&r->mu);
}

void test_responder_release(test_responder *r)
{
  pthread_mutex_lock(&r->mu);
  r->release = true;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

int test_responder_served(test_responder *r)
{
  pthread_mutex_lock(&r->mu);
  int served = r->served;
  pthread_mutex_unlock(&r->mu);
  return served;
}

void test_responder_stop(test_responder *r)
{
  pthread_mutex_lock(&r->mu);
  r->stopping = r->release = true;
  pthread_cond_broadcast(&r->cv);
  if (r->cfd >= 0)
    shutdown(r->cfd, SHUT_RDWR);
  pthread_mutex_unlock(&r->mu);
  shutdown(r->fd, SHUT_RDWR); /* wakes accept() */
  pthread_join(r->th, NULL);
  close(r->fd);
  pthread_cond_destroy(&r->cv);
  pthread_mutex_destroy(&r->mu);
}
