/*
 * data_converter/binary: "Workflow" echoes its argument, a binary/plain payload (0xdeadbeef).
 * The check reads the result and both payloads in the history: binary/plain, the same bytes,
 * result and argument equal. Check: local/temporal/driver/feature_dc.go.
 */
#include "feature.h"

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    if (nargs != 1 || strcmp(args[0].encoding, "binary/plain") != 0)
        return ft_wf_fail_rc(wf, TW_EINVAL, "want one binary/plain argument");
    *result = args[0]; /* its bytes live in the workflow's memory until the task ends */
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
