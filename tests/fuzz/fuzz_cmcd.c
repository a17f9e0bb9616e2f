/*
 * Fuzz target: CMCD (CTA-5004 v1) payloads, stream_cmcd_parse(),
 * stream_cmcd_parse_query() and stream_cmcd_format() (libstream/cmcd).
 *
 * The first byte picks the mode, the rest is the input:
 *   bits 0-1: 0 one payload (a header value or a decoded query value),
 *             1 a raw query string (stream_cmcd_parse_query),
 *             2 '\n'-separated header shards parsed into one struct,
 *             3 the payload parsed twice into one struct (the second parse
 *               must refuse any repeated key)
 * Invariants: a refused input leaves EPROTO (ENOTFOUND for a query without
 * CMCD) with a message and the struct unchanged; an accepted one formats in
 * every mode, and parse -> format -> parse gives the same keys, with bl / dl /
 * mtp / rtp rounded to 100 and format a fixed point (formatting the re-parsed
 * struct gives the same bytes); the query and header forms parse back to the
 * same struct as the payload.
 */
#include <math.h>
#include <string.h>

#include "fuzz_util.h"
#include "stream/cmcd.h"

/* The formatter's rounding: half up, the top 50 values below 10^15 down (16 digits do not parse).
 */
static int64_t r100(int64_t x)
{
  int64_t r = (x + 50) / 100 * 100;
  return x < 0 ? x : r > 999999999999999LL ? r - 100 : r;
}

/* b is a, parsed back from a's formatted payload (a's numbers rounded as formatting does). */
static void assert_same(const stream_cmcd *a, const stream_cmcd *b)
{
  FUZZ_ASSERT(b->br == a->br && b->tb == a->tb);
  FUZZ_ASSERT(b->bl == r100(a->bl) && b->dl == r100(a->dl));
  FUZZ_ASSERT(b->mtp == r100(a->mtp) && b->rtp == r100(a->rtp));
  FUZZ_ASSERT(a->d < 0 ? b->d == -1 : b->d == floor(a->d + 0.5));
  FUZZ_ASSERT(a->pr == 1 ? b->pr == -1 : fabs(b->pr - a->pr) < 0.0005);
  FUZZ_ASSERT(a->v == 1 ? b->v == -1 : b->v == a->v);
  FUZZ_ASSERT(strcmp(a->ot, b->ot) == 0 && strcmp(a->sf, b->sf) == 0 && strcmp(a->st, b->st) == 0);
  FUZZ_ASSERT(strcmp(a->sid, b->sid) == 0 && strcmp(a->cid, b->cid) == 0);
  FUZZ_ASSERT(strcmp(a->nor, b->nor) == 0 && strcmp(a->nrr, b->nrr) == 0);
  FUZZ_ASSERT(a->su == b->su && a->bs == b->bs);
  size_t kept = a->n_extra < STREAM_CMCD_EXTRA_MAX ? a->n_extra : STREAM_CMCD_EXTRA_MAX;
  FUZZ_ASSERT(b->n_extra <= kept);
  for (size_t i = 0; i < b->n_extra; i++) {
    int found = 0;
    for (size_t j = 0; j < kept; j++)
      found |= strcmp(a->extra[j].key, b->extra[i].key) == 0 &&
               a->extra[j].type == b->extra[i].type &&
               strcmp(a->extra[j].value, b->extra[i].value) == 0;
    FUZZ_ASSERT(found);
  }
}

static void check_refused(int rc, const stream_cmcd *before, const stream_cmcd *after, int query)
{
  fuzz_check_status(rc);
  FUZZ_ASSERT(rc == STREAM_EPROTO || (query && rc == STREAM_ENOTFOUND));
  FUZZ_ASSERT(memcmp(before, after, sizeof *before) == 0);
}

