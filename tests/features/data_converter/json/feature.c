/*
 * data_converter/json: "Workflow" echoes its argument, the json/plain payload {"spec":true}.
 * The check reads the result and both payloads in the history: json/plain, the same JSON,
 * result and argument equal. Check: local/temporal/driver/feature_dc.go.
 */
#include "feature.h"

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    if (nargs != 1 || strcmp(args[0].encoding, "json/plain") != 0)
        return ft_wf_fail_rc(wf, TW_EINVAL, "want one json/plain argument");
    *result = args[0];
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
