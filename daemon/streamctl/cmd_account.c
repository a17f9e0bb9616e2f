/*
 * streamctl account: an operator's look at one account of a streamd store and
 * its deletion, on the store opened directly like `streamctl billing` (SQLite
 * WAL lets this run while streamd serves). Sub-commands: show ID|EMAIL, delete ID|EMAIL.
 * The deletion is stream_store_account_close(), the same one transaction as
 * DELETE /v1/admin/accounts/{id}; being the operator's, it asks for no
 * password, but it asks for a confirmation on the terminal unless --yes is
 * given, and refuses to run unattended without --yes.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "streamctl.h"

static const cli_opt account_opts[] = {
    {"db", 1, "PATH", "the store (e.g. DATA_DIR/streamd.db); or --data-dir"},
    {"data-dir", 1, "DIR", "streamd data directory (the store is DIR/streamd.db)"},
    {"yes", 0, NULL, "delete: do not ask for a confirmation (required without a terminal)"},
    {"json", 0, NULL, "print JSON"},
    {NULL, 0, NULL, NULL}};

#if STREAM_HAVE_SERVER

#include <cjson/cJSON.h>

static void print_json(cJSON *o)
{
  char *txt = o ? cJSON_PrintUnformatted(o) : NULL;
  printf("%s\n", txt ? txt : "{}");
  cJSON_free(txt);
  cJSON_Delete(o);
}

/* The account by id, or by e-mail address when `id` holds an '@' (normalized as sign-in
 * does); a deleted one is not found, as for every read. */
static int get_account(const cli_args *a, stream_store_account *out, stream_store *s,
                       const char *id)
{
  int rc;
  if (strchr(id, '@')) {
    char email[STREAM_AUTH_EMAIL_SIZE];
    rc = stream_auth_email_normalize(email, sizeof email, id);
    if (rc)
      return lib_error(a, "not an e-mail address", rc);
    rc = stream_store_account_get_by_email(out, s, email);
    if (rc == STREAM_ENOTFOUND) {
      fprintf(stderr, "streamctl %s: no account with e-mail %s\n", a->verb->name, email);
      return EXIT_FAIL;
    }
  } else {
    rc = stream_store_account_get(out, s, id);
  }
  if (rc == STREAM_ENOTFOUND) {
    fprintf(stderr, "streamctl %s: no account with id %s\n", a->verb->name, id);
    return EXIT_FAIL;
  }
  if (rc)
    return lib_error(a, "cannot read the account", rc);
  return 0;
}

static int do_show(const cli_args *a, stream_store *s, const char *id)
{
  stream_store_account acct;
  int ret = get_account(a, &acct, s, id);
  if (ret)
    return ret;
  stream_store_profile *profiles = NULL;
  size_t n = 0;
  int rc = stream_store_profile_list(&profiles, &n, s, acct.id);
  if (rc)
    return lib_error(a, "cannot list the profiles", rc);
  const char *role = acct.role == STREAM_STORE_ROLE_OPERATOR ? "operator" : "viewer";
  if (cli_has(a, "json")) {
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "profiles") : NULL;
    if (arr) {
      cJSON_AddStringToObject(o, "id", acct.id);
      cJSON_AddStringToObject(o, "email", acct.email);
      cJSON_AddStringToObject(o, "role", role);
      cJSON_AddBoolToObject(o, "disabled", acct.disabled);
      cJSON_AddNumberToObject(o, "created_at", (double)acct.created_at);
      for (size_t i = 0; i < n; i++) {
        cJSON *p = cJSON_CreateObject();
        if (!p)
          break;
        cJSON_AddStringToObject(p, "id", profiles[i].id);
        cJSON_AddStringToObject(p, "name", profiles[i].name);
        cJSON_AddBoolToObject(p, "kids", profiles[i].kids);
        cJSON_AddItemToArray(arr, p);
      }
    }
    print_json(o);
  } else {
    printf("id\t%s\nemail\t%s\nrole\t%s\ndisabled\t%s\ncreated_at\t%lld\nprofiles\t%zu\n", acct.id,
           acct.email, role, acct.disabled ? "yes" : "no", (long long)acct.created_at, n);
    for (size_t i = 0; i < n; i++)
      printf("profile\t%s\t%s%s\n", profiles[i].id, profiles[i].name,
             profiles[i].kids ? "\tkids" : "");
  }
  stream_free(profiles);
  return 0;
}

