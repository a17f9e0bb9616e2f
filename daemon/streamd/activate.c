/*
 * The TV sign-in page (RFC 8628 verification_uri): GET /activate shows a
 * form, POST /activate signs the person in with e-mail and password (the
 * same service call, rate limits and errors as POST /v1/auth/login; the
 * session it creates is revoked at once) and approves or denies the device
 * whose user code was entered. The page needs no cookies and no script;
 * because every approval carries the password, a cross-site form post cannot
 * approve anything. Framing is forbidden (clickjacking).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "json.h"
#include "problem.h"
#include "routes.h"
#include "routes_util.h"
#include "stream/auth.h"

#define PAGE_MAX 8192

/* Append `s` HTML-escaped (and sanitized to UTF-8) to buf. */
static void esc(char *buf, size_t n, const char *s)
{
  char safe[256];
  streamd_utf8_sanitize(safe, sizeof(safe), s ? s : "");
  size_t len = strlen(buf);
  for (const char *p = safe; *p && len + 7 < n; p++) {
    const char *r = NULL;
    switch (*p) {
    case '&':
      r = "&amp;";
      break;
    case '<':
      r = "&lt;";
      break;
    case '>':
      r = "&gt;";
      break;
    case '"':
      r = "&quot;";
      break;
    case '\'':
      r = "&#39;";
      break;
    default:
      buf[len++] = *p;
      buf[len] = '\0';
      continue;
    }
    size_t rl = strlen(r);
    memcpy(buf + len, r, rl + 1);
    len += rl;
  }
}

static void cat(char *buf, size_t n, const char *s)
{
  size_t len = strlen(buf);
  snprintf(buf + len, n - len, "%s", s);
}

