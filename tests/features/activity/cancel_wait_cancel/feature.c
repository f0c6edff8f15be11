/*
 * activity/cancel_wait_cancel: as cancel_try_cancel, with wait-cancellation-completed: the
 * await of the cancelled activity returns only once the activity reported (here: as
 * cancelled, after a heartbeat told it of the cancel), so the timer "Workflow" starts after the
 * await comes in a workflow task after the activity's ActivityTaskCanceled event. Returns
 * "cancelled" when the await returned TW_ECANCELED. Check:
 * local/temporal/driver/feature_activity.go.
 */
#include "feature.h"

static int cancellable(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    for (int i = 0; i < 60; i++) {
        ft_sleep_ms(1000);
        if (tw_heartbeat(act, NULL, 0) == TW_ECANCELED)
            return tw_act_fail(act, &(tw_failure){.type = "Cancelled", .message = "cancelled"});
    }
    *result = tw_json("\"timeout\"");
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_retry_policy no_retry = {.maximum_attempts = 1};
    tw_activity_options o = {.schedule_to_close_ms = 60000, .heartbeat_ms = 5000,
                             .retry = &no_retry, .cancellation_type = TW_CANCEL_WAIT_COMPLETED};
    tw_future *act;
    int rc = tw_start_activity(wf, "CancellableActivity", &o, NULL, 0, &act);
    if (rc == 0)
        rc = tw_sleep(wf, 1);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "starting the activity");
    rc = tw_cancel(wf, act);
    if (rc != 0)
        return ft_wf_fail(wf, "tw_cancel returned %d", rc);
    int got = tw_await(wf, act, NULL);
    rc = tw_sleep(wf, 1);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "the second timer");
    *result = got == TW_ECANCELED ? tw_json("\"cancelled\"") : ft_wf_json(wf, "\"await returned %d\"", got);
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "CancellableActivity", cancellable);
}

TW_LIBRARY(setup)