static void round_trip(const stream_cmcd *c)
{
  char *payload = NULL, *query = NULL, *headers = NULL;
  int rc = stream_cmcd_format(&payload, c, STREAM_CMCD_PAYLOAD);
  fuzz_check_status(rc);
  FUZZ_ASSERT(rc == STREAM_OK && payload != NULL);
  FUZZ_ASSERT(strlen(payload) <= STREAM_CMCD_PAYLOAD_MAX);
  FUZZ_ASSERT(stream_cmcd_format(&query, c, STREAM_CMCD_QUERY) == STREAM_OK);
  FUZZ_ASSERT(stream_cmcd_format(&headers, c, STREAM_CMCD_HEADERS) == STREAM_OK);

  stream_cmcd back;
  stream_cmcd_init(&back);
  rc = stream_cmcd_parse(&back, payload, strlen(payload));
  fuzz_check_status(rc);
  FUZZ_ASSERT(rc == STREAM_OK);
  assert_same(c, &back);
  char *again = NULL;
  FUZZ_ASSERT(stream_cmcd_format(&again, &back, STREAM_CMCD_PAYLOAD) == STREAM_OK);
  FUZZ_ASSERT(strcmp(again, payload) == 0);
  stream_free(again);

  stream_cmcd q;
  stream_cmcd_init(&q);
  if (query[0]) {
    FUZZ_ASSERT(strncmp(query, "CMCD=", 5) == 0);
    FUZZ_ASSERT(stream_cmcd_parse_query(&q, query) == STREAM_OK);
  } else {
    FUZZ_ASSERT(payload[0] == '\0');
  }
  FUZZ_ASSERT(stream_cmcd_format(&again, &q, STREAM_CMCD_PAYLOAD) == STREAM_OK);
  FUZZ_ASSERT(strcmp(again, payload) == 0);
  stream_free(again);

  /* Header shards: each line "CMCD-<Shard>: <payload>", parsed into one struct. */
  stream_cmcd h;
  stream_cmcd_init(&h);
  for (char *line = headers; *line;) {
    char *nl = strchr(line, '\n');
    if (nl)
      *nl = '\0';
    FUZZ_ASSERT(strncmp(line, "CMCD-", 5) == 0);
    char *v = strstr(line, ": ");
    FUZZ_ASSERT(v != NULL);
    v += 2;
    FUZZ_ASSERT(stream_cmcd_parse(&h, v, strlen(v)) == STREAM_OK);
    if (!nl)
      break;
    line = nl + 1;
  }
  FUZZ_ASSERT(stream_cmcd_format(&again, &h, STREAM_CMCD_PAYLOAD) == STREAM_OK);
  FUZZ_ASSERT(strcmp(again, payload) == 0);
  stream_free(again);
  stream_free(payload);
  stream_free(query);
  stream_free(headers);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  int mode = data[0] & 3;
  char *text = fuzz_cstr(data + 1, size - 1);
  size_t len = size - 1;
  stream_cmcd c, before;
  stream_cmcd_init(&c);
  stream_error_clear();
  int rc = STREAM_OK;
  if (mode == 0 || mode == 3) {
    memcpy(&before, &c, sizeof c);
    rc = stream_cmcd_parse(&c, text, len);
    if (rc != STREAM_OK)
      check_refused(rc, &before, &c, 0);
    else if (mode == 3) {
      memcpy(&before, &c, sizeof c);
      int again = stream_cmcd_parse(&c, text, len);
      fuzz_check_status(again);
      /* Accepted twice only when the first parse set nothing visible (false booleans,
       * empty strings): the struct still formats to nothing. */
      if (again == STREAM_OK) {
        char *f = NULL;
        FUZZ_ASSERT(stream_cmcd_format(&f, &c, STREAM_CMCD_PAYLOAD) == STREAM_OK);
        FUZZ_ASSERT(f[0] == '\0');
        stream_free(f);
      } else {
        check_refused(again, &before, &c, 0);
      }
    }
  } else if (mode == 1) {
    memcpy(&before, &c, sizeof c);
    rc = stream_cmcd_parse_query(&c, text);
    if (rc != STREAM_OK)
      check_refused(rc, &before, &c, 1);
  } else {
    size_t pos = 0, text_len = strlen(text); /* fuzz_field stops at an embedded NUL */
    while (pos < text_len && rc == STREAM_OK) {
      char *shard = fuzz_field(text, &pos);
      memcpy(&before, &c, sizeof c);
      rc = stream_cmcd_parse(&c, shard, strlen(shard));
      if (rc != STREAM_OK)
        check_refused(rc, &before, &c, 0);
    }
  }
  if (rc == STREAM_OK)
    round_trip(&c);
  free(text);
  return 0;
}
