/*
 * streamctl hash-password / verify-password: Argon2id PHC strings. The
 * password is always read from stdin (never from argv, where other users
 * could read it in the process list).
 */
#include <stdio.h>
#include <string.h>

#include "streamctl.h"

static const cli_opt hash_opts[] = {
    {"m", 1, "KIB", "memory in KiB (default 19456 = 19 MiB; at most 1048576)"},
    {"t", 1, "N", "passes (default 2; 1..64)"},
    {"p", 1, "N", "lanes (default 1; 1..16)"},
    {NULL, 0, NULL, NULL}};

static const cli_opt verify_opts[] = {
    {"m", 1, "KIB", "with --t/--p: the current memory cost, for the rehash hint"},
    {"t", 1, "N", "the current passes, for the rehash hint"},
    {"p", 1, "N", "the current lanes, for the rehash hint"},
    {NULL, 0, NULL, NULL}};

static int get_u32(const cli_args *a, const char *name, uint32_t *out)
{
  const char *s = cli_get(a, name);
  uint64_t v;
  if (!s)
    return 0;
  if (parse_u64(s, UINT32_MAX, &v))
    return usage_error(a, "--%s needs a non-negative integer, not '%s'", name, s);
  *out = (uint32_t)v;
  return 0;
}

static int params_from_args(const cli_args *a, stream_password_params *pp)
{
  int rc = get_u32(a, "m", &pp->m_cost);
  if (!rc)
    rc = get_u32(a, "t", &pp->t_cost);
  if (!rc)
    rc = get_u32(a, "p", &pp->parallelism);
  return rc;
}

static int run_hash(const cli_args *a)
{
  stream_password_params pp = STREAM_PASSWORD_PARAMS_INIT;
  int rc = params_from_args(a, &pp);
  if (rc)
    return rc;
  char pw[STREAM_PASSWORD_LEN_MAX + 2];
  size_t n = 0;
  if ((rc = read_password(a, pw, sizeof pw, &n)))
    return rc;
  char *phc = NULL;
  rc = stream_password_hash(&phc, pw, n, &pp);
  explicit_bzero(pw, sizeof pw);
  if (rc)
    return lib_error(a, "cannot hash the password", rc);
  printf("%s\n", phc);
  stream_free(phc);
  return EXIT_OK;
}

static int run_verify(const cli_args *a)
{
  const char *phc = a->pos[0];
  stream_password_params pp = STREAM_PASSWORD_PARAMS_INIT;
  int rc = params_from_args(a, &pp);
  if (rc)
    return rc;
  char pw[STREAM_PASSWORD_LEN_MAX + 2];
  size_t n = 0;
  if ((rc = read_password(a, pw, sizeof pw, &n)))
    return rc;
  rc = stream_password_verify(phc, pw, n);
  explicit_bzero(pw, sizeof pw);
  if (rc == STREAM_EAUTH) {
    printf("INVALID: password does not match\n");
    return EXIT_FAIL;
  }
  if (rc)
    return lib_error(a, "cannot verify", rc);
  int stale = 0;
  if (stream_password_needs_rehash(&stale, phc, &pp) == STREAM_OK && stale)
    printf("VALID (needs rehash: its parameters differ from m=%u,t=%u,p=%u)\n", pp.m_cost,
           pp.t_cost, pp.parallelism);
  else
    printf("VALID\n");
  return EXIT_OK;
}

const cli_verb verb_hash_password = {
    "hash-password",
    "Hash a password read from stdin with Argon2id; print the PHC string.",
    "hash-password [--m KIB] [--t N] [--p N] < password",
    "The password is read from stdin (without echo on a terminal); one trailing\n"
    "newline is removed. It must be 1..4096 bytes. Output:\n"
    "  $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>\n",
    hash_opts,
    0,
    0,
    run_hash};

const cli_verb verb_verify_password = {
    "verify-password",
    "Check a password read from stdin against a PHC string.",
    "verify-password PHC [--m KIB --t N --p N] < password",
    "Prints VALID and exits 0 when the password matches; prints INVALID and exits 1\n"
    "when it does not. A malformed PHC string is a failure (exit 1) with the reason.\n"
    "VALID also says when the string should be re-hashed with the current parameters\n"
    "(the defaults, or --m/--t/--p).\n",
    verify_opts,
    1,
    1,
    run_verify};
