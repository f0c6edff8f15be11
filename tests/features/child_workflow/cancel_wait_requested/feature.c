/*
 * child_workflow/cancel_wait_requested, with another workflow in the parent's place: upstream,
 * cancelling a child with WAIT_CANCELLATION_REQUESTED resolves once the server recorded the
 * request. "Canceller" (arguments: the id of a running "Child", the id of a workflow that does
 * not exist) cancels the child with tw_cancel_external, whose future resolves on
 * ExternalWorkflowExecutionCancelRequested, then the missing one, whose future fails; it returns
 * {"cancel":"requested","missing":TYPE}. "Child" waits up to 60 s for "exit" and ends cancelled
 * when the cancel reaches it. Check: local/temporal/driver/feature_cancel.go.
 */
#include "feature.h"

static int child(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_payload *sig;
    size_t nsig;
    int rc = tw_signal_receive(wf, "exit", &sig, &nsig, 60000);
    if (rc == TW_ECANCELED)
        return rc;
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "waiting for exit");
    *result = nargs ? args[0] : tw_null();
    return 0;
}

/* Requests the cancel of |target| and waits: "requested", or the failure's type. */
static const char *cancel_and_wait(tw_wf *wf, const char *target)
{
    tw_future *f;
    int rc = tw_cancel_external(wf, target, "", &f);
    if (rc == 0)
        rc = tw_await(wf, f, NULL);
    if (rc == 0)
        return "requested";
    return rc == TW_EFAILED ? ft_failure_type(wf) : "error";
}

static int canceller(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    if (nargs != 2)
        return ft_wf_fail(wf, "want 2 arguments (the child's id, a missing id), got %zu", nargs);
    const char *cancel = cancel_and_wait(wf, ft_string(wf, &args[0]));
    const char *missing = cancel_and_wait(wf, ft_string(wf, &args[1]));
    *result = ft_wf_json(wf, "{\"cancel\":\"%s\",\"missing\":\"%s\"}", cancel, missing);
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Child", child, TW_PINNED);
    return rc ? rc : tw_register_workflow(r, "Canceller", canceller, TW_PINNED);
}

TW_LIBRARY(setup)
