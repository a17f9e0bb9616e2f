/*
 * client device flow (RFC 8628): start a device authorization, poll the
 * token endpoint (authorization_pending, slow_down: +5 s for this and every
 * later poll, expired_token, access_denied), and a waiting loop that honours
 * the interval, backs off on network errors and can be cancelled. Also the
 * companion side: approving a user code through the /activate form.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "client_internal.h"

#define DEVICE_GRANT "urn:ietf:params:oauth:grant-type:device_code"
#define INTERVAL_MAX 300
#define SLOW_DOWN_STEP 5

static int copy_str(char *dst, size_t cap, const cJSON *j, const char *name, bool required)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
  dst[0] = '\0';
  if (!v || cJSON_IsNull(v)) {
    if (required)
      return stream__err(STREAM_EPROTO, "the device authorization lacks '%s'", name);
    return STREAM_OK;
  }
  if (!cJSON_IsString(v) || (required && !v->valuestring[0]))
    return stream__err(STREAM_EPROTO, "'%s' in the device authorization is not a string", name);
  size_t n = strlen(v->valuestring);
  if (n >= cap)
    return stream__err(STREAM_EPROTO, "'%s' in the device authorization is %zu bytes (limit %zu)",
                       name, n, cap - 1);
  /* Codes and URIs are shown to people and put in messages: no control characters. */
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)v->valuestring[i] < 0x20 || (unsigned char)v->valuestring[i] == 0x7f)
      return stream__err(STREAM_EPROTO,
                         "'%s' in the device authorization has a control character at offset %zu",
                         name, i);
  memcpy(dst, v->valuestring, n + 1);
  return STREAM_OK;
}

/* A form buffer sized for `n` bytes of field text (escaped: 3 bytes per byte at most), so that it
 * never grows: growing would leave unwiped copies of the password or device code behind. */
static void form_init(stream__buf *b, size_t n)
{
  stream__buf_init(b);
  size_t cap = 3 * n + 64;
  b->data = malloc(cap);
  if (!b->data) {
    b->failed = true;
    return;
  }
  b->data[0] = '\0';
  b->cap = cap;
}

/* The user code a message may show: control characters replaced (dev is the caller's struct). */
static const char *shown_code(char dst[64], const stream_client_device *dev)
{
  char code[sizeof dev->user_code + 1];
  memcpy(code, dev->user_code, sizeof dev->user_code);
  code[sizeof dev->user_code] = '\0';
  client__clean_text(dst, 64, code);
  return dst;
}

static void form_field(stream__buf *b, const char *name, const char *value)
{
  if (b->len)
    stream__buf_puts(b, "&");
  client__escape(b, name);
  stream__buf_puts(b, "=");
  client__escape(b, value);
}

static int form_detach(stream__buf *b, char **out)
{
  if (b->failed) {
    stream__buf_free(b);
    return stream__err(STREAM_ENOMEM, "out of memory building a form body");
  }
  return stream__buf_detach(b, out);
}

int stream_client_device_start(stream_client_device *out, stream_client *c)
{
  if (!out || !c)
    return stream__err(STREAM_EINVAL, "%s is NULL", out ? "client" : "out");
  memset(out, 0, sizeof *out);
  stream__buf b;
  stream__buf_init(&b);
  form_field(&b, "client_id", c->client_id);
  char *body;
  int rc = form_detach(&b, &body);
  if (rc != STREAM_OK)
    return rc;
  client__response r;
  rc = client__call(&r, c, "POST", "/v1/auth/device", CLIENT__BODY_FORM, body, CLIENT__AUTH_NONE);
  free(body);
  if (rc != STREAM_OK)
    return rc;
  cJSON *j = client__parse_json(r.body, r.len);
  if (!j || !cJSON_IsObject(j)) {
    rc = stream__err(STREAM_EPROTO, "the device authorization is not a JSON object");
    goto out;
  }
  if ((rc = copy_str(out->device_code, sizeof out->device_code, j, "device_code", true)) ||
      (rc = copy_str(out->user_code, sizeof out->user_code, j, "user_code", true)) ||
      (rc = copy_str(out->verification_uri, sizeof out->verification_uri, j, "verification_uri",
                     true)) ||
      (rc = copy_str(out->verification_uri_complete, sizeof out->verification_uri_complete, j,
                     "verification_uri_complete", false)))
    goto out;
  const cJSON *ex = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
  const cJSON *iv = cJSON_GetObjectItemCaseSensitive(j, "interval");
  if (!cJSON_IsNumber(ex) || ex->valuedouble < 1 || ex->valuedouble > 86400) {
    rc = stream__err(STREAM_EPROTO, "the device authorization has no valid expires_in");
    goto out;
  }
  out->expires_in = (int64_t)ex->valuedouble;
  out->interval = 5; /* RFC 8628 §3.2: the default when absent */
  if (iv) {
    if (!cJSON_IsNumber(iv) || iv->valuedouble < 0 || iv->valuedouble > INTERVAL_MAX) {
      rc = stream__err(STREAM_EPROTO, "the device authorization has an invalid interval");
      goto out;
    }
    out->interval = (int64_t)iv->valuedouble;
  }
  if (out->interval < 1)
    out->interval = 1;
  out->started_at = stream__now();
out:
  if (j) {
    const cJSON *dc = cJSON_GetObjectItemCaseSensitive(j, "device_code");
    if (cJSON_IsString(dc))
      stream__wipe(dc->valuestring, strlen(dc->valuestring));
  }
  cJSON_Delete(j);
  client__response_free_secret(&r); /* it carries the device code */
  if (rc != STREAM_OK)
    memset(out, 0, sizeof *out);
  return rc;
}

