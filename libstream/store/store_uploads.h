/*
 * store: the upload-session table (module-internal, used only by
 * libstream/upload/). A row is the public stream_upload_info; `metadata` is
 * JSON text the upload module has validated (a JSON object, valid UTF-8). The backend keeps one row
 * per session and guarantees the offset only moves forward through set_offset.
 */
#ifndef STREAM_STORE_UPLOADS_H
#define STREAM_STORE_UPLOADS_H

#include "stream/upload.h"
#include "store_internal.h"

struct stream_store_upload_ops {
  int (*insert)(void *impl, const stream_upload_info *in); /* every field set */
  /* *out's metadata is heap (stream_upload_info_clear). STREAM_ENOTFOUND when absent. */
  int (*get)(void *impl, stream_upload_info *out, const char *id);
  /* offset = new_offset where offset = old_offset, and completed_at (0 = keep NULL);
   * STREAM_ECONFLICT when the stored offset is not old_offset, STREAM_ENOTFOUND. */
  int (*set_offset)(void *impl, const char *id, int64_t old_offset, int64_t new_offset,
                    int64_t completed_at);
  int (*remove)(void *impl, const char *id); /* STREAM_ENOTFOUND when absent */
  /* Ids of incomplete sessions with 0 < expires_at <= now, at most `limit`;
   * *out is an array of STREAM_UPLOAD_ID_SIZE-byte ids freed with free(). */
  int (*list_expired)(void *impl, char (**out)[STREAM_UPLOAD_ID_SIZE], size_t *out_count,
                      int64_t now, unsigned int limit);
  /* Optional (NULL: STREAM_ENOTSUP). Number of incomplete sessions with expires_at 0 or
   * > now. */
  int (*count_active)(void *impl, int64_t *out, int64_t now);
};

#endif
