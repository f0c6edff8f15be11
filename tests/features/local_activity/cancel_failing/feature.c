/*
 * local_activity/cancel_failing: local activity "AlwaysFail" fails; its 10 s backoff is over
 * its 1 s local retry threshold, so it backs off on a durable timer. The workflow cancels it
 * after 2 s (its own timer), in the backoff: the backoff timer is cancelled (CancelTimer), a
 * marker records the cancellation, the await returns TW_ECANCELED and the workflow returns
 * "cancelled". Check: local/temporal/driver/feature_local.go.
 */
#include "feature.h"

static int always_fail(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    return tw_act_fail(act, &(tw_failure){.type = "Failure", .message = "failed again"});
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_retry_policy p = {.initial_interval_ms = 10000};
    tw_local_activity_options o = {.start_to_close_ms = 5000, .retry = &p,
                                   .local_retry_threshold_ms = 1000};
    tw_future *la;
    int rc = tw_start_local_activity(wf, "AlwaysFail", &o, NULL, 0, &la);
    if (!rc)
        rc = tw_sleep(wf, 2000);
    if (!rc)
        rc = tw_cancel(wf, la);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "starting and cancelling the local activity");
    rc = tw_await(wf, la, NULL);
    if (rc != TW_ECANCELED)
        return ft_wf_fail(wf, "expected the local activity to be cancelled, its await returned %d",
                          rc);
    *result = tw_json("\"cancelled\"");
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "AlwaysFail", always_fail);
}

TW_LIBRARY(setup)
