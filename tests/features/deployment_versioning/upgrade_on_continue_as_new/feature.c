/*
 * deployment_versioning/upgrade_on_continue_as_new: "ContinueAsNewWithVersionUpgrade"
 * (registered pinned) takes an attempt number. On version b2 it returns "v2.0" at once (the Go
 * scenario's second workflow); on b1 a continued run (attempt > 0) returns "v1.0", and the first
 * run sleeps in a loop, reading tw_wf_info at every task, until the server says its deployment
 * has another target version (target_version_changed, or the suggestion with the
 * TARGET_VERSION_CHANGED reason), then continues as new with attempt + 1 and
 * TW_CAN_VERSIONING_AUTO_UPGRADE: the new run starts on the current version. The check expects
 * "v2.0". The Go scenario sleeps 10 ms per round; this one 100 ms (the same pattern, a tenth of
 * the history on a shared machine).
 *
 * Run by tests/integration/test_versioning.c with two functions, one per version (b1, b2) of one
 * deployment; the check is local/temporal/driver/feature_versioning.go.
 */
#include "feature.h"

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    const tw_wf_info *i = tw_wf_info_get(wf);
    if (i->build_id && strcmp(i->build_id, "b2") == 0) {
        *result = tw_json("\"v2.0\"");
        return 0;
    }
    long long attempt = nargs ? ft_number(&args[0], NULL) : 0;
    if (attempt > 0) {
        *result = tw_json("\"v1.0\"");
        return 0;
    }
    for (;;) {
        int rc = tw_sleep(wf, 100);
        if (rc != 0)
            return ft_wf_fail_rc(wf, rc, "sleeping");
        i = tw_wf_info_get(wf);
        if (i->target_version_changed ||
            (i->continue_as_new_suggested &&
             (i->continue_as_new_reasons & TW_CAN_REASON_TARGET_VERSION_CHANGED)))
            break;
    }
    char *next = tw_wf_alloc(wf, 32);
    if (!next)
        return TW_ENOMEM;
    snprintf(next, 32, "%lld", attempt + 1);
    tw_payload a = tw_json(next);
    tw_continue_options o = {.initial_versioning = TW_CAN_VERSIONING_AUTO_UPGRADE};
    return tw_continue_as_new(wf, &o, &a, 1);
}

static int setup(tw_registry *r)
{
    return tw_register_workflow(r, "ContinueAsNewWithVersionUpgrade", workflow, TW_PINNED);
}

TW_LIBRARY(setup)
