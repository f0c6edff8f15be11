/*
 * signal/activities: the handler of "mySignal" runs five "MyActivity" activities at once
 * (each returns 6), waits for them all and stores their sum; "Workflow" waits until the handler
 * finished and returns the sum (30). Check: local/temporal/driver/feature_signal.go.
 */
#include "feature.h"

#define COUNT 5

static int my_activity(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    *result = tw_json("6");
    return 0;
}

static void on_signal(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs)
{
    long long *total = arg;
    tw_activity_options o = {.start_to_close_ms = 5000};
    tw_future *f[COUNT];
    *total = -1; /* until all succeeded */
    for (int i = 0; i < COUNT; i++)
        if (tw_start_activity(wf, "MyActivity", &o, NULL, 0, &f[i]) != 0)
            return;
    long long sum = 0;
    for (int i = 0; i < COUNT; i++) {
        tw_payload r;
        if (tw_await(wf, f[i], &r) != 0)
            return;
        sum += ft_number(&r, NULL);
    }
    *total = sum;
}

static int has_total(tw_wf *wf, void *arg) { return *(long long *)arg > 0; }
static int settled(tw_wf *wf, void *arg) { return *(long long *)arg != 0 && tw_all_handlers_finished(wf); }

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    long long *total = tw_wf_alloc(wf, sizeof(*total));
    if (!total)
        return TW_ENOMEM;
    *total = 0;
    int rc = tw_set_signal_handler(wf, "mySignal", on_signal, total);
    if (rc == 0)
        rc = tw_await_condition(wf, settled, total, -1);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "waiting for the total");
    if (!has_total(wf, total))
        return ft_wf_fail(wf, "an activity of the signal handler failed");
    *result = ft_wf_json(wf, "%lld", *total);
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "MyActivity", my_activity);
}

TW_LIBRARY(setup)
