/*
 * core/log: one process-wide log sink. Messages are formatted only when a
 * sink would receive them, so disabled logging costs one atomic load.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "core.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static stream_log_fn log_fn;
static void *log_ud;
static atomic_int log_min = STREAM_LOG_OFF;

void stream_log_set_callback(stream_log_fn fn, void *userdata, int min_level)
{
  pthread_mutex_lock(&log_lock);
  log_fn = fn;
  log_ud = userdata;
  atomic_store(&log_min, fn ? min_level : STREAM_LOG_OFF);
  pthread_mutex_unlock(&log_lock);
}

bool stream__log_enabled(int level)
{
  return level >= atomic_load(&log_min);
}

void stream__log(int level, const char *module, const char *fmt, ...)
{
  if (!stream__log_enabled(level))
    return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&log_lock);
  stream_log_fn fn = log_fn;
  void *ud = log_ud;
  pthread_mutex_unlock(&log_lock);
  if (fn)
    fn(level, module ? module : "core", msg, ud);
}
