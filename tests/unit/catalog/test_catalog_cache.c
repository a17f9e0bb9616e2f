/* The catalog detail cache: hits give the same bytes as fresh reads, viewer filters
 * (region, maturity, kids, availability window) still apply on hits, writes through the
 * handle invalidate at once, writes through another handle show after the 1 s expiry,
 * and 600 titles evicting each other stay correct. Exit 0 when all hold. The store is a
 * SQLite file, or under tests/pg/pg_run.sh a PostgreSQL database (../store_path.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../store_path.h"
#include "stream/catalog.h"
#include "stream/store.h"

static int64_t now_v = 1700000000;
static int64_t clk(void *u)
{
  (void)u;
  return now_v;
}
#define CHECK(x)                                                                                   \
  do {                                                                                             \
    if (!(x)) {                                                                                    \
      printf("FAIL %s:%d %s\n", __FILE__, __LINE__, #x);                                           \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)
#define OK(x)                                                                                      \
  do {                                                                                             \
    int r_ = (x);                                                                                  \
    if (r_) {                                                                                      \
      printf("FAIL %s:%d rc=%d %s\n", __FILE__, __LINE__, r_,                                      \
             stream_error_last() ? stream_error_last()->message : "");                             \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)
#define EQ(x, v)                                                                                   \
  do {                                                                                             \
    int r_ = (x);                                                                                  \
    if (r_ != (v)) {                                                                               \
      printf("FAIL %s:%d rc=%d want %d\n", __FILE__, __LINE__, r_, (v));                           \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

static stream_catalog_viewer V(int ceil, int kids, const char *region)
{
  stream_catalog_viewer v = STREAM_CATALOG_VIEWER_INIT;
  v.profile_id = "p1";
  v.maturity_ceiling = ceil;
  v.kids = kids;
  v.region = region;
  return v;
}

int main(void)
{
  char dir[] = "/tmp/stream-dcache-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[256];
  snprintf(path, sizeof path, "%s/s.db", dir);
  stream_store *st;
  stream_store_options o = STREAM_STORE_OPTIONS_INIT;
  char uri[512];
  o.path = test_store_path(uri, sizeof uri, path);
  OK(stream_store_open(&st, &o));
  stream_catalog *c1, *c2;
  stream_catalog_options co = STREAM_CATALOG_OPTIONS_INIT;
  co.store = st;
  co.clock = clk;
  OK(stream_catalog_new(&c1, &co));
  OK(stream_catalog_new(&c2, &co));
  char doc[1024];
  snprintf(doc, sizeof doc,
           "{\"id\":\"t1\",\"kind\":\"movie\",\"name\":\"One\",\"maturity_rating\":13,"
           "\"genres\":[\"Drama\"],\"regions\":[\"IT\",\"FR\"],\"available_until\":%lld}",
           (long long)(now_v + 10));
  char *out = NULL, *a = NULL, *b = NULL;
  OK(stream_catalog_title_put(NULL, NULL, c1, doc));
  OK(stream_catalog_title_get(&a, c1, "t1", NULL)); /* fills */
  OK(stream_catalog_title_get(&b, c1, "t1", NULL)); /* hit */
  CHECK(strcmp(a, b) == 0);
  stream_free(b);
  stream_catalog_viewer it = V(18, 0, "IT"), us = V(18, 0, "US"), low = V(7, 0, "IT"),
                        kids = V(18, 1, NULL), none = V(13, 0, NULL), low2 = V(7, 0, "US");
  OK(stream_catalog_title_get(&b, c1, "t1", &it));
  CHECK(strcmp(a, b) == 0);
  stream_free(b);
  OK(stream_catalog_title_get(&b, c1, "t1", &none));
  stream_free(b);
  EQ(stream_catalog_title_get(&out, c1, "t1", &us), STREAM_ENOTFOUND);
  CHECK(strstr(stream_error_last()->message, "t1"));
  EQ(stream_catalog_title_get(&out, c1, "t1", &low), STREAM_ENOTFOUND);
  EQ(stream_catalog_title_get(&out, c1, "t1", &kids), STREAM_ENOTFOUND);
  now_v += 10; /* window closes */
  EQ(stream_catalog_title_get(&out, c1, "t1", &it), STREAM_ENOTFOUND);
  OK(stream_catalog_title_get(&b, c1, "t1", NULL));
  stream_free(b);
  now_v -= 10;
  /* update through c1: visible at once */
  char doc2[1024];
  snprintf(doc2, sizeof doc2,
           "{\"id\":\"t1\",\"kind\":\"movie\",\"name\":\"Two\",\"maturity_rating\":7,"
           "\"genres\":[\"Drama\"],\"regions\":[\"US\"]}");
  OK(stream_catalog_title_put(NULL, NULL, c1, doc2));
  OK(stream_catalog_title_get(&b, c1, "t1", &us));
  CHECK(strstr(b, "\"Two\""));
  stream_free(b);
  EQ(stream_catalog_title_get(&out, c1, "t1", &it), STREAM_ENOTFOUND);
  OK(stream_catalog_title_get(&b, c1, "t1", &low2));
  stream_free(b);
  /* write through another handle: c1 may be stale for at most the TTL */
  snprintf(doc2, sizeof doc2,
           "{\"id\":\"t1\",\"kind\":\"movie\",\"name\":\"Three\",\"maturity_rating\":7}");
  OK(stream_catalog_title_put(NULL, NULL, c2, doc2));
  usleep(1100 * 1000);
  OK(stream_catalog_title_get(&b, c1, "t1", NULL));
  CHECK(strstr(b, "\"Three\""));
  stream_free(b);
  /* delete invalidates */
  OK(stream_catalog_title_delete(c1, "t1"));
  EQ(stream_catalog_title_get(&out, c1, "t1", NULL), STREAM_ENOTFOUND);
  /* many titles: direct-mapped eviction still correct */
  for (int i = 0; i < 600; i++) {
    snprintf(doc2, sizeof doc2,
             "{\"id\":\"x%d\",\"kind\":\"movie\",\"name\":\"N%d\",\"maturity_rating\":0}", i, i);
    OK(stream_catalog_title_put(NULL, NULL, c1, doc2));
  }
  for (int r = 0; r < 2; r++)
    for (int i = 0; i < 600; i++) {
      char id[16], nm[16];
      snprintf(id, sizeof id, "x%d", i);
      snprintf(nm, sizeof nm, "\"N%d\"", i);
      OK(stream_catalog_title_get(&b, c1, id, NULL));
      CHECK(strstr(b, nm));
      stream_free(b);
    }
  stream_free(a);
  stream_catalog_free(c1);
  stream_catalog_free(c2);
  stream_store_close(st);
  const char *suffix[] = {"", "-wal", "-shm"};
  for (int i = 0; i < 3; i++) {
    snprintf(path, sizeof path, "%s/s.db%s", dir, suffix[i]);
    unlink(path);
  }
  rmdir(dir);
  printf("catalog detail cache: OK\n");
  return 0;
}
