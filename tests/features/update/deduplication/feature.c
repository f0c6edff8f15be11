/*
 * update/deduplication: the handler of "incrementCount" adds 1 to a counter, waits on a 1 s
 * timer (deduplication must not need the first update completed) and returns the counter.
 * "Workflow" waits for "shutdown_signal". Two updates with one id must run the handler once.
 * Check: local/temporal/driver/feature_update.go.
 */
#include "feature.h"

static int increment(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    long long *counter = arg;
    ++*counter;
    int rc = tw_sleep(wf, 1000);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "the update's timer");
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
    int rc = tw_set_update_handler(wf, "incrementCount", increment, NULL, counter);
    if (rc == 0)
        rc = tw_signal_receive(wf, "shutdown_signal", &sig, &nsig, -1);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "waiting for shutdown_signal");
    *result = tw_null();
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
