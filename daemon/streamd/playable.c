/*
 * The "playable" flag of title documents (see playable.h). Costs, per
 * answer: a detail is one indexed asset lookup per episode until the first
 * playable one is found (movies: one); a browse or search page of N items is
 * N lookups (a series: its cached detail and the lookups until a playable
 * episode). The playback route makes the same lookups when asked to play.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "playable.h"

/*
 * The answers of the lookup below are remembered for PC_TTL_MS per (title, episode), in
 * PC_SLOTS direct-mapped slots: the title detail is streamd's hottest read (docs/bench.md
 * "HTTP"), and an asset lookup per request cost it a third of its throughput. A publish shows
 * up within PC_TTL_MS, as a catalog edit by another process shows in the catalog's own cache.
 */
#define PC_SLOTS 512
#define PC_TTL_MS 1000
#define PC_ID_MAX 128

typedef struct pc_entry {
  uint64_t hash;
  int64_t until_ms; /* 0: empty */
  bool value;
  char title[PC_ID_MAX + 1];
  char episode[PC_ID_MAX + 1];
} pc_entry;

static pc_entry pc[PC_SLOTS];
static pthread_mutex_t pc_mu = PTHREAD_MUTEX_INITIALIZER;

static int64_t now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t pc_hash(const char *title, const char *episode)
{
  uint64_t h = 14695981039346656037ull;
  for (const char *p = title; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  h = (h ^ 0xff) * 1099511628211ull;
  for (const char *p = episode; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  return h;
}

void streamd_playable_forget(void)
{
  pthread_mutex_lock(&pc_mu);
  for (size_t i = 0; i < PC_SLOTS; i++)
    pc[i].until_ms = 0;
  pthread_mutex_unlock(&pc_mu);
}

/* The lookup of POST /v1/playback: a ready asset for this title and episode. */
static bool lookup_asset(streamd_app *app, const char *title_id, const char *episode_id)
{
  if (!app->media_jobs)
    return false;
  stream_asset a;
  memset(&a, 0, sizeof(a));
  int rc = stream_jobs_asset_for_title(&a, app->media_jobs, title_id, episode_id);
  stream_asset_clear(&a);
  if (rc != STREAM_OK)
    stream_error_clear(); /* not found, or cannot tell: not shown as playable */
  return rc == STREAM_OK;
}

static bool has_asset(streamd_app *app, const char *title_id, const char *episode_id)
{
  const char *ep = episode_id ? episode_id : "";
  if (strlen(title_id) > PC_ID_MAX || strlen(ep) > PC_ID_MAX)
    return lookup_asset(app, title_id, episode_id);
  uint64_t h = pc_hash(title_id, ep);
  pc_entry *e = &pc[h % PC_SLOTS];
  int64_t now = now_ms();
  pthread_mutex_lock(&pc_mu);
  if (e->until_ms > now && e->hash == h && strcmp(e->title, title_id) == 0 &&
      strcmp(e->episode, ep) == 0) {
    bool v = e->value;
    pthread_mutex_unlock(&pc_mu);
    return v;
  }
  pthread_mutex_unlock(&pc_mu);
  bool v = lookup_asset(app, title_id, episode_id);
  pthread_mutex_lock(&pc_mu);
  e->hash = h;
  e->until_ms = now + PC_TTL_MS;
  e->value = v;
  snprintf(e->title, sizeof(e->title), "%s", title_id);
  snprintf(e->episode, sizeof(e->episode), "%s", ep);
  pthread_mutex_unlock(&pc_mu);
  return v;
}

/* `{"playable":B,` + the rest of the object `*json`, without parsing it (a movie's detail:
 * the flag is the only change). 0, or -1 when `*json` is not an object (left as it was). */
static int splice_flag(char **json, bool value)
{
  const char *in = *json;
  size_t n = strlen(in);
  if (n < 2 || in[0] != '{')
    return -1;
  const char *flag = value ? "\"playable\":true" : "\"playable\":false";
  size_t fl = strlen(flag);
  bool empty = in[1] == '}';
  char *out = malloc(n + fl + 2);
  if (!out)
    return -1;
  out[0] = '{';
  memcpy(out + 1, flag, fl);
  size_t pos = 1 + fl;
  if (!empty)
    out[pos++] = ',';
  memcpy(out + pos, in + 1, n); /* the rest and its NUL */
  stream_free(*json);
  *json = out;
  return 0;
}

/* Mark each episode of a detail document; true when any is playable. */
static bool mark_episodes(streamd_app *app, cJSON *detail, const char *title_id, bool mark)
{
  bool any = false;
  const cJSON *season;
  cJSON_ArrayForEach(season, cJSON_GetObjectItemCaseSensitive(detail, "seasons"))
  {
    cJSON *ep;
    cJSON_ArrayForEach(ep, cJSON_GetObjectItemCaseSensitive(season, "episodes"))
    {
      const cJSON *id = cJSON_GetObjectItemCaseSensitive(ep, "id");
      if (!cJSON_IsString(id))
        continue;
      if (!mark && any)
        return true;
      bool ok = has_asset(app, title_id, id->valuestring);
      any |= ok;
      if (mark)
        cJSON_AddBoolToObject(ep, "playable", ok);
    }
  }
  return any;
}

static bool is_series(const cJSON *t)
{
  const cJSON *kind = cJSON_GetObjectItemCaseSensitive(t, "kind");
  return cJSON_IsString(kind) && strcmp(kind->valuestring, "series") == 0;
}

/* Whether a title of a list (no seasons in it) can play. */
static bool item_playable(streamd_app *app, const char *id, bool series)
{
  if (has_asset(app, id, NULL))
    return true;
  if (!series)
    return false;
  char *json = NULL;
  if (stream_catalog_title_get(&json, app->catalog, id, NULL) != STREAM_OK) {
    stream_error_clear();
    return false;
  }
  cJSON *d = cJSON_Parse(json);
  stream_free(json);
  bool any = d && mark_episodes(app, d, id, false);
  cJSON_Delete(d);
  return any;
}

static int replace(char **json, cJSON *doc)
{
  char *out = cJSON_PrintUnformatted(doc);
  cJSON_Delete(doc);
  if (!out)
    return -1;
  stream_free(*json);
  *json = out;
  return 0;
}

/* Flag every entry of the array `items`: a title, or an entry holding one under "title"
 * (My List, Continue Watching). 0, or -1 out of memory. */
static int mark_items(streamd_app *app, cJSON *items)
{
  cJSON *it;
  cJSON_ArrayForEach(it, items)
  {
    cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "title");
    if (!cJSON_IsObject(t))
      t = it;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "id");
    if (cJSON_IsString(id) &&
        !cJSON_AddBoolToObject(t, "playable", item_playable(app, id->valuestring, is_series(t))))
      return -1;
  }
  return 0;
}

