/*
 * streamd's private files under <data_dir>: directories (0700) and key files
 * (0600) made on the first start and loaded afterwards. Several daemons may
 * start at the same moment on one shared data directory (scale-out on one
 * PostgreSQL database): a directory another made first is fine, and a key
 * file appears whole or not at all (written under a temporary name, then
 * hard-linked), so each daemon loads the one key that was published first.
 * The access-token and native media keys come in generations (several files
 * per role, one signing, all accepted), so they can be replaced without
 * refusing what the key before signed.
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

/* The most key files of one role streamd_key_generations() loads. */
#define STREAMD_KEY_GENERATIONS_MAX 8
/* The highest generation number a key file name may carry. */
#define STREAMD_KEY_GENERATION_LAST 9999

/* A role's HMAC key generations in the keys directory `dir` (made with streamd_ensure_dir()),
 * loaded into a new key ring `*out` (the caller frees it with stream_keyring_free()), for a key
 * rotation without a window in which what the old key signed is refused:
 *
 *   <role>.key           generation 1, key id <role>-1 (the file streamd has always used)
 *   <role>-<n>.key       generation n (2..STREAMD_KEY_GENERATION_LAST, decimal, no leading
 *                        zero), key id <role>-<n>: signs when it is the highest such
 *   <role>-<n>.next.key  generation n accepted for verification only (id <role>-<n>)
 *
 * Every key found is in the ring; the primary (what signs) is the highest active generation.
 * When the directory holds none of these names, <role>.key is generated first (a 32-byte key,
 * published whole as streamd_key_file() does) and is the only key. Each file is opened, checked
 * and read as streamd_read_key_file() does with `generated` set (streamd's own uid, 0600, no
 * symlink, 16 KiB at most). Other names (<role>.key.<12 hex>.tmp, rate.key, anything not
 * <role>.key or <role>-*.key) are left alone. Refused, naming the files: a <role>-*.key name whose
 * generation is not a number in 2..9999 without leading zeros; one generation both active and
 * next; more than STREAMD_KEY_GENERATIONS_MAX keys; keys of which none is active (a .next key
 * alone: say which to rename). The ids found are logged at the INFO level (which one signs,
 * which are accepted), never a key. `what` names the keys in the log ("access-token signing
 * key"). 0, or -1 after logging why. */
int streamd_key_generations(stream_keyring **out, const char *dir, const char *role,
                            const char *what);

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
