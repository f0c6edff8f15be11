/*
 * local_activity/cancel_try_cancel: "Workflow" starts local activity "WaitForCancel"
 * (try-cancel, the default), lets a 1 s timer pass (the check starts the workflow with a 2 s
 * workflow task timeout, so the task carrying the timer is completed while the activity runs),
 * cancels it and awaits it: TW_ECANCELED at once, a marker recording the cancellation. The
 * activity is told: it sees tw_act_cancelled() and stops. The Go scenario's activity reports
 * that through a client; here the workflow asks local activity "SawCancel", which runs in the
 * same process and waits (up to 10 s) until WaitForCancel has seen the cancel, and returns
 * what it found. Check: local/temporal/driver/feature_local.go.
 */
#include "feature.h"

static int saw_cancel;

static int wait_for_cancel(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    for (int i = 0; i < 1000 && !tw_act_cancelled(act); i++)
        ft_sleep_ms(20);
    if (tw_act_cancelled(act))
        __atomic_store_n(&saw_cancel, 1, __ATOMIC_SEQ_CST);
    return tw_act_fail(act, &(tw_failure){.type = "Cancelled", .message = "cancelled"});
}

static int did_it_see(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    for (int i = 0; i < 500 && !__atomic_load_n(&saw_cancel, __ATOMIC_SEQ_CST); i++)
        ft_sleep_ms(20);
    *result = __atomic_load_n(&saw_cancel, __ATOMIC_SEQ_CST) ? tw_json("\"cancel seen\"")
                                                             : tw_json("\"no cancel seen\"");
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_local_activity_options o = {.start_to_close_ms = 60000,
                                   .cancellation_type = TW_CANCEL_TRY};
    tw_future *la;
    int rc = tw_start_local_activity(wf, "WaitForCancel", &o, NULL, 0, &la);
    if (!rc)
        rc = tw_sleep(wf, 1000);
    if (!rc)
        rc = tw_cancel(wf, la);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "starting and cancelling the local activity");
    rc = tw_await(wf, la, NULL);
    if (rc != TW_ECANCELED)
        return ft_wf_fail(wf, "expected the local activity to be cancelled, its await returned %d",
                          rc);
    rc = tw_execute_local_activity(wf, "SawCancel", &o, NULL, 0, result);
    return rc ? ft_wf_fail_rc(wf, rc, "SawCancel") : 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    if (!rc)
        rc = tw_register_activity(r, "WaitForCancel", wait_for_cancel);
    return rc ? rc : tw_register_activity(r, "SawCancel", did_it_see);
}

TW_LIBRARY(setup)
