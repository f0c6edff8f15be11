/*
 * activity/shutdown: activities still running when the worker stops are told so, may wrap up,
 * and their answers are delivered. For a Lambda worker the stop is the invocation's (here at
 * its deadline: the activities keep it busy). "Workflow" runs three activities, one attempt
 * each: "CancelIgnore" (schedule-to-close 2 s) sleeps 15 s and ignores everything, so it times
 * out (ScheduleToClose); then "CancelSuccess" and "CancelFailure" at once (schedule-to-close
 * 50 s: the stop comes 28 s into the invocation, where the Go scenario's 30 s is measured
 * from a stop it makes at once) wait for tw_act_worker_stopping(), the Go SDK's worker stop
 * channel, then complete, or fail with "worker is shutting down". The Go scenario starts all
 * three at once; here the ignoring one goes first, since a Lambda worker has 2 activity slots
 * by default and the one left waiting would time out before it started (ScheduleToStart)
 * instead. The workflow checks each outcome as the Go one does and returns "done";
 * tw_act_cancelled() stays 0 in the graceful two (nobody cancelled them: the stop is told
 * apart from a cancel). Check: local/temporal/driver/feature_shutdown.go.
 */
#include "feature.h"

/* Waits for the stop; 1 when it came, 0 when the activity was cancelled instead. */
static int until_stopping(tw_act *act)
{
    while (!tw_act_worker_stopping(act)) {
        if (tw_act_cancelled(act))
            return 0;
        ft_sleep_ms(20);
    }
    return !tw_act_cancelled(act);
}

static int cancel_success(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    if (!until_stopping(act)) {
        tw_failure f = {.type = "Unexpected", .message = "cancelled instead of told of the stop"};
        return tw_act_fail(act, &f);
    }
    *result = tw_null();
    return 0;
}

static int cancel_failure(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_failure f = {.type = "Shutdown", .message = "worker is shutting down"};
    if (!until_stopping(act))
        f.message = "cancelled instead of told of the stop";
    return tw_act_fail(act, &f);
}

static int cancel_ignore(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    ft_sleep_ms(15000);
    *result = tw_null();
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    static const tw_retry_policy once = {.maximum_attempts = 1};
    tw_activity_options graceful = {.schedule_to_close_ms = 50000, .retry = &once};
    tw_activity_options ignore = {.schedule_to_close_ms = 2000, .retry = &once};
    tw_future *fut, *fut1, *fut2;
    int rc = tw_start_activity(wf, "CancelIgnore", &ignore, NULL, 0, &fut2);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "starting the activities");
    int ignore_rc = tw_await(wf, fut2, NULL);
    const tw_failure *f = tw_wf_last_failure(wf);
    if (ignore_rc != TW_EFAILED || !f || f->timeout_type != TW_TIMEOUT_SCHEDULE_TO_CLOSE)
        return ft_wf_fail(wf, "expected activity to fail with a ScheduleToClose timeout, got %d "
                              "(%s, timeout type %d)", ignore_rc, ft_failure_type(wf),
                          f ? f->timeout_type : 0);
    rc = tw_start_activity(wf, "CancelSuccess", &graceful, NULL, 0, &fut);
    if (rc == 0)
        rc = tw_start_activity(wf, "CancelFailure", &graceful, NULL, 0, &fut1);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "starting the activities");
    rc = tw_await(wf, fut, NULL);
    if (rc != 0)
        return ft_wf_fail(wf, "expected activity to succeed, got %d (%s)", rc, ft_failure_type(wf));
    rc = tw_await(wf, fut1, NULL);
    f = tw_wf_last_failure(wf);
    if (rc != TW_EFAILED || !f || !f->message || !strstr(f->message, "worker is shutting down"))
        return ft_wf_fail(wf, "expected activity to fail with 'worker is shutting down', got %d (%s)",
                          rc, f && f->message ? f->message : "no failure");
    *result = tw_json("\"done\"");
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    rc = rc ? rc : tw_register_activity(r, "CancelSuccess", cancel_success);
    rc = rc ? rc : tw_register_activity(r, "CancelFailure", cancel_failure);
    return rc ? rc : tw_register_activity(r, "CancelIgnore", cancel_ignore);
}

TW_LIBRARY(setup)
