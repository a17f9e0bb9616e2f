/*
 * Internal view of the client module (floor 3): the handle, the HTTP
 * transport and the helpers shared by the endpoint files. Not installed.
 */
#ifndef STREAM_CLIENT_INTERNAL_H
#define STREAM_CLIENT_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>

#include "../core/core.h"
#include "stream/client.h"

struct stream_client {
  char *base_url; /* scheme://host[:port][/prefix], no trailing slash */
  char *user_agent;
  char *ca_file;
  char *ca_path;
  char *client_id;
  long connect_timeout_ms;
  long timeout_ms;
  size_t max_response_bytes;

  /* Connection cache and DNS cache shared by the per-call easy handles. */
  CURLSH *share;
  pthread_mutex_t share_mu[CURL_LOCK_DATA_LAST];

  /* Session state. tok_gen changes whenever the tokens do, so that a thread
   * that saw a 401 with an old access token does not refresh a second time. */
  pthread_mutex_t tok_mu;
  char *access_token;
  char *refresh_token;
  int64_t access_expires_in;
  char account_id[STREAM_CLIENT_ID_MAX + 1];
  char profile_id[STREAM_CLIENT_ID_MAX + 1];
  uint64_t tok_gen;
  /* Serialises refreshes: with rotation and reuse detection two concurrent
   * refreshes with the same token would revoke the whole session. */
  pthread_mutex_t refresh_mu;
};

/* One HTTP exchange as the endpoint code sees it. */
typedef struct client__response {
  long status;        /* HTTP status, 0 when no response */
  char *body;         /* NUL-terminated, owned (free) */
  size_t len;         /* bytes in body */
  char *content_type; /* lowercased media type without parameters, or NULL */
  int64_t retry_after;
} client__response;

void client__response_free(client__response *r);
/* client__response_free, wiping the body first: for answers that carry tokens or codes. */
void client__response_free_secret(client__response *r);

/* Authentication of a request. */
enum {
  CLIENT__AUTH_NONE = 0,   /* no Authorization header */
  CLIENT__AUTH_BEARER = 1, /* access token; on 401 refresh once and retry */
  CLIENT__AUTH_TRY = 2     /* access token when signed in, none otherwise; no refresh */
};

/* Bodies sent. */
enum { CLIENT__BODY_NONE = 0, CLIENT__BODY_JSON = 1, CLIENT__BODY_FORM = 2 };

/*
 * Perform one request to base_url + path_query. `body` is sent with the
 * content type of `body_kind`. On a transport failure returns STREAM_EIO /
 * STREAM_ETIMEDOUT / STREAM_ERANGE (response too large) with curl's message.
 * Any HTTP status is a success of this function: `out` holds the response
 * (the caller frees it with client__response_free).
 */
int client__exchange(client__response *out, stream_client *c, const char *method,
                     const char *path_query, int body_kind, const char *body, int auth);

/*
 * client__exchange, then: a 2xx answer is kept in `out` (STREAM_OK), any other
 * is mapped to a status with the server's detail as the message (and `out`
 * is released). With CLIENT__AUTH_BEARER a 401 triggers one refresh and one
 * retry.
 */
int client__call(client__response *out, stream_client *c, const char *method,
                 const char *path_query, int body_kind, const char *body, int auth);

/* What a 2xx JSON answer must be (client__call_json_as). */
enum {
  CLIENT__JSON_ANY = 0,       /* any one JSON value; an empty body gives "null" */
  CLIENT__JSON_OBJECT = 1,    /* an object */
  CLIENT__JSON_ARRAY_IN = 2,  /* an object whose `member` is an array */
  CLIENT__JSON_OBJECT_IN = 3, /* an object whose `member` is an object */
  CLIENT__JSON_PAGE = 4 /* an object with an "items" array and a "next_cursor" string or null */
};

/* The body of an answer parsed as exactly one JSON value: NULL (nothing set) when it is not JSON,
 * has bytes after the value other than whitespace, or holds a NUL byte. */
struct cJSON *client__parse_json(const char *body, size_t len);

/* client__call for endpoints answering JSON: on success *out_json is the body,
 * checked to be one JSON value of the shape `want` (with `member`), else
 * STREAM_EPROTO; the caller frees it with stream_free(). out_json may be NULL
 * when the body is not wanted (then it is not checked). */
