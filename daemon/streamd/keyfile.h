/*
 * streamd's private files under <data_dir>: directories (0700) and key files
 * (0600) made on the first start and loaded afterwards. Several daemons may
 * start at the same moment on one shared data directory (scale-out on one
 * PostgreSQL database): a directory another made first is fine, and a key
 * file appears whole or not at all (written under a temporary name, then
 * hard-linked), so each daemon loads the one key that was published first.
 */
#ifndef STREAMD_KEYFILE_H
#define STREAMD_KEYFILE_H

#include <stddef.h>

#include "stream/keys.h"

/* `dir` as a directory: made 0700 when missing (also when another process makes it at the same
 * moment), else it must be a writable directory (a warning when group or others may enter).
 * 0, or -1 after logging why. */
int streamd_ensure_dir(const char *dir);

/* Write `text` to the new file `path`: O_EXCL, mode 0600, synced. 0, or -1 (errno set; no
 * partial file is left). */
int streamd_write_private_file(const char *path, const char *text);

/* A signing key file `path`, loaded as `type` with id `id` into `*out` (the caller frees it with
 * stream_key_free()). When it does not exist and `generate` is set, a fresh key (`gen_len` bytes
 * for HMAC) exported in `fmt` is published there first (0600, whole). An existing file, and one
 * another process published there first, must be a regular file (not a symlink) of mode 0600.
 * `what` names the key in the log ("access-token signing key"). 0, or -1 after logging why. Secrets
 * are never logged. */
int streamd_key_file(stream_key **out, const char *path, int generate, stream_key_type type,
                     const char *id, size_t gen_len, stream_key_format fmt, const char *what);

#endif
