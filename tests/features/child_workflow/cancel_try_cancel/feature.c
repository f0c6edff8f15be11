/*
 * child_workflow/cancel_try_cancel, the child's side (the parent's part waits for child
 * workflows): "Child" (argument: a string) waits up to 60 s for the signal "exit" and returns
 * its argument; when the workflow is cancelled instead, the wait returns TW_ECANCELED (its
 * timer cancelled) and the child returns TW_ECANCELED, ending as cancelled. The check cancels
 * it from the client. Check: local/temporal/driver/feature_cancel.go.
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

static int setup(tw_registry *r) { return tw_register_workflow(r, "Child", child, TW_PINNED); }

TW_LIBRARY(setup)
