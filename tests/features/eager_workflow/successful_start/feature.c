/*
 * eager_workflow/successful_start: "Workflow" returns "Hello World". Eager start hands the
 * first workflow task to the starter in StartWorkflowExecution's answer, for a worker in the
 * starter's own process; a Lambda worker never shares a process with a starter, so the check
 * verifies what can apply to it: a start asking for eager execution still runs through the
 * serverless worker. Check: local/temporal/driver/feature_shutdown.go.
 */
#include "feature.h"

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    *result = tw_json("\"Hello World\"");
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
