/*
 * child_workflow/throws_on_timeout: "Workflow" executes "ChildWorkflow" with an execution
 * timeout of 1 s and one attempt (upstream: 1 ms; a second keeps the server from refusing it
 * as too short, and the child starts for sure); the child sleeps 60 s, so it times out, and the
 * parent fails with the failure it got (a child workflow failure caused by a timeout).
 * Check: local/temporal/driver/feature_child.go.
 */
#include "feature.h"

static int parent(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_retry_policy once = {.maximum_attempts = 1};
    tw_child_options o = {.execution_timeout_ms = 1000, .retry = &once};
    int rc = tw_execute_child(wf, "ChildWorkflow", &o, NULL, 0, result);
    return rc ? ft_wf_fail_rc(wf, rc, "tw_execute_child") : 0;
}

static int child(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    int rc = tw_sleep(wf, 60000);
    return rc ? ft_wf_fail_rc(wf, rc, "sleeping") : 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", parent, TW_PINNED);
    return rc ? rc : tw_register_workflow(r, "ChildWorkflow", child, TW_PINNED);
}

TW_LIBRARY(setup)
