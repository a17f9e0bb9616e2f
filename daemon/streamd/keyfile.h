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
 * for HMAC) exported in `fmt` is published there first (0600, whole). Whatever then holds the
 * name (an existing file, ours, or one another process published first) is read as
 * streamd_read_key_file() reads it, with `generate` as `generated`, and parsed with
 * stream_key_from_text(). `what` names the key in the log ("access-token signing key"). 0, or -1
 * after logging why (the messages name the path, never the key). */
int streamd_key_file(stream_key **out, const char *path, int generate, stream_key_type type,
                     const char *id, size_t gen_len, stream_key_format fmt, const char *what);

/* Read the key file `path` into `*out` (NUL-terminated text; the caller wipes and frees it with
 * stream_free_secret(*out, strlen(*out))). The file is opened once (O_NOFOLLOW, O_NONBLOCK) and
 * every check is made on that descriptor, so a name swapped between a check and the open cannot
 * slip past: it must be a regular file (a symlink, FIFO or device is refused at once, never read
 * or waited on), of no group or other permission bits (0600 or stricter), of at most 16 KiB of
 * text. Its owner must be streamd's effective uid when `generated` (the keys streamd generates in
 * its own keys directory), and the effective uid or root otherwise (an operator's file: a
 * root-owned 0600 file provisioned for streamd running as root is fine, another user's file is a
 * key that user can rewrite or chmod at will, and is refused: the rule of OpenSSH's StrictModes
 * for the files sshd trusts, owner root or the user). 0, or -1 after logging why (naming the path,
 * never the key). */
int streamd_read_key_file(char **out, const char *path, int generated);

#endif
