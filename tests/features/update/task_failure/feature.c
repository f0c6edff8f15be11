/*
 * update/task_failure: C has no panics, so the scenario's panicking code fails instead:
 * "fail_from_validate" has a validator that fails (the update is rejected), "fail_from_exec" a
 * handler that fails (the update fails); each caller gets the message, and "Workflow" runs on
 * until "shutdown!". Check: local/temporal/driver/feature_update.go.
 */
#include "feature.h"

#define MESSAGE "fear not, dear examiner of logs, for this failure was intentional"

static int fail_validate(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs)
{
    return tw_wf_fail(wf, &(tw_failure){.type = "Intentional", .message = MESSAGE});
}

static int unreachable(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    *result = tw_json("\"the validator let it through\"");
    return 0;
}

static int fail_exec(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    return tw_wf_fail(wf, &(tw_failure){.type = "Intentional", .message = MESSAGE});
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_payload *sig;
    size_t nsig;
    int rc = tw_set_update_handler(wf, "fail_from_exec", fail_exec, NULL, NULL);
    if (rc == 0)
        rc = tw_set_update_handler(wf, "fail_from_validate", unreachable, fail_validate, NULL);
    if (rc == 0)
        rc = tw_signal_receive(wf, "shutdown!", &sig, &nsig, -1);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "waiting for shutdown!");
    *result = tw_null();
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
