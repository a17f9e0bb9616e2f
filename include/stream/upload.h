/**
 * @file stream/upload.h
 * @brief Resumable uploads (floor 2, "upload"): durable upload sessions in
 *        the model of tus 1.0 (creation, append at an offset, per-chunk
 *        checksums, termination, expiration), speaking no HTTP.
 *
 * A session is a store row (id, owner, declared length, committed offset,
 * metadata, expiry) plus a data file `<dir>/<id>.part`. Data arrives in
 * chunks through a writer: stream_upload_begin() checks the offset and opens
 * the file, stream_upload_write() appends bytes as they arrive (the daemon
 * calls it per received piece of a PATCH body), stream_upload_end() verifies
 * the chunk's checksum, fsyncs the file and only then commits the new offset
 * in the store. An offset this module has returned therefore survives a
 * crash; bytes written after the last commit are cut off (the file is
 * truncated back to the committed offset) by the next begin.
 *
 * Metadata is a JSON object of string values (the decoded tus
 * Upload-Metadata pairs); stream_upload_metadata_parse() converts the tus
 * header form.
 *
 * Thread-safety: a stream_uploads handle may be used by any number of
 * threads at once; one session has at most one writer at a time (a second
 * stream_upload_begin() on it gets STREAM_EBUSY), also across handles and
 * processes sharing the directory (several daemons on one database and one
 * shared data directory): a writer holds an exclusive flock() on the data
 * file from begin to end, which termination and the sweep respect too. A
 * writer is used by one thread at a time.
 */
#ifndef STREAM_UPLOAD_H
#define STREAM_UPLOAD_H

#include <stddef.h>
#include <stdint.h>

#include "stream/common.h"
#include "stream/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Size of an id buffer (upload and owner ids). */
#define STREAM_UPLOAD_ID_SIZE 65
/** Longest metadata JSON text, in bytes (tus Upload-Metadata decoded). */
#define STREAM_UPLOAD_METADATA_MAX 4096
/** Size of a path buffer of stream_upload_path(). */
#define STREAM_UPLOAD_PATH_SIZE 4096

/** An upload session. Release with stream_upload_info_clear(). */
typedef struct stream_upload_info {
  char id[STREAM_UPLOAD_ID_SIZE];
  char owner[STREAM_UPLOAD_ID_SIZE]; /**< who created it (account id), "" = none */
  int64_t length;                    /**< declared total length in bytes */
  int64_t offset;                    /**< bytes durably received */
  char *metadata;                    /**< JSON object of strings (owned), "{}" when none */
  int64_t created_at;
  int64_t expires_at;   /**< an incomplete upload is deleted after this, 0 = never */
  int64_t completed_at; /**< when offset reached length, else 0 */
} stream_upload_info;

/** Free the strings of a session filled by this module and zero it. NULL is a no-op. */
STREAM_API void stream_upload_info_clear(stream_upload_info *info);

/** A clock: Unix seconds. Must be thread-safe. */
typedef int64_t (*stream_upload_clock_fn)(void *userdata);

/** The upload service handle (opaque). */
typedef struct stream_uploads stream_uploads;

/** Options of stream_upload_new(). Start from STREAM_UPLOAD_OPTIONS_INIT. */
typedef struct stream_upload_options {
  unsigned int version;       /**< STREAM_UPLOAD_OPTIONS_VERSION */
  stream_store *store;        /**< required; borrowed, must outlive the handle */
  const char *dir;            /**< directory of the data files; created if missing (copied) */
  int64_t max_length;         /**< largest upload in bytes; 0 = 10 GiB */
  int64_t expiry_seconds;     /**< lifetime of an incomplete upload; 0 = 86400, < 0 = never */
  stream_upload_clock_fn now; /**< NULL = the system clock */
  void *now_userdata;         /**< passed to `now` */
} stream_upload_options;

#define STREAM_UPLOAD_OPTIONS_VERSION 1
#define STREAM_UPLOAD_OPTIONS_INIT                                                                 \
  {                                                                                                \
    STREAM_UPLOAD_OPTIONS_VERSION, NULL, NULL, 0, 0, NULL, NULL                                    \
  }

/**
 * Create the upload service over `opts->store`, keeping data files in
 * `opts->dir` (created with mode 0700 when missing). On success `*out`
 * belongs to the caller, who frees it with stream_upload_free().
 * Errors: STREAM_EINVAL (NULL, no store or dir, bad version or values),
 * STREAM_ENOTSUP (the store's backend has no upload tables), STREAM_EIO
 * (cannot create the directory), STREAM_ENOMEM.
 */
STREAM_API int stream_upload_new(stream_uploads **out, const stream_upload_options *opts);

/** Free the handle (no writer may be open). NULL is a no-op. */
STREAM_API void stream_upload_free(stream_uploads *u);

/** The largest upload length the handle accepts. NULL gives 0. Thread-safe. */
STREAM_API int64_t stream_upload_max_length(const stream_uploads *u);

/**
 * Parse a tus Upload-Metadata header ("key base64,key2 base64,key3") into a
 * JSON object of strings (`*out_json`, NUL-terminated; caller frees with
 * stream_free()). Keys must be non-empty, without spaces or commas, unique;
 * values are standard base64 and must decode to UTF-8 text without NUL; a
 * key without value maps to "". NULL or "" gives "{}".
 * Errors: STREAM_EINVAL (malformed; the message names the pair),
 * STREAM_ERANGE (longer than STREAM_UPLOAD_METADATA_MAX), STREAM_ENOMEM.
 * Thread-safe.
 */
