/*
 * update/non_durable_reject: "updateActivity" adds its number to a counter; its validator
 * rejects negative numbers. "Workflow" waits for "shutdown_signal" and returns the counter: five
 * accepted 2s give 10, and the six rejected -1s leave no event in the history. Check:
 * local/temporal/driver/feature_update.go.
 */
#include "feature.h"

static int non_negative(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs)
{
    long long n = nargs ? ft_number(&args[0], NULL) : 0;
    if (n >= 0)
        return 0;
    char msg[64];
    snprintf(msg, sizeof(msg), "expected non-negative value (%lld)", n);
    return tw_wf_fail(wf, &(tw_failure){.message = msg});
}

static int add(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    long long *counter = arg;
    *counter += nargs ? ft_number(&args[0], NULL) : 0;
    *result = ft_wf_json(wf, "%lld", *counter);
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    long long *counter = tw_wf_alloc(wf, sizeof(*counter));
    if (!counter)
        return TW_ENOMEM;
    *counter = 0;
    tw_payload *sig;
    size_t nsig;
    int rc = tw_set_update_handler(wf, "updateActivity", add, non_negative, counter);
    if (rc == 0)
        rc = tw_signal_receive(wf, "shutdown_signal", &sig, &nsig, -1);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "waiting for shutdown_signal");
    *result = ft_wf_json(wf, "%lld", *counter);
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
