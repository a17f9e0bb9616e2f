/*
 * streamctl: the operator CLI. Shared declarations of the command-line
 * parser, helpers and verbs. streamctl uses libstream's public API only.
 */
#ifndef STREAMCTL_H
#define STREAMCTL_H

#include <stddef.h>
#include <stdint.h>

#include "stream/stream.h"

/* Exit codes. */
#define EXIT_OK 0
#define EXIT_FAIL 1  /* runtime failure: the library's message on stderr */
#define EXIT_USAGE 2 /* unknown verb or flag, missing or malformed argument */

#define CLI_MAX_OPTS 40
#define CLI_MAX_POS 4
#define CLI_MAX_MULTI 16

/* An option of a verb. arg: 0 = flag, 1 = takes a value, 2 = repeatable value. */
typedef struct cli_opt {
  const char *name; /* without the leading "--" */
  int arg;
  const char *metavar;
  const char *help;
} cli_opt;

typedef struct cli_args cli_args;

/* A verb: name, one-line summary, usage line, long help and its options
 * (terminated by a {NULL} entry). */
typedef struct cli_verb {
  const char *name;
  const char *summary;
  const char *usage;
  const char *details;
  const cli_opt *opts;
  int min_pos, max_pos;
  int (*run)(const cli_args *a);
} cli_verb;

struct cli_args {
  const cli_verb *verb;
  const char *val[CLI_MAX_OPTS];
  int set[CLI_MAX_OPTS];
  const char *multi[CLI_MAX_MULTI];
  int nmulti;
  const char *pos[CLI_MAX_POS];
  int npos;
  int help;
};

/* Parse argv (after the verb). Returns 0, or EXIT_USAGE after printing why. */
int cli_parse(cli_args *a, const cli_verb *verb, int argc, char **argv);
void cli_print_help(const cli_verb *verb);
/* The value of --name, or NULL when absent. */
const char *cli_get(const cli_args *a, const char *name);
/* 1 when --name was given (flag or value). */
int cli_has(const cli_args *a, const char *name);

/* Print "streamctl <verb>: <msg>" to stderr and return EXIT_USAGE. */
int usage_error(const cli_args *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print "streamctl <verb>: <what>: <library message>" and return EXIT_FAIL. */
int lib_error(const cli_args *a, const char *what, int rc);

/* Parse a non-negative decimal integer (no sign, no junk). 0 on success. */
int parse_u64(const char *s, uint64_t max, uint64_t *out);
/* Parse a duration: "90", "30s", "10m", "1h", "2d", "1h30m". 0 on success. */
int parse_duration(const char *s, int64_t *out);
/* Current Unix time in seconds. */
int64_t now_unix(void);

/* Write `len` bytes to a new file created with `mode`; refuses to replace an
 * existing file unless `force`. 0 or EXIT_FAIL after printing why. */
int write_new_file(const cli_args *a, const char *path, const char *data, size_t len,
                   unsigned int mode, int force);
/* Read a password from stdin (no echo on a terminal), strip one trailing
 * newline. `buf` holds `cap` bytes. 0 or an exit code after printing why. */
int read_password(const cli_args *a, char *buf, size_t cap, size_t *len);

/* The run function of a verb that needs the server feature in a build without it: says so on
 * stderr and returns EXIT_FAIL. */
int not_built_server(const cli_args *a);

#if STREAM_HAVE_SERVER
/* Open streamd's store for a verb that works on the database directly: `--db PATH` or
 * `--data-dir DIR` (DIR/streamd.db), which must exist. On success *out is closed with
 * stream_store_close(). 0, or EXIT_USAGE / EXIT_FAIL after printing why. */
int open_daemon_store(const cli_args *a, stream_store **out);
#endif

/* Verbs. */
extern const cli_verb verb_keygen;
extern const cli_verb verb_hash_password;
extern const cli_verb verb_verify_password;
extern const cli_verb verb_sign_url;
extern const cli_verb verb_verify_url;
extern const cli_verb verb_catalog;
extern const cli_verb verb_billing;
extern const cli_verb verb_account; /* cmd_account.c */
extern const cli_verb verb_transcode;
extern const cli_verb verb_stats;  /* cmd_stats.c */
extern const cli_verb verb_export; /* cmd_stats.c */

#endif
