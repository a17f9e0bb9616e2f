/*
 * A scripted HTTP/1.1 responder on a loopback port, for unit tests that drive
 * the client SDK or the event emitter without a server. A thread accepts one
 * connection after another on 127.0.0.1 (a free port): it reads a request (the
 * head, then Content-Length bytes of body), answers with the next raw response
 * of the script, written as is ("HTTP/1.1 ... \r\n\r\nbody"), then closes its
 * side and waits for the client to close. The last response of the script
 * repeats for every further connection. The responder records the request it
 * read (head and body, cut at TEST_RESPONDER_REQUEST_MAX - 1 bytes): the last
 * one and the first TEST_RESPONDER_KEEP in order. It can hold back the answer
 * to one request until the test releases it (a request "in flight").
 * Link responder_src with threads_dep.
 *
 * Threads: the struct belongs to the test; the fields under "shared" are
 * written by the responder's thread under `mu`. Read them under `mu`, or once
 * the client's call returned (the answer was sent after the write), or while
 * the request is held.
 */
#ifndef STREAM_TEST_RESPONDER_H
#define STREAM_TEST_RESPONDER_H

#include <pthread.h>
#include <stdbool.h>

#define TEST_RESPONDER_REQUEST_MAX 8192
#define TEST_RESPONDER_KEEP 8

typedef struct test_responder {
  int port; /* where it listens (127.0.0.1), set by test_responder_start() */
  /* shared, under mu */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int served;                                    /* requests read so far */
  bool held;                                     /* the held request arrived */
  char last_request[TEST_RESPONDER_REQUEST_MAX]; /* NUL-terminated */
  char requests[TEST_RESPONDER_KEEP][TEST_RESPONDER_REQUEST_MAX];
  /* private */
  int fd, cfd;
  pthread_t th;
  const char *const *script;
  int n, hold;
  bool release, stopping;
} test_responder;

/* A TCP socket bound to a free loopback port (its number in *port), listening
 * (backlog 16). The caller closes it. Aborts the test on failure. */
int test_listen_loopback(int *port);

/* Listen on a free loopback port and serve `script` (n >= 1 raw responses,
 * borrowed: they must outlive the responder). `hold` is the 0-based index of
 * the request whose answer waits for test_responder_release(), or -1. Aborts
 * the test on failure. */
void test_responder_start(test_responder *r, const char *const *script, int n, int hold);

/* Wait until the held request has been read (its record is then in
 * last_request, and stays until the release). */
void test_responder_wait_held(test_responder *r);

/* Let the held request's answer go. */
void test_responder_release(test_responder *r);

/* requests read so far (under mu). */
int test_responder_served(test_responder *r);

/* Stop serving (a held answer is released, an open connection cut), join the
 * thread and close the socket. The records stay readable. */
void test_responder_stop(test_responder *r);

#endif
