/*
 * worker_shutdown/poll_complete_on_shutdown: the worker stops while its polls are open and
 * work keeps coming, and no workflow task is lost or failed. For a Lambda worker the stop is
 * the invocation's: at its deadline here, since the workflows keep it busy. "Workflow" loops
 * forever: a 200 ms timer (the Go scenario's is 20 ms: 2 cores shared with the server and
 * the other tests), then "NoopActivity" (schedule-to-close 10 s, start-to-close 5 s, one
 * attempt). Check: local/temporal/driver/feature_shutdown.go.
 */
#include "feature.h"

static int noop(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    *result = tw_null();
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    static const tw_retry_policy once = {.maximum_attempts = 1};
    tw_activity_options o = {.schedule_to_close_ms = 10000, .start_to_close_ms = 5000,
                             .retry = &once};
    for (;;) {
        int rc = tw_sleep(wf, 200);
        if (rc == 0)
            rc = tw_execute_activity(wf, "NoopActivity", &o, NULL, 0, NULL);
        if (rc != 0)
            return ft_wf_fail_rc(wf, rc, "the loop");
    }
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "NoopActivity", noop);
}

TW_LIBRARY(setup)
