/**
 * @file stream/delivery.h
 * @brief Delivery (floor 2, "delivery"): signed playback URLs for a session
 *        and the origin's request check — signature, rendition cap, a file
 *        under the media root opened without any way to escape it, manifests
 *        filtered to the cap, MIME types, ETags and cache policy. Built with
 *        the `server` feature.
 *
 * URL layout (the signed prefix ends after the cap component):
 *
 *     <base_url>/v1/media/<asset_id>/h<cap>/stream-token=...&Signature=.../master.m3u8
 *     <base_url>/v1/media/<asset_id>/h<cap>/v720p_3000/seg_00001.m4s   (with a cookie)
 *
 * `h<cap>` is the highest video height the session may fetch (`h0`: no cap).
 * It is inside the signed prefix, so an edited URL that raises it no longer
 * verifies. Files of renditions taller than the cap are refused, and the
 * multivariant playlist and the MPD served under a cap leave them out.
 *
 * Thread-safety: a stream_delivery handle may be used from any number of
 * threads at once (its per-asset rendition cache locks internally); the key
 * ring it borrows locks internally too.
 */
#ifndef STREAM_DELIVERY_H
#define STREAM_DELIVERY_H

#include <stddef.h>
#include <stdint.h>

#include "stream/common.h"
#include "stream/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Path of the origin under the base URL (without the trailing slash). */
#define STREAM_DELIVERY_PATH "/v1/media"
/** Longest asset directory name (the asset component of a URL): 1..128 of [A-Za-z0-9_-]. */
#define STREAM_DELIVERY_ASSET_ID_MAX 128
/** Largest cap accepted (a height in pixels); 0 means no cap. */
#define STREAM_DELIVERY_CAP_MAX 8640
/** Longest relative file path below an asset directory. */
#define STREAM_DELIVERY_REL_MAX 512

/** How playback URLs are signed (stream_delivery_options.format). */
typedef enum stream_delivery_format {
  STREAM_DELIVERY_NATIVE_PATH = 1,   /**< native path token in the URL (default, cookieless) */
  STREAM_DELIVERY_NATIVE_COOKIE = 2, /**< native Stream-Cookie over the prefix; plain URLs */
  STREAM_DELIVERY_CLOUDCDN = 3,      /**< Cloud CDN signed URL prefix (query) and cookie */
  STREAM_DELIVERY_MEDIACDN = 4,      /**< Media CDN Ed25519 path component (edge-cache-token) */
  STREAM_DELIVERY_CLOUDFRONT = 5     /**< Amazon CloudFront signed cookies (custom policy) */
} stream_delivery_format;

/** Why a request was refused (stream_delivery_file.reason). */
typedef enum stream_delivery_reason {
  STREAM_DELIVERY_OK = 0,
  STREAM_DELIVERY_BAD_PATH = 1,  /**< not /v1/media/<asset>/h<cap>/..., bad characters, dot
                                      segment, encoded slash/NUL/backslash: 404 */
  STREAM_DELIVERY_SIGNATURE = 2, /**< no, bad, expired or out-of-scope signature: 403 */
  STREAM_DELIVERY_ABOVE_CAP = 3, /**< a rendition taller than the signed cap: 403 */
  STREAM_DELIVERY_NOT_FOUND = 4, /**< no such file, or a file never served: 404 */
  STREAM_DELIVERY_METHOD = 5     /**< not GET or HEAD: 405 */
} stream_delivery_reason;

/** What kind of file a request resolved to (stream_delivery_file.kind). */
typedef enum stream_delivery_kind {
  STREAM_DELIVERY_KIND_OTHER = 0,    /**< thumbnails, VTT, posters */
  STREAM_DELIVERY_KIND_MASTER = 1,   /**< master.m3u8 (filtered under a cap) */
  STREAM_DELIVERY_KIND_MPD = 2,      /**< manifest.mpd (filtered under a cap) */
  STREAM_DELIVERY_KIND_PLAYLIST = 3, /**< a rendition's index.m3u8 / iframes.m3u8 */
  STREAM_DELIVERY_KIND_SEGMENT = 4   /**< init segments and media segments (immutable) */
} stream_delivery_kind;

