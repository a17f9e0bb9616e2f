/*
 * The emitter's on-disk spool (internal to libstream/client/). One file of
 * append-only records:
 *
 *   u32 magic "SPL1" | u8 kind ('B' batch, 'A' ack) | 3 zero bytes |
 *   u32 payload length | u32 CRC-32 of the first 12 header bytes and the payload |
 *   payload: u64 batch id, then (kind 'B') the protobuf Batch
 *
 * (integers little-endian). A batch is pending until an ack record with its
 * id follows. Opening locks the file (flock, one emitter per spool) and scans
 * it: a record that is incomplete or fails its CRC is skipped up to the next
 * magic that starts a good record, and bytes after the last good record (the
 * torn tail of a write cut by a kill -9 or a crash) are cut off. Appends of
 * batches are synced (fdatasync) before the batch is sent. When nothing is
 * pending the file is truncated to zero; when it grows past twice its bound
 * the pending records are rewritten into a new file that replaces it (rename,
 * then fsync of the directory; on failure the old file stays in use).
 */
#ifndef STREAM_CLIENT_SPOOL_H
#define STREAM_CLIENT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct emitter__spool_rec {
  uint64_t id;
  uint64_t off; /* of the record header */
  uint32_t len; /* protobuf bytes */
  uint32_t events;
  uint64_t seq; /* the emitter's sequence number of its first event (0 = a previous run) */
} emitter__spool_rec;

typedef struct emitter__spool {
  int fd;
  char *path;
  uint64_t max;  /* bound on pending bytes */
  uint64_t size; /* file size */
  uint64_t pending_bytes;
  uint64_t next_id;
  uint64_t busy;            /* the batch being sent (0 = none): the bound drops others */
  emitter__spool_rec *recs; /* pending, oldest first */
  size_t n, cap;
} emitter__spool;

/* Open or create the spool at `path` and load its pending batches. STREAM_EIO. */
int emitter__spool_open(emitter__spool *s, const char *path, uint64_t max);
void emitter__spool_close(emitter__spool *s);

/* Append and sync a batch of `events` events (protobuf `data`). When the
 * pending bytes would pass the bound, the oldest pending batches (but not
 * `busy`, which is being sent anyway) are acked away first; *out_dropped
 * receives how many events that dropped. */
int emitter__spool_append(emitter__spool *s, const void *data, size_t len, uint32_t events,
                          uint64_t *out_dropped);

/* Read the oldest pending batch: *out (malloc'd), its length and id. The record's CRC is
 * checked again. Errors: STREAM_ENOTFOUND (none pending), STREAM_EPROTO (the record is damaged
 * or cut short: it will never read back), STREAM_EIO (a read error), STREAM_ENOMEM; the batch
 * stays pending in every case. */
int emitter__spool_head(emitter__spool *s, uint8_t **out, size_t *out_len, uint64_t *out_id);

/* Record that batch `id` is done (acknowledged or refused). Unknown ids are ignored. */
int emitter__spool_ack(emitter__spool *s, uint64_t id);

#endif
