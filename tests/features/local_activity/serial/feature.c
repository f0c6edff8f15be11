/*
 * local_activity/serial: "Workflow" runs three local activities one after the other ("Add":
 * its input + 1, from 0) and returns the last result (3). All three complete in the first
 * workflow task, which records the three markers. Check: local/temporal/driver/feature_local.go.
 */
#include "feature.h"

static int add(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    int ok;
    long long v = ft_number(nargs ? &args[0] : NULL, &ok);
    if (!ok)
        return tw_act_fail(act, &(tw_failure){.type = "BadInput", .message = "not a number",
                                              .non_retryable = 1});
    *result = ft_act_json(act, "%lld", v + 1);
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_local_activity_options o = {.start_to_close_ms = 5000};
    tw_payload v = tw_json("0");
    for (int i = 0; i < 3; i++) {
        int rc = tw_execute_local_activity(wf, "Add", &o, &v, 1, &v);
        if (rc)
            return ft_wf_fail_rc(wf, rc, "a local activity");
    }
    *result = v;
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "Add", add);
}

TW_LIBRARY(setup)