/** Options of stream_delivery_new(). Initialise with STREAM_DELIVERY_OPTIONS_INIT. */
typedef struct stream_delivery_options {
  unsigned int version;          /**< STREAM_DELIVERY_OPTIONS_VERSION */
  const char *base_url;          /**< required: "https://media.example.com" (no trailing '/') */
  const char *media_root;        /**< required for verification: directory of <asset_id>/ dirs */
  stream_keyring *keys;          /**< required: borrowed, must outlive the handle */
  int format;                    /**< stream_delivery_format; 0 = STREAM_DELIVERY_NATIVE_PATH */
  const char *key_id;            /**< NULL = the ring's primary key (signing) */
  int64_t leeway;                /**< clock skew accepted on the Expires of native signatures
                                      (path token, Stream-Cookie), 0..3600 s; the CDN formats'
                                      signatures are checked without leeway */
  unsigned int manifest_max_age; /**< Cache-Control max-age of manifests; 0 = 2 s */
  /* version 2 */
  int cloudfront_hash; /**< STREAM_DELIVERY_CLOUDFRONT: a stream_cloudfront_hash; 0 = SHA-1 */
} stream_delivery_options;

/** 2 adds cloudfront_hash; stream_delivery_new() accepts versions 1 and 2. */
#define STREAM_DELIVERY_OPTIONS_VERSION 2
#define STREAM_DELIVERY_OPTIONS_INIT                                                               \
  {                                                                                                \
    STREAM_DELIVERY_OPTIONS_VERSION, NULL, NULL, NULL, 0, NULL, 0, 0, 0                            \
  }

/** The delivery handle. Thread-safe. */
typedef struct stream_delivery stream_delivery;

/** Signed playback URLs of one session. Release with stream_delivery_urls_clear(). */
typedef struct stream_delivery_urls {
  char *prefix;    /**< the signed prefix ".../v1/media/<asset>/h<cap>/" (unsigned text) */
  char *hls_url;   /**< multivariant playlist URL */
  char *dash_url;  /**< MPD URL */
  char *cookie;    /**< cookie formats: a complete Set-Cookie header value; else NULL.
                        STREAM_DELIVERY_CLOUDFRONT: several Set-Cookie header values, one
                        per line, separated by '\n' (no trailing '\n'): send one
                        Set-Cookie header per line */
  int64_t expires; /**< Unix seconds at which the URLs stop working */
} stream_delivery_urls;

/**
 * The request the origin received. Strings are borrowed for the call.
 * `path` is the request path exactly as received, not percent-decoded
 * ("/v1/media/a1/h720/stream-token=.../v720p_3000/seg_00001.m4s"); `query`
 * the raw query without '?' (NULL or "" for none); `cookie` the Cookie
 * header (NULL when absent); `client_ip` the peer address (NULL when unknown).
 */
typedef struct stream_delivery_request {
  unsigned int version; /**< STREAM_DELIVERY_REQUEST_VERSION */
  const char *method;
  const char *path;
  const char *query;
  const char *cookie;
  const char *client_ip;
  int64_t now; /**< Unix seconds; 0 = the current time */
} stream_delivery_request;

#define STREAM_DELIVERY_REQUEST_VERSION 1
#define STREAM_DELIVERY_REQUEST_INIT                                                               \
  {                                                                                                \
    STREAM_DELIVERY_REQUEST_VERSION, NULL, NULL, NULL, NULL, NULL, 0                               \
  }

/**
 * A request's outcome. On success `fd` is the opened file (read-only,
 * close-on-exec, O_NONBLOCK — which has no effect on a regular file), which
 * the caller owns and closes; it is -1 otherwise.
 * Release with stream_delivery_file_clear() (which closes a still-open fd).
 */
