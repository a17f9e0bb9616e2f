/**
 * @file stream/token.h
 * @brief (being written)
 */
#ifndef STREAM_TOKEN_H
#define STREAM_TOKEN_H

#include "stream/common.h"
#include "stream/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
