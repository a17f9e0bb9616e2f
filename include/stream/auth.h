/**
 * @file stream/auth.h
 * @brief (being written)
 */
#ifndef STREAM_AUTH_H
#define STREAM_AUTH_H

#include "stream/common.h"

#endif