typedef struct stream_delivery_file {
  int reason;      /**< stream_delivery_reason */
  int sign_reason; /**< stream_sign_reason of the signature check */
  int kind;        /**< stream_delivery_kind */
  int fd;          /**< open file, or -1 */
  int via_cookie;  /**< 1 when a cookie carried the signature (CORS with credentials) */
  int max_height;  /**< the signed cap; 0 = none */
  int64_t expires; /**< Expires of the signature */
  uint64_t size;   /**< file size in bytes */
  int64_t mtime;   /**< modification time, Unix seconds */
  char asset_id[STREAM_DELIVERY_ASSET_ID_MAX + 1];
  char rel_path[STREAM_DELIVERY_REL_MAX + 1]; /**< "v720p_3000/seg_00001.m4s" */
  char etag[64];             /**< strong ETag with quotes: "\"ino-size-mtime_ns\"" (hex) */
  const char *content_type;  /**< static string */
  const char *cache_control; /**< static, or owned by the handle (lives as long as it) */
} stream_delivery_file;

/**
 * Create a delivery handle. Strings are copied; `keys` is borrowed.
 * `*out` belongs to the caller, who frees it with stream_delivery_free().
 * Errors: STREAM_EINVAL (bad version, base_url not http(s)://host[:port]
 * without a path or with a trailing '/', no key ring, unknown format, leeway
 * out of range, unknown cloudfront_hash, empty media_root), STREAM_ENOMEM.
 * Thread-safe.
 */
STREAM_API int stream_delivery_new(stream_delivery **out, const stream_delivery_options *opts);

/** Free the handle. NULL is a no-op. No other thread may be using it. */
STREAM_API void stream_delivery_free(stream_delivery *d);

/**
 * Sign the playback URLs of one session: the prefix
 * <base_url>/v1/media/<asset_id>/h<max_height>/ is signed until `expires`
 * in the handle's format (bound to `client_ip` when not NULL: native formats,
 * and STREAM_DELIVERY_CLOUDFRONT for an IPv4 address — the policy's
 * AWS:SourceIp is "<ip>/32"; CloudFront policies hold IPv4 only, so an IPv6
 * address is STREAM_EINVAL there; the other CDN formats refuse any address),
 * and `hls_url` / `dash_url` point at master.m3u8 / manifest.mpd under
 * it. STREAM_DELIVERY_CLOUDFRONT signs cookies with a custom policy whose
 * Resource is the prefix followed by '*', DateLessThan `expires`, with the
 * ring's RSA or EC key whose id is the CloudFront Key-Pair-Id; `cookie` then
 * holds the CloudFront-Policy, CloudFront-Signature and CloudFront-Key-Pair-Id
 * Set-Cookie values, one per line.
 * `max_height` 0 means no cap. Fills `*out` (the caller releases it
 * with stream_delivery_urls_clear(); it is zeroed on error).
 * Errors: STREAM_EINVAL (bad asset id, cap outside 0..STREAM_DELIVERY_CAP_MAX,
 * expires not in the future of 1970, bad IP, key of the wrong type),
 * STREAM_ENOTFOUND (no such key / no primary key), STREAM_ENOMEM,
 * STREAM_ECRYPTO. Thread-safe.
 */
STREAM_API int stream_delivery_sign(stream_delivery_urls *out, stream_delivery *d,
                                    const char *asset_id, int max_height, int64_t expires,
                                    const char *client_ip);

/** Free the strings of `u` and zero it. NULL is a no-op. */
STREAM_API void stream_delivery_urls_clear(stream_delivery_urls *u);

