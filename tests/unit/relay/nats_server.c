/* The relay tests' nats-server (nats_server.h). */
#include "nats_server.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int test_nats_free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static int port_open(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  close(fd);
  return ok;
}

pid_t test_nats_start(const char *bin, int port, const char *jsdir, const char *user,
                      const char *pass, const char *conf)
{
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    char p[16];
    snprintf(p, sizeof p, "%d", port);
    if (!freopen("/dev/null", "w", stdout) || !freopen("/dev/null", "w", stderr))
      _exit(126);
    if (conf)
      execl(bin, bin, "-c", conf, (char *)NULL);
    else if (user)
      execl(bin, bin, "-js", "-a", "127.0.0.1", "-p", p, "-sd", jsdir, "--user", user, "--pass",
            pass, (char *)NULL);
    else
      execl(bin, bin, "-js", "-a", "127.0.0.1", "-p", p, "-sd", jsdir, (char *)NULL);
    _exit(127);
  }
  /* Ready when the port accepts; the server exiting first is a failure. */
  for (int i = 0; i < 1000 && !port_open(port); i++) {
    int st;
    ck_assert_msg(waitpid(pid, &st, WNOHANG) == 0, "nats-server exited at start");
    struct timespec ts = {0, 10000000L};
    nanosleep(&ts, NULL);
  }
  ck_assert_msg(port_open(port), "nats-server does not listen on %d", port);
  return pid;
}

void test_nats_kill(pid_t *pid)
{
  if (*pid > 0) {
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
  }
  *pid = -1;
}
