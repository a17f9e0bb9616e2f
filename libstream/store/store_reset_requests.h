/*
 * store: pending password reset requests (module-internal, used only by the
 * auth service: libstream/auth/reset_requests.c; SQLite rows in
 * sqlite/reset_requests.c, migration 14).
 *
 * One row per request accepted by stream_auth_password_reset_request(),
 * whatever the address: the normalized e-mail and the request time, never a
 * token (the processor draws it). Rows are taken oldest first (by id, which
 * is never reused). Taking a row is a claim, made in a write transaction:
 * `attempts` goes up by one (so the pair id + attempts names this claim) and
 * the row is not claimable again before `claimed_until`. The claimer deletes
 * the row when done, only if the claim is still its own (same attempts): if
 * another processor took the row over meanwhile (the claim ran out, or a new
 * processor took back the claims of earlier ones), the delete changes
 * nothing and that processor finishes the row.
 */
#ifndef STREAM_STORE_RESET_REQUESTS_H
#define STREAM_STORE_RESET_REQUESTS_H

#include <stddef.h>
#include <stdint.h>

#include "store_internal.h"

/* A claimed request. Fixed-size. */
typedef struct store__reset_request {
  int64_t id;
  char email[STREAM_STORE_EMAIL_MAX + 1]; /* normalized by auth (valid UTF-8) */
  int64_t requested_at;                   /* Unix seconds */
  int64_t attempts;                       /* claims so far, this one included */
} store__reset_request;

struct stream_store_reset_request_ops {
  /* One committed row (attempts 0, claimable at once). `email` is 1..254
   * bytes, `requested_at` > 0 (checked by auth). */
  int (*insert)(void *impl, const char *email, int64_t requested_at);
  /* In one write transaction: the oldest row with claimed_until <= now gets
   * attempts + 1 and claimed_until = `until`; *out receives it as updated.
   * STREAM_ENOTFOUND ("no password reset request to process") when no row is
   * claimable. */
  int (*claim)(void *impl, store__reset_request *out, int64_t now, int64_t until);
  /* Delete row `id` if its attempts is still `attempts`: *out_deleted 1, or 0
   * when the row is gone or claimed again since. */
  int (*remove)(void *impl, int *out_deleted, int64_t id, int64_t attempts);
  /* Make every claimed row claimable now (claimed_until = 0); *out_count
   * receives how many were. */
  int (*release_all)(void *impl, size_t *out_count);
  /* Rows in the table, claimed or not. */
  int (*count)(void *impl, size_t *out_count);
};

#endif
