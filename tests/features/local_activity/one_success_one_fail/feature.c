/*
 * local_activity/one_success_one_fail: two local activities at once in one workflow task:
 * "Succeed" completes at once; "FailTwice" fails its first two attempts (retried by the worker
 * after 100 ms, then 200 ms) and completes on the third. Only what ended for good is recorded:
 * one marker each (no marker for a failed attempt that was retried), FailTwice's at attempt 3.
 * Check: local/temporal/driver/feature_local.go.
 */
#include "feature.h"

static int succeed(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    *result = tw_json("\"ok\"");
    return 0;
}

static int fail_twice(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    int attempt = (int)tw_act_info_get(act)->attempt;
    if (attempt < 3)
        return tw_act_fail(act, &(tw_failure){.type = "Flaky", .message = "not yet"});
    *result = ft_act_json(act, "\"attempt %d\"", attempt);
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_retry_policy p = {.initial_interval_ms = 100, .backoff_coefficient = 2};
    tw_local_activity_options o = {.start_to_close_ms = 5000, .retry = &p};
    tw_future *a, *b;
    int rc = tw_start_local_activity(wf, "Succeed", &o, NULL, 0, &a);
    if (!rc)
        rc = tw_start_local_activity(wf, "FailTwice", &o, NULL, 0, &b);
    tw_payload ra, rb;
    if (!rc)
        rc = tw_await(wf, a, &ra);
    if (!rc)
        rc = tw_await(wf, b, &rb);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "the local activities");
    *result = ft_wf_json(wf, "[%.*s,%.*s]", (int)ra.len, (const char *)ra.data, (int)rb.len,
                         (const char *)rb.data);
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    if (!rc)
        rc = tw_register_activity(r, "Succeed", succeed);
    return rc ? rc : tw_register_activity(r, "FailTwice", fail_twice);
}

TW_LIBRARY(setup)
