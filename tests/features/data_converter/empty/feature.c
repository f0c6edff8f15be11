/*
 * data_converter/empty: "Workflow" runs "Activity" with a null argument (a binary/null payload
 * without data) and returns nothing (null); the activity fails, non-retryable "BadResult", on
 * anything but a null argument. The check reads the activity's input payload in the history.
 * Check: local/temporal/driver/feature_dc.go.
 */
#include "feature.h"

static int activity(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    if (nargs != 1 || strcmp(args[0].encoding, "binary/null") != 0 || args[0].len != 0) {
        tw_failure f = {.type = "BadResult", .message = "Activity input should be nil",
                        .non_retryable = 1};
        return tw_act_fail(act, &f);
    }
    *result = tw_null();
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_activity_options o = {.start_to_close_ms = 60000};
    tw_payload null = tw_null();
    int rc = tw_execute_activity(wf, "Activity", &o, &null, 1, NULL);
    if (rc != 0)
        return rc == TW_EFAILED ? tw_wf_fail(wf, tw_wf_last_failure(wf)) : rc;
    *result = tw_null();
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "Activity", activity);
}

TW_LIBRARY(setup)
