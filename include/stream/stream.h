/**
 * @file stream/stream.h
 * @brief Umbrella header: include this to get the whole public libstream API.
 */
#ifndef STREAM_STREAM_H
#define STREAM_STREAM_H

#include "stream/common.h"
#include "stream/features.h"
#include "stream/keys.h"
#include "stream/sign.h"
#include "stream/token.h"
#include "stream/password.h"
#include "stream/event.h"
#include "stream/recs.h"
#include "stream/cmcd.h"

#if STREAM_HAVE_SERVER
#include "stream/store.h"
#include "stream/auth.h"
#include "stream/catalog.h"
#include "stream/billing.h"
#include "stream/upload.h"
#include "stream/jobs.h"
#include "stream/events.h"
#include "stream/delivery.h"
#endif
#if STREAM_HAVE_CLIENT
#include "stream/client.h"
#include "stream/emitter.h"
#endif
#if STREAM_HAVE_MEDIA
#include "stream/media.h"
#endif
#if STREAM_HAVE_NATS
#include "stream/relay.h"
#endif

#endif
