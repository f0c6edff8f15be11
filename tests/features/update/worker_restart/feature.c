/*
 * update/worker_restart: the handler of "fetchAndAdd" runs "Block" (500 ms), then waits on an
 * 8 s timer, then adds its number to a counter and returns the counter's previous value.
 * "Workflow" waits for "shutdown_signal" and returns the counter. The check stops the worker
 * while the handler waits on its timer, so the invocation ends mid-update and a new one must
 * replay the accepted update and complete it. (The timer is long enough that the idle exit does
 * not wait for it: it waits for a timer of a workflow it keeps due within two idle windows.)
 * Check: local/temporal/driver/feature_update.go.
 */
#include "feature.h"

static int block(tw_act *act, const tw_payload *args, size_t nargs, tw_payload *result)
{
    ft_sleep_ms(500);
    *result = tw_null();
    return 0;
}

static int fetch_and_add(tw_wf *wf, void *arg, const tw_payload *args, size_t nargs, tw_payload *result)
{
    long long *counter = arg;
    tw_payload ignored;
    tw_activity_options o = {.schedule_to_close_ms = 10000};
    int rc = tw_execute_activity(wf, "Block", &o, NULL, 0, &ignored);
    if (rc == 0)
        rc = tw_sleep(wf, 8000);
    if (rc != 0)
        return ft_wf_fail_rc(wf, rc, "the update's activity and timer");
    long long before = *counter;
    *counter += nargs ? ft_number(&args[0], NULL) : 0;
    *result = ft_wf_json(wf, "%lld", before);
    return 0;
}

static int workflow(tw_wf *wf, const tw_payload *args, size_t nargs, tw_payload *result)
{
    long long *counter = tw_wf_alloc(wf, sizeof(*counter));
    if (!counter)
        return TW_ENOMEM;
    *counter = 0;
    tw_payload *sig;
    size_t nsig;
    int rc = tw_set_update_handler(wf, "fetchAndAdd", fetch_and_add, NULL, counter);
    if (rc == 0)
        rc = tw_signal_receive(wf, "shutdown_signal", &sig, &nsig, -1);
    if (rc != 0)
        return rc == TW_ECANCELED ? rc : ft_wf_fail_rc(wf, rc, "waiting for shutdown_signal");
    *result = ft_wf_json(wf, "%lld", *counter);
    return 0;
}

static int setup(tw_registry *r)
{
    int rc = tw_register_workflow(r, "Workflow", workflow, TW_PINNED);
    return rc ? rc : tw_register_activity(r, "Block", block);
}

TW_LIBRARY(setup)
