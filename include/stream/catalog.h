/**
 * @file stream/catalog.h
 * @brief (being written)
 */
#ifndef STREAM_CATALOG_H
#define STREAM_CATALOG_H

#include "stream/common.h"

#endif
