/**
 * @file stream/cmcd.h
 * @brief CMCD (floor 1, "cmcd"): Common Media Client Data, CTA-5004 version 1
 *        — the data a player attaches to each media request (session id,
 *        object type, buffer length, throughput, startup, starvation...), as
 *        CDNs log it. Parse it on the server, format it in a player. Always
 *        built (no dependency beyond the core).
 *
 * Wire form (CTA-5004 §3; docs/api/cmcd.md): a Structured Field dictionary
 * (RFC 8941) of `key=value` members joined by ','. Integers bare (`br=3000`),
 * strings in double quotes with '"' and '\' backslash-escaped (`sid="s-1"`),
 * tokens bare (`ot=v`), a true boolean as its key alone (`su`), false left
 * out. Sent either as one URL-encoded query argument `CMCD=<payload>` or as up
 * to four headers `CMCD-Object`, `CMCD-Request`, `CMCD-Session` and
 * `CMCD-Status`, each carrying its own keys ("shards"). The parser accepts
 * exactly this subset of RFC 8941: no parameters (`;x`), no inner lists (the
 * CMCD version 2 syntax), no byte sequences; anything else is STREAM_EPROTO
 * with the offending key and byte offset in the message.
 *
 * Keys not in the version 1 set (custom keys such as `com.example-hello`,
 * or keys of later versions such as `pb`) are "extra" keys: the parser
 * counts them and keeps the first STREAM_CMCD_EXTRA_MAX; the formatter
 * writes them, sorted with the others.
 *
 * Thread-safety: the functions keep no state; a stream_cmcd may be used by
 * one thread at a time.
 */
#ifndef STREAM_CMCD_H
#define STREAM_CMCD_H

#include <stddef.h>
#include <stdint.h>

#include "stream/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest payload accepted or produced (bytes, without the "CMCD=" and URL encoding). */
#define STREAM_CMCD_PAYLOAD_MAX 4096
/** Longest string value (sid, cid, nrr, and extra keys' values), in characters. */
#define STREAM_CMCD_STRING_MAX 64
/** Longest `nor` value (decoded: a relative URL), in bytes. */
#define STREAM_CMCD_NOR_MAX 256
/** Longest key name of an extra key. */
#define STREAM_CMCD_KEY_MAX 64
/** Extra keys kept by the parser (further ones are only counted). */
#define STREAM_CMCD_EXTRA_MAX 8
/** The struct version stream_cmcd_init() sets. */
#define STREAM_CMCD_VERSION 1

/** The type of an extra key's value (stream_cmcd_extra.type). */
typedef enum stream_cmcd_type {
  STREAM_CMCD_BOOLEAN = 1, /**< true: the key alone (false is left out) */
  STREAM_CMCD_INTEGER = 2, /**< value holds the decimal text, e.g. "1234" */
  STREAM_CMCD_DECIMAL = 3, /**< value holds the text, e.g. "1.5" */
  STREAM_CMCD_STRING = 4,  /**< value holds the string without quotes or escapes */
  STREAM_CMCD_TOKEN = 5    /**< value holds the token, e.g. "s" */
} stream_cmcd_type;

/** One extra (custom or later-version) key and its value. */
typedef struct stream_cmcd_extra {
  char key[STREAM_CMCD_KEY_MAX + 1];
  int type; /**< stream_cmcd_type */
  char value[STREAM_CMCD_STRING_MAX + 1];
} stream_cmcd_extra;

/**
 * Every CMCD version 1 key. Initialise with stream_cmcd_init(): integers are
 * -1 when absent, strings and tokens "" when absent (an empty string value
 * counts as absent), booleans 0. Units are those of CTA-5004: kbps and ms.
 */
typedef struct stream_cmcd {
  unsigned int version; /**< STREAM_CMCD_VERSION (set by stream_cmcd_init) */
  /* CMCD-Object */
  int64_t br; /**< encoded bitrate, kbps */
  double d;   /**< object duration, ms (formatted rounded to an integer) */
  char ot[3]; /**< object type: m a v av i c tt k o */
  int64_t tb; /**< top bitrate, kbps */
  /* CMCD-Request */
  int64_t bl;                           /**< buffer length, ms (formatted to the nearest 100) */
  int64_t dl;                           /**< deadline, ms (formatted to the nearest 100) */
  int64_t mtp;                          /**< measured throughput, kbps (nearest 100) */
  char nor[STREAM_CMCD_NOR_MAX + 1];    /**< next object request, relative URL (decoded) */
  char nrr[STREAM_CMCD_STRING_MAX + 1]; /**< next range request: "a-", "a-b" or "-n" */
  int su;                               /**< startup: 1 true, 0 absent/false */
  /* CMCD-Session */
  char cid[STREAM_CMCD_STRING_MAX + 1]; /**< content id */
  double pr;                            /**< playback rate, -1 absent (1 is not sent) */
  char sf[2];                           /**< streaming format: d h s o */
  char sid[STREAM_CMCD_STRING_MAX + 1]; /**< session id */
  char st[3];                           /**< stream type: v l (and ll of CTA-5004-B) */
  int64_t v;                            /**< CMCD version, -1 absent (1 is not sent) */
  /* CMCD-Status */
  int bs;      /**< buffer starvation: 1 true, 0 absent/false */
  int64_t rtp; /**< requested maximum throughput, kbps (nearest 100) */
  /* Keys outside the version 1 set */
  size_t n_extra; /**< extra keys seen (may exceed STREAM_CMCD_EXTRA_MAX) */
  stream_cmcd_extra extra[STREAM_CMCD_EXTRA_MAX]; /**< the first ones, in payload order */
} stream_cmcd;

