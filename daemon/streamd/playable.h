/*
 * "playable": whether a title (or an episode) has a published media asset,
 * i.e. whether POST /v1/playback would find something to sign. The catalog
 * renders titles and the jobs module owns the asset registry; streamd joins
 * the two on the way out, with the same lookup the playback route makes
 * (stream_jobs_asset_for_title()), so the flag never disagrees with playback.
 */
#ifndef STREAMD_PLAYABLE_H
#define STREAMD_PLAYABLE_H

#include "app.h"

/* Add "playable" to every title of the "items" array of the service document
 * `*json`: an item that is a title (browse, search), or the title an item holds
 * under "title" (My List, Continue Watching). One asset lookup per movie; a
 * series looks at its episodes (the catalog's cached detail) until one is
 * playable. On success `*json` is replaced (the old one freed); on failure (out
 * of memory) it is left as it was and -1 is returned. */
int streamd_playable_items(streamd_app *app, char **json);

/* The same for every row's "items" of a home document (GET /v1/home). */
int streamd_playable_rows(streamd_app *app, char **json);

/* Add "playable" to a title detail document and to each of its episodes. A
 * movie is playable with a title-level asset; a series when it has one or any
 * of its episodes is. Same contract as streamd_playable_items(). */
int streamd_playable_detail(streamd_app *app, char **json);

/* The answers are remembered for 1 s per (title, episode) (the title detail is streamd's
 * hottest read); a publish by another process (or a row written into the registry directly)
 * shows within that second. This drops them all: streamd calls it when its own transcode or
 * subtitle job publishes an asset, so its own publishes show at once. Thread-safe. */
void streamd_playable_forget(void);

#endif