int streamd_playable_items(streamd_app *app, char **json)
{
  cJSON *doc = cJSON_Parse(*json);
  if (!doc)
    return -1;
  if (mark_items(app, cJSON_GetObjectItemCaseSensitive(doc, "items")) != 0) {
    cJSON_Delete(doc);
    return -1;
  }
  return replace(json, doc);
}

int streamd_playable_rows(streamd_app *app, char **json)
{
  cJSON *doc = cJSON_Parse(*json);
  if (!doc)
    return -1;
  cJSON *row;
  cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(doc, "rows"))
  {
    if (mark_items(app, cJSON_GetObjectItemCaseSensitive(row, "items")) != 0) {
      cJSON_Delete(doc);
      return -1;
    }
  }
  return replace(json, doc);
}

int streamd_playable_detail(streamd_app *app, char **json)
{
  /* A movie (no episodes to mark): the top-level flag, spliced in without a parse. The
   * catalog prints a title as {"id":"<id>","kind":"movie"|"series",...} (render.c); anything
   * else takes the parse below. */
  static const char head[] = "{\"id\":\"";
  static const char movie[] = "\",\"kind\":\"movie\"";
  if (strncmp(*json, head, sizeof(head) - 1) == 0) {
    const char *idp = *json + sizeof(head) - 1;
    const char *end = strchr(idp, '"');
    size_t n = end ? (size_t)(end - idp) : 0;
    if (end && n > 0 && n <= PC_ID_MAX && !memchr(idp, '\\', n) &&
        strncmp(end, movie, sizeof(movie) - 1) == 0) {
      char id[PC_ID_MAX + 1];
      memcpy(id, idp, n);
      id[n] = '\0';
      if (splice_flag(json, has_asset(app, id, NULL)) == 0)
        return 0;
    }
  }
  cJSON *doc = cJSON_Parse(*json);
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(doc, "id");
  if (!doc || !cJSON_IsString(id)) {
    cJSON_Delete(doc);
    return -1;
  }
  bool own = has_asset(app, id->valuestring, NULL);
  bool eps = is_series(doc) && mark_episodes(app, doc, id->valuestring, true);
  if (!cJSON_AddBoolToObject(doc, "playable", own || eps)) {
    cJSON_Delete(doc);
    return -1;
  }
  return replace(json, doc);
}