/* "yes" typed on the terminal. 0 = confirmed, EXIT_FAIL otherwise. */
static int confirm(const cli_args *a, const stream_store_account *acct)
{
  fprintf(stderr,
          "Delete account %s (%s)? Its profiles, sessions, payment methods and viewing data\n"
          "are deleted, its subscription ends now, invoices stay. This cannot be undone.\n"
          "Type yes to delete: ",
          acct->id, acct->email);
  fflush(stderr);
  char line[16];
  if (!fgets(line, sizeof line, stdin) || strcmp(line, "yes\n") != 0) {
    fprintf(stderr, "streamctl %s: not confirmed; nothing was deleted\n", a->verb->name);
    return EXIT_FAIL;
  }
  return 0;
}

static int do_delete(const cli_args *a, stream_store *s, const char *id)
{
  stream_store_account acct;
  int ret = get_account(a, &acct, s, id);
  if (ret)
    return ret;
  if (!cli_has(a, "yes") && (ret = confirm(a, &acct)) != 0)
    return ret;
  stream_store_account_close_counts c;
  int rc = stream_store_account_close(&c, s, acct.id, now_unix());
  if (rc == STREAM_EBUSY)
    return lib_error(a, "not deleted (retry once the payment settled)", rc);
  if (rc)
    return lib_error(a, "cannot delete the account", rc);
  if (cli_has(a, "json")) {
    cJSON *o = cJSON_CreateObject();
    if (o) {
      cJSON_AddStringToObject(o, "id", acct.id);
      cJSON_AddBoolToObject(o, "deleted", 1);
      cJSON_AddNumberToObject(o, "profiles", (double)c.profiles);
      cJSON_AddNumberToObject(o, "refresh_tokens", (double)c.refresh_tokens);
      cJSON_AddNumberToObject(o, "device_authorizations", (double)c.device_authorizations);
      cJSON_AddNumberToObject(o, "cards", (double)c.cards);
      cJSON_AddNumberToObject(o, "screen_leases", (double)c.screen_leases);
      cJSON_AddNumberToObject(o, "subscriptions", (double)c.subscriptions);
      cJSON_AddNumberToObject(o, "invoices_voided", (double)c.invoices_voided);
      cJSON_AddNumberToObject(o, "events", (double)c.events);
      cJSON_AddNumberToObject(o, "views", (double)c.views);
    }
    print_json(o);
  } else {
    printf("deleted account %s: %zu profiles, %zu refresh tokens, %zu payment methods, "
           "%zu subscription ended, %zu invoices voided, %zu events and %zu views "
           "pseudonymized\n",
           acct.id, c.profiles, c.refresh_tokens, c.cards, c.subscriptions, c.invoices_voided,
           c.events, c.views);
  }
  return 0;
}

static int run_account(const cli_args *a)
{
  const char *sub = a->pos[0];
  if (strcmp(sub, "show") != 0 && strcmp(sub, "delete") != 0)
    return usage_error(a, "unknown sub-command '%s' (show, delete)", sub);
  if (a->npos != 2)
    return usage_error(a, "%s needs the account ID or e-mail address", sub);
  if (strcmp(sub, "delete") == 0 && !cli_has(a, "yes") && !isatty(STDIN_FILENO))
    return usage_error(a, "delete asks for a confirmation on a terminal; without one, "
                          "give --yes");
  stream_store *s = NULL;
  int ret = open_daemon_store(a, &s);
  if (ret)
    return ret;
  ret = strcmp(sub, "show") == 0 ? do_show(a, s, a->pos[1]) : do_delete(a, s, a->pos[1]);
  stream_store_close(s);
  return ret;
}

#else

#define run_account not_built_server

#endif

const cli_verb verb_account = {
    "account",
    "Show an account or delete it (right to erasure).",
    "account show ID|EMAIL | delete ID|EMAIL [--yes]   (--db PATH | --data-dir DIR) [--json]",
    "Opens the store directly (safe while streamd runs: SQLite WAL).\n"
    "The account is named by its id or by its e-mail address (any case).\n"
    "show prints the account (e-mail, role, disabled, created_at) and its profiles.\n"
    "delete closes the account in one transaction, as DELETE /v1/admin/accounts/{id}:\n"
    "profiles (with their resume positions, My List, ratings), sessions (refresh\n"
    "tokens, device grants, screen leases) and payment methods are deleted, the live\n"
    "subscription ends now, events and QoE views are kept without the person, and the\n"
    "account row stays as a tombstone (e-mail deleted-ID@invalid, free to register\n"
    "again). Invoices and payments stay (financial records). A payment in flight makes\n"
    "it fail (exit 1): retry once it settled. It asks to type yes on the terminal;\n"
    "--yes skips that, and without a terminal --yes is required (exit 2 otherwise).\n"
    "A running streamd refuses the account's tokens at once when the deletion goes\n"
    "through its API; after this command, within at most 5 s (its verification cache).\n",
    account_opts,
    1,
    2,
    run_account};
