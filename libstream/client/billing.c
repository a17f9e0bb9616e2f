/*
 * client billing calls: plans, the subscription and its changes, invoices,
 * payment methods, entitlement checks and screen leases (/v1/billing/...).
 * Calls that change billing state send an Idempotency-Key header: the
 * caller's key, or a random one generated here for the call. The key is set
 * for the calling thread around one client__call, so the one retry after a
 * token refresh carries the same key and the server does the work once.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "client_internal.h"

#define IDEM_KEY_MAX 255
#define TOKEN_MAX 255
#define DEVICE_MAX 128

/* 1..255 printable ASCII characters, no spaces (what the server accepts). */
static int check_key(const char *key)
{
  size_t n = strlen(key);
  if (n == 0 || n > IDEM_KEY_MAX)
    return stream__err(STREAM_EINVAL, "the idempotency key must be 1..%d characters, got %zu",
                       IDEM_KEY_MAX, n);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)key[i] <= 0x20 || (unsigned char)key[i] >= 0x7f)
      return stream__err(STREAM_EINVAL,
                         "the idempotency key must be printable ASCII without spaces "
                         "(bad byte at offset %zu)",
                         i);
  return STREAM_OK;
}

/* A random key "cli-<32 hex>" into buf (at least 40 bytes). */
static int random_key(char *buf)
{
  unsigned char r[16];
  int rc = stream_random_bytes(r, sizeof r);
  if (rc != STREAM_OK)
    return rc;
  static const char hex[] = "0123456789abcdef";
  memcpy(buf, "cli-", 4);
  for (size_t i = 0; i < sizeof r; i++) {
    buf[4 + 2 * i] = hex[r[i] >> 4];
    buf[5 + 2 * i] = hex[r[i] & 15];
  }
  buf[4 + 2 * sizeof r] = '\0';
  return STREAM_OK;
}

/* client__call_json_as with the Idempotency-Key header (NULL key = a random one). */
static int keyed_call(char **out_json, stream_client *c, const char *path, const char *body,
                      const char *key, int want, const char *member)
{
  char generated[48];
  if (key) {
    int rc = check_key(key);
    if (rc != STREAM_OK)
      return rc;
  } else {
    int rc = random_key(generated);
    if (rc != STREAM_OK)
      return rc;
    key = generated;
  }
  client__set_idempotency_key(key);
  int rc = client__call_json_as(out_json, c, "POST", path, body, CLIENT__AUTH_BEARER, want, member);
  client__set_idempotency_key(NULL);
  return rc;
}

/* GET a JSON answer of the shape `want` (CLIENT__JSON_*, with `member`), else STREAM_EPROTO. */
static int get_json(char **out_json, stream_client *c, const char *path, int want,
                    const char *member)
{
  if (!out_json || !c)
    return stream__err(STREAM_EINVAL, "%s is NULL", out_json ? "client" : "out_json");
  *out_json = NULL;
  return client__call_json_as(out_json, c, "GET", path, NULL, CLIENT__AUTH_BEARER, want, member);
}

/* A JSON body from a cJSON object whose construction may have failed (NULL). */
static char *body_of(cJSON *o, int ok)
{
  if (o && !ok) {
    cJSON_Delete(o);
    o = NULL;
  }
  return client__print(o);
}

static int path_with_id(char **out, const char *prefix, const char *id, const char *suffix)
{
  *out = NULL;
  int rc = client__check_id("lease id", id);
  if (rc != STREAM_OK)
    return rc;
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_puts(&b, prefix);
  client__escape(&b, id);
  if (suffix)
    stream__buf_puts(&b, suffix);
  if (b.failed) {
    stream__buf_free(&b);
    return stream__err(STREAM_ENOMEM, "out of memory building a request path");
  }
  return stream__buf_detach(&b, out);
}

/* Keep the server's message, change the status (the server's 409 means
 * something more precise for this call). */