STREAM_API int stream_upload_metadata_parse(char **out_json, const char *header);

/**
 * Create a session of `length` bytes (0..max_length) for `owner` (NULL or ""
 * = none) with `metadata` (one JSON object whose values are strings, valid
 * UTF-8, nothing but whitespace after it; NULL = "{}"), expiring after the
 * handle's expiry. A zero-length upload is complete
 * at once. Its empty data file is created. `*out` receives the session
 * (release with stream_upload_info_clear()).
 * Errors: STREAM_EINVAL (bad length, owner or metadata), STREAM_ERANGE
 * (length above max_length, metadata longer than STREAM_UPLOAD_METADATA_MAX),
 * STREAM_EIO, STREAM_EBUSY, STREAM_ENOMEM.
 * Thread-safe.
 */
STREAM_API int stream_upload_create(stream_upload_info *out, stream_uploads *u, int64_t length,
                                    const char *owner, const char *metadata);

/**
 * Get session `id` (release with stream_upload_info_clear()).
 * Errors: STREAM_ENOTFOUND (unknown or deleted), STREAM_EEXPIRED (an
 * incomplete upload past its expiry; the sweep will delete it), STREAM_EINVAL,
 * STREAM_EIO, STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_upload_get(stream_upload_info *out, stream_uploads *u, const char *id);

/** A chunk being appended (opaque). */
typedef struct stream_upload_writer stream_upload_writer;

/**
 * Start appending a chunk to session `id` at `offset`, which must equal the
 * committed offset. `checksum` (NULL = none) is a tus Upload-Checksum value,
 * "sha1 <base64>" or "sha256 <base64>", checked over the whole chunk at
 * stream_upload_end(). Bytes past the committed offset left by a crash are
 * truncated here. On success `*out` belongs to the caller until
 * stream_upload_end().
 * Errors: STREAM_ENOTFOUND, STREAM_EEXPIRED (expired), STREAM_ECONFLICT
 * (offset differs from the committed offset, or the upload is complete),
 * STREAM_EBUSY (another writer is open on it, in this process or another
 * one sharing the directory), STREAM_ENOTSUP (unsupported
 * checksum algorithm), STREAM_EINVAL (malformed checksum or arguments),
 * STREAM_EIO, STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_upload_begin(stream_upload_writer **out, stream_uploads *u, const char *id,
                                   int64_t offset, const char *checksum);

/**
 * Append `len` bytes of the chunk. Nothing is committed yet.
 * Errors: STREAM_ERANGE (the data would pass the declared length; the writer
 * then discards the chunk at end), STREAM_EINVAL, STREAM_EIO.
 */
STREAM_API int stream_upload_write(stream_upload_writer *w, const void *data, size_t len);

/**
 * Finish the chunk and free the writer. With `complete` 1 (the whole chunk
 * arrived) the checksum, if any, is verified; on a match (or without one) the
 * file is fsynced and the new offset committed in the store before this
 * returns. With `complete` 0 (the body was cut short) the bytes received are
 * kept the same way when no checksum was given, and discarded otherwise. A
 * discarded chunk is cut off the file. `*out_offset` (may be NULL) receives
 * the committed offset after the call, also on failure.
 * Errors: STREAM_EPROTO (checksum mismatch: the chunk was discarded),
 * STREAM_ERANGE (the chunk passed the declared length: discarded),
 * STREAM_ECONFLICT (another writer moved the committed offset first, which
 * only a file system without flock() lets happen: discarded), STREAM_EINVAL
 * (NULL writer; `*out_offset` is not set then), STREAM_EIO, STREAM_EBUSY.
 */
STREAM_API int stream_upload_end(int64_t *out_offset, stream_upload_writer *w, int complete);

/**
 * The data file of session `id` into `out` (`cap` bytes,
 * STREAM_UPLOAD_PATH_SIZE is enough). It is complete when the session is.
 * Errors: STREAM_EINVAL (bad id), STREAM_ERANGE (buffer too small).
 * Thread-safe.
 */
STREAM_API int stream_upload_path(char *out, size_t cap, const stream_uploads *u, const char *id);

/**
 * Delete session `id` and its data file (tus termination; also used once a
 * completed upload has been processed).
 * Errors: STREAM_ENOTFOUND, STREAM_EBUSY (a writer is open on it, in any
 * process sharing the directory), STREAM_EINVAL, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_upload_terminate(stream_uploads *u, const char *id);

/**
 * Delete every incomplete session past its expiry, and its data file.
 * `*out_count` (may be NULL) receives the number deleted. Sessions with an
 * open writer (in any process sharing the directory) are skipped, and each
 * session is checked again under its lock: one a writer completed (or
 * moved) since the list was read stays only if it is still expired and
 * incomplete, so a completed upload is never swept.
 * Errors: STREAM_EINVAL, STREAM_EBUSY, STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_upload_sweep(size_t *out_count, stream_uploads *u);

/**
 * The number of sessions in progress into `*out`: incomplete and not past
 * their expiry (completed sessions waiting to be processed and expired ones
 * waiting for the sweep are not counted). One query over the store's index
 * of incomplete sessions: its cost grows with their number, not with all
 * sessions ever made. On failure `*out` is 0.
 * Errors: STREAM_EINVAL (NULL out or handle), STREAM_ENOTSUP (the store's
 * backend cannot count), STREAM_EIO. Thread-safe.
 */
STREAM_API int stream_upload_count_active(int64_t *out, stream_uploads *u);

#ifdef __cplusplus
}
#endif

#endif
