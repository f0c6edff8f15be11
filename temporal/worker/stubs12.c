/*
 * stubs12: ABI 1.2 entries outside the engine, each moved to its owner's file when done (act_header: act.c; register_codec: codec.c; register_dynamic_*, register_stop_hook: registry/reg.c). This file goes once empty.
 *
 * SKELETON (session 4): these entries return TW_ESTATE until their owner implements them.
 */
#include "registry/reg.h"
#include "temporal/worker/worker_int.h"

int reg_register_codec(tw_registry *r, const tw_codec *codec, void *arg)
{ (void)r; (void)codec; (void)arg; return TW_ESTATE; }
int reg_register_dynamic_workflow(tw_registry *r, tw_workflow_fn fn, tw_versioning v)
{ (void)r; (void)fn; (void)v; return TW_ESTATE; }
int reg_register_dynamic_activity(tw_registry *r, tw_activity_fn fn)
{ (void)r; (void)fn; return TW_ESTATE; }
int reg_register_stop_hook(tw_registry *r, tw_stop_fn fn, void *arg)
{ (void)r; (void)fn; (void)arg; return TW_ESTATE; }
