/*
 * activity/cancel_abandon: "Workflow" starts "AbandonedActivity" with the abandon cancellation
 * type, lets a 1 ms timer pass and cancels it: the await returns TW_ECANCELED at once and no
 * cancel request goes to the server, so the activity, heartbeating once a second for 3 s, never
 * hears of it and completes with "no cancel seen". "Workflow" starts another 1 ms timer (the
 * check finds it before the activity's completion), then waits for the signal "finish" (the
 * check sends it once the activity completed, so the completion lands in an open workflow) and
 * returns "cancelled" when the await returned TW_ECANCELED. Check:
 * local/temporal/driver/feature_activity.go.
 */
#include "feature.h"

static int abandoned(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    int seen = 0;
    for (int i = 0; i < 3 && !seen; i++) {
        ft_sleep_ms(1000);
        seen = tw_heartbeat(act, NULL, 0) == TW_ECANCELED;
    }
    *result = seen ? tw_json("\"cancel seen\"") : tw_json("\"no cancel seen\"");
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_activity_options o = {.schedule_to_close_ms = 60000, .heartbeat_ms = 5000,
                             .cancellation_type = TW_CANCEL_ABANDON};
    tw_future *act;
    int rc = tw_start_activity(wf, "AbandonedActivity", &o, NULL, 0, &act);
    if (rc == 0)
        rc = tw_sleep(wf, 1);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "starting the activity");
    rc = tw_cancel(wf, act);
    if (rc != 0)
        return ft_wf_fail(wf, "tw_cancel returned %d", rc);
    int got = tw_await(wf, act, NULL);
    tw_payload *sig;
    size_t nsig;
    rc = tw_sleep(wf, 1);
    if (rc == 0)
        rc = tw_signal_receive(wf, "finish", &sig, &nsig, -1);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "waiting for finish");
    *result = got == TW_ECANCELED ? tw_json("\"cancelled\"") : ft_wf_json(wf, "\"await returned %d\"", got);
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "AbandonedActivity", abandoned);
}

TW_LIBRARY(setup)
