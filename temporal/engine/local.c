/*
 * local: local activities in the engine (markers, retries, the worker runs them).
 *
 * SKELETON (session 4): these entries return TW_ESTATE until their owner implements them.
 */
#include "temporal/engine/wf_api.h"
#include "temporal/engine/wf_int.h"

int wf_execute_local_activity(tw_wf *wf, const char *type, const tw_local_activity_options *o,
                              const tw_payload *args, size_t nargs, tw_payload *result)
{ (void)wf; (void)type; (void)o; (void)args; (void)nargs; (void)result; return TW_ESTATE; }
int wf_start_local_activity(tw_wf *wf, const char *type, const tw_local_activity_options *o,
                            const tw_payload *args, size_t nargs, tw_future **out)
{ (void)wf; (void)type; (void)o; (void)args; (void)nargs; (void)out; return TW_ESTATE; }
