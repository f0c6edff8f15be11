/*
 * query/unexpected_query_type_name: "Workflow" has no query handler and waits for the signal
 * "finish"; the check's query "nonexistent" must fail with QueryFailed naming the type. Check:
 * local/temporal/driver/feature_query.go.
 */
#include "feature.h"

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_payload *sig;
    size_t nsig;
    int rc = tw_signal_receive(wf, "finish", &sig, &nsig, -1);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "waiting for finish");
    *result = tw_null();
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
