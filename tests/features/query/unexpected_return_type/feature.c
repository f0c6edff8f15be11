/*
 * query/unexpected_return_type: "theQuery" answers the string "hi bob"; the check decodes it
 * into a number (which must fail on the client) and into a string. "Workflow" waits for the
 * signal "finish". Check: local/temporal/driver/feature_query.go.
 */
#include "feature.h"

static int the_query(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    *result = tw_json("\"hi bob\"");
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_payload *sig;
    size_t nsig;
    int rc = tw_set_query_handler(wf, "theQuery", the_query, NULL);
    if (rc == 0)
        rc = tw_signal_receive(wf, "finish", &sig, &nsig, -1);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "waiting for finish");
    *result = tw_null();
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
