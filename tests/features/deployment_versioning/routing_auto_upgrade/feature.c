/*
 * deployment_versioning/routing_auto_upgrade: "WaitForSignal" takes the "start-signal" signal's
 * string and returns "<it>_<build id>", the build id of the worker version that ran the task
 * (tw_wf_info), where the Go scenario has one workflow per version returning "<it>_v1" /
 * "<it>_v2". Registered auto-upgrade: its task after b2 became current runs on b2
 * ("prefix_b2").
 *
 * Run by tests/integration/test_versioning.c with two functions, one per version (b1, b2) of one
 * deployment; the check is local/temporal/driver/feature_versioning.go.
 */
#include "feature.h"

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_payload *sig;
    size_t n;
    int rc = tw_signal_receive(wf, "start-signal", &sig, &n, -1);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "waiting for start-signal");
    const char *build = tw_wf_info_get(wf)->build_id;
    *result = ft_wf_json(wf, "\"%s_%s\"", n ? ft_string(wf, &sig[0]) : "", build ? build : "");
    return 0;
}

static int setup(tw_registry *r)
{
    return tw_register_workflow(r, "WaitForSignal", workflow, TW_AUTO_UPGRADE);
}

TW_LIBRARY(setup)
