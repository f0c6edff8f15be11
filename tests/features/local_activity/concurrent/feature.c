/*
 * local_activity/concurrent: "Workflow" starts three local activities at once ("Slow": sleeps
 * 300 ms and returns its input), awaits them in order and returns [1,2,3]. They run at the
 * same time on the worker, in the first workflow task, whose completion records the three
 * markers. Check: local/temporal/driver/feature_local.go.
 */
#include "feature.h"

static int slow(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    ft_sleep_ms(300);
    *result = nargs ? args[0] : tw_null();
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_local_activity_options o = {.start_to_close_ms = 5000};
    static const char *in[3] = {"1", "2", "3"};
    tw_future *f[3];
    for (int i = 0; i < 3; i++) {
        tw_payload a = tw_json(in[i]);
        int rc = tw_start_local_activity(wf, "Slow", &o, &a, 1, &f[i]);
        if (rc)
            return ft_wf_fail_rc(wf, rc, "starting a local activity");
    }
    long long v[3];
    for (int i = 0; i < 3; i++) {
        tw_payload r;
        int rc = tw_await(wf, f[i], &r);
        if (rc)
            return ft_wf_fail_rc(wf, rc, "a local activity");
        v[i] = ft_number(&r, NULL);
    }
    *result = ft_wf_json(wf, "[%lld,%lld,%lld]", v[0], v[1], v[2]);
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "Slow", slow);
}

TW_LIBRARY(setup)