int client__call_json_as(char **out_json, stream_client *c, const char *method,
                         const char *path_query, const char *json_body, int auth, int want,
                         const char *member);

/* client__call_json_as with CLIENT__JSON_ANY. */
int client__call_json(char **out_json, stream_client *c, const char *method, const char *path_query,
                      const char *json_body, int auth);

/*
 * Map a non-2xx response to a stream_status and set the thread's error from
 * the problem+json `detail` (or OAuth `error_description` / `error`), or from
 * the HTTP status when the body says nothing usable. Exposed for unit tests.
 */
int client__map_error(long http_status, const char *content_type, const char *body, size_t len,
                      int64_t retry_after, const char *what);

/* Send "Idempotency-Key: <key>" with every request of the calling thread until
 * cleared with NULL (billing calls set it around one call, so that the retry
 * after a token refresh carries the same key). `key` is borrowed. */
void client__set_idempotency_key(const char *key);

/* Record the HTTP status and Retry-After of the calling thread's last response. */
void client__note_response(long http_status, int64_t retry_after);

/* Percent-encode `s` (RFC 3986 unreserved characters pass) onto b. */
void client__escape(stream__buf *b, const char *s);
/* Append "&name=value" (or "?name=value" for the first one) to a path. */
void client__query(stream__buf *b, const char *name, const char *value);
void client__query_int(stream__buf *b, const char *name, long long value);

/* Validate a base URL and return its normalised copy (no trailing slash). */
int client__normalize_base_url(char **out, const char *url);

/* Check an identifier that goes into a path segment: 1..128 bytes of
 * [A-Za-z0-9._~-] (what the server's ids use). */
int client__check_id(const char *what, const char *id);

/* Check a text argument: non-NULL, non-empty, at most max bytes, no NUL. */
int client__check_text(const char *what, const char *s, size_t max);

/* Check that a token (NUL-terminated, any length) holds printable ASCII only (0x21..0x7e), so it
 * can go into an Authorization header or a JSON body as it is: STREAM_EINVAL naming `what` and the
 * offset otherwise. The client's and the emitter's tokens, from callers and from servers. */
int client__check_token_chars(const char *what, const char *t);

/* Tokens (under tok_mu). Take ownership of nothing: inputs are copied. With `if_refresh` (may be
 * NULL: always stored) they are stored only while the handle still holds that refresh token, so
 * that a refresh that was in flight does not replace the session a sign-in, profile switch or
 * set_tokens stored meanwhile (the same tokens set again do not count: the answer replaces the
 * refresh token it used up); STREAM_OK either way. */
int client__store_tokens(stream_client *c, const char *access, const char *refresh,
                         int64_t expires_in, const char *account_id, const char *profile_id,
                         const char *if_refresh);
void client__clear_tokens(stream_client *c);

/* Parse a token response ({"access_token","refresh_token","expires_in",...})
 * and store the tokens. Tokens outside printable ASCII (client__check_token_chars),
 * an account_id / profile_id with such characters, or anything else malformed is
 * STREAM_EPROTO and nothing is stored. `session` (may be NULL) receives the
 * non-secret parts. With keep_ids an absent account_id / profile_id keeps the
 * previous value (refresh); otherwise it becomes "" (a new sign-in). `if_refresh`
 * as for client__store_tokens. */
int client__take_token_response(stream_client *c, const client__response *r,
                                stream_client_session *session, bool keep_ids,
                                const char *if_refresh);

/* A cJSON document printed compactly into one buffer of a size computed first
 * (no growth, so no unwiped copies are left behind), then deleted (NULL on
 * ENOMEM, with the error set). Free the result with client__free_body (wipes:
 * bodies may hold passwords and tokens). */
struct cJSON;
char *client__print(struct cJSON *doc);
void client__free_body(char *body);

/* Copy a server-provided string into a message: control characters become
 * spaces, at most cap - 1 bytes. */
void client__clean_text(char *dst, size_t cap, const char *src);

/* The error of a response the caller has decided is a failure. */
int client__fail(const client__response *r, const char *method, const char *path_query);

/* Refresh the session if the tokens are still those of generation `seen_gen`. */
int client__refresh(stream_client *c, uint64_t seen_gen);

#endif
