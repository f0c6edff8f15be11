/*
 * activity/running_concurrently: "Workflow" starts three "Echo" activities (arguments 1, 2, 3,
 * each taking 500 ms) before awaiting any, so one workflow task schedules all three; it returns
 * their results in order, [1,2,3]. Check: local/temporal/driver/feature_activity.go.
 */
#include "feature.h"

static int echo(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    ft_sleep_ms(500);
    *result = nargs ? args[0] : tw_null();
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_activity_options o = {.start_to_close_ms = 10000};
    tw_future *f[3];
    for (int i = 0; i < 3; i++) {
        tw_payload in = ft_wf_json(wf, "%d", i + 1);
        int rc = tw_start_activity(wf, "Echo", &o, &in, 1, &f[i]);
        if (rc != 0)
            return ft_wf_fail_rc(wf, rc, "starting Echo");
    }
    long long got[3];
    for (int i = 0; i < 3; i++) {
        tw_payload r;
        int rc = tw_await(wf, f[i], &r);
        if (rc != 0)
            return ft_wf_fail_rc(wf, rc, "Echo");
        got[i] = ft_number(&r, NULL);
    }
    *result = ft_wf_json(wf, "[%lld,%lld,%lld]", got[0], got[1], got[2]);
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "Echo", echo);
}

TW_LIBRARY(setup)
