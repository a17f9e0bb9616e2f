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

/*
 * The upload `u` is complete: enqueue its transcode job (idempotent: the same
 * upload always maps to the same job). `out_job_id` holds STREAM_JOBS_ID_SIZE
 * bytes. Returns a stream_status.
 */
int streamd_ingest_enqueue(char *out_job_id, streamd_ingest *ing, const stream_upload_info *u);

#endif
