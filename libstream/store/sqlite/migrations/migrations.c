/*
 * Schema migrations of the SQLite dialect. Append only: a released migration
 * never changes; a change to the schema is a new entry. Each migration is a NULL-terminated list of
 * statements (ISO C caps a string literal at 4095 bytes). Migration i brings the
 * schema to version i + 1 and runs inside the open-time write transaction
 * together with its schema_version row. A PostgreSQL backend keeps its own
 * list in its own dialect, with the same version numbers.
 */
#include "../sqlite_internal.h"

static const char *const m0001_init[] = {
    "CREATE TABLE accounts ("
    "  id TEXT PRIMARY KEY,"
    "  email TEXT NOT NULL UNIQUE,"
    "  password_hash TEXT NOT NULL DEFAULT '',"
    "  created_at INTEGER NOT NULL,"
    "  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),"
    "  role INTEGER NOT NULL DEFAULT 0 CHECK (role IN (0, 1)));",

    "CREATE TABLE profiles ("
    "  id TEXT PRIMARY KEY,"
    "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  avatar TEXT NOT NULL DEFAULT '',"
    "  kids INTEGER NOT NULL DEFAULT 0 CHECK (kids IN (0, 1)),"
    "  maturity_ceiling INTEGER NOT NULL CHECK (maturity_ceiling >= 0),"
    "  pin_hash TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE (account_id, name));",

    "CREATE TABLE refresh_tokens ("
    "  token_hash TEXT PRIMARY KEY,"
    "  family_id TEXT NOT NULL,"
    "  account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
    "  profile_id TEXT REFERENCES profiles(id) ON DELETE CASCADE,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER,"
    "  revoked_at INTEGER);"
    "CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);"
    "CREATE INDEX refresh_tokens_account ON refresh_tokens (account_id);"
    "CREATE INDEX refresh_tokens_profile ON refresh_tokens (profile_id);",

    "CREATE TABLE device_authorizations ("
    "  device_code_hash TEXT PRIMARY KEY,"
    "  user_code TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  scope TEXT NOT NULL DEFAULT '',"
    "  status INTEGER NOT NULL DEFAULT 0 CHECK (status BETWEEN 0 AND 4),"
    "  account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE,"
    "  profile_id TEXT REFERENCES profiles(id) ON DELETE SET NULL,"
    "  interval_s INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  last_poll_at INTEGER,"
    "  expires_at INTEGER NOT NULL);",

    /* A user code is unique only among pending authorizations. */
    "CREATE UNIQUE INDEX device_pending_user_code ON device_authorizations (user_code)"
    "  WHERE status = 0;"
    "CREATE INDEX device_user_code ON device_authorizations (user_code, created_at);",

    "CREATE TABLE titles ("
    "  seq INTEGER PRIMARY KEY," /* rowid, shared with titles_fts */
    "  id TEXT NOT NULL UNIQUE,"
    "  kind INTEGER NOT NULL CHECK (kind IN (0, 1)),"
    "  name TEXT NOT NULL,"
    "  synopsis TEXT,"
    "  year INTEGER NOT NULL DEFAULT 0,"
    "  runtime INTEGER NOT NULL DEFAULT 0,"
    "  maturity_rating INTEGER NOT NULL DEFAULT 0,"
    "  credits_json TEXT,"
    "  artwork_json TEXT,"
    "  available_from INTEGER,"
    "  available_until INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE INDEX titles_by_name ON titles (name, id);"
    "CREATE INDEX titles_by_created ON titles (created_at, id);",

    "CREATE TABLE genres ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE);",

    "CREATE TABLE title_genres ("
    "  genre_id INTEGER NOT NULL REFERENCES genres(id) ON DELETE CASCADE,"
    "  title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  PRIMARY KEY (genre_id, title_id));"
    "CREATE INDEX title_genres_by_title ON title_genres (title_id);",

    "CREATE TABLE title_regions ("
    "  title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  region TEXT NOT NULL,"
    "  PRIMARY KEY (title_id, region));",

    "CREATE TABLE seasons ("
    "  id TEXT PRIMARY KEY,"
    "  title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE ON UPDATE CASCADE,"
    "  number INTEGER NOT NULL,"
    "  UNIQUE (title_id, number));",

    "CREATE TABLE episodes ("
    "  id TEXT PRIMARY KEY,"
    "  season_id TEXT NOT NULL REFERENCES seasons(id) ON DELETE CASCADE,"
    "  number INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  synopsis TEXT,"
    "  runtime INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (season_id, number));",

    /* Search: case and diacritics folded; kept in step by triggers. */
    "CREATE VIRTUAL TABLE titles_fts USING fts5("
    "  name, synopsis, tokenize = 'unicode61 remove_diacritics 2');",

    "CREATE TRIGGER titles_fts_ai AFTER INSERT ON titles BEGIN"
    "  INSERT INTO titles_fts (rowid, name, synopsis)"
    "  VALUES (new.seq, new.name, coalesce(new.synopsis, ''));"
    "END;",

    "CREATE TRIGGER titles_fts_ad AFTER DELETE ON titles BEGIN"
    "  DELETE FROM titles_fts WHERE rowid = old.seq;"
    "END;",

    "CREATE TRIGGER titles_fts_au AFTER UPDATE OF name, synopsis ON titles BEGIN"
    "  DELETE FROM titles_fts WHERE rowid = old.seq;"
    "  INSERT INTO titles_fts (rowid, name, synopsis)"
    "  VALUES (new.seq, new.name, coalesce(new.synopsis, ''));"
    "END;",

    "CREATE TABLE progress ("
    "  profile_id TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
    "  title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,"
    "  episode_id TEXT NOT NULL DEFAULT ''," /* '' = the title itself (a movie) */
    "  position_ms INTEGER NOT NULL,"
    "  duration_ms INTEGER NOT NULL CHECK (duration_ms > 0),"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (profile_id, title_id, episode_id));"
    "CREATE INDEX progress_recent ON progress (profile_id, updated_at);",

    "CREATE TRIGGER episodes_progress_ad AFTER DELETE ON episodes BEGIN"
    "  DELETE FROM progress WHERE episode_id = old.id;"
    "END;",

    "CREATE TABLE my_list ("
    "  profile_id TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
    "  title_id TEXT NOT NULL REFERENCES titles(id) ON DELETE CASCADE,"
    "  added_at INTEGER NOT NULL,"
    "  PRIMARY KEY (profile_id, title_id));"
    "CREATE INDEX my_list_recent ON my_list (profile_id, added_at);",
    NULL};

