/*
 * Regions of the UN M49 standard ("Standard country or area codes for statistical use", UN
 * Statistics Division): which numeric areas contain a country given by its ISO 3166-1 alpha-2
 * code, and so which region codes listed on a title a viewer's region matches. Internal. Data
 * and pure functions only (no allocation, no errors, no other libstream code), so the store's
 * region filter (store.c) and the recommendation rows (recs/home.c) use it as the catalog does.
 * Thread-safe: everything is read-only.
 */
#ifndef STREAM_CORE_M49_H
#define STREAM_CORE_M49_H

#include <stdbool.h>
#include <stddef.h>

#include "stream/store.h" /* STREAM_STORE_REGION_MAX */

/* One country or area of the UN table that has an ISO 3166-1 alpha-2 code. Codes are three
 * digits; "" where the UN has no such level (most countries have no intermediate region;
 * Antarctica has no sub-region and no region). */
typedef struct stream__m49_country {
  char alpha2[3]; /* "MX" */
  char code[4];   /* the country's own M49 code, "484" */
  char sub[4];    /* sub-region, "419" Latin America and the Caribbean */
  char inter[4];  /* intermediate region, "013" Central America, or "" */
  char region[4]; /* "002" Africa, "019" Americas, "142" Asia, "150" Europe, "009" Oceania */
} stream__m49_country;

/* M49 "001", the world: contains every country of the table. */
#define STREAM__M49_WORLD "001"

/* Most areas stream__m49_areas() gives: own code, sub-region, intermediate region, region,
 * world. */
#define STREAM__M49_AREAS_MAX 5

/* The table, sorted by alpha2 (byte order); `*out_count` rows. */
const stream__m49_country *stream__m49_table(size_t *out_count);

/* The row of `alpha2` (two uppercase letters), or NULL when the table has none (not two
 * letters, not ISO 3166-1, or not in the UN table, such as "TW"). Binary search. */
const stream__m49_country *stream__m49_find(const char *alpha2);

/* The M49 codes of the areas containing `alpha2`, in this order: its own code, sub-region,
 * intermediate region (when the UN has one), region (when it has one) and STREAM__M49_WORLD.
 * Returns how many were stored in `out` (0 when stream__m49_find() finds no row); the strings
 * are static. */
size_t stream__m49_areas(const char *out[STREAM__M49_AREAS_MAX], const char *alpha2);

/*
 * Whether a title listing `title_region` is for a viewer in `viewer_region`: the same code, or,
 * when the viewer's region is a country of the table (two letters), an M49 area containing it.
 * A viewer region given as M49 digits (or anything else) matches only itself.
 */
bool stream__region_matches(const char *title_region, const char *viewer_region);

/* Size of the buffer of stream__region_codes(): a viewer region of up to STREAM_STORE_REGION_MAX
 * characters, then STREAM__M49_AREAS_MAX codes of three digits after a comma, and the NUL. */
#define STREAM__REGION_CODES_SIZE (STREAM_STORE_REGION_MAX + 4 * STREAM__M49_AREAS_MAX + 1)

/* Every title region stream__region_matches() accepts for `viewer_region`, comma-joined into
 * `out` ("MX,484,419,013,019,001"; "FR"-style codes and M49 digits never hold a comma). A
 * viewer region longer than STREAM_STORE_REGION_MAX characters gives "". */
void stream__region_codes(char out[STREAM__REGION_CODES_SIZE], const char *viewer_region);

#endif
