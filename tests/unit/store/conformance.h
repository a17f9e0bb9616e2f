/*
 * The store conformance suite: cases written only against the public API of
 * include/stream/store.h, so every backend (SQLite today, PostgreSQL later)
 * runs the same cases unchanged. Each case takes an opened store and uses data
 * of its own (unique e-mails, names, genres), so cases may share one store or
 * each get a fresh one. Assertions are Check's, so call cases from a Check test.
 */
#ifndef STREAM_TEST_STORE_CONFORMANCE_H
#define STREAM_TEST_STORE_CONFORMANCE_H

#include <stddef.h>

#include "stream/store.h"

typedef struct store_case {
  const char *name;
  void (*run)(stream_store *s);
} store_case;

extern const store_case store_conformance_cases[];
extern const size_t store_conformance_count;

/* conformance_account_close.c */
void store_case_account_close(stream_store *s);

/* conformance_password_reset.c */
void store_case_password_reset(stream_store *s);

/* conformance_utf8.c */
void store_case_utf8(stream_store *s);

/* conformance_rate.c */
void store_case_rate(stream_store *s);

/* Run every case, in order, against one opened store. */
void store_conformance_run_all(stream_store *s);

#endif
