/*
 * Outgoing mail of streamd (the password reset link): each message is written
 * as one RFC 5322 text file into the outbox directory (config `mail_dir`),
 * for a mail transfer agent, a relay script or a test to pick up. No SMTP
 * here: delivery is the outbox reader's job.
 */
#ifndef STREAMD_MAIL_H
#define STREAMD_MAIL_H

#include <stddef.h>

/* Set the outbox directory (created 0700 when missing) and the From header.
 * Returns 0, or -1 after logging why. Call once at start-up. */
int streamd_mail_init(const char *dir, const char *from);

/*
 * The stream_auth_mail_fn of the auth service (userdata unused): writes the
 * message to <dir>/<unix-ms>-<random>.eml atomically (a hidden temporary
 * file, mode 0600, synced to disk, renamed into place, and the directory
 * synced) with From, To, Subject, Date, Message-ID, MIME-Version and
 * Content-Type: text/plain; charset=utf-8 headers and CRLF line ends.
 * Returns 0 only once the file is durable (the auth service then deletes the
 * reset request it came from), or -1 (header values with CR/LF, an I/O
 * failure: logged without the body; the request stays pending and is
 * retried). Thread-safe.
 */
int streamd_mail_send(void *userdata, const char *to, const char *subject, const char *text_body);

#endif
