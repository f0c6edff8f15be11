/*
 * child: child workflows (StartChildWorkflowExecution and its events).
 *
 * SKELETON (session 4): these entries return TW_ESTATE until their owner implements them.
 */
#include "temporal/engine/wf_api.h"
#include "temporal/engine/wf_int.h"

int wf_start_child(tw_wf *wf, const char *type, const tw_child_options *o,
                   const tw_payload *args, size_t nargs, tw_future **started, tw_future **result)
{ (void)wf; (void)type; (void)o; (void)args; (void)nargs; (void)started; (void)result; return TW_ESTATE; }
int wf_execute_child(tw_wf *wf, const char *type, const tw_child_options *o,
                     const tw_payload *args, size_t nargs, tw_payload *result)
{ (void)wf; (void)type; (void)o; (void)args; (void)nargs; (void)result; return TW_ESTATE; }
int wf_child_execution(tw_wf *wf, tw_future *child, const char **workflow_id, const char **run_id)
{ (void)wf; (void)child; (void)workflow_id; (void)run_id; return TW_ESTATE; }
int wf_signal_child(tw_wf *wf, tw_future *child, const char *signal, const tw_payload *args,
                    size_t nargs, tw_future **out)
{ (void)wf; (void)child; (void)signal; (void)args; (void)nargs; (void)out; return TW_ESTATE; }