static int check_device(const stream_client_device *dev)
{
  size_t n = strnlen(dev->device_code, sizeof dev->device_code);
  if (n == 0 || n == sizeof dev->device_code)
    return stream__err(STREAM_EINVAL, "the device authorization has no device_code");
  if (dev->interval < 0 || dev->interval > 3600)
    return stream__err(STREAM_EINVAL, "the device authorization's interval %lld is out of range",
                       (long long)dev->interval);
  return STREAM_OK;
}

int stream_client_device_poll(int *out_state, stream_client *c, stream_client_device *dev)
{
  if (out_state)
    *out_state = STREAM_CLIENT_DEVICE_PENDING;
  if (!out_state || !c || !dev)
    return stream__err(STREAM_EINVAL, "%s is NULL",
                       !out_state ? "out_state"
                       : !c       ? "client"
                                  : "dev");
  int rc = check_device(dev);
  if (rc != STREAM_OK)
    return rc;
  stream__buf b;
  form_init(&b, strlen(DEVICE_GRANT) + strlen(dev->device_code) + strlen(c->client_id) + 64);
  form_field(&b, "grant_type", DEVICE_GRANT);
  form_field(&b, "device_code", dev->device_code);
  form_field(&b, "client_id", c->client_id);
  char *body;
  if ((rc = form_detach(&b, &body)) != STREAM_OK)
    return rc;
  client__response r;
  rc =
      client__exchange(&r, c, "POST", "/v1/auth/token", CLIENT__BODY_FORM, body, CLIENT__AUTH_NONE);
  client__free_body(body);
  if (rc != STREAM_OK)
    return rc;
  if (r.status >= 200 && r.status < 300) {
    rc = client__take_token_response(c, &r, NULL, false, NULL);
    if (rc == STREAM_OK)
      *out_state = STREAM_CLIENT_DEVICE_APPROVED;
    client__response_free_secret(&r);
    return rc;
  }
  cJSON *j = NULL;
  if (r.status == 400)
    j = cJSON_ParseWithLength(r.body, r.len);
  const cJSON *err = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
  const char *e = cJSON_IsString(err) ? err->valuestring : "";
  if (strcmp(e, "authorization_pending") == 0) {
    *out_state = STREAM_CLIENT_DEVICE_PENDING;
  } else if (strcmp(e, "slow_down") == 0) {
    const cJSON *iv = cJSON_GetObjectItemCaseSensitive(j, "interval");
    int64_t next = dev->interval + SLOW_DOWN_STEP;
    if (cJSON_IsNumber(iv) && iv->valuedouble > (double)next && iv->valuedouble <= INTERVAL_MAX)
      next = (int64_t)iv->valuedouble;
    dev->interval = next;
    *out_state = STREAM_CLIENT_DEVICE_SLOW_DOWN;
  } else if (strcmp(e, "expired_token") == 0) {
    char shown[64];
    rc =
        stream__err(STREAM_EEXPIRED, "the TV code %s expired; start again", shown_code(shown, dev));
  } else if (strcmp(e, "access_denied") == 0) {
    rc = stream__err(STREAM_EFORBIDDEN, "the sign-in of this device was denied");
  } else {
    rc = client__fail(&r, "POST", "/v1/auth/token");
  }
  cJSON_Delete(j);
  client__response_free(&r);
  return rc;
}

static bool cancelled(const int *cancel)
{
  return cancel && __atomic_load_n(cancel, __ATOMIC_ACQUIRE) != 0;
}