/* Recency ties: timestamps are whole seconds, so two writes in the same second
 * tied and came back in an arbitrary order. Every progress upsert and My List
 * insert now takes seq = max(seq) + 1 (writes are serialized on the writer
 * connection, so the value is unique and increasing) and rows are ordered by
 * (time DESC, seq DESC). Existing rows get their rowid, an arbitrary but unique
 * tie-breaker: their order within a second was never recorded. */
static const char *const m0002_recency_seq[] = {
    "ALTER TABLE progress ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;",
    "UPDATE progress SET seq = rowid;",
    "DROP INDEX progress_recent;"
    "CREATE INDEX progress_recent ON progress (profile_id, updated_at, seq);"
    "CREATE INDEX progress_seq ON progress (seq);",

    "ALTER TABLE my_list ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;",
    "UPDATE my_list SET seq = rowid;",
    "DROP INDEX my_list_recent;"
    "CREATE INDEX my_list_recent ON my_list (profile_id, added_at, seq);"
    "CREATE INDEX my_list_seq ON my_list (seq);",
    NULL};

/* Later migrations live in files of their own, one per feature (same folder). */
extern const char *const store__sq_m0003_billing[]; /* billing.c */
extern const char *const store__sq_m0004_leases[];  /* leases.c */
extern const char *const store__sq_m0005_media[];   /* media.c: uploads and jobs */
extern const char *const store__sq_m0006_events[];  /* events.c: player events, outbox */
extern const char *const store__sq_m0007_qoe[];     /* qoe.c: QoE view records */
extern const char *const store__sq_m0008_ratings[]; /* ratings.c: thumbs up/down */
/* qoe_state.c: the QoE consumer's accumulator per view */
extern const char *const store__sq_m0009_qoe_state[];
extern const char *const store__sq_m0010_retention[]; /* retention.c: purge indexes */
/* account_delete.c: tombstones of closed accounts */
extern const char *const store__sq_m0011_account_delete[];
/* password_reset.c: forgotten-password reset tokens */
extern const char *const store__sq_m0012_password_reset[];
/* asset_publish_seq.c: the publish order of assets */
extern const char *const store__sq_m0013_asset_publish_seq[];
/* reset_requests.c: pending password reset requests */
extern const char *const store__sq_m0014_reset_requests[];
/* rate_buckets.c: rate-limit buckets shared by the processes on the store */
extern const char *const store__sq_m0015_rate_buckets[];
/* qoe_repair.c: rebuild of views merged across accounts; the ended-views index */
extern const char *const store__sq_m0016_qoe_repair[];
/* genre_fold.c: genre names unique and matched whatever their ASCII case */
extern const char *const store__sq_m0017_genre_fold[];
/* title_name_fold.c: the index of the title list's name sort, ignoring ASCII case */
extern const char *const store__sq_m0018_title_name_fold[];
/* device_pins.c: the PIN state a TV sign-in was approved against */
extern const char *const store__sq_m0019_device_pins[];

const char *const *const store__sq_migrations[] = {m0001_init,
                                                   m0002_recency_seq,
                                                   store__sq_m0003_billing,
                                                   store__sq_m0004_leases,
                                                   store__sq_m0005_media,
                                                   store__sq_m0006_events,
                                                   store__sq_m0007_qoe,
                                                   store__sq_m0008_ratings,
                                                   store__sq_m0009_qoe_state,
                                                   store__sq_m0010_retention,
                                                   store__sq_m0011_account_delete,
                                                   store__sq_m0012_password_reset,
                                                   store__sq_m0013_asset_publish_seq,
                                                   store__sq_m0014_reset_requests,
                                                   store__sq_m0015_rate_buckets,
                                                   store__sq_m0016_qoe_repair,
                                                   store__sq_m0017_genre_fold,
                                                   store__sq_m0018_title_name_fold,
                                                   store__sq_m0019_device_pins};
const int store__sq_migration_count =
    (int)(sizeof store__sq_migrations / sizeof store__sq_migrations[0]);
