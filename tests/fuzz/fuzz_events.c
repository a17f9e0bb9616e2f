/*
 * Fuzz target: the player-event batch decoders that stream_events_ingest()
 * runs before it touches the store (libstream/events/decode.c, internal):
 * gzip under a cap, protobuf and JSON batches into validated rows. The first
 * byte picks the format (bit 0: JSON) and gzip (bit 1); the rest is the body.
 * Invariants: success gives 1..max_events rows, each with a lowercase
 * 36-character id, a view id, a known type and NUL-terminated strings;
 * failure gives no rows and a message.
 */
#include <ctype.h>
#include <string.h>

#include "events/events_internal.h"
#include "fuzz_util.h"

#define MAX_EVENTS 64
#define MAX_BODY (256 * 1024)

static void check_row(const stream_event *e)
{
  FUZZ_ASSERT(strlen(e->id) == STREAM_EVENTS_UUID_LEN);
  for (const char *p = e->id; *p; p++)
    FUZZ_ASSERT(!isupper((unsigned char)*p));
  FUZZ_ASSERT(e->view_id[0] != '\0');
  FUZZ_ASSERT(stream_event_type_name(e->type) != NULL);
  FUZZ_ASSERT(memchr(e->session_id, '\0', sizeof e->session_id) != NULL);
  FUZZ_ASSERT(memchr(e->profile_id, '\0', sizeof e->profile_id) != NULL);
  FUZZ_ASSERT(memchr(e->title_id, '\0', sizeof e->title_id) != NULL);
  FUZZ_ASSERT(memchr(e->episode_id, '\0', sizeof e->episode_id) != NULL);
  FUZZ_ASSERT(memchr(e->device_id, '\0', sizeof e->device_id) != NULL);
  FUZZ_ASSERT(memchr(e->sid, '\0', sizeof e->sid) != NULL);
  FUZZ_ASSERT(memchr(e->cid, '\0', sizeof e->cid) != NULL);
  FUZZ_ASSERT(memchr(e->ot, '\0', sizeof e->ot) != NULL);
  FUZZ_ASSERT(memchr(e->error_message, '\0', sizeof e->error_message) != NULL);
  FUZZ_ASSERT(e->su == 0 || e->su == 1);
  FUZZ_ASSERT(e->error_fatal == 0 || e->error_fatal == 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  int json = data[0] & 1, gzip = (data[0] >> 1) & 1;
  const void *body = data + 1;
  size_t len = size - 1;
  unsigned char *plain = NULL;
  int rc;
  if (gzip) {
    size_t plain_len = 12345;
    stream_error_clear();
    rc = events__gunzip(&plain, &plain_len, body, len, MAX_BODY);
    fuzz_check_status(rc);
    if (rc != STREAM_OK) {
      FUZZ_ASSERT(plain == NULL && plain_len == 0);
      return 0;
    }
    FUZZ_ASSERT(plain_len <= MAX_BODY);
    body = plain;
    len = plain_len;
  }
  stream_event *rows = NULL;
  size_t n = 12345;
  stream_error_clear();
  rc = json ? events__decode_json(&rows, &n, body, len, MAX_EVENTS)
            : events__decode_protobuf(&rows, &n, body, len, MAX_EVENTS);
  fuzz_check_status(rc);
  if (rc == STREAM_OK) {
    FUZZ_ASSERT(rows != NULL && n >= 1 && n <= MAX_EVENTS);
    for (size_t i = 0; i < n; i++)
      check_row(&rows[i]);
  } else {
    FUZZ_ASSERT(rows == NULL);
  }
  free(rows);
  free(plain);
  return 0;
}
