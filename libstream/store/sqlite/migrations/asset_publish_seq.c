/* Schema migration of the SQLite dialect: the publish order of assets. Append only once
 * released. */
#include "../sqlite_internal.h"

/* The current asset of a title was the latest by ready_at (whole seconds), then creation:
 * two publishes in the same second came back in creation order, not publish order. Every
 * publish now takes publish_seq = max(publish_seq) + 1 (publishes are serialized on the
 * writer, also across processes: BEGIN IMMEDIATE), and the current asset is the ready one
 * with the highest publish_seq. Existing ready assets get their rank in the old order
 * (ready_at, created_at, rowid), so the current asset of every title stays the same. */
const char *const store__sq_m0013_asset_publish_seq[] = {
    "ALTER TABLE assets ADD COLUMN publish_seq INTEGER NOT NULL DEFAULT 0;",
    "UPDATE assets SET publish_seq = (SELECT count(*) FROM assets b WHERE b.status = 2 AND "
    "  (b.ready_at < assets.ready_at OR (b.ready_at = assets.ready_at AND "
    "  (b.created_at < assets.created_at OR (b.created_at = assets.created_at AND "
    "  b.rowid <= assets.rowid))))) WHERE status = 2;",
    "CREATE INDEX assets_current ON assets (title_id, episode_id, status, publish_seq);"
    "CREATE INDEX assets_publish_seq ON assets (publish_seq);",
    NULL};
