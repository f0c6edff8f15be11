/*
 * local_activity/complete_immediately: "Workflow" runs local activity "Echo" on its input and
 * returns what it gave back. The local activity completes in the workflow task that asked for
 * it, so that task's completion carries its marker. Check: local/temporal/driver/feature_local.go.
 */
#include "feature.h"

static int echo(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    if (!tw_act_info_get(act)->is_local)
        return tw_act_fail(act, &(tw_failure){.type = "NotLocal", .message = "is_local is 0"});
    *result = nargs ? args[0] : tw_null();
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_local_activity_options o = {.start_to_close_ms = 5000};
    int rc = tw_execute_local_activity(wf, "Echo", &o, args, nargs, result);
    return rc ? ft_wf_fail_rc(wf, rc, "the local activity") : 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "Echo", echo);
}

TW_LIBRARY(setup)
