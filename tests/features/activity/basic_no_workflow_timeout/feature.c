/*
 * activity/basic_no_workflow_timeout: the simplest workflow, run with no workflow execution
 * timeout (the server then fills the activities' unset timeouts from nothing): "Workflow" runs
 * "Echo" once with only a start-to-close timeout and once with only a schedule-to-close
 * timeout, and returns "echo". Check: local/temporal/driver/feature_activity.go.
 */
#include "feature.h"

static int echo(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    *result = tw_json("\"echo\"");
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_activity_options start_to_close = {.start_to_close_ms = 60000};
    int rc = tw_execute_activity(wf, "Echo", &start_to_close, NULL, 0, result);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "the first Echo");
    tw_activity_options schedule_to_close = {.schedule_to_close_ms = 60000};
    rc = tw_execute_activity(wf, "Echo", &schedule_to_close, NULL, 0, result);
    return rc == 0 ? 0 : ft_wf_fail_rc(wf, rc, "the second Echo");
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "Echo", echo);
}

TW_LIBRARY(setup)