static int recode(int rc, int from, int to)
{
  if (rc != from)
    return rc;
  const stream_error *e = stream_error_last();
  if (e && e->code == from && e->message[0]) {
    char msg[sizeof e->message];
    memcpy(msg, e->message, sizeof msg);
    return stream__err(to, "%s", msg);
  }
  return stream__err(to, "%s", stream_strerror(to));
}

/* ---- plans and subscription --------------------------------------------- */

int stream_client_billing_plans(char **out_json, stream_client *c)
{
  return get_json(out_json, c, "/v1/billing/plans", CLIENT__JSON_ARRAY_IN, "plans");
}

int stream_client_billing_subscription(char **out_json, stream_client *c)
{
  return get_json(out_json, c, "/v1/billing/subscription", CLIENT__JSON_OBJECT_IN, "subscription");
}

int stream_client_billing_subscribe(char **out_json, stream_client *c, const char *plan_id,
                                    const char *card_id, const char *idempotency_key)
{
  if (out_json)
    *out_json = NULL;
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  int rc = client__check_id("plan id", plan_id);
  if (rc == STREAM_OK && card_id)
    rc = client__check_id("card id", card_id);
  if (rc != STREAM_OK)
    return rc;
  cJSON *o = cJSON_CreateObject();
  char *body = body_of(o, o && cJSON_AddStringToObject(o, "plan_id", plan_id) &&
                              (!card_id || cJSON_AddStringToObject(o, "card_id", card_id)));
  if (!body)
    return STREAM_ENOMEM;
  rc = keyed_call(out_json, c, "/v1/billing/subscription", body, idempotency_key,
                  CLIENT__JSON_OBJECT_IN, "subscription");
  client__free_body(body);
  return rc;
}

int stream_client_billing_change_plan(char **out_json, stream_client *c, const char *plan_id,
                                      const char *idempotency_key)
{
  if (out_json)
    *out_json = NULL;
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  int rc = client__check_id("plan id", plan_id);
  if (rc != STREAM_OK)
    return rc;
  cJSON *o = cJSON_CreateObject();
  char *body = body_of(o, o && cJSON_AddStringToObject(o, "plan_id", plan_id));
  if (!body)
    return STREAM_ENOMEM;
  rc = keyed_call(out_json, c, "/v1/billing/subscription/change", body, idempotency_key,
                  CLIENT__JSON_OBJECT_IN, "subscription");
  client__free_body(body);
  return rc;
}

int stream_client_billing_cancel(char **out_json, stream_client *c, const char *idempotency_key)
{
  if (out_json)
    *out_json = NULL;
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  return keyed_call(out_json, c, "/v1/billing/subscription/cancel", "{}", idempotency_key,
                    CLIENT__JSON_OBJECT_IN, "subscription");
}

int stream_client_billing_resume(char **out_json, stream_client *c, const char *idempotency_key)
{
  if (out_json)
    *out_json = NULL;
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  return keyed_call(out_json, c, "/v1/billing/subscription/resume", "{}", idempotency_key,
                    CLIENT__JSON_OBJECT_IN, "subscription");
}

/* ---- invoices and payment methods --------------------------------------- */

int stream_client_billing_invoices(char **out_json, stream_client *c)
{
  return get_json(out_json, c, "/v1/billing/invoices", CLIENT__JSON_ARRAY_IN, "invoices");
}

int stream_client_billing_card_add(char **out_json, stream_client *c, const char *token,
                                   const char *idempotency_key)
{
  if (out_json)
    *out_json = NULL;
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  int rc = client__check_text("payment token", token, TOKEN_MAX);
  if (rc != STREAM_OK)
    return rc;
  cJSON *o = cJSON_CreateObject();
  char *body = body_of(o, o && cJSON_AddStringToObject(o, "token", token));
  if (!body)
    return STREAM_ENOMEM;
  rc = keyed_call(out_json, c, "/v1/billing/payment-methods", body, idempotency_key,
                  CLIENT__JSON_OBJECT, NULL);
  client__free_body(body);
  return rc;
}

/* ---- entitlement and leases --------------------------------------------- */