/** Output forms of stream_cmcd_format(). */
typedef enum stream_cmcd_mode {
  /** The bare payload "br=200,bs,cid=\"c\"" (a JSON body record, or a single header's value). */
  STREAM_CMCD_PAYLOAD = 1,
  /** "CMCD=" and the URL-encoded payload (encodeURIComponent): append after '?' or '&'. */
  STREAM_CMCD_QUERY = 2,
  /** The header shards that have keys, "CMCD-Object: ...", "CMCD-Request: ...",
   *  "CMCD-Session: ...", "CMCD-Status: ...", in that order, separated by '\n' (no
   *  trailing '\n'). Extra keys go to CMCD-Request. */
  STREAM_CMCD_HEADERS = 3
} stream_cmcd_mode;

/**
 * Set every key of `c` absent and its version to STREAM_CMCD_VERSION.
 * Errors: STREAM_EINVAL (NULL).
 */
STREAM_API int stream_cmcd_init(stream_cmcd *c);

/**
 * Parse one CMCD payload of `len` bytes into `c`, which must have been set up
 * by stream_cmcd_init(): the value of one CMCD-* header, or the value of the
 * `CMCD` query argument after URL decoding. Keys already present in `c` are
 * kept, so the shards of several headers can be parsed into one struct; a key
 * given twice (in one payload or across shards) is an error. `nor` is
 * URL-decoded. On failure `c` is left unchanged.
 * Errors: STREAM_EINVAL (NULL, `c` not initialised), STREAM_EPROTO (not the
 * CMCD subset of an RFC 8941 dictionary, a value of the wrong type or outside
 * its set, a negative number, a `pr` of 10^12 or more (an integer the
 * decimal it is formatted as cannot carry), a string over its maximum, a
 * payload over STREAM_CMCD_PAYLOAD_MAX bytes; the message names the key and
 * offset).
 */
STREAM_API int stream_cmcd_parse(stream_cmcd *c, const char *payload, size_t len);

/**
 * Find the `CMCD` argument in a raw query string (without '?', arguments
 * separated by '&', still URL-encoded), URL-decode it and parse it into `c`
 * as stream_cmcd_parse() does. The argument name is case-sensitive.
 * Errors: STREAM_EINVAL (NULL query or `c`), STREAM_ENOTFOUND (no CMCD
 * argument), STREAM_EPROTO (bad URL encoding, more than one CMCD argument,
 * or a payload stream_cmcd_parse() refuses).
 */
STREAM_API int stream_cmcd_parse_query(stream_cmcd *c, const char *query);

/**
 * Format `c` for a request in `mode` (a stream_cmcd_mode): keys in
 * alphabetical order, bl and dl rounded to the nearest 100 ms, mtp and rtp to
 * the nearest 100 kbps (half up; a value of the top 50 below 10^15, which
 * would round to 16 digits, goes down to 999999999999900: every value the
 * parser accepts formats), d to the nearest ms; v and pr are left out when 1,
 * booleans when false, absent keys always. Strings are quoted and escaped,
 * nor URL-encoded inside its quotes. `*out` (NUL-terminated; "" when no key
 * is present) belongs to the caller, who frees it with stream_free().
 * Errors: STREAM_EINVAL (NULL, unknown mode, `c` not initialised, a value out
 * of its range or set — the message names the key —, an extra key that is
 * not a valid key name or is one of the version 1 keys), STREAM_ERANGE (the
 * payload would exceed STREAM_CMCD_PAYLOAD_MAX: not reachable with the
 * current limits, every key at its longest fits), STREAM_ENOMEM.
 */
STREAM_API int stream_cmcd_format(char **out, const stream_cmcd *c, int mode);

#ifdef __cplusplus
}
#endif

#endif
