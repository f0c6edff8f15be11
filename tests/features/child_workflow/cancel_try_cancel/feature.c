/*
 * child_workflow/cancel_try_cancel: "Workflow" starts "Child" ("child-input") with the
 * cancellation type TRY (parent close policy ABANDON), waits until it started, cancels it
 * (tw_cancel) and awaits it: the await returns TW_ECANCELED at once, in the task that sends the
 * cancel request. The server delivers a request only while its sender runs, so the parent then
 * waits (up to 60 s: a timer) for the signal "child-cancelled" that the child sends it when the
 * request reached it; it returns {"await":<rc>,"cause":<cause kind>,"heard":<rc>}. "Child" waits
 * up to 60 s for "exit"; the request reaches it as TW_ECANCELED: it signals its parent and ends
 * cancelled. Check: local/temporal/driver/feature_child.go.
 */
#include "feature.h"

static int parent(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_child_options o = {.cancellation_type = TW_CHILD_CANCEL_TRY,
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
    int cause = rc && f && f->cause ? f->cause->kind : -1;
    int heard = tw_signal_receive(wf, "child-cancelled", NULL, NULL, 60000);
    *result = ft_wf_json(wf, "{\"await\":%d,\"cause\":%d,\"heard\":%d}", rc, cause, heard);
    return 0;
}

static int child(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    int rc = tw_signal_receive(wf, "exit", NULL, NULL, 60000);
    if (rc == TW_ECANCELED) { /* tell the parent, which waits for it */
        const tw_wf_info *info = tw_wf_info_get(wf);
        tw_future *sent;
        rc = tw_signal_external(wf, info->parent_workflow_id, info->parent_run_id,
                                "child-cancelled", NULL, 0, &sent);
        if (rc == 0)
            rc = tw_await(wf, sent, NULL);
        return rc ? ft_wf_fail_rc(wf, rc, "signalling the parent") : TW_ECANCELED;
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
