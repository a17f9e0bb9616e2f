/*
 * streamd's ingest path: the tus upload service (stream_uploads over the
 * daemon's store, data files in <data_dir>/uploads), the durable job queue,
 * the transcode worker pool (transcode_workers threads) and the expired-upload
 * sweeper thread. A completed upload enqueues one "transcode" job (dedup key:
 * the upload id); the handler probes and transcodes the upload into
 * <data_dir>/media/<asset dir> with stream_media (staged and renamed
 * atomically by the media library), reports progress through heartbeats,
 * marks the asset ready and deletes the upload. A job whose worker died is
 * claimed again once its lease has expired (job_lease seconds), also by the
 * next streamd started on the same data directory.
 *
 * An upload with metadata kind=subtitles enqueues a "subtitles" job instead (one worker
 * thread, so the tracks of a title apply one after another): it adds the track to the title's
 * latest ready asset with stream_media_subtitles_add() and publishes the result as a new asset
 * in <data_dir>/media/<job id>; while the title has no ready asset or a transcode of it is in
 * flight, the job is retried with backoff. A transcode carries the subtitle tracks of the
 * title's current asset over into the new one, and when it publishes it applies the tracks the
 * title's latest asset got while it ran (missing or replaced languages), so the newest asset
 * never drops a track published meanwhile (by a subtitles job or another streamd).
 */
#ifndef STREAMD_INGEST_H
#define STREAMD_INGEST_H

#include "stream/jobs.h"
#include "stream/upload.h"

struct streamd_app;
typedef struct streamd_ingest streamd_ingest;

/* Open the services and start the workers and the sweeper (needs app->media_root). 0 or -1. */
int streamd_ingest_open(streamd_ingest **out, struct streamd_app *app);

/* Stop the threads (running transcodes are canceled and re-queued), free. NULL is a no-op. */
void streamd_ingest_close(streamd_ingest *ing);

/* Borrowed handles, valid as long as `ing`. */
stream_uploads *streamd_ingest_uploads(streamd_ingest *ing);
stream_jobs *streamd_ingest_jobs(streamd_ingest *ing);

/*
 * seed_media ("TITLE_ID=PATH,..."): enqueue a transcode of PATH for every listed title that has
 * no ready asset (idempotent: dedup key "seed:<title>"). Call once the titles exist.
 */
void streamd_ingest_seed(streamd_ingest *ing);

/* Largest subtitle upload (Upload-Metadata kind=subtitles). */
#define STREAMD_SUBTITLES_MAX_BYTES (10 * 1024 * 1024)

/*
 * Check an upload's metadata (JSON from stream_upload_metadata_parse) and length at creation:
 * kind is absent, "video" or "subtitles"; a subtitle upload needs a BCP 47 language, an optional
 * name, default/forced flags (true/false, 1/0, yes/no; a key without value means true) and at
 * most STREAMD_SUBTITLES_MAX_BYTES. Returns STREAM_OK, or STREAM_EINVAL / STREAM_ENOTSUP /
 * STREAMD_P_TOO_LARGE for streamd_reply_problem() with `detail` filled.
 */
int streamd_ingest_check_metadata(const char *meta_json, long long length, char *detail,
                                  size_t dlen);

/*
 * The upload `u` is complete: enqueue its transcode job (idempotent: the same
 * upload always maps to the same job). `out_job_id` holds STREAM_JOBS_ID_SIZE
 * bytes ("" when nothing was enqueued). An empty upload (length 0) enqueues
 * nothing: STREAM_EINVAL, logged here. Returns a stream_status.
 */
int streamd_ingest_enqueue(char *out_job_id, streamd_ingest *ing, const stream_upload_info *u);

/*
 * Copy `text` into `out` (`cap` bytes, always NUL-terminated, cut if longer) with each path
 * under the media root or the data directory written relative to it: "<media_root>/<rest>",
 * "<data_dir>/<rest>" (the longer root wins when one holds the other). Job and asset errors
 * are stored and shown to operators this way (routes_jobs.c); the log keeps the full paths.
 * NULL or "" roots (and "/") are not replaced. Returns `out`.
 */
char *streamd_ingest_scrub_paths(char *out, size_t cap, const char *text, const char *data_dir,
                                 const char *media_root);

#endif
