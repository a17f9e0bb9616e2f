/*
 * streamctl: the libstream operator CLI. Dispatches to a verb; every verb has
 * --help. Exit status: 0 success, 1 runtime failure (the library's message on
 * stderr), 2 usage error (unknown verb or flag, missing argument).
 */
#include <stdio.h>
#include <string.h>

#include "streamctl.h"

static const cli_verb *const verbs[] = {
    &verb_keygen,          &verb_sign_url, &verb_verify_url, &verb_hash_password,
    &verb_verify_password, &verb_catalog,  &verb_transcode,  &verb_billing,
    &verb_stats,           &verb_export,   &verb_account};
#define NVERBS (sizeof verbs / sizeof verbs[0])

static void print_help(void)
{
  printf("Usage: streamctl <verb> [options]\n"
         "       streamctl --help | --version\n\n"
         "The libstream operator CLI.\n\nVerbs:\n");
  for (size_t i = 0; i < NVERBS; i++)
    printf("  %-17s %s\n", verbs[i]->name, verbs[i]->summary);
  printf("\nRun 'streamctl <verb> --help' for the options of a verb.\n"
         "Exit status: 0 success, 1 failure (reason on stderr), 2 usage error.\n");
}

int main(int argc, char **argv)
{
  if (argc < 2) {
    fprintf(stderr, "streamctl: missing verb\nTry 'streamctl --help'.\n");
    return EXIT_USAGE;
  }
  const char *v = argv[1];
  if (strcmp(v, "--help") == 0 || strcmp(v, "-h") == 0 || strcmp(v, "help") == 0) {
    print_help();
    return EXIT_OK;
  }
  if (strcmp(v, "--version") == 0) {
    printf("streamctl %s (libstream %s)\n", STREAM_VERSION_STRING, stream_version());
    return EXIT_OK;
  }
  for (size_t i = 0; i < NVERBS; i++) {
    if (strcmp(v, verbs[i]->name) != 0)
      continue;
    cli_args a;
    int rc = cli_parse(&a, verbs[i], argc - 2, argv + 2);
    if (rc)
      return rc;
    if (a.help) {
      cli_print_help(verbs[i]);
      return EXIT_OK;
    }
    return verbs[i]->run(&a);
  }
  if (v[0] == '-')
    fprintf(stderr, "streamctl: unknown option '%s'\nTry 'streamctl --help'.\n", v);
  else
    fprintf(stderr, "streamctl: unknown verb '%s'\nTry 'streamctl --help'.\n", v);
  return EXIT_USAGE;
}
