/*
 * child_workflow/cancel_wait_completed: "Workflow" starts "Child" ("child-input") with the
 * default cancellation type, WAIT_COMPLETED, waits until it started, cancels it (tw_cancel) and
 * awaits it: the request goes out, and the await returns only once the child ended
 * (ChildWorkflowExecutionCanceled): TW_ECANCELED, a child workflow failure caused by the
 * cancellation. The parent returns {"await":<rc>,"kind":<kind>,"cause":<cause kind>}. "Child"
 * waits up to 60 s for "exit"; the cancel request reaches it as TW_ECANCELED, it sleeps 1 s
 * (cleanup the parent waits for) and ends cancelled.
 * Check: local/temporal/driver/feature_child.go.
 */
#include "feature.h"

static int parent(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_future *started, *child;
    tw_payload in = tw_json("\"child-input\"");
    int rc = tw_start_child(wf, "Child", NULL, &in, 1, &started, &child);
    if (rc == 0)
        rc = tw_await(wf, started, NULL);
    if (rc == 0)
        rc = tw_cancel(wf, child);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "starting and cancelling the child");
    rc = tw_await(wf, child, NULL);
    const tw_failure *f = tw_wf_last_failure(wf);
    *result = ft_wf_json(wf, "{\"await\":%d,\"kind\":%d,\"cause\":%d}", rc, rc && f ? f->kind : -1,
                         rc && f && f->cause ? f->cause->kind : -1);
    return 0;
}

static int child(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    int rc = tw_signal_receive(wf, "exit", NULL, NULL, 60000);
    if (rc == TW_ECANCELED) {
        int cleanup = tw_sleep(wf, 1000); /* runs after the cancel too */
        return cleanup ? ft_wf_fail_rc(wf, cleanup, "cleaning up") : TW_ECANCELED;
    }
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
