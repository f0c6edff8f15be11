/*
 * local_activity/backoff_with_persistent_timer: local activity "FailOnce" fails its first
 * attempt; its backoff (2 s) is over its local retry threshold (1 s), so the worker does not
 * wait: the task records a marker saying it failed and backs off 2 s, with a StartTimer of 2 s
 * in the same completion; when the timer fires, attempt 2 runs (a new activity id) and
 * completes. The workflow returns its result. Check: local/temporal/driver/feature_local.go.
 */
#include "feature.h"

static int fail_once(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    int attempt = (int)tw_act_info_get(act)->attempt;
    if (attempt < 2)
        return tw_act_fail(act, &(tw_failure){.type = "Flaky", .message = "first attempt"});
    *result = ft_act_json(act, "\"attempt %d\"", attempt);
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_retry_policy p = {.initial_interval_ms = 2000, .backoff_coefficient = 2};
    tw_local_activity_options o = {.start_to_close_ms = 5000, .retry = &p,
                                   .local_retry_threshold_ms = 1000};
    int rc = tw_execute_local_activity(wf, "FailOnce", &o, NULL, 0, result);
    return rc ? ft_wf_fail_rc(wf, rc, "the local activity") : 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "FailOnce", fail_once);
}

TW_LIBRARY(setup)
