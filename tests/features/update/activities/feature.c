/*
 * update/activities: the handler of "updateActivity" runs five "SomeActivity" activities at
 * once (each returns 6) and returns their sum when all completed (30). "Workflow" waits for
 * "shutdown_signal". Check: local/temporal/driver/feature_update.go.
 */
#include "feature.h"

#define COUNT 5

static int some_activity(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    *result = tw_json("6");
    return 0;
}

static int update_activity(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_activity_options o = {.start_to_close_ms = 5000};
    tw_future *f[COUNT];
    for (int i = 0; i < COUNT; i++) {
        int rc = tw_start_activity(wf, "SomeActivity", &o, NULL, 0, &f[i]);
        if (rc != 0)
            return ft_wf_fail_rc(wf, rc, "starting SomeActivity");
    }
    long long total = 0;
    for (int i = 0; i < COUNT; i++) {
        tw_payload r;
        int rc = tw_await(wf, f[i], &r);
        if (rc != 0)
            return ft_wf_fail_rc(wf, rc, "SomeActivity");
        total += ft_number(&r, NULL);
    }
    *result = ft_wf_json(wf, "%lld", total);
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    tw_payload *sig;
    size_t nsig;
    int rc = tw_set_update_handler(wf, "updateActivity", update_activity, NULL, NULL);
    if (rc == 0)
        rc = tw_signal_receive(wf, "shutdown_signal", &sig, &nsig, -1);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "waiting for shutdown_signal");
    *result = tw_null();
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "SomeActivity", some_activity);
}

TW_LIBRARY(setup)
