/*
 * child_workflow/cancel_wait_completed, the child's side (the parent's part waits for child
 * workflows): "Child" sleeps 2 s three times and ignores a cancel request: the sleep under way
 * returns TW_ECANCELED, the next ones run normally, and it completes with "ignored the cancel"
 * (tw_wf_cancel_requested() says a cancel came). Check: local/temporal/driver/feature_cancel.go.
 */
#include "feature.h"

static int child(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    for (int i = 0; i < 3; i++) {
        int rc = tw_sleep(wf, 2000);
        if (rc != 0 && rc != TW_ECANCELED)
            return ft_wf_fail_rc(wf, rc, "sleeping");
    }
    *result = tw_wf_cancel_requested(wf) ? tw_json("\"ignored the cancel\"") : tw_json("\"no cancel came\"");
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Child", child, TW_PINNED); }

TW_LIBRARY(setup)
