/*
 * child_workflow/retry: "Workflow" executes "ChildWorkflow" with a retry policy of 3 attempts
 * (1 s apart); the child always fails ("attempt <n>", type "ChildFailure"), so it runs 3 times
 * and the parent sees its last failure: it returns {"kind","type","message","retry_state",
 * "cause_kind"}. Check: local/temporal/driver/feature_child.go.
 */
#include "feature.h"

static int parent(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_retry_policy retry = {.initial_interval_ms = 1000, .backoff_coefficient = 1,
                             .maximum_attempts = 3};
    tw_child_options o = {.retry = &retry};
    int rc = tw_execute_child(wf, "ChildWorkflow", &o, NULL, 0, NULL);
    const tw_failure *f = tw_wf_last_failure(wf);
    if (rc != TW_EFAILED || !f)
        return ft_wf_fail(wf, "the child should fail, got %d", rc);
    *result = ft_wf_json(wf, "{\"kind\":%d,\"type\":\"%s\",\"message\":\"%s\",\"retry_state\":%d,"
                             "\"cause_kind\":%d}",
                         f->kind, f->type, f->message, f->retry_state,
                         f->cause ? f->cause->kind : -1);
    return 0;
}

static int child(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    char msg[64];
    snprintf(msg, sizeof(msg), "attempt %d", (int)tw_wf_info_get(wf)->attempt);
    tw_failure f = {.type = "ChildFailure", .message = msg};
    return tw_wf_fail(wf, &f);
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", parent, TW_PINNED);
    return rc ? rc : tw_register_workflow(r, "ChildWorkflow", child, TW_PINNED);
}

TW_LIBRARY(setup)
