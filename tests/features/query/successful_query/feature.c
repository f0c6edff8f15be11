/*
 * query/successful_query: "Workflow" answers the query "counterQ" with its counter and adds 1
 * for each of five "counterInc" signals it receives (channel style), then completes. The check
 * queries after 0, 1 and 4 signals and expects 0, 1, 4: a query sees every signal sent before
 * it. Check: local/temporal/driver/feature_query.go.
 */
#include "feature.h"

static int counter_q(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    *result = ft_wf_json(wf, "%d", *(int *)arg);
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    int *counter = tw_wf_alloc(wf, sizeof(*counter));
    if (!counter)
        return TW_ENOMEM;
    *counter = 0;
    int rc = tw_set_query_handler(wf, "counterQ", counter_q, counter);
    for (int i = 0; rc == 0 && i < 5; i++) {
        tw_payload *sig;
        size_t nsig;
        rc = tw_signal_receive(wf, "counterInc", &sig, &nsig, -1);
        if (rc == 0)
            ++*counter;
    }
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "receiving counterInc");
    *result = tw_null();
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
