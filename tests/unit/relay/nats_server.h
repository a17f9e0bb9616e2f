/*
 * A real nats-server for the relay tests: started on a loopback port with
 * JetStream and its own storage directory (or from a configuration file),
 * ready when the port accepts connections. Aborts the test (Check) when it
 * cannot start.
 */
#ifndef STREAM_TEST_NATS_SERVER_H
#define STREAM_TEST_NATS_SERVER_H

#include <sys/types.h>

/* A loopback TCP port nothing listens on right now. */
int test_nats_free_port(void);

/* Start `bin`: with `conf`, `bin -c conf` (the file names port and storage); else
 * `bin -js -a 127.0.0.1 -p port -sd jsdir`, plus `--user user --pass pass` when `user` is set.
 * Returns once `port` accepts connections; the server exiting first fails the test. */
pid_t test_nats_start(const char *bin, int port, const char *jsdir, const char *user,
                      const char *pass, const char *conf);

/* SIGKILL and reap `*pid` when it is running; sets it to -1. */
void test_nats_kill(pid_t *pid);

#endif
