/*
 * query/unexpected_arguments: "theQuery" takes one number and answers "got N". C handlers get
 * the arguments as sent, so this one decides what the Go SDK decides from the handler's
 * signature: an extra argument is ignored, a missing one reads as 0; an argument that is not a
 * number fails the query (tw_wf_fail) with "argument is not a number". "Workflow" waits for the
 * signal "finish". Check: local/temporal/driver/feature_query.go.
 */
#include "feature.h"

static int the_query(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    int ok = 1;
    long long n = nargs ? ft_number(&args[0], &ok) : 0;
    if (!ok) {
        tw_failure f = {.type = "InvalidArgument", .message = "argument is not a number"};
        return tw_wf_fail(wf, &f);
    }
    *result = ft_wf_json(wf, "\"got %lld\"", n);
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
