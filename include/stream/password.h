/**
 * @file stream/password.h
 * @brief (being written)
 */
#ifndef STREAM_PASSWORD_H
#define STREAM_PASSWORD_H

#include "stream/common.h"
#include "stream/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif
#endif
