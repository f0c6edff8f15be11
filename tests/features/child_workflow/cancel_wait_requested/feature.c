/*
 * child_workflow/cancel_wait_requested: "Workflow" starts "Child" ("child-input") with the
 * cancellation type WAIT_REQUESTED (and the parent close policy ABANDON, so the parent's
 * completion does not terminate the child before the request reaches it), waits until it
 * started, cancels it (tw_cancel) and awaits it: the await returns TW_ECANCELED only once the
 * server delivered the request (ExternalWorkflowExecutionCancelRequested), in a later task; the
 * parent returns {"await":<rc>,"cause":<cause kind>}. "Child" waits up to 60 s for "exit"; the
 * cancel request reaches it as TW_ECANCELED and it ends cancelled.
 * Check: local/temporal/driver/feature_child.go.
 */
#include "feature.h"

static int parent(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_child_options o = {.cancellation_type = TW_CHILD_CANCEL_WAIT_REQUESTED,
                          .parent_close_policy = TW_PARENT_CLOSE_ABANDON};
    tw_future *started, *child;
    tw_payload in = tw_json("\"child-input\"");
    int rc = tw_start_child(wf, "Child", &o, &in, 1, &started, &child);
    if (rc == 0)
        rc = tw_await(wf, started, NULL);
    if (rc == 0)
        rc = tw_cancel(wf, child);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "starting and cancelling the child");
    rc = tw_await(wf, child, NULL);
    const tw_failure *f = tw_wf_last_failure(wf);
    *result = ft_wf_json(wf, "{\"await\":%d,\"cause\":%d}", rc,
                         rc && f && f->cause ? f->cause->kind : -1);
    return 0;
}

static int child(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    int rc = tw_signal_receive(wf, "exit", NULL, NULL, 60000);
    if (rc == TW_ECANCELED)
        return rc;
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "waiting for exit");
    *result = nargs ? args[0] : tw_null();
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", parent, TW_PINNED);
    return rc ? rc : tw_register_workflow(r, "Child", child, TW_PINNED);
}

TW_LIBRARY(setup)
