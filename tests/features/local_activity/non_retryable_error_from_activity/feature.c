/*
 * local_activity/non_retryable_error_from_activity: local activity "Fail" fails with a
 * non-retryable application error; its policy would allow 10 attempts, yet it runs once. The
 * workflow returns what it got: the failure's type, message and the attempt count the
 * activity saw. Check: local/temporal/driver/feature_local.go.
 */
#include "feature.h"

static int attempts; /* across the attempts of this process */

static int fail(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    __atomic_add_fetch(&attempts, 1, __ATOMIC_SEQ_CST);
    return tw_act_fail(act, &(tw_failure){.type = "NonRetryable", .message = "give up",
                                          .non_retryable = 1});
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_retry_policy p = {.initial_interval_ms = 1, .maximum_attempts = 10};
    tw_local_activity_options o = {.start_to_close_ms = 5000, .retry = &p};
    int rc = tw_execute_local_activity(wf, "Fail", &o, NULL, 0, NULL);
    const tw_failure *f = tw_wf_last_failure(wf);
    if (rc != TW_EFAILED || !f)
        return ft_wf_fail(wf, "expected the local activity to fail, it returned %d", rc);
    if (f->kind != TW_FAILURE_ACTIVITY || !f->cause || f->cause->kind != TW_FAILURE_APPLICATION)
        return ft_wf_fail(wf, "expected an activity failure caused by an application error");
    *result = ft_wf_json(wf, "{\"type\":\"%s\",\"message\":\"%s\",\"non_retryable\":%d}",
                         f->type, f->message, f->cause->non_retryable);
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "Fail", fail);
}

TW_LIBRARY(setup)
