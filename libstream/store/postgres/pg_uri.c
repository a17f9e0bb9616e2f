/*
 * PostgreSQL backend: the check of the store's URI before libpq connects with it. A URI
 * libpq cannot parse is the caller's error (STREAM_EINVAL), and its message never quotes
 * the URI's text: libpq's own message quotes the token it could not parse, which can be the
 * password, written in any case and with any percent escapes (`pass%77ord=...`). The message
 * names the part that failed (the user name, the password, query parameter 2, ...) instead,
 * found by a scan of the URI that follows libpq's split of it (conninfo_uri_parse_options).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_internal.h"

/* What is wrong with the percent escapes of s[0..n): NULL when nothing. */
static const char *escape_problem(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '%')
      continue;
    if (i + 2 >= n || !isxdigit((unsigned char)s[i + 1]) || !isxdigit((unsigned char)s[i + 2]))
      return "an invalid percent escape";
    if (s[i + 1] == '0' && s[i + 2] == '0')
      return "a forbidden %00";
    i += 2;
  }
  return NULL;
}

/* Whether libpq knows the query key s[0..n) (its escapes valid), decoded. "ssl" is libpq's
 * JDBC-style alias for sslmode. */
static bool key_known(const PQconninfoOption *defs, const char *s, size_t n)
{
  char key[64];
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (k + 1 >= sizeof key)
      return false; /* longer than any keyword */
    if (s[i] == '%') {
      char hex[3] = {s[i + 1], s[i + 2], '\0'};
      key[k++] = (char)strtol(hex, NULL, 16);
      i += 2;
    } else {
      key[k++] = s[i];
    }
  }
  key[k] = '\0';
  if (strcmp(key, "ssl") == 0)
    return true;
  for (const PQconninfoOption *o = defs; o && o->keyword; o++)
    if (strcmp(o->keyword, key) == 0)
      return true;
  return false;
}

/* One query parameter s[0..n), number `no`: its problem written to `out`, or false. Its
 * name is shown only when `show_keys` and it is a keyword libpq knows, written with letters,
 * digits and '_': a password holding an unescaped '&' (or '/' then '&') makes its next part
 * a parameter of its own, whose name would be a piece of the password. */
static bool param_problem(char *out, size_t cap, const char *s, size_t n, int no,
                          const PQconninfoOption *defs, bool show_keys)
{
  const char *eq = memchr(s, '=', n);
  if (!eq) {
    snprintf(out, cap, "query parameter %d has no '=' (its text is not shown)", no);
    return true;
  }
  size_t kn = (size_t)(eq - s);
  const char *v = eq + 1;
  size_t vn = n - kn - 1;
  const char *why = escape_problem(s, kn);
  if (why) {
    snprintf(out, cap, "%s in the name of query parameter %d", why, no);
    return true;
  }
  bool known = !defs || key_known(defs, s, kn); /* no keyword list: none is called unknown */
  bool plain = kn > 0 && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789_") >= kn;
  char name[96];
  if (show_keys && defs && known && plain)
    snprintf(name, sizeof name, "query parameter %d (%.*s)", no, (int)kn, s);
  else
    snprintf(name, sizeof name, "query parameter %d", no);
  if (memchr(v, '=', vn)) {
    snprintf(out, cap, "a second '=' in %s (write it %%3D in a value)", name);
    return true;
  }
  why = escape_problem(v, vn);
  if (why) {
    snprintf(out, cap, "%s in the value of %s", why, name);
    return true;
  }
  if (!known) {
    snprintf(out, cap,
             "unknown parameter (query parameter %d; its name is not shown: it may be part of "
             "a password)",
             no);
    return true;
  }
  return false;
}

/* `p` (a URI's text after "://") past its user information, as libpq splits it: the user
 * information ends at the first '@' before any '/'; without one, `p` itself. */
static const char *past_userinfo(const char *p)
{
  size_t ui = strcspn(p, "@/");
  return p[ui] == '@' ? p + ui + 1 : p;
}

/* Whether a piece of a password may have become a query parameter of `uri`, whose text
 * starts after "://": an '@' past libpq's authority (a user information's password held an
 * unescaped '/' or '?'), or a parameter whose decoded name holds "password" or "secret" in
 * any case (its value may hold an unescaped '&'). */
