/*
 * local_activity/non_retryable_error_in_options: local activity "Fail" fails with a retryable
 * error of type "NotRetriedHere"; the policy lists that type as non-retryable, so it runs once.
 * The workflow returns the failure's type and message. Check:
 * local/temporal/driver/feature_local.go.
 */
#include "feature.h"

static int fail(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    char msg[64];
    snprintf(msg, sizeof(msg), "attempt %d", (int)tw_act_info_get(act)->attempt);
    return tw_act_fail(act, &(tw_failure){.type = "NotRetriedHere", .message = msg});
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    static const char *const types[] = {"Other", "NotRetriedHere", NULL};
    tw_retry_policy p = {.initial_interval_ms = 1, .maximum_attempts = 10,
                         .non_retryable_types = types};
    tw_local_activity_options o = {.start_to_close_ms = 5000, .retry = &p};
    int rc = tw_execute_local_activity(wf, "Fail", &o, NULL, 0, NULL);
    const tw_failure *f = tw_wf_last_failure(wf);
    if (rc != TW_EFAILED || !f)
        return ft_wf_fail(wf, "expected the local activity to fail, it returned %d", rc);
    *result = ft_wf_json(wf, "{\"type\":\"%s\",\"message\":\"%s\"}", f->type, f->message);
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "Fail", fail);
}

TW_LIBRARY(setup)
