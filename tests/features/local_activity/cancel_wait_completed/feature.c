/*
 * local_activity/cancel_wait_completed: "Workflow" starts local activity "WaitForCancel"
 * (wait-cancellation-completed), lets a 1 s timer pass (a 2 s workflow task timeout, as in
 * cancel_try_cancel), cancels it and awaits it. The activity sees the cancel and completes
 * anyway with "cancel seen"; the await waits for that answer and returns it (the marker records
 * the result), and the workflow returns it. Check: local/temporal/driver/feature_local.go.
 */
#include "feature.h"

static int wait_for_cancel(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    for (int i = 0; i < 1000 && !tw_act_cancelled(act); i++)
        ft_sleep_ms(20);
    ft_sleep_ms(200); /* it takes its time to wind down: the await waits */
    *result = tw_act_cancelled(act) ? tw_json("\"cancel seen\"") : tw_json("\"no cancel seen\"");
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_local_activity_options o = {.start_to_close_ms = 60000,
                                   .cancellation_type = TW_CANCEL_WAIT_COMPLETED};
    tw_future *la;
    int rc = tw_start_local_activity(wf, "WaitForCancel", &o, NULL, 0, &la);
    if (!rc)
        rc = tw_sleep(wf, 1000);
    if (!rc)
        rc = tw_cancel(wf, la);
    if (!rc)
        rc = tw_await(wf, la, result);
    return rc ? ft_wf_fail_rc(wf, rc, "the local activity") : 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "WaitForCancel", wait_for_cancel);
}

TW_LIBRARY(setup)
