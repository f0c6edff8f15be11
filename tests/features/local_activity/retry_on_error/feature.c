/*
 * local_activity/retry_on_error: local activity "AlwaysFail" fails every attempt ("activity
 * attempt N failed"); its retry policy does not back off (1 ms, coefficient 1) and allows 5
 * attempts. The worker retries it itself; the workflow re-raises the failure it gets after the
 * fifth: an ActivityFailure caused by attempt 5's error. One marker records it (attempt 5).
 * Check: local/temporal/driver/feature_local.go.
 */
#include "feature.h"

static int always_fail(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    char msg[64];
    snprintf(msg, sizeof(msg), "activity attempt %d failed", (int)tw_act_info_get(act)->attempt);
    return tw_act_fail(act, &(tw_failure){.type = "Failure", .message = msg});
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_retry_policy p = {.initial_interval_ms = 1, .backoff_coefficient = 1,
                         .maximum_attempts = 5};
    tw_local_activity_options o = {.start_to_close_ms = 60000, .retry = &p};
    int rc = tw_execute_local_activity(wf, "AlwaysFail", &o, NULL, 0, NULL);
    if (rc == TW_EFAILED)
        return tw_wf_fail(wf, tw_wf_last_failure(wf)); /* re-raised as it came */
    return ft_wf_fail(wf, "expected the local activity to fail, it returned %d", rc);
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "AlwaysFail", always_fail);
}

TW_LIBRARY(setup)
