/*
 * continue_as_new/continue_as_same: "Workflow" continues as new once with its own argument
 * (no options: the same type, task queue, memo); the new run, which sees continued_run_id,
 * returns that argument. Check: local/temporal/driver/feature_can.go (the result, the same
 * workflow id, the memo of the start kept, the new run's started event naming the first run).
 */
#include "feature.h"

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    if (tw_wf_info_get(wf)->continued_run_id) {
        *result = nargs ? args[0] : tw_null(); /* the run's arguments live as long as it */
        return 0;
    }
    return tw_continue_as_new(wf, NULL, args, nargs);
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
