/*
 * stubs12: ABI 1.2 entries outside the engine, each moved to its owner's file when done (act_header: act.c; register_codec: codec.c). This file goes once empty.
 *
 * SKELETON (session 4): these entries return TW_ESTATE until their owner implements them.
 */
#include "registry/reg.h"
#include "temporal/worker/worker_int.h"