static bool may_spill(const char *p)
{
  p = past_userinfo(p);
  size_t auth = strcspn(p, "/?");
  if (strchr(p + auth, '@'))
    return true;
  const char *q = strchr(p, '?');
  while (q) {
    q++;
    size_t n = strcspn(q, "&=");
    char key[128];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof key; i++) {
      char c = q[i];
      if (c == '%' && i + 2 < n && isxdigit((unsigned char)q[i + 1]) &&
          isxdigit((unsigned char)q[i + 2])) {
        char hex[3] = {q[i + 1], q[i + 2], '\0'};
        c = (char)strtol(hex, NULL, 16);
        i += 2;
      }
      key[k++] = (char)tolower((unsigned char)c);
    }
    key[k] = '\0';
    if (strstr(key, "password") || strstr(key, "secret"))
      return true;
    q = strchr(q, '&');
  }
  return false;
}

/* The part of `uri` libpq could not parse, named without its text: false when the scan finds
 * nothing wrong (then the caller says so generically). The split is libpq's: the user
 * information ends at the first '@' before any '/', the user name at its first ':'. */
static bool locate_problem(char *out, size_t cap, const char *uri)
{
  const char *p = strstr(uri, "://");
  if (!p)
    return false;
  p += 3;
  const char *why = NULL;
  size_t ui = strcspn(p, "@/");
  if (p[ui] == '@') {
    const char *colon = memchr(p, ':', ui);
    size_t un = colon ? (size_t)(colon - p) : ui;
    if ((why = escape_problem(p, un)) != NULL) {
      snprintf(out, cap, "%s in the user name", why);
      return true;
    }
    if (colon && (why = escape_problem(colon + 1, ui - un - 1)) != NULL) {
      snprintf(out, cap, "%s in the password", why);
      return true;
    }
    p += ui + 1;
  }
  size_t hn = strcspn(p, "/?");
  if ((why = escape_problem(p, hn)) != NULL) {
    snprintf(out, cap, "%s in the host list", why);
    return true;
  }
  p += hn;
  if (*p == '/') {
    p++;
    size_t dn = strcspn(p, "?");
    if ((why = escape_problem(p, dn)) != NULL) {
      snprintf(out, cap, "%s in the database name", why);
      return true;
    }
    p += dn;
  }
  if (*p != '?')
    return false;
  p++;
  PQconninfoOption *defs = PQconndefaults(); /* NULL (out of memory): no keyword check */
  bool show_keys = !may_spill(strstr(uri, "://") + 3);
  bool found = false;
  for (int no = 1; !found; no++) {
    size_t n = strcspn(p, "&");
    if (n)
      found = param_problem(out, cap, p, n, no, defs, show_keys);
    if (!p[n])
      break;
    p += n + 1;
  }
  PQconninfoFree(defs);
  return found;
}

/* Whether `p` (a URI's text after "://") has an '@' after a ':' that may be a password's: a
 * ':' before libpq's first '@' or '/' (outside an IPv6 address's brackets), then an '@' past
 * that first '@' (or, without one, past the '/'). A password holding an '@' and then a '?' or
 * '/' ends the user information at its '@' and makes its rest the host and query parameters
 * ("user:x@KRIT?sslmode=@host/db"); one holding a '/' and a '?' makes its first part the port
 * and its rest the database name and query parameters ("user:12/x?sslmode=KRIT@host/db"):
 * libpq and the server quote those values. A port followed by a value's '@'
 * ("host:5432/db?application_name=a@b") cannot be told from the second. */
static bool at_after_colon(const char *p)
{
  size_t a = strcspn(p, "@/");
  bool colon = false;
  int depth = 0;
  for (size_t i = 0; i < a && !colon; i++) {
    if (p[i] == '[')
      depth++;
    else if (p[i] == ']' && depth > 0)
      depth--;
    else if (p[i] == ':' && depth == 0)
      colon = true;
  }
  return colon && p[a] && strchr(p + a + 1, '@');
}

