/*
 * update/async_accepted: "theUpdate" (arguments: a duration in nanoseconds, a disposition)
 * sleeps that long and returns 123, or with disposition 1 fails at once with "I was told I
 * should fail". "Workflow" waits for "shutdown_signal". The check sends updates waiting only for
 * the accepted stage and reads their outcome through handles. Check:
 * local/temporal/driver/feature_update.go.
 */
#include "feature.h"

static int the_update(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    long long ns = nargs > 0 ? ft_number(&args[0], NULL) : 0;
    long long disposition = nargs > 1 ? ft_number(&args[1], NULL) : 0;
    if (disposition == 1)
        return tw_wf_fail(wf, &(tw_failure){.message = "I was told I should fail"});
    int rc = tw_sleep(wf, ns / 1000000);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "the update's timer");
    *result = tw_json("123");
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_payload *sig;
    size_t nsig;
    int rc = tw_set_update_handler(wf, "theUpdate", the_update, NULL, NULL);
    if (rc == 0)
        rc = tw_signal_receive(wf, "shutdown_signal", &sig, &nsig, -1);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "waiting for shutdown_signal");
    *result = tw_null();
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
