/*
 * Shared by the emitter's spool tests (test_emitter_oom.c, test_emitter_spool_eio.c): a spool
 * file in a temporary directory of its own, the ids of the events the emitter reported
 * acknowledged (its on_batch callback), and the check that the spool holds nothing.
 *
 * Threads: spool_fixture_on_batch runs on the emitter's sender; the acknowledged ids are kept
 * under a mutex, so spool_fixture_acked may be called from the test's thread at any time.
 */
#ifndef STREAM_TEST_SPOOL_FIXTURE_H
#define STREAM_TEST_SPOOL_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>

#include "stream/emitter.h"

/* The spool file of the current test: <a fresh /tmp directory>/events.spool. */
extern char spool_fixture_path[300];

/* Make the directory (named /tmp/stream-<name>-XXXXXX); forget earlier acknowledgements. */
void spool_fixture_setup(const char *name);

/* Remove the spool, its compaction's temporary file and the directory. */
void spool_fixture_teardown(void);

/* A stream_emitter_options.on_batch: records the ids of acknowledged events (the first 256). */
void spool_fixture_on_batch(void *ud, int outcome, const stream_event *ev, size_t n);

/* Whether the event `id` was reported acknowledged. */
bool spool_fixture_acked(const char *id);

/* Spool the n events `ev` as one batch, as the emitter writes it (a previous run's batch);
 * returns its packed size in bytes. */
size_t spool_fixture_put(const stream_event *ev, size_t n);

/* Assert (Check) that the spool file holds no pending batch. */
void spool_fixture_assert_empty(void);

#endif
