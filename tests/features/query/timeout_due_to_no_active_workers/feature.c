/*
 * query/timeout_due_to_no_active_workers: "Workflow" answers "somequery" with true and waits
 * for the signal "finish". The check queries once with the worker running, then stops it (no
 * invocation runs) and queries with a 1 s deadline, which must end with a deadline error, then
 * starts the worker again and finishes the workflow. Check:
 * local/temporal/driver/feature_query.go.
 */
#include "feature.h"

static int somequery(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    *result = tw_json("true");
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_payload *sig;
    size_t nsig;
    int rc = tw_set_query_handler(wf, "somequery", somequery, NULL);
    if (rc == 0)
        rc = tw_signal_receive(wf, "finish", &sig, &nsig, -1);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "waiting for finish");
    *result = tw_null();
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
