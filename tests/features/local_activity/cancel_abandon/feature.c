/*
 * local_activity/cancel_abandon: "Workflow" starts local activity "RunOn" (abandon), lets a 1 s
 * timer pass (a 2 s workflow task timeout, as in cancel_try_cancel), cancels it and awaits it:
 * TW_ECANCELED at once. The activity is never told: it runs its 6 s and notes whether it saw a
 * cancel. Local activity "WhatDidItSee" (same process) waits for that note and returns it; the
 * workflow returns it: "no cancel seen". Check: local/temporal/driver/feature_local.go.
 */
#include "feature.h"

static int seen; /* 0: still running; 1: no cancel seen; 2: cancel seen */

static int run_on(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    int cancelled = 0;
    for (int i = 0; i < 300; i++) {
        ft_sleep_ms(20);
        cancelled |= tw_act_cancelled(act);
    }
    __atomic_store_n(&seen, cancelled ? 2 : 1, __ATOMIC_SEQ_CST);
    *result = tw_json("\"done\"");
    return 0;
}

static int what_did_it_see(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    for (int i = 0; i < 500 && !__atomic_load_n(&seen, __ATOMIC_SEQ_CST); i++)
        ft_sleep_ms(20);
    int s = __atomic_load_n(&seen, __ATOMIC_SEQ_CST);
    *result = s == 1 ? tw_json("\"no cancel seen\"") : s == 2 ? tw_json("\"cancel seen\"")
                                                             : tw_json("\"still running\"");
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_local_activity_options o = {.start_to_close_ms = 60000,
                                   .cancellation_type = TW_CANCEL_ABANDON};
    tw_future *la;
    int rc = tw_start_local_activity(wf, "RunOn", &o, NULL, 0, &la);
    if (!rc)
        rc = tw_sleep(wf, 1000);
    if (!rc)
        rc = tw_cancel(wf, la);
    if (rc)
        return ft_wf_fail_rc(wf, rc, "starting and cancelling the local activity");
    rc = tw_await(wf, la, NULL);
    if (rc != TW_ECANCELED)
        return ft_wf_fail(wf, "expected the local activity to be cancelled, its await returned %d",
                          rc);
    rc = tw_execute_local_activity(wf, "WhatDidItSee", &o, NULL, 0, result);
    return rc ? ft_wf_fail_rc(wf, rc, "WhatDidItSee") : 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    if (!rc)
        rc = tw_register_activity(r, "RunOn", run_on);
    return rc ? rc : tw_register_activity(r, "WhatDidItSee", what_did_it_see);
}

TW_LIBRARY(setup)
