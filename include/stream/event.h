/**
 * @file stream/event.h
 * @brief One player event: the types shared by the emitter (client side,
 *        stream/emitter.h) and the ingest (server side, stream/events.h).
 *        The wire schema is libstream/proto/events.proto; docs/api/events.md
 *        maps its fields (and their JSON names) to this struct.
 *
 * Thread-safety: plain data and a pure function.
 */
#ifndef STREAM_EVENT_H
#define STREAM_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "stream/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Length of an event id: a UUID in text form (8-4-4-4-12 hex digits). */
#define STREAM_EVENTS_UUID_LEN 36
/** Longest view, session, profile, title, episode, device, account id, sid or cid. */
#define STREAM_EVENTS_ID_MAX 64
/** Size of an id field, NUL included. */
#define STREAM_EVENTS_ID_SIZE 65
/** Longest error message of an error event, in bytes of UTF-8. */
#define STREAM_EVENTS_MESSAGE_MAX 256

/** Event types (the numbers of events.proto's EventType). */
typedef enum stream_event_type {
  STREAM_EVENT_VIEWINIT = 1,
  STREAM_EVENT_PLAYREQUEST = 2,
  STREAM_EVENT_PLAY = 3,
  STREAM_EVENT_PLAYING = 4,
  STREAM_EVENT_PAUSE = 5,
  STREAM_EVENT_SEEKING = 6,
  STREAM_EVENT_SEEKED = 7,
  STREAM_EVENT_REBUFFERSTART = 8,
  STREAM_EVENT_REBUFFEREND = 9,
  STREAM_EVENT_RENDITIONCHANGE = 10,
  STREAM_EVENT_ERROR = 11,
  STREAM_EVENT_ENDED = 12,
  STREAM_EVENT_HEARTBEAT = 13
} stream_event_type;

/**
 * One player event: what a player emits and what the event log stores.
 * Plain data, nothing to free.
 * Empty strings and zero numbers mean "not sent". Fields marked (log) are set
 * by the ingest and ignored by the emitter.
 */
typedef struct stream_event {
  int64_t seq; /**< (log) sequence number (> 0) */
  char
      id[STREAM_EVENTS_UUID_LEN + 1]; /**< lowercase UUID, the dedup key (emitter: "" = generate) */
  int type;                           /**< a stream_event_type */
  char view_id[STREAM_EVENTS_ID_SIZE];    /**< always set */
  char session_id[STREAM_EVENTS_ID_SIZE]; /**< playback session */
  char account_id[STREAM_EVENTS_ID_SIZE]; /**< (log) from the sender's credential */
  char profile_id[STREAM_EVENTS_ID_SIZE]; /**< the credential's profile, else the event's */
  char title_id[STREAM_EVENTS_ID_SIZE];
  char episode_id[STREAM_EVENTS_ID_SIZE];
  char device_id[STREAM_EVENTS_ID_SIZE];
  int64_t client_ts; /**< ms since the epoch, player clock (emitter: 0 = now) */
  int64_t server_ts; /**< (log) ms since the epoch, ingest clock */
  int64_t playhead_ms;
  int64_t br;                      /**< kbit/s (CMCD br) */
  int64_t width, height;           /**< pixels */
  int64_t bl;                      /**< ms (CMCD bl) */
  int64_t mtp;                     /**< kbit/s (CMCD mtp) */
  char sid[STREAM_EVENTS_ID_SIZE]; /**< CMCD sid */
  char cid[STREAM_EVENTS_ID_SIZE]; /**< CMCD cid */
  char ot[4];                      /**< CMCD ot token */
  int su;                          /**< CMCD su, 0 or 1 */
  int error_code;                  /**< STREAM_EVENT_ERROR only */
  int error_fatal;                 /**< 0 or 1 */
  /** STREAM_EVENT_ERROR only: UTF-8 text without control characters */
  char error_message[STREAM_EVENTS_MESSAGE_MAX + 1];
} stream_event;

/**
 * The lowercase name of an event type ("rebufferstart"), or NULL for a value
 * outside stream_event_type. Static. Thread-safe.
 */
STREAM_API const char *stream_event_type_name(int type);

#ifdef __cplusplus
}
#endif
#endif /* STREAM_EVENT_H */
