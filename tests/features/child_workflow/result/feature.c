/*
 * child_workflow/result: "Workflow" executes the child "ChildWorkflow" with the argument
 * "test" (execution timeout 10 min, task timeout 1 min, as upstream) and returns the child's
 * result, which is its argument. Check: local/temporal/driver/feature_child.go.
 */
#include "feature.h"

static int parent(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_child_options o = {.execution_timeout_ms = 600000, .task_timeout_ms = 60000};
    tw_payload in = tw_json("\"test\"");
    int rc = tw_execute_child(wf, "ChildWorkflow", &o, &in, 1, result);
    return rc ? ft_wf_fail_rc(wf, rc, "tw_execute_child") : 0;
}

static int child(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    *result = nargs ? args[0] : tw_null();
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", parent, TW_PINNED);
    return rc ? rc : tw_register_workflow(r, "ChildWorkflow", child, TW_PINNED);
}

TW_LIBRARY(setup)