/* Sleep `ms` in slices, watching the cancel flag. */
static bool sleep_ms(int64_t ms, const int *cancel)
{
  int64_t end = stream__mono_ms() + ms;
  for (;;) {
    if (cancelled(cancel))
      return false;
    int64_t left = end - stream__mono_ms();
    if (left <= 0)
      return true;
    if (left > 100)
      left = 100;
    struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
}

int stream_client_device_wait(stream_client *c, stream_client_device *dev, int64_t timeout_ms,
                              const int *cancel, stream_client_device_fn fn, void *userdata)
{
  if (!c || !dev)
    return stream__err(STREAM_EINVAL, "%s is NULL", c ? "dev" : "client");
  if (timeout_ms < 0)
    return stream__err(STREAM_EINVAL, "timeout_ms must not be negative, got %lld",
                       (long long)timeout_ms);
  int rc = check_device(dev);
  if (rc != STREAM_OK)
    return rc;
  int64_t start = stream__mono_ms();
  /* The codes' own end, on the monotonic clock. */
  int64_t expires = start + (dev->started_at + dev->expires_in - stream__now()) * 1000;
  int64_t deadline = timeout_ms > 0 ? start + timeout_ms : expires;
  int64_t backoff = 0; /* extra seconds after network errors */
  for (;;) {
    int64_t interval = dev->interval < 1 ? 1 : dev->interval;
    int64_t wait = (interval + backoff) * 1000;
    int64_t now = stream__mono_ms();
    if (now + wait > deadline && deadline == expires) {
      sleep_ms(deadline - now, cancel);
      if (cancelled(cancel))
        return stream__err(STREAM_ECANCELED, "waiting for the TV sign-in was cancelled");
      char shown[64];
      return stream__err(STREAM_EEXPIRED, "the TV code %s expired before it was approved",
                         shown_code(shown, dev));
    }
    if (now + wait > deadline) {
      if (!sleep_ms(deadline - now, cancel))
        return stream__err(STREAM_ECANCELED, "waiting for the TV sign-in was cancelled");
      char shown[64];
      return stream__err(STREAM_ETIMEDOUT, "the TV code %s was not approved within %lld ms",
                         shown_code(shown, dev), (long long)timeout_ms);
    }
    if (!sleep_ms(wait, cancel))
      return stream__err(STREAM_ECANCELED, "waiting for the TV sign-in was cancelled");
    int state = STREAM_CLIENT_DEVICE_PENDING;
    rc = stream_client_device_poll(&state, c, dev);
    if (rc == STREAM_EIO || rc == STREAM_ETIMEDOUT || rc == STREAM_EBUSY) {
      /* RFC 8628 §3.5: on connection trouble poll less often. */
      backoff = backoff ? (backoff * 2 > 60 ? 60 : backoff * 2) : interval;
      stream__log(STREAM_LOG_WARN, "client", "device poll failed (%s); next poll in %lld s",
                  stream_strerror(rc), (long long)(interval + backoff));
      continue;
    }
    if (rc != STREAM_OK)
      return rc;
    backoff = 0;
    if (fn && fn(state, dev->interval, userdata) != 0)
      return stream__err(STREAM_ECANCELED, "waiting for the TV sign-in was cancelled");
    if (state == STREAM_CLIENT_DEVICE_APPROVED)
      return STREAM_OK;
  }
}

int stream_client_activate(stream_client *c, const char *user_code, const char *email,
                           const char *password, int approve)
{
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  int rc;
  if ((rc = client__check_text("user_code", user_code, 16)) != STREAM_OK ||
      (rc = client__check_text("email", email, 254)) != STREAM_OK ||
      (rc = client__check_text("password", password, 1024)) != STREAM_OK)
    return rc;
  stream__buf b;
  form_init(&b, strlen(user_code) + strlen(email) + strlen(password) + 64);
  form_field(&b, "user_code", user_code);
  form_field(&b, "email", email);
  form_field(&b, "password", password);
  form_field(&b, "action", approve ? "approve" : "deny");
  char *body;
  if ((rc = form_detach(&b, &body)) != STREAM_OK)
    return rc;
  client__response r;
  rc = client__exchange(&r, c, "POST", "/activate", CLIENT__BODY_FORM, body, CLIENT__AUTH_NONE);
  client__free_body(body);
  if (rc != STREAM_OK)
    return rc;
  long st = r.status;
  bool html = r.content_type && strcmp(r.content_type, "text/html") == 0;
  char shown[64];
  client__clean_text(shown, sizeof shown, user_code);
  if (st >= 200 && st < 300)
    rc = STREAM_OK;
  else if (!html)
    rc = client__fail(&r, "POST", "/activate");
  else if (st == 401)
    rc = stream__err(STREAM_EAUTH, "activate: wrong email or password (HTTP 401)");
  else if (st == 410)
    rc = stream__err(STREAM_EEXPIRED, "activate: the code %s expired (HTTP 410)", shown);
  else if (st == 429)
    rc = stream__err(STREAM_EBUSY, "activate: too many attempts, retry after %lld s (HTTP 429)",
                     (long long)r.retry_after);
  else if (st == 400 || st == 404)
    rc = stream__err(STREAM_EINVAL, "activate: the code %s is unknown or malformed (HTTP %ld)",
                     shown, st);
  else
    rc = client__fail(&r, "POST", "/activate");
  client__response_free(&r);
  return rc;
}
