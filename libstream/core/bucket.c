/*
 * core/bucket: the token-bucket arithmetic of every rate limit in libstream
 * (auth's in-memory limiter, the store's shared buckets), so that a limit
 * refills, charges and reports its wait the same way wherever it is kept.
 */
#include "core.h"

void stream__bucket_refill(double *tokens, int64_t *updated, unsigned int burst,
                           unsigned int interval, int64_t now)
{
  if (now > *updated && interval > 0) {
    *tokens += (double)(now - *updated) / (double)interval;
    *updated = now;
  }
  if (*tokens > (double)burst) /* also a burst lowered since the bucket was written */
    *tokens = (double)burst;
  if (*tokens < 0)
    *tokens = 0;
}

int64_t stream__ceil_seconds(double need)
{
  int64_t w = (int64_t)need;
  if ((double)w < need - 1e-9)
    w++;
  return w;
}

int64_t stream__bucket_wait(double tokens, unsigned int interval)
{
  if (tokens >= 1.0)
    return 0;
  int64_t w = stream__ceil_seconds((1.0 - tokens) * (double)interval);
  return w < 1 ? 1 : w;
}