static void page(streamd_response *resp, int status, const char *message, int is_error,
                 const char *user_code, int show_form)
{
  char *buf = calloc(1, PAGE_MAX);
  if (!buf) {
    streamd_reply_text(resp, 503, "text/plain; charset=utf-8", "out of memory\n", 14);
    return;
  }
  cat(buf, PAGE_MAX,
      "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
      "<title>Sign in your TV</title><style>"
      "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}"
      "label{display:block;margin:.8rem 0 .2rem}input{width:100%;padding:.5rem;font-size:1rem;"
      "box-sizing:border-box}.code{text-transform:uppercase;letter-spacing:.2em}"
      "button{margin:1rem .5rem 0 0;padding:.5rem 1rem;font-size:1rem}"
      ".err{color:#a00}.ok{color:#070}</style></head><body>\n<h1>Sign in your TV</h1>\n");
  if (message) {
    cat(buf, PAGE_MAX, is_error ? "<p class=\"err\" role=\"alert\">" : "<p class=\"ok\">");
    esc(buf, PAGE_MAX, message);
    cat(buf, PAGE_MAX, "</p>\n");
  }
  if (show_form) {
    cat(buf, PAGE_MAX,
        "<p>Enter the code shown on your TV, then your e-mail and password.</p>\n"
        "<form method=\"post\" action=\"/activate\">\n"
        "<label for=\"user_code\">Code</label>"
        "<input class=\"code\" id=\"user_code\" name=\"user_code\" required maxlength=\"16\" "
        "autocomplete=\"off\" placeholder=\"XXXX-XXXX\" value=\"");
    esc(buf, PAGE_MAX, user_code);
    cat(buf, PAGE_MAX,
        "\">\n<label for=\"email\">E-mail</label>"
        "<input id=\"email\" name=\"email\" type=\"email\" required autocomplete=\"username\">\n"
        "<label for=\"password\">Password</label>"
        "<input id=\"password\" name=\"password\" type=\"password\" required "
        "autocomplete=\"current-password\">\n"
        "<button type=\"submit\" name=\"action\" value=\"approve\">Approve</button>"
        "<button type=\"submit\" name=\"action\" value=\"deny\">Deny</button>\n</form>\n");
  }
  cat(buf, PAGE_MAX, "</body></html>\n");
  streamd_reply_text(resp, status, "text/html; charset=utf-8", buf, strlen(buf));
  free(buf);
  streamd_response_header(resp, "Content-Security-Policy",
                          "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                          "frame-ancestors 'none'");
  streamd_response_header(resp, "X-Frame-Options", "DENY");
  streamd_response_header(resp, "Referrer-Policy", "no-referrer");
}

void streamd_route_activate_get(streamd_request *req, streamd_response *resp)
{
  const char *code = streamd_request_query(req, "user_code");
  if (code && strlen(code) > STREAM_AUTH_USER_CODE_SIZE)
    code = NULL;
  page(resp, 200, NULL, 0, code, 1);
}

void streamd_route_activate_post(streamd_request *req, streamd_response *resp)
{
  streamd_app *app = streamd_app_get();
  if (!app) {
    page(resp, 503, "The service is starting; try again in a moment.", 1, NULL, 1);
    return;
  }
  streamd_form f;
  char detail[256] = "";
  int rc = streamd_form_parse(&f, req, 0, detail, sizeof(detail));
  if (rc) {
    page(resp, rc == STREAMD_P_MEDIA_TYPE ? 415 : 400, detail, 1, NULL, 1);
    return;
  }
  const char *code = streamd_form_get(&f, "user_code");
  const char *email = streamd_form_get(&f, "email");
  const char *password = streamd_form_get(&f, "password");
  const char *action = streamd_form_get(&f, "action");
  int deny = action && strcmp(action, "deny") == 0;
  if (action && !deny && strcmp(action, "approve") != 0) {
    page(resp, 400, "Unknown action.", 1, code, 1);
    streamd_form_free(&f);
    return;
  }
  if (!code || !*code || !email || !*email || !password || !*password) {
    page(resp, 400, "Enter the code, your e-mail and your password.", 1, code, 1);
    streamd_form_free(&f);
    return;
  }
  if (strlen(code) > STREAM_AUTH_USER_CODE_SIZE) {
    page(resp, 400, "That code is not valid. Check the code on your TV.", 1, NULL, 1);
    streamd_form_free(&f);
    return;
  }

  char addr[STREAM_AUTH_ADDRESS_MAX + 1];
  streamd_login_address(addr, sizeof(addr), req);
  stream_auth_tokens t;
  int64_t retry = 0;
  rc = stream_auth_login(&t, &retry, app->auth, email, password, addr);
  if (rc != STREAM_OK) {
    /* EBUSY with a wait is the rate limit; without one, the store was busy. */
    bool limited = rc == STREAM_EBUSY && retry > 0;
    int status = limited                   ? 429
                 : rc == STREAM_EBUSY      ? 503
                 : rc == STREAM_EAUTH      ? 401
                 : rc == STREAM_EINVAL     ? 400
                 : rc == STREAM_EFORBIDDEN ? 403
                                           : 500;
    const char *msg = limited                   ? "Too many attempts. Wait a little and try again."
                      : rc == STREAM_EBUSY      ? "The service is busy. Try again in a moment."
                      : rc == STREAM_EAUTH      ? "Wrong e-mail or password."
                      : rc == STREAM_EINVAL     ? "That e-mail address is not valid."
                      : rc == STREAM_EFORBIDDEN ? "This account is disabled."
                                                : "Something went wrong. Try again.";
    page(resp, status, msg, 1, code, 1);
    if (rc == STREAM_EBUSY) {
      char ra[32];
      snprintf(ra, sizeof(ra), "%lld", (long long)(retry > 0 ? retry : 1));
      streamd_response_header(resp, "Retry-After", ra);
    }
    streamd_form_free(&f);
    return;
  }
  /* The page only needed to know who this is: end the session it opened. */
  stream_auth_logout(app->auth, t.refresh_token);
  rc = deny ? stream_auth_device_deny(app->auth, code)
            : stream_auth_device_approve(app->auth, code, t.account_id, NULL);
  explicit_bzero(&t, sizeof(t));
  if (rc == STREAM_OK) {
    page(resp, 200,
         deny ? "The TV was not signed in." : "Your TV is signed in. You can return to it now.", 0,
         NULL, 0);
  } else {
    int status = rc == STREAM_EEXPIRED                           ? 410
                 : rc == STREAM_ECONFLICT                        ? 409
                 : rc == STREAM_EINVAL || rc == STREAM_ENOTFOUND ? 400
                 : rc == STREAM_EFORBIDDEN                       ? 403
                                                                 : 500;
    const char *msg = rc == STREAM_EEXPIRED    ? "That code has expired. Start again on your TV."
                      : rc == STREAM_ECONFLICT ? "That code has already been used."
                      : rc == STREAM_EINVAL || rc == STREAM_ENOTFOUND
                          ? "That code is not valid. Check the code on your TV."
                      : rc == STREAM_EFORBIDDEN ? "This account is disabled."
                                                : "Something went wrong. Try again.";
    page(resp, status, msg, 1, rc == STREAM_EEXPIRED || rc == STREAM_ECONFLICT ? NULL : code, 1);
  }
  streamd_form_free(&f);
}