static int check_device(const char *device_id)
{
  int rc = client__check_text("device id", device_id, DEVICE_MAX);
  if (rc != STREAM_OK)
    return rc;
  for (size_t i = 0; device_id[i]; i++)
    if ((unsigned char)device_id[i] < 0x20 || (unsigned char)device_id[i] >= 0x7f)
      return stream__err(STREAM_EINVAL, "the device id must be printable ASCII");
  return STREAM_OK;
}

int stream_client_billing_entitlement(char **out_json, stream_client *c, const char *title_id,
                                      const char *device_id)
{
  if (!out_json || !c)
    return stream__err(STREAM_EINVAL, "%s is NULL", out_json ? "client" : "out_json");
  *out_json = NULL;
  int rc = client__check_id("title id", title_id);
  if (rc == STREAM_OK)
    rc = check_device(device_id);
  if (rc != STREAM_OK)
    return rc;
  stream__buf b;
  stream__buf_init(&b);
  stream__buf_puts(&b, "/v1/billing/entitlement");
  client__query(&b, "title_id", title_id);
  client__query(&b, "device_id", device_id);
  if (b.failed) {
    stream__buf_free(&b);
    return stream__err(STREAM_ENOMEM, "out of memory building a request path");
  }
  char *path;
  if ((rc = stream__buf_detach(&b, &path)) != STREAM_OK)
    return rc;
  rc = client__call_json_as(out_json, c, "GET", path, NULL, CLIENT__AUTH_BEARER,
                            CLIENT__JSON_OBJECT, NULL);
  free(path);
  return rc;
}

int stream_client_billing_lease_acquire(char **out_json, stream_client *c, const char *title_id,
                                        const char *device_id, const char *device_name)
{
  if (out_json)
    *out_json = NULL;
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  int rc = client__check_id("title id", title_id);
  if (rc == STREAM_OK)
    rc = check_device(device_id);
  if (rc == STREAM_OK && device_name)
    rc = client__check_text("device name", device_name, DEVICE_MAX);
  if (rc != STREAM_OK)
    return rc;
  cJSON *o = cJSON_CreateObject();
  char *body =
      body_of(o, o && cJSON_AddStringToObject(o, "title_id", title_id) &&
                     cJSON_AddStringToObject(o, "device_id", device_id) &&
                     (!device_name || cJSON_AddStringToObject(o, "device_name", device_name)));
  if (!body)
    return STREAM_ENOMEM;
  rc = client__call_json_as(out_json, c, "POST", "/v1/billing/leases", body, CLIENT__AUTH_BEARER,
                            CLIENT__JSON_OBJECT, NULL);
  client__free_body(body);
  /* streamd answers 409 when every screen is taken (the library's STREAM_EBUSY). */
  return recode(rc, STREAM_ECONFLICT, STREAM_EBUSY);
}

int stream_client_billing_lease_heartbeat(char **out_json, stream_client *c, const char *lease_id)
{
  if (out_json)
    *out_json = NULL;
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  char *path;
  int rc = path_with_id(&path, "/v1/billing/leases/", lease_id, "/heartbeat");
  if (rc != STREAM_OK)
    return rc;
  rc = client__call_json_as(out_json, c, "POST", path, "{}", CLIENT__AUTH_BEARER,
                            CLIENT__JSON_OBJECT, NULL);
  free(path);
  /* streamd answers 409 for a lapsed lease (the library's STREAM_EEXPIRED). */
  return recode(rc, STREAM_ECONFLICT, STREAM_EEXPIRED);
}

int stream_client_billing_lease_release(stream_client *c, const char *lease_id)
{
  if (!c)
    return stream__err(STREAM_EINVAL, "client is NULL");
  char *path;
  int rc = path_with_id(&path, "/v1/billing/leases/", lease_id, NULL);
  if (rc != STREAM_OK)
    return rc;
  rc = client__call_json(NULL, c, "DELETE", path, NULL, CLIENT__AUTH_BEARER);
  free(path);
  return rc;
}
