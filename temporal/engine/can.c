/*
 * can: continue-as-new.
 *
 * SKELETON (session 4): these entries return TW_ESTATE until their owner implements them.
 */
#include "temporal/engine/wf_api.h"
#include "temporal/engine/wf_int.h"

int wf_continue_as_new(tw_wf *wf, const tw_continue_options *o, const tw_payload *args,
                       size_t nargs)
{ (void)wf; (void)o; (void)args; (void)nargs; return TW_ESTATE; }
