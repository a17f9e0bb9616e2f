/**
 * @file stream/media.h
 * @brief (being written)
 */
#ifndef STREAM_MEDIA_H
#define STREAM_MEDIA_H

#include "stream/common.h"

#endif
