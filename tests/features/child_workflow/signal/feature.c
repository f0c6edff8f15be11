/*
 * child_workflow/signal: "Workflow" starts "ChildWorkflow", signals it "unblock-signal" with
 * "unblock" (tw_signal_child waits until it started) and returns its result; the child waits
 * for that signal and returns what it carried. Check: local/temporal/driver/feature_child.go.
 */
#include "feature.h"

static int parent(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_child_options o = {.execution_timeout_ms = 600000, .task_timeout_ms = 60000};
    tw_future *child;
    int rc = tw_start_child(wf, "ChildWorkflow", &o, NULL, 0, NULL, &child);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "tw_start_child");
    tw_payload msg = tw_json("\"unblock\"");
    if ((rc = tw_signal_child(wf, child, "unblock-signal", &msg, 1, NULL)))
        return ft_wf_fail_rc(wf, rc, "tw_signal_child");
    rc = tw_await(wf, child, result);
    return rc ? ft_wf_fail_rc(wf, rc, "awaiting the child") : 0;
}

static int child(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_payload *sig;
    size_t nsig;
    int rc = tw_signal_receive(wf, "unblock-signal", &sig, &nsig, -1);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "waiting for unblock-signal");
    *result = nsig ? sig[0] : tw_null();
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", parent, TW_PINNED);
    return rc ? rc : tw_register_workflow(r, "ChildWorkflow", child, TW_PINNED);
}

TW_LIBRARY(setup)
