/*
 * child_workflow/throws_on_execute: "ChildWorkflow" fails with a non-retryable "TestError"
 * ("Test message", details {"foo":"bar"}); "Workflow" executes it and fails with the failure
 * it got (tw_wf_last_failure(): a child workflow failure caused by the child's error), so the
 * client sees WorkflowExecutionError <- ChildWorkflowExecutionError <- ApplicationError.
 * Check: local/temporal/driver/feature_child.go.
 */
#include "feature.h"

static int parent(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    int rc = tw_execute_child(wf, "ChildWorkflow", NULL, NULL, 0, result);
    return rc ? ft_wf_fail_rc(wf, rc, "tw_execute_child") : 0;
}

static int child(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_payload details = tw_json("{\"foo\":\"bar\"}");
    tw_failure f = {.type = "TestError", .message = "Test message", .non_retryable = 1,
                    .details = &details, .ndetails = 1};
    return tw_wf_fail(wf, &f);
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", parent, TW_PINNED);
    return rc ? rc : tw_register_workflow(r, "ChildWorkflow", child, TW_PINNED);
}

TW_LIBRARY(setup)
