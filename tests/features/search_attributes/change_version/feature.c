/*
 * search_attributes/change_version (ours, not upstream): markers end to end and the
 * TemporalChangeVersion search attribute patches write. "Workflow" takes a side effect (a
 * value drawn once: tw_random's, recorded), a mutable side effect "cfg" twice (the same value:
 * one marker), asks tw_patched("my-change"), sleeps 100 ms (a later task), then calls
 * tw_deprecate_patch("old-change") and tw_patched("my-change") again, and returns
 * {"side":<side effect>,"cfg":[v1,v2],"patched":[first,second]}. Check:
 * local/temporal/driver/feature_sa.go (Describe shows TemporalChangeVersion
 * ["my-change","old-change"]; the history has each marker once).
 */
#include "feature.h"

static int draw(tw_wf *wf, void *arg, tw_payload *result)
{
    *result = ft_wf_json(wf, "%llu", (unsigned long long)(tw_random(wf) % 1000000));
    return 0;
}

static int config(tw_wf *wf, void *arg, tw_payload *result)
{
    *result = tw_json("\"blue\"");
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_payload side, c1, c2;
    int rc = tw_side_effect(wf, draw, NULL, &side);
    if (rc == 0)
        rc = tw_mutable_side_effect(wf, "cfg", config, NULL, &c1);
    if (rc == 0)
        rc = tw_mutable_side_effect(wf, "cfg", config, NULL, &c2);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "side effects");
    int first = tw_patched(wf, "my-change");
    if (first < 0)
        return ft_wf_fail_rc(wf, first, "tw_patched");
    if ((rc = tw_sleep(wf, 100)))
        return rc;
    if ((rc = tw_deprecate_patch(wf, "old-change")))
        return ft_wf_fail_rc(wf, rc, "tw_deprecate_patch");
    int second = tw_patched(wf, "my-change");
    *result = ft_wf_json(wf, "{\"side\":%.*s,\"cfg\":[%.*s,%.*s],\"patched\":[%d,%d]}",
                         (int)side.len, (const char *)side.data, (int)c1.len,
                         (const char *)c1.data, (int)c2.len, (const char *)c2.data, first, second);
    return 0;
}

static int setup(tw_registry *r) { return tw_register_workflow(r, "Workflow", workflow, TW_PINNED); }

TW_LIBRARY(setup)
