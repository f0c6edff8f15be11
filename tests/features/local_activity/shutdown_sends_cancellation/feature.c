/*
 * local_activity/shutdown_sends_cancellation: local activity "WaitForCancel" runs until it is
 * cancelled. Nothing cancels it but the stop of the invocation (the Lambda deadline nears: 30 s
 * invocations here): the worker tells it, it stops, and its task is completed without a marker
 * for it, asking for a new task (not handed back: the invocation ends). The next invocation
 * replays the workflow and runs the local activity again from attempt 1: having seen a cancel
 * once (the process is the same, as a warm Lambda's), it then completes with "second run",
 * which the workflow returns. Check: local/temporal/driver/feature_local.go.
 */
#include "feature.h"

static int cancelled_once;

static int wait_for_cancel(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    if (__atomic_load_n(&cancelled_once, __ATOMIC_SEQ_CST)) {
        *result = ft_act_json(act, "\"second run, attempt %d\"", (int)tw_act_info_get(act)->attempt);
        return 0;
    }
    for (int i = 0; i < 6000 && !tw_act_cancelled(act); i++)
        ft_sleep_ms(20);
    if (tw_act_cancelled(act))
        __atomic_store_n(&cancelled_once, 1, __ATOMIC_SEQ_CST);
    return tw_act_fail(act, &(tw_failure){.type = "Cancelled", .message = "cancelled"});
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_local_activity_options o = {.start_to_close_ms = 300000};
    int rc = tw_execute_local_activity(wf, "WaitForCancel", &o, NULL, 0, result);
    return rc ? ft_wf_fail_rc(wf, rc, "the local activity") : 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "WaitForCancel", wait_for_cancel);
}

TW_LIBRARY(setup)