int store__pg_check_uri(const char *uri)
{
  char *err = NULL;
  PQconninfoOption *o = PQconninfoParse(uri, &err);
  if (!o && !err)
    return stream__err(STREAM_ENOMEM, "out of memory parsing the PostgreSQL URI");
  if (!o) {
    PQfreemem(err); /* never shown: it may quote the password */
    char where[160];
    if (locate_problem(where, sizeof where, uri))
      return stream__err(STREAM_EINVAL, "PostgreSQL URI: %s", where);
    return stream__err(STREAM_EINVAL, "PostgreSQL URI: libpq cannot parse it (its reason is "
                                      "not shown: it quotes the URI, which may hold a password)");
  }
  /* A password with an '@' not written %40 ends the user information early: the rest of
   * the password becomes the host, which libpq's connection messages quote (a socket
   * directory's "/KRIT@db/.s.PGSQL.5432" too). So the URI's host list, as written, never
   * holds an '@' (libpq takes the first for the user information's end; a socket's own is
   * written %40 there), nor does a host name past its first character (a leading one names
   * an abstract Unix socket). A socket directory given by ?host= may hold one. */
  static const char at_host[] = "PostgreSQL URI: a host holds an '@' (not shown: it is likely "
                                "part of a password, whose '@' must be written %40)";
  int rc = STREAM_OK;
  const char *a = strstr(uri, "://");
  if (a) {
    a = past_userinfo(a + 3);
    if (memchr(a, '@', strcspn(a, "/?")))
      rc = stream__err(STREAM_EINVAL, "%s", at_host);
  }
  for (const PQconninfoOption *i = o; rc == STREAM_OK && i->keyword; i++) {
    if (strcmp(i->keyword, "host") != 0 || !i->val)
      continue;
    for (const char *h = i->val;; h++) { /* each host of the list */
      size_t hl = strcspn(h, ",");
      if (h[0] != '/' && hl > 1 && memchr(h + 1, '@', hl - 1))
        rc = stream__err(STREAM_EINVAL, "%s", at_host);
      h += hl;
      if (!*h)
        break;
    }
  }
  /* A user name holding a ':' is a password: "user%3Apassword@" or ?user=name:password
   * (libpq reads the whole as the user name, which the server's errors quote: role "..."
   * does not exist). Not shown. */
  for (const PQconninfoOption *i = o; rc == STREAM_OK && i->keyword; i++)
    if (strcmp(i->keyword, "user") == 0 && i->val && strchr(i->val, ':'))
      rc = stream__err(STREAM_EINVAL,
                       "PostgreSQL URI: the user name holds a ':' (not shown: it is likely "
                       "user:password with the ':' escaped, or in ?user=; give a password as "
                       "user:password@, ?password= or in a PGPASSFILE)");
  /* A password holding a '/' (or a '?') not written %2F ends the authority early: libpq reads
   * the user name as the host, the password's first part as the port and the rest, '@'
   * included, as the database name, and quotes them ("invalid integer value ... for
   * connection option port", "database ... does not exist"). A port is digits; a database
   * name with an '@' is taken for such a spill too. Neither value is shown. */
  const char *port = NULL, *dbname = NULL;
  for (const PQconninfoOption *i = o; i->keyword; i++) {
    if (strcmp(i->keyword, "port") == 0)
      port = i->val;
    else if (strcmp(i->keyword, "dbname") == 0)
      dbname = i->val;
  }
  if (rc == STREAM_OK && port && port[strspn(port, "0123456789,")] != '\0')
    rc = stream__err(STREAM_EINVAL,
                     "PostgreSQL URI: a port is not a number (not shown: it may be part of a "
                     "password, whose '/', '?' and '@' must be written %%2F, %%3F and %%40)");
  if (rc == STREAM_OK && dbname && strchr(dbname, '@'))
    rc = stream__err(STREAM_EINVAL,
                     "PostgreSQL URI: the database name holds an '@' (not shown: it is likely "
                     "part of a password, whose '/', '?' and '@' must be written %%2F, %%3F and "
                     "%%40)");
  const char *after_scheme = strstr(uri, "://");
  if (rc == STREAM_OK && after_scheme && at_after_colon(after_scheme + 3))
    rc = stream__err(STREAM_EINVAL,
                     "PostgreSQL URI: an '@' after a password or a port (not shown: it is likely "
                     "part of a password, whose '/', '?' and '@' must be written %%2F, %%3F and "
                     "%%40; write an '@' in a value as %%40 too)");
  PQconninfoFree(o);
  return rc;
}
