/*
 * activity/retry_on_error: "AlwaysFailActivity" fails every attempt with "activity attempt N
 * failed"; "Workflow" runs it with at most 5 attempts, no backoff, and fails with the failure it
 * got, unchanged (an ActivityFailure whose cause is attempt 5's failure). Check:
 * local/temporal/driver/feature_activity.go.
 */
#include "feature.h"

static int always_fail(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    char msg[64];
    snprintf(msg, sizeof(msg), "activity attempt %d failed", (int)tw_act_info_get(act)->attempt);
    tw_failure f = {.message = msg};
    return tw_act_fail(act, &f);
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_retry_policy rp = {.initial_interval_ms = 1, .backoff_coefficient = 1.0, .maximum_attempts = 5};
    tw_activity_options o = {.schedule_to_close_ms = 60000, .retry = &rp};
    int rc = tw_execute_activity(wf, "AlwaysFailActivity", &o, NULL, 0, result);
    if (rc == TW_EFAILED)
        return tw_wf_fail(wf, tw_wf_last_failure(wf)); /* re-raised as it came */
    return rc == 0 ? ft_wf_fail(wf, "the activity succeeded") : ft_wf_fail_rc(wf, rc, "the activity");
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "AlwaysFailActivity", always_fail);
}

TW_LIBRARY(setup)
