/*
 * The PostgreSQL dialect's schema: the baseline a fresh database gets, one
 * list of statements per feature (each in the entity file's companion
 * schema_*.c), in dependency order. It equals the SQLite dialect's schema at
 * version STORE__PG_BASELINE, table for table and column for column, so the
 * entity files share the SQLite backend's column lists. A later schema change
 * is a migration in both dialects with the same version number.
 *
 * Column types: TEXT for text and ids, BIGINT for times (Unix seconds),
 * money (minor units) and counters, INTEGER for small numbers and 0/1 flags
 * (kept as integers with the same CHECKs, so both dialects bind the same
 * values), DOUBLE PRECISION for fractions, BYTEA for binary payloads.
 */
#include "pg_internal.h"

extern const char *const store__pg_schema_auth[];    /* accounts, profiles, tokens, resets */
extern const char *const store__pg_schema_catalog[]; /* titles..episodes, viewing, ratings */
extern const char *const store__pg_schema_billing[]; /* plans..payments, screen leases */
extern const char *const store__pg_schema_media[];   /* uploads, jobs, assets */
extern const char *const store__pg_schema_events[];  /* events, outbox, QoE, recs */

const char *const *const store__pg_baseline[] = {
    store__pg_schema_auth,  store__pg_schema_catalog, store__pg_schema_billing,
    store__pg_schema_media, store__pg_schema_events,
};
const int store__pg_baseline_count =
    (int)(sizeof store__pg_baseline / sizeof store__pg_baseline[0]);

/* After the baseline: append only, version STORE__PG_BASELINE + 1 first. */
extern const char *const store__pg_m0015_rate_buckets[];    /* schema_rate.c */
extern const char *const store__pg_m0016_qoe_repair[];      /* schema_qoe_repair.c */
extern const char *const store__pg_m0017_genre_fold[];      /* schema_genre_fold.c */
extern const char *const store__pg_m0018_title_name_fold[]; /* schema_title_name_fold.c */
extern const char *const store__pg_m0019_device_pins[];     /* schema_device_pins.c */

const char *const *const store__pg_migrations[] = {
    store__pg_m0015_rate_buckets,    store__pg_m0016_qoe_repair,  store__pg_m0017_genre_fold,
    store__pg_m0018_title_name_fold, store__pg_m0019_device_pins,
};
const int store__pg_migration_count =
    (int)(sizeof store__pg_migrations / sizeof store__pg_migrations[0]);