/**
 * Check an origin request and open the file it names. The signature (native
 * path token, native cookie, or — in the CDN formats — the CDN's own signed
 * prefix or path component, verified with the same ring) must cover the
 * request's /v1/media/<asset>/h<cap>/ prefix (CloudFront: the CloudFront-*
 * cookies of the Cookie header, whose custom policy's Resource must be exactly
 * that prefix followed by '*'; a canned policy, another Resource, or a
 * CloudFront cookie sent twice — two cookie sets — is refused); the path may not contain dot
 * segments, backslashes, control bytes or any percent-encoded byte; every
 * component is opened with O_NOFOLLOW below the media root, so neither '..'
 * nor a symlink can leave it; a file inside a rendition directory whose
 * height (from the asset's summary.json) exceeds the cap is refused; hidden
 * files and summary.json are never served. Query arguments named `CMCD`
 * (CTA-5004 client data, stream/cmcd.h, which players append to every
 * media request after any signature) are left out of the URL the signature
 * is checked against, in every format: they are never signed, and leaving
 * them out cannot make a URL verify that would not verify without them.
 *
 * Returns STREAM_OK with `out->fd` open, or a status with `out->reason`
 * saying why: STREAM_EINVAL (BAD_PATH), STREAM_EFORBIDDEN (SIGNATURE, with
 * `sign_reason`, or ABOVE_CAP), STREAM_EEXPIRED (SIGNATURE, expired),
 * STREAM_ENOTFOUND (NOT_FOUND), STREAM_ENOTSUP (METHOD), STREAM_EIO and
 * STREAM_ENOMEM (NOT_FOUND: the file or the asset's summary.json could not be
 * read). Argument errors (NULL, bad version) give STREAM_EINVAL with BAD_PATH.
 * `*out` is always filled; release it with stream_delivery_file_clear().
 * Thread-safe.
 */
STREAM_API int stream_delivery_open(stream_delivery_file *out, stream_delivery *d,
                                    const stream_delivery_request *req);

/** Close `f->fd` if still open (sets it to -1). NULL is a no-op. */
STREAM_API void stream_delivery_file_clear(stream_delivery_file *f);

/**
 * The body to serve for a MASTER or MPD file opened by stream_delivery_open():
 * the file's text with every rendition above `f->max_height` left out
 * (unchanged when there is no cap). Reads from `f->fd` with pread (the fd
 * stays open). `*out` (NUL-terminated, `*out_len` bytes) belongs to the
 * caller, who frees it with stream_free().
 * Errors: STREAM_EINVAL (NULL, not a manifest kind), STREAM_EIO, STREAM_ENOMEM.
 * Thread-safe.
 */
STREAM_API int stream_delivery_manifest(char **out, size_t *out_len, stream_delivery *d,
                                        const stream_delivery_file *f);

/**
 * Filter an HLS multivariant playlist: drop EXT-X-STREAM-INF (with its URI
 * line) and EXT-X-I-FRAME-STREAM-INF entries whose RESOLUTION height exceeds
 * `max_height` (0 = keep all). `*out` belongs to the caller (stream_free()).
 * Errors: STREAM_EINVAL (NULL, negative cap, not starting with #EXTM3U),
 * STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_delivery_filter_hls(char **out, const char *text, int max_height);

/**
 * Filter a DASH MPD: drop Representation elements whose height attribute
 * exceeds `max_height` (0 = keep all) and lower the maxHeight / maxWidth of
 * their AdaptationSet accordingly. `*out` belongs to the caller
 * (stream_free()). Errors: STREAM_EINVAL (NULL, negative cap, no <MPD),
 * STREAM_ENOMEM. Thread-safe.
 */
STREAM_API int stream_delivery_filter_dash(char **out, const char *text, int max_height);

/**
 * The MIME type served for a file name, by extension (case-insensitive):
 * .m3u8 application/vnd.apple.mpegurl, .mpd application/dash+xml, .m4s
 * video/iso.segment, .mp4 and .m4v video/mp4, .m4a audio/mp4, .vtt text/vtt,
 * .jpg and .jpeg image/jpeg, .png image/png, .json application/json,
 * anything else application/octet-stream. Never NULL; static. Thread-safe.
 */
STREAM_API const char *stream_delivery_mime_type(const char *name);

/** A short English string for a stream_delivery_reason ("rendition above the signed cap");
 * static, never NULL ("unknown reason" for another value). */
STREAM_API const char *stream_delivery_reason_str(int reason);

#ifdef __cplusplus
}
#endif

#endif
