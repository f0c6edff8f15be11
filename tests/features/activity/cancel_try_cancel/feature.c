/*
 * activity/cancel_try_cancel: "Workflow" starts "CancellableActivity" (try-cancel, the
 * default; 5 s heartbeat timeout, no retries), lets a 1 ms timer pass, cancels it and awaits
 * it: the await must return TW_ECANCELED at once, while the activity still runs. It then starts
 * another 1 ms timer (the check finds it in the same workflow task as the cancel request, which
 * proves the await did not wait for the activity) and waits for the signal "activity-result":
 * it must say "cancelled". The activity heartbeats every second for up to a minute and stops
 * as cancelled once a heartbeat tells it of the cancel. In the Go scenario the activity sends
 * that signal; a C activity has no client, so the check sends it from what the activity
 * reported to the server. Check: local/temporal/driver/feature_activity.go.
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
                             .retry = &no_retry, .cancellation_type = TW_CANCEL_TRY};
    tw_future *act;
    int rc = tw_start_activity(wf, "CancellableActivity", &o, NULL, 0, &act);
    if (rc == 0)
        rc = tw_sleep(wf, 1); /* a task turnover first */
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "starting the activity");
    rc = tw_cancel(wf, act);
    if (rc != 0)
        return ft_wf_fail(wf, "tw_cancel returned %d", rc);
    rc = tw_await(wf, act, NULL);
    if (rc != TW_ECANCELED)
        return ft_wf_fail(wf, "expected the activity to be cancelled, its await returned %d", rc);
    rc = tw_sleep(wf, 1);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "the second timer");
    tw_payload *sig;
    size_t nsig;
    rc = tw_signal_receive(wf, "activity-result", &sig, &nsig, -1);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "receiving activity-result");
    if (nsig != 1 || !ft_is(&sig[0], "\"cancelled\""))
        return ft_wf_fail(wf, "expected the activity to get the cancel, it says %.*s",
                          nsig ? (int)sig[0].len : 0, nsig ? (const char *)sig[0].data : "");
    *result = tw_null();
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "CancellableActivity", cancellable);
}

TW_LIBRARY(setup)
