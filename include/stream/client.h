/**
 * @file stream/client.h
 * @brief (being written)
 */
#ifndef STREAM_CLIENT_H
#define STREAM_CLIENT_H

#include "stream/common.h"

#endif
