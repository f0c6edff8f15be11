/*
 * local_activity/complete_eventually: local activity "Slow" takes 5 s, longer than the
 * workflow task timeout the check starts the workflow with (2 s). The worker completes the
 * task before its timeout and asks for a new one (a workflow task "heartbeat"), again and
 * again, until the activity is done; the marker comes in a later task. No task times out.
 * Check: local/temporal/driver/feature_local.go.
 */
#include "feature.h"

static int slow(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    ft_sleep_ms(5000);
    *result = tw_json("\"done\"");
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_local_activity_options o = {.start_to_close_ms = 30000};
    int rc = tw_execute_local_activity(wf, "Slow", &o, NULL, 0, result);
    return rc ? ft_wf_fail_rc(wf, rc, "the local activity") : 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "Slow", slow);
}

TW_LIBRARY(setup)
